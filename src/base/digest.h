/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_DIGEST_H
#define HUTCH_DIGEST_H

/* sha256 content digests, the only algorithm images use in practice.  A
   digest string is "sha256:" followed by 64 lower-case hex digits, as the
   OCI image spec registers it; anything else is refused with an error that
   names it.  The hashing is OpenSSL's libcrypto (EVP), a well-kept library
   with hardware acceleration.  */

#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>

#define HUTCH_DIGEST_HEX_LEN 64
#define HUTCH_DIGEST_PREFIX "sha256:"
/* "sha256:" + 64 hex digits + NUL.  */
#define HUTCH_DIGEST_BUF_LEN (sizeof HUTCH_DIGEST_PREFIX - 1 + HUTCH_DIGEST_HEX_LEN + 1)

struct hutch_sha256;

/* An incremental hash.  _new fails only when libcrypto cannot provide
   sha256 (a FIPS provider that refuses it, a broken installation).  */
int hutch_sha256_new (struct hutch_sha256 **ret, hutch_error_t *err);
int hutch_sha256_update (struct hutch_sha256 *h, const void *buf, size_t len, hutch_error_t *err);
/* Write "sha256:<hex>" into RET; the context cannot be updated afterwards.  */
int hutch_sha256_final (struct hutch_sha256 *h, char ret[HUTCH_DIGEST_BUF_LEN], hutch_error_t *err);
void hutch_sha256_free (struct hutch_sha256 *h);
void hutch_sha256_freep (struct hutch_sha256 **h);
#define _cleanup_sha256_ __attribute__ ((cleanup (hutch_sha256_freep)))

/* Digest of a buffer, and of what remains to be read from FD.  */
int hutch_digest_buffer (const void *buf, size_t len, char ret[HUTCH_DIGEST_BUF_LEN],
                         hutch_error_t *err);
int hutch_digest_fd (int fd, char ret[HUTCH_DIGEST_BUF_LEN], hutch_error_t *err);

/* True when HEX is exactly 64 lower-case hex digits.  */
bool hutch_digest_hex_valid (const char *hex);
/* True when S is "sha256:" + 64 lower-case hex digits.  */
bool hutch_digest_valid (const char *s);
/* Check S and return a pointer to its hex part (inside S).  The error says
   what is wrong: another algorithm (sha512, md5...), a wrong length,
   upper-case or non-hex digits.  */
int hutch_digest_parse (const char *s, const char **ret_hex, hutch_error_t *err);

#endif
