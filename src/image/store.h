/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_STORE_H
#define HUTCH_STORE_H

/* The per-user image store.

     ROOT/blobs/sha256/<hex>   content-addressed blobs (OCI image layout)
     ROOT/layers/<hex>/        each layer unpacked once, named by its diff_id:
                               diff/ holds its files, idmap the id mapping it
                               was unpacked under (image/layermap.h)
     ROOT/superseded/          layers that were unpacked again (the mapping
                               changed), which a running container may still
                               read
     ROOT/images.json          the index: images, their names and layers
     ROOT/tmp/                 everything being written, under per-process names
     ROOT/store.lock           flock: shared while a process uses the store,
                               exclusive to delete what no image references
     ROOT/images.lock          flock: exclusive around each change of the index

   Nothing appears under blobs/, layers/ or as images.json except by
   rename(2) of a complete, fsynced file or directory from tmp/, so a
   killed hutch leaves nothing that looks like good data.

   Locking.  Every open store holds store.lock shared for its whole life:
   it may have blobs and layers in flight that no image references yet
   (a load between committing a layer and adding the image), and tmp/
   entries.  Deleting unreferenced things (tmp leftovers, unused layers and
   blobs) needs store.lock exclusive, that is, no other hutch using the
   store.  Index changes do not take store.lock exclusive (that would wait
   for every other user of the store, and dropping the shared lock to
   upgrade would expose in-flight layers to a prune); they take images.lock
   for the few milliseconds of a read-modify-write, and so does putting a
   layer unpacked again in the place of the old one.  Lock order:
   store.lock, then images.lock; images.lock is never held while waiting
   for store.lock.  Readers of the index take no lock: images.json is
   replaced by rename, so they see the old or the new one whole.

   A running container should not keep the store open: its use of layers
   is recorded by the container's own state, which rmi and prune consult.

   Layer directories hold files owned by subordinate ids, which only a
   process in the user namespace can delete: the store never deletes them,
   it moves them into tmp/ (rename needs no ownership of the contents) and
   hands the paths to the caller.  */

#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hutch_store;
struct hutch_blob_writer;

struct hutch_store_layer
{
  char *digest;     /* the blob, "sha256:<hex>" (compressed as shipped) */
  char *diff_id;    /* the uncompressed tar, names ROOT/layers/<hex> */
  char *media_type; /* the blob's media type */
  int64_t size;     /* the blob's size */
};

struct hutch_image
{
  char *id;                         /* the config digest, "sha256:<hex>" */
  char **names;                     /* full references ("docker.io/library/alpine:latest",
                                       or REPO@sha256:... for pulls by digest);
                                       NULL-terminated, possibly empty */
  char *manifest_digest;            /* NULL when the image never had a manifest */
  char *config_digest;              /* equal to id */
  struct hutch_store_layer *layers; /* bottom layer first */
  size_t n_layers;
  char *created; /* RFC 3339 from the image config, or NULL */
  int64_t added; /* when it entered the store, seconds since the epoch */
};

void hutch_image_clear (struct hutch_image *img);
void hutch_image_list_free (struct hutch_image *imgs, size_t n);

/* Open (creating when needed) the store at ROOT, typically
   hutch_paths_data_dir() or the configured root, and take store.lock shared.
   When no other process has the store open, leftovers of killed hutch
   processes in tmp/ are removed first (see hutch_store_leftovers).  */
int hutch_store_open (const char *root, struct hutch_store **ret, hutch_error_t *err);
void hutch_store_close (struct hutch_store *s);
void hutch_store_closep (struct hutch_store **s);
#define _cleanup_store_ __attribute__ ((cleanup (hutch_store_closep)))

/* The canonical absolute path of the store.  */
const char *hutch_store_root (const struct hutch_store *s);

/* Leftovers in tmp/ that the open found dead but could not delete
   (files owned by subordinate ids): absolute paths, NULL-terminated, for
   the caller to remove from inside the user namespace.  */
char *const *hutch_store_leftovers (const struct hutch_store *s);

/* Take store.lock exclusive (waiting for other users when WAIT, else
   failing with -EWOULDBLOCK and a message that says the store is busy),
   and go back to shared.  Needed by hutch_store_unused_layers,
   hutch_store_detach_layer and hutch_store_remove_unused_blobs.  Do not
   call it with unreferenced blobs or layers of your own in flight: the
   shared lock is dropped while waiting.  */
int hutch_store_lock_exclusive (struct hutch_store *s, bool wait, hutch_error_t *err);
int hutch_store_unlock_exclusive (struct hutch_store *s, hutch_error_t *err);

/* ---- blobs ---------------------------------------------------------- */

