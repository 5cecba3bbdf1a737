#!/usr/bin/env bats
# The container's network (issue 5): --network slirp (hutch-slirp: a tap
# device in the container's network namespace, libslirp outside), -p/--publish,
# --dns, --add-host.
#
# Traffic goes to 127.0.0.1 and to the container only: the host's servers
# (nethost.py) bind 127.0.0.1, the containers reach them at 10.0.2.2 with
# allow_host_loopback, and the name lookup runs in a network namespace of its
# own (unshare) whose only interface is lo and whose /etc/resolv.conf names a
# DNS server on its 127.0.0.1, so that libslirp's DNS forwarder cannot ask a
# real one.  No test looks up a name outside that namespace.
#
# The image "net" is the busybox rootfs plus /bin/netutil (netutil.c, built
# static here: busybox's nc has no UDP), imported once into a store of the
# file's; background processes are tracked in BGPIDS and killed in teardown.

load helpers

# the host's side: nethost ARGS..., or NETHOST_PY for the servers (bg needs
# a program, not a function: its pid must be the server's)
NETHOST_PY=$BATS_TEST_DIRNAME/nethost.py
nethost() { python3 "$NETHOST_PY" "$@"; }

setup_file() {
    local D=$BATS_FILE_TMPDIR
    export NSTORE=$D/store NETUTIL_MISSING=
    cp -a "$ROOTFS" "$D/rootfs"
    if [ ! -f "$BATS_TEST_DIRNAME/netutil.c" ]; then
        NETUTIL_MISSING="$BATS_TEST_DIRNAME/netutil.c is missing (tests/integration/run must copy tests/integration/*.c next to the .bats files)"
    elif ! command -v cc >/dev/null; then
        NETUTIL_MISSING="no C compiler (cc) to build netutil.c (apt install gcc libc6-dev)"
    elif ! cc -static -O2 -o "$D/rootfs/bin/netutil" "$BATS_TEST_DIRNAME/netutil.c" 2> "$D/cc.err"; then
        NETUTIL_MISSING="cc -static netutil.c failed: $(head -c 300 "$D/cc.err")"
    fi
    tar --owner=0 --group=0 --numeric-owner -C "$D/rootfs" -czf "$D/net.tar.gz" .
    rm -rf "$D/rootfs"
    "$HUTCH" --root "$NSTORE" import "$D/net.tar.gz" net >/dev/null
}

teardown_file() {
    empty_store "$NSTORE"
    rm -rf "$NSTORE"
}

setup() {
    BGPIDS=()
    [ -x "$(dirname "$HUTCH")/hutch-slirp" ] ||
        fail_now "no hutch-slirp beside $HUTCH (tests/integration/run must copy it with the other binaries)"
}

teardown() {
    kill_bgpids
}

need_netutil() {
    [ -z "$NETUTIL_MISSING" ] || fail_now "netutil is not in the image: $NETUTIL_MISSING"
}

H() { "$HUTCH" --root "$NSTORE" "$@"; }

# server VAR CMD...: start a nethost.py server (or another command that
# prints one line when it is ready); VAR gets that line
server() {
    local var=$1 out
    shift
    out=$(mktemp "$BATS_TEST_TMPDIR/srv.XXXXXX")
    bg "$out" "$@"
    if ! wait_for file_has "$out" .; then
        echo "server $* did not start:" >&2
        cat "$out.err" >&2
        return 1
    fi
    printf -v "$var" '%s' "$(head -n 1 "$out")"
}

free_port() { nethost free-port; }

# still_running PID OUT: fail unless PID (a hutch started with bg OUT ...)
# still runs; shows its stderr when it does not
still_running() {
    if ! is_alive "$1"; then
        echo "hutch (pid $1) ended early:" >&2
        cat "$2.err" >&2
        return 1
    fi
}

