/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* `hutch import --change INSTRUCTION`: a Dockerfile's config instructions,
   read as docker's Dockerfile parser reads them (moby/buildkit's
   parser/line_parsers.go splits the words, shell/lex.go removes quotes and
   substitutes variables), so that a --change that works with docker import
   means the same here.  Only what sets the config is taken: nothing here
   runs or reads files.  */

#include "image/change.h"
#include "base/signame.h"
#include "base/util.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- a growing string ----------------------------------------------------- */

struct sbuf
{
  char *s;
  size_t len, cap;
};

static void
sb_add (struct sbuf *b, const char *p, size_t n)
{
  if (b->len + n + 1 > b->cap)
    {
      b->cap = (b->len + n + 1) * 2;
      b->s = hutch_xrealloc (b->s, b->cap);
    }
  memcpy (b->s + b->len, p, n);
  b->len += n;
  b->s[b->len] = '\0';
}

static void
sb_addc (struct sbuf *b, char c)
{
  sb_add (b, &c, 1);
}

/* The string, never NULL; the buffer is given away.  */
static char *
sb_steal (struct sbuf *b)
{
  char *s = b->s ? b->s : hutch_xstrdup ("");
  memset (b, 0, sizeof *b);
  return s;
}

/* ---- words ---------------------------------------------------------------- */

/* The value of NAME (LEN bytes) in ENV, an array of "NAME=VALUE", or NULL.  */
static const char *
env_lookup (json_t *env, const char *name, size_t len)
{
  size_t i;
  json_t *v;

  json_array_foreach (env, i, v)
  {
    const char *s = json_string_value (v);
    if (s && strncmp (s, name, len) == 0 && s[len] == '=')
      return s + len + 1;
  }
  return NULL;
}

static bool
name_char (char c, bool first)
{
  return c == '_' || isalpha ((unsigned char)c) || (!first && isdigit ((unsigned char)c));
}

/* How deep ${NAME:-${OTHER:-...}} may nest: the words are parsed by
   recursion.  */
#define MAX_NESTING 16

static int process (const char *raw, size_t len, json_t *env, int depth, struct sbuf *out,
                    hutch_error_t *err);

/* ${NAME...} at *P (past "${"), appended to OUT.  */
static int
expand_braced (const char **p, json_t *env, int depth, struct sbuf *out, hutch_error_t *err)
{
  const char *name = *p, *q = *p, *word, *value;
  size_t len, braces = 1;
  char op[3] = "";

  while (name_char (*q, q == name))
    q++;
  len = (size_t)(q - name);
  if (*q == ':' && (q[1] == '-' || q[1] == '+'))
    op[0] = ':', op[1] = q[1], q += 2;
  else if (*q == '-' || *q == '+')
    op[0] = *q++;
  else if (*q != '}')
    len = 0;
  /* The word runs to the brace that closes this one.  */
  for (word = q; *q && !(*q == '}' && --braces == 0); q++)
    if (*q == '{' && q > word && q[-1] == '$')
      braces++;
  if (len == 0 || *q != '}')
    return hutch_error_set (err, 0,
                            "a bad substitution `${%.*s`; use $NAME, ${NAME}, ${NAME:-WORD} or "
                            "${NAME:+WORD}",
                            (int)(q - name > 40 ? 40 : q - name), name);
  *p = q + 1;
  value = env_lookup (env, name, len);
  if (op[0] == '\0')
    {
      sb_add (out, value ? value : "", value ? strlen (value) : 0);
      return 0;
    }
  /* ":-" and ":+" count an empty value as unset; "-" and "+" do not.  */
  if (op[0] == ':' && value && *value == '\0')
    value = NULL;
  if ((op[strlen (op) - 1] == '-') == (value != NULL))
    {
      sb_add (out, value ? value : "", value ? strlen (value) : 0);
      return 0;
    }
  if (depth >= MAX_NESTING)
    return hutch_error_set (err, 0, "substitutions nest deeper than %d", MAX_NESTING);
  return process (word, (size_t)(q - word), env, depth + 1, out, err);
}

/* $NAME or ${...} at *P (at the '$'), appended to OUT; a '$' before
   anything else is itself.  */
