/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "image/unpack.h"
#include "image/gunzip.h"
#include "tap.h"
#include "base/util.h"
#include "base/walk.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

/* Layers are written with libarchive's writer into a temporary directory;
   each case unpacks one into TOP/layer, next to TOP/outside, a directory that
   a hostile layer tries to reach.  */

enum
{
  PLAIN,
  GZIP,
  ZSTD
};

static char top[4096];
static char warnings[8192];
static bool can_whiteout;

static void
collect_warning (void *data, const char *msg)
{
  size_t len = strlen (warnings);
  (void)data;
  snprintf (warnings + len, sizeof warnings - len, "%s\n", msg);
}

static const struct hutch_unpack_opts opts_plain = {
  .whiteouts = HUTCH_WHITEOUT_OVERLAY,
  .chown = false,
  .warn = collect_warning,
};

static char *
at (const char *rel)
{
  static char buf[4][8192];
  static int n;
  n = (n + 1) % 4;
  snprintf (buf[n], sizeof buf[n], "%s/%s", top, rel);
  return buf[n];
}

static int
rm_chmod (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void)st;
  (void)ftw;
  if (flag == FTW_D)
    chmod (path, 0700);
  return 0;
}

static int
rm_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void)st;
  (void)flag;
  (void)ftw;
  remove (path);
  return 0;
}

