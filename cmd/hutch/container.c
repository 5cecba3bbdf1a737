/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* The commands on recorded containers (src/front/containers.h,
   src/front/detach.h): start, stop, kill, restart, rm, wait, rename,
   pause, unpause, port, container prune, and `hutch container SUB`, the
   long form of each.  ps, inspect and top are in ctrshow.c.  */

#include "hutch.h"
#include "base/signame.h"
#include "base/util.h"
#include "front/containers.h"
#include "front/detach.h"
#include "runtime/ocicgroup.h"
#include "runtime/state.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int ctr_start (int argc, char **argv);
static int ctr_stop (int argc, char **argv);
static int ctr_kill (int argc, char **argv);
static int ctr_restart (int argc, char **argv);
static int ctr_rm (int argc, char **argv);
static int ctr_wait (int argc, char **argv);
static int ctr_rename (int argc, char **argv);
static int ctr_pause (int argc, char **argv);
static int ctr_unpause (int argc, char **argv);
static int ctr_port (int argc, char **argv);
static int ctr_prune (int argc, char **argv);
static int ctr_monitor_end (int argc, char **argv);
static int cmd_container (int argc, char **argv);

/* How long a command waits for another one on the same container.  */
#define LOCK_TIMEOUT_MS 30000

static const struct cmd_opt start_opts[] = {
  { "attach", 'a', no_argument, NULL,
    "attach to its output (as hutch attach) and end with\nits exit code", NULL },
  { "interactive", 'i', no_argument, NULL, "with -a: send what you type, when it takes it", NULL },
  { 0 },
};

const struct cmd_def cmd_start_def = {
  .name = "start",
  .summary = "start containers",
  .usage = "Usage: hutch start [OPTIONS] CONTAINER...\n"
           "\n"
           "Start containers made by `hutch create`, or that ended, under a monitor:\n"
           "with the same options, file system changes and volumes.  Prints each name.\n",
  .opts = start_opts,
  .operands = CMD_VALUE_CONTAINER,
  .fn = ctr_start,
  .flags = CMD_PERMUTE,
};

static const struct cmd_opt stop_opts[] = {
  { "time", 't', required_argument, "SECONDS",
    "SIGKILL after SECONDS (default: the container's\nstop timeout, else 10)", NULL },
  { 0 },
};

const struct cmd_def cmd_stop_def = {
  .name = "stop",
  .summary = "stop running containers",
  .usage = "Usage: hutch stop [OPTIONS] CONTAINER...\n"
           "\n"
           "Send each container its stop signal (the image's StopSignal or --stop-signal,\n"
           "else SIGTERM), then SIGKILL when it has not ended in time; no restart policy\n"
           "starts it again.  Prints each name.\n",
  .opts = stop_opts,
  .operands = CMD_VALUE_CONTAINER,
  .fn = ctr_stop,
  .flags = CMD_PERMUTE,
};

static const struct cmd_opt kill_opts[] = {
  { "signal", 's', required_argument, "SIGNAL", "the signal (name or number; default KILL)",
    "KILL TERM INT HUP QUIT USR1 USR2" },
  { 0 },
};

const struct cmd_def cmd_kill_def = {
  .name = "kill",
  .summary = "send a signal to running containers",
  .usage = "Usage: hutch kill [OPTIONS] CONTAINER...\n"
           "\n"
           "Send SIGNAL to each container's first process.  Prints each name.\n",
  .opts = kill_opts,
  .operands = CMD_VALUE_CONTAINER,
  .fn = ctr_kill,
  .flags = CMD_PERMUTE,
};

const struct cmd_def cmd_restart_def = {
  .name = "restart",
  .summary = "stop and start containers",
  .usage = "Usage: hutch restart [OPTIONS] CONTAINER...\n"
           "\n"
           "Stop each container (as hutch stop) and start it again (as hutch start).\n",
  .opts = stop_opts,
  .operands = CMD_VALUE_CONTAINER,
  .fn = ctr_restart,
  .flags = CMD_PERMUTE,
};

static const struct cmd_opt rm_opts[] = {
  { "force", 'f', no_argument, NULL, "kill a running container first", NULL },
  { "volumes", 'v', no_argument, NULL, "remove its anonymous volumes too", NULL },
  { 0 },
};

