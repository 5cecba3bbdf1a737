/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* Root emulation (rootemu.h): the notifying filter, the handler's loop,
   and what every answer needs: the caller's status and memory.

   The handler trusts nothing a notification carries: the pid may be gone
   and reused by the time it looks (so /proc/TID/mem is opened first and
   the notification checked after, before anything read through it is
   used), and the caller's memory may change under it (a string is read
   once, into the handler's own buffer, and only that copy is used).  */

#include "runtime/rootemu.h"
#include "runtime/rootemu-private.h"
#include "runtime/sysfilter.h"
#include "runtime/sysfilter-private.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW (4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

/* The calls the filter hands over.  mknod and mknodat only for device
   nodes (below); the others always.  */
static const char *const notified[] = {
  "chown",
  "fchown",
  "lchown",
  "fchownat",
  "setuid",
  "setgid",
  "setreuid",
  "setregid",
  "setresuid",
  "setresgid",
  "setfsuid",
  "setfsgid",
  "setgroups",
  "getuid",
  "geteuid",
  "getgid",
  "getegid",
  "getresuid",
  "getresgid",
  "getgroups",
  "capset",
  "stat",
  "lstat",
  "fstat",
  "newfstatat",
  "statx",
  /* Only so that the handler forgets which callers share its root and
     mount namespace: they go on to the kernel.  */
  "chroot",
  "pivot_root",
  "unshare",
  "setns",
};

static int
add_device_rules (scmp_filter_ctx ctx, const char *name, unsigned int arg, hutch_error_t *err)
{
  static const mode_t kinds[] = { S_IFCHR, S_IFBLK };
  size_t i;

  for (i = 0; i < 2; i++)
    {
      struct scmp_arg_cmp cmp = { arg, SCMP_CMP_MASKED_EQ, S_IFMT, kinds[i] };
      if (hutch_sc_add (ctx, SCMP_ACT_ALLOW, name, SCMP_ACT_NOTIFY, 1, &cmp, err) < 0)
        return -1;
    }
  return 0;
}

int
hutch_rootemu_filter (struct hutch_seccomp **ret, hutch_error_t *err)
{
  scmp_filter_ctx ctx;
  size_t i;
  int r = -1;

  /* API level 5: user notification in libseccomp and the kernel.  */
  if (seccomp_api_get () < 5)
    return hutch_error_set (err, ENOSYS,
                            "root emulation needs seccomp user notification (Linux 5.5 and "
                            "libseccomp 2.5); use a subordinate id range instead: ask an "
                            "administrator for one (see hutch info)");
  ctx = seccomp_init (SCMP_ACT_ALLOW);
  if (ctx == NULL)
    return hutch_error_set (err, ENOMEM, "seccomp: cannot make the root emulation filter");
  /* Other architectures (int $0x80 on x86_64) pass this filter: the
     container's own filter answers them as before.  The handler only
     knows the native calls' arguments.  */
  if (seccomp_attr_set (ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW) < 0
      || seccomp_attr_set (ctx, SCMP_FLTATR_CTL_NNP, 0) < 0)
    {
      hutch_error_set (err, EINVAL, "seccomp: libseccomp refused the filter's attributes");
      goto out;
    }
  for (i = 0; i < sizeof notified / sizeof notified[0]; i++)
    if (hutch_sc_add (ctx, SCMP_ACT_ALLOW, notified[i], SCMP_ACT_NOTIFY, 0, NULL, err) < 0)
      goto out;
  if (add_device_rules (ctx, "mknod", 1, err) < 0 || add_device_rules (ctx, "mknodat", 2, err) < 0)
    goto out;
  r = hutch_sc_export (ctx, SCMP_ACT_ALLOW, SECCOMP_FILTER_FLAG_NEW_LISTENER, ret, err);
out:
  seccomp_release (ctx);
  return r;
}

/* ---- the caller --------------------------------------------------------- */

