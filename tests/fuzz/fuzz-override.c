/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "fuzz.h"
#include "base/override.h"

#include <string.h>
#include <sys/stat.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct hutch_override o, back;

  /* The attribute comes from files a container wrote: any bytes.  What
     parses formats to a text that parses to the same.  */
  if (hutch_override_parse ((const char *)data, size, &o) == 0)
    {
      char buf[HUTCH_OVERRIDE_MAX];
      size_t n = hutch_override_format (&o, buf);
      if (n == 0 || n >= sizeof buf || hutch_override_parse (buf, n, &back) < 0 || back.uid != o.uid
          || back.gid != o.gid || (back.mode & 07777) != (o.mode & 07777)
          || ((o.mode & S_IFMT) == S_IFCHR || (o.mode & S_IFMT) == S_IFBLK
                  ? back.major != o.major || back.minor != o.minor || back.mode != o.mode
                  : 0))
        abort ();
    }
  return 0;
}
