/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* Shell completion scripts, made from the same command tables as --help
   and the option parser, so that they cannot drift apart.  Each script
   holds the tables as data (options, which of them take a value, what the
   values are, subcommands, operands) and a small walker of the words typed
   so far that finds the command they name.  Images are listed by running
   `PROG images` when a value or operand is an image, volumes by
   `PROG volume ls -q`.  */

#include "common/options.h"

#include <stdbool.h>
#include <string.h>

/* The shell functions' prefix: "_hutch" for hutch.  */
static char fnp[64];

typedef void (*visit_fn) (const char *path, const struct cmd_def *def, const char *prog, FILE *f);

/* Call FN for ROOT (path "") and every command under it ("run",
   "image ls"), depth first.  */
static void
visit (const char *path, const struct cmd_def *def, visit_fn fn, const char *prog, FILE *f)
{
  size_t i;

  fn (path, def, prog, f);
  for (i = 0; def->subs && def->subs[i]; i++)
    {
      char sub[128];
      snprintf (sub, sizeof sub, "%s%s%s", path, *path ? " " : "", def->subs[i]->name);
      visit (sub, def->subs[i], fn, prog, f);
    }
}

/* Every option of DEF as typed (-v --volume ...), with --help; with
   VALUED, only those that take a separate value.  */
static void
print_opt_words (const struct cmd_def *def, bool valued, FILE *f)
{
  size_t i;
  const char *sep = "";

  for (i = 0; def->opts && def->opts[i].key; i++)
    {
      const struct cmd_opt *o = &def->opts[i];
      /* An optional value is given after '=' only.  */
      if (valued && o->has_arg != required_argument)
        continue;
      if (o->key > 0 && o->key < 256)
        {
          fprintf (f, "%s-%c", sep, o->key);
          sep = " ";
        }
      if (o->name)
        {
          fprintf (f, "%s--%s", sep, o->name);
          sep = " ";
        }
    }
  if (!valued)
    fprintf (f, "%s-h --help", sep);
}

static void
print_sub_words (const struct cmd_def *def, FILE *f)
{
  size_t i;
  for (i = 0; def->subs && def->subs[i]; i++)
    fprintf (f, "%s%s", i ? " " : "", def->subs[i]->name);
}

/* A value kind or word list, single-quoted for the shells (they hold no
   quote: the tables are ours).  */
static const char *
kind (const char *values)
{
  return values ? values : "";
}

/* ---- bash ---- */

static void
bash_case (const char *path, const struct cmd_def *def, const char *prog, FILE *f)
{
  (void)prog;
  fprintf (f, "        '%s') opts='", path);
  print_opt_words (def, false, f);
  fputs ("'; valopts=' ", f);
  print_opt_words (def, true, f);
  fputs (" '; subs='", f);
  print_sub_words (def, f);
  fprintf (f, "'; operands='%s'; permute=%d ;;\n", kind (def->operands),
           (def->flags & CMD_PERMUTE) != 0);
}

static void
bash_value_case (const char *path, const struct cmd_def *def, const char *prog, FILE *f)
{
  size_t i;

  (void)prog;
  for (i = 0; def->opts && def->opts[i].key; i++)
    {
      const struct cmd_opt *o = &def->opts[i];
      if (o->has_arg == no_argument || o->values == NULL)
        continue;
      if (o->key > 0 && o->key < 256)
        fprintf (f, "        '%s:-%c') echo '%s' ;;\n", path, o->key, o->values);
      if (o->name)
        fprintf (f, "        '%s:--%s') echo '%s' ;;\n", path, o->name, o->values);
    }
}

