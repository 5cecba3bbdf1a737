/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* `hutch exec`: run a command in a running container
   (src/runtime/exec.h).  */

#include "hutch.h"
#include "front/containers.h"
#include "front/detach.h"
#include "front/user.h"
#include "runtime/exec.h"
#include "runtime/specjson.h"
#include "base/parse.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmd_exec (int argc, char **argv);

enum
{
  OPT_ENV_FILE = 256,
  OPT_PRIVILEGED,
  OPT_DETACH_KEYS,
};

static const struct cmd_opt exec_opts[] = {
  { "interactive", 'i', no_argument, NULL, "keep stdin open", NULL },
  { "tty", 't', no_argument, NULL, "a terminal of the container's own for the command", NULL },
  { "detach", 'd', no_argument, NULL, "leave the command running and return", NULL },
  { "user", 'u', required_argument, "USER[:GROUP]",
    "run as USER (a name in the container's /etc/passwd,\nor a number), and GROUP", NULL },
  { "workdir", 'w', required_argument, "DIR", "the working directory in the container", NULL },
  { "env", 'e', required_argument, "KEY=VALUE",
    "set an environment variable (repeatable; KEY alone\ntakes hutch's own value)", NULL },
  { "env-file", OPT_ENV_FILE, required_argument, "FILE",
    "read KEY=VALUE lines from FILE (repeatable)", CMD_VALUE_FILE },
  { "privileged", OPT_PRIVILEGED, no_argument, NULL,
    "every capability of the container's bounding set\n(never one the container lacks)", NULL },
  { "detach-keys", OPT_DETACH_KEYS, required_argument, "KEYS",
    "keys that detach from -it and leave the command\nrunning (default ctrl-p,ctrl-q; \"\": none)",
    NULL },
  { 0 },
};

const struct cmd_def cmd_exec_def = {
  .name = "exec",
  .summary = "run a command in a running container",
  .usage = "Usage: hutch exec [OPTIONS] CONTAINER COMMAND [ARG...]\n"
           "\n"
           "Run COMMAND in the running CONTAINER: in its namespaces and cgroup, as its\n"
           "user, with its capabilities, seccomp filter, rlimits and environment, in its\n"
           "working directory unless told otherwise.  The exit code is COMMAND's (128+N\n"
           "for signal N); 126 when it cannot run, 127 when it is not found; 125 for\n"
           "hutch's own errors.\n",
  .opts = exec_opts,
  .operands = CMD_VALUE_CONTAINER,
  .fn = cmd_exec,
};

struct exec_options
{
  bool interactive, tty, detach, privileged;
  const char *user, *workdir, *detach_keys;
  char **env, **env_files;
};

static void
exec_options_clear (struct exec_options *o)
{
  hutch_strv_free (o->env);
  hutch_strv_free (o->env_files);
}

/* -e and --env-file, in the order run takes them: the files first, then
   -e, so that -e wins.  */
static int
environment (const struct exec_options *o, char ***ret, hutch_error_t *err)
{
  return hutch_parse_env_options (o->env_files, o->env, ret, err);
}

/* -u USER[:GROUP], looked up in the container's own /etc/passwd and
   /etc/group, read inside its root (RESOLVE_IN_ROOT: its symlinks stay
   inside), as hutch run reads an image's.  */
static int
resolve_user (const char *user, const struct hutch_state *st, struct hutch_user *ret,
              hutch_error_t *err)
{
  _cleanup_free_ char *uname = NULL, *gname = NULL;
  _cleanup_close_ int rootfd = -1;

  if (hutch_parse_user (user, &uname, &gname, err) < 0
      || hutch_exec_open_root (st->pid, st->pid_start, &rootfd, err) < 0)
    return -1;
  if (hutch_user_resolve (rootfd, rootfd, uname, gname, ret, err) < 0)
    return -1;
  return 0;
}

static int
not_running (const struct hutch_ctr *c, const struct hutch_state *st, hutch_error_t *err)
{
  if (st->status == HUTCH_STATE_PAUSED)
    return hutch_error_set (err, 0, "container %s is paused; unpause it first (hutch unpause %s)",
                            c->name, c->name);
  return hutch_error_set (err, 0,
                          "container %s is not running (%s%s%s); start it first (hutch "
                          "start %s)",
                          c->name, hutch_state_status_name (st->status), st->error ? ": " : "",
                          st->error ? st->error : "", c->name);
}

