/* SPDX-License-Identifier: GPL-2.0-or-later */

/* hutch-init: PID 1 of a container started with --init.
 *
 * It runs the container's command as its only child, forwards to it every
 * signal it receives, reaps every orphan that the PID namespace (or, not
 * PID 1 with --pid host, the kernel's subreaper rule) hands to it, and exits with the command's
 * status (128+N when a signal N ended it).
 *
 * With --pause (hutch run --pause) it runs no command: it only holds the
 * container's namespaces for the processes that `hutch exec` (or Slurm's
 * tasks, through hutch's SPANK plugin) puts in, reaps what they leave,
 * and exits 0 on SIGTERM, SIGINT or SIGHUP.
 *
 * Executed as /proc/self/fd/N with HUTCH_ENTRYPOINT in its environment
 * (hutch's Slurm plugin does that for a task whose image has an
 * entrypoint), it is no init but the image's entrypoint's launcher: it
 * executes the entrypoint with the task's command as its arguments, as
 * docker run does, so that Slurm's own steps before the command (the
 * task prolog, the limits) still run first.
 *
 * Trust: it runs inside the container, with the container's ids and
 * privileges, so it trusts nothing of the container and holds nothing the
 * container could not have itself.  It is linked statically because the
 * container's root has none of the host's libraries; hutch executes it
 * from a file descriptor opened on the host, so the container cannot
 * replace it.
 */

#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static int
code_of (int status)
{
  if (WIFEXITED (status))
    return WEXITSTATUS (status);
  if (WIFSIGNALED (status))
    return 128 + WTERMSIG (status);
  return 1;
}

/* --pause: every signal blocked and taken by sigwaitinfo, so that
   none of them can end us but the three that mean "stop" (as PID 1 of a
   PID namespace, the kernel delivers nothing to us that we do not
   handle, SIGKILL from outside aside).  */
static int
pause_forever (const sigset_t *all)
{
  for (;;)
    {
      siginfo_t si;
      int sig = sigwaitinfo (all, &si);
      int status;

      if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
        return 0;
      if (sig == SIGCHLD)
        while (waitpid (-1, &status, WNOHANG) > 0)
          ;
    }
}

/* HUTCH_ENTRYPOINT is "WORD\x1f...\x1fARGV0": the entrypoint's words and
   the task's own argv[0], which the plugin replaced by this program's
   path (empty words kept: `sh -c ""` is two words and an empty one).
   Returns only on failure.  */
static int
run_entrypoint (char *spec, int argc, char **argv)
{
  char **args = calloc ((size_t)argc + strlen (spec) + 2, sizeof (char *));
  char *word;
  size_t n = 0;
  int i;

  if (args == NULL)
    return 125;
  while ((word = strsep (&spec, "\x1f")) != NULL)
    args[n++] = word;
  for (i = 1; i < argc; i++)
    args[n++] = argv[i];
  if (n < 2 || args[0][0] == '\0')
    {
      fprintf (stderr, "hutch-init: HUTCH_ENTRYPOINT holds no entrypoint\n");
      return 125;
    }
  execvp (args[0], args);
  i = errno;
  fprintf (stderr, "hutch-init: cannot execute the image's entrypoint `%s`: %s\n", args[0],
           strerror (i));
  return i == ENOENT ? 127 : 126;
}

int
main (int argc, char **argv)
{
  sigset_t all, old;
  pid_t child;
  int first = 1;

  bool pause = argc == 2 && strcmp (argv[1], "--pause") == 0;
  char *entry = getenv ("HUTCH_ENTRYPOINT");

  if (entry && strncmp (argv[0], "/proc/self/fd/", 14) == 0)
    {
      entry = strdup (entry);
      unsetenv ("HUTCH_ENTRYPOINT");
      return entry ? run_entrypoint (entry, argc, argv) : 125;
    }

  if (argc > 1 && strcmp (argv[1], "--") == 0)
    first = 2;
  if (first >= argc && !pause)
    {
      fprintf (stderr, "hutch-init: usage: hutch-init -- COMMAND [ARG...] | --pause\n");
      return 125;
    }

  sigfillset (&all);
  sigprocmask (SIG_SETMASK, &all, &old);
  /* Not PID 1 when the container shares the host's PID namespace (--pid
     host): orphans would go to the host's init.  As a subreaper they are
     still ours to reap.  */
  if (getpid () != 1)
    prctl (PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  if (pause)
    return pause_forever (&all);

  child = fork ();
  if (child < 0)
    {
      fprintf (stderr, "hutch-init: fork: %s\n", strerror (errno));
      return 125;
    }
  if (child == 0)
    {
      /* Own process group, and the terminal's foreground when there is
         one, so that ^C and ^Z reach the command as in a shell.  SIGTTOU
         is still blocked here, so tcsetpgrp cannot stop us.  */
      setpgid (0, 0);
      if (isatty (0))
        tcsetpgrp (0, getpid ());
      sigprocmask (SIG_SETMASK, &old, NULL);
      execvp (argv[first], argv + first);
      {
        int e = errno;
        fprintf (stderr, "hutch-init: cannot execute `%s`: %s\n", argv[first], strerror (e));
        _exit (e == ENOENT ? 127 : 126);
      }
    }

  for (;;)
    {
      siginfo_t si;
      int sig = sigwaitinfo (&all, &si);

      if (sig < 0)
        continue;
      if (sig == SIGCHLD)
        {
          int status;
          pid_t p;
          while ((p = waitpid (-1, &status, WNOHANG)) > 0)
            if (p == child)
              return code_of (status);
          continue;
        }
      /* Stop-signals from the terminal are the command's business.  */
      if (sig == SIGTTIN || sig == SIGTTOU)
        continue;
      kill (child, sig);
    }
}
