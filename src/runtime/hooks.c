/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* OCI hooks: config.json's "hooks" in memory and back, and running one
   list of them (runtime/hooks.h).  */

#include "runtime/hooks.h"
#include "base/log.h"
#include "base/signame.h"
#include "base/syscalls.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const kind_names[HUTCH_HOOK_COUNT] = {
  [HUTCH_HOOK_PRESTART] = "prestart",
  [HUTCH_HOOK_CREATE_RUNTIME] = "createRuntime",
  [HUTCH_HOOK_CREATE_CONTAINER] = "createContainer",
  [HUTCH_HOOK_START_CONTAINER] = "startContainer",
  [HUTCH_HOOK_POSTSTART] = "poststart",
  [HUTCH_HOOK_POSTSTOP] = "poststop",
};

const char *
hutch_hook_kind_name (int kind)
{
  return kind >= 0 && kind < HUTCH_HOOK_COUNT ? kind_names[kind] : NULL;
}

/* ---- config.json ------------------------------------------------------ */

static void
hook_clear (struct hutch_hook *h)
{
  free (h->path);
  hutch_strv_free (h->args);
  hutch_strv_free (h->env);
  memset (h, 0, sizeof *h);
}

void
hutch_hooks_free (struct hutch_hooks *hooks)
{
  size_t k, i;

  if (hooks == NULL)
    return;
  for (k = 0; k < HUTCH_HOOK_COUNT; k++)
    {
      for (i = 0; i < hooks->kind[k].n; i++)
        hook_clear (&hooks->kind[k].hooks[i]);
      free (hooks->kind[k].hooks);
      hooks->kind[k].hooks = NULL;
      hooks->kind[k].n = 0;
    }
}

/* V (absent: an empty list) as a NULL-terminated list of strings; PATH
   names it in errors.  ENV: each must be NAME=VALUE.  */
static int
strings_from_json (json_t *v, const char *path, bool env, char ***ret, hutch_error_t *err)
{
  _cleanup_strv_ char **list = hutch_xmalloc0 (sizeof (char *));
  json_t *item;
  size_t i;

  if (v != NULL && !json_is_null (v))
    {
      if (!json_is_array (v))
        return hutch_error_set (err, 0, "%s must be an array of strings", path);
      json_array_foreach (v, i, item)
      {
        const char *s = json_string_value (item);
        if (s == NULL)
          return hutch_error_set (err, 0, "%s[%zu] must be a string", path, i);
        /* execve would pass it, and the hook would see an environment
           that no shell can make: a typo, not a wish.  */
        if (env && (strchr (s, '=') == NULL || s[0] == '='))
          return hutch_error_set (err, 0, "%s[%zu] (`%s`) must be NAME=VALUE", path, i, s);
        hutch_strv_push (&list, hutch_xstrdup (s));
      }
    }
  *ret = HUTCH_STEAL_PTR (list);
  return 0;
}

static int
hook_from_json (json_t *obj, const char *path, struct hutch_hook *h, hutch_error_t *err)
{
  _cleanup_free_ char *sub = NULL;
  const char *key, *p;
  json_t *v;

  if (!json_is_object (obj))
    return hutch_error_set (err, 0, "%s must be an object with a `path`", path);
  json_object_foreach (obj, key, v)
  {
    if (strcmp (key, "path") != 0 && strcmp (key, "args") != 0 && strcmp (key, "env") != 0
        && strcmp (key, "timeout") != 0)
      return hutch_error_set (err, 0,
                              "%s.%s is not a field of a hook (path, args, env, timeout); remove "
                              "it from config.json",
                              path, key);
  }
  p = json_string_value (json_object_get (obj, "path"));
  if (p == NULL)
    return hutch_error_set (err, 0, "%s.path is missing or not a string", path);
  /* The spec says absolute; a relative one would be looked up from
     wherever the runtime happens to be (the bundle, or the container's
     root for createContainer): refused instead of guessed.  */
  if (p[0] != '/')
    return hutch_error_set (err, 0, "%s.path (`%s`) must be an absolute path", path, p);
  h->path = hutch_xstrdup (p);

  free (sub);
  sub = hutch_xasprintf ("%s.args", path);
  if (strings_from_json (json_object_get (obj, "args"), sub, false, &h->args, err) < 0)
    return -1;
  free (sub);
  sub = hutch_xasprintf ("%s.env", path);
  if (strings_from_json (json_object_get (obj, "env"), sub, true, &h->env, err) < 0)
    return -1;

  v = json_object_get (obj, "timeout");
  if (v != NULL && !json_is_null (v))
    {
      if (!json_is_integer (v) || json_integer_value (v) <= 0)
        return hutch_error_set (
            err, 0, "%s.timeout must be a whole number of seconds greater than 0", path);
      if (json_integer_value (v) > INT_MAX)
        return hutch_error_set (err, 0, "%s.timeout is too large (at most %d seconds)", path,
                                INT_MAX);
      h->timeout = (int)json_integer_value (v);
    }
  return 0;
}

