/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "runtime/procattr.h"
#include "runtime/spec.h"
#include "runtime/sysfilter.h"
#include "tap.h"
#include "base/util.h"

#include <string.h>
#include <unistd.h>

static const char good[]
    = "{\"ociVersion\": \"1.0.2\",\n"
      " \"process\": {\"terminal\": true, \"user\": {\"uid\": 1, \"gid\": 2, \"additionalGids\": "
      "[5, 6]},\n"
      "   \"args\": [\"sh\", \"-c\", \"true\"], \"env\": [\"PATH=/bin\"], \"cwd\": \"/w\",\n"
      "   \"noNewPrivileges\": true,\n"
      "   \"capabilities\": {\"bounding\": [\"CAP_KILL\"], \"effective\": [\"CAP_KILL\"]},\n"
      "   \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 512}]},\n"
      " \"root\": {\"path\": \"rootfs\", \"readonly\": true},\n"
      " \"hostname\": \"box\",\n"
      " \"mounts\": [{\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},\n"
      "            {\"destination\": \"/data\", \"type\": \"none\", \"source\": \"/srv\", "
      "\"options\": [\"rbind\", \"ro\"]}],\n"
      " \"annotations\": {\"org.example.a\": \"1\", \"run.oci.keep_original_groups\": \"1\"},\n"
      " \"linux\": {\"namespaces\": [{\"type\": \"user\"}, {\"type\": \"pid\"}, {\"type\": "
      "\"mount\"}, {\"type\": \"uts\"}],\n"
      "   \"devices\": [{\"path\": \"/dev/null\", \"type\": \"c\", \"major\": 1, \"minor\": 3, "
      "\"fileMode\": 438, \"uid\": 0, \"gid\": 0}],\n"
      "   \"uidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}],\n"
      "   \"gidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}],\n"
      "   \"maskedPaths\": [\"/proc/kcore\"], \"readonlyPaths\": [\"/proc/sys\"]}}\n";

static int
parse (const char *text, struct hutch_spec **spec, hutch_error_t *err)
{
  return hutch_spec_parse_json (text, "/bundle", spec, err);
}

/* A config around NSS (linux.namespaces' entries), LX (the rest of the
   inside of "linux": {...}) and TOP (more top-level keys, with a trailing
   comma), which must be refused with an error that has WANT.  */
static void
refused_ns (const char *top, const char *nss, const char *lx, const char *want, const char *what)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_spec *spec = NULL;
  char *text = hutch_xasprintf ("{%s \"process\": {\"args\": [\"x\"]}, \"root\": {\"path\": "
                                "\"/r\"}, \"linux\": {\"namespaces\": [%s]%s}}",
                                top, nss, lx);
  ok (parse (text, &spec, &err) < 0, "%s", what);
  has_str (err.msg, want, "... and the error says `%s`", want);
  hutch_spec_free (spec);
  hutch_error_clear (&err);
  free (text);
}

/* The same with a user namespace only.  */
static void
refused (const char *top, const char *lx, const char *want, const char *what)
{
  refused_ns (top, "{\"type\": \"user\"}", lx, want, what);
}

/* A config with PROC (inside "process"), TOP (top-level keys, each
   followed by a comma) and LX (inside "linux", after the namespaces NSS),
   which must parse.  */
static struct hutch_spec *
accepted (const char *proc, const char *top, const char *nss, const char *lx, const char *what)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_spec *spec = NULL;
  char *text = hutch_xasprintf ("{%s \"process\": {\"args\": [\"x\"]%s}, \"root\": {\"path\": "
                                "\"/r\"}, \"linux\": {\"namespaces\": [%s]%s}}",
                                top, proc, nss, lx);
  ok (parse (text, &spec, &err) == 0, "%s (%s)", what, err.msg ? err.msg : "ok");
  hutch_error_clear (&err);
  free (text);
  return spec;
}

#define ALL_NS                                                                                     \
  "{\"type\": \"user\"}, {\"type\": \"mount\"}, {\"type\": \"uts\"}, {\"type\": \"ipc\"}, "        \
  "{\"type\": \"network\"}, {\"type\": \"time\"}"

/* What config.json says of the process and the kernel beyond files:
   read into the spec as the runtime needs it.  */
