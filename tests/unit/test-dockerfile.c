/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* The Containerfile parser and its words (image/dockerfile.c, dfwords.c):
   tables of inputs and what BuildKit makes of them.  A parse is compared
   as a dump, one instruction after another:

     LINE-END KIND --flag=value [exec|form] {shell form} <<NAME=body (TRIGGER)

   a heredoc not expanded written <<'NAME, newlines in bodies as \n.  An
   expected value starting with `!` is an error that must contain the
   rest.  */

#include "tap.h"
#include "image/dockerfile.h"
#include "base/log.h"
#include "base/util.h"

#include <stdlib.h>
#include <time.h>

struct dfbuf_t
{
  char *s;
  size_t len, cap;
};

static void
put (struct dfbuf_t *b, const char *s)
{
  size_t n = strlen (s);
  if (b->len + n + 1 > b->cap)
    {
      b->cap = (b->len + n + 1) * 2;
      b->s = hutch_xrealloc (b->s, b->cap);
    }
  memcpy (b->s + b->len, s, n + 1);
  b->len += n;
}

static void
put_visible (struct dfbuf_t *b, const char *s)
{
  for (; *s; s++)
    {
      char c[2] = { *s, 0 };
      put (b, *s == '\n' ? "\\n" : *s == '\t' ? "\\t" : *s == '\r' ? "\\r" : c);
    }
}

static void
dump_instr (struct dfbuf_t *b, const struct hutch_df_instr *in)
{
  char num[32];
  size_t i;

  snprintf (num, sizeof num, "%u-%u ", in->line, in->end_line);
  put (b, num);
  put (b, hutch_df_kind_name (in->kind));
  for (i = 0; i < in->n_flags; i++)
    {
      put (b, " --");
      put (b, in->flags[i].name);
      if (in->flags[i].value)
        {
          put (b, "=");
          put (b, in->flags[i].value);
        }
    }
  if (in->json)
    {
      put (b, " [");
      for (i = 0; in->args[i]; i++)
        {
          put (b, i ? "|" : "");
          put (b, in->args[i]);
        }
      put (b, "]");
    }
  else if (in->args[0])
    {
      put (b, " {");
      put (b, in->args[0]);
      put (b, in->args[1] ? "}+MORE" : "}");
    }
  else
    put (b, " NOARGS");
  for (i = 0; i < in->n_heredocs; i++)
    {
      put (b, in->heredocs[i].expand ? " <<" : " <<'");
      put (b, in->heredocs[i].name);
      put (b, "=");
      put_visible (b, in->heredocs[i].content);
    }
  if (in->trigger)
    {
      put (b, " (");
      dump_instr (b, in->trigger);
      put (b, ")");
    }
}

/* TEXT parsed and dumped, or "!" and the error.  */
static char *
parse_dump (const char *text)
{
  struct hutch_dockerfile df = { 0 };
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct dfbuf_t b = { 0 };
  size_t i;

  if (hutch_df_parse (text, strlen (text), "Containerfile", &df, &err) < 0)
    {
      char *s = hutch_xasprintf ("!%s (exit %d)", err.msg, err.exit_code);
      hutch_error_clear (&err);
      return s;
    }
  if (df.escape != '\\')
    put (&b, "escape=` ");
  if (df.syntax)
    {
      put (&b, "syntax=");
      put (&b, df.syntax);
      put (&b, " ");
    }
  if (df.check)
    {
      put (&b, "check=");
      put (&b, df.check);
      put (&b, " ");
    }
  for (i = 0; i < df.n; i++)
    {
      put (&b, i ? "; " : "");
      dump_instr (&b, &df.v[i]);
    }
  hutch_dockerfile_clear (&df);
  return b.s;
}

/* Whether GOT is WANT, or (WANT "!...") an error that contains it.  */
static bool
matches (const char *got, const char *want)
{
  if (got == NULL)
    return false;
  if (want[0] == '!')
    return got[0] == '!' && strstr (got, want + 1) != NULL;
  return strcmp (got, want) == 0;
}

/* S on one line, for TAP.  */
static char *
visible (const char *s)
{
  struct dfbuf_t b = { 0 };

  put (&b, "");
  put_visible (&b, s ? s : "(null)");
  return b.s;
}

static void
report (bool good, const char *what, const char *input, const char *got, const char *want)
{
  _cleanup_free_ char *in = visible (input), *g = visible (got), *w = visible (want);

  ok (good, "%s: %s", what, in);
  if (!good)
    printf ("#   want %s\n#   got  %s\n", w, g);
}

struct pcase
{
  const char *text, *want;
};

