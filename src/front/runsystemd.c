/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* --systemd true|false|always: a container whose command is systemd (an
   init) runs in system mode, as podman's do: what systemd as PID 1
   expects of a container (systemd's "Container Interface", CONTAINER
   INTERFACE in systemd.io) without privileges and without changes to the
   image.  true (the default) decides by the command, as podman does
   (systemd by any path, /sbin/init, /usr/sbin/init, /usr/local/sbin/init,
   also after `/bin/sh -c`); always and false do not look.  Each piece
   below says why systemd needs it.  */

#include "front/run.h"
#include "image/imageconfig.h"
#include "runtime/cgroup.h"
#include "runtime/sdscope.h"
#include "base/signame.h"
#include "base/util.h"
#include "base/walk.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* How long `hutch stop` (and a foreground hutch told to stop) waits for a
   system-mode container before SIGKILL, unless --stop-timeout says.
   docker's and podman's 10 s (podman keeps them for systemd too) cut a
   clean shutdown short too often: systemd stops every unit in order,
   which takes a few seconds where a service takes its time or the
   machine is slow, and a SIGKILL then leaves what the services were
   writing half done.  systemd's own DefaultTimeoutStopSec (90 s, per
   unit) would hold `hutch stop` far too long for a hung one.  */
#define SYSTEMD_STOP_TIMEOUT 30

int
hutch_run_systemd_mode (const char *value, int *ret_mode, hutch_error_t *err)
{
  if (value == NULL || strcmp (value, "true") == 0)
    *ret_mode = HUTCH_SYSTEMD_TRUE;
  else if (strcmp (value, "false") == 0)
    *ret_mode = HUTCH_SYSTEMD_FALSE;
  else if (strcmp (value, "always") == 0)
    *ret_mode = HUTCH_SYSTEMD_ALWAYS;
  else
    return hutch_error_set (err, 0, "--systemd `%s`: expected true, false or always", value);
  return 0;
}

/* podman's rule: the command (after a `/bin/sh -c` that podman build puts
   before it) is one of the init paths, or any path whose last part is
   systemd (/lib/systemd/systemd, /usr/lib/systemd/systemd).  */
static bool
runs_systemd (char *const *args)
{
  static const char *const inits[] = { "/sbin/init", "/usr/sbin/init", "/usr/local/sbin/init" };
  const char *cmd, *base;
  size_t i;

  if (args == NULL || args[0] == NULL)
    return false;
  cmd = args[0];
  if (args[1] && args[2] && strcmp (args[0], "/bin/sh") == 0 && strcmp (args[1], "-c") == 0)
    cmd = args[2];
  for (i = 0; i < sizeof inits / sizeof *inits; i++)
    if (strcmp (cmd, inits[i]) == 0)
      return true;
  base = strrchr (cmd, '/');
  return strcmp (base ? base + 1 : cmd, "systemd") == 0;
}

/* DEST without the trailing slashes people type ("/run/").  */
static bool
same_path (const char *a, const char *b)
{
  size_t la = strlen (a), lb = strlen (b);
  while (la > 1 && a[la - 1] == '/')
    la--;
  while (lb > 1 && b[lb - 1] == '/')
    lb--;
  return la == lb && strncmp (a, b, la) == 0;
}

static bool
below (const char *path, const char *dir)
{
  size_t n = strlen (dir);
  return strncmp (path, dir, n) == 0 && path[n] == '/' && path[n + 1] != '\0';
}

/* A tmpfs on DEST, unless a mount of the user's (-v, --mount, --tmpfs) is
   there already: that one wins, as with podman.  It goes before the
   first mount below DEST (a -v onto /run/foo stays visible on top of the
   new /run), else last.  */
static void
add_tmpfs (struct hutch_spec *spec, const char *dest, const char *options)
{
  struct hutch_mount m;
  size_t i, at = spec->n_mounts;

  for (i = 0; i < spec->n_mounts; i++)
    if (same_path (spec->mounts[i].destination, dest))
      return;
  for (i = 0; i < spec->n_mounts && at == spec->n_mounts; i++)
    if (below (spec->mounts[i].destination, dest))
      at = i;
  hutch_spec_add_mount (spec, dest, "tmpfs", "tmpfs", options);
  m = spec->mounts[spec->n_mounts - 1];
  memmove (&spec->mounts[at + 1], &spec->mounts[at], (spec->n_mounts - 1 - at) * sizeof m);
  spec->mounts[at] = m;
}

