/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "front/info.h"
#include "runtime/cgroup.h"
#include "runtime/sdscope.h"
#include "runtime/container.h"
#include "image/driver.h"
#include "runtime/idmap.h"
#include "image/store.h"
#include "image/image.h"
#include "base/syscalls.h"
#include "base/paths.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static void
add (struct hutch_info *info, const char *key, char *value)
{
  info->items = hutch_xrealloc (info->items, (info->n_items + 1) * sizeof *info->items);
  info->items[info->n_items].key = hutch_xstrdup (key);
  info->items[info->n_items].value = value;
  info->n_items++;
}

/* KEY: the directory PATH (taken), and "KEY file system": what it is on
   (or would be made on), so that a store or a runtime directory on a
   network file system or in memory shows where it lives.  */
static void
add_dir (struct hutch_info *info, const char *key, char *path)
{
  _cleanup_free_ char *fskey = hutch_xasprintf ("%s file system", key);
  char *fs = hutch_store_filesystem_name (path);

  add (info, key, path);
  add (info, fskey, fs ? fs : hutch_xstrdup ("unknown"));
}

/* Problems read "CAUSE; fix: HOW".  Library errors already say
   "CAUSE; HOW": label the fix.  BLOCKS: a run fails because of it, so
   containers cannot run.  */
static void
problem (struct hutch_info *info, char *text, bool blocks)
{
  char *semi = strstr (text, "; ");
  if (semi && strstr (text, "fix:") == NULL)
    {
      char *labelled = hutch_xasprintf ("%.*s; fix: %s", (int)(semi - text), text, semi + 2);
      free (text);
      text = labelled;
    }
  info->problems = hutch_xrealloc (info->problems, (info->n_problems + 1) * sizeof *info->problems);
  info->problems[info->n_problems].text = text;
  info->problems[info->n_problems].blocks = blocks;
  info->n_problems++;
  if (blocks)
    info->can_run = false;
}

static char *
read_knob (const char *path)
{
  _cleanup_free_ char *text = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;
  size_t n;
  if (hutch_read_file (path, 4096, &text, NULL, &e) < 0)
    {
      hutch_error_clear (&e);
      return NULL;
    }
  n = strlen (text);
  while (n && text[n - 1] == '\n')
    text[--n] = '\0';
  return HUTCH_STEAL_PTR (text);
}

/* Really try: clone a child into a new user namespace.  */
static int
probe_userns (void)
{
  pid_t p = (pid_t)syscall (SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, NULL, NULL, 0);
  int st;
  if (p < 0)
    return -errno;
  if (p == 0)
    _exit (0);
  while (waitpid (p, &st, 0) < 0 && errno == EINTR)
    ;
  return 0;
}

static void
check_userns (struct hutch_info *info)
{
  _cleanup_free_ char *max = read_knob ("/proc/sys/user/max_user_namespaces");
  int r = probe_userns ();

  add (info, "user namespaces",
       hutch_xasprintf ("%s (user.max_user_namespaces = %s)", r == 0 ? "yes" : "no",
                        max ? max : "?"));
  if (r < 0)
    {
      hutch_error_t e = HUTCH_ERROR_INIT;
      hutch_userns_diagnose ("/proc/sys", -r, &e);
      problem (info, HUTCH_STEAL_PTR (e.msg), true);
    }
}

/* The user's ranges, as a fact: "100000-165535 (65536 ids), ...".  */
static void
list_ranges (struct hutch_info *info, bool gid, const char *name, uid_t uid)
{
  struct hutch_subid_range *r = NULL;
  size_t n = 0, i;
  hutch_error_t e = HUTCH_ERROR_INIT;
  char *text = hutch_xstrdup ("");

  /* A failed lookup is check_ids's problem: the run's id plan fails.  */
  if (hutch_subid_lookup (gid, name, uid, &r, &n, &e) < 0)
    {
      add (info, gid ? "subordinate gids" : "subordinate uids",
           hutch_xasprintf ("unknown (%s)", e.msg));
      hutch_error_clear (&e);
      free (text);
      return;
    }
  for (i = 0; i < n; i++)
    {
      char *next = hutch_xasprintf ("%s%s%lu-%lu (%lu ids)", text, i ? ", " : "", r[i].start,
                                    r[i].start + r[i].count - 1, r[i].count);
      free (text);
      text = next;
    }
  if (n == 0)
    {
      free (text);
      text = hutch_xstrdup (uid == 0 ? "none (root maps its own ids)" : "none");
    }
  add (info, gid ? "subordinate gids" : "subordinate uids", text);
  free (r);
}