static const struct pcase parse_cases[] = {
  /* directives */
  { "# escape=`\nRUN a `\n b", "escape=` 2-3 RUN {a  b}" },
  { "#escape = `\n\nFROM x", "escape=` 3-3 FROM {x}" },
  { "# ESCAPE=`\nFROM x", "escape=` 2-2 FROM {x}" },
  { "  # escape=`\nRUN a `\nb", "escape=` 2-3 RUN {a b}" },
  { "# escape=\\\nRUN a \\\nb", "2-3 RUN {a b}" },
  { "# syntax=docker/dockerfile:1\n# check=skip=all\nFROM x",
    "syntax=docker/dockerfile:1 check=skip=all 3-3 FROM {x}" },
  { "# Syntax = docker/dockerfile:1.4  \nFROM x", "syntax=docker/dockerfile:1.4 2-2 FROM {x}" },
  { "# comment\n# escape=`\nRUN a \\\nb", "3-4 RUN {a b}" },
  { "\n# escape=`\nRUN a \\\nb", "3-4 RUN {a b}" },
  { "# foo=bar\n# escape=`\nRUN a \\\nb", "3-4 RUN {a b}" },
  { "FROM x\n# escape=`\nRUN a \\\nb", "1-1 FROM {x}; 3-4 RUN {a b}" },
  { "# escape=x\nFROM x", "!Containerfile:1: `# escape=x`: the escape character is" },
  { "# escape=``\nFROM x", "!Containerfile:1: `# escape=``" },
  { "# syntax=a\n# syntax=b\nFROM x", "!Containerfile:2: a second `# syntax=` directive" },
  { "# escape=\\\n# Escape=`\nFROM x", "!Containerfile:2: a second `# escape=` directive" },
  { "# escape=\nFROM x", "2-2 FROM {x}" },
  { "#!/usr/bin/env hutch\n# escape=`\nRUN a \\\nb", "3-4 RUN {a b}" },
  { "\xef\xbb\xbf# escape=`\nRUN a `\nb", "escape=` 2-3 RUN {a b}" },
  /* comments, blank lines, continuations */
  { "FROM x\n\n   \n# c\n  # indented\nRUN y", "1-1 FROM {x}; 6-6 RUN {y}" },
  { "from x\nrun y\nRuN z", "1-1 FROM {x}; 2-2 RUN {y}; 3-3 RUN {z}" },
  { "RUN echo hello\\\n  world\\\n  goodnight  \\\n  moon",
    "1-4 RUN {echo hello  world  goodnight    moon}" },
  { "RUN a  \\  \nb", "1-2 RUN {a  b}" },
  { "RUN a \\\t\nb", "1-2 RUN {a b}" },
  { "RUN a \\\n# comment\n  # indented comment\nb", "1-4 RUN {a b}" },
  { "RUN a \\\n\n   \nb\nRUN c", "1-4 RUN {a b}; 5-5 RUN {c}" },
  { "RUN a \\\n# c \\\nb \\\nc", "1-4 RUN {a b c}" },
  { "RUN a\\\\\nRUN b", "1-1 RUN {a\\\\}; 2-2 RUN {b}" },
  { "RUN a \\", "1-1 RUN {a}" },
  { "RUN a \\\n", "1-1 RUN {a}" },
  { "\\\nRUN a", "1-2 RUN {a}" },
  { "RUN a\r\nRUN b \\\r\n c\r\n", "1-1 RUN {a}; 2-3 RUN {b  c}" },
  { "RUN a # not a comment", "1-1 RUN {a # not a comment}" },
  { "   RUN   a   b   ", "1-1 RUN {a   b}" },
  { "# escape=`\nRUN dir c:\\ `\n  d:\\", "escape=` 2-3 RUN {dir c:\\   d:\\}" },
  /* unknown instructions and missing arguments */
  { "FORM x", "!Containerfile:1: unknown instruction `FORM`; did you mean `FROM`?" },
  { "FROM x\nrn y", "!Containerfile:2: unknown instruction `rn`; did you mean `run`?" },
  { "FROM x\n\nXYZZY", "!Containerfile:3: unknown instruction `XYZZY`; the instructions are ADD" },
  { "FROM", "!Containerfile:1: FROM needs an image" },
  { "FROM a b", "!Containerfile:1: FROM takes IMAGE or IMAGE AS NAME" },
  { "FROM a for b", "!FROM takes IMAGE or IMAGE AS NAME, not `a for b`" },
  { "FROM a AS 1b", "!`1b` is no stage name" },
  { "FROM a AS b!", "!`b!` is no stage name" },
  { "FROM a as Build-1.x_y", "1-1 FROM {a as Build-1.x_y}" },
  { "FROM --platform=$BUILDPLATFORM golang:1.22 AS build",
    "1-1 FROM --platform=$BUILDPLATFORM {golang:1.22 AS build}" },
  { "FROM x\nRUN", "!Containerfile:2: RUN needs a command" },
  { "FROM x\nRUN []", "!Containerfile:2: RUN needs a command" },
  { "CMD", "!CMD needs a command" },
  { "ENTRYPOINT", "!ENTRYPOINT needs a command" },
  { "ENTRYPOINT []\nCMD []", "1-1 ENTRYPOINT []; 2-2 CMD []" },
  { "USER", "!USER needs an argument" },
  { "WORKDIR", "!WORKDIR needs an argument" },
  { "STOPSIGNAL", "!STOPSIGNAL needs an argument" },
  { "MAINTAINER", "!MAINTAINER needs an argument" },
  { "EXPOSE", "!EXPOSE needs an argument" },
  { "ARG", "!ARG needs an argument" },
  { "ENV", "!ENV needs an argument" },
  { "LABEL", "!LABEL needs an argument" },
  { "VOLUME", "!VOLUME needs a path" },
  { "VOLUME []", "!VOLUME needs a path" },
  { "VOLUME [\"/a\", \"\"]", "!VOLUME: a path must not be empty" },
  { "COPY", "!COPY needs a source and a destination" },
  { "FROM x\nADD a", "!Containerfile:2: ADD needs a source and a destination" },
  { "COPY [\"a\"]", "!COPY needs a source and a destination" },
  { "COPY a <<EOF\nx\nEOF", "!COPY: a heredoc cannot be the destination" },
  { "", "!Containerfile:1: the file has no instruction" },
  { "# just\n\n# comments\n", "!Containerfile:3: the file has no instruction" },
  { "FROM x\nRUN a\0b", "!Containerfile:2: a NUL byte" },
  /* each instruction's forms */
  { "RUN [\"echo\", \"a b\"]", "1-1 RUN [echo|a b]" },
  { "RUN [ \"a\" ,\t\"b\" ]  ", "1-1 RUN [a|b]" },
  { "RUN [\"a\\\"\\u00e9\\n\"]", "1-1 RUN [a\"\xc3\xa9\n]" },
  { "RUN [\"a\", 1]", "!Containerfile:1: RUN: the JSON (exec) form is an array of strings only" },
  { "CMD [\"a\", null]", "!CMD: the JSON (exec) form is an array of strings only" },
  { "ENTRYPOINT [[\"a\"]]", "!ENTRYPOINT: the JSON (exec) form" },
  { "RUN [\"a\\u0000b\"]", "!a NUL, \\u0000, cannot be in one" },
  { "RUN ['a']", "1-1 RUN {['a']}" },
  { "RUN [\"a\"", "1-1 RUN {[\"a\"}" },
  { "RUN [\"a\"] && b", "1-1 RUN {[\"a\"] && b}" },
  { "CMD [\"a\",]", "1-1 CMD {[\"a\",]}" },
  { "CMD echo \"$HOME\" 'x'", "1-1 CMD {echo \"$HOME\" 'x'}" },
  { "ENTRYPOINT [\"/bin/tini\", \"--\"]", "1-1 ENTRYPOINT [/bin/tini|--]" },
  { "SHELL [\"/bin/bash\", \"-eo\", \"pipefail\", \"-c\"]",
    "1-1 SHELL [/bin/bash|-eo|pipefail|-c]" },
  { "SHELL /bin/bash -c", "!SHELL takes a JSON array of the shell and its options, as SHELL "
                          "[\"/bin/sh\", \"-c\"], not `/bin/bash -c`" },
  { "SHELL []", "!SHELL takes a JSON array" },
  { "SHELL [1]", "!SHELL: the JSON (exec) form is an array of strings only" },
  { "VOLUME [\"/a\", \"/b c\"]", "1-1 VOLUME [/a|/b c]" },
  { "VOLUME /a /b", "1-1 VOLUME {/a /b}" },
  { "COPY [\"a b\", \"/c\"]", "1-1 COPY [a b|/c]" },
  { "COPY --from=build --chown=1:1 /a /b", "1-1 COPY --from=build --chown=1:1 {/a /b}" },
  { "ADD --checksum=sha256:0 https://x/y /z", "1-1 ADD --checksum=sha256:0 {https://x/y /z}" },
  { "COPY \"a /b", "!Containerfile:1: COPY: a double quote is not closed" },
  { "EXPOSE 80/tcp 53/udp", "1-1 EXPOSE {80/tcp 53/udp}" },
  { "USER app:app", "1-1 USER {app:app}" },
  { "WORKDIR /my dir", "1-1 WORKDIR {/my dir}" },
  { "STOPSIGNAL SIGTERM", "1-1 STOPSIGNAL {SIGTERM}" },
  { "MAINTAINER Jo <jo@x>", "1-1 MAINTAINER {Jo <jo@x>}" },
  { "ENV A=1 B=\"2 3\"", "1-1 ENV {A=1 B=\"2 3\"}" },
  { "ENV A 1 2", "1-1 ENV {A 1 2}" },
  { "ENV A", "!Containerfile:1: ENV: `A` has no value" },
  { "ENV A=1 B", "!ENV: `B` is not NAME=VALUE" },
  { "LABEL =x", "!LABEL: a name must not be empty" },
  { "LABEL a=\"b", "!LABEL: a double quote is not closed" },
  { "ARG A B=2 C=", "1-1 ARG {A B=2 C=}" },
  { "ARG A B", "1-1 ARG {A B}" },
  { "ARG =1", "!ARG: a name must not be empty" },
  /* flags */
  { "RUN --mount=type=cache,target=/root/.cache --network=none make",
    "1-1 RUN --mount=type=cache,target=/root/.cache --network=none {make}" },
  { "COPY --link --chmod=755 a b", "1-1 COPY --link --chmod=755 {a b}" },
  { "COPY --exclude= a b", "1-1 COPY --exclude= {a b}" },
  { "COPY -- --a b", "1-1 COPY {--a b}" },
  { "COPY --x=1 -- --a b", "1-1 COPY --x=1 {--a b}" },
  { "RUN --mount=\"type=secret,id=a b\" cat", "1-1 RUN --mount=type=secret,id=a b {cat}" },
  { "RUN --mount='a' --x=a\\ b c", "1-1 RUN --mount=a --x=a b {c}" },
  { "RUN -x --y", "1-1 RUN {-x --y}" },
  { "RUN --=x y", "!Containerfile:1: the flag `--=x` has no name" },
  { "ENV --foo A=1", "1-1 ENV --foo {A=1}" },
  { "CMD --doit [ \"a\", \"b\" ]", "1-1 CMD --doit [a|b]" },
  { "CMD --doit -- [ ]", "1-1 CMD --doit []" },
  { "RUN --mount=type=cache,target=/x \\\n  --network=host \\\n  make",
    "1-3 RUN --mount=type=cache,target=/x --network=host {make}" },
  /* healthcheck */
  { "HEALTHCHECK NONE", "1-1 HEALTHCHECK NOARGS" },
  { "healthcheck none", "1-1 HEALTHCHECK NOARGS" },
  { "HEALTHCHECK --interval=5s --retries=3 \\\n  CMD /check --quiet",
    "1-2 HEALTHCHECK --interval=5s --retries=3 {/check --quiet}" },
  { "HEALTHCHECK CMD [\"curl\", \"-f\", \"http://x\"]", "1-1 HEALTHCHECK [curl|-f|http://x]" },
  { "HEALTHCHECK   cmd   a b", "1-1 HEALTHCHECK {a b}" },
  { "HEALTHCHECK CMD NONE", "1-1 HEALTHCHECK {NONE}" },
  { "HEALTHCHECK", "!HEALTHCHECK needs NONE" },
  { "HEALTHCHECK NONE x", "!HEALTHCHECK NONE takes nothing after it" },
  { "HEALTHCHECK CONNECT TCP 7000", "!HEALTHCHECK takes NONE, or [OPTIONS] CMD COMMAND, not "
                                    "`CONNECT`" },
  { "HEALTHCHECK CMD", "!HEALTHCHECK CMD needs a command" },
  { "HEALTHCHECK CMD []", "!HEALTHCHECK CMD needs a command" },
  /* heredocs */
  { "RUN <<EOF\necho a\necho b\nEOF", "1-4 RUN {<<EOF} <<EOF=echo a\\necho b\\n" },
  { "RUN <<EOF\nEOF\nRUN b", "1-2 RUN {<<EOF} <<EOF=; 3-3 RUN {b}" },
  { "RUN <<-EOF\n\techo a\n\t\techo b\n\tEOF", "1-4 RUN {<<-EOF} <<EOF=echo a\\necho b\\n" },
  { "RUN <<EOF\n\techo a\n\tEOF\nEOF", "1-4 RUN {<<EOF} <<EOF=\\techo a\\n\\tEOF\\n" },
  { "RUN <<\"EOF\"\necho $A\nEOF", "1-3 RUN {<<\"EOF\"} <<'EOF=echo $A\\n" },
  { "RUN <<'EOF'\necho $A\nEOF", "1-3 RUN {<<'EOF'} <<'EOF=echo $A\\n" },
  { "RUN <<-'EOF'\n\tx\nEOF", "1-3 RUN {<<-'EOF'} <<'EOF=x\\n" },
  { "RUN <<eo'f'\nx\neof", "1-3 RUN {<<eo'f'} <<'eof=x\\n" },
  { "RUN <<eo\\'f\nx\neo'f", "1-3 RUN {<<eo\\'f} <<eo'f=x\\n" },
  { "RUN <<'one two'\nx\none two", "1-3 RUN {<<'one two'} <<'one two=x\\n" },
  { "RUN << EOF\nx\nEOF", "1-3 RUN {<< EOF} <<EOF=x\\n" },
  { "RUN << -EOF\nx\n-EOF", "1-3 RUN {<< -EOF} <<-EOF=x\\n" },
  { "RUN 3<<EOF cat /proc/self/fd/3\nx\nEOF", "1-3 RUN {3<<EOF cat /proc/self/fd/3} <<EOF=x\\n" },
  { "RUN <<$EOF\n$EOF", "1-2 RUN {<<$EOF} <<$EOF=" },
  { "COPY <<FILE1 <<FILE2 /dest\ncontent 1\nFILE1\ncontent 2\nFILE2\nRUN x",
    "1-5 COPY {<<FILE1 <<FILE2 /dest} <<FILE1=content 1\\n <<FILE2=content 2\\n; 6-6 RUN {x}" },
  { "COPY <<X <<Y /dest\nY\nX\nX\nY", "1-5 COPY {<<X <<Y /dest} <<X=Y\\n <<Y=X\\n" },
  { "RUN <<EOF python3\nprint('hi')\nEOF", "1-3 RUN {<<EOF python3} <<EOF=print('hi')\\n" },
  { "RUN python3 <<EOF > out\nprint(1)\nEOF", "1-3 RUN {python3 <<EOF > out} <<EOF=print(1)\\n" },
  { "RUN <<EOF\n#!/usr/bin/env python3\n# not a comment \\\nprint(1)\nEOF",
    "1-5 RUN {<<EOF} <<EOF=#!/usr/bin/env python3\\n# not a comment \\\\nprint(1)\\n" },
  { "RUN --mount=type=cache,target=/x <<EOF\nls\nEOF",
    "1-3 RUN --mount=type=cache,target=/x {<<EOF} <<EOF=ls\\n" },
  { "RUN a \\\n  <<EOF\nx\nEOF", "1-4 RUN {a   <<EOF} <<EOF=x\\n" },
  { "RUN <<EOF\r\nx\r\nEOF\r\n", "1-3 RUN {<<EOF} <<EOF=x\\r\\n" },
  { "RUN <<EOF\nx\n EOF\nEOF ",
    "!Containerfile:1: the heredoc `<<EOF` never ends; end its text with "
    "a line `EOF` alone" },
  { "FROM x\n\nRUN <<A <<B\na\nA\nb", "!Containerfile:3: the heredoc `<<B` never ends" },
  { "RUN [\"<<EOF\"]\nEOF", "!Containerfile:2: unknown instruction `EOF`" },
  { "RUN \"<<EOF\"\nRUN x", "1-1 RUN {\"<<EOF\"}; 2-2 RUN {x}" },
  { "RUN '<<EOF'\nRUN x", "1-1 RUN {'<<EOF'}; 2-2 RUN {x}" },
  { "RUN cat<<EOF\nRUN x", "1-1 RUN {cat<<EOF}; 2-2 RUN {x}" },
  { "RUN echo <<''\nRUN x", "1-1 RUN {echo <<''}; 2-2 RUN {x}" },
  { "RUN echo 'a <<EOF\nRUN x", "1-1 RUN {echo 'a <<EOF}; 2-2 RUN {x}" },
  { "USER <<EOF\nRUN x", "1-1 USER {<<EOF}; 2-2 RUN {x}" },
  { "ENV A=<<EOF\nRUN x", "1-1 ENV {A=<<EOF}; 2-2 RUN {x}" },
  { "COPY <<EOF /a\n  # kept \\\n\nEOF", "1-4 COPY {<<EOF /a} <<EOF=  # kept \\\\n\\n" },
  /* ONBUILD */
  { "ONBUILD RUN echo hi", "1-1 ONBUILD {RUN echo hi} (1-1 RUN {echo hi})" },
  { "onbuild copy --chown=a . /app", "1-1 ONBUILD {copy --chown=a . /app} (1-1 COPY --chown=a {. "
                                     "/app})" },
  { "ONBUILD RUN [\"a\"]", "1-1 ONBUILD {RUN [\"a\"]} (1-1 RUN [a])" },
  { "ONBUILD RUN <<EOF\nx\nEOF", "1-3 ONBUILD {RUN <<EOF} (1-3 RUN {<<EOF} <<EOF=x\\n)" },
  { "ONBUILD \\\n RUN a", "1-2 ONBUILD {RUN a} (1-2 RUN {a})" },
  { "ONBUILD ONBUILD RUN x", "!Containerfile:1: ONBUILD ONBUILD is not allowed" },
  { "ONBUILD FROM x", "!ONBUILD FROM is not allowed" },
  { "ONBUILD maintainer x", "!ONBUILD MAINTAINER is not allowed" },
  { "ONBUILD", "!ONBUILD needs an instruction" },
  { "FROM x\nONBUILD FORM y", "!Containerfile:2: unknown instruction `FORM`" },
  { "ONBUILD COPY a", "!COPY needs a source and a destination" },
  /* the line numbers of what follows continuations and heredocs */
  { "FROM x\nRUN a \\\n b \\\n c\n\nRUN <<E\n1\n2\nE\nCMD d",
    "1-1 FROM {x}; 2-4 RUN {a  b  c}; 6-9 RUN {<<E} <<E=1\\n2\\n; 10-10 CMD {d}" },
  { "FROM x\nRUN a \\\n b\nRUN <<E\n1\nE\nFORM y", "!Containerfile:7: unknown instruction" },
};

