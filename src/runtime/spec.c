/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "runtime/spec.h"
#include "runtime/hooks.h"
#include "runtime/cgroup.h"
#include "runtime/specparse.h"
#include "runtime/devices.h"
#include "runtime/resources.h"
#include "runtime/rlimit.h"
#include "runtime/sysfilter.h"
#include "runtime/network.h"
#include "runtime/squashmount.h"
#include "base/util.h"

#include <errno.h>
#include <jansson.h>
#include <sched.h>
#include <stdint.h>
#include <unistd.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>

static const char *const ns_names[HUTCH_NS_COUNT] = {
  [HUTCH_NS_USER] = "user",     [HUTCH_NS_MOUNT] = "mount", [HUTCH_NS_PID] = "pid",
  [HUTCH_NS_UTS] = "uts",       [HUTCH_NS_IPC] = "ipc",     [HUTCH_NS_NET] = "network",
  [HUTCH_NS_CGROUP] = "cgroup", [HUTCH_NS_TIME] = "time",
};

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

int
hutch_ns_clone_flag (int ns)
{
  static const int flags[HUTCH_NS_COUNT] = {
    [HUTCH_NS_USER] = CLONE_NEWUSER,     [HUTCH_NS_MOUNT] = CLONE_NEWNS,
    [HUTCH_NS_PID] = CLONE_NEWPID,       [HUTCH_NS_UTS] = CLONE_NEWUTS,
    [HUTCH_NS_IPC] = CLONE_NEWIPC,       [HUTCH_NS_NET] = CLONE_NEWNET,
    [HUTCH_NS_CGROUP] = CLONE_NEWCGROUP, [HUTCH_NS_TIME] = CLONE_NEWTIME,
  };
  return ns >= 0 && ns < HUTCH_NS_COUNT ? flags[ns] : 0;
}

bool
hutch_spec_has_ns (const struct hutch_spec *spec, int ns)
{
  return ns >= 0 && ns < HUTCH_NS_COUNT && (spec->ns[ns] || spec->ns_path[ns] != NULL);
}

int
hutch_ns_from_name (const char *name)
{
  int i;
  for (i = 0; i < HUTCH_NS_COUNT; i++)
    if (strcmp (name, ns_names[i]) == 0)
      return i;
  return -1;
}

const char *
hutch_ns_name (int ns)
{
  return ns >= 0 && ns < HUTCH_NS_COUNT ? ns_names[ns] : "?";
}

struct hutch_spec *
hutch_spec_new (void)
{
  struct hutch_spec *spec = hutch_xmalloc0 (sizeof *spec);
  spec->args = hutch_xmalloc0 (sizeof (char *));
  spec->env = hutch_xmalloc0 (sizeof (char *));
  spec->cwd = hutch_xstrdup ("/");
  /* A missing working directory is made, as runc and crun do; hutch run
     says otherwise for a read-only root.  */
  spec->extra.create_cwd = true;
  spec->extra.container_lockfd = -1;
  spec->extra.start_socket = -1;
  spec->extra.stop_signal = SIGTERM;
  spec->extra.stop_timeout = -1;
  return spec;
}

