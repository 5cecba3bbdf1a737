/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* The Linux-specific fields of config.json that go beyond files and
   processes: namespaces (new, or joined by path), the root's mount
   propagation, sysctls, time offsets, and the scheduling knobs of the
   process (scheduler, I/O priority, OOM score).  Each is checked here as
   far as the file alone allows; what only the kernel can judge (a
   real-time policy without the privilege for it) is tried at the start,
   and refused then with the kernel's reason.  */

#include "runtime/specparse.h"
#include "base/util.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- process.scheduler, process.ioPriority, process.oomScoreAdj -------- */

static const struct
{
  const char *name;
  unsigned int value;
} sched_policies[] = {
  { "SCHED_OTHER", 0 }, { "SCHED_FIFO", 1 }, { "SCHED_RR", 2 },       { "SCHED_BATCH", 3 },
  { "SCHED_ISO", 4 },   { "SCHED_IDLE", 5 }, { "SCHED_DEADLINE", 6 },
};

static const struct
{
  const char *name;
  unsigned long long value;
} sched_flags[] = {
  { "SCHED_FLAG_RESET_ON_FORK", 0x01 },  { "SCHED_FLAG_RECLAIM", 0x02 },
  { "SCHED_FLAG_DL_OVERRUN", 0x04 },     { "SCHED_FLAG_KEEP_POLICY", 0x08 },
  { "SCHED_FLAG_KEEP_PARAMS", 0x10 },    { "SCHED_FLAG_UTIL_CLAMP_MIN", 0x20 },
  { "SCHED_FLAG_UTIL_CLAMP_MAX", 0x40 },
};

/* An integer member KEY of OBJ from MIN to MAX into *RET (left alone when
   KEY is missing).  */
static int
get_int_range (json_t *obj, const char *key, const char *where, long long min, long long max,
               long long *ret, hutch_error_t *err)
{
  json_t *v = json_object_get (obj, key);

  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_integer (v))
    return hutch_error_set (err, 0, "%s.%s must be an integer", where, key);
  if (json_integer_value (v) < min || json_integer_value (v) > max)
    return hutch_error_set (err, 0, "%s.%s is %lld: it must be from %lld to %lld", where, key,
                            (long long)json_integer_value (v), min, max);
  *ret = json_integer_value (v);
  return 0;
}

static int
parse_sched_flags (json_t *flags, struct hutch_sched *s, hutch_error_t *err)
{
  json_t *f;
  size_t i, k;

  if (flags == NULL || json_is_null (flags))
    return 0;
  if (!json_is_array (flags))
    return hutch_error_set (err, 0, "process.scheduler.flags must be an array of strings");
  json_array_foreach (flags, i, f)
  {
    const char *name = json_string_value (f);
    bool known = false;
    for (k = 0; name && k < sizeof sched_flags / sizeof sched_flags[0]; k++)
      if (strcmp (name, sched_flags[k].name) == 0)
        {
          s->flags |= sched_flags[k].value;
          known = true;
        }
    if (!known)
      return hutch_error_set (err, 0, "process.scheduler.flags[%zu]: unknown flag `%s`", i,
                              name ? name : "(not a string)");
    /* The spec carries no value to clamp to: the kernel would clamp the
       process's utilization to 0.  */
    if (s->flags & 0x60)
      return hutch_error_set (err, 0,
                              "process.scheduler.flags[%zu]: %s cannot be honoured: the runtime "
                              "spec gives no utilization value to clamp to; remove it",
                              i, name);
  }
  return 0;
}

