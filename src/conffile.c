/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "conffile.h"
#include "info.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SYSTEM_CONF "/etc/hutch/hutch.conf"
#define CONF_MAX (64 << 10)

void
hutch_conf_clear (struct hutch_conf *conf)
{
  free (conf->root);
  free (conf->root_origin);
  free (conf->storage_driver);
  free (conf->storage_driver_origin);
  memset (conf, 0, sizeof *conf);
}

static const char *
user_home (const struct passwd *pw)
{
  const char *h = getenv ("HOME");
  if (h && *h == '/')
    return h;
  return pw ? pw->pw_dir : NULL;
}

/* Expand `~/` at the start and $HOME, $USER, $UID (also as ${NAME}).  */
static int
expand (const char *value, const char *where, char **ret, hutch_error_t *err)
{
  struct passwd *pw = getpwuid (geteuid ());
  _cleanup_free_ char *out = hutch_xstrdup ("");
  const char *p = value;

  if (p[0] == '~' && (p[1] == '/' || p[1] == '\0'))
    {
      const char *home = user_home (pw);
      if (home == NULL)
        return hutch_error_set (err, 0, "%s: `~` used but your home directory is unknown", where);
      free (out);
      out = hutch_xstrdup (home);
      p++;
    }
  while (*p)
    {
      const char *dollar = strchr (p, '$'), *name, *end;
      _cleanup_free_ char *var = NULL;
      const char *val;
      char num[32];
      char *next;

      if (dollar == NULL)
        {
          next = hutch_xasprintf ("%s%s", out, p);
          free (out);
          out = next;
          break;
        }
      name = dollar + 1;
      if (*name == '{')
        {
          end = strchr (name, '}');
          if (end == NULL)
            return hutch_error_set (err, 0, "%s: `${` without `}`", where);
          var = hutch_xstrndup (name + 1, (size_t)(end - name - 1));
          end++;
        }
      else
        {
          for (end = name; isalnum ((unsigned char)*end) || *end == '_'; end++)
            ;
          var = hutch_xstrndup (name, (size_t)(end - name));
        }
      if (strcmp (var, "HOME") == 0)
        val = user_home (pw);
      else if (strcmp (var, "USER") == 0)
        val = pw ? pw->pw_name : getenv ("USER");
      else if (strcmp (var, "UID") == 0)
        {
          snprintf (num, sizeof num, "%u", (unsigned)geteuid ());
          val = num;
        }
      else
        return hutch_error_set (err, 0,
                                "%s: unknown variable `$%s`; hutch.conf expands only $HOME, $USER "
                                "and $UID",
                                where, var);
      if (val == NULL)
        return hutch_error_set (err, 0, "%s: `$%s` has no value for you", where, var);
      next = hutch_xasprintf ("%s%.*s%s", out, (int)(dollar - p), p, val);
      free (out);
      out = next;
      p = end;
    }
  *ret = HUTCH_STEAL_PTR (out);
  return 0;
}

/* Split LINE (modified in place) into key and value.  Returns 0 for a
   key/value, 1 for a blank or comment line.  */
static int
split_line (char *line, const char *where, char **ret_key, char **ret_value, hutch_error_t *err)
{
  char *p = line, *key, *value, *end;

  while (isspace ((unsigned char)*p))
    p++;
  if (*p == '\0' || *p == '#')
    return 1;
  key = p;
  while (islower ((unsigned char)*p) || *p == '_')
    p++;
  end = p;
  while (*p == ' ' || *p == '\t')
    p++;
  if (end == key || *p != '=')
    return hutch_error_set (err, 0, "%s: expected `key = value`", where);
  *end = '\0';
  p++;
  while (*p == ' ' || *p == '\t')
    p++;
  if (*p == '"')
    {
      value = ++p;
      end = strchr (p, '"');
      if (end == NULL)
        return hutch_error_set (err, 0, "%s: a quoted value has no closing `\"`", where);
      *end = '\0';
      for (p = end + 1; *p == ' ' || *p == '\t' || *p == '\r'; p++)
        ;
      if (*p != '\0' && *p != '#')
        return hutch_error_set (err, 0, "%s: text after the quoted value", where);
    }
  else
    {
      value = p;
      /* A comment starts at a `#` after a blank; a `#` inside a word
         belongs to the value.  */
      for (; *p; p++)
        if (*p == '#' && p > value && (p[-1] == ' ' || p[-1] == '\t'))
          {
            *p = '\0';
            break;
          }
      end = value + strlen (value);
      while (end > value && isspace ((unsigned char)end[-1]))
        *--end = '\0';
    }
  if (*value == '\0')
    return hutch_error_set (err, 0, "%s: `%s` has no value", where, key);
  *ret_key = key;
  *ret_value = value;
  return 0;
}

