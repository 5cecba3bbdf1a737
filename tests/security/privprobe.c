/* SPDX-License-Identifier: GPL-2.0-or-later */
/* privprobe: what does a setuid or file-capability binary of a hostile
   image get when a container runs it?  setuid.bats builds this static and
   installs copies of it in an image: setuid root, setuid to another id, and
   with file capabilities.

     privprobe [PATH...]     print "uid R E", "gid R E", "caps PRM EFF INH"
                             (hex, from capget) and, for each PATH,
                             "read PATH ok|ERRNO" and "write PATH ok|ERRNO"
                             (an open for writing; nothing is written)
     privprobe setfcap FILE PERMITTED INHERITABLE
                             give FILE file capabilities: the two sets as
                             64-bit hex masks, effective bit set (a version
                             2 security.capability, which the kernel stores
                             as version 3, tied to the root of the writer's
                             user namespace)

   Reports only; the test compares with what the namespace's root may
   have.  */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

static const char *
ename (int e)
{
  const char *n = strerrorname_np (e);
  return n ? n : strerror (e);
}

static void
try_open (const char *verb, const char *path, int flags)
{
  int fd = open (path, flags | O_CLOEXEC | O_NOCTTY);

  if (fd < 0)
    printf ("%s %s %s\n", verb, path, ename (errno));
  else
    {
      printf ("%s %s ok\n", verb, path);
      close (fd);
    }
}

static int
probe (int argc, char **argv)
{
  struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct d[2];
  uid_t ru, eu, su;
  gid_t rg, eg, sg;
  int i;

  getresuid (&ru, &eu, &su);
  getresgid (&rg, &eg, &sg);
  printf ("uid %u %u\n", (unsigned)ru, (unsigned)eu);
  printf ("gid %u %u\n", (unsigned)rg, (unsigned)eg);
  memset (d, 0, sizeof d);
  if (syscall (SYS_capget, &h, d) < 0)
    printf ("caps %s\n", ename (errno));
  else
    printf ("caps %08x%08x %08x%08x %08x%08x\n", d[1].permitted, d[0].permitted, d[1].effective,
            d[0].effective, d[1].inheritable, d[0].inheritable);
  for (i = 0; i < argc; i++)
    {
      try_open ("read", argv[i], O_RDONLY);
      try_open ("write", argv[i], O_WRONLY);
    }
  fflush (stdout);
  return 0;
}

static int
setfcap (const char *file, const char *permitted, const char *inheritable)
{
  unsigned long long p = strtoull (permitted, NULL, 16), i = strtoull (inheritable, NULL, 16);
  struct
  {
    uint32_t magic_etc;
    struct
    {
      uint32_t permitted, inheritable;
    } data[2];
  } cap = { VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE,
            { { (uint32_t)p, (uint32_t)i }, { (uint32_t)(p >> 32), (uint32_t)(i >> 32) } } };

  if (setxattr (file, "security.capability", &cap, sizeof cap, 0) < 0)
    {
      fprintf (stderr, "privprobe: setxattr %s: %s\n", file, strerror (errno));
      return 1;
    }
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc == 5 && strcmp (argv[1], "setfcap") == 0)
    return setfcap (argv[2], argv[3], argv[4]);
  return probe (argc - 1, argv + 1);
}
