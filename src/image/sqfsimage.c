/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* The single-file image's layout (see sqfsimage.h): the squashfs
   superblock checked, and the note after the filesystem read and
   written.  */

#include "image/sqfsimage.h"
#include "base/util.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SQFS_MAGIC "hsqs"
#define SUPERBLOCK_SIZE 96
#define FOOTER_MAGIC "hutch image note"
#define FOOTER_SIZE 32

static uint16_t
le16 (const unsigned char *p)
{
  uint16_t v;
  memcpy (&v, p, sizeof v);
  return le16toh (v);
}

static uint32_t
le32 (const unsigned char *p)
{
  uint32_t v;
  memcpy (&v, p, sizeof v);
  return le32toh (v);
}

static uint64_t
le64 (const unsigned char *p)
{
  uint64_t v;
  memcpy (&v, p, sizeof v);
  return le64toh (v);
}

int
hutch_sqfs_probe (const char *path)
{
  _cleanup_close_ int fd = -1;
  char magic[4];
  struct stat st;

  if (stat (path, &st) < 0 || !S_ISREG (st.st_mode))
    return 0;
  fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0 || pread (fd, magic, sizeof magic, 0) != (ssize_t)sizeof magic)
    return 0;
  return memcmp (magic, SQFS_MAGIC, 4) == 0;
}

static int
pread_exact (int fd, void *buf, size_t len, uint64_t off)
{
  size_t done = 0;
  while (done < len)
    {
      ssize_t n = pread (fd, (char *)buf + done, len - done, (off_t)(off + done));
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      if (n == 0)
        {
          errno = EIO;
          return -1;
        }
      done += (size_t)n;
    }
  return 0;
}

/* What a reader of the filesystem relies on first, checked where it is
   cheap: a damaged or truncated file fails here with its cause, before
   anything is started for it.  The filesystem's insides are squashfuse's
   to check.  */
static int
not_squashfs (const char *path, hutch_error_t *err)
{
  return hutch_error_set (err, 0,
                          "`%s` is not a squashfs image (it does not begin with `hsqs`); hutch "
                          "runs image files made by `hutch save --format squashfs`, and images "
                          "of the store by name",
                          path);
}

static int
check_superblock (const unsigned char *sb, const char *path, uint64_t size, uint64_t *ret_used,
                  hutch_error_t *err)
{
  static const char fix[] = "make it again with `hutch save --format squashfs -o FILE IMAGE`";
  uint32_t block_size = le32 (sb + 12);
  uint16_t compression = le16 (sb + 20), block_log = le16 (sb + 22);
  uint16_t major = le16 (sb + 28), minor = le16 (sb + 30);
  uint64_t used = le64 (sb + 40), inode_table = le64 (sb + 64), dir_table = le64 (sb + 72);
  uint64_t id_table = le64 (sb + 48);

  if (memcmp (sb, SQFS_MAGIC, 4) != 0)
    return not_squashfs (path, err);
  if (major != 4 || minor != 0)
    return hutch_error_set (err, 0,
                            "`%s` is squashfs version %u.%u; only 4.0 (what mksquashfs has written "
                            "since 2009) can be mounted: %s",
                            path, major, minor, fix);
  if (compression < 1 || compression > 6 || block_log < 12 || block_log > 20
      || block_size != (UINT32_C (1) << block_log) || used < SUPERBLOCK_SIZE || inode_table >= used
      || dir_table >= used || inode_table > dir_table || id_table >= used)
    return hutch_error_set (
        err, 0, "`%s` is a damaged squashfs image (its superblock is not sane); %s", path, fix);
  if (used > size)
    return hutch_error_set (err, 0,
                            "`%s` is a truncated squashfs image: its filesystem is %llu bytes, the "
                            "file %llu (was it copied while it was being written?); copy it "
                            "again, or %s",
                            path, (unsigned long long)used, (unsigned long long)size, fix);
  *ret_used = used;
  return 0;
}

static char *
note_string (json_t *note, const char *key)
{
  json_t *v = json_object_get (note, key);
  return json_is_string (v) ? hutch_xstrdup (json_string_value (v)) : NULL;
}

static int
parse_note (const char *text, size_t len, const char *path, struct hutch_sqfs_image *img,
            hutch_error_t *err)
{
  json_error_t je;
  json_t *note = json_loadb (text, len, 0, &je), *v, *cfg;
  int r = 0;

  if (!json_is_object (note))
    {
      json_decref (note);
      return hutch_error_set (err, 0,
                              "`%s`: its image note is damaged (%s); make it again with `hutch "
                              "save --format squashfs`",
                              path, je.text[0] ? je.text : "not a JSON object");
    }
  v = json_object_get (note, "hutchImageNote");
  cfg = json_object_get (note, "config");
  if (!json_is_integer (v))
    r = hutch_error_set (err, 0,
                         "`%s`: its image note has no version (hutchImageNote); make it again "
                         "with `hutch save --format squashfs`",
                         path);
  else if (json_integer_value (v) > HUTCH_SQFS_NOTE_VERSION)
    r = hutch_error_set (err, 0,
                         "`%s` was written by a newer hutch (its image note is version %lld, this "
                         "hutch reads %d); run it with that hutch, or make it again with this one",
                         path, (long long)json_integer_value (v), HUTCH_SQFS_NOTE_VERSION);
  else if (cfg && !json_is_object (cfg))
    r = hutch_error_set (err, 0, "`%s`: the config in its image note is not a JSON object", path);
  else
    {
      img->has_note = true;
      img->name = note_string (note, "name");
      img->id = note_string (note, "id");
      img->passwd = note_string (note, "passwd");
      img->group = note_string (note, "group");
      img->config = cfg ? json_dumps (cfg, JSON_COMPACT) : NULL;
    }
  json_decref (note);
  return r;
}

