/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_AUTH_H
#define HUTCH_AUTH_H

/* Registry credentials, in the files podman, skopeo and docker use:

     {"auths": {"quay.io": {"auth": "<base64 of user:password>"},
                "quay.io/team/app": {"auth": "..."},
                "https://index.docker.io/v1/": {"auth": "...", "identitytoken": "..."}}}

   A key is a registry (host[:port]), optionally followed by a namespace or
   repository path; a key that starts with a scheme is a URL whose path is
   the API's, not a repository ("https://reg:5000/v2/" means reg:5000).
   docker.io, index.docker.io and registry-1.docker.io are one registry,
   written "docker.io".  For an image, the most specific key wins
   (containers-auth.json(5)): quay.io/team/app, then quay.io/team, then
   quay.io.

   Files read, the first one with an entry for the registry winning:
     --authfile FILE                  (when given, only it)
     $REGISTRY_AUTH_FILE              (when set, only it)
     $XDG_RUNTIME_DIR/containers/auth.json  (when that directory is the user's)
     $XDG_CONFIG_HOME/containers/auth.json, else ~/.config/containers/auth.json
     $DOCKER_CONFIG/config.json, else ~/.docker/config.json
   A missing file is skipped; one that cannot be read or is not valid JSON
   is an error naming it.  An entry with neither "auth" nor "identitytoken"
   (docker writes `{}` when the secret is in a credsStore) counts as no
   entry.  hutch does not run docker credential helpers: a "credHelpers"
   entry for the registry is an error that says to use `hutch login`;
   "credsStore" is ignored.

   hutch login writes $REGISTRY_AUTH_FILE, else
   $XDG_RUNTIME_DIR/containers/auth.json when that directory is the user's,
   else the $XDG_CONFIG_HOME (~/.config) one (or --authfile): mode 0600 in a
   directory created 0700, replaced atomically under a lock, every other
   key and entry of the file kept.  */

#include "base/error.h"

#include <stdbool.h>

struct hutch_credentials
{
  char *username;       /* NULL when the entry has only an identity token */
  char *password;       /* NULL likewise; for --creds, NULL when no `:` was given */
  char *identity_token; /* "identitytoken": an OAuth2 refresh token, or NULL */
  char *origin;         /* the file they came from; NULL for --creds */
  char *key;            /* the entry's key, as written in that file */
};

/* Zero the secrets' memory and free everything.  */
void hutch_credentials_clear (struct hutch_credentials *c);

/* Credentials for REGISTRY ("quay.io", "localhost:5000", "docker.io" or an
   alias of it) and REPOSITORY ("team/app"; NULL: the registry's own entry
   only).  AUTHFILE: --authfile or NULL; a missing AUTHFILE is an error
   (-ENOENT), a typo there should not turn into an anonymous pull.  Returns 1
   and fills RET when found, 0 (RET zeroed) when no file has an entry, <0 on
   error.  */
int hutch_auth_lookup (const char *authfile, const char *registry, const char *repository,
                       struct hutch_credentials *ret, hutch_error_t *err);

/* Store USERNAME and PASSWORD for REGISTRY (a key as above: a registry,
   optionally with a namespace path) in AUTHFILE or the default file, which
   *RET_PATH (may be NULL) is set to.  USERNAME must not be empty or contain
   `:`.  */
int hutch_auth_store (const char *authfile, const char *registry, const char *username,
                      const char *password, char **ret_path, hutch_error_t *err);

/* Remove REGISTRY's entries (every key that means it: "docker.io" also
   removes "https://index.docker.io/v1/") from AUTHFILE or the default file;
   REGISTRY NULL removes all entries.  Only "auths" is touched.  Returns 0;
   *RET_FOUND tells whether there was anything to remove (false: "not
   logged in"; a missing file is not created).  */
int hutch_auth_remove (const char *authfile, const char *registry, bool *ret_found, char **ret_path,
                       hutch_error_t *err);

/* Parse --creds USER[:PASSWORD]; RET->password is NULL when there is no
   `:` (the caller asks for it).  An empty USER is an error.  */
int hutch_auth_parse_creds (const char *s, struct hutch_credentials *ret, hutch_error_t *err);

/* The file hutch login writes when there is no --authfile.  */
char *hutch_auth_default_file (void);

/* KEY as it is compared and written: scheme and API path dropped, the host
   in lower case, docker.io's aliases made "docker.io", trailing `/`
   removed.  An empty host or white space is an error.  */
int hutch_auth_normalize_key (const char *key, char **ret, hutch_error_t *err);

#endif
