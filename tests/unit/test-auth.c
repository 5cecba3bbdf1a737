/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "registry/auth.h"
#include "tap.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/hutch-test-auth-XXXXXX";
static char *home, *run, *xdg_auth, *cfg_auth, *docker_auth;

static void
put (const char *path, const char *text)
{
  _cleanup_free_ char *dir = hutch_xstrdup (path);
  char *slash = strrchr (dir, '/'), *p;
  FILE *f;

  *slash = '\0';
  for (p = dir + 1; *p; p++)
    if (*p == '/')
      {
        *p = '\0';
        mkdir (dir, 0700);
        *p = '/';
      }
  mkdir (dir, 0700);
  f = fopen (path, "w");
  if (f == NULL || fputs (text, f) < 0 || fclose (f) != 0)
    {
      printf ("Bail out! cannot write %s\n", path);
      exit (1);
    }
}

static char *
slurp (const char *path)
{
  char *text = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;
  if (hutch_read_file (path, 1 << 20, &text, NULL, &e) < 0)
    hutch_error_clear (&e);
  return text;
}

static void
rm_rf (const char *path)
{
  _cleanup_free_ char *cmd = hutch_xasprintf ("rm -rf '%s'", path);
  if (system (cmd) != 0)
    printf ("# could not remove %s\n", path);
}

/* A fresh home and runtime directory, and no variable left from the test
   before.  */
static void
reset (void)
{
  rm_rf (home);
  rm_rf (run);
  mkdir (home, 0700);
  mkdir (run, 0700);
  setenv ("HOME", home, 1);
  setenv ("XDG_RUNTIME_DIR", run, 1);
  unsetenv ("XDG_CONFIG_HOME");
  unsetenv ("REGISTRY_AUTH_FILE");
  unsetenv ("DOCKER_CONFIG");
}

/* {"auths": {KEY: {"auth": base64 (USER:PASS)}}} with a precomputed
   base64, so that the decoder is checked against an independent encoder
   (coreutils' base64).  */
static char *
b64 (const char *s)
{
  _cleanup_free_ char *cmd = hutch_xasprintf ("printf '%%s' '%s' | base64 -w0", s);
  char buf[4096];
  FILE *p = popen (cmd, "r");
  size_t n = p ? fread (buf, 1, sizeof buf - 1, p) : 0;
  if (p)
    pclose (p);
  buf[n] = '\0';
  return hutch_xstrdup (buf);
}

static char *
one_entry (const char *key, const char *userpass)
{
  _cleanup_free_ char *a = b64 (userpass);
  return hutch_xasprintf ("{\"auths\": {\"%s\": {\"auth\": \"%s\"}}}\n", key, a);
}

/* Look up and check the user (NULL: nothing found) and, when found, the
   password and which key matched.  */
static void
expect (const char *authfile, const char *registry, const char *repository, const char *user,
        const char *pass, const char *key, const char *origin)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_credentials c;
  int r = hutch_auth_lookup (authfile, registry, repository, &c, &err);

  if (user == NULL)
    {
      ok (r == 0 && c.username == NULL, "%s %s: no credentials (r=%d %s)", registry,
          repository ? repository : "", r, err.msg ? err.msg : "");
      hutch_error_clear (&err);
      return;
    }
  ok (r == 1, "%s %s: found (r=%d %s)", registry, repository ? repository : "", r,
      err.msg ? err.msg : "");
  if (r == 1)
    {
      is_str (c.username, user, "  user `%s` (got `%s`)", user, c.username);
      is_str (c.password, pass, "  password `%s` (got `%s`)", pass, c.password);
      if (key)
        is_str (c.key, key, "  from key `%s` (got `%s`)", key, c.key);
      if (origin)
        is_str (c.origin, origin, "  from file `%s` (got `%s`)", origin, c.origin);
      hutch_credentials_clear (&c);
    }
  hutch_error_clear (&err);
}

static void
expect_error (const char *authfile, const char *registry, const char *repository, const char *what,
              const char *const *words)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_credentials c;
  int r;

  memset (&c, 0, sizeof c);
  r = hutch_auth_lookup (authfile, registry, repository, &c, &err);
  ok (r < 0 && c.username == NULL, "%s: an error (r=%d)", what, r);
  for (; *words; words++)
    has_str (err.msg, *words, "  says `%s` (%s)", *words, err.msg ? err.msg : "");
  hutch_error_clear (&err);
}

