/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_CGROUP_H
#define HUTCH_CGROUP_H

/* cgroup v2 for unprivileged users: find a subtree delegated to us, give
   each container a child cgroup with its limits, remove it afterwards.
   Only the launcher (P) uses this, before the container's processes exist
   and after they are gone; the container's first process only joins the
   cgroup (hutch_cgroup_join).  */

#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct hutch_spec;

/* What this host offers, found without changing anything.  */
struct hutch_cgroup_host
{
  char *mount;          /* the cgroup2 mount point, or NULL */
  char *mount_root;     /* the cgroup it shows at MOUNT ("/", or more in a cgroup namespace) */
  bool v1;              /* some v1 hierarchy is mounted (hybrid or v1 only) */
  char *v1_controllers; /* the controllers v1 holds, space-separated, or NULL */
  char *own;            /* absolute path of the cgroup we run in, or NULL */
  char *own_rel;        /* the same as /proc/self/cgroup shows it */
  bool is_root;         /* OWN is the hierarchy's real root */
  bool delegated;       /* we may create children and move processes there */
  bool systemd_managed; /* delegated by ownership, but under a systemd user manager
                          without its delegation mark: a scope of its own is better */
  char *why_not;        /* when not delegated: why, as a sentence */
  char *controllers;    /* cgroup.controllers of OWN: what children can get */
  char *v2_controllers; /* cgroup.controllers of MOUNT's root: what cgroup v2 has at all */
};

int hutch_cgroup_probe (struct hutch_cgroup_host *h, hutch_error_t *err);
void hutch_cgroup_host_clear (struct hutch_cgroup_host *h);

/* Why limits that need the controllers NEED (NULL-terminated; NULL: those
   of hutch run's options) cannot be set on this host whatever is
   delegated: only cgroup v1 is mounted, or v1 holds those controllers (a
   hybrid host), and a cgroup v1 controller cannot be in the v2 hierarchy
   nor be delegated to unprivileged users.  "CAUSE; fix: HOW", the fix an
   administrator's, or NULL when cgroup v2 can have them.
   hutch_cgroup_setup says it before anything about delegation, which
   cannot help there; hutch info says the same.  */
char *hutch_cgroup_v2_missing (const struct hutch_cgroup_host *h, const char *const *need);

/* Who places the container's cgroup: hutch-oci's --cgroup-manager (and
   runc's --systemd-cgroup).  */
enum hutch_cgroup_manager
{
  HUTCH_CGROUP_AUTO = 0, /* hutch's own placement: BASE/hutch-ID (`hutch run`'s) */
  HUTCH_CGROUP_CGROUPFS, /* a path of the cgroup2 file system, made by hutch */
  HUTCH_CGROUP_SYSTEMD,  /* a transient scope that a systemd manager makes */
  HUTCH_CGROUP_DISABLED, /* no cgroup of its own (as extra.cgroups_disabled) */
};

/* Where an OCI runtime was told to put the container's cgroup:
   linux.cgroupsPath read under a manager (hutch_cgroup_path_from_oci, in
   src/runtime/ocicgroup.h), for hutch_cgroup_setup_request.  */
struct hutch_cgroup_request
{
  enum hutch_cgroup_manager manager;
  bool rootless; /* hutch-oci --rootless: places relative paths, picks the user's manager */
  /* CGROUPFS: the cgroup, cleaned ("a/b", no `.`, `..` or empty
     components).  ABSOLUTE: from the root of the cgroup2 mount; else from
     the parent of the caller's cgroup (as root, as runc does) or from the
     cgroup delegated to the user (rootless).  */
  char *path;
  bool absolute;
  /* SYSTEMD: the slice ("system.slice") and the scope ("runc-ID.scope").  */
  char *slice;
  char *unit;
};

void hutch_cgroup_request_clear (struct hutch_cgroup_request *r);

