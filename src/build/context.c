/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "build/context.h"
#include "base/digest.h"
#include "base/log.h"
#include "base/util.h"
#include "base/walk.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

/* How many symlinks a source may go through, as the kernel allows.  */
#define MAX_LINKS 40
/* A stat cache larger than this is not ours.  */
#define CACHE_MAX_SIZE (512u << 20)
#define CACHE_MAGIC "hutch stat cache 1\n"

/* ---- the stat cache ----------------------------------------------------- */

/* What a regular file's checksum takes from its content, remembered by
   its path and stat: when nothing of the stat changed, neither did the
   content (any write changes the modification and change times, and an
   inode that was replaced is another inode).  */
struct centry
{
  struct centry *next;
  char *path;
  uint64_t dev, ino, size;
  uint32_t mode, uid, gid;
  int64_t mtime, ctime; /* nanoseconds */
  char digest[HUTCH_DIGEST_HEX_LEN + 1];
  char xattrs[HUTCH_DIGEST_HEX_LEN + 1]; /* of the extended attributes, "" when none */
  bool used;
};

struct cache
{
  struct centry **buckets;
  size_t n_buckets, n;
  bool dirty; /* an entry added or replaced since it was loaded */
};

struct hutch_context
{
  int fd;
  char *dir;
  const struct hutch_ignore *ig;
  char *cache_path;
  struct cache cache;
  struct hutch_context_stats stats;
};

static uint64_t
hash_path (const char *s)
{
  uint64_t h = 0xcbf29ce484222325ull;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
  return h;
}

static struct centry *
cache_find (const struct cache *k, const char *path)
{
  struct centry *e;

  if (k->n_buckets == 0)
    return NULL;
  for (e = k->buckets[hash_path (path) & (k->n_buckets - 1)]; e; e = e->next)
    if (strcmp (e->path, path) == 0)
      return e;
  return NULL;
}

static void
cache_grow (struct cache *k)
{
  size_t n = k->n_buckets ? k->n_buckets * 2 : 1024, i;
  struct centry **b = hutch_xmalloc0 (n * sizeof *b);

  for (i = 0; i < k->n_buckets; i++)
    while (k->buckets[i])
      {
        struct centry *e = k->buckets[i];
        k->buckets[i] = e->next;
        e->next = b[hash_path (e->path) & (n - 1)];
        b[hash_path (e->path) & (n - 1)] = e;
      }
  free (k->buckets);
  k->buckets = b;
  k->n_buckets = n;
}

/* E (taken) into K, in place of an entry of the same path.  */
static void
cache_insert (struct cache *k, struct centry *e)
{
  struct centry **p;

  if (k->n + 1 > k->n_buckets)
    cache_grow (k);
  for (p = &k->buckets[hash_path (e->path) & (k->n_buckets - 1)]; *p; p = &(*p)->next)
    if (strcmp ((*p)->path, e->path) == 0)
      {
        struct centry *old = *p;
        e->next = old->next;
        *p = e;
        free (old->path);
        free (old);
        return;
      }
  e->next = NULL;
  *p = e;
  k->n++;
}

static void
cache_clear (struct cache *k)
{
  size_t i;
  for (i = 0; i < k->n_buckets; i++)
    while (k->buckets[i])
      {
        struct centry *e = k->buckets[i];
        k->buckets[i] = e->next;
        free (e->path);
        free (e);
      }
  free (k->buckets);
  memset (k, 0, sizeof *k);
}

