/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* How a worker comes to see a container's tree (front/ctrfs.h says why it
   is done so), and export, which is only that and a tar.  */

#include "base/syscalls.h"
#include "front/ctrfs-private.h"
#include "base/util.h"
#include "base/walk.h"
#include "image/driver.h"
#include "image/image.h"
#include "image/unpack.h"
#include "runtime/mount.h"
#include "runtime/nsexec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- planning a view --------------------------------------------------- */

static bool
is_running (const struct hutch_state *st)
{
  return (st->status == HUTCH_STATE_RUNNING || st->status == HUTCH_STATE_PAUSED) && st->pid > 0;
}

/* A pidfd of the container's first process, when it still is the one the
   state recorded: the pidfd is opened first and the start time checked
   after, so that the pidfd cannot be of a process that took the pid
   since.  -1 when it is gone.  */
static int
open_pidfd (const struct hutch_state *st)
{
  int fd = (int)syscall (SYS_pidfd_open, st->pid, 0);

  if (fd < 0)
    return -1;
  if (!hutch_state_pid_alive (st->pid, st->pid_start))
    {
      close (fd);
      return -1;
    }
  return fd;
}

/* Whether DIR has any entry: the vfs driver's copy in merged/ (an
   overlay's merged/ is an empty mount point on the host).  */
static bool
has_entries (const char *dir)
{
  DIR *d = opendir (dir);
  struct dirent *de;
  bool any = false;

  while (d && !any && (de = readdir (d)) != NULL)
    any = strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0;
  if (d)
    closedir (d);
  return any;
}

/* The layer directories of C's image, topmost first.  */
static int
image_layers (const struct hutch_ctr *c, char ***ret, hutch_error_t *err)
{
  _cleanup_store_ struct hutch_store *s = NULL;
  struct hutch_image img;
  char **v = NULL;
  size_t i;

  if (hutch_image_store_open (c->root, &s, err) < 0)
    return -1;
  if (hutch_store_find_by_digest (s, c->image_id, &img, err) < 0)
    return hutch_error_set (err, 0,
                            "the image of container %s (%s) is no longer in the store; it was "
                            "removed with `hutch rmi -f`",
                            c->name, c->image_id);
  for (i = img.n_layers; i-- > 0;)
    {
      _cleanup_free_ char *l = hutch_store_layer_path (s, img.layers[i].diff_id);
      hutch_strv_push (&v, hutch_xasprintf ("%s/diff", l));
    }
  hutch_image_clear (&img);
  if (v == NULL)
    return hutch_error_set (err, 0, "the image of container %s has no layer", c->name);
  *ret = v;
  return 0;
}

/* A stopped container of an image: its overlay, read-only (the upper
   directory as one more lower layer, so that nothing of it can change) or
   writable.  */
static int
plan_overlay (const struct hutch_ctr *c, bool write, struct ctrfs_view *v, hutch_error_t *err)
{
  _cleanup_strv_ char **layers = NULL;
  _cleanup_free_ char *scratch = hutch_xasprintf ("%s/tmp", c->root), *why = NULL;
  enum hutch_driver_choice driver;
  char *fuse = NULL;
  size_t i, n;

  if (image_layers (c, &layers, err) < 0)
    return -1;
  if (hutch_storage_choose (c->storage_driver, scratch, &driver, &fuse, &why, err) < 0)
    return -1;
  if (driver == HUTCH_STORAGE_VFS)
    {
      free (fuse);
      return hutch_error_set (err, 0,
                              "container %s has no copy of its image to read (vfs storage driver), "
                              "and its overlay cannot be mounted: %s",
                              c->name, why);
    }
  n = hutch_strv_len (layers);
  v->ov.lower = hutch_xmalloc0 ((n + 2) * sizeof (char *));
  i = 0;
  if (!write)
    v->ov.lower[i++] = hutch_xasprintf ("%s/upper", c->dir);
  memcpy (v->ov.lower + i, layers, n * sizeof (char *));
  free (layers);
  layers = NULL;
  if (write)
    {
      v->ov.upper = hutch_xasprintf ("%s/upper", c->dir);
      v->ov.work = hutch_xasprintf ("%s/work", c->dir);
    }
  v->ov.driver = driver == HUTCH_STORAGE_OVERLAY ? HUTCH_DRIVER_OVERLAY : HUTCH_DRIVER_FUSE;
  v->kind = driver == HUTCH_STORAGE_OVERLAY ? CTRFS_VIEW_OVERLAY : CTRFS_VIEW_FUSE;
  v->ov.mountpoint = hutch_xasprintf ("%s/merged", c->dir);
  v->ov.fuse_program = fuse;
  return 0;
}

