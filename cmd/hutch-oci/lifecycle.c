/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* hutch-oci create, start, run, state, kill, delete, list and ps: parse,
   call src/runtime/ocirt.c, report.  */

#include "oci.h"
#include "runtime/ocirt.h"
#include "runtime/spec.h"
#include "base/signame.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum
{
  OPT_BUNDLE = 'b',
  OPT_DETACH = 'd',
  OPT_PID_FILE = 256,
  OPT_CONSOLE_SOCKET,
  OPT_PRESERVE_FDS,
  OPT_NO_PIVOT,
  OPT_NO_NEW_KEYRING,
  OPT_NO_SUBREAPER,
  OPT_KEEP,
  OPT_ALL,
  OPT_FORCE,
  OPT_FORMAT,
  OPT_QUIET,
};

#define CREATE_OPTS                                                                                \
  { "bundle",                                                                                      \
    OPT_BUNDLE,                                                                                    \
    required_argument,                                                                             \
    "DIR",                                                                                         \
    "the bundle: DIR/config.json and its root (default: the current directory)",                   \
    CMD_VALUE_DIR },                                                                               \
      { "pid-file",                                                                                \
        OPT_PID_FILE,                                                                              \
        required_argument,                                                                         \
        "FILE",                                                                                    \
        "write the container's first process's pid to FILE (atomically)",                          \
        CMD_VALUE_FILE },                                                                          \
      { "console-socket",                                                                          \
        OPT_CONSOLE_SOCKET,                                                                        \
        required_argument,                                                                         \
        "SOCKET",                                                                                  \
        "with process.terminal, send the terminal's master to the unix socket SOCKET",             \
        CMD_VALUE_FILE },                                                                          \
      { "preserve-fds",                                                                            \
        OPT_PRESERVE_FDS,                                                                          \
        required_argument,                                                                         \
        "N",                                                                                       \
        "pass fds 3 .. 3+N-1 on to the process (after LISTEN_FDS's)",                              \
        NULL },                                                                                    \
      { "no-pivot",                                                                                \
        OPT_NO_PIVOT,                                                                              \
        no_argument,                                                                               \
        NULL,                                                                                      \
        "accepted for runc's sake and refused: hutch always uses pivot_root",                      \
        NULL },                                                                                    \
  {                                                                                                \
    "no-new-keyring", OPT_NO_NEW_KEYRING, no_argument, NULL,                                       \
        "keep the caller's session keyring (default: a new one of the container's own)", NULL      \
  }

struct create_args
{
  struct hutch_oci_create o;
  char *bundle;
  bool detach, no_pivot;
};

/* One option of create's and run's; false when it is not one.  */
static bool
create_option (int c, struct create_args *a, int *ret)
{
  char *end;
  long n;

  *ret = 0;
  switch (c)
    {
    case OPT_BUNDLE:
      free (a->bundle);
      a->bundle = hutch_xstrdup (optarg);
      return true;
    case OPT_PID_FILE:
      a->o.pid_file = optarg;
      return true;
    case OPT_CONSOLE_SOCKET:
      a->o.console_socket = optarg;
      return true;
    case OPT_PRESERVE_FDS:
      errno = 0;
      n = strtol (optarg, &end, 10);
      if (errno || *end || n < 0 || n > 65536)
        *ret = oci_usage_fail ("create", "--preserve-fds `%s` is not a number of fds", optarg);
      a->o.preserve_fds = (int)n;
      return true;
    case OPT_NO_PIVOT:
      a->no_pivot = true;
      return true;
    case OPT_NO_NEW_KEYRING:
      a->o.no_new_keyring = true;
      return true;
    }
  return false;
}

/* The bundle's absolute path, its spec, and the working directory in it
   (relative bind sources are relative to the bundle, as in runc).  */
static int
load_bundle (struct create_args *a, struct hutch_spec **ret_spec, hutch_error_t *err)
{
  char buf[PATH_MAX];

  if (a->no_pivot)
    return hutch_error_set (err, 0,
                            "--no-pivot is not supported: hutch always enters the root with "
                            "pivot_root (a root on a ramfs, where that fails, is not supported)");
  if (a->bundle == NULL || a->bundle[0] != '/')
    {
      _cleanup_free_ char *rel = HUTCH_STEAL_PTR (a->bundle);
      if (getcwd (buf, sizeof buf) == NULL)
        return hutch_error_set (err, errno, "getcwd");
      a->bundle = rel ? hutch_xasprintf ("%s/%s", buf, rel) : hutch_xstrdup (buf);
    }
  a->o.bundle = a->bundle;
  if (hutch_spec_load (a->bundle, ret_spec, err) < 0)
    return -1;
  if (chdir (a->bundle) < 0)
    return hutch_error_set (err, errno, "enter the bundle `%s`", a->bundle);
  (*ret_spec)->extra.no_new_keyring = a->o.no_new_keyring;
  a->o.cgroup_manager = oci_globals.cg_manager;
  a->o.rootless = oci_globals.rootless == 1;
  return hutch_oci_prepare_spec (*ret_spec, &a->o, err);
}

