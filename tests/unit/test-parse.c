/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "base/parse.h"
#include "base/log.h"
#include "front/run.h"
#include "tap.h"
#include "base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
test_volume (void)
{
  struct hutch_volume v;
  hutch_error_t err = HUTCH_ERROR_INIT;

  ok (hutch_parse_volume ("/a:/b", "/cwd", &v, &err) == 0 && !v.readonly, "SRC:DST");
  is_str (v.source, "/a", "source");
  is_str (v.destination, "/b", "destination");
  hutch_volume_clear (&v);
  ok (hutch_parse_volume ("./data:/data:ro", "/cwd", &v, &err) == 0 && v.readonly,
      "relative source, ro");
  is_str (v.source, "/cwd/./data", "relative source is taken from the cwd");
  hutch_volume_clear (&v);
  ok (hutch_parse_volume ("/a:/b:ro,rw", "/cwd", &v, &err) == 0 && !v.readonly,
      "last of ro,rw wins");
  hutch_volume_clear (&v);

  ok (hutch_parse_volume ("nocolon", "/", &v, &err) < 0, "no colon is refused");
  has_str (err.msg, "--volume", "error names --volume");
  ok (hutch_parse_volume ("/a:relative", "/", &v, &err) < 0, "relative destination is refused");
  has_str (err.msg, "absolute", "error says absolute");
  ok (hutch_parse_volume ("x:/x", "/", &v, &err) < 0, "a one-letter name is refused (docker's)");
  ok (hutch_parse_volume ("a b:/x", "/", &v, &err) < 0, "a name with a space is refused");
  ok (hutch_parse_volume ("dir/x:/x", "/", &v, &err) < 0, "a relative path without `.` is refused");
  ok (hutch_parse_volume (":/x", "/", &v, &err) < 0, "empty source is refused");
  ok (hutch_parse_volume ("/a:/b:zz", "/", &v, &err) < 0, "unknown option is refused");
  has_str (err.msg, "zz", "error names the option");
  ok (hutch_parse_volume ("/a:/b/../c", "/", &v, &err) < 0, "`..` in the destination is refused");
  ok (hutch_parse_volume ("/a:/b:ro:x", "/", &v, &err) < 0, "too many colons are refused");
  hutch_error_clear (&err);
}

/* -v's named and anonymous volumes, and its suffixes.  */
static void
test_volume_kinds (void)
{
  struct hutch_volume v;
  hutch_error_t err = HUTCH_ERROR_INIT;

  ok (hutch_parse_volume ("data_1.x-y:/d", "/", &v, &err) == 0 && v.kind == HUTCH_VOLUME_NAMED,
      "NAME:DST is a named volume");
  is_str (v.source, "data_1.x-y", "the name is the source");
  hutch_volume_clear (&v);
  ok (hutch_parse_volume ("/d", "/", &v, &err) == 0 && v.kind == HUTCH_VOLUME_ANONYMOUS
          && v.source == NULL,
      "DST alone is an anonymous volume");
  is_str (v.destination, "/d", "its destination");
  hutch_volume_clear (&v);
  ok (hutch_parse_volume ("/d:ro,nocopy", "/", &v, &err) == 0 && v.kind == HUTCH_VOLUME_ANONYMOUS
          && v.readonly && v.nocopy,
      "DST:OPTS is an anonymous volume with options");
  hutch_volume_clear (&v);
  ok (hutch_parse_volume ("/a:/b:ro,Z", "/", &v, &err) == 0 && v.kind == HUTCH_VOLUME_BIND
          && v.readonly && v.relabel == 'Z',
      "ro,Z");
  hutch_volume_clear (&v);
  ok (hutch_parse_volume ("/a:/b:z,rw,U", "/", &v, &err) == 0 && !v.readonly && v.relabel == 'z'
          && v.chown,
      "z,rw,U");
  hutch_volume_clear (&v);
  ok (hutch_parse_volume ("vol:/b:U,nocopy", "/", &v, &err) == 0 && v.chown && v.nocopy,
      "U,nocopy on a volume");
  hutch_volume_clear (&v);
  ok (hutch_parse_volume ("/a:/b:rslave", "/", &v, &err) == 0 && v.propagation
          && strcmp (v.propagation, "rslave") == 0,
      "a propagation");
  hutch_volume_clear (&v);
  ok (hutch_parse_volume ("/a:/b:z,Z", "/", &v, &err) < 0, "z and Z together are refused");
  ok (hutch_parse_volume ("/a:/b:rshared", "/", &v, &err) < 0, "rshared is refused");
  has_str (err.msg, "rootless", "with the reason");
  ok (hutch_parse_volume ("/a:/b:nocopy", "/", &v, &err) < 0, "nocopy on a host path is refused");
  ok (hutch_parse_volume ("vol:/b:rprivate", "/", &v, &err) < 0,
      "a propagation on a volume is refused");
  ok (hutch_parse_volume ("/a:/b:q", "/", &v, &err) < 0, "an unknown suffix is refused");
  has_str (err.msg, "ro, rw, z, Z, U", "naming the allowed ones");
  ok (hutch_parse_volume ("/a:/b:", "/", &v, &err) < 0, "empty options are refused");
  ok (hutch_parse_volume ("/a:/b:ro,", "/", &v, &err) < 0, "a trailing comma is refused");
  ok (!hutch_volume_name_valid (".x") && !hutch_volume_name_valid ("-x")
          && !hutch_volume_name_valid ("a/b") && hutch_volume_name_valid ("ab"),
      "volume names");
  hutch_error_clear (&err);
}