/* Start a case: an empty TOP/layer, and TOP/outside holding `secret`.  */
static void
reset (void)
{
  int fd;

  nftw (top, rm_chmod, 64, FTW_PHYS);
  nftw (top, rm_one, 64, FTW_PHYS | FTW_DEPTH);
  mkdir (top, 0700);
  mkdir (at ("layer"), 0755);
  mkdir (at ("outside"), 0755);
  fd = open (at ("outside/secret"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0)
    {
      if (write (fd, "secret\n", 7) != 7)
        abort ();
      close (fd);
    }
  warnings[0] = '\0';
}

/* The tar writer.  */
static struct archive *
tb_open (const char *name, int filter)
{
  struct archive *a = archive_write_new ();

  /* Full pax: pax_restricted drops nanoseconds.  */
  archive_write_set_format_pax (a);
  if (filter == GZIP)
    archive_write_add_filter_gzip (a);
  else if (filter == ZSTD)
    archive_write_add_filter_zstd (a);
  if (archive_write_open_filename (a, at (name)) != ARCHIVE_OK)
    {
      printf ("Bail out! cannot write %s: %s\n", name, archive_error_string (a));
      exit (1);
    }
  return a;
}

static void
tb_close (struct archive *a)
{
  archive_write_close (a);
  archive_write_free (a);
}

static struct archive_entry *
tb_entry (const char *name, unsigned int type, unsigned int perm)
{
  struct archive_entry *e = archive_entry_new ();
  archive_entry_set_pathname (e, name);
  archive_entry_set_filetype (e, type);
  archive_entry_set_perm (e, perm);
  archive_entry_set_mtime (e, 1600000000, 0);
  archive_entry_set_uid (e, 1234);
  archive_entry_set_gid (e, 2345);
  return e;
}

static void
tb_put (struct archive *a, struct archive_entry *e, const char *data)
{
  if (data)
    archive_entry_set_size (e, (la_int64_t)strlen (data));
  if (archive_write_header (a, e) != ARCHIVE_OK)
    printf ("# writer: %s\n", archive_error_string (a));
  if (data)
    archive_write_data (a, data, strlen (data));
  archive_entry_free (e);
}

static void
tb_dir (struct archive *a, const char *name, unsigned int perm)
{
  tb_put (a, tb_entry (name, AE_IFDIR, perm), NULL);
}

static void
tb_file (struct archive *a, const char *name, unsigned int perm, const char *data)
{
  tb_put (a, tb_entry (name, AE_IFREG, perm), data);
}

static void
tb_symlink (struct archive *a, const char *name, const char *target)
{
  struct archive_entry *e = tb_entry (name, AE_IFLNK, 0777);
  archive_entry_set_symlink (e, target);
  tb_put (a, e, NULL);
}

static void
tb_hardlink (struct archive *a, const char *name, const char *target)
{
  struct archive_entry *e = tb_entry (name, AE_IFREG, 0644);
  archive_entry_set_hardlink (e, target);
  archive_entry_set_size (e, 0);
  tb_put (a, e, NULL);
}

static int
unpack_to (const char *tarname, const char *dir, const struct hutch_unpack_opts *opts,
           struct hutch_unpack_stats *st, hutch_error_t *err)
{
  int fd = open (at (tarname), O_RDONLY | O_CLOEXEC);
  int dirfd;
  int r;

  mkdir (at (dir), 0755);
  dirfd = open (at (dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  r = hutch_archive_unpack (fd, dirfd, opts, st, err);
  close (fd);
  close (dirfd);
  return r;
}

static int
unpack_opts (const char *tarname, const struct hutch_unpack_opts *opts,
             struct hutch_unpack_stats *st, hutch_error_t *err)
{
  return unpack_to (tarname, "layer", opts, st, err);
}

static int
unpack (const char *tarname, hutch_error_t *err)
{
  struct hutch_unpack_stats st;
  return unpack_opts (tarname, &opts_plain, &st, err);
}

static bool
exists (const char *rel)
{
  struct stat st;
  return lstat (at (rel), &st) == 0;
}

static bool
content_is (const char *rel, const char *want)
{
  char buf[256];
  int fd = open (at (rel), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  ssize_t n;

  if (fd < 0)
    return false;
  n = read (fd, buf, sizeof buf - 1);
  close (fd);
  if (n < 0)
    return false;
  buf[n] = '\0';
  return strcmp (buf, want) == 0;
}

static bool
outside_untouched (void)
{
  struct stat st;
  int n = 0;
  DIR *d = opendir (at ("outside"));
  struct dirent *de;

  while (d && (de = readdir (d)))
    n++;
  if (d)
    closedir (d);
  return n == 3 && content_is ("outside/secret", "secret\n")
         && lstat (at ("outside/secret"), &st) == 0 && st.st_nlink == 1
         && (st.st_mode & 07777) == 0644;
}

static void
write_normal (const char *name, int filter)
{
  struct archive *a = tb_open (name, filter);
  struct archive_entry *e;

  tb_dir (a, "./", 0755);
  tb_dir (a, "./etc/", 0750);
  tb_file (a, "./etc/hosts", 0644, "127.0.0.1 localhost\n");
  tb_file (a, "./usr/bin/su", 04755, "setuid\n"); /* no entry for usr/ nor usr/bin/ */
  tb_file (a, "usr/bin/wall", 02755, "setgid\n");
  tb_symlink (a, "./bin", "usr/bin");
  tb_symlink (a, "./etc/abs", "/etc/hosts");
  tb_hardlink (a, "./usr/bin/su2", "./usr/bin/su");
  tb_dir (a, "./ro/", 0555);
  tb_file (a, "./ro/inside", 0444, "read-only\n");
  e = tb_entry ("./xattr", AE_IFREG, 0600);
  archive_entry_xattr_add_entry (e, "user.hutch", "yes", 3);
  tb_put (a, e, "x");
  e = tb_entry ("./fifo", AE_IFIFO, 0640);
  tb_put (a, e, NULL);
  e = tb_entry ("./dev/sda", AE_IFBLK, 0660);
  archive_entry_set_rdev (e, makedev (8, 0));
  tb_put (a, e, NULL);
  e = tb_entry ("./dated/", AE_IFDIR, 0755);
  archive_entry_set_mtime (e, 1500000000, 123456789);
  tb_put (a, e, NULL);
  tb_file (a, "./dated/file", 0644, "changes the directory's mtime\n");
  tb_dir (a, "./etc/", 0711); /* repeated: the last one wins */
  tb_close (a);
}

static void
check_normal (const char *what, int filter, bool zlib)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_unpack_stats stats = { 0 };
  struct hutch_unpack_opts opts = opts_plain;
  bool igzip = filter == GZIP && !zlib && hutch_gunzip_available ();
  struct stat st, st2;
  char buf[16];
  ssize_t n;

  reset ();
  write_normal ("layer.tar", filter);
  opts.zlib = zlib;
  ok (unpack_opts ("layer.tar", &opts, &stats, &err) == 0, "%s: unpacks (%s)", what,
      err.msg ? err.msg : "no error");
  ok (stats.igzip == igzip, "%s: %s", what, igzip ? "inflated by igzip" : "not through igzip");
  ok (content_is ("layer/etc/hosts", "127.0.0.1 localhost\n"), "%s: file content", what);
  ok (stat (at ("layer/etc/hosts"), &st) == 0 && (st.st_mode & 07777) == 0644
          && st.st_mtim.tv_sec == 1600000000,
      "%s: file mode and mtime", what);
  ok (stat (at ("layer/usr/bin/su"), &st) == 0 && (st.st_mode & 07777) == 04755,
      "%s: setuid bit kept", what);
  ok (stat (at ("layer/usr/bin/wall"), &st2) == 0 && (st2.st_mode & 07777) == 02755,
      "%s: setgid bit kept", what);
  ok (stat (at ("layer/usr/bin/su2"), &st2) == 0 && st2.st_ino == st.st_ino && st.st_nlink == 2,
      "%s: hard link is the same inode", what);
  n = readlink (at ("layer/bin"), buf, sizeof buf);
  ok (n == 7 && memcmp (buf, "usr/bin", 7) == 0, "%s: relative symlink", what);
  n = readlink (at ("layer/etc/abs"), buf, sizeof buf);
  ok (n == 10 && memcmp (buf, "/etc/hosts", 10) == 0, "%s: absolute symlink stored as is", what);
  ok (lstat (at ("layer/ro"), &st) == 0 && (st.st_mode & 07777) == 0555
          && content_is ("layer/ro/inside", "read-only\n"),
      "%s: read-only directory gets its mode after its contents", what);
  ok (stat (at ("layer/etc"), &st) == 0 && (st.st_mode & 07777) == 0711,
      "%s: a repeated directory gets the last entry's mode", what);
  ok (stat (at ("layer/dated"), &st) == 0 && st.st_mtim.tv_sec == 1500000000
          && st.st_mtim.tv_nsec == 123456789,
      "%s: directory mtime (with ns) set after its contents", what);
  ok (stat (at ("layer/usr/bin"), &st) == 0 && S_ISDIR (st.st_mode),
      "%s: missing parents are created", what);
  ok (lstat (at ("layer/fifo"), &st) == 0 && S_ISFIFO (st.st_mode) && (st.st_mode & 0777) == 0640,
      "%s: FIFO", what);
  n = getxattr (at ("layer/xattr"), "user.hutch", buf, sizeof buf);
  if (n < 0 && errno == ENOTSUP)
    skip ("%s: user xattrs not supported in %s", what, top);
  else
    ok (n == 3 && memcmp (buf, "yes", 3) == 0, "%s: user xattr kept", what);
  ok (!exists ("layer/dev/sda") && stats.skipped == 1, "%s: block device skipped", what);
  has_str (warnings, "device node", "%s: a warning says so", what);
  ok (stats.entries == 16 && stats.bytes > 50, "%s: stats (%lu entries, %lu bytes)", what,
      stats.entries, stats.bytes);
  hutch_error_clear (&err);
}

/* The plain tar SRC gzipped into DST by zlib, in MEMBERS members (split
   evenly), the byte at CORRUPT (when >= 0) flipped.  */
static void
gzip_file (const char *src, const char *dst, int members, long corrupt)
{
  static unsigned char in[1 << 20], out[(1 << 20) + 4096];
  int ifd = open (at (src), O_RDONLY | O_CLOEXEC);
  int ofd = open (at (dst), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ssize_t len = read (ifd, in, sizeof in);
  size_t per, off = 0;
  int m;

  if (ifd < 0 || ofd < 0 || len <= 0 || len == (ssize_t)sizeof in)
    abort ();
  per = (size_t)len / (size_t)members + 1;
  for (m = 0; m < members; m++)
    {
      z_stream z = { 0 };
      size_t n = (size_t)len - off < per ? (size_t)len - off : per;

      if (deflateInit2 (&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort ();
      z.next_in = in + off;
      z.avail_in = (uInt)n;
      z.next_out = out;
      z.avail_out = sizeof out;
      if (deflate (&z, Z_FINISH) != Z_STREAM_END
          || write (ofd, out, sizeof out - z.avail_out) != (ssize_t)(sizeof out - z.avail_out))
        abort ();
      deflateEnd (&z);
      off += n;
    }
  if (corrupt >= 0)
    {
      unsigned char c;
      if (pread (ofd, &c, 1, corrupt) != 1)
        abort ();
      c ^= 0x20;
      if (pwrite (ofd, &c, 1, corrupt) != 1)
        abort ();
    }
  close (ifd);
  close (ofd);
}

/* Unpack NAME read from a pipe that a child fills a byte at a time for its
   first 16 bytes (the gzip header, the first tar block), as a download may
   bring them: every read is short.  */
static int
unpack_dribbled (const char *name, const struct hutch_unpack_opts *opts,
                 struct hutch_unpack_stats *st, hutch_error_t *err)
{
  int p[2], dirfd, r, status;
  pid_t pid;

  if (pipe2 (p, O_CLOEXEC) < 0)
    abort ();
  pid = fork ();
  if (pid == 0)
    {
      static char buf[65536];
      struct timespec ms = { 0, 1000000 };
      int fd = open (at (name), O_RDONLY | O_CLOEXEC);
      ssize_t n;
      int i;

      close (p[0]);
      for (i = 0; i < 16 && read (fd, buf, 1) == 1; i++)
        {
          if (write (p[1], buf, 1) != 1)
            _exit (1);
          nanosleep (&ms, NULL);
        }
      while ((n = read (fd, buf, sizeof buf)) > 0)
        if (write (p[1], buf, (size_t)n) != n)
          _exit (1);
      _exit (0);
    }
  close (p[1]);
  mkdir (at ("layer"), 0755);
  dirfd = open (at ("layer"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  r = hutch_archive_unpack (p[0], dirfd, opts, st, err);
  close (p[0]);
  close (dirfd);
  waitpid (pid, &status, 0);
  return r;
}

static int
download_failed (void *data)
{
  (void)data;
  return -EPIPE;
}

/* Layers in several gzip members (pigz, `cat a.gz b.gz`), and damaged
   ones, through igzip and through zlib: the same tree, or an error that
   says what is wrong.  */
static void
test_gzip_members (void)
{
  static const char *const how[] = { "igzip", "zlib" };
  char good[80] = "", members3[80] = "";
  struct stat st;
  int r;
  char big[60000];
  size_t i;
  int k;

  uint32_t x = 1;

  /* letters at random: compresses, but not to nothing */
  for (i = 0; i < sizeof big - 1; i++)
    {
      x = x * 1103515245 + 12345;
      big[i] = (char)('a' + (x >> 16) % 26);
    }
  big[sizeof big - 1] = '\0';
  for (k = 0; k < 2; k++)
    {
      struct hutch_unpack_opts opts = opts_plain;
      struct hutch_unpack_stats stats = { 0 };
      hutch_error_t err = HUTCH_ERROR_INIT;
      struct archive *a;

      if (k == 0 && !hutch_gunzip_available ())
        {
          skip ("igzip: hutch was built without ISA-L, or libisal.so.2 is not installed");
          continue;
        }
      opts.zlib = k == 1;
      /* as a pull unpacks: the diff_id reads the stream to its end, past
         the tar's end-of-archive blocks, where the last trailer is */
      opts.diff_id = true;
      reset ();
      a = tb_open ("t.tar", PLAIN);
      tb_dir (a, "d/", 0755);
      tb_file (a, "d/big", 0644, big);
      tb_file (a, "d/small", 0600, "small\n");
      tb_close (a);
      gzip_file ("t.tar", "t.tgz", 3, -1);
      ok (unpack_opts ("t.tgz", &opts, &stats, &err) == 0 && content_is ("layer/d/small", "small\n")
              && stat (at ("layer/d/big"), &st) == 0 && st.st_size == (off_t)strlen (big)
              && stats.igzip == (k == 0),
          "%s: a layer in three gzip members (%s)", how[k], err.msg ? err.msg : "no error");
      hutch_error_clear (&err);
      if (k == 0)
        snprintf (members3, sizeof members3, "%s", stats.diff_id);
      else if (*members3)
        is_str (stats.diff_id, members3, "zlib: the same diff_id as igzip's");
      /* a download that stops half way: the error says so, once */
      if (hutch_walk_remove_path (at ("layer"), &err) < 0 || stat (at ("t.tgz"), &st) < 0
          || truncate (at ("t.tgz"), st.st_size / 2) < 0)
        abort ();
      opts.wait_more = download_failed;
      r = unpack_opts ("t.tgz", &opts, &stats, &err);
      if (k == 0)
        ok (r < 0 && err.errnum == EPIPE && err.msg
                && strstr (err.msg, "the download of the layer stopped: Broken pipe;")
                && !strstr (strstr (err.msg, "Broken pipe") + 1, "Broken pipe"),
            "igzip: a download that stops half way is said so, once (%s)",
            err.msg ? err.msg : "no error");
      else /* libarchive's gzip reader puts its own words over the reader's */
        ok (r < 0, "zlib: a download that stops half way fails (%s)",
            err.msg ? err.msg : "no error");
      hutch_error_clear (&err);
      opts.wait_more = NULL;
      gzip_file ("t.tar", "t.tgz", 3, -1);
      if (hutch_walk_remove_path (at ("layer"), &err) < 0)
        abort ();
      ok (unpack_dribbled ("t.tgz", &opts, &stats, &err) == 0
              && content_is ("layer/d/small", "small\n") && stats.igzip == (k == 0)
              && strcmp (stats.diff_id, members3) == 0,
          "%s: the same layer arriving a byte at a time (%s)", how[k],
          err.msg ? err.msg : "no error");
      hutch_error_clear (&err);

      /* a flipped byte in the second member's data, then in the last
         trailer's CRC-32 */
      reset ();
      a = tb_open ("t.tar", PLAIN);
      tb_file (a, "big", 0644, big);
      tb_close (a);
      gzip_file ("t.tar", "t.tgz", 2, -1);
      if (stat (at ("t.tgz"), &st) < 0)
        abort ();
      gzip_file ("t.tar", "t.tgz", 2, -1);
      unpack_opts ("t.tgz", &opts, &stats, &err);
      snprintf (good, sizeof good, "%s", stats.diff_id);
      hutch_error_clear (&err);
      reset ();
      a = tb_open ("t.tar", PLAIN);
      tb_file (a, "big", 0644, big);
      tb_close (a);
      gzip_file ("t.tar", "t.tgz", 2, (long)st.st_size * 3 / 4);
      /* zlib may inflate a flipped bit into other data, which only the
         CRC-32 of the trailer would tell; libarchive does not check it, and
         the diff_id differs  */
      r = unpack_opts ("t.tgz", &opts, &stats, &err);
      if (k == 0)
        ok (r < 0 && err.msg && strstr (err.msg, "read the layer: damaged gzip data in member 2")
                && strstr (err.msg, "gzip or zstd"),
            "igzip: damaged gzip data is refused (%s)", err.msg ? err.msg : "no error");
      else
        ok (r < 0 || strcmp (stats.diff_id, good) != 0,
            "zlib: damaged gzip data is refused or changes the diff_id (%s)",
            err.msg ? err.msg : "no error");
      hutch_error_clear (&err);
      reset ();
      a = tb_open ("t.tar", PLAIN);
      tb_file (a, "big", 0644, big);
      tb_close (a);
      gzip_file ("t.tar", "t.tgz", 1, -1);
      if (stat (at ("t.tgz"), &st) < 0)
        abort ();
      gzip_file ("t.tar", "t.tgz", 1, (long)st.st_size - 6);
      r = unpack_opts ("t.tgz", &opts, &stats, &err);
      if (k == 0)
        ok (r < 0 && err.msg && strstr (err.msg, "CRC-32"),
            "igzip: a wrong CRC-32 in the trailer is refused (%s)", err.msg ? err.msg : "no error");
      else
        ok (r == 0, "zlib: libarchive checks no trailer (the data is right; the blob's digest "
                    "covers it)");
      hutch_error_clear (&err);
    }
}

/* The plain tar SRC compressed by libzstd into DST, in FRAMES frames
   (split evenly) with content checksums, the byte at CORRUPT (when >= 0)
   flipped.  */
static void
zstd_file (const char *src, const char *dst, int frames, long corrupt)
{
  static unsigned char in[1 << 20], out[(1 << 20) + 4096];
  int ifd = open (at (src), O_RDONLY | O_CLOEXEC);
  int ofd = open (at (dst), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ssize_t len = read (ifd, in, sizeof in);
  ZSTD_CCtx *c = ZSTD_createCCtx ();
  size_t per, off = 0;
  int m;

  if (ifd < 0 || ofd < 0 || len <= 0 || len == (ssize_t)sizeof in || c == NULL
      || ZSTD_isError (ZSTD_CCtx_setParameter (c, ZSTD_c_checksumFlag, 1)))
    abort ();
  per = (size_t)len / (size_t)frames + 1;
  for (m = 0; m < frames; m++)
    {
      size_t n = (size_t)len - off < per ? (size_t)len - off : per;
      size_t z = ZSTD_compress2 (c, out, sizeof out, in + off, n);

      if (ZSTD_isError (z) || write (ofd, out, z) != (ssize_t)z)
        abort ();
      off += n;
    }
  ZSTD_freeCCtx (c);
  if (corrupt >= 0)
    {
      unsigned char b;
      if (pread (ofd, &b, 1, corrupt) != 1)
        abort ();
      b ^= 0x20;
      if (pwrite (ofd, &b, 1, corrupt) != 1)
        abort ();
    }
  close (ifd);
  close (ofd);
}

/* Layers in several zstd frames (`zstd -T0`, `cat a.zst b.zst`), cut short
   and damaged ones, through libzstd: the same tree as one frame gives, or
   an error that says what is wrong.  */
static void
test_zstd_frames (void)
{
  struct hutch_unpack_opts opts = opts_plain;
  struct hutch_unpack_stats stats = { 0 };
  hutch_error_t err = HUTCH_ERROR_INIT;
  char one[80] = "";
  struct archive *a;
  struct stat st;
  char big[60000];
  uint32_t x = 7;
  size_t i;
  int r;

  for (i = 0; i < sizeof big - 1; i++)
    {
      x = x * 1103515245 + 12345;
      big[i] = (char)('a' + (x >> 16) % 26);
    }
  big[sizeof big - 1] = '\0';
  /* as a pull unpacks: the diff_id reads the stream to its end */
  opts.diff_id = true;
  reset ();
  a = tb_open ("t.tar", PLAIN);
  tb_dir (a, "d/", 0755);
  tb_file (a, "d/big", 0644, big);
  tb_file (a, "d/small", 0600, "small\n");
  tb_close (a);
  zstd_file ("t.tar", "t.zst", 1, -1);
  ok (unpack_opts ("t.zst", &opts, &stats, &err) == 0 && content_is ("layer/d/small", "small\n"),
      "zstd: a layer in one frame (%s)", err.msg ? err.msg : "no error");
  snprintf (one, sizeof one, "%s", stats.diff_id);
  hutch_error_clear (&err);
  if (hutch_walk_remove_path (at ("layer"), &err) < 0)
    abort ();
  zstd_file ("t.tar", "t.zst", 3, -1);
  ok (unpack_opts ("t.zst", &opts, &stats, &err) == 0 && content_is ("layer/d/small", "small\n")
          && stat (at ("layer/d/big"), &st) == 0 && st.st_size == (off_t)strlen (big)
          && strcmp (stats.diff_id, one) == 0 && !stats.igzip,
      "zstd: a layer in three frames, the same diff_id (%s)", err.msg ? err.msg : "no error");
  hutch_error_clear (&err);
  if (hutch_walk_remove_path (at ("layer"), &err) < 0)
    abort ();
  ok (unpack_dribbled ("t.zst", &opts, &stats, &err) == 0 && content_is ("layer/d/small", "small\n")
          && strcmp (stats.diff_id, one) == 0,
      "zstd: the same layer arriving a byte at a time (%s)", err.msg ? err.msg : "no error");
  hutch_error_clear (&err);

  /* a download that stops half way: the error says so, once */
  if (hutch_walk_remove_path (at ("layer"), &err) < 0 || stat (at ("t.zst"), &st) < 0
      || truncate (at ("t.zst"), st.st_size / 2) < 0)
    abort ();
  opts.wait_more = download_failed;
  r = unpack_opts ("t.zst", &opts, &stats, &err);
  ok (r < 0 && err.errnum == EPIPE && err.msg
          && strstr (err.msg, "the download of the layer stopped: Broken pipe;")
          && !strstr (strstr (err.msg, "Broken pipe") + 1, "Broken pipe"),
      "zstd: a download that stops half way is said so, once (%s)", err.msg ? err.msg : "no error");
  hutch_error_clear (&err);
  opts.wait_more = NULL;
  /* the same file, complete as it is: cut short */
  r = unpack_opts ("t.zst", &opts, &stats, &err);
  ok (r < 0 && err.msg && strstr (err.msg, "read the layer: the zstd data ends inside frame 2")
          && strstr (err.msg, "gzip or zstd, and complete"),
      "zstd: a layer cut short is refused (%s)", err.msg ? err.msg : "no error");
  hutch_error_clear (&err);

  /* the last frame's checksum, then a byte of the first frame's data */
  reset ();
  a = tb_open ("t.tar", PLAIN);
  tb_file (a, "big", 0644, big);
  tb_close (a);
  zstd_file ("t.tar", "t.zst", 2, -1);
  if (stat (at ("t.zst"), &st) < 0)
    abort ();
  zstd_file ("t.tar", "t.zst", 2, (long)st.st_size - 2);
  r = unpack_opts ("t.zst", &opts, &stats, &err);
  ok (r < 0 && err.msg && strstr (err.msg, "read the layer: damaged zstd data in frame 2")
          && strstr (err.msg, "checksum"),
      "zstd: a wrong checksum is refused (%s)", err.msg ? err.msg : "no error");
  hutch_error_clear (&err);
  reset ();
  a = tb_open ("t.tar", PLAIN);
  tb_file (a, "big", 0644, big);
  tb_close (a);
  zstd_file ("t.tar", "t.zst", 2, (long)st.st_size / 4);
  r = unpack_opts ("t.zst", &opts, &stats, &err);
  ok (r < 0 && err.msg && strstr (err.msg, "read the layer: damaged zstd data in frame 1"),
      "zstd: damaged data is refused (%s)", err.msg ? err.msg : "no error");
  hutch_error_clear (&err);
}

/* Files get their modes whatever the umask, including those made with
   their mode at once (see create_mode in unpack.c).  */
static void
test_modes (void)
{
  static const unsigned int modes[] = { 0,    0400, 0444, 0600, 0640, 0644,  0660,  0664,  0666,
                                        0700, 0750, 0755, 0775, 0777, 01644, 02755, 04755, 06711 };
  static const mode_t umasks[] = { 022, 077, 0, 0777, 002 };
  size_t i, k;

  for (k = 0; k < sizeof umasks / sizeof umasks[0]; k++)
    {
      hutch_error_t err = HUTCH_ERROR_INIT;
      struct archive *a;
      mode_t old;
      size_t bad = 0;
      char name[32];

      reset ();
      a = tb_open ("t.tar", PLAIN);
      for (i = 0; i < sizeof modes / sizeof modes[0]; i++)
        {
          snprintf (name, sizeof name, "f%04o", modes[i]);
          tb_file (a, name, modes[i], "data\n");
        }
      tb_close (a);
      old = umask (umasks[k]);
      ok (unpack ("t.tar", &err) == 0, "umask %03o: unpacks (%s)", (unsigned)umasks[k],
          err.msg ? err.msg : "no error");
      umask (old);
      for (i = 0; i < sizeof modes / sizeof modes[0]; i++)
        {
          struct stat st;
          snprintf (name, sizeof name, "layer/f%04o", modes[i]);
          /* (a file we may not read is read as root only) */
          if (lstat (at (name), &st) < 0 || (st.st_mode & 07777) != modes[i]
              || ((modes[i] & 0400 || geteuid () == 0) && !content_is (name, "data\n")))
            {
              printf ("# %s: mode %04o\n", name, (unsigned)(st.st_mode & 07777));
              bad++;
            }
        }
      ok (bad == 0, "umask %03o: every file has its mode and data (%zu wrong)", (unsigned)umasks[k],
          bad);
      hutch_error_clear (&err);
    }

  /* A default ACL on the layer's directory decides new files' modes
     instead of the umask: here it would take group and other's bits.  */
  {
    /* system.posix_acl_default: version 2, then user::rwx group::--- mask::---
       other::--- (tag, permissions, id; little-endian) */
    static const unsigned char acl[]
        = { 2,    0,    0,    0,    1,    0,    7,    0,    0xff, 0xff, 0xff, 0xff,
            4,    0,    0,    0,    0xff, 0xff, 0xff, 0xff, 0x10, 0,    0,    0,
            0xff, 0xff, 0xff, 0xff, 0x20, 0,    0,    0,    0xff, 0xff, 0xff, 0xff };
    hutch_error_t err = HUTCH_ERROR_INIT;
    struct archive *a;
    struct stat st;

    reset ();
    a = tb_open ("t.tar", PLAIN);
    tb_file (a, "f", 0644, "data\n");
    tb_dir (a, "d/", 0755);
    tb_file (a, "d/g", 0664, "data\n");
    tb_close (a);
    if (setxattr (at ("layer"), "system.posix_acl_default", acl, sizeof acl, 0) < 0)
      skip ("default ACL: %s does not take one (%s)", top, strerror (errno));
    else
      ok (unpack ("t.tar", &err) == 0 && lstat (at ("layer/f"), &st) == 0
              && (st.st_mode & 07777) == 0644 && lstat (at ("layer/d/g"), &st) == 0
              && (st.st_mode & 07777) == 0664,
          "default ACL on the layer's directory: modes are still the layer's (%s)",
          err.msg ? err.msg : "no error");
    hutch_error_clear (&err);
  }
}

static void
test_chown (void)
{
  struct hutch_unpack_opts opts = opts_plain;
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct stat st;

  if (geteuid () != 0)
    {
      skip ("chown=true needs root (or root of a user namespace)");
      return;
    }
  opts.chown = true;
  reset ();
  write_normal ("layer.tar", PLAIN);
  ok (unpack_opts ("layer.tar", &opts, NULL, &err) == 0, "chown: unpacks (%s)",
      err.msg ? err.msg : "no error");
  ok (stat (at ("layer/usr/bin/su"), &st) == 0 && st.st_uid == 1234 && st.st_gid == 2345
          && (st.st_mode & 07777) == 04755,
      "chown: owner set, setuid bit survives it");
  ok (lstat (at ("layer/bin"), &st) == 0 && st.st_uid == 1234, "chown: symlink owner");
  ok (stat (at ("layer/ro"), &st) == 0 && st.st_uid == 1234, "chown: directory owner");
  hutch_error_clear (&err);
}

/* Files whose owner is the one they are made with skip the fchown; under
   a setgid directory they are made with its group, and still get theirs.  */
static void
test_owner_as_made (void)
{
  struct hutch_unpack_opts opts = opts_plain;
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct archive *a;
  struct archive_entry *e;
  struct stat st;
  int k;

  if (geteuid () != 0)
    {
      skip ("chown=true needs root (or root of a user namespace)");
      return;
    }
  opts.chown = true;
  for (k = 0; k < 2; k++)
    {
      const char *what = k ? "setgid layer directory" : "layer directory";

      reset ();
      a = tb_open ("t.tar", PLAIN);
      e = tb_entry ("mine", AE_IFREG, 0644);
      archive_entry_set_uid (e, geteuid ());
      archive_entry_set_gid (e, getegid ());
      tb_put (a, e, "x");
      e = tb_entry ("sub/mine", AE_IFREG, 0644);
      archive_entry_set_uid (e, geteuid ());
      archive_entry_set_gid (e, getegid ());
      tb_put (a, e, "x");
      e = tb_entry ("link", AE_IFLNK, 0777);
      archive_entry_set_symlink (e, "mine");
      archive_entry_set_uid (e, geteuid ());
      archive_entry_set_gid (e, getegid ());
      tb_put (a, e, NULL);
      tb_file (a, "theirs", 0644, "y");
      tb_close (a);
      if (k && (chown (at ("layer"), 0, 4321) < 0 || chmod (at ("layer"), 02755) < 0))
        abort ();
      ok (unpack_opts ("t.tar", &opts, NULL, &err) == 0, "%s: unpacks (%s)", what,
          err.msg ? err.msg : "no error");
      ok (lstat (at ("layer/mine"), &st) == 0 && st.st_uid == geteuid () && st.st_gid == getegid ()
              && lstat (at ("layer/sub/mine"), &st) == 0 && st.st_gid == getegid ()
              && lstat (at ("layer/link"), &st) == 0 && st.st_gid == getegid (),
          "%s: entries of our own ids have them", what);
      ok (lstat (at ("layer/theirs"), &st) == 0 && st.st_uid == 1234 && st.st_gid == 2345,
          "%s: others' entries get theirs", what);
      hutch_error_clear (&err);
    }
}

static void
test_whiteouts (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_unpack_stats stats;
  struct archive *a;
  struct stat st;
  char v[4];

  reset ();
  a = tb_open ("wh.tar", GZIP);
  tb_dir (a, "./d/", 0755);
  tb_file (a, "./d/.wh..wh..opq", 0644, "");
  tb_file (a, "./d/kept", 0644, "kept\n");
  tb_file (a, "./.wh.gone", 0644, "");
  tb_file (a, "./a/b/.wh.deep", 0644, "");
  tb_file (a, "./.wh.again", 0644, "");
  tb_dir (a, "./again/", 0755); /* deleted below, made anew: opaque */
  tb_file (a, "./same", 0644, "mine\n");
  tb_file (a, "./.wh.same", 0644, ""); /* applies to lower layers only */
  tb_dir (a, "./.wh..wh.plnk/", 0700);
  tb_file (a, "./.wh..wh.plnk/1.2", 0644, "aufs\n");
  tb_close (a);
  if (unpack_opts ("wh.tar", &opts_plain, &stats, &err) < 0 && err.errnum == EPERM)
    {
      skip ("whiteouts: mknod of a 0/0 character device refused here (%s)", err.msg);
      hutch_error_clear (&err);
      return;
    }
  can_whiteout = true;
  ok (err.msg == NULL, "whiteouts: unpacks (%s)", err.msg ? err.msg : "no error");
  ok (lstat (at ("layer/gone"), &st) == 0 && S_ISCHR (st.st_mode) && st.st_rdev == makedev (0, 0),
      "whiteouts: .wh.gone is a 0/0 character device `gone`");
  ok (lstat (at ("layer/a/b/deep"), &st) == 0 && S_ISCHR (st.st_mode),
      "whiteouts: in a directory without an entry");
  ok (!exists ("layer/.wh.gone") && !exists ("layer/d/.wh..wh..opq"),
      "whiteouts: .wh. entries are not created");
  if (getxattr (at ("layer/d"), "user.overlay.opaque", v, sizeof v) < 0 && errno == ENOTSUP)
    skip ("whiteouts: no user xattrs in %s", top);
  else
    {
      ok (getxattr (at ("layer/d"), "user.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y',
          "whiteouts: opaque directory has user.overlay.opaque=y");
      ok (lstat (at ("layer/again"), &st) == 0 && S_ISDIR (st.st_mode)
              && getxattr (at ("layer/again"), "user.overlay.opaque", v, sizeof v) == 1,
          "whiteouts: a whited-out directory made again is opaque");
    }
  ok (content_is ("layer/d/kept", "kept\n"), "whiteouts: the opaque directory's own files stay");
  ok (content_is ("layer/same", "mine\n"), "whiteouts: a whiteout leaves the layer's own file");
  ok (!exists ("layer/.wh..wh.plnk") && stats.skipped == 2, "whiteouts: aufs metadata skipped");
  hutch_error_clear (&err);
}

/* Unpack TARNAME, which must be refused with a message naming NAME and
   containing WHY, with nothing written outside the layer.  */
static void
refused (const char *what, const char *tarname, const char *name, const char *why)
{
  hutch_error_t err = HUTCH_ERROR_INIT;

  ok (unpack (tarname, &err) < 0, "hostile: %s is refused", what);
  has_str (err.msg, name, "hostile: %s: the error names `%s`", what, name);
  has_str (err.msg, why, "hostile: %s: the error says `%s` (%s)", what, why,
           err.msg ? err.msg : "");
  ok (outside_untouched () && !exists ("pwned") && !exists ("outside/pwned"),
      "hostile: %s: nothing written outside the layer", what);
  hutch_error_clear (&err);
}

static void
test_hostile_names (void)
{
  struct archive *a;
  char longname[300], longpath[4200];
  size_t i;

  reset ();
  a = tb_open ("t.tar", PLAIN);
  tb_file (a, "/outside/pwned", 0644, "x");
  tb_close (a);
  refused ("an absolute name", "t.tar", "/outside/pwned", "absolute");

  reset ();
  a = tb_open ("t.tar", GZIP);
  tb_file (a, "../outside/pwned", 0644, "x");
  tb_close (a);
  refused ("a leading `..`", "t.tar", "../outside/pwned", "`..`");

  reset ();
  a = tb_open ("t.tar", PLAIN);
  tb_dir (a, "a/", 0755);
  tb_file (a, "a/../../pwned", 0644, "x");
  tb_close (a);
  refused ("a `..` inside the name", "t.tar", "a/../../pwned", "`..`");

  memset (longname, 'n', 256);
  longname[256] = '\0';
  reset ();
  a = tb_open ("t.tar", PLAIN);
  tb_file (a, longname, 0644, "x");
  tb_close (a);
  refused ("a 256-byte component", "t.tar", "nnnnnnnn", "component of 256 bytes");

  for (i = 0; i + 2 < 4100; i += 2)
    memcpy (longpath + i, "d/", 2);
  memcpy (longpath + i, "f", 2);
  reset ();
  a = tb_open ("t.tar", PLAIN);
  tb_file (a, longpath, 0644, "x");
  tb_close (a);
  refused ("a 4101-byte path", "t.tar", "d/d/d/", "more than the 4095");

  reset ();
  a = tb_open ("t.tar", PLAIN);
  tb_file (a, ".wh..", 0644, "");
  tb_close (a);
  refused ("a whiteout of `.`", "t.tar", ".wh..", "whiteout");

  reset ();
  a = tb_open ("t.tar", PLAIN);
  tb_file (a, "a/.wh...", 0644, "");
  tb_close (a);
  refused ("a whiteout of `..`", "t.tar", "a/.wh...", "whiteout");
}

static void
test_hostile_symlinks (void)
{
  struct archive *a;
  hutch_error_t err = HUTCH_ERROR_INIT;

  reset ();
  a = tb_open ("t.tar", PLAIN);
  tb_symlink (a, "evil", at ("outside"));
  tb_file (a, "evil/pwned", 0644, "x");
  tb_close (a);
  refused ("a file through an absolute symlink", "t.tar", "evil/pwned", "leads out of the layer");

  reset ();
  a = tb_open ("t.tar", ZSTD);
  tb_symlink (a, "evil", "../outside");
  tb_file (a, "evil/pwned", 0644, "x");
  tb_close (a);
  refused ("a file through a relative symlink", "t.tar", "evil/pwned", "leads out of the layer");

  reset ();
  a = tb_open ("t.tar", PLAIN);
  tb_symlink (a, "root", "/");
  tb_symlink (a, "a", "root");
  tb_dir (a, "a/pwned/", 0755);
  tb_close (a);
  refused ("a directory through a chain of symlinks", "t.tar", "a/pwned", "leads out of the layer");

  reset ();
  a = tb_open ("t.tar", PLAIN);
  tb_symlink (a, "d", "nowhere");
  tb_file (a, "d/pwned", 0644, "x");
  tb_close (a);
  refused ("a file through a dangling symlink", "t.tar", "d/pwned", "symlink");

  /* A symlink, then a file of the same name: the file replaces the
     symlink, never writes through it.  */
  reset ();
  a = tb_open ("t.tar", PLAIN);
  tb_symlink (a, "f", at ("outside/secret"));
  tb_file (a, "f", 0644, "replaced\n");
  tb_symlink (a, "d", at ("outside"));
  tb_dir (a, "d/", 0755);
  tb_file (a, "d/x", 0644, "in the layer\n");
  tb_close (a);
  ok (unpack ("t.tar", &err) == 0, "symlink replaced by a file: unpacks (%s)",
      err.msg ? err.msg : "no error");
  ok (content_is ("layer/f", "replaced\n") && outside_untouched (),
      "symlink replaced by a file: the file is in the layer, its target untouched");
  ok (content_is ("layer/d/x", "in the layer\n") && !exists ("outside/x"),
      "symlink replaced by a directory: its contents are in the layer");
  hutch_error_clear (&err);
}

static void
test_hostile_hardlinks (void)
{
  struct archive *a;
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct stat st;

  reset ();
  a = tb_open ("t.tar", PLAIN);
  tb_hardlink (a, "h", at ("outside/secret"));
  tb_close (a);
  refused ("a hard link to an absolute path", "t.tar", "h", "absolute");

  reset ();
  a = tb_open ("t.tar", PLAIN);
  tb_hardlink (a, "h", "../outside/secret");
  tb_close (a);
  refused ("a hard link with `..`", "t.tar", "h", "`..`");

  reset ();
  a = tb_open ("t.tar", PLAIN);
  tb_symlink (a, "evil", at ("outside"));
  tb_hardlink (a, "h", "evil/secret");
  tb_close (a);
  refused ("a hard link through a symlink", "t.tar", "`h`", "leads out of the layer");

  reset ();
  a = tb_open ("t.tar", PLAIN);
  tb_hardlink (a, "h", "later");
  tb_file (a, "later", 0644, "x");
  tb_close (a);
  refused ("a hard link to a later entry", "t.tar", "`h`", "not an earlier entry");

  /* A hard link to a symlink that points outside links the symlink; a file
     written later under the link's name replaces it.  */
  reset ();
  a = tb_open ("t.tar", PLAIN);
  tb_symlink (a, "s", at ("outside/secret"));
  tb_hardlink (a, "h", "s");
  tb_file (a, "h", 0644, "pwned\n");
  tb_close (a);
  ok (unpack ("t.tar", &err) == 0, "hard link to a symlink: unpacks (%s)",
      err.msg ? err.msg : "no error");
  ok (lstat (at ("layer/s"), &st) == 0 && S_ISLNK (st.st_mode) && outside_untouched ()
          && content_is ("layer/h", "pwned\n"),
      "hard link to a symlink: nothing written through it");
  hutch_error_clear (&err);
}

/* libarchive cuts a name at a NUL in a pax `path` record; what follows must
   never be used.  */
static void
test_nul (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  char name[200], *buf = NULL, *p;
  size_t len = 0;
  FILE *f;
  struct archive *a;
  int r;

  snprintf (name, sizeof name, "safeX/../../outside/pwned-%0120d", 0);
  reset ();
  a = tb_open ("t.tar", PLAIN);
  tb_file (a, name, 0644, "x");
  tb_close (a);
  f = fopen (at ("t.tar"), "r+");
  if (f)
    {
      buf = malloc (1 << 16);
      len = fread (buf, 1, 1 << 16, f);
    }
  p = buf ? memmem (buf, len, "path=safeX", 10) : NULL;
  if (p == NULL)
    {
      skip ("NUL: the writer made no pax path record");
      if (f)
        fclose (f);
      free (buf);
      return;
    }
  p[9] = '\0';
  fseek (f, 0, SEEK_SET);
  fwrite (buf, 1, len, f);
  fclose (f);
  free (buf);
  r = unpack ("t.tar", &err);
  ok (r < 0 || (exists ("layer/safe") && !exists ("layer/safeX")),
      "NUL in a pax path: refused, or cut at the NUL (%s)", err.msg ? err.msg : "cut");
  ok (outside_untouched () && !exists ("pwned"), "NUL in a pax path: nothing written outside");
  hutch_error_clear (&err);
}

static void
test_bad_input (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct archive *a;
  struct archive_entry *e;
  char big[200000];
  int fd;
  size_t i;

  reset ();
  fd = open (at ("garbage"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  for (i = 0; i < sizeof big - 1; i++)
    big[i] = (char)(1 + (i * 7 + i / 13) % 255);
  big[sizeof big - 1] = '\0';
  if (write (fd, big, 4096) != 4096)
    abort ();
  close (fd);
  ok (unpack ("garbage", &err) < 0, "garbage is refused");
  has_str (err.msg, "tar archive", "garbage: the error says what a layer must be (%s)", err.msg);
  hutch_error_clear (&err);

  reset ();
  a = tb_open ("t.tgz", GZIP);
  tb_file (a, "big", 0644, big); /* not text: does not compress away */
  tb_close (a);
  if (truncate (at ("t.tgz"), 1000) < 0)
    abort ();
  ok (unpack ("t.tgz", &err) < 0, "a truncated gzip layer is refused (%s)", err.msg ? err.msg : "");
  hutch_error_clear (&err);

  reset ();
  a = tb_open ("t.tar", PLAIN);
  e = tb_entry ("x", AE_IFREG, 0644);
  archive_entry_xattr_add_entry (e, "user.overlay.redirect", "/etc", 4);
  tb_put (a, e, "x");
  tb_close (a);
  ok (unpack ("t.tar", &err) == 0, "overlay xattr: unpacks");
  ok (getxattr (at ("layer/x"), "user.overlay.redirect", big, sizeof big) < 0,
      "overlay xattr: not set");
  has_str (warnings, "user.overlay.redirect", "overlay xattr: a warning names it");
  hutch_error_clear (&err);

  reset ();
  a = tb_open ("t.tar", PLAIN);
  tb_close (a);
  ok (unpack ("t.tar", &err) == 0, "an empty tar unpacks (%s)", err.msg ? err.msg : "no error");
  hutch_error_clear (&err);

  reset ();
  fd = open (at ("zero"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  close (fd);
  ok (unpack ("zero", &err) == 0, "a zero-length file is an empty layer (%s)",
      err.msg ? err.msg : "no error");
  hutch_error_clear (&err);
}

static int
open_dir (const char *rel)
{
  return open (at (rel), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void
test_flatten (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct archive *a;
  int fds[2], dst, r;
  struct stat st, st2;
  char v[4];

  if (!can_whiteout)
    {
      skip ("flatten: needs whiteouts (0/0 character devices)");
      return;
    }
  reset ();
  a = tb_open ("l1.tar", PLAIN);
  tb_file (a, "a", 0644, "a\n");
  tb_dir (a, "d/", 0750);
  tb_file (a, "d/x", 0644, "old x\n");
  tb_file (a, "d/y", 0644, "y\n");
  tb_dir (a, "o/", 0755);
  tb_file (a, "o/old", 0644, "old\n");
  tb_file (a, "h1", 04711, "linked\n");
  tb_hardlink (a, "h2", "h1");
  tb_symlink (a, "s", "/etc/hosts");
  tb_dir (a, "f/", 0755);
  tb_file (a, "f/inner", 0644, "inner\n");
  tb_close (a);
  a = tb_open ("l2.tar", GZIP);
  tb_file (a, ".wh.a", 0644, "");
  tb_dir (a, "d/", 0710);
  tb_file (a, "d/x", 0600, "new x\n");
  tb_file (a, "d/.wh.y", 0644, "");
  tb_dir (a, "o/", 0755);
  tb_file (a, "o/.wh..wh..opq", 0644, "");
  tb_file (a, "o/new", 0644, "new\n");
  tb_file (a, "f", 0644, "file over a directory\n");
  tb_close (a);
  mkdir (at ("root"), 0755);
  r = unpack_to ("l1.tar", "l1", &opts_plain, NULL, &err);
  if (r == 0)
    r = unpack_to ("l2.tar", "l2", &opts_plain, NULL, &err);
  ok (r == 0, "flatten: both layers unpack (%s)", err.msg ? err.msg : "no error");
  fds[0] = open_dir ("l1");
  fds[1] = open_dir ("l2");
  dst = open_dir ("root");
  ok (hutch_layers_flatten (fds, 2, dst, &opts_plain, &err) == 0, "flatten: succeeds (%s)",
      err.msg ? err.msg : "no error");
  close (fds[0]);
  close (fds[1]);
  close (dst);
  ok (!exists ("root/a"), "flatten: a whiteout removes a lower file");
  ok (content_is ("root/d/x", "new x\n") && !exists ("root/d/y"),
      "flatten: an upper file replaces a lower one; a nested whiteout removes one");
  ok (stat (at ("root/d"), &st) == 0 && (st.st_mode & 07777) == 0710,
      "flatten: a directory gets the mode of its topmost layer");
  ok (!exists ("root/o/old") && content_is ("root/o/new", "new\n"),
      "flatten: an opaque directory hides the lower contents");
  ok (getxattr (at ("root/o"), "user.overlay.opaque", v, sizeof v) < 0,
      "flatten: the opaque marker is not copied");
  ok (stat (at ("root/h1"), &st) == 0 && stat (at ("root/h2"), &st2) == 0 && st.st_ino == st2.st_ino
          && (st.st_mode & 07777) == 04711 && st.st_mtim.tv_sec == 1600000000,
      "flatten: hard links stay hard links; mode and mtime kept");
  ok (lstat (at ("root/s"), &st) == 0 && S_ISLNK (st.st_mode), "flatten: symlink copied");
  ok (content_is ("root/f", "file over a directory\n"),
      "flatten: an upper file replaces a lower directory");
  hutch_error_clear (&err);
}

int
main (void)
{
  const char *tmp = getenv ("TMPDIR");

  snprintf (top, sizeof top, "%s/hutch-test-archive.XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (mkdtemp (top) == NULL)
    {
      printf ("Bail out! mkdtemp %s: %s\n", top, strerror (errno));
      return 1;
    }
  check_normal ("plain", PLAIN, false);
  check_normal ("gzip", GZIP, false);
  check_normal ("gzip through zlib", GZIP, true);
  check_normal ("zstd", ZSTD, false);
  test_gzip_members ();
  test_zstd_frames ();
  test_modes ();
  test_chown ();
  test_owner_as_made ();
  test_whiteouts ();
  test_hostile_names ();
  test_hostile_symlinks ();
  test_hostile_hardlinks ();
  test_nul ();
  test_bad_input ();
  test_flatten ();
  nftw (top, rm_chmod, 64, FTW_PHYS);
  nftw (top, rm_one, 64, FTW_PHYS | FTW_DEPTH);
  return tap_done ();
}