static int
parse_sched (json_t *v, struct hutch_spec *spec, hutch_error_t *err)
{
  const char *policy = json_string_value (json_object_get (v, "policy"));
  _cleanup_free_ struct hutch_sched *s = hutch_xmalloc0 (sizeof *s);
  long long nice = 0, prio = 0, rt = 0, dl = 0, period = 0;
  bool known = false;
  size_t k;

  if (!json_is_object (v))
    return hutch_error_set (err, 0, "process.scheduler must be an object");
  if (policy == NULL)
    return hutch_error_set (err, 0, "process.scheduler.policy is missing: it is required");
  for (k = 0; k < sizeof sched_policies / sizeof sched_policies[0]; k++)
    if (strcmp (policy, sched_policies[k].name) == 0)
      {
        s->policy = sched_policies[k].value;
        known = true;
      }
  if (!known)
    return hutch_error_set (err, 0,
                            "process.scheduler.policy: unknown policy `%s` (SCHED_OTHER, "
                            "SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE, SCHED_DEADLINE)",
                            policy);
  if (s->policy == 4)
    return hutch_error_set (err, 0,
                            "process.scheduler.policy: SCHED_ISO is not in the Linux kernel, only "
                            "in out-of-tree patches; choose another policy");
  if (get_int_range (v, "nice", "process.scheduler", -20, 19, &nice, err) < 0
      || get_int_range (v, "priority", "process.scheduler", 0, 99, &prio, err) < 0
      || get_int_range (v, "runtime", "process.scheduler", 0, INT64_MAX, &rt, err) < 0
      || get_int_range (v, "deadline", "process.scheduler", 0, INT64_MAX, &dl, err) < 0
      || get_int_range (v, "period", "process.scheduler", 0, INT64_MAX, &period, err) < 0
      || parse_sched_flags (json_object_get (v, "flags"), s, err) < 0)
    return -1;
  if (s->policy != 6 && (rt || dl || period))
    return hutch_error_set (err, 0,
                            "process.scheduler: runtime, deadline and period belong to "
                            "SCHED_DEADLINE, not to %s; remove them",
                            policy);
  s->nice = (int)nice;
  s->priority = (unsigned int)prio;
  s->runtime = (unsigned long long)rt;
  s->deadline = (unsigned long long)dl;
  s->period = (unsigned long long)period;
  free (spec->sched);
  spec->sched = HUTCH_STEAL_PTR (s);
  return 0;
}

static int
parse_ioprio (json_t *v, struct hutch_spec *spec, hutch_error_t *err)
{
  static const char *const classes[]
      = { NULL, "IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE" };
  const char *cls = json_string_value (json_object_get (v, "class"));
  long long level = 0;
  int k;

  if (!json_is_object (v))
    return hutch_error_set (err, 0, "process.ioPriority must be an object");
  if (cls == NULL)
    return hutch_error_set (err, 0, "process.ioPriority.class is missing: it is required");
  for (k = 1; k < 4; k++)
    if (strcmp (cls, classes[k]) == 0)
      break;
  if (k == 4)
    return hutch_error_set (err, 0,
                            "process.ioPriority.class: unknown class `%s` (IOPRIO_CLASS_RT, "
                            "IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE)",
                            cls);
  if (get_int_range (v, "priority", "process.ioPriority", 0, 7, &level, err) < 0)
    return -1;
  spec->has_ioprio = true;
  spec->ioprio_class = k;
  spec->ioprio_level = (int)level;
  return 0;
}

int
hutch_spec_parse_process_linux (json_t *proc, struct hutch_spec *spec, hutch_error_t *err)
{
  json_t *v = json_object_get (proc, "scheduler");

  if (v && !json_is_null (v) && parse_sched (v, spec, err) < 0)
    return -1;
  v = json_object_get (proc, "ioPriority");
  if (v && !json_is_null (v) && parse_ioprio (v, spec, err) < 0)
    return -1;
  v = json_object_get (proc, "oomScoreAdj");
  if (v && !json_is_null (v))
    {
      if (!json_is_integer (v) || json_integer_value (v) < -1000 || json_integer_value (v) > 1000)
        return hutch_error_set (err, 0,
                                "process.oomScoreAdj must be an integer from -1000 to 1000");
      spec->has_oom_score_adj = true;
      spec->oom_score_adj = (int)json_integer_value (v);
    }
  return 0;
}