/* Which containers get root emulation (src/runtime/rootemu.h), and why.  */
static char *
root_emulation (uid_t uid, const struct hutch_idplan *plan)
{
  if (uid == 0)
    return hutch_xstrdup ("no (root maps every id it needs)");
  if (plan->mode != HUTCH_USERNS_SINGLE)
    return hutch_xstrdup ("only with --userns=single (your subordinate ranges give containers "
                          "real ids)");
  if (seccomp_api_get () < 5)
    return hutch_xstrdup ("unavailable: this kernel or libseccomp has no seccomp user "
                          "notification, so chown to another owner fails in containers");
  return hutch_xstrdup ("yes (no subordinate range: chown, set*id, setgroups and device nodes "
                        "are emulated in containers, and the owners given are recorded)");
}

/* The id maps a run would write: hutch_idplan_make is what hutch run
   calls, so its failure (a range but no working newuidmap) is a run's,
   and its warning (no range) the one hutch run prints.  */
static void
check_ids (struct hutch_info *info)
{
  uid_t uid = geteuid ();
  struct passwd *pw = getpwuid (uid);
  const char *name = pw ? pw->pw_name : NULL;
  _cleanup_strv_ char **helper_problems = NULL;
  struct hutch_idplan plan;
  hutch_error_t e = HUTCH_ERROR_INIT;
  int g;

  add (info, "user",
       hutch_xasprintf ("%s (uid %u, gid %u)", name ? name : "?", (unsigned)uid,
                        (unsigned)getegid ()));
  for (g = 0; g < 2; g++)
    {
      const char *helper = g ? "newgidmap" : "newuidmap";
      _cleanup_free_ char *path = NULL;

      if (hutch_idmap_find_helper (helper, &path, &e) == 0)
        add (info, helper, hutch_xstrdup (path));
      else
        {
          add (info, helper, hutch_xstrdup ("unusable"));
          if (uid != 0)
            hutch_strv_push (&helper_problems, HUTCH_STEAL_PTR (e.msg));
        }
      hutch_error_clear (&e);
      list_ranges (info, g, name, uid);
    }
  if (hutch_idplan_make (HUTCH_USERNS_DEFAULT, &plan, &e) < 0)
    problem (info, HUTCH_STEAL_PTR (e.msg), true);
  else
    {
      size_t i;
      add (info, "root emulation", root_emulation (uid, &plan));
      if (plan.warning)
        problem (info, HUTCH_STEAL_PTR (plan.warning), false);
      /* No range, so no helper is needed yet: worth knowing all the same,
         for the day a range is given.  */
      for (i = 0; helper_problems && helper_problems[i]; i++)
        problem (info, HUTCH_STEAL_PTR (helper_problems[i]), false);
      hutch_idplan_clear (&plan);
    }
  hutch_error_clear (&e);
}

