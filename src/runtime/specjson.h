/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_SPECJSON_H
#define HUTCH_SPECJSON_H

/* A container's configuration on disk, for the commands that come after
   the one that started it (exec, and whatever reads what it ran with).

   What is saved where, in the container's directory (DIRFD):

     config.json   the OCI runtime-spec configuration (hutch_spec_to_json),
                   which hutch_spec_parse_json reads back into a spec that
                   runs the same: process (terminal, user, args, env, cwd,
                   capabilities, noNewPrivileges, rlimits), root, hostname,
                   mounts, linux (namespaces, id maps, maskedPaths,
                   readonlyPaths, resources as `unified`, devices) and
                   annotations.  hutch's extra.keep_groups is written as
                   crun's annotation run.oci.keep_original_groups=1, which
                   the runtime honours the same way (src/runtime/child.c).
     seccomp.bpf   the seccomp filter as it was built and installed
                   (hutch_seccomp_save, src/runtime/sysfilter.h), or the
                   record that there was none: not the profile, which may
                   have been a file that changed since, and whose BPF
                   depends on the libseccomp and the kernel of the start.
                   An exec gets exactly the container's filter.

   Not saved, since nothing after the start needs it: a mount's copy_up
   and chown (done once, before the container's first process ran), and
   the rest of struct hutch_spec_extra (generated files, symlinks, the
   overlay, the network helper, hutch-init, locks, stop signal and
   timeout: the records in src/front/containers.h keep what `start` needs
   to make the configuration again).  Resources that were only implied
   (Docker's default swap, skipped where the kernel lacks the file) are
   left out rather than made into demands.  A device bound at another
   path than the host's (--device /dev/a:/dev/b) is left out: config.json
   names one path for both, and hutch_spec_parse_json would look for
   /dev/b on the host.  A hostname without a UTS namespace of the
   container's own (--uts host) is the host's and is left out: the parser
   refuses it.

   The parser stats each of linux.devices on the host;
   hutch_spec_load_saved skips them, so that a device unplugged since the
   start cannot keep anyone from entering the container (its node is
   bound already, in the container's mount namespace).  */

#include "base/error.h"
#include "runtime/spec.h"

#include <jansson.h>

/* SPEC as config.json text (indented, ending with a newline).  A spec the
   parser would refuse (no args, a relative cwd or root, a resource file
   that is not one) is an error here, never written.  */
int hutch_spec_to_json (const struct hutch_spec *spec, char **ret_text, hutch_error_t *err);

/* Write DIRFD/config.json and DIRFD/seccomp.bpf, each under a temporary
   name first, synced, then renamed into place.  */
int hutch_spec_save (const struct hutch_spec *spec, int dirfd, hutch_error_t *err);

/* Read them back: a spec with its seccomp filter (NULL when the container
   ran without one; a missing seccomp.bpf is an error, never "no filter"),
   without linux.devices (see above).  */
int hutch_spec_load_saved (int dirfd, struct hutch_spec **ret_spec, hutch_error_t *err);
/* The same with config.json's process replaced by PROCESS (an OCI
   process object: hutch-oci exec --process), checked as config.json's
   own would be.  */
int hutch_spec_load_saved_process (int dirfd, json_t *process, struct hutch_spec **ret_spec,
                                   hutch_error_t *err);

/* A NULL-terminated list of strings (V may be NULL) as a JSON array.  */
json_t *hutch_json_strv (char *const *v);

#endif
