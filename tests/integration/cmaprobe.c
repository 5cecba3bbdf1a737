/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmaprobe: cross-memory attach between two ranks, as MPI's shared-memory
   transports use it (process_vm_readv of another rank's buffer).
     cmaprobe serve FILE  leaves "PID ADDRESS" of a buffer in FILE, waits
                          for FILE.done (up to 30 s)
     cmaprobe read FILE   reads that buffer out of the server's memory,
                          prints it, and makes FILE.done
   Built static by slurm-spank.root.bats: the container has no libc.  */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static char secret[64];

int
main (int argc, char **argv)
{
  char done[4096];
  int i;

  if (argc != 3)
    return 2;
  snprintf (done, sizeof done, "%s.done", argv[2]);
  if (strcmp (argv[1], "serve") == 0)
    {
      FILE *f;
      snprintf (secret, sizeof secret, "cma-secret-of-%d", (int)getpid ());
      f = fopen (argv[2], "w");
      if (f == NULL || fprintf (f, "%d %p\n", (int)getpid (), (void *)secret) < 0
          || fclose (f) != 0)
        return 1;
      for (i = 0; i < 300 && access (done, F_OK) != 0; i++)
        usleep (100000);
      return access (done, F_OK) == 0 ? 0 : 1;
    }
  for (i = 0; i < 300; i++)
    {
      FILE *f = fopen (argv[2], "r");
      int pid;
      void *addr;
      if (f && fscanf (f, "%d %p", &pid, &addr) == 2)
        {
          char buf[64] = { 0 };
          struct iovec local = { buf, sizeof buf - 1 }, remote = { addr, sizeof buf - 1 };
          ssize_t n = process_vm_readv (pid, &local, 1, &remote, 1, 0);
          fclose (f);
          if (n < 0)
            {
              printf ("process_vm_readv of %d: %s\n", pid, strerror (errno));
              close (open (done, O_WRONLY | O_CREAT, 0644));
              return 1;
            }
          printf ("read %s\n", buf);
          close (open (done, O_WRONLY | O_CREAT, 0644));
          return 0;
        }
      if (f)
        fclose (f);
      usleep (100000);
    }
  return 1;
}
