#!/usr/bin/env bats
# --systemd (system mode) with cgroup v2 delegated, in a VM (tests/vm/run):
# what a container in system mode gets (tmpfs mounts, environment, stop
# signal and timeout, a writable /sys/fs/cgroup that still guards its
# limits), on the busybox root; then Debian 12's systemd booting to
# running (or degraded) and shutting down cleanly on `hutch stop`.  The
# Debian root file system is made by tests/vm/run on the host with
# debootstrap, once per machine (/var/cache/hutch-test/); without it those
# tests skip, saying why.

bats_require_minimum_version 1.5.0

: "${HUTCH:?HUTCH is not set (run the suite through tests/vm/run)}"
: "${ROOTFS:?ROOTFS is not set (run the suite through tests/vm/run)}"
: "${HUTCH_CGROUP_DELEGATED:?HUTCH_CGROUP_DELEGATED is not set (run the suite through tests/vm/run)}"

D=$HUTCH_CGROUP_DELEGATED
DEB_TAR=/var/cache/hutch-test/debian-bookworm-systemd.tar
DEB_WHY=/var/cache/hutch-test/debian-bookworm-systemd.why

# tests/integration's helpers (run copies them in): empty_store, wait_for
load helpers

setup_file() {
    local c
    for c in memory pids cpu; do
        if grep -qw "$c" "$D/cgroup.controllers"; then
            echo "+$c" > "$D/cgroup.subtree_control"
        fi
    done
    cp -a "$ROOTFS" "$BATS_FILE_TMPDIR/rootfs"
    mkdir -p "$BATS_FILE_TMPDIR/rootfs/var/log/journal"
    # one import of Debian for the file's tests (a few hundred MB: slow
    # under TCG, and not a test's time)
    if [ -s "$DEB_TAR" ]; then
        "$HUTCH" --root "$BATS_FILE_TMPDIR/store" import "$DEB_TAR" deb-systemd \
            > "$BATS_FILE_TMPDIR/import.log" 2>&1 || true
    fi
}

teardown_file() {
    empty_store "$BATS_FILE_TMPDIR/store"
    rm -rf "$BATS_FILE_TMPDIR/store"
}

setup() {
    R=$BATS_FILE_TMPDIR/rootfs
    STORE=$BATS_FILE_TMPDIR/store
    H=("$HUTCH" --root "$STORE")
    S=$D/systemd-t$BATS_TEST_NUMBER.scope
    HPID=
}

teardown() {
    if [ -n "${HPID:-}" ]; then
        kill -KILL "$HPID" 2>/dev/null || true
        wait "$HPID" 2>/dev/null || true
    fi
    local id
    for id in $("${H[@]}" ps -aq --no-trunc 2>/dev/null); do
        "${H[@]}" rm -f -v "$id" >/dev/null 2>&1 || true
    done
    if [ -d "$S" ]; then
        find "$S" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null || true
        local i
        for i in $(seq 1 50); do
            rmdir "$S" 2>/dev/null && break
            sleep 0.1
        done
    fi
}

state_of() {
    "${H[@]}" inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["State"][sys.argv[1]])' "$2"
}
config_of() {
    "${H[@]}" inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Config"][sys.argv[1]])' "$2"
}
has_state() { [ "$(state_of "$1" Status 2>/dev/null)" = "$2" ]; }
id_of() { "${H[@]}" inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])'; }

need_debian() {
    if [ ! -s "$DEB_TAR" ]; then
        skip "no Debian 12 root file system with systemd: $(cat "$DEB_WHY" 2>/dev/null || echo "tests/vm/run makes $DEB_TAR on the host")"
    fi
    if ! "${H[@]}" images -q | grep -q .; then
        echo "import failed: $(cat "$BATS_FILE_TMPDIR/import.log")" >&2
        return 1
    fi
}

# the mounts that system mode adds, as the container sees them:
# "DESTINATION TYPE OPTIONS" sorted
MOUNTS='grep -E " /(run|run/lock|tmp|var/log/journal|sys/fs/cgroup) " /proc/self/mounts | cut -d" " -f2-4 | sort'

