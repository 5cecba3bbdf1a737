/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "base/override.h"
#include "image/unpack-private.h"
#include "image/gunzip.h"

#include <archive.h>
#include <archive_entry.h>
#include "base/lazylib.h"

#include "base/syscalls.h"
#include "base/log.h"
#include "base/util.h"
#include "base/walk.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

/* Why not archive_write_disk: it works on paths from the current directory
   and checks them with lstat before use, so a symlink an earlier entry planted
   can still redirect a later chmod or utime (CVE-2021-31566), and its checks
   cannot be scoped to a directory fd.  Everything below is done with *at()
   calls relative to fds that the kernel resolved beneath the layer's
   directory.  */

/* Refuse the layer because of ENTRY.  Returns -EINVAL; the message carries no
   errno text since the layer, not the system, is at fault.  */
static int __attribute__ ((format (printf, 3, 4)))
refuse (hutch_error_t *err, const char *entry, const char *fmt, ...)
{
  _cleanup_free_ char *name = hutch_walk_shown (entry);
  _cleanup_free_ char *why = NULL;
  va_list ap;

  va_start (ap, fmt);
  why = hutch_xvasprintf (fmt, ap);
  va_end (ap);
  hutch_error_set (err, 0,
                   "layer entry `%s`: %s; refusing the layer (the image is broken, or made to "
                   "attack the host)",
                   name, why);
  err->errnum = EINVAL;
  return -EINVAL;
}

static void __attribute__ ((format (printf, 2, 0)))
layer_vwarn (const struct hutch_unpack_opts *opts, const char *fmt, va_list ap)
{
  _cleanup_free_ char *msg = NULL;

  msg = hutch_xvasprintf (fmt, ap);
  if (opts->warn)
    opts->warn (opts->warn_data, msg);
  else
    hutch_log (HUTCH_LOG_WARNING, "%s", msg);
}

void __attribute__ ((format (printf, 2, 3)))
hutch_layer_warn (const struct hutch_unpack_opts *opts, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  layer_vwarn (opts, fmt, ap);
  va_end (ap);
}

/* Warn once per KEY (an xattr name, say): a layer with a thousand labelled
   files would otherwise bury the one message that matters.  */
static void __attribute__ ((format (printf, 4, 5)))
warn_once (const struct hutch_unpack_opts *opts, char ***warned, const char *key, const char *fmt,
           ...)
{
  size_t i;
  va_list ap;

  for (i = 0; *warned && (*warned)[i]; i++)
    if (strcmp ((*warned)[i], key) == 0)
      return;
  hutch_strv_push (warned, hutch_xstrdup (key));
  va_start (ap, fmt);
  layer_vwarn (opts, fmt, ap);
  va_end (ap);
}

