/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "runtime/idmap.h"
#include "tap.h"
#include "base/util.h"

#include <stdlib.h>

static void
test_parse (void)
{
  const char *text = "# comment\n"
                     "alice:100000:65536\n"
                     "bob:165536:65536\n"
                     "1000:300000:10\n"
                     "alice:100000:65536\n" /* duplicate */
                     "alice:bad:10\n"
                     "alice:500000\n"
                     "alice:400000:0\n"
                     "carol:1:2:3\n";
  struct hutch_subid_range *r = NULL;
  size_t n = 0;

  hutch_subid_parse (text, "alice", 1000, &r, &n);
  ok (n == 2, "alice by name and by uid: two ranges (got %zu)", n);
  ok (n >= 1 && r[0].start == 100000 && r[0].count == 65536, "first range in file order");
  ok (n >= 2 && r[1].start == 300000 && r[1].count == 10, "numeric owner matches the uid");
  free (r);

  hutch_subid_parse (text, "dave", 4242, &r, &n);
  ok (n == 0 && r == NULL, "no range for an unknown user");
  hutch_subid_parse (text, "carol", 1, &r, &n);
  ok (n == 0, "a line with a trailing field is malformed and skipped");
  free (r);
}

static void
test_compute (void)
{
  struct hutch_subid_range one[] = { { 100000, 65536 } };
  struct hutch_subid_range two[] = { { 100000, 10 }, { 200000, 20 } };
  struct hutch_idmap *m;
  size_t n;
  char *s;

  hutch_idmap_compute (HUTCH_USERNS_DEFAULT, 1000, one, 1, &m, &n);
  s = hutch_idmap_format (m, n);
  is_str (s, "0 1000 1\n1 100000 65536\n", "default map: 0 -> user, 1.. -> range");
  ok (hutch_idmap_total (m, n) == 65537, "default map has 65537 ids");
  ok (hutch_idmap_contains (m, n, 65536) && !hutch_idmap_contains (m, n, 65537),
      "contains up to 65536");
  free (s);
  free (m);

  hutch_idmap_compute (HUTCH_USERNS_DEFAULT, 1000, two, 2, &m, &n);
  s = hutch_idmap_format (m, n);
  is_str (s, "0 1000 1\n1 100000 10\n11 200000 20\n", "two ranges are concatenated");
  free (s);
  free (m);

  hutch_idmap_compute (HUTCH_USERNS_KEEP_ID, 1000, one, 1, &m, &n);
  s = hutch_idmap_format (m, n);
  is_str (s, "1000 1000 1\n0 100000 1000\n1001 101000 64536\n",
          "keep-id: user stays 1000, gaps from the range");
  ok (hutch_idmap_total (m, n) == 65537, "keep-id keeps the total");
  free (s);
  free (m);

  hutch_idmap_compute (HUTCH_USERNS_KEEP_ID, 1000, two, 2, &m, &n);
  s = hutch_idmap_format (m, n);
  is_str (s, "1000 1000 1\n0 100000 10\n10 200000 20\n",
          "keep-id with a range smaller than the uid");
  free (s);
  free (m);

  hutch_idmap_compute (HUTCH_USERNS_KEEP_ID, 15, two, 2, &m, &n);
  s = hutch_idmap_format (m, n);
  is_str (s, "15 15 1\n0 100000 10\n10 200000 5\n16 200005 15\n",
          "keep-id split across two ranges");
  free (s);
  free (m);

  hutch_idmap_compute (HUTCH_USERNS_SINGLE, 1000, one, 1, &m, &n);
  s = hutch_idmap_format (m, n);
  is_str (s, "0 1000 1\n", "single: one id");
  free (s);
  free (m);
}

int
main (void)
{
  test_parse ();
  test_compute ();
  return tap_done ();
}
