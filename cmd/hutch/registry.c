/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* The registry commands: pull, push, login, logout.  */

#include "hutch.h"
#include "registry/auth.h"
#include "image/conffile.h"
#include "image/image.h"
#include "registry/pull.h"
#include "registry/registry.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

enum
{
  OPT_CREDS = 256,
  OPT_PLATFORM,
  OPT_DIGESTFILE,
  OPT_PASSWORD_STDIN,
  OPT_GET_LOGIN,
};

int
cmd_parse_tls_verify (const char *cmd, const char *v)
{
  if (v == NULL || strcmp (v, "true") == 0)
    return 1;
  if (strcmp (v, "false") == 0)
    return 0;
  fprintf (stderr, "hutch %s: --tls-verify=`%s`: expected true or false\n", cmd, v);
  return -1;
}

/* Read a line from the terminal, without echo when SECRET.  */
static char *
prompt (const char *what, bool secret)
{
  FILE *tty = fopen ("/dev/tty", "r+e");
  struct termios old, raw;
  char buf[1024];
  char *out = NULL;
  bool restore = false;

  if (tty == NULL)
    return NULL;
  /* No stdio buffer holding the secret after we are done.  */
  setvbuf (tty, NULL, _IONBF, 0);
  fprintf (tty, "%s: ", what);
  fflush (tty);
  if (secret && tcgetattr (fileno (tty), &old) == 0)
    {
      raw = old;
      raw.c_lflag &= ~(tcflag_t)ECHO;
      restore = tcsetattr (fileno (tty), TCSAFLUSH, &raw) == 0;
    }
  if (fgets (buf, sizeof buf, tty))
    {
      buf[strcspn (buf, "\r\n")] = '\0';
      out = hutch_xstrdup (buf);
    }
  if (restore)
    {
      tcsetattr (fileno (tty), TCSAFLUSH, &old);
      fputc ('\n', tty);
    }
  explicit_bzero (buf, sizeof buf);
  fclose (tty);
  return out;
}

/* --creds USER without a password: ask on the terminal, as podman does.
   Returns the value to use (CREDS itself, or *RET_OWNED), or NULL after a
   message.  */
static const char *
complete_creds (const char *cmd, const char *creds, char **ret_owned)
{
  _cleanup_free_ char *pass = NULL;

  if (creds == NULL || strchr (creds, ':'))
    return creds;
  if (isatty (STDIN_FILENO))
    pass = prompt ("Password", true);
  if (pass == NULL)
    {
      fprintf (stderr,
               "hutch %s: --creds `%s` has no password; give USER:PASSWORD, or run on a "
               "terminal to be asked\n",
               cmd, creds);
      return NULL;
    }
  *ret_owned = hutch_xasprintf ("%s:%s", creds, pass);
  explicit_bzero (pass, strlen (pass));
  return *ret_owned;
}

/* The options every registry command has: 1 when C was one of them, 0
   when not, -1 after a message.  */
static int
registry_option (const char *cmd, int c, struct hutch_registry_opts *reg, bool *creds_given)
{
  switch (c)
    {
    case CMD_OPT_TLS_VERIFY:
      reg->tls_verify = cmd_parse_tls_verify (cmd, optarg);
      return reg->tls_verify < 0 ? -1 : 1;
    case CMD_OPT_CERT_DIR:
      reg->cert_dir = optarg;
      return 1;
    case CMD_OPT_AUTHFILE:
      reg->authfile = optarg;
      return 1;
    case OPT_CREDS:
      reg->creds = optarg;
      *creds_given = true;
      return 1;
    default:
      return 0;
    }
}

/* ---- pull, push ---------------------------------------------------------- */

/* pull and push take the same options but one: the registry options, -q
   and -h, and one of their own (pull's --platform, push's --digestfile).
   They read them with one loop, transfer_options, and get ready to reach
   the registry with one transfer_setup.  */

/* The rows of their option tables that they share; left to clang-format,
   the macro would lose its row per line.  */
/* clang-format off */
#define TRANSFER_OPTIONS(what)                                                    \
  CMD_TLS_OPTIONS,                                                                \
  { "authfile", CMD_OPT_AUTHFILE, required_argument, "FILE",                      \
    "the credentials file (see hutch-login(1))", CMD_VALUE_FILE },                \
  { "creds", OPT_CREDS, required_argument, "USER[:PASS]",                         \
    "credentials for this " what, NULL }
