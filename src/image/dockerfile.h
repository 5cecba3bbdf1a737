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
   NULL; `--NAME=` gives ""): the `--` words before the arguments, up to a
   `--` alone, of any instruction (the builder refuses those it does not
   know).  Quotes and escapes in them are removed, as BuildKit's parser
   does, but variables are not expanded: which flags expand is the
   builder's business, as in BuildKit.  */
struct hutch_df_flag
{
  char *name;
  char *value;
};

/* A heredoc of RUN, COPY or ADD (not in exec form): a word `<<EOF`,
   `<<-EOF`, `<<"EOF"`, `<<'EOF'`, `<< EOF` or `2<<EOF` in the line (the
   word whole: `cat<<EOF` is none), whose body is the lines after the
   instruction up to a line that is the delimiter alone (with `<<-`,
   after leading tabs).  Several in a line: the bodies follow one another
   in the order of the words.  The body's lines are taken as they are: no
   continuation, no comment.  */
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
  unsigned line;               /* where it starts in the file (1-based) */
  unsigned end_line;           /* its last line (continuations, heredocs) */
  char *original;              /* as written, continuations joined with their newline
                                  and escape removed, comment lines inside dropped, its
                                  heredocs' bodies left out: for messages and for
                                  the history's created_by */
  struct hutch_df_flag *flags; /* in order */
  size_t n_flags;
  bool json;                         /* exec form: ARGS are the JSON array's strings */
  char **args;                       /* NULL-terminated, never NULL.
                      
                                        Exec form (RUN, CMD, ENTRYPOINT, SHELL, VOLUME, COPY,
                                        ADD and HEALTHCHECK CMD, when the text is a JSON array):
                                        the array's strings.  Text that is not a JSON array is
                                        shell form (BuildKit's rule), but a JSON array of
                                        anything else than strings is an error.  SHELL takes the
                                        exec form only.
                      
                                        Otherwise one element, the text after the flags, trimmed,
                                        as written (quotes, escapes and variables kept; the
                                        continuations' escapes and newlines removed): for RUN,
                                        CMD and ENTRYPOINT the command line for the shell; for
                                        every other instruction what hutch_df_words (FROM, COPY,
                                        ADD, VOLUME, EXPOSE...), hutch_df_pairs (ENV, LABEL,
                                        ARG) or hutch_df_expand (USER, WORKDIR, STOPSIGNAL)
                                        takes, since expansion needs the builder's variables.
                                        The parser has checked that these split (quotes closed,
                                        ENV pairs well formed, FROM IMAGE [AS NAME], COPY with a
                                        source and a destination...).
                      
                                        RUN with heredocs: args[0] is still the line's text
                                        after the flags, with its `<<EOF` words and without the
                                        bodies, e.g. "<<EOF" or "python3 <<EOF > out".  When it
                                        is one heredoc word alone (hutch_df_heredoc_index of
                                        args[0] is 0), BuildKit runs the body itself: as a file
                                        when it starts with `#!`, else as the shell's command
                                        line.  Otherwise it gives the shell args[0] followed, for
                                        each heredoc, by "\n", its content and its name, so that
                                        the shell reads the heredocs itself.
                      
                                        HEALTHCHECK: the part after CMD (exec or shell form, as
                                        CMD); HEALTHCHECK NONE has no args (args[0] NULL, json
                                        false), which CMD cannot have.
                      
                                        ONBUILD: one element, the trigger's text; TRIGGER holds
                                        it parsed.  */
  struct hutch_df_heredoc *heredocs; /* in the order of their `<<`; an
                                        ONBUILD's are its trigger's */
  size_t n_heredocs;
  struct hutch_df_instr *trigger; /* ONBUILD: the instruction it holds
                                     (never FROM, ONBUILD or MAINTAINER),
                                     checked as any other; same lines */
};

struct hutch_dockerfile
{
  struct hutch_df_instr *v;
  size_t n;
  char escape;  /* `\` or the `# escape=` directive's character */
  char *syntax; /* the `# syntax=` directive, or NULL (accepted, unused) */
  char *check;  /* the `# check=` directive, or NULL */
};

