/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "image/layermap.h"
#include "image/store.h"
#include "runtime/idmap.h"
#include "base/util.h"
#include "base/walk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define RECORD_HEADER "hutch-layer-idmap 1"

void
hutch_layermap_clear (struct hutch_layermap *m)
{
  free (m->uid);
  free (m->gid);
  memset (m, 0, sizeof *m);
}

static void
push_extent (struct hutch_idmap **v, size_t *n, unsigned int c, unsigned int h, unsigned int size)
{
  *v = hutch_xrealloc (*v, (*n + 1) * sizeof **v);
  (*v)[*n] = (struct hutch_idmap){ c, h, size };
  (*n)++;
}

char *
hutch_layermap_format (const struct hutch_layermap *m)
{
  char *out = hutch_xasprintf (RECORD_HEADER "\nowners %s\n", m->kept ? "kept" : "squashed");
  size_t i;

  for (i = 0; i < m->n_uid + m->n_gid; i++)
    {
      bool u = i < m->n_uid;
      const struct hutch_idmap *e = u ? &m->uid[i] : &m->gid[i - m->n_uid];
      char *next = hutch_xasprintf ("%s%s %u %u %u\n", out, u ? "uid" : "gid", e->container_id,
                                    e->host_id, e->size);
      free (out);
      out = next;
    }
  return out;
}

/* Three numbers "C H S" at *P, each below 2^32 and the extent within it;
 *P is moved past them.  */
static int
parse_extent (const char **p, struct hutch_idmap *ret)
{
  unsigned long v[3];
  int i;

  for (i = 0; i < 3; i++)
    {
      char *end;
      while (**p == ' ' || **p == '\t')
        (*p)++;
      if (**p < '0' || **p > '9')
        return -EINVAL;
      errno = 0;
      v[i] = strtoul (*p, &end, 10);
      if (errno || v[i] > UINT32_MAX)
        return -EINVAL;
      *p = end;
    }
  if (v[2] == 0 || v[0] + v[2] > (unsigned long)UINT32_MAX + 1
      || v[1] + v[2] > (unsigned long)UINT32_MAX + 1)
    return -EINVAL;
  *ret = (struct hutch_idmap){ (unsigned int)v[0], (unsigned int)v[1], (unsigned int)v[2] };
  return 0;
}

/* One "uid C H S" or "gid C H S" line of a record into RET.  */
static int
parse_record_line (const char *line, struct hutch_layermap *ret)
{
  struct hutch_idmap e;
  bool u = hutch_str_has_prefix (line, "uid ");
  const char *p = line + 4;

  if (!u && !hutch_str_has_prefix (line, "gid "))
    return -EINVAL;
  if (parse_extent (&p, &e) < 0 || *p != '\0')
    return -EINVAL;
  if (u)
    push_extent (&ret->uid, &ret->n_uid, e.container_id, e.host_id, e.size);
  else
    push_extent (&ret->gid, &ret->n_gid, e.container_id, e.host_id, e.size);
  return 0;
}

int
hutch_layermap_parse (const char *text, struct hutch_layermap *ret)
{
  _cleanup_free_ char *copy = hutch_xstrdup (text);
  struct hutch_layermap m = { 0 };
  char *save = NULL, *line;
  int n = 0;

  for (line = strtok_r (copy, "\n", &save); line; line = strtok_r (NULL, "\n", &save), n++)
    {
      int r = 0;
      if (n == 0)
        r = strcmp (line, RECORD_HEADER) == 0 ? 0 : -EINVAL;
      else if (n == 1
               && (strcmp (line, "owners kept") == 0 || strcmp (line, "owners squashed") == 0))
        m.kept = strcmp (line, "owners kept") == 0;
      else
        r = n == 1 ? -EINVAL : parse_record_line (line, &m);
      if (r < 0)
        {
          hutch_layermap_clear (&m);
          return r;
        }
    }
  if (m.n_uid == 0 || m.n_gid == 0)
    {
      hutch_layermap_clear (&m);
      return -EINVAL;
    }
  *ret = m;
  return 0;
}

int
hutch_layermap_current (struct hutch_layermap *ret, hutch_error_t *err)
{
  struct hutch_idplan plan;

  if (hutch_idplan_make (HUTCH_USERNS_DEFAULT, &plan, err) < 0)
    return -1;
  memset (ret, 0, sizeof *ret);
  ret->uid = HUTCH_STEAL_PTR (plan.uid_map);
  ret->gid = HUTCH_STEAL_PTR (plan.gid_map);
  ret->n_uid = plan.n_uid;
  ret->n_gid = plan.n_gid;
  /* The rule the unpacker follows (hutch_layermap_record_self).  */
  ret->kept = hutch_idmap_total (ret->uid, ret->n_uid) > 1;
  hutch_idplan_clear (&plan);
  return 0;
}

/* /proc/self/uid_map or gid_map: as seen from inside, the host side is
   the parent namespace's, the user's own.  */
