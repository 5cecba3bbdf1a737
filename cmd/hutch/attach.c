/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* hutch attach (and start -a/-i): the client of a monitor's attach socket
   (src/runtime/attach.h has the protocol).  */

#include "hutch.h"
#include "base/util.h"
#include "front/containers.h"
#include "front/detach.h"
#include "runtime/attach.h"
#include "runtime/state.h"
#include "runtime/terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int cmd_attach (int argc, char **argv);

enum
{
  OPT_DETACH_KEYS = 256,
  OPT_NO_STDIN,
};

static const struct cmd_opt attach_opts[] = {
  { "detach-keys", OPT_DETACH_KEYS, required_argument, "KEYS",
    "the keys that detach (default: the container's,\nelse ctrl-p,ctrl-q; \"\": none)", NULL },
  { "no-stdin", OPT_NO_STDIN, no_argument, NULL, "do not send what you type", NULL },
  { 0 },
};

const struct cmd_def cmd_attach_def = {
  .name = "attach",
  .summary = "attach to a running container's input and output",
  .usage = "Usage: hutch attach [OPTIONS] CONTAINER\n"
           "\n"
           "Show what a running container writes, and send it what you type when it was\n"
           "started with -i; detach with ctrl-p ctrl-q (it keeps running).  Ends with the\n"
           "container's exit code when it ends.\n",
  .opts = attach_opts,
  .operands = CMD_VALUE_CONTAINER,
  .fn = cmd_attach,
};

/* The detach sequence, matched across reads: what matches a prefix of it
   is held back until it is whole (detach) or broken (sent).  */
struct keys
{
  unsigned char seq[16];
  size_t n, matched;
};

static int
send_msg (int sock, int type, const void *data, size_t len)
{
  unsigned char buf[1 + HUTCH_ATTACH_MAX_DATA];
  buf[0] = (unsigned char)type;
  if (len)
    memcpy (buf + 1, data, len);
  while (send (sock, buf, len + 1, MSG_NOSIGNAL) < 0)
    if (errno != EINTR)
      return -1;
  return 0;
}

static void
send_resize (int sock)
{
  struct winsize ws;
  unsigned char buf[HUTCH_ATTACH_RESIZE_LEN];
  uint16_t rows, cols;
  if (ioctl (0, TIOCGWINSZ, &ws) < 0)
    return;
  rows = ws.ws_row;
  cols = ws.ws_col;
  buf[0] = HUTCH_ATTACH_RESIZE;
  memcpy (buf + 1, &rows, 2);
  memcpy (buf + 3, &cols, 2);
  send (sock, buf, sizeof buf, MSG_NOSIGNAL);
}

/* Send IN to the container, minus the detach sequence: true when it was
   typed whole.  */
static bool
feed (int sock, struct keys *k, const unsigned char *in, size_t len)
{
  unsigned char out[HUTCH_ATTACH_MAX_DATA + 16];
  size_t i, o = 0;

  for (i = 0; i < len; i++)
    {
      if (k->n && in[i] == k->seq[k->matched])
        {
          if (++k->matched == k->n)
            return true;
          continue;
        }
      /* A broken prefix goes out as it was typed: first what is pending,
         when the two would not fit in one message.  */
      if (k->matched && o + k->matched + 1 > HUTCH_ATTACH_MAX_DATA)
        {
          send_msg (sock, HUTCH_ATTACH_STDIN, out, o);
          o = 0;
        }
      if (k->matched)
        {
          memcpy (out + o, k->seq, k->matched);
          o += k->matched;
          k->matched = 0;
          if (k->n && in[i] == k->seq[0])
            {
              k->matched = 1;
              continue;
            }
        }
      out[o++] = in[i];
      if (o >= HUTCH_ATTACH_MAX_DATA)
        {
          send_msg (sock, HUTCH_ATTACH_STDIN, out, o);
          o = 0;
        }
    }
  if (o)
    send_msg (sock, HUTCH_ATTACH_STDIN, out, o);
  return false;
}