void
hutch_spec_free (struct hutch_spec *spec)
{
  size_t i;
  int n;

  if (spec == NULL)
    return;
  free (spec->additional_gids);
  hutch_strv_free (spec->args);
  hutch_strv_free (spec->env);
  free (spec->cwd);
  free (spec->rlimits);
  hutch_strv_free (spec->cap_bounding);
  hutch_strv_free (spec->cap_effective);
  hutch_strv_free (spec->cap_permitted);
  hutch_strv_free (spec->cap_inheritable);
  hutch_strv_free (spec->cap_ambient);
  free (spec->root_path);
  free (spec->hostname);
  free (spec->domainname);
  free (spec->sched);
  free (spec->rootfs_propagation);
  hutch_kv_free (spec->sysctls, spec->n_sysctls);
  for (i = 0; i < spec->n_mounts; i++)
    {
      free (spec->mounts[i].destination);
      free (spec->mounts[i].type);
      free (spec->mounts[i].source);
      hutch_strv_free (spec->mounts[i].options);
    }
  free (spec->mounts);
  for (n = 0; n < HUTCH_NS_COUNT; n++)
    free (spec->ns_path[n]);
  free (spec->uid_mappings);
  free (spec->gid_mappings);
  hutch_strv_free (spec->masked_paths);
  hutch_strv_free (spec->readonly_paths);
  for (i = 0; i < spec->n_resources; i++)
    {
      free (spec->resources[i].file);
      free (spec->resources[i].value);
    }
  free (spec->resources);
  hutch_seccomp_free (spec->seccomp);
  hutch_seccomp_free (spec->rootemu);
  for (i = 0; i < spec->n_devices; i++)
    {
      free (spec->devices[i].path);
      free (spec->devices[i].host_path);
    }
  free (spec->devices);
  hutch_kv_free (spec->annotations, spec->n_annotations);
  if (spec->hooks)
    hutch_hooks_free (spec->hooks);
  free (spec->hooks);
  free (spec->cgroups_path);
  free (spec->device_rules);
  if (spec->extra.cgroup_request)
    hutch_cgroup_request_clear (spec->extra.cgroup_request);
  free (spec->extra.cgroup_request);
  free (spec->extra.oci_id);
  free (spec->extra.oci_bundle);
  hutch_kv_free (spec->extra.labels, spec->extra.n_labels);
  free (spec->extra.localtime);
  free (spec->extra.cgroup_name);
  free (spec->extra.init_path);
  for (i = 0; i < spec->extra.n_files; i++)
    {
      free (spec->extra.files[i].destination);
      free (spec->extra.files[i].content);
    }
  free (spec->extra.files);
  for (i = 0; i < spec->extra.n_symlinks; i++)
    {
      free (spec->extra.symlinks[i].path);
      free (spec->extra.symlinks[i].target);
    }
  free (spec->extra.symlinks);
  free (spec->extra.container_dir);
  free (spec->extra.image_id);
  if (spec->extra.container_lockfd >= 0)
    close (spec->extra.container_lockfd);
  for (i = 0; i < spec->extra.n_volume_lockfds; i++)
    close (spec->extra.volume_lockfds[i]);
  free (spec->extra.volume_lockfds);
  hutch_strv_free (spec->extra.drop_volumes);
  if (spec->extra.overlay)
    {
      hutch_strv_free (spec->extra.overlay->lower);
      free (spec->extra.overlay->upper);
      free (spec->extra.overlay->work);
      free (spec->extra.overlay->mountpoint);
      free (spec->extra.overlay->fuse_program);
      free (spec->extra.overlay);
    }
  hutch_squash_free (spec->extra.squash);
  hutch_slirp_free (spec->extra.slirp);
  free (spec);
}

void
hutch_spec_freep (struct hutch_spec **spec)
{
  hutch_spec_free (*spec);
}

void
hutch_spec_add_mount (struct hutch_spec *spec, const char *destination, const char *type,
                      const char *source, const char *options)
{
  struct hutch_mount *m;
  char *opts, *save = NULL, *o;

  spec->mounts = hutch_xrealloc (spec->mounts, (spec->n_mounts + 1) * sizeof *spec->mounts);
  m = &spec->mounts[spec->n_mounts++];
  memset (m, 0, sizeof *m);
  m->destination = hutch_xstrdup (destination);
  m->type = hutch_xstrdup (type);
  m->source = hutch_xstrdup (source ? source : type);
  m->options = hutch_xmalloc0 (sizeof (char *));
  if (options == NULL)
    return;
  opts = hutch_xstrdup (options);
  for (o = strtok_r (opts, ",", &save); o; o = strtok_r (NULL, ",", &save))
    hutch_strv_push (&m->options, hutch_xstrdup (o));
  free (opts);
}

void
hutch_spec_add_file (struct hutch_spec *spec, const char *destination, const char *content)
{
  struct hutch_file *f;
  spec->extra.files
      = hutch_xrealloc (spec->extra.files, (spec->extra.n_files + 1) * sizeof *spec->extra.files);
  f = &spec->extra.files[spec->extra.n_files++];
  f->destination = hutch_xstrdup (destination);
  f->content = hutch_xstrdup (content);
}

