/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* The commands on a container's files (src/front/ctrfs.h): diff, export,
   commit and cp.  */

#include "hutch.h"
#include "base/util.h"
#include "front/containers.h"
#include "front/ctrfs.h"
#include "image/change.h"
#include "runtime/state.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmd_diff (int argc, char **argv);
static int cmd_export (int argc, char **argv);
static int cmd_commit (int argc, char **argv);
static int cmd_cp (int argc, char **argv);

enum
{
  OPT_FORMAT = 256,
};

static const struct cmd_opt diff_opts[] = {
  { "format", OPT_FORMAT, required_argument, "FORMAT",
    "text (default: one `KIND /path` a line) or json\n(podman's {\"changed\", \"added\", "
    "\"deleted\"})",
    "text json" },
  { 0 },
};

const struct cmd_def cmd_diff_def = {
  .name = "diff",
  .summary = "list what a container changed in its image's files",
  .usage = "Usage: hutch diff [OPTIONS] CONTAINER\n"
           "\n"
           "List the files and directories a container of an image added (A), changed (C)\n"
           "or deleted (D), sorted by path.\n",
  .opts = diff_opts,
  .operands = CMD_VALUE_CONTAINER,
  .fn = cmd_diff,
  .flags = CMD_PERMUTE,
};

static const struct cmd_opt export_opts[] = {
  { "output", 'o', required_argument, "FILE", "write the tar to FILE (default: standard output)",
    CMD_VALUE_FILE },
  { 0 },
};

const struct cmd_def cmd_export_def = {
  .name = "export",
  .summary = "write a container's file system as a tar archive",
  .usage = "Usage: hutch export [OPTIONS] CONTAINER\n"
           "\n"
           "Write the container's whole file system as a tar archive, with the owners it\n"
           "sees: a running container's as it is now, a stopped one's as it left it.\n",
  .opts = export_opts,
  .operands = CMD_VALUE_CONTAINER,
  .fn = cmd_export,
  .flags = CMD_PERMUTE,
};

static const struct cmd_opt commit_opts[] = {
  { "change", 'c', required_argument, "INSTRUCTION",
    "set the image's config with a Dockerfile instruction:\nCMD, ENTRYPOINT, ENV, EXPOSE, LABEL, "
    "STOPSIGNAL,\nUSER, VOLUME or WORKDIR (repeatable)",
    NULL },
  { "message", 'm', required_argument, "MESSAGE", "the comment of the new layer's history entry",
    NULL },
  { "author", 'a', required_argument, "AUTHOR", "the author of the image", NULL },
  { 0 },
};

const struct cmd_def cmd_commit_def = {
  .name = "commit",
  .summary = "make an image of a container's changes",
  .usage = "Usage: hutch commit [OPTIONS] CONTAINER [IMAGE[:TAG]]\n"
           "\n"
           "Make a new image: the container's image with what the container changed as\n"
           "one more layer.  A running container is not paused.  Prints the image's id.\n",
  .opts = commit_opts,
  .operands = CMD_VALUE_CONTAINER,
  .fn = cmd_commit,
  .flags = CMD_PERMUTE,
};

static const struct cmd_opt cp_opts[] = {
  { "archive", 'a', no_argument, NULL,
    "copying in, keep the files' owners (as the container's\nids they map to; default: the "
    "container's root)",
    NULL },
  { "follow-link", 'L', no_argument, NULL, "follow a symlink given as the source", NULL },
  { 0 },
};

const struct cmd_def cmd_cp_def = {
  .name = "cp",
  .summary = "copy files between a container and the host",
  .usage = "Usage: hutch cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n"
           "       hutch cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH\n"
           "\n"
           "Copy a file or a directory out of a container or into it, running or not, with\n"
           "docker cp's rules for paths; - is a tar archive on standard output or input.\n",
  .opts = cp_opts,
  .operands = CMD_VALUE_FILE,
  .fn = cmd_cp,
  .flags = CMD_PERMUTE,
};

/* The container REF names, and its state.  */
static int
find (const char *ref, struct hutch_ctr *ret, struct hutch_state *ret_st, hutch_error_t *err)
{
  _cleanup_free_ char *root = hutch_ctrs_root (cmd_globals.root, err);

  hutch_state_init (ret_st);
  if (root == NULL || hutch_ctr_lookup (root, ref, ret, err) < 0)
    return -1;
  if (hutch_ctr_state (ret, ret_st, err) < 0)
    {
      hutch_ctr_clear (ret);
      return -1;
    }
  return 0;
}

/* ---- diff ----------------------------------------------------------------- */

