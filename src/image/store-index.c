/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The image index, ROOT/images.json, and what depends on it: finding,
   naming and removing images, and the garbage no image references.  */
#include <config.h>

#include "image/store.h"
#include "image/store-private.h"
#include "base/digest.h"
#include "image/reference.h"
#include "base/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define INDEX_FILE "images.json"
#define INDEX_VERSION 1
/* An index of many thousand images stays far below this.  */
#define INDEX_MAX (64 << 20)
#define ID_PREFIX_MIN 4

struct index
{
  struct hutch_image *images;
  size_t n;
};

static void
index_clear (struct index *idx)
{
  hutch_image_list_free (idx->images, idx->n);
  idx->images = NULL;
  idx->n = 0;
}

void
hutch_image_clear (struct hutch_image *img)
{
  size_t i;
  free (img->id);
  hutch_strv_free (img->names);
  free (img->manifest_digest);
  free (img->config_digest);
  for (i = 0; i < img->n_layers; i++)
    {
      free (img->layers[i].digest);
      free (img->layers[i].diff_id);
      free (img->layers[i].media_type);
    }
  free (img->layers);
  free (img->created);
  memset (img, 0, sizeof *img);
}

void
hutch_image_list_free (struct hutch_image *imgs, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++)
    hutch_image_clear (&imgs[i]);
  free (imgs);
}

static char *
xstrdup_null (const char *s)
{
  return s ? hutch_xstrdup (s) : NULL;
}

static void
image_copy (struct hutch_image *dst, const struct hutch_image *src)
{
  size_t i;
  memset (dst, 0, sizeof *dst);
  dst->id = xstrdup_null (src->id);
  dst->names = src->names ? hutch_strv_dup (src->names) : hutch_xmalloc0 (sizeof (char *));
  dst->manifest_digest = xstrdup_null (src->manifest_digest);
  dst->config_digest = xstrdup_null (src->config_digest);
  dst->layers = hutch_xmalloc0 ((src->n_layers + 1) * sizeof *dst->layers);
  for (i = 0; i < src->n_layers; i++)
    {
      dst->layers[i].digest = xstrdup_null (src->layers[i].digest);
      dst->layers[i].diff_id = xstrdup_null (src->layers[i].diff_id);
      dst->layers[i].media_type = xstrdup_null (src->layers[i].media_type);
      dst->layers[i].size = src->layers[i].size;
    }
  dst->n_layers = src->n_layers;
  dst->created = xstrdup_null (src->created);
  dst->added = src->added;
}

/* ---- the index on disk ---------------------------------------------- */

static json_t *
strv_to_json (char *const *v)
{
  json_t *a = json_array ();
  size_t i;
  for (i = 0; v && v[i]; i++)
    json_array_append_new (a, json_string (v[i]));
  return a;
}

static json_t *
image_to_json (const struct hutch_image *img)
{
  json_t *o = json_object (), *layers = json_array ();
  size_t i;

  json_object_set_new (o, "id", json_string (img->id));
  json_object_set_new (o, "names", strv_to_json (img->names));
  if (img->manifest_digest)
    json_object_set_new (o, "manifest_digest", json_string (img->manifest_digest));
  json_object_set_new (o, "config_digest", json_string (img->config_digest));
  for (i = 0; i < img->n_layers; i++)
    {
      const struct hutch_store_layer *l = &img->layers[i];
      json_t *lo = json_object ();
      if (l->digest)
        json_object_set_new (lo, "digest", json_string (l->digest));
      json_object_set_new (lo, "diff_id", json_string (l->diff_id));
      if (l->media_type)
        json_object_set_new (lo, "media_type", json_string (l->media_type));
      json_object_set_new (lo, "size", json_integer (l->size));
      json_array_append_new (layers, lo);
    }
  json_object_set_new (o, "layers", layers);
  if (img->created)
    json_object_set_new (o, "created", json_string (img->created));
  json_object_set_new (o, "added", json_integer (img->added));
  return o;
}

