/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* `hutch volume`: create, ls, inspect, rm, prune (src/image/volume.h).  */

#include "hutch.h"
#include "image/image.h"
#include "image/volume.h"
#include "base/parse.h"
#include "base/util.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int volume_create (int argc, char **argv);
static int volume_ls (int argc, char **argv);
static int volume_inspect (int argc, char **argv);
static int volume_rm (int argc, char **argv);
static int volume_prune (int argc, char **argv);
static int cmd_volume (int argc, char **argv);

enum
{
  OPT_LABEL = 256,
  OPT_DRIVER,
};

static const struct cmd_opt create_opts[] = {
  { "label", OPT_LABEL, required_argument, "KEY=VALUE", "a label of the volume (repeatable)",
    NULL },
  { "driver", 'd', required_argument, "NAME", "local, the only driver (docker's default)",
    "local" },
  { 0 },
};

static const struct cmd_def create_def = {
  .name = "create",
  .summary = "make a volume",
  .usage = "Usage: hutch volume create [OPTIONS] [NAME]\n"
           "\n"
           "Make the volume NAME (a random name without it) and print its name.  `hutch run\n"
           "-v NAME:/path` makes one too, when NAME does not exist yet.\n",
  .opts = create_opts,
  .fn = volume_create,
  .flags = CMD_PERMUTE,
};

static const struct cmd_opt ls_opts[] = {
  { "format", 'f', required_argument, "FORMAT", "table (default) or json", "table json" },
  { "quiet", 'q', no_argument, NULL, "only the names", NULL },
  { 0 },
};

static const struct cmd_def ls_def = {
  .name = "ls",
  .summary = "list the volumes",
  .usage = "Usage: hutch volume ls [OPTIONS]\n\nList the volumes in the store.\n",
  .opts = ls_opts,
  .fn = volume_ls,
};

static const struct cmd_def list_def = {
  .name = "list",
  .summary = "list the volumes (as ls)",
  .usage = "Usage: hutch volume list [OPTIONS]\n\nList the volumes in the store (as ls).\n",
  .opts = ls_opts,
  .fn = volume_ls,
  .flags = CMD_HIDDEN,
};

static const struct cmd_def inspect_def = {
  .name = "inspect",
  .summary = "print the volumes' records as JSON",
  .usage = "Usage: hutch volume inspect NAME...\n"
           "\n"
           "Print the volumes' records as a JSON array, as podman does: Name, Driver,\n"
           "Mountpoint, CreatedAt, Labels, Scope, Options and Anonymous.\n",
  .operands = CMD_VALUE_VOLUME,
  .fn = volume_inspect,
  .flags = CMD_PERMUTE,
};

static const struct cmd_opt rm_opts[] = {
  { "force", 'f', no_argument, NULL,
    "remove even a volume a running container uses;\nno error for a volume that does not exist",
    NULL },
  { 0 },
};

static const struct cmd_def rm_def = {
  .name = "rm",
  .summary = "remove volumes",
  .usage = "Usage: hutch volume rm [OPTIONS] NAME...\n"
           "\n"
           "Remove volumes and their content.  A volume that a running container uses is\n"
           "not removed, unless -f.\n",
  .opts = rm_opts,
  .operands = CMD_VALUE_VOLUME,
  .fn = volume_rm,
  .flags = CMD_PERMUTE,
};

static const struct cmd_def remove_def = {
  .name = "remove",
  .summary = "remove volumes (as rm)",
  .usage = "Usage: hutch volume remove [OPTIONS] NAME...\n\nRemove volumes (as rm).\n",
  .opts = rm_opts,
  .operands = CMD_VALUE_VOLUME,
  .fn = volume_rm,
  .flags = CMD_PERMUTE | CMD_HIDDEN,
};

static const struct cmd_opt prune_opts[] = {
  { "force", 'f', no_argument, NULL, "do not ask (needed when stdin is no terminal)", NULL },
  { 0 },
};

static const struct cmd_def prune_def = {
  .name = "prune",
  .summary = "remove every volume no running container uses",
  .usage = "Usage: hutch volume prune [OPTIONS]\n"
           "\n"
           "Remove every volume that no running container uses, with its content, after\n"
           "asking (unless -f).\n",
  .opts = prune_opts,
  .fn = volume_prune,
};

static const struct cmd_def *const volume_subs[] = {
  &create_def, &inspect_def, &ls_def, &list_def, &prune_def, &rm_def, &remove_def, NULL,
};

const struct cmd_def cmd_volume_def = {
  .name = "volume",
  .summary = "manage volumes: create, inspect, ls, prune, rm",
  .usage = "Usage: hutch volume COMMAND [ARGS...]\n"
           "\n"
           "Manage volumes: directories of the store that outlive containers.\n",
  .fn = cmd_volume,
  .subs = volume_subs,
};

