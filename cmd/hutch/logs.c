/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* `hutch logs`: a container's output, as its monitor logged it
   (src/front/logread.h).  */

#include "hutch.h"
#include "front/containers.h"
#include "front/logread.h"
#include "runtime/state.h"
#include "base/util.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmd_logs (int argc, char **argv);

enum
{
  OPT_SINCE = 256,
  OPT_UNTIL,
  OPT_TAIL,
};

static const struct cmd_opt logs_opts[] = {
  { "follow", 'f', no_argument, NULL,
    "go on printing what it writes until it has ended\n(one its restart policy starts again is "
    "followed on)",
    NULL },
  { "since", OPT_SINCE, required_argument, "TIME",
    "only lines begun at TIME or later: RFC 3339\n(2006-01-02T15:04:05Z), a date (2006-01-02), "
    "unix\nseconds, or a duration before now (10m, 1h30m)",
    NULL },
  { "until", OPT_UNTIL, required_argument, "TIME",
    "only lines begun at TIME or before (as --since);\nwith -f, stop following then", NULL },
  { "tail", OPT_TAIL, required_argument, "N", "only the last N lines (default: all)", "all" },
  { "timestamps", 't', no_argument, NULL, "each line after the time it began", NULL },
  { 0 },
};

const struct cmd_def cmd_logs_def = {
  .name = "logs",
  .summary = "show a container's output",
  .usage = "Usage: hutch logs [OPTIONS] CONTAINER\n"
           "\n"
           "Show what a container started with `hutch run -d` wrote: its standard output on\n"
           "standard output, its standard error on standard error.  CONTAINER is its name,\n"
           "its id or a unique prefix of the id.\n",
  .opts = logs_opts,
  .fn = cmd_logs,
  .flags = CMD_PERMUTE,
};

/* Where the log goes: stdout's records to fd 1, stderr's to fd 2, through
   one buffer that is written out before the other stream is written to,
   so that a terminal that shows both shows them in the order they came.  */
struct out
{
  int stream; /* the stream the buffer holds */
  size_t len;
  char buf[64 * 1024];
};

static int
out_flush (void *data)
{
  struct out *o = data;
  int ret = 0;

  if (o->len > 0)
    ret = hutch_write_all (o->stream == HUTCH_LOGREAD_STDERR ? 2 : 1, o->buf, o->len);
  o->len = 0;
  return ret;
}

static int
out_write (void *data, enum hutch_logread_stream stream, const char *buf, size_t len)
{
  struct out *o = data;
  int ret;

  if ((o->stream != (int)stream || o->len + len > sizeof o->buf) && (ret = out_flush (o)) < 0)
    return ret;
  o->stream = (int)stream;
  if (len > sizeof o->buf)
    return hutch_write_all (stream == HUTCH_LOGREAD_STDERR ? 2 : 1, buf, len);
  memcpy (o->buf + o->len, buf, len);
  o->len += len;
  return 0;
}

static int
bad_value (const char *opt, const char *value, hutch_error_t *err)
{
  _cleanup_free_ char *v = hutch_xstrdup (value);
  cmd_scrub (v);
  cmd_scrub (err->msg);
  fprintf (stderr, "hutch logs: %s `%s`: %s; see `hutch logs --help`\n", opt, v, err->msg);
  hutch_error_clear (err);
  return HUTCH_EXIT_ERROR;
}

/* The container's log must be one hutch keeps.  */
static int
check_driver (const struct hutch_ctr *c, hutch_error_t *err)
{
  if (c->log_driver == HUTCH_LOG_NONE)
    return hutch_error_set (err, 0,
                            "container %s has no log: it was started with --log-driver none; "
                            "start a new one without it (k8s-file, the default) to keep its "
                            "output",
                            c->name);
  if (c->log_driver == HUTCH_LOG_PASSTHROUGH)
    return hutch_error_set (err, 0,
                            "container %s has no log: its output went to the terminal that "
                            "started it (--log-driver passthrough); start a new one with "
                            "--log-driver k8s-file to keep its output",
                            c->name);
  return 0;
}

static int
cmd_logs (int argc, char **argv)
{
  struct hutch_logread_opts o = HUTCH_LOGREAD_OPTS_INIT;
  struct hutch_logread_stats stats = { 0 };
  struct hutch_logread_out out;
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_free_ char *root = NULL;
  struct hutch_ctr c;
  _cleanup_free_ struct out *state = hutch_xmalloc0 (sizeof *state);
  long long now = hutch_state_now ();
  int opt, ret = 0;

  optind = 1;
  while ((opt = cmd_next_opt (&cmd_logs_def, argc, argv, &ret)) != -1)
    switch (opt)
      {
      case 1000:
        return ret;
      case 'f':
        o.follow = true;
        break;
      case 't':
        o.timestamps = true;
        break;
      case OPT_SINCE:
        if (hutch_logread_parse_time (optarg, now, &o.since, &err) < 0)
          return bad_value ("--since", optarg, &err);
        break;
      case OPT_UNTIL:
        if (hutch_logread_parse_time (optarg, now, &o.until, &err) < 0)
          return bad_value ("--until", optarg, &err);
        break;
      case OPT_TAIL:
        if (hutch_logread_parse_tail (optarg, &o.tail, &err) < 0)
          return bad_value ("--tail", optarg, &err);
        break;
      }
  if (argc - optind != 1)
    {
      fprintf (stderr, "hutch logs: expected one CONTAINER; see `hutch logs --help`\n");
      return HUTCH_EXIT_ERROR;
    }
  memset (&c, 0, sizeof c);
  root = hutch_ctrs_root (cmd_globals.root, &err);
  if (root == NULL || hutch_ctr_lookup (root, argv[optind], &c, &err) < 0
      || check_driver (&c, &err) < 0)
    {
      hutch_ctr_clear (&c);
      return cmd_report (&err);
    }
  out = (struct hutch_logread_out){ out_write, out_flush, state };
  ret = hutch_logread (&c, &o, &out, &stats, &err);
  if (ret < 0)
    {
      hutch_ctr_clear (&c);
      return cmd_report (&err);
    }
  if (stats.garbage)
    fprintf (stderr, "hutch logs: warning: skipped %llu line%s of the log in %s: %s\n",
             stats.garbage, stats.garbage == 1 ? "" : "s", c.dir,
             stats.garbage == 1 ? "not a k8s-file record" : "not k8s-file records");
  hutch_ctr_clear (&c);
  return 0;
}
