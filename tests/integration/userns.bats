#!/usr/bin/env bats
# User namespace: the id maps of --userns=default, keep-id and single, and
# who owns on the host the files the container writes.

load helpers

@test "userns default: root inside, uid_map holds the user's uid and subordinate range" {
    need_subids
    run "$HUTCH" run --rootfs "$ROOTFS" id -u
    assert_status 0
    assert_equal "$output" 0

    run "$HUTCH" run --rootfs "$ROOTFS" cat /proc/self/uid_map
    assert_status 0
    assert_equal "$(norm_map "$output")" "$(expected_map "$MY_UID" /etc/subuid)"
    # the brief's literal shape for a single 65536 range
    if [ "$SUBUID_COUNT" = 65536 ]; then
        assert_equal "$(norm_map "$output")" "$(printf '0 %s 1\n1 %s 65536' "$MY_UID" "$SUBUID_START")"
    fi
}

@test "userns default: gid_map holds the user's gid and subordinate range" {
    need_subids
    run "$HUTCH" run --rootfs "$ROOTFS" id -g
    assert_status 0
    assert_equal "$output" 0

    run "$HUTCH" run --rootfs "$ROOTFS" cat /proc/self/gid_map
    assert_status 0
    assert_equal "$(norm_map "$output")" "$(expected_map "$MY_GID" /etc/subgid)"
}

@test "userns default: setgroups is allowed (helpers wrote the maps)" {
    need_subids
    run "$HUTCH" run --rootfs "$ROOTFS" cat /proc/self/setgroups
    assert_status 0
    assert_equal "$output" allow
}

@test "userns default: a file written by container uid 1000 in a volume belongs to subordinate uid start+999" {
    need_subids
    local vol="$BATS_TEST_TMPDIR/vol"
    mkdir "$vol"
    chmod 0777 "$vol"
    run "$HUTCH" run -u 1000 -v "$vol:/vol" --rootfs "$ROOTFS" sh -c 'id -u; echo hi > /vol/by1000'
    assert_status 0
    assert_equal "$output" 1000
    [ -f "$vol/by1000" ]
    assert_equal "$(stat -c %u "$vol/by1000")" "$(host_uid_of 1000)"
    assert_equal "$(cat "$vol/by1000")" hi
}

@test "userns default: a file written by container root in a volume belongs to the user" {
    need_subids
    local vol="$BATS_TEST_TMPDIR/vol"
    mkdir "$vol"
    run "$HUTCH" run -v "$vol:/vol" --rootfs "$ROOTFS" touch /vol/byroot
    assert_status 0
    assert_equal "$(stat -c %u:%g "$vol/byroot")" "$MY_UID:$MY_GID"
}

@test "userns default: host files of the user appear as root-owned inside" {
    need_subids
    local vol="$BATS_TEST_TMPDIR/vol"
    mkdir "$vol"
    touch "$vol/mine"
    run "$HUTCH" run -v "$vol:/vol" --rootfs "$ROOTFS" stat -c %u:%g /vol/mine
    assert_status 0
    assert_equal "$output" 0:0
}

@test "userns keep-id: id -u is the user's host uid and volume files belong to the user" {
    need_subids
    local vol="$BATS_TEST_TMPDIR/vol"
    mkdir "$vol"
    run "$HUTCH" run --userns=keep-id -v "$vol:/vol" --rootfs "$ROOTFS" \
        sh -c 'id -u; id -g; touch /vol/kept'
    assert_status 0
    assert_equal "${lines[0]}" "$MY_UID"
    assert_equal "${lines[1]}" "$MY_GID"
    assert_equal "$(stat -c %u:%g "$vol/kept")" "$MY_UID:$MY_GID"

    run "$HUTCH" run --userns=keep-id --rootfs "$ROOTFS" cat /proc/self/uid_map
    assert_status 0
    # U maps to U, and 0 maps to the start of the subordinate range
    norm_map "$output" | grep -qx "$MY_UID $MY_UID 1"
    norm_map "$output" | grep -qx "0 $SUBUID_START [0-9]*"
}

@test "userns single: one-line maps, setgroups denied, root inside" {
    run "$HUTCH" run --userns=single --rootfs "$ROOTFS" \
        sh -c 'id -u; cat /proc/self/uid_map; cat /proc/self/gid_map; cat /proc/self/setgroups'
    assert_status 0
    assert_equal "${lines[0]}" 0
    assert_equal "$(norm_map "$(printf '%s\n' "${lines[@]:1:1}")")" "0 $MY_UID 1"
    assert_equal "$(norm_map "$(printf '%s\n' "${lines[@]:2:1}")")" "0 $MY_GID 1"
    assert_equal "${#lines[@]}" 4
    assert_equal "${lines[3]}" deny
}

@test "userns single: works without newuidmap in PATH" {
    local empty="$BATS_TEST_TMPDIR/empty"
    mkdir "$empty"
    PATH="$empty" run "$HUTCH" run --userns=single --rootfs "$ROOTFS" id -u
    assert_status 0
    assert_equal "$output" 0
}

@test "userns default: a range gives real owners and no root emulation; --userns=single gets it" {
    need_subids
    local r
    r=$(fresh_rootfs)
    run "$HUTCH" run --rootfs "$r" sh -c 'grep ^Seccomp_filters: /proc/self/status; touch /tmp/x; chown 42 /home/alice; stat -c %u /home/alice'
    assert_status 0
    assert_equal "$(echo "${lines[0]}" | tr -s '\t ' ' ')" "Seccomp_filters: 1"
    assert_equal "${lines[1]}" 42
    # a real owner on the host, and nothing recorded
    [ "$(stat -c %u "$r/home/alice")" = "$(host_uid_of 42)" ]
    assert_equal "$(override_of "$r/home/alice")" none
    run "$HUTCH" info
    assert_output_has "root emulation: only with --userns=single"
    run "$HUTCH" run --userns=single --rootfs "$r" grep ^Seccomp_filters: /proc/self/status
    assert_status 0
    assert_equal "$(echo "$output" | tr -s '\t ' ' ')" "Seccomp_filters: 2"
}
