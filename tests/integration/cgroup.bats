#!/usr/bin/env bats
# cgroups on this host: each container in a cgroup of its own under the
# subtree delegated to the test user (setup.sh makes it the way systemd's
# Delegate=yes does, and run starts these tests in it), its own cgroup
# namespace, removal afterwards, and clear errors for limits that cannot be
# applied.  The limits themselves are checked in a VM (tests/vm), where
# cgroup v2 has its controllers; this host mounts cgroups hybrid.

load helpers

setup() {
    D=${HUTCH_CGROUP_DELEGATED:-}
    STORE=$BATS_TEST_TMPDIR/store
    HPID=
}

teardown() {
    if [ -n "${HPID:-}" ]; then
        kill -KILL "$HPID" 2>/dev/null || true
        wait "$HPID" 2>/dev/null || true
    fi
    local p
    for p in $(pids_of_cmdline 'sleep 4321'); do
        kill -KILL "$p" 2>/dev/null || true
    done
    # a store holds files of subordinate ids: emptied through hutch
    empty_store "$STORE"
    rm -rf "$STORE"
}

need_deleg() {
    [ -n "$D" ] || skip "no delegated cgroup (run the suite as root: setup.sh makes one)"
    [ -w "$D/cgroup.procs" ] || skip "$D is not delegated to $MY_USER"
}

# the container cgroups (hutch-*) in $1, one per line
hutch_cgroups() {
    find "$1" -mindepth 1 -maxdepth 1 -type d -name 'hutch-*' 2>/dev/null | sort
}

no_cgroups() { [ -z "$(hutch_cgroups "$D")" ]; }

# the cgroup this shell is in, as a path under the cgroup2 mount
my_cgroup() {
    local rel mnt
    rel=$(sed -n 's/^0:://p' /proc/self/cgroup)
    mnt=$(awk '{ for (i = 7; i < NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") print $5; break } }' /proc/self/mountinfo | head -n 1)
    echo "$mnt$rel"
}

@test "the tests run in the delegated cgroup, and hutch info lists it with its controllers" {
    need_deleg
    [ "$(my_cgroup)" = "$D" ]
    run "$HUTCH" info
    assert_status 0
    assert_output_has "(delegated to you)"
    assert_output_has "cgroup controllers: "
}

@test "a container gets a cgroup of its own, sees itself as / and is removed afterwards" {
    need_deleg
    local out=$BATS_TEST_TMPDIR/out
    [ -z "$(hutch_cgroups "$D")" ]
    "$HUTCH" run --rootfs "$ROOTFS" -- sh -c 'cat /proc/self/cgroup | grep "^0::"; cat /sys/fs/cgroup/cgroup.procs; exec sleep 4321' > "$out" 2>&1 &
    HPID=$!
    wait_for grep -q '^0::' "$out"
    # one cgroup under the delegated one, holding the container's process
    run hutch_cgroups "$D"
    [ "${#lines[@]}" -eq 1 ] || { printf '%s\n' "$output" >&2; return 1; }
    local cg=${lines[0]} pid
    pid=$(cat "$cg/cgroup.procs")
    [ -n "$pid" ]
    [ "$(cat "/proc/$pid/cmdline" | tr '\0' ' ')" = "sleep 4321 " ]
    # inside: the cgroup namespace's root, and only itself in cgroup.procs
    [ "$(sed -n 1p "$out")" = "0::/" ]
    [ "$(sed -n 2p "$out")" = "1" ]
    # PID 1 of the container ignores SIGTERM: end it by its pid
    kill -KILL "$pid"
    # hutch ends with its container: bounded, so that a hang fails here
    wait_exit "$HPID"
    HPID=
    [ ! -e "$cg" ]
    [ -z "$(hutch_cgroups "$D")" ]
}

