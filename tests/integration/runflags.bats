#!/usr/bin/env bats
# Docker's everyday flags of hutch run (issue 14): --rm, --device, --ulimit,
# --shm-size, --tz, -P, --group-add, --pid/--ipc/--uts host, --env-host,
# --label, --annotation, --cidfile, --stop-signal, --stop-timeout.  What
# cannot work rootless must be refused with its reason (125), never
# dropped.
#
# The image "web" (setup_file) is the busybox rootfs with a config that
# exposes 80/tcp, 53/udp and 9/sctp, stops with SIGUSR1 and has a label;
# it lives in a store of the file's own and is run with --pull never, so
# that nothing is ever looked up on a registry.

load helpers

NETHOST_PY=$BATS_TEST_DIRNAME/nethost.py

setup_file() {
    local D=$BATS_FILE_TMPDIR M="python3 $BATS_TEST_DIRNAME/mktar.py"
    export RSTORE=$D/store
    $M tar "$D/layer.tar" "tree:$ROOTFS"
    $M oci "$D/web.tar" web:1 "$D/layer.tar" \
        --config 'ExposedPorts={"80/tcp": {}, "53/udp": {}, "9/sctp": {}}' \
        --config 'StopSignal="SIGUSR1"' --config 'Labels={"from.image": "yes"}' \
        --config 'Cmd=["/bin/sh"]'
    "$HUTCH" --root "$RSTORE" load -i "$D/web.tar" >/dev/null
}

teardown_file() {
    empty_store "$RSTORE"
    rm -rf "$RSTORE"
}

setup() {
    BGPIDS=()
}

teardown() {
    kill_bgpids
}

H() { "$HUTCH" --root "$RSTORE" "$@"; }

# a character device on the host that the user can neither read nor write,
# or nothing
closed_device() {
    local d
    for d in /dev/kvm /dev/mem /dev/port /dev/kmsg /dev/vcs /dev/ttyS0 /dev/console; do
        if [ -c "$d" ] && [ ! -r "$d" ] && [ ! -w "$d" ]; then
            echo "$d"
            return 0
        fi
    done
}

@test "--rm is accepted: a foreground container is removed anyway" {
    local before
    run "$HUTCH" run --rm --rootfs "$ROOTFS" echo ran
    assert_status 0
    assert_equal "$output" ran
    before=$(ls -A "$RSTORE/containers" 2>/dev/null | wc -l)
    run H run --rm --pull never web:1 echo ran
    assert_status 0
    assert_equal "$output" ran
    # its directory in the store is gone, as without --rm
    [ "$(ls -A "$RSTORE/containers" 2>/dev/null | wc -l)" = "$before" ]
}

@test "--device /dev/fuse: the host's node, which the container can open" {
    [ -c /dev/fuse ] && [ -r /dev/fuse ] && [ -w /dev/fuse ] || skip "no /dev/fuse that the user can open"
    run "$HUTCH" run --device /dev/fuse --rootfs "$ROOTFS" sh -c '
        stat -c "%F %t:%T" /dev/fuse; exec 3<>/dev/fuse && echo opened'
    assert_status 0
    assert_equal "${lines[0]}" "character special file a:e5"
    assert_equal "${lines[1]}" opened
    # at another path, with PERMS that name the access the user has
    run "$HUTCH" run --device /dev/fuse:/dev/myfuse:rw --rootfs "$ROOTFS" sh -c '
        exec 3<>/dev/myfuse && echo opened; test -e /dev/fuse || echo no-fuse'
    assert_status 0
    assert_equal "$output" "$(printf 'opened\nno-fuse')"
    # the bound node is the host's: the container cannot change its mode
    run "$HUTCH" run --device /dev/fuse --rootfs "$ROOTFS" sh -c 'chmod 600 /dev/fuse; echo $?'
    [ "$(stat -c %a /dev/fuse)" = 666 ]
}