static int
list_from_json (json_t *arr, const char *kind, struct hutch_hook_list *list, hutch_error_t *err)
{
  json_t *item;
  size_t i;

  if (json_is_null (arr))
    return 0;
  if (!json_is_array (arr))
    return hutch_error_set (err, 0, "hooks.%s must be an array of hooks", kind);
  list->hooks = hutch_xmalloc0 ((json_array_size (arr) + 1) * sizeof *list->hooks);
  json_array_foreach (arr, i, item)
  {
    _cleanup_free_ char *path = hutch_xasprintf ("hooks.%s[%zu]", kind, i);
    list->n = i + 1; /* so that hutch_hooks_free frees what this one has */
    if (hook_from_json (item, path, &list->hooks[i], err) < 0)
      return -1;
  }
  return 0;
}

static int
kind_from_name (const char *name)
{
  int k;
  for (k = 0; k < HUTCH_HOOK_COUNT; k++)
    if (strcmp (name, kind_names[k]) == 0)
      return k;
  return -1;
}

int
hutch_hooks_from_oci (json_t *hooks, struct hutch_hooks *ret, hutch_error_t *err)
{
  struct hutch_hooks h;
  const char *key;
  json_t *v;

  memset (&h, 0, sizeof h);
  if (hooks == NULL || json_is_null (hooks))
    {
      *ret = h;
      return 0;
    }
  if (!json_is_object (hooks))
    return hutch_error_set (err, 0, "`hooks` must be an object");
  json_object_foreach (hooks, key, v)
  {
    int k = kind_from_name (key);
    if (k < 0)
      {
        hutch_hooks_free (&h);
        return hutch_error_set (err, 0,
                                "hooks.%s is not a kind of hook (prestart, createRuntime, "
                                "createContainer, startContainer, poststart, poststop); remove it "
                                "from config.json",
                                key);
      }
    if (list_from_json (v, key, &h.kind[k], err) < 0)
      {
        hutch_hooks_free (&h);
        return -1;
      }
  }
  *ret = h;
  return 0;
}

static json_t *
strv_to_json (char *const *v)
{
  json_t *arr = json_array ();
  size_t i;
  for (i = 0; v && v[i]; i++)
    json_array_append_new (arr, json_string (v[i]));
  return arr;
}

json_t *
hutch_hooks_to_json (const struct hutch_hooks *hooks)
{
  json_t *obj = json_object ();
  size_t k, i;

  for (k = 0; k < HUTCH_HOOK_COUNT; k++)
    {
      json_t *arr;
      if (hooks->kind[k].n == 0)
        continue;
      arr = json_array ();
      for (i = 0; i < hooks->kind[k].n; i++)
        {
          const struct hutch_hook *h = &hooks->kind[k].hooks[i];
          json_t *o = json_object ();
          json_object_set_new (o, "path", json_string (h->path));
          if (h->args && h->args[0])
            json_object_set_new (o, "args", strv_to_json (h->args));
          if (h->env && h->env[0])
            json_object_set_new (o, "env", strv_to_json (h->env));
          if (h->timeout > 0)
            json_object_set_new (o, "timeout", json_integer (h->timeout));
          json_array_append_new (arr, o);
        }
      json_object_set_new (obj, kind_names[k], arr);
    }
  return obj;
}

char *
hutch_hooks_state_json (const char *id, const char *status, pid_t pid, const char *bundle,
                        const struct hutch_kv *annotations, size_t n)
{
  json_t *obj = json_object ();
  char *text;
  size_t i;

  json_object_set_new (obj, "ociVersion", json_string (HUTCH_OCI_SPEC_VERSION));
  json_object_set_new (obj, "id", json_string (id));
  json_object_set_new (obj, "status", json_string (status));
  if (pid > 0)
    json_object_set_new (obj, "pid", json_integer (pid));
  json_object_set_new (obj, "bundle", json_string (bundle));
  if (n > 0)
    {
      json_t *a = json_object ();
      for (i = 0; i < n; i++)
        json_object_set_new (a, annotations[i].key, json_string (annotations[i].value));
      json_object_set_new (obj, "annotations", a);
    }
  text = json_dumps (obj, JSON_COMPACT);
  json_decref (obj);
  if (text == NULL)
    abort (); /* only out of memory: as hutch_xmalloc0 */
  return text;
}

