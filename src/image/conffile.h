/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_CONFFILE_H
#define HUTCH_CONFFILE_H

/* hutch.conf: `$XDG_CONFIG_HOME/hutch/hutch.conf`, then
   `/etc/hutch/hutch.conf`; for each key the first file that sets it wins
   (for `mirror.*`, for each registry).
   (Named conffile, not config: <config.h> is autoconf's.)

     # comment
     root = /local/scratch/$USER/hutch     # a comment after blanks
     storage_driver = "fuse-overlayfs"
     unqualified_search_registries = docker.io, quay.io
     insecure_registries = 127.0.0.1:5000 localhost:5000
     mirror.docker.io = mirror.local:5000 10.1.2.3:5000/hub

   Keys: `root` (the image store; `~/`, $HOME, $USER and $UID are
   expanded, so that one /etc file serves every user), `storage_driver`
   (overlay, fuse-overlayfs or vfs), `unqualified_search_registries` (the
   registries tried in order for a short name such as `alpine`; default
   docker.io), `insecure_registries` (plain HTTP allowed and TLS
   certificates not checked) and `mirror.REGISTRY` (endpoints tried before
   REGISTRY, in order).  A list is separated by blanks and/or commas; its
   order is kept and repeats are dropped.  A registry is HOST[:PORT] as an
   image reference accepts it before its first `/` (a HOST with a `.`, a
   port, `localhost` or an IPv6 address in brackets; no scheme, no path);
   a mirror may add a /PATH.  docker.io's aliases index.docker.io and
   registry-1.docker.io are read as docker.io, in keys and in lookups.  A
   value may be double-quoted to keep a ` #`.  An unknown key, a key given
   twice in one file (`mirror.docker.io` and `mirror.index.docker.io` are
   one key), or a bad value is an error naming the file and line, even
   when an earlier file set that key: a misspelt `root` silently ignored
   would put the store back on the NFS home directory it was meant to
   leave.  */

#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>

struct hutch_conf_mirror
{
  char *registry; /* "docker.io", "quay.io", "127.0.0.1:5000" */
  char **mirrors; /* "mirror.local:5000", "10.1.2.3:5000/hub"; NULL-terminated */
  char *origin;   /* "FILE:LINE" */
};

struct hutch_conf
{
  char *root;                  /* NULL when no file sets it */
  char *root_origin;           /* "FILE:LINE" that set it, for messages */
  char *storage_driver;        /* NULL, "overlay", "fuse-overlayfs", "vfs" */
  char *storage_driver_origin; /* "FILE:LINE" */
  char **search_registries;    /* NULL-terminated; NULL when no file sets it */
  char *search_registries_origin;
  char **insecure_registries; /* NULL-terminated; NULL when no file sets it */
  char *insecure_registries_origin;
  struct hutch_conf_mirror *mirrors; /* one per registry, in the order first met */
  size_t n_mirrors;
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

/* The lookups below take a NULL CONF as an empty file, and a REGISTRY as an
   image reference names it (docker.io's aliases and the case of the host
   do not matter).  */

/* The registries to try for a short name: the configured list, or
   {"docker.io", NULL}.  Never NULL.  */
const char *const *hutch_conf_search_registries (const struct hutch_conf *conf);
/* Whether REGISTRY is in insecure_registries.  REGISTRY may also be a
   mirror's endpoint, HOST[:PORT]/PATH: its host is looked up.  */
bool hutch_conf_registry_insecure (const struct hutch_conf *conf, const char *registry);
/* REGISTRY's mirrors, NULL-terminated, first to try first; NULL when it has
   none.  */
const char *const *hutch_conf_mirrors (const struct hutch_conf *conf, const char *registry);

#endif
