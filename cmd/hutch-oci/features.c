/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* hutch-oci features: the runtime spec's features document; hutch-oci
   spec: a config.json to start a bundle from, as runc spec writes one.
   What goes into either is decided in front/ocifeatures.c.  */

#include "oci.h"
#include "front/ocifeatures.h"
#include "base/error.h"
#include "base/util.h"
#include "common/output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmd_features (int argc, char **argv);
static int cmd_spec (int argc, char **argv);

const struct cmd_def oci_features_def = {
  .name = "features",
  .summary = "show what this runtime supports, as JSON",
  .usage = "Usage: hutch-oci features\n"
           "\n"
           "Print the OCI runtime spec's features document: the spec versions, hooks,\n"
           "mount options, namespaces, capabilities, cgroup and seccomp support of this\n"
           "build of hutch-oci.\n",
  .fn = cmd_features,
};

enum
{
  OPT_ROOTLESS = 256,
};

static const struct cmd_opt spec_opts[] = {
  { "bundle", 'b', required_argument, "DIR", "write DIR/config.json (default: .)", CMD_VALUE_DIR },
  { "rootless", OPT_ROOTLESS, no_argument, NULL,
    "for an unprivileged user: a user namespace that maps the caller to root, the\n"
    "host's network, /sys bound from the host, no cgroup mount",
    NULL },
  { 0 },
};

const struct cmd_def oci_spec_def = {
  .name = "spec",
  .summary = "write a config.json to start a bundle from",
  .usage = "Usage: hutch-oci spec [--rootless] [--bundle DIR]\n"
           "\n"
           "Write DIR/config.json, which must not exist: sh on a terminal in rootfs/, with\n"
           "Docker's default capabilities, the usual mounts and a namespace of each kind.\n",
  .opts = spec_opts,
  .fn = cmd_spec,
};

static int
print_json (json_t *obj, FILE *f)
{
  char *text = json_dumps (obj, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
  int r;

  json_decref (obj);
  if (text == NULL)
    return -1;
  r = fprintf (f, "%s\n", text) < 0 ? -1 : 0;
  free (text);
  return r;
}

static int
cmd_features (int argc, char **argv)
{
  int c, status = 0;

  optind = 1;
  while ((c = cmd_opt_next ("hutch-oci", &oci_features_def, argc, argv, &status)) != -1)
    if (c == CMD_OPT_EXIT)
      return status;
  if (optind != argc)
    {
      fprintf (stderr, "hutch-oci features: takes no arguments; see `hutch-oci features --help`\n");
      return OCI_EXIT_FAIL;
    }
  if (print_json (hutch_oci_features (), stdout) < 0 || fflush (stdout) != 0)
    {
      fprintf (stderr, "hutch-oci features: cannot write the document: %s\n", strerror (errno));
      return OCI_EXIT_FAIL;
    }
  return 0;
}

static int
cmd_spec (int argc, char **argv)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_free_ char *bundle = NULL, *path = NULL;
  bool rootless = false;
  FILE *f;
  int c, fd, status = 0;

  optind = 1;
  while ((c = cmd_opt_next ("hutch-oci", &oci_spec_def, argc, argv, &status)) != -1)
    {
      if (c == CMD_OPT_EXIT)
        return status;
      if (c == OPT_ROOTLESS)
        rootless = true;
      else
        {
          free (bundle);
          bundle = hutch_xstrdup (optarg);
        }
    }
  if (optind != argc)
    {
      fprintf (stderr, "hutch-oci spec: takes no arguments; see `hutch-oci spec --help`\n");
      return OCI_EXIT_FAIL;
    }
  path = hutch_xasprintf ("%s/config.json", bundle ? bundle : ".");
  /* O_EXCL: an existing file (or a symlink put there) is never
     overwritten, whoever made it meanwhile.  */
  fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0)
    {
      if (errno == EEXIST)
        hutch_error_set_exit (&err, OCI_EXIT_FAIL, 0, "%s exists; remove it first", path);
      else
        hutch_error_set_exit (&err, OCI_EXIT_FAIL, errno, "cannot create %s", path);
      return cmd_report (&err);
    }
  f = fdopen (fd, "w");
  if (f == NULL)
    {
      close (fd);
      hutch_error_set_exit (&err, OCI_EXIT_FAIL, errno, "write %s", path);
      return cmd_report (&err);
    }
  status = print_json (hutch_oci_example_config (rootless, getuid (), getgid ()), f);
  if (fclose (f) != 0 || status < 0)
    {
      hutch_error_set_exit (&err, OCI_EXIT_FAIL, errno, "write %s", path);
      unlink (path);
      return cmd_report (&err);
    }
  return 0;
}
