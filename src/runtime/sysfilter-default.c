/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hutch's default seccomp profile, close to Docker's: the calls below are
   allowed, everything else fails with EPERM.  The list is hutch's own,
   written from the kernel's syscall tables (x86_64, i386 and x32: names of
   one ABI are skipped on the others).

   What is left out, and why (each is also a test in tests/security):
   - the kernel keyring (keyctl, add_key, request_key): not namespaced
     enough to share between containers of one user;
   - kexec_load, kexec_file_load, the obsolete calls and those no kernel
     implements any more (_sysctl, uselib, ustat, sysfs, nfsservctl, vm86,
     create_module, ...),
     io_uring (a large attack surface, as Docker decided in 2023), and
     modify_ldt;
   - namespaces: clone and unshare with a CLONE_NEW* flag, clone3 (whose
     flags a filter cannot read: ENOSYS, so that the C library falls back
     to clone), setns, and the mount calls, unless CAP_SYS_ADMIN is kept;
   - sockets of AF_ALG and AF_VSOCK;
   - calls that only make sense with a capability the container does not
     have by default: they are allowed when it is kept (--cap-add), as in
     Docker's profile, with one difference: pivot_root comes with
     CAP_SYS_ADMIN (runtimes nested in a container need it).  swapon,
     swapoff, userfaultfd, migrate_pages and move_pages are refused with
     any capability set, as in Docker's.

   Inside a user namespace the kernel refuses most of these anyway (module
   loading, reboot of the host, setting the clock need capabilities in the
   initial namespace): the filter is the second wall, and it also closes
   the calls that a user namespace does allow (the keyring, bpf where the
   host allows it unprivileged, userfaultfd, new namespaces).  */
#include <config.h>

#include "runtime/sysfilter-private.h"

#include <errno.h>
#include <sched.h>
#include <stddef.h>

