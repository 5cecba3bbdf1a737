/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "runtime/caps.h"
#include "base/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

/* libcap's cap_from_name reads a leading name and ignores what follows
   ("net_raw,kill" is NET_RAW): a name counts only when it is exactly the
   name libcap gives back for its value.  */
static bool
exact_cap (const char *name, cap_value_t *ret)
{
  char *back;
  bool ok;
  if (cap_from_name (name, ret) < 0 || *ret < 0)
    return false;
  back = cap_to_name (*ret);
  ok = back && strcasecmp (back, name) == 0;
  cap_free (back);
  return ok;
}

/* A name libcap knows but the running kernel does not (a newer capability)
   is skipped, as runc and crun do: asking for it cannot grant anything.  */
static int
cap_lookup (const char *name, cap_value_t *ret, bool *ret_known_to_kernel, hutch_error_t *err)
{
  cap_value_t v = 0;
  *ret_known_to_kernel = false;
  if (!exact_cap (name, &v))
    return hutch_error_set (err, 0, "unknown capability `%s`", name);
  *ret = v;
  *ret_known_to_kernel = v <= (cap_value_t)cap_max_bits () - 1;
  return 0;
}

static bool
listed (char **list, cap_value_t cap)
{
  size_t i;
  for (i = 0; list && list[i]; i++)
    {
      cap_value_t v;
      if (cap_from_name (list[i], &v) == 0 && v == cap)
        return true;
    }
  return false;
}

int
hutch_caps_validate (const struct hutch_spec *spec, hutch_error_t *err)
{
  char **lists[] = { spec->cap_bounding, spec->cap_effective, spec->cap_permitted,
                     spec->cap_inheritable, spec->cap_ambient };
  size_t l, i;
  for (l = 0; l < sizeof lists / sizeof lists[0]; l++)
    for (i = 0; lists[l] && lists[l][i]; i++)
      {
        cap_value_t v;
        bool known = false;
        if (cap_lookup (lists[l][i], &v, &known, err) < 0)
          return -1;
      }
  return 0;
}

