/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "base/walk.h"
#include "base/syscalls.h"
#include "base/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
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
  /* Stop at the first failure instead of removing what still can be: a
     try whose failure sends the whole removal elsewhere.  */
  bool stop_early;
};

/* The path of F below the top, as a message may show it (the top's own
   name is left out when it is empty; the top alone is ".").  */
static char *
frame_path (const struct frame *f)
{
  const struct frame *g;
  size_t len = 0, at;
  char *path, *shown;

  for (g = f; g; g = g->up)
    if (*g->name)
      len += strlen (g->name) + 1;
  if (len == 0)
    return hutch_xstrdup (".");
  path = hutch_xmalloc0 (len + 1);
  at = len - 1;
  for (g = f; g; g = g->up)
    {
      size_t n = strlen (g->name);
      if (n == 0)
        continue;
      at -= n;
      memcpy (path + at, g->name, n);
      if (at > 0)
        path[--at] = '/';
    }
  shown = hutch_walk_shown (path + at);
  free (path);
  return shown;
}

static int
remove_failed (struct remover *rm, int errnum, const char *what, const struct frame *f)
{
  _cleanup_free_ char *s = NULL;

  if (rm->r < 0)
    return rm->r; /* the first failure is the one reported */
  s = frame_path (f);
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
      if (r < 0 && rm->stop_early)
        break;
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
  /* A try moves nothing up: what it moved, it might not remove.  */
  if (depth > HUTCH_WALK_MAX_DEPTH)
    return rm->stop_early ? remove_failed (rm, ELOOP, "remove", f) : move_up (rm, dirfd, name, f);
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

static int
remove_path (const char *path, bool stop_early, hutch_error_t *err)
{
  _cleanup_free_ char *copy = hutch_xstrdup (path);
  _cleanup_close_ int dirfd = -1;
  struct remover rm = { .err = err, .topfd = -1, .stop_early = stop_early };
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

int
hutch_walk_remove_path (const char *path, hutch_error_t *err)
{
  return remove_path (path, false, err);
}

int
hutch_walk_try_remove_path (const char *path, hutch_error_t *err)
{
  return remove_path (path, true, err);
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

/* ---- walking in order --------------------------------------------------- */

#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT 0x00002000
#endif

struct sorted
{
  hutch_walk_entry_fn fn;
  void *data;
  hutch_error_t *err;
  char *path; /* the entry's path below the top, grown as needed */
  size_t cap;
};

static int
cmp_names (const void *a, const void *b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

/* The names of the directory stream D but "." and "..", sorted.  */
static int
sorted_names (DIR *d, char ***ret, size_t *ret_n)
{
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *de;

  while ((errno = 0, de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (n + 1 >= cap)
        {
          cap = cap ? cap * 2 : 16;
          names = hutch_xrealloc (names, cap * sizeof *names);
        }
      names[n++] = hutch_xstrdup (de->d_name);
    }
  if (errno != 0)
    {
      int errnum = errno;
      while (n > 0)
        free (names[--n]);
      free (names);
      return -errnum;
    }
  if (n > 1)
    qsort (names, n, sizeof *names, cmp_names);
  *ret = names;
  *ret_n = n;
  return 0;
}

/* The lstat of NAME in DIRFD, and whether it is a mount point: statx says
   so (STATX_ATTR_MOUNT_ROOT, Linux 5.8, also for a bind mount within one
   file system); before it, a device other than its directory's.  */
static int
stat_entry (int dirfd, const char *name, dev_t dirdev, struct stat *st, bool *ret_mount)
{
  struct statx sx;

  if (statx (dirfd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_BASIC_STATS, &sx) < 0)
    return -1;
  memset (st, 0, sizeof *st);
  st->st_dev = makedev (sx.stx_dev_major, sx.stx_dev_minor);
  st->st_ino = sx.stx_ino;
  st->st_mode = sx.stx_mode;
  st->st_nlink = sx.stx_nlink;
  st->st_uid = sx.stx_uid;
  st->st_gid = sx.stx_gid;
  st->st_rdev = makedev (sx.stx_rdev_major, sx.stx_rdev_minor);
  st->st_size = (off_t)sx.stx_size;
  st->st_blksize = (blksize_t)sx.stx_blksize;
  st->st_blocks = (blkcnt_t)sx.stx_blocks;
  st->st_atim = (struct timespec){ sx.stx_atime.tv_sec, sx.stx_atime.tv_nsec };
  st->st_mtim = (struct timespec){ sx.stx_mtime.tv_sec, sx.stx_mtime.tv_nsec };
  st->st_ctim = (struct timespec){ sx.stx_ctime.tv_sec, sx.stx_ctime.tv_nsec };
  if (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
    *ret_mount = (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
  else
    *ret_mount = st->st_dev != dirdev;
  return 0;
}

/* S->path as "PREFIX/NAME" (PREFIX the first LEN bytes); returns the
   length of the new path.  */
static size_t
sorted_path (struct sorted *s, size_t len, const char *name)
{
  size_t n = strlen (name), need = len + 1 + n + 1;

  if (need > s->cap)
    {
      s->cap = need * 2;
      s->path = hutch_xrealloc (s->path, s->cap);
    }
  if (len > 0)
    s->path[len++] = '/';
  memcpy (s->path + len, name, n + 1);
  return len + n;
}

static int
sorted_failed (struct sorted *s, int errnum, const char *what, size_t len)
{
  _cleanup_free_ char *shown = NULL;

  s->path[len] = '\0';
  shown = hutch_walk_shown (len ? s->path : ".");
  if (errnum == ELOOP)
    return hutch_error_set (s->err, ELOOP, "%s `%s`: it is more than %d directories deep", what,
                            shown, HUTCH_WALK_MAX_DEPTH);
  return hutch_error_set (s->err, errnum, "%s `%s`", what, shown);
}

static int sorted_dir (struct sorted *s, int fd, size_t len, unsigned int depth);

/* One entry NAME of the directory DIRFD (whose device is DIRDEV).  */
static int
sorted_entry (struct sorted *s, int dirfd, dev_t dirdev, const char *name, size_t len,
              unsigned int depth)
{
  struct hutch_walk_entry e;
  struct stat st;
  size_t n = sorted_path (s, len, name);
  bool mount;
  int r, fd;

  if (stat_entry (dirfd, name, dirdev, &st, &mount) < 0)
    return errno == ENOENT ? 0 : sorted_failed (s, errno, "look at", n);
  /* Another file system in the tree is not the tree's: a bind mount in a
     build context is neither copied nor hashed.  */
  if (mount)
    return 0;
  e = (struct hutch_walk_entry){ s->path, dirfd, name, &st, depth };
  r = s->fn (s->data, &e, s->err);
  if (r < 0)
    return r;
  if (!S_ISDIR (st.st_mode) || r == HUTCH_WALK_SKIP)
    return 0;
  if (depth + 1 > HUTCH_WALK_MAX_DEPTH)
    return sorted_failed (s, ELOOP, "walk", n);
  /* open_child_dir: O_NOFOLLOW and RESOLVE_NO_SYMLINKS, so that a
     directory swapped for a symlink since the statx is not followed, and
     RESOLVE_NO_XDEV, so that a mount made since is not entered.  */
  fd = open_child_dir (dirfd, name);
  if (fd < 0)
    {
      if (errno == ENOENT || errno == EXDEV || (r == HUTCH_WALK_TRY && errno == EACCES))
        return 0;
      return sorted_failed (s, errno, "open the directory", n);
    }
  return sorted_dir (s, fd, n, depth + 1);
}

/* The entries of the directory FD (taken), at DEPTH, below S->path's
   first LEN bytes.  */
static int
sorted_dir (struct sorted *s, int fd, size_t len, unsigned int depth)
{
  DIR *d = fdopendir (fd);
  char **names = NULL;
  struct stat dst;
  size_t i, n = 0;
  int r;

  if (d == NULL)
    {
      int errnum = errno;
      close (fd);
      return sorted_failed (s, errnum, "read the directory", len);
    }
  r = fstat (dirfd (d), &dst) < 0 ? -errno : sorted_names (d, &names, &n);
  if (r < 0)
    {
      closedir (d);
      return sorted_failed (s, -r, "read the directory", len);
    }
  for (i = 0; i < n && r >= 0; i++)
    r = sorted_entry (s, dirfd (d), dst.st_dev, names[i], len, depth);
  for (i = 0; i < n; i++)
    free (names[i]);
  free (names);
  closedir (d);
  return r < 0 ? r : 0;
}

int
hutch_walk_sorted (int dirfd, hutch_walk_entry_fn fn, void *data, hutch_error_t *err)
{
  struct sorted s = { .fn = fn, .data = data, .err = err, .cap = 256 };
  int fd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

  s.path = hutch_xmalloc0 (s.cap);
  if (fd < 0)
    r = sorted_failed (&s, errno, "read the directory", 0);
  else
    r = sorted_dir (&s, fd, 0, 1);
  free (s.path);
  return r;
}

/* ---- giving a tree to a user -------------------------------------------- */

/* NAME in DIRFD as what it is: never through a symlink (an O_PATH fd of
   a symlink is the symlink itself), and never across a mount point (EXDEV):
   another file system in the tree is not the tree's.  */
static int
open_entry (int dirfd, const char *name)
{
  return hutch_walk_open (dirfd, name, O_PATH | O_NOFOLLOW, 0,
                          RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV);
}

struct chowner
{
  uid_t uid;
  gid_t gid;
  unsigned long failed;
  int first_errno;
  char *first; /* the first entry that could not be changed, shown */
};

static void
chown_failed (struct chowner *c, int errnum, const struct frame *f)
{
  if (c->failed++ == 0)
    {
      c->first_errno = errnum;
      c->first = frame_path (f);
    }
}

/* FD is the entry itself (open_entry): with AT_EMPTY_PATH the change goes
   to that inode, a symlink's own when it is one, never to a target.  */
static void
chown_entry (struct chowner *c, int fd, const struct stat *st, const struct frame *f)
{
  if (st->st_uid == c->uid && st->st_gid == c->gid)
    return; /* nothing to do, and its ctime and set-id bits stay */
  if (fchownat (fd, "", c->uid, c->gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
    chown_failed (c, errno, f);
}

/* The entries of the directory DIR (taken: one fd a level), depth first;
   a failure is counted and the walk goes on.  */
static void
chown_children (struct chowner *c, int dir, const struct frame *f, int depth)
{
  DIR *d = fdopendir (dir);
  struct dirent *de;

  if (d == NULL)
    {
      chown_failed (c, errno, f);
      close (dir);
      return;
    }
  while ((errno = 0, de = readdir (d)) != NULL)
    {
      struct frame child = { f, de->d_name };
      struct stat st;
      int fd, sub;

      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      fd = open_entry (dirfd (d), de->d_name);
      if (fd < 0)
        {
          /* EXDEV: a mount point, not ours to change; ENOENT: gone.  */
          if (errno != EXDEV && errno != ENOENT)
            chown_failed (c, errno, &child);
          continue;
        }
      if (fstat (fd, &st) < 0)
        {
          chown_failed (c, errno, &child);
          close (fd);
          continue;
        }
      chown_entry (c, fd, &st, &child);
      sub = -1;
      if (S_ISDIR (st.st_mode) && depth + 1 > HUTCH_WALK_MAX_DEPTH)
        chown_failed (c, ELOOP, &child);
      else if (S_ISDIR (st.st_mode)
               && (sub = openat (fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        chown_failed (c, errno, &child);
      close (fd);
      if (sub >= 0)
        chown_children (c, sub, &child, depth + 1);
    }
  if (errno != 0)
    chown_failed (c, errno, f);
  closedir (d);
}

int
hutch_walk_chown_tree (int fd, uid_t uid, gid_t gid, hutch_error_t *err)
{
  struct chowner c = { .uid = uid, .gid = gid };
  struct frame top = { NULL, "" };
  struct stat st;
  int dir, r;

  if (fstat (fd, &st) < 0)
    return hutch_error_set (err, errno, "look at the tree to give to %u:%u", uid, gid);
  chown_entry (&c, fd, &st, &top);
  if (S_ISDIR (st.st_mode))
    {
      dir = openat (fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dir < 0)
        chown_failed (&c, errno, &top);
      else
        chown_children (&c, dir, &top, 0);
    }
  if (c.failed == 0)
    return 0;
  if (c.first_errno == ELOOP)
    r = hutch_error_set (err, 0,
                         "%lu file%s could not be given to %u:%u; the first, `%s`, is more than "
                         "%d directories deep",
                         c.failed, c.failed == 1 ? "" : "s", uid, gid, c.first,
                         HUTCH_WALK_MAX_DEPTH);
  else
    r = hutch_error_set (err, c.first_errno,
                         "%lu file%s could not be given to %u:%u; the first: `%s`", c.failed,
                         c.failed == 1 ? "" : "s", uid, gid, c.first);
  free (c.first);
  return r;
}

/* ---- copying a tree ----------------------------------------------------- */

/* A file of the source with more than one name: where its first name was
   copied, below the top of the copy.  */
struct copied_link
{
  dev_t dev;
  ino_t ino;
  char *path;
};

struct copier
{
  int dsttop;
  struct copied_link *links;
  size_t n_links;
  hutch_error_t *err;
};

static int
copy_failed (struct copier *c, int errnum, const char *what, const struct frame *f)
{
  _cleanup_free_ char *s = frame_path (f);
  if (errnum == ELOOP)
    return hutch_error_set (c->err, 0, "%s `%s`: it is more than %d directories deep", what, s,
                            HUTCH_WALK_MAX_DEPTH);
  return hutch_error_set (c->err, errnum, "%s `%s`", what, s);
}

/* The unsigned path of F below the top (for hard links; not shown).  */
static char *
frame_raw_path (const struct frame *f)
{
  char *up, *p;
  if (f->up == NULL)
    return hutch_xstrdup (f->name);
  up = frame_raw_path (f->up);
  p = *up ? hutch_xasprintf ("%s/%s", up, f->name) : hutch_xstrdup (f->name);
  free (up);
  return p;
}

/* SRC's extended attributes on FD, best effort as `cp -a` does: the
   kernel refuses some (security.*) in a user namespace.  overlayfs's own
   are not the file's.  */
static void
copy_xattrs (int src, int fd)
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
      char value[65536];
      ssize_t n = strstr (name, ".overlay.") ? -1 : fgetxattr (src, name, value, sizeof value);
      if (n >= 0)
        (void)fsetxattr (fd, name, value, (size_t)n, 0);
    }
}

/* The owner, mode and times of ST (the source's) on FD, an fd of the copy.
   An owner that is not mapped in the caller's user namespace (the kernel
   says EINVAL; EPERM without CAP_CHOWN) stays the caller's, as an unpacked
   layer's does.  */
static int
copy_meta (struct copier *c, int fd, const struct stat *st, const struct frame *f)
{
  struct timespec times[2] = { st->st_atim, st->st_mtim };

  if (fchown (fd, st->st_uid, st->st_gid) < 0 && errno != EINVAL && errno != EPERM)
    return copy_failed (c, errno, "give the copy of", f);
  /* After the chown, which clears the set-id bits.  */
  if (fchmod (fd, st->st_mode & 07777) < 0)
    return copy_failed (c, errno, "set the mode of the copy of", f);
  if (futimens (fd, times) < 0)
    return copy_failed (c, errno, "set the times of the copy of", f);
  return 0;
}

static int
copy_data (struct copier *c, int src, int dst, const struct frame *f)
{
  if (hutch_copy_fd (src, dst) < 0)
    return copy_failed (c, errno, "copy", f);
  return 0;
}

/* NAME in DSTDIR as a second name of the file first copied to FIRST.  */
static int
copy_link (struct copier *c, const char *first, int dstdir, const char *name, const struct frame *f)
{
  const char *slash = strrchr (first, '/');
  _cleanup_free_ char *parent
      = slash ? hutch_xstrndup (first, (size_t)(slash - first)) : hutch_xstrdup ("");
  _cleanup_close_ int pfd = hutch_walk_open_beneath (c->dsttop, parent, O_PATH | O_DIRECTORY,
                                                     RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV);

  if ((pfd < 0 || linkat (pfd, slash ? slash + 1 : first, dstdir, name, 0) < 0) && errno != EEXIST)
    return copy_failed (c, errno, "hard link", f);
  return 0;
}

static int
copy_file (struct copier *c, int srcdir, int dstdir, const char *name, const struct stat *st,
           const struct frame *f)
{
  _cleanup_close_ int src = -1, dst = -1;
  struct stat now;
  size_t i;

  for (i = 0; st->st_nlink > 1 && i < c->n_links; i++)
    if (c->links[i].dev == st->st_dev && c->links[i].ino == st->st_ino)
      return copy_link (c, c->links[i].path, dstdir, name, f);
  /* O_NONBLOCK: should it have become a FIFO since we looked, the open
     does not hang; it is skipped below.  */
  src = openat (srcdir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (src < 0 || fstat (src, &now) < 0)
    return copy_failed (c, errno, "open", f);
  if (!S_ISREG (now.st_mode))
    return 0;
  /* O_EXCL | O_NOFOLLOW: a name another process made meanwhile (a second
     container copying into the same new volume) is left alone, and a
     symlink planted there is never written through.  */
  dst = openat (dstdir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC,
                0600);
  if (dst < 0)
    return errno == EEXIST ? 0 : copy_failed (c, errno, "create the copy of", f);
  if (copy_data (c, src, dst, f) < 0)
    return -1;
  copy_xattrs (src, dst);
  if (copy_meta (c, dst, &now, f) < 0)
    return -1;
  if (now.st_nlink > 1)
    {
      c->links = hutch_xrealloc (c->links, (c->n_links + 1) * sizeof *c->links);
      c->links[c->n_links++] = (struct copied_link){ now.st_dev, now.st_ino, frame_raw_path (f) };
    }
  return 0;
}

/* A symlink is copied as a symlink (its target is text, never followed);
   a FIFO as a new FIFO.  Their metadata goes on the name, without
   following it.  */
static int
copy_special (struct copier *c, int srcdir, int dstdir, const char *name, const struct stat *st,
              const struct frame *f)
{
  struct timespec times[2] = { st->st_atim, st->st_mtim };

  if (S_ISLNK (st->st_mode))
    {
      char target[HUTCH_WALK_MAX_PATH + 1];
      ssize_t n = readlinkat (srcdir, name, target, sizeof target);
      if (n < 0 || (size_t)n >= sizeof target)
        return copy_failed (c, n < 0 ? errno : ENAMETOOLONG, "read the symlink", f);
      target[n] = '\0';
      if (symlinkat (target, dstdir, name) < 0)
        return errno == EEXIST ? 0 : copy_failed (c, errno, "copy the symlink", f);
    }
  else
    {
      if (mknodat (dstdir, name, S_IFIFO | 0600, 0) < 0)
        return errno == EEXIST ? 0 : copy_failed (c, errno, "copy the FIFO", f);
      if (chmod_nofollow (dstdir, name, st->st_mode & 07777) < 0)
        return copy_failed (c, errno, "set the mode of the copy of", f);
    }
  if (fchownat (dstdir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EINVAL
      && errno != EPERM)
    return copy_failed (c, errno, "give the copy of", f);
  if (utimensat (dstdir, name, times, AT_SYMLINK_NOFOLLOW) < 0)
    return copy_failed (c, errno, "set the times of the copy of", f);
  return 0;
}

static int copy_children (struct copier *c, int src, int dst, const struct frame *f, int depth);

/* Directories on both sides are opened relative to their parent's fd,
   without a symlink and without crossing a mount point.  */
static int
copy_dir (struct copier *c, int srcdir, int dstdir, const char *name, const struct stat *st,
          const struct frame *f, int depth)
{
  const uint64_t how = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV;
  _cleanup_close_ int dst = -1;
  int src;

  if (depth + 1 > HUTCH_WALK_MAX_DEPTH)
    return copy_failed (c, ELOOP, "copy", f);
  src = hutch_walk_open (srcdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, how);
  if (src < 0)
    return errno == EXDEV ? 0 : copy_failed (c, errno, "open", f);
  if ((mkdirat (dstdir, name, 0700) < 0 && errno != EEXIST)
      || (dst = hutch_walk_open (dstdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, how)) < 0)
    {
      int errnum = errno;
      close (src);
      return copy_failed (c, errnum, "create the copy of", f);
    }
  copy_xattrs (src, dst);
  /* Two fds a level (SRC goes to copy_children); the metadata last, as
     the times change while the entries come in.  */
  if (copy_children (c, src, dst, f, depth + 1) < 0)
    return -1;
  return copy_meta (c, dst, st, f);
}

/* The entries of SRC (taken: one fd a level on each side) into DST.  */
static int
copy_children (struct copier *c, int src, int dst, const struct frame *f, int depth)
{
  DIR *d = fdopendir (src);
  struct dirent *de;
  int r = 0;

  if (d == NULL)
    {
      close (src);
      return copy_failed (c, errno, "read", f);
    }
  while (r == 0 && (errno = 0, de = readdir (d)) != NULL)
    {
      struct frame child = { f, de->d_name };
      struct stat st;

      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (fstatat (dirfd (d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        r = errno == ENOENT ? 0 : copy_failed (c, errno, "look at", &child);
      else if (S_ISDIR (st.st_mode))
        r = copy_dir (c, dirfd (d), dst, de->d_name, &st, &child, depth);
      else if (S_ISREG (st.st_mode))
        r = copy_file (c, dirfd (d), dst, de->d_name, &st, &child);
      else if (S_ISLNK (st.st_mode) || S_ISFIFO (st.st_mode))
        r = copy_special (c, dirfd (d), dst, de->d_name, &st, &child);
      /* Device nodes and sockets are not copied: an unprivileged user
         namespace cannot make device nodes, and a socket is no content.  */
    }
  if (r == 0 && errno != 0)
    r = copy_failed (c, errno, "read", f);
  closedir (d);
  return r;
}

int
hutch_walk_copy_tree (int srcfd, int dstfd, hutch_error_t *err)
{
  struct copier c = { .dsttop = dstfd, .err = err };
  struct frame top = { NULL, "" };
  struct stat st;
  int src, r;
  size_t i;

  src = openat (srcfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (src < 0 || fstat (src, &st) < 0)
    {
      r = hutch_error_set (err, errno, "open the directory to copy");
      if (src >= 0)
        close (src);
      return r;
    }
  copy_xattrs (src, dstfd);
  r = copy_children (&c, src, dstfd, &top, 0);
  /* The top takes the source's owner and mode (docker's copy-up does):
     the image's /var/lib/db owned by its database user stays so.  */
  if (r == 0)
    r = copy_meta (&c, dstfd, &st, &top);
  for (i = 0; i < c.n_links; i++)
    free (c.links[i].path);
  free (c.links);
  return r;
}