/* ---- linux.namespaces ---------------------------------------------------- */

int
hutch_spec_parse_namespaces (json_t *nss, struct hutch_spec *spec, hutch_error_t *err)
{
  json_t *n;
  size_t i;

  if (nss == NULL || json_is_null (nss))
    return 0;
  if (!json_is_array (nss))
    return hutch_error_set (err, 0, "linux.namespaces must be an array");
  json_array_foreach (nss, i, n)
  {
    const char *type = json_string_value (json_object_get (n, "type"));
    json_t *pv = json_object_get (n, "path");
    const char *path = json_string_value (pv);
    int ns = type ? hutch_ns_from_name (type) : -1;

    if (ns < 0)
      return hutch_error_set (err, 0,
                              "linux.namespaces[%zu].type: unknown type `%s` (user, mount, pid, "
                              "uts, ipc, network, cgroup, time)",
                              i, type ? type : "(none)");
    if (hutch_spec_has_ns (spec, ns))
      return hutch_error_set (err, 0, "linux.namespaces[%zu]: the %s namespace is listed twice", i,
                              type);
    if (pv && !json_is_null (pv) && path == NULL)
      return hutch_error_set (err, 0, "linux.namespaces[%zu].path must be a string", i);
    if (path == NULL || *path == '\0')
      {
        spec->ns[ns] = true;
        continue;
      }
    if (path[0] != '/')
      return hutch_error_set (err, 0,
                              "linux.namespaces[%zu].path `%s` must be an absolute path (such as "
                              "/proc/PID/ns/%s)",
                              i, path, ns == HUTCH_NS_NET ? "net" : type);
    if (ns == HUTCH_NS_MOUNT)
      return hutch_error_set (err, 0,
                              "linux.namespaces[%zu].path: joining an existing mount namespace "
                              "(`%s`) is not supported: hutch builds the container's root "
                              "filesystem in a mount namespace of its own; leave the path out",
                              i, path);
    spec->ns_path[ns] = hutch_xstrdup (path);
  }
  return 0;
}

/* ---- linux.rootfsPropagation, linux.sysctl, linux.timeOffsets ----------- */

static int
parse_rootfs_propagation (json_t *v, struct hutch_spec *spec, hutch_error_t *err)
{
  static const char *const known[] = { "private", "rprivate", "slave",      "rslave",
                                       "shared",  "rshared",  "unbindable", "runbindable" };
  const char *s = json_string_value (v);
  size_t k;

  if (v == NULL || json_is_null (v))
    return 0;
  if (s == NULL)
    return hutch_error_set (err, 0, "linux.rootfsPropagation must be a string");
  if (*s == '\0')
    return 0;
  for (k = 0; k < sizeof known / sizeof known[0]; k++)
    if (strcmp (s, known[k]) == 0)
      {
        free (spec->rootfs_propagation);
        spec->rootfs_propagation = hutch_xstrdup (s);
        return 0;
      }
  return hutch_error_set (err, 0,
                          "linux.rootfsPropagation: unknown propagation `%s` (private, rprivate, "
                          "slave, rslave, shared, rshared, unbindable, runbindable)",
                          s);
}

/* Which namespace makes sysctl KEY the container's own, or -1 when none
   does (it is the host's, for every container).  The IPC ones are those
   ipc_namespace.c keeps per namespace; net.* is per network namespace;
   the two UTS names per UTS namespace.  */
static int
sysctl_namespace (const char *key)
{
  static const char *const ipc[]
      = { "kernel.sem", "kernel.sem_next_id", "kernel.msg_next_id", "kernel.shm_next_id" };
  size_t k;

  for (k = 0; k < sizeof ipc / sizeof ipc[0]; k++)
    if (strcmp (key, ipc[k]) == 0)
      return HUTCH_NS_IPC;
  if (strncmp (key, "kernel.shm", 10) == 0 || strncmp (key, "kernel.msg", 10) == 0
      || strncmp (key, "fs.mqueue.", 10) == 0)
    return HUTCH_NS_IPC;
  if (strncmp (key, "net.", 4) == 0)
    return HUTCH_NS_NET;
  if (strcmp (key, "kernel.hostname") == 0 || strcmp (key, "kernel.domainname") == 0)
    return HUTCH_NS_UTS;
  return -1;
}

