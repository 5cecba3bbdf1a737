/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_BUILD_PRIVATE_H
#define HUTCH_BUILD_PRIVATE_H

/* What the files of src/build/ share: a build, its stages, and the state
   of the image a stage is making.  Not for other files.  */

#include "build/build.h"
#include "build/context.h"
#include "build/ignore.h"
#include "image/dockerfile.h"
#include "image/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* An image as a build holds it between steps: its layers (in the store,
   unpacked) and its whole config document.  */
struct bimage
{
  struct hutch_store_layer *layers;
  size_t n_layers;
  json_t *config; /* os, architecture, config, rootfs, history */
  char key[65];   /* the cache key of this state */
  char *time;     /* when its last layer was made (RFC 3339): its history's
                     and the image's "created", so that a rebuild from the
                     cache gives the same image */
};

void bimage_clear (struct bimage *b);
void bimage_copy (struct bimage *dst, const struct bimage *src);
/* The layer L on top (copied).  */
void bimage_add_layer (struct bimage *b, const struct hutch_store_layer *l);
/* The "config" object (made when missing).  */
json_t *bimage_cfg (struct bimage *b);
/* A history entry: CREATED_BY, EMPTY (no layer), at B's time.  */
void bimage_history (struct bimage *b, const char *created_by, bool empty);
struct build;
/* B's time is now T (NULL: the build's own time); --timestamp and
   --source-date-epoch fix every time to theirs.  */
void bimage_set_time (struct build *bd, struct bimage *b, const char *t);

struct bstage
{
  size_t index;
  char *name; /* AS NAME, lower case, or NULL */
  const struct hutch_df_instr *from;
  size_t first, end; /* its instructions: df->v[first..end) */
  bool needed;       /* the target depends on it */
  bool built;
  struct bimage result;
};

/* A variable of ARG or --build-arg.  */
struct bvar
{
  char *name, *value; /* VALUE NULL: declared without one */
};

struct build
{
  const struct hutch_build_opts *o;
  struct hutch_store *store;
  char *store_root;
  struct hutch_dockerfile df;
  char *df_name; /* for messages: the file as the user named it */
  char *df_rel;  /* the Containerfile relative to the context, or NULL */
  struct hutch_ignore *ignore;
  char *ignore_file;
  struct hutch_context *ctx; /* NULL: no context ("-") */
  char *context_abs;         /* the context's absolute path (bind mounts) */
  struct bstage *stages;
  size_t n_stages, target;
  struct bvar *build_args; /* --build-arg */
  size_t n_build_args;
  bool *build_arg_used;
  struct bvar *global_args; /* ARG before the first FROM */
  size_t n_global_args;
  char *created;                             /* RFC 3339 time of the images' "created" */
  char **names;                              /* -t, in full */
  int64_t clamp;                             /* file times clamped to this, or -1 */
  char *os, *arch, *variant;                 /* the platform built for */
  size_t step, n_steps;                      /* for the progress lines */
  bool cached;                               /* the last step came from the cache */
  const struct hutch_df_instr *trigger;      /* the ONBUILD trigger being run, or NULL */
  const struct hutch_df_instr *trigger_from; /* the FROM whose image has it */
};

/* The state while a stage's instructions are applied.  */
struct bstate
{
  struct build *b;
  struct bstage *stage;
  struct bimage img;
  struct bvar *args; /* ARGs in scope, in order */
  size_t n_args;
};

/* Variables for expansion: ENV of the image first, then ARGs in scope.  */
const char *bstate_lookup (void *data, const char *name);

