/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* A container's configuration on disk (src/runtime/specjson.c): a spec
   written as config.json reads back into one that runs the same, and the
   seccomp filter comes back instruction for instruction.  */

#include "runtime/caps.h"
#include "runtime/spec.h"
#include "runtime/specjson.h"
#include "runtime/sysfilter.h"
#include "base/util.h"
#include "base/walk.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static bool
strv_eq (char *const *a, char *const *b)
{
  size_t i;
  for (i = 0; a && b && a[i] && b[i]; i++)
    if (strcmp (a[i], b[i]) != 0)
      return false;
  /* NULL and an empty list say the same */
  return (a == NULL || a[i] == NULL) && (b == NULL || b[i] == NULL);
}

static bool
str_eq (const char *a, const char *b)
{
  return (a == NULL && b == NULL) || (a && b && strcmp (a, b) == 0);
}

/* What the runtime acts on, compared field by field; *WHY names the first
   difference.  */
static bool
spec_same (const struct hutch_spec *a, const struct hutch_spec *b, const char **why)
{
  size_t i;
  int n;

#define DIFF(cond, what)                                                                           \
  do                                                                                               \
    if (cond)                                                                                      \
      {                                                                                            \
        *why = what;                                                                               \
        return false;                                                                              \
      }                                                                                            \
  while (0)
  DIFF (a->terminal != b->terminal, "terminal");
  DIFF (a->uid != b->uid || a->gid != b->gid, "uid/gid");
  DIFF (a->n_additional_gids != b->n_additional_gids, "additionalGids");
  for (i = 0; i < a->n_additional_gids; i++)
    DIFF (a->additional_gids[i] != b->additional_gids[i], "additionalGids[]");
  DIFF (!strv_eq (a->args, b->args), "args");
  DIFF (!strv_eq (a->env, b->env), "env");
  DIFF (!str_eq (a->cwd, b->cwd), "cwd");
  DIFF (a->no_new_privileges != b->no_new_privileges, "noNewPrivileges");
  DIFF (a->n_rlimits != b->n_rlimits, "rlimits");
  for (i = 0; i < a->n_rlimits; i++)
    DIFF (a->rlimits[i].resource != b->rlimits[i].resource
              || a->rlimits[i].soft != b->rlimits[i].soft
              || a->rlimits[i].hard != b->rlimits[i].hard,
          "rlimits[]");
  DIFF (a->has_caps != b->has_caps, "has_caps");
  DIFF (!strv_eq (a->cap_bounding, b->cap_bounding), "bounding");
  DIFF (!strv_eq (a->cap_effective, b->cap_effective), "effective");
  DIFF (!strv_eq (a->cap_permitted, b->cap_permitted), "permitted");
  DIFF (!strv_eq (a->cap_inheritable, b->cap_inheritable), "inheritable");
  DIFF (!strv_eq (a->cap_ambient, b->cap_ambient), "ambient");
  DIFF (!str_eq (a->root_path, b->root_path), "root.path");
  DIFF (a->root_readonly != b->root_readonly, "root.readonly");
  DIFF (!str_eq (a->hostname, b->hostname), "hostname");
  DIFF (a->n_mounts != b->n_mounts, "mounts");
  for (i = 0; i < a->n_mounts; i++)
    DIFF (!str_eq (a->mounts[i].destination, b->mounts[i].destination)
              || !str_eq (a->mounts[i].type, b->mounts[i].type)
              || !str_eq (a->mounts[i].source, b->mounts[i].source)
              || !strv_eq (a->mounts[i].options, b->mounts[i].options),
          "mounts[]");
  for (n = 0; n < HUTCH_NS_COUNT; n++)
    DIFF (a->ns[n] != b->ns[n] || !str_eq (a->ns_path[n], b->ns_path[n]), "namespaces");
  DIFF (a->has_umask != b->has_umask || a->umask != b->umask, "umask");
  DIFF (a->has_oom_score_adj != b->has_oom_score_adj || a->oom_score_adj != b->oom_score_adj,
        "oomScoreAdj");
  DIFF ((a->sched == NULL) != (b->sched == NULL)
            || (a->sched && memcmp (a->sched, b->sched, sizeof *a->sched) != 0),
        "scheduler");
  DIFF (a->has_ioprio != b->has_ioprio || a->ioprio_class != b->ioprio_class
            || a->ioprio_level != b->ioprio_level,
        "ioPriority");
  DIFF (!str_eq (a->domainname, b->domainname), "domainname");
  DIFF (!str_eq (a->rootfs_propagation, b->rootfs_propagation), "rootfsPropagation");
  DIFF (a->n_sysctls != b->n_sysctls, "sysctl");
  for (i = 0; i < a->n_sysctls; i++)
    DIFF (!str_eq (hutch_kv_get (b->sysctls, b->n_sysctls, a->sysctls[i].key), a->sysctls[i].value),
          "sysctl[]");
  DIFF (a->has_time_offsets != b->has_time_offsets
            || memcmp (&a->time_boottime, &b->time_boottime, sizeof a->time_boottime) != 0
            || memcmp (&a->time_monotonic, &b->time_monotonic, sizeof a->time_monotonic) != 0,
        "timeOffsets");
  DIFF (a->n_uid_mappings != b->n_uid_mappings || a->n_gid_mappings != b->n_gid_mappings,
        "mappings");
  for (i = 0; i < a->n_uid_mappings; i++)
    DIFF (memcmp (&a->uid_mappings[i], &b->uid_mappings[i], sizeof a->uid_mappings[i]) != 0,
          "uidMappings[]");
  for (i = 0; i < a->n_gid_mappings; i++)
    DIFF (memcmp (&a->gid_mappings[i], &b->gid_mappings[i], sizeof a->gid_mappings[i]) != 0,
          "gidMappings[]");
  DIFF (!strv_eq (a->masked_paths, b->masked_paths), "maskedPaths");
  DIFF (!strv_eq (a->readonly_paths, b->readonly_paths), "readonlyPaths");
  DIFF (a->n_resources != b->n_resources, "resources");
  for (i = 0; i < a->n_resources; i++)
    DIFF (!str_eq (a->resources[i].file, b->resources[i].file)
              || !str_eq (a->resources[i].value, b->resources[i].value),
          "resources[]");
  DIFF (a->n_devices != b->n_devices, "devices");
  for (i = 0; i < a->n_devices; i++)
    DIFF (!str_eq (a->devices[i].path, b->devices[i].path)
              || a->devices[i].type != b->devices[i].type
              || a->devices[i].major != b->devices[i].major
              || a->devices[i].minor != b->devices[i].minor,
          "devices[]");
  DIFF (a->n_annotations != b->n_annotations, "annotations");
  for (i = 0; i < a->n_annotations; i++)
    DIFF (!str_eq (hutch_kv_get (b->annotations, b->n_annotations, a->annotations[i].key),
                   a->annotations[i].value),
          "annotations[]");
#undef DIFF
  return true;
}

