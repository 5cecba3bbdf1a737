/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* linux.cgroupsPath, and the commands' operations on a container's
   cgroup (src/runtime/ocicgroup.h).  The operations take a cgroup by its
   host path, which the container's state records: they run in a later
   command than the one that made it, as root or as the user whose
   container it is, and the kernel checks each write against the owner of
   the file, as for the rest of src/runtime/cgroup.c.  */

#include "runtime/ocicgroup.h"
#include "runtime/cgroup.h"
#include "runtime/sdscope.h"
#include "runtime/spec.h"
#include "base/util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A container may make cgroups in its own (with a writable cgroup
   mount); the walks below go this deep, as cgroup.c's removal does.  */
#define MAX_DEPTH 32
#define FREEZE_TIMEOUT_MS 10000

/* ---- linux.cgroupsPath ---------------------------------------------- */

/* PATH without empty and `.` components, and without a leading or
   trailing `/`; NULL (ERR set) when it has `..` or a control character,
   or names nothing.  Why that is safe as root, where config.json may name
   any cgroup: without `..`, and with no symlink possible in a cgroup file
   system (kernfs makes none for users), the path stays below the cgroup2
   mount it is joined to; rootless, the kernel checks every mkdir and
   write against the owner of the cgroup.  */
static char *
clean_path (const char *path, hutch_error_t *err)
{
  _cleanup_free_ char *copy = hutch_xstrdup (path);
  char *out = hutch_xmalloc0 (strlen (path) + 1), *save = NULL, *c;
  size_t i;

  for (i = 0; path[i]; i++)
    if (iscntrl ((unsigned char)path[i]))
      {
        free (out);
        hutch_error_set (err, 0, "linux.cgroupsPath `%s` holds a control character", path);
        return NULL;
      }
  for (c = strtok_r (copy, "/", &save); c; c = strtok_r (NULL, "/", &save))
    {
      if (strcmp (c, ".") == 0)
        continue;
      /* runc resolves `..` lexically; a path that climbs is refused
         here: it is a mistake, or an attempt to name a cgroup outside
         the one it seems to be in.  */
      if (strcmp (c, "..") == 0)
        {
          free (out);
          hutch_error_set (err, 0, "linux.cgroupsPath `%s`: `..` is not allowed in it", path);
          return NULL;
        }
      if (*out)
        strcat (out, "/");
      strcat (out, c);
    }
  if (*out == '\0')
    {
      free (out);
      hutch_error_set (err, 0,
                       "linux.cgroupsPath `%s` names the root cgroup, which cannot be a "
                       "container's; give a cgroup below it, or leave it empty",
                       path);
      return NULL;
    }
  return out;
}

/* Characters systemd takes in a unit name (unit_name_is_valid), but `@`
   and `\`, which would make a template or an escape.  */
static bool
unit_chars (const char *s)
{
  for (; *s; s++)
    if (!(isalnum ((unsigned char)*s) || *s == '_' || *s == '-' || *s == '.' || *s == ':'))
      return false;
  return true;
}

static bool
has_suffix (const char *s, const char *suffix)
{
  size_t n = strlen (s), k = strlen (suffix);
  return n >= k && strcmp (s + n - k, suffix) == 0;
}

