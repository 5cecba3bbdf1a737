/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_SPEC_H
#define HUTCH_SPEC_H

/* The internal contract: an OCI runtime-spec configuration in memory.  Both
   front ends produce one (hutch run from its options, hutch-oci from a
   bundle's config.json) and libhutch runs it.  Field names follow the OCI
   runtime spec; what hutch adds on top lives in `struct hutch_spec_extra`
   and never comes from config.json.  */

#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The version of the OCI runtime specification whose configuration this
   is: what `hutch-oci --version` and `hutch version` say.  */
#define HUTCH_OCI_SPEC_VERSION "1.2.0"

struct hutch_idmap
{
  unsigned int container_id;
  unsigned int host_id;
  unsigned int size;
};

struct hutch_mount
{
  char *destination;
  char *type;     /* "bind", "proc", "tmpfs", "devpts", "mqueue", "sysfs", ... */
  char *source;   /* host path for binds */
  char **options; /* NULL-terminated, as in the spec: "ro", "nosuid", "rbind", "mode=755" */
  /* hutch's own, never from config.json: what B does to a bind's source
     before attaching it (src/runtime/mount.c).  */
  bool copy_up; /* an empty source directory first gets what the root has at
                   destination (a new volume: docker's copy-up) */
  bool chown;   /* the source's tree is given to process.user (-v ...:U) */
};

/* linux.resources, as the cgroup v2 files and values to write (the form of
   linux.resources.unified).  IMPLIED settings were not asked for (Docker's
   default swap): they are skipped where the kernel lacks the file.  */
struct hutch_resource
{
  char *file;
  char *value;
  bool implied;
};

struct hutch_rlimit
{
  int resource;
  unsigned long long soft, hard; /* RLIM_INFINITY for no limit */
};

/* A device node of the host, bound into the container (linux.devices;
   hutch run --device).  Rootless, no node can be made: mknod of a device
   needs CAP_MKNOD in the initial user namespace.  So the host's own node
   is bound, and the container can open it exactly as far as the user can
   on the host (src/runtime/devices.c says why).  */
struct hutch_device
{
  char *path;      /* in the container */
  char *host_path; /* the host's node; config.json: the same as path */
  char type;       /* 'c' or 'b' */
  unsigned int major, minor;
  /* What the container's process must be able to open it for, checked on
     the host before the start and again as that process, just before its
     exec (both false: only bound).  */
  bool read, write;
};

/* An allow rule of linux.resources.devices: TYPE 'a' (any), 'c' or 'b';
   MAJOR and MINOR, -1 for any; ACCESS, what it lets the container do:
   HUTCH_DEV_MKNOD, _READ, _WRITE (m, r, w).  */
#define HUTCH_DEV_MKNOD 1u
#define HUTCH_DEV_READ 2u
#define HUTCH_DEV_WRITE 4u
struct hutch_device_rule
{
  char type;
  long long major, minor;
  unsigned int access;
};

/* A key and its value: OCI annotations, labels.  */
struct hutch_kv
{
  char *key;
  char *value;
};

enum hutch_ns
{
  HUTCH_NS_USER,
  HUTCH_NS_MOUNT,
  HUTCH_NS_PID,
  HUTCH_NS_UTS,
  HUTCH_NS_IPC,
  HUTCH_NS_NET,
  HUTCH_NS_CGROUP,
  HUTCH_NS_TIME,
  HUTCH_NS_COUNT
};

/* process.scheduler: sched_setattr(2)'s struct sched_attr, as the spec
   names it.  */
struct hutch_sched
{
  unsigned int policy; /* SCHED_OTHER, SCHED_FIFO, ... (the kernel's numbers) */
  int nice;
  unsigned int priority;
  unsigned long long flags;                     /* SCHED_FLAG_* */
  unsigned long long runtime, deadline, period; /* SCHED_DEADLINE, in ns */
};

/* linux.timeOffsets: one clock's offset in the time namespace.  */
struct hutch_time_offset
{
  long long secs;
  long nanosecs;
};

/* A generated file bound read-only (or read-write) into the container, made
   in a private tmpfs that vanishes with the container's mount namespace.  */
struct hutch_file
{
  char *destination;
  char *content;
};

struct hutch_symlink
{
  char *path;
  char *target;
};

enum hutch_storage_driver
{
  HUTCH_DRIVER_NONE,    /* root.path is a plain directory */
  HUTCH_DRIVER_OVERLAY, /* kernel overlayfs, mounted inside the user namespace */
  HUTCH_DRIVER_FUSE,    /* fuse-overlayfs, run inside the user namespace */
};

/* An overlay root: mounted by the container's own processes, since only a
   process inside the user namespace may mount it without privileges.  */
struct hutch_overlay
{
  enum hutch_storage_driver driver;
  char **lower; /* topmost first, as overlayfs takes them */
  char *upper, *work;
  char *mountpoint; /* fuse-overlayfs: where it mounts (root.path) */
  char *fuse_program;
  /* fuse-overlayfs's noacl: squashfuse answers EOPNOTSUPP to the POSIX
     ACL xattrs, which fuse-overlayfs passes on as the error of opening a
     directory not owned by root.  */
  bool fuse_noacl;
};

