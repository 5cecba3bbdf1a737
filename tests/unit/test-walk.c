/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* The walker of untrusted trees (base/walk.c): what it must refuse, and
   what it must never touch outside the tree.  */

#include "tap.h"
#include "base/util.h"
#include "base/walk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *top, *root, *outside;
static int rootfd = -1;

static bool
exists (const char *path)
{
  struct stat st;
  return lstat (path, &st) == 0;
}

static void
put_file (const char *path)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0 || write (fd, "x", 1) != 1)
    abort ();
  close (fd);
}

static void
test_mkdir (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_free_ char *abs_link = hutch_xasprintf ("%s/abs", root);
  _cleanup_free_ char *rel_link = hutch_xasprintf ("%s/rel", root);
  _cleanup_free_ char *in_link = hutch_xasprintf ("%s/inl", root);
  _cleanup_free_ char *made = hutch_xasprintf ("%s/a/b/c", root);
  _cleanup_free_ char *via = hutch_xasprintf ("%s/d/x", root);
  _cleanup_free_ char *out_sub = hutch_xasprintf ("%s/sub", outside);
  _cleanup_free_ char *out_newdir = hutch_xasprintf ("%s/newdir", outside);
  struct stat st;
  int fd;

  if (symlink (outside, abs_link) < 0 || symlink ("../outside", rel_link) < 0
      || symlink ("/d", in_link) < 0)
    abort ();

  fd = hutch_walk_mkdir (rootfd, "./a//b/c/", 0755, RESOLVE_BENEATH, NULL, NULL, &err);
  ok (fd >= 0 && stat (made, &st) == 0 && S_ISDIR (st.st_mode), "mkdir: a/b/c made beneath (%s)",
      err.msg ? err.msg : "");
  if (fd >= 0)
    close (fd);
  hutch_error_clear (&err);

  /* Beneath: a symlink out of the tree, absolute or relative, is refused.  */
  fd = hutch_walk_mkdir (rootfd, "abs/sub", 0755, RESOLVE_BENEATH, NULL, NULL, &err);
  ok (fd < 0 && err.errnum == EXDEV, "mkdir beneath: an absolute symlink out is refused (%s)",
      err.msg ? err.msg : "");
  hutch_error_clear (&err);
  fd = hutch_walk_mkdir (rootfd, "rel/sub", 0755, RESOLVE_BENEATH, NULL, NULL, &err);
  ok (fd < 0 && err.errnum == EXDEV, "mkdir beneath: a relative symlink out is refused (%s)",
      err.msg ? err.msg : "");
  hutch_error_clear (&err);

  /* No symlinks at all (an image archive): refused even inside.  */
  fd = hutch_walk_mkdir (rootfd, "inl/sub", 0700, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, NULL, NULL,
                         &err);
  ok (fd < 0 && err.errnum == ELOOP, "mkdir without symlinks: a symlink is refused (%s)",
      err.msg ? err.msg : "");
  hutch_error_clear (&err);

  /* In a container's root, symlinks are followed, but inside the root: the
     outside's path means a path in the root, where nothing is.  */
  fd = hutch_walk_mkdir_in_root (rootfd, "/abs/newdir", 0755, &err);
  if (fd >= 0)
    close (fd);
  hutch_error_clear (&err);
  fd = hutch_walk_mkdir_in_root (rootfd, "rel/newdir", 0755, &err);
  if (fd >= 0)
    close (fd);
  hutch_error_clear (&err);
  ok (!exists (out_sub) && !exists (out_newdir),
      "mkdir: no symlink made a directory outside the root");

  fd = hutch_walk_mkdir_in_root (rootfd, "/inl/x", 0755, &err);
  ok (fd < 0, "mkdir in root: a symlink to a missing /d is not made into a directory (%s)",
      err.msg ? err.msg : "");
  if (fd >= 0)
    close (fd);
  hutch_error_clear (&err);
  fd = hutch_walk_mkdir_in_root (rootfd, "/d", 0755, &err);
  if (fd >= 0)
    close (fd);
  fd = hutch_walk_mkdir_in_root (rootfd, "/inl/x", 0755, &err);
  ok (fd >= 0 && stat (via, &st) == 0 && S_ISDIR (st.st_mode),
      "mkdir in root: an absolute symlink is followed inside the root (%s)",
      err.msg ? err.msg : "");
  if (fd >= 0)
    close (fd);
  hutch_error_clear (&err);
}

