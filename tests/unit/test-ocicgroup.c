/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* linux.cgroupsPath as runc reads it (src/runtime/ocicgroup.h), update's
   translation into cgroup v2 files (src/runtime/resources.h), and, as
   root where cgroup2 is mounted, the operations of hutch-oci's commands
   on a real cgroup: freeze, the processes, kill --all, update, delete,
   and a container's cgroup made at an explicit path.  */

#include "runtime/cgroup.h"
#include "runtime/ocicgroup.h"
#include "runtime/resources.h"
#include "runtime/spec.h"
#include "tap.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- linux.cgroupsPath ---------------------------------------------- */

static void
path_ok (const char *in, enum hutch_cgroup_manager m, bool rootless, enum hutch_cgroup_manager want,
         const char *path, bool absolute, const char *slice, const char *unit)
{
  struct hutch_cgroup_request r;
  hutch_error_t err = HUTCH_ERROR_INIT;
  int ret = hutch_cgroup_path_from_oci (in, m, "ctr1", rootless, &r, &err);

  ok (ret == 0, "cgroupsPath `%s` (manager %d%s) is taken (%s)", in ? in : "(null)", (int)m,
      rootless ? ", rootless" : "", err.msg ? err.msg : "");
  ok (ret == 0 && r.manager == want, "  manager %d (got %d)", (int)want, (int)r.manager);
  if (path)
    ok (ret == 0 && r.path && strcmp (r.path, path) == 0 && r.absolute == absolute,
        "  path `%s` %s (got `%s` %s)", path, absolute ? "absolute" : "relative",
        r.path ? r.path : "none", r.absolute ? "absolute" : "relative");
  else
    ok (ret == 0 && r.path == NULL, "  no path (got `%s`)", r.path ? r.path : "none");
  if (slice)
    ok (ret == 0 && r.slice && strcmp (r.slice, slice) == 0 && r.unit && strcmp (r.unit, unit) == 0,
        "  scope %s in %s (got %s in %s)", unit, slice, r.unit ? r.unit : "none",
        r.slice ? r.slice : "none");
  ok (r.rootless == rootless, "  rootless kept");
  hutch_cgroup_request_clear (&r);
  hutch_error_clear (&err);
}

static void
path_bad (const char *in, enum hutch_cgroup_manager m, const char *why)
{
  struct hutch_cgroup_request r;
  hutch_error_t err = HUTCH_ERROR_INIT;
  int ret = hutch_cgroup_path_from_oci (in, m, "ctr1", false, &r, &err);
  ok (ret < 0, "cgroupsPath `%s` (manager %d) is refused", in, (int)m);
  has_str (err.msg, why, "  the message says `%s` (%s)", why, err.msg ? err.msg : "");
  ok (r.path == NULL && r.slice == NULL && r.unit == NULL, "  nothing is left in the request");
  hutch_error_clear (&err);
}

static void
test_path_from_oci (void)
{
  enum hutch_cgroup_manager fs = HUTCH_CGROUP_CGROUPFS, sd = HUTCH_CGROUP_SYSTEMD;

  /* cgroupfs */
  path_ok (NULL, fs, false, HUTCH_CGROUP_AUTO, NULL, false, NULL, NULL);
  path_ok ("", fs, true, HUTCH_CGROUP_AUTO, NULL, false, NULL, NULL);
  path_ok ("/k8s.io/abc", fs, false, fs, "k8s.io/abc", true, NULL, NULL);
  path_ok ("/k8s.io/abc", HUTCH_CGROUP_AUTO, true, fs, "k8s.io/abc", true, NULL, NULL);
  path_ok ("//a/./b//", fs, false, fs, "a/b", true, NULL, NULL);
  path_ok ("libpod_parent/libpod-x", fs, false, fs, "libpod_parent/libpod-x", false, NULL, NULL);
  path_ok ("./a", fs, true, fs, "a", false, NULL, NULL);
  path_bad ("/a/../b", fs, "`..` is not allowed");
  path_bad ("..", fs, "`..` is not allowed");
  path_bad ("/", fs, "names the root cgroup");
  path_bad ("/./", fs, "names the root cgroup");
  path_bad ("/a\nb", fs, "control character");

  /* systemd: runc's slice:prefix:name */
  path_ok ("machine.slice:libpod:abc", sd, false, sd, NULL, false, "machine.slice",
           "libpod-abc.scope");
  path_ok (":runc:abc", sd, false, sd, NULL, false, "system.slice", "runc-abc.scope");
  path_ok (":runc:abc", sd, true, sd, NULL, false, "user.slice", "runc-abc.scope");
  path_ok ("system.slice::abc", sd, false, sd, NULL, false, "system.slice", "abc.scope");
  path_ok ("user.slice:p:abc.scope", sd, true, sd, NULL, false, "user.slice", "p-abc.scope");
  path_ok ("", sd, false, sd, NULL, false, "system.slice", "hutch-oci-ctr1.scope");
  path_ok (NULL, sd, true, sd, NULL, false, "user.slice", "hutch-oci-ctr1.scope");
  path_bad ("/k8s.io/abc", sd, "takes SLICE:PREFIX:NAME");
  path_bad ("a.slice:b", sd, "takes SLICE:PREFIX:NAME");
  path_bad ("a.slice:b:c:d", sd, "takes SLICE:PREFIX:NAME");
  path_bad ("machine:libpod:abc", sd, "`machine` is not a slice");
  path_bad (".slice:p:abc", sd, "is not a slice");
  path_bad ("a/b.slice:p:abc", sd, "is not a slice");
  path_bad ("system.slice:p:", sd, "NAME of SLICE:PREFIX:NAME is empty");
  path_bad ("system.slice:p:sub.slice", sd, "a slice as the container's own cgroup");
  path_bad ("system.slice:p/q:abc", sd, "PREFIX and NAME may hold");
  path_bad ("system.slice:p:a@b", sd, "PREFIX and NAME may hold");

  /* disabled: nothing to place */
  path_ok ("/k8s.io/abc", HUTCH_CGROUP_DISABLED, false, HUTCH_CGROUP_DISABLED, NULL, false, NULL,
           NULL);
}

