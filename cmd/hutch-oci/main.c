/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* hutch-oci: an OCI runtime's command line (runc's, crun's) for podman,
   containerd, Slurm and whatever else drives one.  Global options, the
   dispatch, and the one way a command fails; the commands are in
   lifecycle.c and the files beside it, thin over src/runtime/ocirt.c.  */

#include "oci.h"
#include "runtime/ocirt.h"
#include "runtime/spec.h"
#include "base/util.h"
#include "common/options.h"
#include "common/output.h"
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct oci_globals oci_globals = { .rootless = -1 };

static const char *log_path;
static bool log_json;

enum
{
  OPT_VERSION = 256,
  OPT_ROOT,
  OPT_LOG,
  OPT_LOG_FORMAT,
  OPT_DEBUG,
  OPT_SYSTEMD_CGROUP,
  OPT_ROOTLESS,
  OPT_CGROUP_MANAGER,
};

static const struct cmd_opt global_opts[] = {
  { "root", OPT_ROOT, required_argument, "DIR",
    "the containers' state (default: /run/hutch-oci for the host's root, else "
    "$XDG_RUNTIME_DIR/hutch-oci, or /tmp/hutch-oci-UID without a private one)",
    CMD_VALUE_DIR },
  { "log", OPT_LOG, required_argument, "FILE",
    "also write the messages (errors, warnings, information; debug with --debug) to FILE",
    CMD_VALUE_FILE },
  { "log-format", OPT_LOG_FORMAT, required_argument, "FORMAT",
    "the --log file's lines: text (default), or json (one object a line: level, msg, time)",
    "text json" },
  { "debug", OPT_DEBUG, no_argument, NULL, "also log debug messages", NULL },
  { "systemd-cgroup", OPT_SYSTEMD_CGROUP, no_argument, NULL,
    "linux.cgroupsPath is systemd's SLICE:PREFIX:NAME (as --cgroup-manager systemd)", NULL },
  { "cgroup-manager", OPT_CGROUP_MANAGER, required_argument, "MANAGER",
    "cgroupfs (default), systemd, or disabled (no cgroup of the container's own)",
    "cgroupfs systemd disabled" },
  { "rootless", OPT_ROOTLESS, required_argument, "WHEN",
    "true, false or auto (default: auto, rootless unless the host's root): the default "
    "--root, and how linux.cgroupsPath is read (a relative path below the user's delegated "
    "cgroup, a scope of the user's systemd manager)",
    "true false auto" },
  { "version", OPT_VERSION, no_argument, NULL, "show the version", NULL },
  { 0 },
};

static const struct cmd_def *const commands[] = {
  &oci_create_def, &oci_start_def,  &oci_run_def,      &oci_state_def, &oci_kill_def,
  &oci_delete_def, &oci_exec_def,   &oci_list_def,     &oci_ps_def,    &oci_pause_def,
  &oci_resume_def, &oci_update_def, &oci_features_def, &oci_spec_def,  NULL,
};

static const struct cmd_def oci_def = {
  .name = "hutch-oci",
  .usage = "Usage: hutch-oci [GLOBAL OPTIONS] COMMAND [OPTIONS] ID\n"
           "\n"
           "An OCI runtime command line (as runc and crun) backed by hutch, for podman,\n"
           "containerd, Slurm and other engines; rootless, and as root.\n",
  .opts = global_opts,
  .epilogue = "`hutch-oci COMMAND --help` describes a command; see hutch-oci(1).\n",
  .subs = commands,
};

/* One line of the --log file: runc's shape, which containerd's shim and
   conmon read back (the last error line is what they show).  */
static void
log_line (const char *level, const char *msg)
{
  FILE *f;
  if (log_path == NULL)
    return;
  f = fopen (log_path, "ae");
  if (f == NULL)
    return;
  if (log_json)
    {
      json_t *o = json_object ();
      struct timespec ts;
      struct tm tm;
      char when[64], full[96];
      char *text;
      clock_gettime (CLOCK_REALTIME, &ts);
      gmtime_r (&ts.tv_sec, &tm);
      strftime (when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
      snprintf (full, sizeof full, "%s.%09ldZ", when, ts.tv_nsec);
      json_object_set_new (o, "level", json_string (level));
      json_object_set_new (o, "msg", json_string (msg));
      json_object_set_new (o, "time", json_string (full));
      text = json_dumps (o, JSON_COMPACT | JSON_PRESERVE_ORDER);
      if (text)
        fprintf (f, "%s\n", text);
      free (text);
      json_decref (o);
    }
  else
    fprintf (f, "%s: %s\n", level, msg);
  fclose (f);
}

/* The library's messages: on stderr as hutch's front ends say them, and
   into the --log file; debug ones only with --debug.  */
static void
oci_sink (enum hutch_log_level level, const char *msg, void *data)
{
  _cleanup_free_ char *text = hutch_xstrdup (msg);
  (void)data;
  if (level == HUTCH_LOG_DEBUG && !oci_globals.debug)
    return;
  cmd_scrub (text);
  fprintf (stderr, "hutch-oci: %s%s\n",
           level == HUTCH_LOG_WARNING ? "warning: "
           : level == HUTCH_LOG_DEBUG ? "debug: "
                                      : "",
           text);
  log_line (level == HUTCH_LOG_WARNING ? "warning"
            : level == HUTCH_LOG_DEBUG ? "debug"
                                       : "info",
            text);
}

int
oci_fail (const char *cmd, hutch_error_t *err)
{
  _cleanup_free_ char *msg = NULL;
  cmd_scrub (err->msg);
  msg = hutch_xasprintf ("%s: %s", cmd, err->msg ? err->msg : "unknown error");
  fprintf (stderr, "hutch-oci %s\n", msg);
  log_line ("error", msg);
  hutch_error_clear (err);
  return OCI_EXIT_FAIL;
}

int
oci_usage_fail (const char *cmd, const char *fmt, ...)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  va_list ap;
  char buf[1024];
  va_start (ap, fmt);
  vsnprintf (buf, sizeof buf, fmt, ap);
  va_end (ap);
  /* a global option's or an unknown command's: the program's own help */
  if (cmd[0] == '-' || cmd_find_sub (&oci_def, cmd) == NULL)
    hutch_error_set (&err, 0, "%s; see `hutch-oci --help`", buf);
  else
    hutch_error_set (&err, 0, "%s; see `hutch-oci %s --help`", buf, cmd);
  return oci_fail (cmd, &err);
}

