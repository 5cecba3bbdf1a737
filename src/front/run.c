/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "front/run.h"
#include "runtime/caps.h"
#include "runtime/cdi.h"
#include "image/image.h"
#include "image/imageconfig.h"
#include "runtime/network.h"
#include "base/parse.h"
#include "runtime/sysfilter.h"
#include "runtime/rootemu.h"
#include "front/user.h"
#include "base/log.h"
#include "base/paths.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* What the host sandbox shows of the host, read-only.  Directories that are
   symlinks on the host (/bin -> usr/bin on merged-/usr systems) are made as
   the same symlinks.  */
static const char *const sandbox_dirs[]
    = { "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt", "/var" };

/* Docker's masked and read-only paths: kernel memory, keys, timers and
   hardware details under /proc and /sys, and the kernel knobs under
   /proc/sys.  Most are closed to the user already; some leak facts about
   the host (/proc/timer_list, /proc/sched_debug).  */
const char *const hutch_run_masked_paths[] = { "/proc/asound",
                                               "/proc/acpi",
                                               "/proc/interrupts",
                                               "/proc/kcore",
                                               "/proc/keys",
                                               "/proc/latency_stats",
                                               "/proc/timer_list",
                                               "/proc/timer_stats",
                                               "/proc/sched_debug",
                                               "/proc/scsi",
                                               "/sys/firmware",
                                               "/sys/devices/virtual/powercap",
                                               NULL };
const char *const hutch_run_readonly_paths[]
    = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL };

void
hutch_run_options_init (struct hutch_run_options *o)
{
  memset (o, 0, sizeof *o);
  o->userns = -1;
  o->no_new_privileges = -1;
  o->storage_driver = -1;
  o->network = HUTCH_NETWORK_DEFAULT;
  o->pull = HUTCH_PULL_MISSING;
  o->tls_verify = -1;
}

void
hutch_run_options_clear (struct hutch_run_options *o)
{
  free (o->rootfs);
  free (o->image);
  free (o->image_file);
  free (o->store_root);
  free (o->seccomp);
  hutch_strv_free (o->entrypoint);
  hutch_strv_free (o->volumes);
  hutch_strv_free (o->tmpfs);
  hutch_strv_free (o->mounts);
  hutch_strv_free (o->security_labels);
  hutch_strv_free (o->env);
  hutch_strv_free (o->env_files);
  free (o->workdir);
  free (o->user);
  free (o->hostname);
  hutch_strv_free (o->command);
  free (o->init_path);
  free (o->platform);
  free (o->authfile);
  hutch_slirp_free (o->slirp);
  hutch_strv_free (o->publish);
  hutch_strv_free (o->dns);
  hutch_strv_free (o->add_hosts);
  free (o->slirp_path);
  hutch_limits_clear (&o->limits);
  hutch_strv_free (o->cap_add);
  hutch_strv_free (o->cap_drop);
  hutch_run_flags_clear (o);
  memset (o, 0, sizeof *o);
}

int
hutch_pull_policy_from_name (const char *name)
{
  if (strcmp (name, "missing") == 0)
    return HUTCH_PULL_MISSING;
  if (strcmp (name, "always") == 0)
    return HUTCH_PULL_ALWAYS;
  if (strcmp (name, "never") == 0)
    return HUTCH_PULL_NEVER;
  return -1;
}

int
hutch_userns_mode_from_name (const char *name)
{
  if (strcmp (name, "default") == 0)
    return HUTCH_USERNS_DEFAULT;
  if (strcmp (name, "keep-id") == 0)
    return HUTCH_USERNS_KEEP_ID;
  if (strcmp (name, "single") == 0)
    return HUTCH_USERNS_SINGLE;
  return -1;
}

int
hutch_run_userns_mode (const struct hutch_run_options *o)
{
  bool sandbox = o->rootfs == NULL && o->image == NULL;
  return o->userns >= 0 ? o->userns : (sandbox ? HUTCH_USERNS_KEEP_ID : HUTCH_USERNS_DEFAULT);
}

