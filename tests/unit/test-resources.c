/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* Limits as users type them and as config.json has them, turned into
   cgroup v2 files.  */

#include "runtime/cgroup.h"
#include "runtime/resources.h"
#include "runtime/spec.h"
#include "tap.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

static const char *
value_of (const struct hutch_spec *spec, const char *file)
{
  size_t i;
  for (i = 0; i < spec->n_resources; i++)
    if (strcmp (spec->resources[i].file, file) == 0)
      return spec->resources[i].value;
  return NULL;
}

static void
bytes (const char *in, long long want)
{
  int64_t v = -1;
  int r = hutch_parse_bytes (in, &v);
  if (want < 0)
    ok (r < 0, "size `%s` is refused", in);
  else
    ok (r == 0 && v == want, "size `%s` = %lld (got %lld)", in, want, (long long)v);
}

/* Run the options in OPT (pairs of field name and value) and check FILE's
   value.  */
static struct hutch_spec *
limits (struct hutch_limits *l, hutch_error_t *err)
{
  struct hutch_spec *spec = hutch_spec_new ();
  if (hutch_limits_to_spec (l, spec, err) < 0)
    {
      hutch_spec_free (spec);
      return NULL;
    }
  return spec;
}

static void
check_file (struct hutch_spec *spec, const char *file, const char *want)
{
  const char *got = spec ? value_of (spec, file) : NULL;
  if (want == NULL)
    ok (got == NULL, "%s is not written (got %s)", file, got ? got : "nothing");
  else
    ok (got && strcmp (got, want) == 0, "%s = `%s` (got `%s`)", file, want, got ? got : "nothing");
}

static void
bad (struct hutch_limits *l, const char *why)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_spec *spec = limits (l, &err);
  ok (spec == NULL, "refused: %s", why);
  has_str (err.msg, why, "  the message says `%s` (%s)", why, err.msg ? err.msg : "");
  hutch_spec_free (spec);
  hutch_error_clear (&err);
  hutch_limits_clear (l);
}

static struct hutch_spec *
oci (const char *resources, hutch_error_t *err)
{
  struct hutch_spec *spec = NULL;
  _cleanup_free_ char *text = hutch_xasprintf (
      "{\"ociVersion\": \"1.0.2\", \"process\": {\"args\": [\"true\"], \"cwd\": \"/\"},"
      " \"root\": {\"path\": \"rootfs\"}, \"linux\": {\"resources\": %s}}",
      resources);
  if (hutch_spec_parse_json (text, "/bundle", &spec, err) < 0)
    return NULL;
  return spec;
}

static void
oci_bad (const char *resources, const char *why)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_spec *spec = oci (resources, &err);
  ok (spec == NULL, "config.json resources %s refused", resources);
  has_str (err.msg, why, "  the message says `%s` (%s)", why, err.msg ? err.msg : "");
  hutch_spec_free (spec);
  hutch_error_clear (&err);
}

/* Limits on hosts whose cgroup v2 lacks the controllers: said before
   delegation, with the administrator's fix.  */
