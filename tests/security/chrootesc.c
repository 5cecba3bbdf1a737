/* SPDX-License-Identifier: GPL-2.0-or-later */
/* chrootesc: the classic way out of a chroot.  A process with
   CAP_SYS_CHROOT (container root has it, as in Docker) keeps a descriptor
   of its root, chroots into a subdirectory, fchdirs back to the
   descriptor, which now lies outside its root, climbs with `..` as far as
   it goes and chroots there: under a runtime that used chroot, that is the
   host's root.  hutch uses pivot_root and detaches the old root, so the
   climb must end at the container's own root.  files.bats builds this
   static.

     chrootesc PATH   try it, then print "chroot-escape found" when PATH
                      (a host path that does not exist in the container)
                      can be reached, "chroot-escape absent" otherwise;
                      a failed step is reported as "STEP ERRNO" before  */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void
failed (const char *step)
{
  const char *n = strerrorname_np (errno);
  printf ("%s %s\n", step, n ? n : strerror (errno));
}

int
main (int argc, char **argv)
{
  int fd, i;

  if (argc != 2)
    {
      fprintf (stderr, "usage: chrootesc PATH\n");
      return 2;
    }
  fd = open ("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    failed ("open");
  else if (mkdir ("/tmp/.chrootesc", 0700) < 0 && errno != EEXIST)
    failed ("mkdir");
  else if (chroot ("/tmp/.chrootesc") < 0)
    failed ("chroot");
  else if (fchdir (fd) < 0)
    failed ("fchdir");
  else
    {
      for (i = 0; i < 256; i++)
        if (chdir ("..") < 0)
          break;
      if (chroot (".") < 0)
        failed ("chroot-back");
    }
  printf ("chroot-escape %s\n", access (argv[1], F_OK) == 0 ? "found" : "absent");
  return 0;
}
