/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* hutch save --format squashfs: an image of the store as one squashfs
   file (image/sqfsimage.h says its layout), for one copy on a shared file
   system that every node of a cluster runs without unpacking.

   The layers are flattened (image/flatten.c: whiteouts applied, hard
   links, modes, times and xattrs kept) into a directory of ROOT/tmp, and
   mksquashfs (squashfs-tools) makes the filesystem of it.  Both run as
   root of a user namespace with the user's map, as everything that
   touches the layers' files does: mksquashfs then reads every file
   whatever its mode, and records each owner as the namespace sees it,
   which with a subordinate range is the image's own id.

   Without a range every file of the store is the user's (layermap.h:
   "owners squashed"), and would come out root's.  The layers' blobs, which
   the store keeps, still say who owned what: their tar headers give each
   path of the flattened tree the owner of the topmost layer that has it,
   and every path whose owner is not root gets a pseudo-file definition
   (`PATH m MODE UID GID`, mksquashfs -pf) that sets it.  So the file has
   the image's owners whoever made it, as a tarball from `hutch save`
   would.  */

#include "base/override.h"
#include "image/image.h"
#include "image/layermap.h"
#include "image/sqfsimage.h"
#include "image/unpack.h"
#include "runtime/nsexec.h"
#include "base/log.h"
#include "base/util.h"
#include "base/walk.h"

#include <archive.h>
#include <archive_entry.h>
#include "base/lazylib.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

/* ---- owners from the layers' blobs ------------------------------------ */

struct owner
{
  char *path; /* as hutch_walk_clean_name makes it */
  uint32_t uid, gid;
};

struct owner_map
{
  struct owner *v;
  size_t n, cap; /* cap is 0 or a power of two */
};

static size_t
owner_slot (const struct owner_map *m, const char *path)
{
  uint64_t h = UINT64_C (14695981039346656037);
  const unsigned char *p;
  size_t i;

  for (p = (const unsigned char *)path; *p; p++)
    h = (h ^ *p) * UINT64_C (1099511628211);
  i = (size_t)h & (m->cap - 1);
  while (m->v[i].path && strcmp (m->v[i].path, path) != 0)
    i = (i + 1) & (m->cap - 1);
  return i;
}

static const struct owner *
owner_find (const struct owner_map *m, const char *path)
{
  size_t i;
  if (m->cap == 0)
    return NULL;
  i = owner_slot (m, path);
  return m->v[i].path ? &m->v[i] : NULL;
}

/* PATH (taken) belongs to UID and GID: a later layer's word replaces an
   earlier one's, as its file replaces theirs.  */
static void
owner_set (struct owner_map *m, char *path, uint32_t uid, uint32_t gid)
{
  size_t i;

  if ((m->n + 1) * 2 > m->cap)
    {
      struct owner_map bigger = { .cap = m->cap ? m->cap * 2 : 1024 };
      bigger.v = hutch_xmalloc0 (bigger.cap * sizeof *bigger.v);
      for (i = 0; i < m->cap; i++)
        if (m->v[i].path)
          bigger.v[owner_slot (&bigger, m->v[i].path)] = m->v[i];
      bigger.n = m->n;
      free (m->v);
      *m = bigger;
    }
  i = owner_slot (m, path);
  if (m->v[i].path)
    free (path);
  else
    {
      m->v[i].path = path;
      m->n++;
    }
  m->v[i].uid = uid;
  m->v[i].gid = gid;
}

static void
owner_map_clear (struct owner_map *m)
{
  size_t i;
  for (i = 0; i < m->cap; i++)
    free (m->v[i].path);
  free (m->v);
  memset (m, 0, sizeof *m);
}

/* The owners the tar entries of one layer's blob name.  Whiteouts name no
   file of the result: the flattened tree, not this map, says what is
   there.  Names the unpacker would refuse cannot be in the tree either.  */
