/* SPDX-License-Identifier: GPL-2.0-or-later */
/* exechunt HOSTDEV HOSTINO SECONDS: run inside a container while
   `hutch exec` enters it, again and again, and try to get hold of each
   process that appears: open /proc/PID/exe, list /proc/PID/fd, open
   /proc/PID/cwd, ptrace it (CVE-2016-9962, CVE-2019-5736).  A process
   that is still hutch (before its execve) must refuse all of it.

   Prints one line per finding and a summary:
     HOST PID       /proc/PID/exe was the host's hutch (HOSTDEV:HOSTINO)
     MEMFD PID      /proc/PID/exe was hutch's sealed copy: a process
                    that was still hutch let us in
     FD PID / CWD PID / PTRACE PID   what a process we could not read
                    gave us while its exe was still hutch's
     seen N denied N late N findings N   processes looked at, refusals,
                    what gave way once the process had exec'd
   Static, so that it runs in a busybox root.  */

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static unsigned long long host_dev, host_ino;
static long seen, denied, late, findings;

/* What /proc/PID/exe is now: hutch's (the host's binary, or its sealed
   copy) makes WHAT a finding; anything else is a program it exec'd.  */
static void
still_hutch (int pid, const char *what)
{
  char path[64], link[256];
  struct stat st;
  ssize_t n;

  snprintf (path, sizeof path, "/proc/%d/exe", pid);
  n = readlink (path, link, sizeof link - 1);
  link[n > 0 ? n : 0] = '\0';
  if (strstr (link, "memfd:hutch")
      || (stat (path, &st) == 0 && (unsigned long long)st.st_dev == host_dev
          && (unsigned long long)st.st_ino == host_ino))
    {
      printf ("%s %d %s\n", what, pid, link);
      findings++;
    }
  else
    late++;
}

static void
look (int pid)
{
  char path[64], link[256];
  struct stat st;
  ssize_t n;
  int fd;

  seen++;
  snprintf (path, sizeof path, "/proc/%d/exe", pid);
  fd = open (path, O_PATH | O_CLOEXEC);
  if (fd >= 0)
    {
      if (fstat (fd, &st) == 0 && (unsigned long long)st.st_dev == host_dev
          && (unsigned long long)st.st_ino == host_ino)
        {
          printf ("HOST %d\n", pid);
          findings++;
        }
      close (fd);
      n = readlink (path, link, sizeof link - 1);
      if (n > 0)
        {
          link[n] = '\0';
          if (strstr (link, "memfd:hutch"))
            {
              printf ("MEMFD %d\n", pid);
              findings++;
            }
        }
      return;
    }
  if (errno != EACCES && errno != EPERM)
    return; /* gone, or a kernel thread */
  denied++;
  /* It refused: it is not dumpable, which hutch's stage never is.  What
     gives way now may only be a process that has exec'd meanwhile: the
     kernel replaces /proc/PID/exe and closes the close-on-exec fds before
     it makes the new program dumpable.  So each thing we got is checked
     against the exe at that moment: still hutch's is a finding.  */
  snprintf (path, sizeof path, "/proc/%d/fd", pid);
  fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0)
    {
      still_hutch (pid, "FD");
      close (fd);
    }
  snprintf (path, sizeof path, "/proc/%d/cwd", pid);
  fd = open (path, O_PATH | O_CLOEXEC);
  if (fd >= 0)
    {
      still_hutch (pid, "CWD");
      close (fd);
    }
  if (ptrace (PTRACE_SEIZE, pid, NULL, NULL) == 0)
    {
      int st;
      ptrace (PTRACE_INTERRUPT, pid, NULL, NULL);
      if (waitpid (pid, &st, __WALL) == pid && WIFSTOPPED (st))
        {
          still_hutch (pid, "PTRACE");
          ptrace (PTRACE_DETACH, pid, NULL, NULL);
        }
    }
}

int
main (int argc, char **argv)
{
  time_t end;
  int self = getpid ();
  static unsigned char done[1 << 22];

  if (argc != 4)
    {
      fprintf (stderr, "usage: exechunt HOSTDEV HOSTINO SECONDS\n");
      return 2;
    }
  host_dev = strtoull (argv[1], NULL, 10);
  host_ino = strtoull (argv[2], NULL, 10);
  end = time (NULL) + atoi (argv[3]);
  setvbuf (stdout, NULL, _IOLBF, 0);
  while (time (NULL) < end)
    {
      DIR *d = opendir ("/proc");
      struct dirent *e;
      if (d == NULL)
        return 1;
      while ((e = readdir (d)) != NULL)
        {
          int pid = atoi (e->d_name);
          if (pid <= 1 || pid == self || pid >= (int)sizeof done)
            continue;
          /* a process that refused is tried again (it may be caught at
             another step); one we could read is done with */
          if (done[pid])
            continue;
          {
            long before = denied;
            look (pid);
            if (denied == before)
              done[pid] = 1;
          }
        }
      closedir (d);
    }
  printf ("seen %ld denied %ld late %ld findings %ld\n", seen, denied, late, findings);
  return 0;
}
