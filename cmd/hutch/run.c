/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "hutch.h"
#include "base/log.h"
#include "runtime/container.h"
#include "registry/pull.h"
#include "front/run.h"
#include "base/util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[]
    = "Usage: hutch run [OPTIONS] IMAGE [COMMAND [ARG...]]\n"
      "       hutch run [OPTIONS] --rootfs DIR [COMMAND [ARG...]]\n"
      "       hutch run [OPTIONS] -- COMMAND [ARG...]\n"
      "\n"
      "Run COMMAND in a new rootless container: on a copy-on-write root over IMAGE's\n"
      "layers from the store (its Entrypoint, Cmd, Env, WorkingDir and User apply),\n"
      "on the directory DIR (--rootfs), or, with `--` and neither, in a sandbox made\n"
      "from the host's own system directories (read-only) and the current directory\n"
      "(read-write).\n"
      "\n"
      "Options:\n"
      "      --rootfs DIR            use DIR as the root filesystem (changes are written to it)\n"
      "      --read-only             mount the root filesystem read-only\n"
      "      --entrypoint CMD        run CMD instead of the image's entrypoint (\"\" for none)\n"
      "  -v, --volume SRC:DST[:OPTS] bind SRC at DST; OPTS: ro or rw\n"
      "      --tmpfs DST[:OPTS]      mount a tmpfs at DST (OPTS e.g. size=64m,mode=1777)\n"
      "  -e, --env KEY[=VALUE]       set a variable (KEY alone copies the host's value)\n"
      "      --env-file FILE         read KEY=VALUE lines from FILE\n"
      "  -w, --workdir DIR           working directory inside (created if missing)\n"
      "  -u, --user USER[:GROUP]     run as USER (name or uid) and GROUP (name or gid)\n"
      "      --hostname NAME         the container's hostname (default: a random id)\n"
      "  -i, --interactive           keep stdin attached\n"
      "  -t, --tty                   allocate a pseudo-terminal\n"
      "      --init                  run hutch-init as PID 1 (reaps zombies, forwards signals)\n"
      "      --userns MODE           default, keep-id or single\n"
      "      --network MODE          slirp[:OPTIONS] (the default for images), none\n"
      "                              (the default with --rootfs) or host (the default\n"
      "                              with `--`); slirp OPTIONS: mtu=N, cidr=A.B.C.D/N,\n"
      "                              allow_host_loopback=true, enable_ipv6=true\n"
      "  -p, --publish [IP:][HOSTPORT:]PORT[/udp]  forward a host port to the container's\n"
      "                              PORT (HOSTPORT left out: a free one, printed)\n"
      "      --dns IP                the name server inside (repeatable)\n"
      "      --add-host NAME:IP      a line for /etc/hosts (repeatable)\n"
      "      --pull POLICY           missing (default), always or never: when to pull IMAGE\n"
      "      --platform OS/ARCH[/VARIANT]  the platform to pull (default: this machine's)\n"
      "      --tls-verify=BOOL       false: pull over plain HTTP or unverified TLS\n"
      "      --authfile FILE         the registry credentials file (see hutch-login(1))\n"
      "  -q, --quiet                 no pull progress\n"
      "  -m, --memory SIZE           memory limit (e.g. 256m; units b, k, m, g)\n"
      "      --memory-reservation SIZE  soft memory limit (memory.low)\n"
      "      --memory-swap SIZE      memory and swap together (-1: swap unlimited;\n"
      "                              default: as much swap as --memory)\n"
      "      --pids-limit N          at most N processes (-1: no limit)\n"
      "      --cpus N                CPU time of N CPUs (e.g. 0.5)\n"
      "  -c, --cpu-shares N          relative CPU weight, 2 to 262144 (default 1024)\n"
      "      --cpuset-cpus LIST      CPUs allowed (e.g. 0-3,5)\n"
      "      --cpuset-mems LIST      memory nodes allowed\n"
      "      --blkio-weight N        relative I/O weight, 10 to 1000\n"
      "      --cgroup-conf KEY=VALUE write VALUE to the cgroup v2 file KEY (repeatable)\n"
      "      --cgroups MODE          enabled (default: a cgroup of its own when one is\n"
      "                              delegated to you) or disabled\n"
      "      --cap-add CAP           add a capability (e.g. NET_ADMIN, or ALL) to\n"
      "                              Docker's default set (repeatable)\n"
      "      --cap-drop CAP          drop a capability, or ALL (repeatable)\n"
      "      --privileged            every capability of the user namespace, /proc and\n"
      "                              /sys unmasked and /sys writable, no seccomp filter\n"
      "                              (still no more than you have on the host)\n"
      "      --security-opt OPT      no-new-privileges[=true|false] (default true);\n"
      "                              seccomp=FILE (a Docker or OCI JSON profile) or\n"
      "                              seccomp=unconfined (no filter; default: hutch's\n"
      "                              profile, close to Docker's)\n"
      "  -h, --help                  show this help\n"
      "\n"
      "Defaults: with --rootfs, --userns=default and --network=none; in the host\n"
      "sandbox, --userns=keep-id and --network=host.  See hutch-run(1).\n";