static void
test_remove (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_free_ char *tree = hutch_xasprintf ("%s/tree", root);
  _cleanup_free_ char *deep = hutch_xasprintf ("%s/tree/a/b", root);
  _cleanup_free_ char *ro = hutch_xasprintf ("%s/tree/ro", root);
  _cleanup_free_ char *f = hutch_xasprintf ("%s/tree/a/b/f", root);
  _cleanup_free_ char *l1 = hutch_xasprintf ("%s/tree/dirlink", root);
  _cleanup_free_ char *l2 = hutch_xasprintf ("%s/tree/a/filelink", root);
  _cleanup_free_ char *keep = hutch_xasprintf ("%s/keep", outside);
  _cleanup_free_ char *keepdir = hutch_xasprintf ("%s/kd", outside);
  _cleanup_free_ char *keep2 = hutch_xasprintf ("%s/kd/k2", outside);
  _cleanup_free_ char *rof = hutch_xasprintf ("%s/tree/ro/f", root);
  int fd;

  if (mkdir (tree, 0755) < 0 || mkdir (ro, 0755) < 0 || hutch_walk_mkdir_p (deep, 0755, &err) < 0)
    abort ();
  put_file (f);
  put_file (keep);
  put_file (rof);
  if (mkdir (keepdir, 0755) < 0)
    abort ();
  put_file (keep2);
  if (symlink (outside, l1) < 0 || symlink (keep, l2) < 0 || chmod (ro, 0500) < 0)
    abort ();

  ok (hutch_walk_remove_tree (rootfd, "tree", &err) == 0 && !exists (tree),
      "remove: the tree is gone, a read-only directory too (%s)", err.msg ? err.msg : "");
  ok (exists (keep) && exists (keepdir) && exists (keep2),
      "remove: a symlink to a directory outside is not followed, the files outside survive");
  hutch_error_clear (&err);

  ok (hutch_walk_remove_tree (rootfd, "tree", &err) == 0, "remove: a missing name is no error");

  /* A symlink named at the top is removed itself.  */
  if (symlink (outside, tree) < 0)
    abort ();
  ok (hutch_walk_remove_path (tree, &err) == 0 && !exists (tree) && exists (keep2),
      "remove a path: a symlink to a directory goes, its target stays (%s)",
      err.msg ? err.msg : "");
  hutch_error_clear (&err);

  /* Emptying keeps the directory itself.  */
  if (hutch_walk_mkdir_p (deep, 0755, &err) < 0)
    abort ();
  fd = open (tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ok (fd >= 0 && hutch_walk_empty_dir (fd, &err) == 0 && exists (tree) && !exists (deep),
      "empty: the entries go, the directory stays (%s)", err.msg ? err.msg : "");
  if (fd >= 0)
    close (fd);
  hutch_error_clear (&err);
  rmdir (tree);
}

/* As a user without CAP_DAC_OVERRIDE (nobody, when the test runs as
   root): directories of ours without read or write permission are opened
   up and removed.  Exit status 0 when the tree is gone, 1 when not, 2 when
   the set-up failed.  */
static int
remove_unreadable_as_user (void)
{
  char dir[] = "/tmp/test-walk-user.XXXXXX";
  hutch_error_t err = HUTCH_ERROR_INIT;
  int fd, r;

  if (geteuid () == 0 && (setgid (65534) < 0 || setuid (65534) < 0))
    return 2;
  if (mkdtemp (dir) == NULL)
    return 2;
  fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || mkdirat (fd, "t", 0755) < 0 || mkdirat (fd, "t/none", 0755) < 0
      || mkdirat (fd, "t/ro", 0755) < 0 || mknodat (fd, "t/none/f", S_IFREG | 0644, 0) < 0
      || mknodat (fd, "t/ro/f", S_IFREG | 0644, 0) < 0 || fchmodat (fd, "t/none", 0, 0) < 0
      || fchmodat (fd, "t/ro", 0555, 0) < 0)
    return 2;
  r = hutch_walk_remove_tree (fd, "t", &err) == 0 && faccessat (fd, "t", F_OK, 0) < 0 ? 0 : 1;
  if (r != 0)
    fprintf (stderr, "# %s\n", err.msg ? err.msg : "t is still there");
  close (fd);
  rmdir (dir);
  return r;
}

