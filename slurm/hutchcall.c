/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Running hutch as the job's user (hutchcall.h).  */

#define _GNU_SOURCE
#include "hutchcall.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <linux/close_range.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void
free_strv (char **v)
{
  size_t i;
  for (i = 0; v && v[i]; i++)
    free (v[i]);
  free (v);
}

/* Append S, which the vector takes.  */
static void
take (char ***v, char *s)
{
  slurm_strv_push (v, s);
  free (s);
}

void
slurm_user_env (struct slurm_user *u, char **job_env)
{
  static const char *const pass[]
      = { "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", NULL };
  char **env = NULL, *rt = slurm_xasprintf ("/run/user/%u", (unsigned)u->uid);
  size_t i, k;
  struct stat st;

  slurm_strv_push (&env, "PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin");
  take (&env, slurm_xasprintf ("HOME=%s", u->home));
  take (&env, slurm_xasprintf ("USER=%s", u->name));
  take (&env, slurm_xasprintf ("LOGNAME=%s", u->name));
  slurm_strv_push (&env, "LANG=C.UTF-8");
  /* The session's runtime directory, where a logged-in user's hutch
     keeps its sockets, only when this node has it: the job's own
     XDG_RUNTIME_DIR is the submitting host's.  Without it hutch uses
     /tmp/hutch-UID.  */
  if (stat (rt, &st) == 0 && S_ISDIR (st.st_mode) && st.st_uid == u->uid)
    take (&env, slurm_xasprintf ("XDG_RUNTIME_DIR=%s", rt));
  free (rt);
  for (i = 0; job_env && job_env[i]; i++)
    for (k = 0; pass[k]; k++)
      {
        size_t l = strlen (pass[k]);
        if (strncmp (job_env[i], pass[k], l) == 0 && job_env[i][l] == '=')
          slurm_strv_push (&env, job_env[i]);
      }
  u->env = env;
}

/* In the child: become the user for good.  From slurm_spank_user_init
   the process is already the user in its effective ids (with root's
   real and saved ones, and the job's groups); from the exit and epilog
   callbacks it is root.  Setting all three ids leaves no way back to
   root for hutch, which refuses to run as root for a user anyway.  */
static int
become_user (const struct slurm_user *u)
{
  if (geteuid () == 0 && setgroups ((size_t)u->n_groups, u->groups) < 0)
    return -1;
  if (setresgid (u->gid, u->gid, u->gid) < 0 || setresuid (u->uid, u->uid, u->uid) < 0)
    return -1;
  if (getuid () != u->uid || geteuid () != u->uid || getgid () != u->gid)
    {
      errno = EPERM;
      return -1;
    }
  return 0;
}

/* In the child, before it becomes the user: what slurmstepd set for
   itself that hutch and the container must not inherit.
   - oom_score_adj: slurmstepd protects itself with -1000, as root, which
     also lets its descendants return to -1000 (the floor follows a
     privileged write): the container would escape the OOM killer, and
     other users' jobs would die in its place.  Written as root (real uid
     0 lets the child take euid 0 back in slurm_spank_user_init), so that
     the floor is 0 too, as slurmstepd does for its tasks.
   - the signal mask and dispositions: slurmstepd blocks SIGTERM, SIGINT,
     SIGHUP and others, which would otherwise reach the container's init
     blocked.  */
