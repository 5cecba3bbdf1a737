/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_IDMAP_H
#define HUTCH_IDMAP_H

/* Subordinate ids and the user namespace's id maps.  */

#include "base/error.h"
#include "runtime/spec.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum hutch_userns_mode
{
  HUTCH_USERNS_DEFAULT, /* 0 -> the user, 1..N -> the subordinate ranges */
  HUTCH_USERNS_KEEP_ID, /* the user's id unchanged inside */
  HUTCH_USERNS_SINGLE,  /* only the user's id, as 0 */
};

struct hutch_subid_range
{
  unsigned long start, count;
};

/* Parse /etc/subuid-style TEXT and return the ranges that belong to USER
   (matched by name or by the decimal ID), in file order, duplicates and
   empty ranges dropped.  Malformed lines are skipped, as shadow does.  */
int hutch_subid_parse (const char *text, const char *user, unsigned long id,
                       struct hutch_subid_range **ret_ranges, size_t *ret_n);

/* Look the ranges up: shadow's libsubid when built with it (NSS, LDAP),
   else FILE (/etc/subuid or /etc/subgid).  A missing file is no range.  */
int hutch_subid_lookup (bool gid, const char *user, unsigned long id,
                        struct hutch_subid_range **ret_ranges, size_t *ret_n, hutch_error_t *err);

/* What a user without a range should ask for: HUTCH_SUBID_BLOCK ids
   from HUTCH_SUBID_FIRST up, where useradd starts giving them.  */
#define HUTCH_SUBID_FIRST 100000UL
#define HUTCH_SUBID_BLOCK 65536

/* The first block of HUTCH_SUBID_BLOCK ids, from HUTCH_SUBID_FIRST up,
   that overlaps no range of SUBUID_TEXT (into *RET_UID) and none of
   SUBGID_TEXT (*RET_GID), whoever the ranges belong to (by name or by
   id); malformed lines are skipped, ranges past 2^32 cut there.  The same
   block for both when one is free in both files; 0 when none is free
   below 2^32 - 1.  NULL is an empty file.  */
void hutch_subid_free_block (const char *subuid_text, const char *subgid_text,
                             unsigned long *ret_uid, unsigned long *ret_gid);
/* The fix to give NAME (NULL: "USER") for a missing or too small range,
   from "ask an administrator": the `usermod --add-subuids ...
   --add-subgids ...` command with the blocks found in /etc/subuid and
   /etc/subgid, and where /etc/nsswitch.conf takes subordinate ids from
   NSS (libsubid: SSSD, LDAP), that the administrator sets them there.
   The one text of hutch run's warning, its 'not mapped' error and hutch
   info.  */
char *hutch_subid_fix (const char *name);
/* The same from its parts (0: no free block; NSS_SOURCE: the subid
   source of nsswitch.conf other than files, or NULL), for the tests.  */
char *hutch_subid_fix_format (const char *name, unsigned long uid_start, unsigned long gid_start,
                              const char *nss_source);

/* Compute the map for MODE from the user's own id and ranges.  The result
   is at most 1 + 2 * N extents.  */
void hutch_idmap_compute (enum hutch_userns_mode mode, unsigned int own_id,
                          const struct hutch_subid_range *ranges, size_t n,
                          struct hutch_idmap **ret_map, size_t *ret_n);
/* Total ids in a map, and whether ID (inside) is in it.  */
unsigned long hutch_idmap_total (const struct hutch_idmap *map, size_t n);
bool hutch_idmap_contains (const struct hutch_idmap *map, size_t n, unsigned int id);
/* "C H S\n" lines, as /proc/PID/uid_map takes them.  */
char *hutch_idmap_format (const struct hutch_idmap *map, size_t n);

/* Find NAME ("newuidmap") in $PATH and check that it can do its job: it
   must be setuid root or carry a file capability.  */
int hutch_idmap_find_helper (const char *name, char **ret_path, hutch_error_t *err);

/* Write PID's maps: through newuidmap/newgidmap unless USE_HELPERS is
   false, in which case they are written directly (real root, or a single
   mapping of the caller's own ids, after denying setgroups).  */
int hutch_idmap_write (pid_t pid, bool use_helpers, bool deny_setgroups,
                       const struct hutch_idmap *uid_map, size_t n_uid,
                       const struct hutch_idmap *gid_map, size_t n_gid, hutch_error_t *err);

/* Everything the launcher decides about ids before it clones.  */
struct hutch_idplan
{
  enum hutch_userns_mode mode;
  bool use_helpers;
  bool deny_setgroups;
  bool fell_back; /* no range: single instead of what was asked */
  char *warning;  /* one line for the user, or NULL */
  struct hutch_idmap *uid_map, *gid_map;
  size_t n_uid, n_gid;
};

int hutch_idplan_make (enum hutch_userns_mode mode, struct hutch_idplan *plan, hutch_error_t *err);
void hutch_idplan_clear (struct hutch_idplan *plan);

#endif
