/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "hutch.h"
#include "base/log.h"
#include "base/paths.h"
#include "runtime/container.h"
#include "runtime/nsahead.h"
#include "registry/pull.h"
#include "front/run.h"
#include "front/detach.h"
#include "image/image.h"
#include "image/sqfsimage.h"
#include "base/walk.h"
#include "runtime/sdscope.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <sys/stat.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum
{
  OPT_ROOTFS = 256,
  OPT_READ_ONLY,
  OPT_TMPFS,
  OPT_MOUNT,
  OPT_ENV_FILE,
  OPT_HOSTNAME,
  OPT_INIT,
  OPT_PAUSE,
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
  /* Docker's everyday flags (issue 14).  */
  OPT_RM,
  OPT_DEVICE,
  OPT_ULIMIT,
  OPT_SHM_SIZE,
  OPT_TZ,
  OPT_GROUP_ADD,
  OPT_PID,
  OPT_IPC,
  OPT_UTS,
  OPT_ENV_HOST,
  OPT_ANNOTATION,
  OPT_CIDFILE,
  OPT_STOP_SIGNAL,
  OPT_STOP_TIMEOUT,
  /* Containers that outlive the command (issue 15).  */
  OPT_NAME,
  OPT_RESTART,
  OPT_LOG_DRIVER,
  OPT_LOG_OPT,
  OPT_DETACH_KEYS,
  OPT_SYSTEMD,    /* --systemd (src/front/runsystemd.c) */
  OPT_IMAGE_FILE, /* --image-file (a squashfs image, issue 19) */
};

static int cmd_run (int argc, char **argv);
static int cmd_create (int argc, char **argv);

/* Capability names for completion (a value may also be any other).  */
#define CMD_CAPS                                                                                   \
  "ALL AUDIT_WRITE CHOWN DAC_OVERRIDE FOWNER FSETID KILL MKNOD NET_ADMIN NET_BIND_SERVICE "        \
  "NET_RAW SETFCAP SETGID SETPCAP SETUID SYS_ADMIN SYS_CHROOT SYS_PTRACE SYS_RESOURCE SYS_TIME"

