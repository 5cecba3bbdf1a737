/* SPDX-License-Identifier: GPL-2.0-or-later */
/* seccomp profiles to BPF (libseccomp), and installing the BPF.

   A profile is hutch's default (sysfilter-default.c) or JSON in Docker's
   format (defaultAction, archMap, syscalls with includes/excludes) or the
   OCI runtime spec's (linux.seccomp: architectures, flags, syscalls); one
   parser reads both, since Docker's is a superset.  Every key is either
   honoured or refused: a profile hutch would apply only in part is an
   error, not a weaker filter.  */
#include <config.h>

#include "runtime/sysfilter.h"
#include "runtime/sysfilter-private.h"
#include "runtime/seccomp-file.h"
#include "runtime/spec.h"
#include "base/util.h"
#include "base/walk.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* Profiles are tens of KiB; Docker's default is about 20.  */
#define PROFILE_MAX (4 << 20)

bool
hutch_sc_has_cap (const struct hutch_spec *spec, const char *cap)
{
  char **p;
  if (!spec->has_caps)
    return true;
  for (p = spec->cap_bounding; p && *p; p++)
    if (strcasecmp (*p, cap) == 0)
      return true;
  return false;
}

int
hutch_sc_add (scmp_filter_ctx ctx, uint32_t def_action, const char *name, uint32_t action,
              unsigned int n, const struct scmp_arg_cmp *args, hutch_error_t *err)
{
  int nr = seccomp_syscall_resolve_name (name), r;

  if (nr == __NR_SCMP_ERROR || action == def_action)
    return 0;
  r = seccomp_rule_add_array (ctx, action, nr, n, args);
  if (r < 0)
    return hutch_error_set (err, -r, "cannot add a rule for system call `%s`", name);
  return 0;
}

/* The 32-bit ABIs that run beside the native one: a filter that forgot
   them would let `int $0x80` through (libseccomp kills calls of ABIs the
   filter does not name, but the default profile should answer them the
   same way as native ones).  */
static int
add_compat_arches (scmp_filter_ctx ctx, hutch_error_t *err)
{
  static const struct
  {
    uint32_t native, compat[2];
  } table[] = {
    { SCMP_ARCH_X86_64, { SCMP_ARCH_X86, SCMP_ARCH_X32 } },
    { SCMP_ARCH_AARCH64, { SCMP_ARCH_ARM, 0 } },
    { SCMP_ARCH_PPC64LE, { 0, 0 } },
    { SCMP_ARCH_S390X, { SCMP_ARCH_S390, 0 } },
  };
  uint32_t native = seccomp_arch_native ();
  size_t i, j;

  for (i = 0; i < sizeof table / sizeof table[0]; i++)
    if (table[i].native == native)
      for (j = 0; j < 2 && table[i].compat[j]; j++)
        {
          int r = seccomp_arch_add (ctx, table[i].compat[j]);
          if (r < 0 && r != -EEXIST)
            return hutch_error_set (err, -r, "seccomp: cannot add an architecture");
        }
  return 0;
}

static scmp_filter_ctx
new_ctx (uint32_t def_action, hutch_error_t *err)
{
  scmp_filter_ctx ctx = seccomp_init (def_action);
  if (ctx == NULL)
    {
      hutch_error_set (err, EINVAL,
                       "seccomp: libseccomp cannot make a filter with the default action %#x",
                       def_action);
      return NULL;
    }
  /* hutch sets no_new_privs itself, when asked (it can be turned off); a
     binary tree of calls keeps the filter fast for a long allowlist.  */
  if (seccomp_attr_set (ctx, SCMP_FLTATR_CTL_NNP, 0) < 0
      || seccomp_attr_set (ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) < 0)
    {
      seccomp_release (ctx);
      hutch_error_set (err, EINVAL, "seccomp: libseccomp refused the filter's attributes");
      return NULL;
    }
  return ctx;
}

/* ---- ENOSYS for calls newer than libseccomp --------------------------- */

/* A call the filter does not name gets the default action, EPERM in most
   profiles.  For a call newer than libseccomp's tables that is wrong: the
   C library falls back to an older call on ENOSYS only (glibc's fchmodat
   tries fchmodat2 first, for one), and the kernel itself would have said
   ENOSYS.  So, as runc does, numbers above the highest one libseccomp
   knows for an architecture get ENOSYS, from a few instructions put in
   front of libseccomp's program (jumps in BPF are relative: the program
   behind them is unchanged).  */
#define X32_SYSCALL_BIT 0x40000000u

/* The architectures the prefix knows, and its longest length: a load of
   the architecture, a test and two to four instructions per architecture,
   a jump past them, and the ENOSYS return.  */
static const uint32_t prefix_arches[]
    = { SCMP_ARCH_X86_64, SCMP_ARCH_X86,  SCMP_ARCH_AARCH64, SCMP_ARCH_ARM,
        SCMP_ARCH_S390X,  SCMP_ARCH_S390, SCMP_ARCH_PPC64LE, SCMP_ARCH_RISCV64 };
#define N_PREFIX_ARCHES (sizeof prefix_arches / sizeof prefix_arches[0])
#define PREFIX_MAX (1 + N_PREFIX_ARCHES + 1 + 2 * N_PREFIX_ARCHES + 2 + 1)

static uint32_t
highest_known (uint32_t arch)
{
  uint32_t nr, max = 0;
  for (nr = 0; nr < 1024; nr++)
    {
      char *name = seccomp_syscall_resolve_num_arch (
          arch, (int)(arch == SCMP_ARCH_X32 ? (nr | X32_SYSCALL_BIT) : nr));
      if (name)
        max = nr;
      free (name);
    }
  return max;
}

/* The prefix for the architectures of CTX; returns its length.
   Layout: load the architecture; one JEQ per architecture to its block;
   JA past everything; per block: load the number, [JSET the x32 bit to
   the x32 test], JGT the highest native number, [JGT the highest x32
   one]; RET ENOSYS.  */
