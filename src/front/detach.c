/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "front/detach.h"
#include "base/log.h"
#include "base/parse.h"
#include "base/paths.h"
#include "base/signame.h"
#include "base/util.h"
#include "runtime/cgroup.h"
#include "runtime/container.h"
#include "runtime/hooks.h"
#include "runtime/resources.h"
#include "runtime/sdscope.h"
#include "runtime/specjson.h"
#include "runtime/state.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the record's settings ------------------------------------------ */

static int
parse_restart (const char *v, struct hutch_ctr *c, hutch_error_t *err)
{
  unsigned int n = 0;
  if (v == NULL || strcmp (v, "no") == 0)
    c->restart = HUTCH_RESTART_NO;
  else if (strcmp (v, "always") == 0)
    c->restart = HUTCH_RESTART_ALWAYS;
  else if (strcmp (v, "unless-stopped") == 0)
    c->restart = HUTCH_RESTART_UNLESS_STOPPED;
  else if (strcmp (v, "on-failure") == 0
           || (strncmp (v, "on-failure:", 11) == 0 && hutch_parse_u32 (v + 11, &n) == 0))
    {
      c->restart = HUTCH_RESTART_ON_FAILURE;
      c->restart_max = n;
    }
  else
    return hutch_error_set (err, 0,
                            "--restart `%s`: expected no, on-failure[:MAX], always or "
                            "unless-stopped",
                            v);
  return 0;
}

static int
parse_log (const struct hutch_run_options *o, struct hutch_ctr *c, hutch_error_t *err)
{
  size_t i;
  const char *d = o->log_driver ? o->log_driver : "k8s-file";

  if (strcmp (d, "k8s-file") == 0)
    c->log_driver = HUTCH_LOG_K8S_FILE;
  else if (strcmp (d, "none") == 0)
    c->log_driver = HUTCH_LOG_NONE;
  else if (strcmp (d, "passthrough") == 0)
    c->log_driver = HUTCH_LOG_PASSTHROUGH;
  else
    return hutch_error_set (err, 0, "--log-driver `%s`: expected k8s-file, none or passthrough", d);
  c->log_max_size = HUTCH_LOG_DEFAULT_MAX_SIZE;
  c->log_max_file = HUTCH_LOG_DEFAULT_MAX_FILE;
  for (i = 0; o->log_opts && o->log_opts[i]; i++)
    {
      const char *v = o->log_opts[i];
      int64_t size;
      unsigned int n;
      if (c->log_driver != HUTCH_LOG_K8S_FILE)
        return hutch_error_set (err, 0, "--log-opt `%s`: only the k8s-file log driver has options",
                                v);
      if (strcmp (v, "max-size=-1") == 0)
        c->log_max_size = 0;
      else if (strncmp (v, "max-size=", 9) == 0 && hutch_parse_bytes (v + 9, &size) == 0
               && size >= 0)
        c->log_max_size = (unsigned long long)size;
      else if (strncmp (v, "max-file=", 9) == 0 && hutch_parse_u32 (v + 9, &n) == 0 && n >= 1)
        c->log_max_file = n;
      else
        return hutch_error_set (err, 0,
                                "--log-opt `%s`: expected max-size=SIZE (e.g. 10m; -1: no "
                                "bound) or max-file=N (N >= 1)",
                                v);
    }
  if (c->log_max_size != 0 && c->log_max_size < 4096)
    return hutch_error_set (err, 0, "--log-opt max-size: at least 4k, so that a line fits");
  return 0;
}

/* docker's form: ctrl-X, a letter or one of @[\]^_ after ctrl-, or one
   character, comma-separated.  */
