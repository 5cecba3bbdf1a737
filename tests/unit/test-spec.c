/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "runtime/spec.h"
#include "runtime/sysfilter.h"
#include "tap.h"
#include "base/util.h"

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

/* A config around LX (the inside of "linux": {...}) and TOP (more
   top-level keys, with a trailing comma), which must be refused with an
   error that has WANT.  */
static void
refused (const char *top, const char *lx, const char *want, const char *what)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_spec *spec = NULL;
  char *text = hutch_xasprintf ("{%s \"process\": {\"args\": [\"x\"]}, \"root\": {\"path\": "
                                "\"/r\"}, \"linux\": {\"namespaces\": [{\"type\": \"user\"}]%s}}",
                                top, lx);
  ok (parse (text, &spec, &err) < 0, "%s", what);
  has_str (err.msg, want, "... and the error says `%s`", want);
  hutch_spec_free (spec);
  hutch_error_clear (&err);
  free (text);
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
          < 0,
      "joining a namespace by path is refused");
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
             "{\"prestart\": [{\"path\": \"/x\"}]},"
             "\"linux\": {\"namespaces\": [{\"type\": \"user\"}]}}",
             &spec, &err)
          < 0,
      "hooks are refused");
  refusals ();
  hutch_error_clear (&err);
  return tap_done ();
}
