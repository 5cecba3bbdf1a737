/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_STATS_H
#define HUTCH_STATS_H

/* What a running container uses (hutch stats): read from its own cgroup
   (cpu.stat, memory.current, memory.max, memory.stat, pids.current,
   io.stat) and from its network namespace (/proc/PID/net/dev of its
   first process).  Raw numbers: the front end makes rates of two
   readings and writes them for people.  Nothing here takes a lock or
   changes anything.  */

#include <stdbool.h>
#include <sys/types.h>

/* What a reading holds: a field is missing when the file it comes from
   is (no cgroup of its own, a controller not enabled in it, the host's
   network).  */
enum
{
  HUTCH_STATS_CPU = 1u << 0,   /* cpu_usec */
  HUTCH_STATS_MEM = 1u << 1,   /* mem_usage, mem_limit */
  HUTCH_STATS_PIDS = 1u << 2,  /* pids */
  HUTCH_STATS_BLKIO = 1u << 3, /* blk_read, blk_write */
  HUTCH_STATS_NET = 1u << 4,   /* net_rx, net_tx */
};

/* The fields that come from the cgroup.  */
#define HUTCH_STATS_CGROUP_FIELDS                                                                  \
  (HUTCH_STATS_CPU | HUTCH_STATS_MEM | HUTCH_STATS_PIDS | HUTCH_STATS_BLKIO)

struct hutch_stats
{
  long long when;                         /* CLOCK_MONOTONIC of the reading, ns */
  unsigned int have;                      /* HUTCH_STATS_* */
  unsigned long long cpu_usec;            /* CPU time of every process, ever (usage_usec) */
  unsigned long long mem_usage;           /* memory.current less inactive_file, as docker counts */
  unsigned long long mem_limit;           /* memory.max, or the host's MemTotal for "max" */
  unsigned long long pids;                /* tasks (pids.current, else cgroup.threads counted) */
  unsigned long long blk_read, blk_write; /* io.stat's rbytes and wbytes, all devices */
  unsigned long long net_rx, net_tx;      /* bytes of every interface but lo */
};

/* Read what the container uses now.  CGROUP: its cgroup (a host path, as
   the state has it), or NULL; PID: its first process, or 0.  Whatever
   cannot be read is left out of RET->have.  */
void hutch_stats_read (const char *cgroup, pid_t pid, struct hutch_stats *ret);

/* The CPU use between two readings of one container, in percent of one
   CPU (two busy CPUs: 200), as docker and podman count it; -1 when either
   reading has no CPU time or they are in the wrong order.  */
double hutch_stats_cpu_percent (const struct hutch_stats *before, const struct hutch_stats *now);

/* Why a container with CGROUP (NULL: none of its own) has no MISSING
   fields (HUTCH_STATS_* of the cgroup): a sentence computed for this host
   ("it has no cgroup of its own: ..."), for the front end's one line.  */
char *hutch_stats_why_missing (const char *cgroup, unsigned int missing);

/* The parsers, for the unit tests.  Each returns 0, or -1 when TEXT has
   nothing it knows.  */
int hutch_stats_parse_io (const char *text, unsigned long long *ret_read,
                          unsigned long long *ret_write);
int hutch_stats_parse_netdev (const char *text, unsigned long long *ret_rx,
                              unsigned long long *ret_tx);
/* The value of KEY in a flat keyed file ("usage_usec 123\n...").  */
int hutch_stats_parse_key (const char *text, const char *key, unsigned long long *ret);

#endif