# mount_has DEST TYPE OPT...: $output has DEST of TYPE with each OPT
# (!OPT: without it)
mount_has() {
    local dest=$1 type=$2 line o
    shift 2
    line=$(printf '%s\n' "$output" | awk -v d="$dest" '$1 == d')
    [ -n "$line" ] || fail_now "no mount on $dest: $output"
    [ "$(cut -d' ' -f2 <<< "$line")" = "$type" ] || fail_now "$dest: $line"
    for o in "$@"; do
        if [[ $o == !* ]]; then
            [[ ,$(cut -d' ' -f3 <<< "$line"), != *",${o#!},"* ]] || fail_now "$dest has ${o#!}: $line"
        else
            [[ ,$(cut -d' ' -f3 <<< "$line"), == *",$o,"* ]] || fail_now "$dest lacks $o: $line"
        fi
    done
}

@test "system mode by the command (/sbin/init), or always: tmpfs mounts, container_uuid, SIGRTMIN+3 and 30 s to stop" {
    # an "init" that runs what it is given
    printf '#!/bin/sh\nexec "$@"\n' > "$R/sbin/init"
    chmod 0755 "$R/sbin/init"
    run "${H[@]}" run --name by-cmd --rootfs "$R" /sbin/init sh -c "$MOUNTS; echo env \$container \$container_uuid"
    echo "$output"
    [ "$status" -eq 0 ]
    mount_has /run tmpfs rw nosuid nodev noexec size=65536k mode=755
    mount_has /run/lock tmpfs rw nosuid nodev noexec size=65536k
    mount_has /tmp tmpfs rw nosuid nodev '!noexec'
    mount_has /var/log/journal tmpfs rw nosuid nodev noexec mode=2755
    # a cgroup of its own (delegated), and nsdelegate: writable
    mount_has /sys/fs/cgroup cgroup2 rw nsdelegate
    id=$(id_of by-cmd)
    assert_equal "${lines[-1]}" "env hutch ${id:0:32}"
    assert_equal "$(config_of by-cmd StopSignal)" 37
    assert_equal "$(config_of by-cmd StopTimeout)" 30
    # always: whatever the command; --stop-signal and --stop-timeout win
    run "${H[@]}" run --name al --systemd always --stop-signal USR1 --stop-timeout 5 --rootfs "$R" sh -c "$MOUNTS"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 5 ] || fail_now "$output"
    assert_equal "$(config_of al StopSignal)" 10
    assert_equal "$(config_of al StopTimeout)" 5
    # false, or another command: nothing of it
    for args in "--systemd false /sbin/init sh" "sh"; do
        run "${H[@]}" run --rootfs "$R" $args -c "$MOUNTS"
        [ "$status" -eq 0 ]
        [ "${#lines[@]}" -eq 1 ] || fail_now "$args: $output"
        mount_has /sys/fs/cgroup cgroup2 ro
    done
}

@test "system mode: the user's mounts stay (on /run itself, and below it); --init and --pid host are refused" {
    mkdir -p "$BATS_TEST_TMPDIR/d"
    echo here > "$BATS_TEST_TMPDIR/d/f"
    run "${H[@]}" run --rm --systemd always -v "$BATS_TEST_TMPDIR/d:/run/d" --tmpfs /tmp:size=1m \
        --rootfs "$R" sh -c 'cat /run/d/f; grep -c " /run " /proc/self/mounts; grep " /tmp " /proc/self/mounts | grep -c size=1024k'
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "here
1
1" ]
    run "${H[@]}" run --rm --init --rootfs "$R" /sbin/init
    [ "$status" -eq 125 ]
    [[ $output == *"--init puts hutch-init as PID 1, but in system mode"* ]]
    run "${H[@]}" run --rm --pid host --systemd always --rootfs "$R" true
    [ "$status" -eq 125 ]
    [[ $output == *"--pid host leaves systemd"* ]]
    run "${H[@]}" run --rm --systemd sometimes --rootfs "$R" true
    [ "$status" -eq 125 ]
    [[ $output == *"--systemd \`sometimes\`: expected true, false or always"* ]]
}

