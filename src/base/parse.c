/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "base/parse.h"
#include "base/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

bool
hutch_volume_name_valid (const char *name)
{
  size_t i, n = strlen (name);

  /* docker's rule; a name has no `/` and does not start with `.`, so it
     can never climb out of the store's volumes directory.  */
  if (n < 2 || n > 255 || !isalnum ((unsigned char)name[0]))
    return false;
  for (i = 1; i < n; i++)
    if (!(isalnum ((unsigned char)name[i]) || name[i] == '_' || name[i] == '.' || name[i] == '-'))
      return false;
  return true;
}

/* The propagations a bind may ask for.  shared and rshared cannot work
   without privileges: an unprivileged user's mount namespace gets every
   mount copied from the host as a slave of it (mount_namespaces(7),
   "restrictions on mount namespaces"), so nothing mounted in the container
   can ever propagate back to the host, which is what they promise.  */
static const char *const propagations[]
    = { "private", "rprivate", "slave", "rslave", "unbindable", "runbindable", NULL };

#define PROPAGATIONS "private, rprivate, slave, rslave, unbindable or runbindable"

/* The static name of PROP, or NULL with ERR filled (OPT names the option).  */
static const char *
check_propagation (const char *opt, const char *arg, const char *prop, hutch_error_t *err)
{
  size_t i;

  for (i = 0; propagations[i]; i++)
    if (strcmp (prop, propagations[i]) == 0)
      return propagations[i];
  if (strcmp (prop, "shared") == 0 || strcmp (prop, "rshared") == 0)
    hutch_error_set (err, 0,
                     "%s `%s`: %s propagation cannot work rootless: the kernel makes every mount "
                     "an unprivileged user's namespace copies from the host a slave of it, so "
                     "nothing mounted in the container can reach the host "
                     "(mount_namespaces(7)); use rslave to see the host's new mounts inside, "
                     "or rprivate",
                     opt, arg, prop);
  else
    hutch_error_set (err, 0, "%s `%s`: unknown bind propagation `%s`; expected %s", opt, arg, prop,
                     PROPAGATIONS);
  return NULL;
}

/* A destination: absolute, without `..`, not `/`.  */
static int
check_destination (const char *opt, const char *arg, const char *dst, hutch_error_t *err)
{
  if (dst[0] != '/')
    return hutch_error_set (err, 0, "%s `%s`: the destination `%s` must be an absolute path", opt,
                            arg, dst);
  if (!clean_path (dst))
    return hutch_error_set (err, 0, "%s `%s`: the destination must not contain `..`", opt, arg);
  if (strspn (dst, "/") == strlen (dst))
    return hutch_error_set (err, 0,
                            "%s `%s`: the destination cannot be `/`; use --rootfs to choose the "
                            "root filesystem",
                            opt, arg);
  return 0;
}

/* What is wrong with the options of a volume of this kind, or 0.  */
static int
check_volume (const char *opt, const char *arg, const struct hutch_volume *v, hutch_error_t *err)
{
  bool bind = v->kind == HUTCH_VOLUME_BIND;

  if (v->nocopy && bind)
    return hutch_error_set (err, 0,
                            "%s `%s`: nocopy applies to volumes, not to host directories (which "
                            "never get the image's content)",
                            opt, arg);
  if (v->propagation && !bind)
    return hutch_error_set (err, 0,
                            "%s `%s`: bind propagation applies to host directories only, not to "
                            "volumes",
                            opt, arg);
  return 0;
}

static bool
is_propagation (const char *o)
{
  size_t i;
  for (i = 0; propagations[i]; i++)
    if (strcmp (o, propagations[i]) == 0)
      return true;
  return strcmp (o, "shared") == 0 || strcmp (o, "rshared") == 0;
}

#define VOLUME_OPTIONS "ro, rw, z, Z, U, nocopy, or a propagation (" PROPAGATIONS ")"

