/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* `hutch exec`: another process in a running container.

   P  hutch exec (the user's process)     host namespaces, host cgroup
   │  pidfd of the container's first process, its start time checked
   │  what differs from ours: /proc/PID/ns/NAME, /proc/PID/setgroups
   │  the container's cgroup opened
   └─ E1  not dumpable, every fd closed but the few below
      │   setns(pidfd, USER|NS|PID|UTS|IPC|NET): its namespaces, user first
      │   clone3(CLONE_INTO_CGROUP [|CLONE_PARENT])
      E2  PID N of the container, in its cgroup: setns(pidfd, CGROUP),
          the process's attributes as child.c gives B its own, exec

   E2 is P's own child (CLONE_PARENT): P waits for it, forwards signals
   and copies its terminal.  With -d, E2 forks E3 and exits at once: E3,
   orphaned inside the container's PID namespace, becomes a child of the
   container's PID 1 (the kernel reparents to the init of the dying
   parent's own PID namespace), and P returns once E3 has exec'd.

   The order of things is the security: each step says why.  The dangers
   are those of runc's exec: a process of the container that reaches the
   entering process while it still holds something of the host (its fds,
   its binary, its working directory, its memory).  */

#include "runtime/exec.h"
#include "runtime/procattr.h"
#include "runtime/container.h"
#include "runtime/sigfd.h"
#include "runtime/cgroup.h"
#include "runtime/state.h"
#include "runtime/sync.h"
#include "runtime/sysfilter.h"
#include "runtime/terminal.h"
#include "base/log.h"
#include "base/syscalls.h"
#include "base/util.h"
#include "base/walk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef DEVPTS_SUPER_MAGIC
#define DEVPTS_SUPER_MAGIC 0x1cd1
#endif

extern char **environ;

/* ---- the sealed copy --------------------------------------------------- */

/* The process that executes the command inside is, until that moment,
   hutch: its /proc/PID/exe leads to hutch's binary.  It is not dumpable
   (below), so no other process can open that link; but the process
   itself can, and the kernel does so for it when the command is a
   script whose interpreter is `#!/proc/self/exe`.  hutch's binary would
   then run inside the container, as the container's process, dumpable
   again: another process of the container could open its
   /proc/PID/exe, and once nothing runs it, write to it (CVE-2019-5736).
   A hutch in the user's own ~/.local/bin is the user's, and the
   container's root is the user: the user's next hutch would run the
   container's code.  So the exec runs from a copy in a memfd sealed
   against writing (as runc does): what the container can reach is that
   copy, which no one can change, and the binary on disk is never opened
   inside.  */

static bool
self_is_sealed (void)
{
  _cleanup_close_ int fd = open ("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  int seals = fd >= 0 ? fcntl (fd, F_GET_SEALS) : -1;
  return seals >= 0 && (seals & F_SEAL_WRITE) && (seals & F_SEAL_SEAL);
}

/* The command line as the kernel recorded it: argv, whatever the
   program did to its own pointers since.  */
static char **
own_cmdline (void)
{
  _cleanup_free_ char *buf = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;
  char **argv = hutch_xmalloc0 (sizeof (char *));
  size_t len = 0, i = 0;

  if (hutch_read_file ("/proc/self/cmdline", 1 << 24, &buf, &len, &e) < 0)
    {
      hutch_error_clear (&e);
      free (argv);
      return NULL;
    }
  while (i < len)
    {
      hutch_strv_push (&argv, hutch_xstrdup (buf + i));
      i += strlen (buf + i) + 1;
    }
  return argv;
}

int
hutch_exec_seal_self (hutch_error_t *err)
{
  _cleanup_strv_ char **argv = NULL;
  int fd, e;

  /* First, before exec opens anything: a closed fd 0, 1 or 2 gets
     /dev/null, or the next fd opened (the container's directory, the
     socket to E2) would take its number and be given to the command as
     its stdio.  Not close-on-exec: it is stdio.  */
  for (fd = 0; fd < 3; fd++)
    if (fcntl (fd, F_GETFD) < 0 && errno == EBADF
        && open ("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
      return hutch_error_set (err, errno, "/dev/null");
  if (self_is_sealed ())
    return 0;
  argv = own_cmdline ();
  if (argv == NULL || argv[0] == NULL)
    return hutch_error_set (err, errno, "read hutch's own command line");
  fd = hutch_sealed_copy ("/proc/self/exe", "hutch");
  if (fd >= 0)
    {
      syscall (SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
      e = errno;
      close (fd);
      errno = e;
    }
  /* No sealed copy (vm.memfd_noexec=2 refuses to execute one): only a
     binary that the user cannot write is safe to have inside.  */
  e = errno;
  if (access ("/proc/self/exe", W_OK) < 0 && errno == EACCES)
    return 0;
  return hutch_error_set (
      err, e,
      "cannot run hutch exec from a sealed copy of hutch (is vm.memfd_noexec 2?), "
      "and the hutch binary is yours to write: a process of the container "
      "could replace it (CVE-2019-5736); install hutch where you cannot write "
      "it (e.g. by your administrator in /usr/local/bin)");
}

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* ---- what P learns before anything joins ------------------------------- */

static const struct
{
  const char *file; /* in /proc/PID/ns */
  int flag;
} ns_files[HUTCH_NS_COUNT] = {
  [HUTCH_NS_USER] = { "user", CLONE_NEWUSER },       [HUTCH_NS_MOUNT] = { "mnt", CLONE_NEWNS },
  [HUTCH_NS_PID] = { "pid", CLONE_NEWPID },          [HUTCH_NS_UTS] = { "uts", CLONE_NEWUTS },
  [HUTCH_NS_IPC] = { "ipc", CLONE_NEWIPC },          [HUTCH_NS_NET] = { "net", CLONE_NEWNET },
  [HUTCH_NS_CGROUP] = { "cgroup", CLONE_NEWCGROUP }, [HUTCH_NS_TIME] = { "time", CLONE_NEWTIME },
};

/* One exec: what P hands E1 and E2 (copied by fork), and what P keeps.  */
struct exec_run
{
  const struct hutch_exec *x;
  const struct hutch_spec *spec;
  int pidfd;                 /* of the container's first process */
  int nsfd[HUTCH_NS_COUNT];  /* its namespaces that are not ours (for setns without a pidfd) */
  int flags;                 /* CLONE_NEW* of those */
  bool setgroups_denied;     /* its user namespace's /proc/PID/setgroups */
  int cgroupfd;              /* its cgroup, or -1 */
  int nullfd;                /* /dev/null */
  int sock;                  /* the children's end of the socket */
  unsigned short rows, cols; /* P's terminal, for the pty */
  struct hutch_sigfd sig;    /* the signals taken, their fd */
  /* P's own */
  int psock, master;
  pid_t e1, e2;
  int e2_status;
  bool e2_done;
};

static int
not_running (const struct hutch_exec *x, hutch_error_t *err)
{
  return hutch_error_set (err, 0,
                          "the container is not running (its process %d is gone); start it "
                          "first (hutch start)",
                          (int)x->pid);
}

/* The container's first process, by a pidfd: the pid is checked against
   the start time the state recorded after the pidfd exists, so that the
   pidfd cannot be another process's that got the pid later.  From then
   on, what the pidfd names cannot change.  */
static int
open_pidfd (struct exec_run *r, hutch_error_t *err)
{
  const struct hutch_exec *x = r->x;

  if (x->pid <= 0)
    return not_running (x, err);
  r->pidfd = (int)syscall (SYS_pidfd_open, x->pid, 0);
  if (r->pidfd < 0)
    {
      if (errno == ESRCH)
        return not_running (x, err);
      return hutch_error_set (err, errno, "pidfd_open of the container's process (Linux 5.3)");
    }
  if (x->pid_start == 0 || hutch_state_pid_start (x->pid) != x->pid_start)
    return not_running (x, err);
  return 0;
}

/* The namespaces the container has of its own (compared with ours, so
   that a shared one, --network host, is not joined), and whether its
   user namespace denies setgroups: read on the host's /proc, before
   anything is joined, since the container's /proc is its own to fake.
   Checked against the pidfd afterwards: while the process is alive, the
   pid was its own when we read.  */
static int
read_namespaces (struct exec_run *r, hutch_error_t *err)
{
  _cleanup_free_ char *dir = hutch_xasprintf ("/proc/%d", (int)r->x->pid);
  _cleanup_close_ int procfd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  char buf[16] = "";
  int n, fd;

  if (procfd < 0)
    return not_running (r->x, err);
  for (n = 0; n < HUTCH_NS_COUNT; n++)
    {
      _cleanup_free_ char *self = hutch_xasprintf ("/proc/self/ns/%s", ns_files[n].file);
      _cleanup_free_ char *theirs = hutch_xasprintf ("ns/%s", ns_files[n].file);
      struct stat a, b;

      if (stat (self, &a) < 0)
        {
          /* a kernel without this kind of namespace: nothing to join */
          if (errno == ENOENT)
            continue;
          return hutch_error_set (err, errno, "%s", self);
        }
      r->nsfd[n] = openat (procfd, theirs, O_RDONLY | O_CLOEXEC);
      if (r->nsfd[n] < 0 || fstat (r->nsfd[n], &b) < 0)
        return errno == ENOENT || errno == ESRCH
                   ? not_running (r->x, err)
                   : hutch_error_set (err, errno, "the container's %s namespace", ns_files[n].file);
      if (a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        {
          close (r->nsfd[n]);
          r->nsfd[n] = -1;
          continue;
        }
      r->flags |= ns_files[n].flag;
    }
  /* Entering a container's processes, never the host's root: a container
     of hutch always has a mount namespace of its own.  */
  if (!(r->flags & CLONE_NEWNS))
    return hutch_error_set (err, 0,
                            "process %d shares hutch's mount namespace: it is no container's "
                            "process",
                            (int)r->x->pid);
  fd = openat (procfd, "setgroups", O_RDONLY | O_CLOEXEC);
  if (fd >= 0)
    {
      if (read (fd, buf, sizeof buf - 1) < 0)
        buf[0] = '\0';
      close (fd);
    }
  r->setgroups_denied = strncmp (buf, "deny", 4) == 0;
  /* Still alive: then the pid was its own throughout.  */
  if (syscall (SYS_pidfd_send_signal, r->pidfd, 0, NULL, 0) < 0 && errno == ESRCH)
    return not_running (r->x, err);
  return 0;
}

/* The process's spec: the container's, with the exec's own overrides.  */
static int
apply_overrides (const struct hutch_exec *x, hutch_error_t *err)
{
  struct hutch_spec *spec = x->spec;
  size_t i;

  hutch_strv_free (spec->args);
  spec->args = hutch_strv_dup (x->argv);
  spec->terminal = x->tty;
  if (x->workdir)
    {
      if (x->workdir[0] != '/')
        return hutch_error_set (err, 0,
                                "-w `%s`: the working directory must be an absolute path in "
                                "the container",
                                x->workdir);
      free (spec->cwd);
      spec->cwd = hutch_xstrdup (x->workdir);
    }
  if (x->has_user)
    {
      spec->uid = x->uid;
      spec->gid = x->gid;
      free (spec->additional_gids);
      spec->additional_gids = hutch_xmalloc0 ((x->n_groups + 1) * sizeof (unsigned int));
      for (i = 0; i < x->n_groups; i++)
        spec->additional_gids[i] = x->groups[i];
      spec->n_additional_gids = x->n_groups;
      /* another user's groups are named: the caller's are not kept */
      spec->extra.keep_groups = false;
      hutch_kv_set (&spec->annotations, &spec->n_annotations, "run.oci.keep_original_groups", "0");
      if (x->home)
        {
          _cleanup_free_ char *h = hutch_xasprintf ("HOME=%s", x->home);
          hutch_spec_setenv (spec, h);
        }
    }
  if (x->tty && hutch_spec_getenv (spec, "TERM") == NULL)
    hutch_spec_setenv (spec, "TERM=xterm");
  for (i = 0; x->env && x->env[i]; i++)
    hutch_spec_setenv (spec, x->env[i]);
  /* --privileged: what the container's bounding set holds, and nothing
     above it: the bounding set is the ceiling set when the container
     started, which no process inside can raise.  Another user than root
     keeps them over its execve through the ambient set.  */
  if (x->privileged && spec->has_caps)
    {
      char ***sets[] = { &spec->cap_effective, &spec->cap_permitted, &spec->cap_inheritable,
                         &spec->cap_ambient };
      for (i = 0; i < sizeof sets / sizeof sets[0]; i++)
        {
          hutch_strv_free (*sets[i]);
          *sets[i] = i < 2 || spec->uid != 0 ? hutch_strv_dup (spec->cap_bounding)
                                             : hutch_xmalloc0 (sizeof (char *));
        }
    }
  return 0;
}

/* fds 0, 1 and 2 go to the process as they are (as hutch run's do).  A
   directory among them would be a host directory inside, from which
   openat(fd, "..") walks the host (the CVE-2024-21626 class).  */
static int
check_stdio (hutch_error_t *err)
{
  static const char *const names[] = { "standard input", "standard output", "standard error" };
  int fd;

  for (fd = 0; fd < 3; fd++)
    {
      struct stat st;
      if (fstat (fd, &st) == 0 && S_ISDIR (st.st_mode))
        return hutch_error_set (err, 0,
                                "%s is a directory: the container would get a directory of the "
                                "host; redirect it from a file or /dev/null",
                                names[fd]);
    }
  return 0;
}

/* ---- E2: becoming the process ----------------------------------------- */

/* A pty of the container's own devpts: /dev/pts/ptmx resolved inside the
   root (no symlink out, no magic link), and checked to be a ptmx of a
   devpts, not whatever the container put there for us to open with our
   capabilities and hand to hutch.  */
static int
open_pty (const struct exec_run *r, int rootfd, hutch_error_t *err)
{
  _cleanup_close_ int master = -1;
  struct statfs sfs;
  struct stat st;

  master = hutch_walk_open_in_root (rootfd, "/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_NONBLOCK, 0);
  if (master < 0)
    return hutch_error_set (err, errno,
                            "open /dev/pts/ptmx in the container for -t (is /dev/pts mounted?)");
  if (fstatfs (master, &sfs) < 0 || sfs.f_type != DEVPTS_SUPER_MAGIC || fstat (master, &st) < 0
      || !S_ISCHR (st.st_mode) || st.st_rdev != makedev (5, 2))
    return hutch_error_set (err, 0, "/dev/pts/ptmx in the container is not a devpts ptmx");
  if (fcntl (master, F_SETFL, 0) < 0)
    return hutch_error_set (err, errno, "unlock the terminal");
  return hutch_child_take_pty (master, r->rows, r->cols, r->sock, err);
}

/* stdio without -t: a session of its own without a controlling terminal,
   so that the process cannot push input into the user's terminal with
   TIOCSTI (CVE-2017-5226); /dev/null for stdin without -i, and for all
   three with -d (nobody reads them after hutch returned).  */
static int
plain_stdio (const struct exec_run *r, hutch_error_t *err)
{
  if (setsid () < 0)
    return hutch_error_set (err, errno, "setsid");
  if (!r->x->interactive || r->x->detach)
    if (dup2 (r->nullfd, 0) < 0)
      return hutch_error_set (err, errno, "dup2");
  if (r->x->detach && (dup2 (r->nullfd, 1) < 0 || dup2 (r->nullfd, 2) < 0))
    return hutch_error_set (err, errno, "dup2");
  return 0;
}

/* In the container's namespaces: the working directory, the limits, the
   terminal, the user, and the filter, in the order of B's own
   (src/runtime/child.c, b_become_process).  */
static int
become_process (struct exec_run *r, hutch_error_t *err)
{
  const struct hutch_spec *spec = r->spec;
  _cleanup_close_ int rootfd = -1, cwdfd = -1;

  /* setns(CLONE_NEWNS) made the root and the working directory those of
     the container's mount namespace: "/" here is its root.  The working
     directory is resolved inside it like a mount target (RESOLVE_IN_ROOT,
     no magic links: a symlink to /proc/self/fd/N leads nowhere), and
     entered by fd: never a path outside the root (CVE-2024-21626).  */
  rootfd = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return hutch_error_set (err, errno, "open the container's root");
  cwdfd = hutch_walk_open_in_root (rootfd, spec->cwd, O_PATH | O_DIRECTORY, 0);
  if (cwdfd < 0)
    return hutch_error_set (err, errno, "working directory `%s` in the container", spec->cwd);

  if (hutch_child_keyring_rlimits (spec, err) < 0 || hutch_child_process_attrs (spec, err) < 0)
    return -1;
  if (spec->terminal ? open_pty (r, rootfd, err) < 0 : plain_stdio (r, err) < 0)
    return -1;
  close (r->nullfd);
  r->nullfd = -1;

  /* Without no_new_privs the filter needs CAP_SYS_ADMIN, which the change
     of user drops: then it comes first (as in B, and runc).  */
  if (spec->seccomp && !spec->no_new_privileges && hutch_seccomp_install (spec->seccomp, err) < 0)
    return -1;
  if (hutch_child_set_user (spec, r->setgroups_denied, err) < 0)
    return -1;
  if (fchdir (cwdfd) < 0)
    return hutch_error_set (err, errno, "working directory `%s`", spec->cwd);
  /* A second wall behind the resolution in the root.  */
  if (!hutch_cwd_in_root ())
    return hutch_error_set (err, 0, "the working directory `%s` is outside the container's root",
                            spec->cwd);
  if (spec->no_new_privileges && prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return hutch_error_set (err, errno, "prctl(PR_SET_NO_NEW_PRIVS)");
  return 0;
}

static void __attribute__ ((noreturn)) exec_process (struct exec_run *r)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_msg m = { 0 };
  int i;

  if (become_process (r, &err) < 0)
    hutch_msg_fail (r->sock, &err);
  /* Nothing of hutch's reaches the command: everything above 2 is
     close-on-exec (the socket too: its end tells P that exec happened).  */
  if (hutch_close_range (3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    for (i = 3; i < 1024; i++)
      fcntl (i, F_SETFD, FD_CLOEXEC);
  /* but those that the caller asked to pass on (--preserve-fds) */
  for (i = 0; i < r->x->preserve_fds; i++)
    fcntl (3 + i, F_SETFD, 0);
  for (i = 1; i < NSIG; i++)
    signal (i, SIG_DFL);
  /* Should P have died meanwhile, nobody waits for the command: don't.  */
  m.type = HUTCH_MSG_EXECING;
  if (hutch_msg_send (r->sock, &m, -1) < 0)
    _exit (HUTCH_EXIT_ERROR);
  sigprocmask (SIG_SETMASK, &r->sig.oldmask, NULL);
  /* The filter last, so that only exec runs under it (and PATH's
     search).  */
  if (r->spec->seccomp && r->spec->no_new_privileges
      && hutch_seccomp_install (r->spec->seccomp, &err) < 0)
    hutch_msg_fail (r->sock, &err);
  hutch_child_exec_program (r->spec, r->spec->args, &err);
  hutch_msg_fail (r->sock, &err);
}

/* E2, in the container's PID namespace and cgroup.  */
static void __attribute__ ((noreturn)) e2_main (struct exec_run *r, bool in_cgroup)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  int n;

  /* Into the cgroup first, when clone3 could not put us there (before
     Linux 5.7), then the host's directory fd goes: it is the last fd of
     the host's besides stdio, and nothing of the container's is opened
     before it is closed.  */
  if (r->cgroupfd >= 0)
    {
      if (!in_cgroup && hutch_cgroup_join (r->cgroupfd, &err) < 0)
        hutch_msg_fail (r->sock, &err);
      close (r->cgroupfd);
      r->cgroupfd = -1;
    }
  /* The cgroup namespace after the cgroup: joined before, it would make
     our own (host) cgroup invisible, and the kernel refuses a move from
     a cgroup we cannot see (nsdelegate).  */
  if (r->flags & CLONE_NEWCGROUP)
    {
      int k = r->nsfd[HUTCH_NS_CGROUP];
      if (setns (r->pidfd, CLONE_NEWCGROUP) < 0 && (errno != EINVAL || setns (k, 0) < 0))
        {
          hutch_error_set (&err, errno, "join the container's cgroup namespace");
          hutch_msg_fail (r->sock, &err);
        }
    }
  close (r->pidfd);
  r->pidfd = -1;
  for (n = 0; n < HUTCH_NS_COUNT; n++)
    if (r->nsfd[n] >= 0)
      close (r->nsfd[n]);

  if (r->x->detach)
    {
      /* E3, the process itself; E2 goes at once, and E3 is reparented to
         the container's PID 1.  */
      pid_t e3 = fork ();
      if (e3 < 0)
        {
          hutch_error_set (&err, errno, "fork");
          hutch_msg_fail (r->sock, &err);
        }
      if (e3 > 0)
        _exit (0);
    }
  exec_process (r);
}

/* ---- E1: joining -------------------------------------------------------- */

/* Every namespace of the container's but the cgroup's, at once through
   the pidfd (Linux 5.8): the kernel takes the user namespace first and
   checks the rest with the capabilities that it gives.  Before 5.8, one
   by one through the namespace files, the user namespace first: without
   privileges it is what makes the others joinable.  */
static int
join_namespaces (struct exec_run *r, hutch_error_t *err)
{
  static const int order[]
      = { HUTCH_NS_USER, HUTCH_NS_MOUNT, HUTCH_NS_PID, HUTCH_NS_UTS, HUTCH_NS_IPC, HUTCH_NS_NET };
  int flags = r->flags & ~CLONE_NEWCGROUP;
  size_t i;

  if (setns (r->pidfd, flags) == 0)
    return 0;
  if (errno == ESRCH)
    return not_running (r->x, err);
  if (errno != EINVAL)
    return hutch_error_set (err, errno, "join the container's namespaces");
  for (i = 0; i < sizeof order / sizeof order[0]; i++)
    if (r->nsfd[order[i]] >= 0 && setns (r->nsfd[order[i]], ns_files[order[i]].flag) < 0)
      return hutch_error_set (err, errno, "join the container's %s namespace",
                              hutch_ns_name (order[i]));
  return 0;
}

static void __attribute__ ((noreturn)) e1_main (struct exec_run *r, pid_t parent)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_msg m = { 0 };
  int npreserve = r->x->preserve_fds > 0 ? r->x->preserve_fds : 0;
  _cleanup_free_ int *keep
      = hutch_xmalloc0 ((size_t)(4 + HUTCH_NS_COUNT + npreserve) * sizeof (int));
  int nkeep = 0, n;
  bool in_cgroup = false;
  pid_t e2 = -1;

  /* Not dumpable, before anything of the container can see us: a
     process of the container, root of its user namespace and of our uid
     on the host, could otherwise ptrace us, or open /proc/PID/exe (our
     binary), /proc/PID/fd (our fds) and /proc/PID/cwd (CVE-2016-9962,
     CVE-2019-5736).  The kernel keeps the flag over fork, so E2 is the
     same until its execve, and then nothing of hutch is left in it.  */
  if (prctl (PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    {
      hutch_error_set (&err, errno, "prctl(PR_SET_DUMPABLE)");
      hutch_msg_fail (r->sock, &err);
    }
  if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid () != parent)
    _exit (HUTCH_EXIT_ERROR);
  /* Every fd but stdio and what the steps below need: none of the
     user's shell's, none of hutch's (the store's locks, its directories)
     may be inside, not even as /proc/self/fd/N (CVE-2024-21626).  */
  keep[nkeep++] = r->sock;
  keep[nkeep++] = r->pidfd;
  keep[nkeep++] = r->nullfd;
  if (r->cgroupfd >= 0)
    keep[nkeep++] = r->cgroupfd;
  for (n = 0; n < HUTCH_NS_COUNT; n++)
    if (r->nsfd[n] >= 0)
      keep[nkeep++] = r->nsfd[n];
  /* The fds hutch-oci's caller named with --preserve-fds, its own
     choice (as runc's).  */
  for (n = 0; n < npreserve; n++)
    keep[nkeep++] = 3 + n;
  hutch_close_all_but (keep, (size_t)nkeep);

  if (join_namespaces (r, &err) < 0)
    hutch_msg_fail (r->sock, &err);
  for (n = 0; n < HUTCH_NS_COUNT; n++)
    if (n != HUTCH_NS_CGROUP && r->nsfd[n] >= 0)
      {
        close (r->nsfd[n]);
        r->nsfd[n] = -1;
      }

  /* A fork puts the process in the PID namespace.  Straight into the
     container's cgroup (clone3, Linux 5.7), so that it never runs a
     moment outside its limits.  Without -d it is P's child
     (CLONE_PARENT): P waits for it; exit_signal must then be 0 (the
     kernel takes ours).  */
  if (r->cgroupfd >= 0)
    {
      struct clone_args args = { .cgroup = (uint64_t)r->cgroupfd };
      args.flags = CLONE_INTO_CGROUP | (r->x->detach ? 0 : CLONE_PARENT);
      args.exit_signal = r->x->detach ? SIGCHLD : 0;
      e2 = (pid_t)syscall (SYS_clone3, &args, sizeof args);
      if (e2 >= 0)
        in_cgroup = true;
      else if (errno != ENOSYS && errno != E2BIG)
        {
          hutch_error_set (&err, errno,
                           "start the process in the container's cgroup %s (the kernel refused "
                           "clone3 into it%s)",
                           r->x->cgroup,
                           errno == EBUSY ? ": the container enabled controllers for cgroups "
                                            "of its own, and a cgroup with those holds no process"
                           : errno == EACCES || errno == EPERM || errno == ENOENT
                               ? ": run hutch exec from the login session or service that "
                                 "started the container, whose cgroup is beside it"
                               : "");
          hutch_msg_fail (r->sock, &err);
        }
    }
  if (!in_cgroup)
    e2 = (pid_t)syscall (SYS_clone, (r->x->detach ? 0 : CLONE_PARENT) | SIGCHLD, 0, NULL, NULL, 0);
  if (e2 < 0)
    {
      hutch_error_set (&err, errno, "start the process in the container");
      hutch_msg_fail (r->sock, &err);
    }
  if (e2 == 0)
    e2_main (r, in_cgroup);

  if (r->x->detach)
    {
      /* E2 is ours: it ends as soon as E3 exists.  */
      while (waitpid (e2, NULL, 0) < 0 && errno == EINTR)
        ;
      _exit (0);
    }
  m.type = HUTCH_MSG_PID;
  m.pid = e2;
  hutch_msg_send (r->sock, &m, -1);
  _exit (0);
}

/* ---- P ------------------------------------------------------------------ */

static void
reap (struct exec_run *r)
{
  for (;;)
    {
      int st;
      pid_t p = waitpid (-1, &st, WNOHANG);
      if (p <= 0)
        break;
      if (p == r->e1)
        r->e1 = -1;
      else if (p == r->e2)
        {
          r->e2 = -1;
          r->e2_status = st;
          r->e2_done = true;
        }
    }
}

/* Follow the setup to the exec: E2's pid (from E1), the pty, EXECING,
   then the end of the socket (close-on-exec: the command runs), or an
   error.  A terminating signal meanwhile ends it all: returns -2 with
   *RET_SIG.  */
static int
follow_setup (struct exec_run *r, int *ret_sig, hutch_error_t *err)
{
  bool execing = false, failed = false;

  for (;;)
    {
      struct pollfd pfd[2] = { { r->psock, POLLIN, 0 }, { r->sig.fd, POLLIN, 0 } };
      struct hutch_msg m;
      int fd = -1, k;

      if (poll (pfd, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          return hutch_error_set (err, errno, "poll");
        }
      if (pfd[1].revents & POLLIN)
        {
          struct signalfd_siginfo si;
          if (read (r->sig.fd, &si, sizeof si) == (ssize_t)sizeof si
              && hutch_sigfd_terminating ((int)si.ssi_signo))
            {
              *ret_sig = (int)si.ssi_signo;
              return -2;
            }
          continue;
        }
      if (!pfd[0].revents)
        continue;
      k = hutch_msg_recv (r->psock, &m, &fd);
      if (k < 0)
        return hutch_error_set (err, errno, "read from the process in the container");
      if (k == 0)
        {
          if (failed)
            return -1;
          if (execing)
            return 0;
          /* The container ended while we joined it (a stop, an rm -f):
             that is what to say.  */
          if (!hutch_state_pid_alive (r->x->pid, r->x->pid_start))
            return not_running (r->x, err);
          return hutch_error_set (err, 0, "the process in the container ended during setup");
        }
      if (m.type == HUTCH_MSG_PTY && fd >= 0)
        {
          if (r->master >= 0)
            close (r->master);
          r->master = fd;
          continue;
        }
      if (fd >= 0)
        close (fd);
      if (m.type == HUTCH_MSG_PID)
        r->e2 = m.pid;
      else if (m.type == HUTCH_MSG_EXECING)
        execing = true;
      else if (m.type == HUTCH_MSG_ERROR && !failed)
        {
          /* the first error is the cause; read on to the end, which
             comes at once (each process exits after its last message),
             for E2's pid, so that it is reaped */
          hutch_error_set_exit (err, m.exit_code, 0, "%s", m.text);
          err->errnum = m.errnum;
          failed = true;
        }
    }
}

/* After the user detached (-it) or with -dt: someone must hold the pty's
   master, or the process's terminal hangs up, and read it, or the
   process blocks once the pty is full.  A process of its own, in a
   session of its own, reads and drops the output until the last user of
   the pty is gone (EIO).  */
static void
hold_terminal (int master)
{
  pid_t h = fork ();

  if (h != 0)
    return;
  setsid ();
  {
    int keep[1] = { master }, null = open ("/dev/null", O_RDWR | O_CLOEXEC);
    sigset_t none;
    if (null >= 0)
      {
        dup2 (null, 0);
        dup2 (null, 1);
        dup2 (null, 2);
      }
    hutch_close_all_but (keep, 1);
    /* The terminal's signals were meant for hutch, which is gone (one may
       be pending already: ignoring drops it); SIGTERM still ends us.  */
    signal (SIGHUP, SIG_IGN);
    signal (SIGINT, SIG_IGN);
    signal (SIGQUIT, SIG_IGN);
    signal (SIGPIPE, SIG_IGN);
    sigemptyset (&none);
    sigprocmask (SIG_SETMASK, &none, NULL);
  }
  for (;;)
    {
      struct pollfd pfd = { master, POLLIN, 0 };
      char buf[4096];
      ssize_t n;
      if (poll (&pfd, 1, -1) < 0 && errno != EINTR)
        _exit (0);
      n = read (master, buf, sizeof buf);
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
        _exit (0);
    }
}

/* Until E2 is gone: signals passed on, the terminal copied.  */
static int
supervise (struct exec_run *r, bool *ret_detached, hutch_error_t *err)
{
  struct hutch_terminal_state term = { 0 };
  struct hutch_terminal_copy tc;

  *ret_detached = false;
  /* Raw mode when the user types into the process; with -t alone ^C
     stays a signal to hutch, which passes it on.  */
  if (r->master >= 0 && r->x->interactive)
    hutch_terminal_enter_raw (&term);
  hutch_terminal_copy_init (&tc, r->master, r->x->interactive);
  if (r->x->interactive)
    {
      tc.detach_keys = r->x->detach_keys;
      tc.detach_len = r->x->detach_keys ? r->x->detach_len : 0;
    }
  reap (r);
  while (!r->e2_done)
    {
      struct pollfd pfd[3];
      int n = 0, k;

      pfd[n++] = (struct pollfd){ r->sig.fd, POLLIN, 0 };
      n += hutch_terminal_copy_pollfds (&tc, &pfd[n]);
      if (poll (pfd, (nfds_t)n, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          hutch_terminal_restore (&term);
          hutch_terminal_copy_clear (&tc);
          return hutch_error_set (err, errno, "poll");
        }
      if (pfd[0].revents & POLLIN)
        {
          struct signalfd_siginfo si;
          if (read (r->sig.fd, &si, sizeof si) == (ssize_t)sizeof si)
            {
              if (si.ssi_signo == SIGCHLD)
                reap (r);
              else if (si.ssi_signo == SIGPIPE)
                ;
              else if (si.ssi_signo == SIGWINCH && r->master >= 0)
                hutch_terminal_resize (r->master);
              else if (r->e2 > 0)
                kill (r->e2, (int)si.ssi_signo);
            }
        }
      for (k = 1; k < n; k++)
        if (pfd[k].revents)
          hutch_terminal_copy_event (&tc, &pfd[k]);
      if (tc.detached)
        {
          hutch_terminal_copy_clear (&tc);
          hutch_terminal_restore (&term);
          hold_terminal (r->master);
          *ret_detached = true;
          return 0;
        }
    }
  if (r->master >= 0)
    hutch_terminal_copy_drain (&tc);
  hutch_terminal_copy_clear (&tc);
  hutch_terminal_restore (&term);
  return 0;
}

static void
run_clear (struct exec_run *r)
{
  int n;

  if (r->pidfd >= 0)
    close (r->pidfd);
  for (n = 0; n < HUTCH_NS_COUNT; n++)
    if (r->nsfd[n] >= 0)
      close (r->nsfd[n]);
  if (r->cgroupfd >= 0)
    close (r->cgroupfd);
  if (r->nullfd >= 0)
    close (r->nullfd);
  if (r->sock >= 0)
    close (r->sock);
  if (r->psock >= 0)
    close (r->psock);
  if (r->master >= 0)
    close (r->master);
  /* E1 ends by itself right after its message; E2 is killed only when it
     never ran the command (the caller cleared E2 otherwise).  */
  if (r->e2 > 0)
    {
      kill (r->e2, SIGKILL);
      while (waitpid (r->e2, NULL, 0) < 0 && errno == EINTR)
        ;
    }
  if (r->e1 > 0)
    {
      kill (r->e1, SIGKILL);
      while (waitpid (r->e1, NULL, 0) < 0 && errno == EINTR)
        ;
    }
  hutch_sigfd_release (&r->sig);
}

/* Everything P opens on the host before E1 exists.  */
static int
prepare (struct exec_run *r, hutch_error_t *err)
{
  const struct hutch_exec *x = r->x;
  int sp[2];

  if (x->argv == NULL || x->argv[0] == NULL)
    return hutch_error_set (err, 0, "no command to run");
  /* process.oomScoreAdj here, on the host's /proc: E1 and E2 inherit
     it.  */
  if (check_stdio (err) < 0 || apply_overrides (x, err) < 0 || open_pidfd (r, err) < 0
      || read_namespaces (r, err) < 0 || hutch_child_oom_score_adj (r->spec, err) < 0)
    return -1;
  /* The cgroup, opened on the host before anything is joined: from
     inside, its path would be looked up in the container's cgroup
     namespace and mount namespace.  */
  if (x->cgroup)
    {
      r->cgroupfd = open (x->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (r->cgroupfd < 0)
        return errno == ENOENT
                   ? not_running (x, err)
                   : hutch_error_set (err, errno, "the container's cgroup %s", x->cgroup);
    }
  r->nullfd = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (r->nullfd < 0)
    return hutch_error_set (err, errno, "/dev/null");
  if (x->tty && isatty (0))
    {
      struct winsize ws;
      if (ioctl (0, TIOCGWINSZ, &ws) == 0)
        {
          r->rows = ws.ws_row;
          r->cols = ws.ws_col;
        }
    }
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
    return hutch_error_set (err, errno, "socketpair");
  r->psock = sp[0];
  r->sock = sp[1];
  return hutch_sigfd_take (&r->sig, err);
}

int
hutch_container_exec (const struct hutch_exec *x, int *ret_status, hutch_error_t *err)
{
  struct exec_run r = { 0 };
  bool detached = false;
  int n, sig = 0, ret = -1;
  pid_t parent = getpid ();

  r.x = x;
  r.spec = x->spec;
  r.pidfd = r.cgroupfd = r.nullfd = r.sock = r.psock = r.master = -1;
  r.sig = (struct hutch_sigfd)HUTCH_SIGFD_INIT;
  r.e1 = r.e2 = -1;
  for (n = 0; n < HUTCH_NS_COUNT; n++)
    r.nsfd[n] = -1;

  if (prepare (&r, err) < 0)
    goto out;
  r.e1 = fork ();
  if (r.e1 < 0)
    {
      hutch_error_set (err, errno, "fork");
      goto out;
    }
  if (r.e1 == 0)
    {
      close (r.psock);
      close (r.sig.fd);
      e1_main (&r, parent);
    }
  /* What E1 took with it is no longer ours to hold.  */
  close (r.sock);
  r.sock = -1;
  close (r.pidfd);
  r.pidfd = -1;
  close (r.nullfd);
  r.nullfd = -1;
  if (r.cgroupfd >= 0)
    close (r.cgroupfd);
  r.cgroupfd = -1;
  for (n = 0; n < HUTCH_NS_COUNT; n++)
    if (r.nsfd[n] >= 0)
      {
        close (r.nsfd[n]);
        r.nsfd[n] = -1;
      }

  n = follow_setup (&r, &sig, err);
  if (n == -2)
    {
      /* interrupted before the command ran: end as it would have */
      *ret_status = 128 + sig;
      ret = 0;
      goto out;
    }
  if (n < 0)
    goto out; /* E2, if it exists, exits after its error: run_clear reaps it */
  if (r.e1 > 0)
    {
      while (waitpid (r.e1, NULL, 0) < 0 && errno == EINTR)
        ;
      r.e1 = -1;
    }
  if (x->running)
    {
      int master = -1;
      if (x->hand_master)
        {
          master = r.master;
          r.master = -1;
        }
      if (x->running (x->running_data, r.e2, master, err) < 0)
        {
          /* It ran: it is not ours to kill, only to leave.  */
          r.e2 = -1;
          goto out;
        }
    }
  if (x->keep_child)
    {
      /* Ours until we exit, then the subreaper's: not killed.  */
      r.e2 = -1;
      *ret_status = 0;
      ret = 0;
      goto out;
    }
  if (x->detach)
    {
      if (r.master >= 0)
        hold_terminal (r.master);
      *ret_status = 0;
      ret = 0;
      goto out;
    }
  if (supervise (&r, &detached, err) < 0)
    goto out;
  if (detached)
    {
      hutch_log (HUTCH_LOG_INFO, "detached: the process goes on in the container");
      r.e2 = -1; /* not killed: it goes on */
      *ret_status = 0;
      ret = 0;
      goto out;
    }
  *ret_status = hutch_exit_code (r.e2_status);
  ret = 0;
out:
  run_clear (&r);
  return ret;
}

int
hutch_exec_open_root (pid_t pid, unsigned long long pid_start, int *ret_rootfd, hutch_error_t *err)
{
  _cleanup_free_ char *path = hutch_xasprintf ("/proc/%d/root", (int)pid);
  int fd;

  /* Opened first, checked after: when the start time still is the one
     recorded, the fd is the root of the container's process, not of one
     that got its pid later.  Read with RESOLVE_IN_ROOT from this fd,
     the container's symlinks stay inside it.  */
  fd = open (path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || pid_start == 0 || hutch_state_pid_start (pid) != pid_start)
    {
      int e = errno;
      if (fd >= 0)
        close (fd);
      if (fd < 0 && e != ENOENT && e != ESRCH)
        return hutch_error_set (err, e, "the root of the container's process %d", (int)pid);
      return hutch_error_set (err, 0,
                              "the container is not running (its process %d is gone); start it "
                              "first (hutch start)",
                              (int)pid);
    }
  *ret_rootfd = fd;
  return 0;
}
