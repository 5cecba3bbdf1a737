/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>

/* The download of `ADD URL` (registry/urlfetch.c), against a small HTTP
   server on 127.0.0.1 that python3's http.server runs: files, redirects,
   Content-Disposition, gzip, errors.  No traffic leaves the host.  */

#include "tap.h"
#include "registry/urlfetch.h"
#include "base/digest.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Serves DIR (argv[1]) and writes its port to argv[2] once it listens.
   The paths of its own stand for what http.server does not do.  */
static const char server_py[]
    = "import functools, gzip, http.server, os, sys\n"
      "class H(http.server.SimpleHTTPRequestHandler):\n"
      "    def reply(self, status, body, headers):\n"
      "        self.send_response(status)\n"
      "        for k, v in headers:\n"
      "            self.send_header(k, v)\n"
      "        if body is not None:\n"
      "            self.send_header('Content-Length', str(len(body)))\n"
      "        self.end_headers()\n"
      "        self.wfile.write(body or b'')\n"
      "    def do_GET(self):\n"
      "        p = self.path\n"
      "        if p == '/r':\n"
      "            return self.reply(302, b'the body of a redirect', [('Location', '/r2')])\n"
      "        if p == '/r2':\n"
      "            return self.reply(301, b'', [('Location', '/file'),\n"
      "                ('Last-Modified', 'Sun, 06 Nov 1994 08:49:37 GMT')])\n"
      "        if p == '/loop':\n"
      "            return self.reply(302, b'', [('Location', '/loop')])\n"
      "        if p.startswith('/to?'):\n"
      "            return self.reply(302, b'', [('Location', p[4:])])\n"
      "        if p.startswith('/cd'):\n"
      "            cd = {'/cd': 'attachment; filename=\"../up/name.txt\"',\n"
      "                  '/cd2': \"attachment; filename=plain.txt; \"\n"
      "                          \"filename*=UTF-8''na%C3%AFve%20file.txt\",\n"
      "                  '/cd3': 'attachment; filename=\"..\"',\n"
      "                  '/cd4': 'attachment; filename=\"dir/\"',\n"
      "                  '/cd5': 'attachment; filename=bad name',\n"
      "                  '/cd6': 'inline'}[p]\n"
      "            return self.reply(200, b'cd body', [('Content-Disposition', cd)])\n"
      "        if p == '/gz':\n"
      "            return self.reply(200, gzip.compress(b'plain text ' * 100),\n"
      "                              [('Content-Encoding', 'gzip')])\n"
      "        if p == '/stream':\n"
      "            self.send_response(200)\n"
      "            self.end_headers()\n"
      "            self.wfile.write(b'x' * 5000)\n"
      "            return\n"
      "        if p == '/fail':\n"
      "            return self.reply(503, b'down for maintenance', [])\n"
      "        return super().do_GET()\n"
      "    def log_message(self, *args):\n"
      "        pass\n"
      "h = functools.partial(H, directory=sys.argv[1])\n"
      "s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), h)\n"
      "if len(sys.argv) > 3:\n"
      "    import ssl\n"
      "    c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
      "    c.load_cert_chain(sys.argv[3])\n"
      "    s.socket = c.wrap_socket(s.socket, server_side=True)\n"
      "with open(sys.argv[2] + '.tmp', 'w') as f:\n"
      "    f.write(str(s.server_address[1]))\n"
      "os.rename(sys.argv[2] + '.tmp', sys.argv[2])\n"
      "s.serve_forever()\n";

static const char content[] = "the content of the file, as served\n";
#define FILE_MTIME 1700000000

static char dir[] = "/tmp/test-urlfetch.XXXXXX";
static char *python;
static int port, tls_port;
static pid_t server = -1, tls_server = -1;

/* Create PATH with CONTENT.  */
static int
put (const char *path, const char *text)
{
  _cleanup_close_ int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  return fd < 0 ? -1 : hutch_write_all (fd, text, strlen (text));
}

/* Start a server of DIR, with TLS when PEM (a certificate and its key) is
   given; its pid in *RET_PID and its port in *RET_PORT, or -1.  */
