/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "hutch.h"
#include "image/conffile.h"
#include "image/driver.h"
#include "image/image.h"
#include "front/info.h"

#include <stdlib.h>

#include <stdio.h>
#include <string.h>

static int cmd_info (int argc, char **argv);

const struct cmd_def cmd_info_def = {
  .name = "info",
  .summary = "show what hutch finds on this host",
  .usage = "Usage: hutch info [OPTIONS]\n"
           "\n"
           "Show what hutch finds on this host: kernel, user namespaces, the id-mapping\n"
           "helpers and your subordinate ranges, cgroups, overlay support, /dev/fuse,\n"
           "/dev/net/tun and the directories in use.  Each problem is printed with its\n"
           "fix.  Exits 0 when containers can run, 1 when they cannot.\n",
  .fn = cmd_info,
};

static int
cmd_info (int argc, char **argv)
{
  struct hutch_info info;
  size_t i;
  int ok, c, ret = 0;

  optind = 1;
  while ((c = cmd_next_opt (&cmd_info_def, argc, argv, &ret)) != -1)
    if (c == 1000)
      return ret;
  if (optind < argc)
    {
      fprintf (stderr, "hutch info: unexpected argument `%s`; see `hutch info --help`\n",
               argv[optind]);
      return HUTCH_EXIT_ERROR;
    }
  hutch_info_collect (&info);
  {
    hutch_error_t err = HUTCH_ERROR_INIT;
    char *root = hutch_image_store_root (cmd_globals.root, &err);
    int forced = cmd_globals.storage_driver;
    if (root == NULL)
      return cmd_report (&err);
    if (forced < 0)
      {
        struct hutch_conf conf;
        memset (&conf, 0, sizeof conf);
        if (hutch_conf_load (&conf, &err) < 0)
          {
            free (root);
            hutch_info_clear (&info);
            return cmd_report (&err);
          }
        if (conf.storage_driver)
          forced = hutch_storage_from_name (conf.storage_driver);
        hutch_conf_clear (&conf);
      }
    hutch_info_storage (&info, root, forced);
    free (root);
  }
  for (i = 0; i < info.n_items; i++)
    printf ("%s: %s\n", info.items[i].key, info.items[i].value);
  for (i = 0; info.problems && info.problems[i]; i++)
    printf ("problem: %s\n", info.problems[i]);
  ok = info.can_run;
  printf ("containers: %s\n", ok ? "can run" : "cannot run");
  hutch_info_clear (&info);
  return ok ? 0 : 1;
}