static void
linux_fields (void)
{
  struct hutch_spec *spec;

  spec = accepted (", \"user\": {\"uid\": 0, \"umask\": 18}, \"oomScoreAdj\": 500, "
                   "\"scheduler\": {\"policy\": \"SCHED_BATCH\", \"nice\": 7, \"flags\": "
                   "[\"SCHED_FLAG_RESET_ON_FORK\"]}, \"ioPriority\": {\"class\": "
                   "\"IOPRIO_CLASS_IDLE\", \"priority\": 0}",
                   "\"domainname\": \"example.org\",", ALL_NS,
                   ", \"rootfsPropagation\": \"rprivate\", \"sysctl\": {\"kernel.shmmax\": "
                   "\"4096\", \"net.ipv4.ip_forward\": \"1\", \"fs.mqueue.msg_max\": \"20\", "
                   "\"kernel.domainname\": \"x\"}, \"timeOffsets\": {\"boottime\": {\"secs\": "
                   "86400, \"nanosecs\": 5}, \"monotonic\": {\"secs\": -10}}",
                   "process and linux fields of the runtime spec parse");
  if (spec)
    {
      ok (spec->has_umask && spec->umask == 022, "process.user.umask");
      ok (spec->has_oom_score_adj && spec->oom_score_adj == 500, "process.oomScoreAdj");
      ok (spec->sched && spec->sched->policy == 3 && spec->sched->nice == 7
              && spec->sched->flags == 1,
          "process.scheduler: SCHED_BATCH, nice, flags");
      ok (spec->has_ioprio && spec->ioprio_class == 3 && spec->ioprio_level == 0,
          "process.ioPriority: IOPRIO_CLASS_IDLE is class 3");
      is_str (spec->domainname, "example.org", "domainname");
      is_str (spec->rootfs_propagation, "rprivate", "linux.rootfsPropagation");
      ok (spec->n_sysctls == 4, "linux.sysctl: the namespaced ones");
      is_str (hutch_kv_get (spec->sysctls, spec->n_sysctls, "net.ipv4.ip_forward"), "1",
              "... with their values");
      ok (spec->ns[HUTCH_NS_TIME] && spec->has_time_offsets && spec->time_boottime.secs == 86400
              && spec->time_boottime.nanosecs == 5 && spec->time_monotonic.secs == -10,
          "the time namespace and linux.timeOffsets");
      ok (spec->extra.create_cwd, "a missing process.cwd is to be made");
      hutch_spec_free (spec);
    }
  spec = accepted ("", "", "{\"type\": \"mount\"}", "", "a config without a user namespace");
  if (spec)
    ok (spec->ns[HUTCH_NS_USER] == (getuid () != 0),
        "... gets one without privileges (as crun), none as root");
  hutch_spec_free (spec);
  spec = accepted ("", "",
                   "{\"type\": \"user\", \"path\": \"/proc/7/ns/user\"}, {\"type\": \"pid\", "
                   "\"path\": \"/proc/7/ns/pid\"}, {\"type\": \"cgroup\", \"path\": "
                   "\"/proc/7/ns/cgroup\"}, {\"type\": \"time\", \"path\": \"/proc/7/ns/time\"}",
                   "", "user, pid, cgroup and time namespaces by path");
  if (spec)
    ok (!spec->ns[HUTCH_NS_USER] && spec->ns_path[HUTCH_NS_USER] && !spec->ns[HUTCH_NS_PID]
            && spec->ns_path[HUTCH_NS_CGROUP] && spec->ns_path[HUTCH_NS_TIME],
        "... are joined: no user namespace is added for them");
  hutch_spec_free (spec);
}

