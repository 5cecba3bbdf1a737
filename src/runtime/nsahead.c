/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* User namespaces made ahead of time (nsahead.h): the maker, this run's
   namespace, and the keeper that has the next run's ready.  */

#include "runtime/nsahead.h"
#include "runtime/cgroup.h"
#include "runtime/sync.h"
#include "base/log.h"
#include "base/paths.h"
#include "base/syscalls.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <linux/nsfs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

/* ---- what a namespace is made for -------------------------------------- */

/* The mode of its maps, and the four soft limits that the kernel copies
   from a user namespace's creator into the namespace's ceilings
   (create_user_ns): a namespace made by a keeper that a shell with
   another `ulimit -u` started would give the container that shell's
   ceiling on processes.  As text, "MODE NPROC SIGPENDING MSGQUEUE
   MEMLOCK": a spare is handed out only for the same text, and a maker
   sets these limits before it makes one.  */
static const int want_limits[4]
    = { RLIMIT_NPROC, RLIMIT_SIGPENDING, RLIMIT_MSGQUEUE, RLIMIT_MEMLOCK };
#define WANT_LEN 128

static void
want_text (enum hutch_userns_mode mode, char buf[WANT_LEN])
{
  unsigned long long v[4];
  size_t i;

  for (i = 0; i < 4; i++)
    {
      struct rlimit rl = { 0, 0 };
      getrlimit (want_limits[i], &rl);
      v[i] = (unsigned long long)rl.rlim_cur;
    }
  snprintf (buf, WANT_LEN, "%d %llu %llu %llu %llu", (int)mode, v[0], v[1], v[2], v[3]);
}

/* WANT's mode, and its limits set as this process's soft limits (the
   hard ones stay: a limit above them fails the maker, which then makes
   nothing).  */
static int
want_apply (const char *want, enum hutch_userns_mode *ret_mode)
{
  unsigned long long v[4];
  int mode;
  size_t i;

  if (sscanf (want, "%d %llu %llu %llu %llu", &mode, &v[0], &v[1], &v[2], &v[3]) != 5)
    return -1;
  for (i = 0; i < 4; i++)
    {
      struct rlimit rl;
      if (getrlimit (want_limits[i], &rl) < 0)
        return -1;
      rl.rlim_cur = (rlim_t)v[i];
      if (setrlimit (want_limits[i], &rl) < 0)
        return -1;
    }
  *ret_mode = (enum hutch_userns_mode)mode;
  return 0;
}

/* ---- who may hand out or take a namespace ------------------------------ */

static bool
same_file (const struct stat *a, const struct stat *b)
{
  return a->st_ino == b->st_ino && a->st_dev == b->st_dev;
}

/* Whether the process at the other end of the unix socket FD is the
   user, in our own user namespace: a process in one of the user's
   containers has the user's uid too (container root in the default
   mode), but in a user namespace below ours, and may reach the runtime
   directory (a bind of /tmp, the host sandbox), so the uid alone would
   let it pose as the keeper, or take its namespaces.  The peer is held
   by its pidfd (SO_PEERPIDFD, Linux 6.5; else pidfd_open of its pid) and
   checked alive after its namespace was read, so that a pid reused in
   between does not count.  */
