/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_PARSE_H
#define HUTCH_PARSE_H

/* Parsers for what users type: -v, --mount, -e, --env-file, -u, --tmpfs.  Pure
   functions, unit-tested; each error names the option and the fix.  */

#include "base/error.h"

#include <stdbool.h>

/* What a -v or a --mount asks for.  */
enum hutch_volume_kind
{
  HUTCH_VOLUME_BIND,      /* a host path: SOURCE, absolute */
  HUTCH_VOLUME_NAMED,     /* a volume of the store: SOURCE is its name */
  HUTCH_VOLUME_ANONYMOUS, /* a new volume, removed after the run: no SOURCE */
  HUTCH_VOLUME_TMPFS,     /* --mount type=tmpfs: no SOURCE */
};

struct hutch_volume
{
  enum hutch_volume_kind kind;
  char *source; /* see the kind; NULL for the last two */
  char *destination;
  bool readonly;
  char relabel;            /* SELinux: 'z' (shared), 'Z' (private), or 0 */
  bool chown;              /* U: the tree is given to the container's user */
  bool nocopy;             /* a new volume does not get the image's content */
  bool from_mount;         /* --mount (a missing bind source is an error: docker's) */
  const char *propagation; /* bind propagation ("rslave"...), or NULL */
  char *tmpfs_options;     /* TMPFS: "size=N,mode=M" or NULL */
  char **labels;           /* K=V labels of a volume made now (--mount volume-label) */
};

/* A volume's name, as docker has them: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (at least
   two characters), at most 255; it can never be a path.  */
bool hutch_volume_name_valid (const char *name);

/* -v: SRC:DST[:OPTS], DST[:OPTS] (a new anonymous volume, as docker's -v
   /data), where SRC is a host path (absolute, or starting with "." and
   taken from CWD) or a volume's name, and OPTS a comma-separated list of
   ro, rw, z, Z, U, nocopy and a bind propagation.  */
int hutch_parse_volume (const char *arg, const char *cwd, struct hutch_volume *ret,
                        hutch_error_t *err);
/* --mount: docker's comma-separated KEY=VALUE list (type=bind|volume|tmpfs,
   source, destination, readonly, bind-propagation, volume-nocopy,
   volume-label, volume-driver, tmpfs-size, tmpfs-mode; podman's relabel and
   U).  */
int hutch_parse_mount (const char *arg, const char *cwd, struct hutch_volume *ret,
                       hutch_error_t *err);
void hutch_volume_clear (struct hutch_volume *v);

/* KEY=VALUE, or KEY alone: then the host's value (*ret NULL when unset).  */
int hutch_parse_env (const char *arg, char **ret, hutch_error_t *err);
/* Lines of KEY=VALUE or KEY; blank lines and # comments are skipped.  */
int hutch_parse_env_file (const char *text, const char *file, char ***ret, hutch_error_t *err);
/* --env-file FILES, then -e ENV, as KEY=VALUE in that order (so that a
   later one wins when they are set one after the other): what run and
   exec both take.  */
int hutch_parse_env_options (char *const *files, char *const *env, char ***ret, hutch_error_t *err);

/* USER[:GROUP], each a name or a number.  */
int hutch_parse_user (const char *arg, char **ret_user, char **ret_group, hutch_error_t *err);

/* DST[:OPTS] -> destination and tmpfs options for the mount.  */
int hutch_parse_tmpfs (const char *arg, char **ret_dest, char **ret_opts, hutch_error_t *err);

#endif