void
hutch_spec_add_symlink (struct hutch_spec *spec, const char *path, const char *target)
{
  struct hutch_symlink *l;
  spec->extra.symlinks = hutch_xrealloc (spec->extra.symlinks, (spec->extra.n_symlinks + 1)
                                                                   * sizeof *spec->extra.symlinks);
  l = &spec->extra.symlinks[spec->extra.n_symlinks++];
  l->path = hutch_xstrdup (path);
  l->target = hutch_xstrdup (target);
}

void
hutch_spec_add_resource (struct hutch_spec *spec, const char *file, char *value, bool implied)
{
  struct hutch_resource *r;
  size_t i;

  for (i = 0; i < spec->n_resources; i++)
    if (strcmp (spec->resources[i].file, file) == 0)
      {
        free (spec->resources[i].value);
        spec->resources[i].value = value;
        spec->resources[i].implied = implied;
        return;
      }
  spec->resources
      = hutch_xrealloc (spec->resources, (spec->n_resources + 1) * sizeof *spec->resources);
  r = &spec->resources[spec->n_resources++];
  r->file = hutch_xstrdup (file);
  r->value = value;
  r->implied = implied;
}

void
hutch_kv_set (struct hutch_kv **list, size_t *n, const char *key, const char *value)
{
  size_t i;

  for (i = 0; i < *n; i++)
    if (strcmp ((*list)[i].key, key) == 0)
      {
        free ((*list)[i].value);
        (*list)[i].value = hutch_xstrdup (value);
        return;
      }
  *list = hutch_xrealloc (*list, (*n + 1) * sizeof **list);
  (*list)[*n].key = hutch_xstrdup (key);
  (*list)[*n].value = hutch_xstrdup (value);
  (*n)++;
}

const char *
hutch_kv_get (const struct hutch_kv *list, size_t n, const char *key)
{
  size_t i;
  for (i = 0; i < n; i++)
    if (strcmp (list[i].key, key) == 0)
      return list[i].value;
  return NULL;
}

void
hutch_kv_free (struct hutch_kv *list, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++)
    {
      free (list[i].key);
      free (list[i].value);
    }
  free (list);
}

void
hutch_spec_set_rlimit (struct hutch_spec *spec, const struct hutch_rlimit *rl)
{
  size_t i;

  for (i = 0; i < spec->n_rlimits; i++)
    if (spec->rlimits[i].resource == rl->resource)
      {
        spec->rlimits[i] = *rl;
        return;
      }
  spec->rlimits = hutch_xrealloc (spec->rlimits, (spec->n_rlimits + 1) * sizeof *spec->rlimits);
  spec->rlimits[spec->n_rlimits++] = *rl;
}

static ssize_t
env_find (char **env, const char *key, size_t keylen)
{
  size_t i;
  for (i = 0; env && env[i]; i++)
    if (strncmp (env[i], key, keylen) == 0 && env[i][keylen] == '=')
      return (ssize_t)i;
  return -1;
}

void
hutch_spec_setenv (struct hutch_spec *spec, const char *key_value)
{
  const char *eq = strchr (key_value, '=');
  size_t keylen = eq ? (size_t)(eq - key_value) : strlen (key_value);
  ssize_t i = env_find (spec->env, key_value, keylen);

  if (i >= 0)
    {
      free (spec->env[i]);
      spec->env[i] = hutch_xstrdup (key_value);
    }
  else
    hutch_strv_push (&spec->env, hutch_xstrdup (key_value));
}

const char *
hutch_spec_getenv (const struct hutch_spec *spec, const char *key)
{
  size_t keylen = strlen (key);
  ssize_t i = env_find (spec->env, key, keylen);
  return i >= 0 ? spec->env[i] + keylen + 1 : NULL;
}

/* ---- config.json ------------------------------------------------------ */

static int
get_strv (json_t *arr, const char *what, char ***ret, hutch_error_t *err)
{
  char **v = hutch_xmalloc0 (sizeof (char *));
  size_t i;
  json_t *item;

  if (arr == NULL || json_is_null (arr))
    {
      *ret = v;
      return 0;
    }
  if (!json_is_array (arr))
    {
      free (v);
      return hutch_error_set (err, 0, "%s must be an array of strings", what);
    }
  json_array_foreach (arr, i, item)
  {
    if (!json_is_string (item))
      {
        hutch_strv_free (v);
        return hutch_error_set (err, 0, "%s[%zu] must be a string", what, i);
      }
    hutch_strv_push (&v, hutch_xstrdup (json_string_value (item)));
  }
  *ret = v;
  return 0;
}

