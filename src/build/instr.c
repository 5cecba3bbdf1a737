/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* The instructions that change only the image's config: ENV, ARG,
   LABEL, MAINTAINER, EXPOSE, VOLUME, USER, WORKDIR (its directory is made
   by build_step_workdir), CMD, ENTRYPOINT, SHELL, STOPSIGNAL,
   HEALTHCHECK, ONBUILD; and the variables that words are expanded
   with.  */

#include "build/build-private.h"
#include "base/signame.h"
#include "base/units.h"
#include "base/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- variables ------------------------------------------------------------ */

/* The image's Env value of NAME, or NULL.  */
static const char *
env_get (json_t *env, const char *name)
{
  size_t i, n = strlen (name);

  for (i = 0; i < json_array_size (env); i++)
    {
      const char *e = json_string_value (json_array_get (env, i));
      if (e && strncmp (e, name, n) == 0 && e[n] == '=')
        return e + n + 1;
    }
  return NULL;
}

const char *
bstate_lookup (void *data, const char *name)
{
  struct bstate *st = data;
  const char *v = env_get (json_object_get (bimage_cfg (&st->img), "Env"), name);
  const struct bvar *arg;

  if (v)
    return v;
  arg = build_vars_find (st->args, st->n_args, name);
  return arg ? arg->value : NULL;
}

char **
bstate_run_env (struct bstate *st)
{
  json_t *env = json_object_get (bimage_cfg (&st->img), "Env");
  char **out = hutch_xmalloc0 (sizeof (char *));
  size_t i;

  for (i = 0; i < json_array_size (env); i++)
    {
      const char *e = json_string_value (json_array_get (env, i));
      if (e)
        hutch_strv_push (&out, hutch_xstrdup (e));
    }
  /* An ARG is in RUN's environment unless ENV sets the name.  */
  for (i = 0; i < st->n_args; i++)
    if (st->args[i].value && env_get (env, st->args[i].name) == NULL)
      hutch_strv_push (&out, hutch_xasprintf ("%s=%s", st->args[i].name, st->args[i].value));
  return out;
}

static void
env_set (json_t *cfg, const char *name, const char *value)
{
  json_t *env = json_object_get (cfg, "Env");
  size_t i, n = strlen (name);
  char *e = hutch_xasprintf ("%s=%s", name, value);

  if (!json_is_array (env))
    json_object_set_new (cfg, "Env", env = json_array ());
  for (i = 0; i < json_array_size (env); i++)
    {
      const char *old = json_string_value (json_array_get (env, i));
      if (old && strncmp (old, name, n) == 0 && old[n] == '=')
        {
          json_array_set_new (env, i, json_string (e));
          free (e);
          return;
        }
    }
  json_array_append_new (env, json_string (e));
  free (e);
}

/* ---- flags ---------------------------------------------------------------- */

const char *
instr_flag (const struct hutch_df_instr *i, const char *name, bool *ret_set)
{
  size_t k;
  const char *v = NULL;

  *ret_set = false;
  /* The last one counts, as in BuildKit.  */
  for (k = 0; k < i->n_flags; k++)
    if (strcmp (i->flags[k].name, name) == 0)
      {
        *ret_set = true;
        v = i->flags[k].value;
      }
  return v;
}

int
instr_check_flags (const struct hutch_df_instr *i, const char *const *allowed, hutch_error_t *err)
{
  size_t k, a;

  for (k = 0; k < i->n_flags; k++)
    {
      bool ok = false;
      for (a = 0; allowed && allowed[a]; a++)
        ok = ok || strcmp (allowed[a], i->flags[k].name) == 0;
      if (!ok)
        return hutch_error_set (err, 0, "unknown flag --%s", i->flags[k].name);
    }
  return 0;
}

/* ---- the instructions ----------------------------------------------------- */