static void
resolve_ok (const char *in, bool rootless, const char *mount_root, const char *own_rel,
            const char *base, const char *want)
{
  struct hutch_cgroup_request r;
  hutch_error_t err = HUTCH_ERROR_INIT;
  char *path = NULL;
  int ret = hutch_cgroup_path_from_oci (in, HUTCH_CGROUP_CGROUPFS, "c", rootless, &r, &err);
  if (ret == 0)
    ret = hutch_cgroup_resolve (&r, "/sys/fs/cgroup", mount_root, own_rel, base, &path, &err);
  ok (ret == 0 && path && strcmp (path, want) == 0, "`%s`%s (caller in %s) is %s (got %s%s)", in,
      rootless ? " rootless" : "", own_rel, want, path ? path : "", err.msg ? err.msg : "");
  free (path);
  hutch_cgroup_request_clear (&r);
  hutch_error_clear (&err);
}

static void
resolve_bad (const char *in, bool rootless, const char *mount_root, const char *own_rel,
             const char *base, const char *why)
{
  struct hutch_cgroup_request r;
  hutch_error_t err = HUTCH_ERROR_INIT;
  char *path = NULL;
  int ret = hutch_cgroup_path_from_oci (in, HUTCH_CGROUP_CGROUPFS, "c", rootless, &r, &err);
  ok (ret == 0, "`%s` reads", in);
  ret = hutch_cgroup_resolve (&r, "/sys/fs/cgroup", mount_root, own_rel, base, &path, &err);
  ok (ret < 0 && path == NULL, "`%s`%s (caller in %s) cannot be placed", in,
      rootless ? " rootless" : "", own_rel);
  has_str (err.msg, why, "  the message says `%s` (%s)", why, err.msg ? err.msg : "");
  free (path);
  hutch_cgroup_request_clear (&r);
  hutch_error_clear (&err);
}

static void
test_resolve (void)
{
  const char *own = "/user.slice/user-1000.slice/session-3.scope";
  const char *base
      = "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope";

  /* absolute: from the hierarchy's root, as root and rootless */
  resolve_ok ("/k8s.io/abc", false, "/", own, NULL, "/sys/fs/cgroup/k8s.io/abc");
  resolve_ok ("/k8s.io/abc", true, "/", own, base, "/sys/fs/cgroup/k8s.io/abc");
  /* a mount that shows a subtree: what it shows is reachable, the rest
     is not */
  resolve_ok ("/sub/a/b", false, "/sub", "/sub/x", NULL, "/sys/fs/cgroup/a/b");
  resolve_bad ("/other/a", false, "/sub", "/sub/x", NULL, "is outside what /sys/fs/cgroup shows");
  resolve_bad ("/subway/a", false, "/sub", "/sub/x", NULL, "is outside");
  /* relative as root: below the parent of the caller's cgroup (runc) */
  resolve_ok ("a/b", false, "/", own, NULL, "/sys/fs/cgroup/user.slice/user-1000.slice/a/b");
  resolve_ok ("a", false, "/", "/", NULL, "/sys/fs/cgroup/a");
  resolve_ok ("a", false, "/", "/top", NULL, "/sys/fs/cgroup/a");
  /* relative rootless: below the delegated cgroup */
  resolve_ok ("a/b", true, "/", own, base,
              "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope/a/b");
  resolve_bad ("a/b", true, "/", own, NULL, "there is none");
  resolve_bad ("a/b", false, "/", "", NULL, "which /proc/self/cgroup does not name");
}

/* ---- update -------------------------------------------------------- */

static const char *
value_of (const struct hutch_resource *res, size_t n, const char *file)
{
  size_t i;
  for (i = 0; i < n; i++)
    if (strcmp (res[i].file, file) == 0)
      return res[i].value;
  return NULL;
}

/* Run the flags PAIRS against the cgroup DIR (or none) and check that
   the files named in WANT (FILE, VALUE, ..., NULL) and no others are
   written.  */
static void
flags_ok (const char *what, const char *const *pairs, const char *dir, const char *const *want)
{
  struct hutch_resource *res = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  size_t n = 0, k = 0, i;
  int ret = hutch_resources_update_from_flags (pairs, dir, &res, &n, &err);

  ok (ret == 0, "update %s is taken (%s)", what, err.msg ? err.msg : "");
  for (i = 0; want[i]; i += 2, k++)
    {
      const char *got = value_of (res, n, want[i]);
      ok (got && strcmp (got, want[i + 1]) == 0, "  %s = `%s` (got `%s`)", want[i], want[i + 1],
          got ? got : "nothing");
    }
  ok (n == k, "  %zu files written (got %zu)", k, n);
  hutch_resources_free (res, n);
  hutch_error_clear (&err);
}

