/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_LOG_H
#define HUTCH_LOG_H

/* The library's one way to say something: it never prints.  What is worth
   telling the user on the way (a warning, a port that was published, the
   OOM killer's work) goes to the sink the front end installed, which
   decides how it looks (hutch: "hutch: warning: ..." on stderr; hutch-oci:
   the same, or a JSON line in its --log file) and scrubs what it quotes.
   Errors are not logged: they travel up in a hutch_error_t.  */

#include <stdio.h>

enum hutch_log_level
{
  HUTCH_LOG_DEBUG,
  HUTCH_LOG_INFO,    /* news the user asked for, one line */
  HUTCH_LOG_WARNING, /* something went wrong, or will, but we go on */
  HUTCH_LOG_ERROR,   /* just before hutch gives up at once (a missing library) */
};

typedef void (*hutch_log_sink_fn) (enum hutch_log_level level, const char *msg, void *data);

/* Install FN (NULL: messages are dropped, the default) with DATA, and the
   stream for progress bars (NULL: pulls and pushes show none).  One sink a
   process: set it once, before anything else runs.  */
void hutch_log_set_sink (hutch_log_sink_fn fn, void *data, FILE *progress);

void hutch_log (enum hutch_log_level level, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* Where progress bars go, or NULL.  */
FILE *hutch_log_progress_stream (void);

#endif
