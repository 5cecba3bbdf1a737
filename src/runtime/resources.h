/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_RESOURCES_H
#define HUTCH_RESOURCES_H

/* Resource limits as users type them (Docker's names and units), turned
   into cgroup v2 files and values: the same form as the OCI spec's
   linux.resources.unified, which is what src/cgroup.c writes.  Pure
   functions, unit-tested.  */

#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hutch_spec;
struct hutch_resource;

/* The options of `hutch run`, as typed; NULL when not given.  */
struct hutch_limits
{
  char *memory, *memory_reservation, *memory_swap;
  char *pids_limit;
  char *cpus, *cpu_shares, *cpuset_cpus, *cpuset_mems;
  char *blkio_weight;
  char **conf; /* --cgroup-conf KEY=VALUE */
};

void hutch_limits_clear (struct hutch_limits *l);
bool hutch_limits_any (const struct hutch_limits *l);

/* Turn L into cgroup settings of SPEC (hutch_spec_add_resource).  Errors
   name the option, the value and what is accepted.  */
int hutch_limits_to_spec (const struct hutch_limits *l, struct hutch_spec *spec,
                          hutch_error_t *err);

/* linux.resources of an OCI config.json (a json_t object, or NULL) into
   SPEC's settings; what hutch cannot honour is refused.  */
int hutch_resources_from_oci (void *json_resources, struct hutch_spec *spec, hutch_error_t *err);

/* For `update`: linux.resources (a json_t object, as a config.json has
   it) as the settings to write into a running container's cgroup, the
   same translation as hutch_resources_from_oci, and refused where it
   refuses.  What is absent stays as it is.  A value that needs another
   the update does not give reads it from the cgroup CGROUP_PATH (NULL:
   none): memory.swap counts memory and swap together, so without
   memory.limit it takes the container's memory.max (as runc takes the
   limit it recorded); cpu.max holds quota and period together, so a new
   quota keeps the period and a new period the quota.  *RET (N settings,
   possibly none) is freed with hutch_resources_free.  */
int hutch_resources_update_from_oci (void *json_resources, const char *cgroup_path,
                                     struct hutch_resource **ret, size_t *ret_n,
                                     hutch_error_t *err);

/* runc update's options, for a thin command line: PAIRS is NAME, VALUE,
   NAME, VALUE, ..., NULL with runc's names (with or without the leading
   --): memory, memory-reservation, memory-swap (sizes such as 64m, or -1
   for no limit), cpu-shares, cpu-quota, cpu-period, cpuset-cpus,
   cpuset-mems, pids-limit, blkio-weight.  Made into the linux.resources
   object runc would make of them, then as
   hutch_resources_update_from_oci.  kernel-memory, kernel-memory-tcp,
   cpu-rt-period and cpu-rt-runtime (cgroup v2 has none of them),
   l3-cache-schema and mem-bw-schema (Intel RDT) are refused with why;
   an unknown name is an error.  */
int hutch_resources_update_from_flags (const char *const *pairs, const char *cgroup_path,
                                       struct hutch_resource **ret, size_t *ret_n,
                                       hutch_error_t *err);

void hutch_resources_free (struct hutch_resource *res, size_t n);

/* "256m", "1.5g", "512k", "100000" (bytes; b, k, m, g, t with an optional
   trailing b, any case; units are powers of 1024), as Docker reads sizes.  */
int hutch_parse_bytes (const char *s, int64_t *ret);

/* Docker's cpu.shares (2..262144) to cgroup v2's cpu.weight (1..10000),
   the conversion runc and crun use.  */
uint64_t hutch_cpu_shares_to_weight (uint64_t shares);
/* blkio weight (10..1000) to io.weight (1..10000), the same way.  */
uint64_t hutch_blkio_weight_to_io_weight (uint64_t weight);

/* A --cgroup-conf or linux.resources.unified key: a file of a controller
   ("memory.high"), never one that moves processes or controllers.  */
int hutch_cgroup_key_check (const char *key, hutch_error_t *err);
/* The controller a file needs enabled ("memory" for "memory.high"), or
   NULL for files every cgroup has (cgroup.max.depth).  Allocated.  */
char *hutch_cgroup_key_controller (const char *key);

#endif
