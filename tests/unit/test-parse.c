/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "base/parse.h"
#include "tap.h"
#include "base/util.h"

#include <stdlib.h>

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
  ok (hutch_parse_volume ("name:/x", "/", &v, &err) < 0, "named volume is refused");
  ok (hutch_parse_volume (":/x", "/", &v, &err) < 0, "empty source is refused");
  ok (hutch_parse_volume ("/a:/b:zz", "/", &v, &err) < 0, "unknown option is refused");
  has_str (err.msg, "zz", "error names the option");
  ok (hutch_parse_volume ("/a:/b/../c", "/", &v, &err) < 0, "`..` in the destination is refused");
  ok (hutch_parse_volume ("/a:/b:ro:x", "/", &v, &err) < 0, "too many colons are refused");
  hutch_error_clear (&err);
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
  test_env ();
  test_user ();
  test_tmpfs ();
  return tap_done ();
}
