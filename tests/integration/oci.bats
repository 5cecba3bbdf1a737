#!/usr/bin/env bats
# hutch-oci: run an OCI bundle.

load helpers

# make_bundle DIR ARGS_JSON: a bundle with a copy of the rootfs
make_bundle() {
    local b=$1 args=$2
    mkdir -p "$b"
    cp -a "$ROOTFS" "$b/rootfs"
    local uidmaps gidmaps
    if [ -n "$SUBUID_START" ] && [ -n "$SUBGID_START" ]; then
        uidmaps="{\"containerID\": 0, \"hostID\": $MY_UID, \"size\": 1}, {\"containerID\": 1, \"hostID\": $SUBUID_START, \"size\": $SUBUID_COUNT}"
        gidmaps="{\"containerID\": 0, \"hostID\": $MY_GID, \"size\": 1}, {\"containerID\": 1, \"hostID\": $SUBGID_START, \"size\": $SUBGID_COUNT}"
    else
        uidmaps="{\"containerID\": 0, \"hostID\": $MY_UID, \"size\": 1}"
        gidmaps="{\"containerID\": 0, \"hostID\": $MY_GID, \"size\": 1}"
    fi
    cat > "$b/config.json" <<JSON
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": { "uid": 0, "gid": 0 },
    "args": $args,
    "env": [
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "OCIVAR=from-config"
    ],
    "cwd": "/tmp",
    "noNewPrivileges": true
  },
  "root": { "path": "rootfs", "readonly": false },
  "hostname": "ocihost",
  "mounts": [
    { "destination": "/proc", "type": "proc", "source": "proc" },
    { "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
      "options": ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    { "destination": "/dev/pts", "type": "devpts", "source": "devpts",
      "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"] },
    { "destination": "/dev/shm", "type": "tmpfs", "source": "shm",
      "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
    { "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
      "options": ["nosuid", "noexec", "nodev"] },
    { "destination": "/sys", "type": "sysfs", "source": "sysfs",
      "options": ["nosuid", "noexec", "nodev", "ro"] }
  ],
  "linux": {
    "namespaces": [
      { "type": "user" }, { "type": "pid" }, { "type": "ipc" },
      { "type": "uts" }, { "type": "mount" }, { "type": "network" }
    ],
    "uidMappings": [ $uidmaps ],
    "gidMappings": [ $gidmaps ]
  }
}
JSON
}

@test "hutch-oci run: the process runs as configured and its output comes through" {
    local b="$BATS_TEST_TMPDIR/bundle"
    make_bundle "$b" '["/bin/sh", "-c", "echo hello-oci; id -u; hostname; pwd; echo $OCIVAR; echo $$; grep -c . /proc/self/uid_map"]'
    run "$HUTCH_OCI" run --bundle "$b" c1
    assert_status 0
    assert_equal "${lines[0]}" hello-oci
    assert_equal "${lines[1]}" 0
    assert_equal "${lines[2]}" ocihost
    assert_equal "${lines[3]}" /tmp
    assert_equal "${lines[4]}" from-config
    assert_equal "${lines[5]}" 1
    if [ -n "$SUBUID_START" ]; then
        assert_equal "${lines[6]}" 2
    fi
}

@test "hutch-oci run: the bundle defaults to the current directory and exit codes pass through" {
    local b="$BATS_TEST_TMPDIR/bundle"
    make_bundle "$b" '["/bin/sh", "-c", "exit 7"]'
    cd "$b"
    run "$HUTCH_OCI" run c2
    assert_status 7
}

@test "hutch-oci run: the mounts of config.json are there" {
    local b="$BATS_TEST_TMPDIR/bundle"
    make_bundle "$b" '["/bin/sh", "-c", "grep -E \" /(dev|dev/pts|dev/shm|dev/mqueue|sys|proc) \" /proc/mounts | cut -d\" \" -f2,3 | sort"]'
    run "$HUTCH_OCI" run --bundle "$b" c3
    assert_status 0
    assert_output_has "/dev tmpfs" "/dev/pts devpts" "/dev/shm tmpfs" "/dev/mqueue mqueue" "/proc proc" "/sys sysfs"
}

@test "hutch-oci run: bad JSON is reported with line and column" {
    local b="$BATS_TEST_TMPDIR/bundle"
    mkdir -p "$b/rootfs"
    printf '{\n  "ociVersion": "1.0.2",\n  "process": {,\n}\n' > "$b/config.json"
    run "$HUTCH_OCI" run --bundle "$b" c4
    assert_status 125
    assert_output_has line column config.json
    # the error is on line 3
    printf '%s\n' "$output" | grep -q -i 'line 3'
}

@test "hutch-oci run: missing config.json" {
    mkdir -p "$BATS_TEST_TMPDIR/empty"
    run "$HUTCH_OCI" run --bundle "$BATS_TEST_TMPDIR/empty" c5
    assert_status 125
    assert_output_has config.json
}

@test "hutch-oci run: unsupported fields are refused" {
    local b="$BATS_TEST_TMPDIR/bundle"
    make_bundle "$b" '["/bin/true"]'
    python3 - "$b/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["hooks"] = {"prestart": [{"path": "/bin/true"}]}
json.dump(c, open(p, "w"))
PY
    run "$HUTCH_OCI" run --bundle "$b" c6
    assert_status 125
    assert_output_has hooks
}

@test "hutch-oci run: the bundle that \`runc spec --rootless\` writes runs" {
    command -v runc >/dev/null || skip "runc is not installed (scripts/deps --test installs it)"
    local b="$BATS_TEST_TMPDIR/runcbundle"
    mkdir -p "$b"
    cp -a "$ROOTFS" "$b/rootfs"
    (cd "$b" && runc spec --rootless)
    # Only what runc spec leaves to the user: no terminal, our command.
    sed -i -e 's/"terminal": true/"terminal": false/' \
        -e 's/"sh"$/"sh", "-c", "grep -E \\"^(CapEff|NoNewPrivs)\\" \/proc\/self\/status; cat \/proc\/self\/uid_map; touch \/x || echo ro-root"/' \
        "$b/config.json"
    grep -q '"-c"' "$b/config.json" || { echo "could not set the command in config.json" >&2; return 1; }
    run "$HUTCH_OCI" run --bundle "$b" "runc-$$"
    assert_status 0
    # runc's defaults: AUDIT_WRITE, KILL, NET_BIND_SERVICE; no_new_privs;
    # the user's own id alone; a read-only root.
    assert_output_has "CapEff:	0000000020000420" "NoNewPrivs:	1" "ro-root"
    assert_equal "$(printf '%s\n' "$output" | awk 'NF == 3 && $1 == 0 { print $2 }')" "$MY_UID"
}

@test "hutch-oci takes long options by their whole name only" {
    run "$HUTCH_OCI" run --bund "$BATS_TEST_TMPDIR" c1
    [ "$status" -eq 125 ]
    [[ $output == *"unknown option \`--bund\`"* ]]
}
