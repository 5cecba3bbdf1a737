/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* Volumes in the store: layout and locking in src/image/volume.h.  */

#include "image/volume.h"
#include "base/parse.h"
#include "base/util.h"
#include "base/walk.h"
#include "runtime/nsexec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RECORD "volume.json"

void
hutch_volume_info_clear (struct hutch_volume_info *v)
{
  free (v->name);
  free (v->mountpoint);
  free (v->created);
  hutch_strv_free (v->labels);
  memset (v, 0, sizeof *v);
}

void
hutch_volume_info_list_free (struct hutch_volume_info *v, size_t n)
{
  size_t i;
  for (i = 0; v && i < n; i++)
    hutch_volume_info_clear (&v[i]);
  free (v);
}

/* ROOT/NAME, a directory of the store, made when missing.  The store's
   root passed the trust rule when it was opened.  */
static int
open_store_dir (struct hutch_store *s, const char *name, hutch_error_t *err)
{
  _cleanup_free_ char *path = hutch_xasprintf ("%s/%s", hutch_store_root (s), name);
  int fd;

  if (mkdir (path, 0700) < 0 && errno != EEXIST)
    return hutch_error_set (err, errno, "create `%s`", path);
  fd = open (path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return hutch_error_set (err, errno, "open `%s`", path);
  return fd;
}

static int
check_name (const char *name, hutch_error_t *err)
{
  if (!hutch_volume_name_valid (name))
    return hutch_error_set (err, 0,
                            "`%s` is no volume name: use letters, digits, `_`, `.` and `-`, "
                            "starting with a letter or digit, at least two",
                            name);
  return 0;
}

static int
flock_retry (int fd, int op)
{
  int r;
  while ((r = flock (fd, op)) < 0 && errno == EINTR)
    ;
  return r;
}

/* The record of a volume made now.  */
static char *
record_text (const char *name, char *const *labels, bool anonymous)
{
  json_t *lab = json_object (), *obj;
  char created[32], *text;
  struct tm tm;
  time_t now = time (NULL);
  size_t i;

  for (i = 0; labels && labels[i]; i++)
    {
      const char *eq = strchr (labels[i], '=');
      _cleanup_free_ char *k = hutch_xstrndup (labels[i], eq ? (size_t)(eq - labels[i]) : 0);
      json_object_set_new (lab, eq ? k : labels[i], json_string (eq ? eq + 1 : ""));
    }
  gmtime_r (&now, &tm);
  strftime (created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
  obj = json_pack ("{s:s, s:s, s:o, s:b}", "Name", name, "CreatedAt", created, "Labels", lab,
                   "Anonymous", anonymous);
  text = json_dumps (obj, JSON_INDENT (2));
  json_decref (obj);
  return text;
}

/* Read the record of the volume NAME whose directory is VFD.  */
static int
read_record (struct hutch_store *s, int vfd, const char *name, struct hutch_volume_info *ret,
             hutch_error_t *err)
{
  _cleanup_close_ int fd = openat (vfd, RECORD, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  _cleanup_free_ char *text = NULL;
  json_t *obj, *lab, *v;
  json_error_t jerr;
  const char *k;

  memset (ret, 0, sizeof *ret);
  if (fd < 0 || hutch_read_fd (fd, 1 << 20, &text, NULL, err) < 0
      || (obj = json_loads (text, 0, &jerr)) == NULL || !json_is_object (obj))
    {
      int e = errno;
      hutch_error_set (err, fd < 0 ? e : 0,
                       "the volume `%s` has no readable record (%s/volumes/%s/" RECORD
                       "); remove it with `hutch volume rm -f %s`",
                       name, hutch_store_root (s), name, name);
      return -1;
    }
  ret->name = hutch_xstrdup (name);
  ret->mountpoint = hutch_xasprintf ("%s/volumes/%s/_data", hutch_store_root (s), name);
  v = json_object_get (obj, "CreatedAt");
  ret->created = hutch_xstrdup (json_is_string (v) ? json_string_value (v) : "");
  ret->anonymous = json_is_true (json_object_get (obj, "Anonymous"));
  ret->labels = hutch_xmalloc0 (sizeof (char *));
  lab = json_object_get (obj, "Labels");
  json_object_foreach (lab, k, v)
  {
    if (json_is_string (v))
      hutch_strv_push (&ret->labels, hutch_xasprintf ("%s=%s", k, json_string_value (v)));
  }
  json_decref (obj);
  return 0;
}

/* The parts of a new volume inside the directory VFD: _data and the
   record, flushed to disk before the directory is renamed into place.  */
static int
fill_new (int vfd, const char *name, char *const *labels, bool anonymous, hutch_error_t *err)
{
  _cleanup_free_ char *text = record_text (name, labels, anonymous);
  _cleanup_close_ int fd = -1;

  /* 0755 like docker's: the container's root owns it (the user, in the
     default id map), and a copy-up or :U gives it to another user.  */
  if (mkdirat (vfd, "_data", 0755) < 0)
    return hutch_error_set (err, errno, "create the volume's _data");
  fd = openat (vfd, RECORD, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 || hutch_write_all (fd, text, strlen (text)) < 0 || fsync (fd) < 0 || fsync (vfd) < 0)
    return hutch_error_set (err, errno, "write the volume's record");
  return 0;
}

/* A volume being made that did not make it: only the user's own files.  */
static void
drop_tmp (int tmpfd, const char *name)
{
  hutch_error_t e = HUTCH_ERROR_INIT;
  hutch_walk_remove_tree (tmpfd, name, &e);
  hutch_error_clear (&e);
}

/* Make the volume NAME (NULL: a random name) in ROOT/tmp and rename it
   into ROOT/volumes.  With RET_LOCKFD, its directory is locked shared
   before it appears, so that no prune can take it between its making and
   its use.  */
static int
make_volume (struct hutch_store *s, int volfd, const char *name, char *const *labels,
             bool anonymous, struct hutch_volume_info *ret, int *ret_lockfd, hutch_error_t *err)
{
  _cleanup_close_ int tmpfd = open_store_dir (s, "tmp", err), vfd = -1;
  char rnd[65], tmpname[80];
  int r;

  if (tmpfd < 0)
    return -1;
  if (hutch_random_hex (rnd, 64) < 0)
    return hutch_error_set (err, errno, "getrandom");
  if (name == NULL)
    name = rnd;
  snprintf (tmpname, sizeof tmpname, "volume-%ld-%.16s", (long)getpid (), rnd + 48);
  if (mkdirat (tmpfd, tmpname, 0700) < 0
      || (vfd = openat (tmpfd, tmpname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
    return hutch_error_set (err, errno, "create a directory in `%s/tmp`", hutch_store_root (s));
  if ((ret_lockfd && flock_retry (vfd, LOCK_SH) < 0)
      || fill_new (vfd, name, labels, anonymous, err) < 0)
    goto fail;
  /* RENAME_NOREPLACE: two hutch making the same name at once, one wins
     and the other uses the winner's.  */
  if (renameat2 (tmpfd, tmpname, volfd, name, RENAME_NOREPLACE) < 0)
    {
      r = errno == EEXIST || errno == ENOTEMPTY ? -EEXIST : -errno;
      if (r == -EEXIST)
        hutch_error_set (err, 0,
                         "the volume `%s` exists already; use it as it is, or remove it first "
                         "with `hutch volume rm %s`",
                         name, name);
      else
        hutch_error_set (err, -r, "create the volume `%s`", name);
      drop_tmp (tmpfd, tmpname);
      return r;
    }
  fsync (volfd);
  if (read_record (s, vfd, name, ret, err) < 0)
    return -1;
  if (ret_lockfd)
    *ret_lockfd = HUTCH_STEAL_FD (vfd);
  return 0;
fail:
  if (err->msg == NULL)
    hutch_error_set (err, errno, "lock the new volume");
  drop_tmp (tmpfd, tmpname);
  return -1;
}

int
hutch_volume_create (struct hutch_store *s, const char *name, char *const *labels,
                     struct hutch_volume_info *ret, hutch_error_t *err)
{
  _cleanup_close_ int volfd = -1;

  if (name && check_name (name, err) < 0)
    return -EINVAL;
  volfd = open_store_dir (s, "volumes", err);
  if (volfd < 0)
    return -1;
  return make_volume (s, volfd, name, labels, false, ret, NULL, err);
}

/* Whether NAME in VOLFD is still the directory VFD (a removal renames it
   away, maybe while we waited for its lock).  */
static bool
still_there (int volfd, const char *name, int vfd)
{
  struct stat a, b;
  return fstat (vfd, &a) == 0 && fstatat (volfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0
         && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* The existing volume NAME, locked shared: 0, -ENOENT when there is none
   (any more), or another error.  */
static int
use_existing (struct hutch_store *s, int volfd, const char *name, struct hutch_volume_info *ret,
              int *ret_lockfd, hutch_error_t *err)
{
  _cleanup_close_ int vfd = openat (volfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;

  if (vfd < 0 && errno == ENOENT)
    return -ENOENT;
  if (vfd < 0)
    return hutch_error_set (err, errno, "open the volume `%s` (%s/volumes/%s)", name,
                            hutch_store_root (s), name);
  /* A removal holds the lock exclusive only for a moment: wait for it.  */
  if (flock_retry (vfd, LOCK_SH) < 0)
    return hutch_error_set (err, errno, "lock the volume `%s`", name);
  if (!still_there (volfd, name, vfd))
    return -ENOENT;
  if (fstatat (vfd, "_data", &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR (st.st_mode))
    return hutch_error_set (err, 0,
                            "the volume `%s` has no directory _data (%s/volumes/%s); remove it "
                            "with `hutch volume rm -f %s`",
                            name, hutch_store_root (s), name, name);
  if (read_record (s, vfd, name, ret, err) < 0)
    return -1;
  *ret_lockfd = HUTCH_STEAL_FD (vfd);
  return 0;
}

int
hutch_volume_use (struct hutch_store *s, const char *name, char *const *labels,
                  struct hutch_volume_info *ret, int *ret_lockfd, bool *ret_created,
                  hutch_error_t *err)
{
  _cleanup_close_ int volfd = -1;
  int tries, r;

  if (name && check_name (name, err) < 0)
    return -EINVAL;
  volfd = open_store_dir (s, "volumes", err);
  if (volfd < 0)
    return -1;
  /* Made and removed by others meanwhile: a few rounds settle it.  */
  for (tries = 0; tries < 16; tries++)
    {
      *ret_created = false;
      if (name)
        {
          r = use_existing (s, volfd, name, ret, ret_lockfd, err);
          if (r != -ENOENT)
            return r;
        }
      *ret_created = true;
      r = make_volume (s, volfd, name, labels, name == NULL, ret, ret_lockfd, err);
      if (r != -EEXIST)
        return r;
      hutch_error_clear (err);
    }
  return hutch_error_set (err, EAGAIN, "use the volume `%s`: it keeps being made and removed",
                          name);
}

/* The directory of the volume NAME in VOLFD (STORE/volumes), or -ENOENT
   with a message that names `hutch volume ls`, or -1.  */
static int
open_volume (int volfd, const char *name, hutch_error_t *err)
{
  int vfd = openat (volfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

  if (vfd < 0 && errno == ENOENT)
    {
      hutch_error_set (err, 0, "no volume `%s`; `hutch volume ls` lists them", name);
      err->errnum = ENOENT;
      return -ENOENT;
    }
  if (vfd < 0)
    return hutch_error_set (err, errno, "open the volume `%s`", name);
  return vfd;
}

int
hutch_volume_inspect (struct hutch_store *s, const char *name, struct hutch_volume_info *ret,
                      hutch_error_t *err)
{
  _cleanup_close_ int volfd = -1, vfd = -1;

  if (check_name (name, err) < 0)
    return -EINVAL;
  volfd = open_store_dir (s, "volumes", err);
  if (volfd < 0)
    return -1;
  vfd = open_volume (volfd, name, err);
  if (vfd < 0)
    return vfd;
  return read_record (s, vfd, name, ret, err);
}

static int
compare_names (const void *a, const void *b)
{
  return strcmp (((const struct hutch_volume_info *)a)->name,
                 ((const struct hutch_volume_info *)b)->name);
}

int
hutch_volume_list (struct hutch_store *s, struct hutch_volume_info **ret, size_t *ret_n,
                   hutch_error_t *err)
{
  int volfd = open_store_dir (s, "volumes", err);
  struct hutch_volume_info *v = NULL;
  struct dirent *de;
  size_t n = 0;
  DIR *d;

  if (volfd < 0)
    return -1;
  d = fdopendir (volfd);
  if (d == NULL)
    {
      close (volfd);
      return hutch_error_set (err, errno, "read `%s/volumes`", hutch_store_root (s));
    }
  while ((de = readdir (d)) != NULL)
    {
      struct hutch_volume_info info;
      hutch_error_t e = HUTCH_ERROR_INIT;
      _cleanup_close_ int vfd = -1;

      if (!hutch_volume_name_valid (de->d_name))
        continue;
      vfd = openat (dirfd (d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      /* A volume without a readable record is still listed, to be removed.  */
      if (vfd < 0 || read_record (s, vfd, de->d_name, &info, &e) < 0)
        {
          memset (&info, 0, sizeof info);
          info.name = hutch_xstrdup (de->d_name);
          info.mountpoint
              = hutch_xasprintf ("%s/volumes/%s/_data", hutch_store_root (s), de->d_name);
          info.created = hutch_xstrdup ("");
          info.labels = hutch_xmalloc0 (sizeof (char *));
        }
      hutch_error_clear (&e);
      v = hutch_xrealloc (v, (n + 1) * sizeof *v);
      v[n++] = info;
    }
  closedir (d);
  if (n)
    qsort (v, n, sizeof *v, compare_names);
  *ret = v;
  *ret_n = n;
  return 0;
}

/* Delete ROOT/tmp/NAME: as the user when it can, else from a user
   namespace (files of subordinate ids, from containers).  Neither follows
   a symlink (src/base/walk.c).  */
static int
delete_tmp (struct hutch_store *s, int tmpfd, const char *name, hutch_error_t *err)
{
  _cleanup_free_ char *path = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;

  if (hutch_walk_remove_tree (tmpfd, name, &e) == 0)
    return 0;
  hutch_error_clear (&e);
  path = hutch_xasprintf ("%s/tmp/%s", hutch_store_root (s), name);
  return hutch_userns_remove (path, err);
}

int
hutch_volume_remove (struct hutch_store *s, const char *name, bool force, hutch_error_t *err)
{
  _cleanup_close_ int volfd = -1, tmpfd = -1, vfd = -1;
  char rnd[17], tmpname[80];

  if (check_name (name, err) < 0)
    return -EINVAL;
  if ((volfd = open_store_dir (s, "volumes", err)) < 0
      || (tmpfd = open_store_dir (s, "tmp", err)) < 0)
    return -1;
  vfd = open_volume (volfd, name, err);
  if (vfd < 0)
    return vfd;
  if (flock_retry (vfd, LOCK_EX | LOCK_NB) < 0 && (errno != EWOULDBLOCK || !force))
    {
      if (errno != EWOULDBLOCK)
        return hutch_error_set (err, errno, "lock the volume `%s`", name);
      hutch_error_set (err, 0,
                       "the volume `%s` is in use by a running container; remove it once that "
                       "container ended, or now with -f (the container keeps an empty directory)",
                       name);
      err->errnum = EBUSY;
      return -EBUSY;
    }
  if (hutch_random_hex (rnd, 16) < 0)
    return hutch_error_set (err, errno, "getrandom");
  snprintf (tmpname, sizeof tmpname, "volume-rm-%ld-%s", (long)getpid (), rnd);
  /* Renamed away first, under the lock: a `hutch run` waiting for it sees
     that the name is gone, and nothing half-removed is ever a volume.  */
  if (!still_there (volfd, name, vfd) || renameat (volfd, name, tmpfd, tmpname) < 0)
    {
      hutch_error_set (err, 0, "no volume `%s` (removed meanwhile)", name);
      err->errnum = ENOENT;
      return -ENOENT;
    }
  close (HUTCH_STEAL_FD (vfd));
  if (delete_tmp (s, tmpfd, tmpname, err) < 0)
    return hutch_error_prefix (err, "remove the volume `%s`", name);
  return 0;
}

int
hutch_volume_prune (struct hutch_store *s, char ***ret_removed, hutch_error_t *err)
{
  struct hutch_volume_info *v = NULL;
  size_t n = 0, i;
  int r = 0;

  *ret_removed = hutch_xmalloc0 (sizeof (char *));
  if (hutch_volume_list (s, &v, &n, err) < 0)
    return -1;
  for (i = 0; i < n; i++)
    {
      hutch_error_t e = HUTCH_ERROR_INIT;
      int k = hutch_volume_remove (s, v[i].name, false, &e);
      if (k == 0)
        hutch_strv_push (ret_removed, hutch_xstrdup (v[i].name));
      else if (k != -EBUSY && k != -ENOENT && r == 0)
        {
          /* Go on with the others; the first failure is reported.  */
          hutch_error_set (err, e.errnum, "%s", e.msg);
          r = -1;
        }
      hutch_error_clear (&e);
    }
  hutch_volume_info_list_free (v, n);
  return r;
}
