/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "common/output.h"
#include "base/log.h"
#include "base/util.h"

#include <stdio.h>
#include <string.h>

static const char *prog_name = "hutch";

void
cmd_scrub (char *s)
{
  for (; s && *s; s++)
    if (((unsigned char)*s < 0x20 && *s != '\n') || *s == 0x7f)
      *s = '?';
}

/* The library's messages say "hutch: " in both front ends (what users and
   scripts have read so far); errors name the command that failed.  */
static void
sink (enum hutch_log_level level, const char *msg, void *data)
{
  _cleanup_free_ char *text = hutch_xstrdup (msg);
  (void)data;
  if (level == HUTCH_LOG_DEBUG)
    return;
  cmd_scrub (text);
  fprintf (stderr, "hutch: %s%s\n", level == HUTCH_LOG_WARNING ? "warning: " : "", text);
}

void
cmd_output_init (const char *prog, bool progress)
{
  prog_name = prog;
  hutch_log_set_sink (sink, NULL, progress ? stderr : NULL);
}

int
cmd_report (hutch_error_t *err)
{
  int code = err->exit_code ? err->exit_code : HUTCH_EXIT_ERROR;

  /* Messages quote what registries, images and files said.  */
  cmd_scrub (err->msg);
  fprintf (stderr, "%s: %s\n", prog_name, err->msg ? err->msg : "unknown error");
  hutch_error_clear (err);
  return code;
}
