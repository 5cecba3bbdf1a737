/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* Where hutch keeps things, and the one rule for trusting a directory.

   Why a trust rule at all: hutch's store holds images.json, the layers
   every container's root is made of, and the seccomp filter cache.  If
   another user can write to the store, or rename one of the directories
   above it, they can replace those files, and the victim's next container
   runs what they chose (seen: `hutch --root /shared/scratch/x/hutch` in a
   0777 directory of another user's listed a forged image).  So every
   directory hutch writes to, and every directory above it, must be the
   user's or root's and writable by no one else; /tmp and its like
   (root's, sticky) are fine, since the sticky bit keeps others from
   renaming what is ours in them.  */

#include "base/paths.h"
#include "base/log.h"
#include "base/util.h"

#include <errno.h>
#include <stdio.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *
hutch_paths_home (void)
{
  const char *h = getenv ("HOME");
  struct passwd *pw;
  struct stat st;

  if (h && *h == '/' && stat (h, &st) == 0 && st.st_uid == geteuid ())
    return h;
  pw = getpwuid (geteuid ());
  if (pw && pw->pw_dir && *pw->pw_dir)
    return pw->pw_dir;
  return h && *h == '/' ? h : "/";
}

char *
hutch_paths_config_home (void)
{
  const char *x = getenv ("XDG_CONFIG_HOME");
  if (x && *x == '/')
    return hutch_xstrdup (x);
  return hutch_xasprintf ("%s/.config", hutch_paths_home ());
}

char *
hutch_paths_data_dir (void)
{
  const char *x = getenv ("XDG_DATA_HOME");
  if (x && *x == '/')
    return hutch_xasprintf ("%s/hutch", x);
  return hutch_xasprintf ("%s/.local/share/hutch", hutch_paths_home ());
}

char *
hutch_paths_config_file (void)
{
  _cleanup_free_ char *c = hutch_paths_config_home ();
  return hutch_xasprintf ("%s/hutch/hutch.conf", c);
}

const char *
hutch_paths_xdg_runtime (void)
{
  const char *x = getenv ("XDG_RUNTIME_DIR");
  struct stat st;

  if (x && *x == '/' && stat (x, &st) == 0 && S_ISDIR (st.st_mode) && st.st_uid == geteuid ()
      && (st.st_mode & 077) == 0)
    return x;
  return NULL;
}

char *
hutch_paths_runtime_dir (void)
{
  const char *x = hutch_paths_xdg_runtime ();
  if (x)
    return hutch_xasprintf ("%s/hutch", x);
  return hutch_xasprintf ("/tmp/hutch-%u", (unsigned)geteuid ());
}

static bool private_group (gid_t gid);
static bool unmapped_in_userns (uid_t uid);

/* May hutch run the program at RESOLVED (a path without links)?  It and
   every directory above it must belong to the user or to root and be
   writable by no one else (a private group aside): another user who could
   write there could put a program of theirs in the place of hutch-slirp,
   which runs on the host as the user.  A directory that is root's and
   sticky (/tmp) does above the program's own directory, as for the store
   (no one can rename what is in it but its owner), but not as that
   directory itself: anyone may create there a name that no one has yet,
   such as hutch-slirp beside a copy of hutch.  *RET_WHY says what
   failed.  */
static bool
trusted_program (const char *resolved, char **ret_why)
{
  _cleanup_free_ char *p = hutch_xstrdup (resolved);
  int level;

  for (level = 0;; level++)
    {
      struct stat st;
      bool rootish, writable;
      char *slash;

      if (stat (p, &st) < 0)
        {
          *ret_why = hutch_xasprintf ("`%s` cannot be looked at", p);
          return false;
        }
      rootish = st.st_uid == 0 || unmapped_in_userns (st.st_uid);
      if (st.st_uid != geteuid () && !rootish)
        {
          *ret_why = hutch_xasprintf ("`%s` belongs to uid %u", p, (unsigned)st.st_uid);
          return false;
        }
      writable = (st.st_mode & S_IWOTH) || ((st.st_mode & S_IWGRP) && !private_group (st.st_gid));
      if (writable && !(level >= 2 && rootish && (st.st_mode & S_ISVTX)))
        {
          *ret_why = hutch_xasprintf ("others can write to `%s` (mode %04o)", p,
                                      (unsigned)(st.st_mode & 07777));
          return false;
        }
      if (strcmp (p, "/") == 0)
        return true;
      slash = strrchr (p, '/');
      if (slash == p)
        p[1] = '\0';
      else
        *slash = '\0';
    }
}

char *
hutch_paths_helper (const char *name)
{
  /* Beside the binary: a build tree, or a copy of the binaries alone;
     ../libexec/hutch from it: an installed tree wherever it was moved to
     (`make install DESTDIR=...`, a copy under ~/.local).  Either only when
     no one but the user and root could have put it there.  */
  static const char *const rel[] = { "", "/../libexec/hutch" };
  char buf[PATH_MAX];
  ssize_t n = readlink ("/proc/self/exe", buf, sizeof buf - 1);
  char *slash = NULL;
  size_t i;

  if (n > 0)
    {
      buf[n] = '\0';
      slash = strrchr (buf, '/');
    }
  for (i = 0; slash && i < sizeof rel / sizeof rel[0]; i++)
    {
      _cleanup_free_ char *p = hutch_xasprintf ("%.*s%s/%s", (int)(slash - buf), buf, rel[i], name);
      _cleanup_free_ char *resolved = realpath (p, NULL), *why = NULL;

      if (resolved == NULL || access (resolved, X_OK) < 0)
        continue;
      if (trusted_program (resolved, &why))
        return HUTCH_STEAL_PTR (resolved);
      hutch_log (HUTCH_LOG_WARNING,
                 "not running %s from `%s`: %s, so another user could have put it there; using "
                 "%s/%s instead (install hutch where only you or root can write)",
                 name, resolved, why, PKGLIBEXECDIR, name);
    }
  return hutch_xasprintf ("%s/%s", PKGLIBEXECDIR, name);
}

/* Is GID the user's own group, with no one else in it (Debian's user
   private groups: alice's home is often 0775 with group alice)?  */
static bool
private_group (gid_t gid)
{
  struct passwd *pw = getpwuid (geteuid ());
  struct group *gr;
  size_t i;

  if (gid != getegid () || pw == NULL || (gr = getgrgid (gid)) == NULL)
    return false;
  if (strcmp (gr->gr_name, pw->pw_name) != 0)
    return false;
  for (i = 0; gr->gr_mem && gr->gr_mem[i]; i++)
    if (strcmp (gr->gr_mem[i], pw->pw_name) != 0)
      return false;
  return true;
}

static char *
owner_name (uid_t uid)
{
  struct passwd *pw = getpwuid (uid);
  return pw ? hutch_xasprintf ("%s (uid %u)", pw->pw_name, (unsigned)uid)
            : hutch_xasprintf ("uid %u", (unsigned)uid);
}

/* Is UID the overflow uid of a user namespace we run in (not the initial
   one)?  There, directories of ids the namespace does not map (root's,
   above all: /, /tmp, /home) show as that uid, "nobody": trusting them as
   root's is all that can be done from inside, and what the namespace's
   creator could change, it could change anyway.  */
static bool
unmapped_in_userns (uid_t uid)
{
  _cleanup_free_ char *map = NULL, *ov = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;
  unsigned long a, b, n;
  bool initial;

  if (hutch_read_file ("/proc/sys/kernel/overflowuid", 64, &ov, NULL, &e) < 0
      || strtoul (ov, NULL, 10) != (unsigned long)uid
      || hutch_read_file ("/proc/self/uid_map", 4096, &map, NULL, &e) < 0)
    {
      hutch_error_clear (&e);
      return false;
    }
  initial = sscanf (map, " %lu %lu %lu", &a, &b, &n) == 3 && a == 0 && b == 0 && n == 4294967295UL;
  return !initial;
}

/* One directory DIR of the chain above TARGET.  */
static int
check_dir (const char *dir, const struct stat *st, const char *target, const char *what,
           hutch_error_t *err)
{
  bool rootish = st->st_uid == 0 || unmapped_in_userns (st->st_uid);
  bool root_sticky = rootish && (st->st_mode & S_ISVTX);
  const char *fix = "choose a directory of your own below directories that only you and root "
                    "can write to (--root DIR, or `root = DIR` in hutch.conf)";

  if (!S_ISDIR (st->st_mode))
    return hutch_error_set (err, ENOTDIR, "%s `%s`: `%s` is not a directory", what, target, dir);
  if (st->st_uid != geteuid () && !rootish)
    {
      _cleanup_free_ char *who = owner_name (st->st_uid);
      return hutch_error_set (err, 0,
                              "%s `%s` is not safe: `%s` belongs to %s, who could replace what "
                              "hutch keeps there; %s",
                              what, target, dir, who, fix);
    }
  if ((st->st_mode & S_IWOTH) && !root_sticky)
    return hutch_error_set (err, 0,
                            "%s `%s` is not safe: every user can write to `%s` (mode %04o) and "
                            "rename what is in it; `chmod o-w %s`%s, or %s",
                            what, target, dir, (unsigned)(st->st_mode & 07777), dir,
                            st->st_uid == 0 ? " (as root)" : "", fix);
  if ((st->st_mode & S_IWGRP) && !root_sticky && !private_group (st->st_gid))
    {
      struct group *gr = getgrgid (st->st_gid);
      _cleanup_free_ char *grp
          = gr ? hutch_xstrdup (gr->gr_name) : hutch_xasprintf ("%u", (unsigned)st->st_gid);
      return hutch_error_set (err, 0,
                              "%s `%s` is not safe: group %s can write to `%s` (mode %04o) and "
                              "rename what is in it; `chmod g-w %s`%s, or %s",
                              what, target, grp, dir, (unsigned)(st->st_mode & 07777), dir,
                              st->st_uid == 0 ? " (as root)" : "", fix);
    }
  return 0;
}

/* Check ABS (absolute) and each directory above it.  FOLLOW: stat, for
   the resolved path; else lstat, and symbolic links along the written path
   are passed over (their own directory is what protects them).  Missing
   ones are passed over too: hutch creates them, as the user, 0700.  */
static int
check_chain (const char *abs, bool follow, const char *target, const char *what, hutch_error_t *err)
{
  _cleanup_free_ char *p = hutch_xstrdup (abs);

  for (;;)
    {
      struct stat st;
      char *slash;
      int r = follow ? stat (p, &st) : lstat (p, &st);

      if (r == 0 && !S_ISLNK (st.st_mode))
        {
          if (check_dir (p, &st, target, what, err) < 0)
            return -1;
        }
      else if (r < 0 && errno != ENOENT)
        return hutch_error_set (err, errno, "%s `%s`: cannot look at `%s`", what, target, p);
      if (strcmp (p, "/") == 0)
        return 0;
      slash = strrchr (p, '/');
      if (slash == p)
        p[1] = '\0';
      else
        *slash = '\0';
    }
}

int
hutch_paths_check_trusted (const char *path, const char *what, hutch_error_t *err)
{
  _cleanup_free_ char *abs = NULL, *existing = NULL, *resolved = NULL;
  char *slash;

  if (path[0] == '/')
    abs = hutch_xstrdup (path);
  else
    {
      char cwd[PATH_MAX];
      if (getcwd (cwd, sizeof cwd) == NULL)
        return hutch_error_set (err, errno, "%s `%s`: getcwd", what, path);
      abs = hutch_xasprintf ("%s/%s", strcmp (cwd, "/") == 0 ? "" : cwd, path);
    }
  /* trailing slashes would make an empty last component */
  while (strlen (abs) > 1 && abs[strlen (abs) - 1] == '/')
    abs[strlen (abs) - 1] = '\0';
  if (check_chain (abs, false, path, what, err) < 0)
    return -1;

  /* What it resolves to: the longest part that exists, through its links.  */
  existing = hutch_xstrdup (abs);
  while ((resolved = realpath (existing, NULL)) == NULL)
    {
      if (errno != ENOENT && errno != ENOTDIR)
        return hutch_error_set (err, errno, "%s `%s`: cannot resolve `%s`", what, path, existing);
      slash = strrchr (existing, '/');
      if (slash == existing)
        {
          existing[1] = '\0';
          continue;
        }
      *slash = '\0';
    }
  return check_chain (resolved, true, path, what, err);
}