static int
create_or_run (const struct cmd_def *def, int argc, char **argv, bool run)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_spec_ struct hutch_spec *spec = NULL;
  _cleanup_close_ int rootfd = -1;
  struct create_args a = { 0 };
  int c, ret = 0, status = 0;

  optind = 1;
  while ((c = oci_opt_next (def, argc, argv, &ret)) != -1)
    {
      if (c == CMD_OPT_EXIT)
        goto out;
      if (c == OPT_DETACH)
        a.detach = true;
      else if (c == OPT_NO_SUBREAPER)
        /* runc's way not to be a subreaper: hutch-oci run never is one (the
           container's first process is its own child), so what is asked
           holds as it is.  */
        continue;
      else if (c == OPT_KEEP)
        {
          /* runc run --keep leaves the state after the end */
          ret = oci_usage_fail (def->name, "--keep is not supported: a container that hutch-oci "
                                           "run waited for is deleted at its end");
          goto out;
        }
      else if (!create_option (c, &a, &ret) || ret != 0)
        goto out;
    }
  a.o.id = oci_one_id (def->name, argc, argv);
  if (a.o.id == NULL)
    {
      ret = OCI_EXIT_FAIL;
      goto out;
    }
  if (oci_root (&rootfd, &err) < 0 || load_bundle (&a, &spec, &err) < 0)
    {
      ret = oci_fail (def->name, &err);
      goto out;
    }
  if (!run)
    {
      if (hutch_oci_create (rootfd, spec, &a.o, &err) < 0)
        ret = oci_fail (def->name, &err);
      goto out;
    }
  if (hutch_oci_run (rootfd, spec, &a.o, a.detach, &status, &err) < 0)
    ret = oci_fail (def->name, &err);
  else
    ret = status;
out:
  free (a.bundle);
  return ret;
}

static int
cmd_create (int argc, char **argv)
{
  return create_or_run (&oci_create_def, argc, argv, false);
}

static int
cmd_run (int argc, char **argv)
{
  return create_or_run (&oci_run_def, argc, argv, true);
}

static const struct cmd_opt create_opts[] = { CREATE_OPTS, { 0 } };

const struct cmd_def oci_create_def = {
  .name = "create",
  .summary = "create a container: everything done, its process waiting for start",
  .usage = "Usage: hutch-oci create [OPTIONS] ID\n"
           "\n"
           "Create container ID from a bundle: its namespaces, cgroup, root and mounts are\n"
           "made, and its first process waits before its exec until `hutch-oci start ID`.\n"
           "No process of hutch-oci's stays behind: the container's first process becomes\n"
           "the child of the caller's subreaper (containerd's shim, conmon) once this\n"
           "command has returned.\n",
  .opts = create_opts,
  .operands = CMD_VALUE_CONTAINER,
  .fn = cmd_create,
  .flags = CMD_PERMUTE,
};

static const struct cmd_opt run_opts[] = {
  CREATE_OPTS,
  { "detach", OPT_DETACH, no_argument, NULL, "return once the process runs (create, then start)",
    NULL },
  { "no-subreaper", OPT_NO_SUBREAPER, no_argument, NULL,
    "accepted (runc's): hutch-oci run reaps its container as its parent, no subreaper needed",
    NULL },
  { "keep", OPT_KEEP, no_argument, NULL, "refused: the state of a finished run is not kept", NULL },
  { 0 },
};

const struct cmd_def oci_run_def = {
  .name = "run",
  .summary = "create and start a container, and wait for it",
  .usage = "Usage: hutch-oci run [OPTIONS] ID\n"
           "\n"
           "Create and start container ID from a bundle, pass signals on, and wait for it:\n"
           "the exit code is the container's (128+N when signal N ended it); its state is\n"
           "gone afterwards.  With --detach, return once it runs (create, then start).\n",
  .opts = run_opts,
  .operands = CMD_VALUE_CONTAINER,
  .fn = cmd_run,
  .flags = CMD_PERMUTE,
};