static int
pwrite_all (int fd, const char *buf, size_t len, off_t off)
{
  while (len > 0)
    {
      ssize_t r = pwrite (fd, buf, len, off);
      if (r < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      buf += r;
      off += r;
      len -= (size_t)r;
    }
  return 0;
}

bool
hutch_layer_is_whiteout (const struct stat *st)
{
  return S_ISCHR (st->st_mode) && st->st_rdev == makedev (0, 0);
}

/* overlayfs and fuse-overlayfs keep their own state in these xattrs (opaque,
   redirect, origin, metacopy, ...): one planted by a layer would make the
   overlay show what the layer does not contain, e.g. redirect a directory to
   another layer's.  Whiteouts and opaque directories come from `.wh.` entries
   only.  */
bool
hutch_layer_is_overlay_xattr (const char *name)
{
  return hutch_str_has_prefix (name, "user.overlay.")
         || hutch_str_has_prefix (name, "trusted.overlay.")
         || hutch_str_has_prefix (name, "user.fuseoverlayfs.")
         || hutch_str_has_prefix (name, "trusted.fuseoverlayfs.");
}

void
hutch_layer_set_xattr (const struct hutch_unpack_opts *opts, char ***warned, int fd,
                       const char *path, const char *name, const void *value, size_t size)
{
  _cleanup_free_ char *sname = NULL, *spath = NULL;

  if (!hutch_layer_is_overlay_xattr (name) && fsetxattr (fd, name, value, size, 0) == 0)
    return;
  sname = hutch_walk_shown (name);
  spath = hutch_walk_shown (path);
  if (hutch_layer_is_overlay_xattr (name))
    warn_once (opts, warned, name,
               "dropped xattr `%s` of `%s` (and any other file): it is overlayfs's own metadata "
               "and would change how the layer is read",
               sname, spath);
  else
    warn_once (opts, warned, name,
               "cannot set xattr `%s` on `%s` (%s); it is dropped there and on any other file",
               sname, spath, strerror (errno));
}

/* A file that cannot get its owner (one id in the namespace) gets it
   recorded, as root emulation records a chown (base/override.h), so that
   a container's stat shows it and a layer made of it has it; root's files
   need nothing.  On a file system without user attributes the file
   stays root's, as before.  */
static void
record_owner (int fd, const struct meta *m)
{
  struct hutch_override o = { .uid = m->uid, .gid = m->gid, .mode = m->perm & 07777 };
  struct stat st;

  if ((m->uid == 0 && m->gid == 0) || fstat (fd, &st) < 0
      || (!S_ISREG (st.st_mode) && !S_ISDIR (st.st_mode)))
    return;
  (void)hutch_override_set (fd, &o);
}

/* Owner, then mode: chown(2) clears the setuid and setgid bits (and
   security.capability) of a file, so the mode goes second and xattrs after
   it.  Times come last of all (set_times), as writing the data changed
   them.  */
int
hutch_layer_set_owner_mode (const struct hutch_unpack_opts *opts, int fd, const struct meta *m,
                            const char *path, hutch_error_t *err)
{
  if (!opts->chown)
    record_owner (fd, m);
  if (opts->chown && fchown (fd, m->uid, m->gid) < 0)
    {
      _cleanup_free_ char *s = hutch_walk_shown (path);
      return hutch_error_set (err, errno,
                              "give `%s` its owner %u:%u (is the layer unpacked inside a user "
                              "namespace with the full subordinate id mapping?)",
                              s, (unsigned)m->uid, (unsigned)m->gid);
    }
  if (fchmod (fd, m->perm) < 0)
    {
      _cleanup_free_ char *s = hutch_walk_shown (path);
      return hutch_error_set (err, errno, "set the mode of `%s` in the layer", s);
    }
  return 0;
}

int
hutch_layer_set_times (int fd, const struct meta *m, const char *path, hutch_error_t *err)
{
  if (futimens (fd, m->times) < 0)
    {
      _cleanup_free_ char *s = hutch_walk_shown (path);
      return hutch_error_set (err, errno, "set the times of `%s` in the layer", s);
    }
  return 0;
}

void
hutch_layer_meta_from_stat (const struct stat *st, struct meta *m)
{
  m->perm = st->st_mode & 07777;
  m->uid = st->st_uid;
  m->gid = st->st_gid;
  m->times[0] = st->st_atim;
  m->times[1] = st->st_mtim;
}

void
hutch_layer_dir_list_add (struct dir_list *l, const char *path, const struct stat *st,
                          const struct meta *m)
{
  struct dir_meta *d;
  const char *p;

  if (l->n == l->cap)
    {
      l->cap = l->cap ? l->cap * 2 : 256;
      l->v = hutch_xrealloc (l->v, l->cap * sizeof *l->v);
    }
  d = &l->v[l->n];
  memset (d, 0, sizeof *d);
  d->path = hutch_xstrdup (path);
  d->dev = st->st_dev;
  d->ino = st->st_ino;
  d->meta = *m;
  d->depth = *path ? 1 : 0;
  for (p = path; *p; p++)
    d->depth += *p == '/';
  d->seq = l->n++;
}

void
hutch_layer_dir_list_clear (struct dir_list *l)
{
  size_t i;
  for (i = 0; i < l->n; i++)
    free (l->v[i].path);
  free (l->v);
  memset (l, 0, sizeof *l);
}

static int
cmp_inode (const void *a, const void *b)
{
  const struct dir_meta *x = a, *y = b;
  if (x->dev != y->dev)
    return x->dev < y->dev ? -1 : 1;
  if (x->ino != y->ino)
    return x->ino < y->ino ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Deepest first, so that a parent made read-only (or unsearchable) does not
   stop the caller from reaching its children.  */
static int
cmp_depth (const void *a, const void *b)
{
  const struct dir_meta *x = a, *y = b;
  if (x->depth != y->depth)
    return x->depth > y->depth ? -1 : 1;
  return x->seq > y->seq ? -1 : x->seq < y->seq;
}

/* Apply the recorded directory metadata.  A directory named twice (a layer
   that repeats an entry, or several layers when flattening) gets what was
   recorded last.  Each is reopened beneath ROOTFD (with RESOLVE extra flags)
   and must still be the inode recorded, or it is skipped: a later entry
   replaced it, and its metadata must not land on whatever is there now.  */
int
hutch_layer_dir_list_apply (struct dir_list *l, int rootfd, uint64_t resolve,
                            const struct hutch_unpack_opts *opts, hutch_error_t *err)
{
  size_t i;

  if (l->n == 0)
    return 0; /* qsort's array must not be NULL, even when empty */
  qsort (l->v, l->n, sizeof *l->v, cmp_inode);
  for (i = 0; i + 1 < l->n; i++)
    l->v[i].stale = l->v[i].dev == l->v[i + 1].dev && l->v[i].ino == l->v[i + 1].ino;
  qsort (l->v, l->n, sizeof *l->v, cmp_depth);
  for (i = 0; i < l->n; i++)
    {
      struct dir_meta *d = &l->v[i];
      _cleanup_close_ int fd = -1;
      struct stat st;

      if (d->stale)
        continue;
      fd = hutch_walk_open_beneath (rootfd, d->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, resolve);
      if (fd < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP))
        continue;
      if (fd < 0 || fstat (fd, &st) < 0)
        {
          _cleanup_free_ char *s = hutch_walk_shown (d->path);
          return hutch_error_set (err, errno, "open directory `%s` in the layer", s);
        }
      if (st.st_dev != d->dev || st.st_ino != d->ino)
        continue;
      if (hutch_layer_set_owner_mode (opts, fd, &d->meta, d->path, err) < 0
          || hutch_layer_set_times (fd, &d->meta, d->path, err) < 0)
        return -1;
    }
  return 0;
}

struct unpacker
{
  int dirfd;
  const struct hutch_unpack_opts *opts;
  struct hutch_unpack_stats stats;
  /* The last parent directory opened, for the next entry in the same one.  */
  char *parent;
  int parentfd;
  struct dir_list dirs;
  char **warned;
  unsigned long devices;
  char *first_device;
  /* What a file gets when it is made (learn_defaults): the owner
     NEW_UID:NEW_GID, when KNOW_OWNER; the mode asked for less UMASK, when
     KNOW_MODE.  A file made so needs no fchown, and usually no fchmod.  */
  uid_t new_uid;
  gid_t new_gid;
  mode_t umask;
  bool know_owner, know_mode;
  hutch_error_t *err;
};

/* Check an entry's name (or a hard link's target: WHAT says which) and return
   its canonical form relative to the layer's root: no leading "./", no "." or
   empty components, no trailing slash; "" is the root itself.  The checks
   are the one name cleaner's (base/walk.c); the words are the layer's.  */
static int
clean_name (const char *entry, const char *what, const char *name, char **ret, hutch_error_t *err)
{
  size_t len;

  switch (hutch_walk_clean_name (name, ret, &len))
    {
    case HUTCH_WALK_NAME_OK:
      return 0;
    case HUTCH_WALK_NAME_EMPTY:
      return refuse (err, entry, "%s is empty", what);
    case HUTCH_WALK_NAME_TOO_LONG:
      return refuse (err, entry, "%s is %zu bytes long, more than the %d Linux allows", what, len,
                     MAX_PATH);
    case HUTCH_WALK_NAME_ABSOLUTE:
      return refuse (err, entry, "%s is absolute; names in a layer are relative to its root", what);
    case HUTCH_WALK_NAME_DOTDOT:
      return refuse (err, entry, "%s has a `..` component, which could reach outside the layer",
                     what);
    case HUTCH_WALK_NAME_COMPONENT_TOO_LONG:
    default:
      return refuse (err, entry, "%s has a component of %zu bytes, more than the %d Linux allows",
                     what, len, MAX_COMPONENT);
    }
}

/* aufs kept its own bookkeeping in `.wh..wh.*` files and directories
   (.wh..wh.plnk, .wh..wh.aufs); docker skips them, and so do we.  The opaque
   marker is the one such name with a meaning.  */
static bool
is_aufs_meta (const char *path)
{
  const char *p = path;

  for (;;)
    {
      const char *end = strchrnul (p, '/');
      if (hutch_str_has_prefix (p, WHITEOUT_META_PREFIX)
          && !(*end == '\0' && strcmp (p, WHITEOUT_OPAQUE) == 0))
        return true;
      if (*end == '\0')
        return false;
      p = end + 1;
    }
}

/* An entry's metadata from the archive.  */
static int
entry_meta (struct archive_entry *e, const char *entry, struct meta *m, hutch_error_t *err)
{
  la_int64_t uid = archive_entry_uid (e), gid = archive_entry_gid (e);
  int i;

  /* (uid_t)-1 means "leave unchanged" to chown(2), and there is nothing
     above it.  */
  if (uid < 0 || uid >= UINT32_MAX || gid < 0 || gid >= UINT32_MAX)
    return refuse (err, entry, "its owner %lld:%lld is not a valid uid:gid", (long long)uid,
                   (long long)gid);
  m->uid = (uid_t)uid;
  m->gid = (gid_t)gid;
  m->perm = archive_entry_perm (e) & 07777;
  m->times[1].tv_sec = archive_entry_mtime (e);
  m->times[1].tv_nsec = archive_entry_mtime_is_set (e) ? archive_entry_mtime_nsec (e) : UTIME_OMIT;
  m->times[0] = m->times[1];
  if (archive_entry_atime_is_set (e))
    {
      m->times[0].tv_sec = archive_entry_atime (e);
      m->times[0].tv_nsec = archive_entry_atime_nsec (e);
    }
  for (i = 0; i < 2; i++)
    if (m->times[i].tv_nsec != UTIME_OMIT
        && (m->times[i].tv_nsec < 0 || m->times[i].tv_nsec >= 1000000000))
      m->times[i].tv_nsec = 0;
  return 0;
}

static void
set_entry_xattrs (struct unpacker *u, int fd, struct archive_entry *e, const char *path)
{
  const char *name;
  const void *value;
  size_t size;

  if (archive_entry_xattr_reset (e) == 0)
    return;
  while (archive_entry_xattr_next (e, &name, &value, &size) == ARCHIVE_OK)
    {
      /* A default ACL on a directory replaces the umask for what is made in
         it: from now on the mode of a new file is not known in advance.  */
      if (strcmp (name, "system.posix_acl_default") == 0)
        u->know_mode = false;
      hutch_layer_set_xattr (u->opts, &u->warned, fd, path, name, value, size);
    }
}

/* The process's umask, without changing it (umask(2) only swaps it, and
   another thread could make a file in between): /proc/self/status has it
   since Linux 4.7.  */
static int
read_umask (mode_t *ret)
{
  _cleanup_fclose_ FILE *f = fopen ("/proc/self/status", "re");
  char line[128];

  while (f && fgets (line, sizeof line, f))
    if (hutch_str_has_prefix (line, "Umask:"))
      {
        *ret = (mode_t)strtoul (line + strlen ("Umask:"), NULL, 8) & 0777;
        return 0;
      }
  return -1;
}

/* What the files made in the layer will get.  Directories keep mode 0700
   and their directory's setgid bit until hutch_layer_dir_list_apply, so
   below a layer directory that is not setgid a new file belongs to our
   effective ids.  A default ACL there (or set by an entry, see
   set_entry_xattrs) would decide modes instead of the umask.  Anything
   unsure means "unknown", and the file gets fchown and fchmod as always.  */
static void
learn_defaults (struct unpacker *u)
{
  struct stat st;

  u->new_uid = geteuid ();
  u->new_gid = getegid ();
  u->know_owner = fstat (u->dirfd, &st) == 0 && S_ISDIR (st.st_mode) && !(st.st_mode & S_ISGID);
  u->know_mode = u->know_owner && read_umask (&u->umask) == 0
                 && fgetxattr (u->dirfd, "system.posix_acl_default", NULL, 0) < 0
                 && (errno == ENODATA || errno == ENOTSUP);
}

/* Whether a file just made already has the owner M asks for.  */
static bool
owned_as_made (const struct unpacker *u, const struct meta *m)
{
  return u->know_owner && m->uid == u->new_uid && m->gid == u->new_gid;
}

/* The mode to make a regular file with: its own, when the mode it gets is
   known (and no setuid, setgid or sticky bit, which go on last: see
   hutch_layer_set_owner_mode), or 0600 until its fchmod.  Writing into it
   goes through the fd of its creation, whatever the mode says.  */
static mode_t
create_mode (const struct unpacker *u, const struct meta *m)
{
  return u->know_mode ? m->perm & 0777 : 0600;
}

/* Metadata M of a file or FIFO, through an fd of it.  MADE is the mode it
   was made with (mode_t -1: unknown).  Owner, then mode, then xattrs, then
   times, as hutch_layer_set_owner_mode explains; the fchown and the fchmod
   are left out when the file has what they would give it.  */
static int
apply_entry_meta (struct unpacker *u, int fd, struct archive_entry *e, const struct meta *m,
                  mode_t made, const char *path)
{
  bool known = made != (mode_t)-1 && u->know_mode;

  if (!u->opts->chown)
    record_owner (fd, m);
  if (u->opts->chown && !owned_as_made (u, m))
    {
      if (hutch_layer_set_owner_mode (u->opts, fd, m, path, u->err) < 0)
        return -1;
    }
  else if ((!known || (made & ~u->umask) != m->perm) && fchmod (fd, m->perm) < 0)
    {
      _cleanup_free_ char *s = hutch_walk_shown (path);
      return hutch_error_set (u->err, errno, "set the mode of `%s` in the layer", s);
    }
  set_entry_xattrs (u, fd, e, path);
  return hutch_layer_set_times (fd, m, path, u->err);
}

static void
forget_parent (struct unpacker *u)
{
  /* The fd stays open until the next lookup replaces it: the caller may be
     using it.  */
  free (u->parent);
  u->parent = NULL;
}

static int
set_opaque (int fd, const char *path, hutch_error_t *err)
{
  _cleanup_close_ int dfd = openat (fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (dfd >= 0 && fsetxattr (dfd, OPAQUE_XATTR, "y", 1, 0) == 0)
    return 0;
  {
    _cleanup_free_ char *s = hutch_walk_shown (*path ? path : ".");
    return hutch_error_set (err, errno,
                            "mark directory `%s` of the layer opaque (xattr " OPAQUE_XATTR ")%s", s,
                            errno == ENOTSUP ? "; put the store on a filesystem with user "
                                               "xattrs (ext4, xfs, btrfs; tmpfs since Linux 6.6)"
                                             : "");
  }
}

/* WHAT: "its directory" or "its hard link target's directory".  */
static int
parent_error (struct unpacker *u, const char *entry, const char *what, const char *parent,
              int errnum)
{
  _cleanup_free_ char *s = hutch_walk_shown (parent);

  if (errnum == EXDEV)
    return refuse (u->err, entry,
                   "%s `%s` leads out of the layer through a symlink, and what is written "
                   "there would land outside it",
                   what, s);
  if (errnum == ELOOP)
    return refuse (u->err, entry, "%s `%s` goes through too many symlinks", what, s);
  return hutch_error_set (u->err, errnum, "open directory `%s` in the layer", s);
}

/* What make_parents' walk needs to know of the entry.  */
struct parents_walk
{
  struct unpacker *u;
  const char *entry;
  char *opaque; /* the directory to make opaque (it replaces a whiteout), or NULL */
};

static int
parents_open_error (void *data, const char *prefix, int errnum, hutch_error_t *err)
{
  struct parents_walk *w = data;

  (void)err; /* parent_error fills the unpacker's, the same one */
  return parent_error (w->u, w->entry, "its directory", prefix, errnum);
}

static int
parents_in_the_way (void *data, int dirfd, const char *name, const char *prefix,
                    const struct stat *st, hutch_error_t *err)
{
  struct parents_walk *w = data;
  _cleanup_free_ char *s = hutch_walk_shown (prefix);

  if (S_ISLNK (st->st_mode))
    return refuse (err, w->entry,
                   "its directory `%s` is a symlink that leads to no directory in the layer", s);
  if (!hutch_layer_is_whiteout (st))
    return refuse (err, w->entry, "its directory `%s` is not a directory", s);
  /* The layer deleted this directory of the layers below and now puts
     entries in it without a directory entry: the directory is new, so the
     old contents stay hidden, as overlayfs does for a directory deleted and
     made again.  */
  if (unlinkat (dirfd, name, 0) < 0)
    return hutch_error_set (err, errno, "remove whiteout `%s` in the layer", s);
  forget_parent (w->u);
  /* by name: should the mkdir that follows find the name taken after all,
     no later directory of the walk may take the mark  */
  free (w->opaque);
  w->opaque = hutch_xstrdup (prefix);
  return 0;
}

static int
parents_made (void *data, int fd, const char *prefix, hutch_error_t *err)
{
  struct parents_walk *w = data;
  _cleanup_free_ char *marked = HUTCH_STEAL_PTR (w->opaque);

  if (marked == NULL || strcmp (marked, prefix) != 0)
    return 0;
  return set_opaque (fd, prefix, err);
}

/* Create the missing directories of PARENT (as tar does for an entry whose
   directory has no entry of its own), each step opened beneath the layer
   (base/walk.c).  */
static int
make_parents (struct unpacker *u, const char *entry, const char *parent)
{
  static const struct hutch_walk_mkdir_ops ops = { .where = "the layer",
                                                   .open_error = parents_open_error,
                                                   .in_the_way = parents_in_the_way,
                                                   .made = parents_made };
  struct parents_walk w = { .u = u, .entry = entry };
  int r = hutch_walk_mkdir (u->dirfd, parent, 0755, RESOLVE_BENEATH, &ops, &w, u->err);

  free (w.opaque);
  return r;
}

/* The directory an entry goes in, as an O_PATH fd owned by U.  */
static int
get_parent (struct unpacker *u, const char *entry, const char *parent)
{
  int fd;

  if (u->parent && strcmp (u->parent, parent) == 0)
    return u->parentfd;
  fd = hutch_walk_open_beneath (u->dirfd, parent, O_PATH | O_DIRECTORY, 0);
  if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
    fd = make_parents (u, entry, parent);
  else if (fd < 0)
    return parent_error (u, entry, "its directory", parent, errno);
  if (fd < 0)
    return fd;
  forget_parent (u);
  if (u->parentfd >= 0)
    close (u->parentfd);
  u->parent = hutch_xstrdup (parent);
  u->parentfd = fd;
  return fd;
}

/* Remove what an earlier entry of this layer left at BASE, so that the new
   entry is created afresh: opening the existing name would write through a
   symlink to wherever it points, or into the other names of a hard link
   (CVE-2014-6407).  */
static int
remove_existing (struct unpacker *u, int parentfd, const char *base, const char *entry)
{
  struct stat st;
  _cleanup_free_ char *s = NULL;

  if (fstatat (parentfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      if (errno == ENOENT)
        return 0;
      s = hutch_walk_shown (entry);
      return hutch_error_set (u->err, errno, "look at `%s` in the layer", s);
    }
  /* Removing a name can change where a cached path leads (a symlink
     replaced by a directory).  */
  forget_parent (u);
  if (unlinkat (parentfd, base, S_ISDIR (st.st_mode) ? AT_REMOVEDIR : 0) == 0)
    return 0;
  s = hutch_walk_shown (entry);
  if (errno == ENOTEMPTY || errno == EEXIST)
    return hutch_error_set (u->err, 0,
                            "layer entry `%s` replaces a directory of the same layer that is not "
                            "empty; the layer is malformed",
                            s);
  return hutch_error_set (u->err, errno, "remove `%s` in the layer to replace it", s);
}

/* What to create at a name: a regular file, a symlink, a FIFO, or (type 0) a
   hard link.  */
struct node
{
  mode_t type;
  mode_t perm; /* of a regular file */
  const char *target;
  int link_dirfd;
  const char *link_name;
};

static int
make_node (int parentfd, const char *base, const struct node *node)
{
  switch (node->type)
    {
    case S_IFREG:
      return openat (parentfd, base,
                     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, node->perm);
    case S_IFLNK:
      return symlinkat (node->target, parentfd, base);
    case S_IFIFO:
      return mknodat (parentfd, base, S_IFIFO | 0600, 0);
    default:
      /* No AT_SYMLINK_FOLLOW: a hard link to a symlink links the symlink
         itself, never what it points to.  */
      return linkat (node->link_dirfd, node->link_name, parentfd, base, 0);
    }
}

/* Create NODE at BASE, replacing an entry of the same name as tar does.
   Returns an fd for a regular file, 0 otherwise.  */
static int
create_node (struct unpacker *u, int parentfd, const char *base, const char *entry,
             const struct node *node)
{
  int r = make_node (parentfd, base, node);
  _cleanup_free_ char *s = NULL, *t = NULL;

  if (r < 0 && errno == EEXIST)
    {
      if (remove_existing (u, parentfd, base, entry) < 0)
        return -1;
      r = make_node (parentfd, base, node);
    }
  if (r >= 0)
    return r;
  s = hutch_walk_shown (entry);
  if (node->type == 0)
    {
      struct stat st;
      int errnum = errno;

      t = hutch_walk_shown (node->link_name);
      if (errnum == ENOENT)
        return refuse (u->err, entry,
                       "its hard link target `%s` is not an earlier entry of the layer", t);
      /* EPERM is also what fs.protected_hardlinks answers for a file that is
         not ours; say "directory" only when it is one.  */
      if (errnum == EPERM
          && fstatat (node->link_dirfd, node->link_name, &st, AT_SYMLINK_NOFOLLOW) == 0
          && S_ISDIR (st.st_mode))
        return refuse (u->err, entry, "it is a hard link to `%s`, a directory", t);
      errno = errnum;
    }
  return hutch_error_set (u->err, errno, "create `%s` in the layer", s);
}

static int
read_error (struct unpacker *u, struct archive *a, const char *entry)
{
  const char *msg = archive_error_string (a);
  int errnum = archive_errno (a);

  if (msg == NULL)
    msg = "unknown error";
  /* libarchive reports a malformed archive as EILSEQ (ARCHIVE_ERRNO_FILE_FORMAT)
     with a message of its own, which "Invalid or incomplete multibyte or wide
     character" would only obscure; other errno values are the system's.  */
  if (errnum == EILSEQ || errnum < 0)
    errnum = 0;
  if (entry)
    {
      _cleanup_free_ char *s = hutch_walk_shown (entry);
      return hutch_error_set (u->err, errnum, "read layer entry `%s`: %s", s, msg);
    }
  hutch_error_set (u->err, errnum, "read the layer: %s", msg);
  return hutch_error_append (u->err, "a layer must be a tar archive, plain or compressed with "
                                     "gzip or zstd, and complete");
}

static int
write_data (struct unpacker *u, struct archive *a, struct archive_entry *e, int fd,
            const char *entry)
{
  la_int64_t end = 0, size = archive_entry_size_is_set (e) ? archive_entry_size (e) : 0;

  for (;;)
    {
      const void *buf;
      size_t len;
      la_int64_t off;
      int r = archive_read_data_block (a, &buf, &len, &off);

      if (r == ARCHIVE_EOF)
        break;
      if (r < ARCHIVE_WARN)
        return read_error (u, a, entry);
      if (pwrite_all (fd, buf, len, (off_t)off) < 0)
        {
          _cleanup_free_ char *s = hutch_walk_shown (entry);
          return hutch_error_set (u->err, errno, "write `%s` in the layer", s);
        }
      u->stats.bytes += len;
      if (off + (la_int64_t)len > end)
        end = off + (la_int64_t)len;
    }
  /* A sparse file's last hole is in no data block: extend to the size the
     header gives.  */
  if (size > end && ftruncate (fd, (off_t)size) < 0)
    {
      _cleanup_free_ char *s = hutch_walk_shown (entry);
      return hutch_error_set (u->err, errno, "extend `%s` in the layer", s);
    }
  return 0;
}

static int
unpack_file (struct unpacker *u, struct archive *a, struct archive_entry *e, const char *entry,
             int parentfd, const char *path, const char *base)
{
  struct node node = { .type = S_IFREG };
  _cleanup_close_ int fd = -1;
  struct meta m;

  if (entry_meta (e, entry, &m, u->err) < 0)
    return -1;
  node.perm = create_mode (u, &m);
  fd = create_node (u, parentfd, base, entry, &node);
  if (fd < 0 || write_data (u, a, e, fd, entry) < 0)
    return -1;
  return apply_entry_meta (u, fd, e, &m, node.perm, path);
}

static int
unpack_fifo (struct unpacker *u, struct archive_entry *e, const char *entry, int parentfd,
             const char *path, const char *base)
{
  struct node node = { .type = S_IFIFO };
  _cleanup_close_ int fd = -1;
  struct meta m;

  if (entry_meta (e, entry, &m, u->err) < 0 || create_node (u, parentfd, base, entry, &node) < 0)
    return -1;
  /* O_NONBLOCK: opening a FIFO for reading does not wait for a writer.  */
  fd = openat (parentfd, base, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    {
      _cleanup_free_ char *s = hutch_walk_shown (entry);
      return hutch_error_set (u->err, errno, "open FIFO `%s` in the layer", s);
    }
  return apply_entry_meta (u, fd, e, &m, (mode_t)-1, path);
}

static int
unpack_symlink (struct unpacker *u, struct archive_entry *e, const char *entry, int parentfd,
                const char *path, const char *base)
{
  const char *target = archive_entry_symlink (e);
  struct node node = { .type = S_IFLNK, .target = target };
  _cleanup_free_ char *s = NULL;
  struct meta m;

  /* The target is stored, never followed here (every walk is
     RESOLVE_BENEATH), so an absolute target or a `..` is fine: it means a
     path in the container.  */
  if (target == NULL || *target == '\0')
    return refuse (u->err, entry, "it is a symlink with an empty target");
  if (strlen (target) > MAX_PATH)
    return refuse (u->err, entry, "its symlink target is longer than the %d bytes Linux allows",
                   MAX_PATH);
  if (entry_meta (e, entry, &m, u->err) < 0 || create_node (u, parentfd, base, entry, &node) < 0)
    return -1;
  s = hutch_walk_shown (path);
  if (u->opts->chown && !owned_as_made (u, &m)
      && fchownat (parentfd, base, m.uid, m.gid, AT_SYMLINK_NOFOLLOW) < 0)
    return hutch_error_set (u->err, errno, "give symlink `%s` its owner %u:%u", s, (unsigned)m.uid,
                            (unsigned)m.gid);
  if (utimensat (parentfd, base, m.times, AT_SYMLINK_NOFOLLOW) < 0)
    return hutch_error_set (u->err, errno, "set the times of symlink `%s`", s);
  /* Linux has no fd-based way to set a symlink's xattrs before 6.13
     (setxattrat), and user.* ones are not allowed on symlinks anyway.  */
  if (archive_entry_xattr_count (e) > 0)
    warn_once (u->opts, &u->warned, "\001symlink-xattrs",
               "xattrs of symlink `%s` (and any other) are not kept", s);
  return 0;
}

static int
unpack_hardlink (struct unpacker *u, const char *entry, const char *raw_target, int parentfd,
                 const char *path, const char *base)
{
  _cleanup_free_ char *st = hutch_walk_shown (raw_target), *what = NULL, *target = NULL,
                      *tparent = NULL;
  _cleanup_close_ int tparentfd = -1;
  struct node node = { .type = 0 };
  const char *slash;

  what = hutch_xasprintf ("its hard link target `%s`", st);
  if (clean_name (entry, what, raw_target, &target, u->err) < 0)
    return -1;
  if (*target == '\0')
    return refuse (u->err, entry, "it is a hard link to the layer's root directory");
  if (strcmp (target, path) == 0)
    return 0;
  slash = strrchr (target, '/');
  tparent = slash ? hutch_xstrndup (target, (size_t)(slash - target)) : hutch_xstrdup ("");
  /* The target's directory is resolved like an entry's: a hard link reached
     through a symlink that leaves the layer would give a host file (say
     /etc/shadow) a second name inside the layer, writable from the container
     (CVE-2014-6407).  */
  tparentfd = hutch_walk_open_beneath (u->dirfd, tparent, O_PATH | O_DIRECTORY, 0);
  if (tparentfd < 0 && (errno == ENOENT || errno == ENOTDIR))
    return refuse (u->err, entry, "its hard link target `%s` is not an earlier entry of the layer",
                   st);
  if (tparentfd < 0)
    return parent_error (u, entry, "its hard link target's directory", tparent, errno);
  node.link_dirfd = tparentfd;
  node.link_name = slash ? slash + 1 : target;
  return create_node (u, parentfd, base, entry, &node) < 0 ? -1 : 0;
}

/* Record a directory's metadata for later and set its xattrs now.  */
static int
defer_dir (struct unpacker *u, struct archive_entry *e, int fd, const char *entry, const char *path)
{
  struct meta m;
  struct stat st;

  if (entry_meta (e, entry, &m, u->err) < 0)
    return -1;
  if (fstat (fd, &st) < 0)
    return hutch_error_set (u->err, errno, "stat a directory of the layer");
  hutch_layer_dir_list_add (&u->dirs, path, &st, &m);
  set_entry_xattrs (u, fd, e, path);
  return 0;
}

static int
unpack_dir (struct unpacker *u, struct archive_entry *e, const char *entry, int parentfd,
            const char *path, const char *base)
{
  _cleanup_close_ int fd = -1;
  _cleanup_free_ char *s = hutch_walk_shown (path);
  bool opaque = false;
  struct stat st;

  /* 0700 until dir_list_apply gives the real mode.  */
  if (mkdirat (parentfd, base, 0700) < 0)
    {
      if (errno != EEXIST || fstatat (parentfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return hutch_error_set (u->err, errno, "create directory `%s` in the layer", s);
      /* A symlink of the same name is replaced, not followed, like any
         other entry.  */
      if (!S_ISDIR (st.st_mode))
        {
          /* The layer deleted (.wh.NAME) a directory of the layers below
             and made it anew: hide the old contents.  */
          opaque = hutch_layer_is_whiteout (&st);
          if (remove_existing (u, parentfd, base, entry) < 0)
            return -1;
          if (mkdirat (parentfd, base, 0700) < 0)
            return hutch_error_set (u->err, errno, "create directory `%s` in the layer", s);
        }
    }
  fd = openat (parentfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return hutch_error_set (u->err, errno, "open directory `%s` in the layer", s);
  if (opaque && set_opaque (fd, path, u->err) < 0)
    return -1;
  return defer_dir (u, e, fd, entry, path);
}

/* `.wh.NAME` and `.wh..wh..opq`, in the overlay format.  */
static int
unpack_whiteout (struct unpacker *u, const char *entry, int parentfd, const char *parent,
                 const char *base)
{
  const char *victim = base + strlen (WHITEOUT_PREFIX);
  _cleanup_free_ char *path = NULL, *s = NULL;
  _cleanup_close_ int fd = -1;
  struct stat st;

  if (strcmp (base, WHITEOUT_OPAQUE) == 0)
    return set_opaque (parentfd, parent, u->err);
  /* `.wh.`, `.wh..` and `.wh...` would whiteout nothing, the directory itself
     or its parent; whatever a reader of the layer made of them, it would not
     be a file of the directory.  */
  if (*victim == '\0' || strcmp (victim, ".") == 0 || strcmp (victim, "..") == 0)
    return refuse (u->err, entry, "it is a whiteout of `%s`, which is no name in its directory",
                   victim);
  path = *parent ? hutch_xasprintf ("%s/%s", parent, victim) : hutch_xstrdup (victim);
  s = hutch_walk_shown (path);
  if (mknodat (parentfd, victim, S_IFCHR, makedev (0, 0)) == 0)
    return 0;
  if (errno != EEXIST)
    return hutch_error_set (u->err, errno, "create whiteout `%s` (a 0/0 character device)%s", s,
                            errno == EPERM ? "; Linux allows it unprivileged since 5.8" : "");
  /* The name is an entry of this very layer.  A whiteout only hides the
     layers below (OCI image spec), so the layer's own entry stays; when it
     is a directory, the lower directory's contents must not show through it
     (the layer deleted that directory and made it anew): opaque.  */
  if (fstatat (parentfd, victim, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return hutch_error_set (u->err, errno, "look at `%s` in the layer", s);
  if (!S_ISDIR (st.st_mode))
    return 0;
  fd = openat (parentfd, victim, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return hutch_error_set (u->err, errno, "open directory `%s` in the layer", s);
  return set_opaque (fd, path, u->err);
}

static int
unpack_root (struct unpacker *u, struct archive_entry *e, const char *entry)
{
  _cleanup_close_ int fd = -1;

  if (archive_entry_hardlink (e) || archive_entry_filetype (e) != AE_IFDIR)
    return refuse (u->err, entry, "it names the layer's root, but is not a directory");
  fd = openat (u->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return hutch_error_set (u->err, errno, "open the layer's directory");
  return defer_dir (u, e, fd, entry, "");
}

static void
skip_device (struct unpacker *u, const char *path)
{
  u->stats.skipped++;
  if (u->devices++ == 0)
    u->first_device = hutch_xstrdup (path);
}

static int
unpack_entry (struct unpacker *u, struct archive *a, struct archive_entry *e)
{
  const char *entry = archive_entry_pathname (e), *base, *slash, *hardlink;
  _cleanup_free_ char *path = NULL, *parent = NULL;
  int parentfd;

  /* libarchive ends a name at its first NUL (a pax `path` record may hold
     one), so a name with a NUL arrives here cut short and is checked as
     such: what follows the NUL is never seen by anything.  */
  if (entry == NULL)
    return refuse (u->err, "", "it has no name that can be read");
  if (clean_name (entry, "its name", entry, &path, u->err) < 0)
    return -1;
  if (is_aufs_meta (path))
    {
      u->stats.skipped++;
      return 0;
    }
  if (*path == '\0')
    return unpack_root (u, e, entry);
  slash = strrchr (path, '/');
  parent = slash ? hutch_xstrndup (path, (size_t)(slash - path)) : hutch_xstrdup ("");
  base = slash ? slash + 1 : path;
  parentfd = get_parent (u, entry, parent);
  if (parentfd < 0)
    return -1;
  if (hutch_str_has_prefix (base, WHITEOUT_PREFIX))
    return unpack_whiteout (u, entry, parentfd, parent, base);
  hardlink = archive_entry_hardlink (e);
  if (hardlink)
    return unpack_hardlink (u, entry, hardlink, parentfd, path, base);
  switch (archive_entry_filetype (e))
    {
    case AE_IFDIR:
      return unpack_dir (u, e, entry, parentfd, path, base);
    case AE_IFREG:
      return unpack_file (u, a, e, entry, parentfd, path, base);
    case AE_IFLNK:
      return unpack_symlink (u, e, entry, parentfd, path, base);
    case AE_IFIFO:
      return unpack_fifo (u, e, entry, parentfd, path, base);
    case AE_IFCHR:
    case AE_IFBLK:
      /* Never created, even when we could (real root): a device node in an
         image would give the container the host's disks or memory, and a
         user namespace cannot make one anyway.  Containers get their /dev
         from hutch.  */
      skip_device (u, path);
      return 0;
    default:
      {
        _cleanup_free_ char *s = hutch_walk_shown (path);
        u->stats.skipped++;
        hutch_layer_warn (u->opts, "skipped layer entry `%s`: a socket or an unknown file type", s);
        return 0;
      }
    }
}

static int
unpack_all (struct unpacker *u, struct archive *a)
{
  for (;;)
    {
      struct archive_entry *e;
      int r = archive_read_next_header (a, &e);

      if (r == ARCHIVE_EOF)
        return 0;
      if (r == ARCHIVE_WARN)
        hutch_layer_warn (u->opts, "reading the layer: %s", archive_error_string (a));
      else if (r != ARCHIVE_OK)
        return read_error (u, a, NULL);
      u->stats.entries++;
      if (unpack_entry (u, a, e) < 0)
        return -1;
    }
}

/* The tar reader stops at the end-of-archive blocks; the diff_id covers
   the whole stream, so read (and hash) what follows them too.  */
static int
finish_diff_id (struct unpacker *u, struct archive *a, struct hutch_feeder *f)
{
  const void *buf;
  ssize_t n;

  while ((n = hutch_feeder_read (a, f, &buf)) > 0)
    ;
  if (n < 0)
    return read_error (u, a, NULL);
  return hutch_feeder_diff_id (f, u->stats.diff_id, u->err);
}

void
hutch_unpack_preload (void)
{
  (void)hutch_libarchive ();
  (void)hutch_gunzip_available ();
}

int
hutch_archive_unpack (int fd, int dirfd, const struct hutch_unpack_opts *opts,
                      struct hutch_unpack_stats *ret_stats, hutch_error_t *err)
{
  struct unpacker u = { .dirfd = dirfd, .opts = opts, .parentfd = -1, .err = err };
  struct hutch_feeder *f = NULL;
  struct archive *a;
  int r;

  if (opts->whiteouts != HUTCH_WHITEOUT_OVERLAY)
    return hutch_error_set (err, EINVAL, "unpack a layer: unknown whiteout format");
  learn_defaults (&u);
  if (hutch_feeder_start (fd, opts, &f, err) < 0)
    return -1;
  a = archive_read_new ();
  if (a == NULL)
    {
      hutch_feeder_free (f);
      return hutch_error_set (err, ENOMEM, "start libarchive");
    }
  /* "tar" reads ustar, pax and GNU tar; "empty" a layer with no entry at all.
     No decompression here: the feeder did it.  */
  archive_read_support_format_tar (a);
  archive_read_support_format_empty (a);
  if (archive_read_open (a, f, NULL, hutch_feeder_read, NULL) != ARCHIVE_OK)
    r = read_error (&u, a, NULL);
  else
    r = unpack_all (&u, a);
  if (r == 0 && opts->diff_id)
    r = finish_diff_id (&u, a, f);
  u.stats.igzip = hutch_feeder_igzip (f);
  archive_read_free (a);
  hutch_feeder_free (f);
  if (u.parentfd >= 0)
    close (u.parentfd);
  free (u.parent);
  if (r == 0)
    r = hutch_layer_dir_list_apply (&u.dirs, dirfd, 0, opts, err);
  if (r == 0 && u.devices > 0)
    {
      _cleanup_free_ char *s = hutch_walk_shown (u.first_device);
      hutch_layer_warn (
          opts,
          "skipped %lu device node%s of the layer (`%s`%s): a container gets its /dev from "
          "hutch",
          u.devices, u.devices > 1 ? "s" : "", s, u.devices > 1 ? ", ..." : "");
    }
  hutch_layer_dir_list_clear (&u.dirs);
  hutch_strv_free (u.warned);
  free (u.first_device);
  if (r < 0)
    return r;
  if (ret_stats)
    *ret_stats = u.stats;
  return 0;
}

/* Flattening.  Source layers are trusted to be hutch_archive_unpack's output,
   but the destination is still walked with *at() calls and O_NOFOLLOW on
   every step, so that no symlink in it is ever followed.  */
