/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* The image commands: images, image, rmi, tag, import, load, save.  */

#include "hutch.h"
#include "image/change.h"
#include "image/image.h"
#include "image/reference.h"
#include "image/sqfsimage.h"
#include "base/units.h"
#include "base/util.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmd_images (int argc, char **argv);
static int cmd_rmi (int argc, char **argv);
static int cmd_tag (int argc, char **argv);
static int cmd_import (int argc, char **argv);
static int cmd_load (int argc, char **argv);
static int cmd_save (int argc, char **argv);
static int cmd_image (int argc, char **argv);
static int image_inspect (int argc, char **argv);
static int image_prune (int argc, char **argv);

enum
{
  OPT_FORMAT = 256,
};

static const struct cmd_opt images_opts[] = {
  { "format", 'f', required_argument, "FORMAT", "table (default) or json", "table json" },
  { "quiet", 'q', no_argument, NULL, "only the image ids", NULL },
  { 0 },
};

const struct cmd_def cmd_images_def = {
  .name = "images",
  .summary = "list the images in the store",
  .usage = "Usage: hutch images [OPTIONS]\n\nList the images in the store.\n",
  .opts = images_opts,
  .fn = cmd_images,
};

static const struct cmd_opt rmi_opts[] = {
  { "force", 'f', no_argument, NULL, "remove even an image a running container uses", NULL },
  { 0 },
};

const struct cmd_def cmd_rmi_def = {
  .name = "rmi",
  .summary = "remove images",
  .usage = "Usage: hutch rmi [OPTIONS] IMAGE...\n"
           "\n"
           "Remove images from the store, and the layers no image uses any more.\n",
  .opts = rmi_opts,
  .operands = CMD_VALUE_IMAGE,
  .fn = cmd_rmi,
  .flags = CMD_PERMUTE,
};

const struct cmd_def cmd_tag_def = {
  .name = "tag",
  .summary = "give an image another name",
  .usage = "Usage: hutch tag IMAGE NAME[:TAG]...\n\nGive IMAGE more names.\n",
  .operands = CMD_VALUE_IMAGE,
  .fn = cmd_tag,
};

static const struct cmd_opt import_opts[] = {
  { "change", 'c', required_argument, "INSTRUCTION",
    "set the image's config with a Dockerfile instruction:\nCMD, ENTRYPOINT, ENV, EXPOSE, LABEL, "
    "USER "
    "or WORKDIR\n(repeatable)",
    NULL },
  { 0 },
};

const struct cmd_def cmd_import_def = {
  .name = "import",
  .summary = "make an image from a root filesystem tarball",
  .usage = "Usage: hutch import [OPTIONS] TARBALL|- NAME[:TAG]\n"
           "\n"
           "Make a one-layer image from a root filesystem tarball (tar, tar.gz or tar.zst),\n"
           "such as Alpine's minirootfs; - reads it from standard input.\n",
  .opts = import_opts,
  .operands = CMD_VALUE_FILE,
  .fn = cmd_import,
};

static const struct cmd_opt load_opts[] = {
  { "input", 'i', required_argument, "FILE", "the archive", CMD_VALUE_FILE },
  { "quiet", 'q', no_argument, NULL, "print nothing", NULL },
  { 0 },
};

const struct cmd_def cmd_load_def = {
  .name = "load",
  .summary = "load images from a docker-archive or oci-archive",
  .usage = "Usage: hutch load [-q] -i FILE\n"
           "\n"
           "Load the images of a docker-archive or an oci-archive (gzip-compressed or not),\n"
           "as docker save, podman save and skopeo copy write them.\n",
  .opts = load_opts,
  .fn = cmd_load,
};

static const struct cmd_opt save_opts[] = {
  { "output", 'o', required_argument, "FILE", "the archive to write", CMD_VALUE_FILE },
  { "format", OPT_FORMAT, required_argument, "FORMAT",
    "oci-archive (default), docker-archive, or squashfs:\none file of the image's root and config, "
    "that\n`hutch run FILE` mounts as it is",
    "oci-archive docker-archive squashfs" },
  { 0 },
};