/* ---- start, state, delete, kill ---------------------------------------- */

static const struct cmd_opt no_opts[] = { { 0 } };

static int
cmd_start (int argc, char **argv)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_close_ int rootfd = -1;
  const char *id;
  int c, ret = 0;

  optind = 1;
  while ((c = oci_opt_next (&oci_start_def, argc, argv, &ret)) != -1)
    if (c == CMD_OPT_EXIT)
      return ret;
  if ((id = oci_one_id ("start", argc, argv)) == NULL)
    return OCI_EXIT_FAIL;
  if (oci_root (&rootfd, &err) < 0 || hutch_oci_start (rootfd, id, &err) < 0)
    return oci_fail ("start", &err);
  return 0;
}

const struct cmd_def oci_start_def = {
  .name = "start",
  .summary = "start a created container: its process execs",
  .usage = "Usage: hutch-oci start ID\n"
           "\n"
           "Let the waiting process of created container ID exec the command of its\n"
           "config.json; returns once it has.\n",
  .opts = no_opts,
  .operands = CMD_VALUE_CONTAINER,
  .fn = cmd_start,
  .flags = CMD_PERMUTE,
};

static int
cmd_state (int argc, char **argv)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_close_ int rootfd = -1;
  struct hutch_oci_info info;
  const char *id;
  char *text;
  int c, ret = 0;

  optind = 1;
  while ((c = oci_opt_next (&oci_state_def, argc, argv, &ret)) != -1)
    if (c == CMD_OPT_EXIT)
      return ret;
  if ((id = oci_one_id ("state", argc, argv)) == NULL)
    return OCI_EXIT_FAIL;
  if (oci_root (&rootfd, &err) < 0 || hutch_oci_info_read (rootfd, id, &info, &err) < 0)
    return oci_fail ("state", &err);
  text = hutch_oci_info_json (&info, true);
  printf ("%s\n", text);
  free (text);
  hutch_oci_info_clear (&info);
  return 0;
}

const struct cmd_def oci_state_def = {
  .name = "state",
  .summary = "print a container's state as JSON",
  .usage = "Usage: hutch-oci state ID\n"
           "\n"
           "Print the state of container ID, as the OCI runtime specification defines it:\n"
           "ociVersion, id, status (creating, created, running, paused or stopped), pid,\n"
           "bundle, rootfs, created, owner, annotations.\n",
  .opts = no_opts,
  .operands = CMD_VALUE_CONTAINER,
  .fn = cmd_state,
  .flags = CMD_PERMUTE,
};

static const struct cmd_opt delete_opts[] = {
  { "force", 'f', no_argument, NULL, "delete a running or paused container too: kill it first",
    NULL },
  { 0 },
};

static int
cmd_delete (int argc, char **argv)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_close_ int rootfd = -1;
  bool force = false;
  const char *id;
  int c, ret = 0;

  optind = 1;
  while ((c = oci_opt_next (&oci_delete_def, argc, argv, &ret)) != -1)
    {
      if (c == CMD_OPT_EXIT)
        return ret;
      force = true;
    }
  if ((id = oci_one_id ("delete", argc, argv)) == NULL)
    return OCI_EXIT_FAIL;
  if (oci_root (&rootfd, &err) < 0 || hutch_oci_delete (rootfd, id, force, &err) < 0)
    return oci_fail ("delete", &err);
  return 0;
}

const struct cmd_def oci_delete_def = {
  .name = "delete",
  .summary = "delete a stopped (or created) container's state and cgroup",
  .usage = "Usage: hutch-oci delete [--force] ID\n"
           "\n"
           "Delete container ID: its cgroup and its state.  A created container is killed\n"
           "first; a running or paused one only with --force.\n",
  .opts = delete_opts,
  .operands = CMD_VALUE_CONTAINER,
  .fn = cmd_delete,
  .flags = CMD_PERMUTE,
};

static const struct cmd_opt kill_opts[] = {
  { "all", 'a', no_argument, NULL, "send the signal to every process of the container", NULL },
  { 0 },
};

/* TERM, SIGTERM, 15.  */
static int
parse_signal (const char *s)
{
  char *end;
  long n;

  errno = 0;
  n = strtol (s, &end, 10);
  if (*s && *end == '\0' && errno == 0)
    return n > 0 && n < NSIG ? (int)n : -1;
  if (strncasecmp (s, "SIG", 3) == 0)
    s += 3;
  return hutch_signal_from_name (s);
}

