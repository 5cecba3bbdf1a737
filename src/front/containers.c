/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* Containers' records: what front/containers.h lays out on disk.  */

#include "front/containers.h"
#include "base/log.h"
#include "base/paths.h"
#include "base/util.h"
#include "base/walk.h"
#include "image/image.h"
#include "image/volume.h"
#include "runtime/nsexec.h"
#include "runtime/specjson.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void
hutch_ctr_clear (struct hutch_ctr *c)
{
  free (c->id);
  free (c->name);
  free (c->root);
  free (c->dir);
  free (c->rundir);
  free (c->image);
  free (c->image_id);
  free (c->rootfs);
  hutch_strv_free (c->command);
  hutch_strv_free (c->run_args);
  hutch_strv_free (c->env);
  free (c->cwd);
  free (c->cli_root);
  hutch_strv_free (c->cdi_spec_dirs);
  free (c->detach_keys);
  free (c->cidfile);
  hutch_kv_free (c->labels, c->n_labels);
  hutch_strv_free (c->anon_volumes);
  memset (c, 0, sizeof *c);
}

void
hutch_ctr_short_id (const char *id, char buf[13])
{
  snprintf (buf, 13, "%s", id);
}

static char *
runtime_base (void)
{
  _cleanup_free_ char *r = hutch_paths_runtime_dir ();
  return hutch_xasprintf ("%s/containers", r);
}

/* The runtime directory (hutch's, and its containers/) must be real
   directories of the user's that no one else can enter, not symlinks:
   another user's link at /tmp/hutch-UID to a directory of the user's
   passes the trust rule (which follows it) and could be swapped later,
   taking the containers' states away (where fs.protected_symlinks is
   off).  */
static int
check_private_dir (const char *path, hutch_error_t *err)
{
  _cleanup_free_ char *copy = hutch_xstrdup (path);
  char *slash = strrchr (copy, '/');
  const char *const which[] = { copy, path };
  size_t i;

  if (slash)
    *slash = '\0';
  for (i = 0; i < 2; i++)
    {
      struct stat st;
      if (lstat (which[i], &st) < 0)
        return hutch_error_set (err, errno, "the runtime directory `%s`", which[i]);
      /* Ours but open (an older hutch, a umask): closed, not refused.  */
      if (S_ISDIR (st.st_mode) && st.st_uid == geteuid () && (st.st_mode & 077) != 0
          && chmod (which[i], 0700) == 0)
        st.st_mode &= ~(mode_t)077;
      if (!S_ISDIR (st.st_mode) || st.st_uid != geteuid () || (st.st_mode & 077) != 0)
        return hutch_error_set (err, 0,
                                "the runtime directory `%s` is not safe: it must be a directory "
                                "of yours that only you can enter (mode 0700), not %s; remove "
                                "it, or set XDG_RUNTIME_DIR to a private directory of yours",
                                which[i],
                                !S_ISDIR (st.st_mode)     ? "a symlink or a file"
                                : st.st_uid != geteuid () ? "another user's"
                                                          : "open to others");
    }
  return 0;
}

char *
hutch_ctrs_root (const char *cli_root, hutch_error_t *err)
{
  _cleanup_free_ char *root = hutch_image_store_root (cli_root, err);
  _cleanup_free_ char *rt = NULL, *names = NULL, *ctrs = NULL;

  if (root == NULL || hutch_image_store_check (root, err) < 0)
    return NULL;
  ctrs = hutch_xasprintf ("%s/containers", root);
  names = hutch_xasprintf ("%s/container-names", root);
  if (hutch_walk_mkdir_p (ctrs, 0700, err) < 0 || hutch_walk_mkdir_p (names, 0700, err) < 0)
    {
      hutch_error_prefix (err, "the image store");
      return NULL;
    }
  /* The runtime directory holds the states that others act on (a pid to
     signal): someone else's /tmp/hutch-UID must not be ours.  */
  rt = runtime_base ();
  if (hutch_paths_check_trusted (rt, "the runtime directory", err) < 0
      || hutch_walk_mkdir_p (rt, 0700, err) < 0 || check_private_dir (rt, err) < 0)
    return NULL;
  return HUTCH_STEAL_PTR (root);
}

/* ---- names --------------------------------------------------------- */

int
hutch_ctr_name_check (const char *name, hutch_error_t *err)
{
  const char *p;
  bool ok = *name != '\0' && strlen (name) <= 200;

  for (p = name; ok && *p; p++)
    {
      bool alnum = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9');
      if (!alnum && (p == name || (*p != '_' && *p != '.' && *p != '-')))
        ok = false;
    }
  if (!ok)
    return hutch_error_set (err, 0,
                            "the container name `%s` is not valid: it must start with a letter "
                            "or digit, and hold only letters, digits, `_`, `.` and `-` (at most "
                            "200)",
                            name);
  return 0;
}