static void
test_parse (void)
{
  size_t i;

  for (i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++)
    {
      const struct pcase *c = &parse_cases[i];
      /* The NUL case: its length is not strlen's.  */
      _cleanup_free_ char *got = NULL;
      if (strcmp (c->text, "FROM x\nRUN a") == 0)
        {
          struct hutch_dockerfile df = { 0 };
          hutch_error_t err = HUTCH_ERROR_INIT;
          int r
              = hutch_df_parse (c->text, sizeof "FROM x\nRUN a\0b" - 1, "Containerfile", &df, &err);
          got = r < 0 ? hutch_xasprintf ("!%s", err.msg) : hutch_xstrdup ("parsed");
          hutch_error_clear (&err);
          hutch_dockerfile_clear (&df);
        }
      else
        got = parse_dump (c->text);
      report (matches (got, c->want), "parse", c->text, got, c->want);
    }
}

/* ---- words ---------------------------------------------------------------- */

static const char *const env[] = {
  "A",     "a",
  "EMPTY", "",
  "SP",    "x  y",
  "FILE",  "archive.tar.gz",
  "PATH",  "/usr/bin:/bin",
  "PWD",   "/home",
  "STAR",  "*",
  "U",     "h\xc3\xa9llo",
  "QUOTE", "it's \"q\"",
  NULL,
};