enum
{
  OPT_ROOTFS = 256,
  OPT_READ_ONLY,
  OPT_TMPFS,
  OPT_ENV_FILE,
  OPT_HOSTNAME,
  OPT_INIT,
  OPT_USERNS,
  OPT_NETWORK,
  OPT_ENTRYPOINT,
  OPT_PULL,
  OPT_PLATFORM,
  OPT_TLS_VERIFY,
  OPT_AUTHFILE,
  OPT_DNS,
  OPT_ADD_HOST,
  OPT_MEMORY_RESERVATION,
  OPT_MEMORY_SWAP,
  OPT_PIDS_LIMIT,
  OPT_CPUS,
  OPT_CPUSET_CPUS,
  OPT_CPUSET_MEMS,
  OPT_BLKIO_WEIGHT,
  OPT_CGROUP_CONF,
  OPT_CGROUPS,
  OPT_CAP_ADD,
  OPT_CAP_DROP,
  OPT_PRIVILEGED,
  OPT_SECURITY_OPT,
};

static const struct option options[] = {
  { "rootfs", required_argument, NULL, OPT_ROOTFS },
  { "read-only", no_argument, NULL, OPT_READ_ONLY },
  { "volume", required_argument, NULL, 'v' },
  { "tmpfs", required_argument, NULL, OPT_TMPFS },
  { "env", required_argument, NULL, 'e' },
  { "env-file", required_argument, NULL, OPT_ENV_FILE },
  { "workdir", required_argument, NULL, 'w' },
  { "user", required_argument, NULL, 'u' },
  { "hostname", required_argument, NULL, OPT_HOSTNAME },
  { "interactive", no_argument, NULL, 'i' },
  { "tty", no_argument, NULL, 't' },
  { "init", no_argument, NULL, OPT_INIT },
  { "userns", required_argument, NULL, OPT_USERNS },
  { "network", required_argument, NULL, OPT_NETWORK },
  { "entrypoint", required_argument, NULL, OPT_ENTRYPOINT },
  { "pull", required_argument, NULL, OPT_PULL },
  { "platform", required_argument, NULL, OPT_PLATFORM },
  { "tls-verify", optional_argument, NULL, OPT_TLS_VERIFY },
  { "authfile", required_argument, NULL, OPT_AUTHFILE },
  { "quiet", no_argument, NULL, 'q' },
  { "publish", required_argument, NULL, 'p' },
  { "dns", required_argument, NULL, OPT_DNS },
  { "add-host", required_argument, NULL, OPT_ADD_HOST },
  { "memory", required_argument, NULL, 'm' },
  { "memory-reservation", required_argument, NULL, OPT_MEMORY_RESERVATION },
  { "memory-swap", required_argument, NULL, OPT_MEMORY_SWAP },
  { "pids-limit", required_argument, NULL, OPT_PIDS_LIMIT },
  { "cpus", required_argument, NULL, OPT_CPUS },
  { "cpu-shares", required_argument, NULL, 'c' },
  { "cpuset-cpus", required_argument, NULL, OPT_CPUSET_CPUS },
  { "cpuset-mems", required_argument, NULL, OPT_CPUSET_MEMS },
  { "blkio-weight", required_argument, NULL, OPT_BLKIO_WEIGHT },
  { "cgroup-conf", required_argument, NULL, OPT_CGROUP_CONF },
  { "cgroups", required_argument, NULL, OPT_CGROUPS },
  { "cap-add", required_argument, NULL, OPT_CAP_ADD },
  { "cap-drop", required_argument, NULL, OPT_CAP_DROP },
  { "privileged", no_argument, NULL, OPT_PRIVILEGED },
  { "security-opt", required_argument, NULL, OPT_SECURITY_OPT },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

/* A helper program: beside the hutch binary (a build tree), else where
   make install put it.  */
static char *
find_helper (const char *name)
{
  _cleanup_free_ char *dir = cmd_self_dir ();
  char *p;
  if (dir)
    {
      p = hutch_xasprintf ("%s/%s", dir, name);
      if (access (p, X_OK) == 0)
        return p;
      free (p);
    }
  return hutch_xasprintf ("%s/%s", PKGLIBEXECDIR, name);
}

static char *
find_init (void)
{
  return find_helper ("hutch-init");
}

static void
set_str (char **dst, const char *v)
{
  free (*dst);
  *dst = hutch_xstrdup (v);
}

int
cmd_run (int argc, char **argv)
{
  struct hutch_run_options o;
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_spec_ struct hutch_spec *spec = NULL;
  int c, status = 0, i;
  bool dashdash, pull_given = false;

  hutch_run_options_init (&o);
  opterr = 0;
  optind = 1;
  /* "+": stop at the first non-option, which starts the command.  */
  while ((c = getopt_long (argc, argv, "+v:e:w:u:ithqp:m:c:", options, NULL)) != -1)
    {
      switch (c)
        {
        case OPT_ROOTFS:
          set_str (&o.rootfs, optarg);
          break;
        case OPT_PULL:
          pull_given = true;
          o.pull = hutch_pull_policy_from_name (optarg);
          if (o.pull < 0)
            {
              fprintf (stderr, "hutch: --pull `%s`: expected missing, always or never\n", optarg);
              hutch_run_options_clear (&o);
              return HUTCH_EXIT_ERROR;
            }
          break;
        case OPT_PLATFORM:
          free (o.platform);
          o.platform = hutch_xstrdup (optarg);
          break;
        case OPT_TLS_VERIFY:
          o.tls_verify = cmd_parse_tls_verify ("run", optarg);
          if (o.tls_verify < 0)
            {
              hutch_run_options_clear (&o);
              return HUTCH_EXIT_ERROR;
            }
          break;
        case OPT_AUTHFILE:
          free (o.authfile);
          o.authfile = hutch_xstrdup (optarg);
          break;
        case 'q':
          o.quiet = true;
          break;
        case OPT_ENTRYPOINT:
          hutch_strv_free (o.entrypoint);
          o.entrypoint = hutch_xmalloc0 (sizeof (char *));
          if (*optarg)
            hutch_strv_push (&o.entrypoint, hutch_xstrdup (optarg));
          break;
        case OPT_READ_ONLY:
          o.read_only = true;
          break;
        case 'v':
          hutch_strv_push (&o.volumes, hutch_xstrdup (optarg));
          break;
        case OPT_TMPFS:
          hutch_strv_push (&o.tmpfs, hutch_xstrdup (optarg));
          break;
        case 'e':
          hutch_strv_push (&o.env, hutch_xstrdup (optarg));
          break;
        case OPT_ENV_FILE:
          hutch_strv_push (&o.env_files, hutch_xstrdup (optarg));
          break;
        case 'w':
          set_str (&o.workdir, optarg);
          break;
        case 'u':
          set_str (&o.user, optarg);
          break;
        case OPT_HOSTNAME:
          set_str (&o.hostname, optarg);
          break;
        case 'i':
          o.interactive = true;
          break;
        case 't':
          o.tty = true;
          break;
        case OPT_INIT:
          o.init = true;
          break;
        case OPT_USERNS:
          o.userns = hutch_userns_mode_from_name (optarg);
          if (o.userns < 0)
            {
              fprintf (stderr, "hutch: --userns `%s`: expected default, keep-id or single\n",
                       optarg);
              hutch_run_options_clear (&o);
              return HUTCH_EXIT_ERROR;
            }
          break;
        case OPT_NETWORK:
          if (hutch_network_parse (optarg, &o.network, &o.slirp, &err) < 0)
            {
              hutch_run_options_clear (&o);
              return cmd_report (&err);
            }
          break;
        case 'p':
          hutch_strv_push (&o.publish, hutch_xstrdup (optarg));
          break;
        case OPT_DNS:
          hutch_strv_push (&o.dns, hutch_xstrdup (optarg));
          break;
        case OPT_ADD_HOST:
          hutch_strv_push (&o.add_hosts, hutch_xstrdup (optarg));
          break;
        case 'm':
          set_str (&o.limits.memory, optarg);
          break;
        case OPT_MEMORY_RESERVATION:
          set_str (&o.limits.memory_reservation, optarg);
          break;
        case OPT_MEMORY_SWAP:
          set_str (&o.limits.memory_swap, optarg);
          break;
        case OPT_PIDS_LIMIT:
          set_str (&o.limits.pids_limit, optarg);
          break;
        case OPT_CPUS:
          set_str (&o.limits.cpus, optarg);
          break;
        case 'c':
          set_str (&o.limits.cpu_shares, optarg);
          break;
        case OPT_CPUSET_CPUS:
          set_str (&o.limits.cpuset_cpus, optarg);
          break;
        case OPT_CPUSET_MEMS:
          set_str (&o.limits.cpuset_mems, optarg);
          break;
        case OPT_BLKIO_WEIGHT:
          set_str (&o.limits.blkio_weight, optarg);
          break;
        case OPT_CGROUP_CONF:
          hutch_strv_push (&o.limits.conf, hutch_xstrdup (optarg));
          break;
        case OPT_CGROUPS:
          if (strcmp (optarg, "enabled") != 0 && strcmp (optarg, "disabled") != 0)
            {
              fprintf (stderr, "hutch: --cgroups `%s`: expected enabled or disabled\n", optarg);
              hutch_run_options_clear (&o);
              return HUTCH_EXIT_ERROR;
            }
          o.cgroups_disabled = strcmp (optarg, "disabled") == 0;
          break;
        case OPT_CAP_ADD:
          hutch_strv_push (&o.cap_add, hutch_xstrdup (optarg));
          break;
        case OPT_CAP_DROP:
          hutch_strv_push (&o.cap_drop, hutch_xstrdup (optarg));
          break;
        case OPT_PRIVILEGED:
          o.privileged = true;
          break;
        case OPT_SECURITY_OPT:
          if (strcmp (optarg, "no-new-privileges") == 0
              || strcmp (optarg, "no-new-privileges=true") == 0
              || strcmp (optarg, "no-new-privileges:true") == 0)
            o.no_new_privileges = 1;
          else if (strcmp (optarg, "no-new-privileges=false") == 0
                   || strcmp (optarg, "no-new-privileges:false") == 0)
            o.no_new_privileges = 0;
          else if ((strncmp (optarg, "seccomp=", 8) == 0 || strncmp (optarg, "seccomp:", 8) == 0)
                   && optarg[8] != '\0')
            {
              free (o.seccomp);
              o.seccomp = hutch_xstrdup (optarg + 8);
            }
          else
            {
              fprintf (stderr,
                       "hutch: --security-opt `%s`: hutch knows no-new-privileges[=true|false] "
                       "and seccomp=FILE|unconfined (SELinux and AppArmor labels are not "
                       "supported)\n",
                       optarg);
              hutch_run_options_clear (&o);
              return HUTCH_EXIT_ERROR;
            }
          break;
        case 'h':
          fputs (usage, stdout);
          hutch_run_options_clear (&o);
          return 0;
        case ':':
          fprintf (stderr, "hutch run: option `%s` needs a value; see `hutch run --help`\n",
                   argv[optind - 1]);
          hutch_run_options_clear (&o);
          return HUTCH_EXIT_ERROR;
        default:
          fprintf (stderr, "hutch run: unknown option `%s`; see `hutch run --help`\n",
                   argv[optind - 1]);
          hutch_run_options_clear (&o);
          return HUTCH_EXIT_ERROR;
        }
    }
  dashdash = optind > 1 && strcmp (argv[optind - 1], "--") == 0;
  if (o.rootfs == NULL && !dashdash)
    {
      if (optind >= argc)
        {
          fprintf (stderr,
                   "hutch run: nothing to run: give an IMAGE, --rootfs DIR, or `-- COMMAND`; "
                   "see `hutch run --help`\n");
          hutch_run_options_clear (&o);
          return HUTCH_EXIT_ERROR;
        }
      o.image = hutch_xstrdup (argv[optind++]);
    }
  else if (o.rootfs == NULL && optind >= argc)
    {
      fprintf (stderr, "hutch run: give the command to run after `--`\n");
      hutch_run_options_clear (&o);
      return HUTCH_EXIT_ERROR;
    }
  if (o.entrypoint && o.image == NULL)
    {
      fprintf (stderr, "hutch run: --entrypoint applies to images only; give the command itself\n");
      hutch_run_options_clear (&o);
      return HUTCH_EXIT_ERROR;
    }
  if (o.image == NULL && (pull_given || o.platform || o.tls_verify >= 0 || o.authfile || o.quiet))
    {
      fprintf (stderr, "hutch run: --pull, --platform, --tls-verify, --authfile and --quiet apply "
                       "to images only\n");
      hutch_run_options_clear (&o);
      return HUTCH_EXIT_ERROR;
    }
  if (o.platform)
    {
      _cleanup_free_ char *os = NULL, *arch = NULL, *variant = NULL;
      if (hutch_platform_parse (o.platform, &os, &arch, &variant, &err) < 0)
        {
          hutch_run_options_clear (&o);
          return cmd_report (&err);
        }
    }
  if (cmd_globals.root)
    o.store_root = hutch_xstrdup (cmd_globals.root);
  o.storage_driver = cmd_globals.storage_driver;
  for (i = optind; i < argc; i++)
    hutch_strv_push (&o.command, hutch_xstrdup (argv[i]));
  if (o.init)
    o.init_path = find_init ();
  o.slirp_path = find_helper ("hutch-slirp");

  if (hutch_run_make_spec (&o, &spec, &err) < 0)
    {
      hutch_run_options_clear (&o);
      return cmd_report (&err);
    }
  hutch_run_options_clear (&o);
  if (hutch_container_run (spec, &status, &err) < 0)
    status = cmd_report (&err);
  {
    hutch_error_t e = HUTCH_ERROR_INIT;
    hutch_run_cleanup (spec, &e);
    if (e.msg)
      hutch_log (HUTCH_LOG_WARNING, "%s", e.msg);
    hutch_error_clear (&e);
  }
  return status;
}