/* One word of -v's OPTS into V.  */
static int
volume_option (const char *arg, const char *o, struct hutch_volume *v, hutch_error_t *err)
{
  if (strcmp (o, "ro") == 0 || strcmp (o, "rw") == 0)
    v->readonly = o[1] == 'o';
  else if (strcmp (o, "z") == 0 || strcmp (o, "Z") == 0)
    {
      if (v->relabel && v->relabel != o[0])
        return hutch_error_set (err, 0,
                                "--volume `%s`: z (shared) and Z (private) relabel the same "
                                "files two ways; choose one",
                                arg);
      v->relabel = o[0];
    }
  else if (strcmp (o, "U") == 0)
    v->chown = true;
  else if (strcmp (o, "nocopy") == 0)
    v->nocopy = true;
  else if (is_propagation (o))
    {
      v->propagation = check_propagation ("--volume", arg, o, err);
      if (v->propagation == NULL)
        return -1;
    }
  else
    return hutch_error_set (err, 0, "--volume `%s`: unknown option `%s`; allowed: %s", arg, o,
                            VOLUME_OPTIONS);
  return 0;
}

/* Whether every word of OPTS is one of -v's options: DST:OPTS is then a
   new anonymous volume, not SRC:DST.  */
static bool
looks_like_options (const char *opts)
{
  static const char *const words[] = { "ro", "rw", "z", "Z", "U", "nocopy", NULL };
  _cleanup_free_ char *copy = hutch_xstrdup (opts);
  char *o, *save = NULL;
  size_t i;

  if (*opts == '\0')
    return false;
  for (o = strtok_r (copy, ",", &save); o; o = strtok_r (NULL, ",", &save))
    {
      for (i = 0; words[i] && strcmp (o, words[i]) != 0; i++)
        ;
      if (words[i] == NULL && !is_propagation (o))
        return false;
    }
  return true;
}

static int
volume_options (const char *arg, char *opts, struct hutch_volume *v, hutch_error_t *err)
{
  char *o, *save = NULL;

  if (*opts == '\0' || strchr (opts, ':') || opts[strlen (opts) - 1] == ',')
    return hutch_error_set (err, 0, "--volume `%s`: expected SRC:DST[:OPTS], OPTS being %s", arg,
                            VOLUME_OPTIONS);
  for (o = strtok_r (opts, ",", &save); o; o = strtok_r (NULL, ",", &save))
    if (volume_option (arg, o, v, err) < 0)
      return -1;
  return check_volume ("--volume", arg, v, err);
}

/* SRC of SRC:DST: a host path or a volume's name.  */
static int
volume_source (const char *arg, const char *src, const char *cwd, struct hutch_volume *v,
               hutch_error_t *err)
{
  if (*src == '\0')
    return hutch_error_set (err, 0, "--volume `%s`: the source is empty; expected SRC:DST[:OPTS]",
                            arg);
  if (src[0] == '/' || src[0] == '.')
    {
      v->kind = HUTCH_VOLUME_BIND;
      v->source = src[0] == '/' ? hutch_xstrdup (src) : hutch_xasprintf ("%s/%s", cwd, src);
      return 0;
    }
  if (!hutch_volume_name_valid (src))
    return hutch_error_set (err, 0,
                            "--volume `%s`: the source `%s` is neither a host path (absolute, or "
                            "starting with `.`) nor a volume name (letters, digits, `_`, `.` "
                            "and `-`, starting with a letter or digit, at least two)",
                            arg, src);
  v->kind = HUTCH_VOLUME_NAMED;
  v->source = hutch_xstrdup (src);
  return 0;
}

int
hutch_parse_volume (const char *arg, const char *cwd, struct hutch_volume *ret, hutch_error_t *err)
{
  _cleanup_free_ char *copy = hutch_xstrdup (arg);
  char *first = copy, *second, *opts = NULL;
  struct hutch_volume v = { 0 };
  const char *dst;

  memset (ret, 0, sizeof *ret);
  second = strchr (copy, ':');
  if (second)
    {
      *second++ = '\0';
      opts = strchr (second, ':');
      if (opts)
        *opts++ = '\0';
    }
  /* DST or DST:OPTS: a new anonymous volume (docker's -v /data).  */
  if (second == NULL || (opts == NULL && first[0] == '/' && looks_like_options (second)))
    {
      v.kind = HUTCH_VOLUME_ANONYMOUS;
      dst = first;
      opts = second;
    }
  else
    {
      if (volume_source (arg, first, cwd, &v, err) < 0)
        return -1;
      dst = second;
    }
  if (check_destination ("--volume", arg, dst, err) < 0
      || (opts && volume_options (arg, opts, &v, err) < 0))
    {
      hutch_volume_clear (&v);
      return -1;
    }
  v.destination = hutch_xstrdup (dst);
  *ret = v;
  return 0;
}

