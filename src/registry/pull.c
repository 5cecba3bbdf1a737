/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "registry/pull.h"
#include "base/digest.h"
#include "image/image.h"
#include "image/imageconfig.h"
#include "image/layermap.h"
#include "runtime/nsexec.h"
#include "registry/progress.h"
#include "image/reference.h"
#include "image/unpack.h"
#include "base/log.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

/* Layers downloaded at once: enough to fill a link while one of them
   waits on its registry, few enough not to be throttled.  */
#define PARALLEL_LAYERS 3
#define CONFIG_MAX (16 << 20)
/* An eventfd value that says "the blob is complete", added to the data
   wake-ups (1 each).  */
#define STREAM_END ((uint64_t)1 << 40)
/* What arrives of a blob (libcurl hands over 16 KiB at a time) is written
   and announced to its unpacker this much at a time: a write and a wake-up
   per 16 KiB were 13,000 of each for a 200 MiB image, and as many times the
   unpacker woke up for a sliver.  */
#define WRITE_CHUNK (1 << 20)

static const char *
strip_transport (const char *s)
{
  return hutch_str_has_prefix (s, "docker://") ? s + strlen ("docker://") : s;
}

int
hutch_platform_parse (const char *s, char **ret_os, char **ret_arch, char **ret_variant,
                      hutch_error_t *err)
{
  _cleanup_strv_ char **parts = NULL;
  const char *p = s;
  size_t n;

  while (*p)
    {
      size_t len = strcspn (p, "/");
      hutch_strv_push (&parts, hutch_xstrndup (p, len));
      p += len;
      if (*p == '/')
        {
          p++;
          if (*p == '\0')
            hutch_strv_push (&parts, hutch_xstrdup (""));
        }
    }
  n = hutch_strv_len (parts);
  if (n < 2 || n > 3 || *parts[0] == '\0' || *parts[1] == '\0' || (n == 3 && *parts[2] == '\0'))
    return hutch_error_set (err, 0,
                            "--platform `%s`: expected OS/ARCH or OS/ARCH/VARIANT, such as "
                            "linux/amd64 or linux/arm/v7",
                            s);
  *ret_os = hutch_xstrdup (parts[0]);
  *ret_arch = hutch_xstrdup (parts[1]);
  *ret_variant = n == 3 ? hutch_xstrdup (parts[2]) : NULL;
  return 0;
}

int
hutch_platform_resolve (const char *platform, struct hutch_platform_want *ret, hutch_error_t *err)
{
  memset (ret, 0, sizeof *ret);
  if (platform)
    {
      ret->given = true;
      return hutch_platform_parse (platform, &ret->os, &ret->architecture, &ret->variant, err);
    }
  {
    const char *o, *a, *v;
    hutch_host_platform (&o, &a, &v);
    ret->os = hutch_xstrdup (o);
    ret->architecture = hutch_xstrdup (a);
    ret->variant = v ? hutch_xstrdup (v) : NULL;
  }
  return 0;
}

void
hutch_platform_want_clear (struct hutch_platform_want *w)
{
  free (w->os);
  free (w->architecture);
  free (w->variant);
  memset (w, 0, sizeof *w);
}

char *
hutch_platform_describe (const struct hutch_image_config *cfg,
                         const struct hutch_platform_want *want, char **ret_take)
{
  _cleanup_free_ char *have = hutch_platform_format (cfg->os, cfg->architecture, cfg->variant),
                      *wanted = hutch_platform_format (want->os, want->architecture, want->variant);
  const char *hos, *harch, *hvariant;
  bool native;

  /* Naming the image's own platform is the way to run it anyway; on
     another architecture than the host's that takes an emulator.  */
  hutch_host_platform (&hos, &harch, &hvariant);
  native = hutch_platform_matches (cfg->os, cfg->architecture, cfg->variant, hos, harch, hvariant);
  *ret_take = hutch_xasprintf ("--platform %s%s%s%s", have,
                               native ? "" : " (running it needs an emulator for ",
                               native ? "" : cfg->architecture,
                               native ? ""
                                      : " registered in binfmt_misc, such as "
                                        "qemu-user-static's)");
  return hutch_xasprintf ("for %s, not for %s (%s)", have, wanted,
                          want->given ? "--platform" : "this machine's");
}

