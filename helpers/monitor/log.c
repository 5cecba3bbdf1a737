/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The container's log in the k8s-file format (podman's, from CRI):

     2021-01-26T14:35:02.466469536+01:00 stdout F a whole line
     2021-01-26T14:35:02.466469536+01:00 stderr P a part of a line

   one record per line: the local time (RFC 3339, nanoseconds, the zone as
   a number with a colon), the stream, F for a line whose newline the
   record consumed or P for output that had no newline yet (what follows
   the last newline of a read, and each piece of a line longer than a
   record holds), then the bytes as they came.  Every record of one read
   has the time of that read.  Records are built in a static buffer and
   written with one write(2) per read of the container's output: no
   allocation, whatever the container writes.

   Rotation: before a record that would take the file past max_size, the
   file is rotated: PATH.(N-2) -> PATH.(N-1), ..., PATH -> PATH.1 and a new
   PATH, with N = max_file > 1; with N = 1, PATH is emptied.  PATH is
   always the newest.  */

#include <config.h>

#include "monitor.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A record's header: "TIMESTAMP stdout F " is 45 bytes; this bounds it
   and the newline with room to spare.  */
#define HEADER_ROOM 64

static int log_fd = -1;
static const char *log_path;
static unsigned long long log_max_size, log_size;
static unsigned int log_max_file;
static char out[16384];
static size_t out_len;

static int
open_log (int extra_flags)
{
  return open (log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | extra_flags, 0600);
}

int
mon_log_open (const char *path, unsigned long long max_size, unsigned int max_file)
{
  struct stat st;

  log_path = path;
  log_max_size = max_size;
  log_max_file = max_file;
  log_fd = open_log (0);
  if (log_fd < 0)
    return -1;
  /* A restarted container appends to the log of its earlier runs.  */
  log_size = fstat (log_fd, &st) == 0 ? (unsigned long long)st.st_size : 0;
  return 0;
}

/* A full disk or an I/O error loses output, never stops the container:
   its output still has to be read, or it would block.  */
static void
flush_out (void)
{
  if (out_len > 0 && log_fd >= 0)
    (void)hutch_write_all (log_fd, out, out_len);
  out_len = 0;
}

static void
append (const char *p, size_t n)
{
  if (out_len + n > sizeof out)
    flush_out ();
  if (n > sizeof out)
    {
      if (log_fd >= 0)
        (void)hutch_write_all (log_fd, p, n);
      return;
    }
  memcpy (out + out_len, p, n);
  out_len += n;
}

static void
rotate (void)
{
  char from[PATH_MAX + 16], to[PATH_MAX + 16];
  unsigned int i;

  flush_out ();
  log_size = 0;
  if (log_max_file <= 1)
    {
      /* O_APPEND: the next write goes to the new end, offset 0.  */
      (void)ftruncate (log_fd, 0);
      return;
    }
  for (i = log_max_file - 1; i >= 2; i--)
    {
      snprintf (from, sizeof from, "%s.%u", log_path, i - 1);
      snprintf (to, sizeof to, "%s.%u", log_path, i);
      (void)rename (from, to);
    }
  snprintf (to, sizeof to, "%s.1", log_path);
  (void)rename (log_path, to);
  close (log_fd);
  log_fd = open_log (O_TRUNC);
}

static char *
put_num (char *p, unsigned long v, int width)
{
  int i;
  for (i = width - 1; i >= 0; i--)
    {
      p[i] = (char)('0' + v % 10);
      v /= 10;
    }
  return p + width;
}

/* "2021-01-26T14:35:02.466469536+01:00" into BUF; returns its length.  */
static size_t
timestamp (char *buf)
{
  struct timespec ts;
  struct mon_tm tm;
  long off;
  char *p = buf;

  clock_gettime (CLOCK_REALTIME, &ts);
  mon_tz_localtime (ts.tv_sec, &tm);
  off = tm.gmtoff / 60;
  p = put_num (p, (unsigned long)tm.year, 4);
  *p++ = '-';
  p = put_num (p, (unsigned long)tm.mon, 2);
  *p++ = '-';
  p = put_num (p, (unsigned long)tm.mday, 2);
  *p++ = 'T';
  p = put_num (p, (unsigned long)tm.hour, 2);
  *p++ = ':';
  p = put_num (p, (unsigned long)tm.min, 2);
  *p++ = ':';
  p = put_num (p, (unsigned long)tm.sec, 2);
  *p++ = '.';
  p = put_num (p, (unsigned long)ts.tv_nsec, 9);
  *p++ = off < 0 ? '-' : '+';
  if (off < 0)
    off = -off;
  p = put_num (p, (unsigned long)off / 60, 2);
  *p++ = ':';
  p = put_num (p, (unsigned long)off % 60, 2);
  return (size_t)(p - buf);
}

static void
record (const char *header, size_t header_len, const char *data, size_t n)
{
  unsigned long long len = header_len + n + 1;

  if (log_max_size > 0 && log_size > 0 && log_size + len > log_max_size)
    rotate ();
  append (header, header_len);
  append (data, n);
  append ("\n", 1);
  log_size += len;
}

void
mon_log_write (int stream, const char *data, size_t n)
{
  char header[HEADER_ROOM];
  size_t hlen, cap = MON_CHUNK;

  if (log_fd < 0)
    return;
  hlen = timestamp (header);
  memcpy (header + hlen, stream == 2 ? " stderr " : " stdout ", 8);
  hlen += 8;
  header[hlen + 1] = ' ';
  /* A bound smaller than a record: records small enough that each file
     stays within it.  */
  if (log_max_size > 0 && log_max_size < MON_CHUNK + HEADER_ROOM)
    cap = log_max_size > 2 * HEADER_ROOM ? (size_t)log_max_size - HEADER_ROOM : HEADER_ROOM;
  while (n > 0)
    {
      /* A newline right after a full record still ends that line.  */
      size_t look = n < cap + 1 ? n : cap + 1;
      const char *nl = memchr (data, '\n', look);
      size_t len, used;

      if (nl)
        {
          len = (size_t)(nl - data);
          used = len + 1;
          header[hlen] = 'F';
        }
      else
        {
          len = used = n < cap ? n : cap;
          header[hlen] = 'P';
        }
      record (header, hlen + 2, data, len);
      data += used;
      n -= used;
    }
  flush_out ();
}

void
mon_log_close (void)
{
  flush_out ();
  if (log_fd >= 0)
    close (log_fd);
  log_fd = -1;
}
