/* SPDX-License-Identifier: GPL-2.0-or-later */

/* hutch-slirp: the network of a rootless container.

   hutch starts it, as the user and in the host's namespaces, with open
   fds of the container's user and network namespaces.  It gives the
   container a tap device (tap0: 10.0.2.100/24, gateway 10.0.2.2, DNS
   10.0.2.3, MTU 65520 by default; fd00::100/64 with --enable-ipv6) whose
   frames libslirp, a user-mode TCP/IP stack, turns into ordinary sockets
   on the host; and it publishes ports (--publish) from the host into the
   container.

   Two processes:
   - the connector (netns.c), forked first, joins the container's user and
     network namespaces, creates and configures the tap device, hands its
     fd over, and then only opens sockets to 127.0.0.1 inside the
     container for the port forwarder.  Once the tap exists it holds no
     capability, is not dumpable, and runs under a seccomp filter that
     kills it for anything but socket/connect/sendmsg/recvmsg/close.
   - the main process (this file) stays in the host's namespaces, binds the
     published ports, and runs libslirp's event loop on the tap fd and the
     port forwarder (forward.c).

   Trust: every frame from the tap device comes from the container and is
   hostile.  The main process only copies frames between the tap and
   libslirp (a 64 KiB buffer holds any frame the kernel can hand out at
   any MTU; their sizes come from read(2), never from the frame), and
   libslirp parses them.  In case libslirp has a hole, the main process
   runs, before it reports ready, in a sandbox (sandbox.c):
   - its own user namespace that maps only the user's uid and gid, and its
     own mount namespace whose root is a read-only tmpfs holding nothing
     but read-only binds of /etc/resolv.conf (libslirp's DNS forwarder
     reads it, and stats it for changes, whenever the container asks the
     DNS address .3) and /etc/hosts;
   - no capabilities in any set, bounding and ambient sets included; not
     dumpable; no_new_privs;
   - a seccomp allowlist (libseccomp) of what the event loop, libslirp,
     splice and SCM_RIGHTS need: sockets of AF_INET and AF_INET6 only,
     I/O on them, epoll/poll, splice/pipe2, read-only opens, memory
     without PROT_EXEC, clocks.  Any other call fails with EPERM; execve,
     ptrace, clone, mount, setns, unshare, bpf and the like kill it.
   If the sandbox cannot be set up the helper fails; it never runs
   without it.  `hutch-slirp --check-sandbox` enters it and shows that it
   holds.

   The host's loopback: libslirp maps 10.0.2.2 to 127.0.0.1 only with
   --allow-host-loopback, but it would connect a frame addressed to
   127.0.0.1 (or 0.0.0.0, ::1) itself, which container root can write
   with CAP_NET_RAW; read_tap drops those frames before libslirp sees
   them.  DNS to .3 is forwarded to the host's name servers, also when
   they listen on the host's loopback (systemd-resolved).  Published ports are
   connected to 127.0.0.1 inside the container by the connector, so they
   never pass through libslirp.

   It ends, with status 0, on SIGTERM, when the tap device goes away, and
   (PR_SET_PDEATHSIG) when hutch dies, even by SIGKILL; the connector dies
   with it the same way.  Before it is ready it reports failures on the
   ready fd ("error: MESSAGE") and exits 1.  */

#include <config.h>

#include "hutch-slirp.h"

#include <libslirp.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MTU 65520
/* The largest frame a tap device hands out: 64 KiB of IP (libslirp's
   MRU is at most 65521) plus Ethernet and VLAN headers.  */
#define FRAME_MAX (65536 + 18)
#define TAP_BATCH 64 /* frames read per wakeup */

static void
append (char *dst, size_t cap, size_t *len, const char *s, size_t n)
{
  if (*len + 1 >= cap)
    return;
  if (n > cap - 1 - *len)
    n = cap - 1 - *len;
  memcpy (dst + *len, s, n);
  *len += n;
  dst[*len] = '\0';
}

