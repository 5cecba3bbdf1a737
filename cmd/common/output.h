/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_CMD_OUTPUT_H
#define HUTCH_CMD_OUTPUT_H

/* What both front ends print: libhutch's log sink and the final error
   line, each "PROG: ..." on stderr, with the control characters of what
   they quote (registries, images, config.json, files) replaced.  */

#include "base/error.h"

#include <stdbool.h>

/* Install the log sink for PROG ("hutch", "hutch-oci"); with PROGRESS,
   pulls and pushes draw their progress on stderr.  */
void cmd_output_init (const char *prog, bool progress);

/* Replace control characters in S (all but newlines) with `?`, so that
   quoted text cannot send the terminal escape sequences.  */
void cmd_scrub (char *s);

/* Print "PROG: MSG" and return ERR's exit code (125 unless it says
   otherwise).  */
int cmd_report (hutch_error_t *err);

#endif