static const char *
lookup (void *data, const char *name)
{
  size_t i;

  (void)data;
  for (i = 0; env[i]; i += 2)
    if (strcmp (env[i], name) == 0)
      return env[i + 1];
  return NULL;
}

struct wcase
{
  const char *word, *want;
};

/* hutch_df_expand with the escape `\` and ENV.  */
static const struct wcase expand_cases[] = {
  { "hello", "hello" },
  { "$A", "a" },
  { "${A}", "a" },
  { "x$A.y", "xa.y" },
  { "$Ab", "" },
  { "${A}b", "ab" },
  { "$NOPE", "" },
  { "$", "$" },
  { "a$", "a$" },
  { "$.", "$." },
  { "he$1x", "hex" },
  { "$999aaa", "aaa" },
  { "$@aaa", "aaa" },
  { "$$", "" },
  { "${1:-one}", "one" },
  { "${#}", "" },
  /* - and :- */
  { "${NOPE:-d}", "d" },
  { "${EMPTY:-d}", "d" },
  { "${A:-d}", "a" },
  { "${NOPE-d}", "d" },
  { "${EMPTY-d}", "" },
  { "${A-d}", "a" },
  { "${NOPE:-$A}", "a" },
  { "${NOPE:-${PWD:-y}}", "/home" },
  { "${NOPE:-${NOPE2:-yyy}}", "yyy" },
  { "${NOPE:-a b}", "a b" },
  { "${NOPE:-\"}\"}", "}" },
  { "${NOPE:-bbb {foo}", "bbb {foo" },
  { "${A:-bbb}}", "a}" },
  { "${NOPE:-\\$A:}", "$A:" },
  { "${NOPE:-\\${A}z}", "${Az}" },
  /* + and :+ */
  { "${A:+set}", "set" },
  { "${EMPTY:+set}", "" },
  { "${NOPE:+set}", "" },
  { "${A+set}", "set" },
  { "${EMPTY+set}", "set" },
  { "${NOPE+set}", "" },
  { "${A:+${PWD}:}", "/home:" },
  /* ? and :? */
  { "${A:?}", "a" },
  { "${A?}", "a" },
  { "${EMPTY?}", "" },
  { "${EMPTY:?}", "!EMPTY: is not allowed to be empty" },
  { "${NOPE?}", "!NOPE: is not allowed to be unset" },
  { "${NOPE:?}", "!NOPE: is not allowed to be unset" },
  { "${NOPE:?set NOPE first}", "!NOPE: set NOPE first" },
  { "${EMPTY:?give it $A value}", "!EMPTY: give it a value" },
  { "${NOPE?x} after", "!NOPE: x" },
  /* # ## % %% */
  { "${FILE#*.}", "tar.gz" },
  { "${FILE##*.}", "gz" },
  { "${FILE%.*}", "archive.tar" },
  { "${FILE%%.*}", "archive" },
  { "${FILE#archive}", ".tar.gz" },
  { "${FILE#nomatch}", "archive.tar.gz" },
  { "${FILE%gz}", "archive.tar." },
  { "${FILE#?}", "rchive.tar.gz" },
  { "${FILE%%?}", "archive.tar.g" },
  { "${FILE##*}", "" },
  { "${FILE#*}", "archive.tar.gz" },
  { "${FILE#[a-c]}", "rchive.tar.gz" },
  { "${FILE#[!a]}", "archive.tar.gz" },
  { "${FILE%[xyz]}", "archive.tar.g" },
  { "${PATH##*:}", "/bin" },
  { "${PATH%%:*}", "/usr/bin" },
  { "${PATH#\\/usr}", "/bin:/bin" },
  { "${STAR#\\*}", "" },
  { "${FILE#\"*\"}", "archive.tar.gz" },
  { "${FILE##\"*\"}", "archive.tar.gz" },
  { "${FILE##'*'}", "archive.tar.gz" },
  { "${FILE##\\*}", "archive.tar.gz" },
  { "${FILE%%\"?\"}", "archive.tar.gz" },
  { "${STAR/\"*\"/x}", "x" },
  { "${FILE/\"*\"/x}", "archive.tar.gz" },
  { "${FILE#'a'*}", "rchive.tar.gz" },
  { "${FILE#$STAR.}", "tar.gz" },
  { "${FILE#\"$STAR\"}", "archive.tar.gz" },
  { "${NOPE#x}", "" },
  { "${NOPE%%*}", "" },
  { "${U#?}", "\xc3\xa9llo" },
  { "${U#h?}", "llo" },
  { "${U%l*}", "h\xc3\xa9l" },
  { "${A:#x}", "!a bad substitution" },
  { "${A:%x}", "!a bad substitution" },
  /* / and // */
  { "${PATH/bin/sbin}", "/usr/sbin:/bin" },
  { "${PATH//bin/sbin}", "/usr/sbin:/sbin" },
  { "${PATH//\\//|}", "|usr|bin:|bin" },
  { "${PATH/:*/}", "/usr/bin" },
  { "${PATH//b?n/X}", "/usr/X:/X" },
  { "${FILE/*./}", "gz" },
  { "${FILE//[.]/_}", "archive_tar_gz" },
  { "${FILE/nomatch/x}", "archive.tar.gz" },
  { "${FILE//a/}", "rchive.tr.gz" },
  { "${A//*/x}", "x" },
  { "${EMPTY//*/x}", "x" },
  { "${NOPE/a/b}", "" },
  { "${A//a/$PWD}", "/home" },
  { "${A/a/\\}}", "}" },
  { "${A/a}", "!misses its second `/`" },
  { "${A//a}", "!misses its second `/`" },
  { "${A/a/b", "!a `}` is missing" },
  /* bad substitutions */
  { "${}", "!a bad substitution: `${` must be followed by a name" },
  { "${:}", "!a bad substitution" },
  { "${:-x}", "!a bad substitution" },
  { "${{A}}", "!a bad substitution" },
  { "${A", "!a bad substitution: a `}` is missing in `${A`" },
  { "${A:-x", "!a `}` is missing" },
  { "${", "!a `}` is missing" },
  { "${.}", "!the operators are" },
  { "${A:x}", "!after `${NAME:` comes" },
  { "${A:=x}", "!after `${NAME:` comes" },
  { "${A=x}", "!the operators are" },
  { "${#A}", "!the operators are" },
  { "${A:-${A:-${A:-${A:-${A:-${A:-${A:-${A:-${A:-${A:-${A:-${A:-${A:-${A:-${A:-${A:-${A:-x}}}}}"
    "}}}}}}}}}}}}",
    "!substitutions nest deeper than 16" },
  { "${A:-${A:-${A:-x}}}", "a" },
  /* quotes and escapes */
  { "'$A'", "$A" },
  { "\"$A\"", "a" },
  { "\"${A}\"'${A}'", "a${A}" },
  { "\"it's\"", "it's" },
  { "'\"q\"'", "\"q\"" },
  { "\"\\\"q\\\" \\$A \\\\ \\x\"", "\"q\" $A \\ \\x" },
  { "'\\$A'", "\\$A" },
  { "\\$A", "$A" },
  { "\\\\$A", "\\a" },
  { "a\\ b", "a b" },
  { "abc\\tdef", "abctdef" },
  { "\"abc\\tdef\"", "abc\\tdef" },
  { "hello\\", "hello" },
  { "hello\\\\", "hello\\" },
  { "he'll'o", "hello" },
  { "\"\"", "" },
  { "''", "" },
  { "\"a", "!a double quote is not closed in `\"a`" },
  { "'a", "!a single quote is not closed" },
  { "\"a\\\"", "!a double quote is not closed" },
  { "$SP", "x  y" },
  { "\"$QUOTE\"", "it's \"q\"" },
  { "${NOPE:-'a  b'}", "a  b" },
  { "\xec\x95\x88'\xeb\x85\x95'", "\xec\x95\x88\xeb\x85\x95" },
};

