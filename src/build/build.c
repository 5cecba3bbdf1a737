/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* hutch build: the Containerfile read and parsed, its stages found, the
   target's stages built in the order they need each other (a stage that
   the target does not need is not built, as BuildKit skips it), and the
   target's result made an image of the store with its names.  */

#include "build/build-private.h"
#include "base/log.h"
#include "base/units.h"
#include "base/util.h"
#include "base/walk.h"
#include "front/run.h"
#include "image/image.h"
#include "image/imageconfig.h"
#include "image/reference.h"
#include "registry/pull.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void
hutch_build_opts_init (struct hutch_build_opts *o)
{
  memset (o, 0, sizeof *o);
  o->stdin_fd = 0;
  o->storage_driver = -1;
  o->pull = HUTCH_PULL_MISSING;
  o->network = HUTCH_NETWORK_SLIRP;
  o->timestamp = -1;
  o->source_date_epoch = -1;
  o->progress_fd = -1;
  o->tls_verify = -1;
}

#define HUTCH_BUILD_NO_ID "0000000000000000000000000000000000000000000000000000000000000000"

/* ---- the image between steps ------------------------------------------- */

static void
layer_copy (struct hutch_store_layer *dst, const struct hutch_store_layer *src)
{
  dst->digest = src->digest ? hutch_xstrdup (src->digest) : NULL;
  dst->diff_id = hutch_xstrdup (src->diff_id);
  dst->media_type = src->media_type ? hutch_xstrdup (src->media_type) : NULL;
  dst->size = src->size;
}

static void
layer_clear (struct hutch_store_layer *l)
{
  free (l->digest);
  free (l->diff_id);
  free (l->media_type);
}

void
bimage_clear (struct bimage *b)
{
  size_t i;

  for (i = 0; i < b->n_layers; i++)
    layer_clear (&b->layers[i]);
  free (b->layers);
  json_decref (b->config);
  free (b->time);
  memset (b, 0, sizeof *b);
}

void
bimage_copy (struct bimage *dst, const struct bimage *src)
{
  size_t i;

  memset (dst, 0, sizeof *dst);
  dst->layers = hutch_xmalloc0 ((src->n_layers + 1) * sizeof *dst->layers);
  for (i = 0; i < src->n_layers; i++)
    layer_copy (&dst->layers[i], &src->layers[i]);
  dst->n_layers = src->n_layers;
  dst->config = json_deep_copy (src->config);
  dst->time = src->time ? hutch_xstrdup (src->time) : NULL;
  memcpy (dst->key, src->key, sizeof dst->key);
}

void
bimage_add_layer (struct bimage *b, const struct hutch_store_layer *l)
{
  json_t *rootfs = json_object_get (b->config, "rootfs"), *ids;

  b->layers = realloc (b->layers, (b->n_layers + 2) * sizeof *b->layers);
  if (b->layers == NULL)
    abort ();
  layer_copy (&b->layers[b->n_layers++], l);
  if (!json_is_object (rootfs))
    json_object_set_new (b->config, "rootfs", rootfs = json_pack ("{s:s}", "type", "layers"));
  ids = json_object_get (rootfs, "diff_ids");
  if (!json_is_array (ids))
    json_object_set_new (rootfs, "diff_ids", ids = json_array ());
  json_array_append_new (ids, json_string (l->diff_id));
}

int
bimage_unpack (struct build *b, const struct bimage *img, hutch_error_t *err)
{
  struct hutch_image rec = { 0 };
  char *names[] = { (char *)"the image being built", NULL };

  /* The id is for messages only; the name says what it is.  */
  rec.layers = img->layers;
  rec.n_layers = img->n_layers;
  rec.names = names;
  rec.id = rec.config_digest = (char *)"sha256:" HUTCH_BUILD_NO_ID;
  return hutch_image_unpack_layers (b->store, &rec, err);
}

json_t *
bimage_cfg (struct bimage *b)
{
  json_t *c = json_object_get (b->config, "config");

  if (!json_is_object (c))
    json_object_set_new (b->config, "config", c = json_object ());
  return c;
}

void
bimage_set_time (struct build *bd, struct bimage *b, const char *t)
{
  free (b->time);
  b->time = hutch_xstrdup (t && bd->clamp < 0 ? t : bd->created);
}

void
bimage_history (struct bimage *b, const char *created_by, bool empty)
{
  const char *created = b->time;
  json_t *h = json_object_get (b->config, "history"), *e;

  if (!json_is_array (h))
    json_object_set_new (b->config, "history", h = json_array ());
  e = json_pack ("{s:s, s:s, s:s}", "created", created, "created_by", created_by, "comment",
                 "hutch build");
  if (empty)
    json_object_set_new (e, "empty_layer", json_true ());
  json_array_append_new (h, e);
}

/* ---- saying things ------------------------------------------------------ */

