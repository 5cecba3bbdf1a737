/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* hutch stats: what containers use, as docker stats shows it.  The
   readings are the library's (front/stats.h); here they become rates
   (CPU % over the time between two readings) and text.  Like ps it takes
   no lock: the records and states are read whole, every round, so that
   containers that start, stop or go are seen as they do.  */

#include "hutch.h"
#include "base/util.h"
#include "front/containers.h"
#include "front/stats.h"
#include "runtime/state.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int cmd_stats (int argc, char **argv);

enum
{
  OPT_NO_STREAM = 256,
  OPT_FORMAT,
};

static const struct cmd_opt stats_opts[] = {
  { "all", 'a', no_argument, NULL, "also containers that do not run (their numbers are 0)", NULL },
  { "no-stream", OPT_NO_STREAM, no_argument, NULL, "print one sample and end", NULL },
  { "format", OPT_FORMAT, required_argument, "FORMAT",
    "table (default) or json (the numbers, in bytes,\nmicroseconds and percent)", "table json" },
  { 0 },
};

const struct cmd_def cmd_stats_def = {
  .name = "stats",
  .summary = "show what containers use: CPU, memory, network, disk, processes",
  .usage = "Usage: hutch stats [OPTIONS] [CONTAINER...]\n"
           "\n"
           "Show each running container's (or each CONTAINER's) CPU %, memory, network and\n"
           "block I/O and process count, every second until interrupted (^C) or until no\n"
           "container is left.  The numbers but NET I/O come from the container's own\n"
           "cgroup (cgroup v2 delegated to you: see hutch info); without one they show --.\n",
  .opts = stats_opts,
  .operands = CMD_VALUE_CONTAINER,
  .fn = cmd_stats,
  .flags = CMD_PERMUTE,
};

/* The first sample's two readings are this far apart: the CPU % of one
   reading alone would be the container's whole life.  */
#define FIRST_INTERVAL_MS 500
#define INTERVAL_MS 1000

struct row
{
  struct hutch_ctr c;
  struct hutch_state st;
  bool running;
  struct hutch_stats now;
  double cpu; /* -1: unknown */
};

static void
rows_free (struct row *rows, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++)
    {
      hutch_ctr_clear (&rows[i].c);
      hutch_state_clear (&rows[i].st);
    }
  free (rows);
}

struct stats_opts
{
  bool all, stream, json;
  char **ids; /* the operands' ids, or NULL for every container */
};

/* ---- reading -------------------------------------------------------- */

/* This round's rows: the operands' containers (any state; those removed
   since are dropped), or every running one (with -a every one).  Each
   running one read now.  */
static struct row *
collect (const char *root, struct stats_opts *o, size_t *ret_n)
{
  _cleanup_strv_ char **list = o->ids ? NULL : hutch_ctr_list (root);
  char **ids = o->ids ? o->ids : list;
  struct row *rows = hutch_xmalloc0 ((hutch_strv_len (ids) + 1) * sizeof *rows);
  hutch_error_t err = HUTCH_ERROR_INIT;
  size_t i, n = 0;

  for (i = 0; ids[i]; i++)
    {
      struct row *r = &rows[n];
      if (hutch_ctr_load (root, ids[i], &r->c, &err) < 0
          || hutch_ctr_state (&r->c, &r->st, &err) < 0)
        {
          hutch_error_clear (&err);
          hutch_ctr_clear (&r->c);
          hutch_state_clear (&r->st);
          continue;
        }
      r->running = (r->st.status == HUTCH_STATE_RUNNING || r->st.status == HUTCH_STATE_PAUSED)
                   && hutch_state_pid_alive (r->st.pid, r->st.pid_start);
      /* A --rm container whose holder was killed is gone for people.  */
      if ((!r->running && !o->all && !o->ids)
          || (r->c.rm && r->st.status == HUTCH_STATE_EXITED
              && !hutch_state_pid_alive (r->st.monitor, r->st.monitor_start)))
        {
          hutch_ctr_clear (&r->c);
          hutch_state_clear (&r->st);
          continue;
        }
      if (r->running)
        hutch_stats_read (r->st.cgroup, r->st.pid, &r->now);
      r->cpu = -1;
      n++;
    }
  *ret_n = n;
  return rows;
}

