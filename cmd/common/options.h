/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_CMD_OPTIONS_H
#define HUTCH_CMD_OPTIONS_H

/* The one shape of a command's options.  Each command is described by a
   table (struct cmd_def): its options with their help text and the kind of
   value they take.  --help, the option parser and the shell completions
   (cmd/common/complete.c) are all made from that table, so that none of
   them can say something the others do not.  */

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

/* What an option's value or a command's operands are, for completion: one
   of these, or a list of the words allowed ("missing always never"), or
   NULL for free text.  */
#define CMD_VALUE_FILE "@file"
#define CMD_VALUE_DIR "@dir"
#define CMD_VALUE_IMAGE "@image"
#define CMD_VALUE_VOLUME "@volume"       /* a volume's name, as `PROG volume ls -q` lists them */
#define CMD_VALUE_COMMAND "@command"     /* a command name: `hutch help run` */
#define CMD_VALUE_CONTAINER "@container" /* a container's name, as `PROG ps -a` lists them */

struct cmd_opt
{
  const char *name;   /* the long name, or NULL for a short option alone */
  int key;            /* what cmd_opt_next returns: the short letter, or a value >= 256 */
  int has_arg;        /* no_argument, required_argument or optional_argument */
  const char *arg;    /* the value's name in --help ("DIR"), for an option with a value */
  const char *help;   /* its line in --help; '\n' starts another line */
  const char *values; /* what the value is, for completion (see above) */
};

/* Options may come after operands (`hutch pull IMAGE -q`); without it,
   the first operand ends the options (`hutch run IMAGE ls -l`).  */
#define CMD_PERMUTE 1u
/* Not listed among the commands (an alias).  */
#define CMD_HIDDEN 2u

struct cmd_def
{
  const char *name;           /* as typed after the program's name, or its parent's */
  const char *summary;        /* one line, for the list of commands */
  const char *usage;          /* "Usage: ..." and the description, ending with a newline */
  const struct cmd_opt *opts; /* ends with an entry whose key is 0; NULL: none */
  const char *epilogue;       /* printed after the options, or NULL */
  const char *operands;       /* what the operands are, for completion (see above) */
  int (*fn) (int argc, char **argv);
  unsigned flags;
  const struct cmd_def *const *subs; /* subcommands, NULL-terminated, or NULL */
};

/* What cmd_opt_next returns when the caller must return *RET: after
   --help (0), or after an option error it reported (125).  */
#define CMD_OPT_EXIT (-2)

/* The next option of ARGV by DEF's table (optind and optarg as getopt's),
   -1 at the end of the options, or CMD_OPT_EXIT.  -h/--help is every
   command's.  Long options are taken by their whole name only, as docker
   and podman take them: getopt_long alone accepts any unambiguous prefix,
   so `--priv` would turn on --privileged and `--pids=5` would be read as
   `--pids-limit 5`.  PROG names the program in messages ("hutch"), and
   argv[0] the command.  */
int cmd_opt_next (const char *prog, const struct cmd_def *def, int argc, char **argv, int *ret);

/* DEF's --help: its usage, the options, the epilogue.  */
void cmd_help (const struct cmd_def *def, FILE *f);

/* Commands with subcommands (`hutch image ls`): the subcommand DEF names
   in argv[1], or NULL.  */
const struct cmd_def *cmd_find_sub (const struct cmd_def *def, const char *name);

/* Print the completion script of SHELL ("bash", "zsh" or "fish") for the
   program PROG, whose global options and commands are ROOT's; -1 for
   another shell.  */
int cmd_complete_script (const char *shell, const char *prog, const struct cmd_def *root, FILE *f);

#endif
