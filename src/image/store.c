/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "image/store.h"
#include "image/store-private.h"
#include "base/digest.h"
#include "base/paths.h"
#include "base/util.h"
#include "base/walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

struct hutch_blob_writer
{
  struct hutch_store *s;
  int fd;
  char *tmpname;
  char *expected;
  struct hutch_sha256 *hash;
};

static char *
xstrdup_null (const char *s)
{
  return s ? hutch_xstrdup (s) : NULL;
}

/* Per-process temporary names: the pid says who made it (for a human
   looking at tmp/), the random part keeps names unique across pid
   namespaces and hosts sharing the store.  Liveness is never judged from
   the pid: see cleanup_tmp.  */
char *
hutch_store_tmp_name (const char *kind)
{
  char rnd[17];
  if (hutch_random_hex (rnd, 16) < 0)
    snprintf (rnd, sizeof rnd, "%016lx", (unsigned long)random ());
  rnd[16] = '\0';
  return hutch_xasprintf ("%s-%ld-%s", kind, (long)getpid (), rnd);
}

int
hutch_store_flock (int fd, int op)
{
  int r;
  do
    r = flock (fd, op);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : 0;
}

int
hutch_store_fsync_dir (int dfd)
{
  /* Make a rename durable; some file systems refuse fsync on a directory
     (EINVAL), which then has nothing more to offer.  */
  if (fsync (dfd) < 0 && errno != EINVAL && errno != EROFS)
    return -errno;
  return 0;
}

/* ---- opening -------------------------------------------------------- */

