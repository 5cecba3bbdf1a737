#!/usr/bin/env bats
# The id mapping each layer was unpacked under (ROOT/layers/HEX/idmap):
# written with the layer, kept while nothing changes, and made up for a
# layer of an older hutch that has none.  What happens when the mapping
# changes needs an administrator between two commands: layer-idmap.root.bats.
# Every test uses a private store in $BATS_TEST_TMPDIR.

load helpers

MKTAR="python3 $BATS_TEST_DIRNAME/mktar.py"

setup() {
    need_subids
    STORE=$BATS_TEST_TMPDIR/store
}

teardown() {
    local st rc=0
    for st in "$BATS_TEST_TMPDIR"/store*; do
        [ -d "$st" ] || continue
        empty_store "$st"
        rm -rf "$st" || rc=1
    done
    return "$rc"
}

H() { "$HUTCH" --root "$STORE" "$@"; }

# owned_tar OUT: the busybox rootfs, plus /d (a directory of uid 42, gid
# 42) holding /d/f, and /f of uid 42
owned_tar() {
    $MKTAR tar "$1" "tree:$ROOTFS" owner:42:42 dir:d file:d/f:hello file:f:hello
}

# expected_record: the record a layer unpacked by this user gets
expected_record() {
    echo "hutch-layer-idmap 1"
    echo "owners kept"
    expected_map "$MY_UID" /etc/subuid | sed 's/^/uid /'
    expected_map "$MY_GID" /etc/subgid | sed 's/^/gid /'
}

# diff_inode: the inode of the only layer's diff directory (a new one when
# the layer was unpacked again)
diff_inode() { stat -c %i "$STORE"/layers/*/diff; }

# no_again: stderr does not say that a layer was unpacked again
no_again() {
    if printf '%s\n' "$stderr" | grep -q 'again'; then
        echo "unexpected on stderr: $stderr" >&2
        return 1
    fi
}

@test "a layer records the id mapping it was unpacked under, and runs with its owners" {
    owned_tar "$BATS_TEST_TMPDIR/o.tar"
    run --separate-stderr H import "$BATS_TEST_TMPDIR/o.tar" owned
    assert_status 0
    no_again
    assert_equal "$(ls "$STORE/layers" | wc -l)" 1
    assert_equal "$(cat "$STORE"/layers/*/idmap)" "$(expected_record)"
    run --separate-stderr H run --network none owned stat -c '%u %g' /f /d/f
    assert_status 0
    assert_equal "$output" "42 42
42 42"
    no_again
}

@test "nothing changed: a second import and runs use the layer as it is" {
    owned_tar "$BATS_TEST_TMPDIR/o.tar"
    run H import "$BATS_TEST_TMPDIR/o.tar" owned
    assert_status 0
    local ino rec
    ino=$(diff_inode)
    rec=$(cat "$STORE"/layers/*/idmap)
    run --separate-stderr H import "$BATS_TEST_TMPDIR/o.tar" again
    assert_status 0
    no_again
    run --separate-stderr H run --network none again stat -c %u /f
    assert_status 0
    assert_equal "$output" 42
    no_again
    assert_equal "$(diff_inode)" "$ino"
    assert_equal "$(cat "$STORE"/layers/*/idmap)" "$rec"
    assert_equal "$(ls -A "$STORE/tmp")" ""
    [ ! -e "$STORE/superseded" ] || assert_equal "$(ls -A "$STORE/superseded")" ""
}

@test "a layer of an older hutch whose files have other owners is kept, and gets its record" {
    owned_tar "$BATS_TEST_TMPDIR/o.tar"
    run H import "$BATS_TEST_TMPDIR/o.tar" owned
    assert_status 0
    local ino
    ino=$(diff_inode)
    # what an older hutch left: no record
    rm "$STORE"/layers/*/idmap
    run --separate-stderr H run --network none owned stat -c %u /f
    assert_status 0
    assert_equal "$output" 42
    no_again
    assert_equal "$(diff_inode)" "$ino"
    assert_equal "$(cat "$STORE"/layers/*/idmap)" "$(expected_record)"
}

@test "a damaged record counts as none" {
    owned_tar "$BATS_TEST_TMPDIR/o.tar"
    run H import "$BATS_TEST_TMPDIR/o.tar" owned
    assert_status 0
    local ino
    ino=$(diff_inode)
    echo garbage > "$(echo "$STORE"/layers/*/idmap)"
    run --separate-stderr H run --network none owned stat -c %u /f
    assert_status 0
    assert_equal "$output" 42
    no_again
    assert_equal "$(diff_inode)" "$ino"
    assert_equal "$(cat "$STORE"/layers/*/idmap)" "$(expected_record)"
}

@test "a layer of an older hutch whose files are all the user's is unpacked again, once" {
    # all root's in the image: nothing on disk tells whether an older
    # hutch kept owners, so it is unpacked again to be sure
    $MKTAR tar "$BATS_TEST_TMPDIR/r.tar" "tree:$ROOTFS" file:f:hello
    run H import "$BATS_TEST_TMPDIR/r.tar" rootonly
    assert_status 0
    local ino
    ino=$(diff_inode)
    rm "$STORE"/layers/*/idmap
    run --separate-stderr H run --network none rootonly cat /f
    assert_status 0
    assert_equal "$output" hello
    assert_equal "$(printf '%s\n' "$stderr" | grep -c 'again')" 1
    printf '%s\n' "$stderr" | grep -q '^hutch: image docker.io/library/rootonly:latest: unpacking a layer again: an older hutch unpacked it without recording the id mapping' || {
        echo "stderr: $stderr" >&2
        return 1
    }
    [ "$(diff_inode)" != "$ino" ]
    assert_equal "$(cat "$STORE"/layers/*/idmap)" "$(expected_record)"
    # the old copy is gone (no container was running), nothing is left over
    assert_equal "$(ls -A "$STORE/superseded")" ""
    assert_equal "$(ls -A "$STORE/tmp")" ""
    run --separate-stderr H run --network none rootonly cat /f
    assert_status 0
    no_again
}

@test "layers of a loaded image have records too" {
    $MKTAR tar "$BATS_TEST_TMPDIR/l1.tar" "tree:$ROOTFS"
    $MKTAR tar "$BATS_TEST_TMPDIR/l2.tar" owner:42:42 file:f:hello
    $MKTAR oci "$BATS_TEST_TMPDIR/img.tar" loaded:1 "$BATS_TEST_TMPDIR/l1.tar" "$BATS_TEST_TMPDIR/l2.tar"
    run --separate-stderr H load -i "$BATS_TEST_TMPDIR/img.tar"
    assert_status 0
    assert_equal "$(ls "$STORE/layers" | wc -l)" 2
    local l
    for l in "$STORE"/layers/*; do
        assert_equal "$(cat "$l/idmap")" "$(expected_record)"
    done
    run --separate-stderr H run --network none loaded:1 stat -c %u /f
    assert_status 0
    assert_equal "$output" 42
    no_again
}
