/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_OVERRIDE_H
#define HUTCH_OVERRIDE_H

/* The owner a file was given where the kernel could not give it: the
   `user.containers.override_stat` extended attribute, as containers/storage
   and fuse-overlayfs (xattr_permissions=2) write it.  hutch's root
   emulation (src/runtime/rootemu.c) writes it when a container with one
   mapped id chowns a file, shows it to stat, and the layer writers put it
   into the layer's tar headers.

   Text: "UID:GID:MODE" (MODE in octal, the permission bits), or with a
   fourth field, the type: file, dir, symlink, pipe, socket, char-MAJ-MIN or
   block-MAJ-MIN (a device node the kernel would not make, kept as an empty
   regular file).  hutch takes the permission bits from the file itself
   (chmod works on it); MODE records them at the time of the chown.  */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define HUTCH_OVERRIDE_XATTR "user.containers.override_stat"
/* Longest text hutch writes, with its NUL.  */
#define HUTCH_OVERRIDE_MAX 80

struct hutch_override
{
  uid_t uid;
  gid_t gid;
  mode_t mode; /* permission bits, and S_IFMT when the text names a type */
  bool has_type;
  unsigned int major, minor; /* char and block devices */
};

/* Parse LEN bytes of TEXT (not NUL-terminated, as getxattr gives it).
   Returns 0, or -EINVAL for anything but the forms above.  */
int hutch_override_parse (const char *text, size_t len, struct hutch_override *ret);
/* Write O into BUF (HUTCH_OVERRIDE_MAX bytes); returns the length, without
   the NUL.  */
size_t hutch_override_format (const struct hutch_override *o, char buf[HUTCH_OVERRIDE_MAX]);

/* The record on FD (an fd the attribute calls take: not O_PATH): 1 and
   *RET; 0 when there is none, or none hutch can take (too long, another
   form, a file system without user attributes); -errno for the rest.  */
int hutch_override_get (int fd, struct hutch_override *ret);
/* Record O on FD: 0 or -errno.  */
int hutch_override_set (int fd, const struct hutch_override *o);

#endif
