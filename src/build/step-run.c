/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* RUN: the command in a hutch container made from the step's image,
   exactly as hutch run makes one (the user namespace with the user's
   subordinate ids, the overlay, the network, seccomp and capabilities),
   and the container's upper directory, read as it is, the new layer.
   The container's hostname, hosts and resolv.conf are mounts of the run
   and never enter the layer.  */

#include "build/build-private.h"
#include "base/log.h"
#include "base/util.h"
#include "base/walk.h"
#include "front/run.h"
#include "image/image.h"
#include "image/layerwrite.h"
#include "runtime/container.h"
#include "runtime/nsexec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- RUN --mount ---------------------------------------------------------- */

struct rmount
{
  char *spec;   /* the flag's value, expanded, for the key */
  char *type;   /* cache, bind, tmpfs, secret */
  char *target; /* absolute */
  char *source; /* bind: in the context; secret: the file; cache: its id */
  bool rw, required;
  char *size; /* tmpfs */
};

/* --secret SPEC (id=ID,src=FILE): its id (the file's name when it has
   none) and its file.  */
static int
secret_parse (const char *spec, char **ret_id, char **ret_src, hutch_error_t *err)
{
  _cleanup_free_ char *copy = hutch_xstrdup (spec), *id = NULL, *src = NULL;
  char *save = NULL, *tok;

  for (tok = strtok_r (copy, ",", &save); tok; tok = strtok_r (NULL, ",", &save))
    {
      if (hutch_str_has_prefix (tok, "id="))
        {
          free (id);
          id = hutch_xstrdup (tok + 3);
        }
      else if (hutch_str_has_prefix (tok, "src=") || hutch_str_has_prefix (tok, "source="))
        {
          free (src);
          src = hutch_xstrdup (strchr (tok, '=') + 1);
        }
      else if (!hutch_str_has_prefix (tok, "type="))
        return hutch_error_set (err, 0, "--secret `%s`: unknown field `%s` (id=ID,src=FILE)", spec,
                                tok);
    }
  if (src == NULL)
    return hutch_error_set (
        err, 0, id ? "--secret `%s`: no src=FILE" : "--secret `%s`: expected id=ID,src=FILE", spec);
  if (id == NULL)
    id = hutch_xstrdup (strrchr (src, '/') ? strrchr (src, '/') + 1 : src);
  *ret_id = HUTCH_STEAL_PTR (id);
  *ret_src = HUTCH_STEAL_PTR (src);
  return 0;
}

/* The file of the secret ID from --secret, or NULL.  */
static int
secret_source (const struct hutch_build_opts *o, const char *id, char **ret, hutch_error_t *err)
{
  size_t i;

  *ret = NULL;
  for (i = 0; o->secrets && o->secrets[i]; i++)
    {
      _cleanup_free_ char *sid = NULL, *src = NULL;
      if (secret_parse (o->secrets[i], &sid, &src, err) < 0)
        return -1;
      if (strcmp (sid, id) == 0)
        {
          *ret = HUTCH_STEAL_PTR (src);
          return 0;
        }
    }
  return 0;
}

int
build_secrets_check (const struct hutch_build_opts *o, hutch_error_t *err)
{
  size_t i;

  for (i = 0; o->secrets && o->secrets[i]; i++)
    {
      _cleanup_free_ char *id = NULL, *src = NULL;
      struct stat sb;

      if (secret_parse (o->secrets[i], &id, &src, err) < 0)
        return -1;
      if (stat (src, &sb) < 0)
        return hutch_error_set (err, errno, "--secret `%s`: `%s`", o->secrets[i], src);
    }
  return 0;
}

