#!/usr/bin/env bats
# Limits for real, in a VM with pure cgroup v2 (tests/vm/run): an
# unprivileged user, a delegated cgroup D with memory, pids, cpu (and
# cpuset, io) controllers, and hutch started the way `systemd-run --user
# --scope -p Delegate=yes hutch run ...` starts it: alone in a fresh
# cgroup under D.

bats_require_minimum_version 1.5.0

: "${HUTCH:?HUTCH is not set (run the suite through tests/vm/run)}"
: "${ROOTFS:?ROOTFS is not set (run the suite through tests/vm/run)}"
: "${HUTCH_CGROUP_DELEGATED:?HUTCH_CGROUP_DELEGATED is not set (run the suite through tests/vm/run)}"

D=$HUTCH_CGROUP_DELEGATED

# tests/integration's helpers (run copies them in): empty_store
load helpers

setup_file() {
    local c
    # D holds no process (the tests run in D/tests.scope): its children may
    # get controllers, which is the user's to decide in a delegated cgroup.
    for c in memory pids cpu cpuset io; do
        if grep -qw "$c" "$D/cgroup.controllers"; then
            echo "+$c" > "$D/cgroup.subtree_control"
        fi
    done
    cp -a "$ROOTFS" "$BATS_FILE_TMPDIR/rootfs"
    cc -static -O1 -o "$BATS_FILE_TMPDIR/rootfs/bin/vmtool" "$BATS_TEST_DIRNAME/vmtool.c"
}

setup() {
    R=$BATS_FILE_TMPDIR/rootfs
    STORE=$BATS_TEST_TMPDIR/store
    S=$D/t$BATS_TEST_NUMBER.scope
    HPID=
}

teardown() {
    if [ -n "${HPID:-}" ]; then
        kill -KILL "$HPID" 2>/dev/null || true
        wait "$HPID" 2>/dev/null || true
    fi
    # a store holds files of subordinate ids: emptied through hutch
    empty_store "$STORE"
    rm -rf "$STORE"
    # a scope is removed by systemd once empty; here by us
    if [ -d "$S" ]; then
        find "$S" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null || true
        local i
        for i in $(seq 1 50); do
            rmdir "$S" 2>/dev/null && break
            sleep 0.1
        done
    fi
}

# make_scope: the cgroup $S under D, marked delegated as systemd marks a
# scope with Delegate=yes (the user.delegate attribute, systemd 252)
make_scope() {
    mkdir -p "$S"
    python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.delegate", b"1")' "$S"
}

# in_scope CMD...: run CMD alone in the new cgroup $S under D, as
# `systemd-run --user --scope -p Delegate=yes` would
in_scope() {
    make_scope
    ( echo "$BASHPID" > "$S/cgroup.procs" && exec "$@" )
}

# the cgroups left under $S
leftovers() {
    find "$S" -mindepth 1 -type d 2>/dev/null
}

assert_clean() {
    local left
    left=$(leftovers)
    if [ -n "$left" ]; then
        echo "left behind: $left" >&2
        return 1
    fi
    # the controllers hutch enabled for its container are off again
    [ -z "$(cat "$S/cgroup.subtree_control")" ]
    # and hutch itself was back in the scope, which is now empty
    [ -z "$(cat "$S/cgroup.procs")" ]
}

@test "--memory 32m: a process that touches 64 MiB is OOM-killed, exit 137, reported" {
    run in_scope "$HUTCH" run --memory 32m --rootfs "$R" -- vmtool alloc 64
    echo "$output"
    [ "$status" -eq 137 ]
    [[ $output != *allocated* ]]
    [[ $output == *"hutch: the container ran out of memory: the kernel's OOM killer ended 1 process (memory.events oom_kill)"* ]]
    assert_clean
}

