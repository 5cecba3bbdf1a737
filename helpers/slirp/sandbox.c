/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The sandboxes of hutch-slirp's two processes.  main.c says why each
   step is there; the comments here say why each is safe.  */

#include <config.h>

#include "hutch-slirp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

/* Where the new root is built before pivot_root, in our own mount
   namespace (as bubblewrap does); nothing of the host's /tmp is touched.  */
#define SANDBOX_BASE "/tmp"

static int
write_proc (const char *path, const char *text)
{
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  size_t len = strlen (text);
  ssize_t n;

  if (fd < 0)
    return -1;
  n = write (fd, text, len);
  if (n < 0)
    {
      int e = errno;
      close (fd);
      errno = e;
      return -1;
    }
  close (fd);
  return (size_t)n == len ? 0 : (errno = EIO, -1);
}

int
hs_drop_capabilities (void)
{
  struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct data[2];

  /* The bounding set first: dropping from it needs CAP_SETPCAP, which
     capset below takes away.  */
  for (int cap = 0; cap <= 63; cap++)
    if (prctl (PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
      return -1;
  if (prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return -1;
  memset (data, 0, sizeof data);
  return (int)syscall (SYS_capset, &hdr, data);
}

/* A read-only bind of PATH, detached, to be moved into the new root; -1
   with errno ENOENT when PATH does not exist.  It is taken before the
   tmpfs covers SANDBOX_BASE, and follows a symlinked resolv.conf to its
   target, which the new root could not reach.  */
static int
clone_file (const char *path)
{
  struct mount_attr attr = { 0 };
  int fd = open_tree (AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);

  if (fd < 0)
    return -1;
  attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
  if (mount_setattr (fd, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
    {
      int e = errno;
      close (fd);
      errno = e;
      return -1;
    }
  return fd;
}

static int
place_file (int tree, const char *target)
{
  int fd;

  if (tree < 0)
    return 0;
  fd = open (target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (fd < 0)
    return -1;
  close (fd);
  return move_mount (tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH);
}

/* The sandbox's user namespace and mounts fail where unprivileged user
   namespaces are restricted: say so, and what runs without it.  */
static int __attribute__ ((format (printf, 3, 4)))
userns_error (struct hs_error *err, int e, const char *fmt, ...)
{
  char what[256];
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (what, sizeof what, fmt, ap);
  va_end (ap);
  return hs_error_set (err, e,
                       "cannot set up the network helper's sandbox: %s; user namespaces may be "
                       "restricted on this host (sysctl user.max_user_namespaces, "
                       "kernel.apparmor_restrict_unprivileged_userns), or run the container "
                       "with --network none",
                       what);
}

/* Own user namespace (mapping only our ids) and mount namespace; a
   read-only tmpfs root holding /etc/resolv.conf and /etc/hosts.  */
static int
new_root (const struct hs_options *o, struct hs_error *err)
{
  uid_t uid = geteuid ();
  gid_t gid = getegid ();
  char map[64];
  int resolv, hosts, r;

  if (unshare (CLONE_NEWUSER | CLONE_NEWNS) < 0)
    return userns_error (err, errno, "create a user namespace");
  /* A new user namespace is a change of credentials, which may clear the
     parent-death signal: arm it again.  */
  if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
    return hs_error_set (err, errno, "cannot set up the network helper's sandbox: prctl");
  snprintf (map, sizeof map, "%u %u 1\n", (unsigned)uid, (unsigned)uid);
  if (write_proc ("/proc/self/setgroups", "deny") < 0 || write_proc ("/proc/self/uid_map", map) < 0)
    return userns_error (err, errno, "write the uid map");
  snprintf (map, sizeof map, "%u %u 1\n", (unsigned)gid, (unsigned)gid);
  if (write_proc ("/proc/self/gid_map", map) < 0)
    return userns_error (err, errno, "write the gid map");
  /* Nothing we mount may propagate back to the host's namespace.  */
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return userns_error (err, errno, "make / private");

  resolv = clone_file (o->resolv_conf);
  if (resolv < 0 && errno != ENOENT)
    return userns_error (err, errno, "bind %s", o->resolv_conf);
  hosts = clone_file ("/etc/hosts");
  if (hosts < 0 && errno != ENOENT)
    {
      r = errno;
      if (resolv >= 0)
        close (resolv);
      return userns_error (err, r, "bind /etc/hosts");
    }
  r = mount ("tmpfs", SANDBOX_BASE, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
             "mode=0755,size=16k,nr_inodes=16");
  if (r == 0)
    r = mkdir (SANDBOX_BASE "/etc", 0755);
  if (r == 0)
    r = place_file (resolv, SANDBOX_BASE "/etc/resolv.conf");
  if (r == 0)
    r = place_file (hosts, SANDBOX_BASE "/etc/hosts");
  r = r < 0 ? errno : 0;
  if (resolv >= 0)
    close (resolv);
  if (hosts >= 0)
    close (hosts);
  if (r)
    return userns_error (err, r, "build the new root");
  if (mount (NULL, SANDBOX_BASE, NULL,
             MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)
      < 0)
    return userns_error (err, errno, "make the new root read-only");
  /* pivot_root (".", ".") stacks the old root on the new one; detaching
     it leaves nothing of the host's file system reachable.  */
  if (chdir (SANDBOX_BASE) < 0 || syscall (SYS_pivot_root, ".", ".") < 0
      || umount2 (".", MNT_DETACH) < 0 || chdir ("/") < 0)
    return userns_error (err, errno, "pivot_root");
  return 0;
}

/* ---- seccomp ----------------------------------------------------------- */

/* What an event loop over sockets, libslirp (which also reads
   /etc/resolv.conf at run time, with stat and fopen), splice and
   SCM_RIGHTS need.  Anything else fails with EPERM, which glib and libc
   handle as any refusal; what only an attacker would call kills.  */
static const char *const main_allow[] = { "read",
                                          "write",
                                          "readv",
                                          "writev",
                                          "close",
                                          "recvfrom",
                                          "sendto",
                                          "recvmsg",
                                          "sendmsg",
                                          "poll",
                                          "ppoll",
                                          "epoll_wait",
                                          "epoll_pwait",
                                          "epoll_pwait2",
                                          "epoll_ctl",
                                          "connect",
                                          "accept4",
                                          "accept",
                                          "shutdown",
                                          "setsockopt",
                                          "getsockopt",
                                          "getsockname",
                                          "getpeername",
                                          "splice",
                                          "pipe2",
                                          "newfstatat",
                                          "fstat",
                                          "statx",
                                          "stat",
                                          "lstat",
                                          "lseek",
                                          "clock_gettime",
                                          "clock_getres",
                                          "gettimeofday",
                                          "time",
                                          "getrandom",
                                          "brk",
                                          "munmap",
                                          "mremap",
                                          "madvise",
                                          "futex",
                                          "rt_sigreturn",
                                          "rt_sigprocmask",
                                          "restart_syscall",
                                          "exit",
                                          "exit_group",
                                          "getpid",
                                          "gettid",
                                          "getppid",
                                          "getuid",
                                          "geteuid",
                                          "getgid",
                                          "getegid",
                                          "sched_yield",
                                          "wait4",
                                          "waitid",
                                          NULL };

static const char *const always_kill[] = { "execve",
                                           "execveat",
                                           "ptrace",
                                           "process_vm_readv",
                                           "process_vm_writev",
                                           "fork",
                                           "vfork",
                                           "clone",
                                           "clone3",
                                           "unshare",
                                           "setns",
                                           "mount",
                                           "umount2",
                                           "pivot_root",
                                           "chroot",
                                           "open_tree",
                                           "move_mount",
                                           "fsopen",
                                           "fsmount",
                                           "fsconfig",
                                           "fspick",
                                           "mount_setattr",
                                           "bpf",
                                           "perf_event_open",
                                           "userfaultfd",
                                           "keyctl",
                                           "add_key",
                                           "request_key",
                                           "init_module",
                                           "finit_module",
                                           "delete_module",
                                           "kexec_load",
                                           "kexec_file_load",
                                           "personality",
                                           "io_uring_setup",
                                           "memfd_create",
                                           NULL };

static const char *const connector_allow[]
    = { "recvfrom",   "recvmsg",      "sendto",          "sendmsg", "connect", "close",   "exit",
        "exit_group", "rt_sigreturn", "restart_syscall", "brk",     "munmap",  "madvise", NULL };

/* Rules for the names of LIST that this architecture has.  */
static int
add_list (scmp_filter_ctx ctx, uint32_t action, const char *const *list)
{
  for (; *list; list++)
    {
      int nr = seccomp_syscall_resolve_name (*list), r;
      if (nr == __NR_SCMP_ERROR)
        continue;
      r = seccomp_rule_add (ctx, action, nr, 0);
      if (r < 0)
        return r;
    }
  return 0;
}

static int
add_rule (scmp_filter_ctx ctx, const char *name, struct scmp_arg_cmp cmp)
{
  int nr = seccomp_syscall_resolve_name (name);

  if (nr == __NR_SCMP_ERROR)
    return 0;
  return seccomp_rule_add (ctx, SCMP_ACT_ALLOW, nr, 1, cmp);
}

/* mmap and mprotect without PROT_EXEC: nothing new becomes code.  */
static int
add_memory (scmp_filter_ctx ctx)
{
  int r;

  if ((r = add_rule (ctx, "mmap", SCMP_A2 (SCMP_CMP_MASKED_EQ, PROT_EXEC, 0))) < 0)
    return r;
  return add_rule (ctx, "mprotect", SCMP_A2 (SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
}

static int
add_main_rules (scmp_filter_ctx ctx)
{
  static const unsigned long fcntl_ok[]
      = { F_GETFL, F_SETFL, F_GETFD, F_SETFD, F_GETPIPE_SZ, F_SETPIPE_SZ };
  const unsigned long write_flags = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND;
  int r;

  if ((r = add_list (ctx, SCMP_ACT_ALLOW, main_allow)) < 0
      || (r = add_list (ctx, SCMP_ACT_KILL_PROCESS, always_kill)) < 0 || (r = add_memory (ctx)) < 0)
    return r;
  /* Sockets on the host's network only: no AF_UNIX (the user's session
     bus, the journal), no AF_NETLINK, no packet sockets.  */
  if ((r = add_rule (ctx, "socket", SCMP_A0 (SCMP_CMP_EQ, AF_INET))) < 0
      || (r = add_rule (ctx, "socket", SCMP_A0 (SCMP_CMP_EQ, AF_INET6))) < 0)
    return r;
  /* libslirp asks FIONREAD of its UDP and ICMP sockets; TIOCSTI and the
     other terminal ioctls stay out.  */
  if ((r = add_rule (ctx, "ioctl", SCMP_A1 (SCMP_CMP_MASKED_EQ, 0xffffffffu, FIONREAD))) < 0
      || (r = add_rule (ctx, "ioctl", SCMP_A1 (SCMP_CMP_MASKED_EQ, 0xffffffffu, FIONBIO))) < 0)
    return r;
  for (size_t i = 0; i < sizeof fcntl_ok / sizeof fcntl_ok[0]; i++)
    if ((r = add_rule (ctx, "fcntl", SCMP_A1 (SCMP_CMP_EQ, fcntl_ok[i]))) < 0)
      return r;
  /* Opening for reading only: the root is a read-only tmpfs anyway.  */
  if ((r = add_rule (ctx, "openat", SCMP_A2 (SCMP_CMP_MASKED_EQ, write_flags, 0))) < 0
      || (r = add_rule (ctx, "open", SCMP_A1 (SCMP_CMP_MASKED_EQ, write_flags, 0))) < 0)
    return r;
  /* abort () on a failed assertion in glib or libslirp: SIGABRT to this
     process only (the sandbox has no PID namespace of its own).  */
  {
    int nr = seccomp_syscall_resolve_name ("tgkill");
    if (nr == __NR_SCMP_ERROR)
      return 0;
    return seccomp_rule_add (ctx, SCMP_ACT_ALLOW, nr, 2,
                             SCMP_A0 (SCMP_CMP_EQ, (scmp_datum_t)getpid ()),
                             SCMP_A2 (SCMP_CMP_EQ, SIGABRT));
  }
}

static int
load (scmp_filter_ctx ctx, int r, struct hs_error *err)
{
  /* seccomp_load sets no_new_privs first (SCMP_FLTATR_CTL_NNP).  */
  if (r == 0)
    r = seccomp_load (ctx);
  seccomp_release (ctx);
  if (r < 0)
    return hs_error_set (err, -r, "cannot set up the network helper's sandbox: seccomp");
  return 0;
}

int
hs_sandbox_enter (const struct hs_options *o, struct hs_error *err)
{
  scmp_filter_ctx ctx;

  if (new_root (o, err) < 0)
    return -1;
  /* Full capabilities inside our own user namespace built the root; none
     are needed afterwards.  */
  if (hs_drop_capabilities () < 0)
    return hs_error_set (err, errno,
                         "cannot set up the network helper's sandbox: drop capabilities");
  if (prctl (PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return hs_error_set (err, errno, "cannot set up the network helper's sandbox: prctl");
  ctx = seccomp_init (SCMP_ACT_ERRNO (EPERM));
  if (ctx == NULL)
    return hs_error_set (err, ENOMEM, "cannot set up the network helper's sandbox: seccomp_init");
  return load (ctx, add_main_rules (ctx), err);
}

int
hs_sandbox_connector (struct hs_error *err)
{
  scmp_filter_ctx ctx;
  int r;

  /* Not dumpable: the container's root, which shares this user
     namespace, cannot ptrace us or read our memory.  */
  if (prctl (PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    return hs_error_set (err, errno, "connector: prctl");
  if (hs_drop_capabilities () < 0)
    return hs_error_set (err, errno, "connector: drop capabilities");
  ctx = seccomp_init (SCMP_ACT_KILL_PROCESS);
  if (ctx == NULL)
    return hs_error_set (err, ENOMEM, "connector: seccomp_init");
  r = add_list (ctx, SCMP_ACT_ALLOW, connector_allow);
  if (r == 0)
    r = add_memory (ctx);
  if (r == 0)
    r = add_rule (ctx, "socket", SCMP_A0 (SCMP_CMP_EQ, AF_INET));
  return load (ctx, r, err);
}

/* ---- --check-sandbox ------------------------------------------------------ */

static int n_checks, n_failed;

static void
check (bool ok, const char *what)
{
  n_checks++;
  if (!ok)
    n_failed++;
  printf ("%s %d - %s\n", ok ? "ok" : "not ok", n_checks, what);
  fflush (stdout);
}

static bool
fails_with (int r, int e)
{
  return r < 0 && errno == e;
}

/* In the sandboxed child: what it must not be able to do.  */
static void
probe (const struct hs_options *o)
{
  struct sockaddr_in sin = { .sin_family = AF_INET };
  struct stat st;
  void *p;
  int fd;

  check (fails_with (open ("/etc/passwd", O_RDONLY), ENOENT), "the host's files are out of view");
  check (fails_with (open ("/proc/self/status", O_RDONLY), ENOENT), "no /proc");
  check (fails_with (stat ("/dev/net/tun", &st), ENOENT), "no /dev");
  fd = open ("/etc/resolv.conf", O_RDONLY);
  check (fd >= 0 || access (o->resolv_conf, F_OK) < 0, "/etc/resolv.conf can be read");
  check (fails_with (open ("/etc/resolv.conf", O_WRONLY), EPERM), "no opening for writing");
  check (fails_with (mkdir ("/x", 0755), EPERM), "no mkdir");
  check (fails_with (socket (AF_UNIX, SOCK_STREAM, 0), EPERM), "no AF_UNIX sockets");
  check (fails_with (socket (AF_NETLINK, SOCK_RAW, 0), EPERM), "no netlink sockets");
  check (fails_with (socket (AF_PACKET, SOCK_RAW, 0), EPERM), "no packet sockets");
  fd = socket (AF_INET, SOCK_STREAM, 0);
  check (fd >= 0, "AF_INET sockets");
  sin.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  check (fails_with (bind (fd, (struct sockaddr *)&sin, sizeof sin), EPERM), "no bind");
  check (fails_with (ioctl (0, TIOCSTI, "x"), EPERM), "no TIOCSTI");
  p = mmap (NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  check (p == MAP_FAILED && errno == EPERM, "no executable mappings");
  check (fails_with (prctl (PR_SET_DUMPABLE, 1, 0, 0, 0), EPERM), "no prctl");
  check (fails_with (kill (getppid (), 0), EPERM), "no kill");
  /* abort () is allowed its SIGABRT to this process, to no other.  */
  check (fails_with ((int)syscall (SYS_tgkill, getppid (), getppid (), SIGABRT), EPERM),
         "no SIGABRT to another process");
}

static bool
status_line_is (pid_t pid, const char *key, const char *want)
{
  char path[64], line[256];
  bool found = false;
  FILE *f;

  snprintf (path, sizeof path, "/proc/%d/status", (int)pid);
  f = fopen (path, "re");
  if (f == NULL)
    return false;
  while (fgets (line, sizeof line, f))
    if (strncmp (line, key, strlen (key)) == 0 && line[strlen (key)] == ':')
      {
        char *v = line + strlen (key) + 1;
        v += strspn (v, " \t");
        v[strcspn (v, "\n")] = '\0';
        found = strcmp (v, want) == 0;
      }
  fclose (f);
  return found;
}

int
hs_check_sandbox (const struct hs_options *o)
{
  struct hs_error err = { 0 };
  int go[2], done[2], status;
  char c;
  pid_t child;

  if (pipe2 (go, O_CLOEXEC) < 0 || pipe2 (done, O_CLOEXEC) < 0)
    return 1;
  fflush (stdout);
  child = fork ();
  if (child < 0)
    return 1;
  if (child == 0)
    {
      if (hs_sandbox_enter (o, &err) < 0)
        {
          printf ("Bail out! %s\n", err.msg);
          fflush (stdout);
          _exit (1);
        }
      probe (o);
      /* Let the parent look at our status, then try what must kill.  */
      if (write (done[1], &n_checks, sizeof n_checks) < 0 || read (go[0], &c, 1) != 1)
        _exit (1);
      execl ("/bin/sh", "sh", "-c", "exit 0", (char *)NULL);
      _exit (3);
    }
  close (go[0]);
  close (done[1]);
  if (read (done[0], &n_checks, sizeof n_checks) == (ssize_t)sizeof n_checks)
    {
      check (status_line_is (child, "CapEff", "0000000000000000"), "no effective capabilities");
      check (status_line_is (child, "CapPrm", "0000000000000000"), "no permitted capabilities");
      check (status_line_is (child, "CapBnd", "0000000000000000"), "empty bounding set");
      check (status_line_is (child, "NoNewPrivs", "1"), "no_new_privs");
      check (status_line_is (child, "Seccomp", "2"), "seccomp filter");
      if (write (go[1], "x", 1) != 1)
        check (false, "signal the child");
    }
  while (waitpid (child, &status, 0) < 0 && errno == EINTR)
    ;
  check (WIFSIGNALED (status) && WTERMSIG (status) == SIGSYS, "execve kills");
  printf ("1..%d\n", n_checks);
  return n_failed ? 1 : 0;
}
