/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* The Containerfile parser (image/dockerfile.c) on any bytes, then the
   words of every instruction through the expansion (image/dfwords.c)
   with a few variables set, as a builder would take them.  */

#include "fuzz.h"
#include "image/dockerfile.h"
#include "base/util.h"

static const char *
lookup (void *data, const char *name)
{
  (void)data;
  if (strcmp (name, "A") == 0)
    return "a b*c";
  if (strcmp (name, "EMPTY") == 0)
    return "";
  if (strcmp (name, "PATH") == 0)
    return "/usr/bin:/bin";
  return NULL;
}

static void
check_instr (const struct hutch_df_instr *in, char escape)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  char **words = NULL, **keys = NULL, **values = NULL, *s = NULL;
  size_t i;

  /* What the parser hands out is well formed: args never NULL, lines in
     order, a trigger only on ONBUILD, heredocs only where they can be.  */
  if (in->args == NULL || in->original == NULL || in->end_line < in->line
      || (in->trigger != NULL) != (in->kind == HUTCH_DF_ONBUILD)
      || (in->n_heredocs
          && (in->json
              || (in->kind != HUTCH_DF_RUN && in->kind != HUTCH_DF_COPY
                  && in->kind != HUTCH_DF_ADD))))
    abort ();
  for (i = 0; i < in->n_flags; i++)
    if (in->flags[i].name == NULL || in->flags[i].name[0] == '\0')
      abort ();
  for (i = 0; i < in->n_heredocs; i++)
    if (in->heredocs[i].name == NULL || in->heredocs[i].content == NULL
        || hutch_df_heredoc_index (in, in->heredocs[i].name) != -1)
      abort ();
  if (in->trigger)
    check_instr (in->trigger, escape);
  if (in->json || in->args[0] == NULL)
    return;
  if (hutch_df_words (in->args[0], escape, lookup, NULL, &words, &err) == 0)
    {
      for (i = 0; words[i]; i++)
        hutch_df_heredoc_index (in, words[i]);
      hutch_strv_free (words);
    }
  if (hutch_df_pairs (in->args[0], escape, lookup, NULL, true, false, &keys, &values, &err) == 0)
    {
      for (i = 0; keys[i]; i++)
        if (keys[i][0] == '\0')
          abort ();
        else
          free (values[i]);
      free (values);
      hutch_strv_free (keys);
    }
  if (hutch_df_expand (in->args[0], escape, lookup, NULL, &s, &err) == 0)
    {
      hutch_df_pattern_match (in->args[0], s);
      free (s);
    }
  hutch_error_clear (&err);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct hutch_dockerfile df = { 0 };
  hutch_error_t err = HUTCH_ERROR_INIT;
  size_t i;

  if (hutch_df_parse ((const char *)data, size, "Containerfile", &df, &err) == 0)
    {
      if (df.n == 0 || (df.escape != '\\' && df.escape != '`'))
        abort ();
      for (i = 0; i < df.n; i++)
        check_instr (&df.v[i], df.escape);
      hutch_dockerfile_clear (&df);
    }
  else if (err.msg == NULL || strncmp (err.msg, "Containerfile:", 14) != 0)
    abort ();
  hutch_error_clear (&err);
  return 0;
}
