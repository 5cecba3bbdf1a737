/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* The launcher's side of a container's life: clone the user namespace's
   first process, write its id maps, follow the setup, then supervise the
   running process: forward signals, copy its terminal, collect its exit.  */

#include "runtime/container.h"
#include "runtime/network.h"
#include "runtime/caps.h"
#include "runtime/cgroup.h"
#include "runtime/idmap.h"
#include "runtime/sync.h"
#include "runtime/terminal.h"
#include "base/log.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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
#include <unistd.h>

/* hutch-init runs as the container's PID 1, where the container's root
   can reach it as /proc/1/exe.  Were that the file on the host, a process
   inside could keep it open and write to it once nothing runs it any more
   (the class of CVE-2019-5736), and the user's next container would run
   its code.  So PID 1 runs a copy in a sealed memfd: /proc/1/exe leads to
   that copy, which no one can change.  Returns the memfd, or -1 with
   errno.  */
static int
sealed_copy (const char *path)
{
  _cleanup_close_ int src = open (path, O_RDONLY | O_CLOEXEC);
  int fd, e;
  struct stat st;
  off_t off = 0;

  if (src < 0 || fstat (src, &st) < 0)
    return -1;
  fd = memfd_create ("hutch-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
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
  size_t i;
  if (spec->n_uid_mappings == 0)
    return 0;
  if (!hutch_idmap_contains (spec->uid_mappings, spec->n_uid_mappings, spec->uid))
    return hutch_error_set (err, 0,
                            "container uid %u is not mapped: the user namespace has %lu uids "
                            "(your subordinate range in /etc/subuid is too small, or "
                            "--userns=single maps only one); ask an administrator for a range "
                            "of 65536 (`usermod --add-subuids 100000-165535 USER`)",
                            spec->uid,
                            hutch_idmap_total (spec->uid_mappings, spec->n_uid_mappings));
  if (!hutch_idmap_contains (spec->gid_mappings, spec->n_gid_mappings, spec->gid))
    return hutch_error_set (err, 0,
                            "container gid %u is not mapped: the user namespace has %lu gids "
                            "(your subordinate range in /etc/subgid is too small, or "
                            "--userns=single maps only one); ask an administrator for a range "
                            "of 65536 (`usermod --add-subgids 100000-165535 USER`)",
                            spec->gid,
                            hutch_idmap_total (spec->gid_mappings, spec->n_gid_mappings));
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

static int
status_to_code (int st)
{
  if (WIFEXITED (st))
    return WEXITSTATUS (st);
  if (WIFSIGNALED (st))
    return 128 + WTERMSIG (st);
  return HUTCH_EXIT_ERROR;
}

/* Signals hutch passes on to the container's PID 1.  SIGPIPE is blocked
   too (a closed terminal must not kill hutch) but never forwarded.  */
static const int forwarded[] = { SIGHUP,  SIGINT,  SIGQUIT,  SIGTERM, SIGUSR1, SIGUSR2,
                                 SIGALRM, SIGCONT, SIGWINCH, SIGURG,  SIGPWR };

static bool
is_terminating (int sig)
{
  return sig == SIGHUP || sig == SIGINT || sig == SIGQUIT || sig == SIGTERM;
}

struct launch
{
  struct hutch_spec *spec;
  int sock; /* P's end */
  int sfd;  /* signalfd */
  pid_t a, b;
  int master;                     /* the pty, with -t */
  sigset_t pending;               /* signals that arrived before the exec, to forward after */
  int abort_signal;               /* a terminating signal during setup */
  struct hutch_slirp_proc *slirp; /* the network helper, or NULL */
};

/* Reap whatever exited; remember B's status.  */
static bool
reap (struct launch *l, int *ret_status)
{
  bool b_done = false;
  for (;;)
    {
      int st;
      pid_t p = waitpid (-1, &st, WNOHANG);
      if (p <= 0)
        break;
      if (p == l->a)
        l->a = -1;
      else if (p == l->b)
        {
          l->b = -1;
          *ret_status = st;
          b_done = true;
        }
    }
  return b_done;
}

/* Wait for the next message during setup while still listening to
   signals: a terminating one aborts the start (the process does not exist
   yet to receive it), the others are kept for after the exec.  Returns as
   hutch_msg_recv, or -2 when aborted.  */
static int
setup_recv (struct launch *l, struct hutch_msg *m, int *ret_fd)
{
  for (;;)
    {
      struct pollfd pfd[2] = { { l->sock, POLLIN, 0 }, { l->sfd, POLLIN, 0 } };
      if (poll (pfd, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      if (pfd[1].revents & POLLIN)
        {
          struct signalfd_siginfo si;
          if (read (l->sfd, &si, sizeof si) == (ssize_t)sizeof si && si.ssi_signo != SIGCHLD
              && si.ssi_signo != SIGPIPE)
            {
              if (is_terminating ((int)si.ssi_signo))
                {
                  l->abort_signal = (int)si.ssi_signo;
                  return -2;
                }
              sigaddset (&l->pending, (int)si.ssi_signo);
            }
        }
      if (pfd[0].revents)
        return hutch_msg_recv (l->sock, m, ret_fd);
    }
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

/* Follow the setup until the exec.  Returns 0 when the process runs.  */
static int
follow_setup (struct launch *l, hutch_error_t *err)
{
  struct hutch_msg m;
  bool armed = false, execing = false;

  /* B's pid (from A) and B's ARMED, in either order.  */
  while (l->b < 0 || !armed)
    {
      int r = setup_recv (l, &m, NULL);
      if (r == -2)
        return -1;
      if (r <= 0)
        return hutch_error_set (err, 0, "the container's process ended during setup");
      if (m.type == HUTCH_MSG_PID)
        l->b = m.pid;
      else if (m.type == HUTCH_MSG_ARMED)
        armed = true;
      else if (m.type == HUTCH_MSG_ERROR)
        return child_error (&m, err);
    }
  /* The network before the command: B waits for GO.  The helper joins
     B's namespaces (A's are the same but for the PID namespace).  */
  if (l->spec->extra.slirp)
    {
      _cleanup_strv_ char **lines = NULL;
      size_t i;
      if (hutch_slirp_start (l->spec->extra.slirp, l->b, &l->slirp, &lines, err) < 0)
        return -1;
      /* A port the user left to us is worth saying (hutch port, later).  */
      for (i = 0; lines && lines[i] && i < l->spec->extra.slirp->n_publish; i++)
        if (l->spec->extra.slirp->publish[i].host_port == 0)
          hutch_log (HUTCH_LOG_INFO, "published %s", lines[i]);
    }
  m = (struct hutch_msg){ .type = HUTCH_MSG_GO };
  if (hutch_msg_send (l->sock, &m, -1) < 0)
    return hutch_error_set (err, errno, "talk to the container's process");

  for (;;)
    {
      int fd = -1, r = setup_recv (l, &m, &fd);
      if (r == -2)
        return -1;
      if (r < 0)
        return hutch_error_set (err, errno, "read from the container's process");
      if (r == 0)
        {
          if (execing)
            return 0; /* the socket was close-on-exec: the process runs */
          return hutch_error_set (err, 0, "the container's process died during setup");
        }
      if (m.type == HUTCH_MSG_PTY && fd >= 0)
        {
          if (l->master >= 0)
            close (l->master);
          l->master = fd;
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

static int
supervise (struct launch *l, int *ret_status, hutch_error_t *err)
{
  struct hutch_terminal_copy tc;
  int st = 0, sig;

  /* The setup's loop reads the signalfd too, and drops SIGCHLD: a command
     that ends at once (`true`) may be gone already, with no SIGCHLD left
     to wake the loop below.  */
  reap (l, &st);
  /* What arrived during the setup goes first.  */
  for (sig = 1; sig < NSIG && l->b > 0; sig++)
    if (sigismember (&l->pending, sig) == 1 && !(sig == SIGWINCH && l->master >= 0))
      kill (l->b, sig);

  hutch_terminal_copy_init (&tc, l->master, l->spec->extra.interactive);
  while (l->b > 0)
    {
      struct pollfd pfd[4];
      int n = 0, k;

      pfd[n++] = (struct pollfd){ l->sfd, POLLIN, 0 };
      n += hutch_terminal_copy_pollfds (&tc, &pfd[n]);
      if (poll (pfd, (nfds_t)n, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          return hutch_error_set (err, errno, "poll");
        }
      if (pfd[0].revents & POLLIN)
        {
          struct signalfd_siginfo si;
          if (read (l->sfd, &si, sizeof si) == (ssize_t)sizeof si)
            {
              if (si.ssi_signo == SIGCHLD)
                reap (l, &st);
              else if (si.ssi_signo == SIGPIPE)
                ;
              else if (si.ssi_signo == SIGWINCH && l->master >= 0)
                hutch_terminal_resize (l->master);
              else
                kill (l->b, (int)si.ssi_signo);
            }
        }
      for (k = 1; k < n; k++)
        if (pfd[k].revents)
          hutch_terminal_copy_event (&tc, &pfd[k]);
    }
  if (l->master >= 0)
    hutch_terminal_copy_drain (&tc);
  hutch_terminal_copy_clear (&tc);
  *ret_status = status_to_code (st);
  return 0;
}

int
hutch_container_run (struct hutch_spec *spec, int *ret_status, hutch_error_t *err)
{
  struct hutch_terminal_state term = { 0 };
  struct hutch_cgroup_run cgrun = { 0 };
  _cleanup_close_ int initfd = -1, sfd = -1;
  struct hutch_child_ctx c = { 0 };
  struct launch l = { 0 };
  struct sigaction dfl = { 0 }, old_chld;
  sigset_t mask;
  int sp[2] = { -1, -1 }, watch[2] = { -1, -1 }, ret = -1, cflags;
  size_t i;

  l.spec = spec;
  l.a = l.b = -1;
  l.master = -1;
  sigemptyset (&l.pending);
  if (spec->args == NULL || spec->args[0] == NULL)
    return hutch_error_set (err, 0, "no command to run");
  if (check_ids_mapped (spec, err) < 0)
    return -1;
  if (hutch_caps_validate (spec, err) < 0)
    return -1;
  if (spec->extra.init)
    {
      initfd = sealed_copy (spec->extra.init_path);
      if (initfd < 0)
        return hutch_error_set (err, errno, "open hutch-init `%s` (reinstall hutch)",
                                spec->extra.init_path);
    }

  /* The container's cgroup, with its limits written, before any of its
     processes exists.  */
  if (hutch_cgroup_setup (spec, &cgrun, NULL, err) < 0)
    return -1;

  /* An inherited SIGCHLD = SIG_IGN would make the kernel reap our children
     behind our back.  */
  dfl.sa_handler = SIG_DFL;
  sigaction (SIGCHLD, &dfl, &old_chld);

  /* Signals are taken through a signalfd: block them before any child
     exists, so that none is lost between clone and the loop.  */
  sigemptyset (&mask);
  for (i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
    sigaddset (&mask, forwarded[i]);
  sigaddset (&mask, SIGCHLD);
  sigaddset (&mask, SIGPIPE);
  if (sigprocmask (SIG_BLOCK, &mask, &c.oldmask) < 0)
    {
      hutch_error_set (err, errno, "sigprocmask");
      hutch_cgroup_teardown (spec, &cgrun, NULL);
      return -1;
    }
  sfd = signalfd (-1, &mask, SFD_CLOEXEC);
  if (sfd < 0)
    {
      hutch_error_set (err, errno, "signalfd");
      goto out;
    }
  l.sfd = sfd;
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0
      || pipe2 (watch, O_CLOEXEC) < 0)
    {
      hutch_error_set (err, errno, "socketpair");
      goto out;
    }
  if (spec->terminal && isatty (0))
    {
      struct winsize ws;
      if (ioctl (0, TIOCGWINSZ, &ws) == 0)
        {
          spec->extra.rows = ws.ws_row;
          spec->extra.cols = ws.ws_col;
        }
    }

  c.spec = spec;
  c.sock = sp[1];
  c.watchfd = watch[0];
  c.initfd = initfd;
  c.parent = getpid ();
  cflags = spec->ns[HUTCH_NS_USER] ? CLONE_NEWUSER : 0;
  l.a = (pid_t)syscall (SYS_clone, cflags | SIGCHLD, 0, NULL, NULL, 0);
  if (l.a < 0)
    {
      int e = errno;
      if (cflags)
        hutch_userns_diagnose ("/proc/sys", e, err);
      else
        hutch_error_set (err, e, "clone");
      goto out;
    }
  if (l.a == 0)
    {
      close (sp[0]);
      close (watch[1]);
      hutch_child_main (&c);
    }
  close (sp[1]);
  sp[1] = -1;
  close (watch[0]);
  watch[0] = -1;
  l.sock = sp[0];

  if (spec->ns[HUTCH_NS_USER] && write_maps (spec, l.a, err) < 0)
    goto out;
  {
    struct hutch_msg m = { .type = HUTCH_MSG_MAPS_OK };
    if (hutch_msg_send (sp[0], &m, -1) < 0)
      {
        hutch_error_set (err, errno, "talk to the container's first process");
        goto out;
      }
  }
  if (follow_setup (&l, err) < 0)
    goto out;

  /* Raw mode only when the user types into the container; with -t alone,
     ^C stays a signal to hutch, which forwards it.  */
  if (l.master >= 0 && spec->extra.interactive)
    hutch_terminal_enter_raw (&term);
  ret = supervise (&l, ret_status, err);
  hutch_terminal_restore (&term);

out:
  if (ret < 0 && l.abort_signal)
    {
      /* Interrupted during setup: end quietly, as the process would have.  */
      hutch_error_clear (err);
      *ret_status = 128 + l.abort_signal;
      ret = 0;
    }
  if (l.b > 0 && err->exit_code != HUTCH_EXIT_ERROR && err->exit_code != 0)
    {
      int st;
      /* B reported an exec failure and exits with that code: reap it.  */
      while (waitpid (l.b, &st, 0) < 0 && errno == EINTR)
        ;
      l.b = -1;
    }
  kill_and_reap (&l.b);
  /* The network goes with the container, also when it could not start.  */
  hutch_slirp_stop (l.slirp);
  l.slirp = NULL;
  if (l.a > 0)
    {
      /* The watchdog ends by itself once B is gone; on a failed start it
         may still wait for B's pid, so make sure.  */
      if (ret < 0)
        kill (l.a, SIGKILL);
      while (waitpid (l.a, NULL, 0) < 0 && errno == EINTR)
        ;
      l.a = -1;
    }
  /* Everything of the container is gone: its cgroup goes too.  The OOM
     killer's work is worth saying, the exit code (137) alone does not.  */
  {
    _cleanup_free_ char *warning = NULL;
    uint64_t ooms = hutch_cgroup_teardown (spec, &cgrun, &warning);
    if (warning)
      hutch_log (HUTCH_LOG_WARNING, "%s", warning);
    if (ooms > 0 && ret == 0)
      hutch_log (HUTCH_LOG_INFO,
                 "the container ran out of memory: the kernel's OOM killer ended %llu "
                 "process%s (memory.events oom_kill)",
                 (unsigned long long)ooms, ooms == 1 ? "" : "es");
  }
  if (l.master >= 0)
    close (l.master);
  if (sp[0] >= 0)
    close (sp[0]);
  if (sp[1] >= 0)
    close (sp[1]);
  if (watch[0] >= 0)
    close (watch[0]);
  if (watch[1] >= 0)
    close (watch[1]);
  sigprocmask (SIG_SETMASK, &c.oldmask, NULL);
  sigaction (SIGCHLD, &old_chld, NULL);
  return ret;
}
