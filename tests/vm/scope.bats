#!/usr/bin/env bats
# hutch and the user's systemd manager, in a VM with pure cgroup v2
# (tests/vm/run): stage2.sh runs this file apart from the others, with a
# real `systemd --user` for the test user in D/init.scope (D, the
# delegated user@UID.service, is the manager's root).  From a cgroup the
# manager did not delegate (as a desktop terminal's scope under app.slice
# is), hutch asks the manager for a transient scope hutch-PID.scope with
# Delegate=yes, as `systemd-run --user --scope -p Delegate=yes` would, and
# puts its container's cgroup in there.

bats_require_minimum_version 1.5.0

: "${HUTCH:?HUTCH is not set (run the suite through tests/vm/run)}"
: "${ROOTFS:?ROOTFS is not set (run the suite through tests/vm/run)}"
: "${HUTCH_CGROUP_DELEGATED:?HUTCH_CGROUP_DELEGATED is not set (run the suite through tests/vm/run)}"
: "${XDG_RUNTIME_DIR:?XDG_RUNTIME_DIR is not set (run the suite through tests/vm/run)}"

D=$HUTCH_CGROUP_DELEGATED

# tests/integration's helpers (run copies them in): wait_exit
load helpers

setup_file() {
    # stage2.sh started the manager before this file; without it every
    # test here would say nothing
    if [ ! -S "$XDG_RUNTIME_DIR/systemd/private" ]; then
        echo "no systemd --user for $(id -un): no $XDG_RUNTIME_DIR/systemd/private (see out/systemd-user.log)" >&2
        return 1
    fi
}

setup() {
    # the cgroup the tests start hutch in: a child of the manager's
    # app.slice that no unit delegated (no user.delegate attribute), as a
    # terminal's scope is
    N=$D/app.slice/term-$BATS_TEST_NUMBER.scope
    mkdir -p "$N"
    HPID=
}

teardown() {
    if [ -n "${HPID:-}" ]; then
        kill -KILL "$HPID" 2>/dev/null || true
        wait "$HPID" 2>/dev/null || true
    fi
    local i
    for i in $(seq 1 50); do
        rmdir "$N" 2>/dev/null && break
        [ -d "$N" ] || break
        sleep 0.1
    done
}

# in_n CMD...: run CMD alone in the non-delegated cgroup $N
in_n() {
    ( echo "$BASHPID" > "$N/cgroup.procs" && exec "$@" )
}

# the manager's hutch-* units (all of them, loaded or not active too)
hutch_units() {
    systemctl --user list-units --all --plain --no-legend 'hutch-*'
}

# the cgroups named hutch-* anywhere under D
hutch_cgroups() {
    find "$D" -mindepth 1 -type d -name 'hutch-*'
}

# wait_gone: the scope unit and every hutch-* cgroup are gone (the manager
# stops an emptied scope a moment after its last process exits)
wait_gone() {
    local i
    for i in $(seq 1 100); do
        [ -z "$(hutch_units)" ] && [ -z "$(hutch_cgroups)" ] && return 0
        sleep 0.1
    done
    echo "left behind: units: $(hutch_units); cgroups: $(hutch_cgroups)" >&2
    return 1
}

@test "the non-delegated cgroup is what the test needs: the user's, but no user.delegate" {
    [ "$(stat -c %u "$N")" = "$(id -u)" ]
    run python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "user.delegate"))' "$N"
    [ "$status" -ne 0 ]
    run python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "user.delegate"))' "$D/app.slice"
    [ "$status" -ne 0 ]
    # and the manager answers
    run systemctl --user is-system-running
    echo "$output"
    [[ $output == running || $output == degraded || $output == starting ]]
}