static const char *
jstr (json_t *o, const char *key)
{
  return json_string_value (json_object_get (o, key));
}

static int
image_from_json (json_t *o, struct hutch_image *img, hutch_error_t *err)
{
  json_t *names = json_object_get (o, "names"), *layers = json_object_get (o, "layers"), *e;
  size_t i;

  memset (img, 0, sizeof *img);
  if (!json_is_object (o) || !hutch_digest_valid (jstr (o, "id"))
      || !hutch_digest_valid (jstr (o, "config_digest")) || !json_is_array (names)
      || !json_is_array (layers))
    return hutch_error_set (err, 0, "an image entry lacks its id, config digest, names or layers");
  img->id = hutch_xstrdup (jstr (o, "id"));
  img->config_digest = hutch_xstrdup (jstr (o, "config_digest"));
  img->manifest_digest = xstrdup_null (jstr (o, "manifest_digest"));
  img->created = xstrdup_null (jstr (o, "created"));
  img->added = json_integer_value (json_object_get (o, "added"));
  img->names = hutch_xmalloc0 (sizeof (char *));
  json_array_foreach (names, i, e)
  {
    if (!json_is_string (e))
      return hutch_error_set (err, 0, "image %s: a name is not a string", img->id);
    hutch_strv_push (&img->names, hutch_xstrdup (json_string_value (e)));
  }
  img->layers = hutch_xmalloc0 ((json_array_size (layers) + 1) * sizeof *img->layers);
  json_array_foreach (layers, i, e)
  {
    struct hutch_store_layer *l = &img->layers[i];
    img->n_layers = i + 1;
    if (!hutch_digest_valid (jstr (e, "diff_id")))
      return hutch_error_set (err, 0, "image %s: layer %zu has no valid diff_id", img->id, i);
    l->diff_id = hutch_xstrdup (jstr (e, "diff_id"));
    l->digest = xstrdup_null (jstr (e, "digest"));
    l->media_type = xstrdup_null (jstr (e, "media_type"));
    l->size = json_integer_value (json_object_get (e, "size"));
  }
  return 0;
}

