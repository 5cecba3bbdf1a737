/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* A transient scope with Delegate=yes from the user's systemd manager, as
   `systemd-run --user --scope -p Delegate=yes` would make: one
   StartTransientUnit call (org.freedesktop.systemd1(5)) naming our pid,
   then a wait for the JobRemoved signal of the job it returns.

   The manager is reached as systemctl --user reaches it: first its own
   socket, $XDG_RUNTIME_DIR/systemd/private (a direct connection that needs
   no D-Bus daemon: hosts without dbus-user-session still have it), then
   the user bus.  systemd, not hutch, moves the process: from a login
   session's scope, which the user does not own, a user manager has the
   system manager do it (AttachProcessesToUnit).  The system's manager is
   reached as root through /run/systemd/private alone: it is there
   wherever systemd is PID 1.  */

#ifdef HAVE_SD_BUS
#include <systemd/sd-bus.h>
#include "base/lazylib.h"
#endif

#include "runtime/sdscope.h"
#include "runtime/spec.h"
#include "base/paths.h"
#include "base/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Is DIR/NAME a socket of ours?  Over su or sudo, XDG_RUNTIME_DIR often
   still names the first user's directory.  */
static bool
own_socket (const char *dir, const char *name)
{
  _cleanup_free_ char *path = hutch_xasprintf ("%s/%s", dir, name);
  struct stat st;
  return lstat (path, &st) == 0 && S_ISSOCK (st.st_mode) && st.st_uid == getuid ();
}

bool
hutch_sdscope_available (void)
{
  const char *addr = getenv ("DBUS_SESSION_BUS_ADDRESS");
  const char *dir = hutch_paths_xdg_runtime ();

  if (addr && *addr)
    return true;
  return dir && (own_socket (dir, "systemd/private") || own_socket (dir, "bus"));
}

#ifndef HAVE_SD_BUS

static int
no_sd_bus (const char *unit, hutch_error_t *err)
{
  return hutch_error_set (err, 0,
                          "cannot ask systemd for the scope %s: hutch was built without "
                          "libsystemd (sd-bus); rebuild it with libsystemd-dev installed, or use "
                          "the cgroupfs cgroup manager",
                          unit);
}

int
hutch_sdscope_enter (const char *unit, hutch_error_t *err)
{
  hutch_error_set (err, 0,
                   "cannot ask systemd for a delegated scope %s: hutch was built without "
                   "libsystemd (sd-bus); rebuild it with libsystemd-dev installed, or start it "
                   "in a delegated scope yourself: `systemd-run --user --scope -p Delegate=yes "
                   "hutch ...`",
                   unit);
  return -1;
}

int
hutch_sdscope_start (bool system, const char *unit, const char *slice, pid_t pid,
                     const struct hutch_resource *res, size_t n, hutch_error_t *err)
{
  (void)system, (void)slice, (void)pid, (void)res, (void)n;
  return no_sd_bus (unit, err);
}

int
hutch_sdscope_set_limits (bool system, const char *unit, const struct hutch_resource *res, size_t n,
                          hutch_error_t *err)
{
  (void)system, (void)res, (void)n;
  return no_sd_bus (unit, err);
}

#else

#define SCOPE_TIMEOUT_USEC (10 * UINT64_C (1000000))

static const char no_manager_fix[]
    = "is `systemd --user` running?  A login through PAM (ssh, a desktop, `machinectl shell "
      "USER@`; not su or sudo) starts it, and `loginctl enable-linger USER` keeps one running "
      "without a login";

/* The manager a message speaks of.  */
static const char *
who (bool system)
{
  return system ? "systemd (PID 1)" : "the user's systemd manager";
}

