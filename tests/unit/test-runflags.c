/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* The parsers behind hutch run's everyday flags: --ulimit and rlimit names,
   signal names (--stop-signal), --device, --pid/--ipc/--uts.  */

#include "base/signame.h"
#include "base/util.h"
#include "front/run.h"
#include "runtime/devices.h"
#include "runtime/rlimit.h"
#include "runtime/spec.h"
#include "tap.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>

static void
test_ulimit (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_rlimit rl;
  struct hutch_spec *spec = hutch_spec_new ();
  struct rlimit own;

  ok (hutch_ulimit_parse ("nofile=100:200", &rl, &err) == 0 && rl.resource == RLIMIT_NOFILE
          && rl.soft == 100 && rl.hard == 200,
      "--ulimit nofile=100:200");
  ok (hutch_ulimit_parse ("core=0", &rl, &err) == 0 && rl.soft == 0 && rl.hard == 0,
      "SOFT alone is the hard limit too");
  ok (hutch_ulimit_parse ("stack=-1:unlimited", &rl, &err) == 0 && rl.soft == RLIM_INFINITY
          && rl.hard == RLIM_INFINITY,
      "-1 and unlimited are no limit");
  ok (hutch_ulimit_parse ("nofile=300:200", &rl, &err) < 0, "soft above hard is refused");
  has_str (err.msg, "soft limit is above", "... saying so");
  hutch_error_clear (&err);
  ok (hutch_ulimit_parse ("files=1", &rl, &err) < 0, "an unknown name is refused");
  has_str (err.msg, "nofile", "... listing the names");
  hutch_error_clear (&err);
  ok (hutch_ulimit_parse ("nofile=1k", &rl, &err) < 0, "units are refused");
  hutch_error_clear (&err);
  ok (hutch_ulimit_parse ("nofile", &rl, &err) < 0, "a name without a value is refused");
  hutch_error_clear (&err);
  ok (hutch_rlimit_from_name ("RLIMIT_NPROC") == RLIMIT_NPROC
          && hutch_rlimit_from_name ("nproc") == RLIMIT_NPROC
          && hutch_rlimit_from_name ("RLIMIT_nproc") < 0 && hutch_rlimit_from_name ("NPROC") < 0,
      "names: Docker's in lower case, OCI's in upper case with RLIMIT_");

  getrlimit (RLIMIT_NOFILE, &own);
  rl = (struct hutch_rlimit){ RLIMIT_NOFILE, 1, own.rlim_max };
  hutch_spec_set_rlimit (spec, &rl);
  ok (hutch_rlimits_check (spec, &err) == 0, "a hard limit at one's own passes");
  hutch_error_clear (&err);
  if (getuid () != 0 && own.rlim_max != RLIM_INFINITY)
    {
      rl.hard = own.rlim_max + 1;
      hutch_spec_set_rlimit (spec, &rl);
      ok (spec->n_rlimits == 1, "a second value of a limit replaces the first");
      ok (hutch_rlimits_check (spec, &err) < 0, "a hard limit above one's own is refused");
      has_str (err.msg, "LimitNOFILE=", "... naming the fix");
      hutch_error_clear (&err);
    }
  hutch_spec_free (spec);
}

static void
test_signals (void)
{
  ok (hutch_signal_from_name ("TERM") == SIGTERM && hutch_signal_from_name ("SIGTERM") == SIGTERM
          && hutch_signal_from_name ("sigterm") == SIGTERM && hutch_signal_from_name ("15") == 15,
      "TERM, SIGTERM, sigterm and 15");
  ok (hutch_signal_from_name ("RTMIN+3") == SIGRTMIN + 3
          && hutch_signal_from_name ("SIGRTMAX-1") == SIGRTMAX - 1,
      "RTMIN+N and RTMAX-N");
  ok (hutch_signal_from_name ("0") < 0 && hutch_signal_from_name ("65") < 0
          && hutch_signal_from_name ("FOO") < 0 && hutch_signal_from_name ("") < 0
          && hutch_signal_from_name ("RTMIN+99") < 0,
      "0, numbers past the last, unknown names are not signals");
}

/* --device VALUE fails with an error that has WANT.  */
static void
device_refused (const char *value, const char *want)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_device *d = NULL;
  size_t n = 0;

  ok (hutch_device_parse (value, &d, &n, &err) < 0 && n == 0, "--device %s is refused", value);
  has_str (err.msg, want, "... saying `%s`", want);
  hutch_error_clear (&err);
  free (d);
}

static void
test_devices (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_spec *spec = hutch_spec_new ();

  ok (hutch_device_parse ("/dev/null", &spec->devices, &spec->n_devices, &err) == 0
          && spec->n_devices == 1 && spec->devices[0].read && spec->devices[0].write
          && strcmp (spec->devices[0].path, "/dev/null") == 0,
      "--device /dev/null: at the same path, with the access one has");
  ok (hutch_device_parse ("/dev/null:/x/nul:rw", &spec->devices, &spec->n_devices, &err) == 0
          && spec->n_devices == 2 && strcmp (spec->devices[1].path, "/x/nul") == 0
          && strcmp (spec->devices[1].host_path, "/dev/null") == 0,
      "HOST:CONTAINER:PERMS");
  ok (hutch_device_parse ("/dev/zero:wr", &spec->devices, &spec->n_devices, &err) == 0
          && spec->n_devices == 3 && strcmp (spec->devices[2].path, "/dev/zero") == 0,
      "HOST:PERMS, letters in any order");
  ok (hutch_devices_check (spec, &err) == 0, "the nodes check out on the host (%s)",
      err.msg ? err.msg : "");
  hutch_error_clear (&err);
  hutch_spec_free (spec);

  device_refused ("/dev/null:rwm", "`m` (mknod) cannot be granted");
  device_refused ("/dev/null:rx", "unknown letter `x`");
  device_refused ("/dev/null:/d:rr", "`r` is twice");
  device_refused ("/dev/null:r", "cannot take that away");
  device_refused ("/etc/passwd", "not a device node");
  device_refused ("/no/such/dev", "does not exist");
  device_refused ("dev/null", "HOSTPATH must be absolute");
  device_refused ("/dev/null:rel/path:rw", "neither an absolute CONTAINERPATH");
  device_refused ("/dev/null:/a:rw:x", "expected HOSTPATH");
}

static void
test_ns_modes (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  bool host = false;

  ok (hutch_run_ns_mode ("--pid", "host", &host, &err) == 0 && host, "--pid host");
  ok (hutch_run_ns_mode ("--pid", "private", &host, &err) == 0 && !host, "--pid private");
  ok (hutch_run_ns_mode ("--ipc", "container:abc", &host, &err) < 0, "--ipc container: refused");
  has_str (err.msg, "not supported yet", "... which hutch cannot do yet");
  hutch_error_clear (&err);
  ok (hutch_run_ns_mode ("--uts", "ns:/proc/1/ns/uts", &host, &err) < 0, "--uts ns:PATH refused");
  has_str (err.msg, "setns", "... because the kernel refuses setns there");
  hutch_error_clear (&err);
  ok (hutch_run_ns_mode ("--pid", "hots", &host, &err) < 0, "a typo is refused");
  hutch_error_clear (&err);
}

int
main (void)
{
  test_ulimit ();
  test_signals ();
  test_devices ();
  test_ns_modes ();
  return tap_done ();
}
