/* SPDX-License-Identifier: GPL-2.0-or-later */
/* netutil: the few network tools the integration tests need inside a
   busybox container, where busybox's nc has no UDP.  network.bats
   compiles it with `cc -static` into the test's rootfs.

     netutil udp-echo-server PORT     echo every datagram back, forever
     netutil udp-send HOST PORT MSG [SECS]
                                      send MSG, print the reply (resent
                                      every 0.3 s, gives up after SECS,
                                      default 10)
     netutil tcp-echo-server PORT     echo each connection's bytes back
                                      until it half-closes, then close;
                                      one connection at a time, forever
     netutil raw-syn DST PORT         write a TCP SYN from 10.0.2.100 to
                                      DST:PORT as a raw Ethernet frame on
                                      tap0 (what CAP_NET_RAW allows), and
                                      say what came back: "syn-ack",
                                      "rst", "icmp" or "nothing"

   IPv4 addresses only (no name lookups).  Exit status 0, 1 on an error
   (said on stderr), 2 on a usage error.  */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int
die (const char *what)
{
  fprintf (stderr, "netutil: %s: %s\n", what, strerror (errno));
  return 1;
}

static int
parse_port (const char *s)
{
  char *end;
  long n = strtol (s, &end, 10);
  if (*s == '\0' || *end || n < 1 || n > 65535)
    {
      fprintf (stderr, "netutil: `%s` is not a port\n", s);
      exit (2);
    }
  return (int)n;
}

static int
bound (int type, int port)
{
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons ((unsigned short)port) };
  int one = 1, fd = socket (AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  a.sin_addr.s_addr = htonl (INADDR_ANY);
  if (bind (fd, (struct sockaddr *)&a, sizeof a) < 0)
    return -1;
  return fd;
}

