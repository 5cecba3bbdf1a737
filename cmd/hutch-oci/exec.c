/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* hutch-oci exec: parse, call src/runtime/ocirt.c, report.  */

#include "oci.h"
#include "runtime/exec.h"
#include "runtime/ocirt.h"
#include "base/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum
{
  OPT_PROCESS = 'p',
  OPT_DETACH = 'd',
  OPT_TTY = 't',
  OPT_ENV = 'e',
  OPT_USER = 'u',
  OPT_GROUPS = 'g',
  OPT_CAP = 'c',
  OPT_PID_FILE = 256,
  OPT_CONSOLE_SOCKET,
  OPT_CWD,
  OPT_NO_NEW_PRIVS,
  OPT_PRESERVE_FDS,
};

static const struct cmd_opt exec_opts[] = {
  { "process", OPT_PROCESS, required_argument, "FILE",
    "the whole process from FILE, an OCI process object (JSON); no COMMAND then", CMD_VALUE_FILE },
  { "detach", OPT_DETACH, no_argument, NULL,
    "return once the process runs; it is then the child of the caller's subreaper "
    "(containerd's shim, conmon), as the container's first process is",
    NULL },
  { "pid-file", OPT_PID_FILE, required_argument, "FILE", "write the process's pid to FILE",
    CMD_VALUE_FILE },
  { "console-socket", OPT_CONSOLE_SOCKET, required_argument, "SOCKET",
    "with a terminal, send its master to the unix socket SOCKET", CMD_VALUE_FILE },
  { "tty", OPT_TTY, no_argument, NULL, "a terminal for the process", NULL },
  { "cwd", OPT_CWD, required_argument, "DIR", "the working directory (absolute, in the container)",
    NULL },
  { "env", OPT_ENV, required_argument, "KEY=VALUE", "set KEY in the environment (repeatable)",
    NULL },
  { "user", OPT_USER, required_argument, "UID[:GID]", "run as UID and GID (numbers)", NULL },
  { "additional-gids", OPT_GROUPS, required_argument, "GID", "a supplementary group (repeatable)",
    NULL },
  { "cap", OPT_CAP, required_argument, "CAP",
    "add capability CAP (CAP_NET_ADMIN) to the process's sets (repeatable)", NULL },
  { "no-new-privs", OPT_NO_NEW_PRIVS, no_argument, NULL, "set no_new_privs for the process", NULL },
  { "preserve-fds", OPT_PRESERVE_FDS, required_argument, "N",
    "pass fds 3 .. 3+N-1 on to the process", NULL },
  { 0 },
};

static int cmd_exec (int argc, char **argv);

const struct cmd_def oci_exec_def = {
  .name = "exec",
  .summary = "run another process in a running (or created) container",
  .usage
  = "Usage: hutch-oci exec [OPTIONS] ID COMMAND [ARG...]\n"
    "       hutch-oci exec [OPTIONS] --process FILE ID\n"
    "\n"
    "Run COMMAND in container ID (running, or created), in its namespaces and cgroup, with the\n"
    "user, capabilities, rlimits, no_new_privs and seccomp filter of its config.json\n"
    "unless asked otherwise; the exit code is the command's.\n",
  .opts = exec_opts,
  .operands = CMD_VALUE_CONTAINER,
  .fn = cmd_exec,
};

static int
parse_uint (const char *s, unsigned int *ret)
{
  char *end;
  unsigned long n;
  errno = 0;
  n = strtoul (s, &end, 10);
  if (errno || end == s || *end || n > 0xfffffffeUL || s[0] == '-')
    return -1;
  *ret = (unsigned int)n;
  return 0;
}

static int
cmd_exec (int argc, char **argv)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_close_ int rootfd = -1;
  _cleanup_strv_ char **env = hutch_xmalloc0 (sizeof (char *));
  _cleanup_strv_ char **caps = hutch_xmalloc0 (sizeof (char *));
  _cleanup_free_ unsigned int *groups = NULL;
  struct hutch_oci_exec o = { 0 };
  int c, ret = 0, status = 0;

  /* First of all, before an fd is opened: run from a sealed copy of
     ourselves (exec.h says why).  */
  if (hutch_exec_seal_self (&err) < 0)
    return oci_fail ("exec", &err);
  optind = 1;
  while ((c = oci_opt_next (&oci_exec_def, argc, argv, &ret)) != -1)
    {
      char *colon;
      switch (c)
        {
        case CMD_OPT_EXIT:
          return ret;
        case OPT_PROCESS:
          o.process_file = optarg;
          break;
        case OPT_DETACH:
          o.detach = true;
          break;
        case OPT_PID_FILE:
          o.pid_file = optarg;
          break;
        case OPT_CONSOLE_SOCKET:
          o.console_socket = optarg;
          break;
        case OPT_TTY:
          o.tty = true;
          break;
        case OPT_CWD:
          o.cwd = optarg;
          break;
        case OPT_ENV:
          if (strchr (optarg, '=') == NULL || optarg[0] == '=')
            return oci_usage_fail ("exec", "--env `%s` is not KEY=VALUE", optarg);
          hutch_strv_push (&env, hutch_xstrdup (optarg));
          break;
        case OPT_USER:
          colon = strchr (optarg, ':');
          if (colon)
            *colon = '\0';
          if (parse_uint (optarg, &o.uid) < 0
              || (colon ? parse_uint (colon + 1, &o.gid) < 0 : (o.gid = 0, false)))
            return oci_usage_fail ("exec", "--user wants UID[:GID], numbers");
          o.has_user = true;
          break;
        case OPT_GROUPS:
          groups = hutch_xrealloc (groups, (o.n_groups + 1) * sizeof *groups);
          if (parse_uint (optarg, &groups[o.n_groups]) < 0)
            return oci_usage_fail ("exec", "--additional-gids `%s` is not a gid", optarg);
          o.n_groups++;
          break;
        case OPT_CAP:
          {
            _cleanup_free_ char *name = strncasecmp (optarg, "CAP_", 4) == 0
                                            ? hutch_xstrdup (optarg)
                                            : hutch_xasprintf ("CAP_%s", optarg);
            char *p;
            for (p = name; *p; p++)
              if (*p >= 'a' && *p <= 'z')
                *p = (char)(*p - 'a' + 'A');
            hutch_strv_push (&caps, HUTCH_STEAL_PTR (name));
          }
          break;
        case OPT_NO_NEW_PRIVS:
          o.no_new_privs = true;
          break;
        case OPT_PRESERVE_FDS:
          {
            unsigned int n;
            if (parse_uint (optarg, &n) < 0 || n > 65536)
              return oci_usage_fail ("exec", "--preserve-fds `%s` is not a number of fds", optarg);
            o.preserve_fds = (int)n;
          }
          break;
        }
    }
  if (optind >= argc)
    return oci_usage_fail ("exec", "no container id given");
  o.id = argv[optind];
  if (o.process_file && optind + 1 < argc)
    return oci_usage_fail ("exec", "--process gives the whole process: no COMMAND after the id");
  if (o.n_groups && !o.has_user)
    return oci_usage_fail ("exec", "--additional-gids goes with --user");
  if (o.has_user)
    {
      o.groups = groups;
    }
  o.argv = argv + optind + 1;
  o.env = env;
  o.caps = caps;
  if (hutch_oci_check_id (o.id, &err) < 0 || oci_root (&rootfd, &err) < 0
      || hutch_oci_exec (rootfd, &o, &status, &err) < 0)
    return oci_fail ("exec", &err);
  return status;
}