static int64_t
ts_ns (const struct timespec *t)
{
  return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

static bool
centry_fresh (const struct centry *e, const struct stat *st)
{
  return e->dev == (uint64_t)st->st_dev && e->ino == (uint64_t)st->st_ino
         && e->size == (uint64_t)st->st_size && e->mode == (uint32_t)st->st_mode
         && e->uid == (uint32_t)st->st_uid && e->gid == (uint32_t)st->st_gid
         && e->mtime == ts_ns (&st->st_mtim) && e->ctime == ts_ns (&st->st_ctim);
}

/* ---- the cache file ----------------------------------------------------- */

/* The file: CACHE_MAGIC, then records (the path's length and bytes, the
   stat, the digests), then "sha256:<hex>" of all that, so that a file cut
   short or damaged is noticed and taken as empty.  It is read and written
   only by the same host (native byte order).  */
struct record
{
  uint64_t dev, ino, size;
  int64_t mtime, ctime;
  uint32_t mode, uid, gid, path_len;
  char digest[HUTCH_DIGEST_HEX_LEN];
  char xattrs[HUTCH_DIGEST_HEX_LEN]; /* zeros when none */
};

static void
cache_load_records (struct cache *k, const char *p, size_t len)
{
  size_t at = 0;

  while (at < len)
    {
      struct centry *e;
      struct record r;
      char *path;

      if (len - at < sizeof r)
        break;
      memcpy (&r, p + at, sizeof r);
      at += sizeof r;
      if (r.path_len == 0 || r.path_len > len - at || memchr (p + at, '\0', r.path_len))
        break;
      e = hutch_xmalloc0 (sizeof *e);
      path = hutch_xstrndup (p + at, r.path_len);
      at += r.path_len;
      *e = (struct centry){ .path = path,
                            .dev = r.dev,
                            .ino = r.ino,
                            .size = r.size,
                            .mode = r.mode,
                            .uid = r.uid,
                            .gid = r.gid,
                            .mtime = r.mtime,
                            .ctime = r.ctime };
      memcpy (e->digest, r.digest, HUTCH_DIGEST_HEX_LEN);
      if (r.xattrs[0])
        memcpy (e->xattrs, r.xattrs, HUTCH_DIGEST_HEX_LEN);
      if (!hutch_digest_hex_valid (e->digest)
          || (e->xattrs[0] && !hutch_digest_hex_valid (e->xattrs)))
        {
          free (e->path);
          free (e);
          break;
        }
      cache_insert (k, e);
    }
  /* Something that does not parse: nothing of it is trusted.  */
  if (at != len)
    cache_clear (k);
}

/* A missing, unreadable or damaged cache is an empty one: it only ever
   saves reading files again.  */
static void
cache_load (struct cache *k, const char *path)
{
  _cleanup_free_ char *text = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  char digest[HUTCH_DIGEST_BUF_LEN];
  size_t len = 0, magic = sizeof CACHE_MAGIC - 1, trailer = HUTCH_DIGEST_BUF_LEN - 1;

  if (hutch_read_file (path, CACHE_MAX_SIZE, &text, &len, &err) < 0)
    {
      if (err.errnum != ENOENT)
        hutch_log (HUTCH_LOG_DEBUG, "stat cache: %s; starting with an empty one", err.msg);
      hutch_error_clear (&err);
      return;
    }
  if (len < magic + trailer || memcmp (text, CACHE_MAGIC, magic) != 0
      || hutch_digest_buffer (text, len - trailer, digest, &err) < 0
      || memcmp (digest, text + len - trailer, trailer) != 0)
    {
      hutch_log (HUTCH_LOG_DEBUG, "stat cache %s is damaged; starting with an empty one", path);
      hutch_error_clear (&err);
      return;
    }
  cache_load_records (k, text + magic, len - magic - trailer);
}

static void
cache_serialize (const struct cache *k, struct hutch_buf *b)
{
  size_t i;

  hutch_buf_add (b, CACHE_MAGIC, sizeof CACHE_MAGIC - 1);
  for (i = 0; i < k->n_buckets; i++)
    {
      const struct centry *e;
      for (e = k->buckets[i]; e; e = e->next)
        {
          struct record r;
          if (!e->used)
            continue;
          /* Field by field on zeros: no padding byte of ours is written
             uninitialized (nor would it change the trailer's digest).  */
          memset (&r, 0, sizeof r);
          r.dev = e->dev;
          r.ino = e->ino;
          r.size = e->size;
          r.mtime = e->mtime;
          r.ctime = e->ctime;
          r.mode = e->mode;
          r.uid = e->uid;
          r.gid = e->gid;
          r.path_len = (uint32_t)strlen (e->path);
          memcpy (r.digest, e->digest, HUTCH_DIGEST_HEX_LEN);
          if (e->xattrs[0])
            memcpy (r.xattrs, e->xattrs, HUTCH_DIGEST_HEX_LEN);
          hutch_buf_add (b, &r, sizeof r);
          hutch_buf_add (b, e->path, r.path_len);
        }
    }
}

/* Write the entries used to PATH, through a temporary beside it and a
   rename, so that a reader sees the old cache or the new one whole.  */
static int
cache_save (const struct cache *k, const char *path, hutch_error_t *err)
{
  struct hutch_buf b = { 0 };
  char digest[HUTCH_DIGEST_BUF_LEN], rnd[17];
  _cleanup_free_ char *tmp = NULL;
  _cleanup_close_ int fd = -1;
  int r;

  cache_serialize (k, &b);
  r = hutch_digest_buffer (b.s, b.len, digest, err);
  if (r < 0)
    goto out;
  hutch_buf_add (&b, digest, HUTCH_DIGEST_BUF_LEN - 1);
  if (hutch_random_hex (rnd, 16) < 0)
    {
      r = hutch_error_set (err, errno, "make a name for a temporary file");
      goto out;
    }
  tmp = hutch_xasprintf ("%s.tmp-%s", path, rnd);
  fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      r = hutch_error_set (err, errno, "create `%s`", tmp);
      goto out;
    }
  if ((r = hutch_write_all (fd, b.s, b.len)) < 0 || close (HUTCH_STEAL_FD (fd)) < 0
      || rename (tmp, path) < 0)
    {
      r = hutch_error_set (err, r < 0 ? -r : errno, "write the stat cache `%s`", path);
      unlink (tmp);
    }
out:
  free (b.s);
  return r;
}

/* Whether the cache file must be written: it changed, or it holds
   entries this build did not use (kept out of the new one).  A build
   that used none leaves it as it is.  */
static bool
cache_needs_save (const struct cache *k)
{
  bool any_used = false, any_unused = false;
  size_t i;

  for (i = 0; i < k->n_buckets; i++)
    {
      const struct centry *e;
      for (e = k->buckets[i]; e; e = e->next)
        {
          any_used |= e->used;
          any_unused |= !e->used;
        }
    }
  return k->dirty || (any_used && any_unused);
}

/* ---- opening ------------------------------------------------------------ */

int
hutch_context_open (const char *dir, const struct hutch_ignore *ig, const char *statcache,
                    struct hutch_context **ret, hutch_error_t *err)
{
  struct hutch_context *c;
  int fd;

  /* The context's own path is the user's (trusted as given); what is
     below it is not, and is reached through this fd only.  */
  fd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 && errno == ENOTDIR)
    return hutch_error_set (err, 0,
                            "the build context `%s` is not a directory; give the directory to "
                            "build from (the Containerfile goes with -f)",
                            dir);
  if (fd < 0)
    return hutch_error_set (err, errno, "open the build context `%s`", dir);
  c = hutch_xmalloc0 (sizeof *c);
  c->fd = fd;
  c->dir = hutch_xstrdup (dir);
  c->ig = ig;
  if (statcache)
    {
      c->cache_path = hutch_xstrdup (statcache);
      cache_load (&c->cache, statcache);
    }
  *ret = c;
  return 0;
}

void
hutch_context_close (struct hutch_context *c)
{
  hutch_error_t err = HUTCH_ERROR_INIT;

  if (c == NULL)
    return;
  if (c->cache_path && cache_needs_save (&c->cache)
      && cache_save (&c->cache, c->cache_path, &err) < 0)
    {
      hutch_log (HUTCH_LOG_WARNING, "%s; the next build reads the context's files again", err.msg);
      hutch_error_clear (&err);
    }
  cache_clear (&c->cache);
  close (c->fd);
  free (c->dir);
  free (c->cache_path);
  free (c);
}

