/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "runtime/network.h"
#include "base/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MTU 65520
#define DEFAULT_CIDR "10.0.2.0/24"
/* How long the helper may take to configure the tap and bind the ports.  */
#define READY_TIMEOUT_MS 30000

void
hutch_publish_clear (struct hutch_publish *p)
{
  free (p->host_ip);
  memset (p, 0, sizeof *p);
}

void
hutch_slirp_free (struct hutch_slirp *s)
{
  size_t i;

  if (s == NULL)
    return;
  free (s->cidr);
  for (i = 0; i < s->n_publish; i++)
    hutch_publish_clear (&s->publish[i]);
  free (s->publish);
  free (s->helper_path);
  free (s);
}

static int
parse_bool (const char *key, const char *v, bool *ret, hutch_error_t *err)
{
  if (strcmp (v, "true") == 0)
    *ret = true;
  else if (strcmp (v, "false") == 0)
    *ret = false;
  else
    return hutch_error_set (err, 0, "--network slirp: %s=`%s`: expected true or false", key, v);
  return 0;
}

/* A.B.C.D/N with room for .2, .3 and .100 in the subnet.  */
static int
parse_cidr (const char *v, uint32_t *ret_net, unsigned *ret_prefix, hutch_error_t *err)
{
  _cleanup_free_ char *addr = NULL;
  const char *slash = strchr (v, '/');
  struct in_addr in;
  unsigned prefix;
  char *end;

  if (slash == NULL)
    goto bad;
  addr = hutch_xstrndup (v, (size_t)(slash - v));
  prefix = (unsigned)strtoul (slash + 1, &end, 10);
  if (*end || end == slash + 1 || inet_pton (AF_INET, addr, &in) != 1)
    goto bad;
  if (prefix < 8 || prefix > 25)
    return hutch_error_set (err, 0,
                            "--network slirp: cidr=%s: the prefix must be /8 to /25, so that "
                            "the network holds the container (.100), the host (.2) and DNS (.3)",
                            v);
  *ret_net = ntohl (in.s_addr) & ~(prefix == 32 ? 0u : (0xffffffffu >> prefix));
  *ret_prefix = prefix;
  return 0;
bad:
  return hutch_error_set (err, 0,
                          "--network slirp: cidr=`%s`: expected an IPv4 network such as "
                          "10.0.2.0/24",
                          v);
}

int
hutch_slirp_parse (const char *value, struct hutch_slirp **ret, hutch_error_t *err)
{
  struct hutch_slirp *s;
  _cleanup_free_ char *opts = NULL;
  char *tok, *save = NULL;

  if (strcmp (value, "slirp") != 0 && !hutch_str_has_prefix (value, "slirp:"))
    return hutch_error_set (err, 0, "--network `%s`: expected slirp, none or host", value);
  s = hutch_xmalloc0 (sizeof *s);
  s->mtu = DEFAULT_MTU;
  s->cidr = hutch_xstrdup (DEFAULT_CIDR);
  opts = hutch_xstrdup (value[5] == ':' ? value + 6 : "");
  for (tok = strtok_r (opts, ",", &save); tok; tok = strtok_r (NULL, ",", &save))
    {
      char *eq = strchr (tok, '=');
      const char *v;

      if (eq == NULL)
        {
          hutch_error_set (err, 0, "--network slirp: `%s`: expected KEY=VALUE", tok);
          goto fail;
        }
      *eq = '\0';
      v = eq + 1;
      if (strcmp (tok, "mtu") == 0)
        {
          char *end;
          unsigned long m = strtoul (v, &end, 10);
          if (*v == '\0' || *end || m < 1280 || m > 65521)
            {
              hutch_error_set (err, 0, "--network slirp: mtu=`%s`: expected 1280 to 65521", v);
              goto fail;
            }
          s->mtu = (unsigned)m;
        }
      else if (strcmp (tok, "cidr") == 0)
        {
          uint32_t net;
          unsigned prefix;
          if (parse_cidr (v, &net, &prefix, err) < 0)
            goto fail;
          free (s->cidr);
          s->cidr = hutch_xstrdup (v);
        }
      else if (strcmp (tok, "allow_host_loopback") == 0)
        {
          if (parse_bool (tok, v, &s->allow_host_loopback, err) < 0)
            goto fail;
        }
      else if (strcmp (tok, "enable_ipv6") == 0)
        {
          if (parse_bool (tok, v, &s->enable_ipv6, err) < 0)
            goto fail;
        }
      else
        {
          hutch_error_set (err, 0,
                           "--network slirp: unknown option `%s`; the options are mtu, cidr, "
                           "allow_host_loopback and enable_ipv6",
                           tok);
          goto fail;
        }
    }
  *ret = s;
  return 0;
fail:
  hutch_slirp_free (s);
  return -1;
}