static void
check_cgroups (struct hutch_info *info)
{
  struct hutch_cgroup_host h;
  hutch_error_t e = HUTCH_ERROR_INIT;

  if (hutch_cgroup_probe (&h, &e) < 0)
    {
      add (info, "cgroups", hutch_xasprintf ("unknown (%s)", e.msg));
      hutch_error_clear (&e);
      return;
    }
  if (h.mount == NULL)
    add (info, "cgroups", hutch_xasprintf ("%s: no limits possible", h.why_not));
  else
    {
      add (info, "cgroups",
           hutch_xasprintf ("%s, cgroup2 at %s", h.v1 ? "hybrid (v1 and v2)" : "v2", h.mount));
      if (h.own)
        add (info, "cgroup",
             hutch_xasprintf ("%s (%s)", h.own_rel,
                              !h.delegated ? "not delegated"
                              : h.systemd_managed
                                  ? "yours, but your systemd user manager's: not delegated to "
                                    "hutch unless it is a Delegate=yes unit"
                                  : "delegated to you"));
      if (h.delegated && h.systemd_managed && hutch_sdscope_available ())
        add (info, "cgroup controllers",
             hutch_xasprintf ("hutch run asks the systemd user manager for a delegated scope "
                              "(here: %s)",
                              *h.controllers ? h.controllers : "none"));
      else if (h.delegated)
        add (info, "cgroup controllers",
             hutch_xstrdup (*h.controllers ? h.controllers : "none (no limits possible)"));
      else
        add (info, "cgroup controllers",
             hutch_xasprintf ("none: %s%s", h.why_not,
                              hutch_sdscope_available ()
                                  ? "; hutch run asks the systemd user manager for a delegated "
                                    "scope"
                                  : "; containers share hutch's cgroup and limits are refused"));
    }
  if (h.v1_controllers)
    add (info, "cgroup v1 controllers",
         hutch_xasprintf ("%s (not usable for unprivileged limits)", h.v1_controllers));
  {
    /* What hutch run --memory and the like would be told first.  */
    char *why = hutch_cgroup_v2_missing (&h, NULL);
    add (info, "limits",
         hutch_xstrdup (why ? "not possible on this host (see the problem below)"
                            : "possible where a cgroup is delegated"));
    if (why)
      problem (info, why, false);
  }
  hutch_cgroup_host_clear (&h);
}

static bool
fs_known (const char *name)
{
  _cleanup_free_ char *text = read_knob ("/proc/filesystems");
  char *p;
  size_t n = strlen (name);
  if (text == NULL)
    return false;
  for (p = text; (p = strstr (p, name)) != NULL; p += n)
    if ((p == text || p[-1] == '\t') && (p[n] == '\n' || p[n] == '\0'))
      return true;
  return false;
}

static void
check_devices (struct hutch_info *info)
{
  static const char *const devs[][2]
      = { { "/dev/fuse", "fuse-overlayfs" }, { "/dev/net/tun", "slirp networking" } };
  size_t i;
  for (i = 0; i < 2; i++)
    {
      bool ok = access (devs[i][0], R_OK | W_OK) == 0;
      add (info, devs[i][0],
           hutch_xstrdup (ok                               ? "usable"
                          : access (devs[i][0], F_OK) == 0 ? "not accessible"
                                                           : "missing"));
      if (!ok)
        problem (info,
                 hutch_xasprintf ("%s is not usable by you (%s needs it); fix: ask an "
                                  "administrator to make it mode 0666, as distributions do",
                                  devs[i][0], devs[i][1]),
                 false);
    }
}

/* Whether the kernel takes seccomp filters that return an errno, which
   every profile hutch builds needs.  */