int
build_fail_at (struct build *b, const struct hutch_df_instr *i, hutch_error_t *err)
{
  /* A trigger's line is in no file the user has: name the FROM that
     brought it, and the trigger.  */
  if (b->trigger == i)
    return hutch_error_prefix (err, "%s:%u: the base image's trigger `ONBUILD %s`", b->df_name,
                               b->trigger_from->line, i->original);
  return hutch_error_prefix (err, "%s:%u: %s", b->df_name, i->line, hutch_df_kind_name (i->kind));
}

void
build_say (struct build *b, const char *fmt, ...)
{
  _cleanup_free_ char *text = NULL;
  va_list ap;

  if (b->o->progress_fd < 0 || b->o->quiet)
    return;
  va_start (ap, fmt);
  text = hutch_xvasprintf (fmt, ap);
  va_end (ap);
  hutch_write_all (b->o->progress_fd, text, strlen (text));
  hutch_write_all (b->o->progress_fd, "\n", 1);
}

/* ---- reading the Containerfile ------------------------------------------ */

/* The Containerfile's text: -f FILE (relative to the working directory,
   as docker takes it), -f - or a context of "-" (stdin), else
   Containerfile or Dockerfile in the context.  */
static int
read_containerfile (struct build *b, char **ret_text, size_t *ret_len, hutch_error_t *err)
{
  const struct hutch_build_opts *o = b->o;
  const char *file = o->file;
  _cleanup_free_ char *path = NULL;
  struct stat st;

  if ((file && strcmp (file, "-") == 0) || (file == NULL && strcmp (o->context, "-") == 0))
    {
      b->df_name = hutch_xstrdup ("<stdin>");
      if (hutch_read_fd (o->stdin_fd, 16 << 20, ret_text, ret_len, err) < 0)
        return hutch_error_prefix (err, "read the Containerfile from standard input");
      return 0;
    }
  if (file == NULL)
    {
      if (stat (o->context, &st) < 0)
        return hutch_error_set (err, errno, "the build context `%s`", o->context);
      if (!S_ISDIR (st.st_mode))
        return hutch_error_set (err, 0,
                                "the build context `%s` is not a directory: hutch build takes the "
                                "directory whose files COPY takes (with the Containerfile in it, "
                                "or -f FILE)",
                                o->context);
      path = hutch_xasprintf ("%s/Containerfile", o->context);
      if (stat (path, &st) < 0)
        {
          free (path);
          path = hutch_xasprintf ("%s/Dockerfile", o->context);
          if (stat (path, &st) < 0)
            return hutch_error_set (err, 0,
                                    "no Containerfile or Dockerfile in the context `%s`; name "
                                    "one with -f FILE",
                                    o->context);
        }
    }
  else
    path = hutch_xstrdup (file);
  if (hutch_read_file (path, 16 << 20, ret_text, ret_len, err) < 0)
    return -1;
  b->df_name = hutch_xstrdup (file ? file : strrchr (path, '/') + 1);
  return 0;
}

/* The Containerfile's path relative to the context, when it is in it:
   its .dockerignore beside it counts.  */
static char *
containerfile_in_context (const struct hutch_build_opts *o)
{
  _cleanup_free_ char *ctx = NULL, *file = NULL;
  size_t n;

  if (strcmp (o->context, "-") == 0 || (o->file && strcmp (o->file, "-") == 0))
    return NULL;
  if (o->file == NULL)
    return NULL; /* Containerfile or Dockerfile at the top: the context's own ignore file */
  ctx = realpath (o->context, NULL);
  file = realpath (o->file, NULL);
  if (ctx == NULL || file == NULL)
    return NULL;
  n = strlen (ctx);
  if (strncmp (file, ctx, n) != 0 || file[n] != '/')
    return NULL;
  return hutch_xstrdup (file + n + 1);
}

/* ---- stages --------------------------------------------------------------- */

/* Split the instructions into stages at each FROM; what comes before the
   first FROM may only be ARG (the global ones, kept in B->global_args
   unexpanded: they are expanded with the build args when used).  */