void
hutch_volume_clear (struct hutch_volume *v)
{
  free (v->source);
  free (v->destination);
  free (v->tmpfs_options);
  hutch_strv_free (v->labels);
  memset (v, 0, sizeof *v);
}

/* ---- --mount ------------------------------------------------------------ */

/* docker reads --mount as one CSV record: fields are split at commas, a
   field in double quotes may hold commas, and "" inside it is a quote.  */
static int
csv_fields (const char *arg, char ***ret, hutch_error_t *err)
{
  _cleanup_strv_ char **fields = hutch_xmalloc0 (sizeof (char *));
  _cleanup_free_ char *buf = hutch_xmalloc0 (strlen (arg) + 1);
  const char *p = arg;

  for (;;)
    {
      size_t n = 0;
      if (*p == '"')
        {
          for (p++; *p && !(p[0] == '"' && p[1] != '"'); p++)
            buf[n++] = *p == '"' ? *++p : *p;
          if (*p != '"' || (p[1] != ',' && p[1] != '\0'))
            return hutch_error_set (err, 0, "--mount `%s`: a quoted field is not closed", arg);
          p++;
        }
      else
        while (*p && *p != ',')
          buf[n++] = *p++;
      buf[n] = '\0';
      hutch_strv_push (&fields, hutch_xstrdup (buf));
      if (*p == '\0')
        break;
      p++; /* the comma */
    }
  *ret = HUTCH_STEAL_PTR (fields);
  return 0;
}

enum mount_key_id
{
  MK_TYPE,
  MK_SOURCE,
  MK_DESTINATION,
  MK_READONLY,
  MK_PROPAGATION,
  MK_NOCOPY,
  MK_LABEL,
  MK_DRIVER,
  MK_SIZE,
  MK_MODE,
  MK_RELABEL,
  MK_CHOWN,
};

#define FOR_BIND 1u   /* 1 << TYPE_BIND */
#define FOR_VOLUME 2u /* 1 << TYPE_VOLUME */
#define FOR_TMPFS 4u  /* 1 << TYPE_TMPFS */

static const struct mount_key
{
  const char *name;
  enum mount_key_id id;
  unsigned types;
} mount_keys[] = {
  { "type", MK_TYPE, FOR_BIND | FOR_VOLUME | FOR_TMPFS },
  { "source", MK_SOURCE, FOR_BIND | FOR_VOLUME },
  { "src", MK_SOURCE, FOR_BIND | FOR_VOLUME },
  { "destination", MK_DESTINATION, FOR_BIND | FOR_VOLUME | FOR_TMPFS },
  { "dst", MK_DESTINATION, FOR_BIND | FOR_VOLUME | FOR_TMPFS },
  { "target", MK_DESTINATION, FOR_BIND | FOR_VOLUME | FOR_TMPFS },
  { "readonly", MK_READONLY, FOR_BIND | FOR_VOLUME | FOR_TMPFS },
  { "ro", MK_READONLY, FOR_BIND | FOR_VOLUME | FOR_TMPFS },
  { "bind-propagation", MK_PROPAGATION, FOR_BIND },
  { "volume-nocopy", MK_NOCOPY, FOR_VOLUME },
  { "volume-label", MK_LABEL, FOR_VOLUME },
  { "volume-driver", MK_DRIVER, FOR_VOLUME },
  { "tmpfs-size", MK_SIZE, FOR_TMPFS },
  { "tmpfs-mode", MK_MODE, FOR_TMPFS },
  { "relabel", MK_RELABEL, FOR_BIND | FOR_VOLUME },
  { "U", MK_CHOWN, FOR_BIND | FOR_VOLUME },
};
#define N_MOUNT_KEYS (sizeof mount_keys / sizeof mount_keys[0])