static void
flags_bad (const char *what, const char *const *pairs, const char *dir, const char *why)
{
  struct hutch_resource *res = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  size_t n = 0;
  int ret = hutch_resources_update_from_flags (pairs, dir, &res, &n, &err);
  ok (ret < 0 && res == NULL, "update %s is refused", what);
  has_str (err.msg, why, "  the message says `%s` (%s)", why, err.msg ? err.msg : "");
  hutch_error_clear (&err);
}

static void
json_ok (const char *text, const char *dir, const char *const *want)
{
  json_error_t je;
  json_t *j = json_loads (text, 0, &je);
  struct hutch_resource *res = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  size_t n = 0, k = 0, i;
  int ret = hutch_resources_update_from_oci (j, dir, &res, &n, &err);

  ok (ret == 0, "update --resources %s is taken (%s)", text, err.msg ? err.msg : "");
  for (i = 0; want[i]; i += 2, k++)
    {
      const char *got = value_of (res, n, want[i]);
      ok (got && strcmp (got, want[i + 1]) == 0, "  %s = `%s` (got `%s`)", want[i], want[i + 1],
          got ? got : "nothing");
    }
  ok (n == k, "  %zu files written (got %zu)", k, n);
  /* the caller's object is not changed */
  if (dir)
    {
      char *again = json_dumps (j, JSON_SORT_KEYS | JSON_COMPACT);
      json_t *orig = json_loads (text, 0, &je);
      char *o = json_dumps (orig, JSON_SORT_KEYS | JSON_COMPACT);
      is_str (again, o, "  the object given is left as it was");
      free (again);
      free (o);
      json_decref (orig);
    }
  hutch_resources_free (res, n);
  json_decref (j);
  hutch_error_clear (&err);
}

static void
json_bad (const char *text, const char *why)
{
  json_error_t je;
  json_t *j = json_loads (text, JSON_DECODE_ANY, &je);
  struct hutch_resource *res = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  size_t n = 0;
  int ret = hutch_resources_update_from_oci (j, NULL, &res, &n, &err);
  ok (ret < 0, "update --resources %s is refused", text);
  has_str (err.msg, why, "  the message says `%s` (%s)", why, err.msg ? err.msg : "");
  json_decref (j);
  hutch_error_clear (&err);
}

static void
put (const char *dir, const char *file, const char *value)
{
  _cleanup_free_ char *p = hutch_xasprintf ("%s/%s", dir, file);
  FILE *f = fopen (p, "we");
  if (f == NULL || fputs (value, f) < 0 || fclose (f) != 0)
    {
      printf ("# cannot write %s\n", p);
      abort ();
    }
}

