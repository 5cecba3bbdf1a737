/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_REGISTRY_PRIVATE_H
#define HUTCH_REGISTRY_PRIVATE_H

/* What registry.c (the client: requests, errors, authentication),
   registry-fetch.c (parallel blob downloads) and registry-push.c
   (uploads) share; not for the rest of hutch.  */

#include <curl/curl.h>
#include "base/lazylib.h"
#include "registry/auth.h"
#include "registry/registry.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a registry's answer may carry that we act on.  */
#define MANIFEST_MAX (4 << 20)
#define TOKEN_MAX (1 << 20)
#define ERROR_BODY_MAX 4096
/* A single PUT up to this size; above it, PATCH chunks.  */
#define MONOLITHIC_MAX (32 << 20)

struct challenge
{
  enum
  {
    AUTH_NONE,
    AUTH_BASIC,
    AUTH_BEARER,
  } scheme;
  char *realm;
  char *service;
};

struct hutch_registry
{
  char *registry;   /* as in references: "docker.io" */
  char *host;       /* what is connected to: "registry-1.docker.io" */
  char *repository; /* with a mirror's prefix */
  char *base;       /* "https://host" */
  bool push;
  bool verify;
  bool verify_off_by_option; /* --tls-verify=false, not insecure_registries */
  char *ca_blob;             /* PEM: the system's CAs and the cert dir's */
  size_t ca_len;
  char *client_cert, *client_key;
  struct hutch_credentials creds;
  bool have_creds;
  struct challenge chal;
  char **scopes; /* what the token is for */
  char *token;
  CURLM *multi;  /* the parallel blob downloads */
  CURLSH *share; /* connections, TLS sessions and DNS, shared by every
                    request of the client */
};

/* One request and what came back.  */
struct transfer
{
  struct hutch_registry *r;
  CURL *h;
  struct curl_slist *hdrs;
  char errbuf[CURL_ERROR_SIZE];
  /* response headers of the last response (after redirects) */
  long status;
  char *content_type, *www_auth, *location, *docker_digest, *content_range;
  bool body_started; /* of the current response */
  /* the body, in memory up to MAX bytes (error bodies up to ERROR_BODY_MAX) */
  char *body;
  size_t len, max;
  bool too_big;
  /* or, for blob downloads, to a callback: see struct fetch_state */
  struct fetch_state *fs;
  /* upload source */
  int upfd;
  int64_t up_left;
  void (*up_progress) (void *arg, int64_t sent);
  void *up_arg;
  int64_t up_sent;
};

typedef int (*hutch_reg_setup_fn) (struct transfer *t, void *arg, hutch_error_t *err);

/* libcurl's global state, once, and its minimum version (7.85).  */
int hutch_reg_curl_start (hutch_error_t *err);
/* The value of header NAME if LINE (LEN bytes, with its CRLF) is one,
   blanks around it trimmed; NULL otherwise.  */
char *hutch_reg_header_value (const char *line, size_t len, const char *name);

/* Requests, in registry.c.  */
void hutch_reg_transfer_clear (struct transfer *t);
int hutch_reg_transfer_setup (struct transfer *t, struct hutch_registry *r, const char *method,
                              const char *url, bool auth, hutch_error_t *err);
void hutch_reg_transfer_add_header (struct transfer *t, const char *line);
bool hutch_reg_tls_failure (CURLcode c);
int hutch_reg_curl_failure (struct hutch_registry *r, struct transfer *t, CURLcode c,
                            hutch_error_t *err);
char *hutch_reg_clean_text (const char *text);
int hutch_reg_status_failure (struct hutch_registry *r, struct transfer *t, const char *what,
                              hutch_error_t *err);
char *hutch_reg_escape (const char *s);
int hutch_reg_fetch_token (struct hutch_registry *r, hutch_error_t *err);
int hutch_reg_answer_challenge (struct hutch_registry *r, struct transfer *t, hutch_error_t *err);
int hutch_reg_request (struct hutch_registry *r, const char *method, const char *url,
                       hutch_reg_setup_fn setup, void *arg, struct transfer *t, hutch_error_t *err);

/* The body callback of a blob download, in registry-fetch.c.  */
int hutch_reg_fetch_on_data (struct transfer *t, const char *buf, size_t len);

#endif