static int
parse_mount (struct bstate *st, const char *value, struct rmount *m, hutch_error_t *err)
{
  _cleanup_free_ char *copy = NULL, *id = NULL, *wd = NULL;
  char *save = NULL, *tok;
  json_t *cfg = bimage_cfg (&st->img);

  if (hutch_df_expand (value, st->b->df.escape, bstate_lookup, st, &m->spec, err) < 0)
    return -1;
  copy = hutch_xstrdup (m->spec);
  for (tok = strtok_r (copy, ",", &save); tok; tok = strtok_r (NULL, ",", &save))
    {
      char *eq = strchr (tok, '=');
      const char *v = eq ? eq + 1 : NULL;
      if (eq)
        *eq = '\0';
      if (strcmp (tok, "type") == 0 && v)
        m->type = hutch_xstrdup (v);
      else if ((strcmp (tok, "target") == 0 || strcmp (tok, "dst") == 0
                || strcmp (tok, "destination") == 0)
               && v)
        m->target = hutch_xstrdup (v);
      else if ((strcmp (tok, "source") == 0 || strcmp (tok, "src") == 0) && v)
        m->source = hutch_xstrdup (v);
      else if (strcmp (tok, "id") == 0 && v)
        id = hutch_xstrdup (v);
      else if (strcmp (tok, "rw") == 0 || strcmp (tok, "readwrite") == 0)
        m->rw = v == NULL || strcmp (v, "true") == 0;
      else if (strcmp (tok, "ro") == 0 || strcmp (tok, "readonly") == 0)
        m->rw = !(v == NULL || strcmp (v, "true") == 0);
      else if (strcmp (tok, "required") == 0)
        m->required = v == NULL || strcmp (v, "true") == 0;
      else if (strcmp (tok, "size") == 0 && v)
        m->size = hutch_xstrdup (v);
      else if (strcmp (tok, "sharing") == 0 && v && strcmp (v, "shared") == 0)
        continue; /* what a cache directory of the store is: every build uses it at once */
      else if ((strcmp (tok, "uid") == 0 || strcmp (tok, "gid") == 0) && v && strcmp (v, "0") == 0)
        continue; /* the mount's owner is the container's root already */
      else if (strcmp (tok, "sharing") == 0 || strcmp (tok, "mode") == 0 || strcmp (tok, "uid") == 0
               || strcmp (tok, "gid") == 0)
        return hutch_error_set (err, 0,
                                "--mount=%s: %s=%s is not supported yet (a mount is the container "
                                "root's, shared, with its own mode)",
                                m->spec, tok, v ? v : "");
      else if (strcmp (tok, "from") == 0)
        return hutch_error_set (err, 0,
                                "--mount=%s: from= (a stage or an image as the source) is not "
                                "supported yet; COPY --from the files instead",
                                m->spec);
      else
        return hutch_error_set (err, 0, "--mount=%s: unknown option `%s`", m->spec, tok);
    }
  if (m->type == NULL)
    m->type = hutch_xstrdup ("bind");
  if (strcmp (m->type, "secret") == 0)
    {
      if (id == NULL && m->target)
        id = hutch_xstrdup (strrchr (m->target, '/') ? strrchr (m->target, '/') + 1 : m->target);
      if (id == NULL)
        return hutch_error_set (err, 0, "--mount=%s: a secret needs id=ID", m->spec);
      if (m->target == NULL)
        m->target = hutch_xasprintf ("/run/secrets/%s", id);
      free (m->source);
      m->source = HUTCH_STEAL_PTR (id);
    }
  else if (strcmp (m->type, "cache") == 0)
    {
      if (id)
        {
          free (m->source);
          m->source = HUTCH_STEAL_PTR (id);
        }
    }
  else if (strcmp (m->type, "bind") != 0 && strcmp (m->type, "tmpfs") != 0)
    return hutch_error_set (err, 0, "--mount=%s: type is cache, bind, tmpfs or secret", m->spec);
  if (m->target == NULL)
    return hutch_error_set (err, 0, "--mount=%s: no target=PATH", m->spec);
  wd = m->target;
  m->target = build_join_path (json_string_value (json_object_get (cfg, "WorkingDir")), wd);
  if (strcmp (m->type, "cache") == 0 && m->source == NULL)
    m->source = hutch_xstrdup (m->target);
  return 0;
}

/* A cache mount's directory: ROOT/build-cache/mounts/<sha of its id>,
   the user's (root in the container).  */
static char *
cache_dir (struct build *b, const char *id, hutch_error_t *err)
{
  struct bkey *k = bkey_new ("");
  char hex[65];
  char *dir;

  bkey_add (k, "cache-mount", id);
  bkey_finish (k, hex);
  dir = hutch_xasprintf ("%s/build-cache/mounts/%.32s", b->store_root, hex);
  if (hutch_walk_mkdir_p (dir, 0755, err) < 0)
    {
      free (dir);
      return NULL;
    }
  return dir;
}

struct excluded_find
{
  const struct hutch_ignore *ig;
  const char *top;
  char *first;
};

