/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "fuzz.h"
#include "parse.h"
#include "util.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *text = fuzz_str (data, size);
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_volume v;
  char *a = NULL, *b = NULL, **list = NULL;

  if (hutch_parse_volume (text, "/cwd", &v, &err) == 0)
    {
      /* What passes has an absolute source and destination.  */
      if (v.source[0] != '/' || v.destination[0] != '/')
        abort ();
      hutch_volume_clear (&v);
    }
  if (hutch_parse_env (text, &a, &err) == 0)
    free (a);
  if (hutch_parse_env_file (text, "fuzz", &list, &err) == 0)
    hutch_strv_free (list);
  if (hutch_parse_user (text, &a, &b, &err) == 0)
    {
      free (a);
      free (b);
    }
  if (hutch_parse_tmpfs (text, &a, &b, &err) == 0)
    {
      free (a);
      free (b);
    }
  hutch_error_clear (&err);
  free (text);
  return 0;
}
