/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "runtime/resources.h"
#include "runtime/spec.h"
#include "base/util.h"

#include <ctype.h>
#include <jansson.h>
#include <errno.h>
#include <math.h> /* isfinite: a macro, no libm */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Docker refuses less: a process cannot even start in less than a few
   MiB, and an immediate OOM kill explains nothing.  */
#define MIN_MEMORY (6 * 1024 * 1024)
/* The kernel's own lower bound for cpu.max's quota (1 ms).  */
#define MIN_CPU_QUOTA 1000
#define CPU_PERIOD 100000

void
hutch_limits_clear (struct hutch_limits *l)
{
  free (l->memory);
  free (l->memory_reservation);
  free (l->memory_swap);
  free (l->pids_limit);
  free (l->cpus);
  free (l->cpu_shares);
  free (l->cpuset_cpus);
  free (l->cpuset_mems);
  free (l->blkio_weight);
  hutch_strv_free (l->conf);
  memset (l, 0, sizeof *l);
}

bool
hutch_limits_any (const struct hutch_limits *l)
{
  return l->memory || l->memory_reservation || l->memory_swap || l->pids_limit || l->cpus
         || l->cpu_shares || l->cpuset_cpus || l->cpuset_mems || l->blkio_weight
         || (l->conf && l->conf[0]);
}

int
hutch_parse_bytes (const char *s, int64_t *ret)
{
  static const char units[] = "bkmgt";
  const char *p = s, *u;
  double v;
  char *end;
  int shift = 0;

  if (!isdigit ((unsigned char)*p))
    return -1;
  errno = 0;
  v = strtod (p, &end);
  if (errno || end == p || !isfinite (v))
    return -1;
  p = end;
  if (*p == ' ')
    p++;
  if (*p)
    {
      u = strchr (units, tolower ((unsigned char)*p));
      if (u == NULL)
        return -1;
      shift = (int)(u - units) * 10;
      p++;
      /* "mb", "MiB": the b (and i) add nothing */
      if (shift && (*p == 'i' || *p == 'I'))
        p++;
      if (shift && (*p == 'b' || *p == 'B'))
        p++;
      if (*p)
        return -1;
    }
  v *= (double)(1ULL << shift);
  if (v >= 9.2e18)
    return -1;
  *ret = (int64_t)v;
  return 0;
}

/* ln(x) for x > 0 and e^x, enough for the mapping below without linking
   libm into every start of hutch.  */
static double
ln (double x)
{
  double y, y2, term, sum = 0;
  int k = 0, i;
  while (x > 2)
    {
      x /= 2;
      k++;
    }
  while (x < 1)
    {
      x *= 2;
      k--;
    }
  /* ln x = 2 atanh((x-1)/(x+1)), |y| <= 1/3 here */
  y = (x - 1) / (x + 1);
  y2 = y * y;
  term = y;
  for (i = 1; i < 60; i += 2)
    {
      sum += term / i;
      term *= y2;
    }
  return 2 * sum + k * 0.69314718055994530942;
}

static double
expo (double x)
{
  double r, term = 1, sum = 1;
  int k = (int)(x / 0.69314718055994530942), i;
  r = x - k * 0.69314718055994530942;
  for (i = 1; i < 30; i++)
    {
      term *= r / i;
      sum += term;
    }
  while (k-- > 0)
    sum *= 2;
  return sum;
}

uint64_t
hutch_cpu_shares_to_weight (uint64_t shares)
{
  double l, e, w;
  if (shares <= 2)
    return 1;
  if (shares >= 262144)
    return 10000;
  /* The mapping crun and runc use since 2024: a parabola in log space
     through (2, 1), (1024, 100) and (262144, 10000), so that Docker's
     default of 1024 gives cgroup v2's default weight of 100 (the older
     straight line gave 39).  */
  l = ln ((double)shares) / 0.69314718055994530942;
  e = (l * l + 125 * l) / 612.0 - 7.0 / 34.0;
  w = expo (e * 2.30258509299404568402);
  /* ceil, without the float noise at exact powers of ten */
  return (uint64_t)(w - 1e-9) + 1;
}

uint64_t
hutch_blkio_weight_to_io_weight (uint64_t weight)
{
  if (weight < 10)
    weight = 10;
  if (weight > 1000)
    weight = 1000;
  return 1 + ((weight - 10) * 9999) / 990;
}

char *
hutch_cgroup_key_controller (const char *key)
{
  const char *dot = strchr (key, '.');
  if (dot == NULL || hutch_str_has_prefix (key, "cgroup."))
    return NULL;
  return hutch_xstrndup (key, (size_t)(dot - key));
}