/* clang-format on */

struct transfer_args
{
  struct hutch_registry_opts reg;
  bool creds_given; /* --creds, even when it came out NULL */
  bool quiet;
  const char *own; /* the value of the command's own option, or NULL */
};

/* The options of `hutch CMD` (pull or push), whose own option is OWN_OPT
   in OPTS.  Returns true when the operands are next, false when the
   command must return *RET (after --help or a message).  */
static bool
transfer_options (const char *cmd, int argc, char **argv, const struct cmd_def *def, int own_opt,
                  struct transfer_args *t, int *ret)
{
  int c;

  optind = 1;
  while ((c = cmd_next_opt (def, argc, argv, ret)) != -1)
    {
      int r = registry_option (cmd, c, &t->reg, &t->creds_given);
      if (r < 0)
        {
          *ret = HUTCH_EXIT_ERROR;
          return false;
        }
      if (r > 0)
        continue;
      if (c == 1000)
        return false;
      if (c == 'q')
        t->quiet = true;
      else if (c == own_opt)
        t->own = optarg;
    }
  return true;
}

/* After the operands were checked: --creds completed (asked for on the
   terminal when it has no password) and the config file loaded into
   *CONF, which T's registry options then use.  Returns 0, or the exit
   code after a message.  */
static int
transfer_setup (const char *cmd, struct transfer_args *t, char **ret_creds, struct hutch_conf *conf)
{
  hutch_error_t err = HUTCH_ERROR_INIT;

  t->reg.creds = complete_creds (cmd, t->reg.creds, ret_creds);
  if (t->creds_given && t->reg.creds == NULL)
    return HUTCH_EXIT_ERROR;
  if (hutch_conf_load (conf, &err) < 0)
    return cmd_report (&err);
  t->reg.conf = conf;
  return 0;
}

static int cmd_pull (int argc, char **argv);

static const struct cmd_opt pull_opts[] = {
  { "platform", OPT_PLATFORM, required_argument, "OS/ARCH[/VARIANT]",
    "pick from a multi-platform image\n(default: this machine's)", CMD_PLATFORMS },
  TRANSFER_OPTIONS ("pull"),
  { "quiet", 'q', no_argument, NULL, "no progress, only the image id", NULL },
  { 0 },
};

const struct cmd_def cmd_pull_def = {
  .name = "pull",
  .summary = "download an image from a registry",
  .usage = "Usage: hutch pull [OPTIONS] IMAGE\n"
           "\n"
           "Download IMAGE (NAME[:TAG] or NAME@DIGEST) from its registry into the store.\n"
           "A short name is looked up in each registry of the search list (hutch.conf:\n"
           "unqualified_search_registries; default docker.io).  Prints the image id.\n",
  .opts = pull_opts,
  .fn = cmd_pull,
  .flags = CMD_PERMUTE,
};

static int
cmd_pull (int argc, char **argv)
{
  _cleanup_store_ struct hutch_store *s = NULL;
  _cleanup_free_ char *id = NULL, *creds = NULL;
  struct transfer_args t = { .reg = { .tls_verify = -1 } };
  struct hutch_pull_opts po;
  struct hutch_conf conf = { 0 };
  hutch_error_t err = HUTCH_ERROR_INIT;
  int ret = 0;

  if (!transfer_options ("pull", argc, argv, &cmd_pull_def, OPT_PLATFORM, &t, &ret))
    return ret;
  if (argc - optind != 1)
    {
      fprintf (stderr, "hutch pull: expected one IMAGE; see `hutch pull --help`\n");
      return HUTCH_EXIT_ERROR;
    }
  if (t.own)
    {
      _cleanup_free_ char *os = NULL, *arch = NULL, *variant = NULL;
      if (hutch_platform_parse (t.own, &os, &arch, &variant, &err) < 0)
        return cmd_report (&err);
    }
  ret = transfer_setup ("pull", &t, &creds, &conf);
  if (ret != 0)
    return ret;
  po = (struct hutch_pull_opts){ .reg = t.reg, .platform = t.own, .quiet = t.quiet };
  if (hutch_image_store_open (cmd_globals.root, &s, &err) < 0
      || hutch_pull (s, argv[optind], &po, &id, &err) < 0)
    {
      hutch_conf_clear (&conf);
      return cmd_report (&err);
    }
  hutch_conf_clear (&conf);
  printf ("%s\n", id);
  return 0;
}

