/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* struct hutch_spec to config.json, and a container's saved configuration
   back (specjson.h says what is saved where).  The writer follows what
   hutch_spec_parse_json (spec.c) accepts, field by field: anything it
   would refuse is an error here, so that a saved configuration always
   reads back.  */

#include "runtime/specjson.h"
#include "runtime/hooks.h"
#include "runtime/resources.h"
#include "runtime/rlimit.h"
#include "runtime/sysfilter.h"
#include "base/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_MAX (16 << 20)

json_t *
hutch_json_strv (char *const *v)
{
  json_t *a = json_array ();
  size_t i;
  for (i = 0; v && v[i]; i++)
    json_array_append_new (a, json_string (v[i]));
  return a;
}

/* jansson refuses strings that are not UTF-8 (json_string gives NULL):
   check every string of SPEC that goes out, so that the error names it.  */
static int
check_utf8 (const char *s, const char *what, hutch_error_t *err)
{
  json_t *j = json_string (s);
  if (j == NULL)
    return hutch_error_set (err, 0, "%s is not valid UTF-8, which config.json cannot hold", what);
  json_decref (j);
  return 0;
}

static int
check_strv_utf8 (char *const *v, const char *what, hutch_error_t *err)
{
  size_t i;
  for (i = 0; v && v[i]; i++)
    if (check_utf8 (v[i], what, err) < 0)
      return -1;
  return 0;
}

static json_t *
user_json (const struct hutch_spec *spec)
{
  json_t *u = json_object ();
  size_t i;

  json_object_set_new (u, "uid", json_integer (spec->uid));
  json_object_set_new (u, "gid", json_integer (spec->gid));
  if (spec->has_umask)
    json_object_set_new (u, "umask", json_integer (spec->umask));
  if (spec->n_additional_gids > 0)
    {
      json_t *g = json_array ();
      for (i = 0; i < spec->n_additional_gids; i++)
        json_array_append_new (g, json_integer (spec->additional_gids[i]));
      json_object_set_new (u, "additionalGids", g);
    }
  return u;
}

/* "RLIMIT_NOFILE" for RLIMIT_NOFILE: the only spelling the parser takes.  */
static int
rlimits_json (const struct hutch_spec *spec, json_t **ret, hutch_error_t *err)
{
  json_t *a = json_array ();
  size_t i, k;

  for (i = 0; i < spec->n_rlimits; i++)
    {
      const struct hutch_rlimit *rl = &spec->rlimits[i];
      const char *name = hutch_rlimit_name (rl->resource);
      char type[32];
      json_t *o;

      if (strcmp (name, "?") == 0 || strlen (name) > sizeof type - 8)
        {
          json_decref (a);
          return hutch_error_set (err, 0, "rlimit %d has no name config.json knows", rl->resource);
        }
      if (rl->soft > rl->hard)
        {
          json_decref (a);
          return hutch_error_set (err, 0, "rlimit %s: soft is above hard", name);
        }
      memcpy (type, "RLIMIT_", 7);
      for (k = 0; name[k]; k++)
        type[7 + k] = (char)toupper ((unsigned char)name[k]);
      type[7 + k] = '\0';
      o = json_object ();
      json_object_set_new (o, "type", json_string (type));
      /* uint64 in the spec: RLIM_INFINITY is -1 to jansson, and read back
         as the same 64 bits.  */
      json_object_set_new (o, "hard", json_integer ((json_int_t)rl->hard));
      json_object_set_new (o, "soft", json_integer ((json_int_t)rl->soft));
      json_array_append_new (a, o);
    }
  *ret = a;
  return 0;
}

static json_t *
caps_json (const struct hutch_spec *spec)
{
  json_t *c = json_object ();
  json_object_set_new (c, "bounding", hutch_json_strv (spec->cap_bounding));
  json_object_set_new (c, "effective", hutch_json_strv (spec->cap_effective));
  json_object_set_new (c, "permitted", hutch_json_strv (spec->cap_permitted));
  json_object_set_new (c, "inheritable", hutch_json_strv (spec->cap_inheritable));
  json_object_set_new (c, "ambient", hutch_json_strv (spec->cap_ambient));
  return c;
}