int
hutch_context_fd (const struct hutch_context *c)
{
  return c->fd;
}

void
hutch_context_stats (const struct hutch_context *c, struct hutch_context_stats *ret)
{
  *ret = c->stats;
}

/* ---- resolving a source ------------------------------------------------- */

static char *
join (const char *dir, const char *name)
{
  return *dir ? hutch_xasprintf ("%s/%s", dir, name) : hutch_xstrdup (name);
}

/* The directory CANON (a path of the context without symlinks) and the
   entry NAME in it, not followed.  */
static int
lstat_in (struct hutch_context *c, const char *canon, const char *name, struct stat *st)
{
  _cleanup_close_ int dfd
      = hutch_walk_open_beneath (c->fd, canon, O_PATH | O_DIRECTORY, RESOLVE_NO_SYMLINKS);
  if (dfd < 0)
    return -1;
  return fstatat (dfd, name, st, AT_SYMLINK_NOFOLLOW);
}

struct resolved
{
  char *canon;  /* the path without symlinks */
  char **links; /* the symlinks gone through, by their own paths */
};

static void
resolved_clear (struct resolved *r)
{
  free (r->canon);
  hutch_strv_free (r->links);
  memset (r, 0, sizeof *r);
}

static int
link_leaves (struct hutch_context *c, const char *link, const char *target, hutch_error_t *err)
{
  _cleanup_free_ char *l = hutch_walk_shown (link), *t = hutch_walk_shown (target);
  hutch_error_set (err, 0,
                   "`%s` is a symlink to `%s`, outside the build context (%s); a build follows "
                   "a source's symlinks only within its context: copy the file into it, or make "
                   "the link relative and within it",
                   l, t, c->dir);
  err->errnum = EXDEV;
  return -EXDEV;
}

/* One symlink LINK met on the way: its target, ahead of what is left of
   the path (*REST, replaced).  */
static int
follow_link (struct hutch_context *c, const char *canon, const char *name, const char *link,
             char **rest, char **ret_target, hutch_error_t *err)
{
  _cleanup_close_ int dfd
      = hutch_walk_open_beneath (c->fd, canon, O_PATH | O_DIRECTORY, RESOLVE_NO_SYMLINKS);
  char target[HUTCH_WALK_MAX_PATH + 1];
  ssize_t n = dfd < 0 ? -1 : readlinkat (dfd, name, target, sizeof target);
  char *next;

  if (n < 0 || (size_t)n >= sizeof target)
    {
      _cleanup_free_ char *shown = hutch_walk_shown (link);
      return hutch_error_set (err, n < 0 ? errno : ENAMETOOLONG, "read the symlink `%s`", shown);
    }
  target[n] = '\0';
  /* An absolute target names a file of the host, not of the context.  */
  if (target[0] == '/')
    return link_leaves (c, link, target, err);
  next = **rest ? hutch_xasprintf ("%s/%s", target, *rest) : hutch_xstrdup (target);
  free (*rest);
  *rest = next;
  free (*ret_target);
  *ret_target = hutch_xstrdup (target);
  return 0;
}

/* PATH (clean, relative, no leading `..`) resolved in the context: each
   symlink on the way, and the last one too when FOLLOW, replaced by its
   target, within the context (the kernel refuses the rest anyway:
   everything is opened beneath the context, RESOLVE_NO_SYMLINKS, with the
   path found here).  -ENOENT when something on the way is missing.  */
static int
resolve (struct hutch_context *c, const char *path, bool follow, struct resolved *ret,
         hutch_error_t *err)
{
  _cleanup_free_ char *canon = hutch_xstrdup (""), *rest = hutch_xstrdup (path);
  _cleanup_free_ char *last_link = NULL, *last_target = NULL, *shown = NULL;
  _cleanup_strv_ char **links = NULL;
  unsigned int hops = 0;

  for (;;)
    {
      char *p = rest, *end, *name, *cand, *left;
      struct stat st;

      while (*p == '/')
        p++;
      if (*p == '\0')
        break;
      end = strchrnul (p, '/');
      name = hutch_xstrndup (p, (size_t)(end - p));
      left = hutch_xstrdup (end);
      free (rest);
      rest = left;
      if (strcmp (name, ".") == 0)
        {
          free (name);
          continue;
        }
      if (strcmp (name, "..") == 0)
        {
          char *slash = strrchr (canon, '/');
          free (name);
          /* Only a symlink's target can climb (PATH was cleaned).  */
          if (*canon == '\0')
            return link_leaves (c, last_link ? last_link : path, last_target ? last_target : "..",
                                err);
          *(slash ? slash : canon) = '\0';
          continue;
        }
      cand = join (canon, name);
      if (lstat_in (c, canon, name, &st) < 0)
        {
          int errnum = errno;
          free (name);
          free (cand);
          if (errnum == ENOENT || errnum == ENOTDIR)
            return -ENOENT;
          shown = hutch_walk_shown (path);
          return hutch_error_set (err, errnum, "look at `%s` in the build context (%s)", shown,
                                  c->dir);
        }
      if (S_ISLNK (st.st_mode) && (*rest || follow))
        {
          int r = ++hops > MAX_LINKS ? hutch_error_set (err, ELOOP, "follow the symlinks of `%s`",
                                                        shown = hutch_walk_shown (path))
                                     : follow_link (c, canon, name, cand, &rest, &last_target, err);
          free (name);
          free (last_link);
          last_link = cand;
          if (r < 0)
            return r;
          hutch_strv_push (&links, hutch_xstrdup (cand));
          continue;
        }
      free (name);
      free (canon);
      canon = cand;
      if (*rest && !S_ISDIR (st.st_mode))
        return -ENOENT;
    }
  ret->canon = HUTCH_STEAL_PTR (canon);
  ret->links = HUTCH_STEAL_PTR (links);
  return 0;
}

/* ---- walking ------------------------------------------------------------ */

