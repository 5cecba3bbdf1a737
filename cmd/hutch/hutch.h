/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_CMD_H
#define HUTCH_CMD_H

#include "base/error.h"
#include "common/options.h"
#include "common/output.h"

/* Global options, given before the command.  */
struct cmd_globals
{
  const char *root;     /* --root DIR: the image store */
  int storage_driver;   /* --storage-driver, or -1 */
  char **cdi_spec_dirs; /* --cdi-spec-dir (repeatable), or NULL: the default ones */
};
extern struct cmd_globals cmd_globals;

/* The commands' tables (common/options.h): their options, --help and
   completion, and the function that runs each.  */
extern const struct cmd_def cmd_run_def, cmd_info_def, cmd_images_def, cmd_image_def, cmd_rmi_def,
    cmd_tag_def, cmd_import_def, cmd_load_def, cmd_save_def, cmd_pull_def, cmd_push_def,
    cmd_login_def, cmd_logout_def, cmd_version_def, cmd_volume_def, cmd_create_def, cmd_start_def,
    cmd_stop_def, cmd_kill_def, cmd_restart_def, cmd_rm_def, cmd_wait_def, cmd_rename_def,
    cmd_pause_def, cmd_unpause_def, cmd_port_def, cmd_container_def, cmd_ps_def, cmd_inspect_def,
    cmd_top_def, cmd_attach_def;
extern const struct cmd_def cmd_logs_def, cmd_exec_def;
/* ctrfs.c: a container's files.  */
extern const struct cmd_def cmd_diff_def, cmd_export_def, cmd_commit_def, cmd_cp_def;
extern const struct cmd_def cmd_stats_def;
extern const struct cmd_def cmd_build_def;

/* Attach to the container REF (cmd/hutch/attach.c): KEYS the detach keys
   (NULL: the container's), NO_STDIN not to send what is typed.  The exit
   code is the container's when it ended, 0 when detached.  */
int cmd_attach_to (const char *ref, const char *keys, bool no_stdin);

struct hutch_ctr;
struct hutch_spec;
/* A recorded container's spec made again from its record (cmd/hutch/run.c:
   hutch run's own parser on the recorded arguments).  */
int cmd_ctr_spec (struct hutch_ctr *c, struct hutch_spec **ret_spec, hutch_error_t *err);
/* Start it under a monitor (hutch-monitor found as hutch run finds its
   helpers); FORK as hutch_ctr_launch.  */
int cmd_ctr_launch (struct hutch_ctr *c, struct hutch_spec *spec, bool fork, hutch_error_t *err);

/* The options every registry command has, in each one's table.  */
enum
{
  CMD_OPT_TLS_VERIFY = 900,
  CMD_OPT_CERT_DIR,
  CMD_OPT_AUTHFILE,
};
/* clang-format off */
#define CMD_TLS_OPTIONS                                                                   \
  { "tls-verify", CMD_OPT_TLS_VERIFY, optional_argument, "BOOL",                          \
    "false: allow plain HTTP and unverified TLS", "true false" },                         \
  { "cert-dir", CMD_OPT_CERT_DIR, required_argument, "DIR",                               \
    "CA certificates (*.crt) and client certificate\n(*.cert with *.key) for TLS",        \
    CMD_VALUE_DIR }
/* clang-format on */

/* The platforms offered for completion (any other may be given).  */
#define CMD_PLATFORMS                                                                              \
  "linux/amd64 linux/arm64 linux/arm/v7 linux/arm/v6 linux/386 linux/ppc64le linux/s390x "         \
  "linux/riscv64"

/* --tls-verify[=BOOL]: 1, 0, or -1 after a message naming CMD.  */
int cmd_parse_tls_verify (const char *cmd, const char *v);
/* The next option of a command of hutch by DEF's table (see cmd_opt_next):
   the option, -1 at the end, or 1000 when the caller must return *RET
   (after --help, or an option error it reported).  */
int cmd_next_opt (const struct cmd_def *def, int argc, char **argv, int *ret);

#endif
