/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "image/unzstd.h"

#include "base/util.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <zstd.h>
#include <zstd_errors.h>

/* Compressed bytes are read this many at a time: a few of libzstd's blocks
   (ZSTD_DStreamInSize), fewer reads of a growing download.  */
#define UNZSTD_IN_SIZE (512 * 1024)

struct hutch_unzstd
{
  ZSTD_DCtx *dctx;
  hutch_unzstd_read_fn read;
  void *data;
  uint8_t *in;
  size_t pos, len;      /* unread input: in[pos .. len) */
  uint64_t base;        /* offset of in[0] in the compressed stream */
  uint64_t start;       /* offset of the current frame */
  unsigned long frames; /* frames read to their end */
  bool eof;             /* READ said the input ended */
  bool between;         /* no byte of a frame is pending: at the start or after a frame */
  bool full;            /* the last call filled the output: libzstd may hold more */
  bool done;
};

bool
hutch_unzstd_magic (const void *buf, size_t len)
{
  const uint8_t *b = buf;

  if (len < 4)
    return false;
  /* 0xFD2FB528, or 0x184D2A50 to 0x184D2A5F for a skippable frame, little
     endian.  */
  return (b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
         || ((b[0] & 0xf0) == 0x50 && b[1] == 0x2a && b[2] == 0x4d && b[3] == 0x18);
}

struct hutch_unzstd *
hutch_unzstd_new (hutch_unzstd_read_fn read, void *data)
{
  struct hutch_unzstd *z = hutch_xmalloc0 (sizeof *z);

  z->dctx = ZSTD_createDCtx ();
  if (z->dctx == NULL)
    abort (); /* out of memory, as hutch_xmalloc0 would */
  /* Content checksums are checked by default (ZSTD_d_forceIgnoreChecksum
     is off); the window is bounded here.  Concatenated frames are read in
     turn by ZSTD_decompressStream, which skips skippable ones.  */
  if (ZSTD_isError (
          ZSTD_DCtx_setParameter (z->dctx, ZSTD_d_windowLogMax, HUTCH_UNZSTD_WINDOW_LOG_MAX)))
    abort (); /* in ZSTD_d_windowLogMax's bounds on every platform */
  z->read = read;
  z->data = data;
  z->in = hutch_xmalloc0 (UNZSTD_IN_SIZE);
  z->between = true;
  return z;
}

void
hutch_unzstd_free (struct hutch_unzstd *z)
{
  if (z == NULL)
    return;
  ZSTD_freeDCtx (z->dctx);
  free (z->in);
  free (z);
}

unsigned long
hutch_unzstd_frames (const struct hutch_unzstd *z)
{
  return z->frames;
}

/* The input is used up (libzstd keeps what it needs of a partial block):
   read the next bytes.  */
static int
refill (struct hutch_unzstd *z, hutch_error_t *err)
{
  ssize_t n;

  z->base += z->len;
  z->pos = z->len = 0;
  n = z->read (z->data, z->in, UNZSTD_IN_SIZE, err);
  if (n < 0)
    return -1;
  if (n == 0)
    z->eof = true;
  z->len = (size_t)n;
  return 0;
}

static int
truncated (const struct hutch_unzstd *z, hutch_error_t *err)
{
  return hutch_error_set (err, 0,
                          "the zstd data ends inside frame %lu (from byte %llu): it is incomplete",
                          z->frames + 1, (unsigned long long)z->start);
}

static int
zstd_error (const struct hutch_unzstd *z, size_t r, hutch_error_t *err)
{
  unsigned long frame = z->frames + 1;
  unsigned long long from = z->start;
  const char *why;

  switch (ZSTD_getErrorCode (r))
    {
    case ZSTD_error_prefix_unknown:
      if (z->frames > 0)
        return hutch_error_set (err, 0,
                                "damaged zstd data after frame %lu (at byte %llu): what follows "
                                "is not a zstd frame",
                                z->frames, from);
      return hutch_error_set (err, 0, "the data does not start with a zstd frame");
    case ZSTD_error_frameParameter_windowTooLarge:
      return hutch_error_set (err, 0,
                              "zstd frame %lu (from byte %llu) needs a window larger than %d MiB, "
                              "the largest hutch accepts (as containerd and podman do); "
                              "recompress the layer with `zstd --long=%d` or less",
                              frame, from, 1 << (HUTCH_UNZSTD_WINDOW_LOG_MAX - 20),
                              HUTCH_UNZSTD_WINDOW_LOG_MAX);
    case ZSTD_error_memory_allocation:
      return hutch_error_set (err, ENOMEM, "decompress zstd frame %lu (from byte %llu)", frame,
                              from);
    case ZSTD_error_checksum_wrong:
      why = "the checksum in its trailer does not match its content";
      break;
    case ZSTD_error_frameParameter_unsupported:
      why = "its header sets a reserved bit, or asks for what this libzstd lacks";
      break;
    case ZSTD_error_dictionary_wrong:
      why = "it needs a dictionary, which a layer cannot name";
      break;
    default:
      why = ZSTD_getErrorName (r);
      break;
    }
  return hutch_error_set (err, 0, "damaged zstd data in frame %lu (from byte %llu): %s", frame,
                          from, why);
}

/* One call of ZSTD_decompressStream on the unread input into OUT, which
   has room.  Returns 1 when it moved on, 0 when it needs more input, or -1
   with ERR set.  */
static int
step (struct hutch_unzstd *z, ZSTD_outBuffer *out, hutch_error_t *err)
{
  ZSTD_inBuffer in = { z->in, z->len, z->pos };
  size_t out_before = out->pos, r;
  bool moved;

  r = ZSTD_decompressStream (z->dctx, out, &in);
  if (ZSTD_isError (r))
    return zstd_error (z, r, err);
  moved = in.pos > z->pos || out->pos > out_before;
  if (in.pos > z->pos)
    z->between = false;
  z->pos = in.pos;
  z->full = out->pos == out->size;
  if (r == 0)
    {
      /* A frame ended, and all of it was given out.  */
      z->frames++;
      z->between = true;
      z->start = z->base + z->pos;
      z->full = false;
      return 1;
    }
  /* libzstd takes input whenever it has room for output: stuck with both
     is a bug, not a state to wait in.  */
  if (!moved && z->pos < z->len)
    return hutch_error_set (err, 0, "damaged zstd data in frame %lu (from byte %llu)",
                            z->frames + 1, (unsigned long long)z->start);
  return moved;
}

ssize_t
hutch_unzstd_read (struct hutch_unzstd *z, void *buf, size_t len, hutch_error_t *err)
{
  ZSTD_outBuffer out = { buf, len, 0 };

  while (out.pos < out.size && !z->done)
    {
      /* Read on only when libzstd has given out all it could.  */
      if (z->pos == z->len && !z->full)
        {
          if (!z->eof && refill (z, err) < 0)
            return -1;
          if (z->pos == z->len)
            {
              if (!z->between)
                return truncated (z, err);
              if (z->frames == 0)
                return hutch_error_set (err, 0, "the data does not start with a zstd frame");
              z->done = true;
              break;
            }
        }
      if (step (z, &out, err) < 0)
        return -1;
    }
  return (ssize_t)out.pos;
}
