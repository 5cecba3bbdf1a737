/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* Root emulation: owners, stat and device nodes.

   Every path comes from the caller's memory and is resolved here, by the
   handler, whose root and mount namespace are the container's (the
   handler joined them): absolute paths, `..` and symlinks end inside the
   container's root as they do for the container's own processes, so no
   path a container names (a symlink to /etc/passwd, a string swapped by a
   racing thread) can reach a host file that the container does not
   reach.  Magic links (/proc/PID/fd/N, /proc/PID/root) are not followed
   at all.  The caller's working directory and dirfd come through the
   handler's /proc of the host's pid namespace, opened before, and are
   checked with the notification id after opening.  A caller whose root or
   mount namespace is not the container's (a chroot inside) is left to the
   kernel.

   The handler acts as the namespace's root, which is what the caller is:
   it only writes an extended attribute in the user's namespace
   (base/override.h) on a regular file or directory the container can
   reach, or makes an empty regular file, after the same permission checks
   the kernel would make of a root process with the caller's
   capabilities.  */

#include "runtime/rootemu-private.h"
#include "base/override.h"
#include "base/syscalls.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

static dev_t root_dev, mntns_dev;
static ino_t root_ino, mntns_ino;
static bool world_known;

void
emu_files_init (int procfd)
{
  struct stat r, m;

  /* The files the handler makes get exactly the mode asked for, less the
     caller's umask, applied by hand.  */
  umask (0);
  world_known = stat ("/", &r) == 0 && fstatat (procfd, "self/ns/mnt", &m, 0) == 0;
  root_dev = r.st_dev;
  root_ino = r.st_ino;
  mntns_dev = m.st_dev;
  mntns_ino = m.st_ino;
}

bool
emu_files_handles (int nr)
{
  switch (nr)
    {
    case SYS_chown:
    case SYS_fchown:
    case SYS_lchown:
    case SYS_fchownat:
    case SYS_stat:
    case SYS_lstat:
    case SYS_fstat:
    case SYS_newfstatat:
    case SYS_statx:
    case SYS_mknod:
    case SYS_mknodat:
      return true;
    default:
      return false;
    }
}

/* Whether the caller sees the files as the handler does: the same root
   and the same mount namespace.  */
static bool
check_world (struct emu_call *c)
{
  char path[64];
  struct stat st;

  if (!world_known)
    return false;
  snprintf (path, sizeof path, "%d/root", (int)c->tid);
  if (fstatat (c->procfd, path, &st, 0) < 0 || st.st_dev != root_dev || st.st_ino != root_ino)
    return false;
  snprintf (path, sizeof path, "%d/ns/mnt", (int)c->tid);
  return fstatat (c->procfd, path, &st, 0) == 0 && st.st_dev == mntns_dev && st.st_ino == mntns_ino;
}

/* The answers of check_world, per thread (a pidfd of each: a dead
   thread's answer is dropped, never taken by a new thread that got its
   id), forgotten whenever any process changes its root or mount
   namespace (emu_files_forget): a third of a stat's cost otherwise.  */
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif
#define SEEN_MAX 256
static struct
{
  pid_t tid;
  int pidfd;
  bool same;
} seen[SEEN_MAX];
static size_t n_seen;

static bool
seen_alive (size_t i)
{
  struct pollfd p = { seen[i].pidfd, POLLIN, 0 };
  return poll (&p, 1, 0) == 0;
}

static void
seen_drop (size_t i)
{
  close (seen[i].pidfd);
  seen[i] = seen[--n_seen];
}

void
emu_files_forget (void)
{
  while (n_seen > 0)
    seen_drop (n_seen - 1);
}

static bool
same_world (struct emu_call *c)
{
  size_t i;
  bool same;
  int pidfd;

  for (i = 0; i < n_seen; i++)
    if (seen[i].tid == c->tid)
      {
        if (seen_alive (i))
          return seen[i].same;
        seen_drop (i);
        break;
      }
  same = check_world (c);
  /* Kept only when the pidfd is the caller's thread: checked after
     opening.  Without PIDFD_THREAD (Linux 6.9), nothing is kept.  */
  pidfd = (int)syscall (SYS_pidfd_open, c->tid, PIDFD_THREAD);
  if (pidfd < 0)
    return same;
  if (!emu_valid (c))
    {
      close (pidfd);
      return same;
    }
  if (n_seen == SEEN_MAX)
    for (i = n_seen; i-- > 0;)
      if (!seen_alive (i))
        seen_drop (i);
  if (n_seen == SEEN_MAX)
    seen_drop (0);
  seen[n_seen].tid = c->tid;
  seen[n_seen].pidfd = pidfd;
  seen[n_seen].same = same;
  n_seen++;
  return same;
}

