/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* seccomp profiles (hutch's default, Docker and OCI JSON) into BPF, and
   what the BPF does: each filter is installed in a child process, which
   makes one call and exits with the errno it got.  */

#include "runtime/spec.h"
#include "runtime/sysfilter.h"
#include "tap.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- calls made under a filter ---------------------------------------- */

static long
c_getppid (void)
{
  return syscall (SYS_getppid);
}
static long
c_keyctl (void)
{
  return syscall (SYS_keyctl, 0 /* GET_KEYRING_ID */, -2 /* process keyring */, 0);
}
static long
c_clone3 (void)
{
  return syscall (SYS_clone3, NULL, 0UL);
}
static long
c_unshare_user (void)
{
  return unshare (CLONE_NEWUSER);
}
static long
c_unshare_files (void)
{
  return unshare (CLONE_FILES);
}
static long
c_personality_norandom (void)
{
  return personality (PER_LINUX | ADDR_NO_RANDOMIZE) < 0 ? -1 : 0;
}
static long
c_personality_query (void)
{
  return personality (0xffffffff) < 0 ? -1 : 0;
}
static long
c_personality_8 (void)
{
  return personality (8) < 0 ? -1 : 0;
}
static long
c_personality_uname26 (void)
{
  return personality (0x20000) < 0 ? -1 : 0;
}
static long
c_unknown (void)
{
  /* far above any call a kernel has today */
  return syscall (1000);
}
static long
c_unknown_x32 (void)
{
  return syscall (0x40000000L | 1000);
}
static long
c_vsock (void)
{
  long fd = syscall (SYS_socket, 40 /* AF_VSOCK */, 1 /* SOCK_STREAM */, 0);
  if (fd >= 0)
    close ((int)fd);
  return fd;
}
static long
c_unix (void)
{
  long fd = syscall (SYS_socket, 1 /* AF_UNIX */, 1 /* SOCK_STREAM */, 0);
  if (fd >= 0)
    close ((int)fd);
  return fd;
}
static long
c_mount (void)
{
  /* EINVAL or ENOENT from the kernel (no such type); EPERM from a filter or
     without CAP_SYS_ADMIN */
  return syscall (SYS_mount, "none", "/nonexistent-hutch", "hutch-none", 0UL, NULL);
}

static bool
seccomp_native_is_amd64 (void)
{
#ifdef __x86_64__
  return true;
#else
  return false;
#endif
}

/* Run CALL in a child under FILTER: 0 when it succeeded, else its errno;
   -1 when the child did not exit normally, -2 when the install failed.  */
static int
under (const struct hutch_seccomp *filter, long (*call) (void))
{
  int status;
  pid_t pid = fork ();
  if (pid == 0)
    {
      hutch_error_t err = HUTCH_ERROR_INIT;
      if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || hutch_seccomp_install (filter, &err) < 0)
        _exit (254);
      errno = 0;
      _exit (call () < 0 ? (errno & 0xff) : 0);
    }
  if (pid < 0 || waitpid (pid, &status, 0) < 0 || !WIFEXITED (status))
    return -1;
  return WEXITSTATUS (status) == 254 ? -2 : WEXITSTATUS (status);
}

/* What a child under a strict allowlist needs to exit, also when the
   sanitizers' runtime (make check-sanitizers) does its own calls.  */
#define RUNTIME_CALLS                                                                              \
  "\"exit\", \"exit_group\", \"prctl\", \"seccomp\", \"brk\", \"mmap\", \"munmap\", "              \
  "\"mprotect\", \"madvise\", \"write\", \"read\", \"close\", \"openat\", \"fstat\", "             \
  "\"newfstatat\", \"readlink\", \"getpid\", \"gettid\", \"futex\", \"rt_sigprocmask\", "          \
  "\"rt_sigaction\", \"sigaltstack\", \"prlimit64\", \"getrlimit\", \"sched_yield\", "             \
  "\"clock_gettime\", \"nanosleep\", \"tgkill\", \"lseek\", \"ioctl\""

/* ---- profiles ----------------------------------------------------------- */

