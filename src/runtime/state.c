/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "runtime/state.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const status_names[] = { "created", "running", "paused", "exited" };

void
hutch_state_init (struct hutch_state *st)
{
  memset (st, 0, sizeof *st);
  st->exit_code = -1;
}

void
hutch_state_clear (struct hutch_state *st)
{
  free (st->error);
  free (st->cgroup);
  free (st->ports);
  free (st->bundle);
  hutch_state_init (st);
}

const char *
hutch_state_status_name (enum hutch_state_status s)
{
  if ((unsigned)s < sizeof status_names / sizeof status_names[0])
    return status_names[s];
  return "unknown";
}

int
hutch_state_status_from_name (const char *name)
{
  size_t i;
  for (i = 0; i < sizeof status_names / sizeof status_names[0]; i++)
    if (strcmp (name, status_names[i]) == 0)
      return (int)i;
  return -1;
}

static long long
num (const char *v)
{
  return strtoll (v, NULL, 10);
}

static void
set_field (struct hutch_state *st, const char *k, const char *v)
{
  if (strcmp (k, "status") == 0)
    {
      int s = hutch_state_status_from_name (v);
      st->status = s < 0 ? HUTCH_STATE_EXITED : (enum hutch_state_status)s;
    }
  else if (strcmp (k, "pid") == 0)
    st->pid = (pid_t)num (v);
  else if (strcmp (k, "pid_start") == 0)
    st->pid_start = strtoull (v, NULL, 10);
  else if (strcmp (k, "monitor") == 0)
    st->monitor = (pid_t)num (v);
  else if (strcmp (k, "monitor_start") == 0)
    st->monitor_start = strtoull (v, NULL, 10);
  else if (strcmp (k, "boot_id") == 0)
    snprintf (st->boot_id, sizeof st->boot_id, "%s", v);
  else if (strcmp (k, "exit_code") == 0)
    st->exit_code = (int)num (v);
  else if (strcmp (k, "oom") == 0)
    st->oom = num (v) != 0;
  else if (strcmp (k, "stop_requested") == 0)
    st->stop_requested = num (v) != 0;
  else if (strcmp (k, "started") == 0)
    st->started = num (v);
  else if (strcmp (k, "finished") == 0)
    st->finished = num (v);
  else if (strcmp (k, "restarts") == 0)
    st->restarts = (unsigned int)num (v);
  else if (strcmp (k, "error") == 0 && *v)
    st->error = hutch_xstrdup (v);
  else if (strcmp (k, "cgroup") == 0 && *v)
    st->cgroup = hutch_xstrdup (v);
  else if (strcmp (k, "ports") == 0 && *v)
    st->ports = hutch_xstrdup (v);
  else if (strcmp (k, "bundle") == 0 && *v)
    st->bundle = hutch_xstrdup (v);
  else if (strcmp (k, "created") == 0)
    st->created = num (v);
}

