/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_SLURM_JOIN_H
#define HUTCH_SLURM_JOIN_H

/* A Slurm task into the step's container: what slurm_spank_user_init
   learns once per step and node (slurm_join_prepare), and what each task
   does with it in slurm_spank_task_init (slurm_join_task), just before
   slurmstepd executes the task's command.  */

#include <linux/filter.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* the plugin's own: slurmstepd sees only the slurm_spank_* symbols */
#pragma GCC visibility push(hidden)

struct slurm_join
{
  int pidfd;                /* the container's first process (hutch-init --pause) */
  int nsflags;              /* CLONE_NEW* of the namespaces it does not share with us */
  char **env;               /* the container's KEY=VALUE (config.json process.env) */
  char *cwd;                /* its working directory */
  bool nnp;                 /* process.noNewPrivileges */
  uint64_t bounding;        /* process.capabilities.bounding, as a mask */
  struct sock_fprog filter; /* seccomp.bpf; len 0: none */
  unsigned int filter_flags;
};

/* Fill J from the container whose first process is PID and whose
   config.json is CONFIG_PATH (seccomp.bpf beside it).  On failure,
   *RET_WHY says what went wrong.  */
int slurm_join_prepare (struct slurm_join *j, pid_t pid, const char *config_path, char **ret_why);

/* In a task, as the user: enter J's namespaces, fork, and in the child
   take J's working directory, capabilities, no_new_privs and seccomp
   filter, and return 0: slurmstepd then executes the task's command, in
   the container.  The parent never returns: it stays the task that
   slurmstepd knows, waits for the child, passes signals on, and ends as
   the child ended (the container's PID namespace only holds processes
   forked after the setns, so the command must be a child).  -1 with
   *RET_WHY when the task could not enter.  */
int slurm_join_task (const struct slurm_join *j, char **ret_why);

#pragma GCC visibility pop

#endif
