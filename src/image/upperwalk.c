/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* A container's upper directory against the layers below it: what
   `hutch diff` lists, and the layer that `hutch commit` and `hutch
   build` make of it (image/layerwrite.h).  The upper directory is read as
   root of a user namespace with the user's default map (its files belong
   to the user's subordinate ids), from the host's view of the store: it is
   hutch's own directory, not the container's tree; what is in it is
   walked with *at() calls, never following a symlink.  */

#include "base/override.h"
#include "image/layerwrite.h"
#include "base/util.h"
#include "base/walk.h"
#include "image/unpack-private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/limits.h>
#include <sys/xattr.h>
#include <unistd.h>

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"
#define ENTRY_RESOLVE (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV)

bool
hutch_upper_is_opaque_marker (const char *name)
{
  return strcmp (name, WH_OPAQUE) == 0;
}

bool
hutch_upper_whiteout (const char *name, const struct stat *st, const char **ret_victim)
{
  const char *v;

  if (hutch_layer_is_whiteout (st))
    {
      *ret_victim = name;
      return true;
    }
  if (!S_ISREG (st->st_mode) || !hutch_str_has_prefix (name, WH_PREFIX)
      || hutch_upper_is_opaque_marker (name))
    return false;
  v = name + strlen (WH_PREFIX);
  /* `.wh.`, `.wh..` and `.wh...` delete no name of the directory.  */
  if (*v == '\0' || strcmp (v, ".") == 0 || strcmp (v, "..") == 0)
    return false;
  *ret_victim = v;
  return true;
}

bool
hutch_upper_dir_is_opaque (int fd)
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
  hutch_upper_fn fn;
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
   the fd of the topmost that shows it, with its lstat, or -1.  */
static int
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
      return hutch_upper_whiteout (name, ret, &victim) ? -1 : lfds[i];
    }
  return -1;
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
      if (fd >= 0 && hutch_upper_dir_is_opaque (fd))
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

/* A directory's recorded owner (base/override.h): root emulation's chown
   of a directory of the layers below copies it up with that attribute
   and nothing else changed.  */
