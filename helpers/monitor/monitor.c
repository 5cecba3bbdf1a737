/* SPDX-License-Identifier: GPL-2.0-or-later */

/* hutch-monitor: the parent of a detached container (hutch run -d).

   hutch forks a process M that calls setsid and becomes a child
   subreaper, creates and starts the container with libhutch (so that the
   container's first process B and the watchdog A are M's children),
   writes RUNDIR/state (running, the pids) and executes this program, same
   pid: from then on it is the container's parent, for as long as the
   container runs.

     hutch-monitor --id ID --rundir-fd N --pid B --a A --watch-fd N
        [--slirp-pidfd N]
        [--stdout-fd N --stderr-fd N | --pty-fd N] [--stdin-fd N]
        --log-driver k8s-file|none|passthrough
        [--log PATH --log-max-size BYTES --log-max-file N]
        [--cgroup PATH [--cgroup-base PATH --cgroup-leaf PATH --cgroup-enabled c1,c2]]
        [--restart no|on-failure[:N]|always|unless-stopped] [--rm]
        [-- HUTCH ARGS...]

   What it does:
   - copies B's output (pipes, or a terminal's master) to the k8s-file
     log (log.c) and to the clients of RUNDIR/attach (attach.c), and
     their input to B's stdin;
   - reaps every child (a subreaper: orphans of the container come here
     with --pid host); SIGTERM, SIGINT and SIGQUIT stop the container
     (SIGTERM to B: systemd stopping a scope sends SIGTERM) and cancel a
     restart; SIGHUP (the terminal that started hutch went away) and
     SIGPIPE are ignored;
   - when B has ended: the rest of its output (200 ms at most: a process
     of the host's PID namespace may keep a pipe open), OOM kills, the
     network helper stopped, the watch pipe closed (A then unmounts and
     removes the container's directory) and A reaped, the cgroup removed
     (cgroup.c), and RUNDIR/state written: exited, its exit code;
   - then, by the restart policy, after a back-off, or with --rm, executes
     HUTCH ARGS with HUTCH_MONITOR_ACTION=restart or remove (and
     HUTCH_MONITOR_BACKOFF_MS, the back-off it waited, which the next
     monitor doubles when the container ran less than 10 s).

   It stays small (resident memory well under 1 MB): linked statically,
   no allocation while it copies output, static buffers, no stdio on that
   path.  It never prints (its stdio are /dev/null): what went wrong goes
   into the state's `error`.

   Trust: it runs as the user, in the host's namespaces, with nothing the
   user does not have.  Its arguments come from hutch.  B's output is
   hostile data: it is copied, never parsed, in bounded pieces, and
   nothing B does (writing without end, not reading its stdin, keeping
   its pipes open) can block the monitor or make it grow.  Attach clients
   must be the user's (attach.c).  The cgroup below the container's may
   have been shaped by the container (cgroup.c).  If the monitor dies,
   even by SIGKILL, the watch pipe closes and A kills the container.  */

#include <config.h>

#include "monitor.h"
#include "runtime/attach.h"
#include "runtime/state.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

enum restart
{
  RESTART_NO,
  RESTART_ON_FAILURE,
  RESTART_ALWAYS,
  RESTART_UNLESS_STOPPED,
};

enum log_driver
{
  LOG_UNSET,
  LOG_K8S_FILE,
  LOG_NONE,
  LOG_PASSTHROUGH,
};

static struct
{
  const char *id;
  int rundir_fd, watch_fd, slirp_pidfd;
  pid_t b, a;
  int stdout_fd, stderr_fd, pty_fd, stdin_fd;
  enum log_driver log_driver;
  const char *log;
  unsigned long long log_max_size;
  unsigned int log_max_file;
  const char *cgroup, *cgroup_base, *cgroup_leaf, *cgroup_enabled;
  enum restart restart;
  unsigned int restart_max;
  bool rm;
  char **cmd; /* after --, or NULL */
} o = {
  .rundir_fd = -1,
  .watch_fd = -1,
  .slirp_pidfd = -1,
  .stdout_fd = -1,
  .stderr_fd = -1,
  .pty_fd = -1,
  .stdin_fd = -1,
  .log_max_file = 1,
};

