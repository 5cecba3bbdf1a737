/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "fuzz.h"
#include "image/layermap.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *text = fuzz_str (data, size);
  struct hutch_layermap m, back;

  if (hutch_layermap_parse (text, &m) == 0)
    {
      /* What parses formats to a record that parses to the same, and a
         mapping always suits itself.  */
      char *again = hutch_layermap_format (&m);
      if (hutch_layermap_parse (again, &back) < 0 || back.kept != m.kept || back.n_uid != m.n_uid
          || back.n_gid != m.n_gid || hutch_layermap_compare (&m, &back) != HUTCH_LAYERMAP_CURRENT)
        abort ();
      hutch_layermap_clear (&back);
      hutch_layermap_clear (&m);
      free (again);
    }
  free (text);
  return 0;
}
