/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "base/error.h"
#include "base/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
error_ret (const hutch_error_t *err)
{
  return err->errnum > 0 ? -err->errnum : -1;
}

int
hutch_error_setv (hutch_error_t *err, int errnum, const char *fmt, va_list ap)
{
  char *text = hutch_xvasprintf (fmt, ap);

  free (err->msg);
  err->errnum = errnum;
  err->exit_code = HUTCH_EXIT_ERROR;
  if (errnum != 0)
    {
      err->msg = hutch_xasprintf ("%s: %s", text, strerror (errnum));
      free (text);
    }
  else
    err->msg = text;
  return error_ret (err);
}

int
hutch_error_set (hutch_error_t *err, int errnum, const char *fmt, ...)
{
  va_list ap;
  int ret;

  va_start (ap, fmt);
  ret = hutch_error_setv (err, errnum, fmt, ap);
  va_end (ap);
  return ret;
}

int
hutch_error_set_exit (hutch_error_t *err, int exit_code, int errnum, const char *fmt, ...)
{
  va_list ap;
  int ret;

  va_start (ap, fmt);
  ret = hutch_error_setv (err, errnum, fmt, ap);
  va_end (ap);
  err->exit_code = exit_code;
  return ret;
}

int
hutch_error_prefix (hutch_error_t *err, const char *fmt, ...)
{
  va_list ap;
  char *ctx, *msg;

  va_start (ap, fmt);
  ctx = hutch_xvasprintf (fmt, ap);
  va_end (ap);
  msg = hutch_xasprintf ("%s: %s", ctx, err->msg ? err->msg : "unknown error");
  free (ctx);
  free (err->msg);
  err->msg = msg;
  return error_ret (err);
}

int
hutch_error_append (hutch_error_t *err, const char *fmt, ...)
{
  va_list ap;
  char *extra, *msg;

  va_start (ap, fmt);
  extra = hutch_xvasprintf (fmt, ap);
  va_end (ap);
  msg = hutch_xasprintf ("%s; %s", err->msg ? err->msg : "unknown error", extra);
  free (extra);
  free (err->msg);
  err->msg = msg;
  return error_ret (err);
}

void
hutch_error_clear (hutch_error_t *err)
{
  free (err->msg);
  err->msg = NULL;
  err->errnum = 0;
  err->exit_code = 0;
}