int
hutch_detach_keys_parse (const char *spec, unsigned char *ret, size_t *ret_n, hutch_error_t *err)
{
  _cleanup_free_ char *copy = hutch_xstrdup (spec);
  char *tok, *save = NULL;
  size_t n = 0;

  for (tok = strtok_r (copy, ",", &save); tok; tok = strtok_r (NULL, ",", &save))
    {
      unsigned char k;
      if (n == 16)
        return hutch_error_set (err, 0, "--detach-keys `%s`: at most 16 keys", spec);
      if (strncmp (tok, "ctrl-", 5) == 0 && strlen (tok) == 6)
        {
          char ch = tok[5];
          if (ch >= 'a' && ch <= 'z')
            k = (unsigned char)(ch - 'a' + 1);
          else if (ch == '@' || ch == '[' || ch == '\\' || ch == ']' || ch == '^' || ch == '_')
            k = (unsigned char)(ch == '@' ? 0 : ch - '[' + 27);
          else
            goto bad;
        }
      else if (strlen (tok) == 1)
        k = (unsigned char)tok[0];
      else
        goto bad;
      ret[n++] = k;
    }
  if (n == 0 && *spec)
    goto bad;
  *ret_n = n;
  return 0;
bad:
  return hutch_error_set (err, 0,
                          "--detach-keys `%s`: expected keys such as ctrl-p,ctrl-q (ctrl- with "
                          "a-z, @, [, \\, ], ^ or _; or single characters), or \"\" for none",
                          spec);
}

int
hutch_ctr_options (const struct hutch_run_options *o, struct hutch_ctr *c, hutch_error_t *err)
{
  c->rm = o->rm;
  c->tty = o->tty;
  c->interactive = o->interactive;
  c->detach = o->detach;
  if (parse_restart (o->restart, c, err) < 0 || parse_log (o, c, err) < 0)
    return -1;
  if (c->rm && c->restart != HUTCH_RESTART_NO)
    return hutch_error_set (err, 0,
                            "--rm and --restart %s conflict: a container removed when it ends "
                            "cannot be started again; choose one",
                            o->restart);
  if (c->restart != HUTCH_RESTART_NO && !o->detach)
    return hutch_error_set (err, 0,
                            "--restart applies to containers that a monitor holds: add -d (or "
                            "use `hutch create` and `hutch start`)");
  if (o->detach_keys)
    {
      unsigned char keys[16];
      size_t n;
      if (hutch_detach_keys_parse (o->detach_keys, keys, &n, err) < 0)
        return -1;
      c->detach_keys = hutch_xstrdup (o->detach_keys);
    }
  if (o->log_driver && !o->detach && c->log_driver != HUTCH_LOG_PASSTHROUGH)
    {
      /* A foreground container's output goes to the terminal as it
         always did; recording it too is for the monitor.  */
      c->log_driver = HUTCH_LOG_PASSTHROUGH;
    }
  if (!o->detach)
    c->log_driver = HUTCH_LOG_PASSTHROUGH;
  return 0;
}

/* ---- after the spec ------------------------------------------------- */

