/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "base/digest.h"
#include "image/imageconfig.h"
#include "registry/progress.h"
#include "registry/pull.h"
#include "image/reference.h"
#include "base/log.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MANIFEST_MAX (4 << 20)
/* Blobs above this go up in PATCH chunks of this size.  */
#define PUSH_CHUNK ((int64_t)64 << 20)

struct push_line
{
  struct hutch_progress *prog;
  size_t line;
};

static void
push_progress (void *arg, int64_t sent)
{
  struct push_line *pl = arg;
  hutch_progress_update (pl->prog, pl->line, sent);
}

/* Another repository of DEST's registry that the image came from: the
   registry may link the blob from there instead of receiving it again.  */
static char *
mount_source (const struct hutch_image *img, const struct hutch_reference *dest)
{
  size_t i;

  for (i = 0; img->names && img->names[i]; i++)
    {
      struct hutch_reference ref;
      hutch_error_t e = HUTCH_ERROR_INIT;
      char *out = NULL;

      if (hutch_reference_parse (img->names[i], &ref, &e) < 0)
        {
          hutch_error_clear (&e);
          continue;
        }
      if (strcmp (ref.registry, dest->registry) == 0
          && strcmp (ref.repository, dest->repository) != 0)
        out = hutch_xstrdup (ref.repository);
      hutch_reference_clear (&ref);
      if (out)
        return out;
    }
  return NULL;
}

static int
push_blob (struct hutch_store *s, struct hutch_registry *r, const char *digest, int64_t size,
           const char *from, struct hutch_progress *prog, hutch_error_t *err)
{
  _cleanup_free_ char *path = hutch_store_blob_path (s, digest);
  _cleanup_free_ char *label = hutch_xstrndup (digest + strlen ("sha256:"), 12);
  _cleanup_close_ int fd = -1;
  struct push_line pl = { prog, 0 };
  struct stat st;
  bool have = false;

  pl.line = hutch_progress_add (prog, "Copying blob", label, size);
  if (hutch_registry_has_blob (r, digest, &have, err) < 0)
    return -1;
  if (have)
    {
      hutch_progress_finish (prog, pl.line, "skipped: already in the registry");
      return 0;
    }
  if (from)
    {
      bool mounted = false;
      if (hutch_registry_mount_blob (r, digest, from, &mounted, err) < 0)
        return -1;
      if (mounted)
        {
          hutch_progress_finish (prog, pl.line, "mounted from another repository");
          return 0;
        }
    }
  fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return hutch_error_set (
        err, errno, "blob %s is missing from the store; pull or load the image again", digest);
  if (fstat (fd, &st) < 0)
    return hutch_error_set (err, errno, "stat `%s`", path);
  if (hutch_registry_upload_blob (r, digest, fd, st.st_size, PUSH_CHUNK, push_progress, &pl, err)
      < 0)
    return -1;
  hutch_progress_finish (prog, pl.line, "done");
  return 0;
}

/* Whether IMAGE, which found IMG, is its id (or a prefix of it, or a
   digest) rather than a name.  */
static bool
names_by_id (const char *image, const struct hutch_image *img)
{
  const char *hex = strchr (img->id, ':');

  if (hutch_str_has_prefix (image, "sha256:"))
    return true;
  return hex && strlen (image) >= 4 && hutch_str_has_prefix (hex + 1, image);
}

/* Where to push IMAGE (which found IMG) when the user named DEST or not.
   Without DEST, the name as the user wrote it (podman's rule); an id
   stands for the image's name only when it has just one.  */
static int
push_target (const char *image, const char *dest, const struct hutch_image *img,
             const char **ret_target, hutch_error_t *err)
{
  const char *target = dest;

  if (target == NULL)
    {
      if (!names_by_id (image, img))
        target = image;
      else if (img->names && img->names[0] && !img->names[1])
        target = img->names[0];
      else
        return hutch_error_set (err, 0,
                                "`%s` names the image by id, and it has %s; give the destination, "
                                "as in `hutch push %s REGISTRY/REPOSITORY:TAG`",
                                image, img->names && img->names[0] ? "several names" : "no name",
                                image);
    }
  if (hutch_str_has_prefix (target, "docker://"))
    target += strlen ("docker://");
  *ret_target = target;
  return 0;
}

/* Read IMG's manifest from the store into *BODY and *LEN, and parse it
   into M, which must be an image manifest (an index is not pushed).  The
   caller frees *BODY and clears M, also on failure.  */
