/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "runtime/nsexec.h"
#include "runtime/container.h"
#include "runtime/idmap.h"
#include "base/util.h"
#include "base/walk.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct reply
{
  int ret;
  int errnum;
  char out[HUTCH_USERNS_OUT_MAX];
  char text[4000];
};

struct hutch_userns_job
{
  pid_t pid;
  int back; /* read end: the child's struct reply */
};

/* In the child of spawn: with KEEP, close every fd it inherited but KEEP
   and its own two pipe ends (the store's lock, sockets, other downloads'
   files and pipes must not live on in the namespace).  */
static void
child_close_inherited (const int *keep, size_t n_keep, int go, int back)
{
  int *k;

  if (keep == NULL)
    return;
  k = hutch_xmalloc0 ((n_keep + 2) * sizeof *k);
  memcpy (k, keep, n_keep * sizeof *k);
  k[n_keep] = go;
  k[n_keep + 1] = back;
  hutch_close_all_but (k, n_keep + 2);
  free (k);
}

/* The child of spawn, between fork and _exit: enter a new user namespace,
   say so on BACK ('u', or 'e' and the reply with errno), wait on GO for
   the parent to write the maps ('g'), then run FN (or OUT_FN) as root of
   the namespace and send its reply on BACK.  */
static void __attribute__ ((noreturn))
spawn_child (hutch_userns_fn fn, hutch_userns_out_fn out_fn, void *arg, const int *keep,
             size_t n_keep, const int go[2], const int back[2], pid_t parent)
{
  struct reply rep = { 0 };
  hutch_error_t e = HUTCH_ERROR_INIT;
  char ok = 'u', c = 0;

  close (go[1]);
  close (back[0]);
  child_close_inherited (keep, n_keep, go[0], back[1]);
  /* Dies with hutch, also if hutch died before this line.  */
  if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid () != parent)
    _exit (1);
  if (unshare (CLONE_NEWUSER) < 0)
    {
      ok = 'e';
      rep.ret = -1;
      rep.errnum = errno;
      if (write (back[1], &ok, 1) == 1)
        hutch_write_all (back[1], &rep, sizeof rep);
      _exit (1);
    }
  if (write (back[1], &ok, 1) != 1 || read (go[0], &c, 1) != 1 || c != 'g')
    _exit (1);
  /* Be uid 0 of the namespace, so that what we create belongs to the
     user on the host and chown to any mapped id works.  */
  if (setresgid (0, 0, 0) < 0 || setresuid (0, 0, 0) < 0)
    rep.ret = hutch_error_set (&e, errno, "become root of the user namespace");
  else if (out_fn)
    rep.ret = out_fn (arg, rep.out, sizeof rep.out, &e);
  else
    rep.ret = fn (arg, &e);
  if (rep.ret < 0)
    {
      rep.errnum = e.errnum;
      snprintf (rep.text, sizeof rep.text, "%s", e.msg ? e.msg : "unknown error");
    }
  if (hutch_write_all (back[1], &rep, sizeof rep) < 0)
    _exit (1);
  _exit (0);
}

/* The parent's side of spawn's handshake: wait on BACK for CHILD to be in
   its new namespace, write its id maps from PLAN, and let it go on GO.  On
   failure CHILD is still alive: the caller kills it.  */
static int
spawn_map_child (pid_t child, const struct hutch_idplan *plan, int go, int back, hutch_error_t *err)
{
  struct reply rep = { 0 };
  char c = 0;

  if (hutch_read_all (back, &c, 1) != 1 || c != 'u')
    {
      if (c == 'e' && hutch_read_all (back, &rep, sizeof rep) == (ssize_t)sizeof rep)
        hutch_userns_diagnose ("/proc/sys", rep.errnum, err);
      else
        hutch_error_set (err, 0, "the helper in the user namespace died before it started");
      return -1;
    }
  if (hutch_idmap_write (child, plan->use_helpers, plan->deny_setgroups, plan->uid_map, plan->n_uid,
                         plan->gid_map, plan->n_gid, err)
      < 0)
    return -1;
  c = 'g';
  if (write (go, &c, 1) != 1)
    {
      hutch_error_set (err, errno, "start the helper in the user namespace");
      return -1;
    }
  return 0;
}

/* fork, then unshare(CLONE_NEWUSER) in the child: not a raw clone with
   CLONE_NEWUSER, which would skip the C library's fork handlers, and a
   lock held by another thread of ours at that moment (libcurl resolves
   names in threads) would stay held in the child forever.  With KEEP
   (N_KEEP fds), the child also closes every other fd it inherited: the
   store's lock, sockets, other downloads' files and pipes.  */