@test "--memory 32m: a child OOM-killed under a shell is reported too; 64 MiB in 48m is fine" {
    run in_scope "$HUTCH" run --memory 32m --rootfs "$R" -- sh -c 'vmtool alloc 64; echo "after $?"'
    echo "$output"
    [ "$status" -eq 0 ]
    [[ $output == *"after 137"* ]]
    [[ $output == *"ran out of memory"* ]]
    rmdir "$S"
    run in_scope "$HUTCH" run --memory 96m --rootfs "$R" -- vmtool alloc 64
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = allocated ]
}

@test "--pids-limit 20: the 21st process cannot be made" {
    run in_scope "$HUTCH" run --pids-limit 20 --rootfs "$R" -- vmtool fork 40
    echo "$output"
    [ "$status" -eq 0 ]
    # vmtool is one of the 20
    [ "$output" = "forked 19 then EAGAIN current 20" ]
    assert_clean
}

@test "--cpus 0.2: a busy loop gets about 20% of a CPU, and is throttled" {
    run in_scope "$HUTCH" run --cpus 0.2 --rootfs "$R" -- sh -c 'vmtool spin 3; grep -E "^(nr_throttled|usage_usec) " /sys/fs/cgroup/cpu.stat'
    echo "$output"
    [ "$status" -eq 0 ]
    local pct throttled
    pct=$(sed -n 1p <<< "$output")
    throttled=$(awk '$1 == "nr_throttled" { print $2 }' <<< "$output")
    # 20000 us per 100000 us: at most about 20 %, far from the ~100 % of an
    # unlimited loop (a starved VM may give it less: no lower bound but the
    # throttling, which shows the loop ran into the quota)
    [ "$pct" -ge 1 ] && [ "$pct" -le 30 ]
    [ "$throttled" -gt 10 ]
    assert_clean
}

@test "the cgroup files hold the values asked for" {
    local want_cpuset=0
    run in_scope "$HUTCH" run --memory 64m --memory-reservation 16m --memory-swap 96m \
        --pids-limit 55 --cpus 1.5 --cpu-shares 512 --cpuset-cpus "$want_cpuset" --cpuset-mems 0 \
        --blkio-weight 300 --cgroup-conf memory.high=50000000 --cgroup-conf cgroup.max.depth=3 \
        --rootfs "$R" -- sh -c 'cd /sys/fs/cgroup && for f in memory.max memory.low memory.swap.max memory.high pids.max cpu.max cpu.weight cpuset.cpus cpuset.mems cgroup.max.depth; do echo "$f=$(cat $f)"; done; grep -q "^default 2930$" io.weight 2>/dev/null && echo io.weight=ok; grep -qw io cgroup.controllers || echo io.weight=ok'
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "memory.max=67108864
memory.low=16777216
memory.swap.max=33554432
memory.high=49999872
pids.max=55
cpu.max=150000 100000
cpu.weight=59
cpuset.cpus=$want_cpuset
cpuset.mems=0
cgroup.max.depth=3
io.weight=ok" ]
    assert_clean
}

@test "--memory alone: as much swap as memory, as Docker does" {
    run in_scope "$HUTCH" run --memory 64m --rootfs "$R" -- cat /sys/fs/cgroup/memory.swap.max
    [ "$status" -eq 0 ]
    [ "$output" = 67108864 ]
}

@test "hutch info in a delegated scope lists the controllers" {
    run in_scope "$HUTCH" info
    echo "$output"
    [ "$status" -eq 0 ]
    [[ $output == *"(delegated to you)"* ]]
    local line
    line=$(grep '^cgroup controllers:' <<< "$output")
    [[ $line == *memory* && $line == *pids* && $line == *cpu* ]]
}

