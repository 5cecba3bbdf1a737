/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* front/ctrfs: docker cp's path forms and plan, and the tar of a tree and
   back, with what extraction must refuse (the upper layer against the
   layers below: test-layerwrite.c).  */

#include "tap.h"
#include "base/util.h"
#include "front/ctrfs-private.h"
#include "front/ctrfs.h"

#include <archive.h>
#include <archive_entry.h>
#include "base/lazylib.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *top;

static char *
at (const char *rel)
{
  return hutch_xasprintf ("%s/%s", top, rel);
}

static void
put (const char *rel, const char *text)
{
  _cleanup_free_ char *p = at (rel);
  int fd = open (p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write (fd, text, strlen (text)) != (ssize_t)strlen (text))
    abort ();
  close (fd);
}

static void
dir (const char *rel)
{
  _cleanup_free_ char *p = at (rel);
  if (mkdir (p, 0755) < 0)
    abort ();
}

static bool
exists (const char *rel)
{
  _cleanup_free_ char *p = at (rel);
  struct stat st;
  return lstat (p, &st) == 0;
}

static char *
slurp (const char *rel)
{
  _cleanup_free_ char *p = at (rel);
  char *text = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;
  if (hutch_read_file (p, 4096, &text, NULL, &e) < 0)
    hutch_error_clear (&e);
  return text;
}

/* ---- path forms -------------------------------------------------------- */

static void
test_clean (void)
{
  static const char *const cases[][2] = {
    { "a/b/", "a/b/" },      { "a/./b/.", "a/b/." },  { "/", "/" },   { "", "." },
    { "a/../../b", "../b" }, { "/../x", "/x" },       { "./", "./" }, { "//a//b", "/a/b" },
    { "/a/b/..", "/a" },     { "/a/b/../.", "/a/." }, { ".", "." },   { "a/b/./", "a/b/./" },
  };
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      _cleanup_free_ char *c = hutch_cp_clean (cases[i][0]);
      is_str (c, cases[i][1], "clean `%s` is `%s` (got `%s`)", cases[i][0], cases[i][1], c);
    }
  ok (hutch_cp_asserts_dir ("x/"), "x/ names a directory");
  ok (hutch_cp_asserts_dir ("x/."), "x/. names a directory");
  ok (hutch_cp_asserts_dir ("."), ". names a directory");
  ok (hutch_cp_asserts_dir ("/"), "/ names a directory");
  ok (!hutch_cp_asserts_dir ("x"), "x does not");
  ok (!hutch_cp_asserts_dir ("x/.."), "x/.. does not (docker's rule)");
}

static void
test_split (void)
{
  static const char *const cases[][3] = {
    { "/a/b/.", "/a/b", "." }, { "/a/b/", "/a", "b" }, { "b", ".", "b" },
    { "/", "/", "/" },         { ".", ".", "." },      { "a/b", "a", "b" },
  };
  static const char *const tops[][2] = {
    { "/", "." }, { "/a/b/.", "." }, { "/a/b/", "b" }, { "f", "f" }, { "/a//b", "b" }, { ".", "." },
  };
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      _cleanup_free_ char *d = NULL, *b = NULL;
      hutch_cp_split (cases[i][0], &d, &b);
      ok (strcmp (d, cases[i][1]) == 0 && strcmp (b, cases[i][2]) == 0,
          "split `%s`: `%s` and `%s` (got `%s` and `%s`)", cases[i][0], cases[i][1], cases[i][2], d,
          b);
    }
  for (i = 0; i < sizeof tops / sizeof tops[0]; i++)
    {
      _cleanup_free_ char *t = hutch_cp_top_name (tops[i][0]);
      is_str (t, tops[i][1], "the archive of `%s` holds it as `%s`", tops[i][0], tops[i][1]);
    }
}

static void
test_split_arg (void)
{
  static const struct
  {
    const char *arg, *ctr, *path;
  } cases[] = {
    { "c:/x", "c", "/x" },      { "c:x/y", "c", "x/y" },    { "/abs:x", NULL, "/abs:x" },
    { "./f:x", NULL, "./f:x" }, { "plain", NULL, "plain" }, { "c:", "c", "" },
    { "-", NULL, "-" },         { "c:/a:b", "c", "/a:b" },
  };
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      _cleanup_free_ char *c = NULL, *p = NULL;
      hutch_cp_split_arg (cases[i].arg, &c, &p);
      ok (((c == NULL && cases[i].ctr == NULL) || (c && cases[i].ctr && !strcmp (c, cases[i].ctr)))
              && strcmp (p, cases[i].path) == 0,
          "`%s` is container `%s`, path `%s`", cases[i].arg, cases[i].ctr ? cases[i].ctr : "(none)",
          cases[i].path);
    }
}

