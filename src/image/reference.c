/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "image/reference.h"
#include "base/digest.h"
#include "base/util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* distribution/reference's NameTotalLengthMax and the tag's length.  */
#define NAME_MAX_LEN 255
#define TAG_MAX_LEN 128

static bool
is_lower_alnum (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
is_alnum (char c)
{
  return is_lower_alnum (c) || (c >= 'A' && c <= 'Z');
}

/* domain-component := [a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]  */
static bool
valid_domain_component (const char *s, size_t n)
{
  size_t i;
  if (n == 0 || !is_alnum (s[0]) || !is_alnum (s[n - 1]))
    return false;
  for (i = 0; i < n; i++)
    if (!is_alnum (s[i]) && s[i] != '-')
      return false;
  return true;
}

/* host [":" port], where host is dotted domain components or a bracketed
   IPv6 address.  */
static bool
valid_domain (const char *s)
{
  const char *port = NULL, *end, *p;

  if (*s == '[')
    {
      const char *close = strchr (s, ']');
      if (close == NULL || close == s + 1)
        return false;
      for (p = s + 1; p < close; p++)
        if (!isxdigit ((unsigned char)*p) && *p != ':')
          return false;
      if (close[1] == ':')
        port = close + 2;
      else if (close[1] != '\0')
        return false;
    }
  else
    {
      const char *colon = strchr (s, ':');
      const char *comp = s;
      end = colon ? colon : s + strlen (s);
      for (p = s; p <= end; p++)
        if (p == end || *p == '.')
          {
            if (!valid_domain_component (comp, (size_t)(p - comp)))
              return false;
            comp = p + 1;
          }
      if (colon)
        port = colon + 1;
    }
  if (port)
    {
      if (*port == '\0')
        return false;
      for (p = port; *p; p++)
        if (*p < '0' || *p > '9')
          return false;
    }
  return true;
}

/* path-component := [a-z0-9]+ (separator [a-z0-9]+)*
   separator      := [_.] | __ | [-]+  */
static bool
valid_path_component (const char *s, size_t n)
{
  size_t i = 0;
  if (n == 0 || !is_lower_alnum (s[0]) || !is_lower_alnum (s[n - 1]))
    return false;
  while (i < n)
    {
      size_t start = i;
      if (is_lower_alnum (s[i]))
        {
          i++;
          continue;
        }
      while (i < n && !is_lower_alnum (s[i]))
        i++;
      if (!((i - start == 1 && (s[start] == '.' || s[start] == '_'))
            || (i - start == 2 && s[start] == '_' && s[start + 1] == '_')
            || strspn (s + start, "-") >= i - start))
        return false;
    }
  return true;
}

static bool
has_upper (const char *s, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++)
    if (s[i] >= 'A' && s[i] <= 'Z')
      return true;
  return false;
}

static int
check_path (const char *input, const char *path, hutch_error_t *err)
{
  const char *comp = path, *p;

  if (has_upper (path, strlen (path)))
    {
      _cleanup_free_ char *lower = hutch_xstrdup (input);
      char *q;
      for (q = lower; *q && *q != ':' && *q != '@'; q++)
        *q = (char)tolower ((unsigned char)*q);
      return hutch_error_set (err, 0,
                              "invalid image reference `%s`: repository names must be lower "
                              "case; try `%s`",
                              input, lower);
    }
  for (p = path;; p++)
    if (*p == '/' || *p == '\0')
      {
        if (!valid_path_component (comp, (size_t)(p - comp)))
          return hutch_error_set (err, 0,
                                  "invalid image reference `%s`: `%.*s` is not a valid "
                                  "repository name component (lower-case letters and digits, "
                                  "separated by `.`, `_`, `__` or dashes)",
                                  input, (int)(p - comp), comp);
        if (*p == '\0')
          return 0;
        comp = p + 1;
      }
}

