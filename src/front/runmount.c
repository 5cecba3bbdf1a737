/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* `hutch run`'s own mounts: -v, --mount and --tmpfs, the store's volumes
   they name (made when new, locked while the container runs, anonymous
   ones removed after it), and what SELinux options such as :z and
   --security-opt label= mean on this host.  */

#include "front/run.h"
#include "image/image.h"
#include "image/volume.h"
#include "base/log.h"
#include "base/parse.h"
#include "base/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool
hutch_selinux_enabled (const char *selinuxfs)
{
  _cleanup_free_ char *p
      = hutch_xasprintf ("%s/enforce", selinuxfs ? selinuxfs : "/sys/fs/selinux");
  /* selinuxfs is mounted where SELinux runs, enforcing or permissive (what
     libselinux's is_selinux_enabled looks at), and nowhere else; hutch does
     not link libselinux for this one question.  */
  return access (p, F_OK) == 0;
}

/* Every -v and --mount of O, parsed, in that order; *RET_N of them.  */
static int
parse_all (const struct hutch_run_options *o, const char *cwd, struct hutch_volume **ret,
           size_t *ret_n, hutch_error_t *err)
{
  size_t nv = hutch_strv_len (o->volumes), nm = hutch_strv_len (o->mounts), i;
  struct hutch_volume *v = hutch_xmalloc0 ((nv + nm + 1) * sizeof *v);

  for (i = 0; i < nv + nm; i++)
    if ((i < nv ? hutch_parse_volume (o->volumes[i], cwd, &v[i], err)
                : hutch_parse_mount (o->mounts[i - nv], cwd, &v[i], err))
        < 0)
      {
        while (i-- > 0)
          hutch_volume_clear (&v[i]);
        free (v);
        return -1;
      }
  *ret = v;
  *ret_n = nv + nm;
  return 0;
}

static void
free_all (struct hutch_volume *v, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++)
    hutch_volume_clear (&v[i]);
  free (v);
}

/* The -v or --mount of O that V[I] came from.  */
static const char *
arg_of (const struct hutch_run_options *o, size_t i)
{
  size_t nv = hutch_strv_len (o->volumes);
  return i < nv ? o->volumes[i] : o->mounts[i - nv];
}

/* hutch sets no SELinux label on a container: its processes run in the
   user's own SELinux context (podman would give them container_t and a
   pair of MCS categories).  So where SELinux is on, :z and :Z could only
   relabel files to a type no container of hutch runs as (and lock out the
   user's other programs), and label=type:, level:... would name a context
   that is never set: both are refused.  label=disable is what hutch does
   anyway.  Where SELinux is off there is nothing to label: that is said
   once per run, at the first option that asks for a label.  */
int
hutch_run_check_selinux (const struct hutch_run_options *o, const char *cwd, bool selinux,
                         hutch_error_t *err)
{
  _cleanup_free_ char *what = NULL;
  struct hutch_volume *v = NULL;
  size_t n = 0, i;

  if (parse_all (o, cwd, &v, &n, err) < 0)
    return -1;
  for (i = 0; i < n && what == NULL; i++)
    if (v[i].relabel)
      {
        if (selinux)
          {
            hutch_error_set (err, 0,
                             "%s `%s`: SELinux is on, and hutch cannot relabel for a container: "
                             "it runs containers in your own SELinux context (it sets no "
                             "container label such as container_t), which reaches the files as "
                             "you do; drop the %s",
                             i < hutch_strv_len (o->volumes) ? "--volume" : "--mount",
                             arg_of (o, i),
                             i < hutch_strv_len (o->volumes) ? ":z or :Z" : "relabel option");
            free_all (v, n);
            return -1;
          }
        what = hutch_xasprintf ("%s `%s`", i < hutch_strv_len (o->volumes) ? "--volume" : "--mount",
                                arg_of (o, i));
      }
  free_all (v, n);
  for (i = 0; o->security_labels && o->security_labels[i]; i++)
    {
      if (strcmp (o->security_labels[i], "disable") == 0)
        continue;
      if (selinux)
        return hutch_error_set (err, 0,
                                "--security-opt label=%s: SELinux is on, but hutch cannot run a "
                                "container under an SELinux label (it sets none: containers run "
                                "in your own context); drop it, or give label=disable",
                                o->security_labels[i]);
      if (what == NULL)
        what = hutch_xasprintf ("--security-opt label=%s", o->security_labels[i]);
    }
  if (what)
    hutch_log (HUTCH_LOG_INFO, "SELinux is off on this host: nothing to label for %s", what);
  return 0;
}

