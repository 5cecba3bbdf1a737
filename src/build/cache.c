/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* The build cache: a key per step, computed before the step runs from
   what decides its result, and a record per key of the layer it made.

   A key is the sha256 of the previous step's key and of named fields,
   each written as its name, its length and its bytes, so that no two
   different sets of fields can write the same stream.  Records live in
   ROOT/build-cache/KEY (a small JSON file, written by rename), and a
   record counts only while its blob and its layer are in the store.  */

#include "build/build-private.h"
#include "base/digest.h"
#include "base/log.h"
#include "base/util.h"
#include "base/walk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct bkey
{
  struct hutch_sha256 *h;
};

static void
key_write (struct bkey *k, const char *what, const char *value)
{
  char len[32];
  int n;

  /* A digest context that fails to update leaves a key that never
     matches a record: no wrong hit, only a miss.  */
  n = snprintf (len, sizeof len, "%zu:", strlen (what));
  hutch_sha256_update (k->h, len, (size_t)n, NULL);
  hutch_sha256_update (k->h, what, strlen (what), NULL);
  if (value == NULL)
    {
      hutch_sha256_update (k->h, "-", 1, NULL);
      return;
    }
  n = snprintf (len, sizeof len, "%zu:", strlen (value));
  hutch_sha256_update (k->h, len, (size_t)n, NULL);
  hutch_sha256_update (k->h, value, strlen (value), NULL);
}

struct bkey *
bkey_new (const char *prev)
{
  struct bkey *k = hutch_xmalloc0 (sizeof *k);
  hutch_error_t e = HUTCH_ERROR_INIT;

  if (hutch_sha256_new (&k->h, &e) < 0)
    {
      hutch_log (HUTCH_LOG_WARNING, "the build cache is off: %s", e.msg);
      hutch_error_clear (&e);
      return k;
    }
  key_write (k, "hutch-build-cache-v1", prev);
  return k;
}

void
bkey_add (struct bkey *k, const char *what, const char *value)
{
  if (k->h)
    key_write (k, what, value);
}

void
bkey_addv (struct bkey *k, const char *what, char *const *values)
{
  char n[32];
  size_t i;

  snprintf (n, sizeof n, "%zu", values ? hutch_strv_len ((char **)values) : 0);
  bkey_add (k, what, n);
  for (i = 0; values && values[i]; i++)
    bkey_add (k, what, values[i]);
}

void
bkey_finish (struct bkey *k, char *ret_hex)
{
  char d[HUTCH_DIGEST_BUF_LEN];

  if (k->h == NULL || hutch_sha256_final (k->h, d, NULL) < 0)
    {
      /* No digest: a random key, which no record has.  */
      hutch_random_hex (ret_hex, 64);
      ret_hex[64] = '\0';
    }
  else
    memcpy (ret_hex, d + strlen (HUTCH_DIGEST_PREFIX), 65);
  hutch_sha256_free (k->h);
  free (k);
}

static char *
record_path (struct build *b, const char *key)
{
  return hutch_xasprintf ("%s/build-cache/%s", b->store_root, key);
}

int
build_cache_get (struct build *b, const char *key, struct hutch_store_layer *ret, bool *ret_empty,
                 char **ret_time)
{
  _cleanup_free_ char *path = record_path (b, key), *text = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;
  json_t *doc, *l;
  int r = 0;

  memset (ret, 0, sizeof *ret);
  *ret_time = NULL;
  if (b->o->no_cache)
    return 0;
  if (hutch_read_file (path, 1 << 16, &text, NULL, &e) < 0)
    {
      hutch_error_clear (&e);
      return 0;
    }
  doc = json_loads (text, 0, NULL);
  l = json_object_get (doc, "layer");
  if (json_is_null (l))
    {
      *ret_empty = true;
      r = 1;
    }
  else if (json_is_object (l))
    {
      const char *digest = json_string_value (json_object_get (l, "digest"));
      const char *diff_id = json_string_value (json_object_get (l, "diff_id"));
      const char *mt = json_string_value (json_object_get (l, "media_type"));
      json_t *size = json_object_get (l, "size");

      if (hutch_digest_valid (digest) && hutch_digest_valid (diff_id) && mt
          && json_is_integer (size) && hutch_store_has_blob (b->store, digest))
        {
          ret->digest = hutch_xstrdup (digest);
          ret->diff_id = hutch_xstrdup (diff_id);
          ret->media_type = hutch_xstrdup (mt);
          ret->size = json_integer_value (size);
          *ret_empty = false;
          r = 1;
        }
    }
  if (r == 1 && json_is_string (json_object_get (doc, "created")))
    *ret_time = hutch_xstrdup (json_string_value (json_object_get (doc, "created")));
  json_decref (doc);
  return r;
}

void
build_cache_put (struct build *b, const char *key, const struct hutch_store_layer *l)
{
  _cleanup_free_ char *dir = hutch_xasprintf ("%s/build-cache", b->store_root);
  _cleanup_free_ char *path = record_path (b, key), *tmp = NULL, *text = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;
  json_t *doc;
  int fd;

  if (hutch_walk_mkdir_p (dir, 0700, &e) < 0)
    goto fail;
  doc = l ? json_pack ("{s:{s:s, s:s, s:s, s:I}}", "layer", "digest", l->digest, "diff_id",
                       l->diff_id, "media_type", l->media_type, "size", (json_int_t)l->size)
          : json_pack ("{s:n}", "layer");
  json_object_set_new (doc, "created", json_string (b->created));
  text = json_dumps (doc, JSON_COMPACT);
  json_decref (doc);
  tmp = hutch_xasprintf ("%s.%d.tmp", path, (int)getpid ());
  fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    {
      hutch_error_set (&e, errno, "create `%s`", tmp);
      goto fail;
    }
  if (hutch_write_all (fd, text, strlen (text)) < 0 || close (fd) < 0 || rename (tmp, path) < 0)
    {
      hutch_error_set (&e, errno, "write `%s`", path);
      unlink (tmp);
      goto fail;
    }
  return;
fail:
  hutch_log (HUTCH_LOG_WARNING, "the build cache did not keep a step: %s", e.msg);
  hutch_error_clear (&e);
}
