/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_DOCKERFILE_PRIVATE_H
#define HUTCH_DOCKERFILE_PRIVATE_H

/* What image/dockerfile.c (the parser) and image/dfwords.c (the words)
   share, and nothing else uses.  */

#include "base/util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* A growing NULL-terminated vector of strings, pushes amortized O(1)
   (hutch_strv_push counts the vector each time: quadratic for a line of
   thousands of words).  V may hold NULLs before N (hutch_df_pairs'
   values): N is the count.  */
struct dfvec
{
  char **v;
  size_t n, cap;
};

static inline void
dfvec_push (struct dfvec *vec, char *owned)
{
  if (vec->n + 2 > vec->cap)
    {
      vec->cap = (vec->n + 2) * 2;
      vec->v = hutch_xrealloc (vec->v, vec->cap * sizeof (char *));
    }
  vec->v[vec->n++] = owned;
  vec->v[vec->n] = NULL;
}

/* The vector, never NULL; VEC is left empty.  */
static inline char **
dfvec_steal (struct dfvec *vec)
{
  char **v = vec->v ? vec->v : hutch_xmalloc0 (sizeof (char *));
  memset (vec, 0, sizeof *vec);
  return v;
}

static inline void
dfvec_clear (struct dfvec *vec)
{
  size_t i;

  for (i = 0; i < vec->n; i++)
    free (vec->v[i]);
  free (vec->v);
  memset (vec, 0, sizeof *vec);
}

/* The blanks of Go's unicode.IsSpace that a byte can be: where BuildKit
   splits words and trims lines.  */
static inline bool
df_is_space (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* WORD with its quotes removed and `\` escapes taken, `$` left as it is:
   how BuildKit reads the delimiter of a heredoc.  *RET_QUOTED: whether a
   quote was removed (a quoted delimiter: the body is not expanded).
   -1 when a quote is not closed.  */
int hutch_df_unquote (const char *word, char **ret, bool *ret_quoted);

#endif