static int
find_stages (struct build *b, hutch_error_t *err)
{
  size_t i, j;

  for (i = 0; i < b->df.n; i++)
    {
      const struct hutch_df_instr *in = &b->df.v[i];
      if (in->kind == HUTCH_DF_FROM)
        {
          struct bstage *s;
          b->stages = realloc (b->stages, (b->n_stages + 1) * sizeof *b->stages);
          if (b->stages == NULL)
            abort ();
          s = &b->stages[b->n_stages];
          memset (s, 0, sizeof *s);
          s->index = b->n_stages++;
          s->from = in;
          s->first = i + 1;
          s->end = b->df.n;
          if (s->index > 0)
            b->stages[s->index - 1].end = i;
          continue;
        }
      if (b->n_stages == 0 && in->kind != HUTCH_DF_ARG)
        return hutch_error_set (err, 0,
                                "%s:%u: %s before the first FROM; a Containerfile starts with FROM "
                                "(only ARG may come before it)",
                                b->df_name, in->line, hutch_df_kind_name (in->kind));
    }
  if (b->n_stages == 0)
    return hutch_error_set (err, 0, "%s: no FROM instruction; a build starts with FROM IMAGE",
                            b->df_name);
  /* Names: FROM IMAGE AS NAME (the parser checked its shape and the
   name's characters), case-insensitive, unique.  */
  for (i = 0; i < b->n_stages; i++)
    {
      char *const *args = b->stages[i].from->args;
      _cleanup_strv_ char **words = NULL;
      if (hutch_df_words (args[0] ? args[0] : "", b->df.escape, NULL, NULL, &words, err) < 0)
        return build_fail_at (b, b->stages[i].from, err);
      if (hutch_strv_len (words) == 3)
        {
          char *name = hutch_xstrdup (words[2]), *p;
          for (p = name; *p; p++)
            *p = (char)tolower ((unsigned char)*p);
          for (j = 0; j < i; j++)
            if (b->stages[j].name && strcmp (b->stages[j].name, name) == 0)
              {
                hutch_error_set (err, 0, "%s:%u: FROM: stage name `%s` is taken by line %u",
                                 b->df_name, b->stages[i].from->line, name,
                                 b->stages[j].from->line);
                free (name);
                return -1;
              }
          b->stages[i].name = name;
        }
    }
  return 0;
}

/* The stage that NAME names: its name, or its index; NULL when none.  */
struct bstage *
build_stage_named (struct build *b, const char *name)
{
  unsigned int idx;
  size_t i;

  for (i = 0; i < b->n_stages; i++)
    if (b->stages[i].name && strcasecmp (b->stages[i].name, name) == 0)
      return &b->stages[i];
  if (hutch_parse_u32 (name, &idx) == 0 && idx < b->n_stages)
    return &b->stages[idx];
  return NULL;
}

static int
pick_target (struct build *b, hutch_error_t *err)
{
  _cleanup_free_ char *names = NULL;
  size_t i;

  b->target = b->n_stages - 1;
  if (b->o->target == NULL)
    return 0;
  for (i = 0; i < b->n_stages; i++)
    if (b->stages[i].name && strcasecmp (b->stages[i].name, b->o->target) == 0)
      {
        b->target = i;
        return 0;
      }
  names = hutch_xstrdup ("");
  for (i = 0; i < b->n_stages; i++)
    if (b->stages[i].name)
      {
        char *n = hutch_xasprintf ("%s%s%s", names, *names ? ", " : "", b->stages[i].name);
        free (names);
        names = n;
      }
  return hutch_error_set (err, 0, "--target `%s`: %s has no stage of that name (%s%s)",
                          b->o->target, b->df_name, *names ? "its stages: " : "no stage has a name",
                          names);
}

/* ---- variables ---------------------------------------------------------- */

struct bvar *
build_vars_find (struct bvar *v, size_t n, const char *name)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (strcmp (v[i].name, name) == 0)
      return &v[i];
  return NULL;
}

void
build_vars_set (struct bvar **v, size_t *n, const char *name, const char *value)
{
  struct bvar *old = build_vars_find (*v, *n, name);

  if (old)
    {
      free (old->value);
      old->value = value ? hutch_xstrdup (value) : NULL;
      return;
    }
  *v = realloc (*v, (*n + 1) * sizeof **v);
  if (*v == NULL)
    abort ();
  (*v)[*n].name = hutch_xstrdup (name);
  (*v)[*n].value = value ? hutch_xstrdup (value) : NULL;
  (*n)++;
}

void
build_vars_free (struct bvar *v, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    {
      free (v[i].name);
      free (v[i].value);
    }
  free (v);
}

/* --build-arg K=V, or K alone: its value from hutch's environment (and
   nothing when it has none), as docker takes it.  */
static int
parse_build_args (struct build *b, hutch_error_t *err)
{
  size_t i;

  for (i = 0; b->o->build_args && b->o->build_args[i]; i++)
    {
      const char *a = b->o->build_args[i], *eq = strchr (a, '=');
      _cleanup_free_ char *name = eq ? hutch_xstrndup (a, (size_t)(eq - a)) : hutch_xstrdup (a);

      if (*name == '\0')
        return hutch_error_set (err, 0, "--build-arg `%s`: expected NAME=VALUE or NAME", a);
      if (eq)
        build_vars_set (&b->build_args, &b->n_build_args, name, eq + 1);
      else if (getenv (name))
        build_vars_set (&b->build_args, &b->n_build_args, name, getenv (name));
    }
  b->build_arg_used = hutch_xmalloc0 ((b->n_build_args + 1) * sizeof (bool));
  return 0;
}

/* Build args that every Containerfile may use without declaring them
   (BuildKit's predefined ARGs).  */
static bool
predefined_arg (const char *name)
{
  static const char *const names[]
      = { "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
          "ftp_proxy",  "NO_PROXY",   "no_proxy",    "ALL_PROXY",   "all_proxy" };
  size_t i;

  for (i = 0; i < sizeof names / sizeof *names; i++)
    if (strcmp (names[i], name) == 0)
      return true;
  return false;
}

