/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_WALK_H
#define HUTCH_WALK_H

/* The one walker of directory trees that hutch does not trust: a
   container's root, an image layer being unpacked or flattened, an image
   archive, a store's leftovers, a volume.  Resolving, making directories,
   removing, looking (a read-only walk), changing owners, copying and
   naming happen here only, so that a fix to any of them is a fix
   everywhere (a second copy is a second place for a CVE).

   The rules that every function here keeps:
   - a path inside an untrusted tree is resolved by the kernel, relative to
     a directory fd, with openat2's RESOLVE_BENEATH or RESOLVE_IN_ROOT, and
     never with magic links (/proc/self/fd/N, /proc/PID/root);
   - everything is done with *at() calls on fds that were resolved so,
     never by a path string that the host would resolve again;
   - removal never follows a symlink, and is bounded in depth.

   openat2 (Linux 5.6) has no fallback: without it these functions fail
   with ENOSYS rather than resolve with the host's view of symlinks.  */

#include "base/error.h"

#include <linux/openat2.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* The longest name component and path Linux accepts (NAME_MAX, and PATH_MAX
   less its NUL).  */
#define HUTCH_WALK_MAX_COMPONENT 255
#define HUTCH_WALK_MAX_PATH 4095
/* How deep hutch_walk_remove_tree goes down at once: each level holds a
   directory stream (one fd), so a hostile tree must not be able to
   exhaust them.  A deeper directory is moved up (renameat) and removed
   from there.  */
#define HUTCH_WALK_MAX_DEPTH 256

/* ---- resolving ---------------------------------------------------------- */

/* openat2 of PATH relative to DIRFD with the RESOLVE flags RESOLVE, O_CLOEXEC
   added, "" meaning the directory itself, retried (a bounded number of
   times) on EINTR and on the EAGAIN that a concurrent rename makes it
   return.  Returns the fd, or -1 with errno set.  */
int hutch_walk_open (int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve);

/* PATH beneath DIRFD: RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE.  A
   walk that would leave DIRFD, through `..` or a symlink, fails with EXDEV;
   an absolute path too.  For trees whose symlinks mean nothing outside them
   (a layer, an archive).  */
int hutch_walk_open_beneath (int dirfd, const char *path, int flags, uint64_t resolve);

/* PATH inside a container's root ROOTFD, with RESOLVE_IN_ROOT |
   RESOLVE_NO_MAGICLINKS: an absolute symlink or a `..` in the image stays
   inside the root, as it would for the container.  */
int hutch_walk_open_in_root (int rootfd, const char *path, int flags, mode_t mode);

/* ---- making directories ------------------------------------------------- */

/* What a caller of hutch_walk_mkdir may add to the walk.  Every hook is
   optional.  NAME and PREFIX come from the tree's owner: escape them with
   hutch_walk_shown before showing them.  */
struct hutch_walk_mkdir_ops
{
  /* "the container", "the layer": where the tree is, for messages.  */
  const char *where;
  /* PREFIX could not be opened (ERRNUM): fill ERR, return < 0.  Called for
     anything but ENOENT and ENOTDIR, and when a directory just made cannot
     be opened.  */
  int (*open_error) (void *data, const char *prefix, int errnum, hutch_error_t *err);
  /* The directory PREFIX is missing, but NAME exists in DIRFD (ST, not
     followed): a symlink that leads nowhere, or not a directory.  Return 0
     when it was removed (the directory is made then), < 0 to fail.
     Without this hook the directory is not made: opening it fails.  */
  int (*in_the_way) (void *data, int dirfd, const char *name, const char *prefix,
                     const struct stat *st, hutch_error_t *err);
  /* Called for each directory made (FD: an O_PATH fd of it).  */
  int (*made) (void *data, int fd, const char *prefix, hutch_error_t *err);
};