static int
get_u32 (json_t *v, const char *what, unsigned int *ret, hutch_error_t *err)
{
  json_int_t n;
  if (!json_is_integer (v))
    return hutch_error_set (err, 0, "%s must be an integer", what);
  n = json_integer_value (v);
  if (n < 0 || n > (json_int_t)UINT32_MAX)
    return hutch_error_set (err, 0, "%s is out of range: %lld", what, (long long)n);
  *ret = (unsigned int)n;
  return 0;
}

static int
parse_idmaps (json_t *arr, const char *what, struct hutch_idmap **ret, size_t *ret_n,
              hutch_error_t *err)
{
  size_t i;
  json_t *item;

  if (arr == NULL)
    return 0;
  if (!json_is_array (arr))
    return hutch_error_set (err, 0, "linux.%s must be an array", what);
  *ret = hutch_xmalloc0 ((json_array_size (arr) + 1) * sizeof **ret);
  json_array_foreach (arr, i, item)
  {
    struct hutch_idmap *m = &(*ret)[i];
    if (get_u32 (json_object_get (item, "containerID"), "containerID", &m->container_id, err) < 0
        || get_u32 (json_object_get (item, "hostID"), "hostID", &m->host_id, err) < 0
        || get_u32 (json_object_get (item, "size"), "size", &m->size, err) < 0)
      return hutch_error_prefix (err, "linux.%s[%zu]", what, i);
  }
  *ret_n = json_array_size (arr);
  return 0;
}

static int
parse_process_user (json_t *user, struct hutch_spec *spec, hutch_error_t *err)
{
  json_t *gids = json_object_get (user, "additionalGids"), *g;
  size_t i;

  if (json_object_get (user, "uid")
      && get_u32 (json_object_get (user, "uid"), "process.user.uid", &spec->uid, err) < 0)
    return -1;
  if (json_object_get (user, "gid")
      && get_u32 (json_object_get (user, "gid"), "process.user.gid", &spec->gid, err) < 0)
    return -1;
  if (json_object_get (user, "umask") && !json_is_null (json_object_get (user, "umask")))
    {
      if (get_u32 (json_object_get (user, "umask"), "process.user.umask", &spec->umask, err) < 0)
        return -1;
      if (spec->umask > 0777)
        return hutch_error_set (err, 0, "process.user.umask %#o has bits beyond 0777", spec->umask);
      spec->has_umask = true;
    }
  if (json_is_array (gids))
    {
      spec->additional_gids = hutch_xmalloc0 ((json_array_size (gids) + 1) * sizeof (unsigned));
      json_array_foreach (gids, i, g) if (get_u32 (g, "process.user.additionalGids[]",
                                                   &spec->additional_gids[i], err)
                                          < 0) return -1;
      spec->n_additional_gids = json_array_size (gids);
    }
  return 0;
}

static int
parse_process_caps (json_t *caps, struct hutch_spec *spec, hutch_error_t *err)
{
  spec->has_caps = true;
  if (get_strv (json_object_get (caps, "bounding"), "capabilities.bounding", &spec->cap_bounding,
                err)
          < 0
      || get_strv (json_object_get (caps, "effective"), "capabilities.effective",
                   &spec->cap_effective, err)
             < 0
      || get_strv (json_object_get (caps, "permitted"), "capabilities.permitted",
                   &spec->cap_permitted, err)
             < 0
      || get_strv (json_object_get (caps, "inheritable"), "capabilities.inheritable",
                   &spec->cap_inheritable, err)
             < 0
      || get_strv (json_object_get (caps, "ambient"), "capabilities.ambient", &spec->cap_ambient,
                   err)
             < 0)
    return -1;
  return 0;
}

