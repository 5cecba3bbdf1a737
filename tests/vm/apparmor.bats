#!/usr/bin/env bats
# hutch and its AppArmor profiles (apparmor/hutch.in), in the VM, whose
# Debian kernel enables AppArmor (tests/vm/run).  stage2.sh runs this file
# on its own: it loads hutch's profiles, made for a copy of hutch installed
# in $HUTCH_AA (bin/, libexec/hutch/) so that they attach to nothing else,
# and turns on kernel.apparmor_restrict_unprivileged_userns where the
# kernel has it.  It says what it did in HUTCH_AA_STATE ("loaded" or why
# not), HUTCH_AA_PROFILES (the kernel's list), HUTCH_AA_USERNS ("yes" or
# why the profiles lack the `userns` rule) and HUTCH_AA_RESTRICT ("1" or
# why not).
#
# Checked: the profiles load into the kernel and attach to hutch, hutch-oci
# and hutch-slirp at their installed paths (and not to the hutch the other
# tests run); hutch works under them (containers, --init from a memfd,
# the slirp network and its sandbox, run -d, exec, hutch-oci); and, with
# the restriction on, the hutch without a profile fails with hutch's
# diagnosis while the one with it runs.

bats_require_minimum_version 1.5.0

: "${HUTCH:?HUTCH is not set (run the suite through tests/vm/run)}"
: "${ROOTFS:?ROOTFS is not set (run the suite through tests/vm/run)}"
: "${HUTCH_AA:?HUTCH_AA is not set (tests/vm/stage2.sh runs this file with the profiles)}"
: "${HUTCH_AA_STATE:?HUTCH_AA_STATE is not set (tests/vm/stage2.sh runs this file with the profiles)}"

load helpers

AA_HUTCH=$HUTCH_AA/bin/hutch
AA_HUTCH_OCI=$HUTCH_AA/bin/hutch-oci

setup() {
    S=$BATS_TEST_TMPDIR/store
    # the installed copy finds its helpers in ../libexec/hutch, as an
    # installed hutch does
    unset HUTCH_INIT_DIR
}

teardown() {
    "$AA_HUTCH" --root "$S" rm -f aa-slirp > /dev/null 2>&1 || true
}

# loaded: skip unless stage2 loaded the profiles
loaded() {
    [ "$HUTCH_AA_STATE" = loaded ] || skip "hutch's AppArmor profiles are not loaded: $HUTCH_AA_STATE"
}

# restricted: skip unless the kernel restricts user namespaces now
restricted() {
    [ "$HUTCH_AA_RESTRICT" = 1 ] ||
        skip "no restriction to test: $HUTCH_AA_RESTRICT; tests/unit/test-userns checks hutch's diagnosis of it against a fake /proc/sys"
}

# label_of PID: the AppArmor label of a process of ours
label_of() {
    cat "/proc/$1/attr/current"
}

@test "AppArmor is enabled in the VM's kernel, and hutch's profiles are loaded" {
    echo "# kernel $(uname -r); profiles: $HUTCH_AA_STATE; userns rule: $HUTCH_AA_USERNS; restriction: $HUTCH_AA_RESTRICT" >&3
    [ "$(cat /sys/module/apparmor/parameters/enabled)" = Y ]
    loaded
    echo "$HUTCH_AA_PROFILES"
    # each in the kernel's unconfined mode (flags=(unconfined))
    for p in hutch hutch-oci hutch-slirp; do
        [[ $'\n'"$HUTCH_AA_PROFILES"$'\n' == *$'\n'"$p (unconfined)"$'\n'* ]]
    done
}

