#!/usr/bin/env bats
# Nothing is left behind: files, mounts, processes.

load helpers

teardown() {
    if [ -n "${HPID:-}" ]; then
        kill -KILL "$HPID" 2>/dev/null || true
        wait "$HPID" 2>/dev/null || true
    fi
    # never leave a container behind even when the test failed
    local p
    for p in $(pids_of_cmdline 'sleep 1234\.5'); do
        kill -KILL "$p" 2>/dev/null || true
    done
}

# hutch_dirs: the runtime and data directories `hutch info` names
hutch_dirs() {
    "$HUTCH" info 2>/dev/null | awk -F': ' '/^(runtime|data) dir: \// { split($2, a, " "); print a[1] }'
}

# my_tmp_entries: what the user owns directly in /tmp and $TMPDIR, and
# everything in hutch's runtime and data directories
my_tmp_entries() {
    local d
    for d in /tmp "${TMPDIR:-/tmp}" ${XDG_RUNTIME_DIR:+"$XDG_RUNTIME_DIR"}; do
        find "$d" -mindepth 1 -maxdepth 1 -user "$MY_UID" 2>/dev/null
    done | sort -u
    for d in $(hutch_dirs); do
        find "$d" -mindepth 1 2>/dev/null | sort
    done
}

@test "a finished run leaves no temporary files or mounts" {
    local before after vol="$BATS_TEST_TMPDIR/vol"
    mkdir "$vol"
    # the seccomp filter cache is kept on purpose (not a temporary file):
    # filled first, so that a run of this file alone (fresh binaries, a
    # cold cache) compares like a run after other files
    # (with --rm: a container's record is not a temporary file)
    "$HUTCH" run --rm --rootfs "$ROOTFS" true
    before=$(my_tmp_entries)
    run "$HUTCH" run --rm --tmpfs /data -v "$vol:/vol" --rootfs "$ROOTFS" sh -c 'echo hi'
    assert_status 0
    run "$HUTCH" run --rm --rootfs "$ROOTFS" false
    assert_status 1
    run "$HUTCH" run --rm --init --rootfs "$ROOTFS" true
    assert_status 0
    after=$(my_tmp_entries)
    assert_equal "$after" "$before"
    run grep -F -- " $ROOTFS" /proc/self/mountinfo
    assert_status 1
}

@test "a failed run (error 125) leaves no temporary files" {
    local before after
    before=$(my_tmp_entries)
    run "$HUTCH" run -u nosuchuser --rootfs "$ROOTFS" true
    assert_status 125
    after=$(my_tmp_entries)
    assert_equal "$after" "$before"
}

@test "kill -9 of hutch: the container's processes go away" {
    local out="$BATS_TEST_TMPDIR/out"
    "$HUTCH" run --rootfs "$ROOTFS" sleep 1234.5 > "$out" 2>&1 3>&- &
    HPID=$!
    wait_for has_cmdline 'sleep 1234\.5'
    is_alive "$HPID"
    kill -KILL "$HPID"
    wait_exit "$HPID" 5
    HPID=
    # within a few seconds
    wait_for no_cmdline 'sleep 1234\.5' || {
        echo "still running after 10 s:" >&2
        ps -o pid,ppid,user,args -p "$(pids_of_cmdline 'sleep 1234\.5' | paste -sd,)" >&2
        return 1
    }
}

@test "kill -9 of hutch with --init: the container's processes go away" {
    local out="$BATS_TEST_TMPDIR/out"
    "$HUTCH" run --init --rootfs "$ROOTFS" sh -c 'sleep 1234.5 & sleep 1234.5' > "$out" 2>&1 3>&- &
    HPID=$!
    wait_for has_cmdline 'sleep 1234\.5' 2
    is_alive "$HPID"
    kill -KILL "$HPID"
    wait_exit "$HPID" 5
    HPID=
    wait_for no_cmdline 'sleep 1234\.5' || {
        echo "still running after 10 s:" >&2
        ps -o pid,ppid,user,args -p "$(pids_of_cmdline 'sleep 1234\.5' | paste -sd,)" >&2
        return 1
    }
}
