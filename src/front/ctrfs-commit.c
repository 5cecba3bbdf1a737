/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* hutch commit: a container's upper layer (image/layerwrite.h makes its
   layer) as one more layer of its image, a new image in the store.  */

#include "front/ctrfs-private.h"
#include "base/units.h"
#include "base/util.h"
#include "image/change.h"
#include "image/image.h"
#include "image/imageconfig.h"
#include "image/reference.h"
#include "runtime/nsexec.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The layer of C's upper directory, as a blob of the store.  It is
   written by a worker in the user namespace (as the container's root,
   which reads every file) into a nameless file of the store's tmp/,
   gzipped as it is made, and linked into blobs/ as it is: nothing is read
   twice.  gzip, not a plain tar, because the store keeps a layer's blob as
   `hutch push` sends it (nothing compresses at push), and a commit is
   mostly made to be pushed or saved; at level 1 it costs little more
   than the tar itself.  */
static int
commit_layer (struct hutch_store *s, const struct hutch_ctr *c, struct hutch_store_layer *ret,
              hutch_error_t *err)
{
  _cleanup_close_ int fd = hutch_layer_scratch (s, err);
  struct ctrfs_layers_job j = {
    .write = { .gzip = true, .clamp_time = -1, .where = "the upper layer" },
  };
  struct hutch_userns_job *job = NULL;
  struct hutch_layer_digests d;
  char out[HUTCH_USERNS_OUT_MAX] = "";
  int r;

  if (fd < 0)
    return -1;
  if (ctrfs_layers_prepare (c,
                            "its changes are no layer; make an image of its directory with `tar -C "
                            "DIR -c . | hutch import - NAME`",
                            &j, err)
      < 0)
    return -1;
  j.fd = fd;
  hutch_layer_writer_preload ();
  r = hutch_userns_start (ctrfs_layers_fn, &j, &fd, 1, &job, err);
  if (r == 0 && hutch_userns_finish (job, out, sizeof out, err) < 0)
    r = hutch_error_prefix (err, "container %s", c->name);
  ctrfs_layers_clear (&j);
  if (r < 0)
    return -1;
  if (hutch_layer_digests_parse (out, &d, err) < 0 || hutch_layer_put (s, fd, &d, ret, err) < 0)
    return hutch_error_prefix (err, "the layer of container %s", c->name);
  return 0;
}

/* An OCI manifest can hold docker's layer media types only by their OCI
   names (the blobs are the same).  */
static const char *
oci_layer_type (const char *t)
{
  if (strcmp (t, HUTCH_MT_DOCKER_LAYER_GZIP) == 0)
    return HUTCH_MT_OCI_LAYER_GZIP;
  if (strcmp (t, "application/vnd.docker.image.rootfs.diff.tar") == 0)
    return HUTCH_MT_OCI_LAYER;
  return t;
}

/* The new config: the image's, changed by O, with the layer and a history
   entry that says how it was made.  */
static json_t *
commit_config (const char *base, size_t len, const struct hutch_ctr *c,
               const struct hutch_commit_opts *o, const char *diff_id, const char *now,
               hutch_error_t *err)
{
  json_error_t je;
  json_t *cfg = json_loadb (base, len, 0, &je), *config, *rootfs, *ids, *history, *h;
  _cleanup_free_ char *by = NULL;
  size_t i;

  if (!json_is_object (cfg))
    {
      json_decref (cfg);
      hutch_error_set (err, 0, "the config of image %s cannot be read: %s", c->image_id, je.text);
      return NULL;
    }
  config = json_object_get (cfg, "config");
  if (!json_is_object (config))
    json_object_set_new (cfg, "config", config = json_object ());
  if (hutch_image_apply_commit_changes (config, o->changes, err) < 0)
    {
      json_decref (cfg);
      return NULL;
    }
  json_object_set_new (cfg, "created", json_string (now));
  if (o->author)
    json_object_set_new (cfg, "author", json_string (o->author));
  rootfs = json_object_get (cfg, "rootfs");
  if (!json_is_object (rootfs))
    json_object_set_new (cfg, "rootfs", rootfs = json_pack ("{s:s}", "type", "layers"));
  ids = json_object_get (rootfs, "diff_ids");
  if (!json_is_array (ids))
    json_object_set_new (rootfs, "diff_ids", ids = json_array ());
  json_array_append_new (ids, json_string (diff_id));
  history = json_object_get (cfg, "history");
  if (!json_is_array (history))
    json_object_set_new (cfg, "history", history = json_array ());
  by = hutch_xstrdup ("hutch commit");
  for (i = 0; c->command && c->command[i]; i++)
    {
      char *next = hutch_xasprintf ("%s%s%s", i ? by : "", i ? " " : "", c->command[i]);
      free (by);
      by = next;
    }
  h = json_pack ("{s:s, s:s}", "created", now, "created_by", by);
  if (o->author)
    json_object_set_new (h, "author", json_string (o->author));
  if (o->message)
    json_object_set_new (h, "comment", json_string (o->message));
  json_array_append_new (history, h);
  return cfg;
}

