/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>
#include <openssl/evp.h>
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#ifdef HAVE_SD_BUS
#include <systemd/sd-bus.h>
#endif
#ifdef HAVE_ISAL
#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#endif

#include "base/lazylib.h"
#include "base/error.h"
#include "base/log.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Why a library could not be loaded: what was missing and dlerror's text.  */
struct load_failure
{
  const char *what;
  char why[512];
};

static void __attribute__ ((noreturn)) missing (const struct load_failure *f, const char *package)
{
  hutch_log (HUTCH_LOG_ERROR, "cannot load %s (%s); install the %s package", f->what, f->why,
             package);
  abort ();
}

/* Load the first of NAMES that exists and resolve COUNT symbols into SLOTS.
   Returns 0, or -1 with F filled (and nothing left loaded).  */
static int
try_load (const char *const *names, const char *const *syms, void **slots, size_t count,
          struct load_failure *f)
{
  const char *e;
  void *lib = NULL;
  size_t i;

  for (i = 0; names[i] && lib == NULL; i++)
    lib = dlopen (names[i], RTLD_NOW | RTLD_LOCAL);
  f->what = names[0];
  for (i = 0; lib != NULL && i < count; i++)
    {
      slots[i] = dlsym (lib, syms[i]);
      if (slots[i] == NULL)
        {
          f->what = syms[i];
          break;
        }
    }
  if (lib != NULL && i == count)
    return 0;
  e = dlerror ();
  snprintf (f->why, sizeof f->why, "%s", e ? e : "unknown error");
  if (lib != NULL)
    {
      memset (slots, 0, count * sizeof *slots);
      dlclose (lib);
    }
  return -1;
}

/* The same for the libraries that hutch cannot do without: a missing one
   aborts, as an allocation failure would, since hutch is not installed
   right.  */
static void
load (const char *const *names, const char *const *syms, void **slots, size_t count,
      const char *package)
{
  struct load_failure f;

  if (try_load (names, syms, slots, count, &f) < 0)
    missing (&f, package);
}

static const char *const archive_syms[] = {
  "archive_entry_atime",
  "archive_entry_atime_is_set",
  "archive_entry_atime_nsec",
  "archive_entry_filetype",
  "archive_entry_free",
  "archive_entry_gid",
  "archive_entry_hardlink",
  "archive_entry_mtime",
  "archive_entry_mtime_is_set",
  "archive_entry_mtime_nsec",
  "archive_entry_new",
  "archive_entry_pathname",
  "archive_entry_perm",
  "archive_entry_set_filetype",
  "archive_entry_set_gid",
  "archive_entry_set_hardlink",
  "archive_entry_set_symlink",
  "archive_entry_set_uid",
  "archive_entry_set_rdevmajor",
  "archive_entry_set_rdevminor",
  "archive_entry_set_mtime",
  "archive_entry_set_pathname",
  "archive_entry_set_perm",
  "archive_entry_set_size",
  "archive_entry_size",
  "archive_entry_size_is_set",
  "archive_entry_sparse_add_entry",
  "archive_entry_symlink",
  "archive_entry_uid",
  "archive_entry_xattr_add_entry",
  "archive_entry_xattr_count",
  "archive_entry_xattr_next",
  "archive_entry_xattr_reset",
  "archive_errno",
  "archive_error_string",
  "archive_filter_code",
  "archive_filter_name",
  "archive_read_data",
  "archive_read_data_block",
  "archive_read_free",
  "archive_read_new",
  "archive_read_next_header",
  "archive_read_open",
  "archive_read_open_fd",
  "archive_read_open_filename",
  "archive_read_support_filter_bzip2",
  "archive_read_support_filter_gzip",
  "archive_read_support_filter_xz",
  "archive_read_support_filter_zstd",
  "archive_read_support_format_empty",
  "archive_read_support_format_raw",
  "archive_read_support_format_tar",
  "archive_set_error",
  "archive_version_string",
  "archive_write_close",
  "archive_write_data",
  "archive_write_free",
  "archive_write_header",
  "archive_write_new",
  "archive_write_open_filename",
  "archive_write_set_format_pax_restricted",
  "archive_write_open_fd",
  "archive_write_open",
  "archive_write_set_bytes_per_block",
  "archive_write_set_format_option",
};
static struct hutch_libarchive la;
_Static_assert(sizeof la == sizeof archive_syms / sizeof archive_syms[0] * sizeof (void *),
               "one function pointer per symbol");
static pthread_once_t la_once = PTHREAD_ONCE_INIT;

static void
load_archive (void)
{
  static const char *const names[] = { "libarchive.so.13", "libarchive.so", NULL };
  /* The struct holds only function pointers, in the order of archive_syms.  */
  load (names, archive_syms, (void **)&la, sizeof archive_syms / sizeof archive_syms[0],
        "libarchive13");
}

const struct hutch_libarchive *
hutch_libarchive (void)
{
  pthread_once (&la_once, load_archive);
  return &la;
}

static const char *const z_syms[] = {
  "deflate",
  "deflateEnd",
  "deflateInit2_",
  "deflateSetHeader",
};
static struct hutch_libz lz;
_Static_assert(sizeof lz == sizeof z_syms / sizeof z_syms[0] * sizeof (void *),
               "one function pointer per symbol");
static pthread_once_t lz_once = PTHREAD_ONCE_INIT;

static void
load_z (void)
{
  static const char *const names[] = { "libz.so.1", "libz.so", NULL };
  load (names, z_syms, (void **)&lz, sizeof z_syms / sizeof z_syms[0], "zlib1g");
}

const struct hutch_libz *
hutch_libz (void)
{
  pthread_once (&lz_once, load_z);
  return &lz;
}