/* A bind's options for the spec.  */
static char *
bind_options (const struct hutch_volume *v)
{
  return hutch_xasprintf ("rbind,nosuid,nodev%s%s%s", v->readonly ? ",ro" : "",
                          v->propagation ? "," : "", v->propagation ? v->propagation : "");
}

/* A host path: it must exist.  -v says so in hutch's words, --mount in
   docker's (whose -v would make the directory; hutch's, like podman's,
   does not).  */
static int
add_bind (const struct hutch_volume *v, const char *arg, struct hutch_spec *spec,
          hutch_error_t *err)
{
  _cleanup_free_ char *opts = bind_options (v);
  struct stat st;

  if (stat (v->source, &st) < 0)
    {
      int e = errno;
      if (e == ENOENT && v->from_mount)
        return hutch_error_set (err, 0,
                                "--mount `%s`: invalid mount config for type \"bind\": bind "
                                "source path does not exist: %s",
                                arg, v->source);
      return hutch_error_set (err, e == ENOENT ? 0 : e, "%s `%s`: the source `%s` %s",
                              v->from_mount ? "--mount" : "--volume", arg, v->source,
                              e == ENOENT ? "does not exist; create it first" : "cannot be used");
    }
  hutch_spec_add_mount (spec, v->destination, "bind", v->source, opts);
  spec->mounts[spec->n_mounts - 1].chown = v->chown;
  return 0;
}

/* A volume of the store (*S, opened on first use), made when new and
   locked while the container runs; an anonymous one is removed after.
   COPY_UP: the root is an image's or a directory's, whose content at the
   destination an empty volume gets.  */
static int
add_volume (const struct hutch_volume *v, const struct hutch_run_options *o, bool copy_up,
            struct hutch_store **s, struct hutch_spec *spec, hutch_error_t *err)
{
  _cleanup_free_ char *opts = bind_options (v), *anon = NULL;
  struct hutch_volume_info info;
  struct hutch_mount *m;
  bool created;
  int lockfd;

  if (*s == NULL && hutch_image_store_open (o->store_root, s, err) < 0)
    return hutch_error_prefix (err, "volumes live in the store");
  /* A container with a record gets the same anonymous volumes at each
     start: named by its id and their order.  */
  if (v->kind == HUTCH_VOLUME_ANONYMOUS && o->container_id)
    anon = hutch_xasprintf ("%s-%zu", o->container_id, hutch_strv_len (spec->extra.drop_volumes));
  if (hutch_volume_use (*s, anon ? anon : v->source, v->labels, &info, &lockfd, &created, err) < 0)
    return -1;
  spec->extra.volume_lockfds = hutch_xrealloc (spec->extra.volume_lockfds,
                                               (spec->extra.n_volume_lockfds + 1) * sizeof (int));
  spec->extra.volume_lockfds[spec->extra.n_volume_lockfds++] = lockfd;
  if (v->kind == HUTCH_VOLUME_ANONYMOUS)
    hutch_strv_push (&spec->extra.drop_volumes,
                     hutch_xasprintf ("%s/volumes/%s", hutch_store_root (*s), info.name));
  hutch_spec_add_mount (spec, v->destination, "bind", info.mountpoint, opts);
  m = &spec->mounts[spec->n_mounts - 1];
  m->copy_up = copy_up && !v->nocopy;
  m->chown = v->chown;
  hutch_volume_info_clear (&info);
  return 0;
}

/* docker refuses two mounts on one destination ("Duplicate mount point");
   so does hutch, rather than let the later one hide the earlier.  */
