/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* The container's side of the start: A (the user namespace's first
   process, then a watchdog) and B (PID 1 of the container until it
   executes the process).  Everything here runs as root of the new user
   namespace, with that namespace's capabilities only.  */

#include "runtime/caps.h"
#include "runtime/cgroup.h"
#include "runtime/devices.h"
#include "runtime/hooks.h"
#include "runtime/mount.h"
#include "runtime/nsexec.h"
#include "runtime/procattr.h"
#include "runtime/rlimit.h"
#include "runtime/squashmount.h"
#include "runtime/sync.h"
#include "base/syscalls.h"
#include "runtime/sysfilter.h"
#include "runtime/rootemu.h"
#include "base/util.h"
#include "base/walk.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

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

/* crun's annotation run.oci.keep_original_groups=1, which podman sets for
   --group-add keep-groups.  */
static bool
keep_groups_annotation (const struct hutch_spec *spec)
{
  const char *v
      = hutch_kv_get (spec->annotations, spec->n_annotations, "run.oci.keep_original_groups");
  return v && strcmp (v, "1") == 0;
}

int
hutch_child_set_user (const struct hutch_spec *spec, bool setgroups_are_denied, hutch_error_t *err)
{
  size_t i;

  if (hutch_caps_drop_bounding (spec, err) < 0)
    return -1;
  /* Keep the user's own supplementary groups (keep-id over host files,
     --group-add keep-groups, crun's annotation for it): the kernel still
     grants what they grant, although the namespace does not map them.  */
  if (spec->extra.keep_groups || keep_groups_annotation (spec))
    ;
  else if (!setgroups_are_denied)
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

int
hutch_child_take_pty (int master, unsigned short rows, unsigned short cols, int sock,
                      hutch_error_t *err)
{
  _cleanup_close_ int slave = -1;
  struct winsize ws = { 0 };
  struct hutch_msg m = { 0 };
  int unlock = 0;

  if (ioctl (master, TIOCSPTLCK, &unlock) < 0)
    return hutch_error_set (err, errno, "unlock the terminal");
  slave = ioctl (master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0)
    return hutch_error_set (err, errno, "open the terminal's slave");
  if (rows && cols)
    {
      ws.ws_row = rows;
      ws.ws_col = cols;
      ioctl (slave, TIOCSWINSZ, &ws);
    }
  /* The process's own session, with this pty as its terminal: the
     user's terminal is not its controlling one.  */
  if (setsid () < 0)
    return hutch_error_set (err, errno, "setsid");
  if (ioctl (slave, TIOCSCTTY, 0) < 0)
    return hutch_error_set (err, errno, "make the terminal the controlling one");
  if (dup2 (slave, 0) < 0 || dup2 (slave, 1) < 0 || dup2 (slave, 2) < 0)
    return hutch_error_set (err, errno, "dup2 the terminal");
  m.type = HUTCH_MSG_PTY;
  if (hutch_msg_send (sock, &m, master) < 0)
    return hutch_error_set (err, errno, "send the terminal to hutch");
  return 0;
}

static int
open_terminal (struct hutch_child_ctx *c, hutch_error_t *err)
{
  _cleanup_close_ int master = -1;

  /* The pty comes from the container's own devpts instance, so the process
     sees a /dev/pts/N that exists inside; the master goes to hutch.  */
  master = open ("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0)
    return hutch_error_set (err, errno,
                            "open /dev/pts/ptmx in the container (is /dev/pts mounted?)");
  return hutch_child_take_pty (master, c->rows, c->cols, c->sock, err);
}

/* Look PROGRAM up in PATH the way a shell does; remember EACCES so that a
   program that exists but cannot run gives 126, not 127.  */
int
hutch_child_exec_program (const struct hutch_spec *spec, char **argv, hutch_error_t *err)
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

int
hutch_child_find_program (const struct hutch_spec *spec, const char *prog, hutch_error_t *err)
{
  const char *path = hutch_spec_getenv (spec, "PATH");
  _cleanup_free_ char *copy = NULL;
  char *save = NULL, *dir;
  bool seen = false;

  if (strchr (prog, '/'))
    {
      if (access (prog, X_OK) == 0)
        return 0;
      if (errno == ENOENT || errno == ENOTDIR)
        return hutch_error_set_exit (err, HUTCH_EXIT_NOT_FOUND, 0,
                                     "`%s`: no such file or directory in the container", prog);
      return hutch_error_set_exit (err, HUTCH_EXIT_CANNOT_EXEC, errno, "cannot execute `%s`", prog);
    }
  copy = hutch_xstrdup (path ? path
                             : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  for (dir = strtok_r (copy, ":", &save); dir; dir = strtok_r (NULL, ":", &save))
    {
      _cleanup_free_ char *cand = hutch_xasprintf ("%s/%s", *dir ? dir : ".", prog);
      struct stat st;
      if (stat (cand, &st) < 0 || S_ISDIR (st.st_mode))
        continue;
      if (access (cand, X_OK) == 0)
        return 0;
      seen = true;
    }
  if (seen)
    return hutch_error_set_exit (err, HUTCH_EXIT_CANNOT_EXEC, EACCES, "cannot execute `%s`", prog);
  return hutch_error_set_exit (err, HUTCH_EXIT_NOT_FOUND, 0,
                               "`%s`: executable file not found in $PATH in the container", prog);
}

/* B's pid in the host's PID namespace (P says it with GO; getpid says 1
   here), for the state that hooks read.  */
static pid_t b_host_pid;

/* linux.rootfsPropagation, for the whole mount namespace before the root
   is built: from the host's mounts, rslave lets their unmounts reach us
   (we do not keep the host's filesystems busy) while nothing we mount
   goes back; the private ones cut even that.  A shared or unbindable
   namespace is never made here: pivot_root refuses a shared new root or
   parent, and an unbindable source cannot be cloned for a bind.  Those
   are given to the new root itself, after the pivot (as runc does).  */
static unsigned long
namespace_propagation (const struct hutch_spec *spec)
{
  const char *p = spec->rootfs_propagation;
  return p && (strcmp (p, "private") == 0 || strcmp (p, "rprivate") == 0) ? MS_PRIVATE : MS_SLAVE;
}

/* B's root: a mount namespace of its own, the root filesystem built and
   pivoted into, and the working directory opened inside it.  */
static int
root_propagation (const struct hutch_spec *spec, hutch_error_t *err)
{
  const char *p = spec->rootfs_propagation;
  const char *base = p && p[0] == 'r' ? p + 1 : p;
  unsigned long flags;

  if (p == NULL)
    return 0;
  flags = strcmp (base, "private") == 0  ? MS_PRIVATE
          : strcmp (base, "slave") == 0  ? MS_SLAVE
          : strcmp (base, "shared") == 0 ? MS_SHARED
                                         : MS_UNBINDABLE;
  if (p[0] == 'r')
    flags |= MS_REC;
  if (mount ("", "/", NULL, flags, NULL) < 0)
    return hutch_error_set (err, errno, "linux.rootfsPropagation `%s`: set it on the new root", p);
  return 0;
}

/* From here on as root of the user namespace (as runc and crun do), once
   what must be looked up in the host's view is captured: B began with the
   caller's credentials, which for the host's root are uid 0 of the host,
   unmapped in a namespace whose 0 is another id.  Files and directories
   it makes (mount points, the tmpfs of /dev) then belong to the
   namespace's root, where as the host's root the kernel refuses them
   (EOVERFLOW: an owner the filesystem's namespace cannot name).  Only
   then: where the caller's id is mapped (without privileges it is the
   namespace's 0, or the user's own id with keep-id) B stays as it is.
   The kernel shows an unmapped id as the overflow uid.  The host's groups
   go too (they would still count in permission checks), where the
   namespace allows setgroups.  */
static int
b_become_ns_root (const struct hutch_spec *spec, hutch_error_t *err)
{
  _cleanup_free_ char *text = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;
  char *end = NULL;
  unsigned long overflow;

  if (!hutch_spec_has_ns (spec, HUTCH_NS_USER))
    return 0;
  if (hutch_read_file ("/proc/sys/kernel/overflowuid", 64, &text, NULL, &e) < 0)
    {
      hutch_error_clear (&e);
      text = hutch_xstrdup ("65534");
    }
  overflow = strtoul (text, &end, 10);
  if (getuid () != (uid_t)overflow)
    return 0;
  if (setgroups (0, NULL) < 0 && errno != EPERM)
    return hutch_error_set (err, errno, "drop the host's supplementary groups");
  /* A map without 0 (EINVAL): stay as we are, as before.  */
  if (setresgid (0, 0, 0) < 0 && errno != EINVAL)
    return hutch_error_set (err, errno, "become gid 0 of the user namespace");
  if (setresuid (0, 0, 0) < 0 && errno != EINVAL)
    return hutch_error_set (err, errno, "become uid 0 of the user namespace");
  return 0;
}

/* Join namespace N at FD (its path in SPEC).  */
static int
join_ns (const struct hutch_spec *spec, int n, int fd, hutch_error_t *err)
{
  if (setns (fd, hutch_ns_clone_flag (n)) == 0)
    return 0;
  if (errno == EINVAL)
    return hutch_error_set (err, errno,
                            "linux.namespaces: `%s` is not a %s namespace (or this process "
                            "cannot enter it)",
                            spec->ns_path[n], hutch_ns_name (n));
  if (errno == EPERM && n != HUTCH_NS_USER)
    return hutch_error_set (err, errno,
                            "linux.namespaces: join the %s namespace `%s`: a namespace can only "
                            "be joined with privileges over the user namespace that owns it, "
                            "which the container's user namespace has not (%s)",
                            hutch_ns_name (n), spec->ns_path[n],
                            spec->ns_path[HUTCH_NS_USER]
                                ? "the one joined is not its owner: it may be the host's"
                                : "join the owner too: a {\"type\": \"user\", \"path\": ...} "
                                  "entry, such as /proc/PID/ns/user of the same process");
  return hutch_error_set (err, errno, "linux.namespaces: join the %s namespace `%s`",
                          hutch_ns_name (n), spec->ns_path[n]);
}

/* A cgroup namespace named by path is joined by B, once it is in its
   cgroup (child_b made a new one there, which this replaces).  */
static int
b_join_cgroup_ns (const struct hutch_spec *spec, hutch_error_t *err)
{
  const char *path = spec->ns_path[HUTCH_NS_CGROUP];
  _cleanup_close_ int fd = -1;

  if (path == NULL)
    return 0;
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return hutch_error_set (err, errno, "linux.namespaces: the cgroup namespace `%s`", path);
  return join_ns (spec, HUTCH_NS_CGROUP, fd, err);
}

/* The root filesystem, built and pivoted into, the root's propagation,
   HOME when the environment has none (from the container's passwd file),
   and the working directory opened inside the root.  */
static int
b_root_build (const struct hutch_spec *spec, int *ret_cwdfd, hutch_error_t *err)
{
  struct hutch_rootfs rfs;
  _cleanup_close_ int rootfd = -1;
  int r;

  r = hutch_rootfs_prepare (spec, &rfs, err);
  if (r == 0)
    r = b_become_ns_root (spec, err);
  if (r == 0)
    r = hutch_rootfs_build (spec, &rfs, err);
  /* createContainer: in the container's mount namespace, its mounts
     made, before the pivot (the hook's path is the host's).  */
  if (r == 0)
    r = hutch_hooks_run_spec (spec, HUTCH_HOOK_CREATE_CONTAINER, "creating", b_host_pid, err);
  if (r == 0)
    r = hutch_rootfs_pivot (&rfs, err);
  if (r == 0 && !spec->extra.interactive && !spec->terminal && dup2 (rfs.nullfd, 0) < 0)
    r = hutch_error_set (err, errno, "dup2");
  hutch_rootfs_close (&rfs, spec->n_mounts);
  if (r < 0)
    return r;
  if (root_propagation (spec, err) < 0)
    return -1;

  /* The working directory is resolved inside the new root like every
     other path; chdir(2) would follow a symlink in the image to a magic
     link.  fchdir happens after the uid change, so the user's own
     permissions apply to it.  */
  rootfd = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return hutch_error_set (err, errno, "open the new root");
  /* B's own copy of the spec (its clone shares no memory with P, whose
     spec stays as it was): HOME goes into the environment it will exec
     with.  */
  if (hutch_child_set_home ((struct hutch_spec *)spec, rootfd, err) < 0)
    return -1;
  *ret_cwdfd = hutch_walk_open_in_root (rootfd, spec->cwd, O_PATH | O_DIRECTORY, 0);
  if (*ret_cwdfd < 0)
    return hutch_error_set (err, errno, "working directory `%s` in the container", spec->cwd);
  return 0;
}

/* B's root: a mount namespace of its own (a joined cgroup namespace and
   the OOM score first, while /proc is the host's), the root filesystem
   built and pivoted into, and the working directory opened inside it.  */
static int
b_root (const struct hutch_spec *spec, int *ret_cwdfd, hutch_error_t *err)
{
  if (!spec->ns[HUTCH_NS_MOUNT])
    return hutch_error_set (err, 0, "a container without a mount namespace is not supported");
  if (b_join_cgroup_ns (spec, err) < 0 || hutch_child_oom_score_adj (spec, err) < 0)
    return -1;
  /* With fuse-overlayfs, A's mount namespace holds the daemon: pivot_root
     would move every root in it, the daemon's too, and the daemon finds
     its layers by path.  So the container gets a copy of that namespace of
     its own, where the fuse mount is still there.  */
  if (((spec->extra.overlay && spec->extra.overlay->driver == HUTCH_DRIVER_FUSE)
       || spec->extra.squash /* squashfuse's too */)
      && unshare (CLONE_NEWNS) < 0)
    return hutch_error_set (err, errno, "create the container's mount namespace");
  /* Nothing we mount may propagate back to the host (see
     namespace_propagation).  */
  if (mount ("", "/", NULL, MS_REC | namespace_propagation (spec), NULL) < 0)
    return hutch_error_set (err, errno, "make the mount namespace private");
  return b_root_build (spec, ret_cwdfd, err);
}

int
hutch_child_keyring_rlimits (const struct hutch_spec *spec, hutch_error_t *err)
{
  size_t i;

  /* Keyrings are not namespaced: without a session keyring of its own the
     container would inherit the caller's (pam_keyinit's, kinit's tickets)
     and, with keyctl allowed (seccomp=unconfined, --privileged), read it.
     A new anonymous one goes away with the container's processes.  A
     kernel without keys (ENOSYS) has nothing to leak.  hutch-oci
     --no-new-keyring keeps the caller's, as its caller asked.  */
  if (!spec->extra.no_new_keyring
      && syscall (SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, NULL) < 0 && errno != ENOSYS)
    return hutch_error_set (err, errno,
                            errno == EDQUOT
                                ? "create the container's session keyring (your quota of keys "
                                  "is used up: raise the sysctl kernel.keys.maxkeys)"
                                : "create the container's session keyring");
  for (i = 0; i < spec->n_rlimits; i++)
    {
      struct rlimit rl = { spec->rlimits[i].soft, spec->rlimits[i].hard };
      if (setrlimit (spec->rlimits[i].resource, &rl) < 0)
        return hutch_error_set (err, errno, "set rlimit %s",
                                hutch_rlimit_name (spec->rlimits[i].resource));
    }
  return 0;
}

/* What the kernel keeps per process or namespace and does not isolate by
   itself: the keyring, the hostname and domain name, lo (of a network
   namespace of our own, not of one we joined), the rlimits, then the
   scheduler, I/O priority and umask (procattr.h).  */
static int
b_kernel_state (const struct hutch_spec *spec, hutch_error_t *err)
{
  bool uts = hutch_spec_has_ns (spec, HUTCH_NS_UTS);

  if (uts && spec->hostname && sethostname (spec->hostname, strlen (spec->hostname)) < 0)
    return hutch_error_set (err, errno, "set the hostname `%s`", spec->hostname);
  if (uts && spec->domainname && setdomainname (spec->domainname, strlen (spec->domainname)) < 0)
    return hutch_error_set (err, errno, "set the domain name `%s`", spec->domainname);
  if (spec->ns[HUTCH_NS_NET] && loopback_up (err) < 0)
    return -1;
  if (hutch_child_keyring_rlimits (spec, err) < 0)
    return -1;
  return hutch_child_process_attrs (spec, err);
}

/* Root emulation's filter, just before the container's own: installing it
   gives the listener, which goes to the handler A started, and from then
   on the calls it names wait for the handler's answer (this process's
   own too, the handler has the listener before we go on).  The
   container's filter is evaluated beside it, and its refusals win
   (seccomp(2): ERRNO comes before USER_NOTIF).  */
static int
b_rootemu (struct hutch_child_ctx *c, hutch_error_t *err)
{
  struct sock_fprog prog;
  struct hutch_msg m = { .type = HUTCH_MSG_EXECING };
  int listener, r;

  if (c->spec->rootemu == NULL || c->emu_sock < 0)
    return 0;
  prog.len = c->spec->rootemu->len;
  prog.filter = c->spec->rootemu->insns;
  listener = (int)syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, c->spec->rootemu->flags, &prog);
  if (listener < 0)
    return hutch_error_set (err, errno, "install the root emulation's seccomp filter");
  r = hutch_msg_send (c->emu_sock, &m, listener);
  close (listener);
  close (c->emu_sock);
  c->emu_sock = -1;
  if (r < 0)
    return hutch_error_set (err, errno, "hand the root emulation's listener over");
  return 0;
}

/* Last: the terminal or a session of its own, root emulation's filter
   (and the container's, when it must come before the change of user),
   the user, the parent-death signal again, the working directory,
   no_new_privs.  */
static int
b_become_process (struct hutch_child_ctx *c, int cwdfd, hutch_error_t *err)
{
  const struct hutch_spec *spec = c->spec;

  if (spec->terminal)
    {
      if (open_terminal (c, err) < 0)
        return -1;
    }
  else if (setsid () < 0)
    /* A new session without a controlling terminal: the container cannot
       push input into the user's terminal with TIOCSTI (CVE-2017-5226).  */
    return hutch_error_set (err, errno, "setsid");

  /* Installing a filter takes no_new_privs or CAP_SYS_ADMIN.  Without
     no_new_privs (asked for with no-new-privileges=false), the capability
     is gone after set_user, so the filter comes now and the steps below
     run under it (as runc does): a profile must then allow setgroups,
     setresuid, capset, prctl, fchdir, close_range, rt_sigprocmask, sendmsg
     and execve, which the default one does.  */
  /* Root emulation's filter before the change of user: with one id in
     the namespace, the user and groups the process gets (-u, an image's
     USER) are emulated ones, set through the handler; installing it takes
     CAP_SYS_ADMIN, which we still have.  */
  if (b_rootemu (c, err) < 0
      || (spec->seccomp && !spec->no_new_privileges
          && hutch_seccomp_install (spec->seccomp, err) < 0))
    return -1;
  if (hutch_child_set_user (spec, setgroups_denied () && spec->rootemu == NULL, err) < 0
      || hutch_devices_check_process (spec, err) < 0)
    return -1;
  /* A change of uid or gid clears the parent-death signal: arm it again.
     Should P have died in between, A (the watchdog) kills us.  */
  if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
    return hutch_error_set (err, errno, "prctl(PR_SET_PDEATHSIG)");
  if (fchdir (cwdfd) < 0)
    return hutch_error_set (err, errno, "working directory `%s`", spec->cwd);
  /* A second wall behind the resolution in the root (the CVE-2024-21626
     class).  */
  if (!hutch_cwd_in_root ())
    return hutch_error_set (err, 0, "the working directory `%s` is outside the container's root",
                            spec->cwd);
  if (spec->no_new_privileges && prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return hutch_error_set (err, errno, "prctl(PR_SET_NO_NEW_PRIVS)");
  return 0;
}

/* linux.resources.devices' deny-all rule, where B is the host's root (no
   user namespace): its device program goes on the container's cgroup
   before anything of the container can open or make a device node (B is
   in that cgroup already).  With a user namespace the kernel keeps the
   rule itself: no device node can be made there, and the host's nodes
   are reached only through what hutch binds (devices.c).  */
static int
b_devices_limit (const struct hutch_child_ctx *c, hutch_error_t *err)
{
  _cleanup_close_ int fd = -1;

  /* Root of a user namespace (rootless podman's) is held by the kernel's
     rule as an unprivileged user is: no device node can be made there.  */
  if (!c->spec->devices_deny_all || hutch_spec_has_ns (c->spec, HUTCH_NS_USER) || !c->host_root)
    return 0;
  if (c->cgroup_path == NULL)
    return hutch_error_set (err, 0,
                            "linux.resources.devices: the rule that denies every device needs a "
                            "cgroup of the container's own, where the kernel takes device rules, "
                            "and this container has none; run it with a cgroup, or remove the "
                            "rule");
  /* The host's path of the cgroup P made, in the host's view still.  */
  fd = open (c->cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return hutch_error_set (err, errno, "linux.resources.devices: the container's cgroup %s",
                            c->cgroup_path);
  return hutch_devices_limit (c->spec, fd, err);
}

static int
child_b_setup (struct hutch_child_ctx *c, int *ret_cwdfd, hutch_error_t *err)
{
  if (b_devices_limit (c, err) < 0 || b_root (c->spec, ret_cwdfd, err) < 0
      || b_kernel_state (c->spec, err) < 0)
    return -1;
  return b_become_process (c, *ret_cwdfd, err);
}

/* A container that outlives its creator (hutch-oci create), once its
   root is built: tell P, which writes the container's state; stop dying
   with P once P says so (a creator killed before that leaves nothing);
   then wait on the start socket for `hutch-oci start`, whose connection
   takes the place of P's socket for the rest (GO, EXECING or ERROR).
   Runs as the container's user already: the socket was made by P and
   inherited, nothing is opened by path.  */
static void
wait_for_start (struct hutch_child_ctx *c)
{
  struct hutch_msg m = { .type = HUTCH_MSG_CREATED };
  hutch_error_t err = HUTCH_ERROR_INIT;
  int conn;

  /* A command that cannot run fails the create, where the engine looks
     for errors, as runc's; start would only see the process end.  */
  if (!c->spec->extra.init && hutch_child_find_program (c->spec, c->spec->args[0], &err) < 0)
    hutch_msg_fail (c->sock, &err);
  /* From CREATED on, a process of the container's (hutch-oci exec into
     the created container, or one sharing its PID namespace) can see us,
     as the container's user with the container's capabilities: to ptrace,
     our equal.  Until the exec we still hold the caller's memory (its
     environment: an engine's), its stdio and the start socket, and with
     noNewPrivileges no filter yet.  Not dumpable (as runc's init), we
     need CAP_SYS_PTRACE over the caller's user namespace for
     /proc/PID/mem, environ and ptrace; the exec makes the command
     dumpable again.  Only where the caller has that capability: for
     another, not even its own hutch-oci exec could enter us then
     (may_ptrace_anyone in container.c).  */
  if (c->wait_nondumpable && prctl (PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    {
      hutch_error_set (&err, errno, "prctl(PR_SET_DUMPABLE)");
      hutch_msg_fail (c->sock, &err);
    }
  if (hutch_msg_send (c->sock, &m, -1) < 0 || hutch_msg_recv (c->sock, &m, NULL) != 1
      || m.type != HUTCH_MSG_RELEASE)
    _exit (HUTCH_EXIT_ERROR);
  if (prctl (PR_SET_PDEATHSIG, 0, 0, 0, 0) < 0)
    _exit (HUTCH_EXIT_ERROR);
  m = (struct hutch_msg){ .type = HUTCH_MSG_RELEASED };
  if (hutch_msg_send (c->sock, &m, -1) < 0)
    _exit (HUTCH_EXIT_ERROR);
  close (c->sock);
  c->sock = -1;
  /* Only a process that can reach the socket's path (in the runtime's
     state directory, 0700, of the user who created the container) can
     connect; a connection that does not say GO is dropped.  */
  for (;;)
    {
      conn = accept4 (c->startfd, NULL, NULL, SOCK_CLOEXEC);
      if (conn < 0)
        {
          if (errno == EINTR || errno == ECONNABORTED)
            continue;
          _exit (HUTCH_EXIT_ERROR);
        }
      /* A client that connects and says nothing does not keep the next
         one waiting for ever.  */
      {
        struct timeval tv = { 10, 0 };
        setsockopt (conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      }
      if (hutch_msg_recv (conn, &m, NULL) == 1 && m.type == HUTCH_MSG_GO)
        {
          b_host_pid = m.pid;
          break;
        }
      close (conn);
    }
  close (c->startfd);
  c->startfd = -1;
  c->sock = conn;
}

static void __attribute__ ((noreturn)) child_b (struct hutch_child_ctx *c)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_msg m = { 0 };
  int npreserve = c->spec->extra.preserve_fds > 0 ? c->spec->extra.preserve_fds : 0;
  _cleanup_free_ int *keep = hutch_xmalloc0 ((size_t)(npreserve + 5) * sizeof (int));
  int cwdfd = -1, i;

  /* Whatever the user's shell left open must not reach the container, not
     even as /proc/self/fd/N during setup, where a magic link to a host
     directory would lead out of the root (the CVE-2024-21626 class).  The
     fds the caller of hutch-oci named with --preserve-fds are the
     exception it asked for, as runc's.  */
  keep[0] = c->sock;
  keep[1] = c->initfd >= 0 ? c->initfd : c->sock;
  keep[2] = c->cgroupfd >= 0 ? c->cgroupfd : c->sock;
  keep[3] = c->startfd >= 0 ? c->startfd : c->sock;
  keep[4] = c->emu_sock >= 0 ? c->emu_sock : c->sock;
  for (i = 0; i < npreserve; i++)
    keep[5 + i] = 3 + i;
  hutch_close_all_but (keep, (size_t)npreserve + 5);
  /* B is P's child (CLONE_PARENT): die with it.  The round trip below
     proves P was still alive after the signal was armed.  */
  if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
    _exit (HUTCH_EXIT_ERROR);
  /* Into the container's cgroup before anything of the container runs
     (clone3 may have put us there already), then a cgroup namespace
     whose root is that cgroup: the container sees itself as `/` and
     cannot name, let alone write, the cgroups above.  The host's cgroup
     directory fd goes before anything of the container's is opened.  */
  bool own_cgroup = c->cgroupfd >= 0;
  if (own_cgroup)
    {
      if (!c->in_cgroup && hutch_cgroup_join (c->cgroupfd, &err) < 0)
        hutch_msg_fail (c->sock, &err);
      close (c->cgroupfd);
      c->cgroupfd = -1;
    }
  /* A container with a cgroup of its own always gets the namespace, also
     when a config.json leaves it out: without it, a cgroup mount inside
     would show (and with CAP_SYS_ADMIN, let it write) the user's whole
     delegated tree.  */
  if ((c->spec->ns[HUTCH_NS_CGROUP] || own_cgroup) && unshare (CLONE_NEWCGROUP) < 0)
    {
      hutch_error_set (&err, errno, "create the container's cgroup namespace");
      hutch_msg_fail (c->sock, &err);
    }
  m.type = HUTCH_MSG_ARMED;
  if (hutch_msg_send (c->sock, &m, -1) < 0 || hutch_msg_recv (c->sock, &m, NULL) != 1
      || m.type != HUTCH_MSG_GO)
    _exit (HUTCH_EXIT_ERROR);
  b_host_pid = m.pid;

  if (child_b_setup (c, &cwdfd, &err) < 0)
    hutch_msg_fail (c->sock, &err);
  /* The network helper set up the network while we built the root:
     nothing of the container's runs before it is up.  */
  if (c->spec->extra.slirp
      && (hutch_msg_recv (c->sock, &m, NULL) != 1 || m.type != HUTCH_MSG_NETWORK))
    _exit (HUTCH_EXIT_ERROR);
  if (c->spec->extra.outlive)
    wait_for_start (c);
  /* startContainer: started, in the container, before the exec.  The
     hook is a program of the container's root: it runs under the
     container's filter, which then comes before it (with
     no_new_privileges it would otherwise come last, below; without, it
     is on already).  The steps after it are the ones a profile must
     allow anyway when no_new_privileges is off.  */
  bool filtered = false;
  if (c->spec->hooks && c->spec->hooks->kind[HUTCH_HOOK_START_CONTAINER].n > 0 && c->spec->seccomp
      && c->spec->no_new_privileges)
    {
      if (b_rootemu (c, &err) < 0 || hutch_seccomp_install (c->spec->seccomp, &err) < 0)
        hutch_msg_fail (c->sock, &err);
      filtered = true;
    }
  if (hutch_hooks_run_spec (c->spec, HUTCH_HOOK_START_CONTAINER, "created", b_host_pid, &err) < 0)
    hutch_msg_fail (c->sock, &err);

  /* No fd of hutch's reaches the process: everything above 2 is marked
     close-on-exec (the socket too, which tells P that exec happened),
     but those the caller asked to preserve.  */
  if (hutch_close_range (3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    {
      for (i = 3; i < 1024; i++)
        fcntl (i, F_SETFD, FD_CLOEXEC);
    }
  for (i = 0; i < npreserve; i++)
    fcntl (3 + i, F_SETFD, 0);
  for (i = 1; i < NSIG; i++)
    signal (i, SIG_DFL);
  m = (struct hutch_msg){ .type = HUTCH_MSG_EXECING };
  hutch_msg_send (c->sock, &m, -1);
  sigprocmask (SIG_SETMASK, &c->oldmask, NULL);
  /* The filter, last, so that only exec runs under it (and the search of
     PATH).  P keeps reading after EXECING: a failure here, or exec's,
     still reaches it as an error.  */
  if (c->spec->no_new_privileges && !filtered
      && (b_rootemu (c, &err) < 0
          || (c->spec->seccomp && hutch_seccomp_install (c->spec->seccomp, &err) < 0)))
    hutch_msg_fail (c->sock, &err);

  if (c->spec->extra.init)
    {
      size_t n = hutch_strv_len (c->spec->args), k;
      char **argv = hutch_xmalloc0 ((n + 3) * sizeof (char *));
      argv[0] = (char *)"hutch-init";
      argv[1] = (char *)(c->spec->extra.pause ? "--pause" : "--");
      for (k = 0; k < n && !c->spec->extra.pause; k++)
        argv[k + 2] = c->spec->args[k];
      syscall (SYS_execveat, c->initfd, "", argv, c->spec->env, AT_EMPTY_PATH);
      hutch_error_set (&err, errno, "execute hutch-init");
      hutch_msg_fail (c->sock, &err);
    }
  hutch_child_exec_program (c->spec, c->spec->args, &err);
  hutch_msg_fail (c->sock, &err);
}

/* After B exists, A stays as a watchdog: when P dies (the pipe whose only
   writer is P hangs up), it kills B through a pidfd.  B's own parent-death
   signal does the same, but the kernel clears that one whenever the
   process changes its credentials (su-exec, gosu, a setuid program
   without no_new_privs); the watchdog holds whatever B does.  */
static void __attribute__ ((noreturn))
watchdog (const struct hutch_child_ctx *c, int pidfd, pid_t fuse, pid_t emu, int cgparentfd,
          int dirparentfd)
{
  const struct hutch_spec *spec = c->spec;
  int watchfd = c->watchfd;
  bool p_died = false;

  /* Root of the container's user namespace with every capability there,
     no seccomp filter, and (with fuse-overlayfs) the host's root as its
     root: not to be traced or read through /proc by a process of the
     container that can see it (--pid host with CAP_SYS_PTRACE).  */
  prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);

  for (;;)
    {
      struct pollfd pfd[2] = { { pidfd, POLLIN, 0 }, { watchfd, POLLIN, 0 } };
      if (poll (pfd, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      if (pfd[0].revents)
        {
          /* B is gone: nothing to watch.  When P died at the same moment
             (B's parent-death signal), the cgroup is ours to remove.  */
          struct pollfd w = { watchfd, POLLIN, 0 };
          p_died = poll (&w, 1, 0) > 0;
          break;
        }
      if (pfd[1].revents)
        {
          syscall (SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
          p_died = true;
          break;
        }
    }
  /* hutch removes the container's cgroup after reading its OOM count;
     when hutch died, nobody else will.  Through fds opened before the
     pivot_root, which moved our root too when we share B's mount
     namespace.  */
  if (p_died && cgparentfd >= 0)
    {
      const char *name = strrchr (c->cgroup_path, '/');
      hutch_cgroup_remove_at (cgparentfd, name ? name + 1 : c->cgroup_path);
    }
  /* The root emulation's handler ends with its last caller; should one
     be left (a process of the container that outlives B), it goes.  */
  if (emu > 0)
    {
      kill (emu, SIGKILL);
      while (waitpid (emu, NULL, 0) < 0 && errno == EINTR)
        ;
    }
  /* The fuse-overlayfs process serves the container's root and lives in
     its mount namespace, which it would keep alive: it ends here.  */
  if (fuse > 0)
    {
      kill (fuse, SIGKILL);
      while (waitpid (fuse, NULL, 0) < 0 && errno == EINTR)
        ;
    }
  hutch_squash_stop (spec, c->squashfuse);
  /* The container's own directory (its upper layer) holds files of
     subordinate ids: we are root of the namespace that maps them, so the
     removal costs nothing here, where hutch would need a namespace of its
     own.  hutch removes what is left, should we fail.  */
  /* Through the fd of its parent, opened before B's pivot_root: when we
     share B's mount namespace, that moved our root too, and the path would
     be looked up in the container's root, through its symlinks.  */
  if (spec->extra.container_dir && dirparentfd >= 0)
    {
      hutch_error_t e = HUTCH_ERROR_INIT;
      const char *name = strrchr (spec->extra.container_dir, '/');
      if (spec->extra.overlay && spec->extra.overlay->mountpoint)
        umount2 (spec->extra.overlay->mountpoint, MNT_DETACH | UMOUNT_NOFOLLOW);
      /* A container that outlives its run (not --rm) keeps its upper
         layer for the next start, diff, commit and cp; hutch rm removes
         it.  */
      if (!spec->extra.keep_container_dir)
        hutch_walk_remove_tree (dirparentfd, name ? name + 1 : spec->extra.container_dir, &e);
      hutch_error_clear (&e);
    }
  _exit (0);
}

/* The root emulation's handler (rootemu.h), a child of A forked before
   A makes the container's pid namespace: no process of the container can
   name it, and the container's init does not wait for it.  It takes B's
   pid from A and the listener from B, joins B's mount namespace (whose
   root, once B has pivoted, is the container's: the handler's root from
   then on), and answers until the last process with the filter is gone.
   It runs as A does, root of the container's user namespace, not
   dumpable, and dies with A.  */
/* What the handler keeps of root's capabilities in the container's user
   namespace once it has joined the mount namespace: reaching and writing
   any file of the container (DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER: the
   records), and the container's processes' memory and /proc files,
   also those that made themselves not dumpable (SYS_PTRACE).  */
static void
emulator_drop_caps (void)
{
  struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct d[2] = { { 0 } };
  const uint64_t keep = (1ULL << CAP_DAC_OVERRIDE) | (1ULL << CAP_DAC_READ_SEARCH)
                        | (1ULL << CAP_FOWNER) | (1ULL << CAP_SYS_PTRACE);

  d[0].effective = d[0].permitted = (uint32_t)keep;
  d[1].effective = d[1].permitted = (uint32_t)(keep >> 32);
  if (syscall (SYS_capset, &h, d) < 0 || prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    _exit (0);
}

static void __attribute__ ((noreturn)) emulator (int sock, int procfd, int null, pid_t a)
{
  int keep[2] = { sock, procfd }, listener = -1, bfd = -1, mntfd;
  pid_t b = -1;
  char path[64];

  if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid () != a)
    _exit (0);
  prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);
  /* Nothing of hutch's: above all not the socket whose end-of-file tells
     P that B has exec'd, nor the user's terminal or output pipe (a
     handler that outlived its container would hold `$(hutch run ...)`).  */
  if (null < 0 || dup2 (null, 0) < 0 || dup2 (null, 1) < 0 || dup2 (null, 2) < 0)
    _exit (0);
  hutch_close_all_but (keep, 2);
  while (b < 0 || listener < 0)
    {
      struct hutch_msg m;
      int fd = -1;
      if (hutch_msg_recv (sock, &m, &fd) != 1)
        _exit (0);
      if (m.type == HUTCH_MSG_PID && b < 0)
        {
          b = m.pid;
          bfd = HUTCH_STEAL_FD (fd);
        }
      else if (m.type == HUTCH_MSG_EXECING && fd >= 0 && listener < 0)
        listener = HUTCH_STEAL_FD (fd);
      if (fd >= 0)
        close (fd);
    }
  close (sock);
  /* B's mount namespace, through B's pidfd (A opened it when B was its
     child, so it is B's, whatever happens to its pid); by pid only where
     the kernel has no pidfd for setns (before 5.8).  */
  if (bfd < 0 || setns (bfd, CLONE_NEWNS) < 0)
    {
      snprintf (path, sizeof path, "%d/ns/mnt", (int)b);
      mntfd = openat (procfd, path, O_RDONLY | O_CLOEXEC);
      if (mntfd < 0 || setns (mntfd, CLONE_NEWNS) < 0)
        _exit (0);
      close (mntfd);
    }
  if (bfd >= 0)
    close (bfd);
  if (chdir ("/") < 0)
    _exit (0);
  emulator_drop_caps ();
  hutch_rootemu_serve (listener, procfd);
  _exit (0);
}

/* Root emulation: the handler, and a socket for B to hand it the
   listener; the /proc of our pid namespace (the notifications' pids are
   of it), opened while it is the host's.  Returns the handler's pid.  */
static pid_t
start_emulator (struct hutch_child_ctx *c, int null)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  int sp[2], procfd;
  pid_t a = getpid (), pid;

  procfd = open ("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (procfd < 0 || socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
    {
      hutch_error_set (&err, errno, "prepare the root emulation");
      hutch_msg_fail (c->sock, &err);
    }
  pid = fork ();
  if (pid == 0)
    emulator (sp[0], procfd, null, a);
  if (pid < 0)
    {
      hutch_error_set (&err, errno, "start the root emulation's handler");
      hutch_msg_fail (c->sock, &err);
    }
  close (sp[0]);
  close (procfd);
  c->emu_sock = sp[1];
  return pid;
}

/* B's pid and a pidfd of it to the handler; A's copy of B's end goes.  */
static void
emulator_meet_b (struct hutch_child_ctx *c, pid_t b)
{
  struct hutch_msg m = { .type = HUTCH_MSG_PID, .pid = b };
  int pidfd;

  if (c->emu_sock < 0)
    return;
  pidfd = (int)syscall (SYS_pidfd_open, b, 0);
  hutch_msg_send (c->emu_sock, &m, pidfd);
  if (pidfd >= 0)
    close (pidfd);
  close (c->emu_sock);
  c->emu_sock = -1;
}

/* Start fuse-overlayfs in A's new mount namespace (B shares it) and wait
   until its mount is there.  It runs in the foreground as A's child, dies
   with A (PR_SET_PDEATHSIG), and is killed by the watchdog when B ends.  */
static pid_t
start_fuse (const struct hutch_overlay *ov, hutch_error_t *err)
{
  _cleanup_free_ char *opts = NULL, *lower = hutch_xstrdup ("");
  int errpipe[2];
  pid_t pid;
  size_t i;
  int k;

  for (i = 0; ov->lower[i]; i++)
    {
      char *next = hutch_xasprintf ("%s%s%s", lower, i ? ":" : "", ov->lower[i]);
      free (lower);
      lower = next;
    }
  opts = ov->upper ? hutch_xasprintf ("lowerdir=%s,upperdir=%s,workdir=%s%s", lower, ov->upper,
                                      ov->work, ov->fuse_noacl ? ",noacl" : "")
                   : hutch_xasprintf ("lowerdir=%s%s", lower, ov->fuse_noacl ? ",noacl" : "");
  if (pipe2 (errpipe, O_CLOEXEC) < 0)
    return hutch_error_set (err, errno, "pipe");
  pid = fork ();
  if (pid < 0)
    return hutch_error_set (err, errno, "fork fuse-overlayfs");
  if (pid == 0)
    {
      char *argv[] = { ov->fuse_program, (char *)"-f", (char *)"-o", opts, ov->mountpoint, NULL };
      int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
      prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
      dup2 (errpipe[1], 2);
      /* Nothing of the container's stdio (a monitor's log pipes, which
         would not see their end while the daemon holds them) nor of the
         caller's other fds.  */
      if (null >= 0)
        {
          dup2 (null, 0);
          dup2 (null, 1);
        }
      syscall (SYS_close_range, 3U, ~0U, 0U);
      execv (ov->fuse_program, argv);
      _exit (127);
    }
  close (errpipe[1]);
  /* Wait (at most 10 s) for the mount, or for fuse-overlayfs to give up.  */
  for (k = 0; k < 10000; k++)
    {
      struct statfs sfs;
      int st;
      if (statfs (ov->mountpoint, &sfs) == 0 && sfs.f_type == 0x65735546 /* FUSE_SUPER_MAGIC */)
        {
          close (errpipe[0]);
          return pid;
        }
      if (waitpid (pid, &st, WNOHANG) == pid)
        {
          _cleanup_free_ char *text = NULL;
          hutch_error_t e = HUTCH_ERROR_INIT;
          size_t len;
          if (hutch_read_fd (errpipe[0], 65536, &text, NULL, &e) < 0)
            hutch_error_clear (&e);
          close (errpipe[0]);
          len = text ? strlen (text) : 0;
          while (len && text[len - 1] == '\n')
            text[--len] = '\0';
          return hutch_error_set (err, 0, "fuse-overlayfs failed to mount the root filesystem (%s)",
                                  len ? text : "no message");
        }
      usleep (1000);
    }
  kill (pid, SIGKILL);
  waitpid (pid, NULL, 0);
  close (errpipe[0]);
  return hutch_error_set (err, ETIMEDOUT, "fuse-overlayfs did not mount the root filesystem");
}

/* The namespaces that config.json names by path, opened at once in A's
   first view (FDS: -1 where none).  The cgroup namespace is B's to join
   (b_join_cgroup_ns).  Failures end A after telling P.  */
static void
a_open_ns_paths (struct hutch_child_ctx *c, int fds[HUTCH_NS_COUNT])
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  int n;

  for (n = 0; n < HUTCH_NS_COUNT; n++)
    fds[n] = -1;
  for (n = 0; n < HUTCH_NS_COUNT; n++)
    if (c->spec->ns_path[n] && n != HUTCH_NS_CGROUP)
      {
        fds[n] = open (c->spec->ns_path[n], O_RDONLY | O_CLOEXEC);
        if (fds[n] < 0 && errno == EACCES && c->spec->ns[HUTCH_NS_USER])
          hutch_error_set (&err, errno,
                           "linux.namespaces: the %s namespace `%s` cannot be opened from the "
                           "container's new user namespace (the kernel lets a process open "
                           "another's namespaces only with privileges over its user namespace); "
                           "join that process's user namespace too: a {\"type\": \"user\", "
                           "\"path\": ...} entry",
                           hutch_ns_name (n), c->spec->ns_path[n]);
        else if (fds[n] < 0)
          hutch_error_set (&err, errno, "linux.namespaces: the %s namespace `%s`",
                           hutch_ns_name (n), c->spec->ns_path[n]);
        if (fds[n] < 0)
          hutch_msg_fail (c->sock, &err);
      }
}

/* A network namespace joined by path that is the caller's own is the
   host's, for all the container knows: linux.sysctl's net.* would change
   it for everyone (runc refuses it too).  */
static int
a_check_net_sysctls (const struct hutch_spec *spec, int netfd, hutch_error_t *err)
{
  struct stat ours, theirs;
  size_t i;

  for (i = 0; i < spec->n_sysctls; i++)
    if (strncmp (spec->sysctls[i].key, "net.", 4) == 0)
      break;
  if (netfd < 0 || i == spec->n_sysctls)
    return 0;
  if (stat ("/proc/self/ns/net", &ours) < 0 || fstat (netfd, &theirs) < 0)
    return hutch_error_set (err, errno, "linux.sysctl: compare the network namespaces");
  if (ours.st_dev == theirs.st_dev && ours.st_ino == theirs.st_ino)
    return hutch_error_set (err, 0,
                            "linux.sysctl.%s: the network namespace joined (`%s`) is the host's "
                            "(the caller's own), whose settings are not the container's to "
                            "change; remove the net.* sysctls",
                            spec->sysctls[i].key, spec->ns_path[HUTCH_NS_NET]);
  return 0;
}

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* A time namespace of the container's own, with linux.timeOffsets.  Like
   a PID namespace it is only for the children of the process that made
   it, and its offsets can be written only until a process is in it: so
   A makes it, writes them, and only then clones B.  */
static int
a_time_namespace (const struct hutch_spec *spec, hutch_error_t *err)
{
  _cleanup_close_ int fd = -1;
  char buf[128];
  int len;

  if (unshare (CLONE_NEWTIME) < 0)
    return hutch_error_set (err, errno,
                            errno == EINVAL ? "create the time namespace (this kernel has none: "
                                              "Linux 5.6 with CONFIG_TIME_NS)"
                                            : "create the time namespace");
  if (!spec->has_time_offsets)
    return 0;
  len = snprintf (buf, sizeof buf, "monotonic %lld %ld\nboottime %lld %ld\n",
                  spec->time_monotonic.secs, spec->time_monotonic.nanosecs,
                  spec->time_boottime.secs, spec->time_boottime.nanosecs);
  fd = open ("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write (fd, buf, (size_t)len) != len)
    return hutch_error_set (err, errno,
                            "linux.timeOffsets: write the offsets (monotonic %lld s, boottime "
                            "%lld s) of the time namespace",
                            spec->time_monotonic.secs, spec->time_boottime.secs);
  return 0;
}

/* The namespaces B is born into (all but the cgroup namespace, which is
   B's own once B is in its cgroup), made or joined: those named by path
   first (FDS, opened by a_open_ns_paths; the user namespace is joined
   already), then new ones, then the time and PID namespaces, which only
   B, cloned next, is in.  Failures end A after telling P.  */
static void
a_enter_namespaces (struct hutch_child_ctx *c, int fds[HUTCH_NS_COUNT])
{
  static const int joined_first[] = { HUTCH_NS_IPC, HUTCH_NS_UTS, HUTCH_NS_NET };
  hutch_error_t err = HUTCH_ERROR_INIT;
  const struct hutch_spec *spec = c->spec;
  int flags = 0;
  size_t i;

  if (a_check_net_sysctls (spec, fds[HUTCH_NS_NET], &err) < 0)
    hutch_msg_fail (c->sock, &err);
  for (i = 0; i < sizeof joined_first / sizeof joined_first[0]; i++)
    if (fds[joined_first[i]] >= 0
        && join_ns (spec, joined_first[i], fds[joined_first[i]], &err) < 0)
      hutch_msg_fail (c->sock, &err);
  if (spec->ns[HUTCH_NS_MOUNT])
    flags |= CLONE_NEWNS;
  /* New ones made ahead of time (in our user namespace, fresh: as the
     flags would make them) are joined; the others are made now.  */
  for (i = 0; i < sizeof joined_first / sizeof joined_first[0]; i++)
    {
      int n = joined_first[i], *ahead = &c->ahead[n];
      if (spec->ns[n] && *ahead >= 0 && setns (*ahead, hutch_ns_clone_flag (n)) < 0)
        {
          hutch_error_set (&err, errno, "join the %s namespace made for the container",
                           hutch_ns_name (n));
          hutch_msg_fail (c->sock, &err);
        }
      if (spec->ns[n] && *ahead < 0)
        flags |= hutch_ns_clone_flag (n);
      if (*ahead >= 0)
        close (*ahead);
      *ahead = -1;
    }
  /* The cgroup namespace is B's own, made once B is in its cgroup.  */
  if (unshare (flags) < 0)
    {
      hutch_error_set (&err, errno, "create the container's namespaces");
      hutch_msg_fail (c->sock, &err);
    }
}

/* The time and PID namespaces, made or joined last: both are for A's
   children only, that is for B.  */
static void
a_children_namespaces (struct hutch_child_ctx *c, int fds[HUTCH_NS_COUNT])
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  const struct hutch_spec *spec = c->spec;

  if ((spec->ns[HUTCH_NS_TIME] && a_time_namespace (spec, &err) < 0)
      || (fds[HUTCH_NS_TIME] >= 0 && join_ns (spec, HUTCH_NS_TIME, fds[HUTCH_NS_TIME], &err) < 0)
      || (fds[HUTCH_NS_PID] >= 0 && join_ns (spec, HUTCH_NS_PID, fds[HUTCH_NS_PID], &err) < 0))
    hutch_msg_fail (c->sock, &err);
  if (spec->ns[HUTCH_NS_PID] && unshare (CLONE_NEWPID) < 0)
    {
      hutch_error_set (&err, errno, "create the PID namespace");
      hutch_msg_fail (c->sock, &err);
    }
}

/* A's namespaces, and fuse-overlayfs in them when the root needs it: its
   pid, or -1.  Failures end A after telling P.  */
static pid_t
a_namespaces (struct hutch_child_ctx *c, int fds[HUTCH_NS_COUNT])
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  const struct hutch_spec *spec = c->spec;
  pid_t fuse = -1;
  int n;

  a_enter_namespaces (c, fds);
  if (spec->extra.squash && (c->squashfuse = hutch_squash_start (spec, &err)) < 0)
    hutch_msg_fail (c->sock, &err);
  if (spec->extra.overlay && spec->extra.overlay->driver == HUTCH_DRIVER_FUSE)
    {
      /* Our mounts stay in this namespace: no propagation to the host.  */
      if (mount ("", "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
        {
          hutch_error_set (&err, errno, "make the mount namespace private");
          hutch_msg_fail (c->sock, &err);
        }
      fuse = start_fuse (spec->extra.overlay, &err);
      if (fuse < 0)
        hutch_msg_fail (c->sock, &err);
    }
  a_children_namespaces (c, fds);
  for (n = 0; n < HUTCH_NS_COUNT; n++)
    if (fds[n] >= 0)
      close (fds[n]);
  return fuse;
}

/* B, as P's child (CLONE_PARENT), in the container's cgroup when it has
   one.  Returns B's pid in A, 0 in B; failures end A after telling P.  */
static pid_t
clone_b (struct hutch_child_ctx *c)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  pid_t b = -1;

  if (c->cgroupfd >= 0)
    {
      /* Straight into the container's cgroup (Linux 5.7): B never runs a
         moment in ours, and the move cannot fail halfway.  */
      /* exit_signal stays 0: with CLONE_PARENT the kernel takes ours
         (SIGCHLD) and refuses any other.  Kernels before 5.7 do not know
         the cgroup field (E2BIG), before 5.3 clone3 at all (ENOSYS).  */
      struct clone_args args
          = { .flags = CLONE_PARENT | CLONE_INTO_CGROUP, .cgroup = (uint64_t)c->cgroupfd };
      b = (pid_t)syscall (SYS_clone3, &args, sizeof args);
      if (b >= 0)
        c->in_cgroup = true;
      else if (errno != ENOSYS && errno != E2BIG)
        {
          hutch_error_set (&err, errno,
                           "start the container's process in its cgroup %s (the kernel refused "
                           "clone3 into it; is the cgroup still there, and not threaded?)",
                           c->cgroup_path);
          hutch_msg_fail (c->sock, &err);
        }
    }
  if (!c->in_cgroup)
    b = (pid_t)syscall (SYS_clone, CLONE_PARENT | SIGCHLD, 0, NULL, NULL, 0);
  if (b < 0)
    {
      hutch_error_set (&err, errno, "clone the container's process");
      hutch_msg_fail (c->sock, &err);
    }
  return b;
}

void
hutch_child_main (struct hutch_child_ctx *c)
{
  struct hutch_msg m = { 0 };
  int pidfd, cgparentfd = -1, dirparentfd = -1, null, nsfds[HUTCH_NS_COUNT];
  pid_t b, fuse, emu_pid = -1;

  if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid () != c->parent)
    _exit (HUTCH_EXIT_ERROR);
  /* A namespace made and mapped ahead of time: joined first, and from
     then on everything is as in one P cloned us into.  */
  if (c->ahead[HUTCH_NS_USER] >= 0)
    {
      hutch_error_t err = HUTCH_ERROR_INIT;
      if (setns (c->ahead[HUTCH_NS_USER], CLONE_NEWUSER) < 0)
        {
          hutch_error_set (&err, errno, "join the user namespace made for the container");
          hutch_msg_fail (c->sock, &err);
        }
      close (c->ahead[HUTCH_NS_USER]);
      c->ahead[HUTCH_NS_USER] = -1;
    }
  if (hutch_msg_recv (c->sock, &m, NULL) != 1 || m.type != HUTCH_MSG_MAPS_OK)
    _exit (HUTCH_EXIT_ERROR);
  /* A user namespace named by path is joined before anything else: it is
     what makes the other namespaces joinable, and what everything below
     is made as root of (P cloned us without one of our own).  */
  a_open_ns_paths (c, nsfds);
  if (nsfds[HUTCH_NS_USER] >= 0)
    {
      hutch_error_t err = HUTCH_ERROR_INIT;
      if (join_ns (c->spec, HUTCH_NS_USER, nsfds[HUTCH_NS_USER], &err) < 0)
        hutch_msg_fail (c->sock, &err);
      close (nsfds[HUTCH_NS_USER]);
      nsfds[HUTCH_NS_USER] = -1;
    }
  /* The watchdog-to-be in a session of its own: a signal to hutch's
     process group (timeout(1), a shell's job control) must not end it
     with hutch, or nobody is left to remove the container's cgroup.  Its
     parent directory, kept from now on: should hutch die before B exists,
     B fails its handshake and the watchdog still cleans up.  */
  setsid ();
  prctl (PR_SET_PDEATHSIG, 0, 0, 0, 0);
  if (c->cgroupfd >= 0)
    cgparentfd = openat (c->cgroupfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  /* The container's directory's parent (STORE/containers), in the host's
     view, for the watchdog's removal.  */
  if (c->spec->extra.container_dir)
    {
      _cleanup_free_ char *parent = hutch_xstrdup (c->spec->extra.container_dir);
      char *slash = strrchr (parent, '/');
      if (slash && slash != parent)
        {
          *slash = '\0';
          dirparentfd = open (parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
    }

  /* The host's /dev/null, opened before B exists: once B has pivoted,
     a path here may be looked up in the container's root (when A shares
     its mount namespace), where the container decides what it is.  */
  null = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (c->spec->rootemu && !c->spec->extra.outlive)
    emu_pid = start_emulator (c, null);
  fuse = a_namespaces (c, nsfds);
  b = clone_b (c);
  if (b == 0)
    {
      close (c->watchfd);
      c->watchfd = -1;
      child_b (c);
    }
  if (c->startfd >= 0)
    close (c->startfd);
  emulator_meet_b (c, b);
  m = (struct hutch_msg){ .type = HUTCH_MSG_PID, .pid = b };
  if (c->spec->extra.outlive)
    {
      /* Nothing to watch: the container is meant to outlive its creator,
         and whoever reaps it (containerd's shim, conmon, a subreaper)
         cleans up after it with hutch-oci delete.  B keeps the namespaces
         alive.  */
      hutch_msg_send (c->sock, &m, -1);
      _exit (0);
    }
  pidfd = (int)syscall (SYS_pidfd_open, b, 0);
  hutch_msg_send (c->sock, &m, -1);
  if (pidfd < 0 && fuse < 0 && c->squashfuse <= 0)
    _exit (0); /* no pidfd (Linux < 5.3): B's parent-death signal only */
  if (pidfd < 0)
    {
      /* fuse-overlayfs must outlive B, and be stopped after it: that needs
         the watchdog, and the watchdog needs a pidfd.  */
      kill (b, SIGKILL);
      _exit (HUTCH_EXIT_ERROR);
    }
  /* The watch pipe, not the parent-death signal (cleared above), tells us
     that P died: we must outlive P to act on it.  */
  {
    int keep[4] = { c->watchfd, pidfd, cgparentfd >= 0 ? cgparentfd : pidfd,
                    dirparentfd >= 0 ? dirparentfd : pidfd };
    /* B has its stdio; the watchdog lets go of them, so that whoever
       reads the container's output sees its end when the container's
       own processes are gone.  */
    if (null >= 0)
      {
        dup2 (null, 0);
        dup2 (null, 1);
        dup2 (null, 2);
        close (null);
      }
    hutch_close_all_but (keep, 4);
  }
  watchdog (c, pidfd, fuse, emu_pid, cgparentfd, dirparentfd);
}

pid_t
hutch_overlay_start_fuse (const struct hutch_overlay *ov, hutch_error_t *err)
{
  return start_fuse (ov, err);
}