static uint64_t
now_usec (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* What is left until DEADLINE; never 0, which sd-bus takes as its default
   of 25 s.  */
static uint64_t
left_usec (uint64_t deadline)
{
  uint64_t now = now_usec ();
  return now < deadline ? deadline - now : 1;
}

/* Not sd_bus_flush_close_unref: a flush first waits for the connection to
   be set up, for as long as sd-bus's own authentication timeout (90 s).
   Nothing is left to send once we are done.  */
static sd_bus *
bus_close_unref (sd_bus *bus)
{
  if (bus != NULL)
    {
      sd_bus_close (bus);
      sd_bus_unref (bus);
    }
  return NULL;
}

/* PATH escaped for a D-Bus address ("unix:path=..."): bytes other than
   [A-Za-z0-9_/.-] as %XX.  */
static char *
address_escape (const char *path)
{
  static const char hex[] = "0123456789abcdef";
  char *out = hutch_xmalloc0 (strlen (path) * 3 + 1), *o = out;
  const unsigned char *p;

  for (p = (const unsigned char *)path; *p; p++)
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
        || strchr ("_/.-", *p))
      *o++ = (char)*p;
    else
      {
        *o++ = '%';
        *o++ = hex[*p >> 4];
        *o++ = hex[*p & 15];
      }
  return out;
}

/* A direct connection to a manager's own socket DIR/systemd/private, which
   OWNER owns, or NULL.  Failures are not errors: the user bus is tried
   next, as systemctl does.  */
