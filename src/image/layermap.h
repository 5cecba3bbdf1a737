/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_LAYERMAP_H
#define HUTCH_LAYERMAP_H

/* The id mapping a layer was unpacked under, and whether a layer in the
   store is still right for the user's mapping now.

   A layer is unpacked as root of a user namespace with the user's default
   map (container 0 -> the user, 1..N -> the subordinate ids), so a file's
   owner on disk is the host id that the archive's owner maps to.  Without
   a subordinate range only the user's own id exists, and every file
   becomes the user's: root's inside, whatever the archive said.  Such a
   layer stays wrong after an administrator grants a range, and one
   unpacked with a range that later changed holds host ids that no longer
   stand for the ids of the image.  So each layer records the mapping it
   was unpacked under, in ROOT/layers/<hex>/idmap, written by the unpacker
   from its own namespace's maps:

     hutch-layer-idmap 1
     owners kept          (or "owners squashed": every file became the user's)
     uid 0 1000 1         (container id, host id, count: one line an extent)
     uid 1 100000 65536
     gid 0 1000 1
     gid 1 100000 65536
*/

#include "base/error.h"
#include "runtime/spec.h"

#include <stdbool.h>
#include <stddef.h>

struct hutch_layermap
{
  bool kept; /* files got the archive's owners (more than one id mapped) */
  struct hutch_idmap *uid, *gid;
  size_t n_uid, n_gid;
};

void hutch_layermap_clear (struct hutch_layermap *m);

/* The record's text, and back: -EINVAL for a text that is not one.  */
char *hutch_layermap_format (const struct hutch_layermap *m);
int hutch_layermap_parse (const char *text, struct hutch_layermap *ret);

/* The mapping a layer unpacked now would get: the user's default map
   (hutch_idplan_make), as hutch_in_userns writes it.  */
int hutch_layermap_current (struct hutch_layermap *ret, hutch_error_t *err);

/* In the user namespace that unpacks a layer into LAYERDIR/diff: write the
   record of this namespace's own maps as LAYERDIR/idmap, and say in
   *RET_KEPT whether files can get the archive's owners (hutch_unpack_opts'
   chown).  */
int hutch_layermap_record_self (const char *layerdir, bool *ret_kept, hutch_error_t *err);

enum hutch_layermap_verdict
{
  HUTCH_LAYERMAP_CURRENT,  /* right for the current mapping */
  HUTCH_LAYERMAP_SQUASHED, /* unpacked without a range, and now there is one */
  HUTCH_LAYERMAP_MOVED,    /* unpacked with ids that now stand for others, or
                              for none */
  HUTCH_LAYERMAP_UNKNOWN,  /* no record (an older hutch), and its files do
                              not tell whether their owners were kept */
};

/* A layer unpacked under RECORDED, used under CURRENT: right when CURRENT
   maps every id of RECORDED to the same host id (a range that grew keeps
   its layers), and owners were kept or cannot be now.  */
enum hutch_layermap_verdict hutch_layermap_compare (const struct hutch_layermap *recorded,
                                                    const struct hutch_layermap *current);

/* A layer without a record, whose files are in DIFFFD: when CURRENT
   cannot keep owners, nothing better can be made of it now (CURRENT).
   Else one file owned by a subordinate id of CURRENT shows that owners
   were kept under it (CURRENT), one owned by an id that CURRENT does not
   map that they were kept under another range (MOVED); files that are all
   the user's may have been squashed (UNKNOWN).  */
enum hutch_layermap_verdict hutch_layermap_guess (int difffd, const struct hutch_layermap *current);

#endif