/* Parse TEXT (LEN bytes, no NUL needed after them; NUL bytes in them
   refused; a UTF-8 byte order mark skipped) of the file NAME (for
   messages: "Containerfile").  Errors say "NAME:LINE: WHY" (exit 125): an
   unknown instruction (with the closest known one), a JSON array of
   something else than strings, a heredoc that never ends, a flag without
   a name, an instruction without the arguments it needs (RUN, CMD and
   ENTRYPOINT with nothing at all included; `CMD []` is fine), a quote
   left open, ONBUILD of a forbidden instruction, a repeated or bad
   directive, a file with no instruction.  Directives (`# escape=`,
   `# syntax=`, `# check=`, names in any case) are only read at the top,
   before any other line, even a blank one (BuildKit's rule), and an
   unknown one is a comment.  An empty line inside a continued instruction
   is skipped with a warning (hutch_log), as BuildKit does.  */
int hutch_df_parse (const char *text, size_t len, const char *name, struct hutch_dockerfile *ret,
                    hutch_error_t *err);
void hutch_dockerfile_clear (struct hutch_dockerfile *df);

/* ---- words and variables ------------------------------------------------ */

/* The value of the variable NAME, or NULL when it is not set.  NAME may be
   a positional or special parameter ("1", "@"): return NULL for those.  */
typedef const char *(*hutch_df_lookup_fn) (void *data, const char *name);

/* Expand WORD as BuildKit's shell lexer does for one word: quotes
   (single: literal; double: `\` escapes only `"`, `\`, `$`) removed,
   ESCAPE escapes the next character, and $V, ${V}, ${V:-w}, ${V-w},
   ${V:+w}, ${V+w}, ${V:?msg}, ${V?msg}, ${V#p}, ${V##p}, ${V%p}, ${V%%p},
   ${V/p/r}, ${V//p/r} (patterns with `*`, `?` and `[...]`; in a
   pattern, what is quoted or escaped stands for itself) from LOOKUP;
   an unset variable is empty.  ${V:?msg} of an unset (or empty)
   variable is an error with MSG.  No word splitting: the result is one
   string.  LOOKUP NULL: `$` is an ordinary character (no expansion).
   Nesting (${A:-${B}}) is limited to 16 levels.  */
int hutch_df_expand (const char *word, char escape, hutch_df_lookup_fn lookup, void *data,
                     char **ret, hutch_error_t *err);

/* Split TEXT into words at unquoted blanks and expand each as
   hutch_df_expand does (a quoted empty string is an empty word; the words
   a variable expands to are not split again): BuildKit's parser splits
   the words first, its lexer expands each alone.  (For COPY, ADD, VOLUME
   and FROM, BuildKit splits at every blank, quoted or not, so that `COPY
   "a b" /d` fails there; here it copies `a b`.)  LOOKUP NULL: no
   expansion, only quotes and escapes.  *RET: NULL-terminated.  */
int hutch_df_words (const char *text, char escape, hutch_df_lookup_fn lookup, void *data,
                    char ***ret, hutch_error_t *err);

/* NAME=VALUE pairs of ENV, LABEL (and ARG's NAME[=DEFAULT]) from TEXT:
   each word `K=V` (quotes and expansion as in hutch_df_words; the key
   must not be empty), or the old form `K V...` where the first word has
   no `=` and the rest of the line (expanded) is the value, which ENV and
   LABEL take (ALLOW_OLD) and ARG does not.  With ALLOW_BARE (ARG), a word
   without `=` is a name without a value: *RET_VALUES holds NULL for it.
   *RET_KEYS and *RET_VALUES: NULL-terminated by the keys, the same
   length (free each, then both).  Every pair is expanded with LOOKUP as
   it was before the instruction (`ENV A=1 B=$A` does not see the new A:
   the builder adds the pairs after).  No pair at all is an error.  */
int hutch_df_pairs (const char *text, char escape, hutch_df_lookup_fn lookup, void *data,
                    bool allow_old, bool allow_bare, char ***ret_keys, char ***ret_values,
                    hutch_error_t *err);

/* Whether NAME matches the shell pattern PATTERN (`*`, `?`, `[...]`,
   `\` quoting), as ${V#p} and friends use it.  */
bool hutch_df_pattern_match (const char *pattern, const char *name);

/* When WORD is a heredoc word (`<<EOF`, `<<-"EOF"`, `3<<EOF`..., as the
   line has it or as hutch_df_words without a lookup leaves it), the index
   in INSTR's heredocs of the one it names (the last of that name); else
   -1.  For the builder: which sources of COPY <<EOF DEST are heredocs
   (BuildKit tells them before it expands variables: `<<$X` is the heredoc
   named "$X"), and whether a RUN's args[0] is one heredoc alone.  For
   ONBUILD, ask its trigger.  */
int hutch_df_heredoc_index (const struct hutch_df_instr *instr, const char *word);

#endif