/* The caller's directory fd DIRFD (AT_FDCWD: its working directory), as an
   O_PATH fd of our own.  */
static int
open_dir (struct emu_call *c, int dirfd)
{
  char path[64];
  int fd;

  if (dirfd == AT_FDCWD)
    snprintf (path, sizeof path, "%d/cwd", (int)c->tid);
  else if (dirfd >= 0)
    snprintf (path, sizeof path, "%d/fd/%d", (int)c->tid, dirfd);
  else
    return -EBADF;
  fd = openat (c->procfd, path, O_PATH | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? -EBADF : -errno;
  if (!emu_valid (c))
    {
      close (fd);
      return -ESRCH;
    }
  return fd;
}

/* What the call names: DIRFD and the path at ADDR (0: none, as fchown's
   fd), with AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH in FLAGS; an O_PATH fd
   of the file itself, or -errno.  */
static int
resolve (struct emu_call *c, int dirfd, uint64_t addr, int flags)
{
  char path[4096];
  struct open_how how = { 0 };
  _cleanup_close_ int dfd = -1;
  int fd, r;

  if (addr == 0)
    return open_dir (c, dirfd);
  r = emu_read_string (c, addr, path, sizeof path);
  if (r < 0)
    return r;
  if (path[0] == '\0')
    return (flags & AT_EMPTY_PATH) ? open_dir (c, dirfd) : -ENOENT;
  if (path[0] != '/')
    {
      dfd = open_dir (c, dirfd);
      if (dfd < 0)
        return dfd;
    }
  how.flags = O_PATH | O_CLOEXEC | ((flags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0);
  how.resolve = RESOLVE_NO_MAGICLINKS;
  fd = (int)syscall (SYS_openat2, path[0] == '/' ? AT_FDCWD : dfd, path, &how, sizeof how);
  return fd < 0 ? -errno : fd;
}

/* A regular file or directory behind the O_PATH fd FD, opened for the
   attribute calls (which refuse O_PATH fds), through our own /proc.  */
static int
reopen (struct emu_call *c, int fd)
{
  char path[64];
  int r;

  snprintf (path, sizeof path, "self/fd/%d", fd);
  r = openat (c->procfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  return r < 0 ? -errno : r;
}

/* The override behind RFD, an fd of a regular file or directory opened
   for reading (reopen): 1, none (0), or -errno.  */
static int
read_override (int rfd, struct hutch_override *ret)
{
  char text[HUTCH_OVERRIDE_MAX];
  ssize_t n = fgetxattr (rfd, HUTCH_OVERRIDE_XATTR, text, sizeof text);

  if (n < 0)
    return errno == ENODATA || errno == ENOTSUP ? 0 : -errno;
  return hutch_override_parse (text, (size_t)n, ret) == 0 ? 1 : 0;
}

/* The override of the O_PATH fd FD (1), none (0), or -errno.
   (getxattrat(2) of Linux 6.13 refuses O_PATH fds with EBADF: a reopen
   it is.)  */
static int
get_override (struct emu_call *c, int fd, const struct stat *st, struct hutch_override *ret)
{
  _cleanup_close_ int rfd = -1;

  if (!S_ISREG (st->st_mode) && !S_ISDIR (st->st_mode))
    return 0;
  rfd = reopen (c, fd);
  if (rfd < 0)
    return rfd;
  return read_override (rfd, ret);
}

/* ---- chown ---------------------------------------------------------------- */

static bool
in_groups (const struct emu_creds *cr, gid_t g)
{
  size_t i;
  if (g == cr->fsgid)
    return true;
  for (i = 0; cr->groups && i < cr->n_groups; i++)
    if (cr->groups[i] == g)
      return true;
  return false;
}

#define UNSET ((unsigned int)-1)

static struct emu_answer
do_chown (struct emu_call *c, int dirfd, uint64_t addr, unsigned int uid, unsigned int gid,
          int flags)
{
  const struct emu_creds *cr;
  struct hutch_override cur = { 0 }, nw;
  _cleanup_close_ int fd = -1, rfd = -1;
  struct stat st;
  int r;

  if (!same_world (c))
    return (uid == 0 || uid == UNSET) && (gid == 0 || gid == UNSET) ? EMU_ANSWER_CONTINUE
                                                                    : EMU_ANSWER_VALUE (0);
  fd = resolve (c, dirfd, addr, flags);
  if (fd < 0)
    return EMU_ANSWER_ERROR (-fd);
  if (fstat (fd, &st) < 0)
    return EMU_ANSWER_ERROR (errno);
  r = 0;
  if (S_ISREG (st.st_mode) || S_ISDIR (st.st_mode))
    {
      rfd = reopen (c, fd);
      if (rfd < 0)
        return EMU_ANSWER_ERROR (-rfd);
      r = read_override (rfd, &cur);
    }
  if (r < 0)
    return EMU_ANSWER_ERROR (-r);
  if (r == 0)
    {
      cur.uid = st.st_uid;
      cur.gid = st.st_gid;
    }
  /* The kernel's rule for chown, with the ids the caller was told it has:
     CAP_CHOWN may give any owner; the owner may change the group to one
     of its own.  */
  cr = emu_creds_of (c);
  if (!emu_creds_capable (c, cr, CAP_CHOWN)
      && (cur.uid != cr->fsuid || (uid != UNSET && uid != cur.uid)
          || (gid != UNSET && gid != cur.gid && !in_groups (cr, gid))))
    return EMU_ANSWER_ERROR (EPERM);
  nw = cur;
  nw.uid = uid == UNSET ? cur.uid : uid;
  nw.gid = gid == UNSET ? cur.gid : gid;
  nw.mode = (st.st_mode & 07777) | (cur.has_type ? (cur.mode & S_IFMT) : 0);
  if (rfd < 0)
    /* No user attribute on a symlink, pipe, socket or device: the kernel
       does what it can (an owner of the namespace), the rest succeeds
       unrecorded.  */
    return (nw.uid == 0 && nw.gid == 0) ? EMU_ANSWER_CONTINUE : EMU_ANSWER_VALUE (0);
  if (r == 1 && nw.uid == cur.uid && nw.gid == cur.gid)
    r = 0; /* recorded already: no write (which would copy the file up) */
  else if (nw.uid == 0 && nw.gid == 0 && !nw.has_type)
    r = fremovexattr (rfd, HUTCH_OVERRIDE_XATTR) < 0 && errno != ENODATA ? -errno : 0;
  else
    {
      char text[HUTCH_OVERRIDE_MAX];
      size_t n = hutch_override_format (&nw, text);
      r = fsetxattr (rfd, HUTCH_OVERRIDE_XATTR, text, n, 0) < 0 ? -errno : 0;
    }
  if (r == -ENOTSUP)
    return EMU_ANSWER_VALUE (0); /* a file system without user attributes */
  if (r < 0)
    return EMU_ANSWER_ERROR (r == -EACCES ? EPERM : -r);
  /* As a real chown, of a file that is not a directory: the set-user-ID
     bit goes, and the set-group-ID bit where it means one (group execute).  */
  if (S_ISREG (st.st_mode) && (st.st_mode & (S_ISUID | S_ISGID)))
    {
      mode_t m = st.st_mode & 07777 & ~(mode_t)S_ISUID;
      if (st.st_mode & S_IXGRP)
        m &= ~(mode_t)S_ISGID;
      fchmod (rfd, m);
    }
  return EMU_ANSWER_VALUE (0);
}

/* ---- stat ----------------------------------------------------------------- */

static void
apply_type (const struct hutch_override *o, mode_t *mode, unsigned int *maj, unsigned int *min)
{
  if (!o->has_type || (!S_ISCHR (o->mode) && !S_ISBLK (o->mode)))
    return;
  *mode = (*mode & 07777) | (o->mode & S_IFMT);
  *maj = o->major;
  *min = o->minor;
}

/* A stat call: the recorded owner of a file that has one; for every other
   file (and whatever we cannot resolve), the kernel's own answer.  */
static struct emu_answer
do_stat (struct emu_call *c, int dirfd, uint64_t addr, int flags, uint64_t buf, bool is_statx,
         unsigned int mask)
{
  struct hutch_override o;
  _cleanup_close_ int fd = -1;
  struct stat st;

  if (!same_world (c))
    return EMU_ANSWER_CONTINUE;
  fd = resolve (c, dirfd, addr, flags);
  if (fd < 0 || fstat (fd, &st) < 0 || get_override (c, fd, &st, &o) != 1)
    return EMU_ANSWER_CONTINUE;
  if (is_statx)
    {
      struct statx sx;
      if (statx (fd, "", AT_EMPTY_PATH | (flags & AT_STATX_SYNC_TYPE), mask, &sx) < 0)
        return EMU_ANSWER_CONTINUE;
      sx.stx_uid = o.uid;
      sx.stx_gid = o.gid;
      {
        mode_t m = sx.stx_mode;
        apply_type (&o, &m, &sx.stx_rdev_major, &sx.stx_rdev_minor);
        sx.stx_mode = (uint16_t)m;
      }
      if (!emu_valid (c))
        return EMU_ANSWER_CONTINUE;
      return emu_write (c, buf, &sx, sizeof sx) < 0 ? EMU_ANSWER_ERROR (EFAULT)
                                                    : EMU_ANSWER_VALUE (0);
    }
  st.st_uid = o.uid;
  st.st_gid = o.gid;
  {
    unsigned int maj = major (st.st_rdev), min = minor (st.st_rdev);
    apply_type (&o, &st.st_mode, &maj, &min);
    st.st_rdev = makedev (maj, min);
  }
  return emu_write (c, buf, &st, sizeof st) < 0 ? EMU_ANSWER_ERROR (EFAULT) : EMU_ANSWER_VALUE (0);
}

/* ---- device nodes --------------------------------------------------------- */

/* mknod of a character or block device (the filter hands over no other):
   an empty regular file with the caller's umask, owned by the caller as
   far as it was told, its type and number recorded.  Root with
   CAP_MKNOD only, as the kernel asks.  */
static struct emu_answer
do_mknod (struct emu_call *c, int dirfd, uint64_t addr, mode_t mode, unsigned int dev)
{
  const struct emu_creds *cr;
  struct hutch_override o = { 0 };
  char path[4096], text[HUTCH_OVERRIDE_MAX];
  _cleanup_close_ int dfd = -1, fd = -1;
  size_t n;
  int r;

  if (!same_world (c))
    return EMU_ANSWER_ERROR (EPERM);
  cr = emu_creds_of (c);
  if (!emu_creds_capable (c, cr, CAP_MKNOD))
    return EMU_ANSWER_ERROR (EPERM);
  r = emu_read_string (c, addr, path, sizeof path);
  if (r < 0)
    return EMU_ANSWER_ERROR (-r);
  if (path[0] != '/')
    {
      dfd = open_dir (c, dirfd);
      if (dfd < 0)
        return EMU_ANSWER_ERROR (-dfd);
    }
  if (emu_status (c) < 0)
    return EMU_ANSWER_ERROR (ESRCH);
  o.uid = cr->fsuid;
  o.gid = cr->fsgid;
  o.mode = (mode & S_IFMT) | (mode & 07777 & ~c->umask);
  o.has_type = true;
  /* The kernel's encoding of a 32-bit device number.  */
  o.major = (dev & 0xfff00u) >> 8;
  o.minor = (dev & 0xffu) | ((dev >> 12) & 0xfff00u);
  if (mknodat (path[0] == '/' ? AT_FDCWD : dfd, path, S_IFREG | (o.mode & 07777), 0) < 0)
    return EMU_ANSWER_ERROR (errno);
  fd = openat (path[0] == '/' ? AT_FDCWD : dfd, path,
               O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return EMU_ANSWER_ERROR (errno);
  n = hutch_override_format (&o, text);
  if (fsetxattr (fd, HUTCH_OVERRIDE_XATTR, text, n, 0) < 0 && errno != ENOTSUP)
    {
      int e = errno;
      unlinkat (path[0] == '/' ? AT_FDCWD : dfd, path, 0);
      return EMU_ANSWER_ERROR (e);
    }
  return EMU_ANSWER_VALUE (0);
}

struct emu_answer
emu_files_call (struct emu_call *c)
{
  const __u64 *a = c->req->data.args;
#define INT(i) ((int)(a[i] & 0xffffffffu))
#define UINT(i) ((unsigned int)(a[i] & 0xffffffffu))
  switch (c->req->data.nr)
    {
    case SYS_chown:
      return do_chown (c, AT_FDCWD, a[0], UINT (1), UINT (2), 0);
    case SYS_lchown:
      return do_chown (c, AT_FDCWD, a[0], UINT (1), UINT (2), AT_SYMLINK_NOFOLLOW);
    case SYS_fchown:
      return do_chown (c, INT (0), 0, UINT (1), UINT (2), 0);
    case SYS_fchownat:
      return do_chown (c, INT (0), a[1], UINT (2), UINT (3), INT (4));
    case SYS_stat:
      return do_stat (c, AT_FDCWD, a[0], 0, a[1], false, 0);
    case SYS_lstat:
      return do_stat (c, AT_FDCWD, a[0], AT_SYMLINK_NOFOLLOW, a[1], false, 0);
    case SYS_fstat:
      return do_stat (c, INT (0), 0, 0, a[1], false, 0);
    case SYS_newfstatat:
      return do_stat (c, INT (0), a[1], INT (3), a[2], false, 0);
    case SYS_statx:
      return do_stat (c, INT (0), a[1], INT (2), a[4], true, UINT (3));
    case SYS_mknod:
      return do_mknod (c, AT_FDCWD, a[0], (mode_t)UINT (1), UINT (2));
    case SYS_mknodat:
      return do_mknod (c, INT (0), a[1], (mode_t)UINT (2), UINT (3));
    default:
      return EMU_ANSWER_CONTINUE;
    }
#undef INT
#undef UINT
}