int
hutch_conf_parse (const char *text, const char *path, struct hutch_conf *conf, hutch_error_t *err)
{
  _cleanup_free_ char *copy = hutch_xstrdup (text);
  bool seen_root = false, seen_driver = false;
  char *line, *next;
  int lineno = 0;

  for (line = copy; line; line = next)
    {
      _cleanup_free_ char *where = NULL;
      char *key = NULL, *value = NULL;
      int r;

      next = strchr (line, '\n');
      if (next)
        *next++ = '\0';
      lineno++;
      where = hutch_xasprintf ("%s:%d", path, lineno);
      r = split_line (line, where, &key, &value, err);
      if (r < 0)
        return r;
      if (r > 0)
        continue;

      if (strcmp (key, "root") == 0)
        {
          _cleanup_free_ char *expanded = NULL;
          if (seen_root)
            return hutch_error_set (err, 0, "%s: `root` is set twice in this file", where);
          seen_root = true;
          if (expand (value, where, &expanded, err) < 0)
            return -1;
          if (expanded[0] != '/')
            return hutch_error_set (err, 0,
                                    "%s: `root` must be an absolute path (or start with `~/`), "
                                    "not `%s`",
                                    where, value);
          if (conf->root == NULL)
            {
              conf->root = HUTCH_STEAL_PTR (expanded);
              conf->root_origin = HUTCH_STEAL_PTR (where);
            }
        }
      else if (strcmp (key, "storage_driver") == 0)
        {
          if (seen_driver)
            return hutch_error_set (err, 0, "%s: `storage_driver` is set twice in this file",
                                    where);
          seen_driver = true;
          if (strcmp (value, "overlay") != 0 && strcmp (value, "fuse-overlayfs") != 0
              && strcmp (value, "vfs") != 0)
            return hutch_error_set (err, 0,
                                    "%s: unknown storage_driver `%s`; use overlay, "
                                    "fuse-overlayfs or vfs",
                                    where, value);
          if (conf->storage_driver == NULL)
            {
              conf->storage_driver = hutch_xstrdup (value);
              conf->storage_driver_origin = HUTCH_STEAL_PTR (where);
            }
        }
      else
        return hutch_error_set (err, 0,
                                "%s: unknown key `%s`; hutch.conf knows `root` and "
                                "`storage_driver` (see hutch.conf(5))",
                                where, key);
    }
  return 0;
}

int
hutch_conf_load_files (const char *const *paths, struct hutch_conf *ret, hutch_error_t *err)
{
  struct hutch_conf conf;
  size_t i;

  memset (&conf, 0, sizeof conf);
  for (i = 0; paths[i]; i++)
    {
      _cleanup_free_ char *text = NULL;
      hutch_error_t e = HUTCH_ERROR_INIT;

      if (hutch_read_file (paths[i], CONF_MAX, &text, NULL, &e) < 0)
        {
          if (e.errnum == ENOENT || e.errnum == ENOTDIR)
            {
              hutch_error_clear (&e);
              continue;
            }
          hutch_error_set (err, e.errnum, "read the configuration file `%s`", paths[i]);
          hutch_error_clear (&e);
          hutch_conf_clear (&conf);
          return -1;
        }
      if (hutch_conf_parse (text, paths[i], &conf, err) < 0)
        {
          hutch_conf_clear (&conf);
          return -1;
        }
    }
  *ret = conf;
  return 0;
}

int
hutch_conf_load (struct hutch_conf *ret, hutch_error_t *err)
{
  _cleanup_free_ char *user = hutch_config_file ();
  const char *paths[] = { user, SYSTEM_CONF, NULL };
  return hutch_conf_load_files (paths, ret, err);
}
