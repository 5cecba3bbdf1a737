/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sysprobe: call system calls with harmless arguments and say what came
   back, for the tests of the seccomp filter and of the escape suite.

     sysprobe NAME...

   prints one line per NAME: "NAME ok" or "NAME ERRNO" (EPERM, ENOSYS, ...).
   Arguments are chosen so that a call the filter lets through does nothing
   to the host and, where possible, gives an answer other than the filter's
   (EINVAL, EBADF, success), so that the tests can tell the two apart.
   Calls that change the calling process (unshare, personality) run in a
   child.  Built static: the security tests put it into an image.  */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KEYCTL_GET_KEYRING_ID 0
#define KEY_SPEC_SESSION_KEYRING (-3)
#define KEY_SPEC_PROCESS_KEYRING (-2)
#define X32_BIT 0x40000000L
#define I386_KEYCTL 288
#define X32_KEYCTL 250
#define UFFD_USER_MODE_ONLY 1

/* keyctl through the i386 ABI (int $0x80), from a 64-bit process: the
   filter must know the 32-bit numbers too.  */
static long
keyctl_i386 (void)
{
  long ret;
  __asm__ volatile("int $0x80"
                   : "=a"(ret)
                   : "a"((long)I386_KEYCTL), "b"((long)KEYCTL_GET_KEYRING_ID),
                     "c"((long)KEY_SPEC_PROCESS_KEYRING), "d"(0L)
                   : "memory");
  if (ret < 0 && ret > -4096)
    {
      errno = (int)-ret;
      return -1;
    }
  return ret;
}

/* Run FN in a child; its exit status carries errno (0: success).  */
static long
in_child (long (*fn) (void))
{
  int status;
  pid_t pid = fork ();
  if (pid < 0)
    return -1;
  if (pid == 0)
    _exit (fn () < 0 ? errno : 0);
  if (waitpid (pid, &status, 0) < 0)
    return -1;
  if (WIFEXITED (status) && WEXITSTATUS (status) != 0)
    {
      errno = WEXITSTATUS (status);
      return -1;
    }
  return WIFEXITED (status) ? 0 : (errno = EINTR, -1);
}

static long
do_unshare_user (void)
{
  return unshare (CLONE_NEWUSER);
}

static long
do_unshare_net (void)
{
  return unshare (CLONE_NEWNET);
}

static long
do_unshare_fs (void)
{
  return unshare (CLONE_FS | CLONE_FILES);
}

static long
do_personality_bad (void)
{
  /* ADDR_NO_RANDOMIZE: turns off ASLR, which Docker's profile refuses.  */
  return personality (PER_LINUX | ADDR_NO_RANDOMIZE) < 0 ? -1 : 0;
}

static long
do_personality_linux32 (void)
{
  return personality (PER_LINUX32) < 0 ? -1 : 0;
}

/* clone with FLAGS, the child exiting at once; like fork otherwise.  */
static long
raw_clone (unsigned long flags)
{
  int status;
  long pid = syscall (SYS_clone, flags | SIGCHLD, 0L, 0L, 0L, 0L);
  if (pid < 0)
    return -1;
  if (pid == 0)
    _exit (0);
  waitpid ((pid_t)pid, &status, 0);
  return 0;
}

