/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* The single-file image's layout (image/sqfsimage.h): the superblock's
   checks and the note after the filesystem, on files made here byte by
   byte, the damaged ones included.  */

#include "image/sqfsimage.h"
#include "tap.h"
#include "base/util.h"

#include <endian.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/hutch-sqfsimage-XXXXXX";

/* A squashfs 4.0 superblock of a filesystem of USED bytes, zstd, 128 KiB
   blocks, its tables inside it; the rest of USED bytes zeros.  */
static void
put_le (unsigned char *p, uint64_t v, int n)
{
  int i;
  for (i = 0; i < n; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

static unsigned char *
filesystem (size_t used)
{
  unsigned char *fs = hutch_xmalloc0 (used);
  memcpy (fs, "hsqs", 4);
  put_le (fs + 12, 131072, 4); /* block size */
  put_le (fs + 20, 6, 2);      /* zstd */
  put_le (fs + 22, 17, 2);     /* block log */
  put_le (fs + 28, 4, 2);      /* major */
  put_le (fs + 30, 0, 2);      /* minor */
  put_le (fs + 40, used, 8);   /* bytes used */
  put_le (fs + 48, used - 8, 8);
  put_le (fs + 64, 96, 8);
  put_le (fs + 72, 200, 8);
  return fs;
}

/* Write the file NAME: the filesystem (USED bytes, padded to 4 KiB), then
   NOTE and its footer unless NOTE is NULL; returns its path.  */
static char *
write_image (const char *name, size_t used, const char *note)
{
  char *path = hutch_xasprintf ("%s/%s", dir, name);
  _cleanup_free_ unsigned char *fs = filesystem (used);
  size_t padded = (used + 4095) / 4096 * 4096;
  _cleanup_free_ unsigned char *pad = hutch_xmalloc0 (padded);
  hutch_error_t err = HUTCH_ERROR_INIT;
  int fd = open (path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

  memcpy (pad, fs, used);
  if (fd < 0 || hutch_write_all (fd, pad, padded) < 0)
    abort ();
  if (note && hutch_sqfs_note_append (fd, note, &err) < 0)
    abort ();
  close (fd);
  return path;
}

static void
write_text (const char *path, const char *text)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || hutch_write_all (fd, text, strlen (text)) < 0)
    abort ();
  close (fd);
}

static void
test_probe (void)
{
  _cleanup_free_ char *good = write_image ("probe.sqfs", 1000, NULL);
  _cleanup_free_ char *other = hutch_xasprintf ("%s/other", dir);

  write_text (other, "not squashfs");
  ok (hutch_sqfs_probe (good) == 1, "probe: a file beginning with hsqs");
  ok (hutch_sqfs_probe (other) == 0, "probe: another file");
  ok (hutch_sqfs_probe (dir) == 0, "probe: a directory");
  ok (hutch_sqfs_probe ("/nonexistent/x.sqfs") == 0, "probe: nothing there");
}

static void
test_note (void)
{
  _cleanup_free_ char *path = write_image (
      "note.sqfs", 5000,
      "{\"hutchImageNote\":1,\"name\":\"docker.io/library/sq:latest\",\"id\":\"sha256:ab\","
      "\"config\":{\"config\":{\"Cmd\":[\"sh\"]}},\"passwd\":\"root:x:0:0::/:/bin/sh\\n\"}");
  struct hutch_sqfs_image img;
  hutch_error_t err = HUTCH_ERROR_INIT;

  ok (hutch_sqfs_image_open (path, &img, &err) == 0, "open: a file with a note (%s)",
      err.msg ? err.msg : "");
  ok (img.has_note && img.bytes_used == 5000, "its filesystem is 5000 bytes, and it has a note");
  is_str (img.name, "docker.io/library/sq:latest", "the note's name");
  is_str (img.id, "sha256:ab", "the note's id");
  is_str (img.config, "{\"config\":{\"Cmd\":[\"sh\"]}}", "the note's config, as JSON");
  is_str (img.passwd, "root:x:0:0::/:/bin/sh\n", "the note's passwd");
  ok (img.group == NULL, "no group in the note: none");
  ok (img.fd >= 0, "the file stays open");
  hutch_sqfs_image_clear (&img);
}

static void
test_no_note (void)
{
  _cleanup_free_ char *path = write_image ("plain.sqfs", 4096, NULL);
  struct hutch_sqfs_image img;
  hutch_error_t err = HUTCH_ERROR_INIT;

  ok (hutch_sqfs_image_open (path, &img, &err) == 0, "open: a squashfs without a note");
  ok (!img.has_note && img.config == NULL, "no note, no config");
  hutch_sqfs_image_clear (&img);
}

/* Open PATH, expecting an error that contains WANT.  */
static void
refused (const char *path, const char *want, const char *what)
{
  struct hutch_sqfs_image img;
  hutch_error_t err = HUTCH_ERROR_INIT;

  ok (hutch_sqfs_image_open (path, &img, &err) < 0 && err.msg && strstr (err.msg, want),
      "refused: %s (%s)", what, err.msg ? err.msg : "accepted");
  ok (img.fd == -1 && img.config == NULL, "nothing kept of it");
  hutch_error_clear (&err);
}

static void
patch (const char *path, off_t off, const void *bytes, size_t n)
{
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || pwrite (fd, bytes, n, off) != (ssize_t)n)
    abort ();
  close (fd);
}