static int
read_own_map (const char *file, struct hutch_idmap **ret, size_t *ret_n, hutch_error_t *err)
{
  _cleanup_free_ char *text = NULL;
  char *save = NULL, *line;

  if (hutch_read_file (file, 65536, &text, NULL, err) < 0)
    return -1;
  for (line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      const char *p = line;
      struct hutch_idmap e;
      if (parse_extent (&p, &e) < 0)
        return hutch_error_set (err, 0, "`%s` has a line that is no extent: `%s`", file, line);
      push_extent (ret, ret_n, e.container_id, e.host_id, e.size);
    }
  return 0;
}

int
hutch_layermap_record_self (const char *layerdir, bool *ret_kept, hutch_error_t *err)
{
  _cleanup_free_ char *text = NULL, *path = NULL;
  struct hutch_layermap m = { 0 };
  int r = -1;

  if (read_own_map ("/proc/self/uid_map", &m.uid, &m.n_uid, err) < 0
      || read_own_map ("/proc/self/gid_map", &m.gid, &m.n_gid, err) < 0)
    goto out;
  /* One id (no subordinate range): every file stays ours, root's inside.
     More (a range, or real root's whole identity map): files get the
     archive's owners.  */
  m.kept = hutch_idmap_total (m.uid, m.n_uid) > 1;
  text = hutch_layermap_format (&m);
  path = hutch_xasprintf ("%s/%s", layerdir, HUTCH_STORE_LAYER_RECORD);
  {
    _cleanup_close_ int fd
        = open (path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 || hutch_write_all (fd, text, strlen (text)) < 0)
      {
        hutch_error_set (err, errno, "write `%s`", path);
        goto out;
      }
  }
  *ret_kept = m.kept;
  r = 0;
out:
  hutch_layermap_clear (&m);
  return r;
}

/* Whether every id of A maps to the same host id in B.  */
static bool
covered (const struct hutch_idmap *a, size_t na, const struct hutch_idmap *b, size_t nb)
{
  size_t i, j;

  for (i = 0; i < na; i++)
    {
      uint64_t c = a[i].container_id, h = a[i].host_id, left = a[i].size;
      while (left > 0)
        {
          uint64_t take = 0;
          for (j = 0; j < nb && take == 0; j++)
            if (c >= b[j].container_id && c < (uint64_t)b[j].container_id + b[j].size)
              {
                if ((uint64_t)b[j].host_id + (c - b[j].container_id) != h)
                  return false;
                take = (uint64_t)b[j].container_id + b[j].size - c;
              }
          if (take == 0)
            return false;
          if (take > left)
            take = left;
          c += take;
          h += take;
          left -= take;
        }
    }
  return true;
}

enum hutch_layermap_verdict
hutch_layermap_compare (const struct hutch_layermap *recorded, const struct hutch_layermap *current)
{
  if (!recorded->kept && current->kept)
    return HUTCH_LAYERMAP_SQUASHED;
  if (recorded->kept == current->kept
      && covered (recorded->uid, recorded->n_uid, current->uid, current->n_uid)
      && covered (recorded->gid, recorded->n_gid, current->gid, current->n_gid))
    return HUTCH_LAYERMAP_CURRENT;
  return HUTCH_LAYERMAP_MOVED;
}

/* The host id of container id 0 in MAP (the user's own), or -1.  */
static long
own_host_id (const struct hutch_idmap *map, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++)
    if (map[i].container_id == 0)
      return (long)map[i].host_id;
  return -1;
}

static bool
host_mapped (const struct hutch_idmap *map, size_t n, unsigned long id)
{
  size_t i;
  for (i = 0; i < n; i++)
    if (id >= map[i].host_id && id < (unsigned long)map[i].host_id + map[i].size)
      return true;
  return false;
}

struct guess
{
  const struct hutch_layermap *cur;
  long own_uid, own_gid;
};

/* hutch_walk_visit's callback: a verdict + 1 when this file decides.  */
static int
guess_file (void *data, const struct stat *st)
{
  const struct guess *g = data;

  /* A uid is never inherited, so one that is not the user's was given by
     an unpack that kept owners.  */
  if ((long)st->st_uid != g->own_uid)
    return 1
           + (host_mapped (g->cur->uid, g->cur->n_uid, st->st_uid) ? HUTCH_LAYERMAP_CURRENT
                                                                   : HUTCH_LAYERMAP_MOVED);
  /* A gid may come from a setgid directory above the store: only one of
     the user's subordinate gids counts.  */
  if ((long)st->st_gid != g->own_gid && host_mapped (g->cur->gid, g->cur->n_gid, st->st_gid))
    return 1 + HUTCH_LAYERMAP_CURRENT;
  return 0;
}

enum hutch_layermap_verdict
hutch_layermap_guess (int difffd, const struct hutch_layermap *current)
{
  struct guess g = { current, own_host_id (current->uid, current->n_uid),
                     own_host_id (current->gid, current->n_gid) };
  int r;

  if (!current->kept)
    return HUTCH_LAYERMAP_CURRENT;
  r = hutch_walk_visit (difffd, guess_file, &g);
  return r > 0 ? (enum hutch_layermap_verdict) (r - 1) : HUTCH_LAYERMAP_UNKNOWN;
}
