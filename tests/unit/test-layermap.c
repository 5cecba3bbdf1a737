/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "image/layermap.h"
#include "tap.h"
#include "base/util.h"
#include "base/walk.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* A map from "C H S" triples, N extents.  */
static struct hutch_idmap *
extents (size_t n, const unsigned int *v)
{
  struct hutch_idmap *m = hutch_xmalloc0 ((n + 1) * sizeof *m);
  size_t i;
  for (i = 0; i < n; i++)
    m[i] = (struct hutch_idmap){ v[3 * i], v[3 * i + 1], v[3 * i + 2] };
  return m;
}

/* The same extents for uids and gids.  */
static struct hutch_layermap
mapping (bool kept, size_t n, const unsigned int *v)
{
  struct hutch_layermap m = { kept, extents (n, v), extents (n, v), n, n };
  return m;
}

static void
test_format_parse (void)
{
  static const unsigned int full[] = { 0, 1000, 1, 1, 100000, 65536 };
  struct hutch_layermap m = mapping (true, 2, full), back = { 0 };
  _cleanup_free_ char *text = hutch_layermap_format (&m), *again = NULL;

  is_str (text,
          "hutch-layer-idmap 1\nowners kept\nuid 0 1000 1\nuid 1 100000 65536\n"
          "gid 0 1000 1\ngid 1 100000 65536\n",
          "the record's text");
  ok (hutch_layermap_parse (text, &back) == 0 && back.kept && back.n_uid == 2 && back.n_gid == 2
          && back.uid[1].host_id == 100000 && back.gid[1].size == 65536,
      "parsed back");
  again = hutch_layermap_format (&back);
  is_str (again, text, "and formatted the same");
  hutch_layermap_clear (&back);
  ok (hutch_layermap_parse ("hutch-layer-idmap 1\nowners squashed\nuid 0 1000 1\ngid 0 1000 1\n",
                            &back)
              == 0
          && !back.kept,
      "squashed");
  hutch_layermap_clear (&back);
  ok (hutch_layermap_parse ("hutch-layer-idmap 2\nowners kept\nuid 0 1 1\ngid 0 1 1\n", &back) < 0,
      "another version is no record");
  ok (hutch_layermap_parse ("hutch-layer-idmap 1\nowners kept\nuid 0 1 1\n", &back) < 0,
      "no gid extent");
  ok (hutch_layermap_parse ("hutch-layer-idmap 1\nowners maybe\nuid 0 1 1\ngid 0 1 1\n", &back) < 0,
      "a bad owners line");
  ok (hutch_layermap_parse ("hutch-layer-idmap 1\nowners kept\nuid 0 1 0\ngid 0 1 1\n", &back) < 0,
      "an empty extent");
  ok (hutch_layermap_parse ("hutch-layer-idmap 1\nowners kept\nuid 0 4294967295 2\ngid 0 1 1\n",
                            &back)
          < 0,
      "an extent past 2^32");
  ok (hutch_layermap_parse ("hutch-layer-idmap 1\nowners kept\nuid 0 1 1 x\ngid 0 1 1\n", &back)
          < 0,
      "trailing text");
  ok (hutch_layermap_parse ("", &back) < 0, "an empty file");
  hutch_layermap_clear (&m);
}

