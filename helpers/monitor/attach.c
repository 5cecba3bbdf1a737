/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The attach socket (the protocol: runtime/attach.h).

   Clients are the user's own processes (the socket is 0600 in the
   user's private runtime directory, and a peer of another uid but root
   is refused), but what they send is still only data: a type byte and
   at most HUTCH_ATTACH_MAX_DATA bytes, read into a static buffer.

   Nothing here may hold up the container: every socket is non-blocking;
   a client that cannot take a message now (its buffer full: it does not
   read) is dropped; stdin is written without blocking, and while the
   container does not take it the monitor stops reading clients, so that
   the client that sends waits, not the monitor.  */

#include <config.h>

#include "monitor.h"
#include "runtime/attach.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define MAX_CLIENTS 16

static int listen_fd = -1;
static int clients[MAX_CLIENTS];
static size_t n_clients;
static int stdin_fd = -1, pty_fd = -1;
static bool input_off;
/* The message being written to stdin: [in_off, in_len) is still to go.  */
static char in_buf[1 + HUTCH_ATTACH_MAX_DATA];
static size_t in_off, in_len;

int
mon_attach_listen (int rundir_fd)
{
  struct sockaddr_un sa;
  mode_t old;
  int fd, r, e;

  memset (&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  /* Through the directory's fd: the runtime directory's path may be
     longer than sun_path holds.  */
  snprintf (sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/.%s", rundir_fd,
            HUTCH_ATTACH_SOCKET);
  fd = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  unlinkat (rundir_fd, "." HUTCH_ATTACH_SOCKET, 0);
  /* Made 0600 from the start: no moment where others could connect.  */
  old = umask (0177);
  r = bind (fd, (struct sockaddr *)&sa, sizeof sa);
  umask (old);
  /* Bound under a temporary name and renamed once it listens (over one
     left by a monitor of an earlier run): a client that finds `attach`
     can connect to it.  */
  if (r < 0 || listen (fd, MAX_CLIENTS) < 0
      || renameat (rundir_fd, "." HUTCH_ATTACH_SOCKET, rundir_fd, HUTCH_ATTACH_SOCKET) < 0)
    {
      e = errno;
      close (fd);
      unlinkat (rundir_fd, "." HUTCH_ATTACH_SOCKET, 0);
      errno = e;
      return -1;
    }
  listen_fd = fd;
  return 0;
}

void
mon_attach_set_targets (int stdin_target, int pty)
{
  stdin_fd = stdin_target;
  pty_fd = pty;
}

static void
drop (size_t i)
{
  close (clients[i]);
  clients[i] = clients[--n_clients];
}

void
mon_attach_broadcast (const char *msg, size_t n)
{
  size_t i = 0;

  while (i < n_clients)
    {
      ssize_t w;
      do
        w = send (clients[i], msg, n, MSG_DONTWAIT | MSG_NOSIGNAL);
      while (w < 0 && errno == EINTR);
      if (w < 0)
        drop (i); /* full (EAGAIN), or gone */
      else
        i++;
    }
}

static void
accept_clients (void)
{
  for (;;)
    {
      struct ucred cred;
      socklen_t len = sizeof cred;
      int sndbuf = 1 << 20;
      int fd = accept4 (listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

      if (fd < 0)
        {
          if (errno == EINTR || errno == ECONNABORTED)
            continue;
          return;
        }
      if (n_clients == MAX_CLIENTS || getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0
          || (cred.uid != getuid () && cred.uid != 0))
        {
          close (fd);
          continue;
        }
      /* Room for a burst of output while the client writes what it read
         to a slow terminal (the kernel caps it at net.core.wmem_max);
         beyond that the client is dropped.  */
      setsockopt (fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
      clients[n_clients++] = fd;
    }
}

static void
close_stdin (void)
{
  /* A terminal is also the output: it stays.  */
  if (stdin_fd >= 0 && stdin_fd != pty_fd)
    close (stdin_fd);
  stdin_fd = -1;
  in_off = in_len = 0;
}

static void
flush_stdin (void)
{
  while (in_off < in_len)
    {
      ssize_t w = write (stdin_fd, in_buf + in_off, in_len - in_off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0 && errno == EAGAIN)
        return;
      if (w < 0)
        {
          /* The container closed its stdin (EPIPE), or the terminal is
             gone: what it would not read is dropped.  */
          if (stdin_fd == pty_fd)
            in_off = in_len = 0;
          else
            close_stdin ();
          return;
        }
      in_off += (size_t)w;
    }
  in_off = in_len = 0;
}

static void
client_input (int fd)
{
  ssize_t r;
  size_t i;

  /* A message still going to stdin holds the buffer.  */
  if (in_len > 0 || input_off)
    return;
  r = recv (fd, in_buf, sizeof in_buf, MSG_DONTWAIT);
  if (r < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (r <= 0)
    {
      for (i = 0; i < n_clients; i++)
        if (clients[i] == fd)
          {
            drop (i);
            break;
          }
      return;
    }
  switch (in_buf[0])
    {
    case HUTCH_ATTACH_STDIN:
      if (r == 1)
        close_stdin ();
      else if (stdin_fd >= 0)
        {
          in_off = 1;
          in_len = (size_t)r;
          flush_stdin ();
        }
      break;
    case HUTCH_ATTACH_RESIZE:
      if (r >= HUTCH_ATTACH_RESIZE_LEN && pty_fd >= 0)
        {
          uint16_t rows, cols;
          struct winsize ws;
          memcpy (&rows, in_buf + 1, sizeof rows);
          memcpy (&cols, in_buf + 3, sizeof cols);
          memset (&ws, 0, sizeof ws);
          ws.ws_row = rows;
          ws.ws_col = cols;
          ioctl (pty_fd, TIOCSWINSZ, &ws);
        }
      break;
    default:
      break;
    }
}

size_t
mon_attach_max_pollfds (void)
{
  return 2 + MAX_CLIENTS;
}

size_t
mon_attach_pollfds (struct pollfd *pfd)
{
  size_t k = 0, i;
  bool take = !input_off && in_len == 0;

  if (listen_fd >= 0)
    pfd[k++] = (struct pollfd){ listen_fd, POLLIN, 0 };
  if (in_len > 0 && stdin_fd >= 0)
    pfd[k++] = (struct pollfd){ stdin_fd, POLLOUT, 0 };
  /* Not read while stdin is full: a negative fd is skipped by poll.  */
  for (i = 0; i < n_clients; i++)
    pfd[k++] = (struct pollfd){ take ? clients[i] : -1, POLLIN, 0 };
  return k;
}

void
mon_attach_events (const struct pollfd *pfd, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    {
      if (pfd[i].fd < 0 || pfd[i].revents == 0)
        continue;
      if (pfd[i].fd == listen_fd)
        accept_clients ();
      else if (pfd[i].events == POLLOUT)
        {
          if (in_len > 0 && pfd[i].fd == stdin_fd)
            flush_stdin ();
        }
      else
        /* By fd: the client may have been dropped meanwhile, and its
           number given to a new one; recv then finds nothing.  */
        client_input (pfd[i].fd);
    }
}

void
mon_attach_input_off (void)
{
  input_off = true;
}

void
mon_attach_close (int rundir_fd)
{
  while (n_clients > 0)
    drop (0);
  if (listen_fd >= 0)
    {
      close (listen_fd);
      unlinkat (rundir_fd, HUTCH_ATTACH_SOCKET, 0);
    }
  listen_fd = -1;
  if (stdin_fd >= 0 && stdin_fd != pty_fd)
    close (stdin_fd);
  stdin_fd = -1;
}