static int
find_excluded (void *data, const struct hutch_walk_entry *e, hutch_error_t *err)
{
  struct excluded_find *f = data;
  _cleanup_free_ char *rel
      = *f->top ? hutch_xasprintf ("%s/%s", f->top, e->path) : hutch_xstrdup (e->path);

  (void)err;
  if (!hutch_ignore_excluded (f->ig, rel))
    return HUTCH_WALK_ENTER;
  f->first = HUTCH_STEAL_PTR (rel);
  return -1;
}

/* A bind mount shows a directory of the context whole: one that holds
   what the ignore file excludes (.env, .git) would show the step what
   COPY cannot take, and a change to it would not change the key.  */
static int
bind_hides_nothing (struct build *b, const char *rel, const struct rmount *m, hutch_error_t *err)
{
  struct excluded_find f = { b->ignore, rel, NULL };
  hutch_error_t e = HUTCH_ERROR_INIT;
  _cleanup_close_ int fd = -1;
  struct stat sb;

  if (b->ignore == NULL || hutch_ignore_empty (b->ignore))
    return 0;
  fd = *rel ? hutch_walk_open_beneath (hutch_context_fd (b->ctx), rel, O_PATH, 0)
            : openat (hutch_context_fd (b->ctx), ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fstat (fd, &sb) < 0)
    return hutch_error_set (err, errno, "--mount=%s: `%s` in the context", m->spec, rel);
  if (!S_ISDIR (sb.st_mode))
    return 0;
  if (hutch_walk_sorted (fd, find_excluded, &f, &e) == 0 || f.first == NULL)
    {
      int r = e.msg && f.first == NULL ? hutch_error_set (err, e.errnum, "%s", e.msg) : 0;
      hutch_error_clear (&e);
      return r;
    }
  hutch_error_clear (&e);
  hutch_error_set (err, 0,
                   "--mount=%s: `%s` holds `%s`, which %s excludes; a bind mount would show it "
                   "to the step: mount a directory without excluded files",
                   m->spec, *rel ? rel : ".", f.first,
                   b->ignore_file ? b->ignore_file : "the ignore file");
  free (f.first);
  return -1;
}

/* The run options that mount M, and what M adds to the cache key.  */
static int
apply_mount (struct bstate *st, struct rmount *m, struct hutch_run_options *ro, struct bkey *k,
             hutch_error_t *err)
{
  struct build *b = st->b;
  _cleanup_free_ char *host = NULL;

  bkey_add (k, "mount", m->spec);
  if (strcmp (m->type, "tmpfs") == 0)
    {
      hutch_strv_push (&ro->tmpfs, m->size ? hutch_xasprintf ("%s:size=%s", m->target, m->size)
                                           : hutch_xstrdup (m->target));
      return 0;
    }
  if (strcmp (m->type, "cache") == 0)
    {
      host = cache_dir (b, m->source, err);
      if (host == NULL)
        return -1;
      hutch_strv_push (&ro->volumes, hutch_xasprintf ("%s:%s", host, m->target));
      return 0;
    }
  if (strcmp (m->type, "secret") == 0)
    {
      if (secret_source (b->o, m->source, &host, err) < 0)
        return -1;
      if (host == NULL)
        {
          if (m->required)
            return hutch_error_set (err, 0,
                                    "--mount=%s: secret `%s` is required; give it with --secret "
                                    "id=%s,src=FILE",
                                    m->spec, m->source, m->source);
          return 1; /* nothing mounted */
        }
      /* Its content is no part of the key: a secret must not leave a
         trace, and changing one does not rerun the step (as BuildKit).  */
      hutch_strv_push (&ro->volumes, hutch_xasprintf ("%s:%s:ro", host, m->target));
      return 0;
    }
  /* bind, from the context: its content is part of the key.  */
  {
    _cleanup_strv_ char **found = NULL;
    struct hutch_context_meta meta = { -1, -1, -1 };
    char sum[65];
    const char *src = m->source ? m->source : ".";

    if (b->ctx == NULL)
      return hutch_error_set (err, 0, "--mount=%s: a bind mount needs a build context", m->spec);
    if (m->rw)
      return hutch_error_set (err, 0,
                              "--mount=%s: rw bind mounts are not supported yet (their writes "
                              "would be thrown away); mount it read-only",
                              m->spec);
    if (hutch_context_match (b->ctx, src, &found, err) < 0)
      return -1;
    if (found[1])
      return hutch_error_set (err, 0, "--mount=%s: source `%s` names more than one file", m->spec,
                              src);
    if (hutch_context_checksum (b->ctx, found[0], &meta, sum, err) < 0)
      return -1;
    if (bind_hides_nothing (b, found[0], m, err) < 0)
      return -1;
    bkey_add (k, "mount-content", sum);
    hutch_strv_push (&ro->volumes, hutch_xasprintf ("%s/%s:%s:ro", b->context_abs,
                                                    *found[0] ? found[0] : ".", m->target));
    return 0;
  }
}