static sigset_t sigs;
static int sfd = -1;
/* B's end: its wait status once reaped.  */
static bool b_alive = true, a_alive = true;
static int b_status;
/* A stop asked by a signal: no restart.  */
static bool stop_signalled;

/* B's output: one or two streams.  */
struct out
{
  int fd;
  char stream; /* HUTCH_ATTACH_STDOUT or HUTCH_ATTACH_STDERR */
};
static struct out outs[2];
static size_t n_outs;

/* Put MSG into the state's error field (the rest as it is).  */
static void
state_error (const char *msg)
{
  struct hutch_state st;
  hutch_error_t err = HUTCH_ERROR_INIT;

  if (o.rundir_fd < 0 || hutch_state_read (o.rundir_fd, &st, &err) < 0)
    {
      hutch_error_clear (&err);
      return;
    }
  free (st.error);
  st.error = hutch_xasprintf ("hutch-monitor: %s", msg);
  if (hutch_state_write (o.rundir_fd, &st, &err) < 0)
    hutch_error_clear (&err);
  hutch_state_clear (&st);
}

/* ---- the command line ------------------------------------------------ */

static bool
parse_int (const char *s, long min, long max, long *ret)
{
  char *end;
  long v;

  errno = 0;
  v = strtol (s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
    return false;
  *ret = v;
  return true;
}

static bool
parse_fd (const char *s, int *ret)
{
  long v;
  if (!parse_int (s, 0, INT_MAX, &v))
    return false;
  *ret = (int)v;
  return true;
}

static bool
parse_restart (const char *s)
{
  long n = 0;

  if (strcmp (s, "no") == 0)
    o.restart = RESTART_NO;
  else if (strcmp (s, "always") == 0)
    o.restart = RESTART_ALWAYS;
  else if (strcmp (s, "unless-stopped") == 0)
    o.restart = RESTART_UNLESS_STOPPED;
  else if (strcmp (s, "on-failure") == 0
           || (strncmp (s, "on-failure:", 11) == 0 && parse_int (s + 11, 0, INT_MAX, &n)))
    {
      o.restart = RESTART_ON_FAILURE;
      o.restart_max = (unsigned int)n;
    }
  else
    return false;
  return true;
}

/* NULL, or what is wrong (into MSG).  */
static const char *
parse_args (int argc, char **argv, char *msg, size_t size)
{
  int i;
  long v;

  for (i = 1; i < argc; i++)
    {
      const char *a = argv[i], *val;
      bool good = true;

      if (strcmp (a, "--") == 0)
        {
          if (i + 1 < argc)
            o.cmd = argv + i + 1;
          break;
        }
      if (strcmp (a, "--rm") == 0)
        {
          o.rm = true;
          continue;
        }
      if (i + 1 >= argc)
        {
          snprintf (msg, size, "%s needs a value", a);
          return msg;
        }
      val = argv[++i];
      if (strcmp (a, "--id") == 0)
        o.id = val;
      else if (strcmp (a, "--rundir-fd") == 0)
        good = parse_fd (val, &o.rundir_fd);
      else if (strcmp (a, "--pid") == 0)
        good = parse_int (val, 1, INT_MAX, &v) && (o.b = (pid_t)v) > 0;
      else if (strcmp (a, "--a") == 0)
        good = parse_int (val, 1, INT_MAX, &v) && (o.a = (pid_t)v) > 0;
      else if (strcmp (a, "--watch-fd") == 0)
        good = parse_fd (val, &o.watch_fd);
      else if (strcmp (a, "--slirp-pidfd") == 0)
        good = parse_int (val, -1, INT_MAX, &v) && ((o.slirp_pidfd = (int)v), true);
      else if (strcmp (a, "--stdout-fd") == 0)
        good = parse_fd (val, &o.stdout_fd);
      else if (strcmp (a, "--stderr-fd") == 0)
        good = parse_fd (val, &o.stderr_fd);
      else if (strcmp (a, "--pty-fd") == 0)
        good = parse_fd (val, &o.pty_fd);
      else if (strcmp (a, "--stdin-fd") == 0)
        good = parse_fd (val, &o.stdin_fd);
      else if (strcmp (a, "--log-driver") == 0)
        {
          if (strcmp (val, "k8s-file") == 0)
            o.log_driver = LOG_K8S_FILE;
          else if (strcmp (val, "none") == 0)
            o.log_driver = LOG_NONE;
          else if (strcmp (val, "passthrough") == 0)
            o.log_driver = LOG_PASSTHROUGH;
          else
            good = false;
        }
      else if (strcmp (a, "--log") == 0)
        o.log = val;
      else if (strcmp (a, "--log-max-size") == 0)
        {
          char *end;
          errno = 0;
          o.log_max_size = strtoull (val, &end, 10);
          good = errno == 0 && end != val && *end == '\0' && val[0] != '-';
        }
      else if (strcmp (a, "--log-max-file") == 0)
        good = parse_int (val, 0, INT_MAX, &v) && ((o.log_max_file = (unsigned int)v), true);
      else if (strcmp (a, "--cgroup") == 0)
        o.cgroup = val;
      else if (strcmp (a, "--cgroup-base") == 0)
        o.cgroup_base = val;
      else if (strcmp (a, "--cgroup-leaf") == 0)
        o.cgroup_leaf = val;
      else if (strcmp (a, "--cgroup-enabled") == 0)
        o.cgroup_enabled = val;
      else if (strcmp (a, "--restart") == 0)
        good = parse_restart (val);
      else
        {
          snprintf (msg, size, "unknown option `%s`", a);
          return msg;
        }
      if (!good)
        {
          snprintf (msg, size, "%s: bad value `%s`", a, val);
          return msg;
        }
    }
  if (o.id == NULL || o.rundir_fd < 0 || o.b <= 0 || o.a <= 0 || o.watch_fd < 0
      || o.log_driver == LOG_UNSET)
    return "--id, --rundir-fd, --pid, --a, --watch-fd and --log-driver are needed";
  if (o.log_driver == LOG_K8S_FILE && o.log == NULL)
    return "--log-driver k8s-file needs --log";
  if (o.pty_fd >= 0 && (o.stdout_fd >= 0 || o.stderr_fd >= 0))
    return "--pty-fd goes without --stdout-fd and --stderr-fd";
  return NULL;
}

/* ---- children and signals ------------------------------------------ */

static void
reap (void)
{
  for (;;)
    {
      int status;
      pid_t p = waitpid (-1, &status, WNOHANG);
      if (p < 0 && errno == EINTR)
        continue;
      if (p <= 0)
        return;
      if (p == o.b && b_alive)
        {
          b_alive = false;
          b_status = status;
        }
      else if (p == o.a)
        a_alive = false;
    }
}

/* Read what the signalfd holds.  Returns true when a stop was asked.  */
static bool
read_signals (void)
{
  struct signalfd_siginfo si[8];
  bool stop = false;

  for (;;)
    {
      ssize_t n = read (sfd, si, sizeof si);
      size_t i;
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      for (i = 0; i < (size_t)n / sizeof si[0]; i++)
        switch (si[i].ssi_signo)
          {
          case SIGCHLD:
            reap ();
            break;
          case SIGTERM:
          case SIGINT:
          case SIGQUIT:
            stop = true;
            break;
          default: /* SIGHUP */
            break;
          }
    }
  return stop;
}

/* ---- the container's output ---------------------------------------- */

static void
close_out (size_t i)
{
  if (outs[i].fd == o.pty_fd)
    {
      /* The terminal is gone: no more input or resizes through it.  */
      mon_attach_set_targets (o.stdin_fd == o.pty_fd ? -1 : o.stdin_fd, -1);
      if (o.stdin_fd == o.pty_fd)
        o.stdin_fd = -1;
      o.pty_fd = -1;
    }
  close (outs[i].fd);
  outs[i].fd = -1;
}

/* One read of stream I: to the log and the clients.  */
static void
read_out (size_t i)
{
  /* The type byte, then the data: sent to clients as it is.  */
  static char msg[1 + MON_CHUNK];
  ssize_t n;

  do
    n = read (outs[i].fd, msg + 1, MON_CHUNK);
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN)
    return;
  if (n <= 0)
    {
      /* End of file, or EIO: a terminal whose other side is closed.  */
      close_out (i);
      return;
    }
  msg[0] = outs[i].stream;
  if (o.log_driver == LOG_K8S_FILE)
    mon_log_write (outs[i].stream, msg + 1, (size_t)n);
  mon_attach_broadcast (msg, (size_t)n + 1);
}

