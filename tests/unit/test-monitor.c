/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* hutch-monitor (helpers/monitor/), run as hutch runs it: this test plays
   M, the process that hands a container over.  For each case a child X
   forks the "container" B (a shell command, its output on pipes or a
   terminal) and a fake watchdog A (it waits for end of file on the watch
   pipe, then kills B through a pidfd and leaves a mark), writes a running
   state, and executes the built hutch-monitor with B and A as its
   children, as M does.  What is checked is what hutch and the user see:
   the log, the state, the attach socket, the action run after.  */

#include "tap.h"
#include "base/util.h"
#include "runtime/attach.h"
#include "runtime/state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The monitor's own local time (helpers/monitor/tz.c), compared with
   glibc's below: compiled in, so that the sanitizer build of this test
   has it too.  */
#include "../../helpers/monitor/tz.c"

static const char *monitor_bin;
static char *top;
static int case_no;

struct cfg
{
  const char *script;     /* B: sh -c SCRIPT */
  bool pipes;             /* stdout and stderr on pipes */
  bool pty;               /* B on a terminal */
  bool stdin_pipe;        /* --stdin-fd */
  const char *log_driver; /* default k8s-file */
  const char *max_size, *max_file;
  const char *restart;
  bool rm;
  const char *action_file; /* -- sh -c 'echo ... > FILE' */
  unsigned int restarts;   /* in the state */
  bool stop_requested;
  const char *backoff_env; /* HUTCH_MONITOR_BACKOFF_MS for the monitor */
  bool bad_args;           /* leave out --pid */
  const char *cgroup, *cgroup_base, *cgroup_leaf, *cgroup_enabled;
  const char *slirp; /* a fake network helper: sh -c SLIRP, its pid in DIR/slirp */
};

struct run
{
  char *dir;    /* the case's directory: rundir, log, marks */
  char *rundir; /* DIR/run */
  char *log;
  pid_t mon;
};

static void
sleep_ms (long ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  nanosleep (&ts, NULL);
}

static long long
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool
exists (const char *path)
{
  struct stat st;
  return lstat (path, &st) == 0;
}

static long long
file_size (const char *path)
{
  struct stat st;
  return stat (path, &st) == 0 ? (long long)st.st_size : -1;
}

static char *
slurp (const char *path)
{
  char *buf = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  if (hutch_read_file (path, 64 << 20, &buf, NULL, &err) < 0)
    hutch_error_clear (&err);
  return buf;
}

static void
no_cloexec (int fd)
{
  fcntl (fd, F_SETFD, 0);
}

static void
devnull_stdio (void)
{
  int fd = open ("/dev/null", O_RDWR);
  dup2 (fd, 0);
  dup2 (fd, 1);
  dup2 (fd, 2);
  if (fd > 2)
    close (fd);
}

static void
put_file (const char *path, const char *text)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || hutch_write_all (fd, text, strlen (text)) < 0)
    abort ();
  close (fd);
}

/* The fake watchdog: end of file on the watch pipe, then B killed (a
   pidfd: never another process by a reused pid), then the mark.  */