/* A key names one file below /proc/sys: dot-separated words of letters,
   digits, `_` and `-`, none empty (so no `..`, no `/`).  */
static bool
sysctl_key_ok (const char *key)
{
  size_t i, word = 0;

  for (i = 0; key[i]; i++)
    {
      char c = key[i];
      if (c == '.')
        {
          if (word == 0)
            return false;
          word = 0;
          continue;
        }
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'
            || c == '-'))
        return false;
      word++;
    }
  return word > 0 && i < 256;
}

static int
parse_sysctl (json_t *obj, struct hutch_spec *spec, hutch_error_t *err)
{
  const char *key;
  json_t *v;

  if (obj == NULL || json_is_null (obj))
    return 0;
  if (!json_is_object (obj))
    return hutch_error_set (err, 0, "linux.sysctl must be an object of strings");
  json_object_foreach (obj, key, v)
  {
    int ns = sysctl_namespace (key);
    if (!json_is_string (v))
      return hutch_error_set (err, 0, "linux.sysctl.%s must be a string", key);
    if (!sysctl_key_ok (key))
      return hutch_error_set (err, 0, "linux.sysctl: `%s` is not a sysctl name", key);
    if (strchr (json_string_value (v), '\n'))
      return hutch_error_set (err, 0, "linux.sysctl.%s: the value holds a newline", key);
    if (ns < 0)
      return hutch_error_set (err, 0,
                              "linux.sysctl.%s is refused: it is not namespaced, so it would be "
                              "the host's for every process (only kernel.shm*, kernel.msg*, "
                              "kernel.sem, fs.mqueue.*, net.* and kernel.hostname/domainname "
                              "are the container's own); remove it",
                              key);
    if (!hutch_spec_has_ns (spec, ns))
      return hutch_error_set (err, 0,
                              "linux.sysctl.%s needs a%s %s namespace of the container's own: "
                              "without one it is the host's; add {\"type\": \"%s\"} to "
                              "linux.namespaces or remove it",
                              key, ns == HUTCH_NS_IPC ? "n" : "", hutch_ns_name (ns),
                              hutch_ns_name (ns));
    hutch_kv_set (&spec->sysctls, &spec->n_sysctls, key, json_string_value (v));
  }
  return 0;
}

static int
parse_offset (json_t *obj, const char *clock, struct hutch_time_offset *ret, hutch_error_t *err)
{
  _cleanup_free_ char *where = hutch_xasprintf ("linux.timeOffsets.%s", clock);
  long long secs = 0, ns = 0;

  if (!json_is_object (obj))
    return hutch_error_set (err, 0, "%s must be an object with secs and nanosecs", where);
  if (get_int_range (obj, "secs", where, INT64_MIN / 2, INT64_MAX / 2, &secs, err) < 0
      || get_int_range (obj, "nanosecs", where, 0, 999999999, &ns, err) < 0)
    return -1;
  ret->secs = secs;
  ret->nanosecs = (long)ns;
  return 0;
}

