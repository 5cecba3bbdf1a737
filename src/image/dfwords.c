/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* The words of a Dockerfile's instructions, read as BuildKit's Dockerfile
   frontend reads them: its parser splits an instruction's text into words
   at blanks outside quotes (keeping quotes and escapes), then its shell
   lexer takes each word alone: quotes removed, escapes taken, variables
   substituted.  The variables come from the builder (ARG, ENV), through a
   lookup function: nothing here knows where they live.  */

#include "image/dockerfile.h"
#include "image/dockerfile-private.h"
#include "base/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* How deep ${A:-${B:-...}} may nest: the lexer recurses, and a file must
   not be able to exhaust the stack.  No real Dockerfile comes close.  */
#define MAX_NESTING 16

/* Longest word quoted in an error message.  */
#define QUOTE_MAX 60

struct lexer
{
  const char *s; /* the word */
  size_t pos, len;
  char escape;
  hutch_df_lookup_fn lookup; /* NULL: `$` is an ordinary character */
  void *data;
  int depth;
  bool quoted; /* a quote was removed */
  hutch_error_t *err;
};

/* The characters that mean something in a pattern, and `#` and `%`, which
   mean something at its start (${V##p}).  */
static bool
pattern_special (char c)
{
  return c && strchr ("*?[]\\#%", c) != NULL;
}

/* Append C, which stands for itself (it was quoted or escaped): in a
   pattern (PATTERN), with a `\` before it when it would mean more.  */
static void
put_literal (struct hutch_buf *out, char c, bool pattern)
{
  if (pattern && pattern_special (c))
    hutch_buf_addc (out, '\\');
  hutch_buf_addc (out, c);
}

static void
put_literals (struct hutch_buf *out, const char *s, size_t n, bool pattern)
{
  size_t i;

  if (!pattern)
    {
      hutch_buf_add (out, s, n);
      return;
    }
  for (i = 0; i < n; i++)
    put_literal (out, s[i], pattern);
}

static int
lex_error (struct lexer *lx, const char *what)
{
  return hutch_error_set (lx->err, 0, "%s in `%.*s%s`", what,
                          (int)(lx->len > QUOTE_MAX ? QUOTE_MAX : lx->len), lx->s,
                          lx->len > QUOTE_MAX ? "..." : "");
}

static int lex_until (struct lexer *lx, char stop, bool pattern, struct hutch_buf *out);

/* ---- patterns ------------------------------------------------------------- */

/* The length of the UTF-8 character at S (N bytes left): `?` is one
   character, not one byte, as in BuildKit's patterns.  A malformed sequence
   counts its first byte alone.  */
static size_t
u8_len (const char *s, size_t n)
{
  unsigned char c = (unsigned char)s[0];
  size_t want = c < 0xc0 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : c < 0xf8 ? 4 : 1, i;

  if (want > n)
    return 1;
  for (i = 1; i < want; i++)
    if (((unsigned char)s[i] & 0xc0) != 0x80)
      return 1;
  return want;
}

static uint32_t
u8_decode (const char *s, size_t n, size_t *ret_len)
{
  size_t len = u8_len (s, n), i;
  unsigned char c = (unsigned char)s[0];
  uint32_t cp;

  *ret_len = len;
  if (len == 1)
    return c;
  cp = c & (0x7f >> len);
  for (i = 1; i < len; i++)
    cp = (cp << 6) | ((unsigned char)s[i] & 0x3f);
  return cp;
}

/* Whether the bracket expression at *PP (at its `[`) matches the character
   CP; *PP moves past its `]`.  -1 when it has no `]`: the `[` is then an
   ordinary character.  */
static int
bracket_match (const char **pp, uint32_t cp)
{
  const char *p = *pp + 1;
  bool negate = false, found = false, first = true;

  if (*p == '!' || *p == '^')
    negate = true, p++;
  while (*p && (*p != ']' || first))
    {
      uint32_t lo, hi;
      size_t n;

      first = false;
      if (*p == '\\' && p[1])
        p++;
      lo = hi = u8_decode (p, strlen (p), &n);
      p += n;
      if (*p == '-' && p[1] && p[1] != ']')
        {
          p++;
          if (*p == '\\' && p[1])
            p++;
          hi = u8_decode (p, strlen (p), &n);
          p += n;
        }
      if (cp >= lo && cp <= hi)
        found = true;
    }
  if (*p != ']')
    return -1;
  *pp = p + 1;
  return found != negate;
}

