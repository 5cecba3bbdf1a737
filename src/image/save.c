/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* hutch save: an image of the store as a docker-archive or an oci-archive
   (a tar of the OCI layout), written to a temporary name and renamed.  */

#include "image/image.h"
#include "image/unpack.h"

#include <archive.h>
#include "image/conffile.h"
#include "base/digest.h"
#include "runtime/nsexec.h"
#include "image/reference.h"
#include "base/syscalls.h"
#include "base/log.h"
#include "base/paths.h"
#include "base/util.h"
#include "base/walk.h"

#include <archive_entry.h>
#include "base/lazylib.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- save ------------------------------------------------------------- */

static int
tar_add_fd (struct archive *a, const char *name, int fd, hutch_error_t *err)
{
  struct archive_entry *e = archive_entry_new ();
  struct stat st;
  char buf[1 << 16];
  ssize_t n;
  int r = -1;

  if (fstat (fd, &st) < 0)
    {
      hutch_error_set (err, errno, "stat `%s`", name);
      goto out;
    }
  archive_entry_set_pathname (e, name);
  archive_entry_set_size (e, st.st_size);
  archive_entry_set_filetype (e, AE_IFREG);
  archive_entry_set_perm (e, 0644);
  archive_entry_set_mtime (e, st.st_mtime, 0);
  if (archive_write_header (a, e) != ARCHIVE_OK)
    {
      hutch_error_set (err, 0, "write `%s`: %s", name, archive_error_string (a));
      goto out;
    }
  if (lseek (fd, 0, SEEK_SET) < 0)
    {
      hutch_error_set (err, errno, "read `%s`", name);
      goto out;
    }
  while ((n = read (fd, buf, sizeof buf)) > 0)
    if (archive_write_data (a, buf, (size_t)n) != n)
      {
        hutch_error_set (err, 0, "write `%s`: %s", name, archive_error_string (a));
        goto out;
      }
  if (n < 0)
    {
      hutch_error_set (err, errno, "read `%s`", name);
      goto out;
    }
  r = 0;
out:
  archive_entry_free (e);
  return r;
}

static int
tar_add_text (struct archive *a, const char *name, const char *text, hutch_error_t *err)
{
  struct archive_entry *e = archive_entry_new ();
  size_t len = strlen (text);
  int r = 0;

  archive_entry_set_pathname (e, name);
  archive_entry_set_size (e, (la_int64_t)len);
  archive_entry_set_filetype (e, AE_IFREG);
  archive_entry_set_perm (e, 0644);
  archive_entry_set_mtime (e, time (NULL), 0);
  if (archive_write_header (a, e) != ARCHIVE_OK
      || archive_write_data (a, text, len) != (la_ssize_t)len)
    r = hutch_error_set (err, 0, "write `%s`: %s", name, archive_error_string (a));
  archive_entry_free (e);
  return r;
}

static int
tar_add_dir (struct archive *a, const char *name, hutch_error_t *err)
{
  struct archive_entry *e = archive_entry_new ();
  int r = 0;

  archive_entry_set_pathname (e, name);
  archive_entry_set_size (e, 0);
  archive_entry_set_filetype (e, AE_IFDIR);
  archive_entry_set_perm (e, 0755);
  archive_entry_set_mtime (e, time (NULL), 0);
  if (archive_write_header (a, e) != ARCHIVE_OK)
    r = hutch_error_set (err, 0, "write `%s`: %s", name, archive_error_string (a));
  archive_entry_free (e);
  return r;
}

static int
tar_add_blob (struct hutch_store *s, struct archive *a, const char *name, const char *digest,
              hutch_error_t *err)
{
  _cleanup_free_ char *path = hutch_store_blob_path (s, digest);
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return hutch_error_set (err, errno, "blob %s is missing from the store", digest);
  return tar_add_fd (a, name, fd, err);
}

/* docker-archive layers are plain tars: decompress a blob into a temporary
   file of the store (unlinked at once).  */