const struct cmd_def cmd_rm_def = {
  .name = "rm",
  .summary = "remove containers",
  .usage = "Usage: hutch rm [OPTIONS] CONTAINER...\n"
           "\n"
           "Remove containers that do not run (with -f, running ones too: killed first):\n"
           "their file system changes, log and record.  Prints each name.\n",
  .opts = rm_opts,
  .operands = CMD_VALUE_CONTAINER,
  .fn = ctr_rm,
  .flags = CMD_PERMUTE,
};

const struct cmd_def cmd_wait_def = {
  .name = "wait",
  .summary = "wait for containers to end",
  .usage = "Usage: hutch wait CONTAINER...\n"
           "\n"
           "Wait until each container has ended, print its exit code, and exit with the\n"
           "last one's.\n",
  .operands = CMD_VALUE_CONTAINER,
  .fn = ctr_wait,
  .flags = CMD_PERMUTE,
};

const struct cmd_def cmd_rename_def = {
  .name = "rename",
  .summary = "rename a container",
  .usage = "Usage: hutch rename CONTAINER NEWNAME\n\nGive CONTAINER the name NEWNAME.\n",
  .operands = CMD_VALUE_CONTAINER,
  .fn = ctr_rename,
};

const struct cmd_def cmd_pause_def = {
  .name = "pause",
  .summary = "freeze containers",
  .usage = "Usage: hutch pause CONTAINER...\n"
           "\n"
           "Freeze every process of each container (cgroup.freeze): it needs a cgroup of\n"
           "its own, that is, cgroup v2 delegated to you (see hutch info).\n",
  .operands = CMD_VALUE_CONTAINER,
  .fn = ctr_pause,
  .flags = CMD_PERMUTE,
};

const struct cmd_def cmd_unpause_def = {
  .name = "unpause",
  .summary = "thaw paused containers",
  .usage = "Usage: hutch unpause CONTAINER...\n\nThaw containers that hutch pause froze.\n",
  .operands = CMD_VALUE_CONTAINER,
  .fn = ctr_unpause,
  .flags = CMD_PERMUTE,
};

const struct cmd_def cmd_port_def = {
  .name = "port",
  .summary = "list a container's published ports",
  .usage = "Usage: hutch port CONTAINER [PORT[/PROTO]]\n"
           "\n"
           "List the ports CONTAINER publishes (-p, -P) as `PORT/PROTO -> IP:HOSTPORT`,\n"
           "or the host address of PORT alone.\n",
  .operands = CMD_VALUE_CONTAINER,
  .fn = ctr_port,
};

static const struct cmd_opt prune_opts[] = {
  { "force", 'f', no_argument, NULL, "do not ask (needed when stdin is no terminal)", NULL },
  { 0 },
};

static const struct cmd_def prune_def = {
  .name = "prune",
  .summary = "remove every container that does not run",
  .usage = "Usage: hutch container prune [OPTIONS]\n"
           "\n"
           "Remove every container that has ended or was never started, after asking\n"
           "(unless -f).  Prints the ids removed.\n",
  .opts = prune_opts,
  .fn = ctr_prune,
};

/* What a monitor execs when its container ended and must be started
   again (the restart policy) or removed (--rm): not for people.  */
static const struct cmd_def monitor_end_def = {
  .name = "monitor-end",
  .summary = "(internal) the monitor's restart or removal",
  .usage = "Usage: hutch container monitor-end ID\n\nUsed by hutch-monitor.\n",
  .fn = ctr_monitor_end,
  .flags = CMD_HIDDEN,
};

extern const struct cmd_def cmd_ps_def, cmd_inspect_def, cmd_top_def;

static const struct cmd_def ls_def = {
  .name = "ls",
  .summary = "list containers (as hutch ps)",
  .usage = "Usage: hutch container ls [OPTIONS]\n\nList containers (as hutch ps).\n",
  .fn = NULL,
  .flags = CMD_HIDDEN,
};

extern const struct cmd_def cmd_attach_def;

