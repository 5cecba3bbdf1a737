/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* .dockerignore and .containerignore (build/ignore.c): moby's pattern
   rules, case by case, the bad patterns, and which file is read.  */

#include "tap.h"
#include "build/ignore.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* TEXT on one line, for a test's description: a few at a time.  */
static const char *
esc (const char *text)
{
  static char bufs[4][512];
  static unsigned int next;
  char *out = bufs[next++ % 4], *p = out;

  for (; *text && p < out + 500; text++)
    if (*text == '\n')
      p = stpcpy (p, "\\n");
    else if (*text == '\r')
      p = stpcpy (p, "\\r");
    else if ((unsigned char)*text < 0x20)
      p += sprintf (p, "\\x%02x", (unsigned char)*text);
    else
      *p++ = *text;
  *p = '\0';
  return out;
}

/* PATH's fate under the ignore file TEXT.  */
struct excl_case
{
  const char *text;
  const char *path;
  bool excluded;
};

static const struct excl_case excl_cases[] = {
  /* plain names, and what is below them */
  { "*", "file", true },
  { "*", "dir/file", true },
  { "*.go", "main.go", true },
  { "*.go", "dir/main.go", false },
  { "docs", "docs", true },
  { "docs", "docs/README.md", true },
  { "docs", "docsx", false },
  { "docs", "x/docs", false },
  { "a/b", "a", false },
  { "*/b", "a/b", true },
  { "*/b", "a/c/b", false },
  /* cleaning: ./, trailing and leading /, .., blanks around */
  { "docs/", "docs/a", true },
  { "./docs", "docs/a", true },
  { "/docs", "docs", true },
  { "//docs//", "docs", true },
  { "docs/../src", "src/a.c", true },
  { "a/b/../../c", "c", true },
  { "  docs\t ", "docs", true },
  { "/", "x", false },
  /* comments, blank lines, line ends, a byte order mark */
  { "# docs", "# docs", false },
  { " # docs", "# docs", true },
  { "\\#docs", "#docs", true },
  { "\n\n  \n", "x", false },
  { "*.log\r\n!keep.log\r\n", "keep.log", false },
  { "*.log\r\n!keep.log\r\n", "other.log", true },
  { "\xef\xbb\xbfsecret", "secret", true },
  /* the context itself is never excluded */
  { "a", "", false },
  { "**", "", false },
  /* exceptions, and the last match wins */
  { "!x", "x", false },
  { "*.md\n!README.md", "README.md", false },
  { "*.md\n!README.md", "CHANGES.md", true },
  { "*.md\n!   README.md", "README.md", false },
  { "!README.md\n*.md", "README.md", true },
  { "docs\n!docs/README.md", "docs/README.md", false },
  { "docs\n!docs/README.md", "docs/other.md", true },
  { "docs\n!docs/README.md", "docs", true },
  { "docs/*\n!docs/README.md", "docs/README.md", false },
  { "*\n!dir/keep", "dir/keep/x", false },
  { "*\n!dir/keep", "dir/other", true },
  { "dir\n!dir/sub\ndir", "dir/sub", true },
  { "dir\n!dir/sub\ndir/sub/x", "dir/sub/y", false },
  { "**\n!util/docker/web", "util/docker/web/foo", false },
  { "**\n!util/docker/web\nutil/docker/web/foo", "util/docker/web/foo", true },
  { "**\n!dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", false },
  /* ** */
  { "**", "a/b/c", true },
  { "**/foo", "foo", true },
  { "**/foo", "a/b/foo", true },
  { "**/foo", "a/xfoo", false },
  { "**/foo", "foo/bar", true },
  { "**foo", "a/xfoo", true },
  { "**.go", "x/a.go", true },
  { "**/.foo", ".foo", true },
  { "**/.foo", "bar.foo", false },
  { "dir/**", "dir", false },
  { "dir/**", "dir/a", true },
  { "dir/**", "dir/a/b", true },
  { "a/**/b", "a/b", true },
  { "a/**/b", "a/x/y/b", true },
  { "a/**/b", "a/xb", false },
  { "**/dir2/*", "dir/dir2/file", true },
  { "**/*.txt", "file.txt", true },
  { "**/*.txt", "a/b/file.txt", true },
  { "**/**/*.txt", "dir/dir/file.txt", true },
  { "**/**/*.txt2", "dir/dir/file.txt", false },
  { "a**/*.txt", "a/file.txt", true },
  { "a**/*.txt", "a/dir/dir/file.txt", true },
  { "a/*.txt", "a/dir/file.txt", false },
  { "a/*.txt**", "a/file.txt", true },
  /* * and ? stop at / */
  { "a*b*c", "axxbyyc", true },
  { "a*/b", "abc/b", true },
  { "a*/b", "a/c/b", false },
  { "a*b*c*d*e*/f", "axbxcxdxexxx/f", true },
  { "a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false },
  { "?", "a", true },
  { "?", "ab", false },
  { "a?c", "a/c", false },
  { "abc?def", "abcdef", false },
  { "a?b",
    "a\xe2\x98\xba"
    "b",
    true },
  { "a???b",
    "a\xe2\x98\xba"
    "b",
    false },
  /* classes */
  { "a[b-d]e", "ace", true },
  { "a[b-d]e", "aae", false },
  { "a[b-d]e", "ae", false },
  { "a[^b-d]e", "aze", true },
  { "a[^b-d]e", "ace", false },
  { "a[!b-d]e", "aze", true },
  { "a[!b-d]e", "ace", false },
  { "ab[c]", "abc", true },
  { "ab[xyzc]", "abc", true },
  { "[a-\xce\xb6]*", "\xce\xb1", true },
  { "*[a-\xce\xb6]", "A", false },
  { "a[\\]]b", "a]b", true },
  { "a[\\-]b", "a-b", true },
  { "x]", "x]", true },
  /* quoting, and characters that mean something to a regexp only */
  { "a\\*b", "a*b", true },
  { "a\\*b", "axb", false },
  { "a\\\\", "a\\", true },
  { "a\\d", "a7", false },
  { "a\\d", "ad", true },
  { "abc.def", "abcxdef", false },
  { "abc.def", "abc.def", true },
  { ".*", ".foo", true },
  { ".*", "foo", false },
  { "a(b)c/def", "a(b)c/def", true },
  { "a(b)c/def", "a(b)c/xyz", false },
  { "a.|)$(}+{bc", "a.|)$(}+{bc", true },
  { "dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true },
};

/* hutch_ignore_excluded_at, going down PATH a directory at a time as a
   walk does, must say what hutch_ignore_excluded says.  */
static bool
excluded_walking (const struct hutch_ignore *ig, const char *path)
{
  size_t n = hutch_ignore_count (ig), i, len = strlen (path);
  unsigned char *parent = hutch_xmalloc0 (n + 1), *cur = hutch_xmalloc0 (n + 1);
  bool excluded = false;

  if (len == 0)
    excluded = hutch_ignore_excluded_at (ig, path, parent, cur);
  for (i = 1; i <= len; i++)
    if (i == len || path[i] == '/')
      {
        _cleanup_free_ char *prefix = hutch_xstrndup (path, i);
        excluded = hutch_ignore_excluded_at (ig, prefix, parent, cur);
        memcpy (parent, cur, n);
      }
  free (parent);
  free (cur);
  return excluded;
}

static void
test_excluded (void)
{
  size_t i;

  for (i = 0; i < sizeof excl_cases / sizeof *excl_cases; i++)
    {
      const struct excl_case *t = &excl_cases[i];
      hutch_error_t err = HUTCH_ERROR_INIT;
      struct hutch_ignore *ig = NULL;
      bool got;

      if (hutch_ignore_parse (t->text, ".dockerignore", &ig, &err) < 0)
        {
          ok (0, "parse %s: %s", esc (t->text), err.msg);
          hutch_error_clear (&err);
          continue;
        }
      got = hutch_ignore_excluded (ig, t->path);
      ok (got == t->excluded && excluded_walking (ig, t->path) == got, "[%s] %s `%s`",
          esc (t->text), t->excluded ? "excludes" : "keeps", t->path);
      hutch_ignore_free (ig);
    }
}

struct bad_case
{
  const char *text;
  const char *line; /* "line N" */
  const char *why;
};

static const struct bad_case bad_cases[] = {
  { "[", "line 1", "not closed" },
  { "ok\na[", "line 2", "not closed" },
  { "a[b", "line 1", "not closed" },
  { "[a-", "line 1", "not closed" },
  { "[]", "line 1", "needs a character" },
  { "[]a]", "line 1", "needs a character" },
  { "[^]", "line 1", "needs a character" },
  { "[-a]", "line 1", "needs a character" },
  { "[a-]", "line 1", "needs a character" },
  { "# c\n\nx\\", "line 3", "quotes nothing" },
  { "[z-a]", "line 1", "backwards" },
  { "!", "line 1", "brings nothing back" },
  { "  !  ", "line 1", "brings nothing back" },
  { "!/", "line 1", "brings nothing back" },
  { "[\xff]", "line 1", "not UTF-8" },
};

static void
test_bad (void)
{
  size_t i;

  for (i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++)
    {
      const struct bad_case *t = &bad_cases[i];
      hutch_error_t err = HUTCH_ERROR_INIT;
      struct hutch_ignore *ig = NULL;
      int r = hutch_ignore_parse (t->text, "ctx/.dockerignore", &ig, &err);

      ok (r < 0 && ig == NULL && err.msg && strstr (err.msg, "ctx/.dockerignore")
              && strstr (err.msg, t->line) && strstr (err.msg, t->why),
          "bad pattern [%s]: %s", esc (t->text), err.msg ? err.msg : "(accepted)");
      hutch_error_clear (&err);
      hutch_ignore_free (ig);
    }
}

struct below_case
{
  const char *text;
  const char *dir;
  bool may;
};

static const struct below_case below_cases[] = {
  { "docs\n!docs/README.md", "docs", true },
  { "docs", "docs", false },
  { "docs\n!other/x", "docs", false },
  { "*\n!*/keep", "a", true },
  { "**\n!**/*.go", "a/b", true },
  { "a\n!a/b/c", "a/b", true },
  { "a\n!a/b/c", "a/x", false },
  { "a\n!**foo", "a", true },
  { "a\n!a/[bc]*/x", "a/c1", true },
  { "a\n!a/[bc]*/x", "a/d1", false },
  { "a\n!a", "a", false },
  { "a\n!*.keep", "a", false },
  { "a\n!**/*.keep", "a", true },
};

static void
test_below (void)
{
  size_t i;

  for (i = 0; i < sizeof below_cases / sizeof *below_cases; i++)
    {
      const struct below_case *t = &below_cases[i];
      hutch_error_t err = HUTCH_ERROR_INIT;
      struct hutch_ignore *ig = NULL;

      if (hutch_ignore_parse (t->text, NULL, &ig, &err) < 0)
        {
          ok (0, "parse %s: %s", esc (t->text), err.msg);
          hutch_error_clear (&err);
          continue;
        }
      ok (hutch_ignore_may_include_below (ig, t->dir) == t->may, "[%s] %s below `%s`",
          esc (t->text), t->may ? "may bring back something" : "brings back nothing", t->dir);
      hutch_ignore_free (ig);
    }
}

static void
test_clean (void)
{
  static const char *const cases[][2] = {
    { "", "." },
    { "abc", "abc" },
    { "abc/def", "abc/def" },
    { ".", "." },
    { "..", ".." },
    { "../..", "../.." },
    { "../../abc", "../../abc" },
    { "/abc", "/abc" },
    { "/", "/" },
    { "abc/", "abc" },
    { "abc//def//ghi", "abc/def/ghi" },
    { "//abc", "/abc" },
    { "abc/./def", "abc/def" },
    { "/./abc/def", "/abc/def" },
    { "abc/.", "abc" },
    { "abc/def/ghi/../jkl", "abc/def/jkl" },
    { "abc/def/../ghi/../jkl", "abc/jkl" },
    { "abc/def/..", "abc" },
    { "abc/def/../..", "." },
    { "/abc/def/../..", "/" },
    { "abc/def/../../..", ".." },
    { "/abc/def/../../..", "/" },
    { "abc/def/../../../ghi/jkl/../../../mno", "../../mno" },
    { "abc/./../def", "def" },
    { "abc/../../././../def", "../../def" },
  };
  size_t i;

  for (i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      _cleanup_free_ char *got = hutch_ignore_clean_path (cases[i][0]);
      is_str (got, cases[i][1], "clean `%s` is `%s` (%s)", cases[i][0], cases[i][1], got);
    }
}

static void
test_glob (void)
{
  static const struct
  {
    const char *pattern, *name;
    int want;
  } cases[] = {
    { "*", "abc", 1 },         { "a*", "a", 1 },           { "*c", "abc", 1 },
    { "a*b", "axxb", 1 },      { "a**b", "axxb", 1 },      { "[!a]", "!", 1 },
    { "[!a]", "b", 0 },        { "[^a]", "b", 1 },         { "[^a]", "a", 0 },
    { "\\*", "*", 1 },         { "\\*", "x", 0 },          { "f[0-9].c", "f7.c", 1 },
    { "f[0-9].c", "fx.c", 0 }, { "?", "\xe2\x98\xba", 1 }, { "[", "x", -1 },
    { "a\\", "a", -1 },
  };
  size_t i;

  for (i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      hutch_error_t err = HUTCH_ERROR_INIT;
      int r = hutch_ignore_glob (cases[i].pattern, cases[i].name, &err);
      ok ((r < 0 ? -1 : r) == cases[i].want, "glob `%s` on `%s`: %d (%s)", cases[i].pattern,
          cases[i].name, cases[i].want, err.msg ? err.msg : "");
      hutch_error_clear (&err);
    }
}

/* A pattern that would take a backtracking matcher exponential time.  */
static void
test_hostile (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_ignore *ig = NULL;
  char path[200];

  memset (path, 'a', sizeof path - 1);
  path[sizeof path - 1] = '\0';
  ok (hutch_ignore_parse ("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b\n**/**/**/**/**/**/**/b", NULL, &ig,
                          &err)
              == 0
          && !hutch_ignore_excluded (ig, path),
      "stars in a row match in linear time");
  hutch_ignore_free (ig);
}

static void
put (const char *dir, const char *name, const char *text)
{
  _cleanup_free_ char *path = hutch_xasprintf ("%s/%s", dir, name);
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || hutch_write_all (fd, text, strlen (text)) < 0)
    abort ();
  close (fd);
}

/* Which ignore file is read, and that one is not read from outside.  */
static void
test_load (void)
{
  char tmpl[] = "/tmp/test-ignore-XXXXXX";
  char *dir = mkdtemp (tmpl);
  _cleanup_free_ char *sub = NULL, *out = NULL, *cmd = NULL, *link = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_ignore *ig = NULL;
  char *file = NULL;
  int ctx, r;

  if (dir == NULL)
    abort ();
  ctx = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  sub = hutch_xasprintf ("%s/sub", dir);
  if (ctx < 0 || mkdir (sub, 0755) < 0)
    abort ();

  r = hutch_ignore_load (ctx, "Containerfile", &ig, &file, &err);
  ok (r == 0 && ig && hutch_ignore_empty (ig) && file == NULL, "no ignore file: nothing excluded");
  hutch_ignore_free (ig);

  put (dir, ".dockerignore", "from-docker\n");
  r = hutch_ignore_load (ctx, NULL, &ig, &file, &err);
  ok (r == 0 && hutch_ignore_excluded (ig, "from-docker") && file
          && strcmp (file, ".dockerignore") == 0,
      ".dockerignore is read");
  hutch_ignore_free (ig);
  free (file);

  put (dir, ".containerignore", "from-container\n");
  r = hutch_ignore_load (ctx, NULL, &ig, &file, &err);
  ok (r == 0 && hutch_ignore_excluded (ig, "from-container")
          && !hutch_ignore_excluded (ig, "from-docker") && strcmp (file, ".containerignore") == 0,
      ".containerignore comes before .dockerignore");
  hutch_ignore_free (ig);
  free (file);

  put (sub, "Containerfile.dockerignore", "from-dockerfile\n");
  r = hutch_ignore_load (ctx, "./sub/Containerfile", &ig, &file, &err);
  ok (r == 0 && hutch_ignore_excluded (ig, "from-dockerfile")
          && !hutch_ignore_excluded (ig, "from-container")
          && strcmp (file, "sub/Containerfile.dockerignore") == 0,
      "the Containerfile's own ignore file comes first (%s)", file ? file : err.msg);
  hutch_ignore_free (ig);
  free (file);

  put (dir, ".containerignore", "ok\n[bad\n");
  r = hutch_ignore_load (ctx, NULL, &ig, &file, &err);
  ok (r < 0 && strstr (err.msg, ".containerignore, line 2"), "a bad pattern names the file: %s",
      err.msg);
  hutch_error_clear (&err);

  out = hutch_xasprintf ("%s.outside", dir);
  put ("/tmp", strrchr (out, '/') + 1, "x\n");
  link = hutch_xasprintf ("%s/.containerignore", dir);
  if (unlink (link) < 0 || symlink (out, link) < 0)
    abort ();
  r = hutch_ignore_load (ctx, NULL, &ig, &file, &err);
  ok (r < 0 && strstr (err.msg, ".containerignore") && strstr (err.msg, "out of the build context"),
      "an ignore file that leads out of the context is refused: %s", err.msg);
  hutch_error_clear (&err);

  close (ctx);
  cmd = hutch_xasprintf ("rm -rf '%s' '%s'", dir, out);
  if (system (cmd) != 0)
    abort ();
}

int
main (void)
{
  test_excluded ();
  test_bad ();
  test_below ();
  test_clean ();
  test_glob ();
  test_hostile ();
  test_load ();
  return tap_done ();
}