/* Indexes of mount_types; type I allows the keys with bit 1 << I.  */
enum
{
  TYPE_BIND,
  TYPE_VOLUME,
  TYPE_TMPFS,
};
static const char *const mount_types[] = { "bind", "volume", "tmpfs" };

/* The keys TYPES allows, for a message.  */
static char *
mount_keys_for (unsigned types)
{
  char *s = hutch_xstrdup (""), *t;
  size_t i;

  for (i = 0; i < N_MOUNT_KEYS; i++)
    if (mount_keys[i].types & types)
      {
        t = hutch_xasprintf ("%s%s%s", s, *s ? ", " : "", mount_keys[i].name);
        free (s);
        s = t;
      }
  return s;
}

/* strconv.ParseBool's words, as docker takes them; no value is true.  */
static int
mount_bool (const char *arg, const char *key, const char *value, bool *ret, hutch_error_t *err)
{
  static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
  static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };
  size_t i;

  for (i = 0; value && i < sizeof yes / sizeof yes[0]; i++)
    if (strcmp (value, yes[i]) == 0 || strcmp (value, no[i]) == 0)
      {
        *ret = strcmp (value, yes[i]) == 0;
        return 0;
      }
  if (value == NULL)
    {
      *ret = true;
      return 0;
    }
  return hutch_error_set (err, 0, "--mount `%s`: %s=`%s`: expected true or false", arg, key, value);
}

/* tmpfs-size: bytes, or a number with k, m, g or t (docker's units are
   binary, as the kernel's are), into the kernel's form.  */
static char *
tmpfs_size (const char *value)
{
  size_t n = strspn (value, "0123456789");
  const char *u = value + n;
  char unit = 0;

  if (n == 0 || n > 18)
    return NULL;
  if (*u && strchr ("kKmMgGtT", *u))
    unit = (char)tolower ((unsigned char)*u++);
  if (unit && (*u == 'i' || *u == 'I'))
    u++;
  if (*u == 'b' || *u == 'B')
    u++;
  if (*u)
    return NULL;
  return unit ? hutch_xasprintf ("%.*s%c", (int)n, value, unit) : hutch_xstrndup (value, n);
}

/* The tmpfs options of tmpfs-size and tmpfs-mode, appended to V's.  */
static int
mount_tmpfs_option (const char *arg, enum mount_key_id id, const char *value,
                    struct hutch_volume *v, hutch_error_t *err)
{
  _cleanup_free_ char *opt = NULL;
  char *t;

  if (id == MK_SIZE)
    {
      _cleanup_free_ char *size = tmpfs_size (value);
      if (size == NULL)
        return hutch_error_set (err, 0,
                                "--mount `%s`: tmpfs-size=`%s`: expected a size in bytes, or "
                                "with k, m, g or t (e.g. 64m)",
                                arg, value);
      opt = hutch_xasprintf ("size=%s", size);
    }
  else
    {
      char *end;
      unsigned long mode;
      errno = 0;
      mode = strtoul (value, &end, 8);
      if (!*value || *end || errno || mode > 07777 || strchr (value, '-'))
        return hutch_error_set (err, 0,
                                "--mount `%s`: tmpfs-mode=`%s`: expected an octal mode (e.g. 1770)",
                                arg, value);
      opt = hutch_xasprintf ("mode=%lo", mode);
    }
  t = hutch_xasprintf ("%s%s%s", v->tmpfs_options ? v->tmpfs_options : "",
                       v->tmpfs_options ? "," : "", opt);
  free (v->tmpfs_options);
  v->tmpfs_options = t;
  return 0;
}

/* One KEY=VALUE of --mount into V, for a mount of type TYPE (an index of
   mount_types); the source and the destination are kept in *SRC and *DST
   until the kind is known.  */
static int
mount_field (const char *arg, const struct mount_key *k, const char *value, size_t type,
             struct hutch_volume *v, const char **src, const char **dst, hutch_error_t *err)
{
  bool is_bool = k->id == MK_READONLY || k->id == MK_NOCOPY || k->id == MK_CHOWN;

