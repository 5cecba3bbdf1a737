/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* Reading a container's log (front/logread.c) over hand-written k8s-file
   logs: pieces joined, both streams, --since/--until/--tail/-t, garbage,
   rotated files, a torn last record, -f across rotations and restarts, and
   the time parser.  */

#include "tap.h"
#include "base/util.h"
#include "front/logread.h"
#include "runtime/state.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SEC 1000000000LL
/* 2021-01-26T14:35:00+01:00 */
#define T0 (1611668100LL * SEC)

static char *top;
static struct hutch_ctr ctr;

/* What the reader wrote: each stream's bytes, and both in order with a
   mark where the stream changes ("|1|" stdout, "|2|" stderr).  */
struct capture
{
  char *out[3];
  size_t len[3];
  char *all;
  size_t all_len;
  int last;
};

static void
append (char **buf, size_t *len, const char *s, size_t n)
{
  *buf = hutch_xrealloc (*buf, *len + n + 1);
  memcpy (*buf + *len, s, n);
  *len += n;
  (*buf)[*len] = '\0';
}

static int
cap_write (void *data, enum hutch_logread_stream s, const char *buf, size_t len)
{
  struct capture *c = data;
  if (c->last != (int)s)
    append (&c->all, &c->all_len, s == HUTCH_LOGREAD_STDOUT ? "|1|" : "|2|", 3);
  c->last = (int)s;
  append (&c->out[s], &c->len[s], buf, len);
  append (&c->all, &c->all_len, buf, len);
  return 0;
}

static void
cap_clear (struct capture *c)
{
  free (c->out[1]);
  free (c->out[2]);
  free (c->all);
  memset (c, 0, sizeof *c);
}

static const char *
str (const char *s)
{
  return s ? s : "";
}

/* S with its newlines as \n, for a TAP line (four at a time).  */
static const char *
esc (const char *s)
{
  static char bufs[4][256];
  static int next;
  char *b = bufs[next++ % 4];
  size_t n = 0;

  for (s = str (s); *s && n < sizeof bufs[0] - 3; s++)
    {
      if (*s == '\n')
        {
          b[n++] = '\\';
          b[n++] = 'n';
        }
      else
        b[n++] = *s;
    }
  b[n] = '\0';
  return b;
}

static void
put (const char *name, const char *text)
{
  _cleanup_free_ char *path = hutch_xasprintf ("%s/%s", ctr.dir, name);
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || hutch_write_all (fd, text, strlen (text)) < 0)
    {
      printf ("Bail out! %s: %s\n", path, strerror (errno));
      exit (1);
    }
  close (fd);
}

static void
clean (void)
{
  const char *names[] = { "ctr.log", "ctr.log.1", "ctr.log.2", "ctr.log.3" };
  size_t i;
  for (i = 0; i < sizeof names / sizeof names[0]; i++)
    {
      _cleanup_free_ char *path = hutch_xasprintf ("%s/%s", ctr.dir, names[i]);
      unlink (path);
    }
}

/* Read the log with O into C; the result of hutch_logread.  */
static int
read_log (const struct hutch_logread_opts *o, struct capture *c, struct hutch_logread_stats *stats)
{
  struct hutch_logread_out out = { cap_write, NULL, c };
  hutch_error_t err = HUTCH_ERROR_INIT;
  int ret;

  memset (c, 0, sizeof *c);
  ret = hutch_logread (&ctr, o, &out, stats, &err);
  if (ret < 0)
    printf ("# hutch_logread: %s\n", err.msg);
  hutch_error_clear (&err);
  return ret;
}

/* Read with O; stdout must be OUT and stderr ERR.  */
static void
expect (const struct hutch_logread_opts *o, const char *out, const char *err, const char *what)
{
  struct capture c;
  int ret = read_log (o, &c, NULL);
  ok (ret == 0 && strcmp (str (c.out[1]), out) == 0 && strcmp (str (c.out[2]), err) == 0,
      "%s (stdout \"%s\", stderr \"%s\")", what, esc (c.out[1]), esc (c.out[2]));
  cap_clear (&c);
}

