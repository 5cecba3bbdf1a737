/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_SDSCOPE_H
#define HUTCH_SDSCOPE_H

/* A delegated cgroup from the user's systemd manager, for when the cgroup
   hutch runs in is not one it may write to: the equivalent of `systemd-run
   --user --scope -p Delegate=yes`, asked over D-Bus with libsystemd's sd-bus,
   which is loaded with dlopen only here (src/lazylib.h).  */

#include "base/error.h"

#include <stdbool.h>

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

#endif
