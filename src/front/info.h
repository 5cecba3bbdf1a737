/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_INFO_H
#define HUTCH_INFO_H

/* What hutch finds on this host, as key/value facts and problems with a
   fix.  Whether containers can run is decided by the checks a run makes
   itself (the id plan, the helpers, the store), called here, not by a
   second copy of them.  */

#include <stdbool.h>
#include <stddef.h>

struct hutch_info_item
{
  char *key;
  char *value;
};

struct hutch_info_problem
{
  char *text;  /* "WHAT; fix: HOW" */
  bool blocks; /* a default run fails because of it */
};

struct hutch_info
{
  struct hutch_info_item *items;
  size_t n_items;
  struct hutch_info_problem *problems;
  size_t n_problems;
  bool can_run; /* no problem blocks a run */
};

void hutch_info_collect (struct hutch_info *info);
/* The image store at ROOT and the storage driver hutch would use there
   (FORCED: a driver given on the command line or in the config, or -1).  */
void hutch_info_storage (struct hutch_info *info, const char *root, int forced);
void hutch_info_clear (struct hutch_info *info);

#endif