static int
cmd_kill (int argc, char **argv)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_close_ int rootfd = -1;
  bool all = false;
  int c, ret = 0, sig = SIGTERM;

  optind = 1;
  while ((c = oci_opt_next (&oci_kill_def, argc, argv, &ret)) != -1)
    {
      if (c == CMD_OPT_EXIT)
        return ret;
      all = true;
    }
  if (optind == argc - 2)
    {
      sig = parse_signal (argv[argc - 1]);
      if (sig <= 0)
        return oci_usage_fail ("kill",
                               "`%s` is not a signal (a name such as TERM or KILL, or "
                               "a number)",
                               argv[argc - 1]);
      argc--;
    }
  if (oci_one_id ("kill", argc, argv) == NULL)
    return OCI_EXIT_FAIL;
  if (oci_root (&rootfd, &err) < 0 || hutch_oci_kill (rootfd, argv[optind], sig, all, &err) < 0)
    return oci_fail ("kill", &err);
  return 0;
}

const struct cmd_def oci_kill_def = {
  .name = "kill",
  .summary = "send a signal to a container's process",
  .usage = "Usage: hutch-oci kill [--all] ID [SIGNAL]\n"
           "\n"
           "Send SIGNAL (a name, with or without SIG, or a number; default TERM) to the\n"
           "first process of container ID, or with --all to every process of it.\n",
  .opts = kill_opts,
  .operands = CMD_VALUE_CONTAINER,
  .fn = cmd_kill,
  .flags = CMD_PERMUTE,
};

/* ---- list, ps ------------------------------------------------------------ */

static const struct cmd_opt list_opts[] = {
  { "format", 'f', required_argument, "FORMAT", "table (default) or json", "table json" },
  { "quiet", 'q', no_argument, NULL, "the ids alone", NULL },
  { 0 },
};

static int
parse_format (const char *cmd, const char *s, bool *ret_json)
{
  if (strcmp (s, "json") == 0 || strcmp (s, "table") == 0)
    {
      *ret_json = strcmp (s, "json") == 0;
      return 0;
    }
  return oci_usage_fail (cmd, "`%s` is not a format: table or json", s);
}

static int
cmd_list (int argc, char **argv)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_close_ int rootfd = -1;
  _cleanup_strv_ char **ids = NULL;
  bool json = false, quiet = false;
  size_t i, listed = 0;
  int c, ret = 0;

  optind = 1;
  while ((c = oci_opt_next (&oci_list_def, argc, argv, &ret)) != -1)
    {
      if (c == CMD_OPT_EXIT)
        return ret;
      if (c == 'q')
        quiet = true;
      else if (parse_format ("list", optarg, &json) != 0)
        return OCI_EXIT_FAIL;
    }
  if (optind != argc)
    return oci_usage_fail ("list", "list takes no operands");
  if (oci_root (&rootfd, &err) < 0 || hutch_oci_list (rootfd, &ids, &err) < 0)
    return oci_fail ("list", &err);
  if (json)
    printf ("[");
  else if (!quiet)
    printf ("%-12s %-8s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED",
            "OWNER");
  for (i = 0; ids[i]; i++)
    {
      struct hutch_oci_info info;
      hutch_error_t e = HUTCH_ERROR_INIT;
      if (hutch_oci_info_read (rootfd, ids[i], &info, &e) < 0)
        {
          /* deleted meanwhile, or not the caller's (open_container) */
          hutch_error_clear (&e);
          continue;
        }
      if (json)
        {
          _cleanup_free_ char *text = hutch_oci_info_json (&info, false);
          /* a comma before all but the first printed: one skipped above
             is no first */
          printf ("%s%s", listed++ ? "," : "", text);
        }
      else if (quiet)
        printf ("%s\n", info.id);
      else
        {
          char when[64];
          time_t t = (time_t)(info.created / 1000000000LL);
          struct tm tm;
          gmtime_r (&t, &tm);
          strftime (when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
          printf ("%-12s %-8d %-10s %-40s %-30s %s\n", info.id, (int)info.pid, info.status,
                  info.bundle ? info.bundle : "", when, info.owner ? info.owner : "");
        }
      hutch_oci_info_clear (&info);
    }
  if (json)
    printf ("]\n");
  return 0;
}

const struct cmd_def oci_list_def = {
  .name = "list",
  .summary = "list the containers",
  .usage = "Usage: hutch-oci list [--format table|json] [-q]\n"
           "\n"
           "List the containers of the state directory (--root), with their state.\n",
  .opts = list_opts,
  .fn = cmd_list,
  .flags = CMD_PERMUTE,
};

