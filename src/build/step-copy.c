/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* COPY, ADD and WORKDIR's directory: a layer made from the sources
   directly, never by running anything in the image.

   The layer is written by a worker, root of a user namespace with the
   user's map (runtime/nsexec.h), so that files of the image and of other
   stages, owned by subordinate ids, can be read, and --chown names are
   looked up in the image's own /etc/passwd and /etc/group.  The worker
   sees the image through a read-only overlay of its layers, mounted
   detached in a mount namespace of its own (no path leads to it), and
   resolves the destination inside it one component at a time, each
   symlink read with readlinkat and followed as the image would follow it
   (an absolute target from the image's root, `..` never above it):
   Debian's /lib, /bin and /sbin are symlinks to usr/, and COPY x /lib/y
   must write usr/lib/y, not a directory lib that would hide the link.
   Nothing of the image is executed; the context is read beneath its
   directory (build/context.h).  */

#include "build/build-private.h"
#include "base/util.h"
#include "base/walk.h"
#include "front/user.h"
#include "image/image.h"
#include "image/layerwrite.h"
#include "image/unpack.h"
#include "registry/urlfetch.h"
#include "base/digest.h"
#include "runtime/mount.h"
#include "runtime/nsexec.h"
#include "runtime/spec.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINKS 40

/* ---- the image, seen from the worker -------------------------------------- */

/* An fd of the root of the image whose layer directories are LOWERS
   (topmost first): -1 and no error for an image without layers.  */
static int
open_view (char *const *lowers, bool *unshared, hutch_error_t *err)
{
  size_t n = hutch_strv_len (lowers);
  struct hutch_overlay ov = { 0 };
  int fd;

  if (n == 0)
    return -1;
  if (n == 1)
    {
      fd = open (lowers[0], O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0)
        hutch_error_set (err, errno, "open `%s`", lowers[0]);
      return fd < 0 ? -2 : fd;
    }
  /* fsopen needs a mount namespace that this user namespace owns; the
     mount itself is never attached anywhere.  */
  if (!*unshared && unshare (CLONE_NEWNS) < 0)
    {
      hutch_error_set (err, errno, "create a mount namespace");
      return -2;
    }
  *unshared = true;
  ov.driver = HUTCH_DRIVER_OVERLAY;
  ov.lower = (char **)lowers;
  fd = hutch_overlay_mount (&ov, err);
  return fd < 0 ? -2 : fd;
}

/* Split PATH at `/` into *V (components, no empty ones).  */
static void
split_path (const char *path, char ***v)
{
  _cleanup_free_ char *copy = hutch_xstrdup (path);
  char *save = NULL, *tok;

  for (tok = strtok_r (copy, "/", &save); tok; tok = strtok_r (NULL, "/", &save))
    hutch_strv_push (v, hutch_xstrdup (tok));
}

static char *
join_parts (char *const *parts, size_t n)
{
  char *out = hutch_xstrdup ("");
  size_t i;

  for (i = 0; i < n; i++)
    {
      char *next = hutch_xasprintf ("%s%s%s", out, i ? "/" : "", parts[i]);
      free (out);
      out = next;
    }
  return out;
}

struct resolved
{
  char *path;  /* relative to the root, no leading `/` ("" is the root) */
  bool exists; /* the whole path exists (as a non-symlink, or a dangling link) */
  bool is_dir;
  size_t n_missing; /* how many trailing components do not exist */
};

/* PATH (absolute in the image) resolved in the image at ROOTFD (-1: an
   empty image), every symlink followed within it.  */
static int
resolve_in_image (int rootfd, const char *path, struct resolved *ret, hutch_error_t *err)
{
  _cleanup_strv_ char **queue = hutch_xmalloc0 (sizeof (char *));
  char **done = hutch_xmalloc0 (sizeof (char *));
  size_t qi = 0, nd = 0, links = 0;
  bool missing = false;

  memset (ret, 0, sizeof *ret);
  split_path (path, &queue);
  ret->exists = true;
  ret->is_dir = true;
  while (queue[qi])
    {
      const char *c = queue[qi++];
      _cleanup_free_ char *cand = NULL;
      struct stat sb;

      if (strcmp (c, ".") == 0)
        continue;
      if (strcmp (c, "..") == 0)
        {
          if (nd > 0 && !missing)
            {
              free (done[--nd]);
              done[nd] = NULL;
            }
          continue;
        }
      hutch_strv_push (&done, hutch_xstrdup (c));
      nd++;
      if (missing)
        {
          ret->n_missing++;
          continue;
        }
      cand = join_parts (done, nd);
      if (rootfd < 0 || fstatat (rootfd, cand, &sb, AT_SYMLINK_NOFOLLOW) < 0)
        {
          if (rootfd >= 0 && errno != ENOENT && errno != ENOTDIR)
            {
              hutch_strv_free (done);
              return hutch_error_set (err, errno, "`/%s` in the image", cand);
            }
          missing = true;
          ret->n_missing++;
          continue;
        }
      if (S_ISLNK (sb.st_mode))
        {
          char target[4096];
          ssize_t n = readlinkat (rootfd, cand, target, sizeof target - 1);
          _cleanup_strv_ char **rest = NULL;
          size_t k;

          if (n < 0 || ++links > MAX_LINKS)
            {
              hutch_strv_free (done);
              return hutch_error_set (err, n < 0 ? errno : ELOOP, "`/%s` in the image", cand);
            }
          target[n] = '\0';
          /* The link's name goes; an absolute target starts again from
             the root, a relative one from the link's directory.  */
          free (done[--nd]);
          done[nd] = NULL;
          if (target[0] == '/')
            while (nd > 0)
              {
                free (done[--nd]);
                done[nd] = NULL;
              }
          rest = hutch_xmalloc0 (sizeof (char *));
          split_path (target, &rest);
          for (k = qi; queue[k]; k++)
            hutch_strv_push (&rest, hutch_xstrdup (queue[k]));
          hutch_strv_free (queue);
          queue = HUTCH_STEAL_PTR (rest);
          qi = 0;
          continue;
        }
      ret->is_dir = S_ISDIR (sb.st_mode);
      if (!ret->is_dir && queue[qi])
        {
          hutch_strv_free (done);
          return hutch_error_set (err, ENOTDIR, "`/%s` in the image", cand);
        }
    }
  ret->exists = !missing;
  if (missing)
    ret->is_dir = false;
  ret->path = join_parts (done, nd);
  hutch_strv_free (done);
  return 0;
}

/* ---- what the worker does -------------------------------------------------- */

enum src_kind
{
  SRC_CONTEXT, /* a path of the build context */
  SRC_IMAGE,   /* a path in another stage or image */
  SRC_DATA,    /* a heredoc */
  SRC_ARCHIVE, /* ADD of a local tar: unpacked */
  SRC_FILE,    /* ADD of a URL: the downloaded file, FD */
};

struct src
{
  enum src_kind kind;
  char *path; /* context: relative to it; image: absolute; data: the name */
  char *data; /* heredoc's content */
  int fd;     /* SRC_FILE: the download (the caller closes it) */
};

struct copy_job
{
  struct build *b;
  struct src *srcs;
  size_t n_srcs;
  char *dest;         /* absolute, cleaned, in the image */
  bool dest_dir;      /* the destination names a directory (ends in `/`, or several sources) */
  char **lowers;      /* the image's layers, topmost first */
  char **from_lowers; /* SRC_IMAGE's, topmost first */
  char *chown_user, *chown_group; /* NULL: none */
  int mode;                       /* --chmod, or -1 */
  bool mkdir_only;                /* WORKDIR: DEST as a directory, nothing else */
  int ctxfd;
  int fd; /* the layer file */
  int64_t clamp;
  int64_t now;
  /* in the worker */
  struct hutch_layer_writer *w;
  struct hutch_layer_meta meta;
  int rootfd;
  unsigned long entries;
};

/* Directories made in the layer so far, so that each is written once.  */
struct made
{
  char **dirs;
};

static int64_t
job_time (struct copy_job *j, int64_t t)
{
  if (j->clamp >= 0 && t > j->clamp)
    return j->clamp;
  return t;
}

/* The missing parents of REL (a path relative to the root that resolves
   to itself), as directories owned by the --chown owner (or root).  */
static int
add_parents (struct copy_job *j, struct made *m, const char *rel, bool include_self,
             hutch_error_t *err)
{
  _cleanup_strv_ char **parts = hutch_xmalloc0 (sizeof (char *));
  size_t n, k, last;

  split_path (rel, &parts);
  n = hutch_strv_len (parts);
  last = include_self ? n : (n ? n - 1 : 0);
  for (k = 1; k <= last; k++)
    {
      _cleanup_free_ char *p = join_parts (parts, k);
      struct stat sb;
      size_t d;
      bool seen = false;

      for (d = 0; m->dirs && m->dirs[d]; d++)
        seen = seen || strcmp (m->dirs[d], p) == 0;
      if (seen || (j->rootfd >= 0 && fstatat (j->rootfd, p, &sb, AT_SYMLINK_NOFOLLOW) == 0))
        continue;
      if (hutch_layer_writer_add_dir (j->w, p, 0755, j->meta.uid < 0 ? 0 : j->meta.uid,
                                      j->meta.gid < 0 ? 0 : j->meta.gid, job_time (j, j->now), err)
          < 0)
        return -1;
      hutch_strv_push (&m->dirs, hutch_xstrdup (p));
      j->entries++;
    }
  return 0;
}

/* Where the entry REL of a source goes: under DEST, each directory
   resolved in the image (a directory of the source that meets a symlink
   to a directory in the image goes where the link leads).  An entry that
   is no directory replaces what the image has under its name (a symlink
   there is not followed).  */
static int
dest_of (struct copy_job *j, const char *base, const char *rel, bool is_dir, char **ret,
         hutch_error_t *err)
{
  _cleanup_free_ char *abs = NULL, *parent = NULL;
  const char *slash = strrchr (rel, '/'), *name = slash ? slash + 1 : rel;
  struct resolved r;

  if (*rel == '\0')
    {
      *ret = hutch_xstrdup (base);
      return 0;
    }
  if (is_dir)
    {
      abs = hutch_xasprintf ("/%s/%s", base, rel);
      if (resolve_in_image (j->rootfd, abs, &r, err) < 0)
        return -1;
      *ret = r.path;
      return 0;
    }
  parent = slash ? hutch_xasprintf ("/%s/%.*s", base, (int)(slash - rel), rel)
                 : hutch_xasprintf ("/%s", base);
  if (resolve_in_image (j->rootfd, parent, &r, err) < 0)
    return -1;
  *ret = *r.path ? hutch_xasprintf ("%s/%s", r.path, name) : hutch_xstrdup (name);
  free (r.path);
  return 0;
}

struct walk_ctx
{
  struct copy_job *j;
  struct made *m;
  const char *base; /* resolved destination of the source's top */
  bool top_is_dir;
  bool keep_owner; /* SRC_IMAGE and archives: the files' own owners unless --chown */
};

static int
add_one (void *data, const char *rel, int dirfd, const char *name, const struct stat *st,
         hutch_error_t *err)
{
  struct walk_ctx *c = data;
  struct copy_job *j = c->j;
  struct hutch_layer_meta meta = j->meta;
  _cleanup_free_ char *arc = NULL;

  if (*rel == '\0' && S_ISDIR (st->st_mode))
    {
      /* The top directory's contents go into the destination; the
         destination itself is written only when the image lacks it.  */
      struct stat sb;
      if (j->rootfd >= 0 && fstatat (j->rootfd, c->base, &sb, AT_SYMLINK_NOFOLLOW) == 0)
        return 0;
      if (*c->base == '\0')
        return 0;
    }
  if (dest_of (j, c->base, rel, S_ISDIR (st->st_mode), &arc, err) < 0)
    return -1;
  if (*arc == '\0')
    return 0; /* the root itself */
  if (S_ISDIR (st->st_mode))
    {
      size_t d;
      for (d = 0; c->m->dirs[d]; d++)
        if (strcmp (c->m->dirs[d], arc) == 0)
          return 0; /* made already */
    }
  if (add_parents (j, c->m, arc, false, err) < 0)
    return -1;
  if (!c->keep_owner)
    {
      if (meta.uid < 0)
        meta.uid = 0;
      if (meta.gid < 0)
        meta.gid = 0;
    }
  if (S_ISDIR (st->st_mode))
    hutch_strv_push (&c->m->dirs, hutch_xstrdup (arc));
  j->entries++;
  return hutch_layer_writer_add (j->w, dirfd, name, st, arc, &meta, err);
}

struct sorted_adapter
{
  int (*fn) (void *, const char *, int, const char *, const struct stat *, hutch_error_t *);
  void *data;
};

static int
sorted_entry (void *data, const struct hutch_walk_entry *e, hutch_error_t *err)
{
  struct sorted_adapter *a = data;
  int r = a->fn (a->data, e->path, e->dirfd, e->name, e->st, err);

  return r < 0 ? r : HUTCH_WALK_ENTER;
}

int
build_walk_tree (int dirfd,
                 int (*fn) (void *, const char *, int, const char *, const struct stat *,
                            hutch_error_t *),
                 void *data, hutch_error_t *err)
{
  struct sorted_adapter a = { fn, data };

  return hutch_walk_sorted (dirfd, sorted_entry, &a, err);
}

/* The destination of source S: DEST itself for one file onto a name,
   else DEST/BASENAME for a file, DEST for a directory's contents.  */
static int
source_base (struct copy_job *j, const char *basename, bool is_dir, char **ret, hutch_error_t *err)
{
  struct resolved r;
  int rr;

  if (resolve_in_image (j->rootfd, j->dest, &r, err) < 0)
    return -1;
  if (is_dir || !(j->dest_dir || (r.exists && r.is_dir)))
    {
      *ret = r.path;
      return 0;
    }
  {
    _cleanup_free_ char *p = hutch_xasprintf ("/%s/%s", r.path, basename);
    free (r.path);
    rr = resolve_in_image (j->rootfd, p, &r, err);
  }
  if (rr < 0)
    return -1;
  *ret = r.path;
  return 0;
}

static int
copy_context (struct copy_job *j, struct made *m, const struct src *s, hutch_error_t *err)
{
  _cleanup_free_ char *base = NULL;
  const char *slash = strrchr (s->path, '/');
  struct walk_ctx c = { j, m, NULL, false, false };
  _cleanup_close_ int fd = -1;
  struct stat sb;

  /* The top followed when it is a symlink within the context.  */
  fd = *s->path ? hutch_walk_open_beneath (j->ctxfd, s->path, O_PATH, 0)
                : openat (j->ctxfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fstat (fd, &sb) < 0)
    return hutch_error_set (err, errno, "COPY source `%s` in the context", s->path);
  if (source_base (j, slash ? slash + 1 : s->path, S_ISDIR (sb.st_mode), &base, err) < 0)
    return -1;
  if (add_parents (j, m, base, false, err) < 0)
    return -1;
  c.base = base;
  return hutch_context_walk (j->b->ctx, s->path, add_one, &c, err);
}

static int
copy_tree (struct copy_job *j, struct made *m, int topdir, const char *top_name, int topfd,
           const struct stat *top, const char *basename, bool keep_owner, hutch_error_t *err)
{
  _cleanup_free_ char *base = NULL;
  struct walk_ctx c = { j, m, NULL, S_ISDIR (top->st_mode), keep_owner };

  if (source_base (j, basename, S_ISDIR (top->st_mode), &base, err) < 0)
    return -1;
  if (add_parents (j, m, base, false, err) < 0)
    return -1;
  c.base = base;
  if (add_one (&c, "", topdir, top_name, top, err) < 0)
    return -1;
  if (!S_ISDIR (top->st_mode))
    return 0;
  return build_walk_tree (topfd, add_one, &c, err);
}

static int
copy_from_image (struct copy_job *j, struct made *m, int fromfd, const struct src *s,
                 hutch_error_t *err)
{
  _cleanup_close_ int fd = -1;
  const char *slash = strrchr (s->path, '/');
  struct stat sb;

  if (fromfd < 0)
    return hutch_error_set (err, ENOENT, "COPY --from source `%s`", s->path);
  /* Followed (in that root) when a symlink, as BuildKit follows a
     source's own link; the writer reads what FD is (name "").  Not
     blocking: a FIFO of the stage must not hang the build.  */
  fd = hutch_walk_open_in_root (fromfd, s->path, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
  if (fd < 0)
    fd = hutch_walk_open_in_root (fromfd, s->path, O_PATH, 0);
  if (fd < 0 || fstat (fd, &sb) < 0)
    return hutch_error_set (err, errno, "COPY --from source `%s`", s->path);
  return copy_tree (j, m, fd, "", fd, &sb, slash ? slash + 1 : s->path, true, err);
}

/* ADD of a local archive: unpacked into a directory of the store's tmp/
   (the unpacker's checks: no entry outside it), then copied as a tree
   with its own owners.  */
static int
copy_archive (struct copy_job *j, struct made *m, const struct src *s, hutch_error_t *err)
{
  _cleanup_free_ char *tmp = NULL;
  _cleanup_close_ int in = -1, dfd = -1;
  struct hutch_unpack_opts uo = { .whiteouts = HUTCH_WHITEOUT_OVERLAY, .chown = true };
  struct stat sb;
  char hex[17];
  int r;

  in = hutch_walk_open_beneath (j->ctxfd, s->path, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
  if (in < 0 || fstat (in, &sb) < 0)
    return hutch_error_set (err, errno, "ADD source `%s`", s->path);
  if (!S_ISREG (sb.st_mode))
    return hutch_error_set (err, 0, "ADD source `%s` is no longer a file", s->path);
  if (hutch_random_hex (hex, 16) < 0)
    return hutch_error_set (err, errno, "a random name");
  hex[16] = '\0';
  tmp = hutch_xasprintf ("%s/tmp/add-%d-%s", j->b->store_root, (int)getpid (), hex);
  if (mkdir (tmp, 0700) < 0)
    return hutch_error_set (err, errno, "create `%s`", tmp);
  dfd = open (tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || fstat (dfd, &sb) < 0)
    r = hutch_error_set (err, errno, "open `%s`", tmp);
  else if (hutch_archive_unpack (in, dfd, &uo, NULL, err) < 0)
    r = hutch_error_prefix (err, "ADD `%s`", s->path);
  else
    {
      struct walk_ctx c = { j, m, NULL, true, true };
      _cleanup_free_ char *base = NULL;
      r = source_base (j, "", true, &base, err);
      if (r == 0)
        r = add_parents (j, m, base, true, err);
      c.base = base;
      if (r == 0)
        r = build_walk_tree (dfd, add_one, &c, err);
    }
  hutch_userns_remove (tmp, NULL);
  return r;
}

/* ADD URL: the file as downloaded, under the name the URL gives it
   (mode 0600 unless --chmod, its time the server's Last-Modified, as
   BuildKit's).  */
static int
copy_file (struct copy_job *j, struct made *m, const struct src *s, hutch_error_t *err)
{
  struct walk_ctx c = { j, m, NULL, false, false };
  _cleanup_free_ char *base = NULL;
  struct stat sb;

  if (fstat (s->fd, &sb) < 0)
    return hutch_error_set (err, errno, "ADD `%s`", s->data);
  if (source_base (j, s->path, false, &base, err) < 0 || add_parents (j, m, base, false, err) < 0)
    return -1;
  c.base = base;
  return add_one (&c, "", s->fd, "", &sb, err);
}

static int
copy_data (struct copy_job *j, struct made *m, const struct src *s, hutch_error_t *err)
{
  _cleanup_free_ char *base = NULL;
  int mode = j->mode >= 0 ? j->mode : 0644;

  if (source_base (j, s->path, false, &base, err) < 0 || add_parents (j, m, base, false, err) < 0)
    return -1;
  j->entries++;
  return hutch_layer_writer_add_data (j->w, base, s->data, strlen (s->data), mode,
                                      j->meta.uid < 0 ? 0 : j->meta.uid,
                                      j->meta.gid < 0 ? 0 : j->meta.gid, job_time (j, j->now), err);
}

/* --chown USER[:GROUP] as numbers: names from the image's /etc/passwd
   and /etc/group; a number alone is also the group (as BuildKit).  */
static int
chown_ids (struct copy_job *j, hutch_error_t *err)
{
  struct hutch_user u = { 0 };
  unsigned int id;

  j->meta.uid = j->meta.gid = -1;
  j->meta.mode = j->mode;
  if (j->chown_user == NULL)
    return 0;
  if (hutch_parse_u32 (j->chown_user, &id) == 0 && j->chown_group == NULL)
    {
      j->meta.uid = j->meta.gid = id;
      return 0;
    }
  if (hutch_user_resolve (j->rootfd, j->rootfd, j->chown_user, j->chown_group, &u, err) < 0)
    return hutch_error_prefix (err, "--chown");
  j->meta.uid = u.uid;
  j->meta.gid = u.gid;
  hutch_user_clear (&u);
  return 0;
}

static int
copy_fn (void *arg, char *out, size_t out_len, hutch_error_t *err)
{
  struct copy_job *j = arg;
  struct hutch_layer_write_opts wo = { .gzip = true, .clamp_time = j->clamp };
  struct hutch_layer_digests d;
  struct made m = { hutch_xmalloc0 (sizeof (char *)) };
  bool unshared = false;
  int fromfd = -1, r = 0;
  size_t k;

  j->rootfd = open_view (j->lowers, &unshared, err);
  if (j->rootfd == -2)
    return -1;
  if (j->from_lowers)
    {
      fromfd = open_view (j->from_lowers, &unshared, err);
      if (fromfd == -2)
        return -1;
    }
  if (chown_ids (j, err) < 0 || hutch_layer_writer_open (j->fd, &wo, &j->w, err) < 0)
    return -1;
  if (j->mkdir_only)
    {
      struct resolved res;
      r = resolve_in_image (j->rootfd, j->dest, &res, err);
      if (r == 0 && res.exists && !res.is_dir)
        r = hutch_error_set (err, ENOTDIR, "`%s` in the image", j->dest);
      if (r == 0)
        r = add_parents (j, &m, res.path, true, err);
      free (res.path);
    }
  for (k = 0; r == 0 && k < j->n_srcs; k++)
    switch (j->srcs[k].kind)
      {
      case SRC_CONTEXT:
        r = copy_context (j, &m, &j->srcs[k], err);
        break;
      case SRC_IMAGE:
        r = copy_from_image (j, &m, fromfd, &j->srcs[k], err);
        break;
      case SRC_DATA:
        r = copy_data (j, &m, &j->srcs[k], err);
        break;
      case SRC_ARCHIVE:
        r = copy_archive (j, &m, &j->srcs[k], err);
        break;
      case SRC_FILE:
        r = copy_file (j, &m, &j->srcs[k], err);
        break;
      }
  hutch_strv_free (m.dirs);
  if (r < 0)
    {
      hutch_layer_writer_abort (j->w);
      return -1;
    }
  if (hutch_layer_writer_finish (j->w, &d, err) < 0)
    return -1;
  hutch_layer_digests_format (&d, out, out_len);
  return 0;
}

/* ---- in hutch ------------------------------------------------------------- */

static void
srcs_free (struct src *s, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    {
      free (s[i].path);
      free (s[i].data);
      if (s[i].fd >= 0)
        close (s[i].fd);
    }
  free (s);
}

static void
src_add (struct copy_job *j, enum src_kind kind, const char *path, const char *data)
{
  j->srcs = realloc (j->srcs, (j->n_srcs + 1) * sizeof *j->srcs);
  if (j->srcs == NULL)
    abort ();
  j->srcs[j->n_srcs].kind = kind;
  j->srcs[j->n_srcs].path = hutch_xstrdup (path);
  j->srcs[j->n_srcs].data = data ? hutch_xstrdup (data) : NULL;
  j->srcs[j->n_srcs].fd = -1;
  j->n_srcs++;
}

/* Run J in a worker and add its layer to the stage: *RET_EMPTY when it
   wrote nothing.  */
static int
run_job (struct bstate *st, struct copy_job *j, struct hutch_store_layer *ret, bool *ret_empty,
         hutch_error_t *err)
{
  struct build *b = st->b;
  _cleanup_close_ int fd = hutch_layer_scratch (b->store, err);
  struct hutch_userns_job *job = NULL;
  struct hutch_layer_digests d;
  char out[HUTCH_USERNS_OUT_MAX];
  _cleanup_free_ int *keep = hutch_xmalloc0 ((j->n_srcs + 2) * sizeof (int));
  size_t n_keep = 1, k;

  if (fd < 0)
    return -1;
  j->fd = fd;
  keep[0] = fd;
  if (j->ctxfd >= 0)
    keep[n_keep++] = j->ctxfd;
  for (k = 0; k < j->n_srcs; k++)
    if (j->srcs[k].fd >= 0)
      keep[n_keep++] = j->srcs[k].fd;
  hutch_unpack_preload ();
  if (hutch_userns_start (copy_fn, j, keep, n_keep, &job, err) < 0
      || hutch_userns_finish (job, out, sizeof out, err) < 0)
    return -1;
  if (hutch_layer_digests_parse (out, &d, err) < 0)
    return -1;
  if (d.entries == 0)
    {
      *ret_empty = true;
      return 0;
    }
  *ret_empty = false;
  return hutch_layer_put (b->store, fd, &d, ret, err);
}

/* Finish a step that made (or found, at TIME) LAYER under KEY.  */
static void
step_done (struct bstate *st, const struct hutch_df_instr *i, const char *key,
           struct hutch_store_layer *layer, bool empty, const char *time)
{
  if (!empty)
    {
      bimage_add_layer (&st->img, layer);
      bimage_set_time (st->b, &st->img, time);
    }
  free (layer->digest);
  free (layer->diff_id);
  free (layer->media_type);
  bimage_history (&st->img, i->original, empty);
  memcpy (st->img.key, key, 65);
}

/* Whether the context file REL is a tar archive (any compression
   libarchive reads): ADD unpacks it, as docker does, by its content.  */
static bool
is_archive (struct build *b, const char *rel)
{
  _cleanup_close_ int fd = hutch_walk_open_beneath (hutch_context_fd (b->ctx), rel,
                                                    O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
  unsigned char h[512];
  ssize_t n;
  struct stat sb;

  if (fd < 0 || fstat (fd, &sb) < 0 || !S_ISREG (sb.st_mode))
    return false;
  n = pread (fd, h, sizeof h, 0);
  if (n < 6)
    return false;
  if ((h[0] == 0x1f && h[1] == 0x8b) || (h[0] == 'B' && h[1] == 'Z' && h[2] == 'h')
      || memcmp (h,
                 "\xfd"
                 "7zXZ",
                 6)
             == 0
      || memcmp (h, "\x28\xb5\x2f\xfd", 4) == 0)
    return true;
  return n >= 262 && memcmp (h + 257, "ustar", 5) == 0;
}

/* ADD URL: downloaded now into a nameless file of the store's tmp/, as
   BuildKit downloads to know the content, which is part of the key; with
   --checksum the download must have that digest.  */
static int
add_url (struct bstate *st, struct copy_job *j, const char *url, const char *checksum,
         struct bkey *k, hutch_error_t *err)
{
  struct build *b = st->b;
  struct hutch_url_result res = { 0 };
  _cleanup_free_ char *name = hutch_url_dockerfile_name (url);
  int fd = hutch_layer_scratch (b->store, err);
  struct timespec times[2];

  if (fd < 0)
    return -1;
  build_say (b, "--> downloading %s", name);
  if (hutch_url_fetch (url, fd, b->o->tls_verify == 0 ? 0 : 1, -1, checksum, &res, err) < 0)
    {
      close (fd);
      return -1;
    }
  /* What the layer says of the file: 0600 (--chmod applies on top), the
     server's time, or 0 without one.  */
  times[0].tv_sec = times[1].tv_sec = res.mtime >= 0 ? res.mtime : 0;
  times[0].tv_nsec = times[1].tv_nsec = 0;
  if (fchmod (fd, 0600) < 0 || futimens (fd, times) < 0)
    {
      hutch_url_result_clear (&res);
      close (fd);
      return hutch_error_set (err, errno, "ADD `%s`", url);
    }
  src_add (j, SRC_FILE, name, url);
  j->srcs[j->n_srcs - 1].fd = fd;
  bkey_add (k, "url", url);
  bkey_add (k, "checksum", res.digest);
  hutch_url_result_clear (&res);
  return 0;
}

/* The sources, the destination and the key of COPY/ADD I.  */
static int
plan_copy (struct bstate *st, const struct hutch_df_instr *i, struct copy_job *j,
           struct bimage *ret_from, bool *ret_has_from, struct bkey *k, hutch_error_t *err)
{
  struct build *b = st->b;
  bool add = i->kind == HUTCH_DF_ADD, set;
  static const char *const copy_flags[] = { "from", "chown", "chmod", "link", NULL };
  static const char *const add_flags[] = { "chown", "chmod", "link", "checksum", NULL };
  _cleanup_free_ char *checksum = NULL;
  _cleanup_strv_ char **words = NULL;
  json_t *cfg = bimage_cfg (&st->img);
  const char *wd = json_string_value (json_object_get (cfg, "WorkingDir")), *v;
  _cleanup_free_ char *from = NULL, *chown = NULL, *chmod = NULL;
  size_t n, w;

  if (instr_check_flags (i, add ? add_flags : copy_flags, err) < 0)
    return -1;
  if ((v = instr_flag (i, "checksum", &set)), set)
    {
      if (hutch_df_expand (v ? v : "", b->df.escape, bstate_lookup, st, &checksum, err) < 0)
        return -1;
      if (!hutch_digest_valid (checksum))
        return hutch_error_set (err, 0, "--checksum=%s: expected sha256:<64 hex digits>", checksum);
    }
  if ((v = instr_flag (i, "chown", &set)),
      set && hutch_df_expand (v ? v : "", b->df.escape, bstate_lookup, st, &chown, err) < 0)
    return -1;
  if ((v = instr_flag (i, "chmod", &set)), set)
    {
      char *end;
      long mode;
      if (hutch_df_expand (v ? v : "", b->df.escape, bstate_lookup, st, &chmod, err) < 0)
        return -1;
      mode = strtol (chmod, &end, 8);
      if (*chmod == '\0' || *end || mode < 0 || mode > 07777)
        return hutch_error_set (err, 0, "--chmod=%s: expected an octal mode such as 0755", chmod);
      j->mode = (int)mode;
    }
  if (chown && *chown)
    {
      char *colon = strchr (chown, ':');
      j->chown_user
          = colon ? hutch_xstrndup (chown, (size_t)(colon - chown)) : hutch_xstrdup (chown);
      j->chown_group = colon ? hutch_xstrdup (colon + 1) : NULL;
    }
  if ((v = instr_flag (i, "from", &set)),
      set && hutch_df_expand (v ? v : "", b->df.escape, bstate_lookup, st, &from, err) < 0)
    return -1;
  if (i->json)
    words = hutch_strv_dup (i->args);
  else if (hutch_df_words (i->args[0], b->df.escape, bstate_lookup, st, &words, err) < 0)
    return -1;
  n = hutch_strv_len (words);
  if (n < 2)
    return hutch_error_set (err, 0, "expected at least one source and a destination");
  j->dest = build_join_path (wd, words[n - 1]);
  {
    const char *d = words[n - 1];
    size_t dl = strlen (d);
    j->dest_dir = n > 2 || (dl && d[dl - 1] == '/') || strcmp (d, ".") == 0
                  || (dl >= 2 && strcmp (d + dl - 2, "/.") == 0);
  }
  if (n > 2 && words[n - 1][strlen (words[n - 1]) - 1] != '/')
    return hutch_error_set (err, 0,
                            "with more than one source the destination must be a directory and "
                            "end with `/`: `%s/`",
                            words[n - 1]);
  bkey_add (k, add ? "add" : "copy", j->dest);
  bkey_add (k, "dest-dir", j->dest_dir ? "1" : "0");
  bkey_add (k, "chown", chown);
  bkey_add (k, "chmod", chmod);
  if (from && *from)
    {
      struct bstage *dep = build_stage_named (b, from);
      if (dep == st->stage)
        return hutch_error_set (err, 0, "--from=%s: a stage cannot copy from itself", from);
      if (dep)
        {
          if (build_stage (b, dep, err) < 0)
            return -1;
          bimage_copy (ret_from, &dep->result);
        }
      else if (build_from_image (b, from, ret_from, err) < 0)
        return hutch_error_prefix (err, "--from=%s: no stage of that name, nor an image", from);
      *ret_has_from = true;
      bkey_add (k, "from", ret_from->key);
    }
  for (w = 0; w + 1 < n; w++)
    {
      int h = i->json ? -1 : hutch_df_heredoc_index (i, words[w]);
      if (h >= 0)
        {
          _cleanup_free_ char *content = NULL;
          if (i->heredocs[h].expand
              && hutch_df_expand (i->heredocs[h].content, b->df.escape, bstate_lookup, st, &content,
                                  err)
                     < 0)
            return -1;
          src_add (j, SRC_DATA, i->heredocs[h].name, content ? content : i->heredocs[h].content);
          bkey_add (k, "data", content ? content : i->heredocs[h].content);
          continue;
        }
      if (*ret_has_from)
        {
          _cleanup_free_ char *p = build_join_path ("/", words[w]);
          src_add (j, SRC_IMAGE, p, NULL);
          bkey_add (k, "image-path", p);
          continue;
        }
      if (add
          && (hutch_str_has_prefix (words[w], "http://")
              || hutch_str_has_prefix (words[w], "https://")))
        {
          if (add_url (st, j, words[w], checksum, k, err) < 0)
            return -1;
          continue;
        }
      if (add && (hutch_str_has_prefix (words[w], "git@") || strstr (words[w], ".git#")))
        return hutch_error_set (err, 0, "ADD `%s`: ADD of a git repository is not supported",
                                words[w]);
      if (checksum)
        return hutch_error_set (err, 0, "--checksum is for ADD of a URL, and `%s` is none",
                                words[w]);
      if (b->ctx == NULL)
        return hutch_error_set (err, 0,
                                "`%s`: there is no build context (the Containerfile came on "
                                "standard input with `-`); give a context directory",
                                words[w]);
      {
        _cleanup_strv_ char **found = NULL;
        struct hutch_context_meta meta = { -1, -1, j->mode };
        size_t f;
        if (hutch_context_match (b->ctx, words[w], &found, err) < 0)
          return -1;
        for (f = 0; found[f]; f++)
          {
            char sum[65];
            bool archive = add && is_archive (b, found[f]);
            if (hutch_context_checksum (b->ctx, found[f], &meta, sum, err) < 0)
              return -1;
            src_add (j, archive ? SRC_ARCHIVE : SRC_CONTEXT, found[f], NULL);
            bkey_add (k, archive ? "archive" : "context", found[f]);
            bkey_add (k, "checksum", sum);
          }
        if (f > 1 && !j->dest_dir)
          j->dest_dir = true; /* a pattern that matched several files */
      }
    }
  return 0;
}

int
build_step_copy (struct bstate *st, const struct hutch_df_instr *i, hutch_error_t *err)
{
  struct build *b = st->b;
  struct copy_job j = { .b = b, .mode = -1, .ctxfd = -1, .clamp = b->clamp };
  struct hutch_store_layer layer = { 0 };
  struct bimage from = { 0 };
  bool has_from = false;
  _cleanup_free_ char *when = NULL;
  struct bkey *k = bkey_new (st->img.key);
  char key[65];
  bool empty = true;
  int r;

  j.now = (int64_t)time (NULL);
  r = plan_copy (st, i, &j, &from, &has_from, k, err);
  bkey_finish (k, key);
  if (r == 0)
    {
      r = build_cache_get (b, key, &layer, &empty, &when);
      if (r == 1)
        b->cached = true;
      else
        {
          r = bimage_unpack (b, &st->img, err);
          if (r == 0 && has_from)
            r = bimage_unpack (b, &from, err);
          j.lowers = bimage_layer_dirs (b, &st->img);
          j.from_lowers = has_from ? bimage_layer_dirs (b, &from) : NULL;
          j.ctxfd = b->ctx ? hutch_context_fd (b->ctx) : -1;
          if (r == 0)
            r = run_job (st, &j, &layer, &empty, err);
          if (r == 0)
            build_cache_put (b, key, empty ? NULL : &layer);
        }
    }
  srcs_free (j.srcs, j.n_srcs);
  free (j.dest);
  free (j.chown_user);
  free (j.chown_group);
  hutch_strv_free (j.lowers);
  hutch_strv_free (j.from_lowers);
  bimage_clear (&from);
  if (r < 0)
    return build_fail_at (b, i, err);
  step_done (st, i, key, &layer, empty, when);
  return 0;
}

int
build_step_workdir (struct bstate *st, const struct hutch_df_instr *i, const char *path,
                    hutch_error_t *err)
{
  struct build *b = st->b;
  struct copy_job j = { .b = b, .mode = -1, .ctxfd = -1, .clamp = b->clamp, .mkdir_only = true };
  struct hutch_store_layer layer = { 0 };
  json_t *cfg = bimage_cfg (&st->img);
  const char *user = json_string_value (json_object_get (cfg, "User"));
  _cleanup_free_ char *when = NULL;
  struct bkey *k = bkey_new (st->img.key);
  char key[65];
  bool empty = true;
  int r;

  /* Made as the USER of that moment (BuildKit's rule), so that a
     directory for an unprivileged user is theirs.  */
  if (user && *user)
    {
      const char *colon = strchr (user, ':');
      j.chown_user = colon ? hutch_xstrndup (user, (size_t)(colon - user)) : hutch_xstrdup (user);
      j.chown_group = colon ? hutch_xstrdup (colon + 1) : NULL;
    }
  j.dest = hutch_xstrdup (path);
  j.now = (int64_t)time (NULL);
  bkey_add (k, "workdir", path);
  bkey_add (k, "user", user);
  bkey_finish (k, key);
  r = build_cache_get (b, key, &layer, &empty, &when);
  if (r != 1)
    {
      r = bimage_unpack (b, &st->img, err);
      j.lowers = bimage_layer_dirs (b, &st->img);
      if (r == 0)
        r = run_job (st, &j, &layer, &empty, err);
      if (r == 0)
        build_cache_put (b, key, empty ? NULL : &layer);
    }
  free (j.dest);
  free (j.chown_user);
  free (j.chown_group);
  hutch_strv_free (j.lowers);
  if (r < 0)
    return -1;
  if (empty)
    {
      memcpy (st->img.key, key, sizeof key);
      return 0;
    }
  step_done (st, i, key, &layer, false, when);
  return 1;
}