/* ---- the command ---------------------------------------------------------- */

/* What RUN runs: its JSON array; or the shell with the text; with
   heredocs, a lone `<<EOF` is the script itself (a file run through its
   #! line, or the shell's -c text), and otherwise the shell gets the
   line and the heredocs as a script of its own, as BuildKit does.  */
static char **
run_argv (struct bstate *st, const struct hutch_df_instr *i)
{
  char **argv = NULL;
  size_t k;

  if (i->json)
    {
      argv = hutch_xmalloc0 (sizeof (char *));
      for (k = 0; i->args[k]; k++)
        hutch_strv_push (&argv, hutch_xstrdup (i->args[k]));
      return argv;
    }
  argv = build_shell (st);
  if (i->n_heredocs == 0)
    {
      hutch_strv_push (&argv, hutch_xstrdup (i->args[0]));
      return argv;
    }
  {
    const char *line = i->args[0];
    bool alone = i->n_heredocs == 1 && hutch_df_heredoc_index (i, line) == 0;
    const struct hutch_df_heredoc *h = &i->heredocs[0];

    if (alone && hutch_str_has_prefix (h->content, "#!"))
      {
        /* The script is a file of its own, run through its #! line:
           run_options mounts it at /dev/pipes/NAME, as BuildKit does.  */
        hutch_strv_free (argv);
        argv = hutch_xmalloc0 (sizeof (char *));
        hutch_strv_push (&argv, hutch_xasprintf ("/dev/pipes/%s", h->name));
        return argv;
      }
    if (alone)
      {
        hutch_strv_push (&argv, hutch_xstrdup (h->content));
        return argv;
      }
    {
      char *script = hutch_xstrdup (line);
      for (k = 0; k < i->n_heredocs; k++)
        {
          char *next
              = hutch_xasprintf ("%s\n%s%s", script, i->heredocs[k].content, i->heredocs[k].name);
          free (script);
          script = next;
        }
      hutch_strv_push (&argv, script);
    }
  }
  return argv;
}

/* ---- the layer ------------------------------------------------------------ */

struct upper_job
{
  const char *upper;
  char **lowers; /* topmost first */
  int fd;
  int64_t clamp;
  char *const *mount_targets; /* mount targets the run made: left out when empty */
};

/* Mount points that only this run's mounts made (a secret's file, a
   cache's directory): empty, they go, so that they do not enter the
   layer (parents the run made stay, as with BuildKit).  */
