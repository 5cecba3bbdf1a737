/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "hutch.h"
#include "image/driver.h"
#include "front/containers.h"
#include "image/image.h"
#include "base/util.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmd_completion (int argc, char **argv);
static int cmd_help_command (int argc, char **argv);

static const struct cmd_def completion_def = {
  .name = "completion",
  .summary = "print the shell completion script for bash, zsh or fish",
  .usage = "Usage: hutch completion SHELL\n"
           "\n"
           "Print the completion script of SHELL (bash, zsh or fish), made from the same\n"
           "tables as each command's --help.  `make install` installs all three; to try\n"
           "one in the running shell:  source <(hutch completion bash)\n",
  .operands = "bash zsh fish",
  .fn = cmd_completion,
};

static const struct cmd_def help_def = {
  .name = "help",
  .summary = "show the help of a command",
  .usage = "Usage: hutch help [COMMAND [SUBCOMMAND]]\n\nShow the help of COMMAND, or hutch's.\n",
  .operands = CMD_VALUE_COMMAND,
  .fn = cmd_help_command,
};

static const struct cmd_def *const commands[] = {
  /* A new command is a line of its own, not a reflowed table.  */
  /* clang-format off */
  &cmd_run_def,   &cmd_pull_def,   &cmd_push_def, &cmd_login_def, &cmd_logout_def, &cmd_images_def,
  &cmd_image_def, &cmd_import_def, &cmd_load_def, &cmd_save_def,  &cmd_rmi_def,    &cmd_tag_def,
  &cmd_version_def,
  &cmd_volume_def,
  &cmd_create_def, &cmd_start_def, &cmd_stop_def, &cmd_kill_def, &cmd_restart_def, &cmd_rm_def,
  &cmd_wait_def, &cmd_rename_def, &cmd_pause_def, &cmd_unpause_def, &cmd_port_def,
  &cmd_ps_def, &cmd_inspect_def, &cmd_top_def, &cmd_attach_def, &cmd_container_def,
  &cmd_logs_def,
  &cmd_diff_def, &cmd_export_def, &cmd_commit_def, &cmd_cp_def,
  &cmd_exec_def,
  &cmd_stats_def,
  &cmd_build_def,
  &cmd_info_def,  &completion_def, &help_def,     NULL,
  /* clang-format on */
};

enum
{
  OPT_ROOT = 256,
  OPT_STORAGE_DRIVER,
  OPT_VERSION,
  OPT_CDI_SPEC_DIR,
};

static const struct cmd_opt global_opts[] = {
  { "root", OPT_ROOT, required_argument, "DIR", "the image store (default: $XDG_DATA_HOME/hutch)",
    CMD_VALUE_DIR },
  { "storage-driver", OPT_STORAGE_DRIVER, required_argument, "NAME",
    "overlay, fuse-overlayfs or vfs (default: probed)", "overlay fuse-overlayfs vfs" },
  { "cdi-spec-dir", OPT_CDI_SPEC_DIR, required_argument, "DIR",
    "read CDI specs (--device VENDOR/CLASS=NAME) from\nDIR instead of /etc/cdi and /var/run/cdi\n"
    "(repeatable: a later DIR's device wins)",
    CMD_VALUE_DIR },
  { "version", OPT_VERSION, no_argument, NULL, "show the version", NULL },
  { 0 },
};

static const struct cmd_def hutch_def = {
  .name = "hutch",
  .usage = "Usage: hutch [GLOBAL OPTIONS] COMMAND [ARGS...]\n"
           "\n"
           "Run Linux containers as an unprivileged user: no root, no daemon.\n",
  .opts = global_opts,
  .epilogue = "`hutch COMMAND --help` describes a command; see also hutch(1).\n",
  .subs = commands,
};

struct cmd_globals cmd_globals = { NULL, -1, NULL };

int
cmd_next_opt (const struct cmd_def *def, int argc, char **argv, int *ret)
{
  int c = cmd_opt_next ("hutch", def, argc, argv, ret);
  return c == CMD_OPT_EXIT ? 1000 : c;
}

static int
cmd_completion (int argc, char **argv)
{
  int c, ret = 0;

  optind = 1;
  while ((c = cmd_next_opt (&completion_def, argc, argv, &ret)) != -1)
    if (c == 1000)
      return ret;
  if (argc - optind != 1 || cmd_complete_script (argv[optind], "hutch", &hutch_def, stdout) < 0)
    {
      fprintf (stderr, "hutch completion: expected one SHELL: bash, zsh or fish\n");
      return HUTCH_EXIT_ERROR;
    }
  return 0;
}