# slirp_of HUTCHPID: "MAIN CONNECTOR", the two processes of its hutch-slirp
slirp_of() {
    local main conn
    main=$(pgrep -P "$1" -x hutch-slirp) || return 1
    conn=$(pgrep -P "$main" -x hutch-slirp) || return 1
    echo "$main $conn"
}

# netns_of HUTCHPID NAME: the network namespace ("net:[N]") of its
# container's process NAME (hutch-slirp's own links cannot be read: it is not
# dumpable)
netns_of() {
    local p
    p=$(pgrep -P "$1" -x "$2" | head -n 1) && [ -n "$p" ] || return 1
    readlink "/proc/$p/ns/net"
}

# gone PID...: none of them is alive (zombies waiting for init count as gone)
gone() {
    local p
    for p in "$@"; do
        ! is_alive "$p" || return 1
    done
}

# my_live_slirps: the live hutch-slirp processes of the user
my_live_slirps() {
    local p
    for p in $(pgrep -u "$MY_UID" -x hutch-slirp); do
        is_alive "$p" && echo "$p"
    done
    return 0
}

# new_slirps BEFORE: the live hutch-slirp processes not in BEFORE (a list of
# pids); no_new_slirps BEFORE: there are none
new_slirps() {
    local p
    for p in $(my_live_slirps); do
        [[ " ${1//$'\n'/ } " == *" $p "* ]] || echo "$p"
    done
    return 0
}
no_new_slirps() { [ -z "$(new_slirps "$1")" ]; }

# holders NSLINK: the user's processes that are in the network namespace
# NSLINK ("net:[N]") or hold an fd of it
holders() {
    local d
    for d in /proc/[0-9]*; do
        [ -O "$d" ] || continue
        is_alive "${d#/proc/}" || continue
        if [ "$(readlink "$d/ns/net" 2>/dev/null)" = "$1" ] ||
            find "$d/fd" -mindepth 1 -maxdepth 1 -lname "$1" 2>/dev/null | grep -q .; then
            echo "${d#/proc/}: $(tr '\0' ' ' < "$d/cmdline" 2>/dev/null)"
        fi
    done
    return 0
}

no_holders() { [ -z "$(holders "$1")" ]; }

# ---------------------------------------------------------------------------
# inside the container
# ---------------------------------------------------------------------------

@test "slirp is the default for images: tap0 10.0.2.100/24, MTU 65520, lo up, default route via 10.0.2.2" {
    run H run net sh -c 'ip -o link show lo; ip -o link show tap0; ip -o -4 addr show tap0; ip route'
    assert_status 0
    printf '%s\n' "$output" | grep -E '^1: lo: <[^>]*\bUP\b' || fail_now "lo is not up: $output"
    printf '%s\n' "$output" | grep -E '^[0-9]+: tap0: <[^>]*\bUP\b[^>]*> mtu 65520 ' ||
        fail_now "tap0 is not up with MTU 65520: $output"
    printf '%s\n' "$output" | grep -E '^[0-9]+: tap0 +inet 10\.0\.2\.100/24 ' || fail_now "tap0 lacks 10.0.2.100/24: $output"
    printf '%s\n' "$output" | grep -E '^default via 10\.0\.2\.2 dev tap0' || fail_now "no default route via 10.0.2.2: $output"
    # the container's only interfaces
    run H run net sh -c 'ls /sys/class/net | sort | tr "\n" " "'
    assert_status 0
    assert_equal "$output" "lo tap0 "
}

@test "--network slirp:mtu=1500,cidr=...: the MTU and the addresses follow" {
    run H run --network slirp:mtu=1500 net ip -o link show tap0
    assert_status 0
    assert_output_has " mtu 1500 "
    run H run --network slirp:cidr=10.9.8.0/24 net sh -c \
        'ip -o -4 addr show tap0; ip route; cat /etc/resolv.conf /etc/hosts'
    assert_status 0
    assert_output_has "inet 10.9.8.100/24" "default via 10.9.8.2 dev tap0" "nameserver 10.9.8.3"
    printf '%s\n' "$output" | grep -E '^10\.9\.8\.2[[:space:]]+host\.containers\.internal$' ||
        fail_now "host.containers.internal is not 10.9.8.2: $output"
}

