#!/usr/bin/env bats
# hutch's own errors: exit 125 and a message that says what is wrong.

load helpers

# assert_hutch_error PHRASE...: status 125, stderr starts with "hutch: "
assert_hutch_error() {
    assert_status 125
    printf '%s\n' "$output" | grep -q '^hutch: ' || {
        echo "no line starting with 'hutch: ' in:" >&2
        printf '%s\n' "$output" >&2
        return 1
    }
    assert_output_has "$@"
}

@test "error: newuidmap not found" {
    need_subids
    local empty="$BATS_TEST_TMPDIR/nonexistent-dir"
    PATH="$empty" run "$HUTCH" run --rootfs "$ROOTFS" true
    assert_hutch_error newuidmap "not found" "apt install uidmap" "--userns=single"
}

@test "error: newuidmap not setuid" {
    need_subids
    local bin="$BATS_TEST_TMPDIR/bin"
    mkdir "$bin"
    cp "$(command -v newuidmap)" "$(command -v newgidmap)" "$bin/"
    [ ! -u "$bin/newuidmap" ]
    PATH="$bin:$PATH" run "$HUTCH" run --rootfs "$ROOTFS" true
    assert_hutch_error newuidmap setuid
}

@test "error: user namespaces disabled" {
    command -v unshare >/dev/null || skip "unshare not installed"
    unshare --user --map-root-user sh -c 'echo 0 > /proc/sys/user/max_user_namespaces' 2>/dev/null ||
        skip "cannot lower user.max_user_namespaces in a child user namespace here"
    run unshare --user --map-root-user sh -c 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" run --rootfs "$1" true' "$HUTCH" "$ROOTFS"
    assert_hutch_error "user namespaces" max_user_namespaces
}

@test "error: --rootfs does not exist" {
    run "$HUTCH" run --rootfs "$BATS_TEST_TMPDIR/missing" true
    assert_hutch_error --rootfs "does not exist"
}

@test "error: --rootfs is not a directory" {
    touch "$BATS_TEST_TMPDIR/file"
    run "$HUTCH" run --rootfs "$BATS_TEST_TMPDIR/file" true
    assert_hutch_error --rootfs "not a directory"
}

@test "error: malformed -v" {
    run "$HUTCH" run -v nocolon --rootfs "$ROOTFS" true
    assert_hutch_error --volume
    run "$HUTCH" run -v /tmp:relative --rootfs "$ROOTFS" true
    assert_hutch_error --volume
    run "$HUTCH" run -v /tmp:/x:bogus --rootfs "$ROOTFS" true
    assert_hutch_error --volume
}

@test "error: -v source missing" {
    run "$HUTCH" run -v "$BATS_TEST_TMPDIR/missing:/x" --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "$BATS_TEST_TMPDIR/missing"
}

@test "error: malformed -e" {
    run "$HUTCH" run -e =x --rootfs "$ROOTFS" true
    assert_hutch_error --env
    run "$HUTCH" run -e '' --rootfs "$ROOTFS" true
    assert_hutch_error --env
}

@test "error: malformed --env-file line" {
    printf 'GOOD=1\n=bad\n' > "$BATS_TEST_TMPDIR/env"
    run "$HUTCH" run --env-file "$BATS_TEST_TMPDIR/env" --rootfs "$ROOTFS" true
    assert_hutch_error --env
}

@test "error: malformed -u" {
    run "$HUTCH" run -u 1000:abc:x --rootfs "$ROOTFS" true
    assert_hutch_error --user
    run "$HUTCH" run -u '' --rootfs "$ROOTFS" true
    assert_hutch_error --user
}

@test "error: unknown user or group name" {
    run "$HUTCH" run -u nosuchuser --rootfs "$ROOTFS" true
    assert_hutch_error --user "not found" nosuchuser
    run "$HUTCH" run -u alice:nosuchgroup --rootfs "$ROOTFS" true
    assert_hutch_error --user "not found"
}

@test "error: bad --userns and --network values name the option" {
    run "$HUTCH" run --userns=bogus --rootfs "$ROOTFS" true
    assert_hutch_error --userns
    run "$HUTCH" run --network=bogus --rootfs "$ROOTFS" true
    assert_hutch_error --network
}

@test "error: an image that is not in the store" {
    run "$HUTCH" --root "$BATS_TEST_TMPDIR/store" run --pull=never alpine true
    assert_hutch_error "not in the store" "hutch pull"
    run "$HUTCH" --root "$BATS_TEST_TMPDIR/store" run
    assert_status 125
}

@test "error: a relative --workdir is refused, in the host sandbox and with --rootfs (it used to abort with a double free)" {
    run "$HUTCH" run -w rel -- true
    assert_status 125
    assert_output_has "--workdir \`rel\` must be an absolute path"
    run "$HUTCH" run -w rel --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "must be an absolute path"
}
