/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "tap.h"
#include "front/user.h"
#include "base/util.h"

#include <stdlib.h>

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                             "broken line\n"
                             "alice:x:1000:1000::/home/alice:/bin/sh\n"
                             "bob:x:1001:1001::/home/bob:/bin/sh\n";
static const char group[] = "root:x:0:\n"
                            "staff:x:50:alice,bob\n"
                            "alice:x:1000:\n"
                            "wheel:x:10:alice\n"
                            "alice2:x:1000:alice\n";

int
main (void)
{
  unsigned int uid = 99, gid = 99, *gids = NULL;
  char *home = NULL, *name = NULL;
  size_t n = 0;

  ok (hutch_passwd_lookup (passwd, "alice", &uid, &gid, &home, &name) == 1, "alice by name");
  ok (uid == 1000 && gid == 1000, "uid and gid");
  is_str (home, "/home/alice", "home");
  is_str (name, "alice", "name");
  free (home);
  free (name);
  ok (hutch_passwd_lookup (passwd, "1001", &uid, &gid, NULL, NULL) == 1 && uid == 1001,
      "bob by uid");
  ok (hutch_passwd_lookup (passwd, "carol", &uid, &gid, NULL, NULL) == 0, "unknown name");
  ok (hutch_group_lookup (group, "staff", &gid) == 1 && gid == 50, "group by name");
  ok (hutch_group_lookup (group, "10", &gid) == 1 && gid == 10, "group by gid");
  ok (hutch_group_lookup (group, "nope", &gid) == 0, "unknown group");
  hutch_group_members (group, "alice", 1000, &gids, &n);
  ok (n == 2 && gids[0] == 50 && gids[1] == 10, "alice's supplementary groups, primary excluded");
  free (gids);
  return tap_done ();
}
