/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_URLFETCH_H
#define HUTCH_URLFETCH_H

/* The download of a Dockerfile's `ADD https://... DEST` (and `ADD
   --checksum=sha256:HEX URL DEST`): one GET with libcurl, the body written
   to a file and hashed on the way.  Naming, placing and unpacking the file
   are the builder's.  */

#include "base/error.h"

#include <stdint.h>

struct hutch_url_result
{
  char digest[72]; /* "sha256:<hex>" of the body as received (after the gzip
                      transfer coding that BuildKit's client also undoes) */
  int64_t size;    /* bytes written to the file */
  int64_t mtime;   /* Last-Modified as seconds since the epoch, or -1 when the
                      response has none or one that cannot be parsed
                      (BuildKit then gives the file the time 0) */
  char *filename;  /* the name BuildKit's HTTP source would give the file: the
                      last path component (percent-decoded) of the final URL
                      (after redirects), or of the Content-Disposition
                      filename when present; "index.html" for an empty one.
                      Never empty, ".", ".." nor with a '/' or a control
                      character.  A Dockerfile's ADD names the file after
                      the URL it was given instead: see
                      hutch_url_dockerfile_name().  */
};
void hutch_url_result_clear (struct hutch_url_result *r);

/* GET URL (http or https only; anything else refused with a message) into FD
   (a file opened for writing, written from its offset), following up to 10
   redirects (those of an https URL stay on https unless EXPECTED pins
   the body), failing on HTTP status
   >= 400 with the status and the URL in the message (credentials in the URL
   are never shown; they are sent as Basic credentials, and not to another
   host a redirect leads to), with TLS verification per TLS_VERIFY (1 on, 0
   off), a connect timeout of 30 s, and MAX bytes at most (more is an error;
   a negative MAX is no limit).  The proxy variables (https_proxy,
   http_proxy, no_proxy...) apply as libcurl reads them.  With EXPECTED
   ("sha256:<hex>", --checksum), a body of another digest is an error naming
   both.  Returns 0 with RET filled (clear it with hutch_url_result_clear),
   or a negative value with ERR set; FD may then hold part of a body, for
   the caller to throw away.  */
int hutch_url_fetch (const char *url, int fd, int tls_verify, int64_t max, const char *expected,
                     struct hutch_url_result *ret, hutch_error_t *err);

/* The name a Dockerfile's `ADD URL DEST` gives the file under a DEST
   directory, as BuildKit's Dockerfile frontend computes it before any
   request: the last component of URL's percent-decoded path (trailing
   slashes ignored), "__unnamed__" when the path has none, and "download"
   when that component is "..", or holds a control character.  Redirects
   and Content-Disposition play no part.  Never NULL; free() it.  */
char *hutch_url_dockerfile_name (const char *url);

#endif
