/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_LAYERWRITE_H
#define HUTCH_LAYERWRITE_H

/* Writing a layer: a tar of entries added one by one, straight into a
   blob of the store, gzip-compressed or not, with both digests computed
   on the way (the blob's and the uncompressed tar's, its diff_id), and
   the same bytes for the same entries every time:
   - pax headers with numeric owners only (no user or group names), no
     access or change times, no pax header that varies (no atime, no
     ctime, no LIBARCHIVE.creationtime);
   - a fixed gzip header (no name, modification time 0, one OS byte);
   - hard links as links to the first name written;
   - sparse files kept sparse (SEEK_DATA/SEEK_HOLE);
   - xattrs kept but overlayfs's and fuse-overlayfs's own; a file
     capability in the form a kernel outside any user namespace reads
     (VFS_CAP_REVISION_2: a v3 one's root id dropped);
   - with a clamp time, every modification time later than it set to it
     (SOURCE_DATE_EPOCH, as BuildKit's rewrite-timestamp).
   Order is the caller's: entries are written as they are added.

   Also here: the layer of a container's upper directory
   (hutch_layer_from_upper), which src/front/ctrfs-commit.c and `hutch
   build` use.  */

#include "base/error.h"
#include "image/store.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

struct hutch_layer_writer;

struct hutch_layer_write_opts
{
  bool gzip;          /* compress (media type tar+gzip), else a plain tar */
  int64_t clamp_time; /* -1: modification times as they are */
};

/* A writer into FD (a file opened for writing; not closed).  It needs no
   store and no memory shared with the caller: a worker inside a user
   namespace (a forked process) writes the layer into a file the caller
   opened, and passes back the digests (hutch_layer_digests) as text.  */
int hutch_layer_writer_open (int fd, const struct hutch_layer_write_opts *o,
                             struct hutch_layer_writer **ret, hutch_error_t *err);

/* What an entry says of itself, when not its file's: -1 for the file's
   own owner, and MODE -1 for its own permission bits (07777).  */
struct hutch_layer_meta
{
  int64_t uid, gid;
  int mode;
};

/* The entry NAME of the directory DIRFD (ST: its lstat), as ARCNAME (a
   clean relative path, no leading `/` or `./`), with META (NULL: as it
   is): a regular file's data read through a descriptor opened beneath
   DIRFD without following a symlink, a symlink's target, a directory
   alone (not its contents).  Sockets and device nodes other than
   whiteouts are left out (counted in hutch_layer_writer_skipped).  */
int hutch_layer_writer_add (struct hutch_layer_writer *w, int dirfd, const char *name,
                            const struct stat *st, const char *arcname,
                            const struct hutch_layer_meta *meta, hutch_error_t *err);
/* A directory ARCNAME that no file gives (the parents COPY makes).  */
int hutch_layer_writer_add_dir (struct hutch_layer_writer *w, const char *arcname, int mode,
                                int64_t uid, int64_t gid, int64_t mtime, hutch_error_t *err);
/* A regular file ARCNAME with DATA (LEN bytes): a COPY heredoc.  */
int hutch_layer_writer_add_data (struct hutch_layer_writer *w, const char *arcname,
                                 const void *data, size_t len, int mode, int64_t uid, int64_t gid,
                                 int64_t mtime, hutch_error_t *err);
/* A whiteout of PATH (`DIR/.wh.NAME`) and the opaque marker of the
   directory PATH (`PATH/.wh..wh..opq`), empty files owned by 0:0.  */
int hutch_layer_writer_add_whiteout (struct hutch_layer_writer *w, const char *path,
                                     hutch_error_t *err);
int hutch_layer_writer_add_opaque (struct hutch_layer_writer *w, const char *path,
                                   hutch_error_t *err);
unsigned long hutch_layer_writer_skipped (const struct hutch_layer_writer *w);

/* What a finished layer is: "sha256:<hex>" of the blob as written
   (compressed or not) and of the plain tar, and the blob's size.  */
struct hutch_layer_digests
{
  char digest[72];
  char diff_id[72];
  int64_t size;
  bool gzip;
  unsigned long entries; /* entries written: 0 is a step that changed nothing */
};

/* Finish the tar (and the gzip stream), flush it to FD and fill *RET.
   Frees W, also on failure.  */
int hutch_layer_writer_finish (struct hutch_layer_writer *w, struct hutch_layer_digests *ret,
                               hutch_error_t *err);
void hutch_layer_writer_abort (struct hutch_layer_writer *w);

/* The digests as one line of text and back, for a worker's answer.  */
void hutch_layer_digests_format (const struct hutch_layer_digests *d, char *buf, size_t len);
int hutch_layer_digests_parse (const char *text, struct hutch_layer_digests *ret,
                               hutch_error_t *err);

/* Put the layer file FD (written by a writer whose digests are D) into
   the store as its blob, without reading it again when the store can take
   the file as it is (a file of ROOT/tmp linked into place): *RET gets its
   digest, diff_id, media type and size.  The layer is not unpacked
   (hutch_image_unpack_layers does it).  */
int hutch_layer_put (struct hutch_store *s, int fd, const struct hutch_layer_digests *d,
                     struct hutch_store_layer *ret, hutch_error_t *err);
/* A file of ROOT/tmp without a name (O_TMPFILE, or a name removed at
   once where the file system has none) to write a layer into.  */
int hutch_layer_scratch (struct hutch_store *s, hutch_error_t *err);

/* The layer of the upper directory UPPER of an overlay over LAYERS (the
   layer directories, topmost first; N of them), as overlayfs shows it:
   whiteouts (0/0 character devices, or fuse-overlayfs's `.wh.` files)
   as `.wh.NAME`, opaque directories with `.wh..wh..opq` when the layers
   below have that directory, a file that was only copied up (same type,
   data, owner, mode, xattrs as below) left out, and the mount points a
   run made (see hutch_ctrfs_diff) left out.  Entries sorted by name,
   parents first.  Run it as root of a user namespace with the user's
   map (hutch_in_userns), so that owners are the container's ids.  */
int hutch_layer_from_upper (struct hutch_layer_writer *w, const char *upper, char *const *layers,
                            size_t n, hutch_error_t *err);

#endif