static void
refusals (void)
{
  refused ("\"hostname\": \"h\",", "", "UTS namespace",
           "a hostname without a UTS namespace of its own is refused");
  refused ("\"annotations\": {\"a\": 1},", "", "annotations.a", "a non-string annotation");
  refused ("",
           ", \"devices\": [{\"path\": \"/dev/null\", \"type\": \"c\", \"major\": 1, "
           "\"minor\": 5}]",
           "not the character device 1:5", "linux.devices: a host node of another number");
  refused ("",
           ", \"devices\": [{\"path\": \"/dev/null\", \"type\": \"c\", \"major\": 1, "
           "\"minor\": 3, \"fileMode\": 384}]",
           "fileMode 384 cannot be given", "linux.devices: a fileMode a bind cannot give");
  refused ("",
           ", \"devices\": [{\"path\": \"/dev/null\", \"type\": \"p\", \"major\": 0, "
           "\"minor\": 0}]",
           "type must be c, u or b", "linux.devices: a FIFO");
  refused ("",
           ", \"devices\": [{\"path\": \"/no/such/dev\", \"type\": \"c\", \"major\": 1, "
           "\"minor\": 3}]",
           "the host has no /no/such/dev", "linux.devices: a node the host lacks");
  refused ("", ", \"sysctl\": {\"kernel.pid_max\": \"10\"}", "linux.sysctl.kernel.pid_max",
           "a sysctl that is not namespaced");
  refused ("", ", \"sysctl\": {\"net.ipv4.ip_forward\": \"1\"}", "network namespace",
           "a net.* sysctl without a network namespace");
  refused ("", ", \"sysctl\": {\"kernel.shmmax\": \"1\"}", "ipc namespace",
           "an IPC sysctl without an IPC namespace");
  refused ("", ", \"sysctl\": {\"net..x\": \"1\"}", "not a sysctl name", "a sysctl key with ..");
  refused ("", ", \"sysctl\": {\"net/ipv4/ip_forward\": \"1\"}", "not a sysctl name",
           "a sysctl key with /");
  refused ("", ", \"sysctl\": {\"kernel.hostname\": 1}", "must be a string",
           "a sysctl value that is not a string");
  refused ("", ", \"timeOffsets\": {\"boottime\": {\"secs\": 1}}", "time namespace",
           "linux.timeOffsets without a time namespace");
  refused ("", ", \"rootfsPropagation\": \"sideways\"", "linux.rootfsPropagation",
           "an unknown linux.rootfsPropagation");
  refused ("\"domainname\": \"d\",", "", "UTS namespace", "a domainname without a UTS namespace");
  refused ("", ", \"uidMappings\": [{\"containerID\": 0, \"hostID\": 1, \"size\": 1}]",
           "without linux.gidMappings", "uidMappings without gidMappings");
  refused_ns ("", "{\"type\": \"mount\", \"path\": \"/proc/1/ns/mnt\"}", "", "mount namespace",
              "joining a mount namespace");
  refused_ns ("", "{\"type\": \"pid\"}, {\"type\": \"pid\"}", "", "twice",
              "a namespace listed twice");
  refused_ns ("", "{\"type\": \"network\", \"path\": \"net\"}", "", "absolute path",
              "a relative namespace path");
  refused_ns ("", "{\"type\": \"time\", \"path\": \"/proc/1/ns/time\"}",
              ", \"timeOffsets\": {\"boottime\": {\"secs\": 1}}", "joined by path",
              "linux.timeOffsets for a joined time namespace");
  refused_ns ("", "{\"type\": \"time\"}", ", \"timeOffsets\": {\"realtime\": {}}",
              "only monotonic and boottime", "an offset of the realtime clock");
  refused_ns ("", "{\"type\": \"user\", \"path\": \"/proc/1/ns/user\"}",
              ", \"uidMappings\": [{\"containerID\": 0, \"hostID\": 1, \"size\": 1}], "
              "\"gidMappings\": [{\"containerID\": 0, \"hostID\": 1, \"size\": 1}]",
              "joined by path", "mappings for a joined user namespace");
  if (getuid () == 0)
    refused_ns ("", "{\"type\": \"mount\"}",
                ", \"uidMappings\": [{\"containerID\": 0, \"hostID\": 1, \"size\": 1}], "
                "\"gidMappings\": [{\"containerID\": 0, \"hostID\": 1, \"size\": 1}]",
                "no user namespace", "as root, mappings without a user namespace");
}

/* process.* refusals: the config around PROC (inside "process").  */
static void
refused_process (const char *proc, const char *want, const char *what)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_spec *spec = NULL;
  char *text = hutch_xasprintf ("{\"process\": {\"args\": [\"x\"]%s}, \"root\": {\"path\": "
                                "\"/r\"}, \"linux\": {\"namespaces\": [{\"type\": \"user\"}]}}",
                                proc);
  ok (parse (text, &spec, &err) < 0, "%s", what);
  has_str (err.msg, want, "... and the error says `%s`", want);
  hutch_spec_free (spec);
  hutch_error_clear (&err);
  free (text);
}