static int
expand (const char **p, json_t *env, int depth, struct sbuf *out, hutch_error_t *err)
{
  const char *name = *p + 1, *q = name, *value;

  if (*name == '{')
    {
      *p = name + 1;
      return expand_braced (p, env, depth, out, err);
    }
  while (name_char (*q, q == name))
    q++;
  if (q == name)
    {
      sb_addc (out, '$');
      *p = name;
      return 0;
    }
  value = env_lookup (env, name, (size_t)(q - name));
  if (value)
    sb_add (out, value, strlen (value));
  *p = q;
  return 0;
}

/* RAW (LEN bytes) as one word: quotes removed, escapes taken, variables
   substituted from ENV (NULL: none set); spaces are kept.  */
static int
process (const char *raw, size_t len, json_t *env, int depth, struct sbuf *out, hutch_error_t *err)
{
  const char *p = raw, *end = raw + len;

  while (p < end)
    {
      if (*p == '\'')
        {
          const char *close = memchr (p + 1, '\'', (size_t)(end - p - 1));
          if (close == NULL)
            return hutch_error_set (err, 0, "a single quote is not closed");
          sb_add (out, p + 1, (size_t)(close - p - 1));
          p = close + 1;
        }
      else if (*p == '"')
        {
          for (p++; p < end && *p != '"';)
            if (*p == '\\' && p + 1 < end && strchr ("\"$\\", p[1]))
              sb_addc (out, p[1]), p += 2;
            else if (*p == '$')
              {
                if (expand (&p, env, depth, out, err) < 0)
                  return -1;
              }
            else
              sb_addc (out, *p++);
          if (p >= end)
            return hutch_error_set (err, 0, "a double quote is not closed");
          p++;
        }
      else if (*p == '\\')
        {
          if (p + 1 < end)
            sb_addc (out, p[1]);
          p += 2;
        }
      else if (*p == '$')
        {
          if (expand (&p, env, depth, out, err) < 0)
            return -1;
        }
      else
        sb_addc (out, *p++);
    }
  return 0;
}

static int
process_word (const char *raw, json_t *env, char **ret, hutch_error_t *err)
{
  struct sbuf out = { 0 };

  if (process (raw, strlen (raw), env, 0, &out, err) < 0)
    {
      free (out.s);
      return -1;
    }
  *ret = sb_steal (&out);
  return 0;
}

/* REST split at spaces outside quotes, each word as written (quotes and
   escapes kept for process): the parser's parseWords.  */
static char **
split_words (const char *rest)
{
  char **words = hutch_xmalloc0 (sizeof (char *));
  const char *p = rest;

  while (*p)
    {
      struct sbuf w = { 0 };
      char quote = 0;

      while (isspace ((unsigned char)*p))
        p++;
      if (*p == '\0')
        break;
      for (; *p && (quote || !isspace ((unsigned char)*p)); p++)
        {
          if (quote == 0 && (*p == '\'' || *p == '"'))
            quote = *p;
          else if (quote && *p == quote)
            quote = 0;
          else if (*p == '\\' && quote != '\'' && p[1])
            sb_addc (&w, *p++);
          sb_addc (&w, *p);
        }
      hutch_strv_push (&words, sb_steal (&w));
    }
  return words;
}

/* ---- instructions --------------------------------------------------------- */

/* CMD and ENTRYPOINT: a JSON array of strings, or else a command line for
   /bin/sh -c, as it is (the shell reads it when the container starts).  */
static int
change_command (json_t *config, const char *key, const char *rest, hutch_error_t *err)
{
  json_t *arr = NULL;
  size_t i;

  if (*rest == '\0')
    return hutch_error_set (err, 0,
                            "give a command, as [\"EXECUTABLE\", \"ARG\"] or a command line");
  /* Not JSON, or not an array: docker takes it as a command line.  */
  if (*rest == '[')
    arr = json_loads (rest, 0, NULL);
  if (!json_is_array (arr))
    {
      json_decref (arr);
      arr = json_pack ("[s, s, s]", "/bin/sh", "-c", rest);
    }
  for (i = 0; i < json_array_size (arr); i++)
    if (!json_is_string (json_array_get (arr, i)))
      {
        json_decref (arr);
        return hutch_error_set (err, 0, "the JSON array must hold strings only");
      }
  json_object_set_new (config, key, arr);
  return 0;
}

/* Set NAME=VALUE in CONFIG's Env (replacing NAME's value, or added at the
   end), or NAME: VALUE in its Labels.  */
