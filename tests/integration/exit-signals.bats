#!/usr/bin/env bats
# Exit codes and signal forwarding.

load helpers

teardown() {
    if [ -n "${HPID:-}" ]; then
        kill -KILL "$HPID" 2>/dev/null || true
        wait "$HPID" 2>/dev/null || true
    fi
}

@test "exit code: the command's own code" {
    run "$HUTCH" run --rootfs "$ROOTFS" sh -c 'exit 3'
    assert_status 3
    run "$HUTCH" run --rootfs "$ROOTFS" true
    assert_status 0
    run "$HUTCH" run --rootfs "$ROOTFS" sh -c 'exit 255'
    assert_status 255
}

@test "exit code: 128+N when the command dies of signal N" {
    # with --init the shell is not PID 1, so it can kill itself
    run "$HUTCH" run --init --rootfs "$ROOTFS" sh -c 'kill -9 $$'
    assert_status 137
    run "$HUTCH" run --init --rootfs "$ROOTFS" sh -c 'kill -TERM $$'
    assert_status 143
}

@test "exit code: PID 1 killed by a signal from outside gives 128+N" {
    local out="$BATS_TEST_TMPDIR/out"
    "$HUTCH" run --rootfs "$ROOTFS" sleep 4242.25 > "$out" 2>&1 3>&- &
    HPID=$!
    wait_for has_cmdline 'sleep 4242\.25'
    local cpid
    cpid=$(pids_of_cmdline 'sleep 4242\.25')
    [ -n "$cpid" ]
    kill -KILL $cpid
    wait_exit "$HPID"
    local st=$WAIT_STATUS
    HPID=
    assert_equal "$st" 137
}

@test "exit code: 127 when the command is not found" {
    run -127 "$HUTCH" run --rootfs "$ROOTFS" no-such-command-xyz
    assert_status 127
    run -127 "$HUTCH" run --rootfs "$ROOTFS" /no/such/path
    assert_status 127
}

@test "exit code: 126 when the command cannot be executed" {
    # /etc/passwd exists but is not executable
    run "$HUTCH" run --rootfs "$ROOTFS" /etc/passwd
    assert_status 126
    # a directory
    run "$HUTCH" run --rootfs "$ROOTFS" /etc
    assert_status 126
}

@test "exit code: 125 for a bad option" {
    run "$HUTCH" run --no-such-option --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "no-such-option"
    run "$HUTCH" no-such-command
    assert_status 125
}

@test "signal: SIGTERM sent to hutch reaches the container's PID 1" {
    local out="$BATS_TEST_TMPDIR/out"
    "$HUTCH" run --rootfs "$ROOTFS" sh -c 'trap "echo got-term; exit 42" TERM; echo ready; while :; do sleep 0.1; done' \
        > "$out" 2>&1 3>&- &
    HPID=$!
    wait_for file_has "$out" ready
    kill -TERM "$HPID"
    wait_exit "$HPID"
    local st=$WAIT_STATUS
    HPID=
    cat "$out"
    assert_equal "$st" 42
    grep -q got-term "$out"
}

@test "signal: SIGUSR1 and SIGHUP are forwarded too" {
    local out="$BATS_TEST_TMPDIR/out"
    "$HUTCH" run --rootfs "$ROOTFS" sh -c 'trap "echo got-usr1" USR1; trap "echo got-hup; exit 7" HUP; echo ready; while :; do sleep 0.1; done' \
        > "$out" 2>&1 3>&- &
    HPID=$!
    wait_for file_has "$out" ready
    kill -USR1 "$HPID"
    wait_for file_has "$out" got-usr1
    kill -HUP "$HPID"
    wait_exit "$HPID"
    local st=$WAIT_STATUS
    HPID=
    cat "$out"
    assert_equal "$st" 7
}

@test "signal: with --init, SIGTERM kills a plain sleep (exit 143)" {
    local out="$BATS_TEST_TMPDIR/out"
    "$HUTCH" run --init --rootfs "$ROOTFS" sleep 4343.5 > "$out" 2>&1 3>&- &
    HPID=$!
    wait_for has_cmdline 'sleep 4343\.5'
    kill -TERM "$HPID"
    wait_exit "$HPID"
    local st=$WAIT_STATUS
    HPID=
    cat "$out"
    assert_equal "$st" 143
}

@test "a command that ends at once: 300 runs in a row, none hangs" {
    # The setup's loop reads the signalfd and drops SIGCHLD; when `true`
    # was gone by the time the supervision began, hutch waited forever for
    # a SIGCHLD that had come already (about one run in 200).
    local i st
    for i in $(seq 1 300); do
        st=0
        timeout -k 1 10 "$HUTCH" run --rootfs "$ROOTFS" true || st=$?
        if [ "$st" -ne 0 ]; then
            echo "run $i: exit status $st" >&2
            return 1
        fi
    done
}
