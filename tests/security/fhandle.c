/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fhandle: can a container open a host file by its file handle?  With
   open_by_handle_at a process names an inode by (filesystem, handle) alone,
   without any path: Docker's "shocker" escape (2014) opened the host's
   root directory that way from a bind mount's file system.  Linux 6.10
   lets a process with CAP_DAC_READ_SEARCH in the user namespace that owns
   a mount use handles through it, but only for inodes below that mount's
   root.  files.bats builds this static and uses it on both sides:

     fhandle get PATH           on the host: print PATH's handle as
                                "TYPE:HEXBYTES" (name_to_handle_at)
     fhandle open DIR HANDLE    inside the container: open HANDLE through
                                the file system of DIR (open_by_handle_at,
                                DIR as the mount fd); print "ok dir
                                NAME..." (its first entries), "ok file
                                LINE" (its first line) or "open ERRNO"  */

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_BYTES 128

static int
get (const char *path)
{
  struct file_handle *fh = calloc (1, sizeof *fh + MAX_BYTES);
  int mnt;
  unsigned i;

  if (!fh)
    return 1;
  fh->handle_bytes = MAX_BYTES;
  if (name_to_handle_at (AT_FDCWD, path, fh, &mnt, 0) < 0)
    {
      fprintf (stderr, "fhandle: name_to_handle_at %s: %s\n", path, strerror (errno));
      return 77;
    }
  printf ("%d:", fh->handle_type);
  for (i = 0; i < fh->handle_bytes; i++)
    printf ("%02x", fh->f_handle[i]);
  printf ("\n");
  return 0;
}

static int
open_handle (const char *dir, const char *spec)
{
  struct file_handle *fh = calloc (1, sizeof *fh + MAX_BYTES);
  const char *hex = strchr (spec, ':');
  struct stat st;
  unsigned n = 0;
  int mfd, fd;

  if (!fh || !hex)
    {
      fprintf (stderr, "fhandle: bad handle `%s`\n", spec);
      return 2;
    }
  fh->handle_type = atoi (spec);
  for (hex++; hex[0] && hex[1] && n < MAX_BYTES; hex += 2)
    {
      unsigned b;
      if (sscanf (hex, "%2x", &b) != 1)
        return 2;
      fh->f_handle[n++] = (unsigned char)b;
    }
  fh->handle_bytes = n;
  mfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (mfd < 0)
    {
      fprintf (stderr, "fhandle: open %s: %s\n", dir, strerror (errno));
      return 1;
    }
  fd = open_by_handle_at (mfd, fh, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      const char *e = strerrorname_np (errno);
      printf ("open %s\n", e ? e : strerror (errno));
      return 0;
    }
  if (fstat (fd, &st) == 0 && S_ISDIR (st.st_mode))
    {
      DIR *d = fdopendir (fd);
      struct dirent *de;
      printf ("ok dir");
      while (d && (de = readdir (d)))
        printf (" %s", de->d_name);
      printf ("\n");
    }
  else
    {
      char line[256] = "";
      ssize_t r = read (fd, line, sizeof line - 1);
      line[r > 0 ? r : 0] = '\0';
      line[strcspn (line, "\n")] = '\0';
      printf ("ok file %s\n", line);
    }
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc == 3 && strcmp (argv[1], "get") == 0)
    return get (argv[2]);
  if (argc == 4 && strcmp (argv[1], "open") == 0)
    return open_handle (argv[2], argv[3]);
  fprintf (stderr, "usage: fhandle get PATH | fhandle open DIR TYPE:HEX\n");
  return 2;
}