static void
test_mount (void)
{
  struct hutch_volume v;
  hutch_error_t err = HUTCH_ERROR_INIT;

  ok (hutch_parse_mount ("type=bind,source=/s,target=/t,readonly,bind-propagation=rprivate", "/c",
                         &v, &err)
              == 0
          && v.kind == HUTCH_VOLUME_BIND && v.readonly && strcmp (v.propagation, "rprivate") == 0,
      "a bind");
  is_str (v.source, "/s", "its source");
  is_str (v.destination, "/t", "its destination");
  ok (v.from_mount, "from --mount");
  hutch_volume_clear (&v);
  ok (hutch_parse_mount ("type=bind,src=./s,dst=/t,ro=false,U=true,relabel=private", "/c", &v, &err)
              == 0
          && !v.readonly && v.chown && v.relabel == 'Z',
      "a relative bind, ro=false, U, relabel");
  is_str (v.source, "/c/./s", "relative to the cwd");
  hutch_volume_clear (&v);
  ok (hutch_parse_mount ("dst=/t,src=vol,volume-nocopy,volume-label=a=b,volume-label=c", "/", &v,
                         &err)
              == 0
          && v.kind == HUTCH_VOLUME_NAMED && v.nocopy && hutch_strv_len (v.labels) == 2,
      "type=volume is the default, with its keys");
  is_str (v.labels[1], "c=", "a label without a value");
  hutch_volume_clear (&v);
  ok (hutch_parse_mount ("type=volume,destination=/t", "/", &v, &err) == 0
          && v.kind == HUTCH_VOLUME_ANONYMOUS,
      "no source: an anonymous volume");
  hutch_volume_clear (&v);
  ok (hutch_parse_mount ("type=tmpfs,dst=/t,tmpfs-size=64m,tmpfs-mode=1770", "/", &v, &err) == 0
          && v.kind == HUTCH_VOLUME_TMPFS,
      "a tmpfs");
  is_str (v.tmpfs_options, "size=64m,mode=1770", "its options");
  hutch_volume_clear (&v);
  ok (hutch_parse_mount ("\"type=bind\",\"src=/a,b\",dst=/t", "/", &v, &err) == 0, "quoted fields");
  is_str (v.source, "/a,b", "a comma inside quotes");
  hutch_volume_clear (&v);

  ok (hutch_parse_mount ("type=npipe,dst=/t", "/", &v, &err) < 0, "unknown type");
  has_str (err.msg, "bind, volume or tmpfs", "names the allowed types");
  ok (hutch_parse_mount ("type=bind,src=/s,dst=/t,colour=red", "/", &v, &err) < 0, "unknown key");
  has_str (err.msg, "bind-propagation", "names the allowed keys");
  ok (hutch_parse_mount ("type=tmpfs,src=/s,dst=/t", "/", &v, &err) < 0, "tmpfs with a source");
  ok (hutch_parse_mount ("type=volume,dst=/t,tmpfs-size=1m", "/", &v, &err) < 0,
      "a key of another type");
  ok (hutch_parse_mount ("type=bind,dst=/t", "/", &v, &err) < 0, "bind without a source");
  ok (hutch_parse_mount ("type=bind,src=/s", "/", &v, &err) < 0, "no destination");
  ok (hutch_parse_mount ("type=bind,src=/s,dst=/t,ro=maybe", "/", &v, &err) < 0, "a bad boolean");
  ok (hutch_parse_mount ("type=bind,src=/s,dst=/t,bind-propagation=shared", "/", &v, &err) < 0,
      "shared propagation");
  ok (hutch_parse_mount ("type=volume,src=/s,dst=/t", "/", &v, &err) < 0, "a path as a volume");
  ok (hutch_parse_mount ("type=tmpfs,dst=/t,tmpfs-mode=8", "/", &v, &err) < 0, "a bad mode");
  ok (hutch_parse_mount ("type=tmpfs,dst=/t,tmpfs-size=1q", "/", &v, &err) < 0, "a bad size");
  ok (hutch_parse_mount ("type=bind,,dst=/t", "/", &v, &err) < 0, "an empty field");
  ok (hutch_parse_mount ("type=bind,\"src=/s,dst=/t", "/", &v, &err) < 0, "an open quote");
  ok (hutch_parse_mount ("type=volume,dst=/t,volume-driver=nfs", "/", &v, &err) < 0,
      "another driver");
  ok (hutch_parse_mount ("type=bind,src=s,dst=/t", "/", &v, &err) < 0, "a relative source");
  hutch_error_clear (&err);
}

