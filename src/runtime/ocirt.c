/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* hutch-oci's containers: the state directory, and create, start, run,
   kill, delete on the lifecycle of src/runtime/container.h.  ocirt.h says
   what is where.  */

#include "runtime/ocirt.h"
#include "runtime/container.h"
#include "runtime/exec.h"
#include "runtime/hooks.h"
#include "runtime/ocicgroup.h"
#include "runtime/resources.h"
#include "base/log.h"
#include "runtime/specjson.h"
#include "runtime/state.h"
#include "base/paths.h"
#include "base/syscalls.h"
#include "base/units.h"
#include "base/util.h"
#include "base/walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* The host's uid of this process's euid: through the user namespace's
   map when in one (root of rootless podman's is the user's own uid), so
   that two users do not share /tmp/hutch-oci-0.  */
static unsigned int
host_uid (void)
{
  _cleanup_free_ char *text = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;
  unsigned long in, out, n;
  unsigned int uid = (unsigned int)geteuid ();
  char *line, *save = NULL;

  if (hutch_read_file ("/proc/self/uid_map", 65536, &text, NULL, &e) < 0)
    {
      hutch_error_clear (&e);
      return uid;
    }
  for (line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    if (sscanf (line, "%lu %lu %lu", &in, &out, &n) == 3 && uid >= in && uid - in < n)
      return (unsigned int)(out + (uid - in));
  return uid;
}

char *
hutch_oci_default_root (bool rootless)
{
  const char *x;

  if (!rootless)
    return hutch_xstrdup ("/run/hutch-oci");
  x = hutch_paths_xdg_runtime ();
  if (x)
    return hutch_xasprintf ("%s/hutch-oci", x);
  return hutch_xasprintf ("/tmp/hutch-oci-%u", host_uid ());
}

int
hutch_oci_root_open (const char *root, int *ret_fd, hutch_error_t *err)
{
  int fd;

  if (root[0] != '/')
    return hutch_error_set (err, 0, "--root `%s` must be an absolute path", root);
  /* Its pids are signalled and its sockets connected to: a directory
     that someone else can write to could name another user's processes.  */
  if (hutch_paths_check_trusted (root, "hutch-oci's state directory (--root)", err) < 0)
    return -1;
  /* Its parents too, as runc's (containerd names a directory below its
     own state directory), each 0700.  */
  if (hutch_walk_mkdir_p (root, 0700, err) < 0)
    return hutch_error_prefix (err, "make the state directory `%s` (--root)", root);
  fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return hutch_error_set (err, errno, "open the state directory `%s` (--root)", root);
  *ret_fd = fd;
  return 0;
}

int
hutch_oci_check_id (const char *id, hutch_error_t *err)
{
  size_t i, n = strlen (id);

  if (n == 0 || n > 1024 || strcmp (id, ".") == 0 || strcmp (id, "..") == 0)
    return hutch_error_set (err, 0,
                            "`%s` is not a valid container id: it must not be empty, `.` or "
                            "`..`, nor longer than 1024 bytes",
                            id);
  for (i = 0; i < n; i++)
    if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z')
          || (id[i] >= '0' && id[i] <= '9') || strchr ("-_.+@:", id[i])))
      return hutch_error_set (err, 0,
                              "`%s` is not a valid container id: letters, digits and `-_.+@:` "
                              "only (no `/`)",
                              id);
  return 0;
}

/* ROOT/ID, or "container does not exist".  Its pid is signalled, its
   cgroup killed and removed, its socket connected to and the hooks of its
   config.json run, as the caller (root under containerd): so it must be
   the caller's own, as make_container_dir made it, and writable by no
   one else.  hutch_oci_root_open checks the directories above, but lets
   a sticky one of root's through (--root /tmp), where every user can
   make an ID of their own.  */
static int
open_container (int rootfd, const char *id, hutch_error_t *err)
{
  struct stat sb;
  int fd;

  if (hutch_oci_check_id (id, err) < 0)
    return -1;
  fd = openat (rootfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    {
      if (errno == ENOENT)
        return hutch_error_set (err, ENOENT, "`%s`: container does not exist", id);
      return hutch_error_set (err, errno, "open the state of container `%s`", id);
    }
  if (fstat (fd, &sb) < 0)
    {
      int e = errno;
      close (fd);
      return hutch_error_set (err, e, "open the state of container `%s`", id);
    }
  if (sb.st_uid != geteuid () || (sb.st_mode & 022))
    {
      close (fd);
      return hutch_error_set (err, 0,
                              "the state of container `%s` is not safe to use: its directory "
                              "in --root is not yours alone (another user made it, or can write "
                              "to it); use a --root of your own that only you can write to",
                              id);
    }
  return fd;
}

/* The container's lock, against a create, start and delete of the same
   id at once (an engine may retry).  */
static int
lock_container (int dirfd, const char *id, hutch_error_t *err)
{
  while (flock (dirfd, LOCK_EX) < 0)
    if (errno != EINTR)
      return hutch_error_set (err, errno, "lock container `%s`", id);
  return 0;
}

/* /proc/self/fd/N/NAME: a short path for a socket in a directory whose
   own path may be longer than sun_path holds.  */
static int
socket_addr (int dirfd, const char *name, struct sockaddr_un *sa)
{
  memset (sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  if ((size_t)snprintf (sa->sun_path, sizeof sa->sun_path, "/proc/self/fd/%d/%s", dirfd, name)
      >= sizeof sa->sun_path)
    return -1;
  return 0;
}

static int
listen_start_socket (int dirfd, hutch_error_t *err)
{
  struct sockaddr_un sa;
  _cleanup_close_ int fd = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

  if (fd < 0)
    return hutch_error_set (err, errno, "socket");
  if (socket_addr (dirfd, "start", &sa) < 0)
    return hutch_error_set (err, ENAMETOOLONG, "the start socket");
  unlinkat (dirfd, "start", 0);
  if (bind (fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen (fd, 4) < 0)
    return hutch_error_set (err, errno, "make the container's start socket");
  return HUTCH_STEAL_FD (fd);
}

/* Send the terminal's MASTER to the console socket at PATH (SCM_RIGHTS),
   as runc's --console-socket: the engine (conmon, containerd's shim) holds
   the terminal from then on.  */
static int
send_console (const char *path, int master, hutch_error_t *err)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  _cleanup_close_ int fd = -1;
  char byte = 0, cbuf[CMSG_SPACE (sizeof (int))];
  struct iovec iov = { &byte, 1 };
  struct msghdr mh = { 0 };
  struct cmsghdr *cm;

  if (strlen (path) >= sizeof sa.sun_path)
    return hutch_error_set (err, ENAMETOOLONG, "--console-socket `%s`", path);
  strcpy (sa.sun_path, path);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect (fd, (struct sockaddr *)&sa, sizeof sa) < 0)
    return hutch_error_set (err, errno, "connect to --console-socket `%s`", path);
  memset (cbuf, 0, sizeof cbuf);
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cbuf;
  mh.msg_controllen = sizeof cbuf;
  cm = CMSG_FIRSTHDR (&mh);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (cm), &master, sizeof (int));
  while (sendmsg (fd, &mh, MSG_NOSIGNAL) < 0)
    if (errno != EINTR)
      return hutch_error_set (err, errno, "send the terminal to --console-socket `%s`", path);
  return 0;
}

