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
   checked with the notification id after opening.  A caller in a chroot
   of its own has its paths resolved beneath its root (path_base); one in
   another user or mount namespace gets the kernel's answers (rootemu.c).

   The handler acts as the namespace's root, which is what the caller is:
   it only writes an extended attribute in the user's namespace
   (base/override.h) on a regular file or directory the container can
   reach, or makes an empty regular file, after the kernel's rules for
   chown and mknod with the caller's capabilities.  That is no guard of
   the record: the container can write the attribute itself, as it could
   give a file any owner with a subordinate range.  A record is the
   container's word on its files, and whatever reads it (the layer
   writer) takes it as such.  */

#include "runtime/rootemu-private.h"
#include "base/override.h"
#include "base/syscalls.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

void
emu_files_init (void)
{
  /* The files the handler makes get exactly the mode asked for, less the
     caller's umask, applied by hand.  */
  umask (0);
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

/* fchown and fstat name no path: their fd alone.  */
#define NO_PATH UINT64_MAX

/* The base and resolve flags for PATH, a path of the caller's: with the
   caller's root the handler's own, an absolute path from our root and a
   relative one from its DIRFD, resolved as the kernel resolves them for
   it.  A caller in a chroot of its own: from its root, and a relative
   path from DIRFD as if DIRFD were a root (`..` stops there, an absolute
   symlink starts there): not always the file the kernel would find, but
   never one outside the caller's root.  Returns the base fd (AT_FDCWD,
   or one to close) or -errno.  */
static int
path_base (struct emu_call *c, int dirfd, const char *path, uint64_t *ret_resolve)
{
  char proc[64];
  int fd;

  *ret_resolve = RESOLVE_NO_MAGICLINKS;
  if (c->world & EMU_WORLD_ROOT)
    return path[0] == '/' ? AT_FDCWD : open_dir (c, dirfd);
  *ret_resolve |= RESOLVE_IN_ROOT;
  if (path[0] != '/')
    return open_dir (c, dirfd);
  snprintf (proc, sizeof proc, "%d/root", (int)c->tid);
  fd = openat (c->procfd, proc, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  if (!emu_valid (c))
    {
      close (fd);
      return -ESRCH;
    }
  return fd;
}

static int
openat2_at (int base, const char *path, int flags, uint64_t resolve)
{
  struct open_how how = { .flags = (uint64_t)flags, .resolve = resolve };
  int fd = (int)syscall (SYS_openat2, base, path, &how, sizeof how);
  return fd < 0 ? -errno : fd;
}

/* What the call names: DIRFD and the path at ADDR (NO_PATH: DIRFD alone,
   as fchown's fd), with AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH in FLAGS;
   an O_PATH fd of the file itself, or -errno.  A NULL path is EFAULT, as
   the kernel has it.  */
static int
resolve (struct emu_call *c, int dirfd, uint64_t addr, int flags)
{
  char path[4096];
  int base, fd, r;
  uint64_t how;

  if (addr == NO_PATH)
    return open_dir (c, dirfd);
  r = emu_read_string (c, addr, path, sizeof path);
  if (r < 0)
    return r;
  if (path[0] == '\0')
    return (flags & AT_EMPTY_PATH) ? open_dir (c, dirfd) : -ENOENT;
  base = path_base (c, dirfd, path, &how);
  if (base < 0 && base != AT_FDCWD)
    return base;
  fd = openat2_at (base, path,
                   O_PATH | O_CLOEXEC | ((flags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0), how);
  if (base >= 0)
    close (base);
  return fd;
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
  return hutch_override_get (rfd, ret);
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
      r = hutch_override_get (rfd, &cur);
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
    r = hutch_override_set (rfd, &nw);
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
  char path[4096], *slash, *name;
  _cleanup_close_ int parent = -1, fd = -1;
  int base, r;
  uint64_t how;
  struct stat made, now;

  cr = emu_creds_of (c);
  if (!emu_creds_capable (c, cr, CAP_MKNOD))
    return EMU_ANSWER_ERROR (EPERM);
  r = emu_read_string (c, addr, path, sizeof path);
  if (r < 0)
    return EMU_ANSWER_ERROR (-r);
  if (path[0] == '\0')
    return EMU_ANSWER_ERROR (ENOENT);
  if (emu_status (c) < 0)
    return EMU_ANSWER_ERROR (ESRCH);
  /* The directory, resolved as every path is; the name in it, made there
     with O_EXCL and never followed, and the record set through the fd it
     was made with: a name swapped meanwhile cannot take the record, nor
     our removal should that fail.  */
  base = path_base (c, dirfd, path, &how);
  if (base < 0 && base != AT_FDCWD)
    return EMU_ANSWER_ERROR (-base);
  slash = strrchr (path, '/');
  if (slash)
    {
      *slash = '\0';
      name = slash + 1;
      parent = openat2_at (base, *path ? path : "/", O_PATH | O_DIRECTORY | O_CLOEXEC, how);
    }
  else
    {
      name = path;
      parent = openat2_at (base, ".", O_PATH | O_DIRECTORY | O_CLOEXEC, how);
    }
  if (base >= 0)
    close (base);
  if (parent < 0)
    return EMU_ANSWER_ERROR (-parent);
  if (*name == '\0' || strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
    return EMU_ANSWER_ERROR (EEXIST);
  o.uid = cr->fsuid;
  o.gid = cr->fsgid;
  o.mode = (mode & S_IFMT) | (mode & 07777 & ~c->umask);
  o.has_type = true;
  /* The kernel's encoding of a 32-bit device number.  */
  o.major = (dev & 0xfff00u) >> 8;
  o.minor = (dev & 0xffu) | ((dev >> 12) & 0xfff00u);
  fd = openat (parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
               o.mode & 07777);
  if (fd < 0)
    return EMU_ANSWER_ERROR (errno);
  r = hutch_override_set (fd, &o);
  if (r < 0 && r != -ENOTSUP)
    {
      int e = -r;
      if (fstat (fd, &made) == 0 && fstatat (parent, name, &now, AT_SYMLINK_NOFOLLOW) == 0
          && made.st_dev == now.st_dev && made.st_ino == now.st_ino)
        unlinkat (parent, name, 0);
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
      return do_chown (c, INT (0), NO_PATH, UINT (1), UINT (2), 0);
    case SYS_fchownat:
      return do_chown (c, INT (0), a[1], UINT (2), UINT (3), INT (4));
    case SYS_stat:
      return do_stat (c, AT_FDCWD, a[0], 0, a[1], false, 0);
    case SYS_lstat:
      return do_stat (c, AT_FDCWD, a[0], AT_SYMLINK_NOFOLLOW, a[1], false, 0);
    case SYS_fstat:
      return do_stat (c, INT (0), NO_PATH, 0, a[1], false, 0);
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
