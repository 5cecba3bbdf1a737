/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *
slurm_xasprintf (const char *fmt, ...)
{
  va_list ap;
  char *s;
  va_start (ap, fmt);
  if (vasprintf (&s, fmt, ap) < 0)
    abort ();
  va_end (ap);
  return s;
}

void
slurm_strv_push (char ***v, const char *s)
{
  size_t n = 0;
  while (*v && (*v)[n])
    n++;
  *v = realloc (*v, (n + 2) * sizeof (char *));
  if (*v == NULL || ((*v)[n] = strdup (s)) == NULL)
    abort ();
  (*v)[n + 1] = NULL;
}
