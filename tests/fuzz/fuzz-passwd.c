/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "fuzz.h"
#include "front/user.h"
#include "runtime/procattr.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *text = fuzz_str (data, size);
  unsigned int uid, gid, *gids = NULL;
  char *home = NULL, *name = NULL;
  size_t n = 0;

  if (hutch_passwd_lookup (text, "alice", &uid, &gid, &home, &name) == 1)
    {
      free (home);
      free (name);
    }
  hutch_passwd_lookup (text, "1000", &uid, &gid, NULL, NULL);
  hutch_group_lookup (text, "staff", &gid);
  free (hutch_passwd_home (text, 1000));
  hutch_group_members (text, "alice", 0, &gids, &n);
  free (gids);
  free (text);
  return 0;
}