/* Allowed for every container.  */
static const char *const allowed[] = { "_llseek",
                                       "_newselect",
                                       "accept",
                                       "accept4",
                                       "access",
                                       "adjtimex",
                                       "alarm",
                                       "arch_prctl",
                                       "bind",
                                       "brk",
                                       "cachestat",
                                       "capget",
                                       "capset",
                                       "chdir",
                                       "chmod",
                                       "chown",
                                       "chown32",
                                       "clock_adjtime",
                                       "clock_adjtime64",
                                       "clock_getres",
                                       "clock_getres_time64",
                                       "clock_gettime",
                                       "clock_gettime64",
                                       "clock_nanosleep",
                                       "clock_nanosleep_time64",
                                       "close",
                                       "close_range",
                                       "connect",
                                       "copy_file_range",
                                       "creat",
                                       "dup",
                                       "dup2",
                                       "dup3",
                                       "epoll_create",
                                       "epoll_create1",
                                       "epoll_ctl",
                                       "epoll_pwait",
                                       "epoll_pwait2",
                                       "epoll_wait",
                                       "eventfd",
                                       "eventfd2",
                                       "execve",
                                       "execveat",
                                       "exit",
                                       "exit_group",
                                       "faccessat",
                                       "faccessat2",
                                       "fadvise64",
                                       "fadvise64_64",
                                       "fallocate",
                                       "fanotify_mark",
                                       "fchdir",
                                       "fchmod",
                                       "fchmodat",
                                       "fchmodat2",
                                       "fchown",
                                       "fchown32",
                                       "fchownat",
                                       "fcntl",
                                       "fcntl64",
                                       "fdatasync",
                                       "fgetxattr",
                                       "flistxattr",
                                       "flock",
                                       "fork",
                                       "fremovexattr",
                                       "fsetxattr",
                                       "fstat",
                                       "fstat64",
                                       "fstatat64",
                                       "fstatfs",
                                       "fstatfs64",
                                       "fsync",
                                       "ftruncate",
                                       "ftruncate64",
                                       "futex",
                                       "futex_requeue",
                                       "futex_time64",
                                       "futex_wait",
                                       "futex_waitv",
                                       "futex_wake",
                                       "futimesat",
                                       "get_robust_list",
                                       "get_thread_area",
                                       "getcpu",
                                       "getcwd",
                                       "getdents",
                                       "getdents64",
                                       "getegid",
                                       "getegid32",
                                       "geteuid",
                                       "geteuid32",
                                       "getgid",
                                       "getgid32",
                                       "getgroups",
                                       "getgroups32",
                                       "getitimer",
                                       "getpeername",
                                       "getpgid",
                                       "getpgrp",
                                       "getpid",
                                       "getppid",
                                       "getpriority",
                                       "getrandom",
                                       "getresgid",
                                       "getresgid32",
                                       "getresuid",
                                       "getresuid32",
                                       "getrlimit",
                                       "getrusage",
                                       "getsid",
                                       "getsockname",
                                       "getsockopt",
                                       "gettid",
                                       "gettimeofday",
                                       "getuid",
                                       "getuid32",
                                       "getxattr",
                                       "inotify_add_watch",
                                       "inotify_init",
                                       "inotify_init1",
                                       "inotify_rm_watch",
                                       "io_cancel",
                                       "io_destroy",
                                       "io_getevents",
                                       "io_pgetevents",
                                       "io_pgetevents_time64",
                                       "io_setup",
                                       "io_submit",
                                       "ioctl",
                                       "ioprio_get",
                                       "ioprio_set",
                                       "ipc",
                                       "kill",
                                       "landlock_add_rule",
                                       "landlock_create_ruleset",
                                       "landlock_restrict_self",
                                       "lchown",
                                       "lchown32",
                                       "lgetxattr",
                                       "link",
                                       "linkat",
                                       "listen",
                                       "listxattr",
                                       "llistxattr",
                                       "lremovexattr",
                                       "lseek",
                                       "lsetxattr",
                                       "lstat",
                                       "lstat64",
                                       "madvise",
                                       "map_shadow_stack",
                                       "membarrier",
                                       "memfd_create",
                                       "mincore",
                                       "mkdir",
                                       "mkdirat",
                                       "mknod",
                                       "mknodat",
                                       "mlock",
                                       "mlock2",
                                       "mlockall",
                                       "mmap",
                                       "mmap2",
                                       "mprotect",
                                       "mq_getsetattr",
                                       "mq_notify",
                                       "mq_open",
                                       "mq_timedreceive",
                                       "mq_timedreceive_time64",
                                       "mq_timedsend",
                                       "mq_timedsend_time64",
                                       "mq_unlink",
                                       "mremap",
                                       "msgctl",
                                       "msgget",
                                       "msgrcv",
                                       "msgsnd",
                                       "msync",
                                       "munlock",
                                       "munlockall",
                                       "munmap",
                                       "name_to_handle_at",
                                       "nanosleep",
                                       "newfstatat",
                                       "nice",
                                       "open",
                                       "openat",
                                       "openat2",
                                       "pause",
                                       "pidfd_open",
                                       "pidfd_send_signal",
                                       "pipe",
                                       "pipe2",
                                       "pkey_alloc",
                                       "pkey_free",
                                       "pkey_mprotect",
                                       "poll",
                                       "ppoll",
                                       "ppoll_time64",
                                       "prctl",
                                       "pread64",
                                       "preadv",
                                       "preadv2",
                                       "prlimit64",
                                       "process_mrelease",
                                       "pselect6",
                                       "pselect6_time64",
                                       "process_vm_readv",
                                       "process_vm_writev",
                                       "ptrace",
                                       "pwrite64",
                                       "pwritev",
                                       "pwritev2",
                                       "read",
                                       "readahead",
                                       "readlink",
                                       "readlinkat",
                                       "readv",
                                       "recvfrom",
                                       "recvmmsg",
                                       "recvmmsg_time64",
                                       "recvmsg",
                                       "remap_file_pages",
                                       "removexattr",
                                       "rename",
                                       "renameat",
                                       "renameat2",
                                       "restart_syscall",
                                       "rmdir",
                                       "rseq",
                                       "rt_sigaction",
                                       "rt_sigpending",
                                       "rt_sigprocmask",
                                       "rt_sigqueueinfo",
                                       "rt_sigreturn",
                                       "rt_sigsuspend",
                                       "rt_sigtimedwait",
                                       "rt_sigtimedwait_time64",
                                       "rt_tgsigqueueinfo",
                                       "sched_get_priority_max",
                                       "sched_get_priority_min",
                                       "sched_getaffinity",
                                       "sched_getattr",
                                       "sched_getparam",
                                       "sched_getscheduler",
                                       "sched_rr_get_interval",
                                       "sched_rr_get_interval_time64",
                                       "sched_setaffinity",
                                       "sched_setattr",
                                       "sched_setparam",
                                       "sched_setscheduler",
                                       "sched_yield",
                                       "seccomp",
                                       "select",
                                       "semctl",
                                       "semget",
                                       "semop",
                                       "semtimedop",
                                       "semtimedop_time64",
                                       "sendfile",
                                       "sendfile64",
                                       "sendmmsg",
                                       "sendmsg",
                                       "sendto",
                                       "set_robust_list",
                                       "set_thread_area",
                                       "set_tid_address",
                                       "setdomainname",
                                       "setfsgid",
                                       "setfsgid32",
                                       "setfsuid",
                                       "setfsuid32",
                                       "setgid",
                                       "setgid32",
                                       "setgroups",
                                       "setgroups32",
                                       "sethostname",
                                       "setitimer",
                                       "setpgid",
                                       "setpriority",
                                       "setregid",
                                       "setregid32",
                                       "setresgid",
                                       "setresgid32",
                                       "setresuid",
                                       "setresuid32",
                                       "setreuid",
                                       "setreuid32",
                                       "setrlimit",
                                       "setsid",
                                       "setsockopt",
                                       "setuid",
                                       "setuid32",
                                       "setxattr",
                                       "shmat",
                                       "shmctl",
                                       "shmdt",
                                       "shmget",
                                       "shutdown",
                                       "sigaction",
                                       "sigaltstack",
                                       "signal",
                                       "signalfd",
                                       "signalfd4",
                                       "sigpending",
                                       "sigprocmask",
                                       "sigreturn",
                                       "sigsuspend",
                                       "socketcall",
                                       "socketpair",
                                       "splice",
                                       "stat",
                                       "stat64",
                                       "statfs",
                                       "statfs64",
                                       "statx",
                                       "symlink",
                                       "symlinkat",
                                       "sync",
                                       "sync_file_range",
                                       "syncfs",
                                       "sysinfo",
                                       "tee",
                                       "tgkill",
                                       "time",
                                       "timer_create",
                                       "timer_delete",
                                       "timer_getoverrun",
                                       "timer_gettime",
                                       "timer_gettime64",
                                       "timer_settime",
                                       "timer_settime64",
                                       "timerfd_create",
                                       "timerfd_gettime",
                                       "timerfd_gettime64",
                                       "timerfd_settime",
                                       "timerfd_settime64",
                                       "times",
                                       "tkill",
                                       "truncate",
                                       "truncate64",
                                       "ugetrlimit",
                                       "umask",
                                       "uname",
                                       "unlink",
                                       "unlinkat",
                                       "utime",
                                       "utimensat",
                                       "utimensat_time64",
                                       "utimes",
                                       "vfork",
                                       "vmsplice",
                                       "wait4",
                                       "waitid",
                                       "waitpid",
                                       "write",
                                       "writev",
                                       NULL };

