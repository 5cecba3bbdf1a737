/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Published ports, outside libslirp.

   TCP: accept on the host, have the connector open a socket connected to
   127.0.0.1:PORT inside the container, and move the bytes with splice(2)
   through one pipe per direction, so they go from socket to socket in the
   kernel and never through a user-space TCP stack (RootlessKit's "builtin"
   port driver works the same way).  Everything is nonblocking and driven
   by one edge-triggered epoll set; a connection that keeps both sides busy
   yields after a budget so that others and libslirp get their turn.  When
   one side ends, the other side's write half is shut down once the pipe is
   drained; the connection is closed when both directions are done, and
   reset on both sides on any error.

   UDP: a relay in user space.  Each host peer (address and port) gets its
   own socket inside the container, connected to 127.0.0.1:PORT, so replies
   find their way back; a flow idle for a minute is closed.

   Everything from the host side is data to copy, never parsed.  */

#include <config.h>

#include "hutch-slirp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/* Pipe sizes: 1 MiB moves a fast stream with the fewest wakeups, but pipe
   buffers count against a per-user limit (fs.pipe-user-pages-soft, 64 MiB
   by default), beyond which every new pipe of the user's shrinks to two
   pages.  So the first connections get large pipes, later ones smaller,
   and past PIPE_TOTAL_MAX the kernel's default.  */
#define PIPE_LARGE (1024 * 1024)
#define PIPE_MEDIUM (256 * 1024)
#define PIPE_LARGE_TOTAL (8 * 1024 * 1024)
#define PIPE_TOTAL_MAX (16 * 1024 * 1024)
#define RUN_BUDGET (2 * 1024 * 1024) /* bytes per direction before yielding */
#define BATCH 64                     /* accepts or datagrams per event */
#define PAUSE_MS 1000                /* listeners rest this long at EMFILE */
#define UDP_IDLE_MS 60000
#define UDP_SWEEP_MS 5000
#define UDP_MAX_FLOWS 256 /* per published port; the oldest goes first */
/* Open TCP connections, all ports together: each holds two pipes, which
   count against the user's pipe quota (fs.pipe-user-pages-soft), and six
   fds.  Past it the listeners rest, as at EMFILE.  */
#define TCP_MAX_CONNS 512
#define DGRAM_MAX 65536
/* Socket buffers of a connection whose both ends are on this machine: the
   container's side always, the host's when its peer is local too.  Left to
   autotuning, they grow to megabytes (tcp_rmem's maximum), and the bytes
   sit that long between the sender's write and the receiver's read: the
   sender's page fragments are not free again for reuse, and the receiver
   copies out of cold memory.  With iperf3 through -p on two CPUs, 256 KiB
   (what the kernel makes of 128 KiB) took the CPU time of client, server
   and forwarder together from about 0.9 s to 0.5 s per GB on a busy
   machine, and the rate from about 0.8 to 0.9-0.95 of loopback's on a
   quiet one, both ways; the forwarder wakes more often, but that costs
   less than the cold copies did.  At loopback's round trip of tens of
   microseconds, 256 KiB in flight still allows several GB/s.  128 KiB is
   below the default net.core.rmem_max and wmem_max (208 KiB), which would
   cap it silently.  A remote peer keeps autotuning: it needs a window as
   large as its bandwidth times its round trip.  */
#define LOCAL_SOCKBUF (128 * 1024)

enum kind
{
  K_TCP_LISTEN,
  K_UDP_LISTEN,
  K_SIDE_A, /* the host's end of a connection */
  K_SIDE_B, /* the container's end */
  K_FLOW,
};

/* What an epoll event points to.  */
struct handle
{
  enum kind kind;
  void *obj;
};

struct flow;

struct listener
{
  struct handle h;
  struct hs_publish *p;
  struct flow *flows;
  size_t n_flows;
};

struct dir
{
  int from, to;
  int pipe[2];
  size_t pipe_size, in_pipe;
  bool eof;  /* FROM has ended */
  bool done; /* ... and all of it reached TO, whose write half is shut */
};

struct conn
{
  struct handle ha, hb;
  int a, b;
  bool connecting, queued, dead;
  struct dir d[2]; /* a to b, b to a */
  struct conn *next_queued, *next_dead;
};

