#!/usr/bin/env bats
# hutch-oci and a container's cgroup, in a VM with pure cgroup v2
# (tests/vm/run), rootless: the test user owns the delegated cgroup D and
# runs in D/tests.scope.  linux.cgroupsPath under the cgroupfs manager
# (absolute: from the hierarchy's root; relative: below the delegated
# cgroup), the limits of linux.resources, and what the commands do to the
# cgroup: update (--resources and runc's options), pause and resume,
# state, ps, kill --all, delete; the `disabled` manager.  The systemd
# manager is in oci-cgroup-systemd.bats, which needs the user's manager.

bats_require_minimum_version 1.5.0

: "${HUTCH_OCI:?HUTCH_OCI is not set (run the suite through tests/vm/run)}"
: "${ROOTFS:?ROOTFS is not set (run the suite through tests/vm/run)}"
: "${HUTCH_CGROUP_DELEGATED:?HUTCH_CGROUP_DELEGATED is not set (run the suite through tests/vm/run)}"

D=$HUTCH_CGROUP_DELEGATED
# D as the hierarchy names it (what an absolute cgroupsPath is relative to)
DREL=${D#/sys/fs/cgroup}

# tests/integration's helpers (run copies them in): wait_for, assert_*
load helpers

setup_file() {
    local c
    # D holds no process: its children may get controllers
    for c in memory pids cpu; do
        if grep -qw "$c" "$D/cgroup.controllers"; then
            echo "+$c" > "$D/cgroup.subtree_control"
        fi
    done
}

setup() {
    R=$BATS_TEST_TMPDIR/state
    B=$BATS_TEST_TMPDIR/bundle
    ID=oci$BATS_TEST_NUMBER
    O=(--root "$R")
    CG=$D/oci-$BATS_TEST_NUMBER
}

teardown() {
    "$HUTCH_OCI" "${O[@]}" resume "$ID" >/dev/null 2>&1 || true
    "$HUTCH_OCI" "${O[@]}" delete --force "$ID" >/dev/null 2>&1 || true
    local d
    for d in "$CG" "$D/tests.scope/oci-rel-$BATS_TEST_NUMBER"; do
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    done
}

# bundle CGROUPS_PATH RESOURCES_JSON ARGS_JSON: a rootless bundle in $B
bundle() {
    mkdir -p "$B"
    [ -e "$B/rootfs" ] || cp -a "$ROOTFS" "$B/rootfs"
    local cgp=""
    [ -z "$1" ] || cgp="\"cgroupsPath\": \"$1\","
    cat > "$B/config.json" <<JSON
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": { "uid": 0, "gid": 0 },
    "args": $3,
    "env": [ "PATH=/usr/sbin:/usr/bin:/sbin:/bin" ],
    "cwd": "/"
  },
  "root": { "path": "rootfs" },
  "mounts": [
    { "destination": "/proc", "type": "proc", "source": "proc" },
    { "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
      "options": ["nosuid", "mode=755"] },
    { "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
      "options": ["nosuid", "noexec", "nodev", "ro"] }
  ],
  "linux": {
    $cgp
    "resources": $2,
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

# start: run -d the bundle; its output to $BATS_TEST_TMPDIR/out (a
# detached container would hold bats's pipe)
start() {
    "$HUTCH_OCI" "${O[@]}" run -d --bundle "$B" "$ID" \
        > "$BATS_TEST_TMPDIR/out" 2>&1 < /dev/null ||
        fail_now "run -d: $(cat "$BATS_TEST_TMPDIR/out")"
}

state_of() {
    "$HUTCH_OCI" "${O[@]}" state "$ID" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}
status_is() { [ "$(state_of status 2>/dev/null)" = "$1" ]; }
knob() { tr -d '\n' < "$CG/$1"; }
frozen_is() { grep -qx "frozen $1" "$CG/cgroup.events"; }
empty() { grep -qx "populated 0" "$CG/cgroup.events"; }

@test "an absolute cgroupsPath is the container's cgroup, from the hierarchy's root, with its limits" {
    bundle "$DREL/oci-$BATS_TEST_NUMBER" \
        '{"memory": {"limit": 67108864}, "pids": {"limit": 20}}' '["sleep", "1000"]'
    start
    [ -d "$CG" ] || fail_now "no $CG"
    assert_equal "$(knob memory.max)" 67108864
    assert_equal "$(knob pids.max)" 20
    pid=$(state_of pid)
    grep -qx "$pid" "$CG/cgroup.procs" || fail_now "pid $pid is not in $CG: $(cat "$CG/cgroup.procs")"
    # the container sees its cgroup as the root of its cgroup namespace
    run "$HUTCH_OCI" "${O[@]}" exec "$ID" cat /proc/self/cgroup
    assert_status 0
    assert_equal "$output" "0::/"
    run "$HUTCH_OCI" "${O[@]}" delete --force "$ID"
    assert_status 0
    wait_for test ! -d "$CG" || fail_now "left: $CG"
}

@test "update: runc's options and --resources write the cgroup's files; what v2 lacks is refused" {
    bundle "$DREL/oci-$BATS_TEST_NUMBER" \
        '{"memory": {"limit": 67108864}, "cpu": {"quota": 20000, "period": 200000}}' '["sleep", "1000"]'
    start
    run "$HUTCH_OCI" "${O[@]}" update --memory 128M --pids-limit 30 "$ID"
    assert_status 0
    assert_equal "$(knob memory.max)" 134217728
    assert_equal "$(knob pids.max)" 30
    # a new quota keeps the period
    run "$HUTCH_OCI" "${O[@]}" update --cpu-quota 50000 "$ID"
    assert_status 0
    assert_equal "$(knob cpu.max)" "50000 200000"
    # swap counts memory too: the container's own memory limit is taken
    run "$HUTCH_OCI" "${O[@]}" update --memory-swap 192M "$ID"
    assert_status 0
    assert_equal "$(knob memory.swap.max)" 67108864
    echo '{"memory": {"limit": 100663296}, "pids": {"limit": 40}}' > "$BATS_TEST_TMPDIR/r.json"
    run "$HUTCH_OCI" "${O[@]}" update --resources "$BATS_TEST_TMPDIR/r.json" "$ID"
    assert_status 0
    assert_equal "$(knob memory.max)" 100663296
    assert_equal "$(knob pids.max)" 40
    run "$HUTCH_OCI" "${O[@]}" update --kernel-memory 1m "$ID"
    assert_status 1
    assert_output_has "--kernel-memory cannot be honoured: cgroup v2 has no separate kernel memory limit"
    run "$HUTCH_OCI" "${O[@]}" update --cpu-rt-runtime 1000 "$ID"
    assert_status 1
    assert_output_has "no real-time CPU bandwidth"
    # nothing changed by the refusals
    assert_equal "$(knob memory.max)" 100663296
}

@test "pause and resume: cgroup.events says frozen, state says paused" {
    bundle "$DREL/oci-$BATS_TEST_NUMBER" '{}' '["sleep", "1000"]'
    start
    run "$HUTCH_OCI" "${O[@]}" pause "$ID"
    assert_status 0
    # frozen once pause returns
    frozen_is 1 || fail_now "$(cat "$CG/cgroup.events")"
    assert_equal "$(state_of status)" paused
    run "$HUTCH_OCI" "${O[@]}" resume "$ID"
    assert_status 0
    frozen_is 0 || fail_now "$(cat "$CG/cgroup.events")"
    assert_equal "$(state_of status)" running
}

@test "ps --format json lists every process of the container's cgroup" {
    bundle "$DREL/oci-$BATS_TEST_NUMBER" '{}' '["sh", "-c", "sleep 1000 & sleep 1000 & wait"]'
    start
    has_three() { [ "$(grep -c . "$CG/cgroup.procs")" -eq 3 ]; }
    wait_for has_three || fail_now "cgroup.procs: $(cat "$CG/cgroup.procs")"
    run "$HUTCH_OCI" "${O[@]}" ps --format json "$ID"
    assert_status 0
    assert_equal "$(printf '%s' "$output" | python3 -c 'import json,sys; print(" ".join(map(str, sorted(json.load(sys.stdin)))))')" \
        "$(sort -n "$CG/cgroup.procs" | tr '\n' ' ' | sed 's/ $//')"
}

@test "kill --all: KILL and TERM reach every process, also in a paused container" {
    bundle "$DREL/oci-$BATS_TEST_NUMBER" '{}' '["sh", "-c", "sleep 1000 & sleep 1000 & wait"]'
    start
    has_three() { [ "$(grep -c . "$CG/cgroup.procs")" -eq 3 ]; }
    wait_for has_three || fail_now "cgroup.procs: $(cat "$CG/cgroup.procs")"
    run "$HUTCH_OCI" "${O[@]}" kill --all "$ID" KILL
    assert_status 0
    wait_for empty || fail_now "still in $CG: $(cat "$CG/cgroup.procs")"
    wait_for status_is stopped || fail_now "state: $(state_of status)"
    "$HUTCH_OCI" "${O[@]}" delete "$ID"
    # TERM to a paused container: taken when it resumes
    start
    wait_for has_three || fail_now "cgroup.procs: $(cat "$CG/cgroup.procs")"
    "$HUTCH_OCI" "${O[@]}" pause "$ID"
    run "$HUTCH_OCI" "${O[@]}" kill --all "$ID" TERM
    assert_status 0
    frozen_is 1 || fail_now "no longer frozen: $(cat "$CG/cgroup.events")"
    "$HUTCH_OCI" "${O[@]}" resume "$ID"
    wait_for empty || fail_now "still in $CG: $(cat "$CG/cgroup.procs")"
}

@test "delete removes the cgroup, and kills what was left in it" {
    bundle "$DREL/oci-$BATS_TEST_NUMBER" '{}' '["sleep", "1000"]'
    start
    run "$HUTCH_OCI" "${O[@]}" delete --force "$ID"
    assert_status 0
    wait_for test ! -d "$CG" || fail_now "left: $CG"
}

@test "a relative cgroupsPath is below the delegated cgroup rootless" {
    bundle "oci-rel-$BATS_TEST_NUMBER" '{}' '["sleep", "1000"]'
    start
    # the delegated cgroup hutch-oci found is the one it runs in
    local rel=$D/tests.scope/oci-rel-$BATS_TEST_NUMBER
    [ -d "$rel" ] || fail_now "no $rel: $(find "$D" -name "oci-rel-*")"
    grep -qx "$(state_of pid)" "$rel/cgroup.procs"
    "$HUTCH_OCI" "${O[@]}" delete --force "$ID"
    wait_for test ! -d "$rel" || fail_now "left: $rel"
}

@test "a cgroupsPath outside what is delegated is refused rootless, and says where to put it" {
    bundle "/oci-denied-$BATS_TEST_NUMBER" '{}' '["true"]'
    run "$HUTCH_OCI" "${O[@]}" run --bundle "$B" "$ID"
    assert_status 1
    assert_output_has "/sys/fs/cgroup/oci-denied-$BATS_TEST_NUMBER" \
        "rootless, cgroups can be made and changed only inside a cgroup delegated to you"
    [ ! -d "/sys/fs/cgroup/oci-denied-$BATS_TEST_NUMBER" ]
}

@test "--cgroup-manager disabled: no cgroup of its own; limits are refused" {
    bundle "$DREL/oci-$BATS_TEST_NUMBER" '{}' '["cat", "/proc/self/cgroup"]'
    run "$HUTCH_OCI" "${O[@]}" --cgroup-manager disabled run --bundle "$B" "$ID"
    assert_status 0
    [ ! -d "$CG" ]
    "$HUTCH_OCI" "${O[@]}" delete "$ID" 2>/dev/null || true
    bundle "$DREL/oci-$BATS_TEST_NUMBER" '{"pids": {"limit": 5}}' '["true"]'
    run "$HUTCH_OCI" "${O[@]}" --cgroup-manager disabled run --bundle "$B" "$ID"
    assert_status 1
    assert_output_has "leaves the container without a cgroup of its own"
}