static int
udp_echo_server (int port)
{
  char buf[65536];
  int fd = bound (SOCK_DGRAM, port);
  if (fd < 0)
    return die ("bind");
  for (;;)
    {
      struct sockaddr_storage from;
      socklen_t len = sizeof from;
      ssize_t n = recvfrom (fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return die ("recvfrom");
      if (sendto (fd, buf, (size_t)n, 0, (struct sockaddr *)&from, len) < 0)
        perror ("netutil: sendto");
    }
}

static long
now_ms (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int
udp_send (const char *host, int port, const char *msg, long secs)
{
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons ((unsigned short)port) };
  char buf[65536];
  long start = now_ms ();
  int fd;

  if (inet_pton (AF_INET, host, &a.sin_addr) != 1)
    {
      fprintf (stderr, "netutil: `%s` is not an IPv4 address\n", host);
      return 2;
    }
  fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return die ("socket");
  /* connect: only the peer's replies count, and an ICMP "port
     unreachable" shows up as ECONNREFUSED (then: try again).  */
  if (connect (fd, (struct sockaddr *)&a, sizeof a) < 0)
    return die ("connect");
  while (now_ms () - start < secs * 1000)
    {
      struct pollfd p = { fd, POLLIN, 0 };
      ssize_t n;
      if (send (fd, msg, strlen (msg), 0) < 0 && errno != ECONNREFUSED)
        return die ("send");
      if (poll (&p, 1, 300) <= 0)
        continue;
      n = recv (fd, buf, sizeof buf - 1, 0);
      if (n < 0 && errno == ECONNREFUSED)
        {
          usleep (100000);
          continue;
        }
      if (n < 0)
        return die ("recv");
      buf[n] = '\0';
      printf ("%s\n", buf);
      return 0;
    }
  fprintf (stderr, "netutil: no reply from %s:%d in %ld s\n", host, port, secs);
  return 1;
}

static int
write_all (int fd, const char *p, size_t n)
{
  while (n > 0)
    {
      ssize_t w = write (fd, p, n);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return -1;
      p += w;
      n -= (size_t)w;
    }
  return 0;
}

static int
tcp_echo_server (int port)
{
  static char buf[1 << 16];
  int fd = bound (SOCK_STREAM, port);
  if (fd < 0 || listen (fd, 16) < 0)
    return die ("bind/listen");
  for (;;)
    {
      int c = accept4 (fd, NULL, NULL, SOCK_CLOEXEC);
      ssize_t n;
      if (c < 0)
        {
          if (errno == EINTR || errno == ECONNABORTED)
            continue;
          return die ("accept");
        }
      while ((n = read (c, buf, sizeof buf)) != 0)
        {
          if (n < 0 && errno == EINTR)
            continue;
          if (n < 0 || write_all (c, buf, (size_t)n) < 0)
            break;
        }
      close (c);
    }
}

static unsigned
fold (unsigned long sum)
{
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return (unsigned)(~sum & 0xffff);
}

static unsigned long
add16 (unsigned long sum, const unsigned char *p, size_t n)
{
  size_t i;
  for (i = 0; i + 1 < n; i += 2)
    sum += (unsigned long)(p[i] << 8 | p[i + 1]);
  if (n & 1)
    sum += (unsigned long)(p[n - 1] << 8);
  return sum;
}

/* A SYN that bypasses the kernel's routing (which keeps 127.0.0.1 on lo):
   the frame goes to libslirp's Ethernet address with DST in its IP
   header, as a hostile container could write it.  */
static int
raw_syn (const char *dst, int port)
{
  unsigned char f[2048] = { 0 }, *ip = f + 14, *tcp = f + 34, ph[12];
  struct sockaddr_ll ll = { 0 };
  struct ifreq ifr = { 0 };
  struct in_addr src, d;
  unsigned long sum;
  int s = socket (AF_PACKET, SOCK_RAW, htons (0x0003 /* ETH_P_ALL */));
  struct timespec end;

  if (s < 0)
    return die ("socket (AF_PACKET)");
  if (inet_pton (AF_INET, dst, &d) != 1 || inet_pton (AF_INET, "10.0.2.100", &src) != 1)
    return die ("address");
  strcpy (ifr.ifr_name, "tap0");
  if (ioctl (s, SIOCGIFINDEX, &ifr) < 0)
    return die ("tap0");
  ll.sll_family = AF_PACKET;
  ll.sll_ifindex = ifr.ifr_ifindex;
  ll.sll_protocol = htons (0x0003);
  if (bind (s, (struct sockaddr *)&ll, sizeof ll) < 0 || ioctl (s, SIOCGIFHWADDR, &ifr) < 0)
    return die ("bind to tap0");
  memcpy (f, "\x52\x55\x0a\x00\x02\x02", 6); /* libslirp's own address */
  memcpy (f + 6, ifr.ifr_hwaddr.sa_data, 6);
  f[12] = 0x08;
  ip[0] = 0x45;
  ip[3] = 40;
  ip[8] = 64;
  ip[9] = 6;
  memcpy (ip + 12, &src, 4);
  memcpy (ip + 16, &d, 4);
  sum = fold (add16 (0, ip, 20));
  ip[10] = (unsigned char)(sum >> 8);
  ip[11] = (unsigned char)sum;
  tcp[0] = 0x9c;
  tcp[1] = 0x41; /* source port 40001 */
  tcp[2] = (unsigned char)(port >> 8);
  tcp[3] = (unsigned char)port;
  tcp[7] = 1;     /* seq */
  tcp[12] = 0x50; /* 20-byte header */
  tcp[13] = 0x02; /* SYN */
  tcp[14] = 0xff;
  tcp[15] = 0xff;
  memcpy (ph, ip + 12, 8);
  ph[8] = 0;
  ph[9] = 6;
  ph[10] = 0;
  ph[11] = 20;
  sum = fold (add16 (add16 (0, ph, 12), tcp, 20));
  tcp[16] = (unsigned char)(sum >> 8);
  tcp[17] = (unsigned char)sum;
  if (send (s, f, 54, 0) != 54)
    return die ("send");
  clock_gettime (CLOCK_MONOTONIC, &end);
  end.tv_sec += 3;
  for (;;)
    {
      struct pollfd pfd = { s, POLLIN, 0 };
      struct timespec now;
      unsigned char r[2048];
      ssize_t n;

      clock_gettime (CLOCK_MONOTONIC, &now);
      if (now.tv_sec > end.tv_sec || poll (&pfd, 1, 200) < 0)
        break;
      if (!(pfd.revents & POLLIN))
        continue;
      n = recv (s, r, sizeof r, 0);
      if (n < 34 || r[12] != 0x08 || r[13] != 0 || memcmp (r + 30, &src, 4) != 0)
        continue;
      if (r[23] == 1)
        {
          puts ("icmp");
          return 0;
        }
      if (r[23] == 6 && n >= 54 && memcmp (r + 26, &d, 4) == 0)
        {
          puts ((r[47] & 0x12) == 0x12 ? "syn-ack" : (r[47] & 0x04) ? "rst" : "other");
          return 0;
        }
    }
  puts ("nothing");
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc == 4 && strcmp (argv[1], "raw-syn") == 0)
    return raw_syn (argv[2], parse_port (argv[3]));
  if (argc == 3 && strcmp (argv[1], "udp-echo-server") == 0)
    return udp_echo_server (parse_port (argv[2]));
  if ((argc == 5 || argc == 6) && strcmp (argv[1], "udp-send") == 0)
    return udp_send (argv[2], parse_port (argv[3]), argv[4], argc == 6 ? atol (argv[5]) : 10);
  if (argc == 3 && strcmp (argv[1], "tcp-echo-server") == 0)
    return tcp_echo_server (parse_port (argv[2]));
  fprintf (stderr, "usage: netutil udp-echo-server PORT | udp-send HOST PORT MSG [SECS] | "
                   "tcp-echo-server PORT | raw-syn DST PORT\n");
  return 2;
}
