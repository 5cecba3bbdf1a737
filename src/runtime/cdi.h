/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_CDI_H
#define HUTCH_CDI_H

/* CDI, the Container Device Interface (github.com/cncf-tags/
   container-device-interface, SPEC.md): `hutch run --device
   vendor.com/class=name`.  A vendor's spec file (JSON or YAML, in /etc/cdi
   and /var/run/cdi) names devices of one kind and, for each, the edits a
   container that asks for it gets: device nodes, bind mounts, environment
   variables, hooks, supplementary groups.  This module reads those files,
   finds the devices asked for, and makes their edits on a struct
   hutch_spec, rootless: a device node is a bind of the host's node
   (runtime/devices.h), and what the user lacks on the host no spec can
   give (cdi.c says field by field).  */

#include "base/error.h"
#include "runtime/spec.h"

#include <stdbool.h>
#include <stddef.h>

/* The newest cdiVersion that hutch reads, and the oldest (the first with
   containerEdits).  */
#define HUTCH_CDI_VERSION "1.1.0"
#define HUTCH_CDI_VERSION_OLDEST "0.3.0"

/* /etc/cdi and /var/run/cdi, in this order (NULL-terminated): of two
   devices with the same name, the later directory's wins.  */
extern const char *const hutch_cdi_default_dirs[];

/* Whether a --device VALUE names a CDI device rather than a host path: a
   host path is absolute, a CDI name is VENDOR/CLASS=NAME.  A value that
   is not absolute and has a `=` is taken for a CDI name, so that a
   mistyped one is told what is wrong with it instead of being looked up
   as a file.  */
bool hutch_cdi_is_name (const char *value);

/* VALUE as VENDOR/CLASS=NAME: *RET_KIND is VENDOR/CLASS, *RET_NAME is
   NAME (both malloc'd); an error names what in VALUE breaks the
   grammar.  */
int hutch_cdi_parse_name (const char *value, char **ret_kind, char **ret_name, hutch_error_t *err);

/* One spec file, read and checked (its fields, names and cdiVersion),
   but not yet held against this host: that comes when one of its devices
   is used.  */
struct hutch_cdi_spec;

/* TEXT (LEN bytes) of the spec file FILE: YAML when FILE ends in .yaml
   or .yml, else JSON.  Errors name FILE, for YAML the line, and the field
   (devices[0].containerEdits.mounts[1].hostPath).  On error, *RET_KIND
   (when not NULL) is the kind the file says it holds when that much could
   be read, else NULL.  */
int hutch_cdi_spec_parse (const char *text, size_t len, const char *file,
                          struct hutch_cdi_spec **ret_spec, char **ret_kind, hutch_error_t *err);
void hutch_cdi_spec_free (struct hutch_cdi_spec *spec);
const char *hutch_cdi_spec_kind (const struct hutch_cdi_spec *spec);
/* Its devices' names, N of them.  */
size_t hutch_cdi_spec_n_devices (const struct hutch_cdi_spec *spec);
const char *hutch_cdi_spec_device (const struct hutch_cdi_spec *spec, size_t i);

/* The devices that a run asks for, found in the spec directories.  */
struct hutch_cdi;

/* Find NAMES (each VENDOR/CLASS=NAME) in the spec files (*.json, *.yaml,
   *.yml) of DIRS (NULL: hutch_cdi_default_dirs).  Fails, naming the
   directories searched, for a name that no spec defines (listing the
   devices of its kind, or saying that no spec defines the kind), for one
   that two specs of the same directory define (a conflict), and for a
   spec of the kind asked for that cannot be read.  A spec of another kind
   that cannot be read is a warning.  */
int hutch_cdi_resolve (char *const *dirs, char *const *names, struct hutch_cdi **ret,
                       hutch_error_t *err);
/* Make the edits of what CDI resolved on SPEC, whose id maps, user,
   groups and environment are known: the spec-level edits of each file
   once, then each device's, in the order asked.  Each host path must
   exist now (a node must be a device node the user can open); what a
   rootless container cannot be given is refused with the reason.  */
int hutch_cdi_apply (const struct hutch_cdi *cdi, struct hutch_spec *spec, hutch_error_t *err);
void hutch_cdi_free (struct hutch_cdi *cdi);
void hutch_cdi_freep (struct hutch_cdi **cdi);
#define _cleanup_cdi_ __attribute__ ((cleanup (hutch_cdi_freep)))

#endif