const struct cmd_def cmd_save_def = {
  .name = "save",
  .summary = "save an image to an oci-archive, docker-archive or squashfs file",
  .usage = "Usage: hutch save [OPTIONS] -o FILE IMAGE\n"
           "\n"
           "Write IMAGE to an archive that docker load, podman load and skopeo read, or\n"
           "(--format squashfs) to one squashfs file that hutch run mounts without\n"
           "unpacking: one copy on a shared file system serves every node.\n",
  .opts = save_opts,
  .operands = CMD_VALUE_IMAGE,
  .fn = cmd_save,
  .flags = CMD_PERMUTE,
};

/* `hutch image SUBCOMMAND`: its own inspect and prune; ls, rm and tag are
   the top-level commands under other names (their messages name those).  */
static const struct cmd_def image_inspect_def = {
  .name = "inspect",
  .summary = "print the images' records and configs as JSON",
  .usage = "Usage: hutch image inspect IMAGE|FILE.sqfs...\n"
           "\n"
           "Print the images' records and configs as JSON; of a squashfs image file\n"
           "(hutch save --format squashfs), the id, name and config it keeps.\n",
  .operands = CMD_VALUE_IMAGE,
  .fn = image_inspect,
  .flags = CMD_PERMUTE,
};

static const struct cmd_def image_ls_def = {
  .name = "ls",
  .summary = "list images (as hutch images)",
  .usage = "Usage: hutch image ls [OPTIONS]\n\nList the images in the store (as hutch images).\n",
  .opts = images_opts,
  .fn = cmd_images,
};

static const struct cmd_def image_list_def = {
  .name = "list",
  .summary = "list images (as hutch images)",
  .usage = "Usage: hutch image list [OPTIONS]\n\nList the images in the store (as hutch images).\n",
  .opts = images_opts,
  .fn = cmd_images,
  .flags = CMD_HIDDEN,
};

static const struct cmd_def image_rm_def = {
  .name = "rm",
  .summary = "remove images (as hutch rmi)",
  .usage = "Usage: hutch image rm [OPTIONS] IMAGE...\n"
           "\n"
           "Remove images from the store, and the layers no image uses any more (as hutch rmi).\n",
  .opts = rmi_opts,
  .operands = CMD_VALUE_IMAGE,
  .fn = cmd_rmi,
  .flags = CMD_PERMUTE,
};

static const struct cmd_def image_prune_def = {
  .name = "prune",
  .summary = "remove layers and blobs no image uses, and what killed containers left behind",
  .usage = "Usage: hutch image prune\n"
           "\n"
           "Remove the layers and blobs no image uses, and what killed containers left behind.\n",
  .fn = image_prune,
};

static const struct cmd_def image_tag_def = {
  .name = "tag",
  .summary = "give an image more names (as hutch tag)",
  .usage = "Usage: hutch image tag IMAGE NAME[:TAG]...\n\nGive IMAGE more names (as hutch tag).\n",
  .operands = CMD_VALUE_IMAGE,
  .fn = cmd_tag,
};

static const struct cmd_def *const image_subs[] = {
  &image_inspect_def, &image_ls_def, &image_list_def, &image_rm_def, &image_prune_def,
  &image_tag_def,     NULL,
};

const struct cmd_def cmd_image_def = {
  .name = "image",
  .summary = "manage images: inspect, ls, rm, prune, tag",
  .usage = "Usage: hutch image COMMAND [ARGS...]\n\nManage the images in the store.\n",
  .fn = cmd_image,
  .subs = image_subs,
};

static void
print_lines (char **lines)
{
  size_t i;
  for (i = 0; lines && lines[i]; i++)
    printf ("%s\n", lines[i]);
}

static char *
short_id (const char *id)
{
  const char *hex = strchr (id, ':');
  return hutch_xstrndup (hex ? hex + 1 : id, 12);
}

