/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HUTCH_LAZYLIB_H
#define HUTCH_LAZYLIB_H

/* libarchive, zlib, libcrypto, libcurl, libsystemd and libisal, loaded with dlopen the first
   time they are needed.  Linked normally they would be mapped into every
   start of hutch, image or not: libarchive alone brings libxml2, ICU and
   libstdc++, which cost about 2 ms of the ~5 ms a `hutch run --rootfs`
   takes (bench/startup).  Include this after <archive.h>,
   <archive_entry.h>, <zlib.h>, <openssl/evp.h>, <curl/curl.h>, <systemd/sd-bus.h> or
   ISA-L's headers:
   each call below then goes through the loaded library, with the
   prototype of the real header (checked by the compiler through
   __typeof__).  */

#ifdef ARCHIVE_VERSION_NUMBER
struct hutch_libarchive
{
  __typeof__ (archive_entry_atime) *archive_entry_atime;
  __typeof__ (archive_entry_atime_is_set) *archive_entry_atime_is_set;
  __typeof__ (archive_entry_atime_nsec) *archive_entry_atime_nsec;
  __typeof__ (archive_entry_filetype) *archive_entry_filetype;
  __typeof__ (archive_entry_free) *archive_entry_free;
  __typeof__ (archive_entry_gid) *archive_entry_gid;
  __typeof__ (archive_entry_hardlink) *archive_entry_hardlink;
  __typeof__ (archive_entry_mtime) *archive_entry_mtime;
  __typeof__ (archive_entry_mtime_is_set) *archive_entry_mtime_is_set;
  __typeof__ (archive_entry_mtime_nsec) *archive_entry_mtime_nsec;
  __typeof__ (archive_entry_new) *archive_entry_new;
  __typeof__ (archive_entry_pathname) *archive_entry_pathname;
  __typeof__ (archive_entry_perm) *archive_entry_perm;
  __typeof__ (archive_entry_set_filetype) *archive_entry_set_filetype;
  __typeof__ (archive_entry_set_gid) *archive_entry_set_gid;
  __typeof__ (archive_entry_set_hardlink) *archive_entry_set_hardlink;
  __typeof__ (archive_entry_set_symlink) *archive_entry_set_symlink;
  __typeof__ (archive_entry_set_uid) *archive_entry_set_uid;
  __typeof__ (archive_entry_set_rdevmajor) *archive_entry_set_rdevmajor;
  __typeof__ (archive_entry_set_rdevminor) *archive_entry_set_rdevminor;
  __typeof__ (archive_entry_set_mtime) *archive_entry_set_mtime;
  __typeof__ (archive_entry_set_pathname) *archive_entry_set_pathname;
  __typeof__ (archive_entry_set_perm) *archive_entry_set_perm;
  __typeof__ (archive_entry_set_size) *archive_entry_set_size;
  __typeof__ (archive_entry_size) *archive_entry_size;
  __typeof__ (archive_entry_size_is_set) *archive_entry_size_is_set;
  __typeof__ (archive_entry_sparse_add_entry) *archive_entry_sparse_add_entry;
  __typeof__ (archive_entry_symlink) *archive_entry_symlink;
  __typeof__ (archive_entry_uid) *archive_entry_uid;
  __typeof__ (archive_entry_xattr_add_entry) *archive_entry_xattr_add_entry;
  __typeof__ (archive_entry_xattr_count) *archive_entry_xattr_count;
  __typeof__ (archive_entry_xattr_next) *archive_entry_xattr_next;
  __typeof__ (archive_entry_xattr_reset) *archive_entry_xattr_reset;
  __typeof__ (archive_errno) *archive_errno;
  __typeof__ (archive_error_string) *archive_error_string;
  __typeof__ (archive_filter_code) *archive_filter_code;
  __typeof__ (archive_filter_name) *archive_filter_name;
  __typeof__ (archive_read_data) *archive_read_data;
  __typeof__ (archive_read_data_block) *archive_read_data_block;
  __typeof__ (archive_read_free) *archive_read_free;
  __typeof__ (archive_read_new) *archive_read_new;
  __typeof__ (archive_read_next_header) *archive_read_next_header;
  __typeof__ (archive_read_open) *archive_read_open;
  __typeof__ (archive_read_open_fd) *archive_read_open_fd;
  __typeof__ (archive_read_open_filename) *archive_read_open_filename;
  __typeof__ (archive_read_support_filter_bzip2) *archive_read_support_filter_bzip2;
  __typeof__ (archive_read_support_filter_gzip) *archive_read_support_filter_gzip;
  __typeof__ (archive_read_support_filter_xz) *archive_read_support_filter_xz;
  __typeof__ (archive_read_support_filter_zstd) *archive_read_support_filter_zstd;
  __typeof__ (archive_read_support_format_empty) *archive_read_support_format_empty;
  __typeof__ (archive_read_support_format_raw) *archive_read_support_format_raw;
  __typeof__ (archive_read_support_format_tar) *archive_read_support_format_tar;
  __typeof__ (archive_set_error) *archive_set_error;
  __typeof__ (archive_version_string) *archive_version_string;
  __typeof__ (archive_write_close) *archive_write_close;
  __typeof__ (archive_write_data) *archive_write_data;
  __typeof__ (archive_write_free) *archive_write_free;
  __typeof__ (archive_write_header) *archive_write_header;
  __typeof__ (archive_write_new) *archive_write_new;
  __typeof__ (archive_write_open_filename) *archive_write_open_filename;
  __typeof__ (archive_write_set_format_pax_restricted) *archive_write_set_format_pax_restricted;
  __typeof__ (archive_write_open_fd) *archive_write_open_fd;
  __typeof__ (archive_write_open) *archive_write_open;
  __typeof__ (archive_write_set_bytes_per_block) *archive_write_set_bytes_per_block;
  __typeof__ (archive_write_set_format_option) *archive_write_set_format_option;
};
/* The loaded library; aborts with a message naming the package when it
   is missing, as for an allocation failure: hutch is not installed right.  */
