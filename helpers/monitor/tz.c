/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Local time for the log's timestamps, without the C library's.

   glibc's localtime_r (and gmtime_r) link its time-zone code, which
   brings sscanf, strtod and 128-bit floating point along: 135 KB, a
   sixth of the monitor's resident memory (a static binary's pages are
   all resident once they are in the page cache).  This is the part of it
   the monitor needs: the offset from UTC at a given time, read as glibc
   reads it:

   - TZ unset: /etc/localtime; TZ empty: UTC;
   - TZ=[:]NAME: the TZif file NAME (absolute, or under $TZDIR, else
     /usr/share/zoneinfo); if there is none, NAME as a POSIX TZ string
     ("CET-1CEST,M3.5.0,M10.5.0/3"); if that is not one either, UTC.

   A TZif file (RFC 8536, versions 1 to 4) gives transitions; after the
   last one, its footer's TZ string gives the rule.  The offset found is
   kept with the interval it holds for, so the file is read again only
   when the time leaves it (at the next change of daylight saving time).
   Leap seconds (the "right/" zones) are not counted, as in a "posix/"
   zone.  tests/unit/test-monitor.c compares this with glibc for every
   zone installed.

   Trust: the files are the user's own choice (TZ) or the system's; they
   are still read with every count checked against the file's length.  */

#include <config.h>

#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_TZFILE (64 * 1024)

struct tz_date
{
  char kind; /* 'J': Jn, 'n': n, 'M': Mm.w.d */
  int m, w, d, n;
  long time; /* seconds after local midnight, may be negative or past 24 h */
};

struct tz_rule
{
  long std_off, dst_off; /* seconds east of UTC */
  bool has_dst;
  struct tz_date start, end;
};

enum
{
  ZONE_UNSET,
  ZONE_UTC,
  ZONE_FILE,
  ZONE_RULE,
};

static int zone = ZONE_UNSET;
static char *zone_path;
static struct tz_rule zone_rule;
/* The offset found last and the interval [win_from, win_until) where it
   holds.  */
static long long win_from = 1, win_until = 0;
static long win_off;

/* ---- calendar ---------------------------------------------------------- */

/* Days since 1970-01-01 of a date of the proleptic Gregorian calendar
   (Howard Hinnant's algorithms).  */
