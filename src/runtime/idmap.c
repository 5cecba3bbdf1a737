/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "runtime/idmap.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#ifdef HAVE_LIBSUBID
#include <dlfcn.h>
#include <shadow/subid.h>
#endif

extern char **environ;

static void
add_range (struct hutch_subid_range **ranges, size_t *n, unsigned long start, unsigned long count)
{
  size_t i;
  if (count == 0)
    return;
  for (i = 0; i < *n; i++)
    if ((*ranges)[i].start == start && (*ranges)[i].count == count)
      return;
  *ranges = hutch_xrealloc (*ranges, (*n + 1) * sizeof **ranges);
  (*ranges)[*n].start = start;
  (*ranges)[*n].count = count;
  (*n)++;
}

/* One line of /etc/subuid or /etc/subgid, OWNER:START:COUNT, cut in
   place: *RET_OWNER points into LINE.  False for comments and for lines
   that are not of that form (shadow skips them too).  START and COUNT are
   as written: the callers decide what a range past 2^32 means.  */
static bool
subid_line (char *line, char **ret_owner, unsigned long *ret_start, unsigned long *ret_count)
{
  char *c1 = strchr (line, ':'), *c2, *end;

  while (*line == ' ' || *line == '\t')
    line++;
  if (*line == '#' || c1 == NULL)
    return false;
  *c1 = '\0';
  c2 = strchr (c1 + 1, ':');
  if (c2 == NULL)
    return false;
  *c2 = '\0';
  errno = 0;
  *ret_start = strtoul (c1 + 1, &end, 10);
  if (errno || end == c1 + 1 || *end)
    return false;
  *ret_count = strtoul (c2 + 1, &end, 10);
  if (errno || end == c2 + 1 || (*end && *end != ' ' && *end != '\t' && *end != '\r'))
    return false;
  *ret_owner = line;
  return true;
}

int
hutch_subid_parse (const char *text, const char *user, unsigned long id,
                   struct hutch_subid_range **ret_ranges, size_t *ret_n)
{
  _cleanup_free_ char *copy = hutch_xstrdup (text);
  struct hutch_subid_range *ranges = NULL;
  size_t n = 0;
  char *save = NULL, *line, *owner;
  char idbuf[32];
  unsigned long start, count;

