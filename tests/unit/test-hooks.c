/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* OCI hooks (src/runtime/hooks.c): config.json's "hooks" read, refused
   with the JSON path, written back; and hooks run for real: the state on
   stdin, exactly their env and args, nothing else open, a failure's code
   and output in the error, a timeout that kills the hook's whole group,
   and a hook that never reads a large state.  */

#include "runtime/hooks.h"
#include "base/log.h"
#include "base/util.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char tmp[64];

/* What hooks said at debug level: a successful hook's output.  */
static char *said;

static void
sink (enum hutch_log_level level, const char *msg, void *data)
{
  (void)data;
  if (level != HUTCH_LOG_DEBUG)
    return;
  free (said);
  said = hutch_xstrdup (msg);
}

static int
parse (const char *text, struct hutch_hooks *h, hutch_error_t *err)
{
  json_error_t jerr;
  json_t *j = json_loads (text, 0, &jerr);
  int r;

  if (j == NULL)
    {
      printf ("# bad test JSON: %s: %s\n", text, jerr.text);
      return -2;
    }
  memset (h, 0, sizeof *h);
  r = hutch_hooks_from_oci (j, h, err);
  json_decref (j);
  return r;
}

/* TEXT is refused with a message that contains WANT.  */
static void
refused (const char *text, const char *want)
{
  struct hutch_hooks h;
  hutch_error_t err = HUTCH_ERROR_INIT;
  int r = parse (text, &h, &err);

  ok (r == -1 && err.msg && strstr (err.msg, want), "refused, naming `%s`: %s", want,
      err.msg ? err.msg : "(accepted)");
  if (r == 0)
    hutch_hooks_free (&h);
  hutch_error_clear (&err);
}