  if (!(k->types & (1u << type)))
    {
      _cleanup_free_ char *keys = mount_keys_for (1u << type);
      return hutch_error_set (err, 0,
                              "--mount `%s`: %s does not apply to type=%s, whose keys are %s", arg,
                              k->name, mount_types[type], keys);
    }
  if (!is_bool && (value == NULL || *value == '\0'))
    return hutch_error_set (err, 0, "--mount `%s`: %s needs a value (%s=...)", arg, k->name,
                            k->name);
  switch (k->id)
    {
    case MK_TYPE:
      return 0;
    case MK_SOURCE:
      *src = value;
      return 0;
    case MK_DESTINATION:
      *dst = value;
      return 0;
    case MK_READONLY:
      return mount_bool (arg, k->name, value, &v->readonly, err);
    case MK_NOCOPY:
      return mount_bool (arg, k->name, value, &v->nocopy, err);
    case MK_CHOWN:
      return mount_bool (arg, k->name, value, &v->chown, err);
    case MK_PROPAGATION:
      v->propagation = check_propagation ("--mount", arg, value, err);
      return v->propagation ? 0 : -1;
    case MK_LABEL:
      hutch_strv_push (&v->labels, strchr (value, '=') ? hutch_xstrdup (value)
                                                       : hutch_xasprintf ("%s=", value));
      return 0;
    case MK_DRIVER:
      if (strcmp (value, "local") != 0)
        return hutch_error_set (err, 0,
                                "--mount `%s`: volume-driver=%s: hutch has the local driver only "
                                "(volumes are directories in its store)",
                                arg, value);
      return 0;
    case MK_SIZE:
    case MK_MODE:
      return mount_tmpfs_option (arg, k->id, value, v, err);
    case MK_RELABEL:
      if (strcmp (value, "shared") != 0 && strcmp (value, "private") != 0)
        return hutch_error_set (err, 0, "--mount `%s`: relabel=%s: expected shared or private", arg,
                                value);
      v->relabel = value[0] == 's' ? 'z' : 'Z';
      return 0;
    }
  return 0;
}

/* A field of --mount: KEY=VALUE, or KEY alone (VALUE NULL), split in
   place.  */
struct mount_kv
{
  const char *key, *value;
};

/* The type the fields name (docker's default: volume), as an index of
   mount_types.  */
static int
mount_type (const char *arg, const struct mount_kv *f, size_t n, size_t *ret, hutch_error_t *err)
{
  const char *type = "volume";
  size_t i;

  for (i = 0; i < n; i++)
    if (strcasecmp (f[i].key, "type") == 0 && f[i].value)
      type = f[i].value;
  for (i = 0; i < sizeof mount_types / sizeof mount_types[0]; i++)
    if (strcmp (type, mount_types[i]) == 0)
      {
        *ret = i;
        return 0;
      }
  return hutch_error_set (err, 0, "--mount `%s`: unknown type `%s`; expected bind, volume or tmpfs",
                          arg, type);
}

/* The kind and source of V, now that all of it is read.  */
static int
mount_source (const char *arg, size_t type, const char *src, const char *cwd,
              struct hutch_volume *v, hutch_error_t *err)
{
  if (type == TYPE_TMPFS)
    v->kind = HUTCH_VOLUME_TMPFS;
  else if (type == TYPE_VOLUME)
    {
      v->kind = src ? HUTCH_VOLUME_NAMED : HUTCH_VOLUME_ANONYMOUS;
      if (src && !hutch_volume_name_valid (src))
        return hutch_error_set (err, 0,
                                "--mount `%s`: source=%s is no volume name (letters, digits, `_`, "
                                "`.` and `-`, starting with a letter or digit, at least two); "
                                "for a host directory use type=bind",
                                arg, src);
      v->source = src ? hutch_xstrdup (src) : NULL;
    }
  else
    {
      v->kind = HUTCH_VOLUME_BIND;
      if (src == NULL)
        return hutch_error_set (err, 0, "--mount `%s`: type=bind needs source=PATH", arg);
      if (src[0] != '/' && src[0] != '.')
        return hutch_error_set (err, 0,
                                "--mount `%s`: source=%s must be an absolute path (or start with "
                                "`.`, from the current directory)",
                                arg, src);
      v->source = src[0] == '/' ? hutch_xstrdup (src) : hutch_xasprintf ("%s/%s", cwd, src);
    }
  return 0;
}