static void
plan (const char *src, bool src_dir, const char *dst, bool dst_exists, bool dst_dir,
      const char *want_dir, const char *want_to)
{
  _cleanup_free_ char *d = NULL, *to = NULL;
  struct hutch_cp_info s = { src, true, src_dir }, t = { dst, dst_exists, dst_dir };
  hutch_error_t e = HUTCH_ERROR_INIT;
  int r = hutch_cp_plan (&s, &t, &d, &to, &e);

  if (want_dir == NULL)
    ok (r < 0 && e.msg, "%s%s onto %s%s: refused (%s)", src, src_dir ? " (dir)" : "", dst,
        dst_exists ? (dst_dir ? " (dir)" : " (file)") : " (missing)", e.msg ? e.msg : "-");
  else
    ok (r == 0 && strcmp (d, want_dir) == 0
            && ((to == NULL && want_to == NULL) || (to && want_to && strcmp (to, want_to) == 0)),
        "%s%s onto %s%s: into `%s` as `%s` (got `%s` as `%s`)", src, src_dir ? " (dir)" : "", dst,
        dst_exists ? (dst_dir ? " (dir)" : " (file)") : " (missing)", want_dir,
        want_to ? want_to : "itself", d ? d : "-", to ? to : "itself");
  hutch_error_clear (&e);
}

static void
test_plan (void)
{
  /* docker's PrepareArchiveCopy, case by case.  */
  plan ("/etc/f", false, "out", true, true, "out", NULL);
  plan ("/etc/d", true, "out", true, true, "out", NULL);
  plan ("/etc/d/.", true, "out", true, true, "out", NULL);
  plan ("/etc/d", true, "file", true, false, NULL, NULL);
  plan ("/etc/f", false, "x/file", true, false, "x", "file");
  plan ("/etc/d", true, "x/new", false, false, "x", "new");
  plan ("/etc/d/.", true, "new", false, false, ".", "new");
  plan ("/etc/f", false, "new/", false, false, NULL, NULL);
  plan ("/etc/f", false, "new/.", false, false, NULL, NULL);
  plan ("/etc/f", false, "/x/new", false, false, "/x", "new");
  plan ("/", true, "out", false, false, ".", "out");
}

/* ---- tar and back ------------------------------------------------------------ */

