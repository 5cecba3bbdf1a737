/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_SYNC_H
#define HUTCH_SYNC_H

/* The launcher (P) and its children talk over one SOCK_SEQPACKET pair.

   P clones A with CLONE_NEWUSER only and writes A's id maps.  A creates
   the other namespaces, clones B with CLONE_PARENT (so B, PID 1 of the new
   PID namespace, is P's own child), reports B's pid and stays behind as a
   watchdog.  B builds the root and executes the process; the socket is
   close-on-exec, so P reads end-of-file once the exec happened.  */

#include "base/error.h"
#include "runtime/spec.h"

#include <signal.h>
#include <sys/types.h>

enum hutch_msg_type
{
  HUTCH_MSG_MAPS_OK = 1, /* P -> A: the maps are written */
  HUTCH_MSG_PID,         /* A -> P: B's pid */
  HUTCH_MSG_ARMED,       /* B -> P: PR_SET_PDEATHSIG is set */
  HUTCH_MSG_GO,          /* P -> B: still alive, carry on */
  HUTCH_MSG_PTY,         /* B -> P: the terminal's master (SCM_RIGHTS) */
  HUTCH_MSG_EXECING,     /* B -> P: setup is done, exec follows */
  HUTCH_MSG_ERROR,       /* A or B -> P: setup failed */
  /* A container that outlives its creator (extra.outlive, hutch-oci
     create): B builds everything before the start, then lets P go.  */
  HUTCH_MSG_CREATED,  /* B -> P: the root is built, the process waits */
  HUTCH_MSG_RELEASE,  /* P -> B: the state is written; stop dying with P */
  HUTCH_MSG_RELEASED, /* B -> P: its parent-death signal is off */
  /* With a network helper (extra.slirp), which sets up the network while
     B builds the root: B waits for it after its setup.  */
  HUTCH_MSG_NETWORK, /* P -> B: the network is up */
  /* hutch run -> the user namespace keeper (nsahead.h): a namespace for
     what TEXT says (the mode and the limits it is made with), please
     (MAPS_OK with it, or ERROR).  */
  HUTCH_MSG_USERNS_WANT,
};

struct hutch_msg
{
  int type;
  int pid;
  int errnum;
  int exit_code;
  char text[3800];
};

/* Send M, with FD attached when FD >= 0.  */
int hutch_msg_send (int sock, const struct hutch_msg *m, int fd);
/* Returns 1 for a message, 0 at end-of-file, -1 on error.  A received fd
   is stored in *RET_FD (closed when RET_FD is NULL).  */
int hutch_msg_recv (int sock, struct hutch_msg *m, int *ret_fd);
/* The same with N fds (at most 8) attached; received ones go to FDS (at
   most MAX, any more are closed), their number to *RET_N.  */
int hutch_msg_send_fds (int sock, const struct hutch_msg *m, const int *fds, size_t n);
int hutch_msg_recv_fds (int sock, struct hutch_msg *m, int *fds, size_t max, size_t *ret_n);
/* Report ERR to P and _exit with its exit code.  */
void hutch_msg_fail (int sock, hutch_error_t *err) __attribute__ ((noreturn));

/* What the launcher hands its children: the spec (never changed after
   create) and this run's own state.  */
struct hutch_child_ctx
{
  const struct hutch_spec *spec;
  int cgroupfd;              /* the container's cgroup, or -1 */
  const char *cgroup_path;   /* its host path, or NULL */
  unsigned short rows, cols; /* the terminal's size at start, 0 when unknown */
  int sock;                  /* the children's end of the socket */
  int watchfd;               /* read end of a pipe whose write end only P holds */
  int initfd;                /* hutch-init, opened in the host's view, or -1 */
  /* Namespaces made ahead of time (nsahead.h), by HUTCH_NS_*, or -1: a
     user namespace A joins first instead of P cloning it into a new one,
     and the network, UTS and IPC namespaces made in it, which A joins
     instead of making them.  */
  int ahead[HUTCH_NS_COUNT];
  /* extra.outlive: the listening socket on which B waits for the start
     (hutch-oci start connects to it), or -1.  */
  int startfd;
  /* extra.outlive: B waits for the start not dumpable (child.c's
     wait_for_start), as the caller can still reach it then.  */
  bool wait_nondumpable;
  /* With root emulation (spec->rootemu): B's end of the socket over which
     it sends the emulation filter's listener to the handler, or -1; A
     makes the pair and keeps the other end for the handler.  */
  int emu_sock;
  bool in_cgroup; /* B was cloned into CGROUPFD */
  bool host_root; /* P is the host's root (not root of a user namespace) */
  /* A's squashfuse for extra.squash (runtime/squashmount.h), or 0.  */
  pid_t squashfuse;
  pid_t parent;
  sigset_t oldmask;
};

/* A's body (never returns).  */
void hutch_child_main (struct hutch_child_ctx *c) __attribute__ ((noreturn));

/* The steps of B that a process entering a running container (exec,
   src/runtime/exec.c) takes the same way, in child.c so that there is one
   copy of each.  */

/* A session keyring of the process's own (keyrings are not namespaced:
   the caller's would be readable inside), then SPEC's rlimits.  */
int hutch_child_keyring_rlimits (const struct hutch_spec *spec, hutch_error_t *err);
/* The bounding set, the supplementary groups (unless SPEC keeps the
   caller's), gid, uid, then the capability sets, as root of the user
   namespace.  SETGROUPS_ARE_DENIED: the namespace's setgroups file says
   "deny"; the caller reads it (B from its own /proc, exec on the host's
   before it joins: a container's /proc is the container's to fake).  */
int hutch_child_set_user (const struct hutch_spec *spec, bool setgroups_are_denied,
                          hutch_error_t *err);
/* execve ARGV[0] with SPEC's environment, looked up in SPEC's PATH as a
   shell does.  Returns only on failure: 127 when nothing was found, 126
   when something was that cannot run.  */
int hutch_child_exec_program (const struct hutch_spec *spec, char **argv, hutch_error_t *err);
/* Whether ARGV0 would be found and could be executed by
   hutch_child_exec_program (in SPEC's PATH): 0, or 127 (not found) and
   126 (cannot run) as its errors.  */
int hutch_child_find_program (const struct hutch_spec *spec, const char *argv0, hutch_error_t *err);
/* Make the pty whose MASTER is given this process's controlling terminal
   and stdio, in a session of its own, sized ROWS x COLS (0: as it is),
   and send MASTER to hutch over SOCK (HUTCH_MSG_PTY).  */
int hutch_child_take_pty (int master, unsigned short rows, unsigned short cols, int sock,
                          hutch_error_t *err);

#endif