static struct hutch_seccomp *
json_profile (const char *text, const struct hutch_spec *spec, hutch_error_t *err)
{
  struct hutch_seccomp *f = NULL;
  json_error_t jerr;
  json_t *root = json_loads (text, 0, &jerr);
  if (root == NULL)
    {
      hutch_error_set (err, 0, "test bug: %s", jerr.text);
      return NULL;
    }
  if (hutch_seccomp_from_json (root, "test profile", spec, &f, err) < 0)
    f = NULL;
  json_decref (root);
  return f;
}

static char tmpdir[] = "/tmp/test-sysfilter.XXXXXX";

static struct hutch_seccomp *
file_profile (const char *text, const struct hutch_spec *spec, const char *cache,
              hutch_error_t *err)
{
  _cleanup_free_ char *path = hutch_xasprintf ("%s/profile.json", tmpdir);
  struct hutch_seccomp *f = NULL;
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || hutch_write_all (fd, text, strlen (text)) < 0)
    abort ();
  close (fd);
  if (hutch_seccomp_from_file (path, spec, cache, &f, err) < 0)
    return NULL;
  return f;
}

/* TEXT is refused with a message holding WANT.  */
static void
refused (const char *text, const char *want)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_spec *spec = hutch_spec_new ();
  struct hutch_seccomp *f = json_profile (text, spec, &err);
  ok (f == NULL && err.msg && strstr (err.msg, want), "refused, naming `%s`: %s", want,
      err.msg ? err.msg : "(accepted)");
  hutch_seccomp_free (f);
  hutch_error_clear (&err);
  hutch_spec_free (spec);
}

/* A spec whose bounding set is CAPS (NULL-terminated), or everything.  */
static struct hutch_spec *
spec_with (const char *const *caps)
{
  struct hutch_spec *spec = hutch_spec_new ();
  if (caps)
    {
      spec->has_caps = true;
      spec->cap_bounding = hutch_strv_dup ((char **)caps);
    }
  return spec;
}

static const char *const docker_caps[]
    = { "CAP_CHOWN", "CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_SYS_CHROOT", NULL };
static const char *const admin_caps[] = { "CAP_CHOWN", "CAP_SYS_ADMIN", NULL };

static void
test_default (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_spec *spec = spec_with (docker_caps), *admin = spec_with (admin_caps);
  struct hutch_seccomp *f = NULL, *fa = NULL;

  ok (hutch_seccomp_default (spec, NULL, &f, &err) == 0 && f && f->len > 0,
      "the default profile builds (%u instructions)", f ? f->len : 0);
  if (f == NULL)
    return;
  ok (under (f, c_getppid) == 0, "default: getppid is allowed");
  ok (under (f, c_keyctl) == EPERM, "default: keyctl is EPERM");
  ok (under (f, c_clone3) == ENOSYS, "default: clone3 is ENOSYS, for the C library's fallback");
  ok (under (f, c_unshare_user) == EPERM, "default: unshare(CLONE_NEWUSER) is EPERM");
  ok (under (f, c_unshare_files) == 0, "default: unshare(CLONE_FILES) is allowed");
  ok (under (f, c_personality_norandom) == EPERM,
      "default: personality(ADDR_NO_RANDOMIZE) is EPERM");
  ok (under (f, c_personality_query) == 0, "default: personality(0xffffffff) (a query) is allowed");
  ok (under (f, c_personality_uname26) == 0, "default: personality(UNAME26) is allowed");
  ok (under (f, c_mount) == EPERM, "default: mount is EPERM without CAP_SYS_ADMIN");
  ok (under (f, c_unknown) == ENOSYS, "default: a call newer than libseccomp's tables is ENOSYS");
  ok (under (f, c_unknown_x32) == ENOSYS, "default: the same through the x32 ABI");
  ok (under (f, c_vsock) == EPERM, "default: AF_VSOCK sockets are EPERM");
  ok (under (f, c_unix) == 0, "default: AF_UNIX sockets work");

  ok (hutch_seccomp_default (admin, NULL, &fa, &err) == 0 && fa, "default with CAP_SYS_ADMIN");
  if (fa)
    {
      int r = under (fa, c_mount);
      ok (r != EPERM || geteuid () != 0, "CAP_SYS_ADMIN: mount reaches the kernel (got %d)", r);
      ok (under (fa, c_clone3) != ENOSYS, "CAP_SYS_ADMIN: clone3 reaches the kernel");
      ok (under (fa, c_keyctl) == EPERM, "CAP_SYS_ADMIN: keyctl stays EPERM");
    }
  hutch_seccomp_free (f);
  hutch_seccomp_free (fa);
  hutch_spec_free (spec);
  hutch_spec_free (admin);
}

