/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* CDI spec files read, the devices asked for found, their edits made on
   a struct hutch_spec (runtime/cdi.h).

   A spec file is data from whoever wrote the directory: /etc/cdi is
   root's, a --cdi-spec-dir may be anyone's.  Nothing here runs with more
   than the user's rights, so a spec can ask for nothing the user could
   not do by hand: its hooks run as the user, its mounts are binds of
   paths the user can reach, its device nodes are binds of the host's
   nodes (runtime/devices.c says why a bound node gives nothing the user
   lacks).  The file is parsed with bounds (its size, the depth and number
   of YAML nodes, so that an alias bomb stays small) and every field is
   checked, unknown ones refused, as the CDI spec's loaders do.

   What a rootless container cannot be given, field by field:
   - deviceNodes: the node is the host's own, bound; `type`, `major` and
     `minor`, when given, must be the host node's (nothing can make a node
     of another number); `fileMode`'s permission bits, `uid` and `gid`
     (as the container sees the node's owner) must be the node's as they
     are, or be left out, since no one can chown or chmod the host's node
     from a user namespace.  `permissions` are device cgroup rules, which
     only the host's root can set: `m` is moot (no user namespace can make
     a node), a node the user can open for more than `permissions` allow
     is refused (hutch could not take that access away), and one the user
     cannot open at all is refused (the container could not either).
   - mounts: binds only (type bind or none, or no type); a filesystem of
     another type would need its own privileges.
   - intelRdt and netDevices: refused when a device asked for has them:
     resctrl groups and moving a host interface both take the host's
     root.
   - additionalGids: as --group-add NUMBER: each must be mapped in the
     container's user namespace, and cannot be added while you keep your
     own groups (setgroups would replace them).  */

#include "runtime/cdi.h"
#include "runtime/hooks.h"
#include "runtime/idmap.h"
#include "runtime/mount.h"
#include "base/log.h"
#include "base/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <yaml.h>

/* A spec file larger than this is not one: nvidia's for eight GPUs is
   about 20 KiB.  */
#define MAX_SPEC_SIZE (4u << 20)
/* YAML: how deep, and how many nodes in all (aliases count each time). */
#define MAX_DEPTH 64
#define MAX_NODES 200000

const char *const hutch_cdi_default_dirs[] = { "/etc/cdi", "/var/run/cdi", NULL };

/* A version as one number: 1.1.0 is 10100.  */
#define CDI_VERSION_NUM(a, b, c) ((a)*10000u + (b)*100u + (c))

/* Where a YAML node was, and its text when it was a plain scalar (which
   became a number, a boolean or null): a string field takes that text,
   as `name: 0` means the device "0".  */
struct yaml_mark
{
  json_t *node;
  int line;
  char *plain;
};

struct hutch_cdi_spec
{
  char *file;
  json_t *root;
  char *kind;
  unsigned int version;
  size_t dir; /* index of its directory in the search */
  struct yaml_mark *marks;
  size_t n_marks;
};

/* ---- errors that name the file, the line and the field ---------------- */

static int
spec_line (const struct hutch_cdi_spec *s, const json_t *node)
{
  size_t i;
  for (i = 0; node && i < s->n_marks; i++)
    if (s->marks[i].node == node)
      return s->marks[i].line;
  return 0;
}

static int bad (const struct hutch_cdi_spec *s, const json_t *node, hutch_error_t *err,
                const char *fmt, ...) __attribute__ ((format (printf, 4, 5)));

static int
bad (const struct hutch_cdi_spec *s, const json_t *node, hutch_error_t *err, const char *fmt, ...)
{
  _cleanup_free_ char *msg = NULL;
  int line = spec_line (s, node);
  va_list ap;

  va_start (ap, fmt);
  msg = hutch_xvasprintf (fmt, ap);
  va_end (ap);
  if (line > 0)
    return hutch_error_set (err, 0, "CDI spec %s, line %d: %s", s->file, line, msg);
  return hutch_error_set (err, 0, "CDI spec %s: %s", s->file, msg);
}

/* V's string, or a YAML plain scalar's text.  */
static const char *
str_of (const struct hutch_cdi_spec *s, const json_t *v)
{
  size_t i;

  if (json_is_string (v))
    return json_string_value (v);
  for (i = 0; v && i < s->n_marks; i++)
    if (s->marks[i].node == v)
      return s->marks[i].plain;
  return NULL;
}

/* OBJ (at WHERE) has only the keys ALLOWED.  */
static int
check_keys (const struct hutch_cdi_spec *s, json_t *obj, const char *where,
            const char *const *allowed, hutch_error_t *err)
{
  const char *key;
  json_t *v;

  if (!json_is_object (obj))
    return bad (s, obj, err, "%s must be an object", where);
  json_object_foreach (obj, key, v)
  {
    size_t i;
    bool ok = false;
    for (i = 0; allowed[i] && !ok; i++)
      ok = strcmp (key, allowed[i]) == 0;
    if (!ok)
      {
        _cleanup_free_ char *list = NULL;
        for (i = 0; allowed[i]; i++)
          {
            char *n = hutch_xasprintf ("%s%s%s", list ? list : "", list ? ", " : "", allowed[i]);
            free (list);
            list = n;
          }
        return bad (s, v, err, "%s%s%s is not a field of CDI (%s has %s)", where, *where ? "." : "",
                    key, *where ? where : "a spec", list);
      }
  }
  return 0;
}

/* ---- names ----------------------------------------------------------- */

