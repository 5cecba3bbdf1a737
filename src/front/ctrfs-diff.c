/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* What a container's upper layer changed above its image, listed (diff),
   and the worker that walks it for diff and commit (ctrfs-commit.c): the
   walk and the layer are image/upperwalk.c's.  The upper directory is
   read as root of a user namespace with the user's default map (its files
   belong to the user's subordinate ids).  */

#include "front/ctrfs-private.h"
#include "base/util.h"
#include "image/image.h"
#include "runtime/nsexec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the worker: the upper directory and the image's layers ----------- */

int
ctrfs_layers_prepare (const struct hutch_ctr *c, const char *what, struct ctrfs_layers_job *j,
                      hutch_error_t *err)
{
  _cleanup_store_ struct hutch_store *s = NULL;
  struct hutch_image img;
  size_t i;

  if (c->image_id == NULL || c->dir == NULL)
    return hutch_error_set (
        err, 0, "container %s runs %s, which has no image layer below it: %s", c->name,
        c->rootfs ? "straight from its --rootfs directory" : "in a sandbox of the host's own files",
        what);
  if (hutch_image_store_open (c->root, &s, err) < 0)
    return -1;
  if (hutch_store_find_by_digest (s, c->image_id, &img, err) < 0)
    return hutch_error_set (err, 0,
                            "the image of container %s (%s) is no longer in the store: it was "
                            "removed with `hutch rmi -f`, and its changes cannot be told apart "
                            "from it",
                            c->name, c->image_id);
  j->layers = hutch_xmalloc0 ((img.n_layers + 1) * sizeof (char *));
  for (i = 0; i < img.n_layers; i++)
    {
      _cleanup_free_ char *l = hutch_store_layer_path (s, img.layers[img.n_layers - 1 - i].diff_id);
      j->layers[i] = hutch_xasprintf ("%s/diff", l);
    }
  hutch_image_clear (&img);
  j->upper = hutch_xasprintf ("%s/upper", c->dir);
  j->merged = hutch_xasprintf ("%s/merged", c->dir);
  j->name = c->name;
  return 0;
}

void
ctrfs_layers_clear (struct ctrfs_layers_job *j)
{
  free (j->upper);
  free (j->merged);
  hutch_strv_free (j->layers);
}

/* Whether the container's root is an overlay of its image's layers: a
   vfs copy (its merged/ not empty) keeps no record of what changed.  */
static int
check_overlay (const struct ctrfs_layers_job *j, hutch_error_t *err)
{
  _cleanup_close_ int merged = open (j->merged, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct dirent *de;
  bool empty = true;
  DIR *d;

  if (merged < 0)
    return 0;
  d = fdopendir (merged);
  if (d == NULL)
    return 0;
  merged = -1;
  while (empty && (de = readdir (d)) != NULL)
    empty = strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0;
  closedir (d);
  if (!empty)
    return hutch_error_set (err, 0,
                            "its root is a plain copy of its image (vfs storage driver), which "
                            "keeps no record of what changed");
  return 0;
}

int
ctrfs_layers_fn (void *arg, char *out, size_t out_len, hutch_error_t *err)
{
  struct ctrfs_layers_job *j = arg;
  size_t n = hutch_strv_len (j->layers);
  struct hutch_layer_writer *w = NULL;
  struct hutch_layer_digests d;

  if (check_overlay (j, err) < 0)
    return -1;
  if (j->fn)
    return hutch_upper_walk (j->upper, j->layers, n, j->fn, j->data, err);
  if (hutch_layer_writer_open (j->fd, &j->write, &w, err) < 0)
    return -1;
  if (hutch_layer_from_upper (w, j->upper, j->layers, n, err) < 0)
    {
      hutch_layer_writer_abort (w);
      return -1;
    }
  if (hutch_layer_writer_finish (w, &d, err) < 0)
    return -1;
  hutch_layer_digests_format (&d, out, out_len);
  return 0;
}

/* ---- diff --------------------------------------------------------------- */

void
hutch_changes_free (struct hutch_change *v, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++)
    free (v[i].path);
  free (v);
}