int
hutch_cgroup_key_check (const char *key, hutch_error_t *err)
{
  static const char *const allowed_core[] = { "cgroup.max.depth", "cgroup.max.descendants" };
  size_t i, n = strlen (key);

  if (n == 0 || n > 64 || strchr (key, '.') == NULL || key[0] == '.' || key[n - 1] == '.')
    return hutch_error_set (err, 0,
                            "`%s` is not a cgroup file name: give CONTROLLER.FILE=VALUE, "
                            "e.g. memory.high=1G",
                            key);
  for (i = 0; i < n; i++)
    {
      /* hugetlb.2MB.max: capitals after the controller's name */
      bool upper = isupper ((unsigned char)key[i]) && strchr (key, '.') < key + i;
      if (!(islower ((unsigned char)key[i]) || upper || isdigit ((unsigned char)key[i])
            || key[i] == '.' || key[i] == '_'))
        return hutch_error_set (err, 0,
                                "`%s` is not a cgroup file name (a lower-case controller, then "
                                "letters, digits, `.` and `_`)",
                                key);
    }
  if (hutch_str_has_prefix (key, "cgroup."))
    {
      for (i = 0; i < sizeof allowed_core / sizeof allowed_core[0]; i++)
        if (strcmp (key, allowed_core[i]) == 0)
          return 0;
      /* cgroup.procs, .subtree_control, .kill, .type, .freeze belong to
         hutch's handling of the cgroup, not to its configuration.  */
      return hutch_error_set (err, 0,
                              "`%s` cannot be set: of the cgroup.* files only cgroup.max.depth "
                              "and cgroup.max.descendants are configuration",
                              key);
    }
  if (n > 9 && strcmp (key + n - 9, ".pressure") == 0)
    return hutch_error_set (err, 0, "`%s` is a pressure-stall file to read, not a setting", key);
  return 0;
}

static int
bytes_option (const char *option, const char *value, int64_t *ret, hutch_error_t *err)
{
  if (hutch_parse_bytes (value, ret) < 0)
    return hutch_error_set (err, 0,
                            "%s `%s`: not a size; give a number of bytes with an optional unit "
                            "b, k, m or g (e.g. 256m)",
                            option, value);
  return 0;
}

static int
memory_to_spec (const struct hutch_limits *l, struct hutch_spec *spec, hutch_error_t *err)
{
  int64_t mem = -1, swap = 0, res;

  if (l->memory)
    {
      if (bytes_option ("--memory", l->memory, &mem, err) < 0)
        return -1;
      if (mem < MIN_MEMORY)
        return hutch_error_set (err, 0, "--memory %s is below the minimum of 6m (6 MiB)",
                                l->memory);
      hutch_spec_add_resource (spec, "memory.max", hutch_xasprintf ("%lld", (long long)mem), false);
    }
  if (l->memory_reservation)
    {
      if (bytes_option ("--memory-reservation", l->memory_reservation, &res, err) < 0)
        return -1;
      if (mem >= 0 && res > mem)
        return hutch_error_set (err, 0,
                                "--memory-reservation %s is above --memory %s: the reservation "
                                "is a soft limit below the hard one",
                                l->memory_reservation, l->memory);
      hutch_spec_add_resource (spec, "memory.low", hutch_xasprintf ("%lld", (long long)res), false);
    }
  if (l->memory_swap && strcmp (l->memory_swap, "0") != 0)
    {
      /* Docker's --memory-swap is memory and swap together; v2 limits the
         swap alone.  -1 is "swap without limit", 0 the default.  */
      if (mem < 0)
        return hutch_error_set (err, 0,
                                "--memory-swap needs --memory: it is the limit of memory and "
                                "swap together");
      if (strcmp (l->memory_swap, "-1") == 0)
        hutch_spec_add_resource (spec, "memory.swap.max", hutch_xstrdup ("max"), false);
      else
        {
          if (bytes_option ("--memory-swap", l->memory_swap, &swap, err) < 0)
            return -1;
          if (swap < mem)
            return hutch_error_set (err, 0,
                                    "--memory-swap %s is below --memory %s: it counts memory "
                                    "and swap together, so it must be at least --memory",
                                    l->memory_swap, l->memory);
          hutch_spec_add_resource (spec, "memory.swap.max",
                                   hutch_xasprintf ("%lld", (long long)(swap - mem)), false);
        }
    }
  else if (mem >= 0)
    /* Docker's default: as much swap as memory.  Where the kernel keeps no
       swap accounting the file is missing, and nothing was asked.  */
    hutch_spec_add_resource (spec, "memory.swap.max", hutch_xasprintf ("%lld", (long long)mem),
                             true);
  return 0;
}

