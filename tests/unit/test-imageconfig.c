/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "image/imageconfig.h"
#include "tap.h"
#include "base/util.h"

#include <stdlib.h>

#define D1 "sha256:d4fc045c9e3a848011de66f34b81f052d4f2c15a17bb196d637e526349601820"
#define D2 "sha256:05455a08881ea9cf0e752bc48e61bbd71a34c029bb13df01e40e3e70e0d007bd"
#define D3 "sha256:4abcf20661432fb2d719aaf90656f55c287f8ca915dc1c92ec14ff61e67fbaf8"
#define D4 "sha256:6457d53fb065d6f250e1504b9bc42d5b6c65941d57532c072d929dd0628977d0"

/* What `skopeo inspect --config docker://alpine:3.19` prints.  */
static const char alpine_config[]
    = "{\n"
      "    \"architecture\": \"amd64\",\n"
      "    \"config\": {\n"
      "        \"Env\": [\n"
      "            \"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"\n"
      "        ],\n"
      "        \"Cmd\": [\n"
      "            \"/bin/sh\"\n"
      "        ]\n"
      "    },\n"
      "    \"created\": \"2024-01-27T00:30:48.743965523Z\",\n"
      "    \"history\": [\n"
      "        {\n"
      "            \"created\": \"2024-01-27T00:30:48.624602109Z\",\n"
      "            \"created_by\": \"/bin/sh -c #(nop) ADD "
      "file:37a76ec18f9887751cd8473744917d08b7431fc4085097bb6a09d81b41775473 in / \"\n"
      "        },\n"
      "        {\n"
      "            \"created\": \"2024-01-27T00:30:48.743965523Z\",\n"
      "            \"created_by\": \"/bin/sh -c #(nop)  CMD [\\\"/bin/sh\\\"]\",\n"
      "            \"empty_layer\": true\n"
      "        }\n"
      "    ],\n"
      "    \"os\": \"linux\",\n"
      "    \"rootfs\": {\n"
      "        \"type\": \"layers\",\n"
      "        \"diff_ids\": [\n"
      "            \"" D1 "\"\n"
      "        ]\n"
      "    }\n"
      "}\n";

/* A docker-built server image: the legacy fields docker still writes
   (container_config, docker_version), entrypoint, ports, volumes, labels.  */
static const char nginx_config[]
    = "{\"architecture\":\"arm64\",\"variant\":\"v8\",\"os\":\"linux\","
      "\"author\":\"NGINX Docker Maintainers <docker-maint@nginx.com>\","
      "\"config\":{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"101:101\","
      "\"AttachStdin\":false,\"ExposedPorts\":{\"80/tcp\":{},\"443/tcp\":{}},\"Tty\":false,"
      "\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\","
      "\"NGINX_VERSION=1.25.3\",\"NJS_VERSION=0.8.2\",\"PKG_RELEASE=1~bookworm\"],"
      "\"Cmd\":[\"nginx\",\"-g\",\"daemon off;\"],\"Image\":\"sha256:"
      "9d7f5d4a2a8d7c7b7e4b1bfa8a3f1d2c2c0a4a0cf5b3c0b3a5bd6f3bfbbb0e2a\","
      "\"Volumes\":{\"/var/cache/nginx\":{}},\"WorkingDir\":\"/usr/share/nginx/html\","
      "\"Entrypoint\":[\"/docker-entrypoint.sh\"],\"OnBuild\":null,"
      "\"Labels\":{\"maintainer\":\"NGINX Docker Maintainers <docker-maint@nginx.com>\","
      "\"org.opencontainers.image.version\":\"1.25.3\"},\"StopSignal\":\"SIGQUIT\"},"
      "\"container_config\":{\"Cmd\":[\"/bin/sh\",\"-c\",\"#(nop) \",\"STOPSIGNAL SIGQUIT\"]},"
      "\"created\":\"2023-12-19T14:26:35.112069064Z\",\"docker_version\":\"20.10.23\","
      "\"history\":[],\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\",\"" D2 "\"]}}";