/* The value --build-arg gives NAME, or NULL; marks it used.  */
const char *
build_arg_value (struct build *b, const char *name)
{
  struct bvar *v = build_vars_find (b->build_args, b->n_build_args, name);

  if (v == NULL)
    return NULL;
  b->build_arg_used[v - b->build_args] = true;
  return v->value;
}

/* The automatic platform ARGs (TARGETPLATFORM, BUILDOS...), which the
   global scope has and a stage gets by declaring them.  */
const char *
build_platform_arg (struct build *b, const char *name, char **owned)
{
  const char *v = NULL;

  *owned = NULL;
  if (strcmp (name, "TARGETOS") == 0 || strcmp (name, "BUILDOS") == 0)
    v = b->os;
  else if (strcmp (name, "TARGETARCH") == 0 || strcmp (name, "BUILDARCH") == 0)
    v = b->arch;
  else if (strcmp (name, "TARGETVARIANT") == 0 || strcmp (name, "BUILDVARIANT") == 0)
    v = b->variant ? b->variant : "";
  else if (strcmp (name, "TARGETPLATFORM") == 0 || strcmp (name, "BUILDPLATFORM") == 0)
    v = *owned = hutch_platform_format (b->os, b->arch, b->variant);
  else if (strcmp (name, "TARGETSTAGE") == 0)
    v = b->stages[b->target].name ? b->stages[b->target].name : "";
  return v;
}

struct global_lookup
{
  struct build *b;
  char *owned;
};

/* What a FROM line sees: the global ARGs (with their --build-arg
   values), and the automatic platform ones.  */
static const char *
global_lookup (void *data, const char *name)
{
  struct global_lookup *g = data;
  const struct bvar *v = build_vars_find (g->b->global_args, g->b->n_global_args, name);

  if (v)
    return v->value;
  free (g->owned);
  return build_platform_arg (g->b, name, &g->owned);
}

/* The ARGs before the first FROM, in order, each default expanded with
   those before it; a --build-arg replaces the default.  */
static int
global_args (struct build *b, hutch_error_t *err)
{
  struct global_lookup g = { b, NULL };
  size_t i, k;
  int r = 0;

  for (i = 0; r == 0 && i < b->df.n && b->df.v[i].kind == HUTCH_DF_ARG; i++)
    {
      _cleanup_strv_ char **keys = NULL, **values = NULL;
      if (hutch_df_pairs (b->df.v[i].args[0], b->df.escape, global_lookup, &g, false, true, &keys,
                          &values, err)
          < 0)
        r = build_fail_at (b, &b->df.v[i], err);
      for (k = 0; r == 0 && keys[k]; k++)
        {
          const char *given = build_arg_value (b, keys[k]);
          build_vars_set (&b->global_args, &b->n_global_args, keys[k], given ? given : values[k]);
        }
    }
  free (g.owned);
  return r;
}

/* The value of the global ARG NAME, for a stage's `ARG NAME` without a
   default; NULL when there is none.  */
const char *
build_global_arg (struct build *b, const char *name)
{
  const struct bvar *v = build_vars_find (b->global_args, b->n_global_args, name);

  return v ? v->value : NULL;
}

/* ---- FROM ----------------------------------------------------------------- */

static json_t *
scratch_config (struct build *b)
{
  json_t *c = json_pack ("{s:s, s:s, s:{}, s:{s:s, s:[]}, s:[]}", "architecture", b->arch, "os",
                         b->os, "config", "rootfs", "type", "layers", "diff_ids", "history");
  if (b->variant)
    json_object_set_new (c, "variant", json_string (b->variant));
  return c;
}

int
build_from_image (struct build *b, const char *name, struct bimage *img, hutch_error_t *err)
{
  struct hutch_run_options ro;
  struct hutch_image found;
  struct hutch_image_config cfg;
  _cleanup_free_ char *text = NULL;
  size_t len, i;
  json_error_t je;
  int r;

  hutch_run_options_init (&ro);
  ro.image = hutch_xstrdup (name);
  ro.pull = b->o->pull;
  ro.platform = b->o->platform ? hutch_xstrdup (b->o->platform) : NULL;
  ro.tls_verify = b->o->tls_verify;
  ro.authfile = b->o->authfile ? hutch_xstrdup (b->o->authfile) : NULL;
  ro.quiet = b->o->quiet || b->o->progress_fd < 0;
  r = hutch_run_image_find (b->store, &ro, &found, &cfg, err);
  hutch_run_options_clear (&ro);
  if (r < 0)
    return -1;
  hutch_image_config_clear (&cfg);
  if (hutch_store_read_blob (b->store, found.config_digest, 16 << 20, &text, &len, err) < 0)
    {
      hutch_image_clear (&found);
      return -1;
    }
  img->config = json_loadb (text, len, 0, &je);
  if (!json_is_object (img->config))
    {
      hutch_error_set (err, 0, "the config of image `%s` is not JSON: %s", name, je.text);
      hutch_image_clear (&found);
      return -1;
    }
  bimage_set_time (b, img, json_string_value (json_object_get (img->config, "created")));
  img->layers = hutch_xmalloc0 ((found.n_layers + 1) * sizeof *img->layers);
  for (i = 0; i < found.n_layers; i++)
    layer_copy (&img->layers[i], &found.layers[i]);
  img->n_layers = found.n_layers;
  {
    struct bkey *k = bkey_new ("");
    bkey_add (k, "from-image", found.id);
    bkey_finish (k, img->key);
  }
  hutch_image_clear (&found);
  return 0;
}

