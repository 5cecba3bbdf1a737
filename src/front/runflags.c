/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* Docker's everyday flags of `hutch run` (issue 14): namespaces shared
   with the host, devices, rlimits, /dev/shm, the time zone, -P, groups,
   labels and annotations, the container id file, and how the container is
   stopped.  Each is turned into the spec here; what the OCI spec has a
   field for (rlimits, devices, annotations, namespaces) the runtime does,
   so that hutch-oci's config.json gets it too.  A flag that cannot work
   rootless is refused with the reason, never dropped.  */

#include "front/run.h"
#include "front/user.h"
#include "image/imageconfig.h"
#include "runtime/cdi.h"
#include "runtime/devices.h"
#include "runtime/hooks.h"
#include "runtime/network.h"
#include "runtime/resources.h"
#include "runtime/rlimit.h"
#include "base/log.h"
#include "base/signame.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define MQUEUE_MAGIC 0x19800202
/* Docker's: seconds between the stop signal and SIGKILL.  */
#define DEFAULT_STOP_TIMEOUT 10

void
hutch_run_flags_clear (struct hutch_run_options *o)
{
  hutch_strv_free (o->devices);
  hutch_strv_free (o->cdi_spec_dirs);
  hutch_strv_free (o->ulimits);
  free (o->shm_size);
  free (o->tz);
  hutch_strv_free (o->group_add);
  free (o->pid_mode);
  free (o->ipc_mode);
  free (o->uts_mode);
  hutch_strv_free (o->labels);
  hutch_strv_free (o->annotations);
  free (o->cidfile);
  free (o->stop_signal);
  free (o->stop_timeout);
  free (o->systemd);
  free (o->container_id);
  free (o->name);
  free (o->restart);
  free (o->log_driver);
  hutch_strv_free (o->log_opts);
  free (o->detach_keys);
}

int
hutch_run_ns_mode (const char *option, const char *value, bool *ret_host, hutch_error_t *err)
{
  if (strcmp (value, "host") == 0 || strcmp (value, "private") == 0)
    {
      *ret_host = value[0] == 'h';
      return 0;
    }
  if (strncmp (value, "container:", 10) == 0)
    return hutch_error_set (err, 0,
                            "%s `%s`: joining another container's namespace is not supported "
                            "yet; use private or host",
                            option, value);
  if (strncmp (value, "ns:", 3) == 0)
    return hutch_error_set (err, 0,
                            "%s `%s`: joining a namespace by its path is not supported: the "
                            "container's new user namespace holds no privilege over a namespace "
                            "that another user namespace owns, so the kernel refuses setns into "
                            "it; use private or host",
                            option, value);
  return hutch_error_set (err, 0, "%s `%s`: expected private or host", option, value);
}

static bool
is_host (const char *mode)
{
  return mode && strcmp (mode, "host") == 0;
}

/* --pid, --ipc and --uts host: no namespace of the container's own.  */
static int
host_namespaces (const struct hutch_run_options *o, struct hutch_spec *spec, hutch_error_t *err)
{
  const char *const opts[] = { "--pid", "--ipc", "--uts" };
  const char *const vals[] = { o->pid_mode, o->ipc_mode, o->uts_mode };
  const int ns[] = { HUTCH_NS_PID, HUTCH_NS_IPC, HUTCH_NS_UTS };
  size_t i;

  for (i = 0; i < 3; i++)
    {
      bool host = false;
      if (vals[i] && hutch_run_ns_mode (opts[i], vals[i], &host, err) < 0)
        return -1;
      if (host)
        spec->ns[ns[i]] = false;
    }
  if (is_host (o->uts_mode) && o->hostname)
    return hutch_error_set (err, 0,
                            "--hostname names the container's own hostname, and --uts host "
                            "shares the host's: give one or the other");
  if (is_host (o->ipc_mode) && o->shm_size)
    return hutch_error_set (err, 0,
                            "--shm-size sizes the container's own /dev/shm, and --ipc host shares "
                            "the host's: give one or the other");
  return 0;
}

static int
add_devices (const struct hutch_run_options *o, struct hutch_spec *spec, hutch_error_t *err)
{
  size_t i;

  /* CDI names are resolved by hutch_run_cdi_resolve.  */
  for (i = 0; o->devices && o->devices[i]; i++)
    if (!hutch_cdi_is_name (o->devices[i])
        && hutch_device_parse (o->devices[i], &spec->devices, &spec->n_devices, err) < 0)
      return -1;
  return 0;
}