static unsigned int
enosys_prefix (scmp_filter_ctx ctx, struct sock_filter prefix[PREFIX_MAX])
{
  struct
  {
    uint32_t arch, max, x32max;
    unsigned int start;
  } have[N_PREFIX_ARCHES];
  unsigned int n = 0, i, k = 0, at, enosys, end;
  bool x32 = seccomp_arch_exist (ctx, SCMP_ARCH_X32) == 0;

  for (i = 0; i < N_PREFIX_ARCHES; i++)
    if (seccomp_arch_exist (ctx, prefix_arches[i]) == 0)
      {
        have[n].arch = prefix_arches[i];
        have[n].max = highest_known (prefix_arches[i]);
        have[n].x32max
            = prefix_arches[i] == SCMP_ARCH_X86_64 && x32 ? highest_known (SCMP_ARCH_X32) : 0;
        n++;
      }
  if (n == 0)
    return 0;
  at = 1 + n + 1;
  for (i = 0; i < n; i++)
    {
      have[i].start = at;
      at += have[i].x32max ? 4 : 2;
    }
  enosys = at;
  end = enosys + 1;

  prefix[k++] = (struct sock_filter)BPF_STMT (BPF_LD | BPF_W | BPF_ABS, 4); /* .arch */
  for (i = 0; i < n; i++, k++)
    prefix[k] = (struct sock_filter)BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, have[i].arch,
                                              (unsigned char)(have[i].start - (k + 1)), 0);
  prefix[k] = (struct sock_filter)BPF_STMT (BPF_JMP | BPF_JA, end - (k + 1));
  k++;
  for (i = 0; i < n; i++)
    {
      prefix[k++] = (struct sock_filter)BPF_STMT (BPF_LD | BPF_W | BPF_ABS, 0); /* .nr */
      /* x32 calls carry a bit of their own: they skip the native test */
      if (have[i].x32max)
        prefix[k++]
            = (struct sock_filter)BPF_JUMP (BPF_JMP | BPF_JSET | BPF_K, X32_SYSCALL_BIT, 1, 0);
      prefix[k] = (struct sock_filter)BPF_JUMP (BPF_JMP | BPF_JGT | BPF_K, have[i].max,
                                                (unsigned char)(enosys - (k + 1)),
                                                (unsigned char)(end - (k + 1)));
      k++;
      if (have[i].x32max)
        {
          prefix[k] = (struct sock_filter)BPF_JUMP (
              BPF_JMP | BPF_JGT | BPF_K, X32_SYSCALL_BIT | have[i].x32max,
              (unsigned char)(enosys - (k + 1)), (unsigned char)(end - (k + 1)));
          k++;
        }
    }
  prefix[k++] = (struct sock_filter)BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
  return k;
}

/* The BPF of CTX, through a memfd (libseccomp 2.5 exports to an fd), after
   the ENOSYS prefix when the default action refuses.  */
int
hutch_sc_export (scmp_filter_ctx ctx, uint32_t def_action, unsigned int flags,
                 struct hutch_seccomp **ret, hutch_error_t *err)
{
  _cleanup_close_ int fd = memfd_create ("hutch-seccomp", MFD_CLOEXEC);
  struct sock_filter prefix[PREFIX_MAX];
  unsigned int n_prefix = 0;
  struct hutch_seccomp *f;
  off_t size;
  size_t n;
  int r;

  if (fd < 0)
    return hutch_error_set (err, errno, "seccomp: memfd_create");
  r = seccomp_export_bpf (ctx, fd);
  if (r < 0)
    return hutch_error_set (err, -r, "seccomp: cannot generate the filter");
  size = lseek (fd, 0, SEEK_END);
  if (size <= 0 || size % sizeof (struct sock_filter) != 0)
    return hutch_error_set (err, EINVAL, "seccomp: libseccomp wrote a filter of %lld bytes",
                            (long long)size);
  if (def_action != SCMP_ACT_ALLOW && def_action != SCMP_ACT_LOG)
    n_prefix = enosys_prefix (ctx, prefix);
  n = (size_t)size / sizeof (struct sock_filter) + n_prefix;
  if (n > BPF_MAXINSNS)
    return hutch_error_set (err, E2BIG,
                            "seccomp: the profile needs %zu BPF instructions, more than the "
                            "kernel's limit of %d; make it shorter",
                            n, BPF_MAXINSNS);
  f = hutch_xmalloc0 (sizeof *f);
  f->insns = hutch_xmalloc0 (n * sizeof (struct sock_filter));
  f->len = (unsigned short)n;
  f->flags = flags;
  memcpy (f->insns, prefix, n_prefix * sizeof (struct sock_filter));
  if (pread (fd, f->insns + n_prefix, (size_t)size, 0) != size)
    {
      hutch_seccomp_free (f);
      return hutch_error_set (err, errno ? errno : EIO, "seccomp: cannot read the filter back");
    }
  *ret = f;
  return 0;
}

/* ---- the cache ----------------------------------------------------- */

/* libseccomp takes about 10 ms to turn the default profile into BPF, twice
   what the rest of a container's start costs; the result depends only on
   what the key below holds, so it is kept in the user's store and read
   back in microseconds.  The key names the hutch binary and the libseccomp
   library (device, inode, mtime, size: a rebuilt hutch or an updated
   library, even one that kept its version number, has a new one), the
   kernel (minKernel in profiles), the bounding set, where the profile came
   from and its text; it is stored whole in the file and compared on
   reading, so the file name (a hash of it) only has to find the file.  A
   checksum over everything catches a file damaged by a crash; the file is
   used only when it is the user's and nobody else can write it.  The user
   can write it, as the user's images: the cache guards against staleness
   and damage, not against the user.  */
#define CACHE_MAGIC "HUTCHBP2"

/* "dev:ino:mtime:size" of PATH, or NULL.  */
static char *
file_identity (const char *path)
{
  struct stat st;
  if (path == NULL || stat (path, &st) < 0)
    return NULL;
  return hutch_xasprintf ("%llu:%llu:%lld.%09ld:%lld", (unsigned long long)st.st_dev,
                          (unsigned long long)st.st_ino, (long long)st.st_mtim.tv_sec,
                          st.st_mtim.tv_nsec, (long long)st.st_size);
}