static int cmd_push (int argc, char **argv);

static const struct cmd_opt push_opts[] = {
  TRANSFER_OPTIONS ("push"),
  { "digestfile", OPT_DIGESTFILE, required_argument, "FILE", "write the manifest's digest to FILE",
    CMD_VALUE_FILE },
  { "quiet", 'q', no_argument, NULL, "no progress", NULL },
  { 0 },
};

const struct cmd_def cmd_push_def = {
  .name = "push",
  .summary = "upload an image to a registry",
  .usage = "Usage: hutch push [OPTIONS] IMAGE [DESTINATION]\n"
           "\n"
           "Upload IMAGE from the store to a registry, under DESTINATION\n"
           "(REGISTRY/REPOSITORY[:TAG]; default: IMAGE's name).  Blobs the registry has\n"
           "are not sent again; the manifest goes last.\n",
  .opts = push_opts,
  .operands = CMD_VALUE_IMAGE,
  .fn = cmd_push,
  .flags = CMD_PERMUTE,
};

/* --digestfile: the pushed manifest's digest, on a line of its own.  */
static int
write_digest (const char *path, const char *digest)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_free_ char *line = hutch_xasprintf ("%s\n", digest);
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

  if (fd < 0 || hutch_write_all (fd, line, strlen (line)) < 0)
    {
      hutch_error_set (&err, errno, "hutch push: write the digest to `%s`", path);
      if (fd >= 0)
        close (fd);
      return cmd_report (&err);
    }
  close (fd);
  return 0;
}

static int
cmd_push (int argc, char **argv)
{
  _cleanup_store_ struct hutch_store *s = NULL;
  _cleanup_free_ char *creds = NULL;
  struct transfer_args t = { .reg = { .tls_verify = -1 } };
  struct hutch_push_opts po;
  struct hutch_conf conf = { 0 };
  hutch_error_t err = HUTCH_ERROR_INIT;
  int ret = 0, n;

  if (!transfer_options ("push", argc, argv, &cmd_push_def, OPT_DIGESTFILE, &t, &ret))
    return ret;
  n = argc - optind;
  if (n < 1 || n > 2)
    {
      fprintf (stderr, "hutch push: expected IMAGE and maybe DESTINATION; see `hutch push "
                       "--help`\n");
      return HUTCH_EXIT_ERROR;
    }
  ret = transfer_setup ("push", &t, &creds, &conf);
  if (ret != 0)
    return ret;
  po = (struct hutch_push_opts){ .reg = t.reg, .quiet = t.quiet };
  if (hutch_image_store_open (cmd_globals.root, &s, &err) < 0
      || hutch_push (s, argv[optind], n == 2 ? argv[optind + 1] : NULL, &po, &err) < 0)
    {
      hutch_conf_clear (&conf);
      return cmd_report (&err);
    }
  hutch_conf_clear (&conf);
  if (t.own)
    ret = write_digest (t.own, po.ret_digest);
  free (po.ret_digest);
  return ret;
}

/* ---- login, logout ------------------------------------------------------- */

static char *
registry_key (const char *cmd, const char *arg, hutch_error_t *err)
{
  char *key = NULL;
  const char *s = arg;

  if (hutch_str_has_prefix (s, "docker://"))
    s += strlen ("docker://");
  if (hutch_auth_normalize_key (s, &key, err) < 0)
    {
      hutch_error_prefix (err, "%s `%s`", cmd, arg);
      return NULL;
    }
  return key;
}

static int
do_login (const char *key, const char *user, const char *pass,
          const struct hutch_registry_opts *base, hutch_error_t *err)
{
  _cleanup_free_ char *creds = hutch_xasprintf ("%s:%s", user, pass);
  _cleanup_free_ char *host = hutch_xstrndup (key, strcspn (key, "/"));
  _cleanup_free_ char *path = NULL;
  _cleanup_registry_ struct hutch_registry *r = NULL;
  struct hutch_registry_opts o = *base;
  int ret;

  o.creds = creds;
  o.authfile = NULL;
  ret = hutch_registry_open (host, NULL, NULL, false, &o, &r, err);
  if (ret == 0)
    ret = hutch_registry_check_login (r, err);
  explicit_bzero (creds, strlen (creds));
  if (ret < 0)
    return hutch_error_prefix (err, "login to %s", host);
  if (hutch_auth_store (base->authfile, key, user, pass, &path, err) < 0)
    return -1;
  return 0;
}

