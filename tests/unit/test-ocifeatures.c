/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* hutch-oci features and spec (src/front/ocifeatures.c): every value the
   features document lists is taken by the code that reads config.json
   (namespaces, capabilities, each seccomp action, operator, architecture
   and flag), what it leaves out is refused there, and both configs that
   spec writes parse, with what --rootless changes.  Mount options are
   checked by running a bundle (tests/integration/oci-cli.bats): their
   parser works inside the container.  */

#include "front/ocifeatures.h"
#include "runtime/caps.h"
#include "runtime/hooks.h"
#include "runtime/spec.h"
#include "runtime/sysfilter.h"
#include "base/util.h"
#include "tap.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static json_t *
path (json_t *root, const char *a, const char *b)
{
  json_t *v = json_object_get (root, a);
  return b ? json_object_get (v, b) : v;
}

static bool
has (json_t *arr, const char *s)
{
  size_t i;
  json_t *v;
  json_array_foreach (arr, i, v) if (json_is_string (v)
                                     && strcmp (json_string_value (v), s) == 0) return true;
  return false;
}

/* Build PROFILE (a JSON text, consumed) with hutch's seccomp reader.  */
static int
profile_builds (const char *text, hutch_error_t *err)
{
  _cleanup_spec_ struct hutch_spec *spec = hutch_spec_new ();
  struct hutch_seccomp *f = NULL;
  json_t *j = json_loads (text, 0, NULL);
  int r;

  if (j == NULL)
    return hutch_error_set (err, 0, "bad test JSON: %s", text);
  r = hutch_seccomp_from_json (j, "test", spec, &f, err);
  json_decref (j);
  hutch_seccomp_free (f);
  return r;
}

static void
test_seccomp (json_t *sc)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  size_t i;
  json_t *v;
  bool all;

  ok (json_is_true (json_object_get (sc, "enabled")), "seccomp enabled");
  all = json_array_size (json_object_get (sc, "actions")) > 0;
  json_array_foreach (json_object_get (sc, "actions"), i, v)
  {
    _cleanup_free_ char *p = hutch_xasprintf ("{\"defaultAction\":\"SCMP_ACT_ALLOW\","
                                              "\"syscalls\":[{\"names\":[\"getcwd\"],"
                                              "\"action\":\"%s\"}]}",
                                              json_string_value (v));
    if (profile_builds (p, &err) < 0)
      {
        printf ("# %s: %s\n", json_string_value (v), err.msg);
        all = false;
      }
  }
  ok (all, "every action listed is taken");
  ok (!has (json_object_get (sc, "actions"), "SCMP_ACT_NOTIFY")
          && profile_builds ("{\"defaultAction\":\"SCMP_ACT_NOTIFY\"}", &err) < 0,
      "SCMP_ACT_NOTIFY is neither listed nor taken");

  all = json_array_size (json_object_get (sc, "operators")) == 7;
  json_array_foreach (json_object_get (sc, "operators"), i, v)
  {
    _cleanup_free_ char *p
        = hutch_xasprintf ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":["
                           "\"personality\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,"
                           "\"value\":8,\"valueTwo\":8,\"op\":\"%s\"}]}]}",
                           json_string_value (v));
    if (profile_builds (p, &err) < 0)
      {
        printf ("# %s: %s\n", json_string_value (v), err.msg);
        all = false;
      }
  }
  ok (all, "all seven operators listed, each taken");

  all = has (json_object_get (sc, "archs"), "SCMP_ARCH_X86_64")
        || has (json_object_get (sc, "archs"), "SCMP_ARCH_AARCH64");
  json_array_foreach (json_object_get (sc, "archs"), i, v)
  {
    _cleanup_free_ char *p
        = hutch_xasprintf ("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[\"%s\"],"
                           "\"syscalls\":[{\"names\":[\"getcwd\"],\"action\":\"SCMP_ACT_ALLOW\"}]}",
                           json_string_value (v));
    if (profile_builds (p, &err) < 0)
      {
        printf ("# %s: %s\n", json_string_value (v), err.msg);
        all = false;
      }
  }
  ok (all, "every architecture listed is taken (%zu)",
      json_array_size (json_object_get (sc, "archs")));

  all = json_array_size (json_object_get (sc, "knownFlags")) == 3;
  json_array_foreach (json_object_get (sc, "knownFlags"), i, v)
  {
    _cleanup_free_ char *p = hutch_xasprintf (
        "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"%s\"]}", json_string_value (v));
    if (profile_builds (p, &err) < 0)
      {
        printf ("# %s: %s\n", json_string_value (v), err.msg);
        all = false;
      }
  }
  ok (all, "every known flag is taken");
  ok (profile_builds ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":["
                      "\"SECCOMP_FILTER_FLAG_NEW_LISTENER\"]}",
                      &err)
              < 0
          && !has (json_object_get (sc, "knownFlags"), "SECCOMP_FILTER_FLAG_NEW_LISTENER"),
      "a flag that is not taken is not listed");
  all = true;
  json_array_foreach (json_object_get (sc, "supportedFlags"), i, v)
  {
    if (!has (json_object_get (sc, "knownFlags"), json_string_value (v)))
      all = false;
  }
  /* Linux 4.17 has them all; hutch needs 5.12 */
  ok (all && json_array_size (json_object_get (sc, "supportedFlags")) == 3,
      "this kernel supports the three known flags, and only known flags are supported");
  hutch_error_clear (&err);
}

