/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* What people read about containers: ps, inspect, top.  They take no
   lock (the records and states are replaced whole), so a busy container
   never makes them wait.  */

#include "hutch.h"
#include "base/units.h"
#include "base/util.h"
#include "base/walk.h"
#include "front/containers.h"
#include "runtime/specjson.h"
#include "runtime/state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int cmd_ps (int argc, char **argv);
static int cmd_inspect (int argc, char **argv);
static int cmd_top (int argc, char **argv);

enum
{
  OPT_NO_TRUNC = 256,
  OPT_FORMAT,
  OPT_FILTER,
};

static const struct cmd_opt ps_opts[] = {
  { "all", 'a', no_argument, NULL, "also containers that do not run", NULL },
  { "quiet", 'q', no_argument, NULL, "only the ids", NULL },
  { "last", 'n', required_argument, "N", "the N containers made last (any state)", NULL },
  { "latest", 'l', no_argument, NULL, "the container made last (any state)", NULL },
  { "no-trunc", OPT_NO_TRUNC, no_argument, NULL, "whole ids and commands", NULL },
  { "filter", 'f', required_argument, "KEY=VALUE",
    "only containers that match (repeatable; the same\nkey twice: either): id=, name=, status=,\n"
    "label=KEY[=VALUE], ancestor=IMAGE, exited=CODE",
    "id= name= status= label= ancestor= exited=" },
  { "format", OPT_FORMAT, required_argument, "FORMAT",
    "table (default), json, or a template of\n{{.ID}} {{.Names}} {{.Image}} {{.Command}}\n"
    "{{.CreatedAt}} {{.RunningFor}} {{.Status}}\n{{.State}} {{.Ports}} {{.Labels}}",
    "table json {{.Names}} {{.ID}}" },
  { 0 },
};

const struct cmd_def cmd_ps_def = {
  .name = "ps",
  .summary = "list containers",
  .usage = "Usage: hutch ps [OPTIONS]\n"
           "\n"
           "List the running containers (with -a, all of them), newest first.\n",
  .opts = ps_opts,
  .fn = cmd_ps,
};

static const struct cmd_opt inspect_opts[] = {
  { "format", OPT_FORMAT, required_argument, "FORMAT", "json (the default)", "json" },
  { 0 },
};

const struct cmd_def cmd_inspect_def = {
  .name = "inspect",
  .summary = "print containers' details as JSON",
  .usage = "Usage: hutch inspect CONTAINER...\n"
           "\n"
           "Print a JSON array with each container's details, close to podman's: Id,\n"
           "Name, State (with its pid and exit code), Config, HostConfig, Mounts,\n"
           "NetworkSettings (the published ports), the cgroup and the namespaces of its\n"
           "first process.\n",
  .opts = inspect_opts,
  .operands = CMD_VALUE_CONTAINER,
  .fn = cmd_inspect,
  .flags = CMD_PERMUTE,
};

const struct cmd_def cmd_top_def = {
  .name = "top",
  .summary = "list a container's processes",
  .usage = "Usage: hutch top CONTAINER\n"
           "\n"
           "List the processes of a running container: USER (a name from the container's\n"
           "own /etc/passwd), PID and PPID (the host's), STATE, TIME, COMMAND.\n",
  .operands = CMD_VALUE_CONTAINER,
  .fn = cmd_top,
};

/* ---- one container, as people see it -------------------------------- */

struct row
{
  struct hutch_ctr c;
  struct hutch_state st;
};

static void
row_clear (struct row *r)
{
  hutch_ctr_clear (&r->c);
  hutch_state_clear (&r->st);
}

/* The command as people read it: an image's Cmd is the image author's
   text, shown with its control characters escaped.  */
static char *
command_text (char *const *args, bool trunc)
{
  char *s = hutch_xstrdup ("");
  size_t i;
  for (i = 0; args && args[i]; i++)
    {
      char *n = hutch_xasprintf ("%s%s%s", s, i ? " " : "", args[i]);
      free (s);
      s = n;
    }
  {
    char *shown = hutch_walk_shown (s);
    free (s);
    s = shown;
  }
  if (trunc && strlen (s) > 20)
    strcpy (s + 17, "...");
  return s;
}

static char *
ago (long long ns)
{
  long long secs = (hutch_state_now () - ns) / 1000000000LL;
  _cleanup_free_ char *d = hutch_human_duration (secs < 0 ? 0 : secs);
  return hutch_xasprintf ("%s ago", d);
}

