/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "hutch.h"
#include "image/driver.h"
#include "base/util.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[]
    = "Usage: hutch [GLOBAL OPTIONS] COMMAND [ARGS...]\n"
      "\n"
      "Run Linux containers as an unprivileged user: no root, no daemon.\n"
      "\n"
      "Commands:\n"
      "  run       run a command in a new container\n"
      "  pull      download an image from a registry\n"
      "  push      upload an image to a registry\n"
      "  login     store credentials for a registry\n"
      "  logout    remove stored credentials\n"
      "  images    list the images in the store\n"
      "  image     manage images: inspect, ls, rm, prune, tag\n"
      "  import    make an image from a root filesystem tarball\n"
      "  load      load images from a docker-archive or oci-archive\n"
      "  save      save an image to an oci-archive or docker-archive\n"
      "  rmi       remove images\n"
      "  tag       give an image another name\n"
      "  info      show what hutch finds on this host\n"
      "  help      show the help of a command\n"
      "\n"
      "Global options:\n"
      "      --root DIR             the image store (default: $XDG_DATA_HOME/hutch)\n"
      "      --storage-driver NAME  overlay, fuse-overlayfs or vfs (default: probed)\n"
      "  -h, --help                 show this help\n"
      "      --version              show the version\n"
      "\n"
      "`hutch COMMAND --help` describes a command; see also hutch(1).\n";

struct cmd_globals cmd_globals = { NULL, -1 };

static const struct
{
  const char *name;
  int (*fn) (int argc, char **argv);
} commands[] = {
  { "run", cmd_run },       { "info", cmd_info }, { "images", cmd_images }, { "image", cmd_image },
  { "rmi", cmd_rmi },       { "tag", cmd_tag },   { "import", cmd_import }, { "load", cmd_load },
  { "save", cmd_save },     { "pull", cmd_pull }, { "push", cmd_push },     { "login", cmd_login },
  { "logout", cmd_logout },
};

/* Common handling of -h/--help and unknown options for commands whose only
   options are those in OPTS.  Returns the option, -1 at the end, or 1000
   when the caller must return *RET.  */
int
cmd_next_opt (int argc, char **argv, const char *shortopts, const struct option *opts,
              const char *help, int *ret)
{
  int c = cmd_getopt (argc, argv, shortopts, opts);
  if (c == 'h')
    {
      fputs (help, stdout);
      *ret = 0;
      return 1000;
    }
  if (c == '?' || c == ':')
    {
      fprintf (stderr, "hutch %s: unknown option or missing value `%s`; see `hutch %s --help`\n",
               argv[0], argv[optind - 1], argv[0]);
      *ret = HUTCH_EXIT_ERROR;
      return 1000;
    }
  return c;
}

char *
cmd_self_dir (void)
{
  char buf[PATH_MAX];
  ssize_t n = readlink ("/proc/self/exe", buf, sizeof buf - 1);
  char *slash;
  if (n <= 0)
    return NULL;
  buf[n] = '\0';
  slash = strrchr (buf, '/');
  if (slash == NULL)
    return NULL;
  *slash = '\0';
  return hutch_xstrdup (buf);
}

int
main (int argc, char **argv)
{
  size_t k;
  int i = 1;

  cmd_output_init ("hutch", true);
  /* Global options, before the command.  */
  while (i < argc && argv[i][0] == '-')
    {
      const char *a = argv[i];
      if (strcmp (a, "--help") == 0 || strcmp (a, "-h") == 0)
        {
          fputs (usage, stdout);
          return 0;
        }
      if (strcmp (a, "--version") == 0)
        {
          printf ("hutch %s\n", PACKAGE_VERSION);
          return 0;
        }
      if (strcmp (a, "--root") == 0 || strncmp (a, "--root=", 7) == 0)
        {
          const char *v = a[6] == '=' ? a + 7 : (i + 1 < argc ? argv[++i] : NULL);
          if (v == NULL || *v == '\0')
            {
              fprintf (stderr, "hutch: --root needs a directory; see `hutch --help`\n");
              return HUTCH_EXIT_ERROR;
            }
          cmd_globals.root = v;
        }
      else if (strcmp (a, "--storage-driver") == 0 || strncmp (a, "--storage-driver=", 17) == 0)
        {
          const char *v = a[16] == '=' ? a + 17 : (i + 1 < argc ? argv[++i] : NULL);
          cmd_globals.storage_driver = v ? hutch_storage_from_name (v) : -1;
          if (cmd_globals.storage_driver < 0)
            {
              fprintf (stderr,
                       "hutch: --storage-driver `%s`: expected overlay, fuse-overlayfs or "
                       "vfs\n",
                       v ? v : "");
              return HUTCH_EXIT_ERROR;
            }
        }
      else
        {
          fprintf (stderr, "hutch: unknown option `%s`; see `hutch --help`\n", a);
          return HUTCH_EXIT_ERROR;
        }
      i++;
    }
  if (i >= argc)
    {
      fputs (usage, stderr);
      return HUTCH_EXIT_ERROR;
    }
  if (strcmp (argv[i], "help") == 0)
    {
      char *h[] = { i + 1 < argc ? argv[i + 1] : NULL, (char *)"--help", NULL };
      if (h[0] == NULL)
        {
          fputs (usage, stdout);
          return 0;
        }
      for (k = 0; k < sizeof commands / sizeof commands[0]; k++)
        if (strcmp (h[0], commands[k].name) == 0)
          return commands[k].fn (2, h);
      fprintf (stderr, "hutch: unknown command `%s`; see `hutch --help`\n", h[0]);
      return HUTCH_EXIT_ERROR;
    }
  for (k = 0; k < sizeof commands / sizeof commands[0]; k++)
    if (strcmp (argv[i], commands[k].name) == 0)
      return commands[k].fn (argc - i, argv + i);
  fprintf (stderr, "hutch: unknown command `%s`; see `hutch --help`\n", argv[i]);
  return HUTCH_EXIT_ERROR;
}