static int
cpu_to_spec (const struct hutch_limits *l, struct hutch_spec *spec, hutch_error_t *err)
{
  if (l->cpus)
    {
      char *end;
      double v;
      errno = 0;
      v = strtod (l->cpus, &end);
      if (errno || end == l->cpus || *end || !isfinite (v) || v < 0 || v > 1e6)
        return hutch_error_set (err, 0, "--cpus `%s`: give a number of CPUs, e.g. 0.5 or 2",
                                l->cpus);
      if (v == 0)
        ; /* Docker's "no limit": nothing to write, no controller needed */
      else
        {
          uint64_t quota = (uint64_t)(v * CPU_PERIOD + 0.5);
          if (quota < MIN_CPU_QUOTA)
            return hutch_error_set (err, 0,
                                    "--cpus %s is below the minimum of 0.01: the kernel "
                                    "schedules in slices of at least 1 ms per 100 ms",
                                    l->cpus);
          hutch_spec_add_resource (
              spec, "cpu.max", hutch_xasprintf ("%llu %d", (unsigned long long)quota, CPU_PERIOD),
              false);
        }
    }
  if (l->cpu_shares)
    {
      unsigned int shares;
      if (hutch_parse_u32 (l->cpu_shares, &shares) < 0 || shares == 1 || shares > 262144)
        return hutch_error_set (err, 0,
                                "--cpu-shares `%s`: give a relative weight from 2 to 262144 "
                                "(1024 is the default; 0 leaves it)",
                                l->cpu_shares);
      if (shares)
        hutch_spec_add_resource (
            spec, "cpu.weight",
            hutch_xasprintf ("%llu", (unsigned long long)hutch_cpu_shares_to_weight (shares)),
            false);
    }
  return 0;
}

/* "0-3,5": CPU or memory node lists; the kernel checks them against what
   the parent cgroup has.  */
static int
cpuset_to_spec (struct hutch_spec *spec, const char *option, const char *value, const char *file,
                hutch_error_t *err)
{
  size_t i;
  if (value == NULL)
    return 0;
  if (*value == '\0' || strspn (value, "0123456789,-") != strlen (value))
    return hutch_error_set (err, 0, "%s `%s`: give a list such as 0-3 or 0,2", option, value);
  for (i = 0; value[i]; i++)
    if (!isdigit ((unsigned char)value[i])
        && (i == 0 || !isdigit ((unsigned char)value[i - 1])
            || !isdigit ((unsigned char)value[i + 1])))
      return hutch_error_set (err, 0, "%s `%s`: give a list such as 0-3 or 0,2", option, value);
  hutch_spec_add_resource (spec, file, hutch_xstrdup (value), false);
  return 0;
}

int
hutch_limits_to_spec (const struct hutch_limits *l, struct hutch_spec *spec, hutch_error_t *err)
{
  size_t i;

  if (memory_to_spec (l, spec, err) < 0)
    return -1;
  if (l->pids_limit)
    {
      char *end;
      long long n;
      errno = 0;
      n = strtoll (l->pids_limit, &end, 10);
      if (errno || end == l->pids_limit || *end || n < -1)
        return hutch_error_set (err, 0,
                                "--pids-limit `%s`: give a number of processes (-1 or 0: "
                                "no limit)",
                                l->pids_limit);
      /* -1 and 0 are Docker's "no limit", which a new cgroup has */
      if (n > 0)
        hutch_spec_add_resource (spec, "pids.max", hutch_xasprintf ("%lld", n), false);
    }
  if (cpu_to_spec (l, spec, err) < 0)
    return -1;
  if (cpuset_to_spec (spec, "--cpuset-cpus", l->cpuset_cpus, "cpuset.cpus", err) < 0
      || cpuset_to_spec (spec, "--cpuset-mems", l->cpuset_mems, "cpuset.mems", err) < 0)
    return -1;
  if (l->blkio_weight)
    {
      unsigned int w;
      if (hutch_parse_u32 (l->blkio_weight, &w) < 0 || (w != 0 && w < 10) || w > 1000)
        return hutch_error_set (err, 0,
                                "--blkio-weight `%s`: give a weight from 10 to 1000 (0 leaves it)",
                                l->blkio_weight);
      if (w)
        hutch_spec_add_resource (
            spec, "io.weight",
            hutch_xasprintf ("default %llu",
                             (unsigned long long)hutch_blkio_weight_to_io_weight (w)),
            false);
    }
  for (i = 0; l->conf && l->conf[i]; i++)
    {
      const char *eq = strchr (l->conf[i], '=');
      _cleanup_free_ char *key = NULL;
      if (eq == NULL)
        return hutch_error_set (err, 0, "--cgroup-conf `%s`: give KEY=VALUE, e.g. memory.high=1g",
                                l->conf[i]);
      key = hutch_xstrndup (l->conf[i], (size_t)(eq - l->conf[i]));
      if (hutch_cgroup_key_check (key, err) < 0)
        return hutch_error_prefix (err, "--cgroup-conf");
      if (strchr (eq + 1, '\n'))
        return hutch_error_set (err, 0, "--cgroup-conf %s: the value holds a newline", key);
      hutch_spec_add_resource (spec, key, hutch_xstrdup (eq + 1), false);
    }
  return 0;
}

