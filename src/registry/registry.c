/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include "base/lazylib.h"

#include "registry/auth.h"
#include "base/digest.h"
#include "registry/registry.h"
#include "registry/registry-private.h"
#include "base/paths.h"
#include "base/util.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const char manifest_accept[] = "Accept: application/vnd.oci.image.index.v1+json, "
                                      "application/vnd.oci.image.manifest.v1+json, "
                                      "application/vnd.docker.distribution.manifest.list.v2+json, "
                                      "application/vnd.docker.distribution.manifest.v2+json";

static bool curl_ready;

int
hutch_reg_curl_start (hutch_error_t *err)
{
  if (!curl_ready)
    {
      CURLcode c = curl_global_init (CURL_GLOBAL_DEFAULT);
      const curl_version_info_data *v;
      if (c != CURLE_OK)
        return hutch_error_set (err, 0, "start libcurl: %s", curl_easy_strerror (c));
      /* Loaded at run time: the library may be older than the headers.
         7.85 has CURLOPT_PROTOCOLS_STR, and keeps credentials from other
         hosts, ports and schemes on redirects (CVE-2022-27776).  */
      v = curl_version_info (CURLVERSION_NOW);
      if (v == NULL || v->version_num < 0x075500)
        return hutch_error_set (err, 0, "libcurl %s is too old: hutch needs 7.85 or later",
                                v ? v->version : "of unknown version");
      curl_ready = true;
    }
  return 0;
}

/* Forget the response headers kept so far.  */
static void
clear_headers (struct transfer *t)
{
  free (t->content_type);
  free (t->www_auth);
  free (t->location);
  free (t->docker_digest);
  free (t->content_range);
  t->content_type = t->www_auth = t->location = t->docker_digest = t->content_range = NULL;
}

static void
transfer_reset_response (struct transfer *t)
{
  t->status = 0;
  clear_headers (t);
  free (t->body);
  t->body = NULL;
  t->len = 0;
  t->too_big = false;
}

void
hutch_reg_transfer_clear (struct transfer *t)
{
  transfer_reset_response (t);
  if (t->h)
    curl_easy_cleanup (t->h);
  t->h = NULL;
  curl_slist_free_all (t->hdrs);
  t->hdrs = NULL;
}

char *
hutch_reg_header_value (const char *line, size_t len, const char *name)
{
  size_t n = strlen (name);
  const char *v, *end = line + len;

  if (len <= n || strncasecmp (line, name, n) != 0 || line[n] != ':')
    return NULL;
  v = line + n + 1;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
    end--;
  return hutch_xstrndup (v, (size_t)(end - v));
}

static void
take_header (char **slot, char *value)
{
  if (value == NULL)
    return;
  free (*slot);
  *slot = value;
}

static size_t
on_header (char *line, size_t size, size_t nmemb, void *data)
{
  struct transfer *t = data;
  size_t len = size * nmemb;

  /* Each response (a redirect, a 100 Continue) starts with its status
     line: keep only the headers of the last one.  */
  if (len > 5 && strncmp (line, "HTTP/", 5) == 0)
    {
      const char *sp = memchr (line, ' ', len);
      clear_headers (t);
      t->status = sp ? strtol (sp + 1, NULL, 10) : 0;
      t->body_started = false;
      return len;
    }
  take_header (&t->content_type, hutch_reg_header_value (line, len, "Content-Type"));
  take_header (&t->location, hutch_reg_header_value (line, len, "Location"));
  take_header (&t->docker_digest, hutch_reg_header_value (line, len, "Docker-Content-Digest"));
  take_header (&t->content_range, hutch_reg_header_value (line, len, "Content-Range"));
  /* A registry may offer several challenges (Negotiate first, say); the
     first Bearer or Basic one is used.  */
  if (t->www_auth == NULL)
    {
      char *v = hutch_reg_header_value (line, len, "WWW-Authenticate");
      if (v && (strncasecmp (v, "Bearer", 6) == 0 || strncasecmp (v, "Basic", 5) == 0))
        t->www_auth = v;
      else
        free (v);
    }
  return len;
}

static size_t
on_body (char *buf, size_t size, size_t nmemb, void *data)
{
  struct transfer *t = data;
  size_t len = size * nmemb, max;

  if (t->fs && t->status / 100 == 2)
    return hutch_reg_fetch_on_data (t, buf, len) < 0 ? 0 : len;
  max = t->status / 100 == 2 ? t->max : ERROR_BODY_MAX;
  if (t->len + len > max)
    {
      /* Keep the start of an error body for the message; an oversized
         document is an error of its own.  */
      if (t->status / 100 == 2)
        {
          t->too_big = true;
          return 0;
        }
      len = max - t->len;
    }
  t->body = hutch_xrealloc (t->body, t->len + len + 1);
  memcpy (t->body + t->len, buf, len);
  t->len += len;
  t->body[t->len] = '\0';
  return size * nmemb;
}

/* ---- setting up a request ----------------------------------------------- */

static const char *
user_agent (void)
{
  return "hutch/" PACKAGE_VERSION;
}

