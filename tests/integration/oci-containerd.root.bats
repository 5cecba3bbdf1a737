#!/usr/bin/env bats
# containerd (Debian's 1.6), as root, driving OCI_RUNTIME (hutch-oci unless
# told otherwise: helpers.bash) for real, through its runc shim
# (io.containerd.runc.v2, with `ctr run --runc-binary`): run, config
# fields, a user namespace, run -d, task ps, exec, kill, kill --all,
# pause and resume, delete --force, a task with a terminal and an exec
# with one.
#
# This file starts its own containerd, with its root, state, sockets and
# the runtime's state (--runc-root) in a temporary directory, no CRI;
# the image is the test busybox ROOTFS as an OCI archive (mktar.py),
# imported with `ctr images import`: no registry.  Root is legitimate
# here: containerd, and so the runtime, run as root.  Each ctr call is
# limited to 60 s.  containerd 1.6 puts its shims' sockets in
# /run/containerd/s whatever the configuration says: removed afterwards
# when this file made them.

load helpers

IMG=localhost/hutch-busybox:latest

setup_file() {
    need_engine containerd ctr containerd-shim-runc-v2
    [ "$(id -u)" = 0 ] || skip "containerd runs as root: tests/integration/run runs *.root.bats as root"
    # a directory that a container's root in a user namespace (an id
    # without rights on bats's own directories) can go through to its
    # rootfs
    export CD
    CD=$(mktemp -d /tmp/hutch-ctd.XXXXXX)
    chmod 0711 "$CD"
    export CTD_SOCK=$CD/c.sock
    mkdir -p "$CD/fifo"
    # containerd's namespace, so the cgroups' parent (/NS) and the shim's
    # default runtime root (/run/containerd/runc/NS): this file's alone
    export NS=hutch-it-${CD##*.}
    export CTD_RUN_OURS=0 CTD_CG_OURS=""
    [ -e /run/containerd ] || CTD_RUN_OURS=1
    export CTD_RUNC_NS_OURS=0
    [ -e "/run/containerd/runc/$NS" ] || CTD_RUNC_NS_OURS=1
    # the cgroups ctr puts containers in (/NS/ID) in each hierarchy: their
    # parent is removed afterwards when this file made it
    local d
    for d in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
        [ -e "$d$NS" ] || CTD_CG_OURS="$CTD_CG_OURS $d$NS"
    done
    export RT
    RT=$(engine_runtime "$CD")
    # the runtime under test is also the "runc" that containerd and its
    # shims find first on PATH: ctr drops --runc-binary and --runc-root
    # when task options of its own replace them (--uidmap does), and the
    # shim then runs "runc" with its default root
    mkdir "$CD/bin"
    ln -s "$RT" "$CD/bin/runc"
    cat > "$CD/config.toml" <<EOF
version = 2
root = "$CD/root"
state = "$CD/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$CTD_SOCK"

[ttrpc]
  address = "$CTD_SOCK.ttrpc"

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$CD/opt"
EOF
    # not a child bats waits for (3>&-), and without the suite's lock
    PATH=$CD/bin:$PATH containerd --config "$CD/config.toml" > "$CD/containerd.log" 2>&1 < /dev/null 3>&- 9>&- &
    echo "$!" > "$CD/containerd.pid"
    wait_for ctd_up || fail_now "containerd did not come up: $(tail -n 20 "$CD/containerd.log")"
    python3 "$BATS_TEST_DIRNAME/mktar.py" tar "$CD/layer.tar" "tree:$ROOTFS"
    python3 "$BATS_TEST_DIRNAME/mktar.py" oci "$CD/image.tar" "$IMG" "$CD/layer.tar" \
        --config 'Cmd=["/bin/sh"]'
    C images import "$CD/image.tar" > /dev/null
}

teardown_file() {
    [ -n "${CD:-}" ] && [ -d "$CD" ] || return 0
    local pid f p m d
    remove_all
    # what the runtime did not end: the containers' first processes (the
    # shim's pid files), then the shims of this containerd, then it
    for f in "$CD"/state/io.containerd.runtime.v2.task/"$NS"/*/init.pid; do
        [ -f "$f" ] || continue
        kill -KILL "$(cat "$f")" 2> /dev/null || true
    done
    pid=$(cat "$CD/containerd.pid" 2> /dev/null || true)
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2> /dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2> /dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2> /dev/null || true
        wait "$pid" 2> /dev/null || true
    fi
    for p in $(pgrep -f -- "-address $CTD_SOCK( |\$)" || true); do
        kill -KILL "$p" 2> /dev/null || true
    done
    # what stays mounted below the directory (snapshots, shims' rootfs),
    # deepest first
    for m in $(findmnt -rn -o TARGET | grep -F -- "$CD/" | sort -r); do
        umount -l "$m" 2> /dev/null || true
    done
    rm -rf "$CD"
    # (containerd removes a dead shim's task, and runc its cgroup, a moment
    # after ctr has returned)
    for _ in $(seq 1 20); do
        local left=""
        for d in $CTD_CG_OURS; do
            [ -d "$d" ] && ! rmdir "$d" 2> /dev/null && left="$left $d"
        done
        CTD_CG_OURS=$left
        [ -z "$left" ] && break
        sleep 0.1
    done
    # (the default root of the shim's runtime: see setup_file)
    if [ "$CTD_RUNC_NS_OURS" = 1 ]; then
        rmdir "/run/containerd/runc/$NS" 2> /dev/null || true
    fi
    if [ "$CTD_RUN_OURS" = 1 ]; then
        rmdir /run/containerd/runc /run/containerd/s /run/containerd 2> /dev/null || true
    fi
    return 0
}

setup() {
    BGPIDS=()
    engine_log_test
}

teardown() {
    kill_bgpids
    remove_all
}

# remove_all: every task killed and deleted, every container deleted
remove_all() {
    local id
    for id in $(C task ls -q 2> /dev/null); do
        C task rm -f "$id" > /dev/null 2>&1 || true
    done
    for id in $(C containers ls -q 2> /dev/null); do
        C containers rm "$id" > /dev/null 2>&1 || true
    done
}

ctd_up() {
    [ -S "$CTD_SOCK" ] && ctr -a "$CTD_SOCK" version > /dev/null 2>&1
}

# C ARGS...: ctr on this file's containerd and namespace, at most 60 s
C() {
    timeout -k 5 60 ctr -a "$CTD_SOCK" -n "$NS" "$@"
}

# R ARGS...: ctr run with the runtime under test
R() {
    C run --runc-binary "$RT" --runc-root "$CD/runc" --fifo-dir "$CD/fifo" "$@"
}

# X ARGS...: ctr task exec
X() {
    C task exec --fifo-dir "$CD/fifo" "$@"
}

# check_status N: like assert_status, with ctr's stderr in the message
check_status() {
    if [ "$status" -ne "$1" ]; then
        echo "expected exit status $1, got $status; stdout:" >&2
        printf '%s\n' "$output" >&2
        echo "stderr:" >&2
        printf '%s\n' "${stderr:-}" >&2
        return 1
    fi
}

# task_status ID REGEX: the task's status (RUNNING, PAUSED, STOPPED...)
# matches REGEX
task_status() {
    [[ "$(C task ls 2> /dev/null | awk -v id="$1" '$1 == id { print $3 }')" =~ $2 ]]
}

# task_pid ID: the task's first process, as the host sees it
task_pid() {
    C task ls | awk -v id="$1" '$1 == id { print $2 }'
}

# start_ready ID SCRIPT [CTR_RUN_OPTIONS...]: a detached task running sh -c
# SCRIPT, its output in $CD/ID.log, which says "ready" once its traps are
# set
start_ready() {
    local id=$1 script=$2
    shift 2
    run --separate-stderr R -d --log-uri "file://$CD/$id.log" "$@" "$IMG" "$id" sh -c "$script"
    check_status 0
    wait_for file_has "$CD/$id.log" ready || fail_now "$id never said ready: $(cat "$CD/$id.log" 2>&1)"
}

not_alive() { ! is_alive "$1"; }

@test "ctr run: the command's output and exit code come through the runtime" {
    run --separate-stderr R --rm "$IMG" t-run sh -c 'echo hello-ctr; id -u; echo $$; exit 3'
    check_status 3
    assert_equal "${lines[0]}" hello-ctr
    assert_equal "${lines[1]}" 0
    assert_equal "${lines[2]}" 1
    # --rm: the task and the container are gone
    run --separate-stderr C containers ls -q
    check_status 0
    assert_equal "$output" ""
}

@test "ctr run: config.json fields (env, cwd, read-only root, bind mount, capabilities dropped)" {
    local vol=$BATS_TEST_TMPDIR/vol
    mkdir "$vol"
    echo from-host > "$vol/f"
    run --separate-stderr R --rm --env CFGVAR=c1 --cwd /tmp --read-only \
        --mount "type=bind,src=$vol,dst=/data,options=rbind:ro" \
        --cap-drop CAP_CHOWN --cap-drop CAP_NET_RAW "$IMG" t-cfg \
        sh -c 'cat /data/f; echo $CFGVAR; pwd
               touch /x 2>/dev/null && echo root-writable || echo root-read-only
               touch /data/y 2>/dev/null && echo bind-writable || echo bind-read-only
               grep ^CapEff /proc/self/status'
    check_status 0
    assert_equal "${lines[0]}" from-host
    assert_equal "${lines[1]}" c1
    assert_equal "${lines[2]}" /tmp
    assert_equal "${lines[3]}" root-read-only
    assert_equal "${lines[4]}" bind-read-only
    # CAP_CHOWN (bit 0) and CAP_NET_RAW (13) dropped, CAP_DAC_OVERRIDE (1) kept
    local eff
    eff=$(printf '%s' "${lines[5]}" | awk '{ print $2 }')
    [ -n "$eff" ] || fail_now "no CapEff: ${lines[5]}"
    assert_equal "$(((0x$eff >> 0) & 1)) $(((0x$eff >> 13) & 1)) $(((0x$eff >> 1) & 1))" "0 0 1"
}

@test "ctr run --uidmap --gidmap: a user namespace with the mappings containerd gives" {
    run --separate-stderr R --rm --uidmap 0:3000000:65536 --gidmap 0:3000000:65536 "$IMG" t-userns \
        sh -c 'cat /proc/self/uid_map /proc/self/gid_map; id -u; ls -n /bin/busybox'
    check_status 0
    assert_equal "$(printf '%s\n' "${lines[0]}" | tr -s ' ' | sed 's/^ //')" "0 3000000 65536"
    assert_equal "$(printf '%s\n' "${lines[1]}" | tr -s ' ' | sed 's/^ //')" "0 3000000 65536"
    assert_equal "${lines[2]}" 0
    # ctr made the image's files the mapped root's
    [[ "${lines[3]}" == *" 0 "*" 0 "* ]] || fail_now "busybox not owned by the container's root: ${lines[3]}"
}

@test "ctr run -d: task ls, task ps, the process on the host, exec (output, exit code, stdin, user, cwd)" {
    start_ready t-bg 'echo ready; exec sleep 987'
    local pid
    pid=$(task_pid t-bg)
    [ "$pid" -gt 0 ]
    is_alive "$pid"
    assert_equal "$(tr '\0' ' ' < "/proc/$pid/cmdline")" "sleep 987 "
    task_status t-bg '^RUNNING$'
    # task ps asks the runtime for the container's processes
    run --separate-stderr C task ps t-bg
    check_status 0
    printf '%s\n' "$output" | awk 'NR > 1 { print $1 }' | grep -qx "$pid" ||
        fail_now "task ps lacks $pid: $output"

    run --separate-stderr X --exec-id e1 --user 1000 --cwd /tmp t-bg \
        sh -c 'echo in-exec; id -u; pwd; cat /proc/1/cmdline | tr "\0" " "; echo; exit 5'
    check_status 5
    assert_equal "${lines[0]}" in-exec
    assert_equal "${lines[1]}" 1000
    assert_equal "${lines[2]}" /tmp
    assert_equal "${lines[3]}" "sleep 987 "
    run --separate-stderr bash -c 'echo piped-stdin | timeout -k 5 60 ctr -a "$0" -n "$1" task exec --fifo-dir "$2" --exec-id e2 t-bg cat' \
        "$CTD_SOCK" "$NS" "$CD/fifo"
    check_status 0
    assert_equal "$output" piped-stdin
}

@test "ctr task kill: a named signal reaches the process and its exit code comes back; KILL; kill --all" {
    # attached: ctr run waits for the task and exits with its code
    bg "$BATS_TEST_TMPDIR/k1.out" timeout -k 5 60 ctr -a "$CTD_SOCK" -n "$NS" run --rm \
        --runc-binary "$RT" --runc-root "$CD/runc" --fifo-dir "$CD/fifo" "$IMG" t-k1 \
        sh -c 'trap "echo got-usr1; exit 9" USR1; echo ready; while :; do sleep 0.1; done'
    local k1=$BG
    wait_for file_has "$BATS_TEST_TMPDIR/k1.out" ready ||
        fail_now "t-k1 never said ready: $(cat "$BATS_TEST_TMPDIR"/k1.out*)"
    run --separate-stderr C task kill -s USR1 t-k1
    check_status 0
    wait_exit "$k1" 15
    assert_equal "$WAIT_STATUS" 9
    file_has "$BATS_TEST_TMPDIR/k1.out" got-usr1

    start_ready t-k2 'echo ready; exec sleep 987'
    run --separate-stderr C task kill -s KILL t-k2
    check_status 0
    wait_for task_status t-k2 '^STOPPED$'
    run --separate-stderr C task rm t-k2
    check_status 0
    [[ "$stderr" == *"exit code 137"* ]] || fail_now "no exit code 137 from task rm: $stderr"

    # --all: every process of the container, not only the first
    start_ready t-k3 'sleep 988 & echo ready; wait'
    local pids p
    pids=$(C task ps t-k3 | awk 'NR > 1 { print $1 }')
    [ "$(printf '%s\n' "$pids" | grep -c .)" -ge 2 ] || fail_now "task ps: $pids"
    run --separate-stderr C task kill --all -s KILL t-k3
    check_status 0
    wait_for task_status t-k3 '^STOPPED$'
    for p in $pids; do
        wait_for not_alive "$p" || fail_now "$p outlived kill --all"
    done
}

@test "ctr task pause, resume: frozen and thawed" {
    start_ready t-pa 'echo ready; while :; do echo tick; sleep 0.1; done'
    run --separate-stderr C task pause t-pa
    check_status 0
    task_status t-pa '^PAUSED$'
    local a
    a=$(grep -c tick "$CD/t-pa.log")
    sleep 0.5
    assert_equal "$(grep -c tick "$CD/t-pa.log")" "$a"
    run --separate-stderr C task resume t-pa
    check_status 0
    task_status t-pa '^RUNNING$'
    sleep 0.5
    [ "$(grep -c tick "$CD/t-pa.log")" -gt "$a" ]
}

@test "ctr task rm -f: a running task is killed and deleted, then its container" {
    start_ready t-rm 'echo ready; exec sleep 987'
    local pid
    pid=$(task_pid t-rm)
    is_alive "$pid"
    run --separate-stderr C task rm -f t-rm
    check_status 0
    wait_for not_alive "$pid"
    run --separate-stderr C task ls -q
    assert_equal "$output" ""
    run --separate-stderr C containers rm t-rm
    check_status 0
    run --separate-stderr C containers ls -q
    assert_equal "$output" ""
}

@test "ctr run -t: a terminal through the console socket (size, resize, input, exit code)" {
    tty_drive ctr -a "$CTD_SOCK" -n "$NS" run -t --rm --runc-binary "$RT" --runc-root "$CD/runc" \
        --fifo-dir "$CD/fifo" "$IMG" t-tty sh
}

@test "ctr task exec -t: a terminal in a running task (size, resize, input, exit code)" {
    start_ready t-tx 'echo ready; exec sleep 987'
    tty_drive ctr -a "$CTD_SOCK" -n "$NS" task exec -t --exec-id x1 --fifo-dir "$CD/fifo" t-tx sh
}
