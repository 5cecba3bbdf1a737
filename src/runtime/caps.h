/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_CAPS_H
#define HUTCH_CAPS_H

#include "base/error.h"
#include "runtime/spec.h"

/* Drop from the bounding set what SPEC does not list.  Must run while the
   process still has CAP_SETPCAP, before it changes its uid.  */
int hutch_caps_drop_bounding (const struct hutch_spec *spec, hutch_error_t *err);
/* Set permitted, effective, inheritable and ambient sets, after the uid
   change (which PR_SET_KEEPCAPS survived).  */
int hutch_caps_apply (const struct hutch_spec *spec, hutch_error_t *err);
/* Check every name in SPEC's capability lists.  */
int hutch_caps_validate (const struct hutch_spec *spec, hutch_error_t *err);

/* The capability lists of SPEC (for the user spec->uid): Docker's default
   set, or every capability with PRIVILEGED, then ADD and DROP (names with
   or without CAP_, any case, or ALL), as Docker combines them.  */
int hutch_caps_plan (struct hutch_spec *spec, char *const *add, char *const *drop, bool privileged,
                     hutch_error_t *err);

#endif