static long
call (const char *name)
{
  struct timespec now;

  if (strcmp (name, "keyctl") == 0)
    return syscall (SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_PROCESS_KEYRING, 0);
  if (strcmp (name, "keyctl-i386") == 0)
    return keyctl_i386 ();
  if (strcmp (name, "keyctl-x32") == 0)
    /* ENOSYS from a kernel without x32 support, EPERM from the filter.  */
    return syscall (X32_BIT | X32_KEYCTL, KEYCTL_GET_KEYRING_ID, KEY_SPEC_PROCESS_KEYRING, 0);
  if (strcmp (name, "add_key") == 0)
    return syscall (SYS_add_key, "user", "hutch-sysprobe", "x", 1, KEY_SPEC_PROCESS_KEYRING);
  if (strcmp (name, "request_key") == 0)
    return syscall (SYS_request_key, "user", "hutch-sysprobe-missing", NULL, 0);
  if (strcmp (name, "init_module") == 0)
    return syscall (SYS_init_module, NULL, 0UL, "");
  if (strcmp (name, "finit_module") == 0)
    return syscall (SYS_finit_module, -1, "", 0);
  if (strcmp (name, "delete_module") == 0)
    return syscall (SYS_delete_module, "hutch_sysprobe_none", O_NONBLOCK);
  if (strcmp (name, "kexec_load") == 0)
    return syscall (SYS_kexec_load, 0UL, 0UL, NULL, 0UL);
  if (strcmp (name, "reboot") == 0)
    /* wrong magic numbers: EINVAL once past the capability check */
    return syscall (SYS_reboot, 0, 0, 0, NULL);
  if (strcmp (name, "swapon") == 0)
    return syscall (SYS_swapon, "/nonexistent-swap", 0);
  if (strcmp (name, "acct") == 0)
    return syscall (SYS_acct, "/nonexistent-acct");
  if (strcmp (name, "bpf") == 0)
    /* an unknown command: EINVAL once past the checks */
    return syscall (SYS_bpf, 9999, NULL, 0);
  if (strcmp (name, "perf_event_open") == 0)
    return syscall (SYS_perf_event_open, NULL, 0, -1, -1, 0UL);
  if (strcmp (name, "userfaultfd") == 0)
    {
      long fd = syscall (SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
      if (fd >= 0)
        close ((int)fd);
      return fd;
    }
  if (strcmp (name, "io_uring_setup") == 0)
    return syscall (SYS_io_uring_setup, 0, NULL);
  if (strcmp (name, "personality") == 0)
    return in_child (do_personality_bad);
  if (strcmp (name, "personality-linux32") == 0)
    return in_child (do_personality_linux32);
  if (strcmp (name, "unshare-user") == 0)
    return in_child (do_unshare_user);
  if (strcmp (name, "unshare-net") == 0)
    return in_child (do_unshare_net);
  if (strcmp (name, "unshare-fs") == 0)
    return in_child (do_unshare_fs);
  if (strcmp (name, "clone-user") == 0)
    return raw_clone (CLONE_NEWUSER);
  if (strcmp (name, "clone-plain") == 0)
    return raw_clone (0);
  if (strcmp (name, "clone3") == 0)
    /* size 0: EINVAL once the kernel looks at it, ENOSYS from the filter */
    return syscall (SYS_clone3, NULL, 0UL);
  if (strcmp (name, "mount") == 0)
    return mount ("none", "/mnt", "tmpfs", 0, NULL);
  if (strcmp (name, "setns") == 0)
    return syscall (SYS_setns, -1, 0);
  if (strcmp (name, "sethostname") == 0)
    return sethostname ("sysprobe", 8);
  if (strcmp (name, "settimeofday") == 0)
    {
      if (clock_gettime (CLOCK_REALTIME, &now) < 0)
        return -1;
      return clock_settime (CLOCK_REALTIME, &now);
    }
  if (strcmp (name, "open_by_handle_at") == 0)
    return syscall (SYS_open_by_handle_at, -1, NULL, 0);
  if (strcmp (name, "nr1000") == 0)
    /* no kernel has it: ENOSYS from the kernel, and from a filter that
       knows it is newer than its tables */
    return syscall (1000);
  if (strncmp (name, "socket-", 7) == 0)
    {
      int family = strcmp (name, "socket-unix") == 0    ? AF_UNIX
                   : strcmp (name, "socket-vsock") == 0 ? 40 /* AF_VSOCK */
                   : strcmp (name, "socket-alg") == 0   ? 38 /* AF_ALG */
                                                        : -1;
      long fd;
      if (family < 0)
        {
          errno = 0;
          return -2;
        }
      fd = syscall (SYS_socket, family, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd >= 0)
        close ((int)fd);
      return fd;
    }
  if (strcmp (name, "kcmp") == 0)
    /* KCMP_FILE of fd 0 with itself: 0 when allowed */
    return syscall (SYS_kcmp, getpid (), getpid (), 0, 0L, 0L);
  if (strcmp (name, "getpid") == 0)
    return syscall (SYS_getpid);
  if (strcmp (name, "chroot") == 0)
    return chroot ("/");
  errno = 0;
  return -2;
}

int
main (int argc, char **argv)
{
  int i, rc = 0;

  for (i = 1; i < argc; i++)
    {
      long r;
      errno = 0;
      r = call (argv[i]);
      if (r == -2 && errno == 0)
        {
          fprintf (stderr, "sysprobe: unknown name `%s`\n", argv[i]);
          rc = 2;
          continue;
        }
      if (r < 0)
        printf ("%s %s\n", argv[i], strerrorname_np (errno));
      else
        printf ("%s ok\n", argv[i]);
    }
  return rc;
}
