/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "base/parse.h"
#include "base/util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static bool
clean_path (const char *p)
{
  /* A destination is looked up inside the container's root, where ".."
     cannot escape; still refuse it so the user's intent is unambiguous.  */
  const char *s = p;
  while ((s = strstr (s, "..")) != NULL)
    {
      bool start = s == p || s[-1] == '/';
      bool end = s[2] == '\0' || s[2] == '/';
      if (start && end)
        return false;
      s += 2;
    }
  return true;
}

int
hutch_parse_volume (const char *arg, const char *cwd, struct hutch_volume *ret, hutch_error_t *err)
{
  _cleanup_free_ char *copy = hutch_xstrdup (arg);
  char *src = copy, *dst, *opts, *o, *save = NULL;
  bool ro = false;

  memset (ret, 0, sizeof *ret);
  dst = strchr (copy, ':');
  if (dst == NULL)
    return hutch_error_set (err, 0, "--volume `%s`: expected SRC:DST[:ro|rw]", arg);
  *dst++ = '\0';
  opts = strchr (dst, ':');
  if (opts)
    *opts++ = '\0';
  if (*src == '\0')
    return hutch_error_set (err, 0, "--volume `%s`: the source is empty; expected SRC:DST[:ro|rw]",
                            arg);
  if (src[0] != '/' && src[0] != '.')
    return hutch_error_set (err, 0,
                            "--volume `%s`: the source must be an absolute path or start with "
                            "`.` (named volumes are not supported)",
                            arg);
  if (dst[0] != '/')
    return hutch_error_set (err, 0, "--volume `%s`: the destination `%s` must be an absolute path",
                            arg, dst);
  if (!clean_path (dst))
    return hutch_error_set (err, 0, "--volume `%s`: the destination must not contain `..`", arg);
  if (strspn (dst, "/") == strlen (dst))
    return hutch_error_set (err, 0,
                            "--volume `%s`: the destination cannot be `/`; use --rootfs "
                            "to choose the root filesystem",
                            arg);
  if (opts)
    {
      if (*opts == '\0' || strchr (opts, ':'))
        return hutch_error_set (err, 0, "--volume `%s`: expected SRC:DST[:ro|rw]", arg);
      for (o = strtok_r (opts, ",", &save); o; o = strtok_r (NULL, ",", &save))
        {
          if (strcmp (o, "ro") == 0)
            ro = true;
          else if (strcmp (o, "rw") == 0)
            ro = false;
          else
            return hutch_error_set (err, 0, "--volume `%s`: unknown option `%s` (use ro or rw)",
                                    arg, o);
        }
    }
  ret->source = src[0] == '/' ? hutch_xstrdup (src) : hutch_xasprintf ("%s/%s", cwd, src);
  ret->destination = hutch_xstrdup (dst);
  ret->readonly = ro;
  return 0;
}

void
hutch_volume_clear (struct hutch_volume *v)
{
  free (v->source);
  free (v->destination);
  v->source = v->destination = NULL;
}

static int
check_key (const char *arg, size_t keylen, const char *what, hutch_error_t *err)
{
  size_t i;
  if (keylen == 0)
    return hutch_error_set (err, 0, "%s `%s`: the variable name is empty; expected KEY=VALUE", what,
                            arg);
  for (i = 0; i < keylen; i++)
    if (isspace ((unsigned char)arg[i]))
      return hutch_error_set (err, 0, "%s `%s`: the variable name contains whitespace", what, arg);
  return 0;
}

int
hutch_parse_env (const char *arg, char **ret, hutch_error_t *err)
{
  const char *eq = strchr (arg, '=');
  const char *v;

  if (check_key (arg, eq ? (size_t)(eq - arg) : strlen (arg), "--env", err) < 0)
    return -1;
  if (eq)
    {
      *ret = hutch_xstrdup (arg);
      return 0;
    }
  v = getenv (arg);
  *ret = v ? hutch_xasprintf ("%s=%s", arg, v) : NULL;
  return 0;
}

int
hutch_parse_env_file (const char *text, const char *file, char ***ret, hutch_error_t *err)
{
  _cleanup_free_ char *copy = hutch_xstrdup (text);
  char **list = hutch_xmalloc0 (sizeof (char *));
  char *line = copy, *next;
  int lineno = 0;

  for (; line; line = next)
    {
      char *kv = NULL;
      hutch_error_t e = HUTCH_ERROR_INIT;
      size_t len;

      next = strchr (line, '\n');
      if (next)
        *next++ = '\0';
      lineno++;
      len = strlen (line);
      if (len && line[len - 1] == '\r')
        line[--len] = '\0';
      while (*line == ' ' || *line == '\t')
        line++;
      if (*line == '\0' || *line == '#')
        continue;
      if (hutch_parse_env (line, &kv, &e) < 0)
        {
          hutch_strv_free (list);
          hutch_error_set (err, 0, "--env-file %s, line %d: %s", file, lineno, e.msg);
          hutch_error_clear (&e);
          return -1;
        }
      if (kv)
        hutch_strv_push (&list, kv);
    }
  *ret = list;
  return 0;
}

static bool
valid_name (const char *s)
{
  /* Names as useradd accepts them, or plain numbers.  */
  if (*s == '\0' || *s == '-')
    return false;
  for (; *s; s++)
    if (!(isalnum ((unsigned char)*s) || *s == '_' || *s == '-' || *s == '.'
          || (*s == '$' && s[1] == '\0')))
      return false;
  return true;
}

int
hutch_parse_user (const char *arg, char **ret_user, char **ret_group, hutch_error_t *err)
{
  const char *colon = strchr (arg, ':');
  _cleanup_free_ char *user = hutch_xstrndup (arg, colon ? (size_t)(colon - arg) : strlen (arg));
  _cleanup_free_ char *group = colon ? hutch_xstrdup (colon + 1) : NULL;

  if (!valid_name (user) || (group && !valid_name (group)))
    return hutch_error_set (err, 0,
                            "--user `%s`: expected USER[:GROUP], each a name or a number "
                            "(e.g. 1000:1000 or alice)",
                            arg);
  *ret_user = HUTCH_STEAL_PTR (user);
  *ret_group = HUTCH_STEAL_PTR (group);
  return 0;
}

int
hutch_parse_tmpfs (const char *arg, char **ret_dest, char **ret_opts, hutch_error_t *err)
{
  const char *colon = strchr (arg, ':');
  _cleanup_free_ char *dest = hutch_xstrndup (arg, colon ? (size_t)(colon - arg) : strlen (arg));

  if (dest[0] != '/')
    return hutch_error_set (err, 0, "--tmpfs `%s`: the destination must be an absolute path", arg);
  if (!clean_path (dest))
    return hutch_error_set (err, 0, "--tmpfs `%s`: the destination must not contain `..`", arg);
  if (strspn (dest, "/") == strlen (dest))
    return hutch_error_set (err, 0, "--tmpfs `%s`: the destination cannot be `/`", arg);
  if (colon && colon[1] == '\0')
    return hutch_error_set (err, 0, "--tmpfs `%s`: empty options after `:`", arg);
  *ret_dest = HUTCH_STEAL_PTR (dest);
  *ret_opts = colon ? hutch_xstrdup (colon + 1) : NULL;
  return 0;
}
