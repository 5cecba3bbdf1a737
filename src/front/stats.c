/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* hutch stats' readings (front/stats.h).  Every number comes from a file
   the kernel keeps for the container: its cgroup's (hierarchical: what
   the container's own cgroups below it use is counted too) and its
   network namespace's.  The cgroup's files are readable by anyone; the
   user reads /proc/PID/net/dev of a process of theirs.  */

#include "front/stats.h"
#include "base/util.h"
#include "runtime/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* cgroup files are small; io.stat has a line a device.  */
#define FILE_MAX (256 * 1024)
/* Containers that make cgroups of their own (systemd does) go a few
   levels down; a bound keeps a strange tree from costing much.  */
#define MAX_DEPTH 16

int
hutch_stats_parse_key (const char *text, const char *key, unsigned long long *ret)
{
  size_t n = strlen (key);
  const char *p = text;

  while (p && *p)
    {
      if (strncmp (p, key, n) == 0 && (p[n] == ' ' || p[n] == '\t'))
        {
          char *end;
          errno = 0;
          *ret = strtoull (p + n + 1, &end, 10);
          return errno || end == p + n + 1 ? -1 : 0;
        }
      p = strchr (p, '\n');
      if (p)
        p++;
    }
  return -1;
}

/* "MAJ:MIN rbytes=N wbytes=N rios=N ..." a line per device.  */
int
hutch_stats_parse_io (const char *text, unsigned long long *ret_read, unsigned long long *ret_write)
{
  unsigned long long r = 0, w = 0;
  const char *line = text;
  bool any = false;

  while (line && *line)
    {
      const char *end = strchr (line, '\n'), *p = line;
      size_t len = end ? (size_t)(end - line) : strlen (line);
      while (p < line + len)
        {
          const char *sp = memchr (p, ' ', (size_t)(line + len - p));
          const char *tok_end = sp ? sp : line + len;
          if (strncmp (p, "rbytes=", 7) == 0)
            r += strtoull (p + 7, NULL, 10), any = true;
          else if (strncmp (p, "wbytes=", 7) == 0)
            w += strtoull (p + 7, NULL, 10), any = true;
          p = tok_end + 1;
        }
      line = end ? end + 1 : NULL;
    }
  /* An empty io.stat (nothing read or written yet) is zeros.  */
  if (!any && *text != '\0')
    return -1;
  *ret_read = r;
  *ret_write = w;
  return 0;
}

/* /proc/net/dev: two heading lines, then "IFACE: 8 receive counters 8
   transmit counters", bytes first in each.  lo is the container's talk
   with itself, as docker leaves it out.  */
int
hutch_stats_parse_netdev (const char *text, unsigned long long *ret_rx, unsigned long long *ret_tx)
{
  unsigned long long rx = 0, tx = 0;
  const char *line = text;
  bool any = false;

  while (line && *line)
    {
      const char *end = strchr (line, '\n'), *colon = strchr (line, ':'), *name = line;
      unsigned long long v[9];
      if (colon && (end == NULL || colon < end))
        {
          while (*name == ' ')
            name++;
          if (sscanf (colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
                      &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8])
              == 9)
            {
              any = true;
              if (!((size_t)(colon - name) == 2 && strncmp (name, "lo", 2) == 0))
                {
                  rx += v[0];
                  tx += v[8];
                }
            }
        }
      line = end ? end + 1 : NULL;
    }
  if (!any)
    return -1;
  *ret_rx = rx;
  *ret_tx = tx;
  return 0;
}

static char *
read_text (const char *dir, const char *name)
{
  _cleanup_free_ char *p = hutch_xasprintf ("%s/%s", dir, name);
  hutch_error_t e = HUTCH_ERROR_INIT;
  char *text = NULL;

  if (hutch_read_file (p, FILE_MAX, &text, NULL, &e) < 0)
    {
      hutch_error_clear (&e);
      return NULL;
    }
  return text;
}

static int
read_number (const char *dir, const char *name, unsigned long long *ret)
{
  _cleanup_free_ char *text = read_text (dir, name);
  char *end;

  if (text == NULL)
    return -1;
  errno = 0;
  *ret = strtoull (text, &end, 10);
  return errno || end == text ? -1 : 0;
}

static unsigned long long
host_memory (void)
{
  _cleanup_free_ char *text = read_text ("/proc", "meminfo");
  unsigned long long kib = 0;
  char *p = text ? strstr (text, "MemTotal:") : NULL;

  if (p)
    kib = strtoull (p + 9, NULL, 10);
  return kib * 1024;
}

/* The tasks of the cgroup DFD and those below it: what pids.current says
   where the pids controller is not enabled.  */