static void
set_pair (json_t *config, bool label, const char *name, const char *value)
{
  json_t *env, *v;
  size_t i, len = strlen (name);

  if (label)
    {
      json_t *labels = json_object_get (config, "Labels");
      if (!json_is_object (labels))
        json_object_set_new (config, "Labels", labels = json_object ());
      json_object_set_new (labels, name, json_string (value));
      return;
    }
  env = json_object_get (config, "Env");
  if (!json_is_array (env))
    json_object_set_new (config, "Env", env = json_array ());
  json_array_foreach (env, i, v)
  {
    const char *s = json_string_value (v);
    if (s && strncmp (s, name, len) == 0 && s[len] == '=')
      {
        json_array_set_new (env, i, json_sprintf ("%s=%s", name, value));
        return;
      }
  }
  json_array_append_new (env, json_sprintf ("%s=%s", name, value));
}

/* One pair of ENV or LABEL from its raw NAME and VALUE; variables come from
   ENV as it was before the instruction (docker: `ENV a=1 b=$a` does not see
   the new a).  */
static int
add_pair (json_t *config, bool label, json_t *env, const char *raw_name, const char *raw_value,
          hutch_error_t *err)
{
  _cleanup_free_ char *name = NULL, *value = NULL;

  if (process_word (raw_name, env, &name, err) < 0
      || process_word (raw_value, env, &value, err) < 0)
    return -1;
  if (*name == '\0')
    return hutch_error_set (err, 0, "a name must not be empty");
  if (!label && strchr (name, '='))
    return hutch_error_set (err, 0, "the name `%s` has a `=`", name);
  set_pair (config, label, name, value);
  return 0;
}

/* ENV and LABEL: NAME=VALUE..., or the old form NAME VALUE (the whole rest
   of the line), told apart by a '=' in the first word.  */
static int
change_pairs (json_t *config, bool label, const char *rest, hutch_error_t *err)
{
  _cleanup_strv_ char **words = split_words (rest);
  json_t *env = json_deep_copy (json_object_get (config, "Env"));
  size_t i;
  int r = 0;

  if (!json_is_array (env))
    {
      json_decref (env);
      env = json_array ();
    }
  if (words[0] == NULL)
    r = hutch_error_set (err, 0, "give NAME=VALUE");
  else if (strchr (words[0], '=') == NULL)
    {
      size_t n = strcspn (rest, " \t");
      _cleanup_free_ char *name = hutch_xstrndup (rest, n);
      const char *value = rest + n + strspn (rest + n, " \t");
      r = *value == '\0' ? hutch_error_set (err, 0, "give NAME=VALUE, or NAME VALUE")
                         : add_pair (config, label, env, name, value, err);
    }
  else
    for (i = 0; words[i] && r == 0; i++)
      {
        char *eq = strchr (words[i], '=');
        if (eq == NULL)
          r = hutch_error_set (err, 0, "`%s` is not NAME=VALUE", words[i]);
        else
          {
            *eq = '\0';
            r = add_pair (config, label, env, words[i], eq + 1, err);
          }
      }
  json_decref (env);
  return r;
}

/* A port number of EXPOSE.  */
static bool
port_number (const char *s, size_t len, unsigned long *ret)
{
  _cleanup_free_ char *t = hutch_xstrndup (s, len);
  char *end;

  if (len == 0 || !isdigit ((unsigned char)*t))
    return false;
  *ret = strtoul (t, &end, 10);
  return *end == '\0' && *ret >= 1 && *ret <= 65535;
}

/* EXPOSE PORT[-PORT][/PROTOCOL]: each port as "PORT/PROTOCOL" in
   ExposedPorts (a range is every port in it, as docker records it).  */
