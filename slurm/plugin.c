/* SPDX-License-Identifier: GPL-2.0-or-later */

/* spank_hutch.so: Slurm's native way to hutch containers.

   srun --container-image=IMAGE gets one container per step and node: in
   slurm_spank_user_init (once per step and node, as the user), hutch
   makes it (`hutch run -d --pause`, pulling IMAGE into the store when it
   is missing) or finds the one named by --container-name; every task of
   the step then enters it in slurm_spank_task_init (join.c), so that the
   tasks share one user, mount, IPC and PID namespace: they see each
   other, and MPI's shared memory and CMA work between them.  At the end
   of the step (slurm_spank_exit) the step's container is removed, or,
   named, stopped: its files stay for the job's next step, and go at the
   end of the job (slurm_spank_job_epilog).

   What the plugin trusts: Slurm's daemons (it runs inside slurmstepd and
   slurmd), the hutch program the administrator names, and nothing that
   the user gives beyond what hutch checks itself: every call of hutch
   runs as the job's user (hutchcall.c), so an option can do no more
   than the user could with hutch by hand.  */

#define _GNU_SOURCE
#include "hutchcall.h"
#include "join.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <slurm/slurm.h>
#include <slurm/spank.h>

SPANK_PLUGIN (hutch, 1);

#ifndef HUTCH_BINDIR
#define HUTCH_BINDIR "/usr/local/bin"
#endif
#ifndef HUTCH_PKGLIBEXECDIR
#define HUTCH_PKGLIBEXECDIR "/usr/local/libexec/hutch"
#endif

/* What the user asked for (srun's options).  */
static struct
{
  char *image, *mounts, *workdir, *name, *env;
  int writable;   /* -1: not said */
  int entrypoint; /* -1: not said */
  int remap_root; /* -1: not said */
} opt = { .writable = -1, .entrypoint = -1, .remap_root = -1 };

/* What the administrator set (the plugin's arguments in plugstack.conf).  */
static struct
{
  char *hutch;
  char *store;    /* with %u (user name) and %U (uid) */
  char *gpu_kind; /* the CDI kind Slurm's GPUs are named by */
  char **cdi_dirs;
  bool cgroups;
  bool remap_root;
} conf;

/* What this step's slurmstepd knows once slurm_spank_user_init ran.  */
static struct
{
  bool active;
  /* slurm_spank_user_init failed (and said why): each task fails, so
     that srun's exit code says so; Slurm 22.05's srun exits 0 when a
     step fails before its tasks exist.  */
  bool failed;
  bool made;  /* the container is this step's own: removed at its end */
  char *name; /* the container */
  struct slurm_user user;
  struct slurm_join join;
  char **entrypoint; /* the image's, when it runs before each task's command */
  int launcher;      /* hutch-init, which launches it (an fd) */
} step;

static int
set_str (char **field, const char *value)
{
  free (*field);
  *field = value ? strdup (value) : NULL;
  return 0;
}

static int
opt_image (int val, const char *optarg, int remote)
{
  (void)val;
  (void)remote;
  if (optarg == NULL || *optarg == '\0' || *optarg == '-')
    {
      slurm_error ("hutch: --container-image needs an image (a name, or a squashfs file), "
                   "not `%s`",
                   optarg ? optarg : "");
      return -1;
    }
  return set_str (&opt.image, optarg);
}

static int
opt_mounts (int val, const char *optarg, int remote)
{
  (void)val;
  (void)remote;
  if (optarg == NULL || *optarg == '\0')
    {
      slurm_error ("hutch: --container-mounts needs SRC:DST[:FLAGS][,SRC:DST...]");
      return -1;
    }
  return set_str (&opt.mounts, optarg);
}

static int
opt_workdir (int val, const char *optarg, int remote)
{
  (void)val;
  (void)remote;
  if (optarg == NULL || optarg[0] != '/')
    {
      slurm_error ("hutch: --container-workdir `%s` must be an absolute path in the container",
                   optarg ? optarg : "");
      return -1;
    }
  return set_str (&opt.workdir, optarg);
}

static int
opt_name (int val, const char *optarg, int remote)
{
  const char *p;
  (void)val;
  (void)remote;
  for (p = optarg; p && *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
          || ((*p == '_' || *p == '.' || *p == '-') && p != optarg)))
      break;
  if (optarg == NULL || *optarg == '\0' || *p != '\0' || strlen (optarg) > 64)
    {
      slurm_error ("hutch: --container-name `%s`: a name is 1 to 64 letters, digits, `_`, `.` "
                   "and `-`, starting with a letter or digit",
                   optarg ? optarg : "");
      return -1;
    }
  return set_str (&opt.name, optarg);
}

