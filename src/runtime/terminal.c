/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "runtime/terminal.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define PENDING_MAX (64 * 1024)

int
hutch_terminal_enter_raw (struct hutch_terminal_state *st)
{
  struct termios raw;

  st->raw = false;
  if (!isatty (0) || tcgetattr (0, &st->saved) < 0)
    return -1;
  raw = st->saved;
  /* The container's pty does the line editing, echo and "\n" -> "\r\n";
     ours must pass every byte through untouched.  */
  cfmakeraw (&raw);
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
  memset (tc, 0, sizeof *tc);
  tc->master = master;
  tc->master_open = master >= 0;
  tc->stdin_open = master >= 0 && interactive;
  tc->last = '\n';
  if (master >= 0)
    fcntl (master, F_SETFL, fcntl (master, F_GETFL) | O_NONBLOCK);
}

void
hutch_terminal_copy_clear (struct hutch_terminal_copy *tc)
{
  free (tc->pending);
  tc->pending = NULL;
  tc->pending_len = 0;
}

int
hutch_terminal_copy_pollfds (struct hutch_terminal_copy *tc, struct pollfd *pfd)
{
  int n = 0;
  if (tc->master_open)
    pfd[n++] = (struct pollfd){ tc->master, (short)(POLLIN | (tc->pending_len ? POLLOUT : 0)), 0 };
  /* Read more input only when the pty took what we had.  */
  if (tc->stdin_open && tc->pending_len < PENDING_MAX)
    pfd[n++] = (struct pollfd){ 0, POLLIN, 0 };
  return n;
}

static void
queue (struct hutch_terminal_copy *tc, const char *buf, size_t len)
{
  tc->pending = hutch_xrealloc (tc->pending, tc->pending_len + len);
  memcpy (tc->pending + tc->pending_len, buf, len);
  tc->pending_len += len;
}

/* Input from the user: passed on, but for the detach keys.  A prefix of
   them is held back until the next byte says whether they follow; when
   it does not, the prefix goes on as it was typed.  */
static void
queue_input (struct hutch_terminal_copy *tc, const char *buf, size_t len)
{
  size_t i, from = 0;

  if (tc->detach_len == 0)
    {
      queue (tc, buf, len);
      return;
    }
  for (i = 0; i < len; i++)
    {
      if (buf[i] == tc->detach_keys[tc->detach_seen])
        {
          /* what came before the keys goes now */
          if (tc->detach_seen == 0 && i > from)
            queue (tc, buf + from, i - from);
          tc->detach_seen++;
          from = i + 1;
          if (tc->detach_seen == tc->detach_len)
            {
              tc->detached = true;
              tc->stdin_open = false;
              tc->detach_seen = 0;
              return;
            }
          continue;
        }
      if (tc->detach_seen > 0)
        {
          /* not the keys after all: what was held back, then this byte
             again from the start of the keys */
          queue (tc, tc->detach_keys, tc->detach_seen);
          tc->detach_seen = 0;
          from = i;
          i--;
          continue;
        }
    }
  if (tc->detach_seen == 0 && len > from)
    queue (tc, buf + from, len - from);
}

static void
flush_pending (struct hutch_terminal_copy *tc)
{
  while (tc->pending_len > 0)
    {
      ssize_t w = write (tc->master, tc->pending, tc->pending_len);
      if (w < 0)
        {
          if (errno == EINTR)
            continue;
          if (errno != EAGAIN)
            tc->pending_len = 0; /* the pty is gone: drop the input */
          return;
        }
      tc->last = tc->pending[w - 1];
      memmove (tc->pending, tc->pending + w, tc->pending_len - (size_t)w);
      tc->pending_len -= (size_t)w;
    }
}

/* Returns false at end-of-file or on an error.  */
static bool
master_to_stdout (struct hutch_terminal_copy *tc)
{
  char buf[16384];
  ssize_t r;

  do
    r = read (tc->master, buf, sizeof buf);
  while (r < 0 && errno == EINTR);
  if (r < 0 && errno == EAGAIN)
    return true;
  if (r <= 0)
    return false; /* EIO once the pty's last user is gone */
  hutch_write_all (1, buf, (size_t)r);
  return true;
}

void
hutch_terminal_copy_event (struct hutch_terminal_copy *tc, const struct pollfd *pfd)
{
  if (pfd->fd == tc->master && tc->master_open)
    {
      if ((pfd->revents & POLLOUT) && tc->pending_len)
        flush_pending (tc);
      if ((pfd->revents & (POLLIN | POLLHUP | POLLERR)) && !master_to_stdout (tc))
        tc->master_open = false;
    }
  else if (pfd->fd == 0 && tc->stdin_open)
    {
      char buf[16384];
      ssize_t r;

      do
        r = read (0, buf, sizeof buf);
      while (r < 0 && errno == EINTR);
      if (r > 0)
        {
          queue_input (tc, buf, (size_t)r);
          flush_pending (tc);
          return;
        }
      if (r < 0 && errno == EAGAIN)
        return;
      /* End of input.  A terminal says so with the EOF character, which
         only ends the input at the start of a line: after a partial line
         it takes two.  */
      tc->stdin_open = false;
      if (!tc->eof_sent)
        {
          static const char eof2[2] = { 4, 4 };
          char lastbyte = tc->pending_len ? tc->pending[tc->pending_len - 1] : tc->last;
          queue (tc, eof2, lastbyte == '\n' ? 1 : 2);
          tc->eof_sent = true;
          flush_pending (tc);
        }
    }
}

void
hutch_terminal_copy_drain (struct hutch_terminal_copy *tc)
{
  if (!tc->master_open)
    return;
  for (;;)
    {
      struct pollfd pfd = { tc->master, POLLIN, 0 };
      if (poll (&pfd, 1, 200) <= 0)
        break;
      if (!master_to_stdout (tc))
        break;
    }
}
