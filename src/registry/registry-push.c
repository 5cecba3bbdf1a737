/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* Uploads of the registry client (registry.c): blobs (HEAD, a
   cross-repository mount, one PUT or PATCH chunks) and manifests.  */

#include "registry/registry-private.h"
#include "base/digest.h"
#include "base/util.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- push --------------------------------------------------------------- */

static size_t
on_upload (char *buf, size_t size, size_t nmemb, void *data)
{
  struct transfer *t = data;
  size_t want = size * nmemb;
  ssize_t n;

  if ((int64_t)want > t->up_left)
    want = (size_t)t->up_left;
  if (want == 0)
    return 0;
  do
    n = read (t->upfd, buf, want);
  while (n < 0 && errno == EINTR);
  if (n <= 0)
    return CURL_READFUNC_ABORT;
  t->up_left -= n;
  t->up_sent += n;
  if (t->up_progress)
    t->up_progress (t->up_arg, t->up_sent);
  return (size_t)n;
}

int
hutch_registry_has_blob (struct hutch_registry *r, const char *digest, bool *ret,
                         hutch_error_t *err)
{
  _cleanup_free_ char *url = hutch_xasprintf ("%s/v2/%s/blobs/%s", r->base, r->repository, digest);
  _cleanup_free_ char *what = hutch_xasprintf ("check for blob %s", digest);
  struct transfer t;
  int rc = 0;

  if (hutch_reg_request (r, "HEAD", url, NULL, NULL, &t, err) < 0)
    return -1;
  if (t.status == 200)
    *ret = true;
  else if (t.status == 404)
    *ret = false;
  else
    rc = hutch_reg_status_failure (r, &t, what, err);
  hutch_reg_transfer_clear (&t);
  return rc;
}

/* The Location of an upload session, made absolute.  */
static char *
absolute_location (struct hutch_registry *r, const char *location)
{
  CURLU *u = curl_url ();
  char *full = NULL, *out = NULL;
  _cleanup_free_ char *base = hutch_xasprintf ("%s/v2/", r->base);

  if (u && curl_url_set (u, CURLUPART_URL, base, 0) == CURLUE_OK
      && curl_url_set (u, CURLUPART_URL, location, 0) == CURLUE_OK
      && curl_url_get (u, CURLUPART_URL, &full, 0) == CURLUE_OK)
    {
      out = hutch_xstrdup (full);
      curl_free (full);
    }
  if (u)
    curl_url_cleanup (u);
  return out;
}

/* Where the next piece of an upload goes.  The registry may name another
   host (a storage service): transfer_setup sends it no credentials.  From
   an HTTPS registry it must stay HTTPS.  */
static char *
upload_location (struct hutch_registry *r, const char *header, hutch_error_t *err)
{
  char *loc = header ? absolute_location (r, header) : NULL;

  if (loc == NULL)
    {
      hutch_error_set (err, EPROTO, "the registry's upload location is missing or not a URL");
      return NULL;
    }
  if (hutch_str_has_prefix (r->base, "https://") && !hutch_str_has_prefix (loc, "https://"))
    {
      _cleanup_free_ char *shown = hutch_reg_clean_text (loc);
      free (loc);
      hutch_error_set (err, EPROTO,
                       "the registry sends the upload to %s, which is not HTTPS; hutch does not "
                       "send an image over plain HTTP for an HTTPS registry",
                       shown);
      return NULL;
    }
  return loc;
}

static int
start_upload (struct hutch_registry *r, const char *query, struct transfer *t, hutch_error_t *err)
{
  _cleanup_free_ char *url
      = hutch_xasprintf ("%s/v2/%s/blobs/uploads/%s", r->base, r->repository, query ? query : "");
  return hutch_reg_request (r, "POST", url, NULL, NULL, t, err);
}

int
hutch_registry_mount_blob (struct hutch_registry *r, const char *digest, const char *from,
                           bool *ret, hutch_error_t *err)
{
  _cleanup_free_ char *efrom = hutch_reg_escape (from);
  _cleanup_free_ char *query = hutch_xasprintf ("?mount=%s&from=%s", digest, efrom);
  _cleanup_free_ char *scope = hutch_xasprintf ("repository:%s:pull", from);
  struct transfer t;
  size_t i;
  bool have = false;

  /* The token must also allow pulling from the other repository.  */
  for (i = 0; r->scopes[i]; i++)
    have = have || strcmp (r->scopes[i], scope) == 0;
  if (!have && r->token)
    {
      hutch_strv_push (&r->scopes, hutch_xstrdup (scope));
      if (hutch_reg_fetch_token (r, err) < 0)
        {
          /* No access there: upload instead.  */
          hutch_error_clear (err);
          *ret = false;
          return 0;
        }
    }
  if (start_upload (r, query, &t, err) < 0)
    return -1;
  *ret = t.status == 201;
  hutch_reg_transfer_clear (&t);
  return 0;
}

struct chunk
{
  int fd;
  int64_t start, len, total;
  void (*progress) (void *arg, int64_t sent);
  void *arg;
  int64_t sent_before;
};

static void
chunk_progress (void *arg, int64_t sent)
{
  struct chunk *c = arg;
  if (c->progress)
    c->progress (c->arg, c->sent_before + sent);
}

