#!/usr/bin/env bats
# hutch info and the command front end.

load helpers

teardown() {
    # the store of the store tests: made writable again, and emptied
    # through hutch (its layers belong to subordinate ids)
    local S=$BATS_TEST_TMPDIR/store
    [ -d "$S" ] || return 0
    chmod u+w "$S" "$S/containers" 2>/dev/null || true
    empty_store "$S"
    rm -rf "$S"
}

@test "hutch info: exits 0 and reports the helpers and the subordinate range" {
    need_subids
    run "$HUTCH" info
    assert_status 0
    assert_output_has newuidmap newgidmap "$SUBUID_START"
    [[ "$output" != *problem:* ]] || {
        # a problem line is fine only for optional things; print it for the log
        printf '%s\n' "$output" | grep problem: >&2
    }
    # key: value lines
    printf '%s\n' "$output" | grep -q -E '^[a-z][a-z /_-]*: '
}

@test "hutch info: the file system of the data and runtime directories and of the store, in text and JSON" {
    run "$HUTCH" info
    assert_status 0
    local fs
    for fs in "data dir file system: " "runtime dir file system: " "image store file system: "; do
        printf '%s\n' "$output" | grep -q "^$fs[^ ]" || fail_now "no \`$fs\`: $output"
    done
    # a store in memory says so, and is a problem with a place on a disk
    [ -d /dev/shm ] && [ "$(stat -f -c %T /dev/shm)" = tmpfs ] || skip "no tmpfs at /dev/shm"
    d=$(mktemp -d /dev/shm/hutch-info.XXXXXX)
    run "$HUTCH" --root "$d/store" info
    rm -rf "$d"
    assert_output_has "image store: $d/store" "image store file system: tmpfs, in memory" \
        "problem: the image store \`$d/store\` is on a tmpfs, in memory"
    run "$HUTCH" --root "$BATS_TEST_TMPDIR/store" info --format json
    assert_status 0
    printf '%s' "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
for k in ("data_dir", "runtime_dir", "image_store"):
    assert d[k].startswith("/") and " " not in d[k], (k, d[k])
    assert d[k + "_file_system"], k
'
}

@test "hutch info: a newuidmap that is not setuid first in PATH: a problem, cannot run, and hutch run fails the same way" {
    need_subids
    local bin="$BATS_TEST_TMPDIR/bin"
    mkdir "$bin"
    cp "$(command -v newuidmap)" "$(command -v newgidmap)" "$bin/"
    PATH="$bin:$PATH" run "$HUTCH" info
    assert_status 1
    assert_output_has "problem: newuidmap at $bin/newuidmap is neither setuid root" "fix:" \
        "containers: cannot run"
    PATH="$bin:$PATH" run "$HUTCH" run --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "newuidmap at $bin/newuidmap is neither setuid root"
    # the same verdict in JSON
    PATH="$bin:$PATH" run --separate-stderr "$HUTCH" info --format json
    assert_status 1
    printf '%s\n' "$output" | python3 -c '
import json, sys
info = json.load(sys.stdin)
assert info["can_run"] is False and info["containers"] == "cannot run", info
p = [p for p in info["problems"] if "newuidmap" in p["problem"]]
assert p and p[0]["blocks_run"] and "setuid" in p[0]["problem"] and p[0]["fix"], p
'
}

# the store of $1 holds an image: a busybox rootfs imported as "ro"
store_with_image() {
    tar -C "$ROOTFS" -cf "$BATS_TEST_TMPDIR/rootfs.tar" .
    "$HUTCH" --root "$1" import "$BATS_TEST_TMPDIR/rootfs.tar" ro >/dev/null
}