/* In the worker: each entry as a record to the parent, the kind ('?': a
   directory that is changed only if something below it is) and the path,
   NUL-terminated.  */
static int
diff_record (void *data, const struct hutch_upper_entry *e, hutch_error_t *err)
{
  int fd = *(int *)data;
  _cleanup_free_ char *rec = NULL;

  if (e->whiteout && !e->in_lower)
    return 0; /* deletes nothing */
  rec = hutch_xasprintf ("%c/%s", e->kind ? e->kind : '?', e->path);
  if (hutch_write_all (fd, rec, strlen (rec) + 1) < 0)
    return hutch_error_set (err, errno, "send the changes");
  return 0;
}

static int
cmp_change (const void *a, const void *b)
{
  return strcmp (((const struct hutch_change *)a)->path, ((const struct hutch_change *)b)->path);
}

/* A directory of the image ('?') is changed when anything below it is.  */
static void
mark_parents (struct hutch_change *v, size_t n)
{
  size_t i;

  qsort (v, n, sizeof *v, cmp_change);
  for (i = 0; i < n; i++)
    {
      _cleanup_free_ char *p = NULL;
      char *slash;

      if (v[i].kind == '?')
        continue;
      p = hutch_xstrdup (v[i].path);
      while ((slash = strrchr (p, '/')) != NULL && slash != p)
        {
          struct hutch_change key = { 0, p }, *hit;
          *slash = '\0';
          hit = bsearch (&key, v, n, sizeof *v, cmp_change);
          if (hit == NULL || hit->kind != '?')
            break; /* marked already, or not of the image */
          hit->kind = 'C';
        }
    }
}

int
hutch_ctrfs_diff (const struct hutch_ctr *c, const struct hutch_state *st,
                  struct hutch_change **ret, size_t *ret_n, hutch_error_t *err)
{
  struct ctrfs_layers_job j = { 0 };
  struct hutch_userns_job *job = NULL;
  _cleanup_free_ char *text = NULL;
  struct hutch_change *v = NULL;
  size_t len = 0, n = 0, i, k;
  int p[2] = { -1, -1 }, r;

  (void)st; /* the upper layer reads the same, running or not */
  if (ctrfs_refuse_image_file (c, "diff", err) < 0
      || ctrfs_layers_prepare (c, "there is nothing to compare its files with", &j, err) < 0)
    return -1;
  if (pipe2 (p, O_CLOEXEC) < 0)
    {
      ctrfs_layers_clear (&j);
      return hutch_error_set (err, errno, "pipe");
    }
  j.fn = diff_record;
  j.data = &p[1];
  r = hutch_userns_start (ctrfs_layers_fn, &j, &p[1], 1, &job, err);
  close (p[1]);
  if (r == 0)
    {
      hutch_error_t e = HUTCH_ERROR_INIT;
      r = hutch_read_fd (p[0], SIZE_MAX / 2, &text, &len, &e);
      if (hutch_userns_finish (job, NULL, 0, err) < 0)
        r = -1;
      else if (r < 0)
        {
          hutch_error_set (err, e.errnum, "%s", e.msg);
          r = -1;
        }
      hutch_error_clear (&e);
    }
  close (p[0]);
  ctrfs_layers_clear (&j);
  if (r < 0)
    return hutch_error_prefix (err, "container %s", c->name);
  for (i = 0; i < len; i += strlen (text + i) + 1)
    {
      v = hutch_xrealloc (v, (n + 1) * sizeof *v);
      v[n].kind = text[i];
      v[n++].path = hutch_xstrdup (text + i + 1);
    }
  if (n)
    mark_parents (v, n);
  for (i = k = 0; i < n; i++)
    if (v[i].kind == '?')
      free (v[i].path);
    else
      v[k++] = v[i];
  *ret = v;
  *ret_n = k;
  return 0;
}
