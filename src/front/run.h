/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_RUN_H
#define HUTCH_RUN_H

/* `hutch run`'s options, turned into an OCI runtime configuration.  The CLI
   only fills this structure; every decision lives here so that it can be
   tested and reused by later front ends.  */

#include "base/error.h"
#include "image/store.h"
#include "runtime/idmap.h"
#include "runtime/resources.h"
#include "runtime/spec.h"

#include <stdbool.h>

enum hutch_network
{
  HUTCH_NETWORK_DEFAULT = -1,
  HUTCH_NETWORK_NONE,
  HUTCH_NETWORK_HOST,
  HUTCH_NETWORK_SLIRP,
};

struct hutch_run_options
{
  char *rootfs; /* NULL: an image, or the host sandbox */
  char *image;  /* an image from the store, or NULL */
  /* a squashfs image file (hutch run IMG.sqfs, --image-file; IMAGE is
     then the same path), or NULL */
  char *image_file;
  /* hutch build: the image of a step, its layers in the store and its
     config a blob there, but not in the index (IMAGE is then ignored);
     borrowed.  */
  const struct hutch_image *built_image;
  char *store_root;   /* --root, or NULL */
  int storage_driver; /* enum hutch_driver_choice, or -1 to probe */
  char **entrypoint;  /* --entrypoint split into words (empty: none), or NULL */
  bool read_only;
  char **volumes;
  char **tmpfs;
  char **mounts;          /* --mount */
  char **security_labels; /* --security-opt label=X: the Xs */
  char **env;
  char **env_files;
  char *workdir;
  char *user;
  char *hostname;
  bool interactive, tty, init;
  /* --pause: no command; hutch-init alone holds the namespaces */
  bool pause;
  int userns;  /* enum hutch_userns_mode, or -1 for the mode's default */
  int network; /* enum hutch_network */
  char **command;
  char *init_path; /* hutch-init on the host */
  /* Pulling a missing image (src/pull.h).  */
  int pull;       /* enum hutch_pull_policy */
  char *platform; /* --platform or NULL */
  int tls_verify; /* 1, 0, -1: from the config */
  char *authfile; /* --authfile or NULL */
  bool quiet;     /* no pull progress */
  /* The network (src/network.h).  */
  struct hutch_slirp *slirp; /* --network slirp[:OPTIONS], parsed */
  char **publish;            /* -p values */
  char **dns;                /* --dns */
  char **add_hosts;          /* --add-host */
  char *slirp_path;          /* hutch-slirp on the host */
  /* Limits (src/resources.h) and --cgroups=disabled.  */
  struct hutch_limits limits;
  bool cgroups_disabled;
  /* Security (src/caps.h).  */
  char **cap_add, **cap_drop;
  bool privileged;
  int no_new_privileges; /* 1, 0, or -1 for the default (on) */
  char *seccomp;         /* --security-opt seccomp=: a profile file, "unconfined", or NULL */
  /* Docker's everyday flags (src/front/runflags.c), as typed.  */
  bool rm;        /* --rm: what a foreground container gets anyway */
  char **devices; /* --device: host paths and CDI names (runtime/cdi.h) */
  /* hutch --cdi-spec-dir: where CDI specs are read, or NULL for
     /etc/cdi and /var/run/cdi.  */
  char **cdi_spec_dirs;
  char **ulimits;     /* --ulimit */
  char *shm_size;     /* --shm-size */
  char *tz;           /* --tz */
  bool publish_all;   /* -P */
  char **group_add;   /* --group-add */
  char *pid_mode;     /* --pid: private or host */
  char *ipc_mode;     /* --ipc */
  char *uts_mode;     /* --uts */
  bool env_host;      /* --env-host */
  char **labels;      /* --label */
  char **annotations; /* --annotation */
  char *cidfile;      /* --cidfile */
  char *stop_signal;  /* --stop-signal */
  char *stop_timeout; /* --stop-timeout */
  char *systemd;      /* --systemd: true, false or always (NULL: true) */
  /* The container's record (front/containers.h), set by the caller.  */
  char *container_id; /* its id (64 hex digits), or NULL for a random one */
  bool keep;          /* it outlives the run: its directory stays for the next start */
  bool detach;        /* a monitor holds it */
  /* What the record says and the monitor does (front/detach.c).  */
  char *name;        /* --name */
  char *restart;     /* --restart */
  char *log_driver;  /* --log-driver */
  char **log_opts;   /* --log-opt */
  char *detach_keys; /* --detach-keys */
};

enum hutch_pull_policy
{
  HUTCH_PULL_MISSING,
  HUTCH_PULL_ALWAYS,
  HUTCH_PULL_NEVER,
};
int hutch_pull_policy_from_name (const char *name);

void hutch_run_options_init (struct hutch_run_options *o);
void hutch_run_options_clear (struct hutch_run_options *o);

int hutch_userns_mode_from_name (const char *name);
/* The user namespace's mode (enum hutch_userns_mode) a run of O asks
   for: its --userns, else keep-id in the host sandbox, default with a
   root filesystem or an image.  */
int hutch_run_userns_mode (const struct hutch_run_options *o);
/* --network VALUE: none, host, or slirp[:OPTIONS] (into *RET_SLIRP).  */
int hutch_network_parse (const char *value, int *ret_mode, struct hutch_slirp **ret_slirp,
                         hutch_error_t *err);

/* Build the configuration.  What the user should know on the way (the
   fallback to a single id, say) goes to the log sink.  */
int hutch_run_make_spec (const struct hutch_run_options *o, struct hutch_spec **ret_spec,
                         hutch_error_t *err);

