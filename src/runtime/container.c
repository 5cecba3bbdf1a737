/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* The launcher's side of a container's life: clone the user namespace's
   first process, write its id maps, follow the setup, then supervise the
   running process: forward signals, copy its terminal, collect its exit.  */

#include "runtime/container.h"
#include "runtime/network.h"
#include "runtime/caps.h"
#include "runtime/cgroup.h"
#include "runtime/devices.h"
#include "runtime/hooks.h"
#include "runtime/idmap.h"
#include "runtime/nsahead.h"
#include "runtime/rlimit.h"
#include "runtime/sigfd.h"
#include "runtime/sync.h"
#include "runtime/terminal.h"
#include "base/log.h"
#include "base/signame.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

/* hutch-init runs as the container's PID 1, where the container's root
   can reach it as /proc/1/exe.  Were that the file on the host, a process
   inside could keep it open and write to it once nothing runs it any more
   (the class of CVE-2019-5736), and the user's next container would run
   its code.  So PID 1 runs a copy in a sealed memfd: /proc/1/exe leads to
   that copy, which no one can change.  Returns the memfd, or -1 with
   errno.  */
int
hutch_sealed_copy (const char *path, const char *name)
{
  _cleanup_close_ int src = open (path, O_RDONLY | O_CLOEXEC);
  int fd, e;
  struct stat st;
  off_t off = 0;

  if (src < 0 || fstat (src, &st) < 0)
    return -1;
  /* MFD_EXEC where vm.memfd_noexec asks for it (Linux 6.3); older kernels
     do not know the flag.  */
  fd = memfd_create (name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (fd < 0 && errno == EINVAL)
    fd = memfd_create (name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0)
    return -1;
  while (off < st.st_size)
    {
      ssize_t n = sendfile (fd, src, &off, (size_t)(st.st_size - off));
      if (n <= 0)
        {
          e = n < 0 ? errno : EIO;
          close (fd);
          errno = e;
          return -1;
        }
    }
  if (fcntl (fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
    {
      e = errno;
      close (fd);
      errno = e;
      return -1;
    }
  return fd;
}

static bool
is_own_single (const struct hutch_idmap *map, size_t n, unsigned int own)
{
  return n == 1 && map[0].host_id == own && map[0].size == 1;
}

static int
write_maps (const struct hutch_spec *spec, pid_t pid, hutch_error_t *err)
{
  const struct hutch_idmap *um = spec->uid_mappings, *gm = spec->gid_mappings;
  struct hutch_idplan plan = { 0 };
  bool helpers, deny;
  int r;

  if (spec->n_uid_mappings == 0 || spec->n_gid_mappings == 0)
    {
      /* config.json without mappings: use hutch's default plan.  */
      if (hutch_idplan_make (HUTCH_USERNS_DEFAULT, &plan, err) < 0)
        return -1;
      um = plan.uid_map;
      gm = plan.gid_map;
      r = hutch_idmap_write (pid, plan.use_helpers, plan.deny_setgroups, um, plan.n_uid, gm,
                             plan.n_gid, err);
      hutch_idplan_clear (&plan);
      return r;
    }
  if (geteuid () == 0)
    helpers = deny = false;
  else if (is_own_single (um, spec->n_uid_mappings, geteuid ())
           && is_own_single (gm, spec->n_gid_mappings, getegid ()))
    {
      helpers = false;
      deny = true;
    }
  else
    {
      helpers = true;
      deny = false;
    }
  return hutch_idmap_write (pid, helpers, deny, um, spec->n_uid_mappings, gm, spec->n_gid_mappings,
                            err);
}

static int
check_ids_mapped (const struct hutch_spec *spec, hutch_error_t *err)
{
  bool uid_ok, gid_ok;
  size_t i;
  /* With root emulation, the process is only told its ids: any will do.  */
  if (spec->n_uid_mappings == 0 || spec->rootemu)
    return 0;
  uid_ok = hutch_idmap_contains (spec->uid_mappings, spec->n_uid_mappings, spec->uid);
  gid_ok = hutch_idmap_contains (spec->gid_mappings, spec->n_gid_mappings, spec->gid);
  if (!uid_ok || !gid_ok)
    {
      struct passwd *pw = getpwuid (geteuid ());
      _cleanup_free_ char *fix = hutch_subid_fix (pw ? pw->pw_name : NULL);
      const struct hutch_idmap *m = uid_ok ? spec->gid_mappings : spec->uid_mappings;
      size_t n = uid_ok ? spec->n_gid_mappings : spec->n_uid_mappings;
      return hutch_error_set (err, 0,
                              "container %s %u is not mapped: the user namespace has %lu %ss "
                              "(your subordinate range in %s is too small, or --userns=single "
                              "maps only one); %s",
                              uid_ok ? "gid" : "uid", uid_ok ? spec->gid : spec->uid,
                              hutch_idmap_total (m, n), uid_ok ? "gid" : "uid",
                              uid_ok ? "/etc/subgid" : "/etc/subuid", fix);
    }
  for (i = 0; i < spec->n_additional_gids; i++)
    if (!hutch_idmap_contains (spec->gid_mappings, spec->n_gid_mappings, spec->additional_gids[i]))
      return hutch_error_set (err, 0,
                              "supplementary group %u is not mapped in the user namespace "
                              "(subordinate gid range too small)",
                              spec->additional_gids[i]);
  return 0;
}

static void
kill_and_reap (pid_t *pid)
{
  int st;
  if (*pid <= 0)
    return;
  kill (*pid, SIGKILL);
  while (waitpid (*pid, &st, 0) < 0 && errno == EINTR)
    ;
  *pid = -1;
}

/* One container's runtime state, apart from its spec (which nothing here
   changes): what the launcher holds between create and delete.  Today the
   launcher is the process that created it; a monitor can hold it later,
   since nothing in it depends on who called create.  */
struct hutch_container
{
  const struct hutch_spec *spec;
  enum hutch_container_status status;
  int sock;                   /* our end of the socket to A and B */
  int watch_w;                /* the write end of the watch pipe: A notices our death by it */
  struct hutch_sigfd sig;     /* the signals taken, their fd */
  int initfd;                 /* hutch-init's sealed copy, or -1 */
  struct hutch_nsahead ahead; /* namespaces made ahead of time, not taken yet */
  pid_t a, b;
  int master;                     /* the pty, with -t */
  sigset_t pending;               /* signals that arrived before the exec, to forward after */
  int abort_signal;               /* a terminating signal during setup */
  struct hutch_slirp_proc *slirp; /* the network helper, or NULL */
  struct hutch_cgroup_run cgrun;
  int wait_status;         /* B's, once stopped */
  bool b_seen;             /* A told us B's pid */
  bool start_failed;       /* B never ran the command: only delete is left */
  bool waited;             /* hutch_container_wait saw B end */
  long long stop_deadline; /* when B gets SIGKILL after a stop (ms, monotonic), or 0 */
  char **ports;            /* the network helper's lines for the published ports */
  bool net_pending;        /* GO sent, B not yet told that the network is up */
};

/* Reap whatever exited; remember B's status.  */
static void
reap (struct hutch_container *c)
{
  for (;;)
    {
      int st;
      pid_t p = waitpid (-1, &st, WNOHANG);
      if (p <= 0)
        break;
      if (p == c->a)
        c->a = -1;
      else if (p == c->b)
        {
          c->b = -1;
          c->wait_status = st;
          c->status = HUTCH_CONTAINER_STOPPED;
        }
    }
}

/* The network helper has reported: read what it says (the published
   ports), and tell B, which waits for it after building the root.  */
static int
network_up (struct hutch_container *c, hutch_error_t *err)
{
  struct hutch_msg m = { .type = HUTCH_MSG_NETWORK };
  _cleanup_strv_ char **lines = NULL;
  size_t i;

  if (hutch_slirp_wait_ready (c->slirp, &lines, err) < 0)
    return -1;
  /* A port the user left to us is worth saying (also by hutch port).  */
  for (i = 0; lines && lines[i] && i < c->spec->extra.slirp->n_publish; i++)
    if (c->spec->extra.slirp->publish[i].host_port == 0 && !c->spec->extra.detach)
      hutch_log (HUTCH_LOG_INFO, "published %s", lines[i]);
  c->ports = HUTCH_STEAL_PTR (lines);
  c->net_pending = false;
  if (hutch_msg_send (c->sock, &m, -1) < 0)
    return hutch_error_set (err, errno, "talk to the container's process");
  return 0;
}

/* Wait for the next message during setup while still listening to
   signals: a terminating one aborts the start (the process does not exist
   yet to receive it), the others are kept for after the exec; and to the
   network helper, once B may be told about it.  Returns as
   hutch_msg_recv, -2 when aborted, or -3 when the network failed (ERR
   says why).  */
static int
setup_recv (struct hutch_container *c, struct hutch_msg *m, int *ret_fd, hutch_error_t *err)
{
  for (;;)
    {
      int netfd = c->net_pending ? hutch_slirp_ready_fd (c->slirp) : -1;
      struct pollfd pfd[3]
          = { { c->sock, POLLIN, 0 }, { c->sig.fd, POLLIN, 0 }, { netfd, POLLIN, 0 } };
      if (poll (pfd, 3, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      if (pfd[1].revents & POLLIN)
        {
          struct signalfd_siginfo si;
          if (read (c->sig.fd, &si, sizeof si) == (ssize_t)sizeof si && si.ssi_signo != SIGCHLD
              && si.ssi_signo != SIGPIPE)
            {
              if (hutch_sigfd_terminating ((int)si.ssi_signo))
                {
                  c->abort_signal = (int)si.ssi_signo;
                  return -2;
                }
              sigaddset (&c->pending, (int)si.ssi_signo);
            }
        }
      if (pfd[2].revents && network_up (c, err) < 0)
        return -3;
      if (pfd[0].revents)
        return hutch_msg_recv (c->sock, m, ret_fd);
    }
}

/* A terminating signal during setup: the error that says so, with the
   exit code a shell gives a process that signal ended (hutch_container_run
   ends quietly with it).  */
static int
aborted (struct hutch_container *c, hutch_error_t *err)
{
  return hutch_error_set_exit (err, 128 + c->abort_signal, EINTR,
                               "the container's start was interrupted by signal %d",
                               c->abort_signal);
}

static int
child_error (struct hutch_msg *m, hutch_error_t *err)
{
  hutch_error_set_exit (err, m->exit_code, 0, "%s", m->text);
  err->errnum = m->errnum;
  if (m->errnum == EPERM)
    {
      hutch_error_t diag = HUTCH_ERROR_INIT;
      /* Ubuntu's AppArmor lets the namespace be created and then denies
         everything in it: say so rather than "EPERM".  */
      hutch_userns_diagnose ("/proc/sys", EPERM, &diag);
      if (diag.msg && strstr (diag.msg, "AppArmor"))
        hutch_error_append (err, "%s", diag.msg);
      hutch_error_clear (&diag);
    }
  return -1;
}

/* Follow the setup until B waits for GO: B's pid (from A) and B's ARMED,
   in either order; then the network, which joins B's namespaces.  */
static int
follow_until_armed (struct hutch_container *c, hutch_error_t *err)
{
  struct hutch_msg m;
  bool armed = false;

  while (c->b < 0 || !armed)
    {
      int r = setup_recv (c, &m, NULL, err);
      if (r == -2)
        return aborted (c, err);
      if (r <= 0)
        return hutch_error_set (err, 0, "the container's process ended during setup");
      if (m.type == HUTCH_MSG_PID)
        {
          c->b = m.pid;
          c->b_seen = true;
        }
      else if (m.type == HUTCH_MSG_ARMED)
        armed = true;
      else if (m.type == HUTCH_MSG_ERROR)
        return child_error (&m, err);
    }
  /* The helper joins B's namespaces (A's are the same but for the PID
     namespace), and sets up the network while B builds the root; B waits
     for it before anything of the container's runs.  (Hooks, which would
     want it earlier, come only from a config.json, which has no slirp
     network.)  */
  if (c->spec->extra.slirp && hutch_slirp_spawn (c->spec->extra.slirp, c->b, &c->slirp, err) < 0)
    return -1;
  return 0;
}

/* GO, then follow until the exec: the socket is close-on-exec, so its
   end says that the process runs.  A container that outlives its creator
   stops earlier, at CREATED: its start comes from another process
   (hutch_container_start_outlived).  */
static int
go_and_follow (struct hutch_container *c, hutch_error_t *err)
{
  struct hutch_msg m = { .type = HUTCH_MSG_GO, .pid = c->b };
  bool execing = false;

  if (hutch_msg_send (c->sock, &m, -1) < 0)
    return hutch_error_set (err, errno, "talk to the container's process");
  /* B hears of the network after GO, when the helper is ready.  */
  c->net_pending = c->slirp != NULL;
  for (;;)
    {
      int fd = -1, r = setup_recv (c, &m, &fd, err);
      if (r == -2)
        return aborted (c, err);
      if (r == -3)
        return -1;
      if (r < 0)
        return hutch_error_set (err, errno, "read from the container's process");
      if (r == 0)
        {
          if (execing)
            return 0;
          return hutch_error_set (err, 0, "the container's process died during setup");
        }
      if (m.type == HUTCH_MSG_CREATED && c->spec->extra.outlive)
        return 0;
      if (m.type == HUTCH_MSG_PTY && fd >= 0)
        {
          if (c->master >= 0)
            close (c->master);
          c->master = fd;
          continue;
        }
      if (fd >= 0)
        close (fd);
      if (m.type == HUTCH_MSG_EXECING)
        execing = true;
      else if (m.type == HUTCH_MSG_ERROR)
        return child_error (&m, err);
    }
}

/* hutch is told to stop (SIGTERM, as systemd, timeout(1) and kill send
   it): the container gets its stop signal, and SIGKILL when it has not
   ended STOP_TIMEOUT seconds later, as `docker stop` does.  A command
   that ignores SIGTERM as PID 1 does not keep hutch waiting forever.
   Every other signal is only passed on.  */
static void
stop (struct hutch_container *c)
{
  kill (c->b, c->spec->extra.stop_signal);
  if (c->spec->extra.stop_timeout >= 0 && c->stop_deadline == 0)
    c->stop_deadline = hutch_now_ms () + (long long)c->spec->extra.stop_timeout * 1000 + 1;
}

/* The poll timeout until the stop deadline, -1 without one; SIGKILL when
   it has passed.  */
static int
stop_wait (struct hutch_container *c)
{
  long long left;
  char buf[16];
  const char *name;

  if (c->stop_deadline == 0)
    return -1;
  left = c->stop_deadline - hutch_now_ms ();
  if (left > 0)
    return left > 60000 ? 60000 : (int)left;
  c->stop_deadline = 0;
  kill (c->b, SIGKILL);
  name = hutch_signal_name (c->spec->extra.stop_signal, buf, sizeof buf);
  hutch_log (HUTCH_LOG_INFO,
             "the container did not end within %d s of SIG%s, its stop signal: killed it "
             "(see --stop-timeout)",
             c->spec->extra.stop_timeout, name ? name : "?");
  return -1;
}

/* Forward signals and copy the terminal until B has ended.  */
static int
supervise (struct hutch_container *c, hutch_error_t *err)
{
  struct hutch_terminal_copy tc;
  int sig;

  /* The setup's loop reads the signalfd too, and drops SIGCHLD: a command
     that ends at once (`true`) may be gone already, with no SIGCHLD left
     to wake the loop below.  */
  reap (c);
  /* What arrived during the setup goes first.  */
  for (sig = 1; sig < NSIG && c->b > 0; sig++)
    if (sigismember (&c->pending, sig) == 1 && !(sig == SIGWINCH && c->master >= 0))
      kill (c->b, sig);

  hutch_terminal_copy_init (&tc, c->master, c->spec->extra.interactive);
  while (c->b > 0)
    {
      struct pollfd pfd[4];
      int n = 0, k;

      pfd[n++] = (struct pollfd){ c->sig.fd, POLLIN, 0 };
      n += hutch_terminal_copy_pollfds (&tc, &pfd[n]);
      if (poll (pfd, (nfds_t)n, stop_wait (c)) < 0)
        {
          if (errno == EINTR)
            continue;
          hutch_terminal_copy_clear (&tc);
          return hutch_error_set (err, errno, "poll");
        }
      if (pfd[0].revents & POLLIN)
        {
          struct signalfd_siginfo si;
          if (read (c->sig.fd, &si, sizeof si) == (ssize_t)sizeof si)
            {
              if (si.ssi_signo == SIGCHLD)
                reap (c);
              else if (si.ssi_signo == SIGPIPE)
                ;
              else if (si.ssi_signo == SIGWINCH && c->master >= 0)
                hutch_terminal_resize (c->master);
              else if (si.ssi_signo == SIGTERM)
                stop (c);
              else
                kill (c->b, (int)si.ssi_signo);
            }
        }
      for (k = 1; k < n; k++)
        if (pfd[k].revents)
          hutch_terminal_copy_event (&tc, &pfd[k]);
    }
  if (c->master >= 0)
    hutch_terminal_copy_drain (&tc);
  hutch_terminal_copy_clear (&tc);
  return 0;
}

/* Clone A (with the user namespace, when the spec has one), write its id
   maps and let it go on: A makes the other namespaces, B, and the root.  */
/* Whether this process has CAP_SYS_PTRACE over its user namespace (root
   under containerd or rootful podman; root of rootless podman's
   namespace).  B's memory was made in this namespace, so the kernel lets
   only such a process reach a B that is not dumpable (/proc/PID/ns,
   setns through a pidfd): that is, a later hutch-oci exec of the same
   caller.  */
static bool
may_ptrace_anyone (void)
{
  _cleanup_free_ char *text = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;
  const char *p;

  if (hutch_read_file ("/proc/self/status", 65536, &text, NULL, &e) < 0)
    {
      hutch_error_clear (&e);
      return false;
    }
  p = strstr (text, "\nCapEff:");
  return p && (strtoull (p + 8, NULL, 16) >> 19 /* CAP_SYS_PTRACE */) & 1;
}

static int
clone_first (struct hutch_container *c, hutch_error_t *err)
{
  struct hutch_child_ctx ctx = { 0 };
  struct hutch_msg m = { .type = HUTCH_MSG_MAPS_OK };
  int sp[2], watch[2], cflags, e, n;

  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
    return hutch_error_set (err, errno, "socketpair");
  if (pipe2 (watch, O_CLOEXEC) < 0)
    {
      e = errno;
      close (sp[0]);
      close (sp[1]);
      return hutch_error_set (err, e, "pipe");
    }
  c->sock = sp[0];
  c->watch_w = watch[1];

  ctx.spec = c->spec;
  ctx.cgroupfd = c->cgrun.fd;
  ctx.cgroup_path = c->cgrun.path;
  if (c->spec->terminal && isatty (0))
    {
      struct winsize ws;
      if (ioctl (0, TIOCGWINSZ, &ws) == 0)
        {
          ctx.rows = ws.ws_row;
          ctx.cols = ws.ws_col;
        }
    }
  ctx.sock = sp[1];
  ctx.emu_sock = -1;
  ctx.watchfd = watch[0];
  ctx.initfd = c->initfd;
  ctx.host_root = geteuid () == 0 && !hutch_in_user_namespace ();
  ctx.startfd = c->spec->extra.outlive ? c->spec->extra.start_socket : -1;
  ctx.wait_nondumpable = c->spec->extra.outlive && may_ptrace_anyone ();
  ctx.parent = getpid ();
  ctx.oldmask = c->sig.oldmask;
  cflags = c->spec->ns[HUTCH_NS_USER] ? CLONE_NEWUSER : 0;
  /* The namespaces made ahead of time for these maps, when there are
     (hutch_container_create took them): A joins them, and there is
     nothing left to map.  */
  for (n = 0; n < HUTCH_NS_COUNT; n++)
    ctx.ahead[n] = -1;
  if (cflags && c->ahead.user >= 0)
    {
      ctx.ahead[HUTCH_NS_USER] = c->ahead.user;
      ctx.ahead[HUTCH_NS_NET] = c->ahead.net;
      ctx.ahead[HUTCH_NS_UTS] = c->ahead.uts;
      ctx.ahead[HUTCH_NS_IPC] = c->ahead.ipc;
      cflags = 0;
    }
  c->a = (pid_t)syscall (SYS_clone, cflags | SIGCHLD, 0, NULL, NULL, 0);
  e = errno;
  if (c->a == 0)
    {
      close (sp[0]);
      close (watch[1]);
      hutch_child_main (&ctx);
    }
  close (sp[1]);
  close (watch[0]);
  hutch_nsahead_close (&c->ahead);
  if (c->a < 0)
    {
      if (cflags)
        return hutch_userns_diagnose ("/proc/sys", e, err);
      return hutch_error_set (err, e, "clone");
    }
  if (cflags && write_maps (c->spec, c->a, err) < 0)
    return -1;
  if (hutch_msg_send (c->sock, &m, -1) < 0)
    return hutch_error_set (err, errno, "talk to the container's first process");
  return 0;
}

int
hutch_container_check_helper (const char *path, hutch_error_t *err)
{
  const char *name = strrchr (path, '/') ? strrchr (path, '/') + 1 : path;
  const char *other = strcmp (name, "hutch-init") == 0 ? "run without --init"
                      : strcmp (name, "hutch-monitor") == 0
                          ? "run in the foreground (without -d)"
                          : "use --network none or --network host";
  struct stat st;
  int e;

  if (stat (path, &st) == 0)
    {
      if (S_ISREG (st.st_mode) && access (path, X_OK) == 0)
        return 0;
      e = S_ISREG (st.st_mode) ? errno : EISDIR;
    }
  else
    e = errno;
  hutch_error_set (err, 0,
                   "%s cannot be run: `%s`: %s (hutch looks for its helpers beside its own "
                   "binary, in ../libexec/hutch from it, then in %s); fix: reinstall hutch, so "
                   "that %s is in one of those places, or %s",
                   name, path, strerror (e), PKGLIBEXECDIR, name, other);
  err->errnum = e;
  return -e;
}

/* The helpers SPEC needs, checked before anything exists: a missing one
   is one line, not a half-made container.  */
static int
check_helpers (const struct hutch_spec *spec, hutch_error_t *err)
{
  if (spec->extra.init && hutch_container_check_helper (spec->extra.init_path, err) < 0)
    return -1;
  if (spec->extra.slirp && hutch_container_check_helper (spec->extra.slirp->helper_path, err) < 0)
    return -1;
  return 0;
}

/* linux.resources.devices' deny-all rule for the host's root with a user
   namespace: the container's own processes have no privilege over the
   host to attach the device program (without a user namespace, B does:
   child.c), and the kernel's rule of user namespaces does not hold for
   the host's root, who could have made device nodes anywhere the
   container reaches.  So the launcher attaches it to the cgroup before
   any process is in it.  */
static int
devices_limit (const struct hutch_spec *spec, const struct hutch_cgroup_run *run,
               hutch_error_t *err)
{
  if (!spec->devices_deny_all || geteuid () != 0 || hutch_in_user_namespace ()
      || !hutch_spec_has_ns (spec, HUTCH_NS_USER))
    return 0;
  if (run->fd < 0)
    return hutch_error_set (err, 0,
                            "linux.resources.devices: the rule that denies every device needs a "
                            "cgroup of the container's own, where the kernel takes device rules, "
                            "and this container has none; run it with a cgroup, or remove the "
                            "rule");
  return hutch_devices_limit (spec, run->fd, err);
}

int
hutch_container_create (const struct hutch_spec *spec, struct hutch_container **ret,
                        hutch_error_t *err)
{
  struct hutch_container *c;

  if (spec->args == NULL || spec->args[0] == NULL)
    return hutch_error_set (err, 0, "no command to run");
  if (check_ids_mapped (spec, err) < 0 || hutch_caps_validate (spec, err) < 0
      || check_helpers (spec, err) < 0 || hutch_rlimits_check (spec, err) < 0
      || hutch_devices_check (spec, err) < 0)
    return -1;
  c = hutch_xmalloc0 (sizeof *c);
  c->spec = spec;
  c->status = HUTCH_CONTAINER_CREATING;
  c->sock = c->watch_w = c->initfd = c->master = -1;
  c->sig = (struct hutch_sigfd)HUTCH_SIGFD_INIT;
  c->a = c->b = -1;
  c->cgrun = (struct hutch_cgroup_run)HUTCH_CGROUP_RUN_INIT;
  sigemptyset (&c->pending);
  /* Taken before the cgroup's setup, which may need hutch alone in its
     cgroup: the process that made the namespaces is gone then.  */
  c->ahead = (struct hutch_nsahead)HUTCH_NSAHEAD_INIT;
  if (spec->ns[HUTCH_NS_USER])
    hutch_userns_early_claim (spec->uid_mappings, spec->n_uid_mappings, spec->gid_mappings,
                              spec->n_gid_mappings, &c->ahead);
  else
    hutch_userns_early_claim (NULL, 0, NULL, 0, &c->ahead);
  if (spec->extra.init)
    {
      c->initfd = hutch_sealed_copy (spec->extra.init_path, "hutch-init");
      if (c->initfd < 0)
        {
          hutch_error_set (err, errno, "open hutch-init `%s` (reinstall hutch)",
                           spec->extra.init_path);
          goto fail;
        }
    }
  /* The container's cgroup, with its limits written, before any of its
     processes exists.  */
  if (hutch_cgroup_setup_request (spec, spec->extra.cgroup_request, &c->cgrun, NULL, err) < 0
      || devices_limit (spec, &c->cgrun, err) < 0 || hutch_sigfd_take (&c->sig, err) < 0
      || clone_first (c, err) < 0 || follow_until_armed (c, err) < 0
      || hutch_cgroup_settle (&c->cgrun, err) < 0)
    goto fail;
  /* The namespaces exist, nothing is mounted yet: prestart (deprecated,
     still what podman uses) and createRuntime, in our namespaces.  */
  if (hutch_hooks_run_spec (spec, HUTCH_HOOK_PRESTART, "creating", c->b, err) < 0
      || hutch_hooks_run_spec (spec, HUTCH_HOOK_CREATE_RUNTIME, "creating", c->b, err) < 0)
    goto fail;
  /* One that outlives its creator is built whole now: what fails, fails
     at create, as runc's.  */
  if (spec->extra.outlive && go_and_follow (c, err) < 0)
    goto fail;
  c->status = HUTCH_CONTAINER_CREATED;
  *ret = c;
  return 0;

fail:
  hutch_container_delete (c);
  return -1;
}

int
hutch_container_release (struct hutch_container *c, hutch_error_t *err)
{
  struct hutch_msg m = { .type = HUTCH_MSG_RELEASE };
  int r;

  if (!c->spec->extra.outlive || c->status != HUTCH_CONTAINER_CREATED)
    return hutch_error_set (err, 0, "the container is %s, not created to outlive its creator",
                            hutch_container_status_name (c->status));
  if (hutch_msg_send (c->sock, &m, -1) < 0)
    return hutch_error_set (err, errno, "talk to the container's process");
  r = setup_recv (c, &m, NULL, err);
  if (r == -2)
    return aborted (c, err);
  if (r != 1 || m.type != HUTCH_MSG_RELEASED)
    return hutch_error_set (err, 0, "the container's process ended before it was released");
  /* A ended once it told us B's pid.  */
  if (c->a > 0)
    {
      while (waitpid (c->a, NULL, 0) < 0 && errno == EINTR)
        ;
      c->a = -1;
    }
  close (c->sock);
  if (c->master >= 0)
    close (c->master);
  if (c->watch_w >= 0)
    close (c->watch_w);
  hutch_sigfd_release (&c->sig);
  if (c->initfd >= 0)
    close (c->initfd);
  hutch_nsahead_close (&c->ahead);
  /* The cgroup stays with the container: hutch-oci delete removes it.  */
  if (c->cgrun.fd >= 0)
    close (c->cgrun.fd);
  free (c->cgrun.base);
  free (c->cgrun.leaf);
  free (c->cgrun.path);
  hutch_strv_free (c->cgrun.enabled);
  hutch_strv_free (c->ports);
  free (c);
  return 0;
}

int
hutch_container_start_outlived (int sockfd, pid_t pid, hutch_error_t *err)
{
  struct hutch_msg m = { .type = HUTCH_MSG_GO, .pid = pid };
  bool execing = false;

  if (hutch_msg_send (sockfd, &m, -1) < 0)
    return hutch_error_set (err, errno, "talk to the container's process");
  for (;;)
    {
      int fd = -1, r = hutch_msg_recv (sockfd, &m, &fd);
      if (fd >= 0)
        close (fd);
      if (r < 0)
        {
          if (errno == EINTR)
            continue;
          return hutch_error_set (err, errno, "read from the container's process");
        }
      if (r == 0)
        return execing ? 0
                       : hutch_error_set (err, 0, "the container's process ended before its exec");
      if (m.type == HUTCH_MSG_EXECING)
        execing = true;
      else if (m.type == HUTCH_MSG_ERROR)
        {
          hutch_error_set_exit (err, m.exit_code, m.errnum, "%s", m.text);
          return -1;
        }
    }
}

int
hutch_container_start (struct hutch_container *c, hutch_error_t *err)
{
  if (c->spec->extra.outlive)
    return hutch_error_set (err, 0,
                            "a container that outlives its creator is started by "
                            "another process (hutch_container_start_outlived)");
  if (c->status != HUTCH_CONTAINER_CREATED)
    return hutch_error_set (err, 0, "the container is %s, not created",
                            hutch_container_status_name (c->status));
  if (go_and_follow (c, err) < 0)
    {
      if (c->b > 0 && err->exit_code != HUTCH_EXIT_ERROR && err->exit_code != 0
          && c->abort_signal == 0)
        {
          /* B reported an exec failure and exits with that code: reap it.  */
          int st;
          while (waitpid (c->b, &st, 0) < 0 && errno == EINTR)
            ;
          c->b = -1;
        }
      c->start_failed = true;
      c->status = HUTCH_CONTAINER_STOPPED;
      return -1;
    }
  c->status = HUTCH_CONTAINER_RUNNING;
  /* The start is over: the keeper may make the next run's namespace.  */
  hutch_userns_early_release ();
  return 0;
}

void
hutch_container_drop_terminal (struct hutch_container *c)
{
  if (c->master >= 0)
    close (c->master);
  c->master = -1;
}

int
hutch_container_wait (struct hutch_container *c, int *ret_status, hutch_error_t *err)
{
  struct hutch_terminal_state term = { 0 };
  int r;

  if (c->start_failed)
    return hutch_error_set (err, 0, "the container's start failed: there is nothing to wait for");
  if (c->status != HUTCH_CONTAINER_RUNNING && c->status != HUTCH_CONTAINER_STOPPED)
    return hutch_error_set (err, 0, "the container is %s: start it first",
                            hutch_container_status_name (c->status));
  /* Raw mode only when the user types into the container; with -t alone,
     ^C stays a signal to hutch, which forwards it.  */
  if (c->master >= 0 && c->spec->extra.interactive)
    hutch_terminal_enter_raw (&term);
  r = supervise (c, err);
  hutch_terminal_restore (&term);
  if (r < 0)
    return -1;
  c->waited = true;
  *ret_status = hutch_exit_code (c->wait_status);
  return 0;
}

int
hutch_container_kill (struct hutch_container *c, int sig, hutch_error_t *err)
{
  if (c->b <= 0)
    return hutch_error_set (err, ESRCH, "the container is %s: no process to signal",
                            hutch_container_status_name (c->status));
  if (kill (c->b, sig) < 0)
    return hutch_error_set (err, errno, "send signal %d to the container's process", sig);
  return 0;
}

void
hutch_container_state (const struct hutch_container *c, struct hutch_container_state *ret)
{
  ret->status = c->status;
  ret->pid = c->b;
  ret->cgroup_path = c->cgrun.path;
  ret->ports = c->ports;
  ret->pty_master = c->master;
}

static int
keep_open (int fd)
{
  int fl = fd >= 0 ? fcntl (fd, F_GETFD) : 0;
  if (fd >= 0 && (fl < 0 || fcntl (fd, F_SETFD, fl & ~FD_CLOEXEC) < 0))
    return -1;
  return 0;
}

int
hutch_container_handoff (struct hutch_container *c, struct hutch_container_handoff *ret,
                         hutch_error_t *err)
{
  if (c->status != HUTCH_CONTAINER_RUNNING || c->b <= 0)
    return hutch_error_set (err, 0, "the container is %s: nothing to hand over",
                            hutch_container_status_name (c->status));
  memset (ret, 0, sizeof *ret);
  ret->a = c->a;
  ret->b = c->b;
  ret->watch_fd = c->watch_w;
  ret->slirp_pidfd = hutch_slirp_pidfd (c->slirp);
  ret->pty_master = c->master;
  ret->cgroup_path = c->cgrun.path;
  ret->cgroup_base = c->cgrun.leaf ? c->cgrun.base : NULL;
  ret->cgroup_leaf = c->cgrun.leaf;
  ret->cgroup_enabled = c->cgrun.enabled;
  if (keep_open (ret->watch_fd) < 0 || keep_open (ret->slirp_pidfd) < 0
      || keep_open (ret->pty_master) < 0)
    return hutch_error_set (err, errno, "hand the container over");
  return 0;
}

const char *
hutch_container_status_name (enum hutch_container_status s)
{
  switch (s)
    {
    case HUTCH_CONTAINER_CREATING:
      return "creating";
    case HUTCH_CONTAINER_CREATED:
      return "created";
    case HUTCH_CONTAINER_RUNNING:
      return "running";
    case HUTCH_CONTAINER_STOPPED:
      return "stopped";
    }
  return "unknown";
}

/* B's pid from a PID message still queued on the socket, or -1.  */
static pid_t
late_pid (struct hutch_container *c)
{
  struct pollfd pfd = { c->sock, POLLIN, 0 };
  struct hutch_msg m;
  int fd = -1;

  while (c->sock >= 0 && poll (&pfd, 1, 0) > 0 && hutch_msg_recv (c->sock, &m, &fd) > 0)
    {
      if (fd >= 0)
        close (fd);
      fd = -1;
      if (m.type == HUTCH_MSG_PID)
        return m.pid;
    }
  return -1;
}

void
hutch_container_delete (struct hutch_container *c)
{
  bool ran = c->waited;
  _cleanup_free_ char *warning = NULL;
  uint64_t ooms;

  /* Interrupted before A told us B's pid: A may be about to, or may have
     (the message unread behind the signal).  A goes first, then what it
     said, so that B (our child) is killed and reaped, not left behind.  */
  if (!c->b_seen && c->a > 0)
    {
      kill_and_reap (&c->a);
      c->b = late_pid (c);
    }
  kill_and_reap (&c->b);
  /* The network goes with the container, also when it could not start.  */
  hutch_slirp_stop (c->slirp);
  c->slirp = NULL;
  /* A process that waits for GO, or for a message of ours, sees the
     socket end.  */
  if (c->sock >= 0)
    close (c->sock);
  c->sock = -1;
  /* Once it has seen B, the watchdog ends by itself when B is gone, after
     its own cleanup (the container's directory, fuse-overlayfs).  */
  if (c->a > 0)
    {
      while (waitpid (c->a, NULL, 0) < 0 && errno == EINTR)
        ;
      c->a = -1;
    }
  /* Everything of the container is gone: its cgroup goes too.  The OOM
     killer's work is worth saying, the exit code (137) alone does not.  */
  ooms = hutch_cgroup_teardown (&c->cgrun, &warning);
  if (warning)
    hutch_log (HUTCH_LOG_WARNING, "%s", warning);
  if (ooms > 0 && ran)
    hutch_log (HUTCH_LOG_INFO,
               "the container ran out of memory: the kernel's OOM killer ended %llu "
               "process%s (memory.events oom_kill)",
               (unsigned long long)ooms, ooms == 1 ? "" : "es");
  if (c->master >= 0)
    close (c->master);
  if (c->watch_w >= 0)
    close (c->watch_w);
  hutch_sigfd_release (&c->sig);
  if (c->initfd >= 0)
    close (c->initfd);
  hutch_nsahead_close (&c->ahead);
  hutch_strv_free (c->ports);
  free (c);
}

int
hutch_container_run (const struct hutch_spec *spec, int *ret_status, hutch_error_t *err)
{
  struct hutch_container *c = NULL;
  int r;

  if (hutch_container_create (spec, &c, err) < 0)
    {
      /* Interrupted during setup: end quietly, as the process would
         have.  */
      if (err->errnum == EINTR && err->exit_code > 128)
        {
          *ret_status = err->exit_code;
          hutch_error_clear (err);
          return 0;
        }
      return -1;
    }
  r = hutch_container_start (c, err);
  if (r == 0)
    {
      /* hutch run's poststart and poststop (hutch-oci runs its own).  */
      hutch_hooks_run_late (spec, HUTCH_HOOK_POSTSTART, "running", c->b);
      r = hutch_container_wait (c, ret_status, err);
    }
  else if (c->abort_signal)
    {
      *ret_status = err->exit_code;
      hutch_error_clear (err);
      r = 0;
    }
  hutch_container_delete (c);
  hutch_hooks_run_late (spec, HUTCH_HOOK_POSTSTOP, "stopped", 0);
  return r;
}
