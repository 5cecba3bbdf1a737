/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_SIGNAME_H
#define HUTCH_SIGNAME_H

/* Signal names as Docker reads them (--stop-signal, an image's
   StopSignal): a number, or a name with or without SIG in any case,
   RTMIN+N and RTMAX-N included.  */

/* The signal NAME names, or -1.  */
int hutch_signal_from_name (const char *name);
/* "TERM" for SIGTERM, "RTMIN+3", or NULL for a number that is no signal.
   Static storage for the names, a buffer of BUF for the real-time ones.  */
const char *hutch_signal_name (int sig, char *buf, unsigned long size);

#endif