static int
check_tag (const char *input, const char *tag, hutch_error_t *err)
{
  size_t n = strlen (tag), i;

  if (n == 0)
    return hutch_error_set (err, 0, "invalid image reference `%s`: empty tag after `:`", input);
  if (n > TAG_MAX_LEN)
    return hutch_error_set (err, 0, "invalid image reference `%s`: tag longer than %d characters",
                            input, TAG_MAX_LEN);
  for (i = 0; i < n; i++)
    {
      char c = tag[i];
      bool word = is_alnum (c) || c == '_';
      if (!(word || (i > 0 && (c == '.' || c == '-'))))
        return hutch_error_set (err, 0,
                                "invalid image reference `%s`: tag `%s` may contain only letters, "
                                "digits, `_`, `.` and `-`, and must not start with `.` or `-`",
                                input, tag);
    }
  return 0;
}

static bool
all_hex64 (const char *s)
{
  size_t n = strspn (s, "0123456789abcdef");
  return n == 64 && s[n] == '\0';
}

/* Refusals that need only the text: nothing at all, white space or
   control characters, an image id where a name was expected.  */
static int
check_reference_text (const char *s, hutch_error_t *err)
{
  const char *p;

  if (s == NULL || *s == '\0')
    return hutch_error_set (err, 0,
                            "empty image reference; give a name such as `alpine` or "
                            "`quay.io/org/app:tag`");
  for (p = s; *p; p++)
    if (isspace ((unsigned char)*p) || iscntrl ((unsigned char)*p))
      return hutch_error_set (err, 0,
                              "invalid image reference `%s`: it contains white space or "
                              "control characters",
                              s);
  if (all_hex64 (s))
    return hutch_error_set (err, 0,
                            "invalid image reference `%s`: a 64-digit hex string is an image id, "
                            "not a name",
                            s);
  return 0;
}

/* Take S apart from the right: `@DIGEST`, then `:TAG` after the last
   slash (a colon before it belongs to a registry's port).  RET_TAG and
   RET_DIGEST are NULL when S has none.  */
static int
split_digest_and_tag (const char *s, char **ret_name, char **ret_tag, char **ret_digest,
                      hutch_error_t *err)
{
  _cleanup_free_ char *name = NULL, *tag = NULL, *digest = NULL;
  const char *at, *colon, *lastslash;

  at = strchr (s, '@');
  if (at)
    {
      const char *hex;
      if (hutch_digest_parse (at + 1, &hex, err) < 0)
        return hutch_error_prefix (err, "invalid image reference `%s`", s);
      digest = hutch_xstrdup (at + 1);
      name = hutch_xstrndup (s, (size_t)(at - s));
    }
  else
    name = hutch_xstrdup (s);

  lastslash = strrchr (name, '/');
  colon = strrchr (lastslash ? lastslash : name, ':');
  if (colon)
    {
      tag = hutch_xstrdup (colon + 1);
      name[colon - name] = '\0';
      if (check_tag (s, tag, err) < 0)
        return -1;
    }
  if (*name == '\0')
    return hutch_error_set (err, 0, "invalid image reference `%s`: no repository name", s);
  *ret_name = HUTCH_STEAL_PTR (name);
  *ret_tag = HUTCH_STEAL_PTR (tag);
  *ret_digest = HUTCH_STEAL_PTR (digest);
  return 0;
}

/* docker's splitDockerDomain: the first component is a registry only
   when it cannot be a repository name component.  */
static int
split_domain (const char *s, const char *name, char **ret_registry, char **ret_repository,
              bool *ret_short_name, hutch_error_t *err)
{
  _cleanup_free_ char *registry = NULL, *repository = NULL;
  const char *slash = strchr (name, '/');
  bool short_name;

  if (slash == NULL
      || (strcspn (name, ".:") >= (size_t)(slash - name) && strncmp (name, "localhost/", 10) != 0
          && !has_upper (name, (size_t)(slash - name))))
    {
      registry = hutch_xstrdup (HUTCH_DEFAULT_REGISTRY);
      repository = hutch_xstrdup (name);
      short_name = true;
    }
  else
    {
      registry = hutch_xstrndup (name, (size_t)(slash - name));
      repository = hutch_xstrdup (slash + 1);
      short_name = false;
      if (!valid_domain (registry))
        return hutch_error_set (err, 0,
                                "invalid image reference `%s`: `%s` is not a valid registry host "
                                "(HOST or HOST:PORT)",
                                s, registry);
      if (strcmp (registry, "index.docker.io") == 0)
        {
          free (registry);
          registry = hutch_xstrdup (HUTCH_DEFAULT_REGISTRY);
        }
    }
  *ret_registry = HUTCH_STEAL_PTR (registry);
  *ret_repository = HUTCH_STEAL_PTR (repository);
  *ret_short_name = short_name;
  return 0;
}