static const struct cmd_opt options[] = {
  { "rootfs", OPT_ROOTFS, required_argument, "DIR",
    "use DIR as the root filesystem (changes are written to it)", CMD_VALUE_DIR },
  { "image-file", OPT_IMAGE_FILE, required_argument, "FILE",
    "run the squashfs image FILE (as hutch save writes\nit); the operands are then the command.  "
    "An\n"
    "operand that names such a file is taken as one\nwithout this option",
    CMD_VALUE_FILE },
  { "read-only", OPT_READ_ONLY, no_argument, NULL, "mount the root filesystem read-only", NULL },
  { "volume", 'v', required_argument, "SRC:DST[:OPTS]",
    "bind the host path SRC (absolute, or starting with\n`.`) or the volume SRC (a name: made when "
    "new) at\n"
    "DST; DST[:OPTS] alone: an anonymous volume, removed\nwith the container (--rm, rm -v).  OPTS, "
    "comma-separated: "
    "ro, rw;\n"
    "U (chown the files to the container's user); z, Z\n(SELinux relabel); nocopy (a new volume "
    "does not\n"
    "get the image's DST); rprivate, rslave...",
    CMD_VALUE_FILE },
  { "tmpfs", OPT_TMPFS, required_argument, "DST[:OPTS]",
    "mount a tmpfs at DST (OPTS e.g. size=64m,mode=1777)", NULL },
  { "mount", OPT_MOUNT, required_argument, "KEY=VALUE,...",
    "docker's mount: type=bind|volume|tmpfs, source,\ndestination, readonly, bind-propagation,\n"
    "volume-nocopy, volume-label, tmpfs-size, tmpfs-mode,\nrelabel=shared|private, U",
    "type=bind, type=volume, type=tmpfs," },
  { "env", 'e', required_argument, "KEY[=VALUE]",
    "set a variable (KEY alone copies the host's value)", NULL },
  { "env-file", OPT_ENV_FILE, required_argument, "FILE", "read KEY=VALUE lines from FILE",
    CMD_VALUE_FILE },
  { "workdir", 'w', required_argument, "DIR", "working directory inside (created if missing)",
    NULL },
  { "user", 'u', required_argument, "USER[:GROUP]",
    "run as USER (name or uid) and GROUP (name or gid)", NULL },
  { "hostname", OPT_HOSTNAME, required_argument, "NAME",
    "the container's hostname (default: a random id)", NULL },
  { "interactive", 'i', no_argument, NULL, "keep stdin attached", NULL },
  { "tty", 't', no_argument, NULL, "allocate a pseudo-terminal", NULL },
  { "init", OPT_INIT, no_argument, NULL,
    "run hutch-init as PID 1 (reaps zombies, forwards signals)", NULL },
  { "pause", OPT_PAUSE, no_argument, NULL,
    "run no command: hutch-init alone, as PID 1, holds the\ncontainer's namespaces for `hutch "
    "exec` "
    "(a pod's\ninfra container) until it is stopped",
    NULL },
  { "userns", OPT_USERNS, required_argument, "MODE", "default, keep-id or single",
    "default keep-id single" },
  { "network", OPT_NETWORK, required_argument, "MODE",
    "slirp[:OPTIONS] (the default for images), none\n(the default with --rootfs) or host (the "
    "default\nwith `--`); slirp OPTIONS: mtu=N, cidr=A.B.C.D/N,\nallow_host_loopback=true, "
    "enable_ipv6=true",
    "slirp none host" },
  { "entrypoint", OPT_ENTRYPOINT, required_argument, "CMD",
    "run CMD instead of the image's entrypoint (\"\" for none)", NULL },
  { "pull", OPT_PULL, required_argument, "POLICY",
    "missing (default), always or never: when to pull IMAGE", "missing always never" },
  { "platform", OPT_PLATFORM, required_argument, "OS/ARCH[/VARIANT]",
    "the platform IMAGE must be for (default: this\nmachine's); pulled when the store has another",
    CMD_PLATFORMS },
  { "tls-verify", OPT_TLS_VERIFY, optional_argument, "BOOL",
    "false: pull over plain HTTP or unverified TLS", "true false" },
  { "authfile", OPT_AUTHFILE, required_argument, "FILE",
    "the registry credentials file (see hutch-login(1))", CMD_VALUE_FILE },
  { "quiet", 'q', no_argument, NULL, "no pull progress", NULL },
  { "publish", 'p', required_argument, "[IP:][HOSTPORT:]PORT[/udp]",
    "forward a host port to the container's\nPORT (HOSTPORT left out: a free one, printed)", NULL },
  { "dns", OPT_DNS, required_argument, "IP", "the name server inside (repeatable)", NULL },
  { "add-host", OPT_ADD_HOST, required_argument, "NAME:IP", "a line for /etc/hosts (repeatable)",
    NULL },
  { "memory", 'm', required_argument, "SIZE", "memory limit (e.g. 256m; units b, k, m, g)", NULL },
  { "memory-reservation", OPT_MEMORY_RESERVATION, required_argument, "SIZE",
    "soft memory limit (memory.low)", NULL },
  { "memory-swap", OPT_MEMORY_SWAP, required_argument, "SIZE",
    "memory and swap together (-1: swap unlimited;\ndefault: as much swap as --memory)", NULL },
  { "pids-limit", OPT_PIDS_LIMIT, required_argument, "N", "at most N processes (-1: no limit)",
    NULL },
  { "cpus", OPT_CPUS, required_argument, "N", "CPU time of N CPUs (e.g. 0.5)", NULL },
  { "cpu-shares", 'c', required_argument, "N", "relative CPU weight, 2 to 262144 (default 1024)",
    NULL },
  { "cpuset-cpus", OPT_CPUSET_CPUS, required_argument, "LIST", "CPUs allowed (e.g. 0-3,5)", NULL },
  { "cpuset-mems", OPT_CPUSET_MEMS, required_argument, "LIST", "memory nodes allowed", NULL },
  { "blkio-weight", OPT_BLKIO_WEIGHT, required_argument, "N", "relative I/O weight, 10 to 1000",
    NULL },
  { "cgroup-conf", OPT_CGROUP_CONF, required_argument, "KEY=VALUE",
    "write VALUE to the cgroup v2 file KEY (repeatable)", NULL },
  { "cgroups", OPT_CGROUPS, required_argument, "MODE",
    "enabled (default: a cgroup of its own when one is\ndelegated to you) or disabled",
    "enabled disabled" },
  { "cap-add", OPT_CAP_ADD, required_argument, "CAP",
    "add a capability (e.g. NET_ADMIN, or ALL) to\nDocker's default set (repeatable)", CMD_CAPS },
  { "cap-drop", OPT_CAP_DROP, required_argument, "CAP", "drop a capability, or ALL (repeatable)",
    CMD_CAPS },
  { "privileged", OPT_PRIVILEGED, no_argument, NULL,
    "every capability of the user namespace, /proc and\n/sys unmasked and /sys writable, no "
    "seccomp filter\n(still no more than you have on the host)",
    NULL },
  { "security-opt", OPT_SECURITY_OPT, required_argument, "OPT",
    "no-new-privileges[=true|false] (default true);\nseccomp=FILE (a Docker or OCI JSON profile) "
    "or\nseccomp=unconfined (no filter; default: hutch's\nprofile, close to Docker's); "
    "label=disable|nested|\ntype:T|level:L|user:U|role:R|filetype:T (SELinux:\nhutch sets no "
    "label; refused where SELinux is on,\nbut label=disable)",
    "no-new-privileges no-new-privileges=false seccomp=unconfined seccomp= label=disable" },
  { "detach", 'd', no_argument, NULL,
    "run in the background under a monitor, print the\ncontainer's id and return", NULL },
  { "name", OPT_NAME, required_argument, "NAME",
    "the container's name (default: a generated\nadjective_noun)", NULL },
  { "rm", OPT_RM, no_argument, NULL,
    "remove the container (and its anonymous volumes)\nwhen it ends", NULL },
  { "restart", OPT_RESTART, required_argument, "POLICY",
    "with -d: no (default), on-failure[:MAX], always or\nunless-stopped; restarts back off from "
    "100 ms\ndoubling to 1 min",
    "no on-failure always unless-stopped" },
  { "log-driver", OPT_LOG_DRIVER, required_argument, "DRIVER",
    "with -d: k8s-file (default: the container's log,\nsee hutch-logs(1)), none, or passthrough "
    "(the\ncontainer writes to hutch's own stdout and stderr)",
    "k8s-file none passthrough" },
  { "log-opt", OPT_LOG_OPT, required_argument, "OPT",
    "max-size=SIZE (default 10m; -1: no bound) or\nmax-file=N (default 3): the log's rotation",
    "max-size= max-file=" },
  { "detach-keys", OPT_DETACH_KEYS, required_argument, "KEYS",
    "the keys that detach from an attached container\n(default ctrl-p,ctrl-q; \"\": none)", NULL },
  { "device", OPT_DEVICE, required_argument, "HOST[:CONT][:PERMS]",
    "bind the host's device node HOST\n(a directory: every node below it) at CONT; PERMS\n"
    "(r, w) must be the access you have on the host:\nnone can be taken away, and m (mknod) is "
    "never\npossible rootless.  VENDOR/CLASS=NAME: a CDI device\n(nvidia.com/gpu=0) from the "
    "specs of /etc/cdi and\n/var/run/cdi, or of those that hutch's global\noption cdi-spec-dir "
    "names",
    CMD_VALUE_FILE },
  { "ulimit", OPT_ULIMIT, required_argument, "NAME=SOFT[:HARD]",
    "a resource limit, e.g. nofile=1024:4096 (-1 or\nunlimited: none); no hard limit above your "
    "own",
    "as= core= cpu= data= fsize= locks= memlock= msgqueue= nice= nofile= nproc= rss= rtprio= "
    "rttime= sigpending= stack=" },
  { "shm-size", OPT_SHM_SIZE, required_argument, "SIZE", "the size of /dev/shm (default 64m)",
    NULL },
  { "tz", OPT_TZ, required_argument, "ZONE",
    "the time zone at /etc/localtime: a name from\n/usr/share/zoneinfo, or local (the host's)",
    "local UTC" },
  { "publish-all", 'P', no_argument, NULL,
    "publish each port the image exposes on a free host\nport (printed)", NULL },
  { "group-add", OPT_GROUP_ADD, required_argument, "GROUP",
    "an extra group (a name in the container's\n/etc/group, or a number), or keep-groups:\n"
    "keep your own groups (repeatable)",
    "keep-groups" },
  { "pid", OPT_PID, required_argument, "MODE",
    "private (default), or host: share the host's PID\nnamespace (and its /proc)", "private host" },
  { "ipc", OPT_IPC, required_argument, "MODE",
    "private (default), or host: share the host's IPC\nnamespace, /dev/shm and /dev/mqueue",
    "private host" },
  { "uts", OPT_UTS, required_argument, "MODE",
    "private (default), or host: share the host's\nhostname", "private host" },
  { "env-host", OPT_ENV_HOST, no_argument, NULL,
    "copy your whole environment into the container\n(--env-file and -e still override it)", NULL },
  { "label", 'l', required_argument, "KEY=VALUE",
    "a label of the container (repeatable): ps filters\non it, inspect shows it", NULL },
  { "annotation", OPT_ANNOTATION, required_argument, "KEY=VALUE",
    "an OCI annotation of the container (repeatable)", NULL },
  { "cidfile", OPT_CIDFILE, required_argument, "FILE",
    "write the container's id to FILE, which must not\nexist; removed with the container",
    CMD_VALUE_FILE },
  { "stop-signal", OPT_STOP_SIGNAL, required_argument, "SIGNAL",
    "what the container gets when hutch gets SIGTERM\n(default: the image's StopSignal, else "
    "TERM)",
    "TERM INT QUIT HUP USR1 USR2 KILL" },
  { "stop-timeout", OPT_STOP_TIMEOUT, required_argument, "SECONDS",
    "then SIGKILL after SECONDS (default 10; -1: never)", NULL },
  { "systemd", OPT_SYSTEMD, required_argument, "MODE",
    "true (default: system mode, as podman's, when the\ncommand is systemd or an init), "
    "always or false",
    "true false always" },
  { 0 },
};