/* PATH holds PID, written under a temporary name first: an engine that
   reads it never sees half a number.  The temporary is made, never
   opened: its name can be guessed, and O_NOFOLLOW alone would let a file
   put there beforehand (a hard link, someone else's file in a shared
   directory) be truncated and written by root, and renamed into place
   as the pid file, still its owner's to change.  */
static int
write_pid_file (const char *path, pid_t pid, hutch_error_t *err)
{
  _cleanup_free_ char *tmp = hutch_xasprintf ("%s.hutch-%d", path, (int)getpid ());
  char buf[32];
  int fd, n = snprintf (buf, sizeof buf, "%d", (int)pid);

  fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    return hutch_error_set (err, errno, "write the pid file `%s`", path);
  if (hutch_write_all (fd, buf, (size_t)n) < 0 || close (fd) < 0 || rename (tmp, path) < 0)
    {
      int e = errno;
      unlink (tmp);
      return hutch_error_set (err, e, "write the pid file `%s`", path);
    }
  return 0;
}

/* Fds 3 .. 3+N-1, which the process gets as they are (--preserve-fds,
   LISTEN_FDS), must be the caller's: open, and not close-on-exec.  A
   number the caller left closed is taken by the next fd hutch-oci opens
   itself (the state directory's, before this is called), and B and E2
   keep that number open across the exec: a directory of the host in the
   container as /proc/self/fd/N, the CVE-2024-21626 class.  Every fd of
   hutch's own is close-on-exec, and an fd inherited through an exec
   cannot be, so that flag tells them apart.  */
static int
check_preserved_fds (int n, hutch_error_t *err)
{
  int fd, flags;

  for (fd = 3; fd < 3 + n; fd++)
    {
      flags = fcntl (fd, F_GETFD);
      if (flags < 0)
        return hutch_error_set (err, errno,
                                "fd %d is not open, and the process is to get fds 3 to %d "
                                "(--preserve-fds, after LISTEN_FDS's): pass them open, or "
                                "preserve fewer",
                                fd, 2 + n);
      if (flags & FD_CLOEXEC)
        return hutch_error_set (err, 0,
                                "fd %d is hutch-oci's own, not one its caller passed, and the "
                                "process is to get fds 3 to %d (--preserve-fds, after "
                                "LISTEN_FDS's): pass them open, or preserve fewer",
                                fd, 2 + n);
    }
  return 0;
}

int
hutch_oci_prepare_spec (struct hutch_spec *spec, const struct hutch_oci_create *o,
                        hutch_error_t *err)
{
  const char *lfds = getenv ("LISTEN_FDS"), *lpid = getenv ("LISTEN_PID");
  int listen = 0;

  if (o->preserve_fds < 0)
    return hutch_error_set (err, 0, "--preserve-fds must not be negative");
  /* Sockets that systemd passed us (socket activation) go on to the
     process as its own, before those of --preserve-fds, as runc does.
     Only when LISTEN_PID names us (sd_listen_fds' rule; conmon rewrites
     it for the runtime): a LISTEN_FDS left in an environment by some
     process above us describes that process's fds, not ours.  */
  if (lfds && *lfds && lpid && atoi (lpid) == (int)getpid ())
    {
      char *end;
      long n = strtol (lfds, &end, 10);
      if (*end == '\0' && n > 0 && n < 4096)
        {
          _cleanup_free_ char *kv = hutch_xasprintf ("LISTEN_FDS=%ld", n);
          listen = (int)n;
          hutch_spec_setenv (spec, kv);
          hutch_spec_setenv (spec, "LISTEN_PID=1");
        }
    }
  spec->extra.preserve_fds = listen + o->preserve_fds;
  if (check_preserved_fds (spec->extra.preserve_fds, err) < 0)
    return -1;
  free (spec->extra.oci_id);
  free (spec->extra.oci_bundle);
  spec->extra.oci_id = hutch_xstrdup (o->id);
  spec->extra.oci_bundle = hutch_xstrdup (o->bundle);
  /* The container's cgroup where the engine says (linux.cgroupsPath, read
     as runc reads it under the cgroup manager asked for); named after the
     container when hutch places it.  */
  free (spec->extra.cgroup_name);
  spec->extra.cgroup_name = hutch_xstrdup (o->id);
  if (spec->extra.cgroup_request)
    hutch_cgroup_request_clear (spec->extra.cgroup_request);
  else
    spec->extra.cgroup_request = hutch_xmalloc0 (sizeof *spec->extra.cgroup_request);
  if (hutch_cgroup_path_from_oci (spec->cgroups_path, o->cgroup_manager, o->id, o->rootless,
                                  spec->extra.cgroup_request, err)
      < 0)
    return -1;
  /* An engine's shim reads what the process writes, and feeds it input:
     the process gets the caller's stdio, stdin included, as runc's.  */
  spec->extra.interactive = true;
  return 0;
}