@test "--network slirp:enable_ipv6=true: fd00::100/64 and a route via fd00::2" {
    run H run --network slirp:enable_ipv6=true net sh -c 'ip -o -6 addr show tap0; ip -6 route'
    assert_status 0
    assert_output_has "inet6 fd00::100/64" "default via fd00::2 dev tap0"
}

@test "/etc/resolv.conf and /etc/hosts; --dns and --add-host change them" {
    run H run net sh -c 'cat /etc/resolv.conf; echo ---; cat /etc/hosts; echo ---; hostname'
    assert_status 0
    local resolv hosts name
    resolv=$(printf '%s\n' "$output" | sed -n '1,/^---$/p' | sed '$d')
    hosts=$(printf '%s\n' "$output" | sed -n '/^---$/,/^---$/p' | sed '1d;$d')
    name=$(printf '%s\n' "$output" | tail -n 1)
    assert_equal "$(printf '%s\n' "$resolv" | grep -v '^#' | grep .)" "nameserver 10.0.2.3"
    printf '%s\n' "$hosts" | grep -E "^10\.0\.2\.100[[:space:]]+$name\$" ||
        fail_now "/etc/hosts lacks \"10.0.2.100 $name\": $hosts"
    printf '%s\n' "$hosts" | grep -E '^10\.0\.2\.2[[:space:]]+host\.containers\.internal$' ||
        fail_now "/etc/hosts lacks host.containers.internal at 10.0.2.2: $hosts"
    printf '%s\n' "$hosts" | grep -E '^127\.0\.0\.1[[:space:]]+localhost' || fail_now "no localhost: $hosts"

    run H run --dns 192.0.2.53 --dns 2001:db8::53 --add-host db:10.0.2.2 --add-host other=192.0.2.9 \
        net sh -c 'cat /etc/resolv.conf; echo ---; cat /etc/hosts'
    assert_status 0
    resolv=$(printf '%s\n' "$output" | sed -n '1,/^---$/p' | sed '$d')
    hosts=$(printf '%s\n' "$output" | sed -n '/^---$/,$p' | sed '1d')
    # --dns replaces the slirp name server
    assert_equal "$(printf '%s\n' "$resolv" | grep -v '^#' | grep .)" "$(printf 'nameserver 192.0.2.53\nnameserver 2001:db8::53')"
    printf '%s\n' "$hosts" | grep -E '^10\.0\.2\.2[[:space:]]+db$' || fail_now "no db line: $hosts"
    printf '%s\n' "$hosts" | grep -E '^192\.0\.2\.9[[:space:]]+other$' || fail_now "no other line: $hosts"
    printf '%s\n' "$hosts" | grep -E '^10\.0\.2\.2[[:space:]]+host\.containers\.internal$' ||
        fail_now "--add-host dropped host.containers.internal: $hosts"
}

@test "HTTP GET from the container to the host's 127.0.0.1 works with allow_host_loopback, and only with it" {
    local port
    mkdir "$BATS_TEST_TMPDIR/www"
    echo "from the host" > "$BATS_TEST_TMPDIR/www/hello.txt"
    server port python3 "$NETHOST_PY" http-server "$BATS_TEST_TMPDIR/www"
    # (busybox wget -T crashes: timeout(1) bounds it instead)
    run H run --network slirp:allow_host_loopback=true net timeout 10 wget -q -O - "http://10.0.2.2:$port/hello.txt"
    assert_status 0
    assert_equal "$output" "from the host"
    # also by name, from /etc/hosts (--dns 127.0.0.1: were it asked, no
    # name server outside would be)
    run H run --network slirp:allow_host_loopback=true --dns 127.0.0.1 net \
        timeout 10 wget -q -O - "http://host.containers.internal:$port/hello.txt"
    assert_status 0
    assert_equal "$output" "from the host"
    # the default: the host's loopback is out of reach
    run H run net timeout 10 wget -q -O - "http://10.0.2.2:$port/hello.txt"
    [ "$status" -ne 0 ] || fail_now "reached the host's 127.0.0.1 without allow_host_loopback: $output"
    [[ $output != *"from the host"* ]]
    run H run --network slirp:allow_host_loopback=false net timeout 10 wget -q -O - "http://10.0.2.2:$port/hello.txt"
    [ "$status" -ne 0 ]
}