static bool
outs_open (void)
{
  size_t i;
  for (i = 0; i < n_outs; i++)
    if (outs[i].fd >= 0)
      return true;
  return false;
}

static void
add_out (int fd, char stream)
{
  if (fd < 0)
    return;
  fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) | O_NONBLOCK);
  outs[n_outs].fd = fd;
  outs[n_outs].stream = stream;
  n_outs++;
}

/* ---- the loops ------------------------------------------------------- */

#define MAX_POLLFDS (1 + 2 + 2 + 16)

/* While B runs.  */
static void
run (void)
{
  struct pollfd pfd[MAX_POLLFDS];

  while (b_alive)
    {
      size_t k = 0, first_attach, n_attach, i;

      pfd[k++] = (struct pollfd){ sfd, POLLIN, 0 };
      for (i = 0; i < n_outs; i++)
        pfd[k++] = (struct pollfd){ outs[i].fd, POLLIN, 0 };
      first_attach = k;
      n_attach = mon_attach_pollfds (pfd + k);
      k += n_attach;
      if (poll (pfd, k, -1) < 0)
        {
          /* Never leave this loop but by B's end: what follows takes B
             for ended.  ENOMEM passes; nothing else can come here.  */
          if (errno != EINTR)
            {
              struct timespec ts = { 0, 10 * 1000000L };
              nanosleep (&ts, NULL);
            }
          continue;
        }
      for (i = 0; i < n_outs; i++)
        if (pfd[1 + i].revents && outs[i].fd >= 0)
          read_out (i);
      mon_attach_events (pfd + first_attach, n_attach);
      if (pfd[0].revents && read_signals () && b_alive)
        {
          stop_signalled = true;
          kill (o.b, SIGTERM);
        }
    }
}