static void
drop_mount_points (int upperfd, char *const *mount_targets)
{
  size_t i;

  for (i = 0; mount_targets && mount_targets[i]; i++)
    {
      const char *rel = mount_targets[i] + strspn (mount_targets[i], "/"),
                 *slash = strrchr (rel, '/');
      _cleanup_free_ char *parent = slash ? hutch_xstrndup (rel, (size_t)(slash - rel)) : NULL;
      const char *name = slash ? slash + 1 : rel;
      _cleanup_close_ int dfd = -1;
      struct stat sb;

      if (*name == '\0')
        continue;
      /* The container may have left a symlink where a parent was (or
         renamed one): the parent is opened beneath the upper directory
         without following any, so that nothing outside it is touched.  */
      dfd = hutch_walk_open_beneath (upperfd, parent ? parent : "", O_PATH | O_DIRECTORY,
                                     RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV);
      if (dfd < 0 || fstatat (dfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      if (S_ISREG (sb.st_mode) && sb.st_size == 0)
        unlinkat (dfd, name, 0);
      else if (S_ISDIR (sb.st_mode))
        unlinkat (dfd, name, AT_REMOVEDIR); /* fails unless empty */
    }
}

/* In the worker, root of a user namespace with the user's map: the upper
   directory into the layer file.  */
static int
upper_fn (void *arg, char *out, size_t out_len, hutch_error_t *err)
{
  struct upper_job *j = arg;
  struct hutch_layer_write_opts wo = { .gzip = true, .clamp_time = j->clamp };
  struct hutch_layer_writer *w = NULL;
  struct hutch_layer_digests d;
  int ufd = open (j->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (ufd < 0)
    return hutch_error_set (err, errno, "open `%s`", j->upper);
  drop_mount_points (ufd, j->mount_targets);
  close (ufd);
  if (hutch_layer_writer_open (j->fd, &wo, &w, err) < 0)
    return -1;
  if (hutch_layer_from_upper (w, j->upper, j->lowers, hutch_strv_len (j->lowers), err) < 0)
    {
      hutch_layer_writer_abort (w);
      return -1;
    }
  if (hutch_layer_writer_finish (w, &d, err) < 0)
    return -1;
  hutch_layer_digests_format (&d, out, out_len);
  return 0;
}

char **
bimage_layer_dirs (struct build *b, const struct bimage *img)
{
  char **dirs = hutch_xmalloc0 (sizeof (char *));
  size_t i = img->n_layers;

  while (i-- > 0)
    {
      _cleanup_free_ char *l = hutch_store_layer_path (b->store, img->layers[i].diff_id);
      hutch_strv_push (&dirs, hutch_xasprintf ("%s/diff", l));
    }
  return dirs;
}

/* The layer of the container that SPEC ran: *RET_EMPTY when it changed
   nothing.  */
static int
layer_of_upper (struct bstate *st, const char *upper, char *const *mount_targets,
                struct hutch_store_layer *ret, bool *ret_empty, hutch_error_t *err)
{
  struct build *b = st->b;
  _cleanup_strv_ char **lowers = bimage_layer_dirs (b, &st->img);
  _cleanup_close_ int fd = hutch_layer_scratch (b->store, err);
  struct upper_job j = { upper, lowers, fd, b->clamp, mount_targets };
  struct hutch_userns_job *job = NULL;
  struct hutch_layer_digests d;
  char out[HUTCH_USERNS_OUT_MAX];

  if (fd < 0)
    return -1;
  if (hutch_userns_start (upper_fn, &j, &fd, 1, &job, err) < 0
      || hutch_userns_finish (job, out, sizeof out, err) < 0)
    return hutch_error_prefix (err, "the layer of the step");
  if (hutch_layer_digests_parse (out, &d, err) < 0)
    return -1;
  if (d.entries == 0)
    {
      *ret_empty = true;
      return 0;
    }
  *ret_empty = false;
  return hutch_layer_put (b->store, fd, &d, ret, err);
}

/* The step's image as a config blob of the store, for the run to read
   (its Env, User, WorkingDir).  */
static int
step_image (struct bstate *st, struct hutch_image *ret, hutch_error_t *err)
{
  char *digest = NULL;

  memset (ret, 0, sizeof *ret);
  if (hutch_image_put_json (st->b->store, st->img.config, &digest, NULL, err) < 0)
    return -1;
  ret->id = digest;
  ret->config_digest = hutch_xstrdup (digest);
  ret->layers = st->img.layers;
  ret->n_layers = st->img.n_layers;
  return 0;
}

/* Run ARGV as the step's container; its layer into *RET.  */
static int
run_container (struct bstate *st, struct hutch_run_options *ro, char *const *mount_targets,
               struct hutch_store_layer *ret, bool *ret_empty, hutch_error_t *err)
{
  _cleanup_spec_ struct hutch_spec *spec = NULL;
  struct hutch_image img;
  hutch_error_t e = HUTCH_ERROR_INIT;
  int status = 0, r = -1;

  if (st->img.n_layers == 0)
    return hutch_error_set (err, 0,
                            "there is nothing to run the command in: the image has no files yet "
                            "(FROM scratch); COPY a shell and what the command needs first, or "
                            "start FROM an image");
  if (step_image (st, &img, err) < 0)
    return -1;
  ro->image = hutch_xstrdup (img.id);
  ro->built_image = &img;
  ro->keep = true; /* its upper directory is read after the run */
  if (hutch_run_make_spec (ro, &spec, err) < 0)
    goto out;
  if (spec->extra.overlay == NULL)
    {
      hutch_error_set (err, 0,
                       "RUN needs an overlay (kernel overlayfs or fuse-overlayfs) to find its "
                       "changes; the vfs storage driver is not supported by hutch build yet");
      goto cleanup;
    }
  if (hutch_container_run (spec, &status, err) < 0)
    {
      /* A command that cannot be found or run is the step's failure, as
         one that exits non-zero.  */
      if (err->exit_code == HUTCH_EXIT_NOT_FOUND || err->exit_code == HUTCH_EXIT_CANNOT_EXEC)
        err->exit_code = 1;
      goto cleanup;
    }
  if (status != 0)
    {
      /* STATUS is the command's exit code, 128+N for a signal N, as a
         shell says it.  */
      hutch_error_set_exit (err, 1, 0, "the command exited with code %d%s", status,
                            status > 128 && status < 128 + 65 ? " (killed by a signal?)" : "");
      goto cleanup;
    }
  r = layer_of_upper (st, spec->extra.overlay->upper, mount_targets, ret, ret_empty, err);
cleanup:
  spec->extra.keep_container_dir = false;
  hutch_run_cleanup (spec, &e);
  if (e.msg)
    hutch_log (HUTCH_LOG_WARNING, "the step's container: %s", e.msg);
  hutch_error_clear (&e);
out:
  ro->built_image = NULL;
  free (img.id);
  free (img.config_digest);
  return r;
}

/* RUN's options, its argv, environment, user, working directory and
   network, and what they add to the key.  */
/* A heredoc script as an executable file of DIR (ROOT/tmp), for the
   step's container to run; the caller removes *RET_PATH.  */
static int
write_script (const char *dir, const char *content, char **ret_path, hutch_error_t *err)
{
  char hex[17];
  _cleanup_free_ char *path = NULL;
  int fd;

  if (hutch_random_hex (hex, 16) < 0)
    return hutch_error_set (err, errno, "a random name");
  hex[16] = '\0';
  path = hutch_xasprintf ("%s/heredoc-%d-%s", dir, (int)getpid (), hex);
  fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755);
  if (fd < 0)
    return hutch_error_set (err, errno, "create `%s`", path);
  if (hutch_write_all (fd, content, strlen (content)) < 0 || close (fd) < 0)
    {
      int e = errno;
      unlink (path);
      return hutch_error_set (err, e, "write `%s`", path);
    }
  *ret_path = HUTCH_STEAL_PTR (path);
  return 0;
}

static int
run_options (struct bstate *st, const struct hutch_df_instr *i, struct hutch_run_options *ro,
             struct bkey *k, char ***mount_targets, char ***scripts, hutch_error_t *err)
{
  static const char *const flags[] = { "mount", "network", "security", "device", NULL };
  struct build *b = st->b;
  json_t *cfg = bimage_cfg (&st->img);
  const char *user = json_string_value (json_object_get (cfg, "User"));
  const char *wd = json_string_value (json_object_get (cfg, "WorkingDir"));
  const char *net;
  bool set;
  size_t f;

  if (instr_check_flags (i, flags, err) < 0)
    return -1;
  if (instr_flag (i, "security", &set), set)
    {
      const char *v = instr_flag (i, "security", &set);
      if (v == NULL || strcmp (v, "sandbox") != 0)
        return hutch_error_set (err, 0,
                                "--security=%s is refused: a build step runs with the "
                                "defaults of hutch run, never as an insecure container",
                                v ? v : "");
    }
  if (instr_flag (i, "device", &set), set)
    return hutch_error_set (err, 0,
                            "--device is refused: a build step sees no device of the host "
                            "(docker's BuildKit needs an entitlement for it)");
  ro->command = run_argv (st, i);
  if (hutch_str_has_prefix (ro->command[0], "/dev/pipes/") && !i->json && i->n_heredocs == 1)
    {
      _cleanup_free_ char *dir = hutch_xasprintf ("%s/tmp", b->store_root);
      char *path = NULL;
      if (write_script (dir, i->heredocs[0].content, &path, err) < 0)
        return -1;
      hutch_strv_push (&ro->volumes, hutch_xasprintf ("%s:%s:ro", path, ro->command[0]));
      hutch_strv_push (scripts, path);
      bkey_add (k, "script", i->heredocs[0].content);
    }
  ro->entrypoint = hutch_xmalloc0 (sizeof (char *));
  ro->env = bstate_run_env (st);
  ro->user = user && *user ? hutch_xstrdup (user) : NULL;
  ro->workdir = hutch_xstrdup (wd && *wd ? wd : "/");
  ro->network = b->o->network;
  net = instr_flag (i, "network", &set);
  if (set)
    {
      if (net && strcmp (net, "none") == 0)
        ro->network = HUTCH_NETWORK_NONE;
      else if (net && strcmp (net, "host") == 0)
        {
          /* The host's network reaches its loopback services and
             abstract sockets (an X server's): a Containerfile, or a base
             image's ONBUILD, gets it only when the user said so.  */
          if (b->o->network != HUTCH_NETWORK_HOST)
            return hutch_error_set (err, 0,
                                    "--network=host is refused: a build step gets the host's "
                                    "network only when the build is run with `hutch build "
                                    "--network host`");
          ro->network = HUTCH_NETWORK_HOST;
        }
      else if (!(net && strcmp (net, "default") == 0))
        return hutch_error_set (err, 0, "--network=%s: expected default, none or host",
                                net ? net : "");
    }
  ro->add_hosts = b->o->add_hosts ? hutch_strv_dup (b->o->add_hosts) : NULL;
  ro->store_root = b->o->store_root ? hutch_xstrdup (b->o->store_root) : NULL;
  ro->storage_driver = b->o->storage_driver;
  ro->quiet = true;
  ro->pull = HUTCH_PULL_NEVER;
  bkey_add (k, "run", "");
  bkey_addv (k, "argv", ro->command);
  bkey_addv (k, "env", ro->env);
  bkey_add (k, "user", ro->user);
  bkey_add (k, "workdir", ro->workdir);
  bkey_add (k, "network",
            ro->network == HUTCH_NETWORK_NONE   ? "none"
            : ro->network == HUTCH_NETWORK_HOST ? "host"
                                                : "default");
  bkey_addv (k, "add-host", ro->add_hosts);
  *mount_targets = hutch_xmalloc0 (sizeof (char *));
  for (f = 0; f < i->n_flags; f++)
    {
      struct rmount m = { 0 };
      int r;
      if (strcmp (i->flags[f].name, "mount") != 0)
        continue;
      r = parse_mount (st, i->flags[f].value ? i->flags[f].value : "", &m, err);
      if (r == 0)
        r = apply_mount (st, &m, ro, k, err);
      if (r == 0)
        hutch_strv_push (mount_targets, hutch_xstrdup (m.target));
      if (r == 1)
        r = 0;
      free (m.spec);
      free (m.type);
      free (m.target);
      free (m.source);
      free (m.size);
      if (r < 0)
        return -1;
    }
  return 0;
}

int
build_step_run (struct bstate *st, const struct hutch_df_instr *i, hutch_error_t *err)
{
  struct build *b = st->b;
  struct hutch_run_options ro;
  struct hutch_store_layer layer = { 0 };
  _cleanup_strv_ char **mount_targets = NULL, **scripts = hutch_xmalloc0 (sizeof (char *));
  _cleanup_free_ char *made = NULL;
  struct bkey *k = bkey_new (st->img.key);
  char key[65];
  bool empty = true;
  size_t n;
  int r;

  hutch_run_options_init (&ro);
  r = run_options (st, i, &ro, k, &mount_targets, &scripts, err);
  bkey_finish (k, key);
  if (r < 0)
    {
      hutch_run_options_clear (&ro);
      for (n = 0; scripts[n]; n++)
        unlink (scripts[n]);
      return build_fail_at (b, i, err);
    }
  r = build_cache_get (b, key, &layer, &empty, &made);
  if (r == 1)
    b->cached = true;
  else
    {
      r = run_container (st, &ro, mount_targets, &layer, &empty, err);
      if (r < 0)
        {
          hutch_run_options_clear (&ro);
          for (n = 0; scripts[n]; n++)
            unlink (scripts[n]);
          return build_fail_at (b, i, err);
        }
      build_cache_put (b, key, empty ? NULL : &layer);
    }
  hutch_run_options_clear (&ro);
  for (n = 0; scripts[n]; n++)
    unlink (scripts[n]);
  if (!empty)
    {
      bimage_add_layer (&st->img, &layer);
      bimage_set_time (b, &st->img, made);
      free (layer.digest);
      free (layer.diff_id);
      free (layer.media_type);
    }
  bimage_history (&st->img, i->original, empty);
  memcpy (st->img.key, key, sizeof key);
  return 0;
}
