/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_GUNZIP_H
#define HUTCH_GUNZIP_H

/* gzip decompression with ISA-L's igzip, which inflates about three times as
   fast as zlib: most layers are gzip, and their decompression is on the path
   of every pull.  It exists when hutch was built with ISA-L's header
   (configure: libisal) and libisal.so.2 can be loaded; otherwise callers use
   libarchive's gzip filter (zlib), which reads the same streams.  */

#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Whether igzip can be used here (loads libisal the first time).  */
bool hutch_gunzip_available (void);

/* Whether BUF, the first LEN bytes of a stream, starts a gzip member: its
   magic and deflate as the method (RFC 1952, 2.3.1).  */
bool hutch_gunzip_magic (const void *buf, size_t len);

/* Where the compressed bytes come from: up to LEN bytes into BUF, returning
   how many (0 at the end of the input), or -1 with ERR filled.  */
typedef ssize_t (*hutch_gunzip_read_fn) (void *data, void *buf, size_t len, hutch_error_t *err);

struct hutch_gunzip;

/* A decompressor of what READ (called with DATA) gives, which must start
   with a gzip member.  NULL when igzip is not available.  */
struct hutch_gunzip *hutch_gunzip_new (hutch_gunzip_read_fn read, void *data);

/* Up to LEN decompressed bytes into BUF: returns how many (fewer than LEN
   only at the end of the stream), 0 at its end, or -1 with ERR filled (a
   damaged or truncated stream: ERR's errnum is 0; an error of READ: its
   own).  The stream is one gzip member or several in a row (RFC 1952, 2.2),
   each checked against the CRC-32 and the length of its trailer.  Bytes after
   a member that do not start another one end the stream and are ignored,
   as libarchive and gzip -d do (padding, say).  */
ssize_t hutch_gunzip_read (struct hutch_gunzip *z, void *buf, size_t len, hutch_error_t *err);

/* How many gzip members were read to their end.  */
unsigned long hutch_gunzip_members (const struct hutch_gunzip *z);

void hutch_gunzip_free (struct hutch_gunzip *z);

#endif