const struct cmd_def cmd_run_def = {
  .name = "run",
  .summary = "run a command in a new container",
  .usage = "Usage: hutch run [OPTIONS] IMAGE [COMMAND [ARG...]]\n"
           "       hutch run [OPTIONS] FILE.sqfs [COMMAND [ARG...]]\n"
           "       hutch run [OPTIONS] --rootfs DIR [COMMAND [ARG...]]\n"
           "       hutch run [OPTIONS] -- COMMAND [ARG...]\n"
           "\n"
           "Run COMMAND in a new rootless container: on a copy-on-write root over IMAGE's\n"
           "layers from the store (its Entrypoint, Cmd, Env, WorkingDir and User apply),\n"
           "or over a squashfs image file (hutch save --format squashfs) mounted as it is,\n"
           "on the directory DIR (--rootfs), or, with `--` and neither, in a sandbox made\n"
           "from the host's own system directories (read-only) and the current directory\n"
           "(read-write).\n",
  .opts = options,
  .epilogue = "Defaults: with --rootfs, --userns=default and --network=none; in the host\n"
              "sandbox, --userns=keep-id and --network=host.  See hutch-run(1).\n",
  .operands = CMD_VALUE_IMAGE,
  .fn = cmd_run,
};

const struct cmd_def cmd_create_def = {
  .name = "create",
  .summary = "make a container without starting it",
  .usage = "Usage: hutch create [OPTIONS] IMAGE [COMMAND [ARG...]]\n"
           "       hutch create [OPTIONS] --rootfs DIR [COMMAND [ARG...]]\n"
           "\n"
           "Make a container as `hutch run -d` would, and print its id, without starting\n"
           "it: `hutch start` does.  The options are hutch run's.\n",
  .opts = options,
  .epilogue = "See hutch-create(1) and hutch-run(1).\n",
  .operands = CMD_VALUE_IMAGE,
  .fn = cmd_create,
};

