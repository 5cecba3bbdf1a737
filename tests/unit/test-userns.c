/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* The diagnosis of a failed user namespace, against fake /proc/sys trees:
   the knobs of Debian's old kernels and Ubuntu's AppArmor cannot be turned
   on this host, and max_user_namespaces = 0 is also checked for real by
   the integration tests.  */

#include "runtime/container.h"
#include "runtime/userns.h"
#include "tap.h"
#include "base/util.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char *
fake (const char *max, const char *clone, const char *apparmor)
{
  char tmpl[] = "/tmp/hutch-userns-XXXXXX";
  char *dir = hutch_xstrdup (mkdtemp (tmpl));
  char *p;
  FILE *f;

  p = hutch_xasprintf ("%s/user", dir);
  mkdir (p, 0755);
  free (p);
  p = hutch_xasprintf ("%s/kernel", dir);
  mkdir (p, 0755);
  free (p);
#define PUT(name, v)                                                                               \
  if (v)                                                                                           \
    {                                                                                              \
      p = hutch_xasprintf ("%s/%s", dir, name);                                                    \
      f = fopen (p, "w");                                                                          \
      fprintf (f, "%s\n", v);                                                                      \
      fclose (f);                                                                                  \
      free (p);                                                                                    \
    }
  PUT ("user/max_user_namespaces", max);
  PUT ("kernel/unprivileged_userns_clone", clone);
  PUT ("kernel/apparmor_restrict_unprivileged_userns", apparmor);
  return dir;
}

static void
cleanup (char *dir)
{
  char *cmd = hutch_xasprintf ("rm -rf '%s'", dir);
  if (system (cmd) != 0)
    printf ("# could not remove %s\n", dir);
  free (cmd);
  free (dir);
}

int
main (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  char *d;

  d = fake ("0", NULL, NULL);
  ok (hutch_userns_diagnose (d, ENOSPC, &err) < 0, "max_user_namespaces = 0 is an error");
  has_str (err.msg, "user.max_user_namespaces", "names the sysctl");
  has_str (err.msg, "sysctl -w", "says how to fix it");
  cleanup (d);

  d = fake ("1000", "0", NULL);
  hutch_userns_diagnose (d, EPERM, &err);
  has_str (err.msg, "kernel.unprivileged_userns_clone", "Debian's old knob");
  cleanup (d);

  d = fake ("1000", NULL, "1");
  hutch_userns_diagnose (d, EPERM, &err);
  has_str (err.msg, "AppArmor", "Ubuntu's AppArmor restriction");
  has_str (err.msg, "apparmor_restrict_unprivileged_userns", "names the knob");
  /* The fix is hutch's profile: load it where it is installed, ...  */
  {
    char *profile = hutch_xasprintf ("%s/hutch-profile", d);
    char *missing = hutch_xasprintf ("%s/apparmor.d/hutch", d);
    char *installed = hutch_xasprintf ("%s/hutch", BINDIR);
    char *want = NULL;
    FILE *f = fopen (profile, "w");

    if (f)
      fclose (f);
    hutch_userns_diagnose_at (d, profile, installed, EPERM, &err);
    has_str (err.msg, "AppArmor", "installed profile: AppArmor named");
    want = hutch_xasprintf ("ask an administrator to load hutch's profile: `apparmor_parser -r "
                            "%s`, or to run `sysctl -w "
                            "kernel.apparmor_restrict_unprivileged_userns=0`, which lifts the "
                            "restriction for every program",
                            profile);
    has_str (err.msg, want, "installed profile: says to load it: %s", err.msg);
    free (want);
    /* ... install and load it where it is not, ...  */
    hutch_userns_diagnose_at (d, missing, installed, EPERM, &err);
    want = hutch_xasprintf ("install hutch's AppArmor profile as %s", missing);
    has_str (err.msg, want, "no profile: says where to install it: %s", err.msg);
    free (want);
    want = hutch_xasprintf ("`apparmor_parser -r %s`", missing);
    has_str (err.msg, want, "no profile: and how to load it");
    free (want);
    /* ... and a hutch elsewhere is not covered by it.  */
    hutch_userns_diagnose_at (d, profile, "/home/alice/src/hutch/hutch", EPERM, &err);
    has_str (err.msg, "not `/home/alice/src/hutch/hutch`: run the installed one",
             "hutch outside bindir: says the profile does not cover it: %s", err.msg);
    has_str (err.msg, installed, "and names the installed hutch");
    hutch_userns_diagnose_at (d, profile, BINDIR "x/hutch", EPERM, &err);
    has_str (err.msg, "run the installed one",
             "a directory that only starts like bindir is not it");
    /* hutch exec runs from a memfd: no directory to judge by.  */
    hutch_userns_diagnose_at (d, profile, "/memfd:hutch (deleted)", EPERM, &err);
    has_str (err.msg, "`apparmor_parser -r ", "hutch from a memfd: load the profile");
    free (profile);
    free (missing);
    free (installed);
  }
  cleanup (d);

  d = fake ("5", "1", "0");
  hutch_userns_diagnose (d, ENOSPC, &err);
  has_str (err.msg, "limit of user namespaces", "a reached limit");
  cleanup (d);

  hutch_error_clear (&err);
  return tap_done ();
}
