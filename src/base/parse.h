/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_PARSE_H
#define HUTCH_PARSE_H

/* Parsers for what users type: -v, -e, --env-file, -u, --tmpfs.  Pure
   functions, unit-tested; each error names the option and the fix.  */

#include "base/error.h"

#include <stdbool.h>

struct hutch_volume
{
  char *source; /* absolute */
  char *destination;
  bool readonly;
};

/* SRC:DST[:OPTS]; a relative SRC must start with "." and is taken from CWD.  */
int hutch_parse_volume (const char *arg, const char *cwd, struct hutch_volume *ret,
                        hutch_error_t *err);
void hutch_volume_clear (struct hutch_volume *v);

/* KEY=VALUE, or KEY alone: then the host's value (*ret NULL when unset).  */
int hutch_parse_env (const char *arg, char **ret, hutch_error_t *err);
/* Lines of KEY=VALUE or KEY; blank lines and # comments are skipped.  */
int hutch_parse_env_file (const char *text, const char *file, char ***ret, hutch_error_t *err);

/* USER[:GROUP], each a name or a number.  */
int hutch_parse_user (const char *arg, char **ret_user, char **ret_group, hutch_error_t *err);

/* DST[:OPTS] -> destination and tmpfs options for the mount.  */
int hutch_parse_tmpfs (const char *arg, char **ret_dest, char **ret_opts, hutch_error_t *err);

#endif
