/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* hutch version: what this binary is, as podman version says it (the
   fields that are true of hutch: it has no API and no Go).  */

#include "hutch.h"
#include "image/imageconfig.h"
#include "runtime/spec.h"
#include "base/util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmd_version (int argc, char **argv);

static const struct cmd_opt version_opts[] = {
  { "format", 'f', required_argument, "FORMAT",
    "text (default) or json (podman's {\"Client\": {...}} shape)", "text json" },
  { 0 },
};

const struct cmd_def cmd_version_def = {
  .name = "version",
  .summary = "show hutch's version and what it was built for",
  .usage = "Usage: hutch version [OPTIONS]\n"
           "\n"
           "Show hutch's version, the OCI runtime specification version it implements,\n"
           "when it was built and the platform it was built for.\n",
  .opts = version_opts,
  .fn = cmd_version,
};

/* When this file was compiled, as Go's time.ANSIC ("Mon Jan  2 15:04:05
   2006"), which podman prints.  Makefile.am recompiles it whenever any
   other part of hutch is, so that it is the build's time; compilers take
   it from SOURCE_DATE_EPOCH (in UTC) for reproducible builds, else from
   the local clock, whose zone is unknown here: so no seconds since the
   epoch (podman's Built) are claimed.  */
static void
built_time (char buf[64])
{
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  const char *m = strstr (months, (char[]){ __DATE__[0], __DATE__[1], __DATE__[2], '\0' });
  struct tm tm;
  time_t t;

  memset (&tm, 0, sizeof tm);
  buf[0] = '\0';
  if (m == NULL || sscanf (__DATE__ + 3, "%d %d", &tm.tm_mday, &tm.tm_year) != 2
      || sscanf (__TIME__, "%d:%d:%d", &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 3)
    return;
  tm.tm_mon = (int)(m - months) / 3;
  tm.tm_year -= 1900;
  /* timegm only to learn the day of the week: the fields stay as given.  */
  t = timegm (&tm);
  if (t == (time_t)-1 || gmtime_r (&t, &tm) == NULL)
    return;
  strftime (buf, 64, "%a %b %e %H:%M:%S %Y", &tm);
}

static void
print_json (const char *built, const char *os, const char *arch, const char *variant)
{
  _cleanup_free_ char *osarch
      = hutch_xasprintf ("%s/%s%s%s", os, arch, variant ? "/" : "", variant ? variant : "");
  json_t *client = json_pack ("{s:s, s:s, s:s?, s:s, s:s}", "Version", PACKAGE_VERSION,
                              "OCIRuntimeSpecVersion", HUTCH_OCI_SPEC_VERSION, "BuiltTime",
                              *built ? built : NULL, "OsArch", osarch, "Os", os);
  json_t *obj = json_pack ("{s:o}", "Client", client);
  char *text = json_dumps (obj, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
  printf ("%s\n", text);
  free (text);
  json_decref (obj);
}

static int
cmd_version (int argc, char **argv)
{
  const char *os, *arch, *variant;
  char built[64];
  bool json = false;
  int c, ret = 0;

  optind = 1;
  while ((c = cmd_next_opt (&cmd_version_def, argc, argv, &ret)) != -1)
    {
      if (c == 1000)
        return ret;
      if (c == 'f')
        {
          json = strcmp (optarg, "json") == 0;
          if (!json && strcmp (optarg, "text") != 0)
            {
              fprintf (stderr, "hutch version: --format `%s`: expected text or json\n", optarg);
              return HUTCH_EXIT_ERROR;
            }
        }
    }
  if (optind < argc)
    {
      fprintf (stderr, "hutch version: unexpected argument `%s`; see `hutch version --help`\n",
               argv[optind]);
      return HUTCH_EXIT_ERROR;
    }
  built_time (built);
  hutch_host_platform (&os, &arch, &variant);
  if (json)
    {
      print_json (built, os, arch, variant);
      return 0;
    }
  printf ("Version:           %s\n", PACKAGE_VERSION);
  printf ("OCI Runtime Spec:  %s\n", HUTCH_OCI_SPEC_VERSION);
  if (*built)
    printf ("Built:             %s\n", built);
  printf ("OS/Arch:           %s/%s%s%s\n", os, arch, variant ? "/" : "", variant ? variant : "");
  return 0;
}
