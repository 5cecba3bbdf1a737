/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* The one tar writer of hutch: layers (commit, build) and the plain tars
   of export and cp.  libarchive makes the pax entries and hands each
   block to write_cb, which hashes it (the diff_id), gzips it with zlib
   when asked and hashes what comes out (the digest), and writes it to the
   caller's fd: one pass over the data, whatever is asked.

   The tree may be a container's (untrusted: its names, its symlinks, a
   swap while we copy), so every entry is reached with *at() calls from a
   directory fd, through base/walk.c's resolution, never by a path the host
   resolves again.  Owners are numbers: no user or group name is looked up
   (the C library would ask NSS, whose modules docker cp once loaded from
   the container: CVE-2019-14271).  */

#include "image/layerwrite.h"
#include "base/override.h"

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>
#include <openssl/evp.h>
#include "base/lazylib.h"

#include "base/digest.h"
#include "base/util.h"
#include "base/walk.h"
#include "image/imageconfig.h"
#include "image/unpack-private.h"

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <linux/limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

/* How an entry below the top of a tree is opened: itself, never through a
   symlink, and not across a mount point (EXDEV).  */
#define ENTRY_RESOLVE (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV)
#define TOP_RESOLVE (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

/* What goes to the fd at once (and to zlib's output), and what is read
   of a file at once.  */
#define OUT_SIZE (1 << 18)
#define READ_SIZE (1 << 18)
/* A read-only stretch of zeros that a hole is "written" from: libarchive
   skips a sparse entry's holes without reading them, but takes them as
   data passed in order.  Mapped, it costs no memory.  */
#define ZEROS_SIZE ((size_t)1 << 28)

/* Files with more than one name: the first name each was written under,
   by device and inode (open addressing).  */
struct link
{
  dev_t dev;
  ino_t ino;
  char *name;
};

struct hutch_layer_writer
{
  struct archive *a;
  int fd;
  struct hutch_layer_write_opts o;
  const char *where;
  hutch_error_t werr; /* what failed below libarchive (write_cb) */
  bool dropping;      /* freed unfinished: what libarchive still writes goes nowhere */
  struct hutch_sha256 *tar_hash, *blob_hash;
  z_stream z;
  gz_header gzh;
  bool z_ready;
  unsigned char *out;
  size_t out_len;
  int64_t size; /* bytes written to the fd */
  unsigned long entries;
  char *buf;   /* READ_SIZE, for file data */
  void *zeros; /* ZEROS_SIZE, mapped when a hole needs it */
  struct link *links;
  size_t links_cap, n_links;
  unsigned long skipped;
};

/* ---- output: hash, gzip, write ----------------------------------------- */

static int
flush_out (struct hutch_layer_writer *w)
{
  int r;

  if (w->out_len == 0)
    return 0;
  if (w->blob_hash && hutch_sha256_update (w->blob_hash, w->out, w->out_len, &w->werr) < 0)
    return -1;
  r = hutch_write_all (w->fd, w->out, w->out_len);
  if (r < 0)
    return hutch_error_set (&w->werr, -r, "write the archive");
  w->size += (int64_t)w->out_len;
  w->out_len = 0;
  return 0;
}

/* LEN bytes of tar through zlib into the output buffer; FLUSH Z_FINISH
   ends the gzip stream.  */
static int
deflate_some (struct hutch_layer_writer *w, const void *buf, size_t len, int flush)
{
  w->z.next_in = (Bytef *)(uintptr_t)buf;
  w->z.avail_in = (uInt)len;
  for (;;)
    {
      int zr;

      w->z.next_out = w->out + w->out_len;
      w->z.avail_out = (uInt)(OUT_SIZE - w->out_len);
      zr = deflate (&w->z, flush);
      if (zr == Z_STREAM_ERROR)
        return hutch_error_set (&w->werr, 0, "compress the archive: %s",
                                w->z.msg ? w->z.msg : "zlib failed");
      w->out_len = OUT_SIZE - w->z.avail_out;
      if (w->z.avail_out == 0)
        {
          if (flush_out (w) < 0)
            return -1;
          continue;
        }
      if (flush == Z_FINISH ? zr == Z_STREAM_END : w->z.avail_in == 0)
        return 0;
      if (zr == Z_BUF_ERROR)
        return hutch_error_set (&w->werr, 0, "compress the archive: zlib made no progress");
    }
}

static int
put_out (struct hutch_layer_writer *w, const void *buf, size_t len)
{
  int r;

  if (w->o.gzip)
    return deflate_some (w, buf, len, Z_NO_FLUSH);
  if (w->out_len + len <= OUT_SIZE)
    {
      memcpy (w->out + w->out_len, buf, len);
      w->out_len += len;
      return 0;
    }
  if (flush_out (w) < 0)
    return -1;
  if (len < OUT_SIZE)
    return put_out (w, buf, len);
  /* A plain tar's blob is its tar: hashed once, in write_cb.  */
  r = hutch_write_all (w->fd, buf, len);
  if (r < 0)
    return hutch_error_set (&w->werr, -r, "write the archive");
  w->size += (int64_t)len;
  return 0;
}

