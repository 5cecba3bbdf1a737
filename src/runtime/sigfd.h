/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_SIGFD_H
#define HUTCH_SIGFD_H

/* The signals of a process that waits for another it started (a
   container's first process, an exec'd command): taken through a
   signalfd, blocked before any child exists so that none is lost between
   the fork and the loop, and passed on.  runtime/container.c and
   runtime/exec.c share it.  */

#include "base/error.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

/* The signals passed on to the waited-for process.  SIGPIPE is blocked
   too (a closed terminal must not end the waiter) but never passed on.  */
extern const int hutch_sigfd_forwarded[];
extern const size_t hutch_sigfd_n_forwarded;

struct hutch_sigfd
{
  int fd;           /* the signalfd, or -1 */
  bool taken;       /* the mask and SIGCHLD below are to be restored */
  sigset_t oldmask; /* the mask before: what the children get back */
  struct sigaction old_chld;
};

#define HUTCH_SIGFD_INIT                                                                           \
  {                                                                                                \
    .fd = -1                                                                                       \
  }

/* Block the forwarded signals, SIGCHLD and SIGPIPE and open the signalfd;
   SIGCHLD back at its default (an inherited SIG_IGN would make the kernel
   reap our children behind our back).  */
int hutch_sigfd_take (struct hutch_sigfd *s, hutch_error_t *err);
/* Close it and restore the mask and SIGCHLD.  */
void hutch_sigfd_release (struct hutch_sigfd *s);

/* The signals that end a process by default and that people send to
   stop one: during a setup, they abort it.  */
bool hutch_sigfd_terminating (int sig);

/* A wait status as a shell's exit code: the code, or 128+N for signal N.  */
int hutch_exit_code (int wait_status);

#endif
