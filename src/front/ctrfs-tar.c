/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* Trees to tar, for export, commit and cp (ctrfs-untar.c: back).  The
   tree may be a container's (untrusted: its names, its symlinks, a swap
   while we copy), so every entry is reached with *at() calls from a
   directory fd, through base/walk.c's resolution, never by a path the host
   resolves again.  Owners are numbers: no user or group name is looked up
   (the C library would ask NSS, whose modules docker cp once loaded from
   the container: CVE-2019-14271).  */

#include "front/ctrfs-private.h"

#include <archive.h>
#include <archive_entry.h>
#include "base/lazylib.h"

#include "base/util.h"
#include "base/walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

/* How an entry below the top of a tree is opened: itself, never through a
   symlink, and not across a mount point (EXDEV).  */
#define ENTRY_RESOLVE (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV)

bool
ctrfs_is_overlay_xattr (const char *name)
{
  return hutch_str_has_prefix (name, "user.overlay.")
         || hutch_str_has_prefix (name, "trusted.overlay.")
         || hutch_str_has_prefix (name, "user.fuseoverlayfs.")
         || hutch_str_has_prefix (name, "trusted.fuseoverlayfs.");
}

static int
tar_failed (struct ctrfs_tar *t, const char *what, const char *arcname)
{
  _cleanup_free_ char *s = hutch_walk_shown (*arcname ? arcname : ".");
  const char *msg = archive_error_string (t->a);
  int errnum = archive_errno (t->a);

  return hutch_error_set (t->err, errnum > 0 && errnum != EILSEQ ? errnum : 0,
                          "%s `%s` in the archive: %s", what, s, msg ? msg : "unknown error");
}

int
ctrfs_tar_open (struct ctrfs_tar *t, int fd, hutch_error_t *err)
{
  t->err = err;
  t->a = archive_write_new ();
  if (t->a == NULL)
    return hutch_error_set (err, ENOMEM, "start libarchive");
  if (archive_write_set_format_pax_restricted (t->a) != ARCHIVE_OK
      || archive_write_open_fd (t->a, fd) != ARCHIVE_OK)
    {
      hutch_error_set (err, archive_errno (t->a), "start the archive: %s",
                       archive_error_string (t->a));
      archive_write_free (t->a);
      t->a = NULL;
      return -1;
    }
  return 0;
}

int
ctrfs_tar_close (struct ctrfs_tar *t, bool abort)
{
  int r = 0;
  size_t i;

  if (t->a && !abort && archive_write_close (t->a) != ARCHIVE_OK)
    r = hutch_error_set (t->err, archive_errno (t->a), "finish the archive: %s",
                         archive_error_string (t->a));
  if (t->a)
    archive_write_free (t->a);
  t->a = NULL;
  for (i = 0; i < t->n_links; i++)
    free (t->links[i].name);
  free (t->links);
  t->links = NULL;
  t->n_links = 0;
  return r;
}

/* FD's extended attributes into E, but overlayfs's own: they describe the
   layer, not the file, and would change how an overlay of it reads.  */
static void
add_xattrs (struct archive_entry *e, int fd)
{
  _cleanup_free_ char *names = NULL;
  ssize_t len = flistxattr (fd, NULL, 0);
  const char *name;

  if (len <= 0)
    return;
  names = hutch_xmalloc0 ((size_t)len + 1);
  len = flistxattr (fd, names, (size_t)len);
  for (name = names; len > 0 && name < names + len; name += strlen (name) + 1)
    {
      char value[65536];
      ssize_t n;

      if (ctrfs_is_overlay_xattr (name))
        continue;
      n = fgetxattr (fd, name, value, sizeof value);
      if (n >= 0)
        archive_entry_xattr_add_entry (e, name, value, (size_t)n);
    }
}

/* The header of one entry.  XFD: an fd to read extended attributes from,
   or -1.  */
static int
write_header (struct ctrfs_tar *t, const char *arcname, const struct stat *st, int64_t size,
              const char *symlink, const char *hardlink, int xfd)
{
  struct archive_entry *e = archive_entry_new ();
  int r;

  if (e == NULL)
    return hutch_error_set (t->err, ENOMEM, "an archive entry");
  archive_entry_set_pathname (e, arcname);
  archive_entry_set_filetype (e, hardlink ? AE_IFREG : (unsigned int)(st->st_mode & S_IFMT));
  archive_entry_set_perm (e, st->st_mode & 07777);
  archive_entry_set_uid (e, st->st_uid);
  archive_entry_set_gid (e, st->st_gid);
  archive_entry_set_mtime (e, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
  archive_entry_set_size (e, hardlink ? 0 : size);
  if (symlink)
    archive_entry_set_symlink (e, symlink);
  if (hardlink)
    archive_entry_set_hardlink (e, hardlink);
  if (t->xattrs && xfd >= 0)
    add_xattrs (e, xfd);
  /* ARCHIVE_WARN: a name that is not valid in the locale's charset goes
     in as it is (pax hdrcharset=BINARY); that is no failure.  */
  r = archive_write_header (t->a, e);
  archive_entry_free (e);
  return r < ARCHIVE_WARN ? tar_failed (t, "write", arcname) : 0;
}

/* SIZE bytes of FD.  A file that shrank meanwhile is padded with zeros
   (by libarchive), one that grew is cut at SIZE: the header said SIZE.  */
static int
write_data (struct ctrfs_tar *t, int fd, off_t size, const char *arcname)
{
  char buf[1 << 16];
  off_t done = 0;

  while (done < size)
    {
      size_t want = (size_t)(size - done) < sizeof buf ? (size_t)(size - done) : sizeof buf;
      ssize_t n = read (fd, buf, want);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          _cleanup_free_ char *s = hutch_walk_shown (arcname);
          return hutch_error_set (t->err, errno, "read `%s` in %s", s, t->where);
        }
      if (n == 0)
        break;
      if (archive_write_data (t->a, buf, (size_t)n) < 0)
        return tar_failed (t, "write", arcname);
      done += n;
    }
  return 0;
}