/* ---- running ---------------------------------------------------------- */

/* What of a hook's output goes into its error: the end, where programs
   say why they stop.  */
#define TAIL_MAX 4096

struct hook_run
{
  const struct hutch_hook *hook;
  const char *where; /* "hooks.prestart[0] (/usr/bin/x)" */
  pid_t pid;
  int pidfd;
  int in;  /* the write end of its stdin, or -1 once all is written or it went away */
  int out; /* the read end of its stdout and stderr, or -1 at its end */
  const char *state;
  size_t state_len, state_off;
  bool epipe; /* a write met a pipe without readers: SIGPIPE is pending */
  char tail[TAIL_MAX];
  size_t tail_len;
  bool truncated;
};

static void
run_close (struct hook_run *r)
{
  if (r->in >= 0)
    close (r->in);
  if (r->out >= 0)
    close (r->out);
  if (r->pidfd >= 0)
    close (r->pidfd);
  r->in = r->out = r->pidfd = -1;
}

static void
keep_tail (struct hook_run *r, const char *buf, size_t len)
{
  if (len >= TAIL_MAX)
    {
      memcpy (r->tail, buf + len - TAIL_MAX, TAIL_MAX);
      r->tail_len = TAIL_MAX;
      r->truncated = true;
      return;
    }
  if (r->tail_len + len > TAIL_MAX)
    {
      size_t drop = r->tail_len + len - TAIL_MAX;
      memmove (r->tail, r->tail + drop, r->tail_len - drop);
      r->tail_len -= drop;
      r->truncated = true;
    }
  memcpy (r->tail + r->tail_len, buf, len);
  r->tail_len += len;
}

/* Read what the hook wrote, without blocking: how much, -1 when nothing
   was there, 0 at its end.  */
static ssize_t
read_output (struct hook_run *r)
{
  char buf[8192];
  ssize_t n = read (r->out, buf, sizeof buf);

  if (n > 0)
    {
      keep_tail (r, buf, (size_t)n);
      return n;
    }
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return -1;
  close (r->out);
  r->out = -1;
  return 0;
}

/* Write the next part of the state, without blocking.  A hook need not
   read it: EPIPE (its SIGPIPE blocked by the caller, hutch_hooks_run)
   ends the input, not the run.  */
static void
write_state (struct hook_run *r)
{
  ssize_t n = write (r->in, r->state + r->state_off, r->state_len - r->state_off);

  if (n > 0)
    r->state_off += (size_t)n;
  else if (n < 0 && errno == EPIPE)
    r->epipe = true;
  else if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (r->state_off == r->state_len || n <= 0)
    {
      close (r->in);
      r->in = -1;
    }
}

static int
reap (pid_t pid, int *ret_status, hutch_error_t *err)
{
  while (waitpid (pid, ret_status, 0) < 0)
    if (errno != EINTR)
      return hutch_error_set (err, errno, "wait for a hook (is SIGCHLD ignored?)");
  return 0;
}

/* The child: stdin, stdout and stderr from the pipes, nothing else open,
   every signal at its default and none blocked (the caller's signalfd
   blocks some, and an ignored SIGPIPE would be inherited through exec),
   a process group of its own, so that a timeout kills what it started
   too.  Only async-signal-safe calls.  */
static void __attribute__ ((noreturn))
child (const struct hutch_hook *h, char *const *argv, char *const *envp, int in, int out, int errw)
{
  int e;
  /* Above 2 first: a caller started with 0, 1 or 2 closed has its pipes
     there, and the dup2 calls below would overwrite them.  */
  int a = fcntl (in, F_DUPFD_CLOEXEC, 3), b = fcntl (out, F_DUPFD_CLOEXEC, 3);
  int keep = fcntl (errw, F_DUPFD_CLOEXEC, 3);

  if (keep >= 0)
    errw = keep;
  if (a < 0 || b < 0 || keep < 0 || dup2 (a, 0) < 0 || dup2 (b, 1) < 0 || dup2 (b, 2) < 0)
    goto fail;
  if (setpgid (0, 0) < 0)
    goto fail;
  hutch_signals_default ();
  hutch_close_all_but (&keep, 1);
  execve (h->path, argv, envp);
fail:
  e = errno;
  (void)!write (errw, &e, sizeof e);
  _exit (127);
}

