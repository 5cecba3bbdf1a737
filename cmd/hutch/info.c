/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "hutch.h"
#include "info.h"

#include <stdio.h>
#include <string.h>

static const char usage[]
    = "Usage: hutch info [OPTIONS]\n"
      "\n"
      "Show what hutch finds on this host: kernel, user namespaces, the id-mapping\n"
      "helpers and your subordinate ranges, cgroups, overlay support, /dev/fuse,\n"
      "/dev/net/tun and the directories in use.  Each problem is printed with its\n"
      "fix.  Exits 0 when containers can run, 1 when they cannot.\n"
      "\n"
      "Options:\n"
      "  -h, --help     show this help\n";

int
cmd_info (int argc, char **argv)
{
  struct hutch_info info;
  size_t i;
  int ok;

  if (argc > 1)
    {
      if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)
        {
          fputs (usage, stdout);
          return 0;
        }
      fprintf (stderr, "hutch info: unknown argument `%s`; see `hutch info --help`\n", argv[1]);
      return HUTCH_EXIT_ERROR;
    }
  hutch_info_collect (&info);
  for (i = 0; i < info.n_items; i++)
    printf ("%s: %s\n", info.items[i].key, info.items[i].value);
  for (i = 0; info.problems && info.problems[i]; i++)
    printf ("problem: %s\n", info.problems[i]);
  ok = info.can_run;
  printf ("containers: %s\n", ok ? "can run" : "cannot run");
  hutch_info_clear (&info);
  return ok ? 0 : 1;
}
