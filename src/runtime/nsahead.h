/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_NSAHEAD_H
#define HUTCH_NSAHEAD_H

/* User namespaces made ahead of the containers that use them.

   newuidmap and newgidmap are two setuid programs: with their execs they
   are the largest part of a rootless container's start.  With
   HUTCH_USERNS_KEEPER=SECONDS, hutch run has them run before the
   container needs its namespace, in a keeper: a process of the user's
   that outlives the run, holds one namespace made and mapped for the
   next run (by a maker it forks, at idle priority, while no run is
   going), and ends after SECONDS without a run asking for one.  The next
   run then finds its namespace ready.  A run that finds none ready (the
   first, or one right after another) has a maker of its own start at
   once, so that the helpers run while the store and the spec are
   prepared.  Without HUTCH_USERNS_KEEPER nothing is made ahead of time:
   on 2 CPUs a maker of the run's own was no faster, its helpers
   competing with hutch for the same CPUs.

   The container joins the namespace (setns) instead of
   making one and waiting for its maps, and its network, UTS and IPC
   namespaces, made in it by the maker once the maps were written, as A
   would have.  A namespace is the container's
   alone, as one it makes itself: made for one container, with the maps
   hutch computes for it, written by the same helpers; it is handed out
   once, and nothing runs in it before the container but the maker, and
   only to make the other namespaces (the process that held it for the
   helpers, and then the maker, are gone before it is handed out; the
   keeper holds it by an fd only).  When anything does not fit (other maps, a helper fails,
   no keeper), the container makes and maps its namespace as always,
   which reports what is wrong.  */

#include "runtime/idmap.h"

#include <stddef.h>

/* What is made ahead of time: the user namespace, and in it the network,
   UTS and IPC namespaces that a container makes for itself (fresh ones:
   nothing in them depends on where or what it runs).  fds, or -1.  */
struct hutch_nsahead
{
  int user, net, uts, ipc;
};
#define HUTCH_NSAHEAD_INIT                                                                         \
  {                                                                                                \
    -1, -1, -1, -1                                                                                 \
  }
void hutch_nsahead_close (struct hutch_nsahead *ns);

/* Begin this run's namespace for MODE (the plan is made in the maker,
   not here); KEEP_SECONDS > 0: ask the keeper first, and start one when
   there is none.  One per process.  Fails only in that nothing was
   begun (no helper needed, no process could be made): the container
   then makes its namespace as always.  */
int hutch_userns_early_start (enum hutch_userns_mode mode, unsigned int keep_seconds);

/* The namespaces into *RET (fds, O_CLOEXEC) and 0, when the user
   namespace was made with exactly these maps and the helpers wrote them:
   it waits for the maker.  -1 when there is none (never begun, no maps
   asked for, other maps, a helper failed).  Either way no process the
   run's start made is left afterwards (a cgroup that hutch must be alone
   in does not hold one); the namespaces are taken once.  */
int hutch_userns_early_claim (const struct hutch_idmap *uid_map, size_t n_uid,
                              const struct hutch_idmap *gid_map, size_t n_gid,
                              struct hutch_nsahead *ret);

/* The container's command runs: let the keeper go on (it makes no
   namespace while a run holds its connection).  */
void hutch_userns_early_release (void);

/* End what _start began, if it was not claimed, and reap its process
   (and release the keeper).  */
void hutch_userns_early_end (void);

/* HUTCH_USERNS_KEEPER's value: the keeper's idle lifetime in seconds
   (1 to 86400), or 0 when unset, 0, or not such a number (with a
   warning).  */
unsigned int hutch_userns_keeper_seconds (void);

#endif
