/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "image/conffile.h"
#include "base/digest.h"
#include "image/store.h"
#include "tap.h"
#include "base/util.h"
#include "base/walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char base[] = "/tmp/hutch-test-store-XXXXXX";
static char *root;

static const char *
emsg (const hutch_error_t *err)
{
  return err->msg ? err->msg : "";
}

static size_t
count_entries (const char *dir)
{
  DIR *d = opendir (dir);
  struct dirent *de;
  size_t n = 0;
  if (d == NULL)
    return (size_t)-1;
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      n++;
  closedir (d);
  return n;
}

static size_t
tmp_entries (void)
{
  _cleanup_free_ char *t = hutch_xasprintf ("%s/tmp", root);
  return count_entries (t);
}

/* A temporary file holding LEN bytes of a pattern, positioned at 0.  */
static int
data_fd (size_t len, unsigned seed)
{
  char path[] = "/tmp/hutch-test-data-XXXXXX";
  int fd = mkostemp (path, O_CLOEXEC);
  _cleanup_free_ char *buf = hutch_xmalloc0 (len + 1);
  size_t i;
  for (i = 0; i < len; i++)
    buf[i] = (char)((i * 31 + seed) & 0xff);
  unlink (path);
  if (fd < 0 || hutch_write_all (fd, buf, len) < 0)
    abort ();
  lseek (fd, 0, SEEK_SET);
  return fd;
}

static void
digest_of (int fd, char d[HUTCH_DIGEST_BUF_LEN])
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  if (hutch_digest_fd (fd, d, &err) < 0)
    abort ();
  lseek (fd, 0, SEEK_SET);
}

static void
test_blobs (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_store *s = NULL;
  char want[HUTCH_DIGEST_BUF_LEN];
  char *got = NULL;
  int fd;

  ok (hutch_store_open (root, &s, &err) == 0, "open a new store (%s)", emsg (&err));
  {
    _cleanup_free_ char *p = hutch_xasprintf ("%s/blobs/sha256", root);
    struct stat st;
    ok (stat (p, &st) == 0 && S_ISDIR (st.st_mode), "blobs/sha256 created");
  }

  fd = data_fd (300000, 1);
  digest_of (fd, want);
  ok (hutch_store_put_blob (s, fd, want, &got, &err) == 0, "put a blob (%s)", emsg (&err));
  is_str (got, want, "returns its digest");
  ok (hutch_store_has_blob (s, want), "the blob is there");
  free (got);
  got = NULL;
  lseek (fd, 0, SEEK_SET);
  ok (hutch_store_put_blob (s, fd, NULL, &got, &err) == 0, "the same blob again, no expectation");
  is_str (got, want, "same digest");
  free (got);
  got = NULL;
  ok (tmp_entries () == 0, "nothing left in tmp");
  close (fd);

  {
    const char *wrong = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    char other[HUTCH_DIGEST_BUF_LEN];
    fd = data_fd (5000, 7);
    digest_of (fd, other);
    ok (hutch_store_put_blob (s, fd, wrong, &got, &err) < 0, "a wrong digest is refused");
    has_str (err.msg, wrong, "the error names the expected digest");
    has_str (err.msg, other, "and the actual one (%s)", emsg (&err));
    ok (got == NULL, "no digest returned");
    ok (!hutch_store_has_blob (s, wrong) && !hutch_store_has_blob (s, other),
        "no blob under either name");
    ok (tmp_entries () == 0, "nothing left in tmp after a mismatch");
    hutch_error_clear (&err);
    close (fd);
  }

  ok (hutch_store_put_blob (s, 0, "md5:abc", &got, &err) < 0, "a non-sha256 expectation refused");
  has_str (err.msg, "md5", "error names the algorithm");
  hutch_error_clear (&err);

  {
    struct hutch_blob_writer *w = NULL;
    char d[HUTCH_DIGEST_BUF_LEN];
    hutch_digest_buffer ("hello, world", 12, d, &err);
    ok (hutch_store_blob_begin (s, d, &w, &err) == 0, "streaming writer");
    ok (hutch_blob_writer_write (w, "hello, ", 7, &err) == 0
            && hutch_blob_writer_write (w, "world", 5, &err) == 0,
        "two writes");
    ok (hutch_blob_writer_commit (w, &got, &err) == 0, "commit (%s)", emsg (&err));
    is_str (got, d, "streamed digest");
    free (got);
    got = NULL;
    {
      char *text = NULL;
      size_t len = 0;
      ok (hutch_store_read_blob (s, d, 1024, &text, &len, &err) == 0 && len == 12
              && memcmp (text, "hello, world", 12) == 0,
          "read it back");
      free (text);
    }
    ok (hutch_store_blob_begin (s, NULL, &w, &err) == 0, "another writer");
    hutch_blob_writer_write (w, "partial", 7, &err);
    ok (tmp_entries () == 1, "its temp file is in tmp");
    hutch_blob_writer_abort (w);
    ok (tmp_entries () == 0, "abort leaves nothing");

    /* Corrupt the stored blob: reading verifies.  */
    {
      _cleanup_free_ char *p = hutch_store_blob_path (s, d);
      char *text = NULL;
      hutch_write_file (p, "hello, World", &err);
      ok (hutch_store_read_blob (s, d, 1024, &text, NULL, &err) < 0, "a damaged blob is noticed");
      has_str (err.msg, "damaged", "error says damaged (%s)", emsg (&err));
      hutch_error_clear (&err);
    }
  }
  hutch_store_close (s);
}

