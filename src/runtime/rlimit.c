/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "runtime/rlimit.h"
#include "base/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

/* Docker's names (its go-units table), which are the kernel's without
   RLIMIT_ and in lower case.  */
static const struct
{
  const char *name;
  int resource;
} names[] = {
  { "as", RLIMIT_AS },
  { "core", RLIMIT_CORE },
  { "cpu", RLIMIT_CPU },
  { "data", RLIMIT_DATA },
  { "fsize", RLIMIT_FSIZE },
  { "locks", RLIMIT_LOCKS },
  { "memlock", RLIMIT_MEMLOCK },
  { "msgqueue", RLIMIT_MSGQUEUE },
  { "nice", RLIMIT_NICE },
  { "nofile", RLIMIT_NOFILE },
  { "nproc", RLIMIT_NPROC },
  { "rss", RLIMIT_RSS },
  { "rtprio", RLIMIT_RTPRIO },
  { "rttime", RLIMIT_RTTIME },
  { "sigpending", RLIMIT_SIGPENDING },
  { "stack", RLIMIT_STACK },
};
#define N_NAMES (sizeof names / sizeof names[0])

int
hutch_rlimit_from_name (const char *name)
{
  size_t i;

  /* OCI spells them RLIMIT_NOFILE: upper case only.  */
  if (strncmp (name, "RLIMIT_", 7) == 0)
    {
      for (i = 0; i < N_NAMES; i++)
        {
          char upper[16];
          size_t k;
          for (k = 0; names[i].name[k] && k < sizeof upper - 1; k++)
            upper[k] = (char)(names[i].name[k] - 'a' + 'A');
          upper[k] = '\0';
          if (strcmp (name + 7, upper) == 0)
            return names[i].resource;
        }
      return -1;
    }
  for (i = 0; i < N_NAMES; i++)
    if (strcmp (name, names[i].name) == 0)
      return names[i].resource;
  return -1;
}

const char *
hutch_rlimit_name (int resource)
{
  size_t i;
  for (i = 0; i < N_NAMES; i++)
    if (names[i].resource == resource)
      return names[i].name;
  return "?";
}

static int
parse_value (const char *s, unsigned long long *ret)
{
  char *end;
  unsigned long long v;

  if (strcmp (s, "-1") == 0 || strcmp (s, "unlimited") == 0)
    {
      *ret = RLIM_INFINITY;
      return 0;
    }
  if (*s < '0' || *s > '9')
    return -1;
  errno = 0;
  v = strtoull (s, &end, 10);
  if (errno != 0 || *end != '\0' || v >= RLIM_INFINITY)
    return -1;
  *ret = v;
  return 0;
}

static void
show_value (char *buf, size_t n, unsigned long long v)
{
  if (v == RLIM_INFINITY)
    snprintf (buf, n, "unlimited");
  else
    snprintf (buf, n, "%llu", v);
}

int
hutch_ulimit_parse (const char *value, struct hutch_rlimit *ret, hutch_error_t *err)
{
  _cleanup_free_ char *name = NULL, *soft = NULL;
  const char *eq = strchr (value, '='), *colon;
  int resource;

  if (eq == NULL || eq == value || eq[1] == '\0')
    return hutch_error_set (
        err, 0, "--ulimit `%s`: expected NAME=SOFT[:HARD], e.g. nofile=1024:4096", value);
  name = hutch_xstrndup (value, (size_t)(eq - value));
  resource = hutch_rlimit_from_name (name);
  if (resource < 0)
    return hutch_error_set (err, 0,
                            "--ulimit `%s`: unknown limit `%s`; known: as, core, cpu, data, fsize, "
                            "locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, "
                            "sigpending, stack",
                            value, name);
  colon = strchr (eq + 1, ':');
  soft = colon ? hutch_xstrndup (eq + 1, (size_t)(colon - eq - 1)) : hutch_xstrdup (eq + 1);
  ret->resource = resource;
  if (parse_value (soft, &ret->soft) < 0 || (colon && parse_value (colon + 1, &ret->hard) < 0))
    return hutch_error_set (
        err, 0, "--ulimit `%s`: a limit is a number, -1 or unlimited (no units)", value);
  if (colon == NULL)
    ret->hard = ret->soft;
  if (ret->soft > ret->hard)
    return hutch_error_set (err, 0,
                            "--ulimit `%s`: the soft limit is above the hard one; give "
                            "SOFT:HARD with SOFT at most HARD",
                            value);
  return 0;
}

int
hutch_rlimits_check (const struct hutch_spec *spec, hutch_error_t *err)
{
  size_t i;

  for (i = 0; i < spec->n_rlimits; i++)
    {
      const struct hutch_rlimit *rl = &spec->rlimits[i];
      struct rlimit own;
      char want[32], have[32];

      show_value (want, sizeof want, rl->hard);
      if (rl->soft > rl->hard)
        return hutch_error_set (err, 0, "rlimit %s: the soft limit is above the hard one (%s)",
                                hutch_rlimit_name (rl->resource), want);
      if (getrlimit (rl->resource, &own) < 0)
        return hutch_error_set (err, errno, "read your own rlimit %s",
                                hutch_rlimit_name (rl->resource));
      /* The host's root may raise limits; hutch run as root has no user
         namespace in the way.  Anyone else cannot, from any namespace.  */
      if (rl->hard > own.rlim_max && geteuid () != 0)
        {
          const char *name = hutch_rlimit_name (rl->resource);
          char unit[32];
          size_t k;
          /* systemd's setting: LimitNOFILE= for nofile.  */
          for (k = 0; name[k] && k < sizeof unit - 1; k++)
            unit[k] = (char)(name[k] >= 'a' && name[k] <= 'z' ? name[k] - 'a' + 'A' : name[k]);
          unit[k] = '\0';
          show_value (have, sizeof have, own.rlim_max);
          return hutch_error_set (
              err, 0,
              "rlimit %s: a hard limit of %s is above your own (%s), and only the host's root "
              "can raise a hard limit: a user namespace gives no CAP_SYS_RESOURCE over the "
              "host's limits; ask for at most %s, or have an administrator raise yours "
              "(limits.conf, or Limit%s= of your systemd unit)",
              name, want, have, have, unit);
        }
    }
  return 0;
}