/* RL is a JSON array; anything else was already skipped by the caller.  */
static int
parse_process_rlimits (json_t *rl, struct hutch_spec *spec, hutch_error_t *err)
{
  json_t *r;
  size_t i;

  json_array_foreach (rl, i, r)
  {
    const char *type = json_string_value (json_object_get (r, "type"));
    struct hutch_rlimit one;
    int found = type && strncmp (type, "RLIMIT_", 7) == 0 ? hutch_rlimit_from_name (type) : -1;
    if (found < 0)
      return hutch_error_set (err, 0, "process.rlimits[%zu]: unknown type `%s`", i,
                              type ? type : "(none)");
    if (!json_is_integer (json_object_get (r, "soft"))
        || !json_is_integer (json_object_get (r, "hard")))
      return hutch_error_set (err, 0, "process.rlimits[%zu]: soft and hard must be integers", i);
    /* uint64 in the spec; -1 (what jansson can hold of 2^64-1) is none.  */
    one.resource = found;
    one.soft = (unsigned long long)json_integer_value (json_object_get (r, "soft"));
    one.hard = (unsigned long long)json_integer_value (json_object_get (r, "hard"));
    if (one.soft > one.hard)
      return hutch_error_set (err, 0, "process.rlimits[%zu] (%s): soft is above hard", i, type);
    hutch_spec_set_rlimit (spec, &one);
  }
  return 0;
}

/* Security and scheduling knobs hutch cannot honour yet are refused, not
   ignored: a user who asked for them would otherwise run unprotected.  */
static int
refuse_unsupported_process (json_t *proc, hutch_error_t *err)
{
  static const char *const refused[] = { "apparmorProfile", "selinuxLabel", "execCPUAffinity" };
  size_t i;

  for (i = 0; i < sizeof refused / sizeof refused[0]; i++)
    {
      json_t *v = json_object_get (proc, refused[i]);
      if (v && !(json_is_string (v) && json_string_value (v)[0] == '\0'))
        return hutch_error_set (
            err, 0, "process.%s is not supported by hutch yet; remove it from config.json",
            refused[i]);
    }
  return 0;
}

static int
parse_process (json_t *proc, struct hutch_spec *spec, hutch_error_t *err)
{
  json_t *v, *user, *caps, *rl;

  if (!json_is_object (proc))
    return hutch_error_set (err, 0, "`process` must be an object");

  spec->terminal = json_is_true (json_object_get (proc, "terminal"));
  hutch_strv_free (spec->args);
  spec->args = NULL;
  if (get_strv (json_object_get (proc, "args"), "process.args", &spec->args, err) < 0)
    return -1;
  if (spec->args[0] == NULL)
    return hutch_error_set (err, 0, "process.args is empty: name the program to run");
  hutch_strv_free (spec->env);
  spec->env = NULL;
  if (get_strv (json_object_get (proc, "env"), "process.env", &spec->env, err) < 0)
    return -1;
  v = json_object_get (proc, "cwd");
  if (v != NULL)
    {
      if (!json_is_string (v) || json_string_value (v)[0] != '/')
        return hutch_error_set (err, 0, "process.cwd must be an absolute path");
      free (spec->cwd);
      spec->cwd = hutch_xstrdup (json_string_value (v));
    }
  spec->no_new_privileges = json_is_true (json_object_get (proc, "noNewPrivileges"));

  user = json_object_get (proc, "user");
  if (user != NULL && parse_process_user (user, spec, err) < 0)
    return -1;

  caps = json_object_get (proc, "capabilities");
  if (caps != NULL && parse_process_caps (caps, spec, err) < 0)
    return -1;

  rl = json_object_get (proc, "rlimits");
  if (json_is_array (rl) && parse_process_rlimits (rl, spec, err) < 0)
    return -1;
  if (hutch_spec_parse_process_linux (proc, spec, err) < 0)
    return -1;

  return refuse_unsupported_process (proc, err);
}