static const char *const adjectives[]
    = { "agile",   "bold",   "brave",  "bright", "calm",   "clever", "cosy",   "curious",
        "daring",  "eager",  "fancy",  "gentle", "happy",  "hardy",  "humble", "jolly",
        "keen",    "kind",   "lively", "lucky",  "mellow", "merry",  "nimble", "noble",
        "patient", "plucky", "proud",  "quick",  "quiet",  "rapid",  "sharp",  "shy",
        "sleepy",  "snug",   "steady", "stoic",  "swift",  "tidy",   "vivid",  "warm",
        "wise",    "witty",  "zesty",  "sunny",  "frosty", "golden", "silver", "dapper" };
static const char *const nouns[]
    = { "badger", "beaver",  "bunny",      "civet",    "dormouse", "ferret",   "fox",    "gerbil",
        "hare",   "hamster", "hedgehog",   "jerboa",   "lemming",  "marmot",   "marten", "mink",
        "mole",   "otter",   "pika",       "rabbit",   "shrew",    "squirrel", "stoat",  "vole",
        "weasel", "wombat",  "chinchilla", "capybara", "coypu",    "degu",     "agouti", "paca",
        "lynx",   "meerkat", "mongoose",   "possum",   "quokka",   "numbat",   "bilby",  "tenrec",
        "kiwi",   "wren",    "finch",      "robin",    "heron",    "puffin",   "lark",   "owl" };

char *
hutch_ctr_name_generate (const char *root)
{
  int tries;
  for (tries = 0;; tries++)
    {
      unsigned int r[2];
      char *name, *link;
      struct stat st;
      if (getrandom (r, sizeof r, 0) != (ssize_t)sizeof r)
        r[0] = (unsigned)time (NULL), r[1] = (unsigned)getpid ();
      name = hutch_xasprintf ("%s_%s", adjectives[r[0] % (sizeof adjectives / sizeof *adjectives)],
                              nouns[r[1] % (sizeof nouns / sizeof *nouns)]);
      /* 2304 pairs: past a few tries, a number makes it unique.  */
      if (tries >= 8)
        {
          char *n = hutch_xasprintf ("%s_%u", name, r[0] % 100000);
          free (name);
          name = n;
        }
      link = hutch_xasprintf ("%s/container-names/%s", root, name);
      if (lstat (link, &st) < 0)
        {
          free (link);
          return name;
        }
      free (link);
      free (name);
    }
}

/* ---- the record ---------------------------------------------------- */

static char **
json_strv (json_t *a)
{
  char **v = hutch_xmalloc0 (sizeof (char *));
  size_t i;
  json_t *x;
  json_array_foreach (a, i, x) if (json_is_string (x))
      hutch_strv_push (&v, hutch_xstrdup (json_string_value (x)));
  return v;
}

static void
set_str (json_t *o, const char *key, const char *v)
{
  if (v)
    json_object_set_new (o, key, json_string (v));
}

static char *
get_str (json_t *o, const char *key)
{
  const char *v = json_string_value (json_object_get (o, key));
  return v ? hutch_xstrdup (v) : NULL;
}

static json_t *
record_json (const struct hutch_ctr *c)
{
  json_t *o = json_object (), *labels = json_object ();
  size_t i;

  set_str (o, "id", c->id);
  set_str (o, "name", c->name);
  set_str (o, "image", c->image);
  set_str (o, "image_id", c->image_id);
  set_str (o, "rootfs", c->rootfs);
  json_object_set_new (o, "command", hutch_json_strv (c->command));
  json_object_set_new (o, "created", json_integer (c->created));
  json_object_set_new (o, "run_args", hutch_json_strv (c->run_args));
  json_object_set_new (o, "env", hutch_json_strv (c->env));
  set_str (o, "cwd", c->cwd);
  set_str (o, "cli_root", c->cli_root);
  json_object_set_new (o, "storage_driver", json_integer (c->storage_driver));
  if (c->cdi_spec_dirs)
    json_object_set_new (o, "cdi_spec_dirs", hutch_json_strv (c->cdi_spec_dirs));
  json_object_set_new (o, "detach", json_boolean (c->detach));
  json_object_set_new (o, "rm", json_boolean (c->rm));
  json_object_set_new (o, "tty", json_boolean (c->tty));
  json_object_set_new (o, "interactive", json_boolean (c->interactive));
  json_object_set_new (o, "restart", json_integer (c->restart));
  json_object_set_new (o, "restart_max", json_integer (c->restart_max));
  json_object_set_new (o, "log_driver", json_integer (c->log_driver));
  json_object_set_new (o, "log_max_size", json_integer ((json_int_t)c->log_max_size));
  json_object_set_new (o, "log_max_file", json_integer (c->log_max_file));
  set_str (o, "detach_keys", c->detach_keys);
  json_object_set_new (o, "stop_signal", json_integer (c->stop_signal));
  json_object_set_new (o, "stop_timeout", json_integer (c->stop_timeout));
  set_str (o, "cidfile", c->cidfile);
  set_str (o, "rundir", c->rundir);
  for (i = 0; i < c->n_labels; i++)
    json_object_set_new (labels, c->labels[i].key, json_string (c->labels[i].value));
  json_object_set_new (o, "labels", labels);
  json_object_set_new (o, "anon_volumes", hutch_json_strv (c->anon_volumes));
  return o;
}