/* process.scheduler, ioPriority and oomScoreAdj, in the parser's words.  */
static void
process_linux_json (const struct hutch_spec *spec, json_t *p)
{
  static const char *const policies[]
      = { "SCHED_OTHER", "SCHED_FIFO", "SCHED_RR",      "SCHED_BATCH",
          NULL,          "SCHED_IDLE", "SCHED_DEADLINE" };
  static const char *const flags[]
      = { "SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM", "SCHED_FLAG_DL_OVERRUN",
          "SCHED_FLAG_KEEP_POLICY", "SCHED_FLAG_KEEP_PARAMS" };
  static const char *const classes[]
      = { NULL, "IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE" };
  const struct hutch_sched *s = spec->sched;
  size_t k;

  if (s && s->policy < sizeof policies / sizeof policies[0] && policies[s->policy])
    {
      json_t *o = json_object (), *f = json_array ();
      json_object_set_new (o, "policy", json_string (policies[s->policy]));
      json_object_set_new (o, "nice", json_integer (s->nice));
      json_object_set_new (o, "priority", json_integer (s->priority));
      for (k = 0; k < sizeof flags / sizeof flags[0]; k++)
        if (s->flags & (1ULL << k))
          json_array_append_new (f, json_string (flags[k]));
      json_object_set_new (o, "flags", f);
      if (s->policy == 6)
        {
          json_object_set_new (o, "runtime", json_integer ((json_int_t)s->runtime));
          json_object_set_new (o, "deadline", json_integer ((json_int_t)s->deadline));
          json_object_set_new (o, "period", json_integer ((json_int_t)s->period));
        }
      json_object_set_new (p, "scheduler", o);
    }
  if (spec->has_ioprio && spec->ioprio_class >= 1 && spec->ioprio_class <= 3)
    {
      json_t *o = json_object ();
      json_object_set_new (o, "class", json_string (classes[spec->ioprio_class]));
      json_object_set_new (o, "priority", json_integer (spec->ioprio_level));
      json_object_set_new (p, "ioPriority", o);
    }
  if (spec->has_oom_score_adj)
    json_object_set_new (p, "oomScoreAdj", json_integer (spec->oom_score_adj));
}

static int
process_json (const struct hutch_spec *spec, json_t **ret, hutch_error_t *err)
{
  json_t *p, *rl = NULL;

  if (spec->args == NULL || spec->args[0] == NULL)
    return hutch_error_set (err, 0, "the container has no process.args: nothing to save");
  if (spec->cwd == NULL || spec->cwd[0] != '/')
    return hutch_error_set (err, 0, "process.cwd `%s` is not an absolute path",
                            spec->cwd ? spec->cwd : "");
  if (check_strv_utf8 (spec->args, "process.args", err) < 0
      || check_strv_utf8 (spec->env, "process.env", err) < 0
      || check_utf8 (spec->cwd, "process.cwd", err) < 0 || rlimits_json (spec, &rl, err) < 0)
    return -1;
  p = json_object ();
  json_object_set_new (p, "terminal", json_boolean (spec->terminal));
  json_object_set_new (p, "user", user_json (spec));
  json_object_set_new (p, "args", hutch_json_strv (spec->args));
  json_object_set_new (p, "env", hutch_json_strv (spec->env));
  json_object_set_new (p, "cwd", json_string (spec->cwd));
  /* Leaving "capabilities" out means "leave the set alone" to the parser:
     written only when the spec has sets.  */
  if (spec->has_caps)
    json_object_set_new (p, "capabilities", caps_json (spec));
  if (spec->n_rlimits > 0)
    json_object_set_new (p, "rlimits", rl);
  else
    json_decref (rl);
  json_object_set_new (p, "noNewPrivileges", json_boolean (spec->no_new_privileges));
  process_linux_json (spec, p);
  *ret = p;
  return 0;
}

