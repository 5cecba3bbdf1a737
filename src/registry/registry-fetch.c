/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* Parallel blob downloads of the registry client (registry.c): one curl
   multi handle, resumed with Range requests, each blob's bytes handed to
   the caller as they come.  */

#include "registry/registry-private.h"
#include "base/digest.h"
#include "base/util.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- parallel blob downloads -------------------------------------------- */

struct fetch_state
{
  struct hutch_fetch *f;
  int64_t received; /* bytes handed to the caller */
  int64_t skip;     /* bytes of this response already handed over (a
                       server that ignored our Range header) */
  unsigned attempts;
  bool active, done;
  struct transfer t;
  hutch_error_t *err; /* set when a callback failed */
  int failed;
};

int
hutch_reg_fetch_on_data (struct transfer *t, const char *buf, size_t len)
{
  struct fetch_state *fs = t->fs;

  if (!t->body_started)
    {
      /* The first bytes of this response: does it start where we are?  */
      t->body_started = true;
      fs->skip = 0;
      if (t->status == 200)
        fs->skip = fs->received; /* the range was ignored: from byte 0 */
      else if (t->status == 206)
        {
          long long start = -1;
          if (t->content_range == NULL || sscanf (t->content_range, "bytes %lld-", &start) != 1
              || start != (long long)fs->received)
            {
              fs->failed = hutch_error_set (fs->err, EPROTO,
                                            "blob %s: the registry resumed the download at "
                                            "another byte than the %lld asked for",
                                            fs->f->digest, (long long)fs->received);
              return -1;
            }
        }
    }
  if (fs->skip > 0)
    {
      size_t n = (int64_t)len < fs->skip ? len : (size_t)fs->skip;
      buf += n;
      len -= n;
      fs->skip -= (int64_t)n;
      if (len == 0)
        return 0;
    }
  if (fs->received + (int64_t)len > fs->f->size)
    {
      fs->failed = hutch_error_set (fs->err, EPROTO,
                                    "blob %s is larger than the %lld bytes its manifest says; "
                                    "the registry sent something else",
                                    fs->f->digest, (long long)fs->f->size);
      return -1;
    }
  if (fs->f->data (fs->f->arg, buf, len, fs->err) < 0)
    {
      fs->failed = -1;
      return -1;
    }
  fs->received += (int64_t)len;
  return 0;
}

static int
fetch_start (struct hutch_registry *r, struct fetch_state *fs, hutch_error_t *err)
{
  _cleanup_free_ char *url
      = hutch_xasprintf ("%s/v2/%s/blobs/%s", r->base, r->repository, fs->f->digest);

  if (hutch_reg_transfer_setup (&fs->t, r, "GET", url, true, err) < 0)
    return -1;
  fs->t.fs = fs;
  fs->skip = 0;
  fs->attempts++;
  /* As long as it moves: the low-speed limit ends a stalled one.  */
  curl_easy_setopt (fs->t.h, CURLOPT_TIMEOUT, 0L);
  if (fs->received > 0)
    {
      _cleanup_free_ char *range = hutch_xasprintf ("%lld-", (long long)fs->received);
      curl_easy_setopt (fs->t.h, CURLOPT_RANGE, range);
    }
  curl_easy_setopt (fs->t.h, CURLOPT_PRIVATE, fs);
  curl_easy_setopt (fs->t.h, CURLOPT_HTTPHEADER, fs->t.hdrs);
  if (curl_multi_add_handle (r->multi, fs->t.h) != CURLM_OK)
    {
      hutch_reg_transfer_clear (&fs->t);
      return hutch_error_set (err, ENOMEM, "start a download");
    }
  fs->active = true;
  return 0;
}

