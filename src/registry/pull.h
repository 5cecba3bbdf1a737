/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_PULL_H
#define HUTCH_PULL_H

/* Images from and to registries: pull (resolve the name through the search
   list and mirrors, pick the platform, download the layers a few at a time
   and unpack each while it arrives) and push.  */

#include "base/error.h"
#include "registry/registry.h"
#include "image/imageconfig.h"
#include "image/store.h"

#include <stdbool.h>

struct hutch_pull_opts
{
  struct hutch_registry_opts reg;
  const char *platform; /* "os/arch[/variant]", or NULL for this machine */
  bool quiet;
  /* A registry's single-platform image of another platform than the one
     asked is an error (before its layers are downloaded), not a warning;
     always so with PLATFORM.  */
  bool strict_platform;
};

/* Check a --platform value.  */
int hutch_platform_parse (const char *s, char **ret_os, char **ret_arch, char **ret_variant,
                          hutch_error_t *err);

/* The platform an image is wanted for: --platform's, or this machine's.  */
struct hutch_platform_want
{
  char *os, *architecture, *variant;
  bool given; /* by --platform */
};
/* PLATFORM (a --platform value) or, when NULL, this machine's.  */
int hutch_platform_resolve (const char *platform, struct hutch_platform_want *ret,
                            hutch_error_t *err);
void hutch_platform_want_clear (struct hutch_platform_want *w);
/* For an image of CFG's platform, which is not WANT: "for linux/arm64,
   not for linux/amd64 (this machine's)"; *RET_TAKE gets the option that
   takes the image as it is: "--platform linux/arm64", with the emulator
   that takes when it is not this machine's.  */
char *hutch_platform_describe (const struct hutch_image_config *cfg,
                               const struct hutch_platform_want *want, char **ret_take);

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
