/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_REGISTRY_H
#define HUTCH_REGISTRY_H

/* A client of the OCI distribution API (the /v2/ HTTP API that Docker Hub,
   quay.io, distribution's `registry` and every other registry speak),
   built on libcurl.  One client talks to one endpoint (a registry, or one
   of its mirrors) about one repository: it probes /v2/, learns how the
   registry wants to be authenticated (nothing, Basic, or a Bearer token
   from the token service that the WWW-Authenticate challenge names), and
   keeps one libcurl multi handle so that every request of a pull or a
   push, the parallel blob downloads included, reuses the same
   connections.  */

#include "image/conffile.h"
#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hutch_registry_opts
{
  const char *authfile; /* NULL: the usual lookup (src/auth.h) */
  const char *creds;    /* "USER[:PASSWORD]" from --creds, or NULL */
  int tls_verify;       /* 1, 0, or -1: from insecure_registries */
  const char *cert_dir; /* NULL: certs.d directories of podman and docker */
  const struct hutch_conf *conf;
};

struct hutch_registry;

/* A client for REPOSITORY ("library/alpine") at REGISTRY ("docker.io",
   "127.0.0.1:5000"; NULL: none, for a login), reached at ENDPOINT (a mirror "host[:port][/path]",
   or NULL for the registry itself).  PUSH asks for push access as well as
   pull.  Probes /v2/ (falling back to plain HTTP when TLS verification is
   off and the endpoint does not speak TLS).  */
int hutch_registry_open (const char *registry, const char *endpoint, const char *repository,
                         bool push, const struct hutch_registry_opts *opts,
                         struct hutch_registry **ret, hutch_error_t *err);
void hutch_registry_close (struct hutch_registry *r);
void hutch_registry_closep (struct hutch_registry **r);
#define _cleanup_registry_ __attribute__ ((cleanup (hutch_registry_closep)))

/* "https://host" or "http://host" as probed; for messages.  */
const char *hutch_registry_url (const struct hutch_registry *r);

/* Check that the registry accepts the client's credentials (hutch login):
   a registry with token auth is asked for a token.  */
int hutch_registry_check_login (struct hutch_registry *r, hutch_error_t *err);

/* GET the manifest REFERENCE (a tag or a digest).  RET_MEDIA_TYPE is the
   Content-Type (NULL when the registry sent none), RET_DIGEST the digest
   of the body as received.  When REFERENCE is a digest, the body is checked
   against it.  A missing manifest is -ENOENT.  */
int hutch_registry_get_manifest (struct hutch_registry *r, const char *reference, char **ret_body,
                                 size_t *ret_len, char **ret_media_type, char **ret_digest,
                                 hutch_error_t *err);

/* GET a small blob (a config) whole, checked against DIGEST.  */
int hutch_registry_get_blob (struct hutch_registry *r, const char *digest, size_t max,
                             char **ret_body, size_t *ret_len, hutch_error_t *err);

/* Parallel blob downloads.  Each blob's bytes reach DATA in order, exactly
   once, whatever happened on the wire: a dropped connection is retried
   (HUTCH_REGISTRY_ATTEMPTS in all) and resumed with an HTTP range request
   from the byte reached.  DONE is called when all SIZE bytes arrived;
   verifying the digest is the caller's (it sees every byte).  The first
   error of a callback, or a blob that cannot be had, ends every transfer
   and is returned.  */
#define HUTCH_REGISTRY_ATTEMPTS 5
struct hutch_fetch
{
  const char *digest;
  int64_t size;
  int (*data) (void *arg, const void *buf, size_t len, hutch_error_t *err);
  int (*done) (void *arg, hutch_error_t *err);
  void *arg;
};
int hutch_registry_fetch_blobs (struct hutch_registry *r, struct hutch_fetch *blobs, size_t n,
                                unsigned parallel, hutch_error_t *err);

/* ---- push ----------------------------------------------------------- */

/* Whether the repository has the blob DIGEST (HEAD).  */
int hutch_registry_has_blob (struct hutch_registry *r, const char *digest, bool *ret,
                             hutch_error_t *err);
/* Ask the registry to link DIGEST from repository FROM (same registry)
   instead of an upload; *RET says whether it did.  */
int hutch_registry_mount_blob (struct hutch_registry *r, const char *digest, const char *from,
                               bool *ret, hutch_error_t *err);
/* Upload SIZE bytes of FD as blob DIGEST: in one PUT when small, else in
   PATCH chunks of CHUNK bytes and a closing PUT.  PROGRESS (may be NULL)
   sees the bytes sent so far.  */
int hutch_registry_upload_blob (struct hutch_registry *r, const char *digest, int fd, int64_t size,
                                int64_t chunk, void (*progress) (void *arg, int64_t sent),
                                void *progress_arg, hutch_error_t *err);
/* PUT a manifest under REFERENCE (a tag or its digest).  */
int hutch_registry_put_manifest (struct hutch_registry *r, const char *reference, const char *body,
                                 size_t len, const char *media_type, hutch_error_t *err);

#endif
