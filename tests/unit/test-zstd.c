/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "image/unzstd.h"
#include "bytesrc.h"
#include "tap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

/* hutch_unzstd against zstd data that libzstd writes here: one frame and
   several, skippable frames, frames with and without checksum and content
   size, input and output cut at odd places, damaged and cut-short data,
   and windows at and over the limit.  */

/* Some megabytes of words with random stretches among them.  */
static void
make_data (struct buf *b, size_t len)
{
  static const char *const words[] = { "tar ", "frame ", "window ", "checksum ", "\n" };
  uint32_t x = 4321;

  while (b->len < len)
    {
      x = x * 1103515245 + 12345;
      if ((x >> 16) % 40 == 0)
        {
          unsigned char r[3000];
          size_t i;
          for (i = 0; i < sizeof r; i++)
            {
              x = x * 1103515245 + 12345;
              r[i] = (unsigned char)(x >> 24);
            }
          buf_add (b, r, sizeof r);
        }
      else
        buf_add (b, words[(x >> 16) % 5], strlen (words[(x >> 16) % 5]));
    }
  b->len = len;
}

/* One frame of DATA onto OUT, with a content checksum when CHECKSUM; with
   STREAMED, the way `zstd` writes a pipe: no content size in the header.  */
static void
zstd_frame (struct buf *out, const void *data, size_t len, bool checksum, bool streamed)
{
  ZSTD_CCtx *c = ZSTD_createCCtx ();
  ZSTD_inBuffer in = { data, len, 0 };
  unsigned char chunk[65536];
  size_t r;

  if (c == NULL || ZSTD_isError (ZSTD_CCtx_setParameter (c, ZSTD_c_compressionLevel, 3))
      || ZSTD_isError (ZSTD_CCtx_setParameter (c, ZSTD_c_checksumFlag, checksum)))
    abort ();
  if (streamed)
    do
      {
        ZSTD_outBuffer o = { chunk, sizeof chunk, 0 };
        r = ZSTD_compressStream2 (c, &o, &in, ZSTD_e_continue);
        if (ZSTD_isError (r))
          abort ();
        buf_add (out, chunk, o.pos);
      }
    while (in.pos < in.size);
  do
    {
      ZSTD_outBuffer o = { chunk, sizeof chunk, 0 };
      r = ZSTD_compressStream2 (c, &o, &in, ZSTD_e_end);
      if (ZSTD_isError (r))
        abort ();
      buf_add (out, chunk, o.pos);
    }
  while (r != 0);
  ZSTD_freeCCtx (c);
}

/* A skippable frame of LEN bytes of content (RFC 8878, 3.1.2).  */
static void
skippable_frame (struct buf *out, unsigned variant, size_t len)
{
  unsigned char h[8] = { (unsigned char)(0x50 | variant), 0x2a, 0x4d, 0x18, (unsigned char)len,
                         (unsigned char)(len >> 8),       0,    0 };
  size_t i;

  buf_add (out, h, sizeof h);
  for (i = 0; i < len; i++)
    buf_add (out, "s", 1);
}

/* A frame written by hand that declares a window of 2^WINDOW_LOG bytes
   and no content size, with LEN bytes of DATA in one raw block: what
   `zstd --long=WINDOW_LOG` of a pipe declares, without making the test
   compress that much.  */
static void
window_frame (struct buf *out, unsigned window_log, const void *data, size_t len)
{
  unsigned char h[] = { 0x28, 0xb5, 0x2f, 0xfd, 0x00, (unsigned char)((window_log - 10) << 3) };
  uint32_t block = 1 | 0 << 1 | (uint32_t)len << 3; /* last, raw, LEN bytes */
  unsigned char bh[3]
      = { (unsigned char)block, (unsigned char)(block >> 8), (unsigned char)(block >> 16) };

  buf_add (out, h, sizeof h);
  buf_add (out, bh, sizeof bh);
  buf_add (out, data, len);
}

/* Decompress IN (in STEP-byte reads, OUTSTEP-byte outputs) into OUT;
   returns 0, or -1 with ERR.  */