/* A helper program, found where hutch info looks for it too.  */
static char *
find_helper (const char *name)
{
  return hutch_paths_helper (name);
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

/* Keeps going through the option loop; any other value of an option
   handler is the exit code of `hutch run` (0 after --help).  */
#define RUN_NEXT (-1)

/* Most options only store what they are given: a string (the last one
   wins), a list (each one adds an item) or a flag.  They are described by
   where their value goes, so that the option loop spells out only the
   options that check or parse their value.  */
enum stored_kind
{
  STORE_STR,
  STORE_LIST,
  STORE_FLAG,
};

#define FIELD(member) offsetof (struct hutch_run_options, member)

static const struct stored_option
{
  int opt;
  enum stored_kind kind;
  size_t offset;
} stored_options[] = {
  { OPT_ROOTFS, STORE_STR, FIELD (rootfs) },
  { OPT_IMAGE_FILE, STORE_STR, FIELD (image_file) },
  { OPT_PLATFORM, STORE_STR, FIELD (platform) },
  { OPT_AUTHFILE, STORE_STR, FIELD (authfile) },
  { 'q', STORE_FLAG, FIELD (quiet) },
  { OPT_READ_ONLY, STORE_FLAG, FIELD (read_only) },
  { 'v', STORE_LIST, FIELD (volumes) },
  { OPT_TMPFS, STORE_LIST, FIELD (tmpfs) },
  { OPT_MOUNT, STORE_LIST, FIELD (mounts) },
  { 'e', STORE_LIST, FIELD (env) },
  { OPT_ENV_FILE, STORE_LIST, FIELD (env_files) },
  { 'w', STORE_STR, FIELD (workdir) },
  { 'u', STORE_STR, FIELD (user) },
  { OPT_HOSTNAME, STORE_STR, FIELD (hostname) },
  { 'i', STORE_FLAG, FIELD (interactive) },
  { 't', STORE_FLAG, FIELD (tty) },
  { OPT_INIT, STORE_FLAG, FIELD (init) },
  { OPT_PAUSE, STORE_FLAG, FIELD (pause) },
  { 'p', STORE_LIST, FIELD (publish) },
  { OPT_DNS, STORE_LIST, FIELD (dns) },
  { OPT_ADD_HOST, STORE_LIST, FIELD (add_hosts) },
  { 'm', STORE_STR, FIELD (limits.memory) },
  { OPT_MEMORY_RESERVATION, STORE_STR, FIELD (limits.memory_reservation) },
  { OPT_MEMORY_SWAP, STORE_STR, FIELD (limits.memory_swap) },
  { OPT_PIDS_LIMIT, STORE_STR, FIELD (limits.pids_limit) },
  { OPT_CPUS, STORE_STR, FIELD (limits.cpus) },
  { 'c', STORE_STR, FIELD (limits.cpu_shares) },
  { OPT_CPUSET_CPUS, STORE_STR, FIELD (limits.cpuset_cpus) },
  { OPT_CPUSET_MEMS, STORE_STR, FIELD (limits.cpuset_mems) },
  { OPT_BLKIO_WEIGHT, STORE_STR, FIELD (limits.blkio_weight) },
  { OPT_CGROUP_CONF, STORE_LIST, FIELD (limits.conf) },
  { OPT_CAP_ADD, STORE_LIST, FIELD (cap_add) },
  { OPT_CAP_DROP, STORE_LIST, FIELD (cap_drop) },
  { OPT_PRIVILEGED, STORE_FLAG, FIELD (privileged) },
  { OPT_RM, STORE_FLAG, FIELD (rm) },
  { OPT_DEVICE, STORE_LIST, FIELD (devices) },
  { OPT_ULIMIT, STORE_LIST, FIELD (ulimits) },
  { OPT_SHM_SIZE, STORE_STR, FIELD (shm_size) },
  { OPT_TZ, STORE_STR, FIELD (tz) },
  { 'P', STORE_FLAG, FIELD (publish_all) },
  { OPT_GROUP_ADD, STORE_LIST, FIELD (group_add) },
  { OPT_PID, STORE_STR, FIELD (pid_mode) },
  { OPT_IPC, STORE_STR, FIELD (ipc_mode) },
  { OPT_UTS, STORE_STR, FIELD (uts_mode) },
  { OPT_ENV_HOST, STORE_FLAG, FIELD (env_host) },
  { 'l', STORE_LIST, FIELD (labels) },
  { OPT_ANNOTATION, STORE_LIST, FIELD (annotations) },
  { OPT_CIDFILE, STORE_STR, FIELD (cidfile) },
  { OPT_STOP_SIGNAL, STORE_STR, FIELD (stop_signal) },
  { OPT_STOP_TIMEOUT, STORE_STR, FIELD (stop_timeout) },
  { 'd', STORE_FLAG, FIELD (detach) },
  { OPT_NAME, STORE_STR, FIELD (name) },
  { OPT_RESTART, STORE_STR, FIELD (restart) },
  { OPT_LOG_DRIVER, STORE_STR, FIELD (log_driver) },
  { OPT_LOG_OPT, STORE_LIST, FIELD (log_opts) },
  { OPT_DETACH_KEYS, STORE_STR, FIELD (detach_keys) },
  { OPT_SYSTEMD, STORE_STR, FIELD (systemd) },
};

#undef FIELD

/* Store optarg for C when stored_options has it; false when it does not.  */
static bool
store_option (struct hutch_run_options *o, int c)
{
  size_t i;

  for (i = 0; i < sizeof stored_options / sizeof stored_options[0]; i++)
    {
      const struct stored_option *so = &stored_options[i];
      void *field = (char *)o + so->offset;

      if (so->opt != c)
        continue;
      switch (so->kind)
        {
        case STORE_STR:
          set_str (field, optarg);
          break;
        case STORE_LIST:
          hutch_strv_push (field, hutch_xstrdup (optarg));
          break;
        case STORE_FLAG:
          *(bool *)field = true;
          break;
        }
      return true;
    }
  return false;
}

/* --security-opt label=X (docker's and podman's SELinux options): the
   words they take; what they mean on this host is the library's call
   (src/front/runmount.c).  */
static bool
label_opt (struct hutch_run_options *o, const char *v)
{
  static const char *const with_value[] = { "type:", "level:", "user:", "role:", "filetype:" };
  size_t i;

  if (strcmp (v, "disable") == 0 || strcmp (v, "nested") == 0)
    {
      hutch_strv_push (&o->security_labels, hutch_xstrdup (v));
      return true;
    }
  for (i = 0; i < sizeof with_value / sizeof with_value[0]; i++)
    if (strncmp (v, with_value[i], strlen (with_value[i])) == 0 && v[strlen (with_value[i])])
      {
        hutch_strv_push (&o->security_labels, hutch_xstrdup (v));
        return true;
      }
  return false;
}

/* --security-opt: the options hutch knows, and a message that names the
   ones people bring from Docker and hutch does not have.  */
static int
security_opt (struct hutch_run_options *o, const char *v)
{
  if (strcmp (v, "no-new-privileges") == 0 || strcmp (v, "no-new-privileges=true") == 0
      || strcmp (v, "no-new-privileges:true") == 0)
    o->no_new_privileges = 1;
  else if (strcmp (v, "no-new-privileges=false") == 0 || strcmp (v, "no-new-privileges:false") == 0)
    o->no_new_privileges = 0;
  else if ((strncmp (v, "seccomp=", 8) == 0 || strncmp (v, "seccomp:", 8) == 0) && v[8] != '\0')
    set_str (&o->seccomp, v + 8);
  else if ((strncmp (v, "label=", 6) == 0 || strncmp (v, "label:", 6) == 0) && label_opt (o, v + 6))
    ;
  else if (strncmp (v, "label=", 6) == 0 || strncmp (v, "label:", 6) == 0)
    {
      fprintf (stderr,
               "hutch: --security-opt `%s`: expected label=disable, label=nested, or "
               "label=type:T, level:L, user:U, role:R or filetype:T\n",
               v);
      return HUTCH_EXIT_ERROR;
    }
  else
    {
      fprintf (stderr,
               "hutch: --security-opt `%s`: hutch knows no-new-privileges[=true|false], "
               "seccomp=FILE|unconfined and label=... (AppArmor profiles are not "
               "supported)\n",
               v);
      return HUTCH_EXIT_ERROR;
    }
  return RUN_NEXT;
}

/* The options whose value is checked as it is read, so that a bad one is
   reported before anything else is looked at; and --help and the
   option errors.  */
static int
checked_option (struct hutch_run_options *o, int c, char **argv, bool *pull_given)
{
  hutch_error_t err = HUTCH_ERROR_INIT;

  switch (c)
    {
    case OPT_PULL:
      *pull_given = true;
      o->pull = hutch_pull_policy_from_name (optarg);
      if (o->pull < 0)
        {
          fprintf (stderr, "hutch: --pull `%s`: expected missing, always or never\n", optarg);
          return HUTCH_EXIT_ERROR;
        }
      return RUN_NEXT;
    case OPT_TLS_VERIFY:
      o->tls_verify = cmd_parse_tls_verify ("run", optarg);
      return o->tls_verify < 0 ? HUTCH_EXIT_ERROR : RUN_NEXT;
    case OPT_ENTRYPOINT:
      /* One word, or none at all for "": an empty list, not NULL, says
         that the image's entrypoint is dropped.  */
      hutch_strv_free (o->entrypoint);
      o->entrypoint = hutch_xmalloc0 (sizeof (char *));
      if (*optarg)
        hutch_strv_push (&o->entrypoint, hutch_xstrdup (optarg));
      return RUN_NEXT;
    case OPT_USERNS:
      o->userns = hutch_userns_mode_from_name (optarg);
      if (o->userns < 0)
        {
          fprintf (stderr, "hutch: --userns `%s`: expected default, keep-id or single\n", optarg);
          return HUTCH_EXIT_ERROR;
        }
      return RUN_NEXT;
    case OPT_NETWORK:
      if (hutch_network_parse (optarg, &o->network, &o->slirp, &err) < 0)
        return cmd_report (&err);
      return RUN_NEXT;
    case OPT_CGROUPS:
      if (strcmp (optarg, "enabled") != 0 && strcmp (optarg, "disabled") != 0)
        {
          fprintf (stderr, "hutch: --cgroups `%s`: expected enabled or disabled\n", optarg);
          return HUTCH_EXIT_ERROR;
        }
      o->cgroups_disabled = strcmp (optarg, "disabled") == 0;
      return RUN_NEXT;
    case OPT_SECURITY_OPT:
      return security_opt (o, optarg);
    default:
      return RUN_NEXT;
    }
}

/* IMAGE, the operand: a squashfs image file when it names one (stored in
   *RET_FILE); an error for another kind of file when it can only be a
   path (`/...`, `./...`, `../...`: no image reference looks so).  Any
   other operand is an image's name, even when a file of that name is
   here (`busybox` or `myorg/app` in the current directory must not change
   what `hutch run busybox` means), unless that file is a squashfs
   image.  */
static int
image_file_operand (const char *image, char **ret_file, hutch_error_t *err)
{
  bool path = image[0] == '/' || strcmp (image, ".") == 0 || strcmp (image, "..") == 0
              || strncmp (image, "./", 2) == 0 || strncmp (image, "../", 3) == 0;
  struct stat st;

  if (hutch_sqfs_probe (image) == 1)
    {
      *ret_file = hutch_xstrdup (image);
      return 0;
    }
  if (path && stat (image, &st) == 0)
    return hutch_error_set (err, 0,
                            "`%s` is a %s, not a squashfs image file (one that begins with "
                            "`hsqs`); hutch run takes image files made by `hutch save --format "
                            "squashfs`, and images of the store by name (`hutch load -i FILE` "
                            "brings in an archive)",
                            image, S_ISDIR (st.st_mode) ? "directory (use --rootfs DIR)" : "file");
  return 0;
}

/* What is left after the options: IMAGE (unless --rootfs or `--` say
   there is none) and the command; and the checks of the options that
   only make sense with an image, now that it is known whether there is
   one.  */
static int
run_operands (struct hutch_run_options *o, int argc, char **argv, bool pull_given)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  bool dashdash = optind > 1 && strcmp (argv[optind - 1], "--") == 0;
  int i;

  if (o->image_file)
    {
      if (o->rootfs)
        {
          fprintf (stderr, "hutch run: --image-file and --rootfs name two roots; give one\n");
          return HUTCH_EXIT_ERROR;
        }
      o->image = hutch_xstrdup (o->image_file);
    }
  else if (o->rootfs == NULL && !dashdash)
    {
      if (optind >= argc)
        {
          fprintf (stderr,
                   "hutch run: nothing to run: give an IMAGE, --rootfs DIR, or `-- COMMAND`; "
                   "see `hutch run --help`\n");
          return HUTCH_EXIT_ERROR;
        }
      o->image = hutch_xstrdup (argv[optind++]);
      if (image_file_operand (o->image, &o->image_file, &err) < 0)
        return cmd_report (&err);
    }
  else if (o->rootfs == NULL && optind >= argc)
    {
      fprintf (stderr, "hutch run: give the command to run after `--`\n");
      return HUTCH_EXIT_ERROR;
    }
  if (o->entrypoint && o->image == NULL)
    {
      fprintf (stderr, "hutch run: --entrypoint applies to images only; give the command itself\n");
      return HUTCH_EXIT_ERROR;
    }
  if (o->image == NULL
      && (pull_given || o->platform || o->tls_verify >= 0 || o->authfile || o->quiet))
    {
      fprintf (stderr, "hutch run: --pull, --platform, --tls-verify, --authfile and --quiet apply "
                       "to images only\n");
      return HUTCH_EXIT_ERROR;
    }
  if (o->image_file && (pull_given || o->tls_verify >= 0 || o->authfile || o->quiet))
    {
      fprintf (stderr, "hutch run: --pull, --tls-verify, --authfile and --quiet are about pulling "
                       "from a registry; a squashfs image file is not pulled\n");
      return HUTCH_EXIT_ERROR;
    }
  if (o->platform)
    {
      _cleanup_free_ char *os = NULL, *arch = NULL, *variant = NULL;
      if (hutch_platform_parse (o->platform, &os, &arch, &variant, &err) < 0)
        return cmd_report (&err);
    }
  if (o->pause && (optind < argc || o->entrypoint))
    {
      fprintf (stderr,
               "hutch run: --pause runs no command: leave out %s, and run commands in "
               "the container with `hutch exec`\n",
               o->entrypoint ? "--entrypoint" : "the command");
      return HUTCH_EXIT_ERROR;
    }
  for (i = optind; i < argc; i++)
    hutch_strv_push (&o->command, hutch_xstrdup (argv[i]));
  return RUN_NEXT;
}

