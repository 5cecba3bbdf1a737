/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_IMAGE_H
#define HUTCH_IMAGE_H

/* Images in the store: bringing them in (import, load), unpacking their
   layers inside the user namespace, removing them, and turning one into a
   container's root filesystem.  Store layout and locking: src/store.h.  */

#include "base/error.h"
#include "image/imageconfig.h"
#include "runtime/spec.h"
#include "image/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* The store root: --root, else `root` from the config file, else
   $XDG_DATA_HOME/hutch.  */
char *hutch_image_store_root (const char *cli_root, hutch_error_t *err);

/* Whether the store at ROOT can be used, without changing anything: it
   must be trusted (hutch_paths_check_trusted: no other user can change
   it) and writable (hutch_store_check_writable).  What
   hutch_image_store_open refuses, and what hutch info reports.  */
int hutch_image_store_check (const char *root, hutch_error_t *err);

/* Open the store that hutch_image_store_root names for CLI_ROOT: refused
   when hutch_image_store_check refuses it, created
   when missing, with a warning (once) when it sits on a network file
   system, and what a killed hutch left there that belongs to subordinate
   ids removed.  The one way the store is opened.  */
int hutch_image_store_open (const char *cli_root, struct hutch_store **ret, hutch_error_t *err);

/* A plain root filesystem tarball (alpine's minirootfs; "-": standard
   input) as a one-layer image named NAME, its config set by CHANGES
   (Dockerfile instructions: image/change.h; NULL for none).  RET_ID gets
   the image id.  */
int hutch_image_import (struct hutch_store *s, const char *tarball, const char *name,
                        char *const *changes, char **ret_id, hutch_error_t *err);

/* docker-archive or oci-archive (gzip-compressed or not), as docker save,
   podman save and skopeo write.  RET_NAMES gets one line per image loaded.  */
int hutch_image_load (struct hutch_store *s, const char *file, char ***ret_lines,
                      hutch_error_t *err);

/* Write IMAGE as an oci-archive (or a docker-archive when DOCKER).  */
int hutch_image_save (struct hutch_store *s, const char *image, const char *file, bool docker,
                      hutch_error_t *err);
/* The same for IMG, whose blobs are in the store whether or not the index
   has it (hutch build writes --output before it adds the image); IMAGE
   names it in messages.  */
int hutch_image_save_image (struct hutch_store *s, const struct hutch_image *img, const char *image,
                            const char *file, bool docker, hutch_error_t *err);
/* Write IMAGE as one squashfs file of its flattened root, with its config
   after the filesystem (image/sqfsimage.h; src/image/sqfssave.c), made
   with mksquashfs, under a temporary name renamed to FILE.  */
int hutch_image_save_squashfs (struct hutch_store *s, const char *image, const char *file,
                               hutch_error_t *err);

/* Unpack every layer of IMG that the store lacks, inside the user
   namespace, and again, from its blob, every one that was unpacked under
   an id mapping that is not the user's now (image/layermap.h), saying so
   in one line through hutch_log.  A layer's files are in
   ROOT/layers/<hex>/diff.  */
int hutch_image_unpack_layers (struct hutch_store *s, const struct hutch_image *img,
                               hutch_error_t *err);

/* Remove the old copies of layers that were unpacked again
   (ROOT/superseded), unless a container runs: it may be reading them.  */
void hutch_image_drop_superseded (struct hutch_store *s);

/* After a failed import, load or pull: remove the blobs no image uses,
   when no other hutch has the store open (else `image prune` will).  */
void hutch_image_drop_orphan_blobs (struct hutch_store *s);

/* Read and parse IMG's config.  */
int hutch_image_config (struct hutch_store *s, const struct hutch_image *img,
                        struct hutch_image_config *ret, hutch_error_t *err);

/* Remove IMAGE (a name removes only that name while others remain, as
   docker rmi does), then the layers and blobs no image uses.  FORCE removes
   an image that a running container uses.  */
int hutch_image_remove (struct hutch_store *s, const char *image, bool force, char ***ret_lines,
                        hutch_error_t *err);
/* Remove layers and blobs no image uses, and leftovers of containers whose
   hutch is gone.  */
int hutch_image_prune (struct hutch_store *s, char ***ret_lines, hutch_error_t *err);

/* A container's own directory in the store (upper, work, merged), locked
   while it runs; RET_DIR is its path.  */
int hutch_container_dir_create (struct hutch_store *s, const char *image_id, const char *id,
                                char **ret_dir, int *ret_lockfd, hutch_error_t *err);
int hutch_container_dir_remove (const char *dir, int lockfd, hutch_error_t *err);
/* Whether the container directory DIR has its container's record
   (container.json): without one, nothing but the run that made it
   needs it.  */
bool hutch_container_dir_has_record (const char *dir);

/* DOC as a blob of the store (compact JSON): its digest, and its size
   when RET_SIZE is not NULL.  */
int hutch_image_put_json (struct hutch_store *s, json_t *doc, char **ret_digest, int64_t *ret_size,
                          hutch_error_t *err);

#endif