/* libarchive's output (bytes_per_block 0: as it makes it, no blocking).  */
static la_ssize_t
write_cb (struct archive *a, void *data, const void *buf, size_t len)
{
  struct hutch_layer_writer *w = data;

  if (w->dropping)
    return (la_ssize_t)len;
  if ((w->tar_hash && hutch_sha256_update (w->tar_hash, buf, len, &w->werr) < 0)
      || put_out (w, buf, len) < 0)
    {
      archive_set_error (a, w->werr.errnum ? w->werr.errnum : EIO, "%s", w->werr.msg);
      return -1;
    }
  return (la_ssize_t)len;
}

/* A failure of libarchive's, or of write_cb's under it, into ERR.  */
static int
archive_failed (struct hutch_layer_writer *w, const char *what, const char *arcname,
                hutch_error_t *err)
{
  _cleanup_free_ char *s = arcname ? hutch_walk_shown (*arcname ? arcname : ".") : NULL;
  const char *msg = archive_error_string (w->a);
  int errnum = archive_errno (w->a);

  if (w->werr.msg)
    {
      hutch_error_clear (err);
      *err = w->werr;
      w->werr = (hutch_error_t)HUTCH_ERROR_INIT;
      return s ? hutch_error_prefix (err, "%s `%s`", what, s) : -1;
    }
  if (s)
    return hutch_error_set (err, errnum > 0 && errnum != EILSEQ ? errnum : 0,
                            "%s `%s` in the archive: %s", what, s, msg ? msg : "unknown error");
  return hutch_error_set (err, errnum > 0 ? errnum : 0, "%s the archive: %s", what,
                          msg ? msg : "unknown error");
}

void
hutch_layer_writer_preload (void)
{
  (void)hutch_libarchive ();
  (void)hutch_libz ();
  (void)hutch_libcrypto ();
}

static void
writer_free (struct hutch_layer_writer *w)
{
  size_t i;

  if (w == NULL)
    return;
  /* archive_write_free closes an archive still open: its end blocks must
     not follow a failure into the fd as if the archive were whole.  */
  w->dropping = true;
  if (w->a)
    archive_write_free (w->a);
  if (w->z_ready)
    deflateEnd (&w->z);
  hutch_sha256_free (w->tar_hash);
  hutch_sha256_free (w->blob_hash);
  hutch_error_clear (&w->werr);
  for (i = 0; i < w->links_cap; i++)
    free (w->links[i].name);
  free (w->links);
  if (w->zeros)
    munmap (w->zeros, ZEROS_SIZE);
  free (w->buf);
  free (w->out);
  free (w);
}

void
hutch_layer_writer_abort (struct hutch_layer_writer *w)
{
  writer_free (w);
}

static int
start_gzip (struct hutch_layer_writer *w, hutch_error_t *err)
{
  /* zlib's own gzip wrapper, with the header fixed: no name, no
     modification time, OS 255 ("unknown", as Go's compress/gzip writes
     it), so that the same tar always makes the same blob.  */
  if (deflateInit2 (&w->z, HUTCH_LAYER_GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY)
      != Z_OK)
    return hutch_error_set (err, ENOMEM, "start zlib");
  w->z_ready = true;
  w->gzh.os = 255;
  if (deflateSetHeader (&w->z, &w->gzh) != Z_OK)
    return hutch_error_set (err, 0, "set the gzip header");
  return 0;
}

int
hutch_layer_writer_open (int fd, const struct hutch_layer_write_opts *o,
                         struct hutch_layer_writer **ret, hutch_error_t *err)
{
  struct hutch_layer_writer *w = hutch_xmalloc0 (sizeof *w);

  w->fd = fd;
  w->o = *o;
  w->where = o->where ? o->where : "the directory";
  w->out = hutch_xmalloc0 (OUT_SIZE);
  w->buf = hutch_xmalloc0 (READ_SIZE);
  if ((!o->no_digests && hutch_sha256_new (&w->tar_hash, err) < 0)
      || (!o->no_digests && o->gzip && hutch_sha256_new (&w->blob_hash, err) < 0)
      || (o->gzip && start_gzip (w, err) < 0))
    {
      writer_free (w);
      return -1;
    }
  w->a = archive_write_new ();
  if (w->a == NULL)
    {
      writer_free (w);
      return hutch_error_set (err, ENOMEM, "start libarchive");
    }
  if (archive_write_set_format_pax_restricted (w->a) != ARCHIVE_OK)
    {
      archive_failed (w, "start", NULL, err);
      writer_free (w);
      return -1;
    }
  /* Extended attributes as SCHILY.xattr records only (what Go's
     archive/tar and GNU tar read), not twice with libarchive's own.  An
     older libarchive without the option writes both: still readable.  */
  (void)archive_write_set_format_option (w->a, "pax", "xattrheader", "SCHILY");
  /* No blocking: each piece goes to write_cb as it is made, and the
     archive ends after its two zero blocks, as Go's archive/tar ends.  */
  if (archive_write_set_bytes_per_block (w->a, 0) != ARCHIVE_OK
      || archive_write_open (w->a, w, NULL, write_cb, NULL) != ARCHIVE_OK)
    {
      archive_failed (w, "start", NULL, err);
      writer_free (w);
      return -1;
    }
  *ret = w;
  return 0;
}

