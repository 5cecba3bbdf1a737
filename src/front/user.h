/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_USER_H
#define HUTCH_USER_H

/* Users and groups as the container knows them: its own /etc/passwd and
   /etc/group, read inside its root.  */

#include "base/error.h"

#include <stddef.h>

struct hutch_user
{
  unsigned int uid, gid;
  unsigned int *groups; /* supplementary */
  size_t n_groups;
  char *home;
};

/* Find USER (a name or a number) in passwd TEXT.  Returns 1 when found,
   0 when not, filling uid, gid, home and RET_NAME.  */
int hutch_passwd_lookup (const char *text, const char *user, unsigned int *ret_uid,
                         unsigned int *ret_gid, char **ret_home, char **ret_name);
/* Find GROUP (a name or a number) in group TEXT.  Returns 1 when found.  */
int hutch_group_lookup (const char *text, const char *group, unsigned int *ret_gid);
/* The gids of the groups that list NAME as a member, except EXCEPT.  */
void hutch_group_members (const char *text, const char *name, unsigned int except,
                          unsigned int **ret, size_t *ret_n);

/* Resolve USER[:GROUP] (already split) against /etc/passwd under
   PASSWD_ROOTFD and /etc/group under GROUP_ROOTFD (the same directory for
   a plain root; for an image, the topmost layers that hold each file).  A
   negative fd means the file does not exist.  */
int hutch_user_resolve (int passwd_rootfd, int group_rootfd, const char *user, const char *group,
                        struct hutch_user *ret, hutch_error_t *err);
void hutch_user_clear (struct hutch_user *u);
/* GROUP, a name in /etc/group under GROUP_ROOTFD (-1: none) or a number,
   into *RET_GID (--group-add).  */
int hutch_group_resolve (int group_rootfd, const char *group, unsigned int *ret_gid,
                         hutch_error_t *err);

#endif