static int
exec_in (const struct exec_options *o, const char *ref, char **argv, int *ret_status,
         hutch_error_t *err)
{
  _cleanup_free_ char *root = NULL;
  _cleanup_spec_ struct hutch_spec *spec = NULL;
  _cleanup_strv_ char **env = NULL;
  _cleanup_close_ int dirfd = -1;
  struct hutch_exec x = { 0 };
  struct hutch_user u = { 0 };
  struct hutch_ctr c;
  struct hutch_state st;
  unsigned char keys[16];
  size_t nkeys = 0;
  int r = -1;

  hutch_state_init (&st);
  root = hutch_ctrs_root (cmd_globals.root, err);
  if (root == NULL || hutch_ctr_lookup (root, ref, &c, err) < 0)
    return -1;
  if (hutch_ctr_state (&c, &st, err) < 0)
    goto out;
  if (st.status != HUTCH_STATE_RUNNING || st.pid <= 0)
    {
      not_running (&c, &st, err);
      goto out;
    }
  dirfd = open (c.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    {
      hutch_error_set (err, errno, "the directory of container %s", c.name);
      goto out;
    }
  if (hutch_spec_load_saved (dirfd, &spec, err) < 0)
    {
      hutch_error_prefix (err, "container %s", c.name);
      goto out;
    }
  if (environment (o, &env, err) < 0)
    goto out;
  if (o->user && resolve_user (o->user, &st, &u, err) < 0)
    goto out;
  /* -it: these keys, the container's own (run --detach-keys), or
     docker's.  */
  if (o->interactive && o->tty
      && hutch_detach_keys_parse (o->detach_keys  ? o->detach_keys
                                  : c.detach_keys ? c.detach_keys
                                                  : "ctrl-p,ctrl-q",
                                  keys, &nkeys, err)
             < 0)
    goto out;

  x.pid = st.pid;
  x.pid_start = st.pid_start;
  x.spec = spec;
  x.cgroup = st.cgroup;
  x.argv = argv;
  x.env = env;
  x.has_user = o->user != NULL;
  x.uid = u.uid;
  x.gid = u.gid;
  x.groups = u.groups;
  x.n_groups = u.n_groups;
  x.home = u.home;
  x.workdir = o->workdir;
  x.tty = o->tty;
  x.interactive = o->interactive;
  x.detach = o->detach;
  x.privileged = o->privileged;
  x.detach_keys = (const char *)keys;
  x.detach_len = nkeys;
  r = hutch_container_exec (&x, ret_status, err);
out:
  hutch_user_clear (&u);
  hutch_state_clear (&st);
  hutch_ctr_clear (&c);
  return r;
}

static int
cmd_exec (int argc, char **argv)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct exec_options o = { 0 };
  int c, ret = 0, status = 0;

  while ((c = cmd_next_opt (&cmd_exec_def, argc, argv, &ret)) != -1)
    switch (c)
      {
      case 1000:
        exec_options_clear (&o);
        return ret;
      case 'i':
        o.interactive = true;
        break;
      case 't':
        o.tty = true;
        break;
      case 'd':
        o.detach = true;
        break;
      case 'u':
        o.user = optarg;
        break;
      case 'w':
        o.workdir = optarg;
        break;
      case 'e':
        hutch_strv_push (&o.env, hutch_xstrdup (optarg));
        break;
      case OPT_ENV_FILE:
        hutch_strv_push (&o.env_files, hutch_xstrdup (optarg));
        break;
      case OPT_PRIVILEGED:
        o.privileged = true;
        break;
      case OPT_DETACH_KEYS:
        o.detach_keys = optarg;
        break;
      }
  if (argc - optind < 2)
    {
      fprintf (stderr,
               "hutch exec: give the container and the command to run; see `hutch exec --help`\n");
      exec_options_clear (&o);
      return HUTCH_EXIT_ERROR;
    }
  /* From here on, this process enters the container: as a sealed copy of
     itself (src/runtime/exec.c says why); this call returns in the copy,
     which parsed the same options again.  */
  if (hutch_exec_seal_self (&err) < 0
      || exec_in (&o, argv[optind], argv + optind + 1, &status, &err) < 0)
    status = cmd_report (&err);
  exec_options_clear (&o);
  return status;
}