static void
print_json (const struct hutch_change *v, size_t n)
{
  static const char kinds[] = { 'C', 'A', 'D' };
  static const char *const keys[] = { "changed", "added", "deleted" };
  json_t *o = json_object ();
  char *text;
  size_t i, k;

  for (k = 0; k < 3; k++)
    {
      json_t *a = json_array ();
      for (i = 0; i < n; i++)
        if (v[i].kind == kinds[k])
          json_array_append_new (a, json_string (v[i].path));
      if (json_array_size (a))
        json_object_set_new (o, keys[k], a);
      else
        json_decref (a);
    }
  text = json_dumps (o, JSON_INDENT (4) | JSON_PRESERVE_ORDER);
  printf ("%s\n", text ? text : "{}");
  free (text);
  json_decref (o);
}

static int
cmd_diff (int argc, char **argv)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_change *v = NULL;
  struct hutch_ctr c;
  struct hutch_state st;
  bool json = false;
  size_t n = 0, i;
  int opt, ret = 0;

  optind = 1;
  while ((opt = cmd_next_opt (&cmd_diff_def, argc, argv, &ret)) != -1)
    {
      if (opt == 1000)
        return ret;
      if (opt == OPT_FORMAT)
        {
          if (strcmp (optarg, "json") == 0)
            json = true;
          else if (strcmp (optarg, "text") != 0)
            {
              fprintf (stderr, "hutch diff: --format `%s`: expected text or json\n", optarg);
              return HUTCH_EXIT_ERROR;
            }
        }
    }
  if (argc - optind != 1)
    {
      fprintf (stderr, "hutch diff: expected one CONTAINER; see `hutch diff --help`\n");
      return HUTCH_EXIT_ERROR;
    }
  if (find (argv[optind], &c, &st, &err) < 0)
    return cmd_report (&err);
  ret = hutch_ctrfs_diff (&c, &st, &v, &n, &err);
  hutch_ctr_clear (&c);
  hutch_state_clear (&st);
  if (ret < 0)
    return cmd_report (&err);
  if (json)
    print_json (v, n);
  else
    for (i = 0; i < n; i++)
      {
        /* The names are the container's: no control character reaches
           the terminal.  */
        cmd_scrub (v[i].path);
        printf ("%c %s\n", v[i].kind, v[i].path);
      }
  hutch_changes_free (v, n);
  return 0;
}

/* ---- export --------------------------------------------------------------- */

static int
cmd_export (int argc, char **argv)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  const char *output = NULL;
  _cleanup_free_ char *tmp = NULL;
  struct hutch_ctr c;
  struct hutch_state st;
  int opt, ret = 0, fd = STDOUT_FILENO;

  optind = 1;
  while ((opt = cmd_next_opt (&cmd_export_def, argc, argv, &ret)) != -1)
    {
      if (opt == 1000)
        return ret;
      if (opt == 'o')
        output = optarg;
    }
  if (argc - optind != 1)
    {
      fprintf (stderr, "hutch export: expected one CONTAINER; see `hutch export --help`\n");
      return HUTCH_EXIT_ERROR;
    }
  if (output == NULL && isatty (STDOUT_FILENO))
    {
      fprintf (stderr, "hutch export: refusing to write a tar archive to a terminal; give "
                       "-o FILE, or redirect: hutch export CONTAINER > FILE\n");
      return HUTCH_EXIT_ERROR;
    }
  if (find (argv[optind], &c, &st, &err) < 0)
    return cmd_report (&err);
  if (output)
    {
      /* A temporary name beside FILE, renamed when complete: a failed
         export leaves no half archive under the name asked for.  */
      tmp = hutch_xasprintf ("%s.hutch-%d", output, (int)getpid ());
      fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd < 0)
        {
          hutch_error_set (&err, errno, "create `%s`", output);
          hutch_ctr_clear (&c);
          hutch_state_clear (&st);
          return cmd_report (&err);
        }
    }
  ret = hutch_ctrfs_export (&c, &st, fd, &err);
  hutch_ctr_clear (&c);
  hutch_state_clear (&st);
  if (output)
    {
      if (ret == 0 && (fsync (fd) < 0 || close (fd) < 0))
        ret = hutch_error_set (&err, errno, "write `%s`", output);
      else if (ret < 0)
        close (fd);
      if (ret == 0 && rename (tmp, output) < 0)
        ret = hutch_error_set (&err, errno, "rename `%s` to `%s`", tmp, output);
      if (ret < 0)
        unlink (tmp);
    }
  return ret < 0 ? cmd_report (&err) : 0;
}

/* ---- commit --------------------------------------------------------------- */