/* The record's copy of hutch run's arguments, to make the spec again at
   each start: the image named by its id (a tag may move meanwhile), and
   what only the first start does left out (--cidfile, --pull).  */
static char **
record_args (int argc, char **argv, int image_index, const char *image_id)
{
  char **v = hutch_xmalloc0 (sizeof (char *));
  int i;
  for (i = 1; i < argc; i++)
    hutch_strv_push (&v, hutch_xstrdup (i == image_index && image_id ? image_id : argv[i]));
  return v;
}

/* The environment a start needs to make the spec again as hutch run
   made it: with --env-host all of it; else what hutch itself reads (the
   user's directories, the locale, the time zone) and the variables that
   -e NAME copies.  Not the rest: a token in the caller's environment has
   no business in the record.  */
static char **
record_env (const struct hutch_run_options *o)
{
  static const char *const keep[]
      = { "HOME", "USER", "LOGNAME", "PATH", "LANG", "TZ", "TMPDIR", "DBUS_SESSION_BUS_ADDRESS" };
  char **v = hutch_xmalloc0 (sizeof (char *));
  char **e;
  size_t i, len;

  for (e = environ; e && *e; e++)
    {
      const char *eq = strchr (*e, '=');
      bool take = o->env_host;
      if (eq == NULL)
        continue;
      len = (size_t)(eq - *e);
      for (i = 0; !take && i < sizeof keep / sizeof *keep; i++)
        take = strlen (keep[i]) == len && strncmp (*e, keep[i], len) == 0;
      take = take || strncmp (*e, "XDG_", 4) == 0 || strncmp (*e, "LC_", 3) == 0;
      for (i = 0; !take && o->env && o->env[i]; i++)
        take = strchr (o->env[i], '=') == NULL && strlen (o->env[i]) == len
               && strncmp (*e, o->env[i], len) == 0;
      if (take)
        hutch_strv_push (&v, hutch_xstrdup (*e));
    }
  return v;
}

