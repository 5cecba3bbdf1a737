#!/usr/bin/env bats
# Single-file images (issue 19) as a user WITHOUT a subordinate range
# (hutchnosub): the store's files are all the user's, yet the saved file
# has the image's owners (read from the layer blobs), and it runs.

load helpers
load squashfs

setup_file() {
    command -v mksquashfs >/dev/null || skip "mksquashfs is not installed (apt install squashfs-tools)"
    command -v squashfuse_ll >/dev/null || command -v squashfuse >/dev/null ||
        skip "squashfuse is not installed (apt install squashfuse)"
    if [ -n "$SUBUID_START" ] || [ -n "$SUBGID_START" ]; then
        skip "user $MY_USER has a subordinate range; these tests need one without"
    fi
    sq_make_image "$BATS_FILE_TMPDIR/sq.tar"
}

setup() {
    D=$BATS_FILE_TMPDIR
    STORE=$BATS_TEST_TMPDIR/store
    BGPIDS=()
}

teardown() {
    kill_bgpids
    empty_store "$STORE"
    rm -rf "$STORE"
}

H() { "$HUTCH" --root "$STORE" "$@"; }

@test "nosub: save --format squashfs keeps the image's owners, though the store squashed them" {
    H load -i "$D/sq.tar" >/dev/null 2>&1
    # the store's copy is all the user's
    [ "$(stat -c %u "$(find "$STORE/layers" -path '*/diff/home/app/owned')")" = "$MY_UID" ]
    run H save --format squashfs -o "$BATS_TEST_TMPDIR/sq.sqfs" sq
    assert_status 0
    run sq_listing "$BATS_TEST_TMPDIR/sq.sqfs"
    assert_status 0
    printf '%s\n' "$output" | grep -qx -- '-rw------- 1234/1234 /home/app/owned'
    printf '%s\n' "$output" | grep -qx -- 'drwxr-xr-x 1234/1234 /home/app'
    printf '%s\n' "$output" | grep -qx -- '-rw-r--r-- 0/1234 /etc/grp-owned'
    printf '%s\n' "$output" | grep -qx -- '-rwsr-xr-x 0/0 /bin/setuid'
    printf '%s\n' "$output" | grep -qx -- '-rwxr-xr-x 0/0 /bin/busybox'
    ! printf '%s\n' "$output" | grep -q -e '/etc/gone' -e '/gonedir/old' -e '\.wh\.'
    [ -z "$(ls -A "$STORE/tmp")" ]
    # the store's record of the owners (user.containers.override_stat) is
    # not the image's: the file has the owners themselves, not the record
    getfattr_store=$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.containers.override_stat").decode())' \
        "$(find "$STORE/layers" -path '*/diff/home/app/owned')")
    assert_equal "$getfattr_store" "1234:1234:0600"
    unsquashfs -q -d "$BATS_TEST_TMPDIR/ex" "$BATS_TEST_TMPDIR/sq.sqfs" >/dev/null 2>&1 || true
    [ -f "$BATS_TEST_TMPDIR/ex/home/app/owned" ] || [ -d "$BATS_TEST_TMPDIR/ex/home/app" ]
    run python3 -c 'import os,sys
for top, dirs, files in os.walk(sys.argv[1]):
    for n in dirs + files:
        p = os.path.join(top, n)
        if not os.path.islink(p) and "user.containers.override_stat" in os.listxattr(p):
            print(p)' "$BATS_TEST_TMPDIR/ex"
    assert_status 0
    assert_equal "$output" ""
    chmod -R u+rwX "$BATS_TEST_TMPDIR/ex"
}

@test "nosub: run FILE: config, files, writes in the upper directory, --rm, no daemon left" {
    H load -i "$D/sq.tar" >/dev/null 2>&1
    H save --format squashfs -o "$BATS_TEST_TMPDIR/sq.sqfs" sq 2>/dev/null
    H rmi sq >/dev/null 2>&1
    local before
    before=$(sha256sum < "$BATS_TEST_TMPDIR/sq.sqfs")
    run --separate-stderr H run --rm "$BATS_TEST_TMPDIR/sq.sqfs"
    assert_status 0
    assert_equal "$output" "ep cmd"
    run --separate-stderr H run --rm --entrypoint "" "$BATS_TEST_TMPDIR/sq.sqfs" sh -c 'id -u; pwd; echo $FOO; cat /gonedir/new; echo w > /etc/w; cat /etc/w; stat -c "%u %g" /home/app/owned /etc/grp-owned'
    assert_status 0
    # one id is mapped: the image's other owners are nobody here
    assert_equal "$output" "0
/home/app
bar
new
w
65534 65534
0 65534"
    assert_equal "$(sha256sum < "$BATS_TEST_TMPDIR/sq.sqfs")" "$before"
    [ -z "$(ls -A "$STORE/containers")" ]
    wait_for sq_squashfuse_gone "$STORE"
    run --separate-stderr H run -d --name nb --entrypoint "" "$BATS_TEST_TMPDIR/sq.sqfs" sleep 1000
    assert_status 0
    run --separate-stderr H exec nb cat /gonedir/new
    assert_equal "$output" new
    run H rm -f nb
    assert_status 0
    wait_for sq_squashfuse_gone "$STORE"
    [ -z "$(ls -A "$STORE/containers")" ]
}