struct flow
{
  struct handle h;
  struct listener *l;
  struct sockaddr_storage peer;
  socklen_t peer_len;
  int fd;
  int64_t last;
  struct flow *next, *next_dead;
};

struct hs_forward
{
  int epfd;
  struct hs_connector *connector;
  struct listener *ls;
  size_t n_ls;
  /* Connections with work left after their budget; closed connections and
     flows, freed once no event of the current batch can point to them.  */
  struct conn *queue, *dead;
  struct flow *dead_flows;
  size_t n_flows;
  int64_t resume_at, next_sweep;
  size_t pipe_total; /* bytes of pipe buffers asked for by open connections */
  size_t n_conns;    /* open TCP connections */
  unsigned char *buf;
};

static int
ep_add (struct hs_forward *f, int fd, uint32_t events, struct handle *h)
{
  struct epoll_event ev = { .events = events, .data.ptr = h };
  return epoll_ctl (f->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* ---- binding ------------------------------------------------------------- */

static unsigned
unprivileged_port_start (void)
{
  unsigned v = 1024;
  FILE *f = fopen ("/proc/sys/net/ipv4/ip_unprivileged_port_start", "re");

  if (f)
    {
      if (fscanf (f, "%u", &v) != 1)
        v = 1024;
      fclose (f);
    }
  return v;
}

static int
bind_error (const struct hs_publish *p, int e, struct hs_error *err)
{
  const char *proto = p->udp ? "udp" : "tcp";

  switch (e)
    {
    case EADDRINUSE:
      return hs_error_set (err, e,
                           "host port %u/%s on %s is already in use; choose another with -p "
                           "HOSTPORT:CONTAINERPORT",
                           p->host_port, proto, p->host_ip);
    case EACCES:
      return hs_error_set (err, e,
                           "host port %u/%s on %s is reserved for root; choose %u or above "
                           "(sysctl net.ipv4.ip_unprivileged_port_start)",
                           p->host_port, proto, p->host_ip, unprivileged_port_start ());
    case EADDRNOTAVAIL:
      return hs_error_set (err, e,
                           "cannot publish on %s, which is not an address of this host; use one "
                           "of its addresses, or none for all of them",
                           p->host_ip);
    default:
      return hs_error_set (err, e, "cannot publish host port %u/%s on %s", p->host_port, proto,
                           p->host_ip);
    }
}

int
hs_publish_bind (struct hs_publish *p, struct hs_error *err)
{
  union
  {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
    struct sockaddr_storage ss;
  } u;
  socklen_t len;
  int fd, one = 1;

  memset (&u, 0, sizeof u);
  if (inet_pton (AF_INET, p->host_ip, &u.in.sin_addr) == 1)
    {
      u.in.sin_family = AF_INET;
      u.in.sin_port = htons ((uint16_t)p->host_port);
      len = sizeof u.in;
    }
  else if (inet_pton (AF_INET6, p->host_ip, &u.in6.sin6_addr) == 1)
    {
      u.in6.sin6_family = AF_INET6;
      u.in6.sin6_port = htons ((uint16_t)p->host_port);
      len = sizeof u.in6;
    }
  else
    return hs_error_set (err, 0, "cannot publish on `%s`: not an IP address", p->host_ip);

  fd = socket (u.sa.sa_family, (p->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC,
               0);
  if (fd < 0)
    return hs_error_set (err, errno, "socket");
  /* TCP only: lets a port in TIME_WAIT be taken again, never a bound one.  */
  if (!p->udp)
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind (fd, &u.sa, len) < 0 || (!p->udp && listen (fd, SOMAXCONN) < 0))
    {
      int e = errno;
      close (fd);
      return bind_error (p, e, err);
    }
  len = sizeof u;
  if (getsockname (fd, &u.sa, &len) < 0)
    {
      close (fd);
      return hs_error_set (err, errno, "getsockname");
    }
  p->host_port = ntohs (u.sa.sa_family == AF_INET ? u.in.sin_port : u.in6.sin6_port);
  p->fd = fd;
  return 0;
}

/* ---- TCP ---------------------------------------------------------------- */

static void
set_listeners (struct hs_forward *f, uint32_t events)
{
  for (size_t i = 0; i < f->n_ls; i++)
    if (!f->ls[i].p->udp)
      {
        struct epoll_event ev = { .events = events, .data.ptr = &f->ls[i].h };
        epoll_ctl (f->epfd, EPOLL_CTL_MOD, f->ls[i].p->fd, &ev);
      }
}

/* Out of fds: stop accepting for a while rather than spin on a listener
   that stays readable.  */
static void
pause_listeners (struct hs_forward *f)
{
  if (f->resume_at)
    return;
  set_listeners (f, 0);
  f->resume_at = hs_now_ms () + PAUSE_MS;
}

static void
resume_listeners (struct hs_forward *f)
{
  if (!f->resume_at)
    return;
  set_listeners (f, EPOLLIN);
  f->resume_at = 0;
}

static void
close_reset (int fd)
{
  struct linger lg = { 1, 0 };

  /* A reset, so that the peer learns the connection failed rather than
     seeing an empty stream.  */
  setsockopt (fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close (fd);
}

static void
conn_close (struct hs_forward *f, struct conn *c, bool reset)
{
  f->n_conns--;
  if (reset)
    {
      close_reset (c->a);
      close_reset (c->b);
    }
  else
    {
      close (c->a);
      close (c->b);
    }
  for (int i = 0; i < 2; i++)
    {
      for (int j = 0; j < 2; j++)
        if (c->d[i].pipe[j] >= 0)
          close (c->d[i].pipe[j]);
      f->pipe_total -= c->d[i].pipe_size;
    }
  c->dead = true;
  c->next_dead = f->dead;
  f->dead = c;
  resume_listeners (f);
}

static int
dir_open (struct hs_forward *f, struct dir *d, int from, int to)
{
  size_t want = f->pipe_total < PIPE_LARGE_TOTAL ? PIPE_LARGE
                : f->pipe_total < PIPE_TOTAL_MAX ? PIPE_MEDIUM
                                                 : 0;
  int sz;

  d->from = from;
  d->to = to;
  if (pipe2 (d->pipe, O_NONBLOCK | O_CLOEXEC) < 0)
    return -1;
  if (want)
    fcntl (d->pipe[1], F_SETPIPE_SZ, (int)want);
  sz = fcntl (d->pipe[1], F_GETPIPE_SZ);
  d->pipe_size = sz > 0 ? (size_t)sz : 65536;
  f->pipe_total += d->pipe_size;
  return 0;
}

/* Move what FROM has to TO through the pipe until both would block, FROM
   ended, or the budget is spent.  Returns -1 on an error, 1 when the budget
   ran out, 0 otherwise.  */
static int
dir_run (struct dir *d)
{
  size_t budget = RUN_BUDGET;

  while (!d->done)
    {
      bool progress = false;
      ssize_t n;

      if (!d->eof && d->in_pipe < d->pipe_size)
        {
          n = splice (d->from, NULL, d->pipe[1], NULL, d->pipe_size - d->in_pipe,
                      SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
          if (n > 0)
            d->in_pipe += (size_t)n, progress = true;
          else if (n == 0)
            d->eof = true;
          else if (errno != EAGAIN && errno != EINTR)
            return -1;
        }
      if (d->in_pipe > 0)
        {
          n = splice (d->pipe[0], NULL, d->to, NULL, d->in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
          if (n > 0)
            {
              d->in_pipe -= (size_t)n;
              budget = (size_t)n >= budget ? 0 : budget - (size_t)n;
              progress = true;
            }
          else if (n == 0 || (errno != EAGAIN && errno != EINTR))
            return -1;
        }
      if (d->eof && d->in_pipe == 0)
        {
          /* Half-close: the other direction may still be talking.  */
          shutdown (d->to, SHUT_WR);
          d->done = true;
        }
      else if (!progress)
        return 0;
      else if (budget == 0)
        return 1;
    }
  return 0;
}

static void
conn_run (struct hs_forward *f, struct conn *c)
{
  int r0 = dir_run (&c->d[0]), r1 = r0 < 0 ? 0 : dir_run (&c->d[1]);

  if (r0 < 0 || r1 < 0)
    conn_close (f, c, true);
  else if (c->d[0].done && c->d[1].done)
    conn_close (f, c, false);
  else if ((r0 > 0 || r1 > 0) && !c->queued)
    {
      c->queued = true;
      c->next_queued = f->queue;
      f->queue = c;
    }
}

static void
conn_event (struct hs_forward *f, struct conn *c, bool side_b, uint32_t events)
{
  if (c->dead)
    return;
  if (c->connecting)
    {
      int e = 0;
      socklen_t len = sizeof e;

      if (!side_b)
        return;
      if (getsockopt (c->b, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
        e = errno;
      if (e == 0 && !(events & EPOLLOUT))
        return;
      /* Refused inside: reset the host's client.  */
      if (e != 0 || dir_open (f, &c->d[0], c->a, c->b) < 0
          || dir_open (f, &c->d[1], c->b, c->a) < 0)
        {
          conn_close (f, c, true);
          return;
        }
      c->connecting = false;
    }
  conn_run (f, c);
}

/* Whether A's peer is on this machine: a loopback address, or the very
   address the connection came in on (a client of the host's own external
   address also goes through the loopback device).  */
static bool
peer_is_local (int a)
{
  struct sockaddr_storage self, peer;
  socklen_t self_len = sizeof self, peer_len = sizeof peer;

  if (getsockname (a, (struct sockaddr *)&self, &self_len) < 0
      || getpeername (a, (struct sockaddr *)&peer, &peer_len) < 0
      || self.ss_family != peer.ss_family)
    return false;
  if (peer.ss_family == AF_INET)
    {
      const struct sockaddr_in *s = (const void *)&self, *p = (const void *)&peer;
      return (ntohl (p->sin_addr.s_addr) >> 24) == 127 || p->sin_addr.s_addr == s->sin_addr.s_addr;
    }
  if (peer.ss_family == AF_INET6)
    {
      const struct sockaddr_in6 *s = (const void *)&self, *p = (const void *)&peer;
      const struct in6_addr *x = &p->sin6_addr;
      return IN6_IS_ADDR_LOOPBACK (x) || (IN6_IS_ADDR_V4MAPPED (x) && x->s6_addr[12] == 127)
             || memcmp (x, &s->sin6_addr, sizeof *x) == 0;
    }
  return false;
}

static void
set_local_buffers (int fd)
{
  int size = LOCAL_SOCKBUF;

  setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  setsockopt (fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
}

static void
conn_new (struct hs_forward *f, int a, int b)
{
  const uint32_t ev = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  struct conn *c = calloc (1, sizeof *c);
  int one = 1;

  if (c == NULL)
    {
      close_reset (a);
      close_reset (b);
      return;
    }
  f->n_conns++; /* conn_close counts it down */
  c->a = a;
  c->b = b;
  c->connecting = true;
  for (int i = 0; i < 2; i++)
    c->d[i].pipe[0] = c->d[i].pipe[1] = -1;
  c->ha = (struct handle){ K_SIDE_A, c };
  c->hb = (struct handle){ K_SIDE_B, c };
  /* The senders have done their own batching; do not delay their
     segments a second time.  */
  setsockopt (a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt (b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  set_local_buffers (b);
  if (peer_is_local (a))
    set_local_buffers (a);
  if (ep_add (f, a, ev, &c->ha) < 0 || ep_add (f, b, ev, &c->hb) < 0)
    conn_close (f, c, true);
}

static void
tcp_accept (struct hs_forward *f, struct listener *l)
{
  for (int i = 0; i < BATCH; i++)
    {
      int a, b = -1, r;

      if (f->n_conns >= TCP_MAX_CONNS)
        {
          pause_listeners (f);
          return;
        }
      a = accept4 (l->p->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (a < 0)
        {
          if (errno == EINTR || errno == ECONNABORTED)
            continue;
          if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            pause_listeners (f);
          return;
        }
      r = hs_connector_open (f->connector, false, l->p->container_port, &b);
      if (r < 0)
        {
          close_reset (a);
          if (r == -EPROTO || r == -EMFILE || r == -ENFILE)
            pause_listeners (f);
          continue;
        }
      conn_new (f, a, b);
    }
}

/* ---- UDP ------------------------------------------------------------------ */

static bool
same_peer (const struct sockaddr_storage *x, const struct sockaddr_storage *y)
{
  if (x->ss_family != y->ss_family)
    return false;
  if (x->ss_family == AF_INET)
    {
      const struct sockaddr_in *a = (const void *)x, *b = (const void *)y;
      return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
    }
  if (x->ss_family == AF_INET6)
    {
      const struct sockaddr_in6 *a = (const void *)x, *b = (const void *)y;
      return a->sin6_port == b->sin6_port && a->sin6_scope_id == b->sin6_scope_id
             && memcmp (&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr) == 0;
    }
  return false;
}

static void
flow_close (struct hs_forward *f, struct flow *fl)
{
  struct flow **pp;

  for (pp = &fl->l->flows; *pp; pp = &(*pp)->next)
    if (*pp == fl)
      {
        *pp = fl->next;
        break;
      }
  fl->l->n_flows--;
  f->n_flows--;
  close (fl->fd);
  fl->fd = -1;
  fl->next_dead = f->dead_flows;
  f->dead_flows = fl;
}

static struct flow *
flow_get (struct hs_forward *f, struct listener *l, const struct sockaddr_storage *peer,
          socklen_t peer_len, int64_t now)
{
  struct flow *fl, *oldest = NULL;
  int fd;

  for (fl = l->flows; fl; fl = fl->next)
    {
      if (same_peer (&fl->peer, peer))
        return fl;
      if (oldest == NULL || fl->last < oldest->last)
        oldest = fl;
    }
  if (l->n_flows >= UDP_MAX_FLOWS && oldest)
    flow_close (f, oldest);
  if (hs_connector_open (f->connector, true, l->p->container_port, &fd) < 0)
    return NULL;
  fl = calloc (1, sizeof *fl);
  if (fl == NULL)
    {
      close (fd);
      return NULL;
    }
  fl->h = (struct handle){ K_FLOW, fl };
  fl->l = l;
  memcpy (&fl->peer, peer, peer_len);
  fl->peer_len = peer_len;
  fl->fd = fd;
  fl->last = now;
  if (ep_add (f, fd, EPOLLIN, &fl->h) < 0)
    {
      close (fd);
      free (fl);
      return NULL;
    }
  if (f->n_flows == 0)
    f->next_sweep = now + UDP_SWEEP_MS;
  fl->next = l->flows;
  l->flows = fl;
  l->n_flows++;
  f->n_flows++;
  return fl;
}

/* From the host to the container.  */
static void
udp_listener_event (struct hs_forward *f, struct listener *l)
{
  int64_t now = hs_now_ms ();

  for (int i = 0; i < BATCH; i++)
    {
      struct sockaddr_storage peer;
      socklen_t peer_len = sizeof peer;
      struct flow *fl;
      ssize_t n
          = recvfrom (l->p->fd, f->buf, DGRAM_MAX, MSG_TRUNC, (struct sockaddr *)&peer, &peer_len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return;
      if (n > DGRAM_MAX || peer_len > sizeof peer)
        continue;
      fl = flow_get (f, l, &peer, peer_len, now);
      if (fl == NULL)
        continue;
      fl->last = now;
      /* Errors (a refusal reported by ICMP for an earlier datagram, a
         full buffer) lose this datagram, as UDP may.  */
      send (fl->fd, f->buf, (size_t)n, MSG_NOSIGNAL);
    }
}

/* From the container back to the host peer.  */
static void
flow_event (struct hs_forward *f, struct flow *fl)
{
  if (fl->fd < 0)
    return;
  for (int i = 0; i < BATCH; i++)
    {
      ssize_t n = recv (fl->fd, f->buf, DGRAM_MAX, MSG_TRUNC);

      if (n < 0 && (errno == EINTR || errno == ECONNREFUSED))
        continue;
      if (n < 0)
        return;
      if (n > DGRAM_MAX)
        continue;
      fl->last = hs_now_ms ();
      sendto (fl->l->p->fd, f->buf, (size_t)n, MSG_NOSIGNAL, (struct sockaddr *)&fl->peer,
              fl->peer_len);
    }
}

static void
sweep_flows (struct hs_forward *f, int64_t now)
{
  for (size_t i = 0; i < f->n_ls; i++)
    {
      struct flow *fl = f->ls[i].flows, *next;
      for (; fl; fl = next)
        {
          next = fl->next;
          if (now - fl->last >= UDP_IDLE_MS)
            flow_close (f, fl);
        }
    }
  f->next_sweep = now + UDP_SWEEP_MS;
}

/* ---- the loop's side ---------------------------------------------------- */

struct hs_forward *
hs_forward_new (struct hs_connector *c, struct hs_publish *p, size_t n, struct hs_error *err)
{
  struct hs_forward *f = calloc (1, sizeof *f);

  if (f == NULL || (f->buf = malloc (DGRAM_MAX)) == NULL
      || (f->ls = calloc (n ? n : 1, sizeof *f->ls)) == NULL)
    {
      hs_error_set (err, ENOMEM, "port forwarding");
      return NULL;
    }
  f->connector = c;
  f->n_ls = n;
  f->epfd = epoll_create1 (EPOLL_CLOEXEC);
  if (f->epfd < 0)
    {
      hs_error_set (err, errno, "epoll_create1");
      return NULL;
    }
  for (size_t i = 0; i < n; i++)
    {
      struct listener *l = &f->ls[i];
      l->p = &p[i];
      l->h = (struct handle){ p[i].udp ? K_UDP_LISTEN : K_TCP_LISTEN, l };
      if (ep_add (f, p[i].fd, EPOLLIN, &l->h) < 0)
        {
          hs_error_set (err, errno, "epoll_ctl");
          return NULL;
        }
    }
  return f;
}

int
hs_forward_fd (const struct hs_forward *f)
{
  return f->epfd;
}

int
hs_forward_timeout (const struct hs_forward *f, int64_t now)
{
  int64_t t = -1;

  if (f->queue)
    return 0;
  if (f->resume_at)
    t = f->resume_at - now;
  if (f->n_flows && (t < 0 || f->next_sweep - now < t))
    t = f->next_sweep - now;
  return t < 0 ? (f->resume_at || f->n_flows ? 0 : -1) : (int)t;
}

static void
dispatch (struct hs_forward *f, const struct epoll_event *ev)
{
  struct handle *h = ev->data.ptr;

  switch (h->kind)
    {
    case K_TCP_LISTEN:
      tcp_accept (f, h->obj);
      break;
    case K_UDP_LISTEN:
      udp_listener_event (f, h->obj);
      break;
    case K_SIDE_A:
    case K_SIDE_B:
      conn_event (f, h->obj, h->kind == K_SIDE_B, ev->events);
      break;
    case K_FLOW:
      flow_event (f, h->obj);
      break;
    }
}

static void
free_dead (struct hs_forward *f)
{
  struct conn *c = f->dead, *keep = NULL, *next;

  /* One still on the queue is freed after the queue lets go of it.  */
  for (; c; c = next)
    {
      next = c->next_dead;
      if (c->queued)
        {
          c->next_dead = keep;
          keep = c;
        }
      else
        free (c);
    }
  f->dead = keep;
  while (f->dead_flows)
    {
      struct flow *fl = f->dead_flows;
      f->dead_flows = fl->next_dead;
      free (fl);
    }
}

void
hs_forward_run (struct hs_forward *f, bool events)
{
  struct conn *q;
  int64_t now;

  if (events)
    {
      struct epoll_event ev[BATCH];
      int n = epoll_wait (f->epfd, ev, BATCH, 0);
      for (int i = 0; i < n; i++)
        dispatch (f, &ev[i]);
    }
  q = f->queue;
  f->queue = NULL;
  while (q)
    {
      struct conn *c = q;
      q = c->next_queued;
      c->queued = false;
      if (!c->dead)
        conn_run (f, c);
    }
  now = hs_now_ms ();
  if (f->resume_at && now >= f->resume_at)
    resume_listeners (f);
  if (f->n_flows && now >= f->next_sweep)
    sweep_flows (f, now);
  free_dead (f);
}
