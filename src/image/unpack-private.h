/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_UNPACK_PRIVATE_H
#define HUTCH_UNPACK_PRIVATE_H

/* What src/unpack.c (a layer from its tarball; its decompression in
   unpack-feed.c) and src/flatten.c (layers into one tree, for the vfs
   driver) share: file metadata and the deferred
   setting of directories' metadata.  Not for other files, but for
   layerwrite.c and upperwalk.c (layers written), which take what a
   whiteout is and which xattrs are overlayfs's from here.  */

#include "image/unpack.h"
#include "base/walk.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

/* The longest name component and path Linux accepts (NAME_MAX, and PATH_MAX
   less its NUL).  A longer name could not be created anyway; refusing it up
   front gives a clear error, and bounds what a hostile layer makes us
   allocate and print.  */
#define MAX_COMPONENT HUTCH_WALK_MAX_COMPONENT
#define MAX_PATH HUTCH_WALK_MAX_PATH

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_META_PREFIX ".wh..wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"
#define OPAQUE_XATTR "user.overlay.opaque"

/* Metadata of one file.  */
struct meta
{
  mode_t perm;
  uid_t uid;
  gid_t gid;
  struct timespec times[2]; /* atime, mtime as futimens takes them */
};

/* Directories get their mode, owner and times after their contents: creating
   an entry changes its directory's mtime, a read-only mode would stop the
   caller (without CAP_DAC_OVERRIDE) from creating it, and a setgid
   directory would hand its group to the entries made in it.  */
struct dir_meta
{
  char *path;
  dev_t dev;
  ino_t ino;
  struct meta meta;
  size_t depth, seq;
  bool stale;
};

struct dir_list
{
  struct dir_meta *v;
  size_t n, cap;
};

/* The decompressing side of hutch_archive_unpack (unpack-feed.c): FD (see
   hutch_unpack_opts.wait_more), decompressed by a thread of its own.  An
   empty layer gives a feeder that is done at once.  */
struct hutch_feeder;
struct archive;
int hutch_feeder_start (int fd, const struct hutch_unpack_opts *opts, struct hutch_feeder **ret,
                        hutch_error_t *err);
/* libarchive's read callback on the plain tar (DATA: the feeder): the
   buffer returned stays valid until the next call, which gives it back.  */
ssize_t hutch_feeder_read (struct archive *a, void *data, const void **ret_buf);
/* Whether the layer was gzip inflated by igzip.  */
bool hutch_feeder_igzip (const struct hutch_feeder *f);
/* The digest of everything read, when OPTS->diff_id asked for it.  */
int hutch_feeder_diff_id (struct hutch_feeder *f, char *ret, hutch_error_t *err);
void hutch_feeder_free (struct hutch_feeder *f);

void __attribute__ ((format (printf, 2, 3)))
hutch_layer_warn (const struct hutch_unpack_opts *opts, const char *fmt, ...);
bool hutch_layer_is_whiteout (const struct stat *st);
bool hutch_layer_is_overlay_xattr (const char *name);
void hutch_layer_set_xattr (const struct hutch_unpack_opts *opts, char ***warned, int fd,
                            const char *path, const char *name, const void *value, size_t size);
int hutch_layer_set_owner_mode (const struct hutch_unpack_opts *opts, int fd, const struct meta *m,
                                const char *path, hutch_error_t *err);
int hutch_layer_set_times (int fd, const struct meta *m, const char *path, hutch_error_t *err);
void hutch_layer_meta_from_stat (const struct stat *st, struct meta *m);
void hutch_layer_dir_list_add (struct dir_list *l, const char *path, const struct stat *st,
                               const struct meta *m);
void hutch_layer_dir_list_clear (struct dir_list *l);
int hutch_layer_dir_list_apply (struct dir_list *l, int rootfd, uint64_t resolve,
                                const struct hutch_unpack_opts *opts, hutch_error_t *err);

#endif