/* What the walk passes on: CTXPATH is the entry's path in the context.  */
typedef int (*entry_fn) (void *data, const char *ctxpath, const char *rel, int dirfd,
                         const char *name, const struct stat *st, hutch_error_t *err);

/* An excluded directory entered because an exception may bring back
   something below it: passed on only when that happens, just before,
   as BuildKit gives the parents of what it sends.  */
struct pending
{
  int dirfd;
  char *name, *rel;
  struct stat st;
  unsigned int depth;
};

struct cwalk
{
  struct hutch_context *c;
  const char *top; /* its path in the context */
  entry_fn fn;
  void *data;
  size_t n_pat;
  unsigned char *rows; /* for each depth, what hutch_ignore_excluded_at says */
  size_t n_rows;
  struct pending *pend;
  size_t n_pend;
  char *ctxpath;
  bool fn_failed; /* the error is FN's, not the walk's */
};

static unsigned char *
row (struct cwalk *w, unsigned int depth)
{
  if (depth >= w->n_rows)
    {
      size_t n = depth + 16;
      w->rows = hutch_xrealloc (w->rows, n * w->n_pat);
      memset (w->rows + w->n_rows * w->n_pat, 0, (n - w->n_rows) * w->n_pat);
      w->n_rows = n;
    }
  return w->rows + (size_t)depth * w->n_pat;
}

static void
pending_drop (struct cwalk *w, unsigned int depth)
{
  while (w->n_pend > 0 && w->pend[w->n_pend - 1].depth >= depth)
    {
      struct pending *p = &w->pend[--w->n_pend];
      free (p->name);
      free (p->rel);
    }
}

static int
pending_flush (struct cwalk *w, hutch_error_t *err)
{
  size_t i;
  int r = 0;

  for (i = 0; i < w->n_pend && r >= 0; i++)
    {
      struct pending *p = &w->pend[i];
      _cleanup_free_ char *cp = join (w->top, p->rel);
      r = w->fn (w->data, cp, p->rel, p->dirfd, p->name, &p->st, err);
      w->fn_failed = r < 0;
    }
  pending_drop (w, 0);
  return r;
}

static int
cwalk_entry (void *data, const struct hutch_walk_entry *e, hutch_error_t *err)
{
  struct cwalk *w = data;
  bool excluded = false;
  int r;

  free (w->ctxpath);
  w->ctxpath = join (w->top, e->path);
  pending_drop (w, e->depth);
  if (w->n_pat > 0)
    {
      /* row () may move the rows: the deeper one first, then both.  */
      unsigned char *cur = row (w, e->depth), *parent = row (w, e->depth - 1);
      excluded = hutch_ignore_excluded_at (w->c->ig, w->ctxpath, parent, cur);
    }
  if (excluded)
    {
      struct pending *p;
      if (!S_ISDIR (e->st->st_mode) || !hutch_ignore_may_include_below (w->c->ig, w->ctxpath))
        return HUTCH_WALK_SKIP;
      w->pend = hutch_xrealloc (w->pend, (w->n_pend + 1) * sizeof *w->pend);
      p = &w->pend[w->n_pend++];
      *p = (struct pending){ e->dirfd, hutch_xstrdup (e->name), hutch_xstrdup (e->path), *e->st,
                             e->depth };
      /* An excluded directory that cannot be read is no error, as with
         BuildKit: its files were not to be sent anyway.  */
      return HUTCH_WALK_TRY;
    }
  r = pending_flush (w, err);
  if (r >= 0)
    {
      r = w->fn (w->data, w->ctxpath, e->path, e->dirfd, e->name, e->st, err);
      w->fn_failed = r < 0;
    }
  return r < 0 ? r : HUTCH_WALK_ENTER;
}

/* The top of a walk, CANON: its directory opened beneath the context,
   its lstat (CANON has no symlink in it).  */
static int
open_top (struct hutch_context *c, const char *canon, int *ret_dfd, const char **ret_name,
          struct stat *st, hutch_error_t *err)
{
  const char *slash = strrchr (canon, '/');
  _cleanup_free_ char *parent
      = slash ? hutch_xstrndup (canon, (size_t)(slash - canon)) : hutch_xstrdup ("");
  int dfd = hutch_walk_open_beneath (c->fd, parent, O_PATH | O_DIRECTORY,
                                     RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV);