@test "a container's cgroup from an image, then gone; and after SIGKILL of hutch too" {
    tar -czf "$BATS_TEST_TMPDIR/r.tar.gz" -C "$R" .
    "$HUTCH" --root "$STORE" import "$BATS_TEST_TMPDIR/r.tar.gz" bb > /dev/null
    run in_scope "$HUTCH" --root "$STORE" run --network none --pids-limit 30 bb cat /sys/fs/cgroup/pids.max
    [ "$status" -eq 0 ]
    [ "$output" = 30 ]
    assert_clean
    rmdir "$S"
    local out=$BATS_TEST_TMPDIR/out
    # in_scope by hand: $! must be hutch itself
    make_scope
    ( echo "$BASHPID" > "$S/cgroup.procs" && exec "$HUTCH" run --pids-limit 30 --rootfs "$R" -- sh -c 'echo up; exec sleep 4321' ) > "$out" 2>&1 &
    HPID=$!
    local i
    for i in $(seq 1 100); do grep -q up "$out" && break; sleep 0.1; done
    [ -n "$(find "$S" -mindepth 1 -maxdepth 1 -name 'hutch-[0-9a-f]*')" ]
    kill -KILL "$HPID"
    wait "$HPID" || true
    HPID=
    # the watchdog removes the container's cgroup (the launcher's leaf
    # stays: a real scope goes with it)
    for i in $(seq 1 100); do
        [ -z "$(find "$S" -mindepth 1 -maxdepth 1 -name 'hutch-[0-9a-f]*')" ] && break
        sleep 0.1
    done
    [ -z "$(find "$S" -mindepth 1 -maxdepth 1 -name 'hutch-[0-9a-f]*')" ]
    # the killed launcher's leaf stays, empty once the watchdog is gone:
    # systemd removes a scope with what is in it
    [ -n "$(find "$S" -mindepth 1 -maxdepth 1 -name 'hutch-launcher-*')" ]
}

@test "config.json (hutch-oci): linux.resources are applied" {
    local b=$BATS_TEST_TMPDIR/bundle
    mkdir -p "$b"
    ln -s "$R" "$b/rootfs"
    python3 - "$b/config.json" "$(id -u)" "$(id -g)" <<'PY'
import json, sys
path, uid, gid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
cfg = {
    "ociVersion": "1.0.2",
    "process": {"user": {"uid": 0, "gid": 0}, "cwd": "/", "env": ["PATH=/bin:/usr/bin"],
                "args": ["sh", "-c", "cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/memory.max"]},
    "root": {"path": "rootfs"},
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
               {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["ro"]},
               {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["ro"]}],
    "linux": {"namespaces": [{"type": t} for t in ("user", "mount", "pid", "network", "cgroup")],
              "uidMappings": [{"containerID": 0, "hostID": uid, "size": 1}],
              "gidMappings": [{"containerID": 0, "hostID": gid, "size": 1}],
              "resources": {"pids": {"limit": 7}, "memory": {"limit": 100000000},
                            "devices": [{"allow": False, "access": "rwm"}]}},
}
json.dump(cfg, open(path, "w"))
PY
    run in_scope "$HUTCH_OCI" run --bundle "$b" oci1
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "7
99999744" ]
    assert_clean
}

# ---- errors -------------------------------------------------------------

@test "limits from a cgroup that holds other processes: exit 125, saying why and what to do" {
    # the bats runner's own cgroup (D/tests.scope) holds bats and this shell
    local marker=$BATS_TEST_TMPDIR/ran
    run "$HUTCH" run --memory 64m -v "$BATS_TEST_TMPDIR:/out" --rootfs "$R" -- touch /out/ran
    echo "$output"
    [ "$status" -eq 125 ]
    [[ $output == *"holds other processes than hutch"* ]]
    [[ $output == *"systemd-run --user --scope -p Delegate=yes"* ]]
    [ ! -e "$marker" ]
    # without limits the container runs there, in a cgroup of its own
    run "$HUTCH" run --rootfs "$R" -- cat /proc/self/cgroup
    [ "$status" -eq 0 ]
    [ "$output" = "0::/" ]
    [ -z "$(find "$D/tests.scope" -mindepth 1 -maxdepth 1 -type d)" ]
}