static long long
days_from_civil (long long y, int m, int d)
{
  long long era, doe;
  int yoe, doy;

  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = (int)(y - era * 400);
  doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  doe = (long long)yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static void
civil_from_days (long long z, long long *ret_y, int *ret_m, int *ret_d)
{
  long long era, doe, yoe, doy, mp;

  z += 719468;
  era = (z >= 0 ? z : z - 146096) / 146097;
  doe = z - era * 146097;
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  *ret_d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *ret_m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *ret_y = yoe + era * 400 + (*ret_m <= 2);
}

static long long
floor_div (long long a, long long b)
{
  return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static bool
leap_year (long long y)
{
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days (long long y, int m)
{
  static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
  return m == 2 && leap_year (y) ? 29 : days[m - 1];
}

/* ---- POSIX TZ strings ------------------------------------------------ */

static const char *
parse_name (const char *p)
{
  const char *start = p;
  if (*p == '<')
    {
      p = strchr (p, '>');
      return p && p > start + 1 ? p + 1 : NULL;
    }
  while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
    p++;
  return p - start >= 3 ? p : NULL;
}

static const char *
parse_num (const char *p, long min, long max, long *ret)
{
  long v = 0;
  const char *start = p;
  while (*p >= '0' && *p <= '9' && p - start < 6)
    v = v * 10 + (*p++ - '0');
  if (p == start || v < min || v > max)
    return NULL;
  *ret = v;
  return p;
}

/* [+-]hh[:mm[:ss]], hours up to MAXH; seconds.  */
static const char *
parse_hms (const char *p, long maxh, long *ret)
{
  long h, m = 0, s = 0, sign = 1;

  if (*p == '+' || *p == '-')
    sign = *p++ == '-' ? -1 : 1;
  if ((p = parse_num (p, 0, maxh, &h)) == NULL)
    return NULL;
  if (*p == ':' && (p = parse_num (p + 1, 0, 59, &m)) != NULL && *p == ':')
    p = parse_num (p + 1, 0, 59, &s);
  if (p == NULL)
    return NULL;
  *ret = sign * (h * 3600 + m * 60 + s);
  return p;
}

static const char *
parse_date (const char *p, struct tz_date *d)
{
  long a, b, c;

  memset (d, 0, sizeof *d);
  if (*p == 'J')
    {
      if ((p = parse_num (p + 1, 1, 365, &a)) == NULL)
        return NULL;
      d->kind = 'J';
      d->n = (int)a;
    }
  else if (*p == 'M')
    {
      if ((p = parse_num (p + 1, 1, 12, &a)) == NULL || *p != '.'
          || (p = parse_num (p + 1, 1, 5, &b)) == NULL || *p != '.'
          || (p = parse_num (p + 1, 0, 6, &c)) == NULL)
        return NULL;
      d->kind = 'M';
      d->m = (int)a;
      d->w = (int)b;
      d->d = (int)c;
    }
  else
    {
      if ((p = parse_num (p, 0, 365, &a)) == NULL)
        return NULL;
      d->kind = 'n';
      d->n = (int)a;
    }
  d->time = 2 * 3600;
  if (*p == '/')
    p = parse_hms (p + 1, 167, &d->time);
  return p;
}

static bool
parse_rule (const char *p, struct tz_rule *r)
{
  long off;

  memset (r, 0, sizeof *r);
  if ((p = parse_name (p)) == NULL || (p = parse_hms (p, 24, &off)) == NULL)
    return false;
  /* POSIX counts west of UTC positive.  */
  r->std_off = -off;
  if (*p == '\0')
    return true;
  if ((p = parse_name (p)) == NULL)
    return false;
  r->has_dst = true;
  r->dst_off = r->std_off + 3600;
  if (*p != ',' && *p != '\0')
    {
      if ((p = parse_hms (p, 24, &off)) == NULL)
        return false;
      r->dst_off = -off;
    }
  if (*p == '\0')
    /* No rule: the United States' since 2007, as glibc has it.  */
    p = ",M3.2.0,M11.1.0";
  if (*p != ',' || (p = parse_date (p + 1, &r->start)) == NULL || *p != ','
      || (p = parse_date (p + 1, &r->end)) == NULL)
    return false;
  return *p == '\0';
}

/* The day of year Y (0: January 1st) that D names.  */
static long long
date_yday (const struct tz_date *d, long long y)
{
  long long first;
  int wday, day;

  switch (d->kind)
    {
    case 'J':
      return d->n - 1 + (leap_year (y) && d->n >= 60);
    case 'n':
      return d->n;
    default:
      first = days_from_civil (y, d->m, 1);
      /* 1970-01-01 was a Thursday (4).  */
      wday = (int)(((first + 4) % 7 + 7) % 7);
      day = 1 + (d->d - wday + 7) % 7 + 7 * (d->w - 1);
      while (day > month_days (y, d->m))
        day -= 7;
      return first - days_from_civil (y, 1, 1) + day - 1;
    }
}

/* When D of year Y comes, in UTC, OFF being the offset in force.  */
static long long
date_instant (const struct tz_date *d, long long y, long off)
{
  return (days_from_civil (y, 1, 1) + date_yday (d, y)) * 86400 + d->time - off;
}

static void
rule_offset (const struct tz_rule *r, long long t, long *ret_off, long long *ret_from,
             long long *ret_until)
{
  struct
  {
    long long at;
    bool dst;
  } ev[6], tmp;
  long long y;
  int m, d, n = 0, i, j, last = -1;

  if (!r->has_dst)
    {
      *ret_off = r->std_off;
      *ret_from = LLONG_MIN;
      *ret_until = LLONG_MAX;
      return;
    }
  civil_from_days (floor_div (t + r->std_off, 86400), &y, &m, &d);
  for (i = -1; i <= 1; i++)
    {
      ev[n].at = date_instant (&r->start, y + i, r->std_off);
      ev[n++].dst = true;
      ev[n].at = date_instant (&r->end, y + i, r->dst_off);
      ev[n++].dst = false;
    }
  /* In time order; at the same instant the end of daylight saving time
     first, so that a rule for all year ("0/0,J365/25") stays in it.  */
  for (i = 1; i < n; i++)
    for (j = i;
         j > 0
         && (ev[j - 1].at > ev[j].at || (ev[j - 1].at == ev[j].at && ev[j - 1].dst && !ev[j].dst));
         j--)
      {
        tmp = ev[j];
        ev[j] = ev[j - 1];
        ev[j - 1] = tmp;
      }
  for (i = 0; i < n; i++)
    if (ev[i].at <= t)
      last = i;
  if (last < 0)
    {
      /* Before the first: the state before it, which its kind tells.  */
      *ret_off = ev[0].dst ? r->std_off : r->dst_off;
      *ret_from = LLONG_MIN;
      *ret_until = ev[0].at;
      return;
    }
  *ret_off = ev[last].dst ? r->dst_off : r->std_off;
  *ret_from = ev[last].at;
  *ret_until = last + 1 < n ? ev[last + 1].at : LLONG_MAX;
}

/* ---- TZif files ------------------------------------------------------ */

static uint32_t
be32 (const unsigned char *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static long long
be_time (const unsigned char *p, size_t size)
{
  if (size == 4)
    return (int32_t)be32 (p);
  return (long long)(int64_t)((uint64_t)be32 (p) << 32 | be32 (p + 4));
}

struct tzif
{
  size_t tsize; /* 4 or 8 */
  uint32_t isut, isstd, leap, time, type, chars;
  const unsigned char *times, *idx, *types;
  size_t len; /* of the data block */
};

static bool
tzif_header (const unsigned char *p, size_t left, size_t tsize, struct tzif *z)
{
  unsigned long long len;

  if (left < 44 || memcmp (p, "TZif", 4) != 0)
    return false;
  z->tsize = tsize;
  z->isut = be32 (p + 20);
  z->isstd = be32 (p + 24);
  z->leap = be32 (p + 28);
  z->time = be32 (p + 32);
  z->type = be32 (p + 36);
  z->chars = be32 (p + 40);
  len = (unsigned long long)z->time * (tsize + 1) + (unsigned long long)z->type * 6 + z->chars
        + (unsigned long long)z->leap * (tsize + 4) + z->isstd + z->isut;
  if (z->type == 0 || len > left - 44)
    return false;
  z->len = (size_t)len;
  z->times = p + 44;
  z->idx = z->times + (size_t)z->time * tsize;
  z->types = z->idx + z->time;
  return true;
}

static long
type_off (const struct tzif *z, unsigned int i)
{
  return (int32_t)be32 (z->types + 6 * (i < z->type ? i : 0));
}

/* The offset at T from the file BUF (N bytes).  */
static bool
file_offset (const unsigned char *buf, size_t n, long long t, long *ret_off, long long *ret_from,
             long long *ret_until)
{
  struct tzif z;
  const unsigned char *end;
  struct tz_rule footer;
  bool has_footer = false;
  size_t lo, hi;

  if (!tzif_header (buf, n, 4, &z))
    return false;
  if (buf[4] >= '2')
    {
      const unsigned char *v2 = buf + 44 + z.len;
      if (!tzif_header (v2, n - 44 - z.len, 8, &z))
        return false;
      end = v2 + 44 + z.len;
      /* The footer: "\nTZ string\n".  */
      if (end < buf + n && *end == '\n')
        {
          const unsigned char *nl = memchr (end + 1, '\n', (size_t)(buf + n - end - 1));
          char s[256];
          size_t len = nl ? (size_t)(nl - end - 1) : 0;
          if (nl && len > 0 && len < sizeof s)
            {
              memcpy (s, end + 1, len);
              s[len] = '\0';
              has_footer = parse_rule (s, &footer);
            }
        }
    }
  if (z.time == 0)
    {
      if (has_footer)
        rule_offset (&footer, t, ret_off, ret_from, ret_until);
      else
        {
          *ret_off = type_off (&z, 0);
          *ret_from = LLONG_MIN;
          *ret_until = LLONG_MAX;
        }
      return true;
    }
  if (t < be_time (z.times, z.tsize))
    {
      *ret_off = type_off (&z, 0);
      *ret_from = LLONG_MIN;
      *ret_until = be_time (z.times, z.tsize);
      return true;
    }
  /* The last transition at or before T.  */
  lo = 0;
  hi = z.time;
  while (hi - lo > 1)
    {
      size_t mid = lo + (hi - lo) / 2;
      if (be_time (z.times + mid * z.tsize, z.tsize) <= t)
        lo = mid;
      else
        hi = mid;
    }
  if (lo + 1 == z.time && has_footer)
    {
      long long last = be_time (z.times + lo * z.tsize, z.tsize);
      rule_offset (&footer, t, ret_off, ret_from, ret_until);
      if (*ret_from < last)
        *ret_from = last;
      return true;
    }
  *ret_off = type_off (&z, z.idx[lo]);
  *ret_from = be_time (z.times + lo * z.tsize, z.tsize);
  *ret_until = lo + 1 < z.time ? be_time (z.times + (lo + 1) * z.tsize, z.tsize) : LLONG_MAX;
  return true;
}

/* Read PATH whole (at most MAX_TZFILE bytes) into a new buffer.  */
static unsigned char *
read_tzfile (const char *path, size_t *ret_n)
{
  unsigned char *buf;
  size_t n = 0;
  int fd = open (path, O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    return NULL;
  buf = malloc (MAX_TZFILE);
  while (buf && n < MAX_TZFILE)
    {
      ssize_t r = read (fd, buf + n, MAX_TZFILE - n);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break;
      n += (size_t)r;
    }
  close (fd);
  *ret_n = n;
  return buf;
}

static bool
try_file (const char *path, long long t)
{
  size_t n = 0;
  unsigned char *buf = read_tzfile (path, &n);
  bool good = buf && file_offset (buf, n, t, &win_off, &win_from, &win_until);

  free (buf);
  return good;
}

/* Which zone: once, from TZ.  */
static void
choose_zone (long long t)
{
  const char *tz = getenv ("TZ");
  const char *dir = getenv ("TZDIR");
  char path[PATH_MAX];

  zone = ZONE_UTC;
  if (tz == NULL)
    tz = "/etc/localtime";
  else if (*tz == ':')
    tz++;
  if (*tz == '\0')
    return;
  if (*tz == '/')
    snprintf (path, sizeof path, "%s", tz);
  else
    snprintf (path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", tz);
  if (try_file (path, t))
    {
      zone = ZONE_FILE;
      zone_path = strdup (path);
      if (zone_path == NULL)
        zone = ZONE_UTC;
    }
  else if (parse_rule (tz, &zone_rule))
    zone = ZONE_RULE;
}

long
mon_tz_offset (long long t)
{
  if (t >= win_from && t < win_until)
    return win_off;
  if (zone == ZONE_UNSET)
    {
      choose_zone (t);
      if (zone == ZONE_FILE)
        return win_off;
    }
  else if (zone == ZONE_FILE && try_file (zone_path, t))
    return win_off;
  if (zone == ZONE_RULE)
    {
      rule_offset (&zone_rule, t, &win_off, &win_from, &win_until);
      return win_off;
    }
  /* UTC, or a file that went away.  */
  win_off = 0;
  win_from = LLONG_MIN;
  win_until = LLONG_MAX;
  return 0;
}

void
mon_tz_reset (void)
{
  free (zone_path);
  zone_path = NULL;
  zone = ZONE_UNSET;
  win_from = 1;
  win_until = 0;
}

void
mon_tz_localtime (long long t, struct mon_tm *ret)
{
  long off = mon_tz_offset (t);
  long long local = t + off, days = floor_div (local, 86400), secs = local - days * 86400;

  civil_from_days (days, &ret->year, &ret->mon, &ret->mday);
  ret->hour = (int)(secs / 3600);
  ret->min = (int)(secs / 60 % 60);
  ret->sec = (int)(secs % 60);
  ret->gmtoff = off;
}