int
hs_error_set (struct hs_error *err, int errnum, const char *fmt, ...)
{
  char text[HS_MSG_MAX];
  const char *fix, *e;
  size_t len = 0;
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (text, sizeof text, fmt, ap);
  va_end (ap);
  err->errnum = errnum;
  err->msg[0] = '\0';
  if (errnum == 0)
    {
      append (err->msg, sizeof err->msg, &len, text, strlen (text));
      return -1;
    }
  /* errno's text goes after the cause, before the fix that follows "; ".  */
  e = strerror (errnum);
  fix = strstr (text, "; ");
  if (fix == NULL)
    fix = text + strlen (text);
  append (err->msg, sizeof err->msg, &len, text, (size_t)(fix - text));
  append (err->msg, sizeof err->msg, &len, *fix ? " (" : ": ", 2);
  append (err->msg, sizeof err->msg, &len, e, strlen (e));
  if (*fix)
    append (err->msg, sizeof err->msg, &len, ")", 1);
  append (err->msg, sizeof err->msg, &len, fix, strlen (fix));
  return -1;
}

int64_t
hs_now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the command line ------------------------------------------------- */

static void
usage (FILE *out)
{
  fputs ("Usage: hutch-slirp --userns-fd N --netns-fd N --ready-fd N [OPTION]...\n"
         "The network of a rootless container: libslirp on a tap device in the container's\n"
         "network namespace, and ports published from the host.  Run by hutch.\n"
         "\n"
         "  --userns-fd N          an open /proc/PID/ns/user of the container\n"
         "  --netns-fd N           an open /proc/PID/ns/net of the container\n"
         "  --ready-fd N           where to report: \"port CPORT/PROTO HOSTIP:HOSTPORT\" lines,\n"
         "                         then \"ok\"; or \"error: MESSAGE\"\n"
         "  --mtu N                the tap device's MTU (default 65520)\n"
         "  --cidr A.B.C.D/N       the network (default 10.0.2.0/24; the container is .100,\n"
         "                         the host .2, DNS .3)\n"
         "  --allow-host-loopback  let the container reach the host's 127.0.0.1 as .2\n"
         "  --enable-ipv6          also fd00::100/64, through fd00::2\n"
         "  --publish SPEC         HOSTIP:HOSTPORT:CONTAINERPORT/PROTO (HOSTPORT 0: any free\n"
         "                         port; an IPv6 HOSTIP in brackets); repeatable\n"
         "  --resolv-conf FILE     what libslirp reads as /etc/resolv.conf (default\n"
         "                         /etc/resolv.conf)\n"
         "  --check-sandbox        enter the sandbox and check that it holds (TAP output)\n"
         "  --help, --version\n",
         out);
}

static int
parse_uint (const char *s, unsigned long min, unsigned long max, unsigned long *ret)
{
  char *end;
  unsigned long v;

  if (*s < '0' || *s > '9')
    return -1;
  errno = 0;
  v = strtoul (s, &end, 10);
  if (errno || *end || v < min || v > max)
    return -1;
  *ret = v;
  return 0;
}

static int
parse_fd (const char *s, int *ret, struct hs_error *err)
{
  unsigned long v;

  if (parse_uint (s, 0, INT_MAX, &v) < 0 || fcntl ((int)v, F_GETFD) < 0)
    return hs_error_set (err, 0, "`%s` is not an open file descriptor", s);
  *ret = (int)v;
  return 0;
}

static int
parse_cidr (const char *s, struct hs_options *o, struct hs_error *err)
{
  char addr[INET_ADDRSTRLEN];
  const char *slash = strchr (s, '/');
  struct in_addr in;
  unsigned long prefix;

  if (slash == NULL || (size_t)(slash - s) >= sizeof addr)
    goto bad;
  memcpy (addr, s, (size_t)(slash - s));
  addr[slash - s] = '\0';
  if (inet_pton (AF_INET, addr, &in) != 1 || parse_uint (slash + 1, 0, 32, &prefix) < 0)
    goto bad;
  if (prefix < 8 || prefix > 25)
    return hs_error_set (err, 0,
                         "--cidr %s: the prefix must be /8 to /25, so that the network holds "
                         "the container (.100)",
                         s);
  o->prefix = (unsigned)prefix;
  o->net = ntohl (in.s_addr) & ~(0xffffffffu >> prefix);
  return 0;
bad:
  return hs_error_set (err, 0, "--cidr `%s`: expected an IPv4 network such as 10.0.2.0/24", s);
}