int
hutch_network_parse (const char *value, int *ret_mode, struct hutch_slirp **ret_slirp,
                     hutch_error_t *err)
{
  if (strcmp (value, "none") == 0)
    *ret_mode = HUTCH_NETWORK_NONE;
  else if (strcmp (value, "host") == 0)
    *ret_mode = HUTCH_NETWORK_HOST;
  else
    {
      struct hutch_slirp *s;
      if (hutch_slirp_parse (value, &s, err) < 0)
        return -1;
      hutch_slirp_free (*ret_slirp);
      *ret_slirp = s;
      *ret_mode = HUTCH_NETWORK_SLIRP;
    }
  return 0;
}

static bool
valid_hostname (const char *h)
{
  size_t n = strlen (h), i;
  if (n == 0 || n > 64 || h[0] == '-' || h[0] == '.')
    return false;
  for (i = 0; i < n; i++)
    if (!((h[i] >= 'a' && h[i] <= 'z') || (h[i] >= 'A' && h[i] <= 'Z')
          || (h[i] >= '0' && h[i] <= '9') || h[i] == '-' || h[i] == '.'))
      return false;
  return true;
}

static void
standard_mounts (const struct hutch_run_options *o, struct hutch_spec *spec, bool gid5_mapped,
                 bool privileged)
{
  hutch_spec_add_mount (spec, "/proc", "proc", "proc", "nosuid,noexec,nodev");
  hutch_spec_add_mount (spec, "/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k");
  /* gid=5 (tty) only when that group exists in the namespace; the kernel
     refuses an unmapped gid.  */
  hutch_spec_add_mount (spec, "/dev/pts", "devpts", "devpts",
                        gid5_mapped ? "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5"
                                    : "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620");
  /* /dev/shm (Docker's 64m, or --shm-size) and /dev/mqueue, or the
     host's with --ipc host.  */
  hutch_run_ipc_mounts (o, spec);
  /* With --privileged (as Docker) /sys and the cgroup mount are writable:
     the container's root can then write what its user namespace owns.  */
  hutch_spec_add_mount (spec, "/sys", "sysfs", "sysfs",
                        privileged ? "nosuid,noexec,nodev" : "nosuid,noexec,nodev,ro");
  /* A cgroup2 mount made in the container's cgroup namespace shows the
     container's own cgroup as its root; read-only, as Docker has it.  */
  hutch_spec_add_mount (spec, "/sys/fs/cgroup", "cgroup", "cgroup",
                        privileged ? "nosuid,noexec,nodev" : "nosuid,noexec,nodev,ro");
}

static int
add_sandbox (struct hutch_spec *spec, const char *cwd, hutch_error_t *err)
{
  size_t i;

  if (strcmp (cwd, "/") == 0)
    return hutch_error_set (err, 0,
                            "the host sandbox binds the current directory read-write, and it is "
                            "`/`; cd into the directory you want to work in first");
  for (i = 0; i < sizeof sandbox_dirs / sizeof sandbox_dirs[0]; i++)
    {
      struct stat st;
      char target[4096];
      ssize_t n;

      if (lstat (sandbox_dirs[i], &st) < 0)
        continue;
      if (S_ISLNK (st.st_mode))
        {
          n = readlink (sandbox_dirs[i], target, sizeof target - 1);
          if (n <= 0)
            continue;
          target[n] = '\0';
          hutch_spec_add_symlink (spec, sandbox_dirs[i], target);
        }
      else if (S_ISDIR (st.st_mode))
        hutch_spec_add_mount (spec, sandbox_dirs[i], "bind", sandbox_dirs[i],
                              "rbind,ro,nosuid,nodev");
    }
  hutch_spec_add_mount (spec, "/tmp", "tmpfs", "tmpfs", "nosuid,nodev,mode=1777");
  hutch_spec_add_mount (spec, "/run", "tmpfs", "tmpfs", "nosuid,nodev,mode=755");
  hutch_spec_add_mount (spec, cwd, "bind", cwd, "rbind,nosuid,nodev");
  return 0;
}