/* "scheme://host:port" of URL (the default port filled in), or NULL.  */
static char *
origin_of (const char *url)
{
  CURLU *u = curl_url ();
  char *scheme = NULL, *host = NULL, *port = NULL, *out = NULL;

  if (u && curl_url_set (u, CURLUPART_URL, url, 0) == CURLUE_OK
      && curl_url_get (u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK
      && curl_url_get (u, CURLUPART_HOST, &host, 0) == CURLUE_OK
      && curl_url_get (u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
    {
      char *p;
      out = hutch_xasprintf ("%s://%s:%s", scheme, host, port);
      for (p = out; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
          *p = (char)(*p - 'A' + 'a');
    }
  curl_free (scheme);
  curl_free (host);
  curl_free (port);
  if (u)
    curl_url_cleanup (u);
  return out;
}

/* Whether URL is on the registry's own origin: the only place our
   credentials and tokens go.  */
static bool
same_origin (const struct hutch_registry *r, const char *url)
{
  _cleanup_free_ char *a = origin_of (url), *b = origin_of (r->base);
  return a && b && strcmp (a, b) == 0;
}

/* The trust a TLS connection needs beyond the system's: a CA the user
   named for this registry and a client certificate.  */
static void
transfer_set_tls_files (CURL *h, const struct hutch_registry *r)
{
  if (r->ca_blob)
    {
      struct curl_blob blob = { r->ca_blob, r->ca_len, CURL_BLOB_NOCOPY };
      curl_easy_setopt (h, CURLOPT_CAINFO_BLOB, &blob);
    }
  if (r->client_cert)
    {
      curl_easy_setopt (h, CURLOPT_SSLCERT, r->client_cert);
      curl_easy_setopt (h, CURLOPT_SSLKEY, r->client_key);
    }
}

static void
transfer_set_method (CURL *h, const char *method)
{
  if (strcmp (method, "GET") == 0 || strcmp (method, "HEAD") == 0)
    {
      /* Blob downloads are usually redirected to a storage service.
         libcurl (7.83 and later) sends neither our Authorization header
         nor Basic credentials to another host, port or scheme.  */
      curl_easy_setopt (h, CURLOPT_FOLLOWLOCATION, 1L);
      curl_easy_setopt (h, CURLOPT_MAXREDIRS, 10L);
      if (strcmp (method, "HEAD") == 0)
        curl_easy_setopt (h, CURLOPT_NOBODY, 1L);
    }
  else if (strcmp (method, "POST") == 0)
    {
      curl_easy_setopt (h, CURLOPT_POST, 1L);
      curl_easy_setopt (h, CURLOPT_POSTFIELDSIZE, 0L);
      curl_easy_setopt (h, CURLOPT_POSTFIELDS, "");
    }
  else
    curl_easy_setopt (h, CURLOPT_CUSTOMREQUEST, method);
}

/* Credentials and tokens only for the registry's own origin: an upload
   Location may name any host.  */
static void
transfer_set_auth (struct transfer *t, const struct hutch_registry *r, const char *url)
{
  if (!same_origin (r, url))
    return;
  if (r->token)
    {
      char *hdr = hutch_xasprintf ("Authorization: Bearer %s", r->token);
      t->hdrs = curl_slist_append (t->hdrs, hdr);
      explicit_bzero (hdr, strlen (hdr));
      free (hdr);
    }
  else if (r->chal.scheme == AUTH_BASIC && r->have_creds)
    {
      curl_easy_setopt (t->h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
      curl_easy_setopt (t->h, CURLOPT_USERNAME, r->creds.username);
      curl_easy_setopt (t->h, CURLOPT_PASSWORD, r->creds.password ? r->creds.password : "");
    }
}

int
hutch_reg_transfer_setup (struct transfer *t, struct hutch_registry *r, const char *method,
                          const char *url, bool auth, hutch_error_t *err)
{
  CURL *h = curl_easy_init ();
  bool https = hutch_str_has_prefix (r->base, "https://");

  memset (t, 0, sizeof *t);
  t->r = r;
  t->upfd = -1;
  t->max = MANIFEST_MAX;
  if (h == NULL)
    return hutch_error_set (err, ENOMEM, "start a libcurl request");
  t->h = h;
  curl_easy_setopt (h, CURLOPT_URL, url);
  curl_easy_setopt (h, CURLOPT_SHARE, r->share);
  curl_easy_setopt (h, CURLOPT_USERAGENT, user_agent ());
  curl_easy_setopt (h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (h, CURLOPT_ERRORBUFFER, t->errbuf);
  curl_easy_setopt (h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt (h, CURLOPT_HEADERDATA, t);
  curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt (h, CURLOPT_WRITEDATA, t);
  /* Redirects of an HTTPS registry stay on HTTPS: a storage service on
     plain HTTP would let the network change what we download before the
     digest check, and see it.  */
  if (curl_easy_setopt (h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK
      || curl_easy_setopt (h, CURLOPT_REDIR_PROTOCOLS_STR, https ? "https" : "http,https")
             != CURLE_OK
      || curl_easy_setopt (h, CURLOPT_SSL_VERIFYPEER, r->verify ? 1L : 0L) != CURLE_OK
      || curl_easy_setopt (h, CURLOPT_SSL_VERIFYHOST, r->verify ? 2L : 0L) != CURLE_OK)
    return hutch_error_set (err, 0,
                            "libcurl refuses the protocol or TLS settings hutch needs; install "
                            "libcurl 7.85 or later built with TLS");
  curl_easy_setopt (h, CURLOPT_CONNECTTIMEOUT, 30L);
  /* A connection that stalls is dropped, then retried: 1 byte/s for 60 s;
     small requests also end after 5 minutes whatever the speed.  Blob
     transfers lift that limit.  */
  curl_easy_setopt (h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt (h, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt (h, CURLOPT_TIMEOUT, 300L);
  curl_easy_setopt (h, CURLOPT_PIPEWAIT, 1L);
  transfer_set_tls_files (h, r);
  transfer_set_method (h, method);
  if (auth)
    transfer_set_auth (t, r, url);
  return 0;
}

void
hutch_reg_transfer_add_header (struct transfer *t, const char *line)
{
  t->hdrs = curl_slist_append (t->hdrs, line);
}

/* Run one transfer by itself.  It shares the client's connections through
   the share handle, and stays out of the multi handle of the parallel
   downloads, whose completion messages are theirs to read.  Returns the
   libcurl result.  */
static CURLcode
perform (struct hutch_registry *r, struct transfer *t)
{
  (void)r;
  curl_easy_setopt (t->h, CURLOPT_HTTPHEADER, t->hdrs);
  return curl_easy_perform (t->h);
}

/* ---- errors ------------------------------------------------------------- */

bool
hutch_reg_tls_failure (CURLcode c)
{
  switch (c)
    {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
      return true;
    default:
      return false;
    }
}

int
hutch_reg_curl_failure (struct hutch_registry *r, struct transfer *t, CURLcode c,
                        hutch_error_t *err)
{
  const char *why = t->errbuf[0] ? t->errbuf : curl_easy_strerror (c);

  if (hutch_reg_tls_failure (c))
    return hutch_error_set (err, 0,
                            "TLS connection to %s failed: %s; for a registry with a certificate "
                            "of its own CA, put the CA certificate in a directory as NAME.crt "
                            "and pass --cert-dir DIR; for a local registry without TLS or with "
                            "a self-signed certificate, use --tls-verify=false or list it in "
                            "insecure_registries in hutch.conf",
                            r->host, why);
  if (c == CURLE_COULDNT_RESOLVE_HOST)
    return hutch_error_set (err, 0, "cannot resolve %s: %s; check the registry's name", r->host,
                            why);
  if (c == CURLE_COULDNT_CONNECT)
    return hutch_error_set (err, 0, "cannot connect to %s: %s; is the registry running?", r->base,
                            why);
  return hutch_error_set (err, 0, "talking to %s: %s", r->base, why);
}

/* TEXT from a server, fit for a terminal: control characters (escape
   sequences) become `?`.  */
char *
hutch_reg_clean_text (const char *text)
{
  char *out = hutch_xstrdup (text), *p;
  for (p = out; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      *p = '?';
  return out;
}

/* The message of a registry's error body ({"errors":[{"code","message"}]}),
   or NULL.  */
static char *
error_body_message (const struct transfer *t)
{
  json_t *doc, *errors, *e;
  char *out = NULL;

  if (t->body == NULL || t->len == 0)
    return NULL;
  doc = json_loadb (t->body, t->len, 0, NULL);
  if (doc == NULL)
    return NULL;
  errors = json_object_get (doc, "errors");
  e = json_array_get (errors, 0);
  if (json_is_object (e))
    {
      const char *code = json_string_value (json_object_get (e, "code"));
      const char *msg = json_string_value (json_object_get (e, "message"));
      if (code || msg)
        {
          _cleanup_free_ char *raw = hutch_xasprintf ("%s%s%s", code ? code : "",
                                                      code && msg ? ": " : "", msg ? msg : "");
          out = hutch_reg_clean_text (raw);
        }
    }
  json_decref (doc);
  return out;
}

/* The errno a caller can act on (ENOENT: try elsewhere, pull), without
   its text in the message, which says more already.  */
static int
set_quiet_errno (hutch_error_t *err, int errnum)
{
  err->errnum = errnum;
  return -errnum;
}

/* 401: the credentials were refused, or none were sent; the fix is a
   `hutch login` that can reach the registry.  One reached over plain HTTP
   by --tls-verify=false is probed over HTTPS by a plain `hutch login`,
   which then fails: the login needs the option too (insecure_registries
   in hutch.conf serves both, and needs nothing more).  */
static int
unauthorized (struct hutch_registry *r, const char *what, const char *said, hutch_error_t *err)
{
  bool plain = hutch_str_has_prefix (r->base, "http://") && r->verify_off_by_option;
  _cleanup_free_ char *login
      = hutch_xasprintf ("`hutch login%s %s`%s", plain ? " --tls-verify=false" : "", r->registry,
                         plain ? " (the registry speaks plain HTTP, which `hutch login` reaches "
                                 "only with --tls-verify=false or when insecure_registries in "
                                 "hutch.conf lists it; the password then travels unencrypted)"
                               : "");

  if (r->have_creds)
    hutch_error_set (err, 0,
                     "%s: %s refused the credentials of `%s`%s%s (401 unauthorized%s); check "
                     "them with %s",
                     what, r->registry, r->creds.username, r->creds.origin ? " from " : "",
                     r->creds.origin ? r->creds.origin : "", said, login);
  else
    hutch_error_set (err, 0,
                     "%s: %s requires authentication (401 unauthorized%s); log in with %s "
                     "(pull and push also take --creds USER:PASSWORD)",
                     what, r->registry, said, login);
  return set_quiet_errno (err, EACCES);
}

int
hutch_reg_status_failure (struct hutch_registry *r, struct transfer *t, const char *what,
                          hutch_error_t *err)
{
  _cleanup_free_ char *detail = error_body_message (t);
  _cleanup_free_ char *said = detail ? hutch_xasprintf (": %s", detail) : hutch_xstrdup ("");

  switch (t->status)
    {
    case 401:
      return unauthorized (r, what, said, err);
    case 403:
      hutch_error_set (err, 0,
                       "%s: access to %s/%s denied (403%s); check that your account may use it "
                       "(`hutch login %s`)",
                       what, r->registry, r->repository, said, r->registry);
      return set_quiet_errno (err, EACCES);
    case 404:
      hutch_error_set (err, 0, "%s not found in %s/%s (404%s)", what, r->registry, r->repository,
                       said);
      return set_quiet_errno (err, ENOENT);
    case 429:
      hutch_error_set (err, 0,
                       "%s: %s says too many requests (429%s); wait and try again, or log in "
                       "for a higher limit",
                       what, r->registry, said);
      return set_quiet_errno (err, EAGAIN);
    default:
      hutch_error_set (err, 0, "%s: %s answered HTTP %ld%s", what, r->base, t->status, said);
      return set_quiet_errno (err, EPROTO);
    }
}

/* ---- authentication ----------------------------------------------------- */

/* Parse `Bearer realm="...",service="...",scope="..."` (or Basic) into C,
   a fresh struct; scopes the registry asks for that SCOPES lacks are added
   to it.  */
static void
parse_challenge (const char *h, struct challenge *c, char ***scopes)
{
  const char *p = h;

  memset (c, 0, sizeof *c);
  if (strncasecmp (p, "Bearer", 6) == 0 && (p[6] == ' ' || p[6] == '\0'))
    c->scheme = AUTH_BEARER, p += 6;
  else if (strncasecmp (p, "Basic", 5) == 0 && (p[5] == ' ' || p[5] == '\0'))
    c->scheme = AUTH_BASIC, p += 5;
  else
    return;
  while (*p)
    {
      const char *k, *eq;
      _cleanup_free_ char *key = NULL;
      char *val;

      while (*p == ' ' || *p == ',')
        p++;
      k = p;
      eq = strchr (p, '=');
      if (eq == NULL)
        break;
      key = hutch_xstrndup (k, (size_t)(eq - k));
      p = eq + 1;
      if (*p == '"')
        {
          /* A quoted string, with \" and \\ (RFC 9110, 5.6.4).  */
          size_t n = 0;
          val = hutch_xmalloc0 (strlen (p) + 1);
          for (p++; *p && *p != '"'; p++)
            {
              if (*p == '\\' && p[1])
                p++;
              val[n++] = *p;
            }
          if (*p != '"')
            {
              free (val);
              break;
            }
          p++;
        }
      else
        {
          size_t n = strcspn (p, ",");
          val = hutch_xstrndup (p, n);
          p += n;
        }
      if (strcasecmp (key, "realm") == 0)
        take_header (&c->realm, val);
      else if (strcasecmp (key, "service") == 0)
        take_header (&c->service, val);
      else if (strcasecmp (key, "scope") == 0 && scopes)
        {
          /* Scopes the registry asks for that we lack (a cross-repository
             mount needs pull on the other repository).  */
          char *sp, *save = NULL;
          for (sp = strtok_r (val, " ", &save); sp; sp = strtok_r (NULL, " ", &save))
            {
              size_t i;
              bool have = false;
              for (i = 0; (*scopes)[i]; i++)
                have = have || strcmp ((*scopes)[i], sp) == 0;
              if (!have)
                hutch_strv_push (scopes, hutch_xstrdup (sp));
            }
          free (val);
        }
      else
        free (val);
    }
}

static void
challenge_clear (struct challenge *c)
{
  free (c->realm);
  free (c->service);
  memset (c, 0, sizeof *c);
}

/* Take the challenge of response T, which must come from the registry's
   own origin (a redirect target's challenge would otherwise choose where
   our credentials go).  The token service, once known, may not change.  */
static int
take_challenge (struct hutch_registry *r, struct transfer *t, bool *ret_taken, hutch_error_t *err)
{
  struct challenge nc;
  char *eff = NULL;

  *ret_taken = false;
  if (t->www_auth == NULL || curl_easy_getinfo (t->h, CURLINFO_EFFECTIVE_URL, &eff) != CURLE_OK
      || eff == NULL || !same_origin (r, eff))
    return 0;
  parse_challenge (t->www_auth, &nc, &r->scopes);
  if (nc.scheme == AUTH_NONE)
    return 0;
  if (nc.scheme == AUTH_BEARER && r->chal.scheme == AUTH_BEARER && r->chal.realm && nc.realm
      && strcmp (r->chal.realm, nc.realm) != 0)
    {
      _cleanup_free_ char *a = hutch_reg_clean_text (r->chal.realm),
                          *b = hutch_reg_clean_text (nc.realm);
      challenge_clear (&nc);
      return hutch_error_set (err, EPROTO,
                              "%s named another token service (%s) than before (%s); hutch "
                              "does not send credentials to it",
                              r->registry, b, a);
    }
  challenge_clear (&r->chal);
  r->chal = nc;
  *ret_taken = true;
  return 0;
}

char *
hutch_reg_escape (const char *s)
{
  char *e = curl_easy_escape (NULL, s, 0);
  char *out = hutch_xstrdup (e ? e : "");
  curl_free (e);
  return out;
}

/* The token service must be named, and be HTTPS when the registry is and
   TLS is verified: credentials go to it, and the token it sends back
   opens the registry.  */
static int
check_token_service (const struct hutch_registry *r, hutch_error_t *err)
{
  if (r->chal.realm == NULL)
    return hutch_error_set (err, EPROTO,
                            "%s asks for a token but names no token service (no realm in "
                            "its WWW-Authenticate header)",
                            r->registry);
  if (r->verify && hutch_str_has_prefix (r->base, "https://")
      && !hutch_str_has_prefix (r->chal.realm, "https://"))
    {
      _cleanup_free_ char *shown = hutch_reg_clean_text (r->chal.realm);
      return hutch_error_set (err, EPROTO,
                              "%s sends hutch to the token service %s, which is not HTTPS; "
                              "hutch does not send credentials or take tokens over plain "
                              "HTTP (for a test registry: --tls-verify=false)",
                              r->registry, shown);
    }
  return 0;
}

/* REALM?service=SERVICE&scope=SCOPE..., each value escaped.  */
static char *
token_url (const struct hutch_registry *r)
{
  char *url = hutch_xasprintf ("%s%s", r->chal.realm, strchr (r->chal.realm, '?') ? "" : "?");
  size_t i;

  if (r->chal.service)
    {
      _cleanup_free_ char *e = hutch_reg_escape (r->chal.service);
      char *u = hutch_xasprintf ("%s%sservice=%s", url, url[strlen (url) - 1] == '?' ? "" : "&", e);
      free (url);
      url = u;
    }
  for (i = 0; r->scopes && r->scopes[i]; i++)
    {
      _cleanup_free_ char *e = hutch_reg_escape (r->scopes[i]);
      char *u = hutch_xasprintf ("%s%sscope=%s", url, url[strlen (url) - 1] == '?' ? "" : "&", e);
      free (url);
      url = u;
    }
  return url;
}

/* Take the token from the token service's answer T into R->token, wiping
   the one it replaces.  A token is sent in a header: one that holds a line
   break could add headers of its own.  */
static int
take_token (struct hutch_registry *r, const struct transfer *t, hutch_error_t *err)
{
  json_t *doc = json_loadb (t->body ? t->body : "", t->len, 0, NULL);
  const char *tok = json_string_value (json_object_get (doc, "token"));

  if (tok == NULL)
    tok = json_string_value (json_object_get (doc, "access_token"));
  if (tok == NULL || *tok == '\0' || strpbrk (tok, "\r\n"))
    {
      json_decref (doc);
      return hutch_error_set (err, EPROTO, "the token service %s sent no usable token",
                              r->chal.realm);
    }
  if (r->token)
    explicit_bzero (r->token, strlen (r->token));
  free (r->token);
  r->token = hutch_xstrdup (tok);
  json_decref (doc);
  return 0;
}

/* Get a token from the challenge's realm for the client's scopes.  */
int
hutch_reg_fetch_token (struct hutch_registry *r, hutch_error_t *err)
{
  _cleanup_free_ char *url = NULL;
  struct transfer t;
  CURLcode c;
  int ret;

  ret = check_token_service (r, err);
  if (ret < 0)
    return ret;
  ret = -1;
  url = token_url (r);
  if (hutch_reg_transfer_setup (&t, r, "GET", url, false, err) < 0)
    return -1;
  t.max = TOKEN_MAX;
  if (r->have_creds)
    {
      curl_easy_setopt (t.h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
      curl_easy_setopt (t.h, CURLOPT_USERNAME, r->creds.username);
      curl_easy_setopt (t.h, CURLOPT_PASSWORD, r->creds.password ? r->creds.password : "");
    }
  c = perform (r, &t);
  if (c != CURLE_OK)
    {
      hutch_reg_curl_failure (r, &t, c, err);
      hutch_error_prefix (err, "get a token from %s", r->chal.realm);
      goto out;
    }
  if (t.status != 200)
    {
      hutch_reg_status_failure (r, &t, "get an access token", err);
      goto out;
    }
  if (take_token (r, &t, err) < 0)
    goto out;
  ret = 0;
out:
  if (t.body)
    explicit_bzero (t.body, t.len);
  hutch_reg_transfer_clear (&t);
  return ret;
}

/* After a 401: learn what the registry wants, and get it.  Returns 1 when
   the request is worth repeating.  A Bearer token is fetched again each
   time (tokens expire: Docker Hub's after 5 minutes); the callers repeat a
   request a bounded number of times.  */
int
hutch_reg_answer_challenge (struct hutch_registry *r, struct transfer *t, hutch_error_t *err)
{
  bool was_basic = r->token == NULL && r->chal.scheme == AUTH_BASIC, taken;

  if (take_challenge (r, t, &taken, err) < 0)
    return -1;
  if (!taken)
    return 0;
  if (r->chal.scheme == AUTH_BASIC)
    return was_basic || !r->have_creds ? 0 : 1;
  if (hutch_reg_fetch_token (r, err) < 0)
    return -1;
  return 1;
}

/* Perform a transfer set up by SETUP, answering one authentication
   challenge.  Returns 0 with T holding the final response (any status),
   or -1 for a transport failure.  */

int
hutch_reg_request (struct hutch_registry *r, const char *method, const char *url,
                   hutch_reg_setup_fn setup, void *arg, struct transfer *t, hutch_error_t *err)
{
  int attempt;

  for (attempt = 0;; attempt++)
    {
      CURLcode c;
      int a;

      if (hutch_reg_transfer_setup (t, r, method, url, true, err) < 0)
        return -1;
      if (setup && setup (t, arg, err) < 0)
        {
          hutch_reg_transfer_clear (t);
          return -1;
        }
      c = perform (r, t);
      if (c != CURLE_OK && !(t->too_big && c == CURLE_WRITE_ERROR))
        {
          hutch_reg_curl_failure (r, t, c, err);
          hutch_reg_transfer_clear (t);
          return -1;
        }
      if (t->status != 401 || attempt > 0)
        return 0;
      a = hutch_reg_answer_challenge (r, t, err);
      if (a < 0)
        {
          hutch_reg_transfer_clear (t);
          return -1;
        }
      if (a == 0)
        return 0;
      hutch_reg_transfer_clear (t);
    }
}

/* ---- opening a client --------------------------------------------------- */

/* The system's CA bundle and every DIR/NAME.crt, as one PEM blob; the client
   certificate DIR/NAME.cert with DIR/NAME.key.  */
static int
load_cert_dir (struct hutch_registry *r, const char *dir, bool explicit_dir, hutch_error_t *err)
{
  _cleanup_free_ char *system = NULL;
  struct dirent **names = NULL;
  size_t syslen = 0;
  int n, i, ret = 0;

  n = scandir (dir, &names, NULL, alphasort);
  if (n < 0)
    {
      if (explicit_dir)
        return hutch_error_set (err, errno, "--cert-dir `%s`", dir);
      return 0;
    }
  for (i = 0; i < n && ret == 0; i++)
    {
      const char *name = names[i]->d_name;
      size_t len = strlen (name);
      _cleanup_free_ char *path = hutch_xasprintf ("%s/%s", dir, name);

      if (len > 4 && strcmp (name + len - 4, ".crt") == 0)
        {
          _cleanup_free_ char *pem = NULL;
          size_t plen;
          if (r->ca_blob == NULL)
            {
              /* A CA of our own adds to the system's, as with podman.  */
              CURL *h = curl_easy_init ();
              char *cainfo = NULL;
              hutch_error_t e = HUTCH_ERROR_INIT;
              if (h && curl_easy_getinfo (h, CURLINFO_CAINFO, &cainfo) == CURLE_OK && cainfo)
                hutch_read_file (cainfo, 16 << 20, &system, &syslen, &e);
              hutch_error_clear (&e);
              if (h)
                curl_easy_cleanup (h);
              r->ca_blob = hutch_xmalloc0 (syslen + 2);
              if (system)
                memcpy (r->ca_blob, system, syslen);
              r->ca_blob[syslen] = '\n';
              r->ca_len = syslen + 1;
            }
          if (hutch_read_file (path, 1 << 20, &pem, &plen, err) < 0)
            {
              ret = hutch_error_prefix (err, "read CA certificate");
              break;
            }
          r->ca_blob = hutch_xrealloc (r->ca_blob, r->ca_len + plen + 2);
          memcpy (r->ca_blob + r->ca_len, pem, plen);
          r->ca_len += plen;
          r->ca_blob[r->ca_len++] = '\n';
        }
      else if (len > 5 && strcmp (name + len - 5, ".cert") == 0)
        {
          _cleanup_free_ char *key = hutch_xasprintf ("%s/%.*s.key", dir, (int)(len - 5), name);
          if (access (key, R_OK) < 0)
            ret = hutch_error_set (err, 0,
                                   "client certificate `%s` has no key `%s`; put the key next to "
                                   "it",
                                   path, key);
          else
            {
              free (r->client_cert);
              free (r->client_key);
              r->client_cert = hutch_xstrdup (path);
              r->client_key = hutch_xstrdup (key);
            }
        }
    }
  for (i = 0; i < n; i++)
    free (names[i]);
  free (names);
  return ret;
}

static int
load_certs (struct hutch_registry *r, const char *cert_dir, hutch_error_t *err)
{
  _cleanup_free_ char *user = NULL, *config = NULL;
  const char *const dirs[] = { "/etc/containers/certs.d", "/etc/docker/certs.d" };
  size_t i;

  if (cert_dir)
    return load_cert_dir (r, cert_dir, true, err);
  /* podman's and docker's places, per registry host[:port].  */
  config = hutch_paths_config_home ();
  user = hutch_xasprintf ("%s/containers/certs.d/%s", config, r->host);
  if (load_cert_dir (r, user, false, err) < 0)
    return -1;
  for (i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
    {
      _cleanup_free_ char *d = hutch_xasprintf ("%s/%s", dirs[i], r->host);
      if (load_cert_dir (r, d, false, err) < 0)
        return -1;
    }
  return 0;
}

static int
probe (struct hutch_registry *r, hutch_error_t *err)
{
  _cleanup_free_ char *url = hutch_xasprintf ("%s/v2/", r->base);
  struct transfer t;
  CURLcode c;

  if (hutch_reg_transfer_setup (&t, r, "GET", url, false, err) < 0)
    return -1;
  c = perform (r, &t);
  if (c != CURLE_OK && !r->verify && hutch_str_has_prefix (r->base, "https://"))
    {
      /* Verification is off for this registry: it may not speak TLS at
         all.  Try plain HTTP, as podman does for insecure registries.  */
      _cleanup_free_ char *plain = hutch_xasprintf ("http://%s", r->base + strlen ("https://"));
      hutch_reg_transfer_clear (&t);
      free (url);
      url = hutch_xasprintf ("%s/v2/", plain);
      if (hutch_reg_transfer_setup (&t, r, "GET", url, false, err) < 0)
        return -1;
      c = perform (r, &t);
      if (c == CURLE_OK)
        {
          free (r->base);
          r->base = plain;
          plain = NULL;
        }
    }
  if (c != CURLE_OK)
    {
      hutch_reg_curl_failure (r, &t, c, err);
      hutch_reg_transfer_clear (&t);
      return -1;
    }
  if (t.status == 401)
    {
      bool taken;
      if (take_challenge (r, &t, &taken, err) < 0)
        {
          hutch_reg_transfer_clear (&t);
          return -1;
        }
    }
  else if (t.status != 200)
    {
      /* Not a registry, or not one we can talk to.  */
      int ret = t.status == 404 ? hutch_error_set (err, 0,
                                                   "%s does not offer the registry API (GET "
                                                   "/v2/ answered 404); check the registry's "
                                                   "name and port",
                                                   r->base)
                                : hutch_reg_status_failure (r, &t, "probe the registry", err);
      hutch_reg_transfer_clear (&t);
      return ret;
    }
  hutch_reg_transfer_clear (&t);
  return 0;
}

int
hutch_registry_open (const char *registry, const char *endpoint, const char *repository, bool push,
                     const struct hutch_registry_opts *opts, struct hutch_registry **ret,
                     hutch_error_t *err)
{
  struct hutch_registry *r;
  const char *host = endpoint ? endpoint : registry;
  const char *slash = strchr (host, '/');
  int found;

  if (hutch_reg_curl_start (err) < 0)
    return -1;
  r = hutch_xmalloc0 (sizeof *r);
  r->registry = hutch_xstrdup (registry);
  r->host = slash ? hutch_xstrndup (host, (size_t)(slash - host)) : hutch_xstrdup (host);
  /* A mirror "host/prefix" holds the registry's repositories under
     prefix/ (containers-registries.conf(5)).  */
  if (repository == NULL)
    r->repository = hutch_xstrdup ("");
  else
    r->repository
        = slash ? hutch_xasprintf ("%s/%s", slash + 1, repository) : hutch_xstrdup (repository);
  if (strcmp (r->host, "docker.io") == 0)
    {
      free (r->host);
      r->host = hutch_xstrdup ("registry-1.docker.io");
    }
  r->base = hutch_xasprintf ("https://%s", r->host);
  r->push = push;
  r->verify = opts->tls_verify >= 0
                  ? opts->tls_verify != 0
                  : !(opts->conf && hutch_conf_registry_insecure (opts->conf, host));
  r->verify_off_by_option = opts->tls_verify == 0;
  if (repository)
    hutch_strv_push (&r->scopes, hutch_xasprintf ("repository:%s:%s", r->repository,
                                                  push ? "pull,push" : "pull"));
  else
    r->scopes = hutch_xmalloc0 (sizeof (char *));
  r->multi = curl_multi_init ();
  r->share = curl_share_init ();
  if (r->share)
    {
      curl_share_setopt (r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
      curl_share_setopt (r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
      curl_share_setopt (r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    }
  if (r->multi == NULL || r->share == NULL)
    {
      hutch_registry_close (r);
      return hutch_error_set (err, ENOMEM, "start libcurl");
    }
  /* HTTP/2 where offered: the parallel downloads then share one
     connection.  */
  curl_multi_setopt (r->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
  if (load_certs (r, opts->cert_dir, err) < 0)
    goto fail;
  /* --creds are for the registry named; a mirror gets what is stored for
     its own host.  */
  if (opts->creds && endpoint == NULL)
    {
      if (hutch_auth_parse_creds (opts->creds, &r->creds, err) < 0)
        goto fail;
      r->have_creds = true;
    }
  else
    {
      const char *key = endpoint ? r->host : registry;
      found = hutch_auth_lookup (opts->authfile, key, endpoint ? NULL : repository, &r->creds, err);
      if (found < 0)
        goto fail;
      /* An entry with only an identity token (docker login to Docker
         Hub with a browser) is not usable here: anonymous.  */
      r->have_creds = found > 0 && r->creds.username != NULL;
    }
  if (probe (r, err) < 0)
    goto fail;
  *ret = r;
  return 0;
fail:
  hutch_registry_close (r);
  return -1;
}

void
hutch_registry_close (struct hutch_registry *r)
{
  if (r == NULL)
    return;
  if (r->multi)
    curl_multi_cleanup (r->multi);
  if (r->share)
    curl_share_cleanup (r->share);
  free (r->registry);
  free (r->host);
  free (r->repository);
  free (r->base);
  free (r->ca_blob);
  free (r->client_cert);
  free (r->client_key);
  hutch_credentials_clear (&r->creds);
  challenge_clear (&r->chal);
  hutch_strv_free (r->scopes);
  if (r->token)
    explicit_bzero (r->token, strlen (r->token));
  free (r->token);
  free (r);
}

void
hutch_registry_closep (struct hutch_registry **r)
{
  hutch_registry_close (*r);
  *r = NULL;
}

const char *
hutch_registry_url (const struct hutch_registry *r)
{
  return r->base;
}

int
hutch_registry_check_login (struct hutch_registry *r, hutch_error_t *err)
{
  _cleanup_free_ char *url = hutch_xasprintf ("%s/v2/", r->base);
  struct transfer t;
  int ret;

  if (r->chal.scheme == AUTH_BEARER)
    {
      /* A token for the scopes the /v2/ challenge named, if any: Docker
         Hub's /v2/ accepts a token of any scope.  */
      if (hutch_reg_fetch_token (r, err) < 0)
        return -1;
    }
  if (hutch_reg_request (r, "GET", url, NULL, NULL, &t, err) < 0)
    return -1;
  ret = t.status == 200 ? 0 : hutch_reg_status_failure (r, &t, "log in", err);
  hutch_reg_transfer_clear (&t);
  return ret;
}

/* ---- manifests and small blobs ------------------------------------------ */

static int
accept_manifests (struct transfer *t, void *arg, hutch_error_t *err)
{
  hutch_reg_transfer_add_header (t, manifest_accept);
  return 0;
}

static int
check_body_digest (const char *body, size_t len, const char *want, char *got, hutch_error_t *err)
{
  if (hutch_digest_buffer (body, len, got, err) < 0)
    return -1;
  if (want && strcmp (want, got) != 0)
    return hutch_error_set (err, 0,
                            "the registry sent data whose digest %s does not match the %s "
                            "asked for; nothing was stored",
                            got, want);
  return 0;
}

int
hutch_registry_get_manifest (struct hutch_registry *r, const char *reference, char **ret_body,
                             size_t *ret_len, char **ret_media_type, char **ret_digest,
                             hutch_error_t *err)
{
  _cleanup_free_ char *url
      = hutch_xasprintf ("%s/v2/%s/manifests/%s", r->base, r->repository, reference);
  _cleanup_free_ char *what = hutch_str_has_prefix (reference, "sha256:")
                                  ? hutch_xasprintf ("manifest %s", reference)
                                  : hutch_xasprintf ("tag `%s`", reference);
  char got[HUTCH_DIGEST_BUF_LEN];
  bool by_digest = hutch_str_has_prefix (reference, "sha256:");
  struct transfer t;
  int ret = -1;

  if (hutch_reg_request (r, "GET", url, accept_manifests, NULL, &t, err) < 0)
    return -1;
  if (t.too_big)
    {
      hutch_error_set (err, EFBIG, "%s of %s/%s is larger than %d MiB; that is no image manifest",
                       what, r->registry, r->repository, MANIFEST_MAX >> 20);
      goto out;
    }
  if (t.status != 200)
    {
      hutch_reg_status_failure (r, &t, what, err);
      goto out;
    }
  if (check_body_digest (t.body ? t.body : "", t.len, by_digest ? reference : NULL, got, err) < 0)
    goto out;
  *ret_body = t.body ? t.body : hutch_xstrdup ("");
  t.body = NULL;
  *ret_len = t.len;
  if (ret_media_type)
    {
      /* "application/vnd...+json; charset=utf-8" -> the type alone.  */
      char *ct = t.content_type;
      if (ct)
        ct[strcspn (ct, "; ")] = '\0';
      *ret_media_type = ct && *ct ? hutch_xstrdup (ct) : NULL;
    }
  if (ret_digest)
    *ret_digest = hutch_xstrdup (got);
  ret = 0;
out:
  hutch_reg_transfer_clear (&t);
  return ret;
}

static int
set_max (struct transfer *t, void *arg, hutch_error_t *err)
{
  t->max = *(size_t *)arg;
  return 0;
}

int
hutch_registry_get_blob (struct hutch_registry *r, const char *digest, size_t max, char **ret_body,
                         size_t *ret_len, hutch_error_t *err)
{
  _cleanup_free_ char *url = hutch_xasprintf ("%s/v2/%s/blobs/%s", r->base, r->repository, digest);
  _cleanup_free_ char *what = hutch_xasprintf ("blob %s", digest);
  char got[HUTCH_DIGEST_BUF_LEN];
  struct transfer t;
  int ret = -1;

  if (hutch_reg_request (r, "GET", url, set_max, &max, &t, err) < 0)
    return -1;
  if (t.too_big)
    {
      hutch_error_set (err, EFBIG, "%s is larger than expected", what);
      goto out;
    }
  if (t.status != 200)
    {
      hutch_reg_status_failure (r, &t, what, err);
      goto out;
    }
  if (check_body_digest (t.body ? t.body : "", t.len, digest, got, err) < 0)
    goto out;
  *ret_body = t.body ? t.body : hutch_xstrdup ("");
  t.body = NULL;
  *ret_len = t.len;
  ret = 0;
out:
  hutch_reg_transfer_clear (&t);
  return ret;
}
