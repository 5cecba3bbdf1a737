/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "container.h"
#include "caps.h"
#include "idmap.h"
#include "mount.h"
#include "syscalls.h"
#include "terminal.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The launcher (P) and its children talk over one SOCK_SEQPACKET pair.
   A is cloned with CLONE_NEWUSER only, waits for P to write its id maps,
   creates the other namespaces and clones B with CLONE_PARENT, so that B
   (PID 1 of the new PID namespace) is P's own child, then exits.  B builds
   the root and executes the process; the socket is close-on-exec, so P
   reads end-of-file when the exec succeeded.  */
enum msg_type
{
  MSG_MAPS_OK = 1, /* P -> A: the maps are written */
  MSG_PID,         /* A -> P: B's pid */
  MSG_ARMED,       /* B -> P: PR_SET_PDEATHSIG is set */
  MSG_GO,          /* P -> B: still alive, carry on */
  MSG_PTY,         /* B -> P: the terminal's master (SCM_RIGHTS) */
  MSG_ERROR,       /* A or B -> P: setup failed */
};

struct msg
{
  int type;
  int pid;
  int errnum;
  int exit_code;
  char text[3800];
};

struct ctx
{
  struct hutch_spec *spec;
  int sock;   /* the children's end */
  int initfd; /* hutch-init, opened in the host's view */
  pid_t parent;
  sigset_t oldmask;
};