static const char *const crypto_syms[] = {
  "EVP_DigestFinal_ex", "EVP_DigestInit_ex", "EVP_DigestUpdate",
  "EVP_MD_CTX_free",    "EVP_MD_CTX_new",    "EVP_sha256",
};
static struct hutch_libcrypto lc;
_Static_assert(sizeof lc == sizeof crypto_syms / sizeof crypto_syms[0] * sizeof (void *),
               "one function pointer per symbol");
static pthread_once_t lc_once = PTHREAD_ONCE_INIT;

static void
load_crypto (void)
{
  static const char *const names[] = { "libcrypto.so.3", "libcrypto.so.1.1", "libcrypto.so", NULL };
  load (names, crypto_syms, (void **)&lc, sizeof crypto_syms / sizeof crypto_syms[0], "libssl3");
}

const struct hutch_libcrypto *
hutch_libcrypto (void)
{
  pthread_once (&lc_once, load_crypto);
  return &lc;
}

static const char *const curl_syms[] = {
  "curl_easy_cleanup",   "curl_easy_escape",
  "curl_easy_getinfo",   "curl_easy_init",
  "curl_easy_perform",   "curl_easy_setopt",
  "curl_easy_strerror",  "curl_easy_unescape",
  "curl_free",           "curl_getdate",
  "curl_global_init",    "curl_multi_add_handle",
  "curl_multi_cleanup",  "curl_multi_info_read",
  "curl_multi_init",     "curl_multi_perform",
  "curl_multi_poll",     "curl_multi_remove_handle",
  "curl_multi_setopt",   "curl_multi_strerror",
  "curl_share_cleanup",  "curl_share_init",
  "curl_share_setopt",   "curl_slist_append",
  "curl_slist_free_all", "curl_url",
  "curl_url_cleanup",    "curl_url_get",
  "curl_url_set",        "curl_version_info",
};
static struct hutch_libcurl lcurl;
_Static_assert(sizeof lcurl == sizeof curl_syms / sizeof curl_syms[0] * sizeof (void *),
               "one function pointer per symbol");
static pthread_once_t lcurl_once = PTHREAD_ONCE_INIT;

static void
load_curl (void)
{
  static const char *const names[] = { "libcurl.so.4", "libcurl.so", NULL };
  load (names, curl_syms, (void **)&lcurl, sizeof curl_syms / sizeof curl_syms[0], "libcurl4");
}

const struct hutch_libcurl *
hutch_libcurl (void)
{
  pthread_once (&lcurl_once, load_curl);
  return &lcurl;
}

#ifdef HAVE_SD_BUS
static const char *const systemd_syms[] = {
  "sd_bus_call",
  "sd_bus_close",
  "sd_bus_error_free",
  "sd_bus_get_fd",
  "sd_bus_is_ready",
  "sd_bus_match_signal_async",
  "sd_bus_message_append",
  "sd_bus_message_append_array",
  "sd_bus_message_close_container",
  "sd_bus_message_new_method_call",
  "sd_bus_message_open_container",
  "sd_bus_message_read",
  "sd_bus_message_unref",
  "sd_bus_new",
  "sd_bus_open_user",
  "sd_bus_process",
  "sd_bus_set_address",
  "sd_bus_start",
  "sd_bus_unref",
  "sd_bus_wait",
};
static struct hutch_libsystemd lsd;
_Static_assert(sizeof lsd == sizeof systemd_syms / sizeof systemd_syms[0] * sizeof (void *),
               "one function pointer per symbol");
static pthread_once_t lsd_once = PTHREAD_ONCE_INIT;
static int lsd_status;
static struct load_failure lsd_failure;

static void
load_systemd (void)
{
  static const char *const names[] = { "libsystemd.so.0", NULL };
  lsd_status = try_load (names, systemd_syms, (void **)&lsd,
                         sizeof systemd_syms / sizeof systemd_syms[0], &lsd_failure);
}

int
hutch_libsystemd_load (hutch_error_t *err)
{
  pthread_once (&lsd_once, load_systemd);
  if (lsd_status == 0)
    return 0;
  hutch_error_set (err, 0,
                   "cannot load %s (%s); install the libsystemd0 package (systemd 239 or later)",
                   lsd_failure.what, lsd_failure.why);
  return -1;
}

const struct hutch_libsystemd *
hutch_libsystemd (void)
{
  pthread_once (&lsd_once, load_systemd);
  if (lsd_status < 0)
    missing (&lsd_failure, "libsystemd0");
  return &lsd;
}
#endif

#ifdef HAVE_ISAL
static const char *const isal_syms[] = {
  "crc32_gzip_refl",
  "isal_inflate",
  "isal_inflate_init",
  "isal_inflate_reset",
};
static struct hutch_libisal lisal;
_Static_assert(sizeof lisal == sizeof isal_syms / sizeof isal_syms[0] * sizeof (void *),
               "one function pointer per symbol");
static pthread_once_t lisal_once = PTHREAD_ONCE_INIT;
static int lisal_status;
static struct load_failure lisal_failure;

static void
load_isal (void)
{
  static const char *const names[] = { "libisal.so.2", NULL };
  lisal_status = try_load (names, isal_syms, (void **)&lisal,
                           sizeof isal_syms / sizeof isal_syms[0], &lisal_failure);
}

int
hutch_libisal_load (void)
{
  pthread_once (&lisal_once, load_isal);
  return lisal_status;
}

const struct hutch_libisal *
hutch_libisal (void)
{
  pthread_once (&lisal_once, load_isal);
  if (lisal_status < 0)
    missing (&lisal_failure, "libisal2");
  return &lisal;
}
#endif