static int
parse_port (const char *what, const char *v, bool zero_ok, unsigned *ret, const char *spec,
            hutch_error_t *err)
{
  char *end;
  unsigned long n;

  if (*v == '\0' && zero_ok)
    {
      *ret = 0;
      return 0;
    }
  n = strtoul (v, &end, 10);
  if (*v < '0' || *v > '9' || *end || n > 65535 || (n == 0 && !zero_ok))
    {
      if (strchr (v, '-'))
        return hutch_error_set (err, 0,
                                "-p `%s`: port ranges are not supported; publish each port "
                                "with a -p of its own",
                                spec);
      return hutch_error_set (err, 0, "-p `%s`: the %s `%s` is not a port number (1-65535)", spec,
                              what, v);
    }
  *ret = (unsigned)n;
  return 0;
}

int
hutch_publish_parse (const char *value, struct hutch_publish *ret, hutch_error_t *err)
{
  _cleanup_free_ char *copy = hutch_xstrdup (value);
  struct hutch_publish p = { 0 };
  char *proto = strrchr (copy, '/'), *cport, *rest;

  if (proto)
    {
      *proto++ = '\0';
      if (strcmp (proto, "udp") == 0)
        p.udp = true;
      else if (strcmp (proto, "tcp") != 0)
        return hutch_error_set (err, 0, "-p `%s`: the protocol must be tcp or udp", value);
    }
  /* [HOSTIP:][HOSTPORT:]CONTAINERPORT; an IPv6 HOSTIP in brackets.  */
  cport = strrchr (copy, ':');
  if (cport == NULL)
    {
      if (parse_port ("container port", copy, false, &p.container_port, value, err) < 0)
        return -1;
      p.host_ip = hutch_xstrdup ("0.0.0.0");
      *ret = p;
      return 0;
    }
  *cport++ = '\0';
  if (parse_port ("container port", cport, false, &p.container_port, value, err) < 0)
    return -1;
  rest = strrchr (copy, ':');
  if (rest && (copy[0] != '[' || rest > strchr (copy, ']')))
    {
      char *ip = copy;
      struct in_addr a4;
      struct in6_addr a6;

      *rest++ = '\0';
      if (parse_port ("host port", rest, true, &p.host_port, value, err) < 0)
        return -1;
      if (ip[0] == '[')
        {
          size_t n = strlen (ip);
          if (n < 3 || ip[n - 1] != ']')
            return hutch_error_set (err, 0, "-p `%s`: bad host address `%s`", value, ip);
          ip[n - 1] = '\0';
          ip++;
        }
      if (*ip == '\0')
        ip = (char *)"0.0.0.0";
      if (inet_pton (AF_INET, ip, &a4) != 1 && inet_pton (AF_INET6, ip, &a6) != 1)
        return hutch_error_set (err, 0, "-p `%s`: `%s` is not an IP address of this host", value,
                                ip);
      p.host_ip = hutch_xstrdup (ip);
    }
  else
    {
      /* HOSTPORT:PORT; an empty or 0 HOSTPORT is a free one.  */
      if (copy[0] == '[')
        return hutch_error_set (err, 0,
                                "-p `%s`: an IPv6 host address needs a host port after it, as "
                                "in [::1]:8080:80 or [::1]::80",
                                value);
      if (parse_port ("host port", copy, true, &p.host_port, value, err) < 0)
        return -1;
      p.host_ip = hutch_xstrdup ("0.0.0.0");
    }
  *ret = p;
  return 0;
}

