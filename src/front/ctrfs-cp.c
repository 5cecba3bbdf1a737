/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* hutch cp: docker cp's rules for paths (moby's pkg/archive/copy.go and
   the docker CLI's cp.go), carried out between a worker that sees the
   container (front/ctrfs.c) and this process, which sees the host.  What
   goes between them is a tar over a socket, with a record before it: the
   side that reads a source says what it found (whether it is a
   directory), the side that writes a destination says where symlinks led
   it and what is there; the host side decides where the archive is
   extracted and under which name (hutch_cp_plan).  Each side resolves
   only its own paths: the container's in its root (RESOLVE_IN_ROOT), the
   host's as the user's own.  */

#include "front/ctrfs-private.h"
#include "base/util.h"
#include "base/walk.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- docker's path forms ------------------------------------------------ */

/* Go's filepath.Clean.  */
static char *
go_clean (const char *path)
{
  bool rooted = path[0] == '/';
  char **parts = NULL, *out, *p;
  size_t n = 0, i, len = 0;
  const char *s = path;

  while (*s)
    {
      const char *end = strchrnul (s, '/');
      size_t k = (size_t)(end - s);

      if (k == 0 || (k == 1 && s[0] == '.'))
        ;
      else if (k == 2 && s[0] == '.' && s[1] == '.')
        {
          if (n > 0 && strcmp (parts[n - 1], "..") != 0)
            free (parts[--n]);
          else if (!rooted)
            {
              parts = hutch_xrealloc (parts, (n + 1) * sizeof *parts);
              parts[n++] = hutch_xstrdup ("..");
            }
        }
      else
        {
          parts = hutch_xrealloc (parts, (n + 1) * sizeof *parts);
          parts[n++] = hutch_xstrndup (s, k);
        }
      s = *end ? end + 1 : end;
    }
  for (i = 0; i < n; i++)
    len += strlen (parts[i]) + 1;
  out = p = hutch_xmalloc0 (len + 2);
  if (rooted)
    *p++ = '/';
  for (i = 0; i < n; i++)
    {
      p = stpcpy (p, parts[i]);
      if (i + 1 < n)
        *p++ = '/';
      free (parts[i]);
    }
  free (parts);
  if (*out == '\0')
    strcpy (out, ".");
  return out;
}

/* Go's filepath.Base.  */
static char *
go_base (const char *path)
{
  size_t n = strlen (path);
  const char *slash;

  if (n == 0)
    return hutch_xstrdup (".");
  while (n > 0 && path[n - 1] == '/')
    n--;
  if (n == 0)
    return hutch_xstrdup ("/");
  slash = memrchr (path, '/', n);
  return slash ? hutch_xstrndup (slash + 1, (size_t)(path + n - slash - 1))
               : hutch_xstrndup (path, n);
}

/* Go's filepath.Dir.  */
static char *
go_dir (const char *path)
{
  const char *slash = strrchr (path, '/');
  _cleanup_free_ char *d
      = slash ? hutch_xstrndup (path, (size_t)(slash - path + 1)) : hutch_xstrdup ("");
  return go_clean (d);
}

static bool
trailing_sep (const char *path)
{
  size_t n = strlen (path);
  return n > 0 && path[n - 1] == '/';
}

static bool
current_dir (const char *path)
{
  _cleanup_free_ char *b = go_base (path);
  return strcmp (b, ".") == 0;
}

bool
hutch_cp_asserts_dir (const char *path)
{
  return trailing_sep (path) || current_dir (path);
}

char *
hutch_cp_clean (const char *path)
{
  char *c = go_clean (path), *r;

  if (!current_dir (c) && current_dir (path))
    {
      r = hutch_xasprintf ("%s%s.", c, trailing_sep (c) ? "" : "/");
      free (c);
      c = r;
    }
  if (!trailing_sep (c) && trailing_sep (path))
    {
      r = hutch_xasprintf ("%s/", c);
      free (c);
      c = r;
    }
  return c;
}