int
hutch_caps_drop_bounding (const struct hutch_spec *spec, hutch_error_t *err)
{
  cap_value_t cap, last = (cap_value_t)cap_max_bits () - 1;

  if (!spec->has_caps)
    return 0;
  for (cap = 0; cap <= last; cap++)
    if (!listed (spec->cap_bounding, cap) && prctl (PR_CAPBSET_DROP, cap, 0, 0, 0) < 0
        && errno != EINVAL)
      return hutch_error_set (err, errno, "drop %s from the bounding set", cap_to_name (cap));
  /* Keep the permitted set across the uid change; hutch_caps_apply sets
     the final sets right after it.  */
  if (prctl (PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    return hutch_error_set (err, errno, "prctl(PR_SET_KEEPCAPS)");
  return 0;
}

static int
fill (cap_t caps, cap_flag_t flag, char **list, hutch_error_t *err)
{
  size_t i;
  for (i = 0; list && list[i]; i++)
    {
      cap_value_t v = 0;
      bool known = false;
      if (cap_lookup (list[i], &v, &known, err) < 0)
        return -1;
      if (known && cap_set_flag (caps, flag, 1, &v, CAP_SET) < 0)
        return hutch_error_set (err, errno, "capability %s", list[i]);
    }
  return 0;
}

int
hutch_caps_apply (const struct hutch_spec *spec, hutch_error_t *err)
{
  cap_t caps;
  size_t i;
  int r = -1;

  if (!spec->has_caps)
    return 0;
  caps = cap_init ();
  if (caps == NULL)
    return hutch_error_set (err, errno, "cap_init");
  if (fill (caps, CAP_PERMITTED, spec->cap_permitted, err) < 0
      || fill (caps, CAP_EFFECTIVE, spec->cap_effective, err) < 0
      || fill (caps, CAP_INHERITABLE, spec->cap_inheritable, err) < 0)
    goto out;
  if (cap_set_proc (caps) < 0)
    {
      hutch_error_set (err, errno, "set the process's capabilities");
      goto out;
    }
  if (cap_reset_ambient () < 0 && errno != EINVAL)
    {
      hutch_error_set (err, errno, "reset the ambient capabilities");
      goto out;
    }
  for (i = 0; spec->cap_ambient && spec->cap_ambient[i]; i++)
    {
      cap_value_t v = 0;
      bool known = false;
      if (cap_lookup (spec->cap_ambient[i], &v, &known, err) < 0)
        goto out;
      /* For uid 0 the ambient set means nothing (execve gives root its
         permitted set anyway), and specs such as `runc spec`'s list
         ambient capabilities without inheritable ones: raise what can be,
         as runc and crun do.  For another user it matters: fail.  */
      if (known && cap_set_ambient (v, CAP_SET) < 0 && !(errno == EPERM && geteuid () == 0))
        {
          hutch_error_set (err, errno,
                           "raise ambient capability %s (it must be permitted and inheritable too)",
                           spec->cap_ambient[i]);
          goto out;
        }
    }
  if (prctl (PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
    {
      hutch_error_set (err, errno, "prctl(PR_SET_KEEPCAPS)");
      goto out;
    }
  r = 0;
out:
  cap_free (caps);
  return r;
}

/* Docker's default set: what container root keeps (in the container's own
   user namespace only).  */
static const char *const default_caps[] = { "CAP_CHOWN",
                                            "CAP_DAC_OVERRIDE",
                                            "CAP_FSETID",
                                            "CAP_FOWNER",
                                            "CAP_MKNOD",
                                            "CAP_NET_RAW",
                                            "CAP_SETGID",
                                            "CAP_SETUID",
                                            "CAP_SETFCAP",
                                            "CAP_SETPCAP",
                                            "CAP_NET_BIND_SERVICE",
                                            "CAP_SYS_CHROOT",
                                            "CAP_KILL",
                                            "CAP_AUDIT_WRITE",
                                            NULL };

/* "chown", "CAP_CHOWN", "Cap_Chown" -> the capability; "all" -> -2.  */
static int
cap_parse (const char *option, const char *name, cap_value_t *ret, hutch_error_t *err)
{
  _cleanup_free_ char *full = NULL;
  size_t i;

  if (strcasecmp (name, "all") == 0)
    {
      *ret = -2;
      return 0;
    }
  full = strncasecmp (name, "cap_", 4) == 0 ? hutch_xstrdup (name)
                                            : hutch_xasprintf ("cap_%s", name);
  for (i = 0; full[i]; i++)
    full[i] = (char)tolower ((unsigned char)full[i]);
  if (!exact_cap (full, ret))
    return hutch_error_set (err, 0,
                            "%s `%s`: unknown capability; give names such as NET_ADMIN or "
                            "CAP_NET_ADMIN (see capabilities(7)), or ALL, separated by commas",
                            option, name);
  return 0;
}

static void
push_name (char ***list, cap_value_t cap)
{
  char *n = cap_to_name (cap);
  char *up = hutch_xstrdup (n);
  size_t i;
  for (i = 0; up[i]; i++)
    up[i] = (char)toupper ((unsigned char)up[i]);
  cap_free (n);
  hutch_strv_push (list, up);
}

/* "a,b" and "a" "b" alike, as podman takes them.  */
static char **
split_commas (char *const *v)
{
  char **out = hutch_xmalloc0 (sizeof (char *));
  size_t i;
  for (i = 0; v && v[i]; i++)
    {
      const char *p = v[i], *c;
      do
        {
          c = strchr (p, ',');
          hutch_strv_push (&out, c ? hutch_xstrndup (p, (size_t)(c - p)) : hutch_xstrdup (p));
          p = c ? c + 1 : NULL;
        }
      while (p);
    }
  return out;
}

int
hutch_caps_plan (struct hutch_spec *spec, char *const *add_opts, char *const *drop_opts,
                 bool privileged, hutch_error_t *err)
{
  _cleanup_strv_ char **add = split_commas (add_opts), **drop = split_commas (drop_opts);
  cap_value_t last = (cap_value_t)cap_max_bits () - 1, cap, v;
  bool set[64] = { false }, added[64] = { false };
  size_t i;

  if (last > 63)
    last = 63;
  if (privileged)
    for (cap = 0; cap <= last; cap++)
      set[cap] = true;
  else
    for (i = 0; default_caps[i]; i++)
      if (cap_from_name (default_caps[i], &v) == 0 && v <= last)
        set[v] = true;
  /* As Docker: ALL in --cap-drop empties the set before the additions;
     ALL in --cap-add is every capability but the dropped ones; a
     capability named in both is kept.  */
  for (i = 0; drop && drop[i]; i++)
    {
      if (cap_parse ("--cap-drop", drop[i], &v, err) < 0)
        return -1;
      if (v == -2)
        memset (set, 0, sizeof set);
    }
  for (i = 0; add && add[i]; i++)
    {
      if (cap_parse ("--cap-add", add[i], &v, err) < 0)
        return -1;
      for (cap = 0; cap <= last; cap++)
        if (v == -2)
          set[cap] = true;
        else if (v == cap)
          set[cap] = added[cap] = true;
    }
  for (i = 0; drop && drop[i]; i++)
    {
      cap_parse ("--cap-drop", drop[i], &v, err);
      if (v >= 0 && v <= last && !added[v])
        set[v] = false;
    }

  spec->has_caps = true;
  hutch_strv_free (spec->cap_bounding);
  hutch_strv_free (spec->cap_effective);
  hutch_strv_free (spec->cap_permitted);
  hutch_strv_free (spec->cap_inheritable);
  hutch_strv_free (spec->cap_ambient);
  spec->cap_bounding = hutch_xmalloc0 (sizeof (char *));
  spec->cap_effective = hutch_xmalloc0 (sizeof (char *));
  spec->cap_permitted = hutch_xmalloc0 (sizeof (char *));
  spec->cap_inheritable = hutch_xmalloc0 (sizeof (char *));
  spec->cap_ambient = hutch_xmalloc0 (sizeof (char *));
  for (cap = 0; cap <= last; cap++)
    {
      if (!set[cap])
        continue;
      push_name (&spec->cap_bounding, cap);
      /* Root holds the set.  Another user holds, as with Docker, only what
         was added for it, through the ambient set, which survives its
         execve; the rest stays in the bounding set.  */
      if (spec->uid == 0 || added[cap])
        {
          push_name (&spec->cap_effective, cap);
          push_name (&spec->cap_permitted, cap);
          if (spec->uid != 0)
            {
              push_name (&spec->cap_inheritable, cap);
              push_name (&spec->cap_ambient, cap);
            }
        }
    }
  return 0;
}
