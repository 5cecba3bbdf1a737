/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include "image/reference.h"
#include "tap.h"
#include "base/util.h"

#include <stdlib.h>

#define D "sha256:a8560b36e8b8210634f77d9f7f9efd7ffa463e380b75e2e74aff4511df3ef88c"

static const struct
{
  const char *in, *full, *familiar;
  bool short_name;
} good[] = {
  { "alpine", "docker.io/library/alpine:latest", "alpine:latest", true },
  { "alpine:3.19", "docker.io/library/alpine:3.19", "alpine:3.19", true },
  { "library/alpine", "docker.io/library/alpine:latest", "alpine:latest", true },
  { "docker.io/alpine", "docker.io/library/alpine:latest", "alpine:latest", false },
  { "docker.io/library/alpine:edge", "docker.io/library/alpine:edge", "alpine:edge", false },
  { "index.docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest",
    false },
  { "user/app:1", "docker.io/user/app:1", "user/app:1", true },
  { "bitnami/postgresql:16.1.0-debian-11-r20", "docker.io/bitnami/postgresql:16.1.0-debian-11-r20",
    "bitnami/postgresql:16.1.0-debian-11-r20", true },
  { "localhost/x", "localhost/x:latest", "localhost/x:latest", false },
  { "localhost:5000/x", "localhost:5000/x:latest", "localhost:5000/x:latest", false },
  { "127.0.0.1:5000/team/tool:v2", "127.0.0.1:5000/team/tool:v2", "127.0.0.1:5000/team/tool:v2",
    false },
  { "[::1]:5000/img", "[::1]:5000/img:latest", "[::1]:5000/img:latest", false },
  { "quay.io/a/b:t", "quay.io/a/b:t", "quay.io/a/b:t", false },
  { "ghcr.io/owner/repo/sub/deep:sha-1234abc", "ghcr.io/owner/repo/sub/deep:sha-1234abc",
    "ghcr.io/owner/repo/sub/deep:sha-1234abc", false },
  { "registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.9", false },
  { "mcr.microsoft.com/dotnet/sdk:8.0", "mcr.microsoft.com/dotnet/sdk:8.0",
    "mcr.microsoft.com/dotnet/sdk:8.0", false },
  { "nvcr.io/nvidia/pytorch:24.01-py3", "nvcr.io/nvidia/pytorch:24.01-py3",
    "nvcr.io/nvidia/pytorch:24.01-py3", false },
  { "public.ecr.aws/docker/library/redis:7", "public.ecr.aws/docker/library/redis:7",
    "public.ecr.aws/docker/library/redis:7", false },
  { "Registry.Example.COM/a:b", "Registry.Example.COM/a:b", "Registry.Example.COM/a:b", false },
  { "my-registry:8443/a.b/c_d/e__f/g--h:T_1.x-y", "my-registry:8443/a.b/c_d/e__f/g--h:T_1.x-y",
    "my-registry:8443/a.b/c_d/e__f/g--h:T_1.x-y", false },
  { "alpine@" D, "docker.io/library/alpine@" D, "alpine@" D, true },
  { "alpine:3.19@" D, "docker.io/library/alpine:3.19@" D, "alpine:3.19@" D, true },
  { "quay.io/a/b@" D, "quay.io/a/b@" D, "quay.io/a/b@" D, false },
  { "docker.io/library/x/y", "docker.io/library/x/y:latest", "library/x/y:latest", false },
  { "a", "docker.io/library/a:latest", "a:latest", true },
};