@test "an image's container cgroup is named after its directory in the store" {
    need_deleg
    tar -czf "$BATS_TEST_TMPDIR/r.tar.gz" -C "$ROOTFS" .
    "$HUTCH" --root "$STORE" import "$BATS_TEST_TMPDIR/r.tar.gz" bb > /dev/null
    local out=$BATS_TEST_TMPDIR/out
    "$HUTCH" --root "$STORE" run --network none bb sh -c 'echo up; exec sleep 4321' > "$out" 2>&1 &
    HPID=$!
    wait_for grep -q up "$out"
    run hutch_cgroups "$D"
    [ "${#lines[@]}" -eq 1 ]
    local id=${lines[0]##*/hutch-}
    [[ $id =~ ^[0-9a-f]{64}$ ]]
    [ -d "$STORE/containers/$id" ]
    kill -KILL "$(cat "${lines[0]}/cgroup.procs")"
    wait_exit "$HPID"
    HPID=
    [ -z "$(hutch_cgroups "$D")" ]
}

@test "/sys/fs/cgroup inside is the container's cgroup, read-only" {
    need_deleg
    run "$HUTCH" run --rootfs "$ROOTFS" -- sh -c '
        grep " /sys/fs/cgroup " /proc/self/mountinfo | grep -q " - cgroup2 " || echo not-cgroup2
        grep " /sys/fs/cgroup " /proc/self/mountinfo | awk "{print \$6}" | grep -q "^ro" || echo not-ro
        mkdir /sys/fs/cgroup/x 2>/dev/null && echo made-child
        { echo 0 > /sys/fs/cgroup/cgroup.procs; } 2>/dev/null && echo moved
        ls /sys/fs/cgroup | grep -c "^hutch-" ; true'
    assert_status 0
    assert_equal "$output" "0"
    [ -z "$(hutch_cgroups "$D")" ]
}

@test "hutch killed with SIGKILL: its watchdog removes the container's cgroup" {
    need_deleg
    local out=$BATS_TEST_TMPDIR/out
    "$HUTCH" run --rootfs "$ROOTFS" -- sh -c 'echo up; exec sleep 4321' > "$out" 2>&1 &
    HPID=$!
    wait_for grep -q up "$out"
    [ -n "$(hutch_cgroups "$D")" ]
    kill -KILL "$HPID"
    wait "$HPID" || true
    HPID=
    wait_for no_cgroups
    [ -z "$(pids_of_cmdline 'sleep 4321')" ]
}

@test "hutch killed with SIGKILL, ten times: never a cgroup left (the watchdog sees hutch gone with B)" {
    need_deleg
    local out=$BATS_TEST_TMPDIR/out i
    for i in $(seq 1 10); do
        : > "$out"
        "$HUTCH" run --rootfs "$ROOTFS" -- sh -c 'echo up; exec sleep 4321' > "$out" 2>&1 &
        HPID=$!
        wait_for grep -q up "$out"
        kill -KILL "$HPID"
        wait "$HPID" || true
        HPID=
        wait_for no_cgroups || { echo "round $i: $(hutch_cgroups "$D")" >&2; return 1; }
    done
}

@test "hutch's process group killed (timeout -s KILL): the watchdog, in a session of its own, still cleans up" {
    need_deleg
    run timeout -s KILL 2 "$HUTCH" run --rootfs "$ROOTFS" -- sleep 4321
    [ "$status" -eq 137 ]
    wait_for no_cgroups
    [ -z "$(pids_of_cmdline 'sleep 4321')" ]
}

@test "a failed start leaves no cgroup" {
    need_deleg
    run -127 "$HUTCH" run --rootfs "$ROOTFS" -- /no/such/program
    assert_status 127
    run "$HUTCH" run --rootfs "$ROOTFS" -w /etc/passwd -- true
    assert_status 125
    [ -z "$(hutch_cgroups "$D")" ]
}

@test "--cgroups=disabled: no cgroup of its own" {
    need_deleg
    local out=$BATS_TEST_TMPDIR/out
    "$HUTCH" run --cgroups=disabled --rootfs "$ROOTFS" -- sh -c 'echo up; exec sleep 4321' > "$out" 2>&1 &
    HPID=$!
    wait_for grep -q up "$out"
    [ -z "$(hutch_cgroups "$D")" ]
    # the container's process is in hutch's own cgroup
    local pid
    pid=$(pids_of_cmdline 'sleep 4321')
    [ -n "$pid" ]
    grep -qx "$pid" "$D/cgroup.procs"
}

# v1_holds CONTROLLER: a cgroup v1 hierarchy holds it (a hybrid or v1 host)
v1_holds() {
    awk -v c="$1" '{ for (i = 7; i < NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup" && ("," $(i + 3) ",") ~ ("," c ",")) f = 1; break } } END { exit !f }' /proc/self/mountinfo
}

# missing_controller_says CONTROLLER: what a limit that needs it must say
# when the delegated cgroup lacks it: that cgroup v1 holds it (no
# delegation helps, the host must boot pure cgroup v2), else that it is
# not available in the cgroup
missing_controller_says() {
    if v1_holds "$1"; then
        assert_output_has "cgroup v1 holds the $1 controller" "systemd.unified_cgroup_hierarchy=1"
        [[ $output != *systemd-run* ]] || fail_now "sends to delegation: $output"
    else
        assert_output_has "the $1 controller is not available in your cgroup $D"
    fi
}

@test "--memory on this host: exit 125 naming the missing controller and why" {
    need_deleg
    if grep -qw memory "$D/cgroup.controllers"; then
        skip "the memory controller is delegated here: tests/vm checks the limit itself"
    fi
    local marker=$BATS_TEST_TMPDIR/ran
    run "$HUTCH" run --memory 64m -v "$BATS_TEST_TMPDIR:/out" --rootfs "$ROOTFS" -- touch /out/ran
    assert_status 125
    assert_output_has "memory.max"
    missing_controller_says memory
    [ ! -e "$marker" ]
    [ -z "$(hutch_cgroups "$D")" ]
    # the same for the others that need a controller
    run "$HUTCH" run --pids-limit 10 --rootfs "$ROOTFS" -- true
    assert_status 125
    missing_controller_says pids
    run "$HUTCH" run --cgroup-conf cpu.weight=50 --rootfs "$ROOTFS" -- true
    assert_status 125
    missing_controller_says cpu
}

@test "a cgroup that is not delegated: containers run, limits fail with how to get delegation" {
    need_deleg
    # A child of the delegated cgroup whose cgroup.procs we may no longer
    # write: what hutch sees in a cgroup that belongs to someone else.
    local sub=$D/notmine limit="--memory 64m" file=memory.max
    # On a hybrid host v1 holds memory, and that is said first (what no
    # delegation can change); a controller v1 does not hold shows this.
    if v1_holds memory; then
        v1_holds hugetlb && skip "cgroup v1 holds both memory and hugetlb here"
        limit="--cgroup-conf hugetlb.2MB.max=0" file=hugetlb.2MB.max
    fi
    mkdir "$sub"
    run bash -c '
        echo $BASHPID > "$1/cgroup.procs" || exit 90
        chmod 0444 "$1/cgroup.procs" || exit 91
        "$2" info | grep "^cgroup"
        "$2" run --rootfs "$3" -- echo ran
        echo "status $?"
        "$2" run $4 --rootfs "$3" -- echo ran
        echo "status $?"' _ "$sub" "$HUTCH" "$ROOTFS" "$limit"
    chmod 0644 "$sub/cgroup.procs"
    rmdir "$sub"
    assert_output_has "(not delegated)"
    assert_output_has "ran
status 0"
    assert_output_has "status 125"
    assert_output_has "cannot apply the limits ($file)"
    assert_output_has "is not delegated to you"
    assert_output_has "systemd-run --user --scope -p Delegate=yes"
    [ -z "$(hutch_cgroups "$D")" ]
}

@test "malformed limits: exit 125, a message naming the option, nothing started" {
    local marker=$BATS_TEST_TMPDIR/ran bad
    while IFS='|' read -r opt msg; do
        # shellcheck disable=SC2086
        run "$HUTCH" run $opt -v "$BATS_TEST_TMPDIR:/out" --rootfs "$ROOTFS" -- touch /out/ran
        if [ "$status" -ne 125 ] || [[ $output != *"$msg"* ]]; then
            echo "for $opt: status $status, output: $output (expected: $msg)" >&2
            return 1
        fi
    done <<'EOF'
--memory 12q|--memory `12q`: not a size
--memory 1k|below the minimum of 6m
--memory=-5m|--memory `-5m`: not a size
--memory-swap 100m|--memory-swap needs --memory
--memory 100m --memory-swap 50m|--memory-swap 50m is below --memory 100m
--memory 100m --memory-reservation 200m|--memory-reservation 200m is above --memory 100m
--pids-limit ten|--pids-limit `ten`
--pids-limit -7|--pids-limit `-7`
--cpus abc|--cpus `abc`
--cpus 0.001|--cpus 0.001 is below the minimum of 0.01
--cpu-shares 1|--cpu-shares `1`
--cpu-shares 300000|--cpu-shares `300000`
--cpuset-cpus 0-|--cpuset-cpus `0-`
--cpuset-mems x|--cpuset-mems `x`
--blkio-weight 5|--blkio-weight `5`
--cgroup-conf memory.high|--cgroup-conf `memory.high`: give KEY=VALUE
--cgroup-conf cgroup.procs=1|`cgroup.procs` cannot be set
--cgroup-conf Memory.max=1|`Memory.max` is not a cgroup file name
--cgroup-conf ../x.max=1|`../x.max` is not a cgroup file name
--cgroup-conf cpu.pressure=1|`cpu.pressure` is a pressure-stall file
--cgroups=maybe|--cgroups `maybe`: expected enabled or disabled
--cgroups=disabled --memory 64m|--cgroups=disabled leaves the container without a cgroup
EOF
    [ ! -e "$marker" ]
    [ -z "$D" ] || [ -z "$(hutch_cgroups "$D")" ]
}

# oci_bundle DIR NAMESPACES CGROUP_MOUNT_OPTIONS ARGS_JSON: a bundle over $ROOTFS
oci_bundle() {
    mkdir -p "$1"
    ln -sfn "$ROOTFS" "$1/rootfs"
    python3 - "$@" "$MY_UID" "$MY_GID" <<'PY'
import json, sys
d, nss, opts, args, uid, gid = sys.argv[1:7]
cfg = {
    "ociVersion": "1.0.2",
    "process": {"user": {"uid": 0, "gid": 0}, "args": json.loads(args), "cwd": "/",
                "env": ["PATH=/bin:/usr/bin"]},
    "root": {"path": "rootfs"},
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
               {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                "options": opts.split(",")}],
    "linux": {"namespaces": [{"type": t} for t in nss.split(",")],
              "uidMappings": [{"containerID": 0, "hostID": int(uid), "size": 1}],
              "gidMappings": [{"containerID": 0, "hostID": int(gid), "size": 1}]},
}
json.dump(cfg, open(d + "/config.json", "w"))
PY
}