/* Two processes put the same blob at the same time, many times.  */
static void
test_concurrent_puts (void)
{
  char want[HUTCH_DIGEST_BUF_LEN];
  int fd = data_fd (2 << 20, 3), i, failures = 0;
  pid_t kids[2];

  digest_of (fd, want);
  close (fd);
  for (i = 0; i < 2; i++)
    {
      kids[i] = fork ();
      if (kids[i] == 0)
        {
          hutch_error_t err = HUTCH_ERROR_INIT;
          struct hutch_store *s = NULL;
          int round;
          if (hutch_store_open (root, &s, &err) < 0)
            _exit (2);
          for (round = 0; round < 10; round++)
            {
              int dfd = data_fd (2 << 20, 3);
              char *got = NULL;
              if (hutch_store_put_blob (s, dfd, want, &got, &err) < 0 || strcmp (got, want) != 0)
                _exit (3);
              free (got);
              close (dfd);
            }
          hutch_store_close (s);
          _exit (0);
        }
    }
  for (i = 0; i < 2; i++)
    {
      int st;
      waitpid (kids[i], &st, 0);
      if (!WIFEXITED (st) || WEXITSTATUS (st) != 0)
        failures++;
    }
  ok (failures == 0, "two processes put the same blob ten times each");
  {
    hutch_error_t err = HUTCH_ERROR_INIT;
    struct hutch_store *s = NULL;
    _cleanup_free_ char *p = NULL;
    char got[HUTCH_DIGEST_BUF_LEN];
    ok (hutch_store_open (root, &s, &err) == 0, "reopen");
    p = hutch_store_blob_path (s, want);
    fd = open (p, O_RDONLY | O_CLOEXEC);
    digest_of (fd, got);
    close (fd);
    is_str (got, want, "one good copy");
    ok (tmp_entries () == 0, "no temp files left");
    hutch_store_close (s);
  }
}

#define CFG_A "sha256:abcd1111111111111111111111111111111111111111111111111111111111aa"
#define CFG_B "sha256:abcd2222222222222222222222222222222222222222222222222222222222bb"
#define CFG_C "sha256:9999999999999999999999999999999999999999999999999999999999999999"
#define MAN_A "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define DIFF1 "sha256:d4fc045c9e3a848011de66f34b81f052d4f2c15a17bb196d637e526349601820"
#define DIFF2 "sha256:05455a08881ea9cf0e752bc48e61bbd71a34c029bb13df01e40e3e70e0d007bd"
#define BLOB1 "sha256:4abcf20661432fb2d719aaf90656f55c287f8ca915dc1c92ec14ff61e67fbaf8"

static void
make_image (struct hutch_image *img, const char *cfg, const char *man, const char *name1,
            const char *name2)
{
  memset (img, 0, sizeof *img);
  img->config_digest = hutch_xstrdup (cfg);
  img->manifest_digest = man ? hutch_xstrdup (man) : NULL;
  img->names = hutch_xmalloc0 (sizeof (char *));
  if (name1)
    hutch_strv_push (&img->names, hutch_xstrdup (name1));
  if (name2)
    hutch_strv_push (&img->names, hutch_xstrdup (name2));
  img->layers = hutch_xmalloc0 (2 * sizeof *img->layers);
  img->n_layers = 1;
  img->layers[0].digest = hutch_xstrdup (BLOB1);
  img->layers[0].diff_id = hutch_xstrdup (DIFF1);
  img->layers[0].media_type = hutch_xstrdup ("application/vnd.oci.image.layer.v1.tar+gzip");
  img->layers[0].size = 3408729;
  img->created = hutch_xstrdup ("2024-01-27T00:30:48.743965523Z");
}

