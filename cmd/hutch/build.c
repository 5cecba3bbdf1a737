/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* `hutch build`: an image from a Containerfile (src/build/build.h).  */

#include "hutch.h"
#include "base/util.h"
#include "build/build.h"
#include "front/run.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmd_build (int argc, char **argv);

enum
{
  OPT_BUILD_ARG = 256,
  OPT_TARGET,
  OPT_NO_CACHE,
  OPT_PULL,
  OPT_LABEL,
  OPT_IIDFILE,
  OPT_FORMAT,
  OPT_OUTPUT,
  OPT_SECRET,
  OPT_NETWORK,
  OPT_ADD_HOST,
  OPT_TIMESTAMP,
  OPT_SDE,
  OPT_PLATFORM,
  OPT_TLS_VERIFY_B,
  OPT_AUTHFILE_B,
};

static const struct cmd_opt build_opts[] = {
  { "tag", 't', required_argument, "NAME", "name the image NAME[:TAG] (repeatable)", NULL },
  { "file", 'f', required_argument, "FILE",
    "the Containerfile (default: CONTEXT/Containerfile,\nelse CONTEXT/Dockerfile); - reads it "
    "from stdin",
    CMD_VALUE_FILE },
  { "build-arg", OPT_BUILD_ARG, required_argument, "NAME[=VALUE]",
    "a value for ARG NAME (without =VALUE: from the\nenvironment) (repeatable)", NULL },
  { "target", OPT_TARGET, required_argument, "STAGE",
    "build up to the stage STAGE (default: the last)", NULL },
  { "no-cache", OPT_NO_CACHE, no_argument, NULL,
    "run every step again, taking nothing from the cache", NULL },
  { "pull", OPT_PULL, optional_argument, "POLICY",
    "missing (default), always or never: when FROM's\nimages are pulled (--pull alone: always)",
    "missing always never" },
  { "platform", OPT_PLATFORM, required_argument, "OS/ARCH",
    "this machine's platform only (no emulation)", CMD_PLATFORMS },
  { "label", OPT_LABEL, required_argument, "KEY=VALUE", "a label of the image (repeatable)", NULL },
  { "iidfile", OPT_IIDFILE, required_argument, "FILE", "write the image's id into FILE",
    CMD_VALUE_FILE },
  { "format", OPT_FORMAT, required_argument, "FORMAT",
    "oci (default) or docker: the manifest and config\nmedia types", "oci docker" },
  { "output", 'o', required_argument, "SPEC",
    "also write the result: type=local,dest=DIR,\ntype=tar,dest=FILE or "
    "type=oci-archive,dest=FILE",
    NULL },
  { "secret", OPT_SECRET, required_argument, "id=ID,src=FILE",
    "a secret that RUN can mount (type=secret,id=ID)\n(repeatable)", NULL },
  { "network", OPT_NETWORK, required_argument, "MODE",
    "RUN's network: default (slirp), none or host", "default none host" },
  { "add-host", OPT_ADD_HOST, required_argument, "HOST:IP",
    "a line of RUN's /etc/hosts (repeatable)", NULL },
  { "timestamp", OPT_TIMESTAMP, required_argument, "SECONDS",
    "the image's created time, in seconds since the\nepoch; no file of a new layer is later "
    "(as\n--source-date-epoch, which it replaces)",
    NULL },
  { "source-date-epoch", OPT_SDE, required_argument, "SECONDS",
    "the image's created time, and the latest time a\nnew layer's file may have (default: "
    "$SOURCE_DATE_EPOCH)",
    NULL },
  { "quiet", 'q', no_argument, NULL, "say nothing but the image's id", NULL },
  { "tls-verify", OPT_TLS_VERIFY_B, optional_argument, "BOOL",
    "verify registries' certificates when pulling\n(default: true)", "true false" },
  { "authfile", OPT_AUTHFILE_B, required_argument, "FILE",
    "credentials for pulling (default: hutch login's)", CMD_VALUE_FILE },
  { 0 },
};

const struct cmd_def cmd_build_def = {
  .name = "build",
  .summary = "build an image from a Containerfile",
  .usage = "Usage: hutch build [OPTIONS] CONTEXT\n"
           "       hutch build [OPTIONS] -            (the Containerfile on stdin, no context)\n"
           "\n"
           "Build an image from the Containerfile (or Dockerfile) of the directory CONTEXT,\n"
           "whose files COPY and ADD take, and put it into the store under the names of -t.\n"
           "Every RUN runs in a hutch container; each step's layer is cached, and a step\n"
           "whose inputs have not changed is not run again.  The image's id goes to\n"
           "standard output, the steps to standard error.\n",
  .opts = build_opts,
  .operands = CMD_VALUE_DIR,
  .fn = cmd_build,
  .flags = CMD_PERMUTE,
};

static int
bad_option (const char *opt, const char *value, const char *expected)
{
  fprintf (stderr, "hutch build: %s `%s`: %s\n", opt, value, expected);
  return HUTCH_EXIT_ERROR;
}

static int
parse_seconds (const char *opt, const char *v, int64_t *ret)
{
  char *end;
  long long n;

  errno = 0;
  n = strtoll (v, &end, 10);
  if (*v == '\0' || *end || errno || n < 0)
    {
      bad_option (opt, v, "expected seconds since the epoch (a whole number >= 0)");
      return -1;
    }
  *ret = n;
  return 0;
}

