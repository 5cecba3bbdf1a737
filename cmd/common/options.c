/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "common/options.h"

#include <stdbool.h>
#include <string.h>

int
cmd_getopt (int argc, char **argv, const char *shortopts, const struct option *opts)
{
  int idx = -1, c = getopt_long (argc, argv, shortopts, opts, &idx);
  bool separate;
  const char *arg;
  size_t n;

  if (c == -1 || c == '?' || c == ':' || idx < 0)
    return c;
  /* A long option: the argument it came from is the last one getopt_long
     took, or the one before when the value was a separate argument.  */
  separate = optarg != NULL && optind >= 2 && optarg == argv[optind - 1];
  arg = argv[optind - (separate ? 2 : 1)];
  n = strlen (opts[idx].name);
  if (strncmp (arg, "--", 2) == 0 && strncmp (arg + 2, opts[idx].name, n) == 0
      && (arg[2 + n] == '\0' || arg[2 + n] == '='))
    return c;
  if (separate)
    optind--;
  return '?';
}