static const char bash_body[]
    = "# __P___words PATH: sets opts, valopts, subs, operands and permute for the\n"
      "# command PATH (\"\" for the program itself, \"image ls\")\n"
      "__P___words() {\n"
      "    opts= valopts= subs= operands= permute=1\n"
      "    case $1 in\n"
      "__CASES__"
      "    esac\n"
      "}\n"
      "\n"
      "__P___value_kind() {\n"
      "    case \"$1:$2\" in\n"
      "__VALUES__"
      "    esac\n"
      "}\n"
      "\n"
      "# __P___reply KIND CUR: COMPREPLY for a value or operand of that kind\n"
      "__P___reply() {\n"
      "    local IFS=$'\\n'\n"
      "    case $1 in\n"
      "        @file) COMPREPLY=($(compgen -f -- \"$2\")); compopt -o filenames 2>/dev/null ;;\n"
      "        @dir) COMPREPLY=($(compgen -d -- \"$2\")); compopt -o filenames 2>/dev/null ;;\n"
      "        @image) COMPREPLY=($(compgen -W \"$(__P___images)\" -- \"$2\")) ;;\n"
      "        @volume) COMPREPLY=($(compgen -W \"$(__PROG__ volume ls -q 2>/dev/null)\" -- "
      "\"$2\")) ;;\n"
      "        @container) COMPREPLY=($(compgen -W \"$(__PROG__ ps -a --format '{{.Names}}' "
      "2>/dev/null)\" -- \"$2\")) ;;\n"
      "        @command) __P___words ''; COMPREPLY=($(IFS=' '; compgen -W \"$subs\" -- \"$2\")) "
      ";;\n"
      "        '') COMPREPLY=() ;;\n"
      "        *) COMPREPLY=($(IFS=' '; compgen -W \"$1\" -- \"$2\")) ;;\n"
      "    esac\n"
      "}\n"
      "\n"
      "__P___images() {\n"
      "    __PROG__ images 2>/dev/null | awk '__IMAGES_AWK__'\n"
      "}\n"
      "\n"
      "__P__() {\n"
      "    local cur=${COMP_WORDS[COMP_CWORD]} prev= path= w i n=0 expect=0 dashdash=0\n"
      "    local opts valopts subs operands permute\n"
      "    [ \"$COMP_CWORD\" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}\n"
      "    # --opt=VALUE: bash splits the word at '='\n"
      "    if [ \"$cur\" = = ]; then cur=; fi\n"
      "    __P___words ''\n"
      "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "        w=${COMP_WORDS[i]}\n"
      "        # --opt=VALUE is three words: the value follows the '='\n"
      "        if [ \"$w\" = = ]; then expect=1; continue; fi\n"
      "        if [ \"$expect\" = 1 ]; then expect=0; continue; fi\n"
      "        if [ \"$dashdash\" = 0 ] && [ \"$w\" = -- ]; then dashdash=1; continue; fi\n"
      "        if [ \"$dashdash\" = 0 ] && [[ $w == -?* ]]; then\n"
      "            [[ $valopts == *\" $w \"* ]] && expect=1\n"
      "            continue\n"
      "        fi\n"
      "        if [ \"$n\" = 0 ] && [[ \" $subs \" == *\" $w \"* ]]; then\n"
      "            path=${path:+$path }$w\n"
      "            __P___words \"$path\"\n"
      "            continue\n"
      "        fi\n"
      "        n=$((n + 1))\n"
      "        # the command of `run IMAGE COMMAND...` is not ours to complete\n"
      "        if [ \"$permute\" = 0 ]; then COMPREPLY=($(compgen -f -- \"$cur\")); return; fi\n"
      "    done\n"
      "    if [ \"$expect\" = 1 ] || [ \"${COMP_WORDS[COMP_CWORD]}\" = = ] || [ \"$prev\" = = ]; "
      "then\n"
      "        local o=$prev\n"
      "        if [ \"$prev\" = = ]; then o=${COMP_WORDS[COMP_CWORD - 2]}; fi\n"
      "        __P___reply \"$(__P___value_kind \"$path\" \"$o\")\" \"$cur\"\n"
      "        return\n"
      "    fi\n"
      "    if [ \"$dashdash\" = 0 ] && [[ $cur == -* ]]; then\n"
      "        COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
      "    elif [ -n \"$subs\" ] && [ \"$n\" = 0 ]; then\n"
      "        COMPREPLY=($(compgen -W \"$subs\" -- \"$cur\"))\n"
      "    else\n"
      "        __P___reply \"$operands\" \"$cur\"\n"
      "    fi\n"
      "}\n"
      "complete -F __P__ __PROG__\n";

/* The image names `PROG images` lists, as NAME:TAG, and also by the
   short name that finds them (alpine:3 for docker.io/library/alpine:3 and
   for localhost/alpine:3); the program is in single quotes in each
   shell.  */
static const char images_awk[]
    = "NR > 1 && $1 != \"<none>\" { n = $1 \":\" $2; print n; "
      "if (sub(/^(docker\\.io\\/library|localhost)\\//, \"\", n)) print n }";

