/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_UTIL_H
#define HUTCH_UTIL_H

#include "base/error.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* Allocation failure is not an error a container launcher can recover from
   with anything better than a clear abort.  */
void *hutch_xmalloc0 (size_t size);
void *hutch_xrealloc (void *ptr, size_t size);

/* A growing buffer, kept NUL-terminated: appends are amortized O(1), so
   that joining a long instruction's lines or serializing a cache stays
   linear.  Starts as { 0 }.  */
struct hutch_buf
{
  char *s;
  size_t len, cap;
};
void hutch_buf_add (struct hutch_buf *b, const void *p, size_t n);
void hutch_buf_addc (struct hutch_buf *b, char c);
void hutch_buf_adds (struct hutch_buf *b, const char *s);
/* The string (never NULL); the buffer is left empty.  */
char *hutch_buf_steal (struct hutch_buf *b);
char *hutch_xstrdup (const char *s);
char *hutch_xstrndup (const char *s, size_t n);
char *hutch_xasprintf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
char *hutch_xvasprintf (const char *fmt, va_list ap) __attribute__ ((format (printf, 1, 0)));

void hutch_freep (void *p);
void hutch_closep (int *fd);
void hutch_fclosep (FILE **f);
void hutch_strv_freep (char ***v);

#define _cleanup_free_ __attribute__ ((cleanup (hutch_freep)))
#define _cleanup_close_ __attribute__ ((cleanup (hutch_closep)))
#define _cleanup_fclose_ __attribute__ ((cleanup (hutch_fclosep)))
#define _cleanup_strv_ __attribute__ ((cleanup (hutch_strv_freep)))

/* Take ownership out of a cleanup variable.  */
#define HUTCH_STEAL_PTR(p)                                                                         \
  ({                                                                                               \
    __typeof__ (p) _tmp = (p);                                                                     \
    (p) = NULL;                                                                                    \
    _tmp;                                                                                          \
  })
#define HUTCH_STEAL_FD(fd)                                                                         \
  ({                                                                                               \
    int _tmp = (fd);                                                                               \
    (fd) = -1;                                                                                     \
    _tmp;                                                                                          \
  })

/* NULL-terminated string vectors.  */
size_t hutch_strv_len (char *const *v);
/* WORDS for a sentence: "a", "a and b", "a, b and c".  */
char *hutch_join_and (char *const *words);
void hutch_strv_push (char ***v, char *owned);
char **hutch_strv_dup (char *const *v);
void hutch_strv_free (char **v);

/* I/O that retries on EINTR and short transfers.  */
int hutch_write_all (int fd, const void *buf, size_t len);
ssize_t hutch_read_all (int fd, void *buf, size_t len);
/* Copy what is left of SRC to the end into DST: copy_file_range, and
   read/write where the kernel cannot do it between these two files.
   0, or -1 with errno.  */
int hutch_copy_fd (int src, int dst);
/* Read a whole fd (at most MAX bytes) into a NUL-terminated buffer.  */
int hutch_read_fd (int fd, size_t max, char **ret_buf, size_t *ret_len, hutch_error_t *err);
int hutch_read_file (const char *path, size_t max, char **ret_buf, size_t *ret_len,
                     hutch_error_t *err);
int hutch_write_file (const char *path, const char *content, hutch_error_t *err);
/* Put the file TMP of DIRFD in the place of NAME (in the same directory),
   atomically as rename(2) does: a reader sees the old file or the new,
   whole.  A NAME that exists is exchanged with TMP (RENAME_EXCHANGE) and
   TMP, now the old file, is unlinked, because ext4 answers a rename over
   an existing file by writing the new file's data out at once
   (auto_da_alloc): 0.5-2 ms that each small record or state written
   this way used to cost.  The new data are not synced either way.
   0, or -1 with errno; TMP is left for the caller on failure.  */
int hutch_replace_at (int dirfd, const char *tmp, const char *name);

/* Milliseconds of CLOCK_MONOTONIC: for deadlines and timeouts, which a
   change of the wall clock must not move.  */
long long hutch_now_ms (void);
/* Every signal's disposition back to the default and none blocked: for a
   process that must not keep what its parent set up (a hook, a
   detached helper).  */
void hutch_signals_default (void);

/* The first regular executable file NAME in $PATH (a standard list when it
   is unset or empty), or NULL.  */
char *hutch_find_program (const char *name);

/* Whether the working directory is inside the process's root: the kernel
   names a directory outside it "(unreachable)/...", which glibc's getcwd
   turns into ENOENT.  */
bool hutch_cwd_in_root (void);

/* Whether this process is in a user namespace other than the initial
   one: root there (as under rootless podman, whose conmon runs an OCI
   runtime in the user namespace it made) is not the host's root.  */
bool hutch_in_user_namespace (void);
/* Parse a decimal unsigned number that must fit in 32 bits.  */
int hutch_parse_u32 (const char *s, unsigned int *ret);

/* A random lower-case hex string of LEN characters.  */
int hutch_random_hex (char *buf, size_t len);

bool hutch_str_has_prefix (const char *s, const char *prefix);

/* $HOME when it is the user's own directory; otherwise (sudo -u, su and
   runuser keep another user's HOME) the home in the password database.  */

/* Close every fd from 3 up but the N fds of KEEP (sorted in place), with
   close_range, or one by one before Linux 5.9.  Only async-signal-safe
   calls: for a child between fork and exec.  */
void hutch_close_all_but (int *keep, size_t n);

#endif