int
oci_root (int *ret_fd, hutch_error_t *err)
{
  return hutch_oci_root_open (oci_globals.root, ret_fd, err);
}

int
oci_opt_next (const struct cmd_def *def, int argc, char **argv, int *ret_exit)
{
  int st = 0, c = cmd_opt_next ("hutch-oci", def, argc, argv, &st);
  if (c == CMD_OPT_EXIT)
    *ret_exit = st == 0 ? 0 : OCI_EXIT_FAIL;
  return c;
}

const char *
oci_one_id (const char *cmd, int argc, char **argv)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  if (optind != argc - 1)
    {
      oci_usage_fail (cmd,
                      optind >= argc ? "no container id given"
                                     : "expected one container id, got %d operands",
                      argc - optind);
      return NULL;
    }
  if (hutch_oci_check_id (argv[optind], &err) < 0)
    {
      oci_fail (cmd, &err);
      return NULL;
    }
  return argv[optind];
}

static int
global_option (int c)
{
  switch (c)
    {
    case OPT_VERSION:
      printf ("hutch-oci version %s\nspec: %s\n", PACKAGE_VERSION, HUTCH_OCI_SPEC_VERSION);
      exit (0);
    case OPT_ROOT:
      free (oci_globals.root);
      oci_globals.root = hutch_xstrdup (optarg);
      return 0;
    case OPT_LOG:
      log_path = optarg;
      return 0;
    case OPT_LOG_FORMAT:
      if (strcmp (optarg, "json") != 0 && strcmp (optarg, "text") != 0)
        return oci_usage_fail ("--log-format", "`%s` is not a log format: text or json", optarg);
      log_json = strcmp (optarg, "json") == 0;
      return 0;
    case OPT_DEBUG:
      oci_globals.debug = true;
      return 0;
    case OPT_SYSTEMD_CGROUP:
      oci_globals.cg_manager = HUTCH_CGROUP_SYSTEMD;
      return 0;
    case OPT_CGROUP_MANAGER:
      if (strcmp (optarg, "cgroupfs") == 0)
        oci_globals.cg_manager = HUTCH_CGROUP_CGROUPFS;
      else if (strcmp (optarg, "systemd") == 0)
        oci_globals.cg_manager = HUTCH_CGROUP_SYSTEMD;
      else if (strcmp (optarg, "disabled") == 0)
        oci_globals.cg_manager = HUTCH_CGROUP_DISABLED;
      else
        return oci_usage_fail ("--cgroup-manager",
                               "`%s` is not a cgroup manager: cgroupfs, systemd or disabled",
                               optarg);
      return 0;
    case OPT_ROOTLESS:
      if (strcmp (optarg, "true") == 0)
        oci_globals.rootless = 1;
      else if (strcmp (optarg, "false") == 0)
        oci_globals.rootless = 0;
      else if (strcmp (optarg, "auto") == 0)
        oci_globals.rootless = -1;
      else
        return oci_usage_fail ("--rootless", "`%s` is not one of true, false, auto", optarg);
      return 0;
    }
  return OCI_EXIT_FAIL;
}

int
main (int argc, char **argv)
{
  const struct cmd_def *def;
  int c, ret = 0;

  cmd_output_init ("hutch-oci", false);
  hutch_log_set_sink (oci_sink, NULL, NULL);
  argv[0] = (char *)"hutch-oci";
  optind = 1;
  while ((c = oci_opt_next (&oci_def, argc, argv, &ret)) != -1)
    {
      if (c == CMD_OPT_EXIT)
        return ret;
      if ((ret = global_option (c)) != 0)
        return ret;
    }
  /* auto: rootless unless this is the host's root (not root of a user
     namespace, such as rootless podman's) */
  if (oci_globals.rootless < 0)
    oci_globals.rootless = geteuid () != 0 || hutch_in_user_namespace ();
  if (oci_globals.root == NULL)
    oci_globals.root = hutch_oci_default_root (oci_globals.rootless);
  if (optind >= argc)
    {
      cmd_help (&oci_def, stderr);
      return OCI_EXIT_FAIL;
    }
  def = cmd_find_sub (&oci_def, argv[optind]);
  if (def == NULL)
    return oci_usage_fail (argv[optind], "unknown command `%s`", argv[optind]);
  return def->fn (argc - optind, argv + optind);
}
