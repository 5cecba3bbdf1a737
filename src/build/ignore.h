/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_BUILD_IGNORE_H
#define HUTCH_BUILD_IGNORE_H

/* .dockerignore and .containerignore: which files of a build context the
   build does not see, with the rules of moby's patternmatcher: each line a
   pattern (`#` lines are comments, blank lines ignored, surrounding
   blanks trimmed), cleaned as a path (`./a` is `a`, a leading `/` is
   dropped), matched against the whole path relative to the context with
   `*`, `?`, `[...]`, `\` quoting and `**` (any number of directories);
   a pattern also excludes what is below a directory it matches; `!` makes
   an exception; the last pattern that matches decides.  */

#include "base/error.h"

#include <stdbool.h>

struct hutch_ignore;

/* The ignore file of the context CTXFD for the Containerfile at
   DOCKERFILE (a path relative to the context, or NULL when the
   Containerfile is not in it, e.g. read from stdin): `DOCKERFILE.dockerignore`
   (or `DOCKERFILE.containerignore`) beside it first, then the context's
   `.containerignore`, then `.dockerignore`.  No file: an ignore that
   excludes nothing (*RET non-NULL).  *RET_FILE: the file read (relative
   to the context), or NULL.  A pattern that does not parse (a bad `[`)
   is an error naming the file and the line.  */
int hutch_ignore_load (int ctxfd, const char *dockerfile, struct hutch_ignore **ret,
                       char **ret_file, hutch_error_t *err);
/* From the text of an ignore file; FILE names it in errors.  */
int hutch_ignore_parse (const char *text, const char *file, struct hutch_ignore **ret,
                        hutch_error_t *err);
void hutch_ignore_free (struct hutch_ignore *ig);

/* Whether PATH (relative to the context, cleaned, no leading `/`; ""
   is the context itself, never excluded) is excluded.  A path below an
   excluded directory is excluded unless an exception matches it.  */
bool hutch_ignore_excluded (const struct hutch_ignore *ig, const char *path);
/* Whether a walk must enter the excluded directory PATH because an
   exception might match something below it.  */
bool hutch_ignore_may_include_below (const struct hutch_ignore *ig, const char *path);
/* Whether IG has no pattern at all.  */
bool hutch_ignore_empty (const struct hutch_ignore *ig);

#endif