static void
test_features (void)
{
  json_t *f = hutch_oci_features ();
  _cleanup_spec_ struct hutch_spec *spec = hutch_spec_new ();
  hutch_error_t err = HUTCH_ERROR_INIT;
  json_t *v, *lx = json_object_get (f, "linux");
  size_t i;
  bool all;
  int k;

  is_str (json_string_value (json_object_get (f, "ociVersionMax")), HUTCH_OCI_SPEC_VERSION,
          "ociVersionMax is the spec version hutch implements");
  ok (json_is_string (json_object_get (f, "ociVersionMin")), "ociVersionMin");
  ok (json_array_size (json_object_get (f, "hooks")) == HUTCH_HOOK_COUNT, "six hooks");
  for (k = 0; k < HUTCH_HOOK_COUNT; k++)
    ok (has (json_object_get (f, "hooks"), hutch_hook_kind_name (k)), "hook %s",
        hutch_hook_kind_name (k));

  all = json_array_size (json_object_get (lx, "namespaces")) == HUTCH_NS_COUNT;
  json_array_foreach (json_object_get (lx, "namespaces"), i,
                      v) if (hutch_ns_from_name (json_string_value (v)) < 0) all
      = false;
  ok (all, "every namespace listed is one config.json may name");
  ok (has (json_object_get (lx, "namespaces"), "time"), "the time namespace");

  spec->has_caps = true;
  spec->cap_bounding = hutch_xmalloc0 (sizeof (char *));
  json_array_foreach (json_object_get (lx, "capabilities"), i, v)
      hutch_strv_push (&spec->cap_bounding, hutch_xstrdup (json_string_value (v)));
  ok (hutch_caps_validate (spec, &err) == 0, "every capability listed is taken: %s",
      err.msg ? err.msg : "ok");
  ok (has (json_object_get (lx, "capabilities"), "CAP_SYS_ADMIN")
          && has (json_object_get (lx, "capabilities"), "CAP_CHOWN")
          && json_array_size (json_object_get (lx, "capabilities")) >= 38,
      "the capabilities: all of them (%zu)",
      json_array_size (json_object_get (lx, "capabilities")));

  ok (json_is_true (path (lx, "cgroup", "v2")) && json_is_false (path (lx, "cgroup", "v1")),
      "cgroup v2, not v1");
  ok (json_is_false (path (lx, "apparmor", "enabled"))
          && json_is_false (path (lx, "selinux", "enabled"))
          && json_is_false (path (lx, "intelRdt", "enabled")),
      "no AppArmor, SELinux, Intel RDT");
  ok (json_is_false (json_object_get (path (lx, "mountExtensions", "idmap"), "enabled")),
      "no idmapped mounts");
  ok (has (json_object_get (f, "potentiallyUnsafeConfigAnnotations"),
           "run.oci.keep_original_groups"),
      "the annotation hutch acts on");
  ok (json_is_string (path (f, "annotations", "io.github.seccomp.libseccomp.version")),
      "libseccomp's version");
  ok (has (json_object_get (f, "mountOptions"), "rbind")
          && has (json_object_get (f, "mountOptions"), "rro")
          && has (json_object_get (f, "mountOptions"), "tmpcopyup")
          && !has (json_object_get (f, "mountOptions"), "idmap"),
      "mount options: rbind, rro, tmpcopyup, but not idmap");
  test_seccomp (json_object_get (lx, "seccomp"));
  json_decref (f);
  hutch_error_clear (&err);
}

