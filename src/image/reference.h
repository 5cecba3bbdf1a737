/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_REFERENCE_H
#define HUTCH_REFERENCE_H

/* Image references, read the way docker reads them (the grammar of
   distribution/reference):

     alpine                    docker.io/library/alpine:latest
     user/app:1                docker.io/user/app:1
     localhost:5000/x          localhost:5000/x:latest
     quay.io/a/b:t             quay.io/a/b:t
     name@sha256:<hex>         docker.io/library/name@sha256:<hex>
     name:tag@sha256:<hex>     both kept; the digest is what is fetched

   The first path component is a registry when it contains a `.` or a `:`,
   is `localhost`, or has upper-case letters; index.docker.io means
   docker.io.  Repository names are lower case; tags are [A-Za-z0-9_.-],
   at most 128 characters, not starting with `.` or `-`.  */

#include "base/error.h"

#include <stdbool.h>

#define HUTCH_DEFAULT_REGISTRY "docker.io"
#define HUTCH_DEFAULT_TAG "latest"

struct hutch_reference
{
  char *registry;   /* "docker.io", "localhost:5000", "[::1]:5000" */
  char *repository; /* "library/alpine" */
  char *tag;        /* "latest" when neither tag nor digest was given; NULL
                       when only a digest was */
  char *digest;     /* "sha256:<hex>" or NULL */
  bool short_name;  /* no registry was written: a later search list may try
                       other registries than docker.io */
};

/* Parse S.  On failure RET is untouched and the error names S and what is
   wrong with it (and the fix when there is an obvious one).  */
int hutch_reference_parse (const char *s, struct hutch_reference *ret, hutch_error_t *err);
void hutch_reference_clear (struct hutch_reference *ref);

/* "docker.io/library/alpine:latest", "quay.io/a/b@sha256:...",
   "docker.io/library/x:1@sha256:...".  */
char *hutch_reference_format (const struct hutch_reference *ref);
/* Registry and repository only: "docker.io/library/alpine".  */
char *hutch_reference_name (const struct hutch_reference *ref);
/* The short form docker prints: "alpine:latest", "user/app:1",
   "quay.io/a/b:t".  */
char *hutch_reference_familiar (const struct hutch_reference *ref);

/* Parse S and format it in full.  */
int hutch_reference_normalize (const char *s, char **ret, hutch_error_t *err);

#endif
