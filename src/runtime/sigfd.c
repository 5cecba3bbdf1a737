/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "runtime/sigfd.h"

#include <errno.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

const int hutch_sigfd_forwarded[] = { SIGHUP,  SIGINT,  SIGQUIT,  SIGTERM, SIGUSR1, SIGUSR2,
                                      SIGALRM, SIGCONT, SIGWINCH, SIGURG,  SIGPWR };
const size_t hutch_sigfd_n_forwarded
    = sizeof hutch_sigfd_forwarded / sizeof hutch_sigfd_forwarded[0];

int
hutch_sigfd_take (struct hutch_sigfd *s, hutch_error_t *err)
{
  struct sigaction dfl = { 0 };
  sigset_t mask;
  size_t i;

  dfl.sa_handler = SIG_DFL;
  sigaction (SIGCHLD, &dfl, &s->old_chld);
  sigemptyset (&mask);
  for (i = 0; i < hutch_sigfd_n_forwarded; i++)
    sigaddset (&mask, hutch_sigfd_forwarded[i]);
  sigaddset (&mask, SIGCHLD);
  sigaddset (&mask, SIGPIPE);
  if (sigprocmask (SIG_BLOCK, &mask, &s->oldmask) < 0)
    {
      int e = errno;
      sigaction (SIGCHLD, &s->old_chld, NULL);
      return hutch_error_set (err, e, "sigprocmask");
    }
  s->taken = true;
  s->fd = signalfd (-1, &mask, SFD_CLOEXEC);
  if (s->fd < 0)
    return hutch_error_set (err, errno, "signalfd");
  return 0;
}

void
hutch_sigfd_release (struct hutch_sigfd *s)
{
  if (s->fd >= 0)
    close (s->fd);
  s->fd = -1;
  if (s->taken)
    {
      sigprocmask (SIG_SETMASK, &s->oldmask, NULL);
      sigaction (SIGCHLD, &s->old_chld, NULL);
    }
  s->taken = false;
}

bool
hutch_sigfd_terminating (int sig)
{
  return sig == SIGHUP || sig == SIGINT || sig == SIGQUIT || sig == SIGTERM;
}

int
hutch_exit_code (int st)
{
  if (WIFEXITED (st))
    return WEXITSTATUS (st);
  if (WIFSIGNALED (st))
    return 128 + WTERMSIG (st);
  return HUTCH_EXIT_ERROR;
}
