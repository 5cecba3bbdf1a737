/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_LAYERWRITE_H
#define HUTCH_LAYERWRITE_H

/* Writing a layer: a tar of entries added one by one, straight into a
   blob of the store, gzip-compressed or not, with both digests computed
   on the way (the blob's and the uncompressed tar's, its diff_id), and
   the same bytes for the same entries every time:
   - pax headers with numeric owners only (no user or group names), no
     access or change times, no pax header that varies (no atime, no
     ctime, no LIBARCHIVE.creationtime), modification times in whole
     seconds (as docker's and BuildKit's tars have them: a subsecond part
     would show only in the entries that need a pax header anyway);
   - a fixed gzip header (no name, modification time 0, one OS byte);
   - hard links as links to the first name written;
   - sparse files kept sparse (SEEK_DATA/SEEK_HOLE, as GNU sparse 1.0
     pax entries, which GNU tar, libarchive and Go's archive/tar read);
   - xattrs kept but overlayfs's and fuse-overlayfs's own (written as
     SCHILY.xattr records only, the form Go's archive/tar reads); a file
     capability in the form a kernel outside any user namespace reads
     (VFS_CAP_REVISION_2: a v3 one's root id dropped);
   - with a clamp time, every modification time later than it set to it
     (SOURCE_DATE_EPOCH, as BuildKit's rewrite-timestamp).
   Order is the caller's: entries are written as they are added.

   The same writer makes the plain tars of `hutch export` and `hutch cp`
   (no digests, no xattrs for cp): one tar writer in hutch.

   Also here: the walk of a container's upper directory against the
   layers below it (hutch_upper_walk: `hutch diff`), and the layer it
   makes (hutch_layer_from_upper), which src/front/ctrfs-commit.c and
   `hutch build` use.  */

#include "base/error.h"
#include "image/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct hutch_layer_writer;

struct hutch_layer_write_opts
{
  bool gzip;          /* compress (media type tar+gzip), else a plain tar */
  int64_t clamp_time; /* -1: modification times as they are */
  /* What a tar that is no layer (export, cp) changes; all zero for a
     layer.  */
  bool no_xattrs;    /* leave extended attributes out (docker cp has none) */
  bool no_digests;   /* hash nothing: hutch_layer_writer_finish's digests
                        are then empty strings */
  const char *where; /* where the files are, for messages ("the container");
                        NULL: "the directory" */
};

/* gzip's compression level for layers.  Measured on 95 MB of tar (506
   files of /usr/lib/x86_64-linux-gnu, 2 cores, page cache cold; warm in
   brackets): a plain tar takes 0.25 s (0.14 s); level 1 1.07 s (0.97 s)
   for 33.5 MB; level 6 2.92 s (2.83 s) for 30.2 MB; level 9 14 s for
   30.0 MB.  Level 1 is 11% larger than 6 in a third of the time, and the
   time is what a build or a commit waits for.  A plain tar is faster
   still, but the store keeps a blob as `hutch push` sends it.  */
#define HUTCH_LAYER_GZIP_LEVEL 1

/* A writer into FD (a file opened for writing, or a pipe or socket;
   not closed), written from its current offset.  It needs no store and
   no memory shared with the caller: a worker inside a user namespace (a
   forked process) writes the layer into a file the caller opened, and
   passes back the digests (hutch_layer_digests_format) as text.  */
int hutch_layer_writer_open (int fd, const struct hutch_layer_write_opts *o,
                             struct hutch_layer_writer **ret, hutch_error_t *err);

/* Load the libraries a writer uses (libarchive, zlib, libcrypto) now,
   before forking workers, so that each does not load them again.  */
