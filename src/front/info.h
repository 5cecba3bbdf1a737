/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_INFO_H
#define HUTCH_INFO_H

/* What hutch finds on this host, as key/value facts and problems with a fix.  */

#include <stdbool.h>
#include <stddef.h>

struct hutch_info_item
{
  char *key;
  char *value;
};

struct hutch_info
{
  struct hutch_info_item *items;
  size_t n_items;
  char **problems; /* "WHAT; fix: HOW" */
  bool can_run;    /* a container can be started at all */
};

void hutch_info_collect (struct hutch_info *info);
/* The image store at ROOT and the storage driver hutch would use there
   (FORCED: a driver given on the command line or in the config, or -1).  */
void hutch_info_storage (struct hutch_info *info, const char *root, int forced);
void hutch_info_clear (struct hutch_info *info);

#endif
