/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_STORE_PRIVATE_H
#define HUTCH_STORE_PRIVATE_H

/* Shared by store.c (layout, locks, blobs, layers) and store-index.c (the
   index and garbage); not for other callers.  */

#include "base/error.h"

#include <stdbool.h>

struct hutch_store
{
  char *root;
  int rootfd, blobsfd, layersfd, tmpfd;
  int lockfd;
  bool exclusive;
  char **leftovers;
};

/* A per-process name for an entry of ROOT/tmp.  */
char *hutch_store_tmp_name (const char *kind);
/* flock(2), retried on EINTR; returns 0 or -errno.  */
int hutch_store_flock (int fd, int op);
/* fsync a directory after a rename in it; returns 0 or -errno.  */
int hutch_store_fsync_dir (int dfd);
/* Open images.lock and take it exclusively: returns the fd, whose close
   releases it, or -1 with ERR set.  */
int hutch_store_lock_images (struct hutch_store *s, hutch_error_t *err);
/* Fail unless S holds store.lock exclusively; WHAT names the operation.  */
int hutch_store_need_exclusive (struct hutch_store *s, const char *what, hutch_error_t *err);

#endif