/* HOSTIP:HOSTPORT:CONTAINERPORT/PROTO, HOSTIP an IPv4 address or an IPv6
   one in brackets.  */
static int
parse_publish (const char *s, struct hs_publish *p, struct hs_error *err)
{
  const char *rest, *colon, *slash;
  unsigned long hport, cport;
  char num[8];
  size_t len;

  memset (p, 0, sizeof *p);
  p->fd = -1;
  if (*s == '[')
    {
      const char *close = strchr (s, ']');
      if (close == NULL || close[1] != ':')
        goto bad;
      len = (size_t)(close - s - 1);
      rest = close + 2;
      s++;
    }
  else
    {
      colon = strchr (s, ':');
      if (colon == NULL)
        goto bad;
      len = (size_t)(colon - s);
      rest = colon + 1;
    }
  if (len == 0 || len >= sizeof p->host_ip)
    goto bad;
  memcpy (p->host_ip, s, len);
  p->host_ip[len] = '\0';
  colon = strchr (rest, ':');
  slash = colon ? strchr (colon, '/') : NULL;
  if (colon == NULL || slash == NULL || (size_t)(colon - rest) >= sizeof num
      || (size_t)(slash - colon - 1) >= sizeof num)
    goto bad;
  memcpy (num, rest, (size_t)(colon - rest));
  num[colon - rest] = '\0';
  if (parse_uint (num, 0, 65535, &hport) < 0)
    goto bad;
  memcpy (num, colon + 1, (size_t)(slash - colon - 1));
  num[slash - colon - 1] = '\0';
  if (parse_uint (num, 1, 65535, &cport) < 0)
    goto bad;
  if (strcmp (slash + 1, "tcp") == 0)
    p->udp = false;
  else if (strcmp (slash + 1, "udp") == 0)
    p->udp = true;
  else
    goto bad;
  p->host_port = (unsigned)hport;
  p->container_port = (unsigned)cport;
  return 0;
bad:
  return hs_error_set (err, 0, "--publish `%s`: expected HOSTIP:HOSTPORT:CONTAINERPORT/tcp or /udp",
                       s);
}

enum
{
  OPT_USERNS = 256,
  OPT_NETNS,
  OPT_READY,
  OPT_MTU,
  OPT_CIDR,
  OPT_LOOPBACK,
  OPT_IPV6,
  OPT_PUBLISH,
  OPT_RESOLV,
  OPT_CHECK,
  OPT_HELP,
  OPT_VERSION,
};

static const struct option long_options[] = {
  { "userns-fd", required_argument, NULL, OPT_USERNS },
  { "netns-fd", required_argument, NULL, OPT_NETNS },
  { "ready-fd", required_argument, NULL, OPT_READY },
  { "mtu", required_argument, NULL, OPT_MTU },
  { "cidr", required_argument, NULL, OPT_CIDR },
  { "allow-host-loopback", no_argument, NULL, OPT_LOOPBACK },
  { "enable-ipv6", no_argument, NULL, OPT_IPV6 },
  { "publish", required_argument, NULL, OPT_PUBLISH },
  { "resolv-conf", required_argument, NULL, OPT_RESOLV },
  { "check-sandbox", no_argument, NULL, OPT_CHECK },
  { "help", no_argument, NULL, OPT_HELP },
  { "version", no_argument, NULL, OPT_VERSION },
  { NULL, 0, NULL, 0 },
};

/* One more --publish SPEC.  */
static int
add_publish (struct hs_options *o, const char *spec, struct hs_error *err)
{
  struct hs_publish *p = realloc (o->publish, (o->n_publish + 1) * sizeof *p);
  if (p == NULL)
    return hs_error_set (err, ENOMEM, "--publish");
  o->publish = p;
  if (parse_publish (spec, &p[o->n_publish], err) < 0)
    return -1;
  o->n_publish++;
  return 0;
}

/* What the options must say together, once all are read; --check-sandbox
   needs none of it.  */