int
ctrfs_refuse_image_file (const struct hutch_ctr *c, const char *what, hutch_error_t *err)
{
  if (c->image_id || c->rootfs || c->image == NULL)
    return 0;
  return hutch_error_set (err, 0,
                          "container %s runs the squashfs image file `%s`, whose files are not in "
                          "the store: %s works on containers of an image of the store or of a "
                          "--rootfs directory (`hutch load` or `hutch pull` puts the image in the "
                          "store)",
                          c->name, c->image, what);
}

int
ctrfs_view_open (const struct hutch_ctr *c, const struct hutch_state *st, const char *what,
                 bool write, struct ctrfs_view *ret, hutch_error_t *err)
{
  struct hutch_state now;
  _cleanup_free_ char *merged = NULL;

  memset (ret, 0, sizeof *ret);
  ret->pidfd = ret->lockfd = -1;
  ret->name = c->name;
  if (ctrfs_refuse_image_file (c, what, err) < 0)
    return -1;
  if (c->image_id == NULL && c->rootfs == NULL)
    return hutch_error_set (err, 0,
                            "container %s is a sandbox of the host's own files: it has no file "
                            "system of its own for %s; %s works on containers of an image or of "
                            "a --rootfs directory",
                            c->name, what, what);
  if (is_running (st) && (ret->pidfd = open_pidfd (st)) >= 0)
    {
      ret->kind = CTRFS_VIEW_JOIN;
      return 0;
    }
  /* Stopped: hold its command lock, so that it cannot start while its
     overlay is mounted here; it may have started before we had it.  */
  if (hutch_ctr_lock (c, what, 10000, &ret->lockfd, err) < 0)
    return -1;
  hutch_state_init (&now);
  if (hutch_ctr_state (c, &now, err) < 0)
    {
      ctrfs_view_close (ret);
      return -1;
    }
  if (is_running (&now) && (ret->pidfd = open_pidfd (&now)) >= 0)
    {
      hutch_state_clear (&now);
      close (ret->lockfd);
      ret->lockfd = -1;
      ret->kind = CTRFS_VIEW_JOIN;
      return 0;
    }
  hutch_state_clear (&now);
  if (c->rootfs)
    {
      ret->kind = CTRFS_VIEW_DIR;
      ret->dir = hutch_xstrdup (c->rootfs);
      return 0;
    }
  merged = hutch_xasprintf ("%s/merged", c->dir);
  if (has_entries (merged))
    {
      ret->kind = CTRFS_VIEW_DIR;
      ret->dir = HUTCH_STEAL_PTR (merged);
      return 0;
    }
  if (plan_overlay (c, write, ret, err) < 0)
    {
      ctrfs_view_close (ret);
      return -1;
    }
  return 0;
}

void
ctrfs_view_close (struct ctrfs_view *v)
{
  if (v->pidfd >= 0)
    close (v->pidfd);
  if (v->lockfd >= 0)
    close (v->lockfd);
  hutch_strv_free (v->ov.lower);
  free (v->ov.upper);
  free (v->ov.work);
  free (v->ov.mountpoint);
  free (v->ov.fuse_program);
  free (v->dir);
  memset (v, 0, sizeof *v);
  v->pidfd = v->lockfd = -1;
}

/* ---- workers ----------------------------------------------------------- */

struct reply
{
  int ret;
  int errnum;
  char text[4000];
};

