/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_CONTAINERS_H
#define HUTCH_CONTAINERS_H

/* Containers that outlive the command that made them: their records.

     STORE/containers/ID/            persistent (the image store's disk)
       container.json                the record (struct hutch_ctr), by rename
       config.json                   the OCI configuration it last ran with
       seccomp.bpf                   its seccomp filter, for exec
       ctr.log[.N]                   its log (k8s-file), rotated
       upper/ work/ merged/          its overlay (containers of images)
       lock                          flock'ed by the process that holds it
                                     running (the monitor, or hutch run)
     STORE/container-names/NAME      symlink to ID: the name reserved by
                                     symlink(2), which fails when taken
     RUNTIME/containers/ID/          volatile (runtime/state.h)
       state                         status, pids, exit code...
       lock                          the per-container command lock
       attach                        the monitor's attach socket

   ID is 64 hex digits (shown as 12); a container is named by its name,
   its id or a unique prefix of the id.  Readers (ps, inspect, logs) take
   no lock: every file above is replaced whole.  Commands that change a
   container (start, stop, rm, rename...) take its command lock, with a
   timeout and a message that names the holder.  */

#include "base/error.h"
#include "runtime/spec.h"
#include "runtime/state.h"

#include <stdbool.h>
#include <stddef.h>

enum hutch_restart
{
  HUTCH_RESTART_NO,
  HUTCH_RESTART_ON_FAILURE,
  HUTCH_RESTART_ALWAYS,
  HUTCH_RESTART_UNLESS_STOPPED,
};

enum hutch_log_driver
{
  HUTCH_LOG_K8S_FILE,
  HUTCH_LOG_NONE,
  HUTCH_LOG_PASSTHROUGH,
};

/* The default bound of a container's log: a container must not fill the
   disk.  */
#define HUTCH_LOG_DEFAULT_MAX_SIZE (10ULL * 1024 * 1024)
#define HUTCH_LOG_DEFAULT_MAX_FILE 3

struct hutch_ctr
{
  char *id;     /* 64 hex digits */
  char *name;   /* unique among the user's containers */
  char *root;   /* the store's root (absolute) */
  char *dir;    /* ROOT/containers/ID */
  char *rundir; /* RUNTIME/containers/ID */
  /* What it is made of.  */
  char *image;       /* the image as the user named it, or NULL */
  char *image_id;    /* "sha256:<hex>", or NULL (--rootfs, the host sandbox) */
  char *rootfs;      /* --rootfs DIR, or NULL */
  char **command;    /* the process's args, as it runs (entrypoint + cmd) */
  long long created; /* ns since the epoch */
  /* How to make its configuration again (start, restart): hutch run's
     arguments (options and operands, the image by id), the environment and
     the directory it was given in, hutch's global options.  */
  char **run_args;
  char **env;
  char *cwd;
  char *cli_root; /* --root, or NULL */
  int storage_driver;
  char **cdi_spec_dirs; /* --cdi-spec-dir, or NULL: the default directories */
  /* What the monitor does.  */
  bool detach; /* made by run -d or create: a monitor holds it */
  bool rm;     /* removed when it ends */
  bool tty, interactive;
  int restart;                     /* enum hutch_restart */
  unsigned int restart_max;        /* on-failure:N, 0 for no bound */
  int log_driver;                  /* enum hutch_log_driver */
  unsigned long long log_max_size; /* bytes, 0: no bound */
  unsigned int log_max_file;
  char *detach_keys; /* NULL: ctrl-p,ctrl-q */
  int stop_signal, stop_timeout;
  char *cidfile; /* --cidfile, removed with it, or NULL */
  struct hutch_kv *labels;
  size_t n_labels;
  char **anon_volumes; /* its anonymous volumes' names, removed by rm -v and --rm */
};

void hutch_ctr_clear (struct hutch_ctr *c);

/* The store root for CLI_ROOT (hutch_image_store_root, checked as the
   store is), with containers/ and container-names/ made.  */
char *hutch_ctrs_root (const char *cli_root, hutch_error_t *err);

/* A name for NAME's checks: [a-zA-Z0-9][a-zA-Z0-9_.-]*, as docker has
   it.  */
int hutch_ctr_name_check (const char *name, hutch_error_t *err);
/* adjective_noun, not taken in ROOT.  */
char *hutch_ctr_name_generate (const char *root);

/* Record a new container: C's fields filled by the caller but id, dir
   and rundir, which this sets.  NAME NULL: a generated one.  Writes
   container.json and a `created` state.  A name in use is an error that
   names the container holding it.  */
int hutch_ctr_create (const char *root, const char *name, struct hutch_ctr *c, hutch_error_t *err);
int hutch_ctr_save (const struct hutch_ctr *c, hutch_error_t *err);
int hutch_ctr_load (const char *root, const char *id, struct hutch_ctr *ret, hutch_error_t *err);

/* The id of the container REF names: a name, a whole id, or a unique
   prefix of one.  Errors: "no container" and "ambiguous" name REF.  */
int hutch_ctr_find (const char *root, const char *ref, char **ret_id, hutch_error_t *err);
/* Find and load.  */
int hutch_ctr_lookup (const char *root, const char *ref, struct hutch_ctr *ret, hutch_error_t *err);
/* Every container's id, NULL-terminated (an empty store: an empty list).  */
char **hutch_ctr_list (const char *root);

/* The state, judged: a `running` or `paused` state whose holder is gone
   (killed, or another boot) reads as `exited`, with error saying why.
   Nothing is written (see hutch_ctr_reconcile).  */
int hutch_ctr_state (const struct hutch_ctr *c, struct hutch_state *ret, hutch_error_t *err);
/* Write down what hutch_ctr_state judged, and clean what the dead holder
   left: a container with --rm is removed.  Takes the command lock.  Sets
   *RET_GONE when the container was removed.  */
int hutch_ctr_reconcile (struct hutch_ctr *c, bool *ret_gone, hutch_error_t *err);
/* hutch_ctr_reconcile on every container marked live whose holder is
   gone: what each command does first.  */
void hutch_ctrs_sweep (const char *root);
/* Mark C live (RUNTIME/live/ID) when its holder starts it, or not.  */
void hutch_ctr_mark_live (const struct hutch_ctr *c, bool live);

/* The rundir (made when missing), as an fd.  */
int hutch_ctr_rundir_open (const struct hutch_ctr *c, hutch_error_t *err);
/* The command lock, waiting up to TIMEOUT_MS; WHAT (the command: "stop")
   is written into it so that one who waits can be told who holds it.  */
int hutch_ctr_lock (const struct hutch_ctr *c, const char *what, int timeout_ms, int *ret_fd,
                    hutch_error_t *err);

/* Remove the container (it must not run): its directory (inside the
   user namespace: its upper layer belongs to subordinate ids), its name,
   its rundir, its cidfile; its anonymous volumes with VOLUMES.  */
int hutch_ctr_remove (struct hutch_ctr *c, bool volumes, hutch_error_t *err);
/* Give it NEWNAME.  */
int hutch_ctr_rename (struct hutch_ctr *c, const char *newname, hutch_error_t *err);

/* The first 12 digits of ID, for people.  */
void hutch_ctr_short_id (const char *id, char buf[13]);

#endif
