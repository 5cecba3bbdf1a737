/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_UNZSTD_H
#define HUTCH_UNZSTD_H

/* zstd decompression of layers (tar+zstd) with libzstd's streaming decoder,
   in the layer's reading thread (image/unpack-feed.c).  Going through
   libarchive's zstd filter instead costs its read-ahead and a copy of every
   decompressed byte into the "raw" reader's block; here the tar arrives in
   the feeder's slots directly, as igzip's does (image/gunzip.h).  */

#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The largest window a frame may ask for, as a power of two: 512 MiB, what
   containerd and podman (Go's klauspost/compress decoder) accept by default,
   so that a layer they pull, hutch pulls too.  `zstd --long` makes 128 MiB
   windows (27) and `--long=29` the largest this takes.  The window is most
   of the decoder's memory (less when the frame's header gives a smaller
   content size); an ordinary layer has a small one (`zstd -3`: 2 MiB,
   `-19`: 8 MiB).  A frame asking for more is refused before anything of
   its size is allocated.  */
#define HUTCH_UNZSTD_WINDOW_LOG_MAX 29

/* Whether BUF, the first LEN bytes of a stream, starts a zstd frame or a
   skippable frame (RFC 8878, 3.1.1 and 3.1.2).  */
bool hutch_unzstd_magic (const void *buf, size_t len);

/* Where the compressed bytes come from: up to LEN bytes into BUF, returning
   how many (0 at the end of the input), or -1 with ERR filled.  */
typedef ssize_t (*hutch_unzstd_read_fn) (void *data, void *buf, size_t len, hutch_error_t *err);

struct hutch_unzstd;

/* A decompressor of what READ (called with DATA) gives.  */
struct hutch_unzstd *hutch_unzstd_new (hutch_unzstd_read_fn read, void *data);

/* Up to LEN decompressed bytes into BUF: returns how many (fewer than LEN
   only at the end of the stream), 0 at its end, or -1 with ERR filled (a
   damaged or truncated stream, or a frame whose window is too large: ERR's
   errnum is 0; an error of READ: its own).  The stream is one frame or
   several in a row, skippable frames among them (RFC 8878, 3.1); a frame's
   content checksum, when it has one, is checked.  Anything after the last
   frame that is not a frame is an error, as `zstd -d` has it.  */
ssize_t hutch_unzstd_read (struct hutch_unzstd *z, void *buf, size_t len, hutch_error_t *err);

/* How many frames (skippable ones too) were read to their end.  */
unsigned long hutch_unzstd_frames (const struct hutch_unzstd *z);

void hutch_unzstd_free (struct hutch_unzstd *z);

#endif