static void
test_compare (void)
{
  static const unsigned int single[] = { 0, 1000, 1 };
  static const unsigned int full[] = { 0, 1000, 1, 1, 100000, 65536 };
  static const unsigned int grown[] = { 0, 1000, 1, 1, 100000, 65536, 65537, 300000, 1000 };
  static const unsigned int moved[] = { 0, 1000, 1, 1, 200000, 65536 };
  static const unsigned int split[] = { 0, 1000, 1, 1, 100000, 10, 11, 100010, 65526 };
  static const unsigned int small[] = { 0, 1000, 1, 1, 100000, 10 };
  struct hutch_layermap s = mapping (false, 1, single), f = mapping (true, 2, full),
                        g = mapping (true, 3, grown), m = mapping (true, 2, moved),
                        p = mapping (true, 3, split), sm = mapping (true, 2, small);

  ok (hutch_layermap_compare (&f, &f) == HUTCH_LAYERMAP_CURRENT, "the same range");
  ok (hutch_layermap_compare (&s, &s) == HUTCH_LAYERMAP_CURRENT, "still no range");
  ok (hutch_layermap_compare (&s, &f) == HUTCH_LAYERMAP_SQUASHED,
      "unpacked without a range, used with one");
  ok (hutch_layermap_compare (&f, &g) == HUTCH_LAYERMAP_CURRENT, "a range that grew keeps it");
  ok (hutch_layermap_compare (&sm, &f) == HUTCH_LAYERMAP_CURRENT,
      "10 ids that grew to 65536 from the same start");
  ok (hutch_layermap_compare (&f, &p) == HUTCH_LAYERMAP_CURRENT,
      "the same ids in extents cut differently");
  ok (hutch_layermap_compare (&f, &sm) == HUTCH_LAYERMAP_MOVED, "a range that shrank");
  ok (hutch_layermap_compare (&f, &m) == HUTCH_LAYERMAP_MOVED, "a range that moved");
  ok (hutch_layermap_compare (&f, &s) == HUTCH_LAYERMAP_MOVED, "a range that was taken away");
  hutch_layermap_clear (&s);
  hutch_layermap_clear (&f);
  hutch_layermap_clear (&g);
  hutch_layermap_clear (&m);
  hutch_layermap_clear (&p);
  hutch_layermap_clear (&sm);
}

/* A layer of an older hutch: the files (all ours here) against maps in
   which our id is the user's own, a subordinate one, or none.  */
static void
test_guess (void)
{
  char dir[] = "/tmp/hutch-test-layermap-XXXXXX";
  unsigned int me = (unsigned int)geteuid (), other = me == 1 ? 2 : 1;
  const unsigned int own[] = { 0, me, 1, 1, 1u << 30, 65536 };
  const unsigned int sub[] = { 0, other, 1, 1, me, 1 };
  const unsigned int none[] = { 0, other, 1, 1, 1u << 30, 65536 };
  const unsigned int single[] = { 0, me, 1 };
  struct hutch_layermap o = mapping (true, 2, own), s = mapping (true, 2, sub),
                        n = mapping (true, 2, none), one = mapping (false, 1, single);
  _cleanup_free_ char *sd = NULL, *f = NULL;
  int fd;

  if (mkdtemp (dir) == NULL)
    abort ();
  sd = hutch_xasprintf ("%s/d", dir);
  f = hutch_xasprintf ("%s/d/f", dir);
  mkdir (sd, 0755);
  close (open (f, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
  fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ok (hutch_layermap_guess (fd, &o) == HUTCH_LAYERMAP_UNKNOWN,
      "every file the user's: maybe squashed");
  ok (hutch_layermap_guess (fd, &s) == HUTCH_LAYERMAP_CURRENT,
      "a file of a subordinate id: owners were kept");
  ok (hutch_layermap_guess (fd, &n) == HUTCH_LAYERMAP_MOVED,
      "a file of an id no longer mapped: another range");
  ok (hutch_layermap_guess (fd, &one) == HUTCH_LAYERMAP_CURRENT,
      "no range now: nothing better can be made");
  close (fd);
  {
    int dfd = open ("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    hutch_error_t err = HUTCH_ERROR_INIT;
    hutch_walk_remove_tree (dfd, dir + 5, &err);
    hutch_error_clear (&err);
    close (dfd);
  }
  hutch_layermap_clear (&o);
  hutch_layermap_clear (&s);
  hutch_layermap_clear (&n);
  hutch_layermap_clear (&one);
}

int
main (void)
{
  test_format_parse ();
  test_compare ();
  test_guess ();
  return tap_done ();
}
