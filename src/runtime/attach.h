/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_ATTACH_H
#define HUTCH_ATTACH_H

/* The attach protocol: between a detached container's monitor
   (helpers/monitor/) and a client (hutch attach, hutch start -a).  The
   protocol only: no code here.

   The monitor listens on RUNDIR/attach (HUTCH_ATTACH_SOCKET), an AF_UNIX
   socket of type SOCK_SEQPACKET, mode 0600, that it accepts only from
   its own uid.  Several clients may be connected at once.  Every message
   starts with one byte, its type; what follows depends on it:

   monitor -> client
     HUTCH_ATTACH_STDOUT, DATA   what the container wrote on its stdout (its
                                 terminal, with -t)
     HUTCH_ATTACH_STDERR, DATA   ... on its stderr
     DATA is 1 to HUTCH_ATTACH_MAX_DATA bytes.  A client that does not read
     (its socket's buffer full) is dropped: it never holds up the monitor
     or the container.  When the container has ended the monitor writes
     its state (exited, exit code) and only then closes the connections:
     a client that reads end of file finds the exit code in RUNDIR/state.

   client -> monitor
     HUTCH_ATTACH_STDIN, DATA    DATA (at most HUTCH_ATTACH_MAX_DATA bytes)
                                 to the container's stdin, in order; a
                                 client that sends faster than the
                                 container reads waits (the monitor stops
                                 reading clients until stdin takes it).
     HUTCH_ATTACH_STDIN alone    closes the container's stdin (end of
                                 file), when it is a pipe; ignored with a
                                 terminal.
     HUTCH_ATTACH_RESIZE, ROWS, COLS
                                 the terminal's size: two uint16_t in the
                                 host's byte order, right after the type
                                 byte (5 bytes in all); ignored without a
                                 terminal.  */

#define HUTCH_ATTACH_SOCKET "attach"

enum
{
  HUTCH_ATTACH_STDIN = 0,
  HUTCH_ATTACH_STDOUT = 1,
  HUTCH_ATTACH_STDERR = 2,
  HUTCH_ATTACH_RESIZE = 3,
};

/* The most data in one message, after its type byte.  */
#define HUTCH_ATTACH_MAX_DATA 8192
/* The length of a resize message.  */
#define HUTCH_ATTACH_RESIZE_LEN 5

#endif