/* linux.resources of an OCI config.  Every field is either turned into a
   cgroup v2 setting or refused: a runtime that drops a limit silently
   leaves the user believing in it.  */

static int
refuse_others (json_t *obj, const char *what, const char *const *known, hutch_error_t *err)
{
  const char *key;
  json_t *v;
  json_object_foreach (obj, key, v)
  {
    size_t i;
    bool ok = json_is_null (v);
    for (i = 0; !ok && known[i]; i++)
      ok = strcmp (key, known[i]) == 0;
    if (!ok)
      return hutch_error_set (err, 0,
                              "linux.resources.%s.%s is not supported by hutch; remove it from "
                              "config.json",
                              what, key);
  }
  return 0;
}

static int
get_int (json_t *obj, const char *key, const char *what, bool *ret_set, json_int_t *ret,
         hutch_error_t *err)
{
  json_t *v = json_object_get (obj, key);
  *ret_set = false;
  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_integer (v))
    return hutch_error_set (err, 0, "linux.resources.%s.%s must be an integer", what, key);
  *ret = json_integer_value (v);
  *ret_set = true;
  return 0;
}

static int
oci_memory (json_t *m, struct hutch_spec *spec, hutch_error_t *err)
{
  static const char *const known[] = { "limit", "reservation", "swap", NULL };
  json_int_t limit = -1, res = 0, swap = 0;
  bool has_limit, has_res, has_swap;

  if (refuse_others (m, "memory", known, err) < 0
      || get_int (m, "limit", "memory", &has_limit, &limit, err) < 0
      || get_int (m, "reservation", "memory", &has_res, &res, err) < 0
      || get_int (m, "swap", "memory", &has_swap, &swap, err) < 0)
    return -1;
  /* As in runc, 0 means "not set" throughout.  */
  has_limit = has_limit && limit != 0;
  has_res = has_res && res != 0;
  has_swap = has_swap && swap != 0;
  if (has_limit)
    hutch_spec_add_resource (
        spec, "memory.max",
        limit < 0 ? hutch_xstrdup ("max") : hutch_xasprintf ("%lld", (long long)limit), false);
  if (has_res)
    hutch_spec_add_resource (
        spec, "memory.low",
        res < 0 ? hutch_xstrdup ("max") : hutch_xasprintf ("%lld", (long long)res), false);
  if (has_swap)
    {
      /* As in runc: swap counts memory and swap together.  */
      if (swap < 0)
        hutch_spec_add_resource (spec, "memory.swap.max", hutch_xstrdup ("max"), false);
      else if (!has_limit || limit < 0 || swap < limit)
        return hutch_error_set (err, 0,
                                "linux.resources.memory.swap counts memory and swap together: "
                                "it needs memory.limit, and must be at least as large");
      else
        hutch_spec_add_resource (spec, "memory.swap.max",
                                 hutch_xasprintf ("%lld", (long long)(swap - limit)), false);
    }
  return 0;
}

static int
oci_cpu (json_t *c, struct hutch_spec *spec, hutch_error_t *err)
{
  static const char *const known[] = { "shares", "quota", "period", "cpus", "mems", NULL };
  json_int_t shares = 0, quota = 0, period = CPU_PERIOD;
  bool has_shares, has_quota, has_period;
  const char *set[2] = { "cpus", "mems" };
  size_t i;

  if (refuse_others (c, "cpu", known, err) < 0
      || get_int (c, "shares", "cpu", &has_shares, &shares, err) < 0
      || get_int (c, "quota", "cpu", &has_quota, &quota, err) < 0
      || get_int (c, "period", "cpu", &has_period, &period, err) < 0)
    return -1;
  if (has_shares && (shares < 0 || shares == 1 || shares > 262144))
    return hutch_error_set (err, 0, "linux.resources.cpu.shares must be from 2 to 262144");
  /* 1024 shares are cgroup v1's default, which engines write for every
     container (containerd does): weight 100, which is also a new cgroup
     v2's own.  It asks for nothing, so it is implied: where the cpu
     controller is not to be had (v1 holds it), it is not a limit that
     cannot be applied.  */
  if (has_shares && shares > 0)
    hutch_spec_add_resource (
        spec, "cpu.weight",
        hutch_xasprintf ("%llu", (unsigned long long)hutch_cpu_shares_to_weight ((uint64_t)shares)),
        shares == 1024);
  if ((has_quota && quota != 0) || (has_period && period != 0))
    {
      if (period <= 0)
        period = CPU_PERIOD;
      hutch_spec_add_resource (
          spec, "cpu.max",
          has_quota && quota > 0
              ? hutch_xasprintf ("%lld %lld", (long long)quota, (long long)period)
              : hutch_xasprintf ("max %lld", (long long)period),
          false);
    }
  for (i = 0; i < 2; i++)
    {
      json_t *v = json_object_get (c, set[i]);
      _cleanup_free_ char *file = hutch_xasprintf ("cpuset.%s", set[i]);
      if (v == NULL || json_is_null (v) || (json_is_string (v) && !*json_string_value (v)))
        continue;
      if (!json_is_string (v))
        return hutch_error_set (err, 0, "linux.resources.cpu.%s must be a string", set[i]);
      if (cpuset_to_spec (spec, set[i], json_string_value (v), file, err) < 0)
        return -1;
    }
  return 0;
}