static int
open_subdir (int parent, const char *name, const char *root, hutch_error_t *err)
{
  int fd;
  if (mkdirat (parent, name, 0700) < 0 && errno != EEXIST)
    return hutch_error_set (err, errno, "create `%s/%s`", root, name);
  fd = openat (parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return hutch_error_set (err, errno, "open `%s/%s`", root, name);
  return fd;
}

/* Called with store.lock exclusive: no other process has the store open,
   so everything in tmp/ belongs to a dead process.  This is safer than
   judging by the pid in the name: a pid is reused, means nothing in
   another pid namespace, and nothing on another host sharing the store.
   The price: leftovers stay until a moment when the store is idle.  */
static void
cleanup_tmp (struct hutch_store *s)
{
  _cleanup_close_ int fd = openat (s->tmpfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d;
  struct dirent *de;

  if (fd < 0)
    return;
  d = fdopendir (fd);
  if (d == NULL)
    return;
  fd = -1;
  s->leftovers = hutch_xmalloc0 (sizeof (char *));
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      hutch_error_t e = HUTCH_ERROR_INIT;
      if (hutch_walk_remove_tree (s->tmpfd, de->d_name, &e) < 0)
        hutch_strv_push (&s->leftovers, hutch_xasprintf ("%s/tmp/%s", s->root, de->d_name));
      hutch_error_clear (&e);
    }
  closedir (d);
}

int
hutch_store_open (const char *root, struct hutch_store **ret, hutch_error_t *err)
{
  struct hutch_store *s;
  char real[PATH_MAX];
  int r;

  if (root == NULL || *root == '\0')
    return hutch_error_set (err, EINVAL, "no image store directory given");
  if (hutch_walk_mkdir_p (root, 0700, err) < 0)
    {
      hutch_error_prefix (err, "the image store");
      return hutch_error_append (err,
                                 "choose another place with `hutch --root DIR` or `root = DIR` "
                                 "in hutch.conf");
    }
  if (realpath (root, real) == NULL)
    return hutch_error_set (err, errno, "resolve the image store directory `%s`", root);

  s = hutch_xmalloc0 (sizeof *s);
  s->rootfd = s->blobsfd = s->layersfd = s->tmpfd = s->lockfd = -1;
  s->root = hutch_xstrdup (real);
  s->rootfd = open (s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (s->rootfd < 0)
    {
      r = hutch_error_set (err, errno, "open the image store `%s`", s->root);
      goto fail;
    }
  {
    _cleanup_close_ int blobs = open_subdir (s->rootfd, "blobs", s->root, err);
    if (blobs < 0)
      {
        r = blobs;
        goto fail;
      }
    s->blobsfd = open_subdir (blobs, "sha256", s->root, err);
  }
  if (s->blobsfd < 0 || (s->layersfd = open_subdir (s->rootfd, "layers", s->root, err)) < 0
      || (s->tmpfd = open_subdir (s->rootfd, "tmp", s->root, err)) < 0)
    {
      r = -1;
      goto fail;
    }
  s->lockfd = openat (s->rootfd, "store.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (s->lockfd < 0)
    {
      r = hutch_error_set (err, errno, "open `%s/store.lock`", s->root);
      goto fail;
    }

  /* Exclusive first, without waiting: it succeeds only when nobody else
     uses the store, the one moment tmp/ can be emptied safely.  Then
     shared, which flock converts to (the conversion is not atomic, but we
     have nothing in flight yet).  */
  r = hutch_store_flock (s->lockfd, LOCK_EX | LOCK_NB);
  if (r == 0)
    cleanup_tmp (s);
  else if (r != -EWOULDBLOCK)
    {
      r = hutch_error_set (err, -r, "lock `%s/store.lock`", s->root);
      goto fail;
    }
  r = hutch_store_flock (s->lockfd, LOCK_SH);
  if (r < 0)
    {
      r = hutch_error_set (err, -r, "lock `%s/store.lock`", s->root);
      hutch_error_append (err, "file locks must work where the store is; on NFS without a "
                               "lock daemon, move it with `hutch --root DIR`");
      goto fail;
    }
  if (s->leftovers == NULL)
    s->leftovers = hutch_xmalloc0 (sizeof (char *));
  *ret = s;
  return 0;

fail:
  hutch_store_close (s);
  return r;
}

void
hutch_store_close (struct hutch_store *s)
{
  if (s == NULL)
    return;
  hutch_closep (&s->blobsfd);
  hutch_closep (&s->layersfd);
  hutch_closep (&s->tmpfd);
  hutch_closep (&s->rootfd);
  hutch_closep (&s->lockfd); /* releases the flock */
  hutch_strv_free (s->leftovers);
  free (s->root);
  free (s);
}

void
hutch_store_closep (struct hutch_store **s)
{
  hutch_store_close (*s);
}

const char *
hutch_store_root (const struct hutch_store *s)
{
  return s->root;
}

char *const *
hutch_store_leftovers (const struct hutch_store *s)
{
  return s->leftovers;
}

int
hutch_store_lock_exclusive (struct hutch_store *s, bool wait, hutch_error_t *err)
{
  int r;
  if (s->exclusive)
    return 0;
  r = hutch_store_flock (s->lockfd, LOCK_EX | (wait ? 0 : LOCK_NB));
  if (r == -EWOULDBLOCK)
    {
      /* Failed conversions may have dropped the shared lock: take it back.  */
      hutch_store_flock (s->lockfd, LOCK_SH);
      return hutch_error_set (err, EWOULDBLOCK,
                              "the image store `%s` is in use by another hutch process; try again "
                              "when it has finished",
                              s->root);
    }
  if (r < 0)
    return hutch_error_set (err, -r, "lock `%s/store.lock`", s->root);
  s->exclusive = true;
  return 0;
}

int
hutch_store_unlock_exclusive (struct hutch_store *s, hutch_error_t *err)
{
  int r;
  if (!s->exclusive)
    return 0;
  r = hutch_store_flock (s->lockfd, LOCK_SH);
  if (r < 0)
    return hutch_error_set (err, -r, "lock `%s/store.lock`", s->root);
  s->exclusive = false;
  return 0;
}

int
hutch_store_need_exclusive (struct hutch_store *s, const char *what, hutch_error_t *err)
{
  if (!s->exclusive)
    return hutch_error_set (err, EBUSY,
                            "internal error: %s needs the image store locked exclusively", what);
  return 0;
}

int
hutch_store_lock_images (struct hutch_store *s, hutch_error_t *err)
{
  int fd = openat (s->rootfd, "images.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  int r;

  if (fd < 0)
    return hutch_error_set (err, errno, "open `%s/images.lock`", s->root);
  r = hutch_store_flock (fd, LOCK_EX);
  if (r < 0)
    {
      close (fd);
      return hutch_error_set (err, -r, "lock `%s/images.lock`", s->root);
    }
  return fd;
}

/* ---- blobs ---------------------------------------------------------- */

char *
hutch_store_blob_path (const struct hutch_store *s, const char *digest)
{
  return hutch_xasprintf ("%s/blobs/sha256/%s", s->root, digest + 7);
}

bool
hutch_store_has_blob (const struct hutch_store *s, const char *digest)
{
  struct stat st;
  return hutch_digest_valid (digest)
         && fstatat (s->blobsfd, digest + 7, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG (st.st_mode);
}

int
hutch_store_blob_begin (struct hutch_store *s, const char *expected_digest,
                        struct hutch_blob_writer **ret, hutch_error_t *err)
{
  struct hutch_blob_writer *w;

  if (expected_digest && hutch_digest_parse (expected_digest, NULL, err) < 0)
    return -1;
  w = hutch_xmalloc0 (sizeof *w);
  w->s = s;
  w->expected = xstrdup_null (expected_digest);
  w->tmpname = hutch_store_tmp_name ("blob");
  if (hutch_sha256_new (&w->hash, err) < 0)
    {
      w->fd = -1;
      hutch_blob_writer_abort (w);
      return -1;
    }
  w->fd = openat (s->tmpfd, w->tmpname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (w->fd < 0)
    {
      int r = hutch_error_set (err, errno, "create a temporary file in `%s/tmp`", s->root);
      free (w->tmpname);
      w->tmpname = NULL;
      hutch_blob_writer_abort (w);
      return r;
    }
  *ret = w;
  return 0;
}

int
hutch_blob_writer_write (struct hutch_blob_writer *w, const void *buf, size_t len,
                         hutch_error_t *err)
{
  int r = hutch_write_all (w->fd, buf, len);
  if (r < 0)
    return hutch_error_set (err, -r, "write to `%s/tmp/%s`", w->s->root, w->tmpname);
  return hutch_sha256_update (w->hash, buf, len, err);
}

int
hutch_blob_writer_open_reader (struct hutch_blob_writer *w, hutch_error_t *err)
{
  int fd = openat (w->s->tmpfd, w->tmpname, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return hutch_error_set (err, errno, "open `%s/tmp/%s`", w->s->root, w->tmpname);
  return fd;
}

void
hutch_blob_writer_abort (struct hutch_blob_writer *w)
{
  if (w == NULL)
    return;
  hutch_closep (&w->fd);
  if (w->tmpname)
    unlinkat (w->s->tmpfd, w->tmpname, 0);
  free (w->tmpname);
  free (w->expected);
  hutch_sha256_free (w->hash);
  free (w);
}

int
hutch_blob_writer_commit (struct hutch_blob_writer *w, char **ret_digest, hutch_error_t *err)
{
  char digest[HUTCH_DIGEST_BUF_LEN];
  int r;

  if (hutch_sha256_final (w->hash, digest, err) < 0)
    goto fail;
  if (w->expected && strcmp (w->expected, digest) != 0)
    {
      hutch_error_set (err, 0,
                       "digest mismatch: expected %s but the data hashes to %s; the download "
                       "or the file is damaged or was changed, and nothing was stored",
                       w->expected, digest);
      goto fail;
    }
  /* Data before name: after a crash a blob's name must not point at a
     file whose content never reached the disk.  */
  if (fsync (w->fd) < 0)
    {
      hutch_error_set (err, errno, "flush `%s/tmp/%s` to disk", w->s->root, w->tmpname);
      goto fail;
    }
  if (renameat (w->s->tmpfd, w->tmpname, w->s->blobsfd, digest + 7) < 0)
    {
      hutch_error_set (err, errno, "move blob %s into `%s/blobs/sha256`", digest, w->s->root);
      goto fail;
    }
  free (w->tmpname);
  w->tmpname = NULL; /* renamed: nothing to unlink */
  r = hutch_store_fsync_dir (w->s->blobsfd);
  if (r < 0)
    {
      hutch_error_set (err, -r, "flush `%s/blobs/sha256` to disk", w->s->root);
      goto fail;
    }
  if (ret_digest)
    *ret_digest = hutch_xstrdup (digest);
  hutch_blob_writer_abort (w);
  return 0;

fail:
  hutch_blob_writer_abort (w);
  return -1;
}

int
hutch_store_put_blob (struct hutch_store *s, int fd, const char *expected_digest, char **ret_digest,
                      hutch_error_t *err)
{
  struct hutch_blob_writer *w = NULL;
  _cleanup_free_ char *buf = NULL;

  if (hutch_store_blob_begin (s, expected_digest, &w, err) < 0)
    return -1;
  buf = hutch_xmalloc0 (1 << 17);
  for (;;)
    {
      ssize_t n = read (fd, buf, 1 << 17);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int r = hutch_error_set (err, errno, "read the blob to store");
          hutch_blob_writer_abort (w);
          return r;
        }
      if (n == 0)
        break;
      if (hutch_blob_writer_write (w, buf, (size_t)n, err) < 0)
        {
          hutch_blob_writer_abort (w);
          return -1;
        }
    }
  return hutch_blob_writer_commit (w, ret_digest, err);
}

int
hutch_store_tmp_file (struct hutch_store *s, hutch_error_t *err)
{
  _cleanup_free_ char *name = NULL;
  int fd = openat (s->tmpfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

  if (fd >= 0)
    return fd;
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
    return hutch_error_set (err, errno, "create a file in `%s/tmp`", s->root);
  name = hutch_store_tmp_name ("file");
  fd = openat (s->tmpfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return hutch_error_set (err, errno, "create a file in `%s/tmp`", s->root);
  unlinkat (s->tmpfd, name, 0);
  return fd;
}

/* FD (nameless) linked into ROOT/tmp as NAME.  linkat of the fd itself
   (AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH before Linux 6.10; through
   /proc/self/fd, as open(2) documents for O_TMPFILE, it needs nothing.
   The magic link is our own fd's, in our own /proc: nothing of a tree we
   do not trust is resolved.  */
static int
link_tmp (struct hutch_store *s, int fd, const char *name)
{
  char proc[64];

  if (linkat (fd, "", s->tmpfd, name, AT_EMPTY_PATH) == 0)
    return 0;
  snprintf (proc, sizeof proc, "/proc/self/fd/%d", fd);
  return linkat (AT_FDCWD, proc, s->tmpfd, name, AT_SYMLINK_FOLLOW);
}

int
hutch_store_link_blob (struct hutch_store *s, int fd, const char *digest, hutch_error_t *err)
{
  _cleanup_free_ char *name = NULL;
  struct stat st;
  int r;

  if (hutch_digest_parse (digest, NULL, err) < 0)
    return -1;
  if (hutch_store_has_blob (s, digest))
    return 0;
  /* Only a file that no name reaches: one that has a name elsewhere could
     be changed through it once it is a blob.  */
  if (fstat (fd, &st) < 0)
    return hutch_error_set (err, errno, "look at blob %s", digest);
  if (!S_ISREG (st.st_mode) || st.st_nlink != 0)
    return 1;
  /* Data before name, as for any blob (hutch_blob_writer_commit).  */
  if (fsync (fd) < 0)
    return hutch_error_set (err, errno, "flush blob %s to disk", digest);
  /* The mode of every other blob (blob_begin's 0644, the store being
     0700 anyway).  */
  if (fchmod (fd, 0644) < 0)
    return hutch_error_set (err, errno, "give blob %s its mode", digest);
  name = hutch_store_tmp_name ("blob");
  if (link_tmp (s, fd, name) < 0)
    {
      if (errno == ENOENT || errno == EXDEV || errno == EPERM || errno == EACCES
          || errno == EOPNOTSUPP || errno == EMLINK)
        return 1;
      return hutch_error_set (err, errno, "link blob %s into `%s/tmp`", digest, s->root);
    }
  if (renameat (s->tmpfd, name, s->blobsfd, digest + 7) < 0)
    {
      r = hutch_error_set (err, errno, "move blob %s into `%s/blobs/sha256`", digest, s->root);
      unlinkat (s->tmpfd, name, 0);
      return r;
    }
  r = hutch_store_fsync_dir (s->blobsfd);
  if (r < 0)
    return hutch_error_set (err, -r, "flush `%s/blobs/sha256` to disk", s->root);
  return 0;
}

int
hutch_store_read_blob (const struct hutch_store *s, const char *digest, size_t max, char **ret,
                       size_t *ret_len, hutch_error_t *err)
{
  _cleanup_close_ int fd = -1;
  _cleanup_free_ char *buf = NULL;
  char got[HUTCH_DIGEST_BUF_LEN];
  size_t len;

  if (hutch_digest_parse (digest, NULL, err) < 0)
    return -1;
  fd = openat (s->blobsfd, digest + 7, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return hutch_error_set (err, errno, "blob %s in the image store `%s`", digest, s->root);
  if (hutch_read_fd (fd, max, &buf, &len, err) < 0)
    return hutch_error_prefix (err, "blob %s", digest);
  if (hutch_digest_buffer (buf, len, got, err) < 0)
    return -1;
  if (strcmp (got, digest) != 0)
    return hutch_error_set (err, 0,
                            "blob %s in the image store `%s` is damaged (its content hashes to "
                            "%s); remove the image with `hutch rmi` and pull or load it again",
                            digest, s->root, got);
  *ret = HUTCH_STEAL_PTR (buf);
  if (ret_len)
    *ret_len = len;
  return 0;
}

/* ---- layers --------------------------------------------------------- */

char *
hutch_store_layer_path (const struct hutch_store *s, const char *diff_id)
{
  return hutch_xasprintf ("%s/layers/%s", s->root, diff_id + 7);
}

bool
hutch_store_has_layer (const struct hutch_store *s, const char *diff_id)
{
  struct stat st;
  return hutch_digest_valid (diff_id)
         && fstatat (s->layersfd, diff_id + 7, &st, AT_SYMLINK_NOFOLLOW) == 0
         && S_ISDIR (st.st_mode);
}

int
hutch_store_layer_begin (struct hutch_store *s, char **ret_tmpdir, hutch_error_t *err)
{
  _cleanup_free_ char *name = hutch_store_tmp_name ("layer");
  if (mkdirat (s->tmpfd, name, 0755) < 0)
    return hutch_error_set (err, errno, "create a directory in `%s/tmp`", s->root);
  *ret_tmpdir = hutch_xasprintf ("%s/tmp/%s", s->root, name);
  return 0;
}

/* The name of TMPDIR inside ROOT/tmp, or NULL when it is elsewhere.  */
static const char *
tmp_child (const struct hutch_store *s, const char *path)
{
  size_t n = strlen (s->root);
  const char *base;
  if (strncmp (path, s->root, n) != 0 || strncmp (path + n, "/tmp/", 5) != 0)
    return NULL;
  base = path + n + 5;
  if (*base == '\0' || strchr (base, '/') || strcmp (base, "..") == 0 || strcmp (base, ".") == 0)
    return NULL;
  return base;
}

/* The name in ROOT/tmp of TMPDIR, a layer from hutch_store_layer_begin,
   and the hex of DIFF_ID.  */
static int
layer_names (const struct hutch_store *s, const char *tmpdir, const char *diff_id,
             const char **ret_base, const char **ret_hex, hutch_error_t *err)
{
  *ret_base = tmp_child (s, tmpdir);
  if (hutch_digest_parse (diff_id, ret_hex, err) < 0)
    return hutch_error_prefix (err, "layer diff_id");
  if (*ret_base == NULL)
    return hutch_error_set (err, EINVAL,
                            "internal error: layer directory `%s` is not from "
                            "hutch_store_layer_begin",
                            tmpdir);
  return 0;
}

/* Everything unpacked into tmp/BASE must be on disk before the layer's
   name appears: one syncfs instead of an fsync per file, which would cost
   more than the unpack.  */
static int
flush_layer (const struct hutch_store *s, const char *base, const char *tmpdir, hutch_error_t *err)
{
  _cleanup_close_ int fd = openat (s->tmpfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return hutch_error_set (err, errno, "open `%s`", tmpdir);
  if (syncfs (fd) < 0)
    return hutch_error_set (err, errno, "flush `%s` to disk", tmpdir);
  return 0;
}

/* Another process put the same layer in place first: its copy is as good
   as ours, tmp/BASE goes.  */
static enum hutch_layer_commit
drop_layer (const struct hutch_store *s, const char *base)
{
  hutch_error_t e = HUTCH_ERROR_INIT;
  enum hutch_layer_commit res = hutch_walk_remove_tree (s->tmpfd, base, &e) == 0
                                    ? HUTCH_LAYER_EXISTED
                                    : HUTCH_LAYER_EXISTED_REMOVE;
  hutch_error_clear (&e);
  return res;
}

int
hutch_store_layer_commit (struct hutch_store *s, const char *tmpdir, const char *diff_id,
                          enum hutch_layer_commit *ret_result, hutch_error_t *err)
{
  const char *base, *hex;
  int r;

  if (layer_names (s, tmpdir, diff_id, &base, &hex, err) < 0
      || flush_layer (s, base, tmpdir, err) < 0)
    return -1;

  r = renameat2 (s->tmpfd, base, s->layersfd, hex, RENAME_NOREPLACE);
  if (r < 0 && (errno == EINVAL || errno == ENOSYS))
    {
      /* No RENAME_NOREPLACE here (NFS, old kernels): a plain rename fails
         on a non-empty directory, and replaces an empty one, which is the
         same empty layer.  */
      struct stat st;
      if (fstatat (s->layersfd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0)
        {
          errno = EEXIST;
          r = -1;
        }
      else
        r = renameat (s->tmpfd, base, s->layersfd, hex);
    }
  if (r < 0 && (errno == EEXIST || errno == ENOTEMPTY))
    {
      *ret_result = drop_layer (s, base);
      return 0;
    }
  if (r < 0)
    return hutch_error_set (err, errno, "move `%s` to `%s/layers/%s`", tmpdir, s->root, hex);
  r = hutch_store_fsync_dir (s->layersfd);
  if (r < 0)
    return hutch_error_set (err, -r, "flush `%s/layers` to disk", s->root);
  *ret_result = HUTCH_LAYER_COMMITTED;
  return 0;
}

/* The record of the layer directory NAME in DFD, or NULL when it has
   none.  */
static int
read_record_at (int dfd, const char *name, const char *shown, char **ret, hutch_error_t *err)
{
  _cleanup_free_ char *rel = hutch_xasprintf ("%s/%s", name, HUTCH_STORE_LAYER_RECORD);
  _cleanup_close_ int fd = openat (dfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

  *ret = NULL;
  if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
    return 0;
  if (fd < 0)
    return hutch_error_set (err, errno, "open `%s/%s`", shown, HUTCH_STORE_LAYER_RECORD);
  if (hutch_read_fd (fd, 1 << 20, ret, NULL, err) < 0)
    return hutch_error_prefix (err, "`%s/%s`", shown, HUTCH_STORE_LAYER_RECORD);
  return 0;
}

int
hutch_store_layer_record (const struct hutch_store *s, const char *diff_id, char **ret_text,
                          hutch_error_t *err)
{
  _cleanup_free_ char *shown = NULL;
  const char *hex;

  if (hutch_digest_parse (diff_id, &hex, err) < 0)
    return hutch_error_prefix (err, "layer diff_id");
  shown = hutch_store_layer_path (s, diff_id);
  return read_record_at (s->layersfd, hex, shown, ret_text, err);
}

int
hutch_store_layer_set_record (struct hutch_store *s, const char *diff_id, const char *text,
                              hutch_error_t *err)
{
  _cleanup_free_ char *tmp = hutch_store_tmp_name ("." HUTCH_STORE_LAYER_RECORD);
  _cleanup_free_ char *shown = NULL;
  _cleanup_close_ int dfd = -1, fd = -1;
  const char *hex;
  int r;

  if (hutch_digest_parse (diff_id, &hex, err) < 0)
    return hutch_error_prefix (err, "layer diff_id");
  shown = hutch_store_layer_path (s, diff_id);
  dfd = openat (s->layersfd, hex, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0)
    return hutch_error_set (err, errno, "open `%s`", shown);
  fd = openat (dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    return hutch_error_set (err, errno, "create a file in `%s`", shown);
  r = hutch_write_all (fd, text, strlen (text));
  if (r == 0 && fsync (fd) < 0)
    r = -errno;
  if (r == 0 && renameat (dfd, tmp, dfd, HUTCH_STORE_LAYER_RECORD) < 0)
    r = -errno;
  if (r < 0)
    {
      unlinkat (dfd, tmp, 0);
      return hutch_error_set (err, -r, "write `%s/%s`", shown, HUTCH_STORE_LAYER_RECORD);
    }
  return 0;
}

/* Swap tmp/BASE with layers/HEX, whose old copy goes to superseded/.  */
static int
swap_layer (struct hutch_store *s, const char *base, const char *hex, hutch_error_t *err)
{
  _cleanup_free_ char *name = hutch_store_tmp_name ("layer");
  _cleanup_close_ int supfd = open_subdir (s->rootfd, "superseded", s->root, err);

  if (supfd < 0)
    return -1;
  if (renameat2 (s->tmpfd, base, s->layersfd, hex, RENAME_EXCHANGE) == 0)
    {
      /* The old copy is tmp/BASE now.  Should this rename fail, it stays
         there, and the next open of an idle store removes it.  */
      (void)renameat (s->tmpfd, base, supfd, name);
    }
  else if (errno == EINVAL || errno == ENOSYS)
    {
      /* No RENAME_EXCHANGE here (NFS, old kernels): for a moment there is
         no layer, and a process that looks then unpacks its own.  */
      if (renameat (s->layersfd, hex, supfd, name) < 0)
        return hutch_error_set (err, errno, "move `%s/layers/%s` to `%s/superseded`", s->root, hex,
                                s->root);
      if (renameat (s->tmpfd, base, s->layersfd, hex) < 0)
        {
          int r = hutch_error_set (err, errno, "move `%s/tmp/%s` to `%s/layers/%s`", s->root, base,
                                   s->root, hex);
          (void)renameat (supfd, name, s->layersfd, hex);
          return r;
        }
    }
  else
    return hutch_error_set (err, errno, "put `%s/tmp/%s` in the place of `%s/layers/%s`", s->root,
                            base, s->root, hex);
  hutch_store_fsync_dir (s->layersfd);
  hutch_store_fsync_dir (supfd);
  return 0;
}

int
hutch_store_layer_replace (struct hutch_store *s, const char *tmpdir, const char *diff_id,
                           enum hutch_layer_commit *ret_result, hutch_error_t *err)
{
  _cleanup_free_ char *ours = NULL, *theirs = NULL, *shown = NULL;
  _cleanup_close_ int lockfd = -1;
  const char *base, *hex;
  struct stat st;

  if (layer_names (s, tmpdir, diff_id, &base, &hex, err) < 0)
    return -1;
  lockfd = hutch_store_lock_images (s, err);
  if (lockfd < 0)
    return -1;
  if (fstatat (s->layersfd, hex, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
    return hutch_store_layer_commit (s, tmpdir, diff_id, ret_result, err);
  shown = hutch_store_layer_path (s, diff_id);
  if (read_record_at (s->tmpfd, base, tmpdir, &ours, err) < 0
      || read_record_at (s->layersfd, hex, shown, &theirs, err) < 0)
    return -1;
  if (ours && theirs && strcmp (ours, theirs) == 0)
    {
      *ret_result = drop_layer (s, base);
      return 0;
    }
  if (flush_layer (s, base, tmpdir, err) < 0 || swap_layer (s, base, hex, err) < 0)
    return -1;
  *ret_result = HUTCH_LAYER_COMMITTED;
  return 0;
}

int
hutch_store_superseded (const struct hutch_store *s, char ***ret_paths, hutch_error_t *err)
{
  char **paths = hutch_xmalloc0 (sizeof (char *));
  int fd = openat (s->rootfd, "superseded", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct dirent *de;
  DIR *d;

  if (fd < 0 && errno == ENOENT)
    {
      *ret_paths = paths;
      return 0;
    }
  d = fd < 0 ? NULL : fdopendir (fd);
  if (d == NULL)
    {
      int r = hutch_error_set (err, errno, "read `%s/superseded`", s->root);
      if (fd >= 0)
        close (fd);
      hutch_strv_free (paths);
      return r;
    }
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      hutch_strv_push (&paths, hutch_xasprintf ("%s/superseded/%s", s->root, de->d_name));
  closedir (d);
  *ret_paths = paths;
  return 0;
}

/* ---- file systems --------------------------------------------------- */

static const char *
network_fs_name (long type)
{
  /* Those not in <linux/magic.h> are from the file systems' own sources
     (Lustre's LL_SUPER_MAGIC, GPFS's, BeeGFS's, PanFS's, OrangeFS's).  */
  static const struct
  {
    unsigned long magic;
    const char *name;
  } table[] = {
    { NFS_SUPER_MAGIC, "NFS" },
    { 0x0BD00BD0, "Lustre" },
    { 0x47504653, "GPFS (IBM Storage Scale)" },
    { 0x19830326, "BeeGFS" },
    { CEPH_SUPER_MAGIC, "CephFS" },
    { CIFS_SUPER_MAGIC, "CIFS" },
    { SMB2_SUPER_MAGIC, "SMB" },
    { SMB_SUPER_MAGIC, "SMB" },
    { AFS_SUPER_MAGIC, "AFS" },
    { AFS_FS_MAGIC, "AFS" },
    { 0xAAD7AAEA, "PanFS" },
    { 0x20030528, "OrangeFS" },
  };
  size_t i;
  for (i = 0; i < sizeof table / sizeof *table; i++)
    if ((unsigned long)(unsigned int)type == table[i].magic)
      return table[i].name;
  return NULL;
}

/* A local, disk-backed, writable directory to suggest instead.  */
static char *
suggest_local (void)
{
  static const char *const candidates[] = { "/local", "/scratch", "/localscratch", "/var/tmp" };
  struct passwd *pw = getpwuid (geteuid ());
  size_t i;

  for (i = 0; i < sizeof candidates / sizeof *candidates; i++)
    {
      struct statfs sf;
      if (statfs (candidates[i], &sf) == 0 && network_fs_name ((long)sf.f_type) == NULL
          && (unsigned long)sf.f_type != TMPFS_MAGIC && access (candidates[i], W_OK | X_OK) == 0)
        return hutch_xasprintf ("%s/%s/hutch", candidates[i], pw ? pw->pw_name : "$USER");
    }
  return NULL;
}

/* A store in memory (a tmpfs, such as /tmp on many distributions,
   /dev/shm or $XDG_RUNTIME_DIR) works, but is gone at the next boot: the
   user should know before relying on it.  */
static char *
memory_fs_warning (const char *path, long type)
{
  _cleanup_free_ char *better = NULL, *conf = NULL;
  const char *where;

  if ((unsigned long)(unsigned int)type != TMPFS_MAGIC
      && (unsigned long)(unsigned int)type != RAMFS_MAGIC)
    return NULL;
  better = suggest_local ();
  where = better ? better : "/path/on/a/local/disk";
  conf = hutch_paths_config_file ();
  return hutch_xasprintf ("the image store `%s` is on a %s, in memory: its images and layers "
                          "vanish when the machine restarts, and take memory that containers "
                          "could use; to keep them, put the store on a disk with `hutch --root "
                          "%s`, or `root = %s` in %s",
                          path,
                          (unsigned long)(unsigned int)type == TMPFS_MAGIC ? "tmpfs" : "ramfs",
                          where, where, conf);
}

char *
hutch_store_filesystem_warning (const char *path, long f_type)
{
  _cleanup_free_ char *better = NULL, *conf = NULL;
  const char *fs = network_fs_name (f_type);
  const char *where;

  if (fs == NULL)
    return memory_fs_warning (path, f_type);
  better = suggest_local ();
  where = better ? better : "/path/on/a/local/disk";
  conf = hutch_paths_config_file ();
  return hutch_xasprintf ("the image store `%s` is on %s, a network file system, where overlay "
                          "mounts and files owned by subordinate ids do not work reliably and "
                          "containers start slowly; put it on a local disk of this machine with "
                          "`hutch --root %s`, or `root = %s` in %s (not on a tmpfs such as /tmp "
                          "or $XDG_RUNTIME_DIR: that is memory, and is cleaned)",
                          path, fs, where, where, conf);
}

/* statfs of PATH or, when it does not exist yet, of the nearest
   directory above it that does: where it would be created.  */
static int
statfs_existing (const char *path, struct statfs *ret, hutch_error_t *err)
{
  _cleanup_free_ char *p = hutch_xstrdup (path);
  struct statfs sf;

  while (statfs (p, &sf) < 0)
    {
      char *slash;
      if (errno != ENOENT && errno != ENOTDIR)
        return hutch_error_set (err, errno, "statfs `%s`", p);
      slash = strrchr (p, '/');
      if (slash == NULL || slash == p)
        {
          strcpy (p, slash ? "/" : ".");
          if (statfs (p, &sf) < 0)
            return hutch_error_set (err, errno, "statfs `%s`", p);
          break;
        }
      *slash = '\0';
    }
  *ret = sf;
  return 0;
}

int
hutch_store_check_filesystem (const char *path, char **ret_warning, hutch_error_t *err)
{
  struct statfs sf;

  if (statfs_existing (path, &sf, err) < 0)
    return -1;
  *ret_warning = hutch_store_filesystem_warning (path, (long)sf.f_type);
  return 0;
}

char *
hutch_store_filesystem_name (const char *path)
{
  /* The local ones hutch meets most; the network ones are named by
     network_fs_name.  */
  static const struct
  {
    unsigned long magic;
    const char *name;
  } table[] = {
    { EXT4_SUPER_MAGIC, "ext2/3/4" },
    { XFS_SUPER_MAGIC, "xfs" },
    { BTRFS_SUPER_MAGIC, "btrfs" },
    { 0x2FC12FC1, "zfs" },
    { F2FS_SUPER_MAGIC, "f2fs" },
    { TMPFS_MAGIC, "tmpfs, in memory" },
    { RAMFS_MAGIC, "ramfs, in memory" },
    { OVERLAYFS_SUPER_MAGIC, "overlayfs" },
    { FUSE_SUPER_MAGIC, "a FUSE file system" },
    { V9FS_MAGIC, "9p" },
    { SQUASHFS_MAGIC, "squashfs" },
  };
  hutch_error_t e = HUTCH_ERROR_INIT;
  struct statfs sf;
  const char *net;
  size_t i;

  if (statfs_existing (path, &sf, &e) < 0)
    {
      hutch_error_clear (&e);
      return NULL;
    }
  net = network_fs_name ((long)sf.f_type);
  if (net)
    return hutch_xasprintf ("%s, a network file system", net);
  for (i = 0; i < sizeof table / sizeof *table; i++)
    if ((unsigned long)(unsigned int)sf.f_type == table[i].magic)
      return hutch_xstrdup (table[i].name);
  return hutch_xasprintf ("file system type 0x%lx", (unsigned long)(unsigned int)sf.f_type);
}

/* Why PATH (which exists) cannot be written, "CAUSE; fix: HOW", from
   access(2)'s ERRNUM.  */
static int
not_writable (const char *root, const char *path, bool create, int errnum, hutch_error_t *err)
{
  _cleanup_free_ char *conf = hutch_paths_config_file (), *why = NULL, *fix = NULL;
  struct stat st;

  if (errnum == EROFS)
    why = hutch_xasprintf ("`%s` is on a read-only file system", path);
  else if (errnum == EACCES && stat (path, &st) == 0)
    {
      why = hutch_xasprintf ("`%s` is not writable by you (mode %04o, owner uid %u)", path,
                             (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
      if (st.st_uid == geteuid ())
        fix = hutch_xasprintf ("`chmod u+w %s`, or ", path);
    }
  else
    why = hutch_xasprintf ("`%s`: %s", path, strerror (errnum));
  hutch_error_set (err, 0,
                   "the image store `%s` %s: %s; fix: %schoose a writable place with `hutch "
                   "--root DIR` or `root = DIR` in %s",
                   root, create ? "cannot be created" : "is not writable", why, fix ? fix : "",
                   conf);
  err->errnum = errnum;
  return -errnum;
}

int
hutch_store_check_writable (const char *root, hutch_error_t *err)
{
  /* What the store needs to write once it exists: new entries in ROOT
     (images.json is replaced by rename), tmp/, layers/, blobs/sha256/ and
     containers/, and store.lock, opened for writing to be locked.  */
  static const char *const inside[]
      = { "tmp", "layers", "blobs/sha256", "containers", "store.lock" };
  _cleanup_free_ char *p = hutch_xstrdup (root);
  struct stat st;
  bool create = false;
  size_t i;

  while (stat (p, &st) < 0)
    {
      char *slash = strrchr (p, '/');
      if (errno != ENOENT)
        return not_writable (root, p, true, errno, err);
      create = true;
      if (slash == NULL)
        strcpy (p, ".");
      else if (slash == p)
        p[1] = '\0';
      else
        *slash = '\0';
    }
  if (!S_ISDIR (st.st_mode))
    return not_writable (root, p, create, ENOTDIR, err);
  if (access (p, W_OK | X_OK) < 0)
    return not_writable (root, p, create, errno, err);
  for (i = 0; !create && i < sizeof inside / sizeof *inside; i++)
    {
      _cleanup_free_ char *q = hutch_xasprintf ("%s/%s", root, inside[i]);
      if (access (q, F_OK) == 0 && access (q, W_OK) < 0)
        return not_writable (root, q, false, errno, err);
    }
  return 0;
}