/* The CPU % of each row against the same container in BEFORE.  */
static void
rates (struct row *rows, size_t n, const struct row *before, size_t nb)
{
  size_t i, k;
  for (i = 0; i < n; i++)
    for (k = 0; k < nb; k++)
      if (strcmp (rows[i].c.id, before[k].c.id) == 0)
        {
          rows[i].cpu = rows[i].running && before[k].running
                            ? hutch_stats_cpu_percent (&before[k].now, &rows[i].now)
                            : -1;
          /* A container whose CPU time was read but that started since
             the reading before has no rate yet.  */
          if (rows[i].cpu < 0 && rows[i].running && (rows[i].now.have & HUTCH_STATS_CPU))
            rows[i].cpu = 0;
        }
}

/* ---- what people read ----------------------------------------------- */

/* Sizes as docker writes them (go-units): decimal units with 3
   significant digits for I/O ("1.2kB"), binary ones with 4 for memory
   ("1.5MiB").  A value that would round up to the next power is written
   in the next unit, so that no "1e+03kB" appears.  */
static char *
size_text (unsigned long long bytes, bool binary)
{
  static const char *const dec[] = { "B", "kB", "MB", "GB", "TB", "PB", NULL };
  static const char *const bin[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", NULL };
  const char *const *units = binary ? bin : dec;
  double v = (double)bytes, base = binary ? 1024.0 : 1000.0;
  int prec = binary ? 4 : 3;
  double top = binary ? 9999.5 : 999.5;
  size_t i = 0;

  while (units[i + 1] && (v >= base || v >= top))
    {
      v /= base;
      i++;
    }
  return hutch_xasprintf ("%.*g%s", prec, v, units[i]);
}

static char *
pair_text (unsigned long long a, unsigned long long b, bool binary)
{
  _cleanup_free_ char *x = size_text (a, binary), *y = size_text (b, binary);
  return hutch_xasprintf ("%s / %s", x, y);
}

#define NCOLS 8

static const char *const headings[NCOLS]
    = { "CONTAINER ID", "NAME",    "CPU %",     "MEM USAGE / LIMIT",
        "MEM %",        "NET I/O", "BLOCK I/O", "PIDS" };

/* One row's cells.  A container that does not run shows zeros, as
   docker's; one that runs, -- for what could not be read.  */
static void
cells (const struct row *r, char *cell[NCOLS])
{
  const struct hutch_stats *s = &r->now;
  char id[13];
  bool zero = !r->running;

  hutch_ctr_short_id (r->c.id, id);
  cell[0] = hutch_xstrdup (id);
  cell[1] = hutch_xstrdup (r->c.name);
  cell[2] = zero          ? hutch_xstrdup ("0.00%")
            : r->cpu >= 0 ? hutch_xasprintf ("%.2f%%", r->cpu)
                          : hutch_xstrdup ("--");
  cell[3] = zero || (s->have & HUTCH_STATS_MEM) ? pair_text (s->mem_usage, s->mem_limit, true)
                                                : hutch_xstrdup ("--");
  cell[4]
      = zero                          ? hutch_xstrdup ("0.00%")
        : (s->have & HUTCH_STATS_MEM) ? hutch_xasprintf (
              "%.2f%%", s->mem_limit ? 100.0 * (double)s->mem_usage / (double)s->mem_limit : 0.0)
                                      : hutch_xstrdup ("--");
  cell[5] = zero || (s->have & HUTCH_STATS_NET) ? pair_text (s->net_rx, s->net_tx, false)
                                                : hutch_xstrdup ("--");
  cell[6] = zero || (s->have & HUTCH_STATS_BLKIO) ? pair_text (s->blk_read, s->blk_write, false)
                                                  : hutch_xstrdup ("--");
  cell[7] = zero || (s->have & HUTCH_STATS_PIDS) ? hutch_xasprintf ("%llu", s->pids)
                                                 : hutch_xstrdup ("--");
}

static void
print_table (const struct row *rows, size_t n, FILE *out)
{
  char ***all = hutch_xmalloc0 ((n + 1) * sizeof *all);
  size_t width[NCOLS], i, k;

  for (k = 0; k < NCOLS; k++)
    width[k] = strlen (headings[k]);
  for (i = 0; i < n; i++)
    {
      all[i] = hutch_xmalloc0 (NCOLS * sizeof (char *));
      cells (&rows[i], all[i]);
      for (k = 0; k < NCOLS; k++)
        if (strlen (all[i][k]) > width[k])
          width[k] = strlen (all[i][k]);
    }
  /* The last column unpadded, docker's tabwriter's way.  */
  width[NCOLS - 1] = 0;
  for (k = 0; k < NCOLS; k++)
    fprintf (out, "%-*s%s", (int)width[k], headings[k], k + 1 < NCOLS ? "   " : "\n");
  for (i = 0; i < n; i++)
    {
      for (k = 0; k < NCOLS; k++)
        {
          fprintf (out, "%-*s%s", (int)width[k], all[i][k], k + 1 < NCOLS ? "   " : "\n");
          free (all[i][k]);
        }
      free (all[i]);
    }
  free (all);
}

/* The raw numbers: bytes, microseconds, percent; null for what could not
   be read, zeros for a container that does not run.  */
static json_t *
row_json (const struct row *r)
{
  const struct hutch_stats *s = &r->now;
  bool zero = !r->running;
  json_t *o = json_object ();

#define NUM(key, field, bit)                                                                       \
  json_object_set_new (o, key,                                                                     \
                       zero                ? json_integer (0)                                      \
                       : (s->have & (bit)) ? json_integer ((json_int_t)(s->field))                 \
                                           : json_null ())
  json_object_set_new (o, "ContainerID", json_string (r->c.id));
  json_object_set_new (o, "Name", json_string (r->c.name));
  json_object_set_new (o, "State", json_string (hutch_state_status_name (r->st.status)));
  json_object_set_new (o, "CPU",
                       zero          ? json_real (0)
                       : r->cpu >= 0 ? json_real (r->cpu)
                                     : json_null ());
  NUM ("CPUUsec", cpu_usec, HUTCH_STATS_CPU);
  NUM ("MemUsage", mem_usage, HUTCH_STATS_MEM);
  NUM ("MemLimit", mem_limit, HUTCH_STATS_MEM);
  json_object_set_new (o, "MemPerc",
                       zero ? json_real (0)
                       : (s->have & HUTCH_STATS_MEM) && s->mem_limit
                           ? json_real (100.0 * (double)s->mem_usage / (double)s->mem_limit)
                           : json_null ());
  NUM ("NetInput", net_rx, HUTCH_STATS_NET);
  NUM ("NetOutput", net_tx, HUTCH_STATS_NET);
  NUM ("BlockInput", blk_read, HUTCH_STATS_BLKIO);
  NUM ("BlockOutput", blk_write, HUTCH_STATS_BLKIO);
  NUM ("PIDs", pids, HUTCH_STATS_PIDS);
#undef NUM
  return o;
}

static void
print_json (const struct row *rows, size_t n, FILE *out)
{
  json_t *a = json_array ();
  char *text;
  size_t i;

  for (i = 0; i < n; i++)
    json_array_append_new (a, row_json (&rows[i]));
  text = json_dumps (a, JSON_INDENT (4));
  fprintf (out, "%s\n", text ? text : "[]");
  free (text);
  json_decref (a);
}

/* ---- the notes on stderr -------------------------------------------- */

/* What stderr is told, each once per invocation; on a terminal that is
   redrawn they are said again below each table, or they would be wiped
   at once.  */
struct notes
{
  char **said;
  size_t printed; /* how many of SAID stderr has had */
  char **seen;    /* "ID running" or "ID stopped": what was looked at */
};

static void
note (struct notes *nt, char *owned)
{
  size_t i;
  for (i = 0; nt->said && nt->said[i]; i++)
    if (strcmp (nt->said[i], owned) == 0)
      {
        free (owned);
        return;
      }
  hutch_strv_push (&nt->said, owned);
}

/* Whether R was looked at in its present state (a container that starts
   later is looked at again).  */
static bool
seen (struct notes *nt, const struct row *r)
{
  _cleanup_free_ char *key = hutch_xasprintf ("%s %s", r->c.id, r->running ? "running" : "stopped");
  size_t i;
  for (i = 0; nt->seen && nt->seen[i]; i++)
    if (strcmp (nt->seen[i], key) == 0)
      return true;
  hutch_strv_push (&nt->seen, HUTCH_STEAL_PTR (key));
  return false;
}

/* The notes not printed yet; ALL: every one (a redrawn terminal).  */
static void
print_notes (struct notes *nt, bool all)
{
  size_t i, n = hutch_strv_len (nt->said);
  for (i = all ? 0 : nt->printed; i < n; i++)
    fprintf (stderr, "%s\n", nt->said[i]);
  nt->printed = n;
}

/* "CPU %, MEM USAGE / LIMIT and PIDS" for the fields of MISSING.  */
static char *
columns_of (unsigned int missing)
{
  const char *names[6];
  size_t n = 0, i;
  char *s = hutch_xstrdup ("");

  if (missing & HUTCH_STATS_CPU)
    names[n++] = "CPU %";
  if (missing & HUTCH_STATS_MEM)
    {
      names[n++] = "MEM USAGE / LIMIT";
      names[n++] = "MEM %";
    }
  if (missing & HUTCH_STATS_BLKIO)
    names[n++] = "BLOCK I/O";
  if (missing & HUTCH_STATS_PIDS)
    names[n++] = "PIDS";
  for (i = 0; i < n; i++)
    {
      char *t = hutch_xasprintf ("%s%s%s", s, i == 0 ? "" : i + 1 == n ? " and " : ", ", names[i]);
      free (s);
      s = t;
    }
  return s;
}

/* Why rows show -- or zeros, the first time each container is seen in
   its state: one line for the containers that share a reason.  */
static void
explain (struct notes *nt, const struct row *rows, size_t n, bool named)
{
  _cleanup_strv_ char **keys = hutch_xmalloc0 (sizeof (char *));
  _cleanup_strv_ char **names = hutch_xmalloc0 (sizeof (char *));
  size_t i, k;

  for (i = 0; i < n; i++)
    {
      const struct row *r = &rows[i];
      unsigned int missing = HUTCH_STATS_CGROUP_FIELDS & ~r->now.have;
      _cleanup_free_ char *why = NULL, *cols = NULL, *key = NULL;

      if (seen (nt, r))
        continue;
      if (!r->running)
        {
          if (named)
            note (nt, hutch_xasprintf (
                          "hutch stats: container %s is %s, not running: its numbers are "
                          "0 until it runs",
                          r->c.name, r->st.status == HUTCH_STATE_CREATED ? "created" : "exited"));
          continue;
        }
      if (missing == 0)
        continue;
      why = hutch_stats_why_missing (r->st.cgroup, missing);
      cols = columns_of (missing);
      key = hutch_xasprintf ("%s show%s -- for %%s: %s", cols,
                             strchr (cols, ',') || strstr (cols, " and ") ? "" : "s", why);
      for (k = 0; keys[k] && strcmp (keys[k], key) != 0; k++)
        ;
      if (keys[k] == NULL)
        {
          hutch_strv_push (&keys, HUTCH_STEAL_PTR (key));
          hutch_strv_push (&names, hutch_xstrdup (r->c.name));
        }
      else
        {
          char *t = hutch_xasprintf ("%s, %s", names[k], r->c.name);
          free (names[k]);
          names[k] = t;
        }
    }
  for (k = 0; keys[k]; k++)
    {
      const char *at = strstr (keys[k], "%s");
      note (nt, hutch_xasprintf ("hutch stats: %.*s%s%s; `hutch info` says what this host has",
                                 (int)(at - keys[k]), keys[k], names[k], at + 2));
    }
}

/* ---- the command ---------------------------------------------------- */

static void
sleep_ms (int ms)
{
  struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}

static int
stats_parse (int argc, char **argv, struct stats_opts *o)
{
  int c, ret = 0;

  while ((c = cmd_next_opt (&cmd_stats_def, argc, argv, &ret)) != -1)
    switch (c)
      {
      case 1000:
        return ret;
      case 'a':
        o->all = true;
        break;
      case OPT_NO_STREAM:
        o->stream = false;
        break;
      case OPT_FORMAT:
        if (strcmp (optarg, "table") != 0 && strcmp (optarg, "json") != 0)
          {
            fprintf (stderr, "hutch stats: --format `%s`: expected table or json\n", optarg);
            return HUTCH_EXIT_ERROR;
          }
        o->json = strcmp (optarg, "json") == 0;
        break;
      }
  return -1;
}

/* The operands' ids, each found before anything is shown: a container
   that does not exist is an error, as docker's.  */
static int
resolve (const char *root, int argc, char **argv, struct stats_opts *o)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  int i, ret = 0;

  for (i = optind; i < argc; i++)
    {
      char *id = NULL;
      size_t k;
      bool dup = false;
      if (hutch_ctr_find (root, argv[i], &id, &err) < 0)
        {
          ret = cmd_report (&err);
          continue;
        }
      for (k = 0; o->ids && o->ids[k]; k++)
        dup |= strcmp (o->ids[k], id) == 0;
      if (dup)
        free (id);
      else
        hutch_strv_push (&o->ids, id);
    }
  return ret;
}

