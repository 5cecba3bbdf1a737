/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "build/ignore.h"
#include "base/util.h"
#include "base/walk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* An ignore file larger than this is no list of patterns.  */
#define IGNORE_MAX_SIZE (16u << 20)

/* ---- paths -------------------------------------------------------------- */

char *
hutch_ignore_clean_path (const char *path)
{
  size_t n = strlen (path), r = 0, w = 0, dotdot = 0;
  bool rooted = n > 0 && path[0] == '/';
  char *out = hutch_xmalloc0 (n + 2);

  if (rooted)
    {
      out[w++] = '/';
      r = dotdot = 1;
    }
  while (r < n)
    {
      if (path[r] == '/')
        r++;
      else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/'))
        r++;
      else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/'))
        {
          r += 2;
          if (w > dotdot)
            {
              /* Back to the `/` before the last component; never past a
                 leading `..` that could not be taken back (DOTDOT).  */
              w--;
              while (w > dotdot && out[w] != '/')
                w--;
            }
          else if (!rooted)
            {
              if (w > 0)
                out[w++] = '/';
              out[w++] = '.';
              out[w++] = '.';
              dotdot = w;
            }
        }
      else
        {
          if ((rooted && w != 1) || (!rooted && w != 0))
            out[w++] = '/';
          for (; r < n && path[r] != '/'; r++)
            out[w++] = path[r];
        }
    }
  if (w == 0)
    out[w++] = '.';
  out[w] = '\0';
  return out;
}

/* ---- UTF-8 -------------------------------------------------------------- */

#define RUNE_ERROR 0xfffdu

/* The rune at S (LEN bytes left, LEN > 0) and its length in *RET_W: Go's
   utf8.DecodeRune, which takes a byte that starts no valid sequence as
   U+FFFD, one byte long.  */
static uint32_t
utf8_next (const unsigned char *s, size_t len, size_t *ret_w)
{
  uint32_t r;
  size_t n, i;

  *ret_w = 1;
  if (s[0] < 0x80)
    return s[0];
  if (s[0] >= 0xc2 && s[0] <= 0xdf)
    n = 2, r = s[0] & 0x1fu;
  else if (s[0] >= 0xe0 && s[0] <= 0xef)
    n = 3, r = s[0] & 0x0fu;
  else if (s[0] >= 0xf0 && s[0] <= 0xf4)
    n = 4, r = s[0] & 0x07u;
  else
    return RUNE_ERROR;
  if (len < n)
    return RUNE_ERROR;
  for (i = 1; i < n; i++)
    {
      if ((s[i] & 0xc0) != 0x80)
        return RUNE_ERROR;
      r = (r << 6) | (s[i] & 0x3fu);
    }
  /* Overlong forms, surrogates and what lies past U+10FFFF are no runes.  */
  if ((n == 3 && r < 0x800) || (n == 4 && (r < 0x10000 || r > 0x10ffff))
      || (r >= 0xd800 && r <= 0xdfff))
    return RUNE_ERROR;
  *ret_w = n;
  return r;
}

/* ---- patterns ----------------------------------------------------------- */

/* A pattern is compiled to a list of tokens and matched by running them
   as a nondeterministic automaton over the path, one rune at a time: time
   in the product of the two lengths, whatever the pattern (a backtracking
   matcher can be made to take exponential time by a hostile ignore file
   in a repository one builds).  */
enum tok_kind
{
  TOK_LIT,      /* the bytes of one rune */
  TOK_STAR,     /* `*`: any runes but `/` */
  TOK_ONE,      /* `?`: one rune but `/` */
  TOK_CLASS,    /* `[...]`: one rune of the ranges (or not of them) */
  TOK_DS_ENTRY, /* `**` inside a pattern: nothing, or (TOK_DS_LOOP) */
  TOK_DS_LOOP,  /* ... any runes ending with a `/` */
  TOK_DS_END,   /* `**` at the end: anything, `/` too */
};

struct tok
{
  unsigned char kind, len;
  unsigned char bytes[4];
  bool negated;
  uint32_t first, n; /* TOK_CLASS: its ranges */
};

enum glob_kind
{
  GLOB_EXACT,     /* no wildcard: the path is LITERAL */
  GLOB_SUFFIX,    /* `**` then no wildcard: the path ends with LITERAL */
  GLOB_EXTENSION, /* `*` then no wildcard and no `/`: one name ending with LITERAL */
  GLOB_NFA,
};