static int
systemd_path (const char *p, const char *id, bool rootless, struct hutch_cgroup_request *ret,
              hutch_error_t *err)
{
  const char *c1 = strchr (p, ':'), *c2 = c1 ? strchr (c1 + 1, ':') : NULL;
  _cleanup_free_ char *slice = NULL, *prefix = NULL, *name = NULL;

  if (*p == '\0')
    {
      ret->slice = hutch_xstrdup (rootless ? "user.slice" : "system.slice");
      ret->unit = hutch_xasprintf ("hutch-oci-%s.scope", id);
      if (!unit_chars (ret->unit) || strlen (ret->unit) > 255)
        return hutch_error_set (err, 0, "the container id `%s` cannot name a systemd scope", id);
      return 0;
    }
  if (c1 == NULL || c2 == NULL || strchr (c2 + 1, ':'))
    return hutch_error_set (err, 0,
                            "linux.cgroupsPath `%s`: the systemd cgroup manager takes "
                            "SLICE:PREFIX:NAME (e.g. system.slice:runc:ID), which makes the "
                            "scope PREFIX-NAME.scope in SLICE",
                            p);
  slice = hutch_xstrndup (p, (size_t)(c1 - p));
  prefix = hutch_xstrndup (c1 + 1, (size_t)(c2 - c1 - 1));
  name = hutch_xstrdup (c2 + 1);
  if (*slice == '\0')
    {
      free (slice);
      slice = hutch_xstrdup (rootless ? "user.slice" : "system.slice");
    }
  if (!has_suffix (slice, ".slice") || strlen (slice) == 6 || !unit_chars (slice)
      || strchr (slice, ':'))
    return hutch_error_set (err, 0,
                            "linux.cgroupsPath `%s`: `%s` is not a slice (a name such as "
                            "system.slice or machine.slice)",
                            p, slice);
  if (*name == '\0')
    return hutch_error_set (err, 0,
                            "linux.cgroupsPath `%s`: the NAME of SLICE:PREFIX:NAME is empty", p);
  if (has_suffix (name, ".slice"))
    return hutch_error_set (err, 0,
                            "linux.cgroupsPath `%s`: a slice as the container's own cgroup is "
                            "not supported; give a NAME that is not a slice, for a scope",
                            p);
  /* runc: NAME.scope as it is when it ends so already */
  ret->unit = has_suffix (name, ".scope")
                  ? hutch_xasprintf ("%s%s%s", prefix, *prefix ? "-" : "", name)
                  : hutch_xasprintf ("%s%s%s.scope", prefix, *prefix ? "-" : "", name);
  if (!unit_chars (prefix) || !unit_chars (name) || strlen (ret->unit) > 255)
    return hutch_error_set (err, 0,
                            "linux.cgroupsPath `%s`: PREFIX and NAME may hold letters, digits, "
                            "`_`, `-`, `.` and `:`, and make a unit name of at most 255 "
                            "characters",
                            p);
  ret->slice = HUTCH_STEAL_PTR (slice);
  return 0;
}

int
hutch_cgroup_path_from_oci (const char *cgroups_path, enum hutch_cgroup_manager manager,
                            const char *id, bool rootless, struct hutch_cgroup_request *ret,
                            hutch_error_t *err)
{
  const char *p = cgroups_path ? cgroups_path : "";

  memset (ret, 0, sizeof *ret);
  ret->rootless = rootless;
  ret->manager = manager == HUTCH_CGROUP_AUTO ? HUTCH_CGROUP_CGROUPFS : manager;
  switch (ret->manager)
    {
    case HUTCH_CGROUP_DISABLED:
      return 0;
    case HUTCH_CGROUP_SYSTEMD:
      if (systemd_path (p, id, rootless, ret, err) < 0)
        {
          hutch_cgroup_request_clear (ret);
          return -1;
        }
      return 0;
    default:
      break;
    }
  if (*p == '\0')
    {
      ret->manager = HUTCH_CGROUP_AUTO;
      return 0;
    }
  ret->path = clean_path (p, err);
  if (ret->path == NULL)
    {
      hutch_cgroup_request_clear (ret);
      return -1;
    }
  ret->absolute = *p == '/';
  return 0;
}

/* The cgroup REL ("/a/b", of the hierarchy) where MOUNT shows it.  */
static int
host_path (const char *mount, const char *mount_root, const char *rel, char **ret,
           hutch_error_t *err)
{
  size_t n = strcmp (mount_root, "/") == 0 ? 0 : strlen (mount_root);
  if (strncmp (rel, mount_root, n) != 0 || (rel[n] != '/' && rel[n] != '\0'))
    return hutch_error_set (err, 0, "the cgroup %s is outside what %s shows (%s)", rel, mount,
                            mount_root);
  *ret = hutch_xasprintf ("%s%s", mount, rel + n);
  return 0;
}

int
hutch_cgroup_resolve (const struct hutch_cgroup_request *req, const char *mount,
                      const char *mount_root, const char *own_rel, const char *base,
                      char **ret_path, hutch_error_t *err)
{
  _cleanup_free_ char *rel = NULL, *parent = NULL;

  if (req->absolute)
    {
      rel = hutch_xasprintf ("/%s", req->path);
      return host_path (mount, mount_root, rel, ret_path, err);
    }
  if (req->rootless)
    {
      if (base == NULL)
        return hutch_error_set (err, 0,
                                "linux.cgroupsPath `%s` is relative, which rootless is below "
                                "the cgroup delegated to you, and there is none",
                                req->path);
      *ret_path = hutch_xasprintf ("%s/%s", base, req->path);
      return 0;
    }
  if (own_rel == NULL || own_rel[0] != '/')
    return hutch_error_set (err, 0,
                            "linux.cgroupsPath `%s` is relative to the parent of hutch's own "
                            "cgroup, which /proc/self/cgroup does not name",
                            req->path);
  parent = hutch_xstrdup (own_rel);
  *strrchr (parent, '/') = '\0';
  rel = hutch_xasprintf ("%s/%s", parent, req->path);
  return host_path (mount, mount_root, rel, ret_path, err);
}

