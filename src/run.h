/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_RUN_H
#define HUTCH_RUN_H

/* `hutch run`'s options, turned into an OCI runtime configuration.  The CLI
   only fills this structure; every decision lives here so that it can be
   tested and reused by later front ends.  */

#include "error.h"
#include "idmap.h"
#include "spec.h"

#include <stdbool.h>

enum hutch_network
{
  HUTCH_NETWORK_DEFAULT = -1,
  HUTCH_NETWORK_NONE,
  HUTCH_NETWORK_HOST,
};

struct hutch_run_options
{
  char *rootfs; /* NULL: the host sandbox */
  bool read_only;
  char **volumes;
  char **tmpfs;
  char **env;
  char **env_files;
  char *workdir;
  char *user;
  char *hostname;
  bool interactive, tty, init;
  int userns;  /* enum hutch_userns_mode, or -1 for the mode's default */
  int network; /* enum hutch_network */
  char **command;
  char *init_path; /* hutch-init on the host */
};

void hutch_run_options_init (struct hutch_run_options *o);
void hutch_run_options_clear (struct hutch_run_options *o);

int hutch_userns_mode_from_name (const char *name);
int hutch_network_from_name (const char *name);

/* Build the configuration.  *RET_WARNING (may be NULL) is a line for the
   user, e.g. the fallback to a single id.  */
int hutch_run_make_spec (const struct hutch_run_options *o, struct hutch_spec **ret_spec,
                         char **ret_warning, hutch_error_t *err);

#endif