/* hutch_df_expand with the escape ` (backslash is then an ordinary
   character).  */
static const struct wcase backtick_cases[] = {
  { "`$A", "$A" },
  { "\\$A", "\\a" },
  { "c:\\dir\\$A", "c:\\dir\\a" },
  { "a` b", "a b" },
  { "\"``\"", "`" },
  { "\"`\"\"", "\"" },
  { "\"\\\"", "\\" },
  { "\"`$A\"", "$A" },
  { "${PATH#`/usr}", "/bin:/bin" },
  { "${PATH#\\}", "/usr/bin:/bin" },
  { "${NOPE:-a\\b}", "a\\b" },
};

static char *
expand_str (const char *word, char escape, hutch_df_lookup_fn fn)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  char *out = NULL;

  if (hutch_df_expand (word, escape, fn, NULL, &out, &err) < 0)
    {
      out = hutch_xasprintf ("!%s (exit %d)", err.msg, err.exit_code);
      hutch_error_clear (&err);
    }
  return out;
}

static void
test_expand (void)
{
  size_t i;

  for (i = 0; i < sizeof expand_cases / sizeof expand_cases[0]; i++)
    {
      _cleanup_free_ char *got = expand_str (expand_cases[i].word, '\\', lookup);
      report (matches (got, expand_cases[i].want), "expand", expand_cases[i].word, got,
              expand_cases[i].want);
    }
  for (i = 0; i < sizeof backtick_cases / sizeof backtick_cases[0]; i++)
    {
      _cleanup_free_ char *got = expand_str (backtick_cases[i].word, '`', lookup);
      report (matches (got, backtick_cases[i].want), "expand (escape `)", backtick_cases[i].word,
              got, backtick_cases[i].want);
    }
  {
    _cleanup_free_ char *got = expand_str ("\"$A\" ${A:-x} \\$", '\\', NULL);
    is_str (got, "$A ${A:-x} $", "expand without a lookup keeps `$` (%s)", got);
  }
  {
    _cleanup_free_ char *got = expand_str ("${NOPE:?}", '\\', lookup);
    ok (got && strstr (got, "(exit 125)"), "an expansion error exits 125 (%s)", got);
  }
}

