#!/usr/bin/env bats
# hutch stats with cgroup v2 delegated, in a VM (tests/vm/run): memory
# against --memory, the process count, the CPU % of a busy loop, block
# I/O after direct writes, and what a container without limits shows.
#
# A container with limits runs in the foreground here, in a scope of its
# own (as limits.bats starts hutch): hutch enables a controller in its
# cgroup only when it is alone there, and a detached container's monitor
# is not alone while `hutch run -d` waits for it, unless a systemd user
# manager gives it a scope of its own (there is none in this run).
# `hutch stats` reads a foreground container as any other.

bats_require_minimum_version 1.5.0

: "${HUTCH:?HUTCH is not set (run the suite through tests/vm/run)}"
: "${ROOTFS:?ROOTFS is not set (run the suite through tests/vm/run)}"
: "${HUTCH_CGROUP_DELEGATED:?HUTCH_CGROUP_DELEGATED is not set (run the suite through tests/vm/run)}"

D=$HUTCH_CGROUP_DELEGATED

# tests/integration's helpers (run copies them in): empty_store, wait_for
load helpers

setup_file() {
    local c
    # D holds no process (the tests run in D/tests.scope): its children
    # may get controllers, the user's to decide in a delegated cgroup
    for c in memory pids cpu io; do
        if grep -qw "$c" "$D/cgroup.controllers"; then
            echo "+$c" > "$D/cgroup.subtree_control"
        fi
    done
    cp -a "$ROOTFS" "$BATS_FILE_TMPDIR/rootfs"
}

setup() {
    R=$BATS_FILE_TMPDIR/rootfs
    STORE=$BATS_TEST_TMPDIR/store
    H=("$HUTCH" --root "$STORE")
    S=$D/stats-t$BATS_TEST_NUMBER.scope
    HPID=
}

teardown() {
    if [ -n "${HPID:-}" ]; then
        kill -KILL "$HPID" 2>/dev/null || true
        wait "$HPID" 2>/dev/null || true
    fi
    empty_store "$STORE"
    rm -rf "$STORE"
    if [ -d "$S" ]; then
        find "$S" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null || true
        local i
        for i in $(seq 1 50); do
            rmdir "$S" 2>/dev/null && break
            sleep 0.1
        done
    fi
}

# fg OUT ARGS...: `hutch run ARGS...` in the foreground, in the background
# of the test, alone in the new cgroup $S marked delegated (as
# `systemd-run --user --scope -p Delegate=yes` would make it); its pid is
# HPID
fg() {
    local out=$1
    shift
    mkdir -p "$S"
    python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.delegate", b"1")' "$S"
    ( echo "$BASHPID" > "$S/cgroup.procs" && exec "${H[@]}" run "$@" ) > "$out" 2>&1 < /dev/null &
    HPID=$!
}

state_of() {
    "${H[@]}" inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["State"][sys.argv[1]])' "$2"
}
has_state() { [ "$(state_of "$1" Status 2>/dev/null)" = "$2" ]; }

# stat_of NAME KEY: KEY of NAME's object in `hutch stats --no-stream --format json`
stat_of() {
    "${H[@]}" stats --no-stream --format json "$1" 2>/dev/null |
        python3 -c 'import json,sys; v = json.load(sys.stdin)[0][sys.argv[1]]; print("null" if v is None else v)' "$2"
}

# the number of processes of container NAME, as hutch top lists them
procs_of() { "${H[@]}" top "$1" | tail -n +2 | grep -c .; }
procs_are() { [ "$(procs_of "$1" 2>/dev/null)" = "$2" ]; }