static void
test_parse (void)
{
  static const char *const full
      = "{\"prestart\":[{\"path\":\"/bin/a\",\"args\":[\"a\",\"-x\"],\"env\":[\"K=V\"],"
        "\"timeout\":5},{\"path\":\"/bin/b\"}],"
        "\"createRuntime\":[{\"path\":\"/c\"}],\"createContainer\":[{\"path\":\"/d\"}],"
        "\"startContainer\":[{\"path\":\"/e\"}],\"poststart\":[{\"path\":\"/f\"}],"
        "\"poststop\":[{\"path\":\"/g\",\"timeout\":1}]}";
  struct hutch_hooks h;
  hutch_error_t err = HUTCH_ERROR_INIT;
  json_t *in, *back;
  int k;

  ok (parse (full, &h, &err) == 0, "all six kinds parse");
  ok (h.kind[HUTCH_HOOK_PRESTART].n == 2 && h.kind[HUTCH_HOOK_POSTSTOP].n == 1,
      "the lists have their hooks");
  {
    const struct hutch_hook *a = &h.kind[HUTCH_HOOK_PRESTART].hooks[0];
    ok (strcmp (a->path, "/bin/a") == 0 && strcmp (a->args[0], "a") == 0
            && strcmp (a->args[1], "-x") == 0 && a->args[2] == NULL
            && strcmp (a->env[0], "K=V") == 0 && a->env[1] == NULL && a->timeout == 5,
        "path, args, env and timeout");
    a = &h.kind[HUTCH_HOOK_PRESTART].hooks[1];
    ok (a->args && a->args[0] == NULL && a->env && a->env[0] == NULL && a->timeout == 0,
        "a hook of a path only: empty args and env, no timeout");
  }
  for (k = 0; k < HUTCH_HOOK_COUNT; k++)
    ok (h.kind[k].n >= 1, "%s read", hutch_hook_kind_name (k));
  in = json_loads (full, 0, NULL);
  back = hutch_hooks_to_json (&h);
  ok (json_equal (in, back), "written back as it was read");
  json_decref (in);
  json_decref (back);
  hutch_hooks_free (&h);
  ok (h.kind[HUTCH_HOOK_PRESTART].n == 0 && h.kind[HUTCH_HOOK_PRESTART].hooks == NULL,
      "freed lists are empty");

  ok (hutch_hooks_from_oci (NULL, &h, &err) == 0 && h.kind[0].n == 0, "no hooks: none");
  ok (parse ("{\"prestart\":null}", &h, &err) == 0 && h.kind[0].n == 0, "a null list: none");
  back = hutch_hooks_to_json (&h);
  ok (json_object_size (back) == 0, "no hooks written back: an empty object");
  json_decref (back);

  refused ("[]", "`hooks` must be an object");
  refused ("{\"prestop\":[]}", "hooks.prestop is not a kind of hook");
  refused ("{\"prestart\":{}}", "hooks.prestart must be an array");
  refused ("{\"prestart\":[\"/bin/true\"]}", "hooks.prestart[0] must be an object");
  refused ("{\"poststart\":[{\"args\":[\"x\"]}]}", "hooks.poststart[0].path is missing");
  refused ("{\"prestart\":[{\"path\":\"bin/true\"}]}",
           "hooks.prestart[0].path (`bin/true`) must be an absolute path");
  refused ("{\"poststop\":[{\"path\":\"/a\"},{\"path\":\"/b\",\"timeout\":0}]}",
           "hooks.poststop[1].timeout must be a whole number of seconds greater than 0");
  refused ("{\"poststop\":[{\"path\":\"/a\",\"timeout\":-3}]}", "hooks.poststop[0].timeout");
  refused ("{\"poststop\":[{\"path\":\"/a\",\"timeout\":\"5\"}]}", "hooks.poststop[0].timeout");
  refused ("{\"poststop\":[{\"path\":\"/a\",\"timeout\":1.5}]}", "hooks.poststop[0].timeout");
  refused ("{\"poststop\":[{\"path\":\"/a\",\"timeout\":99999999999}]}", "is too large");
  refused ("{\"createRuntime\":[{\"path\":\"/a\",\"args\":[\"a\",1]}]}",
           "hooks.createRuntime[0].args[1] must be a string");
  refused ("{\"createRuntime\":[{\"path\":\"/a\",\"args\":\"a b\"}]}",
           "hooks.createRuntime[0].args must be an array of strings");
  refused ("{\"startContainer\":[{\"path\":\"/a\",\"env\":[\"A=1\",\"NOVALUE\"]}]}",
           "hooks.startContainer[0].env[1] (`NOVALUE`) must be NAME=VALUE");
  refused ("{\"startContainer\":[{\"path\":\"/a\",\"env\":[\"=x\"]}]}",
           "hooks.startContainer[0].env[0]");
  refused ("{\"prestart\":[{\"path\":\"/a\",\"timout\":5}]}",
           "hooks.prestart[0].timout is not a field of a hook");
  /* a later kind's error after an earlier kind was read: nothing leaks
     (the sanitizer build checks it) and nothing is returned */
  refused ("{\"prestart\":[{\"path\":\"/a\",\"args\":[\"a\"]}],\"poststop\":[{\"path\":\"x\"}]}",
           "hooks.poststop[0].path");
}

static void
test_state (void)
{
  struct hutch_kv ann[]
      = { { (char *)"org.example.a", (char *)"1" }, { (char *)"b", (char *)"two words" } };
  char *s = hutch_hooks_state_json ("c1", "creating", 1234, "/b/x", ann, 2);
  json_t *j = json_loads (s, 0, NULL);

  ok (j != NULL, "the state is JSON: %s", s);
  is_str (json_string_value (json_object_get (j, "ociVersion")), HUTCH_OCI_SPEC_VERSION,
          "ociVersion");
  is_str (json_string_value (json_object_get (j, "id")), "c1", "id");
  is_str (json_string_value (json_object_get (j, "status")), "creating", "status");
  ok (json_integer_value (json_object_get (j, "pid")) == 1234, "pid");
  is_str (json_string_value (json_object_get (j, "bundle")), "/b/x", "bundle");
  is_str (json_string_value (json_object_get (json_object_get (j, "annotations"), "b")),
          "two words", "annotations");
  json_decref (j);
  free (s);

  s = hutch_hooks_state_json ("c1", "stopped", 0, "/b/x", NULL, 0);
  j = json_loads (s, 0, NULL);
  ok (j && json_object_get (j, "pid") == NULL && json_object_get (j, "annotations") == NULL,
      "no pid and no annotations: left out: %s", s);
  json_decref (j);
  free (s);
}