/* SPEC to JSON and back; the JSON of the copy is the same text.  */
static struct hutch_spec *
round_trip (const struct hutch_spec *spec, const char *what)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_free_ char *text = NULL, *text2 = NULL;
  struct hutch_spec *back = NULL;

  ok (hutch_spec_to_json (spec, &text, &err) == 0, "%s: written (%s)", what,
      err.msg ? err.msg : "ok");
  hutch_error_clear (&err);
  ok (text && hutch_spec_parse_json (text, NULL, &back, &err) == 0, "%s: read back (%s)", what,
      err.msg ? err.msg : "ok");
  hutch_error_clear (&err);
  if (back == NULL)
    return NULL;
  ok (hutch_spec_to_json (back, &text2, &err) == 0 && strcmp (text, text2) == 0,
      "%s: the copy writes the same text", what);
  hutch_error_clear (&err);
  return back;
}

static const char sample[]
    = "{\"ociVersion\": \"1.0.2\",\n"
      " \"process\": {\"terminal\": true, \"user\": {\"uid\": 1, \"gid\": 2, \"umask\": 63, "
      "\"additionalGids\": [5, 6]},\n"
      "   \"oomScoreAdj\": 100, \"ioPriority\": {\"class\": \"IOPRIO_CLASS_BE\", \"priority\": "
      "3},\n"
      "   \"scheduler\": {\"policy\": \"SCHED_DEADLINE\", \"runtime\": 10000, \"deadline\": 20000, "
      "\"period\": 30000, \"flags\": [\"SCHED_FLAG_RECLAIM\"]},\n"
      "   \"args\": [\"sh\", \"-c\", \"echo \\\"$HOME\\\" \\u00e9\"], \"env\": [\"PATH=/bin\", "
      "\"A=b=c\"], \"cwd\": \"/w\",\n"
      "   \"noNewPrivileges\": true,\n"
      "   \"capabilities\": {\"bounding\": [\"CAP_KILL\", \"CAP_CHOWN\"], \"effective\": "
      "[\"CAP_KILL\"], \"permitted\": [\"CAP_KILL\"]},\n"
      "   \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 512},\n"
      "                {\"type\": \"RLIMIT_CORE\", \"hard\": -1, \"soft\": -1}]},\n"
      " \"root\": {\"path\": \"/srv/rootfs\", \"readonly\": true},\n"
      " \"hostname\": \"box\", \"domainname\": \"example.org\",\n"
      " \"mounts\": [{\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},\n"
      "            {\"destination\": \"/data\", \"type\": \"none\", \"source\": \"/srv\", "
      "\"options\": [\"rbind\", \"ro\"]},\n"
      "            {\"destination\": \"/tmp\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", "
      "\"options\": [\"nosuid\", \"mode=1777\"]}],\n"
      " \"annotations\": {\"org.example.a\": \"1\", \"run.oci.keep_original_groups\": \"1\"},\n"
      " \"linux\": {\"namespaces\": [{\"type\": \"user\"}, {\"type\": \"pid\"}, {\"type\": "
      "\"mount\"}, {\"type\": \"uts\"}, {\"type\": \"network\"}, {\"type\": \"ipc\", \"path\": "
      "\"/proc/1/ns/ipc\"}, {\"type\": \"cgroup\"}, {\"type\": \"time\"}],\n"
      "   \"rootfsPropagation\": \"runbindable\", \"sysctl\": {\"net.ipv4.ip_forward\": \"1\", "
      "\"kernel.msgmax\": \"8192\"},\n"
      "   \"timeOffsets\": {\"monotonic\": {\"secs\": 5, \"nanosecs\": 7}},\n"
      "   \"devices\": [{\"path\": \"/dev/null\", \"type\": \"c\", \"major\": 1, \"minor\": 3}],\n"
      "   \"uidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}, "
      "{\"containerID\": 1, \"hostID\": 100000, \"size\": 65536}],\n"
      "   \"gidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}],\n"
      "   \"resources\": {\"memory\": {\"limit\": 1048576}, \"pids\": {\"limit\": 10},\n"
      "                 \"unified\": {\"memory.high\": \"900000\"}},\n"
      "   \"maskedPaths\": [\"/proc/kcore\"], \"readonlyPaths\": [\"/proc/sys\"]}}\n";