struct glob
{
  enum glob_kind kind;
  char *literal;
  size_t literal_len;
  struct tok *toks;
  size_t n;
  uint32_t *ranges; /* pairs lo, hi */
  size_t n_ranges;
};

struct compiler
{
  const char *p;
  size_t i;
  bool ignore_rules; /* `**` and `[!...]`, as ignore files have them */
  struct glob *g;
  const char *why;
};

static void
glob_clear (struct glob *g)
{
  free (g->literal);
  free (g->toks);
  free (g->ranges);
  memset (g, 0, sizeof *g);
}

static struct tok *
push_tok (struct glob *g, enum tok_kind kind)
{
  struct tok *t;

  g->toks = hutch_xrealloc (g->toks, (g->n + 1) * sizeof *g->toks);
  t = &g->toks[g->n++];
  memset (t, 0, sizeof *t);
  t->kind = (unsigned char)kind;
  return t;
}

static void
push_lit (struct compiler *c)
{
  const unsigned char *s = (const unsigned char *)c->p + c->i;
  struct tok *t = push_tok (c->g, TOK_LIT);
  size_t w;

  utf8_next (s, strlen ((const char *)s), &w);
  memcpy (t->bytes, s, w);
  t->len = (unsigned char)w;
  c->i += w;
}

/* Go's getEsc: a character of a class, `\` quoting it.  */
static int
class_char (struct compiler *c, uint32_t *ret)
{
  const unsigned char *s = (const unsigned char *)c->p;
  size_t w;

  if (s[c->i] == '\0' || s[c->i] == '-' || s[c->i] == ']')
    {
      c->why = s[c->i] == '\0' ? "a `[` is not closed by `]`"
                               : "a class `[...]` needs a character before `]` and on each side "
                                 "of `-`; quote them (`\\]`, `\\-`) to mean themselves";
      return -1;
    }
  if (s[c->i] == '\\' && s[++c->i] == '\0')
    {
      c->why = "a `[` is not closed by `]`";
      return -1;
    }
  *ret = utf8_next (s + c->i, strlen ((const char *)s + c->i), &w);
  if (*ret == RUNE_ERROR && w == 1)
    {
      c->why = "a class `[...]` holds bytes that are not UTF-8";
      return -1;
    }
  c->i += w;
  if (s[c->i] == '\0')
    {
      c->why = "a `[` is not closed by `]`";
      return -1;
    }
  return 0;
}

static int
compile_class (struct compiler *c)
{
  struct glob *g = c->g;
  struct tok *t;
  uint32_t first = (uint32_t)g->n_ranges, n = 0;
  bool negated = false;

  c->i++; /* the `[` */
  if (c->p[c->i] == '^' || (c->ignore_rules && c->p[c->i] == '!'))
    {
      negated = true;
      c->i++;
    }
  for (;;)
    {
      uint32_t lo, hi;

      if (c->p[c->i] == ']' && n > 0)
        {
          c->i++;
          break;
        }
      if (class_char (c, &lo) < 0)
        return -1;
      hi = lo;
      if (c->p[c->i] == '-')
        {
          c->i++;
          if (class_char (c, &hi) < 0)
            return -1;
        }
      if (lo > hi)
        {
          c->why = "a range in `[...]` runs backwards; write its low end first (`[a-z]`)";
          return -1;
        }
      g->ranges = hutch_xrealloc (g->ranges, (g->n_ranges + 1) * 2 * sizeof *g->ranges);
      g->ranges[2 * g->n_ranges] = lo;
      g->ranges[2 * g->n_ranges + 1] = hi;
      g->n_ranges++;
      n++;
    }
  t = push_tok (g, TOK_CLASS);
  t->negated = negated;
  t->first = first;
  t->n = n;
  return 0;
}

/* `**` as moby has it: `**` followed by `/` is `**` (the `/` is taken
   with it); at the end it matches anything, elsewhere any number of
   whole directories, none too (so that `a/`, `**`, `/b` in a row match
   `a/b` as well as `a/x/y/b`).  */
static void
compile_double_star (struct compiler *c)
{
  c->i += 2;
  if (c->p[c->i] == '/')
    c->i++;
  if (c->p[c->i] == '\0')
    push_tok (c->g, TOK_DS_END);
  else
    {
      push_tok (c->g, TOK_DS_ENTRY);
      push_tok (c->g, TOK_DS_LOOP);
    }
}

