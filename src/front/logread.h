/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_LOGREAD_H
#define HUTCH_LOGREAD_H

/* Reading a container's log, for `hutch logs`.  Its monitor writes the
   container's output to STORE/containers/ID/ctr.log in the k8s-file
   format, one record a line:

     2021-01-26T14:35:02.466469536+01:00 stdout F the content

   the time (RFC 3339, nanoseconds, a numeric zone), the stream (stdout or
   stderr), F for the last piece of a line or P for a piece that the next
   record of the same stream continues, and the piece.  The log is
   rotated: ctr.log is the newest file, ctr.log.1 the one before it,
   ctr.log.2 the one before that...  (containers.h).

   A line's time is the time of its first piece: --since, --until and
   --timestamps go by it, so that a line is taken or left whole and its
   pieces are printed as they come (podman joins a line's pieces in memory
   and dates it by its last; a line without a newline could then take
   all memory).  */

#include "base/error.h"
#include "front/containers.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

enum hutch_logread_stream
{
  HUTCH_LOGREAD_STDOUT = 1,
  HUTCH_LOGREAD_STDERR = 2,
};

/* Where the log goes.  A callback rather than a FILE*: the records go to
   two places (stdout's records to one, stderr's to the other, as podman
   has it) in the order they were written, which only the caller can keep
   across its two streams (the CLI flushes one before it writes to the
   other); the buffering is the caller's; the tests collect the output in
   memory; and a failed write (a closed pipe) ends the reading with the
   caller's errno.  */
struct hutch_logread_out
{
  /* LEN bytes of STREAM's output (a timestamp and its space, a piece of a
     line, a newline).  Negative (-errno): stop; hutch_logread fails with
     it.  */
  int (*write) (void *data, enum hutch_logread_stream stream, const char *buf, size_t len);
  /* Called before -f waits, and at the end: what was written must show
     now.  NULL: nothing to do.  */
  int (*flush) (void *data);
  void *data;
};

struct hutch_logread_opts
{
  long long since; /* ns since the epoch: lines begun before are left out (LLONG_MIN: none) */
  long long until; /* lines begun after are left out, and -f ends then (LLONG_MAX: none) */
  long long tail;  /* the last TAIL lines of those between, -1: all */
  bool timestamps; /* each line prefixed with its time as written, and a space */
  bool follow;     /* then print what comes, until the container has ended */
};

#define HUTCH_LOGREAD_OPTS_INIT                                                                    \
  {                                                                                                \
    LLONG_MIN, LLONG_MAX, -1, false, false                                                         \
  }

struct hutch_logread_stats
{
  unsigned long long garbage; /* lines that were no record: skipped */
};

/* Print C's log (C->dir's ctr.log files, oldest first) through OUT, as O
   asks.  With O->follow, wait for more (inotify on C->dir: a rotation
   replaces ctr.log) until the container has ended for good, judged by its
   state in C->rundir and its restart policy (a container that its policy
   starts again is followed on), and everything it wrote is printed.  A
   container without a log file yet has an empty log.  */
int hutch_logread (const struct hutch_ctr *c, const struct hutch_logread_opts *o,
                   const struct hutch_logread_out *out, struct hutch_logread_stats *ret_stats,
                   hutch_error_t *err);

/* --since and --until, as docker takes them: an RFC 3339 time
   (2006-01-02T15:04:05.999999999Z07:00), shorter forms of it
   (2006-01-02, 2006-01-02T15, 2006-01-02T15:04, 2006-01-02T15:04:05; in
   local time without a zone), unix seconds with an optional fraction
   (1136214245.5), or a Go duration before NOW (10m, 1h30m, 42s, 1.5h;
   negative: after NOW).  *RET in ns since the epoch.  */
int hutch_logread_parse_time (const char *text, long long now, long long *ret, hutch_error_t *err);

/* --tail: a number of lines, or "all" or -1 for all (-1).  */
int hutch_logread_parse_tail (const char *text, long long *ret, hutch_error_t *err);

#endif