static void
test_update (void)
{
  char tmpl[] = "/tmp/test-ocicgroup.XXXXXX";
  char *dir = mkdtemp (tmpl);

  /* a cgroup as it is now, for the values an update needs from it */
  put (dir, "memory.max", "67108864\n");
  put (dir, "cpu.max", "20000 200000\n");

  flags_ok ("--memory 64M", (const char *[]){ "memory", "64M", NULL }, NULL,
            (const char *[]){ "memory.max", "67108864", NULL });
  flags_ok ("--memory -1", (const char *[]){ "--memory", "-1", NULL }, NULL,
            (const char *[]){ "memory.max", "max", NULL });
  flags_ok (
      "--memory 64m --memory-swap 96m --memory-reservation 32m",
      (const char *[]){ "memory", "64m", "memory-swap", "96m", "memory-reservation", "32m", NULL },
      NULL,
      (const char *[]){ "memory.max", "67108864", "memory.swap.max", "33554432", "memory.low",
                        "33554432", NULL });
  /* swap counts memory too: the container's own limit, as runc takes it */
  flags_ok ("--memory-swap 96m on a cgroup with memory.max 64m",
            (const char *[]){ "memory-swap", "96m", NULL }, dir,
            (const char *[]){ "memory.max", "67108864", "memory.swap.max", "33554432", NULL });
  flags_ok ("--memory-swap -1", (const char *[]){ "memory-swap", "-1", NULL }, dir,
            (const char *[]){ "memory.swap.max", "max", NULL });
  flags_bad ("--memory-swap 96m without a memory limit",
             (const char *[]){ "memory-swap", "96m", NULL }, NULL, "it needs memory.limit");
  flags_bad ("--memory-swap below --memory",
             (const char *[]){ "memory", "64m", "memory-swap", "32m", NULL }, NULL,
             "must be at least as large");
  /* cpu.max holds quota and period: each keeps the other */
  flags_ok ("--cpu-quota 50000 on a cgroup with a period of 200000",
            (const char *[]){ "cpu-quota", "50000", NULL }, dir,
            (const char *[]){ "cpu.max", "50000 200000", NULL });
  flags_ok ("--cpu-period 50000 on a cgroup with a quota of 20000",
            (const char *[]){ "cpu-period", "50000", NULL }, dir,
            (const char *[]){ "cpu.max", "20000 50000", NULL });
  flags_ok ("--cpu-quota 50000 (no cgroup: the default period)",
            (const char *[]){ "cpu-quota", "50000", NULL }, NULL,
            (const char *[]){ "cpu.max", "50000 100000", NULL });
  flags_ok ("--cpu-quota -1", (const char *[]){ "cpu-quota", "-1", "cpu-period", "100000", NULL },
            dir, (const char *[]){ "cpu.max", "max 100000", NULL });
  put (dir, "cpu.max", "max 100000\n");
  flags_ok ("--cpu-period 50000 without a quota", (const char *[]){ "cpu-period", "50000", NULL },
            dir, (const char *[]){ "cpu.max", "max 50000", NULL });
  flags_ok ("--cpu-shares 1024", (const char *[]){ "cpu-shares", "1024", NULL }, NULL,
            (const char *[]){ "cpu.weight", "100", NULL });
  flags_ok ("--cpuset-cpus 0-1 --cpuset-mems 0",
            (const char *[]){ "cpuset-cpus", "0-1", "cpuset-mems", "0", NULL }, NULL,
            (const char *[]){ "cpuset.cpus", "0-1", "cpuset.mems", "0", NULL });
  flags_ok ("--pids-limit 10", (const char *[]){ "pids-limit", "10", NULL }, NULL,
            (const char *[]){ "pids.max", "10", NULL });
  flags_ok ("--pids-limit -1", (const char *[]){ "pids-limit", "-1", NULL }, NULL,
            (const char *[]){ "pids.max", "max", NULL });
  flags_ok ("--blkio-weight 500", (const char *[]){ "blkio-weight", "500", NULL }, NULL,
            (const char *[]){ "io.weight", "default 4950", NULL });
  flags_ok ("nothing", (const char *[]){ NULL }, NULL, (const char *[]){ NULL });

  flags_bad ("--kernel-memory", (const char *[]){ "kernel-memory", "64m", NULL }, NULL,
             "--kernel-memory cannot be honoured: cgroup v2 has no separate kernel memory limit");
  flags_bad ("--kernel-memory-tcp", (const char *[]){ "kernel-memory-tcp", "64m", NULL }, NULL,
             "kernel TCP memory");
  flags_bad ("--cpu-rt-runtime", (const char *[]){ "cpu-rt-runtime", "950000", NULL }, NULL,
             "no real-time CPU bandwidth");
  flags_bad ("--cpu-rt-period", (const char *[]){ "cpu-rt-period", "1000000", NULL }, NULL,
             "no real-time CPU bandwidth");
  flags_bad ("--l3-cache-schema", (const char *[]){ "l3-cache-schema", "L3:0=f", NULL }, NULL,
             "Intel RDT");
  flags_bad ("--mem-bw-schema", (const char *[]){ "mem-bw-schema", "MB:0=70", NULL }, NULL,
             "Intel RDT");
  flags_bad ("--memory abc", (const char *[]){ "memory", "abc", NULL }, NULL,
             "--memory `abc`: not a size");
  flags_bad ("--cpu-shares -5", (const char *[]){ "cpu-shares", "-5", NULL }, NULL,
             "--cpu-shares `-5`: give a number (0 or more)");
  flags_bad ("--pids-limit x", (const char *[]){ "pids-limit", "x", NULL }, NULL,
             "--pids-limit `x`: give a number");
  flags_bad ("--cpu-shares 1", (const char *[]){ "cpu-shares", "1", NULL }, NULL,
             "update (its options as linux.resources): linux.resources.cpu.shares must be from 2");
  flags_bad ("--blkio-weight 5", (const char *[]){ "blkio-weight", "5", NULL }, NULL,
             "blockIO.weight must be from 10 to 1000");
  flags_bad ("--cpuset-cpus x", (const char *[]){ "cpuset-cpus", "x", NULL }, NULL,
             "a list such as 0-3");
  flags_bad ("--no-such", (const char *[]){ "no-such", "1", NULL }, NULL,
             "update has no option --no-such");
  flags_bad ("--memory without a value", (const char *[]){ "memory", NULL, NULL }, NULL,
             "--memory needs a value");

  put (dir, "cpu.max", "20000 200000\n");
  json_ok ("{\"memory\": {\"limit\": 1048576}, \"pids\": {\"limit\": 5}}", NULL,
           (const char *[]){ "memory.max", "1048576", "pids.max", "5", NULL });
  json_ok ("{\"memory\": {\"swap\": 100663296}, \"cpu\": {\"quota\": 30000}}", dir,
           (const char *[]){ "memory.max", "67108864", "memory.swap.max", "33554432", "cpu.max",
                             "30000 200000", NULL });
  json_ok ("{\"unified\": {\"memory.high\": \"1048576\"}, \"devices\": [{\"allow\": false, "
           "\"access\": \"rwm\"}]}",
           NULL, (const char *[]){ "memory.high", "1048576", NULL });
  json_ok ("{}", NULL, (const char *[]){ NULL });
  json_bad ("[1]", "must be a JSON object");
  json_bad ("{\"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": 1}]}",
            "linux.resources.hugepageLimits is not supported");
  json_bad ("{\"memory\": {\"kernel\": 1}}", "linux.resources.memory.kernel is not supported");
  json_bad ("{\"unified\": {\"cgroup.procs\": \"1\"}}", "cgroup.procs` cannot be set");

  put (dir, "memory.max", "max\n");
  flags_bad ("--memory-swap 96m on a cgroup without a memory limit",
             (const char *[]){ "memory-swap", "96m", NULL }, dir, "it needs memory.limit");
  {
    _cleanup_free_ char *a = hutch_xasprintf ("%s/memory.max", dir);
    _cleanup_free_ char *b = hutch_xasprintf ("%s/cpu.max", dir);
    unlink (a);
    unlink (b);
    rmdir (dir);
  }
}