static int
spawn (const char *pem, pid_t *ret_pid, int *ret_port)
{
  _cleanup_free_ char *script = hutch_xasprintf ("%s/server.py", dir);
  _cleanup_free_ char *portfile = hutch_xasprintf ("%s/port%s", dir, pem ? "-tls" : "");
  hutch_error_t err = HUTCH_ERROR_INIT;
  pid_t pid = fork ();
  int i;

  if (pid == 0)
    {
      int null = open ("/dev/null", O_WRONLY | O_CLOEXEC);
      /* The server goes with the test, however the test ends.  */
      prctl (PR_SET_PDEATHSIG, SIGTERM);
      dup2 (null, 1);
      execl (python, "python3", script, dir, portfile, pem, (char *)NULL);
      _exit (127);
    }
  *ret_pid = pid;
  for (i = 0; pid > 0 && i < 200; i++)
    {
      _cleanup_free_ char *buf = NULL;
      if (hutch_read_file (portfile, 16, &buf, NULL, &err) == 0)
        {
          *ret_port = atoi (buf);
          return 0;
        }
      hutch_error_clear (&err);
      if (waitpid (pid, NULL, WNOHANG) == pid)
        {
          *ret_pid = -1;
          break;
        }
      usleep (50 * 1000);
    }
  return -1;
}

/* Start the plain server; 0, or -1 with a reason in *RET_WHY.  */
static int
start_server (const char **ret_why)
{
  _cleanup_free_ char *script = hutch_xasprintf ("%s/server.py", dir);
  _cleanup_free_ char *file = hutch_xasprintf ("%s/file", dir);
  struct timespec times[2] = { { FILE_MTIME, 0 }, { FILE_MTIME, 0 } };

  if (put (script, server_py) < 0 || put (file, content) < 0
      || utimensat (AT_FDCWD, file, times, 0) < 0)
    {
      *ret_why = "cannot write the server's files";
      return -1;
    }
  if (spawn (NULL, &server, &port) < 0)
    {
      *ret_why = "python3's http.server did not start";
      return -1;
    }
  return 0;
}

static void
stop (pid_t *pid)
{
  if (*pid > 0)
    {
      kill (*pid, SIGTERM);
      waitpid (*pid, NULL, 0);
      *pid = -1;
    }
}

static char *
url (const char *path)
{
  return hutch_xasprintf ("http://127.0.0.1:%d%s", port, path);
}

