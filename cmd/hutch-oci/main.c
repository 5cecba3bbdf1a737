/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* hutch-oci: the command line of an OCI runtime (runc, crun), for podman,
   Slurm and containerd.  Only `run` exists so far; it shares every line
   below the front end with `hutch run`.  */

#include "runtime/container.h"
#include "base/error.h"
#include "runtime/spec.h"
#include "base/util.h"
#include "common/options.h"
#include "common/output.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[]
    = "Usage: hutch-oci [--help] [--version] run [--bundle DIR] ID\n"
      "\n"
      "An OCI runtime command line (as runc and crun) backed by hutch.\n"
      "\n"
      "Commands:\n"
      "  run        create and run the container of bundle DIR, wait for it\n"
      "\n"
      "Options of run:\n"
      "  --bundle DIR   the bundle: DIR/config.json and its root (default: .)\n"
      "\n"
      "See hutch-oci(1).\n";

static bool
valid_id (const char *id)
{
  size_t i;
  if (id[0] == '\0' || strlen (id) > 1024)
    return false;
  for (i = 0; id[i]; i++)
    if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z')
          || (id[i] >= '0' && id[i] <= '9') || id[i] == '-' || id[i] == '_' || id[i] == '.'))
      return false;
  return true;
}

static int
cmd_run (int argc, char **argv)
{
  static const struct option options[] = {
    { "bundle", required_argument, NULL, 'b' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_spec_ struct hutch_spec *spec = NULL;
  _cleanup_free_ char *bundle = NULL;
  char buf[PATH_MAX];
  int c, status = 0;

  opterr = 0;
  optind = 1;
  while ((c = cmd_getopt (argc, argv, "+b:h", options)) != -1)
    switch (c)
      {
      case 'b':
        free (bundle);
        bundle = hutch_xstrdup (optarg);
        break;
      case 'h':
        fputs (usage, stdout);
        return 0;
      default:
        fprintf (stderr, "hutch-oci run: unknown option `%s`; see `hutch-oci --help`\n",
                 argv[optind - 1]);
        return HUTCH_EXIT_ERROR;
      }
  if (optind != argc - 1)
    {
      fprintf (stderr,
               "hutch-oci run: expected exactly one container ID; see `hutch-oci --help`\n");
      return HUTCH_EXIT_ERROR;
    }
  if (!valid_id (argv[optind]))
    {
      fprintf (stderr,
               "hutch-oci run: `%s` is not a valid container ID (letters, digits, -, _, .)\n",
               argv[optind]);
      return HUTCH_EXIT_ERROR;
    }
  if (bundle == NULL || bundle[0] != '/')
    {
      _cleanup_free_ char *rel = HUTCH_STEAL_PTR (bundle);
      if (getcwd (buf, sizeof buf) == NULL)
        {
          hutch_error_set (&err, 0, "getcwd failed");
          return cmd_report (&err);
        }
      bundle = rel ? hutch_xasprintf ("%s/%s", buf, rel) : hutch_xstrdup (buf);
    }
  if (hutch_spec_load (bundle, &spec, &err) < 0)
    return cmd_report (&err);
  /* An OCI runtime passes its standard input through, as runc run does.  */
  spec->extra.interactive = true;
  /* Relative bind sources are relative to the bundle, as in runc.  */
  if (chdir (bundle) < 0)
    {
      hutch_error_set (&err, 0, "cannot enter the bundle `%s`", bundle);
      return cmd_report (&err);
    }
  if (hutch_container_run (spec, &status, &err) < 0)
    return cmd_report (&err);
  return status;
}

int
main (int argc, char **argv)
{
  cmd_output_init ("hutch-oci", false);
  if (argc < 2)
    {
      fputs (usage, stderr);
      return HUTCH_EXIT_ERROR;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)
    {
      fputs (usage, stdout);
      return 0;
    }
  if (strcmp (argv[1], "--version") == 0)
    {
      printf ("hutch-oci %s\nspec: 1.0.2\n", PACKAGE_VERSION);
      return 0;
    }
  if (strcmp (argv[1], "run") == 0)
    return cmd_run (argc - 1, argv + 1);
  fprintf (stderr,
           "hutch-oci: unknown command `%s` (only `run` exists so far); see `hutch-oci --help`\n",
           argv[1]);
  return HUTCH_EXIT_ERROR;
}