static void
record_from_json (json_t *o, struct hutch_ctr *c)
{
  const char *k;
  json_t *v;

  c->id = get_str (o, "id");
  c->name = get_str (o, "name");
  c->image = get_str (o, "image");
  c->image_id = get_str (o, "image_id");
  c->rootfs = get_str (o, "rootfs");
  c->command = json_strv (json_object_get (o, "command"));
  c->created = json_integer_value (json_object_get (o, "created"));
  c->run_args = json_strv (json_object_get (o, "run_args"));
  c->env = json_strv (json_object_get (o, "env"));
  c->cwd = get_str (o, "cwd");
  c->cli_root = get_str (o, "cli_root");
  c->storage_driver = (int)json_integer_value (json_object_get (o, "storage_driver"));
  if (json_object_get (o, "cdi_spec_dirs"))
    c->cdi_spec_dirs = json_strv (json_object_get (o, "cdi_spec_dirs"));
  c->detach = json_is_true (json_object_get (o, "detach"));
  c->rm = json_is_true (json_object_get (o, "rm"));
  c->tty = json_is_true (json_object_get (o, "tty"));
  c->interactive = json_is_true (json_object_get (o, "interactive"));
  c->restart = (int)json_integer_value (json_object_get (o, "restart"));
  c->restart_max = (unsigned)json_integer_value (json_object_get (o, "restart_max"));
  c->log_driver = (int)json_integer_value (json_object_get (o, "log_driver"));
  c->log_max_size = (unsigned long long)json_integer_value (json_object_get (o, "log_max_size"));
  c->log_max_file = (unsigned)json_integer_value (json_object_get (o, "log_max_file"));
  c->detach_keys = get_str (o, "detach_keys");
  c->stop_signal = (int)json_integer_value (json_object_get (o, "stop_signal"));
  c->stop_timeout = (int)json_integer_value (json_object_get (o, "stop_timeout"));
  c->cidfile = get_str (o, "cidfile");
  json_object_foreach (json_object_get (o, "labels"), k, v) if (json_is_string (v))
      hutch_kv_set (&c->labels, &c->n_labels, k, json_string_value (v));
  c->anon_volumes = json_strv (json_object_get (o, "anon_volumes"));
}

/* Write NAME in DIR: a temporary name, then hutch_replace_at, so that a
   reader sees the old or the new whole.  No fsync: every run writes its record, and
   one lost to a power cut reads as damaged, with the fix (rm -f).  */
