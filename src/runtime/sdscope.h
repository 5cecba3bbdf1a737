/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_SDSCOPE_H
#define HUTCH_SDSCOPE_H

/* A delegated cgroup from the user's systemd manager, for when the cgroup
   hutch runs in is not one it may write to: the equivalent of `systemd-run
   --user --scope -p Delegate=yes`, asked over D-Bus with libsystemd's sd-bus,
   which is loaded with dlopen only here (src/lazylib.h).  And the scope of
   a container whose runtime was told to use systemd as its cgroup manager
   (hutch-oci --systemd-cgroup), from the system's manager as root.  */

#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct hutch_resource;

/* True when a user manager looks reachable: $DBUS_SESSION_BUS_ADDRESS is
   set, or $XDG_RUNTIME_DIR/systemd/private (the manager's own socket) or
   $XDG_RUNTIME_DIR/bus is a socket owned by us.  Cheap: no dlopen, no
   connection.  */
bool hutch_sdscope_available (void);

/* Ask the user's systemd manager for a transient scope UNIT (such as
   "hutch-1234.scope") with Delegate=yes holding this process, and wait (at
   most 10 s) until its start job is done.  On success this process is in
   the scope's cgroup: re-read /proc/self/cgroup.  Returns 0, or -1 with
   ERR saying what failed and how to fix it (hutch built without libsystemd,
   libsystemd.so.0 missing, no user manager running, or the manager's
   refusal with its D-Bus error).  */
int hutch_sdscope_enter (const char *unit, hutch_error_t *err);

/* Ask systemd for the transient scope UNIT in SLICE (NULL: the manager's
   default) holding process PID, with Delegate=yes, and wait (at most
   10 s) until it started.  SYSTEM: the system's manager (PID 1, over
   /run/systemd/private: root only); else the user's, as
   hutch_sdscope_enter.  The N settings of RES (cgroup v2 files) that
   systemd has a property for go with it (MemoryMax, TasksMax, CPUWeight,
   CPUQuotaPerSecUSec, IOWeight, AllowedCPUs...): systemd writes its
   unit's properties again at each `daemon-reload`, over what was written
   to the files.  */
int hutch_sdscope_start (bool system, const char *unit, const char *slice, pid_t pid,
                         const struct hutch_resource *res, size_t n, hutch_error_t *err);

/* Tell systemd the new settings of UNIT (SetUnitProperties, for as long as
   it runs), for the same reason.  */
int hutch_sdscope_set_limits (bool system, const char *unit, const struct hutch_resource *res,
                              size_t n, hutch_error_t *err);

#endif