static void
test_normalize (void)
{
  static const struct
  {
    const char *in, *out;
  } keys[] = {
    { "docker.io", "docker.io" },
    { "index.docker.io", "docker.io" },
    { "registry-1.docker.io", "docker.io" },
    { "https://index.docker.io/v1/", "docker.io" },
    { "http://registry-1.docker.io/v2", "docker.io" },
    { "https://reg:5000/v2/", "reg:5000" },
    { "HTTPS://Quay.IO", "quay.io" },
    { "quay.io/", "quay.io" },
    { "quay.io/team/app/", "quay.io/team/app" },
    { "index.docker.io/library", "docker.io/library" },
    { "[::1]:5000", "[::1]:5000" },
  };
  hutch_error_t err = HUTCH_ERROR_INIT;
  size_t i;
  char *s;

  for (i = 0; i < sizeof keys / sizeof *keys; i++)
    {
      s = NULL;
      ok (hutch_auth_normalize_key (keys[i].in, &s, &err) == 0, "key `%s` normalizes", keys[i].in);
      is_str (s, keys[i].out, "  to `%s` (got `%s`)", keys[i].out, s ? s : "");
      free (s);
      hutch_error_clear (&err);
    }
  ok (hutch_auth_normalize_key ("", &s, &err) < 0, "empty key refused");
  has_str (err.msg, "names no registry", "  says why");
  hutch_error_clear (&err);
  ok (hutch_auth_normalize_key ("https:///v2/", &s, &err) < 0, "URL without a host refused");
  hutch_error_clear (&err);
  ok (hutch_auth_normalize_key ("quay io", &s, &err) < 0, "key with a space refused");
  has_str (err.msg, "white space", "  says why");
  hutch_error_clear (&err);
}

static void
test_search_order (void)
{
  _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *x = NULL;
  _cleanup_free_ char *alt = hutch_xasprintf ("%s/alt/config.json", tmpdir);
  _cleanup_free_ char *envfile = hutch_xasprintf ("%s/env-auth.json", tmpdir);
  _cleanup_free_ char *given = hutch_xasprintf ("%s/given.json", tmpdir);
  _cleanup_free_ char *b64a = b64 ("ua:pa"), *b64b = b64 ("ub:pb");

  reset ();
  expect (NULL, "quay.io", NULL, NULL, NULL, NULL, NULL);

  /* XDG has a.io; ~/.config has a.io (not reached) and b.io; docker has
     c.io.  */
  a = one_entry ("a.io", "xdg:1");
  put (xdg_auth, a);
  b = hutch_xasprintf ("{\"auths\": {\"a.io\": {\"auth\": \"%s\"}, \"b.io\": {\"auth\": \"%s\"}}}",
                       b64a, b64b);
  put (cfg_auth, b);
  c = one_entry ("c.io", "dock:3");
  put (docker_auth, c);
  expect (NULL, "a.io", NULL, "xdg", "1", "a.io", xdg_auth);
  expect (NULL, "b.io", NULL, "ub", "pb", "b.io", cfg_auth);
  expect (NULL, "c.io", NULL, "dock", "3", "c.io", docker_auth);
  expect (NULL, "d.io", NULL, NULL, NULL, NULL, NULL);

  /* XDG_CONFIG_HOME moves the second file, as in podman.  */
  {
    _cleanup_free_ char *xch = hutch_xasprintf ("%s/xch", tmpdir);
    _cleanup_free_ char *xf = hutch_xasprintf ("%s/containers/auth.json", xch);
    _cleanup_free_ char *e = one_entry ("b.io", "xch:9");
    put (xf, e);
    setenv ("XDG_CONFIG_HOME", xch, 1);
    expect (NULL, "b.io", NULL, "xch", "9", "b.io", xf);
    unsetenv ("XDG_CONFIG_HOME");
    rm_rf (xch);
  }

  /* An XDG_RUNTIME_DIR that is not a directory is skipped.  */
  setenv ("XDG_RUNTIME_DIR", xdg_auth, 1);
  expect (NULL, "a.io", NULL, "ua", "pa", "a.io", cfg_auth);
  unsetenv ("XDG_RUNTIME_DIR");
  expect (NULL, "a.io", NULL, "ua", "pa", "a.io", cfg_auth);
  setenv ("XDG_RUNTIME_DIR", run, 1);

  /* DOCKER_CONFIG replaces ~/.docker.  */
  d = one_entry ("c.io", "alt:4");
  put (alt, d);
  x = hutch_xasprintf ("%s/alt", tmpdir);
  setenv ("DOCKER_CONFIG", x, 1);
  expect (NULL, "c.io", NULL, "alt", "4", "c.io", alt);
  unsetenv ("DOCKER_CONFIG");

  /* REGISTRY_AUTH_FILE: only it, missing or not.  */
  setenv ("REGISTRY_AUTH_FILE", envfile, 1);
  expect (NULL, "a.io", NULL, NULL, NULL, NULL, NULL);
  {
    _cleanup_free_ char *e = one_entry ("c.io", "env:5");
    put (envfile, e);
  }
  expect (NULL, "c.io", NULL, "env", "5", "c.io", envfile);
  expect (NULL, "b.io", NULL, NULL, NULL, NULL, NULL);

  /* --authfile: only it, over REGISTRY_AUTH_FILE; missing is an error.  */
  {
    _cleanup_free_ char *e = one_entry ("c.io", "given:6");
    const char *words[] = { given, "does not exist", "hutch login --authfile", NULL };
    hutch_error_t err = HUTCH_ERROR_INIT;
    struct hutch_credentials cr;

    expect_error (given, "c.io", NULL, "missing --authfile", words);
    ok (hutch_auth_lookup (given, "c.io", NULL, &cr, &err) == -ENOENT,
        "  the error is -ENOENT, for --get-login");
    hutch_error_clear (&err);
    put (given, e);
    expect (given, "c.io", NULL, "given", "6", "c.io", given);
    expect (given, "a.io", NULL, NULL, NULL, NULL, NULL);
  }
  unlink (envfile);
  unlink (given);
  rm_rf (alt);
}

