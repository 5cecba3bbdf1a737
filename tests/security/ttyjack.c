/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ttyjack: can a container push input into the terminal of the user who
   started it?  That is the TIOCSTI escape of CVE-2017-5226 (bubblewrap):
   characters pushed into the input queue of the user's terminal are read
   by the user's shell once the sandbox exits, as if typed.  terminal.bats
   builds this static and uses it on both sides:

     ttyjack host CMD [ARG...]   on the host: run CMD as the leader of a new
                                 session whose controlling terminal is a
                                 fresh pseudo-terminal in raw mode (as a
                                 login shell's would be), stdin, stdout and
                                 stderr on it; when CMD has ended, print
                                 "status N", then "queued N": how many bytes
                                 wait in that terminal's input queue, which
                                 the next reader (the user's shell) would
                                 take as typed, and "output: ..." (what CMD
                                 wrote, for the test's log)
     ttyjack inject              inside the container: push "id\n" with
                                 TIOCSTI into fds 0, 1 and 2, into fd 0 with
                                 the command number's upper 32 bits set (the
                                 seccomp bypass of CVE-2019-10063), and into
                                 /dev/tty; one line each, "NAME ok" or
                                 "NAME ERRNO"

   The host side trusts nothing the container prints: its verdict is the
   "queued" count, read from its own file descriptor of the terminal.  */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static const char payload[] = "id\n";

/* push payload into FD with ioctl number CMD; 0 or an errno */
static int
push (int fd, unsigned long cmd)
{
  size_t i;

  for (i = 0; i < sizeof payload - 1; i++)
    if (syscall (SYS_ioctl, fd, cmd, &payload[i]) < 0)
      return errno;
  return 0;
}

static void
report (const char *name, int e)
{
  if (e == 0)
    printf ("%s ok\n", name);
  else
    printf ("%s %s\n", name, strerrorname_np (e) ? strerrorname_np (e) : strerror (e));
  fflush (stdout);
}

static int
inject (void)
{
  static const char *const names[] = { "fd0", "fd1", "fd2" };
  int fd, tty;

  for (fd = 0; fd < 3; fd++)
    report (names[fd], push (fd, TIOCSTI));
  report ("fd0-high-bits", push (0, (unsigned long)TIOCSTI | (1UL << 32)));
  tty = open ("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (tty < 0)
    report ("devtty", errno);
  else
    {
      report ("devtty", push (tty, TIOCSTI));
      close (tty);
    }
  return 0;
}

static int
host (char **argv)
{
  struct termios t;
  char out[65536];
  size_t used = 0;
  int master, slave, status, queued = 0;
  pid_t pid;

  master = posix_openpt (O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0 || grantpt (master) < 0 || unlockpt (master) < 0)
    {
      perror ("ttyjack: pseudo-terminal");
      return 1;
    }
  /* Our own descriptor of the slave, kept open after CMD is gone: what
     waits in the input queue is read through it.  */
  slave = ioctl (master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0 || tcgetattr (slave, &t) < 0)
    {
      perror ("ttyjack: open the slave");
      return 1;
    }
  /* Raw: every byte pushed counts at once, none is echoed.  */
  cfmakeraw (&t);
  tcsetattr (slave, TCSANOW, &t);

  pid = fork ();
  if (pid < 0)
    {
      perror ("ttyjack: fork");
      return 1;
    }
  if (pid == 0)
    {
      if (setsid () < 0 || ioctl (slave, TIOCSCTTY, 0) < 0)
        _exit (126);
      if (dup2 (slave, 0) < 0 || dup2 (slave, 1) < 0 || dup2 (slave, 2) < 0)
        _exit (126);
      execvp (argv[0], argv);
      _exit (127);
    }

  /* Collect CMD's output until it has ended (it must not block on a full
     terminal), then whatever is still buffered.  */
  for (;;)
    {
      struct pollfd p = { master, POLLIN, 0 };
      pid_t w = waitpid (pid, &status, WNOHANG);
      ssize_t n;

      if (poll (&p, 1, w == pid ? 0 : 100) > 0 && (p.revents & POLLIN))
        {
          n = read (master, out + used, sizeof out - 1 - used);
          if (n > 0)
            used += (size_t)n;
          if (used == sizeof out - 1)
            used = 0;
          continue;
        }
      if (w == pid)
        break;
    }
  out[used] = '\0';

  if (ioctl (slave, FIONREAD, &queued) < 0)
    {
      perror ("ttyjack: FIONREAD");
      return 1;
    }
  printf ("status %d\n", WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status));
  printf ("queued %d\n", queued);
  printf ("output: %s\n", out);
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc == 2 && strcmp (argv[1], "inject") == 0)
    return inject ();
  if (argc >= 3 && strcmp (argv[1], "host") == 0)
    return host (argv + 2);
  fprintf (stderr, "usage: ttyjack host CMD [ARG...] | ttyjack inject\n");
  return 2;
}