/* An allow rule of linux.resources.devices into SPEC's device_rules.  */
static int
oci_device_allow (json_t *d, size_t i, struct hutch_spec *spec, hutch_error_t *err)
{
  json_t *type = json_object_get (d, "type"), *access = json_object_get (d, "access");
  json_t *major = json_object_get (d, "major"), *minor = json_object_get (d, "minor");
  struct hutch_device_rule r = { 'a', -1, -1, 0 };
  const char *a;

  if (type && !json_is_null (type))
    {
      const char *t = json_is_string (type) ? json_string_value (type) : "";
      if (strlen (t) != 1 || !strchr ("acb", t[0]))
        return hutch_error_set (err, 0, "linux.resources.devices[%zu].type must be a, c or b", i);
      r.type = t[0];
    }
  if (major && !json_is_null (major))
    {
      /* The device program compares it as a 32-bit immediate: a larger
         one would be cut, and allow another device.  */
      if (!json_is_integer (major) || json_integer_value (major) < -1
          || json_integer_value (major) > INT32_MAX)
        return hutch_error_set (err, 0,
                                "linux.resources.devices[%zu].major must be a number from -1 "
                                "(any) to %d",
                                i, INT32_MAX);
      r.major = json_integer_value (major);
    }
  if (minor && !json_is_null (minor))
    {
      /* The device program compares it as a 32-bit immediate: a larger
         one would be cut, and allow another device.  */
      if (!json_is_integer (minor) || json_integer_value (minor) < -1
          || json_integer_value (minor) > INT32_MAX)
        return hutch_error_set (err, 0,
                                "linux.resources.devices[%zu].minor must be a number from -1 "
                                "(any) to %d",
                                i, INT32_MAX);
      r.minor = json_integer_value (minor);
    }
  a = access && !json_is_null (access) ? json_is_string (access) ? json_string_value (access) : "?"
                                       : "rwm";
  for (; *a; a++)
    {
      if (*a == 'r')
        r.access |= HUTCH_DEV_READ;
      else if (*a == 'w')
        r.access |= HUTCH_DEV_WRITE;
      else if (*a == 'm')
        r.access |= HUTCH_DEV_MKNOD;
      else
        return hutch_error_set (
            err, 0, "linux.resources.devices[%zu].access must be made of r, w and m", i);
    }
  spec->device_rules = hutch_xrealloc (spec->device_rules, (spec->n_device_rules + 1) * sizeof r);
  spec->device_rules[spec->n_device_rules++] = r;
  return 0;
}

/* The device rules a runtime can honour: first the one that denies
   everything, then rules that allow (as containerd and podman write
   them).  Rootless, the kernel keeps the first (mknod needs CAP_MKNOD in
   the initial user namespace, and the container opens only the nodes
   hutch binds, as far as the user can): the allow rules give nothing
   more there.  For the host's root, a device program on the container's
   cgroup holds them all (devices.c).  A deny rule after an allow one
   (exceptions to exceptions) is refused.  */
