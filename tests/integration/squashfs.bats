#!/usr/bin/env bats
# Single-file images (issue 19): hutch save --format squashfs writes one
# squashfs file of an image; hutch run FILE (and --image-file) mounts it
# with squashfuse under the container's overlay, without the store's
# layers.  As a user with a subordinate range; squashfs.nosub.bats does the
# same without one, squashfs.root.bats takes /dev/fuse away.

load helpers
load squashfs

# The image is made, loaded into a store of its own and saved once; every
# test runs the file with a fresh store that never had the image.
setup_file() {
    command -v mksquashfs >/dev/null || skip "mksquashfs is not installed (apt install squashfs-tools)"
    command -v squashfuse_ll >/dev/null || command -v squashfuse >/dev/null ||
        skip "squashfuse is not installed (apt install squashfuse)"
    [ -n "$SUBUID_START" ] || skip "user $MY_USER has no subordinate id range"
    local D=$BATS_FILE_TMPDIR
    sq_make_image "$D/sq.tar" app
    "$HUTCH" --root "$D/save-store" load -i "$D/sq.tar" >/dev/null
    "$HUTCH" --root "$D/save-store" save --format squashfs -o "$D/sq.sqfs" sq
}

teardown_file() {
    empty_store "$BATS_FILE_TMPDIR/save-store"
    rm -rf "$BATS_FILE_TMPDIR/save-store"
}

setup() {
    D=$BATS_FILE_TMPDIR
    SQ=$D/sq.sqfs
    STORE=$BATS_TEST_TMPDIR/store
    BGPIDS=()
}

teardown() {
    kill_bgpids
    empty_store "$STORE"
    rm -rf "$STORE"
}

H() { "$HUTCH" --root "$STORE" "$@"; }

@test "save --format squashfs: one squashfs file, owners, modes, hard links kept, whiteouts applied" {
    [ "$(head -c 4 "$SQ")" = hsqs ]
    unsquashfs -s "$SQ" | grep -q 'Compression zstd'
    run sq_listing "$SQ"
    assert_status 0
    printf '%s\n' "$output" | grep -qx -- '-rw------- 1234/1234 /home/app/owned'
    printf '%s\n' "$output" | grep -qx -- 'drwxr-xr-x 1234/1234 /home/app'
    printf '%s\n' "$output" | grep -qx -- '-rw-r--r-- 0/1234 /etc/grp-owned'
    printf '%s\n' "$output" | grep -qx -- '-rwsr-xr-x 0/0 /bin/setuid'
    printf '%s\n' "$output" | grep -qx -- '-rw-r--r-- 0/0 /gonedir/new'
    # the lower layer's files that the upper one deleted are not there,
    # nor are whiteouts or the opaque marker
    ! printf '%s\n' "$output" | grep -q -e '/etc/gone' -e '/gonedir/old' -e '\.wh\.'
    # the note after the filesystem, with the config, ends the file
    [ "$(tail -c 32 "$SQ" | head -c 16)" = "hutch image note" ]
    # the temporary name is gone, and the store's tmp holds nothing
    [ -z "$(ls "$D" | grep '\.hutch-')" ]
    [ -z "$(ls -A "$D/save-store/tmp")" ]
}

@test "run FILE: the image's Entrypoint, Cmd, Env, WorkingDir and User apply, from no store layer" {
    run H run --rm "$SQ"
    assert_status 0
    assert_equal "$output" "ep cmd"
    run H run --rm --entrypoint "" "$SQ" sh -c 'id -u; id -g; pwd; echo $FOO; cat /home/app/owned; cat /gonedir/new; ls /gonedir; test ! -e /etc/gone && echo gone'
    assert_status 0
    assert_equal "$output" "1234
1234
/home/app
bar
mine
new
new
gone"
    # hard links stay links, the setuid bit stays
    run H run --rm -u 0 --entrypoint "" "$SQ" sh -c 'stat -c "%h %i" /data/a /data/b | uniq | wc -l; stat -c %A /bin/setuid; awk "\$2 == \"/\" { print \$3 }" /proc/mounts'
    assert_status 0
    assert_equal "$output" "1
-rwsr-xr-x
overlay"
    # the store never had a layer of it
    [ -z "$(ls -A "$STORE/layers" 2>/dev/null)" ]
    run H images -q
    assert_equal "$output" ""
}

@test "run --userns keep-id FILE: squashfuse mounts as the user's own uid in the namespace, not through fusermount3" {
    # Regression: the daemon lost the namespace's capabilities at exec
    # (a uid other than its root), and libfuse fell back to the host's
    # fusermount3, which refuses allow_other.
    run H run --rm --userns keep-id -w / --entrypoint "" "$SQ" sh -c 'id -u; cat /home/app/owned'
    assert_status 0
    assert_equal "$output" "1234
mine"
}

