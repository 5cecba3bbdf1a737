#!/usr/bin/env bats
# The trust rule for the directories hutch writes to (src/base/paths.c): a
# store that another user could change is refused, with the path and the
# fix, and `hutch info` says the same.  setup.sh made
# /var/lib/hutch-test-others: hutchnosub's, mode 0777, as a scratch
# directory of someone else's on a shared server.

load helpers

OTHERS=/var/lib/hutch-test-others

setup() {
    T=$BATS_TEST_TMPDIR
}

teardown() {
    [ -z "${TMPSTORE:-}" ] || { empty_store "$TMPSTORE"; rm -rf "$TMPSTORE"; }
}

@test "a store inside another user's directory that everyone can write to is refused, and nothing is made there" {
    [ "$(stat -c %U:%a "$OTHERS")" = hutchnosub:777 ] || skip "setup.sh did not make $OTHERS"
    run "$HUTCH" --root "$OTHERS/x/hutch" images
    assert_status 125
    assert_output_has "the image store \`$OTHERS/x/hutch\` is not safe" "\`$OTHERS\` belongs to hutchnosub" \
        "--root DIR" "root = DIR"
    [ ! -e "$OTHERS/x" ]
}

@test "a store below a directory of one's own that every user can write to is refused, with the chmod that fixes it" {
    mkdir -m 0777 "$T/open"
    chmod 0777 "$T/open"
    run "$HUTCH" --root "$T/open/store" images
    assert_status 125
    assert_output_has "every user can write to \`$T/open\` (mode 0777)" "chmod o-w $T/open"
    [ ! -e "$T/open/store" ]
    chmod o-w "$T/open"
    run "$HUTCH" --root "$T/open/store" images
    assert_status 0
    TMPSTORE=$T/open/store
}

@test "a store below a directory a shared group can write to is refused" {
    id -nG | grep -qw hutchshare || skip "not in the group hutchshare (setup.sh)"
    mkdir "$T/g"
    chgrp hutchshare "$T/g"
    chmod 0775 "$T/g"
    run "$HUTCH" --root "$T/g/store" images
    assert_status 125
    assert_output_has "group hutchshare can write to \`$T/g\`" "chmod g-w $T/g"
}

@test "a symbolic link of one's own that leads into another user's directory is refused" {
    [ -d "$OTHERS" ] || skip "setup.sh did not make $OTHERS"
    ln -s "$OTHERS" "$T/link"
    run "$HUTCH" --root "$T/link/store" images
    assert_status 125
    assert_output_has "belongs to hutchnosub"
}

@test "a store in /tmp (root's, sticky) is accepted" {
    [ "$(stat -c %U:%a /tmp)" = root:1777 ] || skip "/tmp is not root's and sticky here"
    TMPSTORE=/tmp/hutch-paths-test-$$-$BATS_TEST_NUMBER
    run "$HUTCH" --root "$TMPSTORE" images
    assert_status 0
    [ "$(stat -c %a "$TMPSTORE")" = 700 ]
}

@test "a store in memory (a tmpfs) is warned about once: its images vanish at reboot" {
    [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] || skip "/dev/shm is not a tmpfs here"
    [ "$(stat -c %U:%a /dev/shm)" = root:1777 ] || skip "/dev/shm is not root's and sticky here"
    TMPSTORE=/dev/shm/hutch-paths-test-$$-$BATS_TEST_NUMBER
    run --separate-stderr "$HUTCH" --root "$TMPSTORE" images
    assert_status 0
    printf '%s\n' "$stderr" | grep -qF "hutch: warning: the image store \`$TMPSTORE\` is on a tmpfs, in memory: its images and layers vanish when the machine restarts" ||
        fail_now "no warning about the tmpfs: $stderr"
    printf '%s\n' "$stderr" | grep -qF "hutch --root" || fail_now "the warning names no fix: $stderr"
    # once per store
    run --separate-stderr "$HUTCH" --root "$TMPSTORE" images
    assert_status 0
    assert_equal "$stderr" ""
    run "$HUTCH" --root "$TMPSTORE" info
    assert_output_has "problem: the image store \`$TMPSTORE\` is on a tmpfs"
    # a store on disk is not warned about
    [ "$(stat -f -c %T "$T")" != tmpfs ] || skip "the test's own directory is on a tmpfs"
    run --separate-stderr "$HUTCH" --root "$T/store" images
    assert_status 0
    assert_equal "$stderr" ""
    empty_store "$T/store"
}

@test "hutch info names the unsafe store as a problem, with the fix" {
    [ -d "$OTHERS" ] || skip "setup.sh did not make $OTHERS"
    run "$HUTCH" --root "$OTHERS/y" info
    assert_output_has "image store: $OTHERS/y" "problem: the image store \`$OTHERS/y\` is not safe" "belongs to hutchnosub"
}

@test "an image run from an unsafe store is refused; a run from a directory still works (without the filter cache)" {
    [ -d "$OTHERS" ] || skip "setup.sh did not make $OTHERS"
    run "$HUTCH" --root "$OTHERS/z" run --network none busybox true
    assert_status 125
    assert_output_has "is not safe"
    run "$HUTCH" --root "$OTHERS/z" run --rootfs "$ROOTFS" -- echo ran
    assert_status 0
    assert_equal "${lines[-1]}" ran
    assert_output_has "containers are not recorded" "is not safe"
    [ ! -e "$OTHERS/z" ]
}
