/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* The owner-override attribute's text (base/override.c): the forms
   containers/storage and fuse-overlayfs write, and what is refused.  */

#include "tap.h"
#include "base/override.h"

#include <string.h>
#include <sys/stat.h>

static void
parses (const char *text, unsigned int uid, unsigned int gid, unsigned int mode, unsigned int maj,
        unsigned int min)
{
  struct hutch_override o;
  int r = hutch_override_parse (text, strlen (text), &o);
  ok (r == 0 && o.uid == uid && o.gid == gid && o.mode == mode && o.major == maj && o.minor == min,
      "`%s` is %u:%u mode %o dev %u,%u (got r=%d %u:%u %o %u,%u)", text, uid, gid, mode, maj, min,
      r, (unsigned)o.uid, (unsigned)o.gid, (unsigned)o.mode, o.major, o.minor);
}

static void
refused (const char *text, size_t len)
{
  struct hutch_override o;
  ok (hutch_override_parse (text, len, &o) < 0, "`%.*s` is refused", (int)len, text);
}

static void
round_trip (const char *text)
{
  struct hutch_override o;
  char buf[HUTCH_OVERRIDE_MAX];
  size_t n;

  ok (hutch_override_parse (text, strlen (text), &o) == 0, "`%s` parses", text);
  n = hutch_override_format (&o, buf);
  is_str (buf, text, "`%s` formats back (got `%s`)", text, buf);
  ok (n == strlen (text), "its length is %zu", n);
}

int
main (void)
{
  parses ("0:0:0755", 0, 0, 0755, 0, 0);
  parses ("42:65534:0700", 42, 65534, 0700, 0, 0);
  parses ("1234:1234:04755", 1234, 1234, 04755, 0, 0);
  parses ("1:2:644", 1, 2, 0644, 0, 0);
  parses ("4294967294:7:0600", 4294967294u, 7, 0600, 0, 0);
  parses ("0:0:0644:char-1-3", 0, 0, S_IFCHR | 0644, 1, 3);
  parses ("5:6:0600:block-8-17", 5, 6, S_IFBLK | 0600, 8, 17);
  parses ("0:0:0755:dir", 0, 0, S_IFDIR | 0755, 0, 0);
  parses ("0:0:0644:file", 0, 0, S_IFREG | 0644, 0, 0);
  parses ("0:0:0777:symlink", 0, 0, S_IFLNK | 0777, 0, 0);
  /* getxattr gives no NUL; some writers include one */
  {
    struct hutch_override o;
    ok (hutch_override_parse ("7:8:0644\0", 9, &o) == 0 && o.uid == 7 && o.gid == 8,
        "a trailing NUL is the end");
    ok (hutch_override_parse ("7:8:0644xxx", 8, &o) == 0 && o.mode == 0644,
        "only LEN bytes are read");
  }
  refused ("", 0);
  refused ("0:0", 3);
  refused ("0:0:", 4);
  refused ("a:0:0644", 8);
  refused ("-1:0:0644", 9);
  refused ("4294967295:0:0644", 17); /* (uid_t)-1 is "no change", no owner */
  refused ("99999999999:0:0644", 18);
  refused ("0:0:0800", 8);
  refused ("0:0:017777", 10);
  refused ("0:0:0644:", 9);
  refused ("0:0:0644:char", 14);
  refused ("0:0:0644:char-1", 15);
  refused ("0:0:0644:char-1-", 16);
  refused ("0:0:0644:char-1-3x", 18);
  refused ("0:0:0644:fifo", 13);
  refused ("0:0:0644:file:", 14);
  refused ("0:0:0644 ", 9);
  refused ("0:0:0644\0x", 10);
  {
    char longer[HUTCH_OVERRIDE_MAX + 8];
    memset (longer, '0', sizeof longer);
    refused (longer, sizeof longer);
  }
  round_trip ("42:65534:0700");
  round_trip ("0:0:0644:char-1-3");
  round_trip ("0:6:0660:block-4294967295-4294967295");
  return tap_done ();
}