@test "hutch at the profile's path runs under it, and so do hutch-init and the container; another hutch does not" {
    loaded
    [ "$(label_of self)" = unconfined ]
    # the hutch of the other tests (another path): no profile (with the
    # restriction on, it cannot run at all: the last tests)
    if [ "$HUTCH_AA_RESTRICT" != 1 ]; then
        run "$HUTCH" --root "$S" run --rootfs "$ROOTFS" -- cat /proc/self/attr/current
        echo "$output"
        [ "$status" -eq 0 ]
        [ "$output" = unconfined ]
    fi

    # hutch-init runs from a memfd, which no profile can attach to: it
    # keeps hutch's, as the container's process does
    run "$AA_HUTCH" --root "$S" run --init --rootfs "$ROOTFS" -- \
        sh -c 'cat /proc/1/comm /proc/1/attr/current /proc/self/attr/current'
    echo "$output"
    [ "$status" -eq 0 ]
    # comm is cut to 15 characters
    [ "${lines[0]}" = memfd:hutch-ini ]
    [ "${lines[1]}" = "hutch (unconfined)" ]
    [ "${lines[2]}" = "hutch (unconfined)" ]
}

@test "hutch-slirp, started by hutch under its profile, runs under its own, sandbox and all" {
    loaded
    "$AA_HUTCH" --root "$S" run -d --name aa-slirp --network slirp --rootfs "$ROOTFS" -- sleep 100 \
        > "$BATS_TEST_TMPDIR/out" 2>&1 < /dev/null || fail_now "run -d: $(cat "$BATS_TEST_TMPDIR/out")"
    wait_for pgrep -u "$(id -u)" -x hutch-slirp > /dev/null
    local pid
    pid=$(pgrep -u "$(id -u)" -x hutch-slirp | head -n 1)
    run label_of "$pid"
    echo "hutch-slirp $pid: $output"
    [ "$status" -eq 0 ]
    [ "$output" = "hutch-slirp (unconfined)" ]
    # in the user namespace of its sandbox, not in the host's
    [ "$(readlink "/proc/$pid/ns/user")" != "$(readlink /proc/self/ns/user)" ]
    # and the container has its network
    run "$AA_HUTCH" --root "$S" exec aa-slirp ls /sys/class/net
    echo "$output"
    [ "$status" -eq 0 ]
    [[ " $(echo $output) " == *" tap0 "* ]]
}

@test "hutch-oci at the profile's path runs a container under its profile" {
    loaded
    local B=$BATS_TEST_TMPDIR/bundle
    mkdir -p "$B"
    cp -a "$ROOTFS" "$B/rootfs"
    cat > "$B/config.json" <<JSON
{
  "ociVersion": "1.0.2",
  "process": {
    "user": { "uid": 0, "gid": 0 },
    "args": ["cat", "/proc/self/attr/current"],
    "env": [ "PATH=/usr/sbin:/usr/bin:/sbin:/bin" ],
    "cwd": "/"
  },
  "root": { "path": "rootfs" },
  "mounts": [ { "destination": "/proc", "type": "proc", "source": "proc" } ],
  "linux": {
    "namespaces": [ { "type": "user" }, { "type": "pid" }, { "type": "mount" } ],
    "uidMappings": [ { "containerID": 0, "hostID": $(id -u), "size": 1 } ],
    "gidMappings": [ { "containerID": 0, "hostID": $(id -g), "size": 1 } ]
  }
}
JSON
    run "$AA_HUTCH_OCI" --root "$BATS_TEST_TMPDIR/oci" --cgroup-manager disabled run --bundle "$B" aa-oci
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "hutch-oci (unconfined)" ]
}

@test "with user namespaces restricted, hutch without a profile fails with hutch's diagnosis" {
    restricted
    run "$HUTCH" --root "$S" run --rootfs "$ROOTFS" -- true
    echo "$output"
    [ "$status" -eq 125 ]
    assert_output_has "AppArmor"
    assert_output_has "kernel.apparmor_restrict_unprivileged_userns"
    assert_output_has "apparmor_parser -r"
    run "$HUTCH" info
    echo "$output"
    assert_output_has "kernel.apparmor_restrict_unprivileged_userns"
}

@test "with user namespaces restricted, hutch with its profile runs, slirp network and all" {
    restricted
    run "$AA_HUTCH" --root "$S" run --network slirp --rootfs "$ROOTFS" -- ls /sys/class/net
    echo "$output"
    [ "$status" -eq 0 ]
    [[ " $(echo $output) " == *" tap0 "* ]]
}