@test "a cgroup of the user's below user@UID.service without a delegation mark, no manager to ask: used" {
    # systemd 252 marks no Delegate=yes unit (no user.delegate): with no user
    # manager to ask for a scope (none runs here), the cgroup the user owns
    # is used, hutch alone in it.  (tests/vm/scope.bats: with a manager.)
    mkdir -p "$S"
    run bash -c 'echo $BASHPID > "$1/cgroup.procs" && exec "$2" run --memory 64m --rootfs "$3" -- cat /sys/fs/cgroup/memory.max' _ "$S" "$HUTCH" "$R"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = 67108864 ]
    assert_clean
    run bash -c 'echo $BASHPID > "$1/cgroup.procs" && exec "$2" info' _ "$S" "$HUTCH"
    [[ $output == *"not delegated to hutch unless it is a Delegate=yes unit"* ]]
}

@test "a controller that is not delegated: exit 125 naming it" {
    # a subtree where only pids reaches the children
    local P=$D/t$BATS_TEST_NUMBER.partial
    mkdir "$P"
    echo +pids > "$P/cgroup.subtree_control"
    S=$P/s
    run in_scope "$HUTCH" run --memory 64m --rootfs "$R" -- true
    echo "$output"
    [ "$status" -eq 125 ]
    [[ $output == *"the memory controller is not available in your cgroup $S (its cgroup.controllers lists: pids), so memory.max cannot be set"* ]]
    [[ $output == *"Delegate=cpu cpuset io memory pids"* ]]
    run in_scope "$HUTCH" run --pids-limit 5 --rootfs "$R" -- cat /sys/fs/cgroup/pids.max
    [ "$status" -eq 0 ]
    [ "$output" = 5 ]
    rmdir "$S" "$P"
}

@test "values the kernel refuses: exit 125 naming the file, nothing left behind" {
    local marker=$BATS_TEST_TMPDIR/ran
    run in_scope "$HUTCH" run --cgroup-conf "cpu.max=500 100000" -v "$BATS_TEST_TMPDIR:/out" --rootfs "$R" -- touch /out/ran
    echo "$output"
    [ "$status" -eq 125 ]
    [[ $output == *'the kernel refused cpu.max = `500 100000`: Invalid argument'* ]]
    assert_clean
    rmdir "$S"
    run in_scope "$HUTCH" run --cpuset-cpus 63 -v "$BATS_TEST_TMPDIR:/out" --rootfs "$R" -- touch /out/ran
    echo "$output"
    [ "$status" -eq 125 ]
    [[ $output == *'the kernel refused cpuset.cpus = `63`'* ]]
    assert_clean
    rmdir "$S"
    run in_scope "$HUTCH" run --cgroup-conf memory.nosuchfile=1 --rootfs "$R" -- true
    [ "$status" -eq 125 ]
    [[ $output == *"the kernel has no cgroup file memory.nosuchfile"* ]]
    [ ! -e "$marker" ]
    assert_clean
}

@test "run -d --pids-limit from a delegated cgroup without a user manager: the launcher makes room for the monitor" {
    local cg mon
    run in_scope "$HUTCH" --root "$STORE" run -d --name p --pids-limit 20 --rootfs "$R" -- \
        sh -c 'vmtool fork 40; sleep 1000'
    echo "$output"
    [ "$status" -eq 0 ]
    cg=$("$HUTCH" --root "$STORE" inspect p | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["CgroupPath"])')
    echo "cgroup: $cg"
    [ "$(cat "$cg/pids.max")" = 20 ]
    # beside the launcher's leaf, in which the monitor runs
    [ "$(dirname "$cg")" = "$S" ]
    mon=$("$HUTCH" --root "$STORE" inspect p | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["State"]["ConmonPid"])')
    grep -qx "$mon" "$S"/hutch-launcher-*/cgroup.procs
    wait_for grep -q "forked 18 then EAGAIN" "$STORE/containers/$(basename "$cg" | sed 's/^hutch-//')/ctr.log"
    "$HUTCH" --root "$STORE" rm -f p
    [ ! -d "$cg" ]
}