static void
parsed_sample (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_spec *spec = NULL, *back;
  const char *why = "";

  ok (hutch_spec_parse_json (sample, NULL, &spec, &err) == 0, "the sample config.json parses (%s)",
      err.msg ? err.msg : "ok");
  hutch_error_clear (&err);
  if (spec == NULL)
    return;
  back = round_trip (spec, "a parsed config.json");
  ok (back && spec_same (spec, back, &why), "... into the same spec (%s)", why);
  ok (back && back->n_resources == 3
          && hutch_kv_get (back->annotations, back->n_annotations, "run.oci.keep_original_groups"),
      "... memory, pids and unified resources as unified files, and the annotations");
  ok (back && back->n_rlimits == 2 && back->rlimits[1].soft == RLIM_INFINITY,
      "... an unlimited rlimit stays unlimited");
  hutch_spec_free (back);
  hutch_spec_free (spec);
}

/* A spec as `hutch run` makes one, by hand: hutch's extras go or become
   their OCI words.  */
static struct hutch_spec *
run_like_spec (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_spec *spec = hutch_spec_new ();
  struct hutch_rlimit nofile = { RLIMIT_NOFILE, 1024, 4096 },
                      core = { RLIMIT_CORE, RLIM_INFINITY, RLIM_INFINITY };
  static const char *const masked[] = { "/proc/kcore", "/proc/keys", "/sys/firmware", NULL };
  char *add[] = { (char *)"NET_ADMIN", NULL };
  int n;

  hutch_strv_push (&spec->args, hutch_xstrdup ("sleep"));
  hutch_strv_push (&spec->args, hutch_xstrdup ("1000"));
  hutch_spec_setenv (spec, "PATH=/usr/sbin:/usr/bin:/sbin:/bin");
  hutch_spec_setenv (spec, "HOSTNAME=abc");
  hutch_spec_setenv (spec, "container=hutch");
  spec->no_new_privileges = true;
  ok (hutch_caps_plan (spec, add, NULL, false, &err) == 0, "Docker's capabilities planned");
  hutch_error_clear (&err);
  spec->root_path = hutch_xstrdup ("/home/u/rootfs");
  spec->hostname = hutch_xstrdup ("abc");
  for (n = 0; n < HUTCH_NS_COUNT; n++)
    spec->ns[n] = n != HUTCH_NS_NET;
  spec->uid_mappings = hutch_xmalloc0 (2 * sizeof *spec->uid_mappings);
  spec->uid_mappings[0] = (struct hutch_idmap){ 0, 1000, 1 };
  spec->uid_mappings[1] = (struct hutch_idmap){ 1, 100000, 65536 };
  spec->n_uid_mappings = 2;
  spec->gid_mappings = hutch_xmalloc0 (sizeof *spec->gid_mappings);
  spec->gid_mappings[0] = (struct hutch_idmap){ 0, 1000, 1 };
  spec->n_gid_mappings = 1;
  hutch_spec_add_mount (spec, "/proc", "proc", NULL, "nosuid,noexec,nodev");
  hutch_spec_add_mount (spec, "/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k");
  hutch_spec_add_mount (spec, "/data", "bind", "/home/u/vol/_data", "rbind,rw");
  spec->mounts[2].copy_up = spec->mounts[2].chown = true;
  spec->masked_paths = hutch_strv_dup ((char *const *)masked);
  spec->readonly_paths = hutch_xmalloc0 (sizeof (char *));
  hutch_spec_add_resource (spec, "memory.max", hutch_xstrdup ("1073741824"), false);
  hutch_spec_add_resource (spec, "memory.swap.max", hutch_xstrdup ("1073741824"), true);
  hutch_spec_add_resource (spec, "pids.max", hutch_xstrdup ("100"), false);
  hutch_spec_set_rlimit (spec, &nofile);
  hutch_spec_set_rlimit (spec, &core);
  spec->devices = hutch_xmalloc0 (2 * sizeof *spec->devices);
  spec->devices[0] = (struct hutch_device){
    hutch_xstrdup ("/dev/null"), hutch_xstrdup ("/dev/null"), 'c', 1, 3, true, true
  };
  spec->devices[1] = (struct hutch_device){
    hutch_xstrdup ("/dev/nothing"), hutch_xstrdup ("/dev/zero"), 'c', 1, 5, true, false
  };
  spec->n_devices = 2;
  hutch_kv_set (&spec->annotations, &spec->n_annotations, "org.example.b", "x\ny");
  spec->extra.keep_groups = true;
  spec->extra.init = true;
  spec->extra.stop_signal = 3;
  return spec;
}