static int
run (const struct buf *in, size_t step, size_t outstep, struct buf *out, unsigned long *frames,
     hutch_error_t *err)
{
  struct src s = { .b = in, .step = step };
  struct hutch_unzstd *z = hutch_unzstd_new (src_read, &s);
  unsigned char *chunk = malloc (outstep);
  ssize_t n;

  if (chunk == NULL)
    abort ();
  out->len = 0;
  while ((n = hutch_unzstd_read (z, chunk, outstep, err)) > 0)
    {
      buf_add (out, chunk, (size_t)n);
      if ((size_t)n < outstep && hutch_unzstd_read (z, chunk, outstep, err) != 0)
        {
          n = -2; /* a short read must be the last */
          break;
        }
    }
  if (frames)
    *frames = hutch_unzstd_frames (z);
  hutch_unzstd_free (z);
  free (chunk);
  return n < 0 ? -1 : 0;
}

static bool
same (const struct buf *a, const struct buf *b)
{
  return a->len == b->len && (a->len == 0 || memcmp (a->p, b->p, a->len) == 0);
}

static const char *
msg (const hutch_error_t *err)
{
  return err->msg ? err->msg : "no error";
}

static void
test_magic (void)
{
  static const unsigned char zst[] = { 0x28, 0xb5, 0x2f, 0xfd },
                             skip0[] = { 0x50, 0x2a, 0x4d, 0x18 },
                             skipf[] = { 0x5f, 0x2a, 0x4d, 0x18 },
                             not_skip[] = { 0x60, 0x2a, 0x4d, 0x18 }, gz[] = { 0x1f, 0x8b, 8, 0 };

  ok (hutch_unzstd_magic (zst, 4), "magic: a zstd frame");
  ok (!hutch_unzstd_magic (zst, 3), "magic: three bytes are not enough");
  ok (hutch_unzstd_magic (skip0, 4) && hutch_unzstd_magic (skipf, 4),
      "magic: skippable frames, first and last variant");
  ok (!hutch_unzstd_magic (not_skip, 4), "magic: 0x184D2A60 is no skippable frame");
  ok (!hutch_unzstd_magic (gz, 4), "magic: gzip");
}

static void
test_one (const struct buf *data)
{
  static const size_t steps[][2] = { { 1 << 20, 1 << 20 }, { 65536, 333 }, { 4093, 1 << 20 } };
  struct buf zs = { 0 }, small = { 0 }, out = { 0 }, want = *data;
  hutch_error_t err = HUTCH_ERROR_INIT;
  unsigned long frames = 0;
  size_t i;

  zstd_frame (&zs, data->p, data->len, true, false);
  for (i = 0; i < sizeof steps / sizeof steps[0]; i++)
    {
      ok (run (&zs, steps[i][0], steps[i][1], &out, &frames, &err) == 0 && same (&out, data)
              && frames == 1,
          "one frame, %zu-byte reads, %zu-byte output (%s)", steps[i][0], steps[i][1], msg (&err));
      hutch_error_clear (&err);
    }
  /* a byte at a time, in and out, on a smaller frame */
  want.len = 200000;
  zstd_frame (&small, data->p, want.len, true, false);
  ok (run (&small, 1, 4096, &out, &frames, &err) == 0 && same (&out, &want) && frames == 1,
      "one frame, 1-byte reads (%s)", msg (&err));
  hutch_error_clear (&err);
  ok (run (&small, 7, 1, &out, &frames, &err) == 0 && same (&out, &want) && frames == 1,
      "one frame, 7-byte reads, 1-byte output (%s)", msg (&err));
  hutch_error_clear (&err);
  small.len = 0;
  zstd_frame (&small, data->p, want.len, false, true);
  ok (run (&small, 1, 1, &out, &frames, &err) == 0 && same (&out, &want) && frames == 1,
      "one streamed frame without checksum or size, a byte at a time (%s)", msg (&err));
  hutch_error_clear (&err);
  free (zs.p);
  free (small.p);
  free (out.p);
}

