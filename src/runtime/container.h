/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_CONTAINER_H
#define HUTCH_CONTAINER_H

#include "base/error.h"
#include "runtime/spec.h"

/* Run SPEC in the foreground: create the namespaces (the user namespace
   first), write the id maps, build the root, execute the process, forward
   signals, copy a terminal, wait.  On success *RET_STATUS is what the
   front end should exit with: the process's code, or 128+N for a signal.
   On failure err->exit_code says 125 (hutch), 126 (cannot execute) or 127
   (not found).  */
int hutch_container_run (struct hutch_spec *spec, int *ret_status, hutch_error_t *err);

/* Explain why creating a user namespace failed with ERRNUM, reading the
   knobs under PROCSYS ("/proc/sys" on a real host).  Always returns < 0.  */
int hutch_userns_diagnose (const char *procsys, int errnum, hutch_error_t *err);

#endif
