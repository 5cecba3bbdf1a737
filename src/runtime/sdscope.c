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
   system manager do it (AttachProcessesToUnit).  */

#ifdef HAVE_SD_BUS
#include <systemd/sd-bus.h>
#include "base/lazylib.h"
#endif

#include "runtime/sdscope.h"
#include "base/paths.h"
#include "base/util.h"

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

#else

#define SCOPE_TIMEOUT_USEC (10 * UINT64_C (1000000))

static const char no_manager_fix[]
    = "is `systemd --user` running?  A login through PAM (ssh, a desktop, `machinectl shell "
      "USER@`; not su or sudo) starts it, and `loginctl enable-linger USER` keeps one running "
      "without a login";

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

/* A direct connection to the manager's own socket, or NULL.  Failures are
   not errors: the user bus is tried next, as systemctl does.  */
static sd_bus *
open_private (void)
{
  const char *dir = hutch_paths_xdg_runtime ();
  _cleanup_free_ char *esc = NULL, *addr = NULL;
  struct ucred cred;
  socklen_t len = sizeof cred;
  sd_bus *bus = NULL;

  if (dir == NULL || !own_socket (dir, "systemd/private"))
    return NULL;
  esc = address_escape (dir);
  addr = hutch_xasprintf ("unix:path=%s/systemd/private", esc);
  if (sd_bus_new (&bus) < 0)
    return NULL;
  if (sd_bus_set_address (bus, addr) < 0 || sd_bus_start (bus) < 0)
    return bus_close_unref (bus);
  /* The peer must be our own manager, not whoever could bind a socket
     there between the check above and the connect.  */
  if (getsockopt (sd_bus_get_fd (bus), SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0
      || cred.uid != getuid ())
    return bus_close_unref (bus);
  return bus;
}

static int
connect_manager (sd_bus **ret_bus, bool *ret_direct, hutch_error_t *err)
{
  const char *addr = getenv ("DBUS_SESSION_BUS_ADDRESS");
  sd_bus *bus = open_private ();
  int r;

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
wait_ready (sd_bus *bus, uint64_t deadline, hutch_error_t *err)
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
          hutch_error_set (err, -r, "cannot connect to the user's systemd manager");
          return -1;
        }
    }
}