/* ---- on a real cgroup (root, cgroup2 mounted) ----------------------- */

static char *live_mount;

static bool
live_ok (void)
{
  struct hutch_cgroup_host h;
  hutch_error_t err = HUTCH_ERROR_INIT;
  bool ok_ = false;
  if (geteuid () != 0 || hutch_cgroup_probe (&h, &err) < 0)
    {
      hutch_error_clear (&err);
      return false;
    }
  if (h.mount && strcmp (h.mount_root, "/") == 0 && access (h.mount, W_OK) == 0)
    {
      live_mount = hutch_xstrdup (h.mount);
      ok_ = true;
    }
  hutch_cgroup_host_clear (&h);
  return ok_;
}

/* A child that waits in cgroup DIR until it is killed.  */
static pid_t
sleeper (const char *dir)
{
  int p[2];
  pid_t pid;
  char c;
  if (pipe (p) < 0)
    abort ();
  pid = fork ();
  if (pid == 0)
    {
      _cleanup_free_ char *procs = hutch_xasprintf ("%s/cgroup.procs", dir);
      hutch_error_t e = HUTCH_ERROR_INIT;
      close (p[0]);
      if (hutch_write_file (procs, "0", &e) < 0)
        _exit (3);
      if (write (p[1], "x", 1) != 1)
        _exit (4);
      for (;;)
        pause ();
    }
  close (p[1]);
  if (read (p[0], &c, 1) != 1)
    {
      printf ("# the child could not join %s\n", dir);
      abort ();
    }
  close (p[0]);
  return pid;
}

static int
reaped_by (pid_t pid)
{
  int st;
  if (waitpid (pid, &st, 0) != pid)
    return -1;
  return WIFSIGNALED (st) ? WTERMSIG (st) : 0;
}

static bool
has_pid (const pid_t *pids, size_t n, pid_t pid)
{
  size_t i;
  for (i = 0; i < n; i++)
    if (pids[i] == pid)
      return true;
  return false;
}

static void
test_live_ops (void)
{
  _cleanup_free_ char *c = hutch_xasprintf ("%s/hutch-unit-%ld", live_mount, (long)getpid ());
  _cleanup_free_ char *sub = hutch_xasprintf ("%s/sub", c);
  hutch_error_t err = HUTCH_ERROR_INIT;
  pid_t a, b, *pids = NULL;
  size_t n = 0;
  int r;

  ok (mkdir (c, 0755) == 0 && mkdir (sub, 0755) == 0, "a cgroup %s and one below it", c);
  a = sleeper (c);
  b = sleeper (sub);

  r = hutch_cgroup_pids (c, &pids, &n, &err);
  ok (r == 0 && n == 2 && has_pid (pids, n, a) && has_pid (pids, n, b),
      "pids: both processes, also the one below (%zu) %s", n, err.msg ? err.msg : "");
  free (pids);
  pids = NULL;

  r = hutch_cgroup_freeze (c, true, &err);
  ok (r == 0, "freeze (%s)", err.msg ? err.msg : "");
  ok (hutch_cgroup_frozen (c) == 1, "  frozen: 1");
  {
    /* The kernel reports a cgroup below frozen on its own schedule (seen
       a moment after the one above on a loaded machine): wait up to 2 s.  */
    _cleanup_free_ char *ev = hutch_xasprintf ("%s/cgroup.events", sub);
    char *text = NULL;
    int i;
    for (i = 0; i < 200; i++)
      {
        free (text);
        text = NULL;
        hutch_read_file (ev, 4096, &text, NULL, &err);
        hutch_error_clear (&err);
        if (text && strstr (text, "frozen 1"))
          break;
        usleep (10000);
      }
    has_str (text, "frozen 1", "  the cgroup below is frozen too");
    free (text);
  }
  r = hutch_cgroup_freeze (c, false, &err);
  ok (r == 0 && hutch_cgroup_frozen (c) == 0, "thaw (%s)", err.msg ? err.msg : "");

  /* kill --all with another signal than KILL: frozen, signalled, thawed */
  r = hutch_cgroup_signal_all (c, SIGTERM, &err);
  ok (r == 0, "signal_all TERM (%s)", err.msg ? err.msg : "");
  ok (reaped_by (a) == SIGTERM && reaped_by (b) == SIGTERM, "  both ended by SIGTERM");
  ok (hutch_cgroup_frozen (c) == 0, "  the cgroup is thawed again");

  /* a paused container stays paused; its processes take the signal
     (KILL at once, even frozen) */
  a = sleeper (c);
  hutch_cgroup_freeze (c, true, &err);
  r = hutch_cgroup_signal_all (c, SIGKILL, &err);
  ok (r == 0 && reaped_by (a) == SIGKILL, "signal_all KILL of a frozen cgroup (%s)",
      err.msg ? err.msg : "");
  ok (hutch_cgroup_frozen (c) == 1, "  it is still frozen");
  hutch_cgroup_freeze (c, false, &err);
  a = sleeper (c);
  hutch_cgroup_freeze (c, true, &err);
  r = hutch_cgroup_signal_all (c, SIGTERM, &err);
  ok (r == 0 && hutch_cgroup_frozen (c) == 1,
      "signal_all TERM of a frozen cgroup leaves it frozen");
  hutch_cgroup_freeze (c, false, &err);
  ok (reaped_by (a) == SIGTERM, "  and the signal is taken once it is thawed");

  /* update: files every cgroup has, and one whose controller it lacks */
  {
    struct hutch_resource set[] = { { (char *)"cgroup.max.descendants", (char *)"7", false } };
    _cleanup_free_ char *f = hutch_xasprintf ("%s/cgroup.max.descendants", c), *text = NULL;
    r = hutch_cgroup_update (c, NULL, set, 1, &err);
    hutch_read_file (f, 64, &text, NULL, &err);
    ok (r == 0 && text && strcmp (text, "7\n") == 0, "update writes cgroup.max.descendants");
  }
  {
    struct hutch_resource set[] = { { (char *)"hugetlb.1GB.nosuch", (char *)"1", false } };
    r = hutch_cgroup_update (c, NULL, set, 1, &err);
    ok (r < 0, "update of a file the cgroup lacks fails");
    has_str (err.msg, "cannot set hugetlb.1GB.nosuch: ", "  and says which (%s)", err.msg);
    hutch_error_clear (&err);
  }
  {
    struct hutch_resource set[] = { { (char *)"pids.max", (char *)"5", false } };
    r = hutch_cgroup_update (c, NULL, set, 0, &err);
    ok (r == 0, "an empty update does nothing");
  }
  ok (hutch_cgroup_update ("/nonexistent/cgroup", NULL, NULL, 0, &err) < 0,
      "update of a cgroup that is not there fails");
  has_str (err.msg, "open the container's cgroup /nonexistent/cgroup", "  and says so");
  hutch_error_clear (&err);
  ok (hutch_cgroup_freeze ("/nonexistent/cgroup", true, &err) < 0, "so does freeze");
  hutch_error_clear (&err);
  ok (hutch_cgroup_pids ("/nonexistent/cgroup", &pids, &n, &err) < 0, "and pids");
  hutch_error_clear (&err);
  ok (hutch_cgroup_signal_all ("/nonexistent/cgroup", SIGKILL, &err) < 0, "and signal_all");
  hutch_error_clear (&err);
  ok (hutch_cgroup_frozen ("/nonexistent/cgroup") == -1, "frozen: -1 where there is no cgroup");

  /* delete: what is left is killed, the cgroups removed */
  a = sleeper (sub);
  r = hutch_cgroup_remove (c, &err);
  ok (r == 0 && access (c, F_OK) < 0, "remove kills what is left and removes it (%s)",
      err.msg ? err.msg : "");
  ok (reaped_by (a) == SIGKILL, "  the process left was killed");
  ok (hutch_cgroup_remove (c, &err) == 0, "removing it again is not an error");
  ok (hutch_cgroup_remove ("nocgroup", &err) < 0, "a path without a parent is refused");
  hutch_error_clear (&err);
}

