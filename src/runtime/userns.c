/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "runtime/container.h"
#include "base/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

int
hutch_userns_diagnose (const char *procsys, int errnum, hutch_error_t *err)
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
    return hutch_error_set (err, errnum,
                            "cannot use a user namespace: AppArmor restricts unprivileged user "
                            "namespaces (kernel.apparmor_restrict_unprivileged_userns = 1); ask an "
                            "administrator to add an AppArmor profile for hutch with `userns,` "
                            "or to run `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`");
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
