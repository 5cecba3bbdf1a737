/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_CTRFS_PRIVATE_H
#define HUTCH_CTRFS_PRIVATE_H

/* What src/front/ctrfs.c (views of a container, export), ctrfs-diff.c
   and ctrfs-commit.c (the upper layer), ctrfs-untar.c (tar to a tree) and
   ctrfs-cp.c share.  Not for other files.  */

#include "front/ctrfs.h"
#include "image/layerwrite.h"
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
/* 0, or an error that says why WHAT (the command) cannot work on C, a
   container of a squashfs image file (hutch run IMG.sqfs): its image is
   not in the store.  */
int ctrfs_refuse_image_file (const struct hutch_ctr *c, const char *what, hutch_error_t *err);
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

/* ---- trees to tar (image/layerwrite.h's writer) -------------------------- */

/* NAME of DIRFD and everything below it as a plain tar to FD, named
   ARCNAME (see hutch_layer_writer_add_tree), with extended attributes
   when XATTRS; WHERE names the tree in messages ("the container").  */
int ctrfs_tar_tree (int fd, int dirfd, const char *name, const char *arcname, const char *where,
                    bool xattrs, hutch_error_t *err);

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

/* The source PATH (as given) as a top fd for ctrfs_tar_tree, resolved
   from ROOTFD in the root of the container WHERE ("container NAME", for
   messages), or on the host (WHERE NULL, ROOTFD AT_FDCWD: the user's own
   view): its parent followed, itself followed only when FOLLOW or when
   PATH ends in `/` or `/.`.  *RET_DIRFD and *RET_NAME are what
   ctrfs_tar_tree takes; *RET_ST its lstat (the target's when
   followed).  */
int ctrfs_cp_source (int rootfd, const char *where, const char *path, bool follow, int *ret_dirfd,
                     char **ret_name, struct stat *ret_st, hutch_error_t *err);
/* The destination PATH followed through symlinks as docker's
   CopyInfoDestinationPath does (at most 10), resolved as ctrfs_cp_source
   resolves: *RET gets the path it leads to, whether it exists and is a
   directory.  A missing destination's parent must be a directory.  */
int ctrfs_cp_dest (int rootfd, const char *where, const char *path, char **ret_path,
                   struct hutch_cp_info *ret, hutch_error_t *err);

/* ---- the upper layer and the layers below (image/layerwrite.h) -------- */

/* What diff and commit need of a container: its upper directory and its
   image's layers (topmost first).  */
struct ctrfs_layers_job
{
  char *upper, *merged;
  char **layers;
  const char *name;
  /* diff: what to do with each entry */
  hutch_upper_fn fn;
  void *data;
  /* commit: the layer, written to FD */
  int fd;
  struct hutch_layer_write_opts write;
};

/* Fill J for container C; a container without image layers is an error
   that ends with WHAT (what it means for the command).  */
int ctrfs_layers_prepare (const struct hutch_ctr *c, const char *what, struct ctrfs_layers_job *j,
                          hutch_error_t *err);
void ctrfs_layers_clear (struct ctrfs_layers_job *j);
/* In a worker (runtime/nsexec.h's hutch_userns_start): walk the upper
   layer with J->fn, or, without one, write its layer to J->fd and leave
   the digests in OUT (hutch_layer_digests_format).  */
int ctrfs_layers_fn (void *arg, char *out, size_t out_len, hutch_error_t *err);

#endif