/* Docker Hub's manifest list for alpine (trimmed to four platforms).  */
static const char alpine_list[]
    = "{\n"
      "   \"manifests\": [\n"
      "      {\n"
      "         \"digest\": \"" D1 "\",\n"
      "         \"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\",\n"
      "         \"platform\": {\n"
      "            \"architecture\": \"amd64\",\n"
      "            \"os\": \"linux\"\n"
      "         },\n"
      "         \"size\": 528\n"
      "      },\n"
      "      {\n"
      "         \"digest\": \"" D2 "\",\n"
      "         \"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\",\n"
      "         \"platform\": {\n"
      "            \"architecture\": \"arm\",\n"
      "            \"os\": \"linux\",\n"
      "            \"variant\": \"v6\"\n"
      "         },\n"
      "         \"size\": 528\n"
      "      },\n"
      "      {\n"
      "         \"digest\": \"" D3 "\",\n"
      "         \"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\",\n"
      "         \"platform\": {\n"
      "            \"architecture\": \"arm\",\n"
      "            \"os\": \"linux\",\n"
      "            \"variant\": \"v7\"\n"
      "         },\n"
      "         \"size\": 528\n"
      "      },\n"
      "      {\n"
      "         \"digest\": \"" D4 "\",\n"
      "         \"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\",\n"
      "         \"platform\": {\n"
      "            \"architecture\": \"arm64\",\n"
      "            \"os\": \"linux\",\n"
      "            \"variant\": \"v8\"\n"
      "         },\n"
      "         \"size\": 528\n"
      "      }\n"
      "   ],\n"
      "   \"mediaType\": \"application/vnd.docker.distribution.manifest.list.v2+json\",\n"
      "   \"schemaVersion\": 2\n"
      "}";

static const char docker_manifest[]
    = "{\n"
      "   \"schemaVersion\": 2,\n"
      "   \"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\",\n"
      "   \"config\": {\n"
      "      \"mediaType\": \"application/vnd.docker.container.image.v1+json\",\n"
      "      \"size\": 1471,\n"
      "      \"digest\": \"" D2 "\"\n"
      "   },\n"
      "   \"layers\": [\n"
      "      {\n"
      "         \"mediaType\": \"application/vnd.docker.image.rootfs.diff.tar.gzip\",\n"
      "         \"size\": 3408729,\n"
      "         \"digest\": \"" D3 "\"\n"
      "      }\n"
      "   ]\n"
      "}";

/* buildx output: an OCI index with an attestation manifest, and an OCI
   manifest with zstd and plain layers.  */
static const char buildx_index[]
    = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
      "\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
      "\"digest\":\"" D1 "\",\"size\":1035,\"platform\":{\"architecture\":\"amd64\","
      "\"os\":\"linux\"}},{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
      "\"digest\":\"" D2 "\",\"size\":566,\"annotations\":{\"vnd.docker.reference.digest\":\"" D1
      "\",\"vnd.docker.reference.type\":\"attestation-manifest\"},"
      "\"platform\":{\"architecture\":\"unknown\",\"os\":\"unknown\"}}]}";

static const char oci_manifest[]
    = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
      "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D1
      "\",\"size\":7023},\"layers\":[{\"mediaType\":\"application/"
      "vnd.oci.image.layer.v1.tar+zstd\","
      "\"digest\":\"" D2 "\",\"size\":32654},{\"mediaType\":"
      "\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"" D3 "\",\"size\":16724}],"
      "\"annotations\":{\"org.opencontainers.image.created\":\"2024-01-01T00:00:00Z\"}}";

/* An OCI layout's index.json as skopeo writes it: no mediaType in older
   versions, no platform, a ref.name annotation.  */
static const char layout_index[]
    = "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
      "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D4 "\",\"size\":406,"
      "\"annotations\":{\"org.opencontainers.image.ref.name\":\"3.19\"}}]}";