static void
test_index (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_store *s = NULL;
  struct hutch_image img, found;
  struct hutch_image *list = NULL;
  size_t n = 0;

  ok (hutch_store_open (root, &s, &err) == 0, "open");
  ok (hutch_store_list_images (s, &list, &n, &err) == 0 && n == 0, "an empty store lists nothing");
  hutch_image_list_free (list, n);

  make_image (&img, CFG_A, MAN_A, "alpine", "alpine:3.19");
  ok (hutch_store_add_image (s, &img, &err) == 0, "add an image (%s)", emsg (&err));
  hutch_image_clear (&img);

  ok (hutch_store_find_image (s, "alpine", &found, &err) == 0, "find by short name");
  is_str (found.id, CFG_A, "id is the config digest");
  is_str (found.names[0], "docker.io/library/alpine:latest", "names are stored in full");
  is_str (found.names[1], "docker.io/library/alpine:3.19", "second name");
  ok (found.n_layers == 1 && found.layers[0].size == 3408729, "layers kept");
  is_str (found.layers[0].diff_id, DIFF1, "diff_id kept");
  is_str (found.created, "2024-01-27T00:30:48.743965523Z", "created kept");
  ok (found.added > 0, "added time set");
  hutch_image_clear (&found);

  ok (hutch_store_find_image (s, "docker.io/library/alpine:3.19", &found, &err) == 0,
      "find by full name");
  hutch_image_clear (&found);
  ok (hutch_store_find_image (s, CFG_A, &found, &err) == 0, "find by id");
  hutch_image_clear (&found);
  ok (hutch_store_find_image (s, MAN_A, &found, &err) == 0 && strcmp (found.id, CFG_A) == 0,
      "find by manifest digest");
  hutch_image_clear (&found);
  ok (hutch_store_find_by_digest (s, MAN_A, &found, &err) == 0, "find_by_digest");
  hutch_image_clear (&found);
  ok (hutch_store_find_image (s, "alpine@" MAN_A, &found, &err) == 0,
      "a digest reference finds the repository's image with that manifest");
  hutch_image_clear (&found);
  ok (hutch_store_find_image (s, "busybox@" MAN_A, &found, &err) == -ENOENT,
      "but not under another repository");
  hutch_error_clear (&err);
  ok (hutch_store_find_image (s, "abcd1", &found, &err) == 0, "find by id prefix");
  hutch_image_clear (&found);
  ok (hutch_store_find_image (s, "sha256:abcd11", &found, &err) == 0, "prefix with sha256:");
  hutch_image_clear (&found);

  ok (hutch_store_find_image (s, "busybox", &found, &err) == -ENOENT, "unknown name: -ENOENT");
  has_str (err.msg, "docker.io/library/busybox:latest", "error names the full reference (%s)",
           emsg (&err));
  has_str (err.msg, "pull or load", "and the fix");
  hutch_error_clear (&err);
  ok (hutch_store_find_image (s, "Bad Name", &found, &err) < 0, "an invalid name is an error");
  has_str (err.msg, "invalid image reference", "that says so (%s)", emsg (&err));
  hutch_error_clear (&err);

  /* A second image sharing the id prefix, taking the name `alpine`.  */
  make_image (&img, CFG_B, NULL, "alpine:latest", NULL);
  ok (hutch_store_add_image (s, &img, &err) == 0, "add a second image");
  hutch_image_clear (&img);
  ok (hutch_store_find_image (s, "alpine", &found, &err) == 0 && strcmp (found.id, CFG_B) == 0,
      "the name moved to the new image");
  hutch_image_clear (&found);
  ok (hutch_store_find_image (s, CFG_A, &found, &err) == 0, "the old image stays");
  ok (hutch_strv_len (found.names) == 1, "with its other name only");
  hutch_image_clear (&found);

  ok (hutch_store_find_image (s, "abcd", &found, &err) < 0, "an ambiguous prefix is refused");
  has_str (err.msg, "ambiguous", "error says ambiguous (%s)", emsg (&err));
  has_str (err.msg, "abcd11111111", "and lists the candidates");
  hutch_error_clear (&err);
  ok (hutch_store_find_image (s, "abc", &found, &err) == -ENOENT,
      "three digits are a name, not an id prefix");
  has_str (err.msg, "docker.io/library/abc:latest", "looked up as a name (%s)", emsg (&err));
  hutch_error_clear (&err);
  ok (hutch_store_find_image (s, "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
                              &found, &err)
          == -ENOENT,
      "an unknown full id: -ENOENT");
  has_str (err.msg, "no image in the image store has an id", "saying so (%s)", emsg (&err));
  hutch_error_clear (&err);

  ok (hutch_store_tag (s, "abcd2", "me/mine:1", &err) == 0, "tag (%s)", emsg (&err));
  ok (hutch_store_find_image (s, "me/mine:1", &found, &err) == 0 && strcmp (found.id, CFG_B) == 0,
      "found by the new tag");
  hutch_image_clear (&found);
  ok (hutch_store_tag (s, CFG_A, "me/mine:1", &err) == 0, "tag another image with it");
  ok (hutch_store_find_image (s, "me/mine:1", &found, &err) == 0 && strcmp (found.id, CFG_A) == 0,
      "the tag moved");
  hutch_image_clear (&found);
  ok (hutch_store_tag (s, "alpine", "x@" MAN_A, &err) < 0, "tagging with a digest is refused");
  hutch_error_clear (&err);
  ok (hutch_store_tag (s, "nothere", "x:1", &err) == -ENOENT, "tagging a missing image");
  hutch_error_clear (&err);

  ok (hutch_store_untag (s, "me/mine:1", &err) == 0, "untag");
  ok (hutch_store_find_image (s, "me/mine:1", &found, &err) == -ENOENT, "the tag is gone");
  hutch_error_clear (&err);
  ok (hutch_store_untag (s, "me/mine:1", &err) == -ENOENT, "untag twice: not found");
  hutch_error_clear (&err);

  /* Re-adding the same id merges names and keeps `added`.  */
  {
    int64_t added;
    hutch_store_find_image (s, CFG_A, &found, &err);
    added = found.added;
    hutch_image_clear (&found);
    make_image (&img, CFG_A, MAN_A, "extra:1", NULL);
    img.added = added + 1000;
    ok (hutch_store_add_image (s, &img, &err) == 0, "add the same id again");
    hutch_image_clear (&img);
    ok (hutch_store_find_image (s, "extra:1", &found, &err) == 0
            && hutch_strv_len (found.names) == 2 && found.added == added,
        "names merged, first `added` kept");
    hutch_image_clear (&found);
  }

  ok (hutch_store_list_images (s, &list, &n, &err) == 0 && n == 2, "two images listed");
  hutch_image_list_free (list, n);

  ok (hutch_store_remove_image (s, "abcd2", &found, &err) == 0, "remove by prefix");
  is_str (found.id, CFG_B, "the removed image is returned");
  hutch_image_clear (&found);
  ok (hutch_store_find_image (s, CFG_B, &found, &err) == -ENOENT, "gone");
  hutch_error_clear (&err);
  ok (hutch_store_remove_image (s, CFG_B, NULL, &err) == -ENOENT, "removing again: not found");
  hutch_error_clear (&err);

  {
    make_image (&img, "sha256:xyz", NULL, "a", NULL);
    ok (hutch_store_add_image (s, &img, &err) < 0, "a bad config digest is refused");
    hutch_image_clear (&img);
    make_image (&img, CFG_C, NULL, "Bad Name", NULL);
    ok (hutch_store_add_image (s, &img, &err) < 0, "a bad name is refused");
    hutch_image_clear (&img);
    hutch_error_clear (&err);
  }

  /* The index on disk: a damaged one is reported with its position.  */
  {
    _cleanup_free_ char *p = hutch_xasprintf ("%s/images.json", root);
    _cleanup_free_ char *saved = NULL;
    hutch_read_file (p, 1 << 20, &saved, NULL, &err);
    has_str (saved, "\"version\": 1", "images.json has a version");
    hutch_write_file (p, "{\"version\": 1, \"images\": [\n  {\"id\": }]}", &err);
    ok (hutch_store_find_image (s, "alpine", &found, &err) < 0, "a damaged index is an error");
    has_str (err.msg, "line 2", "naming the line (%s)", emsg (&err));
    hutch_error_clear (&err);
    hutch_write_file (p, "{\"version\": 99, \"images\": []}", &err);
    ok (hutch_store_list_images (s, &list, &n, &err) < 0, "a newer format is refused");
    has_str (err.msg, "newer hutch", "saying why (%s)", emsg (&err));
    hutch_error_clear (&err);
    {
      int fd = open (p, O_WRONLY | O_TRUNC | O_CLOEXEC);
      hutch_write_all (fd, saved, strlen (saved));
      close (fd);
    }
  }
  hutch_store_close (s);
}

