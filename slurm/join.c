/* SPDX-License-Identifier: GPL-2.0-or-later */

/* A task into the step's container (join.h).

   What a task gets is what `hutch exec` gives a process (src/runtime/
   exec.c), from the same two files that hutch saved for exec: the
   container's namespaces, its bounding set, no_new_privs and seccomp
   filter, its environment and working directory.  It does not get a
   user of the container's: a task keeps its own uid, which the
   container's map turns into the user (keep-id) or root (the map of a
   --container-remap-root container).  Nor a cgroup: inside a Slurm step
   the container and its tasks stay in the step's own, which Slurm
   limits and accounts.

   Why this is safe: every step runs as the job's user, with no more
   privilege than the user has.  setns into a user namespace that the
   user owns gives capabilities in that namespace only, the same that
   `hutch exec` holds when it enters; they are cut down to the
   container's bounding set before the command runs, and an execve as a
   uid other than the container's root clears them entirely.  */

#define _GNU_SOURCE
#include "join.h"
#include "util.h"

#include "src/runtime/seccomp-file.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* The namespaces that PID does not share with us, as CLONE_NEW* flags.
   net and uts are the host's in a Slurm container (MPI needs the node's
   network and name), but they are compared like the others, so that a
   container made otherwise is still entered whole.  Not the cgroup
   namespace: the task stays in the step's cgroup, which the container's
   namespace (rooted where the container was made) would show as
   outside.  */
static int
namespaces_of (pid_t pid, int *ret_flags)
{
  static const struct
  {
    const char *name;
    int flag;
  } ns[] = {
    { "user", CLONE_NEWUSER }, { "mnt", CLONE_NEWNS },  { "ipc", CLONE_NEWIPC },
    { "pid", CLONE_NEWPID },   { "uts", CLONE_NEWUTS }, { "net", CLONE_NEWNET },
  };
  size_t i;
  int flags = 0;

  for (i = 0; i < sizeof ns / sizeof ns[0]; i++)
    {
      char path[64];
      struct stat mine, theirs;
      snprintf (path, sizeof path, "/proc/%d/ns/%s", (int)pid, ns[i].name);
      if (stat (path, &theirs) < 0)
        return -1;
      snprintf (path, sizeof path, "/proc/self/ns/%s", ns[i].name);
      if (stat (path, &mine) < 0)
        return -1;
      if (mine.st_ino != theirs.st_ino || mine.st_dev != theirs.st_dev)
        flags |= ns[i].flag;
    }
  *ret_flags = flags;
  return 0;
}

