/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_OCIFEATURES_H
#define HUTCH_OCIFEATURES_H

/* What hutch-oci tells an engine or a user about itself: the runtime
   spec's features document (`hutch-oci features`), and a config.json to
   start a bundle from (`hutch-oci spec`).  */

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

/* The features document (runtime-spec features.md), true to this build:
   a value is listed only when the code that reads config.json takes it.
   A new reference.  */
json_t *hutch_oci_features (void);

/* A config.json as `runc spec` writes one: sh on a terminal, Docker's
   default capabilities, the usual mounts, masked and read-only paths, a
   namespace of each kind.  ROOTLESS: for an unprivileged user (UID, GID
   mapped to root, the host's network, /sys bound from the host, no
   cgroup mount).  A new reference.  */
json_t *hutch_oci_example_config (bool rootless, uid_t uid, gid_t gid);

#endif
