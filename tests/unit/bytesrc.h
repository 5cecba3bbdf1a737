/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_TEST_BYTESRC_H
#define HUTCH_TEST_BYTESRC_H

/* For the tests of the layer decompressors (test-gunzip, test-zstd): a
   growing byte buffer, and a reader that hands it out in pieces of a
   chosen size, and fails on a chosen call, as a download would.  */

#include "base/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

struct buf
{
  unsigned char *p;
  size_t len, cap;
};

static inline void
buf_add (struct buf *b, const void *p, size_t n)
{
  if (b->len + n > b->cap)
    {
      b->cap = (b->len + n) * 2;
      b->p = realloc (b->p, b->cap);
      if (b->p == NULL)
        abort ();
    }
  if (n)
    memcpy (b->p + b->len, p, n);
  b->len += n;
}

/* The input, handed out STEP bytes at a time.  */
struct src
{
  const struct buf *b;
  size_t pos, step;
  int fail_at; /* fail on this call (0: never) */
  int calls;
};

static inline ssize_t
src_read (void *data, void *out, size_t len, hutch_error_t *err)
{
  struct src *s = data;
  size_t n = s->step;

  if (++s->calls == s->fail_at)
    return hutch_error_set (err, EIO, "the source failed");
  if (n > len)
    n = len;
  if (n > s->b->len - s->pos)
    n = s->b->len - s->pos;
  memcpy (out, s->b->p + s->pos, n);
  s->pos += n;
  return (ssize_t)n;
}

#endif