static void
built_by_hand (void)
{
  struct hutch_spec *spec = run_like_spec (), *back, *again;
  const char *why = "";

  back = round_trip (spec, "a spec built as hutch run builds one");
  if (back == NULL)
    {
      hutch_spec_free (spec);
      return;
    }
  ok (back->n_resources == 2 && strcmp (back->resources[1].file, "pids.max") == 0,
      "... the implied memory.swap.max is left out, the limits asked for are kept");
  ok (back->n_devices == 1 && strcmp (back->devices[0].path, "/dev/null") == 0,
      "... a device bound at another path than the host's is left out");
  ok (hutch_kv_get (back->annotations, back->n_annotations, "run.oci.keep_original_groups") != NULL
          && strcmp (hutch_kv_get (back->annotations, back->n_annotations, "org.example.b"), "x\ny")
                 == 0,
      "... keep_groups becomes crun's annotation; an annotation with a newline survives");
  ok (!back->mounts[2].copy_up && !back->mounts[2].chown
          && strcmp (back->mounts[2].source, "/home/u/vol/_data") == 0,
      "... a volume's bind keeps its source, not hutch's copy_up and chown");
  ok (back->has_caps && strv_eq (back->cap_bounding, spec->cap_bounding)
          && strv_eq (back->cap_effective, spec->cap_effective),
      "... Docker's capabilities and --cap-add come back as they were");
  ok (!back->ns[HUTCH_NS_NET] && back->ns[HUTCH_NS_CGROUP] && back->ns[HUTCH_NS_USER],
      "... exactly the namespaces of its own");
  /* With what was dropped dropped, the rest is the same.  */
  free (spec->resources[1].file);
  free (spec->resources[1].value);
  spec->resources[1] = spec->resources[2];
  spec->n_resources = 2;
  free (spec->devices[1].path);
  free (spec->devices[1].host_path);
  spec->n_devices = 1;
  hutch_kv_set (&spec->annotations, &spec->n_annotations, "run.oci.keep_original_groups", "1");
  ok (spec_same (spec, back, &why), "... and everything else is the same (%s)", why);
  again = round_trip (back, "the copy, once more");
  ok (again && spec_same (back, again, &why), "... a second round trip changes nothing (%s)", why);
  hutch_spec_free (again);
  hutch_spec_free (back);
  hutch_spec_free (spec);
}

