#!/usr/bin/env bats
# hutch run -- CMD: the host sandbox.

load helpers

setup() {
    WORK="$BATS_TEST_TMPDIR/work"
    mkdir -p "$WORK"
    cd "$WORK"
}

@test "sandbox: same working directory, writable; system directories read-only" {
    run "$HUTCH" run -- sh -c 'pwd; touch ok; touch /usr/x'
    [ "$status" -ne 0 ]
    [ "$status" -ne 125 ]
    assert_equal "${lines[0]}" "$WORK"
    [ -e "$WORK/ok" ]
    assert_equal "$(stat -c %u "$WORK/ok")" "$MY_UID"
    assert_output_has "Read-only"
}

@test "sandbox: id -u is the user's own uid (keep-id)" {
    need_subids
    run "$HUTCH" run -- sh -c 'id -u; id -g'
    assert_status 0
    assert_equal "${lines[0]}" "$MY_UID"
    assert_equal "${lines[1]}" "$MY_GID"
}

@test "sandbox: the host environment is inherited, -e applies on top" {
    FOO=bar BAZ=one run "$HUTCH" run -e BAZ=two -- sh -c 'echo "$FOO $BAZ"'
    assert_status 0
    assert_equal "$output" "bar two"
}

@test "sandbox: fresh /tmp, private /proc, host's home not visible" {
    local marker="/tmp/hutch-marker-$$-$BATS_TEST_NUMBER"
    touch "$marker"
    run "$HUTCH" run -- sh -c "test -e $marker && echo marker-visible; echo \$\$; test -e '$HOME' && echo home-visible; ls /proc | grep -c '^[0-9]'"
    rm -f "$marker"
    assert_status 0
    [[ "$output" != *marker-visible* ]]
    assert_equal "${lines[0]}" 1
    [ "${lines[-1]}" -le 5 ]
    if [[ "$WORK" != "$HOME"/* ]]; then
        [[ "$output" != *home-visible* ]]
    fi
}

@test "sandbox: /etc is the host's, read-only" {
    run "$HUTCH" run -- sh -c 'grep -c "^root:" /etc/passwd; touch /etc/hutch-x'
    [ "$status" -ne 0 ]
    assert_equal "${lines[0]}" 1
    [ ! -e /etc/hutch-x ]
}

@test "sandbox: exit codes come through" {
    run "$HUTCH" run -- sh -c 'exit 9'
    assert_status 9
    run -127 "$HUTCH" run -- no-such-command-xyz
    assert_status 127
}
