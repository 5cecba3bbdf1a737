/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_OCI_CMD_H
#define HUTCH_OCI_CMD_H

/* hutch-oci's commands, one file per command or group (main.c has the
   table and the global options).  */

#include "common/options.h"

/* An error of the runtime: runc's and crun's exit code, which engines
   expect (hutch's own 125 is Docker's).  */
#define OCI_EXIT_ERROR 1

/* features.c: `hutch-oci features` and `hutch-oci spec`.  */
extern const struct cmd_def oci_features_def, oci_spec_def;

#endif