@test "--device DIR adds the device nodes below it" {
    [ -c /dev/net/tun ] && [ -r /dev/net/tun ] || skip "no /dev/net/tun that the user can open"
    run "$HUTCH" run --device /dev/net --rootfs "$ROOTFS" sh -c 'stat -c "%F %t:%T" /dev/net/tun'
    assert_status 0
    assert_equal "$output" "character special file a:c8"
}

@test "--device: what cannot be given rootless is refused with the reason (125)" {
    local d
    d=$(closed_device)
    if [ -n "$d" ]; then
        run "$HUTCH" run --device "$d" --rootfs "$ROOTFS" true
        assert_status 125
        assert_output_has "you cannot open $d on the host"
    fi
    # PERMS: unknown letters, mknod, and an access that cannot be taken away
    run "$HUTCH" run --device /dev/null:rx --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "unknown letter \`x\`"
    run "$HUTCH" run --device /dev/null:/dev/n:rwm --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "\`m\` (mknod) cannot be granted"
    run "$HUTCH" run --device /dev/null:r --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "cannot take that away" "device cgroup"
    # not a device
    run "$HUTCH" run --device /etc/passwd --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "not a device node"
    run "$HUTCH" run --device /no/such/node --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "does not exist"
}

@test "--ulimit sets soft and hard limits; a hard limit above one's own is refused (125)" {
    run "$HUTCH" run --ulimit nofile=100:200 --ulimit core=0 --rootfs "$ROOTFS" \
        sh -c 'ulimit -n; ulimit -Hn; ulimit -c'
    assert_status 0
    assert_equal "$output" "$(printf '100\n200\n0')"
    # SOFT alone is the hard limit too
    run "$HUTCH" run --ulimit nofile=150 --rootfs "$ROOTFS" sh -c 'ulimit -n; ulimit -Hn'
    assert_equal "$output" "$(printf '150\n150')"
    local hard
    hard=$(ulimit -Hn)
    if [ "$hard" != unlimited ]; then
        run "$HUTCH" run --ulimit "nofile=100:$((hard + 1))" --rootfs "$ROOTFS" true
        assert_status 125
        assert_output_has "above your own ($hard)" "LimitNOFILE="
    fi
    run "$HUTCH" run --ulimit nofile=300:200 --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "soft limit is above the hard one"
    run "$HUTCH" run --ulimit files=10 --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "unknown limit \`files\`"
}

@test "--shm-size sets the size of /dev/shm (default 64m)" {
    run "$HUTCH" run --shm-size 10m --rootfs "$ROOTFS" sh -c 'df -k /dev/shm | tail -n 1'
    assert_status 0
    [ "$(echo "$output" | awk '{ print $2 }')" = 10240 ]
    run "$HUTCH" run --rootfs "$ROOTFS" sh -c 'df -k /dev/shm | tail -n 1'
    [ "$(echo "$output" | awk '{ print $2 }')" = 65536 ]
    run "$HUTCH" run --shm-size 0 --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "--shm-size"
}

@test "--tz: the host's zone file at /etc/localtime; a symlink there is covered, not its target" {
    [ -f /usr/share/zoneinfo/Asia/Tokyo ] || skip "no zoneinfo on the host (apt install tzdata)"
    run "$HUTCH" run --tz Asia/Tokyo --rootfs "$ROOTFS" date +%Z
    assert_status 0
    assert_equal "$output" JST
    run "$HUTCH" run --tz local --rootfs "$ROOTFS" date +%Z
    assert_status 0
    assert_equal "$output" "$(date +%Z)"
    # an image-like root whose /etc/localtime points into its own zoneinfo:
    # that zone stays what it is
    local r
    r=$(fresh_rootfs)
    mkdir -p "$r/usr/share/zoneinfo/Etc"
    cp /usr/share/zoneinfo/Etc/UTC "$r/usr/share/zoneinfo/Etc/UTC"
    rm -f "$r/etc/localtime"
    ln -s /usr/share/zoneinfo/Etc/UTC "$r/etc/localtime"
    run "$HUTCH" run --read-only --tz Asia/Tokyo --rootfs "$r" sh -c '
        date +%Z; TZ=:/usr/share/zoneinfo/Etc/UTC date +%Z; { echo x > /etc/localtime; } 2>/dev/null || echo ro'
    assert_status 0
    assert_equal "$output" "$(printf 'JST\nUTC\nro')"
    [ "$(readlink "$r/etc/localtime")" = /usr/share/zoneinfo/Etc/UTC ]
    cmp -s "$r/usr/share/zoneinfo/Etc/UTC" /usr/share/zoneinfo/Etc/UTC
    # unknown zones, and names that leave the zone directory
    for z in Bad/Zone ../../../etc/passwd /etc/localtime America; do
        run "$HUTCH" run --tz "$z" --rootfs "$ROOTFS" true
        assert_status 125
        assert_output_has "no such time zone"
    done
}