static void
test_json (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_spec *spec = spec_with (docker_caps), *admin = spec_with (admin_caps);
  struct hutch_seccomp *f;

  f = json_profile ("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
                    "[\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 42}]}",
                    spec, &err);
  ok (f != NULL, "OCI profile with errnoRet: %s", f ? "built" : err.msg);
  if (f)
    {
      ok (under (f, c_getppid) == 42, "errnoRet 42 comes back");
      ok (under (f, c_keyctl) != EPERM, "what the profile does not name is allowed");
    }
  hutch_seccomp_free (f);

  f = json_profile ("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"name\": "
                    "\"getppid\", \"action\": \"SCMP_ACT_ERRNO\"}]}",
                    spec, &err);
  ok (f && under (f, c_getppid) == EPERM, "Docker's older `name`, ERRNO defaults to EPERM");
  hutch_seccomp_free (f);

  f = json_profile (
      "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 38, "
      "\"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"],"
      "\"syscalls\": [{\"names\": [\"not_a_syscall\", \"getppid\", " RUNTIME_CALLS "], "
      "\"action\": \"SCMP_ACT_ALLOW\"}]}",
      spec, &err);
  ok (f != NULL, "unknown names are skipped: %s", f ? "built" : err.msg);
  if (f)
    {
      ok (under (f, c_getppid) == 0, "the allowed call works");
      ok (under (f, c_keyctl) == ENOSYS, "defaultErrnoRet 38 (ENOSYS) for the rest");
    }
  hutch_seccomp_free (f);

  /* podman's names for errnos; a newer call than libseccomp knows */
  f = json_profile ("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrno\": \"EACCES\", "
                    "\"syscalls\": [{\"names\": [\"getppid\", " RUNTIME_CALLS "], "
                    "\"action\": \"SCMP_ACT_ALLOW\"}, {\"names\": [\"keyctl\"], "
                    "\"action\": \"SCMP_ACT_ERRNO\", \"errno\": \"ENOKEY\"}]}",
                    spec, &err);
  ok (f != NULL, "podman's defaultErrno and errno: %s", f ? "built" : err.msg);
  if (f)
    {
      ok (under (f, c_keyctl) == ENOKEY, "errno \"ENOKEY\" comes back");
      ok (under (f, c_clone3) == EACCES, "defaultErrno \"EACCES\" for the rest");
      ok (under (f, c_unknown) == ENOSYS, "a call newer than libseccomp's tables: ENOSYS");
    }
  hutch_seccomp_free (f);

  /* Docker's archMap names architectures this libseccomp may not know */
  f = json_profile ("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"archMap\": [{\"architecture\": "
                    "\"SCMP_ARCH_LOONGARCH64\", \"subArchitectures\": []}, {\"architecture\": "
                    "\"SCMP_ARCH_X86_64\", \"subArchitectures\": [\"SCMP_ARCH_X86\"]}]}",
                    spec, &err);
  ok (f != NULL, "an archMap entry of an unknown architecture is another machine's: %s",
      f ? "built" : err.msg);
  hutch_seccomp_free (f);

  f = json_profile ("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
                    "{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 11,"
                    " \"excludes\": {\"minKernel\": \"3.0\"}},"
                    "{\"names\": [\"keyctl\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 12,"
                    " \"excludes\": {\"minKernel\": \"99.0\"}}]}",
                    spec, &err);
  ok (f && under (f, c_getppid) == 0 && under (f, c_keyctl) == 12,
      "excludes.minKernel: applies on older kernels only");
  hutch_seccomp_free (f);

  /* args: one rule, conditions ANDed; two on one argument: ORed */
  f = json_profile ("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
                    "[\"personality\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": ["
                    "{\"index\": 0, \"value\": 8, \"op\": \"SCMP_CMP_EQ\"},"
                    "{\"index\": 0, \"value\": 131072, \"op\": \"SCMP_CMP_EQ\"}]}]}",
                    spec, &err);
  ok (f != NULL, "two conditions on one argument: %s", f ? "built" : err.msg);
  if (f)
    {
      ok (under (f, c_personality_8) == EPERM, "first condition matches");
      ok (under (f, c_personality_uname26) == EPERM, "second condition matches (OR)");
      ok (under (f, c_personality_query) == 0, "neither: allowed");
    }
  hutch_seccomp_free (f);

  f = json_profile (
      "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
      "[\"personality\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": ["
      "{\"index\": 0, \"value\": 8, \"valueTwo\": 8, \"op\": \"SCMP_CMP_MASKED_EQ\"}]}]}",
      spec, &err);
  ok (f && under (f, c_personality_8) == EPERM && under (f, c_personality_uname26) == 0,
      "SCMP_CMP_MASKED_EQ with valueTwo");
  hutch_seccomp_free (f);

  /* includes / excludes */
  {
    const char *text
        = "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
          "{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 11,"
          " \"includes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}},"
          "{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 12,"
          " \"excludes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}}]}";
    struct hutch_seccomp *plain = json_profile (text, spec, &err);
    struct hutch_seccomp *adm = json_profile (text, admin, &err);
    ok (plain && under (plain, c_getppid) == 12, "excludes.caps: applies without the capability");
    ok (adm && under (adm, c_getppid) == 11, "includes.caps: applies with the capability");
    hutch_seccomp_free (plain);
    hutch_seccomp_free (adm);
  }
  f = json_profile ("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
                    "{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 11,"
                    " \"includes\": {\"minKernel\": \"99.0\"}},"
                    "{\"names\": [\"keyctl\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 12,"
                    " \"includes\": {\"minKernel\": \"3.0\", \"arches\": [\"amd64\"]}},"
                    "{\"names\": [\"clone3\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13,"
                    " \"excludes\": {\"arches\": [\"amd64\"]}}]}",
                    spec, &err);
  ok (f != NULL, "minKernel and arches: %s", f ? "built" : err.msg);
  if (f)
    {
      ok (under (f, c_getppid) == 0, "minKernel 99.0: not applied");
      ok (under (f, c_keyctl) == (seccomp_native_is_amd64 () ? 12 : 0),
          "minKernel 3.0 and arches amd64: applied here");
      ok (under (f, c_clone3) != 13 || !seccomp_native_is_amd64 (),
          "excludes.arches amd64: not applied");
    }
  hutch_seccomp_free (f);

  /* Docker's archMap and flags */
  f = json_profile ("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"archMap\": [{\"architecture\": "
                    "\"SCMP_ARCH_X86_64\", \"subArchitectures\": [\"SCMP_ARCH_X86\", "
                    "\"SCMP_ARCH_X32\"]}, {\"architecture\": \"SCMP_ARCH_AARCH64\", "
                    "\"subArchitectures\": [\"SCMP_ARCH_ARM\"]}], \"flags\": "
                    "[\"SECCOMP_FILTER_FLAG_LOG\"], \"syscalls\": []}",
                    spec, &err);
  ok (f != NULL && f->flags != 0, "archMap and flags: %s", f ? "built" : err.msg);
  hutch_seccomp_free (f);

  hutch_error_clear (&err);
  hutch_spec_free (spec);
  hutch_spec_free (admin);
}

static void
test_refusals (void)
{
  refused ("{\"syscalls\": []}", "defaultAction is missing");
  refused ("{\"defaultAction\": \"SCMP_ACT_NOPE\"}", "unknown action `SCMP_ACT_NOPE`");
  refused ("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"color\": 1}", "unknown key `color`");
  refused ("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"/run/agent.sock\"}",
           "listenerPath");
  refused ("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
           "\"action\": \"SCMP_ACT_NOTIFY\"}]}",
           "SCMP_ACT_NOTIFY");
  refused ("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
           "\"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": -1}]}",
           "errnoRet");
  refused ("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
           "\"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 6, \"value\": 1, \"op\": "
           "\"SCMP_CMP_EQ\"}]}]}",
           "syscalls[0].args[0].index");
  refused ("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
           "\"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"value\": 1, \"op\": "
           "\"SCMP_CMP_ABOUT\"}]}]}",
           "SCMP_CMP_ABOUT");
  refused ("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
           "\"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"value\": \"1\", \"op\": "
           "\"SCMP_CMP_EQ\"}]}]}",
           "syscalls[0].args[0].value must be an integer");
  refused ("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"action\": "
           "\"SCMP_ACT_ERRNO\"}]}",
           "syscalls[0] needs `names`");
  refused ("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
           "\"name\": \"write\", \"action\": \"SCMP_ACT_ERRNO\"}]}",
           "both `names` and `name`");
  refused ("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
           "\"action\": \"SCMP_ACT_ERRNO\", \"includes\": {\"kernel\": \"5\"}}]}",
           "syscalls[0].includes: unknown key `kernel`");
  refused ("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
           "\"action\": \"SCMP_ACT_ERRNO\", \"includes\": {\"minKernel\": \"five\"}}]}",
           "minKernel `five`");
  refused ("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_PDP11\"]}",
           "architecture `SCMP_ARCH_PDP11` is unknown to this libseccomp");
  refused ("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"SECCOMP_FILTER_FLAG_FAST\"]}",
           "SECCOMP_FILTER_FLAG_FAST");
  refused ("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": {}}", "syscalls must be a list");
  refused ("[1, 2]", "must be a JSON object");
  refused ("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"mount\"], "
           "\"action\": \"SCMP_ACT_ERRNO\", \"includes\": {\"caps\": \"CAP_SYS_ADMIN\"}}]}",
           "syscalls[0].includes.caps must be a list of strings");
  refused ("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"mount\"], "
           "\"action\": \"SCMP_ACT_ERRNO\", \"excludes\": {\"arches\": [1]}}]}",
           "syscalls[0].excludes.arches[0] must be a string");
  refused ("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"archMap\": [{\"architecture\": "
           "\"SCMP_ARCH_X86_64\", \"subArchitectures\": \"SCMP_ARCH_X86\"}]}",
           "archMap[0].subArchitectures must be a list");
  refused ("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrno\": \"EWHATEVER\"}",
           "`EWHATEVER` is not an errno name");
  refused ("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
           "\"action\": \"SCMP_ACT_ERRNO\", \"errno\": \"EPERM\", \"errnoRet\": 13}]}",
           "disagree");
  refused ("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"color\": 1}", "(known: defaultAction");
}

