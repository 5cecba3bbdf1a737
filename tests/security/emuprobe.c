/* SPDX-License-Identifier: GPL-2.0-or-later */
/* emuprobe: the container's half of the attacks on root emulation
   (src/runtime/rootemu.c), whose handler answers chown, stat, set*id and
   mknod for a container with one mapped id.  rootemu.bats builds this
   static and runs it under `hutch run --userns=single`.  Every call goes
   through syscall(2), so that what reaches the handler is exactly what is
   written here.

     emuprobe chown PATH UID GID
                     chown, lchown, fchownat and fchown (of an O_RDONLY
                     fd) of PATH, each printing "NAME ok" or "NAME ERRNO"
     emuprobe setuid UID [PROGRAM ARGS...]
                     setuid(UID), printing "setuid ok|ERRNO", then
                     "ids RUID EUID" as getresuid tells them, then
                     PROGRAM (which inherits the emulated ids)
     emuprobe race FILE HOSTPATH SECONDS
                     a thread keeps rewriting one path buffer: FILE, then
                     HOSTPATH, then HOSTPATH behind a run of "../", and a
                     torn mix of them; the main thread calls chown, lchown,
                     fchownat (from a directory fd of /), stat and mknod
                     (of a character device at the buffer's path followed
                     by ".dev") on that buffer until SECONDS pass.
                     Prints "chown-ok N" (the calls that succeeded: only
                     FILE exists in the container), "chown-other N" (the
                     rest) and "mknod-ok N", then "done"
     emuprobe storm FILE SECONDS
                     for SECONDS: children (and threads of theirs) that
                     call chown, stat, setuid, setresgid, setgroups (of
                     65536 groups), getgroups and mknod in a loop, killed
                     with SIGKILL (or ending with exit_group under a
                     running thread) after a random few hundred
                     microseconds; prints "storm N" (the children) and
                     "done"
     emuprobe pidops PID [signal]
                     what this process can do to PID: "kill0", "ptrace"
                     (PTRACE_SEIZE: an attach's rights, without stopping
                     PID), "pidfd" (pidfd_open), and opening /proc/PID/mem,
                     /proc/PID/fd and /proc/PID/root: "mem", "fds" and
                     "root"; each "ok" or an errno.  With "signal", then
                     "kill9" (SIGKILL to PID) and "killall" (kill(-1,
                     SIGKILL): every process it may signal)
     emuprobe malformed FILE
                     calls with bad arguments, each "NAME ERRNO|ok":
                     chown of an unmapped address, of a path without a NUL
                     within 4096 bytes, fchown of a bad fd, fchownat of a
                     negative one, setgroups of 65537 groups and of an
                     unmapped list, getgroups into a too small list,
                     getresuid into unmapped memory, stat into an unmapped
                     buffer; then "owner UID:GID" of FILE after a chown

   Reports only: the test checks the host afterwards.  */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *
ename (int e)
{
  const char *n = strerrorname_np (e);
  return n ? n : strerror (e);
}

static void
report (const char *name, long r)
{
  if (r < 0)
    printf ("%s %s\n", name, ename (errno));
  else
    printf ("%s ok\n", name);
  fflush (stdout);
}

