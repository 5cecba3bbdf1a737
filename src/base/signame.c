/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "base/signame.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct
{
  const char *name;
  int sig;
} names[] = {
  { "HUP", SIGHUP },       { "INT", SIGINT },   { "QUIT", SIGQUIT },     { "ILL", SIGILL },
  { "TRAP", SIGTRAP },     { "ABRT", SIGABRT }, { "IOT", SIGIOT },       { "BUS", SIGBUS },
  { "FPE", SIGFPE },       { "KILL", SIGKILL }, { "USR1", SIGUSR1 },     { "SEGV", SIGSEGV },
  { "USR2", SIGUSR2 },     { "PIPE", SIGPIPE }, { "ALRM", SIGALRM },     { "TERM", SIGTERM },
  { "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD }, { "CONT", SIGCONT },     { "STOP", SIGSTOP },
  { "TSTP", SIGTSTP },     { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },     { "URG", SIGURG },
  { "XCPU", SIGXCPU },     { "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },
  { "WINCH", SIGWINCH },   { "IO", SIGIO },     { "POLL", SIGPOLL },     { "PWR", SIGPWR },
  { "SYS", SIGSYS },
};

/* A decimal number of at most 3 digits, or -1.  */
static int
small_number (const char *s)
{
  char *end;
  long v;

  if (*s < '0' || *s > '9' || strlen (s) > 3)
    return -1;
  errno = 0;
  v = strtol (s, &end, 10);
  return errno || *end ? -1 : (int)v;
}

int
hutch_signal_from_name (const char *name)
{
  const char *n = name;
  size_t i;
  int k;

  k = small_number (name);
  if (k >= 0)
    return k >= 1 && k < NSIG ? k : -1;
  if (strncasecmp (n, "SIG", 3) == 0)
    n += 3;
  for (i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcasecmp (n, names[i].name) == 0)
      return names[i].sig;
  if (strcasecmp (n, "RTMIN") == 0)
    return SIGRTMIN;
  if (strcasecmp (n, "RTMAX") == 0)
    return SIGRTMAX;
  if (strncasecmp (n, "RTMIN+", 6) == 0 && (k = small_number (n + 6)) >= 0
      && SIGRTMIN + k <= SIGRTMAX)
    return SIGRTMIN + k;
  if (strncasecmp (n, "RTMAX-", 6) == 0 && (k = small_number (n + 6)) >= 0
      && SIGRTMAX - k >= SIGRTMIN)
    return SIGRTMAX - k;
  return -1;
}

const char *
hutch_signal_name (int sig, char *buf, unsigned long size)
{
  size_t i;

  for (i = 0; i < sizeof names / sizeof names[0]; i++)
    if (names[i].sig == sig) /* ABRT before IOT, IO before POLL */
      return names[i].name;
  if (sig >= SIGRTMIN && sig <= SIGRTMAX)
    {
      snprintf (buf, size, "RTMIN+%d", sig - SIGRTMIN);
      return buf;
    }
  return NULL;
}
