/* SPDX-License-Identifier: GPL-2.0-or-later */
/* keyring: can a container read a key of the user who started it?  The
   kernel's keyrings are not in any namespace hutch creates: a process
   keeps its session keyring across clone and execve, and it "possesses"
   every key found by searching it, so a container that runs in its
   caller's session keyring can read the user's Kerberos tickets, eCryptfs
   or fscrypt keys and the like (runc gives each container a session
   keyring of its own for this reason; Docker's seccomp profile also denies
   keyctl, add_key and request_key).  kernel.bats builds this static and
   uses it on both sides:

     keyring host DESC VALUE CMD [ARG...]
                  on the host: join a new session keyring named
                  "hutch-test-session", add a "user" key DESC holding VALUE
                  to it (as pam_keyinit and kinit would), put the key's
                  serial number in $KEYRING_SERIAL and run CMD
     keyring find DESC [SERIAL]
                  inside the container: search the session keyring, the
                  user keyring and the user session keyring for DESC, read
                  SERIAL directly, and join the host's session keyring by
                  its name and search it; one line each, "NAME found VALUE"
                  or "NAME ERRNO"

   Uses the system calls directly: no libkeyutils is needed.  */

#define _GNU_SOURCE
#include <errno.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SESSION_NAME "hutch-test-session"

static const char *
ename (int e)
{
  const char *n = strerrorname_np (e);
  return n ? n : strerror (e);
}

/* read key ID: print "NAME found VALUE" or "NAME ERRNO" */
static void
read_key (const char *name, long id)
{
  char buf[4096];
  long n;

  if (id < 0)
    {
      printf ("%s %s\n", name, ename (errno));
      return;
    }
  n = syscall (SYS_keyctl, KEYCTL_READ, id, buf, sizeof buf - 1);
  if (n < 0)
    {
      printf ("%s read-%s\n", name, ename (errno));
      return;
    }
  buf[n < (long)sizeof buf - 1 ? n : (long)sizeof buf - 1] = '\0';
  printf ("%s found %s\n", name, buf);
}

static long
search (long keyring, const char *desc)
{
  return syscall (SYS_keyctl, KEYCTL_SEARCH, keyring, "user", desc, 0);
}

static int
find (const char *desc, const char *serial)
{
  long ring;

  read_key ("session", search (KEY_SPEC_SESSION_KEYRING, desc));
  read_key ("user", search (KEY_SPEC_USER_KEYRING, desc));
  read_key ("user-session", search (KEY_SPEC_USER_SESSION_KEYRING, desc));
  if (serial)
    read_key ("serial", strtol (serial, NULL, 10));
  /* Joining a keyring by name finds an existing one only if the caller may
     search it; otherwise a new, empty one is made.  */
  ring = syscall (SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, SESSION_NAME);
  if (ring < 0)
    printf ("join-by-name %s\n", ename (errno));
  else
    read_key ("join-by-name", search (ring, desc));
  fflush (stdout);
  return 0;
}

static int
host (const char *desc, const char *value, char **argv)
{
  char num[32];
  long key;

  if (syscall (SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, SESSION_NAME) < 0)
    {
      fprintf (stderr, "keyring: join a session keyring: %s\n", strerror (errno));
      return 77;
    }
  key = syscall (SYS_add_key, "user", desc, value, strlen (value), KEY_SPEC_SESSION_KEYRING);
  if (key < 0)
    {
      fprintf (stderr, "keyring: add_key: %s\n", strerror (errno));
      return 77;
    }
  snprintf (num, sizeof num, "%ld", key);
  setenv ("KEYRING_SERIAL", num, 1);
  execvp (argv[0], argv);
  fprintf (stderr, "keyring: exec %s: %s\n", argv[0], strerror (errno));
  return 127;
}

int
main (int argc, char **argv)
{
  if ((argc == 3 || argc == 4) && strcmp (argv[1], "find") == 0)
    return find (argv[2], argc == 4 ? argv[3] : NULL);
  if (argc >= 5 && strcmp (argv[1], "host") == 0)
    return host (argv[2], argv[3], argv + 4);
  fprintf (stderr, "usage: keyring host DESC VALUE CMD [ARG...] | keyring find DESC [SERIAL]\n");
  return 2;
}