static void
process_refusals (void)
{
  refused_process (", \"user\": {\"umask\": 4095}", "process.user.umask", "a umask beyond 0777");
  refused_process (", \"oomScoreAdj\": 1001", "process.oomScoreAdj", "an OOM score beyond 1000");
  refused_process (", \"scheduler\": {\"policy\": \"SCHED_FAST\"}", "unknown policy",
                   "an unknown scheduler policy");
  refused_process (", \"scheduler\": {\"nice\": 1}", "policy is missing",
                   "a scheduler without a policy");
  refused_process (", \"scheduler\": {\"policy\": \"SCHED_ISO\"}", "SCHED_ISO", "SCHED_ISO");
  refused_process (", \"scheduler\": {\"policy\": \"SCHED_OTHER\", \"nice\": 20}",
                   "process.scheduler.nice", "a nice beyond 19");
  refused_process (", \"scheduler\": {\"policy\": \"SCHED_FIFO\", \"runtime\": 10}",
                   "SCHED_DEADLINE", "a runtime for another policy than SCHED_DEADLINE");
  refused_process (", \"scheduler\": {\"policy\": \"SCHED_OTHER\", \"flags\": "
                   "[\"SCHED_FLAG_UTIL_CLAMP_MIN\"]}",
                   "no utilization value", "a utilization clamp without a value");
  refused_process (", \"scheduler\": {\"policy\": \"SCHED_OTHER\", \"flags\": [\"FAST\"]}",
                   "unknown flag", "an unknown scheduler flag");
  refused_process (", \"ioPriority\": {\"class\": \"IOPRIO_CLASS_FAST\"}", "unknown class",
                   "an unknown I/O priority class");
  refused_process (", \"ioPriority\": {\"class\": \"IOPRIO_CLASS_BE\", \"priority\": 8}",
                   "process.ioPriority.priority", "an I/O priority level beyond 7");
}

/* HOME from a passwd file's text: the entry of the uid, not of a name or
   a gid that looks like it; broken lines are skipped.  */
static void
passwd_home (void)
{
  static const char pw[] = "root:x:0:0:root:/root:/bin/sh\n"
                           "broken line\n"
                           "short:x:5:5\n"
                           "1000:x:42:1000::/home/named-1000:/bin/sh\n"
                           "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
                           "nohome:x:7:7:::/bin/sh\n"
                           "last:x:9:9::/home/last:/bin/sh";
  char *h;

  h = hutch_passwd_home (pw, 0);
  is_str (h, "/root", "passwd: uid 0's home");
  free (h);
  h = hutch_passwd_home (pw, 1000);
  is_str (h, "/home/alice", "passwd: by the uid field, not by a name that is a number");
  free (h);
  h = hutch_passwd_home (pw, 9);
  is_str (h, "/home/last", "passwd: the last line without a newline");
  free (h);
  ok (hutch_passwd_home (pw, 7) == NULL, "passwd: an empty home is none");
  ok (hutch_passwd_home (pw, 5) == NULL, "passwd: a line with too few fields is skipped");
  ok (hutch_passwd_home (pw, 4242) == NULL, "passwd: no entry, no home");
}

