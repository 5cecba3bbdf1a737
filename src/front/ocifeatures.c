/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* `hutch-oci features` and `hutch-oci spec` (front/ocifeatures.h).  The
   features are derived from the tables of the code that reads
   config.json wherever that code exports them (namespaces, hooks,
   capabilities, Docker's masked paths); the rest mirrors a table that is
   private to its module, named at each list, and tests/unit/test-ocifeatures
   and tests/integration/oci-cli.bats check every value listed against
   that code, so a list that claims too much fails a test.  */

#include "front/ocifeatures.h"
#include "front/run.h"
#include "runtime/caps.h"
#include "runtime/hooks.h"
#include "runtime/mount.h"
#include "runtime/spec.h"
#include "base/util.h"

#include <ctype.h>
#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

/* parse_action in runtime/sysfilter.c: every action but SCMP_ACT_NOTIFY,
   which needs a seccomp agent that hutch does not support.  */
static const char *const seccomp_actions[]
    = { "SCMP_ACT_ALLOW",        "SCMP_ACT_ERRNO",       "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
        "SCMP_ACT_TRACE",        "SCMP_ACT_TRAP",        NULL };

/* parse_arg in runtime/sysfilter.c.  */
static const char *const seccomp_operators[]
    = { "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",        "SCMP_CMP_LE",
        "SCMP_CMP_LT", "SCMP_CMP_NE", "SCMP_CMP_MASKED_EQ", NULL };

/* The architectures a profile may name: those of this list that the
   libseccomp hutch runs with knows (runtime/sysfilter.c looks them up
   the same way) and can add to a filter for this machine (not those of
   the other byte order).  */
static const char *const seccomp_archs[]
    = { "SCMP_ARCH_X86",         "SCMP_ARCH_X86_64",      "SCMP_ARCH_X32",    "SCMP_ARCH_ARM",
        "SCMP_ARCH_AARCH64",     "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K",   "SCMP_ARCH_MIPS",
        "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",   "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64",
        "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",         "SCMP_ARCH_PPC64",  "SCMP_ARCH_PPC64LE",
        "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",       "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64",
        "SCMP_ARCH_RISCV64",     "SCMP_ARCH_SHEB",        "SCMP_ARCH_SH",     NULL };

/* parse_flags in runtime/sysfilter.c, with the flag of seccomp(2) each
   is (TSYNC is taken and has nothing to do: the container's process has
   one thread when its filter comes).  */
static const struct
{
  const char *name;
  unsigned int flag;
} seccomp_flags[] = {
  { "SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC },
  { "SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW },
  { "SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG },
};

/* The annotations of config.json that change what hutch does (child.c
   reads it; crun's name, which podman sets).  */
static const char *const config_annotations[] = { "run.oci.keep_original_groups", NULL };

static json_t *
strv_json (const char *const *v)
{
  json_t *arr = json_array ();
  size_t i;
  for (i = 0; v[i]; i++)
    json_array_append_new (arr, json_string (v[i]));
  return arr;
}

/* V as a JSON array, and V freed.  */
static json_t *
strv_json_owned (char **v)
{
  json_t *arr = strv_json ((const char *const *)v);
  hutch_strv_free (v);
  return arr;
}

/* Every capability libcap names: the ones config.json may list
   (runtime/caps.c takes exactly these; a name the running kernel lacks
   is skipped there, as runc and crun do).  */
static json_t *
capabilities (void)
{
  json_t *arr = json_array ();
  cap_value_t v;

  for (v = 0; v < 64; v++)
    {
      char *name = cap_to_name (v);
      size_t i;
      /* a value libcap has no name for comes back as its number */
      if (name && !isdigit ((unsigned char)name[0]))
        {
          for (i = 0; name[i]; i++)
            name[i] = (char)toupper ((unsigned char)name[i]);
          json_array_append_new (arr, json_string (name));
        }
      cap_free (name);
    }
  return arr;
}

static json_t *
seccomp_features (void)
{
  json_t *archs = json_array (), *known = json_array (), *supported = json_array ();
  scmp_filter_ctx ctx = seccomp_init (SCMP_ACT_ALLOW);
  size_t i;

  for (i = 0; seccomp_archs[i] && ctx; i++)
    {
      char lower[32];
      const char *s = seccomp_archs[i] + strlen ("SCMP_ARCH_");
      uint32_t arch;
      size_t k;
      int r;
      for (k = 0; s[k] && k < sizeof lower - 1; k++)
        lower[k] = (char)tolower ((unsigned char)s[k]);
      lower[k] = '\0';
      arch = seccomp_arch_resolve_name (lower);
      if (arch == 0)
        continue;
      r = seccomp_arch_add (ctx, arch);
      if (r == 0 || r == -EEXIST)
        json_array_append_new (archs, json_string (seccomp_archs[i]));
    }
  if (ctx)
    seccomp_release (ctx);
  for (i = 0; i < sizeof seccomp_flags / sizeof seccomp_flags[0]; i++)
    {
      json_array_append_new (known, json_string (seccomp_flags[i].name));
      /* With no program, a flag the kernel knows fails at reading the
         program (EFAULT), one it does not know before (EINVAL); nothing
         is installed either way.  */
      if (syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, seccomp_flags[i].flag, NULL) < 0
          && errno == EFAULT)
        json_array_append_new (supported, json_string (seccomp_flags[i].name));
    }
  return json_pack ("{s:b, s:o, s:o, s:o, s:o, s:o}", "enabled", 1, "actions",
                    strv_json (seccomp_actions), "operators", strv_json (seccomp_operators),
                    "archs", archs, "knownFlags", known, "supportedFlags", supported);
}

json_t *
hutch_oci_features (void)
{
  json_t *hooks = json_array (), *namespaces = json_array ();
  const struct scmp_version *ver = seccomp_version ();
  _cleanup_free_ char *seccomp_ver
      = hutch_xasprintf ("%u.%u.%u", ver->major, ver->minor, ver->micro);
  json_t *linux_;
  int i;

  for (i = 0; i < HUTCH_HOOK_COUNT; i++)
    json_array_append_new (hooks, json_string (hutch_hook_kind_name (i)));
  /* runtime/spec.c takes a namespace by the names of this table; the time
     namespace is not among them yet.  */
  for (i = 0; i < HUTCH_NS_COUNT; i++)
    json_array_append_new (namespaces, json_string (hutch_ns_name (i)));

  linux_ = json_pack (
      "{s:o, s:o, s:{s:b, s:b, s:b, s:b, s:b}, s:o, s:{s:b}, s:{s:b}, s:{s:b}, s:{s:{s:b}}}",
      "namespaces", namespaces, "capabilities", capabilities (),
      /* cgroup v2 only (v1 cannot be delegated to a user), through
         cgroupfs or a systemd scope of the system's or the user's manager
         (--systemd-cgroup: runtime/ocicgroup.c).  */
      "cgroup", "v1", 0, "v2", 1, "systemd", 1, "systemdUser", 1, "rdma", 0, "seccomp",
      seccomp_features (), "apparmor", "enabled", 0, "selinux", "enabled", 0, "intelRdt", "enabled",
      0,
      /* mounts[].uidMappings are not read (runtime/spec.c) */
      "mountExtensions", "idmap", "enabled", 0);
  return json_pack ("{s:s, s:s, s:o, s:o, s:o, s:{s:s}, s:o}", "ociVersionMin", "1.0.0",
                    "ociVersionMax", HUTCH_OCI_SPEC_VERSION, "hooks", hooks, "mountOptions",
                    strv_json_owned (hutch_mount_option_names ()), "linux", linux_, "annotations",
                    "io.github.seccomp.libseccomp.version", seccomp_ver,
                    "potentiallyUnsafeConfigAnnotations", strv_json (config_annotations));
}

/* ---- hutch-oci spec --------------------------------------------------- */

static json_t *
mount_entry (const char *destination, const char *type, const char *source, const char *options)
{
  json_t *m
      = json_pack ("{s:s, s:s, s:s}", "destination", destination, "type", type, "source", source);
  if (options)
    {
      _cleanup_free_ char *copy = hutch_xstrdup (options);
      json_t *arr = json_array ();
      char *save = NULL, *o;
      for (o = strtok_r (copy, ",", &save); o; o = strtok_r (NULL, ",", &save))
        json_array_append_new (arr, json_string (o));
      json_object_set_new (m, "options", arr);
    }
  return m;
}

static json_t *
mounts (bool rootless)
{
  json_t *arr = json_array ();

  json_array_append_new (arr, mount_entry ("/proc", "proc", "proc", NULL));
  json_array_append_new (
      arr, mount_entry ("/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k"));
  /* gid=5 (tty) is a group of the host's range: rootless, only the user's
     own group is mapped, and devpts refuses an unmapped gid.  */
  json_array_append_new (
      arr, mount_entry ("/dev/pts", "devpts", "devpts",
                        rootless ? "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620"
                                 : "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5"));
  json_array_append_new (
      arr, mount_entry ("/dev/shm", "tmpfs", "shm", "nosuid,noexec,nodev,mode=1777,size=65536k"));
  json_array_append_new (arr,
                         mount_entry ("/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev"));
  /* Only the owner of the network namespace may mount sysfs; rootless,
     the container shares the host's (below), so the host's /sys is
     bound read-only instead.  */
  if (rootless)
    json_array_append_new (arr,
                           mount_entry ("/sys", "none", "/sys", "rbind,nosuid,noexec,nodev,ro"));
  else
    {
      json_array_append_new (arr, mount_entry ("/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro"));
      /* Rootless, there is no cgroup of the container's own to show
         unless one was delegated: left out, as the user can add it.  */
      json_array_append_new (arr, mount_entry ("/sys/fs/cgroup", "cgroup", "cgroup",
                                               "nosuid,noexec,nodev,relatime,ro"));
    }
  return arr;
}

static json_t *
linux_section (bool rootless, uid_t uid, gid_t gid)
{
  json_t *lx = json_object (), *ns = json_array ();
  /* Rootless, no network namespace: hutch-oci, as runc, sets up no
     network for a bundle, so a new one would hold only loopback; the
     host's is one the user has anyway.  */
  const char *kinds[]
      = { "pid", rootless ? "user" : "network", "ipc", "uts", "mount", "cgroup", NULL };
  size_t i;

  for (i = 0; kinds[i]; i++)
    json_array_append_new (ns, json_pack ("{s:s}", "type", kinds[i]));
  if (rootless)
    {
      json_object_set_new (
          lx, "uidMappings",
          json_pack ("[{s:i, s:I, s:i}]", "containerID", 0, "hostID", (json_int_t)uid, "size", 1));
      json_object_set_new (
          lx, "gidMappings",
          json_pack ("[{s:i, s:I, s:i}]", "containerID", 0, "hostID", (json_int_t)gid, "size", 1));
    }
  else
    /* As root, no device but the ones bound into /dev; rootless the
       container cannot make device nodes anyway, and has no cgroup of
       its own to enforce this with unless one was delegated.  */
    json_object_set_new (lx, "resources",
                         json_pack ("{s:[{s:b, s:s}]}", "devices", "allow", 0, "access", "rwm"));
  json_object_set_new (lx, "namespaces", ns);
  json_object_set_new (lx, "maskedPaths", strv_json (hutch_run_masked_paths));
  json_object_set_new (lx, "readonlyPaths", strv_json (hutch_run_readonly_paths));
  return lx;
}

/* Docker's default capabilities, as `hutch run` gives them to root.  */
static json_t *
default_caps (void)
{
  _cleanup_spec_ struct hutch_spec *spec = hutch_spec_new ();
  hutch_error_t err = HUTCH_ERROR_INIT;
  json_t *caps;

  if (hutch_caps_plan (spec, NULL, NULL, false, &err) < 0)
    abort (); /* nothing to add or drop: nothing can be wrong */
  caps = json_pack ("{s:o, s:o, s:o}", "bounding",
                    strv_json ((const char *const *)spec->cap_bounding), "effective",
                    strv_json ((const char *const *)spec->cap_effective), "permitted",
                    strv_json ((const char *const *)spec->cap_permitted));
  return caps;
}

json_t *
hutch_oci_example_config (bool rootless, uid_t uid, gid_t gid)
{
  json_t *process
      = json_pack ("{s:b, s:{s:i, s:i}, s:[s], s:[s, s], s:s, s:o, s:[{s:s, s:i, s:i}], s:b}",
                   "terminal", 1, "user", "uid", 0, "gid", 0, "args", "sh", "env",
                   "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                   "TERM=xterm", "cwd", "/", "capabilities", default_caps (), "rlimits", "type",
                   "RLIMIT_NOFILE", "hard", 1024, "soft", 1024, "noNewPrivileges", 1);

  return json_pack ("{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:o}", "ociVersion", HUTCH_OCI_SPEC_VERSION,
                    "process", process, "root", "path", "rootfs", "readonly", 1, "hostname",
                    "hutch", "mounts", mounts (rootless), "linux",
                    linux_section (rootless, uid, gid));
}
