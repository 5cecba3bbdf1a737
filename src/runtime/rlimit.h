/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_RLIMIT_H
#define HUTCH_RLIMIT_H

/* process.rlimits: the names (Docker's "nofile", OCI's "RLIMIT_NOFILE"),
   --ulimit values, and the check that the host lets them be set.  B sets
   them with setrlimit before it executes the process (src/runtime/child.c).  */

#include "base/error.h"
#include "runtime/spec.h"

/* The resource of NAME ("nofile", "RLIMIT_NOFILE"), or -1.  */
int hutch_rlimit_from_name (const char *name);
/* Docker's name of RESOURCE ("nofile"), or "?".  */
const char *hutch_rlimit_name (int resource);

/* --ulimit NAME=SOFT[:HARD]: HARD is SOFT when left out; -1 and
   "unlimited" are no limit.  */
int hutch_ulimit_parse (const char *value, struct hutch_rlimit *ret, hutch_error_t *err);

/* Every rlimit of SPEC has soft <= hard, and no hard limit above the
   caller's own: raising one needs CAP_SYS_RESOURCE in the initial user
   namespace, which a user namespace never gives.  Checked before anything
   of the container exists, so the error names the fix rather than EPERM.  */
int hutch_rlimits_check (const struct hutch_spec *spec, hutch_error_t *err);

#endif