void
hutch_cp_split (const char *path, char **ret_dir, char **ret_base)
{
  _cleanup_free_ char *c = go_clean (path);

  if (current_dir (path))
    {
      char *r = hutch_xasprintf ("%s/.", c);
      free (c);
      c = r;
    }
  *ret_dir = go_dir (c);
  *ret_base = go_base (c);
}

char *
hutch_cp_top_name (const char *path)
{
  _cleanup_free_ char *c = go_clean (path);

  if (strcmp (c, "/") == 0 || current_dir (path))
    return hutch_xstrdup (".");
  return go_base (c);
}

void
hutch_cp_split_arg (const char *arg, char **ret_container, char **ret_path)
{
  const char *colon = strchr (arg, ':');

  /* docker's splitCpArg: an absolute path is local; so is one without a
     colon, and one that starts with `.` (`./file:name`).  */
  if (arg[0] == '/' || colon == NULL || arg[0] == '.')
    {
      *ret_container = NULL;
      *ret_path = hutch_xstrdup (arg);
      return;
    }
  *ret_container = hutch_xstrndup (arg, (size_t)(colon - arg));
  *ret_path = hutch_xstrdup (colon + 1);
}

int
hutch_cp_plan (const struct hutch_cp_info *src, const struct hutch_cp_info *dst, char **ret_dir,
               char **ret_to, hutch_error_t *err)
{
  _cleanup_free_ char *dir = NULL, *base = NULL;

  *ret_dir = *ret_to = NULL;
  hutch_cp_split (dst->path, &dir, &base);
  if (dst->exists && dst->is_dir)
    {
      /* Into it, as it is.  */
      *ret_dir = hutch_xstrdup (dst->path);
      return 0;
    }
  if (dst->exists && src->is_dir)
    return hutch_error_set (err, 0,
                            "cannot copy a directory onto a file: `%s` exists and is no "
                            "directory; name a directory, or a path that does not exist yet",
                            dst->path);
  if (!dst->exists && !src->is_dir && hutch_cp_asserts_dir (dst->path))
    return hutch_error_set (err, 0,
                            "no such directory: `%s`; a file is copied into a directory that "
                            "exists, or to a path without a trailing `/`",
                            dst->path);
  /* Onto the file, or as the new name: the archive's top entry is
     renamed.  */
  *ret_dir = HUTCH_STEAL_PTR (dir);
  *ret_to = HUTCH_STEAL_PTR (base);
  return 0;
}

/* ---- one side's paths ------------------------------------------------------ */

/* PATH resolved from ROOTFD in the root, or on the host.  */
static int
resolve (int rootfd, bool in_root, const char *path, int flags)
{
  if (in_root)
    return hutch_walk_open_in_root (rootfd, path, flags, 0);
  return open (path, flags | O_CLOEXEC);
}

/* PATH as docker normalizes it: in a container, absolute from its root.  */
static char *
normalize (bool in_root, const char *path)
{
  _cleanup_free_ char *abs = in_root ? hutch_xasprintf ("/%s", path) : NULL;
  return hutch_cp_clean (in_root ? abs : path);
}

/* An error of PATH, in the container WHERE ("container NAME"), or on
   the host when WHERE is NULL.  */
static int
path_error (hutch_error_t *err, int errnum, const char *where, const char *path)
{
  _cleanup_free_ char *s = where ? hutch_walk_shown (path) : hutch_xstrdup (path);
  _cleanup_free_ char *in = where ? hutch_xasprintf (" in %s", where) : hutch_xstrdup ("");
  int r;

  if (errnum == ENOENT)
    r = hutch_error_set (err, 0, "no such file or directory%s: `%s`", in, s);
  else if (errnum == ENOTDIR && hutch_cp_asserts_dir (path))
    r = hutch_error_set (err, 0,
                         "`%s`%s is not a directory: it names a file, and a path that ends in "
                         "`/` names a directory",
                         s, in);
  else if (errnum == ENOTDIR)
    r = hutch_error_set (err, 0, "`%s`%s: a part of it is no directory", s, in);
  else if (errnum == ELOOP)
    r = hutch_error_set (err, 0, "`%s`%s: too many levels of symlinks", s, in);
  else
    return hutch_error_set (err, errnum, "`%s`%s", s, in);
  err->errnum = errnum;
  return r;
}