static int
compile_tokens (struct compiler *c)
{
  while (c->p[c->i] != '\0')
    switch (c->p[c->i])
      {
      case '*':
        if (c->ignore_rules && c->p[c->i + 1] == '*')
          compile_double_star (c);
        else
          {
            push_tok (c->g, TOK_STAR);
            c->i++;
          }
        break;
      case '?':
        push_tok (c->g, TOK_ONE);
        c->i++;
        break;
      case '[':
        if (compile_class (c) < 0)
          return -1;
        break;
      case '\\':
        if (c->p[++c->i] == '\0')
          {
            c->why = "it ends with `\\`, which quotes nothing; write `\\\\` for a backslash";
            return -1;
          }
        push_lit (c);
        break;
      default:
        push_lit (c);
      }
  return 0;
}

/* PAT into G; *RET_WHY says what is wrong with a bad one.  */
static int
glob_compile (const char *pat, bool ignore_rules, struct glob *g, const char **ret_why)
{
  struct compiler c = { .p = pat, .ignore_rules = ignore_rules, .g = g };
  size_t i, len;

  memset (g, 0, sizeof *g);
  /* moby matches a pattern that starts with `**` and has no other
     wildcard as a plain suffix of the path: `**.go` matches `a.go` and
     `x/a.go` (where `**` elsewhere would stop at a `/`); `**` then `/x`
     matches `x` and `a/b/x`.  */
  if (ignore_rules && strncmp (pat, "**", 2) == 0 && strpbrk (pat + 2, "*?[\\") == NULL)
    {
      g->kind = GLOB_SUFFIX;
      g->literal = hutch_xstrdup (pat + 2);
      g->literal_len = strlen (pat + 2);
      return 0;
    }
  /* `*.log`, the most common pattern of all, without the automaton.  */
  if (pat[0] == '*' && pat[1] != '*' && strpbrk (pat + 1, "*?[\\/") == NULL)
    {
      g->kind = GLOB_EXTENSION;
      g->literal = hutch_xstrdup (pat + 1);
      g->literal_len = strlen (pat + 1);
      return 0;
    }
  if (compile_tokens (&c) < 0)
    {
      *ret_why = c.why;
      glob_clear (g);
      return -1;
    }
  for (i = 0, len = 0; i < g->n && g->toks[i].kind == TOK_LIT; i++)
    len += g->toks[i].len;
  if (i < g->n)
    {
      g->kind = GLOB_NFA;
      return 0;
    }
  g->kind = GLOB_EXACT;
  g->literal = hutch_xmalloc0 (len + 1);
  for (i = 0, len = 0; i < g->n; i++)
    {
      memcpy (g->literal + len, g->toks[i].bytes, g->toks[i].len);
      len += g->toks[i].len;
    }
  g->literal_len = len;
  return 0;
}

static bool
class_has (const struct glob *g, const struct tok *t, uint32_t r)
{
  uint32_t i;
  for (i = 0; i < t->n; i++)
    if (g->ranges[2 * (t->first + i)] <= r && r <= g->ranges[2 * (t->first + i) + 1])
      return !t->negated;
  return t->negated;
}

/* The states reached from SET without reading anything.  Every such step
   leads forward, so one pass in order reaches them all.  */
static void
nfa_closure (const struct glob *g, unsigned char *set)
{
  size_t k;
  for (k = 0; k < g->n; k++)
    if (set[k])
      switch (g->toks[k].kind)
        {
        case TOK_STAR:
        case TOK_DS_END:
          set[k + 1] = 1;
          break;
        case TOK_DS_ENTRY:
          set[k + 1] = set[k + 2] = 1;
          break;
        default:
          break;
        }
}

/* One step of the automaton: from CUR over the rune R (bytes B, W of
   them) into NEXT; whether any state is left.  */
static bool
nfa_step (const struct glob *g, const unsigned char *cur, unsigned char *next, uint32_t r,
          const unsigned char *b, size_t w)
{
  bool any = false;
  size_t k;

  memset (next, 0, g->n + 1);
  for (k = 0; k < g->n; k++)
    {
      const struct tok *t = &g->toks[k];
      if (!cur[k])
        continue;
      switch (t->kind)
        {
        case TOK_LIT:
          if (t->len == w && memcmp (t->bytes, b, w) == 0)
            next[k + 1] = 1;
          break;
        case TOK_STAR:
          if (r != '/')
            next[k] = 1;
          break;
        case TOK_ONE:
          if (r != '/')
            next[k + 1] = 1;
          break;
        case TOK_CLASS:
          if (class_has (g, t, r))
            next[k + 1] = 1;
          break;
        case TOK_DS_LOOP:
          next[k] = 1;
          if (r == '/')
            next[k + 1] = 1;
          break;
        case TOK_DS_END:
          next[k] = 1;
          break;
        default:
          break;
        }
    }
  nfa_closure (g, next);
  for (k = 0; k <= g->n && !any; k++)
    any = next[k] != 0;
  return any;
}