@test "system mode: /sys/fs/cgroup is writable below the container's cgroup, and its own limits stay out of reach" {
    mkdir -p "$S"
    python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.delegate", b"1")' "$S"
    run bash -c 'echo $BASHPID > "$1/cgroup.procs" && exec "$2" --root "$3" run --rm --memory 64m --systemd always --rootfs "$4" sh -c "
        mkdir /sys/fs/cgroup/init.scope && echo \$\$ > /sys/fs/cgroup/init.scope/cgroup.procs && echo moved
        echo max > /sys/fs/cgroup/memory.max || echo refused
        cat /sys/fs/cgroup/memory.max"' _ "$S" "$HUTCH" "$STORE" "$R"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ $output == *moved* ]]
    [[ $output == *refused* ]]
    [ "${lines[-1]}" = 67108864 ]
}

@test "Debian 12's systemd boots to running (or degraded) in system mode; hutch stop shuts it down cleanly" {
    need_debian
    # A unit that writes the system's state once it is known (there is no
    # hutch exec to ask systemctl from outside), and when it is stopped, a
    # line in a directory of the host's: that the shutdown ran the units'
    # stops and did not end in SIGKILL.  systemd takes PID 1's arguments
    # as its kernel command line in a container (systemd.wants=).  Its
    # console lines do not reach the log: a container has no /dev/console.
    mkdir "$BATS_TEST_TMPDIR/out"
    cat > "$BATS_TEST_TMPDIR/report.service" <<'EOF'
[Unit]
Description=hutch test: the system's state once it started
[Service]
ExecStart=/bin/sh -c 'systemctl is-system-running --wait > /run/hutch-state.tmp 2>&1; systemctl --failed --no-legend --plain > /run/hutch-failed; mv /run/hutch-state.tmp /run/hutch-state; exec sleep infinity'
ExecStop=/bin/sh -c 'echo "stopped while $(systemctl is-system-running)" > /hutch-out/stopped'
EOF
    run "${H[@]}" run -d --name sd -v "$BATS_TEST_TMPDIR/report.service:/etc/systemd/system/hutch-report.service:ro" \
        -v "$BATS_TEST_TMPDIR/out:/hutch-out" deb-systemd /sbin/init systemd.wants=hutch-report.service
    echo "$output"
    [ "$status" -eq 0 ]
    pid=$(state_of sd Pid)
    # the state, read through the container's root as the host shows it
    for i in $(seq 1 600); do
        [ -s "/proc/$pid/root/run/hutch-state" ] && break
        has_state sd running || break
        sleep 0.1
    done
    [ -s "/proc/$pid/root/run/hutch-state" ] || fail_now "no state within 60 s: $("${H[@]}" top sd)"
    state=$(cat "/proc/$pid/root/run/hutch-state")
    echo "# state: $state; failed units: $(tr '\n' ';' < "/proc/$pid/root/run/hutch-failed")" >&3
    [[ $state == running || $state == degraded ]] || fail_now "state: $state"
    # systemd is PID 1, and what it started runs
    run "${H[@]}" top sd
    echo "$output"
    [[ ${lines[1]} == *" /sbin/init systemd.wants=hutch-report.service" ]] || fail_now "PID 1: ${lines[1]}"
    [[ $output == *systemd-journald* ]] || fail_now "top: $output"
    # hutch stop: SIGRTMIN+3, a clean shutdown well within the 30 s
    start=$(date +%s)
    run "${H[@]}" stop sd
    assert_status 0
    took=$(($(date +%s) - start))
    echo "# stop took $took s" >&3
    [ "$took" -lt 30 ] || fail_now "SIGKILL after the timeout: stop took $took s"
    assert_equal "$(cat "$BATS_TEST_TMPDIR/out/stopped")" "stopped while stopping"
    assert_equal "$(state_of sd ExitCode)" 0
    run "${H[@]}" ps -a --format '{{.Names}} {{.Status}}'
    [[ $output == "sd Exited (0) "* ]] || fail_now "ps: $output"
}