static int n_logged;
static char logged[512];

static void
count_log (enum hutch_log_level level, const char *msg, void *data)
{
  (void)level;
  (void)data;
  n_logged++;
  snprintf (logged, sizeof logged, "%s", msg);
}

/* :z, :Z, relabel= and label= against a host with SELinux on and off.  */
static void
test_selinux (void)
{
  struct hutch_run_options o;
  hutch_error_t err = HUTCH_ERROR_INIT;
  char dir[] = "/tmp/hutch-selinux-XXXXXX";
  _cleanup_free_ char *enforce = NULL;
  FILE *f;

  ok (mkdtemp (dir) != NULL, "a fake selinuxfs");
  ok (!hutch_selinux_enabled (dir), "no enforce file: off");
  enforce = hutch_xasprintf ("%s/enforce", dir);
  f = fopen (enforce, "w");
  ok (f != NULL && fclose (f) == 0 && hutch_selinux_enabled (dir), "an enforce file: on");
  unlink (enforce);
  rmdir (dir);

  hutch_log_set_sink (count_log, NULL, NULL);
  hutch_run_options_init (&o);
  hutch_strv_push (&o.volumes, hutch_xstrdup ("/a:/b:z"));
  hutch_strv_push (&o.volumes, hutch_xstrdup ("/c:/d:Z"));
  hutch_strv_push (&o.mounts, hutch_xstrdup ("type=bind,src=/e,dst=/f,relabel=shared"));
  hutch_strv_push (&o.security_labels, hutch_xstrdup ("type:spc_t"));
  ok (hutch_run_check_selinux (&o, "/", false, &err) == 0, "SELinux off: accepted");
  ok (n_logged == 1, "said once (%d)", n_logged);
  has_str (logged, "SELinux is off", "that SELinux is off");
  has_str (logged, "/a:/b:z", "naming the first");
  ok (hutch_run_check_selinux (&o, "/", true, &err) < 0, "SELinux on: :z is refused");
  has_str (err.msg, "own SELinux context", "with the reason");
  hutch_error_clear (&err);
  hutch_strv_free (o.volumes);
  hutch_strv_free (o.mounts);
  o.volumes = o.mounts = NULL;
  ok (hutch_run_check_selinux (&o, "/", true, &err) < 0, "SELinux on: label=type: is refused");
  has_str (err.msg, "label=type:spc_t", "naming it");
  hutch_error_clear (&err);
  hutch_strv_free (o.security_labels);
  o.security_labels = NULL;
  hutch_strv_push (&o.security_labels, hutch_xstrdup ("disable"));
  n_logged = 0;
  ok (hutch_run_check_selinux (&o, "/", true, &err) == 0
          && hutch_run_check_selinux (&o, "/", false, &err) == 0 && n_logged == 0,
      "label=disable: accepted either way, silently");
  hutch_run_options_clear (&o);
  hutch_log_set_sink (NULL, NULL, NULL);
}

