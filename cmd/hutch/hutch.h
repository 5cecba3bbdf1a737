/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_CMD_H
#define HUTCH_CMD_H

#include "base/error.h"
#include "common/options.h"
#include "common/output.h"

/* Global options, given before the command.  */
struct cmd_globals
{
  const char *root;   /* --root DIR: the image store */
  int storage_driver; /* --storage-driver, or -1 */
};
extern struct cmd_globals cmd_globals;

int cmd_run (int argc, char **argv);
int cmd_info (int argc, char **argv);
int cmd_images (int argc, char **argv);
int cmd_image (int argc, char **argv);
int cmd_rmi (int argc, char **argv);
int cmd_tag (int argc, char **argv);
int cmd_import (int argc, char **argv);
int cmd_load (int argc, char **argv);
int cmd_save (int argc, char **argv);
int cmd_pull (int argc, char **argv);
int cmd_push (int argc, char **argv);
int cmd_login (int argc, char **argv);
int cmd_logout (int argc, char **argv);
/* --tls-verify[=BOOL]: 1, 0, or -1 after a message naming CMD.  */
int cmd_parse_tls_verify (const char *cmd, const char *v);
struct option;
/* getopt_long with the shared handling of -h/--help (USAGE on stdout) and
   of unknown options (a message): returns the option, -1 at the end, or
   1000 when the caller must return *RET.  */
int cmd_next_opt (int argc, char **argv, const char *shortopts, const struct option *opts,
                  const char *usage, int *ret);
/* The directory of the running hutch binary, to find hutch-init beside it.  */
char *cmd_self_dir (void);

#endif