/* A fresh file to download into.  */
static int
new_file (void)
{
  _cleanup_free_ char *path = hutch_xasprintf ("%s/out", dir);
  int fd = open (path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    abort ();
  return fd;
}

/* What FD holds, from its start.  */
static char *
contents (int fd)
{
  char *buf = NULL;
  hutch_error_t err = HUTCH_ERROR_INIT;
  if (lseek (fd, 0, SEEK_SET) < 0 || hutch_read_fd (fd, 1 << 20, &buf, NULL, &err) < 0)
    abort ();
  return buf;
}

/* Fetch PATH on the server; 0 with *RET filled, or -1 with the message in
 *RET_MSG.  */
static int
fetch (const char *path, int64_t max, const char *expected, struct hutch_url_result *ret,
       char **ret_msg)
{
  _cleanup_free_ char *u = path[0] == '/' ? url (path) : hutch_xstrdup (path);
  _cleanup_close_ int fd = new_file ();
  hutch_error_t err = HUTCH_ERROR_INIT;
  int r = hutch_url_fetch (u, fd, 1, max, expected, ret, &err);

  *ret_msg = r < 0 ? hutch_xstrdup (err.msg) : NULL;
  hutch_error_clear (&err);
  return r;
}

static void
test_file (void)
{
  struct hutch_url_result r = { 0 };
  hutch_error_t err = HUTCH_ERROR_INIT;
  char want[HUTCH_DIGEST_BUF_LEN];
  _cleanup_free_ char *u = url ("/file"), *got = NULL, *pre = NULL;
  _cleanup_close_ int fd = new_file ();
  int ret;

  hutch_digest_buffer (content, strlen (content), want, &err);
  /* written from the file's offset: what stands before stays */
  hutch_write_all (fd, "PRE", 3);
  ret = hutch_url_fetch (u, fd, 1, 1 << 20, NULL, &r, &err);
  ok (ret == 0, "a file is downloaded (%s)", err.msg ? err.msg : "");
  got = contents (fd);
  pre = hutch_xasprintf ("PRE%s", content);
  is_str (got, pre, "its body is written after what the file held");
  is_str (r.digest, want, "the digest is the body's");
  ok (r.size == (int64_t)strlen (content), "the size is the body's (%lld)", (long long)r.size);
  ok (r.mtime == FILE_MTIME, "the mtime is Last-Modified (%lld)", (long long)r.mtime);
  is_str (r.filename, "file", "the name is the URL's last component (%s)", r.filename);
  hutch_url_result_clear (&r);
  ok (r.filename == NULL && r.mtime == -1, "hutch_url_result_clear empties the result");
  hutch_error_clear (&err);
}

static void
test_checksum (void)
{
  struct hutch_url_result r = { 0 };
  hutch_error_t err = HUTCH_ERROR_INIT;
  char want[HUTCH_DIGEST_BUF_LEN], other[HUTCH_DIGEST_BUF_LEN];
  _cleanup_free_ char *msg = NULL;
  char *msg2 = NULL;

  hutch_digest_buffer (content, strlen (content), want, &err);
  hutch_digest_buffer ("other", 5, other, &err);
  ok (fetch ("/file", -1, want, &r, &msg) == 0 && strcmp (r.digest, want) == 0,
      "--checksum of the body: downloaded (%s)", msg ? msg : "");
  hutch_url_result_clear (&r);
  ok (fetch ("/file", -1, other, &r, &msg2) < 0 && msg2 && strstr (msg2, want)
          && strstr (msg2, other) && strstr (msg2, "mismatch"),
      "another --checksum: an error naming both digests (%s)", msg2);
  free (msg2);
  ok (fetch ("/file", -1, "sha256:abc", &r, &msg2) < 0 && msg2 && strstr (msg2, "--checksum"),
      "a malformed --checksum is refused (%s)", msg2);
  free (msg2);
  ok (fetch ("/file", -1, "md5:d41d8cd98f00b204e9800998ecf8427e", &r, &msg2) < 0 && msg2
          && strstr (msg2, "--checksum"),
      "another algorithm is refused (%s)", msg2);
  free (msg2);
  hutch_error_clear (&err);
}

static void
test_errors (void)
{
  struct hutch_url_result r = { 0 };
  _cleanup_free_ char *u = NULL, *cred = NULL;
  char *msg = NULL;

  u = url ("/nope");
  ok (fetch ("/nope", -1, NULL, &r, &msg) < 0 && msg && strstr (msg, "404") && strstr (msg, u),
      "404: an error with the status and the URL (%s)", msg);
  free (msg);
  ok (fetch ("/fail", -1, NULL, &r, &msg) < 0 && msg && strstr (msg, "503")
          && strstr (msg, "try again"),
      "503: the status and what to do (%s)", msg);
  free (msg);
  cred = hutch_xasprintf ("http://alice:s3cret@127.0.0.1:%d/nope", port);
  ok (fetch (cred, -1, NULL, &r, &msg) < 0 && msg && strstr (msg, "404") && !strstr (msg, "s3cret")
          && !strstr (msg, "alice"),
      "the URL's credentials are never shown (%s)", msg);
  free (msg);
  ok (fetch ("ftp://127.0.0.1/file", -1, NULL, &r, &msg) < 0 && msg
          && strstr (msg, "http:// and https://"),
      "ftp:// is refused (%s)", msg);
  free (msg);
  ok (fetch ("file:///etc/passwd", -1, NULL, &r, &msg) < 0 && msg && strstr (msg, "file://"),
      "file:// is refused (%s)", msg);
  free (msg);
  ok (fetch ("127.0.0.1/file", -1, NULL, &r, &msg) < 0 && msg && strstr (msg, "not a URL"),
      "a URL without a scheme is refused (%s)", msg);
  free (msg);
  ok (fetch ("/loop", -1, NULL, &r, &msg) < 0 && msg && strstr (msg, "redirects"),
      "a redirect loop ends (%s)", msg);
  free (msg);
  ok (fetch ("/to?ftp://127.0.0.1/x", -1, NULL, &r, &msg) < 0 && msg
          && strstr (msg, "redirected to ftp://"),
      "a redirect to ftp:// is not followed (%s)", msg);
  free (msg);
}

static void
test_redirect (void)
{
  struct hutch_url_result r = { 0 };
  hutch_error_t err = HUTCH_ERROR_INIT;
  char want[HUTCH_DIGEST_BUF_LEN];
  char *msg = NULL;

  hutch_digest_buffer (content, strlen (content), want, &err);
  ok (fetch ("/r", -1, NULL, &r, &msg) == 0, "two redirects are followed (%s)", msg ? msg : "");
  is_str (r.digest, want, "the digest is the final body's, not a redirect's");
  ok (r.size == (int64_t)strlen (content), "so is the size");
  is_str (r.filename, "file", "the name is the final URL's (%s)", r.filename);
  ok (r.mtime == FILE_MTIME, "Last-Modified is the final response's, not a redirect's (%lld)",
      (long long)r.mtime);
  hutch_url_result_clear (&r);
  hutch_error_clear (&err);
}

static void
gives_name (const char *path, const char *want)
{
  struct hutch_url_result r = { 0 };
  _cleanup_free_ char *msg = NULL;

  ok (fetch (path, -1, NULL, &r, &msg) == 0 && r.filename && strcmp (r.filename, want) == 0,
      "%s is named %s (%s)", path, want, msg ? msg : r.filename);
  hutch_url_result_clear (&r);
}

static void
test_disposition (void)
{
  struct hutch_url_result r = { 0 };
  _cleanup_free_ char *msg = NULL;

  gives_name ("/cd", "name.txt");
  gives_name ("/cd2", "naïve file.txt");
  gives_name ("/cd3", "cd3");
  gives_name ("/cd4", "cd4");
  gives_name ("/cd5", "cd5");
  gives_name ("/cd6", "cd6");
  gives_name ("/", "index.html");
  gives_name ("/file?x=1#y", "file");
  ok (fetch ("/cd", -1, NULL, &r, &msg) == 0 && r.mtime == -1,
      "without Last-Modified the mtime is -1 (%lld)", (long long)r.mtime);
  hutch_url_result_clear (&r);
}

static void
test_max (void)
{
  struct hutch_url_result r = { 0 };
  int64_t n = (int64_t)strlen (content);
  char *msg = NULL;

  ok (fetch ("/file", n, NULL, &r, &msg) == 0, "a body of exactly MAX bytes is taken (%s)",
      msg ? msg : "");
  hutch_url_result_clear (&r);
  ok (fetch ("/file", n - 1, NULL, &r, &msg) < 0 && msg && strstr (msg, "larger"),
      "one byte more than MAX, announced by Content-Length: an error (%s)", msg);
  free (msg);
  ok (fetch ("/stream", 4999, NULL, &r, &msg) < 0 && msg && strstr (msg, "larger"),
      "one byte more than MAX, without Content-Length: an error (%s)", msg);
  free (msg);
  ok (fetch ("/stream", 5000, NULL, &r, &msg) == 0 && r.size == 5000,
      "exactly MAX without Content-Length: taken (%s)", msg ? msg : "");
  hutch_url_result_clear (&r);
}

static void
test_gzip (void)
{
  struct hutch_url_result r = { 0 };
  hutch_error_t err = HUTCH_ERROR_INIT;
  char want[HUTCH_DIGEST_BUF_LEN];
  _cleanup_free_ char *plain = NULL, *msg = NULL;
  size_t i;

  plain = hutch_xmalloc0 (11 * 100 + 1);
  for (i = 0; i < 100; i++)
    memcpy (plain + i * 11, "plain text ", 11);
  hutch_digest_buffer (plain, strlen (plain), want, &err);
  ok (fetch ("/gz", -1, NULL, &r, &msg) == 0 && strcmp (r.digest, want) == 0 && r.size == 1100,
      "a gzip Content-Encoding is undone, as BuildKit's client does (%s)", msg ? msg : "");
  hutch_url_result_clear (&r);
  hutch_error_clear (&err);
}

/* An https server with a self-signed certificate: refused unless
   verification is off; its redirects stay on https.  */
static void
test_tls (void)
{
  _cleanup_free_ char *openssl = hutch_find_program ("openssl"), *cmd = NULL, *u = NULL;
  _cleanup_free_ char *down = NULL, *pem = hutch_xasprintf ("%s/tls.pem", dir);
  struct hutch_url_result r = { 0 };
  hutch_error_t err = HUTCH_ERROR_INIT;
  _cleanup_close_ int fd = new_file ();
  char want[HUTCH_DIGEST_BUF_LEN];

  if (openssl == NULL)
    {
      ok (1, "# SKIP https: no openssl to make a certificate");
      return;
    }
  cmd = hutch_xasprintf ("'%s' req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
                         "-keyout '%s' -out '%s.crt' >/dev/null 2>&1 && cat '%s.crt' >> '%s'",
                         openssl, pem, pem, pem, pem);
  if (system (cmd) != 0 || spawn (pem, &tls_server, &tls_port) < 0)
    {
      ok (1, "# SKIP https: cannot start a server with a self-signed certificate");
      return;
    }
  u = hutch_xasprintf ("https://127.0.0.1:%d/file", tls_port);
  ok (hutch_url_fetch (u, fd, 1, -1, NULL, &r, &err) < 0 && err.msg && strstr (err.msg, "TLS")
          && strstr (err.msg, "--tls-verify=false"),
      "https with an unknown CA is refused, naming the fixes (%s)", err.msg);
  hutch_error_clear (&err);
  ok (hutch_url_fetch (u, fd, 0, -1, NULL, &r, &err) == 0 && r.size == (int64_t)strlen (content),
      "... and taken without verification (%s)", err.msg ? err.msg : "");
  hutch_url_result_clear (&r);
  hutch_error_clear (&err);
  free (u);
  down = url ("/file");
  u = hutch_xasprintf ("https://127.0.0.1:%d/to?%s", tls_port, down);
  ok (hutch_url_fetch (u, fd, 0, -1, NULL, &r, &err) < 0 && err.msg
          && strstr (err.msg, "stays on https"),
      "a redirect from https to http is not followed (%s)", err.msg);
  hutch_error_clear (&err);
  hutch_digest_buffer (content, strlen (content), want, &err);
  ok (hutch_url_fetch (u, fd, 0, -1, want, &r, &err) == 0 && strcmp (r.digest, want) == 0,
      "... unless --checksum pins the file (%s)", err.msg ? err.msg : "");
  hutch_url_result_clear (&r);
  hutch_error_clear (&err);
}

static void
dockerfile_name (const char *u, const char *want)
{
  _cleanup_free_ char *got = hutch_url_dockerfile_name (u);
  is_str (got, want, "ADD %s names the file %s (%s)", u, want, got);
}

static void
test_dockerfile_name (void)
{
  dockerfile_name ("https://example.com/a/b.tar.gz?x=1#f", "b.tar.gz");
  dockerfile_name ("https://example.com", "__unnamed__");
  dockerfile_name ("https://example.com/", "__unnamed__");
  dockerfile_name ("https://example.com///", "__unnamed__");
  dockerfile_name ("https://example.com/dir/", "dir");
  dockerfile_name ("https://example.com/a%20b.txt", "a b.txt");
  dockerfile_name ("https://example.com/a%2Fb", "b");
  dockerfile_name ("https://example.com/a/..", "download");
  dockerfile_name ("https://example.com/a/%2E%2E", "download");
  dockerfile_name ("https://example.com/%0A", "download");
  dockerfile_name ("https://example.com/x%01y", "download");
  dockerfile_name ("https://example.com/%20x%20", "x");
  dockerfile_name ("https://example.com/a%00b", "download");
}

int
main (void)
{
  _cleanup_free_ char *rm = NULL;
  const char *why = NULL;

  python = hutch_find_program ("python3");
  if (python == NULL)
    {
      printf ("1..0 # SKIP no python3 to run a local HTTP server\n");
      return 77;
    }
  if (mkdtemp (dir) == NULL)
    {
      printf ("1..0 # SKIP cannot create a temporary directory: %s\n", strerror (errno));
      return 77;
    }
  /* Straight to 127.0.0.1, whatever proxy the environment names.  */
  unsetenv ("http_proxy");
  unsetenv ("https_proxy");
  unsetenv ("HTTPS_PROXY");
  unsetenv ("all_proxy");
  unsetenv ("ALL_PROXY");
  setenv ("no_proxy", "*", 1);
  if (start_server (&why) < 0)
    {
      stop (&server);
      printf ("1..0 # SKIP %s\n", why);
      return 77;
    }
  test_file ();
  test_checksum ();
  test_errors ();
  test_redirect ();
  test_disposition ();
  test_max ();
  test_gzip ();
  test_tls ();
  test_dockerfile_name ();
  stop (&server);
  stop (&tls_server);
  rm = hutch_xasprintf ("rm -rf '%s'", dir);
  if (system (rm) != 0)
    printf ("# could not remove %s\n", dir);
  free (python);
  return tap_done ();
}
