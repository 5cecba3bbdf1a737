#!/usr/bin/env bats
# A real distribution's package manager in a container (issue 19): Debian 12
# made with debootstrap (debian.bash, mkdebian.sh), apt-get update and
# apt-get install -y hello through slirp from a repository on the host's
# 127.0.0.1, as a user with a subordinate range: every id apt and dpkg ask
# for is a real one (no emulation), which the store's files show from the
# host.  rootemu.nosub.bats does the same as a user without a range.
#
# The image is imported once into a store of the file's (S); the
# repository's server runs for the whole file and is stopped by its pid.

load helpers
load debian

setup_file() {
    export S=$BATS_FILE_TMPDIR/store
    debian_available || return 0
    debian_import "$S" deb12
    debian_repo_start
}

teardown_file() {
    debian_repo_stop
    empty_store "$S"
    rm -rf "$S"
}

setup() {
    debian_need
    need_subids
}

H() { "$HUTCH" --root "$S" "$@"; }

# host_id_of ID MAPFILE: the host id that container id ID (not 0) has with
# this user's default mapping: in the first range of MAPFILE
host_id_of() {
    echo $(($(sub_ranges "$2" | awk 'NR == 1 { print $1 }') + $1 - 1))
}

@test "apt: the debootstrap image keeps its owners, in the container and on disk" {
    run H run --rm --network none deb12 \
        sh -c 'stat -c "%U:%G %u:%g" /etc/shadow; getent passwd _apt | cut -d: -f3'
    assert_status 0
    assert_equal "${lines[0]}" "root:shadow 0:42"
    assert_equal "${lines[1]}" 42
    # the layer's copy belongs to the host gid that gid 42 maps to
    local f
    f=$(ls -d "$S"/layers/*/diff/etc/shadow)
    assert_equal "$(stat -c %g "$f")" "$(host_id_of 42 /etc/subgid)"
}

@test "apt: apt-get update through slirp from the host's 127.0.0.1; _apt owns lists/partial, for real" {
    local id up
    run H run --name upd --network "$DEBIAN_NET" -e DEBIAN_FRONTEND=noninteractive deb12 bash -c "
        $(debian_sources_sh)
        apt-get update 2>&1 || exit 1
        stat -c '%U:%G %n' /var/lib/apt/lists/partial"
    assert_status 0
    assert_output_has "Get:" "$DEBIAN_REPO_URL ./ Packages"
    # apt's download methods ran as _apt: no fallback to root, no failed
    # setgroups/setuid/chown
    if printf '%s\n' "$output" | grep -E '^(E|W): |unsandboxed'; then
        fail_now "apt-get update complained: $output"
    fi
    printf '%s\n' "$output" | grep -qx '_apt:root /var/lib/apt/lists/partial' ||
        fail_now "lists/partial is not _apt's: $output"
    grep -q '"GET /\./Packages\.gz HTTP/1\.1" 200' "$DEBIAN_REPO_LOG" ||
        fail_now "the repository served no Packages.gz: $(cat "$DEBIAN_REPO_LOG")"
    # From the host: the container's upper layer holds the directory, owned
    # by the subordinate id that uid 42 maps to (a real chown, not a record)
    id=$(H inspect upd | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])')
    up=$S/containers/$id/upper
    [ -d "$up" ] || fail_now "no upper directory at $up"
    assert_equal "$(stat -c %u "$up/var/lib/apt/lists/partial")" "$(host_id_of 42 /etc/subuid)"
    assert_equal "$(stat -c %g "$up/var/lib/apt/lists/partial")" "$MY_GID"
    H rm upd >/dev/null
}

@test "apt: apt-get install -y hello from the local repository, hello prints, _apt owns archives/partial" {
    run debian_run "$S" deb12 "$(debian_apt_hello) && dpkg-query -W -f='\${Status}\n' hello &&
        stat -c '%U:%G %n' /usr/bin/hello /var/cache/apt/archives/partial"
    assert_status 0
    local n=${#lines[@]}
    assert_equal "${lines[n - 4]}" "Hello, world!"
    assert_equal "${lines[n - 3]}" "install ok installed"
    assert_equal "${lines[n - 2]}" "root:root /usr/bin/hello"
    # apt-get install (not update) hands the archives' partial directory to _apt
    assert_equal "${lines[n - 1]}" "_apt:root /var/cache/apt/archives/partial"
    if printf '%s\n' "$output" | grep -E '^(E|W): |unsandboxed'; then
        fail_now "apt-get complained: $output"
    fi
    grep -q '"GET /\./hello_[^ ]*\.deb HTTP/1\.1" 200' "$DEBIAN_REPO_LOG" ||
        fail_now "hello's .deb did not come from the local repository: $(cat "$DEBIAN_REPO_LOG")"
}