int
hutch_layer_writer_finish (struct hutch_layer_writer *w, struct hutch_layer_digests *ret,
                           hutch_error_t *err)
{
  struct hutch_layer_digests d = { .gzip = w->o.gzip };
  int r = 0;

  if (archive_write_close (w->a) != ARCHIVE_OK)
    r = archive_failed (w, "finish", NULL, err);
  else if ((w->o.gzip && deflate_some (w, NULL, 0, Z_FINISH) < 0) || flush_out (w) < 0)
    r = archive_failed (w, "finish", NULL, err);
  else if (w->tar_hash
           && (hutch_sha256_final (w->tar_hash, d.diff_id, err) < 0
               || hutch_sha256_final (w->blob_hash ? w->blob_hash : w->tar_hash, d.digest, err)
                      < 0))
    r = -1;
  d.size = w->size;
  d.entries = w->entries;
  if (w->tar_hash && !w->blob_hash)
    memcpy (d.digest, d.diff_id, sizeof d.digest);
  writer_free (w);
  if (r == 0 && ret)
    *ret = d;
  return r < 0 ? -1 : 0;
}

unsigned long
hutch_layer_writer_skipped (const struct hutch_layer_writer *w)
{
  return w->skipped;
}

/* ---- hard links --------------------------------------------------------- */

static size_t
link_slot (const struct hutch_layer_writer *w, dev_t dev, ino_t ino)
{
  uint64_t h = ((uint64_t)ino * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)dev * 0xc2b2ae3d27d4eb4fULL);
  size_t i = (size_t)(h >> 17) & (w->links_cap - 1);

  while (w->links[i].name && (w->links[i].dev != dev || w->links[i].ino != ino))
    i = (i + 1) & (w->links_cap - 1);
  return i;
}

/* A file of more than one name already in the archive: its first name.  */
static const char *
first_name (const struct hutch_layer_writer *w, const struct stat *st)
{
  if (st->st_nlink < 2 || w->n_links == 0)
    return NULL;
  return w->links[link_slot (w, st->st_dev, st->st_ino)].name;
}

static void
remember_link (struct hutch_layer_writer *w, const struct stat *st, const char *arcname)
{
  struct link *old = w->links;
  size_t old_cap = w->links_cap, i;

  if (st->st_nlink < 2)
    return;
  if (2 * (w->n_links + 1) > w->links_cap)
    {
      w->links_cap = old_cap ? 2 * old_cap : 64;
      w->links = hutch_xmalloc0 (w->links_cap * sizeof *w->links);
      for (i = 0; i < old_cap; i++)
        if (old[i].name)
          w->links[link_slot (w, old[i].dev, old[i].ino)] = old[i];
      free (old);
    }
  i = link_slot (w, st->st_dev, st->st_ino);
  if (w->links[i].name == NULL)
    {
      w->links[i] = (struct link){ st->st_dev, st->st_ino, hutch_xstrdup (arcname) };
      w->n_links++;
    }
}

/* ---- entries ------------------------------------------------------------- */

bool
hutch_layer_capability_v2 (void *value, size_t *len)
{
  uint32_t magic;

  if (*len != XATTR_CAPS_SZ_3)
    return false;
  memcpy (&magic, value, sizeof magic);
  magic = le32toh (magic);
  if ((magic & VFS_CAP_REVISION_MASK) != VFS_CAP_REVISION_3)
    return false;
  /* The same permitted and inheritable sets, and the effective flag; the
     root id (the last 4 bytes) goes.  */
  magic = htole32 (VFS_CAP_REVISION_2 | (magic & VFS_CAP_FLAGS_MASK));
  memcpy (value, &magic, sizeof magic);
  *len = XATTR_CAPS_SZ_2;
  return true;
}

