/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_OCIRT_H
#define HUTCH_OCIRT_H

/* The containers of the OCI runtime command line (hutch-oci, runc's
   shape), which an engine (podman's conmon, containerd's shim, Slurm)
   drives one command at a time.  Each container is a directory of the
   runtime's state directory (--root):

     ROOT/ID/state        its state (src/runtime/state.h: pid with its
                          start time, status, bundle, cgroup, times)
     ROOT/ID/config.json  the configuration it runs with, and
     ROOT/ID/seccomp.bpf  its filter (src/runtime/specjson.h), for exec
     ROOT/ID/start        the socket its first process waits on between
                          create and start

   No process of hutch's stays behind: after create, the container's
   first process is the only one, the caller's child once the caller's
   subreaper took it (containerd's shim, conmon), and the status is read
   from the pid and its start time.  Errors say "container does not
   exist", "container not running" and "already exists" in the words the
   engines look for.  */

#include "base/error.h"
#include "runtime/spec.h"
#include "runtime/cgroup.h"

#include <stdbool.h>
#include <sys/types.h>

/* The default --root: /run/hutch-oci for the host's root,
   $XDG_RUNTIME_DIR/hutch-oci (ROOTLESS) when that is the user's and
   private, else /tmp/hutch-oci-UID.  */
char *hutch_oci_default_root (bool rootless);

/* Open ROOT, made (0700) when it is missing, after the trust rule
   (src/base/paths.h): the pids in it are signalled.  */
int hutch_oci_root_open (const char *root, int *ret_fd, hutch_error_t *err);

/* A container id must name one directory: not empty, not `.` or `..`,
   no `/`, letters, digits and `-_.+@:` only, at most 1024 bytes.  */
int hutch_oci_check_id (const char *id, hutch_error_t *err);

struct hutch_oci_create
{
  const char *id;
  const char *bundle;         /* absolute */
  const char *pid_file;       /* or NULL */
  const char *console_socket; /* or NULL */
  int preserve_fds;
  bool no_new_keyring;
  enum hutch_cgroup_manager cgroup_manager; /* how to read linux.cgroupsPath */
  bool rootless;
};

/* Set SPEC up for hutch-oci: the caller's stdin, the pid file and console
   socket's rules, the fds to preserve (LISTEN_FDS too, as runc).  */
int hutch_oci_prepare_spec (struct hutch_spec *spec, const struct hutch_oci_create *o,
                            hutch_error_t *err);

/* create: the container SPEC (its bundle O->bundle) made whole, its first
   process waiting for start.  */
int hutch_oci_create (int rootfd, struct hutch_spec *spec, const struct hutch_oci_create *o,
                      hutch_error_t *err);
int hutch_oci_start (int rootfd, const char *id, hutch_error_t *err);
/* run: create and start; without DETACH, wait and delete: *RET_STATUS is
   the process's exit code, or 128+N.  */
int hutch_oci_run (int rootfd, struct hutch_spec *spec, const struct hutch_oci_create *o,
                   bool detach, int *ret_status, hutch_error_t *err);
/* kill: SIG to the first process, or with ALL to every process of the
   container.  */
int hutch_oci_kill (int rootfd, const char *id, int sig, bool all, hutch_error_t *err);
/* delete: a stopped or created container (FORCE: any, killed first).  */
int hutch_oci_delete (int rootfd, const char *id, bool force, hutch_error_t *err);

/* exec: another process in a running container, with the container's
   process attributes (src/runtime/exec.h) and what is asked over them.  */
struct hutch_oci_exec
{
  const char *id;
  const char *process_file; /* an OCI process object (JSON) for all of it, or NULL */
  char **argv;              /* the command, without PROCESS_FILE */
  char **env;               /* KEY=VALUE set over the container's, or NULL */
  const char *cwd;          /* or NULL */
  bool has_user;
  unsigned int uid, gid;
  unsigned int *groups;
  size_t n_groups;
  char **caps; /* capabilities added (bounding, effective, permitted), or NULL */
  bool no_new_privs;
  bool tty;
  bool detach;                /* return once it runs; it stays the caller's child */
  const char *pid_file;       /* or NULL */
  const char *console_socket; /* with a terminal: where its master goes, or NULL */
  int preserve_fds;
};
/* *RET_STATUS: the process's exit code (0 with DETACH).  */
int hutch_oci_exec (int rootfd, const struct hutch_oci_exec *o, int *ret_status,
                    hutch_error_t *err);

/* pause (ON) or resume: freeze or thaw the container's cgroup.  */
int hutch_oci_pause (int rootfd, const char *id, bool on, hutch_error_t *err);
/* update: new limits for a running container's cgroup, from RESOURCES
   (linux.resources, a json_t object) or else from runc's flag forms
   (FLAGS: NAME, VALUE, ..., NULL); MANAGER and ROOTLESS as at create,
   for a systemd scope's properties.  */
int hutch_oci_update (int rootfd, const char *id, void *resources, const char *const *flags,
                      enum hutch_cgroup_manager manager, bool rootless, hutch_error_t *err);

/* What `state` says of a container.  */
struct hutch_oci_info
{
  char *id;
  const char *status; /* creating, created, running, paused, stopped */
  pid_t pid;          /* 0 unless created, running or paused */
  char *bundle;
  char *rootfs;
  long long created; /* ns since the epoch */
  char *owner;
  char *cgroup; /* its cgroup (host path), or NULL */
  struct hutch_kv *annotations;
  size_t n_annotations;
};
int hutch_oci_info_read (int rootfd, const char *id, struct hutch_oci_info *ret,
                         hutch_error_t *err);
void hutch_oci_info_clear (struct hutch_oci_info *info);
/* The runtime-spec's state object, as JSON text (indented with INDENT).  */
char *hutch_oci_info_json (const struct hutch_oci_info *info, bool indent);
/* The ids of ROOT's containers, sorted.  */
int hutch_oci_list (int rootfd, char ***ret_ids, hutch_error_t *err);
/* The pids of every process of the container (its cgroup's, else those
   of its PID namespace), sorted.  */
int hutch_oci_pids (int rootfd, const char *id, pid_t **ret_pids, size_t *ret_n,
                    hutch_error_t *err);

#endif