static int
oci_devices (json_t *arr, struct hutch_spec *spec, hutch_error_t *err)
{
  size_t i;
  json_t *d;
  if (!json_is_array (arr))
    return hutch_error_set (err, 0, "linux.resources.devices must be an array");
  json_array_foreach (arr, i, d)
  {
    json_t *allow = json_object_get (d, "allow"), *type = json_object_get (d, "type");
    json_t *access = json_object_get (d, "access"), *major = json_object_get (d, "major");
    json_t *minor = json_object_get (d, "minor");
    bool all = (type == NULL || json_is_null (type)
                || (json_is_string (type) && strcmp (json_string_value (type), "a") == 0))
               && (major == NULL || json_is_null (major)
                   || (json_is_integer (major) && json_integer_value (major) == -1))
               && (minor == NULL || json_is_null (minor)
                   || (json_is_integer (minor) && json_integer_value (minor) == -1));
    if (i > 0 && json_is_true (allow))
      {
        if (oci_device_allow (d, i, spec, err) < 0)
          return -1;
        continue;
      }
    if (!(json_is_false (allow) && all
          && (access == NULL || json_is_null (access)
              || (json_is_string (access) && strcmp (json_string_value (access), "rwm") == 0)))
        || spec->n_device_rules > 0)
      return hutch_error_set (err, 0,
                              "linux.resources.devices[%zu]: the rules must start with the one "
                              "that denies every device ({\"allow\": false, \"access\": "
                              "\"rwm\"}), and only rules that allow may follow it",
                              i);
  }
  return 0;
}

static int
oci_pids (json_t *v, struct hutch_spec *spec, hutch_error_t *err)
{
  static const char *const pk[] = { "limit", NULL };
  json_int_t n = 0;
  bool has;
  if (refuse_others (v, "pids", pk, err) < 0 || get_int (v, "limit", "pids", &has, &n, err) < 0)
    return -1;
  if (has && n != 0)
    hutch_spec_add_resource (
        spec, "pids.max", n <= 0 ? hutch_xstrdup ("max") : hutch_xasprintf ("%lld", (long long)n),
        false);
  return 0;
}

static int
oci_blockio (json_t *v, struct hutch_spec *spec, hutch_error_t *err)
{
  static const char *const bk[] = { "weight", NULL };
  json_int_t w = 0;
  bool has;
  if (refuse_others (v, "blockIO", bk, err) < 0
      || get_int (v, "weight", "blockIO", &has, &w, err) < 0)
    return -1;
  if (has && w != 0 && (w < 10 || w > 1000))
    return hutch_error_set (err, 0, "linux.resources.blockIO.weight must be from 10 to 1000");
  if (has && w != 0)
    hutch_spec_add_resource (
        spec, "io.weight",
        hutch_xasprintf ("default %llu",
                         (unsigned long long)hutch_blkio_weight_to_io_weight ((uint64_t)w)),
        false);
  return 0;
}

/* linux.resources.unified: raw cgroup v2 files.  Each key is checked by
   hutch_cgroup_key_check and a value may not hold a newline, so that one
   entry cannot write a second file or a second line.  */
static int
oci_unified (json_t *v, struct hutch_spec *spec, hutch_error_t *err)
{
  const char *key;
  json_t *val;
  if (!json_is_object (v))
    return hutch_error_set (err, 0, "linux.resources.unified must be an object");
  json_object_foreach (v, key, val)
  {
    if (!json_is_string (val))
      return hutch_error_set (err, 0, "linux.resources.unified.%s must be a string", key);
    if (hutch_cgroup_key_check (key, err) < 0)
      return hutch_error_prefix (err, "linux.resources.unified");
    if (strchr (json_string_value (val), '\n'))
      return hutch_error_set (err, 0, "linux.resources.unified.%s: the value holds a newline", key);
    hutch_spec_add_resource (spec, key, hutch_xstrdup (json_string_value (val)), false);
  }
  return 0;
}

/* A resource hutch does not know is refused, not ignored, unless it is
   empty: a limit the user asked for would otherwise silently not apply.  */
static int
refuse_unknown_resources (json_t *res, hutch_error_t *err)
{
  static const char *const known[]
      = { "memory", "pids", "cpu", "blockIO", "unified", "devices", NULL };
  const char *key;
  json_t *v;

  json_object_foreach (res, key, v)
  {
    size_t i;
    bool ok = json_is_null (v) || (json_is_object (v) && json_object_size (v) == 0)
              || (json_is_array (v) && json_array_size (v) == 0);
    for (i = 0; !ok && known[i]; i++)
      ok = strcmp (key, known[i]) == 0;
    if (!ok)
      return hutch_error_set (err, 0,
                              "linux.resources.%s is not supported by hutch; remove it from "
                              "config.json",
                              key);
  }
  return 0;
}