static bool
is_ip (const char *s)
{
  struct in_addr a4;
  struct in6_addr a6;
  return inet_pton (AF_INET, s, &a4) == 1 || inet_pton (AF_INET6, s, &a6) == 1;
}

int
hutch_add_host_parse (const char *value, char **ret_line, hutch_error_t *err)
{
  const char *sep = strpbrk (value, ":=");
  _cleanup_free_ char *name = NULL;
  const char *ip, *p;

  if (sep == NULL || sep == value || sep[1] == '\0')
    return hutch_error_set (err, 0, "--add-host `%s`: expected NAME:IP, such as db:10.0.2.2",
                            value);
  name = hutch_xstrndup (value, (size_t)(sep - value));
  ip = sep + 1;
  for (p = name; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
          || *p == '-' || *p == '.' || *p == '_'))
      return hutch_error_set (err, 0, "--add-host `%s`: `%s` is not a host name", value, name);
  if (ip[0] == '[' && ip[strlen (ip) - 1] == ']')
    {
      _cleanup_free_ char *inner = hutch_xstrndup (ip + 1, strlen (ip) - 2);
      if (!is_ip (inner))
        return hutch_error_set (err, 0, "--add-host `%s`: `%s` is not an IP address", value, ip);
      *ret_line = hutch_xasprintf ("%s\t%s", inner, name);
      return 0;
    }
  if (!is_ip (ip))
    return hutch_error_set (err, 0, "--add-host `%s`: `%s` is not an IP address", value, ip);
  *ret_line = hutch_xasprintf ("%s\t%s", ip, name);
  return 0;
}

int
hutch_dns_check (const char *value, hutch_error_t *err)
{
  if (!is_ip (value))
    return hutch_error_set (err, 0, "--dns `%s`: expected the IP address of a name server", value);
  return 0;
}

int
hutch_slirp_addresses (const struct hutch_slirp *s, char ret_guest[16], char ret_host[16],
                       char ret_dns[16], hutch_error_t *err)
{
  uint32_t net;
  unsigned prefix;
  struct in_addr a;

  if (parse_cidr (s->cidr, &net, &prefix, err) < 0)
    return -1;
  a.s_addr = htonl (net + 100);
  inet_ntop (AF_INET, &a, ret_guest, 16);
  a.s_addr = htonl (net + 2);
  inet_ntop (AF_INET, &a, ret_host, 16);
  a.s_addr = htonl (net + 3);
  inet_ntop (AF_INET, &a, ret_dns, 16);
  return 0;
}

/* ---- the helper ---------------------------------------------------------- */

struct hutch_slirp_proc
{
  pid_t pid;
  int pidfd;    /* signals go through it: the pid may be reaped by a waitpid(-1)
                   elsewhere and reused */
  int ready_fd; /* what it reports until "ok", -1 once read */
};

