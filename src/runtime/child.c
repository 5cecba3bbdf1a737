/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* The container's side of the start: A (the user namespace's first
   process, then a watchdog) and B (PID 1 of the container until it
   executes the process).  Everything here runs as root of the new user
   namespace, with that namespace's capabilities only.  */

#include "runtime/caps.h"
#include "runtime/cgroup.h"
#include "runtime/devices.h"
#include "runtime/hooks.h"
#include "runtime/mount.h"
#include "runtime/nsexec.h"
#include "runtime/rlimit.h"
#include "runtime/sync.h"
#include "base/syscalls.h"
#include "runtime/sysfilter.h"
#include "base/util.h"
#include "base/walk.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

static int
loopback_up (hutch_error_t *err)
{
  _cleanup_close_ int s = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr = { 0 };

  if (s < 0)
    return hutch_error_set (err, errno, "socket");
  strcpy (ifr.ifr_name, "lo");
  if (ioctl (s, SIOCGIFFLAGS, &ifr) < 0)
    return hutch_error_set (err, errno, "read the flags of lo");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl (s, SIOCSIFFLAGS, &ifr) < 0)
    return hutch_error_set (err, errno, "bring lo up");
  return 0;
}

static bool
setgroups_denied (void)
{
  char buf[16] = "";
  int fd = open ("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  if (read (fd, buf, sizeof buf - 1) < 0)
    buf[0] = '\0';
  close (fd);
  return strncmp (buf, "deny", 4) == 0;
}

/* crun's annotation run.oci.keep_original_groups=1, which podman sets for
   --group-add keep-groups.  */
static bool
keep_groups_annotation (const struct hutch_spec *spec)
{
  const char *v
      = hutch_kv_get (spec->annotations, spec->n_annotations, "run.oci.keep_original_groups");
  return v && strcmp (v, "1") == 0;
}

int
hutch_child_set_user (const struct hutch_spec *spec, bool setgroups_are_denied, hutch_error_t *err)
{
  size_t i;

  if (hutch_caps_drop_bounding (spec, err) < 0)
    return -1;
  /* Keep the user's own supplementary groups (keep-id over host files,
     --group-add keep-groups, crun's annotation for it): the kernel still
     grants what they grant, although the namespace does not map them.  */
  if (spec->extra.keep_groups || keep_groups_annotation (spec))
    ;
  else if (!setgroups_are_denied)
    {
      gid_t *gids = hutch_xmalloc0 ((spec->n_additional_gids + 1) * sizeof (gid_t));
      for (i = 0; i < spec->n_additional_gids; i++)
        gids[i] = spec->additional_gids[i];
      if (setgroups (spec->n_additional_gids, gids) < 0)
        {
          free (gids);
          return hutch_error_set (err, errno, "set the supplementary groups");
        }
      free (gids);
    }
  else if (spec->n_additional_gids > 0)
    return hutch_error_set (err, 0,
                            "supplementary groups cannot be set when setgroups is denied "
                            "(--userns=single, or no subordinate gid range)");
  if (setresgid (spec->gid, spec->gid, spec->gid) < 0)
    return hutch_error_set (err, errno, "set gid %u", spec->gid);
  if (setresuid (spec->uid, spec->uid, spec->uid) < 0)
    return hutch_error_set (err, errno, "set uid %u", spec->uid);
  if (hutch_caps_apply (spec, err) < 0)
    return -1;
  return 0;
}

int
hutch_child_take_pty (int master, unsigned short rows, unsigned short cols, int sock,
                      hutch_error_t *err)
{
  _cleanup_close_ int slave = -1;
  struct winsize ws = { 0 };
  struct hutch_msg m = { 0 };
  int unlock = 0;

  if (ioctl (master, TIOCSPTLCK, &unlock) < 0)
    return hutch_error_set (err, errno, "unlock the terminal");
  slave = ioctl (master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0)
    return hutch_error_set (err, errno, "open the terminal's slave");
  if (rows && cols)
    {
      ws.ws_row = rows;
      ws.ws_col = cols;
      ioctl (slave, TIOCSWINSZ, &ws);
    }
  /* The process's own session, with this pty as its terminal: the
     user's terminal is not its controlling one.  */
  if (setsid () < 0)
    return hutch_error_set (err, errno, "setsid");
  if (ioctl (slave, TIOCSCTTY, 0) < 0)
    return hutch_error_set (err, errno, "make the terminal the controlling one");
  if (dup2 (slave, 0) < 0 || dup2 (slave, 1) < 0 || dup2 (slave, 2) < 0)
    return hutch_error_set (err, errno, "dup2 the terminal");
  m.type = HUTCH_MSG_PTY;
  if (hutch_msg_send (sock, &m, master) < 0)
    return hutch_error_set (err, errno, "send the terminal to hutch");
  return 0;
}

static int
open_terminal (struct hutch_child_ctx *c, hutch_error_t *err)
{
  _cleanup_close_ int master = -1;

  /* The pty comes from the container's own devpts instance, so the process
     sees a /dev/pts/N that exists inside; the master goes to hutch.  */
  master = open ("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0)
    return hutch_error_set (err, errno,
                            "open /dev/pts/ptmx in the container (is /dev/pts mounted?)");
  return hutch_child_take_pty (master, c->rows, c->cols, c->sock, err);
}

/* Look PROGRAM up in PATH the way a shell does; remember EACCES so that a
   program that exists but cannot run gives 126, not 127.  */
int
hutch_child_exec_program (const struct hutch_spec *spec, char **argv, hutch_error_t *err)
{
  const char *prog = argv[0];
  const char *path = hutch_spec_getenv (spec, "PATH");
  _cleanup_free_ char *copy = NULL;
  char *save = NULL, *dir;
  int seen_eacces = 0, other = 0;

  if (strchr (prog, '/'))
    {
      execve (prog, argv, spec->env);
      if (errno == ENOENT)
        return hutch_error_set_exit (err, HUTCH_EXIT_NOT_FOUND, 0,
                                     "`%s`: no such file or directory in the container", prog);
      return hutch_error_set_exit (err, HUTCH_EXIT_CANNOT_EXEC, errno, "cannot execute `%s`", prog);
    }
  copy = hutch_xstrdup (path ? path
                             : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  for (dir = strtok_r (copy, ":", &save); dir; dir = strtok_r (NULL, ":", &save))
    {
      _cleanup_free_ char *cand = hutch_xasprintf ("%s/%s", *dir ? dir : ".", prog);
      execve (cand, argv, spec->env);
      if (errno == EACCES)
        seen_eacces = 1;
      else if (errno != ENOENT && errno != ENOTDIR)
        other = errno;
    }
  if (other)
    return hutch_error_set_exit (err, HUTCH_EXIT_CANNOT_EXEC, other, "cannot execute `%s`", prog);
  if (seen_eacces)
    return hutch_error_set_exit (err, HUTCH_EXIT_CANNOT_EXEC, EACCES, "cannot execute `%s`", prog);
  return hutch_error_set_exit (err, HUTCH_EXIT_NOT_FOUND, 0,
                               "`%s`: executable file not found in $PATH in the container", prog);
}

int
hutch_child_find_program (const struct hutch_spec *spec, const char *prog, hutch_error_t *err)
{
  const char *path = hutch_spec_getenv (spec, "PATH");
  _cleanup_free_ char *copy = NULL;
  char *save = NULL, *dir;
  bool seen = false;

  if (strchr (prog, '/'))
    {
      if (access (prog, X_OK) == 0)
        return 0;
      if (errno == ENOENT || errno == ENOTDIR)
        return hutch_error_set_exit (err, HUTCH_EXIT_NOT_FOUND, 0,
                                     "`%s`: no such file or directory in the container", prog);
      return hutch_error_set_exit (err, HUTCH_EXIT_CANNOT_EXEC, errno, "cannot execute `%s`", prog);
    }
  copy = hutch_xstrdup (path ? path
                             : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  for (dir = strtok_r (copy, ":", &save); dir; dir = strtok_r (NULL, ":", &save))
    {
      _cleanup_free_ char *cand = hutch_xasprintf ("%s/%s", *dir ? dir : ".", prog);
      struct stat st;
      if (stat (cand, &st) < 0 || S_ISDIR (st.st_mode))
        continue;
      if (access (cand, X_OK) == 0)
        return 0;
      seen = true;
    }
  if (seen)
    return hutch_error_set_exit (err, HUTCH_EXIT_CANNOT_EXEC, EACCES, "cannot execute `%s`", prog);
  return hutch_error_set_exit (err, HUTCH_EXIT_NOT_FOUND, 0,
                               "`%s`: executable file not found in $PATH in the container", prog);
}

/* B's pid in the host's PID namespace (P says it with GO; getpid says 1
   here), for the state that hooks read.  */
static pid_t b_host_pid;

/* B's root: a mount namespace of its own, the root filesystem built and
   pivoted into, and the working directory opened inside it.  */
static int
b_root (const struct hutch_spec *spec, int *ret_cwdfd, hutch_error_t *err)
{
  struct hutch_rootfs rfs;
  _cleanup_close_ int rootfd = -1;
  int r;

  if (!spec->ns[HUTCH_NS_MOUNT])
    return hutch_error_set (err, 0, "a container without a mount namespace is not supported");
  /* With fuse-overlayfs, A's mount namespace holds the daemon: pivot_root
     would move every root in it, the daemon's too, and the daemon finds
     its layers by path.  So the container gets a copy of that namespace of
     its own, where the fuse mount is still there.  */
  if (spec->extra.overlay && spec->extra.overlay->driver == HUTCH_DRIVER_FUSE
      && unshare (CLONE_NEWNS) < 0)
    return hutch_error_set (err, errno, "create the container's mount namespace");
  /* Nothing we mount may propagate back to the host.  rslave (not
     rprivate) so that the host's unmounts still reach us and we do not
     keep its filesystems busy.  */
  if (mount ("", "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
    return hutch_error_set (err, errno, "make the mount namespace private");
  r = hutch_rootfs_prepare (spec, &rfs, err);
  if (r == 0)
    r = hutch_rootfs_build (spec, &rfs, err);
  /* createContainer: in the container's mount namespace, its mounts
     made, before the pivot (the hook's path is the host's).  */
  if (r == 0)
    r = hutch_hooks_run_spec (spec, HUTCH_HOOK_CREATE_CONTAINER, "creating", b_host_pid, err);
  if (r == 0)
    r = hutch_rootfs_pivot (&rfs, err);
  if (r == 0 && !spec->extra.interactive && !spec->terminal && dup2 (rfs.nullfd, 0) < 0)
    r = hutch_error_set (err, errno, "dup2");
  hutch_rootfs_close (&rfs, spec->n_mounts);
  if (r < 0)
    return r;

  /* The working directory is resolved inside the new root like every
     other path; chdir(2) would follow a symlink in the image to a magic
     link.  fchdir happens after the uid change, so the user's own
     permissions apply to it.  */
  rootfd = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return hutch_error_set (err, errno, "open the new root");
  *ret_cwdfd = hutch_walk_open_in_root (rootfd, spec->cwd, O_PATH | O_DIRECTORY, 0);
  if (*ret_cwdfd < 0)
    return hutch_error_set (err, errno, "working directory `%s` in the container", spec->cwd);
  return 0;
}

int
hutch_child_keyring_rlimits (const struct hutch_spec *spec, hutch_error_t *err)
{
  size_t i;

  /* Keyrings are not namespaced: without a session keyring of its own the
     container would inherit the caller's (pam_keyinit's, kinit's tickets)
     and, with keyctl allowed (seccomp=unconfined, --privileged), read it.
     A new anonymous one goes away with the container's processes.  A
     kernel without keys (ENOSYS) has nothing to leak.  hutch-oci
     --no-new-keyring keeps the caller's, as its caller asked.  */
  if (!spec->extra.no_new_keyring
      && syscall (SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, NULL) < 0 && errno != ENOSYS)
    return hutch_error_set (err, errno,
                            errno == EDQUOT
                                ? "create the container's session keyring (your quota of keys "
                                  "is used up: raise the sysctl kernel.keys.maxkeys)"
                                : "create the container's session keyring");
  for (i = 0; i < spec->n_rlimits; i++)
    {
      struct rlimit rl = { spec->rlimits[i].soft, spec->rlimits[i].hard };
      if (setrlimit (spec->rlimits[i].resource, &rl) < 0)
        return hutch_error_set (err, errno, "set rlimit %s",
                                hutch_rlimit_name (spec->rlimits[i].resource));
    }
  return 0;
}

/* What the kernel keeps per process or namespace and does not isolate by
   itself: the keyring, the hostname, lo, the rlimits.  */
static int
b_kernel_state (const struct hutch_spec *spec, hutch_error_t *err)
{
  if (spec->ns[HUTCH_NS_UTS] && spec->hostname
      && sethostname (spec->hostname, strlen (spec->hostname)) < 0)
    return hutch_error_set (err, errno, "set the hostname");
  if (spec->ns[HUTCH_NS_NET] && loopback_up (err) < 0)
    return -1;
  return hutch_child_keyring_rlimits (spec, err);
}

/* Last: the terminal or a session of its own, the filter when it must
   come before the change of user, the user, the parent-death signal again,
   the working directory, no_new_privs.  */
static int
b_become_process (struct hutch_child_ctx *c, int cwdfd, hutch_error_t *err)
{
  const struct hutch_spec *spec = c->spec;

  if (spec->terminal)
    {
      if (open_terminal (c, err) < 0)
        return -1;
    }
  else if (setsid () < 0)
    /* A new session without a controlling terminal: the container cannot
       push input into the user's terminal with TIOCSTI (CVE-2017-5226).  */
    return hutch_error_set (err, errno, "setsid");

  /* Installing a filter takes no_new_privs or CAP_SYS_ADMIN.  Without
     no_new_privs (asked for with no-new-privileges=false), the capability
     is gone after set_user, so the filter comes now and the steps below
     run under it (as runc does): a profile must then allow setgroups,
     setresuid, capset, prctl, fchdir, close_range, rt_sigprocmask, sendmsg
     and execve, which the default one does.  */
  if (spec->seccomp && !spec->no_new_privileges && hutch_seccomp_install (spec->seccomp, err) < 0)
    return -1;
  if (hutch_child_set_user (spec, setgroups_denied (), err) < 0
      || hutch_devices_check_process (spec, err) < 0)
    return -1;
  /* A change of uid or gid clears the parent-death signal: arm it again.
     Should P have died in between, A (the watchdog) kills us.  */
  if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
    return hutch_error_set (err, errno, "prctl(PR_SET_PDEATHSIG)");
  if (fchdir (cwdfd) < 0)
    return hutch_error_set (err, errno, "working directory `%s`", spec->cwd);
  /* A second wall behind the resolution in the root (the CVE-2024-21626
     class).  */
  if (!hutch_cwd_in_root ())
    return hutch_error_set (err, 0, "the working directory `%s` is outside the container's root",
                            spec->cwd);
  if (spec->no_new_privileges && prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return hutch_error_set (err, errno, "prctl(PR_SET_NO_NEW_PRIVS)");
  return 0;
}

static int
child_b_setup (struct hutch_child_ctx *c, int *ret_cwdfd, hutch_error_t *err)
{
  if (b_root (c->spec, ret_cwdfd, err) < 0 || b_kernel_state (c->spec, err) < 0)
    return -1;
  return b_become_process (c, *ret_cwdfd, err);
}

/* A container that outlives its creator (hutch-oci create), once its
   root is built: tell P, which writes the container's state; stop dying
   with P once P says so (a creator killed before that leaves nothing);
   then wait on the start socket for `hutch-oci start`, whose connection
   takes the place of P's socket for the rest (GO, EXECING or ERROR).
   Runs as the container's user already: the socket was made by P and
   inherited, nothing is opened by path.  */
static void
wait_for_start (struct hutch_child_ctx *c)
{
  struct hutch_msg m = { .type = HUTCH_MSG_CREATED };
  hutch_error_t err = HUTCH_ERROR_INIT;
  int conn;

  /* A command that cannot run fails the create, where the engine looks
     for errors, as runc's; start would only see the process end.  */
  if (!c->spec->extra.init && hutch_child_find_program (c->spec, c->spec->args[0], &err) < 0)
    hutch_msg_fail (c->sock, &err);
  if (hutch_msg_send (c->sock, &m, -1) < 0 || hutch_msg_recv (c->sock, &m, NULL) != 1
      || m.type != HUTCH_MSG_RELEASE)
    _exit (HUTCH_EXIT_ERROR);
  if (prctl (PR_SET_PDEATHSIG, 0, 0, 0, 0) < 0)
    _exit (HUTCH_EXIT_ERROR);
  m = (struct hutch_msg){ .type = HUTCH_MSG_RELEASED };
  if (hutch_msg_send (c->sock, &m, -1) < 0)
    _exit (HUTCH_EXIT_ERROR);
  close (c->sock);
  c->sock = -1;
  /* Only a process that can reach the socket's path (in the runtime's
     state directory, 0700, of the user who created the container) can
     connect; a connection that does not say GO is dropped.  */
  for (;;)
    {
      conn = accept4 (c->startfd, NULL, NULL, SOCK_CLOEXEC);
      if (conn < 0)
        {
          if (errno == EINTR || errno == ECONNABORTED)
            continue;
          _exit (HUTCH_EXIT_ERROR);
        }
      if (hutch_msg_recv (conn, &m, NULL) == 1 && m.type == HUTCH_MSG_GO)
        {
          b_host_pid = m.pid;
          break;
        }
      close (conn);
    }
  close (c->startfd);
  c->startfd = -1;
  c->sock = conn;
}

static void __attribute__ ((noreturn)) child_b (struct hutch_child_ctx *c)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_msg m = { 0 };
  int npreserve = c->spec->extra.preserve_fds > 0 ? c->spec->extra.preserve_fds : 0;
  _cleanup_free_ int *keep = hutch_xmalloc0 ((size_t)(npreserve + 4) * sizeof (int));
  int cwdfd = -1, i;

  /* Whatever the user's shell left open must not reach the container, not
     even as /proc/self/fd/N during setup, where a magic link to a host
     directory would lead out of the root (the CVE-2024-21626 class).  The
     fds the caller of hutch-oci named with --preserve-fds are the
     exception it asked for, as runc's.  */
  keep[0] = c->sock;
  keep[1] = c->initfd >= 0 ? c->initfd : c->sock;
  keep[2] = c->cgroupfd >= 0 ? c->cgroupfd : c->sock;
  keep[3] = c->startfd >= 0 ? c->startfd : c->sock;
  for (i = 0; i < npreserve; i++)
    keep[4 + i] = 3 + i;
  hutch_close_all_but (keep, (size_t)npreserve + 4);
  /* B is P's child (CLONE_PARENT): die with it.  The round trip below
     proves P was still alive after the signal was armed.  */
  if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
    _exit (HUTCH_EXIT_ERROR);
  /* Into the container's cgroup before anything of the container runs
     (clone3 may have put us there already), then a cgroup namespace
     whose root is that cgroup: the container sees itself as `/` and
     cannot name, let alone write, the cgroups above.  The host's cgroup
     directory fd goes before anything of the container's is opened.  */
  bool own_cgroup = c->cgroupfd >= 0;
  if (own_cgroup)
    {
      if (!c->in_cgroup && hutch_cgroup_join (c->cgroupfd, &err) < 0)
        hutch_msg_fail (c->sock, &err);
      close (c->cgroupfd);
      c->cgroupfd = -1;
    }
  /* A container with a cgroup of its own always gets the namespace, also
     when a config.json leaves it out: without it, a cgroup mount inside
     would show (and with CAP_SYS_ADMIN, let it write) the user's whole
     delegated tree.  */
  if ((c->spec->ns[HUTCH_NS_CGROUP] || own_cgroup) && unshare (CLONE_NEWCGROUP) < 0)
    {
      hutch_error_set (&err, errno, "create the container's cgroup namespace");
      hutch_msg_fail (c->sock, &err);
    }
  m.type = HUTCH_MSG_ARMED;
  if (hutch_msg_send (c->sock, &m, -1) < 0 || hutch_msg_recv (c->sock, &m, NULL) != 1
      || m.type != HUTCH_MSG_GO)
    _exit (HUTCH_EXIT_ERROR);
  b_host_pid = m.pid;

  if (child_b_setup (c, &cwdfd, &err) < 0)
    hutch_msg_fail (c->sock, &err);
  if (c->spec->extra.outlive)
    wait_for_start (c);
  /* startContainer: started, in the container, before the exec.  */
  if (hutch_hooks_run_spec (c->spec, HUTCH_HOOK_START_CONTAINER, "created", b_host_pid, &err) < 0)
    hutch_msg_fail (c->sock, &err);

  /* No fd of hutch's reaches the process: everything above 2 is marked
     close-on-exec (the socket too, which tells P that exec happened),
     but those the caller asked to preserve.  */
  if (hutch_close_range (3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    {
      for (i = 3; i < 1024; i++)
        fcntl (i, F_SETFD, FD_CLOEXEC);
    }
  for (i = 0; i < npreserve; i++)
    fcntl (3 + i, F_SETFD, 0);
  for (i = 1; i < NSIG; i++)
    signal (i, SIG_DFL);
  m = (struct hutch_msg){ .type = HUTCH_MSG_EXECING };
  hutch_msg_send (c->sock, &m, -1);
  sigprocmask (SIG_SETMASK, &c->oldmask, NULL);
  /* The filter, last, so that only exec runs under it (and the search of
     PATH).  P keeps reading after EXECING: a failure here, or exec's,
     still reaches it as an error.  */
  if (c->spec->seccomp && c->spec->no_new_privileges
      && hutch_seccomp_install (c->spec->seccomp, &err) < 0)
    hutch_msg_fail (c->sock, &err);

  if (c->spec->extra.init)
    {
      size_t n = hutch_strv_len (c->spec->args), k;
      char **argv = hutch_xmalloc0 ((n + 3) * sizeof (char *));
      argv[0] = (char *)"hutch-init";
      argv[1] = (char *)"--";
      for (k = 0; k < n; k++)
        argv[k + 2] = c->spec->args[k];
      syscall (SYS_execveat, c->initfd, "", argv, c->spec->env, AT_EMPTY_PATH);
      hutch_error_set (&err, errno, "execute hutch-init");
      hutch_msg_fail (c->sock, &err);
    }
  hutch_child_exec_program (c->spec, c->spec->args, &err);
  hutch_msg_fail (c->sock, &err);
}

/* After B exists, A stays as a watchdog: when P dies (the pipe whose only
   writer is P hangs up), it kills B through a pidfd.  B's own parent-death
   signal does the same, but the kernel clears that one whenever the
   process changes its credentials (su-exec, gosu, a setuid program
   without no_new_privs); the watchdog holds whatever B does.  */
static void __attribute__ ((noreturn))
watchdog (const struct hutch_child_ctx *c, int pidfd, pid_t fuse, int cgparentfd, int dirparentfd)
{
  const struct hutch_spec *spec = c->spec;
  int watchfd = c->watchfd;
  bool p_died = false;

  for (;;)
    {
      struct pollfd pfd[2] = { { pidfd, POLLIN, 0 }, { watchfd, POLLIN, 0 } };
      if (poll (pfd, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      if (pfd[0].revents)
        {
          /* B is gone: nothing to watch.  When P died at the same moment
             (B's parent-death signal), the cgroup is ours to remove.  */
          struct pollfd w = { watchfd, POLLIN, 0 };
          p_died = poll (&w, 1, 0) > 0;
          break;
        }
      if (pfd[1].revents)
        {
          syscall (SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
          p_died = true;
          break;
        }
    }
  /* hutch removes the container's cgroup after reading its OOM count;
     when hutch died, nobody else will.  Through fds opened before the
     pivot_root, which moved our root too when we share B's mount
     namespace.  */
  if (p_died && cgparentfd >= 0)
    {
      const char *name = strrchr (c->cgroup_path, '/');
      hutch_cgroup_remove_at (cgparentfd, name ? name + 1 : c->cgroup_path);
    }
  /* The fuse-overlayfs process serves the container's root and lives in
     its mount namespace, which it would keep alive: it ends here.  */
  if (fuse > 0)
    {
      kill (fuse, SIGKILL);
      while (waitpid (fuse, NULL, 0) < 0 && errno == EINTR)
        ;
    }
  /* The container's own directory (its upper layer) holds files of
     subordinate ids: we are root of the namespace that maps them, so the
     removal costs nothing here, where hutch would need a namespace of its
     own.  hutch removes what is left, should we fail.  */
  /* Through the fd of its parent, opened before B's pivot_root: when we
     share B's mount namespace, that moved our root too, and the path would
     be looked up in the container's root, through its symlinks.  */
  if (spec->extra.container_dir && dirparentfd >= 0)
    {
      hutch_error_t e = HUTCH_ERROR_INIT;
      const char *name = strrchr (spec->extra.container_dir, '/');
      if (spec->extra.overlay && spec->extra.overlay->mountpoint)
        umount2 (spec->extra.overlay->mountpoint, MNT_DETACH | UMOUNT_NOFOLLOW);
      /* A container that outlives its run (not --rm) keeps its upper
         layer for the next start, diff, commit and cp; hutch rm removes
         it.  */
      if (!spec->extra.keep_container_dir)
        hutch_walk_remove_tree (dirparentfd, name ? name + 1 : spec->extra.container_dir, &e);
      hutch_error_clear (&e);
    }
  _exit (0);
}

/* Start fuse-overlayfs in A's new mount namespace (B shares it) and wait
   until its mount is there.  It runs in the foreground as A's child, dies
   with A (PR_SET_PDEATHSIG), and is killed by the watchdog when B ends.  */
static pid_t
start_fuse (const struct hutch_overlay *ov, hutch_error_t *err)
{
  _cleanup_free_ char *opts = NULL, *lower = hutch_xstrdup ("");
  int errpipe[2];
  pid_t pid;
  size_t i;
  int k;

  for (i = 0; ov->lower[i]; i++)
    {
      char *next = hutch_xasprintf ("%s%s%s", lower, i ? ":" : "", ov->lower[i]);
      free (lower);
      lower = next;
    }
  opts = ov->upper
             ? hutch_xasprintf ("lowerdir=%s,upperdir=%s,workdir=%s", lower, ov->upper, ov->work)
             : hutch_xasprintf ("lowerdir=%s", lower);
  if (pipe2 (errpipe, O_CLOEXEC) < 0)
    return hutch_error_set (err, errno, "pipe");
  pid = fork ();
  if (pid < 0)
    return hutch_error_set (err, errno, "fork fuse-overlayfs");
  if (pid == 0)
    {
      char *argv[] = { ov->fuse_program, (char *)"-f", (char *)"-o", opts, ov->mountpoint, NULL };
      int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
      prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
      dup2 (errpipe[1], 2);
      /* Nothing of the container's stdio (a monitor's log pipes, which
         would not see their end while the daemon holds them) nor of the
         caller's other fds.  */
      if (null >= 0)
        {
          dup2 (null, 0);
          dup2 (null, 1);
        }
      syscall (SYS_close_range, 3U, ~0U, 0U);
      execv (ov->fuse_program, argv);
      _exit (127);
    }
  close (errpipe[1]);
  /* Wait (at most 10 s) for the mount, or for fuse-overlayfs to give up.  */
  for (k = 0; k < 10000; k++)
    {
      struct statfs sfs;
      int st;
      if (statfs (ov->mountpoint, &sfs) == 0 && sfs.f_type == 0x65735546 /* FUSE_SUPER_MAGIC */)
        {
          close (errpipe[0]);
          return pid;
        }
      if (waitpid (pid, &st, WNOHANG) == pid)
        {
          _cleanup_free_ char *text = NULL;
          hutch_error_t e = HUTCH_ERROR_INIT;
          size_t len;
          if (hutch_read_fd (errpipe[0], 65536, &text, NULL, &e) < 0)
            hutch_error_clear (&e);
          close (errpipe[0]);
          len = text ? strlen (text) : 0;
          while (len && text[len - 1] == '\n')
            text[--len] = '\0';
          return hutch_error_set (err, 0, "fuse-overlayfs failed to mount the root filesystem (%s)",
                                  len ? text : "no message");
        }
      usleep (1000);
    }
  kill (pid, SIGKILL);
  waitpid (pid, NULL, 0);
  close (errpipe[0]);
  return hutch_error_set (err, ETIMEDOUT, "fuse-overlayfs did not mount the root filesystem");
}

/* A's namespaces (all but the cgroup namespace, which is B's own once B
   is in its cgroup, and the PID namespace, which only B's children see),
   and fuse-overlayfs in them when the root needs it: its pid, or -1.
   Failures end A after telling P.  */
static pid_t
a_namespaces (struct hutch_child_ctx *c)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  const struct hutch_spec *spec = c->spec;
  pid_t fuse = -1;
  int flags = 0;

  if (spec->ns[HUTCH_NS_MOUNT])
    flags |= CLONE_NEWNS;
  if (spec->ns[HUTCH_NS_UTS])
    flags |= CLONE_NEWUTS;
  if (spec->ns[HUTCH_NS_IPC])
    flags |= CLONE_NEWIPC;
  if (spec->ns[HUTCH_NS_NET])
    flags |= CLONE_NEWNET;
  /* The cgroup namespace is B's own, made once B is in its cgroup.  */
  if (unshare (flags) < 0)
    {
      hutch_error_set (&err, errno, "create the container's namespaces");
      hutch_msg_fail (c->sock, &err);
    }
  if (spec->extra.overlay && spec->extra.overlay->driver == HUTCH_DRIVER_FUSE)
    {
      /* Our mounts stay in this namespace: no propagation to the host.  */
      if (mount ("", "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
        {
          hutch_error_set (&err, errno, "make the mount namespace private");
          hutch_msg_fail (c->sock, &err);
        }
      fuse = start_fuse (spec->extra.overlay, &err);
      if (fuse < 0)
        hutch_msg_fail (c->sock, &err);
    }
  if (spec->ns[HUTCH_NS_PID] && unshare (CLONE_NEWPID) < 0)
    {
      hutch_error_set (&err, errno, "create the PID namespace");
      hutch_msg_fail (c->sock, &err);
    }
  return fuse;
}

/* B, as P's child (CLONE_PARENT), in the container's cgroup when it has
   one.  Returns B's pid in A, 0 in B; failures end A after telling P.  */
static pid_t
clone_b (struct hutch_child_ctx *c)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  pid_t b = -1;

  if (c->cgroupfd >= 0)
    {
      /* Straight into the container's cgroup (Linux 5.7): B never runs a
         moment in ours, and the move cannot fail halfway.  */
      /* exit_signal stays 0: with CLONE_PARENT the kernel takes ours
         (SIGCHLD) and refuses any other.  Kernels before 5.7 do not know
         the cgroup field (E2BIG), before 5.3 clone3 at all (ENOSYS).  */
      struct clone_args args
          = { .flags = CLONE_PARENT | CLONE_INTO_CGROUP, .cgroup = (uint64_t)c->cgroupfd };
      b = (pid_t)syscall (SYS_clone3, &args, sizeof args);
      if (b >= 0)
        c->in_cgroup = true;
      else if (errno != ENOSYS && errno != E2BIG)
        {
          hutch_error_set (&err, errno,
                           "start the container's process in its cgroup %s (the kernel refused "
                           "clone3 into it; is the cgroup still there, and not threaded?)",
                           c->cgroup_path);
          hutch_msg_fail (c->sock, &err);
        }
    }
  if (!c->in_cgroup)
    b = (pid_t)syscall (SYS_clone, CLONE_PARENT | SIGCHLD, 0, NULL, NULL, 0);
  if (b < 0)
    {
      hutch_error_set (&err, errno, "clone the container's process");
      hutch_msg_fail (c->sock, &err);
    }
  return b;
}

void
hutch_child_main (struct hutch_child_ctx *c)
{
  struct hutch_msg m = { 0 };
  int pidfd, cgparentfd = -1, dirparentfd = -1, null;
  pid_t b, fuse;

  if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid () != c->parent)
    _exit (HUTCH_EXIT_ERROR);
  if (hutch_msg_recv (c->sock, &m, NULL) != 1 || m.type != HUTCH_MSG_MAPS_OK)
    _exit (HUTCH_EXIT_ERROR);
  /* The watchdog-to-be in a session of its own: a signal to hutch's
     process group (timeout(1), a shell's job control) must not end it
     with hutch, or nobody is left to remove the container's cgroup.  Its
     parent directory, kept from now on: should hutch die before B exists,
     B fails its handshake and the watchdog still cleans up.  */
  setsid ();
  prctl (PR_SET_PDEATHSIG, 0, 0, 0, 0);
  if (c->cgroupfd >= 0)
    cgparentfd = openat (c->cgroupfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  /* The container's directory's parent (STORE/containers), in the host's
     view, for the watchdog's removal.  */
  if (c->spec->extra.container_dir)
    {
      _cleanup_free_ char *parent = hutch_xstrdup (c->spec->extra.container_dir);
      char *slash = strrchr (parent, '/');
      if (slash && slash != parent)
        {
          *slash = '\0';
          dirparentfd = open (parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
    }

  /* The host's /dev/null, opened before B exists: once B has pivoted,
     a path here may be looked up in the container's root (when A shares
     its mount namespace), where the container decides what it is.  */
  null = open ("/dev/null", O_RDWR | O_CLOEXEC);
  fuse = a_namespaces (c);
  b = clone_b (c);
  if (b == 0)
    {
      close (c->watchfd);
      c->watchfd = -1;
      child_b (c);
    }
  if (c->startfd >= 0)
    close (c->startfd);
  m = (struct hutch_msg){ .type = HUTCH_MSG_PID, .pid = b };
  if (c->spec->extra.outlive)
    {
      /* Nothing to watch: the container is meant to outlive its creator,
         and whoever reaps it (containerd's shim, conmon, a subreaper)
         cleans up after it with hutch-oci delete.  B keeps the namespaces
         alive.  */
      hutch_msg_send (c->sock, &m, -1);
      _exit (0);
    }
  pidfd = (int)syscall (SYS_pidfd_open, b, 0);
  hutch_msg_send (c->sock, &m, -1);
  if (pidfd < 0 && fuse < 0)
    _exit (0); /* no pidfd (Linux < 5.3): B's parent-death signal only */
  if (pidfd < 0)
    {
      /* fuse-overlayfs must outlive B, and be stopped after it: that needs
         the watchdog, and the watchdog needs a pidfd.  */
      kill (b, SIGKILL);
      _exit (HUTCH_EXIT_ERROR);
    }
  /* The watch pipe, not the parent-death signal (cleared above), tells us
     that P died: we must outlive P to act on it.  */
  {
    int keep[4] = { c->watchfd, pidfd, cgparentfd >= 0 ? cgparentfd : pidfd,
                    dirparentfd >= 0 ? dirparentfd : pidfd };
    /* B has its stdio; the watchdog lets go of them, so that whoever
       reads the container's output sees its end when the container's
       own processes are gone.  */
    if (null >= 0)
      {
        dup2 (null, 0);
        dup2 (null, 1);
        dup2 (null, 2);
        close (null);
      }
    hutch_close_all_but (keep, 4);
  }
  watchdog (c, pidfd, fuse, cgparentfd, dirparentfd);
}

pid_t
hutch_overlay_start_fuse (const struct hutch_overlay *ov, hutch_error_t *err)
{
  return start_fuse (ov, err);
}