static int
check_duplicates (struct hutch_spec *spec, size_t first, hutch_error_t *err)
{
  size_t i, k;

  for (i = first; i < spec->n_mounts; i++)
    for (k = first; k < i; k++)
      {
        const char *a = spec->mounts[i].destination, *b = spec->mounts[k].destination;
        size_t la = strlen (a), lb = strlen (b);
        while (la > 1 && a[la - 1] == '/')
          la--;
        while (lb > 1 && b[lb - 1] == '/')
          lb--;
        if (la == lb && strncmp (a, b, la) == 0)
          return hutch_error_set (err, 0,
                                  "two mounts on %s (-v, --mount or --tmpfs); give each "
                                  "destination once",
                                  a);
      }
  return 0;
}

static int
add_tmpfs (const char *dest, const char *opts, bool readonly, struct hutch_spec *spec)
{
  _cleanup_free_ char *all = hutch_xasprintf ("nosuid,nodev%s%s%s", readonly ? ",ro" : "",
                                              opts ? "," : "", opts ? opts : "");
  hutch_spec_add_mount (spec, dest, "tmpfs", "tmpfs", all);
  return 0;
}

int
hutch_run_add_mounts (const struct hutch_run_options *o, struct hutch_spec *spec, const char *cwd,
                      hutch_error_t *err)
{
  _cleanup_store_ struct hutch_store *s = NULL;
  struct hutch_volume *v = NULL;
  bool copy_up = o->image != NULL || o->rootfs != NULL;
  size_t n = 0, i, first = spec->n_mounts;
  int r = 0;

  if (hutch_run_check_selinux (o, cwd, hutch_selinux_enabled (NULL), err) < 0
      || parse_all (o, cwd, &v, &n, err) < 0)
    return -1;
  for (i = 0; i < n && r == 0; i++)
    if (v[i].kind == HUTCH_VOLUME_BIND)
      r = add_bind (&v[i], arg_of (o, i), spec, err);
    else if (v[i].kind == HUTCH_VOLUME_TMPFS)
      r = add_tmpfs (v[i].destination, v[i].tmpfs_options, v[i].readonly, spec);
    else
      r = add_volume (&v[i], o, copy_up, &s, spec, err);
  free_all (v, n);
  for (i = 0; r == 0 && o->tmpfs && o->tmpfs[i]; i++)
    {
      _cleanup_free_ char *dest = NULL, *opts = NULL;
      r = hutch_parse_tmpfs (o->tmpfs[i], &dest, &opts, err);
      if (r == 0)
        r = add_tmpfs (dest, opts, false, spec);
    }
  if (r == 0)
    r = check_duplicates (spec, first, err);
  return r < 0 ? -1 : 0;
}

/* After the run: the volumes' locks go, then the anonymous volumes (the
   store opened again: the run did not keep it).  One that another
   container uses meanwhile (by its name) stays.  */
void
hutch_run_drop_volumes (struct hutch_spec *spec, hutch_error_t *err)
{
  _cleanup_store_ struct hutch_store *s = NULL;
  size_t i;

  for (i = 0; i < spec->extra.n_volume_lockfds; i++)
    close (spec->extra.volume_lockfds[i]);
  spec->extra.n_volume_lockfds = 0;
  for (i = 0; spec->extra.drop_volumes && spec->extra.drop_volumes[i]; i++)
    {
      char *dir = spec->extra.drop_volumes[i], *name = strrchr (dir, '/') + 1;
      _cleanup_free_ char *root = hutch_xstrndup (dir, (size_t)(name - dir) - strlen ("/volumes/"));
      hutch_error_t e = HUTCH_ERROR_INIT;

      if (s == NULL && hutch_image_store_open (root, &s, err) < 0)
        break;
      if (hutch_volume_remove (s, name, false, &e) == -EBUSY)
        hutch_log (HUTCH_LOG_WARNING,
                   "the anonymous volume %s is in use by another container: it stays (remove "
                   "it later with `hutch volume rm %s`)",
                   name, name);
      else if (e.msg && err->msg == NULL)
        {
          hutch_error_set (err, 0, "%s", e.msg);
          err->errnum = e.errnum;
        }
      hutch_error_clear (&e);
    }
  hutch_strv_free (spec->extra.drop_volumes);
  spec->extra.drop_volumes = NULL;
}
