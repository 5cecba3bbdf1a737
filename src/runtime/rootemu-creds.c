/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* Root emulation: the ids a process believes it has.  Its real ids never
   change (there is one id in the namespace); set*id and setgroups change
   an entry of this table, get*id and getgroups read it, with the kernel's
   rules for who may change what (setresuid(2)).

   The table is keyed by thread group, each entry holding a pidfd: while
   the pidfd says the process lives, its pid is its own, so a new process
   that got a dead one's pid never inherits its entry.  A process without
   an entry has its nearest ancestor's ids (what fork would have copied):
   exact for the usual order (fork, then the child changes ids), and for a
   parent that changed its ids before forking; a child whose parent died
   before it asked gets root's, as init's children do.  These are only
   the ids the container's processes are told: none of this changes what
   the kernel lets them do.  */

#include "runtime/rootemu-private.h"
#include "base/util.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct entry
{
  pid_t tgid;
  int pidfd;
  struct emu_creds creds;
};

static struct entry *table;
static size_t n_table, inserts;
static const struct emu_creds root_creds = { 0 };

#define MAX_GROUPS 65536
/* The handler runs outside the container's cgroup: what all entries
   hold of group lists is bounded (4 MiB), so that a container cannot
   make it hold what the container's memory limit would refuse.  */
#define MAX_GROUPS_HELD (1u << 20)
static size_t groups_held;
/* Entries, each with a pidfd: the handler raises its fd limit to the
   hard one, and keeps this many at most.  */
#define MAX_ENTRIES 8192
#define MAX_DEPTH 64

void
emu_creds_init (void)
{
  table = NULL;
  n_table = 0;
  groups_held = 0;
}

static void
drop (size_t i)
{
  close (table[i].pidfd);
  groups_held -= table[i].creds.n_groups;
  free (table[i].creds.groups);
  table[i] = table[--n_table];
}

static struct entry *
find_live (pid_t tgid)
{
  size_t i;
  for (i = 0; i < n_table; i++)
    if (table[i].tgid == tgid)
      {
        if (emu_pidfd_alive (table[i].pidfd))
          return &table[i];
        drop (i);
        return NULL;
      }
  return NULL;
}

static void
sweep (void)
{
  size_t i = 0;
  while (i < n_table)
    if (!emu_pidfd_alive (table[i].pidfd))
      drop (i);
    else
      i++;
}

static pid_t
parent_of (int procfd, pid_t pid)
{
  char buf[2048], *p;
  unsigned long long v;

  if (emu_read_status (procfd, pid, buf, sizeof buf) < 0)
    return -1;
  p = strstr (buf, "\nPPid:");
  if (p == NULL || sscanf (p + 6, "%llu", &v) != 1)
    return -1;
  return (pid_t)v;
}

/* Where the caller's ids come from: its own entry, its nearest
   ancestor's, or none (root's).  */
static const struct emu_creds *
resolve_creds (struct emu_call *c)
{
  struct entry *e;
  pid_t pid;
  int depth;

  /* A live entry whose thread group is the caller's id: the caller is
     that process's main thread (ids of live tasks are unique).  */
  e = find_live (c->tid);
  if (e)
    return &e->creds;
  if (emu_status (c) < 0)
    return &root_creds;
  e = find_live (c->tgid);
  if (e)
    return &e->creds;
  for (pid = c->ppid, depth = 0; pid > 1 && depth < MAX_DEPTH; depth++)
    {
      e = find_live (pid);
      if (e)
        return &e->creds;
      pid = parent_of (c->procfd, pid);
    }
  return &root_creds;
}

/* The answer is kept per thread (emu_world's cache): where a thread's
   ids come from is looked up once, when it first asks, not on each
   getuid (a status file and one per ancestor otherwise); its own entry,
   once it has one, and an entry that died are looked up again.  */
const struct emu_creds *
emu_creds_of (struct emu_call *c)
{
  const struct emu_creds *cr;
  struct entry *e;

  if (n_table == 0)
    return &root_creds;
  if (c->creds_from && *c->creds_from == 0)
    return &root_creds;
  if (c->creds_from && *c->creds_from > 0)
    {
      e = find_live (*c->creds_from);
      if (e)
        return &e->creds;
    }
  cr = resolve_creds (c);
  if (c->creds_from)
    {
      size_t i;
      *c->creds_from = 0;
      for (i = 0; cr != &root_creds && i < n_table; i++)
        if (&table[i].creds == cr)
          *c->creds_from = table[i].tgid;
    }
  return cr;
}