const struct hutch_libarchive *hutch_libarchive (void);
#define archive_entry_atime(...) (hutch_libarchive ()->archive_entry_atime (__VA_ARGS__))
#define archive_entry_atime_is_set(...)                                                            \
  (hutch_libarchive ()->archive_entry_atime_is_set (__VA_ARGS__))
#define archive_entry_atime_nsec(...) (hutch_libarchive ()->archive_entry_atime_nsec (__VA_ARGS__))
#define archive_entry_filetype(...) (hutch_libarchive ()->archive_entry_filetype (__VA_ARGS__))
#define archive_entry_free(...) (hutch_libarchive ()->archive_entry_free (__VA_ARGS__))
#define archive_entry_gid(...) (hutch_libarchive ()->archive_entry_gid (__VA_ARGS__))
#define archive_entry_hardlink(...) (hutch_libarchive ()->archive_entry_hardlink (__VA_ARGS__))
#define archive_entry_mtime(...) (hutch_libarchive ()->archive_entry_mtime (__VA_ARGS__))
#define archive_entry_mtime_is_set(...)                                                            \
  (hutch_libarchive ()->archive_entry_mtime_is_set (__VA_ARGS__))
#define archive_entry_mtime_nsec(...) (hutch_libarchive ()->archive_entry_mtime_nsec (__VA_ARGS__))
#define archive_entry_new(...) (hutch_libarchive ()->archive_entry_new (__VA_ARGS__))
#define archive_entry_pathname(...) (hutch_libarchive ()->archive_entry_pathname (__VA_ARGS__))
#define archive_entry_perm(...) (hutch_libarchive ()->archive_entry_perm (__VA_ARGS__))
#define archive_entry_set_filetype(...)                                                            \
  (hutch_libarchive ()->archive_entry_set_filetype (__VA_ARGS__))
#define archive_entry_set_mtime(...) (hutch_libarchive ()->archive_entry_set_mtime (__VA_ARGS__))
#define archive_entry_set_gid(...) (hutch_libarchive ()->archive_entry_set_gid (__VA_ARGS__))
#define archive_entry_set_hardlink(...)                                                            \
  (hutch_libarchive ()->archive_entry_set_hardlink (__VA_ARGS__))
#define archive_entry_set_symlink(...)                                                             \
  (hutch_libarchive ()->archive_entry_set_symlink (__VA_ARGS__))
