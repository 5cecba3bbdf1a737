/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_CMD_H
#define HUTCH_CMD_H

#include "error.h"

int cmd_run (int argc, char **argv);
int cmd_info (int argc, char **argv);
/* Print "hutch: MSG" and return ERR's exit code (125 unless it says otherwise).  */
int cmd_report (hutch_error_t *err);
/* The directory of the running hutch binary, to find hutch-init beside it.  */
char *cmd_self_dir (void);

#endif
