#!/usr/bin/env bats
# The VM environment itself (tests/vm/run): an unprivileged user, pure
# cgroup v2, a delegated cgroup whose controllers really work for that user,
# and a container that runs.  When one of these fails, the other tests of
# tests/vm say nothing about hutch.

bats_require_minimum_version 1.5.0

: "${HUTCH:?HUTCH is not set (run the suite through tests/vm/run)}"
: "${ROOTFS:?ROOTFS is not set (run the suite through tests/vm/run)}"
: "${HUTCH_CGROUP_DELEGATED:?HUTCH_CGROUP_DELEGATED is not set (run the suite through tests/vm/run)}"

D=$HUTCH_CGROUP_DELEGATED

@test "the tests run as an unprivileged user" {
    [ "$(id -u)" != 0 ]
    [ "$(id -un)" = hutchtest ]
    # no capabilities in the initial user namespace either
    run grep '^CapEff:' /proc/self/status
    [ "$status" -eq 0 ]
    [ "$output" = "CapEff:	0000000000000000" ]
}

@test "/sys/fs/cgroup is a pure cgroup v2 hierarchy" {
    [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]
    # nothing (v1 or otherwise) mounted below it
    run awk '$5 ~ "^/sys/fs/cgroup/" { print $5 }' /proc/self/mountinfo
    [ "$status" -eq 0 ]
    [ -z "$output" ]
}

@test "the delegated cgroup has the memory, pids and cpu controllers" {
    [ -d "$D" ]
    [[ $D == /sys/fs/cgroup/* ]]
    run cat "$D/cgroup.controllers"
    [ "$status" -eq 0 ]
    echo "controllers: $output"
    for c in memory pids cpu; do
        [[ " $output " == *" $c "* ]]
    done
    # delegated: the user owns it and the files that make it so
    [ "$(stat -c %u "$D")" = "$(id -u)" ]
    [ -w "$D/cgroup.procs" ]
    [ -w "$D/cgroup.subtree_control" ]
    # and it holds no process itself (so controllers can be enabled in it)
    [ -z "$(cat "$D/cgroup.procs")" ]
}

@test "the tests run in tests.scope under the delegated cgroup" {
    run cat /proc/self/cgroup
    [ "$status" -eq 0 ]
    echo "cgroup: $output"
    # one v2 line: 0::PATH, and PATH is D/tests.scope
    [ "$output" = "0::${D#/sys/fs/cgroup}/tests.scope" ]
    # and nothing but the user's processes is there (a root process would
    # make the user's own writes to cgroup files fail: cpuset, for one)
    local pid uid
    for pid in $(cat "$D/tests.scope/cgroup.procs"); do
        uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || continue
        [ -z "$uid" ] || [ "$uid" = "$(id -u)" ] || {
            echo "process $pid of uid $uid in tests.scope: $(tr '\0' ' ' < "/proc/$pid/cmdline")"
            return 1
        }
    done
}

@test "hutch runs a container from a directory as this user" {
    run "$HUTCH" --root "$BATS_TEST_TMPDIR/store" run --rootfs "$ROOTFS" -- /bin/echo hello
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = hello ]
}

@test "/dev/fuse and /dev/net/tun are usable, and lo is up" {
    # what fuse-overlayfs and hutch-slirp need, as a distribution sets it up
    for dev in /dev/fuse /dev/net/tun; do
        [ -c "$dev" ]
        [ -r "$dev" ] && [ -w "$dev" ]
    done
    run cat /sys/class/net/lo/operstate /sys/class/net/lo/flags
    echo "$output"
    # IFF_UP is bit 0 of the flags
    [ $(( $(sed -n 2p <<< "$output") & 1 )) = 1 ]
}

# ---- a controller at work, by hand -----------------------------------------

# the child cgroup of the pids test, and whether that test enabled +pids in D
PIDS_CHILD=$D/smoke-pids
PIDS_ENABLED=$BATS_FILE_TMPDIR/pids-enabled

teardown() {
    # the child: empty once the forker has exited and its children have been
    # reaped, which the kernel may finish a moment after waitpid returns
    if [ -d "$PIDS_CHILD" ]; then
        for _ in $(seq 1 50); do
            rmdir "$PIDS_CHILD" 2>/dev/null && break
            sleep 0.1
        done
    fi
    # leave D's subtree_control as we found it, for the tests after this one
    if [ -e "$PIDS_ENABLED" ]; then
        echo -pids > "$D/cgroup.subtree_control" || true
        rm -f "$PIDS_ENABLED"
    fi
}

@test "pids.max in a child of the delegated cgroup stops a fork bomb" {
    command -v python3 >/dev/null || skip "python3 not installed"
    # Controllers in a child are the user's to enable: D's subtree_control
    # is delegated.
    if ! grep -qw pids "$D/cgroup.subtree_control"; then
        echo +pids > "$D/cgroup.subtree_control"
        touch "$PIDS_ENABLED"
    fi
    mkdir "$PIDS_CHILD"
    [ -e "$PIDS_CHILD/pids.max" ]
    echo 5 > "$PIDS_CHILD/pids.max"

    # The forker moves itself into the child and forks until the kernel
    # says no (python, not a shell: bash retries a failed fork for ~30 s).
    # It counts as one of the 5, so 4 forks succeed.  Its children wait on a
    # pipe, and exit when it closes.
    run python3 -c '
import errno, os, sys
with open(sys.argv[1] + "/cgroup.procs", "w") as f:
    f.write(str(os.getpid()))
r, w = os.pipe()
kids = []
err = None
for i in range(20):
    try:
        pid = os.fork()
    except OSError as e:
        err = errno.errorcode.get(e.errno, str(e.errno))
        break
    if pid == 0:
        os.close(w)
        os.read(r, 1)
        os._exit(0)
    kids.append(pid)
with open(sys.argv[1] + "/pids.current") as f:
    current = f.read().strip()
os.close(w)
for pid in kids:
    os.waitpid(pid, 0)
print("forked", len(kids), "then", err, "current", current)
' "$PIDS_CHILD"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "forked 4 then EAGAIN current 5" ]
    # the kernel counted the refusal
    run grep '^max ' "$PIDS_CHILD/pids.events"
    [ "$output" != "max 0" ]
    [ -n "$output" ]
}