static struct hutch_hook
hook (const char *path, const char *const *args, const char *const *env, int timeout)
{
  struct hutch_hook h = { .path = (char *)path, .timeout = timeout };
  h.args = hutch_strv_dup ((char *const *)args);
  h.env = env ? hutch_strv_dup ((char *const *)env) : NULL;
  return h;
}

static void
unhook (struct hutch_hook *h)
{
  hutch_strv_free (h->args);
  hutch_strv_free (h->env);
}

static char *
file_text (const char *path)
{
  char *text = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  if (hutch_read_file (path, 1 << 20, &text, NULL, &err) < 0)
    hutch_error_clear (&err);
  return text;
}

static double
seconds_since (const struct timespec *t0)
{
  struct timespec t1;
  clock_gettime (CLOCK_MONOTONIC, &t1);
  return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void
test_stdin (void)
{
  _cleanup_free_ char *out = hutch_xasprintf ("%s/state", tmp);
  _cleanup_free_ char *cmd = hutch_xasprintf ("cat > %s", out);
  const char *args[] = { "sh", "-c", cmd, NULL };
  struct hutch_hook h = hook ("/bin/sh", args, NULL, 10);
  hutch_error_t err = HUTCH_ERROR_INIT;
  char *state = hutch_hooks_state_json ("box", "created", 77, "/bundle", NULL, 0);
  _cleanup_free_ char *got = NULL;
  json_t *j;

  ok (hutch_hooks_run (&h, 1, "prestart", state, &err) == 0, "a hook that reads its stdin: %s",
      err.msg ? err.msg : "ok");
  got = file_text (out);
  is_str (got, state, "the state arrived whole");
  j = got ? json_loads (got, 0, NULL) : NULL;
  ok (j && strcmp (json_string_value (json_object_get (j, "id")), "box") == 0
          && json_integer_value (json_object_get (j, "pid")) == 77,
      "and parses as the state");
  json_decref (j);
  free (state);
  unhook (&h);
  hutch_error_clear (&err);
}

static void
test_failure (void)
{
  const char *args[] = { "sh", "-c", "echo on-stdout; echo oops-on-stderr >&2; exit 3", NULL };
  const char *sig_args[] = { "sh", "-c", "kill -TERM $$", NULL };
  const char *quiet[] = { "sh", "-c", "exit 9", NULL };
  const char *flood[] = { "sh", "-c",
                          "i=0; while [ $i -lt 2000 ]; do echo xxxxxxxxxx; i=$((i+1)); done; "
                          "echo END-MARK >&2; exit 1",
                          NULL };
  struct hutch_hook h = hook ("/bin/sh", args, NULL, 0);
  hutch_error_t err = HUTCH_ERROR_INIT;

  ok (hutch_hooks_run (&h, 1, "createRuntime", "{}", &err) < 0, "a failing hook fails the list");
  has_str (err.msg, "hooks.createRuntime[0] (/bin/sh) exited with code 3", "its code: %s", err.msg);
  has_str (err.msg, "oops-on-stderr", "its stderr");
  has_str (err.msg, "on-stdout", "its stdout");
  hutch_error_clear (&err);
  unhook (&h);

  h = hook ("/bin/sh", sig_args, NULL, 0);
  ok (hutch_hooks_run (&h, 1, "poststart", "{}", &err) < 0, "a hook killed by a signal fails");
  has_str (err.msg, "was killed by signal SIGTERM", "the signal: %s", err.msg);
  hutch_error_clear (&err);
  unhook (&h);

  h = hook ("/bin/sh", quiet, NULL, 0);
  ok (hutch_hooks_run (&h, 1, "poststart", "{}", &err) < 0, "a silent failing hook fails");
  has_str (err.msg, "exited with code 9; it wrote nothing", "it says so: %s", err.msg);
  hutch_error_clear (&err);
  unhook (&h);

  h = hook ("/bin/sh", flood, NULL, 0);
  ok (hutch_hooks_run (&h, 1, "poststart", "{}", &err) < 0, "a hook that writes much fails");
  ok (err.msg && strlen (err.msg) < 4096 + 200, "only the tail is kept (%zu bytes)",
      err.msg ? strlen (err.msg) : 0);
  ok (err.msg && strstr (err.msg, ": ...xxx") && strstr (err.msg, "END-MARK"),
      "the end of its output, marked as cut");
  hutch_error_clear (&err);
  unhook (&h);

  h = hook ("/nonexistent/hook", NULL, NULL, 0);
  ok (hutch_hooks_run (&h, 1, "prestart", "{}", &err) < 0, "a missing program fails");
  has_str (err.msg, "hooks.prestart[0] (/nonexistent/hook): cannot execute", "named: %s", err.msg);
  has_str (err.msg, strerror (ENOENT), "with errno's text");
  hutch_error_clear (&err);
  unhook (&h);
}

static void
test_order (void)
{
  _cleanup_free_ char *out = hutch_xasprintf ("%s/order", tmp);
  _cleanup_free_ char *c1 = hutch_xasprintf ("echo one >> %s", out);
  _cleanup_free_ char *c2 = hutch_xasprintf ("echo two >> %s; exit 4", out);
  _cleanup_free_ char *c3 = hutch_xasprintf ("echo three >> %s", out);
  const char *a1[] = { "sh", "-c", c1, NULL }, *a2[] = { "sh", "-c", c2, NULL },
             *a3[] = { "sh", "-c", c3, NULL };
  struct hutch_hook list[3] = { hook ("/bin/sh", a1, NULL, 0), hook ("/bin/sh", a2, NULL, 0),
                                hook ("/bin/sh", a3, NULL, 0) };
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_free_ char *got = NULL;
  size_t i;

  ok (hutch_hooks_run (list, 3, "poststop", "{}", &err) < 0, "the second of three fails");
  has_str (err.msg, "hooks.poststop[1] (/bin/sh) exited with code 4", "it is named: %s", err.msg);
  got = file_text (out);
  is_str (got, "one\ntwo\n", "in order, and none after the one that failed");
  for (i = 0; i < 3; i++)
    unhook (&list[i]);
  hutch_error_clear (&err);
}

static void
test_timeout (void)
{
  _cleanup_free_ char *pidfile = hutch_xasprintf ("%s/bgpid", tmp);
  _cleanup_free_ char *cmd = hutch_xasprintf ("sleep 30 & echo $! > %s; wait", pidfile);
  const char *args[] = { "sh", "-c", cmd, NULL };
  struct hutch_hook h = hook ("/bin/sh", args, NULL, 1);
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_free_ char *bg = NULL;
  struct timespec t0;
  bool gone = false;
  int i;

  clock_gettime (CLOCK_MONOTONIC, &t0);
  ok (hutch_hooks_run (&h, 1, "createContainer", "{}", &err) < 0, "a hook past its timeout fails");
  ok (seconds_since (&t0) < 5, "after about its timeout (%.1f s)", seconds_since (&t0));
  has_str (err.msg, "hooks.createContainer[0] (/bin/sh) timed out after 1 s", "it says so: %s",
           err.msg);
  bg = file_text (pidfile);
  if (bg && strchr (bg, '\n'))
    *strchr (bg, '\n') = '\0';
  /* the group was killed: the background sleep too (dead: gone, or a
     zombie that init has yet to reap) */
  for (i = 0; bg && i < 50 && !gone; i++)
    {
      _cleanup_free_ char *statf = hutch_xasprintf ("/proc/%d/stat", atoi (bg));
      _cleanup_free_ char *st = file_text (statf);
      const char *paren = st ? strrchr (st, ')') : NULL;
      gone = st == NULL || (paren && paren[1] == ' ' && paren[2] == 'Z');
      if (!gone)
        usleep (100000);
    }
  ok (gone, "what the hook started was killed with it (pid %s)", bg ? bg : "?");
  hutch_error_clear (&err);
  unhook (&h);
}

static void
test_no_reader (void)
{
  size_t big = 4 << 20, i;
  char *state = malloc (big + 1);
  const char *quick[] = { "sh", "-c", "exit 0", NULL };
  const char *late[] = { "sh", "-c", "exec 0<&-; sleep 0.3; echo done", NULL };
  const char *stuck[] = { "sh", "-c", "sleep 30", NULL };
  struct hutch_hook h = hook ("/bin/sh", quick, NULL, 0);
  hutch_error_t err = HUTCH_ERROR_INIT;
  sigset_t pending;
  struct timespec t0;

  for (i = 0; i < big; i++)
    state[i] = 'x';
  state[big] = '\0';
  ok (hutch_hooks_run (&h, 1, "prestart", state, &err) == 0,
      "a hook that exits without reading 4 MiB of state succeeds: %s", err.msg ? err.msg : "ok");
  unhook (&h);
  h = hook ("/bin/sh", late, NULL, 0);
  ok (hutch_hooks_run (&h, 1, "prestart", state, &err) == 0,
      "one that closes its stdin and goes on succeeds: %s", err.msg ? err.msg : "ok");
  sigpending (&pending);
  ok (!sigismember (&pending, SIGPIPE), "no SIGPIPE is left pending (and none killed us)");
  unhook (&h);

  h = hook ("/bin/sh", stuck, NULL, 1);
  clock_gettime (CLOCK_MONOTONIC, &t0);
  ok (hutch_hooks_run (&h, 1, "prestart", state, &err) < 0 && seconds_since (&t0) < 5,
      "one that neither reads nor ends still times out (%.1f s)", seconds_since (&t0));
  has_str (err.msg, "timed out after 1 s", "as a timeout: %s", err.msg);
  hutch_error_clear (&err);
  unhook (&h);
  free (state);
}

static void
test_env_args (void)
{
  const char *env[] = { "A=1", "B=two words", NULL };
  const char *env_args[] = { "env", NULL };
  const char *argv0[] = { "my-name", "-c", "echo \"argv0=$0 argc=$#\"", NULL };
  _cleanup_free_ char *fdcheck = NULL;
  const char *fd_args[] = { "sh", "-c", NULL, NULL };
  const char *procs[]
      = { "sh", "-c", "set -- $(cat /proc/$$/stat); [ \"$5\" = \"$$\" ] && echo own-group", NULL };
  /* grep reads its own status: a shell would read its own while it
     waits for grep, when it blocks signals itself */
  const char *masks[] = { "grep", "-E", "^(SigBlk|SigIgn)", "/proc/self/status", NULL };
  struct hutch_hook h = hook ("/usr/bin/env", env_args, env, 0);
  hutch_error_t err = HUTCH_ERROR_INIT;
  sigset_t block, old;
  int fd;

  free (said);
  said = NULL;
  ok (hutch_hooks_run (&h, 1, "poststart", "{}", &err) == 0, "env runs");
  has_str (said, "hooks.poststart[0] (/usr/bin/env) said: A=1\nB=two words", "env: %s",
           said ? said : "(nothing)");
  ok (said && strstr (said, "PATH=") == NULL && strstr (said, "HOME=") == NULL,
      "nothing of the runtime's environment");
  unhook (&h);

  h = hook ("/usr/bin/env", NULL, NULL, 0);
  free (said);
  said = NULL;
  ok (hutch_hooks_run (&h, 1, "poststart", "{}", &err) == 0 && said == NULL,
      "no env: an empty environment (env prints nothing)");
  unhook (&h);

  h = hook ("/bin/sh", argv0, NULL, 0);
  ok (hutch_hooks_run (&h, 1, "poststart", "{}", &err) == 0, "args run");
  has_str (said, "said: argv0=my-name argc=0", "args[0] as given: %s", said ? said : "-");
  unhook (&h);

  /* no args: argv is the path alone (sh then reads its script from
     stdin, here the "state") */
  h = hook ("/bin/sh", NULL, NULL, 0);
  ok (hutch_hooks_run (&h, 1, "poststart", "echo \"argv0=$0\"\n", &err) == 0, "no args run");
  has_str (said, "said: argv0=/bin/sh", "argv[0] is the path: %s", said ? said : "-");
  unhook (&h);

  /* an fd the caller left open without O_CLOEXEC is not the hook's */
  fd = dup2 (1, 47);
  fdcheck = hutch_xstrdup ("[ -e /proc/$$/fd/47 ] && echo fd47-open || echo fd47-closed; "
                           "[ -e /proc/$$/fd/3 ] && echo fd3-open || echo fd3-closed");
  fd_args[2] = fdcheck;
  h = hook ("/bin/sh", fd_args, NULL, 0);
  ok (fd == 47 && hutch_hooks_run (&h, 1, "poststart", "{}", &err) == 0, "fd check runs");
  has_str (said, "fd47-closed\nfd3-closed", "no fd but 0, 1 and 2: %s", said ? said : "-");
  close (47);
  unhook (&h);

  /* the caller blocks SIGCHLD and SIGTERM (a signalfd) and ignores
     SIGINT: the hook gets none of that, and still is waited for */
  sigemptyset (&block);
  sigaddset (&block, SIGCHLD);
  sigaddset (&block, SIGTERM);
  sigprocmask (SIG_BLOCK, &block, &old);
  signal (SIGINT, SIG_IGN);
  h = hook ("/bin/sh", procs, NULL, 0);
  ok (hutch_hooks_run (&h, 1, "poststart", "{}", &err) == 0, "runs with SIGCHLD blocked: %s",
      err.msg ? err.msg : "ok");
  has_str (said, "own-group", "in a process group of its own");
  unhook (&h);
  h = hook ("/bin/grep", masks, NULL, 0);
  ok (hutch_hooks_run (&h, 1, "poststart", "{}", &err) == 0, "grep runs: %s",
      err.msg ? err.msg : "ok");
  has_str (said, "SigBlk:\t0000000000000000", "no signal blocked: %s", said ? said : "-");
  /* 32 and 33 are glibc's own (it refuses to touch them; a glibc
     program sets them up itself), and something above make may ignore
     them: only the standard signals count */
  {
    const char *ign = said ? strstr (said, "SigIgn:\t") : NULL;
    unsigned long long mask = ign ? strtoull (ign + 8, NULL, 16) : ~0ULL;
    ok ((mask & 0x7fffffffULL) == 0, "no standard signal ignored (SIGINT was): %s",
        ign ? ign : "-");
  }
  signal (SIGINT, SIG_DFL);
  sigprocmask (SIG_SETMASK, &old, NULL);
  unhook (&h);
  hutch_error_clear (&err);
}

int
main (void)
{
  _cleanup_free_ char *rm = NULL;

  hutch_log_set_sink (sink, NULL, NULL);
  strcpy (tmp, "/tmp/test-hooks.XXXXXX");
  if (mkdtemp (tmp) == NULL)
    {
      printf ("Bail out! mkdtemp: %s\n", strerror (errno));
      return 1;
    }
  test_parse ();
  test_state ();
  test_stdin ();
  test_failure ();
  test_order ();
  test_timeout ();
  test_no_reader ();
  test_env_args ();
  rm = hutch_xasprintf ("rm -rf %s", tmp);
  if (system (rm) != 0)
    printf ("# could not remove %s\n", tmp);
  free (said);
  return tap_done ();
}
