/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_PROCATTR_H
#define HUTCH_PROCATTR_H

/* What config.json says of the process that the kernel keeps per process
   and hands down over fork and exec: its OOM score adjustment, scheduler,
   I/O priority, umask, and the HOME it gets when its environment has
   none.  Set by the container's process before its exec (child.c), the
   same way by a process that enters the container (exec.c).  Each
   refusal names its JSON path and the kernel's reason.  */

#include "base/error.h"
#include "runtime/spec.h"

/* process.oomScoreAdj through the process's own /proc/self (checked to be
   procfs): before the root is pivoted into, while /proc is the host's.  A
   value below the current one needs CAP_SYS_RESOURCE of the host, which
   no user namespace gives: that is refused with the reason.  */
int hutch_child_oom_score_adj (const struct hutch_spec *spec, hutch_error_t *err);

/* process.scheduler, process.ioPriority and process.user.umask: after
   the rlimits, which decide what an unprivileged process may ask of the
   scheduler (RLIMIT_RTPRIO, RLIMIT_NICE).  */
int hutch_child_process_attrs (const struct hutch_spec *spec, hutch_error_t *err);

/* The home directory of UID in the passwd file whose text is PASSWD (at
   most its first 4 MiB are read by the caller), or NULL.  */
char *hutch_passwd_home (const char *passwd, unsigned int uid);

/* HOME=... for SPEC's process when its environment has no HOME: uid's
   entry in the passwd file beneath ROOTFD (the container's root, resolved
   there), else "/", as runc does.  Added to SPEC->env, which must be the
   calling process's own copy (B's, after its clone).  */
int hutch_child_set_home (struct hutch_spec *spec, int rootfd, hutch_error_t *err);

#endif