static int
opt_env (int val, const char *optarg, int remote)
{
  (void)val;
  (void)remote;
  if (optarg == NULL || *optarg == '\0')
    {
      slurm_error ("hutch: --container-env needs NAME[,NAME...]");
      return -1;
    }
  return set_str (&opt.env, optarg);
}

static int
opt_flag (int val, const char *optarg, int remote)
{
  (void)optarg;
  (void)remote;
  switch (val)
    {
    case 'w':
    case 'r':
      if (opt.writable == (val == 'r'))
        {
          slurm_error ("hutch: --container-writable and --container-readonly contradict "
                       "each other; give one");
          return -1;
        }
      opt.writable = val == 'w';
      break;
    case 'e':
    case 'E':
      opt.entrypoint = val == 'e';
      break;
    case 'R':
    case 'N':
      opt.remap_root = val == 'R';
      break;
    }
  return 0;
}

static struct spank_option options[] = {
  { "container-image", "IMAGE",
    "[hutch] run the tasks in a container of IMAGE (a name, pulled into the node's store when "
    "missing, or a squashfs file made by `hutch save --format squashfs`)",
    1, 0, opt_image },
  { "container-mounts", "SRC:DST[:FLAGS],...",
    "[hutch] bind SRC at DST in the container (FLAGS, `+`-separated: those of hutch run -v, "
    "e.g. ro)",
    1, 0, opt_mounts },
  { "container-workdir", "DIR", "[hutch] the tasks' working directory in the container", 1, 0,
    opt_workdir },
  { "container-name", "NAME",
    "[hutch] name the container, so that the job's next steps find it again with its files "
    "(removed at the end of the job)",
    1, 0, opt_name },
  { "container-env", "NAME[,NAME...]",
    "[hutch] take these variables from the job's environment even where the image sets them", 1, 0,
    opt_env },
  { "container-writable", NULL, "[hutch] a writable root file system (the default)", 0, 'w',
    opt_flag },
  { "container-readonly", NULL, "[hutch] a read-only root file system", 0, 'r', opt_flag },
  { "container-entrypoint", NULL,
    "[hutch] run the image's entrypoint before each task's command (the default)", 0, 'e',
    opt_flag },
  { "no-container-entrypoint", NULL, "[hutch] do not run the image's entrypoint", 0, 'E',
    opt_flag },
  { "container-remap-root", NULL, "[hutch] be root in the container, not yourself", 0, 'R',
    opt_flag },
  { "no-container-remap-root", NULL, "[hutch] be yourself in the container (the default)", 0, 'N',
    opt_flag },
  SPANK_OPTIONS_TABLE_END
};

/* ---- the administrator's settings -------------------------------------- */

static int
parse_conf (int ac, char **av)
{
  int i;

  conf.hutch = strdup (HUTCH_BINDIR "/hutch");
  conf.gpu_kind = strdup ("nvidia.com/gpu");
  for (i = 0; i < ac; i++)
    {
      const char *a = av[i], *v = strchr (a, '=');
      size_t k = v ? (size_t)(v - a) : strlen (a);
      v = v ? v + 1 : "";
      if (k == 5 && strncmp (a, "hutch", 5) == 0 && v[0] == '/')
        set_str (&conf.hutch, v);
      else if (k == 5 && strncmp (a, "store", 5) == 0 && v[0] == '/')
        set_str (&conf.store, v);
      else if (k == 8 && strncmp (a, "gpu_kind", 8) == 0 && strchr (v, '/'))
        set_str (&conf.gpu_kind, v);
      else if (k == 12 && strncmp (a, "cdi_spec_dir", 12) == 0 && v[0] == '/')
        slurm_strv_push (&conf.cdi_dirs, v);
      else if (k == 7 && strncmp (a, "cgroups", 7) == 0
               && (strcmp (v, "enabled") == 0 || strcmp (v, "disabled") == 0))
        conf.cgroups = strcmp (v, "enabled") == 0;
      else if (k == 10 && strncmp (a, "remap_root", 10) == 0
               && (strcmp (v, "0") == 0 || strcmp (v, "1") == 0))
        conf.remap_root = v[0] == '1';
      else
        {
          slurm_error ("hutch: plugstack.conf: unknown or bad argument `%s`: the plugin takes "
                       "hutch=/PATH, store=/DIR (%%u: user, %%U: uid), gpu_kind=VENDOR/CLASS, "
                       "cdi_spec_dir=/DIR, cgroups=enabled|disabled and remap_root=0|1 "
                       "(see hutch-slurm(8))",
                       a);
          return -1;
        }
    }
  return 0;
}