static int
check_options (const struct hs_options *o, struct hs_error *err)
{
  if (o->userns_fd < 0 || o->netns_fd < 0 || o->ready_fd < 0)
    return hs_error_set (err, 0, "--userns-fd, --netns-fd and --ready-fd are required");
  if (o->enable_ipv6 && o->mtu < 1280)
    return hs_error_set (err, 0, "--mtu %u: IPv6 needs an MTU of 1280 or more", o->mtu);
  return 0;
}

/* Returns 1 to go on, 0 to exit with success (--help, --version), -1 on an
   error (in ERR).  */
static int
parse_options (int argc, char **argv, struct hs_options *o, bool *check, struct hs_error *err)
{
  unsigned long v;
  int c;

  opterr = 0;
  while ((c = getopt_long (argc, argv, "", long_options, NULL)) != -1)
    switch (c)
      {
      case OPT_USERNS:
        if (parse_fd (optarg, &o->userns_fd, err) < 0)
          return hs_error_set (err, 0, "--userns-fd: %s", err->msg);
        break;
      case OPT_NETNS:
        if (parse_fd (optarg, &o->netns_fd, err) < 0)
          return hs_error_set (err, 0, "--netns-fd: %s", err->msg);
        break;
      case OPT_READY:
        if (parse_fd (optarg, &o->ready_fd, err) < 0)
          return hs_error_set (err, 0, "--ready-fd: %s", err->msg);
        break;
      case OPT_MTU:
        if (parse_uint (optarg, 68, 65521, &v) < 0)
          return hs_error_set (err, 0, "--mtu `%s`: expected 68 to 65521", optarg);
        o->mtu = (unsigned)v;
        break;
      case OPT_CIDR:
        if (parse_cidr (optarg, o, err) < 0)
          return -1;
        break;
      case OPT_LOOPBACK:
        o->allow_host_loopback = true;
        break;
      case OPT_IPV6:
        o->enable_ipv6 = true;
        break;
      case OPT_PUBLISH:
        if (add_publish (o, optarg, err) < 0)
          return -1;
        break;
      case OPT_RESOLV:
        o->resolv_conf = optarg;
        break;
      case OPT_CHECK:
        *check = true;
        break;
      case OPT_HELP:
        usage (stdout);
        return 0;
      case OPT_VERSION:
        printf ("hutch-slirp %s (libslirp %s)\n", PACKAGE_VERSION, slirp_version_string ());
        return 0;
      default:
        return hs_error_set (err, 0, "unknown or incomplete option `%s`; see --help",
                             argv[optind - 1]);
      }
  if (optind < argc)
    return hs_error_set (err, 0, "unexpected argument `%s`; see --help", argv[optind]);
  if (*check)
    return 1;
  if (check_options (o, err) < 0)
    return -1;
  return 1;
}

/* ---- libslirp ----------------------------------------------------------- */

struct timer
{
  SlirpTimerId id;
  void *cb_opaque;
  SlirpTimerCb cb; /* the older interface, when timer_new made it */
  int64_t expire;  /* ms, -1 when not armed */
  struct timer *next;
};

struct loop
{
  Slirp *slirp;
  int tapfd;
  bool allow_host_loopback;
  bool tap_gone;
  struct timer *timers;
  struct pollfd *pfd;
  size_t n_pfd, cap_pfd;
};

static ssize_t
send_packet (const void *buf, size_t len, void *opaque)
{
  struct loop *l = opaque;
  ssize_t n;

  do
    n = write (l->tapfd, buf, len);
  while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == ENOBUFS || errno == ENOMEM))
    return (ssize_t)len; /* dropped; TCP will send it again */
  if (n < 0)
    {
      l->tap_gone = true;
      return -1;
    }
  return n;
}

static void
guest_error (const char *msg, void *opaque)
{
  /* The container's misbehaviour is its own business; its text is not
     written to the user's terminal.  */
}

static int64_t
clock_get_ns (void *opaque)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct timer *
timer_add (struct loop *l)
{
  struct timer *t = calloc (1, sizeof *t);

  if (t == NULL)
    abort ();
  t->expire = -1;
  t->next = l->timers;
  l->timers = t;
  return t;
}