static bool
is_alnum (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool
is_letter (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* What is wrong with S as a vendor or class (a letter first, a letter or
   digit last, and letters, digits, `_`, `-` and `.` between), or NULL.  */
static const char *
vendor_class_problem (const char *s, size_t n)
{
  size_t i;

  if (n == 0)
    return "is empty";
  if (!is_letter (s[0]))
    return "must start with a letter";
  if (!is_alnum (s[n - 1]))
    return "must end with a letter or a digit";
  for (i = 1; i + 1 < n; i++)
    if (!is_alnum (s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
      return "may hold only letters, digits, `_`, `-` and `.`";
  return NULL;
}

/* The same for a device's name: a letter or digit first and last, and
   `:` allowed between too.  */
static const char *
device_name_problem (const char *s)
{
  size_t n = strlen (s), i;

  if (n == 0)
    return "is empty";
  if (!is_alnum (s[0]) || !is_alnum (s[n - 1]))
    return "must start and end with a letter or a digit";
  for (i = 1; i + 1 < n; i++)
    if (!is_alnum (s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.' && s[i] != ':')
      return "may hold only letters, digits, `_`, `-`, `.` and `:`";
  return NULL;
}

/* KIND (VENDOR/CLASS) is well formed; *RET_WHAT says what is not.  */
static bool
kind_ok (const char *kind, const char **ret_what, const char **ret_problem)
{
  const char *slash = strchr (kind, '/');

  if (slash == NULL)
    {
      *ret_what = "kind";
      *ret_problem = "needs a `/` between VENDOR and CLASS (vendor.com/class)";
      return false;
    }
  *ret_what = "vendor";
  if ((*ret_problem = vendor_class_problem (kind, (size_t)(slash - kind))) != NULL)
    return false;
  *ret_what = "class";
  return (*ret_problem = vendor_class_problem (slash + 1, strlen (slash + 1))) == NULL;
}

bool
hutch_cdi_is_name (const char *value)
{
  return value && value[0] != '/' && strchr (value, '=') != NULL;
}

int
hutch_cdi_parse_name (const char *value, char **ret_kind, char **ret_name, hutch_error_t *err)
{
  const char *eq = strchr (value, '='), *what, *problem;
  _cleanup_free_ char *kind = NULL;

  if (eq == NULL)
    return hutch_error_set (err, 0, "--device `%s`: a CDI device is named VENDOR/CLASS=NAME",
                            value);
  kind = hutch_xstrndup (value, (size_t)(eq - value));
  if (!kind_ok (kind, &what, &problem))
    {
      const char *slash = strchr (kind, '/');
      _cleanup_free_ char *part = strcmp (what, "vendor") == 0
                                      ? hutch_xstrndup (kind, (size_t)(slash - kind))
                                  : strcmp (what, "class") == 0 ? hutch_xstrdup (slash + 1)
                                                                : hutch_xstrdup (kind);
      return hutch_error_set (err, 0,
                              "--device `%s`: not a CDI device name (VENDOR/CLASS=NAME, as "
                              "nvidia.com/gpu=0): its %s `%s` %s",
                              value, what, part, problem);
    }
  if ((problem = device_name_problem (eq + 1)) != NULL)
    return hutch_error_set (err, 0,
                            "--device `%s`: not a CDI device name (VENDOR/CLASS=NAME, as "
                            "nvidia.com/gpu=0): its NAME `%s` %s",
                            value, eq + 1, problem);
  *ret_kind = HUTCH_STEAL_PTR (kind);
  *ret_name = hutch_xstrdup (eq + 1);
  return 0;
}

/* ---- reading a file: JSON, or YAML into the same tree ----------------- */

static void
mark (struct hutch_cdi_spec *s, json_t *node, int line, const char *plain)
{
  s->marks = hutch_xrealloc (s->marks, (s->n_marks + 1) * sizeof *s->marks);
  s->marks[s->n_marks].node = node;
  s->marks[s->n_marks].line = line;
  s->marks[s->n_marks].plain = plain ? hutch_xstrdup (plain) : NULL;
  s->n_marks++;
}

/* A plain YAML scalar as YAML 1.1 reads it (what the CDI loaders use):
   null, a boolean, an integer (0644 is octal, as a file mode is written),
   a float, else a string.  */
static json_t *
yaml_plain (const char *t)
{
  static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
  static const char *const trues[]
      = { "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON" };
  static const char *const falses[]
      = { "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF" };
  size_t i;
  char *end;

  for (i = 0; i < sizeof nulls / sizeof *nulls; i++)
    if (strcmp (t, nulls[i]) == 0)
      return json_null ();
  for (i = 0; i < sizeof trues / sizeof *trues; i++)
    if (strcmp (t, trues[i]) == 0)
      return json_true ();
  for (i = 0; i < sizeof falses / sizeof *falses; i++)
    if (strcmp (t, falses[i]) == 0)
      return json_false ();
  if ((t[0] >= '0' && t[0] <= '9') || ((t[0] == '-' || t[0] == '+') && t[1] >= '0' && t[1] <= '9'))
    {
      const char *d = t + (t[0] == '-' || t[0] == '+');
      int base = 10;
      long long v;

      if (d[0] == '0' && (d[1] == 'x' || d[1] == 'X'))
        base = 16, d += 2;
      else if (d[0] == '0' && d[1] == 'o')
        base = 8, d += 2;
      else if (d[0] == '0' && d[1])
        base = 8, d += 1;
      errno = 0;
      v = strtoll (d, &end, base);
      if (errno == 0 && *end == '\0' && end != d)
        return json_integer (t[0] == '-' ? -v : v);
      errno = 0;
      {
        double f = strtod (t, &end);
        if (errno == 0 && *end == '\0')
          return json_real (f);
      }
    }
  return json_string (t);
}

static json_t *
yaml_node_json (struct hutch_cdi_spec *s, yaml_document_t *doc, yaml_node_t *n, int depth,
                size_t *budget, hutch_error_t *err)
{
  int line = (int)n->start_mark.line + 1;
  json_t *j = NULL;

  if (depth > MAX_DEPTH || ++*budget > MAX_NODES)
    {
      hutch_error_set (err, 0, "CDI spec %s, line %d: nested too deep, or too many nodes (%s)",
                       s->file, line, depth > MAX_DEPTH ? "more than 64 levels" : "aliases?");
      return NULL;
    }
  switch (n->type)
    {
    case YAML_SCALAR_NODE:
      {
        const char *t = (const char *)n->data.scalar.value;
        if (strlen (t) != n->data.scalar.length)
          {
            hutch_error_set (err, 0, "CDI spec %s, line %d: a NUL byte in a string", s->file, line);
            return NULL;
          }
        if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE
            && strcmp ((const char *)n->tag, YAML_STR_TAG) == 0)
          {
            j = yaml_plain (t);
            mark (s, j, line, json_is_string (j) ? NULL : t);
            return j;
          }
        j = json_string (t);
        if (j == NULL)
          hutch_error_set (err, 0, "CDI spec %s, line %d: a string that is not UTF-8", s->file,
                           line);
        else
          mark (s, j, line, NULL);
        return j;
      }
    case YAML_SEQUENCE_NODE:
      {
        yaml_node_item_t *it;
        j = json_array ();
        mark (s, j, line, NULL);
        for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++)
          {
            json_t *c = yaml_node_json (s, doc, yaml_document_get_node (doc, *it), depth + 1,
                                        budget, err);
            if (c == NULL)
              {
                json_decref (j);
                return NULL;
              }
            json_array_append_new (j, c);
          }
        return j;
      }
    case YAML_MAPPING_NODE:
      {
        yaml_node_pair_t *p;
        j = json_object ();
        mark (s, j, line, NULL);
        for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++)
          {
            yaml_node_t *k = yaml_document_get_node (doc, p->key);
            const char *key;
            json_t *c;

            if (k == NULL || k->type != YAML_SCALAR_NODE)
              {
                hutch_error_set (err, 0, "CDI spec %s, line %d: a key that is not a string",
                                 s->file, k ? (int)k->start_mark.line + 1 : line);
                json_decref (j);
                return NULL;
              }
            key = (const char *)k->data.scalar.value;
            if (json_object_get (j, key) != NULL)
              {
                hutch_error_set (err, 0, "CDI spec %s, line %d: `%s` is there twice", s->file,
                                 (int)k->start_mark.line + 1, key);
                json_decref (j);
                return NULL;
              }
            c = yaml_node_json (s, doc, yaml_document_get_node (doc, p->value), depth + 1, budget,
                                err);
            if (c == NULL)
              {
                json_decref (j);
                return NULL;
              }
            json_object_set_new (j, key, c);
          }
        return j;
      }
    default:
      hutch_error_set (err, 0, "CDI spec %s, line %d: empty YAML node", s->file, line);
      return NULL;
    }
}

static json_t *
load_yaml (struct hutch_cdi_spec *s, const char *text, size_t len, hutch_error_t *err)
{
  yaml_parser_t parser;
  yaml_document_t doc;
  yaml_node_t *root;
  json_t *j = NULL;
  size_t budget = 0;

  if (!yaml_parser_initialize (&parser))
    {
      hutch_error_set (err, ENOMEM, "CDI spec %s: YAML parser", s->file);
      return NULL;
    }
  yaml_parser_set_input_string (&parser, (const unsigned char *)text, len);
  if (!yaml_parser_load (&parser, &doc))
    {
      hutch_error_set (err, 0, "CDI spec %s, line %d: not YAML: %s%s%s", s->file,
                       (int)parser.problem_mark.line + 1,
                       parser.problem ? parser.problem : "unreadable", parser.context ? " " : "",
                       parser.context ? parser.context : "");
      yaml_parser_delete (&parser);
      return NULL;
    }
  root = yaml_document_get_root_node (&doc);
  if (root == NULL)
    hutch_error_set (err, 0, "CDI spec %s: empty", s->file);
  else
    j = yaml_node_json (s, &doc, root, 0, &budget, err);
  yaml_document_delete (&doc);
  yaml_parser_delete (&parser);
  return j;
}

static bool
has_suffix (const char *s, const char *suffix)
{
  size_t n = strlen (s), m = strlen (suffix);
  return n >= m && strcmp (s + n - m, suffix) == 0;
}

static bool
is_yaml_name (const char *file)
{
  return has_suffix (file, ".yaml") || has_suffix (file, ".yml");
}

/* ---- checking a spec, and applying its edits ------------------------- */

/* One walk over a containerEdits object: with SPEC NULL it only checks
   the fields (the parse), else it also makes the edits (apply).  */
struct walk
{
  const struct hutch_cdi_spec *s;
  struct hutch_spec *spec;
  size_t first_mount; /* the mounts CDI added start here */
  unsigned int need;  /* the cdiVersion its fields need */
  const char *need_why;
};

static void
needs (struct walk *w, unsigned int version, const char *why)
{
  if (version > w->need)
    {
      w->need = version;
      w->need_why = why;
    }
}

/* V (at WHERE) as an array of strings into *RET (when not NULL); ENV:
   each is NAME=VALUE.  */
static int
strings (struct walk *w, json_t *v, const char *where, bool env, char ***ret, hutch_error_t *err)
{
  _cleanup_strv_ char **list = hutch_xmalloc0 (sizeof (char *));
  json_t *item;
  size_t i;

  if (v != NULL && !json_is_null (v))
    {
      if (!json_is_array (v))
        return bad (w->s, v, err, "%s must be a list of strings", where);
      json_array_foreach (v, i, item)
      {
        const char *t = str_of (w->s, item);
        if (t == NULL)
          return bad (w->s, item, err, "%s[%zu] must be a string", where, i);
        if (env && (strchr (t, '=') == NULL || t[0] == '='))
          return bad (w->s, item, err, "%s[%zu] (`%s`) must be NAME=VALUE", where, i, t);
        hutch_strv_push (&list, hutch_xstrdup (t));
      }
    }
  if (ret)
    *ret = HUTCH_STEAL_PTR (list);
  return 0;
}

/* An optional whole number of V (at WHERE.KEY) from MIN to MAX: 1 when
   there, 0 when not.  */
static int
number (struct walk *w, json_t *obj, const char *where, const char *key, long long min,
        long long max, long long *ret, hutch_error_t *err)
{
  json_t *v = json_object_get (obj, key);

  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_integer (v) || json_integer_value (v) < min || json_integer_value (v) > max)
    return bad (w->s, v, err, "%s.%s must be a whole number from %lld to %lld", where, key, min,
                max);
  *ret = json_integer_value (v);
  return 1;
}

/* An optional string of OBJ: its value, NULL when absent; *BADP set when
   it is there but not a string.  */
static const char *
opt_str (struct walk *w, json_t *obj, const char *key, bool *badp)
{
  json_t *v = json_object_get (obj, key);
  const char *t;

  if (v == NULL || json_is_null (v))
    return NULL;
  t = str_of (w->s, v);
  if (t == NULL)
    *badp = true;
  return t;
}

/* The id that host id ID has in the container's user namespace (the
   overflow id, 65534, when it is not mapped there).  */
static unsigned long
inside_id (const struct hutch_spec *spec, bool gid, unsigned long id)
{
  const struct hutch_idmap *m = gid ? spec->gid_mappings : spec->uid_mappings;
  size_t n = gid ? spec->n_gid_mappings : spec->n_uid_mappings, i;

  if (!spec->ns[HUTCH_NS_USER])
    return id;
  for (i = 0; i < n; i++)
    if (id >= m[i].host_id && id - m[i].host_id < m[i].size)
      return m[i].container_id + (id - m[i].host_id);
  return 65534;
}

static void
device_replace (struct hutch_spec *spec, const struct hutch_device *d)
{
  size_t i;

  for (i = 0; i < spec->n_devices; i++)
    if (strcmp (spec->devices[i].path, d->path) == 0)
      {
        free (spec->devices[i].path);
        free (spec->devices[i].host_path);
        spec->devices[i] = *d;
        return;
      }
  spec->devices = hutch_xrealloc (spec->devices, (spec->n_devices + 1) * sizeof *spec->devices);
  spec->devices[spec->n_devices++] = *d;
}

/* A deviceNode on this host: the node the user can open, bound.  */
static int
node_apply (struct walk *w, json_t *o, const char *where, const char *path, const char *host,
            const char *type, const char *perms, hutch_error_t *err)
{
  long long major = -1, minor = -1, mode = -1, uid = -1, gid = -1;
  bool pr = true, pw = true, r, wr;
  struct hutch_device d = { 0 };
  _cleanup_free_ char *real = NULL;
  struct stat st;

  /* checked already by the parse */
  number (w, o, where, "major", 0, UINT_MAX, &major, err);
  number (w, o, where, "minor", 0, UINT_MAX, &minor, err);
  number (w, o, where, "fileMode", 0, UINT_MAX, &mode, err);
  number (w, o, where, "uid", 0, UINT_MAX, &uid, err);
  number (w, o, where, "gid", 0, UINT_MAX, &gid, err);
  real = realpath (host, NULL);
  if (real == NULL || stat (real, &st) < 0)
    return bad (w->s, o, err,
                "%s: %s %s on this host; the device may be absent or its driver not loaded "
                "(the spec's vendor tool writes it again when the devices change)",
                where, host, errno == ENOENT ? "does not exist" : strerror (errno));
  if (!S_ISCHR (st.st_mode) && !S_ISBLK (st.st_mode))
    return bad (w->s, o, err,
                "%s: %s is not a character or block device on this host, and a rootless "
                "container can only be given the host's own device nodes",
                where, host);
  if (type
      && (((type[0] == 'c' || type[0] == 'u') && !S_ISCHR (st.st_mode))
          || (type[0] == 'b' && !S_ISBLK (st.st_mode))))
    return bad (w->s, o, err, "%s: type `%s`, but %s is a %s device on this host", where, type,
                host, S_ISBLK (st.st_mode) ? "block" : "character");
  if ((major >= 0 && (unsigned long)major != major (st.st_rdev))
      || (minor >= 0 && (unsigned long)minor != minor (st.st_rdev)))
    return bad (w->s, o, err,
                "%s: device %lld:%lld, but %s is %u:%u on this host; a rootless container "
                "cannot make a node, only bind the host's (fix the spec, or leave major and "
                "minor out)",
                where, major >= 0 ? major : (long long)major (st.st_rdev),
                minor >= 0 ? minor : (long long)minor (st.st_rdev), host, major (st.st_rdev),
                minor (st.st_rdev));
  /* fileMode is Go's os.FileMode: its permission bits are the kernel's;
     the type is said by `type`.  */
  if (mode >= 0 && (unsigned)(mode & 0777) != (st.st_mode & 0777))
    return bad (w->s, o, err,
                "%s: fileMode %04llo, but %s has mode %04o on this host, which a rootless "
                "container cannot change (it binds the host's node); leave fileMode out",
                where, mode & 0777, host, (unsigned)(st.st_mode & 0777));
  if (uid >= 0 && (unsigned long)uid != inside_id (w->spec, false, st.st_uid))
    return bad (w->s, o, err,
                "%s: uid %lld, but %s belongs to uid %u on the host, which is %lu in the "
                "container, and a rootless container cannot chown the host's node; leave uid "
                "out",
                where, uid, host, (unsigned)st.st_uid, inside_id (w->spec, false, st.st_uid));
  if (gid >= 0 && (unsigned long)gid != inside_id (w->spec, true, st.st_gid))
    return bad (w->s, o, err,
                "%s: gid %lld, but %s belongs to gid %u on the host, which is %lu in the "
                "container, and a rootless container cannot chown the host's node; leave gid "
                "out",
                where, gid, host, (unsigned)st.st_gid, inside_id (w->spec, true, st.st_gid));
  /* permissions: the device cgroup's rule (empty: rwm, "none": nothing).  */
  if (perms && *perms)
    {
      pr = strcmp (perms, "none") != 0 && strchr (perms, 'r') != NULL;
      pw = strcmp (perms, "none") != 0 && strchr (perms, 'w') != NULL;
    }
  r = faccessat (AT_FDCWD, real, R_OK, AT_EACCESS) == 0;
  wr = faccessat (AT_FDCWD, real, W_OK, AT_EACCESS) == 0;
  if (!r && !wr)
    return bad (w->s, o, err,
                "%s: you cannot open %s on the host (mode %04o, owner %u, group %u), so the "
                "container could not either; an administrator can give you access (for "
                "example, membership of group %u)",
                where, host, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
                (unsigned)st.st_gid, (unsigned)st.st_gid);
  if ((r && !pr) || (wr && !pw))
    return bad (w->s, o, err,
                "%s: permissions `%s` leave out %s, but you can open %s for it on the host, and "
                "hutch cannot take that away (a device cgroup rule needs the host's root); "
                "the spec must allow %s",
                where, perms, r && !pr ? "reading" : "writing", host,
                r && wr ? "rw"
                : r     ? "r"
                        : "w");
  d.path = hutch_xstrdup (path);
  d.host_path = HUTCH_STEAL_PTR (real);
  d.type = S_ISBLK (st.st_mode) ? 'b' : 'c';
  d.major = major (st.st_rdev);
  d.minor = minor (st.st_rdev);
  d.read = r;
  d.write = wr;
  device_replace (w->spec, &d);
  return 0;
}

static int
walk_node (struct walk *w, json_t *o, const char *where, hutch_error_t *err)
{
  static const char *const keys[] = { "path",     "hostPath",    "type", "major", "minor",
                                      "fileMode", "permissions", "uid",  "gid",   NULL };
  const char *path, *host, *type, *perms;
  bool badstr = false;
  long long ignored;
  size_t i;

  if (check_keys (w->s, o, where, keys, err) < 0)
    return -1;
  path = opt_str (w, o, "path", &badstr);
  if (path == NULL || path[0] != '/')
    return bad (w->s, o, err, "%s.path must be an absolute path (the node in the container)",
                where);
  host = opt_str (w, o, "hostPath", &badstr);
  type = opt_str (w, o, "type", &badstr);
  perms = opt_str (w, o, "permissions", &badstr);
  if (badstr)
    return bad (w->s, o, err, "%s: hostPath, type and permissions must be strings", where);
  if (host && *host)
    needs (w, CDI_VERSION_NUM (0, 5, 0), "deviceNodes' hostPath");
  if (host && *host && host[0] != '/')
    return bad (w->s, o, err, "%s.hostPath must be an absolute path", where);
  if (type && *type && strcmp (type, "c") && strcmp (type, "u") && strcmp (type, "b")
      && strcmp (type, "p"))
    return bad (w->s, o, err, "%s.type `%s`: expected c, u, b or p", where, type);
  if (type && strcmp (type, "p") == 0)
    return bad (w->s, o, err,
                "%s: type p (a FIFO) is not a device node that hutch can bind into a "
                "container",
                where);
  for (i = 0; perms && strcmp (perms, "none") != 0 && perms[i]; i++)
    if (!strchr ("rwm", perms[i]))
      return bad (w->s, o, err, "%s.permissions `%s`: expected r, w and m, or none", where, perms);
  if (number (w, o, where, "major", 0, UINT_MAX, &ignored, err) < 0
      || number (w, o, where, "minor", 0, UINT_MAX, &ignored, err) < 0
      || number (w, o, where, "fileMode", 0, UINT_MAX, &ignored, err) < 0
      || number (w, o, where, "uid", 0, UINT_MAX, &ignored, err) < 0
      || number (w, o, where, "gid", 0, UINT_MAX, &ignored, err) < 0)
    return -1;
  if (w->spec == NULL)
    return 0;
  return node_apply (w, o, where, path, host && *host ? host : path, type && *type ? type : NULL,
                     perms, err);
}

static size_t
path_depth (const char *p)
{
  size_t n = 0;
  for (; *p; p++)
    n += *p == '/' && p[1] && p[1] != '/';
  return n;
}

static void
mount_clear (struct hutch_mount *m)
{
  free (m->destination);
  free (m->type);
  free (m->source);
  hutch_strv_free (m->options);
}

static int
walk_mount (struct walk *w, json_t *o, const char *where, hutch_error_t *err)
{
  static const char *const keys[] = { "hostPath", "containerPath", "type", "options", NULL };
  _cleanup_strv_ char **opts = NULL, **known = NULL;
  const char *host, *dest, *type;
  bool badstr = false;
  struct hutch_mount m = { 0 };
  struct stat st;
  size_t i, k;

  if (check_keys (w->s, o, where, keys, err) < 0)
    return -1;
  host = opt_str (w, o, "hostPath", &badstr);
  dest = opt_str (w, o, "containerPath", &badstr);
  type = opt_str (w, o, "type", &badstr);
  if (badstr || host == NULL || dest == NULL)
    return bad (w->s, o, err, "%s needs hostPath and containerPath, strings", where);
  if (host[0] != '/' || dest[0] != '/')
    return bad (w->s, o, err, "%s: hostPath and containerPath must be absolute paths", where);
  if (type && *type)
    needs (w, CDI_VERSION_NUM (0, 4, 0), "mounts' type");
  if (type && *type && strcmp (type, "bind") && strcmp (type, "none"))
    return bad (w->s, o, err,
                "%s: type `%s`: hutch gives a container only bind mounts from a CDI spec (a "
                "filesystem of its own would need privileges the user lacks); use type bind",
                where, type);
  _cleanup_free_ char *ow = hutch_xasprintf ("%s.options", where);
  if (strings (w, json_object_get (o, "options"), ow, false, &opts, err) < 0)
    return -1;
  known = hutch_mount_option_names ();
  for (i = 0; opts[i]; i++)
    {
      bool ok = strcmp (opts[i], "defaults") == 0;
      for (k = 0; known[k] && !ok; k++)
        ok = strcmp (opts[i], known[k]) == 0;
      if (!ok)
        return bad (w->s, o, err,
                    "%s: option `%s` is not one of a bind mount (ro, rw, nosuid, nodev, noexec, "
                    "bind, rbind, their recursive forms rro..., a propagation)",
                    where, opts[i]);
    }
  if (w->spec == NULL)
    return 0;
  if (stat (host, &st) < 0)
    return bad (w->s, o, err, "%s: %s %s on this host", where, host,
                errno == ENOENT ? "does not exist" : strerror (errno));
  /* A later CDI mount at the same place replaces an earlier one, as the
     CDI library does; the mounts of the run's own options stay, and are
     covered.  */
  for (i = w->first_mount; i < w->spec->n_mounts; i++)
    if (strcmp (w->spec->mounts[i].destination, dest) == 0)
      {
        mount_clear (&w->spec->mounts[i]);
        memmove (&w->spec->mounts[i], &w->spec->mounts[i + 1],
                 (w->spec->n_mounts - i - 1) * sizeof *w->spec->mounts);
        w->spec->n_mounts--;
        break;
      }
  m.destination = hutch_xstrdup (dest);
  m.type = hutch_xstrdup ("bind");
  m.source = hutch_xstrdup (host);
  m.options = HUTCH_STEAL_PTR (opts);
  w->spec->mounts
      = hutch_xrealloc (w->spec->mounts, (w->spec->n_mounts + 1) * sizeof *w->spec->mounts);
  /* Kept sorted by depth among CDI's own, so that /a comes before /a/b
     whatever the spec's order.  */
  for (i = w->spec->n_mounts;
       i > w->first_mount && path_depth (w->spec->mounts[i - 1].destination) > path_depth (dest);
       i--)
    w->spec->mounts[i] = w->spec->mounts[i - 1];
  w->spec->mounts[i] = m;
  w->spec->n_mounts++;
  return 0;
}

static int
walk_hook (struct walk *w, json_t *o, const char *where, hutch_error_t *err)
{
  static const char *const keys[] = { "hookName", "path", "args", "env", "timeout", NULL };
  _cleanup_free_ char *sub = NULL;
  _cleanup_strv_ char **args = NULL, **env = NULL;
  const char *name, *path;
  bool badstr = false;
  long long timeout = 0;
  int kind;
  struct hutch_hook_list *l;

  if (check_keys (w->s, o, where, keys, err) < 0)
    return -1;
  name = opt_str (w, o, "hookName", &badstr);
  path = opt_str (w, o, "path", &badstr);
  if (badstr || name == NULL || path == NULL)
    return bad (w->s, o, err, "%s needs hookName and path, strings", where);
  for (kind = 0; kind < HUTCH_HOOK_COUNT; kind++)
    if (strcmp (name, hutch_hook_kind_name (kind)) == 0)
      break;
  if (kind == HUTCH_HOOK_COUNT)
    return bad (w->s, o, err,
                "%s.hookName `%s`: expected prestart, createRuntime, createContainer, "
                "startContainer, poststart or poststop",
                where, name);
  if (path[0] != '/')
    return bad (w->s, o, err, "%s.path (`%s`) must be an absolute path", where, path);
  sub = hutch_xasprintf ("%s.args", where);
  if (strings (w, json_object_get (o, "args"), sub, false, &args, err) < 0)
    return -1;
  free (sub);
  sub = hutch_xasprintf ("%s.env", where);
  if (strings (w, json_object_get (o, "env"), sub, true, &env, err) < 0
      || number (w, o, where, "timeout", 1, INT_MAX, &timeout, err) < 0)
    return -1;
  if (w->spec == NULL)
    return 0;
  /* createContainer and startContainer hooks may be the container's own
     programs; the others must be the host's, and there now.  */
  if ((kind != HUTCH_HOOK_CREATE_CONTAINER && kind != HUTCH_HOOK_START_CONTAINER)
      && access (path, X_OK) < 0)
    return bad (w->s, o, err, "%s: the %s hook %s %s on this host", where, name, path,
                errno == ENOENT ? "does not exist" : "cannot be run");
  if (w->spec->hooks == NULL)
    w->spec->hooks = hutch_xmalloc0 (sizeof *w->spec->hooks);
  l = &w->spec->hooks->kind[kind];
  l->hooks = hutch_xrealloc (l->hooks, (l->n + 1) * sizeof *l->hooks);
  l->hooks[l->n].path = hutch_xstrdup (path);
  l->hooks[l->n].args = HUTCH_STEAL_PTR (args);
  l->hooks[l->n].env = HUTCH_STEAL_PTR (env);
  l->hooks[l->n].timeout = (int)timeout;
  l->n++;
  return 0;
}

static int
add_gid (struct walk *w, json_t *v, const char *where, unsigned int gid, hutch_error_t *err)
{
  struct hutch_spec *spec = w->spec;
  size_t k;

  if (gid == 0 || gid == spec->gid)
    return 0;
  for (k = 0; k < spec->n_additional_gids; k++)
    if (spec->additional_gids[k] == gid)
      return 0;
  if (spec->extra.keep_groups)
    return bad (w->s, v, err,
                "%s: group %u cannot be added while the container keeps your own groups "
                "(keep-id, or --group-add keep-groups): setgroups would drop yours; give "
                "--group-add with a group instead",
                where, gid);
  if (spec->ns[HUTCH_NS_USER]
      && !hutch_idmap_contains (spec->gid_mappings, spec->n_gid_mappings, gid))
    return bad (w->s, v, err,
                "%s: group %u is not mapped in the container's user namespace, so the "
                "container's process cannot have it (a subordinate gid range gives one more "
                "groups; see --userns)",
                where, gid);
  spec->additional_gids
      = hutch_xrealloc (spec->additional_gids, (spec->n_additional_gids + 1) * sizeof (unsigned));
  spec->additional_gids[spec->n_additional_gids++] = gid;
  return 0;
}

/* A containerEdits object (at WHERE).  */
static int
walk_edits (struct walk *w, json_t *e, const char *where, hutch_error_t *err)
{
  static const char *const keys[] = {
    "env", "deviceNodes", "mounts", "hooks", "additionalGids", "intelRdt", "netDevices", NULL
  };
  static const struct
  {
    const char *key;
    int (*fn) (struct walk *, json_t *, const char *, hutch_error_t *);
  } lists[] = { { "deviceNodes", walk_node }, { "mounts", walk_mount }, { "hooks", walk_hook } };
  _cleanup_strv_ char **env = NULL;
  _cleanup_free_ char *sub = NULL;
  json_t *v, *item;
  size_t i, k;

  if (check_keys (w->s, e, where, keys, err) < 0)
    return -1;
  sub = hutch_xasprintf ("%s.env", where);
  if (strings (w, json_object_get (e, "env"), sub, true, &env, err) < 0)
    return -1;
  for (k = 0; k < sizeof lists / sizeof *lists; k++)
    {
      v = json_object_get (e, lists[k].key);
      if (v == NULL || json_is_null (v))
        continue;
      if (!json_is_array (v))
        return bad (w->s, v, err, "%s.%s must be a list", where, lists[k].key);
      json_array_foreach (v, i, item)
      {
        _cleanup_free_ char *at = hutch_xasprintf ("%s.%s[%zu]", where, lists[k].key, i);
        if (lists[k].fn (w, item, at, err) < 0)
          return -1;
      }
    }
  v = json_object_get (e, "additionalGids");
  if (v && !json_is_null (v))
    {
      needs (w, CDI_VERSION_NUM (0, 7, 0), "additionalGids");
      if (!json_is_array (v))
        return bad (w->s, v, err, "%s.additionalGids must be a list of numbers", where);
      json_array_foreach (v, i, item)
      {
        if (!json_is_integer (item) || json_integer_value (item) < 0
            || json_integer_value (item) > UINT_MAX)
          return bad (w->s, item, err, "%s.additionalGids[%zu] must be a group number", where, i);
        if (w->spec && add_gid (w, item, where, (unsigned int)json_integer_value (item), err) < 0)
          return -1;
      }
    }
  v = json_object_get (e, "intelRdt");
  if (v && !json_is_null (v))
    {
      if (!json_is_object (v))
        return bad (w->s, v, err, "%s.intelRdt must be an object", where);
      needs (w, CDI_VERSION_NUM (0, 7, 0), "intelRdt");
      if (json_object_get (v, "schemata") || json_object_get (v, "enableMonitoring"))
        needs (w, CDI_VERSION_NUM (1, 1, 0), "intelRdt's schemata or enableMonitoring");
      if (w->spec)
        return bad (w->s, v, err,
                    "%s.intelRdt: a resctrl group takes the host's root to make, which a "
                    "rootless container does not have; ask for a device without intelRdt",
                    where);
    }
  v = json_object_get (e, "netDevices");
  if (v && !json_is_null (v))
    {
      if (!json_is_array (v))
        return bad (w->s, v, err, "%s.netDevices must be a list", where);
      needs (w, CDI_VERSION_NUM (1, 1, 0), "netDevices");
      if (w->spec && json_array_size (v) > 0)
        return bad (w->s, v, err,
                    "%s.netDevices: moving a host network interface into the container takes "
                    "the host's root (CAP_NET_ADMIN of the host), which a rootless container "
                    "does not have",
                    where);
    }
  for (i = 0; w->spec && env[i]; i++)
    hutch_spec_setenv (w->spec, env[i]);
  return 0;
}

static int
check_annotations (struct walk *w, json_t *v, const char *where, hutch_error_t *err)
{
  const char *key;
  json_t *item;

  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_object (v))
    return bad (w->s, v, err, "%s must be an object of strings", where);
  if (json_object_size (v) > 0)
    needs (w, CDI_VERSION_NUM (0, 6, 0), "annotations");
  json_object_foreach (v, key, item)
  {
    if (str_of (w->s, item) == NULL)
      return bad (w->s, item, err, "%s.%s must be a string", where, key);
  }
  return 0;
}

/* "X.Y.Z" (a leading v allowed, as the CDI library writes it) as one
   number, or 0.  */
static unsigned int
parse_version (const char *t)
{
  unsigned int v[3] = { 0 }, i;
  char *end;

  if (t[0] == 'v')
    t++;
  for (i = 0; i < 3; i++)
    {
      unsigned long n;
      if (*t < '0' || *t > '9')
        return 0;
      errno = 0;
      n = strtoul (t, &end, 10);
      if (errno || n > 99)
        return 0;
      v[i] = (unsigned int)n;
      t = end;
      if (i < 2 && *t++ != '.')
        return 0;
    }
  return *t == '\0' || *t == '-' || *t == '+' ? CDI_VERSION_NUM (v[0], v[1], v[2]) : 0;
}

static int
check_spec (struct hutch_cdi_spec *s, hutch_error_t *err)
{
  static const char *const keys[]
      = { "cdiVersion", "kind", "annotations", "devices", "containerEdits", NULL };
  static const char *const dkeys[] = { "name", "annotations", "containerEdits", NULL };
  struct walk w = { .s = s };
  const char *ver, *what, *problem;
  json_t *devs, *d, *e;
  size_t i, j;

  if (check_keys (s, s->root, "", keys, err) < 0)
    return -1;
  ver = str_of (s, json_object_get (s->root, "cdiVersion"));
  if (ver == NULL)
    return bad (s, s->root, err, "cdiVersion is missing (e.g. \"cdiVersion\": \"%s\")",
                HUTCH_CDI_VERSION);
  s->version = parse_version (ver);
  if (s->version == 0)
    return bad (s, json_object_get (s->root, "cdiVersion"), err,
                "cdiVersion `%s` is not a version (MAJOR.MINOR.PATCH)", ver);
  if (s->version / 100 > parse_version (HUTCH_CDI_VERSION) / 100)
    return bad (s, json_object_get (s->root, "cdiVersion"), err,
                "cdiVersion %s is newer than hutch reads (up to %s): update hutch, or have the "
                "vendor's tool write the spec for cdiVersion %s",
                ver, HUTCH_CDI_VERSION, HUTCH_CDI_VERSION);
  if (s->version < parse_version (HUTCH_CDI_VERSION_OLDEST))
    return bad (s, json_object_get (s->root, "cdiVersion"), err,
                "cdiVersion %s is older than hutch reads (from %s, the first with "
                "containerEdits): have the vendor's tool write the spec again",
                ver, HUTCH_CDI_VERSION_OLDEST);
  if (s->kind == NULL)
    return bad (s, s->root, err, "kind is missing (VENDOR/CLASS, as nvidia.com/gpu)");
  if (!kind_ok (s->kind, &what, &problem))
    return bad (s, json_object_get (s->root, "kind"), err, "kind `%s`: its %s %s", s->kind, what,
                problem);
  if (strchr (strchr (s->kind, '/') + 1, '.'))
    needs (&w, CDI_VERSION_NUM (0, 6, 0), "a `.` in the kind's class");
  if (check_annotations (&w, json_object_get (s->root, "annotations"), "annotations", err) < 0)
    return -1;
  e = json_object_get (s->root, "containerEdits");
  if (e && !json_is_null (e) && walk_edits (&w, e, "containerEdits", err) < 0)
    return -1;
  devs = json_object_get (s->root, "devices");
  if (!json_is_array (devs) || json_array_size (devs) == 0)
    return bad (s, devs ? devs : s->root, err, "devices must be a list of at least one device");
  json_array_foreach (devs, i, d)
  {
    _cleanup_free_ char *at = hutch_xasprintf ("devices[%zu]", i);
    _cleanup_free_ char *eat = hutch_xasprintf ("devices[%zu].containerEdits", i);
    const char *name;

    if (check_keys (s, d, at, dkeys, err) < 0)
      return -1;
    name = str_of (s, json_object_get (d, "name"));
    if (name == NULL)
      return bad (s, d, err, "%s.name is missing", at);
    if ((problem = device_name_problem (name)) != NULL)
      return bad (s, json_object_get (d, "name"), err, "%s.name `%s` %s", at, name, problem);
    if (name[0] >= '0' && name[0] <= '9')
      needs (&w, CDI_VERSION_NUM (0, 5, 0), "a device name that starts with a digit");
    for (j = 0; j < i; j++)
      if (strcmp (str_of (s, json_object_get (json_array_get (devs, j), "name")), name) == 0)
        return bad (s, json_object_get (d, "name"), err, "%s: device `%s` is there twice", at,
                    name);
    e = json_object_get (d, "containerEdits");
    if (e == NULL || !json_is_object (e) || json_object_size (e) == 0)
      return bad (s, d, err, "%s (`%s`) has no containerEdits: a device must change something", at,
                  name);
    if (check_annotations (&w, json_object_get (d, "annotations"), at, err) < 0
        || walk_edits (&w, e, eat, err) < 0)
      return -1;
  }
  if (w.need > s->version)
    return bad (s, json_object_get (s->root, "cdiVersion"), err,
                "cdiVersion %s, but it uses %s, which came with cdiVersion %u.%u.%u; raise "
                "cdiVersion",
                ver, w.need_why, w.need / 10000, w.need / 100 % 100, w.need % 100);
  return 0;
}

void
hutch_cdi_spec_free (struct hutch_cdi_spec *s)
{
  size_t i;

  if (s == NULL)
    return;
  for (i = 0; i < s->n_marks; i++)
    free (s->marks[i].plain);
  free (s->marks);
  json_decref (s->root);
  free (s->file);
  free (s->kind);
  free (s);
}

int
hutch_cdi_spec_parse (const char *text, size_t len, const char *file,
                      struct hutch_cdi_spec **ret_spec, char **ret_kind, hutch_error_t *err)
{
  struct hutch_cdi_spec *s = hutch_xmalloc0 (sizeof *s);
  const char *kind;

  if (ret_kind)
    *ret_kind = NULL;
  s->file = hutch_xstrdup (file);
  if (is_yaml_name (file))
    s->root = load_yaml (s, text, len, err);
  else
    {
      json_error_t je;
      s->root = json_loadb (text, len, JSON_REJECT_DUPLICATES, &je);
      if (s->root == NULL)
        hutch_error_set (err, 0, "CDI spec %s, line %d, column %d: not JSON: %s", file, je.line,
                         je.column, je.text);
    }
  if (s->root == NULL)
    {
      hutch_cdi_spec_free (s);
      return -1;
    }
  if (!json_is_object (s->root))
    {
      bad (s, s->root, err, "must hold an object with cdiVersion, kind and devices");
      hutch_cdi_spec_free (s);
      return -1;
    }
  kind = str_of (s, json_object_get (s->root, "kind"));
  s->kind = kind ? hutch_xstrdup (kind) : NULL;
  if (check_spec (s, err) < 0)
    {
      if (ret_kind && s->kind)
        *ret_kind = hutch_xstrdup (s->kind);
      hutch_cdi_spec_free (s);
      return -1;
    }
  *ret_spec = s;
  return 0;
}

const char *
hutch_cdi_spec_kind (const struct hutch_cdi_spec *s)
{
  return s->kind;
}

size_t
hutch_cdi_spec_n_devices (const struct hutch_cdi_spec *s)
{
  return json_array_size (json_object_get (s->root, "devices"));
}

const char *
hutch_cdi_spec_device (const struct hutch_cdi_spec *s, size_t i)
{
  return str_of (
      s, json_object_get (json_array_get (json_object_get (s->root, "devices"), i), "name"));
}

/* ---- the spec directories -------------------------------------------- */

struct pick
{
  size_t spec; /* index in specs */
  size_t device;
};

struct hutch_cdi
{
  struct hutch_cdi_spec **specs;
  size_t n_specs;
  struct pick *picks;
  size_t n_picks;
};

void
hutch_cdi_free (struct hutch_cdi *cdi)
{
  size_t i;

  if (cdi == NULL)
    return;
  for (i = 0; i < cdi->n_specs; i++)
    hutch_cdi_spec_free (cdi->specs[i]);
  free (cdi->specs);
  free (cdi->picks);
  free (cdi);
}

void
hutch_cdi_freep (struct hutch_cdi **cdi)
{
  hutch_cdi_free (*cdi);
}

static int
spec_file_filter (const struct dirent *de)
{
  return de->d_name[0] != '.' && (has_suffix (de->d_name, ".json") || is_yaml_name (de->d_name));
}

/* What the search found, beyond the specs kept.  */
struct found
{
  char **dirs_said; /* each directory, "(missing)" added when it is */
  char **kinds;     /* the kinds of every spec read */
  char **broken;    /* the errors of specs that could not be read */
};

static bool
strv_has (char *const *v, const char *s)
{
  for (; v && *v; v++)
    if (strcmp (*v, s) == 0)
      return true;
  return false;
}

/* Read the spec files of DIR (index D); keep those of the kinds in
   WANTED.  */
static int
load_dir (struct hutch_cdi *cdi, const char *dir, size_t d, char *const *wanted, struct found *f,
          hutch_error_t *err)
{
  struct dirent **list = NULL;
  _cleanup_close_ int dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int n, i, r = 0;

  if (dirfd < 0)
    {
      hutch_strv_push (
          &f->dirs_said,
          hutch_xasprintf ("%s (%s)", dir, errno == ENOENT ? "missing" : strerror (errno)));
      return 0;
    }
  hutch_strv_push (&f->dirs_said, hutch_xstrdup (dir));
  n = scandir (dir, &list, spec_file_filter, alphasort);
  for (i = 0; i < n; i++)
    {
      _cleanup_free_ char *path = hutch_xasprintf ("%s/%s", dir, list[i]->d_name);
      _cleanup_free_ char *text = NULL, *kind = NULL;
      _cleanup_close_ int fd = -1;
      hutch_error_t e = HUTCH_ERROR_INIT;
      struct hutch_cdi_spec *s = NULL;
      size_t len;

      if (r < 0)
        continue;
      fd = openat (dirfd, list[i]->d_name, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
      if (fd < 0 || hutch_read_fd (fd, MAX_SPEC_SIZE, &text, &len, &e) < 0)
        {
          if (fd < 0)
            hutch_error_set (&e, errno, "CDI spec %s", path);
        }
      else if (hutch_cdi_spec_parse (text, len, path, &s, &kind, &e) == 0)
        {
          if (!strv_has (f->kinds, s->kind))
            hutch_strv_push (&f->kinds, hutch_xstrdup (s->kind));
          if (!strv_has (wanted, s->kind))
            {
              hutch_cdi_spec_free (s);
              continue;
            }
          s->dir = d;
          cdi->specs = hutch_xrealloc (cdi->specs, (cdi->n_specs + 1) * sizeof *cdi->specs);
          cdi->specs[cdi->n_specs++] = s;
          continue;
        }
      /* A spec of the kind asked for that cannot be read may hold the
         device: that is the error.  Another kind's is only said.  */
      if (kind && strv_has (wanted, kind))
        {
          r = hutch_error_set (err, 0, "%s; fix the file or remove it", e.msg);
          hutch_error_clear (&e);
          continue;
        }
      hutch_log (HUTCH_LOG_WARNING, "%s (skipped)", e.msg);
      hutch_strv_push (&f->broken, HUTCH_STEAL_PTR (e.msg));
      hutch_error_clear (&e);
    }
  for (i = 0; i < n; i++)
    free (list[i]);
  free (list);
  return r;
}

static char *
joined (char *const *v, const char *none)
{
  _cleanup_free_ char *s = NULL;
  size_t i;

  for (i = 0; v && v[i]; i++)
    {
      char *n = hutch_xasprintf ("%s%s%s", s ? s : "", s ? ", " : "", v[i]);
      free (s);
      s = n;
    }
  return s ? HUTCH_STEAL_PTR (s) : hutch_xstrdup (none);
}

/* The error for NAME (KIND, DEV) that no spec defines.  */
static int
unknown_device (const struct hutch_cdi *cdi, const char *name, const char *kind, const char *dev,
                const struct found *f, hutch_error_t *err)
{
  _cleanup_strv_ char **devs = hutch_xmalloc0 (sizeof (char *));
  _cleanup_free_ char *dirs = joined (f->dirs_said, "none"), *list = NULL, *broken = NULL;
  size_t i, k;

  (void)dev;
  for (i = 0; i < cdi->n_specs; i++)
    if (strcmp (cdi->specs[i]->kind, kind) == 0)
      for (k = 0; k < hutch_cdi_spec_n_devices (cdi->specs[i]); k++)
        if (!strv_has (devs, hutch_cdi_spec_device (cdi->specs[i], k)))
          hutch_strv_push (&devs, hutch_xstrdup (hutch_cdi_spec_device (cdi->specs[i], k)));
  if (f->broken && f->broken[0])
    {
      _cleanup_free_ char *b = joined (f->broken, "");
      broken = hutch_xasprintf ("; a spec that could not be read may have held it: %s", b);
    }
  if (devs[0])
    {
      list = joined (devs, "");
      return hutch_error_set (err, 0,
                              "--device %s: no CDI spec defines device `%s` of kind %s; its "
                              "devices are: %s (searched %s)%s",
                              name, dev, kind, list, dirs, broken ? broken : "");
    }
  list = joined (f->kinds, "none");
  return hutch_error_set (err, 0,
                          "--device %s: no CDI spec defines kind %s (searched %s; kinds found: "
                          "%s)%s; the device's vendor tool writes one (e.g. `nvidia-ctk cdi "
                          "generate`), or give its directory with hutch --cdi-spec-dir DIR",
                          name, kind, dirs, list, broken ? broken : "");
}

int
hutch_cdi_resolve (char *const *dirs, char *const *names, struct hutch_cdi **ret,
                   hutch_error_t *err)
{
  _cleanup_cdi_ struct hutch_cdi *cdi = hutch_xmalloc0 (sizeof *cdi);
  _cleanup_strv_ char **kinds = hutch_xmalloc0 (sizeof (char *));
  _cleanup_strv_ char **devs = hutch_xmalloc0 (sizeof (char *));
  struct found f = { NULL, NULL, NULL };
  char *const *d = dirs ? dirs : (char *const *)hutch_cdi_default_dirs;
  size_t i, k;
  int r = 0;

  for (i = 0; names[i]; i++)
    {
      char *kind, *dev;
      if (hutch_cdi_parse_name (names[i], &kind, &dev, err) < 0)
        return -1;
      hutch_strv_push (&kinds, kind);
      hutch_strv_push (&devs, dev);
    }
  for (i = 0; r == 0 && d[i]; i++)
    r = load_dir (cdi, d[i], i, kinds, &f, err);
  for (i = 0; r == 0 && names[i]; i++)
    {
      struct pick best = { (size_t)-1, 0 };
      size_t dup = (size_t)-1;

      for (k = 0; k < cdi->n_specs; k++)
        {
          const struct hutch_cdi_spec *s = cdi->specs[k];
          size_t j;
          if (strcmp (s->kind, kinds[i]) != 0)
            continue;
          for (j = 0; j < hutch_cdi_spec_n_devices (s); j++)
            if (strcmp (hutch_cdi_spec_device (s, j), devs[i]) == 0)
              {
                /* A later directory's wins; two in one directory
                   conflict.  */
                if (best.spec != (size_t)-1 && cdi->specs[best.spec]->dir == s->dir)
                  dup = k;
                else
                  {
                    best = (struct pick){ k, j };
                    dup = (size_t)-1;
                  }
              }
        }
      if (best.spec == (size_t)-1)
        r = unknown_device (cdi, names[i], kinds[i], devs[i], &f, err);
      else if (dup != (size_t)-1)
        {
          _cleanup_free_ char *dl = joined ((char *const *)d, "");
          r = hutch_error_set (err, 0,
                               "--device %s: two CDI specs of one directory define it, %s and %s "
                               "(a conflict: neither is used); remove one, or move the one to use "
                               "to a later directory (%s)",
                               names[i], cdi->specs[best.spec]->file, cdi->specs[dup]->file, dl);
        }
      else
        {
          for (k = 0; k < cdi->n_picks; k++)
            if (cdi->picks[k].spec == best.spec && cdi->picks[k].device == best.device)
              break;
          if (k < cdi->n_picks)
            continue;
          cdi->picks = hutch_xrealloc (cdi->picks, (cdi->n_picks + 1) * sizeof *cdi->picks);
          cdi->picks[cdi->n_picks++] = best;
        }
    }
  hutch_strv_free (f.dirs_said);
  hutch_strv_free (f.kinds);
  hutch_strv_free (f.broken);
  if (r < 0)
    return -1;
  *ret = HUTCH_STEAL_PTR (cdi);
  return 0;
}

int
hutch_cdi_apply (const struct hutch_cdi *cdi, struct hutch_spec *spec, hutch_error_t *err)
{
  _cleanup_free_ bool *done = NULL;
  size_t i, first_mount = spec->n_mounts;

  if (cdi == NULL)
    return 0;
  done = hutch_xmalloc0 ((cdi->n_specs + 1) * sizeof *done);
  for (i = 0; i < cdi->n_picks; i++)
    {
      const struct hutch_cdi_spec *s = cdi->specs[cdi->picks[i].spec];
      struct walk w = { .s = s, .spec = spec, .first_mount = first_mount };
      json_t *dev = json_array_get (json_object_get (s->root, "devices"), cdi->picks[i].device);
      json_t *e = json_object_get (s->root, "containerEdits");
      _cleanup_free_ char *at
          = hutch_xasprintf ("devices[%zu].containerEdits", cdi->picks[i].device);

      /* The spec's own edits once, before its first device's.  */
      if (!done[cdi->picks[i].spec] && e && !json_is_null (e)
          && walk_edits (&w, e, "containerEdits", err) < 0)
        return -1;
      done[cdi->picks[i].spec] = true;
      if (walk_edits (&w, json_object_get (dev, "containerEdits"), at, err) < 0)
        return -1;
    }
  return 0;
}