int
hutch_run_cdi_resolve (const struct hutch_run_options *o, struct hutch_cdi **ret,
                       hutch_error_t *err)
{
  _cleanup_strv_ char **names = hutch_xmalloc0 (sizeof (char *));
  size_t i;

  *ret = NULL;
  for (i = 0; o->devices && o->devices[i]; i++)
    if (hutch_cdi_is_name (o->devices[i]))
      hutch_strv_push (&names, hutch_xstrdup (o->devices[i]));
  if (names[0] == NULL)
    return 0;
  return hutch_cdi_resolve (o->cdi_spec_dirs, names, ret, err);
}

int
hutch_run_cdi_apply (const struct hutch_run_options *o, const struct hutch_cdi *cdi,
                     struct hutch_spec *spec, hutch_error_t *err)
{
  struct hutch_hooks *h;
  int k;

  if (cdi == NULL)
    return 0;
  if (hutch_cdi_apply (cdi, spec, err) < 0)
    return -1;
  h = spec->hooks;
  /* A container under a monitor ends where no hutch waits for it: the
     monitor would have to run poststop hooks, and does not yet.  */
  if (o->detach && h && h->kind[HUTCH_HOOK_POSTSTOP].n > 0)
    return hutch_error_set (err, 0,
                            "--device: a CDI spec asks for a poststop hook (%s), which hutch "
                            "runs only for a container in the foreground, not one under a "
                            "monitor (-d, create); run it without -d",
                            h->kind[HUTCH_HOOK_POSTSTOP].hooks[0].path);
  /* The hooks' state names the container, and its directory as the
     bundle, where config.json is (vendor hooks read root.path there).  */
  for (k = 0; h && k < HUTCH_HOOK_COUNT; k++)
    if (h->kind[k].n > 0 && spec->extra.oci_id == NULL && o->container_id)
      {
        spec->extra.oci_id = hutch_xstrdup (o->container_id);
        spec->extra.oci_bundle
            = spec->extra.container_dir ? hutch_xstrdup (spec->extra.container_dir) : NULL;
      }
  return 0;
}

static int
add_ulimits (const struct hutch_run_options *o, struct hutch_spec *spec, hutch_error_t *err)
{
  size_t i;

  for (i = 0; o->ulimits && o->ulimits[i]; i++)
    {
      struct hutch_rlimit rl;
      if (hutch_ulimit_parse (o->ulimits[i], &rl, err) < 0)
        return -1;
      hutch_spec_set_rlimit (spec, &rl);
    }
  if (hutch_rlimits_check (spec, err) < 0)
    return hutch_error_prefix (err, "--ulimit");
  return 0;
}

/* A zone name stays inside the zone directory: no absolute path, no `..`.  */
static bool
zone_name_ok (const char *name)
{
  const char *p = name;

  if (*name == '\0' || *name == '/')
    return false;
  while (p)
    {
      if (strncmp (p, "..", 2) == 0 && (p[2] == '/' || p[2] == '\0'))
        return false;
      p = strchr (p, '/');
      if (p)
        p++;
    }
  return true;
}

/* PATH is a compiled zone file (TZif, RFC 8536), not a directory or one
   of the tables beside them (zone.tab).  */
static bool
is_zone_file (const char *path)
{
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  struct stat st;
  char magic[4];

  return fd >= 0 && fstat (fd, &st) == 0 && S_ISREG (st.st_mode) && read (fd, magic, 4) == 4
         && memcmp (magic, "TZif", 4) == 0;
}

/* --tz, as podman: the host's zone file of that name (in $TZDIR, else
   /usr/share/zoneinfo), or the host's own zone for `local`, at the
   container's /etc/localtime.  TZ is not set, as podman sets none.  */
static int
set_timezone (const struct hutch_run_options *o, struct hutch_spec *spec, hutch_error_t *err)
{
  const char *dir
      = getenv ("TZDIR") && *getenv ("TZDIR") ? getenv ("TZDIR") : "/usr/share/zoneinfo";
  _cleanup_free_ char *path = NULL;

  if (o->tz == NULL)
    return 0;
  if (strcmp (o->tz, "local") == 0)
    {
      path = realpath ("/etc/localtime", NULL);
      if (path == NULL || !is_zone_file (path))
        return hutch_error_set (err, 0,
                                "--tz local: the host has no time zone in /etc/localtime; give a "
                                "zone by name, such as Europe/Paris or UTC");
    }
  else
    {
      _cleanup_free_ char *p = hutch_xasprintf ("%s/%s", dir, o->tz);
      path = zone_name_ok (o->tz) ? realpath (p, NULL) : NULL;
      if (path == NULL || !is_zone_file (path))
        return hutch_error_set (err, 0,
                                "--tz `%s`: no such time zone in %s; give a name such as "
                                "Europe/Paris or UTC, or local for the host's",
                                o->tz, dir);
    }
  spec->extra.localtime = HUTCH_STEAL_PTR (path);
  return 0;
}

