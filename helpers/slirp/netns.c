/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The connector: a child of hutch-slirp that joins the container's user
   and network namespaces, creates the tap device there, and then stays to
   open sockets inside the container's network for the port forwarder.

   Why a process stays: one that joined the container's user namespace
   holds no capability in the host's any more and can never go back to the
   host's network namespace, and one that did not join cannot enter the
   container's network.  So the tap fd and every socket made inside travel
   to the main process with SCM_RIGHTS.

   What it trusts: its parent (the main process) for port numbers, and
   nothing of the container.  The container cannot reach it: it is outside
   the container's PID namespace, not dumpable (its memory belongs to the
   host's user namespace, where the container has no CAP_SYS_PTRACE), and
   once the tap exists it holds no capability, and a seccomp filter lets it
   do nothing but make IPv4 sockets, connect them and pass them on.  It
   connects only to 127.0.0.1: the address is its own, only the port comes
   from the request.  */

#include <config.h>

#include "hutch-slirp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Requests from the main process and the connector's replies: one
   SOCK_SEQPACKET message each.  */
struct conn_req
{
  uint32_t seq; /* echoed in the reply: a late reply is told apart */
  uint32_t udp;
  uint32_t port;
};

struct conn_rep
{
  uint32_t seq;         /* 0 for the setup reply */
  int32_t err;          /* 0, or the errno of the failure */
  char msg[HS_MSG_MAX]; /* the setup reply's message on failure */
};

#define REP_HEAD (offsetof (struct conn_rep, msg))

/* ---- rtnetlink ---------------------------------------------------------- */

struct nl_req
{
  struct nlmsghdr h;
  union
  {
    struct ifinfomsg link;
    struct ifaddrmsg addr;
    struct rtmsg route;
  } u;
  char attrs[128];
};

static void
nl_attr (struct nl_req *r, unsigned short type, const void *data, size_t len)
{
  struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN (r->h.nlmsg_len));

  /* The callers add at most three small attributes: they fit.  */
  a->rta_type = type;
  a->rta_len = (unsigned short)RTA_LENGTH (len);
  memcpy (RTA_DATA (a), data, len);
  r->h.nlmsg_len = NLMSG_ALIGN (r->h.nlmsg_len) + RTA_ALIGN (a->rta_len);
}