static int
cmp_names (const void *a, const void *b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

/* FD's extended attributes into E, sorted by name (the file system's
   order is its own), but overlayfs's own: they describe the layer, not
   the file, and would change how an overlay of it reads.  */
static void
add_xattrs (struct archive_entry *e, int fd)
{
  _cleanup_free_ char *names = NULL;
  _cleanup_free_ const char **v = NULL;
  ssize_t len = flistxattr (fd, NULL, 0);
  size_t n = 0, i;
  const char *name;

  if (len <= 0)
    return;
  names = hutch_xmalloc0 ((size_t)len + 1);
  len = flistxattr (fd, names, (size_t)len);
  if (len <= 0)
    return;
  v = hutch_xmalloc0 ((size_t)len * sizeof *v);
  for (name = names; name < names + len; name += strlen (name) + 1)
    if (*name && !hutch_layer_is_overlay_xattr (name) && strcmp (name, HUTCH_OVERRIDE_XATTR) != 0)
      v[n++] = name;
  qsort (v, n, sizeof *v, cmp_names);
  for (i = 0; i < n; i++)
    {
      char value[XATTR_SIZE_MAX];
      ssize_t got = fgetxattr (fd, v[i], value, sizeof value);
      size_t size = got > 0 ? (size_t)got : 0;

      if (got < 0)
        continue; /* gone, or (a v3 capability of a root id not mapped here) unreadable */
      if (strcmp (v[i], "security.capability") == 0)
        hutch_layer_capability_v2 (value, &size);
      archive_entry_xattr_add_entry (e, v[i], value, size);
    }
}

/* A data stretch of a sparse file.  */
struct extent
{
  int64_t off, len;
};

/* One entry's header, as it goes into the archive.  */
struct header
{
  const char *arcname;
  mode_t type;
  int perm;
  int64_t uid, gid, mtime, size;
  const char *symlink, *hardlink;
  int xfd;          /* extended attributes from this fd, or -1 */
  bool owner_given; /* the caller named the owner (COPY --chown): no override */
  const struct extent *extents;
  size_t n_extents;
  bool sparse;
};

/* The owner root emulation recorded (base/override.h), where the kernel
   could not give it, is the file's owner in the layer; a device node it
   kept as an empty regular file is a device node again.  */
static void
apply_override (struct archive_entry *e, const struct header *h)
{
  struct hutch_override o;

  if (h->xfd < 0 || h->hardlink || h->owner_given || hutch_override_get (h->xfd, &o) != 1)
    return;
  archive_entry_set_uid (e, o.uid);
  archive_entry_set_gid (e, o.gid);
  if (o.has_type && (S_ISCHR (o.mode) || S_ISBLK (o.mode)) && h->type == S_IFREG)
    {
      archive_entry_set_filetype (e, (unsigned int)(o.mode & S_IFMT));
      archive_entry_set_rdevmajor (e, o.major);
      archive_entry_set_rdevminor (e, o.minor);
      archive_entry_set_size (e, 0);
    }
}

static int
write_header (struct hutch_layer_writer *w, const struct header *h, hutch_error_t *err)
{
  struct archive_entry *e = archive_entry_new ();
  int64_t mtime = h->mtime;
  size_t i;
  int r;

  if (e == NULL)
    return hutch_error_set (err, ENOMEM, "an archive entry");
  if (w->o.clamp_time >= 0 && mtime > w->o.clamp_time)
    mtime = w->o.clamp_time;
  archive_entry_set_pathname (e, h->arcname);
  archive_entry_set_filetype (e, h->hardlink ? AE_IFREG : (unsigned int)h->type);
  archive_entry_set_perm (e, (mode_t)h->perm & 07777);
  archive_entry_set_uid (e, h->uid);
  archive_entry_set_gid (e, h->gid);
  archive_entry_set_mtime (e, (time_t)mtime, 0);
  archive_entry_set_size (e, h->hardlink ? 0 : h->size);
  if (h->symlink)
    archive_entry_set_symlink (e, h->symlink);
  if (h->hardlink)
    archive_entry_set_hardlink (e, h->hardlink);
  apply_override (e, h);
  if (!w->o.no_xattrs && h->xfd >= 0)
    add_xattrs (e, h->xfd);
  for (i = 0; h->sparse && !h->hardlink && i < h->n_extents; i++)
    archive_entry_sparse_add_entry (e, h->extents[i].off, h->extents[i].len);
  /* Wholly a hole: one empty stretch at its end makes it sparse.  */
  if (h->sparse && !h->hardlink && h->n_extents == 0)
    archive_entry_sparse_add_entry (e, h->size, 0);
  /* ARCHIVE_WARN: a name that is not valid in the locale's charset goes
     in as it is (pax hdrcharset=BINARY); that is no failure.  */
  r = archive_write_header (w->a, e);
  archive_entry_free (e);
  if (r < ARCHIVE_WARN)
    return archive_failed (w, "write", h->arcname, err);
  w->entries++;
  return 0;
}

static int
feed (struct hutch_layer_writer *w, const void *buf, size_t len, const char *arcname,
      hutch_error_t *err)
{
  while (len > 0)
    {
      la_ssize_t n = archive_write_data (w->a, buf, len);
      if (n < 0)
        return archive_failed (w, "write", arcname, err);
      if (n == 0)
        return 0; /* the entry is full: the file grew meanwhile */
      buf = (const char *)buf + n;
      len -= (size_t)n;
    }
  return 0;
}

/* LEN bytes of FD from OFF.  A file that shrank meanwhile is padded with
   zeros (by libarchive), one that grew is cut: the header said its size.  */
static int
feed_data (struct hutch_layer_writer *w, int fd, int64_t off, int64_t len, const char *arcname,
           hutch_error_t *err)
{
  while (len > 0)
    {
      size_t want = len < READ_SIZE ? (size_t)len : READ_SIZE;
      ssize_t n = pread (fd, w->buf, want, (off_t)off);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          _cleanup_free_ char *s = hutch_walk_shown (arcname);
          return hutch_error_set (err, errno, "read `%s` in %s", s, w->where);
        }
      if (n == 0)
        return 1;
      if (feed (w, w->buf, (size_t)n, arcname, err) < 0)
        return -1;
      off += n;
      len -= n;
    }
  return 0;
}