@test "a raw frame to 127.0.0.1, 0.0.0.0 or 10.0.2.2 does not reach the host's loopback (CAP_NET_RAW)" {
    need_netutil
    local port
    # a listener on the host's 127.0.0.1: a SYN-ACK would mean it was reached
    server port python3 "$NETHOST_PY" http-server "$BATS_TEST_TMPDIR"
    for dst in 127.0.0.1 0.0.0.0 10.0.2.2; do
        run H run net netutil raw-syn "$dst" "$port"
        assert_status 0
        [ "$output" != syn-ack ] || fail_now "a raw SYN to $dst reached the host's 127.0.0.1:$port"
    done
    # with allow_host_loopback, 10.0.2.2 is the host's loopback: the same
    # frame gets its SYN-ACK (the test can tell)
    run H run --network slirp:allow_host_loopback=true net netutil raw-syn 10.0.2.2 "$port"
    assert_status 0
    assert_equal "$output" syn-ack
}

@test "UDP from the container: an echo server on the host's 127.0.0.1 through 10.0.2.2" {
    need_netutil
    local port
    server port python3 "$NETHOST_PY" udp-echo
    run H run --network slirp:allow_host_loopback=true net netutil udp-send 10.0.2.2 "$port" ping-from-container
    assert_status 0
    assert_equal "$output" "echo:ping-from-container"
    # a large datagram (well over 1500 bytes: the tap's MTU is 65520)
    run H run --network slirp:allow_host_loopback=true net sh -c \
        "netutil udp-send 10.0.2.2 $port \$(head -c 6000 /dev/zero | tr '\\0' x) | wc -c"
    assert_status 0
    assert_equal "$output" "6006"
    # and not without allow_host_loopback
    run H run net netutil udp-send 10.0.2.2 "$port" nope 1
    [ "$status" -ne 0 ] || fail_now "UDP reached the host's 127.0.0.1 without allow_host_loopback: $output"
}

