#!/usr/bin/env bats
# hutch-oci run by the host's root, as containerd and a rootful podman run
# it: what only root's containers have (id maps of the caller's choice, a
# container without a user namespace, device rules) and what only root's
# containers get wrong.
#
# Run as root by tests/integration/run, which holds the suite's lock.
# Unlike the other *.root.bats files, hutch itself (hutch-oci) runs as
# root here: that is the case under test.

load helpers

setup() {
    [ "$(id -u)" = 0 ] || skip "hutch-oci as the host's root: tests/integration/run runs this file as root"
    # ids that no user and no subordinate range on this host has
    MAPBASE=$(awk -F: -v n=65536 '
        NF >= 3 && $2 ~ /^[0-9]+$/ { s[++k] = $2; c[k] = $3 }
        END {
            for (start = 2000000; ; start += 100000) {
                ok = 1
                for (i = 1; i <= k; i++)
                    if (s[i] < start + n && start < s[i] + c[i]) ok = 0
                if (ok) { print start; exit }
            }
        }' /etc/subuid /etc/subgid)
}

# root_bundle DIR ARGS_JSON [PYTHON]: a bundle as a rootful engine writes
# one (no user namespace, the deny-all device rule), with a copy of the
# rootfs; PYTHON changes its config.json, the dict `c`
root_bundle() {
    mkdir -p "$1"
    cp -a "$ROOTFS" "$1/rootfs"
    python3 - "$1/config.json" "$2" "${3:-}" <<'PY'
import json, sys
p, args, code = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
c = {
  "ociVersion": "1.0.2",
  "process": {"terminal": False, "user": {"uid": 0, "gid": 0}, "args": args,
              "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "cwd": "/"},
  "root": {"path": "rootfs"},
  "hostname": "rootful",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]}],
  "linux": {
    "namespaces": [{"type": t} for t in ["pid", "ipc", "uts", "mount", "network"]],
    "resources": {"devices": [{"allow": False, "access": "rwm"}]}}}
exec(code)
json.dump(c, open(p, "w"), indent=1)
PY
}

# with_userns: the python that gives the bundle a user namespace mapping
# 0..65535 to MAPBASE.. (and drops the device rule, which needs none)
with_userns() {
    echo "c['linux']['namespaces'].append({'type': 'user'})
m = [{'containerID': 0, 'hostID': $MAPBASE, 'size': 65536}]
c['linux']['uidMappings'] = m; c['linux']['gidMappings'] = m
del c['linux']['resources']"
}

@test "hutch-oci as root: the deny-all device rule holds without a user namespace" {
    local b="$BATS_TEST_TMPDIR/bundle"
    # a loop device's number: the host has the driver, the container may
    # neither make nor open a node of it
    root_bundle "$b" '["sh", "-c", "mknod /tmp/made b 7 0 || echo no-mknod; echo x > /dev/null && echo null-ok; cat /proc/self/uid_map"]'
    run "$HUTCH_OCI" run --bundle "$b" devices1
    assert_status 0
    assert_output_has no-mknod null-ok
    # the host's root, not a mapped one
    assert_equal "$(norm_map "$(printf '%s\n' "$output" | tail -1)")" "0 0 4294967295"
    # a node that exists on disk, made by the host's root, cannot be opened
    root_bundle "$b.2" '["sh", "-c", "head -c 1 /tmp/disk > /dev/null 2>&1 || echo no-open"]'
    mknod "$b.2/rootfs/tmp/disk" b 7 0
    run "$HUTCH_OCI" run --bundle "$b.2" devices2
    assert_status 0
    assert_output_has no-open
    # and without the rule it can (the test is of the rule, not of the host)
    root_bundle "$b.3" '["sh", "-c", "head -c 0 /tmp/disk && echo opened"]' "del c['linux']['resources']"
    mknod "$b.3/rootfs/tmp/disk" b 7 0
    run "$HUTCH_OCI" run --bundle "$b.3" devices3
    assert_status 0
    assert_output_has opened
}

@test "hutch-oci as root: the deny-all device rule holds with a user namespace too" {
    local b="$BATS_TEST_TMPDIR/bundle"
    # a node that anyone may open (0666), made by the host's root: only
    # the device program keeps the container from it
    root_bundle "$b" '["sh", "-c", "head -c 0 /tmp/disk > /dev/null 2>&1 && echo opened || echo no-open"]' "$(with_userns)
c['linux']['resources'] = {'devices': [{'allow': False, 'access': 'rwm'}]}"
    mknod -m 0666 "$b/rootfs/tmp/disk" b 7 0
    run "$HUTCH_OCI" run --bundle "$b" devices4
    assert_status 0
    assert_output_has no-open
    root_bundle "$b.2" '["sh", "-c", "head -c 0 /tmp/disk > /dev/null 2>&1 && echo opened || echo no-open"]' "$(with_userns)"
    mknod -m 0666 "$b.2/rootfs/tmp/disk" b 7 0
    run "$HUTCH_OCI" run --bundle "$b.2" devices5
    assert_status 0
    assert_output_has opened
}