/* Print TEXT with __P__ replaced by the function prefix, __PROG__ by the
   program's name, and __CASES__/__VALUES__ by the visitors' output.  */
static void
expand (const char *text, const char *prog, const struct cmd_def *root, visit_fn cases,
        visit_fn values, FILE *f)
{
  while (*text)
    {
      if (strncmp (text, "__P__", 5) == 0)
        fputs (fnp, f), text += 5;
      else if (strncmp (text, "__IMAGES_AWK__", 14) == 0)
        fputs (images_awk, f), text += 14;
      else if (strncmp (text, "__SUBS__", 8) == 0)
        print_sub_words (root, f), text += 8;
      else if (strncmp (text, "__PROG__", 8) == 0)
        fputs (prog, f), text += 8;
      else if (strncmp (text, "__CASES__", 9) == 0)
        visit ("", root, cases, prog, f), text += 9;
      else if (strncmp (text, "__VALUES__", 10) == 0)
        visit ("", root, values, prog, f), text += 10;
      else
        fputc (*text++, f);
    }
}

/* ---- zsh ---- */

/* The first line of TEXT, with what _arguments' descriptions cannot hold
   escaped.  */
static void
zsh_desc (const char *text, FILE *f)
{
  for (; text && *text && *text != '\n'; text++)
    {
      if (*text == '\'')
        fputs ("'\\''", f);
      else
        {
          if (*text == '[' || *text == ']' || *text == ':' || *text == '\\')
            fputc ('\\', f);
          fputc (*text, f);
        }
    }
}

static void
zsh_action (const char *values, FILE *f)
{
  /* The leading space: _arguments calls the action as it is written,
     without compadd options inserted after its first word.  */
  if (values)
    fprintf (f, " %s_value %s", fnp, values);
  else
    fputc (' ', f);
}

static void
zsh_fn_name (const char *path, FILE *f)
{
  fprintf (f, "%s_cmd%s", fnp, *path ? "_" : "");
  for (; *path; path++)
    fputc (*path == ' ' || *path == '-' ? '_' : *path, f);
}

static void
zsh_opt (const struct cmd_opt *o, FILE *f)
{
  bool has_short = o->key > 0 && o->key < 256;
  const char *suffix = o->has_arg == required_argument   ? "="
                       : o->has_arg == optional_argument ? "=-"
                                                         : "";

  fputs ("    '*", f);
  if (has_short && o->name)
    fprintf (f, "'{-%c%s,--%s%s}'", o->key, o->has_arg == required_argument ? "+" : "", o->name,
             suffix);
  else if (has_short)
    fprintf (f, "-%c%s", o->key, o->has_arg == required_argument ? "+" : "");
  else
    fprintf (f, "--%s%s", o->name, suffix);
  fputc ('[', f);
  zsh_desc (o->help, f);
  fputc (']', f);
  if (o->has_arg != no_argument)
    {
      fputc (':', f);
      zsh_desc (o->arg ? o->arg : "value", f);
      fputc (':', f);
      zsh_action (o->values, f);
    }
  fputs ("' \\\n", f);
}

static void
zsh_fn (const char *path, const struct cmd_def *def, const char *prog, FILE *f)
{
  size_t i;

  (void)prog;
  zsh_fn_name (path, f);
  fputs ("() {\n  local curcontext=$curcontext state line\n  _arguments -C -s -S \\\n", f);
  for (i = 0; def->opts && def->opts[i].key; i++)
    zsh_opt (&def->opts[i], f);
  fputs ("    '(-)'{-h,--help}'[show this help]' \\\n", f);
  if (def->subs)
    {
      fputs ("    '1:command:((", f);
      for (i = 0; def->subs[i]; i++)
        {
          fprintf (f, "%s%s\\:", i ? " " : "", def->subs[i]->name);
          /* a description inside ((...)) is a word: quote it */
          fputs ("\"", f);
          zsh_desc (def->subs[i]->summary, f);
          fputs ("\"", f);
        }
      fputs ("))' \\\n    '*:: :->sub'\n", f);
      fputs ("  [[ $state == sub ]] || return\n  case $line[1] in\n", f);
      for (i = 0; def->subs[i]; i++)
        {
          char sub[128];
          snprintf (sub, sizeof sub, "%s%s%s", path, *path ? " " : "", def->subs[i]->name);
          fprintf (f, "    %s) ", def->subs[i]->name);
          zsh_fn_name (sub, f);
          fputs (" ;;\n", f);
        }
      fputs ("  esac\n}\n\n", f);
      return;
    }
  if (def->operands == NULL)
    fputs ("    '*: :'\n}\n\n", f);
  else if (def->flags & CMD_PERMUTE)
    {
      fputs ("    '*:operand:", f);
      zsh_action (def->operands, f);
      fputs ("'\n}\n\n", f);
    }
  else
    {
      fputs ("    '1:operand:", f);
      zsh_action (def->operands, f);
      fputs ("' \\\n    '*:: :_normal'\n}\n\n", f);
    }
}