static const struct
{
  const char *in, *why;
} bad[] = {
  { "", "empty" },
  { "Alpine", "lower case" },
  { "user/App", "lower case" },
  { "alpine:", "empty tag" },
  { "alpine:.x", "must not start" },
  { "alpine:-x", "must not start" },
  { "alpine:a/b", "not a valid" },
  { "alpine@sha512:"
    "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec"
    "2f63b931bd47417a81a538327af927da3e",
    "unsupported digest algorithm `sha512`" },
  { "alpine@sha256:abc", "hex digits where" },
  { "alpine@sha256:A8560B36E8B8210634F77D9F7F9EFD7FFA463E380B75E2E74AFF4511DF3EF88C",
    "lower case" },
  { "@" D, "no repository" },
  { "quay.io/", "no repository" },
  { "quay.io//x", "not a valid" },
  { "-x", "not a valid" },
  { "x-", "not a valid" },
  { "a..b", "not a valid" },
  { "a___b", "not a valid" },
  { "a._b", "not a valid" },
  { "a b", "white space" },
  { "host:port/x", "not a valid registry" },
  { "-bad.io/x", "not a valid registry" },
  { "a8560b36e8b8210634f77d9f7f9efd7ffa463e380b75e2e74aff4511df3ef88c", "image id" },
  { "_w", "not a valid" },
};

int
main (void)
{
  hutch_error_t err = HUTCH_ERROR_INIT;
  struct hutch_reference ref;
  size_t i;
  char *s;

  for (i = 0; i < sizeof good / sizeof *good; i++)
    {
      ok (hutch_reference_parse (good[i].in, &ref, &err) == 0, "`%s` parses (%s)", good[i].in,
          err.msg ? err.msg : "");
      if (ref.registry == NULL)
        continue;
      s = hutch_reference_format (&ref);
      is_str (s, good[i].full, "`%s` is `%s` (got `%s`)", good[i].in, good[i].full, s);
      free (s);
      s = hutch_reference_familiar (&ref);
      is_str (s, good[i].familiar, "`%s` is shown as `%s` (got `%s`)", good[i].in, good[i].familiar,
              s);
      free (s);
      ok (ref.short_name == good[i].short_name, "`%s` is %sa short name", good[i].in,
          good[i].short_name ? "" : "not ");
      hutch_reference_clear (&ref);
      hutch_error_clear (&err);
    }

  for (i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      memset (&ref, 0, sizeof ref);
      ok (hutch_reference_parse (bad[i].in, &ref, &err) < 0 && ref.registry == NULL,
          "`%s` is refused", bad[i].in);
      has_str (err.msg, bad[i].why, "error for `%s` says `%s` (%s)", bad[i].in, bad[i].why,
               err.msg ? err.msg : "");
      hutch_error_clear (&err);
    }

  ok (hutch_reference_parse ("User/app", &ref, &err) == 0, "upper-case first component is a host");
  is_str (ref.registry, "User", "registry `User`, as docker reads it");
  hutch_reference_clear (&ref);

  ok (hutch_reference_parse ("Foo", &ref, &err) < 0, "upper case refused");
  has_str (err.msg, "try `foo`", "error suggests the lower-case name");
  hutch_error_clear (&err);

  ok (hutch_reference_parse ("alpine@" D, &ref, &err) == 0 && ref.tag == NULL,
      "a digest alone adds no tag");
  is_str (ref.digest, D, "digest kept");
  s = hutch_reference_name (&ref);
  is_str (s, "docker.io/library/alpine", "name without tag or digest");
  free (s);
  hutch_reference_clear (&ref);

  {
    char longname[300];
    memset (longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    ok (hutch_reference_parse (longname, &ref, &err) < 0, "a 299-character name is refused");
    has_str (err.msg, "longer than 255", "error says the limit");
    hutch_error_clear (&err);
  }
  {
    char longtag[200];
    snprintf (longtag, sizeof longtag, "a:%0129d", 0);
    ok (hutch_reference_parse (longtag, &ref, &err) < 0, "a 129-character tag is refused");
    hutch_error_clear (&err);
  }
  ok (hutch_reference_normalize ("busybox:1.36", &s, &err) == 0, "normalize");
  is_str (s, "docker.io/library/busybox:1.36", "normalized");
  free (s);
  return tap_done ();
}