static int
load_manifest (struct hutch_store *s, const char *image, const struct hutch_image *img,
               const char *full, char **body, size_t *len, struct hutch_manifest *m,
               hutch_error_t *err)
{
  if (img->manifest_digest == NULL
      || hutch_store_read_blob (s, img->manifest_digest, MANIFEST_MAX, body, len, err) < 0)
    {
      if (img->manifest_digest == NULL)
        hutch_error_set (err, 0, "image `%s` has no manifest in the store", image);
      hutch_error_prefix (err, "push %s", full);
      return -1;
    }
  if (hutch_manifest_parse (*body, *len, NULL, m, err) < 0 || m->kind != HUTCH_MANIFEST_IMAGE)
    {
      if (m->kind != HUTCH_MANIFEST_IMAGE)
        hutch_error_set (err, 0, "the stored manifest of `%s` is not an image manifest", image);
      hutch_error_prefix (err, "push %s", full);
      return -1;
    }
  return 0;
}

/* Layers, then the config, the manifest last: a registry checks that
   what a manifest names is there.  */
static int
push_contents (struct hutch_store *s, struct hutch_registry *r, const struct hutch_manifest *m,
               const char *body, size_t len, const struct hutch_reference *ref, const char *from,
               struct hutch_progress *prog, hutch_error_t *err)
{
  size_t i;

  for (i = 0; i < m->n_layers; i++)
    {
      size_t k;
      bool dup = false;
      for (k = 0; k < i; k++)
        dup = dup || strcmp (m->layers[k].digest, m->layers[i].digest) == 0;
      if (!dup && push_blob (s, r, m->layers[i].digest, m->layers[i].size, from, prog, err) < 0)
        return -1;
    }
  if (push_blob (s, r, m->config.digest, m->config.size, NULL, prog, err) < 0)
    return -1;
  if (hutch_registry_put_manifest (r, ref->digest ? ref->digest : ref->tag, body, len,
                                   m->media_type, err)
      < 0)
    return -1;
  return 0;
}

int
hutch_push (struct hutch_store *s, const char *image, const char *dest,
            struct hutch_push_opts *opts, hutch_error_t *err)
{
  _cleanup_registry_ struct hutch_registry *r = NULL;
  _cleanup_free_ char *body = NULL, *full = NULL, *from = NULL;
  struct hutch_image img = { 0 };
  struct hutch_reference ref = { 0 };
  struct hutch_manifest m = { 0 };
  struct hutch_progress *prog = NULL;
  const char *target = NULL;
  size_t len;
  int ret = -1;

  if (hutch_store_find_image (s, image, &img, err) < 0)
    {
      if (err->errnum == ENOENT)
        return hutch_error_set (err, 0, "image `%s` is not in the store; see `hutch images`",
                                image);
      return -1;
    }
  if (push_target (image, dest, &img, &target, err) < 0)
    goto out;
  if (hutch_reference_parse (target, &ref, err) < 0)
    goto out;
  full = hutch_reference_format (&ref);
  if (load_manifest (s, image, &img, full, &body, &len, &m, err) < 0)
    goto out;
  if (ref.digest && strcmp (ref.digest, img.manifest_digest) != 0)
    {
      hutch_error_set (err, 0,
                       "push %s: the image's manifest is %s, not the digest given; push by tag "
                       "instead",
                       full, img.manifest_digest);
      goto out;
    }
  if (hutch_registry_open (ref.registry, NULL, ref.repository, true, &opts->reg, &r, err) < 0)
    {
      hutch_error_prefix (err, "push %s", full);
      goto out;
    }
  prog = hutch_progress_new (hutch_log_progress_stream (), opts->quiet);
  hutch_progress_say (prog, "Pushing %s to %s", full, hutch_registry_url (r));
  from = mount_source (&img, &ref);
  if (push_contents (s, r, &m, body, len, &ref, from, prog, err) < 0)
    {
      hutch_error_prefix (err, "push %s", full);
      goto out;
    }
  hutch_progress_say (prog, "Pushed %s (manifest %s)", full, img.manifest_digest);
  opts->ret_digest = hutch_xstrdup (img.manifest_digest);
  ret = 0;
out:
  hutch_progress_free (prog);
  hutch_manifest_clear (&m);
  hutch_reference_clear (&ref);
  hutch_image_clear (&img);
  return ret;
}
