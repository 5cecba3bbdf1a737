/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "base/log.h"
#include "base/util.h"

#include <stdarg.h>
#include <stdlib.h>

/* One sink a process, set by the front end before any work: a global,
   as crun's output handler is; nothing but hutch_log_set_sink writes it.  */
static struct
{
  hutch_log_sink_fn fn;
  void *data;
  FILE *progress;
} sink;

void
hutch_log_set_sink (hutch_log_sink_fn fn, void *data, FILE *progress)
{
  sink.fn = fn;
  sink.data = data;
  sink.progress = progress;
}

void
hutch_log (enum hutch_log_level level, const char *fmt, ...)
{
  _cleanup_free_ char *msg = NULL;
  va_list ap;

  if (sink.fn == NULL)
    return;
  va_start (ap, fmt);
  msg = hutch_xvasprintf (fmt, ap);
  va_end (ap);
  sink.fn (level, msg, sink.data);
}

FILE *
hutch_log_progress_stream (void)
{
  return sink.progress;
}
