/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_PATHS_H
#define HUTCH_PATHS_H

/* Where hutch keeps things, and which directories it trusts: every
   lookup of $HOME and $XDG_* is here, and so is the one rule that
   decides whether a directory is safe to write to.  */

#include "base/error.h"

#include <stdbool.h>

/* The user's home: $HOME when it is a directory of theirs, else the
   password database's (over su or sudo, $HOME is often someone else's).  */
const char *hutch_paths_home (void);

/* $XDG_CONFIG_HOME when absolute, else ~/.config (containers/auth.json
   and containers/certs.d live there too, as podman has them).  */
char *hutch_paths_config_home (void);

/* The image store's default: $XDG_DATA_HOME/hutch or
   ~/.local/share/hutch.  */
char *hutch_paths_data_dir (void);

/* hutch.conf of the user: $XDG_CONFIG_HOME/hutch/hutch.conf.  */
char *hutch_paths_config_file (void);

/* $XDG_RUNTIME_DIR when it is an absolute path to a directory of the
   user's that no one else can enter, else NULL: over ssh, su or in a
   batch job it is often unset or names another user's.  */
const char *hutch_paths_xdg_runtime (void);

/* The runtime directory: $XDG_RUNTIME_DIR/hutch, else /tmp/hutch-UID.  */
char *hutch_paths_runtime_dir (void);

/* A helper program of hutch's (hutch-init, hutch-slirp): beside the
   running binary when it is there, else in ../libexec/hutch from it, else
   where `make install` put it (PKGLIBEXECDIR).  hutch run and hutch info
   both find them here; whether one can run is
   hutch_container_check_helper's question.  */
char *hutch_paths_helper (const char *name);

/* The trust rule for a directory hutch writes to: PATH (which need not
   exist yet) and every directory above it, up to /, must belong to the
   user or to root and be writable by no one else, unless it is root's and
   sticky (/tmp); a group-writable one is accepted when the group is the
   user's own and has no other member.  Checked both along PATH as written
   (no symbolic link in it can be swapped by another user) and along what
   it resolves to.  WHAT names the directory in the error ("the image
   store"), which says which directory failed, why, and the fix.  */
int hutch_paths_check_trusted (const char *path, const char *what, hutch_error_t *err);

#endif