static int cmd_login (int argc, char **argv);

static const struct cmd_opt login_opts[] = {
  { "username", 'u', required_argument, "USER", "the user name", NULL },
  { "password", 'p', required_argument, "PASS",
    "the password (visible to other users in ps: prefer\n--password-stdin)", NULL },
  { "password-stdin", OPT_PASSWORD_STDIN, no_argument, NULL,
    "read the password from standard input", NULL },
  { "authfile", CMD_OPT_AUTHFILE, required_argument, "FILE",
    "where to store them (default: $REGISTRY_AUTH_FILE,\nelse "
    "$XDG_RUNTIME_DIR/containers/auth.json)",
    CMD_VALUE_FILE },
  { "get-login", OPT_GET_LOGIN, no_argument, NULL, "print the user name stored for REGISTRY",
    NULL },
  CMD_TLS_OPTIONS,
  { 0 },
};

const struct cmd_def cmd_login_def = {
  .name = "login",
  .summary = "store credentials for a registry",
  .usage = "Usage: hutch login [OPTIONS] REGISTRY\n"
           "\n"
           "Check a user name and password with REGISTRY and store them for pull and push.\n"
           "Without -u or -p, asks on the terminal.\n",
  .opts = login_opts,
  .fn = cmd_login,
  .flags = CMD_PERMUTE,
};

struct login_args
{
  struct hutch_registry_opts ro; /* --authfile, --tls-verify, --cert-dir */
  char *user, *pass;             /* owned; the password wiped after use */
  bool from_stdin, get_login;
};

static void
login_args_clear (struct login_args *a)
{
  free (a->user);
  free (a->pass);
}

/* Returns true when the operands are next, false when the command must
   return *RET (after --help or a message).  */
static bool
login_options (int argc, char **argv, struct login_args *a, int *ret)
{
  bool creds_given = false; /* login has no --creds */
  int c;

  optind = 1;
  while ((c = cmd_next_opt (&cmd_login_def, argc, argv, ret)) != -1)
    {
      int r = registry_option ("login", c, &a->ro, &creds_given);
      if (r < 0)
        {
          *ret = HUTCH_EXIT_ERROR;
          return false;
        }
      if (r > 0)
        continue;
      switch (c)
        {
        case 1000:
          return false;
        case 'u':
          free (a->user);
          a->user = hutch_xstrdup (optarg);
          break;
        case 'p':
          free (a->pass);
          a->pass = hutch_xstrdup (optarg);
          break;
        case OPT_PASSWORD_STDIN:
          a->from_stdin = true;
          break;
        case OPT_GET_LOGIN:
          a->get_login = true;
          break;
        }
    }
  return true;
}

/* --get-login: the user name stored for KEY.  Returns the exit code.  */
static int
print_login (const char *authfile, const char *key)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_credentials cr;
  int found = hutch_auth_lookup (authfile, key, NULL, &cr, &err);

  if (found < 0)
    return cmd_report (&err);
  if (found == 0 || cr.username == NULL)
    {
      if (found)
        hutch_credentials_clear (&cr);
      fprintf (stderr, "hutch login: not logged in to %s\n", key);
      return HUTCH_EXIT_ERROR;
    }
  printf ("%s\n", cr.username);
  hutch_credentials_clear (&cr);
  return 0;
}

/* The user name and the password: given, read from standard input
   (--password-stdin, without its line end), or asked on the terminal.
   The user name is not asked for with --password-stdin: standard input
   is the password's then.  Returns 0, or the exit code after a message.  */
