/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* Helpers of util.c that guard the container's setup.  */

#include "tap.h"
#include "base/util.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
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
  cmd = hutch_xasprintf ("rm -rf '%s'", dir);
  if (system (cmd) != 0)
    printf ("# could not remove %s\n", dir);
  return tap_done ();
}