/* The references to try for IMAGE: itself, or for a short name one per
   registry of the search list ("alpine" on quay.io is quay.io/alpine:
   "library/" is Docker Hub's alone).  */
static int
candidates (const char *image, const struct hutch_conf *conf, char ***ret, hutch_error_t *err)
{
  struct hutch_reference ref;
  char **out = NULL;

  if (hutch_reference_parse (image, &ref, err) < 0)
    return -1;
  if (!ref.short_name)
    hutch_strv_push (&out, hutch_reference_format (&ref));
  else
    {
      static const char *const docker_only[] = { HUTCH_DEFAULT_REGISTRY, NULL };
      const char *const *regs = conf ? hutch_conf_search_registries (conf) : docker_only;
      size_t i;

      for (i = 0; regs[i]; i++)
        {
          struct hutch_reference c;
          _cleanup_free_ char *full = NULL;

          if (strcmp (regs[i], HUTCH_DEFAULT_REGISTRY) == 0)
            {
              hutch_strv_push (&out, hutch_reference_format (&ref));
              continue;
            }
          full = hutch_xasprintf ("%s/%s", regs[i], image);
          if (hutch_reference_parse (full, &c, err) < 0)
            {
              hutch_reference_clear (&ref);
              hutch_strv_free (out);
              return -1;
            }
          hutch_strv_push (&out, hutch_reference_format (&c));
          hutch_reference_clear (&c);
        }
      if (out == NULL)
        {
          hutch_reference_clear (&ref);
          return hutch_error_set (err, 0,
                                  "`%s` is a short name and unqualified_search_registries in "
                                  "hutch.conf is empty; write the registry too, as in "
                                  "docker.io/library/%s",
                                  image, image);
        }
    }
  hutch_reference_clear (&ref);
  *ret = out;
  return 0;
}

int
hutch_pull_find_local (struct hutch_store *s, const char *image, const struct hutch_conf *conf,
                       struct hutch_image *ret, hutch_error_t *err)
{
  _cleanup_strv_ char **names = NULL;
  size_t i;
  int r;

  image = strip_transport (image);
  r = hutch_store_find_image (s, image, ret, err);
  if (r == 0 || err->errnum != ENOENT)
    return r;
  /* Not an id, not the docker.io name: the other search registries.  */
  {
    hutch_error_t e = HUTCH_ERROR_INIT;
    if (candidates (image, conf, &names, &e) < 0)
      {
        hutch_error_clear (&e);
        return r;
      }
  }
  for (i = 0; names[i]; i++)
    {
      hutch_error_t e = HUTCH_ERROR_INIT;
      if (hutch_store_find_image (s, names[i], ret, &e) == 0)
        {
          hutch_error_clear (err);
          return 0;
        }
      hutch_error_clear (&e);
    }
  return r;
}

/* ---- layers: downloaded, and unpacked while they arrive ----------------- */

struct stream_unpack
{
  int blobfd;        /* reads the blob file as the download writes it */
  int efd;           /* eventfd: 1 per write, STREAM_END when complete */
  const char *layer; /* the layer's directory in ROOT/tmp */
};

struct layer_job
{
  struct hutch_store *s;
  struct hutch_progress *prog;
  size_t line;
  const struct hutch_descriptor *desc;
  const char *diff_id; /* what the config says */
  bool unpack;         /* the store lacks the layer: unpack it too */
  struct hutch_blob_writer *w;
  char *buf; /* WRITE_CHUNK bytes not yet written */
  size_t buffered;
  int syncfd;      /* the blob file, to start its writeback */
  int64_t written; /* bytes of it written */
  struct stream_unpack su;
  struct hutch_userns_job *job;
  char *tmpdir;
  int64_t got;
};

static int
wait_more (void *data)
{
  struct stream_unpack *su = data;
  uint64_t v;

  for (;;)
    {
      ssize_t n = read (su->efd, &v, sizeof v);
      if (n == (ssize_t)sizeof v)
        return v >= STREAM_END ? 0 : 1;
      if (n < 0 && errno == EINTR)
        continue;
      return n < 0 ? -errno : -EPIPE;
    }
}