static int
do_env (struct bstate *st, const struct hutch_df_instr *i, hutch_error_t *err)
{
  _cleanup_strv_ char **keys = NULL, **values = NULL;
  size_t k;

  if (hutch_df_pairs (i->args[0], st->b->df.escape, bstate_lookup, st, true, false, &keys, &values,
                      err)
      < 0)
    return -1;
  /* Each pair sees the ones before it only from the next instruction on
     (BuildKit expands the whole line first).  */
  for (k = 0; keys[k]; k++)
    env_set (bimage_cfg (&st->img), keys[k], values[k]);
  return 0;
}

/* ARG NAME[=DEFAULT]...: the value --build-arg gives, else the default,
   else the global ARG's (or the automatic platform ARG's) value.  */
static int
do_arg (struct bstate *st, const struct hutch_df_instr *i, hutch_error_t *err)
{
  _cleanup_strv_ char **keys = NULL, **values = NULL;
  size_t k;

  if (hutch_df_pairs (i->args[0], st->b->df.escape, bstate_lookup, st, false, true, &keys, &values,
                      err)
      < 0)
    return -1;
  for (k = 0; keys[k]; k++)
    {
      const char *v = build_arg_value (st->b, keys[k]);
      _cleanup_free_ char *owned = NULL;
      if (v == NULL)
        v = values[k];
      if (v == NULL)
        v = build_global_arg (st->b, keys[k]);
      if (v == NULL)
        v = build_platform_arg (st->b, keys[k], &owned);
      build_vars_set (&st->args, &st->n_args, keys[k], v);
    }
  return 0;
}

static int
do_label (struct bstate *st, const struct hutch_df_instr *i, hutch_error_t *err)
{
  _cleanup_strv_ char **keys = NULL, **values = NULL;
  json_t *cfg = bimage_cfg (&st->img), *labels;
  size_t k;

  if (hutch_df_pairs (i->args[0], st->b->df.escape, bstate_lookup, st, true, false, &keys, &values,
                      err)
      < 0)
    return -1;
  labels = json_object_get (cfg, "Labels");
  if (!json_is_object (labels))
    json_object_set_new (cfg, "Labels", labels = json_object ());
  for (k = 0; keys[k]; k++)
    json_object_set_new (labels, keys[k], json_string (values[k]));
  return 0;
}

/* PORT[-PORT][/PROTO] into "PORT/proto" keys.  */
static int
add_port (json_t *ports, const char *spec, hutch_error_t *err)
{
  _cleanup_free_ char *p = hutch_xstrdup (spec);
  char *slash = strchr (p, '/'), *dash, *end;
  const char *proto = "tcp";
  unsigned long lo, hi, n;

  if (slash)
    {
      *slash = '\0';
      proto = slash + 1;
      for (end = slash + 1; *end; end++)
        *end = (char)tolower ((unsigned char)*end);
      if (strcmp (proto, "tcp") != 0 && strcmp (proto, "udp") != 0 && strcmp (proto, "sctp") != 0)
        return hutch_error_set (err, 0, "port `%s`: the protocol is tcp, udp or sctp", spec);
    }
  dash = strchr (p, '-');
  if (dash)
    *dash = '\0';
  errno = 0;
  lo = strtoul (p, &end, 10);
  if (*p == '\0' || *end || errno || lo < 1 || lo > 65535)
    return hutch_error_set (err, 0, "port `%s`: expected a number from 1 to 65535", spec);
  hi = lo;
  if (dash)
    {
      hi = strtoul (dash + 1, &end, 10);
      if (dash[1] == '\0' || *end || hi < lo || hi > 65535)
        return hutch_error_set (err, 0, "port range `%s`: expected LOW-HIGH, LOW <= HIGH", spec);
    }
  for (n = lo; n <= hi; n++)
    {
      char key[32];
      snprintf (key, sizeof key, "%lu/%s", n, proto);
      json_object_set_new (ports, key, json_object ());
    }
  return 0;
}