static void
test_roundtrip (void)
{
  _cleanup_free_ char *t = at ("tree.tar"), *src = at ("src"), *dst = at ("dst");
  struct ctrfs_extract x = { .where = "the test", .owner = CTRFS_OWNER_CALLER };
  hutch_error_t e = HUTCH_ERROR_INIT;
  _cleanup_free_ char *a = NULL, *b = NULL;
  int fd, sfd, dfd, r;
  char target[64];
  ssize_t n;

  dir ("src");
  dir ("src/d");
  put ("src/d/a", "alpha");
  put ("src/b", "beta");
  {
    _cleanup_free_ char *l = at ("src/d/link"), *h1 = at ("src/b"), *h2 = at ("src/d/hard");
    if (symlink ("/etc/passwd", l) < 0 || link (h1, h2) < 0)
      abort ();
  }
  dir ("dst");
  fd = open (t, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  sfd = open (src, O_PATH | O_DIRECTORY | O_CLOEXEC);
  ok (ctrfs_tar_tree (fd, sfd, "", ".", "the test", false, &e) == 0, "a tree goes into a tar (%s)",
      e.msg ? e.msg : "");
  lseek (fd, 0, SEEK_SET);
  dfd = open (dst, O_PATH | O_DIRECTORY | O_CLOEXEC);
  x.rebase_from = "";
  x.rebase_to = "copy";
  r = ctrfs_tar_extract (fd, dfd, &x, &e);
  ok (r == 0, "and comes out again under another name (%s)", e.msg ? e.msg : "");
  a = slurp ("dst/copy/d/a");
  b = slurp ("dst/copy/d/hard");
  is_str (a, "alpha", "a file's data");
  is_str (b, "beta", "a hard link's data");
  {
    _cleanup_free_ char *l = at ("dst/copy/d/link");
    n = readlink (l, target, sizeof target - 1);
    target[n > 0 ? n : 0] = '\0';
    is_str (target, "/etc/passwd", "a symlink stays a symlink, never followed");
  }
  /* Again: files are replaced, directories kept.  */
  lseek (fd, 0, SEEK_SET);
  put ("dst/copy/b", "old");
  ok (ctrfs_tar_extract (fd, dfd, &x, &e) == 0, "extracting onto what it made replaces the files");
  free (a);
  a = slurp ("dst/copy/b");
  is_str (a, "beta", "a file onto a file: replaced");
  close (fd);
  close (sfd);
  close (dfd);
  hutch_error_clear (&e);
}

/* A tar made here, entry by entry: NAMES with TYPES ('d', 'f', 'l' with
   the target after a '>').  */
static int
make_tar (const char *const *entries)
{
  _cleanup_free_ char *t = at ("evil.tar");
  struct archive *a = archive_write_new ();
  int fd = open (t, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  size_t i;

  archive_write_set_format_pax_restricted (a);
  archive_write_open_fd (a, fd);
  for (i = 0; entries[i]; i++)
    {
      struct archive_entry *e = archive_entry_new ();
      const char *gt = strchr (entries[i], '>');
      _cleanup_free_ char *name
          = gt ? hutch_xstrndup (entries[i] + 1, (size_t)(gt - entries[i] - 1))
               : hutch_xstrdup (entries[i] + 1);
      archive_entry_set_pathname (e, name);
      archive_entry_set_perm (e, 0644);
      if (entries[i][0] == 'd')
        archive_entry_set_filetype (e, AE_IFDIR);
      else if (entries[i][0] == 'l')
        {
          archive_entry_set_filetype (e, AE_IFLNK);
          archive_entry_set_symlink (e, gt + 1);
        }
      else
        {
          archive_entry_set_filetype (e, AE_IFREG);
          archive_entry_set_size (e, 4);
        }
      archive_write_header (a, e);
      if (entries[i][0] == 'f')
        archive_write_data (a, "evil", 4);
      archive_entry_free (e);
    }
  archive_write_close (a);
  archive_write_free (a);
  lseek (fd, 0, SEEK_SET);
  return fd;
}

static void
refused (const char *what, const char *const *entries, const char *outside)
{
  _cleanup_free_ char *d = at ("jail");
  struct ctrfs_extract x = { .where = "the jail", .owner = CTRFS_OWNER_CALLER };
  hutch_error_t e = HUTCH_ERROR_INIT;
  int fd = make_tar (entries), dfd = open (d, O_PATH | O_DIRECTORY | O_CLOEXEC);

  ok (ctrfs_tar_extract (fd, dfd, &x, &e) < 0 && !exists (outside), "%s: refused (%s)", what,
      e.msg ? e.msg : "not refused");
  close (fd);
  close (dfd);
  hutch_error_clear (&e);
}

static void
test_hostile (void)
{
  static const char *const abs_link[] = { "lout>/", "fout/escaped", NULL };
  static const char *const dotdot_link[] = { "lup>..", "fup/escaped2", NULL };
  static const char *const dotdot_name[] = { "f../escaped3", NULL };
  static const char *const absolute[] = { "f/tmp/escaped4", NULL };
  static const char *const dir_onto_file[] = { "fthing", "dthing", NULL };
  _cleanup_free_ char *j = at ("jail");

  dir ("jail");
  /* The jail's symlink to "/" would lead to the host's root; to its
     parent, to TOP.  */
  refused ("an entry through a symlink to /", abs_link, "escaped");
  refused ("an entry through a symlink to ..", dotdot_link, "escaped2");
  refused ("a name with ..", dotdot_name, "escaped3");
  refused ("an absolute name", absolute, "tmp/escaped4");
  ok (access ("/escaped", F_OK) < 0, "nothing was written at the host's /escaped");
  refused ("a directory onto a file", dir_onto_file, "nothing-at-all");
  (void)j;
}

int
main (void)
{
  char tmpl[] = "/tmp/hutch-test-ctrfs.XXXXXX";

  top = mkdtemp (tmpl);
  if (top == NULL)
    return 1;
  test_clean ();
  test_split ();
  test_split_arg ();
  test_plan ();
  test_roundtrip ();
  test_hostile ();
  {
    _cleanup_free_ char *cmd = hutch_xasprintf ("rm -rf '%s'", top);
    if (system (cmd) != 0)
      printf ("# could not remove %s\n", top);
  }
  return tap_done ();
}
