/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* The owner-override attribute's text (base/override.h).  It comes from
   files a container wrote, so the parser takes nothing on trust: bounded
   length, decimal ids below 2^32 - 1, octal permission bits only.  */

#include "base/override.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

/* One unsigned number in BASE from *P up to END; moves *P past it.  */
static int
take_number (const char **p, const char *end, unsigned int base, unsigned long max,
             unsigned long *ret)
{
  unsigned long v = 0;
  const char *s = *p;

  if (s == end)
    return -EINVAL;
  for (; s < end && *s >= '0' && *s < (char)('0' + base); s++)
    {
      v = v * base + (unsigned long)(*s - '0');
      if (v > max)
        return -EINVAL;
    }
  if (s == *p)
    return -EINVAL;
  *p = s;
  *ret = v;
  return 0;
}

static int
take_char (const char **p, const char *end, char c)
{
  if (*p == end || **p != c)
    return -EINVAL;
  (*p)++;
  return 0;
}

static const struct
{
  const char *name;
  mode_t type;
} types[] = {
  { "file", S_IFREG },    { "dir", S_IFDIR },   { "symlink", S_IFLNK }, { "pipe", S_IFIFO },
  { "socket", S_IFSOCK }, { "char-", S_IFCHR }, { "block-", S_IFBLK },
};

static int
take_type (const char *p, const char *end, struct hutch_override *o)
{
  size_t i, n = (size_t)(end - p);
  unsigned long maj, min;

  for (i = 0; i < sizeof types / sizeof types[0]; i++)
    {
      size_t k = strlen (types[i].name);
      if (n < k || memcmp (p, types[i].name, k) != 0)
        continue;
      if (types[i].type != S_IFCHR && types[i].type != S_IFBLK)
        {
          if (n != k)
            continue;
          o->mode |= types[i].type;
          o->has_type = true;
          return 0;
        }
      p += k;
      if (take_number (&p, end, 10, 0xfffffffful, &maj) < 0 || take_char (&p, end, '-') < 0
          || take_number (&p, end, 10, 0xfffffffful, &min) < 0 || p != end)
        return -EINVAL;
      o->mode |= types[i].type;
      o->has_type = true;
      o->major = (unsigned int)maj;
      o->minor = (unsigned int)min;
      return 0;
    }
  return -EINVAL;
}

int
hutch_override_parse (const char *text, size_t len, struct hutch_override *ret)
{
  const char *p = text, *end = text + len;
  struct hutch_override o = { 0 };
  unsigned long uid, gid, mode;

  /* A NUL at the end is taken as the end (some writers include it).  */
  if (len > 0 && end[-1] == '\0')
    end--;
  if (len == 0 || len >= HUTCH_OVERRIDE_MAX)
    return -EINVAL;
  if (take_number (&p, end, 10, 0xfffffffeul, &uid) < 0 || take_char (&p, end, ':') < 0
      || take_number (&p, end, 10, 0xfffffffeul, &gid) < 0 || take_char (&p, end, ':') < 0
      || take_number (&p, end, 8, 07777, &mode) < 0)
    return -EINVAL;
  o.uid = (uid_t)uid;
  o.gid = (gid_t)gid;
  o.mode = (mode_t)mode;
  if (p != end && (take_char (&p, end, ':') < 0 || take_type (p, end, &o) < 0))
    return -EINVAL;
  *ret = o;
  return 0;
}

size_t
hutch_override_format (const struct hutch_override *o, char buf[HUTCH_OVERRIDE_MAX])
{
  int n;

  if (o->has_type && (S_ISCHR (o->mode) || S_ISBLK (o->mode)))
    n = snprintf (buf, HUTCH_OVERRIDE_MAX, "%u:%u:0%o:%s%u-%u", (unsigned int)o->uid,
                  (unsigned int)o->gid, (unsigned int)(o->mode & 07777),
                  S_ISCHR (o->mode) ? "char-" : "block-", o->major, o->minor);
  else
    n = snprintf (buf, HUTCH_OVERRIDE_MAX, "%u:%u:0%o", (unsigned int)o->uid, (unsigned int)o->gid,
                  (unsigned int)(o->mode & 07777));
  return n < 0 ? 0 : (size_t)n;
}

int
hutch_override_get (int fd, struct hutch_override *ret)
{
  char text[HUTCH_OVERRIDE_MAX];
  ssize_t n = fgetxattr (fd, HUTCH_OVERRIDE_XATTR, text, sizeof text);

  if (n < 0)
    return errno == ENODATA || errno == ENOTSUP || errno == ERANGE ? 0 : -errno;
  return hutch_override_parse (text, (size_t)n, ret) == 0 ? 1 : 0;
}

int
hutch_override_set (int fd, const struct hutch_override *o)
{
  char text[HUTCH_OVERRIDE_MAX];

  if (fsetxattr (fd, HUTCH_OVERRIDE_XATTR, text, hutch_override_format (o, text), 0) < 0)
    return -errno;
  return 0;
}