static const struct cmd_def *const container_subs[] = {
  &cmd_attach_def,  &cmd_create_def, &cmd_inspect_def, &cmd_kill_def,   &cmd_pause_def,
  &cmd_port_def,    &prune_def,      &cmd_ps_def,      &cmd_rename_def, &cmd_restart_def,
  &cmd_rm_def,      &cmd_run_def,    &cmd_start_def,   &cmd_stop_def,   &cmd_top_def,
  &cmd_unpause_def, &cmd_wait_def,   &monitor_end_def, &ls_def,         NULL,
};

const struct cmd_def cmd_container_def = {
  .name = "container",
  .summary = "manage containers (the long form of each command)",
  .usage = "Usage: hutch container COMMAND [ARGS...]\n"
           "\n"
           "Manage containers: `hutch container ps` is `hutch ps`, and so on.\n",
  .fn = cmd_container,
  .subs = container_subs,
};

/* "hutch SUB" or "hutch container SUB": for messages.  */
static char prog[64];

static const char *
progname (const char *cmd)
{
  if (prog[0] == '\0')
    snprintf (prog, sizeof prog, "hutch %s", cmd);
  return prog;
}

/* The store root every command here works in, with the dead containers'
   leftovers cleaned first (what the issue calls "the next command").  */
static char *
ctrs_root (hutch_error_t *err)
{
  char *root = hutch_ctrs_root (cmd_globals.root, err);
  if (root)
    hutch_ctrs_sweep (root);
  return root;
}

/* Run FN on each operand's container under its lock, printing NAME as
   docker does (PRINT); the exit code is 125 when one failed.  */
static int
for_each (int argc, char **argv, const char *what, bool print,
          int (*fn) (struct hutch_ctr *c, void *arg, hutch_error_t *err), void *arg)
{
  _cleanup_free_ char *root = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  int i, ret = 0;

  if (optind >= argc)
    {
      fprintf (stderr, "%s: give at least one container; see `%s --help`\n", progname (what),
               progname (what));
      return HUTCH_EXIT_ERROR;
    }
  root = ctrs_root (&err);
  if (root == NULL)
    return cmd_report (&err);
  for (i = optind; i < argc; i++)
    {
      struct hutch_ctr c;
      int lock = -1, r;
      if (hutch_ctr_lookup (root, argv[i], &c, &err) < 0)
        {
          ret = cmd_report (&err);
          continue;
        }
      r = hutch_ctr_lock (&c, what, LOCK_TIMEOUT_MS, &lock, &err);
      if (r == 0)
        r = fn (&c, arg, &err);
      if (lock >= 0)
        close (lock);
      if (r < 0)
        ret = cmd_report (&err);
      else if (print)
        printf ("%s\n", argv[i]);
      fflush (stdout);
      hutch_ctr_clear (&c);
    }
  return ret;
}

/* ---- start ---------------------------------------------------------- */

static int
start_one (struct hutch_ctr *c, void *arg, hutch_error_t *err)
{
  _cleanup_spec_ struct hutch_spec *spec = NULL;
  struct hutch_state st;
  bool running;
  hutch_error_t e = HUTCH_ERROR_INIT;

  (void)arg;
  if (hutch_ctr_state (c, &st, err) < 0)
    return -1;
  running = st.status == HUTCH_STATE_RUNNING || st.status == HUTCH_STATE_PAUSED;
  hutch_state_clear (&st);
  if (running)
    return 0; /* as docker: starting a running container is no error */
  /* A container that ran in the foreground is started under a monitor
     now, which records its output.  */
  if (!c->detach)
    {
      c->detach = true;
      c->log_driver = HUTCH_LOG_K8S_FILE;
      c->log_max_size = HUTCH_LOG_DEFAULT_MAX_SIZE;
      c->log_max_file = HUTCH_LOG_DEFAULT_MAX_FILE;
    }
  if (cmd_ctr_spec (c, &spec, err) < 0)
    return -1;
  if (cmd_ctr_launch (c, spec, true, err) < 0)
    {
      hutch_run_cleanup (spec, &e);
      hutch_error_clear (&e);
      return -1;
    }
  hutch_run_cleanup (spec, &e);
  hutch_error_clear (&e);
  return 0;
}