#if SLIRP_CONFIG_VERSION_MAX >= 4
static void *
timer_new_opaque (SlirpTimerId id, void *cb_opaque, void *opaque)
{
  struct timer *t = timer_add (opaque);

  t->id = id;
  t->cb_opaque = cb_opaque;
  return t;
}
#endif

static void *
timer_new (SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
  struct timer *t = timer_add (opaque);

  t->cb = cb;
  t->cb_opaque = cb_opaque;
  return t;
}

static void
timer_free (void *timer, void *opaque)
{
  struct loop *l = opaque;
  struct timer **pp;

  for (pp = &l->timers; *pp; pp = &(*pp)->next)
    if (*pp == timer)
      {
        *pp = ((struct timer *)timer)->next;
        free (timer);
        return;
      }
}

static void
timer_mod (void *timer, int64_t expire_ms, void *opaque)
{
  ((struct timer *)timer)->expire = expire_ms;
}

static void
no_poll_fd (int fd, void *opaque)
{
}

static void
notify (void *opaque)
{
  /* Nothing to wake: the loop polls again right after each call into
     libslirp.  */
}

static const SlirpCb callbacks = {
  .send_packet = send_packet,
  .guest_error = guest_error,
  .clock_get_ns = clock_get_ns,
  .timer_new = timer_new,
  .timer_free = timer_free,
  .timer_mod = timer_mod,
  .register_poll_fd = no_poll_fd,
  .unregister_poll_fd = no_poll_fd,
  .notify = notify,
#if SLIRP_CONFIG_VERSION_MAX >= 4
  .timer_new_opaque = timer_new_opaque,
#endif
};

static Slirp *
new_slirp (const struct hs_options *o, struct loop *l)
{
  SlirpConfig cfg;

  memset (&cfg, 0, sizeof cfg);
  /* Version 4 has every field used here (and timer_new_opaque); newer
     headers keep accepting it.  */
  cfg.version = SLIRP_CONFIG_VERSION_MAX < 4 ? SLIRP_CONFIG_VERSION_MAX : 4;
  cfg.restricted = 0;
  cfg.in_enabled = true;
  cfg.vnetwork.s_addr = htonl (o->net);
  cfg.vnetmask.s_addr = htonl (~(0xffffffffu >> o->prefix));
  cfg.vhost.s_addr = htonl (o->net + 2);
  cfg.vdhcp_start.s_addr = htonl (o->net + 15);
  cfg.vnameserver.s_addr = htonl (o->net + 3);
  cfg.in6_enabled = o->enable_ipv6;
  if (o->enable_ipv6)
    {
      inet_pton (AF_INET6, "fd00::", &cfg.vprefix_addr6);
      cfg.vprefix_len = 64;
      inet_pton (AF_INET6, "fd00::2", &cfg.vhost6);
      inet_pton (AF_INET6, "fd00::3", &cfg.vnameserver6);
    }
  cfg.if_mtu = o->mtu;
  cfg.if_mru = o->mtu;
  cfg.disable_host_loopback = !o->allow_host_loopback;
  cfg.enable_emu = false;
  return slirp_new (&cfg, &callbacks, l);
}

static int
add_pollfd (struct loop *l, int fd, short events)
{
  if (l->n_pfd == l->cap_pfd)
    {
      size_t cap = l->cap_pfd ? 2 * l->cap_pfd : 64;
      struct pollfd *p = realloc (l->pfd, cap * sizeof *p);
      if (p == NULL)
        abort ();
      l->pfd = p;
      l->cap_pfd = cap;
    }
  l->pfd[l->n_pfd] = (struct pollfd){ fd, events, 0 };
  return (int)l->n_pfd++;
}

static int
slirp_add_poll (int fd, int events, void *opaque)
{
  short ev = 0;

  if (events & SLIRP_POLL_IN)
    ev |= POLLIN;
  if (events & SLIRP_POLL_OUT)
    ev |= POLLOUT;
  if (events & SLIRP_POLL_PRI)
    ev |= POLLPRI;
  return add_pollfd (opaque, fd, ev);
}