@test "-P publishes each port the image exposes on a free host port, printed as -p prints it" {
    local out=$BATS_TEST_TMPDIR/out port
    # -p keeps its own binding for 53/udp; -P adds 80/tcp; 9/sctp cannot be
    bg "$out" "$HUTCH" --root "$RSTORE" run --pull never -P -p 127.0.0.1::53/udp web:1 \
        sh -c 'mkdir /www && echo served-by-P > /www/t && exec httpd -f -p 80 -h /www'
    wait_for file_has "$out.err" "published 80/tcp -> " || fail_now "no published line: $(cat "$out.err")"
    run grep -E '^hutch: published 80/tcp -> 0\.0\.0\.0:[0-9]+$' "$out.err"
    assert_status 0
    port=${output##*:}
    run python3 "$NETHOST_PY" get "$port" /t
    assert_status 0
    assert_equal "$output" served-by-P
    run cat "$out.err"
    assert_output_has "published 53/udp -> 127.0.0.1:" "exposes 9/sctp, which hutch-slirp cannot forward"
    [ "$(grep -c 'published 53/udp' "$out.err")" = 1 ]
}

@test "-P without an image, or without a network of the container's own, is an error naming why" {
    run "$HUTCH" run -P --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "ExposedPorts" "--rootfs"
    cd "$BATS_TEST_TMPDIR"
    run "$HUTCH" run -P -- true
    assert_status 125
    assert_output_has "ExposedPorts"
    run H run --pull never -P --network none web:1 true
    assert_status 125
    assert_output_has "--network slirp"
}

@test "--pid host: the host's processes in /proc; --init still reaps" {
    run "$HUTCH" run --pid host --rootfs "$ROOTFS" sh -c '
        test -d /proc/$1 && echo sees-host-shell; readlink /proc/self/ns/pid' _ "$$"
    assert_status 0
    assert_equal "${lines[0]}" sees-host-shell
    assert_equal "${lines[1]}" "$(readlink /proc/self/ns/pid)"
    # by default, a namespace of its own
    run "$HUTCH" run --rootfs "$ROOTFS" sh -c 'test -d /proc/$1 || echo hidden; readlink /proc/self/ns/pid' _ "$$"
    assert_equal "${lines[0]}" hidden
    [ "${lines[1]}" != "$(readlink /proc/self/ns/pid)" ]
    run "$HUTCH" run --pid host --init --rootfs "$ROOTFS" sh -c 'exit 3'
    assert_status 3
}

@test "--ipc host: the host's IPC namespace and /dev/shm" {
    local f=/dev/shm/hutch-runflags-$$
    [ -d /dev/shm ] && [ -w /dev/shm ] || skip "no /dev/shm the user can write"
    echo from-host > "$f"
    run "$HUTCH" run --ipc host --rootfs "$ROOTFS" sh -c 'cat "$1"; readlink /proc/self/ns/ipc' _ "$f"
    rm -f "$f"
    assert_status 0
    assert_equal "${lines[0]}" from-host
    assert_equal "${lines[1]}" "$(readlink /proc/self/ns/ipc)"
    run "$HUTCH" run --rootfs "$ROOTFS" readlink /proc/self/ns/ipc
    [ "$output" != "$(readlink /proc/self/ns/ipc)" ]
    run "$HUTCH" run --ipc host --shm-size 1m --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "--shm-size" "--ipc host"
}

@test "--uts host: the host's hostname; with --hostname it is an error" {
    run "$HUTCH" run --uts host --rootfs "$ROOTFS" sh -c 'hostname; cat /etc/hostname; echo $HOSTNAME'
    assert_status 0
    local h
    h=$(hostname)
    assert_equal "$output" "$(printf '%s\n%s\n%s' "$h" "$h" "$h")"
    run "$HUTCH" run --uts host --hostname other --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "--hostname" "--uts host"
}

@test "--pid, --ipc, --uts: joining another container's namespace or one by path is refused with the reason" {
    local o
    for o in --pid --ipc --uts; do
        run "$HUTCH" run "$o" container:abc --rootfs "$ROOTFS" true
        assert_status 125
        assert_output_has "another container's namespace is not supported yet"
        run "$HUTCH" run "$o" ns:/proc/1/ns/ipc --rootfs "$ROOTFS" true
        assert_status 125
        assert_output_has "setns"
        run "$HUTCH" run "$o" hots --rootfs "$ROOTFS" true
        assert_status 125
        assert_output_has "expected private or host"
    done
}

@test "--env-host: the host's environment, under --env-file and -e" {
    local f=$BATS_TEST_TMPDIR/env
    echo FROM_FILE=file > "$f"
    HOST_ONLY=h FROM_FILE=host FROM_E=host run "$HUTCH" run --env-host --env-file "$f" -e FROM_E=e \
        --rootfs "$ROOTFS" sh -c 'echo "$HOST_ONLY $FROM_FILE $FROM_E $container $PATH"'
    assert_status 0
    assert_equal "$output" "h file e hutch $PATH"
    # without it, nothing of the host's
    HOST_ONLY=h run "$HUTCH" run --rootfs "$ROOTFS" sh -c 'echo "${HOST_ONLY-unset}"'
    assert_equal "$output" unset
}

@test "--label and --annotation: KEY=VALUE, recorded; a bad one is refused" {
    run "$HUTCH" run --label a=b -l c --annotation org.example.x=y --rootfs "$ROOTFS" true
    assert_status 0
    run "$HUTCH" run --label =b --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "--label \`=b\`"
    run "$HUTCH" run --annotation =b --rootfs "$ROOTFS" true
    assert_status 125
    run H run --pull never --label from.image=overridden web:1 true
    assert_status 0
}

@test "--group-add: a group by number or by name, after the user's own" {
    need_subids
    run "$HUTCH" run --group-add 1234 --group-add root --rootfs "$ROOTFS" id -G
    assert_status 0
    assert_equal "$output" "0 1234"
    run "$HUTCH" run -u 1000 --group-add 1234 --rootfs "$ROOTFS" id -G
    assert_status 0
    [[ " $output " == *" 1234 "* ]]
    run "$HUTCH" run --group-add nosuchgroup --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "group \`nosuchgroup\` not found"
    run "$HUTCH" run --group-add keep-groups --group-add 5 --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "keep-groups"
    # one id in the namespace: the groups are root emulation's
    run --separate-stderr "$HUTCH" run --userns single --group-add 5 --rootfs "$ROOTFS" id -G
    assert_status 0
    assert_equal "$output" "0 5"
}

@test "--group-add keep-groups (and crun's annotation): the user's own groups reach group-only files" {
    id -nG | grep -qw hutchshare || skip "the test user is not in group hutchshare (run setup.sh)"
    [ -r /var/lib/hutch-test-shared/f ] || skip "/var/lib/hutch-test-shared/f is missing (run setup.sh)"
    local v=/var/lib/hutch-test-shared:/shared
    run "$HUTCH" run -v "$v" --rootfs "$ROOTFS" cat /shared/f
    [ "$status" -ne 0 ]
    run "$HUTCH" run -v "$v" --group-add keep-groups --rootfs "$ROOTFS" cat /shared/f
    assert_status 0
    assert_equal "$output" group-only
    run "$HUTCH" run -v "$v" --annotation run.oci.keep_original_groups=1 --rootfs "$ROOTFS" cat /shared/f
    assert_status 0
    assert_equal "$output" group-only
    # in keep-id, the user's groups are kept by default; an added group replaces them
    cd "$BATS_TEST_TMPDIR"
    run "$HUTCH" run -v "$v" -- cat /shared/f
    assert_status 0
    run "$HUTCH" run -v "$v" --group-add 0 -- cat /shared/f
    [ "$status" -ne 0 ]
}

@test "--cidfile: the container's id, there while it runs, removed with it; an existing file is refused" {
    local f=$BATS_TEST_TMPDIR/cid out=$BATS_TEST_TMPDIR/out
    bg "$out" "$HUTCH" run --stop-timeout 0 --cidfile "$f" --rootfs "$ROOTFS" sleep 4545.5
    wait_for test -s "$f" || fail_now "no cidfile: $(cat "$out.err")"
    run cat "$f"
    [[ $output =~ ^[0-9a-f]{64}$ ]] || fail_now "not an id: $output"
    [ "$("$HUTCH" ps --no-trunc -q)" = "$output" ] || fail_now "ps: $("$HUTCH" ps --no-trunc -q)"
    kill -TERM "$BG"
    wait_exit "$BG"
    # the container is kept (no --rm), and its cidfile with it, until rm
    [ -e "$f" ]
    "$HUTCH" rm "$output" >/dev/null
    [ ! -e "$f" ]
    # refused when the file exists, which stays as it was
    echo keep > "$f"
    run "$HUTCH" run --cidfile "$f" --rootfs "$ROOTFS" echo ran
    assert_status 125
    assert_output_has "--cidfile" "exists"
    [[ $output != *ran* ]]
    [ "$(cat "$f")" = keep ]
    # an image's container: the id of its directory in the store
    rm -f "$f"
    bg "$out" "$HUTCH" --root "$RSTORE" run --pull never --stop-timeout 0 --cidfile "$f" web:1 \
        sleep 4545.75
    wait_for test -s "$f" || fail_now "no cidfile: $(cat "$out.err")"
    [ -d "$RSTORE/containers/$(cat "$f")" ]
    kill -TERM "$BG"
    wait_exit "$BG"
    "$HUTCH" --root "$RSTORE" rm "$(cat "$f")" >/dev/null
    [ ! -e "$f" ]
    # with --rm, it goes when the container ends
    bg "$out" "$HUTCH" run --rm --stop-timeout 0 --cidfile "$f" --rootfs "$ROOTFS" sleep 4545.25
    wait_for has_cmdline 'sleep 4545\.25' || fail_now "not started: $(cat "$out.err")"
    kill -TERM "$BG"
    wait_exit "$BG"
    [ ! -e "$f" ]
}

@test "--stop-signal: what SIGTERM to hutch sends the container; other signals pass as they are" {
    local out=$BATS_TEST_TMPDIR/out
    bg "$out" "$HUTCH" run --stop-signal USR1 --rootfs "$ROOTFS" sh -c '
        trap "echo got-usr1; exit 5" USR1; trap "echo got-term; exit 6" TERM
        trap "echo got-int; exit 7" INT; echo ready; while :; do sleep 0.1; done'
    wait_for file_has "$out" ready
    kill -TERM "$BG"
    wait_exit "$BG"
    assert_equal "$WAIT_STATUS" 5
    grep -q got-usr1 "$out"
    bg "$out" "$HUTCH" run --stop-signal USR1 --rootfs "$ROOTFS" sh -c '
        trap "echo got-int; exit 7" INT; echo ready; while :; do sleep 0.1; done'
    wait_for file_has "$out" ready
    kill -INT "$BG"
    wait_exit "$BG"
    assert_equal "$WAIT_STATUS" 7
    # the image's StopSignal (SIGUSR1) is the default
    bg "$out" "$HUTCH" --root "$RSTORE" run --pull never web:1 sh -c '
        trap "echo got-usr1; exit 5" USR1; echo ready; while :; do sleep 0.1; done'
    wait_for file_has "$out" ready
    kill -TERM "$BG"
    wait_exit "$BG"
    assert_equal "$WAIT_STATUS" 5
    run "$HUTCH" run --stop-signal NOSUCH --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "--stop-signal \`NOSUCH\`"
}

@test "--stop-timeout: SIGKILL that many seconds after the stop signal, said on stderr; -1: never" {
    local out=$BATS_TEST_TMPDIR/out start
    # PID 1 ignores SIGTERM without a handler: only SIGKILL ends it
    bg "$out" "$HUTCH" run --stop-timeout 1 --rootfs "$ROOTFS" sleep 4646.5
    wait_for has_cmdline 'sleep 4646\.5'
    start=$SECONDS
    kill -TERM "$BG"
    wait_exit "$BG" 10
    assert_equal "$WAIT_STATUS" 137
    [ $((SECONDS - start)) -le 5 ]
    grep -q "did not end within 1 s of SIGTERM" "$out.err"
    bg "$out" "$HUTCH" run --stop-timeout -1 --rootfs "$ROOTFS" sleep 4646.75
    wait_for has_cmdline 'sleep 4646\.75'
    kill -TERM "$BG"
    sleep 2
    is_alive "$BG"
    run "$HUTCH" run --stop-timeout soon --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "--stop-timeout \`soon\`"
}

@test "hutch-oci: process.rlimits, annotations and linux.devices from config.json" {
    need_subids
    local b=$BATS_TEST_TMPDIR/bundle
    mkdir -p "$b"
    cp -a "$ROOTFS" "$b/rootfs"
    oci_config() {
        python3 - "$b/config.json" "$1" "$MY_UID" "$MY_GID" "$SUBUID_START" "$SUBGID_START" <<'EOF'
import json, sys
out, extra, uid, gid, su, sg = sys.argv[1:7]
c = {"ociVersion": "1.0.2",
     "process": {"args": ["/bin/sh", "-c", "ulimit -n; ulimit -Hn; stat -c %t:%T /dev/null; echo x > /dev/null && echo wrote"],
                 "env": ["PATH=/bin"], "cwd": "/",
                 "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 111, "hard": 222}]},
     "root": {"path": "rootfs"},
     "annotations": {"org.example.a": "b"},
     "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
                {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]}],
     "linux": {"namespaces": [{"type": t} for t in ("user", "pid", "mount", "ipc", "uts", "network")],
               "uidMappings": [{"containerID": 0, "hostID": int(uid), "size": 1}, {"containerID": 1, "hostID": int(su), "size": 1000}],
               "gidMappings": [{"containerID": 0, "hostID": int(gid), "size": 1}, {"containerID": 1, "hostID": int(sg), "size": 1000}],
               "devices": [{"path": "/dev/null", "type": "c", "major": 1, "minor": 3}]}}
exec(extra)
json.dump(c, open(out, "w"))
EOF
    }
    # /dev/null of the host, bound over the /dev tmpfs's own
    oci_config ''
    run "$HUTCH_OCI" run --bundle "$b" oci-flags
    assert_status 0
    assert_equal "$output" "$(printf '111\n222\n1:3\nwrote')"
    # /dev/null2 is not a node of the host: a rootless runtime cannot make it
    oci_config 'c["linux"]["devices"][0]["path"] = "/dev/null2"'
    run "$HUTCH_OCI" run --bundle "$b" oci-flags
    assert_status 1
    assert_output_has "the host has no /dev/null2"
    oci_config 'c["process"]["rlimits"][0]["hard"] = 2**62'
    run "$HUTCH_OCI" run --bundle "$b" oci-flags
    assert_status 1
    assert_output_has "rlimit nofile" "above your own"
    oci_config 'c["annotations"]["x"] = 1'
    run "$HUTCH_OCI" run --bundle "$b" oci-flags
    assert_status 1
    assert_output_has "annotations.x must be a string"
}