static void
test_v2_missing (void)
{
  struct hutch_cgroup_host h = { 0 };
  const char *const memory[] = { "memory", NULL };
  const char *const io[] = { "io", NULL };
  char *why;

  /* Hybrid: cgroup2 without controllers, v1 holding them (this is how
     Debian 10 or CentOS 8 come).  */
  h.mount = (char *)"/sys/fs/cgroup/unified";
  h.v1 = true;
  h.v1_controllers = (char *)"cpu cpuacct memory blkio pids";
  h.v2_controllers = (char *)"";
  why = hutch_cgroup_v2_missing (&h, memory);
  has_str (why, "hybrid", "hybrid: says so");
  has_str (why, "fix: an administrator boots the host with systemd.unified_cgroup_hierarchy=1",
           "hybrid: the administrator's fix");
  ok (why && strstr (why, "delegat") && !strstr (why, "systemd-run"),
      "hybrid: no advice to delegate, which cannot help");
  free (why);
  why = hutch_cgroup_v2_missing (&h, io);
  has_str (why, "the io controller", "io is held by v1 as blkio");
  free (why);
  why = hutch_cgroup_v2_missing (&h, NULL);
  has_str (why, "memory, pids, cpu and io controllers", "the options' controllers v1 holds");
  free (why);

  /* v1 only: no cgroup2 mount at all.  */
  h.mount = NULL;
  why = hutch_cgroup_v2_missing (&h, memory);
  has_str (why, "only cgroup v1", "v1 only: says so");
  free (why);

  /* Pure v2: whether it is delegated is another question.  */
  h.mount = (char *)"/sys/fs/cgroup";
  h.v1 = false;
  h.v1_controllers = NULL;
  h.v2_controllers = (char *)"cpuset cpu io memory hugetlb pids rdma misc";
  ok (hutch_cgroup_v2_missing (&h, NULL) == NULL, "pure v2 with the controllers: nothing missing");
  /* A controller v2 lacks that v1 does not hold either (a cgroup
     namespace showing a subtree): not this message.  */
  h.v2_controllers = (char *)"pids";
  ok (hutch_cgroup_v2_missing (&h, memory) == NULL, "missing from v2 but not v1's: not this one");
  /* No cgroups mounted at all.  */
  h.mount = NULL;
  ok (hutch_cgroup_v2_missing (&h, memory) == NULL, "no cgroup file system: not this one");
}