static void
test_configs (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_image_config c;

  ok (hutch_image_config_parse (alpine_config, strlen (alpine_config), &c, &err) == 0,
      "alpine config parses (%s)", err.msg ? err.msg : "");
  is_str (c.architecture, "amd64", "architecture");
  is_str (c.os, "linux", "os");
  is_str (c.created, "2024-01-27T00:30:48.743965523Z", "created");
  ok (c.entrypoint == NULL, "no entrypoint");
  ok (hutch_strv_len (c.cmd) == 1, "one Cmd word");
  is_str (c.cmd[0], "/bin/sh", "Cmd");
  ok (hutch_strv_len (c.env) == 1 && hutch_str_has_prefix (c.env[0], "PATH="), "Env");
  ok (c.working_dir == NULL && c.user == NULL && c.n_labels == 0, "no workdir, user, labels");
  ok (hutch_strv_len (c.diff_ids) == 1, "one layer");
  is_str (c.diff_ids[0], D1, "diff_id");
  hutch_image_config_clear (&c);

  ok (hutch_image_config_parse (nginx_config, strlen (nginx_config), &c, &err) == 0,
      "nginx config parses (%s)", err.msg ? err.msg : "");
  is_str (c.variant, "v8", "variant");
  is_str (c.entrypoint[0], "/docker-entrypoint.sh", "Entrypoint");
  ok (hutch_strv_len (c.cmd) == 3, "Cmd has three words");
  is_str (c.cmd[2], "daemon off;", "Cmd word with a space");
  is_str (c.user, "101:101", "User");
  is_str (c.working_dir, "/usr/share/nginx/html", "WorkingDir");
  is_str (c.stop_signal, "SIGQUIT", "StopSignal");
  ok (hutch_strv_len (c.exposed_ports) == 2, "two exposed ports");
  ok (hutch_strv_len (c.volumes) == 1, "a volume");
  ok (c.n_labels == 2, "two labels");
  is_str (hutch_image_config_label (&c, "org.opencontainers.image.version"), "1.25.3", "label");
  ok (hutch_image_config_label (&c, "nope") == NULL, "missing label");
  ok (hutch_strv_len (c.diff_ids) == 2, "two layers");
  ok (hutch_strv_len (c.env) == 4, "four variables");
  hutch_image_config_clear (&c);

  {
    static const char empty_ep[] = "{\"config\":{\"Entrypoint\":[],\"Cmd\":null},"
                                   "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
    ok (hutch_image_config_parse (empty_ep, strlen (empty_ep), &c, &err) == 0,
        "minimal config parses");
    ok (c.entrypoint != NULL && c.entrypoint[0] == NULL, "Entrypoint [] is an empty vector");
    ok (c.cmd == NULL, "Cmd null is NULL");
    ok (c.architecture == NULL, "absent architecture is NULL");
    hutch_image_config_clear (&c);
  }

  static const struct
  {
    const char *json, *why;
  } bad[] = {
    { "{\"config\": {\"Cmd\": [\"a\",]}}", "line 1, column" },
    { "{\n  \"os\": \"linux\",\n  \"config\": {\n    \"Cmd\": [\"sh\"\n  }\n}", "line 5" },
    { "[1, 2]", "not a JSON object" },
    { "", "not valid JSON" },
    { "{\"os\":\"linux\"}", "no `rootfs`" },
    { "{\"rootfs\":{\"type\":\"layers\"}}", "diff_ids` is missing" },
    { "{\"rootfs\":{\"type\":\"zfs\",\"diff_ids\":[]}}", "must be \"layers\"" },
    { "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:abc\"]}}", "diff_ids[0]" },
    { "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha512:abc\"]}}", "sha512" },
    { "{\"config\":{\"Cmd\":\"sh -c x\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
      "`Cmd` must be an array" },
    { "{\"config\":{\"Env\":[1]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
      "`Env` item 0" },
    { "{\"config\":{\"User\":0},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
      "`User` must be a string" },
    { "{\"config\":{\"Labels\":{\"a\":1}},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
      "label `a`" },
    { "{\"os\":\"linux\",\"os\":\"windows\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
      "duplicate" },
  };
  size_t i;
  for (i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      ok (hutch_image_config_parse (bad[i].json, strlen (bad[i].json), &c, &err) < 0,
          "bad config %zu refused", i);
      has_str (err.msg, bad[i].why, "error says `%s` (%s)", bad[i].why, err.msg ? err.msg : "");
      hutch_error_clear (&err);
    }
}

