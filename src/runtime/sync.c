/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "runtime/sync.h"
#include "base/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MSG_FDS_MAX 8

int
hutch_msg_send_fds (int sock, const struct hutch_msg *m, const int *fds, size_t n)
{
  struct iovec iov = { (void *)m, sizeof *m };
  union
  {
    char buf[CMSG_SPACE (MSG_FDS_MAX * sizeof (int))];
    struct cmsghdr align;
  } u;
  struct msghdr mh = { 0 };
  ssize_t r;

  if (n > MSG_FDS_MAX)
    {
      errno = EINVAL;
      return -1;
    }
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  if (n > 0)
    {
      struct cmsghdr *c;
      memset (&u, 0, sizeof u);
      mh.msg_control = u.buf;
      mh.msg_controllen = CMSG_SPACE (n * sizeof (int));
      c = CMSG_FIRSTHDR (&mh);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN (n * sizeof (int));
      memcpy (CMSG_DATA (c), fds, n * sizeof (int));
    }
  do
    r = sendmsg (sock, &mh, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  return r == (ssize_t)sizeof *m ? 0 : -1;
}

int
hutch_msg_send (int sock, const struct hutch_msg *m, int fd)
{
  return hutch_msg_send_fds (sock, m, &fd, fd >= 0 ? 1 : 0);
}

int
hutch_msg_recv_fds (int sock, struct hutch_msg *m, int *fds, size_t max, size_t *ret_n)
{
  struct iovec iov = { m, sizeof *m };
  union
  {
    char buf[CMSG_SPACE (MSG_FDS_MAX * sizeof (int))];
    struct cmsghdr align;
  } u;
  struct msghdr mh = { 0 };
  struct cmsghdr *c;
  size_t n = 0, i;
  ssize_t r;

  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = u.buf;
  mh.msg_controllen = sizeof u.buf;
  do
    r = recvmsg (sock, &mh, MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return -1;
  for (c = CMSG_FIRSTHDR (&mh); c; c = CMSG_NXTHDR (&mh, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
      for (i = 0; i < (c->cmsg_len - CMSG_LEN (0)) / sizeof (int); i++)
        {
          int fd;
          memcpy (&fd, CMSG_DATA (c) + i * sizeof (int), sizeof fd);
          /* More than asked for: closed, not leaked.  */
          if (n < max)
            fds[n++] = fd;
          else
            close (fd);
        }
  *ret_n = n;
  /* End-of-file, or a short message: what came with it is closed.  */
  if (r != (ssize_t)sizeof *m)
    {
      for (i = 0; i < n; i++)
        close (fds[i]);
      *ret_n = 0;
      return r == 0 ? 0 : -1;
    }
  m->text[sizeof m->text - 1] = '\0';
  return 1;
}

int
hutch_msg_recv (int sock, struct hutch_msg *m, int *ret_fd)
{
  int fd = -1;
  size_t n = 0;
  int r = hutch_msg_recv_fds (sock, m, &fd, ret_fd ? 1 : 0, &n);

  if (ret_fd)
    *ret_fd = n > 0 ? fd : -1;
  return r;
}

void
hutch_msg_fail (int sock, hutch_error_t *err)
{
  struct hutch_msg m = { 0 };
  m.type = HUTCH_MSG_ERROR;
  m.errnum = err->errnum;
  m.exit_code = err->exit_code ? err->exit_code : HUTCH_EXIT_ERROR;
  snprintf (m.text, sizeof m.text, "%s", err->msg ? err->msg : "unknown error");
  hutch_msg_send (sock, &m, -1);
  _exit (m.exit_code);
}
