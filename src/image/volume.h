/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_VOLUME_H
#define HUTCH_VOLUME_H

/* Volumes: directories of the store that outlive containers, docker's and
   podman's named (and anonymous) volumes with the "local" driver.

     ROOT/volumes/NAME/              the volume: the user's, mode 0700
     ROOT/volumes/NAME/_data/        what containers see (the mount's source)
     ROOT/volumes/NAME/volume.json   its record: creation time, labels,
                                     whether it is anonymous

   A volume appears by rename(2) of a complete directory from ROOT/tmp, and
   goes by a rename into ROOT/tmp before it is removed (its files may belong
   to subordinate ids, which only a user namespace can delete): a killed
   hutch leaves nothing half-made under volumes/, and the store removes what
   it left in tmp/ (src/image/store.h).  NAME is always checked with
   hutch_volume_name_valid (no `/`, no leading `.`) before it is used.

   In use.  A `hutch run` holds a shared flock(2) on the volume's directory
   ROOT/volumes/NAME for as long as its container runs, taken on a new
   volume before the volume appears.  Removing takes it exclusive without
   waiting, so a volume in use is not removed (unless forced); `hutch run`
   checks, once it holds the lock, that NAME still names the directory it
   locked (a removal may have renamed it away in between).  */

#include "base/error.h"
#include "image/store.h"

#include <stdbool.h>
#include <stddef.h>

struct hutch_volume_info
{
  char *name;
  char *mountpoint; /* ROOT/volumes/NAME/_data */
  char *created;    /* RFC 3339, UTC */
  char **labels;    /* K=V, NULL-terminated (maybe empty) */
  bool anonymous;   /* made by a run for --mount type=volume without a source or
                       -v DST, and removed after it */
};

void hutch_volume_info_clear (struct hutch_volume_info *v);
void hutch_volume_info_list_free (struct hutch_volume_info *v, size_t n);

/* A new volume NAME (NULL: a random name of 64 hex digits) with LABELS
   (K=V, may be NULL).  An existing NAME is -EEXIST, with a message.  */
int hutch_volume_create (struct hutch_store *s, const char *name, char *const *labels,
                         struct hutch_volume_info *ret, hutch_error_t *err);

/* The volume NAME for a container, made first when it does not exist
   (with LABELS), or, with NAME NULL, a new anonymous one; *RET_LOCKFD holds
   its shared lock (close it when the container is gone) and *RET_CREATED
   says whether it was made now.  */
int hutch_volume_use (struct hutch_store *s, const char *name, char *const *labels,
                      struct hutch_volume_info *ret, int *ret_lockfd, bool *ret_created,
                      hutch_error_t *err);

/* The volume NAME's record; -ENOENT when there is none.  */
int hutch_volume_inspect (struct hutch_store *s, const char *name, struct hutch_volume_info *ret,
                          hutch_error_t *err);

/* Every volume, sorted by name.  */
int hutch_volume_list (struct hutch_store *s, struct hutch_volume_info **ret, size_t *ret_n,
                       hutch_error_t *err);

/* Remove the volume NAME and its content: -ENOENT when there is none,
   -EBUSY when a running container uses it, unless FORCE (the container
   then keeps an empty directory).  */
int hutch_volume_remove (struct hutch_store *s, const char *name, bool force, hutch_error_t *err);

/* Remove every volume no running container uses; *RET_REMOVED gets their
   names.  */
int hutch_volume_prune (struct hutch_store *s, char ***ret_removed, hutch_error_t *err);

#endif