@test "hutch info: a store that is not writable: a problem, cannot run, and hutch run of an image fails the same way" {
    local S=$BATS_TEST_TMPDIR/store
    store_with_image "$S"
    run "$HUTCH" --root "$S" run ro true
    assert_status 0
    chmod a-w "$S"
    run "$HUTCH" --root "$S" info
    chmod u+w "$S"
    assert_status 1
    assert_output_has "problem: the image store \`$S\` is not writable: \`$S\` is not writable by you (mode 0500" \
        "fix: \`chmod u+w $S\`" "containers: cannot run"
    chmod a-w "$S"
    run "$HUTCH" --root "$S" run ro true
    chmod u+w "$S"
    assert_status 125
    assert_output_has "the image store \`$S\` is not writable: \`$S\` is not writable by you"
    # a directory of the store too: no new container can be made there
    chmod a-w "$S/containers"
    run "$HUTCH" --root "$S" info
    local info_status=$status info_output=$output
    run "$HUTCH" --root "$S" run ro true
    chmod u+w "$S/containers"
    [ "$info_status" = 1 ] || fail_now "info: status $info_status: $info_output"
    [[ $info_output == *"problem: the image store \`$S\` is not writable: \`$S/containers\` is not writable by you"* ]] ||
        fail_now "info: $info_output"
    assert_status 125
    assert_output_has "\`$S/containers\` is not writable by you"
    empty_store "$S"
}

@test "hutch info: a store that cannot be created: a problem, cannot run, and hutch run fails the same way" {
    local P=$BATS_TEST_TMPDIR/locked
    mkdir "$P"
    chmod 0555 "$P"
    run "$HUTCH" --root "$P/store" info
    assert_status 1
    assert_output_has "problem: the image store \`$P/store\` cannot be created: \`$P\` is not writable by you (mode 0555" \
        "chmod u+w $P" "containers: cannot run"
    run "$HUTCH" --root "$P/store" run busybox true
    assert_status 125
    assert_output_has "the image store \`$P/store\` cannot be created"
    [ ! -e "$P/store" ]
    chmod 0755 "$P"
}