static void
test_pieces (void)
{
  struct hutch_logread_opts o = HUTCH_LOGREAD_OPTS_INIT;
  struct capture c;

  clean ();
  put ("ctr.log", "2021-01-26T14:35:00.000000001+01:00 stdout P hel\n"
                  "2021-01-26T14:35:00.000000002+01:00 stdout P lo \n"
                  "2021-01-26T14:35:00.000000003+01:00 stdout F world\n"
                  "2021-01-26T14:35:01.5+01:00 stdout F \n"
                  "2021-01-26T14:35:02Z stdout F\n"
                  "2021-01-26T14:35:03Z stdout F  two  spaces \n");
  expect (&o, "hello world\n\n\n two  spaces \n", "",
          "P pieces make one line; empty lines; the content is kept as it is");

  clean ();
  put ("ctr.log", "2021-01-26T14:35:00+01:00 stdout F a\n"
                  "2021-01-26T14:35:01+01:00 stderr F b\n"
                  "2021-01-26T14:35:02+01:00 stdout P c\n"
                  "2021-01-26T14:35:03+01:00 stderr F d\n"
                  "2021-01-26T14:35:04+01:00 stdout F e\n");
  read_log (&o, &c, NULL);
  is_str (str (c.out[1]), "a\nce\n", "stdout's records to stdout, a line across stderr's");
  is_str (str (c.out[2]), "b\nd\n", "stderr's records to stderr");
  is_str (str (c.all), "|1|a\n|2|b\n|1|c|2|d\n|1|e\n", "in the order they were written");
  cap_clear (&c);

  o.timestamps = true;
  expect (&o, "2021-01-26T14:35:00+01:00 a\n2021-01-26T14:35:02+01:00 ce\n",
          "2021-01-26T14:35:01+01:00 b\n2021-01-26T14:35:03+01:00 d\n",
          "-t: each line after its first piece's time, as written");
}

static void
test_window (void)
{
  struct hutch_logread_opts o = HUTCH_LOGREAD_OPTS_INIT;

  clean ();
  put ("ctr.log", "2021-01-26T14:35:00+01:00 stdout F one\n"
                  "2021-01-26T14:35:01+01:00 stdout P tw\n"
                  "2021-01-26T14:35:02+01:00 stdout F o\n"
                  "2021-01-26T13:35:03Z stdout F three\n"
                  "2021-01-26T14:35:04.000000001+01:00 stderr F four\n"
                  "2021-01-26T14:35:05+01:00 stdout F five\n");
  o.since = T0 + 1 * SEC;
  expect (&o, "two\nthree\nfive\n", "four\n", "--since: from the line that begins then");
  o.since = T0 + 2 * SEC;
  expect (&o, "three\nfive\n", "four\n", "--since: a line begun before is left out whole");
  o.since = LLONG_MIN;
  o.until = T0 + 3 * SEC;
  expect (&o, "one\ntwo\nthree\n", "", "--until: up to the line that begins then");
  o.until = T0 + 4 * SEC;
  expect (&o, "one\ntwo\nthree\n", "", "--until: to the ns");
  o.since = T0 + 3 * SEC;
  o.until = T0 + 5 * SEC;
  expect (&o, "three\nfive\n", "four\n", "--since and --until");

  o = (struct hutch_logread_opts)HUTCH_LOGREAD_OPTS_INIT;
  o.tail = 2;
  expect (&o, "five\n", "four\n", "--tail 2: the last two lines, both streams");
  o.tail = 4;
  expect (&o, "two\nthree\nfive\n", "four\n", "--tail 4: a line of two pieces counts once");
  o.tail = 0;
  expect (&o, "", "", "--tail 0: nothing");
  o.tail = 100;
  expect (&o, "one\ntwo\nthree\nfive\n", "four\n", "--tail beyond the log: all of it");
  o.tail = 2;
  o.until = T0 + 3 * SEC;
  expect (&o, "two\nthree\n", "", "--tail counts the lines --until leaves");
  o.until = LLONG_MAX;
  o.since = T0 + 10 * SEC;
  expect (&o, "", "", "--since after the last line: nothing");

  /* The line that --tail cuts may have begun on the other stream: its
     pieces after the cut are not shown.  */
  clean ();
  put ("ctr.log", "2021-01-26T14:35:00+01:00 stdout P s1\n"
                  "2021-01-26T14:35:01+01:00 stderr F e1\n"
                  "2021-01-26T14:35:02+01:00 stdout F s2\n"
                  "2021-01-26T14:35:03+01:00 stderr F e2\n");
  o = (struct hutch_logread_opts)HUTCH_LOGREAD_OPTS_INIT;
  o.tail = 2;
  expect (&o, "", "e1\ne2\n", "--tail: the rest of a line before the cut is left out");
  o.tail = 3;
  expect (&o, "s1s2\n", "e1\ne2\n", "--tail: a line that began before the others comes whole");
}

