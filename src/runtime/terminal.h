/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_TERMINAL_H
#define HUTCH_TERMINAL_H

/* The user's side of `-t`: raw mode on hutch's own terminal (restored on
   every way out), and copying between it and the container's pty.  */

#include <poll.h>
#include <stddef.h>
#include <stdbool.h>
#include <termios.h>

struct hutch_terminal_state
{
  bool raw;
  struct termios saved;
};

int hutch_terminal_enter_raw (struct hutch_terminal_state *st);
void hutch_terminal_restore (struct hutch_terminal_state *st);
/* Copy hutch's window size to the pty (on SIGWINCH).  */
void hutch_terminal_resize (int master);

struct hutch_terminal_copy
{
  int master;
  bool stdin_open; /* copy stdin to the pty */
  bool master_open;
  /* Input waiting for the pty: the master is non-blocking, so a process
     that does not read cannot stall hutch (and so its own output).  */
  char *pending;
  size_t pending_len;
  bool eof_sent;
  char last; /* last byte given to the pty */
  /* The keys that detach from the process (as front/detach.c parses
     --detach-keys), or none (DETACH_LEN 0): when stdin ends with them, they are not passed
     on, DETACHED is set and stdin is no longer read.  Set after
     hutch_terminal_copy_init.  */
  const char *detach_keys;
  size_t detach_len;
  size_t detach_seen; /* how much of them the input ends with, held back */
  bool detached;
};

void hutch_terminal_copy_init (struct hutch_terminal_copy *tc, int master, bool interactive);
void hutch_terminal_copy_clear (struct hutch_terminal_copy *tc);
/* Fill up to two pollfds; returns how many.  */
int hutch_terminal_copy_pollfds (struct hutch_terminal_copy *tc, struct pollfd *pfd);
void hutch_terminal_copy_event (struct hutch_terminal_copy *tc, const struct pollfd *pfd);
/* After the process ended: copy what is left in the pty.  */
void hutch_terminal_copy_drain (struct hutch_terminal_copy *tc);

#endif
