/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_PULL_H
#define HUTCH_PULL_H

/* Images from and to registries: pull (resolve the name through the search
   list and mirrors, pick the platform, download the layers a few at a time
   and unpack each while it arrives) and push.  */

#include "base/error.h"
#include "registry/registry.h"
#include "image/store.h"

#include <stdbool.h>

struct hutch_pull_opts
{
  struct hutch_registry_opts reg;
  const char *platform; /* "os/arch[/variant]", or NULL for this machine */
  bool quiet;
};

/* Check a --platform value.  */
int hutch_platform_parse (const char *s, char **ret_os, char **ret_arch, char **ret_variant,
                          hutch_error_t *err);

/* Pull IMAGE (a reference, "docker://" allowed) into the store.  RET_ID
   gets the image id.  Nothing is added to the store unless the whole
   image arrived and checked out.  */
int hutch_pull (struct hutch_store *s, const char *image, const struct hutch_pull_opts *opts,
                char **ret_id, hutch_error_t *err);

/* Find IMAGE in the store, trying a short name with each registry of the
   search list as a pull would.  -ENOENT when none has it.  */
int hutch_pull_find_local (struct hutch_store *s, const char *image, const struct hutch_conf *conf,
                           struct hutch_image *ret, hutch_error_t *err);

struct hutch_push_opts
{
  struct hutch_registry_opts reg;
  bool quiet;
  char *ret_digest; /* out: the manifest's digest */
};

/* Push IMAGE from the store to DEST (a reference; NULL: IMAGE's name).  */
int hutch_push (struct hutch_store *s, const char *image, const char *dest,
                struct hutch_push_opts *opts, hutch_error_t *err);

#endif
