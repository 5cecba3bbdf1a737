/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_SYSFILTER_PRIVATE_H
#define HUTCH_SYSFILTER_PRIVATE_H

/* Shared by sysfilter.c (profiles, BPF, installing) and sysfilter-default.c
   (hutch's default profile).  */

#include "base/error.h"

#include <seccomp.h>
#include <stdbool.h>

struct hutch_spec;

/* Whether SPEC's bounding set holds CAP (a name such as "CAP_SYS_ADMIN");
   a spec that leaves capabilities alone holds them all.  */
bool hutch_sc_has_cap (const struct hutch_spec *spec, const char *cap);

/* A rule: NAME gets ACTION when all N comparisons hold.  A name libseccomp
   does not know (a newer kernel's call) is skipped, as Docker and runc do,
   and so is a rule whose action is the default DEF_ACTION (libseccomp
   refuses those; they change nothing).  */
int hutch_sc_add (scmp_filter_ctx ctx, uint32_t def_action, const char *name, uint32_t action,
                  unsigned int n, const struct scmp_arg_cmp *args, hutch_error_t *err);

/* The rules of the default profile (its default action: EPERM).  */
int hutch_sc_default_rules (scmp_filter_ctx ctx, const struct hutch_spec *spec, hutch_error_t *err);

/* The BPF of CTX into *RET, with FLAGS for seccomp(2); after an ENOSYS
   prefix for calls newer than libseccomp when DEF_ACTION refuses.  */
struct hutch_seccomp;
int hutch_sc_export (scmp_filter_ctx ctx, uint32_t def_action, unsigned int flags,
                     struct hutch_seccomp **ret, hutch_error_t *err);

#endif
