/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* The vfs storage driver: image layers (as src/unpack.c leaves them, with
   overlayfs whiteouts) flattened into one plain tree.  */

#include "image/unpack-private.h"
#include "base/syscalls.h"
#include "base/util.h"
#include "base/walk.h"
#include "runtime/nsexec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

/* Hard links of one layer, by source inode: the destination path of the
   first name copied.  */
struct link_entry
{
  dev_t dev;
  ino_t ino;
  char *path;
};

struct link_map
{
  struct link_entry *v;
  size_t n, cap; /* cap is 0 or a power of two */
};

static size_t
link_slot (const struct link_map *m, dev_t dev, ino_t ino)
{
  size_t i = (size_t)((ino * UINT64_C (0x9E3779B97F4A7C15)) ^ dev) & (m->cap - 1);
  while (m->v[i].path && (m->v[i].dev != dev || m->v[i].ino != ino))
    i = (i + 1) & (m->cap - 1);
  return i;
}

static const char *
link_map_find (const struct link_map *m, dev_t dev, ino_t ino)
{
  return m->cap ? m->v[link_slot (m, dev, ino)].path : NULL;
}

static void
link_map_add (struct link_map *m, dev_t dev, ino_t ino, const char *path)
{
  size_t i;

  if ((m->n + 1) * 2 > m->cap)
    {
      struct link_map bigger = { .cap = m->cap ? m->cap * 2 : 64 };
      bigger.v = hutch_xmalloc0 (bigger.cap * sizeof *bigger.v);
      for (i = 0; i < m->cap; i++)
        if (m->v[i].path)
          bigger.v[link_slot (&bigger, m->v[i].dev, m->v[i].ino)] = m->v[i];
      bigger.n = m->n;
      free (m->v);
      *m = bigger;
    }
  i = link_slot (m, dev, ino);
  m->v[i].dev = dev;
  m->v[i].ino = ino;
  m->v[i].path = hutch_xstrdup (path);
  m->n++;
}

static void
link_map_clear (struct link_map *m)
{
  size_t i;
  for (i = 0; i < m->cap; i++)
    free (m->v[i].path);
  free (m->v);
  memset (m, 0, sizeof *m);
}

struct flattener
{
  const struct hutch_unpack_opts *opts;
  int dstfd;
  size_t layer;
  struct dir_list dirs;
  struct link_map links;
  char **warned;
  hutch_error_t *err;
};

static int flatten_dir (struct flattener *fl, int srcfd, int dstfd, const char *rel);

/* Whatever the layers below had at NAME in DSTDIR goes; no symlink in the
   destination is followed (base/walk.c).  */
static int
remove_below (struct flattener *fl, int dstdir, const char *name, const char *rel)
{
  if (hutch_walk_remove_tree (dstdir, name, fl->err) < 0)
    return hutch_error_prefix (fl->err, "replace `%s` in the root", rel);
  return 0;
}

/* An opaque directory of an upper layer hides what the layers below had
   in it.  */
static int
empty_below (struct flattener *fl, int dstfd, const char *rel)
{
  if (hutch_walk_empty_dir (dstfd, fl->err) < 0)
    return hutch_error_prefix (fl->err, "empty `%s` in the root", *rel ? rel : ".");
  return 0;
}

static void
copy_xattrs (struct flattener *fl, int src, int dst, const char *rel)
{
  _cleanup_free_ char *names = NULL;
  ssize_t len = flistxattr (src, NULL, 0);
  const char *name;

  if (len <= 0)
    return;
  names = hutch_xmalloc0 ((size_t)len + 1);
  len = flistxattr (src, names, (size_t)len);
  for (name = names; len > 0 && name < names + len; name += strlen (name) + 1)
    {
      _cleanup_free_ char *value = NULL;
      ssize_t size;

      /* The opaque marker is the layer's, not the file's: the flat root
         has nothing below to hide.  */
      if (hutch_layer_is_overlay_xattr (name))
        continue;
      size = fgetxattr (src, name, NULL, 0);
      if (size < 0)
        continue;
      value = hutch_xmalloc0 ((size_t)size + 1);
      size = fgetxattr (src, name, value, (size_t)size);
      if (size >= 0)
        hutch_layer_set_xattr (fl->opts, &fl->warned, dst, rel, name, value, (size_t)size);
    }
}

