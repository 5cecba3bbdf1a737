/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* What a container's upper layer changed above its image, listed (diff);
   the walk that commit (ctrfs-commit.c) makes a layer with.  The upper directory is
   read as root of a user namespace with the user's default map (its files
   belong to the user's subordinate ids), from the host's view of the
   store: it is hutch's own directory, not the container's tree; what is in
   it is walked with *at() calls, never following a symlink.  */

#include "front/ctrfs-private.h"
#include "base/util.h"
#include "base/walk.h"
#include "image/image.h"
#include "runtime/nsexec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"
#define ENTRY_RESOLVE (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV)

bool
ctrfs_is_opaque_marker (const char *name)
{
  return strcmp (name, WH_OPAQUE) == 0;
}

bool
hutch_ctrfs_whiteout (const char *name, const struct stat *st, const char **ret_victim)
{
  const char *v;

  if (S_ISCHR (st->st_mode) && st->st_rdev == makedev (0, 0))
    {
      *ret_victim = name;
      return true;
    }
  if (!S_ISREG (st->st_mode) || !hutch_str_has_prefix (name, WH_PREFIX)
      || ctrfs_is_opaque_marker (name))
    return false;
  v = name + strlen (WH_PREFIX);
  /* `.wh.`, `.wh..` and `.wh...` delete no name of the directory.  */
  if (*v == '\0' || strcmp (v, ".") == 0 || strcmp (v, "..") == 0)
    return false;
  *ret_victim = v;
  return true;
}