/* Make the directories of PATH (like mkdir -p) inside the tree ROOTFD, with
   MODE, and return an O_PATH fd of the last one.  Each prefix of PATH is
   opened from ROOTFD with RESOLVE (RESOLVE_IN_ROOT, RESOLVE_BENEATH, with
   RESOLVE_NO_SYMLINKS or not; RESOLVE_NO_MAGICLINKS is added), and a
   missing directory is made with mkdirat in the directory fd of the prefix
   before it, so no symlink can take the walk out of the tree.  PATH may
   start with "/" and hold empty components; "" is ROOTFD itself.  */
int hutch_walk_mkdir (int rootfd, const char *path, mode_t mode, uint64_t resolve,
                      const struct hutch_walk_mkdir_ops *ops, void *data, hutch_error_t *err);

/* hutch_walk_mkdir in a container's root: RESOLVE_IN_ROOT.  */
int hutch_walk_mkdir_in_root (int rootfd, const char *path, mode_t mode, hutch_error_t *err);

/* Make sure a mount point exists at PATH in the container's root ROOTFD: a
   directory, or an empty regular file when IS_FILE.  A dangling symlink is
   followed (inside the root) to where its target would be.  Returns an
   O_PATH fd of it, resolved in the root.  */
int hutch_walk_mountpoint_in_root (int rootfd, const char *path, bool is_file, hutch_error_t *err);

/* mkdir -p PATH on the host, for the user's own directories (the store,
   the credentials' directory): missing directories are made with MODE,
   existing ones are left as they are.  Not for untrusted trees.  */
int hutch_walk_mkdir_p (const char *path, mode_t mode, hutch_error_t *err);

/* ---- removing ----------------------------------------------------------- */

/* Remove NAME in DIRFD and, when it is a directory, everything below it.
   No symlink is followed: each directory is opened with O_NOFOLLOW
   relative to its parent's fd, and its entries removed with unlinkat.
   Directories of ours without rwx for us are opened up first.  A missing
   NAME is no error.  It goes on past a failure, to remove what it can, and
   reports the first one.  A mount point in the tree is not entered (EBUSY,
   naming it).  Deeper than HUTCH_WALK_MAX_DEPTH, a directory is moved up
   into DIRFD under a name of its own and removed from there: any depth is
   removed with a bounded number of fds.  */
int hutch_walk_remove_tree (int dirfd, const char *name, hutch_error_t *err);

/* Remove everything inside the directory DIRFD (it stays), the same way.  */
int hutch_walk_empty_dir (int dirfd, hutch_error_t *err);

/* hutch_walk_remove_tree of a host path: the directory that holds PATH is
   trusted (opened by path), what is at PATH is not.  */
int hutch_walk_remove_path (const char *path, hutch_error_t *err);
/* The same, but it stops at the first failure (leaving the rest) instead
   of going on: for a try that, failing, hands the removal to one with
   more rights.  */
int hutch_walk_try_remove_path (const char *path, hutch_error_t *err);

/* ---- looking ------------------------------------------------------------ */

/* Called with the lstat of each entry; 0 goes on, anything else stops the
   walk and is its result.  */
typedef int (*hutch_walk_visit_fn) (void *data, const struct stat *st);

/* Call FN for every entry below the directory DIRFD, never following a
   symlink or entering a mount point, as deep as HUTCH_WALK_MAX_DEPTH (one
   fd a level); a directory that cannot be read is passed over.  Nothing is
   changed.  Returns what FN stopped with, or 0.  */
int hutch_walk_visit (int dirfd, hutch_walk_visit_fn fn, void *data);

/* An entry of hutch_walk_sorted.  */
struct hutch_walk_entry
{
  const char *path;      /* below the top: "a/b" (no leading or trailing "/") */
  int dirfd;             /* the directory that holds it, open for reading */
  const char *name;      /* its name in DIRFD */
  const struct stat *st; /* its lstat */
  unsigned int depth;    /* 1 for an entry of the top itself */
};

/* What a hutch_walk_entry_fn returns (< 0: stop the walk with that, ERR
   filled).  For an entry that is no directory, all three go on.  */
