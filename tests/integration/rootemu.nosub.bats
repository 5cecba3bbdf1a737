#!/usr/bin/env bats
# Root emulation (src/runtime/rootemu.c), as a user WITHOUT a subordinate
# range (hutchnosub): the container's root may chown, change ids and make
# device nodes as far as it is told, and the owners it gives are recorded.

load helpers
load debian

setup_file() {
    export S=$BATS_FILE_TMPDIR/s
    debian_available || return 0
    debian_import "$S" deb12
    debian_repo_start
}

teardown_file() {
    debian_repo_stop
    [ -d "${S:-}" ] && empty_store "$S"
    rm -rf "${S:-}"
}

setup() {
    if [ -n "$SUBUID_START" ] || [ -n "$SUBGID_START" ]; then
        skip "user $MY_USER has a subordinate range; these tests need one without"
    fi
}

@test "rootemu: apt-get update and install hello in Debian 12, through slirp" {
    debian_need
    run debian_run "$S" deb12 "$(debian_apt_hello); stat -c %U /var/lib/apt/lists/partial /var/cache/apt/archives/partial"
    echo "$output"
    assert_status 0
    assert_output_has "Hello, world!"
    [ "${lines[-1]}" = _apt ]
    [ "${lines[-2]}" = _apt ]
    ! printf "%s\n" "$output" | grep -q "^E: "
}
