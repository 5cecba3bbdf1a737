/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "registry/progress.h"
#include "base/util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct line
{
  char *verb, *label;
  int64_t total, done;
  char *status; /* NULL while running */
  double started;
};

struct hutch_progress
{
  FILE *out;
  bool quiet, tty;
  struct line *lines;
  size_t n;
  size_t first; /* lines before it are final and stay as printed */
  size_t drawn; /* lines on screen above the cursor, from FIRST */
  double last_draw;
};

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
human (char *buf, size_t len, double bytes)
{
  static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
  size_t u = 0;

  while (bytes >= 1024 && u < sizeof units / sizeof units[0] - 1)
    {
      bytes /= 1024;
      u++;
    }
  if (u == 0)
    snprintf (buf, len, "%.0f%s", bytes, units[u]);
  else
    snprintf (buf, len, "%.1f%s", bytes, units[u]);
}

struct hutch_progress *
hutch_progress_new (FILE *out, bool quiet)
{
  struct hutch_progress *p = hutch_xmalloc0 (sizeof *p);
  const char *term = getenv ("TERM");

  /* no stream (the front end wants none): as quiet */
  p->out = out;
  p->quiet = quiet || out == NULL;
  p->tty = out && isatty (fileno (out)) && !(term && strcmp (term, "dumb") == 0);
  return p;
}

static void
draw_line (struct hutch_progress *p, const struct line *l)
{
  char done[32], total[32], speed[32];
  double secs = now () - l->started;

  human (done, sizeof done, (double)l->done);
  human (total, sizeof total, (double)l->total);
  if (l->status)
    {
      fprintf (p->out, "%s %s %s %s\033[K\n", l->verb, l->label, l->status, total);
      return;
    }
  {
    char bar[31];
    int width = 30, fill = l->total > 0 ? (int)(l->done * width / l->total) : 0, i;
    for (i = 0; i < width; i++)
      bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
    bar[width] = '\0';
    human (speed, sizeof speed, secs > 0.05 ? (double)l->done / secs : 0);
    fprintf (p->out, "%s %s [%s] %s / %s %s/s\033[K\n", l->verb, l->label, bar, done, total, speed);
  }
}

static void
redraw (struct hutch_progress *p, bool force)
{
  double t = now ();
  size_t i;

  if (!p->tty || p->quiet || (!force && t - p->last_draw < 0.1))
    return;
  p->last_draw = t;
  if (p->drawn > 0)
    fprintf (p->out, "\033[%zuA", p->drawn);
  for (i = p->first; i < p->n; i++)
    draw_line (p, &p->lines[i]);
  p->drawn = p->n - p->first;
  fflush (p->out);
}

size_t
hutch_progress_add (struct hutch_progress *p, const char *verb, const char *label, int64_t total)
{
  struct line *l;

  p->lines = hutch_xrealloc (p->lines, (p->n + 1) * sizeof *p->lines);
  l = &p->lines[p->n];
  memset (l, 0, sizeof *l);
  l->verb = hutch_xstrdup (verb);
  l->label = hutch_xstrdup (label);
  l->total = total;
  l->started = now ();
  p->n++;
  redraw (p, true);
  return p->n - 1;
}

void
hutch_progress_update (struct hutch_progress *p, size_t i, int64_t done)
{
  if (i >= p->n)
    return;
  p->lines[i].done = done;
  redraw (p, false);
}

void
hutch_progress_finish (struct hutch_progress *p, size_t i, const char *status)
{
  struct line *l;

  if (i >= p->n)
    return;
  l = &p->lines[i];
  free (l->status);
  l->status = hutch_xstrdup (status);
  l->done = l->total;
  if (p->quiet)
    return;
  if (p->tty)
    redraw (p, true);
  else
    {
      char total[32];
      human (total, sizeof total, (double)l->total);
      fprintf (p->out, "%s %s %s %s\n", l->verb, l->label, status, total);
      fflush (p->out);
    }
}

void
hutch_progress_say (struct hutch_progress *p, const char *fmt, ...)
{
  va_list ap;

  if (p->quiet)
    return;
  /* Below the bars: those on screen stay as they are, new ones follow.  */
  redraw (p, true);
  p->first = p->n;
  p->drawn = 0;
  va_start (ap, fmt);
  vfprintf (p->out, fmt, ap);
  va_end (ap);
  fputc ('\n', p->out);
  fflush (p->out);
}

void
hutch_progress_free (struct hutch_progress *p)
{
  size_t i;

  if (p == NULL)
    return;
  redraw (p, true);
  for (i = 0; i < p->n; i++)
    {
      free (p->lines[i].verb);
      free (p->lines[i].label);
      free (p->lines[i].status);
    }
  free (p->lines);
  free (p);
}
