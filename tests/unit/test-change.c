/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* `hutch import --change` (image/change.c): each instruction as docker
   reads it, and what is refused.  */

#include "tap.h"
#include "image/change.h"
#include "base/util.h"

#include <jansson.h>
#include <stdlib.h>

/* CHANGES (NULL-terminated) applied to a config with PATH only, as compact
   JSON, or NULL with the error in *RET_ERR.  */
static char *
apply (const char *const *changes, char **ret_err)
{
  json_t *config = json_pack ("{s:[s]}", "Env", "PATH=/bin");
  hutch_error_t err = HUTCH_ERROR_INIT;
  char *out = NULL;

  *ret_err = NULL;
  if (hutch_image_apply_changes (config, (char *const *)changes, &err) == 0)
    out = json_dumps (config, JSON_COMPACT | JSON_SORT_KEYS);
  else
    *ret_err = hutch_xstrdup (err.msg);
  hutch_error_clear (&err);
  json_decref (config);
  return out;
}

static void
gives (const char *change, const char *want)
{
  const char *changes[] = { change, NULL };
  _cleanup_free_ char *e = NULL, *got = apply (changes, &e);
  is_str (got, want, "%s", change);
  if (got == NULL || strcmp (got, want) != 0)
    printf ("#   want %s\n#   got  %s\n", want, got ? got : e);
}

static void
refused (const char *change, const char *what)
{
  const char *changes[] = { change, NULL };
  _cleanup_free_ char *e = NULL, *got = apply (changes, &e);
  ok (got == NULL && e && strstr (e, what) && strstr (e, "--change"),
      "%s is refused, naming \"%s\" (%s)", change, what, got ? got : e);
}

#define PATH "\"Env\":[\"PATH=/bin\"]"