static int
ctr_start (int argc, char **argv)
{
  bool attach = false, interactive = false;
  const char *name;
  int c, ret = 0;

  while ((c = cmd_next_opt (&cmd_start_def, argc, argv, &ret)) != -1)
    if (c == 1000)
      return ret;
    else if (c == 'a')
      attach = true;
    else if (c == 'i')
      interactive = true;
  if (attach && argc - optind != 1)
    {
      fprintf (stderr, "%s: -a takes one container\n", progname ("start"));
      return HUTCH_EXIT_ERROR;
    }
  /* The name first: starting a container parses its run options again,
     which moves optind.  */
  name = argv[optind];
  ret = for_each (argc, argv, "start", !attach, start_one, NULL);
  if (ret == 0 && attach)
    return cmd_attach_to (name, NULL, !interactive);
  return ret;
}

/* ---- stop, kill, restart -------------------------------------------- */

static int
parse_time (const char *cmd, const char *v, int *ret)
{
  unsigned int n;
  if (hutch_parse_u32 (v, &n) < 0 || n > 86400 * 365)
    {
      fprintf (stderr, "%s: --time `%s`: expected a number of seconds\n", progname (cmd), v);
      return -1;
    }
  *ret = (int)n;
  return 0;
}

static int
stop_one (struct hutch_ctr *c, void *arg, hutch_error_t *err)
{
  return hutch_ctr_stop (c, *(int *)arg, err);
}

static int
ctr_stop (int argc, char **argv)
{
  int c, ret = 0, timeout = -1;

  while ((c = cmd_next_opt (&cmd_stop_def, argc, argv, &ret)) != -1)
    if (c == 1000)
      return ret;
    else if (c == 't' && parse_time ("stop", optarg, &timeout) < 0)
      return HUTCH_EXIT_ERROR;
  return for_each (argc, argv, "stop", true, stop_one, &timeout);
}

static int
kill_one (struct hutch_ctr *c, void *arg, hutch_error_t *err)
{
  return hutch_ctr_kill (c, *(int *)arg, err);
}

static int
ctr_kill (int argc, char **argv)
{
  int c, ret = 0, sig = SIGKILL;

  while ((c = cmd_next_opt (&cmd_kill_def, argc, argv, &ret)) != -1)
    if (c == 1000)
      return ret;
    else if (c == 's')
      {
        sig = hutch_signal_from_name (optarg);
        if (sig <= 0)
          {
            fprintf (stderr, "%s: --signal `%s`: not a signal (a name such as TERM, or a number)\n",
                     progname ("kill"), optarg);
            return HUTCH_EXIT_ERROR;
          }
      }
  return for_each (argc, argv, "kill", true, kill_one, &sig);
}

static int
restart_one (struct hutch_ctr *c, void *arg, hutch_error_t *err)
{
  if (hutch_ctr_stop (c, *(int *)arg, err) < 0)
    return -1;
  return start_one (c, NULL, err);
}

static int
ctr_restart (int argc, char **argv)
{
  int c, ret = 0, timeout = -1;

  while ((c = cmd_next_opt (&cmd_restart_def, argc, argv, &ret)) != -1)
    if (c == 1000)
      return ret;
    else if (c == 't' && parse_time ("restart", optarg, &timeout) < 0)
      return HUTCH_EXIT_ERROR;
  return for_each (argc, argv, "restart", true, restart_one, &timeout);
}

/* ---- rm, prune ------------------------------------------------------ */

struct rm_args
{
  bool force, volumes;
};

static int
rm_one (struct hutch_ctr *c, void *arg, hutch_error_t *err)
{
  const struct rm_args *a = arg;
  struct hutch_state st;
  bool running;

  if (hutch_ctr_state (c, &st, err) < 0)
    return -1;
  running = st.status == HUTCH_STATE_RUNNING || st.status == HUTCH_STATE_PAUSED;
  hutch_state_clear (&st);
  if (running && !a->force)
    return hutch_error_set (err, 0,
                            "container %s is running: stop it first (`hutch stop %s`), or "
                            "use rm -f",
                            c->name, c->name);
  if (running && hutch_ctr_stop (c, 0, err) < 0)
    return -1;
  return hutch_ctr_remove (c, a->volumes, err);
}