static char *
cache_key (const struct hutch_spec *spec, const char *source, const char *profile,
           size_t profile_len)
{
  const struct scmp_version *v = seccomp_version ();
  _cleanup_free_ char *caps = NULL, *exe = file_identity ("/proc/self/exe"), *lib = NULL;
  struct utsname u;
  Dl_info dl;
  char *key, **c;
  size_t head;

  /* the library that builds the filter: a static link names hutch again */
  if (dladdr ((void *)seccomp_init, &dl) != 0)
    lib = file_identity (dl.dli_fname);
  if (exe == NULL || lib == NULL || uname (&u) < 0 || v == NULL)
    return NULL;
  caps = hutch_xstrdup (spec->has_caps ? "" : "all");
  for (c = spec->cap_bounding; spec->has_caps && c && *c; c++)
    {
      char *more = hutch_xasprintf ("%s%s,", caps, *c);
      free (caps);
      caps = more;
    }
  key = hutch_xasprintf ("exe %s\nlibseccomp %u.%u.%u %s\nkernel %s %s\ncaps %s\n"
                         "source %s\nprofile %zu\n",
                         exe, v->major, v->minor, v->micro, lib, u.release, u.machine, caps, source,
                         profile_len);
  head = strlen (key);
  key = hutch_xrealloc (key, head + profile_len + 1);
  memcpy (key + head, profile, profile_len);
  key[head + profile_len] = '\0';
  return key;
}

static char *
cache_path (const char *dir, const char *key)
{
  return hutch_xasprintf ("%s/seccomp-%016llx.bpf", dir,
                          (unsigned long long)hutch_fnv1a (HUTCH_FNV_START, key, strlen (key)));
}

static struct hutch_seccomp *
cache_read (const char *dir, const char *key)
{
  _cleanup_free_ char *path = cache_path (dir, key), *buf = NULL;
  _cleanup_close_ int fd = -1;
  size_t key_len = strlen (key), len;
  struct hutch_seccomp_file_header h;
  struct hutch_seccomp *f;
  hutch_error_t e = HUTCH_ERROR_INIT;
  struct stat st;

  fd = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || st.st_uid != geteuid ()
      || (st.st_mode & 0022) != 0)
    return NULL;
  if (hutch_read_fd (fd, sizeof h + key_len + BPF_MAXINSNS * sizeof (struct sock_filter), &buf,
                     &len, &e)
      < 0)
    {
      hutch_error_clear (&e);
      return NULL;
    }
  if (len < sizeof h)
    return NULL;
  memcpy (&h, buf, sizeof h);
  if (memcmp (h.magic, CACHE_MAGIC, 8) != 0 || h.key_len != key_len || h.insns == 0
      || h.insns > BPF_MAXINSNS || len != sizeof h + key_len + h.insns * sizeof (struct sock_filter)
      || memcmp (buf + sizeof h, key, key_len) != 0)
    return NULL;
  /* copied out first: behind the key, the instructions are not aligned */
  f = hutch_xmalloc0 (sizeof *f);
  f->len = (unsigned short)h.insns;
  f->flags = h.flags;
  f->insns = hutch_xmalloc0 (h.insns * sizeof (struct sock_filter));
  memcpy (f->insns, buf + sizeof h + key_len, h.insns * sizeof (struct sock_filter));
  if (hutch_seccomp_file_sum (h, key, f->insns) != h.sum
      || f->insns[h.insns - 1].code != (BPF_RET | BPF_K))
    {
      hutch_seccomp_free (f);
      return NULL;
    }
  return f;
}

/* Old entries go when a new one is written: files not rewritten for 30
   days (other hutch builds, other bounding sets, edited profiles), and the
   temporary files of a crash more than an hour ago.  A file still in use
   is simply built and written again.  */