/* Whether the pattern element at *PP (not `*`) matches the character at S
   (N > 0 bytes left): then *PP moves past it and *RET_USED is the bytes of
   S it took.  */
static bool
match_one (const char **pp, const char *s, size_t n, size_t *ret_used)
{
  const char *p = *pp;
  size_t len;
  uint32_t cp;
  int r;

  switch (*p)
    {
    case '?':
      *ret_used = u8_len (s, n);
      *pp = p + 1;
      return true;
    case '[':
      cp = u8_decode (s, n, &len);
      r = bracket_match (&p, cp);
      if (r >= 0)
        {
          *ret_used = len;
          *pp = p;
          return r == 1;
        }
      break;
    case '\\':
      if (p[1])
        p++;
      break;
    }
  if (*p != *s)
    return false;
  *ret_used = 1;
  *pp = p + 1;
  return true;
}

/* Whether PATTERN matches all of S (N bytes).  A `*` is tried short first
   and grown one character at a time on a mismatch: no recursion, and at
   worst the product of the lengths.  */
static bool
pattern_match_n (const char *pattern, const char *s, size_t n)
{
  const char *p = pattern, *star = NULL;
  size_t i = 0, star_at = 0;

  while (i < n)
    {
      size_t used;

      if (*p == '*')
        {
          while (*p == '*')
            p++;
          star = p;
          star_at = i;
          continue;
        }
      if (*p && match_one (&p, s + i, n - i, &used))
        {
          i += used;
          continue;
        }
      if (star == NULL)
        return false;
      star_at += u8_len (s + star_at, n - star_at);
      i = star_at;
      p = star;
    }
  while (*p == '*')
    p++;
  return *p == '\0';
}

bool
hutch_df_pattern_match (const char *pattern, const char *name)
{
  return pattern_match_n (pattern, name, strlen (name));
}

/* Whether byte I of S (N bytes) starts a character: patterns cut values at
   character boundaries only.  */
static bool
boundary (const char *s, size_t n, size_t i)
{
  return i == 0 || i == n || ((unsigned char)s[i] & 0xc0) != 0x80;
}

/* ${V#p}, ${V##p} (SUFFIX false) and ${V%p}, ${V%%p}: VALUE without the
   shortest (or, LONGEST, the longest) prefix or suffix that PATTERN
   matches.  */
static void
trim_match (const char *value, const char *pattern, bool suffix, bool longest,
            struct hutch_buf *out)
{
  size_t n = strlen (value), k;

  for (k = 0; k <= n; k++)
    {
      size_t cut = longest ? n - k : k; /* the length of the part removed */
      const char *part = suffix ? value + n - cut : value;
      if (!boundary (value, n, suffix ? n - cut : cut))
        continue;
      if (pattern_match_n (pattern, part, cut))
        {
          if (suffix)
            hutch_buf_add (out, value, n - cut);
          else
            hutch_buf_adds (out, value + cut);
          return;
        }
    }
  hutch_buf_adds (out, value);
}

/* PATTERN without its `\` quoting when it has no `*`, `?` or `[`: NULL
   otherwise.  A plain string is searched for, not tried at every
   length.  */
static char *
pattern_literal (const char *pattern)
{
  struct hutch_buf b = { 0 };
  const char *p;

  for (p = pattern; *p; p++)
    {
      if (*p == '*' || *p == '?' || *p == '[')
        {
          free (b.s);
          return NULL;
        }
      if (*p == '\\' && p[1])
        p++;
      hutch_buf_addc (&b, *p);
    }
  return hutch_buf_steal (&b);
}

/* The length of the longest match of PATTERN (or of LITERAL, when it has
   no wildcard) that starts at byte I of VALUE (N bytes), or -1.  */
static long
longest_at (const char *value, size_t n, size_t i, const char *pattern, const char *literal)
{
  size_t end;

  if (literal)
    {
      size_t m = strlen (literal);
      return m <= n - i && memcmp (value + i, literal, m) == 0 ? (long)m : -1;
    }
  for (end = n + 1; end-- > i;)
    if (boundary (value, n, end) && pattern_match_n (pattern, value + i, end - i))
      return (long)(end - i);
  return -1;
}

