#!/usr/bin/env bats
# hutch-oci features and spec, as an engine and a user use them.

load helpers

# edit FILE PYTHON: change the JSON document in FILE with the Python
# statements PYTHON, which see it as d
edit() {
    python3 - "$1" "$2" <<'PY'
import json, sys
path, code = sys.argv[1], sys.argv[2]
with open(path) as f:
    d = json.load(f)
exec(code)
with open(path, "w") as f:
    json.dump(d, f)
PY
}

@test "hutch-oci features: JSON whose ociVersionMax is the spec version --version names" {
    run "$HUTCH_OCI" --version
    assert_status 0
    local spec_line
    spec_line=$(printf '%s\n' "$output" | sed -n 's/^spec: //p')
    [ -n "$spec_line" ] || fail_now "no spec line in: $output"
    run "$HUTCH_OCI" features
    assert_status 0
    local max
    max=$(printf '%s\n' "$output" | python3 -c 'import json, sys; print(json.load(sys.stdin)["ociVersionMax"])')
    assert_equal "$max" "$spec_line"
    printf '%s\n' "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert set(d["hooks"]) == {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}, d["hooks"]
lx = d["linux"]
assert "user" in lx["namespaces"] and "time" in lx["namespaces"], lx["namespaces"]
assert "CAP_SYS_ADMIN" in lx["capabilities"]
assert lx["cgroup"]["v2"] is True and lx["cgroup"]["v1"] is False
# the probe of the kernel works without privileges: Linux 4.17 has all three
assert sorted(lx["seccomp"]["supportedFlags"]) == sorted(lx["seccomp"]["knownFlags"]), lx["seccomp"]
assert "SCMP_ACT_NOTIFY" not in lx["seccomp"]["actions"]
assert lx["mountExtensions"]["idmap"]["enabled"] is False
assert "run.oci.keep_original_groups" in d["potentiallyUnsafeConfigAnnotations"]
'
}

@test "hutch-oci features takes no arguments" {
    run "$HUTCH_OCI" features extra
    assert_status 1
    assert_output_has "takes no arguments"
}

@test "hutch-oci spec refuses a config.json that exists, and leaves it alone" {
    local b="$BATS_TEST_TMPDIR/b"
    mkdir -p "$b"
    echo '{"mine": true}' > "$b/config.json"
    run "$HUTCH_OCI" spec --bundle "$b"
    assert_status 1
    assert_output_has "$b/config.json exists; remove it first"
    assert_equal "$(cat "$b/config.json")" '{"mine": true}'
    # the default bundle is the current directory
    cd "$b"
    run "$HUTCH_OCI" spec --rootless
    assert_status 1
    assert_output_has "./config.json exists; remove it first"
}

@test "hutch-oci spec: a bundle directory that does not exist is an error that names it" {
    run "$HUTCH_OCI" spec --bundle "$BATS_TEST_TMPDIR/nowhere"
    assert_status 1
    assert_output_has "cannot create $BATS_TEST_TMPDIR/nowhere/config.json" "No such file or directory"
}

@test "hutch-oci spec --rootless: a bundle that runs as this user" {
    local b="$BATS_TEST_TMPDIR/b"
    mkdir -p "$b"
    cp -a "$ROOTFS" "$b/rootfs"
    run "$HUTCH_OCI" spec --rootless --bundle "$b"
    assert_status 0
    # what runc spec writes and a user then changes: the command, no terminal
    edit "$b/config.json" 'd["process"]["args"] = ["sh", "-c", "echo ok; id -u; cat /proc/self/uid_map; hostname"]; d["process"]["terminal"] = False'
    cd "$b"
    run "$HUTCH_OCI" run c1
    assert_status 0
    assert_equal "${lines[0]}" ok
    assert_equal "${lines[1]}" 0
    assert_equal "$(echo "${lines[2]}" | awk '{ print $1, $2, $3 }')" "0 $MY_UID 1"
    assert_equal "${lines[3]}" hutch
}