static void
test_garbage (void)
{
  struct hutch_logread_opts o = HUTCH_LOGREAD_OPTS_INIT;
  struct hutch_logread_stats stats = { 0 };
  struct capture c;
  _cleanup_free_ char *big = NULL;
  size_t i;

  clean ();
  put ("ctr.log", "garbage\n"
                  "\n"
                  "2021-13-01T14:35:00+01:00 stdout F bad month\n"
                  "2021-02-29T14:35:00+01:00 stdout F no such day\n"
                  "2021-01-26T14:35:00 stdout F no zone\n"
                  "2021-01-26T14:35:00+01:00 stdlog F no such stream\n"
                  "2021-01-26T14:35:00+01:00 stdout X no such tag\n"
                  "2021-01-26T14:35:00+01:00 stdout Fno space\n"
                  "2021-01-26T14:35:00+01:00 stdout F good\n"
                  "2021-01-26T14:35:00+01:00\n"
                  "2024-02-29T23:59:59.999999999-00:00 stderr F leap day\n");
  ok (read_log (&o, &c, &stats) == 0, "a log with garbage is read");
  is_str (str (c.out[1]), "good\n", "... its records printed");
  is_str (str (c.out[2]), "leap day\n", "... on both streams");
  ok (stats.garbage == 9, "... the other lines skipped and counted (%llu)", stats.garbage);
  cap_clear (&c);

  /* A line of more than a MiB without a newline is no record: dropped,
     with what follows it printed.  */
  clean ();
  big = hutch_xmalloc0 (3 * 1024 * 1024 + 200);
  strcpy (big, "2021-01-26T14:35:00+01:00 stdout F ");
  for (i = strlen (big); i < 3 * 1024 * 1024; i++)
    big[i] = 'x';
  strcpy (big + i, "\n2021-01-26T14:35:00+01:00 stdout F after\n");
  put ("ctr.log", big);
  ok (read_log (&o, &c, &stats) == 0 && strcmp (str (c.out[1]), "after\n") == 0
          && stats.garbage == 1,
      "an overlong record is dropped, what follows is read (garbage %llu)", stats.garbage);
  cap_clear (&c);
}

