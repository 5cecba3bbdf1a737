/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "fuzz.h"
#include "image/reference.h"

/* Image names come from users, Containerfiles, archives' manifests and
   registries.  A parsed reference must format back to a name that parses
   to the same thing.  */
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *text = fuzz_str (data, size);
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_reference ref, again;

  if (hutch_reference_parse (text, &ref, &err) == 0)
    {
      char *full = hutch_reference_format (&ref);
      char *familiar = hutch_reference_familiar (&ref);
      if (hutch_reference_parse (full, &again, &err) != 0)
        abort ();
      {
        char *full2 = hutch_reference_format (&again);
        if (strcmp (full, full2) != 0)
          abort ();
        free (full2);
      }
      hutch_reference_clear (&again);
      free (familiar);
      free (full);
      hutch_reference_clear (&ref);
    }
  hutch_error_clear (&err);
  free (text);
  return 0;
}
