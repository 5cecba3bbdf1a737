/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_DOCKERFILE_H
#define HUTCH_DOCKERFILE_H

/* The Dockerfile (Containerfile) language as BuildKit's Dockerfile
   frontend reads it: the parser (directives, continuations, comments,
   exec and shell forms, flags, heredocs) and the shell-like words of the
   instructions (quotes, escapes, variable expansion).  No file is read
   and nothing is run here: src/build/ does that.  */

#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>

enum hutch_df_kind
{
  HUTCH_DF_ADD,
  HUTCH_DF_ARG,
  HUTCH_DF_CMD,
  HUTCH_DF_COPY,
  HUTCH_DF_ENTRYPOINT,
  HUTCH_DF_ENV,
  HUTCH_DF_EXPOSE,
  HUTCH_DF_FROM,
  HUTCH_DF_HEALTHCHECK,
  HUTCH_DF_LABEL,
  HUTCH_DF_MAINTAINER,
  HUTCH_DF_ONBUILD,
  HUTCH_DF_RUN,
  HUTCH_DF_SHELL,
  HUTCH_DF_STOPSIGNAL,
  HUTCH_DF_USER,
  HUTCH_DF_VOLUME,
  HUTCH_DF_WORKDIR,
};

/* "FROM", "RUN"...: the canonical upper-case name of KIND.  */
const char *hutch_df_kind_name (enum hutch_df_kind kind);

/* A flag of an instruction: `--NAME=VALUE`, or `--NAME` alone (VALUE
   NULL).  Values are as written (variables not expanded: which flags
   expand is the builder's business, as in BuildKit).  */
struct hutch_df_flag
{
  char *name;
  char *value;
};

/* A heredoc of RUN, COPY or ADD: `<<EOF` ... `EOF`.  */
struct hutch_df_heredoc
{
  char *name;    /* the delimiter word, quotes removed: "EOF" */
  char *content; /* the lines between, each with its newline; with `<<-`
                    leading tabs removed */
  bool expand;   /* the delimiter was not quoted: variables in the content
                    are expanded by the builder (COPY/ADD) or the shell
                    (RUN) */
};

struct hutch_df_instr
{
  enum hutch_df_kind kind;
  unsigned line;      /* where it starts in the file (1-based) */
  unsigned end_line;  /* its last line (continuations, heredocs) */
  char *original;     /* as written, continuations joined with their newline
                         and escape removed, comment lines inside dropped, its
                         heredocs' bodies left out: for messages and for
                         the history's created_by */
  struct hutch_df_flag *flags; /* in order */
  size_t n_flags;
  bool json;   /* exec form: ARGS are the JSON array's strings */
  char **args; /* NULL-terminated.  Exec form: the array.  Shell form of
                  RUN, CMD, ENTRYPOINT, HEALTHCHECK CMD and SHELL-less
                  instructions: one element, the text after the flags
                  (trimmed, escapes of line continuations removed).  For
                  every other instruction, also one element, the raw text
                  after the flags: hutch_df_words splits it, since
                  expansion needs the builder's variables.  */
  struct hutch_df_heredoc *heredocs; /* in the order of their `<<` */
  size_t n_heredocs;
  struct hutch_df_instr *trigger; /* ONBUILD: the instruction it holds
                                     (never FROM, ONBUILD or MAINTAINER) */
};

struct hutch_dockerfile
{
  struct hutch_df_instr *v;
  size_t n;
  char escape;  /* `\` or the `# escape=` directive's character */
  char *syntax; /* the `# syntax=` directive, or NULL (accepted, unused) */
  char *check;  /* the `# check=` directive, or NULL */
};

/* Parse TEXT (LEN bytes; NUL bytes refused) of the file NAME (for
   messages: "Containerfile").  Errors say "NAME:LINE: WHY" (exit 125): an
   unknown instruction, a JSON array that is not one of strings where only
   that can be, a heredoc that never ends, a flag without a name, an
   instruction without the arguments it needs, ONBUILD of a forbidden
   instruction, a file with no instruction.  Directives are only read at
   the top, before any other line (BuildKit's rule), and an unknown one is
   a comment.  */
int hutch_df_parse (const char *text, size_t len, const char *name, struct hutch_dockerfile *ret,
                    hutch_error_t *err);
void hutch_dockerfile_clear (struct hutch_dockerfile *df);

/* ---- words and variables ------------------------------------------------ */

/* The value of the variable NAME, or NULL when it is not set.  */
typedef const char *(*hutch_df_lookup_fn) (void *data, const char *name);

/* Expand WORD as BuildKit's shell lexer does for one word: quotes
   (single: literal; double: `\` escapes only `"`, `\`, `$`) removed,
   ESCAPE escapes the next character, and $V, ${V}, ${V:-w}, ${V-w},
   ${V:+w}, ${V+w}, ${V:?msg}, ${V?msg}, ${V#p}, ${V##p}, ${V%p}, ${V%%p},
   ${V/p/r}, ${V//p/r} (patterns with `*`, `?` and `[...]`) from LOOKUP;
   an unset variable is empty.  ${V:?msg} of an unset (or empty)
   variable is an error with MSG.  No word splitting: the result is one
   string.  */
int hutch_df_expand (const char *word, char escape, hutch_df_lookup_fn lookup, void *data,
                     char **ret, hutch_error_t *err);

/* Split TEXT into words at unquoted blanks and expand each as
   hutch_df_expand does (a quoted empty string is an empty word; the words
   a variable expands to are not split again, as in BuildKit).  LOOKUP NULL:
   no expansion, only quotes and escapes.  *RET: NULL-terminated.  */
int hutch_df_words (const char *text, char escape, hutch_df_lookup_fn lookup, void *data,
                    char ***ret, hutch_error_t *err);

/* NAME=VALUE pairs of ENV, LABEL (and ARG's NAME[=DEFAULT]) from TEXT:
   each word `K=V` (quotes and expansion as in hutch_df_words; the key
   must not be empty), or the old form `K V...` where the first word has
   no `=` and the rest of the line (expanded) is the value, which ENV and
   LABEL take (ALLOW_OLD) and ARG does not.  With ALLOW_BARE (ARG), a word
   without `=` is a name without a value: *RET_VALUES holds NULL for it.
   *RET_KEYS and *RET_VALUES: NULL-terminated by the keys, the same
   length.  */
int hutch_df_pairs (const char *text, char escape, hutch_df_lookup_fn lookup, void *data,
                    bool allow_old, bool allow_bare, char ***ret_keys, char ***ret_values,
                    hutch_error_t *err);

/* Whether NAME matches the shell pattern PATTERN (`*`, `?`, `[...]`,
   `\` quoting), as ${V#p} and friends use it.  */
bool hutch_df_pattern_match (const char *pattern, const char *name);

#endif