struct ctrfs_job
{
  struct hutch_userns_job *ns; /* a stopped container's: a new user namespace */
  pid_t pid;                   /* a running one's: ours, in its namespaces */
  int back;
};

/* Receive one fd over SOCK.  */
static int
recv_fd (int sock)
{
  char c;
  struct iovec iov = { &c, 1 };
  union
  {
    struct cmsghdr h;
    char buf[CMSG_SPACE (sizeof (int))];
  } u;
  struct msghdr m
      = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  struct cmsghdr *h;
  int fd;

  if (recvmsg (sock, &m, MSG_CMSG_CLOEXEC) != 1)
    return -1;
  h = CMSG_FIRSTHDR (&m);
  if (h == NULL || h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS
      || h->cmsg_len != CMSG_LEN (sizeof (int)))
    {
      errno = EPROTO;
      return -1;
    }
  memcpy (&fd, CMSG_DATA (h), sizeof fd);
  return fd;
}

static int
send_fd (int sock, int fd)
{
  char c = 'r';
  struct iovec iov = { &c, 1 };
  union
  {
    struct cmsghdr h;
    char buf[CMSG_SPACE (sizeof (int))];
  } u;
  struct msghdr m
      = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  struct cmsghdr *h = CMSG_FIRSTHDR (&m);

  h->cmsg_level = SOL_SOCKET;
  h->cmsg_type = SCM_RIGHTS;
  h->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (h), &fd, sizeof fd);
  return sendmsg (sock, &m, 0) == 1 ? 0 : -1;
}

/* In the worker, now in the container's user namespace: the container's
   "/", from a child that joins its mount namespace only to open it.  That
   child does nothing else (it runs no code that could load anything from
   the container's files) and exits; the worker, which reads and writes
   the files, stays in the host's mount namespace.  */
static int
join_root (int pidfd, const char *name, hutch_error_t *err)
{
  int sv[2], fd, st = 0;
  pid_t pid;

  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return hutch_error_set (err, errno, "socketpair");
  pid = fork ();
  if (pid < 0)
    {
      close (sv[0]);
      close (sv[1]);
      return hutch_error_set (err, errno, "fork");
    }
  if (pid == 0)
    {
      int root;
      close (sv[0]);
      prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
      if (setns (pidfd, CLONE_NEWNS) < 0)
        _exit (10);
      root = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (root < 0 || send_fd (sv[1], root) < 0)
        _exit (11);
      _exit (0);
    }
  close (sv[1]);
  fd = recv_fd (sv[0]);
  close (sv[0]);
  while (waitpid (pid, &st, 0) < 0 && errno == EINTR)
    ;
  if (fd >= 0)
    return fd;
  if (WIFEXITED (st) && WEXITSTATUS (st) == 10)
    return hutch_error_set (err, 0,
                            "cannot join the mount namespace of container %s (it may have just "
                            "ended)",
                            name);
  return hutch_error_set (err, 0, "cannot open the root of container %s", name);
}

/* The worker of a running container, between fork and _exit.  */
static void __attribute__ ((noreturn))
join_child (const struct ctrfs_view *v, ctrfs_fn fn, void *arg, const int *keep, size_t n_keep,
            int back, pid_t parent)
{
  struct reply rep = { 0 };
  hutch_error_t e = HUTCH_ERROR_INIT;
  int *k = hutch_xmalloc0 ((n_keep + 2) * sizeof *k), rootfd;

  memcpy (k, keep, n_keep * sizeof *k);
  k[n_keep] = back;
  k[n_keep + 1] = v->pidfd;
  hutch_close_all_but (k, n_keep + 2);
  free (k);
  if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid () != parent)
    _exit (1);
  /* Not dumpable: the container's processes share our user namespace from
     now on, and must not ptrace us or read our memory through /proc (they
     do not see us anyway: we are not in their PID namespace).  runc's
     CVE-2016-9962.  */
  prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);
  /* EINVAL: the container's user namespace is ours already (hutch run
     as root without one).  */
  if (setns (v->pidfd, CLONE_NEWUSER) < 0 && errno != EINVAL)
    rep.ret
        = hutch_error_set (&e, errno, "cannot join the user namespace of container %s", v->name);
  else
    {
      /* Its root, where its map has one (hutch's maps give it the
         user's own id); else what the user is in there, with every
         capability of the namespace all the same.  */
      if (setresgid (0, 0, 0) == 0)
        setresuid (0, 0, 0);
      rootfd = join_root (v->pidfd, v->name, &e);
      rep.ret = rootfd < 0 ? -1 : fn (arg, rootfd, &e);
    }
  if (rep.ret < 0)
    {
      rep.errnum = e.errnum;
      snprintf (rep.text, sizeof rep.text, "%s", e.msg ? e.msg : "unknown error");
    }
  if (hutch_write_all (back, &rep, sizeof rep) < 0)
    _exit (1);
  _exit (0);
}