static int
load_filter (struct slurm_join *j, const char *dir, char **ret_why)
{
  char *path = slurm_xasprintf ("%s/seccomp.bpf", dir);
  struct hutch_seccomp_file_header h;
  struct stat st;
  struct sock_filter *insns = NULL;
  size_t len;
  int fd = open (path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

  /* The user's own file that only the user can write, as hutch exec
     wants it: one that someone else could have written is not the
     container's filter.  */
  if (fd < 0 || fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || st.st_uid != geteuid ()
      || (st.st_mode & 0022) != 0)
    {
      *ret_why = slurm_xasprintf (
          "the container's seccomp filter `%s` is missing or not a file of yours "
          "that only you can write",
          path);
      goto fail;
    }
  if (read (fd, &h, sizeof h) != (ssize_t)sizeof h
      || memcmp (h.magic, HUTCH_SECCOMP_SAVED_MAGIC, 8) != 0 || h.key_len != 0
      || h.insns > BPF_MAXINSNS
      || (size_t)st.st_size != sizeof h + h.insns * sizeof (struct sock_filter))
    goto damaged;
  len = h.insns * sizeof (struct sock_filter);
  if (h.insns > 0)
    {
      insns = malloc (len);
      if (insns == NULL || read (fd, insns, len) != (ssize_t)len)
        goto damaged;
    }
  if (hutch_seccomp_file_sum (h, "", insns) != h.sum
      || (h.insns > 0 && insns[h.insns - 1].code != (BPF_RET | BPF_K)))
    goto damaged;
  j->filter.len = (unsigned short)h.insns;
  j->filter.filter = insns;
  /* Only the flags a container's filter may have: a listener
     (NEW_LISTENER) would be a descriptor no one reads.  */
  j->filter_flags
      = h.flags
        & (SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW);
  close (fd);
  free (path);
  return 0;

damaged:
  *ret_why
      = slurm_xasprintf ("the container's seccomp filter `%s` is damaged: remove the container "
                         "(hutch rm -f) so that the next step makes it again",
                         path);
fail:
  free (insns);
  if (fd >= 0)
    close (fd);
  free (path);
  return -1;
}

static int
load_config (struct slurm_join *j, const char *config_path, char **ret_why)
{
  json_error_t jerr;
  json_t *root = json_load_file (config_path, 0, &jerr), *process, *v, *caps;
  size_t i, n = 0;

  if (root == NULL)
    {
      *ret_why = slurm_xasprintf ("the container's configuration `%s`: %s", config_path, jerr.text);
      return -1;
    }
  process = json_object_get (root, "process");
  j->cwd = strdup (json_string_value (json_object_get (process, "cwd")) ?: "/");
  j->nnp = json_is_true (json_object_get (process, "noNewPrivileges"));
  j->env = calloc (json_array_size (json_object_get (process, "env")) + 1, sizeof (char *));
  json_array_foreach (json_object_get (process, "env"), i, v)
  {
    if (json_is_string (v) && strchr (json_string_value (v), '='))
      j->env[n++] = strdup (json_string_value (v));
  }
  /* No capabilities object: hutch leaves the bounding set as it is
     (--privileged has every one listed, though).  */
  j->bounding = ~0ULL;
  caps = json_object_get (json_object_get (process, "capabilities"), "bounding");
  if (json_is_array (caps))
    j->bounding = 0;
  json_array_foreach (caps, i, v)
  {
    cap_value_t c;
    if (json_is_string (v) && cap_from_name (json_string_value (v), &c) == 0 && c >= 0 && c < 64)
      j->bounding |= 1ULL << c;
  }
  json_decref (root);
  return 0;
}

int
slurm_join_prepare (struct slurm_join *j, pid_t pid, const char *config_path, char **ret_why)
{
  char *dir = strdup (config_path), *slash = strrchr (dir, '/');
  int r;

  memset (j, 0, sizeof *j);
  j->pidfd = -1;
  if (slash)
    *slash = '\0';
  r = load_config (j, config_path, ret_why) < 0 || load_filter (j, dir, ret_why) < 0 ? -1 : 0;
  free (dir);
  if (r < 0)
    return -1;
  /* A pidfd (close-on-exec) of the container's first process, opened
     before its namespaces are looked at: from here on it names that
     process and no other, even should its pid be used again.  */
  j->pidfd = (int)syscall (SYS_pidfd_open, pid, 0);
  if (j->pidfd < 0)
    {
      *ret_why
          = slurm_xasprintf ("the container's first process %d: %s", (int)pid, strerror (errno));
      return -1;
    }
  if (namespaces_of (pid, &j->nsflags) < 0
      || syscall (SYS_pidfd_send_signal, j->pidfd, 0, NULL, 0) < 0)
    {
      *ret_why = slurm_xasprintf (
          "the container's first process %d ended before the step could enter it", (int)pid);
      return -1;
    }
  if (!(j->nsflags & CLONE_NEWUSER))
    {
      *ret_why = slurm_xasprintf ("process %d shares this node's user namespace: it is not a hutch "
                                  "container's",
                                  (int)pid);
      return -1;
    }
  return 0;
}

/* The container's limits on what the command may gain: its bounding set
   (dropping needs CAP_SETPCAP, which the setns into the user namespace
   gave), no ambient capabilities, no_new_privs, its seccomp filter (flags
   as hutch installs it), then the task's own capabilities.  Only what
   slurmstepd still does before the command runs under the filter (the
   task prolog, the limits, execve).  */
static int
confine (const struct slurm_join *j, char **ret_why)
{
  int c;

  for (c = 0; c < 64; c++)
    {
      int r = prctl (PR_CAPBSET_READ, c, 0, 0, 0);
      if (r < 0)
        break;
      if (r == 1 && !(j->bounding & (1ULL << c)) && prctl (PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
        {
          *ret_why = slurm_xasprintf ("drop capability %d from the bounding set: %s", c,
                                      strerror (errno));
          return -1;
        }
    }
  prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  if (j->nnp && prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    {
      *ret_why = slurm_xasprintf ("set no_new_privs: %s", strerror (errno));
      return -1;
    }
  if (j->filter.len > 0
      && syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, j->filter_flags, &j->filter) < 0)
    {
      *ret_why = slurm_xasprintf ("install the container's seccomp filter: %s", strerror (errno));
      return -1;
    }
  /* Last, since installing the filter without no_new_privs takes
     CAP_SYS_ADMIN.  The setns gave every capability of the container's namespace, and
     slurmstepd still has work to do before its execve (the task prolog,
     TMPDIR, the limits).  A task that is not root of the container does
     it with none, as the command will run; root of it keeps its bounding
     set, which execve gives it anyway.  Inheritable ones are slurmd's
     business, not the container's: none.  */
  {
    cap_t caps = getuid () == 0 ? cap_get_proc () : cap_init ();
    int r = caps ? cap_clear_flag (caps, CAP_INHERITABLE) : -1;
    if (r == 0)
      r = cap_set_proc (caps);
    if (caps)
      cap_free (caps);
    if (r < 0)
      {
        *ret_why = slurm_xasprintf ("set the task's capabilities: %s", strerror (errno));
        return -1;
      }
  }
  return 0;
}

/* The parent: the task as slurmstepd knows it.  Every signal it gets
   goes on to the command (Slurm signals the task; proctrack may reach
   the command too, which then gets it twice, as under any shell), and
   it ends as the command ended, by the same signal when a signal ended
   it, so that Slurm reports the task's real end.  */
static void __attribute__ ((noreturn)) shim (pid_t child, const sigset_t *all)
{
  /* a copy of slurmstepd that only waits: none of its descriptors (its
     sockets, the job's I/O) but stdio, which the command shares */
  syscall (SYS_close_range, 3U, ~0U, 0U);
  for (;;)
    {
      siginfo_t si;
      int sig = sigwaitinfo (all, &si), status;
      pid_t p;

      if (sig < 0)
        continue;
      if (sig != SIGCHLD)
        {
          /* Pass on only what was sent to this task alone (kill(1) of
             its pid): slurmstepd signals the whole step (proctrack),
             and the terminal the foreground group, so the command got
             those itself already.  Stop signals of the terminal are the
             command's business.  */
          if (si.si_code <= 0 && si.si_pid != getppid () && sig != SIGTTIN && sig != SIGTTOU)
            kill (child, sig);
          continue;
        }
      while ((p = waitpid (-1, &status, WNOHANG)) > 0)
        if (p == child)
          {
            struct rlimit none = { 0, 0 };
            sigset_t one;
            if (WIFEXITED (status))
              _exit (WEXITSTATUS (status));
            sig = WTERMSIG (status);
            /* no core of this copy of slurmstepd: the command's is the
               one that matters, and it has been written */
            setrlimit (RLIMIT_CORE, &none);
            signal (sig, SIG_DFL);
            sigemptyset (&one);
            sigaddset (&one, sig);
            sigprocmask (SIG_UNBLOCK, &one, NULL);
            kill (getpid (), sig);
            _exit (128 + sig);
          }
    }
}

int
slurm_join_task (const struct slurm_join *j, char **ret_why)
{
  sigset_t all, old;
  pid_t child;

  /* Not dumpable from here on (the child's execve makes the command
     dumpable again): the shim, a copy of slurmstepd's memory with the
     container's user namespace as its own, is not the container's to
     trace or to read.  */
  if (prctl (PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    {
      *ret_why = slurm_xasprintf ("make the task not dumpable: %s", strerror (errno));
      return -1;
    }
  /* All of them at once through the pidfd: the user namespace first,
     then the others with the capabilities it gave; the mount
     namespace's root and working directory become the container's.  */
  if (setns (j->pidfd, j->nsflags) < 0)
    {
      *ret_why = slurm_xasprintf (
          "enter the container's namespaces: %s (has the container been stopped?)",
          strerror (errno));
      return -1;
    }
  sigfillset (&all);
  sigprocmask (SIG_SETMASK, &all, &old);
  /* the shim waits for its child: no SIGCHLD ignored, as a plugin before
     us might have set */
  signal (SIGCHLD, SIG_DFL);
  child = fork ();
  if (child < 0)
    {
      sigprocmask (SIG_SETMASK, &old, NULL);
      *ret_why = slurm_xasprintf ("fork into the container's PID namespace: %s", strerror (errno));
      return -1;
    }
  if (child > 0)
    shim (child, &all);
  /* The command does not outlive the task that Slurm watches.  The shim
     is outside our PID namespace, where getppid() says 0: anything else
     means it died before the prctl.  */
  prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (getppid () != 0)
    _exit (1);
  sigprocmask (SIG_SETMASK, &old, NULL);
  /* The image names the directory: the root is the container's now, so
     `..` and absolute links stay in it, but a /proc/self/fd/N name could
     lead to a descriptor of the host's that slurmstepd holds.  Wherever
     chdir went, getcwd must find it below the container's root.  */
  {
    char where[4096];
    if (chdir (j->cwd) < 0)
      {
        *ret_why = slurm_xasprintf ("the working directory `%s` in the container: %s", j->cwd,
                                    strerror (errno));
        return -1;
      }
    if (getcwd (where, sizeof where) == NULL || where[0] != '/')
      {
        *ret_why = slurm_xasprintf ("the working directory `%s` is outside the container", j->cwd);
        return -1;
      }
  }
  /* A failure from here on is the child's: slurmstepd reports it and
     ends the child, and the shim ends as it did.  */
  return confine (j, ret_why);
}
