/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* --output: the built image written somewhere besides the store, as
   BuildKit's exporters write it: type=local (its files into a
   directory, owned by the user), type=tar (its files as one tar, with
   the image's owners), type=oci-archive (the image as `hutch save`
   writes it).  */

#include "build/build-private.h"
#include "base/util.h"
#include "base/walk.h"
#include "image/image.h"
#include "image/layerwrite.h"
#include "image/unpack.h"
#include "runtime/nsexec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum out_type
{
  OUT_LOCAL,
  OUT_TAR,
  OUT_OCI,
};

/* type=TYPE,dest=PATH (docker's), or a bare PATH (type=local).  */
static int
output_parse (const char *spec, enum out_type *ret_type, char **ret_dest, hutch_error_t *err)
{
  _cleanup_free_ char *copy = hutch_xstrdup (spec), *type = NULL;
  char *save = NULL, *tok;

  *ret_dest = NULL;
  if (strchr (spec, '=') == NULL)
    {
      *ret_type = OUT_LOCAL;
      *ret_dest = hutch_xstrdup (spec);
      return 0;
    }
  for (tok = strtok_r (copy, ",", &save); tok; tok = strtok_r (NULL, ",", &save))
    {
      if (hutch_str_has_prefix (tok, "type="))
        {
          free (type);
          type = hutch_xstrdup (tok + 5);
        }
      else if (hutch_str_has_prefix (tok, "dest="))
        {
          free (*ret_dest);
          *ret_dest = hutch_xstrdup (tok + 5);
        }
      else
        {
          free (*ret_dest);
          *ret_dest = NULL;
          return hutch_error_set (err, 0, "--output `%s`: unknown field `%s` (type=T,dest=PATH)",
                                  spec, tok);
        }
    }
  if (type == NULL || strcmp (type, "local") == 0)
    *ret_type = OUT_LOCAL;
  else if (strcmp (type, "tar") == 0)
    *ret_type = OUT_TAR;
  else if (strcmp (type, "oci-archive") == 0 || strcmp (type, "oci") == 0)
    *ret_type = OUT_OCI;
  else
    {
      free (*ret_dest);
      *ret_dest = NULL;
      return hutch_error_set (err, 0,
                              "--output `%s`: type is local, tar or oci-archive (images go to "
                              "the store anyway)",
                              spec);
    }
  if (*ret_dest == NULL || **ret_dest == '\0')
    {
      free (*ret_dest);
      *ret_dest = NULL;
      return hutch_error_set (err, 0, "--output `%s`: no dest=PATH", spec);
    }
  return 0;
}

struct tar_job
{
  const char *tree;
  int fd;
};

static int
tar_one (void *data, const char *rel, int dirfd, const char *name, const struct stat *st,
         hutch_error_t *err)
{
  return hutch_layer_writer_add (data, dirfd, name, st, rel, NULL, err);
}

static int
tar_fn (void *arg, char *out, size_t out_len, hutch_error_t *err)
{
  struct tar_job *j = arg;
  struct hutch_layer_write_opts wo = { .gzip = false, .clamp_time = -1 };
  struct hutch_layer_writer *w = NULL;
  struct hutch_layer_digests d;
  _cleanup_close_ int fd = open (j->tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct stat sb;

  (void)out;
  (void)out_len;
  if (fd < 0 || fstat (fd, &sb) < 0)
    return hutch_error_set (err, errno, "open `%s`", j->tree);
  if (hutch_layer_writer_open (j->fd, &wo, &w, err) < 0)
    return -1;
  if (build_walk_tree (fd, tar_one, w, err) < 0)
    {
      hutch_layer_writer_abort (w);
      return -1;
    }
  return hutch_layer_writer_finish (w, &d, err);
}

static char **
layers_bottom_first (struct build *b, const struct bimage *img)
{
  _cleanup_strv_ char **top = bimage_layer_dirs (b, img);
  char **out = hutch_xmalloc0 (sizeof (char *));
  size_t n = hutch_strv_len (top);

  while (n-- > 0)
    hutch_strv_push (&out, hutch_xstrdup (top[n]));
  return out;
}

/* Whether the directory DIR holds nothing.  */
static int
dir_empty (const char *dir, bool *ret, hutch_error_t *err)
{
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d;
  struct dirent *de;

  *ret = true;
  if (fd < 0)
    return hutch_error_set (err, errno, "open `%s`", dir);
  d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return hutch_error_set (err, errno, "read `%s`", dir);
    }
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      {
        *ret = false;
        break;
      }
  closedir (d);
  return 0;
}

/* Files the user now owns must not keep the image's setuid and setgid
   bits: anyone who can reach the directory could run them as the user.  */