enum
{
  HUTCH_WALK_ENTER = 0, /* go on, into the directory; one that cannot be read is an error */
  HUTCH_WALK_SKIP = 1,  /* go on, without entering the directory */
  HUTCH_WALK_TRY = 2,   /* enter the directory, and pass it over if it cannot be read */
};
typedef int (*hutch_walk_entry_fn) (void *data, const struct hutch_walk_entry *e,
                                    hutch_error_t *err);

/* Call FN for every entry below the directory DIRFD (any fd of it, O_PATH
   too) in a fixed order: the names of each directory sorted bytewise, a
   directory before its entries (depth first), so that two walks of the
   same tree see the same sequence (what a build's checksums and layers
   need).  No symlink is followed, and a mount point is neither passed to
   FN nor entered.  Each directory is opened from its parent's fd, one fd a
   level; deeper than HUTCH_WALK_MAX_DEPTH is an error (ELOOP).  Errors
   name the entry by its path below the top.  */
int hutch_walk_sorted (int dirfd, hutch_walk_entry_fn fn, void *data, hutch_error_t *err);

/* ---- changing and copying ----------------------------------------------- */

/* Give FD (any fd of a file or directory) and, when it is a directory,
   everything below it to UID and GID (podman's -v ...:U): each entry is
   opened relative to its directory's fd without following a symlink (a
   symlink's own owner changes, never its target's), and a mount point in
   the tree is neither entered nor changed.  Entries already owned so are
   left alone.  An entry that cannot be changed (the kernel lets the root
   of a user namespace change only files whose owner and group are mapped
   in it) does not stop the walk; the error says how many failed, and
   names the first.  Deeper than HUTCH_WALK_MAX_DEPTH is such a failure.  */
int hutch_walk_chown_tree (int fd, uid_t uid, gid_t gid, hutch_error_t *err);

/* Copy what the directory SRCFD holds into the directory DSTFD (opened
   for reading, not O_PATH), and SRCFD's owner, mode and times onto DSTFD:
   docker's copy-up of an image's directory into a new volume.  Directories,
   regular files (data, mode, owner, times, extended attributes as far as
   the kernel allows), symlinks (as symlinks), FIFOs, and hard links within
   the tree are copied; device nodes and sockets are not (an unprivileged
   user namespace cannot make device nodes).  An owner the caller cannot
   give stays the caller's.  Neither side's symlinks are followed nor its
   mount points entered; a name that exists in DSTFD already is kept as it
   is (two containers copying into one new volume at once).  Stops at the
   first failure; deeper than HUTCH_WALK_MAX_DEPTH is one.  */
int hutch_walk_copy_tree (int srcfd, int dstfd, hutch_error_t *err);

/* ---- names -------------------------------------------------------------- */

/* What is wrong with an archive entry's name.  */
enum hutch_walk_name_problem
{
  HUTCH_WALK_NAME_OK = 0,
  HUTCH_WALK_NAME_EMPTY,
  HUTCH_WALK_NAME_TOO_LONG,           /* more than HUTCH_WALK_MAX_PATH */
  HUTCH_WALK_NAME_ABSOLUTE,           /* starts with "/" (and is not "/") */
  HUTCH_WALK_NAME_DOTDOT,             /* has a `..` component */
  HUTCH_WALK_NAME_COMPONENT_TOO_LONG, /* more than HUTCH_WALK_MAX_COMPONENT */
};

/* Check an archive entry's NAME and return (in *RET_CLEAN, to be freed) its
   canonical form relative to the archive's root: no leading "./", no "."
   or empty components, no trailing slash; "" is the root itself ("/" and
   "./" name it).  Returns HUTCH_WALK_NAME_OK, or the problem, with the
   offending length (of the name or of the component) in *RET_LEN when
   RET_LEN is not NULL.  */
enum hutch_walk_name_problem hutch_walk_clean_name (const char *name, char **ret_clean,
                                                    size_t *ret_len);

/* NAME (from an untrusted tree) as a message may show it: cut to a readable
   length, control characters escaped, so that a hostile name cannot send
   escape sequences to the user's terminal.  Keeps errno.  */
char *hutch_walk_shown (const char *name);

#endif
