/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* Helpers of util.c that guard the container's setup.  */

#include "tap.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* In a child (a user namespace of its own, for chroot): a working
   directory left outside a new root is seen as such, and one inside it is
   not.  Exit status: 0 when both hold, 1 when not, 2 when the set-up
   failed.  */
static int
cwd_outside_root (const char *outside, const char *root)
{
  int status;
  pid_t pid = fork ();
  if (pid == 0)
    {
      bool before, after_chroot, after_chdir;
      if (geteuid () != 0 && unshare (CLONE_NEWUSER) < 0)
        _exit (2);
      if (chdir (outside) < 0)
        _exit (2);
      before = hutch_cwd_in_root ();
      if (chroot (root) < 0)
        _exit (2);
      after_chroot = hutch_cwd_in_root ();
      if (chdir ("/") < 0)
        _exit (2);
      after_chdir = hutch_cwd_in_root ();
      _exit (before && !after_chroot && after_chdir ? 0 : 1);
    }
  if (pid < 0 || waitpid (pid, &status, 0) < 0 || !WIFEXITED (status))
    return 2;
  return WEXITSTATUS (status);
}

static char *
read_at (int dfd, const char *name)
{
  char buf[64] = "";
  int fd = openat (dfd, name, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? read (fd, buf, sizeof buf - 1) : -1;

  if (fd >= 0)
    close (fd);
  return n < 0 ? NULL : hutch_xstrdup (buf);
}

static void
put_at (int dfd, const char *name, const char *text)
{
  int fd = openat (dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || hutch_write_all (fd, text, strlen (text)) < 0)
    abort ();
  close (fd);
}

/* hutch_replace_at: a new name, an existing one (exchanged, the old file
   unlinked), and a missing temporary (an error, nothing changed).  */
static void
test_replace (const char *dir)
{
  int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  _cleanup_free_ char *a = NULL, *b = NULL;
  struct stat st;
  int r;

  if (dfd < 0)
    abort ();
  put_at (dfd, ".tmp", "one");
  r = hutch_replace_at (dfd, ".tmp", "rec");
  a = read_at (dfd, "rec");
  ok (r == 0 && a && strcmp (a, "one") == 0 && fstatat (dfd, ".tmp", &st, 0) < 0,
      "hutch_replace_at: a name that did not exist is made");
  put_at (dfd, ".tmp", "two");
  r = hutch_replace_at (dfd, ".tmp", "rec");
  b = read_at (dfd, "rec");
  ok (r == 0 && b && strcmp (b, "two") == 0 && fstatat (dfd, ".tmp", &st, 0) < 0,
      "hutch_replace_at: an existing name gets the new content, the old file is gone");
  r = hutch_replace_at (dfd, ".nosuch", "rec");
  free (b);
  b = read_at (dfd, "rec");
  ok (r < 0 && errno == ENOENT && b && strcmp (b, "two") == 0,
      "hutch_replace_at: a missing temporary is ENOENT and changes nothing");
  close (dfd);
}

int
main (void)
{
  char dir[] = "/tmp/test-util.XXXXXX";
  _cleanup_free_ char *root = NULL, *outside = NULL, *cmd = NULL;
  int r;

  if (mkdtemp (dir) == NULL)
    abort ();
  root = hutch_xasprintf ("%s/root", dir);
  outside = hutch_xasprintf ("%s/outside", dir);
  if (mkdir (root, 0755) < 0 || mkdir (outside, 0755) < 0)
    abort ();
  r = cwd_outside_root (outside, root);
  if (r == 2)
    printf ("ok 1 # SKIP no user namespace for chroot here\n"), tap_n++;
  else
    ok (r == 0, "hutch_cwd_in_root: a directory outside the root is seen as outside");
  ok (hutch_cwd_in_root (), "hutch_cwd_in_root: the test's own directory is inside its root");
  test_replace (outside);
  cmd = hutch_xasprintf ("rm -rf '%s'", dir);
  if (system (cmd) != 0)
    printf ("# could not remove %s\n", dir);
  return tap_done ();
}
