/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* image/layerwrite: the same bytes for the same tree, times clamped, the
   gzip header, hard links, sparse files (extracted by GNU tar), file
   capabilities, whiteouts and opaque markers, the layer of an upper
   directory against the layers below, and a layer put into a store.  The
   tars are read back here byte by byte, so that what is checked is what
   another tool reads.  */

#include "tap.h"
#include "base/digest.h"
#include "base/util.h"
#include "image/imageconfig.h"
#include "image/layerwrite.h"
#include "image/store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

static char *top;

static char *
at (const char *rel)
{
  return hutch_xasprintf ("%s/%s", top, rel);
}

static void
put (const char *rel, const char *text)
{
  _cleanup_free_ char *p = at (rel);
  int fd = open (p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write (fd, text, strlen (text)) != (ssize_t)strlen (text))
    abort ();
  close (fd);
}

static void
dir (const char *rel)
{
  _cleanup_free_ char *p = at (rel);
  if (mkdir (p, 0755) < 0)
    abort ();
}

static void
set_mtime (const char *rel, time_t sec, long nsec)
{
  _cleanup_free_ char *p = at (rel);
  struct timespec ts[2] = { { sec, nsec }, { sec, nsec } };
  if (utimensat (AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW) < 0)
    abort ();
}

static int run (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
static int
run (const char *fmt, ...)
{
  _cleanup_free_ char *cmd = NULL;
  va_list ap;

  va_start (ap, fmt);
  cmd = hutch_xvasprintf (fmt, ap);
  va_end (ap);
  return system (cmd);
}

/* ---- reading a tar back ------------------------------------------------ */

struct entry
{
  char *name, *link;
  char type;
  int64_t size, uid, gid, mtime;
  char *uname, *gname; /* the ustar fields */
  char **pax;          /* "key=value" of its pax header */
};

struct tar
{
  struct entry *v;
  size_t n;
};

static int64_t
octal (const char *p, size_t len)
{
  int64_t v = 0;
  size_t i;
  for (i = 0; i < len && (p[i] == ' ' || p[i] == '0'); i++)
    ;
  for (; i < len && p[i] >= '0' && p[i] <= '7'; i++)
    v = v * 8 + (p[i] - '0');
  return v;
}

static const char *
pax_get (const struct entry *e, const char *key, size_t *ret_len)
{
  size_t i, k = strlen (key);
  for (i = 0; e->pax && e->pax[i]; i++)
    if (strncmp (e->pax[i], key, k) == 0 && e->pax[i][k] == '=')
      {
        /* The value is binary: stored as "key=" + value, its length
           before it ("%zu:").  */
        const char *v = e->pax[i] + k + 1, *colon = strchr (v, ':');
        if (ret_len)
          *ret_len = strtoul (v, NULL, 10);
        return colon + 1;
      }
  return NULL;
}

static char **
pax_records (const char *p, int64_t size)
{
  char **v = hutch_xmalloc0 (sizeof (char *));
  int64_t off = 0;

  while (off < size)
    {
      char *end;
      long len = strtol (p + off, &end, 10);
      const char *kv = end + 1, *eq = memchr (kv, '=', (size_t)(p + off + len - kv));
      if (len <= 0 || eq == NULL)
        break;
      size_t vlen = (size_t)(p + off + len - 1 - (eq + 1));
      char *rec = hutch_xasprintf ("%.*s=%zu:", (int)(eq - kv), kv, vlen), *full;
      /* The value may hold NULs: copied, not printed.  */
      full = hutch_xmalloc0 (strlen (rec) + vlen + 1);
      memcpy (full, rec, strlen (rec));
      memcpy (full + strlen (rec), eq + 1, vlen);
      free (rec);
      hutch_strv_push (&v, full);
      off += len;
    }
  return v;
}

static void
entry_fill (struct entry *e, const char *h, char **pax)
{
  char name[257];
  const char *pname, *plink, *psparse;

  if (h[345])
    snprintf (name, sizeof name, "%.155s/%.100s", h + 345, h);
  else
    snprintf (name, sizeof name, "%.100s", h);
  e->pax = pax;
  pname = pax_get (e, "path", NULL);
  psparse = pax_get (e, "GNU.sparse.name", NULL);
  plink = pax_get (e, "linkpath", NULL);
  e->name = hutch_xstrdup (psparse ? psparse : pname ? pname : name);
  e->link = plink ? hutch_xstrdup (plink) : hutch_xstrndup (h + 157, 100);
  e->type = h[156];
  e->size = octal (h + 124, 12);
  e->uid = octal (h + 108, 8);
  e->gid = octal (h + 116, 8);
  e->mtime = octal (h + 136, 12);
  e->uname = hutch_xstrndup (h + 265, 32);
  e->gname = hutch_xstrndup (h + 297, 32);
}

static bool
read_tar (const char *path, struct tar *t)
{
  _cleanup_free_ char *buf = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;
  char **pax = NULL;
  size_t len, off = 0;

  memset (t, 0, sizeof *t);
  if (hutch_read_file (path, 1 << 28, &buf, &len, &e) < 0)
    {
      hutch_error_clear (&e);
      return false;
    }
  while (off + 512 <= len && buf[off] != '\0')
    {
      const char *h = buf + off;
      int64_t size = octal (h + 124, 12);
      if (h[156] == 'x')
        pax = pax_records (h + 512, size);
      else
        {
          t->v = hutch_xrealloc (t->v, (t->n + 1) * sizeof *t->v);
          entry_fill (&t->v[t->n++], h, pax);
          pax = NULL;
        }
      off += 512 + (size_t)((size + 511) & ~511);
    }
  return true;
}

static void
tar_free (struct tar *t)
{
  size_t i;
  for (i = 0; i < t->n; i++)
    {
      free (t->v[i].name);
      free (t->v[i].link);
      free (t->v[i].uname);
      free (t->v[i].gname);
      hutch_strv_free (t->v[i].pax);
    }
  free (t->v);
}

static const struct entry *
find (const struct tar *t, const char *name)
{
  size_t i;
  for (i = 0; i < t->n; i++)
    if (strcmp (t->v[i].name, name) == 0)
      return &t->v[i];
  return NULL;
}

/* ---- writing ------------------------------------------------------------ */

/* The tree SRC (relative to TOP) as a layer into OUT; true on success.  */
static bool
write_tree (const char *src, const char *out, const struct hutch_layer_write_opts *o,
            struct hutch_layer_digests *d)
{
  _cleanup_free_ char *s = at (src), *p = at (out);
  _cleanup_close_ int fd = open (p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  _cleanup_close_ int dfd = open (s, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct hutch_layer_writer *w = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;
  bool good;

  good = hutch_layer_writer_open (fd, o, &w, &e) == 0
         && hutch_layer_writer_add_tree (w, dfd, "", "", &e) == 0;
  if (!good && w)
    hutch_layer_writer_abort (w);
  if (good)
    good = hutch_layer_writer_finish (w, d, &e) == 0;
  if (!good)
    printf ("# writing %s: %s\n", src, e.msg);
  hutch_error_clear (&e);
  return good;
}

static void
make_tree (void)
{
  _cleanup_free_ char *h1 = at ("tree/etc/data"), *h2 = at ("tree/etc/data.hard");
  _cleanup_free_ char *l = at ("tree/etc/link"), *x = at ("tree/etc/data");

  dir ("tree");
  dir ("tree/etc");
  dir ("tree/bin");
  put ("tree/etc/data", "some data\n");
  put ("tree/etc/empty", "");
  if (run ("cp /bin/sh '%s/tree/bin/sh' && head -c 300000 /bin/sh > '%s/tree/bin/part'", top, top)
      != 0)
    abort ();
  if (link (h1, h2) < 0 || symlink ("data", l) < 0)
    abort ();
  /* A user xattr where the file system has them.  */
  (void)setxattr (x, "user.test", "value", 5, 0);
}

static void
test_same_bytes (void)
{
  struct hutch_layer_write_opts plain = { .clamp_time = -1 },
                                gz = { .gzip = true, .clamp_time = -1 };
  struct hutch_layer_digests a, b, c, d;
  _cleanup_free_ char *p = at ("a.tar");
  char sum[HUTCH_DIGEST_BUF_LEN] = "";
  hutch_error_t e = HUTCH_ERROR_INIT;
  int fd;

  make_tree ();
  ok (write_tree ("tree", "a.tar", &plain, &a) && write_tree ("tree", "b.tar", &plain, &b),
      "a tree is written twice");
  is_str (a.digest, b.digest, "the same tree makes the same tar");
  is_str (a.digest, a.diff_id, "a plain tar's digest is its diff_id");
  fd = open (p, O_RDONLY | O_CLOEXEC);
  ok (fd >= 0 && hutch_digest_fd (fd, sum, &e) == 0, "the tar is read back");
  close (fd);
  is_str (sum, a.digest, "its digest is the digest of the bytes written");
  ok (write_tree ("tree", "a.tgz", &gz, &c) && write_tree ("tree", "b.tgz", &gz, &d),
      "a tree is written twice, gzipped");
  is_str (c.digest, d.digest, "the same tree makes the same gzip");
  is_str (c.diff_id, a.diff_id, "the gzipped layer's diff_id is the plain tar's digest");
  ok (c.size < a.size && c.gzip && !a.gzip, "gzip makes it smaller (%" PRId64 " < %" PRId64 ")",
      c.size, a.size);
  hutch_error_clear (&e);
}

static void
test_gzip (void)
{
  static const unsigned char want[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 0xff };
  _cleanup_free_ char *p = at ("a.tgz"), *cmd = NULL;
  unsigned char head[10] = { 0 };
  char line[128] = "";
  int fd = open (p, O_RDONLY | O_CLOEXEC);
  struct stat st;
  FILE *f;

  ok (fd >= 0 && read (fd, head, sizeof head) == sizeof head && memcmp (head, want, 10) == 0,
      "gzip header: deflate, no flags, mtime 0, XFL 4 (level 1), OS 255");
  ok (fstat (fd, &st) == 0, "the gzip is there");
  close (fd);
  cmd = hutch_xasprintf ("gzip -dc '%s' | sha256sum", p);
  f = popen (cmd, "r");
  if (f && fgets (line, sizeof line, f) == NULL)
    line[0] = '\0';
  if (f)
    pclose (f);
  {
    struct hutch_layer_write_opts gz = { .gzip = true, .clamp_time = -1 };
    struct hutch_layer_digests d;
    ok (write_tree ("tree", "c.tgz", &gz, &d) && strncmp (line, d.diff_id + 7, 64) == 0,
        "gunzip gives the tar of the diff_id");
    ok (st.st_size == d.size, "the size is the blob's");
  }
}

static void
test_headers (void)
{
  _cleanup_free_ char *p = at ("a.tar");
  struct tar t;
  const struct entry *data, *hard, *link;
  size_t i, bad = 0;

  ok (read_tar (p, &t), "the tar reads back");
  data = find (&t, "etc/data");
  hard = find (&t, "etc/data.hard");
  link = find (&t, "etc/link");
  ok (data && data->type == '0' && data->size == 10, "a file");
  ok (hard && hard->type == '1' && strcmp (hard->link, "etc/data") == 0 && hard->size == 0,
      "its second name: a hard link to the first");
  ok (link && link->type == '2' && strcmp (link->link, "data") == 0, "a symlink");
  ok (find (&t, "bin/sh") && find (&t, "etc/") && find (&t, "etc/empty"), "the rest of the tree");
  ok (t.n > 0 && strcmp (t.v[0].name, "bin/") == 0 && strcmp (t.v[t.n - 1].name, "etc/link") == 0,
      "entries sorted by name, parents first (%s ... %s)", t.n ? t.v[0].name : "",
      t.n ? t.v[t.n - 1].name : "");
  for (i = 0; i < t.n; i++)
    {
      if (t.v[i].uname[0] || t.v[i].gname[0] || pax_get (&t.v[i], "uname", NULL)
          || pax_get (&t.v[i], "gname", NULL) || pax_get (&t.v[i], "atime", NULL)
          || pax_get (&t.v[i], "ctime", NULL) || pax_get (&t.v[i], "LIBARCHIVE.creationtime", NULL)
          || pax_get (&t.v[i], "mtime", NULL))
        bad++;
      if (t.v[i].uid != (int64_t)getuid ())
        bad++;
    }
  ok (bad == 0, "numeric owners only, no names, no atime, ctime, creationtime, subsecond mtime");
  if (data && data->pax && pax_get (data, "SCHILY.xattr.user.test", NULL))
    ok (pax_get (data, "LIBARCHIVE.xattr.user.test", NULL) == NULL,
        "an xattr as a SCHILY.xattr record only");
  tar_free (&t);
}

static void
test_clamp (void)
{
  struct hutch_layer_write_opts clamp = { .clamp_time = 1000000000 }, none = { .clamp_time = -1 };
  struct hutch_layer_digests a, b, c, d;
  _cleanup_free_ char *p = at ("clamp1.tar");
  struct tar t;

  set_mtime ("tree/etc/data", 1600000000, 123456789);
  set_mtime ("tree/etc", 1600000000, 0);
  ok (write_tree ("tree", "clamp1.tar", &clamp, &a) && write_tree ("tree", "none1.tar", &none, &c),
      "written with and without a clamp");
  set_mtime ("tree/etc/data", 1700000000, 5);
  set_mtime ("tree/etc", 1700000001, 0);
  ok (write_tree ("tree", "clamp2.tar", &clamp, &b) && write_tree ("tree", "none2.tar", &none, &d),
      "and again with other times");
  is_str (a.digest, b.digest, "times after the clamp: the same layer");
  ok (strcmp (c.digest, d.digest) != 0, "without the clamp, other times make another tar");
  ok (read_tar (p, &t) && find (&t, "etc/data") && find (&t, "etc/data")->mtime == 1000000000,
      "the time is the clamp's");
  tar_free (&t);
}

/* ---- sparse files --------------------------------------------------------- */

static bool
make_sparse (const char *rel, off_t size)
{
  _cleanup_free_ char *p = at (rel);
  _cleanup_close_ int fd = open (p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  struct stat st;

  if (fd < 0 || ftruncate (fd, size) < 0 || pwrite (fd, "head", 4, 1 << 20) != 4
      || pwrite (fd, "tail", 4, 40 << 20) != 4 || fstat (fd, &st) < 0)
    abort ();
  return (int64_t)st.st_blocks * 512 < size / 2;
}

static void
test_sparse (void)
{
  struct hutch_layer_write_opts plain = { .clamp_time = -1 };
  struct hutch_layer_digests d;
  _cleanup_free_ char *x = at ("sparse-x"), *f = at ("sparse-x/big"), *h = at ("sparse-x/hole");
  char buf[4] = { 0 };
  struct stat st;
  int fd;

  dir ("sparse");
  dir ("sparse-x");
  if (!make_sparse ("sparse/big", 64 << 20))
    {
      ok (1, "# SKIP this file system keeps no holes");
      return;
    }
  {
    _cleanup_free_ char *p = at ("sparse/hole");
    _cleanup_close_ int hfd = open (p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (hfd < 0 || ftruncate (hfd, 8 << 20) < 0)
      abort ();
  }
  ok (write_tree ("sparse", "sparse.tar", &plain, &d) && d.size < (1 << 20),
      "a 64 MiB file of two 4-byte stretches makes a small tar (%" PRId64 " bytes)", d.size);
  ok (run ("tar -xf '%s/sparse.tar' -C '%s'", top, x) == 0, "GNU tar extracts it");
  fd = open (f, O_RDONLY | O_CLOEXEC);
  ok (fd >= 0 && fstat (fd, &st) == 0 && st.st_size == 64 << 20, "the file has its size");
  ok ((int64_t)st.st_blocks * 512 < (1 << 20), "and stays sparse (%jd blocks)",
      (intmax_t)st.st_blocks);
  ok (pread (fd, buf, 4, 1 << 20) == 4 && memcmp (buf, "head", 4) == 0
          && pread (fd, buf, 4, 40 << 20) == 4 && memcmp (buf, "tail", 4) == 0
          && pread (fd, buf, 4, 2 << 20) == 4 && memcmp (buf, "\0\0\0\0", 4) == 0,
      "with its data where it was, zeros between");
  close (fd);
  ok (stat (h, &st) == 0 && st.st_size == 8 << 20 && st.st_blocks == 0,
      "a file that is all hole comes back all hole");
}

/* ---- file capabilities ------------------------------------------------------ */

static void
put_le32 (unsigned char *p, uint32_t v)
{
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
  p[2] = (v >> 16) & 0xff;
  p[3] = (v >> 24) & 0xff;
}

/* A v3 capability: CAP_NET_BIND_SERVICE (10) permitted and effective, root
   id ROOTID.  */
static void
cap_v3 (unsigned char v[24], uint32_t rootid)
{
  memset (v, 0, 24);
  put_le32 (v, 0x03000000 | 1);
  put_le32 (v + 4, 1u << 10);
  put_le32 (v + 20, rootid);
}

static void
test_capability (void)
{
  struct hutch_layer_write_opts plain = { .clamp_time = -1 };
  unsigned char v[24], want[20];
  _cleanup_free_ char *p = at ("caps/ping"), *t = at ("caps.tar");
  struct hutch_layer_digests d;
  size_t len = 24;
  struct tar tar;
  const char *got;

  cap_v3 (v, 100000);
  memcpy (want, v, 20);
  put_le32 (want, 0x02000000 | 1);
  ok (hutch_layer_capability_v2 (v, &len) && len == 20 && memcmp (v, want, 20) == 0,
      "a v3 capability becomes v2: the same sets and flag, no root id");
  ok (!hutch_layer_capability_v2 (v, &len) && len == 20, "a v2 one stays as it is");
  len = 23;
  ok (!hutch_layer_capability_v2 (v, &len) && len == 23, "a value of another size too");

  dir ("caps");
  put ("caps/ping", "ping");
  cap_v3 (v, 100000);
  if (setxattr (p, "security.capability", v, 24, 0) < 0)
    {
      ok (1, "# SKIP setting a file capability: %s", strerror (errno));
      return;
    }
  ok (write_tree ("caps", "caps.tar", &plain, &d) && read_tar (t, &tar), "a file with a v3 cap");
  len = 0;
  got = find (&tar, "ping")
            ? pax_get (find (&tar, "ping"), "SCHILY.xattr.security.capability", &len)
            : NULL;
  ok (got && len == 20 && memcmp (got, want, 20) == 0, "is written with a v2 one (%zu bytes)", len);
  tar_free (&tar);
}

/* ---- whiteouts and an upper directory --------------------------------------- */

static void
test_markers (void)
{
  struct hutch_layer_write_opts plain = { .clamp_time = -1 };
  _cleanup_free_ char *p = at ("marks.tar");
  _cleanup_close_ int fd = open (p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  struct hutch_layer_writer *w = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;
  struct hutch_layer_digests d = { 0 };
  const struct entry *x;
  struct tar t;

  ok (hutch_layer_writer_open (fd, &plain, &w, &e) == 0
          && hutch_layer_writer_add_dir (w, "a", 0755, 0, 0, 5, &e) == 0
          && hutch_layer_writer_add_whiteout (w, "a/gone", &e) == 0
          && hutch_layer_writer_add_whiteout (w, "top", &e) == 0
          && hutch_layer_writer_add_opaque (w, "a", &e) == 0
          && hutch_layer_writer_add_data (w, "a/here", "doc\n", 4, 0600, 7, 8, 9, &e) == 0
          && hutch_layer_writer_finish (w, &d, &e) == 0,
      "whiteouts, an opaque marker, a directory and a heredoc (%s)", e.msg ? e.msg : "");
  ok (read_tar (p, &t) && t.n == 5, "five entries");
  ok (d.entries == 5, "the writer counted them");
  x = find (&t, "a/.wh.gone");
  ok (x && x->type == '0' && x->size == 0 && x->uid == 0 && x->gid == 0 && x->mtime == 0,
      "DIR/.wh.NAME: empty, 0:0, time 0");
  ok (find (&t, ".wh.top") != NULL, ".wh.NAME at the root");
  ok (find (&t, "a/.wh..wh..opq") != NULL, "DIR/.wh..wh..opq");
  x = find (&t, "a/here");
  ok (x && x->size == 4 && x->uid == 7 && x->gid == 8 && x->mtime == 9,
      "the heredoc's owner, time");
  ok (t.n == 5 && strcmp (t.v[0].name, "a/") == 0 && strcmp (t.v[4].name, "a/here") == 0,
      "in the order added");
  tar_free (&t);
  hutch_error_clear (&e);
}

static void
test_whiteout_names (void)
{
  struct stat st = { 0 };
  const char *v = NULL;

  st.st_mode = S_IFCHR;
  st.st_rdev = makedev (0, 0);
  ok (hutch_upper_whiteout ("gone", &st, &v) && strcmp (v, "gone") == 0,
      "a 0/0 character device deletes its own name");
  st.st_rdev = makedev (1, 3);
  ok (!hutch_upper_whiteout ("null", &st, &v), "another character device is none");
  st.st_mode = S_IFREG;
  ok (hutch_upper_whiteout (".wh.gone", &st, &v) && strcmp (v, "gone") == 0,
      "fuse-overlayfs's .wh.NAME deletes NAME");
  ok (!hutch_upper_whiteout (".wh..wh..opq", &st, &v), "the opaque marker deletes nothing");
  ok (!hutch_upper_whiteout (".wh.", &st, &v), ".wh. deletes nothing");
  ok (!hutch_upper_whiteout (".wh..", &st, &v), ".wh.. deletes nothing");
  ok (!hutch_upper_whiteout ("plain", &st, &v), "a plain file is none");
  st.st_mode = S_IFDIR;
  ok (!hutch_upper_whiteout (".wh.dir", &st, &v), "a directory named .wh.X is none");
  ok (hutch_upper_is_opaque_marker (".wh..wh..opq") && !hutch_upper_is_opaque_marker (".wh.x"),
      "the opaque marker is known by its name");
}

struct seen
{
  char **lines;
};

static int
record (void *data, const struct hutch_upper_entry *e, hutch_error_t *err)
{
  struct seen *s = data;
  (void)err;
  hutch_strv_push (&s->lines, hutch_xasprintf ("%c %s%s%s", e->kind ? e->kind : '?', e->path,
                                               e->whiteout ? " wh" : "", e->opaque ? " opq" : ""));
  return 0;
}

static bool
saw (struct seen *s, const char *line)
{
  size_t i;
  for (i = 0; s->lines && s->lines[i]; i++)
    if (strcmp (s->lines[i], line) == 0)
      return true;
  return false;
}

/* Two layers, L1 (bottom) and L2, and an upper directory above them;
   false when this file system cannot hold whiteouts or user xattrs.  */
static bool
make_upper (void)
{
  _cleanup_free_ char *wh = at ("upper/etc/gone"), *opq = at ("upper/data");

  dir ("L1");
  dir ("L1/etc");
  put ("L1/etc/passwd", "root");
  put ("L1/etc/gone", "x");
  put ("L1/etc/same", "same");
  dir ("L1/data");
  put ("L1/data/old", "o");
  put ("L1/lower2only", "1");
  dir ("L2");
  dir ("L2/etc");
  put ("L2/etc/group", "g");
  dir ("upper");
  dir ("upper/etc");
  put ("upper/etc/passwd", "changed");
  put ("upper/etc/new", "n");
  put ("upper/etc/same", "same"); /* copied up only, with a new time */
  set_mtime ("upper/etc/same", 1234567890, 0);
  dir ("upper/data");
  put ("upper/data/fresh", "f");
  dir ("upper/proc"); /* a run's mount point: not a change */
  put ("upper/.wh.lower2only", "");
  dir ("upper/newdir");
  put ("upper/newdir/x", "x");
  if (mknod (wh, S_IFCHR, makedev (0, 0)) < 0)
    {
      ok (1, "# SKIP the upper layer: mknod of a whiteout: %s", strerror (errno));
      return false;
    }
  if (setxattr (opq, "user.overlay.opaque", "y", 1, 0) < 0)
    {
      ok (1, "# SKIP the upper layer: user xattrs: %s", strerror (errno));
      return false;
    }
  {
    /* Copied up as overlayfs copies a directory up: its metadata kept.  */
    _cleanup_free_ char *le = at ("L2/etc"), *ue = at ("upper/etc");
    struct stat st;
    struct timespec ts[2];
    if (stat (le, &st) < 0)
      abort ();
    ts[0] = st.st_atim;
    ts[1] = st.st_mtim;
    if (utimensat (AT_FDCWD, ue, ts, 0) < 0)
      abort ();
  }
  return true;
}

static void
test_upper_walk (void)
{
  _cleanup_free_ char *l1 = at ("L1"), *l2 = at ("L2"), *u = at ("upper");
  char *layers[] = { l2, l1, NULL };
  struct seen s = { NULL };
  hutch_error_t e = HUTCH_ERROR_INIT;
  size_t i;

  ok (hutch_upper_walk (u, layers, 2, record, &s, &e) == 0, "the upper layer is walked (%s)",
      e.msg ? e.msg : "");
  for (i = 0; s.lines && s.lines[i]; i++)
    printf ("# %s\n", s.lines[i]);
  ok (saw (&s, "C etc/passwd"), "a file of the layers below, written: changed");
  ok (saw (&s, "A etc/new"), "a new file: added");
  ok (saw (&s, "D etc/gone wh"), "a whiteout: deleted");
  ok (saw (&s, "? etc"),
      "a directory of the layers below, alike: changed only through its entries");
  ok (saw (&s, "C data opq"), "an opaque directory that hides one below: changed");
  ok (saw (&s, "A data/fresh"), "what an opaque directory holds: added");
  ok (saw (&s, "D lower2only wh"), "fuse-overlayfs's .wh.NAME: deleted");
  ok (saw (&s, "A newdir") && saw (&s, "A newdir/x"), "a new directory and its file: added");
  ok (!saw (&s, "A proc"), "an empty /proc that the image lacks is a run's mount point");
  hutch_strv_free (s.lines);
  hutch_error_clear (&e);
}

static void
test_upper_layer (void)
{
  _cleanup_free_ char *l1 = at ("L1"), *l2 = at ("L2"), *u = at ("upper"), *p = at ("upper.tar");
  _cleanup_close_ int fd = open (p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  struct hutch_layer_write_opts plain = { .clamp_time = -1 };
  char *layers[] = { l2, l1, NULL };
  struct hutch_layer_writer *w = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;
  struct hutch_layer_digests d;
  struct tar t;
  size_t i;

  ok (hutch_layer_writer_open (fd, &plain, &w, &e) == 0
          && hutch_layer_from_upper (w, u, layers, 2, &e) == 0
          && hutch_layer_writer_finish (w, &d, &e) == 0,
      "the layer of the upper directory (%s)", e.msg ? e.msg : "");
  ok (read_tar (p, &t), "reads back");
  for (i = 0; i < t.n; i++)
    printf ("# %s\n", t.v[i].name);
  ok (find (&t, "etc/passwd") && find (&t, "etc/new") && find (&t, "etc/.wh.gone")
          && find (&t, ".wh.lower2only"),
      "changed and added files, and whiteouts as .wh.NAME");
  ok (find (&t, "data/") && find (&t, "data/.wh..wh..opq") && find (&t, "data/fresh"),
      "an opaque directory with its marker");
  ok (find (&t, "etc/same") == NULL, "a file only copied up (a new time alone) is left out");
  ok (find (&t, "proc/") == NULL, "a run's mount point is left out");
  ok (find (&t, "etc/gone") == NULL, "no whiteout device goes in as it is");
  tar_free (&t);
  hutch_error_clear (&e);
}

/* A step that only copied files up, unchanged: no entry at all.  */
static void
test_upper_unchanged (void)
{
  _cleanup_free_ char *l1 = at ("L1"), *l2 = at ("L2"), *u = at ("upper2"), *p = at ("upper2.tar");
  _cleanup_close_ int fd = open (p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  struct hutch_layer_write_opts plain = { .clamp_time = -1 };
  char *layers[] = { l2, l1, NULL };
  struct hutch_layer_writer *w = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;
  struct hutch_layer_digests d = { 0 };

  dir ("upper2");
  dir ("upper2/etc");
  put ("upper2/etc/same", "same");
  set_mtime ("upper2/etc/same", 1234567890, 0);
  ok (hutch_layer_writer_open (fd, &plain, &w, &e) == 0
          && hutch_layer_from_upper (w, u, layers, 2, &e) == 0
          && hutch_layer_writer_finish (w, &d, &e) == 0 && d.entries == 0,
      "a directory and a file only copied up make an empty layer (%lu entries)", d.entries);
  hutch_error_clear (&e);
}

/* ---- the digests, and the store ------------------------------------------------ */

static void
test_digests_text (void)
{
  struct hutch_layer_digests d = { .size = 1234, .gzip = true, .entries = 56 }, back;
  hutch_error_t e = HUTCH_ERROR_INIT;
  char text[HUTCH_DIGEST_BUF_LEN * 3];

  memcpy (d.digest, "sha256:", 7);
  memset (d.digest + 7, 'a', 64);
  memcpy (d.diff_id, "sha256:", 7);
  memset (d.diff_id + 7, 'b', 64);
  hutch_layer_digests_format (&d, text, sizeof text);
  ok (strlen (text) < 256 && hutch_layer_digests_parse (text, &back, &e) == 0
          && memcmp (&d, &back, sizeof d) == 0,
      "the digests go through text and back (%s)", text);
  ok (hutch_layer_digests_parse ("sha256:abc sha256:def 1 gzip 2", &back, &e) < 0,
      "a bad answer is refused");
  ok (hutch_layer_digests_parse (text + 1, &back, &e) < 0, "a cut one too");
  hutch_error_clear (&e);
}

/* A layer in a file that has a name is copied into the store, never
   linked: the name could change the blob.  */
static void
test_put_named (struct hutch_store *s)
{
  struct hutch_layer_write_opts plain = { .clamp_time = 5 };
  struct hutch_layer_digests d;
  struct hutch_store_layer l = { 0 };
  hutch_error_t e = HUTCH_ERROR_INIT;
  _cleanup_free_ char *p = at ("named.tar"), *blob = NULL;
  struct stat a, b;
  int fd;

  ok (write_tree ("tree", "named.tar", &plain, &d), "a layer in a named file");
  fd = open (p, O_RDONLY | O_CLOEXEC);
  ok (fd >= 0 && hutch_layer_put (s, fd, &d, &l, &e) == 0, "put into the store (%s)",
      e.msg ? e.msg : "");
  blob = hutch_store_blob_path (s, d.digest);
  ok (fstat (fd, &a) == 0 && stat (blob, &b) == 0 && a.st_ino != b.st_ino && a.st_nlink == 1,
      "as a copy of its own");
  is_str (l.media_type, HUTCH_MT_OCI_LAYER, "a plain tar's media type");
  close (fd);
  free (l.digest);
  free (l.diff_id);
  free (l.media_type);
  hutch_error_clear (&e);
}

static void
test_put (void)
{
  struct hutch_layer_write_opts gz = { .gzip = true, .clamp_time = -1 };
  _cleanup_free_ char *root = at ("store"), *src = at ("tree"), *blob = NULL;
  _cleanup_store_ struct hutch_store *s = NULL;
  struct hutch_store_layer l = { 0 }, l2 = { 0 };
  struct hutch_layer_writer *w = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;
  struct hutch_layer_digests d;
  char sum[HUTCH_DIGEST_BUF_LEN] = "";
  _cleanup_close_ int dfd = open (src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int fd = -1, bfd;
  struct stat st;

  ok (hutch_store_open (root, &s, &e) == 0 && (fd = hutch_layer_scratch (s, &e)) >= 0,
      "a scratch file in the store (%s)", e.msg ? e.msg : "");
  ok (hutch_layer_writer_open (fd, &gz, &w, &e) == 0
          && hutch_layer_writer_add_tree (w, dfd, "", "", &e) == 0
          && hutch_layer_writer_finish (w, &d, &e) == 0,
      "a layer written into it");
  ok (hutch_layer_put (s, fd, &d, &l, &e) == 0, "put into the store (%s)", e.msg ? e.msg : "");
  blob = hutch_store_blob_path (s, d.digest);
  bfd = open (blob, O_RDONLY | O_CLOEXEC);
  ok (bfd >= 0 && hutch_digest_fd (bfd, sum, &e) == 0 && strcmp (sum, d.digest) == 0,
      "its blob is there, with its digest");
  ok (bfd >= 0 && fstat (bfd, &st) == 0 && st.st_size == d.size && st.st_nlink == 1,
      "the file itself, linked once");
  if (bfd >= 0)
    close (bfd);
  is_str (l.media_type, HUTCH_MT_OCI_LAYER_GZIP, "a gzipped layer's media type");
  ok (l.size == d.size && strcmp (l.diff_id, d.diff_id) == 0, "its diff_id and size");
  ok (hutch_layer_put (s, fd, &d, &l2, &e) == 0, "putting it again is fine");
  ok (run ("test -z \"$(ls -A '%s/tmp')\"", root) == 0, "nothing is left in tmp/");
  d.size++;
  ok (hutch_layer_put (s, fd, &d, &l2, &e) < 0, "digests that are not the file's are refused");
  close (fd);
  test_put_named (s);
  free (l.digest);
  free (l.diff_id);
  free (l.media_type);
  free (l2.digest);
  free (l2.diff_id);
  free (l2.media_type);
  hutch_error_clear (&e);
}

int
main (void)
{
  char tmpl[] = "/var/tmp/hutch-test-layerwrite.XXXXXX";

  top = mkdtemp (tmpl);
  if (top == NULL)
    return 1;
  test_same_bytes ();
  test_gzip ();
  test_headers ();
  test_clamp ();
  test_sparse ();
  test_capability ();
  test_markers ();
  test_whiteout_names ();
  if (make_upper ())
    {
      test_upper_walk ();
      test_upper_layer ();
      test_upper_unchanged ();
    }
  test_digests_text ();
  test_put ();
  if (run ("rm -rf '%s'", top) != 0)
    printf ("# could not remove %s\n", top);
  return tap_done ();
}
