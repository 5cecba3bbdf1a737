/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "base/util.h"
#include "base/syscalls.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void __attribute__ ((noreturn)) oom (void)
{
  static const char msg[] = "hutch: out of memory\n";
  if (write (2, msg, sizeof msg - 1) < 0)
    abort ();
  abort ();
}

void *
hutch_xmalloc0 (size_t size)
{
  void *p = calloc (1, size ? size : 1);
  if (p == NULL)
    oom ();
  return p;
}

void *
hutch_xrealloc (void *ptr, size_t size)
{
  void *p = realloc (ptr, size ? size : 1);
  if (p == NULL)
    oom ();
  return p;
}

char *
hutch_xstrdup (const char *s)
{
  char *p = strdup (s);
  if (p == NULL)
    oom ();
  return p;
}

char *
hutch_xstrndup (const char *s, size_t n)
{
  char *p = strndup (s, n);
  if (p == NULL)
    oom ();
  return p;
}

char *
hutch_xvasprintf (const char *fmt, va_list ap)
{
  char *p;
  if (vasprintf (&p, fmt, ap) < 0)
    oom ();
  return p;
}

char *
hutch_xasprintf (const char *fmt, ...)
{
  va_list ap;
  char *p;
  va_start (ap, fmt);
  p = hutch_xvasprintf (fmt, ap);
  va_end (ap);
  return p;
}

void
hutch_freep (void *p)
{
  free (*(void **)p);
}

void
hutch_closep (int *fd)
{
  if (*fd >= 0)
    {
      int saved = errno;
      close (*fd);
      errno = saved;
    }
}

void
hutch_fclosep (FILE **f)
{
  if (*f)
    fclose (*f);
}

