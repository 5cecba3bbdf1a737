/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* The reading side of hutch_archive_unpack: the layer is read and
   decompressed in a thread of its own, so that inflating (one core) and
   creating files (mostly the kernel, another core) overlap, as they do when
   `tar -xzf` runs gzip in a second process.  The unpacking side reads plain
   tar through hutch_feeder_read.  gzip goes through igzip where there is
   one (image/gunzip.h), zstd through libzstd (image/unzstd.h), anything
   else through libarchive's filters.  */

#include "image/unpack-private.h"
#include "image/gunzip.h"
#include "image/unzstd.h"

#include <archive.h>
#include <archive_entry.h>
#include "base/lazylib.h"

#include "base/digest.h"
#include "base/util.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Decompressed data goes from the reading thread to the unpacking one in a
   ring of a few large buffers.  */
#define FEED_SLOTS 4
#define FEED_SLOT_SIZE (1024 * 1024)

struct hutch_feeder
{
  pthread_mutex_t lock;
  pthread_cond_t cond;
  pthread_t thread;
  bool started;
  struct source *src;
  struct archive *in;       /* libarchive's decompression, or NULL */
  struct hutch_gunzip *gz;  /* igzip's, or NULL */
  struct hutch_unzstd *zst; /* libzstd's, or NULL */
  char *slot[FEED_SLOTS];
  size_t len[FEED_SLOTS];
  unsigned head, count; /* filled slots: head .. head+count-1 (mod FEED_SLOTS) */
  bool held;            /* the slot at head is lent to libarchive */
  bool done, cancelled;
  int errnum;
  char *error;
  /* The diff_id, when asked for: every decompressed byte goes through it,
     in the reading thread.  */
  struct hutch_sha256 *hash;
};

/* The compressed input: FD, which may be a file that a download is still
   appending to (see hutch_unpack_opts.wait_more).  The first bytes are read
   ahead to tell gzip and zstd from the rest, and given out again first.  */
struct source
{
  int fd;
  int (*wait_more) (void *data);
  void *data;
  bool complete;
  unsigned char peek[4];
  size_t npeek, peek_pos;
  char buf[FEED_SLOT_SIZE]; /* for libarchive's reads */
};

/* ERR says WHAT failed with ERRNUM, whose text is left to the message
   that libarchive's error becomes (read_error in unpack.c).  */
static ssize_t
source_error (hutch_error_t *err, int errnum, const char *what)
{
  hutch_error_set (err, 0, "%s", what);
  err->errnum = errnum;
  return -1;
}

/* Read FD into BUF.  At the current end of a growing file, wait for the
   writer to say there is more, or that it finished (then read what remains
   once more before reporting the end).  */
static ssize_t
source_read_fd (struct source *s, void *buf, size_t len, hutch_error_t *err)
{
  for (;;)
    {
      ssize_t n = read (s->fd, buf, len);
      int r;

      if (n > 0)
        return n;
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return source_error (err, errno, "read the layer");
        }
      if (s->wait_more == NULL || s->complete)
        return 0;
      r = s->wait_more (s->data);
      if (r < 0)
        return source_error (err, -r, "the download of the layer stopped");
      if (r == 0)
        s->complete = true;
    }
}

/* Read the first bytes ahead (fewer when the input is shorter).  */
static int
source_peek (struct source *s, hutch_error_t *err)
{
  while (s->npeek < sizeof s->peek)
    {
      ssize_t n = source_read_fd (s, s->peek + s->npeek, sizeof s->peek - s->npeek, err);
      if (n < 0)
        return -1;
      if (n == 0)
        break;
      s->npeek += (size_t)n;
    }
  return 0;
}

/* The next bytes into BUF: those read ahead first.  */
static ssize_t
source_read (void *data, void *buf, size_t len, hutch_error_t *err)
{
  struct source *s = data;

  if (s->peek_pos < s->npeek)
    {
      size_t n = s->npeek - s->peek_pos < len ? s->npeek - s->peek_pos : len;
      memcpy (buf, s->peek + s->peek_pos, n);
      s->peek_pos += n;
      return (ssize_t)n;
    }
  return source_read_fd (s, buf, len, err);
}

/* libarchive's read callback on the source.  */
static la_ssize_t
source_archive_read (struct archive *a, void *data, const void **ret_buf)
{
  struct source *s = data;
  hutch_error_t e = HUTCH_ERROR_INIT;
  ssize_t n = source_read (s, s->buf, sizeof s->buf, &e);

  if (n < 0)
    {
      archive_set_error (a, e.errnum, "%s", e.msg);
      hutch_error_clear (&e);
      return -1;
    }
  *ret_buf = s->buf;
  return n;
}