static void
test_specific (void)
{
  const char *keys[][2] = {
    { "reg:5000", "r:0" },       { "reg:5000/ns", "r:ns" },      { "reg:5000/ns/repo", "r:nr" },
    { "reg:5000/nsx", "r:nsx" }, { "quay.io/only/this", "q:t" },
  };
  json_t *root = json_object (), *auths = json_object ();
  char *text;
  size_t i;

  reset ();
  for (i = 0; i < sizeof keys / sizeof *keys; i++)
    {
      _cleanup_free_ char *a = b64 (keys[i][1]);
      json_object_set_new (auths, keys[i][0], json_pack ("{s:s}", "auth", a));
    }
  json_object_set_new (root, "auths", auths);
  text = json_dumps (root, 0);
  put (cfg_auth, text);
  free (text);
  json_decref (root);

  expect (NULL, "reg:5000", "ns/repo", "r", "nr", "reg:5000/ns/repo", cfg_auth);
  expect (NULL, "reg:5000", "ns/repo/sub", "r", "nr", "reg:5000/ns/repo", NULL);
  expect (NULL, "reg:5000", "ns/other", "r", "ns", "reg:5000/ns", NULL);
  expect (NULL, "reg:5000", "nsx/a", "r", "nsx", "reg:5000/nsx", NULL);
  expect (NULL, "reg:5000", "nsxy/a", "r", "0", "reg:5000", NULL);
  expect (NULL, "reg:5000", "ns", "r", "ns", "reg:5000/ns", NULL);
  expect (NULL, "reg:5000", NULL, "r", "0", "reg:5000", NULL);
  expect (NULL, "reg:5000/ns/repo", NULL, "r", "nr", "reg:5000/ns/repo", NULL);
  expect (NULL, "https://reg:5000/v2/", "ns/a", "r", "ns", "reg:5000/ns", NULL);
  expect (NULL, "quay.io", "only/this", "q", "t", NULL, NULL);
  expect (NULL, "quay.io", "only/that", NULL, NULL, NULL, NULL);
  expect (NULL, "quay.io", NULL, NULL, NULL, NULL, NULL);
  expect (NULL, "reg", "ns/repo", NULL, NULL, NULL, NULL);
  expect (NULL, "reg:500", NULL, NULL, NULL, NULL, NULL);

  /* A more specific key in a later file does not beat an earlier file.  */
  {
    _cleanup_free_ char *e = one_entry ("reg:5000", "xdg:first");
    put (xdg_auth, e);
    expect (NULL, "reg:5000", "ns/repo", "xdg", "first", "reg:5000", xdg_auth);
  }
}

static void
test_docker (void)
{
  const char *aliases[]
      = { "docker.io", "index.docker.io", "registry-1.docker.io", "https://index.docker.io/v1/" };
  _cleanup_free_ char *a = b64 ("hubuser:hubpass"), *n = b64 ("nsuser:nspass");
  _cleanup_free_ char *newer = b64 ("new:er");
  _cleanup_free_ char *text = NULL;
  size_t i;

  reset ();
  text = hutch_xasprintf ("{\"auths\": {\"https://index.docker.io/v1/\": {\"auth\": \"%s\"},"
                          " \"https://ghcr.io\": {}, \"index.docker.io/team\": {\"auth\": "
                          "\"%s\"}},"
                          " \"credsStore\": \"desktop\", \"HttpHeaders\": {\"X\": \"y\"}}",
                          a, n);
  put (docker_auth, text);
  for (i = 0; i < sizeof aliases / sizeof *aliases; i++)
    expect (NULL, aliases[i], "library/alpine", "hubuser", "hubpass", "https://index.docker.io/v1/",
            docker_auth);
  expect (NULL, "docker.io", "team/app", "nsuser", "nspass", "index.docker.io/team", NULL);
  /* `{}` next to a credsStore is no entry, not an error.  */
  expect (NULL, "ghcr.io", "a/b", NULL, NULL, NULL, NULL);

  /* Two aliases in one file: the one hutch login writes wins.  */
  free (text);
  text = hutch_xasprintf ("{\"auths\": {\"https://index.docker.io/v1/\": {\"auth\": \"%s\"},"
                          " \"docker.io\": {\"auth\": \"%s\"}}}",
                          a, newer);
  put (docker_auth, text);
  expect (NULL, "index.docker.io", NULL, "new", "er", "docker.io", NULL);
}

