/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A static tool for the limits tests (tests/vm/limits.bats), run inside
   containers made from a busybox root:
     vmtool alloc MIB     allocate and touch MIB MiB, then print "allocated"
     vmtool fork N        fork up to N children that wait; print
                          "forked K then ERR current C" (C: pids.current)
     vmtool spin SECONDS  busy-loop for SECONDS of wall time; print the CPU
                          time used per wall time, in percent
   A shell cannot do these exactly: it retries failed forks, and its
   memory use is its own business.  */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
now (clockid_t c)
{
  struct timespec ts;
  clock_gettime (c, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
do_alloc (long mib)
{
  long i;
  for (i = 0; i < mib; i++)
    {
      char *p = malloc (1 << 20);
      if (p == NULL)
        {
          printf ("malloc failed after %ld MiB\n", i);
          return 1;
        }
      memset (p, 1, 1 << 20); /* touched: charged to the cgroup */
    }
  printf ("allocated\n");
  return 0;
}

static int
do_fork (long n)
{
  int p[2];
  long k = 0;
  const char *why = "none";
  char cur[64] = "?";
  FILE *f;

  if (pipe (p) < 0)
    return 1;
  for (k = 0; k < n; k++)
    {
      pid_t pid = fork ();
      if (pid < 0)
        {
          why = errno == EAGAIN ? "EAGAIN" : strerror (errno);
          break;
        }
      if (pid == 0)
        {
          char c;
          close (p[1]);
          (void)!read (p[0], &c, 1);
          _exit (0);
        }
    }
  f = fopen ("/sys/fs/cgroup/pids.current", "r");
  if (f)
    {
      if (fscanf (f, "%63s", cur) != 1)
        strcpy (cur, "?");
      fclose (f);
    }
  close (p[1]);
  while (wait (NULL) > 0)
    ;
  printf ("forked %ld then %s current %s\n", k, why, cur);
  return 0;
}

static int
do_spin (double seconds)
{
  double t0 = now (CLOCK_MONOTONIC), c0 = now (CLOCK_PROCESS_CPUTIME_ID);
  volatile unsigned long x = 0;
  while (now (CLOCK_MONOTONIC) - t0 < seconds)
    x++;
  printf ("%.0f\n", 100.0 * (now (CLOCK_PROCESS_CPUTIME_ID) - c0) / (now (CLOCK_MONOTONIC) - t0));
  return 0;
}

int
main (int argc, char **argv)
{
  setvbuf (stdout, NULL, _IONBF, 0);
  if (argc == 3 && strcmp (argv[1], "alloc") == 0)
    return do_alloc (atol (argv[2]));
  if (argc == 3 && strcmp (argv[1], "fork") == 0)
    return do_fork (atol (argv[2]));
  if (argc == 3 && strcmp (argv[1], "spin") == 0)
    return do_spin (atof (argv[2]));
  fprintf (stderr, "usage: vmtool alloc MIB | fork N | spin SECONDS\n");
  return 2;
}