/* ${V/p/r} (ALL false: the first match) and ${V//p/r}: the leftmost,
   longest matches replaced, as BuildKit's regular expressions do; an empty
   match right after a match is no match (Go's rule).  An empty pattern
   matches nothing.  */
static void
replace_match (const char *value, const char *pattern, const char *rep, bool all,
               struct hutch_buf *out)
{
  _cleanup_free_ char *literal = pattern_literal (pattern);
  size_t n = strlen (value), i = 0, last_end = SIZE_MAX;

  if (*pattern == '\0')
    {
      hutch_buf_adds (out, value);
      return;
    }
  for (;;)
    {
      long m = longest_at (value, n, i, pattern, literal);
      if (m >= 0 && !(m == 0 && i == last_end))
        {
          hutch_buf_adds (out, rep);
          last_end = i + (size_t)m;
          if (!all)
            {
              hutch_buf_adds (out, value + last_end);
              return;
            }
          if (m > 0)
            {
              i += (size_t)m;
              continue;
            }
        }
      if (i >= n)
        break;
      m = (long)u8_len (value + i, n - i);
      hutch_buf_add (out, value + i, (size_t)m);
      i += (size_t)m;
    }
}

/* ---- the lexer ------------------------------------------------------------ */

/* A variable's name at the lexer: digits (a positional parameter), one of
   the shell's special parameters, or letters, digits and `_` (bytes past
   ASCII count as letters: BuildKit takes Unicode letters).  Empty when
   none.  */
static char *
lex_name (struct lexer *lx)
{
  size_t start = lx->pos;
  const char *s = lx->s;

  if (lx->pos < lx->len && s[lx->pos] >= '0' && s[lx->pos] <= '9')
    while (lx->pos < lx->len && s[lx->pos] >= '0' && s[lx->pos] <= '9')
      lx->pos++;
  else if (lx->pos < lx->len && strchr ("@*#?-$!", s[lx->pos]))
    lx->pos++;
  else
    while (lx->pos < lx->len
           && (s[lx->pos] == '_' || (s[lx->pos] >= 'a' && s[lx->pos] <= 'z')
               || (s[lx->pos] >= 'A' && s[lx->pos] <= 'Z')
               || (s[lx->pos] >= '0' && s[lx->pos] <= '9') || (unsigned char)s[lx->pos] >= 0x80))
      lx->pos++;
  return hutch_xstrndup (s + start, lx->pos - start);
}

static const char *
lex_lookup (struct lexer *lx, const char *name)
{
  return *name ? lx->lookup (lx->data, name) : NULL;
}

/* ${NAME?WORD} and ${NAME:?WORD} of a variable that is not set (or, with
   the colon, empty).  */
static int
required_error (struct lexer *lx, const char *name, const char *word, bool set)
{
  if (*word)
    return hutch_error_set (lx->err, 0, "%s: %s", name, word);
  return hutch_error_set (lx->err, 0, "%s: is not allowed to be %s; set it (ARG %s=VALUE)", name,
                          set ? "empty" : "unset", name);
}

/* The WORD of ${NAME-WORD} and the other operators (OP, after a colon
   when COLON) applied to the variable NAME.  BuildKit reads WORD before it
   looks at the variable, so an error in it is one even when unused.  */
static int
apply_operator (struct lexer *lx, const char *name, char op, bool colon, struct hutch_buf *out)
{
  struct hutch_buf word = { 0 };
  _cleanup_free_ char *w = NULL;
  const char *value;
  bool set;
  int r;

  lx->depth++;
  r = lex_until (lx, '}', op == '#' || op == '%', &word);
  lx->depth--;
  w = hutch_buf_steal (&word);
  if (r < 0)
    return r;
  value = lex_lookup (lx, name);
  set = value != NULL && !(colon && *value == '\0');
  switch (op)
    {
    case '-':
      hutch_buf_adds (out, set ? value : w);
      return 0;
    case '+':
      hutch_buf_adds (out, set ? w : "");
      return 0;
    case '?':
      if (!set)
        return required_error (lx, name, w, value != NULL);
      hutch_buf_adds (out, value);
      return 0;
    default: /* '#' or '%': a doubled one wants the longest match */
      trim_match (value ? value : "", w + (w[0] == op), op == '%', w[0] == op, out);
      return 0;
    }
}