static void
reset_process (void)
{
  sigset_t none;
  int fd, i;

  if (getuid () == 0 && geteuid () != 0 && seteuid (0) < 0)
    _exit (126);
  fd = open ("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write (fd, "0", 1) != 1)
    _exit (126);
  close (fd);
  for (i = 1; i < NSIG; i++)
    if (i != SIGKILL && i != SIGSTOP)
      signal (i, SIG_DFL);
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
}

static char *
read_back (int fd)
{
  size_t cap = 4096, len = 0;
  char *buf = malloc (cap);
  ssize_t r;

  if (buf == NULL)
    abort ();
  if (lseek (fd, 0, SEEK_SET) == 0)
    for (;;)
      {
        if (len + 1 == cap)
          {
            if (cap >= (1u << 22))
              break;
            cap *= 2;
            if ((buf = realloc (buf, cap)) == NULL)
              abort ();
          }
        r = read (fd, buf + len, cap - len - 1);
        if (r < 0 && errno == EINTR)
          continue;
        if (r <= 0)
          break;
        len += (size_t)r;
      }
  buf[len] = '\0';
  return buf;
}

static int
above_stdio (int fd)
{
  int moved;
  if (fd < 0 || fd > 2)
    return fd;
  moved = fcntl (fd, F_DUPFD_CLOEXEC, 3);
  close (fd);
  return moved;
}

int
slurm_hutch (const struct slurm_user *u, char *const *args, char **ret_out, char **ret_err)
{
  char **argv = NULL;
  size_t i;
  int out, err, status, e;
  pid_t pid;

  slurm_strv_push (&argv, "hutch");
  if (u->store)
    {
      slurm_strv_push (&argv, "--root");
      slurm_strv_push (&argv, u->store);
    }
  for (i = 0; u->cdi_dirs && u->cdi_dirs[i]; i++)
    {
      slurm_strv_push (&argv, "--cdi-spec-dir");
      slurm_strv_push (&argv, u->cdi_dirs[i]);
    }
  for (i = 0; args[i]; i++)
    slurm_strv_push (&argv, args[i]);

  /* memfds, not pipes: hutch run -d leaves a monitor behind that may hold
     them, and nothing here waits for an end of file.  */
  /* Above 2: slurmd runs the epilog's slurmstepd with stdin, stdout and
     stderr closed, and the child's dup2 onto them must not meet one of
     these.  */
  out = above_stdio (memfd_create ("hutch-out", MFD_CLOEXEC));
  err = above_stdio (memfd_create ("hutch-err", MFD_CLOEXEC));
  if (out < 0 || err < 0)
    {
      e = errno;
      if (ret_err)
        *ret_err = slurm_xasprintf ("memfd_create: %s", strerror (e));
      goto fail;
    }
  pid = fork ();
  if (pid < 0)
    {
      e = errno;
      if (ret_err)
        *ret_err = slurm_xasprintf ("fork: %s", strerror (e));
      goto fail;
    }
  if (pid == 0)
    {
      int null = open ("/dev/null", O_RDONLY | O_CLOEXEC), fd;
      if (null < 0 || dup2 (null, 0) < 0 || dup2 (out, 1) < 0 || dup2 (err, 2) < 0)
        _exit (126);
      /* dup2 onto the same number keeps close-on-exec */
      for (fd = 0; fd < 3; fd++)
        if (fcntl (fd, F_SETFD, 0) < 0)
          _exit (126);
      /* slurmstepd's own descriptors (its sockets to slurmd and srun, the
         plugin's pidfd) are not hutch's business.  */
      syscall (SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
      reset_process ();
      if (become_user (u) < 0)
        {
          dprintf (2, "cannot become user %s (uid %u): %s\n", u->name, (unsigned)u->uid,
                   strerror (errno));
          _exit (126);
        }
      if (chdir (u->cwd ? u->cwd : "/") < 0 && chdir ("/") < 0)
        _exit (126);
      execve (u->hutch, argv, u->env);
      dprintf (2,
               "cannot run %s: %s (is hutch installed on this node? the plugin's hutch= "
               "setting in plugstack.conf names it)\n",
               u->hutch, strerror (errno));
      _exit (127);
    }
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      {
        status = 0xff00;
        break;
      }
  if (ret_out)
    *ret_out = read_back (out);
  if (ret_err)
    *ret_err = read_back (err);
  close (out);
  close (err);
  free_strv (argv);
  if (WIFSIGNALED (status))
    return 128 + WTERMSIG (status);
  return WEXITSTATUS (status);

fail:
  if (out >= 0)
    close (out);
  if (err >= 0)
    close (err);
  free_strv (argv);
  if (ret_out)
    *ret_out = NULL;
  return -1;
}