static int
expose_one (json_t *config, const char *spec, hutch_error_t *err)
{
  const char *slash = strchr (spec, '/'), *dash;
  _cleanup_free_ char *proto = hutch_xstrdup (slash ? slash + 1 : "tcp");
  size_t len = slash ? (size_t)(slash - spec) : strlen (spec);
  unsigned long lo, hi, p;
  json_t *ports;
  char *c;

  for (c = proto; *c; c++)
    *c = (char)tolower ((unsigned char)*c);
  dash = memchr (spec, '-', len);
  if (!port_number (spec, dash ? (size_t)(dash - spec) : len, &lo)
      || !port_number (dash ? dash + 1 : spec, dash ? (size_t)(spec + len - dash - 1) : len, &hi)
      || hi < lo)
    return hutch_error_set (err, 0, "`%s` is not PORT[-PORT][/PROTOCOL] with ports 1 to 65535",
                            spec);
  if (strcmp (proto, "tcp") != 0 && strcmp (proto, "udp") != 0 && strcmp (proto, "sctp") != 0)
    return hutch_error_set (err, 0, "`%s`: the protocol is tcp, udp or sctp", spec);
  ports = json_object_get (config, "ExposedPorts");
  if (!json_is_object (ports))
    json_object_set_new (config, "ExposedPorts", ports = json_object ());
  for (p = lo; p <= hi; p++)
    {
      char key[32];
      snprintf (key, sizeof key, "%lu/%s", p, proto);
      json_object_set_new (ports, key, json_object ());
    }
  return 0;
}

static int
change_expose (json_t *config, const char *rest, hutch_error_t *err)
{
  _cleanup_strv_ char **words = split_words (rest);
  json_t *env = json_object_get (config, "Env");
  size_t i;

  if (words[0] == NULL)
    return hutch_error_set (err, 0, "give a port, as 80 or 80/tcp");
  for (i = 0; words[i]; i++)
    {
      _cleanup_free_ char *spec = NULL;
      if (process_word (words[i], env, &spec, err) < 0 || expose_one (config, spec, err) < 0)
        return -1;
    }
  return 0;
}

/* PATH made absolute from the directory CURRENT, and cleaned as Go's
   filepath.Join cleans it: no empty, "." or ".." components.  */
static char *
join_clean (const char *current, const char *path)
{
  _cleanup_free_ char *whole = hutch_xasprintf ("%s/%s", current, path);
  struct sbuf out = { 0 };
  char *save = NULL, *part;

  for (part = strtok_r (whole, "/", &save); part; part = strtok_r (NULL, "/", &save))
    {
      if (strcmp (part, ".") == 0)
        continue;
      if (strcmp (part, "..") == 0)
        {
          char *slash = out.s ? strrchr (out.s, '/') : NULL;
          if (slash)
            out.len = (size_t)(slash - out.s), *slash = '\0';
          continue;
        }
      sb_addc (&out, '/');
      sb_add (&out, part, strlen (part));
    }
  if (out.len == 0)
    sb_addc (&out, '/');
  return sb_steal (&out);
}

/* USER and WORKDIR: the rest of the line as one word.  */
static int
change_string (json_t *config, const char *key, const char *rest, hutch_error_t *err)
{
  _cleanup_free_ char *value = NULL;

  if (process_word (rest, json_object_get (config, "Env"), &value, err) < 0)
    return -1;
  if (*value == '\0')
    return hutch_error_set (err, 0, "give a %s", strcmp (key, "User") == 0 ? "user" : "directory");
  if (strcmp (key, "WorkingDir") == 0 && *value != '/')
    {
      const char *current = json_string_value (json_object_get (config, "WorkingDir"));
      char *abs = join_clean (current ? current : "/", value);
      free (value);
      value = abs;
    }
  json_object_set_new (config, key, json_string (value));
  return 0;
}

/* VOLUME ["/a", "/b"] or VOLUME /a /b: each path a key of Volumes.  */
static int
change_volume (json_t *config, const char *rest, hutch_error_t *err)
{
  _cleanup_strv_ char **words = NULL;
  json_t *vols, *arr = NULL, *v;
  size_t i;

  if (*rest == '[')
    arr = json_loads (rest, 0, NULL);
  if (json_is_array (arr))
    json_array_foreach (arr, i, v)
    {
      if (!json_is_string (v))
        {
          json_decref (arr);
          return hutch_error_set (err, 0, "the JSON array must hold strings only");
        }
      hutch_strv_push (&words, hutch_xstrdup (json_string_value (v)));
    }
  else
    {
      _cleanup_strv_ char **raw = split_words (rest);
      for (i = 0; raw[i]; i++)
        {
          char *w = NULL;
          if (process_word (raw[i], json_object_get (config, "Env"), &w, err) < 0)
            {
              json_decref (arr);
              return -1;
            }
          hutch_strv_push (&words, w);
        }
    }
  json_decref (arr);
  if (words == NULL)
    return hutch_error_set (err, 0, "give a path, as /data");
  vols = json_object_get (config, "Volumes");
  if (!json_is_object (vols))
    json_object_set_new (config, "Volumes", vols = json_object ());
  for (i = 0; words[i]; i++)
    {
      if (*words[i] == '\0')
        return hutch_error_set (err, 0, "a path must not be empty");
      json_object_set_new (vols, words[i], json_object ());
    }
  return 0;
}