/* Remove ROOT/ID: what is in it belongs to the user (or root), no
   container's files.  */
static void
remove_container_dir (int rootfd, const char *id)
{
  hutch_error_t e = HUTCH_ERROR_INIT;
  hutch_walk_remove_tree (rootfd, id, &e);
  hutch_error_clear (&e);
}

static void
state_for (struct hutch_state *st, enum hutch_state_status status, pid_t pid, const char *bundle,
           const char *cgroup)
{
  hutch_state_init (st);
  st->status = status;
  st->pid = pid;
  st->pid_start = hutch_state_pid_start (pid);
  hutch_state_boot_id (st->boot_id);
  st->bundle = hutch_xstrdup (bundle);
  st->cgroup = cgroup ? hutch_xstrdup (cgroup) : NULL;
  st->created = hutch_state_now ();
}

/* Make ROOT/ID, or say that it exists.  */
static int
make_container_dir (int rootfd, const char *id, hutch_error_t *err)
{
  int fd;

  if (hutch_oci_check_id (id, err) < 0)
    return -1;
  if (mkdirat (rootfd, id, 0700) < 0)
    {
      if (errno == EEXIST)
        return hutch_error_set (err, EEXIST, "container `%s` already exists", id);
      return hutch_error_set (err, errno, "make the state of container `%s`", id);
    }
  fd = openat (rootfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return hutch_error_set (err, errno, "open the state of container `%s`", id);
  if (flock (fd, LOCK_EX) < 0)
    {
      close (fd);
      return hutch_error_set (err, errno, "lock container `%s`", id);
    }
  return fd;
}

static int
check_terminal (const struct hutch_spec *spec, const struct hutch_oci_create *o, bool detached,
                hutch_error_t *err)
{
  if (spec->terminal && detached && o->console_socket == NULL)
    return hutch_error_set (err, 0,
                            "config.json asks for a terminal (process.terminal) and the "
                            "container outlives this command: give --console-socket, a socket "
                            "to which its master is sent, or set process.terminal to false");
  if (!spec->terminal && o->console_socket)
    return hutch_error_set (err, 0,
                            "--console-socket is for a terminal, and config.json asks for none "
                            "(process.terminal is false)");
  return 0;
}

int
hutch_oci_create (int rootfd, struct hutch_spec *spec, const struct hutch_oci_create *o,
                  hutch_error_t *err)
{
  struct hutch_container *c = NULL;
  struct hutch_container_state cs;
  struct hutch_state st;
  _cleanup_close_ int dirfd = -1, sfd = -1;

  if (check_terminal (spec, o, true, err) < 0)
    return -1;
  dirfd = make_container_dir (rootfd, o->id, err);
  if (dirfd < 0)
    return -1;
  sfd = listen_start_socket (dirfd, err);
  if (sfd < 0)
    goto fail;
  spec->extra.outlive = true;
  spec->extra.detach = true;
  spec->extra.start_socket = sfd;
  /* Written before the process exists: exec and delete read it.  */
  if (hutch_spec_save (spec, dirfd, err) < 0 || hutch_container_create (spec, &c, err) < 0)
    goto fail;
  hutch_container_state (c, &cs);
  if (cs.pty_master >= 0 && send_console (o->console_socket, cs.pty_master, err) < 0)
    goto fail;
  state_for (&st, HUTCH_STATE_CREATED, cs.pid, o->bundle, cs.cgroup_path);
  if (hutch_state_write (dirfd, &st, err) < 0
      || (o->pid_file && write_pid_file (o->pid_file, cs.pid, err) < 0)
      || hutch_container_release (c, err) < 0)
    {
      hutch_state_clear (&st);
      goto fail;
    }
  hutch_log (HUTCH_LOG_DEBUG, "container `%s` created: process %d waits for start", o->id,
             (int)cs.pid);
  hutch_state_clear (&st);
  return 0;

fail:
  if (c)
    hutch_container_delete (c);
  remove_container_dir (rootfd, o->id);
  return -1;
}

/* Poststart and poststop hooks fail with a warning only, as the
   runtime spec says: the container runs (or is gone) already.  */
static void
run_late_hooks (const struct hutch_spec *spec, int kind, const char *status, pid_t pid)
{
  hutch_hooks_run_late (spec, kind, status, pid);
}

/* Whether the saved config.json names hooks of KIND (one that cannot be
   read says yes: hutch_spec_load_saved then says why).  */
static bool
saved_has_hooks (int dirfd, int kind)
{
  _cleanup_close_ int fd = openat (dirfd, "config.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  _cleanup_free_ char *text = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;
  json_t *root, *list;
  bool has;

  if (fd < 0 || hutch_read_fd (fd, 1 << 24, &text, NULL, &e) < 0)
    {
      hutch_error_clear (&e);
      return true;
    }
  root = json_loads (text, 0, NULL);
  if (root == NULL)
    return true;
  list = json_object_get (json_object_get (root, "hooks"), hutch_hook_kind_name (kind));
  has = json_is_array (list) && json_array_size (list) > 0;
  json_decref (root);
  return has;
}

/* The saved configuration's hooks of KIND, run late (above), for
   container ID.  */
static void
run_saved_hooks (int dirfd, const char *id, const struct hutch_state *st, int kind,
                 const char *status, pid_t pid)
{
  _cleanup_spec_ struct hutch_spec *spec = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;

  /* Most containers have none: then the whole configuration (and its
     filter) need not be read and checked on every start and delete.  */
  if (!saved_has_hooks (dirfd, kind))
    return;
  if (hutch_spec_load_saved (dirfd, &spec, &e) < 0)
    {
      hutch_log (HUTCH_LOG_WARNING, "container `%s`: no %s hooks run: %s", id,
                 hutch_hook_kind_name (kind), e.msg);
      hutch_error_clear (&e);
      return;
    }
  spec->extra.oci_id = hutch_xstrdup (id);
  spec->extra.oci_bundle = st->bundle ? hutch_xstrdup (st->bundle) : NULL;
  run_late_hooks (spec, kind, status, pid);
}

/* What the state says the container is now: its first process checked
   by its start time (a pid can be used again) and not a zombie.  */
static const char *
status_of (const struct hutch_state *st, bool have_state)
{
  char boot[40];

  if (!have_state)
    return "creating";
  hutch_state_boot_id (boot);
  if (strcmp (boot, st->boot_id) != 0 || !hutch_state_pid_alive (st->pid, st->pid_start))
    return "stopped";
  if (st->status == HUTCH_STATE_CREATED)
    return "created";
  if (st->cgroup && hutch_cgroup_frozen (st->cgroup) == 1)
    return "paused";
  return "running";
}

int
hutch_oci_start (int rootfd, const char *id, hutch_error_t *err)
{
  _cleanup_close_ int dirfd = open_container (rootfd, id, err), conn = -1;
  struct hutch_state st;
  struct sockaddr_un sa;
  const char *status;
  int r = -1;

  if (dirfd < 0 || lock_container (dirfd, id, err) < 0)
    return -1;
  hutch_state_init (&st);
  if (hutch_state_read (dirfd, &st, err) < 0)
    {
      if (err->errnum != ENOENT)
        return -1;
      hutch_error_clear (err);
    }
  status = status_of (&st, st.pid > 0);
  if (strcmp (status, "created") != 0)
    {
      hutch_error_set (err, 0,
                       strcmp (status, "stopped") == 0
                           ? "cannot start container `%s`: it has stopped (container not running)"
                           : "cannot start container `%s`: it is %s, not created",
                       id, status);
      goto out;
    }
  conn = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (conn < 0 || socket_addr (dirfd, "start", &sa) < 0
      || connect (conn, (struct sockaddr *)&sa, sizeof sa) < 0)
    {
      hutch_error_set (err, errno, "reach the waiting process of container `%s`", id);
      goto out;
    }
  if (hutch_container_start_outlived (conn, st.pid, err) < 0)
    goto out;
  unlinkat (dirfd, "start", 0);
  st.status = HUTCH_STATE_RUNNING;
  st.started = hutch_state_now ();
  r = hutch_state_write (dirfd, &st, err);
  if (r == 0)
    run_saved_hooks (dirfd, id, &st, HUTCH_HOOK_POSTSTART, "running", st.pid);
out:
  hutch_state_clear (&st);
  return r;
}

int
hutch_oci_run (int rootfd, struct hutch_spec *spec, const struct hutch_oci_create *o, bool detach,
               int *ret_status, hutch_error_t *err)
{
  struct hutch_container *c = NULL;
  struct hutch_container_state cs;
  struct hutch_state st;
  _cleanup_close_ int dirfd = -1;
  int r = -1;

  if (detach)
    {
      if (hutch_oci_create (rootfd, spec, o, err) < 0)
        return -1;
      if (hutch_oci_start (rootfd, o->id, err) < 0)
        {
          hutch_error_t e = HUTCH_ERROR_INIT;
          hutch_oci_delete (rootfd, o->id, true, &e);
          hutch_error_clear (&e);
          return -1;
        }
      *ret_status = 0;
      return 0;
    }
  if (check_terminal (spec, o, false, err) < 0)
    return -1;
  dirfd = make_container_dir (rootfd, o->id, err);
  if (dirfd < 0)
    return -1;
  /* hutch-oci: SIGTERM is passed on and nothing more (container.c).  */
  if (hutch_spec_save (spec, dirfd, err) < 0 || hutch_container_create (spec, &c, err) < 0)
    goto out;
  if (hutch_container_start (c, err) < 0)
    goto out;
  hutch_container_state (c, &cs);
  /* The terminal to the caller's console socket, which holds it from
     now on; nothing is copied here then.  */
  if (cs.pty_master >= 0 && o->console_socket)
    {
      if (send_console (o->console_socket, cs.pty_master, err) < 0)
        goto out;
      hutch_container_drop_terminal (c);
    }
  state_for (&st, HUTCH_STATE_RUNNING, cs.pid, o->bundle, cs.cgroup_path);
  st.started = st.created;
  if (hutch_state_write (dirfd, &st, err) < 0
      || (o->pid_file && write_pid_file (o->pid_file, cs.pid, err) < 0))
    {
      hutch_state_clear (&st);
      goto out;
    }
  hutch_state_clear (&st);
  run_late_hooks (spec, HUTCH_HOOK_POSTSTART, "running", cs.pid);
  /* Other commands see it while it runs; the lock is for create, start
     and delete, and a delete waits for this run.  */
  flock (dirfd, LOCK_UN);
  r = hutch_container_wait (c, ret_status, err);
  flock (dirfd, LOCK_EX);
out:
  if (c)
    {
      hutch_container_delete (c);
      run_late_hooks (spec, HUTCH_HOOK_POSTSTOP, "stopped", 0);
    }
  remove_container_dir (rootfd, o->id);
  return r;
}

/* A pidfd of the container's first process, checked to be the process
   the state names after it was opened (the pid may have been used
   again), or -1 with ESRCH.  */
static int
open_first_process (const struct hutch_state *st)
{
  int fd = (int)syscall (SYS_pidfd_open, st->pid, 0);
  if (fd < 0)
    return -1;
  if (!hutch_state_pid_alive (st->pid, st->pid_start))
    {
      close (fd);
      errno = ESRCH;
      return -1;
    }
  return fd;
}

static ino_t
pidns_of (pid_t pid)
{
  char path[64];
  struct stat sb;
  snprintf (path, sizeof path, "/proc/%d/ns/pid", (int)pid);
  return stat (path, &sb) == 0 ? sb.st_ino : 0;
}

/* Whether PID is PID 1 of its own PID namespace (the last NSpid field):
   a namespace the container made.  One it joined by path (another
   container's, a pod's) holds processes that are not the container's.  */
static bool
first_of_pidns (pid_t pid)
{
  _cleanup_free_ char *path = hutch_xasprintf ("/proc/%d/status", (int)pid), *text = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;
  const char *line, *last;
  size_t len;

  if (hutch_read_file (path, 65536, &text, NULL, &e) < 0)
    {
      hutch_error_clear (&e);
      return false;
    }
  line = strstr (text, "\nNSpid:");
  if (line == NULL)
    return false;
  line += 7;
  len = strcspn (line, "\n");
  for (last = line + len; last > line && last[-1] != ' ' && last[-1] != '\t'; last--)
    ;
  return line + len - last == 1 && *last == '1';
}

static int
cmp_pid (const void *a, const void *b)
{
  pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
  return (x > y) - (x < y);
}

/* The processes of the container: its cgroup's when it has one of its
   own, else those of its PID namespace (when it has one), else the
   first process alone.  */
static int
container_pids (const struct hutch_state *st, pid_t **ret, size_t *ret_n, hutch_error_t *err)
{
  pid_t *pids = NULL;
  size_t n = 0, cap = 0;

  if (st->cgroup)
    {
      hutch_error_t e = HUTCH_ERROR_INIT;
      if (hutch_cgroup_pids (st->cgroup, &pids, &n, &e) == 0)
        goto done;
      hutch_error_clear (&e);
    }
  if (hutch_state_pid_alive (st->pid, st->pid_start))
    {
      ino_t ns = pidns_of (st->pid);
      DIR *d;
      struct dirent *de;
      if (ns != 0 && ns != pidns_of (getpid ()) && first_of_pidns (st->pid)
          && (d = opendir ("/proc")) != NULL)
        {
          while ((de = readdir (d)) != NULL)
            {
              pid_t p = (pid_t)atoi (de->d_name);
              if (p <= 0 || pidns_of (p) != ns)
                continue;
              if (n == cap)
                pids = hutch_xrealloc (pids, (cap = cap ? cap * 2 : 16) * sizeof *pids);
              pids[n++] = p;
            }
          closedir (d);
        }
      else
        {
          pids = hutch_xmalloc0 (sizeof *pids);
          pids[n++] = st->pid;
        }
    }
done:
  (void)err;
  if (n > 1)
    qsort (pids, n, sizeof *pids, cmp_pid);
  *ret = pids;
  *ret_n = n;
  return 0;
}

/* The container's state, or "container does not exist"; *RET_DIRFD its
   directory.  */
static int
read_state (int rootfd, const char *id, int *ret_dirfd, struct hutch_state *st, bool *ret_have,
            hutch_error_t *err)
{
  int dirfd = open_container (rootfd, id, err);
  hutch_state_init (st);
  if (dirfd < 0)
    return -1;
  *ret_have = true;
  if (hutch_state_read (dirfd, st, err) < 0)
    {
      if (err->errnum != ENOENT)
        {
          close (dirfd);
          return -1;
        }
      hutch_error_clear (err);
      *ret_have = false;
    }
  *ret_dirfd = dirfd;
  return 0;
}

int
hutch_oci_kill (int rootfd, const char *id, int sig, bool all, hutch_error_t *err)
{
  _cleanup_close_ int dirfd = -1, pidfd = -1;
  struct hutch_state st;
  bool have;
  const char *status;
  int r = -1;

  if (read_state (rootfd, id, &dirfd, &st, &have, err) < 0)
    return -1;
  status = status_of (&st, have);
  if (strcmp (status, "stopped") == 0 || strcmp (status, "creating") == 0)
    {
      hutch_error_set (err, ESRCH, "cannot signal container `%s`: container not running", id);
      goto out;
    }
  if (all && st.cgroup)
    {
      /* the kernel's list, frozen while it is signalled (ocicgroup.h) */
      r = hutch_cgroup_signal_all (st.cgroup, sig, err);
      goto out;
    }
  if (all)
    {
      _cleanup_free_ pid_t *pids = NULL;
      size_t n, i;
      if (container_pids (&st, &pids, &n, err) < 0)
        goto out;
      for (i = 0; i < n; i++)
        kill (pids[i], sig);
      r = 0;
      goto out;
    }
  pidfd = open_first_process (&st);
  if (pidfd < 0 || syscall (SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
    {
      if (errno == ESRCH)
        hutch_error_set (err, ESRCH, "cannot signal container `%s`: container not running", id);
      else
        hutch_error_set (err, errno, "send signal %d to container `%s`", sig, id);
      goto out;
    }
  r = 0;
out:
  hutch_state_clear (&st);
  return r;
}

/* Wait (at most TIMEOUT_MS) for the first process to end: a zombie, not
   reaped yet by its parent, has ended.  */
static bool
wait_ended (const struct hutch_state *st, int timeout_ms)
{
  int waited;
  for (waited = 0; waited <= timeout_ms; waited += 10)
    {
      if (!hutch_state_pid_alive (st->pid, st->pid_start))
        return true;
      usleep (10000);
    }
  return false;
}

int
hutch_oci_delete (int rootfd, const char *id, bool force, hutch_error_t *err)
{
  _cleanup_close_ int dirfd = -1;
  struct hutch_state st;
  bool have;
  const char *status;
  int r = -1;

  if (read_state (rootfd, id, &dirfd, &st, &have, err) < 0)
    {
      /* --force of what is gone already is done, as runc's: engines
         delete, then delete --force to be sure.  */
      if (force && err->errnum == ENOENT)
        {
          hutch_error_clear (err);
          return 0;
        }
      return -1;
    }
  if (lock_container (dirfd, id, err) < 0)
    goto out;
  /* Read again under the lock: a start may have run meanwhile.  */
  hutch_state_clear (&st);
  if (hutch_state_read (dirfd, &st, err) < 0)
    {
      if (err->errnum != ENOENT)
        goto out;
      hutch_error_clear (err);
      have = false;
    }
  status = status_of (&st, have);
  if ((strcmp (status, "running") == 0 || strcmp (status, "paused") == 0) && !force)
    {
      hutch_error_set (err, 0,
                       "cannot delete container `%s` that is not stopped: it is %s (stop it "
                       "first, or use --force)",
                       id, status);
      goto out;
    }
  if (strcmp (status, "stopped") != 0 && strcmp (status, "creating") != 0)
    {
      _cleanup_free_ pid_t *pids = NULL;
      size_t n = 0, i;
      bool by_cgroup = false;
      /* A created one is deleted as runc does: killed.  Every process
         of it, so that none is left in its cgroup: through the cgroup
         when it has one (cgroup.kill, or frozen while it is signalled),
         where no pid read can be used again by another process before
         its signal; else by pid.  */
      if (st.cgroup)
        {
          hutch_error_t e = HUTCH_ERROR_INIT;
          by_cgroup = hutch_cgroup_signal_all (st.cgroup, SIGKILL, &e) == 0;
          hutch_error_clear (&e);
        }
      if (!by_cgroup && container_pids (&st, &pids, &n, err) < 0)
        goto out;
      for (i = 0; i < n; i++)
        kill (pids[i], SIGKILL);
      {
        _cleanup_close_ int pidfd = open_first_process (&st);
        if (pidfd >= 0)
          syscall (SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
      }
      if (!wait_ended (&st, 10000))
        {
          hutch_error_set (err, 0, "container `%s` did not end within 10 s of SIGKILL", id);
          goto out;
        }
    }
  if (st.cgroup && hutch_cgroup_remove (st.cgroup, err) < 0)
    goto out;
  /* A container that never got to its state has no hooks to end.  */
  if (have)
    run_saved_hooks (dirfd, id, &st, HUTCH_HOOK_POSTSTOP, "stopped", 0);
  remove_container_dir (rootfd, id);
  r = 0;
out:
  hutch_state_clear (&st);
  return r;
}

static char *
username (uid_t uid)
{
  struct passwd *pw = getpwuid (uid);
  return pw ? hutch_xstrdup (pw->pw_name) : hutch_xasprintf ("%u", (unsigned)uid);
}

/* root.path and the annotations of the saved config.json.  */
static void
read_config_bits (int dirfd, struct hutch_oci_info *info)
{
  _cleanup_close_ int fd = openat (dirfd, "config.json", O_RDONLY | O_CLOEXEC);
  _cleanup_free_ char *text = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;
  json_t *root, *v, *a;
  const char *key;

  if (fd < 0 || hutch_read_fd (fd, 1 << 24, &text, NULL, &e) < 0)
    {
      hutch_error_clear (&e);
      return;
    }
  root = json_loads (text, 0, NULL);
  if (root == NULL)
    return;
  v = json_object_get (json_object_get (root, "root"), "path");
  if (json_is_string (v))
    info->rootfs = hutch_xstrdup (json_string_value (v));
  a = json_object_get (root, "annotations");
  json_object_foreach (a, key, v) if (json_is_string (v))
      hutch_kv_set (&info->annotations, &info->n_annotations, key, json_string_value (v));
  json_decref (root);
}

int
hutch_oci_info_read (int rootfd, const char *id, struct hutch_oci_info *ret, hutch_error_t *err)
{
  _cleanup_close_ int dirfd = -1;
  struct hutch_state st;
  struct stat sb;
  bool have;

  memset (ret, 0, sizeof *ret);
  if (read_state (rootfd, id, &dirfd, &st, &have, err) < 0)
    return -1;
  ret->id = hutch_xstrdup (id);
  ret->status = status_of (&st, have);
  if (strcmp (ret->status, "stopped") != 0 && strcmp (ret->status, "creating") != 0)
    ret->pid = st.pid;
  ret->bundle = HUTCH_STEAL_PTR (st.bundle);
  ret->cgroup = HUTCH_STEAL_PTR (st.cgroup);
  ret->created = st.created;
  ret->owner = username (fstat (dirfd, &sb) == 0 ? sb.st_uid : geteuid ());
  read_config_bits (dirfd, ret);
  hutch_state_clear (&st);
  return 0;
}

void
hutch_oci_info_clear (struct hutch_oci_info *info)
{
  free (info->id);
  free (info->bundle);
  free (info->rootfs);
  free (info->owner);
  free (info->cgroup);
  hutch_kv_free (info->annotations, info->n_annotations);
  memset (info, 0, sizeof *info);
}

/* RFC 3339 with nanoseconds, in UTC, as runc writes `created`.  */
static char *
rfc3339_ns (long long ns)
{
  time_t t = (time_t)(ns / 1000000000LL);
  struct tm tm;
  char buf[64];
  gmtime_r (&t, &tm);
  strftime (buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return hutch_xasprintf ("%s.%09lldZ", buf, ns % 1000000000LL);
}

char *
hutch_oci_info_json (const struct hutch_oci_info *info, bool indent)
{
  json_t *o = json_object (), *a = json_object ();
  _cleanup_free_ char *created = rfc3339_ns (info->created);
  char *text;
  size_t i;

  json_object_set_new (o, "ociVersion", json_string (HUTCH_OCI_SPEC_VERSION));
  json_object_set_new (o, "id", json_string (info->id));
  json_object_set_new (o, "pid", json_integer (info->pid));
  json_object_set_new (o, "status", json_string (info->status));
  json_object_set_new (o, "bundle", json_string (info->bundle ? info->bundle : ""));
  json_object_set_new (o, "rootfs", json_string (info->rootfs ? info->rootfs : ""));
  json_object_set_new (o, "created", json_string (created));
  json_object_set_new (o, "owner", json_string (info->owner ? info->owner : ""));
  for (i = 0; i < info->n_annotations; i++)
    json_object_set_new (a, info->annotations[i].key, json_string (info->annotations[i].value));
  json_object_set_new (o, "annotations", a);
  text = json_dumps (o, indent ? JSON_INDENT (2) | JSON_PRESERVE_ORDER : JSON_PRESERVE_ORDER);
  json_decref (o);
  return text;
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

int
hutch_oci_list (int rootfd, char ***ret_ids, hutch_error_t *err)
{
  int fd = dup (rootfd);
  DIR *d;
  struct dirent *de;
  char **ids = NULL;
  size_t n = 0;

  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    {
      if (fd >= 0)
        close (fd);
      return hutch_error_set (err, errno, "read the state directory");
    }
  rewinddir (d);
  while ((de = readdir (d)) != NULL)
    {
      hutch_error_t e = HUTCH_ERROR_INIT;
      if (de->d_type != DT_DIR || hutch_oci_check_id (de->d_name, &e) < 0)
        {
          hutch_error_clear (&e);
          continue;
        }
      ids = hutch_xrealloc (ids, (n + 2) * sizeof *ids);
      ids[n++] = hutch_xstrdup (de->d_name);
      ids[n] = NULL;
    }
  closedir (d);
  if (ids == NULL)
    ids = hutch_xmalloc0 (sizeof *ids);
  qsort (ids, n, sizeof *ids, cmp_str);
  *ret_ids = ids;
  return 0;
}

int
hutch_oci_pids (int rootfd, const char *id, pid_t **ret_pids, size_t *ret_n, hutch_error_t *err)
{
  _cleanup_close_ int dirfd = -1;
  struct hutch_state st;
  bool have;
  int r;

  if (read_state (rootfd, id, &dirfd, &st, &have, err) < 0)
    return -1;
  if (strcmp (status_of (&st, have), "stopped") == 0)
    {
      *ret_pids = hutch_xmalloc0 (sizeof (pid_t));
      *ret_n = 0;
      hutch_state_clear (&st);
      return 0;
    }
  r = container_pids (&st, ret_pids, ret_n, err);
  hutch_state_clear (&st);
  return r;
}

/* Add the capabilities NAMES to the sets of SPEC that exec's --cap
   widens, as runc does: bounding, effective, permitted.  */
static void
add_caps (struct hutch_spec *spec, char **names)
{
  char ***sets[] = { &spec->cap_bounding, &spec->cap_effective, &spec->cap_permitted };
  size_t i, k;

  if (names == NULL || names[0] == NULL)
    return;
  spec->has_caps = true;
  for (k = 0; k < sizeof sets / sizeof sets[0]; k++)
    for (i = 0; names[i]; i++)
      {
        size_t j;
        bool have = false;
        for (j = 0; *sets[k] && (*sets[k])[j]; j++)
          have = have || strcmp ((*sets[k])[j], names[i]) == 0;
        if (*sets[k] == NULL)
          *sets[k] = hutch_xmalloc0 (sizeof (char *));
        if (!have)
          hutch_strv_push (sets[k], hutch_xstrdup (names[i]));
      }
}

/* The process object of FILE, or NULL.  */
static json_t *
read_process_file (const char *path, hutch_error_t *err)
{
  json_error_t jerr;
  json_t *p = json_load_file (path, JSON_REJECT_DUPLICATES, &jerr);

  if (p == NULL)
    {
      hutch_error_set (err, 0, "--process `%s`: line %d, column %d: %s", path, jerr.line,
                       jerr.column, jerr.text);
      return NULL;
    }
  if (!json_is_object (p))
    {
      json_decref (p);
      hutch_error_set (err, 0, "--process `%s` must hold a JSON object (an OCI process)", path);
      return NULL;
    }
  return p;
}

/* Once the exec'd process runs: its terminal to the console socket, its
   pid to the pid file.  */
static int
exec_running (void *data, pid_t pid, int master, hutch_error_t *err)
{
  const struct hutch_oci_exec *o = data;
  int r = 0;

  if (master >= 0)
    {
      r = send_console (o->console_socket, master, err);
      close (master);
    }
  if (r == 0 && o->pid_file)
    r = write_pid_file (o->pid_file, pid, err);
  return r;
}

int
hutch_oci_exec (int rootfd, const struct hutch_oci_exec *o, int *ret_status, hutch_error_t *err)
{
  _cleanup_close_ int dirfd = -1;
  _cleanup_spec_ struct hutch_spec *spec = NULL;
  _cleanup_strv_ char **argv = NULL;
  struct hutch_exec x = { 0 };
  struct hutch_state st;
  json_t *process = NULL;
  const char *status;
  int r = -1;
  bool have;

  if (read_state (rootfd, o->id, &dirfd, &st, &have, err) < 0)
    return -1;
  status = status_of (&st, have);
  if (strcmp (status, "running") != 0 && strcmp (status, "created") != 0)
    {
      hutch_error_set (err, 0,
                       strcmp (status, "paused") == 0
                           ? "cannot exec in container `%s`: it is paused (resume it first)"
                           : "cannot exec in container `%s`: container not running",
                       o->id);
      goto out;
    }
  if (o->process_file && (process = read_process_file (o->process_file, err)) == NULL)
    goto out;
  r = hutch_spec_load_saved_process (dirfd, process, &spec, err);
  if (process)
    json_decref (process);
  if (r < 0)
    goto out;
  r = -1;
  if (o->process_file)
    argv = hutch_strv_dup (spec->args);
  else
    argv = hutch_strv_dup (o->argv);
  if (argv == NULL || argv[0] == NULL)
    {
      hutch_error_set (err, 0, "no command to run: give one after the id, or --process");
      goto out;
    }
  add_caps (spec, o->caps);
  if (o->no_new_privs)
    spec->no_new_privileges = true;
  x.pid = st.pid;
  x.pid_start = st.pid_start;
  x.spec = spec;
  x.cgroup = st.cgroup;
  x.argv = argv;
  x.env = o->env;
  x.workdir = o->cwd;
  x.has_user = o->has_user;
  x.uid = o->uid;
  x.gid = o->gid;
  x.groups = o->groups;
  x.n_groups = o->n_groups;
  /* With --process, the options given beside it are taken over it (podman
     says --tty beside the file's terminal).  */
  x.tty = o->tty || (o->process_file && spec->terminal);
  x.interactive = true;
  x.keep_child = o->detach;
  x.preserve_fds = o->preserve_fds;
  if (check_preserved_fds (x.preserve_fds, err) < 0)
    goto out;
  x.running = exec_running;
  x.running_data = (void *)o;
  if (x.tty && o->detach && o->console_socket == NULL)
    {
      hutch_error_set (err, 0,
                       "a terminal for a process that outlives this command needs "
                       "--console-socket, where its master is sent");
      goto out;
    }
  x.hand_master = x.tty && o->console_socket;
  r = hutch_container_exec (&x, ret_status, err);
out:
  hutch_state_clear (&st);
  return r;
}

/* The container's cgroup, for the commands that need one.  */
static int
need_cgroup (const char *id, const struct hutch_state *st, const char *what, hutch_error_t *err)
{
  if (st->cgroup)
    return 0;
  return hutch_error_set (err, 0,
                          "cannot %s container `%s`: it has no cgroup of its own (rootless, "
                          "hutch-oci makes one only where a cgroup v2 subtree is delegated to "
                          "the user, see hutch-run(1), LIMITS; or --cgroup-manager disabled)",
                          what, id);
}

int
hutch_oci_pause (int rootfd, const char *id, bool on, hutch_error_t *err)
{
  _cleanup_close_ int dirfd = -1;
  struct hutch_state st;
  const char *status;
  bool have;
  int r = -1;

  if (read_state (rootfd, id, &dirfd, &st, &have, err) < 0)
    return -1;
  status = status_of (&st, have);
  if (on && strcmp (status, "running") != 0)
    hutch_error_set (err, 0,
                     strcmp (status, "paused") == 0
                         ? "cannot pause container `%s`: it is paused already"
                         : "cannot pause container `%s`: container not running",
                     id);
  else if (!on && strcmp (status, "paused") != 0)
    hutch_error_set (err, 0,
                     strcmp (status, "running") == 0
                         ? "cannot resume container `%s`: container not paused"
                         : "cannot resume container `%s`: container not running",
                     id);
  else if (need_cgroup (id, &st, on ? "pause" : "resume", err) == 0)
    r = hutch_cgroup_freeze (st.cgroup, on, err);
  hutch_state_clear (&st);
  return r;
}

int
hutch_oci_update (int rootfd, const char *id, void *resources, const char *const *flags,
                  enum hutch_cgroup_manager manager, bool rootless, hutch_error_t *err)
{
  _cleanup_close_ int dirfd = -1;
  _cleanup_spec_ struct hutch_spec *spec = NULL;
  struct hutch_cgroup_request req = { 0 };
  struct hutch_resource *res = NULL;
  struct hutch_state st;
  const char *status;
  size_t n = 0;
  bool have;
  int r = -1;

  if (read_state (rootfd, id, &dirfd, &st, &have, err) < 0)
    return -1;
  status = status_of (&st, have);
  if (strcmp (status, "stopped") == 0 || strcmp (status, "creating") == 0)
    {
      hutch_error_set (err, 0, "cannot update container `%s`: container not running", id);
      goto out;
    }
  if (need_cgroup (id, &st, "update", err) < 0 || hutch_spec_load_saved (dirfd, &spec, err) < 0
      || hutch_cgroup_path_from_oci (spec->cgroups_path, manager, id, rootless, &req, err) < 0)
    goto out;
  if (resources)
    r = hutch_resources_update_from_oci (resources, st.cgroup, &res, &n, err);
  else
    r = hutch_resources_update_from_flags (flags, st.cgroup, &res, &n, err);
  if (r == 0)
    r = hutch_cgroup_update (st.cgroup, &req, res, n, err);
out:
  hutch_resources_free (res, n);
  hutch_cgroup_request_clear (&req);
  hutch_state_clear (&st);
  return r;
}
