/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_ROOTEMU_PRIVATE_H
#define HUTCH_ROOTEMU_PRIVATE_H

/* Shared by rootemu.c (the filter, the loop, the caller's memory),
   rootemu-creds.c (ids and groups) and rootemu-files.c (owners, stat,
   device nodes).  */

#include <linux/seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* One notification being answered.  */
struct emu_call
{
  const struct seccomp_notif *req;
  int listener;
  int procfd;
  pid_t tid; /* the calling thread, in the handler's pid namespace */
  /* From /proc/TID/status, read once when asked for (emu_status).  */
  bool have_status;
  bool have_caps; /* cap_eff known from capget (emu_has_cap) */
  pid_t tgid, ppid;
  pid_t own_tid; /* the caller's thread id in its own pid namespace */
  uint64_t cap_eff;
  mode_t umask;
  int world; /* emu_world's answer */
  /* The thread's slot in emu_world's cache for where its ids come from
     (rootemu-creds.c): -1 not known yet, 0 root's, else the thread group
     whose entry holds them; NULL when the thread is not cached.  */
  pid_t *creds_from;
};

/* The answer: a value, an errno, or "let the kernel run the call as it
   was made" (SECCOMP_USER_NOTIF_FLAG_CONTINUE).  */
enum emu_kind
{
  EMU_VALUE,
  EMU_ERROR,
  EMU_CONTINUE,
};
struct emu_answer
{
  enum emu_kind kind;
  int64_t val;
  int error;
};

#define EMU_ANSWER_VALUE(v) ((struct emu_answer){ EMU_VALUE, (v), 0 })
#define EMU_ANSWER_ERROR(e) ((struct emu_answer){ EMU_ERROR, -1, (e) })
#define EMU_ANSWER_CONTINUE ((struct emu_answer){ EMU_CONTINUE, 0, 0 })

/* Where the caller is, against the handler: EMU_WORLD_NS when it is in
   the handler's user and mount namespaces (the container's), with
   EMU_WORLD_ROOT when its root is the handler's too (not a chroot).
   Kept per thread (see rootemu.c).  */
#define EMU_WORLD_NS 1
#define EMU_WORLD_ROOT 2
int emu_world (struct emu_call *c);

/* /proc/PID/status (at most SIZE - 1 bytes, NUL-terminated) through the
   handler's PROCFD; -errno.  */
int emu_read_status (int procfd, pid_t pid, char *buf, size_t size);
/* Whether the process or thread of PIDFD still runs.  */
bool emu_pidfd_alive (int pidfd);

/* Read the caller's status; -errno when it is gone.  */
int emu_status (struct emu_call *c);
bool emu_has_cap (struct emu_call *c, int cap);
/* Whether the notification is still pending: its thread is alive and
   blocked in the call, so its pid and memory are still its own.  */
bool emu_valid (const struct emu_call *c);
/* The caller's memory, through /proc/TID/mem opened once and checked with
   emu_valid after opening (the TOCTOU rule of seccomp_unotify(2)).  */
int emu_read (struct emu_call *c, uint64_t addr, void *buf, size_t len);
int emu_write (struct emu_call *c, uint64_t addr, const void *buf, size_t len);
/* A NUL-terminated string of at most SIZE bytes with the NUL.  */
int emu_read_string (struct emu_call *c, uint64_t addr, char *buf, size_t size);

/* Ids: the caller's emulated credentials.  */
struct emu_creds
{
  uid_t ruid, euid, suid, fsuid;
  gid_t rgid, egid, sgid, fsgid;
  gid_t *groups; /* NULL: never set, the real list stands */
  size_t n_groups;
  /* The effective euid went from 0 to another: the kernel would have
     emptied the effective capability set (setuid(2)), which stays so
     until the euid is 0 again or capset raises it.  */
  bool caps_dropped;
};
void emu_creds_init (void);
/* The caller's credentials (its own, its nearest ancestor's, or root's);
   valid until the next call into the table.  */
const struct emu_creds *emu_creds_of (struct emu_call *c);
struct emu_answer emu_creds_call (struct emu_call *c);
/* Whether the caller may use CAP as far as it was told: the capability is
   in its effective set and its emulated ids have not dropped it.  */
bool emu_creds_capable (struct emu_call *c, const struct emu_creds *cr, int cap);
bool emu_creds_handles (int nr);

/* Files.  */
void emu_files_init (void);
struct emu_answer emu_files_call (struct emu_call *c);
bool emu_files_handles (int nr);

#endif