static void
cache_prune (const char *dir)
{
  DIR *d = opendir (dir);
  struct dirent *e;
  time_t now = time (NULL);

  if (d == NULL)
    return;
  while ((e = readdir (d)) != NULL)
    {
      struct stat st;
      size_t len = strlen (e->d_name);
      bool tmp = len > 4 && strcmp (e->d_name + len - 4, ".tmp") == 0;
      if (strncmp (e->d_name, "seccomp-", 8) != 0
          || fstatat (dirfd (d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG (st.st_mode))
        continue;
      if (now - st.st_mtime > (tmp ? 3600 : 30 * 86400))
        unlinkat (dirfd (d), e->d_name, 0);
    }
  closedir (d);
}

/* Best effort: a cache that cannot be written costs time, nothing else.  */
static void
cache_write (const char *dir, const char *key, const struct hutch_seccomp *f)
{
  _cleanup_free_ char *path = cache_path (dir, key), *tmp = NULL;
  struct hutch_seccomp_file_header h
      = { .key_len = (uint32_t)strlen (key), .insns = f->len, .flags = f->flags };
  hutch_error_t e = HUTCH_ERROR_INIT;
  int fd;
  bool ok;

  memcpy (h.magic, CACHE_MAGIC, 8);
  h.sum = hutch_seccomp_file_sum (h, key, f->insns);
  if (hutch_walk_mkdir_p (dir, 0700, &e) < 0)
    {
      hutch_error_clear (&e);
      return;
    }
  tmp = hutch_xasprintf ("%s.%d.tmp", path, (int)getpid ());
  fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return;
  /* synced before the rename: a crash leaves the old file or the whole
     new one */
  ok = hutch_write_all (fd, &h, sizeof h) == 0 && hutch_write_all (fd, key, h.key_len) == 0
       && hutch_write_all (fd, f->insns, f->len * sizeof (struct sock_filter)) == 0
       && fsync (fd) == 0;
  close (fd);
  if (!ok || rename (tmp, path) < 0)
    unlink (tmp);
  else
    cache_prune (dir);
}

/* ---- a container's filter on disk ------------------------------------ */

/* The cache's layout with a magic of its own and no key: the header, then
   the instructions.  INSNS 0 records that the container had no filter, so
   that a lost file is an error and never "no filter".  */
#define SAVED_MAGIC HUTCH_SECCOMP_SAVED_MAGIC

int
hutch_seccomp_save (const struct hutch_seccomp *filter, int dirfd, const char *name,
                    hutch_error_t *err)
{
  _cleanup_free_ char *tmp = hutch_xasprintf (".%s.%d", name, (int)getpid ());
  struct hutch_seccomp_file_header h
      = { .insns = filter ? filter->len : 0, .flags = filter ? filter->flags : 0 };
  int fd, e;
  bool ok;

  memcpy (h.magic, SAVED_MAGIC, 8);
  h.sum = hutch_seccomp_file_sum (h, "", filter ? filter->insns : NULL);
  fd = openat (dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return hutch_error_set (err, errno, "write the container's seccomp filter");
  /* Not synced (as config.json beside it): checksummed, so a file a
     power cut damaged is refused by exec, never run as no filter; every
     start writes it again.  */
  ok = hutch_write_all (fd, &h, sizeof h) == 0
       && (filter == NULL
           || hutch_write_all (fd, filter->insns, filter->len * sizeof (struct sock_filter)) == 0);
  e = errno;
  close (fd);
  if (ok && renameat (dirfd, tmp, dirfd, name) == 0)
    return 0;
  e = ok ? errno : e;
  unlinkat (dirfd, tmp, 0);
  return hutch_error_set (err, e, "write the container's seccomp filter");
}

int
hutch_seccomp_load (int dirfd, const char *name, struct hutch_seccomp **ret, hutch_error_t *err)
{
  _cleanup_close_ int fd = -1;
  _cleanup_free_ char *buf = NULL;
  struct hutch_seccomp *f;
  struct hutch_seccomp_file_header h;
  struct stat st;
  size_t len;

  /* The user's own file in the user's own directory, like the cache: one
     that someone else could have written is not the container's.  */
  fd = openat (dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return hutch_error_set (err, errno,
                            "the container's seccomp filter (%s in its directory): without it, "
                            "hutch cannot give a process the container's filter",
                            name);
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || st.st_uid != geteuid ()
      || (st.st_mode & 0022) != 0)
    return hutch_error_set (err, 0,
                            "the container's seccomp filter (%s) is not a regular file of yours "
                            "that only you can write",
                            name);
  if (hutch_read_fd (fd, sizeof h + BPF_MAXINSNS * sizeof (struct sock_filter), &buf, &len, err)
      < 0)
    return hutch_error_prefix (err, "the container's seccomp filter");
  if (len >= sizeof h)
    memcpy (&h, buf, sizeof h);
  if (len < sizeof h || memcmp (h.magic, SAVED_MAGIC, 8) != 0 || h.key_len != 0
      || h.insns > BPF_MAXINSNS || len != sizeof h + h.insns * sizeof (struct sock_filter))
    return hutch_error_set (err, 0, "the container's seccomp filter (%s) is damaged", name);
  if (h.insns == 0)
    {
      if (hutch_seccomp_file_sum (h, "", NULL) != h.sum)
        return hutch_error_set (err, 0, "the container's seccomp filter (%s) is damaged", name);
      *ret = NULL;
      return 0;
    }
  f = hutch_xmalloc0 (sizeof *f);
  f->len = (unsigned short)h.insns;
  f->flags = h.flags;
  f->insns = hutch_xmalloc0 (h.insns * sizeof (struct sock_filter));
  memcpy (f->insns, buf + sizeof h, h.insns * sizeof (struct sock_filter));
  if (hutch_seccomp_file_sum (h, "", f->insns) != h.sum
      || f->insns[h.insns - 1].code != (BPF_RET | BPF_K))
    {
      hutch_seccomp_free (f);
      return hutch_error_set (err, 0, "the container's seccomp filter (%s) is damaged", name);
    }
  *ret = f;
  return 0;
}

int
hutch_seccomp_default (const struct hutch_spec *spec, const char *cache_dir,
                       struct hutch_seccomp **ret, hutch_error_t *err)
{
  _cleanup_free_ char *key = cache_dir ? cache_key (spec, "default", "", 0) : NULL;
  struct hutch_seccomp *cached = key ? cache_read (cache_dir, key) : NULL;
  scmp_filter_ctx ctx;
  int r;

  if (cached)
    {
      *ret = cached;
      return 0;
    }
  ctx = new_ctx (SCMP_ACT_ERRNO (EPERM), err);
  if (ctx == NULL)
    return -1;
  r = add_compat_arches (ctx, err);
  if (r == 0)
    r = hutch_sc_default_rules (ctx, spec, err);
  if (r == 0)
    r = hutch_sc_export (ctx, SCMP_ACT_ERRNO (EPERM), 0, ret, err);
  seccomp_release (ctx);
  if (r < 0)
    return hutch_error_prefix (err, "hutch's default seccomp profile");
  if (key)
    cache_write (cache_dir, key, *ret);
  return 0;
}

/* ---- JSON profiles ---------------------------------------------------- */

struct profile_ctx
{
  const char *what;
  const struct hutch_spec *spec;
  scmp_filter_ctx ctx;
  uint32_t def_action;
  const char *native; /* Docker's name of this architecture ("amd64") */
  struct utsname uts;
};

/* Docker names architectures as Go does.  */
static const char *
go_arch_name (void)
{
  switch (seccomp_arch_native ())
    {
    case SCMP_ARCH_X86_64:
      return "amd64";
    case SCMP_ARCH_X86:
      return "x86";
    case SCMP_ARCH_AARCH64:
      return "arm64";
    case SCMP_ARCH_ARM:
      return "arm";
    case SCMP_ARCH_PPC64LE:
      return "ppc64le";
    case SCMP_ARCH_PPC64:
      return "ppc64";
    case SCMP_ARCH_S390X:
      return "s390x";
    case SCMP_ARCH_RISCV64:
      return "riscv64";
    default:
      return "unknown";
    }
}

/* KEYS: the keys OBJ may have; anything else is refused.  */
static int
check_keys (json_t *obj, const char *const *keys, const char *path, const char *what,
            hutch_error_t *err)
{
  const char *key;
  json_t *v;
  size_t i;

  if (!json_is_object (obj))
    return hutch_error_set (err, 0, "%s: %s must be a JSON object", what, path);
  json_object_foreach (obj, key, v)
  {
    for (i = 0; keys[i]; i++)
      if (strcmp (key, keys[i]) == 0)
        break;
    if (keys[i] == NULL)
      {
        _cleanup_free_ char *known = hutch_xstrdup (keys[0]);
        for (i = 1; keys[i]; i++)
          {
            char *more = hutch_xasprintf ("%s, %s", known, keys[i]);
            free (known);
            known = more;
          }
        return hutch_error_set (err, 0, "%s: %s: unknown key `%s` (known: %s)", what, path, key,
                                known);
      }
  }
  return 0;
}

/* V, when present, must be a list of strings.  */
static int
check_strings (const struct profile_ctx *p, json_t *v, const char *path, const char *field,
               hutch_error_t *err)
{
  size_t i;
  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_array (v))
    return hutch_error_set (err, 0, "%s: %s.%s must be a list of strings", p->what, path, field);
  for (i = 0; i < json_array_size (v); i++)
    if (!json_is_string (json_array_get (v, i)))
      return hutch_error_set (err, 0, "%s: %s.%s[%zu] must be a string", p->what, path, field, i);
  return 0;
}

/* An errno as a number (errnoRet) or a name (podman's "errno": "EPERM").
 *RET is left alone when neither is there.  */
static int
parse_errno (const struct profile_ctx *p, json_t *num, json_t *name, const char *path,
             const char *num_field, const char *name_field, unsigned int *ret, hutch_error_t *err)
{
  bool have_num = num && !json_is_null (num), have_name = name && !json_is_null (name);
  unsigned int e = 0;
  int i;

  if (have_num)
    {
      if (!json_is_integer (num) || json_integer_value (num) < 0 || json_integer_value (num) > 4095)
        return hutch_error_set (err, 0, "%s: %s%s must be a number from 0 to 4095", p->what, path,
                                num_field);
      e = (unsigned int)json_integer_value (num);
    }
  if (have_name)
    {
      const char *s = json_string_value (name);
      for (i = 1; s && i < 4096; i++)
        {
          const char *n = strerrorname_np (i);
          if (n && strcmp (n, s) == 0)
            break;
        }
      if (s == NULL || i == 4096)
        return hutch_error_set (err, 0, "%s: %s%s: `%s` is not an errno name such as \"EPERM\"",
                                p->what, path, name_field, s ? s : "(not a string)");
      if (have_num && e != (unsigned int)i)
        return hutch_error_set (err, 0, "%s: %s%s (%s) and %s%s (%u) disagree; keep one", p->what,
                                path, name_field, s, path, num_field, e);
      e = (unsigned int)i;
    }
  if (have_num || have_name)
    *ret = e;
  return 0;
}

/* An action name and its errno (errnoRet, or DEF_ERRNO when absent).  */
static int
parse_action (const struct profile_ctx *p, json_t *v, unsigned int e, const char *path,
              uint32_t *ret, hutch_error_t *err)
{
  const char *s = json_string_value (v);

  if (s == NULL)
    return hutch_error_set (err, 0, "%s: %s must be a string such as \"SCMP_ACT_ERRNO\"", p->what,
                            path);
  if (strcmp (s, "SCMP_ACT_ALLOW") == 0)
    *ret = SCMP_ACT_ALLOW;
  else if (strcmp (s, "SCMP_ACT_ERRNO") == 0)
    *ret = SCMP_ACT_ERRNO (e);
  else if (strcmp (s, "SCMP_ACT_KILL") == 0 || strcmp (s, "SCMP_ACT_KILL_THREAD") == 0)
    *ret = SCMP_ACT_KILL_THREAD;
  else if (strcmp (s, "SCMP_ACT_KILL_PROCESS") == 0)
    *ret = SCMP_ACT_KILL_PROCESS;
  else if (strcmp (s, "SCMP_ACT_TRAP") == 0)
    *ret = SCMP_ACT_TRAP;
  else if (strcmp (s, "SCMP_ACT_TRACE") == 0)
    *ret = SCMP_ACT_TRACE (e);
  else if (strcmp (s, "SCMP_ACT_LOG") == 0)
    *ret = SCMP_ACT_LOG;
  else if (strcmp (s, "SCMP_ACT_NOTIFY") == 0)
    return hutch_error_set (err, 0,
                            "%s: %s: SCMP_ACT_NOTIFY needs a seccomp agent (listenerPath), which "
                            "hutch does not support",
                            p->what, path);
  else
    return hutch_error_set (err, 0,
                            "%s: %s: unknown action `%s` (SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, "
                            "SCMP_ACT_KILL, SCMP_ACT_KILL_PROCESS, SCMP_ACT_TRAP, SCMP_ACT_TRACE, "
                            "SCMP_ACT_LOG)",
                            p->what, path, s);
  return 0;
}

static int
parse_u64 (const struct profile_ctx *p, json_t *v, const char *path, scmp_datum_t *ret,
           hutch_error_t *err)
{
  /* jansson holds integers as long long and refuses larger numbers: a
     value with the top bit set (0xffffffffffffffff) is written as the
     negative number with the same 64 bits (-1).  */
  if (!json_is_integer (v))
    return hutch_error_set (err, 0, "%s: %s must be an integer", p->what, path);
  *ret = (scmp_datum_t)json_integer_value (v);
  return 0;
}

static int
parse_arg (const struct profile_ctx *p, json_t *a, const char *path, struct scmp_arg_cmp *ret,
           hutch_error_t *err)
{
  static const char *const keys[] = { "index", "value", "valueTwo", "op", NULL };
  static const struct
  {
    const char *name;
    enum scmp_compare op;
  } ops[] = {
    { "SCMP_CMP_NE", SCMP_CMP_NE },
    { "SCMP_CMP_LT", SCMP_CMP_LT },
    { "SCMP_CMP_LE", SCMP_CMP_LE },
    { "SCMP_CMP_EQ", SCMP_CMP_EQ },
    { "SCMP_CMP_GE", SCMP_CMP_GE },
    { "SCMP_CMP_GT", SCMP_CMP_GT },
    { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
  };
  json_t *index = json_object_get (a, "index"), *two = json_object_get (a, "valueTwo");
  const char *op;
  char *sub;
  size_t i;
  int r;

  if (check_keys (a, keys, path, p->what, err) < 0)
    return -1;
  if (!json_is_integer (index) || json_integer_value (index) < 0 || json_integer_value (index) > 5)
    return hutch_error_set (err, 0, "%s: %s.index must be an argument number from 0 to 5", p->what,
                            path);
  memset (ret, 0, sizeof *ret);
  ret->arg = (unsigned int)json_integer_value (index);
  sub = hutch_xasprintf ("%s.value", path);
  r = parse_u64 (p, json_object_get (a, "value"), sub, &ret->datum_a, err);
  free (sub);
  if (r < 0)
    return -1;
  if (two && !json_is_null (two))
    {
      sub = hutch_xasprintf ("%s.valueTwo", path);
      r = parse_u64 (p, two, sub, &ret->datum_b, err);
      free (sub);
      if (r < 0)
        return -1;
    }
  op = json_string_value (json_object_get (a, "op"));
  for (i = 0; op && i < sizeof ops / sizeof ops[0]; i++)
    if (strcmp (op, ops[i].name) == 0)
      {
        ret->op = ops[i].op;
        return 0;
      }
  return hutch_error_set (err, 0,
                          "%s: %s.op: `%s` is not one of SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, "
                          "SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ",
                          p->what, path, op ? op : "(missing)");
}

static bool
in_string_array (json_t *arr, const char *s)
{
  size_t i;
  json_t *v;
  json_array_foreach (arr, i, v) if (json_is_string (v)
                                     && strcmp (json_string_value (v), s) == 0) return true;
  return false;
}

/* "5.8" against the running kernel's release.  */
static int
kernel_at_least (const struct profile_ctx *p, const char *min, const char *path, bool *ret,
                 hutch_error_t *err)
{
  unsigned int want_major, want_minor, major = 0, minor = 0;
  char extra;

  if (sscanf (min, "%u.%u%c", &want_major, &want_minor, &extra) != 2)
    return hutch_error_set (err, 0, "%s: %s.minKernel `%s` must look like \"5.8\"", p->what, path,
                            min);
  sscanf (p->uts.release, "%u.%u", &major, &minor);
  *ret = major > want_major || (major == want_major && minor >= want_minor);
  return 0;
}

/* Docker's includes/excludes: whether the entry applies here.  */
static int
entry_applies (const struct profile_ctx *p, json_t *entry, const char *path, bool *ret,
               hutch_error_t *err)
{
  static const char *const keys[] = { "caps", "arches", "minKernel", NULL };
  static const char *const side[] = { "includes", "excludes" };
  size_t k, i;

  *ret = true;
  for (k = 0; k < 2; k++)
    {
      json_t *o = json_object_get (entry, side[k]), *caps, *arches, *min;
      _cleanup_free_ char *sub = hutch_xasprintf ("%s.%s", path, side[k]);
      bool all_caps = true, any_cap = false, arch_listed, new_enough = true;

      if (o == NULL || json_is_null (o))
        continue;
      caps = json_object_get (o, "caps");
      arches = json_object_get (o, "arches");
      min = json_object_get (o, "minKernel");
      if (check_keys (o, keys, sub, p->what, err) < 0
          || check_strings (p, caps, sub, "caps", err) < 0
          || check_strings (p, arches, sub, "arches", err) < 0)
        return -1;
      for (i = 0; i < json_array_size (caps); i++)
        {
          bool has = hutch_sc_has_cap (p->spec, json_string_value (json_array_get (caps, i)));
          all_caps = all_caps && has;
          any_cap = any_cap || has;
        }
      arch_listed = in_string_array (arches, p->native);
      if (min && !json_is_null (min))
        {
          if (!json_is_string (min))
            return hutch_error_set (err, 0, "%s: %s.minKernel must be a string", p->what, sub);
          if (kernel_at_least (p, json_string_value (min), sub, &new_enough, err) < 0)
            return -1;
        }
      if (k == 0)
        {
          /* every capability listed, the architecture if any is listed,
             a kernel at least that new */
          if (!all_caps || (json_array_size (arches) > 0 && !arch_listed) || !new_enough)
            *ret = false;
        }
      else
        {
          /* none of the capabilities, not the architecture, an older
             kernel */
          if (any_cap || arch_listed || (min && !json_is_null (min) && new_enough))
            *ret = false;
        }
    }
  return 0;
}

static int
add_entry_names (const struct profile_ctx *p, json_t *names, const char *path, uint32_t action,
                 unsigned int n, const struct scmp_arg_cmp *args, hutch_error_t *err)
{
  size_t i;
  json_t *v;

  if (json_is_string (names))
    return hutch_sc_add (p->ctx, p->def_action, json_string_value (names), action, n, args, err) < 0
               ? hutch_error_prefix (err, "%s: %s", p->what, path)
               : 0;
  json_array_foreach (names, i, v)
  {
    if (!json_is_string (v))
      return hutch_error_set (err, 0, "%s: %s.names[%zu] must be a string", p->what, path, i);
    if (hutch_sc_add (p->ctx, p->def_action, json_string_value (v), action, n, args, err) < 0)
      return hutch_error_prefix (err, "%s: %s", p->what, path);
  }
  return 0;
}

static int
parse_entry (const struct profile_ctx *p, json_t *entry, size_t idx, hutch_error_t *err)
{
  static const char *const keys[] = { "names", "name",    "action",   "errnoRet", "errno",
                                      "args",  "comment", "includes", "excludes", NULL };
  char path[48];
  json_t *names, *args;
  _cleanup_free_ struct scmp_arg_cmp *cmp = NULL;
  unsigned int e = EPERM; /* as Docker, for SCMP_ACT_ERRNO without one */
  uint32_t action;
  size_t i, j, n;
  bool applies, repeated = false;

  snprintf (path, sizeof path, "syscalls[%zu]", idx);
  if (check_keys (entry, keys, path, p->what, err) < 0
      || parse_errno (p, json_object_get (entry, "errnoRet"), json_object_get (entry, "errno"),
                      path, ".errnoRet", ".errno", &e, err)
             < 0)
    return -1;
  {
    char sub[64];
    snprintf (sub, sizeof sub, "%s.action", path);
    if (parse_action (p, json_object_get (entry, "action"), e, sub, &action, err) < 0)
      return -1;
  }
  names = json_object_get (entry, "names");
  if (names && json_object_get (entry, "name"))
    return hutch_error_set (err, 0, "%s: %s has both `names` and `name`; keep one", p->what, path);
  if (names == NULL && json_is_string (json_object_get (entry, "name")))
    names = json_object_get (entry, "name"); /* Docker's older format: one name */
  else if (!json_is_array (names))
    return hutch_error_set (err, 0, "%s: %s needs `names`, a list of system calls", p->what, path);
  args = json_object_get (entry, "args");
  if (args && !json_is_null (args) && !json_is_array (args))
    return hutch_error_set (err, 0, "%s: %s.args must be a list", p->what, path);
  n = json_array_size (args);
  if (n > 64)
    return hutch_error_set (err, 0, "%s: %s.args: more than 64 conditions", p->what, path);
  cmp = hutch_xmalloc0 ((n + 1) * sizeof *cmp);
  for (i = 0; i < n; i++)
    {
      char sub[64];
      snprintf (sub, sizeof sub, "%s.args[%zu]", path, i);
      if (parse_arg (p, json_array_get (args, i), sub, &cmp[i], err) < 0)
        return -1;
      for (j = 0; j < i; j++)
        if (cmp[j].arg == cmp[i].arg)
          repeated = true;
    }
  if (entry_applies (p, entry, path, &applies, err) < 0)
    return -1;
  if (!applies)
    return 0;
  /* Distinct arguments (so at most six): one rule, the conditions ANDed.  */
  if (!repeated)
    return add_entry_names (p, names, path, action, (unsigned int)n, cmp, err);
  /* Conditions on one argument cannot be ANDed by libseccomp; as Docker
     and runc read such an entry, each becomes a rule of its own (OR).  */
  for (i = 0; i < n; i++)
    if (add_entry_names (p, names, path, action, 1, &cmp[i], err) < 0)
      return -1;
  return 0;
}

static uint32_t
arch_of (const char *s)
{
  char lower[32];
  size_t i;

  if (strncmp (s, "SCMP_ARCH_", 10) == 0)
    s += 10;
  for (i = 0; s[i] && i < sizeof lower - 1; i++)
    lower[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] - 'A' + 'a' : s[i]);
  lower[i] = '\0';
  return seccomp_arch_resolve_name (lower);
}

static int
arch_token (const struct profile_ctx *p, json_t *v, const char *path, uint32_t *ret,
            hutch_error_t *err)
{
  const char *s = json_string_value (v);
  const struct scmp_version *ver = seccomp_version ();

  if (s == NULL)
    return hutch_error_set (err, 0, "%s: %s must be a string such as \"SCMP_ARCH_X86_64\"", p->what,
                            path);
  *ret = arch_of (s);
  if (*ret == 0)
    return hutch_error_set (err, 0,
                            "%s: %s: architecture `%s` is unknown to this libseccomp (%u.%u.%u)",
                            p->what, path, s, ver->major, ver->minor, ver->micro);
  return 0;
}

static int
add_arch (const struct profile_ctx *p, json_t *v, const char *path, hutch_error_t *err)
{
  uint32_t arch;
  int r;

  if (arch_token (p, v, path, &arch, err) < 0)
    return -1;
  r = seccomp_arch_add (p->ctx, arch);
  if (r < 0 && r != -EEXIST)
    return hutch_error_set (err, -r, "%s: %s: libseccomp cannot add architecture `%s`", p->what,
                            path, json_string_value (v));
  return 0;
}

/* OCI's architectures, or the entry of Docker's archMap for this machine:
   the native architecture and the ones listed with it.  */
static int
parse_arches (const struct profile_ctx *p, json_t *profile, hutch_error_t *err)
{
  json_t *arches = json_object_get (profile, "architectures");
  json_t *map = json_object_get (profile, "archMap"), *v, *m;
  size_t i, j;
  char path[96];

  if (arches && !json_is_null (arches) && !json_is_array (arches))
    return hutch_error_set (err, 0, "%s: architectures must be a list", p->what);
  for (i = 0; i < json_array_size (arches); i++)
    {
      snprintf (path, sizeof path, "architectures[%zu]", i);
      if (add_arch (p, json_array_get (arches, i), path, err) < 0)
        return -1;
    }
  if (map && !json_is_null (map) && !json_is_array (map))
    return hutch_error_set (err, 0, "%s: archMap must be a list", p->what);
  for (i = 0; i < json_array_size (map); i++)
    {
      static const char *const keys[] = { "architecture", "subArchitectures", NULL };
      const char *name;
      m = json_array_get (map, i);
      snprintf (path, sizeof path, "archMap[%zu]", i);
      if (check_keys (m, keys, path, p->what, err) < 0
          || check_strings (p, json_object_get (m, "subArchitectures"), path, "subArchitectures",
                            err)
                 < 0)
        return -1;
      name = json_string_value (json_object_get (m, "architecture"));
      if (name == NULL)
        return hutch_error_set (err, 0, "%s: %s.architecture must be a string", p->what, path);
      /* Only this machine's entry counts.  libseccomp knows its own
         architecture, so a name it does not know (a newer port, such as
         LoongArch for libseccomp 2.5) is another machine's.  */
      if (arch_of (name) != seccomp_arch_native ())
        continue;
      v = json_object_get (m, "subArchitectures");
      for (j = 0; j < json_array_size (v); j++)
        {
          snprintf (path, sizeof path, "archMap[%zu].subArchitectures[%zu]", i, j);
          if (add_arch (p, json_array_get (v, j), path, err) < 0)
            return -1;
        }
    }
  return 0;
}

static int
parse_flags (const struct profile_ctx *p, json_t *flags, unsigned int *ret, hutch_error_t *err)
{
  size_t i;
  json_t *v;

  *ret = 0;
  if (flags && !json_is_null (flags) && !json_is_array (flags))
    return hutch_error_set (err, 0, "%s: flags must be a list", p->what);
  json_array_foreach (flags, i, v)
  {
    const char *s = json_string_value (v);
    if (s && strcmp (s, "SECCOMP_FILTER_FLAG_LOG") == 0)
      *ret |= SECCOMP_FILTER_FLAG_LOG;
    else if (s && strcmp (s, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0)
      *ret |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    else if (s && strcmp (s, "SECCOMP_FILTER_FLAG_TSYNC") == 0)
      ; /* the container's process has one thread when the filter comes */
    else
      return hutch_error_set (err, 0,
                              "%s: flags[%zu]: `%s` is not one of SECCOMP_FILTER_FLAG_LOG, "
                              "SECCOMP_FILTER_FLAG_SPEC_ALLOW, SECCOMP_FILTER_FLAG_TSYNC",
                              p->what, i, s ? s : "(not a string)");
  }
  return 0;
}

int
hutch_seccomp_from_json (json_t *profile, const char *what, const struct hutch_spec *spec,
                         struct hutch_seccomp **ret, hutch_error_t *err)
{
  static const char *const keys[]
      = { "defaultAction", "defaultErrnoRet", "defaultErrno", "architectures",    "archMap",
          "flags",         "syscalls",        "listenerPath", "listenerMetadata", NULL };
  struct profile_ctx p = { .what = what, .spec = spec, .native = go_arch_name () };
  json_t *syscalls, *v;
  unsigned int flags, def_errno = EPERM;
  size_t i;
  int r = -1;

  if (check_keys (profile, keys, "the profile", what, err) < 0)
    return -1;
  v = json_object_get (profile, "listenerPath");
  if (json_is_string (v) && json_string_value (v)[0] != '\0')
    return hutch_error_set (err, 0, "%s: listenerPath: seccomp agents are not supported by hutch",
                            what);
  /* podman's format names errnos ("defaultErrno": "ENOSYS") */
  if (parse_errno (&p, json_object_get (profile, "defaultErrnoRet"),
                   json_object_get (profile, "defaultErrno"), "", "defaultErrnoRet", "defaultErrno",
                   &def_errno, err)
      < 0)
    return -1;
  if (json_object_get (profile, "defaultAction") == NULL)
    return hutch_error_set (err, 0, "%s: defaultAction is missing (e.g. \"SCMP_ACT_ERRNO\")", what);
  if (parse_action (&p, json_object_get (profile, "defaultAction"), def_errno, "defaultAction",
                    &p.def_action, err)
      < 0)
    return -1;
  if (parse_flags (&p, json_object_get (profile, "flags"), &flags, err) < 0)
    return -1;
  syscalls = json_object_get (profile, "syscalls");
  if (syscalls && !json_is_null (syscalls) && !json_is_array (syscalls))
    return hutch_error_set (err, 0, "%s: syscalls must be a list", what);
  uname (&p.uts);

  p.ctx = new_ctx (p.def_action, err);
  if (p.ctx == NULL)
    return hutch_error_prefix (err, "%s", what);
  if (parse_arches (&p, profile, err) < 0)
    goto out;
  for (i = 0; i < json_array_size (syscalls); i++)
    if (parse_entry (&p, json_array_get (syscalls, i), i, err) < 0)
      goto out;
  r = hutch_sc_export (p.ctx, p.def_action, flags, ret, err);
  if (r < 0)
    hutch_error_prefix (err, "%s", what);
out:
  seccomp_release (p.ctx);
  return r;
}

int
hutch_seccomp_from_file (const char *path, const struct hutch_spec *spec, const char *cache_dir,
                         struct hutch_seccomp **ret, hutch_error_t *err)
{
  _cleanup_free_ char *text = NULL, *what = NULL, *key = NULL;
  struct hutch_seccomp *cached;
  json_error_t jerr;
  json_t *root;
  size_t len;
  int r;

  if (hutch_read_file (path, PROFILE_MAX, &text, &len, err) < 0)
    return hutch_error_prefix (err, "seccomp profile");
  key = cache_dir ? cache_key (spec, "file", text, len) : NULL;
  cached = key ? cache_read (cache_dir, key) : NULL;
  if (cached)
    {
      *ret = cached;
      return 0;
    }
  what = hutch_xasprintf ("seccomp profile %s", path);
  root = json_loadb (text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL)
    return hutch_error_set (err, 0, "%s is not valid JSON: line %d, column %d: %s%s", what,
                            jerr.line, jerr.column, jerr.text,
                            strstr (jerr.text, "too big integer")
                                ? " (write a value above 9223372036854775807 as the negative "
                                  "number with the same 64 bits, e.g. -1 for 0xffffffffffffffff)"
                                : "");
  r = hutch_seccomp_from_json (root, what, spec, ret, err);
  json_decref (root);
  if (r == 0 && key)
    cache_write (cache_dir, key, *ret);
  return r;
}

int
hutch_seccomp_install (const struct hutch_seccomp *filter, hutch_error_t *err)
{
  struct sock_fprog prog = { .len = filter->len, .filter = filter->insns };

  if (syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, filter->flags, &prog) < 0)
    {
      if (errno == EACCES)
        return hutch_error_set (err, errno,
                                "cannot install the seccomp filter without no_new_privs or "
                                "CAP_SYS_ADMIN");
      if (errno == EINVAL && filter->flags)
        return hutch_error_set (err, errno,
                                "cannot install the seccomp filter: the kernel refuses its flags "
                                "(SECCOMP_FILTER_FLAG_*); remove them from the profile");
      return hutch_error_set (err, errno,
                              "cannot install the seccomp filter (a kernel without "
                              "CONFIG_SECCOMP_FILTER?); --security-opt seccomp=unconfined runs "
                              "without one");
    }
  return 0;
}

void
hutch_seccomp_free (struct hutch_seccomp *filter)
{
  if (filter == NULL)
    return;
  free (filter->insns);
  free (filter);
}
