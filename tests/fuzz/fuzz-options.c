/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "runtime/caps.h"
#include "fuzz.h"
#include "base/parse.h"
#include "runtime/resources.h"
#include "runtime/spec.h"
#include "base/util.h"

static void
fuzz_check_volume (const struct hutch_volume *v)
{
  if (v->destination[0] != '/')
    abort ();
  if (v->kind == HUTCH_VOLUME_BIND && v->source[0] != '/')
    abort ();
  if (v->kind == HUTCH_VOLUME_NAMED && !hutch_volume_name_valid (v->source))
    abort ();
  if ((v->kind == HUTCH_VOLUME_ANONYMOUS || v->kind == HUTCH_VOLUME_TMPFS) && v->source)
    abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *text = fuzz_str (data, size);
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_volume v;
  char *a = NULL, *b = NULL, **list = NULL;

  if (hutch_parse_volume (text, "/cwd", &v, &err) == 0)
    {
      /* What passes has an absolute destination, and a source that is an
         absolute path, a volume's name (never a path) or none.  */
      fuzz_check_volume (&v);
      hutch_volume_clear (&v);
    }
  if (hutch_parse_mount (text, "/cwd", &v, &err) == 0)
    {
      fuzz_check_volume (&v);
      hutch_volume_clear (&v);
    }
  if (hutch_parse_env (text, &a, &err) == 0)
    free (a);
  if (hutch_parse_env_file (text, "fuzz", &list, &err) == 0)
    hutch_strv_free (list);
  if (hutch_parse_user (text, &a, &b, &err) == 0)
    {
      free (a);
      free (b);
    }
  if (hutch_parse_tmpfs (text, &a, &b, &err) == 0)
    {
      free (a);
      free (b);
    }
  /* Limits and capabilities as typed: every option takes the same text.  */
  {
    struct hutch_limits l = { 0 };
    struct hutch_spec *spec = hutch_spec_new ();
    char *one[2] = { text, NULL };
    int64_t n;
    if (hutch_parse_bytes (text, &n) == 0 && n < 0)
      abort ();
    hutch_error_clear (&err);
    if (hutch_cgroup_key_check (text, &err) == 0 && (strchr (text, '/') || text[0] == '.'))
      abort (); /* a key never leaves the container's cgroup directory */
    hutch_error_clear (&err);
    l.memory = l.memory_reservation = l.memory_swap = l.pids_limit = text;
    l.cpus = l.cpu_shares = l.cpuset_cpus = l.cpuset_mems = l.blkio_weight = text;
    l.conf = one;
    if (hutch_limits_to_spec (&l, spec, &err) < 0)
      hutch_error_clear (&err);
    if (hutch_caps_plan (spec, one, one, false, &err) < 0)
      hutch_error_clear (&err);
    hutch_spec_free (spec);
  }
  hutch_error_clear (&err);
  free (text);
  return 0;
}
