#!/usr/bin/env bats
# Single-file images (issue 19): /dev/fuse that the user cannot open.
#
# Run as root by tests/integration/run, which holds the suite's lock: root
# takes /dev/fuse's permissions away between two hutch commands, as an
# administrator could, and puts them back in teardown, even when a test
# fails.  hutch itself runs unprivileged, as GRANT_USER (hutchgrant), with
# a clean environment.

load helpers
load squashfs

setup_file() {
    [ "$(id -u)" = 0 ] || skip "these tests change /dev/fuse: tests/integration/run runs them as root"
    : "${GRANT_USER:?run through tests/integration/run}" "${GRANT_DIR:?}" "${BASE_PATH:?}"
    command -v mksquashfs >/dev/null || skip "mksquashfs is not installed (apt install squashfs-tools)"
    command -v squashfuse_ll >/dev/null || command -v squashfuse >/dev/null ||
        skip "squashfuse is not installed (apt install squashfuse)"
    [ -c /dev/fuse ] || skip "this host has no /dev/fuse"
}

setup() {
    [ "$(id -u)" = 0 ] || skip "these tests change /dev/fuse: tests/integration/run runs them as root"
    FUSE_MODE=$(stat -c %a /dev/fuse)
    W=$GRANT_DIR/t$BATS_TEST_NUMBER
    rm -rf "$W"
    mkdir -m 0755 "$W"
    chown "$GRANT_USER:" "$W"
    STORE=$W/store
    # a squashfs of the busybox root filesystem, without hutch's note
    mksquashfs "$ROOTFS" "$W/plain.sqfs" -quiet -no-progress -all-root >/dev/null
    chmod 0644 "$W/plain.sqfs"
}

teardown() {
    local rc=0
    chmod "$FUSE_MODE" /dev/fuse
    [ "$(stat -c %a /dev/fuse)" = "$FUSE_MODE" ] || { echo "TEARDOWN: /dev/fuse not restored" >&2; rc=1; }
    rm -rf "$W"
    return "$rc"
}

H() { U "$HUTCH" --root "$STORE" "$@"; }

# no squashfuse of GRANT_USER's containers is left
grant_squashfuse_gone() {
    [ -z "$(pgrep -u "$GRANT_USER" -f "squashfuse.* $STORE/containers/" || true)" ]
}

@test "error: /dev/fuse that the user cannot open: 125, with the administrator's fix; fine again once it is back" {
    chmod 0600 /dev/fuse
    run H run --rm "$W/plain.sqfs" cat /etc/hostname
    assert_status 125
    assert_output_has "/dev/fuse cannot be opened" "chmod 0666 /dev/fuse"
    chmod "$FUSE_MODE" /dev/fuse
    run H run --rm "$W/plain.sqfs" sh -c 'echo ran'
    assert_status 0
    assert_output_has ran
    wait_for grant_squashfuse_gone
}
