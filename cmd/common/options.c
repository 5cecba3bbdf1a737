/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "common/options.h"
#include "base/error.h"

#include <stdbool.h>
#include <string.h>

/* Room for the biggest table (hutch run's) and --help.  */
#define MAX_OPTS 128

static const struct cmd_opt help_opt = { "help", 'h', no_argument, NULL, "show this help", NULL };

/* The command whose options are being read, until they end.  */
static const struct cmd_def *parsing;

/* getopt_long's view of the table last used: made once per command.  */
static struct
{
  const struct cmd_def *def;
  struct option longs[MAX_OPTS + 1];
  int index[MAX_OPTS + 1]; /* longs[i] is table entry index[i] (-1: --help) */
  char shorts[3 * MAX_OPTS + 2];
} parser;

static void
add_opt (const struct cmd_opt *o, int idx, size_t *nl, size_t *ns)
{
  if (o->name)
    {
      parser.longs[*nl] = (struct option){ o->name, o->has_arg, NULL, o->key };
      parser.index[(*nl)++] = idx;
    }
  if (o->key > 0 && o->key < 256)
    {
      parser.shorts[(*ns)++] = (char)o->key;
      if (o->has_arg != no_argument)
        parser.shorts[(*ns)++] = ':';
      if (o->has_arg == optional_argument)
        parser.shorts[(*ns)++] = ':';
    }
}

static void
build_parser (const struct cmd_def *def)
{
  size_t nl = 0, ns = 0, i;

  if (parser.def == def)
    return;
  memset (&parser, 0, sizeof parser);
  parser.def = def;
  /* '+': stop at the first operand, unless the command permutes; ':'
     tells a missing value from an unknown option.  */
  if (!(def->flags & CMD_PERMUTE))
    parser.shorts[ns++] = '+';
  parser.shorts[ns++] = ':';
  for (i = 0; def->opts && def->opts[i].key && nl < MAX_OPTS - 1; i++)
    add_opt (&def->opts[i], (int)i, &nl, &ns);
  add_opt (&help_opt, -1, &nl, &ns);
}

/* getopt_long, with long options by their whole name only.  A prefix is
   returned as '?' with argv[optind - 1] the argument at fault (its
   separate value, if getopt_long took one, is given back).  */
static int
exact_getopt (int argc, char **argv)
{
  int idx = -1, c = getopt_long (argc, argv, parser.shorts, parser.longs, &idx);
  bool separate;
  const char *arg;
  size_t n;

  if (c == -1 || c == '?' || c == ':' || idx < 0)
    return c;
  /* A long option: the argument it came from is the last one getopt_long
     took, or the one before when the value was a separate argument.  */
  separate = optarg != NULL && optind >= 2 && optarg == argv[optind - 1];
  arg = argv[optind - (separate ? 2 : 1)];
  n = strlen (parser.longs[idx].name);
  if (strncmp (arg, "--", 2) == 0 && strncmp (arg + 2, parser.longs[idx].name, n) == 0
      && (arg[2 + n] == '\0' || arg[2 + n] == '='))
    return c;
  if (separate)
    optind--;
  return '?';
}

