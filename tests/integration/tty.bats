#!/usr/bin/env bats
# -t and -i: terminals and stdin.

load helpers

@test "-t: the command gets a pseudo-terminal" {
    command -v script >/dev/null || skip "script (util-linux) not installed"
    run script -qec "$HUTCH run -t --rootfs $ROOTFS sh -c 'tty; test -t 0 && echo stdin-is-tty; test -t 1 && echo stdout-is-tty; stty size; echo TERM=\$TERM'" /dev/null < /dev/null
    assert_status 0
    assert_output_has /dev/pts/ stdin-is-tty stdout-is-tty TERM=xterm
}

@test "-t: the exit code still comes through" {
    command -v script >/dev/null || skip "script (util-linux) not installed"
    run script -qec "$HUTCH run -t --rootfs $ROOTFS sh -c 'exit 5'" /dev/null < /dev/null
    assert_status 5
}

@test "-t: the window size follows the outer terminal" {
    command -v script >/dev/null || skip "script (util-linux) not installed"
    run script -qec "stty rows 33 cols 77; $HUTCH run -t --rootfs $ROOTFS stty size" /dev/null < /dev/null
    assert_status 0
    assert_output_has "33 77"
}

@test "without -t: no terminal" {
    command -v script >/dev/null || skip "script (util-linux) not installed"
    # even when hutch itself runs on a terminal
    run script -qec "$HUTCH run --rootfs $ROOTFS sh -c 'test -t 0 && echo stdin-is-tty || echo stdin-not-tty; test -t 1 && echo stdout-is-tty || echo stdout-not-tty'" /dev/null < /dev/null
    assert_status 0
    assert_output_has stdin-not-tty
    [[ "$output" != *stdin-is-tty* ]]
    run "$HUTCH" run --rootfs "$ROOTFS" sh -c 'test -t 0 && echo tty || echo not-tty'
    assert_status 0
    assert_equal "$output" not-tty
}

@test "-i keeps stdin attached; without it stdin is /dev/null" {
    run bash -c 'echo hello-stdin | "$0" run -i --rootfs "$1" cat' "$HUTCH" "$ROOTFS"
    assert_status 0
    assert_equal "$output" hello-stdin
    run bash -c 'echo hello-stdin | "$0" run --rootfs "$1" cat' "$HUTCH" "$ROOTFS"
    assert_status 0
    assert_equal "$output" ""
}

@test "-i -t at a terminal: typed input, a resize (SIGWINCH), the exit code, and the terminal restored" {
    command -v python3 >/dev/null || skip "python3 is not installed (scripts/deps --test installs it)"
    run timeout 60 python3 "$BATS_TEST_DIRNAME/ptydrive.py" "$HUTCH" "$ROOTFS"
    assert_status 0
    assert_output_has "exit code 7" "terminal restored"
}