static int
connect_monitor (const struct hutch_ctr *c, hutch_error_t *err)
{
  _cleanup_close_ int dfd = open (c->rundir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  int s, tries, e;

  if (dfd < 0)
    return hutch_error_set (err, errno, "open `%s`", c->rundir);
  /* Through the directory's fd: the path may be longer than sun_path.  */
  snprintf (sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", dfd, HUTCH_ATTACH_SOCKET);
  s = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (s < 0)
    return hutch_error_set (err, errno, "socket");
  /* run -d returns once the container runs, a moment before its monitor
     listens: a socket not there yet is waited for (3 s at most).  */
  for (tries = 0;; tries++)
    {
      if (connect (s, (struct sockaddr *)&sa, sizeof sa) == 0)
        break;
      e = errno;
      if ((e == ENOENT || e == ECONNREFUSED) && tries < 300)
        {
          poll (NULL, 0, 10);
          continue;
        }
      close (s);
      return hutch_error_set (err, e,
                              "attach to container %s: its monitor does not answer (a container "
                              "run in the foreground, or with --log-driver passthrough, has no "
                              "one to attach to)",
                              c->name);
    }
  return s;
}

/* Copy until the container ends (its exit code), or until detached (0,
 *RET_DETACHED).  */
static int
copy_loop (int sock, bool send_stdin, struct keys *k, int sfd, bool *ret_detached)
{
  unsigned char buf[1 + HUTCH_ATTACH_MAX_DATA];
  bool in_open = send_stdin;

  *ret_detached = false;
  for (;;)
    {
      struct pollfd pfd[3]
          = { { sock, POLLIN, 0 }, { in_open ? 0 : -1, POLLIN, 0 }, { sfd, POLLIN, 0 } };
      ssize_t n;
      if (poll (pfd, 3, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      if (pfd[2].revents & POLLIN)
        {
          struct signalfd_siginfo si;
          if (read (sfd, &si, sizeof si) == (ssize_t)sizeof si && si.ssi_signo == SIGWINCH)
            send_resize (sock);
        }
      if (pfd[0].revents)
        {
          n = recv (sock, buf, sizeof buf, 0);
          if (n <= 0)
            return 0; /* the container ended: its state has the exit code */
          if (n > 1)
            hutch_write_all (buf[0] == HUTCH_ATTACH_STDERR ? 2 : 1, buf + 1, (size_t)n - 1);
        }
      if (pfd[1].revents)
        {
          n = read (0, buf, HUTCH_ATTACH_MAX_DATA);
          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0)
            {
              /* End of input: the container's stdin ends too.  */
              send_msg (sock, HUTCH_ATTACH_STDIN, NULL, 0);
              in_open = false;
            }
          else if (feed (sock, k, buf, (size_t)n))
            {
              *ret_detached = true;
              return 0;
            }
        }
    }
}

int
cmd_attach_to (const char *ref, const char *keys_arg, bool no_stdin)
{
  _cleanup_free_ char *root = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_terminal_state term = { 0 };
  struct hutch_ctr c;
  struct hutch_state st;
  struct keys k = { .n = 2, .seq = { 16, 17 } };
  sigset_t mask, old;
  int sock, sfd, r, code = 0;
  bool detached, tty;

  root = hutch_ctrs_root (cmd_globals.root, &err);
  if (root == NULL || hutch_ctr_lookup (root, ref, &c, &err) < 0)
    return cmd_report (&err);
  if (keys_arg == NULL)
    keys_arg = c.detach_keys;
  if (keys_arg && hutch_detach_keys_parse (keys_arg, k.seq, &k.n, &err) < 0)
    {
      hutch_ctr_clear (&c);
      return cmd_report (&err);
    }
  if (hutch_ctr_state (&c, &st, &err) < 0 || st.status != HUTCH_STATE_RUNNING)
    {
      if (err.msg == NULL)
        hutch_error_set (&err, 0, "container %s is %s: there is nothing to attach to", c.name,
                         hutch_state_status_name (st.status));
      hutch_state_clear (&st);
      hutch_ctr_clear (&c);
      return cmd_report (&err);
    }
  hutch_state_clear (&st);
  if (!c.detach)
    {
      hutch_error_set (&err, 0,
                       "container %s runs in the foreground of the `hutch run` that started it: "
                       "there is no monitor to attach to (that terminal has it)",
                       c.name);
      hutch_ctr_clear (&c);
      return cmd_report (&err);
    }
  sock = connect_monitor (&c, &err);
  if (sock < 0)
    {
      hutch_ctr_clear (&c);
      return cmd_report (&err);
    }
  tty = c.tty && isatty (0);
  sigemptyset (&mask);
  sigaddset (&mask, SIGWINCH);
  sigprocmask (SIG_BLOCK, &mask, &old);
  sfd = signalfd (-1, &mask, SFD_CLOEXEC);
  /* What the user types goes to the container raw only when it reads it
     through a terminal.  */
  if (tty && c.interactive && !no_stdin)
    hutch_terminal_enter_raw (&term);
  if (tty)
    send_resize (sock);
  r = copy_loop (sock, c.interactive && !no_stdin, &k, sfd, &detached);
  hutch_terminal_restore (&term);
  close (sock);
  if (sfd >= 0)
    close (sfd);
  sigprocmask (SIG_SETMASK, &old, NULL);
  if (r == 0 && !detached)
    {
      /* The monitor closes us only after the state says exited.  */
      if (hutch_ctr_state (&c, &st, &err) == 0 && st.status == HUTCH_STATE_EXITED)
        code = st.exit_code < 0 ? 0 : st.exit_code;
      hutch_state_clear (&st);
      hutch_error_clear (&err);
    }
  hutch_ctr_clear (&c);
  return r < 0 ? HUTCH_EXIT_ERROR : code;
}

static int
cmd_attach (int argc, char **argv)
{
  const char *keys = NULL;
  bool no_stdin = false;
  int c, ret = 0;

  while ((c = cmd_next_opt (&cmd_attach_def, argc, argv, &ret)) != -1)
    if (c == 1000)
      return ret;
    else if (c == OPT_DETACH_KEYS)
      keys = optarg;
    else if (c == OPT_NO_STDIN)
      no_stdin = true;
  if (argc - optind != 1)
    {
      fprintf (stderr, "hutch attach: give one container\n");
      return HUTCH_EXIT_ERROR;
    }
  return cmd_attach_to (argv[optind], keys, no_stdin);
}