static int
owners_of_blob (const char *path, const char *digest, struct owner_map *m, hutch_error_t *err)
{
  struct archive *a = archive_read_new ();
  struct archive_entry *e;
  int r = 0, st = ARCHIVE_EOF;

  if (hutch_archive_filters (a, false, err) < 0)
    {
      archive_read_free (a);
      return -1;
    }
  archive_read_support_format_tar (a);
  if (archive_read_open_filename (a, path, 1 << 16) != ARCHIVE_OK)
    r = hutch_error_set (err, 0, "layer %s: %s", digest, archive_error_string (a));
  while (r == 0 && (st = archive_read_next_header (a, &e)) == ARCHIVE_OK)
    {
      const char *name = archive_entry_pathname (e), *base;
      char *clean = NULL;

      if (name == NULL || hutch_walk_clean_name (name, &clean, NULL) != HUTCH_WALK_NAME_OK)
        continue;
      base = strrchr (clean, '/');
      base = base ? base + 1 : clean;
      if (strncmp (base, ".wh.", 4) == 0 || *clean == '\0')
        {
          free (clean);
          continue;
        }
      owner_set (m, clean, (uint32_t)archive_entry_uid (e), (uint32_t)archive_entry_gid (e));
    }
  if (r == 0 && st != ARCHIVE_EOF)
    r = hutch_error_set (err, 0, "layer %s: %s", digest, archive_error_string (a));
  archive_read_free (a);
  return r;
}

static int
owners_of_image (struct hutch_store *s, const struct hutch_image *img, struct owner_map *m,
                 hutch_error_t *err)
{
  size_t i;

  for (i = 0; i < img->n_layers; i++)
    {
      _cleanup_free_ char *blob = hutch_store_blob_path (s, img->layers[i].digest);
      if (owners_of_blob (blob, img->layers[i].digest, m, err) < 0)
        return hutch_error_prefix (err, "read the owners of the image's files");
    }
  return 0;
}

/* ---- in the user namespace --------------------------------------------- */

struct sqfs_job
{
  char **layers;   /* the layers' directories, bottom first */
  const char *tmp; /* ROOT/tmp/sqfs-...: tree/, and what the job leaves */
  const char *mksquashfs;
  const char *out;                /* the squashfs file to write */
  const struct owner_map *owners; /* NULL: the tree's owners are the image's */
};

struct pseudo_walk
{
  const struct owner_map *owners;
  FILE *f;
  unsigned long skipped;
};

/* The store's record of the owner (base/override.h, written by the
   unpacker without a range) is the store's bookkeeping, not the image's:
   the squashfs gets the owner itself, as a layer's tar does.  */
static void
drop_override (const struct hutch_walk_entry *e)
{
  int fd;

  if (!S_ISREG (e->st->st_mode) && !S_ISDIR (e->st->st_mode))
    return;
  fd = openat (e->dirfd, e->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return;
  (void)fremovexattr (fd, HUTCH_OVERRIDE_XATTR);
  close (fd);
}

/* One pseudo-file definition: mksquashfs takes a name in double quotes
   with `"` and `\` escaped, but no newline in it.  */
static int
pseudo_line (void *data, const struct hutch_walk_entry *e, hutch_error_t *err)
{
  struct pseudo_walk *w = data;
  const struct owner *o = owner_find (w->owners, e->path);
  const char *p;

  (void)err;
  drop_override (e);
  if (o == NULL || (o->uid == 0 && o->gid == 0))
    return HUTCH_WALK_ENTER;
  if (strchr (e->path, '\n'))
    {
      w->skipped++;
      return HUTCH_WALK_ENTER;
    }
  fputc ('"', w->f);
  for (p = e->path; *p; p++)
    {
      if (*p == '"' || *p == '\\')
        fputc ('\\', w->f);
      fputc (*p, w->f);
    }
  fprintf (w->f, "\" m %o %u %u\n", (unsigned)(e->st->st_mode & 07777), o->uid, o->gid);
  return HUTCH_WALK_ENTER;
}

static int
write_pseudo (const struct sqfs_job *job, int treefd, const char *path, hutch_error_t *err)
{
  struct pseudo_walk w = { .owners = job->owners };
  int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600), r;

  if (fd < 0 || (w.f = fdopen (fd, "w")) == NULL)
    {
      if (fd >= 0)
        close (fd);
      return hutch_error_set (err, errno, "create `%s`", path);
    }
  r = hutch_walk_sorted (treefd, pseudo_line, &w, err);
  if (fclose (w.f) != 0 && r == 0)
    r = hutch_error_set (err, errno, "write `%s`", path);
  if (r == 0 && w.skipped)
    hutch_log (HUTCH_LOG_WARNING,
               "%lu file(s) with a newline in their name keep root as their owner in the squashfs "
               "image (mksquashfs cannot name them)",
               w.skipped);
  return r;
}

