/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* `hutch run IMAGE`: the image's layers become the container's root (an
   overlay with a directory of the container's own on top), and its config
   gives the defaults of the process.  */

#include "image/unpack.h"
#include "image/conffile.h"
#include "image/driver.h"
#include "image/image.h"
#include "image/sqfsimage.h"
#include "registry/pull.h"
#include "runtime/squashmount.h"
#include "front/run.h"
#include "base/util.h"
#include "base/walk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <stdio.h>
#include <unistd.h>

/* The topmost layer that has PATH, or that hides it with a whiteout; for
   reading /etc/passwd and /etc/group of an image that is not mounted on
   the host.  Returns an O_PATH fd of that layer, or -1.  */
static int
layer_with (char **layers_bottom_first, const char *path)
{
  size_t n = hutch_strv_len (layers_bottom_first);
  while (n-- > 0)
    {
      _cleanup_close_ int dir = open (layers_bottom_first[n], O_PATH | O_DIRECTORY | O_CLOEXEC);
      int fd;
      struct stat st;
      if (dir < 0)
        continue;
      fd = hutch_walk_open_in_root (dir, path, O_PATH | O_NOFOLLOW, 0);
      if (fd < 0)
        continue;
      if (fstat (fd, &st) == 0 && S_ISCHR (st.st_mode) && st.st_rdev == makedev (0, 0))
        {
          close (fd);
          return -1; /* deleted by this layer */
        }
      close (fd);
      return HUTCH_STEAL_FD (dir);
    }
  return -1;
}

/* The probe's answer does not change while the kernel stays the same:
   remember it in the store (ROOT/.storage-probe: "RELEASE DRIVER"), so
   that a start does not pay for a probe mount.  --storage-driver and the
   config file bypass it; `hutch info` always probes afresh.  */
static int
choose_driver (const char *root, int forced, const char *scratch, enum hutch_driver_choice *ret,
               char **ret_fuse, char **ret_why, hutch_error_t *err)
{
  _cleanup_free_ char *cache = hutch_xasprintf ("%s/.storage-probe", root), *text = NULL;
  struct utsname u;
  hutch_error_t e = HUTCH_ERROR_INIT;
  char want[300];

  if (forced >= 0 || uname (&u) < 0)
    return hutch_storage_choose (forced, scratch, ret, ret_fuse, ret_why, err);
  snprintf (want, sizeof want, "%s overlay\n", u.release);
  if (hutch_read_file (cache, 4096, &text, NULL, &e) == 0 && strcmp (text, want) == 0)
    {
      *ret = HUTCH_STORAGE_OVERLAY;
      *ret_fuse = NULL;
      *ret_why = hutch_xstrdup ("kernel overlayfs (probed before with this kernel)");
      return 0;
    }
  hutch_error_clear (&e);
  if (hutch_storage_choose (forced, scratch, ret, ret_fuse, ret_why, err) < 0)
    return -1;
  /* Only a working kernel overlay is remembered: the fallbacks are
     probed again, in case the administrator fixes something.  */
  if (*ret == HUTCH_STORAGE_OVERLAY)
    {
      _cleanup_free_ char *tmp = hutch_xasprintf ("%s.%d", cache, (int)getpid ());
      int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (fd >= 0)
        {
          int w = hutch_write_all (fd, want, strlen (want));
          if (close (fd) == 0 && w == 0)
            rename (tmp, cache);
          else
            unlink (tmp);
        }
    }
  return 0;
}

/* Whether WHAT, as the user wrote it, names IMG by its id or by a digest:
   such a name is of one image, of one platform, and cannot be pulled for
   another.  */
static bool
named_by_id (const char *what, const struct hutch_image *img)
{
  const char *hex = strchr (img->id, ':');
  size_t n = strlen (what);

  if (hutch_str_has_prefix (what, "sha256:") || strchr (what, '@'))
    return true;
  hex = hex ? hex + 1 : img->id;
  return n >= 4 && strspn (what, "0123456789abcdef") == n && strncmp (hex, what, n) == 0;
}

/* The stored image IMG (config CFG) is not for the platform WANT: with
   --platform and a name that can be pulled, pulling the right one is
   the way (returns 1, with *RET_WHY saying what was found); otherwise an
   error that says how to get the right one, or to take this one as it
   is.  The default platform pulls nothing by itself: the image under
   that name was put there on purpose (pulled or loaded for another
   platform), and pulling would take the name from it.  */
static int
stored_platform_differs (const struct hutch_run_options *o, const struct hutch_image *img,
                         const struct hutch_image_config *cfg,
                         const struct hutch_platform_want *want, char **ret_why, hutch_error_t *err)
{
  _cleanup_free_ char *take = NULL, *wanted = NULL;
  _cleanup_free_ char *which = hutch_platform_describe (cfg, want, &take);
  bool by_id = named_by_id (o->image, img);

  wanted = hutch_platform_format (want->os, want->architecture, want->variant);
  if (by_id)
    return hutch_error_set (err, 0,
                            "image `%s` is %s; an id or a digest names one image, of one "
                            "platform: pull the one for %s by its repository's name, or take "
                            "this one as it is: %s",
                            o->image, which, wanted, take);
  if (!want->given)
    return hutch_error_set (err, 0,
                            "image `%s` in the store is %s; get this machine's with `hutch pull "
                            "%s` (or run with --pull=always), or take this one as it is: %s",
                            o->image, which, o->image, take);
  if (o->pull == HUTCH_PULL_NEVER)
    return hutch_error_set (err, 0,
                            "image `%s` in the store is %s, and --pull=never; get the one for %s "
                            "with `hutch pull --platform %s %s`, or take this one as it is: %s",
                            o->image, which, wanted, wanted, o->image, take);
  *ret_why = hutch_xasprintf ("image `%s` in the store is %s, and pulling the one for %s failed",
                              o->image, which, wanted);
  return 1;
}

/* The image in the store, when it is there for the platform WANT: 0 with
   *RET and *RET_CFG, 1 when it must be pulled (*RET_WHY: why, when an
   image of another platform was found), -1 on error.  */
static int
find_local (struct hutch_store *s, const struct hutch_run_options *o, const struct hutch_conf *conf,
            const struct hutch_platform_want *want, struct hutch_image *ret,
            struct hutch_image_config *ret_cfg, char **ret_why, hutch_error_t *err)
{
  int r;

  if (o->pull == HUTCH_PULL_ALWAYS)
    return 1;
  if (hutch_pull_find_local (s, o->image, conf, ret, err) < 0)
    {
      if (err->errnum != ENOENT || o->pull == HUTCH_PULL_NEVER)
        return -1;
      hutch_error_clear (err);
      return 1;
    }
  if (hutch_image_config (s, ret, ret_cfg, err) < 0)
    {
      hutch_image_clear (ret);
      return -1;
    }
  if (hutch_platform_matches (ret_cfg->os, ret_cfg->architecture, ret_cfg->variant, want->os,
                              want->architecture, want->variant))
    return 0;
  r = stored_platform_differs (o, ret, ret_cfg, want, ret_why, err);
  hutch_image_clear (ret);
  hutch_image_config_clear (ret_cfg);
  return r;
}

/* The image to run and its config: from the store, or pulled first as
   --pull says, and always for the platform asked (--platform, or this
   machine's): never another one without a word.  */
static int
find_or_pull (struct hutch_store *s, const struct hutch_run_options *o,
              const struct hutch_conf *conf, struct hutch_image *ret,
              struct hutch_image_config *ret_cfg, hutch_error_t *err)
{
  struct hutch_pull_opts po
      = { .reg = { .tls_verify = o->tls_verify, .authfile = o->authfile, .conf = conf },
          .platform = o->platform,
          .quiet = o->quiet,
          .strict_platform = true };
  struct hutch_platform_want want;
  _cleanup_free_ char *id = NULL, *why = NULL;
  int r;

  if (hutch_platform_resolve (o->platform, &want, err) < 0)
    return -1;
  r = find_local (s, o, conf, &want, ret, ret_cfg, &why, err);
  hutch_platform_want_clear (&want);
  if (r <= 0)
    return r;
  if (hutch_pull (s, o->image, &po, &id, err) < 0)
    return why ? hutch_error_prefix (err, "%s", why) : -1;
  if (hutch_store_find_by_digest (s, id, ret, err) < 0)
    return -1;
  if (hutch_image_config (s, ret, ret_cfg, err) < 0)
    {
      hutch_image_clear (ret);
      return -1;
    }
  return 0;
}

/* The image, found or pulled, with its layers unpacked and its config
   read.  On failure nothing is left to clear in *RET_IMG or *RET_CFG.  */
static int
load_image (struct hutch_store *s, const struct hutch_run_options *o, const struct hutch_conf *conf,
            const char *root, struct hutch_image *ret_img, struct hutch_image_config *ret_cfg,
            hutch_error_t *err)
{
  if (find_or_pull (s, o, conf, ret_img, ret_cfg, err) < 0)
    {
      if (err->errnum == ENOENT && o->pull == HUTCH_PULL_NEVER)
        hutch_error_set (err, 0,
                         "image `%s` is not in the store (%s) and --pull=never; pull it with "
                         "`hutch pull %s`, or bring it in with `hutch load -i FILE`",
                         o->image, root, o->image);
      return -1;
    }
  if (hutch_image_unpack_layers (s, ret_img, err) < 0)
    {
      hutch_image_clear (ret_img);
      hutch_image_config_clear (ret_cfg);
      return -1;
    }
  return 0;
}

int
hutch_run_image_find (struct hutch_store *s, const struct hutch_run_options *o,
                      struct hutch_image *ret_img, struct hutch_image_config *ret_cfg,
                      hutch_error_t *err)
{
  _cleanup_free_ char *root = hutch_xstrdup (hutch_store_root (s));
  struct hutch_conf conf = { 0 };
  int r;

  if (hutch_conf_load (&conf, err) < 0)
    return -1;
  r = load_image (s, o, &conf, root, ret_img, ret_cfg, err);
  hutch_conf_clear (&conf);
  return r;
}

/* A deep copy of SRC (hutch build's step, which the caller keeps).  */
static void
image_copy (struct hutch_image *dst, const struct hutch_image *src)
{
  size_t i;

  memset (dst, 0, sizeof *dst);
  dst->id = hutch_xstrdup (src->id);
  dst->config_digest = hutch_xstrdup (src->config_digest);
  dst->names = hutch_xmalloc0 (sizeof (char *));
  dst->layers = hutch_xmalloc0 ((src->n_layers + 1) * sizeof *dst->layers);
  for (i = 0; i < src->n_layers; i++)
    {
      dst->layers[i].digest = src->layers[i].digest ? hutch_xstrdup (src->layers[i].digest) : NULL;
      dst->layers[i].diff_id = hutch_xstrdup (src->layers[i].diff_id);
      dst->layers[i].media_type
          = src->layers[i].media_type ? hutch_xstrdup (src->layers[i].media_type) : NULL;
      dst->layers[i].size = src->layers[i].size;
    }
  dst->n_layers = src->n_layers;
}

/* hutch build's step: its layers unpacked, its config read.  */
static int
load_built (struct hutch_store *s, const struct hutch_image *built, struct hutch_image *ret_img,
            struct hutch_image_config *ret_cfg, hutch_error_t *err)
{
  image_copy (ret_img, built);
  if (hutch_image_unpack_layers (s, ret_img, err) < 0
      || hutch_image_config (s, ret_img, ret_cfg, err) < 0)
    {
      hutch_image_clear (ret_img);
      return -1;
    }
  return 0;
}

/* The directories of IMG's layers, bottom first; an empty list, not NULL,
   for an image without layers.  */
static char **
layer_dirs (struct hutch_store *s, const struct hutch_image *img)
{
  char **layers = NULL;
  size_t i;

  for (i = 0; i < img->n_layers; i++)
    {
      _cleanup_free_ char *l = hutch_store_layer_path (s, img->layers[i].diff_id);
      hutch_strv_push (&layers, hutch_xasprintf ("%s/diff", l)); /* see unpack_layer */
    }
  if (layers == NULL)
    layers = hutch_xmalloc0 (sizeof (char *));
  return layers;
}

/* The container's root at SPEC's root_path, over LAYERS: a copy made now
   (vfs), or an overlay that the launcher mounts (kernel or FUSE, whose
   program *FUSE names; taken).  */
static int
make_root (struct hutch_spec *spec, enum hutch_driver_choice driver, char **layers, const char *dir,
           char **fuse, hutch_error_t *err)
{
  struct hutch_overlay *ov;
  size_t n = hutch_strv_len (layers), i;

  if (driver == HUTCH_STORAGE_VFS)
    {
      if (hutch_layers_flatten_dirs (layers, spec->root_path, true, err) < 0)
        return hutch_error_prefix (err, "copy the image (vfs storage driver)");
      return 0;
    }
  ov = hutch_xmalloc0 (sizeof *ov);
  ov->driver = driver == HUTCH_STORAGE_OVERLAY ? HUTCH_DRIVER_OVERLAY : HUTCH_DRIVER_FUSE;
  ov->lower = hutch_xmalloc0 ((n + 1) * sizeof (char *));
  for (i = 0; i < n; i++)
    ov->lower[i] = hutch_xstrdup (layers[n - 1 - i]); /* topmost first */
  /* Even with --read-only there is an upper directory: the mount
     points of /etc/hostname, --tmpfs and -v go there, and the root
     is made read-only once they exist (as Docker does).  A read-only
     overlay without one would also need at least two layers.  */
  ov->upper = hutch_xasprintf ("%s/upper", dir);
  ov->work = hutch_xasprintf ("%s/work", dir);
  ov->mountpoint = hutch_xstrdup (spec->root_path);
  ov->fuse_program = HUTCH_STEAL_PTR (*fuse);
  spec->extra.overlay = ov;
  return 0;
}

/* The squashfs image file's config, when its note has one, and whether it
   is for the platform asked.  */
static int
file_config (const struct hutch_run_options *o, const struct hutch_sqfs_image *img,
             struct hutch_image_config *ret_cfg, hutch_error_t *err)
{
  struct hutch_platform_want want;
  _cleanup_free_ char *which = NULL, *take = NULL;
  int r = 0;

  if (img->config == NULL)
    return 0;
  if (hutch_image_config_parse (img->config, strlen (img->config), ret_cfg, err) < 0)
    return hutch_error_prefix (err, "`%s`: the image's config", o->image_file);
  if (hutch_platform_resolve (o->platform, &want, err) < 0)
    return -1;
  if (!hutch_platform_matches (ret_cfg->os, ret_cfg->architecture, ret_cfg->variant, want.os,
                               want.architecture, want.variant))
    {
      which = hutch_platform_describe (ret_cfg, &want, &take);
      r = hutch_error_set (err, 0, "the image in `%s` is %s; take it as it is: %s", o->image_file,
                           which, take);
    }
  hutch_platform_want_clear (&want);
  return r;
}

/* DIR/image/etc/NAME with TEXT, the image's own file, for the user's name
   to be resolved before the image is mounted: an O_PATH fd of DIR/image
   (the root that hutch_user_resolve reads etc/NAME under), or -1 when the
   image has no such file.  */
static int
file_etc (const char *dir, const char *name, const char *text, hutch_error_t *err)
{
  _cleanup_free_ char *top = hutch_xasprintf ("%s/image", dir);
  _cleanup_free_ char *etc = hutch_xasprintf ("%s/etc", top);
  _cleanup_free_ char *path = hutch_xasprintf ("%s/%s", etc, name);
  _cleanup_close_ int fd = -1;

  if (text == NULL)
    return -1;
  if ((mkdir (top, 0700) < 0 && errno != EEXIST) || (mkdir (etc, 0700) < 0 && errno != EEXIST))
    return hutch_error_set (err, errno, "create `%s`", etc);
  fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 || hutch_write_all (fd, text, strlen (text)) < 0)
    return hutch_error_set (err, errno, "write `%s`", path);
  fd = open (top, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return hutch_error_set (err, errno, "open `%s`", top);
  return HUTCH_STEAL_FD (fd);
}

/* The storage driver for an image file: an overlay, kernel or FUSE, whose
   lower layer is the squashfuse mount; a copy (vfs) would read the whole
   image at each start, which is what the file is there to avoid.  */
static int
file_driver (const struct hutch_run_options *o, const char *root, enum hutch_driver_choice *ret,
             char **ret_fuse, hutch_error_t *err)
{
  _cleanup_free_ char *why = NULL, *scratch = hutch_xasprintf ("%s/tmp", root);
  struct hutch_conf conf = { 0 };
  int forced = o->storage_driver;

  if (hutch_conf_load (&conf, err) < 0)
    return -1;
  if (forced < 0 && conf.storage_driver)
    forced = hutch_storage_from_name (conf.storage_driver);
  hutch_conf_clear (&conf);
  if (choose_driver (root, forced, scratch, ret, ret_fuse, &why, err) < 0)
    return -1;
  if (*ret == HUTCH_STORAGE_VFS)
    return hutch_error_set (err, 0,
                            "a squashfs image file needs an overlay (kernel overlayfs or "
                            "fuse-overlayfs) above it, and the storage driver is vfs (%s); %s",
                            why,
                            forced == HUTCH_STORAGE_VFS
                                ? "choose overlay or fuse-overlayfs with --storage-driver"
                                : "install fuse-overlayfs (`apt-get install fuse-overlayfs`)");
  return 0;
}

/* `hutch run IMG.sqfs`: the file's filesystem, mounted by squashfuse in
   the container's user namespace (runtime/squashmount.h), is the
   overlay's one lower layer, and the upper directory is the container's
   own in the store, as for an image of the store: nothing is unpacked,
   the store holds no layer of it, and the file may be on a shared file
   system that every node mounts.  */
static int
prepare_file (const struct hutch_run_options *o, struct hutch_spec *spec,
              struct hutch_image_config *ret_cfg, int *ret_passwdfd, int *ret_groupfd,
              hutch_error_t *err)
{
  _cleanup_free_ char *root = NULL, *fuse = NULL, *program = hutch_squash_find_program ();
  _cleanup_free_ char *lower = NULL;
  _cleanup_store_ struct hutch_store *s = NULL;
  _cleanup_strv_ char **layers = NULL;
  struct hutch_sqfs_image img;
  struct hutch_squash *sq;
  enum hutch_driver_choice driver;
  char *dir = NULL;
  int lockfd = -1;

  if (program == NULL)
    return hutch_error_set (err, 0,
                            "squashfuse is not installed (neither squashfuse_ll nor squashfuse is "
                            "in $PATH), and a squashfs image file is mounted with it; install "
                            "squashfuse (`apt-get install squashfuse`, `dnf install squashfuse`)");
  if (hutch_squash_check_fuse (err) < 0)
    return -1;
  if (hutch_sqfs_image_open (o->image_file, &img, err) < 0)
    return -1;
  if (file_config (o, &img, ret_cfg, err) < 0 || hutch_image_store_open (o->store_root, &s, err) < 0
      || (root = hutch_image_store_root (o->store_root, err)) == NULL
      || file_driver (o, root, &driver, &fuse, err) < 0
      || hutch_container_dir_create (s, NULL, o->container_id, &dir, &lockfd, err) < 0)
    {
      hutch_sqfs_image_clear (&img);
      return -1;
    }
  spec->extra.container_dir = dir;
  spec->extra.container_lockfd = lockfd;
  spec->extra.cgroup_name = hutch_xstrdup (strrchr (dir, '/') + 1);
  spec->root_path = hutch_xasprintf ("%s/merged", dir);
  lower = hutch_xasprintf ("%s/lower", dir);
  sq = hutch_xmalloc0 (sizeof *sq);
  sq->image = hutch_xstrdup (o->image_file);
  sq->fd = HUTCH_STEAL_FD (img.fd);
  sq->program = HUTCH_STEAL_PTR (program);
  sq->mountpoint = hutch_xstrdup (lower);
  spec->extra.squash = sq;
  if (mkdir (lower, 0700) < 0 && errno != EEXIST)
    {
      hutch_sqfs_image_clear (&img);
      return hutch_error_set (err, errno, "create `%s`", lower);
    }
  hutch_strv_push (&layers, HUTCH_STEAL_PTR (lower));
  if (make_root (spec, driver, layers, dir, &fuse, err) < 0)
    {
      hutch_sqfs_image_clear (&img);
      return -1;
    }
  spec->extra.overlay->fuse_noacl = true;
  *ret_passwdfd = file_etc (dir, "passwd", img.passwd, err);
  *ret_groupfd = file_etc (dir, "group", img.group, err);
  hutch_sqfs_image_clear (&img);
  return err->msg ? -1 : 0;
}

int
hutch_run_image_prepare (const struct hutch_run_options *o, struct hutch_spec *spec,
                         struct hutch_image_config *ret_cfg, int *ret_passwdfd, int *ret_groupfd,
                         hutch_error_t *err)
{
  _cleanup_free_ char *root = NULL, *why = NULL, *fuse = NULL, *scratch = NULL;
  _cleanup_store_ struct hutch_store *s = NULL;
  _cleanup_strv_ char **layers = NULL;
  struct hutch_image img;
  struct hutch_conf conf = { 0 };
  enum hutch_driver_choice driver;
  char *dir = NULL;
  int lockfd = -1, forced;

  *ret_passwdfd = *ret_groupfd = -1;
  if (o->image_file && !o->built_image)
    return prepare_file (o, spec, ret_cfg, ret_passwdfd, ret_groupfd, err);
  if (hutch_image_store_open (o->store_root, &s, err) < 0)
    return -1;
  root = hutch_image_store_root (o->store_root, err);
  if (root == NULL)
    return -1;
  if (hutch_conf_load (&conf, err) < 0)
    return -1;
  if ((o->built_image ? load_built (s, o->built_image, &img, ret_cfg, err)
                      : load_image (s, o, &conf, root, &img, ret_cfg, err))
      < 0)
    {
      hutch_conf_clear (&conf);
      return -1;
    }
  layers = layer_dirs (s, &img);

  scratch = hutch_xasprintf ("%s/tmp", root);
  forced = o->storage_driver;
  /* storage_driver in the config file, when the command line says nothing */
  if (forced < 0 && conf.storage_driver)
    forced = hutch_storage_from_name (conf.storage_driver);
  hutch_conf_clear (&conf);
  if (choose_driver (root, forced, scratch, &driver, &fuse, &why, err) < 0
      || hutch_container_dir_create (s, img.id, o->container_id, &dir, &lockfd, err) < 0)
    {
      hutch_image_clear (&img);
      return -1;
    }
  spec->extra.image_id = hutch_xstrdup (img.id);
  hutch_image_clear (&img);
  spec->extra.container_dir = dir;
  spec->extra.container_lockfd = lockfd;
  /* The container's cgroup carries the id of its directory in the store.  */
  spec->extra.cgroup_name = hutch_xstrdup (strrchr (dir, '/') + 1);
  spec->root_path = hutch_xasprintf ("%s/merged", dir);
  if (make_root (spec, driver, layers, dir, &fuse, err) < 0)
    return -1;
  *ret_passwdfd = layer_with (layers, "etc/passwd");
  *ret_groupfd = layer_with (layers, "etc/group");
  return 0;
}

void
hutch_run_cleanup (struct hutch_spec *spec, hutch_error_t *err)
{
  hutch_run_drop_volumes (spec, err);
  if (spec->extra.container_dir == NULL)
    return;
  if (spec->extra.keep_container_dir)
    {
      /* The container's record keeps it: only its lock goes.  */
      if (spec->extra.container_lockfd >= 0)
        close (spec->extra.container_lockfd);
    }
  else
    hutch_container_dir_remove (spec->extra.container_dir, spec->extra.container_lockfd, err);
  free (spec->extra.container_dir);
  spec->extra.container_dir = NULL;
  spec->extra.container_lockfd = -1;
}
