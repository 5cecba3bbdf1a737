/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_CHANGE_H
#define HUTCH_CHANGE_H

/* `hutch import --change`: the Dockerfile instructions that set an image's
   config, as `docker import --change` takes them.  */

#include "base/error.h"

#include <jansson.h>

/* The instructions taken, for messages: "CMD, ENTRYPOINT, ...".  */
#define HUTCH_CHANGE_INSTRUCTIONS "CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER and WORKDIR"
/* `hutch commit --change` takes docker commit's: these and VOLUME and
   STOPSIGNAL.  */
#define HUTCH_CHANGE_COMMIT_INSTRUCTIONS                                                           \
  "CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME and WORKDIR"

/* Apply CHANGES (NULL-terminated, in order; NULL for none) to CONFIG, the
   "config" object of an image config, as a Dockerfile's instructions
   would: CMD and ENTRYPOINT in JSON (exec) form or shell form (run by
   /bin/sh -c), ENV and LABEL as NAME=VALUE... or NAME VALUE, EXPOSE
   PORT[-PORT][/PROTOCOL]..., USER and WORKDIR (a relative one is taken from
   the previous WORKDIR).  Words are read as Dockerfile words are
   (hutch_df_words, hutch_df_pairs and hutch_df_expand of
   image/dockerfile.h): quotes, backslash escapes, and in ENV, LABEL,
   EXPOSE, USER, WORKDIR, VOLUME and STOPSIGNAL $NAME, ${NAME} and the
   operators ${NAME:-WORD}, ${NAME#PATTERN}... from the Env the
   instructions before have made.  Another instruction, or one that does not parse, is
   an error that names the change; CONFIG may then be half changed.  */
int hutch_image_apply_changes (json_t *config, char *const *changes, hutch_error_t *err);

/* Whether CHANGES would apply (to an empty config): for a front end, to
   refuse a bad --change before any work.  */
int hutch_image_check_changes (char *const *changes, hutch_error_t *err);

/* The same for `hutch commit --change`, which also takes VOLUME PATH...
   (or a JSON array: each a key of Volumes) and STOPSIGNAL SIGNAL (a
   signal's name or number, as StopSignal).  */
int hutch_image_apply_commit_changes (json_t *config, char *const *changes, hutch_error_t *err);
int hutch_image_check_commit_changes (char *const *changes, hutch_error_t *err);

#endif
