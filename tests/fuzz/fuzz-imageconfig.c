/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "fuzz.h"
#include "image/imageconfig.h"

/* Configs, manifests and indexes come from registries and archives: each
   input is tried as all of them.  */
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_image_config cfg;
  struct hutch_manifest m;

  if (hutch_image_config_parse ((const char *)data, size, &cfg, &err) == 0)
    hutch_image_config_clear (&cfg);
  hutch_error_clear (&err);
  if (hutch_manifest_parse ((const char *)data, size, NULL, &m, &err) == 0)
    {
      const struct hutch_descriptor *d;
      if (m.kind == HUTCH_MANIFEST_INDEX)
        hutch_manifest_select (&m, "linux", "arm", "v7", &d, &err);
      hutch_manifest_clear (&m);
    }
  hutch_error_clear (&err);
  return 0;
}
