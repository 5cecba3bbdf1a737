/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_CTRFS_PRIVATE_H
#define HUTCH_CTRFS_PRIVATE_H

/* What src/front/ctrfs.c (views of a container, diff, export, commit),
   ctrfs-tar.c (trees to tar and back) and ctrfs-cp.c share.  Not for other
   files.  */

#include "front/ctrfs.h"
#include "runtime/spec.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* ---- a view of a container's tree, in a worker ------------------------- */

enum ctrfs_view_kind
{
  CTRFS_VIEW_JOIN,    /* a running container: its namespaces, through a pidfd */
  CTRFS_VIEW_OVERLAY, /* a stopped one: kernel overlayfs, mounted detached */
  CTRFS_VIEW_FUSE,    /* a stopped one: fuse-overlayfs on its merged/ */
  CTRFS_VIEW_DIR,     /* a stopped one: its vfs copy, or its --rootfs directory */
};

struct ctrfs_view
{
  enum ctrfs_view_kind kind;
  const char *name;        /* the container as the user named it, for messages */
  int pidfd;               /* JOIN */
  struct hutch_overlay ov; /* OVERLAY, FUSE */
  char *dir;               /* DIR */
  int lockfd;              /* the container's command lock, held while stopped */
};

/* Plan the view of C (state ST) that WHAT ("export", "cp"...) needs:
   WRITE for copying in.  A stopped container's command lock is taken
   (and its state read again under it).  */
int ctrfs_view_open (const struct hutch_ctr *c, const struct hutch_state *st, const char *what,
                     bool write, struct ctrfs_view *ret, hutch_error_t *err);
void ctrfs_view_close (struct ctrfs_view *v);

/* What a worker runs: ROOTFD is the container's "/" (an O_PATH fd).  */
typedef int (*ctrfs_fn) (void *arg, int rootfd, hutch_error_t *err);

struct ctrfs_job;
/* Start FN(ARG) in a worker that sees V; it keeps only stdin, stdout,
   stderr and the N_KEEP fds of KEEP.  End it with ctrfs_job_finish (its
   result, its error in ERR) or ctrfs_job_cancel.  The caller must not
   ignore SIGCHLD.  */
int ctrfs_job_start (const struct ctrfs_view *v, ctrfs_fn fn, void *arg, const int *keep,
                     size_t n_keep, struct ctrfs_job **ret, hutch_error_t *err);
int ctrfs_job_finish (struct ctrfs_job *j, hutch_error_t *err);
void ctrfs_job_cancel (struct ctrfs_job *j);

/* ---- trees to tar ---------------------------------------------------- */

struct archive;

struct ctrfs_link
{
  dev_t dev;
  ino_t ino;
  char *name;
};

struct ctrfs_tar
{
  struct archive *a;
  struct ctrfs_link *links; /* files with more than one name: the first's entry */
  size_t n_links;
  bool xattrs;           /* keep extended attributes (but overlayfs's own) */
  const char *where;     /* "the container", "the host": for messages */
  unsigned long skipped; /* sockets and device nodes left out */
  hutch_error_t *err;
};

/* A tar (pax, numeric owners only) written to FD.  */
int ctrfs_tar_open (struct ctrfs_tar *t, int fd, hutch_error_t *err);
/* Finish the archive (its end blocks) and free it; with ABORT, just free.  */
int ctrfs_tar_close (struct ctrfs_tar *t, bool abort);

/* The entry NAME of the directory DIRFD (ST: its lstat) as ARCNAME, its
   data read through a descriptor opened beneath DIRFD without following a
   symlink or crossing a mount.  A directory's contents are not added.
   Sockets and device nodes are skipped (counted).  */
int ctrfs_tar_add_entry (struct ctrfs_tar *t, int dirfd, const char *name, const struct stat *st,
                         const char *arcname);
/* An empty regular file ARCNAME owned by root (a whiteout `.wh.NAME`).  */
int ctrfs_tar_add_empty (struct ctrfs_tar *t, const char *arcname, const struct stat *like);

/* The entry NAME of DIRFD and, for a directory, everything below it, named
   ARCNAME and ARCNAME/...; NAME "" is DIRFD itself (then DIRFD must not
   be O_PATH unless it is a symlink's), ARCNAME "" puts the contents at the
   archive's root and leaves the top out.  No symlink is followed, no
   mount below the top entered (a mount point is an empty entry).  */
int ctrfs_tar_add_tree (struct ctrfs_tar *t, int dirfd, const char *name, const char *arcname);

/* ---- tar to a tree --------------------------------------------------- */

enum ctrfs_owner
{
  CTRFS_OWNER_CALLER,  /* the extracting process's */
  CTRFS_OWNER_FIXED,   /* OWNER_UID:OWNER_GID */
  CTRFS_OWNER_ARCHIVE, /* the archive's, as they are */
  CTRFS_OWNER_MAP,     /* the archive's host ids, as this user namespace maps them */
};

