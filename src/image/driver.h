/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_DRIVER_H
#define HUTCH_DRIVER_H

/* Choosing how a container's root is made from image layers: kernel
   overlayfs inside the user namespace when a probe mount succeeds, else
   fuse-overlayfs, else a plain copy (vfs).  */

#include "base/error.h"
#include "runtime/spec.h"

enum hutch_driver_choice
{
  HUTCH_STORAGE_OVERLAY,
  HUTCH_STORAGE_FUSE,
  HUTCH_STORAGE_VFS,
};

const char *hutch_storage_name (enum hutch_driver_choice d);
/* "overlay", "fuse-overlayfs" or "vfs"; -1 otherwise.  */
int hutch_storage_from_name (const char *name);

/* Probe kernel overlayfs in a user namespace, with scratch directories
   under SCRATCH (which must exist and be writable).  Returns 1 when it
   mounts, 0 when not (RET_WHY says why), -1 on an error of the probe.  */
int hutch_probe_kernel_overlay (const char *scratch, char **ret_why, hutch_error_t *err);

/* Find fuse-overlayfs in PATH and check /dev/fuse; NULL with RET_WHY.  */
char *hutch_find_fuse_overlayfs (char **ret_why);

/* Decide: FORCED (or -1 for automatic) and the probes.  RET_WHY explains
   the choice in one line, for `hutch info`.  */
int hutch_storage_choose (int forced, const char *scratch, enum hutch_driver_choice *ret,
                          char **ret_fuse_program, char **ret_why, hutch_error_t *err);

#endif