static int
do_expose (struct bstate *st, const struct hutch_df_instr *i, hutch_error_t *err)
{
  _cleanup_strv_ char **words = NULL;
  json_t *cfg = bimage_cfg (&st->img), *ports;
  size_t k;

  if (hutch_df_words (i->args[0], st->b->df.escape, bstate_lookup, st, &words, err) < 0)
    return -1;
  ports = json_object_get (cfg, "ExposedPorts");
  if (!json_is_object (ports))
    json_object_set_new (cfg, "ExposedPorts", ports = json_object ());
  for (k = 0; words[k]; k++)
    if (add_port (ports, words[k], err) < 0)
      return -1;
  return 0;
}

/* The words of I: its JSON array as it is, or its text split and
   expanded.  */
static int
instr_words (struct bstate *st, const struct hutch_df_instr *i, char ***ret, hutch_error_t *err)
{
  size_t k;

  if (!i->json)
    return hutch_df_words (i->args[0], st->b->df.escape, bstate_lookup, st, ret, err);
  *ret = hutch_xmalloc0 (sizeof (char *));
  for (k = 0; i->args[k]; k++)
    {
      char *w = NULL;
      if (hutch_df_expand (i->args[k], st->b->df.escape, bstate_lookup, st, &w, err) < 0)
        {
          hutch_strv_free (*ret);
          return -1;
        }
      hutch_strv_push (ret, w);
    }
  return 0;
}

static int
do_volume (struct bstate *st, const struct hutch_df_instr *i, hutch_error_t *err)
{
  _cleanup_strv_ char **words = NULL;
  json_t *cfg = bimage_cfg (&st->img), *vols;
  size_t k;

  if (instr_words (st, i, &words, err) < 0)
    return -1;
  if (words[0] == NULL)
    return hutch_error_set (err, 0, "VOLUME needs at least one path");
  vols = json_object_get (cfg, "Volumes");
  if (!json_is_object (vols))
    json_object_set_new (cfg, "Volumes", vols = json_object ());
  for (k = 0; words[k]; k++)
    {
      if (*words[k] == '\0')
        return hutch_error_set (err, 0, "VOLUME: an empty path");
      json_object_set_new (vols, words[k], json_object ());
    }
  return 0;
}

/* One expanded word, for USER and STOPSIGNAL.  */
static int
one_word (struct bstate *st, const struct hutch_df_instr *i, char **ret, hutch_error_t *err)
{
  _cleanup_strv_ char **words = NULL;

  if (hutch_df_words (i->args[0], st->b->df.escape, bstate_lookup, st, &words, err) < 0)
    return -1;
  if (words[0] == NULL || *words[0] == '\0' || words[1])
    return hutch_error_set (err, 0, "expected one word, got `%s`", i->args[0]);
  *ret = HUTCH_STEAL_PTR (words[0]);
  return 0;
}

char *
build_join_path (const char *base, const char *path)
{
  /* Always from the root: a relative WorkingDir of an odd image too.  */
  _cleanup_free_ char *joined
      = *path == '/' ? hutch_xstrdup (path) : hutch_xasprintf ("/%s/%s", base ? base : "", path);

  return hutch_ignore_clean_path (joined);
}

static int
do_workdir (struct bstate *st, const struct hutch_df_instr *i, hutch_error_t *err)
{
  _cleanup_free_ char *w = NULL, *path = NULL;
  json_t *cfg = bimage_cfg (&st->img);

  if (hutch_df_expand (i->args[0], st->b->df.escape, bstate_lookup, st, &w, err) < 0)
    return -1;
  if (*w == '\0')
    return hutch_error_set (err, 0, "WORKDIR needs a path");
  path = build_join_path (json_string_value (json_object_get (cfg, "WorkingDir")), w);
  json_object_set_new (cfg, "WorkingDir", json_string (path));
  return build_step_workdir (st, i, path, err);
}

