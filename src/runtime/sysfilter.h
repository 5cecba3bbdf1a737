/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_SYSFILTER_H
#define HUTCH_SYSFILTER_H

/* The container's seccomp filter.  The launcher builds it, from hutch's
   default profile or a Docker/OCI JSON profile, into BPF before any
   namespace exists (so that a bad profile costs nothing); the container's
   process only installs the instructions, as its last step before exec.  */

#include "base/error.h"

#include <jansson.h>
#include <stdbool.h>

struct hutch_spec;
struct sock_filter;

struct hutch_seccomp
{
  struct sock_filter *insns;
  unsigned short len;
  unsigned int flags; /* SECCOMP_FILTER_FLAG_* for seccomp(2) */
};

/* hutch's default profile, close to Docker's: an allowlist, EPERM for the
   rest, with the rules that depend on capabilities following SPEC's
   bounding set.  CACHE_DIR, when not NULL, keeps built filters (see
   sysfilter.c).  */
int hutch_seccomp_default (const struct hutch_spec *spec, const char *cache_dir,
                           struct hutch_seccomp **ret, hutch_error_t *err);

/* A profile in Docker's or the OCI runtime spec's JSON (linux.seccomp).
   WHAT names it in errors ("seccomp profile FILE", "linux.seccomp").  */
int hutch_seccomp_from_json (json_t *profile, const char *what, const struct hutch_spec *spec,
                             struct hutch_seccomp **ret, hutch_error_t *err);

/* Read and build the profile in the file PATH; a syntax error names its
   line and column.  */
int hutch_seccomp_from_file (const char *path, const struct hutch_spec *spec, const char *cache_dir,
                             struct hutch_seccomp **ret, hutch_error_t *err);

/* Install FILTER in the calling process (seccomp(2)): it needs
   no_new_privs or CAP_SYS_ADMIN in the process's user namespace.  */
int hutch_seccomp_install (const struct hutch_seccomp *filter, hutch_error_t *err);

/* A container's filter on disk, for exec (src/runtime/specjson.h): the
   instructions as built, DIRFD/NAME replaced whole (a temporary name,
   synced, renamed).  FILTER NULL records that the container has none.  */
int hutch_seccomp_save (const struct hutch_seccomp *filter, int dirfd, const char *name,
                        hutch_error_t *err);
/* Read it back: *RET is NULL when the container had no filter.  A missing,
   foreign (not the user's, or writable by others) or damaged file is an
   error.  */
int hutch_seccomp_load (int dirfd, const char *name, struct hutch_seccomp **ret,
                        hutch_error_t *err);

void hutch_seccomp_free (struct hutch_seccomp *filter);

#endif
