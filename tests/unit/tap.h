/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_TAP_H
#define HUTCH_TAP_H

/* A minimal TAP producer for automake's tap-driver.  */

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...)                                                                              \
  do                                                                                               \
    {                                                                                              \
      int _c = (cond);                                                                             \
      tap_n++;                                                                                     \
      if (!_c)                                                                                     \
        tap_failed++;                                                                              \
      printf ("%sok %d - ", _c ? "" : "not ", tap_n);                                              \
      printf (__VA_ARGS__);                                                                        \
      printf ("\n");                                                                               \
      if (!_c)                                                                                     \
        printf ("# failed at %s:%d\n", __FILE__, __LINE__);                                        \
    }                                                                                              \
  while (0)

/* A test that cannot run here, and why.  */
#define skip(...)                                                                                  \
  do                                                                                               \
    {                                                                                              \
      tap_n++;                                                                                     \
      printf ("ok %d # SKIP ", tap_n);                                                             \
      printf (__VA_ARGS__);                                                                        \
      printf ("\n");                                                                               \
    }                                                                                              \
  while (0)
#define is_str(a, b, ...) ok ((a) != NULL && (b) != NULL && strcmp ((a), (b)) == 0, __VA_ARGS__)
#define has_str(hay, needle, ...)                                                                  \
  ok ((hay) != NULL && strstr ((hay), (needle)) != NULL, __VA_ARGS__)

static inline int
tap_done (void)
{
  printf ("1..%d\n", tap_n);
  return tap_failed ? 1 : 0;
}

#endif
