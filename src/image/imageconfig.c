/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "image/imageconfig.h"
#include "base/digest.h"
#include "base/util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* jansson provides json_decrefp.  */
#define _cleanup_json_ __attribute__ ((cleanup (json_decrefp)))

static json_t *
load_json (const char *what, const char *text, size_t len, hutch_error_t *err)
{
  json_error_t jerr;
  json_t *root = json_loadb (text, len, JSON_REJECT_DUPLICATES, &jerr);

  if (root == NULL)
    {
      hutch_error_set (err, 0, "%s is not valid JSON: line %d, column %d: %s", what, jerr.line,
                       jerr.column, jerr.text);
      return NULL;
    }
  if (!json_is_object (root))
    {
      json_decref (root);
      hutch_error_set (err, 0, "%s is not a JSON object", what);
      return NULL;
    }
  return root;
}

/* Fields are optional: absent and null both leave *RET NULL; a value of
   the wrong type is an error naming the field.  */
static int
get_string (const char *what, json_t *obj, const char *key, char **ret, hutch_error_t *err)
{
  json_t *v = obj ? json_object_get (obj, key) : NULL;
  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_string (v))
    return hutch_error_set (err, 0, "%s: `%s` must be a string", what, key);
  *ret = hutch_xstrdup (json_string_value (v));
  return 0;
}

static int
get_strv (const char *what, json_t *obj, const char *key, char ***ret, hutch_error_t *err)
{
  json_t *v = obj ? json_object_get (obj, key) : NULL, *e;
  _cleanup_strv_ char **list = NULL;
  size_t i;

  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_array (v))
    return hutch_error_set (err, 0, "%s: `%s` must be an array of strings", what, key);
  list = hutch_xmalloc0 (sizeof (char *));
  json_array_foreach (v, i, e)
  {
    if (!json_is_string (e))
      return hutch_error_set (err, 0, "%s: `%s` item %zu must be a string", what, key, i);
    hutch_strv_push (&list, hutch_xstrdup (json_string_value (e)));
  }
  *ret = HUTCH_STEAL_PTR (list);
  return 0;
}

/* ExposedPorts and Volumes are sets written as {"80/tcp": {}}.  */
static int
get_key_set (const char *what, json_t *obj, const char *key, char ***ret, hutch_error_t *err)
{
  json_t *v = obj ? json_object_get (obj, key) : NULL, *e;
  _cleanup_strv_ char **list = NULL;
  const char *k;

  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_object (v))
    return hutch_error_set (err, 0, "%s: `%s` must be an object", what, key);
  list = hutch_xmalloc0 (sizeof (char *));
  json_object_foreach (v, k, e) hutch_strv_push (&list, hutch_xstrdup (k));
  *ret = HUTCH_STEAL_PTR (list);
  return 0;
}

static int
get_labels (const char *what, json_t *obj, struct hutch_image_config *cfg, hutch_error_t *err)
{
  json_t *v = obj ? json_object_get (obj, "Labels") : NULL, *e;
  const char *k;

  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_object (v))
    return hutch_error_set (err, 0, "%s: `Labels` must be an object", what);
  cfg->labels = hutch_xmalloc0 ((json_object_size (v) + 1) * sizeof *cfg->labels);
  json_object_foreach (v, k, e)
  {
    if (!json_is_string (e))
      return hutch_error_set (err, 0, "%s: label `%s` must be a string", what, k);
    cfg->labels[cfg->n_labels].key = hutch_xstrdup (k);
    cfg->labels[cfg->n_labels].value = hutch_xstrdup (json_string_value (e));
    cfg->n_labels++;
  }
  return 0;
}

static int
parse_config_section (json_t *c, struct hutch_image_config *cfg, hutch_error_t *err)
{
  static const char what[] = "image config, section `config`";

  if (c == NULL || json_is_null (c))
    return 0;
  if (!json_is_object (c))
    return hutch_error_set (err, 0, "image config: `config` must be an object");
  if (get_strv (what, c, "Entrypoint", &cfg->entrypoint, err) < 0
      || get_strv (what, c, "Cmd", &cfg->cmd, err) < 0
      || get_strv (what, c, "Env", &cfg->env, err) < 0
      || get_string (what, c, "WorkingDir", &cfg->working_dir, err) < 0
      || get_string (what, c, "User", &cfg->user, err) < 0
      || get_string (what, c, "StopSignal", &cfg->stop_signal, err) < 0
      || get_key_set (what, c, "ExposedPorts", &cfg->exposed_ports, err) < 0
      || get_key_set (what, c, "Volumes", &cfg->volumes, err) < 0
      || get_labels (what, c, cfg, err) < 0)
    return -1;
  return 0;
}