@test "config.json without a cgroup namespace: the container still gets one (never the user's tree)" {
    need_deleg
    local b=$BATS_TEST_TMPDIR/b
    oci_bundle "$b" user,mount,pid ro '["sh", "-c", "grep ^0:: /proc/self/cgroup; ls /sys/fs/cgroup | grep -c hutch-; true"]'
    run "$HUTCH_OCI" run --bundle "$b" nocg
    assert_status 0
    assert_equal "$output" "0::/
0"
    [ -z "$(hutch_cgroups "$D")" ]
}

@test "a container that fills a writable cgroup mount with nested cgroups: removed, or a warning naming the rest" {
    need_deleg
    local b=$BATS_TEST_TMPDIR/b left
    oci_bundle "$b" user,mount,pid,cgroup rw '["sh", "-c", "cd /sys/fs/cgroup && for i in $(seq 1 10); do mkdir d && cd d || exit 1; done"]'
    run "$HUTCH_OCI" run --bundle "$b" nest10
    assert_status 0
    [[ $output != *warning* ]]
    [ -z "$(hutch_cgroups "$D")" ]
    # deeper than hutch goes: it stops and says what is left and how to remove it
    oci_bundle "$b" user,mount,pid,cgroup rw '["sh", "-c", "cd /sys/fs/cgroup && for i in $(seq 1 40); do mkdir d && cd d || exit 1; done"]'
    run "$HUTCH_OCI" run --bundle "$b" nest40
    assert_status 0
    assert_output_has "hutch-oci: warning: the container's cgroup $D/hutch-"
    assert_output_has "could not be removed"
    left=$(hutch_cgroups "$D")
    [ -n "$left" ]
    find "$left" -depth -type d -exec rmdir {} +
    [ -z "$(hutch_cgroups "$D")" ]
}

