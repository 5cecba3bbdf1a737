#!/usr/bin/env bats
# Escape through the user's terminal (CVE-2017-5226, bubblewrap): a
# process that shares the user's terminal and session can push characters
# into its input queue with TIOCSTI, and the user's shell reads them as
# typed once the container is gone.  hutch runs the container in a session
# of its own, so the terminal is not its controlling terminal.  ttyjack
# runs hutch on a fresh pseudo-terminal, as a login shell would, and counts
# what waits in its input queue afterwards.

load helpers
load common

setup_file() {
    sec_setup_file ttyjack
}

setup() {
    need_helpers
    # the control: on this kernel, a process of the terminal's session can
    # inject (Linux 6.2+ may be built or set without legacy TIOCSTI, and
    # then nobody can, and there is nothing to test)
    run "$SBIN/ttyjack" host "$SBIN/ttyjack" inject
    assert_status 0
    [ "$(sed -n 's/^queued //p' <<< "$output")" -gt 0 ] ||
        skip "TIOCSTI is disabled on this kernel (dev.tty.legacy_tiocsti=0): nothing can inject"
}

# queued: the count ttyjack reported
queued() {
    sed -n 's/^queued //p' <<< "$output"
}

@test "TIOCSTI: nothing reaches the input of the user's terminal, with the terminal as stdin (-i), as stdout only, or with every capability" {
    local o
    for o in "" "-i" "-i --privileged" "-i --init" "-i --cap-add SYS_ADMIN"; do
        # shellcheck disable=SC2086
        run "$SBIN/ttyjack" host "$HUTCH" --root "$BATS_TEST_TMPDIR/store" run $o --rootfs "$SROOTFS" ttyjack inject
        assert_status 0
        assert_output_has "status 0" "fd1 "
        assert_equal "$(queued)" 0
        # the container's view, for the log: it has no controlling terminal
        assert_output_has "devtty ENXIO"
    done
}

@test "TIOCSTI with -t: the container's own terminal takes the input, the user's gets none (CVE-2017-5226)" {
    run "$SBIN/ttyjack" host "$HUTCH" --root "$BATS_TEST_TMPDIR/store" run -i -t --rootfs "$SROOTFS" \
        sh -c 'ttyjack inject; sleep 0.2'
    assert_status 0
    # the control: its own terminal took it
    assert_output_has "fd0 ok"
    assert_equal "$(queued)" 0
}

@test "TIOCSTI in the host sandbox: the user's terminal gets nothing either" {
    cd "$BATS_TEST_TMPDIR"
    cp "$SBIN/ttyjack" ./ttyjack
    run "$SBIN/ttyjack" host "$HUTCH" --root "$BATS_TEST_TMPDIR/store" run -i -- ./ttyjack inject
    assert_status 0
    assert_output_has "status 0" "fd0 "
    assert_equal "$(queued)" 0
}