int
cmd_opt_next (const char *prog, const struct cmd_def *def, int argc, char **argv, int *ret)
{
  char who[128], see[128], opt[3] = "-?";
  const char *arg;
  int c;

  /* A new parse starts afresh: glibc's getopt takes the ordering ('+' or
     permuting) and its scanning state only when optind is 0, so after the
     program's own options (parsed in order) a command that permutes would
     otherwise stop at its first operand.  */
  if (!parsing || parsing != def)
    {
      optind = 0;
      parsing = def;
    }
  build_parser (def);
  opterr = 0;
  c = exact_getopt (argc, argv);
  if (c == -1 || c == 'h' || c == ':' || c == '?')
    parsing = NULL;
  if (c == 'h')
    {
      cmd_help (def, stdout);
      *ret = 0;
      return CMD_OPT_EXIT;
    }
  if (c != ':' && c != '?')
    return c;
  /* "hutch run: ...; see `hutch run --help`", or for the program's own
     options "hutch: ...; see `hutch --help`".  */
  if (strcmp (argv[0], prog) == 0)
    {
      snprintf (who, sizeof who, "%s", prog);
      snprintf (see, sizeof see, "%s --help", prog);
    }
  else
    {
      snprintf (who, sizeof who, "%s %s", prog, argv[0]);
      snprintf (see, sizeof see, "%s %s --help", prog, argv[0]);
    }
  /* A short option is named by its letter: argv[optind - 1] may hold
     others beside it (-qz).  */
  arg = argv[optind - 1];
  if (optopt > 0 && optopt < 256 && strncmp (arg, "--", 2) != 0)
    {
      opt[1] = (char)optopt;
      arg = opt;
    }
  if (c == ':')
    fprintf (stderr, "%s: option `%s` needs a value; see `%s`\n", who, arg, see);
  else
    fprintf (stderr, "%s: unknown option `%s`; see `%s`\n", who, arg, see);
  *ret = HUTCH_EXIT_ERROR;
  return CMD_OPT_EXIT;
}

/* "  -v, --volume SRC:DST" for O, into BUF.  */
static void
opt_left (const struct cmd_opt *o, char *buf, size_t size)
{
  char shortname[8] = "    ";
  const char *arg = o->has_arg == no_argument ? NULL : o->arg;

  if (o->key > 0 && o->key < 256)
    snprintf (shortname, sizeof shortname, "-%c%s", o->key, o->name ? ", " : "");
  if (o->name == NULL)
    snprintf (buf, size, "  %s%s%s", shortname, arg ? " " : "", arg ? arg : "");
  else if (o->has_arg == optional_argument)
    snprintf (buf, size, "  %s--%s[=%s]", shortname, o->name, arg ? arg : "VALUE");
  else
    snprintf (buf, size, "  %s--%s%s%s", shortname, o->name, arg ? " " : "", arg ? arg : "");
}

/* The help column: the text of every option starts there, or two spaces
   after a longer left part.  */
#define HELP_COLUMN 30

static void
print_opt (const struct cmd_opt *o, FILE *f)
{
  char left[160];
  const char *text = o->help ? o->help : "", *nl;
  int len;

  opt_left (o, left, sizeof left);
  len = (int)strlen (left);
  fputs (left, f);
  fprintf (f, "%*s", len <= HELP_COLUMN - 2 ? HELP_COLUMN - len : 2, "");
  while ((nl = strchr (text, '\n')) != NULL)
    {
      fprintf (f, "%.*s\n%*s", (int)(nl - text), text, HELP_COLUMN, "");
      text = nl + 1;
    }
  fprintf (f, "%s\n", text);
}

void
cmd_help (const struct cmd_def *def, FILE *f)
{
  size_t i;

  fputs (def->usage, f);
  if (def->subs)
    {
      fputs ("\nCommands:\n", f);
      for (i = 0; def->subs[i]; i++)
        if (!(def->subs[i]->flags & CMD_HIDDEN))
          fprintf (f, "  %-12s %s\n", def->subs[i]->name, def->subs[i]->summary);
    }
  fputs ("\nOptions:\n", f);
  for (i = 0; def->opts && def->opts[i].key; i++)
    print_opt (&def->opts[i], f);
  print_opt (&help_opt, f);
  if (def->epilogue)
    fprintf (f, "\n%s", def->epilogue);
}

const struct cmd_def *
cmd_find_sub (const struct cmd_def *def, const char *name)
{
  size_t i;

  for (i = 0; name && def->subs && def->subs[i]; i++)
    if (strcmp (def->subs[i]->name, name) == 0)
      return def->subs[i];
  return NULL;
}