static const char zsh_head[]
    = "#compdef __PROG__\n"
      "# zsh completion for __PROG__, made by `__PROG__ completion zsh` from the tables\n"
      "# of its --help.\n"
      "\n"
      "__P___value() {\n"
      "  case $1 in\n"
      "    @file) _files ;;\n"
      "    @dir) _files -/ ;;\n"
      "    @image) local -a imgs\n"
      "      imgs=(${(f)\"$(__PROG__ images 2>/dev/null | awk '__IMAGES_AWK__')\"})\n"
      "      compadd -a imgs ;;\n"
      "    @volume) local -a vols\n"
      "      vols=(${(f)\"$(__PROG__ volume ls -q 2>/dev/null)\"})\n"
      "      compadd -a vols ;;\n"
      "    @container) local -a ctrs\n"
      "      ctrs=(${(f)\"$(__PROG__ ps -a --format '{{.Names}}' 2>/dev/null)\"})\n"
      "      compadd -a ctrs ;;\n"
      "    @command) compadd -- __SUBS__ ;;\n"
      "    *) compadd -- \"$@\" ;;\n"
      "  esac\n"
      "}\n"
      "\n";

/* ---- fish ---- */

static void
fish_quote (const char *text, FILE *f)
{
  fputc ('\'', f);
  for (; text && *text && *text != '\n'; text++)
    {
      if (*text == '\'' || *text == '\\')
        fputc ('\\', f);
      fputc (*text, f);
    }
  fputc ('\'', f);
}

static void
fish_values (const char *values, FILE *f)
{
  if (values == NULL)
    fputs (" -x", f);
  else if (strcmp (values, CMD_VALUE_FILE) == 0)
    fputs (" -r -F", f);
  else if (strcmp (values, CMD_VALUE_DIR) == 0)
    fputs (" -x -a '(__fish_complete_directories)'", f);
  else if (strcmp (values, CMD_VALUE_IMAGE) == 0)
    fprintf (f, " -x -a '(%s_images)'", fnp);
  else if (strcmp (values, CMD_VALUE_VOLUME) == 0)
    fprintf (f, " -x -a '(%s_volumes)'", fnp);
  else if (strcmp (values, CMD_VALUE_CONTAINER) == 0)
    fprintf (f, " -x -a '(%s_containers)'", fnp);
  else if (strcmp (values, CMD_VALUE_COMMAND) == 0)
    fprintf (f, " -x -a '(%s_words \"\"; string split \" \" -- $subs)'", fnp);
  else
    fprintf (f, " -x -a '%s'", values);
}

static void
fish_cmd (const char *path, const struct cmd_def *def, const char *prog, FILE *f)
{
  size_t i;

  for (i = 0; def->opts && def->opts[i].key; i++)
    {
      const struct cmd_opt *o = &def->opts[i];
      fprintf (f, "complete -c %s -n '%s_is \"%s\"'", prog, fnp, path);
      if (o->key > 0 && o->key < 256)
        fprintf (f, " -s %c", o->key);
      if (o->name)
        fprintf (f, " -l %s", o->name);
      if (o->has_arg != no_argument)
        fish_values (o->values, f);
      fputs (" -d ", f);
      fish_quote (o->help, f);
      fputc ('\n', f);
    }
  fprintf (f, "complete -c %s -n '%s_is \"%s\"' -s h -l help -d 'show this help'\n", prog, fnp,
           path);
  for (i = 0; def->subs && def->subs[i]; i++)
    {
      fprintf (f, "complete -c %s -n '%s_is \"%s\"' -x -a %s -d ", prog, fnp, path,
               def->subs[i]->name);
      fish_quote (def->subs[i]->summary, f);
      fputc ('\n', f);
    }
  if (def->operands && def->subs == NULL)
    {
      fprintf (f, "complete -c %s -n '%s_is \"%s\"'", prog, fnp, path);
      fish_values (def->operands, f);
      fputc ('\n', f);
    }
}

