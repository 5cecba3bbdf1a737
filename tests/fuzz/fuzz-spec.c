/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "fuzz.h"
#include "runtime/spec.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *text = fuzz_str (data, size);
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_spec *spec = NULL;

  if (hutch_spec_parse_json (text, "/bundle", &spec, &err) == 0)
    hutch_spec_free (spec);
  hutch_error_clear (&err);
  free (text);
  return 0;
}