/* LEN bytes of a hole: skipped by libarchive, never read.  */
static int
feed_hole (struct hutch_layer_writer *w, int64_t len, const char *arcname, hutch_error_t *err)
{
  if (w->zeros == NULL)
    {
      void *p
          = mmap (NULL, ZEROS_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (p == MAP_FAILED)
        return hutch_error_set (err, errno, "map memory for the holes of `%s`", arcname);
      w->zeros = p;
    }
  while (len > 0)
    {
      size_t n = len < (int64_t)ZEROS_SIZE ? (size_t)len : ZEROS_SIZE;
      if (feed (w, w->zeros, n, arcname, err) < 0)
        return -1;
      len -= (int64_t)n;
    }
  return 0;
}

/* The data stretches of FD (SIZE bytes long) when it has holes: *RET_N
   of them in *RET.  False when it has none, or the file system cannot
   tell (the file is then read whole).  */
static bool
map_holes (int fd, const struct stat *st, struct extent **ret, size_t *ret_n)
{
  struct extent *v = NULL;
  size_t n = 0;
  off_t off = 0;

  /* No block missing, no hole: the usual case costs no lseek.  */
  if (st->st_size == 0 || (int64_t)st->st_blocks * 512 >= (int64_t)st->st_size)
    return false;
  while (off < st->st_size)
    {
      off_t data = lseek (fd, off, SEEK_DATA), hole;
      if ((data < 0 && errno == ENXIO) || data >= st->st_size)
        break; /* no data after OFF (within the size the header gives) */
      if (data < 0)
        goto dense;
      hole = lseek (fd, data, SEEK_HOLE);
      if (hole < 0 || hole <= data)
        goto dense;
      if (hole > st->st_size)
        hole = st->st_size;
      v = hutch_xrealloc (v, (n + 1) * sizeof *v);
      v[n++] = (struct extent){ data, hole - data };
      off = hole;
    }
  if (n == 1 && v[0].off == 0 && v[0].len == st->st_size)
    goto dense;
  *ret = v;
  *ret_n = n;
  return true;
dense:
  free (v);
  return false;
}

static int
write_sparse (struct hutch_layer_writer *w, int fd, const struct extent *v, size_t n,
              const char *arcname, hutch_error_t *err)
{
  int64_t at = 0;
  size_t i;

  /* libarchive writes the sparse map with the first data it is given:
     give it none first, for a file that is all hole.  */
  if (archive_write_data (w->a, w->buf, 0) < 0)
    return archive_failed (w, "write", arcname, err);
  /* The whole file in order, holes as zeros that libarchive skips; the
     last hole is the entry's end, which needs nothing.  */
  for (i = 0; i < n; i++)
    {
      int r;
      if (v[i].off > at && feed_hole (w, v[i].off - at, arcname, err) < 0)
        return -1;
      r = feed_data (w, fd, v[i].off, v[i].len, arcname, err);
      if (r < 0)
        return -1;
      if (r > 0)
        return 0; /* shrank: libarchive fills the rest */
      at = v[i].off + v[i].len;
    }
  return 0;
}

/* Fill H from ST, with META's changes.  */
static void
header_of (struct header *h, const struct stat *st, const char *arcname,
           const struct hutch_layer_meta *meta)
{
  *h = (struct header){ .arcname = arcname,
                        .type = st->st_mode & S_IFMT,
                        .perm = (int)(st->st_mode & 07777),
                        .uid = st->st_uid,
                        .gid = st->st_gid,
                        .mtime = st->st_mtim.tv_sec,
                        .xfd = -1 };
  if (meta && meta->uid >= 0)
    h->uid = meta->uid;
  if (meta && meta->gid >= 0)
    h->gid = meta->gid;
  h->owner_given = meta && (meta->uid >= 0 || meta->gid >= 0);
  if (meta && meta->mode >= 0)
    h->perm = meta->mode & 07777;
}

/* A regular file: FD open for reading (NOW its fstat).  */
static int
write_file (struct hutch_layer_writer *w, int fd, const struct stat *now, const char *arcname,
            const struct hutch_layer_meta *meta, hutch_error_t *err)
{
  _cleanup_free_ struct extent *v = NULL;
  struct header h;
  size_t n = 0;
  int r;

  header_of (&h, now, arcname, meta);
  h.size = now->st_size;
  h.xfd = fd;
  h.sparse = map_holes (fd, now, &v, &n);
  h.extents = v;
  h.n_extents = n;
  if (write_header (w, &h, err) < 0)
    return -1;
  r = h.sparse ? write_sparse (w, fd, v, n, arcname, err)
               : feed_data (w, fd, 0, now->st_size, arcname, err);
  if (r < 0)
    return -1;
  remember_link (w, now, arcname);
  return 0;
}

/* A regular file NAME of DIRFD, opened without following NAME (TOP: the
   top of a copy, which may be a mount point of its own).  A mount point
   below the top becomes an empty file: what is mounted there is not the
   tree's.  One that vanished or changed type meanwhile is left out.  */
static int
add_file (struct hutch_layer_writer *w, int dirfd, const char *name, const struct stat *st,
          const char *arcname, const struct hutch_layer_meta *meta, bool top, hutch_error_t *err)
{
  _cleanup_close_ int fd = -1;
  const char *first = first_name (w, st);
  struct stat now;
  struct header h;

  header_of (&h, st, arcname, meta);
  if (first)
    {
      h.hardlink = first;
      return write_header (w, &h, err);
    }
  if (*name == '\0')
    return fstat (dirfd, &now) < 0 ? hutch_error_set (err, errno, "look at `%s`", arcname)
                                   : write_file (w, dirfd, &now, arcname, meta, err);
  fd = hutch_walk_open (dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0,
                        top ? TOP_RESOLVE : ENTRY_RESOLVE);
  if (fd < 0 && errno == EXDEV)
    return write_header (w, &h, err);
  if (fd < 0 && (errno == ENOENT || errno == ELOOP || errno == ENOTDIR))
    return 0;
  if (fd < 0 || fstat (fd, &now) < 0)
    {
      _cleanup_free_ char *s = hutch_walk_shown (arcname);
      return hutch_error_set (err, errno, "open `%s` in %s", s, w->where);
    }
  if (!S_ISREG (now.st_mode))
    return 0;
  return write_file (w, fd, &now, arcname, meta, err);
}

static int
add_symlink (struct hutch_layer_writer *w, int dirfd, const char *name, const struct stat *st,
             const char *arcname, const struct hutch_layer_meta *meta, hutch_error_t *err)
{
  char target[HUTCH_WALK_MAX_PATH + 1];
  ssize_t n = readlinkat (dirfd, name, target, sizeof target);
  struct header h;

  if (n < 0 && errno == ENOENT)
    return 0;
  if (n < 0 || (size_t)n >= sizeof target)
    {
      _cleanup_free_ char *s = hutch_walk_shown (arcname);
      return hutch_error_set (err, n < 0 ? errno : ENAMETOOLONG, "read symlink `%s` in %s", s,
                              w->where);
    }
  target[n] = '\0';
  header_of (&h, st, arcname, meta);
  h.symlink = target;
  return write_header (w, &h, err);
}

static int
add_entry (struct hutch_layer_writer *w, int dirfd, const char *name, const struct stat *st,
           const char *arcname, const struct hutch_layer_meta *meta, bool top, hutch_error_t *err)
{
  struct header h;

  switch (st->st_mode & S_IFMT)
    {
    case S_IFREG:
      return add_file (w, dirfd, name, st, arcname, meta, top, err);
    case S_IFLNK:
      return add_symlink (w, dirfd, name, st, arcname, meta, err);
    case S_IFDIR:
      {
        _cleanup_close_ int fd
            = *name ? hutch_walk_open (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0,
                                       top ? TOP_RESOLVE : ENTRY_RESOLVE)
                    : -1;
        header_of (&h, st, arcname, meta);
        h.xfd = *name ? fd : dirfd;
        return write_header (w, &h, err);
      }
    case S_IFIFO:
      header_of (&h, st, arcname, meta);
      return write_header (w, &h, err);
    case S_IFCHR:
      if (st->st_rdev == makedev (0, 0))
        return hutch_layer_writer_add_whiteout (w, arcname, err);
      /* fall through */
    default:
      /* Device nodes and sockets: a container cannot make the one (its
         /dev is hutch's), and the other is no content.  */
      w->skipped++;
      return 0;
    }
}

int
hutch_layer_writer_add (struct hutch_layer_writer *w, int dirfd, const char *name,
                        const struct stat *st, const char *arcname,
                        const struct hutch_layer_meta *meta, hutch_error_t *err)
{
  return add_entry (w, dirfd, name, st, arcname, meta, false, err);
}

int
hutch_layer_writer_add_dir (struct hutch_layer_writer *w, const char *arcname, int mode,
                            int64_t uid, int64_t gid, int64_t mtime, hutch_error_t *err)
{
  struct header h = { .arcname = arcname,
                      .type = S_IFDIR,
                      .perm = mode,
                      .uid = uid,
                      .gid = gid,
                      .mtime = mtime,
                      .xfd = -1 };
  return write_header (w, &h, err);
}

int
hutch_layer_writer_add_data (struct hutch_layer_writer *w, const char *arcname, const void *data,
                             size_t len, int mode, int64_t uid, int64_t gid, int64_t mtime,
                             hutch_error_t *err)
{
  struct header h = { .arcname = arcname,
                      .type = S_IFREG,
                      .perm = mode,
                      .uid = uid,
                      .gid = gid,
                      .mtime = mtime,
                      .size = (int64_t)len,
                      .xfd = -1 };
  if (write_header (w, &h, err) < 0)
    return -1;
  return feed (w, data, len, arcname, err);
}

static int
add_marker (struct hutch_layer_writer *w, const char *arcname, hutch_error_t *err)
{
  struct header h = { .arcname = arcname, .type = S_IFREG, .perm = 0644, .xfd = -1 };
  return write_header (w, &h, err);
}

int
hutch_layer_writer_add_whiteout (struct hutch_layer_writer *w, const char *path, hutch_error_t *err)
{
  const char *slash = strrchr (path, '/');
  _cleanup_free_ char *name
      = slash ? hutch_xasprintf ("%.*s/" WH_PREFIX "%s", (int)(slash - path), path, slash + 1)
              : hutch_xasprintf (WH_PREFIX "%s", path);
  return add_marker (w, name, err);
}

int
hutch_layer_writer_add_opaque (struct hutch_layer_writer *w, const char *path, hutch_error_t *err)
{
  _cleanup_free_ char *name
      = *path ? hutch_xasprintf ("%s/" WH_OPAQUE, path) : hutch_xstrdup (WH_OPAQUE);
  return add_marker (w, name, err);
}

/* ---- trees ---------------------------------------------------------------- */

/* The names in the directory FD, sorted (an archive that does not depend
   on the order the file system keeps).  */
static int
list_dir (struct hutch_layer_writer *w, int fd, const char *arcdir, char ***ret, hutch_error_t *err)
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
      return hutch_error_set (err, errno, "read directory `%s` in %s", s, w->where);
    }
  while ((de = readdir (d)) != NULL)
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