static json_t *
mount_at (json_t *cfg, const char *dst)
{
  size_t i;
  json_t *m;
  json_array_foreach (json_object_get (cfg, "mounts"), i,
                      m) if (strcmp (json_string_value (json_object_get (m, "destination")), dst)
                             == 0) return m;
  return NULL;
}

static bool
has_ns (json_t *cfg, const char *type)
{
  size_t i;
  json_t *n;
  json_array_foreach (path (cfg, "linux", "namespaces"), i,
                      n) if (strcmp (json_string_value (json_object_get (n, "type")), type)
                             == 0) return true;
  return false;
}

static void
test_spec (void)
{
  json_t *rl = hutch_oci_example_config (true, 1234, 5678), *full;
  char *text = json_dumps (rl, 0);
  struct hutch_spec *spec = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  json_t *map;

  ok (hutch_spec_parse_json (text, "/bundle", &spec, &err) == 0, "the rootless config parses: %s",
      err.msg ? err.msg : "ok");
  ok (spec && spec->ns[HUTCH_NS_USER] && !spec->ns[HUTCH_NS_NET] && spec->ns[HUTCH_NS_PID]
          && spec->ns[HUTCH_NS_MOUNT],
      "rootless: a user namespace, the host's network");
  ok (spec && spec->n_uid_mappings == 1 && spec->uid_mappings[0].container_id == 0
          && spec->uid_mappings[0].host_id == 1234 && spec->uid_mappings[0].size == 1
          && spec->n_gid_mappings == 1 && spec->gid_mappings[0].host_id == 5678,
      "the caller mapped to root, one id");
  ok (spec && spec->terminal && strcmp (spec->args[0], "sh") == 0 && spec->root_readonly
          && strcmp (spec->root_path, "/bundle/rootfs") == 0,
      "sh on a terminal, rootfs read-only");
  ok (spec && spec->has_caps && hutch_strv_len (spec->cap_bounding) == 14
          && hutch_strv_len (spec->cap_effective) == 14,
      "Docker's 14 default capabilities");
  ok (spec && hutch_strv_len (spec->masked_paths) > 5 && hutch_strv_len (spec->readonly_paths) > 3,
      "masked and read-only paths");
  map = mount_at (rl, "/sys");
  ok (map && strcmp (json_string_value (json_object_get (map, "source")), "/sys") == 0
          && has (json_object_get (map, "options"), "rbind"),
      "rootless: /sys bound from the host");
  ok (mount_at (rl, "/sys/fs/cgroup") == NULL, "rootless: no cgroup mount");
  ok (!has (json_object_get (mount_at (rl, "/dev/pts"), "options"), "gid=5"),
      "rootless: devpts without gid=5");
  ok (path (rl, "linux", "resources") == NULL, "rootless: no resources");
  hutch_spec_free (spec);
  spec = NULL;
  free (text);

  full = hutch_oci_example_config (false, 1234, 5678);
  text = json_dumps (full, 0);
  ok (has_ns (full, "network") && !has_ns (full, "user")
          && path (full, "linux", "uidMappings") == NULL,
      "as root: a network namespace, no user namespace");
  ok (mount_at (full, "/sys/fs/cgroup") != NULL
          && has (json_object_get (mount_at (full, "/dev/pts"), "options"), "gid=5")
          && strcmp (json_string_value (json_object_get (mount_at (full, "/sys"), "type")), "sysfs")
                 == 0,
      "as root: sysfs, a cgroup mount, devpts with gid=5");
  if (getuid () == 0)
    ok (hutch_spec_parse_json (text, "/bundle", &spec, &err) == 0, "it parses as root: %s",
        err.msg ? err.msg : "ok");
  else
    ok (hutch_spec_parse_json (text, "/bundle", &spec, &err) < 0
            && strstr (err.msg, "user namespace"),
        "it is refused to a user, who needs a user namespace: %s", err.msg ? err.msg : "accepted");
  hutch_spec_free (spec);
  free (text);
  json_decref (rl);
  json_decref (full);
  hutch_error_clear (&err);
}

int
main (void)
{
  test_features ();
  test_spec ();
  return tap_done ();
}