# The lookup runs in a user, mount and network namespace of its own (the
# test's, made with unshare): lo is its only interface, /etc/resolv.conf is
# "nameserver 127.0.0.1" there, and nethost.py answers on its 127.0.0.1:53.
# libslirp's DNS forwarder (10.0.2.3) asks the host's resolver from
# resolv.conf, which is on the host's loopback: it does so also without
# allow_host_loopback (that switch is for 10.0.2.2 only).  --userns single:
# there are no subordinate ids in that namespace.
@test "a name lookup through the slirp DNS (10.0.2.3), answered by a DNS server on the host's loopback" {
    command -v unshare >/dev/null || skip "no unshare (util-linux)"
    unshare --user --map-root-user --net --mount true 2>/dev/null ||
        skip "unprivileged user, network and mount namespaces are not available here"
    local D=$BATS_TEST_TMPDIR
    echo "nameserver 127.0.0.1" > "$D/resolv.conf"
    cat > "$D/inner.sh" <<'EOF'
set -u
busybox ip link set lo up || exit 90
mount --bind "$D/resolv.conf" /etc/resolv.conf || exit 91
grep -qx 'nameserver 127.0.0.1' /etc/resolv.conf || exit 92
python3 "$NETHOST_PY" dns hutch-test.example 192.0.2.77 53 > "$D/dns.log" 2> "$D/dns.err" &
dns=$!
trap 'kill $dns' EXIT
for i in $(seq 100); do grep -q ready "$D/dns.log" 2>/dev/null && break; sleep 0.05; done
grep -q ready "$D/dns.log" || { cat "$D/dns.err"; exit 94; }
"$HUTCH" --root "$D/store" import "$NET_TAR" net > /dev/null || exit 93
echo "== default"
"$HUTCH" --root "$D/store" run --userns single net nslookup hutch-test.example 10.0.2.3
echo "rc=$?"
echo "== resolv.conf"
"$HUTCH" --root "$D/store" run --userns single net nslookup -type=a hutch-test.example
echo "rc=$?"
echo "== unknown"
"$HUTCH" --root "$D/store" run --userns single net nslookup -type=a no-such.example 10.0.2.3
echo "rc=$?"
"$HUTCH" --root "$D/store" rmi -f net > /dev/null 2>&1
rm -rf "$D/store"
EOF
    export D HUTCH NETHOST_PY NET_TAR=$BATS_FILE_TMPDIR/net.tar.gz
    run timeout 60 unshare --user --map-root-user --net --mount bash "$D/inner.sh" 3>&-
    echo "$output"
    [ "$status" -eq 0 ] || fail_now "the namespace script failed (status $status)"
    local default resolv unknown
    default=$(printf '%s\n' "$output" | sed -n '/^== default$/,/^rc=/p')
    resolv=$(printf '%s\n' "$output" | sed -n '/^== resolv.conf$/,/^rc=/p')
    unknown=$(printf '%s\n' "$output" | sed -n '/^== unknown$/,/^rc=/p')
    [[ $default == *"rc=0"* ]] && [[ $default == *"Address: 192.0.2.77"* ]] ||
        fail_now "nslookup through 10.0.2.3 failed: $default"
    [[ $resolv == *"rc=0"* ]] && [[ $resolv == *"Address: 192.0.2.77"* ]] ||
        fail_now "nslookup through /etc/resolv.conf failed: $resolv"
    [[ $unknown != *"192.0.2.77"* ]] || fail_now "a name the server does not know resolved: $unknown"
    # the server saw the container's query
    grep -q '^query hutch-test.example 1$' "$D/dns.log" || fail_now "the DNS server saw no query: $(cat "$D/dns.log" "$D/dns.err")"
}

# ---------------------------------------------------------------------------
# from the host: -p
# ---------------------------------------------------------------------------

# serve_http HOSTSPEC TEXT: a container publishing HOSTSPEC:80 whose httpd
# serves TEXT as /t; BG is its hutch, BG_OUT its output file
serve_http() {
    BG_OUT=$(mktemp "$BATS_TEST_TMPDIR/hutch.XXXXXX")
    bg "$BG_OUT" "$HUTCH" --root "$NSTORE" run -p "$1" net \
        sh -c "mkdir /www && echo '$2' > /www/t && exec httpd -f -p 80 -h /www"
}

@test "-p HOSTPORT:80: TCP from the host to a server in the container" {
    local port out pid
    port=$(free_port)
    serve_http "127.0.0.1:$port:80" "served from the container"
    pid=$BG out=$BG_OUT
    run nethost get "$port" /t
    still_running "$pid" "$out"
    assert_status 0
    assert_equal "$output" "served from the container"
    # a second connection, while the first container still runs
    run nethost get "$port" /t 5
    assert_status 0
    # a port published without an IP listens on every address of the host
    # (only 127.0.0.1 is spoken to)
    port=$(free_port)
    serve_http "$port:80" "all addresses"
    run nethost get "$port" /t
    assert_status 0
    assert_equal "$output" "all addresses"
    run ss -Htln "sport = :$port"
    [[ $output == *"0.0.0.0:$port"* ]] || [[ $output == *"*:$port"* ]] ||
        fail_now "expected a listener on 0.0.0.0:$port: $output"
}