/* Send R and wait for its acknowledgement.  Returns 0 or -errno.  */
static int
nl_talk (int fd, struct nl_req *r)
{
  static uint32_t seq;
  char buf[1024];
  ssize_t n;

  r->h.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  r->h.nlmsg_seq = ++seq;
  if (send (fd, r, r->h.nlmsg_len, 0) < 0)
    return -errno;
  for (;;)
    {
      struct nlmsghdr *h;
      n = recv (fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -errno;
      for (h = (struct nlmsghdr *)buf; NLMSG_OK (h, (size_t)n); h = NLMSG_NEXT (h, n))
        {
          if (h->nlmsg_seq != seq || h->nlmsg_type != NLMSG_ERROR)
            continue;
          if (h->nlmsg_len < NLMSG_LENGTH (sizeof (struct nlmsgerr)))
            return -EPROTO;
          return ((struct nlmsgerr *)NLMSG_DATA (h))->error;
        }
    }
}

static void
nl_init (struct nl_req *r, unsigned short type, unsigned short flags, size_t body)
{
  memset (r, 0, sizeof *r);
  r->h.nlmsg_len = (uint32_t)NLMSG_LENGTH (body);
  r->h.nlmsg_type = type;
  r->h.nlmsg_flags = flags;
}

static int
link_up (int fd, unsigned index, unsigned mtu)
{
  struct nl_req r;

  nl_init (&r, RTM_NEWLINK, 0, sizeof r.u.link);
  r.u.link.ifi_family = AF_UNSPEC;
  r.u.link.ifi_index = (int)index;
  r.u.link.ifi_flags = IFF_UP;
  r.u.link.ifi_change = IFF_UP;
  if (mtu)
    nl_attr (&r, IFLA_MTU, &mtu, sizeof mtu);
  return nl_talk (fd, &r);
}

static int
addr_add (int fd, int family, unsigned index, const void *addr, unsigned prefix)
{
  size_t len = family == AF_INET ? 4 : 16;
  struct nl_req r;

  nl_init (&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof r.u.addr);
  r.u.addr.ifa_family = (unsigned char)family;
  r.u.addr.ifa_prefixlen = (unsigned char)prefix;
  /* No duplicate address detection: nobody else is on this link, and a
     tentative address could not be used for the first second.  */
  r.u.addr.ifa_flags = family == AF_INET6 ? IFA_F_NODAD : 0;
  r.u.addr.ifa_scope = RT_SCOPE_UNIVERSE;
  r.u.addr.ifa_index = index;
  nl_attr (&r, IFA_LOCAL, addr, len);
  nl_attr (&r, IFA_ADDRESS, addr, len);
  return nl_talk (fd, &r);
}

static int
default_route (int fd, int family, unsigned index, const void *gateway)
{
  struct nl_req r;

  nl_init (&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, sizeof r.u.route);
  r.u.route.rtm_family = (unsigned char)family;
  r.u.route.rtm_table = RT_TABLE_MAIN;
  r.u.route.rtm_protocol = RTPROT_BOOT;
  r.u.route.rtm_scope = RT_SCOPE_UNIVERSE;
  r.u.route.rtm_type = RTN_UNICAST;
  nl_attr (&r, RTA_GATEWAY, gateway, family == AF_INET ? 4 : 16);
  nl_attr (&r, RTA_OIF, &index, sizeof index);
  return nl_talk (fd, &r);
}

/* ---- inside the container ----------------------------------------------- */

static int
create_tap (unsigned *ret_index, struct hs_error *err)
{
  struct ifreq ifr;
  int fd = open ("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

  if (fd < 0 && (errno == EACCES || errno == EPERM))
    return hs_error_set (err, errno,
                         "cannot open /dev/net/tun for the container's network; an "
                         "administrator can make it mode 0666, as distributions ship it "
                         "(chmod 0666 /dev/net/tun), or run the container with --network none");
  if (fd < 0)
    return hs_error_set (err, errno,
                         "cannot open /dev/net/tun for the container's network; an "
                         "administrator can load the tun module (modprobe tun), or run the "
                         "container with --network none");
  memset (&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  strcpy (ifr.ifr_name, HS_TAP_NAME);
  if (ioctl (fd, TUNSETIFF, &ifr) < 0)
    {
      hs_error_set (err, errno, "cannot create the tap device %s in the container's network",
                    HS_TAP_NAME);
      close (fd);
      return -1;
    }
  *ret_index = if_nametoindex (ifr.ifr_name);
  if (*ret_index == 0)
    {
      hs_error_set (err, errno, "cannot find the tap device %s", ifr.ifr_name);
      close (fd);
      return -1;
    }
  return fd;
}

/* lo up; tap0 with its MTU and addresses, up; default routes through the
   slirp host (.2, fd00::2).  */
static int
configure (const struct hs_options *o, int *ret_tapfd, struct hs_error *err)
{
  uint32_t guest = htonl (o->net + 100), gateway = htonl (o->net + 2);
  struct in6_addr guest6, gateway6;
  unsigned lo, tap = 0;
  int nl, tapfd, r;

  nl = socket (AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (nl < 0)
    return hs_error_set (err, errno, "cannot open a netlink socket in the container's network");
  lo = if_nametoindex ("lo");
  if (lo == 0 || (r = link_up (nl, lo, 0)) < 0)
    {
      close (nl);
      return hs_error_set (err, lo ? -r : errno, "cannot bring up lo in the container");
    }
  tapfd = create_tap (&tap, err);
  if (tapfd < 0)
    {
      close (nl);
      return -1;
    }
  if ((r = link_up (nl, tap, o->mtu)) < 0)
    {
      hs_error_set (err, -r, "cannot set the MTU of %s to %u and bring it up", HS_TAP_NAME, o->mtu);
      goto fail;
    }
  if ((r = addr_add (nl, AF_INET, tap, &guest, o->prefix)) < 0
      || (r = default_route (nl, AF_INET, tap, &gateway)) < 0)
    {
      hs_error_set (err, -r, "cannot configure the IPv4 address and route of %s", HS_TAP_NAME);
      goto fail;
    }
  if (o->enable_ipv6)
    {
      inet_pton (AF_INET6, "fd00::100", &guest6);
      inet_pton (AF_INET6, "fd00::2", &gateway6);
      if ((r = addr_add (nl, AF_INET6, tap, &guest6, 64)) < 0
          || (r = default_route (nl, AF_INET6, tap, &gateway6)) < 0)
        {
          hs_error_set (err, -r,
                        "cannot configure the IPv6 address and route of %s (is IPv6 "
                        "disabled on this host?)",
                        HS_TAP_NAME);
          goto fail;
        }
    }
  close (nl);
  *ret_tapfd = tapfd;
  return 0;
fail:
  close (nl);
  close (tapfd);
  return -1;
}

/* Re-arm the parent-death signal (changing credentials may clear it) and
   check that the parent has not died already.  */
static int
die_with (pid_t parent)
{
  if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid () != parent)
    return -1;
  return 0;
}

static int
join (const struct hs_options *o, pid_t parent, struct hs_error *err)
{
  /* User namespace first: it owns the network namespace, and joining it
     gives the capabilities that setns to the network needs.  */
  if (setns (o->userns_fd, CLONE_NEWUSER) < 0)
    return hs_error_set (err, errno, "cannot join the container's user namespace");
  if (setns (o->netns_fd, CLONE_NEWNET) < 0)
    return hs_error_set (err, errno, "cannot join the container's network namespace");
  if (die_with (parent) < 0)
    return hs_error_set (err, 0, "hutch-slirp ended");
  return 0;
}

/* Keep 0-2 and move SOCK, USERNS and NETNS to 3, 4 and 5; close the rest
   (the host's listening sockets, the ready fd).  */
static int
keep_fds (int sock, int userns, int netns)
{
  int s = fcntl (sock, F_DUPFD_CLOEXEC, 10), u = fcntl (userns, F_DUPFD_CLOEXEC, 10),
      n = fcntl (netns, F_DUPFD_CLOEXEC, 10);

  /* All three are above 5 now, so the dup2s below clobber none of them.  */
  if (s < 0 || u < 0 || n < 0 || dup2 (s, 3) < 0 || dup2 (u, 4) < 0 || dup2 (n, 5) < 0)
    return -1;
  if (syscall (SYS_close_range, 6u, ~0u, 0u) < 0)
    for (long fd = 6, max = sysconf (_SC_OPEN_MAX); fd < max; fd++)
      close ((int)fd);
  return 0;
}

static int
send_rep (int sock, const struct conn_rep *rep, size_t len, int fd)
{
  union
  {
    struct cmsghdr c;
    char buf[CMSG_SPACE (sizeof (int))];
  } u;
  struct iovec iov = { (void *)rep, len };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

  if (fd >= 0)
    {
      memset (&u, 0, sizeof u);
      m.msg_control = u.buf;
      m.msg_controllen = sizeof u.buf;
      u.c.cmsg_level = SOL_SOCKET;
      u.c.cmsg_type = SCM_RIGHTS;
      u.c.cmsg_len = CMSG_LEN (sizeof (int));
      memcpy (CMSG_DATA (&u.c), &fd, sizeof fd);
    }
  while (sendmsg (sock, &m, MSG_NOSIGNAL) < 0)
    if (errno != EINTR)
      return -1;
  return 0;
}

static int
open_inside (const struct conn_req *rq, int *ret_fd)
{
  struct sockaddr_in sin = { .sin_family = AF_INET };
  int fd;

  if (rq->port == 0 || rq->port > 65535)
    return EINVAL;
  fd = socket (AF_INET, (rq->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return errno;
  sin.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  sin.sin_port = htons ((uint16_t)rq->port);
  if (connect (fd, (struct sockaddr *)&sin, sizeof sin) < 0 && errno != EINPROGRESS)
    {
      int e = errno;
      close (fd);
      return e;
    }
  *ret_fd = fd;
  return 0;
}

static void __attribute__ ((noreturn)) serve (int sock)
{
  for (;;)
    {
      struct conn_req rq;
      struct conn_rep rep = { 0 };
      int fd = -1;
      ssize_t n = recv (sock, &rq, sizeof rq, 0);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        _exit (0);
      rep.seq = n == (ssize_t)sizeof rq ? rq.seq : 0;
      rep.err = n == (ssize_t)sizeof rq ? open_inside (&rq, &fd) : EINVAL;
      if (send_rep (sock, &rep, REP_HEAD, fd) < 0)
        _exit (0);
      if (fd >= 0)
        close (fd);
    }
}

static void __attribute__ ((noreturn))
connector_main (const struct hs_options *o, pid_t parent, int sock)
{
  struct conn_rep rep = { 0 };
  struct hs_error err = { 0 };
  int tapfd = -1;

  if (join (o, parent, &err) < 0 || configure (o, &tapfd, &err) < 0)
    {
      rep.err = err.errnum ? err.errnum : EINVAL;
      snprintf (rep.msg, sizeof rep.msg, "%s", err.msg);
      send_rep (sock, &rep, sizeof rep, -1);
      _exit (1);
    }
  close (o->userns_fd);
  close (o->netns_fd);
  if (hs_sandbox_connector (&err) < 0)
    {
      close (tapfd);
      rep.err = err.errnum ? err.errnum : EINVAL;
      snprintf (rep.msg, sizeof rep.msg, "%s", err.msg);
      send_rep (sock, &rep, sizeof rep, -1);
      _exit (1);
    }
  if (send_rep (sock, &rep, sizeof rep, tapfd) < 0)
    _exit (1);
  /* Our copy of the tap stays open until we end, after the main process:
     the last close removes the device, which takes the kernel some
     milliseconds (an RCU grace period), and that wait is then ours, not
     the main process's, which hutch waits for before it reports the
     container's exit status.  Holding it gives nothing away: it carries
     the container's own frames, which its root can read and write with
     CAP_NET_RAW anyway, and we are not dumpable (the container cannot
     reach our fds through ptrace or /proc) and outside its PID
     namespace.  */
  serve (sock);
}

/* Receive one reply, with the fd it carries.  Returns its length or
   -errno.  */
static ssize_t
recv_rep (int sock, struct conn_rep *rep, int *ret_fd, int timeout_ms)
{
  union
  {
    struct cmsghdr c;
    char buf[CMSG_SPACE (sizeof (int))];
  } u;
  struct iovec iov = { rep, sizeof *rep };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
  struct pollfd pfd = { sock, POLLIN, 0 };
  struct cmsghdr *c;
  ssize_t n;
  int r;

  *ret_fd = -1;
  do
    r = poll (&pfd, 1, timeout_ms);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return -errno;
  if (r == 0)
    return -ETIMEDOUT;
  m.msg_control = u.buf;
  m.msg_controllen = sizeof u.buf;
  do
    n = recvmsg (sock, &m, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return -errno;
  for (c = CMSG_FIRSTHDR (&m); c; c = CMSG_NXTHDR (&m, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS
        && c->cmsg_len == CMSG_LEN (sizeof (int)))
      memcpy (ret_fd, CMSG_DATA (c), sizeof (int));
  if (n == 0)
    return -EPIPE;
  if ((m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || (size_t)n < REP_HEAD)
    {
      if (*ret_fd >= 0)
        close (*ret_fd);
      *ret_fd = -1;
      return -EPROTO;
    }
  return n;
}

int
hs_connector_start (const struct hs_options *o, struct hs_connector *ret, int *ret_tapfd,
                    struct hs_error *err)
{
  struct conn_rep rep;
  pid_t parent = getpid (), child;
  int sv[2], fd;
  ssize_t n;

  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return hs_error_set (err, errno, "socketpair");
  child = fork ();
  if (child < 0)
    {
      close (sv[0]);
      close (sv[1]);
      return hs_error_set (err, errno, "fork");
    }
  if (child == 0)
    {
      struct hs_options copy = *o;
      if (die_with (parent) < 0 || keep_fds (sv[1], o->userns_fd, o->netns_fd) < 0)
        _exit (1);
      copy.userns_fd = 4;
      copy.netns_fd = 5;
      copy.ready_fd = -1;
      copy.publish = NULL;
      copy.n_publish = 0;
      connector_main (&copy, parent, 3);
    }
  close (sv[1]);
  ret->pid = child;
  ret->sock = sv[0];
  n = recv_rep (sv[0], &rep, &fd, 30000);
  if (n < 0)
    return hs_error_set (err, (int)-n, "the network setup in the container failed");
  if (rep.err != 0)
    {
      if (fd >= 0)
        close (fd);
      rep.msg[sizeof rep.msg - 1] = '\0';
      return hs_error_set (
          err, 0, "%s", (size_t)n == sizeof rep && rep.msg[0] ? rep.msg : "network setup failed");
    }
  if (fd < 0)
    return hs_error_set (err, 0, "the network setup in the container sent no tap device");
  *ret_tapfd = fd;
  return 0;
}

int
hs_connector_open (struct hs_connector *c, bool udp, unsigned port, int *ret_fd)
{
  struct conn_req rq = { ++c->seq, udp, port };
  struct conn_rep rep;
  int64_t deadline = hs_now_ms () + 5000;
  ssize_t n;
  int fd;

  while (send (c->sock, &rq, sizeof rq, MSG_NOSIGNAL) < 0)
    if (errno != EINTR)
      return -errno;
  /* It answers at once: a nonblocking connect to its own loopback never
     waits.  Replies to requests that timed out earlier are dropped.  */
  do
    {
      int64_t left = deadline - hs_now_ms ();
      n = recv_rep (c->sock, &rep, &fd, left > 0 ? (int)left : 0);
      if (n < 0)
        return (int)n;
      if (rep.seq == rq.seq)
        break;
      if (fd >= 0)
        close (fd);
    }
  while (true);
  if (rep.err != 0 || fd < 0)
    {
      if (fd >= 0)
        close (fd);
      return rep.err > 0 ? -rep.err : -EPROTO;
    }
  *ret_fd = fd;
  return 0;
}
