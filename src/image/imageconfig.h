/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_IMAGECONFIG_H
#define HUTCH_IMAGECONFIG_H

/* Image configs, manifests and indexes, as the OCI image spec and Docker's
   schema 2 write them.  Parsing is strict about types (a string where an
   array belongs is an error naming the field) and lenient about fields it
   does not use (healthchecks, history, annotations), which real images
   carry in many variants.  */

#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HUTCH_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define HUTCH_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define HUTCH_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define HUTCH_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define HUTCH_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define HUTCH_MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define HUTCH_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define HUTCH_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define HUTCH_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define HUTCH_MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"

struct hutch_label
{
  char *key;
  char *value;
};

struct hutch_image_config
{
  char *architecture; /* "amd64", "arm64"...; NULL when absent */
  char *os;           /* "linux" */
  char *variant;      /* "v8" or NULL */
  char *created;      /* RFC 3339 text as written, or NULL */
  char *author;
  /* From "config".  A NULL vector means the field was absent or null; an
     empty one (only the terminating NULL) means `[]`.  Docker tells the two
     apart for Entrypoint: `[]` resets an inherited entrypoint.  */
  char **entrypoint;
  char **cmd;
  char **env;           /* "KEY=VALUE" */
  char **exposed_ports; /* "80/tcp": parsed, not acted on */
  char **volumes;       /* "/data": parsed, not acted on */
  char *working_dir;
  char *user;
  char *stop_signal;
  struct hutch_label *labels;
  size_t n_labels;
  /* rootfs.diff_ids, "sha256:<hex>" each, bottom layer first.  */
  char **diff_ids;
};

/* Parse a config blob.  Bad JSON is reported with its line and column.  */
int hutch_image_config_parse (const char *json, size_t len, struct hutch_image_config *ret,
                              hutch_error_t *err);
void hutch_image_config_clear (struct hutch_image_config *cfg);
/* A label's value, or NULL.  */
const char *hutch_image_config_label (const struct hutch_image_config *cfg, const char *key);

enum hutch_compression
{
  HUTCH_COMPRESSION_NONE,
  HUTCH_COMPRESSION_GZIP,
  HUTCH_COMPRESSION_ZSTD,
  HUTCH_COMPRESSION_UNKNOWN,
};

/* How a layer of MEDIA_TYPE is compressed; UNKNOWN for media types that
   are not image layers.  */
enum hutch_compression hutch_layer_compression (const char *media_type);

struct hutch_descriptor
{
  char *media_type;
  char *digest; /* "sha256:<hex>" */
  int64_t size;
  /* Platform, in index entries only (NULL elsewhere).  */
  char *os;
  char *architecture;
  char *variant;
  /* The "org.opencontainers.image.ref.name" annotation (an OCI layout's
     index.json names its images with it), or NULL.  */
  char *ref_name;
};

enum hutch_manifest_kind
{
  HUTCH_MANIFEST_IMAGE, /* config + layers */
  HUTCH_MANIFEST_INDEX, /* a list of per-platform manifests */
};

struct hutch_manifest
{
  enum hutch_manifest_kind kind;
  char *media_type; /* one of the HUTCH_MT_* manifest or index types */
  /* HUTCH_MANIFEST_IMAGE */
  struct hutch_descriptor config;
  struct hutch_descriptor *layers;
  size_t n_layers;
  /* HUTCH_MANIFEST_INDEX */
  struct hutch_descriptor *manifests;
  size_t n_manifests;
};

/* Parse a manifest or an index.  MEDIA_TYPE is what the transport said
   (a registry's Content-Type) or NULL; without it the document's own
   mediaType field decides, and without that its shape (OCI allows leaving
   the field out).  Schema 1 manifests, unknown manifest, config or layer
   media types (Helm charts and other artifacts) are errors that say so.
   Index entries of unknown media types are kept (attestations, nested
   artifacts); hutch_manifest_select skips them.  */
int hutch_manifest_parse (const char *json, size_t len, const char *media_type,
                          struct hutch_manifest *ret, hutch_error_t *err);
void hutch_manifest_clear (struct hutch_manifest *m);
void hutch_descriptor_clear (struct hutch_descriptor *d);

/* Pick the entry of index M for OS/ARCHITECTURE (and VARIANT when not
   NULL; an entry without a variant matches any).  The error lists the
   platforms the index offers.  */
int hutch_manifest_select (const struct hutch_manifest *m, const char *os, const char *architecture,
                           const char *variant, const struct hutch_descriptor **ret,
                           hutch_error_t *err);

/* This machine's platform as images name it: "linux", "amd64"/"arm64"/...,
   and a variant ("v7" on 32-bit ARM, else NULL).  */
void hutch_host_platform (const char **ret_os, const char **ret_architecture,
                          const char **ret_variant);

/* "OS/ARCH" or "OS/ARCH/VARIANT"; a part not known shows as "?".  */
char *hutch_platform_format (const char *os, const char *architecture, const char *variant);

/* Whether an image whose config says OS/ARCHITECTURE/VARIANT is one for
   WANT_OS/WANT_ARCHITECTURE/WANT_VARIANT.  What a config does not say
   matches anything; variants are compared only when both are known (an
   index entry's arm64 often has "v8", a config's seldom), and the names
   uname and distributions use (x86_64, aarch64, i686) are Go's.  */
bool hutch_platform_matches (const char *os, const char *architecture, const char *variant,
                             const char *want_os, const char *want_architecture,
                             const char *want_variant);

#endif
