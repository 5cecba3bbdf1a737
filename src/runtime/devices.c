/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* Host device nodes bound into the container.

   Why a bound node gives the container nothing the user lacks.  Whether a
   device node can be opened is decided by its inode (owner, group, mode,
   ACL), checked against the opener's credentials, and by the mount it is
   reached through (nodev).  The container's processes run as the user's
   own uid (container root) or a subordinate one, and hold capabilities of
   their user namespace only: CAP_DAC_OVERRIDE there overrides an inode's
   permissions only when the inode's owner and group are both mapped into
   the namespace (the kernel's capable_wrt_inode_uidgid), which a node of
   root's or of a system group never is.  So the container opens a node
   only where the user (or a subordinate id, which has less) could.  It
   cannot change the node either: chmod and chown of an inode whose owner
   is not mapped fail with EPERM.  The bind is of the one node, not of the
   host's /dev, and gets nosuid and noexec; the node is checked to be the
   device the spec names after it was cloned, so a path swapped in between
   (a symlink of the user's) cannot bind something else.

   What cannot be given rootless, and is refused rather than ignored:
   making device nodes (Docker's `m`: mknod of a device needs CAP_MKNOD in
   the initial user namespace, whatever the container holds), and taking
   access away (Docker's `r` alone on a node the user can write: that needs
   a device cgroup, a BPF program that only the host's root may attach; a
   read-only bind mount does not stop writes to a device).  */

#include "runtime/devices.h"
#include "base/log.h"
#include "base/syscalls.h"
#include "base/util.h"
#include "base/walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* How deep --device DIR looks for nodes (/dev/dri/by-path is 1).  */
#define MAX_DEPTH 8

/* What --device asked for.  */
struct perms
{
  bool given; /* PERMS was there */
  bool r, w;
};

static const char *
access_name (bool r, bool w)
{
  return r && w ? "reading and writing" : r ? "reading" : w ? "writing" : "nothing";
}

static void
push_device (struct hutch_device **list, size_t *n, const char *path, const char *host,
             const struct stat *st, bool r, bool w)
{
  struct hutch_device *d;

  *list = hutch_xrealloc (*list, (*n + 1) * sizeof **list);
  d = &(*list)[(*n)++];
  memset (d, 0, sizeof *d);
  d->path = hutch_xstrdup (path);
  d->host_path = hutch_xstrdup (host);
  d->type = S_ISBLK (st->st_mode) ? 'b' : 'c';
  d->major = major (st->st_rdev);
  d->minor = minor (st->st_rdev);
  d->read = r;
  d->write = w;
}

/* PERMS: r and w, each at most once; m is refused with the reason.  */
static int
parse_perms (const char *value, const char *s, struct perms *p, hutch_error_t *err)
{
  size_t i;

  p->given = true;
  p->r = p->w = false;
  if (*s == '\0')
    return hutch_error_set (err, 0, "--device `%s`: PERMS is empty; give r, w or rw", value);
  for (i = 0; s[i]; i++)
    {
      bool *bit = s[i] == 'r' ? &p->r : s[i] == 'w' ? &p->w : NULL;
      if (s[i] == 'm')
        return hutch_error_set (
            err, 0,
            "--device `%s`: `m` (mknod) cannot be granted: the kernel lets only the host's root "
            "make device nodes, never a user namespace, so the container can use this node "
            "but never make one; leave `m` out (r, w or rw)",
            value);
      if (bit == NULL)
        return hutch_error_set (
            err, 0, "--device `%s`: unknown letter `%c` in PERMS; give r, w or rw", value, s[i]);
      if (*bit)
        return hutch_error_set (err, 0, "--device `%s`: `%c` is twice in PERMS", value, s[i]);
      *bit = true;
    }
  return 0;
}

/* VALUE's fields between colons, empty ones kept.  */
static char **
split_colons (const char *value)
{
  char **v = hutch_xmalloc0 (sizeof (char *));
  const char *s = value, *c;

  while ((c = strchr (s, ':')) != NULL)
    {
      hutch_strv_push (&v, hutch_xstrndup (s, (size_t)(c - s)));
      s = c + 1;
    }
  hutch_strv_push (&v, hutch_xstrdup (s));
  return v;
}

/* Docker's split: HOST, HOST:PERMS, HOST:CONTAINER or HOST:CONTAINER:PERMS
   (the middle field is PERMS when it is only letters r, w and m).  */
static int
split_value (const char *value, char **ret_host, char **ret_dest, struct perms *p,
             hutch_error_t *err)
{
  _cleanup_strv_ char **f = split_colons (value);
  size_t n = hutch_strv_len (f);

  memset (p, 0, sizeof *p);
  if (n == 0 || n > 3 || f[0][0] == '\0')
    return hutch_error_set (err, 0, "--device `%s`: expected HOSTPATH[:CONTAINERPATH][:PERMS]",
                            value);
  if (f[0][0] != '/')
    return hutch_error_set (err, 0, "--device `%s`: HOSTPATH must be absolute (e.g. /dev/fuse)",
                            value);
  /* Letters only: PERMS, so that a wrong letter is named as one.  */
  if (n == 2 && f[1][0] && strspn (f[1], "abcdefghijklmnopqrstuvwxyz") == strlen (f[1]))
    {
      if (parse_perms (value, f[1], p, err) < 0)
        return -1;
      n = 1;
    }
  else if (n >= 2 && f[1][0] != '/')
    return hutch_error_set (err, 0,
                            "--device `%s`: `%s` is neither an absolute CONTAINERPATH nor PERMS "
                            "(r, w or rw)",
                            value, f[1]);
  if (n == 3 && parse_perms (value, f[2], p, err) < 0)
    return -1;
  *ret_host = hutch_xstrdup (f[0]);
  *ret_dest = hutch_xstrdup (n >= 2 ? f[1] : f[0]);
  return 0;
}

/* The access the user has to PATH on the host.  */
static void
host_access (const char *path, bool *r, bool *w)
{
  *r = faccessat (AT_FDCWD, path, R_OK, AT_EACCESS) == 0;
  *w = faccessat (AT_FDCWD, path, W_OK, AT_EACCESS) == 0;
}

/* Add the node HOST (ST) at DEST, when the user's access to it fits P.
   Returns 1 when it was left out (in a directory, a node the user cannot
   open at all), 0 when added, -1 on error.  */
static int
add_node (const char *value, const char *host, const char *dest, const struct stat *st,
          const struct perms *p, bool in_dir, struct hutch_device **list, size_t *n,
          hutch_error_t *err)
{
  bool r, w;

  host_access (host, &r, &w);
  if (!r && !w && (in_dir || !p->given))
    {
      if (in_dir)
        {
          hutch_log (HUTCH_LOG_WARNING,
                     "--device `%s`: %s left out: you cannot open it on the host (mode %04o, "
                     "owner %u, group %u)",
                     value, host, (unsigned)(st->st_mode & 07777), (unsigned)st->st_uid,
                     (unsigned)st->st_gid);
          return 1;
        }
      return hutch_error_set (err, 0,
                              "--device `%s`: you cannot open %s on the host (mode %04o, owner %u, "
                              "group %u), so the container could not either; an administrator "
                              "can give you access (for example, membership of group %u)",
                              value, host, (unsigned)(st->st_mode & 07777), (unsigned)st->st_uid,
                              (unsigned)st->st_gid, (unsigned)st->st_gid);
    }
  if (p->given && ((p->r && !r) || (p->w && !w)))
    return hutch_error_set (err, 0,
                            "--device `%s`: PERMS ask for %s, but you cannot open %s for %s on "
                            "the host (mode %04o, owner %u, group %u); drop `%c` from PERMS",
                            value, access_name (p->r, p->w), host,
                            access_name (p->r && !r, p->w && !w), (unsigned)(st->st_mode & 07777),
                            (unsigned)st->st_uid, (unsigned)st->st_gid, p->r && !r ? 'r' : 'w');
  if (p->given && ((r && !p->r) || (w && !p->w)))
    return hutch_error_set (err, 0,
                            "--device `%s`: PERMS leave out %s, but hutch cannot take that away: "
                            "without root there is no device cgroup, and the container can open "
                            "%s for %s as you can on the host; give `%s` (or no PERMS)",
                            value, access_name (r && !p->r, w && !p->w), host, access_name (r, w),
                            r && w ? "rw"
                            : r    ? "r"
                                   : "w");
  push_device (list, n, dest, host, st, r, w);
  return 0;
}

/* Every device node below the directory DIRFD (HOST on the host), added
   at DEST; *ADDED counts them.  */
static int
add_dir (const char *value, int dirfd, const char *host, const char *dest, const struct perms *p,
         int depth, struct hutch_device **list, size_t *n, size_t *added, hutch_error_t *err)
{
  DIR *d;
  struct dirent *de;
  int r = 0;

  if (depth > MAX_DEPTH)
    return 0;
  d = fdopendir (dirfd);
  if (d == NULL)
    {
      close (dirfd);
      return hutch_error_set (err, errno, "--device `%s`: read %s", value, host);
    }
  while (r == 0 && (de = readdir (d)) != NULL)
    {
      _cleanup_free_ char *h = NULL, *c = NULL;
      struct stat st;

      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0
          || fstatat (dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      h = hutch_xasprintf ("%s/%s", host, de->d_name);
      c = hutch_xasprintf ("%s/%s", dest, de->d_name);
      if (S_ISDIR (st.st_mode))
        {
          int sub = openat (dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sub >= 0)
            r = add_dir (value, sub, h, c, p, depth + 1, list, n, added, err);
        }
      else if (S_ISCHR (st.st_mode) || S_ISBLK (st.st_mode))
        {
          int k = add_node (value, h, c, &st, p, true, list, n, err);
          if (k < 0)
            r = -1;
          else if (k == 0)
            (*added)++;
        }
    }
  closedir (d);
  return r;
}

int
hutch_device_parse (const char *value, struct hutch_device **list, size_t *n, hutch_error_t *err)
{
  _cleanup_free_ char *host = NULL, *dest = NULL, *real = NULL;
  struct perms p;
  struct stat st;
  size_t added = 0;
  int fd;

  if (split_value (value, &host, &dest, &p, err) < 0)
    return -1;
  /* Docker follows symlinks (/dev/dri/by-path/...) to the node itself.  */
  real = realpath (host, NULL);
  if (real == NULL || stat (real, &st) < 0)
    return hutch_error_set (err, errno == ENOENT ? 0 : errno, "--device `%s`: %s%s", value, host,
                            errno == ENOENT ? " does not exist" : "");
  if (S_ISCHR (st.st_mode) || S_ISBLK (st.st_mode))
    return add_node (value, real, dest, &st, &p, false, list, n, err);
  if (!S_ISDIR (st.st_mode))
    return hutch_error_set (err, 0,
                            "--device `%s`: %s is not a device node (a character or block "
                            "device) nor a directory of them",
                            value, host);
  fd = open (real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return hutch_error_set (err, errno, "--device `%s`: open %s", value, host);
  if (add_dir (value, fd, real, dest, &p, 0, list, n, &added, err) < 0)
    return -1;
  if (added == 0)
    return hutch_error_set (err, 0, "--device `%s`: %s holds no device node that you can open",
                            value, host);
  return 0;
}

/* The host's node at D's host path is D's device.  */
static int
check_node (const struct hutch_device *d, const struct stat *st, const char *what,
            hutch_error_t *err)
{
  bool blk = S_ISBLK (st->st_mode);

  if ((!S_ISCHR (st->st_mode) && !blk) || (d->type == 'b') != blk || major (st->st_rdev) != d->major
      || minor (st->st_rdev) != d->minor)
    return hutch_error_set (err, 0,
                            "%s: %s on the host is not the %s device %u:%u (a rootless container "
                            "cannot make device nodes: the host's own node is bound, and must be "
                            "that device)",
                            what, d->host_path, d->type == 'b' ? "block" : "character", d->major,
                            d->minor);
  return 0;
}

/* fileMode, uid or gid of entry I, which must be the host node's.  */
static int
oci_same (json_t *e, const char *key, unsigned long have, size_t i, const char *path,
          hutch_error_t *err)
{
  json_t *v = json_object_get (e, key);

  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_integer (v) || json_integer_value (v) < 0)
    return hutch_error_set (err, 0, "linux.devices[%zu].%s must be a number", i, key);
  if ((unsigned long)json_integer_value (v) != have)
    return hutch_error_set (err, 0,
                            "linux.devices[%zu] (%s): %s %lld cannot be given: a rootless runtime "
                            "binds the host's node, whose %s (%lu) it cannot change; leave it out",
                            i, path, key, (long long)json_integer_value (v), key, have);
  return 0;
}

static int
oci_device (json_t *e, size_t i, struct hutch_spec *spec, hutch_error_t *err)
{
  const char *path = json_string_value (json_object_get (e, "path"));
  const char *type = json_string_value (json_object_get (e, "type"));
  json_t *ma = json_object_get (e, "major"), *mi = json_object_get (e, "minor");
  struct hutch_device d = { 0 };
  struct stat st;
  _cleanup_free_ char *what = hutch_xasprintf ("linux.devices[%zu]", i);

  if (path == NULL || path[0] != '/')
    return hutch_error_set (err, 0, "%s.path must be an absolute path", what);
  if (type == NULL || (strcmp (type, "c") != 0 && strcmp (type, "u") != 0 && strcmp (type, "b")))
    return hutch_error_set (err, 0,
                            "%s (%s): type must be c, u or b (a FIFO is not a device a rootless "
                            "runtime can bind)",
                            what, path);
  if (!json_is_integer (ma) || !json_is_integer (mi) || json_integer_value (ma) < 0
      || json_integer_value (mi) < 0)
    return hutch_error_set (err, 0, "%s (%s): major and minor must be numbers", what, path);
  d.path = d.host_path = (char *)path;
  d.type = type[0] == 'b' ? 'b' : 'c';
  d.major = (unsigned)json_integer_value (ma);
  d.minor = (unsigned)json_integer_value (mi);
  if (stat (path, &st) < 0)
    return hutch_error_set (err, errno,
                            "%s: the host has no %s to bind (a rootless container cannot make "
                            "device nodes)",
                            what, path);
  if (check_node (&d, &st, what, err) < 0
      || oci_same (e, "fileMode", st.st_mode & 07777, i, path, err) < 0
      || oci_same (e, "uid", st.st_uid, i, path, err) < 0
      || oci_same (e, "gid", st.st_gid, i, path, err) < 0)
    return -1;
  push_device (&spec->devices, &spec->n_devices, path, path, &st, false, false);
  return 0;
}

int
hutch_devices_from_oci (void *json_devices, struct hutch_spec *spec, hutch_error_t *err)
{
  json_t *arr = json_devices, *e;
  size_t i;

  if (arr == NULL || json_is_null (arr))
    return 0;
  if (!json_is_array (arr))
    return hutch_error_set (err, 0, "linux.devices must be an array");
  json_array_foreach (arr, i, e)
  {
    if (!json_is_object (e))
      return hutch_error_set (err, 0, "linux.devices[%zu] must be an object", i);
    if (oci_device (e, i, spec, err) < 0)
      return -1;
  }
  return 0;
}

int
hutch_devices_check (const struct hutch_spec *spec, hutch_error_t *err)
{
  size_t i;

  for (i = 0; i < spec->n_devices; i++)
    {
      const struct hutch_device *d = &spec->devices[i];
      _cleanup_free_ char *what = hutch_xasprintf ("device %s", d->path);
      struct stat st;
      bool r, w;

      if (stat (d->host_path, &st) < 0)
        return hutch_error_set (err, errno, "%s: %s on the host", what, d->host_path);
      if (check_node (d, &st, what, err) < 0)
        return -1;
      host_access (d->host_path, &r, &w);
      if ((d->read && !r) || (d->write && !w))
        return hutch_error_set (err, 0, "%s: you cannot open %s for %s on the host", what,
                                d->host_path, access_name (d->read && !r, d->write && !w));
    }
  return 0;
}

void
hutch_devices_close (int *fds, size_t n)
{
  size_t i;
  for (i = 0; fds && i < n; i++)
    if (fds[i] >= 0)
      close (fds[i]);
  free (fds);
}

int
hutch_devices_capture (const struct hutch_spec *spec, int **ret_fds, hutch_error_t *err)
{
  int *fds = hutch_xmalloc0 ((spec->n_devices + 1) * sizeof (int));
  size_t i;

  for (i = 0; i < spec->n_devices; i++)
    fds[i] = -1;
  *ret_fds = fds;
  for (i = 0; i < spec->n_devices; i++)
    {
      const struct hutch_device *d = &spec->devices[i];
      _cleanup_free_ char *what = hutch_xasprintf ("device %s", d->path);
      struct mount_attr attr = { .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC };
      struct stat st;

      fds[i] = hutch_open_tree (AT_FDCWD, d->host_path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
      if (fds[i] < 0)
        return hutch_error_set (err, errno, "%s: bind the host's node %s", what, d->host_path);
      /* What was cloned is checked, not the path looked up before.  */
      if (fstat (fds[i], &st) < 0)
        return hutch_error_set (err, errno, "%s", what);
      if (check_node (d, &st, what, err) < 0)
        return -1;
      /* Not nodev, which would make the node useless.  */
      if (hutch_mount_setattr (fds[i], "", AT_EMPTY_PATH, &attr) < 0)
        return hutch_error_set (err, errno, "%s: set nosuid and noexec", what);
    }
  return 0;
}

int
hutch_devices_attach (const struct hutch_spec *spec, const int *fds, int rootfd, hutch_error_t *err)
{
  size_t i;

  for (i = 0; i < spec->n_devices; i++)
    {
      _cleanup_close_ int tgt
          = hutch_walk_mountpoint_in_root (rootfd, spec->devices[i].path, true, err);
      if (tgt < 0)
        return hutch_error_prefix (err, "device %s", spec->devices[i].path);
      if (hutch_move_mount (fds[i], "", tgt, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)
          < 0)
        return hutch_error_set (err, errno, "bind device %s", spec->devices[i].path);
    }
  return 0;
}

int
hutch_devices_check_process (const struct hutch_spec *spec, hutch_error_t *err)
{
  size_t i;

  for (i = 0; i < spec->n_devices; i++)
    {
      const struct hutch_device *d = &spec->devices[i];
      int mode = (d->read ? R_OK : 0) | (d->write ? W_OK : 0);

      if (mode == 0 || faccessat (AT_FDCWD, d->path, mode, AT_EACCESS) == 0)
        continue;
      return hutch_error_set (
          err, errno,
          "device %s: the container's process (uid %u, gid %u inside) cannot open it for %s, "
          "as you can on the host; when you reach it through a supplementary group of yours, "
          "add --group-add keep-groups (the process keeps your groups then)",
          d->path, (unsigned)getuid (), (unsigned)getgid (), access_name (d->read, d->write));
    }
  return 0;
}

/* ---- the deny-all rule, for the host's root --------------------------- */

/* One rule of the device program: TYPE (BPF_DEVCG_DEV_CHAR or _BLOCK, 0:
   either), MAJOR and MINOR (-1: any), ACCESS what it allows
   (BPF_DEVCG_ACC_MKNOD, _READ, _WRITE; HUTCH_DEV_* have their values).  */
struct dev_rule
{
  int type;
  long long major, minor;
  unsigned int access;
};

static struct bpf_insn
insn (uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
  struct bpf_insn i = { .code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm };
  return i;
}

/* The program: r2 = the device's type, r3 the access asked (the upper
   half of access_type), r4 its major, r5 its minor; each rule returns 1
   (allowed) when it matches and allows all of the access asked, and after
   the last one the answer is 0 (denied).  */
static struct bpf_insn *
device_program (const struct dev_rule *rules, size_t n, size_t *ret_len)
{
  struct bpf_insn *p = hutch_xmalloc0 ((6 + n * 8 + 2) * sizeof *p);
  size_t len = 0, i;

  p[len++] = insn (BPF_LDX | BPF_MEM | BPF_W, 2, 1, 0, 0); /* access_type */
  p[len++] = insn (BPF_ALU64 | BPF_MOV | BPF_X, 3, 2, 0, 0);
  p[len++] = insn (BPF_ALU64 | BPF_RSH | BPF_K, 3, 0, 0, 16);
  p[len++] = insn (BPF_ALU64 | BPF_AND | BPF_K, 2, 0, 0, 0xffff);
  p[len++] = insn (BPF_LDX | BPF_MEM | BPF_W, 4, 1, 4, 0); /* major */
  p[len++] = insn (BPF_LDX | BPF_MEM | BPF_W, 5, 1, 8, 0); /* minor */
  for (i = 0; i < n; i++)
    {
      bool all = (rules[i].access & 7u) == 7u;
      /* jumps go past the rest of this rule: its checks, mov and exit */
      int16_t left = (int16_t)(2 + (rules[i].type != 0) + (rules[i].major >= 0)
                               + (rules[i].minor >= 0) + (all ? 0 : 3));
      if (rules[i].type != 0)
        p[len++] = insn (BPF_JMP | BPF_JNE | BPF_K, 2, 0, --left, rules[i].type);
      if (!all)
        {
          /* r6 = access asked that the rule does not allow: none, or skip */
          p[len++] = insn (BPF_ALU64 | BPF_MOV | BPF_X, 6, 3, 0, 0);
          --left;
          p[len++] = insn (BPF_ALU64 | BPF_AND | BPF_K, 6, 0, 0, (int32_t)(~rules[i].access & 7u));
          --left;
          p[len++] = insn (BPF_JMP | BPF_JNE | BPF_K, 6, 0, --left, 0);
        }
      if (rules[i].major >= 0)
        p[len++] = insn (BPF_JMP | BPF_JNE | BPF_K, 4, 0, --left, (int32_t)rules[i].major);
      if (rules[i].minor >= 0)
        p[len++] = insn (BPF_JMP | BPF_JNE | BPF_K, 5, 0, --left, (int32_t)rules[i].minor);
      p[len++] = insn (BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1);
      p[len++] = insn (BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    }
  p[len++] = insn (BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0);
  p[len++] = insn (BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  *ret_len = len;
  return p;
}

int
hutch_devices_limit (const struct hutch_spec *spec, int cgroupfd, hutch_error_t *err)
{
  /* What the container is given without asking (mount.c binds the first
     six on a /dev of its own; devpts makes ptmx and the slaves), as runc
     allows them.  */
  static const struct dev_rule given[] = {
    { BPF_DEVCG_DEV_CHAR, 1, 3, 7 },    { BPF_DEVCG_DEV_CHAR, 1, 5, 7 },
    { BPF_DEVCG_DEV_CHAR, 1, 7, 7 },    { BPF_DEVCG_DEV_CHAR, 1, 8, 7 },
    { BPF_DEVCG_DEV_CHAR, 1, 9, 7 },    { BPF_DEVCG_DEV_CHAR, 5, 0, 7 },
    { BPF_DEVCG_DEV_CHAR, 5, 1, 7 },    { BPF_DEVCG_DEV_CHAR, 5, 2, 7 },
    { BPF_DEVCG_DEV_CHAR, 136, -1, 7 },
  };
  size_t n_given = sizeof given / sizeof given[0];
  size_t n = n_given + spec->n_devices + spec->n_device_rules, len, i;
  _cleanup_free_ struct dev_rule *rules = hutch_xmalloc0 (n * sizeof *rules);
  _cleanup_free_ struct bpf_insn *prog = NULL;
  _cleanup_close_ int progfd = -1;
  char log[1024] = "";
  union bpf_attr attr;
  struct statfs sfs;

  if (fstatfs (cgroupfd, &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC)
    return hutch_error_set (err, errno,
                            "linux.resources.devices: the container's cgroup is not a cgroup v2 "
                            "directory, where the kernel takes device rules");
  memcpy (rules, given, sizeof given);
  for (i = 0; i < spec->n_devices; i++)
    rules[n_given + i] = (struct dev_rule){ spec->devices[i].type == 'b' ? BPF_DEVCG_DEV_BLOCK
                                                                         : BPF_DEVCG_DEV_CHAR,
                                            spec->devices[i].major, spec->devices[i].minor, 7 };
  /* config.json's allow rules (containerd: make any node, and the usual
     ones); HUTCH_DEV_* are the kernel's BPF_DEVCG_ACC_* values.  */
  for (i = 0; i < spec->n_device_rules; i++)
    {
      const struct hutch_device_rule *d = &spec->device_rules[i];
      rules[n_given + spec->n_devices + i]
          = (struct dev_rule){ d->type == 'b'   ? BPF_DEVCG_DEV_BLOCK
                               : d->type == 'c' ? BPF_DEVCG_DEV_CHAR
                                                : 0,
                               d->major, d->minor, d->access };
    }
  prog = device_program (rules, n, &len);
  memset (&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = (uint64_t)(uintptr_t)prog;
  attr.insn_cnt = (uint32_t)len;
  attr.license = (uint64_t)(uintptr_t) "GPL";
  progfd = (int)syscall (SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
  if (progfd < 0 && errno == EPERM)
    return hutch_error_set (err, errno,
                            "linux.resources.devices: load the device program (it takes "
                            "CAP_SYS_ADMIN of the host)");
  if (progfd < 0)
    {
      /* Again, for the verifier's last words (the whole log of a
         successful load would not fit, and fail with ENOSPC).  */
      int e = errno;
      attr.log_buf = (uint64_t)(uintptr_t)log;
      attr.log_size = sizeof log;
      attr.log_level = 1;
      if (syscall (SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr) < 0 && errno != ENOSPC)
        e = errno;
      log[sizeof log - 1] = '\0';
      return hutch_error_set (err, e, "linux.resources.devices: load the device program (%s)",
                              log[0] ? log : "the kernel said no more");
    }
  memset (&attr, 0, sizeof attr);
  attr.target_fd = (uint32_t)cgroupfd;
  attr.attach_bpf_fd = (uint32_t)progfd;
  attr.attach_type = BPF_CGROUP_DEVICE;
  /* Multi: a program a nested runtime attaches below adds its rules to
     ours, and cannot lift them.  */
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (syscall (SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof attr) < 0)
    return hutch_error_set (err, errno,
                            "linux.resources.devices: attach the device program to the "
                            "container's cgroup");
  return 0;
}
