/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* The process's own kernel attributes from config.json (procattr.h).
   None of them needs a privilege that the container's user namespace
   gives: the kernel checks the scheduler, the I/O priority and a lower
   OOM score against capabilities of the host (the initial user
   namespace), so a rootless container can ask only for what the user
   could ask on the host, and a refusal says so.  */

#include "runtime/procattr.h"
#include "base/util.h"
#include "base/walk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

int
hutch_child_oom_score_adj (const struct hutch_spec *spec, hutch_error_t *err)
{
  _cleanup_close_ int fd = -1;
  char cur[16] = "", val[16];
  struct statfs sfs;
  ssize_t n;

  if (!spec->has_oom_score_adj)
    return 0;
  fd = open ("/proc/self/oom_score_adj", O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || fstatfs (fd, &sfs) < 0)
    return hutch_error_set (err, errno, "process.oomScoreAdj: open /proc/self/oom_score_adj");
  if (sfs.f_type != PROC_SUPER_MAGIC)
    return hutch_error_set (err, 0, "process.oomScoreAdj: /proc/self/oom_score_adj is not procfs");
  n = read (fd, cur, sizeof cur - 1);
  cur[n > 0 ? n : 0] = '\0';
  cur[strcspn (cur, "\n")] = '\0';
  snprintf (val, sizeof val, "%d", spec->oom_score_adj);
  if (lseek (fd, 0, SEEK_SET) < 0 || write (fd, val, strlen (val)) < 0)
    {
      if (errno == EACCES || errno == EPERM)
        return hutch_error_set (err, errno,
                                "process.oomScoreAdj %d is refused by the kernel: a process may "
                                "lower its adjustment (now %s) only down to the least value a "
                                "privileged process gave it, and below that only with "
                                "CAP_SYS_RESOURCE of the host, which a container in a user "
                                "namespace never has; ask for %s or more",
                                spec->oom_score_adj, cur, cur);
      return hutch_error_set (err, errno, "process.oomScoreAdj: write %d", spec->oom_score_adj);
    }
  return 0;
}

/* struct sched_attr of <linux/sched/types.h>, the first version (48
   bytes: no utilization clamps, which the parser refuses).  */
struct sched_attr_v0
{
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
};

static int
set_scheduler (const struct hutch_sched *s, hutch_error_t *err)
{
  struct sched_attr_v0 attr = { 0 };
  bool rt = s->policy == 1 || s->policy == 2;

  attr.size = sizeof attr;
  attr.sched_policy = s->policy;
  attr.sched_flags = s->flags;
  attr.sched_nice = s->nice;
  attr.sched_priority = s->priority;
  attr.sched_runtime = s->runtime;
  attr.sched_deadline = s->deadline;
  attr.sched_period = s->period;
  if (syscall (SYS_sched_setattr, 0, &attr, 0) == 0)
    return 0;
  if (errno == EPERM && rt)
    return hutch_error_set (err, errno,
                            "process.scheduler: the kernel refused the real-time policy with "
                            "priority %u: it needs CAP_SYS_NICE of the host (never given to a "
                            "user namespace) or an RLIMIT_RTPRIO of at least %u in "
                            "process.rlimits, within the hard limit the host gives you",
                            s->priority, s->priority);
  if (errno == EPERM && s->policy == 6)
    return hutch_error_set (err, errno,
                            "process.scheduler: SCHED_DEADLINE needs CAP_SYS_NICE of the host, "
                            "which a user namespace never gives");
  if (errno == EPERM && s->nice < 0)
    return hutch_error_set (err, errno,
                            "process.scheduler: the kernel refused nice %d: a negative nice "
                            "needs CAP_SYS_NICE of the host or an RLIMIT_NICE of at least %d "
                            "in process.rlimits, within the hard limit the host gives you",
                            s->nice, 20 - s->nice);
  if (errno == EINVAL)
    return hutch_error_set (err, errno,
                            "process.scheduler: the kernel refused these values (priority must "
                            "be 1 to 99 for SCHED_FIFO and SCHED_RR and 0 for the others; "
                            "SCHED_DEADLINE needs runtime <= deadline <= period, each at least "
                            "1024 ns)");
  if (errno == EBUSY)
    return hutch_error_set (err, errno,
                            "process.scheduler: SCHED_DEADLINE's admission test failed: the CPUs "
                            "have no bandwidth left for this runtime and period");
  return hutch_error_set (err, errno, "process.scheduler: sched_setattr");
}