static int
slirp_get_revents (int idx, void *opaque)
{
  struct loop *l = opaque;
  short rev = l->pfd[idx].revents;
  int r = 0;

  if (rev & POLLIN)
    r |= SLIRP_POLL_IN;
  if (rev & POLLOUT)
    r |= SLIRP_POLL_OUT;
  if (rev & POLLPRI)
    r |= SLIRP_POLL_PRI;
  if (rev & (POLLERR | POLLNVAL))
    r |= SLIRP_POLL_ERR;
  if (rev & POLLHUP)
    r |= SLIRP_POLL_HUP;
  return r;
}

/* ---- the loop ------------------------------------------------------------ */

static int
min_timeout (int a, int64_t b)
{
  if (b < 0)
    return a;
  if (b > INT_MAX)
    b = INT_MAX;
  return a < 0 || b < a ? (int)b : a;
}

static void
run_timers (struct loop *l, int64_t now)
{
  bool fired;

  /* A handler may re-arm or free timers: start over after each.  */
  do
    {
      fired = false;
      for (struct timer *t = l->timers; t; t = t->next)
        if (t->expire >= 0 && t->expire <= now)
          {
            t->expire = -1;
            if (t->cb)
              t->cb (t->cb_opaque);
#if SLIRP_CONFIG_VERSION_MAX >= 4
            else
              slirp_handle_timer (l->slirp, t->id, t->cb_opaque);
#endif
            fired = true;
            break;
          }
    }
  while (fired);
}

/* Whether a frame from the container is for the host's loopback (or
   "this host", 0.0.0.0 and ::): libslirp's disable_host_loopback only
   stops the gateway alias 10.0.2.2, and would connect a frame sent to
   127.0.0.1 itself (the container holds CAP_NET_RAW and can write any
   frame) to the host's 127.0.0.1.  Only IPv4 and IPv6 frames reach
   libslirp's sockets; ARP and the rest are harmless.  VLAN-tagged frames
   are dropped: libslirp does not speak 802.1Q.  */
static bool
to_host_loopback (const uint8_t *f, size_t n)
{
  static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
  unsigned type;

  if (n < 14)
    return false;
  type = (unsigned)f[12] << 8 | f[13];
  if (type == 0x8100 || type == 0x88a8)
    return true;
  if (type == 0x0800 && n >= 14 + 20)
    {
      const uint8_t *dst = f + 14 + 16;
      return dst[0] == 127 || dst[0] == 0;
    }
  if (type == 0x86dd && n >= 14 + 40)
    {
      const uint8_t *dst = f + 14 + 24;
      static const uint8_t zero[15] = { 0 };
      if (memcmp (dst, zero, 15) == 0 && (dst[15] == 0 || dst[15] == 1))
        return true; /* :: and ::1 */
      if (memcmp (dst, v4mapped, 12) == 0 && (dst[12] == 127 || dst[12] == 0))
        return true; /* ::ffff:127.x and ::ffff:0.x */
    }
  return false;
}

/* Frames from the container, a batch at a time.  Returns false when the
   device is gone.  */
static bool
read_tap (struct loop *l, uint8_t *buf)
{
  for (int i = 0; i < TAP_BATCH; i++)
    {
      ssize_t n = read (l->tapfd, buf, FRAME_MAX);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return true;
      if (n <= 0)
        return false;
      if (!l->allow_host_loopback && to_host_loopback (buf, (size_t)n))
        continue;
      slirp_input (l->slirp, buf, (int)n);
    }
  return true;
}

enum
{
  P_TAP,
  P_SIGNAL,
  P_CONNECTOR,
  P_FORWARD,
};

