/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "hutch.h"
#include "util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] = "Usage: hutch [--help] [--version] COMMAND [ARGS...]\n"
                            "\n"
                            "Run Linux containers as an unprivileged user: no root, no daemon.\n"
                            "\n"
                            "Commands:\n"
                            "  run       run a command in a new container\n"
                            "  info      show what hutch finds on this host\n"
                            "  help      show the help of a command\n"
                            "\n"
                            "Options:\n"
                            "  -h, --help     show this help\n"
                            "  --version      show the version\n"
                            "\n"
                            "`hutch COMMAND --help` describes a command; see also hutch(1).\n";

int
cmd_report (hutch_error_t *err)
{
  int code = err->exit_code ? err->exit_code : HUTCH_EXIT_ERROR;
  fprintf (stderr, "hutch: %s\n", err->msg ? err->msg : "unknown error");
  hutch_error_clear (err);
  return code;
}

char *
cmd_self_dir (void)
{
  char buf[PATH_MAX];
  ssize_t n = readlink ("/proc/self/exe", buf, sizeof buf - 1);
  char *slash;
  if (n <= 0)
    return NULL;
  buf[n] = '\0';
  slash = strrchr (buf, '/');
  if (slash == NULL)
    return NULL;
  *slash = '\0';
  return hutch_xstrdup (buf);
}

int
main (int argc, char **argv)
{
  const char *cmd;

  if (argc < 2)
    {
      fputs (usage, stderr);
      return HUTCH_EXIT_ERROR;
    }
  cmd = argv[1];
  if (strcmp (cmd, "--help") == 0 || strcmp (cmd, "-h") == 0)
    {
      fputs (usage, stdout);
      return 0;
    }
  if (strcmp (cmd, "--version") == 0)
    {
      printf ("hutch %s\n", PACKAGE_VERSION);
      return 0;
    }
  if (strcmp (cmd, "help") == 0)
    {
      char *h[] = { argv[2], (char *)"--help", NULL };
      if (argc < 3)
        {
          fputs (usage, stdout);
          return 0;
        }
      if (strcmp (argv[2], "run") == 0)
        return cmd_run (2, h);
      if (strcmp (argv[2], "info") == 0)
        return cmd_info (2, h);
      fprintf (stderr, "hutch: unknown command `%s`; see `hutch --help`\n", argv[2]);
      return HUTCH_EXIT_ERROR;
    }
  if (strcmp (cmd, "run") == 0)
    return cmd_run (argc - 1, argv + 1);
  if (strcmp (cmd, "info") == 0)
    return cmd_info (argc - 1, argv + 1);
  if (cmd[0] == '-')
    fprintf (stderr, "hutch: unknown option `%s`; see `hutch --help`\n", cmd);
  else
    fprintf (stderr, "hutch: unknown command `%s`; see `hutch --help`\n", cmd);
  return HUTCH_EXIT_ERROR;
}
