/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "registry/auth.h"
#include "base/paths.h"
#include "base/util.h"
#include "base/walk.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* jansson provides json_decrefp.  */
#define _cleanup_json_ __attribute__ ((cleanup (json_decrefp)))

/* docker's config.json carries other settings too (proxies, plugins); a
   credentials file bigger than this is not one.  */
#define AUTH_FILE_MAX (4 << 20)

#define DOCKER_IO "docker.io"

/* ---- secrets ---------------------------------------------------------- */

/* Passwords do not outlive their use in freed heap memory, where a core
   dump or a later allocation could show them.  */
static void
secret_free (char *s)
{
  if (s)
    {
      explicit_bzero (s, strlen (s));
      free (s);
    }
}

static void
secret_freep (char **s)
{
  secret_free (*s);
}

#define _cleanup_secret_ __attribute__ ((cleanup (secret_freep)))

void
hutch_credentials_clear (struct hutch_credentials *c)
{
  secret_free (c->username);
  secret_free (c->password);
  secret_free (c->identity_token);
  free (c->origin);
  free (c->key);
  memset (c, 0, sizeof *c);
}

/* ---- base64 (RFC 4648, standard alphabet) ------------------------------ */

static const char b64_alphabet[]
    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *
base64_encode (const unsigned char *in, size_t len)
{
  char *out = hutch_xmalloc0 ((len + 2) / 3 * 4 + 1), *p = out;
  size_t i;
  uint32_t v;

  for (i = 0; i + 2 < len; i += 3)
    {
      v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
      *p++ = b64_alphabet[v >> 18 & 63];
      *p++ = b64_alphabet[v >> 12 & 63];
      *p++ = b64_alphabet[v >> 6 & 63];
      *p++ = b64_alphabet[v & 63];
    }
  if (len - i == 1)
    {
      v = (uint32_t)in[i] << 16;
      *p++ = b64_alphabet[v >> 18 & 63];
      *p++ = b64_alphabet[v >> 12 & 63];
      *p++ = '=';
      *p++ = '=';
    }
  else if (len - i == 2)
    {
      v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
      *p++ = b64_alphabet[v >> 18 & 63];
      *p++ = b64_alphabet[v >> 12 & 63];
      *p++ = b64_alphabet[v >> 6 & 63];
      *p++ = '=';
    }
  *p = '\0';
  explicit_bzero (&v, sizeof v);
  return out;
}