static const struct cmd_opt ps_opts[] = {
  { "format", 'f', required_argument, "FORMAT",
    "table (default: ps(1)'s lines of the container's processes) or json (their pids)",
    "table json" },
  { 0 },
};

/* ps(1) with ARGS (default -ef), its header and the lines of PIDS.  */
static int
ps_table (const pid_t *pids, size_t n, char **args, int nargs)
{
  _cleanup_free_ char **argv = hutch_xmalloc0 ((size_t)(nargs + 3) * sizeof (char *));
  int p[2], i, pidcol = -1, st;
  FILE *f;
  char *line = NULL;
  size_t cap = 0, k;
  pid_t child;
  bool first = true;

  argv[0] = (char *)"ps";
  if (nargs == 0)
    argv[1] = (char *)"-ef";
  for (i = 0; i < nargs; i++)
    argv[1 + i] = args[i];
  if (pipe2 (p, O_CLOEXEC) < 0 || (child = fork ()) < 0)
    return -1;
  if (child == 0)
    {
      dup2 (p[1], 1);
      execvp ("ps", argv);
      _exit (127);
    }
  close (p[1]);
  f = fdopen (p[0], "r");
  while (f && getline (&line, &cap, f) > 0)
    {
      if (first)
        {
          /* The column that says PID.  */
          char *save = NULL, *copy = hutch_xstrdup (line), *w;
          int col = 0;
          for (w = strtok_r (copy, " \t\n", &save); w; w = strtok_r (NULL, " \t\n", &save), col++)
            if (strcmp (w, "PID") == 0)
              pidcol = col;
          free (copy);
          fputs (line, stdout);
          first = false;
          continue;
        }
      if (pidcol >= 0)
        {
          char *save = NULL, *copy = hutch_xstrdup (line), *w;
          int col = 0;
          pid_t pid = 0;
          for (w = strtok_r (copy, " \t\n", &save); w; w = strtok_r (NULL, " \t\n", &save), col++)
            if (col == pidcol)
              {
                pid = (pid_t)atoi (w);
                break;
              }
          free (copy);
          for (k = 0; k < n; k++)
            if (pids[k] == pid)
              {
                fputs (line, stdout);
                break;
              }
        }
    }
  free (line);
  if (f)
    fclose (f);
  while (waitpid (child, &st, 0) < 0 && errno == EINTR)
    ;
  if (pidcol < 0)
    {
      fprintf (stderr, "hutch-oci ps: ps(1)'s output has no PID column\n");
      return -1;
    }
  return WIFEXITED (st) && WEXITSTATUS (st) == 0 ? 0 : -1;
}

static int
cmd_ps (int argc, char **argv)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_close_ int rootfd = -1;
  _cleanup_free_ pid_t *pids = NULL;
  bool json = false;
  size_t n = 0, i;
  int c, ret = 0;

  optind = 1;
  while ((c = oci_opt_next (&oci_ps_def, argc, argv, &ret)) != -1)
    {
      if (c == CMD_OPT_EXIT)
        return ret;
      if (parse_format ("ps", optarg, &json) != 0)
        return OCI_EXIT_FAIL;
    }
  if (optind >= argc)
    return oci_usage_fail ("ps", "no container id given");
  if (hutch_oci_check_id (argv[optind], &err) < 0 || oci_root (&rootfd, &err) < 0
      || hutch_oci_pids (rootfd, argv[optind], &pids, &n, &err) < 0)
    return oci_fail ("ps", &err);
  if (json)
    {
      printf ("[");
      for (i = 0; i < n; i++)
        printf ("%s%d", i ? "," : "", (int)pids[i]);
      printf ("]\n");
      return 0;
    }
  if (ps_table (pids, n, argv + optind + 1, argc - optind - 1) < 0)
    {
      hutch_error_set (&err, 0, "ps(1) failed (is procps installed?)");
      return oci_fail ("ps", &err);
    }
  return 0;
}

const struct cmd_def oci_ps_def = {
  .name = "ps",
  .summary = "list a container's processes",
  .usage = "Usage: hutch-oci ps [--format table|json] ID [PS_ARGS...]\n"
           "\n"
           "List the processes of container ID: ps(1)'s lines for them (PS_ARGS, default\n"
           "-ef), or with --format json their pids.\n",
  .opts = ps_opts,
  .operands = CMD_VALUE_CONTAINER,
  .fn = cmd_ps,
};
