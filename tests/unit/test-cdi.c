/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* CDI (src/runtime/cdi.c): the name grammar; spec files read from JSON
   and YAML, refused with the file, the line (YAML) and the field; the
   cdiVersion checks; the search of the directories (a later one wins,
   two in one conflict, an unknown device lists its kind's); and the
   edits made on a spec, with what cannot be given rootless refused.  */

#include "runtime/cdi.h"
#include "runtime/hooks.h"
#include "base/log.h"
#include "base/util.h"
#include "tap.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static char tmp[64];

static void
quiet (enum hutch_log_level level, const char *msg, void *data)
{
  (void)level;
  (void)msg;
  (void)data;
}

/* Parse TEXT as FILE: 0, or -1 with the error in *RET_MSG.  */
static int
parse (const char *file, const char *text, char **ret_msg)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_cdi_spec *s = NULL;
  int r = hutch_cdi_spec_parse (text, strlen (text), file, &s, NULL, &err);

  *ret_msg = err.msg ? hutch_xstrdup (err.msg) : NULL;
  hutch_error_clear (&err);
  hutch_cdi_spec_free (s);
  return r;
}

static void
write_at (const char *dir, const char *name, const char *text)
{
  char *p = hutch_xasprintf ("%s/%s", dir, name);
  int fd;
  mkdir (dir, 0700);
  fd = open (p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || hutch_write_all (fd, text, strlen (text)) < 0)
    abort ();
  close (fd);
  free (p);
}

static const char *const good_json
    = "{\"cdiVersion\": \"0.6.0\", \"kind\": \"example.com/gpu\",\n"
      " \"containerEdits\": {\"env\": [\"SPEC=1\"]},\n"
      " \"devices\": [{\"name\": \"0\", \"annotations\": {\"a\": \"b\"},\n"
      "   \"containerEdits\": {\"deviceNodes\": [{\"path\": \"/dev/nvidia0\", \"hostPath\": "
      "\"/dev/null\"}],\n"
      "     \"env\": [\"DEV=0\"],\n"
      "     \"mounts\": [{\"hostPath\": \"/etc\", \"containerPath\": \"/opt/a/b\", \"options\": "
      "[\"ro\", \"rbind\"]},\n"
      "                {\"hostPath\": \"/usr\", \"containerPath\": \"/opt/a\", \"type\": "
      "\"bind\"}],\n"
      "     \"hooks\": [{\"hookName\": \"createRuntime\", \"path\": \"/bin/true\", \"args\": "
      "[\"true\"], \"timeout\": 5}]}}]}\n";

static const char *const good_yaml = "cdiVersion: 0.5.0\n"
                                     "kind: example.com/gpu\n"
                                     "devices:\n"
                                     "  - name: 1\n"
                                     "    containerEdits:\n"
                                     "      deviceNodes:\n"
                                     "        - path: /dev/nvidia1\n"
                                     "          hostPath: /dev/zero\n"
                                     "          type: c\n"
                                     "          major: 1\n"
                                     "          minor: 5\n"
                                     "      env: [\"DEV=1\"]\n";

static void
test_names (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  char *kind = NULL, *name = NULL;

  ok (hutch_cdi_is_name ("nvidia.com/gpu=0") && hutch_cdi_is_name ("bad name=x")
          && !hutch_cdi_is_name ("/dev/a=b") && !hutch_cdi_is_name ("/dev/fuse")
          && !hutch_cdi_is_name ("/dev/null:/dev/n:rw"),
      "a CDI name is not absolute and has a `=`");
  ok (hutch_cdi_parse_name ("nvidia.com/gpu=GPU-1a:2", &kind, &name, &err) == 0
          && strcmp (kind, "nvidia.com/gpu") == 0 && strcmp (name, "GPU-1a:2") == 0,
      "VENDOR/CLASS=NAME parsed");
  free (kind);
  free (name);
  ok (hutch_cdi_parse_name ("nvidia.com=0", &kind, &name, &err) < 0
          && strstr (err.msg, "needs a `/`"),
      "no class: %s", err.msg);
  hutch_error_clear (&err);
  ok (hutch_cdi_parse_name ("1vendor.com/gpu=0", &kind, &name, &err) < 0
          && strstr (err.msg, "vendor `1vendor.com` must start with a letter"),
      "the vendor starts with a letter: %s", err.msg);
  hutch_error_clear (&err);
  ok (hutch_cdi_parse_name ("vendor.com/gpu=a b", &kind, &name, &err) < 0
          && strstr (err.msg, "NAME `a b`"),
      "a bad device name: %s", err.msg);
  hutch_error_clear (&err);
}

