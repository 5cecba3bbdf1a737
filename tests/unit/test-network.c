/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "runtime/network.h"
#include "tap.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

static void
publish_good (const char *in, const char *ip, unsigned hp, unsigned cp, bool udp)
{
  struct hutch_publish p;
  hutch_error_t err = HUTCH_ERROR_INIT;

  ok (hutch_publish_parse (in, &p, &err) == 0, "-p %s parses (%s)", in, err.msg ? err.msg : "");
  if (err.msg)
    {
      hutch_error_clear (&err);
      return;
    }
  ok (strcmp (p.host_ip, ip) == 0 && p.host_port == hp && p.container_port == cp && p.udp == udp,
      "-p %s: %s:%u -> %u/%s", in, p.host_ip, p.host_port, p.container_port, p.udp ? "udp" : "tcp");
  hutch_publish_clear (&p);
}

static void
publish_bad (const char *in, const char *why)
{
  struct hutch_publish p;
  hutch_error_t err = HUTCH_ERROR_INIT;

  ok (hutch_publish_parse (in, &p, &err) < 0, "-p `%s` is refused", in);
  has_str (err.msg, why, "  and the message says `%s` (%s)", why, err.msg ? err.msg : "");
  hutch_error_clear (&err);
}

static void
slirp_bad (const char *in, const char *why)
{
  struct hutch_slirp *s = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;

  ok (hutch_slirp_parse (in, &s, &err) < 0, "--network %s is refused", in);
  has_str (err.msg, why, "  and the message says `%s` (%s)", why, err.msg ? err.msg : "");
  hutch_error_clear (&err);
  hutch_slirp_free (s);
}

int
main (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_slirp *s = NULL;
  char guest[16], host[16], dns[16];
  char *line = NULL;

  publish_good ("8080:80", "0.0.0.0", 8080, 80, false);
  publish_good ("80", "0.0.0.0", 0, 80, false);
  publish_good ("53/udp", "0.0.0.0", 0, 53, true);
  publish_good ("127.0.0.1:8080:80/tcp", "127.0.0.1", 8080, 80, false);
  publish_good ("127.0.0.1::80", "127.0.0.1", 0, 80, false);
  publish_good ("[::1]:8080:80", "::1", 8080, 80, false);
  publish_good ("5353:53/udp", "0.0.0.0", 5353, 53, true);
  publish_good (":80", "0.0.0.0", 0, 80, false);
  publish_good ("0:80", "0.0.0.0", 0, 80, false);
  publish_bad ("[::1]:80", "IPv6 host address");
  publish_bad ("8080:0", "not a port");
  publish_bad ("70000:80", "not a port");
  publish_bad ("8080:80/sctp", "tcp or udp");
  publish_bad ("8000-8010:8000-8010", "ranges");
  publish_bad ("example.com:8080:80", "not an IP address");
  publish_bad ("", "not a port");

  ok (hutch_slirp_parse ("slirp", &s, &err) == 0, "--network slirp");
  ok (s && s->mtu == 65520 && strcmp (s->cidr, "10.0.2.0/24") == 0 && !s->allow_host_loopback
          && !s->enable_ipv6,
      "defaults: mtu 65520, 10.0.2.0/24, no host loopback, no IPv6");
  ok (hutch_slirp_addresses (s, guest, host, dns, &err) == 0, "addresses");
  is_str (guest, "10.0.2.100", "container at .100");
  is_str (host, "10.0.2.2", "host at .2");
  is_str (dns, "10.0.2.3", "DNS at .3");
  hutch_slirp_free (s);
  s = NULL;
  ok (hutch_slirp_parse ("slirp:mtu=1500,cidr=192.168.77.0/24,allow_host_loopback=true,"
                         "enable_ipv6=true",
                         &s, &err)
          == 0,
      "--network slirp with every option");
  ok (s && s->mtu == 1500 && s->allow_host_loopback && s->enable_ipv6, "options taken");
  ok (hutch_slirp_addresses (s, guest, host, dns, &err) == 0, "addresses");
  is_str (guest, "192.168.77.100", "container at .100 of the cidr");
  hutch_slirp_free (s);
  s = NULL;
  slirp_bad ("slirp:mtu=100", "1280 to 65521");
  slirp_bad ("slirp:mtu=abc", "1280 to 65521");
  slirp_bad ("slirp:cidr=10.0.2.0", "IPv4 network");
  slirp_bad ("slirp:cidr=10.0.2.0/30", "/8 to /25");
  slirp_bad ("slirp:allow_host_loopback=yes", "true or false");
  slirp_bad ("slirp:speed=fast", "unknown option");
  slirp_bad ("slirp:mtu", "KEY=VALUE");
  slirp_bad ("bridge", "slirp, none or host");

  ok (hutch_add_host_parse ("db:10.0.2.2", &line, &err) == 0, "--add-host db:10.0.2.2");
  is_str (line, "10.0.2.2\tdb", "as a hosts line");
  free (line);
  ok (hutch_add_host_parse ("v6=[fd00::2]", &line, &err) == 0, "--add-host with = and IPv6");
  is_str (line, "fd00::2\tv6", "as a hosts line");
  free (line);
  ok (hutch_add_host_parse ("db", &line, &err) < 0, "--add-host without IP is refused");
  hutch_error_clear (&err);
  ok (hutch_add_host_parse ("db:not-an-ip", &line, &err) < 0, "--add-host with a name as IP");
  has_str (err.msg, "not an IP", "message");
  hutch_error_clear (&err);
  ok (hutch_add_host_parse ("a b:1.2.3.4", &line, &err) < 0, "--add-host with a blank in NAME");
  hutch_error_clear (&err);
  ok (hutch_add_host_parse ("evil\n6.6.6.6 github.com:[::1]", &line, &err) < 0,
      "--add-host: a newline in NAME is refused, also with a bracketed IPv6 address");
  hutch_error_clear (&err);
  ok (hutch_dns_check ("1.1.1.1", &err) == 0, "--dns 1.1.1.1");
  ok (hutch_dns_check ("dns.example", &err) < 0, "--dns with a name is refused");
  hutch_error_clear (&err);
  return tap_done ();
}
