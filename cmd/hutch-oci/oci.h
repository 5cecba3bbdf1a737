/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_CMD_OCI_H
#define HUTCH_CMD_OCI_H

/* What hutch-oci's command files share: the global options, the state
   directory, and the one way to fail (runc's: exit 1, the message on
   stderr and, with --log, in the log, the last line of which engines
   show).  */

#include "base/error.h"
#include "common/options.h"
#include "runtime/cgroup.h"

#include <stdbool.h>

struct oci_globals
{
  char *root;                           /* --root, or the default */
  enum hutch_cgroup_manager cg_manager; /* --systemd-cgroup, --cgroup-manager */
  int rootless;                         /* --rootless: 1, 0, or -1 for auto */
  bool debug;
};
extern struct oci_globals oci_globals;

/* Runtime errors exit 1, as runc's and crun's, whatever the library's
   code (engines only tell 0 from the rest).  */
#define OCI_EXIT_FAIL 1

/* Say ERR (stderr, and the --log file) and return OCI_EXIT_FAIL.  */
int oci_fail (const char *cmd, hutch_error_t *err);
/* The same for a message of the command line's own.  */
int oci_usage_fail (const char *cmd, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
/* Open the state directory (--root) into *RET_FD.  */
int oci_root (int *ret_fd, hutch_error_t *err);
/* Parse DEF's options; -1 at the end of them, or the exit code to return
   (help, or a bad option, mapped to OCI_EXIT_FAIL).  */
int oci_opt_next (const struct cmd_def *def, int argc, char **argv, int *ret_exit);
/* Exactly one operand, the container's id, at argv[optind]: NULL after
   saying why.  */
const char *oci_one_id (const char *cmd, int argc, char **argv);

/* lifecycle.c, exec.c, features.c (features and spec) */
extern const struct cmd_def oci_create_def, oci_start_def, oci_run_def, oci_state_def, oci_kill_def,
    oci_delete_def, oci_list_def, oci_ps_def, oci_exec_def, oci_features_def, oci_spec_def,
    oci_pause_def, oci_resume_def, oci_update_def;

#endif
