/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "runtime/sync.h"
#include "base/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
hutch_msg_send (int sock, const struct hutch_msg *m, int fd)
{
  struct iovec iov = { (void *)m, sizeof *m };
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct msghdr mh = { 0 };
  ssize_t r;

  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  if (fd >= 0)
    {
      struct cmsghdr *c;
      memset (&u, 0, sizeof u);
      mh.msg_control = u.buf;
      mh.msg_controllen = sizeof u.buf;
      c = CMSG_FIRSTHDR (&mh);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN (sizeof (int));
      memcpy (CMSG_DATA (c), &fd, sizeof (int));
    }
  do
    r = sendmsg (sock, &mh, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  return r == (ssize_t)sizeof *m ? 0 : -1;
}

int
hutch_msg_recv (int sock, struct hutch_msg *m, int *ret_fd)
{
  struct iovec iov = { m, sizeof *m };
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct msghdr mh = { 0 };
  struct cmsghdr *c;
  ssize_t r;

  if (ret_fd)
    *ret_fd = -1;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = u.buf;
  mh.msg_controllen = sizeof u.buf;
  do
    r = recvmsg (sock, &mh, MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return -1;
  if (r == 0)
    return 0;
  for (c = CMSG_FIRSTHDR (&mh); c; c = CMSG_NXTHDR (&mh, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
      {
        int fd;
        memcpy (&fd, CMSG_DATA (c), sizeof fd);
        if (ret_fd)
          *ret_fd = fd;
        else
          close (fd);
      }
  if (r != (ssize_t)sizeof *m)
    return -1;
  m->text[sizeof m->text - 1] = '\0';
  return 1;
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
