/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "fuzz.h"
#include "runtime/spec.h"
#include "runtime/sysfilter.h"
#include "base/util.h"

/* A seccomp profile (--security-opt seccomp=FILE, linux.seccomp), built
   into BPF for a container with Docker's default capabilities and for one
   with CAP_SYS_ADMIN, which select other includes/excludes.  */
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const char *const docker[] = { "CAP_CHOWN", "CAP_KILL", "CAP_SYS_CHROOT", NULL };
  static const char *const admin[] = { "CAP_SYS_ADMIN", "CAP_SYS_PTRACE", NULL };
  const char *const *sets[] = { docker, admin };
  json_error_t jerr;
  json_t *root;
  size_t i;

  root = json_loadb ((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL)
    return 0;
  for (i = 0; i < 2; i++)
    {
      struct hutch_spec *spec = hutch_spec_new ();
      struct hutch_seccomp *f = NULL;
      hutch_error_t err = HUTCH_ERROR_INIT;
      spec->has_caps = true;
      spec->cap_bounding = hutch_strv_dup ((char **)sets[i]);
      if (hutch_seccomp_from_json (root, "fuzz", spec, &f, &err) == 0)
        hutch_seccomp_free (f);
      hutch_error_clear (&err);
      hutch_spec_free (spec);
    }
  json_decref (root);
  return 0;
}
