/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_BUILD_H
#define HUTCH_BUILD_H

/* hutch build: an image from a Containerfile, into the user's store.
   Every RUN runs in a hutch container (the user namespace, the overlay,
   the network, seccomp: what hutch run gives), and its layer is that
   container's upper directory; COPY and ADD layers are made from their
   sources directly.  Each step has a cache key computed before it runs
   (src/build/cache.c); a step whose key is known reuses its layer.  */

#include "base/error.h"

#include <stdbool.h>
#include <stdint.h>

enum hutch_build_format
{
  HUTCH_BUILD_FORMAT_OCI,
  HUTCH_BUILD_FORMAT_DOCKER,
};

struct hutch_build_opts
{
  const char *store_root; /* --root, or NULL */
  int storage_driver;     /* --storage-driver (enum hutch_driver_choice), or -1 */
  const char *context;    /* the context directory, or "-": none (the
                             Containerfile on stdin) */
  const char *file;       /* -f: a path, "-" for stdin, or NULL: Containerfile,
                             else Dockerfile, in the context */
  int stdin_fd;           /* where "-" reads */
  char **tags;            /* -t, NULL-terminated or NULL */
  char **build_args;      /* --build-arg K=V, or K (its value from the
                             environment) */
  const char *target;     /* --target, or NULL: the last stage */
  bool no_cache;
  int pull;             /* enum hutch_pull_policy (front/run.h) */
  const char *platform; /* --platform, or NULL: this machine's */
  char **labels;        /* --label K=V */
  const char *iidfile;
  enum hutch_build_format format;
  char **outputs;            /* --output */
  char **secrets;            /* --secret id=X,src=F */
  int network;               /* enum hutch_network (front/run.h): RUN's default */
  char **add_hosts;          /* --add-host */
  int64_t timestamp;         /* --timestamp: the created time of the image
                                and every file's time, or -1 */
  int64_t source_date_epoch; /* --source-date-epoch (or SOURCE_DATE_EPOCH),
                                or -1 */
  bool quiet;                /* -q: only the image id */
  int progress_fd;           /* where the steps are said (stderr), -1 for nowhere */
  bool tty;                  /* PROGRESS_FD is a terminal */
  int tls_verify;            /* for pulls: 1, 0, -1 from the config */
  const char *authfile;
};

void hutch_build_opts_init (struct hutch_build_opts *o);

/* Build as O says: *RET_ID the new image's id.  A bad Containerfile, a
   missing stage, a source outside the context and the like fail before
   anything runs, with the file, the line and the reason (exit 125); a
   failing RUN fails with its exit code said and the step named.  A build
   that fails or is interrupted adds no image and no name to the store.  */
int hutch_build (const struct hutch_build_opts *o, char **ret_id, hutch_error_t *err);

#endif