static json_t *
strv_json (char *const *v)
{
  json_t *a = json_array ();
  size_t k;

  for (k = 0; v && v[k]; k++)
    json_array_append_new (a, json_string (v[k]));
  return a;
}

char **
build_shell (struct bstate *st)
{
  json_t *sh = json_object_get (bimage_cfg (&st->img), "Shell");
  char **out = hutch_xmalloc0 (sizeof (char *));
  size_t k;

  if (json_array_size (sh) == 0)
    {
      hutch_strv_push (&out, hutch_xstrdup ("/bin/sh"));
      hutch_strv_push (&out, hutch_xstrdup ("-c"));
      return out;
    }
  for (k = 0; k < json_array_size (sh); k++)
    hutch_strv_push (&out, hutch_xstrdup (json_string_value (json_array_get (sh, k))));
  return out;
}

/* CMD and ENTRYPOINT's value: the array, or the shell and the text.  */
static json_t *
command_json (struct bstate *st, const struct hutch_df_instr *i)
{
  _cleanup_strv_ char **shell = NULL;
  json_t *a;

  if (i->json)
    return strv_json (i->args);
  shell = build_shell (st);
  a = strv_json (shell);
  json_array_append_new (a, json_string (i->args[0]));
  return a;
}

/* Whether this stage's own instructions set CMD (so that ENTRYPOINT
   after it keeps it).  */
static bool
stage_set_cmd (struct bstate *st, const struct hutch_df_instr *upto)
{
  size_t k;

  for (k = st->stage->first; k < st->b->df.n && &st->b->df.v[k] != upto; k++)
    if (st->b->df.v[k].kind == HUTCH_DF_CMD)
      return true;
  return false;
}

/* HEALTHCHECK's durations: Go's, not negative.  */
static int
parse_duration (const char *s, int64_t *ret_ns, hutch_error_t *err)
{
  long long ns;

  if (*s == '\0')
    return hutch_error_set (err, 0, "an empty duration");
  if (strspn (s, "0123456789.") == strlen (s) && strcmp (s, "0") != 0)
    return hutch_error_set (err, 0, "duration `%s`: a number without a unit (s, m, h, ms)", s);
  if (!hutch_parse_duration (s, &ns) || ns < 0)
    return hutch_error_set (err, 0, "duration `%s`: expected e.g. 30s, 1m30s, 500ms", s);
  *ret_ns = ns;
  return 0;
}

static int
do_healthcheck (struct bstate *st, const struct hutch_df_instr *i, hutch_error_t *err)
{
  static const char *const flags[]
      = { "interval", "timeout", "start-period", "start-interval", "retries", NULL };
  static const char *const keys[] = { "Interval", "Timeout", "StartPeriod", "StartInterval" };
  json_t *cfg = bimage_cfg (&st->img), *hc, *test;
  size_t k;

  if (instr_check_flags (i, flags, err) < 0)
    return -1;
  if (i->args[0] == NULL)
    {
      if (i->n_flags)
        return hutch_error_set (err, 0, "HEALTHCHECK NONE takes no flags");
      json_object_set_new (cfg, "Healthcheck", json_pack ("{s:[s]}", "Test", "NONE"));
      return 0;
    }
  if (i->json)
    {
      test = strv_json (i->args);
      json_array_insert_new (test, 0, json_string ("CMD"));
    }
  else
    test = json_pack ("[s, s]", "CMD-SHELL", i->args[0]);
  hc = json_pack ("{s:o}", "Test", test);
  for (k = 0; k < 4; k++)
    {
      bool set;
      const char *v = instr_flag (i, flags[k], &set);
      int64_t ns = 0;
      if (!set)
        continue;
      if (parse_duration (v ? v : "", &ns, err) < 0)
        {
          json_decref (hc);
          return hutch_error_prefix (err, "--%s", flags[k]);
        }
      json_object_set_new (hc, keys[k], json_integer (ns));
    }
  {
    bool set;
    const char *v = instr_flag (i, "retries", &set);
    unsigned int n;
    if (set && (v == NULL || hutch_parse_u32 (v, &n) < 0))
      {
        json_decref (hc);
        return hutch_error_set (err, 0, "--retries `%s`: expected a number", v ? v : "");
      }
    if (set)
      json_object_set_new (hc, "Retries", json_integer (n));
  }
  json_object_set_new (cfg, "Healthcheck", hc);
  return 0;
}