static void
test_manifests (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_manifest m;
  const struct hutch_descriptor *d = NULL;
  const char *os, *arch, *variant;

  ok (hutch_manifest_parse (alpine_list, strlen (alpine_list), NULL, &m, &err) == 0,
      "docker manifest list parses (%s)", err.msg ? err.msg : "");
  ok (m.kind == HUTCH_MANIFEST_INDEX && m.n_manifests == 4, "an index of four");
  is_str (m.media_type, HUTCH_MT_DOCKER_LIST, "media type");
  is_str (m.manifests[2].variant, "v7", "variant");
  ok (m.manifests[0].size == 528, "size");
  ok (hutch_manifest_select (&m, "linux", "amd64", NULL, &d, &err) == 0 && d == &m.manifests[0],
      "select amd64");
  ok (hutch_manifest_select (&m, "linux", "arm", "v7", &d, &err) == 0 && d == &m.manifests[2],
      "select arm/v7, not v6");
  ok (hutch_manifest_select (&m, "linux", "arm64", NULL, &d, &err) == 0 && d == &m.manifests[3],
      "select arm64 without a variant");
  ok (hutch_manifest_select (&m, "linux", "s390x", NULL, &d, &err) < 0, "no s390x");
  has_str (err.msg, "linux/arm/v6", "error lists what the index offers (%s)", err.msg);
  hutch_error_clear (&err);
  hutch_host_platform (&os, &arch, &variant);
  is_str (os, "linux", "host os");
  ok (arch != NULL && strcmp (arch, "unknown") != 0, "host architecture %s", arch);
  hutch_manifest_clear (&m);

  ok (hutch_manifest_parse (docker_manifest, strlen (docker_manifest),
                            "application/vnd.docker.distribution.manifest.v2+json; charset=utf-8",
                            &m, &err)
          == 0,
      "docker schema 2 manifest parses with a Content-Type (%s)", err.msg ? err.msg : "");
  ok (m.kind == HUTCH_MANIFEST_IMAGE, "an image manifest");
  is_str (m.config.digest, D2, "config digest");
  ok (m.config.size == 1471, "config size");
  ok (m.n_layers == 1 && m.layers[0].size == 3408729, "one layer with its size");
  ok (hutch_layer_compression (m.layers[0].media_type) == HUTCH_COMPRESSION_GZIP, "gzip");
  ok (hutch_manifest_select (&m, "linux", "amd64", NULL, &d, &err) < 0, "select needs an index");
  hutch_error_clear (&err);
  hutch_manifest_clear (&m);

  ok (hutch_manifest_parse (buildx_index, strlen (buildx_index), HUTCH_MT_OCI_INDEX, &m, &err) == 0,
      "buildx index parses");
  ok (m.n_manifests == 2, "two entries");
  ok (hutch_manifest_select (&m, "linux", "amd64", NULL, &d, &err) == 0 && d == &m.manifests[0],
      "the attestation is not chosen");
  hutch_manifest_clear (&m);

  ok (hutch_manifest_parse (oci_manifest, strlen (oci_manifest), "application/json", &m, &err) == 0,
      "OCI manifest parses; a generic Content-Type is ignored");
  is_str (m.media_type, HUTCH_MT_OCI_MANIFEST, "OCI media type");
  ok (m.n_layers == 2, "two layers");
  ok (hutch_layer_compression (m.layers[0].media_type) == HUTCH_COMPRESSION_ZSTD, "zstd");
  ok (hutch_layer_compression (m.layers[1].media_type) == HUTCH_COMPRESSION_NONE, "plain tar");
  hutch_manifest_clear (&m);

  ok (hutch_manifest_parse (layout_index, strlen (layout_index), NULL, &m, &err) == 0,
      "layout index without mediaType parses");
  ok (m.kind == HUTCH_MANIFEST_INDEX, "recognised as an index by its shape");
  is_str (m.manifests[0].ref_name, "3.19", "ref.name annotation");
  ok (hutch_manifest_select (&m, "linux", "amd64", NULL, &d, &err) == 0 && d == &m.manifests[0],
      "an entry without a platform is chosen when it is all there is");
  hutch_manifest_clear (&m);

  static const struct
  {
    const char *json, *type, *why;
  } bad[] = {
    { "{\"schemaVersion\":1,\"name\":\"library/alpine\",\"tag\":\"latest\",\"fsLayers\":[]}", NULL,
      "schema 1" },
    { docker_manifest, HUTCH_MT_OCI_MANIFEST, "served as" },
    { "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.artifact.manifest.v1+json\"}", NULL,
      "unsupported manifest media type" },
    { "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
      "\"config\":{\"mediaType\":\"application/vnd.cncf.helm.config.v1+json\",\"digest\":\"" D1
      "\",\"size\":1},\"layers\":[]}",
      NULL, "not a container image" },
    { "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
      "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D1
      "\",\"size\":1},\"layers\":[{\"mediaType\":\"application/vnd.cncf.helm.chart.content.v1."
      "tar+gzip\",\"digest\":\"" D2 "\",\"size\":5}]}",
      NULL, "layer 0 has media type" },
    { "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
      "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":"
      "\"sha512:abcd\",\"size\":1},\"layers\":[]}",
      NULL, "sha512" },
    { "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
      "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D1
      "\"},\"layers\":[]}",
      NULL, "`size`" },
    { "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
      "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D1
      "\",\"size\":-1},\"layers\":[]}",
      NULL, "non-negative" },
    { "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
      "\"layers\":[]}",
      NULL, "no `config`" },
    { "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
      "\"manifests\":{}}",
      NULL, "must be an array" },
    { "{\"schemaVersion\":3}", NULL, "must be 2" },
    { "{\"schemaVersion\":2}", NULL, "neither" },
    { "{\"schemaVersion\":2,\n\"manifests\":[\n{\"digest\": }]}", NULL, "line 3, column" },
  };
  size_t i;
  for (i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      ok (hutch_manifest_parse (bad[i].json, strlen (bad[i].json), bad[i].type, &m, &err) < 0,
          "bad manifest %zu refused", i);
      has_str (err.msg, bad[i].why, "error says `%s` (%s)", bad[i].why, err.msg ? err.msg : "");
      hutch_error_clear (&err);
    }
}

