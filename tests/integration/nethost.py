#!/usr/bin/env python3
# The host's side of network.bats: small servers and clients, all on
# 127.0.0.1 only (nothing here ever talks to another address).
#
#   nethost.py http-server DIR         serve DIR over HTTP; prints the port
#   nethost.py udp-echo                echo datagrams ("echo:" + data);
#                                      prints the port
#   nethost.py tcp-listen              hold a listening TCP socket; prints the port
#   nethost.py dns NAME ADDR PORT      a DNS server for one name (A -> ADDR;
#                                      NXDOMAIN for others); prints "ready",
#                                      then one "query NAME TYPE" line each
#   nethost.py get PORT PATH [SECS]    HTTP GET, retried until an answer
#                                      (default 10 s); prints the body
#   nethost.py udp-send PORT MSG [SECS]  send MSG, resent until a reply
#                                      (default 10 s); prints the reply
#   nethost.py echo-check PORT BYTES [SECS]  send BYTES random bytes to a TCP
#                                      echo server, half-close, read them back;
#                                      prints "ok BYTES" when they match
#   nethost.py can-bind tcp|udp ADDR PORT  exit 0 when ADDR:PORT can be bound
#   nethost.py free-port               prints a port that was free just now
#
# The servers print their line, then run until killed.
import hashlib
import http.client
import http.server
import os
import socket
import struct
import sys
import threading
import time

LOCAL = "127.0.0.1"


def say(*a):
    print(*a, flush=True)


def http_server(d):
    os.chdir(d)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer((LOCAL, 0), Quiet)
    say(srv.server_address[1])
    srv.serve_forever()


def udp_echo():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((LOCAL, 0))
    say(s.getsockname()[1])
    while True:
        d, a = s.recvfrom(65536)
        s.sendto(b"echo:" + d, a)


def tcp_listen():
    s = socket.socket()
    s.bind((LOCAL, 0))
    s.listen(1)
    say(s.getsockname()[1])
    while True:
        time.sleep(3600)


def dns(name, addr, port):
    name = name.lower().rstrip(".")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((LOCAL, int(port)))
    say("ready")
    while True:
        q, peer = s.recvfrom(4096)
        try:
            qid, _flags, qdcount = struct.unpack(">HHH", q[:6])
            if qdcount != 1:
                continue
            i, labels = 12, []
            while q[i]:
                labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
                i += 1 + q[i]
            i += 1
            qtype, _qclass = struct.unpack(">HH", q[i:i + 4])
        except (IndexError, struct.error):
            continue
        question = q[12:i + 4]
        qname = ".".join(labels).lower()
        say("query %s %d" % (qname, qtype))
        if qname == name:
            answers = b""
            if qtype == 1:
                answers = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton(addr)
            r = struct.pack(">HHHHHH", qid, 0x8180, 1, 1 if answers else 0, 0, 0)
        else:
            answers = b""
            r = struct.pack(">HHHHHH", qid, 0x8183, 1, 0, 0, 0)
        s.sendto(r + question + answers, peer)


def get(port, path, secs=10):
    end = time.monotonic() + float(secs)
    last = None
    while time.monotonic() < end:
        try:
            c = http.client.HTTPConnection(LOCAL, int(port), timeout=5)
            c.request("GET", path)
            r = c.getresponse()
            body = r.read()
            if r.status == 200:
                sys.stdout.buffer.write(body)
                return 0
            last = "HTTP %d" % r.status
        except (OSError, http.client.HTTPException) as e:
            last = repr(e)
        time.sleep(0.05)
    print("nethost: GET 127.0.0.1:%s%s: no answer in %s s (%s)" % (port, path, secs, last), file=sys.stderr)
    return 1


def udp_send(port, msg, secs=10):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((LOCAL, int(port)))
    s.settimeout(0.2)
    end = time.monotonic() + float(secs)
    while time.monotonic() < end:
        try:
            s.send(msg.encode())
            say(s.recv(65536).decode())
            return 0
        except ConnectionRefusedError:
            time.sleep(0.05)
        except socket.timeout:
            pass
    print("nethost: no UDP reply from 127.0.0.1:%s in %s s" % (port, secs), file=sys.stderr)
    return 1


def echo_once(port, data):
    s = socket.create_connection((LOCAL, int(port)), timeout=10)
    got = []

    def reader():
        while True:
            b = s.recv(1 << 20)
            if not b:
                return
            got.append(b)

    t = threading.Thread(target=reader)
    t.start()
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    t.join()
    s.close()
    return b"".join(got)


def echo_check(port, n, secs=10):
    data = os.urandom(int(n))
    end = time.monotonic() + float(secs)
    last = None
    while time.monotonic() < end:
        try:
            back = echo_once(port, data)
        except OSError as e:
            last = repr(e)
            time.sleep(0.05)
            continue
        if back == data:
            say("ok %d" % len(data))
            return 0
        if back:
            print("nethost: echo through 127.0.0.1:%s: sent %d bytes (sha256 %s), got %d back (sha256 %s)"
                  % (port, len(data), hashlib.sha256(data).hexdigest()[:16], len(back),
                     hashlib.sha256(back).hexdigest()[:16]), file=sys.stderr)
            return 1
        # nothing back: the server in the container is not up yet
        last = "connection closed with no data"
        time.sleep(0.05)
    print("nethost: no echo from 127.0.0.1:%s in %s s (%s)" % (port, secs, last), file=sys.stderr)
    return 1


def can_bind(proto, addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
    try:
        if proto == "udp":
            s.bind((addr, int(port)))
        else:
            # as a server would: the old listener's connections in
            # TIME_WAIT do not count, a listener does
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((addr, int(port)))
            s.listen(1)
    except OSError as e:
        print("nethost: cannot bind %s %s:%s: %s" % (proto, addr, port, e), file=sys.stderr)
        return 1
    return 0


def free_port():
    s = socket.socket()
    s.bind((LOCAL, 0))
    say(s.getsockname()[1])


CMDS = {
    "http-server": http_server, "udp-echo": udp_echo, "tcp-listen": tcp_listen, "dns": dns,
    "get": get, "udp-send": udp_send, "echo-check": echo_check, "can-bind": can_bind,
    "free-port": free_port,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in CMDS:
        print("usage: nethost.py %s ..." % "|".join(CMDS), file=sys.stderr)
        sys.exit(2)
    try:
        sys.exit(CMDS[sys.argv[1]](*sys.argv[2:]) or 0)
    except KeyboardInterrupt:
        sys.exit(130)