int
hutch_sqfs_image_read (int fd, const char *path, struct hutch_sqfs_image *ret, hutch_error_t *err)
{
  unsigned char sb[SUPERBLOCK_SIZE], foot[FOOTER_SIZE];
  struct hutch_sqfs_image img = { .fd = fd };
  _cleanup_free_ char *text = NULL;
  struct stat st;
  uint64_t off, len;

  memset (ret, 0, sizeof *ret);
  ret->fd = -1;
  if (fstat (fd, &st) < 0)
    {
      hutch_error_set (err, errno, "`%s`", path);
      goto fail;
    }
  if (!S_ISREG (st.st_mode))
    {
      hutch_error_set (err, 0, "`%s` is not a regular file; give a squashfs image file", path);
      goto fail;
    }
  img.size = (uint64_t)st.st_size;
  if (img.size < SUPERBLOCK_SIZE)
    {
      if (img.size >= 4 && pread_exact (fd, sb, 4, 0) == 0 && memcmp (sb, SQFS_MAGIC, 4) == 0)
        hutch_error_set (err, 0, "`%s` is a truncated squashfs image (%llu bytes)", path,
                         (unsigned long long)img.size);
      else
        not_squashfs (path, err);
      goto fail;
    }
  if (pread_exact (fd, sb, sizeof sb, 0) < 0)
    {
      hutch_error_set (err, errno, "read `%s`", path);
      goto fail;
    }
  if (check_superblock (sb, path, img.size, &img.bytes_used, err) < 0)
    goto fail;
  if (img.size - img.bytes_used < FOOTER_SIZE)
    goto done; /* no note: a squashfs made otherwise */
  if (pread_exact (fd, foot, sizeof foot, img.size - FOOTER_SIZE) < 0)
    {
      hutch_error_set (err, errno, "read `%s`", path);
      goto fail;
    }
  if (memcmp (foot, FOOTER_MAGIC, 16) != 0)
    goto done;
  off = le64 (foot + 16);
  len = le64 (foot + 24);
  if (off < img.bytes_used || len > HUTCH_SQFS_NOTE_MAX || off > img.size
      || img.size - off < len + FOOTER_SIZE || img.size - off - FOOTER_SIZE != len)
    {
      hutch_error_set (err, 0,
                       "`%s`: its image note is damaged (it does not lie between the filesystem "
                       "and the end of the file); make it again with `hutch save --format "
                       "squashfs`",
                       path);
      goto fail;
    }
  text = hutch_xmalloc0 ((size_t)len + 1);
  if (pread_exact (fd, text, (size_t)len, off) < 0)
    {
      hutch_error_set (err, errno, "read `%s`", path);
      goto fail;
    }
  if (parse_note (text, (size_t)len, path, &img, err) < 0)
    goto fail;
done:
  *ret = img;
  return 0;
fail:
  hutch_sqfs_image_clear (&img);
  return -1;
}

int
hutch_sqfs_image_open (const char *path, struct hutch_sqfs_image *ret, hutch_error_t *err)
{
  /* O_NONBLOCK: a FIFO given by mistake must not hang the open; the
     check of the file's type follows.  */
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

  memset (ret, 0, sizeof *ret);
  ret->fd = -1;
  if (fd < 0)
    return hutch_error_set (err, errno, "squashfs image `%s`", path);
  if (fcntl (fd, F_SETFL, 0) < 0)
    {
      close (fd);
      return hutch_error_set (err, errno, "squashfs image `%s`", path);
    }
  return hutch_sqfs_image_read (fd, path, ret, err);
}

void
hutch_sqfs_image_clear (struct hutch_sqfs_image *img)
{
  if (img->fd >= 0)
    close (img->fd);
  free (img->name);
  free (img->id);
  free (img->config);
  free (img->passwd);
  free (img->group);
  memset (img, 0, sizeof *img);
  img->fd = -1;
}

int
hutch_sqfs_note_append (int fd, const char *note, hutch_error_t *err)
{
  unsigned char foot[FOOTER_SIZE];
  size_t len = strlen (note);
  uint64_t v;
  off_t end = lseek (fd, 0, SEEK_END);

  if (end < 0)
    return hutch_error_set (err, errno, "find the end of the squashfs image");
  if (len > HUTCH_SQFS_NOTE_MAX)
    return hutch_error_set (err, E2BIG, "the image note");
  memcpy (foot, FOOTER_MAGIC, 16);
  v = htole64 ((uint64_t)end);
  memcpy (foot + 16, &v, 8);
  v = htole64 ((uint64_t)len);
  memcpy (foot + 24, &v, 8);
  if (hutch_write_all (fd, note, len) < 0 || hutch_write_all (fd, foot, sizeof foot) < 0)
    return hutch_error_set (err, errno, "write the image note");
  return 0;
}