static sd_bus *
open_private (const char *dir, uid_t owner)
{
  _cleanup_free_ char *esc = NULL, *addr = NULL, *path = NULL;
  struct ucred cred;
  struct stat st;
  socklen_t len = sizeof cred;
  sd_bus *bus = NULL;

  if (dir == NULL)
    return NULL;
  path = hutch_xasprintf ("%s/systemd/private", dir);
  if (lstat (path, &st) < 0 || !S_ISSOCK (st.st_mode) || st.st_uid != owner)
    return NULL;
  esc = address_escape (dir);
  addr = hutch_xasprintf ("unix:path=%s/systemd/private", esc);
  if (sd_bus_new (&bus) < 0)
    return NULL;
  if (sd_bus_set_address (bus, addr) < 0 || sd_bus_start (bus) < 0)
    return bus_close_unref (bus);
  /* The peer must be the manager we meant, not whoever could bind a
     socket there between the check above and the connect.  */
  if (getsockopt (sd_bus_get_fd (bus), SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0
      || cred.uid != owner)
    return bus_close_unref (bus);
  return bus;
}

static int
connect_manager (bool system, sd_bus **ret_bus, bool *ret_direct, hutch_error_t *err)
{
  const char *addr = getenv ("DBUS_SESSION_BUS_ADDRESS");
  sd_bus *bus;
  int r;

  if (system)
    {
      /* Only root may talk to PID 1 there, and only root needs to.  */
      bus = geteuid () == 0 ? open_private ("/run", 0) : NULL;
      if (bus == NULL)
        return hutch_error_set (err, 0,
                                "cannot reach systemd (PID 1) at /run/systemd/private%s; "
                                "use the cgroupfs cgroup manager where systemd is not the "
                                "init system",
                                geteuid () == 0 ? "" : " (only root can)");
      *ret_bus = bus;
      *ret_direct = true;
      return 0;
    }
  bus = open_private (hutch_paths_xdg_runtime (), getuid ());
  if (bus != NULL)
    {
      *ret_bus = bus;
      *ret_direct = true;
      return 0;
    }
  if ((addr == NULL || *addr == '\0') && hutch_paths_xdg_runtime () == NULL)
    {
      hutch_error_set (err, 0,
                       "cannot find the user's systemd manager: neither XDG_RUNTIME_DIR nor "
                       "DBUS_SESSION_BUS_ADDRESS is set; log in through PAM (ssh, a desktop, "
                       "`machinectl shell USER@`; not su or sudo), or set "
                       "XDG_RUNTIME_DIR=/run/user/%u",
                       (unsigned)getuid ());
      return -1;
    }
  r = sd_bus_open_user (&bus);
  if (r < 0)
    {
      hutch_error_set (err, -r, "cannot connect to the user's systemd manager at %s%s",
                       addr && *addr ? addr : hutch_paths_xdg_runtime (),
                       addr && *addr ? "" : "/bus");
      hutch_error_append (err, "%s", no_manager_fix);
      return -1;
    }
  *ret_bus = bus;
  *ret_direct = false;
  return 0;
}

struct job_wait
{
  const char *job; /* the job's object path, once StartTransientUnit answered */
  char *result;    /* its JobRemoved result: "done", "failed", ... */
};

static int
on_job_removed (sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
  struct job_wait *w = userdata;
  const char *path, *unit, *result;
  uint32_t id;

  (void)ret_error;
  if (sd_bus_message_read (m, "uoss", &id, &path, &unit, &result) < 0)
    return 0;
  /* Signals are dispatched only by sd_bus_process, after sd_bus_call has
     returned the job's path: one that came before the reply waited in the
     queue.  */
  if (w->job && w->result == NULL && strcmp (path, w->job) == 0)
    w->result = hutch_xstrdup (result);
  return 0;
}

/* Run BUS until it is ready for calls.  sd_bus_call bounds the wait for its
   reply, but not the authentication and the Hello before it (90 s in
   sd-bus, when a peer accepts and says nothing): do those within
   DEADLINE.  */
static int
wait_ready (sd_bus *bus, bool system, uint64_t deadline, hutch_error_t *err)
{
  for (;;)
    {
      int r = sd_bus_is_ready (bus);
      if (r > 0)
        return 0;
      if (r == 0)
        r = sd_bus_process (bus, NULL);
      if (r > 0)
        continue;
      if (r == 0 && now_usec () >= deadline)
        r = -ETIMEDOUT;
      else if (r == 0)
        r = sd_bus_wait (bus, left_usec (deadline));
      if (r < 0 && r != -EINTR)
        {
          hutch_error_set (err, -r, "cannot connect to %s", who (system));
          return -1;
        }
    }
}

/* ---- limits as unit properties ------------------------------------- */

/* A cgroup v2 value as systemd's uint64 ("max": infinity).  */
static bool
u64_value (const char *v, uint64_t *ret)
{
  char *end;
  if (strcmp (v, "max") == 0)
    {
      *ret = UINT64_MAX;
      return true;
    }
  if (!isdigit ((unsigned char)*v))
    return false;
  errno = 0;
  *ret = strtoull (v, &end, 10);
  return errno == 0 && *end == '\0';
}

/* "0-3,8" as systemd's CPU or NUMA node mask: bit I of byte I/8 for
   each listed I.  NULL when it is not such a list.  */
static uint8_t *
cpu_mask (const char *list, size_t *ret_len)
{
  enum
  {
    MAX_ID = 8191
  };
  uint8_t *mask = hutch_xmalloc0 (MAX_ID / 8 + 1);
  const char *p = list;
  size_t len = 0;

  while (*p)
    {
      char *end;
      unsigned long a, b, i;
      if (!isdigit ((unsigned char)*p))
        goto bad;
      a = b = strtoul (p, &end, 10);
      if (*end == '-')
        {
          if (!isdigit ((unsigned char)end[1]))
            goto bad;
          b = strtoul (end + 1, &end, 10);
        }
      if (a > b || b > MAX_ID || (*end != ',' && *end != '\0'))
        goto bad;
      for (i = a; i <= b; i++)
        mask[i / 8] |= (uint8_t)(1u << (i % 8));
      if (b / 8 + 1 > len)
        len = b / 8 + 1;
      p = *end ? end + 1 : end;
    }
  *ret_len = len;
  return mask;
bad:
  free (mask);
  return NULL;
}

static int
append_u64 (sd_bus_message *m, const char *name, uint64_t v)
{
  return sd_bus_message_append (m, "(sv)", name, "t", v);
}

static int
append_mask (sd_bus_message *m, const char *name, const uint8_t *mask, size_t len)
{
  int r = sd_bus_message_open_container (m, 'r', "sv");
  if (r >= 0)
    r = sd_bus_message_append (m, "s", name);
  if (r >= 0)
    r = sd_bus_message_open_container (m, 'v', "ay");
  if (r >= 0)
    r = sd_bus_message_append_array (m, 'y', mask, len);
  if (r >= 0)
    r = sd_bus_message_close_container (m);
  if (r >= 0)
    r = sd_bus_message_close_container (m);
  return r;
}

/* The property of one setting, when systemd has one; other files (the
   rest of linux.resources.unified) systemd leaves alone.  A value systemd
   could not take is left to the file's write, which says why.  */
static int
append_limit (sd_bus_message *m, const struct hutch_resource *r)
{
  static const struct
  {
    const char *file, *property;
  } plain[] = {
    { "memory.max", "MemoryMax" },          { "memory.high", "MemoryHigh" },
    { "memory.low", "MemoryLow" },          { "memory.min", "MemoryMin" },
    { "memory.swap.max", "MemorySwapMax" }, { "pids.max", "TasksMax" },
    { "cpu.weight", "CPUWeight" },
  };
  uint64_t v, period;
  size_t i;

  for (i = 0; i < sizeof plain / sizeof plain[0]; i++)
    if (strcmp (r->file, plain[i].file) == 0)
      return u64_value (r->value, &v) ? append_u64 (m, plain[i].property, v) : 0;
  if (strcmp (r->file, "cpu.max") == 0)
    {
      /* "QUOTA PERIOD" in µs; systemd counts the quota per second.  */
      char quota[32];
      if (sscanf (r->value, "%31s %" SCNu64, quota, &period) != 2 || period == 0
          || !u64_value (quota, &v))
        return 0;
      if (v != UINT64_MAX)
        v = v * UINT64_C (1000000) / period;
      if (append_u64 (m, "CPUQuotaPerSecUSec", v) < 0)
        return -1;
      return append_u64 (m, "CPUQuotaPeriodUSec", period);
    }
  if (strcmp (r->file, "io.weight") == 0)
    return sscanf (r->value, "default %" SCNu64, &v) == 1 ? append_u64 (m, "IOWeight", v) : 0;
  if (strcmp (r->file, "cpuset.cpus") == 0 || strcmp (r->file, "cpuset.mems") == 0)
    {
      size_t len;
      _cleanup_free_ uint8_t *mask = cpu_mask (r->value, &len);
      if (mask == NULL)
        return 0;
      return append_mask (m, r->file[7] == 'c' ? "AllowedCPUs" : "AllowedMemoryNodes", mask, len);
    }
  return 0;
}

static int
append_limits (sd_bus_message *m, const struct hutch_resource *res, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++)
    if (append_limit (m, &res[i]) < 0)
      return -1;
  return 0;
}