/* Allowed when the container keeps one of the capabilities, as in
   Docker's profile.  */
struct cap_rule
{
  const char *caps[2]; /* either of these */
  const char *const *names;
};

/* pivot_root is not in Docker's list: hutch allows it with CAP_SYS_ADMIN,
   for container runtimes inside a container (a namespaced operation).  */
static const char *const with_sys_admin[]
    = { "fanotify_init",  "fsconfig", "fsmount",       "fsopen",     "fspick",
        "lookup_dcookie", "mount",    "mount_setattr", "move_mount", "open_tree",
        "pivot_root",     "quotactl", "quotactl_fd",   "setns",      "umount",
        "umount2",        "unshare",  "clone",         "clone3",     NULL };
static const char *const with_bpf[] = { "bpf", NULL };
static const char *const with_perfmon[] = { "perf_event_open", NULL };
static const char *const with_sys_boot[] = { "reboot", NULL };
static const char *const with_sys_chroot[] = { "chroot", NULL };
static const char *const with_sys_module[]
    = { "delete_module", "finit_module", "init_module", NULL };
static const char *const with_sys_pacct[] = { "acct", NULL };
static const char *const with_sys_ptrace[] = { "kcmp", "pidfd_getfd", "process_madvise", NULL };
static const char *const with_sys_rawio[] = { "ioperm", "iopl", NULL };
static const char *const with_sys_time[]
    = { "clock_settime", "clock_settime64", "settimeofday", "stime", NULL };
static const char *const with_sys_tty_config[] = { "vhangup", NULL };
static const char *const with_sys_nice[]
    = { "get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node", NULL };
static const char *const with_dac_read_search[] = { "open_by_handle_at", NULL };
static const char *const with_syslog[] = { "syslog", NULL };

static const struct cap_rule cap_rules[] = {
  { { "CAP_SYS_ADMIN", NULL }, with_sys_admin },
  { { "CAP_BPF", "CAP_SYS_ADMIN" }, with_bpf },
  { { "CAP_PERFMON", "CAP_SYS_ADMIN" }, with_perfmon },
  { { "CAP_SYS_BOOT", NULL }, with_sys_boot },
  { { "CAP_SYS_CHROOT", NULL }, with_sys_chroot },
  { { "CAP_SYS_MODULE", NULL }, with_sys_module },
  { { "CAP_SYS_PACCT", NULL }, with_sys_pacct },
  { { "CAP_SYS_PTRACE", NULL }, with_sys_ptrace },
  { { "CAP_SYS_RAWIO", NULL }, with_sys_rawio },
  { { "CAP_SYS_TIME", NULL }, with_sys_time },
  { { "CAP_SYS_TTY_CONFIG", NULL }, with_sys_tty_config },
  { { "CAP_SYS_NICE", NULL }, with_sys_nice },
  { { "CAP_DAC_READ_SEARCH", NULL }, with_dac_read_search },
  { { "CAP_SYSLOG", NULL }, with_syslog },
};