@test "--memory 64m, a busy loop and two sleeps: MEM USAGE / LIMIT, MEM %, PIDS, CPU %" {
    fg "$BATS_TEST_TMPDIR/out" --name m --memory 64m --pids-limit 50 --rootfs "$R" \
        sh -c 'sleep 1000 & sleep 1000 & while :; do :; done'
    wait_for has_state m running || fail_now "$(cat "$BATS_TEST_TMPDIR/out")"
    wait_for procs_are m 3 || fail_now "processes: $("${H[@]}" top m)"
    run --separate-stderr "${H[@]}" stats --no-stream --format json m
    echo "$output"
    assert_status 0
    printf '%s' "$output" | python3 -c '
import json, sys
s = json.load(sys.stdin)[0]
assert s["Name"] == "m" and s["State"] == "running", s
assert s["MemLimit"] == 64 * 1024 * 1024, s
assert 0 < s["MemUsage"] < s["MemLimit"], s
assert abs(s["MemPerc"] - 100.0 * s["MemUsage"] / s["MemLimit"]) < 0.01, s
# sh and its two sleeps: pids.current
assert s["PIDs"] == 3, s
# the loop keeps a CPU busy (much less than 100 % in a busy TCG VM, but
# never nothing)
assert s["CPU"] > 0 and s["CPUUsec"] > 0, s'
    # the table: the limit as docker writes it, and MEM % from the same numbers
    run --separate-stderr "${H[@]}" stats --no-stream m
    echo "$output"
    assert_status 0
    [[ ${lines[1]} == *" / 64MiB "* ]] || fail_now "MEM USAGE / LIMIT: ${lines[1]}"
    [[ ${lines[1]} =~ \ 3$ ]] || fail_now "PIDS: ${lines[1]}"
    # the io controller is delegated, but no limit of this container needs
    # it: BLOCK I/O is --, and stderr says so, with the option that would
    [[ ${lines[1]} =~ \ --\ +3$ ]] || fail_now "BLOCK I/O: ${lines[1]}"
    [[ $stderr == "hutch stats: BLOCK I/O shows -- for m: no io controller in its cgroup: hutch enables io in a container's cgroup only for a limit that needs it (--blkio-weight for io); \`hutch info\` says what this host has" ]] ||
        fail_now "stderr: $stderr"
    "${H[@]}" stop -t 1 m >/dev/null
    wait_exit "$HPID" 20
    HPID=
}

@test "BLOCK I/O grows by what a dd with oflag=direct wrote" {
    mkdir "$BATS_TEST_TMPDIR/w"
    fg "$BATS_TEST_TMPDIR/out" --name b --memory 128m --blkio-weight 500 \
        -v "$BATS_TEST_TMPDIR/w:/w" --rootfs "$R" \
        sh -c 'while [ ! -e /w/go ]; do sleep 0.1; done; dd if=/dev/zero of=/w/data bs=1M count=16 oflag=direct 2>/w/dd.err; echo "dd $?" > /w/done; sleep 1000'
    wait_for has_state b running || fail_now "$(cat "$BATS_TEST_TMPDIR/out")"
    before=$(stat_of b BlockOutput)
    [ "$before" != null ] || skip "no io.stat in the container's cgroup: the VM's kernel has no io controller for it"
    touch "$BATS_TEST_TMPDIR/w/go"
    wait_for test -e "$BATS_TEST_TMPDIR/w/done" || fail_now "dd did not end: $(cat "$BATS_TEST_TMPDIR/w/dd.err" 2>/dev/null)"
    if [ "$(cat "$BATS_TEST_TMPDIR/w/done")" != "dd 0" ]; then
        skip "direct writes are refused on the VM's /tmp: $(cat "$BATS_TEST_TMPDIR/w/dd.err")"
    fi
    after=$(stat_of b BlockOutput)
    echo "before $before after $after"
    if [ "$after" -eq "$before" ]; then
        skip "the VM's disk accounts no I/O to cgroups (io.stat did not change after 16 MiB of direct writes)"
    fi
    [ "$after" -ge $((before + 16 * 1024 * 1024)) ]
    run "${H[@]}" stats --no-stream b
    echo "$output"
    [[ ${lines[1]} =~ \ [0-9.]+[kMG]?B\ /\ (1[6-9]|[2-9][0-9])(\.[0-9]+)?MB\ +[0-9]+$ ]] || fail_now "BLOCK I/O: ${lines[1]}"
    "${H[@]}" stop -t 1 b >/dev/null
    wait_exit "$HPID" 20
    HPID=
}

@test "a detached container without limits: its own cgroup gives CPU % and PIDS; memory and io are --, and why" {
    "${H[@]}" run -d --name d --rootfs "$R" sh -c 'sleep 1000 & while :; do :; done' >/dev/null
    wait_for procs_are d 2 || fail_now "processes: $("${H[@]}" top d)"
    cg=$("${H[@]}" inspect d | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["CgroupPath"] or "")')
    [[ $cg == "$D/"*"/hutch-"* ]] || fail_now "cgroup: $cg"
    run --separate-stderr "${H[@]}" stats --no-stream --format json
    echo "$output"
    assert_status 0
    printf '%s' "$output" | python3 -c '
import json, sys
s = json.load(sys.stdin)[0]
assert s["Name"] == "d", s
assert s["CPU"] > 0 and s["PIDs"] == 2, s
assert s["MemUsage"] is None and s["BlockInput"] is None, s'
    [[ $stderr == "hutch stats: MEM USAGE / LIMIT, MEM % and BLOCK I/O show -- for d: no memory and io controllers in its cgroup: hutch enables memory and io in a container's cgroup only for a limit that needs it (--memory for memory and --blkio-weight for io); \`hutch info\` says what this host has" ]] ||
        fail_now "stderr: $stderr"
    "${H[@]}" rm -f d >/dev/null
}
