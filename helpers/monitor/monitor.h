/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_MONITOR_H
#define HUTCH_MONITOR_H

/* What the parts of hutch-monitor share (see monitor.c).  Everything is
   static and bounded: no allocation on the path that copies output.  */

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

/* One read of the container's output: at most this much, sent whole to
   each client and logged as records of at most this much.  */
#define MON_CHUNK 8192

/* log.c: the k8s-file log.  */

/* Open PATH for appending, to be rotated at MAX_SIZE bytes (0: never)
   keeping MAX_FILE files.  -1 with errno.  */
int mon_log_open (const char *path, unsigned long long max_size, unsigned int max_file);
/* Write DATA (N bytes) of STREAM (1 stdout, 2 stderr) as records: one F
   record for each line, a P record for what follows the last newline
   and for each piece of a line longer than a record holds.  */
void mon_log_write (int stream, const char *data, size_t n);
void mon_log_close (void);

/* attach.c: the attach socket and its clients.  */

/* Listen on RUNDIR_FD/attach.  -1 with errno.  */
int mon_attach_listen (int rundir_fd);
/* Where the clients' input goes: STDIN_FD (-1: nowhere), and PTY_FD for
   resizes (-1: none).  */
void mon_attach_set_targets (int stdin_fd, int pty_fd);
/* Send MSG (the type byte, then N - 1 bytes of data) to every client;
   drop those that cannot take it now.  */
void mon_attach_broadcast (const char *msg, size_t n);
/* Fill PFD (room for at least mon_attach_max_pollfds ()) with what the
   attach side waits for; returns how many.  */
size_t mon_attach_pollfds (struct pollfd *pfd);
size_t mon_attach_max_pollfds (void);
/* Handle what poll() reported in the N entries that mon_attach_pollfds
   filled.  */
void mon_attach_events (const struct pollfd *pfd, size_t n);
/* Stop taking input (the container ended): clients only receive.  */
void mon_attach_input_off (void);
/* Close every client and the socket, and remove it.  */
void mon_attach_close (int rundir_fd);

/* cgroup.c: the container's cgroup after the container.  */

/* Whether PATH/memory.events counts an OOM kill.  */
bool mon_cgroup_oom (const char *path);
/* Kill what is left in PATH, wait until it is empty (at most 2 s),
   remove it and the cgroups below it; with LEAF, switch off ENABLED
   (comma-separated controllers) in BASE, move this process back to BASE
   and remove LEAF.  Best effort.  */
void mon_cgroup_teardown (const char *path, const char *base, const char *leaf,
                          const char *enabled);

/* tz.c: local time, without the C library's time-zone code.  */

struct mon_tm
{
  long long year;
  int mon, mday, hour, min, sec; /* 1-12, 1-31, 0-23, 0-59, 0-59 */
  long gmtoff;                   /* seconds east of UTC */
};

/* The offset from UTC (seconds east) of local time at T (seconds since
   the epoch): TZ, else /etc/localtime, as glibc reads them.  */
long mon_tz_offset (long long t);
void mon_tz_localtime (long long t, struct mon_tm *ret);
/* Forget the zone (TZ changed: tests).  */
void mon_tz_reset (void);

#endif