struct ctrfs_extract
{
  const char *where; /* "the container", "`DIR`": for messages */
  /* Entries named REBASE_FROM (cleaned: "" for the archive's root) or
     below it are renamed to REBASE_TO: docker's RebaseArchiveEntries.
     NULL: names as they are.  */
  const char *rebase_from, *rebase_to;
  enum ctrfs_owner owner;
  uid_t uid;
  gid_t gid;
  bool compressed; /* accept gzip and zstd (a tar on standard input) */
};

/* Extract the tar read from FD into the directory DSTFD: each entry's
   directory resolved beneath DSTFD (RESOLVE_BENEATH: no symlink, absolute
   or planted meanwhile, can lead outside it), made when missing; an
   existing file replaced (unlinked first, never written through), an
   existing directory kept and given the entry's mode and times; a
   directory onto a file and a file onto a directory refused, as docker
   refuses them.  Names are cleaned (absolute, `..` refused).  Device
   nodes are skipped.  */
int ctrfs_tar_extract (int fd, int dstfd, const struct ctrfs_extract *o, hutch_error_t *err);

/* ---- docker's rules, on one side --------------------------------------- */

/* The source PATH (as given) as a top fd for ctrfs_tar_add_tree, resolved
   from ROOTFD in the root of the container WHERE ("container NAME", for
   messages), or on the host (WHERE NULL, ROOTFD AT_FDCWD: the user's own
   view): its parent followed, itself followed only when FOLLOW or when
   PATH ends in `/` or `/.`.  *RET_DIRFD and *RET_NAME are what
   ctrfs_tar_add_tree takes; *RET_ST its lstat (the target's when
   followed).  */
int ctrfs_cp_source (int rootfd, const char *where, const char *path, bool follow, int *ret_dirfd,
                     char **ret_name, struct stat *ret_st, hutch_error_t *err);
/* The destination PATH followed through symlinks as docker's
   CopyInfoDestinationPath does (at most 10), resolved as ctrfs_cp_source
   resolves: *RET gets the path it leads to, whether it exists and is a
   directory.  A missing destination's parent must be a directory.  */
int ctrfs_cp_dest (int rootfd, const char *where, const char *path, char **ret_path,
                   struct hutch_cp_info *ret, hutch_error_t *err);

/* ---- the upper layer and the layers below ---------------------------- */

struct ctrfs_upper_entry
{
  const char *path; /* relative to the root: "etc/passwd" */
  int dirfd;        /* the upper directory that holds it */
  const char *name; /* its name there; for a whiteout, the whiteout's own */
  const struct stat *st;
  bool whiteout; /* deletes PATH */
  bool opaque;   /* a directory that hides what the layers below have in it */
  bool in_lower; /* PATH exists in the layers below */
  char kind;     /* 'A', 'C', 'D', or 0: a directory the layers below have
                    alike (changed if anything below it is) */
};

typedef int (*ctrfs_upper_fn) (void *data, const struct ctrfs_upper_entry *e, hutch_error_t *err);

/* Call FN for every entry of the upper directory UPPERFD (parents before
   their entries), each compared with the layers LAYERFDS (N, topmost
   first) as overlayfs would stack them.  Entries that only a run made
   (see hutch_ctrfs_diff) are passed over.  */
int ctrfs_upper_walk (int upperfd, const int *layerfds, size_t n, ctrfs_upper_fn fn, void *data,
                      hutch_error_t *err);

/* What diff and commit need of a container: its upper directory and its
   image's layers (topmost first), and what to do with each entry.  */
struct ctrfs_layers_job
{
  char *upper, *merged;
  char **layers;
  const char *name;
  ctrfs_upper_fn fn;
  void *data;
  /* commit: the tar, written to FD */
  int fd;
  struct ctrfs_tar *tar;
};

/* Fill J for container C; a container without image layers is an error
   that ends with WHAT (what it means for the command).  */
int ctrfs_layers_prepare (const struct hutch_ctr *c, const char *what, struct ctrfs_layers_job *j,
                          hutch_error_t *err);
void ctrfs_layers_clear (struct ctrfs_layers_job *j);
/* In a worker (runtime/nsexec.h's hutch_userns_start): open what the
   job names and walk the upper layer, J->tar open on J->fd around it.  */
int ctrfs_layers_fn (void *arg, char *out, size_t out_len, hutch_error_t *err);

/* Whether NAME is the opaque marker `.wh..wh..opq`.  */
bool ctrfs_is_opaque_marker (const char *name);
/* Whether the directory FD is marked opaque (overlayfs's or
   fuse-overlayfs's xattr).  */
bool ctrfs_dir_is_opaque (int fd);
/* Whether the xattr NAME is overlayfs's or fuse-overlayfs's own.  */
bool ctrfs_is_overlay_xattr (const char *name);

#endif
