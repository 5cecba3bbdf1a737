/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* A squashfs image file's superblock and note (image/sqfsimage.h), as the
   launcher reads them from a file anyone may have made.  */

#include "fuzz.h"
#include "image/sqfsimage.h"
#include "base/util.h"

#include <sys/mman.h>
#include <unistd.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct hutch_sqfs_image img;
  hutch_error_t err = HUTCH_ERROR_INIT;
  int fd = memfd_create ("sqfs", MFD_CLOEXEC);

  if (fd < 0 || (size && hutch_write_all (fd, data, size) < 0))
    abort ();
  if (hutch_sqfs_image_read (fd, "fuzz.sqfs", &img, &err) == 0)
    {
      /* What is accepted is whole: the filesystem within the file, a
         note only after it.  */
      if (img.bytes_used > img.size || (img.config && !img.has_note))
        abort ();
      hutch_sqfs_image_clear (&img);
    }
  else if (err.msg == NULL || img.fd != -1)
    abort ();
  hutch_error_clear (&err);
  return 0;
}