static void
test_live_setup (void)
{
  struct hutch_spec *spec = hutch_spec_new ();
  struct hutch_cgroup_request req;
  struct hutch_cgroup_run run = HUTCH_CGROUP_RUN_INIT;
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_free_ char *top = hutch_xasprintf ("/hutch-unit-%ld", (long)getpid ());
  _cleanup_free_ char *in = hutch_xasprintf ("%s/pod/ctr", top);
  _cleanup_free_ char *want = hutch_xasprintf ("%s%s", live_mount, in);
  _cleanup_free_ char *pod = hutch_xasprintf ("%s%s/pod", live_mount, top);
  _cleanup_free_ char *topdir = hutch_xasprintf ("%s%s", live_mount, top);
  pid_t a;
  int r;

  hutch_cgroup_path_from_oci (in, HUTCH_CGROUP_CGROUPFS, "ctr", false, &req, &err);
  r = hutch_cgroup_setup_request (spec, &req, &run, NULL, &err);
  ok (r == 0 && run.path && strcmp (run.path, want) == 0 && run.fd >= 0,
      "an absolute cgroupsPath as root: %s, with the cgroups above made (%s)", want,
      err.msg ? err.msg : run.path);
  ok (hutch_cgroup_settle (&run, &err) == 0, "  settle: nothing to do without systemd");
  hutch_cgroup_teardown (&run, NULL);
  ok (access (want, F_OK) < 0 && access (pod, F_OK) == 0,
      "  teardown removes it, not the cgroups above (as runc)");

  /* one that exists and is empty is taken; with a process in it, not */
  ok (mkdir (want, 0755) == 0, "  made beforehand, empty");
  r = hutch_cgroup_setup_request (spec, &req, &run, NULL, &err);
  ok (r == 0 && run.path, "  it is taken (%s)", err.msg ? err.msg : "");
  a = sleeper (want);
  hutch_cgroup_teardown (&run, NULL);
  ok (reaped_by (a) == SIGKILL, "  teardown kills what is in it");
  mkdir (want, 0755);
  a = sleeper (want);
  r = hutch_cgroup_setup_request (spec, &req, &run, NULL, &err);
  ok (r < 0 && run.path == NULL, "  with a process in it, it is refused");
  has_str (err.msg, "has processes in it", "  and says so (%s)", err.msg);
  hutch_error_clear (&err);
  kill (a, SIGKILL);
  reaped_by (a);
  ok (hutch_cgroup_remove (want, &err) == 0 && access (want, F_OK) < 0, "  removed");
  hutch_cgroup_request_clear (&req);

  /* relative as root: below the parent of our own cgroup */
  {
    struct hutch_cgroup_host h;
    _cleanup_free_ char *rel = hutch_xasprintf ("hutch-unit-rel-%ld", (long)getpid ());
    _cleanup_free_ char *parent = NULL, *w = NULL;
    hutch_cgroup_probe (&h, &err);
    parent = hutch_xstrdup (h.own);
    if (strcmp (h.own_rel, "/") != 0)
      *strrchr (parent, '/') = '\0';
    w = hutch_xasprintf ("%s/%s", parent, rel);
    hutch_cgroup_path_from_oci (rel, HUTCH_CGROUP_CGROUPFS, "ctr", false, &req, &err);
    r = hutch_cgroup_setup_request (spec, &req, &run, NULL, &err);
    ok (r == 0 && run.path && strcmp (run.path, w) == 0,
        "a relative cgroupsPath as root is below the parent of our cgroup: %s (%s)", w,
        err.msg ? err.msg : run.path);
    hutch_cgroup_teardown (&run, NULL);
    ok (access (w, F_OK) < 0, "  and goes with teardown");
    hutch_cgroup_request_clear (&req);
    hutch_cgroup_host_clear (&h);
  }

  /* a limit: where cgroup v1 holds its controller (a hybrid host), it
     is refused before anything is made; else it is written */
  {
    struct hutch_cgroup_host h;
    bool v2mem;
    hutch_cgroup_probe (&h, &err);
    v2mem = h.v2_controllers && strstr (h.v2_controllers, "memory");
    hutch_spec_add_resource (spec, "memory.max", hutch_xstrdup ("67108864"), false);
    hutch_cgroup_path_from_oci (in, HUTCH_CGROUP_CGROUPFS, "ctr", false, &req, &err);
    r = hutch_cgroup_setup_request (spec, &req, &run, NULL, &err);
    if (v2mem)
      {
        _cleanup_free_ char *f = hutch_xasprintf ("%s/memory.max", want), *text = NULL;
        hutch_read_file (f, 64, &text, NULL, &err);
        ok (r == 0 && text && strcmp (text, "67108864\n") == 0, "memory.max is written (%s)",
            err.msg ? err.msg : "");
        hutch_cgroup_teardown (&run, NULL);
      }
    else
      {
        ok (r < 0 && access (want, F_OK) < 0, "memory.max on this hybrid host is refused");
        has_str (err.msg, "hybrid", "  and the message says why (%s)", err.msg);
      }
    hutch_error_clear (&err);
    hutch_cgroup_host_clear (&h);
  }

  /* disabled: no cgroup, and limits refused */
  req.manager = HUTCH_CGROUP_DISABLED;
  r = hutch_cgroup_setup_request (spec, &req, &run, NULL, &err);
  ok (r < 0 && run.path == NULL, "the manager `disabled` with a limit is refused");
  has_str (err.msg, "leaves the container without a cgroup of its own", "  and says why");
  hutch_error_clear (&err);
  hutch_cgroup_request_clear (&req);
  hutch_spec_free (spec);
  spec = hutch_spec_new ();
  req.manager = HUTCH_CGROUP_DISABLED;
  r = hutch_cgroup_setup_request (spec, &req, &run, NULL, &err);
  ok (r == 0 && run.path == NULL && run.fd < 0, "the manager `disabled`: no cgroup");
  hutch_spec_free (spec);

  rmdir (pod);
  rmdir (topdir);
}