/* The platform P (LABEL names it in messages) must be this machine's:
   hutch has no emulation of others.  */
static int
native_platform (struct build *b, const char *label, const char *p, hutch_error_t *err)
{
  _cleanup_free_ char *mine = hutch_platform_format (b->os, b->arch, b->variant);
  char *os = NULL, *arch = NULL, *variant = NULL;
  int r;

  r = hutch_platform_parse (p, &os, &arch, &variant, err);
  if (r < 0)
    return hutch_error_prefix (err, "%s", label);
  if (!hutch_platform_matches (os, arch, variant, b->os, b->arch, b->variant))
    r = hutch_error_set (err, 0,
                         "%s: hutch builds for this machine's platform (%s) only; there is no "
                         "emulation of others",
                         label, mine);
  free (os);
  free (arch);
  free (variant);
  return r;
}

/* The base of stage S: scratch, a stage before it, or an image.  */
static int
from_base (struct build *b, struct bstage *s, struct bimage *img, hutch_error_t *err)
{
  const struct hutch_df_instr *in = s->from;
  struct global_lookup g = { b, NULL };
  _cleanup_strv_ char **words = NULL;
  struct bstage *dep;
  const char *plat;
  bool set;
  int r;

  if (instr_check_flags (in, (const char *const[]){ "platform", NULL }, err) < 0)
    return build_fail_at (b, in, err);
  plat = instr_flag (in, "platform", &set);
  if (set)
    {
      _cleanup_free_ char *p = NULL, *label = NULL;
      r = hutch_df_expand (plat ? plat : "", b->df.escape, global_lookup, &g, &p, err);
      if (r == 0)
        {
          label = hutch_xasprintf ("--platform=%s", p);
          r = native_platform (b, label, p, err);
        }
      if (r < 0)
        {
          free (g.owned);
          return build_fail_at (b, in, err);
        }
    }
  r = hutch_df_words (in->args[0], b->df.escape, global_lookup, &g, &words, err);
  free (g.owned);
  if (r < 0)
    return build_fail_at (b, in, err);
  if (words[0] == NULL || *words[0] == '\0')
    return hutch_error_set (err, 0,
                            "%s:%u: FROM: the image name is empty (an ARG without a value?)",
                            b->df_name, in->line);
  if (strcmp (words[0], "scratch") == 0)
    {
      struct bkey *k = bkey_new ("");
      img->config = scratch_config (b);
      img->layers = hutch_xmalloc0 (sizeof *img->layers);
      bimage_set_time (b, img, NULL);
      bkey_add (k, "from", "scratch");
      bkey_add (k, "platform", json_string_value (json_object_get (img->config, "architecture")));
      bkey_finish (k, img->key);
      return 0;
    }
  dep = build_stage_named (b, words[0]);
  /* A stage name, or an index, of an earlier stage only: FROM cannot
     name the stage itself or a later one (a later one is an image).  */
  if (dep && dep->index < s->index)
    {
      if (build_stage (b, dep, err) < 0)
        return -1;
      bimage_copy (img, &dep->result);
      return 0;
    }
  {
    /* The Containerfile's text may be hostile: no control character of
       it reaches the terminal.  */
    _cleanup_free_ char *shown = hutch_walk_shown (words[0]);
    build_say (b, "[%zu/%zu] FROM %s", s->index + 1, b->n_stages, shown);
  }
  if (build_from_image (b, words[0], img, err) < 0)
    return build_fail_at (b, in, err);
  return 0;
}

/* Run the ONBUILD triggers of the base image, then drop them (an image
   built FROM it does not pass them on).  */