static int
read_ready (int fd, pid_t pid, char ***ret_lines, hutch_error_t *err)
{
  _cleanup_free_ char *buf = NULL;
  size_t len = 0;
  struct timespec start;
  char *line, *save = NULL;

  clock_gettime (CLOCK_MONOTONIC, &start);
  for (;;)
    {
      struct pollfd pfd = { fd, POLLIN, 0 };
      struct timespec now;
      long waited;
      char chunk[1024];
      ssize_t n;
      int r;

      clock_gettime (CLOCK_MONOTONIC, &now);
      waited = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
      if (waited >= READY_TIMEOUT_MS)
        return hutch_error_set (err, ETIMEDOUT,
                                "hutch-slirp (pid %d) did not set up the network in %d s", (int)pid,
                                READY_TIMEOUT_MS / 1000);
      r = poll (&pfd, 1, (int)(READY_TIMEOUT_MS - waited));
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return hutch_error_set (err, errno, "wait for hutch-slirp");
      if (r == 0)
        continue;
      n = read (fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return hutch_error_set (err, errno, "read from hutch-slirp");
      if (n == 0)
        break;
      if (len + (size_t)n > 64 * 1024)
        return hutch_error_set (err, 0, "hutch-slirp says too much");
      buf = hutch_xrealloc (buf, len + (size_t)n + 1);
      memcpy (buf + len, chunk, (size_t)n);
      len += (size_t)n;
      buf[len] = '\0';
    }
  if (buf == NULL)
    return hutch_error_set (err, 0, "hutch-slirp ended before it set up the network");
  for (line = strtok_r (buf, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      if (strcmp (line, "ok") == 0)
        return 0;
      if (hutch_str_has_prefix (line, "error: "))
        return hutch_error_set (err, 0, "%s", line + strlen ("error: "));
      if (hutch_str_has_prefix (line, "port "))
        {
          /* "port 80/tcp 0.0.0.0:34567" -> "80/tcp -> 0.0.0.0:34567" */
          char *sp = strchr (line + 5, ' ');
          if (sp)
            {
              *sp = '\0';
              hutch_strv_push (ret_lines, hutch_xasprintf ("%s -> %s", line + 5, sp + 1));
            }
        }
    }
  return hutch_error_set (err, 0, "hutch-slirp ended before it set up the network");
}

/* The helper's command line: the namespaces and the ready pipe come as
   fds 3, 4 and 5 (see slirp_exec_child).  */
static char **
slirp_argv (const struct hutch_slirp *s)
{
  char **argv = NULL;
  size_t i;

  hutch_strv_push (&argv, hutch_xstrdup (s->helper_path));
  hutch_strv_push (&argv, hutch_xstrdup ("--userns-fd=3"));
  hutch_strv_push (&argv, hutch_xstrdup ("--netns-fd=4"));
  hutch_strv_push (&argv, hutch_xstrdup ("--ready-fd=5"));
  hutch_strv_push (&argv, hutch_xasprintf ("--mtu=%u", s->mtu));
  hutch_strv_push (&argv, hutch_xasprintf ("--cidr=%s", s->cidr));
  if (s->allow_host_loopback)
    hutch_strv_push (&argv, hutch_xstrdup ("--allow-host-loopback"));
  if (s->enable_ipv6)
    hutch_strv_push (&argv, hutch_xstrdup ("--enable-ipv6"));
  for (i = 0; i < s->n_publish; i++)
    {
      const struct hutch_publish *p = &s->publish[i];
      bool v6 = strchr (p->host_ip, ':') != NULL;
      hutch_strv_push (&argv, hutch_xasprintf ("--publish=%s%s%s:%u:%u/%s", v6 ? "[" : "",
                                               p->host_ip, v6 ? "]" : "", p->host_port,
                                               p->container_port, p->udp ? "udp" : "tcp"));
    }
  return argv;
}

/* In the forked child: put the fds in place and exec the helper.  */
static void __attribute__ ((noreturn))
slirp_exec_child (int userfd, int netfd, int ready_w, pid_t parent, char **argv)
{
  /* Only async-signal-safe calls here.  The helper dies with hutch:
     armed before the exec, and checked against a parent that died
     first.  */
  int u = fcntl (userfd, F_DUPFD, 10), n = fcntl (netfd, F_DUPFD, 10),
      r = fcntl (ready_w, F_DUPFD, 10);
  if (u < 0 || n < 0 || r < 0 || dup2 (u, 3) < 0 || dup2 (n, 4) < 0 || dup2 (r, 5) < 0)
    _exit (127);
  syscall (SYS_close_range, 6u, ~0u, 0);
  if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid () != parent)
    _exit (127);
  /* Out of hutch's process group: a SIGTERM to the group (timeout,
     systemd, kill -TERM -PGID) is for the container, which hutch
     forwards it to; the network must stay until the container ends.  */
  setsid ();
  execv (argv[0], argv);
  _exit (127);
}

/* A helper that failed to set up the network: kill it, through its pidfd
   when there is one, and reap it.  */
static void
slirp_kill (pid_t child, int pidfd)
{
  int st;

  if (pidfd >= 0)
    {
      syscall (SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
      close (pidfd);
    }
  else
    kill (child, SIGKILL);
  while (waitpid (child, &st, 0) < 0 && errno == EINTR)
    ;
}

int
hutch_slirp_spawn (const struct hutch_slirp *s, pid_t pid, struct hutch_slirp_proc **ret,
                   hutch_error_t *err)
{
  _cleanup_free_ char *upath = hutch_xasprintf ("/proc/%d/ns/user", (int)pid);
  _cleanup_free_ char *npath = hutch_xasprintf ("/proc/%d/ns/net", (int)pid);
  _cleanup_close_ int userfd = -1, netfd = -1;
  _cleanup_strv_ char **argv = NULL;
  int ready[2] = { -1, -1 };
  pid_t parent = getpid (), child;

  if (access (s->helper_path, X_OK) < 0)
    return hutch_error_set (err, errno,
                            "the network helper `%s` cannot be run; reinstall hutch, or use "
                            "--network none",
                            s->helper_path);
  /* Opened here, as the user, in the host's view: the helper joins them.  */
  userfd = open (upath, O_RDONLY | O_CLOEXEC);
  if (userfd < 0)
    return hutch_error_set (err, errno, "open the user namespace of the container (%s)", upath);
  netfd = open (npath, O_RDONLY | O_CLOEXEC);
  if (netfd < 0)
    return hutch_error_set (err, errno, "open the network namespace of the container (%s)", npath);
  if (pipe2 (ready, O_CLOEXEC) < 0)
    return hutch_error_set (err, errno, "pipe");

  argv = slirp_argv (s);

  child = fork ();
  if (child < 0)
    {
      close (ready[0]);
      close (ready[1]);
      return hutch_error_set (err, errno, "fork");
    }
  if (child == 0)
    slirp_exec_child (userfd, netfd, ready[1], parent, argv);
  close (ready[1]);
  *ret = hutch_xmalloc0 (sizeof **ret);
  (*ret)->pid = child;
  (*ret)->pidfd = (int)syscall (SYS_pidfd_open, child, 0);
  (*ret)->ready_fd = ready[0];
  return 0;
}

int
hutch_slirp_ready_fd (const struct hutch_slirp_proc *p)
{
  return p ? p->ready_fd : -1;
}

int
hutch_slirp_wait_ready (struct hutch_slirp_proc *p, char ***ret_lines, hutch_error_t *err)
{
  _cleanup_strv_ char **lines = NULL;
  int r = read_ready (p->ready_fd, p->pid, &lines, err);

  hutch_closep (&p->ready_fd);
  if (r < 0)
    {
      /* Nothing of a helper that failed stays: hutch_slirp_stop has
         nothing left to do.  */
      slirp_kill (p->pid, p->pidfd);
      p->pid = -1;
      p->pidfd = -1;
      return -1;
    }
  *ret_lines = HUTCH_STEAL_PTR (lines);
  return 0;
}

int
hutch_slirp_pidfd (const struct hutch_slirp_proc *p)
{
  return p ? p->pidfd : -1;
}

void
hutch_slirp_stop (struct hutch_slirp_proc *p)
{
  if (p == NULL)
    return;
  hutch_closep (&p->ready_fd);
  if (p->pidfd >= 0)
    {
      struct pollfd pfd = { p->pidfd, POLLIN, 0 };
      siginfo_t si;
      /* SIGTERM: it closes the published ports and ends at once (the tap
         device's removal, which takes the kernel milliseconds, is left to
         its connector, which nobody waits for); SIGKILL after a second
         whatever happens.  */
      syscall (SYS_pidfd_send_signal, p->pidfd, SIGTERM, NULL, 0);
      while (poll (&pfd, 1, 1000) < 0 && errno == EINTR)
        ;
      if (!(pfd.revents & POLLIN))
        syscall (SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
      /* Reap it unless someone's waitpid (-1) did already.  */
      while (waitid (P_PIDFD, (id_t)p->pidfd, &si, WEXITED) < 0 && errno == EINTR)
        ;
      close (p->pidfd);
    }
  else if (p->pid > 0)
    {
      kill (p->pid, SIGKILL);
      while (waitpid (p->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    }
  free (p);
}