/* ROOT/blobs/sha256/<hex>; DIGEST must be valid.  */
char *hutch_store_blob_path (const struct hutch_store *s, const char *digest);
bool hutch_store_has_blob (const struct hutch_store *s, const char *digest);

/* Copy what remains to be read from FD into the store while hashing it.
   With EXPECTED_DIGEST, a different digest is an error naming both and
   leaves nothing behind.  An identical blob already there is fine.  */
int hutch_store_put_blob (struct hutch_store *s, int fd, const char *expected_digest,
                          char **ret_digest, hutch_error_t *err);

/* The same, fed piecewise (a registry download).  _commit and _abort free
   the writer; _commit verifies, fsyncs and renames into place.  */
int hutch_store_blob_begin (struct hutch_store *s, const char *expected_digest,
                            struct hutch_blob_writer **ret, hutch_error_t *err);
int hutch_blob_writer_write (struct hutch_blob_writer *w, const void *buf, size_t len,
                             hutch_error_t *err);
int hutch_blob_writer_commit (struct hutch_blob_writer *w, char **ret_digest, hutch_error_t *err);
void hutch_blob_writer_abort (struct hutch_blob_writer *w);
/* A second, read-only fd on the file being written (with its own offset),
   for a reader that follows the writer: unpacking a download as it
   arrives.  It stays valid after _commit renames the file.  */
int hutch_blob_writer_open_reader (struct hutch_blob_writer *w, hutch_error_t *err);

/* A file of ROOT/tmp without a name, open for reading and writing, for
   a blob being made (a layer written by image/layerwrite.h): O_TMPFILE,
   or, where the file system has none (NFS), a name of ours removed at
   once.  Nothing is left behind when it is closed.  */
int hutch_store_tmp_file (struct hutch_store *s, hutch_error_t *err);
/* Make FD, a file of hutch_store_tmp_file's that is complete and holds
   exactly the blob DIGEST (hashed by whoever wrote it), the store's blob
   DIGEST without copying it: flushed to disk, linked into ROOT/tmp and
   renamed into place.  Returns 0, 1 when the file cannot be linked (a
   named file removed at once, another file system, a file that has a
   name: copy it with hutch_store_put_blob), or -1 with ERR.  An identical blob already
   there is fine.  */
int hutch_store_link_blob (struct hutch_store *s, int fd, const char *digest, hutch_error_t *err);

/* Read a small blob (manifest, config) whole, verifying its digest.  */
int hutch_store_read_blob (const struct hutch_store *s, const char *digest, size_t max, char **ret,
                           size_t *ret_len, hutch_error_t *err);

/* ---- layers --------------------------------------------------------- */

/* ROOT/layers/<hex of DIFF_ID>; DIFF_ID must be valid.  */
char *hutch_store_layer_path (const struct hutch_store *s, const char *diff_id);
bool hutch_store_has_layer (const struct hutch_store *s, const char *diff_id);

/* A new empty directory under ROOT/tmp to unpack a layer into.  */
int hutch_store_layer_begin (struct hutch_store *s, char **ret_tmpdir, hutch_error_t *err);

enum hutch_layer_commit
{
  HUTCH_LAYER_COMMITTED,      /* TMPDIR is now ROOT/layers/<hex> */
  HUTCH_LAYER_EXISTED,        /* another process committed it first; TMPDIR
                                 was removed */
  HUTCH_LAYER_EXISTED_REMOVE, /* the same, but TMPDIR holds files this
                                 process cannot delete: the caller removes
                                 it from inside the user namespace */
};

/* Flush TMPDIR (from hutch_store_layer_begin) to disk and rename it to
   ROOT/layers/<hex of DIFF_ID>.  */
int hutch_store_layer_commit (struct hutch_store *s, const char *tmpdir, const char *diff_id,
                              enum hutch_layer_commit *ret_result, hutch_error_t *err);

/* The file of ROOT/layers/<hex> that records the id mapping the layer was
   unpacked under (image/layermap.h); the unpacker writes it into the
   layer's directory in ROOT/tmp, so that it appears with the layer.  */
#define HUTCH_STORE_LAYER_RECORD "idmap"

/* The record of the layer DIFF_ID, in *RET_TEXT: NULL when the layer has
   none (unpacked by an older hutch) or is not there.  */
int hutch_store_layer_record (const struct hutch_store *s, const char *diff_id, char **ret_text,
                              hutch_error_t *err);
/* Give the layer DIFF_ID the record TEXT, replacing its record at once.  */
int hutch_store_layer_set_record (struct hutch_store *s, const char *diff_id, const char *text,
                                  hutch_error_t *err);