@test "config.json: linux.resources is read, what cannot be honoured is refused" {
    need_deleg
    local b=$BATS_TEST_TMPDIR/bundle
    mkdir -p "$b"
    ln -s "$ROOTFS" "$b/rootfs"
    write_config() {
        python3 - "$b/config.json" "$1" "$MY_UID" "$MY_GID" "$SUBUID_START" "$SUBGID_START" <<'PY'
import json, sys
path, res, uid, gid, su, sg = sys.argv[1], json.loads(sys.argv[2]), *map(int, sys.argv[3:])
cfg = {
    "ociVersion": "1.0.2",
    "process": {"user": {"uid": 0, "gid": 0}, "args": ["true"], "cwd": "/",
                "env": ["PATH=/bin:/usr/bin"]},
    "root": {"path": "rootfs"},
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
    "linux": {"namespaces": [{"type": t} for t in ("user", "mount", "pid", "cgroup")],
              "uidMappings": [{"containerID": 0, "hostID": uid, "size": 1},
                              {"containerID": 1, "hostID": su, "size": 65536}],
              "gidMappings": [{"containerID": 0, "hostID": gid, "size": 1},
                              {"containerID": 1, "hostID": sg, "size": 65536}],
              "resources": res},
}
json.dump(cfg, open(path, "w"))
PY
    }
    # runc's default: deny every device.  Honoured (the kernel already
    # refuses device nodes to a user namespace).
    write_config '{"devices": [{"allow": false, "access": "rwm"}]}'
    run "$HUTCH_OCI" run --bundle "$b" c1
    assert_status 0
    write_config '{"devices": [{"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]}'
    run "$HUTCH_OCI" run --bundle "$b" c2
    assert_status 1
    assert_output_has "must start with the one that denies every device"
    # allow rules after it, as engines write them: rootless, the kernel's
    # rule is stricter than they are
    write_config '{"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]}'
    run "$HUTCH_OCI" run --bundle "$b" c2b
    assert_status 0
    write_config '{"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwx"}]}'
    run "$HUTCH_OCI" run --bundle "$b" c2c
    assert_status 1
    assert_output_has "devices[1].access"
    write_config '{"hugepageLimits": [{"pageSize": "2MB", "limit": 1}]}'
    run "$HUTCH_OCI" run --bundle "$b" c3
    assert_status 1
    assert_output_has "linux.resources.hugepageLimits is not supported"
    write_config '{"memory": {"limit": 67108864, "kernel": 1}}'
    run "$HUTCH_OCI" run --bundle "$b" c4
    assert_status 1
    assert_output_has "linux.resources.memory.kernel is not supported"
    if ! grep -qw pids "$D/cgroup.controllers"; then
        write_config '{"pids": {"limit": 10}}'
        run "$HUTCH_OCI" run --bundle "$b" c5
        assert_status 1
        missing_controller_says pids
    fi
    [ -z "$(hutch_cgroups "$D")" ]
}