@test "hutch-oci as root: linux.uidMappings and gidMappings are the container's maps" {
    local b="$BATS_TEST_TMPDIR/bundle"
    mkdir -m 0777 "$BATS_TEST_TMPDIR/shared"
    root_bundle "$b" '["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; touch /shared/f; id -u"]' "$(with_userns)
c['mounts'].append({'destination': '/shared', 'type': 'bind', 'source': '$BATS_TEST_TMPDIR/shared', 'options': ['rbind']})"
    chown -R "$MAPBASE:$MAPBASE" "$b/rootfs"
    run "$HUTCH_OCI" run --bundle "$b" maps1
    assert_status 0
    assert_equal "$(printf '%s\n' "$output" | awk 'NF == 3 { print $1, $2, $3 }' | sort -u)" "0 $MAPBASE 65536"
    assert_equal "${lines[-1]}" 0
    # the container's root made the file: on the host it is MAPBASE's
    assert_equal "$(stat -c %u:%g "$BATS_TEST_TMPDIR/shared/f")" "$MAPBASE:$MAPBASE"
}

@test "hutch-oci as root: with a user namespace, the bundle and bind sources in root's private directories are reached" {
    local d="$BATS_TEST_TMPDIR/private" b
    # only root may enter: the container's root (MAPBASE on the host)
    # could not, so they are opened before it becomes that
    mkdir -m 0700 "$d"
    b="$d/bundle"
    mkdir -m 0755 "$d/data"
    echo from-the-host > "$d/data/f"
    root_bundle "$b" '["cat", "/data/f"]' "$(with_userns)
c['mounts'].append({'destination': '/data', 'type': 'bind', 'source': '$d/data', 'options': ['rbind', 'ro']})"
    chown -R "$MAPBASE:$MAPBASE" "$b/rootfs"
    chmod 0700 "$b"
    run "$HUTCH_OCI" run --bundle "$b" private1
    assert_status 0
    assert_equal "$output" from-the-host
}

@test "hutch-oci as root: a rootfs the map does not own still gets its mount points (made as the namespace's root)" {
    local b="$BATS_TEST_TMPDIR/bundle"
    # the rootfs stays the test user's: /dev's tmpfs, made in the user
    # namespace, takes its mount points (/dev/pts) from the namespace's root
    root_bundle "$b" '["sh", "-c", "ls -d /dev/pts && id -u"]' "$(with_userns)"
    run "$HUTCH_OCI" run --bundle "$b" unowned1
    assert_status 0
    assert_equal "${lines[0]}" /dev/pts
    assert_equal "${lines[1]}" 0
}

@test "hutch-oci as root: a container's directory that another user made in a sticky --root is not used (the pid it names is not killed)" {
    local r victim st alive=0 rc out
    # root's and sticky: the trust check of --root lets it through (as it
    # does /tmp above a directory), and every user can make an ID in it
    r=$(mktemp -d /tmp/hutch-oci-sticky.XXXXXX)
    chmod 1777 "$r"
    sleep 60 &
    victim=$!
    st=$(awk '{ print $22 }' "/proc/$victim/stat")
    runuser -u "$GRANT_USER" -- sh -c 'mkdir -m 755 "$1/forged" && printf "status=created\npid=%s\npid_start=%s\nboot_id=%s\ncreated=1\n" "$2" "$3" "$(cat /proc/sys/kernel/random/boot_id)" > "$1/forged/state"' \
        sh "$r" "$victim" "$st"
    run "$HUTCH_OCI" --root "$r" delete forged
    rc=$status out=$output
    run "$HUTCH_OCI" --root "$r" kill forged KILL
    kill -0 "$victim" 2> /dev/null || alive=1
    kill "$victim" 2> /dev/null || true
    wait "$victim" 2> /dev/null || true
    rm -rf "$r"
    [ "$alive" = 0 ] || fail_now "root killed the process that another user's state named"
    assert_status 1
    assert_output_has "is not safe to use"
    [ "$rc" = 1 ] || fail_now "delete of another user's container directory: status $rc: $out"
    [[ $out == *"is not safe to use"* ]] || fail_now "delete said: $out"
}

@test "hutch-oci as root: a created container's waiting process is not dumpable; exec still enters it, and the command is dumpable again" {
    local b="$BATS_TEST_TMPDIR/bundle"
    # the container's capabilities, without CAP_SYS_PTRACE (as engines
    # give them); the waiting process holds the caller's environment
    root_bundle "$b" '["sleep", "30"]' "c['process']['noNewPrivileges'] = True
c['process']['capabilities'] = {k: ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_SETUID', 'CAP_SETGID', 'CAP_KILL'] for k in ['bounding', 'effective', 'permitted']}"
    HUTCH_CALLER_SECRET=s3cret "$HUTCH_OCI" create --bundle "$b" dumpable1 < /dev/null > /dev/null 2>&1
    run "$HUTCH_OCI" exec dumpable1 sh -c 'cat /proc/1/environ > /dev/null 2>&1 && tr "\0" "\n" < /proc/1/environ || echo no-environ'
    assert_status 0
    assert_output_has no-environ
    [[ $output != *s3cret* ]] || fail_now "the container read the caller's environment from the waiting process"
    "$HUTCH_OCI" start dumpable1
    run "$HUTCH_OCI" exec dumpable1 sh -c 'tr "\0" "\n" < /proc/1/environ'
    assert_status 0
    assert_output_has PATH=
    "$HUTCH_OCI" delete --force dumpable1
}