static void
test_parse (void)
{
  char *msg = NULL;

  ok (parse ("x.json", good_json, &msg) == 0, "a JSON spec parses (%s)", msg ? msg : "");
  free (msg);
  ok (parse ("x.yaml", good_yaml, &msg) == 0, "a YAML spec parses, `name: 1` a string (%s)",
      msg ? msg : "");
  free (msg);
  ok (parse ("x.yaml", "cdiVersion: 0.6.0\nkind: a.com/b\ndevices: [\n", &msg) < 0
          && strstr (msg, "CDI spec x.yaml, line ") && strstr (msg, "not YAML"),
      "broken YAML names the file and line: %s", msg);
  free (msg);
  ok (parse ("x.json", "{\"cdiVersion\": \"0.6.0\",\n \"kind\": }", &msg) < 0
          && strstr (msg, "x.json, line 2"),
      "broken JSON names the line: %s", msg);
  free (msg);
  ok (parse ("x.yaml",
             "cdiVersion: 0.6.0\nkind: a.com/b\ndevices:\n  - name: x\n    containerEdits:\n"
             "      deviceNodes:\n        - path: /dev/x\n          colour: red\n",
             &msg)
              < 0
          && strstr (msg, "line 8")
          && strstr (msg, "devices[0].containerEdits.deviceNodes[0].colour is not a field"),
      "an unknown field: the line and the path: %s", msg);
  free (msg);
  ok (parse ("x.json", "{\"cdiVersion\": \"1.2.0\", \"kind\": \"a.com/b\", \"devices\": []}", &msg)
              < 0
          && strstr (msg, "newer than hutch reads (up to " HUTCH_CDI_VERSION ")"),
      "a newer minor version: %s", msg);
  free (msg);
  ok (parse ("x.json", "{\"cdiVersion\": \"2.0.0\", \"kind\": \"a.com/b\", \"devices\": []}", &msg)
          < 0,
      "a newer major version");
  free (msg);
  ok (parse ("x.json",
             "{\"cdiVersion\": \"0.8.1\", \"kind\": \"a.com/b\", \"devices\": [{\"name\": \"x\", "
             "\"containerEdits\": {\"env\": [\"A=1\"]}}]}",
             &msg)
          == 0,
      "a patch release of a known version");
  free (msg);
  ok (parse ("x.json",
             "{\"cdiVersion\": \"0.4.0\", \"kind\": \"a.com/b\", \"devices\": [{\"name\": \"x\", "
             "\"containerEdits\": {\"deviceNodes\": [{\"path\": \"/dev/x\", \"hostPath\": "
             "\"/dev/y\"}]}}]}",
             &msg)
              < 0
          && strstr (msg, "came with cdiVersion 0.5.0"),
      "a field newer than the version said: %s", msg);
  free (msg);
  ok (parse ("x.json",
             "{\"cdiVersion\": \"0.6.0\", \"kind\": \"a.com/b\", \"devices\": [{\"name\": \"x\"}]}",
             &msg)
              < 0
          && strstr (msg, "no containerEdits"),
      "a device without edits: %s", msg);
  free (msg);
  ok (parse ("x.json",
             "{\"cdiVersion\": \"0.6.0\", \"kind\": \"a.com/b\", \"devices\": [{\"name\": \"x\", "
             "\"containerEdits\": {\"hooks\": [{\"hookName\": \"later\", \"path\": \"/x\"}]}}]}",
             &msg)
              < 0
          && strstr (msg, "hookName `later`"),
      "an unknown hook: %s", msg);
  free (msg);
  ok (parse ("x.json",
             "{\"cdiVersion\": \"0.6.0\", \"kind\": \"a.com/b\", \"devices\": [{\"name\": \"x\", "
             "\"containerEdits\": {\"mounts\": [{\"hostPath\": \"/x\", \"containerPath\": \"/y\", "
             "\"options\": [\"size=1m\"]}]}}]}",
             &msg)
              < 0
          && strstr (msg, "option `size=1m`"),
      "a bind's unknown option: %s", msg);
  free (msg);
  /* An alias bomb stays small.  */
  {
    struct hutch_buf b = { 0 };
    int i;
    hutch_buf_adds (&b, "a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for (i = 0; i < 12; i++)
      {
        char *l = hutch_xasprintf ("%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n",
                                   'b' + i, 'b' + i, 'a' + i, 'a' + i, 'a' + i, 'a' + i, 'a' + i,
                                   'a' + i, 'a' + i, 'a' + i, 'a' + i, 'a' + i);
        hutch_buf_adds (&b, l);
        free (l);
      }
    char *text = hutch_buf_steal (&b);
    ok (parse ("bomb.yaml", text, &msg) < 0 && strstr (msg, "too many nodes"),
        "an alias bomb is refused: %s", msg);
    free (msg);
    free (text);
  }
}

static int
resolve (char *const *dirs, const char *name, struct hutch_cdi **ret, char **ret_msg)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  char *names[] = { (char *)name, NULL };
  int r = hutch_cdi_resolve (dirs, names, ret, &err);
  *ret_msg = err.msg ? hutch_xstrdup (err.msg) : NULL;
  hutch_error_clear (&err);
  return r;
}