int
main (void)
{
  /* CMD and ENTRYPOINT: JSON arrays, else command lines for /bin/sh -c */
  gives ("CMD [\"/bin/echo\", \"hi there\"]", "{\"Cmd\":[\"/bin/echo\",\"hi there\"]," PATH "}");
  gives ("cmd echo \"$HOME\"  ", "{\"Cmd\":[\"/bin/sh\",\"-c\",\"echo \\\"$HOME\\\"\"]," PATH "}");
  gives ("ENTRYPOINT []", "{\"Entrypoint\":[]," PATH "}");
  gives ("ENTRYPOINT [not json", "{\"Entrypoint\":[\"/bin/sh\",\"-c\",\"[not json\"]," PATH "}");
  refused ("CMD [1, 2]", "strings only");
  refused ("CMD", "give a command");
  /* ENV: pairs, quotes, escapes, variables from before the instruction */
  gives ("ENV A=1 B=\"two words\" C='$A' D=\\$A E=x\\ y",
         "{\"Env\":[\"PATH=/bin\",\"A=1\",\"B=two words\",\"C=$A\",\"D=$A\",\"E=x y\"]}");
  gives ("ENV PATH=$PATH:/opt/bin", "{\"Env\":[\"PATH=/bin:/opt/bin\"]}");
  gives ("ENV X=${PATH}-${NOPE:-dflt}-${PATH:+set}-${NOPE:+no}-${NOPE-u}",
         "{\"Env\":[\"PATH=/bin\",\"X=/bin-dflt-set--u\"]}");
  gives ("ENV P=$PATH Q=$P", "{\"Env\":[\"PATH=/bin\",\"P=/bin\",\"Q=\"]}");
  gives ("ENV MY_VAR my value  here", "{\"Env\":[\"PATH=/bin\",\"MY_VAR=my value  here\"]}");
  gives ("ENV E= F=\"\"", "{\"Env\":[\"PATH=/bin\",\"E=\",\"F=\"]}");
  gives ("ENV A=\"a \\\"q\\\" \\$x \\y\"", "{\"Env\":[\"PATH=/bin\",\"A=a \\\"q\\\" $x \\\\y\"]}");
  /* $1 is a positional parameter, never set in a Dockerfile: empty, as
     BuildKit has it */
  gives ("ENV A=$ B=$1 C=50$", "{\"Env\":[\"PATH=/bin\",\"A=$\",\"B=\",\"C=50$\"]}");
  /* the operators BuildKit takes besides - and + */
  {
    const char *changes[]
        = { "ENV F=a.tar.gz", "ENV X=${F%%.*}-${F##*.}-${F/tar/zip}-${PATH#/}", NULL };
    _cleanup_free_ char *e = NULL, *got = apply (changes, &e);
    is_str (got, "{\"Env\":[\"PATH=/bin\",\"F=a.tar.gz\",\"X=a-gz-a.zip.gz-bin\"]}",
            "${V%%p}, ${V##p}, ${V/p/r}, ${V#p} (%s)", got ? got : e);
  }
  refused ("ENV A=\"${NOPE:?set NOPE first}\"", "NOPE: set NOPE first");
  gives ("EXPOSE ${NOPE:-8080}", "{" PATH ",\"ExposedPorts\":{\"8080/tcp\":{}}}");
  refused ("ENV", "NAME=VALUE");
  refused ("ENV A", "NAME VALUE");
  refused ("ENV A=1 B", "`B` is not NAME=VALUE");
  refused ("ENV =1", "empty");
  refused ("ENV A=\"open", "not closed");
  refused ("ENV A='open", "not closed");
  refused ("ENV A=${B", "bad substitution");
  refused ("ENV A=${B:=x}", "bad substitution");
  refused ("ENV A=${:-x}", "bad substitution");
  refused ("ENV A=${B:-${B:-${B:-${B:-${B:-${B:-${B:-${B:-${B:-${B:-${B:-${B:-${B:-${B:-${B:-${B:-"
           "${B:-${B:-x}}}}}}}}}}}}}}}}}}",
           "nest deeper");
  /* LABEL */
  gives ("LABEL a=b \"c d\"=\"e f\" a=again",
         "{" PATH ",\"Labels\":{\"a\":\"again\",\"c d\":\"e f\"}}");
  gives ("LABEL version 1.0 beta", "{" PATH ",\"Labels\":{\"version\":\"1.0 beta\"}}");
  /* EXPOSE */
  gives ("EXPOSE 80 53/UDP 8000-8001/tcp",
         "{" PATH
         ",\"ExposedPorts\":{\"53/udp\":{},\"80/tcp\":{},\"8000/tcp\":{},\"8001/tcp\":{}}}");
  refused ("EXPOSE", "give a port");
  refused ("EXPOSE 0", "PORT[-PORT]");
  refused ("EXPOSE 65536", "PORT[-PORT]");
  refused ("EXPOSE 90-80", "PORT[-PORT]");
  refused ("EXPOSE 80/icmp", "tcp, udp or sctp");
  refused ("EXPOSE 127.0.0.1:80:80", "PORT[-PORT]");
  /* USER and WORKDIR */
  gives ("USER 1000:1000", "{" PATH ",\"User\":\"1000:1000\"}");
  gives ("WORKDIR \"/my dir\"", "{" PATH ",\"WorkingDir\":\"/my dir\"}");
  gives ("WORKDIR app", "{" PATH ",\"WorkingDir\":\"/app\"}");
  refused ("USER", "give a user");
  refused ("WORKDIR ''", "give a directory");
  {
    const char *changes[] = { "WORKDIR /srv", "WORKDIR ./a//b/../c/", "ENV D=/data",
                              "WORKDIR $D",   "WORKDIR ../../..",     NULL };
    const char *two[] = { "WORKDIR /srv", "WORKDIR ./a//b/../c/", NULL };
    _cleanup_free_ char *e = NULL, *got = apply (two, &e), *e2 = NULL, *all = NULL;
    is_str (got, "{" PATH ",\"WorkingDir\":\"/srv/a/c\"}",
            "a relative WORKDIR goes from the last (%s)", got ? got : e);
    all = apply (changes, &e2);
    is_str (all, "{\"Env\":[\"PATH=/bin\",\"D=/data\"],\"WorkingDir\":\"/\"}",
            "$D in WORKDIR, and .. stops at / (%s)", all ? all : e2);
  }
  /* what is not taken */
  refused ("VOLUME /data", "CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER and WORKDIR");
  refused ("RUN rm -rf /", "`RUN` is not an instruction");
  refused ("", "no instruction");
  refused ("   ", "no instruction");
  /* commit's VOLUME and STOPSIGNAL */
  {
    json_t *config = json_pack ("{s:[s]}", "Env", "D=/data");
    const char *changes[]
        = { "VOLUME $D \"/a b\" ${D}2", "VOLUME [\"/j\"]", "STOPSIGNAL ${S:-SIGINT}", NULL };
    const char *bad[][2] = { { "VOLUME", "give a path" },
                             { "VOLUME ''", "must not be empty" },
                             { "VOLUME [1]", "strings only" },
                             { "VOLUME \"/x", "not closed" },
                             { "STOPSIGNAL SIGNOPE", "is no signal" } };
    hutch_error_t err = HUTCH_ERROR_INIT;
    char *out = NULL;
    size_t i;
    if (hutch_image_apply_commit_changes (config, (char *const *)changes, &err) == 0)
      out = json_dumps (config, JSON_COMPACT | JSON_SORT_KEYS);
    is_str (out,
            "{\"Env\":[\"D=/data\"],\"StopSignal\":\"SIGINT\",\"Volumes\":{\"/a b\":{},"
            "\"/data\":{},\"/data2\":{},\"/j\":{}}}",
            "commit: VOLUME words and JSON, STOPSIGNAL, expanded (%s)", out ? out : err.msg);
    free (out);
    json_decref (config);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
      {
        const char *one[] = { bad[i][0], NULL };
        hutch_error_clear (&err);
        ok (hutch_image_check_commit_changes ((char *const *)one, &err) < 0 && err.msg
                && strstr (err.msg, bad[i][1]),
            "commit: %s is refused, naming \"%s\" (%s)", bad[i][0], bad[i][1],
            err.msg ? err.msg : "passed");
      }
    hutch_error_clear (&err);
  }
  {
    hutch_error_t err = HUTCH_ERROR_INIT;
    const char *good[] = { "CMD x", "ENV A=1", NULL }, *bad[] = { "CMD x", "ONBUILD RUN x", NULL };
    ok (hutch_image_check_changes ((char *const *)good, &err) == 0, "check: good changes pass");
    ok (hutch_image_check_changes ((char *const *)bad, &err) < 0 && strstr (err.msg, "ONBUILD"),
        "check: a bad one fails, named (%s)", err.msg);
    hutch_error_clear (&err);
    ok (hutch_image_check_changes (NULL, &err) == 0, "check: no changes");
  }
  return tap_done ();
}
