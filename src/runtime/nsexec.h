/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_NSEXEC_H
#define HUTCH_NSEXEC_H

/* Run a function as root of a fresh user namespace with the user's full
   subordinate mapping: how files owned by subordinate ids are made
   (unpacking a layer) and removed (rmi, prune, a container's upper
   directory) without any privilege on the host.  */

#include "base/error.h"

#include <stddef.h>

typedef int (*hutch_userns_fn) (void *arg, hutch_error_t *err);

/* Fork a child into a new user namespace (the default map: 0 -> the user,
   1..N -> the subordinate range), run FN(ARG) there as uid 0 and return
   its result; an error of FN comes back in ERR.  Without a subordinate
   range the namespace maps only the user (as root), and FN must cope with
   files it cannot chown.  */
int hutch_in_userns (hutch_userns_fn fn, void *arg, hutch_error_t *err);

/* The same, without waiting: FN runs in the child while the caller goes
   on, and may leave a short text result in OUT (a layer's diff_id).  The
   child keeps only stdin, stdout, stderr and the N_KEEP fds of KEEP.  The
   caller must not ignore SIGCHLD, and ends each job with exactly one of
   _finish (wait for it and collect its result) or _cancel (kill it).  */
#define HUTCH_USERNS_OUT_MAX 256
struct hutch_userns_job;
typedef int (*hutch_userns_out_fn) (void *arg, char *out, size_t out_len, hutch_error_t *err);
int hutch_userns_start (hutch_userns_out_fn fn, void *arg, const int *keep, size_t n_keep,
                        struct hutch_userns_job **ret, hutch_error_t *err);
int hutch_userns_finish (struct hutch_userns_job *job, char *ret_out, size_t out_len,
                         hutch_error_t *err);
void hutch_userns_cancel (struct hutch_userns_job *job);

/* Remove PATH and everything below it: as ourselves when we can, else
   from inside such a namespace.  A missing PATH is not an error.  */
int hutch_userns_remove (const char *path, hutch_error_t *err);

#endif
