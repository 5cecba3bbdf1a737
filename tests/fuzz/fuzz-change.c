/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* `hutch import --change`: each line of the input is one instruction.  */

#include "fuzz.h"
#include "image/change.h"
#include "base/util.h"

#include <jansson.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *text = fuzz_str (data, size), *save = NULL, *line;
  char **changes = hutch_xmalloc0 (sizeof (char *));
  hutch_error_t err = HUTCH_ERROR_INIT;
  json_t *config = json_pack ("{s:[s]}", "Env", "PATH=/bin");

  for (line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    hutch_strv_push (&changes, hutch_xstrdup (line));
  if (hutch_image_apply_changes (config, changes, &err) == 0)
    {
      /* What passes makes a config that a run can take: a WORKDIR is
         absolute, every Env entry is NAME=VALUE.  */
      const char *wd = json_string_value (json_object_get (config, "WorkingDir"));
      json_t *env = json_object_get (config, "Env"), *v;
      size_t i;
      if (wd && wd[0] != '/')
        abort ();
      json_array_foreach (env, i, v)
      {
        const char *e = json_string_value (v);
        if (e == NULL || e[0] == '=' || strchr (e, '=') == NULL)
          abort ();
      }
    }
  hutch_error_clear (&err);
  json_decref (config);
  hutch_strv_free (changes);
  free (text);
  return 0;
}
