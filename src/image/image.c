/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "image/image.h"
#include "image/unpack.h"
#include "image/change.h"

#include <archive.h>
#include "image/conffile.h"
#include "base/digest.h"
#include "runtime/nsexec.h"
#include "image/reference.h"
#include "base/syscalls.h"
#include "base/log.h"
#include "base/paths.h"
#include "base/units.h"
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

char *
hutch_image_store_root (const char *cli_root, hutch_error_t *err)
{
  struct hutch_conf conf;
  char *root;

  if (cli_root)
    return hutch_xstrdup (cli_root);
  if (hutch_conf_load (&conf, err) < 0)
    return NULL;
  root = conf.root ? hutch_xstrdup (conf.root) : hutch_paths_data_dir ();
  hutch_conf_clear (&conf);
  return root;
}

int
hutch_image_store_check (const char *root, hutch_error_t *err)
{
  /* Another user who can write here could forge images.json or a layer
     that the user's next container is made of.  */
  if (hutch_paths_check_trusted (root, "the image store", err) < 0)
    return -1;
  /* Said before anything is made, in one line with its fix, rather than
     as whichever mkdir, open or rename fails first.  */
  return hutch_store_check_writable (root, err);
}

int
hutch_image_store_open (const char *cli_root, struct hutch_store **ret, hutch_error_t *err)
{
  _cleanup_free_ char *warning = NULL, *root = NULL;
  struct hutch_store *s;
  char *const *left;
  size_t i;

  root = hutch_image_store_root (cli_root, err);
  if (root == NULL)
    return -1;
  if (hutch_image_store_check (root, err) < 0)
    return -1;
  /* the parents too: ~/.local/share may not exist yet */
  if (hutch_walk_mkdir_p (root, 0700, err) < 0)
    return hutch_error_prefix (err, "the image store");
  /* Warn once per store, not at every command: a marker remembers it
     (its name is from when only network file systems were warned about;
     a store in memory loses it with its images, and is warned about
     again when made anew).  */
  if (hutch_store_check_filesystem (root, &warning, err) == 0 && warning)
    {
      _cleanup_free_ char *marker = hutch_xasprintf ("%s/.network-fs-warned", root);
      int fd = open (marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd >= 0)
        {
          close (fd);
          hutch_log (HUTCH_LOG_WARNING, "%s", warning);
        }
    }
  hutch_error_clear (err);
  if (hutch_store_open (root, &s, err) < 0)
    return -1;
  /* What a killed hutch left that only the user namespace can delete.  */
  left = hutch_store_leftovers (s);
  for (i = 0; left && left[i]; i++)
    {
      hutch_error_t e = HUTCH_ERROR_INIT;
      if (hutch_userns_remove (left[i], &e) < 0)
        hutch_log (HUTCH_LOG_WARNING, "%s", e.msg);
      hutch_error_clear (&e);
    }
  *ret = s;
  return 0;
}

/* ---- digests of layers ------------------------------------------------ */

/* The diff_id of a layer blob: the digest of its uncompressed tar.
   libarchive's "raw" format hands out the decompressed stream as is.  */
static int
layer_diff_id (int fd, char ret[HUTCH_DIGEST_BUF_LEN], const char **ret_media_type,
               hutch_error_t *err)
{
  _cleanup_sha256_ struct hutch_sha256 *h = NULL;
  struct archive *a = archive_read_new ();
  struct archive_entry *entry;
  char buf[1 << 16];
  la_ssize_t n;
  int r = -1;

  if (lseek (fd, 0, SEEK_SET) < 0)
    return hutch_error_set (err, errno, "rewind the layer");
  if (hutch_sha256_new (&h, err) < 0 || hutch_archive_filters (a, false, err) < 0)
    goto out;
  archive_read_support_format_raw (a);
  if (archive_read_open_fd (a, fd, 1 << 16) != ARCHIVE_OK
      || archive_read_next_header (a, &entry) != ARCHIVE_OK)
    {
      hutch_error_set (err, 0, "the layer cannot be read: %s", archive_error_string (a));
      goto out;
    }
  while ((n = archive_read_data (a, buf, sizeof buf)) > 0)
    if (hutch_sha256_update (h, buf, (size_t)n, err) < 0)
      goto out;
  if (n < 0)
    {
      hutch_error_set (err, 0, "the layer is damaged or truncated: %s", archive_error_string (a));
      goto out;
    }
  if (ret_media_type)
    switch (archive_filter_code (a, 0))
      {
      case ARCHIVE_FILTER_GZIP:
        *ret_media_type = HUTCH_MT_OCI_LAYER_GZIP;
        break;
      case ARCHIVE_FILTER_ZSTD:
        *ret_media_type = HUTCH_MT_OCI_LAYER_ZSTD;
        break;
      case ARCHIVE_FILTER_NONE:
        *ret_media_type = HUTCH_MT_OCI_LAYER;
        break;
      default:
        hutch_error_set (err, 0, "the layer is compressed with %s; use gzip, zstd or none",
                         archive_filter_name (a, 0));
        goto out;
      }
  if (hutch_sha256_final (h, ret, err) < 0)
    goto out;
  r = 0;
out:
  archive_read_free (a);
  return r;
}

/* After a failed import or load: the blobs it put into the store belong to
   no image.  Remove every such blob now, if no other hutch uses the store
   (then none can have blobs in flight); otherwise `image prune` will.  */
void
hutch_image_drop_orphan_blobs (struct hutch_store *s)
{
  hutch_error_t e = HUTCH_ERROR_INIT;
  size_t removed = 0;

  if (hutch_store_lock_exclusive (s, false, &e) == 0)
    {
      hutch_store_remove_unused_blobs (s, &removed, &e);
      hutch_error_clear (&e);
      hutch_store_unlock_exclusive (s, &e);
    }
  hutch_error_clear (&e);
}