/* After B: what is left of its output, until end of file or 200 ms.  */
static void
drain (void)
{
  long long end = hutch_now_ms () + 200;
  struct pollfd pfd[2];
  size_t i;

  mon_attach_input_off ();
  while (outs_open ())
    {
      long long left = end - hutch_now_ms ();
      if (left <= 0)
        break;
      for (i = 0; i < n_outs; i++)
        pfd[i] = (struct pollfd){ outs[i].fd, POLLIN, 0 };
      if (poll (pfd, n_outs, (int)left) < 0 && errno != EINTR)
        break;
      for (i = 0; i < n_outs; i++)
        if (pfd[i].revents && outs[i].fd >= 0)
          read_out (i);
    }
  for (i = 0; i < n_outs; i++)
    if (outs[i].fd >= 0)
      close_out (i);
}

/* The back-off before a restart, listening to signals.  False when a
   stop signal cancelled it.  */
static bool
backoff (long long ms)
{
  long long end = hutch_now_ms () + ms;

  for (;;)
    {
      struct pollfd pfd = { sfd, POLLIN, 0 };
      long long left = end - hutch_now_ms ();
      if (left <= 0)
        return true;
      if (poll (&pfd, 1, (int)left) < 0 && errno != EINTR)
        return true;
      if (pfd.revents && read_signals ())
        return false;
    }
}

/* Same as hutch_slirp_stop: SIGTERM lets it end its connector; SIGKILL
   after a second whatever happens.  Reaped by its pidfd, unless reap()
   did already (ECHILD).  */