/* StartTransientUnit(UNIT, "fail", properties, no auxiliary units).  */
static int
start_unit (sd_bus *bus, const char *unit, uint64_t timeout, char **ret_job, hutch_error_t *err)
{
  sd_bus_error error = SD_BUS_ERROR_NULL;
  sd_bus_message *m = NULL, *reply = NULL;
  const char *job;
  int r;

  r = sd_bus_message_new_method_call (bus, &m, "org.freedesktop.systemd1",
                                      "/org/freedesktop/systemd1",
                                      "org.freedesktop.systemd1.Manager", "StartTransientUnit");
  if (r >= 0)
    r = sd_bus_message_append (m, "ss", unit, "fail");
  /* CollectMode: a scope that failed to start is unloaded rather than left
     behind as a failed unit with our name.  */
  if (r >= 0)
    r = sd_bus_message_append (m, "a(sv)", 4, "Description", "s", "hutch container", "PIDs", "au",
                               1, (uint32_t)getpid (), "Delegate", "b", 1, "CollectMode", "s",
                               "inactive-or-failed");
  if (r >= 0)
    r = sd_bus_message_append (m, "a(sa(sv))", 0);
  if (r < 0)
    {
      hutch_error_set (err, -r, "cannot build the D-Bus request for %s", unit);
      goto out;
    }
  r = sd_bus_call (bus, m, timeout, &error, &reply);
  if (r < 0 && error.name != NULL
      && (strcmp (error.name, "org.freedesktop.DBus.Error.ServiceUnknown") == 0
          || strcmp (error.name, "org.freedesktop.DBus.Error.NameHasNoOwner") == 0
          || strncmp (error.name, "org.freedesktop.DBus.Error.Spawn.", 33) == 0))
    {
      /* A session bus without systemd on it (dbus-launch, or a
         dbus-daemon started by hand): dbus-daemon may even try to start
         org.freedesktop.systemd1 itself, through a .service file whose
         Exec is /bin/false.  */
      hutch_error_set (err, 0, "no systemd manager on the user's bus (%s)",
                       error.message ? error.message : error.name);
      hutch_error_append (err, "%s", no_manager_fix);
      goto out;
    }
  /* sd-bus names its own failures (a timeout, a lost connection)
     System.Error.E...: those are errno values, not systemd's answer.  */
  if (r < 0 && (error.name == NULL || strncmp (error.name, "System.Error.", 13) == 0))
    {
      hutch_error_set (err, -r, "cannot ask the user's systemd manager for %s", unit);
      goto out;
    }
  if (r < 0)
    {
      hutch_error_set (err, 0, "the user's systemd manager refused to create %s: %s (%s)", unit,
                       error.message ? error.message : "no message", error.name);
      goto out;
    }
  r = sd_bus_message_read (reply, "o", &job);
  if (r < 0)
    {
      hutch_error_set (err, -r, "unexpected answer from the user's systemd manager for %s", unit);
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
wait_job (sd_bus *bus, struct job_wait *w, const char *unit, uint64_t deadline, hutch_error_t *err)
{
  while (w->result == NULL)
    {
      int r = sd_bus_process (bus, NULL);
      if (r < 0)
        {
          hutch_error_set (err, -r, "lost the user's systemd manager while it started %s", unit);
          return -1;
        }
      if (r > 0 || w->result != NULL)
        continue;
      if (now_usec () >= deadline)
        {
          hutch_error_set (err, 0, "the user's systemd manager did not start %s within %d s", unit,
                           (int)(SCOPE_TIMEOUT_USEC / 1000000));
          return -1;
        }
      r = sd_bus_wait (bus, left_usec (deadline));
      if (r < 0 && r != -EINTR)
        {
          hutch_error_set (err, -r, "lost the user's systemd manager while it started %s", unit);
          return -1;
        }
    }
  if (strcmp (w->result, "done") != 0)
    {
      /* A scope fails to start mostly when the manager cannot move our
         process into it: it may write only inside user@UID.service, and
         from elsewhere (a login session's scope) it asks the system
         manager, which needs systemd 238 or later as PID 1.  */
      hutch_error_set (err, 0,
                       "the user's systemd manager could not start %s (job result \"%s\"): most "
                       "often it could not move hutch's process into it; `journalctl --user -u "
                       "%s` may say more",
                       unit, w->result, unit);
      return -1;
    }
  return 0;
}

int
hutch_sdscope_enter (const char *unit, hutch_error_t *err)
{
  uint64_t deadline = now_usec () + SCOPE_TIMEOUT_USEC;
  struct job_wait w = { NULL, NULL };
  _cleanup_free_ char *job = NULL;
  sd_bus *bus = NULL;
  bool direct;
  int r, ret = -1;

  if (hutch_libsystemd_load (err) < 0)
    {
      hutch_error_prefix (err, "cannot ask systemd for a delegated scope %s", unit);
      return -1;
    }
  if (connect_manager (&bus, &direct, err) < 0)
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
      hutch_error_set (err, -r, "cannot watch the jobs of the user's systemd manager");
      goto out;
    }
  if (wait_ready (bus, deadline, err) < 0)
    goto out;
  /* The bus daemon (or the manager) is ours: another user's socket, named
     by a stray $DBUS_SESSION_BUS_ADDRESS, is not asked anything.  */
  {
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt (sd_bus_get_fd (bus), SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0
        || cred.uid != getuid ())
      {
        hutch_error_set (err, 0,
                         "the user bus at hand belongs to another user: not asking it for a "
                         "scope (check $DBUS_SESSION_BUS_ADDRESS and $XDG_RUNTIME_DIR)");
        goto out;
      }
  }
  if (start_unit (bus, unit, left_usec (deadline), &job, err) < 0)
    goto out;
  w.job = job;
  if (wait_job (bus, &w, unit, deadline, err) < 0)
    goto out;
  ret = 0;
out:
  free (w.result);
  bus_close_unref (bus);
  return ret;
}

#endif