/* Put TMPDIR (from hutch_store_layer_begin), the layer DIFF_ID unpacked
   again, in the place of the one in the store, which moves to
   ROOT/superseded: a container started from it may still be reading it
   (see hutch_store_superseded).  Under images.lock, so that processes
   doing the same at once agree: when the layer in the store has TMPDIR's
   record already, another process replaced it first, and TMPDIR is
   dropped (HUTCH_LAYER_EXISTED or _EXISTED_REMOVE, as for a commit); a
   layer that is gone is committed.  */
int hutch_store_layer_replace (struct hutch_store *s, const char *tmpdir, const char *diff_id,
                               enum hutch_layer_commit *ret_result, hutch_error_t *err);
/* The layers in ROOT/superseded, as absolute paths (NULL-terminated), for
   the caller to remove inside the user namespace once no container can be
   reading them.  */
int hutch_store_superseded (const struct hutch_store *s, char ***ret_paths, hutch_error_t *err);

/* Layers present under ROOT/layers that no image in the index uses, as
   diff_ids.  Needs the exclusive lock.  */
int hutch_store_unused_layers (struct hutch_store *s, char ***ret_diff_ids, hutch_error_t *err);
/* Take an unused layer out of the store: rename it into ROOT/tmp and
   return that path for the caller to delete (inside the user namespace).
   Needs the exclusive lock; refuses a layer an image still uses.  If the
   caller is killed before deleting it, the next open lists it among the
   leftovers.  */
int hutch_store_detach_layer (struct hutch_store *s, const char *diff_id, char **ret_path,
                              hutch_error_t *err);
/* Delete blobs no image references (manifests, configs, layer blobs).
   Needs the exclusive lock.  */
int hutch_store_remove_unused_blobs (struct hutch_store *s, size_t *ret_removed,
                                     hutch_error_t *err);

/* ---- the index ------------------------------------------------------ */

/* Add IMG, or update the image with the same id (names are merged, the
   rest replaced; `added` is kept).  Names are normalized to full
   references; a name another image had moves to this one, as with docker,
   and that image stays, possibly with no name.  IMG->id may be NULL: it is
   the config digest.  */
int hutch_store_add_image (struct hutch_store *s, const struct hutch_image *img,
                           hutch_error_t *err);

int hutch_store_list_images (struct hutch_store *s, struct hutch_image **ret, size_t *ret_n,
                             hutch_error_t *err);

/* Find an image by WHAT, the way docker resolves it: "sha256:<hex>" is an
   id or a manifest digest; otherwise a name (a short one is parsed:
   "alpine" is docker.io/library/alpine:latest; "name@sha256:..." matches
   that name or the repository's image with that manifest digest); failing
   that, at least 4 hex digits are an id prefix, which must be unique.  Not
   found is -ENOENT, so that a caller can pull.  */
int hutch_store_find_image (struct hutch_store *s, const char *what, struct hutch_image *ret,
                            hutch_error_t *err);
/* By config digest (id) or manifest digest.  */
int hutch_store_find_by_digest (struct hutch_store *s, const char *digest, struct hutch_image *ret,
                                hutch_error_t *err);

/* Give the image WHAT the name NAME (moving it from another image).  */
int hutch_store_tag (struct hutch_store *s, const char *what, const char *name, hutch_error_t *err);
/* Remove NAME from the image that has it; the image stays.  */
int hutch_store_untag (struct hutch_store *s, const char *name, hutch_error_t *err);
/* Remove the image WHAT from the index (its blobs and layers become
   garbage for hutch_store_unused_layers and _remove_unused_blobs).  */
int hutch_store_remove_image (struct hutch_store *s, const char *what,
                              struct hutch_image *ret_removed, hutch_error_t *err);

/* ---- helpers -------------------------------------------------------- */

/* Warn when PATH (or its nearest existing parent) is on NFS, Lustre, GPFS
   or another network file system, or in memory (tmpfs, ramfs: the images
   vanish at reboot): *RET_WARNING is a message naming a better place, or
   NULL when the file system is fine.  */
int hutch_store_check_filesystem (const char *path, char **ret_warning, hutch_error_t *err);

/* Whether the user can write the store at ROOT: ROOT and the directories
   and lock file in it that exist, or, when ROOT does not exist yet, the
   nearest directory above it, where it would be created.  The error says
   which path, why (read-only file system, its mode and owner) and the
   fix.  Nothing is created.  */
int hutch_store_check_writable (const char *root, hutch_error_t *err);
/* The warning for a file system of type F_TYPE (statfs's magic number),
   or NULL when it is neither a network nor a memory file system.  */
char *hutch_store_filesystem_warning (const char *path, long f_type);
/* What PATH is on (or would be created on), for hutch info: "ext2/3/4",
   "tmpfs, in memory", "NFS, a network file system", ... or the magic
   number of one not known here; NULL when even / cannot be looked at.  */
char *hutch_store_filesystem_name (const char *path);

#endif