/* What `systemctl [--user] show -p PROPERTY --value UNIT` says.  */
static char *
unit_property (bool rootless, const char *unit, const char *property)
{
  _cleanup_free_ char *cmd = hutch_xasprintf ("systemctl %sshow -p %s --value %s",
                                              rootless ? "--user " : "", property, unit);
  char buf[256] = "";
  FILE *f = popen (cmd, "r");
  size_t n;
  if (f == NULL)
    return NULL;
  n = fread (buf, 1, sizeof buf - 1, f);
  pclose (f);
  buf[n] = '\0';
  while (n && buf[n - 1] == '\n')
    buf[--n] = '\0';
  return hutch_xstrdup (buf);
}

static bool
has_controller (const char *c)
{
  struct hutch_cgroup_host h;
  hutch_error_t err = HUTCH_ERROR_INIT;
  bool yes = hutch_cgroup_probe (&h, &err) == 0 && h.v2_controllers && strstr (h.v2_controllers, c);
  hutch_cgroup_host_clear (&h);
  hutch_error_clear (&err);
  return yes;
}

/* The systemd manager: PID 1's as root, the user's rootless.  Where it
   runs, a real scope held by a placeholder until a process joins it, the
   limits as its properties, update through it; elsewhere (a container or
   a VM without systemd) the error, and no placeholder left behind.  */
