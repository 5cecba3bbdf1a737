#!/usr/bin/env python3
"""A misbehaving HTTP proxy in front of a registry, for the pull tests.

  regproxy.py --upstream http://127.0.0.1:PORT [OPTIONS]

Listens on 127.0.0.1 (a free port unless --port), prints the port on stdout
and writes it to --port-file, and forwards every request to the upstream
registry, keeping the Host header so that the registry's Location headers
point back at the proxy.  Python's standard library only.

  --drop-after N        blob GETs: send N bytes of the body, then close the
                        connection; once per blob, so a client that resumes
                        with a Range header (forwarded) gets the rest
  --drop-always         with --drop-after: cut every response of every blob
                        after N bytes, resumed ones too (a download that can
                        never finish)
  --flip-byte           flip one byte of every blob body: byte 4 of a gzip
                        stream (its mtime: the stream still decompresses, only
                        the digest tells), the middle byte of anything else
  --slow BYTES          blob bodies at BYTES per second; SIGUSR1 ends the
                        slowness (for killing a pull midway, then repeating it)
  --bearer USER:PASS    demand bearer tokens: 401 with a WWW-Authenticate
                        Bearer challenge whose realm is this proxy's /token,
                        which hands out tokens for USER:PASS in basic auth
                        (anonymous: 401); --bearer anonymous gives a token to
                        anyone, as Docker Hub does for public images
  --token-ttl SECONDS   with --bearer: a token older than that is refused (401
                        with the challenge, as for no token), as an expired one
  --v2-scope SCOPE      with --bearer: the challenge of /v2/ asks for SCOPE too,
                        and /v2/ takes only tokens issued for SCOPE
  --bad-manifest json|mediatype|ansi
                        manifests are not JSON, or JSON of an unknown media type,
                        or (ansi) a 404 whose error message holds terminal escape
                        sequences (ESC [31m ...)
  --ignore-range        blob GETs go upstream without their Range header: the
                        answer is 200 and the whole blob (with --drop-after: a
                        server that cannot resume)
  --redirect-blobs HOST:PORT
                        blob GETs (once any token checked out) are answered 307
                        to the same path on http://HOST:PORT
  --upload-via HOST:PORT
                        the Location of a POST .../blobs/uploads/ answer names
                        http://HOST:PORT instead of this proxy (an upload
                        continued on another host: another regproxy there)
  --evil                forward nothing: every request gets 401 with a Bearer
                        challenge whose realm is this proxy's /evil (a storage
                        host that tries to collect credentials); logged as usual
  --log FILE            one line per request: METHOD PATH range=RANGE
                        auth=none|basic|bearer -> STATUS [what was done]
  --max-life SECONDS    exit after that long, whatever happens (default 3600)
"""
import argparse
import base64
import hashlib
import http.client
import http.server
import json
import os
import re
import secrets
import signal
import socket
import sys
import threading
import time
import urllib.parse

HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authenticate",
       "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade",
       "expect"}
BLOB_RE = re.compile(r"^/v2/(.+)/blobs/(sha256:[0-9a-f]{64})$")
MANIFEST_RE = re.compile(r"^/v2/(.+)/manifests/([^/]+)$")
UPLOADS_RE = re.compile(r"^/v2/(.+)/blobs/uploads/?$")
REPO_RE = re.compile(r"^/v2/(.+?)/(manifests|blobs|tags)/")

opts = None
log_lock = threading.Lock()
state_lock = threading.Lock()
dropped = set()          # blobs already cut once
flip_at = {}             # blob -> absolute offset of the flipped byte
tokens = {}              # token -> (time issued, set of scopes)
slow_on = True


def log(line):
    if not opts.log:
        return
    with log_lock:
        with open(opts.log, "a") as f:
            f.write(line + "\n")