static const char fish_head[]
    = "# fish completion for __PROG__, made by `__PROG__ completion fish` from the\n"
      "# tables of its --help.\n"
      "\n"
      "function __P___words -a path\n"
      "    set -g opts; set -g valopts; set -g subs; set -g permute 1\n"
      "    switch $path\n"
      "__CASES__"
      "    end\n"
      "end\n"
      "\n"
      "# __P___path: the command the words typed so far name (\"run\", \"image ls\"),\n"
      "# with a trailing \"/\" once the command of `run IMAGE COMMAND` has begun\n"
      "function __P___path\n"
      "    set -l words (commandline -opc)\n"
      "    set -l path ''\n"
      "    set -l n 0\n"
      "    set -l expect 0\n"
      "    __P___words ''\n"
      "    for w in $words[2..-1]\n"
      "        if test $expect = 1\n"
      "            set expect 0\n"
      "            continue\n"
      "        end\n"
      "        if string match -q -- '-?*' $w\n"
      "            if contains -- $w (string split ' ' -- $valopts)\n"
      "                set expect 1\n"
      "            end\n"
      "            continue\n"
      "        end\n"
      "        if test $n = 0; and contains -- $w (string split ' ' -- $subs)\n"
      "            set path (string trim -- \"$path $w\")\n"
      "            __P___words \"$path\"\n"
      "            continue\n"
      "        end\n"
      "        set n (math $n + 1)\n"
      "        if test $permute = 0\n"
      "            echo \"$path/\"\n"
      "            return\n"
      "        end\n"
      "    end\n"
      "    echo $path\n"
      "end\n"
      "\n"
      "function __P___is -a want\n"
      "    test (__P___path | string collect) = \"$want\"\n"
      "end\n"
      "\n"
      "function __P___images\n"
      "    __PROG__ images 2>/dev/null | awk '__IMAGES_AWK__'\n"
      "end\n"
      "\n"
      "function __P___volumes\n"
      "    __PROG__ volume ls -q 2>/dev/null\n"
      "end\n"
      "\n"
      "function __P___containers\n"
      "    __PROG__ ps -a --format '{{.Names}}' 2>/dev/null\n"
      "end\n"
      "\n"
      "complete -c __PROG__ -f\n";

static void
fish_case (const char *path, const struct cmd_def *def, const char *prog, FILE *f)
{
  (void)prog;
  fprintf (f, "        case '%s'\n            set -g opts '", path);
  print_opt_words (def, false, f);
  fputs ("'\n            set -g valopts '", f);
  print_opt_words (def, true, f);
  fputs ("'\n            set -g subs '", f);
  print_sub_words (def, f);
  fprintf (f, "'\n            set -g permute %d\n", (def->flags & CMD_PERMUTE) != 0);
}

static void
no_values (const char *path, const struct cmd_def *def, const char *prog, FILE *f)
{
  (void)path, (void)def, (void)prog, (void)f;
}

int
cmd_complete_script (const char *shell, const char *prog, const struct cmd_def *root, FILE *f)
{
  size_t i;

  snprintf (fnp, sizeof fnp, "_%s", prog);
  for (i = 0; fnp[i]; i++)
    if (fnp[i] == '-')
      fnp[i] = '_';
  if (strcmp (shell, "bash") == 0)
    {
      fprintf (f,
               "# bash completion for %s, made by `%s completion bash` from the tables\n"
               "# of its --help.\n\n",
               prog, prog);
      expand (bash_body, prog, root, bash_case, bash_value_case, f);
      return 0;
    }
  if (strcmp (shell, "zsh") == 0)
    {
      expand (zsh_head, prog, root, no_values, no_values, f);
      visit ("", root, zsh_fn, prog, f);
      fprintf (f, "%s_cmd \"$@\"\n", fnp);
      return 0;
    }
  if (strcmp (shell, "fish") == 0)
    {
      expand (fish_head, prog, root, fish_case, no_values, f);
      visit ("", root, fish_cmd, prog, f);
      return 0;
    }
  return -1;
}
