/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* Reading a container's log (logread.h).

   The files are read in order, oldest first, and each file is found by
   its inode, never by its name alone: the monitor rotates while we read
   (ctr.log becomes ctr.log.1, a new ctr.log appears), so after a file we
   look for the one named just after it now.  A file that a newer one
   follows cannot grow any more: it is read to its end ("finished"), and
   bytes after its last newline are taken as a record.  The newest file's
   bytes after its last newline are a record being written: kept until
   its newline comes (-f), or left out.

   --tail counts lines in a first pass, which remembers where each of the
   last N lines in the --since/--until window began (a ring of marks),
   then prints from the oldest mark, with the files it read held open so
   that a rotation in between changes nothing.  */

#include "front/logread.h"
#include "base/units.h"
#include "base/util.h"
#include "runtime/state.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK (64 * 1024)
/* A record longer than this is none of the monitor's (it cuts a long line
   into P pieces far shorter): garbage, dropped up to its newline, so that
   a file without newlines cannot take all memory.  */
#define MAX_RECORD (1024 * 1024)
/* How long -f waits, once the container looks ended but could be started
   again, before it takes the end as final.  */
#define FOLLOW_GRACE_MS 1000
/* How often -f looks at the state and the directory when nothing woke it:
   a safety net for what inotify and pidfds do not say (a holder killed
   where pidfd_open is missing, a queue overflow).  */
#define FOLLOW_POLL_MS 1000
/* The same without inotify (no instance left: fs.inotify.max_user_instances).  */
#define FOLLOW_POLL_NO_INOTIFY_MS 200

#define NS_PER_SEC 1000000000LL

/* ---- times ---------------------------------------------------------- */

struct civil
{
  int year, mon, mday, hour, min, sec;
  long nsec;
  bool zone;   /* a zone was given: else local time */
  long offset; /* the zone's offset east of UTC, in seconds */
};

static bool
digits (const char **p, const char *end, int n, int *ret)
{
  int v = 0, i;

  for (i = 0; i < n; i++)
    {
      if (*p >= end || !isdigit ((unsigned char)**p))
        return false;
      v = v * 10 + (**p - '0');
      (*p)++;
    }
  *ret = v;
  return true;
}

