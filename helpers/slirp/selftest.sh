#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# selftest.sh HUTCH-SLIRP: hutch-slirp on its own, as an unprivileged user,
# on a user+network namespace made by unshare(1).  TAP output; 77 = skipped.
# Traffic goes only to 127.0.0.1 and the namespace.
set -u

B=${1:?usage: selftest.sh PATH/TO/hutch-slirp}
PY=/usr/bin/python3
for t in unshare nsenter ip curl "$PY"; do
    if ! command -v "$t" >/dev/null 2>&1; then
        echo "1..0 # SKIP $t is missing"
        exit 77
    fi
done
if [ "$(id -u)" = 0 ]; then
    echo "1..0 # SKIP run as an unprivileged user"
    exit 77
fi
if ! unshare --user --map-root-user --net true 2>/dev/null; then
    echo "1..0 # SKIP no unprivileged user namespaces"
    exit 77
fi

T=$(mktemp -d)
n=0 failed=0 pids=()
ok () { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi; }
bg () { "$@" >/dev/null 2>&1 & pids+=($!); }
cleanup () { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT

inside () { nsenter --preserve-credentials -U -n -t "$NS" "$@"; }
new_ns () {
    unshare --user --map-root-user --net sleep 600 &
    NS=$!
    pids+=("$NS")
    for _ in $(seq 100); do
        [ "$(readlink /proc/$NS/ns/net)" != "$(readlink /proc/self/ns/net)" ] && return
        sleep 0.02
    done
}
# helper ARGS...: start it on $NS; $H its pid, $READY what it reported
helper () {
    : > "$T/ready"
    "$B" --userns-fd 7 --netns-fd 8 --ready-fd 9 "$@" 7</proc/$NS/ns/user 8</proc/$NS/ns/net 9>"$T/ready" &
    H=$!
    pids+=("$H")
    for _ in $(seq 200); do
        grep -qE '^(ok|error)' "$T/ready" && break
        sleep 0.02
    done
    READY=$(cat "$T/ready")
}
port_of () { echo "$READY" | awk -v k="port $1" 'index($0, k " ") == 1 { n = split($3, a, ":"); print a[n] }'; }
free_port () { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$B" --check-sandbox > "$T/sandbox" 2>&1
ok $? "--check-sandbox: $(grep -c '^ok' "$T/sandbox") checks hold"

echo host-page > "$T/page"
WEB=$(free_port)
bg $PY -m http.server --bind 127.0.0.1 "$WEB" --directory "$T"
UDPE=$(free_port)
bg $PY -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', $UDPE))
while True:
    d, a = s.recvfrom(65536); s.sendto(b'echo:' + d, a)"

new_ns
helper --allow-host-loopback --publish 127.0.0.1:0:8080/tcp --publish 127.0.0.1:0:5353/udp
echo "$READY" | tail -1 | grep -qx ok
ok $? "ready: $(echo "$READY" | tr '\n' ' ')"
inside ip -o -4 addr show tap0 | grep -q 'inet 10.0.2.100/24'
ok $? "tap0 has 10.0.2.100/24"
inside ip -o link show tap0 | grep -q 'mtu 65520'
ok $? "tap0 has MTU 65520"
inside ip route | grep -q '^default via 10.0.2.2 dev tap0'
ok $? "default route via 10.0.2.2"
inside ip -o link show lo | grep -q 'UP'
ok $? "lo is up"
for _ in $(seq 50); do curl -s -m 1 "http://127.0.0.1:$WEB/page" >/dev/null && break; sleep 0.1; done
[ "$(inside curl -s -m 5 "http://10.0.2.2:$WEB/page")" = host-page ]
ok $? "HTTP to the host's 127.0.0.1 through 10.0.2.2 with --allow-host-loopback"
[ "$(inside $PY -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
s.sendto(b'x', ('10.0.2.2', $UDPE)); print(s.recvfrom(100)[0].decode())")" = echo:x ]
ok $? "UDP to the host's 127.0.0.1 through 10.0.2.2"

echo inside-page > "$T/inside"
bg nsenter --preserve-credentials -U -n -t "$NS" $PY -m http.server --bind 127.0.0.1 8080 --directory "$T"
bg nsenter --preserve-credentials -U -n -t "$NS" $PY -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', 5353))
while True:
    d, a = s.recvfrom(65536); s.sendto(b'inside:' + d, a)"
TP=$(port_of 8080/tcp)
UP=$(port_of 5353/udp)
for _ in $(seq 50); do curl -s -m 1 "http://127.0.0.1:$TP/inside" >/dev/null && break; sleep 0.1; done
[ "$(curl -s -m 5 "http://127.0.0.1:$TP/inside")" = inside-page ]
ok $? "TCP through --publish to 127.0.0.1:8080 inside"
[ "$($PY -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
s.sendto(b'y', ('127.0.0.1', $UP)); print(s.recvfrom(100)[0].decode())")" = inside:y ]
ok $? "UDP through --publish to 127.0.0.1:5353 inside"

"$B" --userns-fd 7 --netns-fd 8 --ready-fd 1 --publish "127.0.0.1:$TP:80/tcp" \
    7</proc/$NS/ns/user 8</proc/$NS/ns/net > "$T/inuse"
[ $? = 1 ] && grep -q "^error: host port $TP/tcp on 127.0.0.1 is already in use" "$T/inuse"
ok $? "a host port in use is refused: $(cat "$T/inuse")"

C=$(pgrep -P "$H")
kill -TERM "$H"
wait "$H"
ok $? "SIGTERM ends it with status 0"
[ -n "$C" ] && [ ! -e "/proc/$C" ]
ok $? "its connector ($C) is gone and reaped"

new_ns
helper
! inside curl -s -m 3 "http://10.0.2.2:$WEB/page" >/dev/null
ok $? "no host loopback without --allow-host-loopback"
inside ip link del tap0
for _ in $(seq 50); do kill -0 "$H" 2>/dev/null || break; sleep 0.05; done
wait "$H"
ok $? "it ends with status 0 when the tap device goes away"

echo "1..$n"
[ "$failed" = 0 ]