static unsigned long long
count_tasks (int dfd, int depth)
{
  unsigned long long n = 0;
  int fd = openat (dfd, "cgroup.threads", O_RDONLY | O_CLOEXEC);
  hutch_error_t e = HUTCH_ERROR_INIT;
  _cleanup_free_ char *text = NULL;
  DIR *d;
  struct dirent *de;
  char *p;

  if (fd >= 0 && hutch_read_fd (fd, 4 * 1024 * 1024, &text, NULL, &e) == 0)
    for (p = text; *p; p++)
      n += *p == '\n';
  hutch_error_clear (&e);
  if (fd >= 0)
    close (fd);
  if (depth >= MAX_DEPTH)
    return n;
  fd = openat (dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  d = fd >= 0 ? fdopendir (fd) : NULL;
  if (d == NULL)
    {
      if (fd >= 0)
        close (fd);
      return n;
    }
  while ((de = readdir (d)) != NULL)
    if (de->d_type == DT_DIR && strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      {
        int sub = openat (dirfd (d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0)
          {
            n += count_tasks (sub, depth + 1);
            close (sub);
          }
      }
  closedir (d);
  return n;
}

static void
read_cgroup (const char *cg, struct hutch_stats *s)
{
  _cleanup_free_ char *cpu = read_text (cg, "cpu.stat");
  _cleanup_free_ char *io = NULL, *mstat = NULL, *max = NULL;
  unsigned long long v;

  /* usage_usec is in every cgroup's cpu.stat, cpu controller or not.  */
  if (cpu && hutch_stats_parse_key (cpu, "usage_usec", &s->cpu_usec) == 0)
    s->have |= HUTCH_STATS_CPU;
  if (read_number (cg, "memory.current", &s->mem_usage) == 0)
    {
      /* docker's and podman's MEM USAGE leave out the page cache that the
         kernel would drop first (inactive_file): what a `cat` of a big
         file leaves behind is not the container's need.  */
      mstat = read_text (cg, "memory.stat");
      if (mstat && hutch_stats_parse_key (mstat, "inactive_file", &v) == 0 && v < s->mem_usage)
        s->mem_usage -= v;
      max = read_text (cg, "memory.max");
      if (max && strncmp (max, "max", 3) != 0)
        s->mem_limit = strtoull (max, NULL, 10);
      else
        s->mem_limit = host_memory ();
      s->have |= HUTCH_STATS_MEM;
    }
  if (read_number (cg, "pids.current", &s->pids) == 0)
    s->have |= HUTCH_STATS_PIDS;
  else
    {
      _cleanup_close_ int fd = open (cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd >= 0)
        {
          s->pids = count_tasks (fd, 0);
          s->have |= HUTCH_STATS_PIDS;
        }
    }
  io = read_text (cg, "io.stat");
  if (io && hutch_stats_parse_io (io, &s->blk_read, &s->blk_write) == 0)
    s->have |= HUTCH_STATS_BLKIO;
}

static bool
same_netns (pid_t pid)
{
  char path[64];
  struct stat a, b;
  snprintf (path, sizeof path, "/proc/%d/ns/net", (int)pid);
  return stat ("/proc/self/ns/net", &a) == 0 && stat (path, &b) == 0 && a.st_ino == b.st_ino
         && a.st_dev == b.st_dev;
}

void
hutch_stats_read (const char *cgroup, pid_t pid, struct hutch_stats *ret)
{
  struct timespec ts;

  memset (ret, 0, sizeof *ret);
  clock_gettime (CLOCK_MONOTONIC, &ts);
  ret->when = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
  if (cgroup)
    read_cgroup (cgroup, ret);
  /* --network host: the host's interfaces, whose traffic is not the
     container's.  */
  if (pid > 0 && !same_netns (pid))
    {
      char dir[64];
      _cleanup_free_ char *text = NULL;
      snprintf (dir, sizeof dir, "/proc/%d/net", (int)pid);
      text = read_text (dir, "dev");
      if (text && hutch_stats_parse_netdev (text, &ret->net_rx, &ret->net_tx) == 0)
        ret->have |= HUTCH_STATS_NET;
    }
}

double
hutch_stats_cpu_percent (const struct hutch_stats *before, const struct hutch_stats *now)
{
  if (!(before->have & now->have & HUTCH_STATS_CPU) || now->when <= before->when)
    return -1;
  /* A container started again between the readings has a new cgroup.  */
  if (now->cpu_usec < before->cpu_usec)
    return 0;
  return (double)(now->cpu_usec - before->cpu_usec) * 1000.0 * 100.0
         / (double)(now->when - before->when);
}

/* ---- why a column shows -- ------------------------------------------ */

static bool
word_in (const char *list, const char *word)
{
  size_t n = strlen (word);
  const char *p = list;
  while (p && (p = strstr (p, word)) != NULL)
    {
      if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' ' || p[n] == '\n'))
        return true;
      p += n;
    }
  return false;
}

static char *
why_no_cgroup (const struct hutch_cgroup_host *h)
{
  if (!h->delegated)
    return hutch_xasprintf ("no cgroup of its own, as no cgroup v2 subtree is delegated to you "
                            "here (%s)",
                            h->why_not ? h->why_not : "none was found");
  return hutch_xstrdup ("no cgroup of its own: run with --cgroups=disabled, or from a cgroup "
                        "that was not delegated to you");
}

/* The controllers of MISSING's fields that the cgroup above CGROUP lacks
   (not delegated, or held by cgroup v1) and those it has but did not
   give: hutch enables a controller for a container only when one of its
   limits needs it.  */
static char *
why_no_controllers (const struct hutch_cgroup_host *h, const char *cgroup, unsigned int missing)
{
  static const struct
  {
    unsigned int field;
    const char *controller, *option;
  } map[] = {
    { HUTCH_STATS_MEM, "memory", "--memory" },
    { HUTCH_STATS_BLKIO, "io", "--blkio-weight" },
    { HUTCH_STATS_PIDS, "pids", "--pids-limit" },
  };
  _cleanup_free_ char *parent = hutch_xstrdup (cgroup), *above = NULL;
  _cleanup_strv_ char **lacked = NULL, **off = NULL, **opts = NULL, **all = NULL;
  _cleanup_free_ char *all_text = NULL, *lacked_text = NULL, *off_text = NULL, *opts_text = NULL;
  _cleanup_free_ char *v1 = NULL;
  char *slash = strrchr (parent, '/');
  size_t i;

  if (slash)
    *slash = '\0';
  above = read_text (parent, "cgroup.controllers");
  for (i = 0; i < sizeof map / sizeof *map; i++)
    {
      if (!(missing & map[i].field))
        continue;
      hutch_strv_push (&all, hutch_xstrdup (map[i].controller));
      if (above && word_in (above, map[i].controller))
        {
          hutch_strv_push (&off, hutch_xstrdup (map[i].controller));
          hutch_strv_push (&opts, hutch_xasprintf ("%s for %s", map[i].option, map[i].controller));
        }
      else
        hutch_strv_push (&lacked, hutch_xstrdup (map[i].controller));
    }
  if (all == NULL)
    return hutch_xstrdup ("its cgroup does not say");
  all_text = hutch_join_and (all);
  if (lacked)
    {
      lacked_text = hutch_join_and (lacked);
      v1 = hutch_cgroup_v2_missing (h, (const char *const *)lacked);
    }
  if (off)
    {
      _cleanup_free_ char *names = hutch_join_and (off);
      opts_text = hutch_join_and (opts);
      off_text = hutch_xasprintf ("hutch enables %s in a container's cgroup only for a limit that "
                                  "needs it (%s)",
                                  names, opts_text);
    }
  if (lacked)
    {
      /* hutch_cgroup_v2_missing's sentence (with the administrator's
         fix) is hutch info's; here only what it found.  */
      char *t = v1 ? hutch_xasprintf ("cgroup v1 holds %s on this host (hybrid mode), out of "
                                      "reach of any delegation",
                                      lacked_text)
                   : hutch_xasprintf ("the cgroup above it has no %s to give: it is not "
                                      "delegated to you",
                                      lacked_text);
      free (lacked_text);
      lacked_text = t;
    }
  return hutch_xasprintf ("no %s controller%s in its cgroup: %s%s%s", all_text,
                          hutch_strv_len (all) > 1 ? "s" : "", lacked ? lacked_text : "",
                          lacked && off ? "; " : "", off ? off_text : "");
}

char *
hutch_stats_why_missing (const char *cgroup, unsigned int missing)
{
  struct hutch_cgroup_host h;
  hutch_error_t e = HUTCH_ERROR_INIT;
  char *why;

  memset (&h, 0, sizeof h);
  if (hutch_cgroup_probe (&h, &e) < 0)
    {
      why = hutch_xasprintf ("%s (%s)", cgroup ? "not in its cgroup" : "no cgroup of its own",
                             e.msg);
      hutch_error_clear (&e);
      return why;
    }
  why = cgroup ? why_no_controllers (&h, cgroup, missing) : why_no_cgroup (&h);
  hutch_cgroup_host_clear (&h);
  return why;
}