/* "FILE:LINE: " prefixed to ERR for the instruction I.  */
int build_fail_at (struct build *b, const struct hutch_df_instr *i, hutch_error_t *err);
/* The progress line of a step.  */
void build_say (struct build *b, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* NAME in the list V of N, or NULL.  */
struct bvar *build_vars_find (struct bvar *v, size_t n, const char *name);
/* Set NAME to VALUE (NULL: declared without one) in the list V of N.  */
void build_vars_set (struct bvar **v, size_t *n, const char *name, const char *value);
void build_vars_free (struct bvar *v, size_t n);

/* The stage NAME names (its name or its index), or NULL.  */
struct bstage *build_stage_named (struct build *b, const char *name);
/* The value --build-arg gives NAME (marked used), or NULL.  */
const char *build_arg_value (struct build *b, const char *name);
/* The value of the global ARG NAME, or NULL.  */
const char *build_global_arg (struct build *b, const char *name);
/* The automatic platform ARG NAME (TARGETARCH...), or NULL; *OWNED is
   what the caller frees.  */
const char *build_platform_arg (struct build *b, const char *name, char **owned);
/* IMG from the image NAME of the store, pulled when --pull says so, its
   layers unpacked.  */
int build_from_image (struct build *b, const char *name, struct bimage *img, hutch_error_t *err);
/* Build stage S, and what it needs, once.  */
int build_stage (struct build *b, struct bstage *s, hutch_error_t *err);

/* ---- instructions (instr.c) --------------------------------------------- */

/* Apply a config instruction (everything but FROM, RUN, COPY, ADD).  */
int build_instr_config (struct bstate *st, const struct hutch_df_instr *i, hutch_error_t *err);
/* The environment a RUN sees: the image's Env and the ARGs in scope that
   it does not set.  NULL-terminated.  */
char **bstate_run_env (struct bstate *st);
/* The value of the flag NAME of I, or NULL; *RET_SET whether present.  */
const char *instr_flag (const struct hutch_df_instr *i, const char *name, bool *ret_set);
/* Refuse flags of I that are not in ALLOWED (NULL-terminated).  */
int instr_check_flags (const struct hutch_df_instr *i, const char *const *allowed,
                       hutch_error_t *err);

/* PATH cleaned, relative to BASE (NULL: /) when not absolute.  */
char *build_join_path (const char *base, const char *path);
/* The shell that shell forms run with: SHELL, else /bin/sh -c.  */
char **build_shell (struct bstate *st);

/* ---- steps that make layers --------------------------------------------- */

/* WORKDIR's directory PATH, made (owned by USER) when the image lacks it:
   1 when a layer (and its history) was added, 0 when it was there.  */
int build_step_workdir (struct bstate *st, const struct hutch_df_instr *i, const char *path,
                        hutch_error_t *err);

int build_step_run (struct bstate *st, const struct hutch_df_instr *i, hutch_error_t *err);
int build_step_copy (struct bstate *st, const struct hutch_df_instr *i, hutch_error_t *err);

/* ---- the cache (cache.c) ------------------------------------------------ */

struct bkey;
struct bkey *bkey_new (const char *prev);
void bkey_add (struct bkey *k, const char *what, const char *value);
void bkey_addv (struct bkey *k, const char *what, char *const *values);
/* Finish into RET_HEX (65 bytes) and free K.  */
void bkey_finish (struct bkey *k, char *ret_hex);

/* The layer recorded for KEY: 1 with *RET (EMPTY: the step made no
   layer) and *RET_TIME (when the step ran, or NULL) when the cache has it
   and its blob is in the store, 0 when not.  */
int build_cache_get (struct build *b, const char *key, struct hutch_store_layer *ret,
                     bool *ret_empty, char **ret_time);
/* Record KEY's layer (NULL: none), made now.  Failing to is only logged.  */
void build_cache_put (struct build *b, const char *key, const struct hutch_store_layer *l);

/* ---- --output (output.c) ------------------------------------------------ */

/* Refuse a bad --output before anything is built.  */
int build_outputs_check (const struct hutch_build_opts *o, hutch_error_t *err);
struct hutch_image;
/* Write IMG (REC: its blobs) where --output says.  */
int build_outputs (struct build *b, const struct bimage *img, const struct hutch_image *rec,
                   hutch_error_t *err);
/* Refuse a bad --secret before anything is built.  */
int build_secrets_check (const struct hutch_build_opts *o, hutch_error_t *err);

/* Every entry below the directory DIRFD as hutch_walk_sorted walks it,
   FN called as hutch_context_walk calls it.  */
int build_walk_tree (int dirfd,
                     int (*fn) (void *, const char *, int, const char *, const struct stat *,
                                hutch_error_t *),
                     void *data, hutch_error_t *err);

/* ---- the image's layers ---------------------------------------------------- */

/* The layer directories of IMG, topmost first, NULL-terminated.  */
char **bimage_layer_dirs (struct build *b, const struct bimage *img);
/* Unpack the layers of IMG that the store lacks (a layer a step just
   made, one a prune took), so that bimage_layer_dirs's directories
   exist.  */
int bimage_unpack (struct build *b, const struct bimage *img, hutch_error_t *err);

#endif