/* Whether a stored image is for the platform asked (hutch run), and how
   platforms are written in messages.  */
static void
test_platforms (void)
{
  char *f;

  ok (hutch_platform_matches ("linux", "amd64", NULL, "linux", "amd64", NULL), "the same");
  ok (!hutch_platform_matches ("linux", "arm64", NULL, "linux", "amd64", NULL), "another arch");
  ok (!hutch_platform_matches ("windows", "amd64", NULL, "linux", "amd64", NULL), "another os");
  ok (hutch_platform_matches ("linux", "x86_64", NULL, "linux", "amd64", NULL), "x86_64 is amd64");
  ok (hutch_platform_matches ("linux", "arm64", NULL, "linux", "aarch64", NULL),
      "aarch64 is arm64");
  ok (hutch_platform_matches ("linux", "i686", NULL, "linux", "386", NULL), "i686 is 386");
  ok (hutch_platform_matches (NULL, NULL, NULL, "linux", "amd64", NULL),
      "a config that says nothing matches");
  ok (hutch_platform_matches ("", "", "", "linux", "amd64", NULL), "nor does an empty one");
  ok (hutch_platform_matches ("linux", "arm64", "v8", "linux", "arm64", NULL),
      "a variant asked for by neither side");
  ok (hutch_platform_matches ("linux", "arm64", NULL, "linux", "arm64", "v8"),
      "a variant the config does not say");
  ok (!hutch_platform_matches ("linux", "arm", "v6", "linux", "arm", "v7"), "arm/v6 is not arm/v7");
  ok (hutch_platform_matches ("linux", "arm", "v7", "linux", "arm", "v7"), "arm/v7 is");
  f = hutch_platform_format ("linux", "arm", "v7");
  is_str (f, "linux/arm/v7", "format with a variant (%s)", f);
  free (f);
  f = hutch_platform_format (NULL, "arm64", NULL);
  is_str (f, "?/arm64", "format of what is not known (%s)", f);
  free (f);
}

int
main (void)
{
  test_configs ();
  test_manifests ();
  test_platforms ();
  return tap_done ();
}