static int
cmd_build (int argc, char **argv)
{
  struct hutch_build_opts o;
  _cleanup_strv_ char **tags = NULL, **args = NULL, **labels = NULL, **outputs = NULL,
                      **secrets = NULL, **hosts = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_free_ char *id = NULL;
  const char *sde = getenv ("SOURCE_DATE_EPOCH");
  int opt, ret = 0, v, idfd, errfd;

  hutch_build_opts_init (&o);
  optind = 1;
  while ((opt = cmd_next_opt (&cmd_build_def, argc, argv, &ret)) != -1)
    switch (opt)
      {
      case 1000:
        return ret;
      case 't':
        hutch_strv_push (&tags, hutch_xstrdup (optarg));
        break;
      case 'f':
        o.file = optarg;
        break;
      case OPT_BUILD_ARG:
        hutch_strv_push (&args, hutch_xstrdup (optarg));
        break;
      case OPT_TARGET:
        o.target = optarg;
        break;
      case OPT_NO_CACHE:
        o.no_cache = true;
        break;
      case OPT_PULL:
        v = optarg ? hutch_pull_policy_from_name (optarg) : HUTCH_PULL_ALWAYS;
        if (v < 0)
          return bad_option ("--pull", optarg, "expected missing, always or never");
        o.pull = v;
        break;
      case OPT_PLATFORM:
        o.platform = optarg;
        break;
      case OPT_LABEL:
        hutch_strv_push (&labels, hutch_xstrdup (optarg));
        break;
      case OPT_IIDFILE:
        o.iidfile = optarg;
        break;
      case OPT_FORMAT:
        if (strcmp (optarg, "oci") == 0)
          o.format = HUTCH_BUILD_FORMAT_OCI;
        else if (strcmp (optarg, "docker") == 0)
          o.format = HUTCH_BUILD_FORMAT_DOCKER;
        else
          return bad_option ("--format", optarg, "expected oci or docker");
        break;
      case 'o':
        hutch_strv_push (&outputs, hutch_xstrdup (optarg));
        break;
      case OPT_SECRET:
        hutch_strv_push (&secrets, hutch_xstrdup (optarg));
        break;
      case OPT_NETWORK:
        if (strcmp (optarg, "default") == 0 || strcmp (optarg, "slirp") == 0)
          o.network = HUTCH_NETWORK_SLIRP;
        else if (strcmp (optarg, "none") == 0)
          o.network = HUTCH_NETWORK_NONE;
        else if (strcmp (optarg, "host") == 0)
          o.network = HUTCH_NETWORK_HOST;
        else
          return bad_option ("--network", optarg, "expected default, none or host");
        break;
      case OPT_ADD_HOST:
        hutch_strv_push (&hosts, hutch_xstrdup (optarg));
        break;
      case OPT_TIMESTAMP:
        if (parse_seconds ("--timestamp", optarg, &o.timestamp) < 0)
          return HUTCH_EXIT_ERROR;
        break;
      case OPT_SDE:
        sde = optarg;
        break;
      case 'q':
        o.quiet = true;
        break;
      case OPT_TLS_VERIFY_B:
        o.tls_verify = cmd_parse_tls_verify ("build", optarg);
        if (o.tls_verify < 0)
          return HUTCH_EXIT_ERROR;
        break;
      case OPT_AUTHFILE_B:
        o.authfile = optarg;
        break;
      }
  if (argc - optind != 1)
    {
      fprintf (stderr, "hutch build: expected one CONTEXT (a directory, or - for a Containerfile "
                       "on stdin); see `hutch build --help`\n");
      return HUTCH_EXIT_ERROR;
    }
  if (sde && *sde && parse_seconds ("--source-date-epoch", sde, &o.source_date_epoch) < 0)
    return HUTCH_EXIT_ERROR;
  o.context = argv[optind];
  o.tags = tags;
  o.build_args = args;
  o.labels = labels;
  o.outputs = outputs;
  o.secrets = secrets;
  o.add_hosts = hosts;
  o.store_root = cmd_globals.root;
  o.storage_driver = cmd_globals.storage_driver;
  o.tty = isatty (STDERR_FILENO);
  /* Standard output is the image's id alone, so that $(hutch build .)
     is the id: what RUN's commands print goes to standard error, as the
     steps do, or nowhere with -q (hutch's own error is still said).  */
  fflush (stdout);
  idfd = fcntl (STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  errfd = fcntl (STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
  if (idfd < 0 || errfd < 0)
    {
      perror ("hutch build: dup");
      return HUTCH_EXIT_ERROR;
    }
  o.progress_fd = errfd;
  if (o.quiet)
    {
      int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
      if (null < 0 || dup2 (null, STDOUT_FILENO) < 0 || dup2 (null, STDERR_FILENO) < 0)
        {
          perror ("hutch build: /dev/null");
          return HUTCH_EXIT_ERROR;
        }
      close (null);
    }
  else if (dup2 (STDERR_FILENO, STDOUT_FILENO) < 0)
    {
      perror ("hutch build: dup2");
      return HUTCH_EXIT_ERROR;
    }
  ret = hutch_build (&o, &id, &err);
  dup2 (errfd, STDERR_FILENO);
  dup2 (idfd, STDOUT_FILENO);
  close (errfd);
  close (idfd);
  if (ret < 0)
    return cmd_report (&err);
  printf ("%s\n", id);
  return 0;
}
