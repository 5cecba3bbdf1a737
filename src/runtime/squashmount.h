/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_SQUASHMOUNT_H
#define HUTCH_SQUASHMOUNT_H

/* A squashfs image file mounted with squashfuse as the lower layer of the
   container's overlay (spec.h's struct hutch_squash).  The daemon lives as
   fuse-overlayfs does: a child of A (the user namespace's first process),
   in A's mount namespace, outside the container's PID namespace and
   cgroup, killed by A's watchdog once the container's process is gone, and
   by the kernel (parent-death signal) when A dies first.  */

#include "base/error.h"
#include "runtime/spec.h"

#include <sys/types.h>

/* squashfuse_ll, else squashfuse, in $PATH; NULL when neither is.  */
char *hutch_squash_find_program (void);

/* Whether /dev/fuse can be opened: 0, or an error that says why not and
   what an administrator can do.  */
int hutch_squash_check_fuse (hutch_error_t *err);

/* In A, after its namespaces are made and before fuse-overlayfs (which
   may take the mount as its lower layer) and B: start SPEC's squashfuse
   and wait until its mount is there.  Returns its pid, or -1 with ERR
   saying why (no /dev/fuse, the program failed, with its message).  */
pid_t hutch_squash_start (const struct hutch_spec *spec, hutch_error_t *err);

/* In the watchdog, after the container's process ended: kill the daemon
   PID (when > 0), reap it and detach its mount, so that the container's
   directory can be removed.  */
void hutch_squash_stop (const struct hutch_spec *spec, pid_t pid);

void hutch_squash_free (struct hutch_squash *sq);

#endif