/* A squashfs image file as the root's only lower layer (hutch run
   IMG.sqfs): squashfuse serves it on MOUNTPOINT, started by the user
   namespace's first process and stopped by its watchdog
   (runtime/squashmount.h); the overlay's lower directory is MOUNTPOINT.  */
struct hutch_squash
{
  char *image;      /* the file as the user named it, for messages */
  int fd;           /* the file, opened and checked by the front end */
  char *program;    /* squashfuse_ll (or squashfuse) on the host */
  char *mountpoint; /* in the container's directory */
};

struct hutch_spec_extra
{
  bool init;        /* run hutch-init as PID 1 */
  bool pause;       /* with init: hutch-init runs no command (--pause) */
  bool interactive; /* keep stdin attached */
  char *init_path;  /* host path of hutch-init */
  struct hutch_file *files;
  size_t n_files;
  struct hutch_symlink *symlinks; /* made in the root before the mounts */
  size_t n_symlinks;
  /* The rootfs is a tmpfs assembled from host directories (no image).  */
  bool host_sandbox;
  struct hutch_overlay *overlay; /* NULL unless the root is an overlay */
  struct hutch_squash *squash;   /* NULL unless a squashfs file is its lower layer */
  struct hutch_slirp *slirp;     /* the network helper, or NULL (src/network.h) */
  char *container_dir;           /* the container's directory in the store, or NULL */
  char *image_id;                /* the image it runs ("sha256:..."), or NULL */
  bool keep_container_dir;       /* it outlives the run (not --rm): only unmounted after */
  bool detach;                   /* a monitor holds it (run -d, start): nothing is said */
  /* The container outlives the process that creates it (hutch-oci
     create): no watchdog, and the first process, once its root is built,
     waits for a start that comes from another process (container.h).  */
  bool outlive;
  int start_socket; /* outlive: a listening socket, B's to wait on for the start */
  /* fds 3 .. 3+PRESERVE_FDS-1 of the creator go to the process (hutch-oci
     --preserve-fds, and LISTEN_FDS's sockets).  */
  int preserve_fds;
  bool no_new_keyring; /* keep the caller's session keyring (hutch-oci --no-new-keyring) */
  /* hutch-oci's container id and bundle, for the state that hooks read,
     or NULL.  */
  char *oci_id;
  char *oci_bundle;
  /* Where the container's cgroup goes, as hutch-oci read linux.cgroupsPath
     under its cgroup manager (owned), or NULL: hutch's own placement.  */
  struct hutch_cgroup_request *cgroup_request;
  int container_lockfd;    /* its lock, held while it runs */
  int *volume_lockfds;     /* the volumes' locks, held while it runs */
  size_t n_volume_lockfds; /* how many */
  char **drop_volumes;     /* anonymous volumes (ROOT/volumes/NAME), removed after it */
  bool create_cwd;         /* make process.cwd when it is missing (the default, as runc) */
  bool keep_groups;        /* leave the supplementary groups as they are (keep-id) */
  bool cgroups_disabled;   /* --cgroups=disabled: no cgroup of its own */
  char *cgroup_name;       /* the container's id, which names its cgroup, or NULL */
  /* How hutch stops the container when it is itself told to stop
     (SIGTERM): this signal, then SIGKILL after STOP_TIMEOUT seconds (-1:
     never).  hutch-oci: SIGTERM and -1, so that SIGTERM is only passed on,
     as runc does.  */
  int stop_signal;
  int stop_timeout;
  /* A zone file of the host, bound read-only at /etc/localtime (--tz), or
     NULL.  */
  char *localtime;
  /* --label and the image's labels: recorded with the container; nothing
     reads them yet (`hutch inspect` will).  */
  struct hutch_kv *labels;
  size_t n_labels;
};

struct hutch_hooks;          /* src/runtime/hooks.h */
struct hutch_cgroup_request; /* src/runtime/cgroup.h */

struct hutch_spec
{
  /* process */
  bool terminal;
  unsigned int uid, gid;
  unsigned int *additional_gids;
  size_t n_additional_gids;
  char **args;
  char **env;
  char *cwd;
  bool no_new_privileges;
  struct hutch_rlimit *rlimits;
  size_t n_rlimits;
  bool has_umask; /* process.user.umask */
  unsigned int umask;
  bool has_oom_score_adj; /* process.oomScoreAdj */
  int oom_score_adj;
  struct hutch_sched *sched; /* process.scheduler, or NULL */
  bool has_ioprio;           /* process.ioPriority: IOPRIO_CLASS_* and its level */
  int ioprio_class, ioprio_level;
  /* capabilities: NULL means "leave the user namespace's set alone".  Each
     is a NULL-terminated list of names such as "CAP_CHOWN".  */
  bool has_caps;
  char **cap_bounding, **cap_effective, **cap_permitted, **cap_inheritable, **cap_ambient;

