/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fdleak: does a file descriptor of the host reach a container?  A
   directory descriptor that crosses into the container is a way out of its
   root (CVE-2024-21626: runc leaked one, and `..` from it, or a working
   directory of /proc/self/fd/N, led to the host's files).  fds.bats builds
   this static and uses it on both sides:

     fdleak host PATH... -- CMD [ARG...]
                   on the host: open each PATH (directories included)
                   without O_CLOEXEC, give each a low and a high descriptor
                   number, add /proc/self (the host's procfs), a socket pair
                   and an O_PATH descriptor of "/", print "leaked N PATH" for
                   each, then run CMD with all of them open
     fdleak scan   inside the container: print "open N TARGET" for every
                   descriptor above 2 (found with fcntl, not through /proc,
                   which the container could be shown a fake of), or "none"

   Nothing here decides: the test reads both lists.  */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/* the high numbers a leaked descriptor also gets (below the usual soft
   limit of 1024) */
static const int high[] = { 100, 255, 511, 1000 };

static int next_high;

/* FD: announce it, and a copy at the next high number */
static void
leak (int fd, const char *what)
{
  printf ("leaked %d %s\n", fd, what);
  if (next_high < (int)(sizeof high / sizeof high[0]))
    {
      int h = high[next_high++];
      if (dup2 (fd, h) == h)
        printf ("leaked %d %s\n", h, what);
    }
}

static int
host (int argc, char **argv)
{
  int i, fd, sv[2];

  for (i = 0; i < argc && strcmp (argv[i], "--") != 0; i++)
    {
      fd = open (argv[i], O_RDONLY);
      if (fd < 0)
        {
          fprintf (stderr, "fdleak: open %s: %s\n", argv[i], strerror (errno));
          return 1;
        }
      leak (fd, argv[i]);
    }
  if (i >= argc - 1)
    {
      fprintf (stderr, "fdleak: no command after --\n");
      return 2;
    }
  fd = open ("/proc/self", O_RDONLY | O_DIRECTORY);
  if (fd >= 0)
    leak (fd, "/proc/self");
  fd = open ("/", O_PATH | O_DIRECTORY);
  if (fd >= 0)
    leak (fd, "/ (O_PATH)");
  if (socketpair (AF_UNIX, SOCK_STREAM, 0, sv) == 0)
    leak (sv[0], "socketpair");
  fflush (stdout);
  execvp (argv[i + 1], argv + i + 1);
  fprintf (stderr, "fdleak: exec %s: %s\n", argv[i + 1], strerror (errno));
  return 127;
}

static int
scan (void)
{
  struct rlimit rl;
  long fd, max = 65536;
  int found = 0;

  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
      && rl.rlim_cur < (rlim_t)max)
    max = (long)rl.rlim_cur;
  for (fd = 3; fd < max; fd++)
    {
      char link[64], target[PATH_MAX];
      ssize_t n;

      if (fcntl ((int)fd, F_GETFD) < 0)
        continue;
      snprintf (link, sizeof link, "/proc/self/fd/%ld", fd);
      n = readlink (link, target, sizeof target - 1);
      if (n < 0)
        snprintf (target, sizeof target, "(%s)", strerror (errno));
      else
        target[n] = '\0';
      printf ("open %ld %s\n", fd, target);
      found = 1;
    }
  if (!found)
    printf ("none\n");
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc == 2 && strcmp (argv[1], "scan") == 0)
    return scan ();
  if (argc >= 4 && strcmp (argv[1], "host") == 0)
    return host (argc - 2, argv + 2);
  fprintf (stderr, "usage: fdleak host PATH... -- CMD [ARG...] | fdleak scan\n");
  return 2;
}