  *ret_name = *canon ? (slash ? slash + 1 : canon) : ".";
  if (dfd < 0 || fstatat (dfd, *ret_name, st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      _cleanup_free_ char *shown = hutch_walk_shown (*canon ? canon : ".");
      int errnum = errno;
      if (dfd >= 0)
        close (dfd);
      return hutch_error_set (err, errnum, "look at `%s` in the build context (%s)", shown, c->dir);
    }
  *ret_dfd = dfd;
  return 0;
}

static int
walk_below (struct cwalk *w, hutch_error_t *err)
{
  _cleanup_close_ int fd = hutch_walk_open_beneath (w->c->fd, w->top, O_PATH | O_DIRECTORY,
                                                    RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV);
  _cleanup_free_ char *shown = hutch_walk_shown (*w->top ? w->top : ".");
  int r;

  if (fd < 0 && errno == EXDEV)
    return hutch_error_set (err, 0,
                            "`%s` in the build context (%s) is a mount point; a build does not "
                            "cross mount points in its context: copy the files into it",
                            shown, w->c->dir);
  if (fd < 0)
    return hutch_error_set (err, errno, "open `%s` in the build context (%s)", shown, w->c->dir);
  if (w->n_pat > 0)
    hutch_ignore_excluded_at (w->c->ig, w->top, NULL, row (w, 0));
  r = hutch_walk_sorted (fd, cwalk_entry, w, err);
  if (r < 0 && !w->fn_failed)
    hutch_error_prefix (err, "build context %s, in `%s`", w->c->dir, shown);
  return r;
}

/* Walk the source PATH: the top (followed), then what is below it.  */
static int
context_walk (struct hutch_context *c, const char *path, entry_fn fn, void *data,
              hutch_error_t *err)
{
  struct resolved res = { 0 };
  struct cwalk w = { .c = c, .fn = fn, .data = data, .n_pat = hutch_ignore_count (c->ig) };
  _cleanup_close_ int dfd = -1;
  const char *name;
  struct stat st;
  int r;

  r = resolve (c, path, true, &res, err);
  if (r == -ENOENT)
    {
      _cleanup_free_ char *shown = hutch_walk_shown (path);
      r = hutch_error_set (err, ENOENT, "`%s` is not in the build context (%s)", shown, c->dir);
    }
  if (r < 0)
    return r;
  w.top = res.canon;
  r = open_top (c, res.canon, &dfd, &name, &st, err);
  if (r >= 0)
    r = fn (data, res.canon, "", dfd, name, &st, err);
  if (r >= 0 && S_ISDIR (st.st_mode))
    r = walk_below (&w, err);
  pending_drop (&w, 0);
  free (w.pend);
  free (w.rows);
  free (w.ctxpath);
  resolved_clear (&res);
  return r < 0 ? r : 0;
}

struct user_walk
{
  hutch_context_fn fn;
  void *data;
};

static int
user_entry (void *data, const char *ctxpath, const char *rel, int dirfd, const char *name,
            const struct stat *st, hutch_error_t *err)
{
  struct user_walk *u = data;
  (void)ctxpath;
  return u->fn (u->data, rel, dirfd, name, st, err);
}

int
hutch_context_walk (struct hutch_context *c, const char *path, hutch_context_fn fn, void *data,
                    hutch_error_t *err)
{
  struct user_walk u = { fn, data };
  return context_walk (c, path, user_entry, &u, err);
}

/* ---- checksums ---------------------------------------------------------- */

/* Extended attributes that are no part of the file: overlayfs's and
   fuse-overlayfs's own (the layer writer leaves them out too).  */
static bool
xattr_kept (const char *name)
{
  return !hutch_str_has_prefix (name, "trusted.overlay.")
         && !hutch_str_has_prefix (name, "user.overlay.")
         && !hutch_str_has_prefix (name, "user.fuseoverlayfs.");
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

/* The names of FD's extended attributes that count, sorted.  */
static int
xattr_names (int fd, char **ret_buf, char ***ret_names, size_t *ret_n)
{
  _cleanup_free_ char *buf = NULL;
  char **names = NULL, *p;
  ssize_t len = -1;
  size_t n = 0;
  int tries;

  for (tries = 0; tries < 4 && len < 0; tries++)
    {
      len = flistxattr (fd, NULL, 0);
      if (len <= 0)
        return len < 0 && errno != ENOTSUP && errno != EOPNOTSUPP ? -errno : 0;
      free (buf);
      buf = hutch_xmalloc0 ((size_t)len + 1);
      len = flistxattr (fd, buf, (size_t)len);
      if (len < 0 && errno != ERANGE)
        return -errno;
    }
  if (len < 0)
    return -ERANGE;
  names = hutch_xmalloc0 (((size_t)len + 1) * sizeof *names);
  for (p = buf; p < buf + len; p += strlen (p) + 1)
    if (*p && xattr_kept (p))
      names[n++] = p;
  qsort (names, n, sizeof *names, cmp_str);
  *ret_buf = HUTCH_STEAL_PTR (buf);
  *ret_names = names;
  *ret_n = n;
  return 0;
}

/* The digest of FD's extended attributes (name and value, by name) into
   RET, or "" when it has none.  */
static int
xattrs_digest (int fd, char ret[HUTCH_DIGEST_HEX_LEN + 1], hutch_error_t *err)
{
  _cleanup_sha256_ struct hutch_sha256 *h = NULL;
  _cleanup_free_ char *buf = NULL, *value = NULL;
  _cleanup_free_ char **names = NULL;
  char digest[HUTCH_DIGEST_BUF_LEN];
  size_t i, n = 0;
  int r;

  ret[0] = '\0';
  r = xattr_names (fd, &buf, &names, &n);
  if (r < 0)
    return hutch_error_set (err, -r, "list extended attributes");
  if (n == 0)
    return 0;
  if ((r = hutch_sha256_new (&h, err)) < 0)
    return r;
  value = hutch_xmalloc0 (65536);
  for (i = 0; i < n; i++)
    {
      ssize_t len = fgetxattr (fd, names[i], value, 65536);
      char head[32];
      if (len < 0 && errno == ENODATA)
        continue;
      if (len < 0)
        return hutch_error_set (err, errno, "read the extended attribute %s", names[i]);
      snprintf (head, sizeof head, "%zd", len);
      if ((r = hutch_sha256_update (h, names[i], strlen (names[i]) + 1, err)) < 0
          || (r = hutch_sha256_update (h, head, strlen (head) + 1, err)) < 0
          || (r = hutch_sha256_update (h, value, (size_t)len, err)) < 0)
        return r;
    }
  if ((r = hutch_sha256_final (h, digest, err)) < 0)
    return r;
  memcpy (ret, digest + sizeof HUTCH_DIGEST_PREFIX - 1, HUTCH_DIGEST_HEX_LEN + 1);
  return 0;
}

/* A file's times may be the same after a second change when both fall in
   one tick of the kernel's clock: a file changed less than two ticks
   before it was read is hashed again next time (git's "racily clean").
   Times in whole seconds say the file system keeps no finer ones.  */
static bool
racy (const struct stat *st, int64_t read_at)
{
  struct timespec res;
  int64_t slack = 10 * 1000000, changed = ts_ns (&st->st_ctim);

  if (clock_getres (CLOCK_REALTIME_COARSE, &res) == 0 && 2 * ts_ns (&res) > slack)
    slack = 2 * ts_ns (&res);
  if (st->st_mtim.tv_nsec == 0 && st->st_ctim.tv_nsec == 0)
    slack = 3 * (int64_t)1000000000;
  if (ts_ns (&st->st_mtim) > changed)
    changed = ts_ns (&st->st_mtim);
  return changed > read_at - slack;
}

static int64_t
now_ns (void)
{
  struct timespec t;
  clock_gettime (CLOCK_REALTIME, &t);
  return ts_ns (&t);
}

static void
remember (struct hutch_context *c, const char *ctxpath, const struct stat *st, const char *digest,
          const char *xattrs)
{
  struct centry *e = hutch_xmalloc0 (sizeof *e);

  *e = (struct centry){ .path = hutch_xstrdup (ctxpath),
                        .dev = (uint64_t)st->st_dev,
                        .ino = (uint64_t)st->st_ino,
                        .size = (uint64_t)st->st_size,
                        .mode = (uint32_t)st->st_mode,
                        .uid = (uint32_t)st->st_uid,
                        .gid = (uint32_t)st->st_gid,
                        .mtime = ts_ns (&st->st_mtim),
                        .ctime = ts_ns (&st->st_ctim),
                        .used = true };
  memcpy (e->digest, digest, sizeof e->digest);
  memcpy (e->xattrs, xattrs, sizeof e->xattrs);
  cache_insert (&c->cache, e);
  c->cache.dirty = true;
}

static bool
same_file (const struct stat *a, const struct stat *b)
{
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size
         && ts_ns (&a->st_mtim) == ts_ns (&b->st_mtim)
         && ts_ns (&a->st_ctim) == ts_ns (&b->st_ctim);
}

/* Read the regular file NAME of DIRFD (ST: what the walk saw) for its
   content's and extended attributes' digests.  */
static int
read_file (struct hutch_context *c, const char *ctxpath, int dirfd, const char *name,
           const struct stat *st, char *digest, char *xattrs, hutch_error_t *err)
{
  _cleanup_close_ int fd = -1;
  char full[HUTCH_DIGEST_BUF_LEN];
  struct stat before, after;
  int64_t read_at = now_ns ();
  int r;

  /* O_NONBLOCK: a file swapped for a FIFO since the walk saw it does not
     hang the build (it is no regular file below).  */
  fd = hutch_walk_open_beneath (dirfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK,
                                RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV);
  if (fd < 0 || fstat (fd, &before) < 0)
    return hutch_error_set (err, errno, "read `%s`", ctxpath);
  if (!S_ISREG (before.st_mode) || before.st_ino != st->st_ino || before.st_dev != st->st_dev)
    return hutch_error_set (err, 0, "`%s` changed while the build read it; build again", ctxpath);
  (void)posix_fadvise (fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  if ((r = hutch_digest_fd (fd, full, err)) < 0 || (r = xattrs_digest (fd, xattrs, err)) < 0)
    return hutch_error_prefix (err, "read `%s`", ctxpath);
  memcpy (digest, full + sizeof HUTCH_DIGEST_PREFIX - 1, HUTCH_DIGEST_HEX_LEN + 1);
  c->stats.hashed_files++;
  c->stats.hashed_bytes += (uint64_t)before.st_size;
  /* Remembered only when the file did not change while it was read.  */
  if (fstat (fd, &after) == 0 && same_file (&before, &after) && same_file (st, &before)
      && !racy (&before, read_at))
    remember (c, ctxpath, &before, digest, xattrs);
  return 0;
}

static int
file_digests (struct hutch_context *c, const char *ctxpath, int dirfd, const char *name,
              const struct stat *st, char *digest, char *xattrs, hutch_error_t *err)
{
  struct centry *e = cache_find (&c->cache, ctxpath);

  if (e && centry_fresh (e, st))
    {
      memcpy (digest, e->digest, HUTCH_DIGEST_HEX_LEN + 1);
      memcpy (xattrs, e->xattrs, HUTCH_DIGEST_HEX_LEN + 1);
      e->used = true;
      c->stats.cached_files++;
      return 0;
    }
  return read_file (c, ctxpath, dirfd, name, st, digest, xattrs, err);
}

static int
dir_xattrs (const char *ctxpath, int dirfd, const char *name, char *xattrs, hutch_error_t *err)
{
  _cleanup_close_ int fd = hutch_walk_open_beneath (
      dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV);

  if (fd < 0)
    return hutch_error_set (err, errno, "open `%s`", *ctxpath ? ctxpath : ".");
  if (xattrs_digest (fd, xattrs, err) < 0)
    return hutch_error_prefix (err, "`%s`", *ctxpath ? ctxpath : ".");
  return 0;
}

struct hasher
{
  struct hutch_context *c;
  const struct hutch_context_meta *meta;
  struct hutch_sha256 *h;
};

/* The part of an entry's record that comes from what it is: its type
   and, by type, its content's digest, its target, its xattrs' digest.  */
static int
entry_body (struct hasher *hs, const char *ctxpath, int dirfd, const char *name,
            const struct stat *st, char *type, char *target, char *digest, char *xattrs,
            hutch_error_t *err)
{
  ssize_t n;

  switch (st->st_mode & S_IFMT)
    {
    case S_IFREG:
      *type = 'f';
      return file_digests (hs->c, ctxpath, dirfd, name, st, digest, xattrs, err);
    case S_IFDIR:
      *type = 'd';
      return dir_xattrs (ctxpath, dirfd, name, xattrs, err);
    case S_IFLNK:
      *type = 'l';
      n = readlinkat (dirfd, name, target, HUTCH_WALK_MAX_PATH + 1);
      if (n < 0 || n > HUTCH_WALK_MAX_PATH)
        return hutch_error_set (err, n < 0 ? errno : ENAMETOOLONG, "read the symlink `%s`",
                                ctxpath);
      target[n] = '\0';
      return 0;
    case S_IFIFO:
      *type = 'p';
      return 0;
    default:
      /* Sockets and device nodes never get into a layer.  */
      *type = 0;
      return 0;
    }
}

/* One entry's record: its path below the source, then fields separated
   by NUL bytes (no path or target holds one), so that no two different
   entries or sequences of entries give the same bytes.  Times are left
   out: a checkout or a touch does not change what COPY makes.  */
static int
hash_entry (void *data, const char *ctxpath, const char *rel, int dirfd, const char *name,
            const struct stat *st, hutch_error_t *err)
{
  struct hasher *hs = data;
  const struct hutch_context_meta *m = hs->meta;
  char target[HUTCH_WALK_MAX_PATH + 1] = "", digest[HUTCH_DIGEST_HEX_LEN + 1] = "";
  char xattrs[HUTCH_DIGEST_HEX_LEN + 1] = "", head[128], type = 0;
  unsigned int mode = st->st_mode & 07777;
  int r;

  r = entry_body (hs, ctxpath, dirfd, name, st, &type, target, digest, xattrs, err);
  if (r < 0 || type == 0)
    return r;
  if (m && m->mode >= 0 && type != 'l')
    mode = (unsigned int)m->mode & 07777;
  snprintf (head, sizeof head, "%c %04o %" PRId64 " %" PRId64 " %" PRIu64, type, mode,
            m && m->uid >= 0 ? m->uid : 0, m && m->gid >= 0 ? m->gid : 0,
            type == 'f' ? (uint64_t)st->st_size : 0);
  if ((r = hutch_sha256_update (hs->h, rel, strlen (rel) + 1, err)) < 0
      || (r = hutch_sha256_update (hs->h, head, strlen (head) + 1, err)) < 0
      || (r = hutch_sha256_update (hs->h, target, strlen (target) + 1, err)) < 0
      || (r = hutch_sha256_update (hs->h, xattrs, strlen (xattrs) + 1, err)) < 0
      || (r = hutch_sha256_update (hs->h, digest, strlen (digest) + 1, err)) < 0)
    return r;
  return 0;
}

int
hutch_context_checksum (struct hutch_context *c, const char *path,
                        const struct hutch_context_meta *meta, char ret_hex[65], hutch_error_t *err)
{
  _cleanup_sha256_ struct hutch_sha256 *h = NULL;
  struct hasher hs = { c, meta, NULL };
  char digest[HUTCH_DIGEST_BUF_LEN];
  int r;

  if ((r = hutch_sha256_new (&h, err)) < 0)
    return r;
  hs.h = h;
  r = context_walk (c, path, hash_entry, &hs, err);
  if (r < 0)
    return r;
  if ((r = hutch_sha256_final (h, digest, err)) < 0)
    return r;
  memcpy (ret_hex, digest + sizeof HUTCH_DIGEST_PREFIX - 1, HUTCH_DIGEST_HEX_LEN + 1);
  return 0;
}

/* ---- matching sources --------------------------------------------------- */

/* SRC is missing, or hidden by the ignore file: EXCLUDED, the path it
   hides (SRC itself, or where a symlink of SRC leads), or NULL.  */
static int
not_in_context (struct hutch_context *c, const char *src, const char *excluded, bool wildcard,
                hutch_error_t *err)
{
  _cleanup_free_ char *shown = hutch_walk_shown (src);
  _cleanup_free_ char *hidden = excluded ? hutch_walk_shown (excluded) : NULL;
  const char *file = hutch_ignore_file (c->ig);

  if (excluded && strcmp (excluded, src) != 0 && !wildcard)
    hutch_error_set (err, 0,
                     "COPY source `%s` is not in the build context (%s): it leads to `%s`, which "
                     "is excluded by %s; remove the pattern that excludes it there, or add an "
                     "exception (`!%s`) after it",
                     shown, c->dir, hidden, file ? file : "the ignore file", hidden);
  else if (excluded)
    hutch_error_set (err, 0,
                     "COPY source `%s` is not in the build context (%s): it is excluded by %s; "
                     "remove the pattern that excludes it there, or add an exception (`!%s`) "
                     "after it",
                     shown, c->dir, file ? file : "the ignore file", shown);
  else
    hutch_error_set (err, 0, "COPY source `%s` is not in the build context (%s); %s", shown, c->dir,
                     wildcard ? "no file there matches it (the pattern is relative to the context)"
                              : "check its path, which is relative to the context");
  err->errnum = ENOENT;
  return -ENOENT;
}

struct finder
{
  bool found;
};

static int
find_any (void *data, const char *ctxpath, const char *rel, int dirfd, const char *name,
          const struct stat *st, hutch_error_t *err)
{
  struct finder *f = data;
  (void)ctxpath, (void)dirfd, (void)name, (void)st, (void)err;
  if (*rel == '\0')
    return 0;
  f->found = true;
  return -ECANCELED; /* enough: stop the walk */
}

/* Whether the build sees CANON (a path of the context without symlinks,
   ST its lstat): not excluded, or an excluded directory that an exception
   brings something of back (BuildKit sends it then, as their parent).  */
static int
visible (struct hutch_context *c, const char *canon, const struct stat *st, bool *ret,
         hutch_error_t *err)
{
  struct finder f = { false };
  int r;

  *ret = !hutch_ignore_excluded (c->ig, canon);
  if (*ret || !S_ISDIR (st->st_mode) || !hutch_ignore_may_include_below (c->ig, canon))
    return 0;
  r = context_walk (c, canon, find_any, &f, err);
  if (r < 0 && !f.found)
    return r;
  *ret = f.found;
  return 0;
}

/* Does Go say NAME has a wildcard (`\` quoting the next character)?  */
static bool
has_wildcard (const char *name)
{
  for (; *name; name++)
    if (*name == '\\' && name[1])
      name++;
    else if (*name == '*' || *name == '?' || *name == '[')
      return true;
  return false;
}

static int
match_literal (struct hutch_context *c, const char *src, const char *clean, char ***ret,
               hutch_error_t *err)
{
  struct resolved res = { 0 };
  _cleanup_free_ char *hidden = NULL;
  struct stat st;
  bool seen = true;
  size_t i;
  int r;

  r = resolve (c, clean, true, &res, err);
  if (r == -ENOENT)
    return not_in_context (c, src, hutch_ignore_excluded (c->ig, clean) ? src : NULL, false, err);
  if (r < 0)
    return r;
  /* What the build sees: each symlink on the way, and what it leads to.  */
  for (i = 0; res.links && res.links[i] && seen; i++)
    if (hutch_ignore_excluded (c->ig, res.links[i]))
      {
        seen = false;
        hidden = hutch_xstrdup (i == 0 && strcmp (res.links[i], clean) == 0 ? src : res.links[i]);
      }
  if (seen && !hutch_ignore_empty (c->ig))
    {
      const char *slash = strrchr (res.canon, '/');
      _cleanup_free_ char *parent
          = slash ? hutch_xstrndup (res.canon, (size_t)(slash - res.canon)) : hutch_xstrdup ("");
      if (*res.canon && lstat_in (c, parent, slash ? slash + 1 : res.canon, &st) < 0)
        r = hutch_error_set (err, errno, "look at `%s` in the build context", res.canon);
      else if (*res.canon)
        r = visible (c, res.canon, &st, &seen, err);
    }
  if (r >= 0 && !seen && hidden == NULL)
    hidden = hutch_xstrdup (strcmp (res.canon, clean) == 0 ? src : res.canon);
  resolved_clear (&res);
  if (r < 0)
    return r;
  if (!seen)
    return not_in_context (c, src, hidden, false, err);
  hutch_strv_push (ret, hutch_xstrdup (clean));
  return 0;
}

struct matcher
{
  struct hutch_context *c;
  const char *base; /* the directory the patterns start from, in the context */
  char **comps;     /* the patterns, one a level */
  size_t n_comps;
  char **matches;      /* paths in the context */
  unsigned int hidden; /* matches that the ignore file hides */
};

static int
match_entry (void *data, const struct hutch_walk_entry *e, hutch_error_t *err)
{
  struct matcher *m = data;
  _cleanup_free_ char *full = NULL;
  bool seen;
  int r;

  r = hutch_ignore_glob (m->comps[e->depth - 1], e->name, err);
  if (r <= 0)
    return r < 0 ? r : HUTCH_WALK_SKIP;
  if (e->depth < m->n_comps)
    return S_ISDIR (e->st->st_mode) ? HUTCH_WALK_TRY : HUTCH_WALK_SKIP;
  full = join (m->base, e->path);
  r = visible (m->c, full, e->st, &seen, err);
  if (r < 0)
    return r;
  if (seen)
    hutch_strv_push (&m->matches, HUTCH_STEAL_PTR (full));
  else
    m->hidden++;
  return HUTCH_WALK_SKIP;
}

/* CLEAN has a wildcard in its component FIRST: the components before it
   are a path (symlinks followed), the rest patterns matched level by
   level below it, without following symlinks (BuildKit's
   ResolveWildcards).  */
static int
match_wildcard (struct hutch_context *c, const char *src, char **comps, size_t first, char ***ret,
                hutch_error_t *err)
{
  struct matcher m = { .c = c, .comps = comps + first, .n_comps = hutch_strv_len (comps) - first };
  _cleanup_free_ char *prefix = NULL;
  struct resolved res = { 0 };
  _cleanup_close_ int fd = -1;
  size_t i;
  int r;

  for (i = 0; i < m.n_comps; i++)
    if ((r = hutch_ignore_glob (m.comps[i], "", err)) < 0)
      {
        _cleanup_free_ char *shown = hutch_walk_shown (src);
        return hutch_error_prefix (err, "COPY source `%s`", shown);
      }
  for (i = 0; i < first; i++)
    {
      char *p = prefix ? hutch_xasprintf ("%s/%s", prefix, comps[i]) : hutch_xstrdup (comps[i]);
      free (prefix);
      prefix = p;
    }
  r = resolve (c, prefix ? prefix : "", true, &res, err);
  if (r == -ENOENT)
    return not_in_context (c, src, NULL, true, err);
  if (r < 0)
    return r;
  m.base = res.canon;
  fd = hutch_walk_open_beneath (c->fd, res.canon, O_PATH | O_DIRECTORY,
                                RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV);
  r = fd < 0 ? not_in_context (c, src, NULL, true, err)
             : hutch_walk_sorted (fd, match_entry, &m, err);
  resolved_clear (&res);
  if (r >= 0 && m.matches == NULL)
    r = not_in_context (c, src, m.hidden > 0 ? src : NULL, true, err);
  if (r < 0)
    {
      hutch_strv_free (m.matches);
      return r;
    }
  *ret = m.matches;
  return 0;
}

int
hutch_context_match (struct hutch_context *c, const char *src, char ***ret, hutch_error_t *err)
{
  _cleanup_free_ char *clean = hutch_ignore_clean_path (src);
  _cleanup_strv_ char **comps = NULL, **out = NULL;
  const char *rel = clean, *p;
  size_t i;
  int r;

  /* An absolute source is relative to the context (and cannot climb out
     of it: Clean keeps `/..` at `/`).  */
  while (*rel == '/')
    rel++;
  if (strcmp (rel, ".") == 0)
    rel = "";
  if (strcmp (rel, "..") == 0 || hutch_str_has_prefix (rel, "../"))
    {
      _cleanup_free_ char *shown = hutch_walk_shown (src);
      return hutch_error_set (err, 0,
                              "COPY source `%s` is outside the build context (%s): `..` climbs "
                              "above it; a source is a path in the context: move the file into "
                              "it, or build with a context that holds it",
                              shown, c->dir);
    }
  for (p = rel; *p;)
    {
      const char *end = strchrnul (p, '/');
      hutch_strv_push (&comps, hutch_xstrndup (p, (size_t)(end - p)));
      p = *end ? end + 1 : end;
    }
  for (i = 0; comps && comps[i] && !has_wildcard (comps[i]); i++)
    ;
  if (comps && comps[i])
    r = match_wildcard (c, src, comps, i, &out, err);
  else
    r = match_literal (c, src, rel, &out, err);
  if (r < 0)
    return r;
  *ret = HUTCH_STEAL_PTR (out);
  return 0;
}