size_t
hutch_strv_len (char *const *v)
{
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

void
hutch_strv_push (char ***v, char *owned)
{
  size_t n = hutch_strv_len (*v);
  *v = hutch_xrealloc (*v, (n + 2) * sizeof (char *));
  (*v)[n] = owned;
  (*v)[n + 1] = NULL;
}

char **
hutch_strv_dup (char *const *v)
{
  size_t n = hutch_strv_len (v), i;
  char **r = hutch_xmalloc0 ((n + 1) * sizeof (char *));
  for (i = 0; i < n; i++)
    r[i] = hutch_xstrdup (v[i]);
  return r;
}

void
hutch_strv_free (char **v)
{
  size_t i;
  for (i = 0; v && v[i]; i++)
    free (v[i]);
  free (v);
}

void
hutch_strv_freep (char ***v)
{
  hutch_strv_free (*v);
}

int
hutch_write_all (int fd, const void *buf, size_t len)
{
  const char *p = buf;
  while (len > 0)
    {
      ssize_t r = write (fd, p, len);
      if (r < 0)
        {
          if (errno == EINTR)
            continue;
          return -errno;
        }
      p += r;
      len -= (size_t)r;
    }
  return 0;
}

int
hutch_copy_fd (int src, int dst)
{
  char buf[128 * 1024];
  bool plain = false;

  for (;;)
    {
      ssize_t n;

      if (!plain)
        {
          n = copy_file_range (src, NULL, dst, NULL, SIZE_MAX >> 2, 0);
          /* Another file system, or one that cannot: copy by hand.  */
          if (n < 0
              && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP))
            {
              plain = true;
              continue;
            }
        }
      else
        {
          n = read (src, buf, sizeof buf);
          if (n > 0 && hutch_write_all (dst, buf, (size_t)n) < 0)
            n = -1;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return n < 0 ? -1 : 0;
    }
}

ssize_t
hutch_read_all (int fd, void *buf, size_t len)
{
  char *p = buf;
  size_t got = 0;
  while (got < len)
    {
      ssize_t r = read (fd, p + got, len - got);
      if (r < 0)
        {
          if (errno == EINTR)
            continue;
          return -errno;
        }
      if (r == 0)
        break;
      got += (size_t)r;
    }
  return (ssize_t)got;
}

int
hutch_read_fd (int fd, size_t max, char **ret_buf, size_t *ret_len, hutch_error_t *err)
{
  size_t cap = 4096, len = 0;
  char *buf = hutch_xmalloc0 (cap + 1);

  for (;;)
    {
      ssize_t r;
      if (len == cap)
        {
          if (cap >= max)
            {
              free (buf);
              return hutch_error_set (err, EFBIG, "file larger than %zu bytes", max);
            }
          cap *= 2;
          buf = hutch_xrealloc (buf, cap + 1);
        }
      r = read (fd, buf + len, cap - len);
      if (r < 0)
        {
          if (errno == EINTR)
            continue;
          free (buf);
          return hutch_error_set (err, errno, "read");
        }
      if (r == 0)
        break;
      len += (size_t)r;
    }
  buf[len] = '\0';
  *ret_buf = buf;
  if (ret_len)
    *ret_len = len;
  return 0;
}

int
hutch_read_file (const char *path, size_t max, char **ret_buf, size_t *ret_len, hutch_error_t *err)
{
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return hutch_error_set (err, errno, "open `%s`", path);
  if (hutch_read_fd (fd, max, ret_buf, ret_len, err) < 0)
    return hutch_error_prefix (err, "`%s`", path);
  return 0;
}

int
hutch_write_file (const char *path, const char *content, hutch_error_t *err)
{
  _cleanup_close_ int fd = open (path, O_WRONLY | O_CLOEXEC | O_TRUNC);
  int r;
  if (fd < 0)
    return hutch_error_set (err, errno, "open `%s`", path);
  r = hutch_write_all (fd, content, strlen (content));
  if (r < 0)
    return hutch_error_set (err, -r, "write `%s`", path);
  return 0;
}

int
hutch_replace_at (int dirfd, const char *tmp, const char *name)
{
  if (renameat2 (dirfd, tmp, dirfd, name, RENAME_EXCHANGE) == 0)
    {
      /* The old file: nobody reads it by this name.  */
      (void)unlinkat (dirfd, tmp, 0);
      return 0;
    }
  /* No NAME yet (ENOENT), or a file system without exchange (EINVAL):
     a rename has nothing to replace, or has to do.  */
  if (errno != ENOENT && errno != EINVAL)
    return -1;
  return renameat (dirfd, tmp, dirfd, name);
}

long long
hutch_now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
hutch_signals_default (void)
{
  sigset_t none;
  int sig;

  /* signal() refuses SIGKILL and SIGSTOP, and glibc its own 32 and 33,
     which a glibc program sets up itself.  */
  for (sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      signal (sig, SIG_DFL);
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
}

char *
hutch_find_program (const char *name)
{
  const char *path = getenv ("PATH");
  _cleanup_free_ char *copy = hutch_xstrdup (
      path && *path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  char *save = NULL, *dir;

  for (dir = strtok_r (copy, ":", &save); dir; dir = strtok_r (NULL, ":", &save))
    {
      char *cand = hutch_xasprintf ("%s/%s", *dir ? dir : ".", name);
      struct stat st;
      if (stat (cand, &st) == 0 && S_ISREG (st.st_mode) && access (cand, X_OK) == 0)
        return cand;
      free (cand);
    }
  return NULL;
}

int
hutch_parse_u32 (const char *s, unsigned int *ret)
{
  char *end;
  unsigned long v;

  if (s == NULL || *s < '0' || *s > '9')
    return -EINVAL;
  errno = 0;
  v = strtoul (s, &end, 10);
  if (errno != 0 || *end != '\0' || v > UINT32_MAX)
    return -EINVAL;
  *ret = (unsigned int)v;
  return 0;
}

int
hutch_random_hex (char *buf, size_t len)
{
  static const char hex[] = "0123456789abcdef";
  unsigned char raw[64];
  size_t i, n = (len + 1) / 2;

  if (n > sizeof raw)
    return -EINVAL;
  if (getrandom (raw, n, 0) != (ssize_t)n)
    return -errno;
  for (i = 0; i < len; i++)
    buf[i] = hex[(raw[i / 2] >> ((i % 2) ? 0 : 4)) & 0xf];
  buf[len] = '\0';
  return 0;
}

bool
hutch_str_has_prefix (const char *s, const char *prefix)
{
  return strncmp (s, prefix, strlen (prefix)) == 0;
}

/* close_range, or one close at a time before Linux 5.9.  */
static void
close_between (unsigned int lo, unsigned int hi)
{
  struct rlimit rl;
  unsigned int fd;

  if (hutch_close_range (lo, hi, 0) == 0)
    return;
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
      && hi >= (unsigned int)rl.rlim_cur)
    hi = (unsigned int)rl.rlim_cur - 1;
  else if (hi > 65535)
    hi = 65535;
  for (fd = lo; fd <= hi && fd >= lo; fd++)
    close ((int)fd);
}

static int
cmp_int (const void *a, const void *b)
{
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

void
hutch_close_all_but (int *keep, size_t n)
{
  unsigned int next = 3;
  size_t i;

  qsort (keep, n, sizeof *keep, cmp_int);
  for (i = 0; i < n; i++)
    {
      if (keep[i] < (int)next)
        continue;
      if ((unsigned int)keep[i] > next)
        close_between (next, (unsigned int)keep[i] - 1);
      next = (unsigned int)keep[i] + 1;
    }
  close_between (next, ~0U);
}

bool
hutch_cwd_in_root (void)
{
  char here[PATH_MAX];
  if (getcwd (here, sizeof here) != NULL)
    return here[0] == '/';
  /* a path too long for the buffer is still a path */
  return errno == ENAMETOOLONG;
}

char *
hutch_join_and (char *const *words)
{
  char *s = hutch_xstrdup ("");
  size_t i, n = hutch_strv_len (words);
  for (i = 0; i < n; i++)
    {
      char *t = hutch_xasprintf ("%s%s%s", s, i == 0 ? "" : i + 1 == n ? " and " : ", ", words[i]);
      free (s);
      s = t;
    }
  return s;
}

bool
hutch_in_user_namespace (void)
{
  _cleanup_free_ char *text = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;
  unsigned long a, b, n;

  if (hutch_read_file ("/proc/self/uid_map", 65536, &text, NULL, &e) < 0)
    {
      hutch_error_clear (&e);
      return false;
    }
  /* The initial namespace maps every id to itself, in one line.  */
  return !(sscanf (text, "%lu %lu %lu", &a, &b, &n) == 3 && a == 0 && b == 0 && n == 4294967295UL
           && strchr (text, '\n') == strrchr (text, '\n'));
}

void
hutch_buf_add (struct hutch_buf *b, const void *p, size_t n)
{
  /* Written so that no sum can wrap: cap >= len always.  */
  if (n >= b->cap - b->len)
    {
      b->cap = (b->len + n + 1) * 2;
      b->s = hutch_xrealloc (b->s, b->cap);
    }
  memcpy (b->s + b->len, p, n);
  b->len += n;
  b->s[b->len] = '\0';
}

void
hutch_buf_addc (struct hutch_buf *b, char c)
{
  hutch_buf_add (b, &c, 1);
}

void
hutch_buf_adds (struct hutch_buf *b, const char *s)
{
  hutch_buf_add (b, s, strlen (s));
}

char *
hutch_buf_steal (struct hutch_buf *b)
{
  char *s = b->s ? b->s : hutch_xstrdup ("");
  memset (b, 0, sizeof *b);
  return s;
}