static int
send_msg (int sock, const struct msg *m, int fd)
{
  struct iovec iov = { (void *)m, sizeof *m };
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct msghdr mh = { 0 };
  ssize_t r;

  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  if (fd >= 0)
    {
      struct cmsghdr *c;
      memset (&u, 0, sizeof u);
      mh.msg_control = u.buf;
      mh.msg_controllen = sizeof u.buf;
      c = CMSG_FIRSTHDR (&mh);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN (sizeof (int));
      memcpy (CMSG_DATA (c), &fd, sizeof (int));
    }
  do
    r = sendmsg (sock, &mh, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  return r == (ssize_t)sizeof *m ? 0 : -1;
}

/* Returns 1 for a message, 0 for end-of-file, -1 on error.  */
static int
recv_msg (int sock, struct msg *m, int *ret_fd)
{
  struct iovec iov = { m, sizeof *m };
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct msghdr mh = { 0 };
  struct cmsghdr *c;
  ssize_t r;

  if (ret_fd)
    *ret_fd = -1;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = u.buf;
  mh.msg_controllen = sizeof u.buf;
  do
    r = recvmsg (sock, &mh, MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return -1;
  if (r == 0)
    return 0;
  for (c = CMSG_FIRSTHDR (&mh); c; c = CMSG_NXTHDR (&mh, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
      {
        int fd;
        memcpy (&fd, CMSG_DATA (c), sizeof fd);
        if (ret_fd)
          *ret_fd = fd;
        else
          close (fd);
      }
  if (r != (ssize_t)sizeof *m)
    return -1;
  m->text[sizeof m->text - 1] = '\0';
  return 1;
}

static void __attribute__ ((noreturn)) child_fail (struct ctx *c, hutch_error_t *err)
{
  struct msg m = { 0 };
  m.type = MSG_ERROR;
  m.errnum = err->errnum;
  m.exit_code = err->exit_code ? err->exit_code : HUTCH_EXIT_ERROR;
  snprintf (m.text, sizeof m.text, "%s", err->msg ? err->msg : "unknown error");
  send_msg (c->sock, &m, -1);
  _exit (m.exit_code);
}

static int
loopback_up (hutch_error_t *err)
{
  _cleanup_close_ int s = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr = { 0 };

  if (s < 0)
    return hutch_error_set (err, errno, "socket");
  strcpy (ifr.ifr_name, "lo");
  if (ioctl (s, SIOCGIFFLAGS, &ifr) < 0)
    return hutch_error_set (err, errno, "read the flags of lo");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl (s, SIOCSIFFLAGS, &ifr) < 0)
    return hutch_error_set (err, errno, "bring lo up");
  return 0;
}

static bool
setgroups_denied (void)
{
  char buf[16] = "";
  int fd = open ("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  if (read (fd, buf, sizeof buf - 1) < 0)
    buf[0] = '\0';
  close (fd);
  return strncmp (buf, "deny", 4) == 0;
}

static int
set_user (const struct hutch_spec *spec, hutch_error_t *err)
{
  size_t i;

  if (hutch_caps_drop_bounding (spec, err) < 0)
    return -1;
  if (!setgroups_denied ())
    {
      gid_t *gids = hutch_xmalloc0 ((spec->n_additional_gids + 1) * sizeof (gid_t));
      for (i = 0; i < spec->n_additional_gids; i++)
        gids[i] = spec->additional_gids[i];
      if (setgroups (spec->n_additional_gids, gids) < 0)
        {
          free (gids);
          return hutch_error_set (err, errno, "set the supplementary groups");
        }
      free (gids);
    }
  else if (spec->n_additional_gids > 0)
    return hutch_error_set (err, 0,
                            "supplementary groups cannot be set when setgroups is denied "
                            "(--userns=single, or no subordinate gid range)");
  if (setresgid (spec->gid, spec->gid, spec->gid) < 0)
    return hutch_error_set (err, errno, "set gid %u", spec->gid);
  if (setresuid (spec->uid, spec->uid, spec->uid) < 0)
    return hutch_error_set (err, errno, "set uid %u", spec->uid);
  if (hutch_caps_apply (spec, err) < 0)
    return -1;
  return 0;
}

static int
open_terminal (struct ctx *c, hutch_error_t *err)
{
  _cleanup_close_ int master = -1, slave = -1;
  struct winsize ws = { 0 };
  struct msg m = { 0 };
  int unlock = 0;

  /* The pty comes from the container's own devpts instance, so the process
     sees a /dev/pts/N that exists inside; the master goes to hutch.  */
  master = open ("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0)
    return hutch_error_set (err, errno,
                            "open /dev/pts/ptmx in the container (is /dev/pts mounted?)");
  if (ioctl (master, TIOCSPTLCK, &unlock) < 0)
    return hutch_error_set (err, errno, "unlock the terminal");
  slave = ioctl (master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0)
    return hutch_error_set (err, errno, "open the terminal's slave");
  if (c->spec->extra.rows && c->spec->extra.cols)
    {
      ws.ws_row = c->spec->extra.rows;
      ws.ws_col = c->spec->extra.cols;
      ioctl (slave, TIOCSWINSZ, &ws);
    }
  if (setsid () < 0)
    return hutch_error_set (err, errno, "setsid");
  if (ioctl (slave, TIOCSCTTY, 0) < 0)
    return hutch_error_set (err, errno, "make the terminal the controlling one");
  if (dup2 (slave, 0) < 0 || dup2 (slave, 1) < 0 || dup2 (slave, 2) < 0)
    return hutch_error_set (err, errno, "dup2 the terminal");
  m.type = MSG_PTY;
  if (send_msg (c->sock, &m, master) < 0)
    return hutch_error_set (err, errno, "send the terminal to hutch");
  return 0;
}

/* Look PROGRAM up in PATH the way a shell does; remember EACCES so that a
   program that exists but cannot run gives 126, not 127.  */
static int
exec_program (const struct hutch_spec *spec, char **argv, hutch_error_t *err)
{
  const char *prog = argv[0];
  const char *path = hutch_spec_getenv (spec, "PATH");
  _cleanup_free_ char *copy = NULL;
  char *save = NULL, *dir;
  int seen_eacces = 0, other = 0;

  if (strchr (prog, '/'))
    {
      execve (prog, argv, spec->env);
      if (errno == ENOENT)
        return hutch_error_set_exit (err, HUTCH_EXIT_NOT_FOUND, 0,
                                     "`%s`: no such file or directory in the container", prog);
      return hutch_error_set_exit (err, HUTCH_EXIT_CANNOT_EXEC, errno, "cannot execute `%s`", prog);
    }
  copy = hutch_xstrdup (path ? path
                             : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  for (dir = strtok_r (copy, ":", &save); dir; dir = strtok_r (NULL, ":", &save))
    {
      _cleanup_free_ char *cand = hutch_xasprintf ("%s/%s", *dir ? dir : ".", prog);
      execve (cand, argv, spec->env);
      if (errno == EACCES)
        seen_eacces = 1;
      else if (errno != ENOENT && errno != ENOTDIR)
        other = errno;
    }
  if (other)
    return hutch_error_set_exit (err, HUTCH_EXIT_CANNOT_EXEC, other, "cannot execute `%s`", prog);
  if (seen_eacces)
    return hutch_error_set_exit (err, HUTCH_EXIT_CANNOT_EXEC, EACCES, "cannot execute `%s`", prog);
  return hutch_error_set_exit (err, HUTCH_EXIT_NOT_FOUND, 0,
                               "`%s`: executable file not found in $PATH in the container", prog);
}

static int
child_b_setup (struct ctx *c, hutch_error_t *err)
{
  struct hutch_spec *spec = c->spec;
  struct hutch_rootfs rfs;
  size_t i;
  int r;

  if (spec->ns[HUTCH_NS_MOUNT])
    {
      /* Nothing we mount may propagate back to the host.  rslave (not
         rprivate) so that the host's unmounts still reach us and we do not
         keep its filesystems busy.  */
      if (mount ("", "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
        return hutch_error_set (err, errno, "make the mount namespace private");
      r = hutch_rootfs_prepare (spec, &rfs, err);
      if (r == 0)
        r = hutch_rootfs_build (spec, &rfs, err);
      if (r == 0)
        r = hutch_rootfs_pivot (&rfs, err);
      if (r == 0 && !spec->extra.interactive && !spec->terminal && dup2 (rfs.nullfd, 0) < 0)
        r = hutch_error_set (err, errno, "dup2");
      hutch_rootfs_close (&rfs, spec->n_mounts);
      if (r < 0)
        return r;
    }
  else
    return hutch_error_set (err, 0, "a container without a mount namespace is not supported");

  if (spec->ns[HUTCH_NS_UTS] && spec->hostname
      && sethostname (spec->hostname, strlen (spec->hostname)) < 0)
    return hutch_error_set (err, errno, "set the hostname");
  if (spec->ns[HUTCH_NS_NET] && loopback_up (err) < 0)
    return -1;

  for (i = 0; i < spec->n_rlimits; i++)
    {
      struct rlimit rl = { spec->rlimits[i].soft, spec->rlimits[i].hard };
      if (setrlimit (spec->rlimits[i].resource, &rl) < 0)
        return hutch_error_set (err, errno, "set rlimit %d", spec->rlimits[i].resource);
    }

  if (spec->terminal)
    {
      if (open_terminal (c, err) < 0)
        return -1;
    }
  else if (setsid () < 0)
    /* A new session without a controlling terminal: the container cannot
       push input into the user's terminal with TIOCSTI (CVE-2017-5226).  */
    return hutch_error_set (err, errno, "setsid");

  if (set_user (spec, err) < 0)
    return -1;
  /* chdir after the uid change, so the user's own permissions apply.  */
  if (chdir (spec->cwd) < 0)
    return hutch_error_set (err, errno, "working directory `%s`", spec->cwd);
  if (spec->no_new_privileges && prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return hutch_error_set (err, errno, "prctl(PR_SET_NO_NEW_PRIVS)");
  return 0;
}

static void __attribute__ ((noreturn)) child_b (struct ctx *c)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct msg m = { 0 };
  int i;

  /* B is P's child (CLONE_PARENT): die with it.  The round trip below
     proves P was still alive after the signal was armed.  */
  if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
    _exit (HUTCH_EXIT_ERROR);
  m.type = MSG_ARMED;
  if (send_msg (c->sock, &m, -1) < 0 || recv_msg (c->sock, &m, NULL) != 1 || m.type != MSG_GO)
    _exit (HUTCH_EXIT_ERROR);

  if (child_b_setup (c, &err) < 0)
    child_fail (c, &err);

  /* No fd of hutch's reaches the process: everything above 2 is marked
     close-on-exec (the socket too, which tells P that exec happened).  */
  if (hutch_close_range (3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    {
      for (i = 3; i < 1024; i++)
        fcntl (i, F_SETFD, FD_CLOEXEC);
    }
  for (i = 1; i < NSIG; i++)
    signal (i, SIG_DFL);
  sigprocmask (SIG_SETMASK, &c->oldmask, NULL);

  if (c->spec->extra.init)
    {
      size_t n = hutch_strv_len (c->spec->args), k;
      char **argv = hutch_xmalloc0 ((n + 3) * sizeof (char *));
      argv[0] = (char *)"hutch-init";
      argv[1] = (char *)"--";
      for (k = 0; k < n; k++)
        argv[k + 2] = c->spec->args[k];
      syscall (SYS_execveat, c->initfd, "", argv, c->spec->env, AT_EMPTY_PATH);
      hutch_error_set (&err, errno, "execute hutch-init");
      child_fail (c, &err);
    }
  exec_program (c->spec, c->spec->args, &err);
  child_fail (c, &err);
}

static void __attribute__ ((noreturn)) child_a (struct ctx *c)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_spec *spec = c->spec;
  struct msg m = { 0 };
  int flags = 0;
  pid_t b;

  if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid () != c->parent)
    _exit (HUTCH_EXIT_ERROR);
  if (recv_msg (c->sock, &m, NULL) != 1 || m.type != MSG_MAPS_OK)
    _exit (HUTCH_EXIT_ERROR);

  if (spec->ns[HUTCH_NS_MOUNT])
    flags |= CLONE_NEWNS;
  if (spec->ns[HUTCH_NS_UTS])
    flags |= CLONE_NEWUTS;
  if (spec->ns[HUTCH_NS_IPC])
    flags |= CLONE_NEWIPC;
  if (spec->ns[HUTCH_NS_NET])
    flags |= CLONE_NEWNET;
  if (spec->ns[HUTCH_NS_CGROUP])
    flags |= CLONE_NEWCGROUP;
  if (unshare (flags) < 0)
    {
      hutch_error_set (&err, errno, "create the container's namespaces");
      child_fail (c, &err);
    }
  if (spec->ns[HUTCH_NS_PID] && unshare (CLONE_NEWPID) < 0)
    {
      hutch_error_set (&err, errno, "create the PID namespace");
      child_fail (c, &err);
    }
  b = (pid_t)syscall (SYS_clone, CLONE_PARENT | SIGCHLD, 0, NULL, NULL, 0);
  if (b < 0)
    {
      hutch_error_set (&err, errno, "clone the container's process");
      child_fail (c, &err);
    }
  if (b == 0)
    child_b (c);
  m.type = MSG_PID;
  m.pid = b;
  send_msg (c->sock, &m, -1);
  _exit (0);
}

static bool
is_own_single (const struct hutch_idmap *map, size_t n, unsigned int own)
{
  return n == 1 && map[0].host_id == own && map[0].size == 1;
}

static int
write_maps (const struct hutch_spec *spec, pid_t pid, hutch_error_t *err)
{
  const struct hutch_idmap *um = spec->uid_mappings, *gm = spec->gid_mappings;
  struct hutch_idplan plan = { 0 };
  bool helpers, deny;
  int r;

  if (spec->n_uid_mappings == 0 || spec->n_gid_mappings == 0)
    {
      /* config.json without mappings: use hutch's default plan.  */
      if (hutch_idplan_make (HUTCH_USERNS_DEFAULT, &plan, err) < 0)
        return -1;
      um = plan.uid_map;
      gm = plan.gid_map;
      r = hutch_idmap_write (pid, plan.use_helpers, plan.deny_setgroups, um, plan.n_uid, gm,
                             plan.n_gid, err);
      hutch_idplan_clear (&plan);
      return r;
    }
  if (geteuid () == 0)
    helpers = deny = false;
  else if (is_own_single (um, spec->n_uid_mappings, geteuid ())
           && is_own_single (gm, spec->n_gid_mappings, getegid ()))
    {
      helpers = false;
      deny = true;
    }
  else
    {
      helpers = true;
      deny = false;
    }
  return hutch_idmap_write (pid, helpers, deny, um, spec->n_uid_mappings, gm, spec->n_gid_mappings,
                            err);
}

static int
check_ids_mapped (const struct hutch_spec *spec, hutch_error_t *err)
{
  size_t i;
  if (spec->n_uid_mappings == 0)
    return 0;
  if (!hutch_idmap_contains (spec->uid_mappings, spec->n_uid_mappings, spec->uid))
    return hutch_error_set (err, 0,
                            "container uid %u is not mapped: the user namespace has %lu uids "
                            "(your subordinate range in /etc/subuid is too small, or "
                            "--userns=single maps only one); ask an administrator for a range "
                            "of 65536 (`usermod --add-subuids 100000-165535 USER`)",
                            spec->uid,
                            hutch_idmap_total (spec->uid_mappings, spec->n_uid_mappings));
  if (!hutch_idmap_contains (spec->gid_mappings, spec->n_gid_mappings, spec->gid))
    return hutch_error_set (err, 0,
                            "container gid %u is not mapped: the user namespace has %lu gids "
                            "(your subordinate range in /etc/subgid is too small, or "
                            "--userns=single maps only one); ask an administrator for a range "
                            "of 65536 (`usermod --add-subgids 100000-165535 USER`)",
                            spec->gid,
                            hutch_idmap_total (spec->gid_mappings, spec->n_gid_mappings));
  for (i = 0; i < spec->n_additional_gids; i++)
    if (!hutch_idmap_contains (spec->gid_mappings, spec->n_gid_mappings, spec->additional_gids[i]))
      return hutch_error_set (err, 0,
                              "supplementary group %u is not mapped in the user namespace "
                              "(subordinate gid range too small)",
                              spec->additional_gids[i]);
  return 0;
}

static void
kill_and_reap (pid_t pid)
{
  int st;
  if (pid <= 0)
    return;
  kill (pid, SIGKILL);
  while (waitpid (pid, &st, 0) < 0 && errno == EINTR)
    ;
}

static int
status_to_code (int st)
{
  if (WIFEXITED (st))
    return WEXITSTATUS (st);
  if (WIFSIGNALED (st))
    return 128 + WTERMSIG (st);
  return HUTCH_EXIT_ERROR;
}

/* Signals hutch passes on to the container's PID 1.  */
static const int forwarded[] = { SIGHUP,  SIGINT,  SIGQUIT,  SIGTERM, SIGUSR1, SIGUSR2,
                                 SIGALRM, SIGCONT, SIGWINCH, SIGURG,  SIGPWR };

static int
supervise (struct hutch_spec *spec, pid_t b, int sfd, int master, int *ret_status,
           hutch_error_t *err)
{
  struct hutch_terminal_copy tc;
  bool done = false;
  int status = 0;

  hutch_terminal_copy_init (&tc, master, spec->extra.interactive);
  while (!done)
    {
      struct pollfd pfd[3];
      int n = 0, k;

      pfd[n++] = (struct pollfd){ sfd, POLLIN, 0 };
      n += hutch_terminal_copy_pollfds (&tc, &pfd[n]);
      if (poll (pfd, (nfds_t)n, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          return hutch_error_set (err, errno, "poll");
        }
      if (pfd[0].revents & POLLIN)
        {
          struct signalfd_siginfo si;
          if (read (sfd, &si, sizeof si) == (ssize_t)sizeof si)
            {
              if (si.ssi_signo == SIGCHLD)
                {
                  for (;;)
                    {
                      int st;
                      pid_t p = waitpid (-1, &st, WNOHANG);
                      if (p <= 0)
                        break;
                      if (p == b)
                        {
                          status = status_to_code (st);
                          done = true;
                        }
                    }
                }
              else if (si.ssi_signo == SIGWINCH && master >= 0)
                hutch_terminal_resize (master);
              else
                kill (b, (int)si.ssi_signo);
            }
        }
      for (k = 1; k < n; k++)
        if (pfd[k].revents)
          hutch_terminal_copy_event (&tc, &pfd[k]);
    }
  if (master >= 0)
    hutch_terminal_copy_drain (&tc);
  *ret_status = status;
  return 0;
}

int
hutch_container_run (struct hutch_spec *spec, int *ret_status, hutch_error_t *err)
{
  struct hutch_terminal_state term = { 0 };
  _cleanup_close_ int initfd = -1, sfd = -1, master = -1;
  struct ctx c = { 0 };
  sigset_t mask;
  int sp[2] = { -1, -1 }, ret = -1, cflags;
  pid_t a = -1, b = -1;
  struct msg m;
  size_t i;
  bool armed = false;

  if (spec->args == NULL || spec->args[0] == NULL)
    return hutch_error_set (err, 0, "no command to run");
  if (check_ids_mapped (spec, err) < 0)
    return -1;
  if (hutch_caps_validate (spec, err) < 0)
    return -1;
  if (spec->extra.init)
    {
      initfd = open (spec->extra.init_path, O_RDONLY | O_CLOEXEC);
      if (initfd < 0)
        return hutch_error_set (err, errno, "open hutch-init `%s` (reinstall hutch)",
                                spec->extra.init_path);
    }

  /* Signals are taken through a signalfd: block them before any child
     exists, so that none is lost between clone and the loop.  */
  sigemptyset (&mask);
  for (i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
    sigaddset (&mask, forwarded[i]);
  sigaddset (&mask, SIGCHLD);
  sigaddset (&mask, SIGPIPE);
  if (sigprocmask (SIG_BLOCK, &mask, &c.oldmask) < 0)
    return hutch_error_set (err, errno, "sigprocmask");
  sfd = signalfd (-1, &mask, SFD_CLOEXEC);
  if (sfd < 0)
    {
      hutch_error_set (err, errno, "signalfd");
      goto out;
    }
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
    {
      hutch_error_set (err, errno, "socketpair");
      goto out;
    }
  if (spec->terminal && isatty (0))
    {
      struct winsize ws;
      if (ioctl (0, TIOCGWINSZ, &ws) == 0)
        {
          spec->extra.rows = ws.ws_row;
          spec->extra.cols = ws.ws_col;
        }
    }

  c.spec = spec;
  c.sock = sp[1];
  c.initfd = initfd;
  c.parent = getpid ();
  cflags = spec->ns[HUTCH_NS_USER] ? CLONE_NEWUSER : 0;
  a = (pid_t)syscall (SYS_clone, cflags | SIGCHLD, 0, NULL, NULL, 0);
  if (a < 0)
    {
      int e = errno;
      if (cflags)
        hutch_userns_diagnose ("/proc/sys", e, err);
      else
        hutch_error_set (err, e, "clone");
      goto out;
    }
  if (a == 0)
    {
      close (sp[0]);
      child_a (&c);
    }
  close (sp[1]);
  sp[1] = -1;

  if (spec->ns[HUTCH_NS_USER] && write_maps (spec, a, err) < 0)
    goto out;
  m = (struct msg){ .type = MSG_MAPS_OK };
  if (send_msg (sp[0], &m, -1) < 0)
    {
      hutch_error_set (err, errno, "talk to the container's first process");
      goto out;
    }

  /* Collect B's pid (from A) and its ARMED (from B), in either order.  */
  while (b < 0 || !armed)
    {
      int r = recv_msg (sp[0], &m, NULL);
      if (r <= 0)
        {
          hutch_error_set (err, 0, "the container's process ended during setup");
          goto out;
        }
      if (m.type == MSG_PID)
        b = m.pid;
      else if (m.type == MSG_ARMED)
        armed = true;
      else if (m.type == MSG_ERROR)
        {
          hutch_error_set_exit (err, m.exit_code, m.errnum, "%s", m.text);
          err->errnum = m.errnum;
          goto out;
        }
    }
  while (waitpid (a, NULL, 0) < 0 && errno == EINTR)
    ;
  a = -1;
  m = (struct msg){ .type = MSG_GO };
  if (send_msg (sp[0], &m, -1) < 0)
    {
      hutch_error_set (err, errno, "talk to the container's process");
      goto out;
    }

  for (;;)
    {
      int fd = -1, r = recv_msg (sp[0], &m, &fd);
      if (r < 0)
        {
          hutch_error_set (err, errno, "read from the container's process");
          goto out;
        }
      if (r == 0)
        break; /* exec happened: the socket was close-on-exec */
      if (m.type == MSG_PTY && fd >= 0)
        {
          if (master >= 0)
            close (master);
          master = fd;
          continue;
        }
      if (fd >= 0)
        close (fd);
      if (m.type == MSG_ERROR)
        {
          hutch_error_set_exit (err, m.exit_code, 0, "%s", m.text);
          err->errnum = m.errnum;
          if (m.errnum == EPERM)
            {
              hutch_error_t diag = HUTCH_ERROR_INIT;
              /* Ubuntu's AppArmor lets the namespace be created and then
                 denies everything in it: say so rather than "EPERM".  */
              hutch_userns_diagnose ("/proc/sys", EPERM, &diag);
              if (diag.msg && strstr (diag.msg, "AppArmor"))
                hutch_error_append (err, "%s", diag.msg);
              hutch_error_clear (&diag);
            }
          goto out;
        }
    }

  if (master >= 0 && hutch_terminal_enter_raw (&term) < 0)
    {
      /* Not fatal: stdin is not a terminal (a pipe, a file).  */
    }
  ret = supervise (spec, b, sfd, master, ret_status, err);
  b = -1;
  hutch_terminal_restore (&term);

out:
  if (ret < 0)
    {
      int st;
      if (b > 0 && err->exit_code != HUTCH_EXIT_ERROR)
        {
          /* B reported an exec failure and exits with that code: reap it.  */
          while (waitpid (b, &st, 0) < 0 && errno == EINTR)
            ;
          b = -1;
        }
      kill_and_reap (a);
      kill_and_reap (b);
    }
  if (sp[0] >= 0)
    close (sp[0]);
  if (sp[1] >= 0)
    close (sp[1]);
  sigprocmask (SIG_SETMASK, &c.oldmask, NULL);
  return ret;
}