/* ${NAME/PATTERN/REPLACEMENT} and ${NAME//PATTERN/REPLACEMENT}, the lexer
   past the first `/`.  */
static int
apply_replace (struct lexer *lx, const char *name, struct hutch_buf *out)
{
  struct hutch_buf pat = { 0 }, rep = { 0 };
  bool all = lx->pos < lx->len && lx->s[lx->pos] == '/';
  const char *value;
  int r;

  if (all)
    lx->pos++;
  lx->depth++;
  r = lex_until (lx, '/', true, &pat);
  if (r == 0)
    r = lex_until (lx, '}', false, &rep);
  lx->depth--;
  if (r == 0)
    {
      value = lex_lookup (lx, name);
      replace_match (value ? value : "", pat.s ? pat.s : "", rep.s ? rep.s : "", all, out);
    }
  free (pat.s);
  free (rep.s);
  return r;
}

/* ${...}, the lexer past the `{`.  What it gives is added as it is: in a
   pattern, an unquoted expansion's `*` is a wildcard, as in a shell.  */
static int
lex_braced (struct lexer *lx, struct hutch_buf *out)
{
  _cleanup_free_ char *name = NULL;
  bool colon = false;
  char op;

  if (lx->depth >= MAX_NESTING)
    return hutch_error_set (lx->err, 0, "substitutions nest deeper than %d", MAX_NESTING);
  if (lx->pos >= lx->len)
    return lex_error (lx, "a bad substitution: a `}` is missing");
  if (strchr ("{}:", lx->s[lx->pos]))
    return lex_error (lx, "a bad substitution: `${` must be followed by a name");
  name = lex_name (lx);
  if (lx->pos >= lx->len)
    return lex_error (lx, "a bad substitution: a `}` is missing");
  op = lx->s[lx->pos++];
  if (op == '}')
    {
      const char *value = lex_lookup (lx, name);
      if (value)
        hutch_buf_adds (out, value);
      return 0;
    }
  if (op == ':' && lx->pos < lx->len && strchr ("-+?", lx->s[lx->pos]))
    colon = true, op = lx->s[lx->pos++];
  else if (op == ':')
    return lex_error (lx, "a bad substitution: after `${NAME:` comes `-`, `+` or `?`");
  if (op == '/')
    return apply_replace (lx, name, out);
  if (strchr ("-+?#%", op) == NULL)
    return lex_error (lx, "a bad substitution: the operators are `-`, `:-`, `+`, `:+`, `?`, "
                          "`:?`, `#`, `##`, `%`, `%%`, `/` and `//`");
  return apply_operator (lx, name, op, colon, out);
}

/* $NAME or ${...}, the lexer at the `$`.  A `$` before nothing that can be
   a name is itself.  */
static int
lex_dollar (struct lexer *lx, struct hutch_buf *out)
{
  _cleanup_free_ char *name = NULL;
  const char *value;

  lx->pos++;
  if (lx->pos < lx->len && lx->s[lx->pos] == '{')
    {
      lx->pos++;
      return lex_braced (lx, out);
    }
  name = lex_name (lx);
  if (*name == '\0')
    {
      hutch_buf_addc (out, '$');
      return 0;
    }
  value = lex_lookup (lx, name);
  if (value)
    hutch_buf_adds (out, value);
  return 0;
}

/* '...': every character as it is.  */
static int
lex_single (struct lexer *lx, bool pattern, struct hutch_buf *out)
{
  const char *close = memchr (lx->s + lx->pos + 1, '\'', lx->len - lx->pos - 1);

  if (close == NULL)
    return lex_error (lx, "a single quote is not closed");
  put_literals (out, lx->s + lx->pos + 1, (size_t)(close - lx->s) - lx->pos - 1, pattern);
  lx->pos = (size_t)(close - lx->s) + 1;
  lx->quoted = true;
  return 0;
}

/* "...": variables are expanded, and the escape character escapes `"`,
   `$` and itself only (before anything else it is itself).  */