/* The sum of IMG's layer blobs as stored (compressed as shipped): what
   the index records.  The unpacked size that podman shows is not
   recorded, and measuring the layers' files would walk every tree.  */
static int64_t
image_size (const struct hutch_image *img)
{
  int64_t size = 0;
  size_t k;

  for (k = 0; k < img->n_layers; k++)
    size += img->layers[k].size;
  return size;
}

/* The CREATED column: "3 days ago", as podman and docker write it, or
   N/A when the config says no time (or one this cannot read).  */
static char *
created_since (const struct hutch_image *img, time_t now)
{
  _cleanup_free_ char *ago = NULL;
  time_t t;

  if (!hutch_parse_rfc3339 (img->created, &t))
    return hutch_xstrdup ("N/A");
  ago = hutch_human_duration ((int64_t)(now - t));
  return hutch_xasprintf ("%s ago", ago);
}

/* --format json: one object per image, for scripts; Size is the sum of
   its layers' sizes.  */
static void
print_images_json (const struct hutch_image *imgs, size_t n)
{
  json_t *arr = json_array ();
  char *text;
  size_t i, k;

  for (i = 0; i < n; i++)
    {
      json_t *names = json_array ();
      int64_t size = image_size (&imgs[i]);
      for (k = 0; imgs[i].names && imgs[i].names[k]; k++)
        json_array_append_new (names, json_string (imgs[i].names[k]));
      json_array_append_new (arr, json_pack ("{s:s, s:o, s:s?, s:s?, s:I, s:I}", "Id", imgs[i].id,
                                             "Names", names, "Digest", imgs[i].manifest_digest,
                                             "Created", imgs[i].created, "Size", (json_int_t)size,
                                             "Added", (json_int_t)imgs[i].added));
    }
  text = json_dumps (arr, JSON_INDENT (2));
  printf ("%s\n", text);
  free (text);
  json_decref (arr);
}

/* The table's rows for IMG: one per name, or one of <none> for an image
   without names; a name that does not parse shows as <none> too.  */
#define ROW_FORMAT "%-40s %-20s %-12s %-22s %s\n"

static void
print_image_rows (const struct hutch_image *img, const char *id, time_t now)
{
  _cleanup_free_ char *created = created_since (img, now);
  _cleanup_free_ char *size = hutch_human_size (image_size (img));
  size_t k;

  for (k = 0; k == 0 || (img->names && img->names[k]); k++)
    {
      const char *name = img->names ? img->names[k] : NULL;
      struct hutch_reference ref;
      hutch_error_t e = HUTCH_ERROR_INIT;
      if (name && hutch_reference_parse (name, &ref, &e) == 0)
        {
          _cleanup_free_ char *repo = hutch_reference_name (&ref);
          printf (ROW_FORMAT, repo, ref.tag ? ref.tag : "<none>", id, created, size);
          hutch_reference_clear (&ref);
        }
      else
        printf (ROW_FORMAT, "<none>", "<none>", id, created, size);
      hutch_error_clear (&e);
      if (name == NULL)
        break;
    }
}

/* The table, or with -q only the short ids, one per image.  */
static void
print_images_table (const struct hutch_image *imgs, size_t n, bool quiet)
{
  time_t now = time (NULL);
  size_t i;

  if (!quiet)
    printf (ROW_FORMAT, "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE");
  for (i = 0; i < n; i++)
    {
      _cleanup_free_ char *id = short_id (imgs[i].id);
      if (quiet)
        printf ("%s\n", id);
      else
        print_image_rows (&imgs[i], id, now);
    }
}

