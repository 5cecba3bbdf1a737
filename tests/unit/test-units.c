/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* Human sizes, durations and RFC 3339 times (base/units.c), against what
   docker's go-units prints for the same values.  */

#include "tap.h"
#include "base/units.h"
#include "base/util.h"

#include <stdlib.h>

static void
size_is (int64_t bytes, const char *want)
{
  _cleanup_free_ char *got = hutch_human_size (bytes);
  is_str (got, want, "%lld bytes is \"%s\" (got \"%s\")", (long long)bytes, want, got);
}

static void
duration_is (int64_t seconds, const char *want)
{
  _cleanup_free_ char *got = hutch_human_duration (seconds);
  is_str (got, want, "%lld s is \"%s\" (got \"%s\")", (long long)seconds, want, got);
}

static void
time_is (const char *text, long long want)
{
  time_t t = 0;
  ok (hutch_parse_rfc3339 (text, &t) && (long long)t == want, "%s is %lld (got %lld)", text, want,
      (long long)t);
}

int
main (void)
{
  const int64_t min = 60, hour = 3600, day = 24 * hour, week = 7 * day, month = 30 * day,
                year = 365 * day;

  size_is (0, "0 B");
  size_is (512, "512 B");
  size_is (999, "999 B");
  size_is (1000, "1 kB");
  size_is (5590000, "5.59 MB");
  size_is (5594999, "5.59 MB");
  size_is (1200000000, "1.2 GB");
  size_is (7340032, "7.34 MB");
  size_is (123456789, "123 MB");
  /* three digits would round 999,700 to "1e+03 kB" */
  size_is (999700, "1 MB");
  size_is (-5, "0 B");

  /* go-units' own test cases (duration_test.go) */
  duration_is (0, "Less than a second");
  duration_is (-30, "Less than a second");
  duration_is (1, "1 second");
  duration_is (47, "47 seconds");
  duration_is (59, "59 seconds");
  duration_is (60, "About a minute");
  duration_is (3 * min, "3 minutes");
  duration_is (35 * min + 40, "35 minutes");
  duration_is (59 * min, "59 minutes");
  duration_is (hour, "About an hour");
  duration_is (hour + 29 * min, "About an hour");
  duration_is (hour + 31 * min, "2 hours");
  duration_is (3 * hour + 29 * min, "3 hours");
  duration_is (3 * hour + 31 * min, "4 hours");
  duration_is (day, "24 hours");
  duration_is (day + 12 * hour, "36 hours");
  duration_is (2 * day, "2 days");
  duration_is (3 * day, "3 days");
  duration_is (13 * day + 5 * hour, "13 days");
  duration_is (2 * week, "2 weeks");
  duration_is (4 * week + 3 * day, "4 weeks");
  duration_is (month, "4 weeks");
  duration_is (month + 2 * week, "6 weeks");
  duration_is (2 * month, "2 months");
  duration_is (13 * month, "13 months");
  duration_is (24 * month, "24 months");
  duration_is (24 * month + 2 * week, "2 years");
  duration_is (3 * year + 2 * month, "3 years");

  time_is ("1970-01-01T00:00:00Z", 0);
  time_is ("2024-01-01T00:00:00Z", 1704067200);
  time_is ("2024-01-01T00:00:00.123456789Z", 1704067200);
  time_is ("2024-01-01T02:00:00+02:00", 1704067200);
  time_is ("2023-12-31T19:00:00-05:00", 1704067200);
  time_is ("2024-01-01 00:00:00Z", 1704067200);
  {
    static const char *const bad[] = { "",
                                       "0001-01-01T00:00:00Z",
                                       "2024-01-01",
                                       "2024-01-01T00:00:00",
                                       "2024-13-01T00:00:00Z",
                                       "2024-01-01T00:00:00.Z",
                                       "2024-01-01T00:00:00+2",
                                       "yesterday",
                                       "2024-01-01T00:00:00Zjunk" };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
      {
        time_t t;
        ok (!hutch_parse_rfc3339 (bad[i], &t), "\"%s\" is not taken", bad[i]);
      }
    ok (!hutch_parse_rfc3339 (NULL, NULL), "NULL is not taken");
  }
  return tap_done ();
}
