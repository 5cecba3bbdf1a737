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
#include <stdint.h>

struct hutch_spec;

/* What this host offers, found without changing anything.  */
struct hutch_cgroup_host
{
  char *mount;          /* the cgroup2 mount point, or NULL */
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

/* What the launcher changed, to undo after the container.  */
struct hutch_cgroup_run
{
  char *base;     /* the delegated cgroup the container's cgroup is in */
  char *leaf;     /* the leaf hutch moved itself into, or NULL */
  char **enabled; /* controllers hutch enabled in BASE's subtree_control */
  char *path;     /* the container's own cgroup (host path), or NULL */
  int fd;         /* its directory, or -1 */
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

/* Kill what is left in the cgroup NAME of PARENTFD (a path with AT_FDCWD)
   and remove it with the cgroups below it.  The watchdog uses it with fds
   when hutch died: after the container's pivot_root its paths no longer
   lead to the host's cgroup filesystem.  */
void hutch_cgroup_remove_at (int parentfd, const char *name);

#endif
