/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "image/conffile.h"
#include "image/reference.h"
#include "base/paths.h"
#include "base/util.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define SYSTEM_CONF "/etc/hutch/hutch.conf"
#define CONF_MAX (64 << 10)

void
hutch_conf_clear (struct hutch_conf *conf)
{
  size_t i;

  free (conf->root);
  free (conf->root_origin);
  free (conf->storage_driver);
  free (conf->storage_driver_origin);
  hutch_strv_free (conf->search_registries);
  free (conf->search_registries_origin);
  hutch_strv_free (conf->insecure_registries);
  free (conf->insecure_registries_origin);
  for (i = 0; i < conf->n_mirrors; i++)
    {
      free (conf->mirrors[i].registry);
      hutch_strv_free (conf->mirrors[i].mirrors);
      free (conf->mirrors[i].origin);
    }
  free (conf->mirrors);
  memset (conf, 0, sizeof *conf);
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
      free (out);
      out = hutch_xstrdup (hutch_paths_home ());
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
        val = hutch_paths_home ();
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
  /* `-` is let in only so that a key copied from containers-registries.conf
     (`unqualified-search-registries`) gets a "did you mean" instead of a
     bare syntax error.  */
  while (islower ((unsigned char)*p) || *p == '_' || (*p == '-' && p > key))
    p++;
  /* mirror.REGISTRY: the registry part (dots, a port, an IPv6 address in
     brackets) is checked by the caller.  */
  if (*p == '.' && (size_t)(p - key) == strlen ("mirror") && strncmp (key, "mirror", 6) == 0)
    while (*p != '\0' && *p != '=' && *p != ' ' && *p != '\t')
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

/* docker.io's other names, as src/reference.c and src/auth.h read them: the
   key of a setting and the registry a caller asks about are both put
   through this, so that `mirror.index.docker.io` serves `alpine`.  */
static const char *
canonical_registry (const char *registry)
{
  if (strcasecmp (registry, "index.docker.io") == 0
      || strcasecmp (registry, "registry-1.docker.io") == 0)
    return HUTCH_DEFAULT_REGISTRY;
  return registry;
}

/* ENTRY must be what an image reference accepts before its first `/` as a
   registry: HOST or HOST:PORT, HOST with a `.` or `localhost`, or an IPv6
   address in brackets.  The test is src/reference.c's own, so that a
   registry accepted here is one that `REGISTRY/NAME` can name; a bare
   `myregistry` would be read there as docker.io/myregistry/NAME.  With
   PATH_OK, a `/PATH` of repository name components may follow (a
   mirror).  *RET is the entry with docker.io's aliases made docker.io.  */
static int
check_registry (const char *entry, bool path_ok, const char *where, const char *key, char **ret,
                hutch_error_t *err)
{
  _cleanup_free_ char *probe = NULL, *trimmed = hutch_xstrdup (entry);
  const char *form = path_ok ? "HOST[:PORT][/PATH]" : "HOST[:PORT]";
  struct hutch_reference ref;
  hutch_error_t e = HUTCH_ERROR_INIT;
  const char *slash;
  size_t n;
  int r;

  if (strstr (entry, "://") != NULL)
    return hutch_error_set (err, 0,
                            "%s: `%s` in `%s` starts with a scheme; write the registry as %s, "
                            "such as `quay.io` or `127.0.0.1:5000` (plain HTTP is allowed by "
                            "insecure_registries)",
                            where, entry, key, form);
  n = strlen (trimmed);
  while (path_ok && n > 1 && trimmed[n - 1] == '/')
    trimmed[--n] = '\0';
  slash = strchr (trimmed, '/');
  if (slash && !path_ok)
    return hutch_error_set (err, 0,
                            "%s: `%s` in `%s` has a path; a registry is %s, such as `quay.io` "
                            "or `127.0.0.1:5000`",
                            where, entry, key, form);
  if (strchr (trimmed, '@') != NULL || (slash && strchr (slash, ':') != NULL))
    return hutch_error_set (err, 0, "%s: `%s` in `%s` has a tag or a digest; write it as %s", where,
                            entry, key, form);

  memset (&ref, 0, sizeof ref);
  probe = hutch_xasprintf ("%s/hutch", trimmed);
  r = hutch_reference_parse (probe, &ref, &e);
  hutch_error_clear (&e);
  if (r < 0 || ref.short_name)
    {
      hutch_reference_clear (&ref);
      return hutch_error_set (err, 0,
                              "%s: `%s` in `%s` is not a registry: write it as %s, where HOST "
                              "has a `.` (`registry.example.com`), a port (`myhost:5000`) or is "
                              "`localhost`%s",
                              where, entry, key, form,
                              path_ok ? ", and PATH is lower-case repository name components" : "");
    }
  if (slash)
    *ret = hutch_xasprintf ("%s%s", canonical_registry (ref.registry), slash);
  else
    *ret = hutch_xstrdup (canonical_registry (ref.registry));
  hutch_reference_clear (&ref);
  return 0;
}

/* A list value: entries separated by blanks and/or commas, order kept,
   repeats dropped.  */
static int
parse_list (const char *value, bool path_ok, const char *where, const char *key, char ***ret,
            hutch_error_t *err)
{
  _cleanup_strv_ char **list = NULL;
  const char *p = value;

  if (*value == '[')
    return hutch_error_set (err, 0,
                            "%s: `%s` is a plain list in hutch.conf, not a TOML array: write "
                            "`%s = docker.io quay.io`",
                            where, key, key);
  while (*p)
    {
      size_t len = strcspn (p, " \t,");
      if (len > 0)
        {
          _cleanup_free_ char *entry = hutch_xstrndup (p, len);
          char *canon = NULL;
          size_t i;
          bool dup = false;

          if (check_registry (entry, path_ok, where, key, &canon, err) < 0)
            return -1;
          for (i = 0; list && list[i]; i++)
            dup = dup || strcasecmp (list[i], canon) == 0;
          if (dup)
            free (canon);
          else
            hutch_strv_push (&list, canon);
        }
      p += len;
      p += strspn (p, " \t,");
    }
  if (list == NULL)
    return hutch_error_set (err, 0, "%s: `%s` lists no registry", where, key);
  *ret = HUTCH_STEAL_PTR (list);
  return 0;
}

static const char *const known_keys[]
    = { "root", "storage_driver", "unqualified_search_registries", "insecure_registries", NULL };

static int
unknown_key (const char *key, const char *where, hutch_error_t *err)
{
  _cleanup_free_ char *underscored = hutch_xstrdup (key);
  const char *hint = NULL;
  char *q;
  size_t i;

  for (q = underscored; *q; q++)
    if (*q == '-')
      *q = '_';
  if (hutch_str_has_prefix (underscored, "mirror"))
    hint = "mirror.REGISTRY";
  for (i = 0; known_keys[i]; i++)
    if (strcmp (underscored, known_keys[i]) == 0)
      hint = known_keys[i];
  if (hint)
    return hutch_error_set (err, 0,
                            "%s: unknown key `%s`; did you mean `%s`? (hutch.conf writes keys "
                            "with `_`, and a registry's mirrors as `mirror.REGISTRY`)",
                            where, key, hint);
  return hutch_error_set (err, 0,
                          "%s: unknown key `%s`; hutch.conf knows `root`, `storage_driver`, "
                          "`unqualified_search_registries`, `insecure_registries` and "
                          "`mirror.REGISTRY` (see FILES in hutch(1))",
                          where, key);
}

/* The keys seen so far in one file: a key given twice in one file is an
   error, while a key an earlier (more personal) file set is only checked
   and then left alone.  */
struct seen
{
  bool root, driver, search, insecure;
  char **mirrors; /* the canonical registries of the mirror.* keys */
};

static int
twice (bool *flag, const char *key, const char *where, hutch_error_t *err)
{
  if (*flag)
    return hutch_error_set (err, 0, "%s: `%s` is set twice in this file", where, key);
  *flag = true;
  return 0;
}

static int
set_root (struct hutch_conf *conf, struct seen *seen, const char *value, char **where,
          hutch_error_t *err)
{
  _cleanup_free_ char *expanded = NULL;

  if (twice (&seen->root, "root", *where, err) < 0 || expand (value, *where, &expanded, err) < 0)
    return -1;
  if (expanded[0] != '/')
    return hutch_error_set (err, 0,
                            "%s: `root` must be an absolute path (or start with `~/`), not `%s`",
                            *where, value);
  if (conf->root == NULL)
    {
      conf->root = HUTCH_STEAL_PTR (expanded);
      conf->root_origin = HUTCH_STEAL_PTR (*where);
    }
  return 0;
}

static int
set_driver (struct hutch_conf *conf, struct seen *seen, const char *value, char **where,
            hutch_error_t *err)
{
  if (twice (&seen->driver, "storage_driver", *where, err) < 0)
    return -1;
  if (strcmp (value, "overlay") != 0 && strcmp (value, "fuse-overlayfs") != 0
      && strcmp (value, "vfs") != 0)
    return hutch_error_set (err, 0,
                            "%s: unknown storage_driver `%s`; use overlay, fuse-overlayfs or vfs",
                            *where, value);
  if (conf->storage_driver == NULL)
    {
      conf->storage_driver = hutch_xstrdup (value);
      conf->storage_driver_origin = HUTCH_STEAL_PTR (*where);
    }
  return 0;
}

/* unqualified_search_registries and insecure_registries.  */
static int
set_list (char ***list, char **origin, bool *flag, const char *key, const char *value, char **where,
          hutch_error_t *err)
{
  _cleanup_strv_ char **parsed = NULL;

  if (twice (flag, key, *where, err) < 0
      || parse_list (value, false, *where, key, &parsed, err) < 0)
    return -1;
  if (*list == NULL)
    {
      *list = HUTCH_STEAL_PTR (parsed);
      *origin = HUTCH_STEAL_PTR (*where);
    }
  return 0;
}

static int
set_mirror (struct hutch_conf *conf, struct seen *seen, const char *key, const char *value,
            char **where, hutch_error_t *err)
{
  _cleanup_free_ char *registry = NULL;
  _cleanup_strv_ char **mirrors = NULL;
  struct hutch_conf_mirror *m;
  size_t i;

  if (check_registry (key + strlen ("mirror."), false, *where, key, &registry, err) < 0)
    return -1;
  for (i = 0; seen->mirrors && seen->mirrors[i]; i++)
    if (strcasecmp (seen->mirrors[i], registry) == 0)
      return hutch_error_set (err, 0, "%s: the mirrors of %s are set twice in this file (`%s`)",
                              *where, registry, key);
  hutch_strv_push (&seen->mirrors, hutch_xstrdup (registry));
  if (parse_list (value, true, *where, key, &mirrors, err) < 0)
    return -1;
  if (hutch_conf_mirrors (conf, registry) != NULL)
    return 0;
  conf->mirrors = hutch_xrealloc (conf->mirrors, (conf->n_mirrors + 1) * sizeof *conf->mirrors);
  m = &conf->mirrors[conf->n_mirrors++];
  m->registry = HUTCH_STEAL_PTR (registry);
  m->mirrors = HUTCH_STEAL_PTR (mirrors);
  m->origin = HUTCH_STEAL_PTR (*where);
  return 0;
}

static int
set_key (struct hutch_conf *conf, struct seen *seen, const char *key, const char *value,
         char **where, hutch_error_t *err)
{
  if (strcmp (key, "root") == 0)
    return set_root (conf, seen, value, where, err);
  if (strcmp (key, "storage_driver") == 0)
    return set_driver (conf, seen, value, where, err);
  if (strcmp (key, "unqualified_search_registries") == 0)
    return set_list (&conf->search_registries, &conf->search_registries_origin, &seen->search, key,
                     value, where, err);
  if (strcmp (key, "insecure_registries") == 0)
    return set_list (&conf->insecure_registries, &conf->insecure_registries_origin, &seen->insecure,
                     key, value, where, err);
  if (hutch_str_has_prefix (key, "mirror."))
    return set_mirror (conf, seen, key, value, where, err);
  return unknown_key (key, *where, err);
}

int
hutch_conf_parse (const char *text, const char *path, struct hutch_conf *conf, hutch_error_t *err)
{
  _cleanup_free_ char *copy = hutch_xstrdup (text);
  struct seen seen = { 0 };
  char *line, *next;
  int lineno = 0, r = 0;

  for (line = copy; line && r >= 0; line = next)
    {
      _cleanup_free_ char *where = NULL;
      char *key = NULL, *value = NULL;

      next = strchr (line, '\n');
      if (next)
        *next++ = '\0';
      lineno++;
      where = hutch_xasprintf ("%s:%d", path, lineno);
      r = split_line (line, where, &key, &value, err);
      if (r == 0)
        r = set_key (conf, &seen, key, value, &where, err);
    }
  hutch_strv_free (seen.mirrors);
  return r < 0 ? -1 : 0;
}

const char *const *
hutch_conf_search_registries (const struct hutch_conf *conf)
{
  static const char *const fallback[] = { HUTCH_DEFAULT_REGISTRY, NULL };

  if (conf && conf->search_registries)
    return (const char *const *)conf->search_registries;
  return fallback;
}

/* Whether the registry ENTRY (canonical, as stored) is REGISTRY, or the
   host part of an endpoint REGISTRY/PATH (a mirror): insecure_registries
   lists hosts, and a mirror is looked up by the host it is reached at.  */
static bool
same_registry (const char *entry, const char *registry)
{
  _cleanup_free_ char *host = hutch_xstrndup (registry, strcspn (registry, "/"));
  return strcasecmp (entry, canonical_registry (host)) == 0;
}

bool
hutch_conf_registry_insecure (const struct hutch_conf *conf, const char *registry)
{
  size_t i;

  if (conf == NULL || registry == NULL)
    return false;
  for (i = 0; conf->insecure_registries && conf->insecure_registries[i]; i++)
    if (same_registry (conf->insecure_registries[i], registry))
      return true;
  return false;
}

const char *const *
hutch_conf_mirrors (const struct hutch_conf *conf, const char *registry)
{
  size_t i;

  if (conf == NULL || registry == NULL)
    return NULL;
  for (i = 0; i < conf->n_mirrors; i++)
    if (same_registry (conf->mirrors[i].registry, registry))
      return (const char *const *)conf->mirrors[i].mirrors;
  return NULL;
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
  _cleanup_free_ char *user = hutch_paths_config_file ();
  const char *paths[] = { user, SYSTEM_CONF, NULL };
  return hutch_conf_load_files (paths, ret, err);
}