int
hutch_image_config (struct hutch_store *s, const struct hutch_image *img,
                    struct hutch_image_config *ret, hutch_error_t *err)
{
  _cleanup_free_ char *path = hutch_store_blob_path (s, img->config_digest), *text = NULL;
  size_t len;

  /* Read without hashing again: the digest was verified when the blob
     entered the store, and hashing here would load libcrypto into every
     `hutch run IMAGE` (hutch_store_read_blob is for blobs from outside).  */
  if (hutch_read_file (path, 16 << 20, &text, &len, err) < 0)
    return hutch_error_prefix (err, "the config of image %s", img->id);
  return hutch_image_config_parse (text, len, ret, err);
}

/* ---- putting an image together ---------------------------------------- */

int
hutch_image_put_json (struct hutch_store *s, json_t *doc, char **ret_digest, int64_t *ret_size,
                      hutch_error_t *err)
{
  struct hutch_blob_writer *w;
  _cleanup_free_ char *text = json_dumps (doc, JSON_COMPACT);
  size_t len;

  if (text == NULL)
    return hutch_error_set (err, ENOMEM, "encode JSON");
  len = strlen (text);
  if (hutch_store_blob_begin (s, NULL, &w, err) < 0)
    return -1;
  if (hutch_blob_writer_write (w, text, len, err) < 0)
    {
      hutch_blob_writer_abort (w);
      return -1;
    }
  if (ret_size)
    *ret_size = (int64_t)len;
  return hutch_blob_writer_commit (w, ret_digest, err);
}

static json_t *
descriptor_json (const char *media_type, const char *digest, int64_t size)
{
  return json_pack ("{s:s, s:s, s:I}", "mediaType", media_type, "digest", digest, "size",
                    (json_int_t)size);
}

/* The tarball of an import into the store as a blob: from FD, read once
   (standard input cannot be read twice), then its diff_id and compression
   from the stored copy.  */
static int
import_layer (struct hutch_store *s, int fd, const char *shown, struct hutch_store_layer *ret,
              char ret_diff_id[HUTCH_DIGEST_BUF_LEN], hutch_error_t *err)
{
  _cleanup_free_ char *path = NULL;
  _cleanup_close_ int blobfd = -1;
  const char *media_type = NULL;
  struct stat st;

  if (hutch_store_put_blob (s, fd, NULL, &ret->digest, err) < 0)
    return hutch_error_prefix (err, "%s", shown);
  path = hutch_store_blob_path (s, ret->digest);
  blobfd = open (path, O_RDONLY | O_CLOEXEC);
  if (blobfd < 0 || fstat (blobfd, &st) < 0)
    return hutch_error_set (err, errno, "read `%s`", path);
  if (st.st_size == 0)
    return hutch_error_set (err, 0, "%s is empty; give a tar archive of a root filesystem", shown);
  if (layer_diff_id (blobfd, ret_diff_id, &media_type, err) < 0)
    return hutch_error_prefix (err, "%s", shown);
  ret->diff_id = ret_diff_id;
  ret->media_type = (char *)media_type;
  ret->size = st.st_size;
  return 0;
}

/* The config of an import: this machine's platform, the time, PATH, and
   what CONFIG (the "config" object, taken) says.  */
static json_t *
import_config (json_t *config, const char *created, const char *diff_id)
{
  const char *os, *arch, *variant;
  json_t *cfg;

  hutch_host_platform (&os, &arch, &variant);
  cfg = json_pack ("{s:s, s:s, s:s, s:o, s:{s:s, s:[s]}, s:[{s:s, s:s}]}", "created", created,
                   "architecture", arch, "os", os, "config", config, "rootfs", "type", "layers",
                   "diff_ids", diff_id, "history", "created", created, "created_by",
                   "hutch import");
  if (variant)
    json_object_set_new (cfg, "variant", json_string (variant));
  return cfg;
}

/* FD of the tarball, "-" being standard input (a copy, so that the
   cleanup does not close fd 0).  */