@test "a SIGTERM to hutch's process group (timeout, systemd) leaves the network up while the container runs" {
    local port pid
    port=$(free_port)
    # hutch as the leader of a process group of its own, as under timeout(1)
    BG_OUT=$(mktemp "$BATS_TEST_TMPDIR/hutch.XXXXXX")
    bg "$BG_OUT" setsid "$HUTCH" --root "$NSTORE" run -p "127.0.0.1:$port:80" net \
        sh -c "mkdir /www && echo still-here > /www/t && exec httpd -f -p 80 -h /www"
    pid=$BG
    run nethost get "$port" /t
    assert_status 0
    # hutch forwards the SIGTERM to PID 1 (httpd ignores it, as a PID 1
    # without a handler does); the helper must not take it for itself
    kill -TERM -- "-$pid"
    sleep 0.5
    still_running "$pid" "$BG_OUT"
    run nethost get "$port" /t
    assert_status 0
    assert_equal "$output" still-here
}

@test "-p: 8 MiB through a TCP echo server in the container come back intact, half-close included" {
    need_netutil
    local port
    port=$(free_port)
    bg "$BATS_TEST_TMPDIR/h" "$HUTCH" --root "$NSTORE" run -p "127.0.0.1:$port:7" net netutil tcp-echo-server 7
    run nethost echo-check "$port" 8388608
    still_running "$BG" "$BATS_TEST_TMPDIR/h"
    assert_status 0
    assert_equal "$output" "ok 8388608"
    # and a small one after it: the forwarder is still fine
    run nethost echo-check "$port" 1
    assert_status 0
}

@test "-p HOSTPORT:PORT/udp: UDP from the host to an echo server in the container" {
    need_netutil
    local port
    port=$(free_port)
    bg "$BATS_TEST_TMPDIR/h" "$HUTCH" --root "$NSTORE" run -p "127.0.0.1:$port:5353/udp" net netutil udp-echo-server 5353
    run nethost udp-send "$port" hello-udp
    still_running "$BG" "$BATS_TEST_TMPDIR/h"
    assert_status 0
    assert_equal "$output" "hello-udp"
    run nethost udp-send "$port" again 5
    assert_status 0
    assert_equal "$output" "again"
}

@test "two containers publish different host ports at once; the same port twice is refused" {
    local p1 p2 h1 o1
    p1=$(free_port)
    p2=$(free_port)
    [ "$p1" != "$p2" ] || p2=$(free_port)
    serve_http "127.0.0.1:$p1:80" "container one"
    h1=$BG o1=$BG_OUT
    serve_http "127.0.0.1:$p2:80" "container two"
    run nethost get "$p1" /t
    assert_status 0
    assert_equal "$output" "container one"
    run nethost get "$p2" /t
    assert_status 0
    assert_equal "$output" "container two"
    # both still up, each on its own port
    run nethost get "$p1" /t 5
    assert_equal "$output" "container one"
    # a third container wanting p1 while the first holds it
    run H run -p "127.0.0.1:$p1:80" net echo RAN
    assert_status 125
    assert_output_has "already in use" "$p1"
    [[ $output != *RAN* ]] || fail_now "the command ran: $output"
    still_running "$h1" "$o1"
}

