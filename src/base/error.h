/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_ERROR_H
#define HUTCH_ERROR_H

/* One error convention for all of libhutch: a function that fails returns a
   negative value (-errno when there is one) and fills a hutch_error_t with
   what failed, where, and how to fix it.  Callers add context with
   hutch_error_prefix() as the error travels up; only the front ends in cmd/
   print it and choose the exit code.  */

#include <stdarg.h>

/* Exit codes shared with Docker and podman.  */
enum
{
  HUTCH_EXIT_ERROR = 125, /* hutch's own error */
  HUTCH_EXIT_CANNOT_EXEC = 126,
  HUTCH_EXIT_NOT_FOUND = 127,
};

typedef struct hutch_error
{
  int errnum;    /* errno of the failure, 0 when none applies */
  int exit_code; /* what a front end should exit with */
  char *msg;     /* full text, errno's text already appended */
} hutch_error_t;

#define HUTCH_ERROR_INIT                                                                           \
  {                                                                                                \
    0, 0, NULL                                                                                     \
  }

/* Fill ERR (replacing what it held); ERRNUM's text is appended when non-zero.
   Returns -ERRNUM, or -1 when ERRNUM is 0, so that `return hutch_error_set
   (...)` is the usual way out of a failing function.  */
int hutch_error_set (hutch_error_t *err, int errnum, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
int hutch_error_setv (hutch_error_t *err, int errnum, const char *fmt, va_list ap)
    __attribute__ ((format (printf, 3, 0)));

/* Like hutch_error_set with an exit code other than 125.  */
int hutch_error_set_exit (hutch_error_t *err, int exit_code, int errnum, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

/* Prepend "CONTEXT: " to the message already in ERR.  Returns the value
   hutch_error_set returned for it.  */
int hutch_error_prefix (hutch_error_t *err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* Append TEXT (usually the fix) to the message: "MSG; TEXT".  */
int hutch_error_append (hutch_error_t *err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

void hutch_error_clear (hutch_error_t *err);

#endif
