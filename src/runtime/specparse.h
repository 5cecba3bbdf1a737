/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_SPECPARSE_H
#define HUTCH_SPECPARSE_H

/* What spec.c (the config.json parser) and specparse-linux.c (its
   Linux-specific fields) share.  Not for other callers: they go through
   hutch_spec_parse_json.  Every error names the field by its JSON path.  */

#include "base/error.h"
#include "runtime/spec.h"

#include <jansson.h>

/* process.scheduler, process.ioPriority, process.oomScoreAdj.  */
int hutch_spec_parse_process_linux (json_t *proc, struct hutch_spec *spec, hutch_error_t *err);

/* linux.namespaces (new ones, and existing ones by path).  */
int hutch_spec_parse_namespaces (json_t *nss, struct hutch_spec *spec, hutch_error_t *err);

/* linux.rootfsPropagation, linux.sysctl, linux.timeOffsets: after the
   namespaces, which they depend on.  */
int hutch_spec_parse_linux_more (json_t *lx, struct hutch_spec *spec, hutch_error_t *err);

/* What needs the whole file: a user namespace for an unprivileged caller
   that asked for none, and the checks of the namespaces that hostname,
   domainname and the id maps need.  */
int hutch_spec_check_namespaces (struct hutch_spec *spec, hutch_error_t *err);

#endif