static int
ctr_rm (int argc, char **argv)
{
  struct rm_args a = { false, false };
  int c, ret = 0;

  while ((c = cmd_next_opt (&cmd_rm_def, argc, argv, &ret)) != -1)
    if (c == 1000)
      return ret;
    else if (c == 'f')
      a.force = true;
    else if (c == 'v')
      a.volumes = true;
  return for_each (argc, argv, "rm", true, rm_one, &a);
}

static bool
confirm (void)
{
  char line[16];
  if (!isatty (0))
    {
      fprintf (stderr, "%s: stdin is no terminal to ask on: add -f\n",
               progname ("container prune"));
      return false;
    }
  fprintf (stderr, "Remove every container that does not run? [y/N] ");
  return fgets (line, sizeof line, stdin) && (line[0] == 'y' || line[0] == 'Y');
}

static int
ctr_prune (int argc, char **argv)
{
  _cleanup_free_ char *root = NULL;
  _cleanup_strv_ char **ids = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  bool force = false;
  int c, ret = 0;
  size_t i;

  while ((c = cmd_next_opt (&prune_def, argc, argv, &ret)) != -1)
    if (c == 1000)
      return ret;
    else if (c == 'f')
      force = true;
  if (optind < argc)
    {
      fprintf (stderr, "%s: unexpected argument `%s`\n", progname ("container prune"),
               argv[optind]);
      return HUTCH_EXIT_ERROR;
    }
  if (!force && !confirm ())
    return HUTCH_EXIT_ERROR;
  root = ctrs_root (&err);
  if (root == NULL)
    return cmd_report (&err);
  ids = hutch_ctr_list (root);
  for (i = 0; ids[i]; i++)
    {
      struct hutch_ctr ct;
      struct hutch_state st;
      int lock = -1;
      if (hutch_ctr_load (root, ids[i], &ct, &err) < 0)
        {
          hutch_error_clear (&err);
          continue;
        }
      /* Under the lock: a start may be on its way.  */
      if (hutch_ctr_lock (&ct, "container prune", LOCK_TIMEOUT_MS, &lock, &err) == 0
          && hutch_ctr_state (&ct, &st, &err) == 0)
        {
          if (st.status == HUTCH_STATE_EXITED || st.status == HUTCH_STATE_CREATED)
            {
              if (hutch_ctr_remove (&ct, false, &err) < 0)
                ret = cmd_report (&err);
              else
                printf ("%s\n", ct.id);
            }
          hutch_state_clear (&st);
        }
      if (err.msg)
        ret = cmd_report (&err);
      if (lock >= 0)
        close (lock);
      hutch_ctr_clear (&ct);
    }
  return ret;
}

/* ---- wait, rename, pause, port -------------------------------------- */

static int
ctr_wait (int argc, char **argv)
{
  _cleanup_free_ char *root = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  int c, i, ret = 0, code = 0;

  while ((c = cmd_next_opt (&cmd_wait_def, argc, argv, &ret)) != -1)
    if (c == 1000)
      return ret;
  if (optind >= argc)
    {
      fprintf (stderr, "%s: give at least one container\n", progname ("wait"));
      return HUTCH_EXIT_ERROR;
    }
  root = ctrs_root (&err);
  if (root == NULL)
    return cmd_report (&err);
  for (i = optind; i < argc; i++)
    {
      struct hutch_ctr ct;
      if (hutch_ctr_lookup (root, argv[i], &ct, &err) < 0 || hutch_ctr_wait (&ct, &code, &err) < 0)
        ret = cmd_report (&err);
      else
        {
          printf ("%d\n", code);
          fflush (stdout);
          ret = code;
        }
      hutch_ctr_clear (&ct);
    }
  return ret;
}

static int
rename_one (struct hutch_ctr *c, void *arg, hutch_error_t *err)
{
  return hutch_ctr_rename (c, arg, err);
}

static int
ctr_rename (int argc, char **argv)
{
  int c, ret = 0;

  while ((c = cmd_next_opt (&cmd_rename_def, argc, argv, &ret)) != -1)
    if (c == 1000)
      return ret;
  if (argc - optind != 2)
    {
      fprintf (stderr, "%s: give the container and its new name\n", progname ("rename"));
      return HUTCH_EXIT_ERROR;
    }
  return for_each (optind + 1, argv, "rename", false, rename_one, argv[optind + 1]);
}

