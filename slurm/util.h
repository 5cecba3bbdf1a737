/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_SLURM_UTIL_H
#define HUTCH_SLURM_UTIL_H

/* The plugin's own small helpers (it links no libhutch).  Out of memory
   aborts: inside slurmstepd there is nothing better to do.  */

#pragma GCC visibility push(hidden)

/* A formatted string, malloc'd.  */
char *slurm_xasprintf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

/* Append a copy of S to the NULL-terminated vector *V.  */
void slurm_strv_push (char ***v, const char *s);

#pragma GCC visibility pop

#endif
