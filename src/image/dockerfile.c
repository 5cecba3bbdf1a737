/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* The Dockerfile (Containerfile) parser, after BuildKit's Dockerfile
   frontend (its parser/ reads lines, directives, continuations and
   heredocs; its instructions/ checks each instruction's arguments), so
   that a file that builds with docker or podman means the same here.
   Errors carry the file's name and the line, and say what to write
   instead.  One pass over the text, each byte looked at a bounded number
   of times: no string is rebuilt per line.  */

#include "image/dockerfile.h"
#include "image/dockerfile-private.h"
#include "base/log.h"
#include "base/util.h"

#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const kind_names[] = {
  [HUTCH_DF_ADD] = "ADD",
  [HUTCH_DF_ARG] = "ARG",
  [HUTCH_DF_CMD] = "CMD",
  [HUTCH_DF_COPY] = "COPY",
  [HUTCH_DF_ENTRYPOINT] = "ENTRYPOINT",
  [HUTCH_DF_ENV] = "ENV",
  [HUTCH_DF_EXPOSE] = "EXPOSE",
  [HUTCH_DF_FROM] = "FROM",
  [HUTCH_DF_HEALTHCHECK] = "HEALTHCHECK",
  [HUTCH_DF_LABEL] = "LABEL",
  [HUTCH_DF_MAINTAINER] = "MAINTAINER",
  [HUTCH_DF_ONBUILD] = "ONBUILD",
  [HUTCH_DF_RUN] = "RUN",
  [HUTCH_DF_SHELL] = "SHELL",
  [HUTCH_DF_STOPSIGNAL] = "STOPSIGNAL",
  [HUTCH_DF_USER] = "USER",
  [HUTCH_DF_VOLUME] = "VOLUME",
  [HUTCH_DF_WORKDIR] = "WORKDIR",
};
#define N_KINDS (sizeof kind_names / sizeof kind_names[0])

const char *
hutch_df_kind_name (enum hutch_df_kind kind)
{
  return (size_t)kind < N_KINDS ? kind_names[kind] : "?";
}

struct parser
{
  const char *name; /* the file, for messages */
  const char *p, *end;
  unsigned line; /* lines read so far */
  char escape;
  bool directives_done; /* a line that is no directive was seen */
  bool seen_escape, seen_syntax, seen_check;
  struct hutch_dockerfile *df;
  hutch_error_t *err;
};

/* "NAME:LINE: WHY".  */
static int __attribute__ ((format (printf, 3, 4)))
parse_error (struct parser *ps, unsigned line, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  hutch_error_setv (ps->err, 0, fmt, ap);
  va_end (ap);
  return hutch_error_prefix (ps->err, "%s:%u", ps->name, line);
}

/* ---- lines ---------------------------------------------------------------- */

/* The next line: *RET_LINE, its length *RET_FULL with the newline and
   *RET_LEN without the line ending (all trailing CRs and LFs, as BuildKit
   trims).  */
