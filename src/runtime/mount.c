/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "runtime/mount.h"
#include "runtime/hooks.h"
#include "runtime/devices.h"
#include "base/syscalls.h"
#include "base/util.h"
#include "base/walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <unistd.h>

/* Devices a container gets when its /dev is a fresh tmpfs.  An unprivileged
   user namespace may not mknod, so they are bind mounts of the host's own
   nodes, which grant nothing the user does not already have.  */
static const char *const default_devices[] = { "null", "zero", "full", "random", "urandom", "tty" };
#define N_DEVICES (sizeof default_devices / sizeof default_devices[0])

/* A mount's options: flags for the mount itself (ATTR_*, for a bind
   recursively with rbind, as hutch always did: a read-only volume is
   read-only with its submounts), flags for every submount whatever the
   kind of mount (REC_*: rro, rnosuid...: runc's recursive options, set
   with AT_RECURSIVE), its propagation, and the filesystem's own options
   (DATA, for fsconfig).  ATIME: MOUNT_ATTR_RELATIME, _NOATIME or
   _STRICTATIME, or -1 when no option names one (likewise REC_ATIME).  */
struct mount_opts
{
  unsigned long long attr_set, attr_clr, rec_set, rec_clr, propagation;
  int atime, rec_atime;
  bool recursive;      /* rbind (anywhere in the list: rbind wins over bind) */
  bool prop_recursive; /* rprivate, rslave...: the propagation of every submount too */
  bool tmpcopyup;      /* a tmpfs gets what the directory it covers holds (podman's) */
  char **data;         /* filesystem options for fsconfig: "mode=755", "newinstance" */
};

static void
mount_opts_clear (struct mount_opts *o)
{
  hutch_strv_free (o->data);
  o->data = NULL;
}

#define ATTR_FLAGS                                                                                 \
  (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC                    \
   | MOUNT_ATTR_NODIRATIME | MOUNT_ATTR_NOSYMFOLLOW)

/* The flag options, as mount(8) and runc name them; an `r` before one
   makes it recursive (runc's rro, rnosuid, ...).  ATIME >= 0: the atime
   mode it chooses.  */
static const struct
{
  const char *name;
  unsigned long long set, clr;
  int atime;
} mount_flags[] = {
  { "ro", MOUNT_ATTR_RDONLY, 0, -1 },
  { "rw", 0, MOUNT_ATTR_RDONLY, -1 },
  { "nosuid", MOUNT_ATTR_NOSUID, 0, -1 },
  { "suid", 0, MOUNT_ATTR_NOSUID, -1 },
  { "nodev", MOUNT_ATTR_NODEV, 0, -1 },
  { "dev", 0, MOUNT_ATTR_NODEV, -1 },
  { "noexec", MOUNT_ATTR_NOEXEC, 0, -1 },
  { "exec", 0, MOUNT_ATTR_NOEXEC, -1 },
  { "nodiratime", MOUNT_ATTR_NODIRATIME, 0, -1 },
  { "diratime", 0, MOUNT_ATTR_NODIRATIME, -1 },
  { "nosymfollow", MOUNT_ATTR_NOSYMFOLLOW, 0, -1 },
  { "symfollow", 0, MOUNT_ATTR_NOSYMFOLLOW, -1 },
  { "relatime", 0, 0, MOUNT_ATTR_RELATIME },
  { "norelatime", 0, 0, MOUNT_ATTR_STRICTATIME },
  { "noatime", 0, 0, MOUNT_ATTR_NOATIME },
  { "atime", 0, 0, MOUNT_ATTR_RELATIME },
  { "strictatime", 0, 0, MOUNT_ATTR_STRICTATIME },
  { "nostrictatime", 0, 0, MOUNT_ATTR_RELATIME },
};

static int
flag_index (const char *name)
{
  size_t k;
  for (k = 0; k < sizeof mount_flags / sizeof mount_flags[0]; k++)
    if (strcmp (name, mount_flags[k].name) == 0)
      return (int)k;
  return -1;
}

/* OPT as a flag option (plain, else recursive) into O: true when it is
   one.  */
static bool
flag_option (const char *opt, struct mount_opts *o)
{
  int k = flag_index (opt);
  bool rec = k < 0 && opt[0] == 'r' && (k = flag_index (opt + 1)) >= 0;
  unsigned long long *set = rec ? &o->rec_set : &o->attr_set;
  unsigned long long *clr = rec ? &o->rec_clr : &o->attr_clr;

  if (k < 0)
    return false;
  *set = (*set & ~mount_flags[k].clr) | mount_flags[k].set;
  *clr = (*clr & ~mount_flags[k].set) | mount_flags[k].clr;
  if (mount_flags[k].atime >= 0)
    *(rec ? &o->rec_atime : &o->atime) = mount_flags[k].atime;
  return true;
}

/* Options that set nothing, for the mounts made here.  */
#define MOUNT_OPTS_NONE .atime = -1, .rec_atime = -1

