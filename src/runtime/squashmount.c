/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* squashfuse for a squashfs image file (runtime/squashmount.h).

   Why FUSE and not the kernel's squashfs: the kernel mounts squashfs only
   from a block device, which a user namespace cannot make (loop devices
   are the host root's).  squashfuse reads the file itself and is mounted
   as root of the container's user namespace (FUSE is mountable there), so
   the image's owners come through the container's id map like a layer's,
   and the kernel overlay takes the mount as its lower layer.

   What it trusts: the image is parsed by squashfuse, not by hutch; the
   daemon runs with the namespace's root and nothing more (no privilege on
   the host beyond the user's own), outside the container's PID namespace
   and cgroup, so the container can neither signal nor trace it.  It gets
   the image as an fd opened and checked by the launcher (no path is
   looked up again), and /dev/null, its error pipe and that fd only.  It is
   not sandboxed beyond that: an image made to exploit a bug of squashfuse
   reaches what the user reaches, as with Apptainer's and Charliecloud's
   squashfuse.  Mounting /dev/fuse here and handing squashfuse the mounted
   fd (libfuse's /dev/fd/N) would let it run without capabilities and
   under a seccomp filter: not done yet.  */

#include "runtime/squashmount.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FUSE_SUPER_MAGIC 0x65735546
#define START_TIMEOUT_MS 10000

char *
hutch_squash_find_program (void)
{
  /* squashfuse_ll is the low-level one, the faster (and, from 0.5,
     multithreaded); both take the same command line.  */
  char *p = hutch_find_program ("squashfuse_ll");
  return p ? p : hutch_find_program ("squashfuse");
}

int
hutch_squash_check_fuse (hutch_error_t *err)
{
  int fd = open ("/dev/fuse", O_RDWR | O_CLOEXEC);

  if (fd >= 0)
    {
      close (fd);
      return 0;
    }
  if (errno == ENOENT || errno == ENODEV || errno == ENXIO)
    return hutch_error_set (err, errno,
                            "a squashfs image is mounted with FUSE, and /dev/fuse is missing; an "
                            "administrator can load the module with `modprobe fuse`");
  return hutch_error_set (err, errno,
                          "a squashfs image is mounted with FUSE, and /dev/fuse cannot be opened; "
                          "an administrator can make it usable with `chmod 0666 /dev/fuse` (the "
                          "mode it has by default)");
}

static int
keep_sys_admin (void)
{
  cap_t caps = cap_get_proc ();
  cap_value_t one[] = { CAP_SYS_ADMIN };
  int r = caps && cap_set_flag (caps, CAP_INHERITABLE, 1, one, CAP_SET) == 0
                  && cap_set_proc (caps) == 0
                  && prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SYS_ADMIN, 0, 0) == 0
              ? 0
              : -1;
  if (caps)
    cap_free (caps);
  return r;
}

/* Between fork and exec: the daemon's stdio (/dev/null, and ERRFD for its
   messages), the image as fd 3, nothing else.  */
static void __attribute__ ((noreturn))
exec_daemon (const struct hutch_squash *sq, int nullfd, int errfd, pid_t parent)
{
  char *argv[] = { sq->program, (char *)"-f", (char *)"-o",
                   /* allow_other: the overlay reads the lower layer with
                      its mounter's credentials, but a process of another
                      uid of the container may meet the mount too (hutch
                      exec -u, fuse-overlayfs on top); the kernel still
                      checks the image's modes (default_permissions).  */
                   (char *)"ro,allow_other,default_permissions", (char *)"/proc/self/fd/3",
                   sq->mountpoint, NULL };

  /* It ends with A, also when A died before this line.  It gains nothing
     by exec (no setuid program can raise it), and no directory of the
     user's is its working directory.  */
  if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid () != parent
      || prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || chdir ("/") < 0)
    _exit (127);
  /* With --userns keep-id, A is the user's own uid in the namespace, not
     its root, and execve takes the namespace's capabilities from any uid
     but 0: libfuse's mount() would fail and it would fall back to the
     host's fusermount3, which refuses allow_other.  CAP_SYS_ADMIN of the
     namespace, kept as an ambient capability, is what root of it has
     there anyway; it reaches the host no further.  */
  if (getuid () != 0 && keep_sys_admin () < 0)
    _exit (127);
  if (dup2 (nullfd, 0) < 0 || dup2 (nullfd, 1) < 0 || dup2 (errfd, 2) < 0)
    _exit (127);
  if (sq->fd == 3 ? fcntl (3, F_SETFD, 0) < 0 : dup2 (sq->fd, 3) < 0)
    _exit (127);
  syscall (SYS_close_range, 4U, ~0U, 0U);
  execv (sq->program, argv);
  _exit (127);
}

static void
sleep_us (long us)
{
  struct timespec ts = { 0, us * 1000 };
  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}