static void
test_helpers (void)
{
  _cleanup_free_ char *a = b64 ("u:p"), *text = NULL;
  const char *words[] = { "credential helper", "docker-credential-gcloud", "hutch login gcr.io",
                          docker_auth, NULL };

  reset ();
  text = hutch_xasprintf ("{\"auths\": {\"gcr.io\": {}, \"quay.io\": {\"auth\": \"%s\"}},"
                          " \"credHelpers\": {\"gcr.io\": \"gcloud\", \"https://ecr.aws\": "
                          "\"ecr-login\"}}",
                          a);
  put (docker_auth, text);
  expect_error (NULL, "gcr.io", "p/img", "credHelpers names the registry", words);
  {
    const char *w2[] = { "docker-credential-ecr-login", NULL };
    expect_error (NULL, "ecr.aws", NULL, "credHelpers key with a scheme", w2);
  }
  expect (NULL, "quay.io", NULL, "u", "p", "quay.io", NULL);

  /* An earlier file's entry is used before the helper is looked at.  */
  {
    _cleanup_free_ char *e = one_entry ("gcr.io", "mine:pw");
    put (cfg_auth, e);
    expect (NULL, "gcr.io", "p/img", "mine", "pw", "gcr.io", cfg_auth);
  }

  /* A helper in the file hutch login writes: logging in cannot fix it.  */
  reset ();
  put (xdg_auth, "{\"credHelpers\": {\"quay.io\": \"pass\"}}");
  {
    const char *w3[]
        = { "docker-credential-pass", "remove `quay.io` from \"credHelpers\"", xdg_auth, NULL };
    expect_error (NULL, "quay.io", NULL, "credHelpers in the default file", w3);
  }
}

static void
test_bad_files (void)
{
  _cleanup_free_ char *dirfile = hutch_xasprintf ("%s/adir", tmpdir);

  reset ();
  put (cfg_auth, "{\"auths\": {\n  \"quay.io\": {\"auth\": \"eDp5\"}\n  \"x\": 1\n}}\n");
  {
    const char *words[] = { cfg_auth, "not valid JSON", "line 3", "hutch login", NULL };
    expect_error (NULL, "quay.io", NULL, "malformed JSON", words);
  }
  /* An earlier file with the entry is used; the broken one is not read.  */
  {
    _cleanup_free_ char *e = one_entry ("quay.io", "a:b");
    put (xdg_auth, e);
    expect (NULL, "quay.io", NULL, "a", "b", NULL, xdg_auth);
    unlink (xdg_auth);
  }

  put (cfg_auth, "[1, 2]");
  {
    const char *words[] = { cfg_auth, "not a JSON object", NULL };
    expect_error (NULL, "quay.io", NULL, "JSON that is not an object", words);
  }
  put (cfg_auth, "{\"auths\": []}");
  {
    const char *words[] = { cfg_auth, "\"auths\" is not a JSON object", NULL };
    expect_error (NULL, "quay.io", NULL, "auths not an object", words);
  }
  put (cfg_auth, "{\"auths\": {\"quay.io\": \"x\"}}");
  {
    const char *words[] = { cfg_auth, "`quay.io` is not a JSON object", NULL };
    expect_error (NULL, "quay.io", NULL, "entry not an object", words);
  }
  put (cfg_auth, "{\"auths\": {\"quay.io\": {\"auth\": 12}}}");
  {
    const char *words[] = { cfg_auth, "not a string", NULL };
    expect_error (NULL, "quay.io", NULL, "auth not a string", words);
  }
  put (cfg_auth, "{\"auths\": {\"quay.io\": {\"auth\": \"dXNlcjpw!XNz\"}}}");
  {
    const char *words[]
        = { cfg_auth, "not base64", "`!` at offset 8", "hutch login quay.io", NULL };
    expect_error (NULL, "quay.io", NULL, "bad base64 character", words);
  }
  put (cfg_auth, "{\"auths\": {\"quay.io\": {\"auth\": \"dXNlc\"}}}");
  {
    const char *words[] = { cfg_auth, "not base64", "length", NULL };
    expect_error (NULL, "quay.io", NULL, "bad base64 length", words);
  }
  put (cfg_auth, "{\"auths\": {\"quay.io\": {\"auth\": \"dX=Nlc\"}}}");
  {
    const char *words[] = { "not base64", "`=` at offset 2", NULL };
    expect_error (NULL, "quay.io", NULL, "padding in the middle", words);
  }
  put (cfg_auth, "{\"auths\": {\"quay.io\": {\"auth\": \"dXNlcg==\"}}}");
  {
    const char *words[] = { cfg_auth, "`user:password`", NULL };
    expect_error (NULL, "quay.io", NULL, "base64 without a colon", words);
  }
  /* Unpadded base64 is accepted, as some tools write it.  */
  put (cfg_auth, "{\"auths\": {\"quay.io\": {\"auth\": \"dXNlcjpwYQ\"}}}");
  expect (NULL, "quay.io", NULL, "user", "pa", NULL, NULL);
  /* An empty file is an empty object.  */
  put (cfg_auth, "  \n");
  expect (NULL, "quay.io", NULL, NULL, NULL, NULL, NULL);
  unlink (cfg_auth);

  /* Unreadable: a directory where the file should be (works as root too).  */
  mkdir (dirfile, 0700);
  {
    const char *words[] = { dirfile, "cannot read", "--authfile", NULL };
    expect_error (dirfile, "quay.io", NULL, "a directory as --authfile", words);
  }
  rmdir (dirfile);
  if (geteuid () != 0)
    {
      const char *words[] = { cfg_auth, "cannot read", "chmod 600", NULL };
      put (cfg_auth, "{}");
      chmod (cfg_auth, 0);
      expect_error (NULL, "quay.io", NULL, "an unreadable file", words);
      unlink (cfg_auth);
    }
  else
    ok (1, "# SKIP an unreadable file: running as root");
}