static int
decompressed_layer (struct hutch_store *s, const char *digest, int *ret_fd, hutch_error_t *err)
{
  _cleanup_free_ char *path = hutch_store_blob_path (s, digest);
  _cleanup_free_ char *tmpl = hutch_xasprintf ("%s/tmp/save-XXXXXX", hutch_store_root (s));
  struct archive *a = archive_read_new ();
  struct archive_entry *e;
  char buf[1 << 16];
  la_ssize_t n;
  int out = -1, r = -1;

  if (hutch_archive_filters (a, false, err) < 0)
    goto done;
  archive_read_support_format_raw (a);
  out = mkostemp (tmpl, O_CLOEXEC);
  if (out < 0)
    {
      hutch_error_set (err, errno, "create a temporary file in the store");
      goto done;
    }
  unlink (tmpl);
  if (archive_read_open_filename (a, path, 1 << 16) != ARCHIVE_OK
      || archive_read_next_header (a, &e) != ARCHIVE_OK)
    {
      hutch_error_set (err, 0, "layer %s: %s", digest, archive_error_string (a));
      goto done;
    }
  while ((n = archive_read_data (a, buf, sizeof buf)) > 0)
    if (hutch_write_all (out, buf, (size_t)n) < 0)
      {
        hutch_error_set (err, errno, "write a temporary file in the store");
        goto done;
      }
  if (n < 0)
    {
      hutch_error_set (err, 0, "layer %s: %s", digest, archive_error_string (a));
      goto done;
    }
  *ret_fd = HUTCH_STEAL_FD (out);
  r = 0;
done:
  if (out >= 0)
    close (out);
  archive_read_free (a);
  return r;
}

/* Append to TAGS the docker-archive RepoTags of IMG: its names that have
   a tag, in their familiar form ("alpine:latest").  */
static void
docker_repo_tags (json_t *tags, const struct hutch_image *img)
{
  size_t i;

  for (i = 0; img->names && img->names[i]; i++)
    {
      struct hutch_reference ref;
      hutch_error_t e = HUTCH_ERROR_INIT;
      if (hutch_reference_parse (img->names[i], &ref, &e) == 0 && ref.tag)
        {
          char *fam = hutch_reference_familiar (&ref);
          json_array_append_new (tags, json_string (fam));
          free (fam);
        }
      hutch_reference_clear (&ref);
      hutch_error_clear (&e);
    }
}

/* IMG into A as a docker-archive: its config, each layer decompressed
   into ID/layer.tar, and manifest.json.  */
static int
save_docker (struct hutch_store *s, struct archive *a, const struct hutch_image *img,
             hutch_error_t *err)
{
  json_t *tags = json_array (), *layers = json_array (), *man;
  char *text;
  const char *chex = strchr (img->config_digest, ':') + 1;
  _cleanup_free_ char *cname = hutch_xasprintf ("%s.json", chex);
  size_t i;
  int r;

  docker_repo_tags (tags, img);
  if (tar_add_blob (s, a, cname, img->config_digest, err) < 0)
    {
      json_decref (tags);
      json_decref (layers);
      return -1;
    }
  for (i = 0; i < img->n_layers; i++)
    {
      const char *dhex = strchr (img->layers[i].diff_id, ':') + 1;
      _cleanup_free_ char *lname = hutch_xasprintf ("%s/layer.tar", dhex);
      _cleanup_close_ int fd = -1;
      if (decompressed_layer (s, img->layers[i].digest, &fd, err) < 0
          || tar_add_fd (a, lname, fd, err) < 0)
        {
          json_decref (tags);
          json_decref (layers);
          return -1;
        }
      json_array_append_new (layers, json_string (lname));
    }
  man = json_pack ("[{s:s, s:o, s:o}]", "Config", cname, "RepoTags", tags, "Layers", layers);
  text = json_dumps (man, JSON_COMPACT);
  json_decref (man);
  r = tar_add_text (a, "manifest.json", text, err);
  free (text);
  return r;
}

/* The blobs of IMG (manifest, config, layers) into A under blobs/sha256/,
   after the layout's directories and oci-layout.  */