static const struct
{
  const char *name;
  unsigned long long prop;
} props[] = {
  { "private", MS_PRIVATE },       { "rprivate", MS_PRIVATE },       { "slave", MS_SLAVE },
  { "rslave", MS_SLAVE },          { "shared", MS_SHARED },          { "rshared", MS_SHARED },
  { "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE },
};

char **
hutch_mount_option_names (void)
{
  char **v = hutch_xmalloc0 (sizeof (char *));
  size_t k;

  hutch_strv_push (&v, hutch_xstrdup ("bind"));
  hutch_strv_push (&v, hutch_xstrdup ("rbind"));
  hutch_strv_push (&v, hutch_xstrdup ("tmpcopyup"));
  for (k = 0; k < sizeof mount_flags / sizeof mount_flags[0]; k++)
    hutch_strv_push (&v, hutch_xstrdup (mount_flags[k].name));
  for (k = 0; k < sizeof mount_flags / sizeof mount_flags[0]; k++)
    hutch_strv_push (&v, hutch_xasprintf ("r%s", mount_flags[k].name));
  for (k = 0; k < sizeof props / sizeof props[0]; k++)
    hutch_strv_push (&v, hutch_xstrdup (props[k].name));
  return v;
}

static int
parse_mount_options (const struct hutch_mount *m, struct mount_opts *o, hutch_error_t *err)
{
  bool is_bind = strcmp (m->type, "bind") == 0;
  size_t i, k;

  memset (o, 0, sizeof *o);
  o->atime = o->rec_atime = -1;
  o->data = hutch_xmalloc0 (sizeof (char *));
  for (i = 0; m->options && m->options[i]; i++)
    {
      const char *opt = m->options[i];
      bool known = false;

      if (strcmp (opt, "bind") == 0 || strcmp (opt, "rbind") == 0)
        {
          if (!is_bind)
            {
              mount_opts_clear (o);
              return hutch_error_set (err, 0, "mount %s: option `%s` needs type bind",
                                      m->destination, opt);
            }
          /* As mount(2)'s flags add up: MS_BIND then MS_BIND|MS_REC is
             recursive, in either order.  */
          o->recursive = o->recursive || opt[0] == 'r';
          continue;
        }
      if (strcmp (opt, "defaults") == 0)
        continue;
      if (strcmp (opt, "tmpcopyup") == 0)
        {
          if (strcmp (m->type, "tmpfs") != 0)
            {
              mount_opts_clear (o);
              return hutch_error_set (err, 0, "mount %s: option `tmpcopyup` needs type tmpfs",
                                      m->destination);
            }
          o->tmpcopyup = true;
          continue;
        }
      for (k = 0; k < sizeof props / sizeof props[0]; k++)
        if (strcmp (opt, props[k].name) == 0)
          {
            o->propagation = props[k].prop;
            o->prop_recursive = props[k].name[0] == 'r';
            known = true;
          }
      if (known || flag_option (opt, o))
        continue;
      if (is_bind)
        {
          mount_opts_clear (o);
          return hutch_error_set (err, 0,
                                  "mount %s: unknown bind mount option `%s` (a bind takes flags "
                                  "such as ro, nosuid, nodev, noexec, their recursive forms rro, "
                                  "rnosuid..., and a propagation)",
                                  m->destination, opt);
        }
      hutch_strv_push (&o->data, hutch_xstrdup (opt));
    }
  return 0;
}

/* Set SET, clear CLR and the atime mode ATIME (-1: left alone) on MNTFD,
   its submounts too with AT_RECURSIVE in FLAGS.  */
static int
setattr_flags (int mntfd, unsigned long long set, unsigned long long clr, int atime,
               unsigned long long propagation, unsigned int flags)
{
  struct mount_attr attr = { 0 };

  attr.attr_set = set & ATTR_FLAGS;
  /* Only clear what is not also being set; "rw" on a fresh mount is a
     no-op.  */
  attr.attr_clr = clr & ATTR_FLAGS & ~attr.attr_set;
  if (atime >= 0)
    {
      /* MOUNT_ATTR__ATIME must be cleared to change it */
      attr.attr_clr |= MOUNT_ATTR__ATIME;
      attr.attr_set |= (unsigned long long)atime;
    }
  attr.propagation = propagation;
  if (attr.attr_set == 0 && attr.attr_clr == 0 && attr.propagation == 0)
    return 0;
  return hutch_mount_setattr (mntfd, "", AT_EMPTY_PATH | flags, &attr);
}

/* O's flags on MNTFD (its submounts too when RECURSIVE), then O's
   recursive flags on it and every submount.  Not the propagation, which
   a mount only takes once attached.  */
static int
set_attrs (int mntfd, const struct mount_opts *o, bool recursive, const char *what,
           hutch_error_t *err)
{
  if (setattr_flags (mntfd, o->attr_set, o->attr_clr, o->atime, 0, recursive ? AT_RECURSIVE : 0) < 0
      || setattr_flags (mntfd, o->rec_set, o->rec_clr, o->rec_atime, 0, AT_RECURSIVE) < 0)
    return hutch_error_set (err, errno, "set the flags of mount %s", what);
  return 0;
}

/* O's propagation on MNTFD, attached by now.  */
static int
set_propagation (int mntfd, const struct mount_opts *o, const char *what, hutch_error_t *err)
{
  if (o->propagation
      && setattr_flags (mntfd, 0, 0, -1, o->propagation, o->prop_recursive ? AT_RECURSIVE : 0) < 0)
    return hutch_error_set (err, errno, "set the propagation of mount %s", what);
  return 0;
}

static int
clone_tree (int dirfd, const char *path, bool recursive, const char *what, hutch_error_t *err)
{
  int fd = hutch_open_tree (dirfd, path,
                            OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0)
                                | (*path ? 0 : AT_EMPTY_PATH));
  if (fd < 0)
    {
      if (errno == ENOSYS)
        return hutch_error_set (
            err, errno,
            "this kernel lacks the new mount API (open_tree); hutch needs Linux 5.12 or later");
      return hutch_error_set (err, errno, "%s", what);
    }
  return fd;
}

/* The rest of the host's view: the devices of --device and linux.devices,
   and the zone file of --tz (read-only).  */
static int
capture_more (const struct hutch_spec *spec, struct hutch_rootfs *rfs, hutch_error_t *err)
{
  struct mount_opts o
      = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
          MOUNT_OPTS_NONE };

  rfs->n_userdevs = spec->n_devices;
  if (hutch_devices_capture (spec, &rfs->userdevfds, err) < 0)
    return -1;
  if (spec->extra.localtime == NULL)
    return 0;
  rfs->localtimefd
      = clone_tree (AT_FDCWD, spec->extra.localtime, false, spec->extra.localtime, err);
  if (rfs->localtimefd < 0)
    return hutch_error_prefix (err, "the zone file for /etc/localtime");
  return set_attrs (rfs->localtimefd, &o, false, "/etc/localtime", err);
}

/* The directories an overlay of the spec's mounts names (lowerdir,
   upperdir, workdir, the lowerdir+ and datadir+ of Linux 6.8), opened in
   the host's view with the bind sources: once the root is attached on
   /tmp of this namespace, a path below /tmp would lead into the root
   instead (that was the "lowerdir not found").  The options get
   /proc/self/fd/N of each, short enough for fsconfig's 255 bytes where
   the directories' own paths may not be; a lowerdir list too long for
   one string goes as one lowerdir+ per layer (Linux 6.8).  Relative
   paths are relative to the bundle, hutch-oci's working directory.  */
static int
capture_overlay_dirs (const struct hutch_mount *m, struct hutch_rootfs *rfs, size_t i,
                      hutch_error_t *err)
{
  struct mount_opts o;
  char **data = hutch_xmalloc0 (sizeof (char *));
  size_t k;

  if (parse_mount_options (m, &o, err) < 0)
    {
      free (data);
      return -1;
    }
  for (k = 0; o.data[k]; k++)
    {
      static const char *const keys[]
          = { "lowerdir=", "upperdir=", "workdir=", "lowerdir+=", "datadir+=" };
      _cleanup_strv_ char **names = hutch_xmalloc0 (sizeof (char *));
      _cleanup_free_ char *value = NULL, *joined = hutch_xstrdup ("");
      const char *key = NULL;
      char *save = NULL, *dir;
      size_t j;

      for (j = 0; j < sizeof keys / sizeof keys[0] && key == NULL; j++)
        if (strncmp (o.data[k], keys[j], strlen (keys[j])) == 0)
          key = keys[j];
      if (key == NULL)
        {
          hutch_strv_push (&data, hutch_xstrdup (o.data[k]));
          continue;
        }
      value = hutch_xstrdup (o.data[k] + strlen (key));
      for (dir = strtok_r (value, ":", &save); dir; dir = strtok_r (NULL, ":", &save))
        {
          int fd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
          char *next;
          if (fd < 0)
            {
              hutch_error_set (err, errno, "mount %s (overlay): %.*s `%s`", m->destination,
                               (int)strlen (key) - 1, key, dir);
              mount_opts_clear (&o);
              hutch_strv_free (data);
              return -1;
            }
          rfs->dirfds = hutch_xrealloc (rfs->dirfds, (rfs->n_dirfds + 1) * sizeof (int));
          rfs->dirfds[rfs->n_dirfds++] = fd;
          hutch_strv_push (&names, hutch_xasprintf ("/proc/self/fd/%d", fd));
          next = hutch_xasprintf ("%s%s%s", joined, *joined ? ":" : "",
                                  names[hutch_strv_len (names) - 1]);
          free (joined);
          joined = next;
        }
      if (strcmp (key, "lowerdir=") == 0 && strlen (joined) > 255)
        for (j = 0; names[j]; j++)
          hutch_strv_push (&data, hutch_xasprintf ("lowerdir+=%s", names[j]));
      else
        hutch_strv_push (&data, hutch_xasprintf ("%s%s", key, joined));
    }
  mount_opts_clear (&o);
  rfs->fsdata[i] = data;
  return 0;
}