static void
test_remove_unreadable (void)
{
  int status;
  pid_t pid = fork ();

  if (pid == 0)
    _exit (remove_unreadable_as_user ());
  if (pid < 0 || waitpid (pid, &status, 0) < 0 || !WIFEXITED (status) || WEXITSTATUS (status) == 2)
    {
      printf ("ok %d # SKIP no unprivileged user to test with\n", ++tap_n);
      return;
    }
  ok (WEXITSTATUS (status) == 0, "remove: directories of ours mode 0000 and 0555 are opened up");
}

/* A chain of N directories "d/d/d/..." under NAME in ROOTFD.  */
static void
make_deep (const char *name, int n)
{
  int fd = rootfd, i;

  if (mkdirat (fd, name, 0755) < 0)
    abort ();
  fd = openat (fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  for (i = 1; i < n; i++)
    {
      int next;
      if (fd < 0 || mkdirat (fd, "d", 0755) < 0)
        abort ();
      next = openat (fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      close (fd);
      fd = next;
    }
  if (fd < 0)
    abort ();
  if (mknodat (fd, "leaf", S_IFREG | 0644, 0) < 0)
    abort ();
  close (fd);
}

static void
test_deep (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_free_ char *deep = hutch_xasprintf ("%s/deep", root);
  _cleanup_free_ char *deeper = hutch_xasprintf ("%s/deeper", root);
  _cleanup_free_ char *cmd = NULL;
  int r;

  make_deep ("deep", HUTCH_WALK_MAX_DEPTH);
  ok (hutch_walk_remove_tree (rootfd, "deep", &err) == 0 && !exists (deep),
      "remove: a tree %d directories deep is removed (%s)", HUTCH_WALK_MAX_DEPTH,
      err.msg ? err.msg : "");
  hutch_error_clear (&err);

  /* three times the depth a removal holds fds for: moved up and removed
     from the top, nothing left beside it */
  make_deep ("deeper", 3 * HUTCH_WALK_MAX_DEPTH + 5);
  r = hutch_walk_remove_tree (rootfd, "deeper", &err);
  ok (r == 0 && !exists (deeper), "remove: a tree %d directories deep is removed too (%s)",
      3 * HUTCH_WALK_MAX_DEPTH + 5, err.msg ? err.msg : "");
  hutch_error_clear (&err);
  cmd = hutch_xasprintf ("ls -A '%s' | grep -q hutch-deep", root);
  ok (system (cmd) != 0, "remove: nothing that was moved up is left");
  if (exists (deeper))
    {
      free (cmd);
      cmd = hutch_xasprintf ("rm -rf '%s'", deeper);
      if (system (cmd) != 0)
        printf ("# could not remove %s\n", deeper);
    }
}

/* hutch_walk_try_remove_path: a tree it can remove goes; one deeper than
   the bound fails whole, with nothing moved up beside it (a try must not
   leave what it put aside to the removal that follows it).  */
static void
test_try_remove (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_free_ char *easy = hutch_xasprintf ("%s/easy", root);
  _cleanup_free_ char *deep = hutch_xasprintf ("%s/trydeep", root);
  _cleanup_free_ char *cmd = hutch_xasprintf ("ls -A '%s' | grep -q hutch-deep", root);
  int r;

  make_deep ("easy", 5);
  ok (hutch_walk_try_remove_path (easy, &err) == 0 && !exists (easy),
      "try remove: a tree that can be removed is (%s)", err.msg ? err.msg : "");
  hutch_error_clear (&err);
  make_deep ("trydeep", 2 * HUTCH_WALK_MAX_DEPTH);
  r = hutch_walk_try_remove_path (deep, &err);
  ok (r < 0 && exists (deep) && system (cmd) != 0,
      "try remove: a tree past the depth bound fails, nothing moved up is left");
  hutch_error_clear (&err);
  ok (hutch_walk_remove_path (deep, &err) == 0 && !exists (deep),
      "try remove: what it left is removed by the full removal (%s)", err.msg ? err.msg : "");
  hutch_error_clear (&err);
}

/* One fd a level: a tree as deep as the bound is removed with 300 fds
   (two a level needed 512).  */
static void
test_fds (void)
{
  _cleanup_free_ char *deep = hutch_xasprintf ("%s/fds", root);
  pid_t pid;
  int st = 0;

  make_deep ("fds", HUTCH_WALK_MAX_DEPTH);
  pid = fork ();
  if (pid == 0)
    {
      hutch_error_t err = HUTCH_ERROR_INIT;
      struct rlimit rl = { 300, 300 };
      if (setrlimit (RLIMIT_NOFILE, &rl) < 0)
        _exit (2);
      _exit (hutch_walk_remove_tree (rootfd, "fds", &err) == 0 ? 0 : 1);
    }
  waitpid (pid, &st, 0);
  ok (WIFEXITED (st) && WEXITSTATUS (st) == 0 && !exists (deep),
      "remove: %d levels with at most 300 fds open", HUTCH_WALK_MAX_DEPTH);
}

/* A mount point inside the tree is not entered: what is mounted there
   stays, and the failure names it.  Needs a mount namespace (root, or a
   user namespace): skipped without one.  */
static void
test_mount_point (void)
{
  int pipefd[2];
  pid_t pid;
  char res[8] = "";
  ssize_t n;
  int st;

  if (pipe (pipefd) < 0)
    abort ();
  pid = fork ();
  if (pid == 0)
    {
      hutch_error_t err = HUTCH_ERROR_INIT;
      _cleanup_free_ char *mnt = hutch_xasprintf ("%s/m/vol", root);
      _cleanup_free_ char *kept = hutch_xasprintf ("%s/m/vol/kept", root);
      const char *verdict;
      int r, nsroot = -1;
      close (pipefd[0]);
      /* the root opened again in the new mount namespace: an fd from
         before it would walk the old namespace's mounts, where vol is
         none */
      if (unshare (CLONE_NEWNS) < 0 || mount ("", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0
          || (nsroot = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0
          || mkdirat (nsroot, "m", 0755) < 0 || mkdir (mnt, 0755) < 0
          || mount ("t", mnt, "tmpfs", 0, NULL) < 0 || mknod (kept, S_IFREG | 0644, 0) < 0)
        verdict = "skip";
      else
        {
          r = hutch_walk_remove_tree (nsroot, "m", &err);
          verdict
              = r < 0 && err.msg && strstr (err.msg, "mount point") && exists (kept) ? "ok" : "bad";
          umount2 (mnt, MNT_DETACH);
          hutch_error_clear (&err);
          hutch_walk_remove_tree (nsroot, "m", &err);
        }
      if (write (pipefd[1], verdict, strlen (verdict)) < 0)
        _exit (1);
      _exit (0);
    }
  close (pipefd[1]);
  n = read (pipefd[0], res, sizeof res - 1);
  close (pipefd[0]);
  waitpid (pid, &st, 0);
  res[n > 0 ? n : 0] = '\0';
  if (strcmp (res, "skip") == 0)
    {
      tap_n++;
      printf ("ok %d - # SKIP remove: a mount point is not entered (no mount namespace here)\n",
              tap_n);
    }
  else
    ok (strcmp (res, "ok") == 0, "remove: a mount point is not entered, and is named");
}

static void
put_text (const char *path, const char *text, mode_t mode)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0 || write (fd, text, strlen (text)) != (ssize_t)strlen (text))
    abort ();
  close (fd);
}

/* Copy-up: what is copied and how, and that neither side's symlinks are
   followed.  */
static void
test_copy (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_free_ char *src = hutch_xasprintf ("%s/csrc", top);
  _cleanup_free_ char *dst = hutch_xasprintf ("%s/cdst", top);
  _cleanup_free_ char *dst2 = hutch_xasprintf ("%s/cdst2", top);
  _cleanup_free_ char *p = NULL, *q = NULL, *out = hutch_xasprintf ("%s/target", outside);
  char buf[64];
  struct stat st, st2;
  int sfd, dfd;
  ssize_t n;

  if (mkdir (src, 0750) < 0 || mkdir (dst, 0755) < 0 || mkdir (dst2, 0755) < 0)
    abort ();
  p = hutch_xasprintf ("%s/sub", src);
  if (mkdir (p, 0700) < 0)
    abort ();
  free (p);
  p = hutch_xasprintf ("%s/sub/file", src);
  put_text (p, "content", 0640);
  q = hutch_xasprintf ("%s/hard", src);
  if (link (p, q) < 0)
    abort ();
  free (p);
  free (q);
  p = hutch_xasprintf ("%s/link", src);
  q = hutch_xasprintf ("%s/fifo", src);
  if (symlink (out, p) < 0 || mkfifo (q, 0600) < 0)
    abort ();
  sfd = open (src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  dfd = open (dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ok (hutch_walk_copy_tree (sfd, dfd, &err) == 0, "copy: a tree is copied (%s)",
      err.msg ? err.msg : "");
  free (p);
  p = hutch_xasprintf ("%s/link", dst);
  n = readlink (p, buf, sizeof buf - 1);
  free (p);
  p = hutch_xasprintf ("%s/sub/file", dst);
  buf[n > 0 ? n : 0] = '\0';
  ok (n > 0 && strcmp (buf, out) == 0 && !exists (out), "copy: a symlink stays a symlink");
  ok (stat (p, &st) == 0 && (st.st_mode & 07777) == 0640 && st.st_size == 7,
      "copy: a file's mode and data");
  free (q);
  q = hutch_xasprintf ("%s/hard", dst);
  ok (stat (q, &st2) == 0 && st2.st_ino == st.st_ino, "copy: hard links stay hard links");
  free (q);
  q = hutch_xasprintf ("%s/fifo", dst);
  ok (lstat (q, &st2) == 0 && S_ISFIFO (st2.st_mode), "copy: a FIFO");
  ok (fstat (dfd, &st2) == 0 && (st2.st_mode & 07777) == 0750, "copy: the top takes the mode");
  close (dfd);

  /* the destination holds a symlink where the source has a directory:
     the copy does not write through it */
  free (q);
  q = hutch_xasprintf ("%s/sub", dst2);
  if (symlink (outside, q) < 0)
    abort ();
  dfd = open (dst2, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ok (hutch_walk_copy_tree (sfd, dfd, &err) < 0, "copy: a symlink in the destination is refused");
  free (q);
  q = hutch_xasprintf ("%s/file", outside);
  ok (!exists (q), "copy: nothing is written through it");
  hutch_error_clear (&err);
  close (dfd);
  close (sfd);
}

/* Copy and chown are bounded in depth: a tree deeper than
   HUTCH_WALK_MAX_DEPTH is an error that says so, not an exhausted fd
   table; one just as deep goes through.  */
static void
test_copy_deep (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_free_ char *d1 = hutch_xasprintf ("%s/cdeep-out", root);
  _cleanup_free_ char *d2 = hutch_xasprintf ("%s/cdeeper-out", root);
  int src, dst, r;

  make_deep ("cdeep", HUTCH_WALK_MAX_DEPTH - 1);
  make_deep ("cdeeper", HUTCH_WALK_MAX_DEPTH + 2);
  if (mkdir (d1, 0755) < 0 || mkdir (d2, 0755) < 0)
    abort ();
  src = openat (rootfd, "cdeep", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  dst = open (d1, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  r = hutch_walk_copy_tree (src, dst, &err);
  ok (r == 0, "copy: %d levels (%s)", HUTCH_WALK_MAX_DEPTH, err.msg ? err.msg : "");
  hutch_error_clear (&err);
  close (src);
  close (dst);
  src = openat (rootfd, "cdeeper", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  dst = open (d2, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  r = hutch_walk_copy_tree (src, dst, &err);
  ok (r < 0 && err.msg && strstr (err.msg, "directories deep"), "copy: deeper is refused (%s)",
      err.msg ? err.msg : "");
  hutch_error_clear (&err);
  r = hutch_walk_chown_tree (src, geteuid (), getegid (), &err);
  ok (r < 0 && err.msg && strstr (err.msg, "directories deep"), "chown: deeper is refused (%s)",
      err.msg ? err.msg : "");
  hutch_error_clear (&err);
  close (src);
  close (dst);
}

/* :U's walk, as root: the tree is given away, a symlink's target outside
   and a mount point inside are not.  In a child with a mount namespace
   of its own; skipped when not root.  */
static const char *
chown_child (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_free_ char *t = hutch_xasprintf ("%s/own", top);
  _cleanup_free_ char *f = hutch_xasprintf ("%s/own/d/f", top);
  _cleanup_free_ char *l = hutch_xasprintf ("%s/own/l", top);
  _cleanup_free_ char *m = hutch_xasprintf ("%s/own/m", top);
  _cleanup_free_ char *mf = hutch_xasprintf ("%s/own/m/f", top);
  _cleanup_free_ char *tgt = hutch_xasprintf ("%s/chown-target", outside);
  _cleanup_free_ char *d = hutch_xasprintf ("%s/own/d", top);
  struct stat st;
  int fd;

  if (unshare (CLONE_NEWNS) < 0 || mount ("", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return "skip";
  put_text (tgt, "x", 0644);
  if (mkdir (t, 0755) < 0 || mkdir (d, 0755) < 0 || mkdir (m, 0755) < 0 || symlink (tgt, l) < 0)
    return "setup";
  put_text (f, "x", 0644);
  if (mount ("t", m, "tmpfs", 0, NULL) < 0)
    return "skip";
  put_text (mf, "x", 0644);
  fd = open (t, O_PATH | O_CLOEXEC);
  if (hutch_walk_chown_tree (fd, 4242, 4343, &err) < 0)
    return "failed";
  if (stat (f, &st) < 0 || st.st_uid != 4242 || st.st_gid != 4343 || stat (d, &st) < 0
      || st.st_uid != 4242 || stat (t, &st) < 0 || st.st_uid != 4242)
    return "tree not given";
  if (lstat (l, &st) < 0 || st.st_uid != 4242 || stat (tgt, &st) < 0 || st.st_uid != 0)
    return "symlink";
  if (stat (m, &st) < 0 || st.st_uid != 0 || stat (mf, &st) < 0 || st.st_uid != 0)
    return "mount point entered";
  umount2 (m, MNT_DETACH);
  return "ok";
}

static void
test_chown (void)
{
  int pipefd[2], st;
  char res[32] = "";
  ssize_t n;
  pid_t pid;

  if (geteuid () != 0)
    {
      tap_n++;
      printf ("ok %d - # SKIP chown: needs root\n", tap_n);
      return;
    }
  if (pipe (pipefd) < 0)
    abort ();
  pid = fork ();
  if (pid == 0)
    {
      const char *v = chown_child ();
      close (pipefd[0]);
      if (write (pipefd[1], v, strlen (v)) < 0)
        _exit (1);
      _exit (0);
    }
  close (pipefd[1]);
  n = read (pipefd[0], res, sizeof res - 1);
  close (pipefd[0]);
  waitpid (pid, &st, 0);
  res[n > 0 ? n : 0] = '\0';
  if (strcmp (res, "skip") == 0)
    {
      tap_n++;
      printf ("ok %d - # SKIP chown: no mount namespace here\n", tap_n);
    }
  else
    ok (strcmp (res, "ok") == 0,
        "chown: the tree is given, a symlink's target and a mount point are not (%s)", res);
}

static void
name_refused (const char *name, enum hutch_walk_name_problem want, const char *why)
{
  char *clean = NULL;
  enum hutch_walk_name_problem got = hutch_walk_clean_name (name, &clean, NULL);
  ok (got == want && clean == NULL, "clean name: `%.40s` is refused: %s (%d)", name, why, got);
  free (clean);
}

static void
name_is (const char *name, const char *want)
{
  char *clean = NULL;
  enum hutch_walk_name_problem got = hutch_walk_clean_name (name, &clean, NULL);
  ok (got == HUTCH_WALK_NAME_OK && clean && strcmp (clean, want) == 0,
      "clean name: `%s` is `%s` (%s)", name, want, clean ? clean : "refused");
  free (clean);
}

static void
test_names (void)
{
  _cleanup_free_ char *long_comp = hutch_xmalloc0 (HUTCH_WALK_MAX_COMPONENT + 2);
  _cleanup_free_ char *long_path = hutch_xmalloc0 (HUTCH_WALK_MAX_PATH + 2);
  _cleanup_free_ char *shown = NULL;
  size_t len = 0;
  char *clean = NULL;

  name_refused ("..", HUTCH_WALK_NAME_DOTDOT, "`..`");
  name_refused ("../etc/passwd", HUTCH_WALK_NAME_DOTDOT, "`..` first");
  name_refused ("a/../../b", HUTCH_WALK_NAME_DOTDOT, "`..` in the middle");
  name_refused ("a/b/..", HUTCH_WALK_NAME_DOTDOT, "`..` last");
  name_refused ("a/../b", HUTCH_WALK_NAME_DOTDOT, "`..` even where it stays inside");
  name_refused ("/etc/passwd", HUTCH_WALK_NAME_ABSOLUTE, "absolute");
  name_refused ("//etc", HUTCH_WALK_NAME_ABSOLUTE, "absolute, two slashes");
  name_refused ("", HUTCH_WALK_NAME_EMPTY, "empty");
  memset (long_comp, 'a', HUTCH_WALK_MAX_COMPONENT + 1);
  name_refused (long_comp, HUTCH_WALK_NAME_COMPONENT_TOO_LONG, "a component too long");
  memset (long_path, 'a', HUTCH_WALK_MAX_PATH + 1);
  name_refused (long_path, HUTCH_WALK_NAME_TOO_LONG, "too long");
  ok (hutch_walk_clean_name (long_comp, &clean, &len) == HUTCH_WALK_NAME_COMPONENT_TOO_LONG
          && len == HUTCH_WALK_MAX_COMPONENT + 1,
      "clean name: the length of the long component is given (%zu)", len);

  name_is ("./a//b/./c/", "a/b/c");
  name_is ("a", "a");
  name_is ("./", "");
  name_is ("/", "");
  name_is ("...", "...");
  name_is ("a/..b/c..", "a/..b/c..");

  shown = hutch_walk_shown ("a\033[2Jb");
  is_str (shown, "a\\x1b[2Jb", "shown: control characters are escaped (%s)", shown);
}

int
main (void)
{
  char dir[] = "/tmp/test-walk.XXXXXX";
  _cleanup_free_ char *cmd = NULL;

  if (mkdtemp (dir) == NULL)
    abort ();
  top = dir;
  root = hutch_xasprintf ("%s/root", dir);
  outside = hutch_xasprintf ("%s/outside", dir);
  if (mkdir (root, 0755) < 0 || mkdir (outside, 0755) < 0)
    abort ();
  rootfd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    abort ();

  test_names ();
  test_mkdir ();
  test_remove ();
  test_remove_unreadable ();
  test_deep ();
  test_try_remove ();
  test_fds ();
  test_mount_point ();
  test_copy ();
  test_copy_deep ();
  test_chown ();

  close (rootfd);
  cmd = hutch_xasprintf ("rm -rf '%s'", top);
  if (system (cmd) != 0)
    printf ("# could not remove %s\n", top);
  free (root);
  free (outside);
  return tap_done ();
}