#define archive_entry_set_uid(...) (hutch_libarchive ()->archive_entry_set_uid (__VA_ARGS__))
#define archive_entry_set_rdevmajor(...)                                                           \
  (hutch_libarchive ()->archive_entry_set_rdevmajor (__VA_ARGS__))
#define archive_entry_set_rdevminor(...)                                                           \
  (hutch_libarchive ()->archive_entry_set_rdevminor (__VA_ARGS__))
#define archive_entry_xattr_add_entry(...)                                                         \
  (hutch_libarchive ()->archive_entry_xattr_add_entry (__VA_ARGS__))
#define archive_entry_set_pathname(...)                                                            \
  (hutch_libarchive ()->archive_entry_set_pathname (__VA_ARGS__))
#define archive_entry_set_perm(...) (hutch_libarchive ()->archive_entry_set_perm (__VA_ARGS__))
#define archive_entry_set_size(...) (hutch_libarchive ()->archive_entry_set_size (__VA_ARGS__))
#define archive_entry_size(...) (hutch_libarchive ()->archive_entry_size (__VA_ARGS__))
#define archive_entry_size_is_set(...)                                                             \
  (hutch_libarchive ()->archive_entry_size_is_set (__VA_ARGS__))
#define archive_entry_sparse_add_entry(...)                                                        \
  (hutch_libarchive ()->archive_entry_sparse_add_entry (__VA_ARGS__))
#define archive_entry_symlink(...) (hutch_libarchive ()->archive_entry_symlink (__VA_ARGS__))
#define archive_entry_uid(...) (hutch_libarchive ()->archive_entry_uid (__VA_ARGS__))
#define archive_entry_xattr_count(...)                                                             \
  (hutch_libarchive ()->archive_entry_xattr_count (__VA_ARGS__))
#define archive_entry_xattr_next(...) (hutch_libarchive ()->archive_entry_xattr_next (__VA_ARGS__))
#define archive_entry_xattr_reset(...)                                                             \
  (hutch_libarchive ()->archive_entry_xattr_reset (__VA_ARGS__))
#define archive_errno(...) (hutch_libarchive ()->archive_errno (__VA_ARGS__))
#define archive_error_string(...) (hutch_libarchive ()->archive_error_string (__VA_ARGS__))
#define archive_filter_code(...) (hutch_libarchive ()->archive_filter_code (__VA_ARGS__))
#define archive_filter_name(...) (hutch_libarchive ()->archive_filter_name (__VA_ARGS__))
#define archive_read_data(...) (hutch_libarchive ()->archive_read_data (__VA_ARGS__))
#define archive_read_data_block(...) (hutch_libarchive ()->archive_read_data_block (__VA_ARGS__))
#define archive_read_free(...) (hutch_libarchive ()->archive_read_free (__VA_ARGS__))
#define archive_read_new(...) (hutch_libarchive ()->archive_read_new (__VA_ARGS__))
#define archive_read_next_header(...) (hutch_libarchive ()->archive_read_next_header (__VA_ARGS__))
#define archive_read_open(...) (hutch_libarchive ()->archive_read_open (__VA_ARGS__))
#define archive_read_open_fd(...) (hutch_libarchive ()->archive_read_open_fd (__VA_ARGS__))
#define archive_read_open_filename(...)                                                            \
  (hutch_libarchive ()->archive_read_open_filename (__VA_ARGS__))
#define archive_read_support_filter_bzip2(...)                                                     \
  (hutch_libarchive ()->archive_read_support_filter_bzip2 (__VA_ARGS__))
#define archive_read_support_filter_xz(...)                                                        \
  (hutch_libarchive ()->archive_read_support_filter_xz (__VA_ARGS__))
#define archive_read_support_filter_gzip(...)                                                      \
  (hutch_libarchive ()->archive_read_support_filter_gzip (__VA_ARGS__))
#define archive_read_support_filter_zstd(...)                                                      \
  (hutch_libarchive ()->archive_read_support_filter_zstd (__VA_ARGS__))
#define archive_read_support_format_empty(...)                                                     \
  (hutch_libarchive ()->archive_read_support_format_empty (__VA_ARGS__))
#define archive_read_support_format_raw(...)                                                       \
  (hutch_libarchive ()->archive_read_support_format_raw (__VA_ARGS__))