/* Whether the directory PATH exists in LAYER (a directory of the host):
   1 yes, 0 no (or a whiteout hides it), -1 LAYER does not say.  */
static int
layer_has_dir (const char *layer, const char *path)
{
  _cleanup_close_ int rootfd = open (layer, O_PATH | O_DIRECTORY | O_CLOEXEC);
  _cleanup_close_ int fd = -1;
  struct stat st;

  if (rootfd < 0)
    return -1;
  fd = hutch_walk_open_in_root (rootfd, path, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
  if (fd < 0 || fstat (fd, &st) < 0)
    return -1;
  /* overlayfs's whiteout: a 0/0 character device */
  if (S_ISCHR (st.st_mode) && major (st.st_rdev) == 0 && minor (st.st_rdev) == 0)
    return 0;
  return S_ISDIR (st.st_mode) ? 1 : 0;
}

/* Whether the container's root has the directory PATH: the root
   directory's, or the overlay's layers from the top (the container's own
   changes first).  */
static bool
root_has_dir (const struct hutch_spec *spec, const char *path)
{
  const struct hutch_overlay *ov = spec->extra.overlay;
  size_t i;
  int r;

  if (ov && ov->driver != HUTCH_DRIVER_NONE)
    {
      if (ov->upper && (r = layer_has_dir (ov->upper, path)) >= 0)
        return r == 1;
      for (i = 0; ov->lower && ov->lower[i]; i++)
        if ((r = layer_has_dir (ov->lower[i], path)) >= 0)
          return r == 1;
      return false;
    }
  return spec->root_path && layer_has_dir (spec->root_path, path) == 1;
}

/* Whether the cgroup2 mount at MOUNT has nsdelegate (mountinfo's super
   options): with it, the kernel refuses writes from inside a cgroup
   namespace to its root's own files but the delegation ones.  */
static bool
nsdelegate (const char *mount)
{
  _cleanup_free_ char *text = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;
  char *line, *save = NULL;

  if (hutch_read_file ("/proc/self/mountinfo", 4 * 1024 * 1024, &text, NULL, &e) < 0)
    {
      hutch_error_clear (&e);
      return false;
    }
  for (line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *f[5] = { NULL }, *p = line, *dash = strstr (line, " - ");
      size_t i;
      for (i = 0; i < 5 && p; i++)
        {
          f[i] = p;
          p = strchr (p, ' ');
          if (p)
            *p++ = '\0';
        }
      if (f[4] && dash && strcmp (f[4], mount) == 0 && strncmp (dash + 3, "cgroup2 ", 8) == 0
          && strstr (dash + 3, "nsdelegate"))
        return true;
    }
  return false;
}

/* Whether /sys/fs/cgroup may be writable: the container will have a
   cgroup of its own, which the launcher gives it where a cgroup v2
   subtree is delegated or a systemd user manager can make a delegated
   scope (runtime/cgroup.c decides it the same way, later); and the
   kernel keeps the container from its own limits.  Those files
   (memory.max...) belong to the user, as the container's root does: only
   nsdelegate on the cgroup2 mount (systemd's default) stops a write from
   inside the container's cgroup namespace to the files of its root.  */
static bool
cgroup_writable (const struct hutch_run_options *o)
{
  struct hutch_cgroup_host h;
  hutch_error_t e = HUTCH_ERROR_INIT;
  bool ok;

  if (o->cgroups_disabled)
    return false;
  memset (&h, 0, sizeof h);
  if (hutch_cgroup_probe (&h, &e) < 0)
    {
      hutch_error_clear (&e);
      return false;
    }
  ok = h.mount && h.own && (h.delegated || hutch_sdscope_available ()) && nsdelegate (h.mount);
  hutch_cgroup_host_clear (&h);
  return ok;
}

static void
writable_cgroup (struct hutch_spec *spec)
{
  size_t i, k, n;

  for (i = 0; i < spec->n_mounts; i++)
    {
      char **opts = spec->mounts[i].options;
      if (strcmp (spec->mounts[i].destination, "/sys/fs/cgroup") != 0
          || strcmp (spec->mounts[i].type, "cgroup") != 0 || opts == NULL)
        continue;
      for (k = n = 0; opts[k]; k++)
        if (strcmp (opts[k], "ro") == 0)
          free (opts[k]);
        else
          opts[n++] = opts[k];
      opts[n] = NULL;
    }
}

int
hutch_run_systemd (const struct hutch_run_options *o, struct hutch_spec *spec,
                   const struct hutch_image_config *cfg, hutch_error_t *err)
{
  int mode;

  if (hutch_run_systemd_mode (o->systemd, &mode, err) < 0)
    return -1;
  if (mode == HUTCH_SYSTEMD_FALSE || (mode == HUTCH_SYSTEMD_TRUE && !runs_systemd (spec->args)))
    return 0;
  /* systemd runs as the system manager only as PID 1; as anything else
     it takes itself for a user's manager and gives up.  */
  if (o->init)
    return hutch_error_set (err, 0,
                            "--init puts hutch-init as PID 1, but in system mode (%s) systemd "
                            "must be PID 1 itself: drop --init (systemd reaps and passes signals "
                            "on itself), or give --systemd false",
                            mode == HUTCH_SYSTEMD_ALWAYS ? "--systemd always"
                                                         : "the command is systemd or an init");
  if (!spec->ns[HUTCH_NS_PID])
    return hutch_error_set (err, 0,
                            "--pid host leaves systemd (system mode) without a PID namespace of "
                            "its own, where it would have to be PID 1: drop --pid host, or give "
                            "--systemd false");
  /* systemd wants /run and /run/lock on tmpfs (it refuses to boot when
     /run is no tmpfs: runtime state must go at shutdown), /tmp empty at
     each boot, and /var/log/journal writable for journald.  noexec,
     nosuid, nodev and 64 MiB for /run and /run/lock, as podman had them
     (and as systemd mounts /run/lock itself): nothing there is to be run,
     and a full /run must not take the container's memory.  /tmp keeps
     exec (programs are built and run there) but no setuid files or device
     nodes; it and the journal are bounded by the container's memory
     only.  */
  add_tmpfs (spec, "/run", "nosuid,nodev,noexec,mode=755,size=65536k");
  add_tmpfs (spec, "/run/lock", "nosuid,nodev,noexec,mode=1777,size=65536k");
  add_tmpfs (spec, "/tmp", "nosuid,nodev,mode=1777");
  /* Only where the image has one: an image without it keeps its journal
     in /run/log/journal, as systemd does on a machine without it.  */
  if (root_has_dir (spec, "/var/log/journal"))
    add_tmpfs (spec, "/var/log/journal", "nosuid,nodev,noexec,mode=2755");
  /* container=hutch (set for every container) tells systemd it is in one:
     it skips what only a machine has (udev, hardware units); and
     container_uuid, the container's id as podman gives it, becomes
     /etc/machine-id when the image has none.  */
  if (o->container_id && hutch_spec_getenv (spec, "container_uuid") == NULL)
    {
      _cleanup_free_ char *uuid = hutch_xasprintf ("container_uuid=%.32s", o->container_id);
      hutch_spec_setenv (spec, uuid);
    }
  /* SIGRTMIN+3 is systemd's "halt": a clean shutdown of every unit, then
     its exit.  SIGTERM, the default, only makes it re-execute itself.
     --stop-signal and the image's StopSignal still win.  */
  if (o->stop_signal == NULL && (cfg->stop_signal == NULL || *cfg->stop_signal == '\0'))
    spec->extra.stop_signal = hutch_signal_from_name ("RTMIN+3");
  if (o->stop_timeout == NULL)
    spec->extra.stop_timeout = SYSTEMD_STOP_TIMEOUT;
  /* systemd runs its units in cgroups of their own below its root: it
     needs /sys/fs/cgroup writable, and it is, for the container's own
     cgroup, the root of its cgroup namespace (nothing above it can be
     reached from inside).  Without a cgroup of its own, that root would
     be hutch's, shared with the user's other processes; and without
     nsdelegate the container could write its own limits: then the mount
     stays read-only, and systemd runs degraded (no unit gets a cgroup of
     its own).  --privileged has it writable already.  */
  if (cgroup_writable (o))
    writable_cgroup (spec);
  return 0;
}
