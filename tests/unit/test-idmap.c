/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "runtime/idmap.h"
#include "tap.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

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

/* The block suggested to FILES (subuid, subgid): both starts, or -1/-1
   when they differ from EXPECT_U/EXPECT_G.  */
static void
free_block_is (const char *subuid, const char *subgid, unsigned long expect_u,
               unsigned long expect_g, const char *what)
{
  unsigned long u = 1, g = 1;
  hutch_subid_free_block (subuid, subgid, &u, &g);
  ok (u == expect_u && g == expect_g, "free block: %s (got %lu, %lu)", what, u, g);
}

static void
test_free_block (void)
{
  free_block_is (NULL, NULL, 100000, 100000, "no files: 100000, where useradd starts");
  free_block_is ("", "\n\n", 100000, 100000, "empty files");
  free_block_is ("alice:100000:65536\n", "", 165536, 165536,
                 "after a taken block, the same block for uids and gids");
  free_block_is ("alice:100000:65536\nbob:150000:10\ncarol:120000:65536\n", "", 185536, 185536,
                 "overlapping lines: after the last one's end");
  free_block_is ("1000:100000:65536\n", "bob:165536:65536\n", 231072, 231072,
                 "lines by uid and by name, in either file, all count");
  free_block_is ("a:100000:65536\nb:165537:65536\n", "", 231073, 231073,
                 "a gap of one id is too small");
  free_block_is ("a:100000:65536\nb:231072:10\n", "", 165536, 165536,
                 "a gap of exactly 65536 ids fits");
  free_block_is ("b:231072:10\na:100000:65536\n", "", 165536, 165536, "in any order");
  free_block_is ("a:50000:60000\nz:0:10\n", "", 110000, 110000,
                 "a range across 100000 pushes the start up; one below it does not matter");
  free_block_is ("garbage\n# a:100000:65536\nx:abc:65536\ny:100000\nz:100000:65536:9\n"
                 "\tv:100000x:65536\n",
                 "u:100000:0\n", 100000, 100000, "comments, garbage and empty ranges are skipped");
  free_block_is ("  a:100000:65536\r\n", "", 165536, 165536,
                 "leading blanks and a CRLF end are a line, as shadow reads them");
  /* Near 2^32: the last id may be 2^32 - 2, since 2^32 - 1 is (uid_t) -1.  */
  free_block_is ("a:100000:4294801759\n", "", 4294901759UL, 4294901759UL,
                 "the last block ends at 4294967294");
  free_block_is ("a:100000:4294801760\n", "a:100000:4294801760\n", 0, 0,
                 "no room left below 2^32 - 1: 0");
  free_block_is ("b:100000:4293900000\na:4294000000:10000000\n", "", 0, 100000,
                 "a range past 2^32 is cut there, not skipped");
  free_block_is ("a:5000000000:10\n", "", 100000, 100000, "a range above 2^32 is ignored");
  free_block_is ("a:100000:18446744073709551615\n", "", 0, 100000,
                 "no common block: each file its own (an endless uid range)");
  free_block_is ("a:100000:2147383648\n", "a:2147483648:2147483648\n", 2147483648UL, 100000,
                 "no common block: two halves");
}

static void
test_fix_text (void)
{
  char *s = hutch_subid_fix_format ("alice", 165536, 165536, NULL);
  has_str (s, "`usermod --add-subuids 165536-231071 --add-subgids 165536-231071 alice`",
           "the usermod command with the block");
  ok (strstr (s, "nsswitch") == NULL, "no NSS source, no word of it");
  free (s);
  s = hutch_subid_fix_format (NULL, 100000, 300000, NULL);
  has_str (s, "--add-subuids 100000-165535 --add-subgids 300000-365535 USER`",
           "separate blocks, and USER without a name");
  free (s);
  s = hutch_subid_fix_format ("alice", 0, 100000, NULL);
  ok (strstr (s, "usermod") == NULL && strstr (s, "/etc/subuid") != NULL,
      "no free uid block: no command, and which file is full");
  free (s);
  s = hutch_subid_fix_format ("alice", 100000, 100000, "sss");
  has_str (s, "`sss`", "with subid: sss, the source is named");
  has_str (s, "libsubid", "and where the administrator sets it");
  free (s);
}

int
main (void)
{
  test_parse ();
  test_compute ();
  test_free_block ();
  test_fix_text ();
  return tap_done ();
}