int
hutch_reference_parse (const char *s, struct hutch_reference *ret, hutch_error_t *err)
{
  _cleanup_free_ char *name = NULL, *tag = NULL, *digest = NULL, *registry = NULL;
  _cleanup_free_ char *repository = NULL;
  bool short_name = false;
  int r;

  r = check_reference_text (s, err);
  if (r < 0)
    return r;
  r = split_digest_and_tag (s, &name, &tag, &digest, err);
  if (r < 0)
    return r;
  r = split_domain (s, name, &registry, &repository, &short_name, err);
  if (r < 0)
    return r;
  if (*repository == '\0')
    return hutch_error_set (err, 0, "invalid image reference `%s`: no repository after `%s/`", s,
                            registry);
  r = check_path (s, repository, err);
  if (r < 0)
    return r;
  if (strcmp (registry, HUTCH_DEFAULT_REGISTRY) == 0 && strchr (repository, '/') == NULL)
    {
      char *full = hutch_xasprintf ("library/%s", repository);
      free (repository);
      repository = full;
    }
  /* The limit applies to the name in full, as docker checks it, so that
     every name that parses formats into one that parses again.  */
  if (strlen (registry) + 1 + strlen (repository) > NAME_MAX_LEN)
    return hutch_error_set (err, 0,
                            "invalid image reference `%s`: the name is longer than %d characters",
                            s, NAME_MAX_LEN);
  if (tag == NULL && digest == NULL)
    tag = hutch_xstrdup (HUTCH_DEFAULT_TAG);

  ret->registry = HUTCH_STEAL_PTR (registry);
  ret->repository = HUTCH_STEAL_PTR (repository);
  ret->tag = HUTCH_STEAL_PTR (tag);
  ret->digest = HUTCH_STEAL_PTR (digest);
  ret->short_name = short_name;
  return 0;
}

void
hutch_reference_clear (struct hutch_reference *ref)
{
  free (ref->registry);
  free (ref->repository);
  free (ref->tag);
  free (ref->digest);
  memset (ref, 0, sizeof *ref);
}

static char *
with_suffix (char *name, const struct hutch_reference *ref)
{
  char *full = hutch_xasprintf ("%s%s%s%s%s", name, ref->tag ? ":" : "", ref->tag ? ref->tag : "",
                                ref->digest ? "@" : "", ref->digest ? ref->digest : "");
  free (name);
  return full;
}

char *
hutch_reference_name (const struct hutch_reference *ref)
{
  return hutch_xasprintf ("%s/%s", ref->registry, ref->repository);
}

char *
hutch_reference_format (const struct hutch_reference *ref)
{
  return with_suffix (hutch_reference_name (ref), ref);
}

char *
hutch_reference_familiar (const struct hutch_reference *ref)
{
  const char *repo = ref->repository;

  if (strcmp (ref->registry, HUTCH_DEFAULT_REGISTRY) != 0)
    return hutch_reference_format (ref);
  if (hutch_str_has_prefix (repo, "library/") && strchr (repo + 8, '/') == NULL)
    repo += 8;
  return with_suffix (hutch_xstrdup (repo), ref);
}

int
hutch_reference_normalize (const char *s, char **ret, hutch_error_t *err)
{
  struct hutch_reference ref;
  int r = hutch_reference_parse (s, &ref, err);
  if (r < 0)
    return r;
  *ret = hutch_reference_format (&ref);
  hutch_reference_clear (&ref);
  return 0;
}