/* ---- the calls ------------------------------------------------------ */

struct scope
{
  bool system;
  const char *unit, *slice;
  pid_t pid;
  const struct hutch_resource *res;
  size_t n;
};

/* What the manager said to a call that failed (R < 0, ERROR), in ERR.  */
static void
call_error (const struct scope *sc, const char *what, int r, const sd_bus_error *error,
            hutch_error_t *err)
{
  if (error->name != NULL
      && (strcmp (error->name, "org.freedesktop.DBus.Error.ServiceUnknown") == 0
          || strcmp (error->name, "org.freedesktop.DBus.Error.NameHasNoOwner") == 0
          || strncmp (error->name, "org.freedesktop.DBus.Error.Spawn.", 33) == 0))
    {
      /* A session bus without systemd on it (dbus-launch, or a
         dbus-daemon started by hand): dbus-daemon may even try to start
         org.freedesktop.systemd1 itself, through a .service file whose
         Exec is /bin/false.  */
      hutch_error_set (err, 0, "no systemd manager on the user's bus (%s)",
                       error->message ? error->message : error->name);
      hutch_error_append (err, "%s", no_manager_fix);
    }
  /* sd-bus names its own failures (a timeout, a lost connection)
     System.Error.E...: those are errno values, not systemd's answer.  */
  else if (error->name == NULL || strncmp (error->name, "System.Error.", 13) == 0)
    hutch_error_set (err, -r, "cannot ask %s to %s %s", who (sc->system), what, sc->unit);
  else
    hutch_error_set (err, 0, "%s refused to %s %s: %s (%s)", who (sc->system), what, sc->unit,
                     error->message ? error->message : "no message", error->name);
}