static void
uts_host (void)
{
  struct hutch_spec *spec = run_like_spec (), *back;

  spec->ns[HUTCH_NS_UTS] = false;
  back = round_trip (spec, "--uts host (the host's name in hostname)");
  ok (back && back->hostname == NULL, "... the hostname, the host's, is not written");
  hutch_spec_free (back);
  hutch_spec_free (spec);
}

static void
refuse (struct hutch_spec *spec, const char *want, const char *what)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  char *text = NULL;
  ok (hutch_spec_to_json (spec, &text, &err) < 0 && text == NULL, "%s: not written", what);
  has_str (err.msg, want, "... the error says `%s`", want);
  hutch_error_clear (&err);
  hutch_spec_free (spec);
}

static void
refusals (void)
{
  struct hutch_spec *s;

  s = run_like_spec ();
  hutch_strv_free (s->args);
  s->args = hutch_xmalloc0 (sizeof (char *));
  refuse (s, "no process.args", "a spec without args");

  s = run_like_spec ();
  free (s->cwd);
  s->cwd = hutch_xstrdup ("work");
  refuse (s, "not an absolute path", "a relative cwd");

  s = run_like_spec ();
  free (s->root_path);
  s->root_path = NULL;
  refuse (s, "root.path", "no root");

  s = run_like_spec ();
  hutch_spec_add_resource (s, "cgroup.procs", hutch_xstrdup ("1"), false);
  refuse (s, "cgroup.procs", "a cgroup file that is not configuration");

  s = run_like_spec ();
  hutch_spec_add_resource (s, "memory.high", hutch_xstrdup ("1\nmemory.max=1"), false);
  refuse (s, "newline", "a resource value with a newline");

  s = run_like_spec ();
  hutch_strv_push (&s->args, hutch_xstrdup ("\xff\xfe"));
  refuse (s, "UTF-8", "an argument that is not UTF-8");
}