struct userns_call
{
  const struct ctrfs_view *v;
  ctrfs_fn fn;
  void *arg;
};

/* Mounted in the worker, stopped containers: fuse-overlayfs.  */
static int
fuse_root (const struct ctrfs_view *v, pid_t *ret_pid, hutch_error_t *err)
{
  pid_t pid;
  int fd;

  /* Our mount stays in this namespace.  */
  if (mount ("", "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
    return hutch_error_set (err, errno, "make the mount namespace private");
  pid = hutch_overlay_start_fuse (&v->ov, err);
  if (pid < 0)
    return -1;
  fd = open (v->ov.mountpoint, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    {
      kill (pid, SIGKILL);
      waitpid (pid, NULL, 0);
      return hutch_error_set (err, errno, "open `%s`", v->ov.mountpoint);
    }
  *ret_pid = pid;
  return fd;
}

static void
fuse_end (const struct ctrfs_view *v, pid_t pid)
{
  int i;

  /* Unmounted, so that fuse-overlayfs writes what it holds and ends.  */
  umount2 (v->ov.mountpoint, 0);
  for (i = 0; i < 5000; i++)
    {
      if (waitpid (pid, NULL, WNOHANG) == pid)
        return;
      usleep (1000);
    }
  kill (pid, SIGKILL);
  waitpid (pid, NULL, 0);
}

/* The worker of a stopped container, root of a new user namespace with
   the user's default map (runtime/nsexec.h).  */
static int
userns_fn (void *arg, char *out, size_t out_len, hutch_error_t *err)
{
  struct userns_call *call = arg;
  const struct ctrfs_view *v = call->v;
  pid_t fuse = -1;
  int rootfd = -1, r;

  (void)out;
  (void)out_len;
  switch (v->kind)
    {
    case CTRFS_VIEW_DIR:
      rootfd = open (v->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (rootfd < 0)
        return hutch_error_set (err, errno, "open the root of container %s, `%s`", v->name, v->dir);
      break;
    case CTRFS_VIEW_OVERLAY:
      /* Detached, never attached: no path anywhere leads to it.  The new
         mount namespace is only what fsopen requires (one that this user
         namespace owns); it is the host's otherwise.  */
      if (unshare (CLONE_NEWNS) < 0)
        return hutch_error_set (err, errno, "create a mount namespace");
      rootfd = hutch_overlay_mount (&v->ov, err);
      if (rootfd < 0)
        return -1;
      break;
    case CTRFS_VIEW_FUSE:
      if (unshare (CLONE_NEWNS) < 0)
        return hutch_error_set (err, errno, "create a mount namespace");
      rootfd = fuse_root (v, &fuse, err);
      if (rootfd < 0)
        return -1;
      break;
    case CTRFS_VIEW_JOIN:
    default:
      return hutch_error_set (err, EINVAL, "no view of container %s", v->name);
    }
  r = call->fn (call->arg, rootfd, err);
  close (rootfd);
  if (fuse > 0)
    fuse_end (v, fuse);
  return r;
}

int
ctrfs_job_start (const struct ctrfs_view *v, ctrfs_fn fn, void *arg, const int *keep, size_t n_keep,
                 struct ctrfs_job **ret, hutch_error_t *err)
{
  struct ctrfs_job *j = hutch_xmalloc0 (sizeof *j);
  int back[2];
  pid_t parent = getpid ();

  j->back = -1;
  /* Loaded here, before any namespace: it must come from the host.  */
  hutch_unpack_preload ();
  if (v->kind != CTRFS_VIEW_JOIN)
    {
      struct userns_call call = { v, fn, arg };
      /* CALL is read by the child, a copy of this process made in there.  */
      if (hutch_userns_start (userns_fn, &call, keep, n_keep, &j->ns, err) < 0)
        {
          free (j);
          return -1;
        }
      *ret = j;
      return 0;
    }
  if (pipe2 (back, O_CLOEXEC) < 0)
    {
      free (j);
      return hutch_error_set (err, errno, "pipe");
    }
  j->pid = fork ();
  if (j->pid < 0)
    {
      close (back[0]);
      close (back[1]);
      free (j);
      return hutch_error_set (err, errno, "fork");
    }
  if (j->pid == 0)
    join_child (v, fn, arg, keep, n_keep, back[1], parent);
  close (back[1]);
  j->back = back[0];
  *ret = j;
  return 0;
}

int
ctrfs_job_finish (struct ctrfs_job *j, hutch_error_t *err)
{
  struct reply rep = { 0 };
  ssize_t n;
  int st = 0;

  if (j->ns)
    {
      int r = hutch_userns_finish (j->ns, NULL, 0, err);
      free (j);
      return r;
    }
  n = hutch_read_all (j->back, &rep, sizeof rep);
  while (waitpid (j->pid, &st, 0) < 0 && errno == EINTR)
    ;
  close (j->back);
  free (j);
  if (n != (ssize_t)sizeof rep)
    return hutch_error_set (err, 0, "the worker in the container's namespaces died (status %d)",
                            st);
  if (rep.ret < 0)
    {
      rep.text[sizeof rep.text - 1] = '\0';
      hutch_error_set (err, 0, "%s", rep.text);
      err->errnum = rep.errnum;
      return -1;
    }
  return rep.ret;
}

void
ctrfs_job_cancel (struct ctrfs_job *j)
{
  if (j == NULL)
    return;
  if (j->ns)
    hutch_userns_cancel (j->ns);
  else
    {
      kill (j->pid, SIGKILL);
      while (waitpid (j->pid, NULL, 0) < 0 && errno == EINTR)
        ;
      close (j->back);
    }
  free (j);
}

/* ---- export ------------------------------------------------------------ */

struct export_job
{
  int fd;
  unsigned long skipped;
};

int
ctrfs_tar_tree (int fd, int dirfd, const char *name, const char *arcname, const char *where,
                bool xattrs, hutch_error_t *err)
{
  struct hutch_layer_write_opts o
      = { .clamp_time = -1, .no_xattrs = !xattrs, .no_digests = true, .where = where };
  struct hutch_layer_writer *w = NULL;

  if (hutch_layer_writer_open (fd, &o, &w, err) < 0)
    return -1;
  if (hutch_layer_writer_add_tree (w, dirfd, name, arcname, err) < 0)
    {
      hutch_layer_writer_abort (w);
      return -1;
    }
  return hutch_layer_writer_finish (w, NULL, err);
}

static int
export_fn (void *arg, int rootfd, hutch_error_t *err)
{
  struct export_job *x = arg;

  return ctrfs_tar_tree (x->fd, rootfd, "", "", "the container", true, err);
}

int
hutch_ctrfs_export (const struct hutch_ctr *c, const struct hutch_state *st, int fd,
                    hutch_error_t *err)
{
  struct ctrfs_view v;
  struct export_job x = { .fd = fd };
  struct ctrfs_job *j = NULL;
  int r;

  if (ctrfs_view_open (c, st, "export", false, &v, err) < 0)
    return -1;
  r = ctrfs_job_start (&v, export_fn, &x, &fd, 1, &j, err);
  if (r == 0 && ctrfs_job_finish (j, err) < 0)
    r = hutch_error_prefix (err, "export container %s", c->name);
  ctrfs_view_close (&v);
  return r < 0 ? -1 : 0;
}