@test "-p PORT: a free host port is chosen and printed on stderr" {
    local port
    serve_http 80 "chosen port"
    if ! wait_for file_has "$BG_OUT.err" "published 80/tcp -> "; then
        fail_now "no \"published\" line: $(cat "$BG_OUT.err")"
    fi
    run grep -E '^hutch: published 80/tcp -> 0\.0\.0\.0:[0-9]+$' "$BG_OUT.err"
    assert_status 0
    port=${output##*:}
    [ "$port" -gt 0 ] && [ "$port" -le 65535 ]
    run nethost get "$port" /t
    assert_status 0
    assert_equal "$output" "chosen port"
    # with an address and an empty host port
    serve_http 127.0.0.1::80 "chosen port on 127.0.0.1"
    wait_for file_has "$BG_OUT.err" "published 80/tcp -> " || fail_now "no \"published\" line: $(cat "$BG_OUT.err")"
    run grep -E '^hutch: published 80/tcp -> 127\.0\.0\.1:[0-9]+$' "$BG_OUT.err"
    assert_status 0
    run nethost get "${output##*:}" /t
    assert_status 0
    assert_equal "$output" "chosen port on 127.0.0.1"
}

@test "a host port already in use: exit 125, \"already in use\", before the command runs" {
    local port sync=$BATS_TEST_TMPDIR/sync before
    mkdir "$sync"
    before=$(my_live_slirps)
    server port python3 "$NETHOST_PY" tcp-listen
    run H run -v "$sync:/sync" -p "127.0.0.1:$port:80" net touch /sync/ran
    assert_status 125
    assert_output_has "already in use" "$port"
    [ ! -e "$sync/ran" ] || fail_now "the command ran"
    # 0.0.0.0:PORT meets 127.0.0.1:PORT
    run H run -v "$sync:/sync" -p "$port:80" net touch /sync/ran
    assert_status 125
    assert_output_has "already in use"
    [ ! -e "$sync/ran" ] || fail_now "the command ran"
    # UDP too
    python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True); time.sleep(120)' > "$BATS_TEST_TMPDIR/u" 3>&- &
    BGPIDS+=($!)
    wait_for file_has "$BATS_TEST_TMPDIR/u" .
    port=$(cat "$BATS_TEST_TMPDIR/u")
    run H run -v "$sync:/sync" -p "127.0.0.1:$port:53/udp" net touch /sync/ran
    assert_status 125
    assert_output_has "already in use" "$port"
    [ ! -e "$sync/ran" ] || fail_now "the command ran"
    # no helper stays behind
    wait_for no_new_slirps "$before" || fail_now "hutch-slirp processes remain: $(new_slirps "$before")"
}

@test "-p with --network none or host is an error" {
    run H run --network none -p 8080:80 net echo RAN
    assert_status 125
    assert_output_has "-p" "--network"
    [[ $output != *RAN* ]]
    run H run --network host -p 8080:80 net echo RAN
    assert_status 125
    assert_output_has "-p"
    [[ $output != *RAN* ]]
    run "$HUTCH" run --rootfs "$ROOTFS" -p 8080:80 echo RAN
    assert_status 125
    assert_output_has "-p"
    [[ $output != *RAN* ]]
}

# ---------------------------------------------------------------------------
# the helper's life
# ---------------------------------------------------------------------------

@test "the helper is gone after the container exits: no process, no namespace, the port is free" {
    local sync=$BATS_TEST_TMPDIR/sync port ids ns before
    mkdir "$sync"
    port=$(free_port)
    before=$(my_live_slirps)
    bg "$BATS_TEST_TMPDIR/h" "$HUTCH" --root "$NSTORE" run -v "$sync:/sync" -p "127.0.0.1:$port:80" net \
        sh -c 'touch /sync/up; while [ ! -e /sync/go ]; do usleep 20000; done'
    wait_for test -e "$sync/up" || fail_now "the container did not start: $(cat "$BATS_TEST_TMPDIR/h.err")"
    ids=$(slirp_of "$BG") || fail_now "no hutch-slirp under hutch $BG: $(ps -o pid,ppid,args -u "$MY_UID")"
    ns=$(netns_of "$BG" sh) || fail_now "no container process under hutch $BG"
    [ "$ns" != "$(readlink /proc/self/ns/net)" ]
    ! nethost can-bind tcp 127.0.0.1 "$port" 2> /dev/null
    touch "$sync/go"
    wait_exit "$BG"
    assert_equal "$WAIT_STATUS" 0
    # shellcheck disable=SC2086
    wait_for gone $ids || fail_now "hutch-slirp outlived the container: $(ps -o pid,stat,args -p "${ids/ /,}")"
    wait_for no_holders "$ns" || fail_now "the container's network namespace is still held: $(holders "$ns")"
    nethost can-bind tcp 127.0.0.1 "$port"
    wait_for no_new_slirps "$before" || fail_now "hutch-slirp processes remain: $(new_slirps "$before")"
}