static void
check_seccomp (struct hutch_info *info)
{
  const struct scmp_version *v = seccomp_version ();
  uint32_t action = SECCOMP_RET_ERRNO;
  bool ok = syscall (SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;

  add (
      info, "seccomp",
      ok ? hutch_xasprintf ("filters available (libseccomp %u.%u.%u)", v->major, v->minor, v->micro)
         : hutch_xasprintf ("no filters: %s", strerror (errno)));
  if (!ok)
    problem (info,
             hutch_xstrdup ("the kernel takes no seccomp filters, so containers cannot get "
                            "hutch's default one; fix: a kernel with "
                            "CONFIG_SECCOMP_FILTER, or --security-opt seccomp=unconfined "
                            "for each container"),
             false);
}

/* hutch-init (--init), hutch-slirp (the network of images) and
   hutch-monitor (run -d, start), found and checked as hutch run finds and
   checks them.  */
static void
check_helpers (struct hutch_info *info)
{
  static const char *const names[] = { "hutch-init", "hutch-slirp", "hutch-monitor" };
  size_t i;

  for (i = 0; i < sizeof names / sizeof *names; i++)
    {
      char *path = hutch_paths_helper (names[i]);
      hutch_error_t e = HUTCH_ERROR_INIT;
      if (hutch_container_check_helper (path, &e) == 0)
        add (info, names[i], path);
      else
        {
          add (info, names[i], hutch_xasprintf ("%s (cannot be run)", path));
          free (path);
          problem (info, HUTCH_STEAL_PTR (e.msg), true);
        }
      hutch_error_clear (&e);
    }
}

void
hutch_info_collect (struct hutch_info *info)
{
  struct utsname u;
  hutch_error_t e = HUTCH_ERROR_INIT;

  memset (info, 0, sizeof *info);
  info->can_run = true;
  add (info, "version", hutch_xstrdup (PACKAGE_VERSION));
  if (uname (&u) == 0)
    add (info, "kernel", hutch_xasprintf ("%s %s %s", u.sysname, u.release, u.machine));
  check_userns (info);
  check_ids (info);
  check_cgroups (info);
  add (info, "overlay",
       hutch_xstrdup (fs_known ("overlay") ? "kernel overlayfs available" : "no kernel overlayfs"));
  {
    char *found = hutch_find_program ("fuse-overlayfs");
    add (info, "fuse-overlayfs", found ? found : hutch_xstrdup ("not found"));
  }
  check_devices (info);
  check_seccomp (info);
  check_helpers (info);
  add_dir (info, "data dir", hutch_paths_data_dir ());
  {
    char *rd = hutch_paths_runtime_dir ();
    add_dir (info, "runtime dir", hutch_xstrdup (rd));
    if (hutch_paths_check_trusted (rd, "the runtime directory", &e) < 0)
      problem (info, HUTCH_STEAL_PTR (e.msg), false);
    hutch_error_clear (&e);
    free (rd);
  }
  add (info, "config file", hutch_paths_config_file ());
  hutch_error_clear (&e);
}

void
hutch_info_storage (struct hutch_info *info, const char *root, int forced)
{
  _cleanup_free_ char *warning = NULL, *why = NULL, *fuse = NULL, *scratch = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;
  enum hutch_driver_choice d;

  add_dir (info, "image store", hutch_xstrdup (root));
  /* What hutch_image_store_open refuses, so no image can run (runs from
     a directory or of the host can, without the filter cache).  */
  if (hutch_image_store_check (root, &e) < 0)
    problem (info, HUTCH_STEAL_PTR (e.msg), true);
  hutch_error_clear (&e);
  if (hutch_store_check_filesystem (root, &warning, &e) == 0 && warning)
    problem (info, HUTCH_STEAL_PTR (warning), false);
  hutch_error_clear (&e);
  /* Probe where the store would: in its tmp directory when it exists,
     else in /tmp.  */
  scratch = hutch_xasprintf ("%s/tmp", root);
  if (access (scratch, W_OK) < 0)
    {
      free (scratch);
      scratch = hutch_xstrdup ("/tmp");
    }
  if (hutch_storage_choose (forced, scratch, &d, &fuse, &why, &e) < 0)
    {
      add (info, "storage driver", hutch_xstrdup ("none"));
      problem (info, HUTCH_STEAL_PTR (e.msg), true);
    }
  else
    add (info, "storage driver", hutch_xasprintf ("%s (%s)", hutch_storage_name (d), why));
  hutch_error_clear (&e);
}

void
hutch_info_clear (struct hutch_info *info)
{
  size_t i;
  for (i = 0; i < info->n_items; i++)
    {
      free (info->items[i].key);
      free (info->items[i].value);
    }
  for (i = 0; i < info->n_problems; i++)
    free (info->problems[i].text);
  free (info->items);
  free (info->problems);
  memset (info, 0, sizeof *info);
}
