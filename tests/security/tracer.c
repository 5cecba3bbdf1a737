/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tracer: every way a process reaches another by its pid.  processes.bats
   builds this static and runs it in a container against host pids, which
   the test knows and passes in (as if the container had guessed them).

     tracer PID...   for each PID, one line:
                       "PID kill=R ptrace=R pidfd=R vmread=R"
                     where R is "ok" or an errno name:
                       kill    kill(PID, 0)
                       ptrace  PTRACE_SEIZE, detached again at once
                       pidfd   pidfd_open(PID)
                       vmread  process_vm_readv of one byte at the start of
                               the target's stack ([stack] in its maps, or
                               an address that is mapped in every process
                               when the maps cannot be read): EFAULT there
                               would mean the kernel let us in

   Reports only: the test decides what must have failed.  */

#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static const char *
result (long r)
{
  const char *n;

  if (r >= 0)
    return "ok";
  n = strerrorname_np (errno);
  return n ? n : "error";
}

/* an address in PID's stack, or 0 */
static unsigned long
stack_of (pid_t pid)
{
  char path[64], line[512];
  unsigned long lo = 0, hi;
  FILE *f;

  snprintf (path, sizeof path, "/proc/%d/maps", (int)pid);
  f = fopen (path, "re");
  if (!f)
    return 0;
  while (fgets (line, sizeof line, f))
    if (strstr (line, "[stack]") && sscanf (line, "%lx-%lx", &lo, &hi) == 2)
      break;
  fclose (f);
  return lo;
}

int
main (int argc, char **argv)
{
  int i;

  if (argc < 2)
    {
      fprintf (stderr, "usage: tracer PID...\n");
      return 2;
    }
  for (i = 1; i < argc; i++)
    {
      pid_t pid = (pid_t)strtol (argv[i], NULL, 10);
      const char *k, *p, *fd, *vm;
      unsigned long addr = stack_of (pid);
      char byte;
      struct iovec local = { &byte, 1 }, remote;
      long r;

      k = result (kill (pid, 0));
      r = ptrace (PTRACE_SEIZE, pid, 0, 0);
      p = result (r);
      if (r == 0)
        ptrace (PTRACE_DETACH, pid, 0, 0);
      r = syscall (SYS_pidfd_open, pid, 0);
      fd = result (r);
      if (r >= 0)
        close ((int)r);
      /* The auxiliary vector page is mapped in every process, but its
         address is random: without the maps, ask for our own stack's,
         which tells ESRCH/EPERM (no way in) from EFAULT (let in).  */
      if (addr == 0)
        addr = (unsigned long)&byte;
      remote.iov_base = (void *)addr;
      remote.iov_len = 1;
      vm = result (process_vm_readv (pid, &local, 1, &remote, 1, 0));
      printf ("%d kill=%s ptrace=%s pidfd=%s vmread=%s\n", (int)pid, k, p, fd, vm);
    }
  fflush (stdout);
  return 0;
}
