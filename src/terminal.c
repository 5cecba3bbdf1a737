/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "terminal.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int
hutch_terminal_enter_raw (struct hutch_terminal_state *st)
{
  struct termios raw;

  st->raw = false;
  if (!isatty (0) || tcgetattr (0, &st->saved) < 0)
    return -1;
  raw = st->saved;
  cfmakeraw (&raw);
  /* Keep output post-processing off too: the container's pty already
     turns "\n" into "\r\n".  */
  if (tcsetattr (0, TCSADRAIN, &raw) < 0)
    return -1;
  st->raw = true;
  return 0;
}

void
hutch_terminal_restore (struct hutch_terminal_state *st)
{
  if (st->raw)
    tcsetattr (0, TCSADRAIN, &st->saved);
  st->raw = false;
}

void
hutch_terminal_resize (int master)
{
  struct winsize ws;
  if (ioctl (0, TIOCGWINSZ, &ws) == 0 || ioctl (1, TIOCGWINSZ, &ws) == 0)
    ioctl (master, TIOCSWINSZ, &ws);
}

void
hutch_terminal_copy_init (struct hutch_terminal_copy *tc, int master, bool interactive)
{
  tc->master = master;
  tc->master_open = master >= 0;
  tc->stdin_open = master >= 0 && interactive;
}

int
hutch_terminal_copy_pollfds (struct hutch_terminal_copy *tc, struct pollfd *pfd)
{
  int n = 0;
  if (tc->master_open)
    pfd[n++] = (struct pollfd){ tc->master, POLLIN, 0 };
  if (tc->stdin_open)
    pfd[n++] = (struct pollfd){ 0, POLLIN, 0 };
  return n;
}

static bool
copy_once (int from, int to)
{
  char buf[16384];
  ssize_t r;

  do
    r = read (from, buf, sizeof buf);
  while (r < 0 && errno == EINTR);
  if (r <= 0)
    return r < 0 && errno == EAGAIN; /* EOF, or EIO once the pty's last user is gone */
  return hutch_write_all (to, buf, (size_t)r) == 0 || to != 1;
}

void
hutch_terminal_copy_event (struct hutch_terminal_copy *tc, const struct pollfd *pfd)
{
  if (pfd->fd == tc->master && tc->master_open)
    {
      if (!copy_once (tc->master, 1))
        tc->master_open = false;
    }
  else if (pfd->fd == 0 && tc->stdin_open)
    {
      if (!copy_once (0, tc->master))
        {
          /* End of input: a terminal says so with the EOF character.  */
          static const char eof = 4;
          tc->stdin_open = false;
          hutch_write_all (tc->master, &eof, 1);
        }
    }
}

void
hutch_terminal_copy_drain (struct hutch_terminal_copy *tc)
{
  int flags = fcntl (tc->master, F_GETFL);
  if (!tc->master_open)
    return;
  fcntl (tc->master, F_SETFL, flags | O_NONBLOCK);
  for (;;)
    {
      struct pollfd pfd = { tc->master, POLLIN, 0 };
      if (poll (&pfd, 1, 200) <= 0)
        break;
      if (!copy_once (tc->master, 1))
        break;
    }
}