/* STORE with %u and %U filled in for U.  */
static char *
store_for (const char *pattern, const char *user, uid_t uid)
{
  size_t cap = strlen (pattern) + 64, n = 0;
  char *s = malloc (cap);
  const char *p;

  if (s == NULL)
    abort ();
  for (p = pattern; *p; p++)
    {
      char num[16];
      const char *add = NULL;
      if (p[0] == '%' && (p[1] == 'u' || p[1] == 'U' || p[1] == '%'))
        {
          snprintf (num, sizeof num, "%u", (unsigned)uid);
          add = p[1] == 'u' ? user : p[1] == 'U' ? num : "%";
          p++;
        }
      if (add == NULL)
        {
          static char one[2];
          one[0] = *p;
          add = one;
        }
      if (n + strlen (add) + 1 > cap)
        {
          cap = (n + strlen (add) + 1) * 2;
          if ((s = realloc (s, cap)) == NULL)
            abort ();
        }
      memcpy (s + n, add, strlen (add));
      n += strlen (add);
    }
  s[n] = '\0';
  return s;
}

int
slurm_spank_init (spank_t sp, int ac, char **av)
{
  size_t i;
  spank_context_t ctx = spank_context ();

  if (ctx != S_CTX_LOCAL && ctx != S_CTX_REMOTE && ctx != S_CTX_ALLOCATOR)
    return 0;
  if (parse_conf (ac, av) < 0)
    return -1;
  for (i = 0; options[i].name; i++)
    if (spank_option_register (sp, &options[i]) != ESPANK_SUCCESS)
      {
        slurm_error ("hutch: cannot register --%s", options[i].name);
        return -1;
      }
  return 0;
}

/* In srun, before anything starts: what needs no node is checked here,
   so that a mistake is said at once.  */
int
slurm_spank_init_post_opt (spank_t sp, int ac, char **av)
{
  (void)ac;
  (void)av;
  if (!spank_remote (sp) && opt.image == NULL && opt.name == NULL
      && (opt.mounts || opt.workdir || opt.env || opt.writable >= 0 || opt.entrypoint >= 0
          || opt.remap_root >= 0))
    {
      slurm_error ("hutch: the --container-* options need --container-image=IMAGE (or "
                   "--container-name=NAME of a container that an earlier step of the job "
                   "made)");
      return -1;
    }
  return 0;
}

/* ---- the step's container ----------------------------------------------- */

static const char *
env_get (char **env, const char *key)
{
  size_t i, l = strlen (key);
  for (i = 0; env && env[i]; i++)
    if (strncmp (env[i], key, l) == 0 && env[i][l] == '=')
      return env[i] + l + 1;
  return NULL;
}

/* hutch's stderr, line by line, through Slurm's log: slurmstepd sends
   its errors to srun, so the user reads hutch's own words.  */
