/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_USERNS_H
#define HUTCH_USERNS_H

#include "base/error.h"

/* hutch_userns_diagnose (runtime/container.h) with what it looks at given:
   the knobs under PROCSYS, hutch's AppArmor profile at APPARMOR_PROFILE
   (where `make install` puts it), and EXE, the running program (NULL:
   unknown).  For the tests; always returns < 0.  */
int hutch_userns_diagnose_at (const char *procsys, const char *apparmor_profile, const char *exe,
                              int errnum, hutch_error_t *err);

#endif