static int
oci_add_blobs (struct hutch_store *s, struct archive *a, const struct hutch_image *img,
               hutch_error_t *err)
{
  const char *mhex = strchr (img->manifest_digest, ':') + 1;
  _cleanup_free_ char *mname = hutch_xasprintf ("blobs/sha256/%s", mhex);
  size_t i;

  /* Readers such as skopeo need the directories as entries of their own.  */
  if (tar_add_dir (a, "blobs/", err) < 0 || tar_add_dir (a, "blobs/sha256/", err) < 0
      || tar_add_text (a, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", err) < 0
      || tar_add_blob (s, a, mname, img->manifest_digest, err) < 0)
    return -1;
  {
    _cleanup_free_ char *cn
        = hutch_xasprintf ("blobs/sha256/%s", strchr (img->config_digest, ':') + 1);
    if (tar_add_blob (s, a, cn, img->config_digest, err) < 0)
      return -1;
  }
  for (i = 0; i < img->n_layers; i++)
    {
      _cleanup_free_ char *ln
          = hutch_xasprintf ("blobs/sha256/%s", strchr (img->layers[i].digest, ':') + 1);
      if (tar_add_blob (s, a, ln, img->layers[i].digest, err) < 0)
        return -1;
    }
  return 0;
}

/* IMG into A as an oci-archive: its blobs, then index.json naming its
   manifest (of media type MEDIA_TYPE, LEN bytes) and its first name.  */
static int
save_oci (struct hutch_store *s, struct archive *a, const struct hutch_image *img,
          const char *media_type, size_t len, hutch_error_t *err)
{
  json_t *index, *desc;
  char *text;
  int r;

  if (oci_add_blobs (s, a, img, err) < 0)
    return -1;
  desc = json_pack ("{s:s, s:s, s:I}", "mediaType", media_type, "digest", img->manifest_digest,
                    "size", (json_int_t)len);
  if (img->names && img->names[0])
    json_object_set_new (desc, "annotations",
                         json_pack ("{s:s}", "org.opencontainers.image.ref.name", img->names[0]));
  index = json_pack ("{s:i, s:[o]}", "schemaVersion", 2, "manifests", desc);
  text = json_dumps (index, JSON_COMPACT);
  json_decref (index);
  r = tar_add_text (a, "index.json", text, err);
  free (text);
  return r;
}

int
hutch_image_save (struct hutch_store *s, const char *image, const char *file, bool docker,
                  hutch_error_t *err)
{
  struct hutch_image img;
  int r;

  if (hutch_store_find_image (s, image, &img, err) < 0)
    {
      if (err->errnum == ENOENT)
        hutch_error_set (err, 0, "image `%s` is not in the store", image);
      return -1;
    }
  r = hutch_image_save_image (s, &img, image, file, docker, err);
  hutch_image_clear (&img);
  return r;
}

int
hutch_image_save_image (struct hutch_store *s, const struct hutch_image *imgp, const char *image,
                        const char *file, bool docker, hutch_error_t *err)
{
  _cleanup_free_ char *tmp = hutch_xasprintf ("%s.hutch-XXXXXX", file);
  _cleanup_close_ int outfd = -1;
  _cleanup_free_ char *manifest = NULL;
  const struct hutch_image img = *imgp;
  struct hutch_manifest m;
  struct archive *a;
  size_t len;
  int r = -1;

  memset (&m, 0, sizeof m);
  a = archive_write_new ();
  archive_write_set_format_pax_restricted (a);
  /* Written under a temporary name and renamed: a failed save leaves no
     half archive under the name the user gave.  */
  /* A temporary name of our own (O_EXCL, so no one's symlink is followed
     in a shared directory), renamed at the end.  */
  outfd = mkostemp (tmp, O_CLOEXEC);
  if (outfd < 0)
    {
      hutch_error_set (err, errno, "create `%s`", tmp);
      goto out;
    }
  if (fchmod (outfd, 0644) < 0 || archive_write_open_fd (a, outfd) != ARCHIVE_OK)
    {
      hutch_error_set (err, 0, "create `%s`: %s", file, archive_error_string (a));
      goto out;
    }
  if (docker)
    {
      if (save_docker (s, a, &img, err) < 0)
        goto out;
    }
  else
    {
      if (img.manifest_digest == NULL)
        {
          hutch_error_set (err, 0,
                           "image `%s` has no manifest in the store; use --format "
                           "docker-archive",
                           image);
          goto out;
        }
      if (hutch_store_read_blob (s, img.manifest_digest, 16 << 20, &manifest, &len, err) < 0
          || hutch_manifest_parse (manifest, len, NULL, &m, err) < 0
          || save_oci (s, a, &img, m.media_type, len, err) < 0)
        goto out;
    }
  if (archive_write_close (a) != ARCHIVE_OK)
    {
      hutch_error_set (err, 0, "write `%s`: %s", file, archive_error_string (a));
      goto out;
    }
  if (rename (tmp, file) < 0)
    {
      hutch_error_set (err, errno, "rename `%s` to `%s`", tmp, file);
      goto out;
    }
  r = 0;
out:
  archive_write_free (a);
  if (r < 0 && outfd >= 0)
    unlink (tmp);
  hutch_manifest_clear (&m);
  return r;
}