static void
test_rotation (void)
{
  struct hutch_logread_opts o = HUTCH_LOGREAD_OPTS_INIT;

  clean ();
  put ("ctr.log.2", "2021-01-26T14:35:00+01:00 stdout F a\n"
                    "2021-01-26T14:35:01+01:00 stdout F b\n");
  put ("ctr.log.1", "2021-01-26T14:35:02+01:00 stdout F c\n"
                    "2021-01-26T14:35:03+01:00 stdout P d\n");
  put ("ctr.log", "2021-01-26T14:35:04+01:00 stdout F e\n"
                  "2021-01-26T14:35:05+01:00 stderr F f\n");
  expect (&o, "a\nb\nc\nde\n", "f\n",
          "ctr.log.2, ctr.log.1, ctr.log, in that order; a line across files");
  o.tail = 3;
  expect (&o, "c\nde\n", "f\n", "--tail across files");
  o.tail = 1;
  expect (&o, "", "f\n", "--tail 1: the newest file's last line");
  o.tail = -1;
  o.since = T0 + 3 * SEC;
  expect (&o, "de\n", "f\n", "--since across files");

  /* A torn last record: the newest file is being written, so it waits;
     an older file will not grow, so its last bytes are a record.  */
  o = (struct hutch_logread_opts)HUTCH_LOGREAD_OPTS_INIT;
  clean ();
  put ("ctr.log.1", "2021-01-26T14:35:00+01:00 stdout F a\n"
                    "2021-01-26T14:35:01+01:00 stdout F b");
  put ("ctr.log", "2021-01-26T14:35:02+01:00 stdout F c\n"
                  "2021-01-26T14:35:03+01:00 stdout F d");
  expect (&o, "a\nb\nc\n", "", "a torn last record is left for -f; an older file's is read");
  o.tail = 1;
  expect (&o, "c\n", "", "--tail does not count the torn record");

  clean ();
  o = (struct hutch_logread_opts)HUTCH_LOGREAD_OPTS_INIT;
  expect (&o, "", "", "no log file yet: an empty log");
  put ("ctr.log.7", "2021-01-26T14:35:00+01:00 stdout F seven\n");
  put ("ctr.log", "2021-01-26T14:35:01+01:00 stdout F newest\n");
  expect (&o, "seven\nnewest\n", "", "a gap in the numbers is no end");
  clean ();
  {
    _cleanup_free_ char *path = hutch_xasprintf ("%s/ctr.log.7", ctr.dir);
    unlink (path);
  }
}

static void
write_state (enum hutch_state_status status, pid_t monitor, int exit_code, unsigned restarts)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_state st;
  int fd = open (ctr.rundir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  hutch_state_init (&st);
  st.status = status;
  st.monitor = monitor;
  st.monitor_start = monitor ? hutch_state_pid_start (monitor) : 0;
  hutch_state_boot_id (st.boot_id);
  st.exit_code = exit_code;
  st.restarts = restarts;
  if (fd < 0 || hutch_state_write (fd, &st, &err) < 0)
    {
      printf ("Bail out! state: %s\n", err.msg ? err.msg : strerror (errno));
      exit (1);
    }
  close (fd);
}

static void
append_log (const char *name, const char *text)
{
  _cleanup_free_ char *path = hutch_xasprintf ("%s/%s", ctr.dir, name);
  int fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 || hutch_write_all (fd, text, strlen (text)) < 0)
    _exit (1);
  close (fd);
}

static void
rename_log (const char *from, const char *to)
{
  _cleanup_free_ char *a = hutch_xasprintf ("%s/%s", ctr.dir, from);
  _cleanup_free_ char *b = hutch_xasprintf ("%s/%s", ctr.dir, to);
  if (rename (a, b) < 0)
    _exit (1);
}

static long long
ms_since (const struct timespec *t0)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return (t.tv_sec - t0->tv_sec) * 1000LL + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* A holder in a child: it writes the state and the log as a monitor
   would, and FN says what.  */
static pid_t
holder (void (*fn) (void))
{
  int p[2];
  char c;
  pid_t pid;

  if (pipe (p) < 0)
    abort ();
  pid = fork ();
  if (pid == 0)
    {
      close (p[1]);
      /* Wait until the parent has written our running state.  */
      if (read (p[0], &c, 1) != 1)
        _exit (1);
      fn ();
      _exit (0);
    }
  close (p[0]);
  write_state (HUTCH_STATE_RUNNING, pid, -1, 0);
  if (write (p[1], "x", 1) != 1)
    abort ();
  close (p[1]);
  return pid;
}

