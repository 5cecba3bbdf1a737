/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unpacking an image's layers into the store, inside the user namespace,
   and unpacking them again from their blobs when the user's id mapping
   changed since (a range granted or moved: image/layermap.h).  */
#include <config.h>

#include "image/image.h"
#include "image/layermap.h"
#include "image/unpack.h"
#include "runtime/nsexec.h"
#include "base/digest.h"
#include "base/log.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct unpack_job
{
  int blobfd;
  const char *layer;   /* the layer's directory in ROOT/tmp */
  const char *diff_id; /* what the content must hash to, or NULL */
};

static int
unpack_in_userns (void *arg, hutch_error_t *err)
{
  struct unpack_job *job = arg;
  struct hutch_unpack_opts opts
      = { .whiteouts = HUTCH_WHITEOUT_OVERLAY, .diff_id = job->diff_id != NULL };
  struct hutch_unpack_stats stats;
  _cleanup_free_ char *diff = hutch_xasprintf ("%s/diff", job->layer);
  _cleanup_close_ int dirfd = open (diff, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (dirfd < 0)
    return hutch_error_set (err, errno, "open `%s`", diff);
  /* The record of this namespace's maps, which also says whether files
     can get their owners: without a subordinate range only our own id
     exists, and they stay ours.  */
  if (hutch_layermap_record_self (job->layer, &opts.chown, err) < 0
      || hutch_archive_unpack (job->blobfd, dirfd, &opts, &stats, err) < 0)
    return -1;
  if (job->diff_id && strcmp (stats.diff_id, job->diff_id) != 0)
    {
      hutch_error_set (err, 0,
                       "its blob unpacks to content with digest %s, not %s: the blob in the "
                       "store is damaged",
                       stats.diff_id, job->diff_id);
      err->errnum = EBADMSG;
      return -1;
    }
  return 0;
}

/* Unpack L from its blob into a new directory of ROOT/tmp, *RET_TMP.  With
   VERIFY, the content must hash to L's diff_id.  */
static int
unpack_blob (struct hutch_store *s, const struct hutch_store_layer *l, bool verify, char **ret_tmp,
             hutch_error_t *err)
{
  _cleanup_free_ char *blob = NULL, *tmp = NULL, *diff = NULL;
  _cleanup_close_ int fd = -1;
  struct unpack_job job;

  if (hutch_digest_valid (l->digest))
    {
      blob = hutch_store_blob_path (s, l->digest);
      fd = open (blob, O_RDONLY | O_CLOEXEC);
    }
  if (fd < 0)
    return hutch_error_set (err, blob ? errno : ENOENT,
                            "layer %s is missing from the store; load the image again",
                            blob ? l->digest : l->diff_id);
  if (hutch_store_layer_begin (s, &tmp, err) < 0)
    return -1;
  /* The layer's files go into LAYER/diff: their root may belong to any
     id of the image, while LAYER itself stays the user's, so that the
     store can rename it into place and away without the namespace.  */
  diff = hutch_xasprintf ("%s/diff", tmp);
  if (mkdir (diff, 0755) < 0)
    return hutch_error_set (err, errno, "create `%s`", diff);
  job.blobfd = fd;
  job.layer = tmp;
  job.diff_id = verify ? l->diff_id : NULL;
  if (hutch_in_userns (unpack_in_userns, &job, err) < 0)
    {
      hutch_error_t e = HUTCH_ERROR_INIT;
      hutch_userns_remove (tmp, &e);
      hutch_error_clear (&e);
      return hutch_error_prefix (err, "unpack layer %.19s", l->diff_id);
    }
  *ret_tmp = HUTCH_STEAL_PTR (tmp);
  return 0;
}

/* A layer the store lacks.  */
static int
unpack_layer (struct hutch_store *s, const struct hutch_store_layer *l, hutch_error_t *err)
{
  _cleanup_free_ char *tmp = NULL;
  enum hutch_layer_commit res;

  if (unpack_blob (s, l, false, &tmp, err) < 0
      || hutch_store_layer_commit (s, tmp, l->diff_id, &res, err) < 0)
    return -1;
  if (res == HUTCH_LAYER_EXISTED_REMOVE)
    hutch_userns_remove (tmp, err);
  hutch_error_clear (err);
  return 0;
}

/* How the user knows IMG.  */
static const char *
image_name (const struct hutch_image *img)
{
  return img->names && img->names[0] ? img->names[0] : img->id;
}

/* A layer the store has, unpacked under another mapping: again, from its
   blob, in the place of the old one.  */
static int
unpack_again (struct hutch_store *s, const struct hutch_image *img,
              const struct hutch_store_layer *l, hutch_error_t *err)
{
  _cleanup_free_ char *tmp = NULL;
  enum hutch_layer_commit res;
  hutch_error_t e = HUTCH_ERROR_INIT;

  /* Every way in (pull, load, import) keeps the blob, and an image keeps
     its blobs from `image prune`: only a damaged store lacks one.  */
  if (!hutch_store_has_blob (s, l->digest))
    return hutch_error_set (err, 0,
                            "image %s: layer %.19s was unpacked under another id mapping and must "
                            "be unpacked again, but its blob %s is not in the store; remove the "
                            "image with `hutch rmi %s` and pull, load or import it again",
                            image_name (img), l->diff_id, l->digest ? l->digest : "(none)",
                            image_name (img));
  if (unpack_blob (s, l, true, &tmp, err) < 0)
    {
      if (err->errnum == EBADMSG)
        hutch_error_append (err,
                            "remove the image with `hutch rmi %s` and pull, load or import it "
                            "again",
                            image_name (img));
      return hutch_error_prefix (err, "image %s", image_name (img));
    }
  if (hutch_store_layer_replace (s, tmp, l->diff_id, &res, err) < 0)
    {
      hutch_userns_remove (tmp, &e);
      hutch_error_clear (&e);
      return -1;
    }
  if (res == HUTCH_LAYER_EXISTED_REMOVE)
    hutch_userns_remove (tmp, &e);
  hutch_error_clear (&e);
  return 0;
}

/* Whether the layer L, which the store has, suits CUR.  A layer of an
   older hutch, without a record, gets one when its files show that it
   does.  */
static enum hutch_layermap_verdict
layer_verdict (struct hutch_store *s, const struct hutch_store_layer *l,
               const struct hutch_layermap *cur)
{
  _cleanup_free_ char *text = NULL, *dir = NULL, *diff = NULL;
  _cleanup_close_ int fd = -1;
  struct hutch_layermap rec;
  enum hutch_layermap_verdict v;
  hutch_error_t e = HUTCH_ERROR_INIT;

  if (hutch_store_layer_record (s, l->diff_id, &text, &e) == 0 && text
      && hutch_layermap_parse (text, &rec) == 0)
    {
      v = hutch_layermap_compare (&rec, cur);
      hutch_layermap_clear (&rec);
      return v;
    }
  hutch_error_clear (&e);
  dir = hutch_store_layer_path (s, l->diff_id);
  diff = hutch_xasprintf ("%s/diff", dir);
  fd = open (diff, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  v = fd < 0 ? HUTCH_LAYERMAP_UNKNOWN : hutch_layermap_guess (fd, cur);
  if (v == HUTCH_LAYERMAP_CURRENT)
    {
      /* Recorded, so that the files are looked at once.  Should that
         fail, they are looked at again next time: no harm.  */
      _cleanup_free_ char *now = hutch_layermap_format (cur);
      hutch_store_layer_set_record (s, l->diff_id, now, &e);
      hutch_error_clear (&e);
    }
  return v;
}

/* The one line that says why N layers of IMG are unpacked again.  */
static void
say_again (const struct hutch_image *img, size_t n, enum hutch_layermap_verdict why)
{
  const char *it = n > 1 ? "they were" : "it was", *its = n > 1 ? "their" : "its";
  _cleanup_free_ char *what = n > 1 ? hutch_xasprintf ("%zu layers", n) : hutch_xstrdup ("a layer");

  switch (why)
    {
    case HUTCH_LAYERMAP_SQUASHED:
      hutch_log (HUTCH_LOG_INFO,
                 "image %s: unpacking %s again, now with your subordinate ids: %s unpacked while "
                 "you had none, which made all %s files root's",
                 image_name (img), what, it, its);
      break;
    case HUTCH_LAYERMAP_MOVED:
      hutch_log (HUTCH_LOG_INFO,
                 "image %s: unpacking %s again: %s unpacked with subordinate ids that no longer "
                 "stand for the same ids (/etc/subuid or /etc/subgid changed)",
                 image_name (img), what, it);
      break;
    default:
      hutch_log (HUTCH_LOG_INFO,
                 "image %s: unpacking %s again: an older hutch unpacked %s without recording "
                 "the id mapping, which may have made all %s files root's",
                 image_name (img), what, n > 1 ? "them" : "it", its);
      break;
    }
}

/* Which layers of IMG the store has under another mapping than CUR: marks
   them in AGAIN (a layer twice in IMG once), returns how many, and the
   reason of the first in *RET_WHY.  */
static size_t
stale_layers (struct hutch_store *s, const struct hutch_image *img,
              const struct hutch_layermap *cur, bool *again, enum hutch_layermap_verdict *ret_why)
{
  size_t i, k, n = 0;

  for (i = 0; i < img->n_layers; i++)
    {
      enum hutch_layermap_verdict v;
      bool dup = false;

      for (k = 0; k < i && !dup; k++)
        dup = strcmp (img->layers[k].diff_id, img->layers[i].diff_id) == 0;
      if (dup || !hutch_store_has_layer (s, img->layers[i].diff_id))
        continue;
      v = layer_verdict (s, &img->layers[i], cur);
      if (v == HUTCH_LAYERMAP_CURRENT)
        continue;
      if (n++ == 0)
        *ret_why = v;
      again[i] = true;
    }
  return n;
}

int
hutch_image_unpack_layers (struct hutch_store *s, const struct hutch_image *img, hutch_error_t *err)
{
  _cleanup_free_ bool *again = hutch_xmalloc0 ((img->n_layers + 1) * sizeof *again);
  enum hutch_layermap_verdict why = HUTCH_LAYERMAP_CURRENT;
  struct hutch_layermap cur;
  hutch_error_t e = HUTCH_ERROR_INIT;
  size_t i, n = 0;
  int r = 0;

  /* Without the current mapping (no newuidmap, an unreadable
     /etc/subuid) no layer could be unpacked either: those there are used
     as they are, and a missing one fails below with the reason.  */
  if (hutch_layermap_current (&cur, &e) == 0)
    {
      n = stale_layers (s, img, &cur, again, &why);
      hutch_layermap_clear (&cur);
    }
  hutch_error_clear (&e);
  if (n > 0)
    say_again (img, n, why);
  for (i = 0; i < img->n_layers && r == 0; i++)
    if (again[i])
      r = unpack_again (s, img, &img->layers[i], err);
    else if (!hutch_store_has_layer (s, img->layers[i].diff_id))
      r = unpack_layer (s, &img->layers[i], err);
  if (n > 0)
    hutch_image_drop_superseded (s);
  return r;
}