static int
write_atomic (const char *dir, const char *name, const char *text, hutch_error_t *err)
{
  _cleanup_free_ char *tmp = hutch_xasprintf (".%s.%d", name, (int)getpid ());
  _cleanup_free_ char *path = hutch_xasprintf ("%s/%s", dir, name);
  _cleanup_close_ int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int fd = -1, e;

  if (dfd >= 0)
    fd = openat (dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return hutch_error_set (err, errno, "write `%s`", path);
  if (hutch_write_all (fd, text, strlen (text)) < 0)
    {
      e = errno;
      close (fd);
      unlinkat (dfd, tmp, 0);
      return hutch_error_set (err, e, "write `%s`", path);
    }
  close (fd);
  if (hutch_replace_at (dfd, tmp, name) < 0)
    {
      e = errno;
      unlinkat (dfd, tmp, 0);
      return hutch_error_set (err, e, "write `%s`", path);
    }
  return 0;
}

int
hutch_ctr_save (const struct hutch_ctr *c, hutch_error_t *err)
{
  json_t *o = record_json (c);
  char *text = json_dumps (o, JSON_INDENT (1) | JSON_SORT_KEYS);
  int r;

  json_decref (o);
  if (text == NULL)
    return hutch_error_set (err, ENOMEM, "encode the container's record");
  r = write_atomic (c->dir, "container.json", text, err);
  free (text);
  return r;
}

static void
set_paths (struct hutch_ctr *c, const char *root, const char *id)
{
  _cleanup_free_ char *rt = runtime_base ();
  free (c->root);
  free (c->dir);
  free (c->rundir);
  c->root = hutch_xstrdup (root);
  c->dir = hutch_xasprintf ("%s/containers/%s", root, id);
  c->rundir = hutch_xasprintf ("%s/%s", rt, id);
}

int
hutch_ctr_load (const char *root, const char *id, struct hutch_ctr *ret, hutch_error_t *err)
{
  _cleanup_free_ char *path = hutch_xasprintf ("%s/containers/%s/container.json", root, id);
  _cleanup_free_ char *text = NULL;
  json_error_t je;
  json_t *o;
  int r;

  memset (ret, 0, sizeof *ret);
  r = hutch_read_file (path, 4 * 1024 * 1024, &text, NULL, err);
  if (r < 0)
    return r;
  o = json_loads (text, 0, &je);
  if (o == NULL || !json_is_object (o))
    {
      json_decref (o);
      return hutch_error_set (err, 0,
                              "the container's record `%s` is damaged: %s; remove it with "
                              "`hutch rm -f %.12s`",
                              path, je.text, id);
    }
  record_from_json (o, ret);
  {
    /* Where its state is: the runtime directory of the session that made
       it, which another session (without XDG_RUNTIME_DIR: cron, su)
       would not find by itself, and would read the container as ended.  */
    _cleanup_free_ char *rundir = get_str (o, "rundir");
    json_decref (o);
    free (ret->id);
    ret->id = hutch_xstrdup (id);
    set_paths (ret, root, id);
    if (rundir && rundir[0] == '/' && strlen (rundir) > 65
        && strcmp (rundir + strlen (rundir) - 64, id) == 0)
      {
        free (ret->rundir);
        ret->rundir = HUTCH_STEAL_PTR (rundir);
      }
  }
  /* A record that hutch could not have written (edited, or cut short by
     a crash) is damaged, not a reason to crash.  */
  if (ret->name == NULL || hutch_ctr_name_check (ret->name, err) < 0 || ret->log_driver < 0
      || ret->log_driver > HUTCH_LOG_PASSTHROUGH || ret->restart < 0
      || ret->restart > HUTCH_RESTART_UNLESS_STOPPED)
    {
      hutch_error_clear (err);
      hutch_error_set (err, 0,
                       "the container's record `%s` is damaged (a field has no valid value); "
                       "remove it with `hutch rm -f %.12s`",
                       path, id);
      hutch_ctr_clear (ret);
      return -1;
    }
  return 0;
}

/* ---- creating, finding --------------------------------------------- */

static bool
is_id (const char *s)
{
  size_t i;
  for (i = 0; s[i]; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  return i == 64;
}

/* The id NAME is reserved for in ROOT, or NULL.  */
static char *
name_owner (const char *root, const char *name)
{
  _cleanup_free_ char *link = hutch_xasprintf ("%s/container-names/%s", root, name);
  char buf[128];
  ssize_t n = readlink (link, buf, sizeof buf - 1);
  if (n <= 0)
    return NULL;
  buf[n] = '\0';
  return is_id (buf) ? hutch_xstrdup (buf) : NULL;
}

/* Reserve NAME for ID: symlink(2) fails when the name is taken.  A name
   whose container has no record any more (a crash between the steps of a
   removal) is free again: taken over under a lock of the names' directory
   and checked again there, since a record is written before its name
   (hutch_ctr_create), so that a name being made is never taken for a
   stale one.  */
static int
reserve_name (const char *root, const char *name, const char *id, hutch_error_t *err)
{
  _cleanup_free_ char *dir = hutch_xasprintf ("%s/container-names", root);
  _cleanup_free_ char *link = hutch_xasprintf ("%s/%s", dir, name);
  _cleanup_free_ char *owner = NULL, *rec = NULL;
  _cleanup_close_ int dfd = -1;
  struct stat st;

  if (symlink (id, link) == 0)
    return 0;
  if (errno != EEXIST)
    return hutch_error_set (err, errno, "reserve the name `%s`", name);
  dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0 && flock (dfd, LOCK_EX) == 0)
    {
      owner = name_owner (root, name);
      rec = owner ? hutch_xasprintf ("%s/containers/%s/container.json", root, owner) : NULL;
      if (owner && stat (rec, &st) < 0 && errno == ENOENT && unlink (link) == 0
          && symlink (id, link) == 0)
        return 0;
    }
  if (owner == NULL)
    owner = name_owner (root, name);
  hutch_error_set (err, 0,
                   "the name `%s` is already in use by container %.12s; choose another with "
                   "--name, or remove that one with `hutch rm %s`",
                   name, owner ? owner : "?", name);
  err->errnum = EEXIST;
  return -1;
}

int
hutch_ctr_rundir_open (const struct hutch_ctr *c, hutch_error_t *err)
{
  int fd;
  if (mkdir (c->rundir, 0700) < 0 && errno != EEXIST)
    return hutch_error_set (err, errno, "create `%s`", c->rundir);
  fd = open (c->rundir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return hutch_error_set (err, errno, "open `%s`", c->rundir);
  return fd;
}

int
hutch_ctr_create (const char *root, const char *name, struct hutch_ctr *c, hutch_error_t *err)
{
  _cleanup_free_ char *gen = NULL;
  _cleanup_close_ int rfd = -1;
  struct hutch_state st;
  char id[65];
  int r, tries;

  if (name && hutch_ctr_name_check (name, err) < 0)
    return -1;
  if (hutch_random_hex (id, 64) < 0)
    return hutch_error_set (err, errno, "getrandom");
  if (name == NULL)
    name = gen = hutch_ctr_name_generate (root);
  free (c->id);
  free (c->name);
  c->id = hutch_xstrdup (id);
  c->name = hutch_xstrdup (name);
  set_paths (c, root, id);
  if (c->created == 0)
    c->created = hutch_state_now ();
  /* The record first, its name second (see reserve_name).  */
  if (mkdir (c->dir, 0700) < 0)
    return hutch_error_set (err, errno, "create `%s`", c->dir);
  if (hutch_ctr_save (c, err) < 0)
    goto fail_unnamed;
  /* A generated name that another hutch took meanwhile: another one.  */
  for (tries = 0; reserve_name (root, c->name, id, err) < 0; tries++)
    {
      if (gen == NULL || err->errnum != EEXIST || tries == 20)
        goto fail_unnamed;
      hutch_error_clear (err);
      free (c->name);
      c->name = hutch_ctr_name_generate (root);
      if (hutch_ctr_save (c, err) < 0)
        goto fail_unnamed;
    }
  if ((rfd = hutch_ctr_rundir_open (c, err)) < 0)
    goto fail;
  hutch_state_init (&st);
  hutch_state_boot_id (st.boot_id);
  r = hutch_state_write (rfd, &st, err);
  hutch_state_clear (&st);
  if (r < 0)
    goto fail;
  return 0;

fail:
  {
    hutch_error_t e = HUTCH_ERROR_INIT;
    hutch_ctr_remove (c, false, &e);
    hutch_error_clear (&e);
  }
  return -1;

fail_unnamed:
  {
    /* Not hutch_ctr_remove: the name may be another container's.  */
    _cleanup_free_ char *rec = hutch_xasprintf ("%s/container.json", c->dir);
    hutch_error_t e = HUTCH_ERROR_INIT;
    unlink (rec);
    hutch_walk_remove_path (c->dir, &e);
    hutch_error_clear (&e);
  }
  return -1;
}

char **
hutch_ctr_list (const char *root)
{
  _cleanup_free_ char *base = hutch_xasprintf ("%s/containers", root);
  char **ids = hutch_xmalloc0 (sizeof (char *));
  DIR *d = opendir (base);
  struct dirent *de;

  if (d == NULL)
    return ids;
  while ((de = readdir (d)) != NULL)
    {
      _cleanup_free_ char *rec = NULL;
      if (!is_id (de->d_name))
        continue;
      rec = hutch_xasprintf ("%s/%s/container.json", base, de->d_name);
      if (access (rec, F_OK) == 0)
        hutch_strv_push (&ids, hutch_xstrdup (de->d_name));
    }
  closedir (d);
  return ids;
}

int
hutch_ctr_find (const char *root, const char *ref, char **ret_id, hutch_error_t *err)
{
  _cleanup_strv_ char **ids = NULL;
  char *owner = NULL, *found = NULL;
  size_t i, n = 0, len = strlen (ref);
  char a[13] = "", b[13] = "";

  if (*ref == '\0')
    return hutch_error_set (err, 0, "an empty container name");
  /* A name first, then an id or its prefix, as docker does.  */
  if (strchr (ref, '/') == NULL && (owner = name_owner (root, ref)) != NULL)
    {
      _cleanup_free_ char *rec = hutch_xasprintf ("%s/containers/%s/container.json", root, owner);
      if (access (rec, F_OK) == 0)
        {
          *ret_id = owner;
          return 0;
        }
      free (owner);
    }
  ids = hutch_ctr_list (root);
  for (i = 0; ids[i]; i++)
    if (strncmp (ids[i], ref, len) == 0)
      {
        if (n++ == 0)
          found = ids[i];
        else if (n == 2)
          {
            hutch_ctr_short_id (found, a);
            hutch_ctr_short_id (ids[i], b);
          }
      }
  if (n == 1)
    {
      *ret_id = hutch_xstrdup (found);
      return 0;
    }
  if (n > 1)
    return hutch_error_set (err, 0,
                            "`%s` is ambiguous: it begins the ids of %zu containers (%s, %s...); "
                            "give more of the id, or the name",
                            ref, n, a, b);
  hutch_error_set (err, 0,
                   "no container `%s`: no name and no id of yours is or begins with it (see "
                   "`hutch ps -a`)",
                   ref);
  err->errnum = ENOENT;
  return -1;
}

int
hutch_ctr_lookup (const char *root, const char *ref, struct hutch_ctr *ret, hutch_error_t *err)
{
  _cleanup_free_ char *id = NULL;
  memset (ret, 0, sizeof *ret);
  if (hutch_ctr_find (root, ref, &id, err) < 0)
    return -1;
  return hutch_ctr_load (root, id, ret, err);
}

/* ---- state ---------------------------------------------------------- */

/* Was the container ever started?  Its runtime state is lost at reboot;
   a marker in its directory remembers that it ran.  */
static bool
ever_started (const struct hutch_ctr *c)
{
  _cleanup_free_ char *m = hutch_xasprintf ("%s/started", c->dir);
  return access (m, F_OK) == 0;
}

int
hutch_ctr_state (const struct hutch_ctr *c, struct hutch_state *ret, hutch_error_t *err)
{
  _cleanup_close_ int fd = open (c->rundir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  char boot[40];
  int r = fd < 0 ? -ENOENT : hutch_state_read (fd, ret, err);

  if (r == -ENOENT)
    {
      /* No state: the runtime directory went with a reboot.  */
      hutch_error_clear (err);
      hutch_state_init (ret);
      ret->status = ever_started (c) ? HUTCH_STATE_EXITED : HUTCH_STATE_CREATED;
      return 0;
    }
  if (r < 0)
    return -1;
  if (ret->status != HUTCH_STATE_RUNNING && ret->status != HUTCH_STATE_PAUSED)
    return 0;
  hutch_state_boot_id (boot);
  if (strcmp (boot, ret->boot_id) != 0)
    {
      ret->status = HUTCH_STATE_EXITED;
      free (ret->error);
      ret->error = hutch_xstrdup ("the machine restarted while it ran");
    }
  else if (!hutch_state_pid_alive (ret->monitor, ret->monitor_start))
    {
      /* Its holder is gone, and the container with it: the watchdog kills
         it when its holder's end of the watch pipe closes.  */
      ret->status = HUTCH_STATE_EXITED;
      free (ret->error);
      ret->error = hutch_xasprintf ("the process that held it (pid %d) was killed, and the "
                                    "container with it",
                                    (int)ret->monitor);
    }
  else
    return 0;
  if (ret->exit_code < 0)
    ret->exit_code = 137;
  if (ret->finished == 0)
    ret->finished = hutch_state_now ();
  return 0;
}

int
hutch_ctr_lock (const struct hutch_ctr *c, const char *what, int timeout_ms, int *ret_fd,
                hutch_error_t *err)
{
  _cleanup_close_ int dfd = hutch_ctr_rundir_open (c, err);
  int fd, waited = 0;
  char line[128];

  if (dfd < 0)
    return -1;
  fd = openat (dfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return hutch_error_set (err, errno, "open the lock of container %s", c->name);
  while (flock (fd, LOCK_EX | LOCK_NB) < 0)
    {
      if (errno != EWOULDBLOCK && errno != EINTR)
        {
          int e = errno;
          close (fd);
          return hutch_error_set (err, e, "lock container %s", c->name);
        }
      if (waited >= timeout_ms)
        {
          _cleanup_free_ char *holder = NULL;
          hutch_error_t e = HUTCH_ERROR_INIT;
          char *nl;
          if (hutch_read_fd (fd, 256, &holder, NULL, &e) < 0)
            hutch_error_clear (&e);
          if (holder && (nl = strchr (holder, '\n')))
            *nl = '\0';
          close (fd);
          return hutch_error_set_exit (
              err, HUTCH_EXIT_ERROR, EBUSY,
              "container %s is busy: %s holds it (waited %d s); try again when it is done", c->name,
              holder && *holder ? holder : "another hutch command", timeout_ms / 1000);
        }
      poll (NULL, 0, 20);
      waited += 20;
    }
  snprintf (line, sizeof line, "`hutch %s` (pid %d)\n", what, (int)getpid ());
  if (ftruncate (fd, 0) == 0)
    pwrite (fd, line, strlen (line), 0);
  *ret_fd = fd;
  return 0;
}

int
hutch_ctr_reconcile (struct hutch_ctr *c, bool *ret_gone, hutch_error_t *err)
{
  struct hutch_state st;
  _cleanup_close_ int lock = -1, dfd = -1;
  int r = 0;

  *ret_gone = false;
  if (hutch_ctr_state (c, &st, err) < 0)
    return -1;
  if (st.status != HUTCH_STATE_EXITED || st.error == NULL)
    {
      /* Nothing was judged: the state on disk says it.  */
      bool rm_exited = c->rm && st.status == HUTCH_STATE_EXITED
                       && !hutch_state_pid_alive (st.monitor, st.monitor_start);
      hutch_state_clear (&st);
      if (!rm_exited)
        return 0;
      /* A --rm container whose holder ended without removing it.  */
      if (hutch_ctr_lock (c, "rm", 5000, &lock, err) < 0)
        return -1;
      *ret_gone = true;
      return hutch_ctr_remove (c, true, err);
    }
  if (hutch_ctr_lock (c, "ps", 5000, &lock, err) < 0)
    {
      hutch_state_clear (&st);
      return -1;
    }
  if (c->rm)
    {
      hutch_state_clear (&st);
      *ret_gone = true;
      return hutch_ctr_remove (c, true, err);
    }
  dfd = hutch_ctr_rundir_open (c, err);
  if (dfd < 0 || hutch_state_write (dfd, &st, err) < 0)
    r = -1;
  hutch_state_clear (&st);
  return r;
}

static char *
live_dir (void)
{
  _cleanup_free_ char *r = hutch_paths_runtime_dir ();
  return hutch_xasprintf ("%s/live", r);
}

void
hutch_ctr_mark_live (const struct hutch_ctr *c, bool live)
{
  _cleanup_free_ char *d = live_dir ();
  _cleanup_free_ char *p = hutch_xasprintf ("%s/%s", d, c->id);
  if (!live)
    {
      unlink (p);
      return;
    }
  /* The mark names the store whose container it is: a sweep from
     another store can then tell a container of a store that still has it
     from one whose record (or whole store) was removed meanwhile.  */
  if (mkdir (d, 0700) == 0 || errno == EEXIST)
    {
      int fd = open (p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
      if (fd >= 0)
        {
          (void)hutch_write_all (fd, c->root, strlen (c->root));
          close (fd);
        }
    }
}

/* Whether the container ID marked live in LIVEFD belongs to no store any
   more: its mark names a store (one made by an older hutch names none)
   that has no record of it.  */
static bool
mark_orphaned (int livefd, const char *id)
{
  _cleanup_close_ int fd = openat (livefd, id, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  _cleanup_free_ char *rec = NULL;
  char root[PATH_MAX];
  struct stat st;
  ssize_t n;

  if (fd < 0 || (n = read (fd, root, sizeof root - 1)) <= 0 || root[0] != '/')
    return false;
  root[n] = '\0';
  rec = hutch_xasprintf ("%s/containers/%s", root, id);
  return lstat (rec, &st) < 0 && errno == ENOENT;
}

/* Only the containers marked live (RUNTIME/live/ID: made when a holder
   starts one) are looked at, and a record read only for one whose holder
   is gone: every command sweeps, so this must cost little however many
   containers have ended.  */
void
hutch_ctrs_sweep (const char *root)
{
  _cleanup_free_ char *live = live_dir ();
  _cleanup_free_ char *rt = runtime_base ();
  DIR *d = opendir (live);
  struct dirent *de;

  while (d && (de = readdir (d)) != NULL)
    {
      struct hutch_ctr c;
      struct hutch_state st;
      hutch_error_t e = HUTCH_ERROR_INIT;
      _cleanup_free_ char *sdir = NULL;
      _cleanup_close_ int fd = -1;
      bool gone, dead, ended;

      if (!is_id (de->d_name))
        continue;
      sdir = hutch_xasprintf ("%s/%s", rt, de->d_name);
      fd = open (sdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
      if (fd < 0 || hutch_state_read (fd, &st, &e) < 0)
        {
          /* Removed meanwhile: nothing is live there.  */
          hutch_error_clear (&e);
          if (fd < 0)
            unlinkat (dirfd (d), de->d_name, 0);
          continue;
        }
      ended = st.status == HUTCH_STATE_EXITED || st.status == HUTCH_STATE_CREATED;
      dead = !ended && !hutch_state_pid_alive (st.monitor, st.monitor_start);
      /* A monitor that waits to restart its container is alive.  */
      if (ended && !hutch_state_pid_alive (st.monitor, st.monitor_start))
        unlinkat (dirfd (d), de->d_name, 0);
      hutch_state_clear (&st);
      if (!dead)
        continue;
      /* Another store's container: its record is not here.  */
      if (hutch_ctr_load (root, de->d_name, &c, &e) == 0)
        {
          if (hutch_ctr_reconcile (&c, &gone, &e) < 0)
            hutch_log (HUTCH_LOG_WARNING, "container %s: %s", c.name, e.msg);
          else
            unlinkat (dirfd (d), de->d_name, 0);
        }
      else if (mark_orphaned (dirfd (d), de->d_name))
        {
          /* Its store no longer has it (removed with its store, by hand):
             no command will ever reconcile it, and every sweep would read
             it again.  Its state goes with the mark; its holder is dead.  */
          _cleanup_close_ int rtfd = open (rt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
          if (rtfd >= 0)
            hutch_walk_remove_tree (rtfd, de->d_name, &e);
          unlinkat (dirfd (d), de->d_name, 0);
        }
      hutch_error_clear (&e);
      hutch_ctr_clear (&c);
    }
  if (d)
    closedir (d);
}

/* ---- removing, renaming --------------------------------------------- */

static void
remove_rundir (const struct hutch_ctr *c)
{
  hutch_error_t e = HUTCH_ERROR_INIT;
  _cleanup_free_ char *parent = hutch_xstrdup (c->rundir);
  char *slash = strrchr (parent, '/');
  _cleanup_close_ int pfd = -1;

  *slash = '\0';
  pfd = open (parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (pfd >= 0)
    hutch_walk_remove_tree (pfd, slash + 1, &e);
  hutch_error_clear (&e);
}

static void
drop_volumes (const struct hutch_ctr *c, hutch_error_t *err)
{
  _cleanup_store_ struct hutch_store *s = NULL;
  size_t i;

  for (i = 0; c->anon_volumes && c->anon_volumes[i]; i++)
    {
      hutch_error_t e = HUTCH_ERROR_INIT;
      if (s == NULL && hutch_image_store_open (c->root, &s, err) < 0)
        return;
      if (hutch_volume_remove (s, c->anon_volumes[i], false, &e) < 0 && e.errnum != ENOENT)
        hutch_log (HUTCH_LOG_WARNING, "%s", e.msg);
      hutch_error_clear (&e);
    }
}

int
hutch_ctr_remove (struct hutch_ctr *c, bool volumes, hutch_error_t *err)
{
  _cleanup_free_ char *link = hutch_xasprintf ("%s/container-names/%s", c->root, c->name);
  _cleanup_free_ char *owner = name_owner (c->root, c->name);
  _cleanup_free_ char *rec = hutch_xasprintf ("%s/container.json", c->dir);
  struct stat st;

  /* The record goes first: a half-removed container is no container.  */
  unlink (rec);
  if (lstat (c->dir, &st) == 0 && hutch_userns_remove (c->dir, err) < 0)
    return -1;
  if (owner && strcmp (owner, c->id) == 0)
    unlink (link);
  if (c->cidfile)
    unlink (c->cidfile);
  if (volumes)
    drop_volumes (c, err);
  remove_rundir (c);
  hutch_ctr_mark_live (c, false);
  return err->msg ? -1 : 0;
}

int
hutch_ctr_rename (struct hutch_ctr *c, const char *newname, hutch_error_t *err)
{
  _cleanup_free_ char *old = hutch_xasprintf ("%s/container-names/%s", c->root, c->name);
  char *prev;

  if (hutch_ctr_name_check (newname, err) < 0 || reserve_name (c->root, newname, c->id, err) < 0)
    return -1;
  prev = c->name;
  c->name = hutch_xstrdup (newname);
  if (hutch_ctr_save (c, err) < 0)
    {
      _cleanup_free_ char *nl = hutch_xasprintf ("%s/container-names/%s", c->root, newname);
      unlink (nl);
      free (c->name);
      c->name = prev;
      return -1;
    }
  unlink (old);
  free (prev);
  return 0;
}