static int
parse_rootfs (json_t *root, struct hutch_image_config *cfg, hutch_error_t *err)
{
  json_t *rootfs = json_object_get (root, "rootfs"), *type;
  size_t i;

  if (rootfs == NULL || !json_is_object (rootfs))
    return hutch_error_set (err, 0,
                            "image config has no `rootfs` object: this is not an image config, "
                            "or the image is damaged");
  type = json_object_get (rootfs, "type");
  if (!json_is_string (type) || strcmp (json_string_value (type), "layers") != 0)
    return hutch_error_set (err, 0, "image config: `rootfs.type` must be \"layers\"");
  if (get_strv ("image config, section `rootfs`", rootfs, "diff_ids", &cfg->diff_ids, err) < 0)
    return -1;
  if (cfg->diff_ids == NULL)
    return hutch_error_set (err, 0, "image config: `rootfs.diff_ids` is missing");
  for (i = 0; cfg->diff_ids[i]; i++)
    if (hutch_digest_parse (cfg->diff_ids[i], NULL, err) < 0)
      return hutch_error_prefix (err, "image config: rootfs.diff_ids[%zu]", i);
  return 0;
}

int
hutch_image_config_parse (const char *json, size_t len, struct hutch_image_config *ret,
                          hutch_error_t *err)
{
  static const char what[] = "image config";
  _cleanup_json_ json_t *root = load_json (what, json, len, err);
  struct hutch_image_config cfg;

  if (root == NULL)
    return -1;
  memset (&cfg, 0, sizeof cfg);
  if (get_string (what, root, "architecture", &cfg.architecture, err) < 0
      || get_string (what, root, "os", &cfg.os, err) < 0
      || get_string (what, root, "variant", &cfg.variant, err) < 0
      || get_string (what, root, "created", &cfg.created, err) < 0
      || get_string (what, root, "author", &cfg.author, err) < 0
      || parse_config_section (json_object_get (root, "config"), &cfg, err) < 0
      || parse_rootfs (root, &cfg, err) < 0)
    {
      hutch_image_config_clear (&cfg);
      return -1;
    }
  *ret = cfg;
  return 0;
}

void
hutch_image_config_clear (struct hutch_image_config *cfg)
{
  size_t i;
  free (cfg->architecture);
  free (cfg->os);
  free (cfg->variant);
  free (cfg->created);
  free (cfg->author);
  hutch_strv_free (cfg->entrypoint);
  hutch_strv_free (cfg->cmd);
  hutch_strv_free (cfg->env);
  hutch_strv_free (cfg->exposed_ports);
  hutch_strv_free (cfg->volumes);
  free (cfg->working_dir);
  free (cfg->user);
  free (cfg->stop_signal);
  for (i = 0; i < cfg->n_labels; i++)
    {
      free (cfg->labels[i].key);
      free (cfg->labels[i].value);
    }
  free (cfg->labels);
  hutch_strv_free (cfg->diff_ids);
  memset (cfg, 0, sizeof *cfg);
}

const char *
hutch_image_config_label (const struct hutch_image_config *cfg, const char *key)
{
  size_t i;
  for (i = 0; i < cfg->n_labels; i++)
    if (strcmp (cfg->labels[i].key, key) == 0)
      return cfg->labels[i].value;
  return NULL;
}

enum hutch_compression
hutch_layer_compression (const char *media_type)
{
  static const struct
  {
    const char *type;
    enum hutch_compression c;
  } types[] = {
    { HUTCH_MT_OCI_LAYER, HUTCH_COMPRESSION_NONE },
    { HUTCH_MT_OCI_LAYER_GZIP, HUTCH_COMPRESSION_GZIP },
    { HUTCH_MT_OCI_LAYER_ZSTD, HUTCH_COMPRESSION_ZSTD },
    /* Deprecated by the spec, still written by old tools.  */
    { "application/vnd.oci.image.layer.nondistributable.v1.tar", HUTCH_COMPRESSION_NONE },
    { "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", HUTCH_COMPRESSION_GZIP },
    { "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", HUTCH_COMPRESSION_ZSTD },
    { HUTCH_MT_DOCKER_LAYER_GZIP, HUTCH_COMPRESSION_GZIP },
    { "application/vnd.docker.image.rootfs.diff.tar", HUTCH_COMPRESSION_NONE },
    { "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", HUTCH_COMPRESSION_GZIP },
    { "application/vnd.docker.image.rootfs.diff.tar.zstd", HUTCH_COMPRESSION_ZSTD },
  };
  size_t i;
  for (i = 0; media_type && i < sizeof types / sizeof *types; i++)
    if (strcmp (media_type, types[i].type) == 0)
      return types[i].c;
  return HUTCH_COMPRESSION_UNKNOWN;
}

