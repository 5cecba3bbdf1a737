/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "hutch.h"
#include "image/conffile.h"
#include "image/driver.h"
#include "image/image.h"
#include "front/info.h"
#include "base/util.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>

#include <stdio.h>
#include <string.h>

static int cmd_info (int argc, char **argv);

/* "user namespaces" -> "user_namespaces", "/dev/fuse" -> "dev_fuse": the
   JSON keys follow the text's, so that the two cannot drift apart.  */
static char *
json_key (const char *key)
{
  char *k = hutch_xstrdup (key), *o = k;
  const char *p;
  for (p = key; *p; p++)
    if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))
      *o++ = *p;
    else if (*p >= 'A' && *p <= 'Z')
      *o++ = (char)(*p - 'A' + 'a');
    else if (o > k && o[-1] != '_')
      *o++ = '_';
  while (o > k && o[-1] == '_')
    o--;
  *o = '\0';
  return k;
}

/* --format json: every fact of the text, the problems split into the
   problem and its fix, and the verdict.  */
static void
print_json (const struct hutch_info *info)
{
  json_t *obj = json_object (), *problems = json_array ();
  char *text;
  size_t i;

  for (i = 0; i < info->n_items; i++)
    {
      _cleanup_free_ char *k = json_key (info->items[i].key);
      json_object_set_new (obj, k, json_string (info->items[i].value));
    }
  for (i = 0; i < info->n_problems; i++)
    {
      const char *t = info->problems[i].text, *fix = strstr (t, "; fix: ");
      _cleanup_free_ char *cause = fix ? hutch_xstrndup (t, (size_t)(fix - t)) : hutch_xstrdup (t);
      json_array_append_new (problems, json_pack ("{s:s, s:s?, s:b}", "problem", cause, "fix",
                                                  fix ? fix + 7 : NULL, "blocks_run",
                                                  info->problems[i].blocks));
    }
  json_object_set_new (obj, "problems", problems);
  json_object_set_new (obj, "can_run", json_boolean (info->can_run));
  json_object_set_new (obj, "containers", json_string (info->can_run ? "can run" : "cannot run"));
  text = json_dumps (obj, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
  printf ("%s\n", text);
  free (text);
  json_decref (obj);
}

static void
print_text (const struct hutch_info *info)
{
  size_t i;
  for (i = 0; i < info->n_items; i++)
    printf ("%s: %s\n", info->items[i].key, info->items[i].value);
  for (i = 0; i < info->n_problems; i++)
    printf ("problem: %s\n", info->problems[i].text);
  printf ("containers: %s\n", info->can_run ? "can run" : "cannot run");
}

/* The store that hutch run would use, and its driver.  */
static int
collect_storage (struct hutch_info *info)
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
          return cmd_report (&err);
        }
      if (conf.storage_driver)
        forced = hutch_storage_from_name (conf.storage_driver);
      hutch_conf_clear (&conf);
    }
  hutch_info_storage (info, root, forced);
  free (root);
  return 0;
}

static const struct cmd_opt info_opts[] = {
  { "format", 'f', required_argument, "FORMAT", "text (default) or json", "text json" },
  { 0 },
};

const struct cmd_def cmd_info_def = {
  .name = "info",
  .summary = "show what hutch finds on this host",
  .usage = "Usage: hutch info [OPTIONS]\n"
           "\n"
           "Show what hutch finds on this host: kernel, user namespaces, the id-mapping\n"
           "helpers and your subordinate ranges, cgroups, overlay support, /dev/fuse,\n"
           "/dev/net/tun, hutch's own helpers and the directories in use.  Each problem\n"
           "is printed with its fix.  Exits 0 when containers can run, 1 when they\n"
           "cannot: the checks are those hutch run makes.\n",
  .opts = info_opts,
  .fn = cmd_info,
};

static int
cmd_info (int argc, char **argv)
{
  struct hutch_info info;
  bool json = false;
  int c, ret = 0, ok;

  optind = 1;
  while ((c = cmd_next_opt (&cmd_info_def, argc, argv, &ret)) != -1)
    {
      if (c == 1000)
        return ret;
      if (c == 'f')
        {
          json = strcmp (optarg, "json") == 0;
          if (!json && strcmp (optarg, "text") != 0)
            {
              fprintf (stderr, "hutch info: --format `%s`: expected text or json\n", optarg);
              return HUTCH_EXIT_ERROR;
            }
        }
    }
  if (optind < argc)
    {
      fprintf (stderr, "hutch info: unexpected argument `%s`; see `hutch info --help`\n",
               argv[optind]);
      return HUTCH_EXIT_ERROR;
    }
  hutch_info_collect (&info);
  ret = collect_storage (&info);
  if (ret != 0)
    {
      hutch_info_clear (&info);
      return ret;
    }
  if (json)
    print_json (&info);
  else
    print_text (&info);
  ok = info.can_run;
  hutch_info_clear (&info);
  return ok ? 0 : 1;
}
