/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "image/driver.h"
#include "base/syscalls.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const names[] = { "overlay", "fuse-overlayfs", "vfs" };

const char *
hutch_storage_name (enum hutch_driver_choice d)
{
  return (unsigned)d < 3 ? names[d] : "?";
}

int
hutch_storage_from_name (const char *name)
{
  int i;
  for (i = 0; i < 3; i++)
    if (strcmp (name, names[i]) == 0)
      return i;
  return -1;
}

/* The probe child: root of a fresh user namespace (own id only), it tries
   the very mount a container would make.  Its exit status is the errno.  */
static int
probe_child (const char *l, const char *u, const char *w)
{
  int fsfd = hutch_fsopen ("overlay", FSOPEN_CLOEXEC), mnt;
  if (fsfd < 0)
    return errno;
  if (hutch_fsconfig (fsfd, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0
      || hutch_fsconfig (fsfd, FSCONFIG_SET_STRING, "lowerdir", l, 0) < 0
      || hutch_fsconfig (fsfd, FSCONFIG_SET_STRING, "upperdir", u, 0) < 0
      || hutch_fsconfig (fsfd, FSCONFIG_SET_STRING, "workdir", w, 0) < 0
      || hutch_fsconfig (fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return errno;
  mnt = hutch_fsmount (fsfd, FSMOUNT_CLOEXEC, 0);
  if (mnt < 0)
    return errno;
  return 0;
}

/* Only the own ids, written directly: the probe needs no helper.  A write
   that fails is left to show in the child's mount attempt.  */
static void
probe_map_own_ids (pid_t pid)
{
  static const char *const files[] = { "setgroups", "uid_map", "gid_map" };
  char map[64];
  char path[64];
  int k;
  for (k = 0; k < 3; k++)
    {
      hutch_error_t e = HUTCH_ERROR_INIT;
      if (k == 0)
        snprintf (map, sizeof map, "deny");
      else
        snprintf (map, sizeof map, "0 %u 1\n", (unsigned)(k == 1 ? geteuid () : getegid ()));
      snprintf (path, sizeof path, "/proc/%d/%s", pid, files[k]);
      if (hutch_write_file (path, map, &e) < 0)
        hutch_error_clear (&e);
    }
}

/* Start probe_child in a new user and mount namespace, held on GO until
   its ids are mapped, and wait for its verdict: 1 when the overlay
   mounted, else 0 and *RET_WHY.  Closes GO's read end and sets it to -1;
   the caller closes the rest.  */
static int
probe_run (const char *l, const char *u, const char *w, int go[2], char **ret_why)
{
  int st, r;
  pid_t pid;
  char c;

  pid = (pid_t)syscall (SYS_clone, CLONE_NEWUSER | CLONE_NEWNS | SIGCHLD, 0, NULL, NULL, 0);
  if (pid < 0)
    {
      *ret_why = hutch_xasprintf ("no user namespace: %s", strerror (errno));
      return 0;
    }
  if (pid == 0)
    {
      close (go[1]);
      if (read (go[0], &c, 1) != 1)
        _exit (EPIPE);
      _exit (probe_child (l, u, w));
    }
  close (go[0]);
  go[0] = -1;
  probe_map_own_ids (pid);
  c = 'g';
  if (write (go[1], &c, 1) != 1)
    {
      /* the child is gone; its status says why */
    }
  while (waitpid (pid, &st, 0) < 0 && errno == EINTR)
    ;
  r = WIFEXITED (st) && WEXITSTATUS (st) == 0;
  if (!r)
    *ret_why = hutch_xasprintf ("kernel overlayfs cannot be mounted in a user namespace here (%s)",
                                WIFEXITED (st) ? strerror (WEXITSTATUS (st)) : "probe killed");
  return r;
}

/* Remove the probe's directories, those that were made (NULL for a path
   not yet named).  */
static void
probe_remove_dirs (const char *dir, const char *l, const char *u, const char *w)
{
  if (w)
    {
      _cleanup_free_ char *wi = hutch_xasprintf ("%s/work", w);
      rmdir (wi); /* overlayfs makes work/work */
      rmdir (w);
    }
  if (u)
    rmdir (u);
  if (l)
    rmdir (l);
  rmdir (dir);
}

int
hutch_probe_kernel_overlay (const char *scratch, char **ret_why, hutch_error_t *err)
{
  _cleanup_free_ char *dir = hutch_xasprintf ("%s/overlay-probe.XXXXXX", scratch);
  _cleanup_free_ char *l = NULL, *u = NULL, *w = NULL;
  int r = -1, go[2] = { -1, -1 };

  *ret_why = NULL;
  if (mkdtemp (dir) == NULL)
    return hutch_error_set (err, errno, "create a directory under `%s`", scratch);
  l = hutch_xasprintf ("%s/l", dir);
  u = hutch_xasprintf ("%s/u", dir);
  w = hutch_xasprintf ("%s/w", dir);
  if (mkdir (l, 0755) < 0 || mkdir (u, 0755) < 0 || mkdir (w, 0755) < 0
      || pipe2 (go, O_CLOEXEC) < 0)
    {
      hutch_error_set (err, errno, "prepare the overlay probe in `%s`", dir);
      goto out;
    }
  r = probe_run (l, u, w, go, ret_why);
out:
  if (go[0] >= 0)
    close (go[0]);
  if (go[1] >= 0)
    close (go[1]);
  probe_remove_dirs (dir, l, u, w);
  return r;
}

char *
hutch_find_fuse_overlayfs (char **ret_why)
{
  char *cand = hutch_find_program ("fuse-overlayfs");

  *ret_why = NULL;
  if (cand == NULL)
    {
      *ret_why = hutch_xstrdup ("fuse-overlayfs is not installed (apt install fuse-overlayfs)");
      return NULL;
    }
  if (access ("/dev/fuse", R_OK | W_OK) < 0)
    {
      free (cand);
      *ret_why = hutch_xstrdup ("/dev/fuse is not usable (ask an administrator to make it "
                                "mode 0666)");
      return NULL;
    }
  return cand;
}

int
hutch_storage_choose (int forced, const char *scratch, enum hutch_driver_choice *ret,
                      char **ret_fuse_program, char **ret_why, hutch_error_t *err)
{
  _cleanup_free_ char *why_kernel = NULL, *why_fuse = NULL;
  char *fuse;
  int r;

  *ret_fuse_program = NULL;
  *ret_why = NULL;
  if (forced == HUTCH_STORAGE_VFS)
    {
      *ret = HUTCH_STORAGE_VFS;
      *ret_why = hutch_xstrdup ("chosen with --storage-driver or in the config file");
      return 0;
    }
  if (forced == HUTCH_STORAGE_FUSE)
    {
      fuse = hutch_find_fuse_overlayfs (&why_fuse);
      if (fuse == NULL)
        return hutch_error_set (err, 0, "--storage-driver=fuse-overlayfs: %s", why_fuse);
      *ret = HUTCH_STORAGE_FUSE;
      *ret_fuse_program = fuse;
      *ret_why = hutch_xstrdup ("chosen with --storage-driver or in the config file");
      return 0;
    }
  r = hutch_probe_kernel_overlay (scratch, &why_kernel, err);
  if (r < 0)
    return -1;
  if (r == 1)
    {
      *ret = HUTCH_STORAGE_OVERLAY;
      *ret_why = hutch_xstrdup (forced == HUTCH_STORAGE_OVERLAY
                                    ? "chosen with --storage-driver or in the config file"
                                    : "kernel overlayfs mounts in a user namespace (probed)");
      return 0;
    }
  if (forced == HUTCH_STORAGE_OVERLAY)
    return hutch_error_set (err, 0, "--storage-driver=overlay: %s; use fuse-overlayfs or vfs",
                            why_kernel);
  fuse = hutch_find_fuse_overlayfs (&why_fuse);
  if (fuse)
    {
      *ret = HUTCH_STORAGE_FUSE;
      *ret_fuse_program = fuse;
      *ret_why = hutch_xasprintf ("%s; fuse-overlayfs instead", why_kernel);
      return 0;
    }
  *ret = HUTCH_STORAGE_VFS;
  *ret_why = hutch_xasprintf ("%s, and %s: a plain copy of the image for each container",
                              why_kernel, why_fuse);
  return 0;
}