/* Whether G matches the LEN bytes at S; *RET_ALIVE (when not NULL):
   whether a longer path that starts with them might still match.  */
static bool
nfa_run (const struct glob *g, const char *s, size_t len, bool *ret_alive)
{
  unsigned char small[2][128], *a = small[0], *b = small[1], *heap = NULL, *tmp;
  const unsigned char *u = (const unsigned char *)s;
  bool alive = true, matched;
  size_t at = 0;

  if (g->n + 1 > sizeof small[0])
    {
      heap = hutch_xmalloc0 (2 * (g->n + 1));
      a = heap;
      b = heap + g->n + 1;
    }
  memset (a, 0, g->n + 1);
  a[0] = 1;
  nfa_closure (g, a);
  while (at < len && alive)
    {
      size_t w;
      uint32_t r = utf8_next (u + at, len - at, &w);
      alive = nfa_step (g, a, b, r, u + at, w);
      at += w;
      tmp = a, a = b, b = tmp;
    }
  matched = alive && a[g->n];
  if (ret_alive)
    *ret_alive = alive;
  free (heap);
  return matched;
}

static bool
glob_match (const struct glob *g, const char *s, size_t len)
{
  switch (g->kind)
    {
    case GLOB_EXACT:
      return len == g->literal_len && memcmp (s, g->literal, len) == 0;
    case GLOB_SUFFIX:
      if (len >= g->literal_len
          && memcmp (s + len - g->literal_len, g->literal, g->literal_len) == 0)
        return true;
      /* `**` then `/x` matches `x` itself: `**` is no directory at all.  */
      return g->literal[0] == '/' && len == g->literal_len - 1
             && memcmp (s, g->literal + 1, len) == 0;
    case GLOB_EXTENSION:
      return len >= g->literal_len && memchr (s, '/', len) == NULL
             && memcmp (s + len - g->literal_len, g->literal, g->literal_len) == 0;
    default:
      return nfa_run (g, s, len, NULL);
    }
}

int
hutch_ignore_glob (const char *pattern, const char *name, hutch_error_t *err)
{
  struct glob g;
  const char *why = NULL;
  bool m;

  if (glob_compile (pattern, false, &g, &why) < 0)
    {
      _cleanup_free_ char *shown = hutch_walk_shown (pattern);
      hutch_error_set (err, 0, "`%s` is not a valid pattern: %s", shown, why);
      err->errnum = EINVAL;
      return -EINVAL;
    }
  m = glob_match (&g, name, strlen (name));
  glob_clear (&g);
  return m ? 1 : 0;
}

/* ---- ignore files ------------------------------------------------------- */

struct pattern
{
  struct glob g;
  bool exception;
};

struct hutch_ignore
{
  struct pattern *pats;
  size_t n;
  bool exceptions;
  char *file;
};

void
hutch_ignore_free (struct hutch_ignore *ig)
{
  size_t i;

  if (ig == NULL)
    return;
  for (i = 0; i < ig->n; i++)
    glob_clear (&ig->pats[i].g);
  free (ig->pats);
  free (ig->file);
  free (ig);
}

static bool
is_blank (char ch)
{
  return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\v' || ch == '\f' || ch == '\r';
}

/* S without the blanks around it (S is changed).  */
static char *
trim (char *s)
{
  size_t n;
  while (is_blank (*s))
    s++;
  n = strlen (s);
  while (n > 0 && is_blank (s[n - 1]))
    s[--n] = '\0';
  return s;
}

/* One line, as moby's ignorefile.ReadAll and patternmatcher.New take it
   (both clean it, and so does this): blanks trimmed around the pattern
   and after a leading `!`, cleaned as a path, one leading `/` dropped.
   NULL for a comment or a blank line.  */