@test "--pids-limit from a non-delegated cgroup: hutch gets a delegated scope from systemd" {
    local o=$BATS_TEST_TMPDIR
    ( echo "$BASHPID" > "$N/cgroup.procs" &&
        exec "$HUTCH" run --pids-limit 10 -v "$o:/out" --rootfs "$ROOTFS" -- \
            sh -c 'cat /proc/self/cgroup; cat /sys/fs/cgroup/pids.max; touch /out/up; while [ ! -e /out/go ]; do sleep 0.1; done' ) \
        > "$o/log" 2>&1 &
    HPID=$!
    local i
    for i in $(seq 1 300); do
        [ -e "$o/up" ] && break
        kill -0 "$HPID" 2>/dev/null || break
        sleep 0.1
    done
    cat "$o/log"
    [ -e "$o/up" ]

    # the unit hutch-HPID.scope runs, its cgroup is delegated (systemd
    # 252 marks it), and holds the launcher's leaf and the container's
    # cgroup with the limit
    run hutch_units
    echo "units: $output"
    [[ $output == "hutch-$HPID.scope "*" active running "* ]]
    local cg
    cg=$(systemctl --user show --value -p ControlGroup "hutch-$HPID.scope")
    echo "ControlGroup=$cg"
    [ "$cg" = "${D#/sys/fs/cgroup}/app.slice/hutch-$HPID.scope" ]
    cg=/sys/fs/cgroup$cg
    python3 -c 'import os, sys; assert os.getxattr(sys.argv[1], "user.delegate") == b"1"' "$cg"
    # hutch (and its watchdog, the container's user namespace's first
    # process) in the leaf
    grep -qx "$HPID" "$cg/hutch-launcher-$HPID/cgroup.procs"
    local c
    c=$(find "$cg" -mindepth 1 -maxdepth 1 -type d -name 'hutch-*' ! -name 'hutch-launcher-*')
    echo "container cgroup: $c"
    [ -n "$c" ]
    [[ ${c##*/} =~ ^hutch-[0-9a-f]{64}$ ]]
    [ "$(cat "$c/pids.max")" = 10 ]
    [ -n "$(cat "$c/cgroup.procs")" ]
    # nothing of hutch's was left in (or made under) the cgroup it started in
    [ -z "$(cat "$N/cgroup.procs")" ]
    [ -z "$(find "$N" -mindepth 1 -type d)" ]

    touch "$o/go"
    local st
    # bounded: a hutch that does not end with its container fails here
    wait_exit "$HPID" 60
    st=$WAIT_STATUS
    HPID=
    cat "$o/log"
    [ "$st" -eq 0 ]
    [ "$(cat "$o/log")" = "0::/
10" ]
    wait_gone
}

@test "--pids-limit from a non-delegated cgroup, the plain way: exit 0, 0::/ and 10, nothing left" {
    run in_n "$HUTCH" run --pids-limit 10 --rootfs "$ROOTFS" -- sh -c 'cat /proc/self/cgroup; cat /sys/fs/cgroup/pids.max'
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "0::/
10" ]
    wait_gone
}

@test "hutch info there: not delegated, and hutch run asks the systemd user manager" {
    run in_n "$HUTCH" info
    echo "$output"
    [ "$status" -eq 0 ]
    [[ $output == *"${N#/sys/fs/cgroup} (yours, but your systemd user manager's: not delegated to hutch unless it is a Delegate=yes unit)"* ]]
    [[ $output == *"hutch run asks the systemd user manager for a delegated scope"* ]]
    # info only looks: no scope, no cgroup
    [ -z "$(hutch_units)" ]
    [ -z "$(hutch_cgroups)" ]
}

@test "the manager unreachable: hutch uses the cgroup the user owns (systemd 252 marks no delegation)" {
    # Without a manager to ask, an unmarked cgroup of the user's below
    # user@UID.service may well be a Delegate=yes scope (systemd 252 sets no
    # user.delegate): hutch, alone in it, uses it.
    local marker=$BATS_TEST_TMPDIR/ran
    run in_n env -u DBUS_SESSION_BUS_ADDRESS XDG_RUNTIME_DIR=/nonexistent \
        "$HUTCH" run --pids-limit 10 -v "$BATS_TEST_TMPDIR:/out" --rootfs "$ROOTFS" -- sh -c 'touch /out/ran; cat /sys/fs/cgroup/pids.max'
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = 10 ]
    [ -e "$marker" ]
    [ -z "$(hutch_units)" ]
    [ -z "$(hutch_cgroups)" ]
    run in_n env -u DBUS_SESSION_BUS_ADDRESS XDG_RUNTIME_DIR=/nonexistent "$HUTCH" info
    echo "$output"
    [[ $output == *"not delegated to hutch unless it is a Delegate=yes unit"* ]]
    [[ $output == *"cgroup controllers: "*pids* ]]
}

@test "a delegated cgroup shared with other processes: hutch gets a scope of its own too" {
    # the bats runner's tests.scope is delegated but holds bats and this
    # shell: no controllers can be enabled there (limits.bats checks the
    # refusal without a manager)
    run "$HUTCH" run --pids-limit 12 --rootfs "$ROOTFS" -- cat /sys/fs/cgroup/pids.max
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = 12 ]
    [ -z "$(find "$D/tests.scope" -mindepth 1 -type d)" ]
    wait_gone
}