int
emu_read_status (int procfd, pid_t pid, char *buf, size_t size)
{
  char path[64];
  _cleanup_close_ int fd = -1;
  ssize_t n;

  snprintf (path, sizeof path, "%d/status", (int)pid);
  fd = openat (procfd, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  n = read (fd, buf, size - 1);
  if (n <= 0)
    return n < 0 ? -errno : -ESRCH;
  buf[n] = '\0';
  return 0;
}

bool
emu_pidfd_alive (int pidfd)
{
  struct pollfd p = { pidfd, POLLIN, 0 };
  return poll (&p, 1, 0) == 0;
}

int
emu_status (struct emu_call *c)
{
  char buf[4096], *line, *save = NULL;
  int r;

  if (c->have_status)
    return 0;
  r = emu_read_status (c->procfd, c->tid, buf, sizeof buf);
  if (r < 0)
    return r;
  c->tgid = c->ppid = -1;
  for (line = strtok_r (buf, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      unsigned long long v;
      unsigned int u;
      if (sscanf (line, "Tgid: %llu", &v) == 1)
        c->tgid = (pid_t)v;
      else if (sscanf (line, "PPid: %llu", &v) == 1)
        c->ppid = (pid_t)v;
      else if (strncmp (line, "NSpid:", 6) == 0)
        {
          /* The last is the innermost namespace's: the caller's own.  */
          const char *last = strrchr (line, '\t');
          c->own_tid = (pid_t)strtol (last ? last + 1 : line + 6, NULL, 10);
        }
      else if (sscanf (line, "CapEff: %llx", &v) == 1)
        c->cap_eff = v;
      else if (sscanf (line, "Umask: %o", &u) == 1)
        c->umask = (mode_t)u;
    }
  if (c->tgid <= 0 || c->ppid < 0)
    return -ESRCH;
  /* What was read is the caller's only if the caller still waits.  */
  if (!emu_valid (c))
    return -ESRCH;
  c->have_status = true;
  return 0;
}

bool
emu_has_cap (struct emu_call *c, int cap)
{
  /* capget(2) of the thread, cheaper than its status file.  Should the
     thread be gone and its id taken, the answer goes nowhere: the
     notification is dead, and so is its reply.  */
  if (!c->have_status && !c->have_caps)
    {
      struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, c->tid };
      struct __user_cap_data_struct d[2];
      if (syscall (SYS_capget, &h, d) < 0)
        return false;
      c->cap_eff = d[0].effective | ((uint64_t)d[1].effective << 32);
      c->have_caps = true;
    }
  return (c->cap_eff & (1ULL << cap)) != 0;
}

bool
emu_valid (const struct emu_call *c)
{
  uint64_t id = c->req->id;
  return ioctl (c->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

/* Reading goes through process_vm_readv, checked after: what was read
   is the caller's when the notification is still pending afterwards (the
   rule of seccomp_unotify(2)); nothing read is used before that.  */
static ssize_t
read_at (struct emu_call *c, uint64_t addr, void *buf, size_t len)
{
  struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
  return process_vm_readv (c->tid, &local, 1, &remote, 1, 0);
}

int
emu_read (struct emu_call *c, uint64_t addr, void *buf, size_t len)
{
  if (read_at (c, addr, buf, len) != (ssize_t)len)
    return emu_valid (c) ? -EFAULT : -ESRCH;
  return emu_valid (c) ? 0 : -ESRCH;
}

/* Writing goes through process_vm_writev, which honours the caller's
   page protections as the kernel's own copy to user space would, after
   the notification is checked: the caller is then blocked in its call,
   so its pid is its own (a pid is reused only once the whole pid space
   has been gone through, and the caller cannot leave the call while we
   answer but by a fatal signal).  */
int
emu_write (struct emu_call *c, uint64_t addr, const void *buf, size_t len)
{
  struct iovec local = { (void *)buf, len }, remote = { (void *)(uintptr_t)addr, len };

  if (!emu_valid (c))
    return -ESRCH;
  if (process_vm_writev (c->tid, &local, 1, &remote, 1, 0) != (ssize_t)len)
    return -EFAULT;
  return 0;
}

int
emu_read_string (struct emu_call *c, uint64_t addr, char *buf, size_t size)
{
  size_t got = 0;

  if (addr == 0)
    return -EFAULT;
  /* Page by page: a string that ends just before an unmapped page must
     not fail because the rest of a longer read would.  */
  while (got < size)
    {
      size_t page = 4096 - (size_t)((addr + got) % 4096);
      size_t want = page < size - got ? page : size - got;
      ssize_t n = read_at (c, addr + got, buf + got, want);
      if (n <= 0)
        return emu_valid (c) ? -EFAULT : -ESRCH;
      if (memchr (buf + got, '\0', (size_t)n))
        return emu_valid (c) ? 0 : -ESRCH;
      got += (size_t)n;
    }
  return emu_valid (c) ? -ENAMETOOLONG : -ESRCH;
}

/* ---- where the caller is ---------------------------------------------- */

static dev_t root_dev;
static ino_t root_ino, mntns_ino, userns_ino;
static int world_procfd = -1;

static void
emu_world_init (int procfd)
{
  struct stat r, m, u;

  world_procfd = procfd;
  if (stat ("/", &r) < 0 || fstatat (procfd, "self/ns/mnt", &m, 0) < 0
      || fstatat (procfd, "self/ns/user", &u, 0) < 0)
    {
      world_procfd = -1; /* nothing is taken for the container's */
      return;
    }
  root_dev = r.st_dev;
  root_ino = r.st_ino;
  mntns_ino = m.st_ino;
  userns_ino = u.st_ino;
}

static int
check_world (struct emu_call *c)
{
  char path[64];
  struct stat st;

  if (world_procfd < 0)
    return 0;
  /* The user namespace first: a process in one of its own (unshare -U)
     has capabilities there that are not the container's.  */
  snprintf (path, sizeof path, "%d/ns/user", (int)c->tid);
  if (fstatat (c->procfd, path, &st, 0) < 0 || st.st_ino != userns_ino)
    return 0;
  snprintf (path, sizeof path, "%d/ns/mnt", (int)c->tid);
  if (fstatat (c->procfd, path, &st, 0) < 0 || st.st_ino != mntns_ino)
    return 0;
  snprintf (path, sizeof path, "%d/root", (int)c->tid);
  if (fstatat (c->procfd, path, &st, 0) < 0 || st.st_dev != root_dev || st.st_ino != root_ino)
    return EMU_WORLD_NS;
  return EMU_WORLD_NS | EMU_WORLD_ROOT;
}

/* The answers of check_world, per thread (a pidfd of each: a dead
   thread's answer is dropped, never taken by a new thread that got its
   id), all forgotten whenever a process changes its root or a namespace
   (chroot, pivot_root, unshare, setns come through the filter for this):
   checking costs a third of a stat's emulation otherwise.  */
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif
#define SEEN_MAX 256
static struct
{
  pid_t tid;
  int pidfd;
  int world;
  pid_t creds_from;
} seen[SEEN_MAX];
static size_t n_seen;

static bool
seen_alive (size_t i)
{
  return emu_pidfd_alive (seen[i].pidfd);
}

static void
seen_drop (size_t i)
{
  close (seen[i].pidfd);
  seen[i] = seen[--n_seen];
}

static void
emu_world_forget (void)
{
  while (n_seen > 0)
    seen_drop (n_seen - 1);
}

int
emu_world (struct emu_call *c)
{
  size_t i;
  int world, pidfd;

  for (i = 0; i < n_seen; i++)
    if (seen[i].tid == c->tid)
      {
        if (seen_alive (i))
          {
            c->creds_from = &seen[i].creds_from;
            return seen[i].world;
          }
        seen_drop (i);
        break;
      }
  world = check_world (c);
  /* Kept only when the pidfd is the caller's thread: checked after
     opening.  Without PIDFD_THREAD (Linux 6.9), nothing is kept.  */
  pidfd = (int)syscall (SYS_pidfd_open, c->tid, PIDFD_THREAD);
  if (pidfd < 0)
    return world;
  if (!emu_valid (c))
    {
      close (pidfd);
      return 0;
    }
  if (n_seen == SEEN_MAX)
    for (i = n_seen; i-- > 0;)
      if (!seen_alive (i))
        seen_drop (i);
  if (n_seen == SEEN_MAX)
    seen_drop (0);
  seen[n_seen].tid = c->tid;
  seen[n_seen].pidfd = pidfd;
  seen[n_seen].world = world;
  seen[n_seen].creds_from = -1;
  c->creds_from = &seen[n_seen].creds_from;
  n_seen++;
  return world;
}

/* ---- the loop ------------------------------------------------------------ */

static struct emu_answer
dispatch (struct emu_call *c)
{
  int nr = c->req->data.nr;

  if (c->req->data.arch != seccomp_arch_native ())
    return EMU_ANSWER_CONTINUE;
  if (nr == SYS_chroot || nr == SYS_pivot_root || nr == SYS_unshare || nr == SYS_setns)
    {
      emu_world_forget ();
      return EMU_ANSWER_CONTINUE;
    }
  /* A caller in a user or mount namespace of its own gets the kernel's
     answers: its capabilities and paths are not the container's.  */
  c->world = emu_world (c);
  if (!(c->world & EMU_WORLD_NS))
    return EMU_ANSWER_CONTINUE;
  if (emu_creds_handles (nr))
    return emu_creds_call (c);
  if (emu_files_handles (nr))
    return emu_files_call (c);
  return EMU_ANSWER_CONTINUE;
}

void
hutch_rootemu_serve (int listener, int procfd)
{
  struct seccomp_notif *req = NULL;
  struct seccomp_notif_resp *resp = NULL;
  unsigned int failures = 0;

  /* libseccomp learns what the kernel supports on first use.  */
  if (seccomp_api_get () < 5 || seccomp_notify_alloc (&req, &resp) < 0)
    return;
  emu_creds_init ();
  emu_files_init ();
  emu_world_init (procfd);
  /* A pidfd per process that changed its ids: as many fds as allowed.  */
  {
    struct rlimit rl;
    if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
      {
        rl.rlim_cur = rl.rlim_max;
        setrlimit (RLIMIT_NOFILE, &rl);
      }
  }
  /* The caller waits for us on every notified call: where the kernel can
     (Linux 6.6), it switches straight to us on the caller's CPU instead
     of waking us on another, which in a VM costs an idle CPU's wake-up
     (25 us rather than 3 per call, measured here).  */
  {
    uint64_t flags = SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP;
    (void)ioctl (listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, flags);
  }
  for (;;)
    {
      struct pollfd p = { listener, POLLIN, 0 };
      struct emu_call c;
      struct emu_answer a;

      if (poll (&p, 1, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      /* Hang-up: every process that had the filter is gone.  */
      if (!(p.revents & POLLIN))
        break;
      memset (req, 0, sizeof *req);
      errno = 0;
      if (seccomp_notify_receive (listener, req) < 0)
        {
          /* The caller died between poll and receive (ENOENT), or a
             signal came: nothing wrong.  A listener that fails otherwise,
             again and again, ends the loop.  */
          if (errno != ENOENT && errno != EINTR && ++failures > 1000)
            break;
          continue;
        }
      failures = 0;
      c = (struct emu_call){ .req = req, .listener = listener, .procfd = procfd };
      c.tid = (pid_t)req->pid;
      a = dispatch (&c);
      memset (resp, 0, sizeof *resp);
      resp->id = req->id;
      if (a.kind == EMU_CONTINUE)
        resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
      else if (a.kind == EMU_ERROR)
        resp->error = -a.error;
      else
        resp->val = a.val;
      /* ENOENT: the caller is gone (a fatal signal); nothing to answer.  */
      seccomp_notify_respond (listener, resp);
    }
  seccomp_notify_free (req, resp);
}
