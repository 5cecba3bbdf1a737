/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_OCICGROUP_H
#define HUTCH_OCICGROUP_H

/* A container's cgroup as an OCI runtime deals with it: where
   linux.cgroupsPath puts it (runc's and crun's reading, under the cgroupfs
   or the systemd cgroup manager), and what the commands of runc's command
   line do to it once it exists (pause, resume, kill --all, ps, update,
   delete), given its path on the host.  hutch's own `pause` freezes
   through here too.  */

#include "base/error.h"
#include "runtime/cgroup.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct hutch_resource;

/* Read CGROUPS_PATH (linux.cgroupsPath; NULL or "" when not given) of the
   container ID under MANAGER (AUTO reads as CGROUPFS), as root or
   ROOTLESS, into *RET (cleared first; free with
   hutch_cgroup_request_clear).
   - cgroupfs, empty: AUTO, hutch's own placement (BASE/hutch-ID, where
     `hutch run` puts a container: a delegated cgroup, or none rootless
     when there is none and no limit asks for one; runc and crun fail
     there, or go without a cgroup).
   - cgroupfs, "/a/b": the cgroup /a/b of the cgroup2 hierarchy, as
     root and rootless (as runc and crun): the same path names the same
     cgroup whoever asks, and rootless the kernel lets it be made only
     inside a cgroup delegated to the user.
   - cgroupfs, "a/b": as root, below the parent of the caller's own
     cgroup (runc's reading: the caller's cgroup itself has processes, so
     its children could not get controllers; crun reads it as "/a/b").
     Rootless, below the cgroup delegated to the user that hutch finds
     (its own, or a systemd scope): the parent of the caller's cgroup,
     runc's choice, is a login session's slice that no user may write to,
     so that a relative path could never work rootless.
   - systemd, "SLICE:PREFIX:NAME": the scope PREFIX-NAME.scope (NAME.scope
     without a prefix) in SLICE (default: system.slice as root,
     user.slice rootless, as runc); empty: hutch-oci-ID.scope.  A NAME
     that is a slice (runc makes the slice then) is refused.
   - disabled: no cgroup; CGROUPS_PATH is not used.
   Refused with what is wrong: a `..` component, a path that names the
   root cgroup, a systemd path not of three parts, names with characters
   systemd refuses.  Pure: no file is read.  */
int hutch_cgroup_path_from_oci (const char *cgroups_path, enum hutch_cgroup_manager manager,
                                const char *id, bool rootless, struct hutch_cgroup_request *ret,
                                hutch_error_t *err);

/* The host path of the cgroup of REQ (CGROUPFS), as above: MOUNT is the
   cgroup2 mount point, MOUNT_ROOT the cgroup it shows ("/" unless it
   shows a subtree), OWN_REL the caller's cgroup as /proc/self/cgroup
   names it, BASE the cgroup delegated to the user (a host path; only for
   a relative path rootless).  Pure.  */
int hutch_cgroup_resolve (const struct hutch_cgroup_request *req, const char *mount,
                          const char *mount_root, const char *own_rel, const char *base,
                          char **ret_path, hutch_error_t *err);

/* Freeze (ON) or thaw the cgroup PATH and what is below it, and wait (at
   most 10 s) until cgroup.events says it is done, as runc and crun do:
   "paused" is then true when the command returns.  A freeze that does not
   complete (a process in an uninterruptible wait: a disk, an NFS server)
   is undone, and is an error.  A cgroup that went away meanwhile (the
   container ended) is not an error: the caller looks at the container
   again.  */
int hutch_cgroup_freeze (const char *path, bool on, hutch_error_t *err);

/* 1 when the cgroup PATH is frozen (cgroup.freeze, what was asked: what
   `state` reports as paused), 0 when not, -1 when it has no freezer or is
   gone.  */
int hutch_cgroup_frozen (const char *path);

/* The processes of the cgroup PATH and of the cgroups below it (a
   container may make some), as cgroup.procs lists them: for `ps`.  */
int hutch_cgroup_pids (const char *path, pid_t **ret_pids, size_t *ret_n, hutch_error_t *err);

/* Send SIG to every process of the cgroup PATH and below (`kill --all`).
   SIGKILL through cgroup.kill (Linux 5.14), which the kernel applies to
   all at once, also to what forks meanwhile.  Else the cgroup is frozen
   first, its processes signalled, then thawed (unless it was frozen
   before: a paused container stays paused, its processes take the signal
   when it resumes): frozen, no process can fork a child that the list
   misses, nor exit and have its pid reused by another process before it
   is signalled.  Without a freezer, each listed process is signalled as
   it is.  */
int hutch_cgroup_signal_all (const char *path, int sig, hutch_error_t *err);

/* Write the N settings of RES (hutch_resources_update_from_oci or
   hutch_resources_update_from_flags) into the cgroup PATH, for `update`.
   When REQ says the systemd manager made it, its scope (the last part
   of PATH) gets them as properties first, so that systemd keeps them.  */
int hutch_cgroup_update (const char *path, const struct hutch_cgroup_request *req,
                         const struct hutch_resource *res, size_t n, hutch_error_t *err);

/* Remove the cgroup PATH (and the cgroups the container made below it)
   for `delete`: what still runs there is killed first (cgroup.kill, or
   SIGKILL to each process), as runc's delete does, for processes that
   outlived the container's first one without a PID namespace.  A cgroup
   that is not there is not an error (systemd removes an empty scope by
   itself).  */
int hutch_cgroup_remove (const char *path, hutch_error_t *err);

#endif