static int
drop_setid (void *data, const struct hutch_walk_entry *e, hutch_error_t *err)
{
  (void)data;
  (void)err;
  if (S_ISREG (e->st->st_mode) && (e->st->st_mode & (S_ISUID | S_ISGID)))
    fchmodat (e->dirfd, e->name, e->st->st_mode & 01777, 0);
  return HUTCH_WALK_ENTER;
}

/* The image's files into DEST, a new or empty directory (a layer's
   whiteouts would otherwise delete the user's own files there), owned
   by the user.  */
static int
write_local (struct build *b, const struct bimage *img, const char *dest, hutch_error_t *err)
{
  _cleanup_strv_ char **layers = layers_bottom_first (b, img);
  _cleanup_close_ int fd = -1;
  bool empty;

  if (hutch_walk_mkdir_p (dest, 0755, err) < 0)
    return hutch_error_prefix (err, "--output");
  if (dir_empty (dest, &empty, err) < 0)
    return hutch_error_prefix (err, "--output");
  if (!empty)
    return hutch_error_set (err, 0,
                            "--output type=local,dest=%s: the directory is not empty; give a new "
                            "or empty one (the image's files would replace and delete what is "
                            "there)",
                            dest);
  if (hutch_layers_flatten_dirs (layers, dest, false, err) < 0)
    return hutch_error_prefix (err, "--output type=local,dest=%s", dest);
  fd = open (dest, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || hutch_walk_sorted (fd, drop_setid, NULL, err) < 0)
    return hutch_error_prefix (err, "--output type=local,dest=%s", dest);
  return 0;
}

static int
write_tar (struct build *b, const struct bimage *img, const char *dest, hutch_error_t *err)
{
  _cleanup_strv_ char **layers = layers_bottom_first (b, img);
  _cleanup_free_ char *tmp = NULL, *part = NULL;
  struct tar_job t = { NULL, -1 };
  struct hutch_userns_job *job = NULL;
  char hex[17];
  int r;

  if (hutch_random_hex (hex, 16) < 0)
    return hutch_error_set (err, errno, "a random name");
  hex[16] = '\0';
  tmp = hutch_xasprintf ("%s/tmp/output-%d-%s", b->store_root, (int)getpid (), hex);
  part = hutch_xasprintf ("%s.%s.tmp", dest, hex);
  if (mkdir (tmp, 0700) < 0)
    return hutch_error_set (err, errno, "create `%s`", tmp);
  t.tree = tmp;
  t.fd = open (part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (t.fd < 0)
    r = hutch_error_set (err, errno, "--output: create `%s`", part);
  else if ((r = hutch_layers_flatten_dirs (layers, tmp, true, err)) == 0
           && (r = hutch_userns_start (tar_fn, &t, &t.fd, 1, &job, err)) == 0)
    r = hutch_userns_finish (job, NULL, 0, err);
  if (t.fd >= 0 && close (t.fd) < 0 && r == 0)
    r = hutch_error_set (err, errno, "--output: write `%s`", part);
  if (r == 0 && rename (part, dest) < 0)
    r = hutch_error_set (err, errno, "--output: rename `%s`", dest);
  if (r < 0)
    unlink (part);
  hutch_userns_remove (tmp, NULL);
  return r < 0 ? hutch_error_prefix (err, "--output type=tar,dest=%s", dest) : 0;
}

int
build_outputs (struct build *b, const struct bimage *img, const struct hutch_image *rec,
               hutch_error_t *err)
{
  size_t i;

  if (b->o->outputs && bimage_unpack (b, img, err) < 0)
    return -1;
  for (i = 0; b->o->outputs && b->o->outputs[i]; i++)
    {
      _cleanup_free_ char *dest = NULL;
      enum out_type type;
      int r;

      if (output_parse (b->o->outputs[i], &type, &dest, err) < 0)
        return -1;
      switch (type)
        {
        case OUT_LOCAL:
          r = write_local (b, img, dest, err);
          break;
        case OUT_TAR:
          r = write_tar (b, img, dest, err);
          break;
        case OUT_OCI:
        default:
          r = hutch_image_save_image (b->store, rec, rec->id, dest, false, err);
          if (r < 0)
            hutch_error_prefix (err, "--output type=oci-archive,dest=%s", dest);
          break;
        }
      if (r < 0)
        return -1;
    }
  return 0;
}

int
build_outputs_check (const struct hutch_build_opts *o, hutch_error_t *err)
{
  size_t i;

  for (i = 0; o->outputs && o->outputs[i]; i++)
    {
      _cleanup_free_ char *dest = NULL;
      enum out_type type;
      if (output_parse (o->outputs[i], &type, &dest, err) < 0)
        return -1;
    }
  return 0;
}