/* A private copy of root.path, taken with the other sources in the host's
   view, before B becomes root of its user namespace: as the host's root,
   a bundle under a directory that only root may enter (0700) is
   reachable only now.  */
static int
capture_root (const struct hutch_spec *spec, struct hutch_rootfs *rfs, hutch_error_t *err)
{
  struct stat st;

  if ((spec->extra.overlay && spec->extra.overlay->driver == HUTCH_DRIVER_OVERLAY)
      || spec->extra.host_sandbox)
    return 0;
  if (stat (spec->root_path, &st) < 0)
    return hutch_error_set (err, errno, "root filesystem `%s`", spec->root_path);
  if (!S_ISDIR (st.st_mode))
    return hutch_error_set (err, ENOTDIR, "root filesystem `%s`", spec->root_path);
  rfs->rootfd = clone_tree (AT_FDCWD, spec->root_path, true, spec->root_path, err);
  if (rfs->rootfd < 0)
    return hutch_error_prefix (err, "root filesystem");
  return 0;
}

int
hutch_rootfs_prepare (const struct hutch_spec *spec, struct hutch_rootfs *rfs, hutch_error_t *err)
{
  size_t i;

  memset (rfs, 0, sizeof *rfs);
  rfs->rootfd = -1;
  rfs->nullfd = -1;
  rfs->localtimefd = -1;
  for (i = 0; i < N_DEVICES; i++)
    rfs->devfds[i] = -1;
  rfs->srcfds = hutch_xmalloc0 ((spec->n_mounts + 1) * sizeof (int));
  rfs->volfds = hutch_xmalloc0 ((spec->n_mounts + 1) * sizeof (int));
  rfs->fsdata = hutch_xmalloc0 ((spec->n_mounts + 1) * sizeof (char **));
  for (i = 0; i < spec->n_mounts; i++)
    rfs->srcfds[i] = rfs->volfds[i] = -1;

  rfs->nullfd = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (rfs->nullfd < 0)
    return hutch_error_set (err, errno, "open /dev/null");

  for (i = 0; i < spec->n_mounts; i++)
    {
      const struct hutch_mount *m = &spec->mounts[i];
      struct mount_opts o;
      struct stat st;
      int fd;

      if (strcmp (m->type, "overlay") == 0 && capture_overlay_dirs (m, rfs, i, err) < 0)
        return -1;
      if (strcmp (m->type, "bind") != 0)
        continue;
      if (parse_mount_options (m, &o, err) < 0)
        return -1;
      if (stat (m->source, &st) < 0)
        {
          mount_opts_clear (&o);
          return hutch_error_set (err, errno, "bind mount source `%s` (for %s)", m->source,
                                  m->destination);
        }
      /* A source to copy into or to chown is opened first, and the mount
         cloned from that fd: both act on the same directory.  */
      if ((m->copy_up || m->chown) && (rfs->volfds[i] = open (m->source, O_PATH | O_CLOEXEC)) < 0)
        {
          mount_opts_clear (&o);
          return hutch_error_set (err, errno, "bind mount source `%s` (for %s)", m->source,
                                  m->destination);
        }
      fd = rfs->volfds[i] >= 0 ? clone_tree (rfs->volfds[i], "", o.recursive, m->source, err)
                               : clone_tree (AT_FDCWD, m->source, o.recursive, m->source, err);
      if (fd < 0 && err->errnum == EINVAL && !o.recursive)
        hutch_error_append (err,
                            "a bind without rbind of a directory that has mounts below it is "
                            "refused in a user namespace (it would uncover what they cover); add "
                            "rbind to the options");
      if (fd < 0)
        {
          mount_opts_clear (&o);
          return hutch_error_prefix (err, "bind mount %s", m->destination);
        }
      rfs->srcfds[i] = fd;
      /* Flags go on the detached copy, recursively for rbind, so that a
         read-only volume is read-only from its first moment in the
         container, submounts included.  */
      o.propagation = 0; /* only possible once attached: see attach_bind_mount */
      if (set_attrs (fd, &o, o.recursive, m->destination, err) < 0)
        {
          mount_opts_clear (&o);
          return -1;
        }
      mount_opts_clear (&o);
    }

  for (i = 0; i < spec->n_mounts; i++)
    if (strcmp (spec->mounts[i].destination, "/dev") == 0)
      {
        size_t d;
        for (d = 0; d < N_DEVICES; d++)
          {
            _cleanup_free_ char *p = hutch_xasprintf ("/dev/%s", default_devices[d]);
            rfs->devfds[d] = clone_tree (AT_FDCWD, p, false, p, err);
            if (rfs->devfds[d] < 0)
              return hutch_error_prefix (err, "bind the host's device");
          }
        break;
      }
  if (capture_root (spec, rfs, err) < 0)
    return -1;
  return capture_more (spec, rfs, err);
}

/* Mount a new filesystem of M's type on TGTFD, with DATA (M's filesystem
   options, or a version of them that hutch_rootfs_prepare made) and, when
   DATA has no mode= and MODE is not 0, mode=MODE (a tmpfs keeps the mode
   of the directory it covers, as runc does).  */
