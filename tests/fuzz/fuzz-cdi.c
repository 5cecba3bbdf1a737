/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "fuzz.h"
#include "base/error.h"
#include "runtime/cdi.h"

/* A CDI spec file comes from whoever wrote the directory (a
   --cdi-spec-dir may be anyone's): any bytes.  The first byte picks the
   format (odd: YAML), the rest is the file.  What parses has a kind and
   at least one device, each with a name; the whole input is also tried as
   a --device name.  */
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_cdi_spec *s = NULL;
  char *kind = NULL, *name = NULL, *text;
  size_t i;

  if (size == 0)
    return 0;
  text = fuzz_str (data + 1, size - 1);
  if (hutch_cdi_spec_parse (text, size - 1, data[0] & 1 ? "fuzz.yaml" : "fuzz.json", &s, &kind,
                            &err)
      == 0)
    {
      if (hutch_cdi_spec_kind (s) == NULL || hutch_cdi_spec_n_devices (s) == 0)
        abort ();
      for (i = 0; i < hutch_cdi_spec_n_devices (s); i++)
        if (hutch_cdi_spec_device (s, i) == NULL)
          abort ();
      hutch_cdi_spec_free (s);
    }
  else if (err.msg == NULL)
    abort ();
  hutch_error_clear (&err);
  free (kind);
  if (hutch_cdi_parse_name (text, &kind, &name, &err) == 0)
    {
      free (kind);
      free (name);
    }
  hutch_error_clear (&err);
  free (text);
  return 0;
}