static int
cmd_stats (int argc, char **argv)
{
  struct stats_opts o = { false, true, false, NULL };
  _cleanup_free_ char *root = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct notes nt = { NULL, 0, NULL };
  struct row *before, *rows;
  size_t nb, n;
  bool tty = isatty (STDOUT_FILENO), redraw;
  int r = stats_parse (argc, argv, &o);

  if (r >= 0)
    return r;
  root = hutch_ctrs_root (cmd_globals.root, &err);
  if (root == NULL)
    return cmd_report (&err);
  if (optind < argc && (r = resolve (root, argc, argv, &o)) != 0)
    {
      hutch_strv_free (o.ids);
      return r;
    }
  redraw = o.stream && tty;
  before = collect (root, &o, &nb);
  if (nb > 0)
    sleep_ms (FIRST_INTERVAL_MS);
  for (;;)
    {
      rows = collect (root, &o, &n);
      rates (rows, n, before, nb);
      rows_free (before, nb);
      if (redraw)
        fputs ("\033[2J\033[H", stdout);
      if (o.json)
        print_json (rows, n, stdout);
      else
        print_table (rows, n, stdout);
      fflush (stdout);
      explain (&nt, rows, n, o.ids != NULL);
      print_notes (&nt, redraw && isatty (STDERR_FILENO));
      before = rows;
      nb = n;
      if (!o.stream || n == 0)
        break;
      sleep_ms (INTERVAL_MS);
    }
  rows_free (before, nb);
  hutch_strv_free (nt.said);
  hutch_strv_free (nt.seen);
  hutch_strv_free (o.ids);
  return 0;
}