  snprintf (idbuf, sizeof idbuf, "%lu", id);
  for (line = strtok_r (copy, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      if (!subid_line (line, &owner, &start, &count))
        continue;
      if (!((user && strcmp (owner, user) == 0) || strcmp (owner, idbuf) == 0))
        continue;
      if (start > UINT32_MAX || count > UINT32_MAX || start + count > (unsigned long)UINT32_MAX + 1)
        continue;
      add_range (&ranges, &n, start, count);
    }
  *ret_ranges = ranges;
  *ret_n = n;
  return 0;
}

/* ---- a free block to suggest ------------------------------------------ */

struct id_span
{
  unsigned long start, end; /* [start, end) */
};

/* Every range of TEXT (a whole /etc/subuid), whoever it belongs to, into
   *SPANS.  A range that runs past 2^32 is cut there rather than skipped:
   what it says it covers must not be suggested to someone else.  */
static void
collect_spans (const char *text, struct id_span **spans, size_t *n)
{
  _cleanup_free_ char *copy = hutch_xstrdup (text ? text : "");
  char *save = NULL, *line, *owner;
  unsigned long start, count, top = (unsigned long)UINT32_MAX + 1;

  for (line = strtok_r (copy, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      if (!subid_line (line, &owner, &start, &count) || count == 0 || start >= top)
        continue;
      *spans = hutch_xrealloc (*spans, (*n + 1) * sizeof **spans);
      (*spans)[*n].start = start;
      (*spans)[*n].end = count > top - start ? top : start + count;
      (*n)++;
    }
}

static int
span_cmp (const void *a, const void *b)
{
  const struct id_span *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start;
}

/* The first HUTCH_SUBID_BLOCK ids from HUTCH_SUBID_FIRST up that overlap
   none of SPANS, or 0.  The last id may be 2^32 - 2: 2^32 - 1 is (uid_t)
   -1, which no map may name.  */
static unsigned long
first_free (struct id_span *spans, size_t n)
{
  unsigned long cand = HUTCH_SUBID_FIRST;
  size_t i;

  /* No lines: no array at all, which qsort must not be given.  */
  if (n > 0)
    qsort (spans, n, sizeof *spans, span_cmp);
  for (i = 0; i < n; i++)
    {
      if (spans[i].end <= cand)
        continue;
      if (spans[i].start >= cand + HUTCH_SUBID_BLOCK)
        break;
      cand = spans[i].end;
    }
  return cand + HUTCH_SUBID_BLOCK <= (unsigned long)UINT32_MAX ? cand : 0;
}

void
hutch_subid_free_block (const char *subuid_text, const char *subgid_text, unsigned long *ret_uid,
                        unsigned long *ret_gid)
{
  struct id_span *u = NULL, *g = NULL, *both;
  size_t nu = 0, ng = 0;

  collect_spans (subuid_text, &u, &nu);
  collect_spans (subgid_text, &g, &ng);
  /* One block for both, as usermod users and useradd give them, when
     there is one: so uid N and gid N are the same host id.  */
  both = hutch_xmalloc0 ((nu + ng + 1) * sizeof *both);
  if (nu)
    memcpy (both, u, nu * sizeof *u);
  if (ng)
    memcpy (both + nu, g, ng * sizeof *g);
  *ret_uid = *ret_gid = first_free (both, nu + ng);
  if (*ret_uid == 0)
    {
      *ret_uid = first_free (u, nu);
      *ret_gid = first_free (g, ng);
    }
  free (both);
  free (u);
  free (g);
}

char *
hutch_subid_fix_format (const char *name, unsigned long uid_start, unsigned long gid_start,
                        const char *nss_source)
{
  _cleanup_free_ char *usermod = NULL, *elsewhere = NULL;
  const char *who = name ? name : "USER";

  if (uid_start && gid_start)
    usermod = hutch_xasprintf (
        "ask an administrator to run `usermod --add-subuids %lu-%lu --add-subgids %lu-%lu %s` "
        "(%s of %d ids that no line of /etc/subuid or /etc/subgid uses yet)",
        uid_start, uid_start + HUTCH_SUBID_BLOCK - 1, gid_start, gid_start + HUTCH_SUBID_BLOCK - 1,
        who, uid_start == gid_start ? "a block" : "blocks", HUTCH_SUBID_BLOCK);
  else
    usermod = hutch_xasprintf ("ask an administrator for %d subordinate uids and gids (no block "
                               "of %d ids below 2^32 is free in %s: ranges must be freed first)",
                               HUTCH_SUBID_BLOCK, HUTCH_SUBID_BLOCK,
                               !uid_start && !gid_start ? "/etc/subuid and /etc/subgid"
                               : uid_start              ? "/etc/subgid"
                                                        : "/etc/subuid");
  /* With `subid: sss` (or ldap) shadow's tools and newuidmap ask NSS
     through libsubid, and a line in /etc/subuid changes nothing.  */
  if (nss_source)
    elsewhere = hutch_xasprintf ("; subordinate ids come from `%s` here (the subid line of "
                                 "/etc/nsswitch.conf, read through libsubid: SSSD or LDAP), so "
                                 "the administrator sets the range there instead",
                                 nss_source);
  return hutch_xasprintf ("%s%s", usermod, elsewhere ? elsewhere : "");
}

/* The first source of the subid line of /etc/nsswitch.conf that is not
   `files`, or NULL.  */
static char *
nss_subid_source (void)
{
  _cleanup_free_ char *text = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;
  char *line, *save = NULL;

  if (hutch_read_file ("/etc/nsswitch.conf", 1 << 20, &text, NULL, &e) < 0)
    {
      hutch_error_clear (&e);
      return NULL;
    }
  for (line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *src, *ssave = NULL;
      while (*line == ' ' || *line == '\t')
        line++;
      if (strncmp (line, "subid:", 6) != 0)
        continue;
      for (src = strtok_r (line + 6, " \t", &ssave); src; src = strtok_r (NULL, " \t", &ssave))
        if (strcmp (src, "files") != 0)
          return hutch_xstrdup (src);
    }
  return NULL;
}

/* The whole of FILE, or "" when it cannot be read (a missing file has no
   ranges; an unreadable one is refused by the lookup, not here).  */
static char *
read_or_empty (const char *file)
{
  hutch_error_t e = HUTCH_ERROR_INIT;
  char *text = NULL;
  if (hutch_read_file (file, 16 << 20, &text, NULL, &e) < 0)
    {
      hutch_error_clear (&e);
      return hutch_xstrdup ("");
    }
  return text;
}

char *
hutch_subid_fix (const char *name)
{
  _cleanup_free_ char *uids = read_or_empty ("/etc/subuid"), *gids = read_or_empty ("/etc/subgid");
  _cleanup_free_ char *nss = nss_subid_source ();
  unsigned long u, g;

  hutch_subid_free_block (uids, gids, &u, &g);
  return hutch_subid_fix_format (name, u, g, nss);
}

#ifdef HAVE_LIBSUBID
#define STR_(x) #x
#define STR(x) STR_ (x)

/* Asked for uids and gids alike: read /etc/nsswitch.conf once.  */
static bool
nss_has_subid (void)
{
  static int cached = -1;
  if (cached < 0)
    {
      char *src = nss_subid_source ();
      cached = src != NULL;
      free (src);
    }
  return cached;
}

static int
subid_lookup_nss (bool gid, const char *user, struct hutch_subid_range **ret_ranges, size_t *ret_n)
{
  int (*get) (const char *, struct subid_range **);
  struct hutch_subid_range *ranges = NULL;
  struct subid_range *r = NULL;
  size_t n = 0;
  int i, cnt;
  void *lib = dlopen ("libsubid.so." STR (SUBID_ABI_MAJOR), RTLD_NOW | RTLD_LOCAL);

  if (lib == NULL)
    return -1;
  *(void **)(&get) = dlsym (lib, gid ? "subid_get_gid_ranges" : "subid_get_uid_ranges");
  cnt = get ? get (user, &r) : -1;
  for (i = 0; i < cnt; i++)
    add_range (&ranges, &n, r[i].start, r[i].count);
  free (r);
  dlclose (lib);
  if (cnt < 0)
    return -1;
  *ret_ranges = ranges;
  *ret_n = n;
  return 0;
}
#endif

int
hutch_subid_lookup (bool gid, const char *user, unsigned long id,
                    struct hutch_subid_range **ret_ranges, size_t *ret_n, hutch_error_t *err)
{
  const char *file = gid ? "/etc/subgid" : "/etc/subuid";
  _cleanup_free_ char *text = NULL;

#ifdef HAVE_LIBSUBID
  if (user != NULL && nss_has_subid ())
    {
      int r = subid_lookup_nss (gid, user, ret_ranges, ret_n);
      if (r == 0)
        return 0;
      /* libsubid failed (missing, or its NSS module could not answer):
         fall back to the file, as shadow's own tools would.  */
    }
#endif
  {
    hutch_error_t e = HUTCH_ERROR_INIT;
    if (hutch_read_file (file, 16 << 20, &text, NULL, &e) < 0)
      {
        int errnum = e.errnum;
        hutch_error_clear (&e);
        if (errnum == ENOENT)
          {
            *ret_ranges = NULL;
            *ret_n = 0;
            return 0;
          }
        return hutch_error_set (err, errnum, "read %s", file);
      }
  }
  return hutch_subid_parse (text, user, id, ret_ranges, ret_n);
}

/* Map container ids [C, C+LEN) onto the concatenated ranges, starting
   OFFSET ids into them.  Returns how many were mapped.  */
static unsigned long
map_onto_ranges (struct hutch_idmap **map, size_t *n, unsigned long c, unsigned long len,
                 const struct hutch_subid_range *ranges, size_t nr, unsigned long offset)
{
  unsigned long done = 0;
  size_t i;

  for (i = 0; i < nr && done < len; i++)
    {
      unsigned long avail, take;
      if (offset >= ranges[i].count)
        {
          offset -= ranges[i].count;
          continue;
        }
      avail = ranges[i].count - offset;
      take = avail < len - done ? avail : len - done;
      if (c + done + take > (unsigned long)UINT32_MAX + 1)
        take = (unsigned long)UINT32_MAX + 1 - (c + done);
      if (take == 0)
        break;
      *map = hutch_xrealloc (*map, (*n + 1) * sizeof **map);
      (*map)[*n].container_id = (unsigned int)(c + done);
      (*map)[*n].host_id = (unsigned int)(ranges[i].start + offset);
      (*map)[*n].size = (unsigned int)take;
      (*n)++;
      done += take;
      offset = 0;
    }
  return done;
}

void
hutch_idmap_compute (enum hutch_userns_mode mode, unsigned int own_id,
                     const struct hutch_subid_range *ranges, size_t nr,
                     struct hutch_idmap **ret_map, size_t *ret_n)
{
  struct hutch_idmap *map = NULL;
  size_t n = 0, i;
  unsigned long total = 0, below;

  for (i = 0; i < nr; i++)
    total += ranges[i].count;

  map = hutch_xmalloc0 (sizeof *map);
  switch (mode)
    {
    case HUTCH_USERNS_SINGLE:
      map[0] = (struct hutch_idmap){ 0, own_id, 1 };
      n = 1;
      break;
    case HUTCH_USERNS_DEFAULT:
      map[0] = (struct hutch_idmap){ 0, own_id, 1 };
      n = 1;
      map_onto_ranges (&map, &n, 1, total, ranges, nr, 0);
      break;
    case HUTCH_USERNS_KEEP_ID:
      /* The user's id is itself inside; the ids below it and above it come
         from the subordinate ranges, in order, as podman's keep-id does.  */
      map[0] = (struct hutch_idmap){ own_id, own_id, 1 };
      n = 1;
      below = total < own_id ? total : own_id;
      map_onto_ranges (&map, &n, 0, below, ranges, nr, 0);
      if (total > below)
        map_onto_ranges (&map, &n, (unsigned long)own_id + 1, total - below, ranges, nr, below);
      break;
    }
  *ret_map = map;
  *ret_n = n;
}

unsigned long
hutch_idmap_total (const struct hutch_idmap *map, size_t n)
{
  unsigned long t = 0;
  size_t i;
  for (i = 0; i < n; i++)
    t += map[i].size;
  return t;
}

bool
hutch_idmap_contains (const struct hutch_idmap *map, size_t n, unsigned int id)
{
  size_t i;
  for (i = 0; i < n; i++)
    if (id >= map[i].container_id
        && (unsigned long)id < (unsigned long)map[i].container_id + map[i].size)
      return true;
  return false;
}

char *
hutch_idmap_format (const struct hutch_idmap *map, size_t n)
{
  char *out = hutch_xstrdup ("");
  size_t i;
  for (i = 0; i < n; i++)
    {
      char *next
          = hutch_xasprintf ("%s%u %u %u\n", out, map[i].container_id, map[i].host_id, map[i].size);
      free (out);
      out = next;
    }
  return out;
}

int
hutch_idmap_find_helper (const char *name, char **ret_path, hutch_error_t *err)
{
  /* A start asks twice for each helper (to fail early, then to run it):
     remember what was found and checked.  */
  static char *found[2];
  int slot = strcmp (name, "newgidmap") == 0;
  _cleanup_free_ char *cand = NULL;

  if (found[slot] && strcmp (strrchr (found[slot], '/') + 1, name) == 0)
    {
      *ret_path = hutch_xstrdup (found[slot]);
      return 0;
    }
  cand = hutch_find_program (name);
  if (cand)
    {
      struct stat st;
      char xattr[64];

      if (stat (cand, &st) < 0)
        return hutch_error_set (err, errno, "%s", cand);
      /* The helper only works when the kernel lets it act for the user in
         the parent namespace: setuid root, or CAP_SETUID/CAP_SETGID as a
         file capability (Fedora, Arch).  A copy without either is the
         usual failure after a careless install or a `cp`.  */
      if (!((st.st_mode & S_ISUID) && st.st_uid == 0)
          && getxattr (cand, "security.capability", xattr, sizeof xattr) <= 0)
        return hutch_error_set (err, 0,
                                "%s at %s is neither setuid root nor has a file capability, so "
                                "it cannot write id maps; reinstall it (`sudo apt install "
                                "--reinstall uidmap`, or `sudo chmod u+s %s`), or use "
                                "--userns=single",
                                name, cand, cand);
      free (found[slot]);
      found[slot] = hutch_xstrdup (cand);
      *ret_path = HUTCH_STEAL_PTR (cand);
      return 0;
    }
  return hutch_error_set (err, 0,
                          "%s was not found in PATH; it maps your subordinate ids into the "
                          "container: install it (`sudo apt install uidmap`, or the shadow-utils "
                          "package), or use --userns=single to map only your own id",
                          name);
}

struct helper_run
{
  const char *helper;
  pid_t child;
  int errfd; /* the helper's stderr */
};

/* Start HELPER for PID without waiting: newuidmap and newgidmap run side
   by side, which halves what the id maps add to a container's start.  */
static int
spawn_helper (const char *helper, pid_t pid, const struct hutch_idmap *map, size_t n,
              struct helper_run *run, hutch_error_t *err)
{
  _cleanup_strv_ char **argv = NULL;
  posix_spawn_file_actions_t fa;
  int pipefd[2], r;
  size_t i;

  run->helper = helper;
  run->child = -1;
  run->errfd = -1;
  hutch_strv_push (&argv, hutch_xstrdup (helper));
  hutch_strv_push (&argv, hutch_xasprintf ("%d", pid));
  for (i = 0; i < n; i++)
    {
      hutch_strv_push (&argv, hutch_xasprintf ("%u", map[i].container_id));
      hutch_strv_push (&argv, hutch_xasprintf ("%u", map[i].host_id));
      hutch_strv_push (&argv, hutch_xasprintf ("%u", map[i].size));
    }
  if (pipe2 (pipefd, O_CLOEXEC) < 0)
    return hutch_error_set (err, errno, "pipe");
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_adddup2 (&fa, pipefd[1], 2);
  r = posix_spawn (&run->child, helper, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  close (pipefd[1]);
  if (r != 0)
    {
      close (pipefd[0]);
      run->child = -1;
      return hutch_error_set (err, r, "run %s", helper);
    }
  run->errfd = pipefd[0];
  return 0;
}

static int
finish_helper (struct helper_run *run, hutch_error_t *err)
{
  _cleanup_free_ char *errtext = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;
  int status;
  size_t len;

  if (run->child < 0)
    return 0;
  if (hutch_read_fd (run->errfd, 65536, &errtext, NULL, &e) < 0)
    hutch_error_clear (&e);
  close (run->errfd);
  run->errfd = -1;
  while (waitpid (run->child, &status, 0) < 0)
    if (errno != EINTR)
      return hutch_error_set (err, errno, "wait for %s", run->helper);
  run->child = -1;
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    return 0;
  len = errtext ? strlen (errtext) : 0;
  while (len > 0 && errtext[len - 1] == '\n')
    errtext[--len] = '\0';
  return hutch_error_set (err, 0,
                          "%s refused to write the id map (%s); check your lines in "
                          "/etc/subuid and /etc/subgid",
                          run->helper, len ? errtext : "no message");
}

static int
write_proc (pid_t pid, const char *file, const char *content, hutch_error_t *err)
{
  _cleanup_free_ char *path = hutch_xasprintf ("/proc/%d/%s", pid, file);
  return hutch_write_file (path, content, err);
}

int
hutch_idmap_write (pid_t pid, bool use_helpers, bool deny_setgroups,
                   const struct hutch_idmap *uid_map, size_t n_uid,
                   const struct hutch_idmap *gid_map, size_t n_gid, hutch_error_t *err)
{
  _cleanup_free_ char *uids = NULL, *gids = NULL;

  if (use_helpers)
    {
      _cleanup_free_ char *newuidmap = NULL, *newgidmap = NULL;
      if (hutch_idmap_find_helper ("newuidmap", &newuidmap, err) < 0
          || hutch_idmap_find_helper ("newgidmap", &newgidmap, err) < 0)
        return -1;
      struct helper_run u, g = { NULL, -1, -1 };
      hutch_error_t gerr = HUTCH_ERROR_INIT;
      int r;

      if (spawn_helper (newuidmap, pid, uid_map, n_uid, &u, err) < 0)
        return -1;
      r = spawn_helper (newgidmap, pid, gid_map, n_gid, &g, err);
      /* Always wait for both, so that no helper is left unreaped; the
         first failure is the one reported.  */
      if (finish_helper (&u, err) < 0)
        r = -1;
      if (finish_helper (&g, &gerr) < 0 && r == 0)
        {
          r = -1;
          hutch_error_set (err, gerr.errnum, "%s", gerr.msg);
        }
      hutch_error_clear (&gerr);
      return r;
    }
  /* An unprivileged process may map only its own ids, and only after
     denying setgroups, so that dropping a group with setgroups(2) cannot
     turn a negative group permission into access (CVE-2014-8989).  */
  if (deny_setgroups && write_proc (pid, "setgroups", "deny", err) < 0)
    return -1;
  uids = hutch_idmap_format (uid_map, n_uid);
  gids = hutch_idmap_format (gid_map, n_gid);
  if (write_proc (pid, "uid_map", uids, err) < 0 || write_proc (pid, "gid_map", gids, err) < 0)
    return -1;
  return 0;
}

/* As root (in the initial namespace or a nested one), map every id this
   namespace has, unchanged: no helper is needed and none can do better.  */
static int
identity_of_self (const char *file, struct hutch_idmap **ret, size_t *ret_n, hutch_error_t *err)
{
  _cleanup_free_ char *text = NULL;
  struct hutch_idmap *map = NULL;
  size_t n = 0;
  char *save = NULL, *line;

  if (hutch_read_file (file, 65536, &text, NULL, err) < 0)
    return -1;
  for (line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      unsigned int inside, outside, size;
      if (sscanf (line, "%u %u %u", &inside, &outside, &size) != 3)
        continue;
      map = hutch_xrealloc (map, (n + 1) * sizeof *map);
      map[n++] = (struct hutch_idmap){ inside, inside, size };
    }
  *ret = map;
  *ret_n = n;
  return 0;
}

/* The plan when hutch runs as root: no helpers, and either one id or the
   identity of every id this namespace has.  */
static int
idplan_for_root (enum hutch_userns_mode mode, struct hutch_idplan *plan, hutch_error_t *err)
{
  plan->use_helpers = false;
  if (mode == HUTCH_USERNS_SINGLE)
    {
      hutch_idmap_compute (mode, 0, NULL, 0, &plan->uid_map, &plan->n_uid);
      hutch_idmap_compute (mode, 0, NULL, 0, &plan->gid_map, &plan->n_gid);
      plan->deny_setgroups = true;
      return 0;
    }
  if (identity_of_self ("/proc/self/uid_map", &plan->uid_map, &plan->n_uid, err) < 0
      || identity_of_self ("/proc/self/gid_map", &plan->gid_map, &plan->n_gid, err) < 0)
    return -1;
  return 0;
}

/* The user has no subordinate uid range (NO_UIDS) or no gid range: warn,
   and map only the user's own id.  Returns true when the plan is complete
   (keep-id), false when the caller goes on in PLAN->mode, now single.  */
static bool
idplan_fall_back (const char *name, uid_t uid, gid_t gid, bool no_uids, struct hutch_idplan *plan)
{
  const char *who = name ? name : "you";
  _cleanup_free_ char *fix = hutch_subid_fix (name);
  plan->fell_back = true;
  plan->warning = hutch_xasprintf (
      "no subordinate %s range for %s in %s, so only your own id is mapped (%s); "
      "for the full range %s",
      no_uids ? "uid" : "gid", who, no_uids ? "/etc/subuid" : "/etc/subgid",
      plan->mode == HUTCH_USERNS_KEEP_ID ? "as itself" : "as root", fix);
  if (plan->mode == HUTCH_USERNS_KEEP_ID)
    {
      /* keep-id without a range: the own id maps to itself and
         nothing else exists inside.  */
      plan->uid_map = hutch_xmalloc0 (sizeof *plan->uid_map);
      plan->uid_map[0] = (struct hutch_idmap){ uid, uid, 1 };
      plan->gid_map = hutch_xmalloc0 (sizeof *plan->gid_map);
      plan->gid_map[0] = (struct hutch_idmap){ gid, gid, 1 };
      plan->n_uid = plan->n_gid = 1;
      plan->deny_setgroups = true;
      plan->use_helpers = false;
      return true;
    }
  plan->mode = HUTCH_USERNS_SINGLE;
  return false;
}

/* Find the helpers now, before any namespace exists, so that a
   missing one is reported without a half-made container.  */
static int
idplan_find_helpers (hutch_error_t *err)
{
  _cleanup_free_ char *p1 = NULL, *p2 = NULL;
  if (hutch_idmap_find_helper ("newuidmap", &p1, err) < 0
      || hutch_idmap_find_helper ("newgidmap", &p2, err) < 0)
    return -1;
  return 0;
}

int
hutch_idplan_make (enum hutch_userns_mode mode, struct hutch_idplan *plan, hutch_error_t *err)
{
  struct hutch_subid_range *ur = NULL, *gr = NULL;
  size_t nur = 0, ngr = 0;
  uid_t uid = geteuid ();
  gid_t gid = getegid ();
  struct passwd *pw;
  const char *name;
  int ret = -1;

  memset (plan, 0, sizeof *plan);
  plan->mode = mode;

  if (uid == 0)
    return idplan_for_root (mode, plan, err);

  pw = getpwuid (uid);
  name = pw ? pw->pw_name : NULL;

  if (mode != HUTCH_USERNS_SINGLE)
    {
      if (hutch_subid_lookup (false, name, uid, &ur, &nur, err) < 0
          || hutch_subid_lookup (true, name, uid, &gr, &ngr, err) < 0)
        goto out;
      if (nur == 0 || ngr == 0)
        {
          if (idplan_fall_back (name, uid, gid, nur == 0, plan))
            {
              ret = 0;
              goto out;
            }
          mode = plan->mode;
        }
    }

  hutch_idmap_compute (mode, uid, ur, nur, &plan->uid_map, &plan->n_uid);
  hutch_idmap_compute (mode, gid, gr, ngr, &plan->gid_map, &plan->n_gid);
  plan->use_helpers = mode != HUTCH_USERNS_SINGLE;
  plan->deny_setgroups = mode == HUTCH_USERNS_SINGLE;
  if (plan->use_helpers && idplan_find_helpers (err) < 0)
    goto out;
  ret = 0;
out:
  free (ur);
  free (gr);
  return ret;
}

void
hutch_idplan_clear (struct hutch_idplan *plan)
{
  free (plan->warning);
  free (plan->uid_map);
  free (plan->gid_map);
  memset (plan, 0, sizeof *plan);
}