/* A transfer ended: done, retry, or fail.  Returns 1 to retry.  */
static int
fetch_finished (struct hutch_registry *r, struct fetch_state *fs, CURLcode c, hutch_error_t *err)
{
  struct transfer *t = &fs->t;
  _cleanup_free_ char *what = hutch_xasprintf ("blob %s", fs->f->digest);

  if (fs->failed)
    return -1; /* the callback's error is in ERR already */
  if (c == CURLE_OK && t->status == 401 && fs->attempts < HUTCH_REGISTRY_ATTEMPTS)
    {
      /* A token that expired during a long pull.  */
      int a = hutch_reg_answer_challenge (r, t, err);
      if (a <= 0)
        return a < 0 ? -1 : hutch_reg_status_failure (r, t, what, err);
      return 1;
    }
  if (c == CURLE_OK && t->status / 100 != 2)
    {
      if (t->status >= 500 && fs->attempts < HUTCH_REGISTRY_ATTEMPTS)
        return 1;
      return hutch_reg_status_failure (r, t, what, err);
    }
  /* Every byte is here (even if the connection then failed): the
     caller checks the digest.  */
  if (t->status / 100 == 2 && fs->received == fs->f->size)
    {
      if (fs->f->done && fs->f->done (fs->f->arg, err) < 0)
        return -1;
      fs->done = true;
      return 0;
    }
  if (hutch_reg_tls_failure (c))
    return hutch_reg_curl_failure (r, t, c, err);
  /* Cut short (the connection dropped, or the server closed early):
     go on from the byte reached.  */
  if (fs->attempts < HUTCH_REGISTRY_ATTEMPTS)
    return 1;
  if (c != CURLE_OK)
    {
      hutch_reg_curl_failure (r, t, c, err);
      return hutch_error_prefix (err,
                                 "the download of %s was truncated at %lld of %lld bytes, "
                                 "%d attempts made",
                                 what, (long long)fs->received, (long long)fs->f->size,
                                 HUTCH_REGISTRY_ATTEMPTS);
    }
  return hutch_error_set (err, EPROTO,
                          "the download of %s was truncated at %lld of %lld bytes, %d attempts "
                          "made; the registry or a proxy keeps cutting the connection",
                          what, (long long)fs->received, (long long)fs->f->size,
                          HUTCH_REGISTRY_ATTEMPTS);
}

int
hutch_registry_fetch_blobs (struct hutch_registry *r, struct hutch_fetch *blobs, size_t n,
                            unsigned parallel, hutch_error_t *err)
{
  struct fetch_state *st = hutch_xmalloc0 (n * sizeof *st + 1);
  size_t i, next = 0, finished = 0;
  unsigned active = 0;
  int ret = -1;

  for (i = 0; i < n; i++)
    {
      st[i].f = &blobs[i];
      st[i].err = err;
    }
  if (parallel == 0)
    parallel = 1;
  while (finished < n)
    {
      int running = 0, left = 0;
      CURLMsg *m;

      while (active < parallel && next < n)
        {
          if (fetch_start (r, &st[next], err) < 0)
            goto out;
          next++;
          active++;
        }
      if (curl_multi_perform (r->multi, &running) != CURLM_OK)
        {
          hutch_error_set (err, ENOMEM, "libcurl failed");
          goto out;
        }
      while ((m = curl_multi_info_read (r->multi, &left)) != NULL)
        {
          struct fetch_state *fs = NULL;
          CURLcode res;
          int a;

          if (m->msg != CURLMSG_DONE)
            continue;
          /* M is not to be read after the handle is removed.  */
          res = m->data.result;
          curl_easy_getinfo (m->easy_handle, CURLINFO_PRIVATE, (char **)&fs);
          curl_multi_remove_handle (r->multi, fs->t.h);
          fs->active = false;
          a = fetch_finished (r, fs, res, err);
          hutch_reg_transfer_clear (&fs->t);
          if (a < 0)
            goto out;
          if (a > 0)
            {
              /* A short pause before the next attempt, longer each time.  */
              usleep (100000u * fs->attempts);
              if (fetch_start (r, fs, err) < 0)
                goto out;
              continue;
            }
          active--;
          finished++;
        }
      if (finished < n && running > 0)
        curl_multi_poll (r->multi, NULL, 0, 1000, NULL);
    }
  ret = 0;
out:
  for (i = 0; i < n; i++)
    if (st[i].active)
      {
        curl_multi_remove_handle (r->multi, st[i].t.h);
        hutch_reg_transfer_clear (&st[i].t);
      }
  free (st);
  return ret;
}