static void
rotating_writer (void)
{
  append_log ("ctr.log", "2021-01-26T14:35:00+01:00 stdout F one\n");
  usleep (200000);
  /* The file being followed is renamed away, with a line and a piece
     written to it just before.  */
  append_log ("ctr.log", "2021-01-26T14:35:01+01:00 stdout F two\n"
                         "2021-01-26T14:35:02+01:00 stdout P thr");
  rename_log ("ctr.log", "ctr.log.1");
  usleep (100000);
  append_log ("ctr.log", "2021-01-26T14:35:03+01:00 stdout F ee\n");
  usleep (200000);
  /* Two rotations while the reader sleeps: the file after the one it has
     open is ctr.log.1 by the time it looks.  */
  append_log ("ctr.log", "2021-01-26T14:35:04+01:00 stderr F four\n");
  rename_log ("ctr.log.1", "ctr.log.2");
  rename_log ("ctr.log", "ctr.log.1");
  append_log ("ctr.log", "2021-01-26T14:35:05+01:00 stdout F five\n");
  rename_log ("ctr.log.1", "ctr.log.2");
  rename_log ("ctr.log", "ctr.log.1");
  append_log ("ctr.log", "2021-01-26T14:35:06+01:00 stdout F six\n"
                         "2021-01-26T14:35:07+01:00 stdout F torn");
  usleep (100000);
}

/* A log of one file (max-file 1) is emptied in place when full.  */
static void
truncating_writer (void)
{
  _cleanup_free_ char *path = hutch_xasprintf ("%s/ctr.log", ctr.dir);
  append_log ("ctr.log", "2021-01-26T14:35:00+01:00 stdout F a line long enough to be longer "
                         "than the next one\n");
  usleep (300000);
  if (truncate (path, 0) < 0)
    _exit (1);
  append_log ("ctr.log", "2021-01-26T14:35:01+01:00 stdout F short\n");
  usleep (300000);
}

static void
restarting_writer (void)
{
  append_log ("ctr.log", "2021-01-26T14:35:00+01:00 stdout F first run\n");
  write_state (HUTCH_STATE_EXITED, getpid (), 1, 0);
  /* Longer than the grace: -f waits for the restart the policy promises.  */
  usleep (1600000);
  write_state (HUTCH_STATE_RUNNING, getpid (), -1, 1);
  append_log ("ctr.log", "2021-01-26T14:35:02+01:00 stdout F second run\n");
  usleep (100000);
  write_state (HUTCH_STATE_EXITED, getpid (), 0, 1);
  usleep (100000);
}

static void
lingering_holder (void)
{
  append_log ("ctr.log", "2021-01-26T14:35:00+01:00 stdout F only run\n");
  write_state (HUTCH_STATE_EXITED, getpid (), 0, 0);
  sleep (8);
  append_log ("ctr.log", "2021-01-26T14:35:09+01:00 stdout F too late\n");
}

static void
sleeper (void)
{
  sleep (30);
}