static int
set_ioprio (const struct hutch_spec *spec, hutch_error_t *err)
{
  static const char *const names[]
      = { "", "IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE" };
  int value = (spec->ioprio_class << 13) | spec->ioprio_level;

  if (syscall (SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, value) == 0)
    return 0;
  if (errno == EPERM)
    return hutch_error_set (err, errno,
                            "process.ioPriority: the kernel refused %s: it needs CAP_SYS_ADMIN "
                            "or CAP_SYS_NICE of the host, which a user namespace never gives; "
                            "ask for IOPRIO_CLASS_BE or IOPRIO_CLASS_IDLE",
                            names[spec->ioprio_class]);
  return hutch_error_set (err, errno, "process.ioPriority: ioprio_set %s %d",
                          names[spec->ioprio_class], spec->ioprio_level);
}

int
hutch_child_process_attrs (const struct hutch_spec *spec, hutch_error_t *err)
{
  if (spec->sched && set_scheduler (spec->sched, err) < 0)
    return -1;
  if (spec->has_ioprio && set_ioprio (spec, err) < 0)
    return -1;
  if (spec->has_umask)
    umask ((mode_t)spec->umask);
  return 0;
}

char *
hutch_passwd_home (const char *passwd, unsigned int uid)
{
  const char *line = passwd;

  while (line && *line)
    {
      const char *end = strchr (line, '\n'), *f[7];
      size_t len = end ? (size_t)(end - line) : strlen (line);
      const char *p = line;
      int k = 0;

      /* name:password:uid:gid:gecos:home:shell */
      f[k++] = p;
      while (k < 7 && (p = memchr (p, ':', len - (size_t)(p - line))) != NULL)
        f[k++] = ++p;
      if (k == 7)
        {
          char *stop = NULL;
          unsigned long u = strtoul (f[2], &stop, 10);
          if (stop && *stop == ':' && stop != f[2] && u == uid && f[6] - 1 > f[5])
            return hutch_xstrndup (f[5], (size_t)(f[6] - 1 - f[5]));
        }
      line = end ? end + 1 : NULL;
    }
  return NULL;
}

int
hutch_child_set_home (struct hutch_spec *spec, int rootfd, hutch_error_t *err)
{
  _cleanup_close_ int fd = -1;
  _cleanup_free_ char *text = NULL, *home = NULL, *kv = NULL;
  struct stat st;

  if (hutch_spec_getenv (spec, "HOME") != NULL)
    return 0;
  /* The container's file, resolved in its root, and only a regular file:
     not a FIFO that would block the start, nor a device node (of an image
     of the host's root) that an open would wake; nothing bigger than a
     passwd file can sensibly be.  The root is not the container's to
     change yet: its process has not started.  */
  fd = hutch_walk_open_in_root (rootfd, "/etc/passwd", O_PATH, 0);
  if (fd >= 0 && fstat (fd, &st) == 0 && S_ISREG (st.st_mode))
    {
      close (fd);
      fd = hutch_walk_open_in_root (rootfd, "/etc/passwd", O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
    }
  else if (fd >= 0)
    {
      close (fd);
      fd = -1;
    }
  if (fd >= 0 && fstat (fd, &st) == 0 && S_ISREG (st.st_mode))
    {
      hutch_error_t e = HUTCH_ERROR_INIT;
      if (hutch_read_fd (fd, 4 << 20, &text, NULL, &e) < 0)
        {
          hutch_error_set (err, e.errnum,
                           "HOME: read the container's /etc/passwd (to find uid %u's home): %s",
                           spec->uid, e.msg);
          hutch_error_clear (&e);
          return -1;
        }
      home = hutch_passwd_home (text, spec->uid);
    }
  kv = hutch_xasprintf ("HOME=%s", home && home[0] == '/' ? home : "/");
  hutch_spec_setenv (spec, kv);
  return 0;
}