#define archive_read_support_format_tar(...)                                                       \
  (hutch_libarchive ()->archive_read_support_format_tar (__VA_ARGS__))
#define archive_set_error(...) (hutch_libarchive ()->archive_set_error (__VA_ARGS__))
#define archive_version_string(...) (hutch_libarchive ()->archive_version_string (__VA_ARGS__))
#define archive_write_close(...) (hutch_libarchive ()->archive_write_close (__VA_ARGS__))
#define archive_write_data(...) (hutch_libarchive ()->archive_write_data (__VA_ARGS__))
#define archive_write_free(...) (hutch_libarchive ()->archive_write_free (__VA_ARGS__))
#define archive_write_header(...) (hutch_libarchive ()->archive_write_header (__VA_ARGS__))
#define archive_write_new(...) (hutch_libarchive ()->archive_write_new (__VA_ARGS__))
#define archive_write_open_filename(...)                                                           \
  (hutch_libarchive ()->archive_write_open_filename (__VA_ARGS__))
#define archive_write_open_fd(...) (hutch_libarchive ()->archive_write_open_fd (__VA_ARGS__))
#define archive_write_set_format_pax_restricted(...)                                               \
  (hutch_libarchive ()->archive_write_set_format_pax_restricted (__VA_ARGS__))
#define archive_write_open(...) (hutch_libarchive ()->archive_write_open (__VA_ARGS__))
#define archive_write_set_bytes_per_block(...)                                                     \
  (hutch_libarchive ()->archive_write_set_bytes_per_block (__VA_ARGS__))
#define archive_write_set_format_option(...)                                                       \
  (hutch_libarchive ()->archive_write_set_format_option (__VA_ARGS__))
#endif

#ifdef ZLIB_H
/* zlib's deflate, for the gzip of a layer being written (image/layerwrite.c).
   libarchive depends on it, so loading it costs nothing more once
   libarchive is loaded.  deflateInit2 is zlib's macro around
   deflateInit2_, which goes through here.  */
struct hutch_libz
{
  __typeof__ (deflate) *deflate;
  __typeof__ (deflateEnd) *deflateEnd;
  __typeof__ (deflateInit2_) *deflateInit2_;
  __typeof__ (deflateSetHeader) *deflateSetHeader;
};
const struct hutch_libz *hutch_libz (void);
#define deflate(...) (hutch_libz ()->deflate (__VA_ARGS__))
#define deflateEnd(...) (hutch_libz ()->deflateEnd (__VA_ARGS__))
#define deflateInit2_(...) (hutch_libz ()->deflateInit2_ (__VA_ARGS__))
#define deflateSetHeader(...) (hutch_libz ()->deflateSetHeader (__VA_ARGS__))
#endif

#ifdef HEADER_EVP_H
#define HUTCH_LAZY_EVP 1
#endif
#ifdef OPENSSL_EVP_H
#define HUTCH_LAZY_EVP 1
#endif
#ifdef HUTCH_LAZY_EVP
struct hutch_libcrypto
{
  __typeof__ (EVP_DigestFinal_ex) *EVP_DigestFinal_ex;
  __typeof__ (EVP_DigestInit_ex) *EVP_DigestInit_ex;
  __typeof__ (EVP_DigestUpdate) *EVP_DigestUpdate;
  __typeof__ (EVP_MD_CTX_free) *EVP_MD_CTX_free;
  __typeof__ (EVP_MD_CTX_new) *EVP_MD_CTX_new;
  __typeof__ (EVP_sha256) *EVP_sha256;
};
const struct hutch_libcrypto *hutch_libcrypto (void);
#define EVP_DigestFinal_ex(...) (hutch_libcrypto ()->EVP_DigestFinal_ex (__VA_ARGS__))
#define EVP_DigestInit_ex(...) (hutch_libcrypto ()->EVP_DigestInit_ex (__VA_ARGS__))
#define EVP_DigestUpdate(...) (hutch_libcrypto ()->EVP_DigestUpdate (__VA_ARGS__))
#define EVP_MD_CTX_free(...) (hutch_libcrypto ()->EVP_MD_CTX_free (__VA_ARGS__))
#define EVP_MD_CTX_new(...) (hutch_libcrypto ()->EVP_MD_CTX_new (__VA_ARGS__))
#define EVP_sha256(...) (hutch_libcrypto ()->EVP_sha256 (__VA_ARGS__))
#endif