/* `hutch help [COMMAND [SUBCOMMAND]]`: that command's --help.  */
static int
cmd_help_command (int argc, char **argv)
{
  const struct cmd_def *def = &hutch_def, *sub;
  int i;

  for (i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--help") == 0 || strcmp (argv[i], "-h") == 0)
        def = def == &hutch_def ? &help_def : def;
      else if ((sub = cmd_find_sub (def, argv[i])) != NULL)
        def = sub;
      else
        {
          fprintf (stderr, "hutch help: unknown command `%s`; see `hutch --help`\n", argv[i]);
          return HUTCH_EXIT_ERROR;
        }
    }
  cmd_help (def, stdout);
  return 0;
}

/* The global options, before the command: 0 to go on, or the exit code.  */
static int
global_options (int argc, char **argv, int *ret)
{
  int c;

  optind = 1;
  while ((c = cmd_opt_next ("hutch", &hutch_def, argc, argv, ret)) != -1)
    switch (c)
      {
      case CMD_OPT_EXIT:
        return 1;
      case OPT_VERSION:
        printf ("hutch %s\n", PACKAGE_VERSION);
        *ret = 0;
        return 1;
      case OPT_ROOT:
        if (*optarg == '\0')
          {
            fprintf (stderr, "hutch: --root needs a directory; see `hutch --help`\n");
            *ret = HUTCH_EXIT_ERROR;
            return 1;
          }
        cmd_globals.root = optarg;
        break;
      case OPT_CDI_SPEC_DIR:
        if (*optarg == '\0')
          {
            fprintf (stderr, "hutch: --cdi-spec-dir needs a directory; see `hutch --help`\n");
            *ret = HUTCH_EXIT_ERROR;
            return 1;
          }
        if (cmd_globals.cdi_spec_dirs == NULL)
          cmd_globals.cdi_spec_dirs = hutch_xmalloc0 (sizeof (char *));
        hutch_strv_push (&cmd_globals.cdi_spec_dirs, hutch_xstrdup (optarg));
        break;
      case OPT_STORAGE_DRIVER:
        cmd_globals.storage_driver = hutch_storage_from_name (optarg);
        if (cmd_globals.storage_driver < 0)
          {
            fprintf (stderr,
                     "hutch: --storage-driver `%s`: expected overlay, fuse-overlayfs or vfs\n",
                     optarg);
            *ret = HUTCH_EXIT_ERROR;
            return 1;
          }
        break;
      }
  return 0;
}

/* The store's commands: they see the containers' use of images and
   volumes, which a dead container's record must not hold.  Not for
   --help, which changes nothing.  */
static bool
sweeps (const struct cmd_def *def, int argc, char **argv)
{
  const struct cmd_def *const which[]
      = { &cmd_images_def, &cmd_image_def,  &cmd_rmi_def, &cmd_volume_def,
          &cmd_load_def,   &cmd_import_def, &cmd_pull_def };
  size_t i;
  int k;

  for (k = optind; k < argc; k++)
    if (strcmp (argv[k], "--help") == 0 || strcmp (argv[k], "-h") == 0)
      return false;
  for (i = 0; i < sizeof which / sizeof which[0]; i++)
    if (def == which[i])
      return true;
  return false;
}

int
main (int argc, char **argv)
{
  const struct cmd_def *def;
  int ret = 0;

  cmd_output_init ("hutch", true);
  /* The global options' messages name no command: argv[0] is "hutch".  */
  argv[0] = (char *)"hutch";
  if (global_options (argc, argv, &ret) != 0)
    return ret;
  if (optind >= argc)
    {
      cmd_help (&hutch_def, stderr);
      return HUTCH_EXIT_ERROR;
    }
  def = cmd_find_sub (&hutch_def, argv[optind]);
  if (def == NULL)
    {
      fprintf (stderr, "hutch: unknown command `%s`; see `hutch --help`\n", argv[optind]);
      return HUTCH_EXIT_ERROR;
    }
  if (sweeps (def, argc, argv))
    {
      /* What a killed container left is cleaned by the next command
         (those that run containers and manage them do it themselves).  */
      hutch_error_t err = HUTCH_ERROR_INIT;
      char *root = hutch_image_store_root (cmd_globals.root, &err), *ctrs = NULL;
      /* Nothing is made for it: a store without containers has none to
         clean.  */
      if (root)
        ctrs = hutch_xasprintf ("%s/containers", root);
      free (root);
      root = NULL;
      if (ctrs && access (ctrs, F_OK) == 0)
        root = hutch_ctrs_root (cmd_globals.root, &err);
      if (root)
        hutch_ctrs_sweep (root);
      free (root);
      free (ctrs);
      hutch_error_clear (&err);
    }
  return def->fn (argc - optind, argv + optind);
}
