/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "image/gunzip.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#ifdef HAVE_ISAL
#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#include "base/lazylib.h"
#include "base/util.h"

#include <stdlib.h>

/* Compressed bytes are read this many at a time; a member's header must
   fit (its optional fields are a name, a comment and up to 64 KiB of
   extra data).  */
#define GUNZIP_IN_SIZE (512 * 1024)

/* The header's flags (RFC 1952, 2.3.1).  */
#define FHCRC 0x02
#define FEXTRA 0x04
#define FNAME 0x08
#define FCOMMENT 0x10

struct hutch_gunzip
{
  struct inflate_state st;
  hutch_gunzip_read_fn read;
  void *data;
  uint8_t *in;
  size_t pos, len; /* unread input: in[pos .. len) */
  uint64_t base;   /* offset of in[0] in the compressed stream */
  uint64_t start;  /* offset of the current member */
  unsigned long members;
  bool eof;    /* READ said the input ended */
  bool member; /* inside a member: its header was started */
  bool done;
};

bool
hutch_gunzip_available (void)
{
  return hutch_libisal_load () == 0;
}

struct hutch_gunzip *
hutch_gunzip_new (hutch_gunzip_read_fn read, void *data)
{
  struct hutch_gunzip *z;

  if (!hutch_gunzip_available ())
    return NULL;
  z = hutch_xmalloc0 (sizeof *z);
  z->read = read;
  z->data = data;
  z->in = hutch_xmalloc0 (GUNZIP_IN_SIZE);
  isal_inflate_init (&z->st);
  /* Headers are read here (read_header); isal_inflate inflates what
     follows and checks it against the CRC-32 and ISIZE of the trailer.
     isal_inflate_reset keeps this for the next member.  */
  z->st.crc_flag = ISAL_GZIP_NO_HDR_VER;
  return z;
}

void
hutch_gunzip_free (struct hutch_gunzip *z)
{
  if (z == NULL)
    return;
  free (z->in);
  free (z);
}

unsigned long
hutch_gunzip_members (const struct hutch_gunzip *z)
{
  return z->members;
}

/* Have at least WANT unread bytes, unless the input ends first.  */
static int
fill (struct hutch_gunzip *z, size_t want, hutch_error_t *err)
{
  while (z->len - z->pos < want && !z->eof)
    {
      ssize_t n;

      if (z->pos > 0)
        {
          memmove (z->in, z->in + z->pos, z->len - z->pos);
          z->base += z->pos;
          z->len -= z->pos;
          z->pos = 0;
        }
      n = z->read (z->data, z->in + z->len, GUNZIP_IN_SIZE - z->len, err);
      if (n < 0)
        return -1;
      if (n == 0)
        z->eof = true;
      z->len += (size_t)n;
    }
  return 0;
}

static int
truncated (const struct hutch_gunzip *z, hutch_error_t *err)
{
  return hutch_error_set (err, 0,
                          "the gzip data ends inside member %lu (from byte %llu): it is incomplete",
                          z->members + 1, (unsigned long long)z->start);
}

/* Have the first NEED bytes of the member's header.  */
static int
header_fill (struct hutch_gunzip *z, size_t need, hutch_error_t *err)
{
  if (need > GUNZIP_IN_SIZE)
    return hutch_error_set (err, 0,
                            "the header of gzip member %lu (from byte %llu) is longer than %d "
                            "bytes; no gzip writer makes such headers",
                            z->members + 1, (unsigned long long)z->start, GUNZIP_IN_SIZE);
  if (fill (z, need, err) < 0)
    return -1;
  return z->len - z->pos < need ? truncated (z, err) : 0;
}

/* The end of the NUL-terminated field at OFF of the header: its length
   with the NUL.  */
static int
header_string (struct hutch_gunzip *z, size_t off, size_t *ret_len, hutch_error_t *err)
{
  size_t have = off;

  for (;;)
    {
      const uint8_t *nul;

      if (header_fill (z, have + 1, err) < 0)
        return -1;
      have = z->len - z->pos;
      nul = memchr (z->in + z->pos + off, 0, have - off);
      if (nul)
        {
          *ret_len = (size_t)(nul - (z->in + z->pos + off)) + 1;
          return 0;
        }
    }
}

/* Read the header of the member at in[pos] (hutch_gunzip_magic said it is
   one) and step over it.  isal_inflate could read headers too, but ISA-L
   2.30 rejects a good FHCRC when the header arrives in more than one
   piece, as it does from a download.  */
static int
read_header (struct hutch_gunzip *z, hutch_error_t *err)
{
  size_t len = 10, n;
  uint8_t flg;

  if (header_fill (z, len, err) < 0)
    return -1;
  flg = z->in[z->pos + 3];
  if (flg & FEXTRA)
    {
      if (header_fill (z, len + 2, err) < 0)
        return -1;
      len += 2 + (size_t)(z->in[z->pos + len] | z->in[z->pos + len + 1] << 8);
    }
  if ((flg & FNAME) && header_string (z, len, &n, err) == 0)
    len += n;
  else if (flg & FNAME)
    return -1;
  if ((flg & FCOMMENT) && header_string (z, len, &n, err) == 0)
    len += n;
  else if (flg & FCOMMENT)
    return -1;
  if (flg & FHCRC)
    {
      const uint8_t *h;

      if (header_fill (z, len + 2, err) < 0)
        return -1;
      h = z->in + z->pos;
      if ((crc32_gzip_refl (0, h, len) & 0xffff) != (uint32_t)(h[len] | h[len + 1] << 8))
        return hutch_error_set (err, 0,
                                "damaged gzip data in member %lu (from byte %llu): its header's "
                                "CRC does not match",
                                z->members + 1, (unsigned long long)z->start);
      len += 2;
    }
  if (header_fill (z, len, err) < 0)
    return -1;
  z->pos += len;
  return 0;
}