static void
test_files_and_cache (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_spec *spec = spec_with (docker_caps), *admin = spec_with (admin_caps);
  _cleanup_free_ char *cache = hutch_xasprintf ("%s/cache", tmpdir);
  struct hutch_seccomp *a = NULL, *b = NULL, *c = NULL, *f;
  struct stat st;

  f = file_profile ("{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\",\n  \"syscalls\": [,]\n}\n", spec,
                    NULL, &err);
  ok (f == NULL && err.msg && strstr (err.msg, "line 3, column"),
      "a syntax error names its line and column: %s", err.msg ? err.msg : "(accepted)");
  hutch_error_clear (&err);
  ok (hutch_seccomp_from_file ("/nonexistent/profile.json", spec, NULL, &f, &err) < 0 && err.msg
          && strstr (err.msg, "/nonexistent/profile.json"),
      "a missing file is named: %s", err.msg ? err.msg : "(accepted)");
  hutch_error_clear (&err);

  /* the cache: a second build reads what the first wrote */
  ok (hutch_seccomp_default (spec, cache, &a, &err) == 0, "default, cache empty");
  ok (stat (cache, &st) == 0 && (st.st_mode & 0777) == 0700, "the cache directory is 0700");
  ok (hutch_seccomp_default (spec, cache, &b, &err) == 0 && a && b && a->len == b->len
          && memcmp (a->insns, b->insns, a->len * sizeof (struct sock_filter)) == 0,
      "default, from the cache: the same instructions");
  ok (hutch_seccomp_default (admin, cache, &c, &err) == 0 && c && a
          && (c->len != a->len
              || memcmp (a->insns, c->insns, a->len * sizeof (struct sock_filter))),
      "another bounding set: another filter");
  ok (c && under (c, c_keyctl) == EPERM && under (b, c_unshare_user) == EPERM,
      "filters read back work");

  /* a damaged cache file is never used: flip one byte of each file's
     instructions (an allow-all filter would pass keyctl through) */
  {
    _cleanup_free_ char *cmd
        = hutch_xasprintf ("for f in '%s'/seccomp-*.bpf; do printf '\\377' | dd of=\"$f\" bs=1 "
                           "seek=$(( $(stat -c %%s \"$f\") - 20 )) conv=notrunc status=none; done",
                           cache);
    struct hutch_seccomp *d = NULL, *fresh = NULL;
    ok (system (cmd) == 0, "damage the cache files");
    ok (hutch_seccomp_default (spec, cache, &d, &err) == 0
            && hutch_seccomp_default (spec, NULL, &fresh, &err) == 0 && d->len == fresh->len
            && memcmp (d->insns, fresh->insns, d->len * sizeof (struct sock_filter)) == 0,
        "a damaged cache file is rebuilt: the filter is built afresh");
    hutch_seccomp_free (d);
    hutch_seccomp_free (fresh);
  }

  /* writing a new entry removes entries not rewritten for 30 days */
  {
    _cleanup_free_ char *old = hutch_xasprintf ("%s/seccomp-0000000000000000.bpf", cache);
    _cleanup_free_ char *tmp = hutch_xasprintf ("%s/seccomp-0000000000000001.bpf.1.tmp", cache);
    _cleanup_free_ char *young = hutch_xasprintf ("%s/seccomp-0000000000000002.bpf", cache);
    struct timespec times[2] = { { time (NULL) - 40 * 86400, 0 }, { time (NULL) - 40 * 86400, 0 } };
    struct timespec hour[2] = { { time (NULL) - 7200, 0 }, { time (NULL) - 7200, 0 } };
    const char *const sys_nice[] = { "CAP_SYS_NICE", NULL };
    struct hutch_spec *nice_spec = spec_with (sys_nice);
    struct hutch_seccomp *d = NULL;
    int fd1 = open (old, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    int fd2 = open (tmp, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    int fd3 = open (young, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd1 < 0 || fd2 < 0 || fd3 < 0 || futimens (fd1, times) < 0 || futimens (fd2, hour) < 0)
      abort ();
    close (fd1);
    close (fd2);
    close (fd3);
    ok (hutch_seccomp_default (nice_spec, cache, &d, &err) == 0, "a new cache entry");
    ok (access (old, F_OK) < 0 && access (tmp, F_OK) < 0 && access (young, F_OK) == 0,
        "entries older than 30 days and leftovers of a crash are removed, recent ones kept");
    hutch_seccomp_free (d);
    hutch_spec_free (nice_spec);
  }

  /* a profile file whose text is "default" is not the default profile */
  {
    struct hutch_seccomp *d = file_profile ("default", spec, cache, &err);
    ok (d == NULL && err.msg && strstr (err.msg, "not valid JSON"),
        "a file holding `default` is read as JSON, not taken from the cache: %s",
        err.msg ? err.msg : "(accepted)");
    hutch_seccomp_free (d);
    hutch_error_clear (&err);
  }
  hutch_seccomp_free (a);
  hutch_seccomp_free (b);
  hutch_seccomp_free (c);

  /* a file profile that changes is built again */
  a = file_profile ("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
                    "[\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 21}]}",
                    spec, cache, &err);
  b = file_profile ("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
                    "[\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 22}]}",
                    spec, cache, &err);
  ok (a && b && under (a, c_getppid) == 21 && under (b, c_getppid) == 22,
      "an edited profile file is not served from the cache");
  hutch_seccomp_free (a);
  hutch_seccomp_free (b);

  hutch_error_clear (&err);
  hutch_spec_free (spec);
  hutch_spec_free (admin);
}

int
main (void)
{
  if (mkdtemp (tmpdir) == NULL)
    abort ();
  test_default ();
  test_json ();
  test_refusals ();
  test_files_and_cache ();
  {
    _cleanup_free_ char *cmd = hutch_xasprintf ("rm -rf '%s'", tmpdir);
    if (system (cmd) != 0)
      printf ("# could not remove %s\n", tmpdir);
  }
  return tap_done ();
}
