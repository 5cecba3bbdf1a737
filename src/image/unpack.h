/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_UNPACK_H
#define HUTCH_UNPACK_H

#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>

/* How the whiteouts of a layer (OCI image spec: `.wh.NAME` deletes NAME of
   the layers below, `.wh..wh..opq` hides everything below in its directory)
   are stored in the unpacked layer directory.  */
enum hutch_whiteout_format
{
  /* `.wh.NAME` becomes a 0/0 character device named NAME; `.wh..wh..opq`
     becomes the xattr user.overlay.opaque="y" on its directory.  This is what
     kernel overlayfs mounted with `userxattr` in a user namespace, and
     fuse-overlayfs, understand.  */
  HUTCH_WHITEOUT_OVERLAY,
};

struct hutch_unpack_opts
{
  enum hutch_whiteout_format whiteouts;
  /* Give files the archive's uid and gid: true when running as root of a user
     namespace with the full subordinate mapping.  False leaves them owned by
     the caller.  */
  bool chown;
  /* Called for what is skipped or lost but does not fail the layer (a device
     node, an xattr the kernel refuses).  May be NULL.  */
  void (*warn) (void *data, const char *msg);
  void *warn_data;
  /* FD is a file still being written (a download being unpacked as it
     arrives): when a read finds no more data, WAIT_MORE (WAIT_DATA) is
     called and returns 1 once more may have been written, 0 when the file
     is complete, or a negative errno when the writer gave up.  NULL: FD is
     complete.  */
  int (*wait_more) (void *data);
  void *wait_data;
  /* Hash the whole uncompressed stream into the stats' diff_id.  */
  bool diff_id;
  /* Inflate gzip with libarchive (zlib) even where igzip is available
     (image/gunzip.h): for tests, and to compare the two.  */
  bool zlib;
};

struct hutch_unpack_stats
{
  unsigned long entries; /* archive entries read */
  unsigned long bytes;   /* file data written */
  unsigned long skipped; /* entries not created: device nodes, aufs metadata */
  char diff_id[72];      /* "sha256:<hex>" of the uncompressed layer, when
                            the options asked for it (HUTCH_DIGEST_BUF_LEN) */
  bool igzip;            /* the layer was gzip, inflated by igzip */
};

/* Unpack the image layer read from FD (tar, tar+gzip or tar+zstd, detected
   from the content) into DIRFD, an empty directory.  A hostile layer (an
   absolute name, a `..` component, an entry or hard link reached through a
   symlink that leaves the layer, an absurd name) is refused with an error that
   names the entry, and nothing is written outside DIRFD.  On failure DIRFD
   holds a partial layer: unpack into a temporary directory and rename it into
   place on success.  RET_STATS (may be NULL) is written on success only.  */
/* Load libarchive (and libisal, where there is one) now: they are loaded on
   first use otherwise.  */
void hutch_unpack_preload (void);

struct archive;
/* Register with A the decompressors libarchive runs in its own process,
   never one that runs a program: gzip and zstd (an image's layers), and
   with ARCHIVES xz and bzip2 too (`docker save | xz`).  Fails when
   libarchive would need a program for one of them.  */
int hutch_archive_filters (struct archive *a, bool archives, hutch_error_t *err);

int hutch_archive_unpack (int fd, int dirfd, const struct hutch_unpack_opts *opts,
                          struct hutch_unpack_stats *ret_stats, hutch_error_t *err);

/* Build a flat root filesystem in DSTFD, an empty directory, from the N layer
   directories LAYERFDS (lowest first) as hutch_archive_unpack left them in
   OPTS->whiteouts format, applying their whiteouts: the "vfs" storage driver,
   for when no overlay is available.  Hard links inside one layer stay hard
   links; modes, times and xattrs are kept, and ownership as OPTS->chown
   says.  */
/* The same from the layer directories LAYERS (NULL-terminated, lowest
   first) into the directory DST, as root of a new user namespace with the
   user's map (runtime/nsexec.h): owners as the layers have them with
   CHOWN, else the user's.  */
int hutch_layers_flatten_dirs (char *const *layers, const char *dst, bool chown,
                               hutch_error_t *err);
int hutch_layers_flatten (const int *layerfds, size_t n, int dstfd,
                          const struct hutch_unpack_opts *opts, hutch_error_t *err);

#endif