static int
cmd_commit (int argc, char **argv)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_strv_ char **changes = NULL;
  _cleanup_free_ char *id = NULL;
  struct hutch_commit_opts o = { 0 };
  struct hutch_ctr c;
  struct hutch_state st;
  int opt, ret = 0;

  optind = 1;
  while ((opt = cmd_next_opt (&cmd_commit_def, argc, argv, &ret)) != -1)
    switch (opt)
      {
      case 1000:
        return ret;
      case 'c':
        hutch_strv_push (&changes, hutch_xstrdup (optarg));
        break;
      case 'm':
        o.message = optarg;
        break;
      case 'a':
        o.author = optarg;
        break;
      }
  if (argc - optind < 1 || argc - optind > 2)
    {
      fprintf (stderr,
               "hutch commit: expected CONTAINER and an optional IMAGE[:TAG]; see `hutch commit "
               "--help`\n");
      return HUTCH_EXIT_ERROR;
    }
  o.changes = changes;
  o.name = argc - optind == 2 ? argv[optind + 1] : NULL;
  /* A bad --change costs no look at the container.  */
  if (hutch_image_check_commit_changes (changes, &err) < 0
      || find (argv[optind], &c, &st, &err) < 0)
    return cmd_report (&err);
  ret = hutch_ctrfs_commit (&c, &st, &o, &id, &err);
  hutch_ctr_clear (&c);
  hutch_state_clear (&st);
  if (ret < 0)
    return cmd_report (&err);
  printf ("%s\n", id);
  return 0;
}

/* ---- cp ------------------------------------------------------------------- */

static int
cmd_cp (int argc, char **argv)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_free_ char *sctr = NULL, *spath = NULL, *dctr = NULL, *dpath = NULL;
  struct hutch_cp_opts o = { .in_fd = STDIN_FILENO, .out_fd = STDOUT_FILENO };
  struct hutch_ctr c;
  struct hutch_state st;
  const char *ref;
  int opt, ret = 0;

  optind = 1;
  while ((opt = cmd_next_opt (&cmd_cp_def, argc, argv, &ret)) != -1)
    switch (opt)
      {
      case 1000:
        return ret;
      case 'a':
        o.archive = true;
        break;
      case 'L':
        o.follow_link = true;
        break;
      }
  if (argc - optind != 2)
    {
      fprintf (stderr, "hutch cp: expected SRC and DEST; see `hutch cp --help`\n");
      return HUTCH_EXIT_ERROR;
    }
  hutch_cp_split_arg (argv[optind], &sctr, &spath);
  hutch_cp_split_arg (argv[optind + 1], &dctr, &dpath);
  if (sctr && dctr)
    {
      fprintf (stderr, "hutch cp: copying between containers is not supported; copy to the "
                       "host first\n");
      return HUTCH_EXIT_ERROR;
    }
  if (sctr == NULL && dctr == NULL)
    {
      fprintf (stderr, "hutch cp: one of SRC and DEST must be CONTAINER:PATH (a local path "
                       "with a colon is written ./NAME:X or /PATH/NAME:X)\n");
      return HUTCH_EXIT_ERROR;
    }
  if (*spath == '\0' || *dpath == '\0')
    {
      fprintf (stderr, "hutch cp: %s path is empty; give `/` for the container's root\n",
               *spath == '\0' ? "the source" : "the destination");
      return HUTCH_EXIT_ERROR;
    }
  o.to_container = dctr != NULL;
  o.ctr_path = o.to_container ? dpath : spath;
  o.host_path = o.to_container ? spath : dpath;
  ref = o.to_container ? dctr : sctr;
  if (!o.to_container && strcmp (o.host_path, "-") == 0 && isatty (STDOUT_FILENO))
    {
      fprintf (stderr,
               "hutch cp: refusing to write a tar archive to a terminal; redirect "
               "standard output: hutch cp %s:%s - > FILE\n",
               ref, o.ctr_path);
      return HUTCH_EXIT_ERROR;
    }
  if (o.to_container && strcmp (o.host_path, "-") == 0 && isatty (STDIN_FILENO))
    {
      fprintf (stderr,
               "hutch cp: the tar archive is to come from standard input, which is a "
               "terminal; pipe it in: tar -c ... | hutch cp - %s:%s\n",
               ref, o.ctr_path);
      return HUTCH_EXIT_ERROR;
    }
  if (find (ref, &c, &st, &err) < 0)
    return cmd_report (&err);
  ret = hutch_ctrfs_cp (&c, &st, &o, &err);
  hutch_ctr_clear (&c);
  hutch_state_clear (&st);
  return ret < 0 ? cmd_report (&err) : 0;
}