static double
now (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- chown, setuid ---------------------------------------------------- */

static int
do_chown (const char *path, unsigned int uid, unsigned int gid)
{
  int fd;

  report ("chown", syscall (SYS_chown, path, uid, gid));
  report ("lchown", syscall (SYS_lchown, path, uid, gid));
  report ("fchownat", syscall (SYS_fchownat, AT_FDCWD, path, uid, gid, 0));
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    report ("fchown", -1);
  else
    {
      report ("fchown", syscall (SYS_fchown, fd, uid, gid));
      close (fd);
    }
  return 0;
}

static int
do_setuid (unsigned int uid, char **argv)
{
  uid_t r = 0, e = 0, s = 0;

  report ("setuid", syscall (SYS_setuid, uid));
  if (syscall (SYS_getresuid, &r, &e, &s) < 0)
    report ("getresuid", -1);
  else
    printf ("ids %u %u\n", (unsigned)r, (unsigned)e);
  fflush (stdout);
  if (argv[0])
    {
      execvp (argv[0], argv);
      fprintf (stderr, "emuprobe: exec %s: %s\n", argv[0], strerror (errno));
      return 1;
    }
  return 0;
}

/* ---- race --------------------------------------------------------------- */

#define BUF_SIZE 4096

static char race_buf[BUF_SIZE];
static char race_dev[BUF_SIZE];
static const char *race_names[4];
static atomic_int race_stop;

static void *
flipper (void *arg)
{
  unsigned long i = 0;
  (void)arg;
  while (!atomic_load (&race_stop))
    {
      const char *s = race_names[i % 4];
      size_t n = strlen (s);
      /* No lock on purpose: the handler must cope with the buffer changing
         while it reads it, and with a torn mix of two strings.  */
      memcpy (race_buf, s, n + 1);
      memcpy (race_dev, s, n);
      memcpy (race_dev + n, ".dev", 5);
      i++;
    }
  return NULL;
}

static int
do_race (const char *file, const char *host, double secs)
{
  static char up[BUF_SIZE], torn[BUF_SIZE], file_dev[BUF_SIZE], host_dev[BUF_SIZE];
  unsigned long ok = 0, other = 0, mk = 0;
  pthread_t t;
  double end = now () + secs;
  int root = open ("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  size_t n;

  if (root < 0)
    {
      perror ("emuprobe: open /");
      return 1;
    }
  snprintf (file_dev, sizeof file_dev, "%s.dev", file);
  snprintf (host_dev, sizeof host_dev, "%s.dev", host);
  snprintf (up, sizeof up, "../../../../../../../../../../../..%s", host);
  /* The container's file for its first bytes, the host's path after.  */
  n = strlen (file) / 2;
  snprintf (torn, sizeof torn, "%.*s%s", (int)n, file, host + (strlen (host) > n ? n : 0));
  race_names[0] = file;
  race_names[1] = host;
  race_names[2] = up;
  race_names[3] = torn;
  memcpy (race_buf, file, strlen (file) + 1);
  if (pthread_create (&t, NULL, flipper, NULL) != 0)
    {
      fprintf (stderr, "emuprobe: pthread_create failed\n");
      return 1;
    }
  while (now () < end)
    {
      long r[3];
      struct stat st;
      int i;
      r[0] = syscall (SYS_chown, race_buf, 42, 43);
      r[1] = syscall (SYS_lchown, race_buf, 44, 45);
      r[2] = syscall (SYS_fchownat, root, race_buf, 46, 47, 0);
      syscall (SYS_stat, race_buf, &st);
      for (i = 0; i < 3; i++)
        {
          if (r[i] == 0)
            ok++;
          else
            other++;
        }
      if (syscall (SYS_mknod, race_dev, S_IFCHR | 0600, makedev (1, 3)) == 0)
        {
          /* Whatever got made, made again next time.  */
          mk++;
          unlink (file_dev);
          unlink (host_dev);
        }
    }
  atomic_store (&race_stop, 1);
  pthread_join (t, NULL);
  printf ("chown-ok %lu\nchown-other %lu\nmknod-ok %lu\ndone\n", ok, other, mk);
  return 0;
}

/* ---- storm -------------------------------------------------------------- */

static const char *storm_file;

static void
storm_calls (unsigned int seed)
{
  static gid_t groups[65536];
  gid_t few[4];
  struct stat st;
  size_t i;

  for (i = 0; i < sizeof groups / sizeof groups[0]; i++)
    groups[i] = (gid_t)i;
  for (;;)
    {
      seed = seed * 1103515245u + 12345u;
      syscall (SYS_chown, storm_file, seed % 1000, seed % 999);
      syscall (SYS_stat, storm_file, &st);
      syscall (SYS_setresgid, seed % 7, seed % 7, -1);
      syscall (SYS_setgroups, 65536, groups);
      syscall (SYS_getgroups, 4, few);
      syscall (SYS_setuid, seed % 5);
      syscall (SYS_mknod, "/tmp/storm.dev", S_IFCHR | 0600, makedev (1, 3));
      unlink ("/tmp/storm.dev");
    }
}

static void *
storm_thread (void *arg)
{
  storm_calls ((unsigned int)(uintptr_t)arg);
  return NULL;
}

static int
do_storm (const char *file, double secs)
{
  double end = now () + secs;
  unsigned long children = 0;

  storm_file = file;
  srand ((unsigned int)getpid ());
  while (now () < end)
    {
      pid_t pid[4];
      int i;
      for (i = 0; i < 4; i++)
        {
          int mode = rand () % 3;
          unsigned int seed = (unsigned int)rand ();
          pid[i] = fork ();
          if (pid[i] == 0)
            {
              pthread_t t;
              if (mode > 0)
                pthread_create (&t, NULL, storm_thread, (void *)(uintptr_t)(seed + 1));
              if (mode == 2)
                {
                  /* exit_group while the thread waits for an answer */
                  usleep ((useconds_t)(rand () % 400));
                  syscall (SYS_exit_group, 0);
                }
              storm_calls (seed);
            }
          if (pid[i] > 0)
            children++;
        }
      usleep ((useconds_t)(rand () % 600));
      for (i = 0; i < 4; i++)
        if (pid[i] > 0)
          {
            kill (pid[i], SIGKILL);
            waitpid (pid[i], NULL, 0);
          }
    }
  printf ("storm %lu\ndone\n", children);
  return 0;
}

/* ---- pidops ------------------------------------------------------------- */

static void
try_proc (const char *name, pid_t pid, const char *what, int flags)
{
  char path[64];
  int fd;

  snprintf (path, sizeof path, "/proc/%d/%s", (int)pid, what);
  fd = open (path, flags | O_CLOEXEC);
  report (name, fd);
  if (fd >= 0)
    close (fd);
}

static int
do_pidops (pid_t pid, bool signals)
{
  long r;

  report ("kill0", kill (pid, 0));
  r = ptrace (PTRACE_SEIZE, pid, NULL, NULL);
  report ("ptrace", r);
  if (r == 0)
    ptrace (PTRACE_DETACH, pid, NULL, NULL);
  r = syscall (SYS_pidfd_open, pid, 0);
  report ("pidfd", r);
  if (r >= 0)
    close ((int)r);
  try_proc ("mem", pid, "mem", O_RDONLY);
  try_proc ("fds", pid, "fd", O_RDONLY | O_DIRECTORY);
  try_proc ("root", pid, "root/", O_PATH | O_DIRECTORY);
  if (!signals)
    return 0;
  report ("kill9", kill (pid, SIGKILL));
  /* Everything this process may signal; itself and the namespace's init
     excepted, as kill(2) says.  */
  report ("killall", kill (-1, SIGKILL));
  return 0;
}

/* ---- malformed ---------------------------------------------------------- */

static int
do_malformed (const char *file)
{
  long page = sysconf (_SC_PAGESIZE);
  char *map, *hole;
  gid_t few[1];
  static gid_t many[65537];
  struct stat st;

  /* Two pages: the first full of 'a' without a NUL, the second unmapped.  */
  map = mmap (NULL, (size_t)page * 3, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED)
    {
      perror ("emuprobe: mmap");
      return 1;
    }
  hole = map + page * 2;
  munmap (hole, (size_t)page);
  memset (map, 'a', (size_t)page * 2);

  report ("chown-unmapped", syscall (SYS_chown, hole, 42, 42));
  report ("chown-unterminated", syscall (SYS_chown, map, 42, 42));
  report ("fchown-badfd", syscall (SYS_fchown, 999, 42, 42));
  report ("fchownat-negfd", syscall (SYS_fchownat, -5, "x", 42, 42, 0));
  report ("setgroups-toomany", syscall (SYS_setgroups, 65537, many));
  report ("setgroups-unmapped", syscall (SYS_setgroups, 2, hole));
  report ("setgroups-3", syscall (SYS_setgroups, 3, (gid_t[]){ 1, 2, 3 }));
  report ("getgroups-small", syscall (SYS_getgroups, 1, few));
  report ("getresuid-unmapped", syscall (SYS_getresuid, hole, hole, hole));
  /* After a chown the file has an owner of record: its stat is the
     handler's, which must not write where the caller could not.  */
  syscall (SYS_chown, file, 42, 42);
  report ("stat-unmapped", syscall (SYS_stat, file, hole));
  report ("stat", syscall (SYS_stat, file, &st));
  printf ("owner %u:%u\n", (unsigned)st.st_uid, (unsigned)st.st_gid);
  fflush (stdout);
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc == 5 && strcmp (argv[1], "chown") == 0)
    return do_chown (argv[2], (unsigned int)strtoul (argv[3], NULL, 10),
                     (unsigned int)strtoul (argv[4], NULL, 10));
  if (argc >= 3 && strcmp (argv[1], "setuid") == 0)
    return do_setuid ((unsigned int)strtoul (argv[2], NULL, 10), argv + 3);
  if (argc == 5 && strcmp (argv[1], "race") == 0)
    return do_race (argv[2], argv[3], atof (argv[4]));
  if (argc == 4 && strcmp (argv[1], "storm") == 0)
    return do_storm (argv[2], atof (argv[3]));
  if ((argc == 3 || (argc == 4 && strcmp (argv[3], "signal") == 0))
      && strcmp (argv[1], "pidops") == 0)
    return do_pidops ((pid_t)atoi (argv[2]), argc == 4);
  if (argc == 3 && strcmp (argv[1], "malformed") == 0)
    return do_malformed (argv[2]);
  fprintf (stderr, "usage: emuprobe chown|setuid|race|storm|pidops|malformed ...\n");
  return 2;
}
