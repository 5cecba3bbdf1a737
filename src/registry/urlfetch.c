/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#define CURL_DISABLE_TYPECHECK 1
#include "registry/registry-private.h"

#include "registry/urlfetch.h"
#include "base/digest.h"
#include "base/util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* What one download keeps between libcurl's callbacks.  */
struct fetch
{
  int fd;
  int64_t max; /* < 0: no limit */
  int64_t size;
  long status;         /* of the last response seen */
  char *disposition;   /* its Content-Disposition */
  char *last_modified; /* its Last-Modified */
  bool too_big;
  int write_errno;
  struct hutch_sha256 *hash;
  hutch_error_t hash_err;
  char errbuf[CURL_ERROR_SIZE];
};

void
hutch_url_result_clear (struct hutch_url_result *r)
{
  free (r->filename);
  memset (r, 0, sizeof *r);
  r->mtime = -1;
}

/* ---- URLs and names ------------------------------------------------------ */

/* URL fit for a message: without its user name and password, which
   libcurl sends as Basic credentials and no log should keep.  */
static char *
redact_url (const char *url)
{
  CURLU *u = curl_url ();
  char *s = NULL, *out;

  if (u && curl_url_set (u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK
      && curl_url_set (u, CURLUPART_USER, NULL, 0) == CURLUE_OK
      && curl_url_set (u, CURLUPART_PASSWORD, NULL, 0) == CURLUE_OK
      && curl_url_get (u, CURLUPART_URL, &s, 0) == CURLUE_OK)
    out = hutch_reg_clean_text (s);
  else
    {
      /* Not a URL libcurl can parse: cut whatever stands between "//" and
         the last '@' of the authority, in case it is a password.  */
      const char *auth = strstr (url, "//"), *end, *at;
      out = hutch_reg_clean_text (url);
      if (auth)
        {
          auth += 2;
          end = auth + strcspn (auth, "/?#");
          at = memrchr (auth, '@', (size_t)(end - auth));
          if (at)
            memmove (out + (auth - url), out + (at + 1 - url), strlen (at + 1) + 1);
        }
    }
  curl_free (s);
  if (u)
    curl_url_cleanup (u);
  return out;
}

/* The lower-case scheme of URL ("https"), or NULL when it is not a URL.  */
static char *
url_scheme (const char *url)
{
  CURLU *u = curl_url ();
  char *s = NULL, *out = NULL, *p;

  if (u && curl_url_set (u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK
      && curl_url_get (u, CURLUPART_SCHEME, &s, 0) == CURLUE_OK)
    {
      out = hutch_xstrdup (s);
      for (p = out; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
          *p = (char)(*p - 'A' + 'a');
    }
  curl_free (s);
  if (u)
    curl_url_cleanup (u);
  return out;
}

/* Whether NAME holds a control character: a C0 one, DEL, or a C1 one
   (U+0080 to U+009F, two bytes in UTF-8).  */
static bool
has_control (const char *name, size_t len)
{
  size_t i;
  for (i = 0; i < len; i++)
    {
      unsigned char c = (unsigned char)name[i];
      if (c < 0x20 || c == 0x7f)
        return true;
      if (c == 0xc2 && i + 1 < len && (unsigned char)name[i + 1] >= 0x80
          && (unsigned char)name[i + 1] <= 0x9f)
        return true;
    }
  return false;
}

/* The last component of the LEN bytes of PATH, trailing slashes ignored,
   as Go's path.Base has it: "/" for slashes only, "." for nothing.  A NUL
   byte (a decoded "%00") becomes \x01, a control character as it is in
   Go's strings, which no name may hold.  */
static char *
path_base (const char *path, size_t len)
{
  const char *start;
  char *out, *p;

  while (len > 1 && path[len - 1] == '/')
    len--;
  if (len == 0)
    return hutch_xstrdup (".");
  if (len == 1 && path[0] == '/')
    return hutch_xstrdup ("/");
  start = memrchr (path, '/', len);
  start = start ? start + 1 : path;
  len -= (size_t)(start - path);
  out = hutch_xmalloc0 (len + 1);
  memcpy (out, start, len);
  while ((p = memchr (out, '\0', len)))
    *p = '\x01';
  return out;
}

/* The last component of URL's percent-decoded path (Go's
   path.Base(url.Path)), or NULL when URL cannot be parsed.  The path is
   taken as written: "a/.." stays, as Go's url.Parse leaves it.  */
static char *
url_path_base (const char *url)
{
  CURLU *u = curl_url ();
  char *path = NULL, *dec = NULL, *out = NULL;
  int len = 0;

  if (u
      && curl_url_set (u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME | CURLU_PATH_AS_IS)
             == CURLUE_OK
      && curl_url_get (u, CURLUPART_PATH, &path, 0) == CURLUE_OK)
    {
      /* Decoded before it is split, as Go does: "%2F" separates.  */
      dec = curl_easy_unescape (NULL, path, 0, &len);
      if (dec)
        out = path_base (dec, (size_t)len);
    }
  curl_free (dec);
  curl_free (path);
  if (u)
    curl_url_cleanup (u);
  return out;
}

/* NAME if a file may have it in a directory, else NULL (NAME freed).  */
static char *
usable_name (char *name)
{
  if (name && name[0] && strcmp (name, ".") != 0 && strcmp (name, "..") != 0
      && strcmp (name, "/") != 0 && strchr (name, '/') == NULL
      && !has_control (name, strlen (name)))
    return name;
  free (name);
  return NULL;
}

char *
hutch_url_dockerfile_name (const char *url)
{
  static const char space[] = " \t\n\v\f\r";
  _cleanup_free_ char *base = url_path_base (url);
  const char *b;
  char *name;
  size_t n;

  if (base == NULL || strcmp (base, ".") == 0 || strcmp (base, "/") == 0)
    return hutch_xstrdup ("__unnamed__");
  /* BuildKit saves the file under this name with white space trimmed, and
     one a file cannot have as "download".  */
  b = base + strspn (base, space);
  for (n = strlen (b); n > 0 && strchr (space, b[n - 1]); n--)
    ;
  name = usable_name (hutch_xstrndup (b, n));
  return name ? name : hutch_xstrdup ("download");
}

/* ---- Content-Disposition ------------------------------------------------- */

static bool
is_token_char (char c)
{
  return (unsigned char)c > 0x20 && (unsigned char)c < 0x7f && !strchr ("()<>@,;:\\\"/[]?=", c);
}

static const char *
skip_space (const char *p)
{
  while (*p == ' ' || *p == '\t')
    p++;
  return p;
}

/* A token or a quoted string at *P (moved past it), or NULL if neither.  */
static char *
param_value (const char **p)
{
  const char *s = *p;
  char *out, *o;

  if (*s != '"')
    {
      while (is_token_char (*s))
        s++;
      if (s == *p)
        return NULL;
      out = hutch_xstrndup (*p, (size_t)(s - *p));
      *p = s;
      return out;
    }
  out = o = hutch_xmalloc0 (strlen (s));
  for (s++; *s && *s != '"'; s++)
    {
      if (*s == '\\' && s[1])
        s++;
      *o++ = *s;
    }
  if (*s != '"')
    {
      free (out);
      return NULL;
    }
  *p = s + 1;
  return out;
}

/* An RFC 2231/5987 extended value, CHARSET'LANGUAGE'PERCENT-ENCODED, in
   UTF-8 or US-ASCII (the two that Go's mime package takes), decoded; or
   NULL.  */
static char *
decode_ext_value (const char *v)
{
  const char *q1 = strchr (v, '\''), *q2 = q1 ? strchr (q1 + 1, '\'') : NULL;
  char *dec, *out;
  int len = 0;

  if (q2 == NULL
      || !((q1 - v == 5 && strncasecmp (v, "utf-8", 5) == 0)
           || (q1 - v == 8 && strncasecmp (v, "us-ascii", 8) == 0)))
    return NULL;
  dec = curl_easy_unescape (NULL, q2 + 1, 0, &len);
  if (dec == NULL || memchr (dec, '\0', (size_t)len))
    {
      curl_free (dec);
      return NULL;
    }
  out = hutch_xstrdup (dec);
  curl_free (dec);
  return out;
}

/* The filename parameter of a Content-Disposition value (filename*
   preferred), or NULL when there is none or the value is malformed,
   which makes Go's mime.ParseMediaType, and so BuildKit, ignore it.  */
static char *
disposition_filename (const char *value)
{
  _cleanup_free_ char *plain = NULL, *ext = NULL;
  const char *p = skip_space (value);

  if (!is_token_char (*p))
    return NULL;
  while (is_token_char (*p))
    p++;
  for (p = skip_space (p); *p; p = skip_space (p))
    {
      const char *key = skip_space (p + 1), *k = key;
      char *v;
      if (*p != ';')
        return NULL;
      if (*key == '\0') /* a trailing ';' */
        break;
      while (is_token_char (*k))
        k++;
      p = skip_space (k);
      if (k == key || *p != '=')
        return NULL;
      p = skip_space (p + 1);
      v = param_value (&p);
      if (v == NULL)
        return NULL;
      if (k - key == 8 && strncasecmp (key, "filename", 8) == 0 && plain == NULL)
        plain = v;
      else if (k - key == 9 && strncasecmp (key, "filename*", 9) == 0 && ext == NULL)
        ext = v;
      else
        free (v);
    }
  if (ext)
    {
      char *d = decode_ext_value (ext);
      if (d)
        return d;
    }
  return HUTCH_STEAL_PTR (plain);
}

/* The name of the download: Content-Disposition's filename, else the last
   component of the final URL, else "index.html".  */
static char *
result_name (const char *disposition, const char *final_url)
{
  char *name = NULL;

  if (disposition)
    {
      _cleanup_free_ char *f = disposition_filename (disposition);
      size_t n = f ? strlen (f) : 0;
      /* A name that ends in '/' names a directory: ignored.  */
      if (n && f[n - 1] != '/')
        name = usable_name (path_base (f, n));
    }
  if (name == NULL && final_url)
    name = usable_name (url_path_base (final_url));
  return name ? name : hutch_xstrdup ("index.html");
}

/* ---- the transfer -------------------------------------------------------- */

static size_t
on_header (char *line, size_t size, size_t nmemb, void *data)
{
  struct fetch *f = data;
  size_t len = size * nmemb;
  char *v;

  /* Each response (a redirect, a proxy's CONNECT, a 100 Continue) starts
     with its status line: only the headers of the last one count.  */
  if (len > 5 && strncmp (line, "HTTP/", 5) == 0)
    {
      const char *sp = memchr (line, ' ', len);
      f->status = sp ? strtol (sp + 1, NULL, 10) : 0;
      free (f->disposition);
      free (f->last_modified);
      f->disposition = f->last_modified = NULL;
      return len;
    }
  /* The first of a header given twice, as Go's Header.Get has it.  */
  if (f->disposition == NULL && (v = hutch_reg_header_value (line, len, "Content-Disposition")))
    f->disposition = v;
  else if (f->last_modified == NULL && (v = hutch_reg_header_value (line, len, "Last-Modified")))
    f->last_modified = v;
  return len;
}

/* The body goes to the file and the hash; an error response's body goes
   nowhere: the transfer stops and the status is reported.  */
static size_t
on_body (char *buf, size_t size, size_t nmemb, void *data)
{
  struct fetch *f = data;
  size_t len = size * nmemb;
  int w;

  if (f->status >= 400)
    return 0;
  if (f->max >= 0 && (int64_t)len > f->max - f->size)
    {
      f->too_big = true;
      return 0;
    }
  w = hutch_write_all (f->fd, buf, len);
  if (w < 0)
    {
      f->write_errno = -w;
      return 0;
    }
  if (hutch_sha256_update (f->hash, buf, len, &f->hash_err) < 0)
    return 0;
  f->size += (int64_t)len;
  return len;
}

/* A handle for URL: the settings of the registry client's requests where
   they apply (src/registry/registry.c).  PINNED: the body's digest is
   known beforehand.  */
static int
setup (CURL *h, const char *url, bool https, bool pinned, int tls_verify, struct fetch *f,
       hutch_error_t *err)
{
  curl_easy_setopt (h, CURLOPT_URL, url);
  curl_easy_setopt (h, CURLOPT_USERAGENT, "hutch/" PACKAGE_VERSION);
  curl_easy_setopt (h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (h, CURLOPT_ERRORBUFFER, f->errbuf);
  curl_easy_setopt (h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt (h, CURLOPT_HEADERDATA, f);
  curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt (h, CURLOPT_WRITEDATA, f);
  /* libcurl (7.83 and later) sends the URL's credentials to no other host,
     port or scheme that a redirect names.  */
  curl_easy_setopt (h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt (h, CURLOPT_MAXREDIRS, 10L);
  /* Redirects of an https URL stay on https: plain http would let anyone
     on the way change the file unseen.  BuildKit follows them; so does
     hutch when --checksum pins the file, as nothing can change it then.  */
  if (curl_easy_setopt (h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK
      || curl_easy_setopt (h, CURLOPT_REDIR_PROTOCOLS_STR,
                           https && !pinned ? "https" : "http,https")
             != CURLE_OK
      || curl_easy_setopt (h, CURLOPT_SSL_VERIFYPEER, tls_verify ? 1L : 0L) != CURLE_OK
      || curl_easy_setopt (h, CURLOPT_SSL_VERIFYHOST, tls_verify ? 2L : 0L) != CURLE_OK)
    return hutch_error_set (err, 0,
                            "libcurl refuses the protocol or TLS settings hutch needs; install "
                            "libcurl 7.85 or later built with TLS");
  /* BuildKit's Go client asks for gzip and undoes it, so that the file
     and its digest are the resource itself whatever the server does.  */
  curl_easy_setopt (h, CURLOPT_ACCEPT_ENCODING, "gzip");
  curl_easy_setopt (h, CURLOPT_CONNECTTIMEOUT, 30L);
  /* A stalled server is given up after 60 s below 1 byte/s; a large file
     may take as long as it needs otherwise.  */
  curl_easy_setopt (h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt (h, CURLOPT_LOW_SPEED_TIME, 60L);
  if (f->max >= 0)
    curl_easy_setopt (h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->max);
  return 0;
}

/* ---- errors -------------------------------------------------------------- */

/* What to do about HTTP status STATUS.  */
static const char *
status_fix (long status)
{
  if (status == 401 || status == 403)
    return "the server refuses access: check the URL, and whether the file needs credentials";
  if (status == 407)
    return "the proxy wants credentials: give them in the proxy variable "
           "(https_proxy=http://USER:PASSWORD@PROXY:PORT)";
  if (status >= 500)
    return "the server failed: try again later";
  return "check the URL";
}

/* Report a transfer that ended with libcurl's result C, or with an error
   status.  SHOWN is the URL fit for a message.  */
static int
fetch_failure (CURL *h, struct fetch *f, CURLcode c, const char *shown, hutch_error_t *err)
{
  const char *why = f->errbuf[0] ? f->errbuf : curl_easy_strerror (c);
  _cleanup_free_ char *where = NULL;
  char *eff = NULL;

  if (curl_easy_getinfo (h, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff)
    {
      _cleanup_free_ char *e = redact_url (eff);
      if (strcmp (e, shown) != 0)
        where = hutch_xasprintf (" (redirected to %s)", e);
    }
  if (f->status >= 400)
    return hutch_error_set (err, 0, "download %s%s: HTTP status %ld; %s", shown, where ? where : "",
                            f->status, status_fix (f->status));
  if (f->write_errno)
    return hutch_error_set (err, f->write_errno, "download %s: write the file", shown);
  if (f->hash_err.msg)
    return hutch_error_set (err, f->hash_err.errnum, "download %s: %s", shown, f->hash_err.msg);
  if (f->too_big || c == CURLE_FILESIZE_EXCEEDED)
    return hutch_error_set (err, 0,
                            "download %s: the file is larger than the limit of %lld bytes; "
                            "fetch it in a RUN step instead",
                            shown, (long long)f->max);
  if (hutch_reg_tls_failure (c))
    return hutch_error_set (err, 0,
                            "download %s%s: TLS connection failed: %s; if the server's "
                            "certificate is from a private CA, add that CA to the system's "
                            "trust store (update-ca-certificates); for a server you trust "
                            "otherwise, use --tls-verify=false",
                            shown, where ? where : "", why);
  if (c == CURLE_UNSUPPORTED_PROTOCOL && where)
    return hutch_error_set (err, 0,
                            "download %s%s: %s; a redirect may lead to http or https only, and "
                            "one from https stays on https unless --checksum pins the file: "
                            "give the final URL, or --checksum",
                            shown, where, why);
  if (c == CURLE_TOO_MANY_REDIRECTS)
    return hutch_error_set (err, 0, "download %s: more than 10 redirects; give the final URL",
                            shown);
  if (c == CURLE_COULDNT_RESOLVE_HOST || c == CURLE_COULDNT_RESOLVE_PROXY)
    return hutch_error_set (err, 0,
                            "download %s: %s; check the host name and the DNS (or proxy) "
                            "settings",
                            shown, why);
  if (c == CURLE_COULDNT_CONNECT || c == CURLE_OPERATION_TIMEDOUT)
    return hutch_error_set (err, 0,
                            "download %s%s: %s; is the server up and reachable (behind a "
                            "proxy, set https_proxy or http_proxy)?",
                            shown, where ? where : "", why);
  return hutch_error_set (err, 0, "download %s%s: %s", shown, where ? where : "", why);
}

/* ---- the download -------------------------------------------------------- */

/* Refuse what is not an http(s) URL, and a malformed EXPECTED, before any
   traffic.  *RET_HTTPS says which scheme it is.  */
static int
check_args (const char *url, const char *shown, const char *expected, bool *ret_https,
            hutch_error_t *err)
{
  _cleanup_free_ char *scheme = url_scheme (url);
  const char *hex;

  if (scheme == NULL)
    return hutch_error_set (err, 0,
                            "%s is not a URL that hutch can download; write it as "
                            "https://HOST/PATH or http://HOST/PATH",
                            shown);
  if (strcmp (scheme, "http") != 0 && strcmp (scheme, "https") != 0)
    return hutch_error_set (err, 0,
                            "%s: hutch downloads http:// and https:// URLs only, not %s://; "
                            "fetch it in a RUN step, or copy a local file",
                            shown, scheme);
  if (expected && hutch_digest_parse (expected, &hex, err) < 0)
    return hutch_error_prefix (err, "--checksum=%s", expected);
  *ret_https = strcmp (scheme, "https") == 0;
  return 0;
}

/* Fill RET from the finished transfer, and check the digest.  */
static int
finish (CURL *h, struct fetch *f, const char *shown, const char *expected,
        struct hutch_url_result *ret, hutch_error_t *err)
{
  struct hutch_url_result r = { .mtime = -1 };
  char *eff = NULL;

  if (hutch_sha256_final (f->hash, r.digest, err) < 0)
    return hutch_error_prefix (err, "download %s", shown);
  if (expected && strcmp (r.digest, expected) != 0)
    return hutch_error_set (err, 0,
                            "checksum mismatch for %s: the download is %s, --checksum expects %s; "
                            "if the file changed on purpose, put its new digest in --checksum, "
                            "else do not trust this server",
                            shown, r.digest, expected);
  r.size = f->size;
  if (f->last_modified)
    {
      time_t t = curl_getdate (f->last_modified, NULL);
      r.mtime = t == (time_t)-1 ? -1 : (int64_t)t;
    }
  if (curl_easy_getinfo (h, CURLINFO_EFFECTIVE_URL, &eff) != CURLE_OK)
    eff = NULL;
  r.filename = result_name (f->disposition, eff);
  *ret = r;
  return 0;
}

int
hutch_url_fetch (const char *url, int fd, int tls_verify, int64_t max, const char *expected,
                 struct hutch_url_result *ret, hutch_error_t *err)
{
  _cleanup_free_ char *shown = redact_url (url);
  struct fetch f = { .fd = fd, .max = max < 0 ? -1 : max };
  CURL *h = NULL;
  CURLcode c;
  bool https = false;
  int r;

  r = check_args (url, shown, expected, &https, err);
  if (r == 0)
    r = hutch_reg_curl_start (err);
  if (r == 0)
    r = hutch_sha256_new (&f.hash, err);
  if (r == 0 && (h = curl_easy_init ()) == NULL)
    r = hutch_error_set (err, ENOMEM, "start a libcurl request");
  if (r == 0)
    r = setup (h, url, https, expected != NULL, tls_verify, &f, err);
  if (r == 0)
    {
      c = curl_easy_perform (h);
      if (c != CURLE_OK || f.status >= 400)
        r = fetch_failure (h, &f, c, shown, err);
      else
        r = finish (h, &f, shown, expected, ret, err);
    }
  if (h)
    curl_easy_cleanup (h);
  hutch_sha256_free (f.hash);
  hutch_error_clear (&f.hash_err);
  free (f.disposition);
  free (f.last_modified);
  return r;
}