static int
check_shm_size (const struct hutch_run_options *o, hutch_error_t *err)
{
  int64_t n;

  if (o->shm_size && (hutch_parse_bytes (o->shm_size, &n) < 0 || n <= 0))
    return hutch_error_set (err, 0,
                            "--shm-size `%s`: expected a size above 0, such as 64m or 1g (units "
                            "b, k, m, g)",
                            o->shm_size);
  return 0;
}

void
hutch_run_ipc_mounts (const struct hutch_run_options *o, struct hutch_spec *spec)
{
  struct statfs sfs;
  int64_t n = 64 << 20; /* Docker's default */

  if (is_host (o->ipc_mode))
    {
      /* POSIX shared memory is files in /dev/shm: sharing the host's IPC
         shares them too, as Docker and podman do.  The user's own view of
         the host's, nothing more.  */
      hutch_spec_add_mount (spec, "/dev/shm", "bind", "/dev/shm", "rbind,nosuid,nodev,noexec");
      /* The runtime binds the host's /dev/mqueue for it (there is no IPC
         namespace of the container's own to mount one for); a host
         without one has no queues to show.  */
      if (statfs ("/dev/mqueue", &sfs) == 0 && sfs.f_type == MQUEUE_MAGIC)
        hutch_spec_add_mount (spec, "/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev");
      return;
    }
  if (o->shm_size)
    hutch_parse_bytes (o->shm_size, &n); /* checked in hutch_run_flags_early */
  {
    _cleanup_free_ char *opts
        = hutch_xasprintf ("nosuid,noexec,nodev,mode=1777,size=%lld", (long long)n);
    hutch_spec_add_mount (spec, "/dev/shm", "tmpfs", "shm", opts);
  }
  hutch_spec_add_mount (spec, "/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev");
}

int
hutch_run_host_hostname (const struct hutch_run_options *o, struct hutch_spec *spec,
                         hutch_error_t *err)
{
  char name[HOST_NAME_MAX + 1];

  if (!is_host (o->uts_mode))
    return 0;
  if (gethostname (name, sizeof name) < 0)
    return hutch_error_set (err, errno, "gethostname");
  name[HOST_NAME_MAX] = '\0';
  free (spec->hostname);
  spec->hostname = hutch_xstrdup (name);
  return 1;
}

/* KEY=VALUE, or KEY alone for an empty value, as Docker reads labels.  */
static int
add_kv (const char *option, char **values, struct hutch_kv **list, size_t *n, hutch_error_t *err)
{
  size_t i;

  for (i = 0; values && values[i]; i++)
    {
      const char *eq = strchr (values[i], '=');
      _cleanup_free_ char *key
          = eq ? hutch_xstrndup (values[i], (size_t)(eq - values[i])) : hutch_xstrdup (values[i]);
      if (*key == '\0')
        return hutch_error_set (err, 0, "%s `%s`: expected KEY=VALUE with a KEY", option,
                                values[i]);
      hutch_kv_set (list, n, key, eq ? eq + 1 : "");
    }
  return 0;
}

/* -P needs an image (its ExposedPorts) and a network of the container's
   own, as -p does.  */
static int
check_publish_all (const struct hutch_run_options *o, int network, hutch_error_t *err)
{
  if (!o->publish_all)
    return 0;
  if (o->image == NULL)
    return hutch_error_set (err, 0,
                            "-P publishes the ports that an image's config exposes "
                            "(ExposedPorts); with %s there is no image: publish ports with "
                            "-p PORT",
                            o->rootfs ? "--rootfs" : "`--`");
  if (network != HUTCH_NETWORK_SLIRP)
    return hutch_error_set (err, 0,
                            "-P publishes ports of the container's own network: it needs "
                            "--network slirp (with --network host, the container's ports are "
                            "the host's already)");
  return 0;
}

