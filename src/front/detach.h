/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_DETACH_H
#define HUTCH_DETACH_H

/* A recorded container's life (front/containers.h): run in the
   foreground, or handed to a monitor (helpers/monitor/) that outlives the
   command; and what other commands do to it (stop, kill, wait).  */

#include "base/error.h"
#include "front/containers.h"
#include "front/run.h"
#include "runtime/spec.h"

/* Fill C's own settings from hutch run's options (--rm, --restart,
   --log-driver, --log-opt, --detach-keys, -t, -i), refusing bad ones.  */
int hutch_ctr_options (const struct hutch_run_options *o, struct hutch_ctr *c, hutch_error_t *err);

/* The detach keys SPEC (docker's form: ctrl-p,ctrl-q) into RET (at most
   16) and *RET_N; "" is none.  */
int hutch_detach_keys_parse (const char *spec, unsigned char *ret, size_t *ret_n,
                             hutch_error_t *err);

/* Once its SPEC is made: what the record keeps of it (image id, command,
   stop signal, labels, anonymous volumes), config.json and seccomp.bpf
   written, the record saved.  A container that outlives the run takes
   its anonymous volumes from SPEC (they stay until hutch rm -v).  */
int hutch_ctr_prepared (struct hutch_ctr *c, struct hutch_spec *spec, hutch_error_t *err);

/* Run it in the foreground (hutch run without -d): as hutch_container_run,
   with the state written at the start and at the end.  */
int hutch_ctr_run (struct hutch_ctr *c, const struct hutch_spec *spec, int *ret_status,
                   hutch_error_t *err);

/* Start it under a monitor.  FORK: a new process becomes the monitor
   (run -d, start), and this returns once the container runs or failed to
   start; else this process becomes it (the monitor's restart) and returns
   only on failure.  MONITOR: hutch-monitor's path; SELF_ARGS: the command
   the monitor execs to restart or remove it (hutch's own path first).  */
int hutch_ctr_launch (struct hutch_ctr *c, struct hutch_spec *spec, const char *monitor,
                      char *const *self_args, bool fork, hutch_error_t *err);

/* Stop it: the stop signal, then SIGKILL after TIMEOUT seconds (-1: the
   container's own), and wait until its holder recorded the end.  No
   restart follows.  A container that does not run is fine.  */
int hutch_ctr_stop (struct hutch_ctr *c, int timeout, hutch_error_t *err);
/* Send SIG to its first process (checked by its start time).  */
int hutch_ctr_kill (struct hutch_ctr *c, int sig, hutch_error_t *err);
/* Wait until it has ended (once), and give its exit code.  */
int hutch_ctr_wait (struct hutch_ctr *c, int *ret_code, hutch_error_t *err);

#endif