static int
mounts_json (const struct hutch_spec *spec, json_t **ret, hutch_error_t *err)
{
  json_t *a = json_array ();
  size_t i;

  for (i = 0; i < spec->n_mounts; i++)
    {
      const struct hutch_mount *m = &spec->mounts[i];
      json_t *o;

      if (m->destination == NULL || m->destination[0] != '/' || m->type == NULL)
        {
          json_decref (a);
          return hutch_error_set (err, 0, "mounts[%zu] has no absolute destination or no type", i);
        }
      if (check_utf8 (m->destination, "a mount's destination", err) < 0
          || check_utf8 (m->type, "a mount's type", err) < 0
          || (m->source && check_utf8 (m->source, "a mount's source", err) < 0)
          || check_strv_utf8 (m->options, "a mount's options", err) < 0)
        {
          json_decref (a);
          return -1;
        }
      /* copy_up and chown are hutch run's, done before the first process
         ran; config.json has no words for them.  */
      o = json_object ();
      json_object_set_new (o, "destination", json_string (m->destination));
      json_object_set_new (o, "type", json_string (m->type));
      if (m->source)
        json_object_set_new (o, "source", json_string (m->source));
      if (m->options && m->options[0])
        json_object_set_new (o, "options", hutch_json_strv (m->options));
      json_array_append_new (a, o);
    }
  *ret = a;
  return 0;
}

static json_t *
idmaps_json (const struct hutch_idmap *m, size_t n)
{
  json_t *a = json_array ();
  size_t i;
  for (i = 0; i < n; i++)
    {
      json_t *o = json_object ();
      json_object_set_new (o, "containerID", json_integer (m[i].container_id));
      json_object_set_new (o, "hostID", json_integer (m[i].host_id));
      json_object_set_new (o, "size", json_integer (m[i].size));
      json_array_append_new (a, o);
    }
  return a;
}

/* linux.resources.unified: the cgroup files as they were written.  The
   parser checks each key and refuses a newline in a value; so do we.  */
static int
resources_json (const struct hutch_spec *spec, json_t **ret, hutch_error_t *err)
{
  json_t *u = json_object ();
  size_t i;

  for (i = 0; i < spec->n_resources; i++)
    {
      const struct hutch_resource *r = &spec->resources[i];
      if (r->implied)
        continue;
      if (strchr (r->value, '\n'))
        hutch_error_set (err, 0, "%s: the value holds a newline", r->file);
      if (strchr (r->value, '\n') || hutch_cgroup_key_check (r->file, err) < 0
          || check_utf8 (r->value, r->file, err) < 0)
        {
          json_decref (u);
          return hutch_error_prefix (err, "linux.resources.unified");
        }
      json_object_set_new (u, r->file, json_string (r->value));
    }
  *ret = u;
  return 0;
}

static json_t *
devices_json (const struct hutch_spec *spec)
{
  json_t *a = json_array ();
  size_t i;

  for (i = 0; i < spec->n_devices; i++)
    {
      const struct hutch_device *d = &spec->devices[i];
      json_t *o;
      /* One path for both sides in config.json (specjson.h says why the
         others are left out).  */
      if (d->host_path && strcmp (d->host_path, d->path) != 0)
        continue;
      o = json_object ();
      /* json_string gives NULL for a path that is not UTF-8; setting
         NULL fails, and the entry then lacks its path: left out.  */
      if (json_object_set_new (o, "path", json_string (d->path)) < 0)
        {
          json_decref (o);
          continue;
        }
      json_object_set_new (o, "type", json_string (d->type == 'b' ? "b" : "c"));
      json_object_set_new (o, "major", json_integer (d->major));
      json_object_set_new (o, "minor", json_integer (d->minor));
      json_array_append_new (a, o);
    }
  return a;
}

static int
check_kv_utf8 (const struct hutch_kv *kv, size_t n, const char *what, hutch_error_t *err)
{
  size_t i;
  for (i = 0; i < n; i++)
    if (check_utf8 (kv[i].key, what, err) < 0 || check_utf8 (kv[i].value, what, err) < 0)
      return -1;
  return 0;
}

