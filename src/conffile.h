/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_CONFFILE_H
#define HUTCH_CONFFILE_H

/* hutch.conf: `$XDG_CONFIG_HOME/hutch/hutch.conf`, then
   `/etc/hutch/hutch.conf`; for each key the first file that sets it wins.
   (Named conffile, not config: <config.h> is autoconf's.)

     # comment
     root = /local/scratch/$USER/hutch     # a comment after blanks
     storage_driver = "fuse-overlayfs"

   Keys: `root` (the image store; `~/`, $HOME, $USER and $UID are
   expanded, so that one /etc file serves every user), `storage_driver`
   (overlay, fuse-overlayfs or vfs).  A value may be double-quoted to keep
   a ` #`.  An unknown key, a key given twice in one file, or a bad value is
   an error naming the file and line: a misspelt `root` silently ignored
   would put the store back on the NFS home directory it was meant to
   leave.  */

#include "error.h"

struct hutch_conf
{
  char *root;                  /* NULL when no file sets it */
  char *root_origin;           /* "FILE:LINE" that set it, for messages */
  char *storage_driver;        /* NULL, "overlay", "fuse-overlayfs", "vfs" */
  char *storage_driver_origin; /* "FILE:LINE" */
};

/* Read the user's file and then the system's; missing files are fine.  */
int hutch_conf_load (struct hutch_conf *ret, hutch_error_t *err);
/* The same with the files given (NULL-terminated), first one first.  */
int hutch_conf_load_files (const char *const *paths, struct hutch_conf *ret, hutch_error_t *err);
/* Parse TEXT read from PATH into CONF, setting only the keys CONF does not
   have yet.  */
int hutch_conf_parse (const char *text, const char *path, struct hutch_conf *conf,
                      hutch_error_t *err);
void hutch_conf_clear (struct hutch_conf *conf);

#endif