@test "hutch info: a store on a read-only file system: a problem, cannot run, and hutch run fails the same way" {
    command -v unshare >/dev/null || skip "unshare not installed"
    local R=$BATS_TEST_TMPDIR/rofs
    mkdir "$R"
    # a read-only bind mount in a mount namespace of our own (as root of
    # a user namespace, which hutch then is too)
    unshare -rm sh -c 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1"' _ "$R" 2>/dev/null ||
        skip "cannot make a read-only bind mount in a user namespace here"
    run unshare -rm sh -c 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" &&
        "$2" --root "$1/store" info; echo "info status $?"
        "$2" --root "$1/store" run busybox true; echo "run status $?"' _ "$R" "$HUTCH"
    assert_output_has "problem: the image store \`$R/store\` cannot be created: \`$R\` is on a read-only file system; fix:" \
        "containers: cannot run" "info status 1" "run status 125"
    # the run's own message, not only info's
    [ "$(printf '%s\n' "$output" | grep -c "^hutch: the image store \`$R/store\` cannot be created: \`$R\` is on a read-only file system")" = 1 ]
}

@test "hutch info: hutch-init, hutch-slirp and hutch-monitor are found beside hutch, as hutch run finds them" {
    run "$HUTCH" info
    assert_output_has "hutch-init: $(dirname "$HUTCH")/hutch-init" "hutch-slirp: $(dirname "$HUTCH")/hutch-slirp" \
        "hutch-monitor: $(dirname "$HUTCH")/hutch-monitor"
}

@test "hutch info: hutch without its helpers: problems, cannot run, and hutch run --init / --network slirp fail the same way" {
    local A=$BATS_TEST_TMPDIR/alone p
    mkdir "$A"
    cp "$HUTCH" "$A/hutch"
    run "$A/hutch" info
    assert_status 1
    assert_output_has "containers: cannot run"
    # where it looked: not beside the copy, and nothing runnable there
    # (else this test would prove nothing)
    for h in hutch-init hutch-slirp hutch-monitor; do
        p=$(printf '%s\n' "$output" | sed -n "s/^$h: \(.*\) (cannot be run)\$/\1/p")
        [ -n "$p" ] || fail_now "no '$h: PATH (cannot be run)' line: $output"
        [ "$(dirname "$p")" != "$A" ] && [ ! -x "$p" ] || fail_now "$h: $p"
        assert_output_has "problem: $h cannot be run: \`$p\`" "beside its own binary"
    done
    assert_output_has "or run without --init" "or use --network none" "or run in the foreground (without -d)"
    run "$A/hutch" --root "$BATS_TEST_TMPDIR/store" run -d --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "hutch-monitor cannot be run"
    run "$A/hutch" --root "$BATS_TEST_TMPDIR/store" ps -aq
    assert_equal "$output" ""
    run "$A/hutch" run --init --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "hutch-init cannot be run"
    run "$A/hutch" run --network slirp --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "hutch-slirp cannot be run"
    # what needs neither still runs
    run "$A/hutch" run --rootfs "$ROOTFS" echo ran
    assert_status 0
    assert_equal "$output" ran
}

@test "helpers beside hutch in a directory others can write to are not run: a warning names why" {
    # a copy of hutch in a shared directory (1777, as /tmp): another user
    # could have planted hutch-slirp or hutch-init beside it
    local S=$BATS_TEST_TMPDIR/shared
    mkdir "$S"
    chmod 1777 "$S"
    cp "$HUTCH" "$S/hutch"
    for h in hutch-slirp hutch-init; do
        printf '#!/bin/sh\ntouch %s/PLANTED-%s\nexec true\n' "$S" "$h" > "$S/$h"
        chmod 0755 "$S/$h"
    done
    run "$S/hutch" run --init --network slirp --rootfs "$ROOTFS" true
    [ ! -e "$S/PLANTED-hutch-slirp" ] && [ ! -e "$S/PLANTED-hutch-init" ] ||
        fail_now "a planted helper ran: $output"
    assert_output_has "not running hutch-slirp from \`$S/hutch-slirp\`: others can write to \`$S\` (mode 1777)"
    run "$S/hutch" info
    [ ! -e "$S/PLANTED-hutch-slirp" ]
    assert_output_has "not running hutch-init from" "not running hutch-slirp from"
    # the same copy in a directory of the user's own is trusted
    chmod 0755 "$S"
    run "$S/hutch" info
    assert_output_has "hutch-slirp: $S/hutch-slirp"
}

@test "hutch info --format json: one object with every fact and the verdict, as the text has them" {
    run --separate-stderr "$HUTCH" info
    local text_status=$status text=$output
    run --separate-stderr "$HUTCH" info --format json
    assert_status "$text_status"
    printf '%s\n' "$output" | python3 -m json.tool >/dev/null
    printf '%s\n' "$output" | TEXT="$text" python3 -c '
import json, os, sys
info = json.load(sys.stdin)
text = os.environ["TEXT"].splitlines()
verdict = [l for l in text if l.startswith("containers: ")][-1][len("containers: "):]
assert info["containers"] == verdict, (info["containers"], verdict)
assert info["can_run"] == (verdict == "can run")
facts = [l.split(": ", 1) for l in text if not l.startswith(("problem: ", "containers: "))]
for k, v in facts:
    key = "".join(c if c.isalnum() else "_" for c in k.lower()).strip("_")
    while "__" in key:
        key = key.replace("__", "_")
    assert info.get(key) == v, (key, info.get(key), v)
problems = [l[len("problem: "):] for l in text if l.startswith("problem: ")]
assert len(problems) == len(info["problems"]), (problems, info["problems"])
for t, p in zip(problems, info["problems"]):
    assert t == p["problem"] + ("; fix: " + p["fix"] if p["fix"] else ""), (t, p)
'
    run "$HUTCH" info --format yaml
    assert_status 125
    assert_output_has "expected text or json"
}

@test "hutch version, and --format json as podman prints it" {
    local v
    v=$("$HUTCH" --version | awk '{ print $2 }')
    run "$HUTCH" version
    assert_status 0
    assert_output_has "Version:           $v" "OCI Runtime Spec:  " "OS/Arch:           linux/"
    run --separate-stderr "$HUTCH" version --format json
    assert_status 0
    printf '%s\n' "$output" | python3 -m json.tool >/dev/null
    local spec
    spec=$("$HUTCH_OCI" --version | sed -n 's/^spec: //p')
    printf '%s\n' "$output" | V="$v" SPEC="$spec" python3 -c '
import json, os, sys
c = json.load(sys.stdin)["Client"]
assert c["Version"] == os.environ["V"], c
assert c["OCIRuntimeSpecVersion"] == os.environ["SPEC"], c
assert c["Os"] == "linux" and c["OsArch"].startswith("linux/"), c
assert "APIVersion" not in c and "GoVersion" not in c, c
'
    run "$HUTCH" help version
    assert_status 0
    assert_output_has "--format"
    run "$HUTCH" version --format yaml
    assert_status 125
    run "$HUTCH" version extra
    assert_status 125
    run "$HUTCH" --help
    assert_output_has "  version "
}

# v1_holds CONTROLLER: a cgroup v1 hierarchy holds it (a hybrid or v1 host)
v1_holds() {
    awk -v c="$1" '{ for (i = 7; i < NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup" && ("," $(i + 3) ",") ~ ("," c ",")) f = 1; break } } END { exit !f }' /proc/self/mountinfo
}

@test "limits on a hybrid host: hutch run and hutch info say the unified cgroup v2 hierarchy is needed, not delegation" {
    v1_holds memory || skip "cgroup v1 does not hold the memory controller here (a unified cgroup v2 host)"
    run "$HUTCH" run --memory 64m --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "cannot apply the limits (memory.max): this host mounts cgroups in hybrid mode, and cgroup v1 holds the memory controller" \
        "fix: an administrator boots the host with systemd.unified_cgroup_hierarchy=1"
    [[ $output != *systemd-run* && $output != *"not delegated"* ]] || fail_now "sends to delegation: $output"
    run "$HUTCH" info
    assert_output_has "limits: not possible on this host" \
        "problem: this host mounts cgroups in hybrid mode, and cgroup v1 holds the memory" \
        "fix: an administrator boots the host with systemd.unified_cgroup_hierarchy=1"
}

@test "hutch info: exits 1 with the fix when no container can run" {
    command -v unshare >/dev/null || skip "unshare not installed"
    unshare --user --map-root-user sh -c 'echo 0 > /proc/sys/user/max_user_namespaces' 2>/dev/null ||
        skip "cannot lower user.max_user_namespaces in a child user namespace here"
    run unshare --user --map-root-user sh -c 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" info' "$HUTCH"
    assert_status 1
    assert_output_has "user namespaces: no" "problem:" "fix:" "max_user_namespaces" "containers: cannot run"
}

@test "hutch --help, --version, help run" {
    run "$HUTCH" --help
    assert_status 0
    assert_output_has run info
    run "$HUTCH" --version
    assert_status 0
    assert_output_has hutch
    run "$HUTCH" run --help
    assert_status 0
    assert_output_has --rootfs --userns --read-only
    run "$HUTCH" help run
    assert_status 0
    assert_output_has --rootfs
    run "$HUTCH_OCI" --help
    assert_status 0
    assert_output_has bundle
}

@test "hutch info: seccomp filters, and the fix when the kernel takes none" {
    run "$HUTCH" info
    assert_status 0
    assert_output_has "seccomp: filters available (libseccomp "
    # a kernel without seccomp filters, as hutch info sees it: a filter
    # around it that makes seccomp(2) fail
    local p=$BATS_TEST_TMPDIR/noseccomp.json
    printf '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["seccomp"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22}]}' > "$p"
    run "$HUTCH" --root "$BATS_TEST_TMPDIR/store" run --security-opt "seccomp=$p" -- "$HUTCH" info
    assert_output_has "seccomp: no filters" "problem: the kernel takes no seccomp filters" "fix:" "seccomp=unconfined"
}