/* The caller's own entry, made from what it inherited when it has none.  */
static struct entry *
own_entry (struct emu_call *c, int *ret_err)
{
  struct emu_creds copy;
  const struct emu_creds *from;
  struct entry *e;
  int pidfd;

  e = find_live (c->tid);
  if (e == NULL && emu_status (c) < 0)
    {
      *ret_err = ESRCH;
      return NULL;
    }
  if (e == NULL)
    e = find_live (c->tgid);
  if (e)
    {
      if (c->creds_from)
        *c->creds_from = e->tgid;
      return e;
    }
  /* One entry (and pidfd) per live process that changed its ids: a
     bounded number, as the handler's fds are.  */
  if (n_table >= MAX_ENTRIES)
    sweep ();
  if (n_table >= MAX_ENTRIES)
    {
      *ret_err = EAGAIN;
      return NULL;
    }
  from = emu_creds_of (c);
  copy = *from;
  if (from->groups)
    {
      if (groups_held + from->n_groups > MAX_GROUPS_HELD)
        {
          *ret_err = ENOMEM;
          return NULL;
        }
      copy.groups = hutch_xmalloc0 ((from->n_groups + 1) * sizeof (gid_t));
      memcpy (copy.groups, from->groups, from->n_groups * sizeof (gid_t));
      groups_held += from->n_groups;
    }
  pidfd = (int)syscall (SYS_pidfd_open, c->tgid, 0);
  if (pidfd < 0 && (errno == EMFILE || errno == ENFILE))
    {
      sweep ();
      pidfd = (int)syscall (SYS_pidfd_open, c->tgid, 0);
    }
  /* The pidfd is the caller's process only if the caller still waits in
     its call: checked after opening.  */
  if (pidfd < 0 || !emu_valid (c))
    {
      *ret_err = pidfd < 0 && errno != ESRCH ? EAGAIN : ESRCH;
      if (pidfd >= 0)
        close (pidfd);
      if (copy.groups)
        groups_held -= copy.n_groups;
      free (copy.groups);
      return NULL;
    }
  if (++inserts % 32 == 0)
    sweep ();
  table = hutch_xrealloc (table, (n_table + 1) * sizeof *table);
  e = &table[n_table++];
  e->tgid = c->tgid;
  e->pidfd = pidfd;
  e->creds = copy;
  if (c->creds_from)
    *c->creds_from = e->tgid;
  return e;
}

bool
emu_creds_handles (int nr)
{
  switch (nr)
    {
    case SYS_setuid:
    case SYS_setgid:
    case SYS_setreuid:
    case SYS_setregid:
    case SYS_setresuid:
    case SYS_setresgid:
    case SYS_setfsuid:
    case SYS_setfsgid:
    case SYS_setgroups:
    case SYS_getuid:
    case SYS_geteuid:
    case SYS_getgid:
    case SYS_getegid:
    case SYS_getresuid:
    case SYS_getresgid:
    case SYS_getgroups:
    case SYS_capset:
      return true;
    default:
      return false;
    }
}

/* capset: the process has the real capabilities of the container's
   root, so the kernel's answer is the right one, drop or not; what is
   emulated is only the bookkeeping of the emulated ids: raising the
   effective set again after an emulated change of ids emptied it (as
   setpriv does with keep-caps) makes the capabilities count again.  */
static struct emu_answer
capset_call (struct emu_call *c)
{
  struct __user_cap_header_struct h;
  struct __user_cap_data_struct d[2];
  int e = 0;

  if (n_table == 0 || emu_read (c, c->req->data.args[0], &h, sizeof h) < 0
      || (h.version != _LINUX_CAPABILITY_VERSION_3 && h.version != _LINUX_CAPABILITY_VERSION_2)
      || emu_status (c) < 0 || (h.pid != 0 && h.pid != c->own_tid)
      || emu_read (c, c->req->data.args[1], d, sizeof d) < 0
      || (d[0].effective == 0 && d[1].effective == 0) || !emu_creds_of (c)->caps_dropped)
    return EMU_ANSWER_CONTINUE;
  {
    struct entry *en = own_entry (c, &e);
    if (en)
      en->creds.caps_dropped = false;
  }
  return EMU_ANSWER_CONTINUE;
}

#define UNSET ((unsigned int)-1)

