/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_PROGRESS_H
#define HUTCH_PROGRESS_H

/* Progress of a pull or a push on stderr.  On a terminal, one line per
   blob, redrawn in place (a bar, bytes, speed) at most ten times a second;
   otherwise one plain line per blob when it is finished, so that logs stay
   readable; nothing at all when quiet.  */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct hutch_progress;

struct hutch_progress *hutch_progress_new (FILE *out, bool quiet);
void hutch_progress_free (struct hutch_progress *p);

/* A new line "VERB LABEL" (e.g. "Copying blob 1a2b3c4d5e6f") for TOTAL
   bytes; returns its index.  */
size_t hutch_progress_add (struct hutch_progress *p, const char *verb, const char *label,
                           int64_t total);
void hutch_progress_update (struct hutch_progress *p, size_t i, int64_t done);
/* The line's final state: "done", "skipped: already in the store"...  */
void hutch_progress_finish (struct hutch_progress *p, size_t i, const char *status);
/* A line of its own, above the bars.  */
void hutch_progress_say (struct hutch_progress *p, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

#endif
