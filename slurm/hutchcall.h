/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_SLURM_HUTCHCALL_H
#define HUTCH_SLURM_HUTCHCALL_H

/* hutch itself, run by the plugin as the job's user: the plugin never
   makes a container, pulls an image or removes anything on its own; it
   asks hutch, with the job's ids and a clean environment, and reads what
   hutch printed.  */

#include <stdbool.h>
#include <sys/types.h>

/* the plugin's own: slurmstepd sees only the slurm_spank_* symbols */
#pragma GCC visibility push(hidden)

struct slurm_user
{
  uid_t uid;
  gid_t gid;
  gid_t *groups; /* the job's supplementary groups */
  int n_groups;
  char *name, *home;
  char *cwd;   /* where relative paths of the options start: the job's */
  char **env;  /* what hutch gets: see slurm_user_env */
  char *hutch; /* the program */
  char *store; /* --root, or NULL for the user's default store */
  char **cdi_dirs;
};

/* The environment hutch runs with: PATH, HOME, USER, LOGNAME, LANG, the
   user's XDG_RUNTIME_DIR when it exists on this node, and the proxy
   variables of the job (JOB_ENV), which a pull needs on a cluster
   behind a proxy.  Nothing else of the job's: SLURM_* and the like mean
   nothing to hutch.  */
void slurm_user_env (struct slurm_user *u, char **job_env);

/* Run `hutch [--root STORE] [--cdi-spec-dir D]... ARGS...` as U and wait
   for it.  *RET_OUT and *RET_ERR (either may be NULL) get what it wrote
   on stdout and stderr, NUL-terminated.  Returns its exit code (128+N
   for signal N), or -1 when it could not run at all (*RET_ERR then says
   why).  */
int slurm_hutch (const struct slurm_user *u, char *const *args, char **ret_out, char **ret_err);

#pragma GCC visibility pop

#endif
