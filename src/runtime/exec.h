/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_EXEC_H
#define HUTCH_EXEC_H

/* Running another process in a running container (`hutch exec`): its
   namespaces joined through a pidfd of the container's first process
   (the user namespace first), its cgroup, and its process attributes
   (user, capabilities, no_new_privs, rlimits, seccomp filter) as the
   container's own process got them (src/runtime/child.c's functions).
   exec.c says, step by step, why each is safe.  */

#include "base/error.h"
#include "runtime/spec.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct hutch_exec
{
  /* The container's first process, as its state recorded it: the pid and
     its start time (hutch_state_pid_start), so that a pid used again by
     another process is never entered.  */
  pid_t pid;
  unsigned long long pid_start;
  /* The container's configuration (hutch_spec_load_saved: config.json
     and seccomp.bpf).  The call changes it: the overrides below are
     applied to it before anything is joined.  */
  struct hutch_spec *spec;
  const char *cgroup; /* its cgroup (host path), or NULL */
  char **argv;        /* the command */
  /* KEY=VALUE set over the container's environment (-e, --env-file),
     or NULL.  */
  char **env;
  /* -u: the user, already resolved in the container's own /etc/passwd
     and /etc/group (hutch_exec_open_root gives the root to read them
     in); HOME is set to HOME (unless ENV sets it).  */
  bool has_user;
  unsigned int uid, gid;
  const unsigned int *groups;
  size_t n_groups;
  const char *home;
  const char *workdir; /* -w, absolute, or NULL: the container's */
  bool tty;            /* -t: a pty of the container's own */
  bool interactive;    /* -i: stdin stays attached */
  bool detach;         /* -d: return once the process runs */
  /* --privileged: every capability of the container's bounding set,
     never one more.  */
  bool privileged;
  /* With -it, the keys that detach from the process and leave it
     running (--detach-keys as front/detach.c parses it); DETACH_LEN 0:
     none.  */
  const char *detach_keys;
  size_t detach_len;
  /* hutch-oci exec --detach: the process stays the caller's child (not
     forked again, so that the caller's subreaper reaps it, as
     containerd's shim and conmon do), keeps the stdio it was given, and
     the call returns once it runs.  DETACH must be false.  */
  bool keep_child;
  /* fds 3 .. 3+PRESERVE_FDS-1 go to the process (hutch-oci
     --preserve-fds).  */
  int preserve_fds;
  /* Called once the process runs, before the wait, or NULL: its host
     pid, and with TTY and HAND_MASTER the terminal's master, which is
     then not copied to and from stdio (hutch-oci sends it to its
     --console-socket; the callee keeps it or closes it; -1 otherwise).
     A failure is the call's.  */
  int (*running) (void *data, pid_t pid, int master, hutch_error_t *err);
  void *running_data;
  bool hand_master;
};

/* Run X's command in the container and wait for it: *RET_STATUS is its
   exit code, or 128+N when signal N ended it (0 once it runs, with
   detach, or once the user detached).  Errors: a container that is not
   running (exit 125, and says so), a command that cannot run (126) or is
   not found (127), as hutch run's.  */
int hutch_container_exec (const struct hutch_exec *x, int *ret_status, hutch_error_t *err);

/* An O_PATH fd of the root of the container whose first process is PID
   (started at PID_START), to read its /etc/passwd in (with
   RESOLVE_IN_ROOT: src/base/walk.h).  */
int hutch_exec_open_root (pid_t pid, unsigned long long pid_start, int *ret_rootfd,
                          hutch_error_t *err);

/* Make sure that the running hutch is a sealed copy of itself: when it
   is not, copy /proc/self/exe into a sealed memfd and execute that with
   the same command line (/proc/self/cmdline) and environment.  Returns 0
   in the sealed copy (at once, when it is one already).  Why: see
   exec.c.  Also gives a closed fd 0, 1 or 2 /dev/null: call it before
   anything of exec opens an fd.  */
int hutch_exec_seal_self (hutch_error_t *err);

#endif