static int
run_triggers (struct bstate *st, hutch_error_t *err)
{
  json_t *cfg = bimage_cfg (&st->img), *ob = json_object_get (cfg, "OnBuild");
  struct hutch_dockerfile df;
  size_t i, n = json_array_size (ob);
  _cleanup_free_ char *text = hutch_xstrdup ("");
  int r = 0;

  if (n == 0)
    return 0;
  for (i = 0; i < n; i++)
    {
      char *t = hutch_xasprintf ("%s%s\n", text, json_string_value (json_array_get (ob, i)));
      free (text);
      text = t;
    }
  json_object_del (cfg, "OnBuild");
  if (hutch_df_parse (text, strlen (text), "ONBUILD", &df, err) < 0)
    return hutch_error_prefix (err, "%s:%u: the base image's ONBUILD triggers", st->b->df_name,
                               st->stage->from->line);
  for (i = 0; r == 0 && i < df.n; i++)
    {
      const struct hutch_df_instr *in = &df.v[i];
      st->b->trigger = in;
      st->b->trigger_from = st->stage->from;
      if (in->kind == HUTCH_DF_RUN)
        r = build_step_run (st, in, err);
      else if (in->kind == HUTCH_DF_COPY || in->kind == HUTCH_DF_ADD)
        r = build_step_copy (st, in, err);
      else if (in->kind == HUTCH_DF_FROM)
        {
          hutch_error_set (err, 0, "ONBUILD FROM is not allowed");
          r = build_fail_at (st->b, in, err);
        }
      else
        r = build_instr_config (st, in, err);
    }
  st->b->trigger = NULL;
  hutch_dockerfile_clear (&df);
  return r;
}

