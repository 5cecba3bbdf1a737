/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "base/walk.h"
#include "base/syscalls.h"
#include "base/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- resolving ---------------------------------------------------------- */

int
hutch_walk_open (int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve)
{
  struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC),
                          .mode = (flags & (O_CREAT | __O_TMPFILE)) ? mode : 0,
                          .resolve = resolve };
  int fd, tries = 0;

  /* EAGAIN: RESOLVE_BENEATH and RESOLVE_IN_ROOT give up when a rename
     anywhere on the system might have let a `..` escape; trying again is
     what the kernel asks for.  Bounded, so a rename storm cannot hang us.  */
  do
    fd = (int)hutch_openat2 (dirfd, *path ? path : ".", &how, sizeof how);
  while (fd < 0 && (errno == EINTR || errno == EAGAIN) && ++tries < 64);
  return fd;
}

/* Every path under a layer or an archive is opened relative to its
   directory fd with RESOLVE_BENEATH: the kernel refuses (EXDEV) a walk that
   would leave it, through `..` or through a symlink, absolute or relative,
   that an earlier entry of the same tree planted.  Checking the names alone
   cannot stop that, since the tree makes the symlink itself (CVE-2014-6407,
   CVE-2014-9356 in docker's unpacking).  Magic links (/proc/self/fd/N) are
   refused as well: they jump wherever they point, beneath or not.  */
int
hutch_walk_open_beneath (int dirfd, const char *path, int flags, uint64_t resolve)
{
  return hutch_walk_open (dirfd, path, flags, 0, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | resolve);
}