/* In-process decompressors only: archive_read_support_filter_all would add
   filters that run external programs (lrzip, lzop, grzip, and gzip or zstd
   themselves when libarchive lacks the library, which ARCHIVE_WARN
   reports), and an image must never make us execute anything
   (CVE-2014-9357: docker ran xz on an image's layer from inside that
   image).  */
int
hutch_archive_filters (struct archive *a, bool archives, hutch_error_t *err)
{
  if (archive_read_support_filter_gzip (a) != ARCHIVE_OK
      || archive_read_support_filter_zstd (a) != ARCHIVE_OK)
    return hutch_error_set (err, 0,
                            "libarchive %s lacks built-in gzip or zstd support; install a "
                            "libarchive built with zlib and libzstd",
                            archive_version_string ());
  if (archives
      && (archive_read_support_filter_xz (a) != ARCHIVE_OK
          || archive_read_support_filter_bzip2 (a) != ARCHIVE_OK))
    return hutch_error_set (err, 0,
                            "libarchive %s lacks built-in xz or bzip2 support; install a "
                            "libarchive built with liblzma and libbz2",
                            archive_version_string ());
  return 0;
}

/* The next decompressed bytes into BUF: how many, 0 at the end, -1 with
   F's error set.  */
static ssize_t
feeder_produce (struct hutch_feeder *f, void *buf, size_t len)
{
  ssize_t n;

  if (f->gz || f->zst)
    {
      hutch_error_t e = HUTCH_ERROR_INIT;

      n = f->gz ? hutch_gunzip_read (f->gz, buf, len, &e)
                : hutch_unzstd_read (f->zst, buf, len, &e);
      if (n < 0)
        {
          f->errnum = e.errnum;
          f->error = hutch_xstrdup (e.msg ? e.msg : "decompression failed");
          hutch_error_clear (&e);
        }
      return n;
    }
  n = archive_read_data (f->in, buf, len);
  if (n < 0)
    {
      const char *msg = archive_error_string (f->in);
      f->errnum = archive_errno (f->in);
      f->error = hutch_xstrdup (msg ? msg : "decompression failed");
    }
  return n;
}

static void *
feeder_main (void *data)
{
  struct hutch_feeder *f = data;

  for (;;)
    {
      unsigned idx;
      ssize_t n;

      pthread_mutex_lock (&f->lock);
      while (f->count == FEED_SLOTS && !f->cancelled)
        pthread_cond_wait (&f->cond, &f->lock);
      if (f->cancelled)
        {
          pthread_mutex_unlock (&f->lock);
          return NULL;
        }
      idx = (f->head + f->count) % FEED_SLOTS;
      pthread_mutex_unlock (&f->lock);

      /* Outside the lock: f->error is read by the other side only once
         f->done is set, under the lock.  */
      n = feeder_produce (f, f->slot[idx], FEED_SLOT_SIZE);
      if (n > 0 && f->hash)
        {
          hutch_error_t e = HUTCH_ERROR_INIT;
          if (hutch_sha256_update (f->hash, f->slot[idx], (size_t)n, &e) < 0)
            {
              f->errnum = e.errnum;
              f->error = hutch_xstrdup (e.msg ? e.msg : "hash the layer");
              hutch_error_clear (&e);
              n = -1;
            }
        }

      pthread_mutex_lock (&f->lock);
      if (n > 0)
        {
          f->len[idx] = (size_t)n;
          f->count++;
        }
      else
        f->done = true;
      pthread_cond_broadcast (&f->cond);
      pthread_mutex_unlock (&f->lock);
      if (n <= 0)
        return NULL;
    }
}

ssize_t
hutch_feeder_read (struct archive *a, void *data, const void **ret_buf)
{
  struct hutch_feeder *f = data;
  ssize_t n = 0;

  pthread_mutex_lock (&f->lock);
  if (f->held)
    {
      f->head = (f->head + 1) % FEED_SLOTS;
      f->count--;
      f->held = false;
      pthread_cond_broadcast (&f->cond);
    }
  while (f->count == 0 && !f->done)
    pthread_cond_wait (&f->cond, &f->lock);
  if (f->count > 0)
    {
      *ret_buf = f->slot[f->head];
      n = (ssize_t)f->len[f->head];
      f->held = true;
    }
  else if (f->error)
    {
      archive_set_error (a, f->errnum ? f->errnum : -1 /* libarchive's ARCHIVE_ERRNO_MISC */, "%s",
                         f->error);
      n = -1;
    }
  pthread_mutex_unlock (&f->lock);
  return n;
}