static json_t *
offset_json (const struct hutch_time_offset *o)
{
  json_t *j = json_object ();
  json_object_set_new (j, "secs", json_integer (o->secs));
  json_object_set_new (j, "nanosecs", json_integer (o->nanosecs));
  return j;
}

/* linux.rootfsPropagation, sysctl and timeOffsets.  */
static void
linux_more_json (const struct hutch_spec *spec, json_t *lx)
{
  size_t i;

  if (spec->rootfs_propagation)
    json_object_set_new (lx, "rootfsPropagation", json_string (spec->rootfs_propagation));
  if (spec->cgroups_path)
    json_object_set_new (lx, "cgroupsPath", json_string (spec->cgroups_path));
  if (spec->n_sysctls > 0)
    {
      json_t *o = json_object ();
      for (i = 0; i < spec->n_sysctls; i++)
        json_object_set_new (o, spec->sysctls[i].key, json_string (spec->sysctls[i].value));
      json_object_set_new (lx, "sysctl", o);
    }
  if (spec->has_time_offsets && spec->ns[HUTCH_NS_TIME])
    {
      json_t *o = json_object ();
      json_object_set_new (o, "monotonic", offset_json (&spec->time_monotonic));
      json_object_set_new (o, "boottime", offset_json (&spec->time_boottime));
      json_object_set_new (lx, "timeOffsets", o);
    }
}

static int
linux_json (const struct hutch_spec *spec, json_t **ret, hutch_error_t *err)
{
  json_t *lx, *nss = json_array (), *res = NULL, *devs;
  int n;

  if (check_strv_utf8 (spec->masked_paths, "linux.maskedPaths", err) < 0
      || check_strv_utf8 (spec->readonly_paths, "linux.readonlyPaths", err) < 0
      || resources_json (spec, &res, err) < 0)
    {
      json_decref (nss);
      return -1;
    }
  for (n = 0; n < HUTCH_NS_COUNT; n++)
    if (spec->ns_path[n] && check_utf8 (spec->ns_path[n], "a namespace's path", err) < 0)
      break;
  if (n < HUTCH_NS_COUNT || check_kv_utf8 (spec->sysctls, spec->n_sysctls, "linux.sysctl", err) < 0)
    {
      json_decref (nss);
      json_decref (res);
      return -1;
    }
  lx = json_object ();
  /* Namespaces the container has of its own, and those it joined.  */
  for (n = 0; n < HUTCH_NS_COUNT; n++)
    if (hutch_spec_has_ns (spec, n))
      {
        json_t *o = json_object ();
        json_object_set_new (o, "type", json_string (hutch_ns_name (n)));
        if (spec->ns_path[n])
          json_object_set_new (o, "path", json_string (spec->ns_path[n]));
        json_array_append_new (nss, o);
      }
  json_object_set_new (lx, "namespaces", nss);
  linux_more_json (spec, lx);
  if (spec->n_uid_mappings > 0)
    json_object_set_new (lx, "uidMappings", idmaps_json (spec->uid_mappings, spec->n_uid_mappings));
  if (spec->n_gid_mappings > 0)
    json_object_set_new (lx, "gidMappings", idmaps_json (spec->gid_mappings, spec->n_gid_mappings));
  json_object_set_new (lx, "maskedPaths", hutch_json_strv (spec->masked_paths));
  json_object_set_new (lx, "readonlyPaths", hutch_json_strv (spec->readonly_paths));
  if (json_object_size (res) > 0 || spec->devices_deny_all)
    {
      json_t *r = json_object ();
      if (json_object_size (res) > 0)
        json_object_set_new (r, "unified", res);
      else
        json_decref (res);
      if (spec->devices_deny_all)
        {
          json_t *rule = json_object (), *rules = json_array ();
          json_object_set_new (rule, "allow", json_false ());
          json_object_set_new (rule, "access", json_string ("rwm"));
          json_array_append_new (rules, rule);
          for (size_t k = 0; k < spec->n_device_rules; k++)
            {
              const struct hutch_device_rule *d = &spec->device_rules[k];
              char type[2] = { d->type, 0 }, acc[4];
              size_t a = 0;
              if (d->access & HUTCH_DEV_READ)
                acc[a++] = 'r';
              if (d->access & HUTCH_DEV_WRITE)
                acc[a++] = 'w';
              if (d->access & HUTCH_DEV_MKNOD)
                acc[a++] = 'm';
              acc[a] = '\0';
              rule = json_object ();
              json_object_set_new (rule, "allow", json_true ());
              json_object_set_new (rule, "type", json_string (type));
              json_object_set_new (rule, "major", json_integer (d->major));
              json_object_set_new (rule, "minor", json_integer (d->minor));
              json_object_set_new (rule, "access", json_string (acc));
              json_array_append_new (rules, rule);
            }
          json_object_set_new (r, "devices", rules);
        }
      json_object_set_new (lx, "resources", r);
    }
  else
    json_decref (res);
  devs = devices_json (spec);
  if (json_array_size (devs) > 0)
    json_object_set_new (lx, "devices", devs);
  else
    json_decref (devs);
  *ret = lx;
  return 0;
}

