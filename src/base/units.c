/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "base/units.h"
#include "base/util.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

char *
hutch_human_size (int64_t bytes)
{
  static const char *const units[] = { "B", "kB", "MB", "GB", "TB", "PB", "EB" };
  double size = bytes < 0 ? 0 : (double)bytes;
  size_t u = 0;

  /* go-units divides while the size is 1000 or more, and 999.7 kB then
     prints as "1e+03 kB"; a size that three digits round up to 1000 moves
     to the next unit too.  */
  while (size >= 999.5 && u < sizeof units / sizeof units[0] - 1)
    {
      size /= 1000;
      u++;
    }
  return hutch_xasprintf ("%.3g %s", size, units[u]);
}

/* N UNITs, "1 UNIT" without the plural s.  */
static char *
count (int64_t n, const char *unit)
{
  return hutch_xasprintf ("%lld %s%s", (long long)n, unit, n == 1 ? "" : "s");
}

char *
hutch_human_duration (int64_t seconds)
{
  /* go-units rounds to the nearest hour from an hour on (1h29m is "About
     an hour", 1h31m "2 hours"), and truncates below.  */
  int64_t minutes = seconds / 60, hours = (seconds + 1800) / 3600;

  if (seconds < 1)
    return hutch_xstrdup ("Less than a second");
  if (seconds < 60)
    return count (seconds, "second");
  if (minutes == 1)
    return hutch_xstrdup ("About a minute");
  if (minutes < 60)
    return count (minutes, "minute");
  if (hours == 1)
    return hutch_xstrdup ("About an hour");
  if (hours < 48)
    return count (hours, "hour");
  if (hours < 24 * 7 * 2)
    return count (hours / 24, "day");
  if (hours < 24 * 30 * 2)
    return count (hours / 24 / 7, "week");
  if (hours < 24 * 365 * 2)
    return count (hours / 24 / 30, "month");
  return count (seconds / 3600 / 24 / 365, "year");
}

/* N digits at *P as a number, advancing *P; false when they are not.  */
static bool
digits (const char **p, int n, int *ret)
{
  int v = 0, i;

  for (i = 0; i < n; i++)
    {
      if (!isdigit ((unsigned char)(*p)[i]))
        return false;
      v = v * 10 + ((*p)[i] - '0');
    }
  *p += n;
  *ret = v;
  return true;
}

/* The offset at P ("Z", "+02:00", "-0530") in seconds east of UTC.  */
static bool
parse_offset (const char *p, long *ret)
{
  int h, m;
  int sign;

  if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
    {
      *ret = 0;
      return true;
    }
  if (*p != '+' && *p != '-')
    return false;
  sign = *p++ == '-' ? -1 : 1;
  if (!digits (&p, 2, &h))
    return false;
  if (*p == ':')
    p++;
  if (!digits (&p, 2, &m) || *p != '\0' || h > 23 || m > 59)
    return false;
  *ret = sign * (h * 3600L + m * 60L);
  return true;
}

bool
hutch_parse_rfc3339 (const char *text, time_t *ret)
{
  const char *p = text;
  struct tm tm;
  long offset;
  time_t t;

  memset (&tm, 0, sizeof tm);
  if (text == NULL || !digits (&p, 4, &tm.tm_year) || *p++ != '-' || !digits (&p, 2, &tm.tm_mon)
      || *p++ != '-' || !digits (&p, 2, &tm.tm_mday) || (*p != 'T' && *p != 't' && *p != ' '))
    return false;
  p++;
  if (!digits (&p, 2, &tm.tm_hour) || *p++ != ':' || !digits (&p, 2, &tm.tm_min) || *p++ != ':'
      || !digits (&p, 2, &tm.tm_sec))
    return false;
  if (*p == '.')
    {
      p++;
      if (!isdigit ((unsigned char)*p))
        return false;
      while (isdigit ((unsigned char)*p))
        p++;
    }
  if (!parse_offset (p, &offset) || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1
      || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
    return false;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  t = timegm (&tm);
  if (t == (time_t)-1 || t - offset < 0)
    return false;
  *ret = t - offset;
  return true;
}

char *
hutch_now_rfc3339 (void)
{
  char buf[64];
  time_t t = time (NULL);
  struct tm tm;
  gmtime_r (&t, &tm);
  strftime (buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return hutch_xstrdup (buf);
}

/* A Go duration (time.ParseDuration): [-+]?(NUMBER UNIT)+, NUMBER with an
   optional fraction, UNIT ns, us, µs, ms, s, m or h; "0" alone.  */
bool
hutch_parse_duration (const char *s, long long *ret)
{
  static const struct
  {
    const char *name;
    unsigned long long ns;
  } units[] = {
    { "ns", 1 },
    { "us", 1000 },
    { "\xc2\xb5s", 1000 }, /* U+00B5 micro sign */
    { "\xce\xbcs", 1000 }, /* U+03BC mu */
    { "ms", 1000000 },
    { "s", 1000000000ULL },
    { "m", 60000000000ULL },
    { "h", 3600000000000ULL },
  };
  unsigned long long total = 0;
  bool neg = false;

  if (*s == '-' || *s == '+')
    neg = *s++ == '-';
  if (strcmp (s, "0") == 0)
    {
      *ret = 0;
      return true;
    }
  if (*s == '\0')
    return false;
  while (*s)
    {
      unsigned long long v = 0, frac = 0, scale = 1, unit = 0, part;
      bool any = false;
      size_t i, n = 0;

      for (; isdigit ((unsigned char)*s); s++, any = true)
        if (__builtin_mul_overflow (v, 10, &v) || __builtin_add_overflow (v, *s - '0', &v))
          return false;
      if (*s == '.')
        for (s++; isdigit ((unsigned char)*s); s++, any = true)
          if (scale < 1000000000000000000ULL)
            {
              frac = frac * 10 + (unsigned)(*s - '0');
              scale *= 10;
            }
      if (!any)
        return false;
      /* The longest unit that fits: "ms" before "m".  */
      for (i = 0; i < sizeof units / sizeof units[0]; i++)
        {
          size_t l = strlen (units[i].name);
          if (l > n && strncmp (s, units[i].name, l) == 0)
            {
              unit = units[i].ns;
              n = l;
            }
        }
      if (n == 0)
        return false;
      s += n;
      if (__builtin_mul_overflow (v, unit, &part)
          || __builtin_add_overflow (part, (unsigned long long)((long double)frac * unit / scale),
                                     &part)
          || __builtin_add_overflow (total, part, &total))
        return false;
    }
  if (total > (unsigned long long)LLONG_MAX)
    return false;
  *ret = neg ? -(long long)total : (long long)total;
  return true;
}