static bool
same_override (int upper_fd, int lower_dirfd, const char *name)
{
  char a[HUTCH_OVERRIDE_MAX], b[HUTCH_OVERRIDE_MAX];
  _cleanup_close_ int lfd = -1;
  ssize_t n, m;

  if (upper_fd < 0 || lower_dirfd < 0)
    return true;
  n = fgetxattr (upper_fd, HUTCH_OVERRIDE_XATTR, a, sizeof a);
  if (n < 0)
    n = -1;
  lfd = openat (lower_dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  m = lfd >= 0 ? fgetxattr (lfd, HUTCH_OVERRIDE_XATTR, b, sizeof b) : -1;
  if (m < 0)
    m = -1;
  return n == m && (n <= 0 || memcmp (a, b, (size_t)n) == 0);
}

static void
push_pending (struct pending **todo, size_t *n_todo, const char *name, bool fresh,
              const size_t *ctx, const int *lfds, size_t n_ctx)
{
  struct pending *p;

  *todo = hutch_xrealloc (*todo, (*n_todo + 1) * sizeof **todo);
  p = &(*todo)[(*n_todo)++];
  p->name = hutch_xstrdup (name);
  p->ctx = NULL;
  p->n_ctx = 0;
  if (!fresh)
    p->ctx = child_ctx (ctx, lfds, n_ctx, name, &p->n_ctx);
}

/* One entry NAME of the upper directory DIRFD (at PATH): told to W's
   function, and, for a directory to walk, added to *TODO.  */
static int
walk_entry (struct uwalk *w, int dirfd, const char *path, const size_t *ctx, const int *lfds,
            size_t n_ctx, const char *name, struct pending **todo, size_t *n_todo)
{
  _cleanup_free_ char *cpath = *path ? hutch_xasprintf ("%s/%s", path, name) : hutch_xstrdup (name);
  _cleanup_close_ int fd = -1;
  struct hutch_upper_entry e = { .dirfd = dirfd, .name = name, .lower_dirfd = -1 };
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
  if (hutch_upper_whiteout (name, &st, &victim))
    {
      _cleanup_free_ char *vpath
          = *path ? hutch_xasprintf ("%s/%s", path, victim) : hutch_xstrdup (victim);
      e.path = vpath;
      e.whiteout = true;
      e.kind = 'D';
      e.lower_dirfd = lower_has (lfds, n_ctx, victim, &low);
      e.in_lower = e.lower_dirfd >= 0;
      e.lower_st = e.in_lower ? &low : NULL;
      return w->fn (w->data, &e, w->err);
    }
  e.path = cpath;
  e.lower_dirfd = lower_has (lfds, n_ctx, name, &low);
  e.in_lower = e.lower_dirfd >= 0;
  e.lower_st = e.in_lower ? &low : NULL;
  if (S_ISDIR (st.st_mode))
    {
      fd = hutch_walk_open (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, ENTRY_RESOLVE);
      if (fd < 0)
        {
          _cleanup_free_ char *s = hutch_walk_shown (cpath);
          return hutch_error_set (w->err, errno, "open `%s` in the upper layer", s);
        }
      e.opaque = hutch_upper_dir_is_opaque (fd);
    }
  if (!e.in_lower && is_run_made (cpath, &st, fd))
    return 0;
  if (!e.in_lower)
    e.kind = 'A';
  else if (!S_ISDIR (st.st_mode) || !S_ISDIR (low.st_mode) || e.opaque || !same_meta (&st, &low)
           || !same_override (fd, e.lower_dirfd, name))
    e.kind = 'C';
  if (w->fn (w->data, &e, w->err) < 0)
    return -1;
  if (S_ISDIR (st.st_mode))
    push_pending (todo, n_todo, name, e.opaque || !e.in_lower, ctx, lfds, n_ctx);
  return 0;
}

static int walk_dir (struct uwalk *w, int dirfd, const char *path, const size_t *ctx, size_t n_ctx,
                     int depth);

/* The directories TODO found in DIRFD (at PATH), walked in turn.  */
static int
walk_pending (struct uwalk *w, int dirfd, const char *path, struct pending *todo, size_t n_todo,
              int depth)
{
  size_t i;
  int r = 0;

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
    if (!hutch_upper_is_opaque_marker (names[i]))
      r = walk_entry (w, dirfd, path, ctx, lfds, n_ctx, names[i], &todo, &n_todo);
  for (i = 0; i < n_ctx; i++)
    if (lfds[i] >= 0)
      close (lfds[i]);
  free (lfds);
  if (walk_pending (w, dirfd, path, todo, n_todo, depth) < 0)
    r = -1;
  return r;
}

int
hutch_upper_walk (const char *upper, char *const *layers, size_t n, hutch_upper_fn fn, void *data,
                  hutch_error_t *err)
{
  struct uwalk w = { NULL, n, fn, data, err };
  _cleanup_free_ size_t *ctx = hutch_xmalloc0 ((n + 1) * sizeof *ctx);
  _cleanup_free_ int *fds = hutch_xmalloc0 ((n + 1) * sizeof *fds);
  _cleanup_close_ int top = open (upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  size_t i;
  int r = -1;

  if (top < 0)
    return hutch_error_set (err, errno, "open the upper layer `%s`", upper);
  for (i = 0; i < n; i++)
    fds[i] = -1;
  for (i = 0; i < n; i++)
    {
      fds[i] = open (layers[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fds[i] < 0)
        {
          hutch_error_set (err, errno, "open the image's layer `%s`", layers[i]);
          goto out;
        }
      ctx[i] = i;
    }
  w.layers = fds;
  r = walk_dir (&w, top, "", ctx, hutch_upper_dir_is_opaque (top) ? 0 : n, 0);
out:
  for (i = 0; i < n; i++)
    if (fds[i] >= 0)
      close (fds[i]);
  return r;
}

/* ---- the layer of the upper directory ------------------------------------ */

/* Whether the files FDs A and B (regular files of the same size) hold the
   same data.  */
static bool
same_data (int a, int b, off_t size)
{
  _cleanup_free_ char *x = hutch_xmalloc0 (1 << 16), *y = hutch_xmalloc0 (1 << 16);
  off_t off = 0;

  while (off < size)
    {
      size_t want = size - off < (1 << 16) ? (size_t)(size - off) : (1 << 16);
      ssize_t n = hutch_read_all (a, x, want), m = hutch_read_all (b, y, want);
      if (n <= 0 || n != m || memcmp (x, y, (size_t)n) != 0)
        return false;
      off += n;
    }
  return true;
}

/* The names of FD's extended attributes, but overlayfs's own, sorted;
   NULL when they cannot be read.  */
static char **
xattr_names (int fd)
{
  _cleanup_free_ char *names = NULL;
  ssize_t len = flistxattr (fd, NULL, 0);
  char **v = NULL;
  const char *name;
  size_t n = 0;

  if (len < 0)
    return NULL;
  names = hutch_xmalloc0 ((size_t)len + 1);
  if (len > 0 && (len = flistxattr (fd, names, (size_t)len)) < 0)
    return NULL;
  for (name = names; name < names + len; name += strlen (name) + 1)
    if (*name && !hutch_layer_is_overlay_xattr (name))
      {
        hutch_strv_push (&v, hutch_xstrdup (name));
        n++;
      }
  if (v == NULL)
    v = hutch_xmalloc0 (sizeof (char *));
  qsort (v, n, sizeof *v, cmp_str);
  return v;
}

static bool
same_xattrs (int a, int b)
{
  _cleanup_strv_ char **x = xattr_names (a), **y = xattr_names (b);
  _cleanup_free_ char *va = NULL, *vb = NULL;
  size_t i;

  if (x == NULL || y == NULL)
    return false;
  va = hutch_xmalloc0 (XATTR_SIZE_MAX);
  vb = hutch_xmalloc0 (XATTR_SIZE_MAX);
  for (i = 0; x[i] && y[i]; i++)
    {
      ssize_t n, m;
      if (strcmp (x[i], y[i]) != 0)
        return false;
      n = fgetxattr (a, x[i], va, XATTR_SIZE_MAX);
      m = fgetxattr (b, y[i], vb, XATTR_SIZE_MAX);
      if (n < 0 || n != m || memcmp (va, vb, (size_t)n) != 0)
        return false;
    }
  return x[i] == NULL && y[i] == NULL;
}

/* Whether the entry E of the upper layer is only a copy of what the
   layers below have (overlayfs copies a file up when it is opened for
   writing, or its times change): same type, owner, mode, and the same
   data, symlink target and xattrs.  Its times are no change.  */
static bool
only_copied_up (const struct hutch_upper_entry *e)
{
  const struct stat *u = e->st, *l = e->lower_st;

  if (!e->in_lower || e->whiteout || S_ISDIR (u->st_mode) || u->st_mode != l->st_mode
      || u->st_uid != l->st_uid || u->st_gid != l->st_gid)
    return false;
  if (S_ISLNK (u->st_mode))
    {
      char a[HUTCH_WALK_MAX_PATH + 1], b[HUTCH_WALK_MAX_PATH + 1];
      ssize_t n = readlinkat (e->dirfd, e->name, a, sizeof a);
      ssize_t m = readlinkat (e->lower_dirfd, e->name, b, sizeof b);
      return n >= 0 && n == m && memcmp (a, b, (size_t)n) == 0;
    }
  if (S_ISREG (u->st_mode) && u->st_size == l->st_size)
    {
      _cleanup_close_ int a
          = hutch_walk_open (e->dirfd, e->name, O_RDONLY | O_NOFOLLOW, 0, ENTRY_RESOLVE);
      _cleanup_close_ int b
          = hutch_walk_open (e->lower_dirfd, e->name, O_RDONLY | O_NOFOLLOW, 0, ENTRY_RESOLVE);
      return a >= 0 && b >= 0 && same_xattrs (a, b) && same_data (a, b, u->st_size);
    }
  return false;
}

/* A directory the layers below have alike, held back until something
   below it goes into the layer: a step that only read files (or copied
   them up unchanged) makes an empty layer.  */
struct held
{
  char *path, *name;
  int dirfd; /* its upper directory's: open while anything below it is walked */
  struct stat st;
};

struct upper_layer
{
  struct hutch_layer_writer *w;
  struct held *v; /* open addressing by path */
  size_t cap, n;
};

static size_t
held_slot (const struct upper_layer *u, const char *path, size_t len)
{
  uint64_t h = 1469598103934665603ULL;
  size_t i;

  for (i = 0; i < len; i++)
    h = (h ^ (unsigned char)path[i]) * 1099511628211ULL;
  i = (size_t)h & (u->cap - 1);
  while (u->v[i].path && (strncmp (u->v[i].path, path, len) != 0 || u->v[i].path[len] != '\0'))
    i = (i + 1) & (u->cap - 1);
  return i;
}

static void
hold (struct upper_layer *u, const struct hutch_upper_entry *e)
{
  struct held *old = u->v;
  size_t old_cap = u->cap, i;

  if (2 * (u->n + 1) > u->cap)
    {
      u->cap = old_cap ? 2 * old_cap : 64;
      u->v = hutch_xmalloc0 (u->cap * sizeof *u->v);
      for (i = 0; i < old_cap; i++)
        if (old[i].path)
          u->v[held_slot (u, old[i].path, strlen (old[i].path))] = old[i];
      free (old);
    }
  i = held_slot (u, e->path, strlen (e->path));
  u->v[i] = (struct held){ hutch_xstrdup (e->path), hutch_xstrdup (e->name), e->dirfd, *e->st };
  u->n++;
}

/* The directories held back above PATH, into the layer, outermost
   first (each once: written, it is no longer held).  */
static int
write_held (struct upper_layer *u, const char *path, hutch_error_t *err)
{
  const char *slash;

  if (u->n == 0)
    return 0;
  for (slash = strchr (path, '/'); slash; slash = strchr (slash + 1, '/'))
    {
      struct held *h = &u->v[held_slot (u, path, (size_t)(slash - path))];
      if (h->path == NULL || h->name == NULL)
        continue;
      if (hutch_layer_writer_add (u->w, h->dirfd, h->name, &h->st, h->path, NULL, err) < 0)
        return -1;
      /* Written: the slot stays (a tombstone for the probe) without it.  */
      free (h->name);
      h->name = NULL;
    }
  return 0;
}

/* Each entry into the layer's tar, whiteouts as `.wh.NAME` and opaque
   directories with `.wh..wh..opq`, as the OCI image spec has them.  */
static int
layer_entry (void *data, const struct hutch_upper_entry *e, hutch_error_t *err)
{
  struct upper_layer *u = data;

  if (e->whiteout && !e->in_lower)
    return 0; /* deletes nothing below (under an opaque directory) */
  if (!e->whiteout && only_copied_up (e))
    return 0;
  if (!e->whiteout && e->kind == 0)
    {
      hold (u, e);
      return 0;
    }
  if (write_held (u, e->path, err) < 0)
    return -1;
  if (e->whiteout)
    return hutch_layer_writer_add_whiteout (u->w, e->path, err);
  if (hutch_layer_writer_add (u->w, e->dirfd, e->name, e->st, e->path, NULL, err) < 0)
    return -1;
  if (e->opaque && e->in_lower)
    return hutch_layer_writer_add_opaque (u->w, e->path, err);
  return 0;
}

int
hutch_layer_from_upper (struct hutch_layer_writer *w, const char *upper, char *const *layers,
                        size_t n, hutch_error_t *err)
{
  struct upper_layer u = { .w = w };
  size_t i;
  int r = hutch_upper_walk (upper, layers, n, layer_entry, &u, err);

  for (i = 0; i < u.cap; i++)
    {
      free (u.v[i].path);
      free (u.v[i].name);
    }
  free (u.v);
  return r;
}