static bool
is_opaque (int fd)
{
  char v[2];
  return (fgetxattr (fd, OPAQUE_XATTR, v, sizeof v) == 1 && v[0] == 'y')
         || (fgetxattr (fd, "trusted.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y');
}

static int
copy_data (int src, int dst, const char *rel, hutch_error_t *err)
{
  if (hutch_copy_fd (src, dst) < 0)
    return hutch_error_set (err, errno, "copy `%s` into the root", rel);
  return 0;
}

/* Give NAME in DSTDIR a second name for the file first copied to FIRST.  */
static int
link_first (struct flattener *fl, const char *first, int dstdir, const char *name, const char *rel)
{
  const char *slash = strrchr (first, '/');
  _cleanup_free_ char *parent
      = slash ? hutch_xstrndup (first, (size_t)(slash - first)) : hutch_xstrdup ("");
  _cleanup_close_ int pfd
      = hutch_walk_open_beneath (fl->dstfd, parent, O_PATH | O_DIRECTORY, RESOLVE_NO_SYMLINKS);

  if (pfd < 0 || linkat (pfd, slash ? slash + 1 : first, dstdir, name, 0) < 0)
    return hutch_error_set (fl->err, errno, "hard link `%s` to `%s` in the root", rel, first);
  return 0;
}

static int
flatten_file (struct flattener *fl, int srcdir, int dstdir, const char *name, const char *rel,
              const struct stat *st)
{
  _cleanup_close_ int src = -1, dst = -1;
  const char *first = st->st_nlink > 1 ? link_map_find (&fl->links, st->st_dev, st->st_ino) : NULL;
  struct meta m;

  if (first)
    return link_first (fl, first, dstdir, name, rel);
  src = openat (srcdir, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
  if (src < 0)
    return hutch_error_set (fl->err, errno, "open `%s` in layer %zu", rel, fl->layer);
  dst = openat (dstdir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC,
                0600);
  if (dst < 0)
    return hutch_error_set (fl->err, errno, "create `%s` in the root", rel);
  hutch_layer_meta_from_stat (st, &m);
  if (copy_data (src, dst, rel, fl->err) < 0
      || hutch_layer_set_owner_mode (fl->opts, dst, &m, rel, fl->err) < 0)
    return -1;
  copy_xattrs (fl, src, dst, rel);
  if (hutch_layer_set_times (dst, &m, rel, fl->err) < 0)
    return -1;
  if (st->st_nlink > 1)
    link_map_add (&fl->links, st->st_dev, st->st_ino, rel);
  return 0;
}

static int
flatten_special (struct flattener *fl, int srcdir, int dstdir, const char *name, const char *rel,
                 const struct stat *st)
{
  struct meta m;

  hutch_layer_meta_from_stat (st, &m);
  if (S_ISLNK (st->st_mode))
    {
      char target[MAX_PATH + 1];
      ssize_t n = readlinkat (srcdir, name, target, sizeof target);

      if (n < 0 || (size_t)n >= sizeof target)
        return hutch_error_set (fl->err, n < 0 ? errno : ENAMETOOLONG,
                                "read symlink `%s` in layer %zu", rel, fl->layer);
      target[n] = '\0';
      if (symlinkat (target, dstdir, name) < 0
          || (fl->opts->chown && fchownat (dstdir, name, m.uid, m.gid, AT_SYMLINK_NOFOLLOW) < 0)
          || utimensat (dstdir, name, m.times, AT_SYMLINK_NOFOLLOW) < 0)
        return hutch_error_set (fl->err, errno, "copy symlink `%s` into the root", rel);
      return 0;
    }
  if (S_ISFIFO (st->st_mode))
    {
      _cleanup_close_ int src = -1, dst = -1;

      if (mknodat (dstdir, name, S_IFIFO | 0600, 0) < 0)
        return hutch_error_set (fl->err, errno, "create FIFO `%s` in the root", rel);
      src = openat (srcdir, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
      dst = openat (dstdir, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
      if (src < 0 || dst < 0)
        return hutch_error_set (fl->err, errno, "open FIFO `%s`", rel);
      if (hutch_layer_set_owner_mode (fl->opts, dst, &m, rel, fl->err) < 0)
        return -1;
      copy_xattrs (fl, src, dst, rel);
      return hutch_layer_set_times (dst, &m, rel, fl->err);
    }
  /* hutch_archive_unpack makes no other kind of file.  */
  hutch_layer_warn (fl->opts, "skipped `%s` of layer %zu: a device node or socket", rel, fl->layer);
  return 0;
}

static int
flatten_subdir (struct flattener *fl, int srcdir, int dstdir, const char *name, const char *rel,
                const struct stat *st)
{
  _cleanup_close_ int src = openat (srcdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  _cleanup_close_ int dst = -1;
  struct stat dst_st;
  struct meta m;

  if (src < 0)
    return hutch_error_set (fl->err, errno, "open `%s` in layer %zu", rel, fl->layer);
  if (fstatat (dstdir, name, &dst_st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (dst_st.st_mode))
    {
      dst = openat (dstdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (dst >= 0 && is_opaque (src) && empty_below (fl, dst, rel) < 0)
        return -1;
    }
  else
    {
      /* Whatever the layers below had at this name goes: a directory of an
         upper layer over a non-directory hides it, as in overlayfs.  */
      if (remove_below (fl, dstdir, name, rel) < 0)
        return -1;
      if (mkdirat (dstdir, name, 0700) < 0)
        return hutch_error_set (fl->err, errno, "create directory `%s` in the root", rel);
      dst = openat (dstdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
  if (dst < 0 || fstat (dst, &dst_st) < 0)
    return hutch_error_set (fl->err, errno, "open directory `%s` in the root", rel);
  hutch_layer_meta_from_stat (st, &m);
  hutch_layer_dir_list_add (&fl->dirs, rel, &dst_st, &m);
  copy_xattrs (fl, src, dst, rel);
  return flatten_dir (fl, src, dst, rel);
}

static int
flatten_entry (struct flattener *fl, int srcdir, int dstdir, const char *name, const char *rel)
{
  struct stat st;

  if (fstatat (srcdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return hutch_error_set (fl->err, errno, "look at `%s` in layer %zu", rel, fl->layer);
  /* A whiteout deletes the name from the layers below and is not copied.  */
  if (hutch_layer_is_whiteout (&st))
    return remove_below (fl, dstdir, name, rel);
  if (S_ISDIR (st.st_mode))
    return flatten_subdir (fl, srcdir, dstdir, name, rel, &st);
  if (remove_below (fl, dstdir, name, rel) < 0)
    return -1;
  if (S_ISREG (st.st_mode))
    return flatten_file (fl, srcdir, dstdir, name, rel, &st);
  return flatten_special (fl, srcdir, dstdir, name, rel, &st);
}

static int
flatten_dir (struct flattener *fl, int srcfd, int dstfd, const char *rel)
{
  int dfd = openat (srcfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = dfd >= 0 ? fdopendir (dfd) : NULL;
  struct dirent *de;
  int r = 0;

  if (d == NULL)
    {
      if (dfd >= 0)
        close (dfd);
      return hutch_error_set (fl->err, errno, "read `%s` in layer %zu", *rel ? rel : ".",
                              fl->layer);
    }
  while (r == 0 && (errno = 0, de = readdir (d)) != NULL)
    {
      _cleanup_free_ char *child = NULL;

      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      child = *rel ? hutch_xasprintf ("%s/%s", rel, de->d_name) : hutch_xstrdup (de->d_name);
      r = flatten_entry (fl, srcfd, dstfd, de->d_name, child);
    }
  if (r == 0 && errno != 0)
    r = hutch_error_set (fl->err, errno, "read `%s` in layer %zu", *rel ? rel : ".", fl->layer);
  closedir (d);
  return r;
}

static int
flatten_layer (struct flattener *fl, int layerfd)
{
  _cleanup_close_ int src = openat (layerfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  _cleanup_close_ int dst = openat (fl->dstfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct stat st, dst_st;
  struct meta m;

  if (src < 0 || dst < 0 || fstat (src, &st) < 0 || fstat (dst, &dst_st) < 0)
    return hutch_error_set (fl->err, errno, "open layer %zu or the root", fl->layer);
  if (is_opaque (src) && empty_below (fl, dst, "") < 0)
    return -1;
  /* The root takes the metadata of the topmost layer's root, as the
     overlay's root would.  */
  hutch_layer_meta_from_stat (&st, &m);
  hutch_layer_dir_list_add (&fl->dirs, "", &dst_st, &m);
  copy_xattrs (fl, src, dst, ".");
  return flatten_dir (fl, src, dst, "");
}

int
hutch_layers_flatten (const int *layerfds, size_t n, int dstfd,
                      const struct hutch_unpack_opts *opts, hutch_error_t *err)
{
  struct flattener fl = { .opts = opts, .dstfd = dstfd, .err = err };
  int r = 0;
  size_t i;

  if (opts->whiteouts != HUTCH_WHITEOUT_OVERLAY)
    return hutch_error_set (err, EINVAL, "flatten layers: unknown whiteout format");
  for (i = 0; i < n && r == 0; i++)
    {
      fl.layer = i;
      r = flatten_layer (&fl, layerfds[i]);
      /* Hard links stay within one layer: a file of a later layer never
         shares an inode with one below.  */
      link_map_clear (&fl.links);
    }
  if (r == 0)
    r = hutch_layer_dir_list_apply (&fl.dirs, dstfd, RESOLVE_NO_SYMLINKS, opts, err);
  hutch_layer_dir_list_clear (&fl.dirs);
  hutch_strv_free (fl.warned);
  return r;
}

struct flatten_job
{
  char *const *layers; /* bottom first */
  const char *dst;
  bool chown;
};

static int
flatten_in_userns (void *arg, hutch_error_t *err)
{
  struct flatten_job *job = arg;
  struct hutch_unpack_opts opts = { .whiteouts = HUTCH_WHITEOUT_OVERLAY, .chown = job->chown };
  size_t n = hutch_strv_len (job->layers), i;
  int *fds = hutch_xmalloc0 ((n + 1) * sizeof (int)), dst, r = -1;

  for (i = 0; i < n; i++)
    fds[i] = -1;
  dst = open (job->dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dst < 0)
    {
      hutch_error_set (err, errno, "open `%s`", job->dst);
      goto out;
    }
  for (i = 0; i < n; i++)
    {
      fds[i] = open (job->layers[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fds[i] < 0)
        {
          hutch_error_set (err, errno, "open layer `%s`", job->layers[i]);
          goto out;
        }
    }
  r = hutch_layers_flatten (fds, n, dst, &opts, err);
out:
  for (i = 0; i < n; i++)
    if (fds[i] >= 0)
      close (fds[i]);
  free (fds);
  if (dst >= 0)
    close (dst);
  return r;
}

int
hutch_layers_flatten_dirs (char *const *layers, const char *dst, bool chown, hutch_error_t *err)
{
  struct flatten_job job = { layers, dst, chown };

  return hutch_in_userns (flatten_in_userns, &job, err);
}
