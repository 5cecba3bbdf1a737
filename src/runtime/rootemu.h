/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_ROOTEMU_H
#define HUTCH_ROOTEMU_H

/* Root emulation for a container whose user namespace maps one id (the
   user's own, as 0): a user without a subordinate range, or
   --userns=single.  The kernel refuses such a container every owner but
   root (chown 42 is EINVAL), every change of ids and of the group list,
   and device nodes, which breaks package managers.  A second seccomp
   filter hands those calls to a handler through seccomp user
   notification, which answers them as root would, without the kernel's
   help:

     chown family      success; the owner is recorded in the file's
                       user.containers.override_stat (base/override.h)
     stat family       the recorded owner, for files that have one
     set*id, setgroups success, kept per process (and inherited by its
                       children) in the handler's table
     get*id, getgroups what the table says
     capset            the kernel's answer (the process has root's real
                       capabilities), with the emulated ids' bookkeeping
     mknod (devices)   an empty regular file, its type recorded

   Nothing is granted: the handler acts only on files the container
   reaches, as the container's root (it runs in the container's user and
   mount namespaces, with the container's root as its own), and the
   process keeps its real credentials.  */

#include "base/error.h"

struct hutch_seccomp;

/* The notifying filter (SECCOMP_FILTER_FLAG_NEW_LISTENER): installing it
   returns the listener's fd.  Calls of other architectures than the
   native one pass it untouched.  */
int hutch_rootemu_filter (struct hutch_seccomp **ret, hutch_error_t *err);

/* Answer LISTENER's notifications until no process uses the filter any
   more.  PROCFD: a /proc of the pid namespace the handler is in (the
   notifications' pids are of that namespace).  The calling process must
   have the container's root as its root and be in its mount namespace:
   paths are resolved as the container's processes resolve them.  */
void hutch_rootemu_serve (int listener, int procfd);

#endif