void
hutch_descriptor_clear (struct hutch_descriptor *d)
{
  free (d->media_type);
  free (d->digest);
  free (d->os);
  free (d->architecture);
  free (d->variant);
  free (d->ref_name);
  memset (d, 0, sizeof *d);
}

void
hutch_manifest_clear (struct hutch_manifest *m)
{
  size_t i;
  free (m->media_type);
  hutch_descriptor_clear (&m->config);
  for (i = 0; i < m->n_layers; i++)
    hutch_descriptor_clear (&m->layers[i]);
  free (m->layers);
  for (i = 0; i < m->n_manifests; i++)
    hutch_descriptor_clear (&m->manifests[i]);
  free (m->manifests);
  memset (m, 0, sizeof *m);
}

static int
parse_descriptor (const char *what, json_t *v, struct hutch_descriptor *d, hutch_error_t *err)
{
  json_t *size, *platform, *annotations;

  memset (d, 0, sizeof *d);
  if (!json_is_object (v))
    return hutch_error_set (err, 0, "%s is not a JSON object", what);
  if (get_string (what, v, "mediaType", &d->media_type, err) < 0
      || get_string (what, v, "digest", &d->digest, err) < 0)
    return -1;
  if (d->media_type == NULL)
    return hutch_error_set (err, 0, "%s has no `mediaType`", what);
  if (d->digest == NULL)
    return hutch_error_set (err, 0, "%s has no `digest`", what);
  if (hutch_digest_parse (d->digest, NULL, err) < 0)
    return hutch_error_prefix (err, "%s", what);
  size = json_object_get (v, "size");
  if (!json_is_integer (size) || json_integer_value (size) < 0)
    return hutch_error_set (err, 0, "%s: `size` must be a non-negative integer", what);
  d->size = (int64_t)json_integer_value (size);

  platform = json_object_get (v, "platform");
  if (platform && !json_is_null (platform))
    {
      if (!json_is_object (platform))
        return hutch_error_set (err, 0, "%s: `platform` must be an object", what);
      if (get_string (what, platform, "os", &d->os, err) < 0
          || get_string (what, platform, "architecture", &d->architecture, err) < 0
          || get_string (what, platform, "variant", &d->variant, err) < 0)
        return -1;
    }
  annotations = json_object_get (v, "annotations");
  if (json_is_object (annotations)
      && get_string (what, annotations, "org.opencontainers.image.ref.name", &d->ref_name, err) < 0)
    return -1;
  return 0;
}

static int
parse_descriptor_array (json_t *root, const char *key, struct hutch_descriptor **ret, size_t *ret_n,
                        hutch_error_t *err)
{
  json_t *arr = json_object_get (root, key), *e;
  size_t i;

  if (!json_is_array (arr))
    return hutch_error_set (err, 0, "manifest: `%s` must be an array", key);
  *ret = hutch_xmalloc0 ((json_array_size (arr) + 1) * sizeof **ret);
  json_array_foreach (arr, i, e)
  {
    char what[64];
    snprintf (what, sizeof what, "manifest: %s[%zu]", key, i);
    *ret_n = i + 1;
    if (parse_descriptor (what, e, &(*ret)[i], err) < 0)
      return -1;
  }
  return 0;
}

static bool
is_config_type (const char *t)
{
  return strcmp (t, HUTCH_MT_OCI_CONFIG) == 0 || strcmp (t, HUTCH_MT_DOCKER_CONFIG) == 0;
}