static bool
peer_is_us (int fd)
{
  struct ucred uc;
  socklen_t len = sizeof uc, plen = sizeof (int);
  struct stat mine, theirs;
  char path[64];
  int pidfd = -1;
  bool ok;

  if (getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0 || uc.uid != geteuid ()
      || uc.pid <= 0)
    return false;
  if (getsockopt (fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &plen) < 0)
    pidfd = (int)syscall (SYS_pidfd_open, uc.pid, 0);
  if (pidfd < 0)
    return false;
  snprintf (path, sizeof path, "/proc/%d/ns/user", (int)uc.pid);
  ok = stat ("/proc/self/ns/user", &mine) == 0 && stat (path, &theirs) == 0
       && same_file (&mine, &theirs) && syscall (SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0;
  close (pidfd);
  return ok;
}

/* Whether FD is a namespace of TYPE whose owning user namespace is the
   file OWNER.  */
static bool
ns_owned_by (int fd, int type, const struct stat *owner)
{
  struct stat st;
  int u;
  bool ok;

  if (fd < 0 || ioctl (fd, NS_GET_NSTYPE) != type)
    return false;
  u = ioctl (fd, NS_GET_USERNS);
  if (u < 0)
    return false;
  ok = fstat (u, &st) == 0 && same_file (&st, owner);
  close (u);
  return ok;
}

/* Whether NS is what a maker of ours makes: a user namespace that is a
   child of ours and owned by our uid, and (when there are) network, UTS
   and IPC namespaces owned by it.  Checked on the fds themselves, so
   that whatever the other end of the socket was, the run joins nothing
   else (a namespace nested in a container's, or in another hierarchy's:
   a toolbox sharing the runtime directory).  */
static bool
ahead_fits (const struct hutch_nsahead *ns)
{
  struct stat mine, st;
  uid_t owner = (uid_t)-1;
  int parent;
  bool ok;

  if (ns->user < 0 || ioctl (ns->user, NS_GET_NSTYPE) != CLONE_NEWUSER
      || ioctl (ns->user, NS_GET_OWNER_UID, &owner) < 0 || owner != geteuid ()
      || stat ("/proc/self/ns/user", &mine) < 0)
    return false;
  parent = ioctl (ns->user, NS_GET_PARENT);
  if (parent < 0)
    return false;
  ok = fstat (parent, &st) == 0 && same_file (&st, &mine);
  close (parent);
  if (!ok || fstat (ns->user, &st) < 0)
    return false;
  return ns->net < 0
         || (ns_owned_by (ns->net, CLONE_NEWNET, &st) && ns_owned_by (ns->uts, CLONE_NEWUTS, &st)
             && ns_owned_by (ns->ipc, CLONE_NEWIPC, &st));
}

/* ---- the maker ---------------------------------------------------------- */

/* The network, UTS and IPC namespaces, made in the user namespace NSFD
   (mapped: their root is the namespace's root from the start, as when A
   makes them), sent over SOCK after it with M.  Without them (a kernel
   or a policy that refuses) the user namespace goes alone, and A makes
   them.  The maker joins NSFD for this: it ends right after.  */
static int
send_with_more (int sock, const struct hutch_msg *m, int nsfd)
{
  int fds[4] = { nsfd, -1, -1, -1 }, r;
  size_t n = 1, i;

  if (setns (nsfd, CLONE_NEWUSER) == 0 && unshare (CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC) == 0)
    {
      fds[1] = open ("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
      fds[2] = open ("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
      fds[3] = open ("/proc/self/ns/ipc", O_RDONLY | O_CLOEXEC);
      if (fds[1] >= 0 && fds[2] >= 0 && fds[3] >= 0)
        n = 4;
    }
  r = hutch_msg_send_fds (sock, m, fds, n);
  for (i = 1; i < 4; i++)
    if (fds[i] >= 0)
      close (fds[i]);
  return r;
}

/* The maps as the maker sends them and the run compares them:
   "UIDMAP/GIDMAP", each as hutch_idmap_format writes it.  */
static char *
maps_text (const struct hutch_idmap *uid_map, size_t n_uid, const struct hutch_idmap *gid_map,
           size_t n_gid)
{
  _cleanup_free_ char *uids = hutch_idmap_format (uid_map, n_uid);
  _cleanup_free_ char *gids = hutch_idmap_format (gid_map, n_gid);
  return hutch_xasprintf ("%s/%s", uids, gids);
}

/* The maker's part once the plan is known: a process in a new user
   namespace (the holder, which only waits), the helpers on it (side by
   side: hutch_idmap_write), and the namespace's fd with the maps as
   text over SOCK once both are written.  The holder is gone before
   anything is sent.  */
static int
make_mapped (int sock, const struct hutch_idplan *plan, hutch_error_t *err)
{
  struct hutch_msg m = { .type = HUTCH_MSG_MAPS_OK };
  _cleanup_free_ char *nspath = NULL, *maps = NULL;
  _cleanup_close_ int nsfd = -1;
  int hold[2], r = -1;
  pid_t holder, self = getpid ();
  char c;

  if (pipe2 (hold, O_CLOEXEC) < 0)
    return hutch_error_set (err, errno, "pipe");
  holder = (pid_t)syscall (SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, NULL, NULL, 0);
  if (holder == 0)
    {
      /* Until the maker closes its end: the maps are written then, and
         the namespace lives on in the maker's fd.  */
      close (hold[1]);
      if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid () != self)
        _exit (0);
      while (read (hold[0], &c, 1) < 0 && errno == EINTR)
        ;
      _exit (0);
    }
  close (hold[0]);
  if (holder < 0)
    {
      close (hold[1]);
      return hutch_error_set (err, errno, "clone a user namespace");
    }
  nspath = hutch_xasprintf ("/proc/%d/ns/user", (int)holder);
  nsfd = open (nspath, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0)
    hutch_error_set (err, errno, "open %s", nspath);
  else
    r = hutch_idmap_write (holder, true, false, plan->uid_map, plan->n_uid, plan->gid_map,
                           plan->n_gid, err);
  close (hold[1]);
  while (waitpid (holder, NULL, 0) < 0 && errno == EINTR)
    ;
  if (r < 0)
    return -1;
  maps = maps_text (plan->uid_map, plan->n_uid, plan->gid_map, plan->n_gid);
  if (strlen (maps) >= sizeof m.text)
    return hutch_error_set (err, 0, "the id maps are too long to pass on");
  memcpy (m.text, maps, strlen (maps) + 1);
  return send_with_more (sock, &m, nsfd);
}

/* The maker: the plan for MODE is made here, not in its parent, which
   goes on meanwhile.  Nothing is sent when no helper is needed or
   something failed: hutch then does it all itself, and says what is
   wrong.  IDLE: at the scheduler's idle priority (the keeper's, which
   works for a run to come).  */
static void __attribute__ ((noreturn))
maker_main (int sock, pid_t parent, const char *want, bool idle)
{
  struct sched_param sp = { 0 };
  struct hutch_idplan plan;
  hutch_error_t err = HUTCH_ERROR_INIT;
  enum hutch_userns_mode mode;

  if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid () != parent)
    _exit (HUTCH_EXIT_ERROR);
  prctl (PR_SET_NAME, "hutch-nsmaker", 0, 0, 0);
  /* Nothing of its parent's but stdio (the keeper's lock and socket
     would outlive the keeper a moment in a maker).  */
  hutch_close_all_but (&sock, 1);
  /* The helpers inherit it.  */
  if (idle)
    sched_setscheduler (0, SCHED_IDLE, &sp);
  /* The holder it clones makes the namespace: with the run's limits.  */
  if (want_apply (want, &mode) == 0 && hutch_idplan_make (mode, &plan, &err) == 0
      && plan.use_helpers && plan.n_uid > 0 && plan.n_gid > 0)
    make_mapped (sock, &plan, &err);
  _exit (0);
}

/* Fork a maker for WANT: *RET_SOCK receives its namespace, *RET_PIDFD
   reaps it (no pid that could be reused).  A fork, not a spawn: the
   caller goes on at once, the maker waits for the helpers' execs.  */
static int
maker_start (const char *want, bool idle, int *ret_sock, int *ret_pidfd)
{
  pid_t pid, parent = getpid ();
  int sp[2], pidfd = -1;

  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
    return -1;
  pid = fork ();
  if (pid == 0)
    {
      close (sp[0]);
      maker_main (sp[1], parent, want, idle);
    }
  close (sp[1]);
  if (pid > 0)
    pidfd = (int)syscall (SYS_pidfd_open, pid, 0);
  if (pidfd < 0)
    {
      /* No pidfd (Linux < 5.3): nothing ahead of time.  */
      close (sp[0]);
      if (pid > 0)
        {
          kill (pid, SIGKILL);
          while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
            ;
        }
      return -1;
    }
  *ret_sock = sp[0];
  *ret_pidfd = pidfd;
  return 0;
}

void
hutch_nsahead_close (struct hutch_nsahead *ns)
{
  int *fds[4] = { &ns->user, &ns->net, &ns->uts, &ns->ipc };
  size_t i;

  for (i = 0; i < 4; i++)
    {
      if (*fds[i] >= 0)
        close (*fds[i]);
      *fds[i] = -1;
    }
}

/* The namespaces and the maps from a maker's (or the keeper's) SOCK.  */
static int
ns_recv (int sock, struct hutch_nsahead *ret, char **ret_maps)
{
  struct hutch_msg m;
  int fds[4] = { -1, -1, -1, -1 };
  size_t n = 0, i;
  int r = hutch_msg_recv_fds (sock, &m, fds, 4, &n);

  if (r == 1 && m.type == HUTCH_MSG_MAPS_OK && (n == 1 || n == 4))
    {
      *ret = (struct hutch_nsahead){ fds[0], fds[1], fds[2], fds[3] };
      *ret_maps = hutch_xstrdup (m.text);
      return 0;
    }
  for (i = 0; i < n; i++)
    close (fds[i]);
  return -1;
}

/* Send NS (those there are) with M.  */
static int
ns_send (int sock, const struct hutch_msg *m, const struct hutch_nsahead *ns)
{
  int fds[4] = { ns->user, ns->net, ns->uts, ns->ipc };
  return hutch_msg_send_fds (sock, m, fds, ns->net >= 0 ? 4 : 1);
}

/* Wait for a maker to end (KILL_IT: kill it first) and reap it; a
   waitpid(-1) of a container's may have done it already (ECHILD).  */
static void
maker_reap (int *pidfd, bool kill_it)
{
  siginfo_t si;

  if (*pidfd < 0)
    return;
  if (kill_it)
    syscall (SYS_pidfd_send_signal, *pidfd, SIGKILL, NULL, 0);
  while (waitid ((idtype_t)P_PIDFD, (id_t)*pidfd, &si, WEXITED) < 0 && errno == EINTR)
    ;
  close (*pidfd);
  *pidfd = -1;
}

/* ---- the keeper --------------------------------------------------------- */

/* One name per protocol: a keeper of an older hutch is not asked.  */
#define KEEPER_NAME "userns-keeper.2"

static bool
keeper_addr (struct sockaddr_un *sa, const char *suffix, char **ret_path)
{
  _cleanup_free_ char *dir = hutch_paths_runtime_dir ();
  char *path = hutch_xasprintf ("%s/" KEEPER_NAME "%s", dir, suffix);

  memset (sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  if (strlen (path) >= sizeof sa->sun_path)
    {
      free (path);
      return false;
    }
  strcpy (sa->sun_path, path);
  if (ret_path)
    *ret_path = path;
  else
    free (path);
  return true;
}

/* Whether the runtime directory is the user's alone (a directory, not a
   link, owned by the user, mode 0700), as hutch's own checks want it:
   the socket and the lock go there.  MAKE: made when missing (the first
   run starts the keeper before it makes the directory itself).  */
static bool
runtime_dir_private (bool make)
{
  _cleanup_free_ char *dir = hutch_paths_runtime_dir ();
  struct stat st;

  if (make && mkdir (dir, 0700) < 0 && errno != EEXIST)
    return false;
  errno = 0;
  return lstat (dir, &st) == 0 && S_ISDIR (st.st_mode) && st.st_uid == geteuid ()
         && (st.st_mode & 0077) == 0;
}

/* Ask the keeper for the namespaces for WANT: 0 with them in *RET (and
   their maps in *RET_MAPS), -1 when it has none ready, -2 when no keeper
   answers.  The keeper answers at once; one that does not within half a
   second, to the connection or to the question, is not waited for (a
   full backlog blocks a connect without a timeout).  *RET_CONN: the
   connection, held until the container's command runs (the keeper makes
   no namespace while a run holds one, so that its helpers do not slow
   that run's start).  */
static int
keeper_ask (const char *want, struct hutch_nsahead *ret, char **ret_maps, int *ret_conn)
{
  struct hutch_msg m = { .type = HUTCH_MSG_USERNS_WANT };
  struct timeval tv = { 0, 500000 };
  struct sockaddr_un sa;
  int s, r;

  /* No runtime directory yet: no keeper either (it makes the directory).  */
  if (!runtime_dir_private (false))
    return errno == ENOENT ? -2 : -1;
  if (!keeper_addr (&sa, ".sock", NULL))
    return -1;
  snprintf (m.text, sizeof m.text, "%s", want);
  s = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (s < 0)
    return -1;
  if (setsockopt (s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0
      || setsockopt (s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
    {
      close (s);
      return -1;
    }
  if (connect (s, (struct sockaddr *)&sa, sizeof sa) < 0)
    {
      r = errno == ENOENT || errno == ECONNREFUSED ? -2 : -1;
      close (s);
      return r;
    }
  /* Only a keeper that is the user, in our user namespace (peer_is_us),
     is asked; what it sends is checked again (ahead_fits).  */
  r = peer_is_us (s) && hutch_msg_send (s, &m, -1) == 0 ? ns_recv (s, ret, ret_maps) : -1;
  if (r == 0)
    *ret_conn = s;
  else
    close (s);
  return r;
}

/* The keeper's own cgroup: in a cgroup the user may split (delegated), a
   child of its own, so that the cgroup stays one hutch can be alone in
   (cgroup.c moves hutch to a leaf of its own there, and only when no other
   process is in it).  Elsewhere hutch does not move, and nor does the
   keeper; nor under a systemd user manager that did not delegate the
   cgroup (hutch asks for a scope of its own there).  The leaf's name
   cannot be a container's (hutch-ID: an id has no `_` after `hutch`).
   False when the move failed: better no keeper than one in the way.  */
static bool
keeper_cgroup (void)
{
  struct hutch_cgroup_host h = { 0 };
  hutch_error_t e = HUTCH_ERROR_INIT;
  _cleanup_free_ char *leaf = NULL, *procs = NULL;
  _cleanup_close_ int fd = -1;
  bool ok = true;

  if (hutch_cgroup_probe (&h, &e) < 0 || !h.delegated || h.systemd_managed || h.own == NULL)
    {
      hutch_error_clear (&e);
      hutch_cgroup_host_clear (&h);
      return true;
    }
  leaf = hutch_xasprintf ("%s/hutch_userns_keeper", h.own);
  procs = hutch_xasprintf ("%s/cgroup.procs", leaf);
  if (mkdir (leaf, 0755) < 0 && errno != EEXIST)
    ok = false;
  if (ok)
    fd = open (procs, O_WRONLY | O_CLOEXEC);
  ok = ok && fd >= 0 && write (fd, "0", 1) == 1;
  hutch_cgroup_host_clear (&h);
  return ok;
}

#define KEEPER_RUNS 64

struct keeper
{
  int listener;
  int runs[KEEPER_RUNS]; /* the connections of the runs going on */
  size_t n_runs;
  char want[WANT_LEN];        /* what the next namespace is for (the last run's), or "" */
  struct hutch_nsahead spare; /* the namespaces ready for the next run (user -1: none) */
  char *spare_maps;           /* its maps as text */
  char spare_want[WANT_LEN];  /* what it was made for */
  int maker_sock;             /* a maker at work, or -1 */
  int maker_pidfd;            /* and its pidfd */
  char maker_want[WANT_LEN];  /* what it works for */
  bool maker_failed;          /* the last one sent nothing: no retry until a run asks again */
  long long deadline;         /* when it ends, idle (ms, monotonic) */
  long long make_at;          /* no maker before (ms, monotonic): see keeper_make */
};

static void
keeper_drop_spare (struct keeper *k)
{
  hutch_nsahead_close (&k->spare);
  free (k->spare_maps);
  k->spare_maps = NULL;
}

/* The next run's namespace, begun when it is neither there nor on its
   way, no run holds a connection (a run hangs up once its command runs),
   and MAKE_DELAY_MS have passed since the last one hung up: a short
   container's end, right after, is then not slowed by the helpers either
   (measured 0.9 ms of a 5 ms start on 2 CPUs, though the maker works at
   idle priority).  */
#define MAKE_DELAY_MS 10
static void
keeper_make (struct keeper *k)
{
  if (k->n_runs > 0 || k->want[0] == '\0' || k->maker_sock >= 0 || k->maker_failed
      || (k->spare.user >= 0 && strcmp (k->spare_want, k->want) == 0)
      || hutch_now_ms () < k->make_at)
    return;
  keeper_drop_spare (k);
  if (maker_start (k->want, true, &k->maker_sock, &k->maker_pidfd) == 0)
    snprintf (k->maker_want, sizeof k->maker_want, "%s", k->want);
}

/* A run's question: its namespace when the spare was made for what it
   wants (mode and limits: the spare goes, it is handed out once), else
   none.  */
static void
keeper_answer (struct keeper *k, int c, const char *want)
{
  struct hutch_msg m = { .type = HUTCH_MSG_ERROR };
  int mode;

  if (strlen (want) >= sizeof k->want || sscanf (want, "%d ", &mode) != 1
      || (mode != HUTCH_USERNS_DEFAULT && mode != HUTCH_USERNS_KEEP_ID))
    {
      hutch_msg_send (c, &m, -1);
      return;
    }
  memcpy (k->want, want, strlen (want) + 1);
  k->maker_failed = false;
  if (k->spare.user >= 0 && strcmp (k->spare_want, want) == 0)
    {
      m.type = HUTCH_MSG_MAPS_OK;
      snprintf (m.text, sizeof m.text, "%s", k->spare_maps);
      ns_send (c, &m, &k->spare);
      keeper_drop_spare (k);
    }
  else
    hutch_msg_send (c, &m, -1);
}

static void
keeper_accept (struct keeper *k)
{
  struct timeval tv = { 0, 500000 };
  int c = accept4 (k->listener, NULL, NULL, SOCK_CLOEXEC);

  if (c < 0)
    return;
  if (k->n_runs == KEEPER_RUNS || !peer_is_us (c)
      || setsockopt (c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
    close (c);
  else
    k->runs[k->n_runs++] = c;
}

/* Run I said something (its question) or ended (its hutch exited).  */
static void
keeper_run_event (struct keeper *k, size_t i)
{
  struct hutch_msg m;
  int c = k->runs[i];
  ssize_t r = recv (c, &m, sizeof m, MSG_DONTWAIT);

  if (r == (ssize_t)sizeof m && m.type == HUTCH_MSG_USERNS_WANT)
    {
      keeper_answer (k, c, m.text);
      return;
    }
  if (r < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  close (c);
  k->runs[i] = k->runs[--k->n_runs];
  k->make_at = hutch_now_ms () + MAKE_DELAY_MS;
}

/* The maker is done: its namespace is the spare, or it failed.  */
static void
keeper_collect (struct keeper *k)
{
  struct hutch_nsahead ns = HUTCH_NSAHEAD_INIT;
  char *maps = NULL;

  if (ns_recv (k->maker_sock, &ns, &maps) == 0)
    {
      keeper_drop_spare (k);
      k->spare = ns;
      k->spare_maps = maps;
      snprintf (k->spare_want, sizeof k->spare_want, "%s", k->maker_want);
    }
  else
    k->maker_failed = true;
  close (k->maker_sock);
  k->maker_sock = -1;
  maker_reap (&k->maker_pidfd, false);
}

/* Everything the keeper holds up: a detached process, in a cgroup of its
   own where that matters, the only keeper (its lock), listening.  False
   when it should not run.  */
static bool
keeper_setup (struct keeper *k, int ready, char **ret_sockpath, struct stat *ret_bound)
{
  _cleanup_free_ char *lockpath = NULL;
  struct sockaddr_un sa;
  int keep[1] = { ready }, lock, null = open ("/dev/null", O_RDWR | O_CLOEXEC);

  /* What ps and top show for it (its command line is the run's that
     started it).  */
  prctl (PR_SET_NAME, "hutch-keeper", 0, 0, 0);
  /* Nothing of the run that started it: no terminal, no pipe held open,
     no fd of the caller's.  */
  if (null < 0 || dup2 (null, 0) < 0 || dup2 (null, 1) < 0 || dup2 (null, 2) < 0)
    return false;
  hutch_close_all_but (keep, 1);
  umask (077);
  /* Nothing of the run's signal state (a run's blocked SIGTERM would
     make the keeper deaf to it), but SIGPIPE ignored: a run that hangs
     up before its answer.  */
  hutch_signals_default ();
  signal (SIGPIPE, SIG_IGN);
  if (chdir ("/") < 0 || !runtime_dir_private (true) || !keeper_cgroup ()
      || !keeper_addr (&sa, ".lock", &lockpath) || !keeper_addr (&sa, ".sock", ret_sockpath))
    return false;
  /* Out of the run's cgroup: the run that started us goes on.  */
  close (ready);
  /* One keeper at a time: the lock is held for its whole life (never
     closed), and the socket is made and removed under it.  */
  lock = open (lockpath, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (lock < 0 || flock (lock, LOCK_EX | LOCK_NB) < 0)
    return false;
  unlink (*ret_sockpath);
  k->listener = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  return k->listener >= 0 && bind (k->listener, (struct sockaddr *)&sa, sizeof sa) == 0
         && listen (k->listener, 16) == 0 && stat (*ret_sockpath, ret_bound) == 0;
}

/* The keeper's life: it serves until SECONDS pass without a run asking,
   or until its socket is not the one at its path any more (its runtime
   directory was removed).  */
static void __attribute__ ((noreturn))
keeper_main (const char *want, unsigned int seconds, int ready)
{
  struct keeper k
      = { .listener = -1, .spare = HUTCH_NSAHEAD_INIT, .maker_sock = -1, .maker_pidfd = -1 };
  _cleanup_free_ char *sockpath = NULL;
  struct stat bound, st;

  snprintf (k.want, sizeof k.want, "%s", want);
  if (!keeper_setup (&k, ready, &sockpath, &bound))
    _exit (0);
  k.deadline = hutch_now_ms () + (long long)seconds * 1000;
  for (;;)
    {
      struct pollfd pfd[KEEPER_RUNS + 2];
      long long left;
      size_t i, n = 0;

      keeper_make (&k);
      left = k.deadline - hutch_now_ms ();
      if (left <= 0)
        break;
      /* Awake again to make the next namespace once the delay is over.  */
      if (k.make_at > hutch_now_ms () && k.make_at - hutch_now_ms () < left)
        left = k.make_at - hutch_now_ms ();
      pfd[n++] = (struct pollfd){ k.listener, POLLIN, 0 };
      pfd[n++] = (struct pollfd){ k.maker_sock, POLLIN, 0 };
      for (i = 0; i < k.n_runs; i++)
        pfd[n++] = (struct pollfd){ k.runs[i], POLLIN, 0 };
      if (poll (pfd, n, left > 10000 ? 10000 : (int)left) < 0 && errno != EINTR)
        break;
      if (stat (sockpath, &st) < 0 || st.st_ino != bound.st_ino || st.st_dev != bound.st_dev)
        _exit (0);
      if (k.maker_sock >= 0 && pfd[1].revents)
        keeper_collect (&k);
      /* From the last: an ended run's place takes the last one's.  */
      for (i = n; i-- > 2;)
        if (pfd[i].revents)
          {
            keeper_run_event (&k, i - 2);
            k.deadline = hutch_now_ms () + (long long)seconds * 1000;
          }
      if (pfd[0].revents & POLLIN)
        keeper_accept (&k);
    }
  /* Only our own socket: a runtime directory made again meanwhile may
     hold a newer keeper's.  */
  if (stat (sockpath, &st) == 0 && same_file (&st, &bound))
    unlink (sockpath);
  maker_reap (&k.maker_pidfd, true);
  _exit (0);
}

/* Start a keeper, detached from this run: its own session, reparented
   when the intermediate process ends (which is reaped here at once).
   The run waits until the keeper has left its cgroup (or given up):
   the container's setup may need the run alone in it.  */
static void
keeper_spawn (const char *want, unsigned int seconds)
{
  int ready[2];
  pid_t pid;
  char c;

  if (pipe2 (ready, O_CLOEXEC) < 0)
    return;
  pid = fork ();
  if (pid == 0)
    {
      close (ready[0]);
      if (setsid () < 0 || fork () != 0)
        _exit (0);
      keeper_main (want, seconds, ready[1]);
    }
  close (ready[1]);
  if (pid > 0)
    {
      while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
        ;
      while (read (ready[0], &c, 1) < 0 && errno == EINTR)
        ;
    }
  close (ready[0]);
}

unsigned int
hutch_userns_keeper_seconds (void)
{
  const char *v = getenv ("HUTCH_USERNS_KEEPER");
  unsigned int n;

  if (v == NULL || *v == '\0')
    return 0;
  if (hutch_parse_u32 (v, &n) < 0 || n > 86400)
    {
      /* Said, not ignored in silence: the run goes on without a keeper.  */
      hutch_log (HUTCH_LOG_WARNING,
                 "HUTCH_USERNS_KEEPER=%s is not a number of seconds from 0 to 86400; no keeper "
                 "is used (unset it, or give e.g. HUTCH_USERNS_KEEPER=60)",
                 v);
      return 0;
    }
  return n;
}

/* ---- this run's namespace ------------------------------------------------ */

static struct
{
  int pidfd;               /* the maker's, or -1 */
  int sock;                /* where the maker sends the namespace, or -1 */
  struct hutch_nsahead ns; /* the keeper's namespaces (user -1: none) */
  char *maps;              /* and the maps */
  int keeper;              /* the connection to the keeper, until the command runs, or -1 */
} early = { -1, -1, HUTCH_NSAHEAD_INIT, NULL, -1 };

int
hutch_userns_early_start (enum hutch_userns_mode mode, unsigned int keep_seconds)
{
  /* Without a keeper, nothing: a maker of this run's own was measured
     no faster on 2 CPUs, where the helpers compete with hutch itself.  */
  char want[WANT_LEN];
  int r;

  if (keep_seconds == 0 || early.pidfd >= 0 || early.ns.user >= 0 || mode == HUTCH_USERNS_SINGLE
      || geteuid () == 0)
    return -1;
  want_text (mode, want);
  r = keeper_ask (want, &early.ns, &early.maps, &early.keeper);
  if (r == 0)
    return 0;
  if (r == -2)
    keeper_spawn (want, keep_seconds);
  return maker_start (want, false, &early.sock, &early.pidfd);
}

int
hutch_userns_early_claim (const struct hutch_idmap *uid_map, size_t n_uid,
                          const struct hutch_idmap *gid_map, size_t n_gid,
                          struct hutch_nsahead *ret)
{
  _cleanup_free_ char *want = NULL, *maps = early.maps;
  struct hutch_nsahead ns = early.ns;

  early.ns = (struct hutch_nsahead)HUTCH_NSAHEAD_INIT;
  early.maps = NULL;
  if (ns.user < 0 && early.sock >= 0 && ns_recv (early.sock, &ns, &maps) < 0)
    ns = (struct hutch_nsahead)HUTCH_NSAHEAD_INIT;
  /* The maker ends once it has sent (or failed): none of its processes
     is left after this, in the cgroup that the container's setup may
     need for hutch alone.  */
  if (early.sock >= 0)
    close (early.sock);
  early.sock = -1;
  maker_reap (&early.pidfd, false);
  if (ns.user >= 0 && n_uid > 0 && n_gid > 0)
    want = maps_text (uid_map, n_uid, gid_map, n_gid);
  if (ns.user >= 0 && want && strcmp (maps, want) == 0 && ahead_fits (&ns))
    {
      *ret = ns;
      return 0;
    }
  hutch_nsahead_close (&ns);
  return -1;
}

void
hutch_userns_early_release (void)
{
  if (early.keeper >= 0)
    close (early.keeper);
  early.keeper = -1;
}

void
hutch_userns_early_end (void)
{
  hutch_userns_early_release ();
  if (early.sock >= 0)
    close (early.sock);
  early.sock = -1;
  /* Not claimed: the helpers' work is of no use any more.  */
  maker_reap (&early.pidfd, true);
  hutch_nsahead_close (&early.ns);
  free (early.maps);
  early.maps = NULL;
}