int
hutch_resources_from_oci (void *json_resources, struct hutch_spec *spec, hutch_error_t *err)
{
  json_t *res = json_resources, *v;

  if (res == NULL || json_is_null (res))
    return 0;
  if (!json_is_object (res))
    return hutch_error_set (err, 0, "linux.resources must be an object");
  if (refuse_unknown_resources (res, err) < 0)
    return -1;
  v = json_object_get (res, "devices");
  if (v && !json_is_null (v) && oci_devices (v, spec, err) < 0)
    return -1;
  v = json_object_get (res, "memory");
  if (json_is_object (v) && oci_memory (v, spec, err) < 0)
    return -1;
  v = json_object_get (res, "cpu");
  if (json_is_object (v) && oci_cpu (v, spec, err) < 0)
    return -1;
  v = json_object_get (res, "pids");
  if (json_is_object (v) && oci_pids (v, spec, err) < 0)
    return -1;
  v = json_object_get (res, "blockIO");
  if (json_is_object (v) && oci_blockio (v, spec, err) < 0)
    return -1;
  v = json_object_get (res, "unified");
  if (v && !json_is_null (v) && oci_unified (v, spec, err) < 0)
    return -1;
  return 0;
}

/* ---- update: new limits for a running container --------------------- */

void
hutch_resources_free (struct hutch_resource *res, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++)
    {
      free (res[i].file);
      free (res[i].value);
    }
  free (res);
}

/* The cgroup file FILE of CGROUP_PATH, trimmed, or NULL.  */
static char *
current (const char *cgroup_path, const char *file)
{
  _cleanup_free_ char *p = hutch_xasprintf ("%s/%s", cgroup_path, file);
  hutch_error_t e = HUTCH_ERROR_INIT;
  char *text = NULL;
  size_t n;
  if (hutch_read_file (p, 4096, &text, NULL, &e) < 0)
    {
      hutch_error_clear (&e);
      return NULL;
    }
  n = strlen (text);
  while (n && isspace ((unsigned char)text[n - 1]))
    text[--n] = '\0';
  return text;
}

static bool
given (json_t *obj, const char *key)
{
  json_t *v = json_object_get (obj, key);
  return v && json_is_integer (v) && json_integer_value (v) != 0;
}

/* What an update leaves out that one of its values needs, from the
   cgroup as it is: memory.swap counts memory too (runc takes the limit
   the container has), and cpu.max holds quota and period together (a new
   quota keeps the period, a new period the quota).  */
static void
complete_from (json_t *res, const char *cgroup_path)
{
  json_t *m = json_object_get (res, "memory"), *c = json_object_get (res, "cpu");

  if (json_is_object (m) && given (m, "swap")
      && json_integer_value (json_object_get (m, "swap")) > 0 && !given (m, "limit"))
    {
      _cleanup_free_ char *max = current (cgroup_path, "memory.max");
      long long v;
      char *end;
      if (max && isdigit ((unsigned char)max[0]) && (v = strtoll (max, &end, 10), *end == '\0'))
        json_object_set_new (m, "limit", json_integer (v));
    }
  if (json_is_object (c) && (given (c, "quota") != given (c, "period")))
    {
      _cleanup_free_ char *max = current (cgroup_path, "cpu.max");
      char quota[32];
      long long period;
      if (max == NULL || sscanf (max, "%31s %lld", quota, &period) != 2)
        return;
      if (given (c, "quota"))
        json_object_set_new (c, "period", json_integer (period));
      else if (isdigit ((unsigned char)quota[0]))
        json_object_set_new (c, "quota", json_integer (strtoll (quota, NULL, 10)));
    }
}

int
hutch_resources_update_from_oci (void *json_resources, const char *cgroup_path,
                                 struct hutch_resource **ret, size_t *ret_n, hutch_error_t *err)
{
  json_t *res = json_resources, *copy;
  struct hutch_spec *spec;
  int r;

  if (res == NULL || !json_is_object (res))
    return hutch_error_set (err, 0,
                            "the update's resources must be a JSON object "
                            "(linux.resources of a config.json)");
  copy = json_deep_copy (res);
  if (cgroup_path)
    complete_from (copy, cgroup_path);
  spec = hutch_spec_new ();
  r = hutch_resources_from_oci (copy, spec, err);
  json_decref (copy);
  if (r < 0)
    {
      hutch_spec_free (spec);
      return -1;
    }
  *ret = spec->resources;
  *ret_n = spec->n_resources;
  spec->resources = NULL;
  spec->n_resources = 0;
  hutch_spec_free (spec);
  return 0;
}

/* runc update's flags, and where each goes in linux.resources.  */
enum flag_kind
{
  FLAG_BYTES,  /* a size, or -1 */
  FLAG_INT,    /* a signed integer */
  FLAG_UINT,   /* an unsigned integer */
  FLAG_STRING, /* a CPU or node list */
  FLAG_REFUSED,
};