/* One of the three ids (real, effective, saved), as the kernel checks an
   unprivileged change: to any of the current three.  */
static bool
one_of (unsigned int id, unsigned int r, unsigned int e, unsigned int s)
{
  return id == r || id == e || id == s;
}

/* The uid calls and the gid calls follow the same rules on the two
   halves of the credentials: ID points at ruid or rgid, with the
   effective, saved and fs ids after it in the same order.  */
struct idset
{
  unsigned int *r, *e, *s, *fs;
};

static int
set_one (struct idset ids, bool priv, unsigned int id)
{
  if (priv)
    *ids.r = *ids.e = *ids.s = *ids.fs = id;
  else if (id == *ids.r || id == *ids.s)
    *ids.e = *ids.fs = id;
  else
    return -EPERM;
  return 0;
}

static int
set_re (struct idset ids, bool priv, unsigned int r, unsigned int e)
{
  unsigned int old_r = *ids.r, old_e = *ids.e, old_s = *ids.s;
  unsigned int nr = old_r, ne = old_e;

  if (r != UNSET)
    {
      if (!priv && r != old_r && r != old_e)
        return -EPERM;
      nr = r;
    }
  if (e != UNSET)
    {
      if (!priv && !one_of (e, old_r, old_e, old_s))
        return -EPERM;
      ne = e;
    }
  *ids.r = nr;
  *ids.e = ne;
  if (r != UNSET || (e != UNSET && e != old_r))
    *ids.s = ne;
  *ids.fs = ne;
  return 0;
}

static int
set_res (struct idset ids, bool priv, unsigned int r, unsigned int e, unsigned int s)
{
  unsigned int o_r = *ids.r, o_e = *ids.e, o_s = *ids.s;

  if (!priv
      && ((r != UNSET && !one_of (r, o_r, o_e, o_s)) || (e != UNSET && !one_of (e, o_r, o_e, o_s))
          || (s != UNSET && !one_of (s, o_r, o_e, o_s))))
    return -EPERM;
  if (r != UNSET)
    *ids.r = r;
  if (e != UNSET)
    *ids.e = e;
  if (s != UNSET)
    *ids.s = s;
  *ids.fs = *ids.e;
  return 0;
}

/* setfsuid answers with the old id, whether it changed it or not.  */
static int64_t
set_fs (struct idset ids, bool priv, unsigned int id)
{
  unsigned int old = *ids.fs;
  /* -1 only asks.  */
  if (id == UNSET)
    return old;
  if (priv || one_of (id, *ids.r, *ids.e, *ids.s) || id == old)
    *ids.fs = id;
  return old;
}

static struct emu_answer
set_groups (struct emu_call *c, struct entry *e, bool priv)
{
  uint64_t n = c->req->data.args[0] & 0xffffffffu;
  _cleanup_free_ gid_t *list = NULL;

  if (!priv)
    return EMU_ANSWER_ERROR (EPERM);
  if ((int)n < 0 || n > MAX_GROUPS)
    return EMU_ANSWER_ERROR (EINVAL);
  if (groups_held - e->creds.n_groups + n > MAX_GROUPS_HELD)
    return EMU_ANSWER_ERROR (ENOMEM);
  list = hutch_xmalloc0 ((n + 1) * sizeof (gid_t));
  if (n > 0 && emu_read (c, c->req->data.args[1], list, n * sizeof (gid_t)) < 0)
    return EMU_ANSWER_ERROR (EFAULT);
  free (e->creds.groups);
  groups_held = groups_held - e->creds.n_groups + (size_t)n;
  e->creds.groups = HUTCH_STEAL_PTR (list);
  e->creds.n_groups = (size_t)n;
  return EMU_ANSWER_VALUE (0);
}

static struct emu_answer
get_three (struct emu_call *c, const unsigned int ids[3])
{
  int i;
  for (i = 0; i < 3; i++)
    if (emu_write (c, c->req->data.args[i], &ids[i], sizeof ids[i]) < 0)
      return EMU_ANSWER_ERROR (EFAULT);
  return EMU_ANSWER_VALUE (0);
}