/* At a member's start, or where the last one ended: another member, or the
   end of the stream.  */
static int
start_member (struct hutch_gunzip *z, hutch_error_t *err)
{
  if (fill (z, 4, err) < 0)
    return -1;
  if (!hutch_gunzip_magic (z->in + z->pos, z->len - z->pos))
    {
      if (z->members == 0)
        return hutch_error_set (err, 0, "the data does not start with a gzip header");
      z->done = true;
      return 0;
    }
  z->start = z->base + z->pos;
  if (read_header (z, err) < 0)
    return -1;
  if (z->members > 0)
    isal_inflate_reset (&z->st);
  z->member = true;
  return 0;
}

static int
inflate_error (const struct hutch_gunzip *z, int r, hutch_error_t *err)
{
  const char *why;

  switch (r)
    {
    case ISAL_INVALID_WRAPPER:
      why = "its header is not a valid gzip header";
      break;
    case ISAL_UNSUPPORTED_METHOD:
      why = "its header names a compression method other than deflate";
      break;
    case ISAL_INCORRECT_CHECKSUM:
      why = "the CRC-32 or the length in its trailer does not match its data";
      break;
    case ISAL_INVALID_BLOCK:
      why = "it has an invalid deflate block";
      break;
    case ISAL_INVALID_SYMBOL:
      why = "it has an invalid deflate code";
      break;
    case ISAL_INVALID_LOOKBACK:
      why = "it refers back to data before its start";
      break;
    default:
      hutch_error_set (err, 0, "damaged gzip data in member %lu (from byte %llu): igzip error %d",
                       z->members + 1, (unsigned long long)z->start, r);
      return -1;
    }
  hutch_error_set (err, 0, "damaged gzip data in member %lu (from byte %llu): %s", z->members + 1,
                   (unsigned long long)z->start, why);
  return -1;
}

ssize_t
hutch_gunzip_read (struct hutch_gunzip *z, void *buf, size_t len, hutch_error_t *err)
{
  size_t out = 0;

  while (out < len && !z->done)
    {
      uint32_t in_before, out_before;
      int r;

      if (!z->member)
        {
          if (start_member (z, err) < 0)
            return -1;
          continue;
        }
      if (z->pos == z->len && fill (z, 1, err) < 0)
        return -1;
      z->st.next_in = z->in + z->pos;
      z->st.avail_in = in_before = (uint32_t)(z->len - z->pos);
      z->st.next_out = (uint8_t *)buf + out;
      z->st.avail_out = out_before = len - out > UINT32_MAX ? UINT32_MAX : (uint32_t)(len - out);
      r = isal_inflate (&z->st);
      z->pos += in_before - z->st.avail_in;
      out += out_before - z->st.avail_out;
      if (r < 0)
        return inflate_error (z, r, err);
      if (z->st.block_state == ISAL_BLOCK_FINISH)
        {
          z->member = false;
          z->members++;
          continue;
        }
      if (in_before != z->st.avail_in || out_before != z->st.avail_out)
        continue;
      /* No progress with room for output: the input is used up.  */
      if (z->eof && z->pos == z->len)
        return truncated (z, err);
      if (z->pos < z->len)
        {
          hutch_error_set (err, 0, "damaged gzip data in member %lu (from byte %llu)",
                           z->members + 1, (unsigned long long)z->start);
          return -1;
        }
    }
  return (ssize_t)out;
}

#else /* !HAVE_ISAL */

struct hutch_gunzip
{
  unsigned long members;
};

bool
hutch_gunzip_available (void)
{
  return false;
}

struct hutch_gunzip *
hutch_gunzip_new (hutch_gunzip_read_fn read, void *data)
{
  (void)read;
  (void)data;
  return NULL;
}

ssize_t
hutch_gunzip_read (struct hutch_gunzip *z, void *buf, size_t len, hutch_error_t *err)
{
  (void)z;
  (void)buf;
  (void)len;
  return hutch_error_set (err, ENOSYS, "hutch was built without igzip");
}

unsigned long
hutch_gunzip_members (const struct hutch_gunzip *z)
{
  return z->members;
}

void
hutch_gunzip_free (struct hutch_gunzip *z)
{
  (void)z;
}

#endif

bool
hutch_gunzip_magic (const void *buf, size_t len)
{
  const uint8_t *b = buf;

  /* ID1 ID2 CM FLG, with FLG's reserved bits clear (RFC 1952, 2.3.1): what
     libarchive's gzip reader also asks of a member before it takes it.  */
  return len >= 4 && b[0] == 0x1f && b[1] == 0x8b && b[2] == 8 && (b[3] & 0xe0) == 0;
}