@test "image inspect FILE: the id, name and config that the file keeps" {
    run H image inspect "$SQ"
    assert_status 0
    assert_output_has '"File": "'"$SQ"'"' '"Entrypoint"' '"Id": "sha256:'
}

@test "run --image-file FILE: the operands are the command; a user name from the image's passwd" {
    run H run --rm --image-file "$SQ" -u alice --entrypoint "" id -un
    assert_status 0
    assert_equal "$output" alice
    run H run --rm --image-file "$SQ" --entrypoint "" -- sh -c 'id -un'
    assert_status 0
    assert_equal "$output" app
    # relative path operands work (./x.sqfs), and so does a bare name
    # that is a squashfs file here
    cd "$D"
    run H run --rm ./sq.sqfs
    assert_status 0
    assert_equal "$output" "ep cmd"
    run H run --rm sq.sqfs
    assert_status 0
    assert_equal "$output" "ep cmd"
}

@test "run FILE: writes go to the container's upper directory, never to the file; rm and --rm remove it; the daemon ends with the container" {
    local before id
    before=$(sha256sum < "$SQ")
    run H run --name w -u 0 --entrypoint "" "$SQ" sh -c 'echo new > /etc/new; rm /gonedir/new; echo more >> /home/app/owned; cat /home/app/owned'
    assert_status 0
    assert_equal "$output" "mine
more"
    assert_equal "$(sha256sum < "$SQ")" "$before"
    id=$(H ps -aq --no-trunc --filter name=w)
    [ -n "$id" ]
    [ "$(cat "$STORE/containers/$id/upper/etc/new")" = new ]
    [ -c "$STORE/containers/$id/upper/gonedir/new" ]
    # the lower layer is not mounted on the host, and no daemon is left
    ! grep -q "$STORE/containers/$id/lower" /proc/self/mountinfo
    wait_for sq_squashfuse_gone "$STORE"
    # a second run sees the file as it was
    run H run --rm -u 0 --entrypoint "" "$SQ" sh -c 'cat /home/app/owned; test -e /etc/new || echo none'
    assert_equal "$output" "mine
none"
    run H rm w
    assert_status 0
    [ ! -e "$STORE/containers/$id" ]
    run H run --rm --entrypoint "" "$SQ" true
    assert_status 0
    [ -z "$(ls -A "$STORE/containers")" ]
    wait_for sq_squashfuse_gone "$STORE"
}

@test "run -d FILE: ps, exec, stop, start and rm; the daemon lives with the container only" {
    run H run -d --name bgsq --entrypoint "" "$SQ" sleep 1000
    assert_status 0
    run H ps --format '{{.Names}} {{.Image}}'
    assert_output_has "bgsq $SQ"
    has_cmdline ".*squashfuse.* $STORE/containers/.*"
    run H exec bgsq cat /gonedir/new
    assert_status 0
    assert_equal "$output" new
    run H stop -t 1 bgsq
    assert_status 0
    wait_for sq_squashfuse_gone "$STORE"
    run H start bgsq
    assert_status 0
    run H exec bgsq cat /home/app/owned
    assert_equal "$output" mine
    run H rm -f bgsq
    assert_status 0
    wait_for sq_squashfuse_gone "$STORE"
    [ -z "$(ls -A "$STORE/containers")" ]
}

@test "run FILE with fuse-overlayfs above squashfuse; both daemons end with the container" {
    command -v fuse-overlayfs >/dev/null || skip "fuse-overlayfs is not installed"
    run H --storage-driver fuse-overlayfs run --rm -u 0 --entrypoint "" "$SQ" sh -c 'awk "\$2 == \"/\" { print \$3 }" /proc/mounts; cat /home/app/owned; echo w > /etc/w && cat /etc/w'
    assert_status 0
    assert_equal "$output" "fuse.fuse-overlayfs
mine
w"
    wait_for sq_squashfuse_gone "$STORE"
    wait_for no_cmdline "fuse-overlayfs .*$STORE/containers/.*"
}

@test "run FILE: a squashfs made by mksquashfs alone runs, with the command given" {
    mksquashfs "$ROOTFS" "$BATS_TEST_TMPDIR/plain.sqfs" -quiet -no-progress >/dev/null
    run H run --rm "$BATS_TEST_TMPDIR/plain.sqfs" cat /etc/hostname /etc/passwd
    assert_status 0
    assert_output_has "alice:x:1000"
    run H run --rm "$BATS_TEST_TMPDIR/plain.sqfs"
    assert_status 125
}