/* A file of more than one name already in the archive: its first name.  */
static const char *
first_name (struct ctrfs_tar *t, const struct stat *st)
{
  size_t i;
  if (st->st_nlink < 2)
    return NULL;
  for (i = 0; i < t->n_links; i++)
    if (t->links[i].dev == st->st_dev && t->links[i].ino == st->st_ino)
      return t->links[i].name;
  return NULL;
}

static void
remember_link (struct ctrfs_tar *t, const struct stat *st, const char *arcname)
{
  if (st->st_nlink < 2)
    return;
  t->links = hutch_xrealloc (t->links, (t->n_links + 1) * sizeof *t->links);
  t->links[t->n_links++] = (struct ctrfs_link){ st->st_dev, st->st_ino, hutch_xstrdup (arcname) };
}

/* A regular file: opened beneath DIRFD without following NAME (TOP: the
   top of a copy, which may be a mount point of its own).  A mount point
   below the top becomes an empty file: what is mounted there is not the
   container's.  One that vanished or changed type meanwhile is left
   out.  */
static int
add_file (struct ctrfs_tar *t, int dirfd, const char *name, const struct stat *st,
          const char *arcname, bool top)
{
  _cleanup_close_ int fd = -1;
  const char *first = first_name (t, st);
  struct stat now;

  if (first)
    return write_header (t, arcname, st, 0, NULL, first, -1);
  fd = hutch_walk_open (dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0,
                        top ? RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS
                            : ENTRY_RESOLVE);
  if (fd < 0 && errno == EXDEV)
    return write_header (t, arcname, st, 0, NULL, NULL, -1);
  if (fd < 0 && (errno == ENOENT || errno == ELOOP || errno == ENOTDIR))
    return 0;
  if (fd < 0 || fstat (fd, &now) < 0)
    {
      _cleanup_free_ char *s = hutch_walk_shown (arcname);
      return hutch_error_set (t->err, errno, "open `%s` in %s", s, t->where);
    }
  if (!S_ISREG (now.st_mode))
    return 0;
  if (write_header (t, arcname, &now, now.st_size, NULL, NULL, fd) < 0
      || write_data (t, fd, now.st_size, arcname) < 0)
    return -1;
  remember_link (t, &now, arcname);
  return 0;
}

static int
add_entry (struct ctrfs_tar *t, int dirfd, const char *name, const struct stat *st,
           const char *arcname, bool top)
{
  switch (st->st_mode & S_IFMT)
    {
    case S_IFREG:
      return add_file (t, dirfd, name, st, arcname, top);
    case S_IFLNK:
      {
        char target[HUTCH_WALK_MAX_PATH + 1];
        ssize_t n = readlinkat (dirfd, name, target, sizeof target);
        if (n < 0 && errno == ENOENT)
          return 0;
        if (n < 0 || (size_t)n >= sizeof target)
          {
            _cleanup_free_ char *s = hutch_walk_shown (arcname);
            return hutch_error_set (t->err, n < 0 ? errno : ENAMETOOLONG, "read symlink `%s` in %s",
                                    s, t->where);
          }
        target[n] = '\0';
        return write_header (t, arcname, st, 0, target, NULL, -1);
      }
    case S_IFDIR:
      {
        _cleanup_close_ int fd
            = hutch_walk_open (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, ENTRY_RESOLVE);
        return write_header (t, arcname, st, 0, NULL, NULL, fd);
      }
    case S_IFIFO:
      return write_header (t, arcname, st, 0, NULL, NULL, -1);
    default:
      /* Device nodes and sockets: a container cannot make the one (its
         /dev is hutch's), and the other is no content.  */
      t->skipped++;
      return 0;
    }
}

int
ctrfs_tar_add_entry (struct ctrfs_tar *t, int dirfd, const char *name, const struct stat *st,
                     const char *arcname)
{
  return add_entry (t, dirfd, name, st, arcname, false);
}

int
ctrfs_tar_add_empty (struct ctrfs_tar *t, const char *arcname, const struct stat *like)
{
  struct stat st = *like;

  st.st_mode = S_IFREG | 0644;
  st.st_uid = 0;
  st.st_gid = 0;
  return write_header (t, arcname, &st, 0, NULL, NULL, -1);
}