static int
annotations_json (const struct hutch_spec *spec, json_t **ret, hutch_error_t *err)
{
  json_t *a = json_object ();
  size_t i;

  for (i = 0; i < spec->n_annotations; i++)
    {
      const struct hutch_kv *kv = &spec->annotations[i];
      if (kv->key[0] == '\0')
        hutch_error_set (err, 0, "an annotation has an empty key");
      if (kv->key[0] == '\0' || check_utf8 (kv->key, "an annotation's key", err) < 0
          || check_utf8 (kv->value, kv->key, err) < 0)
        {
          json_decref (a);
          return -1;
        }
      json_object_set_new (a, kv->key, json_string (kv->value));
    }
  /* hutch's own keep_groups (keep-id, --group-add keep-groups) in the
     words crun uses for it, which the runtime reads the same way.  */
  if (spec->extra.keep_groups)
    json_object_set_new (a, "run.oci.keep_original_groups", json_string ("1"));
  *ret = a;
  return 0;
}

int
hutch_spec_to_json (const struct hutch_spec *spec, char **ret_text, hutch_error_t *err)
{
  json_t *root = NULL, *v = NULL, *r;
  char *text;

  if (spec->root_path == NULL || spec->root_path[0] != '/')
    return hutch_error_set (err, 0, "root.path `%s` is not an absolute path",
                            spec->root_path ? spec->root_path : "");
  if (check_utf8 (spec->root_path, "root.path", err) < 0
      || (spec->hostname && check_utf8 (spec->hostname, "hostname", err) < 0)
      || (spec->domainname && check_utf8 (spec->domainname, "domainname", err) < 0))
    return -1;

  root = json_object ();
  json_object_set_new (root, "ociVersion", json_string (HUTCH_OCI_SPEC_VERSION));
  if (process_json (spec, &v, err) < 0)
    goto fail;
  json_object_set_new (root, "process", v);
  r = json_object ();
  json_object_set_new (r, "path", json_string (spec->root_path));
  json_object_set_new (r, "readonly", json_boolean (spec->root_readonly));
  json_object_set_new (root, "root", r);
  /* Without a UTS namespace of its own the hostname is the host's, and
     the parser refuses it there.  */
  if (spec->hostname && spec->hostname[0] && hutch_spec_has_ns (spec, HUTCH_NS_UTS))
    json_object_set_new (root, "hostname", json_string (spec->hostname));
  if (spec->domainname && spec->domainname[0] && hutch_spec_has_ns (spec, HUTCH_NS_UTS))
    json_object_set_new (root, "domainname", json_string (spec->domainname));
  if (mounts_json (spec, &v, err) < 0)
    goto fail;
  json_object_set_new (root, "mounts", v);
  if (linux_json (spec, &v, err) < 0)
    goto fail;
  json_object_set_new (root, "linux", v);
  if (annotations_json (spec, &v, err) < 0)
    goto fail;
  if (json_object_size (v) > 0)
    json_object_set_new (root, "annotations", v);
  else
    json_decref (v);
  if (spec->hooks)
    {
      v = hutch_hooks_to_json (spec->hooks);
      if (json_object_size (v) > 0)
        json_object_set_new (root, "hooks", v);
      else
        json_decref (v);
    }

  text = json_dumps (root, JSON_INDENT (2));
  json_decref (root);
  if (text == NULL)
    return hutch_error_set (err, ENOMEM, "write config.json");
  *ret_text = hutch_xasprintf ("%s\n", text);
  free (text);
  return 0;

fail:
  json_decref (root);
  return -1;
}