static void
stop_slirp (void)
{
  struct pollfd pfd = { o.slirp_pidfd, POLLIN, 0 };
  siginfo_t si;

  if (o.slirp_pidfd < 0)
    return;
  syscall (SYS_pidfd_send_signal, o.slirp_pidfd, SIGTERM, NULL, 0);
  while (poll (&pfd, 1, 1000) < 0 && errno == EINTR)
    ;
  if (!(pfd.revents & POLLIN))
    syscall (SYS_pidfd_send_signal, o.slirp_pidfd, SIGKILL, NULL, 0);
  while (waitid ((idtype_t)P_PIDFD, (id_t)o.slirp_pidfd, &si, WEXITED) < 0 && errno == EINTR)
    ;
  close (o.slirp_pidfd);
  o.slirp_pidfd = -1;
}

/* The watchdog ends once the watch pipe is closed and it has cleaned
   up; it may take a while (the container's directory removed).  */
static void
stop_watchdog (void)
{
  close (o.watch_fd);
  o.watch_fd = -1;
  while (a_alive)
    {
      int status;
      pid_t p = waitpid (o.a, &status, 0);
      if (p < 0 && errno == EINTR)
        continue;
      a_alive = false;
    }
}

static int
exit_code (int status)
{
  if (WIFEXITED (status))
    return WEXITSTATUS (status);
  if (WIFSIGNALED (status))
    return 128 + WTERMSIG (status);
  return 255;
}

static bool
want_restart (const struct hutch_state *st)
{
  if (stop_signalled || st->stop_requested)
    return false;
  switch (o.restart)
    {
    case RESTART_ALWAYS:
    case RESTART_UNLESS_STOPPED:
      return true;
    case RESTART_ON_FAILURE:
      return st->exit_code != 0 && (o.restart_max == 0 || st->restarts < o.restart_max);
    default:
      return false;
    }
}

/* 100 ms, doubled for each restart in a row of a container that ran less
   than 10 s, up to a minute.  The previous one comes from the
   environment: each run has a monitor of its own.  */
static long long
backoff_ms (const struct hutch_state *st)
{
  const char *prev_s = getenv ("HUTCH_MONITOR_BACKOFF_MS");
  long prev = 0;
  long long ran_ms
      = st->started > 0 && st->finished > st->started ? (st->finished - st->started) / 1000000 : 0;

  if (prev_s == NULL || !parse_int (prev_s, 0, 60000, &prev) || prev == 0 || ran_ms >= 10000)
    return 100;
  return prev * 2 > 60000 ? 60000 : prev * 2;
}

/* Execute HUTCH ARGS with ACTION; returns only when that failed.  */
static void
exec_hutch (const char *action, long long waited_ms)
{
  int keep = o.rundir_fd;
  char num[24];

  setenv ("HUTCH_MONITOR_ACTION", action, 1);
  snprintf (num, sizeof num, "%lld", waited_ms);
  setenv ("HUTCH_MONITOR_BACKOFF_MS", num, 1);
  /* The rundir stays open, close-on-exec, for the error if exec fails.  */
  fcntl (keep, F_SETFD, FD_CLOEXEC);
  hutch_close_all_but (&keep, 1);
  sfd = -1;
  /* hutch starts afresh: signals as they were before the monitor.  A
     stop signal that comes in this last moment ends the monitor, and
     with it the restart, which is what it asked.  */
  signal (SIGPIPE, SIG_DFL);
  sigprocmask (SIG_UNBLOCK, &sigs, NULL);
  execvp (o.cmd[0], o.cmd);
  {
    char msg[PATH_MAX + 128];
    snprintf (msg, sizeof msg, "cannot execute `%s` to %s the container: %s", o.cmd[0], action,
              strerror (errno));
    state_error (msg);
  }
}

/* After B: everything in the order the watchdog and the state need.
   Returns the monitor's exit status.  */
