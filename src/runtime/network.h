/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_NETWORK_H
#define HUTCH_NETWORK_H

/* A container's own network: a network namespace whose only way out is
   hutch-slirp (helpers/hutch-slirp.c), a user-mode TCP/IP stack (libslirp)
   on a tap device inside, plus port forwarding from the host.  This module
   parses the options (--network slirp:..., -p, --dns, --add-host), writes
   what /etc/hosts and /etc/resolv.conf say inside, and starts and stops the
   helper.  */

#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct hutch_publish
{
  char *host_ip;           /* "0.0.0.0" unless given */
  unsigned host_port;      /* 0: a free one, chosen by the helper */
  unsigned container_port; /* 1..65535 */
  bool udp;
};

struct hutch_slirp
{
  unsigned mtu; /* 65520 by default */
  char *cidr;   /* "10.0.2.0/24" */
  bool allow_host_loopback;
  bool enable_ipv6;
  struct hutch_publish *publish;
  size_t n_publish;
  char *helper_path; /* hutch-slirp on the host */
};

void hutch_slirp_free (struct hutch_slirp *s);

/* "slirp" or "slirp:mtu=N,cidr=A.B.C.D/N,allow_host_loopback=true,
   enable_ipv6=true" into a new struct (the other fields empty).  */
int hutch_slirp_parse (const char *value, struct hutch_slirp **ret, hutch_error_t *err);

/* -p [HOSTIP:][HOSTPORT:]CONTAINERPORT[/tcp|/udp].  */
int hutch_publish_parse (const char *value, struct hutch_publish *ret, hutch_error_t *err);
void hutch_publish_clear (struct hutch_publish *p);

/* --add-host NAME:IP (or NAME=IP) into "IP\tNAME".  */
int hutch_add_host_parse (const char *value, char **ret_line, hutch_error_t *err);
/* --dns IP: an IPv4 or IPv6 address.  */
int hutch_dns_check (const char *value, hutch_error_t *err);

/* The addresses of the slirp network: the container's (.100), the
   gateway that is the host (.2), the DNS forwarder (.3).  */
int hutch_slirp_addresses (const struct hutch_slirp *s, char ret_guest[16], char ret_host[16],
                           char ret_dns[16], hutch_error_t *err);

/* The running helper.  */
struct hutch_slirp_proc;

/* Start hutch-slirp for the container whose process is PID (its user and
   network namespaces), without waiting: it creates and configures its tap
   device and binds the published ports while the container's root is
   built.  */
int hutch_slirp_spawn (const struct hutch_slirp *s, pid_t pid, struct hutch_slirp_proc **ret,
                       hutch_error_t *err);
/* The fd that becomes readable when the helper has reported (ready or
   failed): -1 once hutch_slirp_wait_ready read it, or for NULL.  */
int hutch_slirp_ready_fd (const struct hutch_slirp_proc *p);
/* Wait until the network is set up (once).  RET_LINES gets one
   "PORT/PROTO -> HOSTIP:HOSTPORT" line per published port, for the user.
   A helper that failed is killed and reaped.  */
int hutch_slirp_wait_ready (struct hutch_slirp_proc *p, char ***ret_lines, hutch_error_t *err);
/* Its pidfd (-1 for NULL or none), for a monitor that stops it later.  */
int hutch_slirp_pidfd (const struct hutch_slirp_proc *p);
/* Stop it (SIGTERM, then SIGKILL) and reap it.  NULL is fine.  */
void hutch_slirp_stop (struct hutch_slirp_proc *p);

#endif
