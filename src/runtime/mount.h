/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_MOUNT_H
#define HUTCH_MOUNT_H

/* Building the container's root filesystem inside its new mount namespace.
   Every mount is made through file descriptors with the new mount API:
   sources are opened (open_tree) in the host's view before anything is
   covered, targets are opened with RESOLVE_IN_ROOT, and the two are joined
   with move_mount, so no path is looked up twice and a symlink swapped in
   between cannot redirect a mount (the CVE-2021-30465 class).  */

#include "base/error.h"
#include "runtime/spec.h"

struct hutch_rootfs
{
  int rootfd;  /* the new root's mount, once attached */
  int *srcfds; /* per spec mount: a detached clone of a bind source, or -1 */
  int *volfds; /* per spec mount: a bind source to copy into or chown, or -1 */
  /* per spec mount: an overlay's filesystem options with its directories
     as /proc/self/fd/N of DIRFDS (opened in the host's view), or NULL */
  char ***fsdata;
  int *dirfds;
  size_t n_dirfds;
  int devfds[8];
  int nullfd;      /* the host's /dev/null, for stdin and masked files */
  int *userdevfds; /* per spec device: a detached clone of the host's node */
  size_t n_userdevs;
  int localtimefd; /* extra.localtime's detached clone, or -1 */
};

/* Capture everything that must be looked up in the host's view: bind
   sources and the device nodes.  Runs in the new mount namespace, before
   hutch_rootfs_build covers anything.  */
int hutch_rootfs_prepare (const struct hutch_spec *spec, struct hutch_rootfs *rfs,
                          hutch_error_t *err);
/* Attach the root, make every mount of SPEC in order, add the devices,
   generated files, masked and read-only paths.  */
int hutch_rootfs_build (const struct hutch_spec *spec, struct hutch_rootfs *rfs,
                        hutch_error_t *err);
/* pivot_root into the new root and detach the old one.  */
int hutch_rootfs_pivot (struct hutch_rootfs *rfs, hutch_error_t *err);
void hutch_rootfs_close (struct hutch_rootfs *rfs, size_t n_mounts);

/* The kernel overlay OV (its lower layers, and upper and work unless
   OV->upper is NULL) as a detached mount, attached nowhere: an fd of its
   root.  The caller must be in a mount namespace that its user namespace
   owns.  For reading a stopped container's files (front/ctrfs.c) as its
   run would see them.  */
int hutch_overlay_mount (const struct hutch_overlay *ov, hutch_error_t *err);

/* fuse-overlayfs for OV, mounted on OV->mountpoint in the caller's mount
   namespace, run in the foreground as the caller's child (it dies with
   it): its pid once the mount is there, or -1.  */
pid_t hutch_overlay_start_fuse (const struct hutch_overlay *ov, hutch_error_t *err);

/* Every option of config.json's mounts that hutch takes itself (not as
   data for the filesystem): bind, rbind, tmpcopyup, the mount flags and
   their recursive forms, the propagations.  For `hutch-oci features`.  */
char **hutch_mount_option_names (void);

#endif