  /* root */
  char *root_path;
  bool root_readonly;

  char *hostname;
  char *domainname;
  struct hutch_mount *mounts;
  size_t n_mounts;

  /* linux */
  /* NS: a new namespace of the container's own.  NS_PATH: an existing one
     that the container joins instead (ns[] is then false): the user
     namespace by the first process, before anything else; the cgroup
     namespace by the container's process once it is in its cgroup; the
     others before that process exists (src/runtime/child.c).  */
  bool ns[HUTCH_NS_COUNT];
  char *ns_path[HUTCH_NS_COUNT];
  /* linux.rootfsPropagation ("rprivate", "shared", ...), or NULL: rslave
     (src/runtime/child.c says where each is applied).  */
  char *rootfs_propagation;
  /* linux.sysctl, namespaced ones only (checked by the parser), written
     under the container's /proc/sys.  */
  struct hutch_kv *sysctls;
  size_t n_sysctls;
  /* linux.timeOffsets, for a time namespace of the container's own.  */
  bool has_time_offsets;
  struct hutch_time_offset time_monotonic, time_boottime;
  struct hutch_idmap *uid_mappings, *gid_mappings;
  size_t n_uid_mappings, n_gid_mappings;
  char **masked_paths;
  char **readonly_paths;
  struct hutch_resource *resources;
  size_t n_resources;
  struct hutch_seccomp *seccomp; /* built BPF (src/sysfilter.h), or NULL for none */
  /* Root emulation's notifying filter (src/runtime/rootemu.h), installed
     before SECCOMP, or NULL: only a container whose user namespace maps one
     id, for a user without a subordinate range (or --userns=single).  */
  struct hutch_seccomp *rootemu;
  struct hutch_device *devices;
  size_t n_devices;
  /* linux.resources.devices starts with the rule that denies every
     device: rootless, the kernel keeps it (a user namespace makes no
     device nodes, and opens only those hutch binds); for the host's root,
     a device program on the container's cgroup does
     (src/runtime/devices.h), which also lets through DEVICE_RULES, the
     allow rules that follow (as containerd and podman write them).  */
  bool devices_deny_all;
  struct hutch_device_rule *device_rules;
  size_t n_device_rules;

  /* annotations: recorded; the runtime acts on run.oci.keep_original_groups
     (as crun does), on nothing else.  */
  struct hutch_kv *annotations;
  size_t n_annotations;

  /* hooks (src/runtime/hooks.h), or NULL for none */
  struct hutch_hooks *hooks;
  /* linux.cgroupsPath as config.json says it, or NULL; what it means
     depends on the runtime's cgroup manager (extra.cgroup_request).  */
  char *cgroups_path;

  struct hutch_spec_extra extra;
};

struct hutch_spec *hutch_spec_new (void);
void hutch_spec_free (struct hutch_spec *spec);
void hutch_spec_freep (struct hutch_spec **spec);
#define _cleanup_spec_ __attribute__ ((cleanup (hutch_spec_freep)))

/* Parse an OCI config.json text.  Paths relative to BUNDLE (root.path) are
   made absolute.  Syntax errors name the line and column; fields hutch
   cannot honour yet are refused, never ignored.  */
int hutch_spec_parse_json (const char *text, const char *bundle, struct hutch_spec **ret_spec,
                           hutch_error_t *err);
int hutch_spec_load (const char *bundle, struct hutch_spec **ret_spec, hutch_error_t *err);

void hutch_spec_add_mount (struct hutch_spec *spec, const char *destination, const char *type,
                           const char *source, const char *options);
/* Set FILE to VALUE (owned), replacing an earlier value of FILE.  */
void hutch_spec_add_resource (struct hutch_spec *spec, const char *file, char *value, bool implied);
void hutch_spec_add_symlink (struct hutch_spec *spec, const char *path, const char *target);
void hutch_spec_add_file (struct hutch_spec *spec, const char *destination, const char *content);
/* Set KEY to VALUE in *LIST (*N entries), replacing an earlier value of
   KEY.  */
void hutch_kv_set (struct hutch_kv **list, size_t *n, const char *key, const char *value);
const char *hutch_kv_get (const struct hutch_kv *list, size_t n, const char *key);
void hutch_kv_free (struct hutch_kv *list, size_t n);
/* Set the rlimit of RL's resource, replacing an earlier one.  */
void hutch_spec_set_rlimit (struct hutch_spec *spec, const struct hutch_rlimit *rl);
/* Replace or add KEY=VALUE in the environment.  */
void hutch_spec_setenv (struct hutch_spec *spec, const char *key_value);
const char *hutch_spec_getenv (const struct hutch_spec *spec, const char *key);

int hutch_ns_from_name (const char *name);
const char *hutch_ns_name (int ns);
/* The CLONE_NEW* flag of NS.  */
int hutch_ns_clone_flag (int ns);
/* The container is in a namespace NS other than its caller's: a new one,
   or one it joins by path.  */
bool hutch_spec_has_ns (const struct hutch_spec *spec, int ns);

#endif