@test "diff, commit, cp and export refuse a container of a squashfs file, by name" {
    run H run --name sqc --entrypoint "" "$SQ" true
    assert_status 0
    for c in "diff sqc" "commit sqc x" "cp sqc:/etc/passwd $BATS_TEST_TMPDIR/p" "export -o $BATS_TEST_TMPDIR/e.tar sqc"; do
        # shellcheck disable=SC2086
        run H $c
        assert_status 125
        assert_output_has "runs the squashfs image file" "not in the store"
    done
}

# ------------------------------------------------------------------ errors

@test "error: squashfuse missing from PATH: 125, names the package" {
    mkdir "$BATS_TEST_TMPDIR/bin"
    ln -s "$(command -v newuidmap)" "$(command -v newgidmap)" "$BATS_TEST_TMPDIR/bin/"
    PATH=$BATS_TEST_TMPDIR/bin run "$HUTCH" --root "$STORE" run --rm "$SQ"
    assert_status 125
    assert_output_has "squashfuse is not installed" "apt-get install squashfuse"
}

@test "error: mksquashfs missing from PATH: save fails with 125, names the package, leaves nothing" {
    "$HUTCH" --root "$STORE" load -i "$D/sq.tar" >/dev/null
    mkdir "$BATS_TEST_TMPDIR/bin" "$BATS_TEST_TMPDIR/out"
    ln -s "$(command -v newuidmap)" "$(command -v newgidmap)" "$BATS_TEST_TMPDIR/bin/"
    PATH=$BATS_TEST_TMPDIR/bin run "$HUTCH" --root "$STORE" save --format squashfs -o "$BATS_TEST_TMPDIR/out/x.sqfs" sq
    assert_status 125
    assert_output_has "mksquashfs is not installed" "squashfs-tools"
    [ -z "$(ls -A "$BATS_TEST_TMPDIR/out")" ]
    run H save --format squashfs -o "$BATS_TEST_TMPDIR/out/x.sqfs" nosuchimage
    assert_status 125
    assert_output_has "not in the store"
    [ -z "$(ls -A "$BATS_TEST_TMPDIR/out")" ]
}

@test "error: a file that is not squashfs: 125 with the cause; a bare name stays an image name" {
    run H run --image-file "$ROOTFS/etc/passwd" true
    assert_status 125
    assert_output_has "is not a squashfs image" "hsqs"
    cp "$D/sq.tar" "$BATS_TEST_TMPDIR/sq.tar"
    run H run "$BATS_TEST_TMPDIR/sq.tar" true
    assert_status 125
    assert_output_has "not a squashfs image file" "hutch load"
    run H run "$ROOTFS" true
    assert_status 125
    assert_output_has "use --rootfs DIR"
    # a file named like an image in the current directory does not change
    # what the name means
    cd "$BATS_TEST_TMPDIR"
    echo hi > busybox
    mkdir myorg
    echo hi > myorg/app
    run H run --pull=never busybox true
    assert_status 125
    assert_output_has "is not in the store"
    run H run --pull=never myorg/app true
    assert_status 125
    assert_output_has "is not in the store"
    run H run ./busybox true
    assert_status 125
    assert_output_has "not a squashfs image file"
    # pulling options mean nothing for a file
    run H run --pull=never "$SQ" true
    assert_status 125
    assert_output_has "not pulled"
    run H --storage-driver vfs run --rm "$SQ"
    assert_status 125
    assert_output_has "needs an overlay"
}

@test "error: a truncated or damaged file: 125 with the cause, before or at the mount; nothing is left" {
    local f=$BATS_TEST_TMPDIR/bad.sqfs
    head -c 50000 "$SQ" > "$f"
    run H run --rm "$f"
    assert_status 125
    assert_output_has "truncated squashfs image" "copy it again"
    # a superblock that points outside the filesystem
    cp "$SQ" "$f"
    sq_corrupt "$f" 48
    run H run --rm "$f"
    assert_status 125
    assert_output_has "damaged squashfs image"
    # a fragment table that squashfuse cannot read: its mount fails
    cp "$SQ" "$f"
    sq_corrupt "$f" 80
    run H run --rm "$f"
    assert_status 125
    assert_output_has "could not mount the squashfs image" "make it again"
    # a root inode that leads nowhere: mounted, but the root is unreadable
    cp "$SQ" "$f"
    sq_corrupt "$f" 32
    run H run --rm "$f"
    assert_status 125
    assert_output_has "its root directory cannot be read" "damaged"
    # a damaged note
    cp "$SQ" "$f"
    # (the note's last byte, its closing brace)
    printf 'x' | dd of="$f" bs=1 seek=$(($(stat -c %s "$f") - 33)) conv=notrunc status=none
    run H run --rm "$f"
    assert_status 125
    assert_output_has "image note is damaged"
    [ -z "$(ls -A "$STORE/containers" 2>/dev/null)" ]
    wait_for sq_squashfuse_gone "$STORE"
}