#ifdef CURLINC_CURL_H
/* libcurl: include <curl/curl.h> with CURL_DISABLE_TYPECHECK defined (its
   type-checking macros would stand in the way of these).  */
struct hutch_libcurl
{
  __typeof__ (curl_easy_cleanup) *curl_easy_cleanup;
  __typeof__ (curl_easy_escape) *curl_easy_escape;
  __typeof__ (curl_easy_getinfo) *curl_easy_getinfo;
  __typeof__ (curl_easy_init) *curl_easy_init;
  __typeof__ (curl_easy_perform) *curl_easy_perform;
  __typeof__ (curl_easy_setopt) *curl_easy_setopt;
  __typeof__ (curl_easy_strerror) *curl_easy_strerror;
  __typeof__ (curl_easy_unescape) *curl_easy_unescape;
  __typeof__ (curl_free) *curl_free;
  __typeof__ (curl_getdate) *curl_getdate;
  __typeof__ (curl_global_init) *curl_global_init;
  __typeof__ (curl_multi_add_handle) *curl_multi_add_handle;
  __typeof__ (curl_multi_cleanup) *curl_multi_cleanup;
  __typeof__ (curl_multi_info_read) *curl_multi_info_read;
  __typeof__ (curl_multi_init) *curl_multi_init;
  __typeof__ (curl_multi_perform) *curl_multi_perform;
  __typeof__ (curl_multi_poll) *curl_multi_poll;
  __typeof__ (curl_multi_remove_handle) *curl_multi_remove_handle;
  __typeof__ (curl_multi_setopt) *curl_multi_setopt;
  __typeof__ (curl_multi_strerror) *curl_multi_strerror;
  __typeof__ (curl_share_cleanup) *curl_share_cleanup;
  __typeof__ (curl_share_init) *curl_share_init;
  __typeof__ (curl_share_setopt) *curl_share_setopt;
  __typeof__ (curl_slist_append) *curl_slist_append;
  __typeof__ (curl_slist_free_all) *curl_slist_free_all;
  __typeof__ (curl_url) *curl_url;
  __typeof__ (curl_url_cleanup) *curl_url_cleanup;
  __typeof__ (curl_url_get) *curl_url_get;
  __typeof__ (curl_url_set) *curl_url_set;
  __typeof__ (curl_version_info) *curl_version_info;
};
const struct hutch_libcurl *hutch_libcurl (void);
#define curl_easy_cleanup(...) (hutch_libcurl ()->curl_easy_cleanup (__VA_ARGS__))
#define curl_easy_escape(...) (hutch_libcurl ()->curl_easy_escape (__VA_ARGS__))
#undef curl_easy_getinfo /* curl.h's own arity check */
#define curl_easy_getinfo(...) (hutch_libcurl ()->curl_easy_getinfo (__VA_ARGS__))
#define curl_easy_init(...) (hutch_libcurl ()->curl_easy_init (__VA_ARGS__))
#define curl_easy_perform(...) (hutch_libcurl ()->curl_easy_perform (__VA_ARGS__))
#undef curl_easy_setopt /* curl.h's own arity check */
#define curl_easy_setopt(...) (hutch_libcurl ()->curl_easy_setopt (__VA_ARGS__))
#define curl_easy_strerror(...) (hutch_libcurl ()->curl_easy_strerror (__VA_ARGS__))
#define curl_easy_unescape(...) (hutch_libcurl ()->curl_easy_unescape (__VA_ARGS__))
#define curl_free(...) (hutch_libcurl ()->curl_free (__VA_ARGS__))
#define curl_getdate(...) (hutch_libcurl ()->curl_getdate (__VA_ARGS__))
#define curl_global_init(...) (hutch_libcurl ()->curl_global_init (__VA_ARGS__))
#define curl_multi_add_handle(...) (hutch_libcurl ()->curl_multi_add_handle (__VA_ARGS__))
#define curl_multi_cleanup(...) (hutch_libcurl ()->curl_multi_cleanup (__VA_ARGS__))
#define curl_multi_info_read(...) (hutch_libcurl ()->curl_multi_info_read (__VA_ARGS__))
#define curl_multi_init(...) (hutch_libcurl ()->curl_multi_init (__VA_ARGS__))
#define curl_multi_perform(...) (hutch_libcurl ()->curl_multi_perform (__VA_ARGS__))
#define curl_multi_poll(...) (hutch_libcurl ()->curl_multi_poll (__VA_ARGS__))
#define curl_multi_remove_handle(...) (hutch_libcurl ()->curl_multi_remove_handle (__VA_ARGS__))
#undef curl_multi_setopt /* curl.h's own arity check */
#define curl_multi_setopt(...) (hutch_libcurl ()->curl_multi_setopt (__VA_ARGS__))
#define curl_multi_strerror(...) (hutch_libcurl ()->curl_multi_strerror (__VA_ARGS__))
#define curl_share_cleanup(...) (hutch_libcurl ()->curl_share_cleanup (__VA_ARGS__))
#define curl_share_init(...) (hutch_libcurl ()->curl_share_init (__VA_ARGS__))
#undef curl_share_setopt /* curl.h's own arity check */
#define curl_share_setopt(...) (hutch_libcurl ()->curl_share_setopt (__VA_ARGS__))
#define curl_slist_append(...) (hutch_libcurl ()->curl_slist_append (__VA_ARGS__))
#define curl_slist_free_all(...) (hutch_libcurl ()->curl_slist_free_all (__VA_ARGS__))
#define curl_url(...) (hutch_libcurl ()->curl_url (__VA_ARGS__))
#define curl_url_cleanup(...) (hutch_libcurl ()->curl_url_cleanup (__VA_ARGS__))
#define curl_url_get(...) (hutch_libcurl ()->curl_url_get (__VA_ARGS__))
#define curl_url_set(...) (hutch_libcurl ()->curl_url_set (__VA_ARGS__))
#define curl_version_info(...) (hutch_libcurl ()->curl_version_info (__VA_ARGS__))
#endif