/* Its message, without the trailing newlines.  */
static char *
daemon_message (int fd)
{
  hutch_error_t e = HUTCH_ERROR_INIT;
  char *text = NULL;
  size_t len;

  if (hutch_read_fd (fd, 65536, &text, NULL, &e) < 0)
    {
      hutch_error_clear (&e);
      return hutch_xstrdup ("no message");
    }
  len = strlen (text);
  while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
    text[--len] = '\0';
  if (len == 0)
    {
      free (text);
      return hutch_xstrdup ("no message");
    }
  return text;
}

/* squashfuse reads little more than the superblock to mount: a file
   damaged further in would fail the container's first lookup ("sh: not
   found").  Its root directory, read now, fails the start instead, with
   the cause.  Returns PID, or -1 with the daemon stopped.  */
static pid_t
root_readable (const struct hutch_squash *sq, const char *prog, pid_t pid, hutch_error_t *err)
{
  struct stat st;

  if (stat (sq->mountpoint, &st) == 0 && S_ISDIR (st.st_mode))
    return pid;
  hutch_error_set (err, errno,
                   "%s mounted the squashfs image `%s`, but its root directory cannot be read; "
                   "the file is damaged: make it again with `hutch save --format squashfs`",
                   prog, sq->image);
  kill (pid, SIGKILL);
  while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
    ;
  umount2 (sq->mountpoint, MNT_DETACH | UMOUNT_NOFOLLOW);
  return -1;
}

pid_t
hutch_squash_start (const struct hutch_spec *spec, hutch_error_t *err)
{
  const struct hutch_squash *sq = spec->extra.squash;
  _cleanup_close_ int nullfd = -1;
  const char *prog;
  long long deadline;
  int errpipe[2];
  pid_t pid, self = getpid ();

  /* Nothing else would stop it: a container that outlives its creator
     (hutch-oci create) has no watchdog.  */
  if (spec->extra.outlive)
    return hutch_error_set (err, 0,
                            "a squashfs image file needs the container's watchdog; "
                            "it cannot run as a container that outlives its creator");
  /* The mount stays in this namespace: no propagation to the host.  */
  if (mount ("", "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
    return hutch_error_set (err, errno, "make the mount namespace private");
  if (hutch_squash_check_fuse (err) < 0)
    return -1;
  nullfd = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (nullfd < 0)
    return hutch_error_set (err, errno, "open /dev/null");
  if (pipe2 (errpipe, O_CLOEXEC) < 0)
    return hutch_error_set (err, errno, "pipe");
  prog = strrchr (sq->program, '/') ? strrchr (sq->program, '/') + 1 : sq->program;
  pid = fork ();
  if (pid < 0)
    {
      close (errpipe[0]);
      close (errpipe[1]);
      return hutch_error_set (err, errno, "fork %s", prog);
    }
  if (pid == 0)
    exec_daemon (sq, nullfd, errpipe[1], self);
  close (errpipe[1]);

  /* Its mount, or its end: squashfuse mounts before it serves, and says
     nothing when it did, so the mount point is looked at.  */
  deadline = hutch_now_ms () + START_TIMEOUT_MS;
  for (;;)
    {
      struct statfs sfs;
      int st;

      if (statfs (sq->mountpoint, &sfs) == 0 && sfs.f_type == FUSE_SUPER_MAGIC)
        {
          close (errpipe[0]);
          return root_readable (sq, prog, pid, err);
        }
      if (waitpid (pid, &st, WNOHANG) == pid)
        {
          _cleanup_free_ char *msg = daemon_message (errpipe[0]);
          close (errpipe[0]);
          if (WIFEXITED (st) && WEXITSTATUS (st) == 127 && strcmp (msg, "no message") == 0)
            return hutch_error_set (err, 0, "%s could not be started", sq->program);
          return hutch_error_set (err, 0,
                                  "%s could not mount the squashfs image `%s` (%s); when the "
                                  "file is damaged, make it again with `hutch save --format "
                                  "squashfs`",
                                  prog, sq->image, msg);
        }
      if (hutch_now_ms () > deadline)
        break;
      sleep_us (200);
    }
  kill (pid, SIGKILL);
  while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
    ;
  close (errpipe[0]);
  return hutch_error_set (err, ETIMEDOUT, "%s did not mount the squashfs image `%s` in %d s", prog,
                          sq->image, START_TIMEOUT_MS / 1000);
}

void
hutch_squash_stop (const struct hutch_spec *spec, pid_t pid)
{
  const struct hutch_squash *sq = spec->extra.squash;

  if (sq == NULL || pid <= 0)
    return;
  kill (pid, SIGKILL);
  while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
    ;
  /* The connection is gone with the daemon; the mount point is left to
     detach, or the container's directory could not be removed.  */
  umount2 (sq->mountpoint, MNT_DETACH | UMOUNT_NOFOLLOW);
}

void
hutch_squash_free (struct hutch_squash *sq)
{
  if (sq == NULL)
    return;
  if (sq->fd >= 0)
    close (sq->fd);
  free (sq->image);
  free (sq->program);
  free (sq->mountpoint);
  free (sq);
}
