/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The container's cgroup after the container: OOM kills counted, what is
   left killed, the cgroup and those below it removed, and the user's
   cgroup left as hutch found it.  The same steps as
   hutch_cgroup_teardown and hutch_cgroup_remove_at (src/runtime/cgroup.c),
   written again with static buffers and getdents64 so that the monitor
   links nothing of the runtime but the state.  Best effort throughout: a
   cgroup that cannot be removed is left to `hutch rm` and systemd.

   Trust: the container may have made cgroups below its own (a writable
   cgroup mount) and may keep forking; names come from the kernel
   (getdents64), are opened relative to their parent's fd without
   following links, and removal goes MAX_DEPTH levels down and no
   deeper.  */

#include <config.h>

#include "monitor.h"
#include "base/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_DEPTH 32

static void
sleep_ms (long ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}

/* NAME in DFD into BUF (NUL-terminated); its length, or -1.  */
static ssize_t
read_at (int dfd, const char *name, char *buf, size_t size)
{
  int fd = openat (dfd, name, O_RDONLY | O_CLOEXEC);
  ssize_t n;

  if (fd < 0)
    return -1;
  do
    n = read (fd, buf, size - 1);
  while (n < 0 && errno == EINTR);
  close (fd);
  if (n < 0)
    return -1;
  buf[n] = '\0';
  return n;
}

static int
write_at (int dfd, const char *name, const char *s)
{
  int fd = openat (dfd, name, O_WRONLY | O_CLOEXEC);
  ssize_t n;
  int e;

  if (fd < 0)
    return -1;
  do
    n = write (fd, s, strlen (s));
  while (n < 0 && errno == EINTR);
  e = errno;
  close (fd);
  errno = e;
  return n < 0 ? -1 : 0;
}

static bool
populated (int dfd)
{
  char buf[256];
  return read_at (dfd, "cgroup.events", buf, sizeof buf) > 0 && strstr (buf, "populated 1");
}

bool
mon_cgroup_oom (const char *path)
{
  char buf[1024];
  const char *p;
  int dfd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  bool oom = false;

  if (dfd < 0)
    return false;
  /* "oom_kill N": processes the OOM killer ended (not "oom N", the times
     the limit was hit).  */
  if (read_at (dfd, "memory.events", buf, sizeof buf) > 0 && (p = strstr (buf, "\noom_kill ")))
    oom = strtoull (p + 10, NULL, 10) > 0;
  close (dfd);
  return oom;
}

/* SIGKILL every process listed in DFD's cgroup.procs, read in pieces.  */
static void
kill_procs (int dfd)
{
  char buf[1024];
  size_t have = 0;
  int fd = openat (dfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    return;
  for (;;)
    {
      ssize_t n = read (fd, buf + have, sizeof buf - 1 - have);
      char *p, *nl;
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      have += (size_t)n;
      buf[have] = '\0';
      for (p = buf; (nl = strchr (p, '\n')) != NULL; p = nl + 1)
        {
          long pid = strtol (p, NULL, 10);
          if (pid > 0)
            kill ((pid_t)pid, SIGKILL);
        }
      have = (size_t)(buf + have - p);
      memmove (buf, p, have);
    }
  close (fd);
}

/* Call FN on every cgroup below DFD (depth first when FN recurses).  */
static void
each_child (int dfd, int depth, void (*fn) (int dfd, const char *name, int depth))
{
  char buf[1024];
  long n, off;

  if (lseek (dfd, 0, SEEK_SET) < 0)
    return;
  while ((n = getdents64 (dfd, buf, sizeof buf)) > 0)
    for (off = 0; off < n;)
      {
        struct dirent64 *de = (struct dirent64 *)(void *)(buf + off);
        off += de->d_reclen;
        if (de->d_type == DT_DIR && strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
          fn (dfd, de->d_name, depth);
      }
}

static void
kill_child (int dfd, const char *name, int depth)
{
  int fd;

  if (depth >= MAX_DEPTH)
    return;
  fd = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return;
  kill_procs (fd);
  each_child (fd, depth + 1, kill_child);
  close (fd);
}

static void
remove_child (int dfd, const char *name, int depth)
{
  int fd;

  if (depth >= MAX_DEPTH)
    return;
  fd = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0)
    {
      each_child (fd, depth + 1, remove_child);
      close (fd);
    }
  unlinkat (dfd, name, AT_REMOVEDIR);
}

/* Wait, at most MS milliseconds, until nothing runs in DFD's cgroup: each
   change of cgroup.events wakes poll() with POLLPRI.  */
static void
wait_empty (int dfd, long ms)
{
  int fd = openat (dfd, "cgroup.events", O_RDONLY | O_CLOEXEC);
  long long end = hutch_now_ms () + ms;

  if (fd < 0)
    return;
  for (;;)
    {
      char buf[256];
      ssize_t n = pread (fd, buf, sizeof buf - 1, 0);
      struct pollfd pfd = { fd, POLLPRI, 0 };
      long long left = end - hutch_now_ms ();
      if (n <= 0)
        break;
      buf[n] = '\0';
      if (strstr (buf, "populated 1") == NULL || left <= 0)
        break;
      if (poll (&pfd, 1, (int)left) < 0 && errno != EINTR)
        break;
    }
  close (fd);
}

static void
remove_cgroup (const char *path)
{
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int k;

  if (fd < 0)
    return;
  /* cgroup.kill (Linux 5.14) kills everything below at once, also what
     forks meanwhile.  Before it: frozen first (5.2), so that the pids
     read from cgroup.procs stay theirs until SIGKILL (which a frozen
     process still takes), then killed level by level.  */
  if (populated (fd) && write_at (fd, "cgroup.kill", "1") < 0)
    {
      write_at (fd, "cgroup.freeze", "1");
      for (k = 0; k < 50 && populated (fd); k++)
        {
          kill_procs (fd);
          each_child (fd, 0, kill_child);
          sleep_ms (10);
        }
    }
  wait_empty (fd, 2000);
  each_child (fd, 0, remove_child);
  close (fd);
  /* The last process may leave a moment after cgroup.events said so.  */
  for (k = 0; k < 100 && rmdir (path) < 0 && errno == EBUSY; k++)
    sleep_ms (5);
}

void
mon_cgroup_teardown (const char *path, const char *base, const char *leaf, const char *enabled)
{
  int bfd;

  if (path)
    remove_cgroup (path);
  if (leaf == NULL || base == NULL)
    return;
  bfd = open (base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (bfd < 0)
    return;
  /* Controllers off again, then this process back from the leaf into
     BASE (a cgroup with controllers on for its children can hold no
     process), then the leaf gone.  */
  while (enabled && *enabled)
    {
      char w[64];
      size_t len = strcspn (enabled, ",");
      if (len > 0 && len < sizeof w - 1)
        {
          w[0] = '-';
          memcpy (w + 1, enabled, len);
          w[len + 1] = '\0';
          write_at (bfd, "cgroup.subtree_control", w);
        }
      enabled += len;
      if (*enabled == ',')
        enabled++;
    }
  if (write_at (bfd, "cgroup.procs", "0") == 0)
    rmdir (leaf);
  close (bfd);
}