/* The namespace flags of clone and unshare.  CLONE_NEWTIME shares its bit
   with the exit signal in clone's flags, so it counts for unshare only.  */
#define NS_FLAGS                                                                                   \
  ((scmp_datum_t)(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID         \
                  | CLONE_NEWNET | CLONE_NEWCGROUP))
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* Address families whose sockets reach past the container: AF_ALG (the
   kernel's crypto API, a large attack surface) and AF_VSOCK (not
   namespaced: the hypervisor and the host's vsock services), as Docker.
   i386's socketcall carries the family in memory a filter cannot read.  */
#define AF_ALG_ 38
#define AF_VSOCK_ 40

/* personality(2) values that change nothing a sandbox relies on: Linux,
   32-bit Linux, the 2.6 uname (UNAME26) of both, and the query.  */
static const scmp_datum_t personas[] = { 0x0, 0x8, 0x20000, 0x20008, 0xffffffff };

static int
add_names (scmp_filter_ctx ctx, const char *const *names, hutch_error_t *err)
{
  for (; *names; names++)
    if (hutch_sc_add (ctx, SCMP_ACT_ERRNO (EPERM), *names, SCMP_ACT_ALLOW, 0, NULL, err) < 0)
      return -1;
  return 0;
}

int
hutch_sc_default_rules (scmp_filter_ctx ctx, const struct hutch_spec *spec, hutch_error_t *err)
{
  const uint32_t def = SCMP_ACT_ERRNO (EPERM);
  bool sys_admin = hutch_sc_has_cap (spec, "CAP_SYS_ADMIN");
  size_t i;

  if (add_names (ctx, allowed, err) < 0)
    return -1;
  for (i = 0; i < sizeof cap_rules / sizeof cap_rules[0]; i++)
    {
      const struct cap_rule *r = &cap_rules[i];
      if (hutch_sc_has_cap (spec, r->caps[0])
          || (r->caps[1] && hutch_sc_has_cap (spec, r->caps[1])))
        if (add_names (ctx, r->names, err) < 0)
          return -1;
    }

  for (i = 0; i < sizeof personas / sizeof personas[0]; i++)
    {
      struct scmp_arg_cmp a = SCMP_A0 (SCMP_CMP_EQ, personas[i]);
      if (hutch_sc_add (ctx, def, "personality", SCMP_ACT_ALLOW, 1, &a, err) < 0)
        return -1;
    }

  {
    const struct scmp_arg_cmp fam[]
        = { SCMP_A0 (SCMP_CMP_LT, AF_ALG_), SCMP_A0 (SCMP_CMP_EQ, AF_ALG_ + 1),
            SCMP_A0 (SCMP_CMP_GT, AF_VSOCK_) };
    for (i = 0; i < sizeof fam / sizeof fam[0]; i++)
      if (hutch_sc_add (ctx, def, "socket", SCMP_ACT_ALLOW, 1, &fam[i], err) < 0)
        return -1;
  }

  if (!sys_admin)
    {
      /* Threads and processes, but no new namespace.  clone's flags are its
         second argument on s390.  */
      bool s390
          = seccomp_arch_native () == SCMP_ARCH_S390X || seccomp_arch_native () == SCMP_ARCH_S390;
      struct scmp_arg_cmp c = s390 ? SCMP_A1 (SCMP_CMP_MASKED_EQ, NS_FLAGS, 0)
                                   : SCMP_A0 (SCMP_CMP_MASKED_EQ, NS_FLAGS, 0);
      struct scmp_arg_cmp u = SCMP_A0 (SCMP_CMP_MASKED_EQ, NS_FLAGS | CLONE_NEWTIME, 0);
      if (hutch_sc_add (ctx, def, "clone", SCMP_ACT_ALLOW, 1, &c, err) < 0
          || hutch_sc_add (ctx, def, "unshare", SCMP_ACT_ALLOW, 1, &u, err) < 0
          /* The C library tries clone3 first and falls back on ENOSYS.  */
          || hutch_sc_add (ctx, def, "clone3", SCMP_ACT_ERRNO (ENOSYS), 0, NULL, err) < 0)
        return -1;
    }
  return 0;
}