static int
check_stop (const struct hutch_run_options *o, struct hutch_spec *spec, hutch_error_t *err)
{
  char *end;
  long t;

  if (o->stop_signal && hutch_signal_from_name (o->stop_signal) < 0)
    return hutch_error_set (err, 0,
                            "--stop-signal `%s`: not a signal; give a name such as TERM, SIGINT "
                            "or RTMIN+3, or a number",
                            o->stop_signal);
  spec->extra.stop_timeout = DEFAULT_STOP_TIMEOUT;
  if (o->stop_timeout == NULL)
    return 0;
  errno = 0;
  t = strtol (o->stop_timeout, &end, 10);
  if (errno || end == o->stop_timeout || *end || t < -1 || t > INT_MAX / 1000)
    return hutch_error_set (err, 0,
                            "--stop-timeout `%s`: expected a number of seconds (0: SIGKILL at "
                            "once; -1: never)",
                            o->stop_timeout);
  spec->extra.stop_timeout = (int)t;
  return 0;
}

int
hutch_run_flags_early (const struct hutch_run_options *o, struct hutch_spec *spec, int network,
                       hutch_error_t *err)
{
  int systemd_mode;

  if (host_namespaces (o, spec, err) < 0 || add_devices (o, spec, err) < 0
      || add_ulimits (o, spec, err) < 0 || set_timezone (o, spec, err) < 0
      || check_shm_size (o, err) < 0 || check_publish_all (o, network, err) < 0
      || check_stop (o, spec, err) < 0
      || hutch_run_systemd_mode (o->systemd, &systemd_mode, err) < 0
      || add_kv ("--annotation", o->annotations, &spec->annotations, &spec->n_annotations, err) < 0)
    return -1;
  /* Labels are checked now, recorded later over the image's.  */
  {
    struct hutch_kv *l = NULL;
    size_t n = 0;
    int r = add_kv ("--label", o->labels, &l, &n, err);
    hutch_kv_free (l, n);
    if (r < 0)
      return -1;
  }
  /* The container's id, which names its cgroup (and --cidfile has): an
     image's container gets the id of its directory in the store later.  */
  if (o->image == NULL && o->container_id)
    spec->extra.cgroup_name = hutch_xstrdup (o->container_id);
  else if (o->image == NULL)
    {
      char id[17];
      if (hutch_random_hex (id, 16) < 0)
        return hutch_error_set (err, errno, "getrandom");
      spec->extra.cgroup_name = hutch_xstrdup (id);
    }
  spec->extra.keep_container_dir = o->keep;
  spec->extra.detach = o->detach;
  return 0;
}

/* -P: one free host port for each port the image exposes ("80/tcp",
   "53/udp", "8080" for tcp), but those -p publishes already.  */
static int
publish_exposed (const struct hutch_run_options *o, struct hutch_spec *spec,
                 const struct hutch_image_config *cfg, hutch_error_t *err)
{
  struct hutch_slirp *s = spec->extra.slirp;
  size_t i, k, added = 0;

  for (i = 0; cfg->exposed_ports && cfg->exposed_ports[i]; i++)
    {
      const char *port = cfg->exposed_ports[i], *slash = strchr (port, '/');
      struct hutch_publish p;
      bool dup = false;

      if (slash && strcmp (slash, "/tcp") != 0 && strcmp (slash, "/udp") != 0)
        {
          hutch_log (HUTCH_LOG_WARNING,
                     "-P: image `%s` exposes %s, which hutch-slirp cannot forward (TCP and UDP "
                     "only): not published",
                     o->image, port);
          continue;
        }
      if (hutch_publish_parse (port, &p, err) < 0)
        return hutch_error_prefix (err, "-P: image `%s` exposes", o->image);
      for (k = 0; k < s->n_publish; k++)
        dup |= s->publish[k].container_port == p.container_port && s->publish[k].udp == p.udp;
      if (dup)
        {
          hutch_publish_clear (&p);
          continue;
        }
      s->publish = hutch_xrealloc (s->publish, (s->n_publish + 2) * sizeof *s->publish);
      s->publish[s->n_publish++] = p;
      memset (&s->publish[s->n_publish], 0, sizeof *s->publish);
      added++;
    }
  if (added == 0 && (cfg->exposed_ports == NULL || cfg->exposed_ports[0] == NULL))
    hutch_log (HUTCH_LOG_WARNING, "-P: image `%s` exposes no port (ExposedPorts): none published",
               o->image);
  return 0;
}