/* ---- operations on a container's cgroup ----------------------------- */

static int
open_cgroup (const char *path, hutch_error_t *err)
{
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return hutch_error_set (err, errno, "open the container's cgroup %s", path);
  return fd;
}

static int
write_at (int dfd, const char *file, const char *value)
{
  _cleanup_close_ int fd = openat (dfd, file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 || hutch_write_all (fd, value, strlen (value)) < 0)
    return -1;
  return 0;
}

static long
elapsed_ms (const struct timespec *t0)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Wait at most MS until DFD's cgroup.events says `frozen ON`: 1 when it
   does, 0 at the timeout, 2 when the cgroup is gone.  The kernel signals
   each change of cgroup.events to poll() as POLLPRI.  */
static int
wait_frozen (int dfd, bool on, long ms)
{
  _cleanup_close_ int fd = openat (dfd, "cgroup.events", O_RDONLY | O_CLOEXEC);
  const char *want = on ? "frozen 1\n" : "frozen 0\n";
  struct timespec t0;

  if (fd < 0)
    return 2;
  clock_gettime (CLOCK_MONOTONIC, &t0);
  for (;;)
    {
      char buf[256];
      ssize_t n = pread (fd, buf, sizeof buf - 1, 0);
      struct pollfd pfd = { fd, POLLPRI, 0 };
      long left;
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return 2; /* ENODEV: removed */
      buf[n] = '\0';
      if (strstr (buf, want))
        return 1;
      left = ms - elapsed_ms (&t0);
      if (left <= 0)
        return 0;
      if (poll (&pfd, 1, (int)left) < 0 && errno != EINTR)
        return 0;
    }
}

static int
freeze_at (int dfd, const char *path, bool on, long ms, hutch_error_t *err)
{
  if (write_at (dfd, "cgroup.freeze", on ? "1" : "0") < 0)
    {
      if (errno == ENOENT)
        return hutch_error_set (err, 0,
                                "the cgroup %s has no cgroup.freeze: the cgroup v2 freezer came "
                                "with Linux 5.2",
                                path);
      return hutch_error_set (err, errno, "write cgroup.freeze of %s", path);
    }
  if (wait_frozen (dfd, on, ms) == 0)
    {
      if (on)
        write_at (dfd, "cgroup.freeze", "0");
      return hutch_error_set (err, 0,
                              "the cgroup %s did not %s within %ld s: a process in it is in a "
                              "wait it cannot leave (a disk or a network file system that does "
                              "not answer?)%s",
                              path, on ? "freeze" : "thaw", ms / 1000,
                              on ? "; it was thawed again and runs on" : "");
    }
  return 0;
}

int
hutch_cgroup_freeze (const char *path, bool on, hutch_error_t *err)
{
  _cleanup_close_ int dfd = open_cgroup (path, err);
  if (dfd < 0)
    return -1;
  return freeze_at (dfd, path, on, FREEZE_TIMEOUT_MS, err);
}

int
hutch_cgroup_frozen (const char *path)
{
  _cleanup_free_ char *file = hutch_xasprintf ("%s/cgroup.freeze", path), *text = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;
  if (hutch_read_file (file, 64, &text, NULL, &e) < 0)
    {
      hutch_error_clear (&e);
      return -1;
    }
  return text[0] == '1' ? 1 : 0;
}

static void
push_pid (pid_t **pids, size_t *n, pid_t pid)
{
  size_t i;
  /* a process moved between two cgroups while they are read */
  for (i = 0; i < *n; i++)
    if ((*pids)[i] == pid)
      return;
  if ((*n & 63) == 0)
    *pids = hutch_xrealloc (*pids, (*n + 64) * sizeof **pids);
  (*pids)[(*n)++] = pid;
}

