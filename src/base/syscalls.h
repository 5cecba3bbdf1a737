/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_SYSCALLS_H
#define HUTCH_SYSCALLS_H

/* Thin wrappers for the kernel interfaces glibc 2.36 does not wrap (or
   wraps only in headers that clash with <sys/mount.h>).  hutch needs the
   new mount API (Linux 5.2), openat2 (5.6) and mount_setattr (5.12).  */

#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

/* glibc 2.36 declares the constants and struct mount_attr (from
   <linux/mount.h>); the syscalls are called directly below so that older
   C libraries that lack the wrappers work too.  */
#include <sys/mount.h>

/* The numbers of calls glibc 2.36's headers may lack.  */
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

static inline int
hutch_open_tree (int dfd, const char *path, unsigned int flags)
{
  return (int)syscall (SYS_open_tree, dfd, path, flags);
}

static inline int
hutch_move_mount (int from_dfd, const char *from, int to_dfd, const char *to, unsigned int flags)
{
  return (int)syscall (SYS_move_mount, from_dfd, from, to_dfd, to, flags);
}

static inline int
hutch_fsopen (const char *fsname, unsigned int flags)
{
  return (int)syscall (SYS_fsopen, fsname, flags);
}

static inline int
hutch_fsconfig (int fd, unsigned int cmd, const char *key, const void *value, int aux)
{
  return (int)syscall (SYS_fsconfig, fd, cmd, key, value, aux);
}

static inline int
hutch_fsmount (int fd, unsigned int flags, unsigned int attr_flags)
{
  return (int)syscall (SYS_fsmount, fd, flags, attr_flags);
}

static inline int
hutch_mount_setattr (int dfd, const char *path, unsigned int flags, struct mount_attr *attr)
{
  return (int)syscall (SYS_mount_setattr, dfd, path, flags, attr, sizeof *attr);
}

static inline long
hutch_openat2 (int dfd, const char *path, struct open_how *how, size_t size)
{
  return syscall (SYS_openat2, dfd, path, how, size);
}

static inline int
hutch_pivot_root (const char *new_root, const char *put_old)
{
  return (int)syscall (SYS_pivot_root, new_root, put_old);
}

/* fchmodat2 (Linux 6.6) is the first chmod by name that can refuse to
   follow a symlink in the kernel; the number is the same on every
   architecture.  */
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

static inline int
hutch_fchmodat2 (int dfd, const char *path, mode_t mode, unsigned int flags)
{
  return (int)syscall (SYS_fchmodat2, dfd, path, mode, flags);
}

static inline int
hutch_close_range (unsigned int first, unsigned int last, unsigned int flags)
{
  return (int)syscall (SYS_close_range, first, last, flags);
}

#endif