/* In the user namespace: unpack the blob that is being downloaded.  */
static int
stream_unpack_fn (void *arg, char *out, size_t out_len, hutch_error_t *err)
{
  struct stream_unpack *su = arg;
  struct hutch_unpack_opts opts = {
    .whiteouts = HUTCH_WHITEOUT_OVERLAY, .wait_more = wait_more, .wait_data = su, .diff_id = true
  };
  struct hutch_unpack_stats stats;
  _cleanup_free_ char *diff = hutch_xasprintf ("%s/diff", su->layer);
  _cleanup_close_ int dirfd = open (diff, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (dirfd < 0)
    return hutch_error_set (err, errno, "open `%s`", diff);
  /* The mapping the layer is unpacked under, recorded with it; without a
     subordinate range only our own id exists, and files stay ours.  */
  if (hutch_layermap_record_self (su->layer, &opts.chown, err) < 0
      || hutch_archive_unpack (su->blobfd, dirfd, &opts, &stats, err) < 0)
    return -1;
  /* The layer goes to disk now, while other layers still download and
     unpack, rather than all at once when they are committed: the syncfs
     of the commit (hutch_store_layer_commit) then finds little left.  */
  if (syncfs (dirfd) < 0)
    return hutch_error_set (err, errno, "flush `%s` to disk", diff);
  snprintf (out, out_len, "%s", stats.diff_id);
  return 0;
}

static int
start_unpack (struct layer_job *j, hutch_error_t *err)
{
  _cleanup_free_ char *diff = NULL;

  if (hutch_store_layer_begin (j->s, &j->tmpdir, err) < 0)
    return -1;
  /* LAYER/diff: see unpack_blob in layers.c.  */
  diff = hutch_xasprintf ("%s/diff", j->tmpdir);
  if (mkdir (diff, 0755) < 0)
    return hutch_error_set (err, errno, "create `%s`", diff);
  j->su.blobfd = hutch_blob_writer_open_reader (j->w, err);
  if (j->su.blobfd < 0)
    return -1;
  j->su.efd = eventfd (0, EFD_CLOEXEC);
  if (j->su.efd < 0)
    return hutch_error_set (err, errno, "eventfd");
  j->su.layer = j->tmpdir;
  {
    int keep[2] = { j->su.blobfd, j->su.efd };
    if (hutch_userns_start (stream_unpack_fn, &j->su, keep, 2, &j->job, err) < 0)
      return hutch_error_prefix (err, "unpack layer %.19s", j->diff_id);
  }
  /* The child has its own copies; ours of the reading side go.  */
  hutch_closep (&j->su.blobfd);
  j->su.layer = NULL;
  return 0;
}

static void
wake (struct layer_job *j, uint64_t v)
{
  if (j->su.efd >= 0 && write (j->su.efd, &v, sizeof v) < 0)
    {
      /* Cannot overflow in practice (2^64 - 2); nothing to do.  */
    }
}

/* Write what is buffered, and tell the unpacker.  */
static int
layer_flush (struct layer_job *j, hutch_error_t *err)
{
  if (j->buffered == 0)
    return 0;
  if (hutch_blob_writer_write (j->w, j->buf, j->buffered, err) < 0)
    return -1;
  /* The blob's commit waits for it to be on disk (fsync), in the loop of
     the downloads: its writeback starts now, piece by piece, so that the
     fsync finds little left.  Only a start: a failure shows there.  */
  if (j->syncfd >= 0)
    sync_file_range (j->syncfd, j->written, (off_t)j->buffered, SYNC_FILE_RANGE_WRITE);
  j->written += (int64_t)j->buffered;
  j->buffered = 0;
  wake (j, 1);
  return 0;
}

static int
layer_data (void *arg, const void *buf, size_t len, hutch_error_t *err)
{
  struct layer_job *j = arg;

  if (j->w == NULL)
    {
      if (hutch_store_blob_begin (j->s, j->desc->digest, &j->w, err) < 0)
        return -1;
      if (j->unpack && start_unpack (j, err) < 0)
        return -1;
      j->buf = hutch_xmalloc0 (WRITE_CHUNK);
      j->syncfd = hutch_blob_writer_open_reader (j->w, err);
      if (j->syncfd < 0)
        return -1;
    }
  j->got += (int64_t)len;
  hutch_progress_update (j->prog, j->line, j->got);
  while (len > 0)
    {
      size_t n = WRITE_CHUNK - j->buffered < len ? WRITE_CHUNK - j->buffered : len;

      memcpy (j->buf + j->buffered, buf, n);
      j->buffered += n;
      buf = (const char *)buf + n;
      len -= n;
      if (j->buffered == WRITE_CHUNK && layer_flush (j, err) < 0)
        return -1;
    }
  return 0;
}

static int
layer_done (void *arg, hutch_error_t *err)
{
  struct layer_job *j = arg;
  struct hutch_blob_writer *w;

  if ((j->w == NULL && layer_data (arg, "", 0, err) < 0) || layer_flush (j, err) < 0)
    return -1;
  free (j->buf);
  j->buf = NULL;
  hutch_closep (&j->syncfd);
  w = j->w;
  j->w = NULL;
  /* Verifies the digest of every byte received: only then does the
     unpacker hear that the file is complete.  */
  if (hutch_blob_writer_commit (w, NULL, err) < 0)
    return hutch_error_prefix (err, "layer %s", j->desc->digest);
  wake (j, STREAM_END);
  hutch_progress_finish (j->prog, j->line, "done");
  return 0;
}

static void
layer_job_abort (struct layer_job *j)
{
  hutch_userns_cancel (j->job);
  j->job = NULL;
  hutch_blob_writer_abort (j->w);
  j->w = NULL;
  free (j->buf);
  j->buf = NULL;
  hutch_closep (&j->syncfd);
  hutch_closep (&j->su.efd);
  hutch_closep (&j->su.blobfd);
  if (j->tmpdir)
    {
      hutch_error_t e = HUTCH_ERROR_INIT;
      hutch_userns_remove (j->tmpdir, &e);
      hutch_error_clear (&e);
      free (j->tmpdir);
      j->tmpdir = NULL;
    }
}

/* After the downloads: the unpacker's diff_id must be the config's.  */
static int
layer_job_check (struct layer_job *j, hutch_error_t *err)
{
  char diff_id[HUTCH_USERNS_OUT_MAX];
  struct hutch_userns_job *job = j->job;

  if (job == NULL)
    return 0;
  j->job = NULL;
  hutch_closep (&j->su.efd);
  if (hutch_userns_finish (job, diff_id, sizeof diff_id, err) < 0)
    return hutch_error_prefix (err, "unpack layer %s", j->desc->digest);
  if (strcmp (diff_id, j->diff_id) != 0)
    return hutch_error_set (err, 0,
                            "layer %s unpacks to content with digest %s, which does not match "
                            "the %s that the image's config says; the image is damaged",
                            j->desc->digest, diff_id, j->diff_id);
  return 0;
}

/* Then, once every layer checked out, into the store.  */
static int
layer_job_commit (struct layer_job *j, hutch_error_t *err)
{
  enum hutch_layer_commit res;

  if (j->tmpdir == NULL)
    return 0;
  if (hutch_store_layer_commit (j->s, j->tmpdir, j->diff_id, &res, err) < 0)
    return -1;
  if (res == HUTCH_LAYER_EXISTED_REMOVE)
    {
      hutch_error_t e = HUTCH_ERROR_INIT;
      hutch_userns_remove (j->tmpdir, &e);
      hutch_error_clear (&e);
    }
  free (j->tmpdir);
  j->tmpdir = NULL;
  return 0;
}

static char *
short_hex (const char *digest)
{
  const char *colon = strchr (digest, ':');
  return hutch_xstrndup (colon ? colon + 1 : digest, 12);
}

/* Download the layers the store lacks.  */
static int
fetch_layers (struct hutch_store *s, struct hutch_registry *r, const struct hutch_manifest *m,
              char *const *diff_ids, struct hutch_progress *prog, hutch_error_t *err)
{
  struct layer_job *jobs = hutch_xmalloc0 ((m->n_layers + 1) * sizeof *jobs);
  struct hutch_fetch *fetches = hutch_xmalloc0 ((m->n_layers + 1) * sizeof *fetches);
  size_t i, k, n = 0;
  int ret = -1;

  for (i = 0; i < m->n_layers; i++)
    {
      const struct hutch_descriptor *d = &m->layers[i];
      _cleanup_free_ char *label = short_hex (d->digest);
      bool dup = false;

      for (k = 0; k < n; k++)
        dup = dup || strcmp (jobs[k].desc->digest, d->digest) == 0;
      if (dup)
        continue; /* unpacked from the stored blob afterwards, if need be */
      if (hutch_store_has_blob (s, d->digest))
        {
          size_t line = hutch_progress_add (prog, "Copying blob", label, d->size);
          hutch_progress_finish (prog, line, "skipped: already in the store");
          continue;
        }
      jobs[n].s = s;
      jobs[n].prog = prog;
      jobs[n].desc = d;
      jobs[n].diff_id = diff_ids[i];
      jobs[n].unpack = !hutch_store_has_layer (s, diff_ids[i]);
      jobs[n].su.efd = jobs[n].su.blobfd = jobs[n].syncfd = -1;
      jobs[n].line = hutch_progress_add (prog, "Copying blob", label, d->size);
      fetches[n].digest = d->digest;
      fetches[n].size = d->size;
      fetches[n].data = layer_data;
      fetches[n].done = layer_done;
      fetches[n].arg = &jobs[n];
      n++;
    }
  if (n > 0 && hutch_registry_fetch_blobs (r, fetches, n, PARALLEL_LAYERS, err) < 0)
    goto out;
  for (i = 0; i < n; i++)
    if (layer_job_check (&jobs[i], err) < 0)
      goto out;
  for (i = 0; i < n; i++)
    if (layer_job_commit (&jobs[i], err) < 0)
      goto out;
  ret = 0;
out:
  for (i = 0; i < n; i++)
    layer_job_abort (&jobs[i]);
  free (jobs);
  free (fetches);
  return ret;
}

/* ---- the image ---------------------------------------------------------- */

static int
store_small_blob (struct hutch_store *s, const char *digest, const char *body, size_t len,
                  hutch_error_t *err)
{
  struct hutch_blob_writer *w;

  if (hutch_store_has_blob (s, digest))
    return 0;
  if (hutch_store_blob_begin (s, digest, &w, err) < 0)
    return -1;
  if (hutch_blob_writer_write (w, body, len, err) < 0)
    {
      hutch_blob_writer_abort (w);
      return -1;
    }
  return hutch_blob_writer_commit (w, NULL, err);
}

static int
get_config (struct hutch_store *s, struct hutch_registry *r, const struct hutch_descriptor *d,
            struct hutch_image_config *ret, hutch_error_t *err)
{
  _cleanup_free_ char *body = NULL;
  size_t len;

  if (hutch_store_has_blob (s, d->digest))
    {
      if (hutch_store_read_blob (s, d->digest, CONFIG_MAX, &body, &len, err) < 0)
        return -1;
    }
  else
    {
      if (hutch_registry_get_blob (r, d->digest, CONFIG_MAX, &body, &len, err) < 0)
        return hutch_error_prefix (err, "the image's config");
      if (store_small_blob (s, d->digest, body, len, err) < 0)
        return -1;
    }
  if (hutch_image_config_parse (body, len, ret, err) < 0)
    return hutch_error_prefix (err, "the image's config %s", d->digest);
  return 0;
}

/* Everything after the image manifest is known.  */
/* An image manifest (not an index) names no platform: its config says
   which one it is for.  With STRICT, another one than asked fails the pull
   before any layer is downloaded; otherwise it is said.  */
static int
check_platform (const char *name, const struct hutch_image_config *cfg,
                const struct hutch_pull_opts *opts, const struct hutch_platform_want *want,
                hutch_error_t *err)
{
  _cleanup_free_ char *which = NULL, *take = NULL;

  if (hutch_platform_matches (cfg->os, cfg->architecture, cfg->variant, want->os,
                              want->architecture, want->variant))
    return 0;
  which = hutch_platform_describe (cfg, want, &take);
  if (opts->strict_platform || want->given)
    return hutch_error_set (err, 0,
                            "the registry's image is %s; to take it as it is, name its "
                            "platform: %s",
                            which, take);
  if (!opts->quiet)
    hutch_log (HUTCH_LOG_WARNING, "`%s` is an image %s; `hutch run` takes it only with %s", name,
               which, take);
  return 0;
}

static int
pull_image (struct hutch_store *s, struct hutch_registry *r, const char *name,
            const struct hutch_manifest *m, const char *mdigest, const char *mbody, size_t mlen,
            const struct hutch_pull_opts *opts, const struct hutch_platform_want *want,
            struct hutch_progress *prog, char **ret_id, hutch_error_t *err)
{
  struct hutch_image_config cfg = { 0 };
  struct hutch_image img = { 0 };
  char *names[2] = { (char *)name, NULL };
  size_t i, n;
  int ret = -1;

  if (store_small_blob (s, mdigest, mbody, mlen, err) < 0)
    return -1;
  if (get_config (s, r, &m->config, &cfg, err) < 0)
    return -1;
  if (check_platform (name, &cfg, opts, want, err) < 0)
    goto out;
  n = hutch_strv_len (cfg.diff_ids);
  if (n != m->n_layers)
    {
      hutch_error_set (err, 0,
                       "the image's config lists %zu layers but its manifest %zu; the image in "
                       "the registry is damaged",
                       n, m->n_layers);
      goto out;
    }
  if (fetch_layers (s, r, m, cfg.diff_ids, prog, err) < 0)
    goto out;
  img.id = m->config.digest;
  img.config_digest = m->config.digest;
  img.manifest_digest = (char *)mdigest;
  img.names = names;
  img.created = cfg.created;
  img.n_layers = n;
  img.layers = hutch_xmalloc0 ((n + 1) * sizeof *img.layers);
  for (i = 0; i < n; i++)
    {
      img.layers[i].digest = m->layers[i].digest;
      img.layers[i].diff_id = cfg.diff_ids[i];
      img.layers[i].media_type = m->layers[i].media_type;
      img.layers[i].size = m->layers[i].size;
    }
  /* Layers whose blob the store had (or that appear twice) but not yet
     unpacked, from the stored blobs; and those unpacked under another id
     mapping than the user's now, again.  */
  if (hutch_image_unpack_layers (s, &img, err) < 0)
    goto out;
  if (hutch_store_add_image (s, &img, err) < 0)
    goto out;
  *ret_id = hutch_xstrdup (m->config.digest);
  ret = 0;
out:
  free (img.layers);
  hutch_image_config_clear (&cfg);
  return ret;
}

/* Open REF's repository at its mirrors, then the registry itself, and get
   the manifest of REFERENCE from the first that has it.  */
static int
open_and_get (const struct hutch_reference *ref, const struct hutch_pull_opts *opts,
              struct hutch_registry **ret_r, char **ret_body, size_t *ret_len, char **ret_mt,
              char **ret_digest, hutch_error_t *err)
{
  const char *const *mirrors
      = opts->reg.conf ? hutch_conf_mirrors (opts->reg.conf, ref->registry) : NULL;
  const char *want = ref->digest ? ref->digest : ref->tag;
  size_t i, n = mirrors ? hutch_strv_len ((char *const *)mirrors) : 0;

  for (i = 0; i <= n; i++)
    {
      struct hutch_registry *r = NULL;
      const char *endpoint = i < n ? mirrors[i] : NULL;

      hutch_error_clear (err);
      if (hutch_registry_open (ref->registry, endpoint, ref->repository, false, &opts->reg, &r, err)
              == 0
          && hutch_registry_get_manifest (r, want, ret_body, ret_len, ret_mt, ret_digest, err) == 0)
        {
          *ret_r = r;
          return 0;
        }
      hutch_registry_close (r);
      if (endpoint)
        {
          /* A mirror that fails is skipped, as podman does; the registry
             itself decides.  */
          if (!opts->quiet)
            hutch_log (HUTCH_LOG_WARNING, "mirror %s: %s; trying the next", endpoint,
                       err->msg ? err->msg : "failed");
        }
    }
  return -1;
}

static int
pull_reference (struct hutch_store *s, const char *name, const struct hutch_pull_opts *opts,
                const struct hutch_platform_want *want, struct hutch_progress *prog, char **ret_id,
                hutch_error_t *err)
{
  const char *os = want->os, *arch = want->architecture, *variant = want->variant;
  struct hutch_reference ref;
  _cleanup_registry_ struct hutch_registry *r = NULL;
  _cleanup_free_ char *body = NULL, *mt = NULL, *digest = NULL, *full = NULL;
  struct hutch_manifest m = { 0 };
  size_t len;
  int ret = -1;

  if (hutch_reference_parse (name, &ref, err) < 0)
    return -1;
  full = hutch_reference_format (&ref);
  if (open_and_get (&ref, opts, &r, &body, &len, &mt, &digest, err) < 0)
    {
      hutch_error_prefix (err, "pull %s", full);
      goto out;
    }
  hutch_progress_say (prog, "Pulling %s from %s", full, hutch_registry_url (r));
  if (hutch_manifest_parse (body, len, mt, &m, err) < 0)
    {
      hutch_error_prefix (err, "pull %s: the manifest", full);
      goto out;
    }
  if (m.kind == HUTCH_MANIFEST_INDEX)
    {
      const struct hutch_descriptor *d;
      _cleanup_free_ char *chosen = NULL;

      if (hutch_manifest_select (&m, os, arch, variant, &d, err) < 0)
        {
          hutch_error_prefix (err, "pull %s", full);
          goto out;
        }
      chosen = hutch_xstrdup (d->digest);
      hutch_manifest_clear (&m);
      free (body);
      free (mt);
      free (digest);
      body = mt = digest = NULL;
      if (hutch_registry_get_manifest (r, chosen, &body, &len, &mt, &digest, err) < 0)
        {
          hutch_error_prefix (err, "pull %s", full);
          goto out;
        }
      if (hutch_manifest_parse (body, len, mt, &m, err) < 0)
        {
          hutch_error_prefix (err, "pull %s: the manifest for %s/%s", full, os, arch);
          goto out;
        }
      if (m.kind != HUTCH_MANIFEST_IMAGE)
        {
          hutch_error_set (err, 0, "pull %s: the index for %s/%s points at another index", full, os,
                           arch);
          goto out;
        }
    }
  if (pull_image (s, r, full, &m, digest, body, len, opts, want, prog, ret_id, err) < 0)
    {
      hutch_error_prefix (err, "pull %s", full);
      goto out;
    }
  ret = 0;
out:
  if (ret < 0)
    hutch_image_drop_orphan_blobs (s);
  hutch_manifest_clear (&m);
  hutch_reference_clear (&ref);
  return ret;
}

int
hutch_pull (struct hutch_store *s, const char *image, const struct hutch_pull_opts *opts,
            char **ret_id, hutch_error_t *err)
{
  _cleanup_strv_ char **names = NULL;
  _cleanup_free_ char *tried = NULL;
  struct hutch_platform_want want;
  struct hutch_progress *prog;
  size_t i, n;
  int ret = -1;

  image = strip_transport (image);
  if (hutch_platform_resolve (opts->platform, &want, err) < 0
      || candidates (image, opts->reg.conf, &names, err) < 0)
    {
      hutch_platform_want_clear (&want);
      return -1;
    }
  /* Loaded here, before the unpackers fork: not by dlopen in a child of a
     process with threads.  */
  hutch_unpack_preload ();
  n = hutch_strv_len (names);
  prog = hutch_progress_new (hutch_log_progress_stream (), opts->quiet);
  for (i = 0; i < n; i++)
    {
      ret = pull_reference (s, names[i], opts, &want, prog, ret_id, err);
      if (ret == 0 || n == 1)
        break;
      /* A short name: the next registry of the search list may have it.  */
      {
        char *t = hutch_xasprintf ("%s%s%s", tried ? tried : "", tried ? "; " : "", err->msg);
        free (tried);
        tried = t;
      }
    }
  hutch_progress_free (prog);
  hutch_platform_want_clear (&want);
  if (ret < 0 && n > 1)
    hutch_error_set (err, ENOENT,
                     "`%s` was not found in any registry of the search list "
                     "(unqualified_search_registries in hutch.conf): %s",
                     image, tried);
  return ret;
}