/* --group-add: groups by name (the container's /etc/group) or number,
   after the user's own; or keep-groups, which keeps the user's host
   groups instead (no setgroups at all, as crun's
   run.oci.keep_original_groups).  */
static int
add_groups (const struct hutch_run_options *o, struct hutch_spec *spec, int mode, int groupfd,
            hutch_error_t *err)
{
  _cleanup_close_ int own = -1;
  size_t i, n = hutch_strv_len (o->group_add);
  bool keep = false;

  for (i = 0; i < n; i++)
    keep |= strcmp (o->group_add[i], "keep-groups") == 0;
  if (keep && n > 1)
    return hutch_error_set (err, 0,
                            "--group-add keep-groups keeps your own groups as they are, so it "
                            "cannot be given with other groups: setting those would drop yours");
  if (keep)
    {
      spec->extra.keep_groups = true;
      spec->n_additional_gids = 0;
      return 0;
    }
  if (n == 0)
    return 0;
  if (mode == HUTCH_USERNS_SINGLE && spec->rootemu == NULL)
    return hutch_error_set (err, 0,
                            "--group-add needs setgroups, which the kernel denies to a user "
                            "namespace that maps only your own ids (--userns=single, or no "
                            "subordinate gid range); use --group-add keep-groups to keep your "
                            "own groups, or get a subordinate range");
  /* keep-id keeps the user's host groups only when nothing is added:
     setgroups can only set groups the namespace maps.  */
  spec->extra.keep_groups = false;
  if (groupfd < 0)
    groupfd = own = open (o->rootfs ? o->rootfs : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  for (i = 0; i < n; i++)
    {
      unsigned int gid;
      size_t k;
      bool dup = false;
      if (hutch_group_resolve (groupfd, o->group_add[i], &gid, err) < 0)
        return -1;
      dup = gid == spec->gid;
      for (k = 0; k < spec->n_additional_gids; k++)
        dup |= spec->additional_gids[k] == gid;
      if (dup)
        continue;
      spec->additional_gids = hutch_xrealloc (spec->additional_gids,
                                              (spec->n_additional_gids + 1) * sizeof (unsigned));
      spec->additional_gids[spec->n_additional_gids++] = gid;
    }
  return 0;
}

int
hutch_run_flags_late (const struct hutch_run_options *o, struct hutch_spec *spec,
                      const struct hutch_image_config *cfg, int mode, int groupfd,
                      hutch_error_t *err)
{
  const char *sig = o->stop_signal ? o->stop_signal : cfg->stop_signal;
  size_t i;

  if (o->publish_all && publish_exposed (o, spec, cfg, err) < 0)
    return -1;
  if (add_groups (o, spec, mode, groupfd, err) < 0)
    return -1;
  /* The image's labels, then --label over them, as Docker has it.  */
  for (i = 0; i < cfg->n_labels; i++)
    hutch_kv_set (&spec->extra.labels, &spec->extra.n_labels, cfg->labels[i].key,
                  cfg->labels[i].value);
  if (add_kv ("--label", o->labels, &spec->extra.labels, &spec->extra.n_labels, err) < 0)
    return -1;
  /* --stop-signal, else the image's StopSignal, else SIGTERM.  */
  if (sig && *sig)
    {
      spec->extra.stop_signal = hutch_signal_from_name (sig);
      if (spec->extra.stop_signal < 0)
        return hutch_error_set (err, 0,
                                "image `%s`: its StopSignal `%s` is not a signal; give "
                                "--stop-signal",
                                o->image, sig);
    }
  return 0;
}

int
hutch_run_cidfile_create (const char *path, hutch_error_t *err)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);

  if (fd < 0 && errno == EEXIST)
    return hutch_error_set (err, 0,
                            "--cidfile `%s` exists: another container may still be running "
                            "with it; remove the file, or give another",
                            path);
  if (fd < 0)
    return hutch_error_set (err, errno, "--cidfile `%s`", path);
  return fd;
}

int
hutch_run_cidfile_write (int fd, const char *path, const char *id, hutch_error_t *err)
{
  int r = hutch_write_all (fd, id, strlen (id));
  if (r < 0)
    return hutch_error_set (err, -r, "write --cidfile `%s`", path);
  return 0;
}

void
hutch_run_cidfile_remove (const char *path, int fd)
{
  struct stat a, b;

  if (fd < 0)
    return;
  if (fstat (fd, &a) == 0 && lstat (path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
    unlink (path);
  close (fd);
}
