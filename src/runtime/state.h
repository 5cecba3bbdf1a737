/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_STATE_H
#define HUTCH_STATE_H

/* A container's volatile state on disk: RUNDIR/state, under the runtime
   directory (tmpfs: gone at reboot, and the boot id says so where it is
   not).  One `key=value` line per field; replaced whole by rename, so a
   reader (ps, inspect, another hutch) never takes a lock and never sees
   half a state.  The process that holds the container (the monitor, or
   a foreground hutch) writes it; so does a command that finds that
   process dead.  The monitor links this file alone of libhutch's
   runtime, so it depends on base only.

   Liveness is never judged by a pid alone: a pid is checked with the
   start time that /proc/PID/stat gave when it was recorded, since a pid
   can be reused after the process ended.  */

#include "base/error.h"

#include <stdbool.h>
#include <sys/types.h>

enum hutch_state_status
{
  HUTCH_STATE_CREATED, /* recorded, never started (hutch create) */
  HUTCH_STATE_RUNNING,
  HUTCH_STATE_PAUSED,
  HUTCH_STATE_EXITED,
};

struct hutch_state
{
  enum hutch_state_status status;
  pid_t pid;                    /* the container's first process, or 0 */
  unsigned long long pid_start; /* its start time (clock ticks since boot) */
  pid_t monitor;                /* the process that holds the container, or 0 */
  unsigned long long monitor_start;
  char boot_id[40];      /* the boot the pids belong to */
  int exit_code;         /* -1 until it exited */
  bool oom;              /* the OOM killer ended a process of it */
  bool stop_requested;   /* hutch stop ended it: no restart */
  long long started;     /* ns since the epoch, 0: never */
  long long finished;    /* ns since the epoch, 0: not yet */
  unsigned int restarts; /* how often the restart policy started it again */
  char *error;           /* why it ended other than by itself, or NULL */
  char *cgroup;          /* its cgroup (host path), or NULL */
  char *ports;           /* the published ports, "HOST->CPORT/PROTO" joined by ", " */
  /* hutch-oci's: the bundle (absolute path), and when create made the
     container (ns since the epoch).  */
  char *bundle;
  long long created;
};

void hutch_state_init (struct hutch_state *st);
void hutch_state_clear (struct hutch_state *st);
const char *hutch_state_status_name (enum hutch_state_status s);
int hutch_state_status_from_name (const char *name);

/* Read DIRFD/state (RUNDIR's fd).  A missing file is -ENOENT.  Unknown
   keys are skipped, so that an older hutch can read a newer state.  */
int hutch_state_read (int dirfd, struct hutch_state *ret, hutch_error_t *err);
/* Write DIRFD/state: a temporary name in DIRFD, then rename.  */
int hutch_state_write (int dirfd, const struct hutch_state *st, hutch_error_t *err);

/* Flags that other commands give the holder, as files beside the state
   (hutch_state_read folds them in): `hutch stop` asks for no restart;
   `hutch pause` froze it.  A start clears both.  */
#define HUTCH_STATE_FLAG_STOP "stop-requested"
#define HUTCH_STATE_FLAG_PAUSED "paused"
/* Set (ON) or clear FLAG in DIRFD; -1 with errno.  */
int hutch_state_flag (int dirfd, const char *flag, bool on);

/* The start time of PID from /proc/PID/stat, or 0 when it is gone.  */
unsigned long long hutch_state_pid_start (pid_t pid);
/* Whether PID still is the process that started at START.  */
bool hutch_state_pid_alive (pid_t pid, unsigned long long start);
/* This boot's id (/proc/sys/kernel/random/boot_id) into BUF.  */
void hutch_state_boot_id (char buf[40]);
/* The time now, in ns since the epoch.  */
long long hutch_state_now (void);

#endif
