/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* hutch-oci pause, resume and update: parse, call src/runtime/ocirt.c,
   report.  */

#include "oci.h"
#include "runtime/ocirt.h"
#include "base/util.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const struct cmd_opt no_opts[] = { { 0 } };

static int
pause_or_resume (const struct cmd_def *def, int argc, char **argv, bool on)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_close_ int rootfd = -1;
  const char *id;
  int c, ret = 0;

  optind = 1;
  while ((c = oci_opt_next (def, argc, argv, &ret)) != -1)
    if (c == CMD_OPT_EXIT)
      return ret;
  if ((id = oci_one_id (def->name, argc, argv)) == NULL)
    return OCI_EXIT_FAIL;
  if (oci_root (&rootfd, &err) < 0 || hutch_oci_pause (rootfd, id, on, &err) < 0)
    return oci_fail (def->name, &err);
  return 0;
}

static int
cmd_pause (int argc, char **argv)
{
  return pause_or_resume (&oci_pause_def, argc, argv, true);
}

static int
cmd_resume (int argc, char **argv)
{
  return pause_or_resume (&oci_resume_def, argc, argv, false);
}

const struct cmd_def oci_pause_def = {
  .name = "pause",
  .summary = "freeze every process of a container",
  .usage = "Usage: hutch-oci pause ID\n"
           "\n"
           "Freeze the processes of container ID (its cgroup's freezer); returns once they\n"
           "are frozen.  Needs a cgroup of the container's own.\n",
  .opts = no_opts,
  .operands = CMD_VALUE_CONTAINER,
  .fn = cmd_pause,
  .flags = CMD_PERMUTE,
};

const struct cmd_def oci_resume_def = {
  .name = "resume",
  .summary = "thaw a paused container",
  .usage = "Usage: hutch-oci resume ID\n"
           "\n"
           "Thaw the processes of paused container ID.\n",
  .opts = no_opts,
  .operands = CMD_VALUE_CONTAINER,
  .fn = cmd_resume,
  .flags = CMD_PERMUTE,
};

enum
{
  OPT_RESOURCES = 'r',
  OPT_FLAG = 256, /* each of runc's flags: OPT_FLAG + its index in update_opts */
};

/* runc update's flags, in the order of update_opts below (after
   --resources): their names are the library's too.  */
static const struct cmd_opt update_opts[] = {
  { "resources", OPT_RESOURCES, required_argument, "FILE",
    "the new limits as a linux.resources object (JSON) in FILE, or - for stdin", CMD_VALUE_FILE },
  { "memory", OPT_FLAG + 1, required_argument, "SIZE", "memory limit (64m, 1g; -1: none)", NULL },
  { "memory-swap", OPT_FLAG + 2, required_argument, "SIZE",
    "memory and swap together (-1: no limit to swap)", NULL },
  { "memory-reservation", OPT_FLAG + 3, required_argument, "SIZE", "the memory.low", NULL },
  { "kernel-memory", OPT_FLAG + 4, required_argument, "SIZE",
    "refused: cgroup v2 has no kernel memory limit", NULL },
  { "kernel-memory-tcp", OPT_FLAG + 5, required_argument, "SIZE",
    "refused: cgroup v2 has no kernel TCP memory limit", NULL },
  { "cpu-shares", OPT_FLAG + 6, required_argument, "N", "CPU shares (cpu.weight)", NULL },
  { "cpu-quota", OPT_FLAG + 7, required_argument, "USEC", "CPU time per period (cpu.max)", NULL },
  { "cpu-period", OPT_FLAG + 8, required_argument, "USEC", "the period of cpu.max", NULL },
  { "cpu-rt-period", OPT_FLAG + 9, required_argument, "USEC",
    "refused: cgroup v2 has no real-time CPU budget", NULL },
  { "cpu-rt-runtime", OPT_FLAG + 10, required_argument, "USEC",
    "refused: cgroup v2 has no real-time CPU budget", NULL },
  { "cpuset-cpus", OPT_FLAG + 11, required_argument, "LIST", "the CPUs it may use (0-3,5)", NULL },
  { "cpuset-mems", OPT_FLAG + 12, required_argument, "LIST", "the memory nodes it may use", NULL },
  { "pids-limit", OPT_FLAG + 13, required_argument, "N", "the most processes (-1: none)", NULL },
  { "blkio-weight", OPT_FLAG + 14, required_argument, "N", "block I/O weight (10-1000)", NULL },
  { "l3-cache-schema", OPT_FLAG + 15, required_argument, "SCHEMA", "refused: no Intel RDT", NULL },
  { "mem-bw-schema", OPT_FLAG + 16, required_argument, "SCHEMA", "refused: no Intel RDT", NULL },
  { 0 },
};

static int cmd_update (int argc, char **argv);

const struct cmd_def oci_update_def = {
  .name = "update",
  .summary = "change a running container's limits",
  .usage = "Usage: hutch-oci update [--resources FILE|-] [OPTIONS] ID\n"
           "\n"
           "Write new limits into the cgroup of container ID: a linux.resources object\n"
           "(--resources), or runc's options for each; what is not given stays.\n",
  .opts = update_opts,
  .operands = CMD_VALUE_CONTAINER,
  .fn = cmd_update,
  .flags = CMD_PERMUTE,
};

static int
cmd_update (int argc, char **argv)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_close_ int rootfd = -1;
  _cleanup_free_ const char **pairs = hutch_xmalloc0 (sizeof (char *));
  const char *id, *file = NULL;
  json_t *resources = NULL;
  size_t n = 0;
  int c, ret = 0;

  optind = 1;
  while ((c = oci_opt_next (&oci_update_def, argc, argv, &ret)) != -1)
    {
      if (c == CMD_OPT_EXIT)
        return ret;
      if (c == OPT_RESOURCES)
        file = optarg;
      else
        {
          pairs = hutch_xrealloc (pairs, (n + 3) * sizeof *pairs);
          pairs[n++] = update_opts[c - OPT_FLAG].name;
          pairs[n++] = optarg;
          pairs[n] = NULL;
        }
    }
  if ((id = oci_one_id ("update", argc, argv)) == NULL)
    return OCI_EXIT_FAIL;
  if (file && n > 0)
    return oci_usage_fail ("update", "--resources gives all of the limits: no other option "
                                     "beside it");
  if (file == NULL && n == 0)
    return oci_usage_fail ("update", "nothing to update: give --resources or an option");
  if (file)
    {
      json_error_t jerr;
      resources = strcmp (file, "-") == 0 ? json_loadf (stdin, 0, &jerr)
                                          : json_load_file (file, 0, &jerr);
      if (resources == NULL)
        return oci_usage_fail ("update", "--resources `%s`: line %d, column %d: %s", file,
                               jerr.line, jerr.column, jerr.text);
      if (!json_is_object (resources))
        {
          json_decref (resources);
          return oci_usage_fail ("update", "--resources `%s` must hold a JSON object", file);
        }
    }
  if (oci_root (&rootfd, &err) < 0
      || hutch_oci_update (rootfd, id, resources, pairs, oci_globals.cg_manager,
                           oci_globals.rootless == 1, &err)
             < 0)
    ret = oci_fail ("update", &err);
  if (resources)
    json_decref (resources);
  return ret;
}