static int add_children (struct hutch_layer_writer *w, int fd, const char *arcdir, int depth,
                         hutch_error_t *err);

/* The directory NAME of FD (ST), ARC in the archive, and what it holds.  */
static int
add_subdir (struct hutch_layer_writer *w, int fd, const char *name, struct stat *st,
            const char *arc, int depth, hutch_error_t *err)
{
  _cleanup_close_ int sub
      = hutch_walk_open (fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, ENTRY_RESOLVE);
  struct header h;

  if (sub < 0 && errno == EXDEV)
    {
      /* A mount point: the directory, empty.  */
      header_of (&h, st, arc, NULL);
      return write_header (w, &h, err);
    }
  if (sub < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP))
    return 0; /* gone, or no longer a directory */
  if (sub < 0 || fstat (sub, st) < 0)
    {
      _cleanup_free_ char *s = hutch_walk_shown (arc);
      return hutch_error_set (err, errno, "open directory `%s` in %s", s, w->where);
    }
  header_of (&h, st, arc, NULL);
  h.xfd = sub;
  if (write_header (w, &h, err) < 0)
    return -1;
  return add_children (w, sub, arc, depth + 1, err);
}

static int
add_children (struct hutch_layer_writer *w, int fd, const char *arcdir, int depth,
              hutch_error_t *err)
{
  _cleanup_strv_ char **names = NULL;
  size_t i;

  if (depth > HUTCH_WALK_MAX_DEPTH)
    {
      _cleanup_free_ char *s = hutch_walk_shown (arcdir);
      return hutch_error_set (err, 0, "`%s` in %s is more than %d directories deep", s, w->where,
                              HUTCH_WALK_MAX_DEPTH);
    }
  if (list_dir (w, fd, arcdir, &names, err) < 0)
    return -1;
  for (i = 0; names[i]; i++)
    {
      _cleanup_free_ char *arc
          = *arcdir ? hutch_xasprintf ("%s/%s", arcdir, names[i]) : hutch_xstrdup (names[i]);
      struct stat st;
      int r;

      if (fstatat (fd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
        {
          if (errno == ENOENT)
            continue;
          _cleanup_free_ char *s = hutch_walk_shown (arc);
          return hutch_error_set (err, errno, "look at `%s` in %s", s, w->where);
        }
      if (S_ISDIR (st.st_mode))
        r = add_subdir (w, fd, names[i], &st, arc, depth, err);
      else
        r = add_entry (w, fd, names[i], &st, arc, NULL, false, err);
      if (r < 0)
        return -1;
    }
  return 0;
}

int
hutch_layer_writer_add_tree (struct hutch_layer_writer *w, int dirfd, const char *name,
                             const char *arcname, hutch_error_t *err)
{
  _cleanup_close_ int fd = -1;
  struct stat st;
  struct header h;

  if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW | (*name ? 0 : AT_EMPTY_PATH)) < 0)
    {
      _cleanup_free_ char *s = hutch_walk_shown (*arcname ? arcname : "/");
      return hutch_error_set (err, errno, "look at `%s` in %s", s, w->where);
    }
  if (!S_ISDIR (st.st_mode))
    return add_entry (w, dirfd, name, &st, arcname, NULL, true, err);
  /* The top may be a mount point of its own (a volume): only what is
     below it stays on its mount.  */
  fd = hutch_walk_open (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, TOP_RESOLVE);
  if (fd < 0 || fstat (fd, &st) < 0)
    {
      _cleanup_free_ char *s = hutch_walk_shown (*arcname ? arcname : "/");
      return hutch_error_set (err, errno, "open directory `%s` in %s", s, w->where);
    }
  header_of (&h, &st, arcname, NULL);
  h.xfd = fd;
  if (*arcname && write_header (w, &h, err) < 0)
    return -1;
  return add_children (w, fd, strcmp (arcname, ".") == 0 ? "." : arcname, 0, err);
}