static const struct
{
  const char *name, *object, *field;
  enum flag_kind kind;
  const char *why; /* FLAG_REFUSED */
} update_flags[] = {
  { "memory", "memory", "limit", FLAG_BYTES, NULL },
  { "memory-reservation", "memory", "reservation", FLAG_BYTES, NULL },
  { "memory-swap", "memory", "swap", FLAG_BYTES, NULL },
  { "cpu-shares", "cpu", "shares", FLAG_UINT, NULL },
  { "cpu-quota", "cpu", "quota", FLAG_INT, NULL },
  { "cpu-period", "cpu", "period", FLAG_UINT, NULL },
  { "cpuset-cpus", "cpu", "cpus", FLAG_STRING, NULL },
  { "cpuset-mems", "cpu", "mems", FLAG_STRING, NULL },
  { "pids-limit", "pids", "limit", FLAG_INT, NULL },
  { "blkio-weight", "blockIO", "weight", FLAG_UINT, NULL },
  { "kernel-memory", NULL, NULL, FLAG_REFUSED,
    "cgroup v2 has no separate kernel memory limit (memory.max counts kernel memory too)" },
  { "kernel-memory-tcp", NULL, NULL, FLAG_REFUSED,
    "cgroup v2 has no separate kernel TCP memory limit (memory.max counts it too)" },
  { "cpu-rt-period", NULL, NULL, FLAG_REFUSED,
    "cgroup v2 has no real-time CPU bandwidth (cpu.rt_period_us was cgroup v1's)" },
  { "cpu-rt-runtime", NULL, NULL, FLAG_REFUSED,
    "cgroup v2 has no real-time CPU bandwidth (cpu.rt_runtime_us was cgroup v1's)" },
  { "l3-cache-schema", NULL, NULL, FLAG_REFUSED,
    "hutch does not support Intel RDT (linux.intelRdt)" },
  { "mem-bw-schema", NULL, NULL, FLAG_REFUSED,
    "hutch does not support Intel RDT (linux.intelRdt)" },
};

static int
flag_value (const char *name, enum flag_kind kind, const char *value, json_t **ret,
            hutch_error_t *err)
{
  long long v;
  char *end;

  if (kind == FLAG_STRING)
    {
      *ret = json_string (value);
      return 0;
    }
  if (kind == FLAG_BYTES && strcmp (value, "-1") != 0)
    {
      int64_t b;
      if (hutch_parse_bytes (value, &b) < 0)
        return hutch_error_set (err, 0,
                                "--%s `%s`: not a size; give a number of bytes with an optional "
                                "unit k, m, g or t (e.g. 64m), or -1 for no limit",
                                name, value);
      *ret = json_integer (b);
      return 0;
    }
  errno = 0;
  v = strtoll (value, &end, 10);
  if (errno || end == value || *end || (kind == FLAG_UINT && (v < 0 || value[0] == '-')))
    return hutch_error_set (err, 0, "--%s `%s`: give %s", name, value,
                            kind == FLAG_UINT ? "a number (0 or more)" : "a number (-1 or more)");
  *ret = json_integer (v);
  return 0;
}

int
hutch_resources_update_from_flags (const char *const *pairs, const char *cgroup_path,
                                   struct hutch_resource **ret, size_t *ret_n, hutch_error_t *err)
{
  json_t *res = json_object ();
  size_t i, k;
  int r = -1;

  for (i = 0; pairs[i]; i += 2)
    {
      const char *name = pairs[i], *value = pairs[i + 1];
      json_t *obj, *v = NULL;

      while (*name == '-')
        name++;
      for (k = 0; k < sizeof update_flags / sizeof update_flags[0]; k++)
        if (strcmp (name, update_flags[k].name) == 0)
          break;
      if (k == sizeof update_flags / sizeof update_flags[0])
        {
          hutch_error_set (err, 0, "update has no option --%s", name);
          goto out;
        }
      if (value == NULL)
        {
          hutch_error_set (err, 0, "--%s needs a value", name);
          goto out;
        }
      if (update_flags[k].kind == FLAG_REFUSED)
        {
          hutch_error_set (err, 0, "--%s cannot be honoured: %s; drop it", name,
                           update_flags[k].why);
          goto out;
        }
      if (flag_value (name, update_flags[k].kind, value, &v, err) < 0)
        goto out;
      obj = json_object_get (res, update_flags[k].object);
      if (obj == NULL)
        {
          obj = json_object ();
          json_object_set_new (res, update_flags[k].object, obj);
        }
      json_object_set_new (obj, update_flags[k].field, v);
    }
  r = hutch_resources_update_from_oci (res, cgroup_path, ret, ret_n, err);
  if (r < 0)
    hutch_error_prefix (err, "update (its options as linux.resources)");
out:
  json_decref (res);
  return r < 0 ? -1 : 0;
}