static int
login_credentials (struct login_args *a)
{
  hutch_error_t err = HUTCH_ERROR_INIT;

  if (a->from_stdin && a->pass)
    {
      fprintf (stderr, "hutch login: -p and --password-stdin do not go together; choose one\n");
      return HUTCH_EXIT_ERROR;
    }
  if (a->user == NULL)
    a->user = isatty (STDIN_FILENO) && !a->from_stdin ? prompt ("Username", false) : NULL;
  if (a->user == NULL || *a->user == '\0')
    {
      fprintf (stderr, "hutch login: no user name; give it with -u USER\n");
      return HUTCH_EXIT_ERROR;
    }
  if (a->from_stdin)
    {
      size_t len;
      if (hutch_read_fd (STDIN_FILENO, 64 << 10, &a->pass, &len, &err) < 0)
        return cmd_report (&err);
      while (len > 0 && (a->pass[len - 1] == '\n' || a->pass[len - 1] == '\r'))
        a->pass[--len] = '\0';
    }
  else if (a->pass == NULL && isatty (STDIN_FILENO))
    a->pass = prompt ("Password", true);
  if (a->pass == NULL || *a->pass == '\0')
    {
      fprintf (stderr, "hutch login: no password; give it on standard input with "
                       "--password-stdin, or run on a terminal to be asked\n");
      return HUTCH_EXIT_ERROR;
    }
  return 0;
}

static int
cmd_login (int argc, char **argv)
{
  __attribute__ ((cleanup (login_args_clear))) struct login_args a = { .ro = { .tls_verify = -1 } };
  struct hutch_conf conf = { 0 };
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_free_ char *key = NULL;
  int ret = 0;

  if (!login_options (argc, argv, &a, &ret))
    return ret;
  if (argc - optind != 1)
    {
      fprintf (stderr, "hutch login: expected one REGISTRY; see `hutch login --help`\n");
      return HUTCH_EXIT_ERROR;
    }
  key = registry_key ("login", argv[optind], &err);
  if (key == NULL)
    return cmd_report (&err);
  if (a.get_login)
    return print_login (a.ro.authfile, key);
  ret = login_credentials (&a);
  if (ret != 0)
    return ret;
  if (hutch_conf_load (&conf, &err) < 0)
    return cmd_report (&err);
  a.ro.conf = &conf;
  ret = do_login (key, a.user, a.pass, &a.ro, &err);
  hutch_conf_clear (&conf);
  explicit_bzero (a.pass, strlen (a.pass));
  if (ret < 0)
    return cmd_report (&err);
  printf ("Login Succeeded!\n");
  return 0;
}

static int cmd_logout (int argc, char **argv);

static const struct cmd_opt logout_opts[] = {
  { "all", 'a', no_argument, NULL, "remove every stored credential", NULL },
  { "authfile", CMD_OPT_AUTHFILE, required_argument, "FILE",
    "the credentials file (default as for hutch login)", CMD_VALUE_FILE },
  { 0 },
};

const struct cmd_def cmd_logout_def = {
  .name = "logout",
  .summary = "remove stored credentials",
  .usage = "Usage: hutch logout [OPTIONS] REGISTRY\n"
           "       hutch logout [OPTIONS] --all\n"
           "\n"
           "Remove the credentials stored for REGISTRY (or all of them).\n",
  .opts = logout_opts,
  .fn = cmd_logout,
  .flags = CMD_PERMUTE,
};

static int
cmd_logout (int argc, char **argv)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_free_ char *key = NULL, *path = NULL;
  const char *authfile = NULL;
  bool all = false, found = false;
  int c, ret = 0;

  optind = 1;
  while ((c = cmd_next_opt (&cmd_logout_def, argc, argv, &ret)) != -1)
    switch (c)
      {
      case 1000:
        return ret;
      case 'a':
        all = true;
        break;
      case CMD_OPT_AUTHFILE:
        authfile = optarg;
        break;
      }
  if (all ? argc - optind != 0 : argc - optind != 1)
    {
      fprintf (stderr, "hutch logout: expected one REGISTRY or --all; see `hutch logout "
                       "--help`\n");
      return HUTCH_EXIT_ERROR;
    }
  if (!all)
    {
      key = registry_key ("logout", argv[optind], &err);
      if (key == NULL)
        return cmd_report (&err);
    }
  if (hutch_auth_remove (authfile, key, &found, &path, &err) < 0)
    return cmd_report (&err);
  if (!found && !all)
    {
      fprintf (stderr, "hutch logout: not logged in to %s (%s)\n", all ? "any registry" : key,
               path ? path : "no credentials file");
      return HUTCH_EXIT_ERROR;
    }
  if (all)
    printf ("Removed login credentials for all registries\n");
  else
    printf ("Removed login credentials for %s\n", key);
  return 0;
}