static char *
host_file (const char *path)
{
  hutch_error_t e = HUTCH_ERROR_INIT;
  char *text = NULL;
  if (hutch_read_file (path, 1 << 20, &text, NULL, &e) < 0)
    {
      hutch_error_clear (&e);
      return NULL;
    }
  return text;
}

/* In the sandbox /etc is the host's, read-only: a file can only be covered
   where it exists.  Cover its real path: /etc/resolv.conf is often a
   symlink into /run (systemd-resolved), which is a fresh tmpfs inside, so
   the mount point is made there.  */
static void
add_etc_file (struct hutch_spec *spec, bool sandbox, const char *path, const char *content)
{
  char *real;

  if (!sandbox)
    {
      hutch_spec_add_file (spec, path, content);
      return;
    }
  real = realpath (path, NULL);
  if (real == NULL)
    return; /* the host has none: neither will the sandbox */
  hutch_spec_add_file (spec, real, content);
  free (real);
}

/* TEXT with LINES appended, one per line.  */
static char *
with_lines (char *text, char *const *lines, const char *prefix)
{
  size_t i;
  for (i = 0; lines && lines[i]; i++)
    {
      char *t = hutch_xasprintf ("%s%s%s%s\n", text,
                                 *text && text[strlen (text) - 1] != '\n' ? "\n" : "", prefix,
                                 lines[i]);
      free (text);
      text = t;
    }
  return text;
}

static int
add_etc_files (struct hutch_spec *spec, bool sandbox, int network,
               const struct hutch_run_options *o, hutch_error_t *err)
{
  _cleanup_free_ char *hostname = hutch_xasprintf ("%s\n", spec->hostname);
  _cleanup_free_ char *hosts = NULL, *resolv = NULL;
  _cleanup_free_ char *host_hosts = NULL;
  _cleanup_strv_ char **extra = NULL;
  size_t i;

  for (i = 0; o->add_hosts && o->add_hosts[i]; i++)
    {
      char *line;
      if (hutch_add_host_parse (o->add_hosts[i], &line, err) < 0)
        return -1;
      hutch_strv_push (&extra, line);
    }
  for (i = 0; o->dns && o->dns[i]; i++)
    if (hutch_dns_check (o->dns[i], err) < 0)
      return -1;
  if (network == HUTCH_NETWORK_SLIRP)
    {
      char guest[16], host[16], dns[16];
      if (hutch_slirp_addresses (spec->extra.slirp, guest, host, dns, err) < 0)
        return -1;
      /* The host is reachable as host.containers.internal (podman's name),
         at the gateway; 127.0.0.1 there only with allow_host_loopback.  */
      hosts = hutch_xasprintf ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
                               "ip6-loopback\n%s\t%s\n%s\thost.containers.internal\n",
                               guest, spec->hostname, host);
      resolv = hutch_xasprintf ("nameserver %s\n", dns);
    }
  else if (network == HUTCH_NETWORK_HOST)
    {
      host_hosts = host_file ("/etc/hosts");
      hosts = hutch_xasprintf (
          "%s%s127.0.1.1\t%s\n", host_hosts ? host_hosts : "127.0.0.1\tlocalhost\n",
          host_hosts && host_hosts[0] && host_hosts[strlen (host_hosts) - 1] != '\n' ? "\n" : "",
          spec->hostname);
      resolv = host_file ("/etc/resolv.conf");
    }
  else
    {
      hosts = hutch_xasprintf ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                               "127.0.1.1\t%s\n",
                               spec->hostname);
      resolv = hutch_xstrdup ("# no network: hutch run --network none\n");
    }
  hosts = with_lines (hosts, extra, "");
  if (o->dns)
    {
      /* --dns replaces the name servers, as with docker.  */
      free (resolv);
      resolv = with_lines (hutch_xstrdup (""), o->dns, "nameserver ");
    }
  add_etc_file (spec, sandbox, "/etc/hostname", hostname);
  add_etc_file (spec, sandbox, "/etc/hosts", hosts);
  if (resolv)
    add_etc_file (spec, sandbox, "/etc/resolv.conf", resolv);
  return 0;
}