static int
setup_chunk (struct transfer *t, void *arg, hutch_error_t *err)
{
  struct chunk *c = arg;
  _cleanup_free_ char *range = NULL;

  if (lseek (c->fd, c->start, SEEK_SET) < 0)
    return hutch_error_set (err, errno, "seek in the blob");
  hutch_reg_transfer_add_header (t, "Content-Type: application/octet-stream");
  /* No waiting for a "100 Continue" that some servers never send.  */
  hutch_reg_transfer_add_header (t, "Expect:");
  if (c->len < c->total)
    {
      range = hutch_xasprintf ("Content-Range: %lld-%lld", (long long)c->start,
                               (long long)(c->start + c->len - 1));
      hutch_reg_transfer_add_header (t, range);
    }
  curl_easy_setopt (t->h, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt (t->h, CURLOPT_TIMEOUT, 0L); /* a big chunk takes its time */
  curl_easy_setopt (t->h, CURLOPT_READFUNCTION, on_upload);
  curl_easy_setopt (t->h, CURLOPT_READDATA, t);
  curl_easy_setopt (t->h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)c->len);
  t->upfd = c->fd;
  t->up_left = c->len;
  t->up_sent = 0;
  t->up_progress = chunk_progress;
  t->up_arg = c;
  return 0;
}

static char *
with_digest (const char *location, const char *digest)
{
  return hutch_xasprintf ("%s%sdigest=%s", location, strchr (location, '?') ? "&" : "?", digest);
}

int
hutch_registry_upload_blob (struct hutch_registry *r, const char *digest, int fd, int64_t size,
                            int64_t chunk, void (*progress) (void *arg, int64_t sent),
                            void *progress_arg, hutch_error_t *err)
{
  _cleanup_free_ char *what = hutch_xasprintf ("upload blob %s", digest);
  _cleanup_free_ char *loc = NULL;
  struct chunk c = { .fd = fd, .total = size, .progress = progress, .arg = progress_arg };
  struct transfer t;

  if (chunk <= 0)
    chunk = MONOLITHIC_MAX;
  if (start_upload (r, NULL, &t, err) < 0)
    return -1;
  if (t.status != 202)
    {
      int rc = hutch_reg_status_failure (r, &t, what, err);
      hutch_reg_transfer_clear (&t);
      return rc;
    }
  loc = upload_location (r, t.location, err);
  hutch_reg_transfer_clear (&t);
  if (loc == NULL)
    return hutch_error_prefix (err, "%s", what);

  if (size > chunk)
    {
      /* Chunked: PATCH each piece; the registry answers each with the
         location of the next.  */
      while (c.start < size)
        {
          c.len = size - c.start < chunk ? size - c.start : chunk;
          c.sent_before = c.start;
          if (hutch_reg_request (r, "PATCH", loc, setup_chunk, &c, &t, err) < 0)
            return hutch_error_prefix (err, "%s", what);
          if (t.status != 202)
            {
              int rc = hutch_reg_status_failure (r, &t, what, err);
              hutch_reg_transfer_clear (&t);
              return rc;
            }
          if (t.location)
            {
              free (loc);
              loc = upload_location (r, t.location, err);
            }
          hutch_reg_transfer_clear (&t);
          if (loc == NULL)
            return hutch_error_prefix (err, "%s", what);
          c.start += c.len;
        }
      {
        _cleanup_free_ char *url = with_digest (loc, digest);
        struct chunk none = { .fd = fd, .start = size, .len = 0, .total = 0 };
        if (hutch_reg_request (r, "PUT", url, setup_chunk, &none, &t, err) < 0)
          return hutch_error_prefix (err, "%s", what);
      }
    }
  else
    {
      /* Monolithic: the whole blob in the closing PUT.  */
      _cleanup_free_ char *url = with_digest (loc, digest);
      c.len = size;
      if (hutch_reg_request (r, "PUT", url, setup_chunk, &c, &t, err) < 0)
        return hutch_error_prefix (err, "%s", what);
    }
  if (t.status != 201)
    {
      int rc = hutch_reg_status_failure (r, &t, what, err);
      hutch_reg_transfer_clear (&t);
      return rc;
    }
  hutch_reg_transfer_clear (&t);
  return 0;
}

struct manifest_body
{
  const char *body;
  size_t len;
  const char *media_type;
};

static int
setup_manifest (struct transfer *t, void *arg, hutch_error_t *err)
{
  struct manifest_body *m = arg;
  _cleanup_free_ char *ct = hutch_xasprintf ("Content-Type: %s", m->media_type);

  hutch_reg_transfer_add_header (t, ct);
  curl_easy_setopt (t->h, CURLOPT_POSTFIELDS, m->body);
  curl_easy_setopt (t->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)m->len);
  return 0;
}

int
hutch_registry_put_manifest (struct hutch_registry *r, const char *reference, const char *body,
                             size_t len, const char *media_type, hutch_error_t *err)
{
  _cleanup_free_ char *url
      = hutch_xasprintf ("%s/v2/%s/manifests/%s", r->base, r->repository, reference);
  _cleanup_free_ char *what = hutch_xasprintf ("push manifest %s", reference);
  struct manifest_body m = { body, len, media_type };
  struct transfer t;
  int rc = 0;

  if (hutch_reg_request (r, "PUT", url, setup_manifest, &m, &t, err) < 0)
    return -1;
  if (t.status != 201 && t.status != 200)
    rc = hutch_reg_status_failure (r, &t, what, err);
  hutch_reg_transfer_clear (&t);
  return rc;
}