static int
commit_image (struct hutch_store *s, const struct hutch_ctr *c, const struct hutch_commit_opts *o,
              const struct hutch_image *base, struct hutch_store_layer *layer, char **ret_id,
              hutch_error_t *err)
{
  _cleanup_free_ char *text = NULL, *config = NULL, *manifest = NULL, *full = NULL;
  _cleanup_free_ char *now = hutch_now_rfc3339 (), *path = NULL;
  _cleanup_free_ struct hutch_store_layer *layers = NULL;
  char *names[2] = { NULL, NULL };
  struct hutch_image img = { 0 };
  int64_t csize = 0, msize = 0;
  json_t *cfg, *man, *ls;
  size_t len, i;
  int r;

  if (o->name && hutch_reference_normalize (o->name, &full, err) < 0)
    return -1;
  path = hutch_store_blob_path (s, base->config_digest);
  if (hutch_read_file (path, 16 << 20, &text, &len, err) < 0)
    return hutch_error_prefix (err, "the config of image %s", base->id);
  cfg = commit_config (text, len, c, o, layer->diff_id, now, err);
  if (cfg == NULL)
    return -1;
  r = hutch_image_put_json (s, cfg, &config, &csize, err);
  json_decref (cfg);
  if (r < 0)
    return -1;
  layers = hutch_xmalloc0 ((base->n_layers + 1) * sizeof *layers);
  ls = json_array ();
  for (i = 0; i < base->n_layers; i++)
    {
      layers[i] = base->layers[i];
      json_array_append_new (ls, json_pack ("{s:s, s:s, s:I}", "mediaType",
                                            oci_layer_type (base->layers[i].media_type), "digest",
                                            base->layers[i].digest, "size",
                                            (json_int_t)base->layers[i].size));
    }
  layers[i] = *layer;
  json_array_append_new (ls, json_pack ("{s:s, s:s, s:I}", "mediaType", layer->media_type, "digest",
                                        layer->digest, "size", (json_int_t)layer->size));
  man = json_pack ("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion", 2, "mediaType",
                   HUTCH_MT_OCI_MANIFEST, "config", "mediaType", HUTCH_MT_OCI_CONFIG, "digest",
                   config, "size", (json_int_t)csize, "layers", ls);
  r = hutch_image_put_json (s, man, &manifest, &msize, err);
  json_decref (man);
  if (r < 0)
    return -1;
  names[0] = full;
  img.id = img.config_digest = config;
  img.manifest_digest = manifest;
  img.names = names;
  img.layers = layers;
  img.n_layers = base->n_layers + 1;
  img.created = now;
  /* Unpacked now (from the blob, as any layer), so that it runs at once.  */
  if (hutch_image_unpack_layers (s, &img, err) < 0 || hutch_store_add_image (s, &img, err) < 0)
    return -1;
  *ret_id = HUTCH_STEAL_PTR (config);
  return 0;
}

int
hutch_ctrfs_commit (const struct hutch_ctr *c, const struct hutch_state *st,
                    const struct hutch_commit_opts *o, char **ret_id, hutch_error_t *err)
{
  _cleanup_store_ struct hutch_store *s = NULL;
  struct hutch_store_layer layer = { 0 };
  struct hutch_image base;
  int r;

  (void)st; /* a running container's upper layer is read as it is */
  if (hutch_image_check_commit_changes (o->changes, err) < 0)
    return -1;
  if (ctrfs_refuse_image_file (c, "commit", err) < 0)
    return -1;
  if (c->image_id == NULL)
    return hutch_error_set (err, 0,
                            "container %s runs %s, which has no image layer below it: commit "
                            "makes a layer of what a container changed above its image; make "
                            "an image of %s with `tar -C DIR -c . | hutch import - NAME`",
                            c->name,
                            c->rootfs ? "straight from its --rootfs directory"
                                      : "in a sandbox of the host's own files",
                            c->rootfs ? "the directory" : "a directory");
  if (hutch_image_store_open (c->root, &s, err) < 0)
    return -1;
  if (hutch_store_find_by_digest (s, c->image_id, &base, err) < 0)
    return hutch_error_set (err, 0,
                            "the image of container %s (%s) is no longer in the store: it was "
                            "removed with `hutch rmi -f`",
                            c->name, c->image_id);
  r = commit_layer (s, c, &layer, err);
  if (r == 0)
    r = commit_image (s, c, o, &base, &layer, ret_id, err);
  if (r < 0)
    hutch_image_drop_orphan_blobs (s);
  hutch_image_clear (&base);
  free (layer.digest);
  free (layer.diff_id);
  free (layer.media_type);
  return r < 0 ? -1 : 0;
}