/* "hutch volume SUB": for messages.  */
static char prog[64];

static int
open_store (struct hutch_store **s)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  if (hutch_image_store_open (cmd_globals.root, s, &err) < 0)
    return cmd_report (&err);
  return 0;
}

static int
volume_create (int argc, char **argv)
{
  _cleanup_store_ struct hutch_store *s = NULL;
  _cleanup_strv_ char **labels = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_volume_info info;
  int c, ret = 0;

  optind = 1;
  while ((c = cmd_next_opt (&create_def, argc, argv, &ret)) != -1)
    {
      if (c == 1000)
        return ret;
      if (c == OPT_LABEL && (optarg[0] == '\0' || optarg[0] == '='))
        {
          fprintf (stderr, "%s: --label `%s`: expected KEY=VALUE\n", prog, optarg);
          return HUTCH_EXIT_ERROR;
        }
      if (c == OPT_LABEL)
        hutch_strv_push (&labels, hutch_xstrdup (optarg));
      else if (c == 'd' && strcmp (optarg, "local") != 0)
        {
          fprintf (stderr, "%s: --driver `%s`: hutch has the local driver only\n", prog, optarg);
          return HUTCH_EXIT_ERROR;
        }
    }
  if (argc - optind > 1)
    {
      fprintf (stderr, "%s: expected at most one NAME; see `%s --help`\n", prog, prog);
      return HUTCH_EXIT_ERROR;
    }
  if ((ret = open_store (&s)) != 0)
    return ret;
  if (hutch_volume_create (s, optind < argc ? argv[optind] : NULL, labels, &info, &err) < 0)
    return cmd_report (&err);
  printf ("%s\n", info.name);
  hutch_volume_info_clear (&info);
  return 0;
}

/* podman's record of a volume (its inspect and `ls --format json`).  */
static json_t *
volume_json (const struct hutch_volume_info *v)
{
  json_t *labels = json_object ();
  size_t i;

  for (i = 0; v->labels && v->labels[i]; i++)
    {
      const char *eq = strchr (v->labels[i], '=');
      _cleanup_free_ char *k = hutch_xstrndup (v->labels[i], (size_t)(eq - v->labels[i]));
      json_object_set_new (labels, k, json_string (eq + 1));
    }
  return json_pack ("{s:s, s:s, s:s, s:s, s:o, s:s, s:{}, s:b}", "Name", v->name, "Driver", "local",
                    "Mountpoint", v->mountpoint, "CreatedAt", v->created, "Labels", labels, "Scope",
                    "local", "Options", "Anonymous", v->anonymous);
}

static void
print_json (json_t *arr)
{
  char *text = json_dumps (arr, JSON_INDENT (4));
  printf ("%s\n", text);
  free (text);
  json_decref (arr);
}

static int
volume_ls (int argc, char **argv)
{
  _cleanup_store_ struct hutch_store *s = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_volume_info *v = NULL;
  bool json = false, quiet = false;
  size_t n = 0, i;
  int c, ret = 0;

  optind = 1;
  while ((c = cmd_next_opt (&ls_def, argc, argv, &ret)) != -1)
    {
      if (c == 1000)
        return ret;
      if (c == 'q')
        quiet = true;
      else if (c == 'f' && strcmp (optarg, "json") != 0 && strcmp (optarg, "table") != 0)
        {
          fprintf (stderr, "%s: --format `%s`: expected table or json\n", prog, optarg);
          return HUTCH_EXIT_ERROR;
        }
      else if (c == 'f')
        json = strcmp (optarg, "json") == 0;
    }
  if (optind < argc || (quiet && json))
    {
      fprintf (stderr, "%s: %s%s%s\n", prog, optind < argc ? "unexpected argument `" : "",
               optind < argc ? argv[optind] : "-q and --format json do not go together; choose one",
               optind < argc ? "`" : "");
      return HUTCH_EXIT_ERROR;
    }
  if ((ret = open_store (&s)) != 0)
    return ret;
  if (hutch_volume_list (s, &v, &n, &err) < 0)
    return cmd_report (&err);
  if (json)
    {
      json_t *arr = json_array ();
      for (i = 0; i < n; i++)
        json_array_append_new (arr, volume_json (&v[i]));
      print_json (arr);
    }
  else
    {
      if (!quiet)
        printf ("%-12s%s\n", "DRIVER", "VOLUME NAME");
      for (i = 0; i < n; i++)
        printf (quiet ? "%s%s\n" : "%-12s%s\n", quiet ? "" : "local", v[i].name);
    }
  hutch_volume_info_list_free (v, n);
  return 0;
}