static void __attribute__ ((noreturn)) watchdog (int watch_rd, pid_t b, const char *dir)
{
  int pidfd;
  char c, *mark;
  ssize_t n;

  /* Nothing but the watch pipe's read end: a write end of it, or of B's
     output, held here would keep it open.  */
  hutch_close_all_but (&watch_rd, 1);
  pidfd = (int)syscall (SYS_pidfd_open, b, 0);

  do
    n = read (watch_rd, &c, 1);
  while (n > 0 || (n < 0 && errno == EINTR));
  if (pidfd >= 0)
    syscall (SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
  mark = hutch_xasprintf ("%s/a-ended", dir);
  close (open (mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  _exit (0);
}

static void
push (char **argv, int *n, const char *a)
{
  argv[(*n)++] = (char *)a;
}

static char *
num (long v)
{
  return hutch_xasprintf ("%ld", v);
}

/* In X: the hand-off, then exec of the monitor.  */
static void __attribute__ ((noreturn)) play_m (const struct cfg *c, const struct run *r)
{
  int out[2] = { -1, -1 }, err[2] = { -1, -1 }, in[2] = { -1, -1 }, watch[2];
  int master = -1, slave = -1, rundir_fd, slirp_pidfd = -1;
  sigset_t sigs;
  pid_t b, a;
  struct hutch_state st;
  hutch_error_t e = HUTCH_ERROR_INIT;
  char *argv[64];
  int n = 0;

  /* As M: signals held for the monitor, which finds them pending.  */
  sigemptyset (&sigs);
  sigaddset (&sigs, SIGCHLD);
  sigaddset (&sigs, SIGTERM);
  sigaddset (&sigs, SIGINT);
  sigaddset (&sigs, SIGHUP);
  sigaddset (&sigs, SIGQUIT);
  sigprocmask (SIG_BLOCK, &sigs, NULL);
  prctl (PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  setsid ();
  devnull_stdio ();

  if (pipe2 (watch, O_CLOEXEC) < 0)
    _exit (120);
  if (c->pipes && (pipe2 (out, O_CLOEXEC) < 0 || pipe2 (err, O_CLOEXEC) < 0))
    _exit (120);
  if (c->stdin_pipe && pipe2 (in, O_CLOEXEC) < 0)
    _exit (120);
  if (c->pty)
    {
      master = posix_openpt (O_RDWR | O_NOCTTY | O_CLOEXEC);
      if (master < 0 || grantpt (master) < 0 || unlockpt (master) < 0)
        _exit (120);
      slave = open (ptsname (master), O_RDWR | O_NOCTTY | O_CLOEXEC);
      if (slave < 0)
        _exit (120);
    }

  b = fork ();
  if (b < 0)
    _exit (120);
  if (b == 0)
    {
      setsid ();
      if (c->pty)
        {
          dup2 (slave, 0);
          dup2 (slave, 1);
          dup2 (slave, 2);
        }
      else
        {
          if (c->stdin_pipe)
            dup2 (in[0], 0);
          if (c->pipes)
            {
              dup2 (out[1], 1);
              dup2 (err[1], 2);
            }
        }
      sigprocmask (SIG_UNBLOCK, &sigs, NULL);
      execl ("/bin/sh", "sh", "-c", c->script, (char *)NULL);
      _exit (127);
    }
  a = fork ();
  if (a < 0)
    _exit (120);
  if (a == 0)
    watchdog (watch[0], b, r->dir);
  if (c->slirp)
    {
      _cleanup_free_ char *pidpath = hutch_xasprintf ("%s/slirp", r->dir);
      _cleanup_free_ char *pidtext = NULL;
      pid_t sp = fork ();
      if (sp < 0)
        _exit (120);
      if (sp == 0)
        {
          sigprocmask (SIG_UNBLOCK, &sigs, NULL);
          execl ("/bin/sh", "sh", "-c", c->slirp, (char *)NULL);
          _exit (127);
        }
      slirp_pidfd = (int)syscall (SYS_pidfd_open, sp, 0);
      pidtext = hutch_xasprintf ("%d", (int)sp);
      put_file (pidpath, pidtext);
    }

  close (watch[0]);
  if (c->pipes)
    {
      close (out[1]);
      close (err[1]);
    }
  if (c->stdin_pipe)
    close (in[0]);
  if (slave >= 0)
    close (slave);

  rundir_fd = open (r->rundir, O_RDONLY | O_DIRECTORY);
  if (rundir_fd < 0)
    _exit (120);
  hutch_state_init (&st);
  st.status = HUTCH_STATE_RUNNING;
  st.pid = b;
  st.pid_start = hutch_state_pid_start (b);
  st.monitor = getpid ();
  st.monitor_start = hutch_state_pid_start (getpid ());
  hutch_state_boot_id (st.boot_id);
  st.started = hutch_state_now ();
  st.restarts = c->restarts;
  st.stop_requested = c->stop_requested;
  st.ports = hutch_xstrdup ("8080->80/tcp");
  if (hutch_state_write (rundir_fd, &st, &e) < 0)
    _exit (120);

  push (argv, &n, monitor_bin);
  push (argv, &n, "--id");
  push (argv, &n, "0123456789abcdef");
  push (argv, &n, "--rundir-fd");
  push (argv, &n, num (rundir_fd));
  if (!c->bad_args)
    {
      push (argv, &n, "--pid");
      push (argv, &n, num (b));
    }
  push (argv, &n, "--a");
  push (argv, &n, num (a));
  push (argv, &n, "--watch-fd");
  push (argv, &n, num (watch[1]));
  no_cloexec (watch[1]);
  if (slirp_pidfd >= 0)
    {
      push (argv, &n, "--slirp-pidfd");
      push (argv, &n, num (slirp_pidfd));
      no_cloexec (slirp_pidfd);
    }
  if (c->pipes)
    {
      push (argv, &n, "--stdout-fd");
      push (argv, &n, num (out[0]));
      push (argv, &n, "--stderr-fd");
      push (argv, &n, num (err[0]));
      no_cloexec (out[0]);
      no_cloexec (err[0]);
    }
  if (c->pty)
    {
      push (argv, &n, "--pty-fd");
      push (argv, &n, num (master));
      push (argv, &n, "--stdin-fd");
      push (argv, &n, num (master));
      no_cloexec (master);
    }
  if (c->stdin_pipe)
    {
      push (argv, &n, "--stdin-fd");
      push (argv, &n, num (in[1]));
      no_cloexec (in[1]);
    }
  no_cloexec (rundir_fd);
  push (argv, &n, "--log-driver");
  push (argv, &n, c->log_driver ? c->log_driver : "k8s-file");
  push (argv, &n, "--log");
  push (argv, &n, r->log);
  push (argv, &n, "--log-max-size");
  push (argv, &n, c->max_size ? c->max_size : "0");
  push (argv, &n, "--log-max-file");
  push (argv, &n, c->max_file ? c->max_file : "1");
  if (c->restart)
    {
      push (argv, &n, "--restart");
      push (argv, &n, c->restart);
    }
  if (c->rm)
    push (argv, &n, "--rm");
  if (c->cgroup)
    {
      push (argv, &n, "--cgroup");
      push (argv, &n, c->cgroup);
    }
  if (c->cgroup_leaf)
    {
      /* As hutch does where its own cgroup has to hold controllers: M
         in a leaf of its own.  */
      _cleanup_free_ char *procs = hutch_xasprintf ("%s/cgroup.procs", c->cgroup_leaf);
      if (hutch_write_file (procs, "0", &e) < 0)
        _exit (120);
      push (argv, &n, "--cgroup-base");
      push (argv, &n, c->cgroup_base);
      push (argv, &n, "--cgroup-leaf");
      push (argv, &n, c->cgroup_leaf);
      push (argv, &n, "--cgroup-enabled");
      push (argv, &n, c->cgroup_enabled);
    }
  if (c->action_file)
    {
      push (argv, &n, "--");
      push (argv, &n, "/bin/sh");
      push (argv, &n, "-c");
      push (argv, &n,
            hutch_xasprintf ("echo \"$HUTCH_MONITOR_ACTION $HUTCH_MONITOR_BACKOFF_MS\" > '%s'",
                             c->action_file));
    }
  argv[n] = NULL;
  if (c->backoff_env)
    setenv ("HUTCH_MONITOR_BACKOFF_MS", c->backoff_env, 1);
  else
    unsetenv ("HUTCH_MONITOR_BACKOFF_MS");
  execv (monitor_bin, argv);
  _exit (121);
}

static void
start (const struct cfg *c, struct run *r)
{
  r->dir = hutch_xasprintf ("%s/case%d", top, ++case_no);
  r->rundir = hutch_xasprintf ("%s/run", r->dir);
  r->log = hutch_xasprintf ("%s/ctr.log", r->dir);
  if (mkdir (r->dir, 0700) < 0 || mkdir (r->rundir, 0700) < 0)
    abort ();
  fflush (stdout);
  r->mon = fork ();
  if (r->mon < 0)
    abort ();
  if (r->mon == 0)
    play_m (c, r);
}

static char *
at (const struct run *r, const char *name)
{
  return hutch_xasprintf ("%s/%s", r->rundir, name);
}

/* Wait until the monitor listens (it has its signalfd by then).  */
static bool
wait_ready (const struct run *r)
{
  _cleanup_free_ char *sock = at (r, HUTCH_ATTACH_SOCKET);
  long long end = now_ms () + 5000;

  while (now_ms () < end)
    {
      if (exists (sock))
        return true;
      sleep_ms (5);
    }
  return false;
}

/* The monitor's exit status, or -1 when it ran past MS (then killed).  */
static int
wait_monitor (struct run *r, long ms)
{
  long long end = now_ms () + ms;
  int status;

  while (now_ms () < end)
    {
      pid_t p = waitpid (r->mon, &status, WNOHANG);
      if (p == r->mon)
        return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
      sleep_ms (5);
    }
  kill (r->mon, SIGKILL);
  waitpid (r->mon, &status, 0);
  printf ("# the monitor ran past %ld ms: killed\n", ms);
  return -1;
}

static bool
read_state (const struct run *r, struct hutch_state *st)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  int fd = open (r->rundir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int ret = fd >= 0 ? hutch_state_read (fd, st, &err) : -1;

  if (fd >= 0)
    close (fd);
  hutch_error_clear (&err);
  return ret == 0;
}

static void
finish_run (struct run *r)
{
  free (r->dir);
  free (r->rundir);
  free (r->log);
}

/* Every line of LOG is a record; returns how many, or -1 at the first
   that is not.  */
static int
check_records (const char *log)
{
  regex_t re;
  int n = 0;
  const char *p = log;

  if (regcomp (
          &re,
          "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{9}[+-][0-9]{2}:[0-9]{2}"
          " (stdout|stderr) [FP] ",
          REG_EXTENDED | REG_NOSUB)
      != 0)
    abort ();
  while (p && *p)
    {
      const char *nl = strchr (p, '\n');
      _cleanup_free_ char *line = hutch_xstrndup (p, nl ? (size_t)(nl - p) : strlen (p));
      if (nl == NULL || regexec (&re, line, 0, NULL, 0) != 0)
        {
          printf ("# not a record: %.80s\n", line);
          n = -1;
          break;
        }
      n++;
      p = nl + 1;
    }
  regfree (&re);
  return n;
}

/* VmRSS or VmHWM of PID in kB, or -1.  */
static long
vm_kb (pid_t pid, const char *field)
{
  _cleanup_free_ char *path = hutch_xasprintf ("/proc/%d/status", (int)pid);
  _cleanup_free_ char *text = slurp (path);
  const char *p = text ? strstr (text, field) : NULL;
  return p ? strtol (p + strlen (field) + 1, NULL, 10) : -1;
}

static void
test_basic (void)
{
  struct cfg c = { .script = "echo out; printf part; echo err >&2; exit 3", .pipes = true };
  struct run r;
  struct hutch_state st;
  _cleanup_free_ char *log = NULL, *mark = NULL, *sock = NULL;

  start (&c, &r);
  ok (wait_monitor (&r, 10000) == 0, "basic: the monitor exits 0");
  log = slurp (r.log);
  ok (log != NULL, "basic: the log exists");
  ok (check_records (log) == 3, "basic: three records, each TIMESTAMP STREAM TAG CONTENT");
  has_str (log, " stdout F out\n", "basic: a full line of stdout");
  has_str (log, " stdout P part\n", "basic: a partial line of stdout");
  has_str (log, " stderr F err\n", "basic: a full line of stderr");
  ok (log && strchr (log, 'T') && (strstr (log, "+") || strstr (log, "-")),
      "basic: local time with a numeric zone");
  ok (file_size (r.log) >= 0 && (file_size (r.log) > 0), "basic: log written");
  {
    struct stat sb;
    ok (stat (r.log, &sb) == 0 && (sb.st_mode & 0777) == 0600, "basic: the log is 0600");
  }
  ok (read_state (&r, &st), "basic: the state reads");
  is_str (hutch_state_status_name (st.status), "exited", "basic: state exited");
  ok (st.exit_code == 3, "basic: exit code 3 (%d)", st.exit_code);
  ok (st.finished > 0 && st.finished >= st.started, "basic: finished set");
  ok (st.ports && strcmp (st.ports, "8080->80/tcp") == 0 && st.pid > 0,
      "basic: the fields it does not own are kept");
  ok (!st.oom, "basic: no OOM");
  hutch_state_clear (&st);
  mark = hutch_xasprintf ("%s/a-ended", r.dir);
  ok (exists (mark), "basic: the watchdog saw the watch pipe close and ended");
  sock = at (&r, HUTCH_ATTACH_SOCKET);
  ok (!exists (sock), "basic: the attach socket is removed");
  finish_run (&r);
}

/* A line longer than a record holds: P pieces, then F (where the reads
   end is up to the kernel: the last piece may be empty).  */
static void
test_long_line (void)
{
  struct cfg c
      = { .script = "head -c 20000 /dev/zero | tr '\\0' x; echo; echo after", .pipes = true };
  struct run r;
  _cleanup_free_ char *log = NULL;
  const char *p;
  size_t xs = 0;
  int p_count = 0, f_count = 0;
  bool in_line = false, pieces_ok = true;

  start (&c, &r);
  ok (wait_monitor (&r, 10000) == 0, "long line: the monitor exits 0");
  log = slurp (r.log);
  ok (check_records (log) > 0, "long line: records");
  for (p = log; p && *p && f_count == 0;)
    {
      const char *nl = strchr (p, '\n');
      const char *tag = strstr (p, " stdout ");
      size_t len;
      if (nl == NULL || tag == NULL || tag > nl)
        break;
      tag += 8;
      len = (size_t)(nl - tag - 2);
      if (tag[2] == 'x')
        in_line = true;
      if (in_line)
        {
          xs += len;
          if (len > 8192 || strspn (tag + 2, "x") != len)
            pieces_ok = false;
          if (tag[0] == 'P')
            p_count++;
          else
            f_count++;
        }
      p = nl + 1;
    }
  ok (xs == 20000, "long line: every byte logged (%zu)", xs);
  ok (p_count >= 2 && f_count == 1 && pieces_ok,
      "long line: P records of at most 8 KiB, then one F (%d P, %d F)", p_count, f_count);
  has_str (log, " stdout F after\n", "long line: the next line is whole");
  finish_run (&r);
}

static void
test_rotation (void)
{
  const char *script = "i=0; while [ $i -lt 300 ]; do "
                       "echo line-$i-0123456789012345678901234567890123456789; i=$((i+1)); done";
  struct cfg c = { .script = script, .pipes = true, .max_size = "4096", .max_file = "2" };
  struct run r;
  _cleanup_free_ char *log = NULL, *p1 = NULL, *p2 = NULL;

  start (&c, &r);
  ok (wait_monitor (&r, 10000) == 0, "rotation: the monitor exits 0");
  p1 = hutch_xasprintf ("%s.1", r.log);
  p2 = hutch_xasprintf ("%s.2", r.log);
  ok (file_size (r.log) > 0 && file_size (r.log) <= 4096, "rotation: PATH within 4096 (%lld)",
      file_size (r.log));
  ok (file_size (p1) > 0 && file_size (p1) <= 4096, "rotation: PATH.1 within 4096 (%lld)",
      file_size (p1));
  ok (!exists (p2), "rotation: no PATH.2 with --log-max-file 2");
  log = slurp (r.log);
  ok (check_records (log) > 0, "rotation: PATH holds records");
  has_str (log, " stdout F line-299-", "rotation: the newest is in PATH");
  finish_run (&r);

  c.max_file = "1";
  start (&c, &r);
  ok (wait_monitor (&r, 10000) == 0, "rotation, one file: the monitor exits 0");
  free (p1);
  p1 = hutch_xasprintf ("%s.1", r.log);
  ok (file_size (r.log) > 0 && file_size (r.log) <= 4096 && !exists (p1),
      "rotation, one file: PATH alone, within 4096 (%lld)", file_size (r.log));
  free (log);
  log = slurp (r.log);
  has_str (log, " stdout F line-299-", "rotation, one file: the newest is in PATH");
  finish_run (&r);
}

/* Runs C and returns what the action file says (NULL: nothing ran).  */
static char *
action_of (struct cfg *c, int *ret_status, long long *ret_ms)
{
  struct run r;
  char *text;
  long long t0;
  _cleanup_free_ char *file = hutch_xasprintf ("%s/action%d", top, case_no + 1);

  c->action_file = file;
  t0 = now_ms ();
  start (c, &r);
  *ret_status = wait_monitor (&r, 10000);
  if (ret_ms)
    *ret_ms = now_ms () - t0;
  text = slurp (file);
  if (text && strchr (text, '\n'))
    *strchr (text, '\n') = '\0';
  c->action_file = NULL;
  finish_run (&r);
  return text;
}

static void
test_restart (void)
{
  struct cfg c = { .script = "exit 3", .pipes = true, .restart = "on-failure:1" };
  _cleanup_free_ char *a1 = NULL, *a2 = NULL, *a3 = NULL, *a4 = NULL, *a5 = NULL, *a6 = NULL,
                      *a7 = NULL;
  int status;
  long long ms;

  a1 = action_of (&c, &status, &ms);
  is_str (a1, "restart 100", "on-failure:1, exit 3: restart after 100 ms (%s)", a1 ? a1 : "-");
  ok (status == 0 && ms >= 100, "on-failure:1: HUTCH ARGS ran, after the back-off (%lld ms)", ms);

  c.restarts = 1;
  a2 = action_of (&c, &status, NULL);
  ok (a2 == NULL && status == 0, "on-failure:1 with one restart done: no restart");

  c.restarts = 0;
  c.script = "exit 0";
  a3 = action_of (&c, &status, NULL);
  ok (a3 == NULL && status == 0, "on-failure, exit 0: no restart");

  c.restart = "always";
  c.stop_requested = true;
  a4 = action_of (&c, &status, NULL);
  ok (a4 == NULL, "always, stop_requested: no restart");

  c.stop_requested = false;
  c.backoff_env = "400";
  a5 = action_of (&c, &status, &ms);
  is_str (a5, "restart 800", "always, a quick end after 400 ms back-off: 800 ms (%s)",
          a5 ? a5 : "-");
  ok (ms >= 800, "the back-off was waited (%lld ms)", ms);

  c.backoff_env = NULL;
  c.restart = NULL;
  c.rm = true;
  a6 = action_of (&c, &status, NULL);
  ok (a6 && strncmp (a6, "remove", 6) == 0, "--rm: remove (%s)", a6 ? a6 : "-");

  c.restart = "unless-stopped";
  c.stop_requested = true;
  a7 = action_of (&c, &status, NULL);
  ok (a7 && strncmp (a7, "remove", 6) == 0, "--rm, unless-stopped but stopped: remove (%s)",
      a7 ? a7 : "-");
}

static void
test_signals (void)
{
  _cleanup_free_ char *file = hutch_xasprintf ("%s/action-sig", top);
  struct cfg c
      = { .script = "exec sleep 30", .pipes = true, .restart = "always", .action_file = file };
  struct run r;
  struct hutch_state st;
  int status;

  start (&c, &r);
  ok (wait_ready (&r), "signals: the monitor listens");
  kill (r.mon, SIGHUP);
  kill (r.mon, SIGPIPE);
  sleep_ms (200);
  ok (waitpid (r.mon, &status, WNOHANG) == 0, "signals: SIGHUP and SIGPIPE are ignored");
  kill (r.mon, SIGTERM);
  ok ((status = wait_monitor (&r, 10000)) == 0, "signals: SIGTERM: the monitor ends (%d)", status);
  ok (read_state (&r, &st) && st.exit_code == 143,
      "signals: the container got SIGTERM: exit code 143 (%d)", st.exit_code);
  hutch_state_clear (&st);
  ok (!exists (file), "signals: a stop by signal is not restarted");
  finish_run (&r);
}

static int
connect_attach (const struct run *r)
{
  struct sockaddr_un sa;
  int fd = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

  memset (&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  snprintf (sa.sun_path, sizeof sa.sun_path, "%s/%s", r->rundir, HUTCH_ATTACH_SOCKET);
  if (fd < 0 || connect (fd, (struct sockaddr *)&sa, sizeof sa) < 0)
    {
      if (fd >= 0)
        close (fd);
      return -1;
    }
  return fd;
}

/* One message, waiting at most MS: its length, 0 at end of file, -1 on
   time out or error.  */
static ssize_t
recv_msg (int fd, char *buf, size_t size, int ms)
{
  struct pollfd pfd = { fd, POLLIN, 0 };
  if (poll (&pfd, 1, ms) <= 0)
    return -1;
  return recv (fd, buf, size, 0);
}

static void
test_attach (void)
{
  struct cfg c = { .script = "cat", .pipes = true, .stdin_pipe = true };
  struct run r;
  struct hutch_state st;
  char buf[1 + HUTCH_ATTACH_MAX_DATA];
  int c1, c2;
  ssize_t n;
  bool exited_at_eof;
  _cleanup_free_ char *log = NULL;

  start (&c, &r);
  ok (wait_ready (&r), "attach: the monitor listens");
  {
    _cleanup_free_ char *sock = at (&r, HUTCH_ATTACH_SOCKET);
    struct stat sb;
    ok (lstat (sock, &sb) == 0 && S_ISSOCK (sb.st_mode) && (sb.st_mode & 0777) == 0600,
        "attach: RUNDIR/attach is a socket, 0600");
  }
  c1 = connect_attach (&r);
  c2 = connect_attach (&r);
  ok (c1 >= 0 && c2 >= 0, "attach: two clients connect");
  /* The monitor takes them on its next turn: let it.  */
  sleep_ms (100);
  ok (send (c1, "\0out\n", 5, 0) == 5, "attach: stdin sent");
  n = recv_msg (c1, buf, sizeof buf, 5000);
  ok (n == 5 && buf[0] == HUTCH_ATTACH_STDOUT && memcmp (buf + 1, "out\n", 4) == 0,
      "attach: the client gets `out` as stdout (type %d, %zd bytes)", n > 0 ? buf[0] : -1, n);
  n = recv_msg (c2, buf, sizeof buf, 5000);
  ok (n == 5 && buf[0] == HUTCH_ATTACH_STDOUT && memcmp (buf + 1, "out\n", 4) == 0,
      "attach: the other client gets it too");
  ok (send (c2, "\0", 1, 0) == 1, "attach: stdin closed by an empty message");
  n = recv_msg (c1, buf, sizeof buf, 10000);
  exited_at_eof = n == 0 && read_state (&r, &st) && st.status == HUTCH_STATE_EXITED;
  ok (exited_at_eof, "attach: end of file for the client once the state says exited");
  if (n == 0)
    hutch_state_clear (&st);
  ok (wait_monitor (&r, 10000) == 0, "attach: the monitor exits 0");
  ok (read_state (&r, &st) && st.exit_code == 0, "attach: cat ended by end of file: 0");
  hutch_state_clear (&st);
  log = slurp (r.log);
  has_str (log, " stdout F out\n", "attach: the output is logged too");
  close (c1);
  close (c2);
  finish_run (&r);
}

/* A client that never reads does not hold up the container.  */
static void
test_slow_client (void)
{
  struct cfg c = { .script = "read x; head -c 10485760 /dev/zero | tr '\\0' y; echo; echo done",
                   .pipes = true,
                   .stdin_pipe = true,
                   .max_size = "1048576",
                   .max_file = "2" };
  struct run r;
  char buf[1 + HUTCH_ATTACH_MAX_DATA];
  long long got = 0;
  int c1, status;
  ssize_t n;
  _cleanup_free_ char *log = NULL;

  start (&c, &r);
  ok (wait_ready (&r), "slow client: the monitor listens");
  c1 = connect_attach (&r);
  sleep_ms (100);
  ok (c1 >= 0 && send (c1, "\0go\n", 4, 0) == 4, "slow client: connected, stdin sent");
  status = wait_monitor (&r, 20000);
  ok (status == 0, "slow client: B wrote 10 MiB and the monitor ended (%d)", status);
  while ((n = recv_msg (c1, buf, sizeof buf, 1000)) > 0)
    got += n - 1;
  ok (n == 0 && got < 10485760, "slow client: dropped (%lld bytes reached it)", got);
  log = slurp (r.log);
  has_str (log, " stdout F done\n", "slow client: the log has the end");
  ok (file_size (r.log) <= 1048576, "slow client: the log stays within its bound");
  close (c1);
  finish_run (&r);
}

static void
test_pty (void)
{
  struct cfg c = { .script = "read x; stty size; exit 7", .pty = true };
  struct run r;
  char msg[HUTCH_ATTACH_RESIZE_LEN];
  uint16_t rows = 33, cols = 111;
  struct hutch_state st;
  int c1;
  _cleanup_free_ char *log = NULL;

  start (&c, &r);
  ok (wait_ready (&r), "pty: the monitor listens");
  c1 = connect_attach (&r);
  sleep_ms (100);
  msg[0] = HUTCH_ATTACH_RESIZE;
  memcpy (msg + 1, &rows, 2);
  memcpy (msg + 3, &cols, 2);
  ok (c1 >= 0 && send (c1, msg, sizeof msg, 0) == (ssize_t)sizeof msg, "pty: resize sent");
  ok (send (c1, "\0go\n", 4, 0) == 4, "pty: input sent");
  ok (wait_monitor (&r, 10000) == 0, "pty: the monitor exits 0");
  log = slurp (r.log);
  has_str (log, "33 111", "pty: the terminal got the size");
  ok (check_records (log) > 0, "pty: one stream, logged as records");
  ok (log && strstr (log, " stderr ") == NULL, "pty: all of it as stdout");
  ok (read_state (&r, &st) && st.exit_code == 7, "pty: exit code 7");
  hutch_state_clear (&st);
  close (c1);
  finish_run (&r);
}

static void
test_rss (void)
{
  struct cfg c = { .script = "seq 1 100000; sleep 1", .pipes = true };
  struct run r;
  long rss, hwm;

  start (&c, &r);
  ok (wait_ready (&r), "rss: the monitor listens");
  sleep_ms (600);
  rss = vm_kb (r.mon, "VmRSS:");
  hwm = vm_kb (r.mon, "VmHWM:");
  /* The line bench/monitor-rss --harness reads.  */
  printf ("# hutch-monitor VmRSS: %ld kB, VmHWM: %ld kB, RssAnon: %ld kB, RssFile: %ld kB "
          "(after logging 100000 lines)\n",
          rss, hwm, vm_kb (r.mon, "RssAnon:"), vm_kb (r.mon, "RssFile:"));
  ok (wait_monitor (&r, 10000) == 0, "rss: the monitor exits 0");
  ok (hwm > 0 && hwm <= 1024, "rss: the monitor's peak resident memory is at most 1 MB (%ld kB)",
      hwm);
  finish_run (&r);
}

/* The network helper is stopped once the container has ended: SIGTERM,
   then SIGKILL after a second when it does not go.  */
static void
test_slirp (void)
{
  struct cfg c = { .script = "exit 0", .pipes = true, .slirp = "exec sleep 1000" };
  struct run r;
  long long t0, ms;
  pid_t sp;
  _cleanup_free_ char *path = NULL, *text = NULL;

  start (&c, &r);
  ok (wait_monitor (&r, 10000) == 0, "slirp: the monitor exits 0");
  path = hutch_xasprintf ("%s/slirp", r.dir);
  text = slurp (path);
  sp = text ? (pid_t)strtol (text, NULL, 10) : 0;
  ok (sp > 0 && hutch_state_pid_start (sp) == 0, "slirp: SIGTERM ended it");
  finish_run (&r);

  c.slirp = "trap '' TERM; exec sleep 1000";
  /* B lives long enough for the shell to set its trap before the monitor
     sends SIGTERM.  */
  c.script = "sleep 0.5; exit 0";
  t0 = now_ms ();
  start (&c, &r);
  ok (wait_monitor (&r, 10000) == 0, "slirp, deaf to SIGTERM: the monitor exits 0");
  ms = now_ms () - t0;
  free (path);
  free (text);
  path = hutch_xasprintf ("%s/slirp", r.dir);
  text = slurp (path);
  sp = text ? (pid_t)strtol (text, NULL, 10) : 0;
  ok (sp > 0 && hutch_state_pid_start (sp) == 0 && ms >= 1000,
      "slirp, deaf to SIGTERM: SIGKILL after a second (%lld ms)", ms);
  finish_run (&r);
}

/* OOM kills as memory.events counts them: a plain directory stands for
   the cgroup (no memory controller needed).  */
static void
test_oom (void)
{
  _cleanup_free_ char *cg = hutch_xasprintf ("%s/fake-cgroup", top);
  _cleanup_free_ char *events = hutch_xasprintf ("%s/memory.events", cg);
  struct cfg c = { .script = "exit 137", .pipes = true, .cgroup = cg };
  struct run r;
  struct hutch_state st;

  if (mkdir (cg, 0700) < 0)
    abort ();
  put_file (events, "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n");
  start (&c, &r);
  ok (wait_monitor (&r, 10000) == 0, "oom: the monitor exits 0");
  ok (read_state (&r, &st) && st.oom && st.exit_code == 137, "oom: oom_kill 1: the state says oom");
  hutch_state_clear (&st);
  finish_run (&r);

  put_file (events, "low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\noom_group_kill 1\n");
  start (&c, &r);
  ok (wait_monitor (&r, 10000) == 0 && read_state (&r, &st) && !st.oom,
      "oom: oom_kill 0 (oom_group_kill aside): no oom");
  hutch_state_clear (&st);
  finish_run (&r);
}

/* The cgroup after the container: what is left killed, the container's
   cgroup and those it made below removed, the leaf undone.  Needs a
   cgroup2 hierarchy this process may write (root; or a delegated one).  */
static void
test_cgroup (void)
{
  static const char *const roots[] = { "/sys/fs/cgroup/unified", "/sys/fs/cgroup" };
  _cleanup_free_ char *base = NULL, *leaf = NULL, *ctr = NULL, *script = NULL;
  _cleanup_free_ char *pidfile = NULL, *text = NULL;
  struct cfg c = { .pipes = true, .cgroup_enabled = "pids" };
  struct run r;
  struct hutch_state st;
  size_t i;
  long pid;

  for (i = 0; i < sizeof roots / sizeof roots[0] && base == NULL; i++)
    {
      _cleanup_free_ char *probe = hutch_xasprintf ("%s/cgroup.procs", roots[i]);
      _cleanup_free_ char *dir = hutch_xasprintf ("%s/test-monitor.%d", roots[i], (int)getpid ());
      if (access (probe, F_OK) == 0 && mkdir (dir, 0755) == 0)
        base = HUTCH_STEAL_PTR (dir);
    }
  if (base == NULL)
    {
      ok (1, "# SKIP cgroup: no cgroup2 hierarchy this test may write (run it as root)");
      return;
    }
  leaf = hutch_xasprintf ("%s/leaf", base);
  ctr = hutch_xasprintf ("%s/ctr", base);
  pidfile = hutch_xasprintf ("%s/orphan", top);
  if (mkdir (leaf, 0755) < 0 || mkdir (ctr, 0755) < 0)
    abort ();
  /* B joins the container's cgroup, makes one below it, leaves a process
     there that its end orphans, and ends.  */
  script = hutch_xasprintf ("echo $$ > %s/cgroup.procs && mkdir %s/sub/ %s/sub/deeper && "
                            "sh -c 'echo $$ > %s/sub/cgroup.procs; exec sleep 1000' & "
                            "echo $! > %s; sleep 0.2; exit 5",
                            ctr, ctr, ctr, ctr, pidfile);
  c.script = script;
  c.cgroup = ctr;
  c.cgroup_base = base;
  c.cgroup_leaf = leaf;
  start (&c, &r);
  ok (wait_monitor (&r, 15000) == 0, "cgroup: the monitor exits 0");
  text = slurp (pidfile);
  pid = text ? strtol (text, NULL, 10) : 0;
  ok (pid > 0 && hutch_state_pid_start ((pid_t)pid) == 0,
      "cgroup: the process left in a cgroup below is killed");
  ok (!exists (ctr), "cgroup: the container's cgroup and those below it are removed");
  ok (!exists (leaf), "cgroup: the leaf is removed");
  ok (read_state (&r, &st) && st.exit_code == 5 && !st.oom, "cgroup: exit code 5");
  hutch_state_clear (&st);
  finish_run (&r);
  if (rmdir (base) < 0)
    printf ("# could not remove %s: %s\n", base, strerror (errno));
}

static void
test_bad_args (void)
{
  struct cfg c = { .script = "sleep 5", .pipes = true, .bad_args = true };
  struct run r;
  struct hutch_state st;
  int i;
  _cleanup_free_ char *mark = NULL;

  start (&c, &r);
  ok (wait_monitor (&r, 10000) == 125, "bad arguments: exit 125");
  ok (read_state (&r, &st) && st.error && strstr (st.error, "--pid"),
      "bad arguments: said in the state's error (%s)", st.error ? st.error : "-");
  hutch_state_clear (&st);
  /* The monitor gone, the watch pipe closes: A kills B.  */
  mark = hutch_xasprintf ("%s/a-ended", r.dir);
  for (i = 0; i < 500 && !exists (mark); i++)
    sleep_ms (10);
  ok (exists (mark), "bad arguments: the watchdog ends the container");
  finish_run (&r);
}

/* mon_tz_offset and mon_tz_localtime against glibc's localtime_r, at
   times from 1970 to 2100, in zone ZONE (a TZ value).  Returns the
   number of disagreements.  */
static int
tz_compare (const char *tz_value, bool show)
{
  static const long long fixed[] = { 0,          68169600,   1711846799,   1711846800,  1729990799,
                                     1729990800, 2147483647, 2147483648LL, 4102444800LL };
  unsigned long long seed = 88172645463325252ULL;
  int bad = 0, i;

  if (tz_value)
    setenv ("TZ", tz_value, 1);
  else
    unsetenv ("TZ");
  tzset ();
  mon_tz_reset ();
  for (i = 0; i < 300; i++)
    {
      long long t;
      time_t tt;
      struct tm tm;
      struct mon_tm mt;

      if (i < (int)(sizeof fixed / sizeof fixed[0]))
        t = fixed[i];
      else
        {
          seed ^= seed << 13;
          seed ^= seed >> 7;
          seed ^= seed << 17;
          t = (long long)(seed % 4102444800ULL);
        }
      tt = (time_t)t;
      localtime_r (&tt, &tm);
      mon_tz_localtime (t, &mt);
      if (mt.gmtoff != tm.tm_gmtoff || mt.year != tm.tm_year + 1900 || mt.mon != tm.tm_mon + 1
          || mt.mday != tm.tm_mday || mt.hour != tm.tm_hour || mt.min != tm.tm_min
          || mt.sec != tm.tm_sec)
        {
          if (show && bad < 3)
            printf ("# TZ=%s at %lld: glibc %+ld %04d-%02d-%02d %02d:%02d, monitor %+ld "
                    "%04lld-%02d-%02d %02d:%02d\n",
                    tz_value ? tz_value : "(unset)", t, (long)tm.tm_gmtoff, tm.tm_year + 1900,
                    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, mt.gmtoff, mt.year, mt.mon,
                    mt.mday, mt.hour, mt.min);
          bad++;
        }
    }
  return bad;
}

/* Every TZif file below DIR (NAME: its path under the zoneinfo root).  */
static void
tz_walk (const char *root, const char *name, int *zones, int *bad_zones)
{
  _cleanup_free_ char *path = name ? hutch_xasprintf ("%s/%s", root, name) : hutch_xstrdup (root);
  DIR *d = opendir (path);
  struct dirent *de;

  if (d == NULL)
    {
      char magic[4];
      int fd = open (path, O_RDONLY | O_CLOEXEC);
      bool tzif = fd >= 0 && read (fd, magic, 4) == 4 && memcmp (magic, "TZif", 4) == 0;
      if (fd >= 0)
        close (fd);
      if (tzif)
        {
          (*zones)++;
          if (tz_compare (name, *bad_zones < 5) > 0)
            (*bad_zones)++;
        }
      return;
    }
  while ((de = readdir (d)) != NULL)
    {
      _cleanup_free_ char *sub = NULL;
      if (de->d_name[0] == '.' || strcmp (de->d_name, "posix") == 0
          || strcmp (de->d_name, "right") == 0)
        continue;
      sub = name ? hutch_xasprintf ("%s/%s", name, de->d_name) : hutch_xstrdup (de->d_name);
      tz_walk (root, sub, zones, bad_zones);
    }
  closedir (d);
}

static void
test_tz (void)
{
  static const char *const strings[] = {
    "CET-1CEST,M3.5.0,M10.5.0/3",
    "EST5EDT",
    "EST5EDT,M3.2.0,M11.1.0",
    "<+0330>-3:30",
    "AEST-10AEDT,M10.1.0,M4.1.0/3",
    "NZST-12NZDT,M9.5.0,M4.1.0/3",
    "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1",
    "IST-2IDT,M3.4.4/26,M10.5.0",
    "XXX-5:45",
    "UTC0",
    "",
    ":Europe/Berlin",
    "America/New_York",
    "Nonexistent/Zone",
    NULL,
  };
  const char *saved = getenv ("TZ");
  _cleanup_free_ char *keep = saved ? hutch_xstrdup (saved) : NULL;
  int zones = 0, bad_zones = 0;
  size_t i;

  for (i = 0; i < sizeof strings / sizeof strings[0]; i++)
    {
      int bad = tz_compare (strings[i], true);
      ok (bad == 0, "local time as glibc has it: TZ=%s (%d differ)",
          strings[i] ? strings[i] : "(unset)", bad);
    }
  /* Daylight saving time all year, the way zic writes it: glibc's own
     answer is wrong in the hours between the new year in UTC and in
     the zone, where it takes the rule of the wrong year.  */
  setenv ("TZ", "EST5EDT,0/0,J365/25", 1);
  mon_tz_reset ();
  ok (mon_tz_offset (0) == -4 * 3600 && mon_tz_offset (1000000000) == -4 * 3600
          && mon_tz_offset (4102444800LL) == -4 * 3600
          && mon_tz_offset (4102444800LL + 18000) == -4 * 3600,
      "TZ=EST5EDT,0/0,J365/25: daylight saving time all year");
  tz_walk ("/usr/share/zoneinfo", NULL, &zones, &bad_zones);
  if (zones == 0)
    ok (1, "# SKIP no /usr/share/zoneinfo");
  else
    ok (bad_zones == 0, "local time as glibc has it in every zone installed (%d of %d differ)",
        bad_zones, zones);
  if (keep)
    setenv ("TZ", keep, 1);
  else
    unsetenv ("TZ");
  tzset ();
}

int
main (void)
{
  char dir[] = "/tmp/test-monitor.XXXXXX";
  const char *b = getenv ("abs_top_builddir");
  _cleanup_free_ char *cmd = NULL;

  monitor_bin = hutch_xasprintf ("%s/hutch-monitor", b ? b : ".");
  if (access (monitor_bin, X_OK) < 0)
    {
      printf ("1..0 # SKIP no %s: build it first\n", monitor_bin);
      return 77;
    }
  if (mkdtemp (dir) == NULL)
    {
      printf ("1..0 # SKIP cannot create a temporary directory\n");
      return 77;
    }
  top = dir;
  signal (SIGPIPE, SIG_IGN);

  /* bench/monitor-rss --harness: the measure alone.  */
  if (getenv ("HUTCH_TEST_MONITOR_RSS_ONLY"))
    test_rss ();
  else
    {
      test_tz ();
      test_basic ();
      test_long_line ();
      test_rotation ();
      test_restart ();
      test_signals ();
      test_attach ();
      test_slow_client ();
      test_pty ();
      test_rss ();
      test_slirp ();
      test_oom ();
      test_cgroup ();
      test_bad_args ();
    }

  cmd = hutch_xasprintf ("rm -rf '%s'", top);
  if (system (cmd) != 0)
    printf ("# could not remove %s\n", top);
  return tap_done ();
}
