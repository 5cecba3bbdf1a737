/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_CONTAINER_H
#define HUTCH_CONTAINER_H

#include "base/error.h"
#include "runtime/spec.h"

#include <sys/types.h>

/* A container's life in steps, on a spec that nothing here changes (it
   must outlive the container object):

     create  the namespaces (the user namespace first), the id maps, the
             cgroup with its limits, the root, the network; the first
             process then waits before its exec
     start   let it exec
     wait    forward signals, copy a terminal, until it ends
     kill    send it a signal
     delete  kill what is left, end the network, remove the cgroup, free

   The calling process is the container's parent and keeps a signalfd and
   the watchdog's pipe from create to delete: it is what the container
   dies with.  A small monitor process can hold that part later; the
   steps stay the same.  One container a process at a time: create blocks
   the signals it forwards and delete restores the mask, and the children
   are reaped with waitpid (-1), which would take another container's.  */
struct hutch_container;

enum hutch_container_status
{
  HUTCH_CONTAINER_CREATING,
  HUTCH_CONTAINER_CREATED,
  HUTCH_CONTAINER_RUNNING,
  HUTCH_CONTAINER_STOPPED,
};

struct hutch_container_state
{
  enum hutch_container_status status;
  pid_t pid;               /* the container's first process (host pid), or -1 */
  const char *cgroup_path; /* its own cgroup, or NULL */
  char *const *ports;      /* "PORT/PROTO -> HOSTIP:HOSTPORT" per published port, or NULL */
  int pty_master;          /* the terminal's master, with process.terminal, or -1 */
};

/* What a monitor (helpers/monitor/) needs to hold a running container
   when the process that created it execs the monitor: the pids stay its
   children across the exec, and the fds below are made inheritable.
   Valid until the container object is deleted; the caller then execs
   (and, should the exec fail, deletes the container).  */
struct hutch_container_handoff
{
  pid_t a, b;
  int watch_fd;    /* closing it makes the watchdog A kill B */
  int slirp_pidfd; /* the network helper, or -1 */
  int pty_master;  /* with a terminal, or -1 */
  const char *cgroup_path, *cgroup_base, *cgroup_leaf;
  char *const *cgroup_enabled;
};
int hutch_container_handoff (struct hutch_container *c, struct hutch_container_handoff *ret,
                             hutch_error_t *err);

/* On failure err->exit_code says 125 (hutch) or, for a terminating signal
   to the caller during the setup, 128+N (errnum EINTR); nothing is left.  */
int hutch_container_create (const struct hutch_spec *spec, struct hutch_container **ret,
                            hutch_error_t *err);
/* On failure err->exit_code says 125, 126 (cannot execute) or 127 (not
   found); the container is then stopped and can only be deleted.  */
int hutch_container_start (struct hutch_container *c, hutch_error_t *err);
/* A container made with extra.outlive: hutch_container_create builds it
   whole (root, user, working directory), and its first process waits on
   extra.start_socket.  Release lets it go on without the caller (who has
   written down its state by then): C is freed, nothing is killed, the
   cgroup stays; the process becomes the child of the caller's subreaper
   once the caller ends.  On failure C is untouched: delete it.  */
int hutch_container_release (struct hutch_container *c, hutch_error_t *err);
/* The start of such a container: SOCKFD is a connection to its start
   socket, PID its process's (for the state its startContainer hooks
   read).  Returns once the process has exec'd; errors as
   hutch_container_start's.  */
int hutch_container_start_outlived (int sockfd, pid_t pid, hutch_error_t *err);

/* The terminal's master goes elsewhere (hutch-oci run --console-socket
   sent it to its caller): the wait copies nothing, and C's copy is
   closed.  */
void hutch_container_drop_terminal (struct hutch_container *c);

/* *RET_STATUS: the process's exit code, or 128+N for a signal.  */
int hutch_container_wait (struct hutch_container *c, int *ret_status, hutch_error_t *err);
int hutch_container_kill (struct hutch_container *c, int sig, hutch_error_t *err);
void hutch_container_state (const struct hutch_container *c, struct hutch_container_state *ret);
const char *hutch_container_status_name (enum hutch_container_status s);
void hutch_container_delete (struct hutch_container *c);

/* Run SPEC in the foreground: create, start, wait, delete.  On success
   *RET_STATUS is what the front end should exit with: the process's code,
   or 128+N for a signal (also one that came during the setup).  On
   failure err->exit_code says 125 (hutch), 126 (cannot execute) or 127
   (not found).  */
int hutch_container_run (const struct hutch_spec *spec, int *ret_status, hutch_error_t *err);

/* Whether the helper program PATH (hutch-init or hutch-slirp, where
   hutch_paths_helper found it) can be run, with the fix when not: what
   hutch_container_create checks for the helpers SPEC needs before it
   makes anything, and what hutch info reports for both.  */
int hutch_container_check_helper (const char *path, hutch_error_t *err);

/* A copy of the program at PATH in a memfd named NAME, sealed so that no
   one can change it (the class of CVE-2019-5736: a container writing to
   /proc/PID/exe), close-on-exec; -1 with errno.  hutch-init runs from one
   as PID 1, hutch exec re-runs hutch from one.  */
int hutch_sealed_copy (const char *path, const char *name);

/* Explain why creating a user namespace failed with ERRNUM, reading the
   knobs under PROCSYS ("/proc/sys" on a real host).  Always returns < 0.  */
int hutch_userns_diagnose (const char *procsys, int errnum, hutch_error_t *err);

#endif
