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
      " \"linux\": {\"namespaces\": [{\"type\": \"user\"}, {\"type\": \"pid\"}, {\"type\": "
      "\"mount\"}],\n"
      "   \"uidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}],\n"
      "   \"gidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}],\n"
      "   \"maskedPaths\": [\"/proc/kcore\"], \"readonlyPaths\": [\"/proc/sys\"]}}\n";

static int
parse (const char *text, struct hutch_spec **spec, hutch_error_t *err)
{
  return hutch_spec_parse_json (text, "/bundle", spec, err);
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
  hutch_error_clear (&err);
  return tap_done ();
}
