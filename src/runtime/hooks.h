/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_HOOKS_H
#define HUTCH_HOOKS_H

/* OCI hooks (config.json's "hooks"): programs of the host (or, for
   createContainer and startContainer, of the container) that the runtime
   runs at fixed points of a container's life, each with the container's
   state on its standard input.  This module reads them from config.json,
   writes them back, and runs one list of them; which list runs when, and
   in which namespaces, is the lifecycle's business (container.c,
   child.c).  */

#include "base/error.h"
#include "runtime/spec.h"

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

/* In the order of a container's life (runtime-spec config.md#posix-platform-hooks).  */
enum hutch_hook_kind
{
  HUTCH_HOOK_PRESTART, /* deprecated by the spec, still run (podman uses it) */
  HUTCH_HOOK_CREATE_RUNTIME,
  HUTCH_HOOK_CREATE_CONTAINER,
  HUTCH_HOOK_START_CONTAINER,
  HUTCH_HOOK_POSTSTART,
  HUTCH_HOOK_POSTSTOP,
  HUTCH_HOOK_COUNT
};

struct hutch_hook
{
  char *path;  /* absolute */
  char **args; /* NULL-terminated, args[0] included; empty: argv is { path } */
  char **env;  /* NULL-terminated: the hook's whole environment */
  int timeout; /* seconds, or 0 for none */
};

struct hutch_hook_list
{
  struct hutch_hook *hooks;
  size_t n;
};

struct hutch_hooks
{
  struct hutch_hook_list kind[HUTCH_HOOK_COUNT]; /* indexed by enum hutch_hook_kind */
};

/* The name config.json gives KIND ("createRuntime"), or NULL.  */
const char *hutch_hook_kind_name (int kind);

/* Read config.json's "hooks" object (NULL or null: none) into *RET, which
   must be zeroed; on error *RET holds nothing and ERR names the JSON path
   (hooks.prestart[0].path).  Unknown kinds and unknown fields of a hook
   are refused: a hook that is not run would be a check that silently
   does not happen.  */
int hutch_hooks_from_oci (json_t *hooks, struct hutch_hooks *ret, hutch_error_t *err);
/* The same object back (a new reference): only the kinds that have hooks,
   and of each hook only the fields it has.  */
json_t *hutch_hooks_to_json (const struct hutch_hooks *hooks);
void hutch_hooks_free (struct hutch_hooks *hooks);

/* Run the N hooks of LIST in order, each to its end; the first that fails
   stops the list.  KIND names the list in errors ("prestart").  Each runs
   as a child in a process group of its own, with exactly its env,
   STATE_JSON on its standard input, its stdout and stderr into a pipe
   that hutch reads (the last 4 KiB go into the error of a hook that
   fails, the rest is logged at debug level), and no other fd.  A hook
   with a timeout that is still running then is killed, its whole process
   group.  Waits through a pidfd and waitpid on the hook's own pid only, so
   that it works with SIGCHLD blocked (a signalfd), but not with SIGCHLD
   ignored.  SIGPIPE from a hook that does not read its input is caught
   here, never delivered.  */
int hutch_hooks_run (const struct hutch_hook *list, size_t n, const char *kind,
                     const char *state_json, hutch_error_t *err);

/* The container's state as the runtime spec says (runtime.md#state), for
   a hook's input: ociVersion, id, status, pid (left out when 0), bundle,
   annotations (left out when there are none).  A malloc'd string.  */
char *hutch_hooks_state_json (const char *id, const char *status, pid_t pid, const char *bundle,
                              const struct hutch_kv *annotations, size_t n);

/* Run SPEC's hooks of KIND (none: nothing) with the state of its
   container (extra.oci_id, extra.oci_bundle, its annotations) as STATUS
   with PID.  */
int hutch_hooks_run_spec (const struct hutch_spec *spec, int kind, const char *status, pid_t pid,
                          hutch_error_t *err);
/* The same for poststart and poststop, whose failure is a warning only,
   as the runtime spec says: the container runs (or is gone) already.  */
void hutch_hooks_run_late (const struct hutch_spec *spec, int kind, const char *status, pid_t pid);

#endif