static int
parse_mounts (json_t *arr, struct hutch_spec *spec, hutch_error_t *err)
{
  size_t i;
  json_t *m;

  if (arr == NULL)
    return 0;
  if (!json_is_array (arr))
    return hutch_error_set (err, 0, "`mounts` must be an array");
  json_array_foreach (arr, i, m)
  {
    const char *dst = json_string_value (json_object_get (m, "destination"));
    const char *type = json_string_value (json_object_get (m, "type"));
    const char *src = json_string_value (json_object_get (m, "source"));
    char **opts = NULL;
    struct hutch_mount *mm;

    if (dst == NULL || dst[0] != '/')
      return hutch_error_set (err, 0, "mounts[%zu].destination must be an absolute path", i);
    if (get_strv (json_object_get (m, "options"), "mounts[].options", &opts, err) < 0)
      return -1;
    /* The OCI spec lets a bind be spelled as type "none" with a bind option.  */
    if (type == NULL || strcmp (type, "none") == 0)
      {
        size_t k;
        for (k = 0; opts[k]; k++)
          if (strcmp (opts[k], "bind") == 0 || strcmp (opts[k], "rbind") == 0)
            type = "bind";
      }
    if (type == NULL)
      {
        hutch_strv_free (opts);
        return hutch_error_set (err, 0, "mounts[%zu] (%s) has no type", i, dst);
      }
    hutch_spec_add_mount (spec, dst, type, src, NULL);
    mm = &spec->mounts[spec->n_mounts - 1];
    hutch_strv_free (mm->options);
    mm->options = opts;
  }
  return 0;
}

static int
parse_linux (json_t *lx, struct hutch_spec *spec, hutch_error_t *err)
{
  json_t *v;
  size_t i;

  if (lx == NULL)
    return 0;
  if (hutch_spec_parse_namespaces (json_object_get (lx, "namespaces"), spec, err) < 0)
    return -1;
  if (parse_idmaps (json_object_get (lx, "uidMappings"), "uidMappings", &spec->uid_mappings,
                    &spec->n_uid_mappings, err)
          < 0
      || parse_idmaps (json_object_get (lx, "gidMappings"), "gidMappings", &spec->gid_mappings,
                       &spec->n_gid_mappings, err)
             < 0)
    return -1;
  hutch_strv_free (spec->masked_paths);
  hutch_strv_free (spec->readonly_paths);
  spec->masked_paths = spec->readonly_paths = NULL;
  if (get_strv (json_object_get (lx, "maskedPaths"), "linux.maskedPaths", &spec->masked_paths, err)
          < 0
      || get_strv (json_object_get (lx, "readonlyPaths"), "linux.readonlyPaths",
                   &spec->readonly_paths, err)
             < 0)
    return -1;

  if (hutch_spec_parse_linux_more (lx, spec, err) < 0)
    return -1;

  if (hutch_resources_from_oci (json_object_get (lx, "resources"), spec, err) < 0
      || hutch_devices_from_oci (json_object_get (lx, "devices"), spec, err) < 0)
    return -1;

  /* process was read before linux: the filter's capability rules know the
     bounding set.  */
  v = json_object_get (lx, "seccomp");
  if (v && !json_is_null (v) && !(json_is_object (v) && json_object_size (v) == 0)
      && hutch_seccomp_from_json (v, "linux.seccomp", spec, &spec->seccomp, err) < 0)
    return -1;

  /* Where the cgroup goes: the runtime's cgroup manager says what it
     means (hutch-oci: src/runtime/ocicgroup.h).  */
  v = json_object_get (lx, "cgroupsPath");
  if (v && !json_is_null (v))
    {
      if (!json_is_string (v))
        return hutch_error_set (err, 0, "linux.cgroupsPath must be a string");
      if (json_string_value (v)[0])
        spec->cgroups_path = hutch_xstrdup (json_string_value (v));
    }

  /* Not yet implemented: refuse rather than run without what was asked.  */
  {
    static const char *const refused[] = { "intelRdt", "personality", "mountLabel" };
    for (i = 0; i < sizeof refused / sizeof refused[0]; i++)
      {
        v = json_object_get (lx, refused[i]);
        if (v && !json_is_null (v) && !(json_is_object (v) && json_object_size (v) == 0)
            && !(json_is_array (v) && json_array_size (v) == 0)
            && !(json_is_string (v) && json_string_value (v)[0] == '\0'))
          return hutch_error_set (
              err, 0, "linux.%s is not supported by hutch yet; remove it from config.json",
              refused[i]);
      }
  }
  return 0;
}