def on_usr1(signum, frame):
    global slow_on
    slow_on = False


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "regproxy/1"

    def log_message(self, fmt, *args):
        pass

    # ---- small helpers

    def auth_kind(self):
        a = self.headers.get("Authorization", "")
        return a.split(" ", 1)[0].lower() if a else "none"

    def note(self, status, what=""):
        rng = self.headers.get("Range", "-")
        if opts.ignore_range and rng != "-" and BLOB_RE.match(urllib.parse.urlsplit(self.path).path):
            what = ("range ignored " + what).strip()
        log("%s %s range=%s auth=%s -> %s%s" % (
            self.command, self.path, rng.replace(" ", ""), self.auth_kind(), status,
            " " + what if what else ""))

    def read_body(self):
        n = self.headers.get("Content-Length")
        if n is not None:
            return self.rfile.read(int(n))
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        return b""

    def reply(self, status, body=b"", headers=(), ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    # ---- bearer tokens

    def basic_ok(self):
        if opts.bearer == "anonymous":
            return True
        a = self.headers.get("Authorization", "")
        if not a.lower().startswith("basic "):
            return False
        try:
            got = base64.b64decode(a.split(" ", 1)[1].strip()).decode()
        except Exception:
            return False
        return got == opts.bearer

    def serve_token(self, body):
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        ok = self.basic_ok()
        if self.command == "POST" and not ok:
            # the OAuth2 form some clients post
            f = urllib.parse.parse_qs(body.decode(errors="replace"))
            ok = opts.bearer == "anonymous" or \
                "%s:%s" % (f.get("username", [""])[0], f.get("password", [""])[0]) == opts.bearer
        if not ok:
            self.note(401, "token refused")
            self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                       [("WWW-Authenticate", 'Basic realm="regproxy"')])
            return
        t = secrets.token_hex(16)
        scopes = set()
        for sc in q.get("scope", []):
            scopes.update(sc.split(" "))
        with state_lock:
            tokens[t] = (time.monotonic(), scopes)
        self.note(200, "token issued scope=%s" % ",".join(q.get("scope", [])))
        ttl = int(opts.token_ttl) if opts.token_ttl else 300
        self.reply(200, json.dumps({"token": t, "access_token": t, "expires_in": max(ttl, 1),
                                    "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}).encode())

    def bearer_ok(self, path):
        """Whether the request has a token we gave out; sets self.why."""
        a = self.headers.get("Authorization", "")
        self.why = "bearer challenge"
        if not a.lower().startswith("bearer "):
            return False
        with state_lock:
            got = tokens.get(a.split(" ", 1)[1].strip())
        if got is None:
            self.why = "bearer challenge (unknown token)"
            return False
        issued, scopes = got
        if opts.token_ttl is not None and time.monotonic() - issued > opts.token_ttl:
            self.why = "bearer challenge (token expired)"
            return False
        if opts.v2_scope and path in ("/v2", "/v2/") and opts.v2_scope not in scopes:
            self.why = "bearer challenge (token lacks scope %s)" % opts.v2_scope
            return False
        return True

    def challenge(self):
        port = self.server.server_address[1]
        path = urllib.parse.urlsplit(self.path).path
        ch = 'Bearer realm="http://127.0.0.1:%d/token",service="test"' % port
        m = REPO_RE.match(path)
        if m:
            action = "pull" if self.command in ("GET", "HEAD") else "pull,push"
            ch += ',scope="repository:%s:%s"' % (m.group(1), action)
        elif opts.v2_scope and path in ("/v2", "/v2/"):
            ch += ',scope="%s"' % opts.v2_scope
        self.note(401, getattr(self, "why", "bearer challenge"))
        self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                   [("WWW-Authenticate", ch)])

    # ---- bad manifests

    def bad_manifest(self):
        if opts.bad_manifest == "ansi":
            msg = "manifest \x1b[31mred\x1b[0m unknown\x07\r\x1b]0;title\x07"
            body = json.dumps({"errors": [{"code": "MANIFEST_UNKNOWN", "message": msg,
                                           "detail": msg}]}).encode()
            self.note(404, "bad manifest (ansi)")
            self.reply(404, body)
            return
        if opts.bad_manifest == "json":
            body = b"this is not a manifest {\n"
            ctype = "application/vnd.oci.image.manifest.v1+json"
        else:
            ctype = "application/vnd.example.unknown.v1+json"
            body = json.dumps({"schemaVersion": 2, "mediaType": ctype,
                               "things": [{"digest": "sha256:" + "0" * 64}]}).encode()
        dg = "sha256:" + hashlib.sha256(body).hexdigest()
        self.note(200, "bad manifest (%s)" % opts.bad_manifest)
        self.reply(200, body, [("Docker-Content-Digest", dg), ("Etag", '"%s"' % dg)], ctype)

    # ---- a host that wants credentials it should never get

    def evil(self):
        port = self.server.server_address[1]
        ch = ('Bearer realm="http://127.0.0.1:%d/evil",service="evil",'
              'scope="repository:evil:pull,push"' % port)
        self.note(401, "evil challenge")
        self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                   [("WWW-Authenticate", ch)])

    # ---- forwarding

    def handle_any(self):
        body = self.read_body()
        path = urllib.parse.urlsplit(self.path).path
        if opts.evil:
            return self.evil()
        if path == "/token" and opts.bearer:
            return self.serve_token(body)
        if opts.bearer and path.startswith("/v2") and not self.bearer_ok(path):
            return self.challenge()
        if opts.bad_manifest and self.command in ("GET", "HEAD") and MANIFEST_RE.match(path):
            return self.bad_manifest()
        if opts.redirect_blobs and self.command in ("GET", "HEAD") and BLOB_RE.match(path):
            loc = "http://%s%s" % (opts.redirect_blobs, self.path)
            self.note(307, "redirected to %s" % loc)
            self.reply(307, b"", [("Location", loc)], "text/plain")
            return

        up = urllib.parse.urlsplit(opts.upstream)
        conn = http.client.HTTPConnection(up.hostname, up.port or 80, timeout=120)
        headers = {}
        for k, v in self.headers.items():
            if k.lower() in HOP or k.lower() == "content-length":
                continue
            if k.lower() == "authorization" and opts.bearer:
                continue
            if k.lower() == "range" and opts.ignore_range and BLOB_RE.match(path):
                continue
            headers[k] = v
        if body or self.command in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = str(len(body))
        try:
            conn.request(self.command, self.path, body=body if body else None, headers=headers)
            resp = conn.getresponse()
        except OSError as e:
            self.note(502, "upstream: %s" % e)
            self.reply(502, b"upstream failed\n", ctype="text/plain")
            return
        try:
            m = BLOB_RE.match(path)
            if m and self.command == "GET" and resp.status in (200, 206):
                self.relay_blob(resp, m.group(2))
            else:
                data = resp.read()
                what = ""
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() in HOP or k.lower() == "content-length":
                        continue
                    if (k.lower() == "location" and opts.upload_via and self.command == "POST"
                            and UPLOADS_RE.match(path)):
                        u = urllib.parse.urlsplit(v)
                        v = urllib.parse.urlunsplit(("http", opts.upload_via, u.path, u.query, ""))
                        what = "upload sent to %s" % opts.upload_via
                    self.send_header(k, v)
                n = resp.getheader("Content-Length")
                if self.command == "HEAD" and n is not None:
                    self.send_header("Content-Length", n)
                else:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                self.note(resp.status, what)
        finally:
            conn.close()

    def relay_blob(self, resp, digest):
        length = resp.getheader("Content-Length")
        length = int(length) if length is not None else None
        start, total = 0, length
        cr = resp.getheader("Content-Range")
        if resp.status == 206 and cr:
            mm = re.match(r"bytes (\d+)-(\d+)/(\d+|\*)", cr)
            if mm:
                start = int(mm.group(1))
                if mm.group(3) != "*":
                    total = int(mm.group(3))
        if length is None:
            data = resp.read()
            length = len(data)
            pending = data
        else:
            pending = None

        limit = None
        what = []
        if opts.drop_after is not None and length > opts.drop_after:
            with state_lock:
                if opts.drop_always or digest not in dropped:
                    dropped.add(digest)
                    limit = opts.drop_after
        flip = None
        if opts.flip_byte:
            with state_lock:
                flip = flip_at.get(digest)

        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() in HOP or k.lower() == "content-length":
                continue
            self.send_header(k, v)
        self.send_header("Content-Length", str(length))
        self.end_headers()

        sent = 0
        chunk = 16384
        t0 = time.monotonic()
        while sent < length:
            if pending is not None:
                buf, pending = pending[:chunk], pending[chunk:]
            else:
                buf = resp.read(min(chunk, length - sent))
            if not buf:
                break
            if opts.flip_byte:
                if flip is None:
                    # decided on the first bytes of the blob
                    if start == 0 and buf[:2] == b"\x1f\x8b" and (total or 0) > 8:
                        flip = 4
                    else:
                        flip = (total or length) // 2
                    with state_lock:
                        flip = flip_at.setdefault(digest, flip)
                rel = flip - (start + sent)
                if 0 <= rel < len(buf):
                    b = bytearray(buf)
                    b[rel] ^= 0xFF
                    buf = bytes(b)
                    what.append("flipped byte %d" % flip)
            if limit is not None and sent + len(buf) >= limit:
                buf = buf[:limit - sent]
                try:
                    if buf:
                        self.wfile.write(buf)
                    self.wfile.flush()
                except OSError:
                    pass
                sent += len(buf)
                what.append("dropped after %d bytes" % sent)
                self.note(resp.status, " ".join(what))
                self.cut()
                return
            try:
                self.wfile.write(buf)
            except OSError:
                self.note(resp.status, "client went away after %d bytes" % sent)
                self.close_connection = True
                return
            sent += len(buf)
            if opts.slow and slow_on:
                ahead = sent / opts.slow - (time.monotonic() - t0)
                if ahead > 0:
                    time.sleep(ahead)
        self.note(resp.status, " ".join(what))

    def cut(self):
        """Close the client's connection now, mid-body."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global opts
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--upstream", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--log")
    p.add_argument("--drop-after", type=int)
    p.add_argument("--drop-always", action="store_true")
    p.add_argument("--flip-byte", action="store_true")
    p.add_argument("--slow", type=int, metavar="BYTES")
    p.add_argument("--bearer", metavar="USER:PASS")
    p.add_argument("--token-ttl", type=float, metavar="SECONDS")
    p.add_argument("--v2-scope", metavar="SCOPE")
    p.add_argument("--bad-manifest", choices=["json", "mediatype", "ansi"])
    p.add_argument("--ignore-range", action="store_true")
    p.add_argument("--redirect-blobs", metavar="HOST:PORT")
    p.add_argument("--upload-via", metavar="HOST:PORT")
    p.add_argument("--evil", action="store_true")
    p.add_argument("--max-life", type=float, default=3600)
    opts = p.parse_args()
    if opts.drop_always and opts.drop_after is None:
        p.error("--drop-always needs --drop-after")
    if (opts.token_ttl is not None or opts.v2_scope) and not opts.bearer:
        p.error("--token-ttl and --v2-scope need --bearer")

    srv = Server(("127.0.0.1", opts.port), Handler)
    port = srv.server_address[1]
    signal.signal(signal.SIGUSR1, on_usr1)
    signal.signal(signal.SIGTERM, lambda s, f: os._exit(0))
    if opts.max_life > 0:
        t = threading.Timer(opts.max_life, lambda: os._exit(3))
        t.daemon = True
        t.start()
    if opts.log:
        open(opts.log, "a").close()
    if opts.port_file:
        tmp = opts.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, opts.port_file)
    print(port, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