void hutch_layer_writer_preload (void);

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
   DIRFD without following a symlink or crossing a mount point (a mount
   point's entry is left empty: what is mounted there is not the tree's),
   a symlink's target, a directory alone (not its contents).  NAME ""
   is DIRFD itself (a regular file's fd must then be open for reading).
   A file that vanished meanwhile is left out.  Sockets and device nodes
   other than whiteouts are left out (counted in
   hutch_layer_writer_skipped).  */
int hutch_layer_writer_add (struct hutch_layer_writer *w, int dirfd, const char *name,
                            const struct stat *st, const char *arcname,
                            const struct hutch_layer_meta *meta, hutch_error_t *err);
/* The entry NAME of DIRFD and, for a directory, everything below it
   (each directory's entries sorted by name), named ARCNAME and
   ARCNAME/...; NAME "" is DIRFD itself (then DIRFD must not be O_PATH
   unless it is a symlink's), ARCNAME "" puts the contents at the
   archive's root and leaves the top out.  No symlink is followed, no
   mount below the top entered (a mount point is an empty entry): what
   `hutch export` and `hutch cp` archive.  */
int hutch_layer_writer_add_tree (struct hutch_layer_writer *w, int dirfd, const char *name,
                                 const char *arcname, hutch_error_t *err);
/* A directory ARCNAME that no file gives (the parents COPY makes).  */
int hutch_layer_writer_add_dir (struct hutch_layer_writer *w, const char *arcname, int mode,
                                int64_t uid, int64_t gid, int64_t mtime, hutch_error_t *err);
/* A regular file ARCNAME with DATA (LEN bytes): a COPY heredoc.  */
int hutch_layer_writer_add_data (struct hutch_layer_writer *w, const char *arcname,
                                 const void *data, size_t len, int mode, int64_t uid, int64_t gid,
                                 int64_t mtime, hutch_error_t *err);
/* A whiteout of PATH (`DIR/.wh.NAME`) and the opaque marker of the
   directory PATH (`PATH/.wh..wh..opq`), empty files owned by 0:0 with
   mode 0644 and modification time 0, so that they are the same bytes
   whenever they are written.  */
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

/* Finish the tar (and the gzip stream), flush it to FD and fill *RET
   (may be NULL).  Frees W, also on failure.  */
int hutch_layer_writer_finish (struct hutch_layer_writer *w, struct hutch_layer_digests *ret,
                               hutch_error_t *err);
/* Free W, leaving what it wrote as it is (an unfinished tar).  */
void hutch_layer_writer_abort (struct hutch_layer_writer *w);

/* The digests as one line of text and back, for a worker's answer
   (it fits HUTCH_USERNS_OUT_MAX).  */
void hutch_layer_digests_format (const struct hutch_layer_digests *d, char *buf, size_t len);
int hutch_layer_digests_parse (const char *text, struct hutch_layer_digests *ret,
                               hutch_error_t *err);

/* Put the layer file FD (written by a writer whose digests are D) into
   the store as its blob, without reading it again when the store can take
   the file as it is (a file of ROOT/tmp linked into place, after an
   fsync): *RET gets its digest, diff_id, media type and size.  Where it
   cannot (another file system, a file system without O_TMPFILE), the file
   is copied and its digest checked.  The layer is not unpacked
   (hutch_image_unpack_layers does it).  */
int hutch_layer_put (struct hutch_store *s, int fd, const struct hutch_layer_digests *d,
                     struct hutch_store_layer *ret, hutch_error_t *err);
/* A file of ROOT/tmp without a name (O_TMPFILE, or a name removed at
   once where the file system has none) to write a layer into, open for
   reading and writing.  */
int hutch_layer_scratch (struct hutch_store *s, hutch_error_t *err);

/* A file capability VALUE (the xattr security.capability, *LEN bytes) as
   a kernel outside any user namespace reads it: a VFS_CAP_REVISION_3
   value (what the root of a user namespace writes, with the host id of
   that root) loses its root id and becomes VFS_CAP_REVISION_2, in place
   (*LEN becomes 20).  Whether it was changed.  */
bool hutch_layer_capability_v2 (void *value, size_t *len);

/* ---- a container's upper directory ------------------------------------- */

/* Whether the entry NAME of an upper directory (ST, not followed) is a
   whiteout: a 0/0 character device (overlayfs's, and fuse-overlayfs's
   where it can make one), or a file `.wh.VICTIM` (fuse-overlayfs's where
   it cannot; OCI layers reserve the prefix, so no file of a container can
   go into a layer under such a name anyway).  *RET_VICTIM: the name it
   deletes.  The opaque marker `.wh..wh..opq` is none.  */
bool hutch_upper_whiteout (const char *name, const struct stat *st, const char **ret_victim);
/* Whether NAME is the opaque marker `.wh..wh..opq`.  */
bool hutch_upper_is_opaque_marker (const char *name);
/* Whether the directory FD is marked opaque (overlayfs's or
   fuse-overlayfs's xattr, or fuse-overlayfs's marker file).  */
bool hutch_upper_dir_is_opaque (int fd);

struct hutch_upper_entry
{
  const char *path; /* relative to the root: "etc/passwd" */
  int dirfd;        /* the upper directory that holds it */
  const char *name; /* its name there; for a whiteout, the whiteout's own */
  const struct stat *st;
  bool whiteout;   /* deletes PATH */
  bool opaque;     /* a directory that hides what the layers below have in it */
  bool in_lower;   /* PATH exists in the layers below */
  int lower_dirfd; /* in_lower: the directory of the topmost layer that has
                      it, and its lstat */
  const struct stat *lower_st;
  char kind; /* 'A', 'C', 'D', or 0: a directory the layers below have
                alike (changed if anything below it is) */
};

typedef int (*hutch_upper_fn) (void *data, const struct hutch_upper_entry *e, hutch_error_t *err);

/* Call FN for every entry of the upper directory UPPER of an overlay over
   LAYERS (the layer directories, topmost first; N of them), each compared
   with the layers as overlayfs stacks them: the entries of a directory
   sorted by name, all of them before the directories among them are
   walked (parents before their entries).  The mount points a run made in
   the root when the image lacks them (/proc, /sys, /dev, /etc/hostname,
   /etc/hosts, /etc/resolv.conf, /etc/localtime, empty) are passed over,
   as docker keeps them in a layer of its own.  Nothing is followed: the
   tree is walked with *at() calls.  */
int hutch_upper_walk (const char *upper, char *const *layers, size_t n, hutch_upper_fn fn,
                      void *data, hutch_error_t *err);

/* The layer of the upper directory UPPER of an overlay over LAYERS
   (topmost first; N of them), as overlayfs shows it: whiteouts (0/0
   character devices, or fuse-overlayfs's `.wh.` files) as `.wh.NAME`,
   opaque directories with `.wh..wh..opq` when the layers below have that
   directory, a file that was only copied up (same type, data, owner,
   mode, xattrs as below: its modification time alone is no change) left
   out, and the mount points a run made left out.  Entries in
   hutch_upper_walk's order.  Run it as root of a user namespace with the
   user's map (hutch_in_userns), so that owners are the container's ids.  */
int hutch_layer_from_upper (struct hutch_layer_writer *w, const char *upper, char *const *layers,
                            size_t n, hutch_error_t *err);

#endif