/* Two processes adding images at once: images.lock must not lose any.  */
static void
test_concurrent_adds (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_store *s = NULL;
  struct hutch_image *list = NULL;
  size_t n = 0, before;
  pid_t kids[2];
  int i, failures = 0;

  ok (hutch_store_open (root, &s, &err) == 0, "open");
  hutch_store_list_images (s, &list, &n, &err);
  hutch_image_list_free (list, n);
  before = n;
  for (i = 0; i < 2; i++)
    {
      kids[i] = fork ();
      if (kids[i] == 0)
        {
          struct hutch_store *cs = NULL;
          int k;
          if (hutch_store_open (root, &cs, &err) < 0)
            _exit (2);
          for (k = 0; k < 15; k++)
            {
              struct hutch_image img;
              char cfg[HUTCH_DIGEST_BUF_LEN], name[64];
              snprintf (cfg, sizeof cfg, "sha256:%063x%d", k, i);
              snprintf (name, sizeof name, "racer%d:%d", i, k);
              make_image (&img, cfg, NULL, name, "shared:tag");
              if (hutch_store_add_image (cs, &img, &err) < 0)
                _exit (3);
              hutch_image_clear (&img);
            }
          hutch_store_close (cs);
          _exit (0);
        }
    }
  for (i = 0; i < 2; i++)
    {
      int st;
      waitpid (kids[i], &st, 0);
      if (!WIFEXITED (st) || WEXITSTATUS (st) != 0)
        failures++;
    }
  ok (failures == 0, "two processes added 15 images each");
  ok (hutch_store_list_images (s, &list, &n, &err) == 0 && n == before + 30,
      "all 30 are in the index (%zu)", n - before);
  {
    size_t k, j, owners = 0;
    for (k = 0; k < n; k++)
      for (j = 0; list[k].names && list[k].names[j]; j++)
        if (strcmp (list[k].names[j], "docker.io/library/shared:tag") == 0)
          owners++;
    ok (owners == 1, "the name they fought over belongs to exactly one image");
  }
  hutch_image_list_free (list, n);
  /* Leave the index as the layer tests expect: only CFG_A.  */
  {
    int bad = 0;
    for (i = 0; i < 2; i++)
      {
        int k;
        for (k = 0; k < 15; k++)
          {
            char cfg[HUTCH_DIGEST_BUF_LEN];
            snprintf (cfg, sizeof cfg, "sha256:%063x%d", k, i);
            if (hutch_store_remove_image (s, cfg, NULL, &err) < 0)
              bad++;
          }
      }
    ok (bad == 0, "and removed again");
  }
  hutch_store_close (s);
}