static int
index_load (struct hutch_store *s, struct index *idx, hutch_error_t *err)
{
  _cleanup_close_ int fd = openat (s->rootfd, INDEX_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  _cleanup_free_ char *text = NULL;
  json_t *root, *images, *e, *version;
  json_error_t jerr;
  size_t len, i;
  int r = 0;

  memset (idx, 0, sizeof *idx);
  if (fd < 0 && errno == ENOENT)
    return 0;
  if (fd < 0)
    return hutch_error_set (err, errno, "open `%s/%s`", s->root, INDEX_FILE);
  if (hutch_read_fd (fd, INDEX_MAX, &text, &len, err) < 0)
    return hutch_error_prefix (err, "`%s/%s`", s->root, INDEX_FILE);
  root = json_loadb (text, len, 0, &jerr);
  if (root == NULL)
    return hutch_error_set (err, 0,
                            "the image index `%s/%s` is damaged (line %d, column %d: %s); move "
                            "it aside and load the images again",
                            s->root, INDEX_FILE, jerr.line, jerr.column, jerr.text);
  version = json_object_get (root, "version");
  images = json_object_get (root, "images");
  if (json_is_integer (version) && json_integer_value (version) > INDEX_VERSION)
    r = hutch_error_set (err, 0,
                         "the image index `%s/%s` was written by a newer hutch (format %lld); "
                         "use that version, or another store with `hutch --root DIR`",
                         s->root, INDEX_FILE, (long long)json_integer_value (version));
  else if (!json_is_array (images))
    r = hutch_error_set (err, 0,
                         "the image index `%s/%s` has no image list; move it aside and load the "
                         "images again",
                         s->root, INDEX_FILE);
  else
    {
      idx->images = hutch_xmalloc0 ((json_array_size (images) + 1) * sizeof *idx->images);
      json_array_foreach (images, i, e)
      {
        idx->n = i + 1;
        r = image_from_json (e, &idx->images[i], err);
        if (r < 0)
          {
            hutch_error_prefix (err, "the image index `%s/%s` is damaged", s->root, INDEX_FILE);
            break;
          }
      }
    }
  json_decref (root);
  if (r < 0)
    index_clear (idx);
  return r;
}

static int
index_save (struct hutch_store *s, const struct index *idx, hutch_error_t *err)
{
  json_t *root = json_object (), *images = json_array ();
  _cleanup_free_ char *tmp = hutch_store_tmp_name ("index");
  _cleanup_close_ int fd = -1;
  char *text;
  size_t i;
  int r;

  for (i = 0; i < idx->n; i++)
    json_array_append_new (images, image_to_json (&idx->images[i]));
  json_object_set_new (root, "version", json_integer (INDEX_VERSION));
  json_object_set_new (root, "images", images);
  text = json_dumps (root, JSON_INDENT (2) | JSON_SORT_KEYS);
  json_decref (root);
  if (text == NULL)
    return hutch_error_set (err, ENOMEM, "serialize the image index");

  fd = openat (s->tmpfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      free (text);
      return hutch_error_set (err, errno, "create a temporary file in `%s/tmp`", s->root);
    }
  r = hutch_write_all (fd, text, strlen (text));
  free (text);
  if (r == 0 && hutch_write_all (fd, "\n", 1) == 0 && fsync (fd) == 0)
    r = renameat (s->tmpfd, tmp, s->rootfd, INDEX_FILE) < 0 ? -errno : 0;
  else
    r = r < 0 ? r : -errno;
  if (r < 0)
    {
      unlinkat (s->tmpfd, tmp, 0);
      return hutch_error_set (err, -r, "write the image index `%s/%s`", s->root, INDEX_FILE);
    }
  r = hutch_store_fsync_dir (s->rootfd);
  if (r < 0)
    return hutch_error_set (err, -r, "flush `%s` to disk", s->root);
  return 0;
}

typedef int (*index_change_fn) (struct hutch_store *s, struct index *idx, void *data,
                                hutch_error_t *err);

/* Read-modify-write of the index under images.lock.  */
static int
index_change (struct hutch_store *s, index_change_fn fn, void *data, hutch_error_t *err)
{
  _cleanup_close_ int lockfd = hutch_store_lock_images (s, err);
  struct index idx;
  int r;

  if (lockfd < 0)
    return -1;
  r = index_load (s, &idx, err);
  if (r < 0)
    return r;
  r = fn (s, &idx, data, err);
  if (r > 0) /* changed */
    r = index_save (s, &idx, err);
  index_clear (&idx);
  return r < 0 ? r : 0; /* closing lockfd releases the lock */
}

/* ---- index queries -------------------------------------------------- */

static bool
strv_contains (char *const *v, const char *s)
{
  size_t i;
  for (i = 0; v && v[i]; i++)
    if (strcmp (v[i], s) == 0)
      return true;
  return false;
}

static bool
strv_remove (char **v, const char *s)
{
  size_t i, j;
  bool found = false;
  for (i = j = 0; v && v[i]; i++)
    {
      if (strcmp (v[i], s) == 0)
        {
          free (v[i]);
          found = true;
        }
      else
        v[j++] = v[i];
    }
  if (v)
    v[j] = NULL;
  return found;
}

static bool
is_hex (const char *s)
{
  return *s != '\0' && strspn (s, "0123456789abcdef") == strlen (s);
}

static ssize_t
find_by_digest (const struct index *idx, const char *digest)
{
  size_t i;
  for (i = 0; i < idx->n; i++)
    if (strcmp (idx->images[i].id, digest) == 0)
      return (ssize_t)i;
  for (i = 0; i < idx->n; i++)
    if (idx->images[i].manifest_digest && strcmp (idx->images[i].manifest_digest, digest) == 0)
      return (ssize_t)i;
  return -1;
}

static ssize_t
find_by_ref (const struct index *idx, const struct hutch_reference *ref)
{
  _cleanup_free_ char *full = hutch_reference_format (ref);
  _cleanup_free_ char *repo = hutch_reference_name (ref);
  size_t i, j, n = strlen (repo);

  for (i = 0; i < idx->n; i++)
    if (strv_contains (idx->images[i].names, full))
      return (ssize_t)i;
  /* A digest reference also matches an image of that repository whose
     manifest has the digest, whatever its tag.  */
  if (ref->digest)
    for (i = 0; i < idx->n; i++)
      {
        const struct hutch_image *img = &idx->images[i];
        if (img->manifest_digest == NULL || strcmp (img->manifest_digest, ref->digest) != 0)
          continue;
        for (j = 0; img->names[j]; j++)
          if (strncmp (img->names[j], repo, n) == 0
              && (img->names[j][n] == ':' || img->names[j][n] == '@'))
            return (ssize_t)i;
      }
  return -1;
}

/* Resolve WHAT to an index position; see hutch_store_find_image.  */
static ssize_t
resolve (const struct index *idx, const char *what, hutch_error_t *err)
{
  struct hutch_reference ref;
  hutch_error_t perr = HUTCH_ERROR_INIT;
  const char *hex = what;
  bool parsed;
  ssize_t found = -1;
  size_t i, matches = 0;

  if (hutch_digest_valid (what))
    {
      found = find_by_digest (idx, what);
      if (found < 0)
        hutch_error_set (err, ENOENT, "no image with digest %s in the image store", what);
      return found;
    }
  parsed = hutch_reference_parse (what, &ref, &perr) == 0;
  if (parsed)
    {
      found = find_by_ref (idx, &ref);
      if (found >= 0)
        {
          hutch_reference_clear (&ref);
          hutch_error_clear (&perr);
          return found;
        }
    }

  if (hutch_str_has_prefix (what, "sha256:"))
    hex = what + 7;
  if (strlen (hex) >= ID_PREFIX_MIN && strlen (hex) <= HUTCH_DIGEST_HEX_LEN && is_hex (hex))
    {
      _cleanup_free_ char *list = hutch_xstrdup ("");
      for (i = 0; i < idx->n; i++)
        if (strncmp (idx->images[i].id + 7, hex, strlen (hex)) == 0)
          {
            char *next
                = hutch_xasprintf ("%s%s%.12s", list, matches ? ", " : "", idx->images[i].id + 7);
            free (list);
            list = next;
            found = (ssize_t)i;
            matches++;
          }
      if (matches > 1)
        {
          hutch_error_set (err, 0,
                           "image id prefix `%s` is ambiguous: it matches %zu images (%s); give "
                           "more digits",
                           hex, matches, list);
          found = -2;
        }
    }
  if (found == -1)
    {
      if (parsed)
        {
          _cleanup_free_ char *full = hutch_reference_format (&ref);
          hutch_error_set (err, ENOENT,
                           "image `%s` (%s) is not in the image store; pull or load it first "
                           "(`hutch images` lists the store)",
                           what, full);
        }
      else if (matches == 0 && is_hex (hex) && strlen (hex) >= ID_PREFIX_MIN)
        hutch_error_set (err, ENOENT, "no image in the image store has an id starting with `%s`",
                         hex);
      else
        hutch_error_set (err, 0, "%s", perr.msg);
    }
  if (parsed)
    hutch_reference_clear (&ref);
  hutch_error_clear (&perr);
  return found;
}

int
hutch_store_find_image (struct hutch_store *s, const char *what, struct hutch_image *ret,
                        hutch_error_t *err)
{
  struct index idx;
  ssize_t i;

  if (index_load (s, &idx, err) < 0)
    return -1;
  i = resolve (&idx, what, err);
  if (i >= 0)
    image_copy (ret, &idx.images[i]);
  index_clear (&idx);
  if (i < 0)
    return err->errnum == ENOENT ? -ENOENT : -1;
  return 0;
}

int
hutch_store_find_by_digest (struct hutch_store *s, const char *digest, struct hutch_image *ret,
                            hutch_error_t *err)
{
  struct index idx;
  ssize_t i;

  if (hutch_digest_parse (digest, NULL, err) < 0)
    return -1;
  if (index_load (s, &idx, err) < 0)
    return -1;
  i = find_by_digest (&idx, digest);
  if (i >= 0)
    image_copy (ret, &idx.images[i]);
  index_clear (&idx);
  if (i < 0)
    return hutch_error_set (err, ENOENT, "no image with digest %s in the image store", digest);
  return 0;
}

int
hutch_store_list_images (struct hutch_store *s, struct hutch_image **ret, size_t *ret_n,
                         hutch_error_t *err)
{
  struct index idx;
  if (index_load (s, &idx, err) < 0)
    return -1;
  if (idx.images == NULL)
    idx.images = hutch_xmalloc0 (sizeof *idx.images);
  *ret = idx.images;
  *ret_n = idx.n;
  return 0;
}

/* ---- index changes -------------------------------------------------- */

/* Take NAME away from every image but KEEP.  */
static void
take_name (struct index *idx, const char *name, ssize_t keep)
{
  size_t i;
  for (i = 0; i < idx->n; i++)
    if ((ssize_t)i != keep)
      strv_remove (idx->images[i].names, name);
}

static int
do_add (struct hutch_store *s, struct index *idx, void *data, hutch_error_t *err)
{
  struct hutch_image *img = data; /* already validated and normalized */
  ssize_t at = find_by_digest (idx, img->id);
  size_t i;

  if (at >= 0 && strcmp (idx->images[at].id, img->id) != 0)
    at = -1; /* matched a manifest digest, not the id */
  if (at < 0)
    {
      idx->images = hutch_xrealloc (idx->images, (idx->n + 1) * sizeof *idx->images);
      image_copy (&idx->images[idx->n], img);
      at = (ssize_t)idx->n++;
    }
  else
    {
      struct hutch_image *old = &idx->images[at];
      struct hutch_image merged;
      image_copy (&merged, img);
      merged.added = old->added;
      for (i = 0; old->names[i]; i++)
        if (!strv_contains (merged.names, old->names[i]))
          hutch_strv_push (&merged.names, hutch_xstrdup (old->names[i]));
      if (merged.manifest_digest == NULL && old->manifest_digest)
        merged.manifest_digest = hutch_xstrdup (old->manifest_digest);
      hutch_image_clear (old);
      *old = merged;
    }
  for (i = 0; img->names[i]; i++)
    take_name (idx, img->names[i], at);
  return 1;
}

static int
normalize_names (char **names, char ***ret, hutch_error_t *err)
{
  _cleanup_strv_ char **out = hutch_xmalloc0 (sizeof (char *));
  size_t i;
  for (i = 0; names && names[i]; i++)
    {
      char *full;
      if (hutch_reference_normalize (names[i], &full, err) < 0)
        return -1;
      if (strv_contains (out, full))
        free (full);
      else
        hutch_strv_push (&out, full);
    }
  *ret = HUTCH_STEAL_PTR (out);
  return 0;
}

int
hutch_store_add_image (struct hutch_store *s, const struct hutch_image *img, hutch_error_t *err)
{
  struct hutch_image copy;
  size_t i;
  int r;

  if (hutch_digest_parse (img->config_digest, NULL, err) < 0)
    return hutch_error_prefix (err, "image config digest");
  if (img->id && strcmp (img->id, img->config_digest) != 0)
    return hutch_error_set (err, EINVAL, "internal error: image id %s is not its config digest %s",
                            img->id, img->config_digest);
  if (img->manifest_digest && hutch_digest_parse (img->manifest_digest, NULL, err) < 0)
    return hutch_error_prefix (err, "image manifest digest");
  for (i = 0; i < img->n_layers; i++)
    if (hutch_digest_parse (img->layers[i].diff_id, NULL, err) < 0
        || (img->layers[i].digest && hutch_digest_parse (img->layers[i].digest, NULL, err) < 0))
      return hutch_error_prefix (err, "image layer %zu", i);

  image_copy (&copy, img);
  free (copy.id);
  copy.id = hutch_xstrdup (img->config_digest);
  if (copy.added == 0)
    copy.added = (int64_t)time (NULL);
  hutch_strv_free (copy.names);
  copy.names = NULL;
  r = normalize_names (img->names, &copy.names, err);
  if (r == 0)
    r = index_change (s, do_add, &copy, err);
  hutch_image_clear (&copy);
  return r;
}

struct tag_args
{
  const char *what;
  const char *name;
  struct hutch_image *removed;
};

static int
do_tag (struct hutch_store *s, struct index *idx, void *data, hutch_error_t *err)
{
  struct tag_args *a = data;
  ssize_t at = resolve (idx, a->what, err);
  if (at < 0)
    return err->errnum == ENOENT ? -ENOENT : -1;
  if (!strv_contains (idx->images[at].names, a->name))
    hutch_strv_push (&idx->images[at].names, hutch_xstrdup (a->name));
  take_name (idx, a->name, at);
  return 1;
}

int
hutch_store_tag (struct hutch_store *s, const char *what, const char *name, hutch_error_t *err)
{
  struct hutch_reference ref;
  _cleanup_free_ char *full = NULL;
  struct tag_args a = { what, NULL, NULL };

  if (hutch_reference_parse (name, &ref, err) < 0)
    return -1;
  if (ref.digest)
    {
      hutch_reference_clear (&ref);
      return hutch_error_set (err, 0,
                              "cannot tag with `%s`: a digest is the content's, not a name; give "
                              "NAME[:TAG]",
                              name);
    }
  full = hutch_reference_format (&ref);
  hutch_reference_clear (&ref);
  a.name = full;
  return index_change (s, do_tag, &a, err);
}

static int
do_untag (struct hutch_store *s, struct index *idx, void *data, hutch_error_t *err)
{
  struct tag_args *a = data;
  size_t i;
  for (i = 0; i < idx->n; i++)
    if (strv_remove (idx->images[i].names, a->name))
      return 1;
  return hutch_error_set (err, ENOENT, "no image is named `%s`", a->name);
}

int
hutch_store_untag (struct hutch_store *s, const char *name, hutch_error_t *err)
{
  _cleanup_free_ char *full = NULL;
  struct tag_args a = { NULL, NULL, NULL };
  if (hutch_reference_normalize (name, &full, err) < 0)
    return -1;
  a.name = full;
  return index_change (s, do_untag, &a, err);
}

static int
do_remove (struct hutch_store *s, struct index *idx, void *data, hutch_error_t *err)
{
  struct tag_args *a = data;
  ssize_t at = resolve (idx, a->what, err);
  if (at < 0)
    return err->errnum == ENOENT ? -ENOENT : -1;
  if (a->removed)
    *a->removed = idx->images[at];
  else
    hutch_image_clear (&idx->images[at]);
  memmove (&idx->images[at], &idx->images[at + 1], (idx->n - (size_t)at - 1) * sizeof *idx->images);
  idx->n--;
  return 1;
}

int
hutch_store_remove_image (struct hutch_store *s, const char *what, struct hutch_image *ret_removed,
                          hutch_error_t *err)
{
  struct tag_args a = { what, NULL, ret_removed };
  return index_change (s, do_remove, &a, err);
}

/* ---- garbage -------------------------------------------------------- */

static bool
layer_used (const struct index *idx, const char *hex)
{
  size_t i, j;
  for (i = 0; i < idx->n; i++)
    for (j = 0; j < idx->images[i].n_layers; j++)
      if (strcmp (idx->images[i].layers[j].diff_id + 7, hex) == 0)
        return true;
  return false;
}

static bool
blob_used (const struct index *idx, const char *hex)
{
  size_t i, j;
  for (i = 0; i < idx->n; i++)
    {
      const struct hutch_image *img = &idx->images[i];
      if (strcmp (img->config_digest + 7, hex) == 0
          || (img->manifest_digest && strcmp (img->manifest_digest + 7, hex) == 0))
        return true;
      for (j = 0; j < img->n_layers; j++)
        if (img->layers[j].digest && strcmp (img->layers[j].digest + 7, hex) == 0)
          return true;
    }
  return false;
}

/* Call FN for each entry of DIRFD named by 64 hex digits.  */
static int
for_each_hex (int dfd, bool (*fn) (int dfd, const char *hex, void *data), void *data)
{
  int fd = openat (dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d;
  struct dirent *de;

  if (fd < 0)
    return -errno;
  d = fdopendir (fd);
  if (d == NULL)
    {
      int r = -errno;
      close (fd);
      return r;
    }
  while ((de = readdir (d)) != NULL)
    if (hutch_digest_hex_valid (de->d_name) && !fn (dfd, de->d_name, data))
      break;
  closedir (d);
  return 0;
}

struct unused_args
{
  const struct index *idx;
  char **list;
};

static bool
collect_unused_layer (int dfd, const char *hex, void *data)
{
  struct unused_args *a = data;
  if (!layer_used (a->idx, hex))
    hutch_strv_push (&a->list, hutch_xasprintf ("sha256:%s", hex));
  return true;
}

int
hutch_store_unused_layers (struct hutch_store *s, char ***ret_diff_ids, hutch_error_t *err)
{
  struct index idx;
  struct unused_args a = { &idx, NULL };
  int r;

  if (hutch_store_need_exclusive (s, "listing unused layers", err) < 0
      || index_load (s, &idx, err) < 0)
    return -1;
  a.list = hutch_xmalloc0 (sizeof (char *));
  r = for_each_hex (s->layersfd, collect_unused_layer, &a);
  index_clear (&idx);
  if (r < 0)
    {
      hutch_strv_free (a.list);
      return hutch_error_set (err, -r, "list `%s/layers`", s->root);
    }
  *ret_diff_ids = a.list;
  return 0;
}

int
hutch_store_detach_layer (struct hutch_store *s, const char *diff_id, char **ret_path,
                          hutch_error_t *err)
{
  _cleanup_free_ char *name = NULL;
  struct index idx;
  const char *hex;
  bool used;

  if (hutch_store_need_exclusive (s, "removing a layer", err) < 0
      || hutch_digest_parse (diff_id, &hex, err) < 0 || index_load (s, &idx, err) < 0)
    return -1;
  used = layer_used (&idx, hex);
  index_clear (&idx);
  if (used)
    return hutch_error_set (err, EBUSY, "layer %s is still used by an image", diff_id);
  name = hutch_store_tmp_name ("rm-layer");
  if (renameat (s->layersfd, hex, s->tmpfd, name) < 0)
    return hutch_error_set (err, errno, "move `%s/layers/%s` out of the store", s->root, hex);
  hutch_store_fsync_dir (s->layersfd);
  *ret_path = hutch_xasprintf ("%s/tmp/%s", s->root, name);
  return 0;
}

struct blob_gc_args
{
  const struct index *idx;
  size_t removed;
  int error;
};

static bool
remove_unused_blob (int dfd, const char *hex, void *data)
{
  struct blob_gc_args *a = data;
  if (blob_used (a->idx, hex))
    return true;
  if (unlinkat (dfd, hex, 0) == 0)
    a->removed++;
  else if (errno != ENOENT && a->error == 0)
    a->error = errno;
  return true;
}

int
hutch_store_remove_unused_blobs (struct hutch_store *s, size_t *ret_removed, hutch_error_t *err)
{
  struct index idx;
  struct blob_gc_args a = { &idx, 0, 0 };
  int r;

  if (hutch_store_need_exclusive (s, "removing unused blobs", err) < 0
      || index_load (s, &idx, err) < 0)
    return -1;
  r = for_each_hex (s->blobsfd, remove_unused_blob, &a);
  index_clear (&idx);
  if (r == 0 && a.error)
    r = -a.error;
  if (r < 0)
    return hutch_error_set (err, -r, "remove unused blobs in `%s/blobs/sha256`", s->root);
  if (ret_removed)
    *ret_removed = a.removed;
  return 0;
}