/* StartTransientUnit(UNIT, "fail", properties, no auxiliary units).  */
static int
start_unit (sd_bus *bus, const struct scope *sc, uint64_t timeout, char **ret_job,
            hutch_error_t *err)
{
  sd_bus_error error = SD_BUS_ERROR_NULL;
  sd_bus_message *m = NULL, *reply = NULL;
  const char *job;
  int r;

  r = sd_bus_message_new_method_call (bus, &m, "org.freedesktop.systemd1",
                                      "/org/freedesktop/systemd1",
                                      "org.freedesktop.systemd1.Manager", "StartTransientUnit");
  if (r >= 0)
    r = sd_bus_message_append (m, "ss", sc->unit, "fail");
  if (r >= 0)
    r = sd_bus_message_open_container (m, 'a', "(sv)");
  /* CollectMode: a scope that failed to start is unloaded rather than left
     behind as a failed unit with our name.  */
  if (r >= 0)
    r = sd_bus_message_append (m, "(sv)(sv)(sv)(sv)", "Description", "s", "hutch container", "PIDs",
                               "au", 1, (uint32_t)sc->pid, "Delegate", "b", 1, "CollectMode", "s",
                               "inactive-or-failed");
  if (r >= 0 && sc->slice && *sc->slice)
    r = sd_bus_message_append (m, "(sv)", "Slice", "s", sc->slice);
  if (r >= 0)
    r = append_limits (m, sc->res, sc->n);
  if (r >= 0)
    r = sd_bus_message_close_container (m);
  if (r >= 0)
    r = sd_bus_message_append (m, "a(sa(sv))", 0);
  if (r < 0)
    {
      hutch_error_set (err, -r, "cannot build the D-Bus request for %s", sc->unit);
      goto out;
    }
  r = sd_bus_call (bus, m, timeout, &error, &reply);
  if (r < 0)
    {
      call_error (sc, "create", r, &error, err);
      goto out;
    }
  r = sd_bus_message_read (reply, "o", &job);
  if (r < 0)
    {
      hutch_error_set (err, -r, "unexpected answer from %s for %s", who (sc->system), sc->unit);
      goto out;
    }
  *ret_job = hutch_xstrdup (job);
out:
  sd_bus_error_free (&error);
  sd_bus_message_unref (m);
  sd_bus_message_unref (reply);
  return r < 0 ? -1 : 0;
}

/* Run the connection until JobRemoved named W's job, or until DEADLINE.  */
static int
wait_job (sd_bus *bus, struct job_wait *w, const struct scope *sc, uint64_t deadline,
          hutch_error_t *err)
{
  while (w->result == NULL)
    {
      int r = sd_bus_process (bus, NULL);
      if (r < 0)
        {
          hutch_error_set (err, -r, "lost %s while it started %s", who (sc->system), sc->unit);
          return -1;
        }
      if (r > 0 || w->result != NULL)
        continue;
      if (now_usec () >= deadline)
        {
          hutch_error_set (err, 0, "%s did not start %s within %d s", who (sc->system), sc->unit,
                           (int)(SCOPE_TIMEOUT_USEC / 1000000));
          return -1;
        }
      r = sd_bus_wait (bus, left_usec (deadline));
      if (r < 0 && r != -EINTR)
        {
          hutch_error_set (err, -r, "lost %s while it started %s", who (sc->system), sc->unit);
          return -1;
        }
    }
  if (strcmp (w->result, "done") != 0)
    {
      /* A scope fails to start mostly when the manager cannot move the
         process into it: a user's manager may write only inside
         user@UID.service, and from elsewhere (a login session's scope) it
         asks the system manager, which needs systemd 238 or later as
         PID 1.  */
      hutch_error_set (err, 0,
                       "%s could not start %s (job result \"%s\"): most often it could not "
                       "move the process into it; `journalctl %s-u %s` may say more",
                       who (sc->system), sc->unit, w->result, sc->system ? "" : "--user ",
                       sc->unit);
      return -1;
    }
  return 0;
}

/* Wait until BUS is ready, and check that the peer is SC's manager (or
   the user's bus daemon): another user's socket, named by a stray
   $DBUS_SESSION_BUS_ADDRESS, is not asked anything.  */
