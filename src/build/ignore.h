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
   an exception; the last pattern that matches decides.

   Two departures from moby's matcher, both where moby's regular
   expressions leak through: `[!...]` is a negated class, as `[^...]` is
   (as in a shell; moby matches `!` itself), and `\x` is always the
   character x (moby's `\d` matches a digit).  A class range that runs
   backwards (`[z-a]`) is a bad pattern here at once, as it is in moby
   when the pattern is first used.  */

#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>

struct hutch_ignore;

/* The ignore file of the context CTXFD for the Containerfile at
   DOCKERFILE (a path relative to the context, or NULL when the
   Containerfile is not in it, e.g. read from stdin): `DOCKERFILE.dockerignore`
   (or `DOCKERFILE.containerignore`) beside it first, then the context's
   `.containerignore`, then `.dockerignore` (of each pair, the
   `.containerignore` is taken when both are there).  An ignore file that
   is a symlink is followed within the context; one leading out of it is
   an error.  No file: an ignore that
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
/* The FILE IG was read from (for "excluded by FILE"), or NULL.  */
const char *hutch_ignore_file (const struct hutch_ignore *ig);

/* For a walk, which need not match every directory again for each of its
   entries: hutch_ignore_excluded of PATH, given PARENT, what this
   returned in RET_MATCHED for PATH's directory (hutch_ignore_count bytes;
   NULL: PATH's directories are matched here).  RET_MATCHED (the same
   size, or NULL) gets, for each pattern, whether it matches PATH or a
   directory above it.  */
size_t hutch_ignore_count (const struct hutch_ignore *ig);
bool hutch_ignore_excluded_at (const struct hutch_ignore *ig, const char *path,
                               const unsigned char *parent, unsigned char *ret_matched);

/* Go's filepath.Clean (what ignore patterns and COPY sources go
   through): no doubled `/`, no `.` component, `x/..` removed, a leading
   `..` kept unless the path starts with `/`, no trailing `/`; "" is ".".  */
char *hutch_ignore_clean_path (const char *path);

/* Go's filepath.Match of the path component NAME against PATTERN (`*`,
   `?`, `[...]` with `^` for negation, `\` quoting; `**` is `*` twice):
   how COPY and ADD match their sources.  1: it matches, 0: it does not,
   < 0: PATTERN is malformed (ERR says how).  */
int hutch_ignore_glob (const char *pattern, const char *name, hutch_error_t *err);

#endif