static int
cmd_images (int argc, char **argv)
{
  _cleanup_store_ struct hutch_store *s = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_image *imgs = NULL;
  size_t n = 0;
  bool json = false, quiet = false;
  int c, ret = 0;

  optind = 1;
  while ((c = cmd_next_opt (&cmd_images_def, argc, argv, &ret)) != -1)
    {
      if (c == 1000)
        return ret;
      if (c == 'q')
        quiet = true;
      else if (c == 'f')
        {
          if (strcmp (optarg, "json") == 0)
            json = true;
          else if (strcmp (optarg, "table") != 0)
            {
              fprintf (stderr, "hutch images: --format `%s`: expected table or json\n", optarg);
              return HUTCH_EXIT_ERROR;
            }
        }
    }
  if (optind < argc)
    {
      fprintf (stderr, "hutch images: unexpected argument `%s`\n", argv[optind]);
      return HUTCH_EXIT_ERROR;
    }
  if (quiet && json)
    {
      fprintf (stderr, "hutch images: -q and --format json do not go together; choose one\n");
      return HUTCH_EXIT_ERROR;
    }
  if (hutch_image_store_open (cmd_globals.root, &s, &err) < 0
      || hutch_store_list_images (s, &imgs, &n, &err) < 0)
    return cmd_report (&err);
  if (json)
    print_images_json (imgs, n);
  else
    print_images_table (imgs, n, quiet);
  hutch_image_list_free (imgs, n);
  return 0;
}

static int
cmd_rmi (int argc, char **argv)
{
  _cleanup_store_ struct hutch_store *s = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  bool force = false;
  int c, ret = 0, i;

  optind = 1;
  while ((c = cmd_next_opt (&cmd_rmi_def, argc, argv, &ret)) != -1)
    {
      if (c == 1000)
        return ret;
      if (c == 'f')
        force = true;
    }
  if (optind >= argc)
    {
      fprintf (stderr, "hutch rmi: name the images to remove; see `hutch rmi --help`\n");
      return HUTCH_EXIT_ERROR;
    }
  if (hutch_image_store_open (cmd_globals.root, &s, &err) < 0)
    return cmd_report (&err);
  for (i = optind; i < argc; i++)
    {
      _cleanup_strv_ char **lines = NULL;
      if (hutch_image_remove (s, argv[i], force, &lines, &err) < 0)
        ret = cmd_report (&err);
      print_lines (lines);
    }
  return ret;
}

static int
cmd_tag (int argc, char **argv)
{
  _cleanup_store_ struct hutch_store *s = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  int c, ret = 0, i;

  optind = 1;
  while ((c = cmd_next_opt (&cmd_tag_def, argc, argv, &ret)) != -1)
    if (c == 1000)
      return ret;
  if (argc - optind < 2)
    {
      fprintf (stderr, "hutch tag: expected IMAGE and at least one NAME; see `hutch tag --help`\n");
      return HUTCH_EXIT_ERROR;
    }
  if (hutch_image_store_open (cmd_globals.root, &s, &err) < 0)
    return cmd_report (&err);
  for (i = optind + 1; i < argc; i++)
    if (hutch_store_tag (s, argv[optind], argv[i], &err) < 0)
      return cmd_report (&err);
  return 0;
}

static int
cmd_import (int argc, char **argv)
{
  _cleanup_store_ struct hutch_store *s = NULL;
  _cleanup_free_ char *id = NULL;
  _cleanup_strv_ char **changes = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  int c, ret = 0;

  optind = 1;
  while ((c = cmd_next_opt (&cmd_import_def, argc, argv, &ret)) != -1)
    {
      if (c == 1000)
        return ret;
      if (c == 'c')
        hutch_strv_push (&changes, hutch_xstrdup (optarg));
    }
  if (argc - optind != 2)
    {
      fprintf (stderr, "hutch import: expected TARBALL and NAME; see `hutch import --help`\n");
      return HUTCH_EXIT_ERROR;
    }
  /* Before the store is opened and the tarball read.  */
  if (hutch_image_check_changes (changes, &err) < 0)
    return cmd_report (&err);
  if (hutch_image_store_open (cmd_globals.root, &s, &err) < 0
      || hutch_image_import (s, argv[optind], argv[optind + 1], changes, &id, &err) < 0)
    return cmd_report (&err);
  printf ("%s\n", id);
  return 0;
}