static int
parse_image_manifest (json_t *root, struct hutch_manifest *m, hutch_error_t *err)
{
  size_t i;

  m->kind = HUTCH_MANIFEST_IMAGE;
  if (json_object_get (root, "config") == NULL)
    return hutch_error_set (err, 0, "manifest has no `config` descriptor");
  if (parse_descriptor ("manifest: config", json_object_get (root, "config"), &m->config, err) < 0)
    return -1;
  if (!is_config_type (m->config.media_type))
    return hutch_error_set (err, 0,
                            "manifest describes an artifact of type `%s`, not a container image "
                            "(its config is not an image config)",
                            m->config.media_type);
  if (parse_descriptor_array (root, "layers", &m->layers, &m->n_layers, err) < 0)
    return -1;
  for (i = 0; i < m->n_layers; i++)
    if (hutch_layer_compression (m->layers[i].media_type) == HUTCH_COMPRESSION_UNKNOWN)
      return hutch_error_set (err, 0,
                              "manifest: layer %zu has media type `%s`, which is not an image "
                              "layer hutch can unpack (tar, tar+gzip or tar+zstd)",
                              i, m->layers[i].media_type);
  return 0;
}

/* A registry's Content-Type may carry parameters, and generic types say
   nothing about the document.  */
static char *
transport_type (const char *media_type)
{
  size_t n;
  if (media_type == NULL)
    return NULL;
  n = strcspn (media_type, "; \t");
  if (n == 0 || strncmp (media_type, "application/json", n) == 0
      || strncmp (media_type, "text/plain", n) == 0
      || strncmp (media_type, "application/octet-stream", n) == 0)
    return NULL;
  return hutch_xstrndup (media_type, n);
}

int
hutch_manifest_parse (const char *json, size_t len, const char *media_type,
                      struct hutch_manifest *ret, hutch_error_t *err)
{
  _cleanup_json_ json_t *root = load_json ("manifest", json, len, err);
  _cleanup_free_ char *given = transport_type (media_type), *doc = NULL;
  struct hutch_manifest m;
  json_t *sv;
  const char *mt;
  int r;

  if (root == NULL)
    return -1;
  memset (&m, 0, sizeof m);
  if (get_string ("manifest", root, "mediaType", &doc, err) < 0)
    return -1;
  sv = json_object_get (root, "schemaVersion");
  if ((json_is_integer (sv) && json_integer_value (sv) == 1)
      || (doc && hutch_str_has_prefix (doc, "application/vnd.docker.distribution.manifest.v1"))
      || (given && hutch_str_has_prefix (given, "application/vnd.docker.distribution.manifest.v1")))
    return hutch_error_set (err, 0,
                            "the image has a Docker schema 1 manifest, which registries and "
                            "docker stopped supporting in 2019; push it again with a current "
                            "docker or skopeo to get a schema 2 or OCI manifest");
  if (!json_is_integer (sv) || json_integer_value (sv) != 2)
    return hutch_error_set (err, 0, "manifest: `schemaVersion` must be 2");

  /* The image spec added mediaType to the document so that one cannot be
     passed off as another: a disagreement is refused.  */
  if (given && doc && strcmp (given, doc) != 0)
    return hutch_error_set (err, 0,
                            "manifest says it is `%s` but was served as `%s`; the registry or "
                            "the archive is inconsistent",
                            doc, given);
  mt = doc ? doc : given;
  if (mt == NULL)
    {
      bool has_manifests = json_object_get (root, "manifests") != NULL;
      bool has_config = json_object_get (root, "config") != NULL;
      if (has_manifests == has_config)
        return hutch_error_set (err, 0,
                                "manifest has no `mediaType` and is neither an image manifest "
                                "nor an index");
      mt = has_manifests ? HUTCH_MT_OCI_INDEX : HUTCH_MT_OCI_MANIFEST;
    }
  m.media_type = hutch_xstrdup (mt);
  if (strcmp (mt, HUTCH_MT_OCI_MANIFEST) == 0 || strcmp (mt, HUTCH_MT_DOCKER_MANIFEST) == 0)
    r = parse_image_manifest (root, &m, err);
  else if (strcmp (mt, HUTCH_MT_OCI_INDEX) == 0 || strcmp (mt, HUTCH_MT_DOCKER_LIST) == 0)
    {
      m.kind = HUTCH_MANIFEST_INDEX;
      r = parse_descriptor_array (root, "manifests", &m.manifests, &m.n_manifests, err);
    }
  else
    r = hutch_error_set (err, 0,
                         "unsupported manifest media type `%s`: hutch reads OCI image manifests "
                         "and indexes and Docker schema 2 manifests and lists",
                         mt);
  if (r < 0)
    {
      hutch_manifest_clear (&m);
      return r;
    }
  *ret = m;
  return 0;
}

static bool
is_image_manifest_type (const char *t)
{
  return strcmp (t, HUTCH_MT_OCI_MANIFEST) == 0 || strcmp (t, HUTCH_MT_DOCKER_MANIFEST) == 0;
}

