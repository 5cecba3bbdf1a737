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

@test "nosub: a uid other than 0 is emulated in single mode, and not mapped in keep-id" {
    run --separate-stderr "$HUTCH" run -u 1000 --rootfs "$ROOTFS" id -u
    assert_status 0
    assert_equal "$output" 1000
    run "$HUTCH" run --userns=keep-id -u 1000 --rootfs "$ROOTFS" true
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

# free_in FILE FIRST LAST: no line of FILE (whoever it is for) overlaps the
# ids FIRST..LAST; prints the lines that do
free_in() {
    awk -F: -v s="$2" -v e="$3" '
        $1 !~ /^[ \t]*#/ && NF >= 3 && $3 > 0 && $2 <= e && $2 + $3 - 1 >= s { print; bad = 1 }
        END { exit bad }' "$1"
}

@test "nosub: the range hutch suggests is free in /etc/subuid and /etc/subgid, and the same everywhere" {
    run --separate-stderr "$HUTCH" run --rootfs "$ROOTFS" true
    assert_status 0
    local re='--add-subuids ([0-9]+)-([0-9]+) --add-subgids ([0-9]+)-([0-9]+) '"$MY_USER"'`'
    [[ $stderr =~ $re ]] || fail_now "no usermod command with ranges in: $stderr"
    local us=${BASH_REMATCH[1]} ue=${BASH_REMATCH[2]} gs=${BASH_REMATCH[3]} ge=${BASH_REMATCH[4]}
    [ $((ue - us + 1)) = 65536 ] && [ $((ge - gs + 1)) = 65536 ] || fail_now "not 65536 ids: $us-$ue, $gs-$ge"
    [ "$us" -ge 100000 ] && [ "$gs" -ge 100000 ] || fail_now "below 100000: $us, $gs"
    free_in /etc/subuid "$us" "$ue" || fail_now "$us-$ue overlaps those lines of /etc/subuid"
    free_in /etc/subgid "$gs" "$ge" || fail_now "$gs-$ge overlaps those lines of /etc/subgid"
    # what hutch info and the 'not mapped' error suggest is the same
    local cmd="usermod --add-subuids $us-$ue --add-subgids $gs-$ge $MY_USER"
    run "$HUTCH" info
    assert_status 0
    assert_output_has "problem: no subordinate uid range for $MY_USER" "fix: for the full range ask an administrator to run \`$cmd\`" "containers: can run"
    run "$HUTCH" run --userns=keep-id -u 1000 --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "container uid 1000 is not mapped" "\`$cmd\`"
    run --separate-stderr "$HUTCH" info --format json
    assert_status 0
    printf '%s\n' "$output" | CMD="$cmd" python3 -c '
import json, os, sys
info = json.load(sys.stdin)
assert info["can_run"] is True and info["containers"] == "can run", info
p = [p for p in info["problems"] if "no subordinate uid range" in p["problem"]]
assert p and not p[0]["blocks_run"] and os.environ["CMD"] in p[0]["fix"], p
'
}