#if defined(_IGZIP_H) && defined(_CRC_H_)
/* ISA-L's igzip, which inflates gzip layers (src/image/gunzip.c): include
   <isa-l/igzip_lib.h> and <isa-l/crc.h>.  Optional like libsystemd, and
   quietly so: hutch_libisal_load() says whether it could be loaded, and
   without it layers go through zlib.  */
struct hutch_libisal
{
  __typeof__ (crc32_gzip_refl) *crc32_gzip_refl;
  __typeof__ (isal_inflate) *isal_inflate;
  __typeof__ (isal_inflate_init) *isal_inflate_init;
  __typeof__ (isal_inflate_reset) *isal_inflate_reset;
};
/* Load libisal.so.2 (once).  Returns 0, or -1 when it cannot be loaded.  */
int hutch_libisal_load (void);
/* The loaded library; aborts when hutch_libisal_load() failed.  */
const struct hutch_libisal *hutch_libisal (void);
#define crc32_gzip_refl(...) (hutch_libisal ()->crc32_gzip_refl (__VA_ARGS__))
#define isal_inflate(...) (hutch_libisal ()->isal_inflate (__VA_ARGS__))
#define isal_inflate_init(...) (hutch_libisal ()->isal_inflate_init (__VA_ARGS__))
#define isal_inflate_reset(...) (hutch_libisal ()->isal_inflate_reset (__VA_ARGS__))
#endif

#ifdef foosdbushfoo
/* libsystemd's sd-bus, for the questions src/runtime/sdscope.c asks a
   systemd manager (a delegated scope, a container's scope and its limits).  Linked, it would
   bring its compression and crypto libraries into every start.  Unlike the
   others it is optional: call hutch_libsystemd_load() first, which reports a
   missing library as an error; the calls below abort if it was not loaded.
   Do not use sd-bus.h's _cleanup_ helpers (sd_bus_unrefp...): they call the
   real symbols, which are not linked.  */