static int
base64_value (unsigned char c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

/* Decode IN into a NUL-terminated buffer.  Padding may be there or not
   (some tools strip it); anything else that is not the standard alphabet,
   `=` other than at the end, or a length no encoding has, is an error.
   The message says what and where, never the text itself.  */
static int
base64_decode (const char *in, char **ret, size_t *ret_len, hutch_error_t *err)
{
  size_t len = strlen (in), i, n = 0, pad = 0;
  unsigned char *out;
  uint32_t acc = 0;
  int bits = 0;

  while (len > 0 && in[len - 1] == '=' && pad < 2)
    {
      len--;
      pad++;
    }
  if (len % 4 == 1 || (pad > 0 && (len + pad) % 4 != 0))
    return hutch_error_set (err, 0, "its length (%zu characters) is not one base64 has",
                            strlen (in));
  out = hutch_xmalloc0 (len / 4 * 3 + 3);
  for (i = 0; i < len; i++)
    {
      int v = base64_value ((unsigned char)in[i]);
      if (v < 0)
        {
          explicit_bzero (out, len / 4 * 3 + 3);
          free (out);
          explicit_bzero (&acc, sizeof acc);
          if (isprint ((unsigned char)in[i]))
            return hutch_error_set (err, 0, "`%c` at offset %zu is not a base64 character", in[i],
                                    i);
          return hutch_error_set (err, 0, "byte 0x%02x at offset %zu is not a base64 character",
                                  (unsigned char)in[i], i);
        }
      acc = acc << 6 | (uint32_t)v;
      bits += 6;
      if (bits >= 8)
        {
          bits -= 8;
          out[n++] = (unsigned char)(acc >> bits);
        }
    }
  out[n] = '\0';
  explicit_bzero (&acc, sizeof acc);
  *ret = (char *)out;
  *ret_len = n;
  return 0;
}

/* ---- where the files are ---------------------------------------------- */

/* $XDG_RUNTIME_DIR/containers/auth.json, or NULL.  Over ssh, su or in a
   batch job the variable is often unset or names another user's directory:
   reading there would fail with EACCES on every pull, and writing there
   would put our password in someone else's directory.  */
static char *
runtime_auth_file (void)
{
  const char *x = hutch_paths_xdg_runtime ();
  return x ? hutch_xasprintf ("%s/containers/auth.json", x) : NULL;
}

/* As podman: $XDG_CONFIG_HOME/containers/auth.json, else
   ~/.config/containers/auth.json.  */
static char *
config_auth_file (void)
{
  _cleanup_free_ char *c = hutch_paths_config_home ();
  return hutch_xasprintf ("%s/containers/auth.json", c);
}

static char *
docker_auth_file (void)
{
  const char *x = getenv ("DOCKER_CONFIG");

  if (x && *x)
    return hutch_xasprintf ("%s/config.json", x);
  return hutch_xasprintf ("%s/.docker/config.json", hutch_paths_home ());
}

char *
hutch_auth_default_file (void)
{
  const char *env = getenv ("REGISTRY_AUTH_FILE");
  char *p;

  if (env && *env)
    return hutch_xstrdup (env);
  p = runtime_auth_file ();
  return p ? p : config_auth_file ();
}

/* The files a lookup reads, in order.  */
static char **
search_files (const char *authfile)
{
  const char *env = getenv ("REGISTRY_AUTH_FILE");
  char **files = NULL, *p;

  if (authfile)
    hutch_strv_push (&files, hutch_xstrdup (authfile));
  else if (env && *env)
    hutch_strv_push (&files, hutch_xstrdup (env));
  else
    {
      p = runtime_auth_file ();
      if (p)
        hutch_strv_push (&files, p);
      hutch_strv_push (&files, config_auth_file ());
      hutch_strv_push (&files, docker_auth_file ());
    }
  return files;
}

/* ---- keys ------------------------------------------------------------- */

int
hutch_auth_normalize_key (const char *key, char **ret, hutch_error_t *err)
{
  const char *p = key, *slash, *q;
  _cleanup_free_ char *host = NULL, *path = NULL;
  bool url = false;
  size_t n;
  char *c;

  for (q = key; *q; q++)
    if (isspace ((unsigned char)*q) || iscntrl ((unsigned char)*q))
      return hutch_error_set (err, 0,
                              "`%s` is not a registry: it has white space or control "
                              "characters; write it as HOST[:PORT], e.g. quay.io or "
                              "localhost:5000",
                              key);
  if (strncasecmp (p, "https://", 8) == 0)
    {
      p += 8;
      url = true;
    }
  else if (strncasecmp (p, "http://", 7) == 0)
    {
      p += 7;
      url = true;
    }
  slash = strchr (p, '/');
  n = slash ? (size_t)(slash - p) : strlen (p);
  if (n == 0)
    return hutch_error_set (err, 0,
                            "`%s` names no registry; write it as HOST[:PORT], e.g. quay.io or "
                            "localhost:5000",
                            key);
  host = hutch_xstrndup (p, n);
  for (c = host; *c; c++)
    *c = (char)tolower ((unsigned char)*c);
  if (strcmp (host, "index.docker.io") == 0 || strcmp (host, "registry-1.docker.io") == 0)
    {
      free (host);
      host = hutch_xstrdup (DOCKER_IO);
    }
  /* In a URL the path is the API's ("/v1/", "/v2/"), not a namespace.  */
  path = hutch_xstrdup (slash && !url ? slash + 1 : "");
  n = strlen (path);
  while (n > 0 && path[n - 1] == '/')
    path[--n] = '\0';
  *ret = n ? hutch_xasprintf ("%s/%s", host, path) : HUTCH_STEAL_PTR (host);
  return 0;
}

/* How KEY (normalized) fits REGISTRY and REPOSITORY: -1 not at all, else
   the length of the namespace it names.  Namespaces match whole path
   components, so that a longer match is always a more specific one.  */
static long
key_rank (const char *key, const char *registry, const char *repository)
{
  size_t rl = strlen (registry), pl;
  const char *path;

  if (strncmp (key, registry, rl) != 0)
    return -1;
  if (key[rl] == '\0')
    return 0;
  if (key[rl] != '/' || repository == NULL)
    return -1;
  path = key + rl + 1;
  pl = strlen (path);
  if (strncmp (repository, path, pl) != 0 || (repository[pl] != '\0' && repository[pl] != '/'))
    return -1;
  return (long)pl;
}

/* ---- reading ---------------------------------------------------------- */

static int
read_error (hutch_error_t *err, int errnum, const char *path)
{
  hutch_error_set (err, errnum, "cannot read the credentials file `%s`", path);
  if (errnum == EACCES || errnum == EPERM)
    return hutch_error_append (err,
                               "make it yours and readable (`chmod 600 %s`), or choose another "
                               "file with --authfile",
                               path);
  return hutch_error_append (err, "it must be a file of JSON; replace or remove it, or choose "
                                  "another file with --authfile");
}

/* Parse the file open at FD.  A file of only white space (`touch`ed, or
   truncated by an editor) counts as an empty object.  */
static int
load_fd (int fd, const char *path, json_t **ret_root, hutch_error_t *err)
{
  hutch_error_t e = HUTCH_ERROR_INIT;
  json_error_t jerr;
  json_t *root;
  char *text = NULL;
  size_t len = 0, i;

  if (hutch_read_fd (fd, AUTH_FILE_MAX, &text, &len, &e) < 0)
    {
      int errnum = e.errnum;
      hutch_error_clear (&e);
      return read_error (err, errnum, path);
    }
  for (i = 0; i < len && isspace ((unsigned char)text[i]); i++)
    ;
  if (i == len)
    root = json_object ();
  else
    root = json_loadb (text, len, 0, &jerr);
  /* The text holds every password of the file in base64.  */
  explicit_bzero (text, len);
  free (text);
  if (root == NULL)
    return hutch_error_set (err, 0,
                            "the credentials file `%s` is not valid JSON: line %d, column %d: "
                            "%s; correct it, or remove it and log in again with `hutch login`",
                            path, jerr.line, jerr.column, jerr.text);
  if (!json_is_object (root))
    {
      json_decref (root);
      return hutch_error_set (err, 0,
                              "the credentials file `%s` is not a JSON object; correct it, or "
                              "remove it and log in again with `hutch login`",
                              path);
    }
  *ret_root = root;
  return 0;
}

/* Returns 1 and *RET_ROOT, 0 when PATH does not exist, <0 on error.  */
static int
load_file (const char *path, json_t **ret_root, hutch_error_t *err)
{
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    {
      if (errno == ENOENT || errno == ENOTDIR)
        return 0;
      return read_error (err, errno, path);
    }
  if (load_fd (fd, path, ret_root, err) < 0)
    return -1;
  return 1;
}

static int
get_auths (json_t *root, const char *path, json_t **ret, hutch_error_t *err)
{
  json_t *auths = json_object_get (root, "auths");

  if (auths && !json_is_null (auths) && !json_is_object (auths))
    return hutch_error_set (err, 0,
                            "the credentials file `%s`: \"auths\" is not a JSON object; correct "
                            "it, or remove it and log in again with `hutch login`",
                            path);
  *ret = json_is_object (auths) ? auths : NULL;
  return 0;
}

/* The string FIELD of ENTRY, NULL when absent, null or empty.  */
static int
entry_string (json_t *entry, const char *field, const char *path, const char *key, const char **ret,
              hutch_error_t *err)
{
  json_t *v = json_object_get (entry, field);

  if (v && !json_is_null (v) && !json_is_string (v))
    return hutch_error_set (err, 0,
                            "the credentials file `%s`: \"%s\" of the entry `%s` is not a "
                            "string; correct it, or log in again with `hutch login`",
                            path, field, key);
  *ret = json_is_string (v) && *json_string_value (v) ? json_string_value (v) : NULL;
  return 0;
}

static int
decode_entry (json_t *entry, const char *path, const char *key, const char *registry,
              struct hutch_credentials *ret, hutch_error_t *err)
{
  struct hutch_credentials c;
  const char *auth, *token;
  _cleanup_secret_ char *plain = NULL;
  size_t len = 0;
  char *colon;

  if (entry_string (entry, "auth", path, key, &auth, err) < 0
      || entry_string (entry, "identitytoken", path, key, &token, err) < 0)
    return -1;
  memset (&c, 0, sizeof c);
  if (auth)
    {
      if (base64_decode (auth, &plain, &len, err) < 0)
        {
          hutch_error_prefix (err,
                              "the credentials file `%s`: \"auth\" of the entry `%s` is not "
                              "base64",
                              path, key);
          return hutch_error_append (err, "log in again with `hutch login %s`, or correct it",
                                     registry);
        }
      colon = memchr (plain, ':', len);
      if (colon == NULL || strlen (plain) != len)
        return hutch_error_set (err, 0,
                                "the credentials file `%s`: \"auth\" of the entry `%s` is not "
                                "the base64 of `user:password`; log in again with `hutch login "
                                "%s`, or correct it",
                                path, key, registry);
      c.username = hutch_xstrndup (plain, (size_t)(colon - plain));
      c.password = hutch_xstrdup (colon + 1);
    }
  if (token)
    c.identity_token = hutch_xstrdup (token);
  c.origin = hutch_xstrdup (path);
  c.key = hutch_xstrdup (key);
  *ret = c;
  return 1;
}

/* An error when a "credHelpers" entry of the file names REGISTRY.  */
static int
check_helpers (json_t *root, const char *path, const char *registry, hutch_error_t *err)
{
  json_t *helpers = json_object_get (root, "credHelpers"), *entry;
  const char *k;

  /* docker (and podman) ask the helper first when one is named for the
     registry; an "auths" entry next to it is usually docker's empty
     placeholder.  Going on without the helper's credentials would turn into
     an "unauthorized" from the registry that points nowhere near the
     cause.  */
  if (!json_is_object (helpers))
    return 0;
  json_object_foreach (helpers, k, entry)
  {
    _cleanup_free_ char *norm = NULL, *dflt = NULL;
    hutch_error_t e = HUTCH_ERROR_INIT;

    if (hutch_auth_normalize_key (k, &norm, &e) < 0)
      {
        hutch_error_clear (&e);
        continue;
      }
    if (strcmp (norm, registry) != 0)
      continue;
    dflt = hutch_auth_default_file ();
    hutch_error_set (err, 0,
                     "the credentials file `%s` says to get the credentials for %s from the "
                     "docker credential helper `docker-credential-%s` (\"credHelpers\"), and "
                     "hutch does not run docker credential helpers",
                     path, registry, json_is_string (entry) ? json_string_value (entry) : "?");
    /* hutch login writing into this very file would not help: the
       helper entry would still come first.  */
    if (strcmp (dflt, path) == 0)
      return hutch_error_append (err,
                                 "remove `%s` from \"credHelpers\" in that file, then log in "
                                 "with `hutch login %s`",
                                 k, registry);
    return hutch_error_append (err,
                               "log in with `hutch login %s` (it writes `%s`, which is read "
                               "first)",
                               registry, dflt);
  }

  return 0;
}

/* Look in one parsed file.  Returns 1 and fills RET, 0 when it has no
   entry, <0 on error.  */
static int
lookup_in (json_t *root, const char *path, const char *registry, const char *repository,
           struct hutch_credentials *ret, hutch_error_t *err)
{
  json_t *auths = NULL, *entry, *best = NULL;
  const char *k, *best_key = NULL;
  long best_rank = -1;
  bool best_exact = false;

  if (check_helpers (root, path, registry, err) < 0)
    return -1;
  if (get_auths (root, path, &auths, err) < 0)
    return -1;
  if (auths == NULL)
    return 0;
  json_object_foreach (auths, k, entry)
  {
    _cleanup_free_ char *norm = NULL;
    hutch_error_t e = HUTCH_ERROR_INIT;
    const char *auth, *token;
    long rank;
    bool exact;

    if (hutch_auth_normalize_key (k, &norm, &e) < 0)
      {
        hutch_error_clear (&e);
        continue;
      }
    rank = key_rank (norm, registry, repository);
    if (rank < 0)
      continue;
    if (!json_is_object (entry))
      return hutch_error_set (err, 0,
                              "the credentials file `%s`: the entry `%s` is not a JSON object; "
                              "correct it, or log in again with `hutch login %s`",
                              path, k, registry);
    if (entry_string (entry, "auth", path, k, &auth, err) < 0
        || entry_string (entry, "identitytoken", path, k, &token, err) < 0)
      return -1;
    /* `{}`: docker keeps the secret in a credsStore; as podman, no entry.  */
    if (auth == NULL && token == NULL)
      continue;
    /* Between aliases of one key ("docker.io" and
       "https://index.docker.io/v1/"), the one hutch login writes wins.  */
    exact = strcmp (k, norm) == 0;
    if (rank > best_rank || (rank == best_rank && exact && !best_exact))
      {
        best = entry;
        best_key = k;
        best_rank = rank;
        best_exact = exact;
      }
  }
  if (best == NULL)
    return 0;
  return decode_entry (best, path, best_key, registry, ret, err);
}

int
hutch_auth_lookup (const char *authfile, const char *registry, const char *repository,
                   struct hutch_credentials *ret, hutch_error_t *err)
{
  _cleanup_free_ char *reg = NULL, *repo = NULL;
  _cleanup_strv_ char **files = NULL;
  char *slash;
  size_t i;

  if (hutch_auth_normalize_key (registry, &reg, err) < 0)
    return -1;
  /* "quay.io/team/app" alone is the registry and the repository.  */
  slash = strchr (reg, '/');
  if (slash)
    {
      if (repository)
        return hutch_error_set (err, EINVAL, "look up credentials: registry `%s` has a path",
                                registry);
      repo = hutch_xstrdup (slash + 1);
      *slash = '\0';
    }
  else if (repository)
    repo = hutch_xstrdup (repository);

  files = search_files (authfile);
  for (i = 0; files[i]; i++)
    {
      _cleanup_json_ json_t *root = NULL;
      int r = load_file (files[i], &root, err);

      if (r < 0)
        return r;
      if (r == 0)
        {
          /* A typo in --authfile should not quietly become an anonymous
             pull that then fails with "unauthorized".  */
          if (authfile)
            return hutch_error_set (err, ENOENT,
                                    "the credentials file `%s` given with --authfile does not "
                                    "exist; check the path, or create it with `hutch login "
                                    "--authfile %s %s`",
                                    authfile, authfile, reg);
          continue;
        }
      r = lookup_in (root, files[i], reg, repo, ret, err);
      if (r != 0)
        return r;
    }
  memset (ret, 0, sizeof *ret);
  return 0;
}

/* ---- writing ---------------------------------------------------------- */

/* Serialise read-modify-write between two hutch login at once.  The lock
   is on the directory: the file itself is replaced by a rename (a lock on
   it would be on the old inode), and a lock file would be left next to the
   user's, or docker's, configuration.  Some NFS servers refuse a lock on a
   directory; the write stays atomic then, and only two concurrent logins
   could lose one of the two updates, which is not worth failing a login
   for.  */
static int
lock_dir (int dirfd, const char *dir, hutch_error_t *err)
{
  int r;

  do
    r = flock (dirfd, LOCK_EX);
  while (r < 0 && errno == EINTR);
  if (r < 0 && errno != ENOLCK && errno != EOPNOTSUPP && errno != EBADF && errno != EINVAL)
    return hutch_error_set (err, errno, "lock the directory `%s`", dir);
  return 0;
}

/* Replace BASE in DIRFD with ROOT: a temporary file in the same directory,
   mode 0600 whatever the umask, flushed, then renamed over it, so that a
   crash or a full disk leaves the old file or the new one, never half of
   one.  */
static int
write_file (int dirfd, const char *dir, const char *base, const char *path, json_t *root,
            hutch_error_t *err)
{
  _cleanup_free_ char *tmp = NULL;
  _cleanup_close_ int fd = -1;
  char rnd[17], *text;
  int r = 0;

  if (hutch_random_hex (rnd, 16) < 0)
    snprintf (rnd, sizeof rnd, "%08x%08x", (unsigned)getpid (), (unsigned)random ());
  tmp = hutch_xasprintf (".%s.%s.tmp", base, rnd);
  fd = openat (dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return hutch_error_set (err, errno, "create a temporary file in `%s`", dir);
  text = json_dumps (root, JSON_INDENT (2));
  if (text == NULL)
    r = -ENOMEM;
  if (r == 0 && fchmod (fd, 0600) < 0)
    r = -errno;
  if (r == 0)
    r = hutch_write_all (fd, text, strlen (text));
  if (r == 0)
    r = hutch_write_all (fd, "\n", 1);
  if (text)
    {
      explicit_bzero (text, strlen (text));
      free (text);
    }
  if (r == 0 && fsync (fd) < 0)
    r = -errno;
  if (r == 0 && renameat (dirfd, tmp, dirfd, base) < 0)
    r = -errno;
  if (r < 0)
    {
      unlinkat (dirfd, tmp, 0);
      return hutch_error_set (err, -r, "write the credentials file `%s`", path);
    }
  if (fsync (dirfd) < 0 && errno != EINVAL && errno != EROFS)
    return hutch_error_set (err, errno, "flush `%s` to disk", dir);
  return 0;
}

/* Returns 1 when it changed ROOT (to be written), 0 when not, <0 on
   error.  */
typedef int (*auth_change_fn) (json_t *root, const char *path, void *data, hutch_error_t *err);

/* Read-modify-write PATH under the lock.  CREATE: a missing file (and
   directories, 0700) is created; otherwise a missing file is left alone and
   FN is not called.  */
static int
change_file (const char *path, bool create, auth_change_fn fn, void *data, hutch_error_t *err)
{
  _cleanup_free_ char *target = NULL, *dir = NULL;
  _cleanup_close_ int dirfd = -1, fd = -1;
  _cleanup_json_ json_t *root = NULL;
  const char *base, *slash;
  struct stat st;
  int r;

  /* Write through a symlink (dotfiles kept in a repository), not over it.
     A dangling one is replaced.  */
  if (lstat (path, &st) == 0 && S_ISLNK (st.st_mode))
    target = realpath (path, NULL);
  if (target == NULL)
    target = hutch_xstrdup (path);
  slash = strrchr (target, '/');
  if (slash == NULL)
    dir = hutch_xstrdup (".");
  else if (slash == target)
    dir = hutch_xstrdup ("/");
  else
    dir = hutch_xstrndup (target, (size_t)(slash - target));
  base = slash ? slash + 1 : target;
  if (*base == '\0' || strcmp (base, ".") == 0 || strcmp (base, "..") == 0)
    return hutch_error_set (err, EISDIR, "the credentials file `%s` names a directory", path);

  if (create && hutch_walk_mkdir_p (dir, 0700, err) < 0)
    return -1;
  dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    {
      if (!create && (errno == ENOENT || errno == ENOTDIR))
        return 0;
      return hutch_error_set (err, errno, "open the directory `%s`", dir);
    }
  if (lock_dir (dirfd, dir, err) < 0)
    return -1;

  fd = openat (dirfd, base, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      if (errno != ENOENT)
        return read_error (err, errno, path);
      if (!create)
        return 0;
      root = json_object ();
    }
  else if (load_fd (fd, path, &root, err) < 0)
    return -1;

  r = fn (root, path, data, err);
  if (r <= 0)
    return r;
  return write_file (dirfd, dir, base, path, root, err);
}

struct store_data
{
  const char *key;
  const char *auth;
};

static int
store_change (json_t *root, const char *path, void *data, hutch_error_t *err)
{
  struct store_data *d = data;
  json_t *auths = NULL, *entry;

  if (get_auths (root, path, &auths, err) < 0)
    return -1;
  if (auths == NULL)
    {
      auths = json_object ();
      json_object_set_new (root, "auths", auths);
    }
  /* The whole entry is replaced: an "identitytoken" of an earlier docker
     login belongs to the old credentials.  */
  entry = json_object ();
  json_object_set_new (entry, "auth", json_string (d->auth));
  if (json_object_set_new (auths, d->key, entry) < 0)
    return hutch_error_set (err, 0, "registry `%s` is not valid UTF-8", d->key);
  return 1;
}

struct remove_data
{
  const char *key; /* NULL: all */
  bool found;
};

static int
remove_change (json_t *root, const char *path, void *data, hutch_error_t *err)
{
  struct remove_data *d = data;
  json_t *auths = NULL, *entry;
  const char *k;
  void *tmp;

  if (get_auths (root, path, &auths, err) < 0)
    return -1;
  if (auths == NULL || json_object_size (auths) == 0)
    return 0;
  if (d->key == NULL)
    {
      json_object_clear (auths);
      d->found = true;
      return 1;
    }
  /* Every alias, or the registry would still be logged in through one.  */
  json_object_foreach_safe (auths, tmp, k, entry)
  {
    _cleanup_free_ char *norm = NULL;
    hutch_error_t e = HUTCH_ERROR_INIT;

    if (hutch_auth_normalize_key (k, &norm, &e) < 0)
      {
        hutch_error_clear (&e);
        continue;
      }
    if (strcmp (norm, d->key) == 0)
      {
        json_object_del (auths, k);
        d->found = true;
      }
  }
  return d->found ? 1 : 0;
}

int
hutch_auth_store (const char *authfile, const char *registry, const char *username,
                  const char *password, char **ret_path, hutch_error_t *err)
{
  _cleanup_free_ char *key = NULL, *path = NULL;
  _cleanup_secret_ char *plain = NULL, *auth = NULL;
  struct store_data d;

  if (hutch_auth_normalize_key (registry, &key, err) < 0)
    return -1;
  if (username == NULL || *username == '\0')
    return hutch_error_set (err, 0, "log in to %s: the user name is empty", key);
  /* The file holds "user:password": the first `:` ends the user name.  */
  if (strchr (username, ':'))
    return hutch_error_set (err, 0,
                            "log in to %s: a user name cannot contain `:` (the credentials file "
                            "stores `user:password`)",
                            key);
  if (password == NULL)
    return hutch_error_set (err, EINVAL, "log in to %s: no password", key);

  plain = hutch_xasprintf ("%s:%s", username, password);
  auth = base64_encode ((const unsigned char *)plain, strlen (plain));
  path = authfile ? hutch_xstrdup (authfile) : hutch_auth_default_file ();
  d.key = key;
  d.auth = auth;
  if (change_file (path, true, store_change, &d, err) < 0)
    return -1;
  if (ret_path)
    *ret_path = HUTCH_STEAL_PTR (path);
  return 0;
}

int
hutch_auth_remove (const char *authfile, const char *registry, bool *ret_found, char **ret_path,
                   hutch_error_t *err)
{
  _cleanup_free_ char *key = NULL, *path = NULL;
  struct remove_data d;

  if (registry && hutch_auth_normalize_key (registry, &key, err) < 0)
    return -1;
  path = authfile ? hutch_xstrdup (authfile) : hutch_auth_default_file ();
  d.key = key;
  d.found = false;
  if (change_file (path, false, remove_change, &d, err) < 0)
    return -1;
  if (ret_found)
    *ret_found = d.found;
  if (ret_path)
    *ret_path = HUTCH_STEAL_PTR (path);
  return 0;
}

int
hutch_auth_parse_creds (const char *s, struct hutch_credentials *ret, hutch_error_t *err)
{
  const char *colon = strchr (s, ':');

  /* The message never repeats S: it holds the password.  */
  if (*s == '\0' || colon == s)
    return hutch_error_set (err, 0, "--creds has no user name; write --creds USER[:PASSWORD]");
  memset (ret, 0, sizeof *ret);
  if (colon)
    {
      ret->username = hutch_xstrndup (s, (size_t)(colon - s));
      ret->password = hutch_xstrdup (colon + 1);
    }
  else
    ret->username = hutch_xstrdup (s);
  return 0;
}