/* The top of a followed source: reopened for reading by the same path,
   and checked to be what the O_PATH look found (else it changed between
   the two).  */
static int
reopen_top (int rootfd, const char *where, const char *path, const struct stat *st, int *ret_fd,
            hutch_error_t *err)
{
  int flags = S_ISDIR (st->st_mode) ? O_RDONLY | O_DIRECTORY : O_RDONLY | O_NONBLOCK | O_NOCTTY;
  int fd = resolve (rootfd, where != NULL, path, flags);
  struct stat now;

  if (fd < 0)
    return path_error (err, errno, where, path);
  if (fstat (fd, &now) < 0 || now.st_dev != st->st_dev || now.st_ino != st->st_ino)
    {
      close (fd);
      return hutch_error_set (err, EAGAIN, "`%s` changed while it was opened; try again", path);
    }
  *ret_fd = fd;
  return 0;
}

int
ctrfs_cp_source (int rootfd, const char *where, const char *path, bool follow, int *ret_dirfd,
                 char **ret_name, struct stat *ret_st, hutch_error_t *err)
{
  bool in_root = where != NULL;
  _cleanup_free_ char *abs = normalize (in_root, path), *clean = go_clean (abs);
  _cleanup_free_ char *dir = NULL, *base = NULL;
  _cleanup_close_ int fd = -1;

  if (follow || hutch_cp_asserts_dir (abs) || strcmp (clean, "/") == 0)
    {
      fd = resolve (rootfd, in_root, abs, O_PATH);
      if (fd < 0 || fstat (fd, ret_st) < 0)
        return path_error (err, errno, where, abs);
      if (S_ISDIR (ret_st->st_mode) || S_ISREG (ret_st->st_mode))
        {
          close (fd);
          fd = -1;
          if (reopen_top (rootfd, where, abs, ret_st, &fd, err) < 0)
            return -1;
        }
      *ret_dirfd = HUTCH_STEAL_FD (fd);
      *ret_name = hutch_xstrdup ("");
      return 0;
    }
  /* The last component itself, not what it may point to: docker copies a
     symlink as a symlink.  */
  hutch_cp_split (abs, &dir, &base);
  fd = resolve (rootfd, in_root, dir, O_PATH | O_DIRECTORY);
  if (fd < 0)
    return path_error (err, errno, where, abs);
  if (fstatat (fd, base, ret_st, AT_SYMLINK_NOFOLLOW) < 0)
    return path_error (err, errno, where, abs);
  *ret_dirfd = HUTCH_STEAL_FD (fd);
  *ret_name = HUTCH_STEAL_PTR (base);
  return 0;
}

/* lstat of PATH (a path ending in `/` or `/.` follows its last symlink, as
   the kernel does): 0, or -1 with errno; for a symlink, *RET_DIRFD and
   *RET_BASE to read it.  */