/* "Up 5 seconds", "Exited (0) 3 minutes ago", "Created", docker's words.  */
static char *
status_text (const struct hutch_state *st)
{
  long long now = hutch_state_now ();
  switch (st->status)
    {
    case HUTCH_STATE_CREATED:
      return hutch_xstrdup ("Created");
    case HUTCH_STATE_RUNNING:
    case HUTCH_STATE_PAUSED:
      {
        _cleanup_free_ char *d = hutch_human_duration ((now - st->started) / 1000000000LL);
        return hutch_xasprintf ("Up %s%s", d, st->status == HUTCH_STATE_PAUSED ? " (Paused)" : "");
      }
    case HUTCH_STATE_EXITED:
    default:
      {
        _cleanup_free_ char *a = st->finished ? ago (st->finished) : hutch_xstrdup ("");
        if (st->exit_code < 0)
          return hutch_xasprintf ("Exited %s", a);
        return hutch_xasprintf ("Exited (%d) %s", st->exit_code, a);
      }
    }
}

static char *
rfc3339 (long long ns)
{
  char buf[64], zone[8];
  time_t t = (time_t)(ns / 1000000000LL);
  struct tm tm;
  if (ns == 0)
    return hutch_xstrdup ("0001-01-01T00:00:00Z");
  localtime_r (&t, &tm);
  strftime (buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  strftime (zone, sizeof zone, "%z", &tm);
  return hutch_xasprintf ("%s.%09lld%.3s:%s", buf, ns % 1000000000LL, zone, zone + 3);
}

static const char *
image_text (const struct hutch_ctr *c)
{
  return c->image ? c->image : c->rootfs ? c->rootfs : "(host)";
}

/* ---- filters -------------------------------------------------------- */

static bool
match_one (const struct row *r, const char *key, const char *v)
{
  size_t i;
  if (strcmp (key, "id") == 0)
    return strncmp (r->c.id, v, strlen (v)) == 0;
  if (strcmp (key, "name") == 0)
    return strstr (r->c.name, v) != NULL;
  if (strcmp (key, "status") == 0)
    return strcmp (hutch_state_status_name (r->st.status), v) == 0;
  if (strcmp (key, "exited") == 0)
    return r->st.status == HUTCH_STATE_EXITED && r->st.exit_code == atoi (v);
  if (strcmp (key, "ancestor") == 0)
    {
      const char *img = r->c.image ? r->c.image : "";
      size_t n = strlen (v);
      return strcmp (img, v) == 0
             || (r->c.image_id
                 && (strcmp (r->c.image_id, v) == 0
                     || (strncmp (r->c.image_id, "sha256:", 7) == 0
                         && strncmp (r->c.image_id + 7, v, n) == 0 && n >= 3)))
             || (strchr (v, ':') == NULL && strncmp (img, v, n) == 0 && img[n] == ':');
    }
  if (strcmp (key, "label") == 0)
    {
      const char *eq = strchr (v, '=');
      size_t klen = eq ? (size_t)(eq - v) : strlen (v);
      for (i = 0; i < r->c.n_labels; i++)
        if (strlen (r->c.labels[i].key) == klen && strncmp (r->c.labels[i].key, v, klen) == 0)
          return eq == NULL || strcmp (r->c.labels[i].value, eq + 1) == 0;
      return false;
    }
  return false;
}

static const char *const filter_keys[] = { "id", "name", "status", "label", "ancestor", "exited" };
static const char *const statuses[] = { "created", "running", "paused", "exited" };

static int
check_filter (const char *f)
{
  const char *eq = strchr (f, '=');
  size_t i, klen = eq ? (size_t)(eq - f) : 0;
  bool known = false;

  for (i = 0; eq && i < sizeof filter_keys / sizeof *filter_keys; i++)
    known |= strlen (filter_keys[i]) == klen && strncmp (f, filter_keys[i], klen) == 0;
  if (!known)
    {
      fprintf (stderr,
               "hutch ps: --filter `%s`: expected KEY=VALUE with KEY one of id, name, status, "
               "label, ancestor, exited\n",
               f);
      return -1;
    }
  if (strncmp (f, "status=", 7) == 0)
    {
      for (i = 0; i < sizeof statuses / sizeof *statuses; i++)
        if (strcmp (f + 7, statuses[i]) == 0)
          return 0;
      fprintf (stderr, "hutch ps: --filter `%s`: a status is created, running, paused or exited\n",
               f);
      return -1;
    }
  if (strncmp (f, "exited=", 7) == 0)
    {
      unsigned int n;
      if (hutch_parse_u32 (f + 7, &n) < 0 || n > 255)
        {
          fprintf (stderr, "hutch ps: --filter `%s`: an exit code is 0 to 255\n", f);
          return -1;
        }
    }
  return 0;
}

/* docker's rule: filters of different keys must all match; several of
   one key, any of them.  */
static bool
matches (const struct row *r, char *const *filters)
{
  size_t k, i;
  for (k = 0; k < sizeof filter_keys / sizeof *filter_keys; k++)
    {
      bool seen = false, any = false;
      size_t klen = strlen (filter_keys[k]);
      for (i = 0; filters && filters[i]; i++)
        if (strncmp (filters[i], filter_keys[k], klen) == 0 && filters[i][klen] == '=')
          {
            seen = true;
            any |= match_one (r, filter_keys[k], filters[i] + klen + 1);
          }
      if (seen && !any)
        return false;
    }
  return true;
}

/* ---- ps ------------------------------------------------------------- */

static int
by_created (const void *a, const void *b)
{
  const struct row *x = a, *y = b;
  return x->c.created < y->c.created ? 1 : x->c.created > y->c.created ? -1 : 0;
}

static json_t *
row_json (const struct row *r)
{
  json_t *o = json_object (), *names = json_array (), *cmd = json_array (),
         *labels = json_object ();
  _cleanup_free_ char *created = rfc3339 (r->c.created), *status = status_text (&r->st);
  size_t i;

  json_array_append_new (names, json_string (r->c.name));
  for (i = 0; r->c.command && r->c.command[i]; i++)
    json_array_append_new (cmd, json_string (r->c.command[i]));
  for (i = 0; i < r->c.n_labels; i++)
    json_object_set_new (labels, r->c.labels[i].key, json_string (r->c.labels[i].value));
  json_object_set_new (o, "Id", json_string (r->c.id));
  json_object_set_new (o, "Names", names);
  json_object_set_new (o, "Image", json_string (image_text (&r->c)));
  json_object_set_new (o, "ImageID", r->c.image_id ? json_string (r->c.image_id) : json_null ());
  json_object_set_new (o, "Command", cmd);
  json_object_set_new (o, "Created", json_integer (r->c.created / 1000000000LL));
  json_object_set_new (o, "CreatedAt", json_string (created));
  json_object_set_new (o, "State", json_string (hutch_state_status_name (r->st.status)));
  json_object_set_new (o, "Status", json_string (status));
  json_object_set_new (o, "ExitCode", json_integer (r->st.exit_code < 0 ? 0 : r->st.exit_code));
  json_object_set_new (o, "Exited", json_boolean (r->st.status == HUTCH_STATE_EXITED));
  json_object_set_new (o, "ExitedAt", json_integer (r->st.finished / 1000000000LL));
  json_object_set_new (o, "StartedAt", json_integer (r->st.started / 1000000000LL));
  json_object_set_new (o, "Pid",
                       json_integer (r->st.status == HUTCH_STATE_RUNNING ? r->st.pid : 0));
  json_object_set_new (o, "Ports", json_string (r->st.ports ? r->st.ports : ""));
  json_object_set_new (o, "Labels", labels);
  json_object_set_new (o, "Restarts", json_integer (r->st.restarts));
  return o;
}

/* One field of a --format template.  */
static char *
field (const struct row *r, const char *name, bool trunc)
{
  char id[13];
  hutch_ctr_short_id (r->c.id, id);
  if (strcmp (name, "ID") == 0)
    return hutch_xstrdup (trunc ? id : r->c.id);
  if (strcmp (name, "Names") == 0)
    return hutch_xstrdup (r->c.name);
  if (strcmp (name, "Image") == 0)
    return hutch_xstrdup (image_text (&r->c));
  if (strcmp (name, "Command") == 0)
    return command_text (r->c.command, trunc);
  if (strcmp (name, "CreatedAt") == 0)
    return rfc3339 (r->c.created);
  if (strcmp (name, "RunningFor") == 0)
    return ago (r->c.created);
  if (strcmp (name, "Status") == 0)
    return status_text (&r->st);
  if (strcmp (name, "State") == 0)
    return hutch_xstrdup (hutch_state_status_name (r->st.status));
  if (strcmp (name, "Ports") == 0)
    return hutch_xstrdup (r->st.status == HUTCH_STATE_RUNNING && r->st.ports ? r->st.ports : "");
  if (strcmp (name, "Labels") == 0)
    {
      char *s = hutch_xstrdup ("");
      size_t i;
      for (i = 0; i < r->c.n_labels; i++)
        {
          char *n = hutch_xasprintf ("%s%s%s=%s", s, i ? "," : "", r->c.labels[i].key,
                                     r->c.labels[i].value);
          free (s);
          s = n;
        }
      return s;
    }
  return NULL;
}

/* A template ({{.Names}}\t{{.Status}}): each field replaced, `\t` and
   `\n` as written; an unknown field is an error before anything prints.  */
static int
template_line (const struct row *r, const char *t, bool trunc, FILE *out)
{
  const char *p = t;
  while (*p)
    {
      if (p[0] == '{' && p[1] == '{')
        {
          const char *end = strstr (p, "}}");
          _cleanup_free_ char *name = NULL, *v = NULL;
          const char *n = p + 2;
          size_t len;
          if (end == NULL)
            return -1;
          while (*n == ' ')
            n++;
          if (*n == '.')
            n++;
          len = (size_t)(end - n);
          while (len && n[len - 1] == ' ')
            len--;
          name = hutch_xstrndup (n, len);
          v = field (r, name, trunc);
          if (v == NULL)
            return -1;
          if (out)
            fputs (v, out);
          p = end + 2;
        }
      else if (p[0] == '\\' && (p[1] == 't' || p[1] == 'n'))
        {
          if (out)
            fputc (p[1] == 't' ? '\t' : '\n', out);
          p += 2;
        }
      else
        {
          if (out)
            fputc (*p, out);
          p++;
        }
    }
  if (out)
    fputc ('\n', out);
  return 0;
}

/* Columns as wide as their widest cell, three spaces apart (docker's
   tabwriter).  */
static void
print_table (struct row *rows, size_t n, bool trunc)
{
  enum
  {
    COLS = 7
  };
  static const char *const head[COLS]
      = { "CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES" };
  char **cells = hutch_xmalloc0 ((n + 1) * COLS * sizeof (char *));
  size_t w[COLS] = { 0 }, i, k;

  for (k = 0; k < COLS; k++)
    cells[k] = hutch_xstrdup (head[k]);
  for (i = 0; i < n; i++)
    {
      char **r = cells + (i + 1) * COLS;
      r[0] = field (&rows[i], "ID", trunc);
      r[1] = hutch_walk_shown (image_text (&rows[i].c));
      r[2] = command_text (rows[i].c.command, trunc);
      r[3] = ago (rows[i].c.created);
      r[4] = status_text (&rows[i].st);
      r[5] = field (&rows[i], "Ports", trunc);
      r[6] = hutch_xstrdup (rows[i].c.name);
    }
  for (i = 0; i <= n; i++)
    for (k = 0; k < COLS; k++)
      if (strlen (cells[i * COLS + k]) > w[k])
        w[k] = strlen (cells[i * COLS + k]);
  for (i = 0; i <= n; i++)
    {
      for (k = 0; k < COLS; k++)
        {
          if (k + 1 < COLS)
            printf ("%-*s   ", (int)w[k], cells[i * COLS + k]);
          else
            printf ("%s\n", cells[i * COLS + k]);
          free (cells[i * COLS + k]);
        }
    }
  free (cells);
}

struct ps_opts
{
  bool all, quiet, trunc;
  long last;
  char **filters;
  const char *format;
};

static int
ps_parse (int argc, char **argv, struct ps_opts *o)
{
  int c, ret = 0;
  unsigned int n;

  while ((c = cmd_next_opt (&cmd_ps_def, argc, argv, &ret)) != -1)
    switch (c)
      {
      case 1000:
        return ret;
      case 'a':
        o->all = true;
        break;
      case 'q':
        o->quiet = true;
        break;
      case 'l':
        o->last = 1;
        break;
      case 'n':
        if (hutch_parse_u32 (optarg, &n) < 0)
          {
            fprintf (stderr, "hutch ps: --last `%s`: expected a number\n", optarg);
            return HUTCH_EXIT_ERROR;
          }
        o->last = n;
        break;
      case OPT_NO_TRUNC:
        o->trunc = false;
        break;
      case 'f':
        if (check_filter (optarg) < 0)
          return HUTCH_EXIT_ERROR;
        hutch_strv_push (&o->filters, hutch_xstrdup (optarg));
        break;
      case OPT_FORMAT:
        o->format = optarg;
        break;
      }
  if (optind < argc)
    {
      fprintf (stderr, "hutch ps: unexpected argument `%s`\n", argv[optind]);
      return HUTCH_EXIT_ERROR;
    }
  return -1;
}

static int
cmd_ps (int argc, char **argv)
{
  struct ps_opts o = { false, false, true, -1, NULL, "table" };
  _cleanup_free_ char *root = NULL;
  _cleanup_strv_ char **ids = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct row *rows;
  size_t i, n = 0;
  int r = ps_parse (argc, argv, &o);
  struct row probe;

  if (r >= 0)
    {
      hutch_strv_free (o.filters);
      return r;
    }
  /* The template is tried on a made-up row first: a bad field is an
     error before anything prints.  */
  memset (&probe, 0, sizeof probe);
  probe.c.id = probe.c.name = (char *)"x";
  hutch_state_init (&probe.st);
  if (strcmp (o.format, "table") != 0 && strcmp (o.format, "json") != 0
      && template_line (&probe, o.format, true, NULL) < 0)
    {
      hutch_strv_free (o.filters);
      fprintf (stderr,
               "hutch ps: --format `%s`: expected table, json, or a template of {{.ID}}, "
               "{{.Names}}, {{.Image}}, {{.Command}}, {{.CreatedAt}}, {{.RunningFor}}, "
               "{{.Status}}, {{.State}}, {{.Ports}}, {{.Labels}}\n",
               o.format);
      return HUTCH_EXIT_ERROR;
    }
  root = hutch_ctrs_root (cmd_globals.root, &err);
  if (root == NULL)
    {
      hutch_strv_free (o.filters);
      return cmd_report (&err);
    }
  /* The dead are judged as they are read, and written down without
     waiting for a busy container: the judging never blocks a listing.  */
  ids = hutch_ctr_list (root);
  rows = hutch_xmalloc0 ((hutch_strv_len (ids) + 1) * sizeof *rows);
  for (i = 0; ids[i]; i++)
    {
      struct row *rw = &rows[n];
      if (hutch_ctr_load (root, ids[i], &rw->c, &err) < 0
          || hutch_ctr_state (&rw->c, &rw->st, &err) < 0)
        {
          hutch_error_clear (&err);
          hutch_ctr_clear (&rw->c);
          continue;
        }
      /* A --rm container whose holder was killed is removed by the next
         command that sweeps; it is gone already for people.  */
      if (rw->c.rm && rw->st.status == HUTCH_STATE_EXITED
          && !hutch_state_pid_alive (rw->st.monitor, rw->st.monitor_start))
        {
          row_clear (rw);
          continue;
        }
      n++;
    }
  qsort (rows, n, sizeof *rows, by_created);
  if (o.last >= 0 && (size_t)o.last < n)
    {
      for (i = (size_t)o.last; i < n; i++)
        row_clear (&rows[i]);
      n = (size_t)o.last;
    }
  /* Keep what is shown.  */
  {
    size_t k = 0;
    for (i = 0; i < n; i++)
      {
        bool shown = (o.all || o.last >= 0 || o.filters || rows[i].st.status == HUTCH_STATE_RUNNING
                      || rows[i].st.status == HUTCH_STATE_PAUSED)
                     && matches (&rows[i], o.filters);
        if (shown)
          rows[k++] = rows[i];
        else
          row_clear (&rows[i]);
      }
    n = k;
  }
  if (o.quiet)
    for (i = 0; i < n; i++)
      {
        _cleanup_free_ char *id = field (&rows[i], "ID", o.trunc);
        printf ("%s\n", id);
      }
  else if (strcmp (o.format, "json") == 0)
    {
      json_t *a = json_array ();
      char *text;
      for (i = 0; i < n; i++)
        json_array_append_new (a, row_json (&rows[i]));
      text = json_dumps (a, JSON_INDENT (4));
      printf ("%s\n", text ? text : "[]");
      free (text);
      json_decref (a);
    }
  else if (strcmp (o.format, "table") == 0)
    print_table (rows, n, o.trunc);
  else
    for (i = 0; i < n; i++)
      template_line (&rows[i], o.format, o.trunc, stdout);
  for (i = 0; i < n; i++)
    row_clear (&rows[i]);
  free (rows);
  hutch_strv_free (o.filters);
  return 0;
}

/* ---- inspect -------------------------------------------------------- */

/* The configuration it last ran with (config.json), or NULL.  */
static json_t *
load_config (const struct hutch_ctr *c)
{
  _cleanup_free_ char *p = hutch_xasprintf ("%s/config.json", c->dir);
  return json_load_file (p, 0, NULL);
}

static json_t *
copy_or_null (json_t *v)
{
  return v ? json_deep_copy (v) : json_null ();
}

/* The namespaces of PID, as lsns lists them: type and inode.  */
static json_t *
namespaces (pid_t pid)
{
  static const char *const ns[] = { "user", "mnt", "pid", "uts", "ipc", "net", "cgroup" };
  json_t *o = json_object ();
  size_t i;
  for (i = 0; pid > 0 && i < sizeof ns / sizeof *ns; i++)
    {
      char path[64];
      struct stat st;
      snprintf (path, sizeof path, "/proc/%d/ns/%s", (int)pid, ns[i]);
      if (stat (path, &st) == 0)
        json_object_set_new (o, ns[i], json_integer ((json_int_t)st.st_ino));
    }
  return o;
}

/* "80/tcp -> 127.0.0.1:8080, ..." as docker's NetworkSettings.Ports.  */
static json_t *
ports_json (const char *ports)
{
  _cleanup_free_ char *copy = ports ? hutch_xstrdup (ports) : NULL;
  json_t *o = json_object ();
  char *p, *save = NULL;
  for (p = copy ? strtok_r (copy, ",", &save) : NULL; p; p = strtok_r (NULL, ",", &save))
    {
      char *arrow, *colon;
      json_t *a, *b;
      while (*p == ' ')
        p++;
      arrow = strstr (p, " -> ");
      if (arrow == NULL)
        continue;
      *arrow = '\0';
      colon = strrchr (arrow + 4, ':');
      if (colon == NULL)
        continue;
      *colon = '\0';
      a = json_object_get (o, p);
      if (a == NULL)
        json_object_set_new (o, p, a = json_array ());
      b = json_pack ("{s:s, s:s}", "HostIp", arrow + 4, "HostPort", colon + 1);
      json_array_append_new (a, b);
    }
  return o;
}

static json_t *
mounts_json (json_t *config)
{
  json_t *a = json_array (), *m;
  size_t i;
  json_array_foreach (json_object_get (config, "mounts"), i, m)
  {
    const char *type = json_string_value (json_object_get (m, "type"));
    json_t *opts = json_object_get (m, "options"), *o;
    bool ro = false;
    size_t k;
    if (type == NULL || strcmp (type, "bind") != 0)
      continue;
    json_array_foreach (opts, k, o) ro
        |= json_is_string (o) && strcmp (json_string_value (o), "ro") == 0;
    json_array_append_new (a, json_pack ("{s:s, s:O, s:O, s:b, s:O}", "Type", "bind", "Source",
                                         json_object_get (m, "source"), "Destination",
                                         json_object_get (m, "destination"), "RW", !ro, "Options",
                                         opts ? opts : json_null ()));
  }
  return a;
}

static json_t *
inspect_json (const struct row *r)
{
  static const char *const restarts[] = { "no", "on-failure", "always", "unless-stopped" };
  static const char *const drivers[] = { "k8s-file", "none", "passthrough" };
  json_t *config = load_config (&r->c), *process = json_object_get (config, "process");
  json_t *o = json_object (), *state, *cfg, *host, *labels = json_object ();
  _cleanup_free_ char *created = rfc3339 (r->c.created), *started = rfc3339 (r->st.started);
  _cleanup_free_ char *finished = rfc3339 (r->st.finished);
  _cleanup_free_ char *log = hutch_xasprintf ("%s/ctr.log", r->c.dir);
  bool running = r->st.status == HUTCH_STATE_RUNNING || r->st.status == HUTCH_STATE_PAUSED;
  size_t i;

  for (i = 0; i < r->c.n_labels; i++)
    json_object_set_new (labels, r->c.labels[i].key, json_string (r->c.labels[i].value));
  json_object_set_new (o, "Id", json_string (r->c.id));
  json_object_set_new (o, "Created", json_string (created));
  json_object_set_new (o, "Path",
                       json_string (r->c.command && r->c.command[0] ? r->c.command[0] : ""));
  json_object_set_new (o, "Args",
                       hutch_json_strv (r->c.command && r->c.command[0] ? r->c.command + 1 : NULL));
  state = json_pack (
      "{s:s, s:b, s:b, s:b, s:b, s:b, s:i, s:i, s:s, s:s, s:s}", "Status",
      hutch_state_status_name (r->st.status), "Running", r->st.status == HUTCH_STATE_RUNNING,
      "Paused", r->st.status == HUTCH_STATE_PAUSED, "Restarting", 0, "OOMKilled", r->st.oom, "Dead",
      0, "Pid", running ? r->st.pid : 0, "ExitCode", r->st.exit_code < 0 ? 0 : r->st.exit_code,
      "Error", r->st.error ? r->st.error : "", "StartedAt", started, "FinishedAt", finished);
  json_object_set_new (state, "ConmonPid", json_integer (running ? r->st.monitor : 0));
  json_object_set_new (o, "State", state);
  json_object_set_new (o, "Image", r->c.image_id ? json_string (r->c.image_id) : json_null ());
  json_object_set_new (o, "ImageName", json_string (image_text (&r->c)));
  json_object_set_new (o, "Rootfs", json_string (r->c.rootfs ? r->c.rootfs : ""));
  json_object_set_new (o, "Name", json_string (r->c.name));
  json_object_set_new (o, "RestartCount", json_integer (r->st.restarts));
  /* podman's name: the configuration that `hutch exec`, and hutch's
     Slurm plugin, give the processes they put in the container.  */
  {
    _cleanup_free_ char *ocp = hutch_xasprintf ("%s/config.json", r->c.dir);
    json_object_set_new (o, "OCIConfigPath", json_string (ocp));
  }
  json_object_set_new (o, "LogPath",
                       json_string (r->c.log_driver == HUTCH_LOG_K8S_FILE ? log : ""));
  cfg = json_object ();
  json_object_set_new (cfg, "Hostname", copy_or_null (json_object_get (config, "hostname")));
  json_object_set_new (cfg, "User", copy_or_null (json_object_get (process, "user")));
  json_object_set_new (cfg, "Env", copy_or_null (json_object_get (process, "env")));
  json_object_set_new (cfg, "Cmd", hutch_json_strv (r->c.command));
  json_object_set_new (cfg, "Image", json_string (image_text (&r->c)));
  json_object_set_new (cfg, "WorkingDir", copy_or_null (json_object_get (process, "cwd")));
  json_object_set_new (cfg, "Labels", labels);
  json_object_set_new (cfg, "Annotations", copy_or_null (json_object_get (config, "annotations")));
  json_object_set_new (cfg, "StopSignal", json_integer (r->c.stop_signal));
  json_object_set_new (cfg, "StopTimeout", json_integer (r->c.stop_timeout));
  json_object_set_new (cfg, "Tty", json_boolean (r->c.tty));
  json_object_set_new (cfg, "OpenStdin", json_boolean (r->c.interactive));
  json_object_set_new (o, "Config", cfg);
  host = json_object ();
  json_object_set_new (host, "RestartPolicy",
                       json_pack ("{s:s, s:i}", "Name", restarts[r->c.restart & 3],
                                  "MaximumRetryCount", (int)r->c.restart_max));
  json_object_set_new (host, "AutoRemove", json_boolean (r->c.rm));
  json_object_set_new (host, "LogConfig",
                       json_pack ("{s:s, s:{s:I, s:i}}", "Type", drivers[r->c.log_driver % 3],
                                  "Config", "max-size", (json_int_t)r->c.log_max_size, "max-file",
                                  (int)r->c.log_max_file));
  json_object_set_new (
      host, "Resources",
      copy_or_null (json_object_get (json_object_get (config, "linux"), "resources")));
  json_object_set_new (o, "HostConfig", host);
  json_object_set_new (o, "Mounts", mounts_json (config));
  json_object_set_new (o, "NetworkSettings",
                       json_pack ("{s:o}", "Ports", ports_json (running ? r->st.ports : NULL)));
  json_object_set_new (o, "CgroupPath",
                       r->st.cgroup && running ? json_string (r->st.cgroup) : json_null ());
  json_object_set_new (o, "Namespaces", namespaces (running ? r->st.pid : 0));
  json_decref (config);
  return o;
}

static int
cmd_inspect (int argc, char **argv)
{
  _cleanup_free_ char *root = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  json_t *a;
  char *text;
  int c, i, ret = 0;

  while ((c = cmd_next_opt (&cmd_inspect_def, argc, argv, &ret)) != -1)
    if (c == 1000)
      return ret;
    else if (c == OPT_FORMAT && strcmp (optarg, "json") != 0)
      {
        fprintf (stderr, "hutch inspect: --format `%s`: only json\n", optarg);
        return HUTCH_EXIT_ERROR;
      }
  if (optind >= argc)
    {
      fprintf (stderr, "hutch inspect: give at least one container\n");
      return HUTCH_EXIT_ERROR;
    }
  root = hutch_ctrs_root (cmd_globals.root, &err);
  if (root == NULL)
    return cmd_report (&err);
  a = json_array ();
  for (i = optind; i < argc; i++)
    {
      struct row r;
      memset (&r, 0, sizeof r);
      if (hutch_ctr_lookup (root, argv[i], &r.c, &err) < 0
          || hutch_ctr_state (&r.c, &r.st, &err) < 0)
        ret = cmd_report (&err);
      else
        json_array_append_new (a, inspect_json (&r));
      row_clear (&r);
    }
  text = json_dumps (a, JSON_INDENT (4));
  printf ("%s\n", text ? text : "[]");
  free (text);
  json_decref (a);
  return ret;
}

/* ---- top ------------------------------------------------------------ */

static bool
same_ns (pid_t a, pid_t b, const char *ns)
{
  char pa[64], pb[64];
  struct stat sa, sb;
  snprintf (pa, sizeof pa, "/proc/%d/ns/%s", (int)a, ns);
  snprintf (pb, sizeof pb, "/proc/%d/ns/%s", (int)b, ns);
  return stat (pa, &sa) == 0 && stat (pb, &sb) == 0 && sa.st_ino == sb.st_ino
         && sa.st_dev == sb.st_dev;
}

/* A field of /proc/PID/status ("Uid:"), or NULL.  */
static char *
status_field (pid_t pid, const char *key)
{
  char path[64];
  _cleanup_free_ char *text = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;
  char *p;
  snprintf (path, sizeof path, "/proc/%d/status", (int)pid);
  if (hutch_read_file (path, 64 * 1024, &text, NULL, &e) < 0)
    {
      hutch_error_clear (&e);
      return NULL;
    }
  p = strstr (text, key);
  if (p == NULL)
    return NULL;
  p += strlen (key);
  while (*p == '\t' || *p == ' ')
    p++;
  return hutch_xstrndup (p, strcspn (p, "\n"));
}

/* The container's name for its uid UID (as the container sees ids): its
   own /etc/passwd, opened beneath its root as the kernel shows it to us
   (/proc/PID/root), never following a link out of it.  */
static char *
user_name (int rootfd, unsigned long uid)
{
  _cleanup_free_ char *text = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;
  char *line, *save = NULL;
  /* Not blocking: the container may have made its passwd a FIFO; only a
     regular file is read.  */
  int fd = rootfd >= 0
               ? hutch_walk_open_in_root (rootfd, "etc/passwd", O_RDONLY | O_NONBLOCK | O_NOCTTY, 0)
               : -1;
  struct stat st;

  if (fd >= 0 && (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode)))
    {
      close (fd);
      fd = -1;
    }
  if (fd >= 0 && hutch_read_fd (fd, 4 * 1024 * 1024, &text, NULL, &e) == 0)
    for (line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
      {
        char *c1 = strchr (line, ':'), *c2 = c1 ? strchr (c1 + 1, ':') : NULL;
        if (c2 && strtoul (c2 + 1, NULL, 10) == uid)
          {
            _cleanup_free_ char *n = hutch_xstrndup (line, (size_t)(c1 - line));
            close (fd);
            /* The container's words: no escape sequence reaches the
               user's terminal.  */
            return hutch_walk_shown (n);
          }
      }
  hutch_error_clear (&e);
  if (fd >= 0)
    close (fd);
  return hutch_xasprintf ("%lu", uid);
}

static void
top_line (pid_t pid, int rootfd)
{
  char path[64], buf[1024];
  _cleanup_free_ char *uid = status_field (pid, "Uid:"), *cmd = NULL, *name = NULL;
  unsigned long long ut = 0, stime = 0;
  char state = '?';
  int ppid = 0, fd;
  ssize_t n;
  char *p;
  long hz = sysconf (_SC_CLK_TCK);

  snprintf (path, sizeof path, "/proc/%d/stat", (int)pid);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  n = fd >= 0 ? read (fd, buf, sizeof buf - 1) : -1;
  if (fd >= 0)
    close (fd);
  if (n <= 0)
    return;
  buf[n] = '\0';
  p = strrchr (buf, ')');
  if (p == NULL
      || sscanf (p + 2, "%c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &state, &ppid, &ut,
                 &stime)
             < 2)
    return;
  snprintf (path, sizeof path, "/proc/%d/cmdline", (int)pid);
  {
    hutch_error_t e = HUTCH_ERROR_INIT;
    size_t len = 0, i;
    if (hutch_read_file (path, 4096, &cmd, &len, &e) < 0 || len == 0)
      {
        hutch_error_clear (&e);
        free (cmd);
        cmd = hutch_xstrndup (strchr (buf, '(') + 1, (size_t)(p - strchr (buf, '(') - 1));
      }
    else
      for (i = 0; i + 1 < len; i++)
        if (cmd[i] == '\0')
          cmd[i] = ' ';
  }
  /* The uid as the container sees it: the namespace maps it back.  The
     first field of Uid: is the real uid in our view; the container's view
     comes from its uid_map.  */
  {
    unsigned long host = uid ? strtoul (uid, NULL, 10) : 0, inside = host;
    _cleanup_free_ char *map = NULL;
    hutch_error_t e = HUTCH_ERROR_INIT;
    char *line, *save = NULL;
    snprintf (path, sizeof path, "/proc/%d/uid_map", (int)pid);
    if (hutch_read_file (path, 64 * 1024, &map, NULL, &e) == 0)
      for (line = strtok_r (map, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
        {
          unsigned long in, out, count;
          if (sscanf (line, "%lu %lu %lu", &in, &out, &count) == 3 && host >= out
              && host < out + count)
            inside = in + (host - out);
        }
    hutch_error_clear (&e);
    name = user_name (rootfd, inside);
  }
  {
    _cleanup_free_ char *shown = hutch_walk_shown (cmd);
    printf ("%-10s  %8d  %8d  %c      %6llu  %s\n", name, (int)pid, ppid, state,
            (ut + stime) / (unsigned long long)(hz > 0 ? hz : 100), shown);
  }
}

static int
cmd_top (int argc, char **argv)
{
  _cleanup_free_ char *root = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct row r;
  DIR *d;
  struct dirent *de;
  int c, ret = 0, rootfd = -1;
  bool own_pidns;

  while ((c = cmd_next_opt (&cmd_top_def, argc, argv, &ret)) != -1)
    if (c == 1000)
      return ret;
  if (argc - optind != 1)
    {
      fprintf (stderr, "hutch top: give one container\n");
      return HUTCH_EXIT_ERROR;
    }
  memset (&r, 0, sizeof r);
  root = hutch_ctrs_root (cmd_globals.root, &err);
  if (root == NULL || hutch_ctr_lookup (root, argv[optind], &r.c, &err) < 0
      || hutch_ctr_state (&r.c, &r.st, &err) < 0)
    {
      row_clear (&r);
      return cmd_report (&err);
    }
  if ((r.st.status != HUTCH_STATE_RUNNING && r.st.status != HUTCH_STATE_PAUSED)
      || !hutch_state_pid_alive (r.st.pid, r.st.pid_start))
    {
      hutch_error_set (&err, 0, "container %s is not running", r.c.name);
      row_clear (&r);
      return cmd_report (&err);
    }
  {
    char path[64];
    snprintf (path, sizeof path, "/proc/%d/root", (int)r.st.pid);
    rootfd = open (path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  }
  own_pidns = !same_ns (getpid (), r.st.pid, "pid");
  printf ("%-10s  %8s  %8s  %-5s  %6s  %s\n", "USER", "PID", "PPID", "STATE", "TIME", "COMMAND");
  d = opendir ("/proc");
  while (d && (de = readdir (d)) != NULL)
    {
      pid_t pid = (pid_t)atoi (de->d_name);
      if (pid <= 0)
        continue;
      /* The container's processes: those of its PID namespace; with
         --pid host, its first process alone.  */
      if (own_pidns ? same_ns (pid, r.st.pid, "pid") : pid == r.st.pid)
        top_line (pid, rootfd);
    }
  if (d)
    closedir (d);
  if (rootfd >= 0)
    close (rootfd);
  row_clear (&r);
  return 0;
}
