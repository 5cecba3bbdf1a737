/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "base/digest.h"
#include "base/util.h"

#include <errno.h>
#include <openssl/evp.h>
#include "base/lazylib.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct hutch_sha256
{
  EVP_MD_CTX *ctx;
};

int
hutch_sha256_new (struct hutch_sha256 **ret, hutch_error_t *err)
{
  struct hutch_sha256 *h = hutch_xmalloc0 (sizeof *h);

  h->ctx = EVP_MD_CTX_new ();
  if (h->ctx == NULL || EVP_DigestInit_ex (h->ctx, EVP_sha256 (), NULL) != 1)
    {
      hutch_sha256_free (h);
      return hutch_error_set (err, 0,
                              "libcrypto cannot compute sha256 digests; check the OpenSSL "
                              "installation and its configuration (OPENSSL_CONF)");
    }
  *ret = h;
  return 0;
}

int
hutch_sha256_update (struct hutch_sha256 *h, const void *buf, size_t len, hutch_error_t *err)
{
  if (len > 0 && EVP_DigestUpdate (h->ctx, buf, len) != 1)
    return hutch_error_set (err, 0, "libcrypto failed to hash data (sha256)");
  return 0;
}

int
hutch_sha256_final (struct hutch_sha256 *h, char ret[HUTCH_DIGEST_BUF_LEN], hutch_error_t *err)
{
  static const char hexdigits[] = "0123456789abcdef";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0, i;
  char *p;

  if (EVP_DigestFinal_ex (h->ctx, md, &n) != 1 || n * 2 != HUTCH_DIGEST_HEX_LEN)
    return hutch_error_set (err, 0, "libcrypto failed to finish a sha256 digest");
  p = stpcpy (ret, HUTCH_DIGEST_PREFIX);
  for (i = 0; i < n; i++)
    {
      *p++ = hexdigits[md[i] >> 4];
      *p++ = hexdigits[md[i] & 0xf];
    }
  *p = '\0';
  return 0;
}

void
hutch_sha256_free (struct hutch_sha256 *h)
{
  if (h == NULL)
    return;
  EVP_MD_CTX_free (h->ctx);
  free (h);
}

void
hutch_sha256_freep (struct hutch_sha256 **h)
{
  hutch_sha256_free (*h);
}

int
hutch_digest_buffer (const void *buf, size_t len, char ret[HUTCH_DIGEST_BUF_LEN],
                     hutch_error_t *err)
{
  _cleanup_sha256_ struct hutch_sha256 *h = NULL;
  int r = hutch_sha256_new (&h, err);
  if (r < 0)
    return r;
  r = hutch_sha256_update (h, buf, len, err);
  if (r < 0)
    return r;
  return hutch_sha256_final (h, ret, err);
}

int
hutch_digest_fd (int fd, char ret[HUTCH_DIGEST_BUF_LEN], hutch_error_t *err)
{
  _cleanup_sha256_ struct hutch_sha256 *h = NULL;
  _cleanup_free_ char *buf = hutch_xmalloc0 (1 << 16);
  int r = hutch_sha256_new (&h, err);

  if (r < 0)
    return r;
  for (;;)
    {
      ssize_t n = read (fd, buf, 1 << 16);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return hutch_error_set (err, errno, "read data to hash");
        }
      if (n == 0)
        break;
      r = hutch_sha256_update (h, buf, (size_t)n, err);
      if (r < 0)
        return r;
    }
  return hutch_sha256_final (h, ret, err);
}

bool
hutch_digest_hex_valid (const char *hex)
{
  size_t i;
  for (i = 0; i < HUTCH_DIGEST_HEX_LEN; i++)
    if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
      return false;
  return hex[i] == '\0';
}

bool
hutch_digest_valid (const char *s)
{
  return s != NULL && hutch_str_has_prefix (s, HUTCH_DIGEST_PREFIX)
         && hutch_digest_hex_valid (s + sizeof HUTCH_DIGEST_PREFIX - 1);
}

int
hutch_digest_parse (const char *s, const char **ret_hex, hutch_error_t *err)
{
  const char *colon, *hex;
  size_t i, n;

  if (s == NULL || *s == '\0')
    return hutch_error_set (err, 0, "empty digest; a digest reads sha256:<64 hex digits>");
  colon = strchr (s, ':');
  if (colon == NULL)
    return hutch_error_set (err, 0,
                            "invalid digest `%s`: no algorithm; a digest reads "
                            "sha256:<64 hex digits>",
                            s);
  if ((size_t)(colon - s) != 6 || strncmp (s, "sha256", 6) != 0)
    return hutch_error_set (err, 0,
                            "unsupported digest algorithm `%.*s` in `%s`: hutch verifies sha256 "
                            "digests only; refer to the image by its sha256 digest or by tag",
                            (int)(colon - s), s, s);
  hex = colon + 1;
  n = strlen (hex);
  for (i = 0; i < n; i++)
    {
      char c = hex[i];
      if (c >= 'A' && c <= 'F')
        return hutch_error_set (err, 0,
                                "invalid digest `%s`: hex digits must be lower case, as the OCI "
                                "image spec requires",
                                s);
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
        return hutch_error_set (err, 0, "invalid digest `%s`: `%c` is not a hex digit", s, c);
    }
  if (n != HUTCH_DIGEST_HEX_LEN)
    return hutch_error_set (err, 0,
                            "invalid digest `%s`: %zu hex digits where sha256 has %d; check that "
                            "it was not cut short when copied",
                            s, n, HUTCH_DIGEST_HEX_LEN);
  if (ret_hex)
    *ret_hex = hex;
  return 0;
}
