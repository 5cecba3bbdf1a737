/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* The volatile state file (runtime/state.h): what one writes another
   reads whole, unknown keys skipped, values kept on one line, the flags
   other commands leave beside it, and liveness by pid and start time.  */

#include "runtime/state.h"
#include "tap.h"
#include "base/util.h"
#include "base/walk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
tmpdir (char *buf)
{
  strcpy (buf, "/tmp/test-state.XXXXXX");
  if (mkdtemp (buf) == NULL)
    return -1;
  return open (buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void
test_roundtrip (int dfd)
{
  struct hutch_state st, back;
  hutch_error_t err = HUTCH_ERROR_INIT;

  hutch_state_init (&st);
  st.status = HUTCH_STATE_RUNNING;
  st.pid = 42;
  st.pid_start = 12345;
  st.monitor = 41;
  st.monitor_start = 12300;
  strcpy (st.boot_id, "b00t");
  st.exit_code = -1;
  st.started = 1000000000123LL;
  st.restarts = 3;
  st.error = hutch_xstrdup ("two\nlines");
  st.ports = hutch_xstrdup ("80/tcp -> 127.0.0.1:8080");
  ok (hutch_state_write (dfd, &st, &err) == 0, "write");
  ok (hutch_state_read (dfd, &back, &err) == 0, "read");
  ok (back.status == HUTCH_STATE_RUNNING && back.pid == 42 && back.pid_start == 12345
          && back.monitor == 41 && back.monitor_start == 12300 && back.restarts == 3
          && back.started == 1000000000123LL && back.exit_code == -1,
      "every number comes back");
  is_str (back.boot_id, "b00t", "the boot id");
  is_str (back.error, "two lines", "a newline in a value does not end the field");
  is_str (back.ports, "80/tcp -> 127.0.0.1:8080", "the ports");
  ok (!back.stop_requested && back.status == HUTCH_STATE_RUNNING, "no flags yet");
  hutch_state_clear (&back);

  ok (hutch_state_flag (dfd, HUTCH_STATE_FLAG_STOP, true) == 0
          && hutch_state_flag (dfd, HUTCH_STATE_FLAG_PAUSED, true) == 0,
      "set the flags");
  ok (hutch_state_read (dfd, &back, &err) == 0 && back.stop_requested
          && back.status == HUTCH_STATE_PAUSED,
      "a stop request and a pause read back through the flags");
  hutch_state_clear (&back);
  /* Paused only means something while it runs.  */
  st.status = HUTCH_STATE_EXITED;
  ok (hutch_state_write (dfd, &st, &err) == 0 && hutch_state_read (dfd, &back, &err) == 0
          && back.status == HUTCH_STATE_EXITED && back.stop_requested,
      "an exited container stays exited with the pause flag left over");
  hutch_state_clear (&back);
  ok (hutch_state_flag (dfd, HUTCH_STATE_FLAG_STOP, false) == 0
          && hutch_state_flag (dfd, HUTCH_STATE_FLAG_STOP, false) == 0,
      "clearing a flag twice is no error");
  hutch_state_clear (&st);
  hutch_error_clear (&err);
}

static void
test_hostile (int dfd)
{
  static const char text[]
      = "status=flying\npid=notanumber\nnewer_key=1\n=x\nnoequals\nexit_code=9\n";
  struct hutch_state back;
  hutch_error_t err = HUTCH_ERROR_INIT;
  int fd = openat (dfd, "state", O_WRONLY | O_TRUNC | O_CLOEXEC);

  ok (fd >= 0 && write (fd, text, strlen (text)) == (ssize_t)strlen (text), "garbage written");
  if (fd >= 0)
    close (fd);
  hutch_state_flag (dfd, HUTCH_STATE_FLAG_STOP, false);
  ok (hutch_state_read (dfd, &back, &err) == 0, "garbage still reads");
  ok (back.status == HUTCH_STATE_EXITED && back.pid == 0 && back.exit_code == 9,
      "an unknown status reads as exited, a bad number as 0, the rest is kept");
  hutch_state_clear (&back);
  unlinkat (dfd, "state", 0);
  ok (hutch_state_read (dfd, &back, &err) == -ENOENT, "a missing state is -ENOENT");
  hutch_error_clear (&err);
}

static void
test_liveness (void)
{
  unsigned long long me = hutch_state_pid_start (getpid ());
  char boot[40];

  ok (me > 0, "our own start time");
  ok (hutch_state_pid_alive (getpid (), me), "we are alive by pid and start time");
  ok (!hutch_state_pid_alive (getpid (), me + 1), "not with another start time (a reused pid)");
  ok (!hutch_state_pid_alive (0, me) && !hutch_state_pid_alive (getpid (), 0),
      "pid 0 and start 0 are never alive");
  hutch_state_boot_id (boot);
  ok (strlen (boot) == 36, "the boot id is a uuid");
}

int
main (void)
{
  char dir[64];
  int dfd = tmpdir (dir);
  hutch_error_t err = HUTCH_ERROR_INIT;

  ok (dfd >= 0, "a directory for the state");
  test_roundtrip (dfd);
  test_hostile (dfd);
  test_liveness ();
  hutch_walk_remove_path (dir, &err);
  hutch_error_clear (&err);
  return tap_done ();
}