@test "hutch-oci spec without --rootless: as a user, it runs in a user namespace of its own" {
    local b="$BATS_TEST_TMPDIR/b"
    mkdir -p "$b"
    cp -a "$ROOTFS" "$b/rootfs"
    run "$HUTCH_OCI" spec --bundle "$b"
    assert_status 0
    run python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(" ".join(n["type"] for n in d["linux"]["namespaces"]))' "$b/config.json"
    assert_equal "$output" "pid network ipc uts mount cgroup"
    # no user namespace asked for: rootless, one that maps the caller
    # comes (as crun does), and the process is root in it
    python3 - "$b/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["terminal"] = False
c["process"]["args"] = ["sh", "-c", "id -u; grep -c . /proc/self/uid_map"]
json.dump(c, open(sys.argv[1], "w"))
PY
    run "$HUTCH_OCI" --root "$BATS_TEST_TMPDIR/state" run --bundle "$b" c2
    assert_status 0
    assert_equal "${lines[0]}" 0
}

# mount_bundle B OPTS KIND: a rootless bundle in B whose process counts its
# mounts under /mnt/opt-N, one mount for each option of OPTS: binds of
# B/src (KIND bind) or a tmpfs (KIND tmpfs) for all but bind and rbind
mount_bundle() {
    mkdir -p "$1/src"
    [ -d "$1/rootfs" ] || cp -a "$ROOTFS" "$1/rootfs"
    rm -f "$1/config.json"
    "$HUTCH_OCI" spec --rootless --bundle "$1"
    OPTS="$2" B="$1" KIND="$3" edit "$1/config.json" '
import os
d["process"]["args"] = ["sh", "-c", "grep -c \" /mnt/opt-\" /proc/self/mountinfo"]
d["process"]["terminal"] = False
d["root"]["readonly"] = False
for i, o in enumerate(os.environ["OPTS"].split()):
    os.makedirs(os.path.join(os.environ["B"], "rootfs/mnt/opt-%d" % i), exist_ok=True)
    m = {"destination": "/mnt/opt-%d" % i}
    if o in ("bind", "rbind"):
        m.update(type="bind", source=os.environ["B"] + "/src", options=[o])
    elif os.environ["KIND"] == "bind":
        m.update(type="bind", source=os.environ["B"] + "/src", options=["rbind", o])
    else:
        m.update(type="tmpfs", source="tmpfs", options=[o])
    d["mounts"].append(m)
'
}

@test "hutch-oci features: every mount option it lists is taken" {
    local b="$BATS_TEST_TMPDIR/b" opts o
    opts=$("$HUTCH_OCI" features | python3 -c 'import json, sys; print(" ".join(json.load(sys.stdin)["mountOptions"]))')
    [ -n "$opts" ]
    # on a mount of the container's own (a tmpfs), where no flag is locked,
    # each applies; one that hutch did not know would go to tmpfs, which
    # refuses what it does not know
    mount_bundle "$b" "$opts" tmpfs
    run "$HUTCH_OCI" run --bundle "$b" c3
    assert_status 0
    assert_equal "$output" "$(echo "$opts" | wc -w)"
    # on a bind of the host's, the kernel may refuse to change a flag the
    # host's mount locks (atime rootless), but hutch knows each option
    for o in $opts; do
        mount_bundle "$b" "$o" bind
        run "$HUTCH_OCI" run --bundle "$b" c3
        if printf '%s\n' "$output" | grep -q "unknown bind mount option"; then
            fail_now "$o: $output"
        fi
    done
    # and the check above can fail
    mount_bundle "$b" "nosuchoption" bind
    run "$HUTCH_OCI" run --bundle "$b" c3
    assert_output_has "unknown bind mount option \`nosuchoption\`"
    mount_bundle "$b" "nosuchoption" tmpfs
    run "$HUTCH_OCI" run --bundle "$b" c3
    [ "$status" -ne 0 ]
}
