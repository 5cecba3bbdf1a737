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
  test_fds ();
  test_mount_point ();

  close (rootfd);
  cmd = hutch_xasprintf ("rm -rf '%s'", top);
  if (system (cmd) != 0)
    printf ("# could not remove %s\n", top);
  free (root);
  free (outside);
  return tap_done ();
}