int
build_stage (struct build *b, struct bstage *s, hutch_error_t *err)
{
  struct bstate st = { .b = b, .stage = s };
  size_t i;
  int r = 0;

  if (s->built)
    return 0;
  if (s->needed)
    return hutch_error_set (err, 0, "%s:%u: stage %s depends on itself", b->df_name, s->from->line,
                            s->name ? s->name : "");
  s->needed = true;
  if (from_base (b, s, &st.img, err) < 0)
    return -1;
  r = run_triggers (&st, err);
  for (i = s->first; r == 0 && i < s->end; i++)
    {
      const struct hutch_df_instr *in = &b->df.v[i];
      struct timespec t0, t1;
      char *shown;
      b->step++;
      /* On a terminal the step stands out from what RUN prints.  */
      shown = hutch_walk_shown (in->original);
      build_say (b, "%s[%zu/%zu] STEP %zu/%zu: %s%s", b->o->tty ? "\033[1m" : "", s->index + 1,
                 b->n_stages, i - s->first + 1, s->end - s->first, shown,
                 b->o->tty ? "\033[0m" : "");
      free (shown);
      clock_gettime (CLOCK_MONOTONIC, &t0);
      b->cached = false;
      switch (in->kind)
        {
        case HUTCH_DF_RUN:
          r = build_step_run (&st, in, err);
          break;
        case HUTCH_DF_COPY:
        case HUTCH_DF_ADD:
          r = build_step_copy (&st, in, err);
          break;
        default:
          r = build_instr_config (&st, in, err);
          break;
        }
      clock_gettime (CLOCK_MONOTONIC, &t1);
      if (r == 0
          && (in->kind == HUTCH_DF_RUN || in->kind == HUTCH_DF_COPY || in->kind == HUTCH_DF_ADD))
        build_say (b, "--> %s%.12s, %.2f s", b->cached ? "Using cache " : "", st.img.key,
                   (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    }
  build_vars_free (st.args, st.n_args);
  if (r < 0)
    {
      bimage_clear (&st.img);
      return -1;
    }
  s->result = st.img;
  s->built = true;
  return 0;
}

/* ---- the image ------------------------------------------------------------ */

/* The config's labels from --label, on top of the Containerfile's.  */
static int
add_cli_labels (struct build *b, struct bimage *img, hutch_error_t *err)
{
  json_t *cfg = bimage_cfg (img), *labels;
  size_t i;

  for (i = 0; b->o->labels && b->o->labels[i]; i++)
    {
      const char *l = b->o->labels[i], *eq = strchr (l, '=');
      _cleanup_free_ char *key = eq ? hutch_xstrndup (l, (size_t)(eq - l)) : hutch_xstrdup (l);
      if (*key == '\0')
        return hutch_error_set (err, 0, "--label `%s`: expected KEY=VALUE", l);
      labels = json_object_get (cfg, "Labels");
      if (!json_is_object (labels))
        json_object_set_new (cfg, "Labels", labels = json_object ());
      json_object_set_new (labels, key, json_string (eq ? eq + 1 : ""));
    }
  return 0;
}

static const char *
manifest_layer_type (const char *t, bool docker)
{
  if (docker)
    return strstr (t, "gzip") ? HUTCH_MT_DOCKER_LAYER_GZIP
                              : "application/vnd.docker.image.rootfs.diff.tar";
  if (strcmp (t, HUTCH_MT_DOCKER_LAYER_GZIP) == 0)
    return HUTCH_MT_OCI_LAYER_GZIP;
  if (strcmp (t, "application/vnd.docker.image.rootfs.diff.tar") == 0)
    return HUTCH_MT_OCI_LAYER;
  return t;
}

/* The names of -t, in full: checked before anything is built.  */
static int
parse_tags (struct build *b, hutch_error_t *err)
{
  size_t i;

  b->names = hutch_xmalloc0 (sizeof (char *));
  for (i = 0; b->o->tags && b->o->tags[i]; i++)
    {
      char *full = NULL;
      if (hutch_reference_normalize (b->o->tags[i], &full, err) < 0)
        return hutch_error_prefix (err, "-t `%s`", b->o->tags[i]);
      hutch_strv_push (&b->names, full);
    }
  return 0;
}

/* IMG's config and manifest as blobs of the store and its layers
   unpacked: *REC is the image, not yet in the index (its strings are
   *RET_CONFIG and *RET_MANIFEST, and B's).  */
static int
image_blobs (struct build *b, struct bimage *img, struct hutch_image *rec, char **ret_config,
             char **ret_manifest, hutch_error_t *err)
{
  bool docker = b->o->format == HUTCH_BUILD_FORMAT_DOCKER;
  int64_t csize = 0, msize = 0;
  json_t *man, *ls;
  size_t i;
  int r;

  json_object_set_new (img->config, "created", json_string (img->time ? img->time : b->created));
  if (hutch_image_put_json (b->store, img->config, ret_config, &csize, err) < 0)
    return -1;
  ls = json_array ();
  for (i = 0; i < img->n_layers; i++)
    json_array_append_new (ls, json_pack ("{s:s, s:s, s:I}", "mediaType",
                                          manifest_layer_type (img->layers[i].media_type, docker),
                                          "digest", img->layers[i].digest, "size",
                                          (json_int_t)img->layers[i].size));
  man = json_pack ("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion", 2, "mediaType",
                   docker ? HUTCH_MT_DOCKER_MANIFEST : HUTCH_MT_OCI_MANIFEST, "config", "mediaType",
                   docker ? HUTCH_MT_DOCKER_CONFIG : HUTCH_MT_OCI_CONFIG, "digest", *ret_config,
                   "size", (json_int_t)csize, "layers", ls);
  r = hutch_image_put_json (b->store, man, ret_manifest, &msize, err);
  json_decref (man);
  if (r < 0)
    return -1;
  memset (rec, 0, sizeof *rec);
  rec->id = rec->config_digest = *ret_config;
  rec->manifest_digest = *ret_manifest;
  rec->names = b->names;
  rec->layers = img->layers;
  rec->n_layers = img->n_layers;
  rec->created = img->time ? img->time : b->created;
  return hutch_image_unpack_layers (b->store, rec, err);
}

/* --iidfile's content under a temporary name beside it: *RET_TMP, renamed
   once the image is in the index.  */
static int
iidfile_begin (const char *path, const char *id, char **ret_tmp, hutch_error_t *err)
{
  _cleanup_free_ char *tmp = NULL;
  char hex[17];
  int fd;

  /* A name no one can have planted (O_EXCL, random): the directory may be
     shared.  */
  if (hutch_random_hex (hex, 16) < 0)
    return hutch_error_set (err, errno, "a random name");
  hex[16] = '\0';
  tmp = hutch_xasprintf ("%s.%s.tmp", path, hex);
  fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    return hutch_error_set (err, errno, "--iidfile: create `%s`", tmp);
  if (hutch_write_all (fd, id, strlen (id)) < 0 || close (fd) < 0)
    {
      int e = errno;
      unlink (tmp);
      return hutch_error_set (err, e, "--iidfile: write `%s`", tmp);
    }
  *ret_tmp = HUTCH_STEAL_PTR (tmp);
  return 0;
}

/* The target's image: its blobs, --output, --iidfile written aside, and
   only then the index (and the names), so that a build that fails at
   any of these adds no image.  */
static int
commit_image (struct build *b, struct bimage *img, char **ret_id, hutch_error_t *err)
{
  _cleanup_free_ char *config = NULL, *manifest = NULL, *iid = NULL;
  struct hutch_image rec;

  if (image_blobs (b, img, &rec, &config, &manifest, err) < 0
      || build_outputs (b, img, &rec, err) < 0)
    return -1;
  if (b->o->iidfile && iidfile_begin (b->o->iidfile, config, &iid, err) < 0)
    return -1;
  if (hutch_store_add_image (b->store, &rec, err) < 0)
    {
      if (iid)
        unlink (iid);
      return -1;
    }
  if (iid && rename (iid, b->o->iidfile) < 0)
    {
      int e = errno;
      unlink (iid);
      return hutch_error_set (err, e, "--iidfile: rename `%s` to `%s` (the image is in the store)",
                              iid, b->o->iidfile);
    }
  *ret_id = HUTCH_STEAL_PTR (config);
  return 0;
}

/* ---- the whole build ------------------------------------------------------ */

static void
build_clear (struct build *b)
{
  size_t i;

  for (i = 0; i < b->n_stages; i++)
    {
      free (b->stages[i].name);
      bimage_clear (&b->stages[i].result);
    }
  free (b->stages);
  if (b->ctx)
    hutch_context_close (b->ctx);
  hutch_ignore_free (b->ignore);
  free (b->ignore_file);
  hutch_dockerfile_clear (&b->df);
  free (b->df_name);
  free (b->df_rel);
  free (b->context_abs);
  build_vars_free (b->build_args, b->n_build_args);
  free (b->build_arg_used);
  build_vars_free (b->global_args, b->n_global_args);
  free (b->created);
  hutch_strv_free (b->names);
  free (b->os);
  free (b->arch);
  free (b->variant);
  free (b->store_root);
  hutch_store_close (b->store);
}

/* The time of "created": --timestamp, else --source-date-epoch, else
   now; and the time file times are clamped to.  */
static void
pick_times (struct build *b)
{
  int64_t t = b->o->timestamp >= 0 ? b->o->timestamp : b->o->source_date_epoch;
  time_t tt;
  struct tm tm;
  char buf[64];

  b->clamp = t;
  if (t < 0)
    {
      b->created = hutch_now_rfc3339 ();
      return;
    }
  tt = (time_t)t;
  gmtime_r (&tt, &tm);
  strftime (buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  b->created = hutch_xstrdup (buf);
}

/* --platform: this machine's only, whatever the FROM lines say.  */
static int
check_platform (struct build *b, hutch_error_t *err)
{
  _cleanup_free_ char *label = NULL;

  if (b->o->platform == NULL)
    return 0;
  label = hutch_xasprintf ("--platform %s", b->o->platform);
  return native_platform (b, label, b->o->platform, err);
}

static int
check_cli_labels (const struct hutch_build_opts *o, hutch_error_t *err)
{
  size_t i;

  for (i = 0; o->labels && o->labels[i]; i++)
    if (o->labels[i][0] == '=' || o->labels[i][0] == '\0')
      return hutch_error_set (err, 0, "--label `%s`: expected KEY=VALUE", o->labels[i]);
  return 0;
}

static int
open_context (struct build *b, hutch_error_t *err)
{
  _cleanup_free_ char *statcache = NULL;
  _cleanup_close_ int fd = -1;

  if (strcmp (b->o->context, "-") == 0)
    return 0;
  fd = open (b->o->context, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return hutch_error_set (err, errno, "the build context `%s`", b->o->context);
  b->context_abs = realpath (b->o->context, NULL);
  if (b->context_abs == NULL)
    return hutch_error_set (err, errno, "the build context `%s`", b->o->context);
  b->df_rel = containerfile_in_context (b->o);
  if (hutch_ignore_load (fd, b->df_rel, &b->ignore, &b->ignore_file, err) < 0)
    return -1;
  statcache = hutch_xasprintf ("%s/build-cache/statcache", b->store_root);
  {
    _cleanup_free_ char *dir = hutch_xasprintf ("%s/build-cache", b->store_root);
    hutch_error_t e = HUTCH_ERROR_INIT;
    if (hutch_walk_mkdir_p (dir, 0700, &e) < 0)
      {
        hutch_error_clear (&e);
        free (statcache);
        statcache = NULL;
      }
  }
  return hutch_context_open (b->o->context, b->ignore, statcache, &b->ctx, err);
}

static void
warn_unused_args (struct build *b)
{
  size_t i;

  for (i = 0; i < b->n_build_args; i++)
    if (!b->build_arg_used[i] && !predefined_arg (b->build_args[i].name))
      hutch_log (HUTCH_LOG_WARNING, "--build-arg %s: no ARG of the build declares it",
                 b->build_args[i].name);
}

int
hutch_build (const struct hutch_build_opts *o, char **ret_id, hutch_error_t *err)
{
  struct build b = { .o = o };
  _cleanup_free_ char *text = NULL;
  const char *os, *arch, *variant;
  size_t len;
  int r = -1;

  if (read_containerfile (&b, &text, &len, err) < 0)
    goto out;
  if (hutch_df_parse (text, len, b.df_name, &b.df, err) < 0)
    goto out;
  hutch_host_platform (&os, &arch, &variant);
  b.os = hutch_xstrdup (os);
  b.arch = hutch_xstrdup (arch);
  b.variant = variant ? hutch_xstrdup (variant) : NULL;
  if (find_stages (&b, err) < 0 || pick_target (&b, err) < 0 || parse_build_args (&b, err) < 0
      || global_args (&b, err) < 0 || build_outputs_check (o, err) < 0
      || build_secrets_check (o, err) < 0 || parse_tags (&b, err) < 0
      || check_platform (&b, err) < 0 || check_cli_labels (o, err) < 0)
    goto out;
  pick_times (&b);
  if (hutch_image_store_open (o->store_root, &b.store, err) < 0)
    goto out;
  b.store_root = hutch_xstrdup (hutch_store_root (b.store));
  if (open_context (&b, err) < 0)
    goto out;
  if (build_stage (&b, &b.stages[b.target], err) < 0)
    goto out;
  if (add_cli_labels (&b, &b.stages[b.target].result, err) < 0)
    goto out;
  if (commit_image (&b, &b.stages[b.target].result, ret_id, err) < 0)
    goto out;
  warn_unused_args (&b);
  r = 0;
out:
  build_clear (&b);
  return r;
}