int
hutch_manifest_select (const struct hutch_manifest *m, const char *os, const char *architecture,
                       const char *variant, const struct hutch_descriptor **ret, hutch_error_t *err)
{
  const struct hutch_descriptor *best = NULL;
  int best_score = 0;
  _cleanup_free_ char *offered = hutch_xstrdup ("");
  size_t i;

  if (m->kind != HUTCH_MANIFEST_INDEX)
    return hutch_error_set (err, 0, "not an index: there is no platform to choose");
  for (i = 0; i < m->n_manifests; i++)
    {
      const struct hutch_descriptor *d = &m->manifests[i];
      int score;

      if (!is_image_manifest_type (d->media_type))
        continue;
      if (d->os && d->architecture)
        {
          char *next = hutch_xasprintf ("%s%s%s/%s%s%s", offered, *offered ? ", " : "", d->os,
                                        d->architecture, d->variant ? "/" : "",
                                        d->variant ? d->variant : "");
          free (offered);
          offered = next;
        }
      /* An exact platform beats one without a variant, which beats an
         entry with no platform at all (an OCI layout's index.json often
         has none).  */
      if (d->os == NULL && d->architecture == NULL)
        score = 1;
      else if (d->os && d->architecture && strcmp (d->os, os) == 0
               && strcmp (d->architecture, architecture) == 0)
        {
          if (variant == NULL || d->variant == NULL)
            score = (variant == NULL && d->variant == NULL) ? 3 : 2;
          else
            score = strcmp (d->variant, variant) == 0 ? 3 : 0;
        }
      else
        score = 0;
      if (score > best_score)
        {
          best = d;
          best_score = score;
        }
    }
  if (best == NULL)
    return hutch_error_set (err, 0,
                            "no image for %s/%s%s%s in this multi-platform image (it offers: "
                            "%s); choose one of those with --platform, or another image",
                            os, architecture, variant ? "/" : "", variant ? variant : "",
                            *offered ? offered : "nothing runnable");
  *ret = best;
  return 0;
}

void
hutch_host_platform (const char **ret_os, const char **ret_architecture, const char **ret_variant)
{
  /* The platform this binary runs as, as Go's GOARCH names it.  */
  *ret_os = "linux";
  *ret_variant = NULL;
#if defined(__x86_64__)
  *ret_architecture = "amd64";
#elif defined(__aarch64__)
  *ret_architecture = "arm64";
#elif defined(__arm__)
  *ret_architecture = "arm";
#if defined(__ARM_ARCH) && __ARM_ARCH >= 7
  *ret_variant = "v7";
#else
  *ret_variant = "v6";
#endif
#elif defined(__i386__)
  *ret_architecture = "386";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  *ret_architecture = "ppc64le";
#elif defined(__s390x__)
  *ret_architecture = "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
  *ret_architecture = "riscv64";
#elif defined(__loongarch64)
  *ret_architecture = "loong64";
#elif defined(__mips64)
  *ret_architecture = "mips64le";
#else
  *ret_architecture = "unknown";
#endif
}

char *
hutch_platform_format (const char *os, const char *architecture, const char *variant)
{
  return hutch_xasprintf ("%s/%s%s%s", os ? os : "?", architecture ? architecture : "?",
                          variant ? "/" : "", variant ? variant : "");
}

/* ARCH as Go's GOARCH names it: configs written by other tools than
   docker and buildah sometimes carry uname's or a distribution's name.  */
static const char *
go_arch (const char *arch)
{
  static const struct
  {
    const char *alias, *name;
  } table[] = {
    { "x86_64", "amd64" }, { "x86-64", "amd64" }, { "aarch64", "arm64" },
    { "i386", "386" },     { "i486", "386" },     { "i586", "386" },
    { "i686", "386" },     { "armhf", "arm" },    { "armel", "arm" },
  };
  size_t i;

  for (i = 0; i < sizeof table / sizeof table[0]; i++)
    if (strcmp (arch, table[i].alias) == 0)
      return table[i].name;
  return arch;
}

bool
hutch_platform_matches (const char *os, const char *architecture, const char *variant,
                        const char *want_os, const char *want_architecture,
                        const char *want_variant)
{
  if (os && *os && want_os && strcmp (os, want_os) != 0)
    return false;
  if (architecture && *architecture && want_architecture
      && strcmp (go_arch (architecture), go_arch (want_architecture)) != 0)
    return false;
  if (variant && *variant && want_variant && strcmp (variant, want_variant) != 0)
    return false;
  return true;
}
