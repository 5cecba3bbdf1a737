/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_SLIRP_HELPER_H
#define HUTCH_SLIRP_HELPER_H

/* What the parts of hutch-slirp share; main.c says what the helper does
   and what it trusts.  */

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define HS_MSG_MAX 512
#define HS_TAP_NAME "tap0"

/* An error for the user: what failed and how to fix it, errno's text
   appended.  */
struct hs_error
{
  int errnum;
  char msg[HS_MSG_MAX];
};

/* Fill ERR; returns -1.  */
int hs_error_set (struct hs_error *err, int errnum, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

struct hs_publish
{
  char host_ip[INET6_ADDRSTRLEN]; /* as given, without brackets */
  unsigned host_port;             /* 0 until bound when a free one was asked */
  unsigned container_port;
  bool udp;
  int fd; /* the bound host socket, -1 before */
};

struct hs_options
{
  int userns_fd, netns_fd, ready_fd;
  unsigned mtu;
  uint32_t net; /* host byte order, host bits clear */
  unsigned prefix;
  bool allow_host_loopback;
  bool enable_ipv6;
  struct hs_publish *publish;
  size_t n_publish;
  const char *resolv_conf; /* what the sandbox shows as /etc/resolv.conf */
};

/* Milliseconds on CLOCK_MONOTONIC.  */
int64_t hs_now_ms (void);

/* ---- netns.c: the connector, a child inside the container's network ---- */

struct hs_connector
{
  pid_t pid;
  int sock;     /* SOCK_SEQPACKET to it */
  uint32_t seq; /* of the last request */
};

/* Fork the connector: it joins the container's namespaces, creates and
   configures the tap device, and sends it back in *RET_TAPFD.  */
int hs_connector_start (const struct hs_options *o, struct hs_connector *ret, int *ret_tapfd,
                        struct hs_error *err);
/* A socket inside the container, connected (TCP: connecting, nonblocking)
   to 127.0.0.1:PORT.  Returns 0 or -errno.  */
int hs_connector_open (struct hs_connector *c, bool udp, unsigned port, int *ret_fd);

/* ---- sandbox.c -------------------------------------------------------- */

/* The main process's sandbox: own user and mount namespaces, a read-only
   tmpfs root with only resolv.conf and hosts, no capabilities,
   no_new_privs, seccomp.  */
int hs_sandbox_enter (const struct hs_options *o, struct hs_error *err);
/* The connector's: no capabilities, not dumpable, no_new_privs, and a
   seccomp filter that allows only what connecting needs.  */
int hs_sandbox_connector (struct hs_error *err);
/* Enter the sandbox in a child and check that it holds; TAP output.  */
int hs_check_sandbox (const struct hs_options *o);
/* Drop every capability from every set, the bounding set included.  */
int hs_drop_capabilities (void);

/* ---- forward.c: published ports ---------------------------------------- */

/* Bind P's host socket; the user's message on failure.  */
int hs_publish_bind (struct hs_publish *p, struct hs_error *err);

struct hs_forward;
struct hs_forward *hs_forward_new (struct hs_connector *c, struct hs_publish *p, size_t n,
                                   struct hs_error *err);
/* The epoll fd to poll for POLLIN.  */
int hs_forward_fd (const struct hs_forward *f);
/* Milliseconds until hs_forward_run has work without an event, or -1.  */
int hs_forward_timeout (const struct hs_forward *f, int64_t now);
/* Handle what epoll reports, then queued and timed work.  */
void hs_forward_run (struct hs_forward *f, bool events);

#endif
