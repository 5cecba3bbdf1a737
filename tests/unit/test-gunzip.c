/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "image/gunzip.h"
#include "bytesrc.h"
#include "tap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* igzip against gzip data that zlib writes: one member and several, every
   optional header field, input and output cut at awkward places, and damaged
   or cut-short data, which must fail with a message that says so.  */

/* Some megabytes that compress somewhat, with incompressible stretches (so
   that deflate makes stored blocks as well as coded ones).  */
static void
make_data (struct buf *b, size_t len)
{
  uint32_t x = 12345;
  static const char *const words[] = { "layer ", "blob ", "digest ", "manifest ", "\n" };

  while (b->len < len)
    {
      x = x * 1103515245 + 12345;
      if ((x >> 16) % 50 == 0)
        {
          unsigned char r[4096];
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

/* One gzip member of DATA onto OUT; with HDR, its optional fields.  */
static void
gzip_member (struct buf *out, const void *data, size_t len, gz_header *hdr)
{
  z_stream z = { 0 };
  unsigned char chunk[65536];
  int r;

  if (deflateInit2 (&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    abort ();
  if (hdr && deflateSetHeader (&z, hdr) != Z_OK)
    abort ();
  z.next_in = (unsigned char *)data;
  z.avail_in = (uInt)len;
  do
    {
      z.next_out = chunk;
      z.avail_out = sizeof chunk;
      r = deflate (&z, Z_FINISH);
      buf_add (out, chunk, sizeof chunk - z.avail_out);
    }
  while (r == Z_OK);
  if (r != Z_STREAM_END)
    abort ();
  deflateEnd (&z);
}

/* Decompress IN (in STEP-byte reads, OUTSTEP-byte outputs) into OUT;
   returns 0, or -1 with ERR.  */
static int
run (const struct buf *in, size_t step, size_t outstep, struct buf *out, unsigned long *members,
     hutch_error_t *err)
{
  struct src s = { .b = in, .step = step };
  struct hutch_gunzip *z = hutch_gunzip_new (src_read, &s);
  unsigned char *chunk = malloc (outstep);
  ssize_t n;

  if (z == NULL || chunk == NULL)
    abort ();
  while ((n = hutch_gunzip_read (z, chunk, outstep, err)) > 0)
    buf_add (out, chunk, (size_t)n);
  if (members)
    *members = hutch_gunzip_members (z);
  hutch_gunzip_free (z);
  free (chunk);
  return n < 0 ? -1 : 0;
}

static bool
same (const struct buf *a, const struct buf *b)
{
  return a->len == b->len && (a->len == 0 || memcmp (a->p, b->p, a->len) == 0);
}

static void
test_magic (void)
{
  static const unsigned char gz[] = { 0x1f, 0x8b, 8, 0 }, bad_cm[] = { 0x1f, 0x8b, 7, 0 },
                             bad_flg[] = { 0x1f, 0x8b, 8, 0x20 },
                             zstd[] = { 0x28, 0xb5, 0x2f, 0xfd };

  ok (hutch_gunzip_magic (gz, 4), "magic: gzip");
  ok (!hutch_gunzip_magic (gz, 3), "magic: three bytes are not enough");
  ok (!hutch_gunzip_magic (bad_cm, 4), "magic: another method than deflate");
  ok (!hutch_gunzip_magic (bad_flg, 4), "magic: reserved flag bits");
  ok (!hutch_gunzip_magic (zstd, 4), "magic: zstd");
}

static void
test_one (const struct buf *data)
{
  struct buf gz = { 0 }, out = { 0 };
  hutch_error_t err = HUTCH_ERROR_INIT;
  static const size_t steps[][2] = { { 1 << 20, 1 << 20 }, { 1, 4096 }, { 7, 1 }, { 65536, 333 } };
  unsigned long members = 0;
  size_t i;

  gzip_member (&gz, data->p, data->len, NULL);
  for (i = 0; i < sizeof steps / sizeof steps[0]; i++)
    {
      /* byte by byte through all of it would take long: 1-byte output on a
         prefix only */
      struct buf in = gz, want = *data;
      out.len = 0;
      if (steps[i][1] == 1)
        {
          struct buf small = { 0 };
          gzip_member (&small, data->p, 100000, NULL);
          in = small;
          want.len = 100000;
          ok (run (&in, steps[i][0], steps[i][1], &out, &members, &err) == 0 && same (&out, &want),
              "one member, %zu-byte reads, %zu-byte output (%s)", steps[i][0], steps[i][1],
              err.msg ? err.msg : "same data");
          free (small.p);
          continue;
        }
      ok (run (&in, steps[i][0], steps[i][1], &out, &members, &err) == 0 && same (&out, &want)
              && members == 1,
          "one member, %zu-byte reads, %zu-byte output (%s)", steps[i][0], steps[i][1],
          err.msg ? err.msg : "same data");
      hutch_error_clear (&err);
    }
  free (gz.p);
  free (out.p);
}

static void
test_members (const struct buf *data)
{
  struct buf gz = { 0 }, out = { 0 }, want = { 0 };
  hutch_error_t err = HUTCH_ERROR_INIT;
  unsigned long members = 0;
  size_t half = data->len / 2;

  /* pigz and `cat a.gz b.gz` make such streams; an empty member too */
  gzip_member (&gz, data->p, half, NULL);
  gzip_member (&gz, "", 0, NULL);
  gzip_member (&gz, data->p + half, data->len - half, NULL);
  ok (run (&gz, 1 << 20, 1 << 20, &out, &members, &err) == 0 && same (&out, data) && members == 3,
      "three members, one empty: their data in a row (%s, %lu members)",
      err.msg ? err.msg : "same data", members);
  hutch_error_clear (&err);
  out.len = 0;
  ok (run (&gz, 3, 1000, &out, &members, &err) == 0 && same (&out, data) && members == 3,
      "three members, 3-byte reads: a member starts across reads (%s)",
      err.msg ? err.msg : "same data");
  hutch_error_clear (&err);

  /* what follows the last member and starts no other one is ignored */
  buf_add (&gz, "\0\0\0\0\0\0\0\0", 8);
  out.len = 0;
  ok (run (&gz, 1 << 20, 1 << 20, &out, &members, &err) == 0 && same (&out, data) && members == 3,
      "zero padding after the members is ignored (%s)", err.msg ? err.msg : "same data");
  hutch_error_clear (&err);
  buf_add (&gz, "garbage", 7);
  out.len = 0;
  ok (run (&gz, 1 << 20, 1 << 20, &out, &members, &err) == 0 && same (&out, data),
      "bytes that are no gzip header after the members are ignored (%s)",
      err.msg ? err.msg : "same data");
  hutch_error_clear (&err);
  free (gz.p);
  free (out.p);
  free (want.p);
}

static void
test_header_fields (const struct buf *data)
{
  struct buf gz = { 0 }, out = { 0 };
  hutch_error_t err = HUTCH_ERROR_INIT;
  char name[] = "layer.tar", comment[] = "made by test-gunzip";
  unsigned char extra[300];
  gz_header h = { 0 };

  memset (extra, 'x', sizeof extra);
  h.text = 1;
  h.time = 1700000000;
  h.os = 3;
  h.extra = extra;
  h.extra_len = sizeof extra;
  h.name = (Bytef *)name;
  h.comment = (Bytef *)comment;
  h.hcrc = 1;
  gzip_member (&gz, data->p, data->len, &h);
  ok (gz.p[3] == (1 | 2 | 4 | 8 | 16), "header: FTEXT, FHCRC, FEXTRA, FNAME and FCOMMENT are set");
  ok (run (&gz, 5, 65536, &out, NULL, &err) == 0 && same (&out, data),
      "header: every optional field, read 5 bytes at a time (%s)", err.msg ? err.msg : "same data");
  hutch_error_clear (&err);
  /* the header's CRC-16 is checked */
  gz.p[10 + 2 + sizeof extra + sizeof name + sizeof comment] ^= 1;
  out.len = 0;
  ok (run (&gz, 1 << 20, 1 << 20, &out, NULL, &err) < 0 && err.msg
          && strstr (err.msg, "damaged gzip data in member 1") && strstr (err.msg, "header's CRC"),
      "header: a wrong header CRC fails (%s)", err.msg ? err.msg : "no error");
  hutch_error_clear (&err);
  free (gz.p);
  free (out.p);
}

static void
test_damaged (const struct buf *data)
{
  struct buf gz = { 0 }, bad = { 0 }, out = { 0 };
  hutch_error_t err = HUTCH_ERROR_INIT;
  size_t half = data->len / 2, first;

  gzip_member (&gz, data->p, half, NULL);
  first = gz.len;
  gzip_member (&gz, data->p + half, data->len - half, NULL);

  /* the second member's CRC-32, then its ISIZE */
  buf_add (&bad, gz.p, gz.len);
  bad.p[bad.len - 8] ^= 0x55;
  ok (run (&bad, 1 << 20, 1 << 20, &out, NULL, &err) < 0 && err.msg && strstr (err.msg, "member 2")
          && strstr (err.msg, "CRC-32") && strstr (err.msg, "trailer") && err.errnum == 0,
      "a wrong CRC-32 fails, naming the member (%s)", err.msg ? err.msg : "no error");
  hutch_error_clear (&err);
  memcpy (bad.p, gz.p, gz.len);
  bad.p[bad.len - 1] ^= 0x01;
  out.len = 0;
  ok (run (&bad, 1 << 20, 1 << 20, &out, NULL, &err) < 0 && err.msg && strstr (err.msg, "trailer"),
      "a wrong length (ISIZE) fails (%s)", err.msg ? err.msg : "no error");
  hutch_error_clear (&err);

  /* deflate data that makes no sense: a reserved block type (11) */
  memcpy (bad.p, gz.p, gz.len);
  bad.p[10] = 0x07;
  out.len = 0;
  ok (run (&bad, 1 << 20, 1 << 20, &out, NULL, &err) < 0 && err.msg
          && strstr (err.msg, "damaged gzip data in member 1 (from byte 0)"),
      "an invalid deflate block fails (%s)", err.msg ? err.msg : "no error");
  hutch_error_clear (&err);
  /* flipped bits in the middle: either the deflate data or the CRC-32 says so */
  memcpy (bad.p, gz.p, gz.len);
  bad.p[first / 2] ^= 0x10;
  out.len = 0;
  ok (run (&bad, 1 << 20, 1 << 20, &out, NULL, &err) < 0 && err.msg
          && strstr (err.msg, "damaged gzip data in member 1"),
      "a flipped bit inside a member fails (%s)", err.msg ? err.msg : "no error");
  hutch_error_clear (&err);

  /* cut short: inside the data, inside the trailer, inside the second header */
  bad.len = gz.len - 1000;
  memcpy (bad.p, gz.p, gz.len);
  out.len = 0;
  ok (run (&bad, 1 << 20, 1 << 20, &out, NULL, &err) < 0 && err.msg
          && strstr (err.msg, "ends inside member 2") && strstr (err.msg, "incomplete"),
      "data cut short fails (%s)", err.msg ? err.msg : "no error");
  hutch_error_clear (&err);
  bad.len = gz.len - 3;
  out.len = 0;
  ok (run (&bad, 1 << 20, 1 << 20, &out, NULL, &err) < 0 && err.msg
          && strstr (err.msg, "ends inside member 2"),
      "a trailer cut short fails (%s)", err.msg ? err.msg : "no error");
  hutch_error_clear (&err);
  bad.len = first + 6;
  out.len = 0;
  ok (run (&bad, 1 << 20, 1 << 20, &out, NULL, &err) < 0 && err.msg
          && strstr (err.msg, "ends inside member 2"),
      "a second header cut short fails (%s)", err.msg ? err.msg : "no error");
  hutch_error_clear (&err);

  /* an error of the source comes through as it is */
  {
    struct src s = { .b = &gz, .step = 4096, .fail_at = 3 };
    struct hutch_gunzip *z = hutch_gunzip_new (src_read, &s);
    unsigned char chunk[65536];
    ssize_t n;

    while ((n = hutch_gunzip_read (z, chunk, sizeof chunk, &err)) > 0)
      ;
    ok (n < 0 && err.errnum == EIO && err.msg && strstr (err.msg, "the source failed"),
        "an error of the source is returned (%s)", err.msg ? err.msg : "no error");
    hutch_error_clear (&err);
    hutch_gunzip_free (z);
  }
  free (gz.p);
  free (bad.p);
  free (out.p);
}

int
main (void)
{
  struct buf data = { 0 };

  test_magic ();
  if (!hutch_gunzip_available ())
    {
      skip ("igzip: hutch was built without ISA-L, or libisal.so.2 is not installed");
      return tap_done ();
    }
  make_data (&data, 3 << 20);
  test_one (&data);
  test_members (&data);
  test_header_fields (&data);
  test_damaged (&data);
  free (data.p);
  return tap_done ();
}