static bool
next_line (struct parser *ps, const char **ret_line, size_t *ret_full, size_t *ret_len)
{
  const char *line = ps->p, *nl;
  size_t full, len;

  if (line >= ps->end)
    return false;
  nl = memchr (line, '\n', (size_t)(ps->end - line));
  full = nl ? (size_t)(nl - line) + 1 : (size_t)(ps->end - line);
  for (len = full; len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'); len--)
    ;
  ps->p += full;
  ps->line++;
  *ret_line = line;
  *ret_full = full;
  *ret_len = len;
  return true;
}

/* Whether the line S (N bytes, not NUL-terminated) is only blanks.  */
static bool
is_blank (const char *s, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (!df_is_space (s[i]))
      return false;
  return true;
}

static bool
is_comment (const char *s, size_t n)
{
  size_t i = 0;

  while (i < n && df_is_space (s[i]))
    i++;
  return i < n && s[i] == '#';
}

/* Whether the line S (*LEN bytes) goes on at the next: it ends with the
   escape character, blanks after it allowed, and that one is not itself
   escaped (or is the line's only character).  The escape and the blanks
   are then cut from *LEN; what was before them stays.  */
static bool
continues (const char *s, size_t *len, char escape)
{
  size_t n = *len;

  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    n--;
  if (n == 0 || s[n - 1] != escape || (n >= 2 && s[n - 2] == escape))
    return false;
  *len = n - 1;
  return true;
}

/* ---- directives ----------------------------------------------------------- */

static int
set_directive (struct parser *ps, const char *key, const char *value, size_t vlen)
{
  bool *seen = strcasecmp (key, "escape") == 0   ? &ps->seen_escape
               : strcasecmp (key, "syntax") == 0 ? &ps->seen_syntax
                                                 : &ps->seen_check;

  if (*seen)
    return parse_error (ps, ps->line, "a second `# %s=` directive; give it once, at the top", key);
  *seen = true;
  if (seen == &ps->seen_escape)
    {
      if (vlen != 1 || (value[0] != '\\' && value[0] != '`'))
        return parse_error (ps, ps->line,
                            "`# escape=%.*s`: the escape character is \\ (the default) or `",
                            (int)vlen, value);
      ps->escape = value[0];
      ps->df->escape = value[0];
    }
  else if (seen == &ps->seen_syntax)
    ps->df->syntax = hutch_xstrndup (value, vlen);
  else
    ps->df->check = hutch_xstrndup (value, vlen);
  return 0;
}

/* A parser directive, `# NAME=VALUE` with NAME escape, syntax or check (in
   any case), in the line S (N bytes, leading blanks removed): 1 when it is
   one, 0 when not.  Directives are only looked for before the first line
   that is none (BuildKit's rule: even a blank line or a comment ends
   them), and an unknown NAME is a comment that ends them too.  */
static int
directive (struct parser *ps, const char *s, size_t n)
{
  size_t i = 1, k, v, e;
  char key[16];

  if (ps->directives_done)
    return 0;
  ps->directives_done = true;
  if (n == 0 || s[0] != '#')
    return 0;
  while (i < n && df_is_space (s[i]))
    i++;
  if (i >= n || !isalpha ((unsigned char)s[i]))
    return 0;
  for (k = i; k < n && isalnum ((unsigned char)s[k]); k++)
    ;
  for (v = k; v < n && df_is_space (s[v]); v++)
    ;
  if (v >= n || s[v] != '=')
    return 0;
  for (v++; v < n && df_is_space (s[v]); v++)
    ;
  for (e = n; e > v && df_is_space (s[e - 1]); e--)
    ;
  if (e == v || k - i >= sizeof key)
    return 0;
  memcpy (key, s + i, k - i);
  key[k - i] = '\0';
  if (strcasecmp (key, "escape") != 0 && strcasecmp (key, "syntax") != 0
      && strcasecmp (key, "check") != 0)
    return 0;
  for (k = 0; key[k]; k++)
    key[k] = (char)tolower ((unsigned char)key[k]);
  if (set_directive (ps, key, s + v, e - v) < 0)
    return -1;
  ps->directives_done = false;
  return 1;
}

/* ---- the instruction's words ---------------------------------------------- */

static void
instr_clear (struct hutch_df_instr *in)
{
  size_t i;

  free (in->original);
  for (i = 0; i < in->n_flags; i++)
    {
      free (in->flags[i].name);
      free (in->flags[i].value);
    }
  free (in->flags);
  hutch_strv_free (in->args);
  for (i = 0; i < in->n_heredocs; i++)
    {
      free (in->heredocs[i].name);
      free (in->heredocs[i].content);
    }
  free (in->heredocs);
  if (in->trigger)
    {
      instr_clear (in->trigger);
      free (in->trigger);
    }
  memset (in, 0, sizeof *in);
}

static void
add_flag (struct hutch_df_instr *in, const char *word, size_t len)
{
  const char *eq = memchr (word, '=', len);

  in->flags = hutch_xrealloc (in->flags, (in->n_flags + 1) * sizeof *in->flags);
  in->flags[in->n_flags].name = hutch_xstrndup (word + 2, (eq ? (size_t)(eq - word) : len) - 2);
  in->flags[in->n_flags].value = eq ? hutch_xstrndup (eq + 1, (size_t)(word + len - eq - 1)) : NULL;
  in->n_flags++;
}

/* The flags at the start of TEXT (`--NAME[=VALUE]` words, quotes and
   escapes in them taken as BuildKit's extractBuilderFlags takes them; `--`
   alone ends them) into IN; *RET_REST: where the arguments start.  */
static int
extract_flags (struct parser *ps, unsigned line, const char *text, struct hutch_df_instr *in,
               const char **ret_rest)
{
  const char *p = text;

  for (;;)
    {
      struct hutch_buf w = { 0 };
      char quote = 0;

      while (df_is_space (*p))
        p++;
      if (p[0] != '-' || p[1] != '-')
        break;
      for (; *p && (quote || !df_is_space (*p)); p++)
        {
          if (quote == 0 && (*p == '\'' || *p == '"'))
            quote = *p;
          else if (quote && *p == quote)
            quote = 0;
          else if (*p == ps->escape && p[1] == '\0')
            continue;
          else
            hutch_buf_addc (&w, *p == ps->escape ? *++p : *p);
        }
      if (w.len == 2)
        {
          /* `--` alone: the flags end there.  */
          free (w.s);
          break;
        }
      if (w.s[2] == '=')
        {
          int r = parse_error (ps, line, "the flag `%s` has no name; write --NAME=VALUE", w.s);
          free (w.s);
          return r;
        }
      add_flag (in, w.s, w.len);
      free (w.s);
    }
  *ret_rest = p;
  return 0;
}

/* The instruction's name at the start of LINE (blanks before it skipped)
   and *RET_REST, the text after it and the blanks that follow.  */
static char *
split_command (const char *line, const char **ret_rest)
{
  const char *p = line, *start;

  while (df_is_space (*p))
    p++;
  start = p;
  while (*p && !df_is_space (*p))
    p++;
  *ret_rest = p;
  while (df_is_space (**ret_rest))
    (*ret_rest)++;
  return hutch_xstrndup (start, (size_t)(p - start));
}

static size_t
trimmed_len (const char *s)
{
  size_t n = strlen (s);

  while (n > 0 && df_is_space (s[n - 1]))
    n--;
  return n;
}

/* The edit distance of A and B (short words: the instruction names), for a
   suggestion.  */
static size_t
distance (const char *a, const char *b)
{
  size_t la = strlen (a), lb = strlen (b), i, j, row[32];

  if (lb >= sizeof row / sizeof row[0])
    return (size_t)-1;
  for (j = 0; j <= lb; j++)
    row[j] = j;
  for (i = 1; i <= la; i++)
    {
      size_t diag = row[0];
      row[0] = i;
      for (j = 1; j <= lb; j++)
        {
          size_t up = row[j];
          size_t sub
              = diag + (tolower ((unsigned char)a[i - 1]) != tolower ((unsigned char)b[j - 1]));
          size_t best = up + 1 < row[j - 1] + 1 ? up + 1 : row[j - 1] + 1;
          row[j] = sub < best ? sub : best;
          diag = up;
        }
    }
  return row[lb];
}

static int
unknown_instruction (struct parser *ps, unsigned line, const char *cmd)
{
  size_t i, best = 3, pick = N_KINDS;
  bool lower = true;

  for (i = 0; cmd[i]; i++)
    if (isupper ((unsigned char)cmd[i]))
      lower = false;
  if (strlen (cmd) < 24)
    for (i = 0; i < N_KINDS; i++)
      {
        size_t d = distance (cmd, kind_names[i]);
        if (d < best)
          best = d, pick = i;
      }
  if (pick < N_KINDS)
    {
      _cleanup_free_ char *s = hutch_xstrdup (kind_names[pick]);
      for (i = 0; lower && s[i]; i++)
        s[i] = (char)tolower ((unsigned char)s[i]);
      return parse_error (ps, line, "unknown instruction `%.40s`; did you mean `%s`?", cmd, s);
    }
  return parse_error (ps, line,
                      "unknown instruction `%.40s`; the instructions are ADD, ARG, CMD, COPY, "
                      "ENTRYPOINT, ENV, EXPOSE, FROM, HEALTHCHECK, LABEL, MAINTAINER, ONBUILD, "
                      "RUN, SHELL, STOPSIGNAL, USER, VOLUME and WORKDIR",
                      cmd);
}

static bool
kind_from_name (const char *cmd, enum hutch_df_kind *ret)
{
  size_t i;

  for (i = 0; i < N_KINDS; i++)
    if (strcasecmp (cmd, kind_names[i]) == 0)
      {
        *ret = (enum hutch_df_kind)i;
        return true;
      }
  return false;
}

/* ---- exec form ------------------------------------------------------------ */

/* The exec form: TEXT as a JSON array of strings into IN's args (1), or 0
   when TEXT is no JSON array, which makes it shell form, as BuildKit has
   it.  A JSON array of something else than strings is an error, as in
   BuildKit: it is surely meant as exec form.  */
static int
exec_form (struct parser *ps, struct hutch_df_instr *in, const char *text)
{
  json_t *arr, *v;
  size_t i;

  if (text[0] != '[')
    return 0;
  arr = json_loads (text, JSON_ALLOW_NUL, NULL);
  if (!json_is_array (arr))
    {
      json_decref (arr);
      return 0;
    }
  in->args = hutch_xmalloc0 ((json_array_size (arr) + 1) * sizeof (char *));
  json_array_foreach (arr, i, v)
  {
    if (!json_is_string (v) || strlen (json_string_value (v)) != json_string_length (v))
      {
        json_decref (arr);
        return parse_error (ps, in->line,
                            "%s: the JSON (exec) form is an array of strings only, as [\"%s\", "
                            "\"ARG\"]; quote every element (a NUL, \\u0000, cannot be in one)",
                            kind_names[in->kind], in->kind == HUTCH_DF_SHELL ? "/bin/sh" : "CMD");
      }
    in->args[i] = hutch_xstrdup (json_string_value (v));
  }
  json_decref (arr);
  in->json = true;
  return 1;
}

static void
shell_form (struct hutch_df_instr *in, const char *text)
{
  in->args = hutch_xmalloc0 (2 * sizeof (char *));
  in->args[0] = hutch_xstrdup (text);
}

/* TEXT in exec form, or else shell form.  */
static int
maybe_exec_form (struct parser *ps, struct hutch_df_instr *in, const char *text)
{
  int r = exec_form (ps, in, text);

  if (r == 0)
    shell_form (in, text);
  return r < 0 ? r : 0;
}

/* ---- heredocs ------------------------------------------------------------- */

/* Whether WORD is a heredoc word, DIGITS<<[-]BLANKS DELIMITER (BuildKit's
   rule: the word whole, and no `<` in the delimiter); then *RET_NAME is
   the delimiter unquoted, *RET_CHOMP whether `<<-`, *RET_EXPAND whether
   it had no quotes.  */
static bool
heredoc_word (const char *word, char **ret_name, bool *ret_chomp, bool *ret_expand)
{
  const char *p = word;
  bool chomp = false, quoted;
  char *name;

  while (*p >= '0' && *p <= '9')
    p++;
  if (p[0] != '<' || p[1] != '<')
    return false;
  p += 2;
  if (*p == '-')
    chomp = true, p++;
  while (*p && df_is_space (*p) && *p != '\v')
    p++;
  if (*p == '\0' || strchr (p, '<'))
    return false;
  if (hutch_df_unquote (p, &name, &quoted) < 0)
    return false;
  if (*name == '\0')
    {
      free (name);
      return false;
    }
  *ret_name = name;
  *ret_chomp = chomp;
  *ret_expand = !quoted;
  return true;
}

int
hutch_df_heredoc_index (const struct hutch_df_instr *instr, const char *word)
{
  _cleanup_free_ char *name = NULL;
  bool chomp, expand;
  size_t i;
  int found = -1;

  if (!heredoc_word (word, &name, &chomp, &expand))
    return -1;
  for (i = 0; i < instr->n_heredocs; i++)
    if (strcmp (instr->heredocs[i].name, name) == 0)
      found = (int)i;
  return found;
}

/* The words of LINE as BuildKit looks for heredocs in it: split at blanks,
   quotes kept and holding blanks, `\` keeping the next character, and the
   blanks after `<<` part of the word (`<< EOF` is a heredoc).  NULL when a
   quote is not closed: then there is no heredoc, as in BuildKit.  */
static char **
heredoc_line_words (const char *line)
{
  struct dfvec words = { 0 };
  struct hutch_buf w = { 0 };
  const char *p = line;

  for (;;)
    {
      if (*p == '\0' || df_is_space (*p))
        {
          if (w.len)
            dfvec_push (&words, hutch_buf_steal (&w));
          if (*p == '\0')
            break;
          p++;
        }
      else if (*p == '\'' || *p == '"')
        {
          /* In double quotes, `\` escapes the next character.  */
          const char *close = p + 1;
          while (*close && *close != *p)
            close += *p == '"' && close[0] == '\\' && close[1] ? 2 : 1;
          if (*close == '\0')
            {
              free (w.s);
              dfvec_clear (&words);
              return NULL;
            }
          hutch_buf_add (&w, p, (size_t)(close - p) + 1);
          p = close + 1;
        }
      else if (*p == '\\')
        {
          hutch_buf_add (&w, p, p[1] ? 2 : 1);
          p += p[1] ? 2 : 1;
        }
      else if (p[0] == '<' && p[1] == '<')
        {
          hutch_buf_add (&w, "<<", 2);
          for (p += 2; *p == ' ' || *p == '\t' || *p == '\r'; p++)
            hutch_buf_addc (&w, *p);
        }
      else
        hutch_buf_addc (&w, *p++);
    }
  return dfvec_steal (&words);
}

/* Read the body of heredoc H, the lines after the instruction up to its
   delimiter; START: the instruction's line, for the error.  */
static int
read_heredoc (struct parser *ps, unsigned start, struct hutch_df_heredoc *h, bool chomp)
{
  struct hutch_buf body = { 0 };
  const char *l;
  size_t full, len, nlen = strlen (h->name);

  while (next_line (ps, &l, &full, &len))
    {
      size_t tabs = 0;
      if (chomp)
        while (tabs < len && l[tabs] == '\t')
          tabs++;
      if (len - tabs == nlen && memcmp (l + tabs, h->name, nlen) == 0)
        {
          h->content = hutch_buf_steal (&body);
          return 0;
        }
      hutch_buf_add (&body, l + tabs, full - tabs);
    }
  free (body.s);
  return parse_error (ps, start,
                      "the heredoc `<<%s` never ends; end its text with a line `%s` alone", h->name,
                      h->name);
}

/* The heredocs of the instruction IN, its whole text LINE: their bodies
   follow it, in the order of their `<<`.  */
static int
read_heredocs (struct parser *ps, struct hutch_df_instr *in, const char *line)
{
  struct hutch_df_instr *target = in->trigger ? in->trigger : in;
  _cleanup_strv_ char **words = NULL;
  size_t i;

  if (target->json
      || (target->kind != HUTCH_DF_RUN && target->kind != HUTCH_DF_COPY
          && target->kind != HUTCH_DF_ADD)
      || strstr (line, "<<") == NULL)
    return 0;
  words = heredoc_line_words (line);
  for (i = 0; words && words[i]; i++)
    {
      struct hutch_df_heredoc h = { 0 };
      bool chomp;
      if (!heredoc_word (words[i], &h.name, &chomp, &h.expand))
        continue;
      target->heredocs
          = hutch_xrealloc (target->heredocs, (target->n_heredocs + 1) * sizeof *target->heredocs);
      target->heredocs[target->n_heredocs++] = h;
      if (read_heredoc (ps, in->line, &target->heredocs[target->n_heredocs - 1], chomp) < 0)
        return -1;
    }
  return 0;
}

/* ---- the instructions ----------------------------------------------------- */

static int parse_instr (struct parser *ps, const char *line, unsigned lineno,
                        struct hutch_df_instr *in);

/* The words of TEXT without expansion, for counting them; the error, if
   any, prefixed with the place.  */
static int
plain_words (struct parser *ps, const struct hutch_df_instr *in, const char *text, char ***ret)
{
  if (hutch_df_words (text, ps->escape, NULL, NULL, ret, ps->err) < 0)
    return hutch_error_prefix (ps->err, "%s:%u: %s", ps->name, in->line, kind_names[in->kind]);
  return 0;
}

static int
check_from (struct parser *ps, struct hutch_df_instr *in, const char *text)
{
  _cleanup_strv_ char **w = NULL;
  const char *c;
  size_t n;

  if (plain_words (ps, in, text, &w) < 0)
    return -1;
  n = hutch_strv_len (w);
  if (n == 0)
    return parse_error (ps, in->line, "FROM needs an image: FROM IMAGE [AS NAME]");
  if (n == 2 || n > 3 || (n == 3 && strcasecmp (w[1], "AS") != 0))
    return parse_error (ps, in->line, "FROM takes IMAGE or IMAGE AS NAME, not `%s`", text);
  if (n == 3)
    {
      bool ok = isalpha ((unsigned char)w[2][0]);
      for (c = w[2]; *c && ok; c++)
        ok = isalnum ((unsigned char)*c) || strchr ("-_.", *c);
      if (!ok)
        return parse_error (ps, in->line,
                            "`%s` is no stage name; a name starts with a letter, then letters, "
                            "digits, `-`, `_` and `.`",
                            w[2]);
    }
  return 0;
}

static int
check_pairs (struct parser *ps, struct hutch_df_instr *in, const char *text)
{
  bool arg = in->kind == HUTCH_DF_ARG;
  char **keys = NULL, **values = NULL;
  size_t i;

  if (hutch_df_pairs (text, ps->escape, NULL, NULL, !arg, arg, &keys, &values, ps->err) < 0)
    return hutch_error_prefix (ps->err, "%s:%u: %s", ps->name, in->line, kind_names[in->kind]);
  for (i = 0; keys[i]; i++)
    free (values[i]);
  free (values);
  hutch_strv_free (keys);
  return 0;
}

/* COPY and ADD: sources and a destination.  */
static int
parse_copy (struct parser *ps, struct hutch_df_instr *in, const char *text)
{
  _cleanup_strv_ char **w = NULL;
  _cleanup_free_ char *name = NULL;
  char *const *v;
  bool chomp, expand;
  size_t n;
  int r = exec_form (ps, in, text);

  if (r < 0)
    return r;
  if (r == 0)
    {
      if (plain_words (ps, in, text, &w) < 0)
        return -1;
      shell_form (in, text);
    }
  v = r ? in->args : w;
  n = hutch_strv_len (v);
  if (n < 2)
    return parse_error (ps, in->line, "%s needs a source and a destination: %s SRC... DEST",
                        kind_names[in->kind], kind_names[in->kind]);
  if (heredoc_word (v[n - 1], &name, &chomp, &expand))
    return parse_error (ps, in->line, "%s: a heredoc cannot be the destination; put a path last",
                        kind_names[in->kind]);
  return 0;
}

/* RUN, CMD and ENTRYPOINT: exec or shell form; `CMD []` and
   `ENTRYPOINT []` say "none", but nothing at all is a mistake.  */
static int
parse_command (struct parser *ps, struct hutch_df_instr *in, const char *text)
{
  if (maybe_exec_form (ps, in, text) < 0)
    return -1;
  if ((!in->json && *text == '\0') || (in->kind == HUTCH_DF_RUN && in->args[0] == NULL))
    return parse_error (ps, in->line,
                        "%s needs a command: %s [\"EXECUTABLE\", \"ARG\"...] or %s %s",
                        kind_names[in->kind], kind_names[in->kind], kind_names[in->kind],
                        in->kind == HUTCH_DF_RUN ? "COMMAND LINE" : "COMMAND LINE, or [] for none");
  return 0;
}

/* HEALTHCHECK NONE (no args), or HEALTHCHECK [flags] CMD COMMAND (its
   args as CMD's).  */
static int
parse_healthcheck (struct parser *ps, struct hutch_df_instr *in, const char *text)
{
  size_t n = 0;
  const char *rest;

  while (text[n] && !df_is_space (text[n]))
    n++;
  for (rest = text + n; df_is_space (*rest); rest++)
    ;
  if (n == 0)
    return parse_error (ps, in->line, "HEALTHCHECK needs NONE, or [OPTIONS] CMD COMMAND");
  if (n == 4 && strncasecmp (text, "NONE", 4) == 0)
    {
      if (*rest)
        return parse_error (ps, in->line, "HEALTHCHECK NONE takes nothing after it");
      in->args = hutch_xmalloc0 (sizeof (char *));
      return 0;
    }
  if (n != 3 || strncasecmp (text, "CMD", 3) != 0)
    return parse_error (
        ps, in->line, "HEALTHCHECK takes NONE, or [OPTIONS] CMD COMMAND, not `%.*s`", (int)n, text);
  if (maybe_exec_form (ps, in, rest) < 0)
    return -1;
  if (in->args[0] == NULL || (!in->json && *rest == '\0'))
    return parse_error (ps, in->line,
                        "HEALTHCHECK CMD needs a command: HEALTHCHECK CMD "
                        "[\"EXECUTABLE\", \"ARG\"...] or HEALTHCHECK CMD COMMAND LINE");
  return 0;
}

/* ONBUILD INSTRUCTION: the trigger, parsed as its own instruction.  */
static int
parse_onbuild (struct parser *ps, struct hutch_df_instr *in, const char *text)
{
  _cleanup_free_ char *word = NULL;
  enum hutch_df_kind kind;
  const char *rest;

  shell_form (in, text);
  word = split_command (text, &rest);
  if (*word == '\0')
    return parse_error (ps, in->line, "ONBUILD needs an instruction: ONBUILD RUN ...");
  if (kind_from_name (word, &kind)
      && (kind == HUTCH_DF_ONBUILD || kind == HUTCH_DF_FROM || kind == HUTCH_DF_MAINTAINER))
    return parse_error (ps, in->line, "ONBUILD %s is not allowed: a trigger cannot be %s",
                        kind_names[kind],
                        kind == HUTCH_DF_ONBUILD ? "another ONBUILD" : kind_names[kind]);
  in->trigger = hutch_xmalloc0 (sizeof *in->trigger);
  return parse_instr (ps, text, in->line, in->trigger);
}

/* An instruction that needs a non-empty TEXT, kept as one argument.  */
static int
parse_text (struct parser *ps, struct hutch_df_instr *in, const char *text, const char *usage)
{
  if (*text == '\0')
    return parse_error (ps, in->line, "%s needs an argument: %s %s", kind_names[in->kind],
                        kind_names[in->kind], usage);
  shell_form (in, text);
  return 0;
}

static int
parse_volume (struct parser *ps, struct hutch_df_instr *in, const char *text)
{
  size_t i;

  if (maybe_exec_form (ps, in, text) < 0)
    return -1;
  if (in->args[0] == NULL || (!in->json && *text == '\0'))
    return parse_error (ps, in->line,
                        "VOLUME needs a path: VOLUME PATH... or VOLUME [\"PATH\"...]");
  for (i = 0; in->json && in->args[i]; i++)
    if (in->args[i][strspn (in->args[i], " \t\n\v\f\r")] == '\0')
      return parse_error (ps, in->line, "VOLUME: a path must not be empty");
  return 0;
}

/* The arguments of IN by its kind, TEXT: what follows the flags.  */
static int
parse_args (struct parser *ps, struct hutch_df_instr *in, const char *text)
{
  switch (in->kind)
    {
    case HUTCH_DF_ADD:
    case HUTCH_DF_COPY:
      return parse_copy (ps, in, text);
    case HUTCH_DF_ARG:
    case HUTCH_DF_ENV:
    case HUTCH_DF_LABEL:
      if (parse_text (ps, in, text,
                      in->kind == HUTCH_DF_ARG ? "NAME[=DEFAULT]..." : "NAME=VALUE...")
          < 0)
        return -1;
      return check_pairs (ps, in, text);
    case HUTCH_DF_CMD:
    case HUTCH_DF_ENTRYPOINT:
    case HUTCH_DF_RUN:
      return parse_command (ps, in, text);
    case HUTCH_DF_EXPOSE:
      return parse_text (ps, in, text, "PORT[/PROTOCOL]...");
    case HUTCH_DF_FROM:
      shell_form (in, text);
      return check_from (ps, in, text);
    case HUTCH_DF_HEALTHCHECK:
      return parse_healthcheck (ps, in, text);
    case HUTCH_DF_MAINTAINER:
      return parse_text (ps, in, text, "NAME");
    case HUTCH_DF_ONBUILD:
      return parse_onbuild (ps, in, text);
    case HUTCH_DF_SHELL:
      if (exec_form (ps, in, text) < 0)
        return -1;
      if (!in->json || in->args[0] == NULL)
        return parse_error (ps, in->line,
                            "SHELL takes a JSON array of the shell and its options, as SHELL "
                            "[\"/bin/sh\", \"-c\"]%s%s%s",
                            *text ? ", not `" : "", text, *text ? "`" : "");
      return 0;
    case HUTCH_DF_STOPSIGNAL:
      return parse_text (ps, in, text, "SIGNAL");
    case HUTCH_DF_USER:
      return parse_text (ps, in, text, "USER[:GROUP]");
    case HUTCH_DF_VOLUME:
      return parse_volume (ps, in, text);
    case HUTCH_DF_WORKDIR:
      return parse_text (ps, in, text, "DIRECTORY");
    }
  return 0;
}

/* One instruction, LINE (its lines joined), that starts at line LINENO,
   into IN.  */
static int
parse_instr (struct parser *ps, const char *line, unsigned lineno, struct hutch_df_instr *in)
{
  _cleanup_free_ char *cmd = NULL, *args = NULL;
  const char *rest, *start = line;

  while (df_is_space (*start))
    start++;
  in->line = in->end_line = lineno;
  in->original = hutch_xstrndup (start, trimmed_len (start));
  cmd = split_command (line, &rest);
  if (!kind_from_name (cmd, &in->kind))
    return unknown_instruction (ps, lineno, cmd);
  if (extract_flags (ps, lineno, rest, in, &rest) < 0)
    return -1;
  while (df_is_space (*rest))
    rest++;
  args = hutch_xstrndup (rest, trimmed_len (rest));
  return parse_args (ps, in, args);
}

/* ---- the file ------------------------------------------------------------- */

/* The text of the instruction that starts with the line FIRST (LEN bytes,
   leading blanks removed, its continuation already cut): the lines that
   continue it joined, comment lines and blank lines among them left out.  */
static void
join_continuation (struct parser *ps, const char *first, size_t len, struct hutch_buf *out)
{
  unsigned empty_at = 0;
  const char *l;
  size_t full, n;

  hutch_buf_add (out, first, len);
  while (next_line (ps, &l, &full, &n))
    {
      bool more;
      if (is_comment (l, n))
        continue;
      if (is_blank (l, n))
        {
          empty_at = ps->line;
          continue;
        }
      more = continues (l, &n, ps->escape);
      hutch_buf_add (out, l, n);
      if (!more)
        break;
    }
  if (empty_at)
    hutch_log (HUTCH_LOG_WARNING,
               "%s:%u: an empty line inside a continued instruction; remove it (BuildKit "
               "will refuse it one day)",
               ps->name, empty_at);
}

static void
df_push (struct hutch_dockerfile *df, struct hutch_df_instr *in, size_t *cap)
{
  if (df->n == *cap)
    {
      *cap = *cap ? *cap * 2 : 16;
      df->v = hutch_xrealloc (df->v, *cap * sizeof *df->v);
    }
  df->v[df->n++] = *in;
  memset (in, 0, sizeof *in);
}

/* The next instruction into IN (kind left 0 and *RET_GOT false at the end
   of the file).  */
static int
next_instruction (struct parser *ps, struct hutch_df_instr *in, bool *ret_got)
{
  const char *l;
  size_t full, n;

  *ret_got = false;
  while (next_line (ps, &l, &full, &n))
    {
      struct hutch_buf text = { 0 };
      unsigned start = ps->line;
      int r;

      while (n > 0 && df_is_space (*l))
        l++, n--;
      if (directive (ps, l, n) < 0)
        return -1;
      if (is_comment (l, n))
        continue;
      if (!continues (l, &n, ps->escape))
        hutch_buf_add (&text, l, n);
      else
        join_continuation (ps, l, n, &text);
      if (is_blank (text.s, text.len))
        {
          free (text.s);
          continue;
        }
      r = parse_instr (ps, text.s, start, in);
      if (r == 0)
        r = read_heredocs (ps, in, text.s);
      free (text.s);
      in->end_line = ps->line;
      if (in->trigger)
        in->trigger->end_line = ps->line;
      *ret_got = r == 0;
      return r;
    }
  return 0;
}

int
hutch_df_parse (const char *text, size_t len, const char *name, struct hutch_dockerfile *ret,
                hutch_error_t *err)
{
  struct hutch_dockerfile df = { .escape = '\\' };
  struct parser ps
      = { .name = name, .p = text, .end = text + len, .escape = '\\', .df = &df, .err = err };
  struct hutch_df_instr in = { 0 };
  const char *nul = memchr (text, '\0', len);
  size_t cap = 0;
  bool got;

  if (nul)
    {
      const char *c;
      unsigned line = 1;
      for (c = text; c < nul; c++)
        line += *c == '\n';
      return parse_error (&ps, line,
                          "a NUL byte; a Containerfile is text (was a binary file "
                          "given with -f?)");
    }
  if (len >= 3 && memcmp (text, "\xef\xbb\xbf", 3) == 0)
    ps.p += 3;
  for (;;)
    {
      if (next_instruction (&ps, &in, &got) < 0)
        {
          instr_clear (&in);
          hutch_dockerfile_clear (&df);
          return -1;
        }
      if (!got)
        break;
      df_push (&df, &in, &cap);
    }
  if (df.n == 0)
    {
      hutch_dockerfile_clear (&df);
      return parse_error (&ps, ps.line ? ps.line : 1,
                          "the file has no instruction; a Containerfile starts with FROM IMAGE");
    }
  *ret = df;
  return 0;
}

void
hutch_dockerfile_clear (struct hutch_dockerfile *df)
{
  size_t i;

  for (i = 0; i < df->n; i++)
    instr_clear (&df->v[i]);
  free (df->v);
  free (df->syntax);
  free (df->check);
  memset (df, 0, sizeof *df);
  df->escape = '\\';
}