static int
parse_time_offsets (json_t *obj, struct hutch_spec *spec, hutch_error_t *err)
{
  const char *key;
  json_t *v;

  if (obj == NULL || json_is_null (obj) || (json_is_object (obj) && json_object_size (obj) == 0))
    return 0;
  if (!json_is_object (obj))
    return hutch_error_set (err, 0, "linux.timeOffsets must be an object");
  if (!spec->ns[HUTCH_NS_TIME])
    return hutch_error_set (err, 0,
                            spec->ns_path[HUTCH_NS_TIME]
                                ? "linux.timeOffsets cannot be set on a time namespace that is "
                                  "joined by path (its offsets were fixed when its first process "
                                  "entered it); remove them"
                                : "linux.timeOffsets need a time namespace of the container's "
                                  "own; add {\"type\": \"time\"} to linux.namespaces");
  json_object_foreach (obj, key, v)
  {
    struct hutch_time_offset *o = strcmp (key, "monotonic") == 0  ? &spec->time_monotonic
                                  : strcmp (key, "boottime") == 0 ? &spec->time_boottime
                                                                  : NULL;
    if (o == NULL)
      return hutch_error_set (err, 0,
                              "linux.timeOffsets.%s: only monotonic and boottime have offsets in "
                              "a time namespace",
                              key);
    if (parse_offset (v, key, o, err) < 0)
      return -1;
  }
  spec->has_time_offsets = true;
  return 0;
}

int
hutch_spec_parse_linux_more (json_t *lx, struct hutch_spec *spec, hutch_error_t *err)
{
  json_t *devs = json_object_get (json_object_get (lx, "resources"), "devices");

  /* hutch_resources_from_oci (resources.c) takes the rule that denies
     all devices first and allow rules after it, and refuses the rest:
     rules here start with that one.  */
  spec->devices_deny_all = json_is_array (devs) && json_array_size (devs) > 0;
  if (parse_rootfs_propagation (json_object_get (lx, "rootfsPropagation"), spec, err) < 0
      || parse_sysctl (json_object_get (lx, "sysctl"), spec, err) < 0
      || parse_time_offsets (json_object_get (lx, "timeOffsets"), spec, err) < 0)
    return -1;
  return 0;
}

/* ---- across the file ----------------------------------------------------- */

int
hutch_spec_check_namespaces (struct hutch_spec *spec, hutch_error_t *err)
{
  bool maps = spec->n_uid_mappings > 0 || spec->n_gid_mappings > 0;

  if (spec->ns_path[HUTCH_NS_USER] && maps)
    return hutch_error_set (err, 0,
                            "linux.uidMappings and linux.gidMappings cannot be given for a user "
                            "namespace that is joined by path (`%s`): it has its maps; remove "
                            "them",
                            spec->ns_path[HUTCH_NS_USER]);
  /* Without privileges nothing else can be made: as crun does, the
     container gets a user namespace that maps the caller (to 0, with the
     subordinate range when there is one: the default of hutch run), also
     when config.json asked for none (runc refuses it).  */
  if (!hutch_spec_has_ns (spec, HUTCH_NS_USER) && getuid () != 0)
    spec->ns[HUTCH_NS_USER] = true;
  if (maps && !hutch_spec_has_ns (spec, HUTCH_NS_USER))
    return hutch_error_set (err, 0,
                            "linux.uidMappings and linux.gidMappings are given, but "
                            "linux.namespaces has no user namespace to apply them to; add "
                            "{\"type\": \"user\"} to linux.namespaces or remove the mappings");
  if ((spec->n_uid_mappings > 0) != (spec->n_gid_mappings > 0))
    return hutch_error_set (err, 0,
                            "linux.%s is given without linux.%s: give both, or neither (for the "
                            "default map)",
                            spec->n_uid_mappings ? "uidMappings" : "gidMappings",
                            spec->n_uid_mappings ? "gidMappings" : "uidMappings");
  if (spec->hostname && !hutch_spec_has_ns (spec, HUTCH_NS_UTS))
    return hutch_error_set (err, 0,
                            "`hostname` needs a UTS namespace of the container's own: without one "
                            "the hostname is the host's; add {\"type\": \"uts\"} to "
                            "linux.namespaces or remove `hostname`");
  if (spec->domainname && !hutch_spec_has_ns (spec, HUTCH_NS_UTS))
    return hutch_error_set (err, 0,
                            "`domainname` needs a UTS namespace of the container's own: without "
                            "one the domain name is the host's; add {\"type\": \"uts\"} to "
                            "linux.namespaces or remove `domainname`");
  return 0;
}
