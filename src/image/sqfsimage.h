/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_SQFSIMAGE_H
#define HUTCH_SQFSIMAGE_H

/* A single-file image (`hutch save --format squashfs`, `hutch run
   IMG.sqfs`): one squashfs filesystem that is the image's flattened root,
   followed by a note that says what the image's config says.

     [ squashfs: superblock ... its bytes_used, padded to 4 KiB ]
     [ note: a JSON document, UTF-8 ]
     [ footer, 32 bytes: "hutch image note" (16 bytes), the note's offset
       and its length (little-endian 64-bit each) ]

   Squashfs readers (the kernel, squashfuse, unsquashfs) stop at the
   superblock's bytes_used, so the note is invisible to them and to the
   container: nothing inside the root needs hiding.  The launcher reads the
   note with three preads, without mounting or parsing the filesystem on
   the host (the filesystem itself is parsed only by squashfuse, inside the
   container's user namespace).  The note:

     { "hutchImageNote": 1,
       "name": "docker.io/library/debian:12", "id": "sha256:...",
       "config": { ...the image's config, as in the store... },
       "passwd": "...", "group": "..." }

   passwd and group are the image's /etc/passwd and /etc/group (absent
   when it has none): `--user NAME` and the image's User are resolved
   before the image is mounted.  A squashfs without the footer (mksquashfs
   of a root directory) is an image without a config: it runs, with the
   command given.  */

#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HUTCH_SQFS_NOTE_VERSION 1
/* Bound on the note read back (configs are bounded to 16 MiB too).  */
#define HUTCH_SQFS_NOTE_MAX (16u << 20)
/* Bound on passwd and group each, written into the note.  */
#define HUTCH_SQFS_ETC_MAX (4u << 20)

struct hutch_sqfs_image
{
  int fd; /* the file, O_RDONLY */
  uint64_t size, bytes_used;
  bool has_note;
  char *name;   /* the image's name when it was saved, or NULL */
  char *id;     /* its id ("sha256:..."), or NULL */
  char *config; /* its config (JSON), or NULL */
  char *passwd; /* its /etc/passwd, or NULL */
  char *group;  /* its /etc/group, or NULL */
};

/* Whether PATH is a regular file that begins with the squashfs magic
   ("hsqs"): 1 yes, 0 no (not a regular file, missing, or another kind of
   file).  */
int hutch_sqfs_probe (const char *path);

/* Open PATH, check that it is a squashfs filesystem that is whole (its
   superblock is sane and the file holds all of its bytes_used), and read
   its note when it has one.  Errors name the file, what is wrong and how
   to make a good one.  */
int hutch_sqfs_image_open (const char *path, struct hutch_sqfs_image *ret, hutch_error_t *err);
/* The same from an open FD (taken: closed by hutch_sqfs_image_clear);
   PATH is for messages.  */
int hutch_sqfs_image_read (int fd, const char *path, struct hutch_sqfs_image *ret,
                           hutch_error_t *err);
void hutch_sqfs_image_clear (struct hutch_sqfs_image *img);

/* Append NOTE (a JSON document) and the footer to FD, a squashfs file
   whose filesystem ends at its current size.  */
int hutch_sqfs_note_append (int fd, const char *note, hutch_error_t *err);

#endif