/* The path of this hutch, for the monitor to come back to.  */
static char **
self_args (const struct hutch_ctr *c)
{
  char **v = hutch_xmalloc0 (sizeof (char *));
  char exe[PATH_MAX];
  ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
  exe[n > 0 ? n : 0] = '\0';
  hutch_strv_push (&v, hutch_xstrdup (n > 0 ? exe : "hutch"));
  hutch_strv_push (&v, hutch_xstrdup ("--root"));
  hutch_strv_push (&v, hutch_xstrdup (c->root));
  hutch_strv_push (&v, hutch_xstrdup ("container"));
  hutch_strv_push (&v, hutch_xstrdup ("monitor-end"));
  hutch_strv_push (&v, hutch_xstrdup (c->id));
  return v;
}

int
cmd_ctr_launch (struct hutch_ctr *c, struct hutch_spec *spec, bool do_fork, hutch_error_t *err)
{
  _cleanup_free_ char *monitor = find_helper ("hutch-monitor");
  _cleanup_strv_ char **self = self_args (c);
  return hutch_ctr_launch (c, spec, monitor, self, do_fork, err);
}

/* The one message of a detached start where lingering is off: the
   container would end when the user logs out.  Said once per store.  */
static void
linger_hint (const struct hutch_ctr *c)
{
  struct passwd *pw = getpwuid (geteuid ());
  _cleanup_free_ char *marker = hutch_xasprintf ("%s/.linger-said", c->root);
  _cleanup_free_ char *linger = NULL;
  struct stat st;
  int fd;

  if (pw == NULL || !hutch_sdscope_available ())
    return;
  linger = hutch_xasprintf ("/var/lib/systemd/linger/%s", pw->pw_name);
  if (stat (linger, &st) == 0)
    return;
  fd = open (marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return;
  close (fd);
  hutch_log (HUTCH_LOG_WARNING,
             "lingering is off for %s: systemd stops your containers when you log out; to keep "
             "them running, run `loginctl enable-linger %s` (said once)",
             pw->pw_name, pw->pw_name);
}

/* Why a container is not recorded: once per store when the store can
   keep the note (the runtime directory is the trouble), else every time;
   hutch info lists the problem all the same.  */
static void
unrecorded_note (const char *cli_root, const char *why)
{
  hutch_error_t e = HUTCH_ERROR_INIT;
  _cleanup_free_ char *root = hutch_image_store_root (cli_root, &e);
  _cleanup_free_ char *marker = NULL;
  int fd = -1;

  hutch_error_clear (&e);
  if (root && hutch_image_store_check (root, &e) == 0)
    {
      marker = hutch_xasprintf ("%s/.unrecorded-said", root);
      if (hutch_walk_mkdir_p (root, 0700, &e) == 0)
        fd = open (marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd < 0)
        {
          hutch_error_clear (&e);
          return;
        }
      close (fd);
    }
  hutch_error_clear (&e);
  hutch_log (HUTCH_LOG_WARNING,
             "containers are not recorded (hutch ps will not list them, -d cannot run): %s%s", why,
             marker ? " (said once)" : "");
}

/* The run without a record: the store or the runtime directory cannot be
   used.  */
static int
run_unrecorded (struct hutch_run_options *o)
{
  _cleanup_spec_ struct hutch_spec *spec = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT, e = HUTCH_ERROR_INIT;
  int status = 0;

  if (o->cidfile)
    {
      hutch_run_options_clear (o);
      hutch_error_set (&err, 0, "--cidfile needs the container's record, and it has none");
      return cmd_report (&err);
    }
  if (hutch_run_make_spec (o, &spec, &err) < 0)
    {
      hutch_run_options_clear (o);
      return cmd_report (&err);
    }
  hutch_run_options_clear (o);
  if (hutch_container_run (spec, &status, &err) < 0)
    status = cmd_report (&err);
  hutch_run_cleanup (spec, &e);
  hutch_error_clear (&e);
  return status;
}

/* The container's user namespace, begun now (runtime/nsahead.h): its id
   map helpers run while the store and the spec are prepared, or a
   keeper has it ready.  For a container in the foreground only: a
   detached one is started by its monitor, another process.  */
static void
early_userns (const struct hutch_run_options *o)
{
  hutch_userns_early_start ((enum hutch_userns_mode)hutch_run_userns_mode (o),
                            hutch_userns_keeper_seconds ());
}

/* Build the container from O (which this clears, as the container does
   not need it), record it and run it: in the foreground, the exit code is
   the container's, or hutch's own when it could not be made; with -d, 0
   once it runs, after printing its id.  CREATE_ONLY: hutch create.  */
static int
run_container (struct hutch_run_options *o, int argc, char **argv, int image_index,
               bool create_only)
{
  _cleanup_spec_ struct hutch_spec *spec = NULL;
  _cleanup_free_ char *cidfile = hutch_xstrdup (o->cidfile ? o->cidfile : "");
  _cleanup_free_ char *root = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT, e = HUTCH_ERROR_INIT;
  struct hutch_ctr c;
  int status = 0, cidfd = -1;
  bool recorded = false;

  memset (&c, 0, sizeof c);
  if (create_only)
    o->detach = true;
  if (!o->detach)
    early_userns (o);
  if (hutch_ctr_options (o, &c, &err) < 0)
    goto fail;
  root = hutch_ctrs_root (o->store_root, &err);
  if (root == NULL && (create_only || c.detach || o->name || o->image))
    goto fail;
  if (root == NULL)
    {
      /* A store that cannot be used (hutch info says so) still lets a
         directory or the host sandbox run, as before containers had
         records: not recorded, and said.  */
      unrecorded_note (o->store_root, err.msg);
      hutch_error_clear (&err);
      return run_unrecorded (o);
    }
  hutch_ctrs_sweep (root);
  /* A missing monitor is one line, not a container left half made.  */
  if (c.detach && !create_only)
    {
      _cleanup_free_ char *monitor = find_helper ("hutch-monitor");
      if (hutch_container_check_helper (monitor, &err) < 0)
        goto fail;
    }
  c.image = o->image ? hutch_xstrdup (o->image) : NULL;
  c.rootfs = o->rootfs ? hutch_xstrdup (o->rootfs) : NULL;
  c.cwd = getcwd (NULL, 0);
  c.env = record_env (o);
  /* Before the record exists on disk: a hutch killed before the spec is
     made leaves a record that can still start.  */
  c.run_args = record_args (argc, argv, image_index, NULL);
  c.cli_root = o->store_root ? hutch_xstrdup (o->store_root) : NULL;
  c.storage_driver = o->storage_driver;
  c.cdi_spec_dirs = o->cdi_spec_dirs ? hutch_strv_dup (o->cdi_spec_dirs) : NULL;
  c.cidfile = *cidfile ? hutch_xstrdup (cidfile) : NULL;
  /* --cidfile is refused when it exists before anything is pulled, and
     removed with the container (also when it could not be made).  */
  if ((*cidfile && (cidfd = hutch_run_cidfile_create (cidfile, &err)) < 0)
      || hutch_ctr_create (root, o->name, &c, &err) < 0)
    goto fail;
  recorded = true;
  o->container_id = hutch_xstrdup (c.id);
  o->keep = !o->rm;
  if (hutch_run_make_spec (o, &spec, &err) < 0
      || (cidfd >= 0 && hutch_run_cidfile_write (cidfd, cidfile, c.id, &err) < 0))
    goto fail;
  hutch_strv_free (c.run_args);
  c.run_args = record_args (argc, argv, image_index, spec->extra.image_id);
  if (hutch_ctr_prepared (&c, spec, &err) < 0)
    goto fail;
  hutch_run_options_clear (o);
  if (cidfd >= 0)
    close (cidfd);
  cidfd = -1;
  if (create_only || c.detach)
    {
      if (!create_only && cmd_ctr_launch (&c, spec, true, &err) < 0)
        goto fail_spec;
      /* The monitor holds the locks now (create: nobody needs them).  */
      hutch_run_cleanup (spec, &e);
      hutch_error_clear (&e);
      printf ("%s\n", c.id);
      if (!create_only)
        linger_hint (&c);
      hutch_ctr_clear (&c);
      return 0;
    }
  if (hutch_ctr_run (&c, spec, &status, &err) < 0)
    status = cmd_report (&err);
  /* The container's directory in the store goes even when the run
     failed (with --rm); failing to remove it does not change the exit
     code.  */
  hutch_run_cleanup (spec, &e);
  if (e.msg)
    hutch_log (HUTCH_LOG_WARNING, "%s", e.msg);
  hutch_error_clear (&e);
  if (c.rm && hutch_ctr_remove (&c, true, &e) < 0)
    hutch_log (HUTCH_LOG_WARNING, "%s", e.msg);
  hutch_error_clear (&e);
  hutch_ctr_clear (&c);
  return status;

fail:
  hutch_run_options_clear (o);
fail_spec:
  if (spec)
    {
      hutch_run_cleanup (spec, &e);
      hutch_error_clear (&e);
    }
  hutch_run_cidfile_remove (cidfile, cidfd);
  /* A container that could not even be made leaves no record; one whose
     start failed stays, as docker's and podman's do, unless --rm.  */
  if (recorded && (spec == NULL || c.rm))
    {
      if (hutch_ctr_remove (&c, true, &e) < 0)
        hutch_error_clear (&e);
    }
  hutch_ctr_clear (&c);
  return cmd_report (&err);
}

/* Parse hutch run's (or create's) ARGV into O; *RET_IMAGE_INDEX: where
   the image is in ARGV (or -1).  Returns RUN_NEXT, or the exit code.  */
static int
parse_run (const struct cmd_def *def, int argc, char **argv, struct hutch_run_options *o,
           int *ret_image_index)
{
  bool pull_given = false;
  int c, r = RUN_NEXT;

  hutch_run_options_init (o);
  opterr = 0;
  optind = 1;
  /* "+": stop at the first non-option, which starts the command.  */
  while (r == RUN_NEXT && (c = cmd_next_opt (def, argc, argv, &r)) != -1)
    if (c == 1000)
      break;
    else if (!store_option (o, c))
      r = checked_option (o, c, argv, &pull_given);
  *ret_image_index = -1;
  if (r == RUN_NEXT)
    {
      int before = optind;
      r = run_operands (o, argc, argv, pull_given);
      if (o->image)
        *ret_image_index = before;
    }
  if (r != RUN_NEXT)
    {
      hutch_run_options_clear (o);
      return r;
    }
  if (cmd_globals.root)
    o->store_root = hutch_xstrdup (cmd_globals.root);
  o->cdi_spec_dirs = cmd_globals.cdi_spec_dirs ? hutch_strv_dup (cmd_globals.cdi_spec_dirs) : NULL;
  o->storage_driver = cmd_globals.storage_driver;
  if (o->init || o->pause)
    o->init_path = find_init ();
  o->slirp_path = find_helper ("hutch-slirp");
  return RUN_NEXT;
}

static int
cmd_run (int argc, char **argv)
{
  struct hutch_run_options o;
  int image_index, r = parse_run (&cmd_run_def, argc, argv, &o, &image_index);
  if (r != RUN_NEXT)
    return r;
  r = run_container (&o, argc, argv, image_index, false);
  hutch_userns_early_end ();
  return r;
}

static int
cmd_create (int argc, char **argv)
{
  struct hutch_run_options o;
  int image_index, r = parse_run (&cmd_create_def, argc, argv, &o, &image_index);
  if (r != RUN_NEXT)
    return r;
  if (o.detach)
    {
      hutch_run_options_clear (&o);
      fprintf (stderr, "hutch create: -d is what create does; start it with `hutch start`\n");
      return HUTCH_EXIT_ERROR;
    }
  return run_container (&o, argc, argv, image_index, true);
}

int
cmd_ctr_spec (struct hutch_ctr *c, struct hutch_spec **ret_spec, hutch_error_t *err)
{
  struct hutch_run_options o;
  _cleanup_strv_ char **argv = NULL, **saved_env = NULL;
  _cleanup_free_ char *saved_cwd = getcwd (NULL, 0);
  char **old_environ = environ;
  int image_index, r, argc;

  /* The arguments as hutch run had them, in the directory and with the
     environment it had: -v ./x, -e NAME and --env-host mean the same.  */
  argv = hutch_xmalloc0 (sizeof (char *));
  hutch_strv_push (&argv, hutch_xstrdup ("run"));
  for (r = 0; c->run_args && c->run_args[r]; r++)
    hutch_strv_push (&argv, hutch_xstrdup (c->run_args[r]));
  argc = (int)hutch_strv_len (argv);
  if (c->cwd && chdir (c->cwd) < 0)
    return hutch_error_set (err, errno,
                            "container %s was made in `%s`, which is gone; its relative paths "
                            "mean nothing now: remove it and run it again",
                            c->name, c->cwd);
  r = parse_run (&cmd_run_def, argc, argv, &o, &image_index);
  if (r != RUN_NEXT)
    return hutch_error_set (err, 0, "container %s: its recorded options no longer parse", c->name);
  free (o.store_root);
  o.store_root = hutch_xstrdup (c->root);
  /* The CDI spec directories it was made with, wherever it starts from
     (the monitor's restart gives no global options).  */
  hutch_strv_free (o.cdi_spec_dirs);
  o.cdi_spec_dirs = c->cdi_spec_dirs ? hutch_strv_dup (c->cdi_spec_dirs) : NULL;
  o.pull = HUTCH_PULL_NEVER;
  o.quiet = true;
  free (o.cidfile);
  o.cidfile = NULL;
  o.container_id = hutch_xstrdup (c->id);
  o.keep = !c->rm;
  o.detach = c->detach;
  saved_env = hutch_strv_dup (c->env);
  environ = saved_env;
  r = hutch_run_make_spec (&o, ret_spec, err);
  environ = old_environ;
  if (saved_cwd && chdir (saved_cwd) < 0)
    hutch_log (HUTCH_LOG_DEBUG, "chdir back: %s", strerror (errno));
  hutch_run_options_clear (&o);
  if (r < 0)
    return -1;
  return hutch_ctr_prepared (c, *ret_spec, err);
}
