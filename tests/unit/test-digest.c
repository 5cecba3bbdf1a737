/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "base/digest.h"
#include "tap.h"
#include "base/util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

/* FIPS 180-2 and NIST example vectors.  */
static const struct
{
  const char *in, *hex;
} vectors[] = {
  { "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
  { "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
  { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
};

#define MILLION_A "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"

int
main (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  char d[HUTCH_DIGEST_BUF_LEN];
  const char *hex;
  size_t i;

  for (i = 0; i < sizeof vectors / sizeof *vectors; i++)
    {
      char want[HUTCH_DIGEST_BUF_LEN];
      snprintf (want, sizeof want, "sha256:%s", vectors[i].hex);
      ok (hutch_digest_buffer (vectors[i].in, strlen (vectors[i].in), d, &err) == 0,
          "digest of \"%s\"", vectors[i].in);
      is_str (d, want, "known vector %zu", i);
    }

  {
    /* A million `a`s, fed in uneven pieces: the incremental context.  */
    struct hutch_sha256 *h = NULL;
    char buf[997];
    size_t left = 1000000;
    memset (buf, 'a', sizeof buf);
    ok (hutch_sha256_new (&h, &err) == 0, "new context");
    while (left > 0)
      {
        size_t n = left < sizeof buf ? left : sizeof buf;
        hutch_sha256_update (h, buf, n, &err);
        left -= n;
      }
    ok (hutch_sha256_final (h, d, &err) == 0, "final");
    is_str (d, MILLION_A, "a million `a`s, incrementally");
    hutch_sha256_free (h);
  }

  {
    char path[] = "/tmp/hutch-test-digest-XXXXXX";
    int fd = mkostemp (path, O_CLOEXEC);
    ok (fd >= 0 && write (fd, "abc", 3) == 3, "temp file");
    lseek (fd, 0, SEEK_SET);
    ok (hutch_digest_fd (fd, d, &err) == 0, "digest of an fd");
    is_str (d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "fd digest matches");
    close (fd);
    unlink (path);
    ok (hutch_digest_fd (-1, d, &err) < 0, "a bad fd fails");
    hutch_error_clear (&err);
  }

  ok (hutch_digest_parse (MILLION_A, NULL, &err) == 0, "parse a valid digest");
  ok (hutch_digest_parse (MILLION_A, &hex, &err) == 0 && strncmp (hex, "cdc76e5c", 8) == 0,
      "hex part returned");
  ok (hutch_digest_valid (MILLION_A), "valid");
  ok (hutch_digest_hex_valid (MILLION_A + 7), "hex valid");
  ok (!hutch_digest_hex_valid ("cdc7"), "short hex invalid");
  ok (!hutch_digest_valid ("sha256:cdc7"), "short digest invalid");
  ok (!hutch_digest_valid (NULL), "NULL invalid");

  ok (hutch_digest_parse ("sha512:"
                          "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c"
                          "5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
                          &hex, &err)
          < 0,
      "sha512 refused");
  has_str (err.msg, "unsupported digest algorithm `sha512`", "error names the algorithm (%s)",
           err.msg);
  has_str (err.msg, "sha256", "and says what is supported");
  ok (hutch_digest_parse ("md5:d41d8cd98f00b204e9800998ecf8427e", &hex, &err) < 0, "md5 refused");
  ok (hutch_digest_parse ("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", &hex,
                          &err)
          < 0,
      "no algorithm refused");
  has_str (err.msg, "no algorithm", "error says so");
  ok (hutch_digest_parse ("sha256:CDC76E5C9914FB9281A1C7E284D73E67F1809A48A497200E046D39CCC7112CD0",
                          &hex, &err)
          < 0,
      "upper case refused");
  has_str (err.msg, "lower case", "error says lower case");
  ok (hutch_digest_parse ("sha256:cdc76e", &hex, &err) < 0, "short refused");
  has_str (err.msg, "6 hex digits", "error counts the digits");
  ok (hutch_digest_parse ("sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cdz",
                          &hex, &err)
          < 0,
      "non-hex refused");
  ok (hutch_digest_parse ("", &hex, &err) < 0, "empty refused");
  ok (hutch_digest_parse (MILLION_A "0", &hex, &err) < 0, "65 digits refused");
  hutch_error_clear (&err);
  return tap_done ();
}