int
hutch_walk_open_in_root (int rootfd, const char *path, int flags, mode_t mode)
{
  /* Magic links (/proc/self/fd/N, /proc/PID/root) could point anywhere on
     the host; refuse them along with everything that leaves the root.  */
  while (*path == '/')
    path++;
  return hutch_walk_open (rootfd, path, flags, mode, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

/* ---- names -------------------------------------------------------------- */

char *
hutch_walk_shown (const char *name)
{
  size_t i, n = strlen (name), max = n > 160 ? 160 : n;
  int saved = errno;
  char *out = hutch_xmalloc0 (max * 4 + 4), *p = out;

  for (i = 0; i < max; i++)
    {
      unsigned char c = (unsigned char)name[i];
      if (c < 0x20 || c == 0x7f)
        p += sprintf (p, "\\x%02x", c);
      else
        *p++ = (char)c;
    }
  if (n > max)
    p = stpcpy (p, "...");
  *p = '\0';
  errno = saved;
  return out;
}

enum hutch_walk_name_problem
hutch_walk_clean_name (const char *name, char **ret_clean, size_t *ret_len)
{
  size_t len = strlen (name), out = 0;
  const char *p;
  char *buf;

  if (ret_len)
    *ret_len = len;
  if (len == 0)
    return HUTCH_WALK_NAME_EMPTY;
  /* A longer name could not be created anyway; refusing it up front gives
     a clear error, and bounds what a hostile archive makes us allocate and
     print.  */
  if (len > HUTCH_WALK_MAX_PATH)
    return HUTCH_WALK_NAME_TOO_LONG;
  /* An absolute name is how a naive extractor writes to the host's /etc.
     Archives hold names relative to their root ("./x" or "x"); rather than
     quietly make "/x" relative, refuse it so that such an archive is
     noticed.  */
  if (name[0] == '/' && name[strspn (name, "/")] != '\0')
    return HUTCH_WALK_NAME_ABSOLUTE;
  /* "/" alone is the root directory, as `umoci insert ... /` writes it
     (docker and podman take it so): the same as "./".  */
  if (name[0] == '/')
    {
      *ret_clean = hutch_xstrdup ("");
      return HUTCH_WALK_NAME_OK;
    }
  buf = hutch_xmalloc0 (len + 1);
  for (p = name; *p;)
    {
      const char *end = strchrnul (p, '/');
      size_t n = (size_t)(end - p);

      /* `..` climbs out of the tree (CVE-2016-6321 in GNU tar is one of many
         extractors caught by it).  Refused even where it would stay inside,
         "a/../b": no honest archive needs it.  */
      if (n == 2 && p[0] == '.' && p[1] == '.')
        {
          free (buf);
          return HUTCH_WALK_NAME_DOTDOT;
        }
      if (n > HUTCH_WALK_MAX_COMPONENT)
        {
          free (buf);
          if (ret_len)
            *ret_len = n;
          return HUTCH_WALK_NAME_COMPONENT_TOO_LONG;
        }
      if (n > 0 && !(n == 1 && p[0] == '.'))
        {
          if (out > 0)
            buf[out++] = '/';
          memcpy (buf + out, p, n);
          out += n;
        }
      p = *end ? end + 1 : end;
    }
  buf[out] = '\0';
  *ret_clean = buf;
  return HUTCH_WALK_NAME_OK;
}

/* ---- making directories ------------------------------------------------- */

static int
mkdir_open_failed (const struct hutch_walk_mkdir_ops *ops, void *data, const char *prefix,
                   int errnum, hutch_error_t *err)
{
  _cleanup_free_ char *s = NULL;

  if (ops->open_error)
    return ops->open_error (data, prefix, errnum, err);
  s = hutch_walk_shown (*prefix ? prefix : "/");
  return hutch_error_set (err, errnum, "open directory `%s` in %s", s, ops->where);
}

/* One step of hutch_walk_mkdir: PREFIX (ending in the component COMP),
   whose directory before COMP is CUR.  */
static int
mkdir_step (int rootfd, int cur, const char *prefix, const char *comp, mode_t mode,
            uint64_t resolve, const struct hutch_walk_mkdir_ops *ops, void *data,
            hutch_error_t *err)
{
  struct stat st;
  bool made;
  int fd, r;

  /* The whole prefix is resolved from the root each time, with the caller's
     RESOLVE flags: a symlink at any step is followed inside the tree (or
     refused), never by the host's rules.  */
  fd = hutch_walk_open (rootfd, prefix, O_PATH | O_DIRECTORY, 0, resolve);
  if (fd >= 0)
    return fd;
  if (errno != ENOENT && errno != ENOTDIR)
    return mkdir_open_failed (ops, data, prefix, errno, err);
  if (ops->in_the_way && fstatat (cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0)
    {
      r = ops->in_the_way (data, cur, comp, prefix, &st, err);
      if (r < 0)
        return r;
    }
  /* CUR was resolved inside the tree, and mkdirat does not follow a symlink
     in its last component (it says EEXIST), so the directory is made in the
     tree or not at all.  */
  made = mkdirat (cur, comp, mode) == 0;
  if (!made && errno != EEXIST)
    {
      _cleanup_free_ char *s = hutch_walk_shown (prefix);
      return hutch_error_set (err, errno, "create directory `%s` in %s", s, ops->where);
    }
  /* Opened again the same way: whatever is at the name now (another
     process's directory, or a symlink that replaced ours) is judged by the
     same rules.  */
  fd = hutch_walk_open (rootfd, prefix, O_PATH | O_DIRECTORY, 0, resolve);
  if (fd < 0)
    return mkdir_open_failed (ops, data, prefix, errno, err);
  if (made && ops->made && (r = ops->made (data, fd, prefix, err)) < 0)
    {
      close (fd);
      return r;
    }
  return fd;
}

int
hutch_walk_mkdir (int rootfd, const char *path, mode_t mode, uint64_t resolve,
                  const struct hutch_walk_mkdir_ops *ops, void *data, hutch_error_t *err)
{
  static const struct hutch_walk_mkdir_ops plain = { .where = "the tree" };
  _cleanup_free_ char *prefix = hutch_xmalloc0 (strlen (path) + 1);
  _cleanup_close_ int cur = -1;
  const char *p = path;
  size_t out = 0;

  if (ops == NULL)
    ops = &plain;
  resolve |= RESOLVE_NO_MAGICLINKS;
  cur = hutch_walk_open (rootfd, "", O_PATH | O_DIRECTORY, 0, resolve);
  if (cur < 0)
    return mkdir_open_failed (ops, data, "", errno, err);
  for (;;)
    {
      const char *end, *comp;
      size_t n;
      int next;

      while (*p == '/')
        p++;
      if (*p == '\0')
        break;
      end = strchrnul (p, '/');
      n = (size_t)(end - p);
      if (out > 0)
        prefix[out++] = '/';
      comp = prefix + out;
      memcpy (prefix + out, p, n);
      out += n;
      prefix[out] = '\0';
      p = end;
      next = mkdir_step (rootfd, cur, prefix, comp, mode, resolve, ops, data, err);
      if (next < 0)
        return next;
      close (cur);
      cur = next;
    }
  return HUTCH_STEAL_FD (cur);
}

int
hutch_walk_mkdir_in_root (int rootfd, const char *path, mode_t mode, hutch_error_t *err)
{
  static const struct hutch_walk_mkdir_ops ops = { .where = "the container" };
  return hutch_walk_mkdir (rootfd, path, mode, RESOLVE_IN_ROOT, &ops, NULL, err);
}

int
hutch_walk_mountpoint_in_root (int rootfd, const char *path, bool is_file, hutch_error_t *err)
{
  _cleanup_free_ char *cur = hutch_xstrdup (path);
  int hops;

  /* A dangling symlink (an image's /etc/resolv.conf pointing into an empty
     /run) is followed, inside the root, to where its target would be; at
     most a few hops, as the kernel would.  Its target is only ever used as
     a path in the root, resolved with RESOLVE_IN_ROOT.  */
  for (hops = 0; hops < 8; hops++)
    {
      _cleanup_free_ char *parent = NULL;
      _cleanup_close_ int parentfd = -1;
      const char *slash, *base;
      char target[4096];
      struct stat st;
      ssize_t n;
      int fd;

      fd = hutch_walk_open_in_root (rootfd, cur, O_PATH, 0);
      if (fd >= 0)
        return fd;
      if (errno != ENOENT)
        return hutch_error_set (err, errno, "open mount point `%s` in the container", path);

      slash = strrchr (cur, '/');
      base = slash ? slash + 1 : cur;
      parent = slash ? hutch_xstrndup (cur, (size_t)(slash - cur)) : hutch_xstrdup ("/");
      if (*base == '\0')
        return hutch_error_set (err, EINVAL, "mount point `%s` has no name", path);
      parentfd = hutch_walk_mkdir_in_root (rootfd, parent, 0755, err);
      if (parentfd < 0)
        return parentfd;

      /* parentfd was resolved in the root; BASE is a single name, and
         neither fstatat, readlinkat, openat with O_NOFOLLOW | O_EXCL nor
         mkdirat follows a symlink there.  */
      if (fstatat (parentfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK (st.st_mode))
        {
          n = readlinkat (parentfd, base, target, sizeof target - 1);
          if (n <= 0)
            return hutch_error_set (err, errno, "read symlink `%s` in the container", cur);
          target[n] = '\0';
          {
            char *next = target[0] == '/' ? hutch_xstrdup (target)
                                          : hutch_xasprintf ("%s/%s", parent, target);
            free (cur);
            cur = next;
          }
          continue;
        }
      if (is_file)
        {
          int f
              = openat (parentfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
          if (f < 0 && errno != EEXIST)
            return hutch_error_set (err, errno, "create mount point `%s` in the container", path);
          if (f >= 0)
            close (f);
        }
      else if (mkdirat (parentfd, base, 0755) < 0 && errno != EEXIST)
        return hutch_error_set (err, errno, "create mount point `%s` in the container", path);
      fd = hutch_walk_open_in_root (rootfd, cur, O_PATH, 0);
      if (fd < 0)
        return hutch_error_set (err, errno, "open mount point `%s` in the container", path);
      return fd;
    }
  return hutch_error_set (err, ELOOP, "mount point `%s` in the container", path);
}

int
hutch_walk_mkdir_p (const char *path, mode_t mode, hutch_error_t *err)
{
  _cleanup_free_ char *copy = NULL;
  struct stat st;
  char *p;

  if (*path == '\0')
    return hutch_error_set (err, ENOENT, "create a directory with an empty name");
  /* The common case, the directory is there, in one call.  stat before
     mkdir: an existing directory in a place we may not write (a read-only
     home's parents) is fine as it is.  */
  if (stat (path, &st) == 0 || mkdir (path, mode) == 0 || errno == EEXIST)
    return 0;
  copy = hutch_xstrdup (path);
  for (p = copy + 1;; p++)
    if (*p == '/' || *p == '\0')
      {
        char c = *p;
        *p = '\0';
        if (stat (copy, &st) < 0 && mkdir (copy, mode) < 0 && errno != EEXIST)
          return hutch_error_set (err, errno, "create the directory `%s`", copy);
        if (c == '\0')
          return 0;
        *p = c;
      }
}

/* ---- removing ----------------------------------------------------------- */

/* The names from the top of a removal down to the entry at hand, for the
   message of a failure; nothing is allocated unless one happens.  */
struct frame
{
  const struct frame *up;
  const char *name;
};

struct remover
{
  hutch_error_t *err;
  int r; /* the first failure's return value, or 0 */
  /* Directories deeper than HUTCH_WALK_MAX_DEPTH are moved up into TOPFD
     (renameat: the same file system, no link followed) under a name of
     their own and removed from there afterwards, so that no tree is too
     deep to remove while the fds held stay bounded.  */
  int topfd;
  char **deferred;
  unsigned int n_moved;
};

static int
remove_failed (struct remover *rm, int errnum, const char *what, const struct frame *f)
{
  const struct frame *g;
  size_t len = 0, at;
  char *path;

  if (rm->r < 0)
    return rm->r; /* the first failure is the one reported */
  for (g = f; g; g = g->up)
    len += strlen (g->name) + 1;
  path = hutch_xmalloc0 (len + 1);
  at = len - 1;
  for (g = f; g; g = g->up)
    {
      size_t n = strlen (g->name);
      at -= n;
      memcpy (path + at, g->name, n);
      if (g->up)
        path[--at] = '/';
    }
  {
    _cleanup_free_ char *s = hutch_walk_shown (path + at);
    free (path);
    if (errnum == ELOOP)
      {
        rm->r = hutch_error_set (rm->err, 0,
                                 "%s `%s`: it is more than %d directories deep, and cannot be "
                                 "moved up to be removed from there",
                                 what, s, HUTCH_WALK_MAX_DEPTH);
        rm->err->errnum = ELOOP;
        rm->r = -ELOOP;
      }
    else
      rm->r = hutch_error_set (rm->err, errnum, "%s `%s`", what, s);
  }
  return rm->r;
}

/* chmod NAME in DIRFD, never through a symlink: a directory swapped for a
   symlink between our look and the chmod must not hand the mode to its
   target.  fchmodat2 refuses the symlink in the kernel (EOPNOTSUPP); before
   Linux 6.6, glibc's fchmodat with AT_SYMLINK_NOFOLLOW opens the name
   O_PATH | O_NOFOLLOW, refuses a symlink, and changes the inode it holds
   through /proc/self/fd (and fails without /proc).  */
static int
chmod_nofollow (int dirfd, const char *name, mode_t mode)
{
  if (hutch_fchmodat2 (dirfd, name, mode, AT_SYMLINK_NOFOLLOW) == 0)
    return 0;
  if (errno != ENOSYS && errno != EPERM)
    return -1;
  return fchmodat (dirfd, name, mode, AT_SYMLINK_NOFOLLOW);
}

/* A directory to empty, opened relative to its parent's fd and never
   through a symlink (O_NOFOLLOW), so that the walk stays in the tree
   whatever the tree holds.  */
/* RESOLVE_NO_XDEV: a mount point in the tree (a volume, a bind mount
   inside a container's directory) is not entered, so that nothing of
   another file system is removed through it (EXDEV).  */
static int
open_child_dir (int dirfd, const char *name)
{
  return hutch_walk_open (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0,
                          RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV);
}

static int
open_dir_to_remove (int dirfd, const char *name)
{
  int fd = open_child_dir (dirfd, name);
  struct stat st;

  if (fd < 0 && errno == EACCES)
    {
      /* A directory of ours that we may not read (a layer's 0000 one): open
         it up, which only its owner can.  */
      if (chmod_nofollow (dirfd, name, 0700) < 0)
        {
          errno = EACCES;
          return -1;
        }
      fd = open_child_dir (dirfd, name);
    }
  /* Its entries can only be removed with write and search permission: a
     read-only directory of ours (a layer's 0555 /proc) is opened up through
     its fd, which is the directory we opened.  */
  if (fd >= 0 && fstat (fd, &st) == 0 && st.st_uid == geteuid () && (st.st_mode & 0700) != 0700)
    (void)fchmod (fd, (st.st_mode & 07777) | 0700);
  return fd;
}

static int remove_entry (struct remover *rm, int dirfd, const char *name, const struct frame *f,
                         int depth);

/* Remove the entries of the directory FD, which this takes (one fd a
   level: the directory stream is made of FD itself).  */
static int
empty_entries (struct remover *rm, int fd, const struct frame *f, int depth)
{
  DIR *d = fdopendir (fd);
  struct dirent *de;
  int r = 0;

  if (d == NULL)
    {
      int errnum = errno;
      close (fd);
      return remove_failed (rm, errnum, "read directory", f);
    }
  while ((errno = 0, de = readdir (d)) != NULL)
    {
      struct frame child = { f, de->d_name };
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      /* Past a failure, go on: remove what can be removed.  */
      if (remove_entry (rm, dirfd (d), de->d_name, &child, depth + 1) < 0 && r == 0)
        r = -1;
    }
  if (errno != 0)
    r = remove_failed (rm, errno, "read directory", f);
  closedir (d);
  return r;
}

/* NAME in DIRFD is as deep as a removal goes with fds: move it up, to be
   removed from the top afterwards.  */
static int
move_up (struct remover *rm, int dirfd, const char *name, const struct frame *f)
{
  char buf[64];

  snprintf (buf, sizeof buf, ".hutch-deep-%ld-%u", (long)getpid (), rm->n_moved++);
  if (rm->topfd < 0 || renameat (dirfd, name, rm->topfd, buf) < 0)
    return remove_failed (rm, rm->topfd < 0 ? ELOOP : errno, "remove", f);
  hutch_strv_push (&rm->deferred, hutch_xstrdup (buf));
  return 0;
}

static int
remove_entry (struct remover *rm, int dirfd, const char *name, const struct frame *f, int depth)
{
  _cleanup_close_ int fd = -1;

  /* unlinkat without AT_REMOVEDIR removes a symlink itself, never what it
     points to; most entries are no directories, so try that first.  */
  if (unlinkat (dirfd, name, 0) == 0 || errno == ENOENT)
    return 0;
  /* A mount point of this mount namespace: EBUSY, whatever it is.  */
  if (errno == EBUSY)
    return remove_failed (rm, EBUSY, "remove the mount point", f);
  /* Linux says EISDIR for a directory, POSIX EPERM.  */
  if (errno != EISDIR && errno != EPERM)
    return remove_failed (rm, errno, "remove", f);
  if (depth > HUTCH_WALK_MAX_DEPTH)
    return move_up (rm, dirfd, name, f);
  fd = open_dir_to_remove (dirfd, name);
  if (fd < 0)
    {
      /* Not a directory after all: the EPERM was the answer.  */
      int errnum = errno;
      if (errnum == EXDEV)
        return remove_failed (rm, EBUSY, "remove the mount point", f);
      return errnum == ENOTDIR ? remove_failed (rm, EPERM, "remove", f)
                               : remove_failed (rm, errnum, "open directory", f);
    }
  if (empty_entries (rm, HUTCH_STEAL_FD (fd), f, depth) < 0)
    return -1;
  if (unlinkat (dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return remove_failed (rm, errno, "remove", f);
  return 0;
}

/* What move_up put aside, until nothing is left (each may put aside more
   of its own).  */
static void
remove_deferred (struct remover *rm)
{
  while (rm->deferred && rm->deferred[0])
    {
      char **batch = rm->deferred;
      size_t i;
      rm->deferred = NULL;
      for (i = 0; batch[i]; i++)
        {
          struct frame top = { NULL, batch[i] };
          remove_entry (rm, rm->topfd, batch[i], &top, 0);
        }
      hutch_strv_free (batch);
    }
}

int
hutch_walk_remove_tree (int dirfd, const char *name, hutch_error_t *err)
{
  struct remover rm = { .err = err, .topfd = dirfd };
  struct frame top = { NULL, name };

  remove_entry (&rm, dirfd, name, &top, 0);
  remove_deferred (&rm);
  return rm.r;
}

int
hutch_walk_empty_dir (int dirfd, hutch_error_t *err)
{
  struct remover rm = { .err = err, .topfd = dirfd };
  struct frame top = { NULL, "." };
  int fd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    return hutch_error_set (err, errno, "read directory");
  empty_entries (&rm, fd, &top, 0);
  remove_deferred (&rm);
  return rm.r;
}

int
hutch_walk_remove_path (const char *path, hutch_error_t *err)
{
  _cleanup_free_ char *copy = hutch_xstrdup (path);
  _cleanup_close_ int dirfd = -1;
  struct remover rm = { .err = err, .topfd = -1 };
  struct frame top = { NULL, path };
  size_t len = strlen (copy);
  const char *base, *dir;
  char *slash;

  while (len > 1 && copy[len - 1] == '/')
    copy[--len] = '\0';
  slash = strrchr (copy, '/');
  base = slash ? slash + 1 : copy;
  if (*base == '\0' || strcmp (base, ".") == 0 || strcmp (base, "..") == 0)
    return hutch_error_set (err, EINVAL, "remove `%s`: it names no directory entry", path);
  if (slash == copy)
    dir = "/";
  else if (slash)
    {
      *slash = '\0';
      dir = copy;
    }
  else
    dir = ".";
  dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    return errno == ENOENT ? 0 : hutch_error_set (err, errno, "remove `%s`", path);
  rm.topfd = dirfd;
  remove_entry (&rm, dirfd, base, &top, 0);
  remove_deferred (&rm);
  return rm.r;
}

/* ---- looking ------------------------------------------------------------ */

/* The entries of the directory FD, which this takes (one fd a level, as
   for removal), and below them.  */
static int
visit_dir (int fd, int depth, hutch_walk_visit_fn fn, void *data)
{
  DIR *d = fdopendir (fd);
  struct dirent *de;
  int r = 0;

  if (d == NULL)
    {
      close (fd);
      return 0;
    }
  while (r == 0 && (de = readdir (d)) != NULL)
    {
      struct stat st;
      int child;

      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0
          || fstatat (dirfd (d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      r = fn (data, &st);
      if (r != 0 || !S_ISDIR (st.st_mode) || depth >= HUTCH_WALK_MAX_DEPTH)
        continue;
      /* open_child_dir: no symlink followed, no mount point entered; a
         directory we may not read is passed over.  */
      child = open_child_dir (dirfd (d), de->d_name);
      if (child >= 0)
        r = visit_dir (child, depth + 1, fn, data);
    }
  closedir (d);
  return r;
}

int
hutch_walk_visit (int dirfd, hutch_walk_visit_fn fn, void *data)
{
  int fd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    return 0;
  return visit_dir (fd, 0, fn, data);
}