static int
mount_fs_data (const struct hutch_mount *m, char **data, mode_t mode, int tgtfd, hutch_error_t *err)
{
  _cleanup_close_ int fsfd = -1, mntfd = -1;
  struct mount_opts o;
  const char *type = m->type;
  bool has_mode = false;
  size_t i;
  int r = -1;

  if (parse_mount_options (m, &o, err) < 0)
    return -1;
  if (data == NULL)
    data = o.data;
  if (strcmp (type, "cgroup") == 0)
    type = "cgroup2";
  fsfd = hutch_fsopen (type, FSOPEN_CLOEXEC);
  if (fsfd < 0)
    {
      hutch_error_set (err, errno, "mount %s (%s): unknown or unavailable filesystem type",
                       m->destination, type);
      goto out;
    }
  if (m->source && *m->source
      && hutch_fsconfig (fsfd, FSCONFIG_SET_STRING, "source", m->source, 0) < 0)
    {
      hutch_error_set (err, errno, "mount %s: source `%s`", m->destination, m->source);
      goto out;
    }
  for (i = 0; data[i]; i++)
    {
      char *eq = strchr (data[i], '=');
      int rc;
      if (eq)
        {
          *eq = '\0';
          has_mode = has_mode || strcmp (data[i], "mode") == 0;
          rc = hutch_fsconfig (fsfd, FSCONFIG_SET_STRING, data[i], eq + 1, 0);
          *eq = '=';
        }
      else
        rc = hutch_fsconfig (fsfd, FSCONFIG_SET_FLAG, data[i], NULL, 0);
      if (rc < 0)
        {
          /* what the user wrote, not hutch's /proc/self/fd/N */
          hutch_error_set (err, errno, "mount %s (%s): option `%s`", m->destination, type,
                           data == o.data ? data[i] : "(one of its directories)");
          goto out;
        }
    }
  if (!has_mode && mode != 0)
    {
      char buf[16];
      snprintf (buf, sizeof buf, "%04o", (unsigned int)(mode & 07777));
      if (hutch_fsconfig (fsfd, FSCONFIG_SET_STRING, "mode", buf, 0) < 0)
        {
          hutch_error_set (err, errno, "mount %s (%s): mode=%s of its mount point", m->destination,
                           type, buf);
          goto out;
        }
    }
  if (hutch_fsconfig (fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    {
      hutch_error_set (err, errno, "mount %s (%s)", m->destination, type);
      goto out;
    }
  mntfd = hutch_fsmount (fsfd, FSMOUNT_CLOEXEC, 0);
  if (mntfd < 0)
    {
      hutch_error_set (err, errno, "mount %s (%s)", m->destination, type);
      goto out;
    }
  /* tmpcopyup (podman's, as crun's): the image's files at the
     destination into the new tmpfs, before it covers them; through the
     walker (no link followed, no other mount entered), in the container's
     user namespace.  */
  if (o.tmpcopyup)
    {
      _cleanup_close_ int src = openat (tgtfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      _cleanup_close_ int dst = openat (mntfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (src < 0 || dst < 0)
        {
          hutch_error_set (err, errno, "mount %s (tmpfs): tmpcopyup", m->destination);
          goto out;
        }
      struct stat root;
      /* The copy gives the tmpfs's root the directory's owner and mode;
         the tmpfs keeps its own (mode= of its options), as crun's.  */
      if (fstat (dst, &root) < 0 || hutch_walk_copy_tree (src, dst, err) < 0
          || fchown (dst, root.st_uid, root.st_gid) < 0 || fchmod (dst, root.st_mode & 07777) < 0)
        {
          if (err->msg == NULL)
            hutch_error_set (err, errno, "copy");
          hutch_error_prefix (err, "mount %s (tmpfs): tmpcopyup", m->destination);
          goto out;
        }
    }
  /* The flags on the detached mount, before anything can see it.  */
  if (set_attrs (mntfd, &o, false, m->destination, err) < 0)
    goto out;
  if (hutch_move_mount (mntfd, "", tgtfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)
      < 0)
    {
      hutch_error_set (err, errno, "attach mount %s", m->destination);
      goto out;
    }
  r = set_propagation (mntfd, &o, m->destination, err);
out:
  mount_opts_clear (&o);
  return r;
}

static int
mount_fs (const struct hutch_mount *m, int tgtfd, hutch_error_t *err)
{
  return mount_fs_data (m, NULL, 0, tgtfd, err);
}

/* sysfs may only be mounted by the owner of the network namespace; with the
   host's network there is none of ours, so bind the host's /sys read-only
   instead (submounts included), as runc and crun do.  The same for proc
   and mqueue without a PID or IPC namespace of the container's own (see
   mount_new_fs), read-write.  */
static int
bind_host (const char *src, int tgtfd, const char *what, bool readonly, hutch_error_t *err)
{
  _cleanup_close_ int fd = clone_tree (AT_FDCWD, src, true, src, err);
  struct mount_opts o = { .attr_set = (readonly ? MOUNT_ATTR_RDONLY : 0) | MOUNT_ATTR_NOSUID
                                      | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
                          MOUNT_OPTS_NONE };
  if (fd < 0)
    return -1;
  if (set_attrs (fd, &o, true, what, err) < 0)
    return -1;
  if (hutch_move_mount (fd, "", tgtfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return hutch_error_set (err, errno, "attach mount %s", what);
  return 0;
}

/* Is DEST, as written, in /proc or /sys (or one of them)?  */
static bool
written_under (const char *dest, const char *top)
{
  size_t n = strlen (top);
  while (dest[0] == '/' && dest[1] == '/')
    dest++;
  return strncmp (dest, top, n) == 0 && (dest[n] == '\0' || dest[n] == '/');
}

/* A mount destination that the root's own symbolic links lead into /proc
   or /sys (an image's /data -> /proc/self) is refused: what is mounted
   there would cover the kernel's files of the container's processes, or of
   hutch's own process B while it still sets the container up (runc's
   CVE-2019-16884 and the copy-up of B's /proc/self/environ that a second
   reader found here).  A destination written under /proc or /sys is the
   spec author's choice (lxcfs binds files over /proc/meminfo) and goes
   on.  */
static int
check_destination_fs (int tgtfd, const char *dest, hutch_error_t *err)
{
  struct statfs sfs;

  if (fstatfs (tgtfd, &sfs) < 0)
    return hutch_error_set (err, errno, "mount on %s", dest);
  if ((sfs.f_type == PROC_SUPER_MAGIC && !written_under (dest, "/proc"))
      || (sfs.f_type == SYSFS_MAGIC && !written_under (dest, "/sys")))
    return hutch_error_set (err, 0,
                            "mount destination `%s` leads into %s through a symbolic link in "
                            "the container's root: refused (a mount there would cover the "
                            "kernel's files); give the destination without the link",
                            dest, sfs.f_type == PROC_SUPER_MAGIC ? "/proc" : "/sys");
  return 0;
}

static int
attach (int srcfd, int rootfd, const char *dest, bool is_file, hutch_error_t *err)
{
  _cleanup_close_ int tgtfd = hutch_walk_mountpoint_in_root (rootfd, dest, is_file, err);
  if (tgtfd < 0 || check_destination_fs (tgtfd, dest, err) < 0)
    return -1;
  if (hutch_move_mount (srcfd, "", tgtfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)
      < 0)
    return hutch_error_set (err, errno, "mount on %s", dest);
  return 0;
}

static int
make_devices (struct hutch_rootfs *rfs, hutch_error_t *err)
{
  static const char *const links[][2] = {
    { "/dev/fd", "/proc/self/fd" },       { "/dev/stdin", "/proc/self/fd/0" },
    { "/dev/stdout", "/proc/self/fd/1" }, { "/dev/stderr", "/proc/self/fd/2" },
    { "/dev/ptmx", "pts/ptmx" },          { "/dev/core", "/proc/kcore" },
  };
  _cleanup_close_ int devfd
      = hutch_walk_open_in_root (rfs->rootfd, "/dev", O_RDONLY | O_DIRECTORY, 0);
  size_t i;

  if (devfd < 0)
    return hutch_error_set (err, errno, "open /dev in the container");
  for (i = 0; i < N_DEVICES; i++)
    {
      _cleanup_free_ char *p = hutch_xasprintf ("/dev/%s", default_devices[i]);
      if (rfs->devfds[i] < 0)
        continue;
      if (attach (rfs->devfds[i], rfs->rootfd, p, true, err) < 0)
        return -1;
    }
  for (i = 0; i < sizeof links / sizeof links[0]; i++)
    if (symlinkat (links[i][1], devfd, links[i][0] + 5) < 0 && errno != EEXIST)
      return hutch_error_set (err, errno, "create symlink %s", links[i][0]);
  return 0;
}

/* Generated files (/etc/hostname, /etc/hosts, ...) live in a tmpfs of
   their own: each file is cloned from it onto its place, so nothing is
   written to the host and all of it vanishes with the mount namespace, even
   when hutch is killed.  Before Linux 6.15 open_tree cannot clone from a
   mount that is attached nowhere (EINVAL), so the tmpfs is attached for the
   moment on top of "/" of our own mount namespace (where no path reaches
   it: lookups start below it, at the process's root) and detached again
   once the files are cloned.  */
static int
make_files (const struct hutch_spec *spec, struct hutch_rootfs *rfs, hutch_error_t *err)
{
  _cleanup_close_ int fsfd = -1, scratch = -1;
  size_t i;

  if (spec->extra.n_files == 0)
    return 0;
  fsfd = hutch_fsopen ("tmpfs", FSOPEN_CLOEXEC);
  if (fsfd < 0 || hutch_fsconfig (fsfd, FSCONFIG_SET_STRING, "mode", "0755", 0) < 0
      || hutch_fsconfig (fsfd, FSCONFIG_SET_STRING, "size", "1m", 0) < 0
      || hutch_fsconfig (fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return hutch_error_set (err, errno, "create a tmpfs for the container's generated files");
  scratch = hutch_fsmount (fsfd, FSMOUNT_CLOEXEC,
                           MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
  if (scratch < 0)
    return hutch_error_set (err, errno, "mount a tmpfs for the container's generated files");
  if (hutch_move_mount (scratch, "", AT_FDCWD, "/", MOVE_MOUNT_F_EMPTY_PATH) < 0)
    return hutch_error_set (err, errno, "attach the tmpfs for the container's generated files");

  for (i = 0; i < spec->extra.n_files; i++)
    {
      const struct hutch_file *f = &spec->extra.files[i];
      char name[32];
      _cleanup_close_ int fd = -1, clone = -1;
      int r;

      snprintf (name, sizeof name, "f%zu", i);
      fd = openat (scratch, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd < 0)
        return hutch_error_set (err, errno, "create %s", f->destination);
      r = hutch_write_all (fd, f->content, strlen (f->content));
      if (r < 0)
        return hutch_error_set (err, -r, "write %s", f->destination);
      clone = clone_tree (scratch, name, false, f->destination, err);
      if (clone < 0)
        return -1;
      if (attach (clone, rfs->rootfd, f->destination, true, err) < 0)
        return -1;
    }
  {
    char p[64];
    snprintf (p, sizeof p, "/proc/self/fd/%d", scratch);
    if (umount2 (p, MNT_DETACH) < 0)
      return hutch_error_set (err, errno, "detach the tmpfs of the container's generated files");
  }
  return 0;
}

/* --tz: the zone file goes on /etc/localtime.  Where the root has a
   symlink there (images point it into /usr/share/zoneinfo), the mount goes
   on the symlink itself, never on its target, which would change that zone
   for every program of the container; where there is nothing, an empty
   file is made for it.  The root is not changed otherwise.  */
static int
attach_localtime (struct hutch_rootfs *rfs, hutch_error_t *err)
{
  _cleanup_close_ int etc = -1, tgt = -1;
  struct stat st;

  if (rfs->localtimefd < 0)
    return 0;
  etc = hutch_walk_mkdir_in_root (rfs->rootfd, "/etc", 0755, err);
  if (etc < 0)
    return -1;
  /* ETC was resolved in the root; one name with O_NOFOLLOW follows
     nothing.  */
  tgt = openat (etc, "localtime", O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (tgt < 0 && errno == ENOENT)
    {
      int f = openat (etc, "localtime", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (f < 0)
        return hutch_error_set (err, errno, "create /etc/localtime in the container");
      close (f);
      tgt = openat (etc, "localtime", O_PATH | O_NOFOLLOW | O_CLOEXEC);
    }
  if (tgt < 0 || fstat (tgt, &st) < 0)
    return hutch_error_set (err, errno, "open /etc/localtime in the container");
  if (S_ISDIR (st.st_mode))
    return hutch_error_set (err, EISDIR, "/etc/localtime in the container");
  if (hutch_move_mount (rfs->localtimefd, "", tgt, "",
                        MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)
      < 0)
    return hutch_error_set (err, errno, "mount the zone file on /etc/localtime");
  return 0;
}

/* linux.sysctl, written under the container's /proc/sys once its proc is
   mounted and before the masked and read-only paths (/proc/sys is one of
   them in most configurations) cover it, as runc does.  A sysctl file
   belongs to the namespace of the process that writes it, and B is in
   the container's namespaces; the parser let only namespaced keys
   through.  /proc is resolved in the root and must be procfs: without a
   proc mount it is the image's to fill, and nothing of it is opened for
   writing (not even a device node that a write-only open would wake).
   Below it, the file is looked up within that one procfs mount, with no
   symbolic link followed.  */
static int
write_sysctls (const struct hutch_spec *spec, struct hutch_rootfs *rfs, hutch_error_t *err)
{
  _cleanup_close_ int procfd = -1;
  struct statfs sfs;
  size_t i, k;

  if (spec->n_sysctls == 0)
    return 0;
  procfd = hutch_walk_open_in_root (rfs->rootfd, "/proc", O_PATH | O_DIRECTORY, 0);
  if (procfd < 0 || fstatfs (procfd, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC)
    return hutch_error_set (err, procfd < 0 ? errno : 0,
                            "linux.sysctl.%s: the container's /proc is not procfs: mount proc "
                            "on /proc (in `mounts`)",
                            spec->sysctls[0].key);
  for (i = 0; i < spec->n_sysctls; i++)
    {
      const struct hutch_kv *kv = &spec->sysctls[i];
      _cleanup_free_ char *path = hutch_xasprintf ("sys/%s", kv->key);
      _cleanup_close_ int fd = -1;

      for (k = strlen ("sys/"); path[k]; k++)
        if (path[k] == '.')
          path[k] = '/';
      fd = hutch_walk_open (procfd, path, O_WRONLY | O_NOCTTY, 0,
                            RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV);
      if (fd < 0)
        return hutch_error_set (err, errno,
                                errno == ENOENT
                                    ? "linux.sysctl.%s: the container has no /proc/%s (this kernel "
                                      "has no such setting in a namespace of the container's)"
                                    : "linux.sysctl.%s: open /proc/%s in the container",
                                kv->key, path);
      if (write (fd, kv->value, strlen (kv->value)) < 0)
        return hutch_error_set (err, errno, "linux.sysctl.%s: the kernel refused `%s`", kv->key,
                                kv->value);
    }
  return 0;
}

static int
mask_paths (const struct hutch_spec *spec, struct hutch_rootfs *rfs, hutch_error_t *err)
{
  size_t i;

  for (i = 0; spec->masked_paths && spec->masked_paths[i]; i++)
    {
      const char *p = spec->masked_paths[i];
      _cleanup_close_ int tgt = hutch_walk_open_in_root (rfs->rootfd, p, O_PATH, 0);
      struct stat st;

      if (tgt < 0)
        {
          if (errno == ENOENT)
            continue;
          return hutch_error_set (err, errno, "mask %s", p);
        }
      if (fstat (tgt, &st) < 0)
        return hutch_error_set (err, errno, "mask %s", p);
      if (S_ISDIR (st.st_mode))
        {
          struct hutch_mount m
              = { .destination = (char *)p, .type = (char *)"tmpfs", .source = (char *)"tmpfs" };
          char *opts[] = { (char *)"ro",
                           (char *)"nosuid",
                           (char *)"nodev",
                           (char *)"noexec",
                           (char *)"size=0",
                           (char *)"mode=0555",
                           NULL };
          m.options = opts;
          if (mount_fs (&m, tgt, err) < 0)
            return hutch_error_prefix (err, "mask %s", p);
        }
      else
        {
          _cleanup_close_ int nul = clone_tree (rfs->nullfd, "", false, "/dev/null", err);
          if (nul < 0)
            return -1;
          if (hutch_move_mount (nul, "", tgt, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)
              < 0)
            return hutch_error_set (err, errno, "mask %s", p);
        }
    }
  for (i = 0; spec->readonly_paths && spec->readonly_paths[i]; i++)
    {
      const char *p = spec->readonly_paths[i];
      _cleanup_close_ int tgt = hutch_walk_open_in_root (rfs->rootfd, p, O_PATH, 0);
      _cleanup_close_ int copy = -1;
      struct mount_opts o = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
                              MOUNT_OPTS_NONE };

      if (tgt < 0)
        {
          if (errno == ENOENT)
            continue;
          return hutch_error_set (err, errno, "make %s read-only", p);
        }
      copy = clone_tree (tgt, "", true, p, err);
      if (copy < 0 || set_attrs (copy, &o, true, p, err) < 0)
        return -1;
      if (hutch_move_mount (copy, "", tgt, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)
          < 0)
        return hutch_error_set (err, errno, "make %s read-only", p);
    }
  return 0;
}

/* Kernel overlayfs, mounted as root of the user namespace (Linux 5.11+):
   `userxattr` makes it keep its own metadata in user.overlay.* xattrs,
   which is also where the layers' opaque markers are.

   fsconfig takes strings of at most 255 bytes, and before Linux 6.8 the
   layers only as one ':'-joined "lowerdir" (6.1 accepts "lowerdir+" from
   fsconfig and refuses it only at FSCONFIG_CMD_CREATE).  So every
   directory is named by a short /proc/self/fd/N of an O_PATH fd: about a
   dozen layers fit in one "lowerdir"; more need "lowerdir+".  */
struct overlay_fds
{
  int *fds;
  size_t n;
};

static void
overlay_fds_clear (struct overlay_fds *o)
{
  size_t i;
  for (i = 0; i < o->n; i++)
    if (o->fds[i] >= 0)
      close (o->fds[i]);
  free (o->fds);
  o->fds = NULL;
  o->n = 0;
}

/* "/proc/self/fd/N" of an O_PATH fd of DIR, kept open in O.  */
static char *
short_name (struct overlay_fds *o, const char *dir, hutch_error_t *err)
{
  int fd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    {
      hutch_error_set (err, errno, "overlay: open `%s`", dir);
      return NULL;
    }
  o->fds = hutch_xrealloc (o->fds, (o->n + 1) * sizeof (int));
  o->fds[o->n++] = fd;
  return hutch_xasprintf ("/proc/self/fd/%d", fd);
}

static int
overlay_context (const struct hutch_overlay *ov, char **lower, bool one_by_one, hutch_error_t *err)
{
  int fsfd = hutch_fsopen ("overlay", FSOPEN_CLOEXEC);
  _cleanup_free_ char *joined = NULL;
  size_t i;

  if (fsfd < 0)
    return hutch_error_set (err, errno, "overlay filesystem unavailable");
  if (hutch_fsconfig (fsfd, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0)
    {
      close (fsfd);
      return hutch_error_set (err, errno,
                              "overlay: the kernel does not mount overlayfs in a user namespace "
                              "(Linux 5.11 or later is needed); use "
                              "--storage-driver=fuse-overlayfs");
    }
  joined = hutch_xstrdup ("");
  for (i = 0; lower[i]; i++)
    {
      char *next = hutch_xasprintf ("%s%s%s", joined, i ? ":" : "", lower[i]);
      free (joined);
      joined = next;
      if (one_by_one && hutch_fsconfig (fsfd, FSCONFIG_SET_STRING, "lowerdir+", lower[i], 0) < 0)
        {
          close (fsfd);
          return hutch_error_set (err, errno, "overlay: layer `%s`", ov->lower[i]);
        }
    }
  if (!one_by_one && hutch_fsconfig (fsfd, FSCONFIG_SET_STRING, "lowerdir", joined, 0) < 0)
    {
      close (fsfd);
      return hutch_error_set (err, errno, "overlay: the image's layers");
    }
  return fsfd;
}

static int
mount_overlay (const struct hutch_overlay *ov, hutch_error_t *err)
{
  struct overlay_fds o = { 0 };
  _cleanup_strv_ char **lower = hutch_xmalloc0 (sizeof (char *));
  _cleanup_free_ char *upper = NULL, *work = NULL;
  size_t i, len = 0;
  int fsfd = -1, mnt = -1;

  for (i = 0; ov->lower[i]; i++)
    {
      char *n = short_name (&o, ov->lower[i], err);
      if (n == NULL)
        goto out;
      len += strlen (n) + 1;
      hutch_strv_push (&lower, n);
    }
  if (ov->upper
      && ((upper = short_name (&o, ov->upper, err)) == NULL
          || (work = short_name (&o, ov->work, err)) == NULL))
    goto out;
  /* One string when it fits (every kernel), else one layer at a time.  */
  fsfd = overlay_context (ov, lower, len > 255, err);
  if (fsfd < 0)
    goto out;
  if (upper
      && (hutch_fsconfig (fsfd, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0
          || hutch_fsconfig (fsfd, FSCONFIG_SET_STRING, "workdir", work, 0) < 0))
    {
      hutch_error_set (err, errno, "overlay: the container's upper directory `%s`", ov->upper);
      goto out;
    }
  if (hutch_fsconfig (fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    {
      if (errno == EINVAL && len > 255)
        hutch_error_set (err, errno,
                         "mount the overlay root filesystem: the image has %zu layers, more than "
                         "this kernel's overlayfs takes through the new mount API (Linux 6.8 "
                         "takes any number); use --storage-driver=fuse-overlayfs",
                         i);
      else
        hutch_error_set (err, errno, "mount the overlay root filesystem");
      goto out;
    }
  mnt = hutch_fsmount (fsfd, FSMOUNT_CLOEXEC, 0);
  if (mnt < 0)
    hutch_error_set (err, errno, "mount the overlay root filesystem");
out:
  if (fsfd >= 0)
    close (fsfd);
  overlay_fds_clear (&o);
  return mnt;
}

/* Create the container's root as a detached mount and store it in
   RFS->rootfd: an overlay of the image's layers, an empty tmpfs for a host
   sandbox (the bundle's root.path was cloned by hutch_rootfs_prepare).  */
static int
open_root (const struct hutch_spec *spec, struct hutch_rootfs *rfs, hutch_error_t *err)
{
  if (spec->extra.overlay && spec->extra.overlay->driver == HUTCH_DRIVER_OVERLAY)
    {
      rfs->rootfd = mount_overlay (spec->extra.overlay, err);
      if (rfs->rootfd < 0)
        return -1;
    }
  else if (spec->extra.host_sandbox)
    {
      _cleanup_close_ int fsfd = hutch_fsopen ("tmpfs", FSOPEN_CLOEXEC);
      if (fsfd < 0 || hutch_fsconfig (fsfd, FSCONFIG_SET_STRING, "mode", "0755", 0) < 0
          || hutch_fsconfig (fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        return hutch_error_set (err, errno, "create the sandbox's root tmpfs");
      rfs->rootfd = hutch_fsmount (fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
      if (rfs->rootfd < 0)
        return hutch_error_set (err, errno, "mount the sandbox's root tmpfs");
    }
  /* else: the bundle's root.path, cloned by hutch_rootfs_prepare */
  return 0;
}

/* Submounts can only be attached under a mount that is in our mount
   namespace, so give the new root a place: /tmp of this private
   namespace (or another directory where /tmp is missing or a symlink).
   Everything from the host's view was opened already, so covering it
   hides nothing we need; the host's own /tmp is untouched.  */
static int
attach_root (const struct hutch_spec *spec, struct hutch_rootfs *rfs, hutch_error_t *err)
{
  static const char *const places[] = { "/tmp", "/mnt", "/var/tmp", "/root", "/" };
  const char *place = "/";
  size_t k;
  struct stat st;

  /* createContainer hooks run in this namespace before the pivot, with
     paths of the host's view (runtime-spec): there, the root goes where
     root.path is, over itself, as runc has it, so that no other place of
     the host is covered.  */
  if (spec->hooks && spec->hooks->kind[HUTCH_HOOK_CREATE_CONTAINER].n > 0 && spec->root_path
      && spec->extra.overlay == NULL && !spec->extra.host_sandbox
      && stat (spec->root_path, &st) == 0 && S_ISDIR (st.st_mode))
    {
      if (hutch_move_mount (rfs->rootfd, "", AT_FDCWD, spec->root_path, MOVE_MOUNT_F_EMPTY_PATH)
          < 0)
        return hutch_error_set (err, errno, "attach the container's root on %s", spec->root_path);
      return 0;
    }
  for (k = 0; k < sizeof places / sizeof places[0]; k++)
    if (lstat (places[k], &st) == 0 && S_ISDIR (st.st_mode))
      {
        place = places[k];
        break;
      }
  if (hutch_move_mount (rfs->rootfd, "", AT_FDCWD, place, MOVE_MOUNT_F_EMPTY_PATH) < 0)
    return hutch_error_set (err, errno, "attach the container's root on %s", place);
  return 0;
}

static int
make_symlinks (const struct hutch_spec *spec, struct hutch_rootfs *rfs, hutch_error_t *err)
{
  size_t i;

  for (i = 0; i < spec->extra.n_symlinks; i++)
    {
      const struct hutch_symlink *l = &spec->extra.symlinks[i];
      const char *slash = strrchr (l->path, '/');
      _cleanup_free_ char *parent = hutch_xstrndup (l->path, slash ? (size_t)(slash - l->path) : 0);
      _cleanup_close_ int pfd
          = hutch_walk_mkdir_in_root (rfs->rootfd, *parent ? parent : "/", 0755, err);
      if (pfd < 0)
        return -1;
      if (symlinkat (l->target, pfd, slash ? slash + 1 : l->path) < 0 && errno != EEXIST)
        return hutch_error_set (err, errno, "create symlink %s", l->path);
    }
  return 0;
}

/* Attach bind mount I, which hutch_rootfs_prepare cloned detached and gave
   its flags, then give it its propagation, which a mount only takes once
   attached.  */
static int
attach_bind_mount (const struct hutch_mount *m, size_t i, struct hutch_rootfs *rfs,
                   hutch_error_t *err)
{
  struct stat st;
  struct mount_opts o;
  int r;

  if (fstat (rfs->srcfds[i], &st) < 0)
    return hutch_error_set (err, errno, "bind mount %s", m->destination);
  if (attach (rfs->srcfds[i], rfs->rootfd, m->destination, !S_ISDIR (st.st_mode), err) < 0)
    return hutch_error_prefix (err, "bind mount `%s`", m->source);
  if (parse_mount_options (m, &o, err) < 0)
    return -1;
  r = set_propagation (rfs->srcfds[i], &o, m->destination, err);
  mount_opts_clear (&o);
  return r;
}

/* Mount a new filesystem of M's type on its destination.  Where the kernel
   refuses a fresh sysfs or cgroup in this namespace, the host's is bound
   read-only instead.

   A container that shares the host's PID namespace (--pid host) gets the
   host's /proc, and one that shares its IPC namespace the host's
   /dev/mqueue: a fresh proc or mqueue mount needs CAP_SYS_ADMIN over the
   user namespace that owns the PID or IPC namespace, the host's, so the
   kernel refuses it; and it would show the same processes and queues as
   the host's anyway.  Binding them is safe: the user sees them already,
   and the container's processes, in a user namespace of their own, pass
   the kernel's ptrace checks on none of the user's host processes (they
   lack CAP_SYS_PTRACE over the initial user namespace), so
   /proc/PID/{mem,environ,root} of those stay closed to them; the masked
   and read-only paths are put on top as usual.  */
static int
mount_new_fs (const struct hutch_spec *spec, const struct hutch_mount *m, size_t i,
              struct hutch_rootfs *rfs, hutch_error_t *err)
{
  _cleanup_close_ int tgt = -1;
  mode_t mode = 0;

  /* A tmpfs on a directory that is there keeps that directory's mode
     (runc does so), unless its options give one; one on a directory made
     for it gets tmpfs's own (1777).  */
  if (strcmp (m->type, "tmpfs") == 0)
    {
      _cleanup_close_ int there
          = hutch_walk_open_in_root (rfs->rootfd, m->destination, O_PATH | O_DIRECTORY, 0);
      struct stat st;
      if (there >= 0 && fstat (there, &st) == 0)
        mode = st.st_mode & 07777;
    }
  tgt = hutch_walk_mountpoint_in_root (rfs->rootfd, m->destination, false, err);
  if (tgt < 0 || check_destination_fs (tgt, m->destination, err) < 0)
    return -1;
  /* A PID or IPC namespace joined by path is the container's as much as
     a new one: its proc and mqueue are fresh mounts, never the host's.  */
  if (strcmp (m->type, "proc") == 0 && !hutch_spec_has_ns (spec, HUTCH_NS_PID))
    return bind_host ("/proc", tgt, m->destination, false, err);
  if (strcmp (m->type, "mqueue") == 0 && !hutch_spec_has_ns (spec, HUTCH_NS_IPC))
    {
      if (bind_host ("/dev/mqueue", tgt, m->destination, false, err) < 0)
        return hutch_error_prefix (err, "the container shares the host's IPC namespace, and its "
                                        "message queues are the host's /dev/mqueue");
      return 0;
    }
  if (mount_fs_data (m, rfs->fsdata ? rfs->fsdata[i] : NULL, mode, tgt, err) < 0)
    {
      bool sys = strcmp (m->type, "sysfs") == 0;
      bool cg = strcmp (m->type, "cgroup") == 0 || strcmp (m->type, "cgroup2") == 0;
      if ((sys || cg) && (err->errnum == EPERM || err->errnum == EACCES || err->errnum == EBUSY))
        {
          hutch_error_clear (err);
          if (bind_host (sys ? "/sys" : "/sys/fs/cgroup", tgt, m->destination, true, err) < 0)
            return -1;
          return 0;
        }
      return -1;
    }
  return 0;
}

static bool
dir_is_empty (int dirfd)
{
  int fd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
  struct dirent *de;
  bool empty = true;

  if (d == NULL)
    {
      if (fd >= 0)
        close (fd);
      return false;
    }
  while (empty && (de = readdir (d)) != NULL)
    empty = strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0;
  closedir (d);
  return empty;
}

/* docker's copy-up: a volume that is empty gets what the image has at its
   destination, owner and mode of the directory included.  The image's
   side is resolved in the root and on the root's own mount only
   (RESOLVE_NO_XDEV): the spec's earlier mounts are attached by now, and
   an image symlink such as /data -> /proc/self must not make this copy
   B's own /proc files (hutch's environment and command line, the user's)
   into a volume the image can read later; nothing is copied when the
   image has no directory of its own there.  A copy that fails half way
   is emptied again, so that a later run neither skips the copy-up nor
   finds half of it.  */
static int
copy_up (const struct hutch_mount *m, int datafd, int rootfd, hutch_error_t *err)
{
  _cleanup_close_ int src = -1, dst = openat (datafd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const char *path = m->destination;
  hutch_error_t e = HUTCH_ERROR_INIT;

  if (dst < 0)
    return hutch_error_set (err, errno, "open `%s`", m->source);
  if (!dir_is_empty (dst))
    return 0;
  while (*path == '/')
    path++;
  src = hutch_walk_open (rootfd, *path ? path : ".", O_RDONLY | O_DIRECTORY, 0,
                         RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
  if (src < 0)
    return errno == ENOENT || errno == ENOTDIR || errno == EXDEV
               ? 0
               : hutch_error_set (err, errno, "open %s in the container", m->destination);
  if (hutch_walk_copy_tree (src, dst, err) == 0)
    return 0;
  if (hutch_walk_empty_dir (dst, &e) < 0)
    hutch_error_append (err, "and what was copied could not be removed again (%s)", e.msg);
  hutch_error_clear (&e);
  return -1;
}

/* What `hutch run` asks of a volume before it is attached, as docker and
   podman do: an empty volume first gets what the image has at its
   destination (copy-up), and -v ...:U gives the source's tree to the
   container's user.  Both run here, in B, as root of the container's user
   namespace and before anything of the container runs, through the walker
   (src/base/walk.c): no symlink is followed on either side and no other
   mount is entered.  The kernel lets this root change the owner only of
   files whose owner and group are mapped in its namespace (the user's own
   and their subordinate ids), so :U can never take a file from another
   user, whatever the tree holds.  */
static int
prepare_source (const struct hutch_spec *spec, const struct hutch_mount *m, int datafd, int rootfd,
                hutch_error_t *err)
{
  if (m->copy_up && copy_up (m, datafd, rootfd, err) < 0)
    return hutch_error_prefix (err, "copy the image's %s into its volume", m->destination);
  if (m->chown && hutch_walk_chown_tree (datafd, spec->uid, spec->gid, err) < 0)
    {
      if (err->errnum == EPERM || err->errnum == EINVAL)
        hutch_error_append (err,
                            "they belong to ids outside the container's user namespace (not "
                            "yours, nor your subordinate ids'): change their owner on the host, "
                            "or drop :U");
      return hutch_error_prefix (err, "give `%s` (%s) to the container's user (:U)", m->source,
                                 m->destination);
    }
  return 0;
}

/* The spec's mounts, in the spec's order: a later mount may cover an
   earlier one, as the spec's author meant.  */
static int
make_mounts (const struct hutch_spec *spec, struct hutch_rootfs *rfs, bool *ret_have_dev,
             hutch_error_t *err)
{
  bool have_dev = false;
  size_t i;
  int r;

  for (i = 0; i < spec->n_mounts; i++)
    {
      const struct hutch_mount *m = &spec->mounts[i];

      if (strcmp (m->destination, "/dev") == 0)
        have_dev = true;
      if (rfs->volfds[i] >= 0 && prepare_source (spec, m, rfs->volfds[i], rfs->rootfd, err) < 0)
        return -1;
      r = rfs->srcfds[i] >= 0 ? attach_bind_mount (m, i, rfs, err)
                              : mount_new_fs (spec, m, i, rfs, err);
      if (r < 0)
        return r;
    }
  *ret_have_dev = have_dev;
  return 0;
}

int
hutch_rootfs_build (const struct hutch_spec *spec, struct hutch_rootfs *rfs, hutch_error_t *err)
{
  bool have_dev = false;
  int r;

  /* Each step's -errno is passed on as it is: child.c returns it.  */
  r = open_root (spec, rfs, err);
  if (r < 0)
    return r;
  r = attach_root (spec, rfs, err);
  if (r < 0)
    return r;
  r = make_symlinks (spec, rfs, err);
  if (r < 0)
    return r;
  r = make_mounts (spec, rfs, &have_dev, err);
  if (r < 0)
    return r;

  if (have_dev && make_devices (rfs, err) < 0)
    return -1;
  if (hutch_devices_attach (spec, rfs->userdevfds, rfs->rootfd, err) < 0)
    return -1;
  if (make_files (spec, rfs, err) < 0 || attach_localtime (rfs, err) < 0)
    return -1;
  if (spec->extra.create_cwd)
    {
      int fd = hutch_walk_mkdir_in_root (rfs->rootfd, spec->cwd, 0755, err);
      if (fd < 0)
        return hutch_error_prefix (err, "working directory");
      close (fd);
    }
  if (write_sysctls (spec, rfs, err) < 0 || mask_paths (spec, rfs, err) < 0)
    return -1;
  if (spec->root_readonly)
    {
      struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
      if (hutch_mount_setattr (rfs->rootfd, "", AT_EMPTY_PATH, &attr) < 0)
        return hutch_error_set (err, errno, "make the root filesystem read-only");
    }
  return 0;
}

int
hutch_rootfs_pivot (struct hutch_rootfs *rfs, hutch_error_t *err)
{
  /* pivot_root(".", ".") stacks the old root on top of the new one; the
     detach that follows removes it, so no path to the host's tree is left
     (a chroot would leave one: the kernel refuses user namespaces to a
     chrooted process for that reason).  */
  if (fchdir (rfs->rootfd) < 0)
    return hutch_error_set (err, errno, "enter the new root");
  if (hutch_pivot_root (".", ".") < 0)
    return hutch_error_set (err, errno, "pivot_root");
  if (umount2 (".", MNT_DETACH) < 0)
    return hutch_error_set (err, errno, "detach the old root");
  if (chdir ("/") < 0)
    return hutch_error_set (err, errno, "chdir /");
  return 0;
}

void
hutch_rootfs_close (struct hutch_rootfs *rfs, size_t n_mounts)
{
  size_t i;
  if (rfs->srcfds)
    for (i = 0; i < n_mounts; i++)
      if (rfs->srcfds[i] >= 0)
        close (rfs->srcfds[i]);
  free (rfs->srcfds);
  rfs->srcfds = NULL;
  if (rfs->volfds)
    for (i = 0; i < n_mounts; i++)
      if (rfs->volfds[i] >= 0)
        close (rfs->volfds[i]);
  free (rfs->volfds);
  rfs->volfds = NULL;
  if (rfs->fsdata)
    for (i = 0; i < n_mounts; i++)
      hutch_strv_free (rfs->fsdata[i]);
  free (rfs->fsdata);
  rfs->fsdata = NULL;
  for (i = 0; i < rfs->n_dirfds; i++)
    close (rfs->dirfds[i]);
  free (rfs->dirfds);
  rfs->dirfds = NULL;
  rfs->n_dirfds = 0;
  for (i = 0; i < N_DEVICES; i++)
    if (rfs->devfds[i] >= 0)
      close (rfs->devfds[i]);
  hutch_devices_close (rfs->userdevfds, rfs->n_userdevs);
  rfs->userdevfds = NULL;
  if (rfs->localtimefd >= 0)
    close (rfs->localtimefd);
  rfs->localtimefd = -1;
  if (rfs->rootfd >= 0)
    close (rfs->rootfd);
  if (rfs->nullfd >= 0)
    close (rfs->nullfd);
  rfs->rootfd = rfs->nullfd = -1;
}

int
hutch_overlay_mount (const struct hutch_overlay *ov, hutch_error_t *err)
{
  return mount_overlay (ov, err);
}