static int
cmp_names (const void *a, const void *b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

/* The names in the directory FD, sorted (an archive that does not depend
   on the order the file system keeps).  */
static int
list_dir (struct ctrfs_tar *t, int fd, const char *arcdir, char ***ret)
{
  int dup = openat (fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = dup >= 0 ? fdopendir (dup) : NULL;
  char **names = NULL;
  size_t n = 0;
  struct dirent *de;

  if (d == NULL)
    {
      _cleanup_free_ char *s = hutch_walk_shown (*arcdir ? arcdir : "/");
      if (dup >= 0)
        close (dup);
      return hutch_error_set (t->err, errno, "read directory `%s` in %s", s, t->where);
    }
  while ((errno = 0, de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      {
        hutch_strv_push (&names, hutch_xstrdup (de->d_name));
        n++;
      }
  closedir (d);
  if (names == NULL)
    names = hutch_xmalloc0 (sizeof (char *));
  qsort (names, n, sizeof *names, cmp_names);
  *ret = names;
  return 0;
}

static int
add_children (struct ctrfs_tar *t, int fd, const char *arcdir, int depth)
{
  _cleanup_strv_ char **names = NULL;
  size_t i;

  if (depth > HUTCH_WALK_MAX_DEPTH)
    {
      _cleanup_free_ char *s = hutch_walk_shown (arcdir);
      return hutch_error_set (t->err, 0, "`%s` in %s is more than %d directories deep", s, t->where,
                              HUTCH_WALK_MAX_DEPTH);
    }
  if (list_dir (t, fd, arcdir, &names) < 0)
    return -1;
  for (i = 0; names[i]; i++)
    {
      _cleanup_free_ char *arc
          = *arcdir ? hutch_xasprintf ("%s/%s", arcdir, names[i]) : hutch_xstrdup (names[i]);
      _cleanup_close_ int sub = -1;
      struct stat st;

      if (fstatat (fd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
        {
          if (errno == ENOENT)
            continue;
          _cleanup_free_ char *s = hutch_walk_shown (arc);
          return hutch_error_set (t->err, errno, "look at `%s` in %s", s, t->where);
        }
      if (!S_ISDIR (st.st_mode))
        {
          if (add_entry (t, fd, names[i], &st, arc, false) < 0)
            return -1;
          continue;
        }
      sub = hutch_walk_open (fd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, ENTRY_RESOLVE);
      if (sub < 0 && errno == EXDEV)
        {
          /* A mount point: the directory, empty.  */
          if (write_header (t, arc, &st, 0, NULL, NULL, -1) < 0)
            return -1;
          continue;
        }
      if (sub < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP))
        continue; /* gone, or no longer a directory */
      if (sub < 0 || fstat (sub, &st) < 0)
        {
          _cleanup_free_ char *s = hutch_walk_shown (arc);
          return hutch_error_set (t->err, errno, "open directory `%s` in %s", s, t->where);
        }
      if (write_header (t, arc, &st, 0, NULL, NULL, sub) < 0
          || add_children (t, sub, arc, depth + 1) < 0)
        return -1;
    }
  return 0;
}

int
ctrfs_tar_add_tree (struct ctrfs_tar *t, int dirfd, const char *name, const char *arcname)
{
  _cleanup_close_ int fd = -1;
  struct stat st;

  if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW | (*name ? 0 : AT_EMPTY_PATH)) < 0)
    {
      _cleanup_free_ char *s = hutch_walk_shown (*arcname ? arcname : "/");
      return hutch_error_set (t->err, errno, "look at `%s` in %s", s, t->where);
    }
  if (!S_ISDIR (st.st_mode))
    {
      if (*name)
        return add_entry (t, dirfd, name, &st, arcname, true);
      /* DIRFD is the file itself, opened for reading (or a symlink's
         O_PATH fd, which readlinkat reads with an empty name).  */
      if (S_ISLNK (st.st_mode))
        return add_entry (t, dirfd, "", &st, arcname, true);
      if (!S_ISREG (st.st_mode))
        return add_entry (t, dirfd, "", &st, arcname, true);
      return write_header (t, arcname, &st, st.st_size, NULL, NULL, dirfd) < 0
                     || write_data (t, dirfd, st.st_size, arcname) < 0
                 ? -1
                 : 0;
    }
  /* The top may be a mount point of its own (a volume): only what is
     below it stays on its mount.  */
  fd = hutch_walk_open (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0,
                        RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
  if (fd < 0 || fstat (fd, &st) < 0)
    {
      _cleanup_free_ char *s = hutch_walk_shown (*arcname ? arcname : "/");
      return hutch_error_set (t->err, errno, "open directory `%s` in %s", s, t->where);
    }
  if (*arcname && write_header (t, arcname, &st, 0, NULL, NULL, fd) < 0)
    return -1;
  return add_children (t, fd, strcmp (arcname, ".") == 0 ? "." : arcname, 0);
}
