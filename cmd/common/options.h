/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_CMD_OPTIONS_H
#define HUTCH_CMD_OPTIONS_H

#include <getopt.h>

/* getopt_long, with long options taken by their whole name only, as docker
   and podman take them: getopt_long alone accepts any unambiguous prefix,
   so `--priv` would turn on --privileged and `--pid=host` would be read as
   `--pids-limit host`.  A prefix is returned as '?' with argv[optind - 1]
   the argument at fault (its separate value, if getopt_long took one, is
   given back), so that the caller's "unknown option" message names it.  */
int cmd_getopt (int argc, char **argv, const char *shortopts, const struct option *opts);

#endif