static int
cmd_load (int argc, char **argv)
{
  _cleanup_store_ struct hutch_store *s = NULL;
  _cleanup_strv_ char **lines = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  const char *input = NULL;
  bool quiet = false;
  int c, ret = 0;

  optind = 1;
  while ((c = cmd_next_opt (&cmd_load_def, argc, argv, &ret)) != -1)
    {
      if (c == 1000)
        return ret;
      if (c == 'i')
        input = optarg;
      else if (c == 'q')
        quiet = true;
    }
  if (input == NULL || optind < argc)
    {
      fprintf (stderr, "hutch load: give the archive with -i FILE; see `hutch load --help`\n");
      return HUTCH_EXIT_ERROR;
    }
  if (hutch_image_store_open (cmd_globals.root, &s, &err) < 0)
    return cmd_report (&err);
  ret = hutch_image_load (s, input, &lines, &err);
  if (!quiet)
    print_lines (lines);
  return ret < 0 ? cmd_report (&err) : 0;
}

static int
cmd_save (int argc, char **argv)
{
  _cleanup_store_ struct hutch_store *s = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  const char *output = NULL;
  bool docker = false, squashfs = false;
  int c, ret = 0;

  optind = 1;
  while ((c = cmd_next_opt (&cmd_save_def, argc, argv, &ret)) != -1)
    {
      if (c == 1000)
        return ret;
      if (c == 'o')
        output = optarg;
      else if (c == OPT_FORMAT)
        {
          docker = strcmp (optarg, "docker-archive") == 0;
          squashfs = strcmp (optarg, "squashfs") == 0;
          if (!docker && !squashfs && strcmp (optarg, "oci-archive") != 0)
            {
              fprintf (stderr,
                       "hutch save: --format `%s`: expected oci-archive, docker-archive or "
                       "squashfs\n",
                       optarg);
              return HUTCH_EXIT_ERROR;
            }
        }
    }
  if (output == NULL || argc - optind != 1)
    {
      fprintf (stderr, "hutch save: expected -o FILE and one IMAGE; see `hutch save --help`\n");
      return HUTCH_EXIT_ERROR;
    }
  if (hutch_image_store_open (cmd_globals.root, &s, &err) < 0
      || (squashfs ? hutch_image_save_squashfs (s, argv[optind], output, &err)
                   : hutch_image_save (s, argv[optind], output, docker, &err))
             < 0)
    return cmd_report (&err);
  return 0;
}

/* A squashfs image file, as hutch run takes it: what its note keeps (no
   layers, no manifest: it has neither).  */
static int
inspect_file (const char *path, json_t *arr, hutch_error_t *err)
{
  struct hutch_sqfs_image img;
  json_t *config = NULL, *names = json_array ();
  json_error_t jerr;

  if (hutch_sqfs_image_open (path, &img, err) < 0)
    {
      json_decref (names);
      return -1;
    }
  if (img.name)
    json_array_append_new (names, json_string (img.name));
  if (img.config)
    config = json_loads (img.config, 0, &jerr);
  json_array_append_new (arr, json_pack ("{s:s?, s:o, s:s, s:o*}", "Id", img.id, "Names", names,
                                         "File", path, "Config", config));
  hutch_sqfs_image_clear (&img);
  return 0;
}