static int
lstat_path (int rootfd, bool in_root, const char *path, struct stat *st, int *ret_dirfd,
            char **ret_base)
{
  _cleanup_free_ char *dir = NULL, *base = NULL, *clean = go_clean (path);
  int fd;

  *ret_dirfd = -1;
  *ret_base = NULL;
  if (hutch_cp_asserts_dir (path) || strcmp (clean, "/") == 0)
    {
      fd = resolve (rootfd, in_root, path, O_PATH);
      if (fd < 0)
        return -1;
      if (fstat (fd, st) < 0)
        {
          close (fd);
          return -1;
        }
      close (fd);
      return 0;
    }
  hutch_cp_split (path, &dir, &base);
  fd = resolve (rootfd, in_root, dir, O_PATH | O_DIRECTORY);
  if (fd < 0)
    return -1;
  if (fstatat (fd, base, st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      int e = errno;
      close (fd);
      errno = e;
      return -1;
    }
  *ret_dirfd = fd;
  *ret_base = HUTCH_STEAL_PTR (base);
  return 0;
}

int
ctrfs_cp_dest (int rootfd, const char *where, const char *path, char **ret_path,
               struct hutch_cp_info *ret, hutch_error_t *err)
{
  bool in_root = where != NULL;
  _cleanup_free_ char *p = normalize (in_root, path);
  int n;

  for (n = 0;; n++)
    {
      _cleanup_free_ char *base = NULL, *dir = NULL, *target = NULL;
      _cleanup_close_ int dirfd = -1;
      char buf[HUTCH_WALK_MAX_PATH + 1];
      struct stat st;
      ssize_t len;

      if (lstat_path (rootfd, in_root, p, &st, &dirfd, &base) < 0)
        {
          _cleanup_close_ int pfd = -1;
          if (errno != ENOENT)
            return path_error (err, errno, where, p);
          /* It may not exist; its directory must.  */
          hutch_cp_split (p, &dir, &target);
          pfd = resolve (rootfd, in_root, dir, O_PATH | O_DIRECTORY);
          if (pfd < 0)
            {
              _cleanup_free_ char *sd = in_root ? hutch_walk_shown (dir) : hutch_xstrdup (dir);
              hutch_error_set (err, 0, "no such directory%s%s: `%s`", in_root ? " in " : "",
                               in_root ? where : "", sd);
              err->errnum = ENOENT;
              return -1;
            }
          ret->exists = ret->is_dir = false;
          break;
        }
      if (!S_ISLNK (st.st_mode))
        {
          ret->exists = true;
          ret->is_dir = S_ISDIR (st.st_mode);
          break;
        }
      /* A symlink as the destination is followed: as a path, which the
         next round resolves again from the root.  */
      if (n >= 10)
        return hutch_error_set (err, ELOOP, "too many symlinks in `%s`", path);
      len = readlinkat (dirfd, base, buf, sizeof buf);
      if (len < 0 || (size_t)len >= sizeof buf)
        return path_error (err, len < 0 ? errno : ENAMETOOLONG, where, p);
      buf[len] = '\0';
      if (buf[0] == '/')
        target = go_clean (buf);
      else
        {
          _cleanup_free_ char *joined = NULL;
          hutch_cp_split (p, &dir, &base);
          joined = hutch_xasprintf ("%s/%s", dir, buf);
          target = go_clean (joined);
        }
      free (p);
      p = HUTCH_STEAL_PTR (target);
    }
  *ret_path = HUTCH_STEAL_PTR (p);
  ret->path = *ret_path;
  return 0;
}

/* ---- the records before the archive ---------------------------------------- */

struct rec
{
  int32_t status, exists, is_dir;
  uint32_t len[3];
};

static int
send_rec (int fd, int status, bool exists, bool is_dir, const char *s0, const char *s1,
          const char *s2)
{
  const char *s[3] = { s0, s1, s2 };
  struct rec r = { status, exists, is_dir, { 0, 0, 0 } };
  int i;

  for (i = 0; i < 3; i++)
    r.len[i] = s[i] ? (uint32_t)strlen (s[i]) + 1 : 0;
  if (hutch_write_all (fd, &r, sizeof r) < 0)
    return -1;
  for (i = 0; i < 3; i++)
    if (s[i] && hutch_write_all (fd, s[i], r.len[i]) < 0)
      return -1;
  return 0;
}

/* A record; a string that is absent is NULL.  */
static int
recv_rec (int fd, struct rec *r, char *s[3])
{
  int i;

  if (hutch_read_all (fd, r, sizeof *r) != (ssize_t)sizeof *r)
    return -1;
  for (i = 0; i < 3; i++)
    {
      s[i] = NULL;
      if (r->len[i] == 0)
        continue;
      if (r->len[i] > HUTCH_WALK_MAX_PATH * 16)
        return -1;
      s[i] = hutch_xmalloc0 (r->len[i] + 1);
      if (hutch_read_all (fd, s[i], r->len[i]) != (ssize_t)r->len[i])
        return -1;
      s[i][r->len[i]] = '\0';
    }
  return 0;
}

static void
free_strs (char *s[3])
{
  for (int i = 0; i < 3; i++)
    free (s[i]);
}

/* Copy FROM to TO to the end (a socket and a pipe or a file: read and
   write).  */
static int
pump (int from, int to)
{
  char buf[1 << 16];

  for (;;)
    {
      ssize_t n = read (from, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return (int)n;
      if (hutch_write_all (to, buf, (size_t)n) < 0)
        return -1;
    }
}

/* A write to the other side failed because it had gone.  */
static bool
socket_gone (int errnum)
{
  return errnum == EPIPE || errnum == ECONNRESET;
}

/* ERR becomes E (which is left empty).  */
static void
take_error (hutch_error_t *err, hutch_error_t *e)
{
  hutch_error_clear (err);
  *err = *e;
  memset (e, 0, sizeof *e);
}

/* ---- out of the container ---------------------------------------------------- */

struct out_job
{
  const char *where; /* "container NAME" */
  const char *path;
  bool follow;
  int sock;
};

/* In the worker: the source, then its archive.  */
static int
out_fn (void *arg, int rootfd, hutch_error_t *err)
{
  struct out_job *j = arg;
  _cleanup_free_ char *name = NULL, *abs = hutch_xasprintf ("/%s", j->path);
  _cleanup_free_ char *top = hutch_cp_top_name (abs);
  _cleanup_close_ int dirfd = -1;
  struct stat st;

  if (ctrfs_cp_source (rootfd, j->where, j->path, j->follow, &dirfd, &name, &st, err) < 0)
    {
      send_rec (j->sock, -1, false, false, NULL, NULL, NULL);
      return -1;
    }
  if (send_rec (j->sock, 0, true, S_ISDIR (st.st_mode), NULL, NULL, NULL) < 0)
    return hutch_error_set (err, errno, "send what was found");
  return ctrfs_tar_tree (j->sock, dirfd, name, top, "the container", false, err);
}

static int
cp_out (const struct ctrfs_view *v, const struct hutch_cp_opts *o, hutch_error_t *err)
{
  _cleanup_free_ char *where = hutch_xasprintf ("container %s", v->name);
  struct out_job j = { .where = where, .path = o->ctr_path, .follow = o->follow_link };
  _cleanup_free_ char *abs = hutch_xasprintf ("/%s", o->ctr_path), *top = hutch_cp_top_name (abs);
  _cleanup_free_ char *dpath = NULL, *dir = NULL, *to = NULL, *from = NULL;
  _cleanup_close_ int dfd = -1;
  struct hutch_cp_info src = { .path = abs, .exists = true }, dst = { 0 };
  struct ctrfs_extract x = { .owner = CTRFS_OWNER_CALLER };
  struct ctrfs_job *job = NULL;
  char *s[3] = { NULL, NULL, NULL };
  struct rec r;
  int sv[2], ret;

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return hutch_error_set (err, errno, "socketpair");
  j.sock = sv[1];
  ret = ctrfs_job_start (v, out_fn, &j, &sv[1], 1, &job, err);
  close (sv[1]);
  if (ret < 0)
    {
      close (sv[0]);
      return -1;
    }
  if (recv_rec (sv[0], &r, s) < 0 || r.status < 0)
    {
      free_strs (s);
      close (sv[0]);
      if (ctrfs_job_finish (job, err) == 0)
        hutch_error_set (err, 0, "the worker in the container's namespaces said nothing");
      return -1;
    }
  free_strs (s);
  src.is_dir = r.is_dir;
  if (strcmp (o->host_path, "-") == 0)
    ret = pump (sv[0], o->out_fd) < 0 ? hutch_error_set (err, errno, "write standard output") : 0;
  else if (ctrfs_cp_dest (AT_FDCWD, NULL, o->host_path, &dpath, &dst, err) < 0
           || hutch_cp_plan (&src, &dst, &dir, &to, err) < 0)
    ret = -1;
  else if ((dfd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
    ret = hutch_error_set (err, errno, "no such directory: `%s`", dir);
  else
    {
      _cleanup_free_ char *shown = hutch_xasprintf ("`%s`", dir);
      from = to ? hutch_xstrdup (strcmp (top, ".") == 0 ? "" : top) : NULL;
      x.where = shown;
      x.rebase_from = from;
      x.rebase_to = to;
      ret = ctrfs_tar_extract (sv[0], dfd, &x, err);
    }
  close (sv[0]);
  if (ret < 0)
    {
      /* The worker ends at the closed socket; when it failed first (and
         the archive stopped short), its error is the one that says why.  */
      hutch_error_t e = HUTCH_ERROR_INIT;
      if (ctrfs_job_finish (job, &e) < 0 && e.msg && !socket_gone (e.errnum))
        take_error (err, &e);
      hutch_error_clear (&e);
      return -1;
    }
  return ctrfs_job_finish (job, err);
}

/* ---- into the container ------------------------------------------------------ */

struct in_job
{
  const char *where;
  const char *path;
  int sock;
  struct ctrfs_extract x;
};

/* In the worker: where the destination leads, then (as the host side
   decided) the archive extracted there.  */
static int
in_fn (void *arg, int rootfd, hutch_error_t *err)
{
  struct in_job *j = arg;
  _cleanup_free_ char *dpath = NULL;
  _cleanup_close_ int dfd = -1;
  struct hutch_cp_info dst = { 0 };
  char *s[3] = { NULL, NULL, NULL };
  struct rec r;
  int ret;

  if (ctrfs_cp_dest (rootfd, j->where, j->path, &dpath, &dst, err) < 0)
    {
      send_rec (j->sock, -1, false, false, NULL, NULL, NULL);
      return -1;
    }
  if (send_rec (j->sock, 0, dst.exists, dst.is_dir, dpath, NULL, NULL) < 0)
    return hutch_error_set (err, errno, "send what was found");
  if (recv_rec (j->sock, &r, s) < 0 || r.status < 0 || s[0] == NULL)
    {
      free_strs (s);
      return 0; /* the host side gave up, and says why */
    }
  dfd = hutch_walk_open_in_root (rootfd, s[0], O_PATH | O_DIRECTORY, 0);
  if (dfd < 0)
    {
      ret = path_error (err, errno, j->where, s[0]);
      free_strs (s);
      return ret;
    }
  j->x.rebase_from = s[1];
  j->x.rebase_to = s[2];
  ret = ctrfs_tar_extract (j->sock, dfd, &j->x, err);
  free_strs (s);
  return ret;
}

/* The host side of a copy in: the archive of the source (or standard
   input) to SOCK.  */
static int
send_source (const struct hutch_cp_opts *o, int sock, int dirfd, const char *name, const char *top,
             hutch_error_t *err)
{
  if (strcmp (o->host_path, "-") == 0)
    return pump (o->in_fd, sock) < 0 ? hutch_error_set (err, errno, "read standard input") : 0;
  return ctrfs_tar_tree (sock, dirfd, name, top, "the host", false, err);
}

static int
cp_in (const struct ctrfs_view *v, const struct hutch_cp_opts *o, hutch_error_t *err)
{
  bool stream = strcmp (o->host_path, "-") == 0;
  _cleanup_free_ char *hname = NULL, *top = stream ? NULL : hutch_cp_top_name (o->host_path);
  _cleanup_free_ char *dir = NULL, *to = NULL;
  _cleanup_close_ int hdirfd = -1;
  _cleanup_free_ char *where = hutch_xasprintf ("container %s", v->name);
  struct in_job j = { .where = where, .path = o->ctr_path };
  struct hutch_cp_info src = { .path = o->host_path, .exists = true }, dst = { 0 };
  struct ctrfs_job *job = NULL;
  char *s[3] = { NULL, NULL, NULL };
  struct stat hst;
  struct rec r;
  int sv[2], ret;

  if (!stream
      && ctrfs_cp_source (AT_FDCWD, NULL, o->host_path, o->follow_link, &hdirfd, &hname, &hst, err)
             < 0)
    return -1;
  src.is_dir = !stream && S_ISDIR (hst.st_mode);
  j.x.where = "the container";
  j.x.compressed = stream;
  if (!o->archive)
    j.x.owner = CTRFS_OWNER_FIXED; /* the container's root: 0:0 */
  else
    j.x.owner = stream ? CTRFS_OWNER_ARCHIVE : CTRFS_OWNER_MAP;
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return hutch_error_set (err, errno, "socketpair");
  j.sock = sv[1];
  ret = ctrfs_job_start (v, in_fn, &j, &sv[1], 1, &job, err);
  close (sv[1]);
  if (ret < 0)
    {
      close (sv[0]);
      return -1;
    }
  if (recv_rec (sv[0], &r, s) < 0 || r.status < 0 || s[0] == NULL)
    {
      free_strs (s);
      close (sv[0]);
      if (ctrfs_job_finish (job, err) == 0)
        hutch_error_set (err, 0, "the worker in the container's namespaces said nothing");
      return -1;
    }
  dst.path = s[0];
  dst.exists = r.exists;
  dst.is_dir = r.is_dir;
  if (stream && !(dst.exists && dst.is_dir))
    ret = hutch_error_set (err, 0,
                           "the destination `%s` must be an existing directory to extract a tar "
                           "from standard input into",
                           o->ctr_path);
  else if (stream)
    dir = hutch_xstrdup (dst.path);
  else
    ret = hutch_cp_plan (&src, &dst, &dir, &to, err);
  if (ret < 0)
    send_rec (sv[0], -1, false, false, NULL, NULL, NULL);
  else if (send_rec (sv[0], 0, false, false, dir, to ? (strcmp (top, ".") == 0 ? "" : top) : NULL,
                     to)
               < 0
           || send_source (o, sv[0], hdirfd, hname, top, err) < 0)
    ret = -1;
  free_strs (s);
  shutdown (sv[0], SHUT_WR);
  if (ret < 0)
    {
      /* When the socket was gone, the worker failed first, and its
         error is the one that says why.  */
      hutch_error_t e = HUTCH_ERROR_INIT;
      if (ctrfs_job_finish (job, &e) < 0 && e.msg && socket_gone (err->errnum))
        take_error (err, &e);
      hutch_error_clear (&e);
      close (sv[0]);
      return -1;
    }
  ret = ctrfs_job_finish (job, err);
  close (sv[0]);
  return ret;
}

int
hutch_ctrfs_cp (const struct hutch_ctr *c, const struct hutch_state *st,
                const struct hutch_cp_opts *o, hutch_error_t *err)
{
  struct sigaction ign = { 0 }, old;
  struct ctrfs_view v;
  int r;

  if (ctrfs_view_open (c, st, "cp", o->to_container, &v, err) < 0)
    return -1;
  /* A side that gives up closes its end: a write to it is an error to
     report, not a signal that kills.  */
  ign.sa_handler = SIG_IGN;
  sigaction (SIGPIPE, &ign, &old);
  r = o->to_container ? cp_in (&v, o, err) : cp_out (&v, o, err);
  sigaction (SIGPIPE, &old, NULL);
  ctrfs_view_close (&v);
  return r;
}