static const struct mount_key *
find_mount_key (const char *name)
{
  size_t i;
  for (i = 0; i < N_MOUNT_KEYS; i++)
    if (strcasecmp (name, mount_keys[i].name) == 0)
      return &mount_keys[i];
  return NULL;
}

/* Every field of ARG, checked against the keys of its type, into V.  */
static int
mount_fields (const char *arg, char **fields, struct hutch_volume *v, size_t *ret_type,
              const char **src, const char **dst, hutch_error_t *err)
{
  size_t n = hutch_strv_len (fields), i;
  _cleanup_free_ struct mount_kv *f = hutch_xmalloc0 ((n + 1) * sizeof *f);

  for (i = 0; i < n; i++)
    {
      char *eq = strchr (fields[i], '=');
      if (*fields[i] == '\0' || eq == fields[i])
        return hutch_error_set (err, 0,
                                "--mount `%s`: expected comma-separated KEY=VALUE fields, as in "
                                "type=bind,source=/srv,destination=/data",
                                arg);
      if (eq)
        *eq++ = '\0';
      f[i].key = fields[i];
      f[i].value = eq;
    }
  if (mount_type (arg, f, n, ret_type, err) < 0)
    return -1;
  for (i = 0; i < n; i++)
    {
      const struct mount_key *k = find_mount_key (f[i].key);
      if (k == NULL)
        {
          _cleanup_free_ char *keys = mount_keys_for (1u << *ret_type);
          return hutch_error_set (err, 0, "--mount `%s`: unknown key `%s`; type=%s takes %s", arg,
                                  f[i].key, mount_types[*ret_type], keys);
        }
      if (mount_field (arg, k, f[i].value, *ret_type, v, src, dst, err) < 0)
        return -1;
    }
  return 0;
}

int
hutch_parse_mount (const char *arg, const char *cwd, struct hutch_volume *ret, hutch_error_t *err)
{
  _cleanup_strv_ char **fields = NULL;
  struct hutch_volume v = { .from_mount = true };
  const char *src = NULL, *dst = NULL;
  size_t type = 0;

  memset (ret, 0, sizeof *ret);
  if (csv_fields (arg, &fields, err) < 0)
    return -1;
  if (mount_fields (arg, fields, &v, &type, &src, &dst, err) < 0
      || mount_source (arg, type, src, cwd, &v, err) < 0)
    goto fail;
  if (dst == NULL)
    {
      hutch_error_set (err, 0, "--mount `%s`: destination=PATH (or dst, target) is missing", arg);
      goto fail;
    }
  if (check_destination ("--mount", arg, dst, err) < 0
      || check_volume ("--mount", arg, &v, err) < 0)
    goto fail;
  v.destination = hutch_xstrdup (dst);
  *ret = v;
  return 0;
fail:
  hutch_volume_clear (&v);
  return -1;
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

int
hutch_parse_env_options (char *const *files, char *const *env, char ***ret, hutch_error_t *err)
{
  _cleanup_strv_ char **out = hutch_xmalloc0 (sizeof (char *));
  size_t i, k;

  for (i = 0; files && files[i]; i++)
    {
      _cleanup_free_ char *text = NULL;
      _cleanup_strv_ char **list = NULL;
      if (hutch_read_file (files[i], 16 << 20, &text, NULL, err) < 0)
        return hutch_error_prefix (err, "--env-file");
      if (hutch_parse_env_file (text, files[i], &list, err) < 0)
        return -1;
      for (k = 0; list[k]; k++)
        hutch_strv_push (&out, hutch_xstrdup (list[k]));
    }
  for (i = 0; env && env[i]; i++)
    {
      char *kv = NULL;
      if (hutch_parse_env (env[i], &kv, err) < 0)
        return -1;
      if (kv)
        hutch_strv_push (&out, kv);
    }
  *ret = HUTCH_STEAL_PTR (out);
  return 0;
}