/* The length of the tail without the newlines and blanks at its end.  */
static size_t
tail_trimmed (const struct hook_run *r)
{
  size_t len = r->tail_len;
  while (len > 0
         && (r->tail[len - 1] == '\n' || r->tail[len - 1] == ' ' || r->tail[len - 1] == '\r'))
    len--;
  return len;
}

static int
fail_status (struct hook_run *r, int status, hutch_error_t *err)
{
  size_t len = tail_trimmed (r);
  char code[64], sigbuf[32];

  if (WIFEXITED (status))
    snprintf (code, sizeof code, "exited with code %d", WEXITSTATUS (status));
  else
    {
      const char *name = hutch_signal_name (WTERMSIG (status), sigbuf, sizeof sigbuf);
      if (name)
        snprintf (code, sizeof code, "was killed by signal SIG%s", name);
      else
        snprintf (code, sizeof code, "was killed by signal %d", WTERMSIG (status));
    }
  if (len == 0)
    return hutch_error_set (err, 0, "%s %s; it wrote nothing on stdout or stderr", r->where, code);
  return hutch_error_set (err, 0, "%s %s: %s%.*s", r->where, code, r->truncated ? "..." : "",
                          (int)len, r->tail);
}

/* Follow the running hook: feed its input, keep its output, wait for its
   end or its deadline.  */
static int
follow (struct hook_run *r, hutch_error_t *err)
{
  int64_t deadline = r->hook->timeout > 0 ? hutch_now_ms () + (int64_t)r->hook->timeout * 1000 : -1;
  int status = 0, drained;

  for (;;)
    {
      struct pollfd p[3] = { { .fd = r->pidfd, .events = POLLIN },
                             { .fd = r->in, .events = POLLOUT },
                             { .fd = r->out, .events = POLLIN } };
      int64_t left = deadline < 0 ? -1 : deadline - hutch_now_ms ();
      int n;

      if (deadline >= 0 && left <= 0)
        {
          /* The whole group: a shell script's children too.  */
          kill (-r->pid, SIGKILL);
          if (reap (r->pid, &status, err) < 0)
            return -1;
          return hutch_error_set (err, 0, "%s timed out after %d s", r->where, r->hook->timeout);
        }
      n = poll (p, 3, left < 0 ? -1 : (int)(left > INT_MAX ? INT_MAX : left));
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          kill (-r->pid, SIGKILL);
          hutch_error_set (err, errno, "%s: poll", r->where);
          reap (r->pid, &status, NULL);
          return -1;
        }
      if (r->in >= 0 && p[1].revents)
        write_state (r);
      if (r->out >= 0 && p[2].revents)
        read_output (r);
      if (p[0].revents)
        break;
    }
  /* It ended.  What it wrote before is in the pipe; a process it left
     behind may hold the pipe open and write on: take a bounded amount and
     stop, so that such a daemon cannot hold the runtime (nor, through
     it, an engine that waits for the runtime's output to end).  */
  for (drained = 0; r->out >= 0 && drained < 64; drained++)
    if (read_output (r) <= 0)
      break;
  if (reap (r->pid, &status, err) < 0)
    return -1;
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    {
      size_t len = tail_trimmed (r);
      if (len > 0)
        hutch_log (HUTCH_LOG_DEBUG, "%s said: %s%.*s", r->where, r->truncated ? "..." : "",
                   (int)len, r->tail);
      return 0;
    }
  return fail_status (r, status, err);
}