/* hutch_df_words: the words joined with `|`.  */
static const struct wcase words_cases[] = {
  { "a b  c", "a|b|c" },
  { "  a\tb  ", "a|b" },
  { "", "" },
  { "   ", "" },
  { "\"a b\" c", "a b|c" },
  { "'a b' \"\" ''", "a b||" },
  { "a\\ b c", "a b|c" },
  { "$SP z", "x  y|z" },
  { "${NOPE:-\"a b\"} z", "a b|z" },
  { "$A$A \"$A b\"", "aa|a b" },
  { "x=\"1 2\" y", "x=1 2|y" },
  { "a\\", "a" },
  { "\"a\\\" b\" c", "a\" b|c" },
  { "'a\\' b", "a\\|b" },
  { "\"a b", "!a double quote is not closed" },
  { "${NOPE:-a b}", "!a `}` is missing" },
  { "<<EOF /dst", "<<EOF|/dst" },
  { "<<\"EOF\" /dst", "<<EOF|/dst" },
};

static char *
join_words (char **w)
{
  struct dfbuf_t b = { 0 };
  size_t i;

  put (&b, "");
  for (i = 0; w[i]; i++)
    {
      put (&b, i ? "|" : "");
      put (&b, w[i]);
    }
  return b.s;
}

static void
test_words (void)
{
  size_t i;

  for (i = 0; i < sizeof words_cases / sizeof words_cases[0]; i++)
    {
      hutch_error_t err = HUTCH_ERROR_INIT;
      _cleanup_strv_ char **w = NULL;
      _cleanup_free_ char *got = NULL;
      if (hutch_df_words (words_cases[i].word, '\\', lookup, NULL, &w, &err) < 0)
        got = hutch_xasprintf ("!%s", err.msg);
      else
        got = join_words (w);
      hutch_error_clear (&err);
      report (matches (got, words_cases[i].want), "words", words_cases[i].word, got,
              words_cases[i].want);
    }
  {
    _cleanup_strv_ char **w = NULL;
    _cleanup_free_ char *got = NULL;
    hutch_error_t err = HUTCH_ERROR_INIT;
    if (hutch_df_words ("$A \"${A:-x}\" a` b c\\ d", '`', NULL, NULL, &w, &err) == 0)
      got = join_words (w);
    is_str (got, "$A|${A:-x}|a b|c\\|d", "words without a lookup, escape ` (%s)", got);
  }
}