static int
lex_double (struct lexer *lx, bool pattern, struct hutch_buf *out)
{
  lx->pos++;
  for (;;)
    {
      char c;

      if (lx->pos >= lx->len)
        return lex_error (lx, "a double quote is not closed");
      c = lx->s[lx->pos];
      if (c == '"')
        break;
      if (c == '$' && lx->lookup)
        {
          struct hutch_buf v = { 0 };
          if (lex_dollar (lx, &v) < 0)
            {
              free (v.s);
              return -1;
            }
          put_literals (out, v.s ? v.s : "", v.len, pattern);
          free (v.s);
          continue;
        }
      lx->pos++;
      if (c == lx->escape && lx->pos < lx->len
          && (lx->s[lx->pos] == '"' || lx->s[lx->pos] == '$' || lx->s[lx->pos] == lx->escape))
        c = lx->s[lx->pos++];
      put_literal (out, c, pattern);
    }
  lx->pos++;
  lx->quoted = true;
  return 0;
}

/* The word from the lexer's position to STOP (consumed; 0: the end),
   appended to OUT.  PATTERN: what is quoted or escaped is marked so in the
   result, for the pattern of ${V#p} and friends.  */
static int
lex_until (struct lexer *lx, char stop, bool pattern, struct hutch_buf *out)
{
  while (lx->pos < lx->len)
    {
      char c = lx->s[lx->pos];
      int r = 0;

      if (stop && c == stop)
        {
          lx->pos++;
          return 0;
        }
      if (c == '$' && lx->lookup)
        r = lex_dollar (lx, out);
      else if (c == '\'')
        r = lex_single (lx, pattern, out);
      else if (c == '"')
        r = lex_double (lx, pattern, out);
      else if (c == lx->escape)
        {
          /* An escape at the very end is dropped, as BuildKit does.  */
          lx->pos++;
          if (lx->pos < lx->len)
            put_literal (out, lx->s[lx->pos++], pattern);
        }
      else
        {
          /* With the escape `, a backslash is an ordinary character,
             also in a pattern.  */
          if (c == '\\')
            put_literal (out, c, pattern);
          else
            hutch_buf_addc (out, c);
          lx->pos++;
        }
      if (r < 0)
        return r;
    }
  if (stop == '}')
    return lex_error (lx, "a bad substitution: a `}` is missing");
  if (stop == '/')
    return lex_error (lx, "a bad substitution: ${NAME/PATTERN/REPLACEMENT} misses its second `/`");
  return 0;
}

static int
expand_n (const char *word, size_t len, char escape, hutch_df_lookup_fn lookup, void *data,
          char **ret, bool *ret_quoted, hutch_error_t *err)
{
  struct lexer lx
      = { .s = word, .len = len, .escape = escape, .lookup = lookup, .data = data, .err = err };
  struct hutch_buf out = { 0 };

  if (lex_until (&lx, 0, false, &out) < 0)
    {
      free (out.s);
      return -1;
    }
  *ret = hutch_buf_steal (&out);
  if (ret_quoted)
    *ret_quoted = lx.quoted;
  return 0;
}

int
hutch_df_expand (const char *word, char escape, hutch_df_lookup_fn lookup, void *data, char **ret,
                 hutch_error_t *err)
{
  return expand_n (word, strlen (word), escape, lookup, data, ret, NULL, err);
}

int
hutch_df_unquote (const char *word, char **ret, bool *ret_quoted)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  int r = expand_n (word, strlen (word), '\\', NULL, NULL, ret, ret_quoted, &err);

  hutch_error_clear (&err);
  return r;
}

/* ---- words and pairs ------------------------------------------------------ */

/* TEXT split at blanks outside quotes, each word as written (quotes and
   escapes kept, for the lexer): BuildKit's parseWords.  An escape at the
   very end is dropped; a quote left open runs to the end (the lexer then
   says so).  */