static void
test_live_systemd (bool rootless, const char *socket)
{
  struct hutch_spec *spec = hutch_spec_new ();
  struct hutch_cgroup_request req;
  struct hutch_cgroup_run run = HUTCH_CGROUP_RUN_INIT;
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_free_ char *id = hutch_xasprintf ("unit-%ld", (long)getpid ());
  /* pids.max waits for the placeholder to go; where cgroup v1 holds the
     pids controller (a hybrid host), a file every cgroup has instead */
  bool v2pids = has_controller ("pids"), v2mem = has_controller ("memory");
  int r, st;

  hutch_spec_add_resource (spec, v2pids ? "pids.max" : "cgroup.max.descendants",
                           hutch_xstrdup ("50"), false);
  if (v2mem)
    hutch_spec_add_resource (spec, "memory.max", hutch_xstrdup ("67108864"), false);
  hutch_cgroup_path_from_oci ("", HUTCH_CGROUP_SYSTEMD, id, rootless, &req, &err);
  r = hutch_cgroup_setup_request (spec, &req, &run, NULL, &err);
  if (access (socket, F_OK) < 0)
    {
      ok (r < 0 && run.path == NULL, "the systemd manager without systemd is refused");
      has_str (err.msg, "cannot reach systemd (PID 1) at /run/systemd/private",
               "  and says why (%s)", err.msg);
      ok (waitpid (-1, &st, WNOHANG) < 0 && errno == ECHILD, "  the placeholder is gone");
    }
  else if (r < 0)
    ok (false, "a scope from %s systemd: %s", rootless ? "the user's" : "PID 1's", err.msg);
  else
    {
      _cleanup_free_ char *unit = hutch_xasprintf ("hutch-oci-%s.scope", id);
      _cleanup_free_ char *procs = hutch_xasprintf ("%s/cgroup.procs", run.path), *text = NULL;
      _cleanup_free_ char *pidsf
          = hutch_xasprintf ("%s/%s", run.path, v2pids ? "pids.max" : "cgroup.max.descendants");
      _cleanup_free_ char *pids = NULL, *prop = NULL;
      _cleanup_free_ char *holder = hutch_xasprintf ("%ld\n", (long)run.holder);
      _cleanup_free_ char *slice
          = hutch_xasprintf ("/%s/%s", rootless ? "user.slice" : "system.slice", unit);
      const char *name = strrchr (run.path, '/');
      pid_t a;
      ok (name && strcmp (name + 1, unit) == 0 && strstr (run.path, slice),
          "a scope from %s systemd in its slice: %s", rootless ? "the user's" : "PID 1's",
          run.path);
      hutch_read_file (procs, 4096, &text, NULL, &err);
      is_str (text, holder, "  the placeholder holds it");
      a = sleeper (run.path);
      ok (hutch_cgroup_settle (&run, &err) == 0 && run.holder == 0, "  settle (%s)",
          err.msg ? err.msg : "");
      free (text);
      text = NULL;
      hutch_read_file (procs, 4096, &text, NULL, &err);
      ok (text && strtol (text, NULL, 10) == a && strchr (text, '\n')[1] == '\0',
          "  only the process that joined is left (%s)", text ? text : "");
      hutch_read_file (pidsf, 64, &pids, NULL, &err);
      is_str (pids, "50\n", "  %s is written",
              v2pids ? "pids.max, once the placeholder is gone," : "cgroup.max.descendants");
      if (v2pids)
        {
          prop = unit_property (rootless, unit, "TasksMax");
          is_str (prop, "50", "  and TasksMax is 50 (%s)", prop ? prop : "");
          free (prop);
          prop = NULL;
        }
      if (v2mem)
        {
          struct hutch_resource set[] = { { (char *)"memory.max", (char *)"134217728", false } };
          _cleanup_free_ char *memf = hutch_xasprintf ("%s/memory.max", run.path), *mem = NULL;
          _cleanup_free_ char *reload
              = hutch_xasprintf ("systemctl %sdaemon-reload", rootless ? "--user " : "");
          prop = unit_property (rootless, unit, "MemoryMax");
          is_str (prop, "67108864", "  MemoryMax is a property of the scope (%s)",
                  prop ? prop : "");
          free (prop);
          r = hutch_cgroup_update (run.path, &req, set, 1, &err);
          ok (r == 0, "  update through systemd (%s)", err.msg ? err.msg : "");
          prop = unit_property (rootless, unit, "MemoryMax");
          is_str (prop, "134217728", "  MemoryMax follows (%s)", prop ? prop : "");
          ok (system (reload) == 0, "  %s", reload);
          hutch_read_file (memf, 64, &mem, NULL, &err);
          is_str (mem, "134217728\n", "  memory.max keeps the update across it (%s)",
                  mem ? mem : "");
        }
      hutch_cgroup_teardown (&run, NULL);
      ok (reaped_by (a) == SIGKILL, "  teardown kills what is in it");
    }
  hutch_error_clear (&err);
  hutch_cgroup_request_clear (&req);
  hutch_spec_free (spec);
}

int
main (void)
{
  test_path_from_oci ();
  test_resolve ();
  test_update ();
  if (live_ok ())
    {
      test_live_ops ();
      test_live_setup ();
      test_live_systemd (false, "/run/systemd/private");
    }
  else if (geteuid () != 0 && getenv ("XDG_RUNTIME_DIR"))
    {
      /* rootless where the user's systemd runs (tests/vm): its scopes */
      _cleanup_free_ char *sock
          = hutch_xasprintf ("%s/systemd/private", getenv ("XDG_RUNTIME_DIR"));
      if (access (sock, F_OK) == 0)
        test_live_systemd (true, sock);
      else
        skip ("on a real cgroup: needs root, or the user's systemd manager");
    }
  else
    skip ("on a real cgroup: needs root and a writable cgroup2 mount");
  free (live_mount);
  return tap_done ();
}