static int
add_env (struct hutch_spec *spec, const struct hutch_run_options *o, hutch_error_t *err)
{
  _cleanup_strv_ char **env = NULL;
  size_t i;

  if (hutch_parse_env_options (o->env_files, o->env, &env, err) < 0)
    return -1;
  for (i = 0; env[i]; i++)
    hutch_spec_setenv (spec, env[i]);
  return 0;
}

static int
resolve_user (struct hutch_spec *spec, const struct hutch_run_options *o, const char *user,
              int image_passwdfd, int image_groupfd, bool keep_id, char **ret_home,
              hutch_error_t *err)
{
  _cleanup_free_ char *uname = NULL, *gname = NULL;
  _cleanup_close_ int rootfd = -1;
  struct hutch_user u;
  size_t i;

  if (user == NULL)
    {
      if (keep_id)
        {
          spec->uid = geteuid ();
          spec->gid = getegid ();
          *ret_home = NULL;
          return 0;
        }
      uname = hutch_xstrdup ("0");
    }
  else if (hutch_parse_user (user, &uname, &gname, err) < 0)
    return -1;

  if (o->image)
    {
      /* The image's /etc/passwd and /etc/group, each from the topmost
         layer that has it; an image without them still takes numbers.  */
      if (hutch_user_resolve (image_passwdfd, image_groupfd, uname, gname, &u, err) < 0)
        return -1;
      goto resolved;
    }
  else
    {
      rootfd = open (o->rootfs ? o->rootfs : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (rootfd < 0)
        return hutch_error_set (err, errno, "--rootfs `%s`", o->rootfs);
    }
  if (hutch_user_resolve (rootfd, rootfd, uname, gname, &u, err) < 0)
    return -1;
resolved:
  spec->uid = u.uid;
  spec->gid = u.gid;
  spec->n_additional_gids = 0;
  free (spec->additional_gids);
  spec->additional_gids = hutch_xmalloc0 ((u.n_groups + 1) * sizeof (unsigned int));
  for (i = 0; i < u.n_groups; i++)
    spec->additional_gids[spec->n_additional_gids++] = u.groups[i];
  *ret_home = HUTCH_STEAL_PTR (u.home);
  hutch_user_clear (&u);
  return 0;
}

static int
setup_slirp (struct hutch_spec *spec, const struct hutch_run_options *o, hutch_error_t *err)
{
  struct hutch_slirp *s = NULL;
  size_t i, n = hutch_strv_len (o->publish);

  if (o->slirp)
    {
      /* A copy, without what hutch_slirp_parse does not set.  */
      s = hutch_xmalloc0 (sizeof *s);
      s->mtu = o->slirp->mtu;
      s->cidr = hutch_xstrdup (o->slirp->cidr);
      s->allow_host_loopback = o->slirp->allow_host_loopback;
      s->enable_ipv6 = o->slirp->enable_ipv6;
    }
  else if (hutch_slirp_parse ("slirp", &s, err) < 0)
    return -1;
  spec->extra.slirp = s;
  s->helper_path
      = o->slirp_path ? hutch_xstrdup (o->slirp_path) : hutch_paths_helper ("hutch-slirp");
  s->publish = hutch_xmalloc0 ((n + 1) * sizeof *s->publish);
  for (i = 0; i < n; i++)
    {
      size_t k;
      if (hutch_publish_parse (o->publish[i], &s->publish[i], err) < 0)
        return -1;
      s->n_publish++;
      for (k = 0; k < i; k++)
        if (s->publish[k].host_port != 0 && s->publish[k].host_port == s->publish[i].host_port
            && s->publish[k].udp == s->publish[i].udp
            && strcmp (s->publish[k].host_ip, s->publish[i].host_ip) == 0)
          return hutch_error_set (err, 0, "-p `%s`: host port %u/%s is published twice",
                                  o->publish[i], s->publish[i].host_port,
                                  s->publish[i].udp ? "udp" : "tcp");
    }
  return 0;
}

/* The seccomp filter, after the capabilities (its rules follow the
   bounding set): hutch's default unless --privileged, a profile file, or
   none with seccomp=unconfined.  An explicit profile applies with
   --privileged too: it was asked for.  Built filters are cached in the
   store, which is made for it when missing (src/sysfilter.c says why the
   cache is safe).  */
static int
make_seccomp (const struct hutch_run_options *o, struct hutch_spec *spec, hutch_error_t *err)
{
  hutch_error_t e = HUTCH_ERROR_INIT;
  _cleanup_free_ char *root = NULL, *cache = NULL;

  if (o->seccomp ? strcmp (o->seccomp, "unconfined") == 0 : o->privileged)
    return 0;
  /* No cache where another user could plant a filter of theirs.  */
  root = hutch_image_store_root (o->store_root, &e);
  if (root && hutch_paths_check_trusted (root, "the image store", &e) == 0)
    cache = hutch_xasprintf ("%s/cache", root);
  hutch_error_clear (&e);
  if (o->seccomp)
    return hutch_seccomp_from_file (o->seccomp, spec, cache, &spec->seccomp, err);
  return hutch_seccomp_default (spec, cache, &spec->seccomp, err);
}

/* The root: an image's is made later (hutch_run_image_prepare), once the
   id maps are known; --rootfs must be a directory, checked here so that
   the message names the option (a relative one is taken from the current
   directory); the host sandbox builds on `/`.  */
static int
set_root (const struct hutch_run_options *o, struct hutch_spec *spec, bool sandbox, const char *cwd,
          hutch_error_t *err)
{
  if (o->image)
    ; /* below, once the id maps are known */
  else if (!sandbox)
    {
      struct stat st;
      if (stat (o->rootfs, &st) < 0)
        {
          if (errno == ENOENT)
            return hutch_error_set (err, 0,
                                    "--rootfs `%s` does not exist; give the directory of an "
                                    "unpacked root filesystem",
                                    o->rootfs);
          return hutch_error_set (err, errno, "--rootfs `%s`", o->rootfs);
        }
      if (!S_ISDIR (st.st_mode))
        return hutch_error_set (err, 0,
                                "--rootfs `%s` is not a directory; give the directory of "
                                "an unpacked root filesystem (e.g. `tar -xf rootfs.tar -C DIR`)",
                                o->rootfs);
      spec->root_path = o->rootfs[0] == '/' ? hutch_xstrdup (o->rootfs)
                                            : hutch_xasprintf ("%s/%s", cwd, o->rootfs);
    }
  else
    spec->root_path = hutch_xstrdup ("/");
  spec->root_readonly = o->read_only;
  spec->extra.host_sandbox = sandbox;
  return 0;
}

/* Namespaces, limits and the network: the options among them that can be
   wrong are checked before an image is pulled or a directory made.  */
static int
set_namespaces (const struct hutch_run_options *o, struct hutch_spec *spec, int network,
                hutch_error_t *err)
{
  /* Namespaces: all of them, the network one unless the host's is asked
     for.  */
  spec->ns[HUTCH_NS_USER] = spec->ns[HUTCH_NS_MOUNT] = spec->ns[HUTCH_NS_PID] = true;
  spec->ns[HUTCH_NS_UTS] = spec->ns[HUTCH_NS_IPC] = spec->ns[HUTCH_NS_CGROUP] = true;
  spec->ns[HUTCH_NS_NET] = network == HUTCH_NETWORK_NONE || network == HUTCH_NETWORK_SLIRP;
  /* Limits: checked here, before anything is pulled or made; whether the
     host can apply them is the launcher's question (src/cgroup.c).  */
  if (hutch_limits_to_spec (&o->limits, spec, err) < 0)
    return -1;
  spec->extra.cgroups_disabled = o->cgroups_disabled;
  if (o->cgroups_disabled && hutch_limits_any (&o->limits))
    return hutch_error_set (err, 0,
                            "--cgroups=disabled leaves the container without a cgroup of its "
                            "own, so limits cannot be applied; drop one or the other");
  if (network == HUTCH_NETWORK_SLIRP && setup_slirp (spec, o, err) < 0)
    return -1;
  if (network != HUTCH_NETWORK_SLIRP && o->publish)
    return hutch_error_set (err, 0,
                            "-p publishes ports of the container's own network: it needs "
                            "--network slirp (with --network host, the container's ports are "
                            "the host's already)");
  return 0;
}

/* The id maps for *MODE; *MODE becomes the mode the plan settled on (a
   fallback to a single id, say, which the user is told about).  */
static int
map_ids (struct hutch_spec *spec, int *mode, hutch_error_t *err)
{
  struct hutch_idplan plan;

  if (hutch_idplan_make ((enum hutch_userns_mode) * mode, &plan, err) < 0)
    return -1;
  if (plan.warning)
    hutch_log (HUTCH_LOG_WARNING, "%s", plan.warning);
  spec->uid_mappings = HUTCH_STEAL_PTR (plan.uid_map);
  spec->n_uid_mappings = plan.n_uid;
  spec->gid_mappings = HUTCH_STEAL_PTR (plan.gid_map);
  spec->n_gid_mappings = plan.n_gid;
  *mode = plan.mode;
  hutch_idplan_clear (&plan);
  return 0;
}

/* Hostname: given, or 12 random hex digits like a Docker short id.  */
static int
set_hostname (const struct hutch_run_options *o, struct hutch_spec *spec, hutch_error_t *err)
{
  int r = hutch_run_host_hostname (o, spec, err); /* --uts host */

  if (r != 0)
    return r < 0 ? -1 : 0;
  if (o->hostname)
    {
      if (!valid_hostname (o->hostname))
        return hutch_error_set (
            err, 0, "--hostname `%s`: use letters, digits, `-` and `.`, at most 64", o->hostname);
      spec->hostname = hutch_xstrdup (o->hostname);
    }
  else
    {
      char id[13];
      if (hutch_random_hex (id, 12) < 0)
        return hutch_error_set (err, errno, "getrandom");
      spec->hostname = hutch_xstrdup (id);
    }
  return 0;
}

/* Environment: the sandbox keeps the user's own, as bwrap does; a root
   filesystem starts clean, as Docker does.  -e and --env-file come last,
   so that they win.  */
static int
set_environment (const struct hutch_run_options *o, struct hutch_spec *spec,
                 const struct hutch_image_config *cfg, bool sandbox, const char *home,
                 hutch_error_t *err)
{
  size_t i;

  if (sandbox)
    for (i = 0; environ && environ[i]; i++)
      hutch_spec_setenv (spec, environ[i]);
  else
    {
      _cleanup_free_ char *h = hutch_xasprintf ("HOSTNAME=%s", spec->hostname);
      _cleanup_free_ char *hm = hutch_xasprintf ("HOME=%s", home ? home : "/");
      /* An image's Env first; what it does not set gets Docker's defaults.  */
      for (i = 0; cfg->env && cfg->env[i]; i++)
        hutch_spec_setenv (spec, cfg->env[i]);
      if (hutch_spec_getenv (spec, "PATH") == NULL)
        hutch_spec_setenv (spec, "PATH=" DEFAULT_PATH);
      hutch_spec_setenv (spec, h);
      if (hutch_spec_getenv (spec, "HOME") == NULL)
        hutch_spec_setenv (spec, hm);
      /* --env-host: the whole host environment over those (podman's
         order), before --env-file and -e.  */
      for (i = 0; o->env_host && environ && environ[i]; i++)
        hutch_spec_setenv (spec, environ[i]);
    }
  hutch_spec_setenv (spec, "container=hutch");
  if (o->tty && hutch_spec_getenv (spec, "TERM") == NULL)
    hutch_spec_setenv (spec, "TERM=xterm");
  return add_env (spec, o, err);
}

/* The process: its arguments, its working directory, and how it is
   attached (terminal, stdin, hutch-init as PID 1).  */
static int
set_process (const struct hutch_run_options *o, struct hutch_spec *spec,
             const struct hutch_image_config *cfg, bool sandbox, const char *cwd,
             hutch_error_t *err)
{
  size_t i;

  hutch_strv_free (spec->args);
  spec->args = NULL;
  if (o->pause)
    {
      /* What ps and inspect show; child.c runs hutch-init itself.  */
      spec->args = hutch_xmalloc0 (sizeof (char *));
      hutch_strv_push (&spec->args, hutch_xstrdup ("hutch-init"));
      hutch_strv_push (&spec->args, hutch_xstrdup ("--pause"));
    }
  else if (o->image)
    {
      /* Docker's rule: ENTRYPOINT + (the command given, or CMD); an
         --entrypoint of one's own drops the image's CMD too.  */
      char **ep = o->entrypoint ? o->entrypoint : cfg->entrypoint;
      char **cmd = o->command && o->command[0] ? o->command : (o->entrypoint ? NULL : cfg->cmd);
      spec->args = hutch_xmalloc0 (sizeof (char *));
      for (i = 0; ep && ep[i]; i++)
        hutch_strv_push (&spec->args, hutch_xstrdup (ep[i]));
      for (i = 0; cmd && cmd[i]; i++)
        hutch_strv_push (&spec->args, hutch_xstrdup (cmd[i]));
      if (spec->args[0] == NULL)
        return hutch_error_set (err, 0,
                                "image `%s` has no Entrypoint or Cmd: give the command to run "
                                "after the image name",
                                o->image);
    }
  else if (o->command && o->command[0])
    spec->args = hutch_strv_dup (o->command);
  else
    hutch_strv_push (&spec->args, hutch_xstrdup ("/bin/sh"));
  /* The old cwd is freed only once the new one is known good: the spec
     is freed on the way out of an error, cwd with it.  */
  if (o->workdir || (o->image && cfg->working_dir && *cfg->working_dir))
    {
      const char *w = o->workdir ? o->workdir : cfg->working_dir;
      if (w[0] != '/')
        return hutch_error_set (err, 0, "%s `%s` must be an absolute path",
                                o->workdir ? "--workdir" : "the image's WorkingDir", w);
      free (spec->cwd);
      spec->cwd = hutch_xstrdup (w);
      spec->extra.create_cwd = !o->read_only;
    }
  else
    {
      free (spec->cwd);
      spec->cwd = hutch_xstrdup (sandbox ? cwd : "/");
    }
  spec->terminal = o->tty;
  spec->extra.interactive = o->interactive;
  spec->extra.init = o->init || o->pause;
  spec->extra.pause = o->pause;
  if (spec->extra.init)
    spec->extra.init_path
        = o->init_path ? hutch_xstrdup (o->init_path) : hutch_paths_helper ("hutch-init");
  return 0;
}

/* Docker's defaults, which --privileged lifts: the default capability set
   (no CAP_SYS_ADMIN, so the container cannot mount, and so cannot undo a
   read-only volume or root with a remount: the flags of mounts made in its
   own user namespace are not locked against their owner), and the masked
   and read-only paths; then the seccomp filter, which follows the
   capabilities.  */
static int
set_security (const struct hutch_run_options *o, struct hutch_spec *spec, hutch_error_t *err)
{
  spec->no_new_privileges = o->no_new_privileges != 0;
  if (hutch_caps_plan (spec, o->cap_add, o->cap_drop, o->privileged, err) < 0)
    return -1;
  if (!o->privileged)
    {
      spec->masked_paths = hutch_strv_dup ((char **)hutch_run_masked_paths);
      spec->readonly_paths = hutch_strv_dup ((char **)hutch_run_readonly_paths);
    }
  return make_seccomp (o, spec, err);
}

/* The steps run in this order because each needs what the one before
   made (the user needs the id maps and the image's files, the
   environment the hostname and the user's home), and the cheap checks of
   the options come before an image is pulled.  */
static int
make_spec (const struct hutch_run_options *o, struct hutch_spec *spec,
           struct hutch_image_config *cfg, hutch_error_t *err)
{
  _cleanup_free_ char *cwd = NULL, *home = NULL;
  _cleanup_close_ int userfd = -1, groupfd = -1;
  _cleanup_cdi_ struct hutch_cdi *cdi = NULL;
  bool sandbox = o->rootfs == NULL && o->image == NULL;
  int mode = hutch_run_userns_mode (o);
  /* Images get their own network through slirp, as with podman; --rootfs
     none, the host sandbox the host's.  */
  int network = o->network != HUTCH_NETWORK_DEFAULT
                    ? o->network
                    : (sandbox ? HUTCH_NETWORK_HOST
                               : (o->image ? HUTCH_NETWORK_SLIRP : HUTCH_NETWORK_NONE));

  cwd = getcwd (NULL, 0);
  if (cwd == NULL)
    return hutch_error_set (err, errno, "getcwd");
  if (set_root (o, spec, sandbox, cwd, err) < 0 || set_namespaces (o, spec, network, err) < 0
      || hutch_run_flags_early (o, spec, network, err) < 0 || map_ids (spec, &mode, err) < 0
      || hutch_run_cdi_resolve (o, &cdi, err) < 0)
    return -1;
  /* One id in the namespace, for a user: root is emulated (rootemu.h),
     and so are the other ids (-u, an image's USER, --group-add).  Real
     root maps whatever it likes and needs none.  */
  if (mode == HUTCH_USERNS_SINGLE && geteuid () != 0
      && hutch_rootemu_filter (&spec->rootemu, err) < 0)
    return -1;
  if (o->image && hutch_run_image_prepare (o, spec, cfg, &userfd, &groupfd, err) < 0)
    return -1;
  if (resolve_user (spec, o, o->user ? o->user : (cfg->user && *cfg->user ? cfg->user : NULL),
                    userfd, groupfd, mode == HUTCH_USERNS_KEEP_ID && o->user == NULL, &home, err)
      < 0)
    return -1;
  /* keep-id as oneself: keep one's own supplementary groups, so that
     group-shared directories (a project's, on a cluster) stay reachable.  */
  spec->extra.keep_groups = mode == HUTCH_USERNS_KEEP_ID && o->user == NULL;
  if (hutch_run_flags_late (o, spec, cfg, mode, groupfd, err) < 0
      || set_hostname (o, spec, err) < 0)
    return -1;
  standard_mounts (o, spec, hutch_idmap_contains (spec->gid_mappings, spec->n_gid_mappings, 5),
                   o->privileged);
  if (sandbox && add_sandbox (spec, cwd, err) < 0)
    return -1;
  if (add_etc_files (spec, sandbox, network, o, err) < 0
      || hutch_run_add_mounts (o, spec, cwd, err) < 0
      || set_environment (o, spec, cfg, sandbox, home, err) < 0
      || set_process (o, spec, cfg, sandbox, cwd, err) < 0
      || hutch_run_systemd (o, spec, cfg, err) < 0 || hutch_run_cdi_apply (o, cdi, spec, err) < 0)
    return -1;
  return set_security (o, spec, err);
}

int
hutch_run_make_spec (const struct hutch_run_options *o, struct hutch_spec **ret_spec,
                     hutch_error_t *err)
{
  struct hutch_spec *spec = hutch_spec_new ();
  struct hutch_image_config cfg;

  memset (&cfg, 0, sizeof cfg);
  if (make_spec (o, spec, &cfg, err) < 0)
    {
      hutch_error_t e = HUTCH_ERROR_INIT;
      /* A directory kept for a container's record stays (a start that
         fails must not lose the container's files); one that no record
         has (a create that failed before its record, a build's step) is
         of no use to anyone, and goes.  */
      if (spec->extra.container_dir && !hutch_container_dir_has_record (spec->extra.container_dir))
        spec->extra.keep_container_dir = false;
      hutch_run_cleanup (spec, &e);
      hutch_error_clear (&e);
      hutch_spec_free (spec);
      hutch_image_config_clear (&cfg);
      return -1;
    }
  hutch_image_config_clear (&cfg);
  *ret_spec = spec;
  return 0;
}