static void
test_follow (void)
{
  struct hutch_logread_opts o = HUTCH_LOGREAD_OPTS_INIT;
  struct timespec t0;
  struct capture c;
  int status;
  pid_t pid;

  o.follow = true;
  clean ();
  put ("ctr.log", "2021-01-26T14:35:00+01:00 stdout F done\n"
                  "2021-01-26T14:35:01+01:00 stdout F torn");
  write_state (HUTCH_STATE_EXITED, 0, 0, 0);
  expect (&o, "done\ntorn\n", "",
          "-f on an ended container: ends, its writer's torn record read too");

  /* Running, its holder gone (killed): it ended.  */
  write_state (HUTCH_STATE_RUNNING, 0, -1, 0);
  clean ();
  expect (&o, "", "", "-f on a container whose holder is gone ends");

  clean ();
  pid = holder (rotating_writer);
  ok (read_log (&o, &c, NULL) == 0, "-f across rotations");
  is_str (str (c.out[1]), "one\ntwo\nthree\nfive\nsix\ntorn\n",
          "... every line once, in order, through a rename and two quick rotations");
  is_str (str (c.out[2]), "four\n", "... stderr too");
  cap_clear (&c);
  waitpid (pid, &status, 0);

  clean ();
  pid = holder (truncating_writer);
  expect (&o, "a line long enough to be longer than the next one\nshort\n", "",
          "-f through a log emptied in place");
  waitpid (pid, &status, 0);

  /* --restart on-failure:2: exited with 1, restarted, exited with 0.  */
  clean ();
  ctr.restart = HUTCH_RESTART_ON_FAILURE;
  ctr.restart_max = 2;
  pid = holder (restarting_writer);
  expect (&o, "first run\nsecond run\n", "", "-f follows a container that its policy restarts");
  waitpid (pid, &status, 0);

  /* No restart, but the holder lives on: -f ends after the grace.  */
  clean ();
  ctr.restart = HUTCH_RESTART_NO;
  pid = holder (lingering_holder);
  /* (It writes one more line 8 s later: -f would print it had it waited
     for the holder's end.)  */
  expect (&o, "only run\n", "",
          "-f ends after a grace when the policy will not restart it, its holder alive");
  kill (pid, SIGKILL);
  waitpid (pid, &status, 0);

  /* --until in the future: -f ends then, however long the container runs.  */
  clean ();
  put ("ctr.log", "2021-01-26T14:35:00+01:00 stdout F old\n");
  pid = holder (sleeper);
  o.until = hutch_state_now () + 300 * 1000000LL;
  clock_gettime (CLOCK_MONOTONIC, &t0);
  expect (&o, "old\n", "", "-f with --until ends then");
  ok (ms_since (&t0) >= 250, "... not before (%lld ms)", ms_since (&t0));
  kill (pid, SIGKILL);
  waitpid (pid, &status, 0);
  clean ();
}

static void
time_is (const char *text, long long want)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  long long got = 0;
  int ret = hutch_logread_parse_time (text, T0, &got, &err);
  ok (ret == 0 && got == want, "time \"%s\" is %lld (got %lld%s%s)", text, want, got,
      err.msg ? ": " : "", str (err.msg));
  hutch_error_clear (&err);
}

static void
time_bad (const char *text)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  long long got = 0;
  ok (hutch_logread_parse_time (text, T0, &got, &err) < 0 && err.msg != NULL,
      "time \"%s\" is refused", text);
  hutch_error_clear (&err);
}