/* What the launcher changed, to undo after the container.  */
struct hutch_cgroup_run
{
  char *base;     /* the delegated cgroup the container's cgroup is in */
  char *leaf;     /* the leaf hutch moved itself into, or NULL */
  char **enabled; /* controllers hutch enabled in BASE's subtree_control */
  char *path;     /* the container's own cgroup (host path), or NULL */
  int fd;         /* its directory, or -1 */
  /* A systemd scope (HUTCH_CGROUP_SYSTEMD): its unit and manager, and
     the placeholder process that holds it until the container's first
     process is in (hutch_cgroup_settle).  */
  char *unit;
  bool system_manager;
  pid_t holder;
  char *pending_pids; /* pids.max, written once the placeholder is gone */
};

#define HUTCH_CGROUP_RUN_INIT                                                                      \
  {                                                                                                \
    .fd = -1                                                                                       \
  }

/* Give the container its own cgroup under a delegated subtree, with the
   controllers its limits need and spec->resources written; sets RUN's
   path and fd.  RUN starts as HUTCH_CGROUP_RUN_INIT.  Without delegation and without
   limits: nothing (the container shares hutch's cgroup), *RET_NOTE says
   why (may be NULL).  Asking for a limit without delegation fails with how
   to get it.  */
int hutch_cgroup_setup (const struct hutch_spec *spec, struct hutch_cgroup_run *run,
                        char **ret_note, hutch_error_t *err);

/* The same, where REQ (may be NULL: hutch_cgroup_setup) says where the
   container's cgroup goes.  AUTO: as hutch_cgroup_setup.  DISABLED: no
   cgroup (limits refused).  CGROUPFS: the cgroup at REQ's path, made with
   the cgroups above it that are missing; controllers the limits need are
   enabled along that path (as root; rootless the kernel lets the user do
   that only below a delegated cgroup); a cgroup that exists already is
   taken when no process is in it.  SYSTEMD: a transient scope of the
   system's (as root) or the user's (rootless) manager, with Delegate=yes
   and the limits as its properties too (a `systemctl daemon-reload` would
   otherwise write systemd's values over them); the caller must call
   hutch_cgroup_settle once the container's first process is in it.  */
int hutch_cgroup_setup_request (const struct hutch_spec *spec,
                                const struct hutch_cgroup_request *req,
                                struct hutch_cgroup_run *run, char **ret_note, hutch_error_t *err);

/* Once the container's first process is in RUN's cgroup: a systemd
   scope's placeholder (a scope cannot be made empty) goes, and pids.max,
   which it would have counted against, is written.  Nothing to do for
   other cgroups.  */
int hutch_cgroup_settle (struct hutch_cgroup_run *run, hutch_error_t *err);

/* After the container: kill what is left in its cgroup, remove it, undo
   RUN.  Returns the number of OOM kills memory.events counted; sets
   *RET_WARNING (may be NULL) when the cgroup could not be removed.  */
uint64_t hutch_cgroup_teardown (struct hutch_cgroup_run *run, char **ret_warning);

/* For a container's monitor to be: the process that forks it is not alone
   in its cgroup (the launcher waits for it), so neither could enable the
   controllers SPEC's limits need there.  The launcher moves itself into a
   leaf of its own and enables them first, where its cgroup is delegated
   and they are missing; the monitor, forked afterwards, is born in that
   leaf and finds them enabled.  1 when it did, 0 when there was nothing to
   do or it could not (the container's setup then says why).  */
int hutch_cgroup_launcher_leaf (const struct hutch_spec *spec);

/* In the container's first process, before anything else: move the
   calling process into the cgroup CGROUPFD (when clone3 could not place
   it there).  */
int hutch_cgroup_join (int cgroupfd, hutch_error_t *err);

/* Write the N settings of RES into the cgroup PATH (its directory FD),
   in order.  A missing file is an error that says why (a controller not
   enabled there, or held by cgroup v1), except for an IMPLIED setting,
   which is skipped.  */
struct hutch_resource;
int hutch_cgroup_write_resources (int fd, const char *path, const struct hutch_resource *res,
                                  size_t n, hutch_error_t *err);

/* Kill what is left in the cgroup NAME of PARENTFD (a path with AT_FDCWD)
   and remove it with the cgroups below it.  The watchdog uses it with fds
   when hutch died: after the container's pivot_root its paths no longer
   lead to the host's cgroup filesystem.  */
void hutch_cgroup_remove_at (int parentfd, const char *name);

#endif