struct hutch_image_config;
struct hutch_store;
/* The image O->image, found in the store S or pulled as O->pull says, for
   the platform O->platform (else this machine's), with its layers
   unpacked: what hutch run and hutch build's FROM take.  */
int hutch_run_image_find (struct hutch_store *s, const struct hutch_run_options *o,
                          struct hutch_image *ret_img, struct hutch_image_config *ret_cfg,
                          hutch_error_t *err);
/* The image branch of hutch_run_make_spec (src/runimage.c).  */
int hutch_run_image_prepare (const struct hutch_run_options *o, struct hutch_spec *spec,
                             struct hutch_image_config *ret_cfg, int *ret_passwdfd,
                             int *ret_groupfd, hutch_error_t *err);
/* After the container ended: remove its directory in the store, and its
   anonymous volumes.  */
void hutch_run_cleanup (struct hutch_spec *spec, hutch_error_t *err);

/* -v, --mount and --tmpfs into SPEC's mounts (src/runmount.c): host paths,
   the store's volumes (made when new, locked while the container runs) and
   tmpfs mounts.  */
int hutch_run_add_mounts (const struct hutch_run_options *o, struct hutch_spec *spec,
                          const char *cwd, hutch_error_t *err);
/* The volumes' part of hutch_run_cleanup: their locks released, the
   anonymous ones removed.  */
void hutch_run_drop_volumes (struct hutch_spec *spec, hutch_error_t *err);
/* Whether SELinux is on: its filesystem is mounted at SELINUXFS (NULL:
   /sys/fs/selinux).  */
bool hutch_selinux_enabled (const char *selinuxfs);
/* :z, :Z (-v), relabel= (--mount) and --security-opt label= against
   SELINUX (whether it is on): refused where it is on, since hutch sets no
   SELinux label; said once where it is off.  */
int hutch_run_check_selinux (const struct hutch_run_options *o, const char *cwd, bool selinux,
                             hutch_error_t *err);

/* Docker's everyday flags (src/front/runflags.c).  Clear their fields.  */
void hutch_run_flags_clear (struct hutch_run_options *o);
/* --pid, --ipc or --uts VALUE (OPTION names it): *RET_HOST true for host,
   false for private; the forms that join another namespace are refused,
   with the reason.  */
int hutch_run_ns_mode (const char *option, const char *value, bool *ret_host, hutch_error_t *err);
/* What can be checked before an image is pulled: the namespaces shared
   with the host, --device, --ulimit, --tz, --shm-size, -P, --label,
   --annotation, --stop-signal, --stop-timeout; and the container's id.  */
int hutch_run_flags_early (const struct hutch_run_options *o, struct hutch_spec *spec, int network,
                           hutch_error_t *err);
/* /dev/shm (its size, or the host's with --ipc host) and /dev/mqueue.  */
void hutch_run_ipc_mounts (const struct hutch_run_options *o, struct hutch_spec *spec);
/* The hostname with --uts host: the host's (1), or 0 when the container
   has a UTS namespace of its own.  */
int hutch_run_host_hostname (const struct hutch_run_options *o, struct hutch_spec *spec,
                             hutch_error_t *err);
/* What needs the image and the user: -P's ports, --group-add, the image's
   labels and StopSignal.  GROUPFD: the root holding the container's
   /etc/group (an image's layer), or -1 to open --rootfs or `/`.  */
int hutch_run_flags_late (const struct hutch_run_options *o, struct hutch_spec *spec,
                          const struct hutch_image_config *cfg, int mode, int groupfd,
                          hutch_error_t *err);
/* --device's CDI names (runtime/cdi.h): found in the spec directories
   before an image is pulled (*RET is NULL when there are none), their
   edits made once the spec has its user, groups and environment.  A
   poststop hook is refused for a container under a monitor, which would
   not run it.  */
struct hutch_cdi;
int hutch_run_cdi_resolve (const struct hutch_run_options *o, struct hutch_cdi **ret,
                           hutch_error_t *err);
int hutch_run_cdi_apply (const struct hutch_run_options *o, const struct hutch_cdi *cdi,
                         struct hutch_spec *spec, hutch_error_t *err);
/* --systemd (src/front/runsystemd.c): VALUE (NULL: true) into *RET_MODE.  */
enum
{
  HUTCH_SYSTEMD_TRUE,   /* system mode when the command is systemd or init */
  HUTCH_SYSTEMD_FALSE,  /* never */
  HUTCH_SYSTEMD_ALWAYS, /* always */
};
int hutch_run_systemd_mode (const char *value, int *ret_mode, hutch_error_t *err);
/* System mode, when --systemd and the command (SPEC's args, made) ask for
   it: tmpfs mounts, container_uuid, the stop signal and timeout, a
   writable /sys/fs/cgroup.  After the user's mounts.  */
int hutch_run_systemd (const struct hutch_run_options *o, struct hutch_spec *spec,
                       const struct hutch_image_config *cfg, hutch_error_t *err);
/* --cidfile: make FILE, which must not exist (as Docker has it); returns
   its fd, or -1.  */
int hutch_run_cidfile_create (const char *path, hutch_error_t *err);
/* Write the container's ID into it.  */
int hutch_run_cidfile_write (int fd, const char *path, const char *id, hutch_error_t *err);
/* Remove it with the container (as podman does), when PATH is still the
   file FD has open; close FD.  */
void hutch_run_cidfile_remove (const char *path, int fd);

/* Docker's masked and read-only paths (NULL-terminated), which a run gets
   unless --privileged, and `hutch-oci spec` writes into its config.json.  */
extern const char *const hutch_run_masked_paths[];
extern const char *const hutch_run_readonly_paths[];

#endif
