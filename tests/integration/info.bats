#!/usr/bin/env bats
# hutch info and the command front end.

load helpers

@test "hutch info: exits 0 and reports the helpers and the subordinate range" {
    need_subids
    run "$HUTCH" info
    assert_status 0
    assert_output_has newuidmap newgidmap "$SUBUID_START"
    [[ "$output" != *problem:* ]] || {
        # a problem line is fine only for optional things; print it for the log
        printf '%s\n' "$output" | grep problem: >&2
    }
    # key: value lines
    printf '%s\n' "$output" | grep -q -E '^[a-z][a-z /_-]*: '
}

@test "hutch info: a problem is reported with its fix" {
    need_subids
    local bin="$BATS_TEST_TMPDIR/bin"
    mkdir "$bin"
    cp "$(command -v newuidmap)" "$(command -v newgidmap)" "$bin/"
    PATH="$bin:$PATH" run "$HUTCH" info
    assert_output_has "problem:" "fix:" setuid
}

@test "hutch info: exits 1 with the fix when no container can run" {
    command -v unshare >/dev/null || skip "unshare not installed"
    unshare --user --map-root-user sh -c 'echo 0 > /proc/sys/user/max_user_namespaces' 2>/dev/null ||
        skip "cannot lower user.max_user_namespaces in a child user namespace here"
    run unshare --user --map-root-user sh -c 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" info' "$HUTCH"
    assert_status 1
    assert_output_has "user namespaces: no" "problem:" "fix:" "max_user_namespaces" "containers: cannot run"
}

@test "hutch --help, --version, help run" {
    run "$HUTCH" --help
    assert_status 0
    assert_output_has run info
    run "$HUTCH" --version
    assert_status 0
    assert_output_has hutch
    run "$HUTCH" run --help
    assert_status 0
    assert_output_has --rootfs --userns --read-only
    run "$HUTCH" help run
    assert_status 0
    assert_output_has --rootfs
    run "$HUTCH_OCI" --help
    assert_status 0
    assert_output_has bundle
}

@test "hutch info: seccomp filters, and the fix when the kernel takes none" {
    run "$HUTCH" info
    assert_status 0
    assert_output_has "seccomp: filters available (libseccomp "
    # a kernel without seccomp filters, as hutch info sees it: a filter
    # around it that makes seccomp(2) fail
    local p=$BATS_TEST_TMPDIR/noseccomp.json
    printf '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["seccomp"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22}]}' > "$p"
    run "$HUTCH" --root "$BATS_TEST_TMPDIR/store" run --security-opt "seccomp=$p" -- "$HUTCH" info
    assert_output_has "seccomp: no filters" "problem: the kernel takes no seccomp filters" "fix:" "seccomp=unconfined"
}