static bool
leap (int y)
{
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days (int y, int m)
{
  static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
  return m == 2 && leap (y) ? 29 : days[m - 1];
}

/* YYYY-MM-DD[Thh[:mm[:ss[.fraction]]]][Z|±hh:mm], the whole of [S, END).
   FULL: the records' own form, seconds and a zone required.  */
static bool
parse_civil (const char *s, const char *end, bool full, struct civil *ret)
{
  const char *p = s;
  struct civil c;
  int parts = 0;

  memset (&c, 0, sizeof c);
  if (!digits (&p, end, 4, &c.year) || p >= end || *p++ != '-' || !digits (&p, end, 2, &c.mon)
      || p >= end || *p++ != '-' || !digits (&p, end, 2, &c.mday))
    return false;
  if (p < end && (*p == 'T' || *p == 't'))
    {
      p++;
      if (!digits (&p, end, 2, &c.hour))
        return false;
      parts = 1;
      if (p < end && *p == ':')
        {
          p++;
          if (!digits (&p, end, 2, &c.min))
            return false;
          parts = 2;
          if (p < end && *p == ':')
            {
              p++;
              if (!digits (&p, end, 2, &c.sec))
                return false;
              parts = 3;
            }
        }
    }
  if (parts == 3 && p < end && (*p == '.' || *p == ','))
    {
      long scale = NS_PER_SEC / 10;
      p++;
      if (p >= end || !isdigit ((unsigned char)*p))
        return false;
      for (; p < end && isdigit ((unsigned char)*p); p++, scale /= 10)
        c.nsec += (*p - '0') * scale;
    }
  if (full && parts < 3)
    return false;
  if (p < end && (*p == 'Z' || *p == 'z'))
    {
      c.zone = true;
      p++;
    }
  else if (p < end && (*p == '+' || *p == '-'))
    {
      int sign = *p++ == '-' ? -1 : 1, hh, mm;
      if (!digits (&p, end, 2, &hh) || p >= end || *p++ != ':' || !digits (&p, end, 2, &mm)
          || hh > 23 || mm > 59)
        return false;
      c.zone = true;
      c.offset = sign * (hh * 3600L + mm * 60L);
    }
  if (p != end || (full && !c.zone))
    return false;
  if (c.mon < 1 || c.mon > 12 || c.mday < 1 || c.mday > month_days (c.year, c.mon) || c.hour > 23
      || c.min > 59 || c.sec > 59)
    return false;
  *ret = c;
  return true;
}

/* Days from 1970-01-01 to Y-M-D (proleptic Gregorian; Howard Hinnant's
   days_from_civil).  */
static long long
days_from_civil (long long y, int m, int d)
{
  long long era, yoe, doy, doe;

  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/* SEC seconds and NSEC ns since the epoch, in ns, held to what a long
   long holds (1677 to 2262): a --until in year 9999 means "no bound".  */
static long long
ns_of (long long sec, long nsec)
{
  long long r;

  if (__builtin_mul_overflow (sec, NS_PER_SEC, &r) || __builtin_add_overflow (r, nsec, &r))
    return sec < 0 ? LLONG_MIN : LLONG_MAX;
  return r;
}

static long long
civil_ns (const struct civil *c)
{
  long long sec;

  if (c->zone)
    sec = days_from_civil (c->year, c->mon, c->mday) * 86400LL + c->hour * 3600LL + c->min * 60LL
          + c->sec - c->offset;
  else
    {
      struct tm tm;
      memset (&tm, 0, sizeof tm);
      tm.tm_year = c->year - 1900;
      tm.tm_mon = c->mon - 1;
      tm.tm_mday = c->mday;
      tm.tm_hour = c->hour;
      tm.tm_min = c->min;
      tm.tm_sec = c->sec;
      tm.tm_isdst = -1;
      sec = (long long)mktime (&tm);
    }
  return ns_of (sec, c->nsec);
}

/* Unix seconds with an optional fraction: 1136214245[.999999999].  */
static bool
parse_unix (const char *s, long long *ret)
{
  long long sec = 0;
  long nsec = 0, scale = NS_PER_SEC / 10;

  if (!isdigit ((unsigned char)*s))
    return false;
  for (; isdigit ((unsigned char)*s); s++)
    if (__builtin_mul_overflow (sec, 10, &sec) || __builtin_add_overflow (sec, *s - '0', &sec))
      return false;
  if (*s == '.')
    {
      s++;
      if (!isdigit ((unsigned char)*s))
        return false;
      for (; isdigit ((unsigned char)*s); s++, scale /= 10)
        nsec += (*s - '0') * scale;
    }
  if (*s != '\0')
    return false;
  *ret = ns_of (sec, nsec);
  return true;
}

int
hutch_logread_parse_time (const char *text, long long now, long long *ret, hutch_error_t *err)
{
  struct civil c;
  long long v;

  /* docker's order (timetypes.GetTimestamp): a duration, a date, unix
     seconds; "0" is the epoch, not "now".  */
  if (strcmp (text, "0") != 0 && hutch_parse_duration (text, &v))
    {
      if (__builtin_sub_overflow (now, v, ret))
        *ret = v < 0 ? LLONG_MAX : LLONG_MIN;
      return 0;
    }
  if (parse_civil (text, text + strlen (text), false, &c))
    {
      *ret = civil_ns (&c);
      return 0;
    }
  if (parse_unix (text, &v))
    {
      *ret = v;
      return 0;
    }
  return hutch_error_set (err, 0,
                          "expected a time: RFC 3339 (2006-01-02T15:04:05Z or with +01:00), a "
                          "date (2006-01-02, local time), unix seconds (1136214245.5), or a "
                          "duration before now (42s, 10m, 1h30m)");
}

int
hutch_logread_parse_tail (const char *text, long long *ret, hutch_error_t *err)
{
  char *end;
  long long v;

  if (strcmp (text, "all") == 0)
    {
      *ret = -1;
      return 0;
    }
  errno = 0;
  v = strtoll (text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < -1
      || !isdigit ((unsigned char)text[*text == '-']))
    return hutch_error_set (err, 0, "expected a number of lines, or all (or -1) for all");
  *ret = v;
  return 0;
}

/* ---- records -------------------------------------------------------- */

struct record
{
  size_t ts_len; /* the time as written: the record's first TS_LEN bytes */
  long long time;
  int stream; /* enum hutch_logread_stream */
  bool partial;
  const char *msg;
  size_t msg_len;
};

/* TIME STREAM TAG CONTENT, without its newline.  An empty CONTENT may go
   without its space.  */
static bool
parse_record (const char *line, size_t len, struct record *ret)
{
  const char *end = line + len, *sp = memchr (line, ' ', len), *p;
  struct civil c;

  if (sp == NULL || !parse_civil (line, sp, true, &c))
    return false;
  p = sp + 1;
  if (end - p >= 7 && memcmp (p, "stdout ", 7) == 0)
    ret->stream = HUTCH_LOGREAD_STDOUT;
  else if (end - p >= 7 && memcmp (p, "stderr ", 7) == 0)
    ret->stream = HUTCH_LOGREAD_STDERR;
  else
    return false;
  p += 7;
  if (p >= end || (*p != 'F' && *p != 'P'))
    return false;
  ret->partial = *p++ == 'P';
  if (p < end && *p++ != ' ')
    return false;
  ret->ts_len = (size_t)(sp - line);
  ret->time = civil_ns (&c);
  ret->msg = p;
  ret->msg_len = (size_t)(end - p);
  return true;
}

/* ---- the reader ----------------------------------------------------- */

struct lfile
{
  int fd; /* -1: none */
  dev_t dev;
  ino_t ino;
  off_t off; /* the file offset of buf[0] */
  off_t end; /* --tail: where the first pass ended in it */
  char *buf; /* read, not yet taken: the start of a record */
  size_t len, cap;
  bool discard; /* dropping an overlong record up to its newline */
};

/* Where a line began, for --tail.  */
struct mark
{
  size_t file; /* the file's index among those read */
  off_t off;
  /* The streams whose line was open there (bit 1 << stream): their next
     pieces belong to a line before the mark.  */
  unsigned partial;
};

struct reader
{
  const struct hutch_ctr *c;
  const struct hutch_logread_opts *o;
  const struct hutch_logread_out *out;
  hutch_error_t *err;
  int dirfd;
  struct lfile cur; /* the file being read: the newest one found */
  /* --tail's first pass: the files before CUR, held open for the second,
     and the marks of the last O->tail lines in the window (a ring whose
     oldest entry is at HEAD once it is full).  */
  bool counting;
  struct lfile *held;
  size_t n_held;
  struct mark *marks;
  size_t n_marks, cap_marks, head;
  bool count_garbage; /* the second pass reads again what the first counted */
  bool partial[3];    /* by stream: its last record was a P */
  bool shown[3];      /* by stream: its open line is printed */
  struct hutch_logread_stats stats;
};

static void
lfile_init (struct lfile *f)
{
  memset (f, 0, sizeof *f);
  f->fd = -1;
}

static void
lfile_close (struct lfile *f)
{
  if (f->fd >= 0)
    close (f->fd);
  free (f->buf);
  lfile_init (f);
}

static int
emit (struct reader *r, int stream, const char *buf, size_t len)
{
  int ret;

  if (len == 0)
    return 0;
  ret = r->out->write (r->out->data, (enum hutch_logread_stream)stream, buf, len);
  if (ret < 0)
    return hutch_error_set (r->err, -ret, "writing the log of %s", r->c->name);
  return 0;
}

static int
flush_out (struct reader *r)
{
  int ret;

  if (r->out->flush == NULL)
    return 0;
  ret = r->out->flush (r->out->data);
  if (ret < 0)
    return hutch_error_set (r->err, -ret, "writing the log of %s", r->c->name);
  return 0;
}

static void
mark_push (struct reader *r, size_t file, off_t off, unsigned partial)
{
  struct mark m = { file, off, partial };

  if (r->o->tail <= 0)
    return;
  if (r->n_marks < (unsigned long long)r->o->tail)
    {
      if (r->n_marks == r->cap_marks)
        {
          r->cap_marks = r->cap_marks ? r->cap_marks * 2 : 64;
          if (r->cap_marks > (unsigned long long)r->o->tail)
            r->cap_marks = (size_t)r->o->tail;
          r->marks = hutch_xrealloc (r->marks, r->cap_marks * sizeof *r->marks);
        }
      r->marks[r->n_marks++] = m;
      return;
    }
  r->marks[r->head] = m;
  r->head = (r->head + 1) % r->n_marks;
}

static unsigned
partial_mask (const struct reader *r)
{
  return (r->partial[1] ? 1u << 1 : 0) | (r->partial[2] ? 1u << 2 : 0);
}

/* One record, without its newline, at OFF of the file numbered FILE.  */
static int
on_record (struct reader *r, const char *line, size_t len, size_t file, off_t off)
{
  struct record rec;
  int s, ret;

  if (!parse_record (line, len, &rec))
    {
      if (r->count_garbage)
        r->stats.garbage++;
      return 0;
    }
  s = rec.stream;
  if (!r->partial[s])
    {
      /* A line begins: taken or left whole, by its first piece's time.  */
      bool in = rec.time >= r->o->since && rec.time <= r->o->until;
      if (r->counting && in)
        mark_push (r, file, off, partial_mask (r));
      r->shown[s] = in && !r->counting;
      if (r->shown[s] && r->o->timestamps && (ret = emit (r, s, line, rec.ts_len + 1)) < 0)
        return ret;
    }
  r->partial[s] = rec.partial;
  if (!r->shown[s])
    return 0;
  if ((ret = emit (r, s, rec.msg, rec.msg_len)) < 0)
    return ret;
  return rec.partial ? 0 : emit (r, s, "\n", 1);
}

/* Read F (numbered FILE) from where it is up to END (-1: its end), each
   complete line a record; the bytes after the last newline stay in F's
   buffer.  */
static int
read_lines (struct reader *r, struct lfile *f, size_t file, off_t end)
{
  for (;;)
    {
      size_t want, used;
      ssize_t n;
      char *p, *nl;
      int ret;

      if (end >= 0 && f->off + (off_t)f->len >= end)
        return 0;
      if (f->cap - f->len < READ_CHUNK)
        {
          f->cap = f->len + 2 * READ_CHUNK;
          f->buf = hutch_xrealloc (f->buf, f->cap);
        }
      want = f->cap - f->len;
      if (end >= 0 && (off_t)want > end - (f->off + (off_t)f->len))
        want = (size_t)(end - (f->off + (off_t)f->len));
      n = read (f->fd, f->buf + f->len, want);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return hutch_error_set (r->err, errno, "reading the log of %s in %s", r->c->name,
                                r->c->dir);
      if (n == 0)
        {
          struct stat st;
          /* Shorter than what was read: emptied in place (a log kept in
             one file is truncated when full), so from its start again.
             What is written after the truncation but before this look
             past the old end is read from the middle: a garbage line.  */
          if (end < 0 && fstat (f->fd, &st) == 0 && st.st_size < f->off + (off_t)f->len
              && lseek (f->fd, 0, SEEK_SET) == 0)
            {
              f->off = 0;
              f->len = 0;
              f->discard = false;
              continue;
            }
          return 0;
        }
      f->len += (size_t)n;
      for (p = f->buf; (nl = memchr (p, '\n', f->len - (size_t)(p - f->buf))) != NULL; p = nl + 1)
        {
          if (f->discard)
            f->discard = false; /* the end of an overlong record */
          else if ((ret = on_record (r, p, (size_t)(nl - p), file, f->off + (p - f->buf))) < 0)
            return ret;
        }
      used = (size_t)(p - f->buf);
      memmove (f->buf, p, f->len - used);
      f->len -= used;
      f->off += (off_t)used;
      if (f->len >= MAX_RECORD)
        {
          if (!f->discard && r->count_garbage)
            r->stats.garbage++;
          f->discard = true;
          f->off += (off_t)f->len;
          f->len = 0;
        }
    }
}

/* F will not grow (a newer file follows it, or its writer is gone): what
   it has after its last newline is a record too.  */
static int
finish_tail (struct reader *r, struct lfile *f, size_t file)
{
  int ret = 0;

  if (f->len > 0 && !f->discard)
    ret = on_record (r, f->buf, f->len, file, f->off);
  f->off += (off_t)f->len;
  f->len = 0;
  f->discard = false;
  return ret;
}

/* A file of the log as it is named now: ctr.log.N (N > 0) or ctr.log
   (0).  */
struct logname
{
  unsigned long n;
  dev_t dev;
  ino_t ino;
};

static int
cmp_logname (const void *a, const void *b)
{
  const struct logname *x = a, *y = b;
  /* oldest (the highest N) first */
  return x->n < y->n ? 1 : x->n > y->n ? -1 : 0;
}

/* The log's files, oldest first.  A directory that is gone (the container
   was removed) has none.  */
static int
list_logs (struct reader *r, struct logname **ret, size_t *ret_n)
{
  struct logname *v = NULL;
  size_t n = 0, cap = 0;
  struct dirent *de;
  DIR *d;
  int fd = openat (r->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0 && errno == ENOENT)
    goto done;
  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    {
      int e = errno;
      if (fd >= 0)
        close (fd);
      return hutch_error_set (r->err, e, "listing the log files of %s in %s", r->c->name,
                              r->c->dir);
    }
  while ((de = readdir (d)) != NULL)
    {
      struct logname l;
      struct stat st;
      char *end;

      memset (&l, 0, sizeof l); /* listings are compared whole */
      if (strcmp (de->d_name, "ctr.log") == 0)
        l.n = 0;
      else if (strncmp (de->d_name, "ctr.log.", 8) == 0 && isdigit ((unsigned char)de->d_name[8]))
        {
          errno = 0;
          l.n = strtoul (de->d_name + 8, &end, 10);
          if (*end != '\0' || errno != 0 || l.n == 0)
            continue;
        }
      else
        continue;
      /* lstat: a file renamed or removed meanwhile is not listed.  */
      if (fstatat (r->dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG (st.st_mode))
        continue;
      l.dev = st.st_dev;
      l.ino = st.st_ino;
      if (n == cap)
        {
          cap = cap ? 2 * cap : 8;
          v = hutch_xrealloc (v, cap * sizeof *v);
        }
      v[n++] = l;
    }
  closedir (d);
  if (n > 1)
    qsort (v, n, sizeof *v, cmp_logname);
done:
  *ret = v;
  *ret_n = n;
  return 0;
}

/* Open the file that comes after AFTER (NULL: the oldest) into *RET;
   *RET_FOUND false when there is none (AFTER is the newest, or the log has
   no file).  */
static int
next_file (struct reader *r, const struct lfile *after, struct lfile *ret, bool *ret_found)
{
  int tries;

  *ret_found = false;
  /* A rotation between the listing and the open makes the name lead to
     another file: then list again.  */
  for (tries = 0; tries < 20; tries++)
    {
      _cleanup_free_ struct logname *v = NULL, *again = NULL;
      size_t n = 0, n_again = 0, i = 0, pick = 0;
      char name[64];
      struct stat st;
      int fd;

      /* A listing is a name at a time: one made during a rotation may
         miss a file that moved from a name not yet looked at to one
         already passed, and then a file older than AFTER would come
         next.  Two listings alike were made between rotations.  */
      if (list_logs (r, &v, &n) < 0 || list_logs (r, &again, &n_again) < 0)
        return -1;
      if (n != n_again || (n && memcmp (v, again, n * sizeof *v) != 0))
        continue;
      if (after != NULL)
        {
          for (i = 0; i < n; i++)
            if (v[i].dev == after->dev && v[i].ino == after->ino)
              break;
          /* Not named any more: rotated away (we hold it open), so every
             file named now is newer.  */
          pick = i < n ? i + 1 : 0;
        }
      if (pick >= n)
        return 0;
      if (v[pick].n == 0)
        snprintf (name, sizeof name, "ctr.log");
      else
        snprintf (name, sizeof name, "ctr.log.%lu", v[pick].n);
      fd = openat (r->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
      if (fd < 0 && errno == ENOENT)
        continue;
      if (fd < 0)
        return hutch_error_set (r->err, errno, "opening %s/%s", r->c->dir, name);
      if (fstat (fd, &st) < 0 || st.st_dev != v[pick].dev || st.st_ino != v[pick].ino)
        {
          close (fd);
          continue;
        }
      lfile_init (ret);
      ret->fd = fd;
      ret->dev = st.st_dev;
      ret->ino = st.st_ino;
      *ret_found = true;
      return 0;
    }
  return 0;
}

/* Read what is new: the current file to its end and, with NAMES (the
   directory changed), each newer file, finishing the one before.  */
static int
drain (struct reader *r, bool names)
{
  for (;;)
    {
      struct lfile next;
      bool found;

      if (r->cur.fd >= 0 && read_lines (r, &r->cur, r->n_held, -1) < 0)
        return -1;
      if (!names)
        return 0;
      if (next_file (r, r->cur.fd >= 0 ? &r->cur : NULL, &next, &found) < 0)
        return -1;
      if (!found)
        return 0;
      if (r->cur.fd >= 0)
        {
          /* Rotated: what was written to it before the rename is there.  */
          if (read_lines (r, &r->cur, r->n_held, -1) < 0 || finish_tail (r, &r->cur, r->n_held) < 0)
            {
              lfile_close (&next);
              return -1;
            }
          if (r->counting)
            {
              r->cur.end = r->cur.off;
              r->held = hutch_xrealloc (r->held, (r->n_held + 1) * sizeof *r->held);
              r->held[r->n_held++] = r->cur;
            }
          else
            lfile_close (&r->cur);
        }
      r->cur = next;
    }
}

/* --tail's second pass: print from the oldest mark, through what the first
   pass read.  */
static int
replay_tail (struct reader *r)
{
  off_t last_end = r->cur.off;
  size_t n = r->n_held, i;
  struct mark m = { 0, 0, 0 };

  if (r->o->tail == 0)
    m = (struct mark){ n, last_end, partial_mask (r) };
  else if ((unsigned long long)r->o->tail <= r->n_marks)
    m = r->marks[r->head];
  r->counting = false;
  r->count_garbage = false;
  for (i = 1; i <= 2; i++)
    {
      r->partial[i] = (m.partial & (1u << i)) != 0;
      r->shown[i] = false;
    }
  for (i = m.file; i <= n; i++)
    {
      struct lfile *f = i < n ? &r->held[i] : &r->cur;
      off_t start = i == m.file ? m.off : 0, end = i < n ? f->end : last_end;

      if (lseek (f->fd, start, SEEK_SET) < 0)
        return hutch_error_set (r->err, errno, "reading the log of %s in %s", r->c->name,
                                r->c->dir);
      f->off = start;
      f->len = 0;
      f->discard = false;
      if (read_lines (r, f, i, end) < 0 || (i < n && finish_tail (r, f, i) < 0))
        return -1;
    }
  r->count_garbage = true;
  return 0;
}

/* ---- following ------------------------------------------------------ */

enum follow_verdict
{
  FOLLOW_ON,     /* it runs, or will run again: go on */
  FOLLOW_ENDING, /* it looks ended, but could still start again: wait a while */
  FOLLOW_END,    /* it has ended for good: print what is left, and stop */
};

/* Whether `logs -f` has seen the container's end, from its state ST (NULL:
   there is none: the container was removed, or the runtime directory went
   with a reboot) and whether HOLDER, the process that holds it (its
   monitor), still runs.  docker and podman follow a container that its
   restart policy starts again (exited, then running, `restarts` one more),
   so an end is final only when nobody will start it again: its holder is
   gone and the policy would not have restarted it, or it was stopped.
   Where the two disagree (the holder lives on but the policy says no: the
   monitor is cleaning up; or the policy says yes but the holder is gone),
   -f waits FOLLOW_GRACE_MS for the state to say running again before it
   ends.  This is the one place that decides.  */
static enum follow_verdict
follow_verdict (const struct hutch_ctr *c, const struct hutch_state *st, bool holder)
{
  bool restart;

  if (st == NULL)
    return FOLLOW_END;
  /* running with its holder gone: killed, without a word in the state */
  if (st->status != HUTCH_STATE_EXITED)
    return holder ? FOLLOW_ON : FOLLOW_END;
  switch (c->restart)
    {
    case HUTCH_RESTART_ALWAYS:
    case HUTCH_RESTART_UNLESS_STOPPED:
      restart = true;
      break;
    case HUTCH_RESTART_ON_FAILURE:
      restart = st->exit_code != 0 && (c->restart_max == 0 || st->restarts < c->restart_max);
      break;
    default:
      restart = false;
    }
  if (st->stop_requested)
    restart = false;
  if (holder)
    return restart ? FOLLOW_ON : FOLLOW_ENDING;
  return restart ? FOLLOW_ENDING : FOLLOW_END;
}

/* The state (false: none), and whether its holder runs: a pid with the
   start time it had, on this boot.  */
static bool
read_state (struct reader *r, const char *boot_id, struct hutch_state *st, bool *ret_holder)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_close_ int fd = open (r->c->rundir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  pid_t pid;
  unsigned long long start;

  *ret_holder = false;
  if (fd < 0 || hutch_state_read (fd, st, &err) < 0)
    {
      hutch_error_clear (&err);
      return false;
    }
  pid = st->monitor ? st->monitor : st->pid;
  start = st->monitor ? st->monitor_start : st->pid_start;
  if (st->boot_id[0] && boot_id[0] && strcmp (st->boot_id, boot_id) != 0)
    return true;
  *ret_holder = hutch_state_pid_alive (pid, start);
  return true;
}

static int
pidfd_open_alive (pid_t pid, unsigned long long start)
{
#ifdef SYS_pidfd_open
  int fd = (int)syscall (SYS_pidfd_open, pid, 0);
  /* The pid could name another process by now: the start time, read
     after the pidfd pinned it, says whether it is the holder.  */
  if (fd >= 0 && !hutch_state_pid_alive (pid, start))
    {
      close (fd);
      return -1;
    }
  return fd;
#else
  (void)pid;
  (void)start;
  return -1;
#endif
}

/* What -f waits on.  */
struct watcher
{
  int ifd;      /* inotify: the log's directory and the rundir; -1: none */
  int state_wd; /* the rundir's watch */
  int pidfd;    /* the holder's pidfd, or -1 */
  pid_t pid;    /* the holder watched (or tried: not again) */
  unsigned long long pid_start;
  bool names;       /* the directory's names changed: look for a newer file */
  bool check_state; /* the state may have changed: judge again */
  char boot_id[40];
  enum follow_verdict verdict;
};

static void
watch_start (struct reader *r, struct watcher *w)
{
  memset (w, 0, sizeof *w);
  w->pidfd = w->state_wd = -1;
  w->names = w->check_state = true;
  hutch_state_boot_id (w->boot_id);
  w->ifd = inotify_init1 (IN_CLOEXEC | IN_NONBLOCK);
  if (w->ifd < 0)
    return;
  /* The directory, not the file: a rotation makes a new ctr.log.  */
  if (inotify_add_watch (w->ifd, r->c->dir,
                         IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM
                             | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF)
      < 0)
    {
      close (w->ifd);
      w->ifd = -1;
      return;
    }
  /* The state is replaced by a rename.  A rundir that is not there has no
     state to wait for.  */
  w->state_wd = inotify_add_watch (w->ifd, r->c->rundir, IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE);
}

static void
watch_end (struct watcher *w)
{
  if (w->ifd >= 0)
    close (w->ifd);
  if (w->pidfd >= 0)
    close (w->pidfd);
}

/* The verdict again, when the state may have changed; and a pidfd on a
   new holder, so that its end wakes us.  */
static void
judge (struct reader *r, struct watcher *w)
{
  struct hutch_state st;
  bool has_state, holder;

  if (!w->check_state)
    return;
  w->check_state = w->ifd < 0;
  has_state = read_state (r, w->boot_id, &st, &holder);
  w->verdict = follow_verdict (r->c, has_state ? &st : NULL, holder);
  if (has_state && holder && st.monitor
      && (st.monitor != w->pid || st.monitor_start != w->pid_start))
    {
      if (w->pidfd >= 0)
        close (w->pidfd);
      w->pidfd = pidfd_open_alive (st.monitor, st.monitor_start);
      w->pid = st.monitor;
      w->pid_start = st.monitor_start;
    }
  if (has_state)
    hutch_state_clear (&st);
}

/* Wait up to TIMEOUT ms for something to happen, and say what did.  */
static int
watch_wait (struct reader *r, struct watcher *w, long long timeout)
{
  char buf[4096] __attribute__ ((aligned (__alignof__(struct inotify_event))));
  struct pollfd pfd[2];
  int nfds = 0, n;
  ssize_t len;

  if (w->ifd >= 0)
    pfd[nfds++] = (struct pollfd){ .fd = w->ifd, .events = POLLIN };
  if (w->pidfd >= 0)
    pfd[nfds++] = (struct pollfd){ .fd = w->pidfd, .events = POLLIN };
  n = poll (pfd, (nfds_t)nfds, (int)timeout);
  if (n < 0 && errno != EINTR)
    return hutch_error_set (r->err, errno, "waiting for the log of %s", r->c->name);
  if (n <= 0)
    {
      /* The safety net: look again.  */
      w->names = w->check_state = true;
      return 0;
    }
  while (w->ifd >= 0 && (pfd[0].revents & POLLIN) && (len = read (w->ifd, buf, sizeof buf)) > 0)
    {
      char *p = buf;
      while (p < buf + len)
        {
          const struct inotify_event *ev = (const struct inotify_event *)p;
          if (ev->wd == w->state_wd || (ev->mask & (IN_Q_OVERFLOW | IN_IGNORED)))
            w->check_state = true;
          if (ev->wd != w->state_wd
              && (ev->mask & (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_Q_OVERFLOW)))
            w->names = true;
          p += sizeof *ev + ev->len;
        }
    }
  if (w->pidfd >= 0 && (pfd[nfds - 1].revents & (POLLIN | POLLHUP)))
    {
      /* The holder ended; the state says the rest.  It is not watched
         again (w->pid stays): a zombie's pidfd stays readable.  */
      close (w->pidfd);
      w->pidfd = -1;
      w->names = w->check_state = true;
    }
  return 0;
}

/* -f: print what comes until the container has ended (follow_verdict), or
   --until has passed.  */
static int
follow (struct reader *r)
{
  const long long grace = FOLLOW_GRACE_MS * 1000000LL;
  long long ending_since = 0, now, timeout;
  bool writer_gone = true;
  struct watcher w;
  int ret = 0;

  watch_start (r, &w);
  for (;;)
    {
      if ((ret = drain (r, w.names)) < 0 || (ret = flush_out (r)) < 0)
        goto out;
      w.names = false;
      judge (r, &w);
      now = hutch_state_now ();
      if (now > r->o->until)
        {
          writer_gone = false;
          break;
        }
      if (w.verdict == FOLLOW_END)
        break;
      if (w.verdict != FOLLOW_ENDING)
        ending_since = 0;
      else if (ending_since == 0)
        ending_since = now;
      else if (now - ending_since >= grace)
        break;
      timeout = w.ifd >= 0 ? FOLLOW_POLL_MS : FOLLOW_POLL_NO_INOTIFY_MS;
      if (ending_since)
        timeout = (ending_since + grace - now) / 1000000 + 1;
      if (r->o->until != LLONG_MAX && (r->o->until - now) / 1000000 + 1 < timeout)
        timeout = (r->o->until - now) / 1000000 + 1;
      /* The grace is timed: the state is judged again when it is over.  */
      if (ending_since)
        w.check_state = true;
      if ((ret = watch_wait (r, &w, timeout)) < 0)
        goto out;
    }
  /* The end.  When the writer is gone, what it left after its last
     newline will not be completed.  */
  if ((ret = drain (r, true)) < 0)
    goto out;
  if (writer_gone && r->cur.fd >= 0 && (ret = finish_tail (r, &r->cur, r->n_held)) < 0)
    goto out;
  ret = flush_out (r);
out:
  watch_end (&w);
  return ret;
}

int
hutch_logread (const struct hutch_ctr *c, const struct hutch_logread_opts *o,
               const struct hutch_logread_out *out, struct hutch_logread_stats *ret_stats,
               hutch_error_t *err)
{
  struct reader r;
  int ret = 0;
  size_t i;

  memset (&r, 0, sizeof r);
  r.c = c;
  r.o = o;
  r.out = out;
  r.err = err;
  lfile_init (&r.cur);
  r.dirfd = open (c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (r.dirfd < 0)
    return hutch_error_set (err, errno, "opening the directory of %s, %s", c->name, c->dir);
  r.counting = o->tail >= 0;
  r.count_garbage = true;
  /* What is there, oldest file first.  */
  if (drain (&r, true) < 0)
    ret = -1;
  else if (r.counting && r.cur.fd >= 0)
    ret = replay_tail (&r);
  r.counting = false;
  for (i = 0; i < r.n_held; i++)
    lfile_close (&r.held[i]);
  free (r.held);
  r.held = NULL;
  r.n_held = 0;
  free (r.marks);
  if (ret == 0 && o->follow)
    ret = follow (&r);
  else if (ret == 0)
    ret = flush_out (&r);
  lfile_close (&r.cur);
  close (r.dirfd);
  if (ret < 0)
    return ret;
  if (ret_stats)
    *ret_stats = r.stats;
  return 0;
}