static int
ready_and_ours (sd_bus *bus, const struct scope *sc, uint64_t deadline, hutch_error_t *err)
{
  struct ucred cred;
  socklen_t len = sizeof cred;

  if (wait_ready (bus, sc->system, deadline, err) < 0)
    return -1;
  if (getsockopt (sd_bus_get_fd (bus), SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0
      || cred.uid != (sc->system ? 0 : getuid ()))
    return hutch_error_set (err, 0,
                            "the user bus at hand belongs to another user: not asking it for "
                            "%s (check $DBUS_SESSION_BUS_ADDRESS and $XDG_RUNTIME_DIR)",
                            sc->unit);
  return 0;
}

static int
load_and_connect (const struct scope *sc, sd_bus **ret_bus, bool *ret_direct, hutch_error_t *err)
{
  if (hutch_libsystemd_load (err) < 0)
    return hutch_error_prefix (err, "cannot ask systemd for the scope %s", sc->unit);
  return connect_manager (sc->system, ret_bus, ret_direct, err);
}

static int
start_scope (const struct scope *sc, hutch_error_t *err)
{
  uint64_t deadline = now_usec () + SCOPE_TIMEOUT_USEC;
  struct job_wait w = { NULL, NULL };
  _cleanup_free_ char *job = NULL;
  sd_bus *bus = NULL;
  bool direct = false;
  int r, ret = -1;

  if (load_and_connect (sc, &bus, &direct, err) < 0)
    return -1;
  /* Before the call, so that the signal cannot be missed.  On the bus,
     AddMatch goes out before StartTransientUnit and the daemon handles them
     in order; on a direct connection there is no sender and every signal
     comes to us.  */
  r = sd_bus_match_signal_async (bus, NULL, direct ? NULL : "org.freedesktop.systemd1",
                                 "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
                                 "JobRemoved", on_job_removed, NULL, &w);
  if (r < 0)
    {
      hutch_error_set (err, -r, "cannot watch the jobs of %s", who (sc->system));
      goto out;
    }
  if (ready_and_ours (bus, sc, deadline, err) < 0)
    goto out;
  if (start_unit (bus, sc, left_usec (deadline), &job, err) < 0)
    goto out;
  w.job = job;
  if (wait_job (bus, &w, sc, deadline, err) < 0)
    goto out;
  ret = 0;
out:
  free (w.result);
  bus_close_unref (bus);
  return ret;
}

int
hutch_sdscope_enter (const char *unit, hutch_error_t *err)
{
  struct scope sc = { false, unit, NULL, getpid (), NULL, 0 };
  return start_scope (&sc, err);
}

int
hutch_sdscope_start (bool system, const char *unit, const char *slice, pid_t pid,
                     const struct hutch_resource *res, size_t n, hutch_error_t *err)
{
  struct scope sc = { system, unit, slice, pid, res, n };
  return start_scope (&sc, err);
}

int
hutch_sdscope_set_limits (bool system, const char *unit, const struct hutch_resource *res, size_t n,
                          hutch_error_t *err)
{
  struct scope sc = { system, unit, NULL, 0, res, n };
  uint64_t deadline = now_usec () + SCOPE_TIMEOUT_USEC;
  sd_bus_error error = SD_BUS_ERROR_NULL;
  sd_bus_message *m = NULL, *reply = NULL;
  sd_bus *bus = NULL;
  bool direct;
  int r = -1;

  if (load_and_connect (&sc, &bus, &direct, err) < 0
      || ready_and_ours (bus, &sc, deadline, err) < 0)
    goto out;
  r = sd_bus_message_new_method_call (bus, &m, "org.freedesktop.systemd1",
                                      "/org/freedesktop/systemd1",
                                      "org.freedesktop.systemd1.Manager", "SetUnitProperties");
  /* runtime: for as long as the unit runs, as its other properties */
  if (r >= 0)
    r = sd_bus_message_append (m, "sb", unit, 1);
  if (r >= 0)
    r = sd_bus_message_open_container (m, 'a', "(sv)");
  if (r >= 0)
    r = append_limits (m, res, n);
  if (r >= 0)
    r = sd_bus_message_close_container (m);
  if (r < 0)
    {
      hutch_error_set (err, -r, "cannot build the D-Bus request for %s", unit);
      goto out;
    }
  r = sd_bus_call (bus, m, left_usec (deadline), &error, &reply);
  if (r < 0)
    call_error (&sc, "change the limits of", r, &error, err);
out:
  sd_bus_error_free (&error);
  sd_bus_message_unref (m);
  sd_bus_message_unref (reply);
  bus_close_unref (bus);
  return r < 0 ? -1 : 0;
}

#endif