int
main (void)
{
  struct hutch_limits l = { 0 };
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_spec *spec;

  bytes ("100", 100);
  bytes ("100b", 100);
  bytes ("1k", 1024);
  bytes ("256m", 268435456);
  bytes ("256M", 268435456);
  bytes ("256mb", 268435456);
  bytes ("256MiB", 268435456);
  bytes ("1g", 1073741824LL);
  bytes ("1.5g", 1610612736LL);
  bytes ("2t", 2199023255552LL);
  bytes ("12q", -1);
  bytes ("", -1);
  bytes ("m", -1);
  bytes ("-5m", -1);
  bytes ("5mm", -1);
  bytes ("99999999t", -1);

  /* Docker's conversions, as runc and crun make them.  */
  ok (hutch_cpu_shares_to_weight (2) == 1, "shares 2 -> weight 1");
  ok (hutch_cpu_shares_to_weight (1024) == 100, "shares 1024 -> weight 100 (v2's default)");
  ok (hutch_cpu_shares_to_weight (512) == 59, "shares 512 -> weight 59");
  ok (hutch_cpu_shares_to_weight (4096) == 303, "shares 4096 -> weight 303");
  ok (hutch_cpu_shares_to_weight (262144) == 10000, "shares 262144 -> weight 10000");
  ok (hutch_blkio_weight_to_io_weight (10) == 1, "blkio 10 -> io 1");
  ok (hutch_blkio_weight_to_io_weight (1000) == 10000, "blkio 1000 -> io 10000");
  ok (hutch_blkio_weight_to_io_weight (500) == 4950, "blkio 500 -> io 4950");

  /* --memory alone: the default swap is as much again, implied.  */
  l.memory = hutch_xstrdup ("256m");
  spec = limits (&l, &err);
  ok (spec != NULL, "--memory 256m (%s)", err.msg ? err.msg : "");
  check_file (spec, "memory.max", "268435456");
  check_file (spec, "memory.swap.max", "268435456");
  ok (spec && spec->n_resources == 2 && spec->resources[1].implied, "the swap is implied");
  hutch_spec_free (spec);
  hutch_limits_clear (&l);

  l.memory = hutch_xstrdup ("64m");
  l.memory_swap = hutch_xstrdup ("100m");
  l.memory_reservation = hutch_xstrdup ("32m");
  spec = limits (&l, &err);
  check_file (spec, "memory.swap.max", "37748736");
  check_file (spec, "memory.low", "33554432");
  ok (spec && !spec->resources[1].implied, "an asked-for swap is not implied");
  hutch_spec_free (spec);
  hutch_limits_clear (&l);

  l.memory = hutch_xstrdup ("64m");
  l.memory_swap = hutch_xstrdup ("-1");
  spec = limits (&l, &err);
  check_file (spec, "memory.swap.max", "max");
  hutch_spec_free (spec);
  hutch_limits_clear (&l);

  l.pids_limit = hutch_xstrdup ("100");
  l.cpus = hutch_xstrdup ("0.5");
  l.cpu_shares = hutch_xstrdup ("512");
  l.cpuset_cpus = hutch_xstrdup ("0-1,3");
  l.cpuset_mems = hutch_xstrdup ("0");
  l.blkio_weight = hutch_xstrdup ("300");
  hutch_strv_push (&l.conf, hutch_xstrdup ("memory.high=1G"));
  hutch_strv_push (&l.conf, hutch_xstrdup ("cgroup.max.descendants=5"));
  spec = limits (&l, &err);
  ok (spec != NULL, "the other options (%s)", err.msg ? err.msg : "");
  check_file (spec, "pids.max", "100");
  check_file (spec, "cpu.max", "50000 100000");
  check_file (spec, "cpu.weight", "59");
  check_file (spec, "cpuset.cpus", "0-1,3");
  check_file (spec, "cpuset.mems", "0");
  check_file (spec, "io.weight", "default 2930");
  check_file (spec, "memory.high", "1G");
  check_file (spec, "cgroup.max.descendants", "5");
  check_file (spec, "memory.max", NULL);
  hutch_spec_free (spec);
  hutch_limits_clear (&l);

  /* Docker's zeros (and -1 for pids) leave the default: nothing written,
     no controller needed.  */
  l.pids_limit = hutch_xstrdup ("-1");
  l.cpus = hutch_xstrdup ("0");
  l.cpu_shares = hutch_xstrdup ("0");
  l.blkio_weight = hutch_xstrdup ("0");
  l.memory = hutch_xstrdup ("64m");
  l.memory_swap = hutch_xstrdup ("0");
  spec = limits (&l, &err);
  ok (spec && spec->n_resources == 2, "zeros write nothing (%zu settings)",
      spec ? spec->n_resources : 0);
  check_file (spec, "pids.max", NULL);
  check_file (spec, "cpu.max", NULL);
  check_file (spec, "cpu.weight", NULL);
  check_file (spec, "io.weight", NULL);
  check_file (spec, "memory.swap.max", "67108864");
  hutch_spec_free (spec);
  hutch_limits_clear (&l);
  l.pids_limit = hutch_xstrdup ("0");
  spec = limits (&l, &err);
  ok (spec && spec->n_resources == 0, "--pids-limit 0 writes nothing");
  hutch_spec_free (spec);
  hutch_limits_clear (&l);
  hutch_strv_push (&l.conf, hutch_xstrdup ("hugetlb.2MB.max=0"));
  spec = limits (&l, &err);
  check_file (spec, "hugetlb.2MB.max", "0");
  hutch_spec_free (spec);
  hutch_limits_clear (&l);

  /* A later --cgroup-conf of the same file wins, and is not implied.  */
  l.memory = hutch_xstrdup ("64m");
  hutch_strv_push (&l.conf, hutch_xstrdup ("memory.swap.max=0"));
  spec = limits (&l, &err);
  check_file (spec, "memory.swap.max", "0");
  ok (spec && !spec->resources[1].implied, "--cgroup-conf overrides the implied swap");
  hutch_spec_free (spec);
  hutch_limits_clear (&l);

  ok (!hutch_limits_any (&l), "no limit when nothing is given");

  l.memory = hutch_xstrdup ("12q");
  bad (&l, "--memory `12q`: not a size");
  l.memory = hutch_xstrdup ("5m");
  bad (&l, "below the minimum of 6m");
  l.memory_swap = hutch_xstrdup ("1g");
  bad (&l, "--memory-swap needs --memory");
  l.memory = hutch_xstrdup ("1g");
  l.memory_swap = hutch_xstrdup ("512m");
  bad (&l, "--memory-swap 512m is below --memory 1g");
  l.memory = hutch_xstrdup ("1g");
  l.memory_reservation = hutch_xstrdup ("2g");
  bad (&l, "--memory-reservation 2g is above --memory 1g");
  l.pids_limit = hutch_xstrdup ("-2");
  bad (&l, "--pids-limit `-2`");
  l.pids_limit = hutch_xstrdup ("12x");
  bad (&l, "--pids-limit `12x`");
  l.cpus = hutch_xstrdup ("0.005");
  bad (&l, "below the minimum of 0.01");
  l.cpus = hutch_xstrdup ("-1");
  bad (&l, "--cpus `-1`");
  l.cpus = hutch_xstrdup ("nan");
  bad (&l, "--cpus `nan`");
  l.cpu_shares = hutch_xstrdup ("1");
  bad (&l, "--cpu-shares `1`");
  l.cpuset_cpus = hutch_xstrdup ("0--1");
  bad (&l, "--cpuset-cpus `0--1`");
  l.cpuset_cpus = hutch_xstrdup (",0");
  bad (&l, "--cpuset-cpus `,0`");
  l.cpuset_mems = hutch_xstrdup ("0;1");
  bad (&l, "--cpuset-mems `0;1`");
  l.blkio_weight = hutch_xstrdup ("1001");
  bad (&l, "--blkio-weight `1001`");
  hutch_strv_push (&l.conf, hutch_xstrdup ("memory.max"));
  bad (&l, "give KEY=VALUE");
  hutch_strv_push (&l.conf, hutch_xstrdup ("cgroup.subtree_control=+memory"));
  bad (&l, "`cgroup.subtree_control` cannot be set");
  hutch_strv_push (&l.conf, hutch_xstrdup ("cgroup.kill=1"));
  bad (&l, "`cgroup.kill` cannot be set");
  hutch_strv_push (&l.conf, hutch_xstrdup ("../../cgroup.procs=1"));
  bad (&l, "is not a cgroup file name");
  hutch_strv_push (&l.conf, hutch_xstrdup ("memory=1"));
  bad (&l, "is not a cgroup file name");
  hutch_strv_push (&l.conf, hutch_xstrdup ("io.pressure=x"));
  bad (&l, "pressure-stall");
  hutch_strv_push (&l.conf, hutch_xstrdup ("memory.high=1\n2"));
  bad (&l, "the value holds a newline");

  {
    char *c = hutch_cgroup_key_controller ("memory.swap.max");
    is_str (c, "memory", "memory.swap.max needs the memory controller");
    free (c);
    ok (hutch_cgroup_key_controller ("cgroup.max.depth") == NULL,
        "cgroup.max.depth needs no controller");
  }

  /* config.json */
  spec = oci ("{\"memory\": {\"limit\": 67108864, \"reservation\": 33554432, \"swap\": "
              "100663296}, \"pids\": {\"limit\": 32}, \"cpu\": {\"shares\": 1024, \"quota\": "
              "50000, \"period\": 200000, \"cpus\": \"0\", \"mems\": \"0\"}, \"blockIO\": "
              "{\"weight\": 500}, \"unified\": {\"memory.high\": \"50000000\"}, \"devices\": "
              "[{\"allow\": false, \"access\": \"rwm\"}]}",
              &err);
  ok (spec != NULL, "linux.resources parses (%s)", err.msg ? err.msg : "");
  check_file (spec, "memory.max", "67108864");
  check_file (spec, "memory.low", "33554432");
  check_file (spec, "memory.swap.max", "33554432");
  check_file (spec, "pids.max", "32");
  check_file (spec, "cpu.weight", "100");
  check_file (spec, "cpu.max", "50000 200000");
  check_file (spec, "cpuset.cpus", "0");
  check_file (spec, "cpuset.mems", "0");
  check_file (spec, "io.weight", "default 4950");
  check_file (spec, "memory.high", "50000000");
  hutch_spec_free (spec);
  hutch_error_clear (&err);

  spec = oci ("{\"memory\": {\"limit\": -1, \"swap\": -1}, \"pids\": {\"limit\": -1}}", &err);
  check_file (spec, "memory.max", "max");
  check_file (spec, "memory.swap.max", "max");
  check_file (spec, "pids.max", "max");
  hutch_spec_free (spec);
  hutch_error_clear (&err);

  /* runc's zeros: not set */
  spec = oci ("{\"memory\": {\"limit\": 0, \"reservation\": 0, \"swap\": 0}, \"pids\": "
              "{\"limit\": 0}, \"cpu\": {\"shares\": 0, \"quota\": 0, \"period\": 0}, "
              "\"blockIO\": {\"weight\": 0}}",
              &err);
  ok (spec && spec->n_resources == 0, "config.json zeros write nothing (%s)",
      err.msg ? err.msg : "");
  hutch_spec_free (spec);
  hutch_error_clear (&err);

  spec = oci ("{}", &err);
  ok (spec && spec->n_resources == 0, "empty resources: nothing to write");
  hutch_spec_free (spec);

  oci_bad ("{\"memory\": {\"kernel\": 1}}", "linux.resources.memory.kernel is not supported");
  oci_bad ("{\"memory\": {\"limit\": \"1g\"}}", "linux.resources.memory.limit must be an integer");
  oci_bad ("{\"memory\": {\"swap\": 1000}}", "it needs memory.limit");
  oci_bad ("{\"cpu\": {\"realtimeRuntime\": 1}}", "linux.resources.cpu.realtimeRuntime");
  oci_bad ("{\"cpu\": {\"cpus\": 3}}", "linux.resources.cpu.cpus must be a string");
  oci_bad ("{\"network\": {\"classID\": 1}}", "linux.resources.network is not supported");
  oci_bad ("{\"rdma\": {\"x\": {}}}", "linux.resources.rdma is not supported");
  oci_bad ("{\"devices\": [{\"allow\": true, \"access\": \"rwm\"}]}",
           "the rules must start with the one that denies every device");
  oci_bad ("{\"devices\": [{\"allow\": false, \"type\": \"c\", \"major\": 1, \"minor\": 3}]}",
           "the rules must start with the one that denies every device");
  /* 2^32 + 1 would be cut to 1 by the device program's 32-bit compare */
  oci_bad ("{\"devices\": [{\"allow\": false, \"access\": \"rwm\"}, {\"allow\": true, "
           "\"type\": \"c\", \"major\": 4294967297, \"minor\": 3, \"access\": \"rw\"}]}",
           "major must be a number from -1 (any) to 2147483647");
  oci_bad ("{\"devices\": [{\"allow\": false, \"access\": \"rwm\"}, {\"allow\": true, "
           "\"type\": \"c\", \"major\": 1, \"minor\": -2, \"access\": \"rw\"}]}",
           "minor must be a number from -1 (any) to 2147483647");
  oci_bad ("{\"unified\": {\"cgroup.procs\": \"1\"}}", "`cgroup.procs` cannot be set");
  oci_bad ("{\"unified\": {\"memory.max\": 5}}",
           "linux.resources.unified.memory.max must be a string");
  oci_bad ("[]", "linux.resources must be an object");
  oci_bad ("{\"blockIO\": {\"weight\": 5000}}", "blockIO.weight must be from 10 to 1000");
  oci_bad ("{\"cpu\": {\"shares\": 1}}", "cpu.shares must be from 2 to 262144");
  oci_bad ("{\"unified\": {\"memory.high\": \"1\\n2\"}}", "the value holds a newline");
  oci_bad ("{\"unified\": {\"Memory.high\": \"1\"}}", "is not a cgroup file name");

  test_v2_missing ();
  return tap_done ();
}