static void
test_resolve_apply (void)
{
  char *d1 = hutch_xasprintf ("%s/d1", tmp), *d2 = hutch_xasprintf ("%s/d2", tmp);
  char *d3 = hutch_xasprintf ("%s/d3", tmp);
  char *dirs[] = { d1, d2, NULL }, *dirs3[] = { d3, NULL };
  struct hutch_cdi *cdi = NULL;
  struct hutch_spec *spec;
  hutch_error_t err = HUTCH_ERROR_INIT;
  char *msg = NULL;
  struct stat st;

  write_at (d1, "a.json", good_json);
  write_at (d2, "b.yaml", good_yaml);
  write_at (d2, "junk.yaml", "cdiVersion: [\n");
  write_at (d2, "notes.txt", "not a spec");

  ok (resolve (dirs, "example.com/gpu=0", &cdi, &msg) == 0, "a device found (%s)", msg ? msg : "");
  free (msg);
  spec = hutch_spec_new ();
  ok (hutch_cdi_apply (cdi, spec, &err) == 0, "its edits made (%s)", err.msg ? err.msg : "");
  hutch_error_clear (&err);
  stat ("/dev/null", &st);
  ok (spec->n_devices == 1 && strcmp (spec->devices[0].path, "/dev/nvidia0") == 0
          && strcmp (spec->devices[0].host_path, "/dev/null") == 0 && spec->devices[0].type == 'c'
          && spec->devices[0].major == major (st.st_rdev) && spec->devices[0].read
          && spec->devices[0].write,
      "the node: /dev/null at /dev/nvidia0, rw");
  ok (hutch_spec_getenv (spec, "SPEC") && hutch_spec_getenv (spec, "DEV")
          && strcmp (hutch_spec_getenv (spec, "DEV"), "0") == 0,
      "the spec's env and the device's");
  ok (spec->n_mounts == 2 && strcmp (spec->mounts[0].destination, "/opt/a") == 0
          && strcmp (spec->mounts[1].destination, "/opt/a/b") == 0
          && strcmp (spec->mounts[1].type, "bind") == 0
          && strcmp (spec->mounts[1].options[0], "ro") == 0,
      "the mounts, the shallower first");
  ok (spec->hooks && spec->hooks->kind[HUTCH_HOOK_CREATE_RUNTIME].n == 1
          && spec->hooks->kind[HUTCH_HOOK_CREATE_RUNTIME].hooks[0].timeout == 5,
      "the hook");
  hutch_spec_free (spec);
  hutch_cdi_free (cdi);
  cdi = NULL;

  /* Device 1 is only in d2's YAML; 0 in both: d2's wins.  */
  write_at (d2, "c.json",
            "{\"cdiVersion\": \"0.6.0\", \"kind\": \"example.com/gpu\", \"devices\": [{\"name\": "
            "\"0\", \"containerEdits\": {\"env\": [\"DEV=later\"]}}]}");
  ok (resolve (dirs, "example.com/gpu=0", &cdi, &msg) == 0, "found again (%s)", msg ? msg : "");
  free (msg);
  spec = hutch_spec_new ();
  ok (hutch_cdi_apply (cdi, spec, &err) == 0 && spec->n_devices == 0
          && strcmp (hutch_spec_getenv (spec, "DEV"), "later") == 0,
      "a later directory's device wins");
  hutch_error_clear (&err);
  hutch_spec_free (spec);
  hutch_cdi_free (cdi);
  cdi = NULL;

  ok (resolve (dirs, "example.com/gpu=7", &cdi, &msg) < 0 && strstr (msg, "devices are: 0, 1")
          && strstr (msg, d1) && strstr (msg, "junk.yaml"),
      "an unknown device lists its kind's, the directories and the broken spec: %s", msg);
  free (msg);
  ok (resolve (dirs, "other.com/x=1", &cdi, &msg) < 0
          && strstr (msg, "no CDI spec defines kind other.com/x")
          && strstr (msg, "kinds found: example.com/gpu"),
      "an unknown kind: %s", msg);
  free (msg);

  /* Two in one directory conflict.  */
  write_at (d2, "d.json",
            "{\"cdiVersion\": \"0.6.0\", \"kind\": \"example.com/gpu\", \"devices\": [{\"name\": "
            "\"0\", \"containerEdits\": {\"env\": [\"DEV=again\"]}}]}");
  ok (resolve (dirs, "example.com/gpu=0", &cdi, &msg) < 0 && strstr (msg, "conflict")
          && strstr (msg, "c.json") && strstr (msg, "d.json"),
      "two specs of one directory: a conflict: %s", msg);
  free (msg);

  /* A broken spec of the kind asked for is the error.  */
  write_at (d3, "e.yaml", "cdiVersion: 0.6.0\nkind: example.com/gpu\ndevices: 3\n");
  ok (resolve (dirs3, "example.com/gpu=0", &cdi, &msg) < 0 && strstr (msg, "e.yaml, line 3")
          && strstr (msg, "fix the file"),
      "a broken spec of the kind: %s", msg);
  free (msg);

  /* What cannot be given rootless, at apply.  */
  {
    static const struct
    {
      const char *edit, *want;
    } cases[] = {
      { "\"deviceNodes\": [{\"path\": \"/dev/x\", \"hostPath\": \"/no/such/node\"}]",
        "/no/such/node does not exist" },
      { "\"deviceNodes\": [{\"path\": \"/dev/null\", \"major\": 9}]", "device 9:" },
      { "\"deviceNodes\": [{\"path\": \"/dev/null\", \"type\": \"b\"}]", "type `b`" },
      { "\"deviceNodes\": [{\"path\": \"/dev/null\", \"fileMode\": 384}]", "fileMode 0600" },
      { "\"deviceNodes\": [{\"path\": \"/dev/null\", \"permissions\": \"r\"}]",
        "hutch cannot take that away" },
      { "\"deviceNodes\": [{\"path\": \"/etc/passwd\"}]", "not a character or block device" },
      { "\"mounts\": [{\"hostPath\": \"/no/such\", \"containerPath\": \"/x\"}]",
        "/no/such does not exist" },
      { "\"hooks\": [{\"hookName\": \"poststart\", \"path\": \"/no/such/hook\"}]",
        "/no/such/hook does not exist" },
      { "\"intelRdt\": {\"closID\": \"x\"}", "resctrl" },
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof *cases; i++)
      {
        char *d = hutch_xasprintf ("%s/case%zu", tmp, i), *dl[] = { d, NULL };
        char *text = hutch_xasprintf ("{\"cdiVersion\": \"0.7.0\", \"kind\": \"example.com/c\", "
                                      "\"devices\": [{\"name\": \"x\", \"containerEdits\": {%s}}]}",
                                      cases[i].edit);
        write_at (d, "c.json", text);
        cdi = NULL;
        spec = hutch_spec_new ();
        ok (resolve (dl, "example.com/c=x", &cdi, &msg) == 0
                && hutch_cdi_apply (cdi, spec, &err) < 0 && strstr (err.msg, cases[i].want),
            "refused at apply: %s", err.msg ? err.msg : msg);
        free (msg);
        hutch_error_clear (&err);
        hutch_spec_free (spec);
        hutch_cdi_free (cdi);
        free (text);
        free (d);
      }
  }
  free (d1);
  free (d2);
  free (d3);
}

int
main (void)
{
  snprintf (tmp, sizeof tmp, "/tmp/test-cdi.XXXXXX");
  if (mkdtemp (tmp) == NULL)
    return 1;
  hutch_log_set_sink (quiet, NULL, NULL);
  test_names ();
  test_parse ();
  test_resolve_apply ();
  {
    char *cmd = hutch_xasprintf ("rm -rf '%s'", tmp);
    if (system (cmd) != 0)
      ok (0, "remove %s", tmp);
    free (cmd);
  }
  return tap_done ();
}
