/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "fuzz.h"
#include "runtime/idmap.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *text = fuzz_str (data, size);
  struct hutch_subid_range *r = NULL;
  struct hutch_idmap *map = NULL;
  size_t n = 0, nm = 0;
  int mode;

  unsigned long u, g;

  /* A suggested block is within the ids a map may name.  */
  hutch_subid_free_block (text, text, &u, &g);
  if (u != g || (u && (u < HUTCH_SUBID_FIRST || u + HUTCH_SUBID_BLOCK > UINT32_MAX)))
    abort ();
  hutch_subid_parse (text, "alice", 1000, &r, &n);
  for (mode = HUTCH_USERNS_DEFAULT; mode <= HUTCH_USERNS_SINGLE; mode++)
    {
      char *s;
      hutch_idmap_compute ((enum hutch_userns_mode)mode, 1000, r, n, &map, &nm);
      /* The map never holds more ids than uid_map can take.  */
      if (hutch_idmap_total (map, nm) > (unsigned long)UINT32_MAX + 1)
        abort ();
      s = hutch_idmap_format (map, nm);
      free (s);
      free (map);
    }
  free (r);
  free (text);
  return 0;
}