static int
image_inspect (int argc, char **argv)
{
  _cleanup_store_ struct hutch_store *s = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  json_t *arr;
  char *text;
  int c, ret = 0, i;

  optind = 1;
  while ((c = cmd_next_opt (&image_inspect_def, argc, argv, &ret)) != -1)
    if (c == 1000)
      return ret;
  if (optind >= argc)
    {
      fprintf (stderr, "hutch image inspect: name the images; see `hutch image inspect --help`\n");
      return HUTCH_EXIT_ERROR;
    }
  arr = json_array ();
  if (hutch_image_store_open (cmd_globals.root, &s, &err) < 0)
    {
      json_decref (arr);
      return cmd_report (&err);
    }
  for (i = optind; i < argc; i++)
    {
      struct hutch_image img;
      _cleanup_free_ char *cfg = NULL;
      json_t *names, *layers, *config;
      json_error_t jerr;
      size_t len, k;

      if (hutch_sqfs_probe (argv[i]) == 1)
        {
          if (inspect_file (argv[i], arr, &err) < 0)
            {
              json_decref (arr);
              return cmd_report (&err);
            }
          continue;
        }
      if (hutch_store_find_image (s, argv[i], &img, &err) < 0
          || hutch_store_read_blob (s, img.config_digest, 16 << 20, &cfg, &len, &err) < 0)
        {
          json_decref (arr);
          if (err.errnum == ENOENT)
            hutch_error_set (&err, 0, "image `%s` is not in the store", argv[i]);
          return cmd_report (&err);
        }
      names = json_array ();
      layers = json_array ();
      for (k = 0; img.names && img.names[k]; k++)
        json_array_append_new (names, json_string (img.names[k]));
      for (k = 0; k < img.n_layers; k++)
        json_array_append_new (
            layers, json_pack ("{s:s, s:s, s:s?, s:I}", "Digest", img.layers[k].digest, "DiffID",
                               img.layers[k].diff_id, "MediaType", img.layers[k].media_type, "Size",
                               (json_int_t)img.layers[k].size));
      config = json_loadb (cfg, len, 0, &jerr);
      json_array_append_new (arr, json_pack ("{s:s, s:o, s:s?, s:o, s:o*}", "Id", img.id, "Names",
                                             names, "Digest", img.manifest_digest, "Layers", layers,
                                             "Config", config));
      hutch_image_clear (&img);
    }
  text = json_dumps (arr, JSON_INDENT (2));
  printf ("%s\n", text);
  free (text);
  json_decref (arr);
  return 0;
}

/* `hutch image prune`: no options but --help.  */
static int
image_prune (int argc, char **argv)
{
  _cleanup_store_ struct hutch_store *s = NULL;
  _cleanup_strv_ char **lines = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  int c, ret = 0;

  optind = 1;
  while ((c = cmd_next_opt (&image_prune_def, argc, argv, &ret)) != -1)
    if (c == 1000)
      return ret;
  if (optind < argc)
    {
      fprintf (stderr, "hutch image prune: unexpected argument `%s`\n", argv[optind]);
      return HUTCH_EXIT_ERROR;
    }
  if (hutch_image_store_open (cmd_globals.root, &s, &err) < 0
      || hutch_image_prune (s, &lines, &err) < 0)
    return cmd_report (&err);
  print_lines (lines);
  return 0;
}

static int
cmd_image (int argc, char **argv)
{
  const struct cmd_def *sub;
  int c, ret = 0;

  optind = 1;
  while ((c = cmd_next_opt (&cmd_image_def, argc, argv, &ret)) != -1)
    if (c == 1000)
      return ret;
  if (optind >= argc)
    {
      cmd_help (&cmd_image_def, stderr);
      return HUTCH_EXIT_ERROR;
    }
  sub = cmd_find_sub (&cmd_image_def, argv[optind]);
  if (sub == NULL)
    {
      fprintf (stderr, "hutch image: unknown command `%s`; see `hutch image --help`\n",
               argv[optind]);
      return HUTCH_EXIT_ERROR;
    }
  /* ls, rm and tag are the top-level commands: messages name those.  */
  if (sub->fn == cmd_images)
    argv[optind] = (char *)"images";
  else if (sub->fn == cmd_rmi)
    argv[optind] = (char *)"rmi";
  else if (sub->fn == image_inspect)
    argv[optind] = (char *)"image inspect";
  else if (sub->fn == image_prune)
    argv[optind] = (char *)"image prune";
  return sub->fn (argc - optind, argv + optind);
}