static int
volume_inspect (int argc, char **argv)
{
  _cleanup_store_ struct hutch_store *s = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  json_t *arr;
  int c, ret = 0, i;

  optind = 1;
  while ((c = cmd_next_opt (&inspect_def, argc, argv, &ret)) != -1)
    if (c == 1000)
      return ret;
  if (optind >= argc)
    {
      fprintf (stderr, "%s: name the volumes; see `%s --help`\n", prog, prog);
      return HUTCH_EXIT_ERROR;
    }
  if ((ret = open_store (&s)) != 0)
    return ret;
  arr = json_array ();
  for (i = optind; i < argc; i++)
    {
      struct hutch_volume_info info;
      if (hutch_volume_inspect (s, argv[i], &info, &err) < 0)
        {
          json_decref (arr);
          return cmd_report (&err);
        }
      json_array_append_new (arr, volume_json (&info));
      hutch_volume_info_clear (&info);
    }
  print_json (arr);
  return 0;
}

static int
volume_rm (int argc, char **argv)
{
  _cleanup_store_ struct hutch_store *s = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  bool force = false;
  int c, ret = 0, i, r;

  optind = 1;
  while ((c = cmd_next_opt (&rm_def, argc, argv, &ret)) != -1)
    {
      if (c == 1000)
        return ret;
      if (c == 'f')
        force = true;
    }
  if (optind >= argc)
    {
      fprintf (stderr, "%s: name the volumes to remove; see `%s --help`\n", prog, prog);
      return HUTCH_EXIT_ERROR;
    }
  if ((ret = open_store (&s)) != 0)
    return ret;
  /* Each name on its own: one that fails does not keep the others.  */
  for (i = optind; i < argc; i++)
    {
      r = hutch_volume_remove (s, argv[i], force, &err);
      if (r == 0)
        {
          printf ("%s\n", argv[i]);
          fflush (stdout); /* in order with the messages on stderr */
        }
      else if (r == -ENOENT && force)
        hutch_error_clear (&err);
      else
        ret = cmd_report (&err);
    }
  return ret;
}

/* podman asks before a prune; without a terminal to ask on, hutch wants
   -f rather than guess.  */
static bool
confirm_prune (void)
{
  char line[64];

  if (!isatty (STDIN_FILENO))
    {
      fprintf (stderr,
               "%s: removes every volume no running container uses, and asks first; stdin is "
               "no terminal to ask on: give -f to remove them without asking\n",
               prog);
      return false;
    }
  fprintf (stderr, "WARNING! This removes every volume that no running container uses, with its "
                   "content.\nAre you sure you want to continue? [y/N] ");
  fflush (stderr);
  if (fgets (line, sizeof line, stdin) == NULL)
    return false;
  return strcmp (line, "y\n") == 0 || strcmp (line, "Y\n") == 0 || strcmp (line, "yes\n") == 0;
}

static int
volume_prune (int argc, char **argv)
{
  _cleanup_store_ struct hutch_store *s = NULL;
  _cleanup_strv_ char **removed = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  bool force = false;
  size_t i;
  int c, ret = 0;

  optind = 1;
  while ((c = cmd_next_opt (&prune_def, argc, argv, &ret)) != -1)
    {
      if (c == 1000)
        return ret;
      if (c == 'f')
        force = true;
    }
  if (optind < argc)
    {
      fprintf (stderr, "%s: unexpected argument `%s`\n", prog, argv[optind]);
      return HUTCH_EXIT_ERROR;
    }
  if (!force && !confirm_prune ())
    return HUTCH_EXIT_ERROR;
  if ((ret = open_store (&s)) != 0)
    return ret;
  ret = hutch_volume_prune (s, &removed, &err) < 0 ? HUTCH_EXIT_ERROR : 0;
  for (i = 0; removed && removed[i]; i++)
    printf ("%s\n", removed[i]);
  if (ret)
    return cmd_report (&err);
  return 0;
}

static int
cmd_volume (int argc, char **argv)
{
  const struct cmd_def *sub;
  int c, ret = 0;

  optind = 1;
  while ((c = cmd_next_opt (&cmd_volume_def, argc, argv, &ret)) != -1)
    if (c == 1000)
      return ret;
  if (optind >= argc)
    {
      cmd_help (&cmd_volume_def, stderr);
      return HUTCH_EXIT_ERROR;
    }
  sub = cmd_find_sub (&cmd_volume_def, argv[optind]);
  if (sub == NULL)
    {
      fprintf (stderr, "hutch volume: unknown command `%s`; see `hutch volume --help`\n",
               argv[optind]);
      return HUTCH_EXIT_ERROR;
    }
  snprintf (prog, sizeof prog, "hutch volume %s", sub->name);
  /* Option errors say "hutch volume ls: ..." (cmd_opt_next adds "hutch").  */
  argv[optind] = prog + strlen ("hutch ");
  return sub->fn (argc - optind, argv + optind);
}