/* The image's /etc/NAME, resolved inside the tree as the container would,
   copied to TMP/NAME for the note (the tree goes before the note is
   written).  */
static void
keep_etc_file (int treefd, const char *tmp, const char *name)
{
  _cleanup_free_ char *rel = hutch_xasprintf ("etc/%s", name);
  _cleanup_free_ char *dst = hutch_xasprintf ("%s/%s", tmp, name);
  _cleanup_close_ int src = hutch_walk_open_in_root (treefd, rel, O_RDONLY | O_NOCTTY, 0);
  _cleanup_close_ int out = -1;
  struct stat st;

  if (src < 0 || fstat (src, &st) < 0 || !S_ISREG (st.st_mode)
      || (uint64_t)st.st_size > HUTCH_SQFS_ETC_MAX)
    return;
  out = open (dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (out >= 0 && hutch_copy_fd (src, out) < 0)
    unlink (dst);
}

/* The last line mksquashfs wrote to its standard error, for the message.  */
static char *
last_line (char *text)
{
  size_t len = strlen (text);
  char *nl;

  while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
    text[--len] = '\0';
  nl = strrchr (text, '\n');
  return nl ? nl + 1 : text;
}

static int
run_mksquashfs (const struct sqfs_job *job, const char *tree, const char *pseudo,
                hutch_error_t *err)
{
  /* zstd: squashfuse inflates it several times faster than gzip, the
     default, at about the same size; level 6 makes a 1 GB image in
     seconds rather than minutes (mksquashfs's own default is 15).  */
  const char *argv[] = { job->mksquashfs,       tree,    job->out, "-noappend",           "-quiet",
                         "-no-progress",        "-comp", "zstd",   "-Xcompression-level", "6",
                         pseudo ? "-pf" : NULL, pseudo,  NULL };
  _cleanup_free_ char *text = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;
  int errpipe[2], st = 0;
  pid_t pid;

  if (pipe2 (errpipe, O_CLOEXEC) < 0)
    return hutch_error_set (err, errno, "pipe");
  pid = fork ();
  if (pid < 0)
    {
      close (errpipe[0]);
      close (errpipe[1]);
      return hutch_error_set (err, errno, "fork mksquashfs");
    }
  if (pid == 0)
    {
      int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
      /* It dies with the namespace's worker, which dies with hutch.  */
      prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
      if (null < 0 || dup2 (null, 0) < 0 || dup2 (null, 1) < 0 || dup2 (errpipe[1], 2) < 0)
        _exit (127);
      syscall (SYS_close_range, 3U, ~0U, 0U);
      execv (job->mksquashfs, (char **)argv);
      _exit (127);
    }
  close (errpipe[1]);
  if (hutch_read_fd (errpipe[0], 1 << 16, &text, NULL, &e) < 0)
    hutch_error_clear (&e);
  close (errpipe[0]);
  while (waitpid (pid, &st, 0) < 0 && errno == EINTR)
    ;
  if (WIFEXITED (st) && WEXITSTATUS (st) == 0)
    return 0;
  return hutch_error_set (err, 0, "mksquashfs failed (%s%d): %s",
                          WIFEXITED (st) ? "exit status " : "signal ",
                          WIFEXITED (st) ? WEXITSTATUS (st) : WTERMSIG (st),
                          text && *last_line (text) ? last_line (text) : "no message");
}

static int
flatten_tree (const struct sqfs_job *job, int treefd, hutch_error_t *err)
{
  struct hutch_unpack_opts opts = { .whiteouts = HUTCH_WHITEOUT_OVERLAY, .chown = true };
  size_t n = hutch_strv_len (job->layers), i;
  int *fds = hutch_xmalloc0 ((n + 1) * sizeof (int)), r = 0;

  for (i = 0; i < n && r == 0; i++)
    {
      fds[i] = open (job->layers[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fds[i] < 0)
        r = hutch_error_set (err, errno, "open layer `%s`", job->layers[i]);
    }
  if (r == 0)
    r = hutch_layers_flatten (fds, n, treefd, &opts, err);
  while (i-- > 0)
    if (fds[i] >= 0)
      close (fds[i]);
  free (fds);
  return r;
}

static int
sqfs_in_userns (void *arg, hutch_error_t *err)
{
  const struct sqfs_job *job = arg;
  _cleanup_free_ char *tree = hutch_xasprintf ("%s/tree", job->tmp);
  _cleanup_free_ char *pseudo = hutch_xasprintf ("%s/pseudo", job->tmp);
  _cleanup_close_ int treefd = -1;
  hutch_error_t e = HUTCH_ERROR_INIT;
  int r;

  if (mkdir (tree, 0700) < 0 || (treefd = open (tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
    return hutch_error_set (err, errno, "create `%s`", tree);
  r = flatten_tree (job, treefd, err);
  if (r < 0)
    hutch_error_prefix (err, "flatten the image's layers");
  if (r == 0 && job->owners)
    r = write_pseudo (job, treefd, pseudo, err);
  if (r == 0)
    {
      keep_etc_file (treefd, job->tmp, "passwd");
      keep_etc_file (treefd, job->tmp, "group");
      r = run_mksquashfs (job, tree, job->owners ? pseudo : NULL, err);
    }
  /* The tree is of subordinate ids: ours to remove, here.  */
  close (treefd);
  treefd = -1;
  if (hutch_walk_remove_path (tree, &e) < 0)
    hutch_error_clear (&e);
  return r;
}

/* ---- the file ------------------------------------------------------------ */

static void
note_add_file (json_t *note, const char *key, const char *tmp)
{
  _cleanup_free_ char *path = hutch_xasprintf ("%s/%s", tmp, key), *text = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;

  if (hutch_read_file (path, HUTCH_SQFS_ETC_MAX, &text, NULL, &e) == 0)
    json_object_set_new (note, key, json_string (text));
  hutch_error_clear (&e);
}

/* The note: the image's name, id and config, and its passwd and group
   (left in TMP by the job).  */
static char *
make_note (struct hutch_store *s, const struct hutch_image *img, const char *image, const char *tmp,
           hutch_error_t *err)
{
  _cleanup_free_ char *cfgtext = NULL;
  json_error_t je;
  json_t *cfg, *note;
  char *text;
  size_t len;

  if (hutch_store_read_blob (s, img->config_digest, 16 << 20, &cfgtext, &len, err) < 0)
    return NULL;
  cfg = json_loadb (cfgtext, len, 0, &je);
  if (!json_is_object (cfg))
    {
      json_decref (cfg);
      hutch_error_set (err, 0, "the config of image `%s` cannot be read: %s", image, je.text);
      return NULL;
    }
  note = json_pack ("{s:i, s:s, s:s, s:o}", "hutchImageNote", HUTCH_SQFS_NOTE_VERSION, "name",
                    img->names && img->names[0] ? img->names[0] : image, "id", img->id, "config",
                    cfg);
  note_add_file (note, "passwd", tmp);
  note_add_file (note, "group", tmp);
  text = json_dumps (note, JSON_COMPACT);
  json_decref (note);
  return text;
}

static char **
layer_dirs (struct hutch_store *s, const struct hutch_image *img)
{
  char **v = hutch_xmalloc0 (sizeof (char *));
  size_t i;

  for (i = 0; i < img->n_layers; i++)
    {
      _cleanup_free_ char *l = hutch_store_layer_path (s, img->layers[i].diff_id);
      hutch_strv_push (&v, hutch_xasprintf ("%s/diff", l));
    }
  return v;
}

/* Whether the layers as unpacked now keep their owners: false without a
   subordinate range (every file is the user's).  */
static bool
owners_kept (void)
{
  struct hutch_layermap cur;
  hutch_error_t e = HUTCH_ERROR_INIT;
  bool kept = true;

  if (hutch_layermap_current (&cur, &e) == 0)
    {
      kept = cur.kept;
      hutch_layermap_clear (&cur);
    }
  hutch_error_clear (&e);
  return kept;
}

static int
save_image (struct hutch_store *s, const struct hutch_image *img, const char *image,
            const char *file, const char *mksquashfs, const char *tmp, hutch_error_t *err)
{
  _cleanup_free_ char *part = hutch_xasprintf ("%s.hutch-XXXXXX", file), *note = NULL;
  _cleanup_strv_ char **layers = layer_dirs (s, img);
  struct owner_map owners = { 0 };
  struct sqfs_job job = { .layers = layers, .tmp = tmp, .mksquashfs = mksquashfs, .out = part };
  int outfd, r;

  if (!owners_kept ())
    {
      if (owners_of_image (s, img, &owners, err) < 0)
        return -1;
      job.owners = &owners;
    }
  /* A temporary name of our own (O_EXCL: no one's symlink is followed in
     a shared directory), renamed at the end: a failed save leaves no half
     image under the name the user gave, and a node that mounts the old
     file keeps reading it whole.  */
  outfd = mkostemp (part, O_CLOEXEC);
  if (outfd < 0)
    {
      owner_map_clear (&owners);
      return hutch_error_set (err, errno, "create `%s`", part);
    }
  r = fchmod (outfd, 0644) < 0 ? hutch_error_set (err, errno, "chmod `%s`", part) : 0;
  if (r == 0)
    r = hutch_in_userns (sqfs_in_userns, &job, err);
  owner_map_clear (&owners);
  if (r == 0 && (note = make_note (s, img, image, tmp, err)) == NULL)
    r = -1;
  if (r == 0)
    r = hutch_sqfs_note_append (outfd, note, err);
  if (r == 0 && fsync (outfd) < 0)
    r = hutch_error_set (err, errno, "write `%s`", part);
  if (close (outfd) < 0 && r == 0)
    r = hutch_error_set (err, errno, "write `%s`", part);
  if (r == 0 && rename (part, file) < 0)
    r = hutch_error_set (err, errno, "rename `%s` to `%s`", part, file);
  if (r < 0)
    unlink (part);
  return r;
}

int
hutch_image_save_squashfs (struct hutch_store *s, const char *image, const char *file,
                           hutch_error_t *err)
{
  _cleanup_free_ char *mksquashfs = hutch_find_program ("mksquashfs"), *tmp = NULL;
  hutch_error_t e = HUTCH_ERROR_INIT;
  struct hutch_image img;
  char hex[17];
  int r;

  if (mksquashfs == NULL)
    return hutch_error_set (err, 0,
                            "mksquashfs is not installed (it is in $PATH nowhere); install "
                            "squashfs-tools (`apt-get install squashfs-tools`, `dnf install "
                            "squashfs-tools`)");
  if (hutch_store_find_image (s, image, &img, err) < 0)
    {
      if (err->errnum == ENOENT)
        hutch_error_set (err, 0, "image `%s` is not in the store", image);
      return -1;
    }
  /* Its layers, unpacked (again, when the user's mapping changed since):
     the tree is made of them.  */
  if (hutch_image_unpack_layers (s, &img, err) < 0 || hutch_random_hex (hex, 16) < 0)
    {
      if (err->msg == NULL)
        hutch_error_set (err, errno, "a random name");
      hutch_image_clear (&img);
      return -1;
    }
  hex[16] = '\0';
  tmp = hutch_xasprintf ("%s/tmp/sqfs-%d-%s", hutch_store_root (s), (int)getpid (), hex);
  if (mkdir (tmp, 0700) < 0)
    r = hutch_error_set (err, errno, "create `%s`", tmp);
  else
    r = save_image (s, &img, image, file, mksquashfs, tmp, err);
  hutch_image_clear (&img);
  if (hutch_userns_remove (tmp, &e) < 0)
    hutch_error_clear (&e);
  return r < 0 ? hutch_error_prefix (err, "save `%s` as a squashfs image", image) : 0;
}