static int
touch (const char *dir, const char *name, hutch_error_t *err)
{
  _cleanup_free_ char *p = hutch_xasprintf ("%s/%s", dir, name);
  int fd = open (p, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return hutch_error_set (err, errno, "create `%s`", p);
  close (fd);
  return 0;
}

/* config.json and seccomp.bpf (runtime/specjson.h), what exec enters
   the container with.  */
static int
save_config (const struct hutch_ctr *c, const struct hutch_spec *spec, hutch_error_t *err)
{
  _cleanup_close_ int dirfd = open (c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    return hutch_error_set (err, errno, "open `%s`", c->dir);
  return hutch_spec_save (spec, dirfd, err);
}

int
hutch_ctr_prepared (struct hutch_ctr *c, struct hutch_spec *spec, hutch_error_t *err)
{
  size_t i;

  free (c->image_id);
  c->image_id = spec->extra.image_id ? hutch_xstrdup (spec->extra.image_id) : NULL;
  hutch_strv_free (c->command);
  c->command = hutch_strv_dup (spec->args);
  c->stop_signal = spec->extra.stop_signal;
  c->stop_timeout = spec->extra.stop_timeout;
  hutch_kv_free (c->labels, c->n_labels);
  c->labels = NULL;
  c->n_labels = 0;
  for (i = 0; i < spec->extra.n_labels; i++)
    hutch_kv_set (&c->labels, &c->n_labels, spec->extra.labels[i].key, spec->extra.labels[i].value);
  /* The record names the anonymous volumes: hutch rm -v removes them,
     and so does the next command for a --rm container whose hutch was
     killed.  A container that outlives the run keeps them; one with --rm
     (or a monitor's) has them removed by whoever ends it.  */
  if (spec->extra.drop_volumes)
    {
      hutch_strv_free (c->anon_volumes);
      c->anon_volumes = hutch_xmalloc0 (sizeof (char *));
      for (i = 0; spec->extra.drop_volumes[i]; i++)
        hutch_strv_push (&c->anon_volumes,
                         hutch_xstrdup (strrchr (spec->extra.drop_volumes[i], '/') + 1));
      if (spec->extra.keep_container_dir || spec->extra.detach)
        {
          hutch_strv_free (spec->extra.drop_volumes);
          spec->extra.drop_volumes = NULL;
        }
    }
  if (hutch_ctr_save (c, err) < 0 || save_config (c, spec, err) < 0
      || touch (c->dir, "started", err) < 0)
    return -1;
  return 0;
}

/* ---- state ---------------------------------------------------------- */

static void
running_state (struct hutch_state *st, struct hutch_container *ct, pid_t holder)
{
  struct hutch_container_state cs;
  size_t i;

  hutch_container_state (ct, &cs);
  st->status = HUTCH_STATE_RUNNING;
  st->pid = cs.pid;
  st->pid_start = hutch_state_pid_start (cs.pid);
  st->monitor = holder;
  st->monitor_start = hutch_state_pid_start (holder);
  hutch_state_boot_id (st->boot_id);
  st->exit_code = -1;
  st->oom = false;
  st->stop_requested = false;
  st->started = hutch_state_now ();
  st->finished = 0;
  free (st->error);
  st->error = NULL;
  free (st->cgroup);
  st->cgroup = cs.cgroup_path ? hutch_xstrdup (cs.cgroup_path) : NULL;
  free (st->ports);
  st->ports = NULL;
  for (i = 0; cs.ports && cs.ports[i]; i++)
    {
      char *p = hutch_xasprintf ("%s%s%s", st->ports ? st->ports : "", i ? ", " : "", cs.ports[i]);
      free (st->ports);
      st->ports = p;
    }
}

/* The state before a start: what a restart keeps (the count).  */
static void
previous_state (const struct hutch_ctr *c, struct hutch_state *st)
{
  hutch_error_t e = HUTCH_ERROR_INIT;
  if (hutch_ctr_state (c, st, &e) < 0)
    hutch_state_init (st);
  hutch_error_clear (&e);
}

static void
exited_state (int rfd, struct hutch_state *st, int code, const char *why)
{
  hutch_error_t e = HUTCH_ERROR_INIT;
  st->status = HUTCH_STATE_EXITED;
  st->exit_code = code;
  st->finished = hutch_state_now ();
  free (st->error);
  st->error = why ? hutch_xstrdup (why) : NULL;
  if (hutch_state_write (rfd, st, &e) < 0)
    hutch_log (HUTCH_LOG_WARNING, "%s", e.msg);
  hutch_error_clear (&e);
}

int
hutch_ctr_run (struct hutch_ctr *c, const struct hutch_spec *spec, int *ret_status,
               hutch_error_t *err)
{
  struct hutch_container *ct = NULL;
  struct hutch_state st;
  _cleanup_close_ int rfd = hutch_ctr_rundir_open (c, err);
  int r;

  if (rfd < 0)
    return -1;
  previous_state (c, &st);
  if (hutch_container_create (spec, &ct, err) < 0)
    {
      int code = err->exit_code ? err->exit_code : HUTCH_EXIT_ERROR;
      exited_state (rfd, &st, code, err->msg);
      hutch_state_clear (&st);
      /* Interrupted during setup: end quietly, as the process would
         have.  */
      if (err->errnum == EINTR && err->exit_code > 128)
        {
          *ret_status = err->exit_code;
          hutch_error_clear (err);
          return 0;
        }
      return -1;
    }
  r = hutch_container_start (ct, err);
  if (r == 0)
    {
      hutch_error_t e = HUTCH_ERROR_INIT;
      running_state (&st, ct, getpid ());
      hutch_state_flag (rfd, HUTCH_STATE_FLAG_STOP, false);
      hutch_state_flag (rfd, HUTCH_STATE_FLAG_PAUSED, false);
      if (hutch_state_write (rfd, &st, &e) < 0)
        hutch_log (HUTCH_LOG_WARNING, "%s", e.msg);
      /* After the state: a sweep that finds the mark finds it running.  */
      hutch_ctr_mark_live (c, true);
      hutch_error_clear (&e);
      hutch_hooks_run_late (spec, HUTCH_HOOK_POSTSTART, "running", st.pid);
      r = hutch_container_wait (ct, ret_status, err);
    }
  else if (err->errnum == EINTR && err->exit_code > 128)
    {
      *ret_status = err->exit_code;
      hutch_error_clear (err);
      r = 0;
    }
  hutch_container_delete (ct);
  hutch_hooks_run_late (spec, HUTCH_HOOK_POSTSTOP, "stopped", 0);
  {
    /* hutch stop may have asked for this end: keep what it wrote.  */
    struct hutch_state now;
    hutch_error_t e = HUTCH_ERROR_INIT;
    if (hutch_state_read (rfd, &now, &e) == 0 && now.stop_requested)
      st.stop_requested = true;
    hutch_state_clear (&now);
    hutch_error_clear (&e);
  }
  exited_state (rfd, &st, r == 0 ? *ret_status : (err->exit_code ? err->exit_code : 125),
                r == 0 ? NULL : err->msg);
  hutch_ctr_mark_live (c, false);
  hutch_state_clear (&st);
  return r;
}

/* ---- under a monitor ------------------------------------------------ */

/* The output's way to the monitor, set up as this process's stdio before
   the container is made (its processes inherit them).  */
struct outputs
{
  int out_r, err_r; /* read ends the monitor reads, or -1 */
  int in_w;         /* the write end of the container's stdin, or -1 */
};

static int
dup_to (int fd, int target)
{
  if (fd == target)
    {
      int fl = fcntl (fd, F_GETFD);
      return fl < 0 ? -1 : fcntl (fd, F_SETFD, fl & ~FD_CLOEXEC);
    }
  return dup2 (fd, target) < 0 ? -1 : 0;
}

static int
set_stdio (const struct hutch_ctr *c, const struct hutch_spec *spec, struct outputs *o,
           hutch_error_t *err)
{
  int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
  int p[2];

  o->out_r = o->err_r = o->in_w = -1;
  if (null < 0)
    return hutch_error_set (err, errno, "open /dev/null");
  /* stdin: a pipe the monitor feeds from attach with -i, else nothing.  */
  if (c->interactive && !spec->terminal)
    {
      if (pipe2 (p, O_CLOEXEC) < 0 || dup_to (p[0], 0) < 0)
        return hutch_error_set (err, errno, "pipe");
      close (p[0]);
      o->in_w = p[1];
    }
  else if (dup_to (null, 0) < 0)
    return hutch_error_set (err, errno, "dup2");
  if (spec->terminal || c->log_driver == HUTCH_LOG_NONE)
    {
      /* With a terminal the container's stdio is the pty, which the
         container makes; the monitor gets its master.  */
      if (dup_to (null, 1) < 0 || dup_to (null, 2) < 0)
        return hutch_error_set (err, errno, "dup2");
    }
  else if (c->log_driver == HUTCH_LOG_K8S_FILE)
    {
      int q[2];
      if (pipe2 (p, O_CLOEXEC) < 0 || pipe2 (q, O_CLOEXEC) < 0 || dup_to (p[1], 1) < 0
          || dup_to (q[1], 2) < 0)
        return hutch_error_set (err, errno, "pipe");
      close (p[1]);
      close (q[1]);
      o->out_r = p[0];
      o->err_r = q[0];
    }
  /* passthrough: the container writes to what hutch was given.  */
  close (null);
  return 0;
}

/* What became of the start, from the process that becomes the monitor
   to the one that waits for it: "" for success, else the error.  */
static void
report (int fd, const hutch_error_t *e)
{
  _cleanup_free_ char *msg
      = e ? hutch_xasprintf ("%d %d %s", e->exit_code ? e->exit_code : HUTCH_EXIT_ERROR, e->errnum,
                             e->msg ? e->msg : "the container did not start")
          : hutch_xstrdup ("ok");
  if (fd >= 0)
    hutch_write_all (fd, msg, strlen (msg));
}

static int
read_report (int fd, pid_t child, hutch_error_t *err)
{
  _cleanup_free_ char *text = NULL;
  int code = 0, errnum = 0, n = 0;

  if (hutch_read_fd (fd, 64 * 1024, &text, NULL, err) < 0)
    return -1;
  if (strcmp (text, "ok") == 0)
    return 0;
  if (sscanf (text, "%d %d %n", &code, &errnum, &n) >= 2 && n > 0)
    {
      hutch_error_set_exit (err, code, 0, "%s", text + n);
      err->errnum = errnum;
      return -1;
    }
  (void)child;
  return hutch_error_set (err, 0, "the container's monitor ended before the container started");
}

static void
push_fd (char ***argv, const char *opt, int fd)
{
  if (fd < 0)
    return;
  hutch_strv_push (argv, hutch_xstrdup (opt));
  hutch_strv_push (argv, hutch_xasprintf ("%d", fd));
}

static void
push_str (char ***argv, const char *opt, const char *v)
{
  if (v == NULL)
    return;
  hutch_strv_push (argv, hutch_xstrdup (opt));
  hutch_strv_push (argv, hutch_xstrdup (v));
}

static const char *
restart_arg (const struct hutch_ctr *c, char buf[32])
{
  switch (c->restart)
    {
    case HUTCH_RESTART_ON_FAILURE:
      snprintf (buf, 32, "on-failure:%u", c->restart_max);
      return buf;
    case HUTCH_RESTART_ALWAYS:
      return "always";
    case HUTCH_RESTART_UNLESS_STOPPED:
      return "unless-stopped";
    default:
      return "no";
    }
}

/* The monitor's command line (helpers/monitor/monitor.c has the
   contract).  */
static char **
monitor_argv (const struct hutch_ctr *c, const char *monitor, int rfd,
              const struct hutch_container_handoff *h, const struct outputs *o,
              char *const *self_args)
{
  char **argv = hutch_xmalloc0 (sizeof (char *));
  static const char *const drivers[] = { "k8s-file", "none", "passthrough" };
  char buf[32];
  size_t i;

  hutch_strv_push (&argv, hutch_xstrdup (monitor));
  push_str (&argv, "--id", c->id);
  push_fd (&argv, "--rundir-fd", rfd);
  push_fd (&argv, "--pid", h->b);
  push_fd (&argv, "--a", h->a);
  push_fd (&argv, "--watch-fd", h->watch_fd);
  push_fd (&argv, "--slirp-pidfd", h->slirp_pidfd);
  if (h->pty_master >= 0)
    {
      push_fd (&argv, "--pty-fd", h->pty_master);
      /* With -t -i, what attach types goes into the terminal.  */
      if (c->interactive)
        push_fd (&argv, "--stdin-fd", h->pty_master);
    }
  else
    {
      push_fd (&argv, "--stdout-fd", o->out_r);
      push_fd (&argv, "--stderr-fd", o->err_r);
      push_fd (&argv, "--stdin-fd", o->in_w);
    }
  push_str (&argv, "--log-driver", drivers[c->log_driver]);
  if (c->log_driver == HUTCH_LOG_K8S_FILE)
    {
      _cleanup_free_ char *log = hutch_xasprintf ("%s/ctr.log", c->dir);
      push_str (&argv, "--log", log);
      snprintf (buf, sizeof buf, "%llu", c->log_max_size);
      push_str (&argv, "--log-max-size", buf);
      snprintf (buf, sizeof buf, "%u", c->log_max_file);
      push_str (&argv, "--log-max-file", buf);
    }
  if (h->cgroup_path)
    {
      push_str (&argv, "--cgroup", h->cgroup_path);
      if (h->cgroup_leaf)
        {
          _cleanup_free_ char *list = hutch_xstrdup ("");
          push_str (&argv, "--cgroup-base", h->cgroup_base);
          push_str (&argv, "--cgroup-leaf", h->cgroup_leaf);
          for (i = 0; h->cgroup_enabled && h->cgroup_enabled[i]; i++)
            {
              char *n = hutch_xasprintf ("%s%s%s", list, i ? "," : "", h->cgroup_enabled[i]);
              free (list);
              list = n;
            }
          if (*list)
            push_str (&argv, "--cgroup-enabled", list);
        }
    }
  push_str (&argv, "--restart", restart_arg (c, buf));
  if (c->rm)
    hutch_strv_push (&argv, hutch_xstrdup ("--rm"));
  hutch_strv_push (&argv, hutch_xstrdup ("--"));
  for (i = 0; self_args[i]; i++)
    hutch_strv_push (&argv, hutch_xstrdup (self_args[i]));
  return argv;
}

static int
keep_fd (int fd)
{
  int fl = fd >= 0 ? fcntl (fd, F_GETFD) : 0;
  return fd >= 0 && (fl < 0 || fcntl (fd, F_SETFD, fl & ~FD_CLOEXEC) < 0) ? -1 : 0;
}

/* Where a user manager runs, the monitor goes into a scope of its own: a
   login session's scope is stopped at logout with everything in it.
   Where it does not (su, ssh without lingering, Slurm), the new session
   already keeps it from the terminal's hangup.  */
static void
own_scope (const struct hutch_ctr *c)
{
  _cleanup_free_ char *unit = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;

  if (!hutch_sdscope_available ())
    return;
  unit = hutch_xasprintf ("hutch-monitor-%.12s.scope", c->id);
  if (hutch_sdscope_enter (unit, &e) < 0)
    hutch_log (HUTCH_LOG_DEBUG, "no scope of its own for the monitor: %s", e.msg);
  hutch_error_clear (&e);
}

/* Become the monitor: make and start the container (this process is its
   parent), write its state, then exec the monitor.  Returns only on
   failure; REPORT_FD (or -1) hears how the start went.  */
static int
become_monitor (struct hutch_ctr *c, struct hutch_spec *spec, const char *monitor,
                char *const *self_args, int report_fd, hutch_error_t *err)
{
  struct hutch_container *ct = NULL;
  struct hutch_container_handoff h;
  struct outputs o;
  struct hutch_state st;
  _cleanup_strv_ char **argv = NULL;
  int rfd = -1, null;
  size_t i;

  previous_state (c, &st);
  rfd = hutch_ctr_rundir_open (c, err);
  if (rfd < 0 || set_stdio (c, spec, &o, err) < 0 || hutch_container_create (spec, &ct, err) < 0)
    goto fail;
  if (hutch_container_start (ct, err) < 0 || hutch_container_handoff (ct, &h, err) < 0)
    goto fail;
  running_state (&st, ct, getpid ());
  hutch_state_flag (rfd, HUTCH_STATE_FLAG_STOP, false);
  hutch_state_flag (rfd, HUTCH_STATE_FLAG_PAUSED, false);
  if (hutch_state_write (rfd, &st, err) < 0)
    goto fail;
  hutch_ctr_mark_live (c, true);
  /* poststart before the hand-over; poststop cannot be run for a
     container under a monitor (front/runflags.c refuses it).  */
  hutch_hooks_run_late (spec, HUTCH_HOOK_POSTSTART, "running", st.pid);
  /* Only the monitor may hold the output pipes' write ends: the log ends
     when the container's processes close theirs.  */
  null = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0)
    {
      dup2 (null, 0);
      if (c->log_driver != HUTCH_LOG_PASSTHROUGH)
        {
          dup2 (null, 1);
          dup2 (null, 2);
        }
      close (null);
    }
  argv = monitor_argv (c, monitor, rfd, &h, &o, self_args);
  /* The locks of the container's directory and volumes stay held by the
     monitor while the container runs.  */
  keep_fd (spec->extra.container_lockfd);
  for (i = 0; i < spec->extra.n_volume_lockfds; i++)
    keep_fd (spec->extra.volume_lockfds[i]);
  if (keep_fd (rfd) < 0 || keep_fd (o.out_r) < 0 || keep_fd (o.err_r) < 0 || keep_fd (o.in_w) < 0)
    {
      hutch_error_set (err, errno, "hand the container to its monitor");
      goto fail;
    }
  /* The monitor takes its signals through a signalfd: blocked across the
     exec (they were since the container's create; said again here), so
     that none that comes meanwhile is lost.  B exists already, with the
     mask it should have.  */
  {
    sigset_t mask;
    sigemptyset (&mask);
    sigaddset (&mask, SIGCHLD);
    sigaddset (&mask, SIGTERM);
    sigaddset (&mask, SIGINT);
    sigaddset (&mask, SIGHUP);
    sigaddset (&mask, SIGQUIT);
    sigprocmask (SIG_BLOCK, &mask, NULL);
  }
  report (report_fd, NULL);
  if (report_fd >= 0)
    close (report_fd);
  execv (monitor, argv);
  /* Too late to say it to the one who started it: the state says it.  */
  hutch_error_set (err, errno, "run the monitor `%s`", monitor);
  hutch_container_delete (ct);
  exited_state (rfd, &st, HUTCH_EXIT_ERROR, err->msg);
  hutch_state_clear (&st);
  return -1;

fail:
  if (ct)
    hutch_container_delete (ct);
  if (rfd >= 0)
    exited_state (rfd, &st, err->exit_code ? err->exit_code : HUTCH_EXIT_ERROR, err->msg);
  hutch_state_clear (&st);
  report (report_fd, err);
  return -1;
}

int
hutch_ctr_launch (struct hutch_ctr *c, struct hutch_spec *spec, const char *monitor,
                  char *const *self_args, bool do_fork, hutch_error_t *err)
{
  int p[2];
  pid_t pid;

  if (hutch_container_check_helper (monitor, err) < 0)
    return -1;
  if (!do_fork)
    return become_monitor (c, spec, monitor, self_args, -1, err);
  /* Without a user manager the monitor shares this process's cgroup
     until this process ends (with one, it gets a scope of its own).  */
  if (!hutch_sdscope_available ())
    hutch_cgroup_launcher_leaf (spec);
  if (pipe2 (p, O_CLOEXEC) < 0)
    return hutch_error_set (err, errno, "pipe");
  pid = fork ();
  if (pid < 0)
    {
      close (p[0]);
      close (p[1]);
      return hutch_error_set (err, errno, "fork");
    }
  if (pid == 0)
    {
      hutch_error_t e = HUTCH_ERROR_INIT;
      close (p[0]);
      /* A session of its own: the terminal's hangup, ^C to the shell's
         job and the end of an ssh session do not reach it.  A subreaper:
         what the container leaves orphaned outside its PID namespace
         comes back to it, not to init.  */
      setsid ();
      prctl (PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
      /* Only what the container needs goes on: a caller's fd left open
         (a pipe of a shell's $(...), bats's fd 3, a CI job's log) would
         be held for as long as the container runs.  */
      {
        size_t n = 0, i;
        int *keep = hutch_xmalloc0 ((spec->extra.n_volume_lockfds + 3) * sizeof (int));
        keep[n++] = p[1];
        if (spec->extra.container_lockfd >= 0)
          keep[n++] = spec->extra.container_lockfd;
        /* the squashfs image file, which squashfuse gets from A */
        if (spec->extra.squash)
          keep[n++] = spec->extra.squash->fd;
        for (i = 0; i < spec->extra.n_volume_lockfds; i++)
          keep[n++] = spec->extra.volume_lockfds[i];
        hutch_close_all_but (keep, n);
        free (keep);
      }
      own_scope (c);
      become_monitor (c, spec, monitor, self_args, p[1], &e);
      _exit (HUTCH_EXIT_ERROR);
    }
  close (p[1]);
  {
    int r = read_report (p[0], pid, err);
    close (p[0]);
    if (r < 0)
      {
        /* It ends right after a failed start: reap it.  */
        while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
          ;
      }
    return r;
  }
}

/* ---- other commands' part ------------------------------------------- */

/* A pidfd of the container's first process when it still is the one the
   state names, else -1 (ESRCH).  */
static int
open_pid (const struct hutch_state *st)
{
  int fd;
  if (st->pid <= 0)
    {
      errno = ESRCH;
      return -1;
    }
  fd = (int)syscall (SYS_pidfd_open, st->pid, 0);
  if (fd < 0)
    return -1;
  /* Checked after the pidfd exists: from now on the pid cannot be
     reused under us.  */
  if (!hutch_state_pid_alive (st->pid, st->pid_start))
    {
      close (fd);
      errno = ESRCH;
      return -1;
    }
  return fd;
}

static bool
is_running (const struct hutch_state *st)
{
  return st->status == HUTCH_STATE_RUNNING || st->status == HUTCH_STATE_PAUSED;
}

int
hutch_ctr_kill (struct hutch_ctr *c, int sig, hutch_error_t *err)
{
  struct hutch_state st;
  int fd, r = 0;

  if (hutch_ctr_state (c, &st, err) < 0)
    return -1;
  if (!is_running (&st) || (fd = open_pid (&st)) < 0)
    {
      hutch_state_clear (&st);
      return hutch_error_set_exit (err, HUTCH_EXIT_ERROR, ESRCH,
                                   "container %s is not running (see `hutch ps -a`)", c->name);
    }
  if (syscall (SYS_pidfd_send_signal, fd, sig, NULL, 0) < 0)
    r = hutch_error_set (err, errno, "signal container %s", c->name);
  close (fd);
  hutch_state_clear (&st);
  return r;
}

/* Wait until the state says the container ended after STARTED (its
   holder wrote it), at most TIMEOUT_MS (-1: forever).  */
static int
wait_exited (const struct hutch_ctr *c, long long started, int timeout_ms, int *ret_code,
             hutch_error_t *err)
{
  int waited = 0, step = 2;
  for (;;)
    {
      struct hutch_state st;
      if (hutch_ctr_state (c, &st, err) < 0)
        return -1;
      if (st.status == HUTCH_STATE_EXITED && (st.started != started || st.finished != 0))
        {
          *ret_code = st.exit_code;
          hutch_state_clear (&st);
          return 0;
        }
      if (st.status == HUTCH_STATE_CREATED && started == 0)
        {
          hutch_state_clear (&st);
          return hutch_error_set (err, 0, "container %s was never started", c->name);
        }
      hutch_state_clear (&st);
      if (timeout_ms >= 0 && waited >= timeout_ms)
        return hutch_error_set_exit (err, HUTCH_EXIT_ERROR, ETIMEDOUT,
                                     "container %s did not end within %d s", c->name,
                                     timeout_ms / 1000);
      poll (NULL, 0, step);
      waited += step;
      if (step < 50)
        step *= 2;
    }
}

int
hutch_ctr_wait (struct hutch_ctr *c, int *ret_code, hutch_error_t *err)
{
  struct hutch_state st;
  long long started;

  if (hutch_ctr_state (c, &st, err) < 0)
    return -1;
  started = st.started;
  if (st.status == HUTCH_STATE_EXITED)
    {
      *ret_code = st.exit_code;
      hutch_state_clear (&st);
      return 0;
    }
  hutch_state_clear (&st);
  return wait_exited (c, started, -1, ret_code, err);
}

int
hutch_ctr_stop (struct hutch_ctr *c, int timeout, hutch_error_t *err)
{
  struct hutch_state st;
  _cleanup_close_ int rfd = -1;
  int fd, code, sig = c->stop_signal > 0 ? c->stop_signal : SIGTERM;
  bool running, waiting;
  struct pollfd pfd;

  /* -1 (--stop-timeout -1): no SIGKILL, as docker's.  */
  if (timeout < 0)
    timeout = c->stop_timeout;
  if (hutch_ctr_state (c, &st, err) < 0)
    return -1;
  running = is_running (&st);
  /* Ended, but its monitor waits to start it again (the restart
     policy's back-off): that restart is what to stop.  */
  waiting = !running && st.status == HUTCH_STATE_EXITED
            && hutch_state_pid_alive (st.monitor, st.monitor_start);
  if (!running && !waiting)
    {
      hutch_state_clear (&st);
      return 0;
    }
  /* Said before the signal: the holder reads it when the container ends,
     and does not start it again.  */
  rfd = hutch_ctr_rundir_open (c, err);
  if (rfd < 0 || hutch_state_flag (rfd, HUTCH_STATE_FLAG_STOP, true) < 0)
    {
      hutch_state_clear (&st);
      return rfd < 0 ? -1 : hutch_error_set (err, errno, "stop container %s", c->name);
    }
  if (waiting)
    {
      /* SIGTERM cancels the monitor's back-off; through a pidfd checked
         by its start time, as every signal hutch sends.  */
      struct hutch_state mon = st;
      mon.pid = st.monitor;
      mon.pid_start = st.monitor_start;
      fd = open_pid (&mon);
      if (fd >= 0)
        {
          syscall (SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0);
          pfd = (struct pollfd){ fd, POLLIN, 0 };
          while (poll (&pfd, 1, 10000) < 0 && errno == EINTR)
            ;
          close (fd);
        }
      hutch_state_clear (&st);
      return 0;
    }
  fd = open_pid (&st);
  if (fd >= 0)
    {
      /* A frozen container cannot act on its stop signal.  */
      if (st.status == HUTCH_STATE_PAUSED)
        sig = SIGKILL;
      syscall (SYS_pidfd_send_signal, fd, sig, NULL, 0);
      pfd = (struct pollfd){ fd, POLLIN, 0 };
      while (poll (&pfd, 1, timeout < 0 ? -1 : timeout * 1000) < 0 && errno == EINTR)
        ;
      if (!(pfd.revents & POLLIN))
        syscall (SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
      close (fd);
    }
  hutch_state_clear (&st);
  /* Its holder writes down the end once the network and the cgroup are
     gone: seconds at most.  */
  return wait_exited (c, 0, 30000, &code, err);
}