static void
test_layers (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_store *s = NULL;
  enum hutch_layer_commit res;
  char *t1 = NULL, *t2 = NULL;
  char **unused = NULL;

  ok (hutch_store_open (root, &s, &err) == 0, "open");
  ok (hutch_store_layer_begin (s, &t1, &err) == 0 && hutch_store_layer_begin (s, &t2, &err) == 0,
      "two layer directories");
  {
    _cleanup_free_ char *f1 = hutch_xasprintf ("%s/file", t1);
    _cleanup_free_ char *f2 = hutch_xasprintf ("%s/file", t2);
    _cleanup_free_ char *sub = hutch_xasprintf ("%s/ro", t2);
    close (open (f1, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
    close (open (f2, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
    mkdir (sub, 0555);
  }
  ok (!hutch_store_has_layer (s, DIFF2), "no layer yet");
  ok (hutch_store_layer_commit (s, t1, DIFF2, &res, &err) == 0 && res == HUTCH_LAYER_COMMITTED,
      "first commit wins (%s)", emsg (&err));
  ok (hutch_store_has_layer (s, DIFF2), "the layer is there");
  ok (hutch_store_layer_commit (s, t2, DIFF2, &res, &err) == 0 && res == HUTCH_LAYER_EXISTED,
      "second commit finds it there");
  ok (access (t2, F_OK) < 0, "and its own copy is discarded (even a read-only directory)");
  {
    _cleanup_free_ char *p = hutch_store_layer_path (s, DIFF2);
    _cleanup_free_ char *f = hutch_xasprintf ("%s/file", p);
    ok (access (f, F_OK) == 0, "the committed layer is complete");
  }
  ok (hutch_store_layer_commit (s, "/etc", DIFF1, &res, &err) < 0,
      "a directory outside tmp is refused");
  hutch_error_clear (&err);
  free (t1);
  free (t2);

  /* Many rounds of two processes committing the same diff_id.  */
  {
    int round, bad = 0;
    for (round = 0; round < 20; round++)
      {
        char diff[HUTCH_DIGEST_BUF_LEN];
        int pipes[2][2], i, committed = 0;
        pid_t kids[2];
        snprintf (diff, sizeof diff, "sha256:%064x", round + 1);
        for (i = 0; i < 2; i++)
          {
            if (pipe2 (pipes[i], O_CLOEXEC) < 0)
              abort ();
            kids[i] = fork ();
            if (kids[i] == 0)
              {
                struct hutch_store *cs = NULL;
                char *t = NULL, c;
                enum hutch_layer_commit r;
                if (hutch_store_open (root, &cs, &err) < 0
                    || hutch_store_layer_begin (cs, &t, &err) < 0
                    || hutch_store_layer_commit (cs, t, diff, &r, &err) < 0)
                  _exit (9);
                c = (char)r;
                _exit (write (pipes[i][1], &c, 1) == 1 ? 0 : 9);
              }
            close (pipes[i][1]);
          }
        for (i = 0; i < 2; i++)
          {
            char c = 9;
            int st;
            if (read (pipes[i][0], &c, 1) != 1)
              bad++;
            close (pipes[i][0]);
            waitpid (kids[i], &st, 0);
            if (c == HUTCH_LAYER_COMMITTED)
              committed++;
            else if (c != HUTCH_LAYER_EXISTED)
              bad++;
          }
        if (committed != 1)
          bad++;
      }
    ok (bad == 0, "20 rounds of racing commits: exactly one commit each, no errors");
    ok (tmp_entries () == 0, "no layer directory left in tmp");
  }

  /* Garbage: DIFF1 is used by the image in the index, DIFF2 and the raced
     ones are not.  */
  ok (hutch_store_unused_layers (s, &unused, &err) < 0, "unused layers needs the exclusive lock");
  hutch_error_clear (&err);
  ok (hutch_store_lock_exclusive (s, false, &err) == 0, "take it (%s)", emsg (&err));
  ok (hutch_store_unused_layers (s, &unused, &err) == 0 && hutch_strv_len (unused) == 21,
      "21 unused layers (%zu)", hutch_strv_len (unused));
  {
    size_t i;
    int bad = 0;
    for (i = 0; unused && unused[i]; i++)
      {
        char *path = NULL;
        if (hutch_store_detach_layer (s, unused[i], &path, &err) < 0
            || hutch_store_has_layer (s, unused[i]))
          bad++;
        else
          {
            int dfd = open ("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (hutch_walk_remove_tree (dfd, path + 1, &err) < 0)
              bad++;
            close (dfd);
          }
        free (path);
      }
    ok (bad == 0, "each detached into tmp and removed");
    ok (tmp_entries () == 0, "tmp is empty again");
  }
  hutch_strv_free (unused);
  {
    char *path = NULL;
    char *t = NULL;
    hutch_store_layer_begin (s, &t, &err);
    hutch_store_layer_commit (s, t, DIFF1, &res, &err);
    ok (hutch_store_detach_layer (s, DIFF1, &path, &err) < 0, "a used layer is not detached");
    has_str (err.msg, "still used", "error says so");
    hutch_error_clear (&err);
    free (t);
  }
  {
    size_t removed = 0;
    char d[HUTCH_DIGEST_BUF_LEN];
    ok (hutch_store_remove_unused_blobs (s, &removed, &err) == 0 && removed == 3,
        "the three unreferenced blobs removed (%zu)", removed);
    hutch_digest_buffer ("hello, world", 12, d, &err);
    ok (!hutch_store_has_blob (s, d), "an unreferenced blob is gone");
  }
  ok (hutch_store_unlock_exclusive (s, &err) == 0, "back to shared");
  hutch_store_close (s);
}

/* A killed hutch leaves temp files; the next open that has the store to
   itself removes them, and not while another process uses the store.  */
/* A layer directory in the store's tmp/ with a record and diff/f.  */
static char *
made_layer (struct hutch_store *s, const char *record, const char *content)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  char *t = NULL;
  _cleanup_free_ char *rec = NULL, *diff = NULL, *f = NULL;

  if (hutch_store_layer_begin (s, &t, &err) < 0)
    abort ();
  rec = hutch_xasprintf ("%s/%s", t, HUTCH_STORE_LAYER_RECORD);
  diff = hutch_xasprintf ("%s/diff", t);
  f = hutch_xasprintf ("%s/f", diff);
  if (mkdir (diff, 0755) < 0)
    abort ();
  close (open (rec, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
  close (open (f, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
  if (hutch_write_file (rec, record, &err) < 0 || hutch_write_file (f, content, &err) < 0)
    abort ();
  return t;
}

static char *
read_text (const char *path)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  char *text = NULL;
  if (hutch_read_file (path, 4096, &text, NULL, &err) < 0)
    hutch_error_clear (&err);
  return text;
}

/* A layer unpacked again takes the old one's place; the old one waits in
   superseded/.  */
static void
test_layer_replace (void)
{
  static const char *const d3
      = "sha256:3333333333333333333333333333333333333333333333333333333333333333";
  static const char *const d4
      = "sha256:4444444444444444444444444444444444444444444444444444444444444444";
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_store_ struct hutch_store *s = NULL;
  _cleanup_free_ char *t1 = NULL, *t2 = NULL, *t3 = NULL, *t4 = NULL, *rec = NULL, *f = NULL;
  _cleanup_free_ char *layer = NULL;
  _cleanup_strv_ char **old = NULL;
  enum hutch_layer_commit res;

  ok (hutch_store_open (root, &s, &err) == 0, "open");
  layer = hutch_store_layer_path (s, d3);
  f = hutch_xasprintf ("%s/diff/f", layer);
  ok (hutch_store_layer_record (s, d3, &rec, &err) == 0 && rec == NULL, "no layer, no record");
  t1 = made_layer (s, "A\n", "old");
  ok (hutch_store_layer_commit (s, t1, d3, &res, &err) == 0 && res == HUTCH_LAYER_COMMITTED,
      "a layer with a record");
  ok (hutch_store_layer_record (s, d3, &rec, &err) == 0 && rec && strcmp (rec, "A\n") == 0,
      "its record is read back");
  free (rec);
  rec = NULL;
  ok (hutch_store_superseded (s, &old, &err) == 0 && old[0] == NULL, "nothing superseded yet");
  hutch_strv_free (old);
  old = NULL;

  t2 = made_layer (s, "B\n", "new");
  ok (hutch_store_layer_replace (s, t2, d3, &res, &err) == 0 && res == HUTCH_LAYER_COMMITTED,
      "another record: replaced (%s)", emsg (&err));
  {
    _cleanup_free_ char *now = read_text (f);
    is_str (now, "new", "the new copy is in place");
  }
  ok (hutch_store_layer_record (s, d3, &rec, &err) == 0 && rec && strcmp (rec, "B\n") == 0,
      "with its record");
  free (rec);
  rec = NULL;
  ok (hutch_store_superseded (s, &old, &err) == 0 && hutch_strv_len (old) == 1,
      "the old copy is superseded");
  {
    _cleanup_free_ char *of = old && old[0] ? hutch_xasprintf ("%s/diff/f", old[0]) : NULL;
    _cleanup_free_ char *was = of ? read_text (of) : NULL;
    is_str (was, "old", "whole, for a container that may still read it");
  }
  ok (access (t2, F_OK) < 0, "nothing left in tmp");

  t3 = made_layer (s, "B\n", "same");
  ok (hutch_store_layer_replace (s, t3, d3, &res, &err) == 0 && res == HUTCH_LAYER_EXISTED,
      "the same record: another process was first");
  ok (access (t3, F_OK) < 0, "and our copy is dropped");
  {
    _cleanup_free_ char *now = read_text (f);
    is_str (now, "new", "the layer stays");
  }

  ok (hutch_store_layer_set_record (s, d3, "C\n", &err) == 0, "set a record");
  ok (hutch_store_layer_record (s, d3, &rec, &err) == 0 && rec && strcmp (rec, "C\n") == 0,
      "it is the layer's now");
  t4 = made_layer (s, "D\n", "x");
  ok (hutch_store_layer_replace (s, t4, d4, &res, &err) == 0 && res == HUTCH_LAYER_COMMITTED
          && hutch_store_has_layer (s, d4),
      "a layer that is not there is committed");
  ok (hutch_store_layer_replace (s, "/etc", d4, &res, &err) < 0,
      "a directory outside tmp is refused");
  hutch_error_clear (&err);
  {
    int dfd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    hutch_walk_remove_tree (dfd, "superseded", &err);
    close (dfd);
  }
}

static void
test_leftovers (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_store *s = NULL;
  int ready[2], hold[2];
  pid_t victim, holder;
  char c;
  int st;

  if (pipe2 (ready, O_CLOEXEC) < 0)
    abort ();
  victim = fork ();
  if (victim == 0)
    {
      struct hutch_store *vs = NULL;
      struct hutch_blob_writer *w = NULL;
      char *t = NULL;
      if (hutch_store_open (root, &vs, &err) < 0 || hutch_store_blob_begin (vs, NULL, &w, &err) < 0
          || hutch_blob_writer_write (w, "half", 4, &err) < 0
          || hutch_store_layer_begin (vs, &t, &err) < 0)
        _exit (1);
      {
        _cleanup_free_ char *f = hutch_xasprintf ("%s/usr", t);
        mkdir (f, 0755);
      }
      if (write (ready[1], "x", 1) != 1)
        _exit (1);
      pause ();
      _exit (0);
    }
  close (ready[1]);
  ok (read (ready[0], &c, 1) == 1, "a process is writing a blob and a layer");
  close (ready[0]);
  ok (tmp_entries () == 2, "two entries in tmp");

  /* While it lives, opening the store must not touch its files.  */
  ok (hutch_store_open (root, &s, &err) == 0, "open while it runs");
  ok (tmp_entries () == 2, "its temp files are untouched");
  ok (hutch_store_lock_exclusive (s, false, &err) == -EWOULDBLOCK, "no exclusive lock meanwhile");
  has_str (err.msg, "in use by another hutch", "error says the store is busy (%s)", emsg (&err));
  hutch_error_clear (&err);
  hutch_store_close (s);

  kill (victim, SIGKILL);
  waitpid (victim, &st, 0);
  ok (tmp_entries () == 2, "SIGKILL leaves them behind");

  /* Another user of the store delays the cleanup...  */
  if (pipe2 (ready, O_CLOEXEC) < 0 || pipe2 (hold, O_CLOEXEC) < 0)
    abort ();
  holder = fork ();
  if (holder == 0)
    {
      struct hutch_store *hs = NULL;
      close (hold[1]);
      if (hutch_store_open (root, &hs, &err) < 0 || write (ready[1], "x", 1) != 1)
        _exit (1);
      if (read (hold[0], &c, 1) < 0)
        _exit (1);
      hutch_store_close (hs);
      _exit (0);
    }
  close (ready[1]);
  close (hold[0]);
  ok (read (ready[0], &c, 1) == 1, "another process holds the store");
  close (ready[0]);
  /* (its own open ran the cleanup, it had the store to itself)  */
  ok (tmp_entries () == 0, "the first open with the store to itself cleaned tmp");
  close (hold[1]);
  waitpid (holder, &st, 0);

  ok (hutch_store_open (root, &s, &err) == 0, "open again");
  ok (hutch_store_leftovers (s) && hutch_store_leftovers (s)[0] == NULL, "no leftovers reported");
  hutch_store_close (s);
}

static void
test_filesystem (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  char *warning = (char *)"unset";
  _cleanup_free_ char *deep = hutch_xasprintf ("%s/not/yet/there", root);

  ok (hutch_store_check_filesystem (root, &warning, &err) == 0 && warning == NULL,
      "a local file system gives no warning");
  warning = (char *)"unset";
  ok (hutch_store_check_filesystem (deep, &warning, &err) == 0 && warning == NULL,
      "a path not created yet is judged by its parent");
  warning = hutch_store_filesystem_warning ("/home/alice/.local/share/hutch", 0x6969);
  has_str (warning, "on NFS", "NFS is named (%s)", warning ? warning : "");
  has_str (warning, "hutch --root", "the warning names --root");
  has_str (warning, "hutch.conf", "and the config file");
  free (warning);
  warning = hutch_store_filesystem_warning ("/x", 0x0BD00BD0);
  has_str (warning, "Lustre", "Lustre is recognised");
  free (warning);
  warning = hutch_store_filesystem_warning ("/x", 0x47504653);
  has_str (warning, "GPFS", "GPFS is recognised");
  free (warning);
  ok (hutch_store_filesystem_warning ("/x", 0xEF53) == NULL, "ext4 is not warned about");
  warning = hutch_store_filesystem_warning ("/dev/shm/hutch", 0x01021994);
  has_str (warning, "on a tmpfs", "tmpfs is named (%s)", warning ? warning : "");
  has_str (warning, "vanish when the machine restarts", "and what that means");
  has_str (warning, "hutch --root", "with the fix");
  free (warning);
  warning = hutch_store_filesystem_warning ("/x", (long)0x858458f6);
  has_str (warning, "ramfs", "ramfs is recognised");
  free (warning);
}

static void
write_text (const char *path, const char *text)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || hutch_write_all (fd, text, strlen (text)) < 0)
    abort ();
  close (fd);
}

static void
test_conf (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_conf conf;
  _cleanup_free_ char *user = hutch_xasprintf ("%s/user.conf", base);
  _cleanup_free_ char *sys = hutch_xasprintf ("%s/system.conf", base);
  _cleanup_free_ char *missing = hutch_xasprintf ("%s/missing.conf", base);
  const char *home = getenv ("HOME");
  char uid[32];

  snprintf (uid, sizeof uid, "/local/%u/hutch", (unsigned)geteuid ());
  write_text (user, "# my settings\n\n  storage_driver = fuse-overlayfs   # no kernel overlay\n");
  write_text (sys, "root = /local/$UID/hutch\nstorage_driver = vfs\n");
  {
    const char *paths[] = { missing, user, sys, NULL };
    ok (hutch_conf_load_files (paths, &conf, &err) == 0, "two files, one missing (%s)",
        emsg (&err));
    is_str (conf.storage_driver, "fuse-overlayfs", "the user's file wins");
    has_str (conf.storage_driver_origin, "user.conf:3", "origin names file and line");
    is_str (conf.root, uid, "the system file fills the rest; $UID expanded");
    hutch_conf_clear (&conf);
  }

  memset (&conf, 0, sizeof conf);
  ok (hutch_conf_parse ("root = \"/data/with # hash\"  # comment\r\n", "q.conf", &conf, &err) == 0,
      "quoted value");
  is_str (conf.root, "/data/with # hash", "keeps its #");
  hutch_conf_clear (&conf);
  ok (hutch_conf_parse ("root=/a#b\n", "q.conf", &conf, &err) == 0, "no blanks around =");
  is_str (conf.root, "/a#b", "a # inside a word is part of the value");
  hutch_conf_clear (&conf);
  if (home && *home == '/')
    {
      _cleanup_free_ char *want = hutch_xasprintf ("%s/store", home);
      ok (hutch_conf_parse ("root = ~/store\n", "t.conf", &conf, &err) == 0, "~ expands");
      is_str (conf.root, want, "to $HOME");
      hutch_conf_clear (&conf);
    }

  static const struct
  {
    const char *text, *why;
  } bad[] = {
    { "rot = /scratch\n", "t.conf:1: unknown key `rot`" },
    { "# x\nroot = /a\nroot = /b\n", "t.conf:3: `root` is set twice" },
    { "storage_driver = btrfs\n", "unknown storage_driver `btrfs`" },
    { "root = relative/dir\n", "absolute path" },
    { "root = /x/$SHELL\n", "unknown variable `$SHELL`" },
    { "root =\n", "has no value" },
    { "just words\n", "expected `key = value`" },
    { "root = \"/unclosed\n", "no closing" },
    { "Root = /a\n", "expected `key = value`" },
    { "unqualified-search-registries = docker.io\n",
      "did you mean `unqualified_search_registries`" },
    { "mirrors = a.io\n", "did you mean `mirror.REGISTRY`" },
  };
  size_t i;
  for (i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      memset (&conf, 0, sizeof conf);
      ok (hutch_conf_parse (bad[i].text, "t.conf", &conf, &err) < 0, "bad config %zu refused", i);
      has_str (err.msg, bad[i].why, "error says `%s` (%s)", bad[i].why, emsg (&err));
      hutch_conf_clear (&conf);
      hutch_error_clear (&err);
    }
  write_text (sys, "storage_driver = overlay\nbogus = 1\n");
  {
    const char *paths[] = { user, sys, NULL };
    ok (hutch_conf_load_files (paths, &conf, &err) < 0, "an error in the second file counts");
    has_str (err.msg, "system.conf:2", "and names it (%s)", emsg (&err));
    hutch_error_clear (&err);
  }
}

static bool
strv_is (const char *const *v, const char *const *want)
{
  size_t i;
  for (i = 0; v && want[i]; i++)
    if (v[i] == NULL || strcmp (v[i], want[i]) != 0)
      return false;
  return v != NULL && v[i] == NULL;
}

static void
test_conf_registries (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_conf conf;
  _cleanup_free_ char *user = hutch_xasprintf ("%s/user-reg.conf", base);
  _cleanup_free_ char *sys = hutch_xasprintf ("%s/system-reg.conf", base);

  /* Defaults: nothing set.  */
  memset (&conf, 0, sizeof conf);
  ok (hutch_conf_parse ("# nothing\n", "d.conf", &conf, &err) == 0, "empty file");
  ok (conf.search_registries == NULL && conf.insecure_registries == NULL && conf.n_mirrors == 0,
      "no registry key set");
  {
    static const char *const want[] = { "docker.io", NULL };
    ok (strv_is (hutch_conf_search_registries (&conf), want), "search list defaults to docker.io");
    ok (strv_is (hutch_conf_search_registries (NULL), want), "also for a NULL conf");
  }
  ok (!hutch_conf_registry_insecure (&conf, "127.0.0.1:5000"), "no registry is insecure");
  ok (!hutch_conf_registry_insecure (NULL, "127.0.0.1:5000"), "also for a NULL conf");
  ok (hutch_conf_mirrors (&conf, "docker.io") == NULL, "no mirrors");
  ok (hutch_conf_mirrors (NULL, "docker.io") == NULL, "also for a NULL conf");
  hutch_conf_clear (&conf);

  /* Lists: blanks, commas, both, quotes, comments, order, repeats.  */
  ok (hutch_conf_parse ("unqualified_search_registries = quay.io docker.io\t"
                        "registry.example.com:5000\n"
                        "insecure_registries=127.0.0.1:5000,localhost:5000 , [::1]:5000,\n",
                        "l.conf", &conf, &err)
          == 0,
      "lists parse (%s)", emsg (&err));
  {
    static const char *const search[]
        = { "quay.io", "docker.io", "registry.example.com:5000", NULL };
    static const char *const insecure[]
        = { "127.0.0.1:5000", "localhost:5000", "[::1]:5000", NULL };
    ok (strv_is (hutch_conf_search_registries (&conf), search), "blank-separated, order kept");
    ok (strv_is ((const char *const *)conf.insecure_registries, insecure),
        "comma-separated, with and without blanks, trailing comma");
  }
  has_str (conf.search_registries_origin, "l.conf:1", "search list origin");
  has_str (conf.insecure_registries_origin, "l.conf:2", "insecure list origin");
  ok (hutch_conf_registry_insecure (&conf, "localhost:5000"), "localhost:5000 is insecure");
  ok (hutch_conf_registry_insecure (&conf, "LocalHost:5000"), "the host's case does not matter");
  ok (!hutch_conf_registry_insecure (&conf, "localhost:5001"), "another port is not");
  ok (!hutch_conf_registry_insecure (&conf, "localhost"), "nor the host without its port");
  ok (hutch_conf_registry_insecure (&conf, "127.0.0.1:5000/hub"),
      "a mirror endpoint with a path is looked up by its host");
  hutch_conf_clear (&conf);

  ok (hutch_conf_parse ("unqualified_search_registries = \"quay.io, docker.io\"  # two\n"
                        "insecure_registries = localhost:5000 localhost:5000 # repeat\n",
                        "q.conf", &conf, &err)
          == 0,
      "quoted list, comment, repeat (%s)", emsg (&err));
  {
    static const char *const search[] = { "quay.io", "docker.io", NULL };
    static const char *const insecure[] = { "localhost:5000", NULL };
    ok (strv_is (hutch_conf_search_registries (&conf), search), "quoted list split");
    ok (strv_is ((const char *const *)conf.insecure_registries, insecure), "a repeat is dropped");
  }
  hutch_conf_clear (&conf);

  /* docker.io's aliases.  */
  ok (hutch_conf_parse ("unqualified_search_registries = index.docker.io docker.io\n"
                        "mirror.index.docker.io = mirror.local:5000\n"
                        "insecure_registries = registry-1.docker.io\n",
                        "a.conf", &conf, &err)
          == 0,
      "docker.io aliases (%s)", emsg (&err));
  {
    static const char *const search[] = { "docker.io", NULL };
    static const char *const m[] = { "mirror.local:5000", NULL };
    ok (strv_is (hutch_conf_search_registries (&conf), search),
        "index.docker.io is docker.io, and then a repeat");
    ok (strv_is (hutch_conf_mirrors (&conf, "docker.io"), m),
        "mirror.index.docker.io is docker.io's");
    ok (strv_is (hutch_conf_mirrors (&conf, "index.docker.io"), m), "and found by its alias");
    ok (hutch_conf_registry_insecure (&conf, "docker.io"),
        "insecure registry-1.docker.io is docker.io");
  }
  hutch_conf_clear (&conf);

  /* Mirrors, per registry.  */
  ok (hutch_conf_parse ("mirror.docker.io = mirror.local:5000 127.0.0.1:5001/hub/\n"
                        "mirror.quay.io=\"quay-cache.example.com\"\n"
                        "mirror.[::1]:5000 = localhost:6000\n",
                        "m.conf", &conf, &err)
          == 0,
      "mirrors (%s)", emsg (&err));
  {
    static const char *const docker[] = { "mirror.local:5000", "127.0.0.1:5001/hub", NULL };
    static const char *const quay[] = { "quay-cache.example.com", NULL };
    static const char *const v6[] = { "localhost:6000", NULL };
    ok (conf.n_mirrors == 3, "three registries have mirrors");
    ok (strv_is (hutch_conf_mirrors (&conf, "docker.io"), docker),
        "docker.io's, in order, with a path, trailing / dropped");
    ok (strv_is (hutch_conf_mirrors (&conf, "quay.io"), quay), "quay.io's, quoted");
    ok (strv_is (hutch_conf_mirrors (&conf, "[::1]:5000"), v6), "an IPv6 registry's");
    ok (hutch_conf_mirrors (&conf, "ghcr.io") == NULL, "ghcr.io has none");
    has_str (conf.mirrors[1].origin, "m.conf:2", "mirror origin");
  }
  hutch_conf_clear (&conf);

  /* First file wins, per key and per mirrored registry; a later file is
     still checked.  */
  write_text (user, "unqualified_search_registries = quay.io\n"
                    "mirror.docker.io = user-mirror.local\n");
  write_text (sys, "unqualified_search_registries = docker.io\n"
                   "insecure_registries = localhost:5000\n"
                   "mirror.docker.io = sys-mirror.local\n"
                   "mirror.quay.io = sys-quay.local\n");
  {
    const char *paths[] = { user, sys, NULL };
    static const char *const search[] = { "quay.io", NULL };
    static const char *const dm[] = { "user-mirror.local", NULL };
    static const char *const qm[] = { "sys-quay.local", NULL };
    ok (hutch_conf_load_files (paths, &conf, &err) == 0, "two files (%s)", emsg (&err));
    ok (strv_is (hutch_conf_search_registries (&conf), search), "the user's search list wins");
    has_str (conf.search_registries_origin, "user-reg.conf:1", "and its origin is the user's");
    ok (hutch_conf_registry_insecure (&conf, "localhost:5000"), "the system file fills the rest");
    ok (strv_is (hutch_conf_mirrors (&conf, "docker.io"), dm), "the user's docker.io mirror wins");
    ok (strv_is (hutch_conf_mirrors (&conf, "quay.io"), qm), "quay.io's comes from the system");
    ok (conf.n_mirrors == 2, "one entry per registry");
    hutch_conf_clear (&conf);
  }
  write_text (sys, "insecure_registries = https://localhost:5000\n");
  {
    const char *paths[] = { user, sys, NULL };
    ok (hutch_conf_load_files (paths, &conf, &err) < 0, "a bad entry in the second file counts");
    has_str (err.msg, "system-reg.conf:1", "and names it (%s)", emsg (&err));
    hutch_error_clear (&err);
  }

  static const struct
  {
    const char *text, *why;
  } bad[] = {
    { "\n\ninsecure_registries = localhost:5000 https://x.io\n", "t.conf:3: `https://x.io`" },
    { "unqualified_search_registries = quay.io/org\n", "has a path" },
    { "unqualified_search_registries = myregistry\n", "t.conf:1: `myregistry`" },
    { "unqualified_search_registries = quay.io:http\n", "is not a registry" },
    { "unqualified_search_registries = -bad.io\n", "is not a registry" },
    { "unqualified_search_registries = quay.io@sha256\n", "tag or a digest" },
    { "unqualified_search_registries = [\"docker.io\"]\n", "not a TOML array" },
    { "unqualified_search_registries = , ,\n", "lists no registry" },
    { "unqualified_search_registries = \"\"\n", "has no value" },
    { "insecure_registries = a.io\n# x\ninsecure_registries = b.io\n",
      "t.conf:3: `insecure_registries` is set twice" },
    { "mirror.docker.io = a.io\nmirror.quay.io = b.io\nmirror.docker.io = c.io\n",
      "t.conf:3: the mirrors of docker.io are set twice" },
    { "mirror.docker.io = a.io\nmirror.index.docker.io = c.io\n",
      "t.conf:2: the mirrors of docker.io are set twice" },
    { "mirror.docker.io/library = a.io\n", "has a path" },
    { "mirror.noport = a.io\n", "`noport` in `mirror.noport` is not a registry" },
    { "mirror. = a.io\n", "is not a registry" },
    { "mirror.docker.io = a.io:5000/Hub\n", "is not a registry" },
    { "mirror.docker.io = a.io/hub:tag\n", "tag or a digest" },
    { "mirror.docker.io = http://a.io\n", "starts with a scheme" },
    { "mirror.docker.io =\n", "has no value" },
  };
  size_t i;
  for (i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      memset (&conf, 0, sizeof conf);
      ok (hutch_conf_parse (bad[i].text, "t.conf", &conf, &err) < 0,
          "bad registry config %zu refused", i);
      has_str (err.msg, bad[i].why, "error says `%s` (%s)", bad[i].why, emsg (&err));
      hutch_conf_clear (&conf);
      hutch_error_clear (&err);
    }
}

int
main (void)
{
  if (mkdtemp (base) == NULL)
    {
      printf ("1..0 # SKIP cannot create a temporary directory\n");
      return 77;
    }
  root = hutch_xasprintf ("%s/store", base);
  test_blobs ();
  test_concurrent_puts ();
  test_index ();
  test_concurrent_adds ();
  test_layers ();
  test_layer_replace ();
  test_leftovers ();
  test_filesystem ();
  test_conf ();
  test_conf_registries ();
  {
    int dfd = open ("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    hutch_error_t err = HUTCH_ERROR_INIT;
    hutch_walk_remove_tree (dfd, base + 5, &err);
    close (dfd);
  }
  free (root);
  return tap_done ();
}