static int
make_dir (char *tmpl)
{
  if (mkdtemp (tmpl) == NULL)
    return -1;
  return open (tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void
seccomp_files (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  char tmpl[] = "/tmp/test-specjson.XXXXXX";
  int dirfd = make_dir (tmpl), fd;
  struct hutch_spec *spec = run_like_spec (), *back = NULL;
  struct hutch_seccomp *filter = NULL, *loaded = NULL;

  ok (dirfd >= 0, "a directory for the container");
  if (dirfd < 0)
    return;
  ok (hutch_seccomp_default (spec, NULL, &filter, &err) == 0, "the default filter is built");
  hutch_error_clear (&err);
  ok (hutch_seccomp_save (filter, dirfd, "seccomp.bpf", &err) == 0, "saved");
  hutch_error_clear (&err);
  ok (hutch_seccomp_load (dirfd, "seccomp.bpf", &loaded, &err) == 0 && loaded
          && loaded->len == filter->len && loaded->flags == filter->flags
          && memcmp (loaded->insns, filter->insns, filter->len * sizeof (struct sock_filter)) == 0,
      "loaded back instruction for instruction (%s)", err.msg ? err.msg : "ok");
  hutch_error_clear (&err);
  hutch_seccomp_free (loaded);
  loaded = NULL;

  /* one flipped byte */
  fd = openat (dirfd, "seccomp.bpf", O_WRONLY | O_CLOEXEC);
  ok (fd >= 0 && pwrite (fd, "\x5a", 1, 48) == 1, "a byte of it changed");
  if (fd >= 0)
    close (fd);
  ok (hutch_seccomp_load (dirfd, "seccomp.bpf", &loaded, &err) < 0 && loaded == NULL,
      "a damaged filter is refused");
  has_str (err.msg, "damaged", "... as damaged");
  hutch_error_clear (&err);

  ok (hutch_seccomp_save (NULL, dirfd, "seccomp.bpf", &err) == 0, "no filter is saved as such");
  hutch_error_clear (&err);
  loaded = (struct hutch_seccomp *)1;
  ok (hutch_seccomp_load (dirfd, "seccomp.bpf", &loaded, &err) == 0 && loaded == NULL,
      "... and read back as no filter");
  hutch_error_clear (&err);

  ok (fchmodat (dirfd, "seccomp.bpf", 0666, 0) == 0, "the file made writable by anyone");
  ok (hutch_seccomp_load (dirfd, "seccomp.bpf", &loaded, &err) < 0,
      "a filter others could have written is refused");
  hutch_error_clear (&err);

  unlinkat (dirfd, "seccomp.bpf", 0);
  ok (hutch_seccomp_load (dirfd, "seccomp.bpf", &loaded, &err) < 0 && err.errnum == ENOENT,
      "a missing filter is an error, not `no filter`");
  hutch_error_clear (&err);

  /* the whole configuration, with a device the host no longer has */
  spec->seccomp = filter;
  free (spec->devices[1].path);
  free (spec->devices[1].host_path);
  spec->devices[1].path = hutch_xstrdup ("/dev/hutch-test-unplugged");
  spec->devices[1].host_path = hutch_xstrdup ("/dev/hutch-test-unplugged");
  ok (hutch_spec_save (spec, dirfd, &err) == 0, "config.json and seccomp.bpf saved (%s)",
      err.msg ? err.msg : "ok");
  hutch_error_clear (&err);
  ok (hutch_spec_load_saved (dirfd, &back, &err) == 0 && back, "read back (%s)",
      err.msg ? err.msg : "ok");
  hutch_error_clear (&err);
  ok (back && back->seccomp && back->seccomp->len == filter->len
          && memcmp (back->seccomp->insns, filter->insns, filter->len * sizeof (struct sock_filter))
                 == 0,
      "... with the container's filter");
  ok (back && back->n_devices == 0 && back->uid == spec->uid && strv_eq (back->args, spec->args),
      "... without linux.devices (an unplugged device does not keep exec out)");
  hutch_spec_free (back);
  hutch_spec_free (spec);

  hutch_walk_remove_path (tmpl, &err);
  hutch_error_clear (&err);
  close (dirfd);
}

int
main (void)
{
  parsed_sample ();
  built_by_hand ();
  uts_host ();
  refusals ();
  seccomp_files ();
  return tap_done ();
}