@test "the helper is gone after hutch is killed with SIGKILL" {
    local port ids ns before
    port=$(free_port)
    before=$(my_live_slirps)
    serve_http "127.0.0.1:$port:80" "about to be killed"
    run nethost get "$port" /t
    assert_status 0
    ids=$(slirp_of "$BG") || fail_now "no hutch-slirp under hutch $BG"
    ns=$(netns_of "$BG" httpd) || fail_now "no httpd under hutch $BG"
    [ "$ns" != "$(readlink /proc/self/ns/net)" ]
    kill -KILL "$BG"
    # shellcheck disable=SC2086
    wait_for gone $ids || fail_now "hutch-slirp outlived hutch: $(ps -o pid,stat,args -p "${ids/ /,}")"
    wait_for no_holders "$ns" || fail_now "the container's network namespace is still held: $(holders "$ns")"
    wait_for nethost can-bind tcp 127.0.0.1 "$port"
    wait_for no_new_slirps "$before" || fail_now "hutch-slirp processes remain: $(new_slirps "$before")"
}

@test "the helper is gone after a run that failed to start" {
    local before
    before=$(my_live_slirps)
    run -127 H run net /no/such/command
    run H run -u nosuchuser net true
    assert_status 125
    wait_for no_new_slirps "$before" || fail_now "hutch-slirp processes remain: $(new_slirps "$before")"
}

@test "the container inherits no fd of the network's setup" {
    # The shell (PID 1) forks ls and waits, so its own fds are what hutch
    # left it.  No pipeline: the shell's pipe ends would show up while ls
    # runs, and a lone command would be exec'ed, listing ls's directory fd.
    run H run net sh -c 'ls /proc/$$/fd; exit 0'
    assert_status 0
    assert_equal "$(printf '%s\n' "$output" | sort -n | tr '\n' ' ')" "0 1 2 "
}

# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------

# bad_option WORD ARGS...: `hutch run ARGS net echo RAN` fails with 125,
# names WORD, and runs nothing
bad_option() {
    local word=$1
    shift
    run H run "$@" net echo RAN
    assert_status 125
    assert_output_has "$word"
    [[ $output != *RAN* ]] || fail_now "the command ran: $output"
}

@test "hutch-slirp --check-sandbox: its confinement holds" {
    local helper
    helper=$(dirname "$HUTCH")/hutch-slirp
    run "$helper" --check-sandbox
    assert_status 0
    [[ $output != *"not ok"* ]] || fail_now "a check failed: $output"
    [[ $output == *"ok "*"no SIGABRT to another process"* ]] || fail_now "check missing: $output"
    [[ $output == *"ok "*"no effective capabilities"* ]]
}

@test "bad network options: exit 125 naming the option" {
    bad_option mtu --network slirp:mtu=1
    bad_option mtu --network slirp:mtu=65522
    bad_option mtu --network slirp:mtu=abc
    bad_option --network --network bogus
    bad_option cidr --network slirp:cidr=10.0.2.0
    bad_option cidr --network slirp:cidr=10.0.2.0/30
    bad_option allow_host_loopback --network slirp:allow_host_loopback=yes
    bad_option nosuch --network slirp:nosuch=1
    bad_option -p -p 70000:80
    bad_option -p -p 8080:0
    bad_option -p -p 8080:80/sctp
    bad_option -p -p 8080-8081:80
    bad_option -p -p nope:8080:80
    bad_option --add-host --add-host bad
    bad_option --add-host --add-host db:not-an-ip
    bad_option --dns --dns bad
}