static char **
split_raw (const char *text, char escape)
{
  struct dfvec words = { 0 };
  const char *p = text;

  for (;;)
    {
      struct hutch_buf w = { 0 };
      char quote = 0;

      while (df_is_space (*p))
        p++;
      if (*p == '\0')
        break;
      for (; *p && (quote || !df_is_space (*p)); p++)
        {
          if (quote == 0 && (*p == '\'' || *p == '"'))
            quote = *p;
          else if (quote && *p == quote)
            quote = 0;
          else if (*p == escape && quote != '\'')
            {
              if (p[1] == '\0')
                continue;
              hutch_buf_addc (&w, *p++);
            }
          hutch_buf_addc (&w, *p);
        }
      /* Never empty: a quote is kept in it.  */
      dfvec_push (&words, hutch_buf_steal (&w));
    }
  return dfvec_steal (&words);
}

int
hutch_df_words (const char *text, char escape, hutch_df_lookup_fn lookup, void *data, char ***ret,
                hutch_error_t *err)
{
  _cleanup_strv_ char **raw = split_raw (text, escape);
  struct dfvec words = { 0 };
  size_t i;

  for (i = 0; raw[i]; i++)
    {
      char *w;
      if (hutch_df_expand (raw[i], escape, lookup, data, &w, err) < 0)
        {
          dfvec_clear (&words);
          return -1;
        }
      dfvec_push (&words, w);
    }
  *ret = dfvec_steal (&words);
  return 0;
}

/* One pair from the raw KEY (LEN bytes) and VALUE (NULL: none), expanded,
   pushed on KEYS and VALUES (which grow together).  */
static int
push_pair (const char *key, size_t len, const char *value, char escape, hutch_df_lookup_fn lookup,
           void *data, struct dfvec *keys, struct dfvec *values, hutch_error_t *err)
{
  _cleanup_free_ char *k = NULL, *v = NULL;

  if (expand_n (key, len, escape, lookup, data, &k, NULL, err) < 0
      || (value && hutch_df_expand (value, escape, lookup, data, &v, err) < 0))
    return -1;
  if (*k == '\0')
    return hutch_error_set (err, 0, "a name must not be empty (in `%.*s=%s`)", (int)len, key,
                            value ? value : "");
  dfvec_push (keys, HUTCH_STEAL_PTR (k));
  dfvec_push (values, HUTCH_STEAL_PTR (v));
  return 0;
}

/* The old form `KEY value with spaces`: the first run of blanks splits
   TEXT.  */
static int
old_form_pair (const char *text, char escape, hutch_df_lookup_fn lookup, void *data,
               struct dfvec *keys, struct dfvec *values, hutch_error_t *err)
{
  size_t n = 0, blanks;

  while (text[n] && !df_is_space (text[n]))
    n++;
  blanks = n;
  while (df_is_space (text[blanks]))
    blanks++;
  if (text[blanks] == '\0')
    return hutch_error_set (err, 0, "`%.*s` has no value; give NAME=VALUE, or NAME VALUE", (int)n,
                            text);
  return push_pair (text, n, text + blanks, escape, lookup, data, keys, values, err);
}

int
hutch_df_pairs (const char *text, char escape, hutch_df_lookup_fn lookup, void *data,
                bool allow_old, bool allow_bare, char ***ret_keys, char ***ret_values,
                hutch_error_t *err)
{
  _cleanup_strv_ char **raw = split_raw (text, escape);
  struct dfvec keys = { 0 }, values = { 0 };
  size_t i;
  int r = 0;

  while (df_is_space (*text))
    text++;
  if (raw[0] == NULL)
    r = hutch_error_set (err, 0, allow_bare ? "give NAME or NAME=VALUE" : "give NAME=VALUE");
  else if (allow_old && strchr (raw[0], '=') == NULL)
    r = old_form_pair (text, escape, lookup, data, &keys, &values, err);
  else
    for (i = 0; raw[i] && r == 0; i++)
      {
        const char *eq = strchr (raw[i], '=');
        if (eq == NULL && !allow_bare)
          r = hutch_error_set (err, 0, "`%s` is not NAME=VALUE", raw[i]);
        else
          r = push_pair (raw[i], eq ? (size_t)(eq - raw[i]) : strlen (raw[i]), eq ? eq + 1 : NULL,
                         escape, lookup, data, &keys, &values, err);
      }
  if (r < 0)
    {
      dfvec_clear (&keys);
      dfvec_clear (&values);
      return r;
    }
  *ret_keys = dfvec_steal (&keys);
  *ret_values = dfvec_steal (&values);
  return 0;
}
