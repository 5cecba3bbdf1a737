/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "runtime/container.h"
#include "runtime/userns.h"
#include "base/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Read a small integer knob; -1 when it does not exist.  */
static long
read_knob (const char *procsys, const char *name)
{
  _cleanup_free_ char *path = hutch_xasprintf ("%s/%s", procsys, name);
  _cleanup_free_ char *text = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;

  if (hutch_read_file (path, 64, &text, NULL, &e) < 0)
    {
      hutch_error_clear (&e);
      return -1;
    }
  return strtol (text, NULL, 10);
}

/* Where AppArmor allows user namespaces only to programs whose profile
   says `userns` (Ubuntu 23.10 and later): the fix is hutch's own profile
   (apparmor/hutch.in), which attaches to the installed hutch and hutch-oci
   only.  So the advice depends on where the running program is (EXE) and
   whether the profile is installed (PROFILE).  */
static int
apparmor_error (const char *profile, const char *exe, int errnum, hutch_error_t *err)
{
  static const char cause[]
      = "cannot use a user namespace: AppArmor allows them only to programs whose profile "
        "says so (kernel.apparmor_restrict_unprivileged_userns = 1)";
  static const char sysctl[] = "`sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`, "
                               "which lifts the restriction for every program";
  /* hutch exec runs hutch again from a memfd, which has no directory.  */
  const char *slash = exe && strncmp (exe, "/memfd:", 7) != 0 ? strrchr (exe, '/') : NULL;

  if (slash
      && ((size_t)(slash - exe) != strlen (BINDIR) || strncmp (exe, BINDIR, slash - exe) != 0))
    return hutch_error_set (err, errnum,
                            "%s; hutch's AppArmor profile (%s) covers the installed %s/hutch and "
                            "%s/hutch-oci, not `%s`: run the installed one, or ask an "
                            "administrator to run %s",
                            cause, profile, BINDIR, BINDIR, exe, sysctl);
  if (access (profile, F_OK) == 0)
    return hutch_error_set (err, errnum,
                            "%s; ask an administrator to load hutch's profile: `apparmor_parser -r "
                            "%s`, or to run %s",
                            cause, profile, sysctl);
  return hutch_error_set (
      err, errnum,
      "%s; ask an administrator to install hutch's AppArmor profile as %s "
      "(`make install` does where AppArmor 4 is present, or copy apparmor/hutch "
      "from hutch's build) and load it: `apparmor_parser -r %s`, or to run %s",
      cause, profile, profile, sysctl);
}

int
hutch_userns_diagnose (const char *procsys, int errnum, hutch_error_t *err)
{
  char exe[4096];
  ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);

  if (n > 0)
    exe[n] = '\0';
  return hutch_userns_diagnose_at (procsys, HUTCH_APPARMOR_PROFILE, n > 0 ? exe : NULL, errnum,
                                   err);
}

int
hutch_userns_diagnose_at (const char *procsys, const char *apparmor_profile, const char *exe,
                          int errnum, hutch_error_t *err)
{
  long max = read_knob (procsys, "user/max_user_namespaces");
  long clone = read_knob (procsys, "kernel/unprivileged_userns_clone");
  long apparmor = read_knob (procsys, "kernel/apparmor_restrict_unprivileged_userns");

  if (max == 0)
    return hutch_error_set (err, errnum,
                            "cannot create a user namespace: user namespaces are disabled "
                            "(user.max_user_namespaces = 0); ask an administrator to run "
                            "`sysctl -w user.max_user_namespaces=15000` (and set it in "
                            "/etc/sysctl.d to keep it)");
  if (clone == 0)
    return hutch_error_set (err, errnum,
                            "cannot create a user namespace: unprivileged user namespaces are "
                            "disabled (kernel.unprivileged_userns_clone = 0); ask an administrator "
                            "to run `sysctl -w kernel.unprivileged_userns_clone=1`");
  if (apparmor == 1)
    return apparmor_error (apparmor_profile, exe, errnum, err);
  if (errnum == ENOSPC || errnum == EUSERS)
    return hutch_error_set (err, errnum,
                            "cannot create a user namespace: the limit of user namespaces was "
                            "reached (user.max_user_namespaces = %ld, or a nesting depth of 32); "
                            "ask an administrator to raise user.max_user_namespaces",
                            max);
  if (errnum == EPERM)
    return hutch_error_set (err, errnum,
                            "cannot create a user namespace (a seccomp filter, a container or a "
                            "chroot around hutch may forbid it: the kernel refuses user "
                            "namespaces to a chrooted process); run hutch outside of it");
  return hutch_error_set (err, errnum, "cannot create a user namespace");
}