static pid_t
spawn (hutch_userns_fn fn, hutch_userns_out_fn out_fn, void *arg, const int *keep, size_t n_keep,
       int *ret_back, hutch_error_t *err)
{
  struct hutch_idplan plan;
  int go[2] = { -1, -1 }, back[2] = { -1, -1 };
  pid_t child = -1, parent;

  if (hutch_idplan_make (HUTCH_USERNS_DEFAULT, &plan, err) < 0)
    return -1;
  if (pipe2 (go, O_CLOEXEC) < 0 || pipe2 (back, O_CLOEXEC) < 0)
    {
      hutch_error_set (err, errno, "pipe");
      goto out;
    }
  parent = getpid ();
  child = fork ();
  if (child < 0)
    {
      hutch_error_set (err, errno, "fork");
      goto out;
    }
  if (child == 0)
    spawn_child (fn, out_fn, arg, keep, n_keep, go, back, parent);
  close (go[0]);
  go[0] = -1;
  close (back[1]);
  back[1] = -1;
  if (spawn_map_child (child, &plan, go[1], back[0], err) < 0)
    goto kill;
  *ret_back = back[0];
  back[0] = -1;
  goto out;
kill:
  kill (child, SIGKILL);
  while (waitpid (child, NULL, 0) < 0 && errno == EINTR)
    ;
  child = -1;
out:
  if (go[0] >= 0)
    close (go[0]);
  if (go[1] >= 0)
    close (go[1]);
  if (back[0] >= 0)
    close (back[0]);
  if (back[1] >= 0)
    close (back[1]);
  hutch_idplan_clear (&plan);
  return child;
}

int
hutch_userns_start (hutch_userns_out_fn fn, void *arg, const int *keep, size_t n_keep,
                    struct hutch_userns_job **ret, hutch_error_t *err)
{
  int back = -1;
  pid_t pid = spawn (NULL, fn, arg, keep, n_keep, &back, err);

  if (pid < 0)
    return -1;
  *ret = hutch_xmalloc0 (sizeof **ret);
  (*ret)->pid = pid;
  (*ret)->back = back;
  return 0;
}

int
hutch_userns_finish (struct hutch_userns_job *job, char *ret_out, size_t out_len,
                     hutch_error_t *err)
{
  struct reply rep = { 0 };
  ssize_t n = hutch_read_all (job->back, &rep, sizeof rep);
  int st = 0, ret = -1;

  while (waitpid (job->pid, &st, 0) < 0 && errno == EINTR)
    ;
  close (job->back);
  free (job);
  if (n != (ssize_t)sizeof rep)
    return hutch_error_set (err, 0, "the helper in the user namespace died (status %d)", st);
  if (rep.ret < 0)
    {
      rep.text[sizeof rep.text - 1] = '\0';
      hutch_error_set (err, 0, "%s", rep.text);
      err->errnum = rep.errnum;
      return -1;
    }
  ret = rep.ret;
  if (ret_out && out_len > 0)
    {
      rep.out[sizeof rep.out - 1] = '\0';
      snprintf (ret_out, out_len, "%s", rep.out);
    }
  return ret;
}

void
hutch_userns_cancel (struct hutch_userns_job *job)
{
  if (job == NULL)
    return;
  kill (job->pid, SIGKILL);
  while (waitpid (job->pid, NULL, 0) < 0 && errno == EINTR)
    ;
  close (job->back);
  free (job);
}

int
hutch_in_userns (hutch_userns_fn fn, void *arg, hutch_error_t *err)
{
  struct sigaction dfl = { 0 }, old_chld;
  struct hutch_userns_job job = { .back = -1 };
  int ret;

  /* waitpid needs the child to stay a zombie until reaped.  */
  dfl.sa_handler = SIG_DFL;
  sigaction (SIGCHLD, &dfl, &old_chld);
  job.pid = spawn (fn, NULL, arg, NULL, 0, &job.back, err);
  if (job.pid < 0)
    ret = -1;
  else
    {
      struct hutch_userns_job *j = hutch_xmalloc0 (sizeof *j);
      *j = job;
      ret = hutch_userns_finish (j, NULL, 0, err);
    }
  sigaction (SIGCHLD, &old_chld, NULL);
  return ret;
}

static int
remove_tree_fn (void *arg, hutch_error_t *err)
{
  return hutch_walk_remove_path (arg, err);
}

int
hutch_userns_remove (const char *path, hutch_error_t *err)
{
  hutch_error_t e = HUTCH_ERROR_INIT;
  struct stat st;

  if (lstat (path, &st) < 0 && errno == ENOENT)
    return 0;
  /* A tree of our own uid alone (a record, a --rootfs container's files)
     goes without the user namespace, whose id-map helpers cost 2-4 ms.
     What we cannot remove as ourselves (a subordinate id's directory, one
     without write permission) fails here and is removed in the namespace,
     where we are root over all our ids.  The try stops at its first
     failure, so a big tree of subordinate ids is not walked twice; what
     went already is not missed, and a real error is the namespace's to
     report.  */
  if (hutch_walk_try_remove_path (path, &e) == 0)
    return 0;
  hutch_error_clear (&e);
  return hutch_in_userns (remove_tree_fn, (void *)path, err);
}
