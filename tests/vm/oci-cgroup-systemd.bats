#!/usr/bin/env bats
# hutch-oci with the systemd cgroup manager, rootless, in a VM with pure
# cgroup v2 (tests/vm/run) and a real `systemd --user` for the test user
# (stage2.sh runs this file with scope.bats, after it started the
# manager): linux.cgroupsPath "SLICE:PREFIX:NAME" is the transient scope
# PREFIX-NAME.scope in SLICE, made by the user's manager with Delegate=yes
# and the limits as its properties; only the container's processes are in
# it; update goes to the manager too; the scope goes with the container.

bats_require_minimum_version 1.5.0

: "${HUTCH_OCI:?HUTCH_OCI is not set (run the suite through tests/vm/run)}"
: "${ROOTFS:?ROOTFS is not set (run the suite through tests/vm/run)}"
: "${HUTCH_CGROUP_DELEGATED:?HUTCH_CGROUP_DELEGATED is not set (run the suite through tests/vm/run)}"
: "${XDG_RUNTIME_DIR:?XDG_RUNTIME_DIR is not set (run the suite through tests/vm/run)}"

D=$HUTCH_CGROUP_DELEGATED

load helpers

setup_file() {
    if [ ! -S "$XDG_RUNTIME_DIR/systemd/private" ]; then
        echo "no systemd --user for $(id -un): no $XDG_RUNTIME_DIR/systemd/private (see out/systemd-user.log)" >&2
        return 1
    fi
}

setup() {
    R=$BATS_TEST_TMPDIR/state
    B=$BATS_TEST_TMPDIR/bundle
    ID=ocisd$BATS_TEST_NUMBER
    UNIT=hutchtest-$ID.scope
    O=(--root "$R" --systemd-cgroup)
}

teardown() {
    "$HUTCH_OCI" "${O[@]}" delete --force "$ID" >/dev/null 2>&1 || true
    systemctl --user stop "$UNIT" >/dev/null 2>&1 || true
}

bundle() {
    mkdir -p "$B"
    [ -e "$B/rootfs" ] || cp -a "$ROOTFS" "$B/rootfs"
    cat > "$B/config.json" <<JSON
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": { "uid": 0, "gid": 0 },
    "args": $2,
    "env": [ "PATH=/usr/sbin:/usr/bin:/sbin:/bin" ],
    "cwd": "/"
  },
  "root": { "path": "rootfs" },
  "mounts": [ { "destination": "/proc", "type": "proc", "source": "proc" } ],
  "linux": {
    "cgroupsPath": "user.slice:hutchtest:$ID",
    "resources": $1,
    "namespaces": [
      { "type": "user" }, { "type": "pid" }, { "type": "ipc" },
      { "type": "uts" }, { "type": "mount" }, { "type": "cgroup" }
    ],
    "uidMappings": [ { "containerID": 0, "hostID": $(id -u), "size": 1 } ],
    "gidMappings": [ { "containerID": 0, "hostID": $(id -g), "size": 1 } ]
  }
}
JSON
}

state_of() {
    "$HUTCH_OCI" "${O[@]}" state "$ID" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}
# the scope's cgroup, as systemd says
scope_cgroup() {
    echo "/sys/fs/cgroup$(systemctl --user show -p ControlGroup --value "$UNIT")"
}
unit_gone() { ! systemctl --user is-active -q "$UNIT"; }

@test "the systemd manager: the scope PREFIX-NAME.scope in the slice, with the limits as properties, only the container in it" {
    bundle '{"memory": {"limit": 67108864}, "pids": {"limit": 20}}' '["sleep", "1000"]'
    "$HUTCH_OCI" "${O[@]}" run -d --bundle "$B" "$ID" > "$BATS_TEST_TMPDIR/out" 2>&1 < /dev/null ||
        fail_now "run -d: $(cat "$BATS_TEST_TMPDIR/out")"
    run systemctl --user is-active "$UNIT"
    assert_equal "$output" active
    cg=$(scope_cgroup)
    [[ $cg == "$D/user.slice/$UNIT" ]] || fail_now "cgroup: $cg"
    assert_equal "$(systemctl --user show -p MemoryMax --value "$UNIT")" 67108864
    assert_equal "$(systemctl --user show -p TasksMax --value "$UNIT")" 20
    assert_equal "$(cat "$cg/memory.max")" 67108864
    assert_equal "$(cat "$cg/pids.max")" 20
    # the placeholder that held the scope until the container was in is gone
    assert_equal "$(cat "$cg/cgroup.procs")" "$(state_of pid)"
    # update tells systemd, so that a daemon-reload keeps the new limit
    run "$HUTCH_OCI" "${O[@]}" update --memory 128M "$ID"
    assert_status 0
    systemctl --user daemon-reload
    assert_equal "$(cat "$cg/memory.max")" 134217728
    assert_equal "$(systemctl --user show -p MemoryMax --value "$UNIT")" 134217728
    run "$HUTCH_OCI" "${O[@]}" delete --force "$ID"
    assert_status 0
    wait_for unit_gone || fail_now "$UNIT is still there"
    wait_for test ! -d "$cg" || fail_now "left: $cg"
}

@test "the systemd manager: a cgroupsPath that is not SLICE:PREFIX:NAME is refused" {
    bundle '{}' '["true"]'
    sed -i 's|"user.slice:hutchtest:[^"]*"|"/not/a/slice"|' "$B/config.json"
    run "$HUTCH_OCI" "${O[@]}" run --bundle "$B" "$ID"
    assert_status 1
    assert_output_has "the systemd cgroup manager takes SLICE:PREFIX:NAME"
}