/* hutch_df_pairs: FLAGS "o" allow_old, "b" allow_bare; the pairs as
   k=v|k (no value).  */
struct pair_case
{
  const char *text, *flags, *want;
};

static const struct pair_case pair_cases[] = {
  { "A=1 B=2", "o", "A=1|B=2" },
  { "A=\"two words\" C='$A' D=\\$A E=x\\ y", "o", "A=two words|C=$A|D=$A|E=x y" },
  { "P=$PATH Q=${A:-z}", "o", "P=/usr/bin:/bin|Q=a" },
  { "E= F=\"\"", "o", "E=|F=" },
  { "\"c d\"=\"e f\"", "o", "c d=e f" },
  { "$A=x", "o", "a=x" },
  { "K=a=b", "o", "K=a=b" },
  { "MY_VAR my value  here", "o", "MY_VAR=my value  here" },
  { "MY_VAR \"quoted  value\" $A", "o", "MY_VAR=quoted  value a" },
  { "  K\t v ", "o", "K=v " },
  { "K v=1", "o", "K=v=1" },
  { "A", "o", "!`A` has no value; give NAME=VALUE, or NAME VALUE" },
  { "", "o", "!give NAME=VALUE" },
  { "A=1 B", "o", "!`B` is not NAME=VALUE" },
  { "=1", "o", "!a name must not be empty" },
  { "$EMPTY=1", "o", "!a name must not be empty" },
  { "A=\"open", "o", "!a double quote is not closed" },
  { "A=\"${NOPE:?need it}\"", "o", "!NOPE: need it" },
  { "A=${NOPE:?need it}", "o", "!a `}` is missing in `${NOPE:?need`" },
  { "A B", "", "!`A` is not NAME=VALUE" },
  /* ARG */
  { "A", "b", "A" },
  { "A B=2 C= D=$A", "b", "A|B=2|C=|D=a" },
  { "V=\"a b\"", "b", "V=a b" },
  { "", "b", "!give NAME or NAME=VALUE" },
  { "=x", "b", "!a name must not be empty" },
};

static void
test_pairs (void)
{
  size_t i, j;

  for (i = 0; i < sizeof pair_cases / sizeof pair_cases[0]; i++)
    {
      const struct pair_case *c = &pair_cases[i];
      hutch_error_t err = HUTCH_ERROR_INIT;
      char **keys = NULL, **values = NULL;
      struct dfbuf_t b = { 0 };
      if (hutch_df_pairs (c->text, '\\', lookup, NULL, strchr (c->flags, 'o'),
                          strchr (c->flags, 'b'), &keys, &values, &err)
          < 0)
        put (&b, "!"), put (&b, err.msg);
      else
        {
          put (&b, "");
          for (j = 0; keys[j]; j++)
            {
              put (&b, j ? "|" : "");
              put (&b, keys[j]);
              if (values[j])
                put (&b, "="), put (&b, values[j]);
              free (values[j]);
            }
          free (values);
          hutch_strv_free (keys);
        }
      hutch_error_clear (&err);
      report (matches (b.s, c->want), c->flags[0] == 'b' ? "pairs (ARG)" : "pairs", c->text, b.s,
              c->want);
      free (b.s);
    }
}

/* hutch_df_pattern_match  */
struct match_case
{
  const char *pattern, *name;
  bool want;
};