static char *
line_pattern (char *line)
{
  _cleanup_free_ char *clean = NULL, *whole = NULL;
  bool invert;
  char *p;

  if (line[0] == '#')
    return NULL;
  p = trim (line);
  if (*p == '\0')
    return NULL;
  invert = *p == '!';
  if (invert)
    p = trim (p + 1);
  if (*p)
    {
      clean = hutch_ignore_clean_path (p);
      p = clean[0] == '/' && clean[1] != '\0' ? clean + 1 : clean;
    }
  whole = hutch_xasprintf ("%s%s", invert ? "!" : "", p);
  /* Cleaned again with its `!`, as patternmatcher.New does: `!/` ends up
     `!` (and is refused).  */
  return hutch_ignore_clean_path (whole);
}

static int
add_pattern (struct hutch_ignore *ig, const char *text, const char *file, unsigned int line,
             hutch_error_t *err)
{
  struct pattern *p;
  const char *why = NULL, *pat = text;
  bool exception = text[0] == '!';

  if (exception && text[1] == '\0')
    return hutch_error_set (err, 0,
                            "%s, line %u: `!` alone brings nothing back; write the path to keep "
                            "after it (`!docs/README.md`)",
                            file, line);
  if (exception)
    pat++;
  ig->pats = hutch_xrealloc (ig->pats, (ig->n + 1) * sizeof *ig->pats);
  p = &ig->pats[ig->n];
  if (glob_compile (pat, true, &p->g, &why) < 0)
    {
      _cleanup_free_ char *shown = hutch_walk_shown (text);
      return hutch_error_set (err, 0, "%s, line %u: `%s` is not a valid pattern: %s", file, line,
                              shown, why);
    }
  p->exception = exception;
  ig->exceptions |= exception;
  ig->n++;
  return 0;
}

int
hutch_ignore_parse (const char *text, const char *file, struct hutch_ignore **ret,
                    hutch_error_t *err)
{
  struct hutch_ignore *ig = hutch_xmalloc0 (sizeof *ig);
  _cleanup_free_ char *copy = hutch_xstrdup (text);
  char *line = copy;
  unsigned int n = 0;

  ig->file = file ? hutch_xstrdup (file) : NULL;
  if (file == NULL)
    file = "the ignore file";
  /* A byte order mark that an editor put at the start is no pattern.  */
  if (strncmp (line, "\xef\xbb\xbf", 3) == 0)
    line += 3;
  while (line)
    {
      char *nl = strchr (line, '\n'), *next = nl ? nl + 1 : NULL;
      _cleanup_free_ char *pat = NULL;
      size_t len;

      if (nl)
        *nl = '\0';
      len = strlen (line);
      if (len > 0 && line[len - 1] == '\r')
        line[len - 1] = '\0';
      n++;
      pat = line_pattern (line);
      if (pat && add_pattern (ig, pat, file, n, err) < 0)
        {
          hutch_ignore_free (ig);
          return -1;
        }
      line = next;
    }
  *ret = ig;
  return 0;
}

bool
hutch_ignore_empty (const struct hutch_ignore *ig)
{
  return ig == NULL || ig->n == 0;
}

const char *
hutch_ignore_file (const struct hutch_ignore *ig)
{
  return ig ? ig->file : NULL;
}

size_t
hutch_ignore_count (const struct hutch_ignore *ig)
{
  return ig ? ig->n : 0;
}

/* Whether P matches PATH (LEN bytes) or one of the directories above it:
   a pattern that matches a directory excludes what is in it.  */
static bool
matches_or_above (const struct pattern *p, const char *path, size_t len)
{
  size_t i;

  if (glob_match (&p->g, path, len))
    return true;
  for (i = 1; i < len; i++)
    if (path[i] == '/' && glob_match (&p->g, path, i))
      return true;
  return false;
}

bool
hutch_ignore_excluded_at (const struct hutch_ignore *ig, const char *path,
                          const unsigned char *parent, unsigned char *ret_matched)
{
  size_t i, len = strlen (path);
  bool excluded = false;

  for (i = 0; ig && i < ig->n; i++)
    {
      const struct pattern *p = &ig->pats[i];
      bool m = false;

      /* The context itself is never excluded: moby will not let a pattern
         take everything away.  */
      if (len > 0)
        m = parent ? parent[i] || glob_match (&p->g, path, len) : matches_or_above (p, path, len);
      if (ret_matched)
        ret_matched[i] = m;
      /* Every pattern that matches decides in turn: the last one wins.  */
      if (m)
        excluded = !p->exception;
    }
  return excluded;
}