bool
ctrfs_dir_is_opaque (int fd)
{
  static const char *const names[]
      = { "user.overlay.opaque", "trusted.overlay.opaque", "user.fuseoverlayfs.opaque" };
  struct stat st;
  char v[2];
  size_t i;

  for (i = 0; i < sizeof names / sizeof names[0]; i++)
    if (fgetxattr (fd, names[i], v, sizeof v) == 1 && v[0] == 'y')
      return true;
  /* fuse-overlayfs also marks one with a file of its own.  */
  return fstatat (fd, WH_OPAQUE, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* ---- the upper layer against the layers below ---------------------------- */

/* The mount points a run makes in the root when the image lacks them:
   what docker keeps in its "init" layer, out of diff and commit.  */
static const char *const run_made[]
    = { "proc", "sys", "dev", "etc/hostname", "etc/hosts", "etc/resolv.conf", "etc/localtime" };

static bool
dir_is_empty (int fd)
{
  int dup = openat (fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = dup >= 0 ? fdopendir (dup) : NULL;
  struct dirent *de;
  bool empty = true;

  if (d == NULL)
    {
      if (dup >= 0)
        close (dup);
      return false;
    }
  while (empty && (de = readdir (d)) != NULL)
    empty = strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0;
  closedir (d);
  return empty;
}

static bool
is_run_made (const char *path, const struct stat *st, int fd)
{
  size_t i;

  for (i = 0; i < sizeof run_made / sizeof run_made[0]; i++)
    if (strcmp (path, run_made[i]) == 0)
      return (S_ISREG (st->st_mode) && st->st_size == 0)
             || (S_ISDIR (st->st_mode) && fd >= 0 && dir_is_empty (fd));
  return false;
}

struct uwalk
{
  const int *layers; /* topmost first */
  size_t n;
  ctrfs_upper_fn fn;
  void *data;
  hutch_error_t *err;
};

/* A directory of the upper layer still to walk, with the layers whose
   same directory shows through it (indexes into the walk's layers, in
   order).  */
struct pending
{
  char *name;
  size_t *ctx;
  size_t n_ctx;
};

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

static int
list_names (int fd, char ***ret)
{
  int dup = openat (fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = dup >= 0 ? fdopendir (dup) : NULL;
  char **v = NULL;
  size_t n = 0;
  struct dirent *de;

  if (d == NULL)
    {
      if (dup >= 0)
        close (dup);
      return -1;
    }
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      {
        hutch_strv_push (&v, hutch_xstrdup (de->d_name));
        n++;
      }
  closedir (d);
  if (v == NULL)
    v = hutch_xmalloc0 (sizeof (char *));
  qsort (v, n, sizeof *v, cmp_str);
  *ret = v;
  return 0;
}

/* NAME in the layers below (LFDS: their directory, topmost first):
   whether it shows, with the lstat of the topmost that has it.  */
static bool
lower_has (const int *lfds, size_t n, const char *name, struct stat *ret)
{
  size_t i;

  for (i = 0; i < n; i++)
    {
      const char *victim;
      if (lfds[i] < 0 || fstatat (lfds[i], name, ret, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      /* A whiteout hides it (the layers are unpacked with overlayfs's
         own whiteouts: image/unpack.h).  */
      return !hutch_ctrfs_whiteout (name, ret, &victim);
    }
  return false;
}

/* The layers below through which the directory NAME shows, given those
   of its parent (CTX, with their fds LFDS): down to the first that has
   it opaque, or has something else there.  */
static size_t *
child_ctx (const size_t *ctx, const int *lfds, size_t n_ctx, const char *name, size_t *ret_n)
{
  size_t *v = hutch_xmalloc0 ((n_ctx + 1) * sizeof *v), i, n = 0;

  for (i = 0; i < n_ctx; i++)
    {
      _cleanup_close_ int fd = -1;
      struct stat st;

      if (lfds[i] < 0 || fstatat (lfds[i], name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      if (!S_ISDIR (st.st_mode))
        break;
      v[n++] = ctx[i];
      fd = openat (lfds[i], name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0 && ctrfs_dir_is_opaque (fd))
        break;
    }
  *ret_n = n;
  return v;
}

/* A directory's own change: its owner or mode.  Not its times, which
   change with every entry made or removed in it: those entries are
   changes of their own (or a run's mount points, which are none).  */
static bool
same_meta (const struct stat *a, const struct stat *b)
{
  return a->st_mode == b->st_mode && a->st_uid == b->st_uid && a->st_gid == b->st_gid;
}

static int walk_dir (struct uwalk *w, int dirfd, const char *path, const size_t *ctx, size_t n_ctx,
                     int depth);

/* One entry NAME of the upper directory DIRFD (at PATH): told to W's
   function, and, for a directory to walk, added to *TODO.  */
static int
walk_entry (struct uwalk *w, int dirfd, const char *path, const size_t *ctx, const int *lfds,
            size_t n_ctx, const char *name, struct pending **todo, size_t *n_todo)
{
  _cleanup_free_ char *cpath = *path ? hutch_xasprintf ("%s/%s", path, name) : hutch_xstrdup (name);
  _cleanup_close_ int fd = -1;
  struct ctrfs_upper_entry e = { .dirfd = dirfd, .name = name };
  struct stat st, low;
  const char *victim;

  if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      if (errno == ENOENT)
        return 0;
      _cleanup_free_ char *s = hutch_walk_shown (cpath);
      return hutch_error_set (w->err, errno, "look at `%s` in the upper layer", s);
    }
  e.st = &st;
  if (hutch_ctrfs_whiteout (name, &st, &victim))
    {
      _cleanup_free_ char *vpath
          = *path ? hutch_xasprintf ("%s/%s", path, victim) : hutch_xstrdup (victim);
      e.path = vpath;
      e.whiteout = true;
      e.kind = 'D';
      e.in_lower = lower_has (lfds, n_ctx, victim, &low);
      return w->fn (w->data, &e, w->err);
    }
  e.path = cpath;
  e.in_lower = lower_has (lfds, n_ctx, name, &low);
  if (S_ISDIR (st.st_mode))
    {
      fd = hutch_walk_open (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, ENTRY_RESOLVE);
      if (fd < 0)
        {
          _cleanup_free_ char *s = hutch_walk_shown (cpath);
          return hutch_error_set (w->err, errno, "open `%s` in the upper layer", s);
        }
      e.opaque = ctrfs_dir_is_opaque (fd);
    }
  if (!e.in_lower && is_run_made (cpath, &st, fd))
    return 0;
  if (!e.in_lower)
    e.kind = 'A';
  else if (!S_ISDIR (st.st_mode) || !S_ISDIR (low.st_mode) || e.opaque || !same_meta (&st, &low))
    e.kind = 'C';
  if (w->fn (w->data, &e, w->err) < 0)
    return -1;
  if (S_ISDIR (st.st_mode))
    {
      struct pending *p;
      *todo = hutch_xrealloc (*todo, (*n_todo + 1) * sizeof **todo);
      p = &(*todo)[(*n_todo)++];
      p->name = hutch_xstrdup (name);
      if (e.opaque || !e.in_lower)
        {
          p->ctx = NULL;
          p->n_ctx = 0;
        }
      else
        p->ctx = child_ctx (ctx, lfds, n_ctx, name, &p->n_ctx);
    }
  return 0;
}

/* The entries of the upper directory DIRFD at PATH (CTX: the layers that
   show through it): all of them told first, then the directories walked,
   so that only one level's fds of the layers below are open at a time.  */
static int
walk_dir (struct uwalk *w, int dirfd, const char *path, const size_t *ctx, size_t n_ctx, int depth)
{
  _cleanup_strv_ char **names = NULL;
  int *lfds = hutch_xmalloc0 ((n_ctx + 1) * sizeof *lfds);
  struct pending *todo = NULL;
  size_t i, n_todo = 0;
  int r = 0;

  if (depth > HUTCH_WALK_MAX_DEPTH)
    {
      _cleanup_free_ char *s = hutch_walk_shown (path);
      free (lfds);
      return hutch_error_set (w->err, 0, "`%s` in the upper layer is more than %d directories deep",
                              s, HUTCH_WALK_MAX_DEPTH);
    }
  for (i = 0; i < n_ctx; i++)
    lfds[i] = hutch_walk_open_beneath (w->layers[ctx[i]], path, O_RDONLY | O_DIRECTORY,
                                       RESOLVE_NO_SYMLINKS);
  if (list_names (dirfd, &names) < 0)
    {
      _cleanup_free_ char *s = hutch_walk_shown (*path ? path : "/");
      r = hutch_error_set (w->err, errno, "read `%s` in the upper layer", s);
    }
  for (i = 0; r == 0 && names[i]; i++)
    if (!ctrfs_is_opaque_marker (names[i]))
      r = walk_entry (w, dirfd, path, ctx, lfds, n_ctx, names[i], &todo, &n_todo);
  for (i = 0; i < n_ctx; i++)
    if (lfds[i] >= 0)
      close (lfds[i]);
  free (lfds);
  for (i = 0; i < n_todo; i++)
    {
      if (r == 0)
        {
          _cleanup_free_ char *cpath = *path ? hutch_xasprintf ("%s/%s", path, todo[i].name)
                                             : hutch_xstrdup (todo[i].name);
          _cleanup_close_ int sub = hutch_walk_open (
              dirfd, todo[i].name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, ENTRY_RESOLVE);
          if (sub < 0)
            {
              _cleanup_free_ char *s = hutch_walk_shown (cpath);
              r = hutch_error_set (w->err, errno, "open `%s` in the upper layer", s);
            }
          else
            r = walk_dir (w, sub, cpath, todo[i].ctx, todo[i].n_ctx, depth + 1);
        }
      free (todo[i].name);
      free (todo[i].ctx);
    }
  free (todo);
  return r;
}

int
ctrfs_upper_walk (int upperfd, const int *layerfds, size_t n, ctrfs_upper_fn fn, void *data,
                  hutch_error_t *err)
{
  struct uwalk w = { layerfds, n, fn, data, err };
  _cleanup_free_ size_t *ctx = hutch_xmalloc0 ((n + 1) * sizeof *ctx);
  _cleanup_close_ int top = openat (upperfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  size_t i;

  if (top < 0)
    return hutch_error_set (err, errno, "open the upper layer");
  for (i = 0; i < n; i++)
    ctx[i] = i;
  return walk_dir (&w, top, "", ctx, ctrfs_dir_is_opaque (top) ? 0 : n, 0);
}

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

int
ctrfs_layers_fn (void *arg, char *out, size_t out_len, hutch_error_t *err)
{
  struct ctrfs_layers_job *j = arg;
  size_t n = hutch_strv_len (j->layers), i;
  _cleanup_free_ int *fds = hutch_xmalloc0 ((n + 1) * sizeof *fds);
  _cleanup_close_ int upper = -1, merged = -1;
  int r = -1;

  (void)out;
  (void)out_len;
  merged = open (j->merged, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (merged >= 0 && !dir_is_empty (merged))
    return hutch_error_set (err, 0,
                            "its root is a plain copy of its image (vfs storage driver), which "
                            "keeps no record of what changed");
  upper = open (j->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (upper < 0)
    return hutch_error_set (err, errno, "open its upper layer `%s`", j->upper);
  for (i = 0; i < n; i++)
    fds[i] = -1;
  for (i = 0; i < n; i++)
    {
      fds[i] = open (j->layers[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fds[i] < 0)
        {
          hutch_error_set (err, errno, "open the image's layer `%s`", j->layers[i]);
          goto out;
        }
    }
  if (j->tar && ctrfs_tar_open (j->tar, j->fd, err) < 0)
    goto out;
  r = ctrfs_upper_walk (upper, fds, n, j->fn, j->data, err);
  if (j->tar && ctrfs_tar_close (j->tar, r < 0) < 0)
    r = -1;
out:
  for (i = 0; i < n; i++)
    if (fds[i] >= 0)
      close (fds[i]);
  return r;
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
diff_record (void *data, const struct ctrfs_upper_entry *e, hutch_error_t *err)
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
  if (ctrfs_layers_prepare (c, "there is nothing to compare its files with", &j, err) < 0)
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