static int
collect_pids (int dfd, const char *path, int depth, pid_t **pids, size_t *n, hutch_error_t *err)
{
  _cleanup_close_ int pfd = openat (dfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
  _cleanup_free_ char *text = NULL;
  char *line, *save = NULL;
  int fd;
  DIR *d;
  struct dirent *de;

  if (pfd < 0)
    return hutch_error_set (err, errno, "open cgroup.procs of %s", path);
  if (hutch_read_fd (pfd, 1 << 24, &text, NULL, err) < 0)
    return hutch_error_prefix (err, "read cgroup.procs of %s", path);
  for (line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      long v = strtol (line, NULL, 10);
      if (v > 0)
        push_pid (pids, n, (pid_t)v);
    }
  if (depth >= MAX_DEPTH)
    return 0;
  fd = openat (dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  d = fd >= 0 ? fdopendir (fd) : NULL;
  if (d == NULL)
    {
      if (fd >= 0)
        close (fd);
      return hutch_error_set (err, errno, "read the cgroups in %s", path);
    }
  while ((de = readdir (d)) != NULL)
    {
      _cleanup_close_ int cfd = -1;
      _cleanup_free_ char *sub = NULL;
      if (de->d_type != DT_DIR || strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      cfd = openat (dirfd (d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
      if (cfd < 0)
        continue; /* removed meanwhile */
      sub = hutch_xasprintf ("%s/%s", path, de->d_name);
      if (collect_pids (cfd, sub, depth + 1, pids, n, err) < 0)
        {
          closedir (d);
          return -1;
        }
    }
  closedir (d);
  return 0;
}

int
hutch_cgroup_pids (const char *path, pid_t **ret_pids, size_t *ret_n, hutch_error_t *err)
{
  _cleanup_close_ int dfd = open_cgroup (path, err);
  pid_t *pids = NULL;
  size_t n = 0;

  if (dfd < 0)
    return -1;
  if (collect_pids (dfd, path, 0, &pids, &n, err) < 0)
    {
      free (pids);
      return -1;
    }
  *ret_pids = pids;
  *ret_n = n;
  return 0;
}

int
hutch_cgroup_signal_all (const char *path, int sig, hutch_error_t *err)
{
  _cleanup_close_ int dfd = open_cgroup (path, err);
  _cleanup_free_ pid_t *pids = NULL;
  bool thaw = false;
  size_t n = 0, i;
  int ret;

  if (dfd < 0)
    return -1;
  if (sig == SIGKILL && write_at (dfd, "cgroup.kill", "1") == 0)
    return 0;
  if (hutch_cgroup_frozen (path) == 0)
    {
      hutch_error_t e = HUTCH_ERROR_INIT;
      /* A freeze that does not complete in time (a process in an
         uninterruptible wait) was undone: the signals go out anyway.  */
      thaw = freeze_at (dfd, path, true, 2000, &e) == 0;
      hutch_error_clear (&e);
    }
  ret = collect_pids (dfd, path, 0, &pids, &n, err);
  for (i = 0; ret == 0 && i < n; i++)
    if (kill (pids[i], sig) < 0 && errno != ESRCH)
      ret = hutch_error_set (err, errno, "send signal %d to process %ld of the cgroup %s", sig,
                             (long)pids[i], path);
  if (thaw)
    {
      hutch_error_t e = HUTCH_ERROR_INIT;
      if (freeze_at (dfd, path, false, FREEZE_TIMEOUT_MS, &e) < 0 && ret == 0)
        ret = hutch_error_set (err, e.errnum, "%s", e.msg);
      hutch_error_clear (&e);
    }
  return ret < 0 ? -1 : 0;
}

int
hutch_cgroup_update (const char *path, const struct hutch_cgroup_request *req,
                     const struct hutch_resource *res, size_t n, hutch_error_t *err)
{
  _cleanup_close_ int dfd = open_cgroup (path, err);

  if (dfd < 0)
    return -1;
  if (n == 0)
    return 0;
  if (req && req->manager == HUTCH_CGROUP_SYSTEMD)
    {
      const char *unit = strrchr (path, '/');
      if (unit == NULL || !has_suffix (unit, ".scope"))
        return hutch_error_set (err, 0,
                                "the cgroup %s is not a systemd scope: was the container made "
                                "with another cgroup manager?",
                                path);
      if (hutch_sdscope_set_limits (!req->rootless, unit + 1, res, n, err) < 0)
        return -1;
    }
  return hutch_cgroup_write_resources (dfd, path, res, n, err);
}

int
hutch_cgroup_remove (const char *path, hutch_error_t *err)
{
  _cleanup_free_ char *parent = hutch_xstrdup (path);
  char *slash = strrchr (parent, '/');
  _cleanup_close_ int pfd = -1;

  if (slash == NULL || slash[1] == '\0')
    return hutch_error_set (err, 0, "`%s` is not a cgroup's path", path);
  *slash = '\0';
  pfd = open (*parent ? parent : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (pfd < 0)
    return errno == ENOENT ? 0 : hutch_error_set (err, errno, "open the cgroup %s", parent);
  hutch_cgroup_remove_at (pfd, slash + 1);
  if (faccessat (pfd, slash + 1, F_OK, 0) == 0)
    return hutch_error_set (err, 0,
                            "the container's cgroup %s could not be removed (processes in it "
                            "would not die, or it has cgroups too deep to remove); remove it "
                            "with `find %s -depth -type d -exec rmdir {} +`",
                            path, path);
  return 0;
}