static void
test_identity_token (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_credentials c;
  _cleanup_free_ char *a = b64 ("<token>:"), *text = NULL;

  reset ();
  text = hutch_xasprintf ("{\"auths\": {\"tok.io\": {\"identitytoken\": \"refresh-1\"},"
                          " \"both.io\": {\"auth\": \"%s\", \"identitytoken\": \"refresh-2\"}}}",
                          a);
  put (cfg_auth, text);
  ok (hutch_auth_lookup (NULL, "tok.io", NULL, &c, &err) == 1, "identity token only: found");
  ok (c.username == NULL && c.password == NULL, "  no user or password");
  is_str (c.identity_token, "refresh-1", "  the token");
  hutch_credentials_clear (&c);
  ok (hutch_auth_lookup (NULL, "both.io", NULL, &c, &err) == 1, "auth and identity token: found");
  is_str (c.username, "<token>", "  user");
  is_str (c.password, "", "  empty password");
  is_str (c.identity_token, "refresh-2", "  the token");
  hutch_credentials_clear (&c);
  ok (c.username == NULL && c.identity_token == NULL, "clear leaves nothing");
  hutch_error_clear (&err);
}

static mode_t
mode_of (const char *path)
{
  struct stat st;
  return stat (path, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

static void
test_store (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_free_ char *path = NULL, *text = NULL, *rundir = NULL;
  const char *tricky = "p:ä=\\\"/ 1";
  json_t *root;
  json_error_t jerr;

  reset ();
  rundir = hutch_xasprintf ("%s/containers", run);
  ok (hutch_auth_store (NULL, "quay.io", "alice", "s3cret", &path, &err) == 0, "store (%s)",
      err.msg ? err.msg : "");
  is_str (path, xdg_auth, "  into $XDG_RUNTIME_DIR/containers/auth.json (%s)", path);
  ok (mode_of (xdg_auth) == 0600, "  file mode 0600 (%o)", (unsigned)mode_of (xdg_auth));
  ok (mode_of (rundir) == 0700, "  directory mode 0700 (%o)", (unsigned)mode_of (rundir));
  text = slurp (xdg_auth);
  has_str (text, "\"YWxpY2U6czNjcmV0\"", "  base64 of alice:s3cret, as coreutils writes it");
  expect (NULL, "quay.io", "a/b", "alice", "s3cret", "quay.io", xdg_auth);
  free (path);
  path = NULL;

  /* Other keys and entries survive; the same key is replaced.  */
  free (text);
  text = hutch_xasprintf ("{\"credHelpers\": {\"gcr.io\": \"gcloud\"}, \"auths\": {\"keep.io\": "
                          "{\"auth\": \"a2VlcDptZQ==\", \"email\": \"x@y\"}, \"docker.io\": "
                          "{\"auth\": \"b2xkOm9sZA==\", \"identitytoken\": \"tok\"}}, "
                          "\"HttpHeaders\": {\"User-Agent\": \"x\"}}");
  put (xdg_auth, text);
  chmod (xdg_auth, 0644);
  ok (hutch_auth_store (NULL, "https://index.docker.io/v1/", "bob", tricky, NULL, &err) == 0,
      "store over an existing file (%s)", err.msg ? err.msg : "");
  ok (mode_of (xdg_auth) == 0600, "  file mode back to 0600 (%o)", (unsigned)mode_of (xdg_auth));
  free (text);
  text = slurp (xdg_auth);
  root = text ? json_loads (text, 0, &jerr) : NULL;
  ok (root != NULL, "  still JSON");
  ok (json_is_string (json_object_get (json_object_get (root, "credHelpers"), "gcr.io")),
      "  credHelpers kept");
  ok (json_object_get (root, "HttpHeaders") != NULL, "  HttpHeaders kept");
  ok (json_is_string (
          json_object_get (json_object_get (json_object_get (root, "auths"), "keep.io"), "email")),
      "  other entry kept with its fields");
  ok (json_object_get (json_object_get (json_object_get (root, "auths"), "docker.io"),
                       "identitytoken")
          == NULL,
      "  the old identity token is gone");
  json_decref (root);
  expect (NULL, "registry-1.docker.io", "library/x", "bob", tricky, "docker.io", xdg_auth);
  expect (NULL, "keep.io", NULL, "keep", "me", NULL, NULL);

  /* Every length modulo 3, and a `:` in the password.  */
  {
    const char *pw[] = { "", "a", "ab", "abc", "abcd", "a:b:c", NULL };
    int i;
    for (i = 0; pw[i]; i++)
      {
        ok (hutch_auth_store (NULL, "len.io", "u", pw[i], NULL, &err) == 0, "store password `%s`",
            pw[i]);
        expect (NULL, "len.io", NULL, "u", pw[i], NULL, NULL);
      }
  }

  /* Namespaced key.  */
  ok (hutch_auth_store (NULL, "quay.io/team", "carol", "c", NULL, &err) == 0,
      "store a namespace key");
  expect (NULL, "quay.io", "team/app", "carol", "c", "quay.io/team", NULL);
  expect (NULL, "quay.io", "other/app", NULL, NULL, NULL, NULL);

  /* Refusals.  */
  ok (hutch_auth_store (NULL, "quay.io", "", "x", NULL, &err) < 0, "empty user refused");
  has_str (err.msg, "user name is empty", "  says why");
  hutch_error_clear (&err);
  ok (hutch_auth_store (NULL, "quay.io", "a:b", "x", NULL, &err) < 0, "user with `:` refused");
  has_str (err.msg, "cannot contain `:`", "  says why");
  hutch_error_clear (&err);
  ok (hutch_auth_store (NULL, "", "a", "x", NULL, &err) < 0, "empty registry refused");
  hutch_error_clear (&err);

  /* A broken file is not overwritten.  */
  put (xdg_auth, "{\"auths\": ");
  ok (hutch_auth_store (NULL, "quay.io", "a", "b", NULL, &err) < 0, "store into malformed JSON");
  has_str (err.msg, "not valid JSON", "  says why (%s)", err.msg ? err.msg : "");
  hutch_error_clear (&err);
  free (text);
  text = slurp (xdg_auth);
  is_str (text, "{\"auths\": ", "  the file is untouched");

  /* No temporary file left behind.  */
  {
    _cleanup_free_ char *cmd
        = hutch_xasprintf ("test -z \"$(ls -A '%s' | grep -v '^auth.json$')\"", rundir);
    ok (system (cmd) == 0, "  no temporary file left in %s", rundir);
  }
}

static void
test_store_where (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_free_ char *path = NULL, *deep = NULL, *envfile = NULL, *link = NULL, *real = NULL;
  _cleanup_free_ char *deepdir = NULL, *deepparent = NULL;
  struct stat st;

  /* No XDG_RUNTIME_DIR: ~/.config/containers/auth.json, silently.  */
  reset ();
  unsetenv ("XDG_RUNTIME_DIR");
  ok (hutch_auth_store (NULL, "quay.io", "a", "b", &path, &err) == 0, "store without runtime dir");
  is_str (path, cfg_auth, "  into ~/.config/containers/auth.json (%s)", path);
  ok (mode_of (cfg_auth) == 0600, "  mode 0600");
  free (path);
  path = hutch_auth_default_file ();
  is_str (path, cfg_auth, "default file agrees");
  free (path);
  path = NULL;

  /* XDG_RUNTIME_DIR not a directory.  */
  reset ();
  setenv ("XDG_RUNTIME_DIR", "/dev/null", 1);
  path = hutch_auth_default_file ();
  is_str (path, cfg_auth, "runtime dir not a directory: ~/.config (%s)", path);
  free (path);
  path = NULL;

  /* XDG_RUNTIME_DIR someone else's (needs root to make one).  */
  reset ();
  if (geteuid () == 0 && chown (run, 65534, 65534) == 0)
    {
      path = hutch_auth_default_file ();
      is_str (path, cfg_auth, "runtime dir not ours: ~/.config (%s)", path);
      free (path);
      path = NULL;
      chown (run, 0, 0);
    }
  else
    ok (1, "# SKIP another user's runtime dir: needs root");

  /* REGISTRY_AUTH_FILE.  */
  reset ();
  envfile = hutch_xasprintf ("%s/env/dir/auth.json", tmpdir);
  setenv ("REGISTRY_AUTH_FILE", envfile, 1);
  ok (hutch_auth_store (NULL, "quay.io", "e", "f", &path, &err) == 0,
      "store to REGISTRY_AUTH_FILE");
  is_str (path, envfile, "  there");
  expect (NULL, "quay.io", NULL, "e", "f", NULL, envfile);
  free (path);
  path = NULL;
  unsetenv ("REGISTRY_AUTH_FILE");

  /* --authfile in new directories: created 0700.  */
  deep = hutch_xasprintf ("%s/new1/new2/creds.json", tmpdir);
  deepdir = hutch_xasprintf ("%s/new1/new2", tmpdir);
  deepparent = hutch_xasprintf ("%s/new1", tmpdir);
  ok (hutch_auth_store (deep, "localhost:5000", "g", "h", &path, &err) == 0,
      "store to --authfile in new directories (%s)", err.msg ? err.msg : "");
  is_str (path, deep, "  there");
  ok (mode_of (deepdir) == 0700 && mode_of (deepparent) == 0700, "  directories 0700");
  ok (mode_of (deep) == 0600, "  file 0600");
  expect (deep, "localhost:5000", "x", "g", "h", NULL, deep);
  expect (NULL, "localhost:5000", "x", NULL, NULL, NULL, NULL);
  free (path);
  path = NULL;

  /* Through a symlink: the link stays, its target changes.  */
  real = hutch_xasprintf ("%s/real.json", tmpdir);
  link = hutch_xasprintf ("%s/link.json", tmpdir);
  put (real, "{}");
  unlink (link);
  if (symlink ("real.json", link) < 0)
    printf ("# symlink: %s\n", strerror (errno));
  ok (hutch_auth_store (link, "quay.io", "i", "j", NULL, &err) == 0, "store through a symlink");
  ok (lstat (link, &st) == 0 && S_ISLNK (st.st_mode), "  the symlink is still one");
  expect (real, "quay.io", NULL, "i", "j", NULL, NULL);
  unlink (link);
  unlink (real);
  rm_rf (deepparent);
  hutch_error_clear (&err);
}

/* Four processes log in to 25 registries each at once: with the lock, no
   read-modify-write loses another's entry.  */
static void
test_concurrent (void)
{
  pid_t pids[4];
  int i, j, status, failed = 0, missing = 0;

  reset ();
  for (i = 0; i < 4; i++)
    {
      pids[i] = fork ();
      if (pids[i] == 0)
        {
          hutch_error_t err = HUTCH_ERROR_INIT;
          for (j = 0; j < 25; j++)
            {
              char reg[32];
              snprintf (reg, sizeof reg, "r%d-%d.io", i, j);
              if (hutch_auth_store (NULL, reg, "u", "p", NULL, &err) < 0)
                _exit (1);
            }
          _exit (0);
        }
    }
  for (i = 0; i < 4; i++)
    if (waitpid (pids[i], &status, 0) < 0 || !WIFEXITED (status) || WEXITSTATUS (status) != 0)
      failed++;
  ok (failed == 0, "four concurrent writers succeed");
  for (i = 0; i < 4; i++)
    for (j = 0; j < 25; j++)
      {
        hutch_error_t err = HUTCH_ERROR_INIT;
        struct hutch_credentials c;
        char reg[32];
        snprintf (reg, sizeof reg, "r%d-%d.io", i, j);
        if (hutch_auth_lookup (NULL, reg, NULL, &c, &err) != 1)
          missing++;
        else
          hutch_credentials_clear (&c);
        hutch_error_clear (&err);
      }
  ok (missing == 0, "  all 100 entries are there (%d missing)", missing);
}

static void
test_remove (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_free_ char *path = NULL, *text = NULL, *missing = NULL;
  bool found = true;
  json_t *root;

  reset ();
  missing = hutch_xasprintf ("%s/nothing/here.json", tmpdir);
  ok (hutch_auth_remove (missing, "quay.io", &found, &path, &err) == 0 && !found,
      "remove from a missing file: not found (%s)", err.msg ? err.msg : "");
  ok (access (missing, F_OK) < 0, "  and the file is not created");
  free (path);
  path = NULL;

  hutch_auth_store (NULL, "quay.io", "a", "b", NULL, &err);
  hutch_auth_store (NULL, "quay.io/team", "a", "b", NULL, &err);
  hutch_auth_store (NULL, "other.io", "c", "d", NULL, &err);
  text = slurp (xdg_auth);
  root = json_loads (text, 0, NULL);
  json_object_set_new (json_object_get (root, "auths"), "https://index.docker.io/v1/",
                       json_pack ("{s:s}", "auth", "eDp5"));
  json_object_set_new (json_object_get (root, "auths"), "docker.io",
                       json_pack ("{s:s}", "auth", "eDp5"));
  json_object_set_new (root, "credHelpers", json_pack ("{s:s}", "gcr.io", "gcloud"));
  free (text);
  text = json_dumps (root, 0);
  json_decref (root);
  put (xdg_auth, text);

  found = false;
  ok (hutch_auth_remove (NULL, "quay.io", &found, &path, &err) == 0 && found, "remove quay.io");
  is_str (path, xdg_auth, "  from the default file");
  expect (NULL, "quay.io", NULL, NULL, NULL, NULL, NULL);
  expect (NULL, "quay.io", "team/x", "a", "b", "quay.io/team", NULL);
  expect (NULL, "other.io", NULL, "c", "d", NULL, NULL);
  ok (mode_of (xdg_auth) == 0600, "  mode 0600");
  ok (hutch_auth_remove (NULL, "quay.io", &found, NULL, &err) == 0 && !found,
      "remove quay.io again: not found");

  ok (hutch_auth_remove (NULL, "index.docker.io", &found, NULL, &err) == 0 && found,
      "remove docker.io by an alias");
  expect (NULL, "docker.io", NULL, NULL, NULL, NULL, NULL);

  ok (hutch_auth_remove (NULL, NULL, &found, NULL, &err) == 0 && found, "remove all");
  expect (NULL, "other.io", NULL, NULL, NULL, NULL, NULL);
  free (text);
  text = slurp (xdg_auth);
  root = text ? json_loads (text, 0, NULL) : NULL;
  ok (root && json_object_size (json_object_get (root, "auths")) == 0, "  auths is empty");
  ok (root && json_object_get (root, "credHelpers") != NULL, "  credHelpers kept");
  json_decref (root);
  ok (hutch_auth_remove (NULL, NULL, &found, NULL, &err) == 0 && !found,
      "remove all again: nothing");

  put (xdg_auth, "{");
  ok (hutch_auth_remove (NULL, "quay.io", &found, NULL, &err) < 0, "remove from malformed JSON");
  has_str (err.msg, xdg_auth, "  names the file");
  hutch_error_clear (&err);
  free (path);
  path = NULL;
}

static void
test_creds (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_credentials c;

  ok (hutch_auth_parse_creds ("u:p", &c, &err) == 0, "--creds u:p");
  is_str (c.username, "u", "  user");
  is_str (c.password, "p", "  password");
  ok (c.origin == NULL, "  no origin");
  hutch_credentials_clear (&c);
  ok (hutch_auth_parse_creds ("u", &c, &err) == 0 && c.password == NULL, "--creds u: no password");
  hutch_credentials_clear (&c);
  ok (hutch_auth_parse_creds ("u:", &c, &err) == 0, "--creds u:");
  is_str (c.password, "", "  empty password");
  hutch_credentials_clear (&c);
  ok (hutch_auth_parse_creds ("u:p:q", &c, &err) == 0, "--creds u:p:q");
  is_str (c.password, "p:q", "  password keeps the second `:`");
  hutch_credentials_clear (&c);
  ok (hutch_auth_parse_creds (":secret", &c, &err) < 0, "--creds :secret refused");
  has_str (err.msg, "no user name", "  says why");
  ok (err.msg && strstr (err.msg, "secret") == NULL, "  and does not show the password");
  hutch_error_clear (&err);
  ok (hutch_auth_parse_creds ("", &c, &err) < 0, "--creds '' refused");
  hutch_error_clear (&err);
}

int
main (void)
{
  if (mkdtemp (tmpdir) == NULL)
    {
      printf ("Bail out! mkdtemp: %s\n", strerror (errno));
      return 1;
    }
  home = hutch_xasprintf ("%s/home", tmpdir);
  run = hutch_xasprintf ("%s/run", tmpdir);
  xdg_auth = hutch_xasprintf ("%s/containers/auth.json", run);
  cfg_auth = hutch_xasprintf ("%s/.config/containers/auth.json", home);
  docker_auth = hutch_xasprintf ("%s/.docker/config.json", home);

  test_normalize ();
  test_search_order ();
  test_specific ();
  test_docker ();
  test_helpers ();
  test_bad_files ();
  test_identity_token ();
  test_store ();
  test_store_where ();
  test_concurrent ();
  test_remove ();
  test_creds ();

  rm_rf (tmpdir);
  free (home);
  free (run);
  free (xdg_auth);
  free (cfg_auth);
  free (docker_auth);
  return tap_done ();
}
