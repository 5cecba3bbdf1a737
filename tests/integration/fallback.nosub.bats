#!/usr/bin/env bats
# Run as a user WITHOUT a subordinate id range (hutchnosub): default and
# keep-id fall back to single with a warning.

load helpers

setup() {
    if [ -n "$SUBUID_START" ] || [ -n "$SUBGID_START" ]; then
        skip "user $MY_USER has a subordinate range; these tests need one without"
    fi
}

@test "nosub: hutch run works, falls back to single, and warns" {
    run --separate-stderr "$HUTCH" run --rootfs "$ROOTFS" sh -c 'id -u; cat /proc/self/uid_map; cat /proc/self/setgroups'
    assert_status 0
    assert_equal "${lines[0]}" 0
    assert_equal "$(norm_map "${lines[1]}")" "0 $MY_UID 1"
    assert_equal "${#lines[@]}" 3
    assert_equal "${lines[2]}" deny
    printf '%s\n' "$stderr" | grep -q '^hutch: warning: no subordinate' || {
        echo "stderr: $stderr" >&2
        return 1
    }
    [[ "$stderr" == *usermod* ]]
    [[ "$stderr" == *--add-subuids* ]]
    # one line
    assert_equal "$(printf '%s\n' "$stderr" | grep -c .)" 1
}

@test "nosub: --userns=single gives no warning" {
    run --separate-stderr "$HUTCH" run --userns=single --rootfs "$ROOTFS" id -u
    assert_status 0
    assert_equal "$output" 0
    assert_equal "$stderr" ""
}

@test "nosub: a uid other than 0 is not mapped" {
    run "$HUTCH" run -u 1000 --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "not mapped"
}

@test "nosub: host sandbox works" {
    cd "$BATS_TEST_TMPDIR"
    run "$HUTCH" run -- sh -c 'pwd; touch ok'
    assert_status 0
    assert_output_has "$BATS_TEST_TMPDIR"
    [ -e "$BATS_TEST_TMPDIR/ok" ]
}

@test "nosub: hutch info reports the missing range as a problem with the fix" {
    run "$HUTCH" info
    assert_output_has "problem:" usermod
}
