/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_FUZZ_H
#define HUTCH_FUZZ_H

/* Fuzz targets for the parsers of untrusted input.  Each defines
   LLVMFuzzerTestOneInput; `make fuzz` links them with libFuzzer (clang),
   and `make check` links them with replay.c, which feeds them the corpus
   in tests/fuzz/corpus/NAME.  */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* A NUL-terminated copy of the input.  */
static inline char *
fuzz_str (const uint8_t *data, size_t size)
{
  char *s = malloc (size + 1);
  if (s == NULL)
    abort ();
  memcpy (s, data, size);
  s[size] = '\0';
  return s;
}

#endif