bool
hutch_ignore_excluded (const struct hutch_ignore *ig, const char *path)
{
  return hutch_ignore_excluded_at (ig, path, NULL, NULL);
}

/* Only an exception that can match a path below PATH can bring back
   something below it: one that matched PATH or a directory above it
   decides for PATH too, and PATH is excluded.  */
bool
hutch_ignore_may_include_below (const struct hutch_ignore *ig, const char *path)
{
  _cleanup_free_ char *below = NULL;
  size_t i, len;

  if (ig == NULL || !ig->exceptions)
    return false;
  below = *path ? hutch_xasprintf ("%s/", path) : hutch_xstrdup ("");
  len = strlen (below);
  for (i = 0; i < ig->n; i++)
    {
      const struct pattern *p = &ig->pats[i];
      bool alive = false;

      if (!p->exception)
        continue;
      switch (p->g.kind)
        {
        case GLOB_EXACT:
          alive = p->g.literal_len > len && memcmp (p->g.literal, below, len) == 0;
          break;
        case GLOB_SUFFIX:
          alive = true;
          break;
        case GLOB_EXTENSION:
          alive = false; /* one name: nothing below a directory */
          break;
        default:
          nfa_run (&p->g, below, len, &alive);
        }
      if (alive)
        return true;
    }
  return false;
}

/* ---- finding the file --------------------------------------------------- */

/* NAME beneath the context CTXFD: 1 and its text, 0 when there is none.  */
static int
read_ignore (int ctxfd, const char *name, char **ret_text, hutch_error_t *err)
{
  _cleanup_close_ int fd = -1;
  _cleanup_free_ char *shown = hutch_walk_shown (name);
  struct stat st;

  /* Beneath the context: a symlink in it may lead to another file of the
     context, never out of it.  O_NONBLOCK: a FIFO there does not hang
     the build (it is refused below).  */
  fd = hutch_walk_open_beneath (ctxfd, name, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
  if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
    return 0;
  if (fd < 0 && errno == EXDEV)
    return hutch_error_set (err, 0,
                            "`%s` is a symlink that leads out of the build context; make it a "
                            "file of the context",
                            shown);
  if (fd < 0)
    return hutch_error_set (err, errno, "open `%s` in the build context", shown);
  if (fstat (fd, &st) < 0)
    return hutch_error_set (err, errno, "look at `%s` in the build context", shown);
  if (!S_ISREG (st.st_mode))
    return hutch_error_set (err, 0,
                            "`%s` in the build context is not a regular file; an ignore file "
                            "is a list of patterns, one a line",
                            shown);
  if (hutch_read_fd (fd, IGNORE_MAX_SIZE, ret_text, NULL, err) < 0)
    return hutch_error_prefix (err, "read `%s` in the build context", shown);
  return 1;
}

int
hutch_ignore_load (int ctxfd, const char *dockerfile, struct hutch_ignore **ret, char **ret_file,
                   hutch_error_t *err)
{
  _cleanup_strv_ char **names = NULL;
  size_t i;

  /* The Containerfile's own ignore file first (BuildKit's
     `Dockerfile.dockerignore`, beside it), then the context's.  A
     Containerfile out of the context (`..`) has none in it.  */
  if (dockerfile)
    {
      _cleanup_free_ char *df = hutch_ignore_clean_path (dockerfile);
      const char *rel = df;

      while (*rel == '/')
        rel++;
      if (*rel && strcmp (rel, ".") != 0 && strcmp (rel, "..") != 0 && strncmp (rel, "../", 3) != 0)
        {
          hutch_strv_push (&names, hutch_xasprintf ("%s.containerignore", rel));
          hutch_strv_push (&names, hutch_xasprintf ("%s.dockerignore", rel));
        }
    }
  hutch_strv_push (&names, hutch_xstrdup (".containerignore"));
  hutch_strv_push (&names, hutch_xstrdup (".dockerignore"));
  for (i = 0; names[i]; i++)
    {
      _cleanup_free_ char *text = NULL;
      int r = read_ignore (ctxfd, names[i], &text, err);
      if (r < 0)
        return r;
      if (r == 0)
        continue;
      r = hutch_ignore_parse (text, names[i], ret, err);
      if (r < 0)
        return r;
      if (ret_file)
        *ret_file = hutch_xstrdup (names[i]);
      return 0;
    }
  *ret = hutch_xmalloc0 (sizeof **ret);
  if (ret_file)
    *ret_file = NULL;
  return 0;
}