static struct emu_answer
get_groups (struct emu_call *c, const struct emu_creds *cr)
{
  int64_t size = (int)(c->req->data.args[0] & 0xffffffffu);

  if (cr->groups == NULL)
    return EMU_ANSWER_CONTINUE;
  if (size < 0)
    return EMU_ANSWER_ERROR (EINVAL);
  if (size == 0)
    return EMU_ANSWER_VALUE ((int64_t)cr->n_groups);
  if ((size_t)size < cr->n_groups)
    return EMU_ANSWER_ERROR (EINVAL);
  if (cr->n_groups > 0
      && emu_write (c, c->req->data.args[1], cr->groups, cr->n_groups * sizeof (gid_t)) < 0)
    return EMU_ANSWER_ERROR (EFAULT);
  return EMU_ANSWER_VALUE ((int64_t)cr->n_groups);
}

/* The reading calls: the real answer (0, or the real group list) for a
   process nothing was ever set for.  */
static struct emu_answer
get_call (struct emu_call *c, int nr)
{
  const struct emu_creds *cr = emu_creds_of (c);

  if (cr == &root_creds)
    return EMU_ANSWER_CONTINUE;
  switch (nr)
    {
    case SYS_getuid:
      return EMU_ANSWER_VALUE (cr->ruid);
    case SYS_geteuid:
      return EMU_ANSWER_VALUE (cr->euid);
    case SYS_getgid:
      return EMU_ANSWER_VALUE (cr->rgid);
    case SYS_getegid:
      return EMU_ANSWER_VALUE (cr->egid);
    case SYS_getresuid:
      return get_three (c, (const unsigned int[3]){ cr->ruid, cr->euid, cr->suid });
    case SYS_getresgid:
      return get_three (c, (const unsigned int[3]){ cr->rgid, cr->egid, cr->sgid });
    default:
      return get_groups (c, cr);
    }
}

bool
emu_creds_capable (struct emu_call *c, const struct emu_creds *cr, int cap)
{
  return !cr->caps_dropped && emu_has_cap (c, cap);
}

struct emu_answer
emu_creds_call (struct emu_call *c)
{
  int nr = c->req->data.nr, e = 0, r = 0;
  const __u64 *a = c->req->data.args;
  struct entry *en;
  struct idset u, g;
  bool priv_u, priv_g;
  uid_t old_euid;

  if (nr == SYS_capset)
    return capset_call (c);
  if (nr == SYS_getuid || nr == SYS_geteuid || nr == SYS_getgid || nr == SYS_getegid
      || nr == SYS_getresuid || nr == SYS_getresgid || nr == SYS_getgroups)
    return get_call (c, nr);
  en = own_entry (c, &e);
  if (en == NULL)
    return EMU_ANSWER_ERROR (e);
  u = (struct idset){ &en->creds.ruid, &en->creds.euid, &en->creds.suid, &en->creds.fsuid };
  g = (struct idset){ &en->creds.rgid, &en->creds.egid, &en->creds.sgid, &en->creds.fsgid };
  /* Privileged as the kernel sees it: the capability in the effective set
     (which an emulated change of ids may have emptied).  */
  priv_u = emu_creds_capable (c, &en->creds, CAP_SETUID);
  priv_g = emu_creds_capable (c, &en->creds, CAP_SETGID);
  old_euid = en->creds.euid;
#define ID(i) ((unsigned int)(a[i] & 0xffffffffu))
  switch (nr)
    {
    case SYS_setuid:
      r = set_one (u, priv_u, ID (0));
      break;
    case SYS_setgid:
      r = set_one (g, priv_g, ID (0));
      break;
    case SYS_setreuid:
      r = set_re (u, priv_u, ID (0), ID (1));
      break;
    case SYS_setregid:
      r = set_re (g, priv_g, ID (0), ID (1));
      break;
    case SYS_setresuid:
      r = set_res (u, priv_u, ID (0), ID (1), ID (2));
      break;
    case SYS_setresgid:
      r = set_res (g, priv_g, ID (0), ID (1), ID (2));
      break;
    case SYS_setfsuid:
      return EMU_ANSWER_VALUE (set_fs (u, priv_u, ID (0)));
    case SYS_setfsgid:
      return EMU_ANSWER_VALUE (set_fs (g, priv_g, ID (0)));
    default:
      return set_groups (c, en, priv_g);
    }
#undef ID
  if (r < 0)
    return EMU_ANSWER_ERROR (-r);
  /* setuid(2): an euid that leaves 0 takes the effective capabilities
     with it; one that comes back to 0 brings them back.  */
  if (old_euid == 0 && en->creds.euid != 0)
    en->creds.caps_dropped = true;
  else if (en->creds.euid == 0)
    en->creds.caps_dropped = false;
  return EMU_ANSWER_VALUE (0);
}