static void
test_frames (const struct buf *data)
{
  struct buf zs = { 0 }, out = { 0 };
  hutch_error_t err = HUTCH_ERROR_INIT;
  unsigned long frames = 0;
  size_t third = data->len / 3;

  /* `zstd -T0` and `cat a.zst b.zst` make such streams; an empty frame,
     skippable frames (seekable zstd's index, say) at the start and between
     them */
  skippable_frame (&zs, 0, 10);
  zstd_frame (&zs, data->p, third, true, false);
  zstd_frame (&zs, "", 0, true, false);
  skippable_frame (&zs, 0xe, 300);
  zstd_frame (&zs, data->p + third, third, false, true);
  zstd_frame (&zs, data->p + 2 * third, data->len - 2 * third, true, true);
  ok (run (&zs, 1 << 20, 1 << 20, &out, &frames, &err) == 0 && same (&out, data) && frames == 6,
      "four frames (one empty) and two skippable ones: their data in a row (%s, %lu frames)",
      msg (&err), frames);
  hutch_error_clear (&err);
  ok (run (&zs, 3, 1000, &out, &frames, &err) == 0 && same (&out, data) && frames == 6,
      "the same in 3-byte reads: frames start across reads (%s)", msg (&err));
  hutch_error_clear (&err);
  ok (run (&zs, 1 << 20, 1, &out, NULL, &err) == 0 && same (&out, data),
      "the same a byte of output at a time (%s)", msg (&err));
  hutch_error_clear (&err);

  /* unlike gzip's, what follows the last frame must be a frame */
  buf_add (&zs, "\0\0\0\0\0\0\0\0", 8);
  ok (run (&zs, 1 << 20, 1 << 20, &out, NULL, &err) < 0 && err.msg
          && strstr (err.msg, "after frame 6") && strstr (err.msg, "not a zstd frame"),
      "zero padding after the frames fails (%s)", msg (&err));
  hutch_error_clear (&err);
  free (zs.p);

  /* only skippable frames: no data, no error */
  zs = (struct buf){ 0 };
  skippable_frame (&zs, 3, 5);
  ok (run (&zs, 1 << 20, 1 << 20, &out, &frames, &err) == 0 && out.len == 0 && frames == 1,
      "a skippable frame alone is no data (%s)", msg (&err));
  hutch_error_clear (&err);
  zs.len = 0;
  ok (run (&zs, 1 << 20, 1 << 20, &out, NULL, &err) < 0 && err.msg
          && strstr (err.msg, "does not start with a zstd frame"),
      "no data at all fails (%s)", msg (&err));
  hutch_error_clear (&err);
  free (zs.p);
  free (out.p);
}