/* ---- the digests, and the store ------------------------------------------ */

void
hutch_layer_digests_format (const struct hutch_layer_digests *d, char *buf, size_t len)
{
  snprintf (buf, len, "%s %s %" PRId64 " %s %lu", d->digest, d->diff_id, d->size,
            d->gzip ? "gzip" : "tar", d->entries);
}

int
hutch_layer_digests_parse (const char *text, struct hutch_layer_digests *ret, hutch_error_t *err)
{
  struct hutch_layer_digests d = { 0 };
  char kind[8];
  int end = 0;

  if (sscanf (text, "%71s %71s %" SCNd64 " %7s %lu%n", d.digest, d.diff_id, &d.size, kind,
              &d.entries, &end)
          != 5
      || text[end] != '\0' || !hutch_digest_valid (d.digest) || !hutch_digest_valid (d.diff_id)
      || d.size < 0 || (strcmp (kind, "gzip") != 0 && strcmp (kind, "tar") != 0))
    return hutch_error_set (err, 0, "the layer's writer answered `%.100s`, which is no layer",
                            text);
  d.gzip = strcmp (kind, "gzip") == 0;
  *ret = d;
  return 0;
}

int
hutch_layer_scratch (struct hutch_store *s, hutch_error_t *err)
{
  return hutch_store_tmp_file (s, err);
}

