#!/usr/bin/env bats
# Run as a user with a subordinate range of only 10 ids (hutchsmall).

load helpers

setup_file() {
    # setup.sh squats this user's /tmp/hutch-UID (trust.small.bats): hutch
    # says once that containers are not recorded; said here, before the
    # tests look at what runs print
    "$HUTCH" run --rm --rootfs "$ROOTFS" true 2>/dev/null || true
}

setup() {
    if [ "${SUBUID_COUNT:-}" != 10 ]; then
        skip "user $MY_USER does not have a range of exactly 10 ids"
    fi
}

@test "small range: uid_map is 0 -> user, 1..10 -> the range" {
    run "$HUTCH" run --rootfs "$ROOTFS" cat /proc/self/uid_map
    assert_status 0
    assert_equal "$(norm_map "$output")" "$(printf '0 %s 1\n1 %s 10' "$MY_UID" "$SUBUID_START")"
}

@test "small range: a uid inside the range works" {
    run "$HUTCH" run -u 5:5 --rootfs "$ROOTFS" sh -c 'id -u; id -g'
    assert_status 0
    assert_equal "${lines[0]}" 5
    assert_equal "${lines[1]}" 5
}

@test "small range: -u 1000 is not mapped (exit 125)" {
    run "$HUTCH" run -u 1000 --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "not mapped" subordinate
    run "$HUTCH" run -u alice --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "not mapped"
}