void
hutch_feeder_free (struct hutch_feeder *f)
{
  unsigned i;

  if (f == NULL)
    return;
  if (f->started)
    {
      pthread_mutex_lock (&f->lock);
      f->cancelled = true;
      pthread_cond_broadcast (&f->cond);
      pthread_mutex_unlock (&f->lock);
      pthread_join (f->thread, NULL);
    }
  if (f->in)
    archive_read_free (f->in);
  hutch_gunzip_free (f->gz);
  hutch_unzstd_free (f->zst);
  for (i = 0; i < FEED_SLOTS; i++)
    free (f->slot[i]);
  free (f->error);
  hutch_sha256_free (f->hash);
  free (f->src);
  pthread_cond_destroy (&f->cond);
  pthread_mutex_destroy (&f->lock);
  free (f);
}

/* Decompress F's source with libarchive and read its one "raw" header.
   Returns 0, 1 for an empty layer, or -1 with ERR filled.  */
static int
feeder_open_archive (struct hutch_feeder *f, hutch_error_t *err)
{
  struct archive_entry *e;
  int r;

  f->in = archive_read_new ();
  if (f->in == NULL)
    return hutch_error_set (err, ENOMEM, "start libarchive");
  if (hutch_archive_filters (f->in, false, err) < 0)
    return -1;
  /* "raw" hands over the decompressed bytes as they are; "empty" takes a
     zero-length layer (or compressed nothing), which is an empty layer.  */
  archive_read_support_format_raw (f->in);
  archive_read_support_format_empty (f->in);
  r = archive_read_open (f->in, f->src, NULL, source_archive_read, NULL);
  if (r == ARCHIVE_OK)
    r = archive_read_next_header (f->in, &e);
  if (r == ARCHIVE_EOF)
    return 1;
  if (r != ARCHIVE_OK)
    {
      int errnum = archive_errno (f->in);
      return hutch_error_set (err, errnum > 0 && errnum != EILSEQ ? errnum : 0,
                              "read the layer: %s", archive_error_string (f->in));
    }
  return 0;
}

/* Give F its slots and start its reading thread.  Returns pthread_create's
   result: 0, or an errno value.  */
static int
feeder_start_thread (struct hutch_feeder *f)
{
  sigset_t all, old;
  unsigned i;
  int r;

  for (i = 0; i < FEED_SLOTS; i++)
    f->slot[i] = hutch_xmalloc0 (FEED_SLOT_SIZE);
  /* The thread starts with every signal blocked, so that signals meant for
     the process (SIGTERM to the unpacking child, say) reach the thread that
     the caller expects, not the decompressor.  */
  sigfillset (&all);
  pthread_sigmask (SIG_SETMASK, &all, &old);
  r = pthread_create (&f->thread, NULL, feeder_main, f);
  pthread_sigmask (SIG_SETMASK, &old, NULL);
  return r;
}

int
hutch_feeder_start (int fd, const struct hutch_unpack_opts *opts, struct hutch_feeder **ret,
                    hutch_error_t *err)
{
  struct hutch_feeder *f = hutch_xmalloc0 (sizeof *f);
  int r;

  pthread_mutex_init (&f->lock, NULL);
  pthread_cond_init (&f->cond, NULL);
  f->src = hutch_xmalloc0 (sizeof *f->src);
  f->src->fd = fd;
  f->src->wait_more = opts->wait_more;
  f->src->data = opts->wait_data;
  if ((opts->diff_id && hutch_sha256_new (&f->hash, err) < 0) || source_peek (f->src, err) < 0)
    goto fail;
  if (!opts->zlib && hutch_gunzip_magic (f->src->peek, f->src->npeek))
    f->gz = hutch_gunzip_new (source_read, f->src);
  else if (hutch_unzstd_magic (f->src->peek, f->src->npeek))
    f->zst = hutch_unzstd_new (source_read, f->src);
  r = f->gz || f->zst ? 0 : feeder_open_archive (f, err);
  if (r < 0)
    goto fail;
  if (r == 1)
    {
      f->done = true;
      *ret = f;
      return 0;
    }
  r = feeder_start_thread (f);
  if (r != 0)
    {
      hutch_error_set (err, r, "start the layer's reading thread");
      goto fail;
    }
  f->started = true;
  *ret = f;
  return 0;
fail:
  hutch_feeder_free (f);
  return -1;
}

bool
hutch_feeder_igzip (const struct hutch_feeder *f)
{
  return f->gz != NULL;
}

int
hutch_feeder_diff_id (struct hutch_feeder *f, char *ret, hutch_error_t *err)
{
  if (f->hash == NULL)
    return hutch_error_set (err, EINVAL, "internal error: the layer was not hashed");
  return hutch_sha256_final (f->hash, ret, err);
}
