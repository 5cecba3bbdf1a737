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
#include "hutch-oci/oci.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmd_run (int argc, char **argv);

static const struct cmd_opt run_opts[] = {
  { "bundle", 'b', required_argument, "DIR",
    "the bundle: DIR/config.json and its root (default: .)", CMD_VALUE_DIR },
  { 0 },
};

static const struct cmd_def run_def = {
  .name = "run",
  .summary = "create and run the container of bundle DIR, wait for it",
  .usage = "Usage: hutch-oci run [--bundle DIR] ID\n"
           "\n"
           "Create and run the container ID of bundle DIR, and wait for it: the exit code\n"
           "is the container's.\n",
  .opts = run_opts,
  .fn = cmd_run,
  .flags = CMD_PERMUTE,
};

static const struct cmd_def *const commands[]
    = { &run_def, &oci_features_def, &oci_spec_def, NULL };

enum
{
  OPT_VERSION = 256,
};

static const struct cmd_opt global_opts[] = {
  { "version", OPT_VERSION, no_argument, NULL, "show the version", NULL },
  { 0 },
};

static const struct cmd_def oci_def = {
  .name = "hutch-oci",
  .usage = "Usage: hutch-oci [GLOBAL OPTIONS] COMMAND [OPTIONS] ID\n"
           "\n"
           "An OCI runtime command line (as runc and crun) backed by hutch.\n",
  .opts = global_opts,
  .epilogue = "`hutch-oci COMMAND --help` describes a command; see hutch-oci(1).\n",
  .subs = commands,
};

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
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_spec_ struct hutch_spec *spec = NULL;
  _cleanup_free_ char *bundle = NULL;
  char buf[PATH_MAX];
  int c, status = 0;

  optind = 1;
  while ((c = cmd_opt_next ("hutch-oci", &run_def, argc, argv, &status)) != -1)
    {
      if (c == CMD_OPT_EXIT)
        return status;
      free (bundle);
      bundle = hutch_xstrdup (optarg);
    }
  if (optind != argc - 1)
    {
      fprintf (stderr,
               "hutch-oci run: expected exactly one container ID; see `hutch-oci run --help`\n");
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
  const struct cmd_def *def;
  int c, ret = 0;

  cmd_output_init ("hutch-oci", false);
  argv[0] = (char *)"hutch-oci";
  optind = 1;
  while ((c = cmd_opt_next ("hutch-oci", &oci_def, argc, argv, &ret)) != -1)
    {
      if (c == CMD_OPT_EXIT)
        return ret;
      printf ("hutch-oci version %s\nspec: %s\n", PACKAGE_VERSION, HUTCH_OCI_SPEC_VERSION);
      return 0;
    }
  if (optind >= argc)
    {
      cmd_help (&oci_def, stderr);
      return HUTCH_EXIT_ERROR;
    }
  def = cmd_find_sub (&oci_def, argv[optind]);
  if (def == NULL)
    {
      fprintf (stderr,
               "hutch-oci: unknown command `%s` (only `run` exists so far); see `hutch-oci "
               "--help`\n",
               argv[optind]);
      return HUTCH_EXIT_ERROR;
    }
  return def->fn (argc - optind, argv + optind);
}