static void
test_times (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  long long v = 0;

  time_is ("2006-01-02T15:04:05-07:00", 1136239445LL * SEC);
  time_is ("2006-01-02T22:04:05Z", 1136239445LL * SEC);
  time_is ("2006-01-02T22:04:05.5z", 1136239445LL * SEC + SEC / 2);
  time_is ("2006-01-02T22:04:05.123456789123Z", 1136239445LL * SEC + 123456789);
  time_is ("2006-01-02Z", 1136160000LL * SEC);
  time_is ("2006-01-02T22Z", (1136160000LL + 22 * 3600) * SEC);
  time_is ("2006-01-02T22:04+00:00", (1136160000LL + 22 * 3600 + 4 * 60) * SEC);
  time_is ("2024-02-29T23:59:59Z", 1709251199LL * SEC);
  time_is ("1969-12-31T23:00:00Z", -3600LL * SEC);
  time_is ("9999-12-31T23:59:59Z", LLONG_MAX);
  /* Without a zone: local time (here UTC+2, POSIX style).  */
  setenv ("TZ", "XXX-2", 1);
  tzset ();
  time_is ("2006-01-02", (1136160000LL - 2 * 3600) * SEC);
  time_is ("2006-01-02T15", (1136160000LL + 13 * 3600) * SEC);
  time_is ("2006-01-02T15:04", (1136160000LL + 13 * 3600 + 4 * 60) * SEC);
  time_is ("2006-01-02T15:04:05.25", (1136160000LL + 13 * 3600 + 4 * 60 + 5) * SEC + SEC / 4);
  unsetenv ("TZ");
  tzset ();
  time_is ("1136239445", 1136239445LL * SEC);
  time_is ("1136239445.5", 1136239445LL * SEC + SEC / 2);
  time_is ("1136239445.000000001", 1136239445LL * SEC + 1);
  time_is ("0", 0);
  time_is ("42s", T0 - 42 * SEC);
  time_is ("10m", T0 - 600 * SEC);
  time_is ("1h30m", T0 - 5400 * SEC);
  time_is ("1.5h", T0 - 5400 * SEC);
  time_is ("-1h", T0 + 3600 * SEC);
  time_is ("+90s", T0 - 90 * SEC);
  time_is ("500ms", T0 - SEC / 2);
  time_is ("1h0m0.5s", T0 - 3600 * SEC - SEC / 2);
  time_is ("10us", T0 - 10000);
  time_is ("10\xc2\xb5s", T0 - 10000);
  time_is ("7ns", T0 - 7);
  time_is (".5s", T0 - SEC / 2);
  time_bad ("");
  time_bad ("now");
  time_bad ("10x");
  time_bad ("1h-");
  time_bad ("h");
  time_bad ("2006-13-01");
  time_bad ("2006-02-29");
  time_bad ("2006-01-02T25:00:00Z");
  time_bad ("2006-01-02T15:04:05+25:00");
  time_bad ("2006-01-02 15:04:05");
  time_bad ("06-01-02");
  time_bad ("1136239445.");
  time_bad ("-5");
  time_bad ("99999999999999999999999h");
  /* a number alone is unix seconds, not a duration without its unit */
  time_is ("10", 10 * SEC);

  ok (hutch_logread_parse_tail ("all", &v, &err) == 0 && v == -1, "--tail all");
  ok (hutch_logread_parse_tail ("-1", &v, &err) == 0 && v == -1, "--tail -1");
  ok (hutch_logread_parse_tail ("0", &v, &err) == 0 && v == 0, "--tail 0");
  ok (hutch_logread_parse_tail ("25", &v, &err) == 0 && v == 25, "--tail 25");
  ok (hutch_logread_parse_tail ("-2", &v, &err) < 0, "--tail -2 is refused");
  has_str (err.msg, "number of lines", "... saying what is expected");
  hutch_error_clear (&err);
  ok (hutch_logread_parse_tail ("ten", &v, &err) < 0, "--tail ten is refused");
  hutch_error_clear (&err);
  ok (hutch_logread_parse_tail ("5k", &v, &err) < 0, "--tail 5k is refused");
  hutch_error_clear (&err);
  ok (hutch_logread_parse_tail (" 5", &v, &err) < 0, "--tail ' 5' is refused");
  hutch_error_clear (&err);
}

int
main (void)
{
  const char *tmp = getenv ("TMPDIR");
  _cleanup_free_ char *tmpl = hutch_xasprintf ("%s/test-logread.XXXXXX", tmp ? tmp : "/tmp");

  top = mkdtemp (tmpl);
  if (top == NULL)
    {
      printf ("Bail out! mkdtemp: %s\n", strerror (errno));
      return 1;
    }
  ctr.name = (char *)"test";
  ctr.dir = hutch_xasprintf ("%s/ctr", top);
  ctr.rundir = hutch_xasprintf ("%s/run", top);
  if (mkdir (ctr.dir, 0700) < 0 || mkdir (ctr.rundir, 0700) < 0)
    {
      printf ("Bail out! mkdir: %s\n", strerror (errno));
      return 1;
    }
  write_state (HUTCH_STATE_EXITED, 0, 0, 0);

  test_pieces ();
  test_window ();
  test_garbage ();
  test_rotation ();
  test_follow ();
  test_times ();

  clean ();
  {
    _cleanup_free_ char *state = hutch_xasprintf ("%s/state", ctr.rundir);
    unlink (state);
  }
  rmdir (ctr.dir);
  rmdir (ctr.rundir);
  rmdir (top);
  free (ctr.dir);
  free (ctr.rundir);
  return tap_done ();
}