static void
test_env (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  char *kv = NULL;
  char **list = NULL;

  ok (hutch_parse_env ("A=b=c", &kv, &err) == 0, "KEY=VALUE");
  is_str (kv, "A=b=c", "value keeps its =");
  free (kv);
  setenv ("HUTCH_TEST_VAR", "hello", 1);
  ok (hutch_parse_env ("HUTCH_TEST_VAR", &kv, &err) == 0, "KEY alone");
  is_str (kv, "HUTCH_TEST_VAR=hello", "KEY alone copies the host's value");
  free (kv);
  unsetenv ("HUTCH_TEST_VAR");
  ok (hutch_parse_env ("HUTCH_TEST_VAR", &kv, &err) == 0 && kv == NULL, "unset KEY is skipped");
  ok (hutch_parse_env ("=x", &kv, &err) < 0, "empty name is refused");
  has_str (err.msg, "--env", "error names --env");
  ok (hutch_parse_env ("A B=1", &kv, &err) < 0, "whitespace in the name is refused");

  ok (hutch_parse_env_file ("# c\n\nA=1\r\n  B=two words\n", "f", &list, &err) == 0, "env file");
  ok (hutch_strv_len (list) == 2, "two variables");
  is_str (list[0], "A=1", "CRLF is stripped");
  is_str (list[1], "B=two words", "leading blanks are stripped, value kept");
  hutch_strv_free (list);
  ok (hutch_parse_env_file ("A=1\n=bad\n", "f", &list, &err) < 0, "bad line is refused");
  has_str (err.msg, "line 2", "error names the line");
  hutch_error_clear (&err);
}

static void
test_user (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  char *u = NULL, *g = NULL;

  ok (hutch_parse_user ("1000:50", &u, &g, &err) == 0, "uid:gid");
  is_str (u, "1000", "user");
  is_str (g, "50", "group");
  free (u);
  free (g);
  ok (hutch_parse_user ("alice", &u, &g, &err) == 0 && g == NULL, "name alone");
  free (u);
  ok (hutch_parse_user ("", &u, &g, &err) < 0, "empty is refused");
  has_str (err.msg, "--user", "error names --user");
  ok (hutch_parse_user ("1000:", &u, &g, &err) < 0, "empty group is refused");
  ok (hutch_parse_user ("a:b:c", &u, &g, &err) < 0, "two colons are refused");
  ok (hutch_parse_user ("a b", &u, &g, &err) < 0, "a blank is refused");
  hutch_error_clear (&err);
}

static void
test_tmpfs (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  char *d = NULL, *o = NULL;

  ok (hutch_parse_tmpfs ("/data:size=1m,mode=700", &d, &o, &err) == 0, "DST:OPTS");
  is_str (d, "/data", "destination");
  is_str (o, "size=1m,mode=700", "options");
  free (d);
  free (o);
  ok (hutch_parse_tmpfs ("data", &d, &o, &err) < 0, "relative is refused");
  has_str (err.msg, "--tmpfs", "error names --tmpfs");
  hutch_error_clear (&err);
}

int
main (void)
{
  test_volume ();
  test_volume_kinds ();
  test_mount ();
  test_selinux ();
  test_env ();
  test_user ();
  test_tmpfs ();
  return tap_done ();
}
