/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_DEVICES_H
#define HUTCH_DEVICES_H

/* Device nodes of the host in the container: `hutch run --device` and
   config.json's linux.devices.  A user namespace may not make device nodes
   (mknod of one needs CAP_MKNOD in the initial user namespace), so each is
   a bind mount of the host's own node, as podman and crun do rootless: the
   container can open it exactly as far as the user can on the host, and
   no further (see devices.c).  */

#include "base/error.h"
#include "runtime/spec.h"

/* --device HOST[:CONTAINER][:PERMS], appended to *LIST (*N entries).
   HOST is a character or block device, or a directory whose device nodes
   (below it, symlinks not followed) are all added under CONTAINER.  PERMS
   (r, w) must name exactly the access you have to the node: hutch can
   neither grant more nor, without a device cgroup, take any away; `m`
   (mknod) is refused, since no user namespace may make a device node.
   Without PERMS, the node is added with the access you have.  */
int hutch_device_parse (const char *value, struct hutch_device **list, size_t *n,
                        hutch_error_t *err);

/* linux.devices of a config.json (a json_t array) into SPEC.  Each node is
   the host's at the same path, of the same type and number; fileMode, uid
   and gid cannot be given to a bound node, so they must be the host
   node's or left out.  */
int hutch_devices_from_oci (void *json_devices, struct hutch_spec *spec, hutch_error_t *err);

/* Before the start: each host node is still the one the spec names, and
   the user can open it as the spec asks.  */
int hutch_devices_check (const struct hutch_spec *spec, hutch_error_t *err);

/* In B, in the host's view (before the root covers anything): a detached
   clone of each host node, checked again to be that node; *RET_FDS has
   SPEC's n_devices entries.  */
int hutch_devices_capture (const struct hutch_spec *spec, int **ret_fds, hutch_error_t *err);
/* Attach the clones at their paths in the root ROOTFD.  */
int hutch_devices_attach (const struct hutch_spec *spec, const int *fds, int rootfd,
                          hutch_error_t *err);
void hutch_devices_close (int *fds, size_t n);

/* linux.resources.devices' deny-all rule (SPEC->devices_deny_all) as
   the kernel enforces it for the host's root: a BPF device program on the
   container's cgroup v2 directory CGROUPFD that lets its processes make
   and open only the devices it is given (null, zero, full, random,
   urandom, tty, console, ptmx, the pty slaves, and linux.devices), as
   runc does.  Loading and attaching one takes CAP_SYS_ADMIN of the host:
   the host's root calls it, either as the container's own process when
   it has no user namespace (child.c), or as the launcher.  */
int hutch_devices_limit (const struct hutch_spec *spec, int cgroupfd, hutch_error_t *err);

/* As the container's process, after its change of user and before its
   exec: it can open each node as asked (a group the user reaches it
   through may be gone with setgroups).  */
int hutch_devices_check_process (const struct hutch_spec *spec, hutch_error_t *err);

#endif
