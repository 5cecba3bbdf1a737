/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_SECCOMP_FILE_H
#define HUTCH_SECCOMP_FILE_H

/* The layout of a compiled seccomp filter in a file: the cache of built
   filters and the container's seccomp.bpf (sysfilter.c).  A header of
   its own only because a second reader needs it: hutch's Slurm plugin
   (slurm/), which is loaded into slurmstepd and so cannot link
   libhutch, gives each task of a step the container's filter from
   seccomp.bpf, as `hutch exec` does.  */

#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>

/* seccomp.bpf: this header (key_len 0), then INSNS instructions.  */
#define HUTCH_SECCOMP_SAVED_MAGIC "HUTCHSV1"

struct hutch_seccomp_file_header
{
  char magic[8];
  uint32_t key_len, insns, flags, reserved;
  uint64_t sum; /* FNV-1a of the header (sum 0), key and instructions */
};

#define HUTCH_FNV_START 0xcbf29ce484222325ULL

static inline uint64_t
hutch_fnv1a (uint64_t h, const void *data, size_t len)
{
  const unsigned char *p = data;
  size_t i;
  for (i = 0; i < len; i++)
    h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}

/* The checksum that H.sum must hold for H, KEY (H.key_len bytes) and
   INSNS (H.insns instructions).  */
static inline uint64_t
hutch_seccomp_file_sum (struct hutch_seccomp_file_header h, const char *key,
                        const struct sock_filter *insns)
{
  h.sum = 0;
  return hutch_fnv1a (hutch_fnv1a (hutch_fnv1a (HUTCH_FNV_START, &h, sizeof h), key, h.key_len),
                      insns, h.insns * sizeof (struct sock_filter));
}

#endif