/* DIRFD/NAME replaced whole by TEXT: a temporary name of this process's
   own, then renamed, so that a reader sees the old file or the new one.
   Not synced: every start writes it again, and an exec that finds it
   damaged after a power cut says so (a start makes it anew); an fsync
   would cost every run about a millisecond.  */
static int
replace_file (int dirfd, const char *name, const char *text, size_t len, hutch_error_t *err)
{
  _cleanup_free_ char *tmp = hutch_xasprintf (".%s.%d", name, (int)getpid ());
  int fd, e;

  fd = openat (dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return hutch_error_set (err, errno, "write %s", name);
  if (hutch_write_all (fd, text, len) < 0)
    {
      e = errno;
      close (fd);
      unlinkat (dirfd, tmp, 0);
      return hutch_error_set (err, e, "write %s", name);
    }
  close (fd);
  if (renameat (dirfd, tmp, dirfd, name) < 0)
    {
      e = errno;
      unlinkat (dirfd, tmp, 0);
      return hutch_error_set (err, e, "write %s", name);
    }
  return 0;
}

int
hutch_spec_save (const struct hutch_spec *spec, int dirfd, hutch_error_t *err)
{
  _cleanup_free_ char *text = NULL;

  if (hutch_spec_to_json (spec, &text, err) < 0
      || replace_file (dirfd, "config.json", text, strlen (text), err) < 0)
    return hutch_error_prefix (err, "the container's configuration");
  return hutch_seccomp_save (spec->seccomp, dirfd, "seccomp.bpf", err);
}

int
hutch_spec_load_saved (int dirfd, struct hutch_spec **ret_spec, hutch_error_t *err)
{
  return hutch_spec_load_saved_process (dirfd, NULL, ret_spec, err);
}

int
hutch_spec_load_saved_process (int dirfd, json_t *process, struct hutch_spec **ret_spec,
                               hutch_error_t *err)
{
  _cleanup_close_ int fd = -1;
  _cleanup_free_ char *text = NULL, *again = NULL;
  _cleanup_spec_ struct hutch_spec *spec = NULL;
  json_error_t jerr;
  json_t *root, *lx;
  struct stat st;

  fd = openat (dirfd, "config.json", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return hutch_error_set (err, errno, "the container's config.json");
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode))
    return hutch_error_set (err, errno ? errno : EINVAL,
                            "the container's config.json is not a regular file");
  if (hutch_read_fd (fd, CONFIG_MAX, &text, NULL, err) < 0)
    return hutch_error_prefix (err, "the container's config.json");
  /* linux.devices out (specjson.h says why), before the parser sees it.  */
  root = json_loads (text, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL)
    return hutch_error_set (err, 0, "the container's config.json: line %d, column %d: %s",
                            jerr.line, jerr.column, jerr.text);
  lx = json_object_get (root, "linux");
  if (json_is_object (lx))
    json_object_del (lx, "devices");
  if (process)
    json_object_set (root, "process", process);
  again = json_dumps (root, 0);
  json_decref (root);
  if (again == NULL)
    return hutch_error_set (err, ENOMEM, "the container's config.json");
  if (hutch_spec_parse_json (again, NULL, &spec, err) < 0)
    return hutch_error_prefix (err, "the container's config.json");
  if (hutch_seccomp_load (dirfd, "seccomp.bpf", &spec->seccomp, err) < 0)
    return -1;
  *ret_spec = HUTCH_STEAL_PTR (spec);
  return 0;
}