static int
freeze (struct hutch_ctr *c, void *arg, hutch_error_t *err)
{
  bool on = arg != NULL;
  struct hutch_state st, now;
  _cleanup_close_ int rfd = -1;
  int r;

  if (hutch_ctr_state (c, &st, err) < 0)
    return -1;
  if (st.status != (on ? HUTCH_STATE_RUNNING : HUTCH_STATE_PAUSED))
    {
      r = hutch_error_set (err, 0, "container %s is %s, not %s", c->name,
                           hutch_state_status_name (st.status), on ? "running" : "paused");
      hutch_state_clear (&st);
      return r;
    }
  if (st.cgroup == NULL)
    {
      hutch_state_clear (&st);
      return hutch_error_set (err, 0,
                              "container %s has no cgroup of its own, and freezing needs one: "
                              "cgroup v2 with a subtree delegated to you (`hutch info` says "
                              "what this host has)",
                              c->name);
    }
  /* Frozen when this returns, or thawed again with an error that says
     why (src/runtime/ocicgroup.h); a cgroup gone meanwhile is not an
     error: the state below says the container ended.  */
  if (hutch_cgroup_freeze (st.cgroup, on, err) < 0)
    {
      hutch_error_prefix (err, "container %s", c->name);
      hutch_state_clear (&st);
      return -1;
    }
  /* The state as it is now: its holder writes it too (when the container
     ends, which may have happened meanwhile), and takes no lock.  */
  hutch_state_clear (&st);
  if (hutch_ctr_state (c, &now, err) < 0)
    return -1;
  if (now.status != (on ? HUTCH_STATE_RUNNING : HUTCH_STATE_PAUSED))
    r = hutch_error_set (err, 0, "container %s ended while it was being %s", c->name,
                         on ? "paused" : "unpaused");
  else
    {
      /* A flag beside the state, not the state rewritten: the holder may
         be writing it (runtime/state.h).  */
      rfd = hutch_ctr_rundir_open (c, err);
      r = rfd < 0 ? -1 : hutch_state_flag (rfd, HUTCH_STATE_FLAG_PAUSED, on);
      if (r < 0 && rfd >= 0)
        hutch_error_set (err, errno, "%s container %s", on ? "pause" : "unpause", c->name);
    }
  hutch_state_clear (&now);
  return r;
}

static int
ctr_pause (int argc, char **argv)
{
  int c, ret = 0;
  while ((c = cmd_next_opt (&cmd_pause_def, argc, argv, &ret)) != -1)
    if (c == 1000)
      return ret;
  return for_each (argc, argv, "pause", true, freeze, (void *)1);
}

static int
ctr_unpause (int argc, char **argv)
{
  int c, ret = 0;
  while ((c = cmd_next_opt (&cmd_unpause_def, argc, argv, &ret)) != -1)
    if (c == 1000)
      return ret;
  return for_each (argc, argv, "unpause", true, freeze, NULL);
}

static int
ctr_port (int argc, char **argv)
{
  _cleanup_free_ char *root = NULL, *want = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_ctr ct;
  struct hutch_state st;
  int c, ret = 0;
  bool found = false;
  char *p, *save = NULL;

  while ((c = cmd_next_opt (&cmd_port_def, argc, argv, &ret)) != -1)
    if (c == 1000)
      return ret;
  if (argc - optind < 1 || argc - optind > 2)
    {
      fprintf (stderr, "%s: give the container, and a port if you like\n", progname ("port"));
      return HUTCH_EXIT_ERROR;
    }
  if (argc - optind == 2)
    want = strchr (argv[optind + 1], '/') ? hutch_xstrdup (argv[optind + 1])
                                          : hutch_xasprintf ("%s/tcp", argv[optind + 1]);
  root = ctrs_root (&err);
  if (root == NULL || hutch_ctr_lookup (root, argv[optind], &ct, &err) < 0)
    return cmd_report (&err);
  if (hutch_ctr_state (&ct, &st, &err) < 0)
    {
      hutch_ctr_clear (&ct);
      return cmd_report (&err);
    }
  /* "80/tcp -> 127.0.0.1:8080, 53/udp -> ..." as the network helper said.  */
  for (p = st.status == HUTCH_STATE_RUNNING && st.ports ? strtok_r (st.ports, ",", &save) : NULL; p;
       p = strtok_r (NULL, ",", &save))
    {
      char *arrow;
      while (*p == ' ')
        p++;
      arrow = strstr (p, " -> ");
      if (want == NULL)
        printf ("%s\n", p);
      else if (arrow && (size_t)(arrow - p) == strlen (want)
               && strncmp (p, want, strlen (want)) == 0)
        {
          printf ("%s\n", arrow + 4);
          found = true;
        }
    }
  if (want && !found)
    ret = hutch_error_set (&err, 0, "container %s publishes no port %s", ct.name, want) < 0
              ? cmd_report (&err)
              : 0;
  hutch_state_clear (&st);
  hutch_ctr_clear (&ct);
  return ret;
}