static int
run (struct loop *l, int sigfd, struct hs_connector *conn, struct hs_forward *fw)
{
  uint8_t *buf = malloc (FRAME_MAX);

  if (buf == NULL)
    return 1;
  for (;;)
    {
      uint32_t slirp_timeout = UINT32_MAX;
      int64_t now;
      int timeout, r;

      l->n_pfd = 0;
      add_pollfd (l, l->tapfd, POLLIN);
      add_pollfd (l, sigfd, POLLIN);
      add_pollfd (l, conn->sock, POLLIN);
      add_pollfd (l, hs_forward_fd (fw), POLLIN);
      slirp_pollfds_fill (l->slirp, &slirp_timeout, slirp_add_poll, l);
      now = hs_now_ms ();
      timeout = slirp_timeout == UINT32_MAX ? -1 : min_timeout (-1, slirp_timeout);
      for (struct timer *t = l->timers; t; t = t->next)
        if (t->expire >= 0)
          timeout = min_timeout (timeout, t->expire > now ? t->expire - now : 0);
      timeout = min_timeout (timeout, hs_forward_timeout (fw, now));

      r = poll (l->pfd, l->n_pfd, timeout);
      if (r < 0 && errno != EINTR)
        {
          fprintf (stderr, "hutch-slirp: poll: %s\n", strerror (errno));
          return 1;
        }
      slirp_pollfds_poll (l->slirp, r < 0, slirp_get_revents, l);
      if (r < 0)
        continue;
      if ((l->pfd[P_TAP].revents & (POLLERR | POLLHUP | POLLNVAL))
          || ((l->pfd[P_TAP].revents & POLLIN) && !read_tap (l, buf)) || l->tap_gone)
        return 0; /* the container's network is gone */
      run_timers (l, hs_now_ms ());
      if (l->pfd[P_SIGNAL].revents)
        return 0;
      if (l->pfd[P_CONNECTOR].revents)
        {
          /* Only its death makes it readable here: requests are answered
             while we wait.  */
          fprintf (stderr, "hutch-slirp: the port forwarder in the container ended\n");
          return 1;
        }
      hs_forward_run (fw, l->pfd[P_FORWARD].revents != 0);
    }
}

/* ---- main ----------------------------------------------------------------- */