static const struct match_case match_cases[] = {
  { "abc", "abc", true },
  { "abc", "abd", false },
  { "", "", true },
  { "", "a", false },
  { "*", "", true },
  { "*", "anything", true },
  { "a*", "abc", true },
  { "*c", "abc", true },
  { "*b", "abc", false },
  { "a*b*c", "aXXbYYc", true },
  { "a*b*c", "aXXbYY", false },
  { "*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false },
  { "?", "a", true },
  { "?", "", false },
  { "??", "a", false },
  { "?", "\xc3\xa9", true },
  { "??", "\xc3\xa9", false },
  { "*\xa9", "\xc3\xa9", false },
  { "*\xc3\xa9", "a\xc3\xa9", true },
  { "[abc]", "b", true },
  { "[abc]", "d", false },
  { "[a-c]x", "bx", true },
  { "[!a-c]", "d", true },
  { "[^a-c]", "b", false },
  { "[]]", "]", true },
  { "[!]]", "a", true },
  { "[\xc3\xa0-\xc3\xbf]", "\xc3\xa9", true },
  { "[", "[", true },
  { "[a", "[a", true },
  { "\\*", "*", true },
  { "\\*", "a", false },
  { "\\?", "?", true },
  { "a\\", "a\\", true },
  { "*.tar.gz", "x.tar.gz", true },
  { "*.tar.gz", "x.tgz", false },
};

static void
test_match (void)
{
  size_t i;

  for (i = 0; i < sizeof match_cases / sizeof match_cases[0]; i++)
    {
      const struct match_case *c = &match_cases[i];
      bool got = hutch_df_pattern_match (c->pattern, c->name);
      ok (got == c->want, "pattern `%s` %s `%s`", c->pattern,
          c->want ? "matches" : "does not match", c->name);
    }
}

/* hutch_df_heredoc_index on the instruction COPY <<A <<-"B" 3<<'A' /dst
   (A twice: the last wins).  */
static void
test_heredoc_index (void)
{
  const char *text = "COPY <<A <<-\"B\" 3<<'A' /dst\n1\nA\n\t2\n\tB\n3\nA\n";
  static const struct
  {
    const char *word;
    int want;
  } cases[] = {
    { "<<A", 2 },  { "<<-\"B\"", 1 }, { "<<B", 1 }, { "<<-B", 1 },  { "3<<'A'", 2 }, { "<< B", 1 },
    { "<<C", -1 }, { "/dst", -1 },    { "<<", -1 }, { "x<<A", -1 }, { "<<'B'", 1 },  { "", -1 },
  };
  struct hutch_dockerfile df = { 0 };
  hutch_error_t err = HUTCH_ERROR_INIT;
  size_t i;

  if (hutch_df_parse (text, strlen (text), "Containerfile", &df, &err) < 0)
    {
      ok (0, "heredoc_index: parse: %s", err.msg);
      hutch_error_clear (&err);
      return;
    }
  ok (df.v[0].n_heredocs == 3 && strcmp (df.v[0].heredocs[2].content, "3\n") == 0
          && !df.v[0].heredocs[2].expand,
      "three heredocs, the third `A` not expanded");
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      int got = hutch_df_heredoc_index (&df.v[0], cases[i].word);
      ok (got == cases[i].want, "heredoc_index `%s` is %d (%d)", cases[i].word, cases[i].want, got);
    }
  hutch_dockerfile_clear (&df);
}

/* ---- the rest ------------------------------------------------------------- */

static char *last_warning;

static void
sink (enum hutch_log_level level, const char *msg, void *data)
{
  (void)data;
  if (level == HUTCH_LOG_WARNING)
    {
      free (last_warning);
      last_warning = hutch_xstrdup (msg);
    }
}

static void
test_warning (void)
{
  _cleanup_free_ char *got = NULL;

  hutch_log_set_sink (sink, NULL, NULL);
  got = parse_dump ("FROM x\nRUN a \\\n\n b");
  is_str (got, "1-1 FROM {x}; 2-4 RUN {a  b}", "an empty continuation line is skipped");
  has_str (last_warning, "Containerfile:3: an empty line inside a continued instruction",
           "and warned about (%s)", last_warning ? last_warning : "none");
  free (last_warning);
  last_warning = NULL;
  free (parse_dump ("FROM x\nRUN a \\\n# c\n b"));
  ok (last_warning == NULL, "a comment line inside a continuation is no warning");
  hutch_log_set_sink (NULL, NULL, NULL);
}

static double
now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A file of many lines parses in time linear in its size: 1,000
   instructions, and one instruction continued over 20,000 lines with a
   heredoc of 20,000 lines (quadratic joining would take minutes).  */
static void
test_speed (void)
{
  struct dfbuf_t b = { 0 };
  struct hutch_dockerfile df = { 0 };
  hutch_error_t err = HUTCH_ERROR_INIT;
  double t;
  int i, r;

  put (&b, "# syntax=docker/dockerfile:1\nFROM alpine AS build\n");
  for (i = 0; i < 1000; i++)
    put (&b, i % 4 == 0   ? "RUN --mount=type=cache,target=/c apk add \\\n    make gcc\n"
             : i % 4 == 1 ? "ENV A=1 B=\"two words\" C=${A:-x}\n"
             : i % 4 == 2 ? "COPY <<EOF /etc/x\nline $A\nEOF\n"
                          : "# a comment\nLABEL org.opencontainers.image.title=\"x\"\n");
  t = now ();
  r = hutch_df_parse (b.s, b.len, "Containerfile", &df, &err);
  t = now () - t;
  ok (r == 0 && df.n == 1001, "1,000 instructions parse (%.2f ms)", t * 1e3);
  ok (t < 0.25, "in well under a millisecond a line (%.2f ms)", t * 1e3);
  hutch_dockerfile_clear (&df);
  free (b.s);

  memset (&b, 0, sizeof b);
  put (&b, "FROM x\nRUN <<EOF \\\n");
  for (i = 0; i < 20000; i++)
    put (&b, "  a continued line \\\n");
  put (&b, "  end\n");
  for (i = 0; i < 20000; i++)
    put (&b, "a line of the heredoc\n");
  put (&b, "EOF\n");
  t = now ();
  r = hutch_df_parse (b.s, b.len, "Containerfile", &df, &err);
  t = now () - t;
  ok (r == 0 && df.n == 2 && df.v[1].n_heredocs == 1 && df.v[1].end_line == 40004,
      "a 40,000-line instruction parses (%.2f ms)", t * 1e3);
  ok (t < 0.5, "in linear time (%.2f ms)", t * 1e3);
  hutch_dockerfile_clear (&df);
  hutch_error_clear (&err);
  free (b.s);
}

int
main (void)
{
  test_parse ();
  test_expand ();
  test_words ();
  test_pairs ();
  test_match ();
  test_heredoc_index ();
  test_warning ();
  test_speed ();
  return tap_done ();
}