static int
do_stopsignal (struct bstate *st, const struct hutch_df_instr *i, hutch_error_t *err)
{
  _cleanup_free_ char *sig = NULL;

  if (one_word (st, i, &sig, err) < 0)
    return -1;
  if (hutch_signal_from_name (sig) <= 0)
    return hutch_error_set (err, 0, "`%s` is not a signal (a name such as SIGTERM, or a number)",
                            sig);
  json_object_set_new (bimage_cfg (&st->img), "StopSignal", json_string (sig));
  return 0;
}

static int
dispatch (struct bstate *st, const struct hutch_df_instr *i, hutch_error_t *err)
{
  json_t *cfg = bimage_cfg (&st->img);
  _cleanup_free_ char *w = NULL;

  if (i->kind != HUTCH_DF_HEALTHCHECK && instr_check_flags (i, NULL, err) < 0)
    return -1;
  switch (i->kind)
    {
    case HUTCH_DF_ENV:
      return do_env (st, i, err);
    case HUTCH_DF_ARG:
      return do_arg (st, i, err);
    case HUTCH_DF_LABEL:
      return do_label (st, i, err);
    case HUTCH_DF_MAINTAINER:
      json_object_set_new (st->img.config, "author", json_string (i->args[0]));
      return 0;
    case HUTCH_DF_EXPOSE:
      return do_expose (st, i, err);
    case HUTCH_DF_VOLUME:
      return do_volume (st, i, err);
    case HUTCH_DF_USER:
      if (one_word (st, i, &w, err) < 0)
        return -1;
      json_object_set_new (cfg, "User", json_string (w));
      return 0;
    case HUTCH_DF_WORKDIR:
      return do_workdir (st, i, err);
    case HUTCH_DF_CMD:
      json_object_set_new (cfg, "Cmd", command_json (st, i));
      return 0;
    case HUTCH_DF_ENTRYPOINT:
      json_object_set_new (cfg, "Entrypoint", command_json (st, i));
      if (!stage_set_cmd (st, i))
        json_object_set_new (cfg, "Cmd", json_null ());
      return 0;
    case HUTCH_DF_SHELL:
      if (!i->json || i->args[0] == NULL)
        return hutch_error_set (err, 0, "SHELL takes a JSON array: SHELL [\"/bin/bash\", \"-c\"]");
      json_object_set_new (cfg, "Shell", strv_json (i->args));
      return 0;
    case HUTCH_DF_STOPSIGNAL:
      return do_stopsignal (st, i, err);
    case HUTCH_DF_HEALTHCHECK:
      return do_healthcheck (st, i, err);
    case HUTCH_DF_ONBUILD:
      {
        json_t *ob = json_object_get (cfg, "OnBuild");
        if (!json_is_array (ob))
          json_object_set_new (cfg, "OnBuild", ob = json_array ());
        json_array_append_new (ob, json_string (i->trigger->original));
        return 0;
      }
    default:
      return hutch_error_set (err, 0, "not a config instruction");
    }
}

int
build_instr_config (struct bstate *st, const struct hutch_df_instr *i, hutch_error_t *err)
{
  int r = dispatch (st, i, err);

  if (r < 0)
    return build_fail_at (st->b, i, err);
  /* 1: WORKDIR made its directory, a layer with its own history.  */
  if (r == 0 && i->kind != HUTCH_DF_ARG)
    bimage_history (&st->img, i->original, true);
  return 0;
}