/* STOPSIGNAL SIGNAL: a name (with or without SIG) or a number, as
   --stop-signal takes it.  */
static int
change_stopsignal (json_t *config, const char *rest, hutch_error_t *err)
{
  _cleanup_free_ char *value = NULL;

  if (process_word (rest, json_object_get (config, "Env"), &value, err) < 0)
    return -1;
  if (*value == '\0' || hutch_signal_from_name (value) < 0)
    return hutch_error_set (err, 0, "`%s` is no signal; give a name, as SIGTERM, or a number",
                            value);
  json_object_set_new (config, "StopSignal", json_string (value));
  return 0;
}

/* One --change: INSTRUCTION ARGUMENTS, the instruction in any case.
   COMMIT: docker commit's set, which has VOLUME and STOPSIGNAL too.  */
static int
apply_change (json_t *config, const char *change, bool commit, hutch_error_t *err)
{
  const char *list = commit ? HUTCH_CHANGE_COMMIT_INSTRUCTIONS : HUTCH_CHANGE_INSTRUCTIONS;
  const char *p = change + strspn (change, " \t"), *rest;
  size_t n = strcspn (p, " \t"), end;
  _cleanup_free_ char *word = hutch_xstrndup (p, n), *args = NULL;

  rest = p + n + strspn (p + n, " \t");
  end = strlen (rest);
  while (end > 0 && isspace ((unsigned char)rest[end - 1]))
    end--;
  args = hutch_xstrndup (rest, end);
  if (strcasecmp (word, "CMD") == 0)
    return change_command (config, "Cmd", args, err);
  if (strcasecmp (word, "ENTRYPOINT") == 0)
    return change_command (config, "Entrypoint", args, err);
  if (strcasecmp (word, "ENV") == 0)
    return change_pairs (config, false, args, err);
  if (strcasecmp (word, "LABEL") == 0)
    return change_pairs (config, true, args, err);
  if (strcasecmp (word, "EXPOSE") == 0)
    return change_expose (config, args, err);
  if (strcasecmp (word, "USER") == 0)
    return change_string (config, "User", args, err);
  if (strcasecmp (word, "WORKDIR") == 0)
    return change_string (config, "WorkingDir", args, err);
  if (commit && strcasecmp (word, "VOLUME") == 0)
    return change_volume (config, args, err);
  if (commit && strcasecmp (word, "STOPSIGNAL") == 0)
    return change_stopsignal (config, args, err);
  if (*word == '\0')
    return hutch_error_set (err, 0, "no instruction; --change takes %s, as in `CMD [\"/bin/sh\"]`",
                            list);
  return hutch_error_set (err, 0, "`%s` is not an instruction that --change takes; it takes %s",
                          word, list);
}

static int
apply_changes (json_t *config, char *const *changes, bool commit, hutch_error_t *err)
{
  size_t i;

  for (i = 0; changes && changes[i]; i++)
    if (apply_change (config, changes[i], commit, err) < 0)
      return hutch_error_prefix (err, "--change `%s`", changes[i]);
  return 0;
}

int
hutch_image_apply_changes (json_t *config, char *const *changes, hutch_error_t *err)
{
  return apply_changes (config, changes, false, err);
}

int
hutch_image_check_changes (char *const *changes, hutch_error_t *err)
{
  json_t *scratch = json_object ();
  int r = hutch_image_apply_changes (scratch, changes, err);

  json_decref (scratch);
  return r;
}

int
hutch_image_apply_commit_changes (json_t *config, char *const *changes, hutch_error_t *err)
{
  return apply_changes (config, changes, true, err);
}

int
hutch_image_check_commit_changes (char *const *changes, hutch_error_t *err)
{
  json_t *scratch = json_object ();
  int r = hutch_image_apply_commit_changes (scratch, changes, err);

  json_decref (scratch);
  return r;
}