static int
finish (void)
{
  struct hutch_state st;
  hutch_error_t err = HUTCH_ERROR_INIT;
  bool oom = false, restart;
  long long wait_ms = 0;
  int code = exit_code (b_status);

  drain ();
  mon_log_close ();
  if (o.cgroup)
    oom = mon_cgroup_oom (o.cgroup);
  stop_slirp ();
  stop_watchdog ();
  if (o.cgroup)
    mon_cgroup_teardown (o.cgroup, o.cgroup_base, o.cgroup_leaf, o.cgroup_enabled);

  if (hutch_state_read (o.rundir_fd, &st, &err) < 0)
    {
      /* hutch rm removed the container meanwhile: nothing to tell.  */
      hutch_error_clear (&err);
      mon_attach_close (o.rundir_fd);
      return 0;
    }
  st.status = HUTCH_STATE_EXITED;
  st.exit_code = code;
  st.finished = hutch_state_now ();
  st.oom = oom;
  if (hutch_state_write (o.rundir_fd, &st, &err) < 0)
    hutch_error_clear (&err);
  /* Only now: a client that reads end of file finds the exit code.  */
  mon_attach_close (o.rundir_fd);

  restart = o.cmd && want_restart (&st);
  if (restart)
    {
      wait_ms = backoff_ms (&st);
      restart = backoff (wait_ms);
      if (restart)
        {
          /* hutch stop or rm may have come during the back-off.  */
          hutch_state_clear (&st);
          if (hutch_state_read (o.rundir_fd, &st, &err) < 0)
            {
              hutch_error_clear (&err);
              return 0;
            }
          restart = !st.stop_requested;
        }
    }
  hutch_state_clear (&st);
  if (restart)
    exec_hutch ("restart", wait_ms);
  else if (o.rm && o.cmd)
    exec_hutch ("remove", 0);
  else
    return 0;
  return 1;
}

int
main (int argc, char **argv)
{
  char msg[256];
  const char *bad = parse_args (argc, argv, msg, sizeof msg);
  siginfo_t si;

  if (bad)
    {
      state_error (bad);
      return 125;
    }

  signal (SIGPIPE, SIG_IGN);
  sigemptyset (&sigs);
  sigaddset (&sigs, SIGCHLD);
  sigaddset (&sigs, SIGTERM);
  sigaddset (&sigs, SIGINT);
  sigaddset (&sigs, SIGHUP);
  sigaddset (&sigs, SIGQUIT);
  /* Signals that came since M blocked them (before it executed this)
     are pending still, and read from the signalfd.  */
  sigprocmask (SIG_BLOCK, &sigs, NULL);
  sfd = signalfd (-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0)
    {
      snprintf (msg, sizeof msg, "signalfd: %s", strerror (errno));
      state_error (msg);
      return 125;
    }
  /* M made itself one; kept across exec, but it costs nothing to be
     sure.  */
  prctl (PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  memset (&si, 0, sizeof si);
  if (waitid (P_PID, (id_t)o.b, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD)
    {
      snprintf (msg, sizeof msg, "process %d (the container) is not its child", (int)o.b);
      state_error (msg);
      return 125;
    }

  if (o.pty_fd >= 0)
    add_out (o.pty_fd, HUTCH_ATTACH_STDOUT);
  add_out (o.stdout_fd, HUTCH_ATTACH_STDOUT);
  add_out (o.stderr_fd, HUTCH_ATTACH_STDERR);
  if (o.stdin_fd >= 0 && o.stdin_fd != o.pty_fd)
    fcntl (o.stdin_fd, F_SETFL, fcntl (o.stdin_fd, F_GETFL) | O_NONBLOCK);
  /* Without a log the output still reaches attached clients; a log that
     cannot be opened loses output, never the container.  */
  if (o.log_driver == LOG_K8S_FILE)
    mon_log_open (o.log, o.log_max_size, o.log_max_file);
  mon_attach_set_targets (o.stdin_fd, o.pty_fd);
  if (mon_attach_listen (o.rundir_fd) < 0)
    {
      snprintf (msg, sizeof msg, "cannot listen on the attach socket: %s", strerror (errno));
      state_error (msg);
    }

  /* B may have ended before the signalfd existed.  */
  reap ();
  run ();
  return finish ();
}