int
hutch_state_read (int dirfd, struct hutch_state *ret, hutch_error_t *err)
{
  _cleanup_free_ char *text = NULL;
  _cleanup_close_ int fd = openat (dirfd, "state", O_RDONLY | O_CLOEXEC);
  char *line, *save = NULL;

  hutch_state_init (ret);
  if (fd < 0)
    {
      int e = errno;
      hutch_error_set (err, e, "read the container's state");
      return -e;
    }
  if (hutch_read_fd (fd, 64 * 1024, &text, NULL, err) < 0)
    return -1;
  for (line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *eq = strchr (line, '=');
      if (eq == NULL)
        continue;
      *eq = '\0';
      set_field (ret, line, eq + 1);
    }
  /* What other commands say to the holder are files of their own, not
     fields they rewrite: the holder may be writing the state at that
     moment, and one of the two writes would be lost.  */
  if (faccessat (dirfd, HUTCH_STATE_FLAG_STOP, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
    ret->stop_requested = true;
  if (ret->status == HUTCH_STATE_RUNNING
      && faccessat (dirfd, HUTCH_STATE_FLAG_PAUSED, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
    ret->status = HUTCH_STATE_PAUSED;
  return 0;
}

/* A value on one line: a message with a newline in it would end the
   field early.  */
static void
put (FILE *f, const char *key, const char *v)
{
  const char *p;
  fprintf (f, "%s=", key);
  for (p = v ? v : ""; *p; p++)
    fputc (*p == '\n' ? ' ' : *p, f);
  fputc ('\n', f);
}

int
hutch_state_write (int dirfd, const struct hutch_state *st, hutch_error_t *err)
{
  char tmp[64];
  _cleanup_free_ char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&buf, &len);
  int fd, e;

  if (f == NULL)
    return hutch_error_set (err, errno, "open_memstream");
  put (f, "status", hutch_state_status_name (st->status));
  fprintf (f, "pid=%d\npid_start=%llu\nmonitor=%d\nmonitor_start=%llu\n", (int)st->pid,
           st->pid_start, (int)st->monitor, st->monitor_start);
  put (f, "boot_id", st->boot_id);
  fprintf (f, "exit_code=%d\noom=%d\nstop_requested=%d\nstarted=%lld\nfinished=%lld\nrestarts=%u\n",
           st->exit_code, st->oom, st->stop_requested, st->started, st->finished, st->restarts);
  put (f, "error", st->error);
  put (f, "cgroup", st->cgroup);
  put (f, "ports", st->ports);
  put (f, "bundle", st->bundle);
  if (st->created)
    fprintf (f, "created=%lld\n", st->created);
  if (fclose (f) != 0)
    return hutch_error_set (err, errno, "write the container's state");
  /* A name of this process's own: two writers never share a temporary.  */
  snprintf (tmp, sizeof tmp, ".state.%d", (int)getpid ());
  fd = openat (dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return hutch_error_set (err, errno, "write the container's state");
  if (hutch_write_all (fd, buf, len) < 0)
    {
      e = errno;
      close (fd);
      unlinkat (dirfd, tmp, 0);
      return hutch_error_set (err, e, "write the container's state");
    }
  close (fd);
  if (hutch_replace_at (dirfd, tmp, "state") < 0)
    {
      e = errno;
      unlinkat (dirfd, tmp, 0);
      return hutch_error_set (err, e, "write the container's state");
    }
  return 0;
}

unsigned long long
hutch_state_pid_start (pid_t pid)
{
  char path[64], buf[1024];
  char *p;
  int fd, field;
  ssize_t n;
  unsigned long long start = 0;

  if (pid <= 0)
    return 0;
  snprintf (path, sizeof path, "/proc/%d/stat", (int)pid);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  n = read (fd, buf, sizeof buf - 1);
  close (fd);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  /* The command name, in parentheses, may hold spaces and parentheses:
     the fields start after the last ')'.  starttime is field 22; the
     text after ')' starts with field 3 (state).  */
  p = strrchr (buf, ')');
  if (p == NULL)
    return 0;
  for (field = 2; field < 22 && p; field++)
    p = strchr (p + 1, ' ');
  if (p)
    start = strtoull (p + 1, NULL, 10);
  /* A zombie has ended: it is not running any more, whatever its pid.  */
  {
    char *state = strrchr (buf, ')');
    if (state && state[1] == ' ' && (state[2] == 'Z' || state[2] == 'X'))
      return 0;
  }
  return start;
}

bool
hutch_state_pid_alive (pid_t pid, unsigned long long start)
{
  return pid > 0 && start != 0 && hutch_state_pid_start (pid) == start;
}

void
hutch_state_boot_id (char buf[40])
{
  int fd = open ("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? read (fd, buf, 39) : -1;
  if (fd >= 0)
    close (fd);
  if (n < 0)
    n = 0;
  buf[n] = '\0';
  if (n > 0 && buf[n - 1] == '\n')
    buf[n - 1] = '\0';
}

int
hutch_state_flag (int dirfd, const char *flag, bool on)
{
  if (!on)
    return unlinkat (dirfd, flag, 0) == 0 || errno == ENOENT ? 0 : -1;
  {
    int fd = openat (dirfd, flag, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
      return -1;
    close (fd);
  }
  return 0;
}

long long
hutch_state_now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
