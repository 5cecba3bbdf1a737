#!/usr/bin/env bats
# Escapes through the cgroup file system: moving out of the container's
# cgroup (out of its limits), writing cgroup files above it, and the cgroup
# v1 release_agent, which the kernel runs as root on the host
# (CVE-2022-0492).  The kernel reports where a process is in
# /proc/self/cgroup, relative to the root of its cgroup namespace: "0::/"
# is the container's own cgroup, "0::/.." would be its parent.

load helpers
load common

setup_file() {
    sec_setup_file
}

setup() {
    T=$BATS_TEST_TMPDIR
}

# the host's v1 release_agent files and their contents
release_agents() {
    local f
    for f in /sys/fs/cgroup/*/release_agent /sys/fs/cgroup/release_agent; do
        [ -r "$f" ] && printf '%s: %s\n' "$f" "$(cat "$f")"
    done
    return 0
}

# the files of the delegated cgroup that a container above its own could
# change (its own cgroup.procs changes as the tests' processes come and go)
deleg_state() {
    local d=${HUTCH_CGROUP_DELEGATED:-}
    [ -n "$d" ] && [ -d "$d" ] || return 0
    cat "$d"/cgroup.subtree_control "$d"/cgroup.max.depth "$d"/cgroup.max.descendants \
        "$d"/*.max "$d"/*.high 2>/dev/null || true
}

@test "the container stays in its own cgroup: moving out, writing cgroup files or mounting a cgroup fails (--rootfs and host sandbox)" {
    local before o
    before=$(deleg_state)
    for o in "--rootfs $SROOTFS" "--"; do
        cd "$T"
        # shellcheck disable=SC2086
        run hrun $o sh -c '
            for f in /sys/fs/cgroup/cgroup.procs /sys/fs/cgroup/../cgroup.procs /sys/fs/cgroup/cgroup.threads; do
                { echo 0 > $f; } 2>/dev/null && echo "wrote $f"
            done
            for f in /sys/fs/cgroup/*.max /sys/fs/cgroup/*.high /sys/fs/cgroup/cgroup.subtree_control; do
                [ -e "$f" ] || continue
                { echo max > $f; } 2>/dev/null && echo "wrote $f"
            done
            mkdir /sys/fs/cgroup/escape 2>/dev/null && echo "made a cgroup"
            mkdir -p /tmp/cg && mount -t cgroup2 none /tmp/cg 2>/dev/null && echo "mounted cgroup2"
            grep "^0::" /proc/self/cgroup'
        assert_status 0
        assert_no_line '^(wrote|made|mounted)'
        assert_line_is "0::/"
    done
    assert_equal "$(deleg_state)" "$before"
}

@test "--privileged, cgroup file system read-write: a fresh cgroup2 mount is rooted at the container's cgroup, nothing above it can be named or entered" {
    # without delegation the container shares its caller's cgroup (and
    # that is the root of its cgroup namespace): nothing of its own to check
    local d=${HUTCH_CGROUP_DELEGATED:-}
    [ -n "$d" ] || skip "no delegated cgroup (run the suite as root: setup.sh makes one)"
    [ -w "$d/cgroup.procs" ] || skip "$d is not delegated to $MY_USER"
    local before
    before=$(deleg_state)
    run hrun --privileged --rootfs "$SROOTFS" sh -c '
        mkdir -p /tmp/cg && mount -t cgroup2 none /tmp/cg && echo mounted
        # processes outside the PID namespace would show as 0
        cat /tmp/cg/cgroup.procs /tmp/cg/../cgroup.procs /sys/fs/cgroup/cgroup.procs | sort -u | sed "s/^/proc /"
        for f in /tmp/cg/../cgroup.procs /sys/fs/cgroup/../cgroup.procs /sys/fs/cgroup/../../cgroup.procs; do
            echo 0 > $f
        done
        grep "^0::" /proc/self/cgroup'
    assert_status 0
    assert_line_is mounted
    assert_no_line '^proc 0$'
    assert_line_is "0::/"
    assert_equal "$(deleg_state)" "$before"
}

@test "cgroup v1 release_agent and notify_on_release cannot be written, even --privileged (CVE-2022-0492); the host's are unchanged" {
    local before
    before=$(release_agents)
    run hrun --privileged --rootfs "$SROOTFS" sh -c '
        mkdir -p /tmp/v1
        for c in $(awk "NR > 1 { print \$1 }" /proc/cgroups) none,name=hutchescape; do
            mount -t cgroup -o "$c" cgroup /tmp/v1 2>/dev/null || continue
            echo "mounted $c"
            { echo /pwned > /tmp/v1/release_agent; } 2>/dev/null && echo "wrote release_agent of $c"
            { echo 1 > /tmp/v1/notify_on_release; } 2>/dev/null && echo "wrote notify_on_release of $c"
            mkdir /tmp/v1/escape 2>/dev/null && { echo "made a cgroup in $c"; rmdir /tmp/v1/escape; }
            umount /tmp/v1
        done
        echo done'
    assert_status 0
    assert_line_is done
    assert_no_line '^(wrote|made)'
    assert_equal "$(release_agents)" "$before"
}
