/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* A tar extracted into a directory, for cp: into a container's (the
   worker's side) or the user's (the host's side).  Either way the archive
   may come from a container, so each entry is created with *at() calls
   from a directory fd that the kernel resolved beneath the destination
   (base/walk.c): a symlink, absolute or planted by the archive itself or
   by the container meanwhile, cannot lead outside it.  Owners are
   numbers: no name is looked up.  Why not libarchive's archive_write_disk:
   see image/unpack.c.  */

#include "front/ctrfs-private.h"

#include <archive.h>
#include <archive_entry.h>
#include "base/lazylib.h"

#include "base/util.h"
#include "base/walk.h"
#include "image/unpack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct id_range
{
  unsigned long inside, outside, count;
};

struct xdir
{
  char *path;
  dev_t dev;
  ino_t ino;
  mode_t perm;
  bool chown;
  uid_t uid;
  gid_t gid;
  struct timespec times[2];
};

struct extractor
{
  const struct ctrfs_extract *o;
  int dstfd;
  struct xdir *dirs;
  size_t n_dirs;
  struct id_range *uids, *gids;
  size_t n_uids, n_gids;
  char *parent; /* the directory of the last entry, and its fd */
  int parentfd;
  hutch_error_t *err;
};

static int __attribute__ ((format (printf, 3, 4)))
refuse (struct extractor *x, const char *entry, const char *fmt, ...)
{
  _cleanup_free_ char *name = hutch_walk_shown (entry), *why = NULL;
  va_list ap;

  va_start (ap, fmt);
  why = hutch_xvasprintf (fmt, ap);
  va_end (ap);
  return hutch_error_set (x->err, 0, "archive entry `%s`: %s", name, why);
}

/* This process's map of TYPE ("uid_map"), for CTRFS_OWNER_MAP.  */
static void
read_map (const char *type, struct id_range **ret, size_t *ret_n)
{
  _cleanup_free_ char *path = hutch_xasprintf ("/proc/self/%s", type);
  _cleanup_fclose_ FILE *f = fopen (path, "re");
  struct id_range r;

  while (f && fscanf (f, "%lu %lu %lu", &r.inside, &r.outside, &r.count) == 3)
    {
      *ret = hutch_xrealloc (*ret, (*ret_n + 1) * sizeof **ret);
      (*ret)[(*ret_n)++] = r;
    }
}

/* The id inside for the host id ID, or -1 when the map has none.  */
static long long
map_id (const struct id_range *v, size_t n, unsigned long id)
{
  size_t i;
  for (i = 0; i < n; i++)
    if (id >= v[i].outside && id - v[i].outside < v[i].count)
      return (long long)(v[i].inside + (id - v[i].outside));
  return -1;
}

/* The owner E's file is to get: false to leave the caller's.  */
static bool
entry_owner (struct extractor *x, struct archive_entry *e, uid_t *ret_uid, gid_t *ret_gid)
{
  la_int64_t uid = archive_entry_uid (e), gid = archive_entry_gid (e);
  long long u, g;

  switch (x->o->owner)
    {
    case CTRFS_OWNER_FIXED:
      *ret_uid = x->o->uid;
      *ret_gid = x->o->gid;
      return true;
    case CTRFS_OWNER_ARCHIVE:
      if (uid < 0 || uid >= UINT32_MAX || gid < 0 || gid >= UINT32_MAX)
        return false;
      *ret_uid = (uid_t)uid;
      *ret_gid = (gid_t)gid;
      return true;
    case CTRFS_OWNER_MAP:
      u = uid < 0 ? -1 : map_id (x->uids, x->n_uids, (unsigned long)uid);
      g = gid < 0 ? -1 : map_id (x->gids, x->n_gids, (unsigned long)gid);
      if (u < 0 || g < 0)
        return false; /* no id of the container: stays the caller's */
      *ret_uid = (uid_t)u;
      *ret_gid = (gid_t)g;
      return true;
    case CTRFS_OWNER_CALLER:
    default:
      return false;
    }
}

/* Owner, then mode (a chown clears the set-id bits), then times.  An
   owner this namespace cannot give (unmapped: EINVAL) stays the
   caller's, as a layer's does.  */
static int
set_meta (struct extractor *x, int fd, const char *path, bool chown, uid_t uid, gid_t gid,
          mode_t perm, const struct timespec times[2])
{
  _cleanup_free_ char *s = NULL;

  if (chown && fchown (fd, uid, gid) < 0 && errno != EINVAL && errno != EPERM)
    goto fail;
  if (fchmod (fd, perm) < 0 || futimens (fd, times) < 0)
    goto fail;
  return 0;
fail:
  s = hutch_walk_shown (*path ? path : ".");
  return hutch_error_set (x->err, errno, "set the owner, mode and times of `%s` in %s", s,
                          x->o->where);
}

static void
entry_times (struct archive_entry *e, struct timespec times[2])
{
  times[1].tv_sec = archive_entry_mtime (e);
  times[1].tv_nsec = archive_entry_mtime_is_set (e) ? archive_entry_mtime_nsec (e) : UTIME_OMIT;
  times[0] = times[1];
  if (archive_entry_atime_is_set (e))
    {
      times[0].tv_sec = archive_entry_atime (e);
      times[0].tv_nsec = archive_entry_atime_nsec (e);
    }
  for (int i = 0; i < 2; i++)
    if (times[i].tv_nsec != UTIME_OMIT && (times[i].tv_nsec < 0 || times[i].tv_nsec >= 1000000000))
      times[i].tv_nsec = 0;
}

/* A directory's metadata waits for the end: entries made in it change its
   times, and a read-only mode would stop us from making them.  */
static int
defer_dir (struct extractor *x, struct archive_entry *e, int fd, const char *path)
{
  struct xdir *d;
  struct stat st;

  if (fstat (fd, &st) < 0)
    return hutch_error_set (x->err, errno, "look at a directory in %s", x->o->where);
  x->dirs = hutch_xrealloc (x->dirs, (x->n_dirs + 1) * sizeof *x->dirs);
  d = &x->dirs[x->n_dirs++];
  memset (d, 0, sizeof *d);
  d->path = hutch_xstrdup (path);
  d->dev = st.st_dev;
  d->ino = st.st_ino;
  d->perm = archive_entry_perm (e) & 07777;
  d->chown = entry_owner (x, e, &d->uid, &d->gid);
  entry_times (e, d->times);
  return 0;
}

/* Latest first, so that children come before their parents (an archive
   lists a directory before its entries); each directory must still be
   the one made or kept, or another entry replaced it and the metadata is
   not its.  */
static int
apply_dirs (struct extractor *x)
{
  size_t i = x->n_dirs;

  while (i-- > 0)
    {
      struct xdir *d = &x->dirs[i];
      _cleanup_close_ int fd = hutch_walk_open_beneath (
          x->dstfd, d->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, RESOLVE_NO_SYMLINKS);
      struct stat st;

      if (fd < 0 || fstat (fd, &st) < 0 || st.st_dev != d->dev || st.st_ino != d->ino)
        continue;
      if (set_meta (x, fd, d->path, d->chown, d->uid, d->gid, d->perm, d->times) < 0)
        return -1;
    }
  return 0;
}

static int
mkdir_open_error (void *data, const char *prefix, int errnum, hutch_error_t *err)
{
  struct extractor *x = data;
  _cleanup_free_ char *s = hutch_walk_shown (prefix);

  if (errnum == EXDEV)
    return hutch_error_set (err, 0,
                            "directory `%s` in %s leads out of it through a symlink; nothing "
                            "is written there",
                            s, x->o->where);
  return hutch_error_set (err, errnum, "open directory `%s` in %s", s, x->o->where);
}

/* The directory PARENT of an entry, beneath the destination: an O_PATH
   fd kept in X.  Missing directories are made (an archive that does not
   list them).  */
static int
get_parent (struct extractor *x, const char *parent)
{
  struct hutch_walk_mkdir_ops ops = { .where = x->o->where, .open_error = mkdir_open_error };
  int fd;

  if (x->parent && strcmp (x->parent, parent) == 0)
    return x->parentfd;
  fd = hutch_walk_open_beneath (x->dstfd, parent, O_PATH | O_DIRECTORY, 0);
  if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
    fd = hutch_walk_mkdir (x->dstfd, parent, 0755, RESOLVE_BENEATH, &ops, x, x->err);
  else if (fd < 0)
    return mkdir_open_error (x, parent, errno, x->err);
  if (fd < 0)
    return -1;
  free (x->parent);
  if (x->parentfd >= 0)
    close (x->parentfd);
  x->parent = hutch_xstrdup (parent);
  x->parentfd = fd;
  return fd;
}

static void
forget_parent (struct extractor *x)
{
  free (x->parent);
  x->parent = NULL;
}

/* Make room for a new entry at BASE: an existing file goes (unlinked, so
   that nothing is written through a symlink or into another name of a
   hard link); an existing directory stays for a directory and refuses
   anything else, as docker refuses it.  Returns 1 when a directory is
   kept.  */
static int
make_room (struct extractor *x, int parentfd, const char *base, const char *path, bool dir)
{
  _cleanup_free_ char *s = NULL;
  struct stat st;

  if (fstatat (parentfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      if (errno == ENOENT)
        return 0;
      s = hutch_walk_shown (path);
      return hutch_error_set (x->err, errno, "look at `%s` in %s", s, x->o->where);
    }
  s = hutch_walk_shown (path);
  if (S_ISDIR (st.st_mode) && dir)
    return 1;
  if (S_ISDIR (st.st_mode))
    return hutch_error_set (x->err, 0, "cannot overwrite directory `%s` in %s with a non-directory",
                            s, x->o->where);
  if (dir)
    return hutch_error_set (x->err, 0, "cannot overwrite non-directory `%s` in %s with a directory",
                            s, x->o->where);
  forget_parent (x);
  if (unlinkat (parentfd, base, 0) < 0 && errno != ENOENT)
    return hutch_error_set (x->err, errno, "replace `%s` in %s", s, x->o->where);
  return 0;
}

static int
write_file_data (struct extractor *x, struct archive *a, struct archive_entry *e, int fd,
                 const char *path)
{
  la_int64_t end = 0, size = archive_entry_size_is_set (e) ? archive_entry_size (e) : 0;

  for (;;)
    {
      const void *buf;
      size_t len, done = 0;
      la_int64_t off;
      int r = archive_read_data_block (a, &buf, &len, &off);

      if (r == ARCHIVE_EOF)
        break;
      if (r < ARCHIVE_WARN)
        return refuse (x, path, "%s", archive_error_string (a));
      while (done < len)
        {
          ssize_t n = pwrite (fd, (const char *)buf + done, len - done, (off_t)off + (off_t)done);
          if (n < 0 && errno == EINTR)
            continue;
          if (n < 0)
            {
              _cleanup_free_ char *s = hutch_walk_shown (path);
              return hutch_error_set (x->err, errno, "write `%s` in %s", s, x->o->where);
            }
          done += (size_t)n;
        }
      if (off + (la_int64_t)len > end)
        end = off + (la_int64_t)len;
    }
  if (size > end && ftruncate (fd, (off_t)size) < 0)
    {
      _cleanup_free_ char *s = hutch_walk_shown (path);
      return hutch_error_set (x->err, errno, "write `%s` in %s", s, x->o->where);
    }
  return 0;
}

/* The hard link target TARGET (an earlier entry), beneath the
   destination: its directory's fd and its name.  */
static int
link_target (struct extractor *x, const char *path, const char *target, const char **ret_base)
{
  const char *slash = strrchr (target, '/');
  _cleanup_free_ char *dir
      = slash ? hutch_xstrndup (target, (size_t)(slash - target)) : hutch_xstrdup ("");
  int fd = hutch_walk_open_beneath (x->dstfd, dir, O_PATH | O_DIRECTORY, 0);

  if (fd < 0)
    return refuse (x, path, "its hard link target `%s` is no earlier entry", target);
  *ret_base = slash ? slash + 1 : target;
  return fd;
}

/* NAME cleaned (base/walk.c) and renamed as X->o asks: *RET.  */
static int
entry_path (struct extractor *x, const char *name, char **ret)
{
  _cleanup_free_ char *clean = NULL;
  const char *from = x->o->rebase_from, *to = x->o->rebase_to;
  size_t n;

  switch (hutch_walk_clean_name (name, &clean, NULL))
    {
    case HUTCH_WALK_NAME_OK:
      break;
    case HUTCH_WALK_NAME_DOTDOT:
      return refuse (x, name, "it has a `..` component, which could reach outside %s", x->o->where);
    case HUTCH_WALK_NAME_ABSOLUTE:
      return refuse (x, name, "it is absolute");
    default:
      return refuse (x, name, "it is empty or too long");
    }
  if (from == NULL)
    {
      *ret = HUTCH_STEAL_PTR (clean);
      return 0;
    }
  n = strlen (from);
  if (n == 0)
    *ret = *clean ? hutch_xasprintf ("%s/%s", to, clean) : hutch_xstrdup (to);
  else if (strncmp (clean, from, n) == 0 && (clean[n] == '\0' || clean[n] == '/'))
    *ret = hutch_xasprintf ("%s%s", to, clean + n);
  else
    *ret = HUTCH_STEAL_PTR (clean);
  return 0;
}

static int
extract_entry (struct extractor *x, struct archive *a, struct archive_entry *e)
{
  const char *raw = archive_entry_pathname (e), *hardlink = archive_entry_hardlink (e);
  _cleanup_free_ char *path = NULL, *parent = NULL, *target = NULL;
  _cleanup_close_ int fd = -1, tfd = -1;
  unsigned int type = archive_entry_filetype (e);
  bool dir = type == AE_IFDIR && hardlink == NULL;
  const char *base, *slash, *tbase = NULL;
  struct timespec times[2];
  uid_t uid = 0;
  gid_t gid = 0;
  bool chown;
  int parentfd, r;

  if (raw == NULL)
    return refuse (x, "", "it has no name that can be read");
  if (entry_path (x, raw, &path) < 0)
    return -1;
  chown = entry_owner (x, e, &uid, &gid);
  entry_times (e, times);
  if (*path == '\0')
    {
      /* The directory extracted into: it stays as it is, as docker's
         untar leaves it (`cp DIR/. CTR:/etc` does not give /etc DIR's
         owner and mode).  */
      if (!dir)
        return refuse (x, raw, "it is no directory, and names the directory it is extracted into");
      return 0;
    }
  slash = strrchr (path, '/');
  parent = slash ? hutch_xstrndup (path, (size_t)(slash - path)) : hutch_xstrdup ("");
  base = slash ? slash + 1 : path;
  parentfd = get_parent (x, parent);
  if (parentfd < 0)
    return -1;
  r = make_room (x, parentfd, base, path, dir);
  if (r < 0)
    return -1;
  if (hardlink)
    {
      if (entry_path (x, hardlink, &target) < 0)
        return -1;
      tfd = link_target (x, path, target, &tbase);
      /* No AT_SYMLINK_FOLLOW: a link to a symlink links the symlink.  */
      if (tfd < 0 || linkat (tfd, tbase, parentfd, base, 0) < 0)
        return tfd < 0 ? -1
                       : refuse (x, raw, "cannot link it to `%s`: %s", target, strerror (errno));
      return 0;
    }
  switch (type)
    {
    case AE_IFDIR:
      if (r == 0 && mkdirat (parentfd, base, 0700) < 0)
        break;
      fd = openat (parentfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        break;
      return defer_dir (x, e, fd, path);
    case AE_IFREG:
      fd = openat (parentfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC,
                   0600);
      if (fd < 0)
        break;
      if (write_file_data (x, a, e, fd, path) < 0)
        return -1;
      return set_meta (x, fd, path, chown, uid, gid, archive_entry_perm (e) & 07777, times);
    case AE_IFLNK:
      {
        const char *t = archive_entry_symlink (e);
        _cleanup_free_ char *s = hutch_walk_shown (path);
        /* Stored, never followed here: every later entry is resolved
           beneath the destination.  */
        if (t == NULL || *t == '\0')
          return refuse (x, raw, "it is a symlink with an empty target");
        if (symlinkat (t, parentfd, base) < 0)
          break;
        if ((chown && fchownat (parentfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0
             && errno != EINVAL && errno != EPERM)
            || utimensat (parentfd, base, times, AT_SYMLINK_NOFOLLOW) < 0)
          return hutch_error_set (x->err, errno, "set the owner and times of symlink `%s` in %s", s,
                                  x->o->where);
        return 0;
      }
    case AE_IFIFO:
      if (mknodat (parentfd, base, S_IFIFO | 0600, 0) < 0)
        break;
      fd = openat (parentfd, base, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        break;
      return set_meta (x, fd, path, chown, uid, gid, archive_entry_perm (e) & 07777, times);
    default:
      /* Device nodes: a user namespace cannot make them; sockets are no
         content.  */
      return 0;
    }
  {
    _cleanup_free_ char *s = hutch_walk_shown (path);
    return hutch_error_set (x->err, errno, "create `%s` in %s", s, x->o->where);
  }
}

int
ctrfs_tar_extract (int fd, int dstfd, const struct ctrfs_extract *o, hutch_error_t *err)
{
  struct extractor x = { .o = o, .dstfd = dstfd, .parentfd = -1, .err = err };
  struct archive *a = archive_read_new ();
  size_t i;
  int r = 0;

  if (a == NULL)
    return hutch_error_set (err, ENOMEM, "start libarchive");
  if (o->owner == CTRFS_OWNER_MAP)
    {
      read_map ("uid_map", &x.uids, &x.n_uids);
      read_map ("gid_map", &x.gids, &x.n_gids);
    }
  archive_read_support_format_tar (a);
  archive_read_support_format_empty (a);
  if (o->compressed && hutch_archive_filters (a, false, err) < 0)
    r = -1;
  else if (archive_read_open_fd (a, fd, 1 << 16) != ARCHIVE_OK)
    r = hutch_error_set (err, 0, "read the archive: %s", archive_error_string (a));
  while (r == 0)
    {
      struct archive_entry *e;
      int n = archive_read_next_header (a, &e);

      if (n == ARCHIVE_EOF)
        break;
      if (n < ARCHIVE_WARN)
        r = hutch_error_set (err, 0, "read the archive: %s; give a tar archive",
                             archive_error_string (a));
      else
        r = extract_entry (&x, a, e);
    }
  archive_read_free (a);
  if (r == 0)
    r = apply_dirs (&x);
  for (i = 0; i < x.n_dirs; i++)
    free (x.dirs[i].path);
  free (x.dirs);
  free (x.uids);
  free (x.gids);
  free (x.parent);
  if (x.parentfd >= 0)
    close (x.parentfd);
  return r;
}