static void
report (const char *what, int code, const char *err)
{
  char *copy = strdup (err ? err : ""), *line, *save = NULL;
  int said = 0;

  for (line = strtok_r (copy, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      /* hutch's own errors start with its name already */
      slurm_error ("%s%s", strncmp (line, "hutch", 5) == 0 ? "" : "hutch: ", line);
      said = 1;
    }
  if (!said)
    slurm_error ("hutch: %s failed (exit code %d)", what, code);
  free (copy);
}

static int
call (const char *what, char *const *args, char **ret_out)
{
  char *out = NULL, *err = NULL;
  int code = slurm_hutch (&step.user, args, &out, &err);

  if (code != 0)
    {
      report (what, code, err);
      free (out);
      free (err);
      return -1;
    }
  free (err);
  if (ret_out)
    *ret_out = out;
  else
    free (out);
  return 0;
}

/* The container's state: 1 running, 0 made but not running, -1 none;
   with 1, its first process *RET_PID, *RET_CONFIG (its config.json) and
   *RET_IMAGE (the image, as it was named).  */
static int
inspect (pid_t *ret_pid, char **ret_config, char **ret_image)
{
  char *args[] = { "inspect", step.name, NULL }, *out = NULL, *err = NULL;
  json_t *root, *c, *state;
  int code = slurm_hutch (&step.user, args, &out, &err), r = 0;

  free (err);
  root = code == 0 && out ? json_loads (out, 0, NULL) : NULL;
  free (out);
  if (root == NULL)
    return -1;
  c = json_array_get (root, 0);
  state = json_object_get (c, "State");
  if (json_is_true (json_object_get (state, "Running")))
    {
      r = 1;
      *ret_pid = (pid_t)json_integer_value (json_object_get (state, "Pid"));
      *ret_config = strdup (json_string_value (json_object_get (c, "OCIConfigPath")) ?: "");
      *ret_image = strdup (json_string_value (json_object_get (c, "ImageName")) ?: "");
    }
  json_decref (root);
  return r;
}

/* The container as another step of the job leaves it while it makes or
   starts it: running within 10 s (1), or not made at all (-1), or made
   but still not running (0).  */
static int
wait_running (pid_t *ret_pid, char **ret_config, char **ret_image)
{
  int i, st = 0;

  for (i = 0; i < 100; i++)
    {
      free (*ret_config);
      free (*ret_image);
      *ret_config = *ret_image = NULL;
      st = inspect (ret_pid, ret_config, ret_image);
      if (st != 0)
        break;
      usleep (100000);
    }
  return st;
}

/* `hutch run -d --pause` with what the options ask for.  BATCH_DIR: the
   directory of the batch script (sbatch), bound read-only at the same
   path, so that the step can execute it; NULL for srun's steps.  */
static int
make_container (char **job_env, uint32_t job, const char *batch_dir, bool named)
{
  char **args = NULL, *list, *item, *save = NULL, label[64];
  const char *gpus, *pmix;
  struct stat st;
  int r;

  slurm_strv_push (&args, "run");
  slurm_strv_push (&args, "-d");
  slurm_strv_push (&args, "--pause");
  /* no pull progress among what may become the user's error text; a
     squashfs file is not pulled, and hutch refuses --quiet for one */
  if (stat (opt.image, &st) != 0 || !S_ISREG (st.st_mode))
    slurm_strv_push (&args, "--quiet");
  slurm_strv_push (&args, "--name");
  slurm_strv_push (&args, step.name);
  snprintf (label, sizeof label, "slurm.job=%u", (unsigned)job);
  slurm_strv_push (&args, "--label");
  slurm_strv_push (&args, label);
  /* Slurm's own network and hostname: MPI and PMI address ranks by the
     node's; the rest is the container's own.  */
  slurm_strv_push (&args, "--network");
  slurm_strv_push (&args, "host");
  slurm_strv_push (&args, "--uts");
  slurm_strv_push (&args, "host");
  slurm_strv_push (&args, "--log-driver");
  slurm_strv_push (&args, "none");
  slurm_strv_push (&args, "--userns");
  slurm_strv_push (&args, (opt.remap_root >= 0 ? opt.remap_root : conf.remap_root) ? "default"
                                                                                   : "keep-id");
  if (!conf.cgroups)
    {
      /* The step's cgroup holds the container already: Slurm limits and
         accounts it, and kills what is left at the step's end.  */
      slurm_strv_push (&args, "--cgroups");
      slurm_strv_push (&args, "disabled");
    }
  if (opt.writable == 0)
    slurm_strv_push (&args, "--read-only");
  if (opt.workdir)
    {
      slurm_strv_push (&args, "--workdir");
      slurm_strv_push (&args, opt.workdir);
    }
  list = opt.mounts ? strdup (opt.mounts) : NULL;
  for (item = list ? strtok_r (list, ",", &save) : NULL; item; item = strtok_r (NULL, ",", &save))
    {
      char *v, *p;
      /* SRC alone: the same path inside */
      if (strchr (item, ':') == NULL)
        r = asprintf (&v, "%s:%s", item, item);
      else
        r = asprintf (&v, "%s", item);
      if (r < 0)
        abort ();
      for (p = v; *p; p++)
        if (*p == '+')
          *p = ',';
      slurm_strv_push (&args, "--volume");
      slurm_strv_push (&args, v);
      free (v);
    }
  free (list);
  /* Slurm's GPUs of this step, as CDI devices of the configured kind
     (nvidia-ctk names them by index, as Slurm numbers them).  */
  gpus = env_get (job_env, "SLURM_STEP_GPUS");
  if (gpus == NULL)
    gpus = env_get (job_env, "SLURM_JOB_GPUS");
  if (gpus && *gpus)
    {
      list = strdup (gpus);
      save = NULL;
      for (item = strtok_r (list, ",", &save); item; item = strtok_r (NULL, ",", &save))
        {
          char *d;
          if (asprintf (&d, "%s=%s", conf.gpu_kind, item) < 0)
            abort ();
          slurm_strv_push (&args, "--device");
          slurm_strv_push (&args, d);
          free (d);
        }
      free (list);
    }
  /* Slurm's PMIx server keeps its shared-memory store (the dstore that
     PMIx clients map) in a directory of the spool that only the server's
     environment names, before any task exists: the same path inside, so
     that MPI's PMIx clients find it.  The server itself they reach over
     the node's network.  */
  pmix = getenv ("PMIX_SERVER_TMPDIR");
  if (pmix && pmix[0] == '/')
    {
      char *v;
      size_t l = strlen (pmix);
      while (l > 1 && pmix[l - 1] == '/')
        l--;
      if (asprintf (&v, "%.*s:%.*s", (int)l, pmix, (int)l, pmix) < 0)
        abort ();
      slurm_strv_push (&args, "--volume");
      slurm_strv_push (&args, v);
      free (v);
    }
  if (batch_dir)
    {
      char *v;
      if (asprintf (&v, "%s:%s:ro", batch_dir, batch_dir) < 0)
        abort ();
      slurm_strv_push (&args, "--volume");
      slurm_strv_push (&args, v);
      free (v);
    }
  slurm_strv_push (&args, opt.image);
  if (named)
    {
      /* Two steps of the job may make a named container at once: the
         one whose hutch run loses finds the other's (a name taken is the
         only failure that inspect then explains).  */
      char *out = NULL, *err = NULL;
      pid_t pid;
      char *config = NULL, *image = NULL;
      int code = slurm_hutch (&step.user, args, &out, &err);
      /* the other step's container may still be starting */
      int state = code == 0 ? 1 : wait_running (&pid, &config, &image);
      r = 0;
      if (state != 1)
        {
          report ("making the container", code, err);
          r = -1;
        }
      free (out);
      free (err);
      free (config);
      free (image);
    }
  else
    r = call ("making the container", args, NULL);
  for (size_t i = 0; args[i]; i++)
    free (args[i]);
  free (args);
  return r;
}

/* The image's entrypoint, when the tasks are to run it.  */
static int
image_entrypoint (const char *image, char ***ret)
{
  char *args[] = { "image", "inspect", (char *)image, NULL }, *out = NULL;
  json_t *root, *ep, *v;
  size_t i;

  *ret = NULL;
  if (call ("reading the image's configuration", args, &out) < 0)
    return -1;
  root = json_loads (out, 0, NULL);
  free (out);
  ep = json_object_get (
      json_object_get (json_object_get (json_array_get (root, 0), "Config"), "config"),
      "Entrypoint");
  json_array_foreach (ep, i, v)
  {
    if (json_is_string (v))
      slurm_strv_push (ret, json_string_value (v));
  }
  json_decref (root);
  return 0;
}

/* hutch-init, which launches the entrypoint in each task: where hutch
   finds its helpers (beside its binary, ../libexec/hutch from it), then
   where this build installs them; copied into a sealed memfd, as hutch
   runs its own init (what a task executes stays that copy, whatever
   becomes of the file, and a container that reaches it through
   /proc/PID/exe reaches no file of the host's).  The tasks execute it
   through /proc/self/fd once they are in the container, whose root does
   not have it.  */
static int
open_launcher (void)
{
  char *dir = strdup (conf.hutch), *slash = strrchr (dir, '/'), *cands[3];
  int fd = -1, i, copy = -1;

  if (slash)
    *slash = '\0';
  if (asprintf (&cands[0], "%s/hutch-init", dir) < 0
      || asprintf (&cands[1], "%s/../libexec/hutch/hutch-init", dir) < 0
      || asprintf (&cands[2], "%s/hutch-init", HUTCH_PKGLIBEXECDIR) < 0)
    abort ();
  for (i = 0; i < 3 && fd < 0; i++)
    {
      struct stat st;
      fd = open (cands[i], O_RDONLY | O_CLOEXEC);
      if (fd >= 0 && (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || !(st.st_mode & 0111)))
        {
          close (fd);
          fd = -1;
        }
    }
  for (i = 0; i < 3; i++)
    free (cands[i]);
  free (dir);
  if (fd < 0)
    return -1;
  copy = memfd_create ("hutch-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (copy >= 0)
    {
      char buf[65536];
      ssize_t n;
      while ((n = read (fd, buf, sizeof buf)) > 0)
        if (write (copy, buf, (size_t)n) != n)
          break;
      if (n != 0
          || fcntl (copy, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)
                 < 0)
        {
          close (copy);
          copy = -1;
        }
    }
  close (fd);
  return copy;
}

/* The image's entrypoint, when it is to run before each task's command,
   and the launcher for it.  */
static int
prepare_entrypoint (const char *image)
{
  size_t i;

  if (image == NULL || *image == '\0' || image_entrypoint (image, &step.entrypoint) < 0)
    return image && *image ? -1 : 0;
  if (step.entrypoint == NULL)
    return 0;
  for (i = 0; step.entrypoint[i]; i++)
    if (strchr (step.entrypoint[i], '\x1f'))
      {
        slurm_error ("hutch: the image's entrypoint has a word with a control character (0x1f) "
                     "that hutch cannot pass on; use --no-container-entrypoint");
        return -1;
      }
  step.launcher = open_launcher ();
  if (step.launcher < 0)
    {
      slurm_error ("hutch: cannot find hutch-init beside %s, in ../libexec/hutch from it or in "
                   "%s, to run the image's entrypoint; reinstall hutch, or use "
                   "--no-container-entrypoint",
                   conf.hutch, HUTCH_PKGLIBEXECDIR);
      return -1;
    }
  return 0;
}

/* In the task, in the container: the command becomes the entrypoint's
   arguments.  slurmstepd executes the task's argv[0] after the plugins
   (and its task prolog and limits); it is replaced by the launcher, which
   finds the entrypoint and the command's own argv[0] in HUTCH_ENTRYPOINT.
   The vector is this task's copy (slurmstepd forked it), and only its
   first element changes.  */
static int
use_entrypoint (spank_t sp)
{
  int argc = 0, fd, i;
  char **argv = NULL, *spec, *more;

  if (spank_get_item (sp, S_JOB_ARGV, &argc, &argv) != ESPANK_SUCCESS || argc < 1 || !argv)
    {
      slurm_error ("hutch: cannot read the task's command from Slurm");
      return -1;
    }
  if (strchr (argv[0], '\x1f'))
    {
      slurm_error ("hutch: the command's name has a control character (0x1f) that hutch "
                   "cannot pass on to the entrypoint; use --no-container-entrypoint");
      return -1;
    }
  /* close-on-exec: execve reaches the file through /proc/self/fd before
     it closes the descriptor, and the command never sees it */
  fd = fcntl (step.launcher, F_DUPFD_CLOEXEC, 3);
  if (fd < 0 || (spec = strdup (step.entrypoint[0])) == NULL)
    {
      slurm_error ("hutch: the entrypoint's launcher: %s", strerror (errno));
      return -1;
    }
  for (i = 1; step.entrypoint[i]; i++)
    {
      if (asprintf (&more, "%s\x1f%s", spec, step.entrypoint[i]) < 0)
        abort ();
      free (spec);
      spec = more;
    }
  if (asprintf (&more, "%s\x1f%s", spec, argv[0]) < 0)
    abort ();
  free (spec);
  spec = more;
  if (spank_setenv (sp, "HUTCH_ENTRYPOINT", spec, 1) != ESPANK_SUCCESS
      || asprintf (&argv[0], "/proc/self/fd/%d", fd) < 0)
    {
      free (spec);
      slurm_error ("hutch: cannot pass the entrypoint on to the task");
      return -1;
    }
  free (spec);
  return 0;
}

static int
fill_user (spank_t sp, char **job_env)
{
  struct passwd *pw;
  const char *cwd = env_get (job_env, "PWD");

  if (spank_get_item (sp, S_JOB_UID, &step.user.uid) != ESPANK_SUCCESS
      || spank_get_item (sp, S_JOB_GID, &step.user.gid) != ESPANK_SUCCESS)
    return -1;
  if (spank_get_item (sp, S_JOB_SUPPLEMENTARY_GIDS, &step.user.groups, &step.user.n_groups)
      != ESPANK_SUCCESS)
    step.user.n_groups = 0;
  pw = getpwuid (step.user.uid);
  if (pw == NULL)
    {
      slurm_error ("hutch: uid %u has no entry in this node's passwd", (unsigned)step.user.uid);
      return -1;
    }
  step.user.name = strdup (pw->pw_name);
  step.user.home = strdup (pw->pw_dir);
  step.user.cwd = cwd && cwd[0] == '/' ? strdup (cwd) : NULL;
  step.user.hutch = conf.hutch;
  step.user.store = conf.store ? store_for (conf.store, pw->pw_name, step.user.uid) : NULL;
  step.user.cdi_dirs = conf.cdi_dirs;
  slurm_user_env (&step.user, job_env);
  return 0;
}

static int prepare_step (spank_t sp);

int
slurm_spank_user_init (spank_t sp, int ac, char **av)
{
  (void)ac;
  (void)av;
  if (!spank_remote (sp) || (opt.image == NULL && opt.name == NULL))
    return 0;
  if (prepare_step (sp) < 0)
    step.failed = true;
  return 0;
}

static int
prepare_step (spank_t sp)
{
  uint32_t job, stepid;
  char **job_env = NULL, *config = NULL, *why = NULL, *image = NULL;
  pid_t pid = 0;
  int st, r;

  if (spank_get_item (sp, S_JOB_ID, &job) != ESPANK_SUCCESS
      || spank_get_item (sp, S_JOB_STEPID, &stepid) != ESPANK_SUCCESS
      || spank_get_item (sp, S_JOB_ENV, &job_env) != ESPANK_SUCCESS)
    {
      slurm_error ("hutch: cannot read the job's id, step and environment from Slurm");
      return -1;
    }
  /* sbatch's and salloc's options reach the job's extern step (what
     pam_slurm_adopt puts ssh sessions in) and salloc's interactive step
     too: those stay on the node as they are.  */
  if (stepid == SLURM_EXTERN_CONT || stepid == SLURM_INTERACTIVE_STEP)
    return 0;
  if (fill_user (sp, job_env) < 0)
    return -1;
  if (opt.name)
    {
      if (asprintf (&step.name, "slurm-%u-%s", (unsigned)job, opt.name) < 0)
        abort ();
    }
  else if (asprintf (&step.name, "slurm-%u.%u", (unsigned)job, (unsigned)stepid) < 0)
    abort ();

  st = opt.name ? inspect (&pid, &config, &image) : -1;
  if (st < 0 && opt.image == NULL)
    {
      slurm_error ("hutch: --container-name=%s: no container of that name in job %u on this "
                   "node; give --container-image=IMAGE too, so that this step makes it",
                   opt.name, (unsigned)job);
      return -1;
    }
  if (st < 0)
    {
      /* sbatch's options: the batch script runs in the container, from
         slurmd's spool, where slurmstepd wrote it (its argv[0]) */
      char *batch_dir = NULL;
      int argc = 0;
      char **argv = NULL;
      if (stepid == SLURM_BATCH_SCRIPT
          && spank_get_item (sp, S_JOB_ARGV, &argc, &argv) == ESPANK_SUCCESS && argc > 0
          && argv[0][0] == '/' && strrchr (argv[0], '/') != argv[0])
        batch_dir = strndup (argv[0], (size_t)(strrchr (argv[0], '/') - argv[0]));
      r = make_container (job_env, job, batch_dir, opt.name != NULL);
      free (batch_dir);
      if (r < 0)
        return -1;
      step.made = opt.name == NULL;
    }
  else if (st == 0)
    {
      /* stopped (proctrack/cgroup ended it with the step that made it):
         again, unless another step of the job just did */
      char *args[] = { "start", "--", step.name, NULL }, *out = NULL, *err = NULL;
      int code = slurm_hutch (&step.user, args, &out, &err);
      free (out);
      if (code != 0 && wait_running (&pid, &config, &image) != 1)
        {
          report ("starting the container again", code, err);
          free (err);
          return -1;
        }
      free (err);
    }
  if (st != 1)
    {
      free (config);
      free (image);
      config = image = NULL;
      if (inspect (&pid, &config, &image) != 1)
        {
          slurm_error ("hutch: container %s does not run: see `hutch ps -a`", step.name);
          return -1;
        }
    }
  step.active = true;
  if (slurm_join_prepare (&step.join, pid, config, &why) < 0)
    {
      slurm_error ("hutch: %s", why);
      free (why);
      free (config);
      return -1;
    }
  free (config);
  r = opt.entrypoint != 0 ? prepare_entrypoint (image) : 0;
  free (image);
  return r;
}

/* ---- each task ---------------------------------------------------------- */

static bool
in_list (const char *list, const char *key, size_t len)
{
  const char *p = list;
  while (p && *p)
    {
      const char *end = strchr (p, ',');
      size_t l = end ? (size_t)(end - p) : strlen (p);
      if (l == len && strncmp (p, key, len) == 0)
        return true;
      p = end ? end + 1 : NULL;
    }
  return false;
}

int
slurm_spank_task_init (spank_t sp, int ac, char **av)
{
  char *why = NULL;
  size_t i;

  (void)ac;
  (void)av;
  if (step.failed)
    {
      slurm_error ("hutch: no container for this task (the reason is above)");
      return -1;
    }
  if (!step.active)
    return 0;
  /* The job's environment, with the container's over it (its PATH, its
     HOME...), but for the names --container-env keeps.  */
  for (i = 0; step.join.env && step.join.env[i]; i++)
    {
      char *kv = step.join.env[i], *eq = strchr (kv, '=');
      char *key = strndup (kv, (size_t)(eq - kv));
      if (!in_list (opt.env, key, strlen (key)))
        spank_setenv (sp, key, eq + 1, 1);
      free (key);
    }
  if (slurm_join_task (&step.join, &why) < 0)
    {
      slurm_error ("hutch: %s", why);
      free (why);
      return -1;
    }
  return step.entrypoint ? use_entrypoint (sp) : 0;
}

/* ---- the end ------------------------------------------------------------ */

int
slurm_spank_exit (spank_t sp, int ac, char **av)
{
  (void)ac;
  (void)av;
  if (!spank_remote (sp) || !step.active)
    return 0;
  /* The step's own container goes.  A named one stays for the job's
     other steps, which may run in it at this moment; the job's end
     removes it.  */
  if (step.made)
    {
      char *rm[] = { "rm", "--force", "--", step.name, NULL };
      char *err = NULL;
      int code = slurm_hutch (&step.user, rm, NULL, &err);
      if (code != 0)
        report ("removing the container", code, err);
      free (err);
    }
  return 0;
}

/* At the end of the job, on each of its nodes: the containers that its
   steps named.  */
int
slurm_spank_job_epilog (spank_t sp, int ac, char **av)
{
  uint32_t job;
  char filter[64], *out = NULL, *line, *save = NULL;
  char *ps[] = { "ps", "--all", "--quiet", "--filter", filter, NULL };
  struct passwd *pw;

  if (spank_get_item (sp, S_JOB_ID, &job) != ESPANK_SUCCESS
      || spank_get_item (sp, S_JOB_UID, &step.user.uid) != ESPANK_SUCCESS
      || spank_get_item (sp, S_JOB_GID, &step.user.gid) != ESPANK_SUCCESS)
    {
      slurm_error ("hutch: the epilog cannot read the job's id and user from Slurm");
      return 0;
    }
  /* slurmd's epilog calls no slurm_spank_init first: its arguments are
     read here */
  if (conf.hutch == NULL && parse_conf (ac, av) < 0)
    return 0;
  pw = getpwuid (step.user.uid);
  if (pw == NULL)
    return 0;
  step.user.name = strdup (pw->pw_name);
  step.user.home = strdup (pw->pw_dir);
  step.user.hutch = conf.hutch;
  step.user.store = conf.store ? store_for (conf.store, pw->pw_name, step.user.uid) : NULL;
  step.user.cdi_dirs = conf.cdi_dirs;
  /* Only where the user has a store on this node: the epilog runs for
     every job, most of which never used the plugin.  */
  {
    struct stat st;
    char *where = step.user.store ? strdup (step.user.store) : NULL;
    if (where == NULL && asprintf (&where, "%s/.local/share/hutch", pw->pw_dir) < 0)
      abort ();
    if (stat (where, &st) != 0 || !S_ISDIR (st.st_mode) || st.st_uid != step.user.uid)
      {
        free (where);
        return 0;
      }
    free (where);
  }
  /* the user's groups: root, in the epilog, sets them itself */
  {
    int n = 64;
    step.user.groups = calloc ((size_t)n, sizeof (gid_t));
    if (getgrouplist (pw->pw_name, pw->pw_gid, step.user.groups, &n) < 0)
      {
        step.user.groups = realloc (step.user.groups, (size_t)n * sizeof (gid_t));
        if (step.user.groups == NULL
            || getgrouplist (pw->pw_name, pw->pw_gid, step.user.groups, &n) < 0)
          n = 0;
      }
    step.user.n_groups = n;
  }
  slurm_user_env (&step.user, NULL);
  snprintf (filter, sizeof filter, "label=slurm.job=%u", (unsigned)job);
  {
    char *err = NULL;
    int code = slurm_hutch (&step.user, ps, &out, &err);
    if (code != 0)
      {
        report ("listing the job's containers", code, err);
        free (err);
        free (out);
        return 0;
      }
    free (err);
  }
  for (line = strtok_r (out, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *rm[] = { "rm", "--force", "--", line, NULL };
      char *err = NULL;
      int code = slurm_hutch (&step.user, rm, NULL, &err);
      if (code != 0)
        report ("removing the job's container", code, err);
      free (err);
    }
  free (out);
  return 0;
}