/* ---- the monitor's way back ----------------------------------------- */

/* After a container under a monitor ended, the monitor execs this (same
   process, still the parent of nothing): HUTCH_MONITOR_ACTION says
   whether to start it again (this process becomes its monitor again) or
   to remove it (--rm).  A container removed or stopped meanwhile is left
   alone.  */
static int
ctr_monitor_end (int argc, char **argv)
{
  _cleanup_free_ char *root = NULL;
  _cleanup_spec_ struct hutch_spec *spec = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  const char *action = getenv ("HUTCH_MONITOR_ACTION");
  struct hutch_ctr ct;
  struct hutch_state st;
  int lock = -1, r = 0;

  if (argc != 2 || action == NULL)
    return HUTCH_EXIT_ERROR;
  root = hutch_ctrs_root (cmd_globals.root, &err);
  if (root == NULL || hutch_ctr_load (root, argv[1], &ct, &err) < 0)
    return HUTCH_EXIT_ERROR;
  if (hutch_ctr_lock (&ct, "container monitor-end", LOCK_TIMEOUT_MS, &lock, &err) < 0
      || hutch_ctr_state (&ct, &st, &err) < 0)
    {
      hutch_ctr_clear (&ct);
      return HUTCH_EXIT_ERROR;
    }
  if (strcmp (action, "remove") == 0)
    r = hutch_ctr_remove (&ct, true, &err);
  else if (strcmp (action, "restart") == 0 && st.status == HUTCH_STATE_EXITED && !st.stop_requested)
    {
      unsigned int restarts = st.restarts + 1;
      /* The count goes into the state that the start writes.  */
      _cleanup_close_ int rfd = hutch_ctr_rundir_open (&ct, &err);
      st.restarts = restarts;
      /* The lock stays held until this process execs the new monitor (it
         is close-on-exec): an rm meanwhile would remove a container
         about to run.  */
      if (rfd < 0 || hutch_state_write (rfd, &st, &err) < 0 || cmd_ctr_spec (&ct, &spec, &err) < 0)
        r = -1;
      else
        r = cmd_ctr_launch (&ct, spec, false, &err);
    }
  hutch_state_clear (&st);
  if (lock >= 0)
    close (lock);
  hutch_ctr_clear (&ct);
  hutch_error_clear (&err);
  return r < 0 ? HUTCH_EXIT_ERROR : 0;
}

/* ---- hutch container ------------------------------------------------ */

static int
cmd_container (int argc, char **argv)
{
  const struct cmd_def *sub;
  int c, ret = 0;

  optind = 1;
  while ((c = cmd_next_opt (&cmd_container_def, argc, argv, &ret)) != -1)
    if (c == 1000)
      return ret;
  if (optind >= argc)
    {
      cmd_help (&cmd_container_def, stderr);
      return HUTCH_EXIT_ERROR;
    }
  sub = cmd_find_sub (&cmd_container_def, argv[optind]);
  if (sub == NULL)
    {
      fprintf (stderr, "hutch container: unknown command `%s`; see `hutch container --help`\n",
               argv[optind]);
      return HUTCH_EXIT_ERROR;
    }
  if (sub == &ls_def)
    sub = &cmd_ps_def;
  snprintf (prog, sizeof prog, "hutch container %s", sub->name);
  argv[optind] = prog + strlen ("hutch ");
  return sub->fn (argc - optind, argv + optind);
}