/* *RET_EPIPE: a SIGPIPE is pending because of this hook.  */
static int
run_one (const struct hutch_hook *h, const char *where, const char *state, bool *ret_epipe,
         hutch_error_t *err)
{
  static char *const no_env[] = { NULL };
  char *const default_argv[] = { h->path, NULL };
  char *const *argv = h->args && h->args[0] ? h->args : default_argv;
  char *const *envp = h->env ? h->env : no_env;
  struct hook_run r = { .hook = h,
                        .where = where,
                        .pid = -1,
                        .pidfd = -1,
                        .in = -1,
                        .out = -1,
                        .state = state,
                        .state_len = strlen (state) };
  int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 }, e = 0, status, ret = -1;
  ssize_t n;

  if (pipe2 (in, O_CLOEXEC) < 0 || pipe2 (out, O_CLOEXEC) < 0 || pipe2 (errp, O_CLOEXEC) < 0)
    {
      hutch_error_set (err, errno, "%s: make its pipes", where);
      goto out_pipes;
    }
  r.pid = fork ();
  if (r.pid < 0)
    {
      hutch_error_set (err, errno, "%s: fork", where);
      goto out_pipes;
    }
  if (r.pid == 0)
    child (h, argv, envp, in[0], out[1], errp[1]);
  r.in = in[1];
  r.out = out[0];
  in[1] = out[0] = -1;
  /* Also from here, so that the group exists before any kill (-pid)
     whichever of the two runs first; EACCES once it has exec'd, when the
     child's own call has done it.  */
  setpgid (r.pid, r.pid);
  close (errp[1]);
  errp[1] = -1;
  do
    n = read (errp[0], &e, sizeof e);
  while (n < 0 && errno == EINTR);
  if (n == (ssize_t)sizeof e)
    {
      reap (r.pid, &status, NULL);
      hutch_error_set (err, e, "%s: cannot execute `%s`", where, h->path);
      goto out_pipes;
    }
  r.pidfd = (int)syscall (SYS_pidfd_open, r.pid, 0);
  if (r.pidfd < 0)
    {
      hutch_error_set (err, errno, "%s: pidfd_open (Linux 5.3)", where);
      kill (-r.pid, SIGKILL);
      reap (r.pid, &status, NULL);
      goto out_pipes;
    }
  if (fcntl (r.in, F_SETFL, O_NONBLOCK) < 0 || fcntl (r.out, F_SETFL, O_NONBLOCK) < 0)
    {
      hutch_error_set (err, errno, "%s: make its pipes non-blocking", where);
      kill (-r.pid, SIGKILL);
      reap (r.pid, &status, NULL);
      goto out_pipes;
    }
  if (r.state_len == 0)
    {
      close (r.in);
      r.in = -1;
    }
  ret = follow (&r, err);
out_pipes:
  run_close (&r);
  for (n = 0; n < 2; n++)
    {
      if (in[n] >= 0)
        close (in[n]);
      if (out[n] >= 0)
        close (out[n]);
      if (errp[n] >= 0)
        close (errp[n]);
    }
  *ret_epipe = r.epipe;
  return ret;
}

int
hutch_hooks_run (const struct hutch_hook *list, size_t n, const char *kind, const char *state_json,
                 hutch_error_t *err)
{
  sigset_t pipe_only, old, pending;
  bool was_pending;
  size_t i;
  int r = 0;

  if (n == 0)
    return 0; /* the usual case: not even the signal mask is touched */
  /* A hook that exits without reading its input leaves a pipe without
     readers: the write gets EPIPE and the kernel sends this thread
     SIGPIPE, whose default would end the runtime.  Blocked here, it stays
     pending and is taken back below (only when it was not pending
     already: then it was not ours).  */
  sigemptyset (&pipe_only);
  sigaddset (&pipe_only, SIGPIPE);
  pthread_sigmask (SIG_BLOCK, &pipe_only, &old);
  sigpending (&pending);
  was_pending = sigismember (&pending, SIGPIPE) == 1;
  for (i = 0; i < n && r >= 0; i++)
    {
      _cleanup_free_ char *where = hutch_xasprintf ("hooks.%s[%zu] (%s)", kind, i, list[i].path);
      bool epipe = false;
      r = run_one (&list[i], where, state_json, &epipe, err);
      if (epipe && !was_pending)
        {
          struct timespec zero = { 0, 0 };
          while (sigtimedwait (&pipe_only, NULL, &zero) < 0 && errno == EINTR)
            ;
        }
    }
  pthread_sigmask (SIG_SETMASK, &old, NULL);
  return r;
}

int
hutch_hooks_run_spec (const struct hutch_spec *spec, int kind, const char *status, pid_t pid,
                      hutch_error_t *err)
{
  const struct hutch_hook_list *l;
  _cleanup_free_ char *state = NULL;

  if (spec->hooks == NULL || kind < 0 || kind >= HUTCH_HOOK_COUNT)
    return 0;
  l = &spec->hooks->kind[kind];
  if (l->n == 0)
    return 0;
  state = hutch_hooks_state_json (spec->extra.oci_id ? spec->extra.oci_id : "", status, pid,
                                  spec->extra.oci_bundle ? spec->extra.oci_bundle : "",
                                  spec->annotations, spec->n_annotations);
  return hutch_hooks_run (l->hooks, l->n, hutch_hook_kind_name (kind), state, err);
}

void
hutch_hooks_run_late (const struct hutch_spec *spec, int kind, const char *status, pid_t pid)
{
  hutch_error_t e = HUTCH_ERROR_INIT;
  if (hutch_hooks_run_spec (spec, kind, status, pid, &e) < 0)
    hutch_log (HUTCH_LOG_WARNING, "%s", e.msg);
  hutch_error_clear (&e);
}
