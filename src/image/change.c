/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* `hutch import --change INSTRUCTION`: a Dockerfile's config instructions,
   read as docker's Dockerfile parser reads them (moby/buildkit's
   parser/line_parsers.go splits the words, shell/lex.go removes quotes and
   substitutes variables), so that a --change that works with docker import
   means the same here.  The words, quotes and variables are the
   Containerfile parser's (image/dockerfile.h): one implementation for
   both.  Only what sets the config is taken: nothing here runs or reads
   files.  */

#include "image/change.h"
#include "image/dockerfile.h"
#include "base/signame.h"
#include "base/util.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- words ---------------------------------------------------------------- */

/* The value of NAME in ENV (DATA), an array of "NAME=VALUE", or NULL: the
   variables of a --change are the Env of the config so far.  */
static const char *
env_lookup (void *data, const char *name)
{
  json_t *env = data, *v;
  size_t i, len = strlen (name);

  json_array_foreach (env, i, v)
  {
    const char *s = json_string_value (v);
    if (s && strncmp (s, name, len) == 0 && s[len] == '=')
      return s + len + 1;
  }
  return NULL;
}

/* REST split into words, each expanded from CONFIG's Env, as a
   Dockerfile's words are (image/dockerfile.h).  */
static int
words_of (json_t *config, const char *rest, char ***ret, hutch_error_t *err)
{
  return hutch_df_words (rest, '\\', env_lookup, json_object_get (config, "Env"), ret, err);
}

/* REST as one word (spaces kept), expanded from CONFIG's Env.  */
static int
word_of (json_t *config, const char *rest, char **ret, hutch_error_t *err)
{
  return hutch_df_expand (rest, '\\', env_lookup, json_object_get (config, "Env"), ret, err);
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

/* ENV and LABEL: NAME=VALUE..., or the old form NAME VALUE (the whole rest
   of the line).  Every pair is expanded before any is set: variables come
   from Env as it was before the instruction (docker: `ENV a=1 b=$a` does
   not see the new a).  */
static int
change_pairs (json_t *config, bool label, const char *rest, hutch_error_t *err)
{
  char **names = NULL, **values = NULL;
  size_t i;
  int r = 0;

  if (hutch_df_pairs (rest, '\\', env_lookup, json_object_get (config, "Env"), true, false, &names,
                      &values, err)
      < 0)
    return -1;
  for (i = 0; names[i] && r == 0; i++)
    if (!label && strchr (names[i], '='))
      r = hutch_error_set (err, 0, "the name `%s` has a `=`", names[i]);
  for (i = 0; names[i]; i++)
    {
      if (r == 0)
        set_pair (config, label, names[i], values[i]);
      free (values[i]);
    }
  free (values);
  hutch_strv_free (names);
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
  _cleanup_strv_ char **words = NULL;
  size_t i;

  if (words_of (config, rest, &words, err) < 0)
    return -1;
  if (words[0] == NULL)
    return hutch_error_set (err, 0, "give a port, as 80 or 80/tcp");
  for (i = 0; words[i]; i++)
    if (expose_one (config, words[i], err) < 0)
      return -1;
  return 0;
}

/* PATH made absolute from the directory CURRENT, and cleaned as Go's
   filepath.Join cleans it: no empty, "." or ".." components.  The result
   is never longer than CURRENT/PATH, so it is built in OUT's own
   allocation.  */
static char *
join_clean (const char *current, const char *path)
{
  _cleanup_free_ char *whole = hutch_xasprintf ("%s/%s", current, path);
  char *out = hutch_xmalloc0 (strlen (whole) + 2), *save = NULL, *part;
  size_t len = 0;

  for (part = strtok_r (whole, "/", &save); part; part = strtok_r (NULL, "/", &save))
    {
      if (strcmp (part, ".") == 0)
        continue;
      if (strcmp (part, "..") == 0)
        {
          char *slash = strrchr (out, '/');
          if (slash)
            len = (size_t)(slash - out), *slash = '\0';
          continue;
        }
      out[len++] = '/';
      strcpy (out + len, part);
      len += strlen (part);
    }
  if (len == 0)
    strcpy (out, "/");
  return out;
}

/* USER and WORKDIR: the rest of the line as one word.  */
static int
change_string (json_t *config, const char *key, const char *rest, hutch_error_t *err)
{
  _cleanup_free_ char *value = NULL;

  if (word_of (config, rest, &value, err) < 0)
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
  else if (words_of (config, rest, &words, err) < 0)
    {
      json_decref (arr);
      return -1;
    }
  json_decref (arr);
  if (words == NULL || words[0] == NULL)
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

  if (word_of (config, rest, &value, err) < 0)
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
