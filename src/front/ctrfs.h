/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_CTRFS_H
#define HUTCH_CTRFS_H

/* A container's files from the outside: what its upper layer changed
   (diff), its whole tree as a tar (export), its upper layer as a new image
   (commit), and copies in and out (cp).

   Every access to a container's tree is made by a worker process inside a
   user namespace, as its root, so that owners are the container's own ids
   and files of its subordinate ids can be read and written:
   - a running container's: the worker joins its user namespace through a
     pidfd of its first process (checked against the start time in its
     state); a second process joins its mount namespace only to open its
     "/" and hand that fd over, then exits;
   - a stopped one's: a new namespace with the user's default map, where
     its overlay is mounted (detached: attached nowhere), fuse-overlayfs
     run, or its vfs copy or --rootfs directory opened.
   The worker itself stays in the host's mount namespace, so nothing it
   loads (libarchive, the C library's gconv modules) can come from the
   container's files: docker cp loaded the container's libnss
   (CVE-2019-14271).  Nothing of the container is ever executed, and no
   user or group name is looked up: owners are numbers.  Paths in the
   container are resolved from its root's fd with openat2 and
   RESOLVE_IN_ROOT (never by the host's view of symlinks: CVE-2018-15664,
   a symlink swapped during docker cp), and what is extracted is created
   beneath the destination directory (RESOLVE_BENEATH), so that a symlink
   the container plants or swaps meanwhile cannot lead outside it.  */

#include "base/error.h"
#include "front/containers.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* ---- diff --------------------------------------------------------------- */

struct hutch_change
{
  char kind;  /* 'A' added, 'C' changed, 'D' deleted, as docker diff prints them */
  char *path; /* absolute, as the container sees it */
};

void hutch_changes_free (struct hutch_change *v, size_t n);

/* What container C's upper layer changed above its image, sorted by path:
   an entry the image lacks is added; an entry the image has (a file
   replaced or whose data or metadata changed, a directory with changes
   below it or a new owner or mode) is changed; a whiteout is a deletion.  The
   mount points that every run makes (/proc, /sys, /dev, /etc/hostname,
   /etc/hosts, /etc/resolv.conf, /etc/localtime), when the image lacks
   them and they are empty, are not changes, as docker keeps them out of
   its diff.  A container without layers (--rootfs, the host sandbox) or
   whose root is a plain copy (vfs) has none to compare with: an error
   that says so.  ST: its state (hutch_ctr_state).  */
int hutch_ctrfs_diff (const struct hutch_ctr *c, const struct hutch_state *st,
                      struct hutch_change **ret, size_t *ret_n, hutch_error_t *err);

/* ---- export ------------------------------------------------------------- */

/* Write C's whole file system as a tar to FD: a running container's as
   its processes see it (from its mount namespace), a stopped one's by
   mounting its overlay.  Mounts inside it (volumes, /proc, /etc/hosts)
   are not entered: their mount points are empty entries, as docker's
   export has them.  Owners are the container's ids; xattrs are kept but
   overlayfs's own.  */
int hutch_ctrfs_export (const struct hutch_ctr *c, const struct hutch_state *st, int fd,
                        hutch_error_t *err);

/* ---- commit ------------------------------------------------------------- */

struct hutch_commit_opts
{
  char *const *changes; /* Dockerfile instructions (image/change.h), or NULL */
  const char *message;  /* the history entry's comment, or NULL */
  const char *author;   /* or NULL */
  const char *name;     /* IMAGE[:TAG], or NULL for an image without a name */
};

/* Make a new image of C's image with C's upper layer as one more layer (a
   tar with whiteouts as `.wh.NAME` and opaque directories as
   `.wh..wh..opq`, owners as the container's ids), its config changed by
   O->changes, a history entry, and the layer unpacked in the store, so
   that it runs at once.  A running container's upper layer is read while
   it runs (it is not paused).  RET_ID: the new image's id.  */
int hutch_ctrfs_commit (const struct hutch_ctr *c, const struct hutch_state *st,
                        const struct hutch_commit_opts *o, char **ret_id, hutch_error_t *err);

/* ---- cp ----------------------------------------------------------------- */

/* docker cp's operands: CONTAINER:PATH, or a local path (one that is
   absolute, starts with `.`, or has no `:`).  *RET_CONTAINER is NULL for
   a local path.  */
void hutch_cp_split_arg (const char *arg, char **ret_container, char **ret_path);

struct hutch_cp_opts
{
  bool to_container; /* host (HOST_PATH) to container (CTR_PATH), else back */
  const char *ctr_path;
  const char *host_path; /* "-": a tar on standard input or output */
  bool archive;          /* -a: copying in, keep the host owners (as the
                            container's ids they map to) */
  bool follow_link;      /* -L: a symlink as the source is followed */
  int in_fd, out_fd;     /* standard input and output, for "-" */
};

/* docker cp between the host and container C, with docker's rules for
   paths: a source directory is copied into an existing destination
   directory (its contents when the source ends in `/.`), or becomes the
   destination when that does not exist; a file goes into an existing
   directory, or onto a file, or becomes the destination; a destination
   that ends in `/` must be an existing directory.  Copying in, files
   belong to the container's root (ARCHIVE: to the ids their host owners
   map to); copying out, to the user.  */
int hutch_ctrfs_cp (const struct hutch_ctr *c, const struct hutch_state *st,
                    const struct hutch_cp_opts *o, hutch_error_t *err);

/* ---- docker's path forms (for cp; exported for the tests) ------------- */

/* Whether PATH ends in `/` or `/.` (or is `.`): it names a directory.  */
bool hutch_cp_asserts_dir (const char *path);
/* PATH cleaned as Go's filepath.Clean does, keeping a trailing `/.` or `/`
   as docker does; "" becomes ".".  */
char *hutch_cp_clean (const char *path);
/* PATH split as docker's SplitPathDirEntry: the cleaned directory and the
   last component, "." for a path that ends in `/.`.  */
void hutch_cp_split (const char *path, char **ret_dir, char **ret_base);
/* The name a source's archive holds it under: "." for the root or a path
   ending in `/.` (its contents), else its last component.  */
char *hutch_cp_top_name (const char *path);

/* What a side of a copy knows of its path.  */
struct hutch_cp_info
{
  const char *path; /* as given, or as symlinks led (destination) */
  bool exists, is_dir;
};

/* docker's PrepareArchiveCopy: where to extract an archive of SRC (whose
   top entry is named as hutch_cp_top_name names it) so that DST gets what
   docker would give it: *RET_DIR, the directory to extract into, and
   *RET_TO, the name the top entry takes there (NULL: extract as it is).
   The errors are docker's: a directory onto a file, a file into a
   directory that does not exist.  */
int hutch_cp_plan (const struct hutch_cp_info *src, const struct hutch_cp_info *dst, char **ret_dir,
                   char **ret_to, hutch_error_t *err);

#endif
