/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* cgroup v2 for an unprivileged launcher.  The kernel's delegation model
   (Documentation/admin-guide/cgroup-v2.rst, "Delegation"): a user to whom
   a cgroup is delegated owns its directory, cgroup.procs, cgroup.threads
   and cgroup.subtree_control, and may then create children, enable the
   controllers the cgroup has for them, and move its own processes between
   cgroups of that subtree.  Nothing here needs or uses privilege: every
   write is checked by the kernel against the file's owner.

   Layout, when hutch's own cgroup B is delegated:
     B/                      hutch's cgroup (a scope or a delegated unit)
       hutch-launcher-PID/   hutch itself, when B needed controllers
       hutch-ID/             the container (its cgroup namespace's root)
   A cgroup whose subtree_control enables a controller may hold no process
   ("no internal processes"), so hutch moves itself into a leaf before it
   enables one in B, and only when it is alone in B: other processes of the
   user are never moved.  */

#include "runtime/cgroup.h"
#include "runtime/ocicgroup.h"
#include "runtime/resources.h"
#include "runtime/sdscope.h"
#include "runtime/spec.h"
#include "base/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static const char *const known_v1[]
    = { "cpu",     "cpuacct", "cpuset",   "memory",     "pids",    "blkio", "devices",
        "freezer", "net_cls", "net_prio", "perf_event", "hugetlb", "rdma",  "misc" };

static const char delegation_fix[]
    = "run hutch in a cgroup delegated to you: `systemd-run --user --scope -p Delegate=yes "
      "hutch run ...` where a systemd user manager runs (`loginctl enable-linger USER` starts "
      "one for ssh sessions), a Slurm job step with cgroup/v2, or a cgroup an administrator "
      "delegated with `chown USER DIR DIR/cgroup.procs DIR/cgroup.threads "
      "DIR/cgroup.subtree_control`";

void
hutch_cgroup_host_clear (struct hutch_cgroup_host *h)
{
  free (h->mount);
  free (h->mount_root);
  free (h->v1_controllers);
  free (h->own);
  free (h->own_rel);
  free (h->why_not);
  free (h->controllers);
  free (h->v2_controllers);
  memset (h, 0, sizeof *h);
}

static void
add_v1 (struct hutch_cgroup_host *h, const char *opts)
{
  _cleanup_free_ char *copy = hutch_xstrdup (opts);
  char *save = NULL, *o;
  size_t i;
  for (o = strtok_r (copy, ",", &save); o; o = strtok_r (NULL, ",", &save))
    for (i = 0; i < sizeof known_v1 / sizeof known_v1[0]; i++)
      if (strcmp (o, known_v1[i]) == 0)
        {
          char *n = hutch_xasprintf ("%s%s%s", h->v1_controllers ? h->v1_controllers : "",
                                     h->v1_controllers ? " " : "", o);
          free (h->v1_controllers);
          h->v1_controllers = n;
        }
}

/* The cgroup2 mount (its mount point and root) and the v1 hierarchies.  */
static int
read_mounts (struct hutch_cgroup_host *h, char **ret_root, hutch_error_t *err)
{
  _cleanup_free_ char *mi = NULL;
  char *line, *save = NULL;

  if (hutch_read_file ("/proc/self/mountinfo", 1 << 22, &mi, NULL, err) < 0)
    return -1;
  for (line = strtok_r (mi, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *sep = strstr (line, " - ");
      char root[4096], mp[4096], fstype[64], opts[1024];
      if (sep == NULL || sscanf (line, "%*s %*s %*s %4095s %4095s", root, mp) != 2
          || sscanf (sep + 3, "%63s %*s %1023s", fstype, opts) != 2)
        continue;
      if (strcmp (fstype, "cgroup2") == 0 && h->mount == NULL)
        {
          h->mount = hutch_xstrdup (mp);
          *ret_root = hutch_xstrdup (root);
        }
      else if (strcmp (fstype, "cgroup") == 0)
        {
          h->v1 = true;
          add_v1 (h, opts);
        }
    }
  return 0;
}

static bool
owned (const char *dir, const char *file, uid_t uid, bool may_miss)
{
  _cleanup_free_ char *p = file ? hutch_xasprintf ("%s/%s", dir, file) : hutch_xstrdup (dir);
  struct stat st;
  if (stat (p, &st) < 0)
    return may_miss && errno == ENOENT;
  return st.st_uid == uid && access (p, W_OK) == 0;
}

static char *
read_at (int dfd, const char *file)
{
  _cleanup_close_ int fd = openat (dfd, file, O_RDONLY | O_CLOEXEC);
  hutch_error_t e = HUTCH_ERROR_INIT;
  char *text = NULL;
  if (fd < 0)
    return NULL;
  if (hutch_read_fd (fd, 1 << 20, &text, NULL, &e) < 0)
    hutch_error_clear (&e);
  return text;
}

static int
write_at (int dfd, const char *file, const char *value)
{
  _cleanup_close_ int fd = openat (dfd, file, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || hutch_write_all (fd, value, strlen (value)) < 0)
    return -1;
  return 0;
}

/* FILE of the cgroup DIR, without its trailing newlines, or NULL.  */
static char *
read_knob (const char *dir, const char *file)
{
  _cleanup_free_ char *p = hutch_xasprintf ("%s/%s", dir, file);
  char *text = read_at (AT_FDCWD, p);
  size_t n = text ? strlen (text) : 0;
  while (n && text[n - 1] == '\n')
    text[--n] = '\0';
  return text;
}

/* Below a systemd user manager (.../user@UID.service/...) every cgroup
   belongs to the user, but only units with Delegate=yes are the user's to
   change.  Newer systemd marks those with the user.delegate attribute; the
   user manager of systemd 252 (Debian 12) marks nothing, so an unmarked
   cgroup there may be a delegated scope or a terminal's.  True when PATH
   is below user@UID.service and neither it nor an ancestor below that is
   marked: hutch then prefers a scope of its own, when it can ask for one.  */
static bool
systemd_managed (const char *path)
{
  _cleanup_free_ char *p = hutch_xstrdup (path);
  char *mgr = strstr (p, "/user@"), *end, *slash;
  char v[8];

  if (mgr == NULL || (end = strstr (mgr, ".service/")) == NULL)
    return false;
  end += strlen (".service");
  for (;;)
    {
      ssize_t n = getxattr (p, "user.delegate", v, sizeof v - 1);
      if (n > 0 && v[0] == '1')
        return false;
      slash = strrchr (p, '/');
      if (slash == NULL || slash <= end)
        return true;
      *slash = '\0';
    }
}

int
hutch_cgroup_probe (struct hutch_cgroup_host *h, hutch_error_t *err)
{
  _cleanup_free_ char *root = NULL, *self = NULL;
  char *p, *end;
  uid_t uid = geteuid ();

  memset (h, 0, sizeof *h);
  if (read_mounts (h, &root, err) < 0)
    return -1;
  if (h->mount == NULL)
    {
      h->why_not = hutch_xstrdup (h->v1 ? "this host mounts only cgroup v1, which cannot be "
                                          "delegated to unprivileged users"
                                        : "no cgroup filesystem is mounted");
      return 0;
    }
  h->mount_root = hutch_xstrdup (root);
  h->v2_controllers = read_knob (h->mount, "cgroup.controllers");
  if (h->v2_controllers == NULL)
    h->v2_controllers = hutch_xstrdup ("");
  if (hutch_read_file ("/proc/self/cgroup", 1 << 16, &self, NULL, err) < 0)
    return -1;
  p = strncmp (self, "0::", 3) == 0 ? self : strstr (self, "\n0::");
  if (p == NULL)
    {
      h->why_not = hutch_xstrdup ("/proc/self/cgroup names no cgroup v2 path");
      return 0;
    }
  p += *p == '\n' ? 4 : 3;
  end = strchr (p, '\n');
  if (end)
    *end = '\0';
  h->own_rel = hutch_xstrdup (p);
  /* The mount may show a subtree (its root in mountinfo): our path is
     relative to the cgroup namespace, like that root.  */
  if (strcmp (root, "/") != 0)
    {
      size_t n = strlen (root);
      if (strncmp (p, root, n) != 0 || (p[n] != '/' && p[n] != '\0'))
        {
          h->why_not
              = hutch_xasprintf ("our cgroup %s is outside what %s shows (%s)", p, h->mount, root);
          return 0;
        }
      p += n;
    }
  h->own = hutch_xasprintf ("%s%s", h->mount, strcmp (p, "/") == 0 ? "" : p);
  h->controllers = read_knob (h->own, "cgroup.controllers");
  if (h->controllers == NULL)
    h->controllers = hutch_xstrdup ("");
  /* cgroup.threads came with Linux 4.14.  */
  /* The real root has no cgroup.events; in a cgroup namespace "/" may be
     any cgroup.  */
  {
    _cleanup_free_ char *ev = hutch_xasprintf ("%s/cgroup.events", h->own);
    h->is_root = access (ev, F_OK) < 0;
  }
  h->delegated = owned (h->own, NULL, uid, false) && owned (h->own, "cgroup.procs", uid, false)
                 && owned (h->own, "cgroup.subtree_control", uid, false)
                 && owned (h->own, "cgroup.threads", uid, true);
  if (!h->delegated)
    h->why_not = hutch_xasprintf ("your cgroup %s is not delegated to you (it, its cgroup.procs "
                                  "or its cgroup.subtree_control belongs to another user)",
                                  h->own);
  else
    h->systemd_managed = systemd_managed (h->own);
  return 0;
}

static bool
word_in (const char *list, const char *word)
{
  size_t n = strlen (word);
  const char *p;
  for (p = list; p && (p = strstr (p, word)) != NULL; p += n)
    if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0' || p[n] == '\n'))
      return true;
  return false;
}

/* The controllers SPEC's limits need, without repetition.  A setting
   that was only implied needs none: where its controller is not enabled,
   its file is missing and it is skipped.  */
static char **
needed_controllers (const struct hutch_spec *spec)
{
  char **v = hutch_xmalloc0 (sizeof (char *));
  size_t i, k;
  for (i = 0; i < spec->n_resources; i++)
    {
      char *c = spec->resources[i].implied ? NULL
                                           : hutch_cgroup_key_controller (spec->resources[i].file);
      bool dup = false;
      if (c == NULL)
        continue;
      for (k = 0; v[k]; k++)
        dup = dup || strcmp (v[k], c) == 0;
      if (dup)
        free (c);
      else
        hutch_strv_push (&v, c);
    }
  return v;
}

static int
write_knob (const char *dir, const char *file, const char *value, hutch_error_t *err)
{
  _cleanup_free_ char *p = hutch_xasprintf ("%s/%s", dir, file);
  if (write_at (AT_FDCWD, p, value) < 0)
    return hutch_error_set (err, errno, "write `%s` to %s", value, p);
  return 0;
}

/* The leaves of launchers that were killed (SIGKILL leaves no time to
   move back): rmdir removes only empty ones, a live launcher's stays.  */
static void
remove_stale_leaves (const char *base)
{
  DIR *d = opendir (base);
  struct dirent *de;
  if (d == NULL)
    return;
  while ((de = readdir (d)) != NULL)
    if (hutch_str_has_prefix (de->d_name, "hutch-launcher-"))
      unlinkat (dirfd (d), de->d_name, AT_REMOVEDIR);
  closedir (d);
}

/* Move ourselves out of BASE into a leaf of our own, so that BASE may
   enable controllers for its children.  Only when we are alone in BASE.  */
static int
move_to_leaf (struct hutch_cgroup_run *run, hutch_error_t *err)
{
  _cleanup_free_ char *procs = read_knob (run->base, "cgroup.procs");
  char me[32];
  int tries;

  snprintf (me, sizeof me, "%ld", (long)getpid ());
  if (procs == NULL || strcmp (procs, me) != 0)
    return hutch_error_set (err, 0,
                            "cannot enable controllers in %s: it holds other processes than "
                            "hutch, and the kernel enables controllers only for cgroups without "
                            "processes (hutch does not move processes that are not its own); "
                            "fix: start hutch in a cgroup of its own, e.g. `systemd-run --user "
                            "--scope -p Delegate=yes hutch run ...`, or move the other processes "
                            "into a child cgroup",
                            run->base);
  remove_stale_leaves (run->base);
  run->leaf = hutch_xasprintf ("%s/hutch-launcher-%ld", run->base, (long)getpid ());
  /* Another hutch cleaning up stale leaves may remove ours between the
     mkdir and the move: try again.  */
  for (tries = 0; tries < 3; tries++)
    {
      if (mkdir (run->leaf, 0755) < 0 && errno != EEXIST)
        return hutch_error_set (err, errno, "create the cgroup %s", run->leaf);
      if (write_knob (run->leaf, "cgroup.procs", "0", err) == 0)
        return 0;
      if (err->errnum != -ENOENT && err->errnum != ENOENT)
        break;
      hutch_error_clear (err);
    }
  rmdir (run->leaf);
  free (run->leaf);
  run->leaf = NULL;
  return hutch_error_prefix (err, "move hutch into a cgroup of its own");
}

/* Controllers held by v1 are refused earlier (hutch_cgroup_v2_missing):
   what is left is a controller v2 has that was not passed down to us.  */
static char *
controller_fix (const char *c)
{
  return hutch_xasprintf ("fix: ask an administrator to delegate it (with systemd: a drop-in "
                          "/etc/systemd/system/user@.service.d/delegate.conf holding "
                          "`[Service]` and `Delegate=cpu cpuset io memory pids`), or run without "
                          "the limits that need %s",
                          c);
}

/* The controllers hutch run's limits use: --memory, --pids-limit,
   --cpus and --cpu-shares, --cpuset-cpus, --blkio-weight.  */
static const char *const run_controllers[] = { "memory", "pids", "cpu", "cpuset", "io", NULL };

char *
hutch_cgroup_v2_missing (const struct hutch_cgroup_host *h, const char *const *need)
{
  const char *const *want = need ? need : run_controllers;
  _cleanup_strv_ char **held = NULL;
  _cleanup_free_ char *list = NULL;
  size_t i;

  if (h->mount == NULL && !h->v1)
    return NULL; /* no cgroups at all: no boot option changes that */
  for (i = 0; want[i]; i++)
    {
      if (h->mount && h->v2_controllers && word_in (h->v2_controllers, want[i]))
        continue;
      /* v1 names the io controller blkio; a controller neither has is a
         question of delegation, or of the kernel */
      if (h->mount && !word_in (h->v1_controllers, strcmp (want[i], "io") == 0 ? "blkio" : want[i]))
        continue;
      hutch_strv_push (&held, hutch_xstrdup (want[i]));
    }
  if (held == NULL)
    return NULL;
  list = hutch_join_and (held);
  return hutch_xasprintf (
      "%s the %s controller%s that limits need: they must be in the unified cgroup v2 "
      "hierarchy, which no delegation can change (cgroup v1 cannot be delegated to "
      "unprivileged users); fix: an administrator boots the host with "
      "systemd.unified_cgroup_hierarchy=1 (cgroup v2 only, the default of current "
      "distributions), or run without limits",
      h->mount ? "this host mounts cgroups in hybrid mode, and cgroup v1 holds"
               : "this host mounts only cgroup v1, without",
      list, held[1] ? "s" : "");
}

/* The files of SPEC that need controller C, for messages.  */
static char *
files_needing (const struct hutch_spec *spec, const char *c)
{
  char *s = hutch_xstrdup ("");
  size_t i;
  for (i = 0; i < spec->n_resources; i++)
    {
      _cleanup_free_ char *k = hutch_cgroup_key_controller (spec->resources[i].file);
      if (k && strcmp (k, c) == 0 && !spec->resources[i].implied)
        {
          char *n = hutch_xasprintf ("%s%s%s", s, *s ? ", " : "", spec->resources[i].file);
          free (s);
          s = n;
        }
    }
  return s;
}

/* Make sure BASE's children get every controller in NEED.  */
static int
enable_controllers (const struct hutch_spec *spec, const struct hutch_cgroup_host *h,
                    struct hutch_cgroup_run *run, char **need, hutch_error_t *err)
{
  _cleanup_free_ char *active = read_knob (run->base, "cgroup.subtree_control");
  size_t i;
  bool missing = false;

  for (i = 0; need[i]; i++)
    {
      if (!word_in (h->controllers, need[i]))
        {
          _cleanup_free_ char *files = files_needing (spec, need[i]);
          _cleanup_free_ char *fix = controller_fix (need[i]);
          return hutch_error_set (err, 0,
                                  "the %s controller is not available in your cgroup %s (its "
                                  "cgroup.controllers lists: %s), so %s cannot be set; %s",
                                  need[i], run->base, *h->controllers ? h->controllers : "none",
                                  *files ? files : need[i], fix);
        }
      if (!word_in (active, need[i]))
        missing = true;
    }
  if (!missing)
    return 0;
  /* The root cgroup is exempt from the no-internal-process rule.  */
  if (!h->is_root && move_to_leaf (run, err) < 0)
    return -1;
  for (i = 0; need[i]; i++)
    {
      _cleanup_free_ char *w = NULL;
      if (word_in (active, need[i]))
        continue;
      w = hutch_xasprintf ("+%s", need[i]);
      if (write_knob (run->base, "cgroup.subtree_control", w, err) < 0)
        return hutch_error_prefix (err, "enable the %s controller", need[i]);
      hutch_strv_push (&run->enabled, hutch_xstrdup (need[i]));
    }
  return 0;
}

/* Why FILE is missing in the cgroup PATH, for a message: its controller
   is held by cgroup v1, or not enabled for PATH, or unknown to the
   kernel.  */
static char *
missing_file_why (const char *path, const char *file)
{
  _cleanup_free_ char *c = hutch_cgroup_key_controller (file);
  _cleanup_free_ char *have = read_knob (path, "cgroup.controllers");
  struct hutch_cgroup_host h = { 0 };
  hutch_error_t e = HUTCH_ERROR_INIT;
  char *why = NULL;

  if (c && hutch_cgroup_probe (&h, &e) == 0)
    {
      const char *need[] = { c, NULL };
      why = hutch_cgroup_v2_missing (&h, need);
    }
  hutch_error_clear (&e);
  hutch_cgroup_host_clear (&h);
  if (why)
    return why;
  if (c && have && !word_in (have, c))
    return hutch_xasprintf (
        "the %s controller is not enabled for the cgroup %s (its "
        "cgroup.controllers lists: %s): enable it in the cgroup.subtree_control "
        "of each cgroup above, or drop the setting",
        c, path, *have ? have : "none");
  if (strcmp (file, "memory.swap.max") == 0)
    return hutch_xasprintf ("the kernel has no cgroup file %s (in %s): swap accounting is off "
                            "(the kernel was booted without swapaccount, or has no swap support)",
                            file, path);
  return hutch_xasprintf ("the kernel has no cgroup file %s (in %s): it does not support this "
                          "setting",
                          file, path);
}

int
hutch_cgroup_write_resources (int fd, const char *path, const struct hutch_resource *res, size_t n,
                              hutch_error_t *err)
{
  size_t i;
  for (i = 0; i < n; i++)
    {
      const struct hutch_resource *r = &res[i];
      _cleanup_close_ int kfd = openat (fd, r->file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
      if (kfd < 0 && errno == ENOENT && r->implied)
        continue;
      if (kfd < 0)
        {
          if (errno == ENOENT)
            {
              _cleanup_free_ char *why = missing_file_why (path, r->file);
              return hutch_error_set (err, 0, "cannot set %s: %s", r->file, why);
            }
          return hutch_error_set (err, errno, "open %s/%s", path, r->file);
        }
      if (hutch_write_all (kfd, r->value, strlen (r->value)) < 0)
        return hutch_error_set (err, errno, "the kernel refused %s = `%s`", r->file, r->value);
    }
  return 0;
}

static int
write_resources (const struct hutch_spec *spec, int fd, const char *path, hutch_error_t *err)
{
  return hutch_cgroup_write_resources (fd, path, spec->resources, spec->n_resources, err);
}

static void
sleep_ms (long ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}

static int
enter_scope (const struct hutch_cgroup_host *h, struct hutch_cgroup_host *ret, hutch_error_t *err)
{
  _cleanup_free_ char *unit = hutch_xasprintf ("hutch-%ld.scope", (long)getpid ());
  (void)h;
  /* systemd, not hutch, moves the process (into a cgroup the user may not
     write to yet); the unit is ours and goes away when we do.  */
  if (hutch_sdscope_enter (unit, err) < 0)
    return -1;
  if (hutch_cgroup_probe (ret, err) < 0)
    return -1;
  if (!ret->delegated)
    return hutch_error_set (err, 0, "systemd made the scope %s, but %s", unit, ret->why_not);
  /* Only the scope we asked for is trusted (and marked): an answer of
     "done" that left us elsewhere came from something else.  */
  {
    _cleanup_free_ char *tail = hutch_xasprintf ("/%s", unit);
    size_t n = strlen (ret->own_rel), t = strlen (tail);
    if (n < t || strcmp (ret->own_rel + n - t, tail) != 0)
      return hutch_error_set (err, 0,
                              "the user's systemd manager said %s started, but hutch is "
                              "in %s",
                              unit, ret->own_rel);
  }
  /* Asked for with Delegate=yes: ours to change.  Marked, as newer
     systemd marks it, so that a hutch started inside (nested) sees it.  */
  ret->systemd_managed = false;
  (void)!setxattr (ret->own, "user.delegate", "1", 1, 0); /* best effort (Linux 5.7+) */
  return 0;
}

/* Where hutch is, and whether that is delegated; where it is not (or
   systemd manages it, so maybe not), a transient systemd scope that is.
   systemd moves us, so once it answered we are in the scope whatever
   follows.  *RET_SCOPED: H is such a scope.  */
static void
find_delegated (struct hutch_cgroup_host *h, bool *ret_scoped)
{
  struct hutch_cgroup_host s = { 0 }, again = { 0 };
  hutch_error_t e = HUTCH_ERROR_INIT;

  *ret_scoped = false;
  if (!(h->own && (!h->delegated || h->systemd_managed) && hutch_sdscope_available ()))
    return;
  if (enter_scope (h, &s, &e) == 0)
    {
      hutch_cgroup_host_clear (h);
      *h = s;
      *ret_scoped = true;
      return;
    }
  if (!h->delegated)
    {
      char *w
          = hutch_xasprintf ("%s; a systemd scope was not possible either: %s", h->why_not, e.msg);
      free (h->why_not);
      h->why_not = w;
    }
  hutch_cgroup_host_clear (&s);
  hutch_error_clear (&e);
  /* Where are we now?  (systemd may have moved us before it failed.)  */
  if (hutch_cgroup_probe (&again, &e) == 0 && again.own && h->own
      && strcmp (again.own, h->own) != 0)
    {
      hutch_cgroup_host_clear (h);
      *h = again;
    }
  else
    hutch_cgroup_host_clear (&again);
  hutch_error_clear (&e);
}

/* Enable NEED in RUN->base.  Where our cgroup is ours but shared (a
   terminal's scope under the user's systemd holds the shell too), a scope
   of our own, and the controllers there.  */
static int
enable_or_scope (const struct hutch_spec *spec, struct hutch_cgroup_host *h,
                 struct hutch_cgroup_run *run, char **need, bool scoped, hutch_error_t *err)
{
  struct hutch_cgroup_host s = { 0 };
  hutch_error_t e = HUTCH_ERROR_INIT;

  if (need[0] == NULL || enable_controllers (spec, h, run, need, err) == 0)
    return 0;
  if (scoped || run->leaf || !hutch_sdscope_available ())
    return -1;
  if (enter_scope (h, &s, &e) < 0)
    {
      hutch_error_append (err, "; a systemd scope of its own was not possible either: %s", e.msg);
      hutch_error_clear (&e);
      hutch_cgroup_host_clear (&s);
      return -1;
    }
  hutch_error_clear (err);
  hutch_cgroup_host_clear (h);
  *h = s;
  free (run->base);
  run->base = hutch_xstrdup (h->own);
  return enable_controllers (spec, h, run, need, err);
}

/* BASE/hutch-NAME (or a random name), with SPEC's limits written; its
   path and an fd of it into RUN.  */
static int
make_container_cgroup (const struct hutch_spec *spec, struct hutch_cgroup_run *run,
                       hutch_error_t *err)
{
  _cleanup_free_ char *path = NULL;
  char id[17];
  int fd;

  if (spec->extra.cgroup_name)
    path = hutch_xasprintf ("%s/hutch-%s", run->base, spec->extra.cgroup_name);
  else
    {
      if (hutch_random_hex (id, 16) < 0)
        return hutch_error_set (err, errno, "getrandom");
      path = hutch_xasprintf ("%s/hutch-%s", run->base, id);
    }
  if (mkdir (path, 0755) < 0)
    return hutch_error_set (err, errno, "create the container's cgroup %s", path);
  fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    {
      hutch_error_set (err, errno, "open %s", path);
      rmdir (path);
      return -1;
    }
  if (write_resources (spec, fd, path, err) < 0)
    {
      close (fd);
      rmdir (path);
      return -1;
    }
  run->path = HUTCH_STEAL_PTR (path);
  run->fd = fd;
  return 0;
}

/* A launcher's leaf (hutch-launcher-PID, where the launcher of run -d
   made room for the monitor it forked: hutch_cgroup_launcher_leaf) is not
   a base: its parent is, with the controllers enabled.  */
static void
skip_launcher_leaf (struct hutch_cgroup_host *h)
{
  if (h->own && h->delegated)
    {
      const char *name = strrchr (h->own, '/');
      if (name && hutch_str_has_prefix (name + 1, "hutch-launcher-"))
        {
          char *parent = hutch_xstrndup (h->own, (size_t)(name - h->own));
          free (h->own);
          h->own = parent;
        }
    }
}

int
hutch_cgroup_setup (const struct hutch_spec *spec, struct hutch_cgroup_run *run, char **ret_note,
                    hutch_error_t *err)
{
  struct hutch_cgroup_host h = { 0 };
  _cleanup_strv_ char **need = NULL;
  bool limits = false, scoped;
  size_t i;
  int ret = -1;

  *run = (struct hutch_cgroup_run)HUTCH_CGROUP_RUN_INIT;
  for (i = 0; i < spec->n_resources; i++)
    limits = limits || !spec->resources[i].implied;
  if (spec->extra.cgroups_disabled)
    {
      if (limits)
        return hutch_error_set (err, 0,
                                "--cgroups=disabled leaves the container without a cgroup of "
                                "its own, so its limits (%s) cannot be applied; drop one or "
                                "the other",
                                spec->resources[0].file);
      return 0;
    }
  if (hutch_cgroup_probe (&h, err) < 0)
    return -1;
  need = needed_controllers (spec);
  /* Before delegation, which cannot help here (and before asking systemd
     for a scope, in vain).  */
  if (limits)
    {
      _cleanup_free_ char *why = hutch_cgroup_v2_missing (&h, (const char *const *)need);
      if (why)
        {
          hutch_error_set (err, 0, "cannot apply the limits (%s): %s", spec->resources[0].file,
                           why);
          goto out;
        }
    }
  find_delegated (&h, &scoped);
  skip_launcher_leaf (&h);
  if (h.own == NULL || !h.delegated)
    {
      if (limits)
        {
          hutch_error_set (err, 0, "cannot apply the limits (%s): %s; fix: %s",
                           spec->resources[0].file, h.why_not, delegation_fix);
          goto out;
        }
      if (ret_note)
        *ret_note = HUTCH_STEAL_PTR (h.why_not);
      ret = 0;
      goto out;
    }
  run->base = hutch_xstrdup (h.own);
  if (enable_or_scope (spec, &h, run, need, scoped, err) < 0
      || make_container_cgroup (spec, run, err) < 0)
    goto out;
  ret = 0;
out:
  if (ret < 0)
    hutch_cgroup_teardown (run, NULL);
  hutch_cgroup_host_clear (&h);
  return ret;
}

/* ---- a cgroup where an OCI runtime was told to put it --------------- */

void
hutch_cgroup_request_clear (struct hutch_cgroup_request *r)
{
  free (r->path);
  free (r->slice);
  free (r->unit);
  memset (r, 0, sizeof *r);
}

/* Why a cgroup could not be made or changed, for the one who asked for
   PATH: ERRNUM, and what to do about it.  */
static const char *
path_fix (int errnum, bool rootless)
{
  if (errnum == EACCES || errnum == EPERM)
    return rootless ? "rootless, cgroups can be made and changed only inside a cgroup delegated "
                      "to you: choose a linux.cgroupsPath there, or a relative one (hutch puts "
                      "it in your delegated cgroup), or leave it empty"
                    : "that cgroup is not writable";
  if (errnum == EBUSY)
    return "it holds processes, and the kernel enables controllers only for the children of "
           "cgroups without processes: choose a linux.cgroupsPath below one that has none";
  return "choose another linux.cgroupsPath";
}

/* Make the cgroups between START (which exists) and PATH, PATH itself not,
   and enable NEED for the children of each from START down.  */
static int
make_parents (const char *start, const char *path, char **need, bool rootless, hutch_error_t *err)
{
  _cleanup_free_ char *dir = hutch_xstrdup (path);
  char *p = dir + strlen (start), *slash;
  size_t i;

  for (;;)
    {
      _cleanup_free_ char *have = NULL, *active = NULL;
      /* DIR up to P is a cgroup that exists: enable what its children
         need, then make the next one down (not PATH itself).  */
      char saved = *p;
      *p = '\0';
      have = read_knob (dir, "cgroup.controllers");
      active = read_knob (dir, "cgroup.subtree_control");
      for (i = 0; need[i]; i++)
        {
          _cleanup_free_ char *w = NULL;
          if (active && word_in (active, need[i]))
            continue;
          if (have == NULL || !word_in (have, need[i]))
            {
              _cleanup_free_ char *fix = controller_fix (need[i]);
              return hutch_error_set (err, 0,
                                      "the %s controller is not available in the cgroup %s (its "
                                      "cgroup.controllers lists: %s), so the container's cgroup "
                                      "%s cannot have it; %s",
                                      need[i], dir, have && *have ? have : "none", path,
                                      rootless ? fix : "enable it in the cgroups above");
            }
          w = hutch_xasprintf ("+%s", need[i]);
          if (write_knob (dir, "cgroup.subtree_control", w, err) < 0)
            {
              int e = err->errnum;
              hutch_error_prefix (err, "enable the %s controller for the container's cgroup %s",
                                  need[i], path);
              return hutch_error_append (err, "%s", path_fix (e, rootless));
            }
        }
      *p = saved;
      if (*p == '\0')
        return 0;
      slash = strchr (p + 1, '/');
      if (slash == NULL)
        return 0; /* the next one is PATH */
      *slash = '\0';
      if (mkdir (dir, 0755) < 0 && errno != EEXIST)
        {
          int e = errno;
          hutch_error_set (err, e, "create the cgroup %s (above the container's)", dir);
          return hutch_error_append (err, "%s", path_fix (e, rootless));
        }
      *slash = '/';
      p = slash;
    }
}

/* Make the container's cgroup PATH, or take it when it exists and holds
   no process (an engine may make it first).  */
static int
make_leaf (const char *path, bool rootless, hutch_error_t *err)
{
  struct stat st;
  if (mkdir (path, 0755) == 0)
    return 0;
  if (errno != EEXIST)
    {
      int e = errno;
      hutch_error_set (err, e, "create the container's cgroup %s", path);
      return hutch_error_append (err, "%s", path_fix (e, rootless));
    }
  if (lstat (path, &st) < 0 || !S_ISDIR (st.st_mode))
    return hutch_error_set (
        err, 0, "%s exists and is not a cgroup; choose another linux.cgroupsPath", path);
  {
    _cleanup_free_ char *ev = read_knob (path, "cgroup.events");
    if (ev == NULL || strstr (ev, "populated 1"))
      return hutch_error_set (err, 0,
                              "the cgroup %s exists and %s: another container's?  Choose "
                              "another linux.cgroupsPath",
                              path, ev ? "has processes in it" : "is not a cgroup");
  }
  return 0;
}

/* Open PATH and write SPEC's settings there (but pids.max when
   SKIP_PIDS); fd and path into RUN.  */
static int
take_cgroup (const struct hutch_spec *spec, const char *path, bool skip_pids,
             struct hutch_cgroup_run *run, hutch_error_t *err)
{
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  size_t i;

  if (fd < 0)
    return hutch_error_set (err, errno, "open the container's cgroup %s", path);
  run->fd = fd;
  run->path = hutch_xstrdup (path);
  for (i = 0; i < spec->n_resources; i++)
    {
      const struct hutch_resource *r = &spec->resources[i];
      if (skip_pids && strcmp (r->file, "pids.max") == 0)
        {
          free (run->pending_pids);
          run->pending_pids = hutch_xstrdup (r->value);
          continue;
        }
      if (hutch_cgroup_write_resources (fd, path, r, 1, err) < 0)
        return -1;
    }
  return 0;
}

/* Refuse limits that cgroup v2 cannot have on this host (a hybrid host's
   v1 holds their controllers): no placement of the cgroup helps.  */
static int
refuse_v1_limits (const struct hutch_spec *spec, const struct hutch_cgroup_host *h, char **need,
                  bool limits, hutch_error_t *err)
{
  _cleanup_free_ char *why = limits ? hutch_cgroup_v2_missing (h, (const char *const *)need) : NULL;
  if (why)
    return hutch_error_set (err, 0, "cannot apply the limits (%s): %s", spec->resources[0].file,
                            why);
  if (h->mount == NULL)
    return hutch_error_set (err, 0,
                            "the container's cgroup cannot be made: %s; use the cgroup manager "
                            "`disabled` (no cgroup of its own)",
                            h->why_not);
  return 0;
}

/* HUTCH_CGROUP_CGROUPFS: the cgroup at REQ's path.  */
static int
make_at_path (const struct hutch_spec *spec, const struct hutch_cgroup_request *req,
              struct hutch_cgroup_run *run, bool limits, hutch_error_t *err)
{
  struct hutch_cgroup_host h = { 0 };
  _cleanup_strv_ char **need = needed_controllers (spec);
  _cleanup_free_ char *path = NULL;
  const char *start;
  bool scoped;
  int ret = -1;

  if (hutch_cgroup_probe (&h, err) < 0)
    return -1;
  if (refuse_v1_limits (spec, &h, need, limits, err) < 0)
    goto out;
  start = h.mount;
  if (!req->absolute && req->rootless)
    {
      /* Rootless, a relative path goes where the user may make cgroups:
         the delegated cgroup hutch run would use (or a scope it asks
         the user's systemd for).  */
      find_delegated (&h, &scoped);
      skip_launcher_leaf (&h);
      if (h.own == NULL || !h.delegated)
        {
          hutch_error_set (err, 0,
                           "linux.cgroupsPath `%s` is relative, which rootless is below the "
                           "cgroup delegated to you, but %s; fix: %s",
                           req->path, h.why_not, delegation_fix);
          goto out;
        }
      run->base = hutch_xstrdup (h.own);
      if (enable_or_scope (spec, &h, run, need, scoped, err) < 0)
        goto out;
      start = run->base;
    }
  if (hutch_cgroup_resolve (req, h.mount, h.mount_root, h.own_rel, run->base, &path, err) < 0
      || make_parents (start, path, need, req->rootless, err) < 0
      || make_leaf (path, req->rootless, err) < 0)
    goto out;
  if (take_cgroup (spec, path, false, run, err) < 0)
    {
      hutch_error_prefix (err, "the container's cgroup %s", path);
      goto out;
    }
  ret = 0;
out:
  hutch_cgroup_host_clear (&h);
  return ret;
}

/* A process that only holds a systemd scope until the container's first
   process is in it (a scope cannot be made empty, and systemd stops one
   that becomes empty): it waits until release_holder kills it, or until
   this process ends.  Not a pipe's end to wait for: A and B, forked
   later, would hold its write end too.  */
static pid_t
start_holder (hutch_error_t *err)
{
  pid_t parent = getpid (), pid = fork ();

  if (pid < 0)
    return hutch_error_set (err, errno, "fork");
  if (pid == 0)
    {
      int null = open ("/dev/null", O_RDWR | O_CLOEXEC), keep = -1;
      /* Nothing of the caller's is held: not its stdout (an engine waits
         for it to close), not its locks.  systemd's stop of the scope
         (SIGTERM) ends it, whatever handlers this process had.  */
      if (null >= 0)
        {
          dup2 (null, 0);
          dup2 (null, 1);
          dup2 (null, 2);
        }
      hutch_close_all_but (&keep, 1);
      hutch_signals_default ();
      prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
      if (getppid () != parent)
        _exit (0);
      for (;;)
        pause ();
    }
  return pid;
}

static void
release_holder (struct hutch_cgroup_run *run)
{
  if (run->holder > 0)
    {
      kill (run->holder, SIGKILL);
      while (waitpid (run->holder, NULL, 0) < 0 && errno == EINTR)
        ;
    }
  run->holder = 0;
}

/* The host path of process PID's cgroup, as H's mount shows it.  */
static char *
cgroup_of_pid (const struct hutch_cgroup_host *h, pid_t pid)
{
  _cleanup_free_ char *file = hutch_xasprintf ("/proc/%ld/cgroup", (long)pid), *text = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;
  char *p, *end;
  size_t n = strcmp (h->mount_root, "/") == 0 ? 0 : strlen (h->mount_root);

  if (hutch_read_file (file, 1 << 16, &text, NULL, &e) < 0)
    {
      hutch_error_clear (&e);
      return NULL;
    }
  p = strncmp (text, "0::", 3) == 0 ? text + 3 : strstr (text, "\n0::");
  if (p == NULL)
    return NULL;
  if (*p == '\n')
    p += 4;
  if ((end = strchr (p, '\n')) != NULL)
    *end = '\0';
  if (strncmp (p, h->mount_root, n) != 0 || (p[n] != '/' && p[n] != '\0'))
    return NULL;
  return hutch_xasprintf ("%s%s", h->mount, p + n);
}

/* HUTCH_CGROUP_SYSTEMD: a transient scope, which systemd makes with a
   process in it: the placeholder's (start_holder).  The container's first
   process is then born in it (clone3), and hutch_cgroup_settle lets the
   placeholder go: pids.max, which it would count against, is written
   then.  */
static int
make_scope (const struct hutch_spec *spec, const struct hutch_cgroup_request *req,
            struct hutch_cgroup_run *run, bool limits, hutch_error_t *err)
{
  struct hutch_cgroup_host h = { 0 };
  _cleanup_strv_ char **need = needed_controllers (spec);
  _cleanup_free_ char *path = NULL, *have = NULL;
  struct hutch_resource *now = hutch_xmalloc0 ((spec->n_resources + 1) * sizeof *now);
  size_t i, n = 0;
  int ret = -1;

  if (hutch_cgroup_probe (&h, err) < 0 || refuse_v1_limits (spec, &h, need, limits, err) < 0)
    goto out;
  for (i = 0; i < spec->n_resources; i++)
    if (strcmp (spec->resources[i].file, "pids.max") != 0)
      now[n++] = spec->resources[i];
  run->unit = hutch_xstrdup (req->unit);
  run->system_manager = !req->rootless;
  run->holder = start_holder (err);
  if (run->holder < 0)
    {
      run->holder = 0;
      goto out;
    }
  if (hutch_sdscope_start (run->system_manager, req->unit, req->slice, run->holder, now, n, err)
      < 0)
    goto out;
  /* Only the scope asked for is taken: an answer of "done" that left the
     placeholder elsewhere came from something else.  */
  path = cgroup_of_pid (&h, run->holder);
  {
    const char *name = path ? strrchr (path, '/') : NULL;
    if (name == NULL || strcmp (name + 1, req->unit) != 0)
      {
        hutch_error_set (err, 0, "systemd said %s started, but its process is in %s", req->unit,
                         path ? path : "no cgroup hutch can see");
        goto out;
      }
  }
  /* Delegate=yes gives a scope the controllers its slice has.  */
  have = read_knob (path, "cgroup.controllers");
  for (i = 0; need[i]; i++)
    if (have == NULL || !word_in (have, need[i]))
      {
        _cleanup_free_ char *fix = controller_fix (need[i]);
        hutch_error_set (err, 0,
                         "systemd's scope %s has no %s controller (its cgroup.controllers lists: "
                         "%s), so the container's limits cannot be set; %s",
                         path, need[i], have && *have ? have : "none", fix);
        goto out;
      }
  if (take_cgroup (spec, path, true, run, err) < 0)
    {
      hutch_error_prefix (err, "the container's cgroup %s", path);
      goto out;
    }
  ret = 0;
out:
  free (now);
  hutch_cgroup_host_clear (&h);
  return ret;
}

int
hutch_cgroup_setup_request (const struct hutch_spec *spec, const struct hutch_cgroup_request *req,
                            struct hutch_cgroup_run *run, char **ret_note, hutch_error_t *err)
{
  bool limits = false;
  size_t i;
  int r;

  if (req == NULL || req->manager == HUTCH_CGROUP_AUTO)
    return hutch_cgroup_setup (spec, run, ret_note, err);
  *run = (struct hutch_cgroup_run)HUTCH_CGROUP_RUN_INIT;
  for (i = 0; i < spec->n_resources; i++)
    limits = limits || !spec->resources[i].implied;
  if (req->manager == HUTCH_CGROUP_DISABLED || spec->extra.cgroups_disabled)
    {
      if (limits)
        return hutch_error_set (err, 0,
                                "the cgroup manager `disabled` leaves the container without a "
                                "cgroup of its own, so its limits (%s) cannot be applied; drop "
                                "linux.resources or choose another cgroup manager",
                                spec->resources[0].file);
      return 0;
    }
  r = req->manager == HUTCH_CGROUP_SYSTEMD ? make_scope (spec, req, run, limits, err)
                                           : make_at_path (spec, req, run, limits, err);
  if (r < 0)
    hutch_cgroup_teardown (run, NULL);
  return r < 0 ? -1 : 0;
}

int
hutch_cgroup_settle (struct hutch_cgroup_run *run, hutch_error_t *err)
{
  _cleanup_free_ char *pids = NULL;

  if (run->holder <= 0)
    return 0;
  release_holder (run);
  pids = HUTCH_STEAL_PTR (run->pending_pids);
  if (pids && run->path)
    {
      struct hutch_resource r = { (char *)"pids.max", pids, false };
      if (hutch_sdscope_set_limits (run->system_manager, run->unit, &r, 1, err) < 0
          || hutch_cgroup_write_resources (run->fd, run->path, &r, 1, err) < 0)
        return -1;
    }
  return 0;
}

int
hutch_cgroup_launcher_leaf (const struct hutch_spec *spec)
{
  struct hutch_cgroup_host h = { 0 };
  struct hutch_cgroup_run run = HUTCH_CGROUP_RUN_INIT;
  hutch_error_t e = HUTCH_ERROR_INIT;
  _cleanup_strv_ char **need = NULL;
  bool scoped, limits = false;
  size_t i;
  int r = 0;

  for (i = 0; i < spec->n_resources; i++)
    limits = limits || !spec->resources[i].implied;
  if (!limits || spec->extra.cgroups_disabled || hutch_cgroup_probe (&h, &e) < 0)
    goto out;
  need = needed_controllers (spec);
  find_delegated (&h, &scoped);
  if (need[0] == NULL || h.own == NULL || !h.delegated)
    goto out;
  {
    char *why = hutch_cgroup_v2_missing (&h, (const char *const *)need);
    free (why);
    if (why)
      goto out;
  }
  run.base = hutch_xstrdup (h.own);
  /* Moved into a leaf and the controllers enabled: what this process
     forks from now on is born there, and finds them enabled.  A failure
     is the container's setup's to report.  */
  r = enable_controllers (spec, &h, &run, need, &e) == 0 ? 1 : 0;
out:
  hutch_error_clear (&e);
  free (run.base);
  free (run.leaf);
  hutch_strv_free (run.enabled);
  hutch_cgroup_host_clear (&h);
  return r;
}

int
hutch_cgroup_join (int cgroupfd, hutch_error_t *err)
{
  int fd = openat (cgroupfd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
  if (fd < 0 || hutch_write_all (fd, "0", 1) < 0)
    {
      int e = errno;
      if (fd >= 0)
        close (fd);
      return hutch_error_set (err, e, "move the container's process into its cgroup");
    }
  close (fd);
  return 0;
}

/* Call FN on each child cgroup of DFD.  */
static void
each_child (int dfd, void (*fn) (int dfd, const char *name))
{
  int fd = openat (dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
  struct dirent *de;

  if (d == NULL)
    {
      if (fd >= 0)
        close (fd);
      return;
    }
  while ((de = readdir (d)) != NULL)
    if (de->d_type == DT_DIR && strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      fn (dirfd (d), de->d_name);
  closedir (d);
}

/* Kill every process in DFD and below, for kernels without cgroup.kill
   (before 5.14).  */
static void kill_tree (int dfd);

static void
kill_child (int dfd, const char *name)
{
  _cleanup_close_ int fd = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0)
    kill_tree (fd);
}

static void
kill_tree (int dfd)
{
  _cleanup_free_ char *procs = read_at (dfd, "cgroup.procs");
  char *p, *save = NULL;

  for (p = procs ? strtok_r (procs, "\n", &save) : NULL; p; p = strtok_r (NULL, "\n", &save))
    {
      long pid = strtol (p, NULL, 10);
      if (pid > 0)
        kill ((pid_t)pid, SIGKILL);
    }
  each_child (dfd, kill_child);
}

static bool
populated (int dfd)
{
  _cleanup_free_ char *ev = read_at (dfd, "cgroup.events");
  return ev && strstr (ev, "populated 1");
}

/* Wait (at most MS milliseconds) until nothing runs in DFD's cgroup: the
   kernel signals each change of cgroup.events to poll() as POLLPRI, so the
   wait ends as soon as the last process has left.  */
static void
wait_empty (int dfd, int ms)
{
  _cleanup_close_ int fd = openat (dfd, "cgroup.events", O_RDONLY | O_CLOEXEC);
  struct timespec t0, t;

  if (fd < 0)
    return;
  clock_gettime (CLOCK_MONOTONIC, &t0);
  for (;;)
    {
      char buf[256];
      ssize_t n = pread (fd, buf, sizeof buf - 1, 0);
      struct pollfd pfd = { fd, POLLPRI, 0 };
      long left;
      if (n <= 0)
        return;
      buf[n] = '\0';
      if (strstr (buf, "populated 1") == NULL)
        return;
      clock_gettime (CLOCK_MONOTONIC, &t);
      left = ms - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
      if (left <= 0)
        return;
      if (poll (&pfd, 1, (int)left) < 0 && errno != EINTR)
        return;
    }
}

/* rmdir NAME in DFD and the cgroups the container made below it.  */
/* A container with a writable cgroup mount (config.json) can make a
   deep tree of cgroups; removal goes this deep and no deeper, with two
   fds a level.  */
#define MAX_REMOVE_DEPTH 32

static void
remove_child_at_depth (int dfd, const char *name, int depth)
{
  _cleanup_close_ int fd = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d;
  struct dirent *de;

  if (fd >= 0 && depth < MAX_REMOVE_DEPTH
      && (d = fdopendir (openat (fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC))) != NULL)
    {
      while ((de = readdir (d)) != NULL)
        if (de->d_type == DT_DIR && strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
          remove_child_at_depth (dirfd (d), de->d_name, depth + 1);
      closedir (d);
    }
  unlinkat (dfd, name, AT_REMOVEDIR);
}

static void
remove_child (int dfd, const char *name)
{
  int k;
  remove_child_at_depth (dfd, name, 0);
  /* The last process may leave a moment after cgroup.events said so.  */
  for (k = 0; k < 100 && unlinkat (dfd, name, AT_REMOVEDIR) < 0 && errno == EBUSY; k++)
    sleep_ms (5);
}

void
hutch_cgroup_remove_at (int parentfd, const char *name)
{
  _cleanup_close_ int fd = openat (parentfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int k;

  if (fd < 0)
    return;
  /* cgroup.kill (Linux 5.14) kills everything below at once, also what
     forks meanwhile; the loop is for older kernels.  */
  if (populated (fd) && write_at (fd, "cgroup.kill", "1") < 0)
    {
      /* Frozen first (Linux 5.2): a frozen process cannot exit, so the
         pids read from cgroup.procs stay theirs until SIGKILL, which a
         frozen process still takes.  */
      write_at (fd, "cgroup.freeze", "1");
      for (k = 0; k < 50 && populated (fd); k++)
        {
          kill_tree (fd);
          sleep_ms (10);
        }
    }
  wait_empty (fd, 5000);
  remove_child (parentfd, name);
}

static uint64_t
oom_kills (const char *path)
{
  _cleanup_free_ char *ev = read_knob (path, "memory.events");
  const char *p = ev ? strstr (ev, "oom_kill ") : NULL;
  return p ? strtoull (p + 9, NULL, 10) : 0;
}

uint64_t
hutch_cgroup_teardown (struct hutch_cgroup_run *run, char **ret_warning)
{
  uint64_t ooms = 0;
  size_t i;

  release_holder (run);
  if (run->fd >= 0)
    {
      close (run->fd);
      run->fd = -1;
    }
  if (run->path)
    {
      ooms = oom_kills (run->path);
      hutch_cgroup_remove_at (AT_FDCWD, run->path);
      if (ret_warning && access (run->path, F_OK) == 0)
        *ret_warning = hutch_xasprintf (
            "the container's cgroup %s could not be removed (the container left cgroups in it "
            "too deep to remove, or processes that would not die); remove it with `find %s "
            "-depth -type d -exec rmdir {} +`",
            run->path, run->path);
      free (run->path);
      run->path = NULL;
    }
  if (run->leaf)
    {
      hutch_error_t e = HUTCH_ERROR_INIT;
      /* Leave the user's cgroup as we found it: controllers off again, and
         hutch back where it was.  Best effort: systemd removes a scope
         with what it holds anyway.  */
      for (i = 0; run->enabled && run->enabled[i]; i++)
        {
          _cleanup_free_ char *w = hutch_xasprintf ("-%s", run->enabled[i]);
          if (write_knob (run->base, "cgroup.subtree_control", w, &e) < 0)
            hutch_error_clear (&e);
        }
      if (write_knob (run->base, "cgroup.procs", "0", &e) < 0)
        hutch_error_clear (&e);
      else
        rmdir (run->leaf);
    }
  free (run->base);
  free (run->leaf);
  hutch_strv_free (run->enabled);
  free (run->unit);
  free (run->pending_pids);
  *run = (struct hutch_cgroup_run)HUTCH_CGROUP_RUN_INIT;
  return ooms;
}
