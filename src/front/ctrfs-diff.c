/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* What a container's upper layer changed above its image: listed (diff),
   or made into a layer of a new image (commit).  The upper directory is
   read as root of a user namespace with the user's default map (its files
   belong to the user's subordinate ids), from the host's view of the
   store: it is hutch's own directory, not the container's tree; what is in
   it is walked with *at() calls, never following a symlink.  */

#include "front/ctrfs-private.h"
#include "base/util.h"
#include "base/walk.h"
#include "image/change.h"
#include "image/image.h"
#include "image/imageconfig.h"
#include "image/reference.h"
#include "image/unpack.h"
#include "runtime/nsexec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
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
child_ctx (const struct uwalk *w, const size_t *ctx, const int *lfds, size_t n_ctx,
           const char *name, size_t *ret_n)
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
  (void)w;
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
        p->ctx = child_ctx (w, ctx, lfds, n_ctx, name, &p->n_ctx);
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

/* What diff and commit need of the container: its upper directory and
   its image's layers, topmost first.  */
struct layers_job
{
  char *upper, *merged;
  char **layers;
  const char *name;
  ctrfs_upper_fn fn;
  void *data;
  /* commit: the tar, written to FD */
  int fd;
  struct ctrfs_tar *tar;
};

static int
layers_prepare (const struct hutch_ctr *c, const char *what, struct layers_job *j,
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

static void
layers_clear (struct layers_job *j)
{
  free (j->upper);
  free (j->merged);
  hutch_strv_free (j->layers);
}

/* In the worker: open what J names and walk the upper layer.  */
static int
layers_fn (void *arg, char *out, size_t out_len, hutch_error_t *err)
{
  struct layers_job *j = arg;
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
  struct layers_job j = { 0 };
  struct hutch_userns_job *job = NULL;
  _cleanup_free_ char *text = NULL;
  struct hutch_change *v = NULL;
  size_t len = 0, n = 0, i, k;
  int p[2] = { -1, -1 }, r;

  (void)st; /* the upper layer reads the same, running or not */
  if (layers_prepare (c, "there is nothing to compare its files with", &j, err) < 0)
    return -1;
  if (pipe2 (p, O_CLOEXEC) < 0)
    {
      layers_clear (&j);
      return hutch_error_set (err, errno, "pipe");
    }
  j.fn = diff_record;
  j.data = &p[1];
  r = hutch_userns_start (layers_fn, &j, &p[1], 1, &job, err);
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
  layers_clear (&j);
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

/* ---- commit ------------------------------------------------------------- */

/* In the worker: each entry into the layer's tar, whiteouts as `.wh.NAME`
   and opaque directories with `.wh..wh..opq`, as the OCI image spec has
   them.  */
static int
commit_entry (void *data, const struct ctrfs_upper_entry *e, hutch_error_t *err)
{
  struct ctrfs_tar *t = data;
  const char *slash = strrchr (e->path, '/');
  _cleanup_free_ char *name = NULL;

  (void)err;
  if (e->whiteout)
    {
      name = slash ? hutch_xasprintf ("%.*s/" WH_PREFIX "%s", (int)(slash - e->path), e->path,
                                      slash + 1)
                   : hutch_xasprintf (WH_PREFIX "%s", e->path);
      return ctrfs_tar_add_empty (t, name, e->st);
    }
  if (ctrfs_tar_add_entry (t, e->dirfd, e->name, e->st, e->path) < 0)
    return -1;
  if (e->opaque && e->in_lower)
    {
      name = hutch_xasprintf ("%s/" WH_OPAQUE, e->path);
      return ctrfs_tar_add_empty (t, name, e->st);
    }
  return 0;
}

static char *
now_rfc3339 (void)
{
  char buf[64];
  time_t t = time (NULL);
  struct tm tm;

  gmtime_r (&t, &tm);
  strftime (buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return hutch_xstrdup (buf);
}

static int
put_json (struct hutch_store *s, json_t *doc, char **ret_digest, int64_t *ret_size,
          hutch_error_t *err)
{
  _cleanup_free_ char *text = json_dumps (doc, JSON_COMPACT);
  struct hutch_blob_writer *w;

  if (text == NULL)
    return hutch_error_set (err, ENOMEM, "encode JSON");
  if (hutch_store_blob_begin (s, NULL, &w, err) < 0)
    return -1;
  if (hutch_blob_writer_write (w, text, strlen (text), err) < 0)
    {
      hutch_blob_writer_abort (w);
      return -1;
    }
  *ret_size = (int64_t)strlen (text);
  return hutch_blob_writer_commit (w, ret_digest, err);
}

/* A file without a name in DIR (ROOT/tmp) for the new layer: O_TMPFILE,
   or, where the file system has none (NFS), a name of ours removed at
   once.  */
static int
open_scratch (const char *dir)
{
  int fd = open (dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  char hex[17];

  if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
    return fd;
  if (hutch_random_hex (hex, 16) < 0)
    return -1;
  {
    _cleanup_free_ char *path = hutch_xasprintf ("%s/commit-%d-%s", dir, (int)getpid (), hex);
    fd = open (path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0)
      unlink (path);
  }
  return fd;
}

/* The layer of C's upper directory, as a blob of the store: RET->digest
   (and diff_id: it is not compressed).  */
static int
commit_layer (struct hutch_store *s, const struct hutch_ctr *c, struct hutch_store_layer *ret,
              hutch_error_t *err)
{
  _cleanup_free_ char *tmp = hutch_xasprintf ("%s/tmp", hutch_store_root (s));
  _cleanup_close_ int fd = open_scratch (tmp);
  struct ctrfs_tar t = { .xattrs = true, .where = "the upper layer" };
  struct layers_job j = { .fn = commit_entry, .data = &t, .tar = &t };
  struct hutch_userns_job *job = NULL;
  struct stat st;
  int r;

  if (fd < 0)
    return hutch_error_set (err, errno, "create a file in `%s`", tmp);
  if (layers_prepare (c,
                      "its changes are no layer; make an image of its directory with `tar -C "
                      "DIR -c . | hutch import - NAME`",
                      &j, err)
      < 0)
    return -1;
  j.fd = fd;
  hutch_unpack_preload ();
  r = hutch_userns_start (layers_fn, &j, &fd, 1, &job, err);
  if (r == 0 && hutch_userns_finish (job, NULL, 0, err) < 0)
    r = hutch_error_prefix (err, "container %s", c->name);
  layers_clear (&j);
  if (r < 0)
    return -1;
  if (lseek (fd, 0, SEEK_SET) < 0 || fstat (fd, &st) < 0)
    return hutch_error_set (err, errno, "read the new layer");
  if (hutch_store_put_blob (s, fd, NULL, &ret->digest, err) < 0)
    return -1;
  ret->diff_id = hutch_xstrdup (ret->digest);
  ret->media_type = hutch_xstrdup (HUTCH_MT_OCI_LAYER);
  ret->size = st.st_size;
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
  _cleanup_free_ char *now = now_rfc3339 (), *path = NULL;
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
  r = put_json (s, cfg, &config, &csize, err);
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
  r = put_json (s, man, &manifest, &msize, err);
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
