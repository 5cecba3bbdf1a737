/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_BUILD_CONTEXT_H
#define HUTCH_BUILD_CONTEXT_H

/* The build context: the directory whose files COPY and ADD take, as
   the build sees it (without what .dockerignore excludes), its sources
   found by their patterns, and their checksums for the cache keys.

   Everything is read through the context's directory fd, beneath it
   (openat2 RESOLVE_BENEATH, src/base/walk.h): a source or a symlink that
   leads outside the context is an error, never followed.  A source's own
   top-level symlink is followed (within the context), as BuildKit does;
   symlinks below it are taken as links.  */

#include "base/error.h"
#include "build/ignore.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct hutch_context;

/* Open the context DIR (which must be a directory) with the ignore rules
   IG (borrowed: it must outlive the context).  STATCACHE: a file that
   remembers the checksums of files by their path and stat (device,
   inode, size, mode, mtime and ctime in nanoseconds, owner), so that an
   unchanged file is not read again; NULL for none.  A missing or
   damaged cache is empty, never an error.  */
int hutch_context_open (const char *dir, const struct hutch_ignore *ig, const char *statcache,
                        struct hutch_context **ret, hutch_error_t *err);
/* Save the stat cache (atomically: a temporary and rename), keeping only
   the entries this build used, and free.  Errors saving are only
   logged: a cache is never worth failing a build.  */
void hutch_context_close (struct hutch_context *c);

/* The context's directory fd (O_PATH|O_DIRECTORY).  */
int hutch_context_fd (const struct hutch_context *c);

/* The sources of COPY/ADD that SRC names: SRC is cleaned (`./a/../b` is
   `b`; a path that climbs above the context's root with `..` is an
   error, as is an absolute one only in that it is taken relative to the
   context, as BuildKit does), and when it has a wildcard (`*`, `?`,
   `[`), matched component by component with Go's filepath.Match rules
   against the context's entries (excluded ones invisible).  *RET: the
   matching paths relative to the context ("" for the context itself),
   sorted, NULL-terminated.  No match (a missing file, or a pattern that
   matches nothing) is an error: "COPY source `SRC` is not in the build
   context (DIR)" or "... excluded by FILE" when the ignore file hides
   it (errnum ENOENT either way).  Sorted means in walk order: component
   by component, each bytewise.  The part of SRC before its first
   wildcard is a path (its symlinks followed, within the context), and
   the matches are below where it leads; below it, symlinks are entries,
   not directories to look into.  */
int hutch_context_match (struct hutch_context *c, const char *src, char ***ret, hutch_error_t *err);

/* How a source enters a layer, for its checksum: the owner and mode
   --chown and --chmod force (-1: the file's own; the owner of context
   files is otherwise 0:0, as BuildKit gives them).  */
struct hutch_context_meta
{
  int64_t uid, gid; /* -1: 0 */
  int mode;         /* permission bits (07777), or -1: the file's */
};

/* The checksum (sha256, 64 hex digits into RET_HEX) of the source PATH
   (from hutch_context_match): of a file, its content and what the layer
   will say of it (type, mode after META, owner after META, size, link
   target, xattrs, but not the times); of a directory, the same for
   every entry below it that is not excluded, by its path relative to
   PATH, in sorted order (what hutch_context_walk gives; sockets and
   device nodes, which no layer gets, are left out).  META NULL: as
   {-1, -1, -1}.  Content comes from the stat cache when the file's stat
   has not changed.  The top-level symlink PATH is followed; one that
   leaves the context is an error naming it.  */
int hutch_context_checksum (struct hutch_context *c, const char *path,
                            const struct hutch_context_meta *meta, char ret_hex[65],
                            hutch_error_t *err);

/* What the build reads of the context, for the progress line: files and
   bytes hashed (not from the cache) and found in the cache.  */
struct hutch_context_stats
{
  uint64_t hashed_files, hashed_bytes, cached_files;
};
void hutch_context_stats (const struct hutch_context *c, struct hutch_context_stats *ret);

/* Call FN for every entry of the source PATH that is not excluded, the
   top first then below it in sorted order (depth first, parents before
   their contents): REL is the path relative to PATH ("" for the top),
   DIRFD and NAME the entry's directory and name there, ST its lstat
   (the top one followed, when it is a symlink in the context).  The walk
   does not follow symlinks below the top or cross mount points (a mount
   point in the context is left out).  This is what COPY puts into a
   layer, so that it and the checksum agree.  The top is always given
   (for the context itself: DIRFD an fd of the context's directory, NAME
   "."); an excluded directory that an exception brings something below
   it back from is given just before that entry, as BuildKit sends it,
   so that every entry comes after its parent.  */
typedef int (*hutch_context_fn) (void *data, const char *rel, int dirfd, const char *name,
                                 const struct stat *st, hutch_error_t *err);
int hutch_context_walk (struct hutch_context *c, const char *path, hutch_context_fn fn, void *data,
                        hutch_error_t *err);

#endif