struct hutch_libsystemd
{
  __typeof__ (sd_bus_call) *sd_bus_call;
  __typeof__ (sd_bus_close) *sd_bus_close;
  __typeof__ (sd_bus_error_free) *sd_bus_error_free;
  __typeof__ (sd_bus_get_fd) *sd_bus_get_fd;
  __typeof__ (sd_bus_is_ready) *sd_bus_is_ready;
  __typeof__ (sd_bus_match_signal_async) *sd_bus_match_signal_async;
  __typeof__ (sd_bus_message_append) *sd_bus_message_append;
  __typeof__ (sd_bus_message_append_array) *sd_bus_message_append_array;
  __typeof__ (sd_bus_message_close_container) *sd_bus_message_close_container;
  __typeof__ (sd_bus_message_new_method_call) *sd_bus_message_new_method_call;
  __typeof__ (sd_bus_message_open_container) *sd_bus_message_open_container;
  __typeof__ (sd_bus_message_read) *sd_bus_message_read;
  __typeof__ (sd_bus_message_unref) *sd_bus_message_unref;
  __typeof__ (sd_bus_new) *sd_bus_new;
  __typeof__ (sd_bus_open_user) *sd_bus_open_user;
  __typeof__ (sd_bus_process) *sd_bus_process;
  __typeof__ (sd_bus_set_address) *sd_bus_set_address;
  __typeof__ (sd_bus_start) *sd_bus_start;
  __typeof__ (sd_bus_unref) *sd_bus_unref;
  __typeof__ (sd_bus_wait) *sd_bus_wait;
};
struct hutch_error;
/* Load libsystemd.so.0 (once).  Returns 0, or -1 with ERR saying why it
   cannot be loaded and which package to install.  */
int hutch_libsystemd_load (struct hutch_error *err);
/* The loaded library; aborts when hutch_libsystemd_load() failed.  */
const struct hutch_libsystemd *hutch_libsystemd (void);
#define sd_bus_call(...) (hutch_libsystemd ()->sd_bus_call (__VA_ARGS__))
#define sd_bus_close(...) (hutch_libsystemd ()->sd_bus_close (__VA_ARGS__))
#define sd_bus_error_free(...) (hutch_libsystemd ()->sd_bus_error_free (__VA_ARGS__))
#define sd_bus_get_fd(...) (hutch_libsystemd ()->sd_bus_get_fd (__VA_ARGS__))
#define sd_bus_is_ready(...) (hutch_libsystemd ()->sd_bus_is_ready (__VA_ARGS__))
#define sd_bus_match_signal_async(...)                                                             \
  (hutch_libsystemd ()->sd_bus_match_signal_async (__VA_ARGS__))
#define sd_bus_message_append(...) (hutch_libsystemd ()->sd_bus_message_append (__VA_ARGS__))
#define sd_bus_message_append_array(...)                                                           \
  (hutch_libsystemd ()->sd_bus_message_append_array (__VA_ARGS__))
#define sd_bus_message_close_container(...)                                                        \
  (hutch_libsystemd ()->sd_bus_message_close_container (__VA_ARGS__))
#define sd_bus_message_new_method_call(...)                                                        \
  (hutch_libsystemd ()->sd_bus_message_new_method_call (__VA_ARGS__))
#define sd_bus_message_open_container(...)                                                         \
  (hutch_libsystemd ()->sd_bus_message_open_container (__VA_ARGS__))
#define sd_bus_message_read(...) (hutch_libsystemd ()->sd_bus_message_read (__VA_ARGS__))
#define sd_bus_message_unref(...) (hutch_libsystemd ()->sd_bus_message_unref (__VA_ARGS__))
#define sd_bus_new(...) (hutch_libsystemd ()->sd_bus_new (__VA_ARGS__))
#define sd_bus_open_user(...) (hutch_libsystemd ()->sd_bus_open_user (__VA_ARGS__))
#define sd_bus_process(...) (hutch_libsystemd ()->sd_bus_process (__VA_ARGS__))
#define sd_bus_set_address(...) (hutch_libsystemd ()->sd_bus_set_address (__VA_ARGS__))
#define sd_bus_start(...) (hutch_libsystemd ()->sd_bus_start (__VA_ARGS__))
#define sd_bus_unref(...) (hutch_libsystemd ()->sd_bus_unref (__VA_ARGS__))
#define sd_bus_wait(...) (hutch_libsystemd ()->sd_bus_wait (__VA_ARGS__))
#endif

#endif