int
main (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_spec *spec = NULL;

  ok (parse (good, &spec, &err) == 0, "a full config parses (%s)", err.msg ? err.msg : "");
  if (spec)
    {
      ok (spec->terminal && spec->uid == 1 && spec->gid == 2, "process.user and terminal");
      ok (spec->n_additional_gids == 2 && spec->additional_gids[1] == 6, "additionalGids");
      is_str (spec->args[2], "true", "args");
      is_str (spec->cwd, "/w", "cwd");
      is_str (spec->root_path, "/bundle/rootfs", "root.path is taken from the bundle");
      ok (spec->root_readonly, "root.readonly");
      is_str (spec->hostname, "box", "hostname");
      ok (spec->n_mounts == 2, "two mounts");
      is_str (spec->mounts[1].type, "bind", "type none with rbind is a bind");
      ok (spec->ns[HUTCH_NS_USER] && spec->ns[HUTCH_NS_PID] && !spec->ns[HUTCH_NS_NET],
          "namespaces");
      ok (spec->n_uid_mappings == 1 && spec->uid_mappings[0].host_id == 1000, "uidMappings");
      ok (spec->has_caps && hutch_strv_len (spec->cap_bounding) == 1, "capabilities");
      ok (spec->n_rlimits == 1 && spec->rlimits[0].soft == 512, "rlimits");
      is_str (spec->masked_paths[0], "/proc/kcore", "maskedPaths");
      is_str (hutch_kv_get (spec->annotations, spec->n_annotations, "org.example.a"), "1",
              "annotations are recorded");
      ok (spec->n_devices == 1 && strcmp (spec->devices[0].host_path, "/dev/null") == 0
              && spec->devices[0].type == 'c' && spec->devices[0].major == 1,
          "linux.devices: the host's node at the same path");
      ok (spec->no_new_privileges, "noNewPrivileges");
      hutch_spec_free (spec);
      spec = NULL;
    }

  ok (parse ("{\n  \"process\": {\n    \"args\": [\"x\"],,\n  }\n}", &spec, &err) < 0,
      "bad JSON is refused");
  has_str (err.msg, "line 3", "the error names the line");
  has_str (err.msg, "column", "the error names the column");

  ok (parse ("{\"root\": {\"path\": \"/r\"}, \"linux\": {\"namespaces\": [{\"type\": \"user\"}]}}",
             &spec, &err)
          < 0,
      "no process is refused");
  ok (parse ("{\"process\": {\"args\": []}, \"root\": {\"path\": \"/r\"}}", &spec, &err) < 0,
      "empty args are refused");
  ok (parse ("{\"process\": {\"args\": [\"x\"]}, \"root\": {\"path\": \"/r\"},"
             "\"linux\": {\"namespaces\": [{\"type\": \"user\"}], \"seccomp\": {\"defaultAction\": "
             "\"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], \"action\": "
             "\"SCMP_ACT_ALLOW\"}]}}}",
             &spec, &err)
              == 0
          && spec->seccomp != NULL && spec->seccomp->len > 0,
      "linux.seccomp is built into a filter");
  hutch_spec_free (spec);
  spec = NULL;
  ok (parse ("{\"process\": {\"args\": [\"x\"]}, \"root\": {\"path\": \"/r\"},"
             "\"linux\": {\"namespaces\": [{\"type\": \"user\"}], \"seccomp\": {\"defaultAction\": "
             "\"SCMP_ACT_SOMETIMES\"}}}",
             &spec, &err)
          < 0,
      "a bad linux.seccomp is refused, not ignored");
  has_str (err.msg, "linux.seccomp", "the error names linux.seccomp");
  ok (parse ("{\"process\": {\"args\": [\"x\"]}, \"root\": {\"path\": \"/r\"},"
             "\"linux\": {\"namespaces\": [{\"type\": \"user\"}, {\"type\": \"network\", \"path\": "
             "\"/proc/1/ns/net\"}]}}",
             &spec, &err)
              == 0
          && spec->ns_path[HUTCH_NS_NET]
          && strcmp (spec->ns_path[HUTCH_NS_NET], "/proc/1/ns/net") == 0 && !spec->ns[HUTCH_NS_NET]
          && hutch_spec_has_ns (spec, HUTCH_NS_NET),
      "a namespace by path is joined, not made");
  hutch_spec_free (spec);
  spec = NULL;
  ok (parse ("{\"process\": {\"args\": [\"x\"]}, \"root\": {\"path\": \"/r\"},"
             "\"linux\": {\"namespaces\": [{\"type\": \"bogus\"}]}}",
             &spec, &err)
          < 0,
      "an unknown namespace is refused");
  ok (parse ("{\"process\": {\"args\": [\"x\"], \"cwd\": \"rel\"}, \"root\": {\"path\": \"/r\"},"
             "\"linux\": {\"namespaces\": [{\"type\": \"user\"}]}}",
             &spec, &err)
          < 0,
      "a relative cwd is refused");
  ok (parse ("{\"process\": {\"args\": [\"x\"]}, \"root\": {\"path\": \"/r\"}, \"hooks\": "
             "{\"prestart\": [{\"path\": \"x\"}]},"
             "\"linux\": {\"namespaces\": [{\"type\": \"user\"}]}}",
             &spec, &err)
          < 0,
      "a hook with a relative path is refused");
  refusals ();
  process_refusals ();
  linux_fields ();
  passwd_home ();
  hutch_error_clear (&err);
  return tap_done ();
}