static void
test_damaged (const struct buf *data)
{
  struct buf zs = { 0 }, bad = { 0 }, out = { 0 };
  hutch_error_t err = HUTCH_ERROR_INIT;
  size_t half = data->len / 2, first;
  char want[64];

  zstd_frame (&zs, data->p, half, true, false);
  first = zs.len;
  zstd_frame (&zs, data->p + half, data->len - half, true, false);
  buf_add (&bad, zs.p, zs.len);

  /* the second frame's checksum (its last 4 bytes) */
  bad.p[bad.len - 2] ^= 0x55;
  snprintf (want, sizeof want, "frame 2 (from byte %zu)", first);
  ok (run (&bad, 1 << 20, 1 << 20, &out, NULL, &err) < 0 && err.msg && strstr (err.msg, want)
          && strstr (err.msg, "checksum") && err.errnum == 0,
      "a wrong checksum fails, naming the frame (%s)", msg (&err));
  hutch_error_clear (&err);
  /* flipped bits inside the first frame's blocks: the block or the checksum says so */
  memcpy (bad.p, zs.p, zs.len);
  bad.p[first / 2] ^= 0x10;
  ok (run (&bad, 1 << 20, 1 << 20, &out, NULL, &err) < 0 && err.msg
          && strstr (err.msg, "damaged zstd data in frame 1 (from byte 0)"),
      "a flipped bit inside a frame fails (%s)", msg (&err));
  hutch_error_clear (&err);
  /* a reserved bit of the second frame's header */
  memcpy (bad.p, zs.p, zs.len);
  bad.p[first + 4] |= 0x08;
  ok (run (&bad, 1 << 20, 1 << 20, &out, NULL, &err) < 0 && err.msg
          && strstr (err.msg, "damaged zstd data in frame 2"),
      "a reserved header bit fails (%s)", msg (&err));
  hutch_error_clear (&err);

  /* cut short: inside the blocks, inside the checksum, inside the second header */
  memcpy (bad.p, zs.p, zs.len);
  bad.len = zs.len - 1000;
  ok (run (&bad, 1 << 20, 1 << 20, &out, NULL, &err) < 0 && err.msg
          && strstr (err.msg, "ends inside frame 2") && strstr (err.msg, "incomplete"),
      "data cut short fails (%s)", msg (&err));
  hutch_error_clear (&err);
  bad.len = zs.len - 2;
  ok (run (&bad, 1 << 20, 1 << 20, &out, NULL, &err) < 0 && err.msg
          && strstr (err.msg, "ends inside frame 2"),
      "a checksum cut short fails (%s)", msg (&err));
  hutch_error_clear (&err);
  bad.len = first + 3;
  ok (run (&bad, 1 << 20, 1 << 20, &out, NULL, &err) < 0 && err.msg
          && strstr (err.msg, "ends inside frame 2"),
      "a second header cut short fails (%s)", msg (&err));
  hutch_error_clear (&err);
  bad.len = first + 3;
  ok (run (&bad, 1, 1, &out, NULL, &err) < 0 && err.msg && strstr (err.msg, "ends inside frame 2"),
      "the same a byte at a time (%s)", msg (&err));
  hutch_error_clear (&err);

  /* an error of the source comes through as it is */
  {
    struct src s = { .b = &zs, .step = 4096, .fail_at = 3 };
    struct hutch_unzstd *z = hutch_unzstd_new (src_read, &s);
    unsigned char chunk[65536];
    ssize_t n;

    while ((n = hutch_unzstd_read (z, chunk, sizeof chunk, &err)) > 0)
      ;
    ok (n < 0 && err.errnum == EIO && err.msg && strstr (err.msg, "the source failed"),
        "an error of the source is returned (%s)", msg (&err));
    hutch_error_clear (&err);
    hutch_unzstd_free (z);
  }
  free (zs.p);
  free (bad.p);
  free (out.p);
}

static void
test_window (void)
{
  struct buf zs = { 0 }, out = { 0 };
  hutch_error_t err = HUTCH_ERROR_INIT;
  char want[64];

  /* `zstd --long=29` of a pipe: taken (the window is allocated, not
     touched) */
  window_frame (&zs, HUTCH_UNZSTD_WINDOW_LOG_MAX, "layer", 5);
  ok (run (&zs, 1 << 20, 1 << 20, &out, NULL, &err) == 0 && out.len == 5
          && memcmp (out.p, "layer", 5) == 0,
      "a frame with a window of 2^%d bytes is read (%s)", HUTCH_UNZSTD_WINDOW_LOG_MAX, msg (&err));
  hutch_error_clear (&err);
  /* one more is refused, after a good frame, saying what to do */
  zs.len = 0;
  zstd_frame (&zs, "first", 5, true, false);
  window_frame (&zs, HUTCH_UNZSTD_WINDOW_LOG_MAX + 1, "layer", 5);
  snprintf (want, sizeof want, "`zstd --long=%d` or less", HUTCH_UNZSTD_WINDOW_LOG_MAX);
  ok (run (&zs, 1 << 20, 1 << 20, &out, NULL, &err) < 0 && err.msg
          && strstr (err.msg, "zstd frame 2") && strstr (err.msg, "512 MiB")
          && strstr (err.msg, want),
      "a frame with a window of 2^%d bytes is refused (%s)", HUTCH_UNZSTD_WINDOW_LOG_MAX + 1,
      msg (&err));
  hutch_error_clear (&err);
  free (zs.p);
  free (out.p);
}

int
main (void)
{
  struct buf data = { 0 };

  test_magic ();
  make_data (&data, 3 << 20);
  test_one (&data);
  test_frames (&data);
  test_damaged (&data);
  test_window ();
  free (data.p);
  return tap_done ();
}