static void
test_damaged (void)
{
  static const unsigned char far[8] = { 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0 };
  _cleanup_free_ char *other = hutch_xasprintf ("%s/other", dir);
  _cleanup_free_ char *tiny = hutch_xasprintf ("%s/tiny", dir);
  char *p;
  struct stat st;

  refused (other, "not a squashfs image", "another kind of file");
  write_text (tiny, "hsqs");
  refused (tiny, "truncated", "the magic alone");
  refused (dir, "not a regular file", "a directory");

  p = write_image ("trunc.sqfs", 9000, NULL);
  if (truncate (p, 5000) < 0)
    abort ();
  refused (p, "truncated squashfs image", "a file shorter than its filesystem");
  free (p);

  p = write_image ("v3.sqfs", 4096, NULL);
  patch (p, 28, "\3\0", 2);
  refused (p, "version 3.0", "squashfs 3");
  free (p);

  p = write_image ("table.sqfs", 4096, NULL);
  patch (p, 64, far, sizeof far);
  refused (p, "superblock is not sane", "an inode table beyond the filesystem");
  free (p);

  p = write_image ("block.sqfs", 4096, NULL);
  patch (p, 22, "\20\0", 2); /* block log 16, block size 128 KiB */
  refused (p, "superblock is not sane", "a block size that is not 2^block_log");
  free (p);

  p = write_image ("badjson.sqfs", 4096, "{\"hutchImageNote\":1,");
  refused (p, "image note is damaged", "a note that is not JSON");
  free (p);

  p = write_image ("newer.sqfs", 4096, "{\"hutchImageNote\":2}");
  refused (p, "newer hutch", "a note of a later version");
  free (p);

  p = write_image ("cfg.sqfs", 4096, "{\"hutchImageNote\":1,\"config\":[1]}");
  refused (p, "not a JSON object", "a config that is not an object");
  free (p);

  /* A footer whose offset points into the filesystem.  */
  p = write_image ("off.sqfs", 4096, "{\"hutchImageNote\":1}");
  if (stat (p, &st) < 0)
    abort ();
  patch (p, st.st_size - 16, "\1\0\0\0\0\0\0\0", 8);
  refused (p, "does not lie between", "a note inside the filesystem");
  free (p);

  /* A note longer than the file says.  */
  p = write_image ("len.sqfs", 4096, "{\"hutchImageNote\":1}");
  patch (p, (off_t)(4096 + 20 + 32 - 8), "\377\377\0\0\0\0\0\0", 8);
  refused (p, "does not lie between", "a note longer than the file");
  free (p);
}

int
main (void)
{
  _cleanup_free_ char *cmd = NULL;

  if (mkdtemp (dir) == NULL)
    return 99;
  test_probe ();
  test_note ();
  test_no_note ();
  test_damaged ();
  cmd = hutch_xasprintf ("rm -rf %s", dir);
  if (system (cmd) != 0)
    return 99;
  return tap_done ();
}