static void
report (int fd, const char *text)
{
  size_t len = strlen (text);

  while (len > 0)
    {
      ssize_t n = write (fd, text, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return;
      text += n;
      len -= (size_t)n;
    }
}

static int
fail (const struct hs_options *o, const struct hs_error *err)
{
  if (o->ready_fd >= 0)
    {
      char line[HS_MSG_MAX + 16];
      snprintf (line, sizeof line, "error: %s\n", err->msg);
      report (o->ready_fd, line);
    }
  else
    fprintf (stderr, "hutch-slirp: %s\n", err->msg);
  return 1;
}

static int
report_ready (const struct hs_options *o)
{
  for (size_t i = 0; i < o->n_publish; i++)
    {
      const struct hs_publish *p = &o->publish[i];
      bool v6 = strchr (p->host_ip, ':') != NULL;
      char line[128];
      snprintf (line, sizeof line, "port %u/%s %s%s%s:%u\n", p->container_port,
                p->udp ? "udp" : "tcp", v6 ? "[" : "", p->host_ip, v6 ? "]" : "", p->host_port);
      report (o->ready_fd, line);
    }
  report (o->ready_fd, "ok\n");
  return close (o->ready_fd);
}

/* Signals: SIGTERM ends us (through a signalfd); ^C and ^\ on hutch's
   terminal are the container's, and SIGPIPE is an EPIPE like any other.  */
static int
setup_signals (void)
{
  sigset_t set;

  signal (SIGPIPE, SIG_IGN);
  signal (SIGINT, SIG_IGN);
  signal (SIGQUIT, SIG_IGN);
  signal (SIGHUP, SIG_IGN);
  sigemptyset (&set);
  sigaddset (&set, SIGTERM);
  if (sigprocmask (SIG_BLOCK, &set, NULL) < 0)
    return -1;
  return signalfd (-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Close every fd above 2 but KEEP (sorted, -1 for none).  */
static void
close_others (int keep[3])
{
  unsigned from = 3;

  for (int i = 0; i < 3; i++)
    {
      if (keep[i] < (int)from)
        continue;
      if ((unsigned)keep[i] > from)
        syscall (SYS_close_range, from, (unsigned)keep[i] - 1, 0u);
      from = (unsigned)keep[i] + 1;
    }
  syscall (SYS_close_range, from, ~0u, 0u);
}

static int
cmp_int (const void *a, const void *b)
{
  return *(const int *)a - *(const int *)b;
}

/* Nothing but the fds we were given goes into the sandbox, whatever else
   hutch let us inherit; stdin and stdout go to /dev/null (unless they are
   the fds we were given), so that no pipe of hutch's stays open because of
   us.  */
static void
setup_fds (const struct hs_options *o)
{
  int keep[3] = { o->userns_fd, o->netns_fd, o->ready_fd };
  int null;
  struct rlimit rl;

  qsort (keep, 3, sizeof keep[0], cmp_int);
  close_others (keep);
  null = open ("/dev/null", O_RDWR | O_CLOEXEC);

  for (int fd = 0; fd <= 1 && null >= 0; fd++)
    if (fd != o->ready_fd && fd != o->userns_fd && fd != o->netns_fd)
      dup2 (null, fd);
  if (null > 2)
    close (null);
  fcntl (o->ready_fd, F_SETFD, FD_CLOEXEC);
  fcntl (o->userns_fd, F_SETFD, FD_CLOEXEC);
  fcntl (o->netns_fd, F_SETFD, FD_CLOEXEC);
  /* Six fds per forwarded connection, one per libslirp socket: room for
     them, but a bound, so that a container opening sockets without end
     cannot hold the user's whole hard limit.  */
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0)
    {
      rlim_t want = rl.rlim_max < 16384 ? rl.rlim_max : 16384;
      if (rl.rlim_cur < want)
        {
          rl.rlim_cur = want;
          setrlimit (RLIMIT_NOFILE, &rl);
        }
    }
}

int
main (int argc, char **argv)
{
  struct hs_options o = { .userns_fd = -1,
                          .netns_fd = -1,
                          .ready_fd = -1,
                          .mtu = DEFAULT_MTU,
                          .net = 0x0a000200,
                          .prefix = 24,
                          .resolv_conf = "/etc/resolv.conf" };
  struct hs_error err = { 0 };
  struct hs_connector conn = { -1, -1, 0 };
  struct loop l = { 0 };
  struct hs_forward *fw;
  pid_t parent = getppid ();
  bool check = false;
  int r, sigfd, tapfd;

  /* hutch arms this before the exec too, and checks there that it is
     still our parent.  */
  if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
    return 1;
  r = parse_options (argc, argv, &o, &check, &err);
  if (r <= 0)
    return r < 0 ? fail (&o, &err) : 0;
  if (check)
    return hs_check_sandbox (&o);

  setup_fds (&o);
  sigfd = setup_signals ();
  if (sigfd < 0)
    {
      hs_error_set (&err, errno, "signalfd");
      return fail (&o, &err);
    }
  for (size_t i = 0; i < o.n_publish; i++)
    if (hs_publish_bind (&o.publish[i], &err) < 0)
      return fail (&o, &err);
  if (hs_connector_start (&o, &conn, &tapfd, &err) < 0)
    return fail (&o, &err);
  close (o.userns_fd);
  close (o.netns_fd);

  l.tapfd = tapfd;
  l.allow_host_loopback = o.allow_host_loopback;
  /* Before the sandbox: glib seeds libslirp's random numbers from
     /dev/urandom, which the sandbox does not show.  No frame has been read
     yet.  */
  l.slirp = new_slirp (&o, &l);
  if (l.slirp == NULL)
    {
      hs_error_set (&err, 0, "libslirp refused the configuration");
      return fail (&o, &err);
    }
  fw = hs_forward_new (&conn, o.publish, o.n_publish, &err);
  if (fw == NULL)
    return fail (&o, &err);
  if (hs_sandbox_enter (&o, &err) < 0)
    return fail (&o, &err);
  /* The sandbox re-armed the parent-death signal after it changed our
     credentials; hutch may have died before that.  */
  if (getppid () != parent)
    return 1;
  if (report_ready (&o) < 0)
    return 1;
  r = run (&l, sigfd, &conn, fw);
  /* Our tap fd goes first, while the connector still holds its own: its
     close, the last, removes the device, which takes the kernel an RCU
     barrier.  The connector then ends when its socket does (or by its
     parent-death signal); we do not wait for it, so that hutch, which
     waits for us, does not wait for the kernel.  Orphaned, it is reaped by
     init or the nearest subreaper.  */
  close (l.tapfd);
  close (conn.sock);
  return r;
}
