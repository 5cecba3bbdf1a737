/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "front/user.h"
#include "base/util.h"
#include "base/walk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Split LINE at ':' into at most MAX fields, in place.  */
static int
split_fields (char *line, char **f, int max)
{
  int n = 0;
  f[n++] = line;
  while (n < max && (line = strchr (line, ':')) != NULL)
    {
      *line++ = '\0';
      f[n++] = line;
    }
  return n;
}

int
hutch_passwd_lookup (const char *text, const char *user, unsigned int *ret_uid,
                     unsigned int *ret_gid, char **ret_home, char **ret_name)
{
  _cleanup_free_ char *copy = hutch_xstrdup (text);
  unsigned int want;
  bool numeric = hutch_parse_u32 (user, &want) == 0;
  char *save = NULL, *line;

  for (line = strtok_r (copy, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *f[7];
      unsigned int uid, gid;
      if (split_fields (line, f, 7) < 7)
        continue;
      if (hutch_parse_u32 (f[2], &uid) < 0 || hutch_parse_u32 (f[3], &gid) < 0)
        continue;
      if (numeric ? uid != want : strcmp (f[0], user) != 0)
        continue;
      *ret_uid = uid;
      *ret_gid = gid;
      if (ret_home)
        *ret_home = hutch_xstrdup (*f[5] ? f[5] : "/");
      if (ret_name)
        *ret_name = hutch_xstrdup (f[0]);
      return 1;
    }
  return 0;
}

int
hutch_group_lookup (const char *text, const char *group, unsigned int *ret_gid)
{
  _cleanup_free_ char *copy = hutch_xstrdup (text);
  unsigned int want;
  bool numeric = hutch_parse_u32 (group, &want) == 0;
  char *save = NULL, *line;

  for (line = strtok_r (copy, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *f[4];
      unsigned int gid;
      if (split_fields (line, f, 4) < 3 || hutch_parse_u32 (f[2], &gid) < 0)
        continue;
      if (numeric ? gid != want : strcmp (f[0], group) != 0)
        continue;
      *ret_gid = gid;
      return 1;
    }
  return 0;
}

void
hutch_group_members (const char *text, const char *name, unsigned int except, unsigned int **ret,
                     size_t *ret_n)
{
  _cleanup_free_ char *copy = hutch_xstrdup (text);
  char *save = NULL, *line;
  unsigned int *gids = NULL;
  size_t n = 0;

  for (line = strtok_r (copy, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *f[4], *m, *msave = NULL;
      unsigned int gid;
      if (split_fields (line, f, 4) < 4 || hutch_parse_u32 (f[2], &gid) < 0 || gid == except)
        continue;
      for (m = strtok_r (f[3], ",", &msave); m; m = strtok_r (NULL, ",", &msave))
        if (strcmp (m, name) == 0)
          {
            size_t k;
            bool dup = false;
            for (k = 0; k < n; k++)
              dup |= gids[k] == gid;
            if (!dup)
              {
                gids = hutch_xrealloc (gids, (n + 1) * sizeof *gids);
                gids[n++] = gid;
              }
            break;
          }
    }
  *ret = gids;
  *ret_n = n;
}

static char *
read_in_root (int rootfd, const char *path)
{
  /* O_NONBLOCK and the check for a regular file: a FIFO planted at
     /etc/passwd must not hang hutch.  */
  _cleanup_close_ int fd = hutch_walk_open_in_root (rootfd, path, O_RDONLY | O_NONBLOCK, 0);
  hutch_error_t e = HUTCH_ERROR_INIT;
  struct stat st;
  char *text = NULL;

  if (fd < 0 || fstat (fd, &st) < 0 || !S_ISREG (st.st_mode))
    return NULL;
  if (hutch_read_fd (fd, 16 << 20, &text, NULL, &e) < 0)
    {
      hutch_error_clear (&e);
      return NULL;
    }
  return text;
}

int
hutch_user_resolve (int passwd_rootfd, int group_rootfd, const char *user, const char *group,
                    struct hutch_user *ret, hutch_error_t *err)
{
  _cleanup_free_ char *passwd
      = passwd_rootfd >= 0 ? read_in_root (passwd_rootfd, "/etc/passwd") : NULL;
  _cleanup_free_ char *groups
      = group_rootfd >= 0 ? read_in_root (group_rootfd, "/etc/group") : NULL;
  _cleanup_free_ char *name = NULL;
  unsigned int num;

  memset (ret, 0, sizeof *ret);
  if (passwd && hutch_passwd_lookup (passwd, user, &ret->uid, &ret->gid, &ret->home, &name) == 1)
    ;
  else if (hutch_parse_u32 (user, &num) == 0)
    {
      /* A number that is not in /etc/passwd is still a valid uid, with
         group 0 and home / (what Docker does).  */
      ret->uid = num;
      ret->gid = 0;
      ret->home = hutch_xstrdup ("/");
    }
  else
    return hutch_error_set (err, 0,
                            "--user: user `%s` not found in the container's /etc/passwd; use a "
                            "number or a name that the image defines",
                            user);

  if (group)
    {
      if (groups && hutch_group_lookup (groups, group, &ret->gid) == 1)
        ;
      else if (hutch_parse_u32 (group, &num) == 0)
        ret->gid = num;
      else
        {
          hutch_user_clear (ret);
          return hutch_error_set (err, 0,
                                  "--user: group `%s` not found in the container's /etc/group; "
                                  "use a number or a name that the image defines",
                                  group);
        }
    }
  if (name && groups)
    hutch_group_members (groups, name, ret->gid, &ret->groups, &ret->n_groups);
  return 0;
}

void
hutch_user_clear (struct hutch_user *u)
{
  free (u->groups);
  free (u->home);
  u->groups = NULL;
  u->home = NULL;
  u->n_groups = 0;
}

int
hutch_group_resolve (int group_rootfd, const char *group, unsigned int *ret_gid, hutch_error_t *err)
{
  _cleanup_free_ char *groups
      = group_rootfd >= 0 ? read_in_root (group_rootfd, "/etc/group") : NULL;

  if (groups && hutch_group_lookup (groups, group, ret_gid) == 1)
    return 0;
  if (hutch_parse_u32 (group, ret_gid) == 0)
    return 0;
  return hutch_error_set (err, 0,
                          "--group-add: group `%s` not found in the container's /etc/group; use a "
                          "number or a name that the container defines",
                          group);
}