int
hutch_layer_put (struct hutch_store *s, int fd, const struct hutch_layer_digests *d,
                 struct hutch_store_layer *ret, hutch_error_t *err)
{
  struct stat st;
  int r;

  if (!hutch_digest_valid (d->digest) || !hutch_digest_valid (d->diff_id))
    return hutch_error_set (err, EINVAL, "put a layer without its digests in the store");
  if (fstat (fd, &st) < 0)
    return hutch_error_set (err, errno, "look at the new layer");
  if (!S_ISREG (st.st_mode) || st.st_size != d->size)
    return hutch_error_set (err, 0,
                            "the new layer's file holds %jd bytes, but its writer wrote %" PRId64,
                            (intmax_t)st.st_size, d->size);
  r = hutch_store_link_blob (s, fd, d->digest, err);
  if (r < 0)
    return -1;
  if (r > 0)
    {
      /* Not linkable here: copied, and its digest checked on the way.  */
      if (lseek (fd, 0, SEEK_SET) < 0)
        return hutch_error_set (err, errno, "read the new layer");
      if (hutch_store_put_blob (s, fd, d->digest, NULL, err) < 0)
        return -1;
    }
  ret->digest = hutch_xstrdup (d->digest);
  ret->diff_id = hutch_xstrdup (d->diff_id);
  ret->media_type = hutch_xstrdup (d->gzip ? HUTCH_MT_OCI_LAYER_GZIP : HUTCH_MT_OCI_LAYER);
  ret->size = d->size;
  return 0;
}
