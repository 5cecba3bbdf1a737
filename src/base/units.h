/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_UNITS_H
#define HUTCH_UNITS_H

/* Sizes, durations and times as people read them, written the way docker
   and podman write them (their go-units library), so that `hutch images`
   reads like `podman images`.  Pure functions, unit-tested.  */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* BYTES in decimal units with three significant digits: "512 B",
   "5.59 MB", "1.2 GB" (go-units' HumanSizeWithPrecision (size, 3)).  */
char *hutch_human_size (int64_t bytes);

/* SECONDS (negative counts as none) as "Less than a second", "1 second",
   "About a minute", "3 hours", "2 weeks", "4 months", "2 years"
   (go-units' HumanDuration).  */
char *hutch_human_duration (int64_t seconds);

/* An RFC 3339 time ("2024-01-01T00:00:00Z", fractional seconds and a
   numeric offset allowed) as seconds since the epoch.  False when TEXT is
   not one, or is before the epoch (Go's zero time, 0001-01-01, means
   "unknown" in image configs).  */
bool hutch_parse_rfc3339 (const char *text, time_t *ret);

/* A Go duration (time.ParseDuration: [-+]?(NUMBER UNIT)+, NUMBER with an
   optional fraction, UNIT ns, us, µs, ms, s, m or h; "0" alone) in
   nanoseconds; false when TEXT is none or overflows.  */
bool hutch_parse_duration (const char *text, long long *ret);

/* The time now, RFC 3339 in UTC to the second ("2026-12-06T09:58:00Z"),
   as image configs write it.  */
char *hutch_now_rfc3339 (void);

#endif