/* OCI annotations: strings, recorded.  */
static int
parse_annotations (json_t *obj, struct hutch_spec *spec, hutch_error_t *err)
{
  const char *key;
  json_t *v;

  if (obj == NULL || json_is_null (obj))
    return 0;
  if (!json_is_object (obj))
    return hutch_error_set (err, 0, "`annotations` must be an object of strings");
  json_object_foreach (obj, key, v)
  {
    if (!json_is_string (v))
      return hutch_error_set (err, 0, "annotations.%s must be a string", key);
    if (*key == '\0')
      return hutch_error_set (err, 0, "`annotations` has an empty key");
    hutch_kv_set (&spec->annotations, &spec->n_annotations, key, json_string_value (v));
  }
  return 0;
}

/* What comes after the namespaces are known: hooks (src/runtime/hooks.h), the user
   namespace an unprivileged caller needs, a hostname or domainname
   without a UTS namespace of its own (refused, as runc does: it would be
   the host's), and the annotations.  */
static int
parse_rest (json_t *root, struct hutch_spec *spec, hutch_error_t *err)
{
  json_t *v = json_object_get (root, "hooks");

  if (v && !json_is_null (v))
    {
      spec->hooks = hutch_xmalloc0 (sizeof *spec->hooks);
      if (hutch_hooks_from_oci (v, spec->hooks, err) < 0)
        return -1;
    }
  if (hutch_spec_check_namespaces (spec, err) < 0)
    return -1;
  return parse_annotations (json_object_get (root, "annotations"), spec, err);
}

int
hutch_spec_parse_json (const char *text, const char *bundle, struct hutch_spec **ret_spec,
                       hutch_error_t *err)
{
  _cleanup_spec_ struct hutch_spec *spec = hutch_spec_new ();
  json_error_t jerr;
  json_t *root, *v;
  int ret = -1;

  root = json_loads (text, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL)
    return hutch_error_set (err, 0, "config.json is not valid JSON: line %d, column %d: %s",
                            jerr.line, jerr.column, jerr.text);
  if (!json_is_object (root))
    {
      hutch_error_set (err, 0, "config.json must hold a JSON object");
      goto out;
    }

  v = json_object_get (root, "process");
  if (v == NULL)
    {
      hutch_error_set (err, 0, "config.json has no `process`: nothing to run");
      goto out;
    }
  if (parse_process (v, spec, err) < 0)
    goto out;

  v = json_object_get (root, "root");
  if (!json_is_string (json_object_get (v, "path")))
    {
      hutch_error_set (err, 0, "config.json has no root.path");
      goto out;
    }
  {
    const char *p = json_string_value (json_object_get (v, "path"));
    spec->root_path = (p[0] == '/' || bundle == NULL) ? hutch_xstrdup (p)
                                                      : hutch_xasprintf ("%s/%s", bundle, p);
  }
  spec->root_readonly = json_is_true (json_object_get (v, "readonly"));

  v = json_object_get (root, "hostname");
  if (json_is_string (v) && json_string_value (v)[0])
    spec->hostname = hutch_xstrdup (json_string_value (v));
  v = json_object_get (root, "domainname");
  if (json_is_string (v) && json_string_value (v)[0])
    spec->domainname = hutch_xstrdup (json_string_value (v));

  if (parse_mounts (json_object_get (root, "mounts"), spec, err) < 0)
    goto out;
  if (parse_linux (json_object_get (root, "linux"), spec, err) < 0)
    goto out;

  if (parse_rest (root, spec, err) < 0)
    goto out;
  *ret_spec = HUTCH_STEAL_PTR (spec);
  ret = 0;
out:
  json_decref (root);
  return ret;
}

int
hutch_spec_load (const char *bundle, struct hutch_spec **ret_spec, hutch_error_t *err)
{
  _cleanup_free_ char *path = hutch_xasprintf ("%s/config.json", bundle);
  _cleanup_free_ char *text = NULL;

  if (hutch_read_file (path, 16 << 20, &text, NULL, err) < 0)
    return -1;
  if (hutch_spec_parse_json (text, bundle, ret_spec, err) < 0)
    return hutch_error_prefix (err, "%s", path);
  return 0;
}