static int
open_tarball (const char *tarball, hutch_error_t *err)
{
  int fd;

  if (strcmp (tarball, "-") != 0)
    {
      fd = open (tarball, O_RDONLY | O_CLOEXEC);
      return fd < 0 ? hutch_error_set (err, errno, "open `%s`", tarball) : fd;
    }
  if (isatty (STDIN_FILENO))
    return hutch_error_set (err, 0,
                            "the tarball is to come from standard input, which is a terminal; "
                            "pipe it in, as in `tar -C DIR -c . | hutch import - NAME`");
  fd = fcntl (STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
  return fd < 0 ? hutch_error_set (err, errno, "standard input") : fd;
}

static int
import_image (struct hutch_store *s, const char *tarball, const char *name, char *const *changes,
              char **ret_id, hutch_error_t *err)
{
  _cleanup_free_ char *config = NULL, *manifest = NULL, *created = hutch_now_rfc3339 ();
  _cleanup_free_ char *full = NULL, *shown = NULL;
  _cleanup_close_ int fd = -1;
  char diff_id[HUTCH_DIGEST_BUF_LEN];
  struct hutch_store_layer layer = { 0 };
  struct hutch_image img;
  char *names[2] = { NULL, NULL };
  json_t *cfg, *man;
  int64_t csize = 0;
  int r;

  if (hutch_reference_normalize (name, &full, err) < 0)
    return -1;
  /* The changes first: a bad one costs no read of the tarball.  */
  cfg = json_pack ("{s:[s]}", "Env",
                   "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  if (hutch_image_apply_changes (cfg, changes, err) < 0)
    {
      json_decref (cfg);
      return -1;
    }
  shown = strcmp (tarball, "-") == 0 ? hutch_xstrdup ("standard input")
                                     : hutch_xasprintf ("`%s`", tarball);
  fd = open_tarball (tarball, err);
  if (fd < 0 || import_layer (s, fd, shown, &layer, diff_id, err) < 0)
    {
      json_decref (cfg);
      free (layer.digest);
      return -1;
    }
  cfg = import_config (cfg, created, diff_id);
  r = hutch_image_put_json (s, cfg, &config, &csize, err);
  json_decref (cfg);
  if (r == 0)
    {
      man = json_pack ("{s:i, s:s, s:o, s:[o]}", "schemaVersion", 2, "mediaType",
                       HUTCH_MT_OCI_MANIFEST, "config",
                       descriptor_json (HUTCH_MT_OCI_CONFIG, config, csize), "layers",
                       descriptor_json (layer.media_type, layer.digest, layer.size));
      r = hutch_image_put_json (s, man, &manifest, NULL, err);
      json_decref (man);
    }
  memset (&img, 0, sizeof img);
  names[0] = full;
  img.id = img.config_digest = config;
  img.manifest_digest = manifest;
  img.names = names;
  img.layers = &layer;
  img.n_layers = 1;
  img.created = created;
  if (r == 0 && hutch_image_unpack_layers (s, &img, err) == 0
      && hutch_store_add_image (s, &img, err) == 0)
    {
      if (ret_id)
        *ret_id = hutch_xstrdup (config);
    }
  else
    r = -1;
  free (layer.digest);
  return r;
}

/* ---- load ------------------------------------------------------------- */

/* An archive entry's name, normalised and checked by the one name cleaner
   (base/walk.c): relative, no "..", a sane length.  *RET is "" for the
   root.  The files are the archive's own blobs and JSON, written with the
   user's ids, but a hostile name must still not leave the directory.  */
static int
clean_entry_name (const char *name, char **ret, hutch_error_t *err)
{
  _cleanup_free_ char *s = NULL;

  /* Layers may have names up to PATH_MAX; the manifest and blob names of
     an image archive are short, and every entry's parents are resolved
     from the top (quadratic in the depth): 1024 is plenty.  */
  if (strlen (name) > 1024)
    {
      s = hutch_walk_shown (name);
      return hutch_error_set (err, 0, "the archive has an entry with too long a name: `%.64s...`",
                              s);
    }
  switch (hutch_walk_clean_name (name, ret, NULL))
    {
    case HUTCH_WALK_NAME_OK:
      return 0;
    case HUTCH_WALK_NAME_DOTDOT:
      s = hutch_walk_shown (name);
      return hutch_error_set (err, 0, "the archive has an entry with `..` in its name: `%s`", s);
    default:
      s = hutch_walk_shown (name);
      return hutch_error_set (err, 0, "the archive has an entry with a bad name: `%s`", s);
    }
}

/* Open a file of the extracted archive for reading: links are followed,
   but only beneath it (docker save links repeated layers).  */
static int
open_beneath (int dirfd, const char *path)
{
  return hutch_walk_open_beneath (dirfd, path, O_RDONLY, 0);
}

/* The archive's directories are its own: a link on the way to an entry
   was planted by an earlier entry, and leads nowhere an entry belongs.  */
static int
archive_dir_error (void *data, const char *prefix, int errnum, hutch_error_t *err)
{
  const char *path = data;
  _cleanup_free_ char *s = hutch_walk_shown (path), *p = hutch_walk_shown (prefix);

  return hutch_error_set (err, errnum == ELOOP || errnum == ENOTDIR || errnum == EXDEV ? 0 : errnum,
                          "the archive's entry `%s` goes through `%s`, which is not a "
                          "directory of the archive; the archive is damaged or hostile",
                          s, p);
}

/* The directory that holds the clean name PATH, made as needed one
   component at a time and never through a symlink
   (RESOLVE_NO_SYMLINKS): an earlier entry may have been a symlink out of
   the directory, and mkdirat or symlinkat would follow it.  Returns an
   O_PATH fd of the parent; *RET_BASE points into PATH at the last
   component.  */
static int
parent_nofollow (int dirfd, const char *path, const char **ret_base, hutch_error_t *err)
{
  static const struct hutch_walk_mkdir_ops ops
      = { .where = "the archive", .open_error = archive_dir_error };
  const char *slash = strrchr (path, '/');
  _cleanup_free_ char *parent = slash ? hutch_xstrndup (path, (size_t)(slash - path)) : NULL;
  int fd;

  fd = hutch_walk_mkdir (dirfd, parent ? parent : "", 0700, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS,
                         &ops, (void *)path, err);
  if (fd < 0)
    return fd;
  *ret_base = slash ? slash + 1 : path;
  return fd;
}

/* Copy the regular entry at the read position of A (of FILE) to the new
   file BASE in PARENT; CLEAN is its name for messages.  */
static int
extract_file (struct archive *a, const char *file, int parent, const char *base, const char *clean,
              hutch_error_t *err)
{
  _cleanup_close_ int fd
      = openat (parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  char buf[1 << 16];
  la_ssize_t n;
  if (fd < 0)
    return hutch_error_set (err, errno, "the archive's entry `%s`", clean);
  while ((n = archive_read_data (a, buf, sizeof buf)) > 0)
    if (hutch_write_all (fd, buf, (size_t)n) < 0)
      return hutch_error_set (err, errno, "write `%s`", clean);
  if (n < 0)
    return hutch_error_set (err, 0, "`%s` is damaged or truncated: %s", file,
                            archive_error_string (a));
  return 0;
}

/* Create the entry E of A (of FILE) under DIRFD: a directory, a symlink or
   a regular file; other types are skipped.  */
static int
extract_entry (struct archive *a, struct archive_entry *e, const char *file, int dirfd,
               hutch_error_t *err)
{
  const char *name = archive_entry_pathname (e);
  mode_t type = archive_entry_filetype (e);

  _cleanup_free_ char *clean = NULL;
  _cleanup_close_ int parent = -1;
  const char *base = NULL;

  if (name == NULL || clean_entry_name (name, &clean, err) < 0)
    return -1;
  if (*clean == '\0')
    return 0;
  parent = parent_nofollow (dirfd, clean, &base, err);
  if (parent < 0)
    return -1;
  if (type == AE_IFDIR)
    {
      if (mkdirat (parent, base, 0700) < 0 && errno != EEXIST)
        return hutch_error_set (err, errno, "create `%s`", clean);
    }
  else if (type == AE_IFLNK)
    {
      /* docker save links repeated layers to the first copy.  Only
         reading follows links, with RESOLVE_BENEATH: one that leads
         out is refused then.  */
      const char *target = archive_entry_symlink (e);
      if (target == NULL || symlinkat (target, parent, base) < 0)
        return hutch_error_set (err, errno, "create `%s`", clean);
    }
  else if (type == AE_IFREG)
    return extract_file (a, file, parent, base, clean, err);
  /* other entry types mean nothing in an image archive */
  return 0;
}

/* Extract the image archive FILE under DIRFD, every entry through the
   checks of extract_entry.  */
static int
extract_archive (const char *file, int dirfd, hutch_error_t *err)
{
  struct archive *a = archive_read_new ();
  struct archive_entry *e;
  int r = -1, rc;

  if (hutch_archive_filters (a, true, err) < 0)
    goto out;
  archive_read_support_format_tar (a);
  if (archive_read_open_filename (a, file, 1 << 16) != ARCHIVE_OK)
    {
      hutch_error_set (err, 0, "`%s` cannot be read: %s", file, archive_error_string (a));
      goto out;
    }
  while ((rc = archive_read_next_header (a, &e)) == ARCHIVE_OK)
    if (extract_entry (a, e, file, dirfd, err) < 0)
      goto out;
  if (rc != ARCHIVE_EOF)
    {
      hutch_error_set (err, 0, "`%s` is damaged or truncated: %s", file, archive_error_string (a));
      goto out;
    }
  r = 0;
out:
  archive_read_free (a);
  return r;
}

/* RESOLVE_BENEATH says EXDEV (or ELOOP) for a link that leaves: say what
   that means.  */
static int
beneath_error (const char *path, hutch_error_t *err)
{
  if (errno == EXDEV || errno == ELOOP)
    return hutch_error_set (err, 0,
                            "the archive's `%s` is a link that leads outside the archive; the "
                            "archive is damaged or hostile",
                            path);
  return hutch_error_set (err, errno, "the archive's `%s`", path);
}

static int
read_beneath (int dirfd, const char *path, char **ret, size_t *ret_len, hutch_error_t *err)
{
  _cleanup_close_ int fd = open_beneath (dirfd, path);
  if (fd < 0)
    return beneath_error (path, err);
  return hutch_read_fd (fd, 64 << 20, ret, ret_len, err);
}

/* Put the file PATH of the extracted archive into the store.  */
static int
put_file (struct hutch_store *s, int dirfd, const char *path, const char *expected,
          char **ret_digest, int64_t *ret_size, hutch_error_t *err)
{
  _cleanup_close_ int fd = open_beneath (dirfd, path);
  struct stat st;
  if (fd < 0)
    return beneath_error (path, err);
  if (fstat (fd, &st) < 0)
    return hutch_error_set (err, errno, "the archive's `%s`", path);
  if (ret_size)
    *ret_size = st.st_size;
  if (hutch_store_put_blob (s, fd, expected, ret_digest, err) < 0)
    return hutch_error_prefix (err, "the archive's `%s`", path);
  return 0;
}

/* Check a layer blob against the diff_id its config promises.  */
static int
check_diff_id (struct hutch_store *s, const char *blob, const char *diff_id,
               const char **ret_media_type, hutch_error_t *err)
{
  _cleanup_free_ char *path = hutch_store_blob_path (s, blob);
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);
  char got[HUTCH_DIGEST_BUF_LEN];

  if (fd < 0)
    return hutch_error_set (err, errno, "open layer %s", blob);
  if (layer_diff_id (fd, got, ret_media_type, err) < 0)
    return hutch_error_prefix (err, "layer %s", blob);
  if (strcmp (got, diff_id) != 0)
    return hutch_error_set (err, 0,
                            "layer %s does not match the image's config: its content is %s, "
                            "the config says %s; the archive is damaged",
                            blob, got, diff_id);
  return 0;
}

/* Finish an image whose blobs are in the store: check its layers against
   its config, unpack them, add it to the index.  */
static int
finish_image (struct hutch_store *s, struct hutch_image *img, char **lines_out, hutch_error_t *err)
{
  struct hutch_image_config cfg;
  size_t i, n;

  if (hutch_image_config (s, img, &cfg, err) < 0)
    return -1;
  n = hutch_strv_len (cfg.diff_ids);
  if (n != img->n_layers)
    {
      hutch_image_config_clear (&cfg);
      return hutch_error_set (err, 0,
                              "the image's config lists %zu layers but its manifest %zu; the "
                              "archive is damaged",
                              n, img->n_layers);
    }
  for (i = 0; i < n; i++)
    {
      const char *mt = NULL;
      free (img->layers[i].diff_id);
      img->layers[i].diff_id = hutch_xstrdup (cfg.diff_ids[i]);
      /* Checked even when the store has that layer: an archive could
         pair a known diff_id with another blob, which `save` would then
         hand on, and an unpack of it would poison the layer.  */
      if (check_diff_id (s, img->layers[i].digest, cfg.diff_ids[i], &mt, err) < 0)
        {
          hutch_image_config_clear (&cfg);
          return -1;
        }
    }
  img->created = cfg.created ? hutch_xstrdup (cfg.created) : NULL;
  hutch_image_config_clear (&cfg);
  if (hutch_image_unpack_layers (s, img, err) < 0)
    return -1;
  if (hutch_store_add_image (s, img, err) < 0)
    return -1;
  *lines_out = img->names && img->names[0] ? hutch_xasprintf ("Loaded image: %s", img->names[0])
                                           : hutch_xasprintf ("Loaded image ID: %s", img->id);
  return 0;
}

/* What load_* allocated in an image it builds (names and ids are
   borrowed).  */
static void
free_built_image (struct hutch_image *img)
{
  size_t i;
  for (i = 0; i < img->n_layers; i++)
    {
      free (img->layers[i].media_type);
      free (img->layers[i].digest);
      free (img->layers[i].diff_id);
    }
  free (img->layers);
  free (img->created);
}

static int
load_oci_manifest (struct hutch_store *s, int dirfd, const struct hutch_descriptor *d,
                   const char *name, char ***lines, hutch_error_t *err)
{
  _cleanup_free_ char *text = NULL, *path = NULL, *digest = NULL;
  struct hutch_manifest m;
  struct hutch_image img;
  const char *hex;
  size_t len, i;
  char *line = NULL;
  char *names[2] = { (char *)name, NULL };
  int r = -1;

  if (hutch_digest_parse (d->digest, &hex, err) < 0)
    return -1;
  path = hutch_xasprintf ("blobs/sha256/%s", hex);
  if (read_beneath (dirfd, path, &text, &len, err) < 0)
    return -1;
  if (hutch_manifest_parse (text, len, d->media_type, &m, err) < 0)
    return -1;
  if (m.kind == HUTCH_MANIFEST_INDEX)
    {
      const char *os, *arch, *variant;
      const struct hutch_descriptor *pick;
      hutch_host_platform (&os, &arch, &variant);
      r = hutch_manifest_select (&m, os, arch, variant, &pick, err);
      if (r == 0)
        r = load_oci_manifest (s, dirfd, pick, name, lines, err);
      hutch_manifest_clear (&m);
      return r;
    }
  if (put_file (s, dirfd, path, d->digest, &digest, NULL, err) < 0)
    goto out;
  memset (&img, 0, sizeof img);
  img.manifest_digest = digest;
  img.config_digest = img.id = m.config.digest;
  img.names = name ? names : NULL;
  {
    _cleanup_free_ char *cpath = NULL, *cdig = NULL;
    if (hutch_digest_parse (m.config.digest, &hex, err) < 0)
      goto out;
    cpath = hutch_xasprintf ("blobs/sha256/%s", hex);
    if (put_file (s, dirfd, cpath, m.config.digest, &cdig, NULL, err) < 0)
      goto out;
  }
  img.layers = hutch_xmalloc0 ((m.n_layers + 1) * sizeof *img.layers);
  img.n_layers = m.n_layers;
  for (i = 0; i < m.n_layers; i++)
    {
      _cleanup_free_ char *lpath = NULL;
      img.layers[i].media_type = hutch_xstrdup (m.layers[i].media_type);
      img.layers[i].size = m.layers[i].size;
      if (hutch_digest_parse (m.layers[i].digest, &hex, err) < 0)
        break;
      lpath = hutch_xasprintf ("blobs/sha256/%s", hex);
      if (hutch_store_has_blob (s, m.layers[i].digest))
        img.layers[i].digest = hutch_xstrdup (m.layers[i].digest);
      else if (put_file (s, dirfd, lpath, m.layers[i].digest, &img.layers[i].digest, NULL, err) < 0)
        break;
    }
  if (i == m.n_layers && finish_image (s, &img, &line, err) == 0)
    {
      hutch_strv_push (lines, line);
      r = 0;
    }
  free_built_image (&img);
out:
  hutch_manifest_clear (&m);
  return r;
}

static int
load_oci (struct hutch_store *s, int dirfd, char ***lines, hutch_error_t *err)
{
  _cleanup_free_ char *text = NULL;
  struct hutch_manifest idx;
  size_t len, i;
  int r = 0;

  if (read_beneath (dirfd, "index.json", &text, &len, err) < 0)
    return -1;
  if (hutch_manifest_parse (text, len, HUTCH_MT_OCI_INDEX, &idx, err) < 0)
    return hutch_error_prefix (err, "the archive's index.json");
  for (i = 0; i < idx.n_manifests && r == 0; i++)
    {
      _cleanup_free_ char *name = NULL;
      const char *ref = idx.manifests[i].ref_name;
      hutch_error_t e = HUTCH_ERROR_INIT;
      /* A full name ("docker.io/library/busybox:latest", or
         "busybox:latest") names the image; a bare tag ("latest") does
         not say which repository, and the image is loaded without a name.  */
      if (ref && strchr (ref, ':') == NULL && strchr (ref, '/') == NULL
          && strchr (ref, '@') == NULL)
        ref = NULL;
      if (ref && hutch_reference_normalize (ref, &name, &e) < 0)
        name = NULL;
      hutch_error_clear (&e);
      r = load_oci_manifest (s, dirfd, &idx.manifests[i], name, lines, err);
    }
  hutch_manifest_clear (&idx);
  return r;
}

/* The full names of a docker-archive entry's RepoTags; tags that do not
   parse are left out.  */
static char **
docker_names (json_t *tags)
{
  char **names = hutch_xmalloc0 (sizeof (char *));
  json_t *t;
  size_t k;

  json_array_foreach (tags, k, t)
  {
    char *full = NULL;
    hutch_error_t e = HUTCH_ERROR_INIT;
    if (json_is_string (t) && hutch_reference_normalize (json_string_value (t), &full, &e) == 0)
      hutch_strv_push (&names, full);
    hutch_error_clear (&e);
  }
  return names;
}

/* Put the layer file LP of the extracted archive into the store as L, and
   find its media type (*RET_MT) from its content, which docker-archive
   does not name.  */
static int
docker_layer (struct hutch_store *s, int dirfd, const char *lp, struct hutch_store_layer *l,
              const char **ret_mt, hutch_error_t *err)
{
  if (lp == NULL || put_file (s, dirfd, lp, NULL, &l->digest, &l->size, err) < 0)
    {
      if (lp == NULL)
        hutch_error_set (err, 0, "the archive's manifest.json names a layer that is not a string");
      return -1;
    }
  {
    _cleanup_free_ char *bp = hutch_store_blob_path (s, l->digest);
    _cleanup_close_ int fd = open (bp, O_RDONLY | O_CLOEXEC);
    char dd[HUTCH_DIGEST_BUF_LEN];
    if (fd < 0 || layer_diff_id (fd, dd, ret_mt, err) < 0)
      {
        if (fd < 0)
          hutch_error_set (err, errno, "open layer %s", l->digest);
        return -1;
      }
  }
  return 0;
}

/* Every layer of LAYERS (IMG->n_layers paths) into the store and into
   IMG, with its descriptor appended to MLAYERS.  */
static int
docker_layers (struct hutch_store *s, int dirfd, json_t *layers, struct hutch_image *img,
               json_t *mlayers, hutch_error_t *err)
{
  size_t k;

  for (k = 0; k < img->n_layers; k++)
    {
      const char *lp = json_string_value (json_array_get (layers, k));
      const char *mt = NULL;
      if (docker_layer (s, dirfd, lp, &img->layers[k], &mt, err) < 0)
        return -1;
      img->layers[k].media_type = hutch_xstrdup (mt);
      json_array_append_new (mlayers,
                             descriptor_json (mt, img->layers[k].digest, img->layers[k].size));
    }
  return 0;
}

/* Load the image of ENTRY, the Ith of the archive's manifest.json.  */
static int
load_docker_entry (struct hutch_store *s, int dirfd, json_t *entry, size_t i, char ***lines,
                   hutch_error_t *err)
{
  const char *config = json_string_value (json_object_get (entry, "Config"));
  json_t *tags = json_object_get (entry, "RepoTags"), *layers = json_object_get (entry, "Layers");
  _cleanup_strv_ char **names = NULL;
  _cleanup_free_ char *cdigest = NULL, *mdigest = NULL;
  struct hutch_image img;
  json_t *man, *mlayers;
  int64_t csize = 0;
  char *line = NULL;
  int bad = 0;

  if (config == NULL || !json_is_array (layers))
    return hutch_error_set (err, 0, "the archive's manifest.json entry %zu has no Config or Layers",
                            i);
  if (put_file (s, dirfd, config, NULL, &cdigest, &csize, err) < 0)
    return -1;
  names = docker_names (tags);
  memset (&img, 0, sizeof img);
  img.id = img.config_digest = cdigest;
  img.names = names;
  img.n_layers = json_array_size (layers);
  img.layers = hutch_xmalloc0 ((img.n_layers + 1) * sizeof *img.layers);
  mlayers = json_array ();
  if (docker_layers (s, dirfd, layers, &img, mlayers, err) < 0)
    bad = 1;
  if (!bad)
    {
      /* docker-archive has no manifest: make the OCI one `save` needs.  */
      man = json_pack ("{s:i, s:s, s:o, s:o}", "schemaVersion", 2, "mediaType",
                       HUTCH_MT_OCI_MANIFEST, "config",
                       descriptor_json (HUTCH_MT_OCI_CONFIG, cdigest, csize), "layers", mlayers);
      mlayers = NULL;
      if (hutch_image_put_json (s, man, &mdigest, NULL, err) < 0)
        bad = 1;
      json_decref (man);
      img.manifest_digest = mdigest;
    }
  json_decref (mlayers);
  if (!bad && finish_image (s, &img, &line, err) == 0)
    hutch_strv_push (lines, line);
  else
    bad = 1;
  free_built_image (&img);
  return bad ? -1 : 0;
}

static int
load_docker (struct hutch_store *s, int dirfd, char ***lines, hutch_error_t *err)
{
  _cleanup_free_ char *text = NULL;
  json_error_t jerr;
  json_t *root, *entry;
  size_t len, i;
  int r = -1;

  if (read_beneath (dirfd, "manifest.json", &text, &len, err) < 0)
    return -1;
  root = json_loadb (text, len, 0, &jerr);
  if (!json_is_array (root))
    {
      json_decref (root);
      return hutch_error_set (err, 0,
                              "the archive's manifest.json is not a docker-archive manifest");
    }
  json_array_foreach (root, i, entry)
  {
    if (load_docker_entry (s, dirfd, entry, i, lines, err) < 0)
      goto out;
  }
  r = 0;
out:
  json_decref (root);
  return r;
}

static int
load_images (struct hutch_store *s, const char *file, char ***ret_lines, hutch_error_t *err)
{
  _cleanup_free_ char *tmp = NULL, *base = NULL;
  _cleanup_close_ int dirfd = -1;
  char **lines = hutch_xmalloc0 (sizeof (char *));
  struct stat st;
  int r = -1;

  if (stat (file, &st) < 0)
    {
      hutch_strv_free (lines);
      return hutch_error_set (err, errno, "`%s`", file);
    }
  base = hutch_xasprintf ("%s/tmp/load-%d-XXXXXX", hutch_store_root (s), (int)getpid ());
  tmp = mkdtemp (base) ? hutch_xstrdup (base) : NULL;
  if (tmp == NULL)
    {
      hutch_strv_free (lines);
      return hutch_error_set (err, errno, "create a temporary directory in the store");
    }
  dirfd = open (tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    hutch_error_set (err, errno, "open `%s`", tmp);
  else if (extract_archive (file, dirfd, err) == 0)
    {
      if (faccessat (dirfd, "index.json", F_OK, 0) == 0)
        r = load_oci (s, dirfd, &lines, err);
      else if (faccessat (dirfd, "manifest.json", F_OK, 0) == 0)
        r = load_docker (s, dirfd, &lines, err);
      else
        hutch_error_set (err, 0,
                         "`%s` is neither an oci-archive (no index.json) nor a docker-archive "
                         "(no manifest.json); for a plain root filesystem tarball use `hutch "
                         "import`",
                         file);
    }
  if (r == 0 && lines[0] == NULL)
    r = hutch_error_set (err, 0, "`%s` holds no image", file);
  if (r < 0)
    hutch_error_prefix (err, "load `%s`", file);
  {
    hutch_error_t e = HUTCH_ERROR_INIT;
    const char *slash = strrchr (tmp, '/');
    _cleanup_close_ int parent = -1;
    _cleanup_free_ char *pdir = hutch_xstrndup (tmp, (size_t)(slash - tmp));
    parent = open (pdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (parent >= 0)
      hutch_walk_remove_tree (parent, slash + 1, &e);
    hutch_error_clear (&e);
  }
  /* What loaded before a failure stays loaded: say so, too.  */
  *ret_lines = lines;
  return r < 0 ? -1 : 0;
}

/* ---- containers' own directories -------------------------------------- */

/* ROOT/containers/ID holds a running container's upper and work
   directories.  Its `lock` is flock'ed by the hutch that runs it: a
   directory whose lock is free belongs to a hutch that is gone.  */
int
hutch_container_dir_create (struct hutch_store *s, const char *image_id, const char *id,
                            char **ret_dir, int *ret_lockfd, hutch_error_t *err)
{
  _cleanup_free_ char *base = hutch_xasprintf ("%s/containers", hutch_store_root (s));
  _cleanup_free_ char *dir = NULL, *lock = NULL;
  char rid[17];
  int fd, i;
  static const char *const subdirs[] = { "upper", "work", "merged" };

  if (mkdir (base, 0700) < 0 && errno != EEXIST)
    return hutch_error_set (err, errno, "create `%s`", base);
  if (id == NULL)
    {
      if (hutch_random_hex (rid, 16) < 0)
        return hutch_error_set (err, errno, "getrandom");
      id = rid;
    }
  dir = hutch_xasprintf ("%s/%s", base, id);
  /* A container's record may have made it (hutch create), and a start
     again finds it with its upper layer.  */
  if (mkdir (dir, 0700) < 0 && (errno != EEXIST || id == rid))
    return hutch_error_set (err, errno, "create `%s`", dir);
  lock = hutch_xasprintf ("%s/lock", dir);
  fd = open (lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0 || flock (fd, LOCK_EX | LOCK_NB) < 0)
    {
      int e = errno;
      if (fd >= 0)
        close (fd);
      if (e == EWOULDBLOCK)
        return hutch_error_set (err, 0, "container %.12s is running already", id);
      return hutch_error_set (err, e, "lock `%s`", lock);
    }
  if (image_id && (ftruncate (fd, 0) < 0 || hutch_write_all (fd, image_id, strlen (image_id)) < 0))
    {
      close (fd);
      return hutch_error_set (err, errno, "write `%s`", lock);
    }
  for (i = 0; i < 3; i++)
    {
      _cleanup_free_ char *p = hutch_xasprintf ("%s/%s", dir, subdirs[i]);
      if (mkdir (p, 0755) < 0 && errno != EEXIST)
        {
          close (fd);
          return hutch_error_set (err, errno, "create `%s`", p);
        }
    }
  *ret_dir = HUTCH_STEAL_PTR (dir);
  *ret_lockfd = fd;
  return 0;
}

int
hutch_container_dir_remove (const char *dir, int lockfd, hutch_error_t *err)
{
  struct stat st;
  int r = 0;
  /* The container's watchdog removes it (src/child.c); what is left after
     a failed start holds files of subordinate ids: remove them from a
     user namespace.  */
  if (lstat (dir, &st) == 0)
    r = hutch_userns_remove (dir, err);
  if (lockfd >= 0)
    close (lockfd);
  return r;
}

/* Image ids of running containers (their lock is held), and with
   RECORDS of every container that has a record (front/containers.h: a
   stopped one starts again from its image); with CLEAN, remove the
   directories of containers without a record whose hutch is gone.  */
bool
hutch_container_dir_has_record (const char *dir)
{
  _cleanup_free_ char *rec = hutch_xasprintf ("%s/container.json", dir);
  return access (rec, F_OK) == 0;
}

static char **
container_images (struct hutch_store *s, bool records, bool clean)
{
  _cleanup_free_ char *base = hutch_xasprintf ("%s/containers", hutch_store_root (s));
  char **ids = hutch_xmalloc0 (sizeof (char *));
  DIR *d = opendir (base);
  struct dirent *de;

  if (d == NULL)
    return ids;
  while ((de = readdir (d)) != NULL)
    {
      _cleanup_free_ char *dir = NULL, *lock = NULL, *text = NULL;
      hutch_error_t e = HUTCH_ERROR_INIT;
      int fd;

      if (de->d_name[0] == '.')
        continue;
      dir = hutch_xasprintf ("%s/%s", base, de->d_name);
      lock = hutch_xasprintf ("%s/lock", dir);
      fd = open (lock, O_RDONLY | O_CLOEXEC);
      if (hutch_container_dir_has_record (dir))
        {
          /* A container's record: hutch rm removes it, never a prune.  */
          bool held = fd >= 0 && flock (fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
          if (fd >= 0 && (held || records) && hutch_read_fd (fd, 4096, &text, NULL, &e) == 0
              && *text)
            hutch_strv_push (&ids, HUTCH_STEAL_PTR (text));
        }
      else if (fd >= 0 && flock (fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK)
        {
          if (hutch_read_fd (fd, 4096, &text, NULL, &e) == 0 && *text)
            hutch_strv_push (&ids, HUTCH_STEAL_PTR (text));
        }
      else if (clean)
        {
          /* A directory without its lock file may be one that another
             hutch is creating right now: leave young ones alone.  */
          struct stat st;
          if (fd >= 0 || (stat (dir, &st) == 0 && time (NULL) - st.st_mtime > 60))
            hutch_userns_remove (dir, &e);
        }
      hutch_error_clear (&e);
      if (fd >= 0)
        close (fd);
    }
  closedir (d);
  return ids;
}

/* The old copies of layers that were unpacked again go once no container
   runs: one started before may still be reading them.  Not per layer:
   running containers are few, and unpacking again is rare.  */
void
hutch_image_drop_superseded (struct hutch_store *s)
{
  _cleanup_strv_ char **running = container_images (s, false, false), **old = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;
  size_t i;

  if (running[0] == NULL && hutch_store_superseded (s, &old, &e) == 0)
    for (i = 0; old[i]; i++)
      {
        if (hutch_userns_remove (old[i], &e) < 0)
          hutch_log (HUTCH_LOG_WARNING,
                     "cannot remove the old copy of a layer that was unpacked again: %s; when "
                     "its files belong to subordinate ids that are no longer yours, ask an "
                     "administrator to run `rm -rf %s`",
                     e.msg, old[i]);
        hutch_error_clear (&e);
      }
  hutch_error_clear (&e);
}

/* ---- removal ---------------------------------------------------------- */

static int
collect_garbage (struct hutch_store *s, char ***lines, hutch_error_t *err)
{
  _cleanup_strv_ char **unused = NULL, **running = NULL;
  size_t i, removed = 0;
  int r = 0;

  if (hutch_store_lock_exclusive (s, true, err) < 0)
    return -1;
  /* Only now: a container that got ready while we waited for the lock
     must be seen.  */
  running = container_images (s, true, true);
  if (hutch_store_unused_layers (s, &unused, err) < 0)
    {
      r = -1;
      goto out;
    }
  for (i = 0; unused && unused[i]; i++)
    {
      _cleanup_free_ char *path = NULL;
      /* A running container of a removed image (rmi -f) still reads its
         layers: its own record names the image, so keep every layer while
         any container runs an image no longer in the index.  */
      if (running[0] != NULL)
        {
          struct hutch_image img;
          size_t k;
          bool keep = false;
          for (k = 0; running[k]; k++)
            {
              hutch_error_t e = HUTCH_ERROR_INIT;
              if (hutch_store_find_image (s, running[k], &img, &e) < 0)
                keep = true;
              else
                hutch_image_clear (&img);
              hutch_error_clear (&e);
            }
          if (keep)
            break;
        }
      if (hutch_store_detach_layer (s, unused[i], &path, err) < 0
          || hutch_userns_remove (path, err) < 0)
        {
          r = -1;
          goto out;
        }
      hutch_strv_push (lines, hutch_xasprintf ("Deleted layer: %s", unused[i]));
    }
  if (hutch_store_remove_unused_blobs (s, &removed, err) < 0)
    r = -1;
  hutch_image_drop_superseded (s);
out:
  {
    hutch_error_t e = HUTCH_ERROR_INIT;
    hutch_store_unlock_exclusive (s, &e);
    hutch_error_clear (&e);
  }
  return r;
}

int
hutch_image_remove (struct hutch_store *s, const char *image, bool force, char ***ret_lines,
                    hutch_error_t *err)
{
  _cleanup_strv_ char **running = container_images (s, true, false);
  char **lines = hutch_xmalloc0 (sizeof (char *));
  struct hutch_image img, removed;
  _cleanup_free_ char *full = NULL;
  size_t k;
  int r;

  if (hutch_store_find_image (s, image, &img, err) < 0)
    {
      hutch_strv_free (lines);
      if (err->errnum == ENOENT)
        return hutch_error_set_exit (err, HUTCH_EXIT_ERROR, ENOENT,
                                     "image `%s` is not in the store; "
                                     "`hutch images` lists what is",
                                     image);
      return -1;
    }
  /* A name of an image that has others only loses that name.  */
  {
    hutch_error_t e = HUTCH_ERROR_INIT;
    if (hutch_reference_normalize (image, &full, &e) == 0 && hutch_strv_len (img.names) > 1)
      for (k = 0; img.names[k]; k++)
        if (strcmp (img.names[k], full) == 0)
          {
            hutch_image_clear (&img);
            if (hutch_store_untag (s, full, err) < 0)
              {
                hutch_strv_free (lines);
                return -1;
              }
            hutch_strv_push (&lines, hutch_xasprintf ("Untagged: %s", full));
            *ret_lines = lines;
            return 0;
          }
    hutch_error_clear (&e);
  }
  for (k = 0; running[k]; k++)
    if (strcmp (running[k], img.id) == 0 && !force)
      {
        hutch_error_set (err, 0,
                         "image `%s` is used by a container (`hutch ps -a --filter "
                         "ancestor=%s` lists it); remove the container first with `hutch rm`, "
                         "or use -f",
                         image, image);
        hutch_image_clear (&img);
        hutch_strv_free (lines);
        return -1;
      }
  if (hutch_store_remove_image (s, img.id, &removed, err) < 0)
    {
      hutch_image_clear (&img);
      hutch_strv_free (lines);
      return -1;
    }
  for (k = 0; removed.names && removed.names[k]; k++)
    hutch_strv_push (&lines, hutch_xasprintf ("Untagged: %s", removed.names[k]));
  hutch_strv_push (&lines, hutch_xasprintf ("Deleted: %s", removed.id));
  hutch_image_clear (&removed);
  hutch_image_clear (&img);
  r = collect_garbage (s, &lines, err);
  /* What loaded before a failure stays loaded: say so, too.  */
  *ret_lines = lines;
  return r < 0 ? -1 : 0;
}

int
hutch_image_prune (struct hutch_store *s, char ***ret_lines, hutch_error_t *err)
{
  char **lines = hutch_xmalloc0 (sizeof (char *));
  if (collect_garbage (s, &lines, err) < 0)
    {
      hutch_strv_free (lines);
      return -1;
    }
  *ret_lines = lines;
  return 0;
}

/* ---- what fails leaves no blobs --------------------------------------- */

int
hutch_image_import (struct hutch_store *s, const char *tarball, const char *name,
                    char *const *changes, char **ret_id, hutch_error_t *err)
{
  if (import_image (s, tarball, name, changes, ret_id, err) == 0)
    return 0;
  hutch_image_drop_orphan_blobs (s);
  return -1;
}

int
hutch_image_load (struct hutch_store *s, const char *file, char ***ret_lines, hutch_error_t *err)
{
  if (load_images (s, file, ret_lines, err) == 0)
    return 0;
  hutch_image_drop_orphan_blobs (s);
  return -1;
}
