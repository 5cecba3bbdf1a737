#!/usr/bin/env bats
# Ways out that a hostile container or root filesystem may try, and the
# defaults that stop them.  Each test checks the attempt fails and the host
# is untouched.

load helpers

teardown() {
    if [ -n "${BGPID:-}" ]; then
        kill -KILL "$BGPID" 2>/dev/null || true
        wait "$BGPID" 2>/dev/null || true
    fi
}

@test "capabilities: root in the container has Docker's default set, not CAP_SYS_ADMIN" {
    run "$HUTCH" run --rootfs "$ROOTFS" grep -E '^Cap(Eff|Prm|Bnd):' /proc/self/status
    assert_status 0
    # CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
    # NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP
    assert_output_has "CapEff:	00000000a80425fb" "CapPrm:	00000000a80425fb" "CapBnd:	00000000a80425fb"
}

@test "capabilities: a non-root user has none in effect" {
    run "$HUTCH" run --rootfs "$ROOTFS" -u 1000 grep -E '^Cap(Eff|Prm):' /proc/self/status
    assert_status 0
    assert_output_has "CapEff:	0000000000000000" "CapPrm:	0000000000000000"
}

@test "no_new_privs is set" {
    run "$HUTCH" run --rootfs "$ROOTFS" grep '^NoNewPrivs:' /proc/self/status
    assert_status 0
    assert_output_has "NoNewPrivs:	1"
}

@test "--cap-drop ALL leaves nothing; --cap-drop CHOWN takes chown away" {
    run "$HUTCH" run --cap-drop ALL --rootfs "$ROOTFS" grep -E '^Cap(Eff|Prm|Bnd):' /proc/self/status
    assert_status 0
    assert_output_has "CapEff:	0000000000000000" "CapPrm:	0000000000000000" "CapBnd:	0000000000000000"
    run "$HUTCH" run --cap-drop chown --rootfs "$(fresh_rootfs)" sh -c 'grep ^CapEff: /proc/self/status; touch /f; chown 5 /f && echo chowned'
    assert_output_has "CapEff:	00000000a80425fa"
    [[ $output != *chowned* ]]
    # ALL in --cap-drop, then what --cap-add names
    run "$HUTCH" run --cap-drop ALL --cap-add CAP_KILL --rootfs "$ROOTFS" grep ^CapEff: /proc/self/status
    assert_equal "$output" "CapEff:	0000000000000020"
    # ALL in --cap-add, but not what --cap-drop names (SYS_ADMIN is bit 21)
    local last all
    last=$(cat /proc/sys/kernel/cap_last_cap)
    all=$(( (1 << (last + 1)) - 1 ))
    run "$HUTCH" run --cap-add ALL --cap-drop SYS_ADMIN --rootfs "$ROOTFS" grep ^CapEff: /proc/self/status
    assert_equal "$output" "CapEff:	$(printf '%016x' $(( all & ~(1 << 21) )))"
    # comma lists, as podman takes them: NET_RAW (13) and KILL (5) go
    run "$HUTCH" run --cap-drop net_raw,kill --rootfs "$ROOTFS" grep ^CapEff: /proc/self/status
    assert_equal "$output" "CapEff:	00000000a80405db"
}

@test "--cap-add SYS_ADMIN: root inside may mount (in its own namespaces only)" {
    run "$HUTCH" run --cap-add sys_admin --rootfs "$ROOTFS" sh -c 'grep ^CapEff: /proc/self/status; mkdir -p /tmp/m && mount -t tmpfs none /tmp/m && echo mounted'
    assert_status 0
    assert_output_has "CapEff:	00000000a82425fb" "mounted"
}

@test "a non-root user gets added capabilities through the ambient set, and only those" {
    run "$HUTCH" run --cap-add NET_BIND_SERVICE -u 1000 --rootfs "$ROOTFS" grep -E '^Cap(Eff|Amb|Bnd):' /proc/self/status
    assert_status 0
    assert_output_has "CapEff:	0000000000000400" "CapAmb:	0000000000000400" "CapBnd:	00000000a80425fb"
}

@test "--privileged: every capability, nothing masked, /sys writable; nothing more on the host" {
    local last mask
    last=$(cat /proc/sys/kernel/cap_last_cap)
    mask=$(printf '%016x' $(( (1 << (last + 1)) - 1 )))
    run "$HUTCH" run --privileged --rootfs "$ROOTFS" sh -c '
        grep -E "^Cap(Eff|Bnd):" /proc/self/status
        grep -cE " /proc/(keys|sys|timer_list) " /proc/self/mountinfo
        grep " /sys " /proc/self/mountinfo | cut -d" " -f6'
    assert_status 0
    assert_output_has "CapEff:	$mask" "CapBnd:	$mask"
    assert_equal "${lines[2]}" 0
    [[ ${lines[3]} == rw* ]]
    # the capabilities are the user namespace's: the host's hostname and
    # clock stay out of reach
    # (busybox's date -s says "can't set date" and exits 0)
    run "$HUTCH" run --privileged --rootfs "$ROOTFS" sh -c 'date -s 2001-01-01 >/dev/null 2>&1; date +%Y; hostname other 2>/dev/null; true'
    assert_status 0
    assert_equal "$output" "$(date +%Y)"
    [ "$(date +%Y)" -ge 2024 ]
    [ "$(hostname)" != other ]
}

@test "masked and read-only paths by default, as Docker" {
    run "$HUTCH" run --rootfs "$ROOTFS" sh -c '
        for p in /proc/keys /proc/timer_list /proc/sched_debug /proc/interrupts; do
            [ -e $p ] || continue
            [ -s $p ] && echo "$p readable"
        done
        ls /sys/firmware | wc -l
        grep " /proc/sys " /proc/self/mountinfo | cut -d" " -f6
        { echo 1 > /proc/sys/net/ipv4/ip_forward; } 2>/dev/null && echo wrote-proc-sys
        true'
    assert_status 0
    assert_equal "$output" "0
ro,nosuid,nodev,noexec,relatime"
}

@test "no_new_privs can be turned off; unknown --security-opt values are refused" {
    run "$HUTCH" run --security-opt no-new-privileges=false --rootfs "$ROOTFS" grep '^NoNewPrivs:' /proc/self/status
    assert_status 0
    assert_equal "$output" "NoNewPrivs:	0"
    run "$HUTCH" run --security-opt no-new-privileges --rootfs "$ROOTFS" grep '^NoNewPrivs:' /proc/self/status
    assert_equal "$output" "NoNewPrivs:	1"
    local opt
    for opt in seccomp= label=bogus label=type: apparmor=unconfined no-new-privileges=maybe; do
        run "$HUTCH" run --security-opt "$opt" --rootfs "$ROOTFS" true
        assert_status 125
        assert_output_has "--security-opt \`$opt\`"
    done
    # hutch sets no SELinux label: label=disable is what it does anyway
    run "$HUTCH" run --security-opt label=disable --rootfs "$ROOTFS" true
    assert_status 0
    run "$HUTCH" run --cap-add NO_SUCH_CAP --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "--cap-add \`NO_SUCH_CAP\`: unknown capability"
    run "$HUTCH" run --cap-drop '' --rootfs "$ROOTFS" true
    assert_status 125
    # libcap reads a leading name and ignores the rest: hutch does not
    local bad
    for bad in "sys_admin=ep" "net_admin;" "NET_RAW SETUID" "net_raw,"; do
        run "$HUTCH" run --cap-drop "$bad" --rootfs "$ROOTFS" true
        assert_status 125
        assert_output_has "unknown capability"
    done
}

@test "a read-only volume cannot be remounted read-write" {
    mkdir "$BATS_TEST_TMPDIR/vol"
    echo original > "$BATS_TEST_TMPDIR/vol/file"
    run "$HUTCH" run --rootfs "$ROOTFS" -v "$BATS_TEST_TMPDIR/vol:/data:ro" \
        sh -c 'mount -o remount,rw,bind /data; echo changed > /data/file'
    [ "$status" -ne 0 ]
    assert_equal "$(cat "$BATS_TEST_TMPDIR/vol/file")" original
}

@test "a read-only root cannot be remounted read-write" {
    local r
    r=$(fresh_rootfs)
    run "$HUTCH" run --read-only --rootfs "$r" sh -c 'mount -o remount,rw,bind /; touch /escaped'
    [ "$status" -ne 0 ]
    [ ! -e "$r/escaped" ]
}

@test "the container cannot mount filesystems" {
    run "$HUTCH" run --rootfs "$ROOTFS" mount -t tmpfs none /mnt
    [ "$status" -ne 0 ]
}

@test "a working directory that is a symlink to a leaked fd does not reach the host" {
    local r
    r=$(fresh_rootfs)
    echo TOPSECRET > "$BATS_TEST_TMPDIR/secret"
    ln -s /proc/self/fd/7 "$r/work"
    # fd 7 is open in hutch's environment; it must not be usable inside.
    run bash -c 'exec 7<"$1"; exec "$2" run --read-only --rootfs "$3" -w /work cat /proc/self/cwd/../../secret' \
        _ "$BATS_TEST_TMPDIR/secret" "$HUTCH" "$r"
    [ "$status" -ne 0 ]
    if printf '%s\n' "$output" | grep -q TOPSECRET; then
        echo "the host file was read through the working directory" >&2
        return 1
    fi
}

@test "fds open in hutch's caller are not inherited by the container" {
    run bash -c 'exec 7<"$1"; exec "$2" run --rootfs "$3" ls /proc/self/fd' \
        _ /etc/hostname "$HUTCH" "$ROOTFS"
    assert_status 0
    # 0, 1, 2 and the fd of ls's own directory listing
    if printf '%s\n' "$output" | grep -qx 7; then
        echo "fd 7 leaked into the container: $output" >&2
        return 1
    fi
}

@test "a volume destination behind an absolute symlink stays inside the root" {
    local r
    r=$(fresh_rootfs)
    mkdir "$BATS_TEST_TMPDIR/vol" "$BATS_TEST_TMPDIR/victim"
    ln -s "$BATS_TEST_TMPDIR/victim" "$r/evil"
    run "$HUTCH" run --rootfs "$r" -v "$BATS_TEST_TMPDIR/vol:/evil/x" true
    # Either way the host's directory behind the symlink gets no mount point.
    [ ! -e "$BATS_TEST_TMPDIR/victim/x" ]
}

@test "a FIFO at /etc/passwd does not hang hutch" {
    local r
    r=$(fresh_rootfs)
    rm "$r/etc/passwd"
    mkfifo "$r/etc/passwd"
    run timeout 20 "$HUTCH" run --rootfs "$r" -u alice id
    assert_status 125
    assert_output_has "not found"
}

@test "a dangling /etc/resolv.conf symlink in the image is followed inside the root" {
    local r
    r=$(fresh_rootfs)
    rm -f "$r/etc/resolv.conf"
    ln -s ../run/resolve/stub-resolv.conf "$r/etc/resolv.conf"
    run "$HUTCH" run --rootfs "$r" cat /etc/resolv.conf
    assert_status 0
    assert_output_has "no network"
    # the mount point was made inside the root, where the link points
    [ -e "$r/run/resolve/stub-resolv.conf" ]
}

@test "hutch killed with SIGKILL takes a container running as another user with it" {
    "$HUTCH" run --rootfs "$ROOTFS" -u 1000 sleep 4242.5 &
    BGPID=$!
    wait_for has_cmdline 'sleep 4242.5' || pgrep -a -f 4242 >&2 || true
    has_cmdline 'sleep 4242.5' || {
        # the process runs as a subordinate uid: look for it across users
        pgrep -f '^sleep 4242.5$' >/dev/null
    }
    kill -KILL "$BGPID"
    wait "$BGPID" 2>/dev/null || true
    BGPID=
    wait_for sh -c '! pgrep -f "^sleep 4242.5\$" >/dev/null'
}

@test "an inherited SIGCHLD=SIG_IGN does not break hutch" {
    run bash -c 'trap "" CHLD; exec "$1" run --rootfs "$2" sh -c "exit 5"' _ "$HUTCH" "$ROOTFS"
    assert_status 5
    run timeout 20 bash -c 'trap "" CHLD; exec "$1" run --userns=single --rootfs "$2" true' _ "$HUTCH" "$ROOTFS"
    assert_status 0
}

@test "-i -t with a large input does not stall" {
    run timeout 30 bash -c 'seq 1 20000 | "$1" run -i -t --rootfs "$2" sh -c "cat >/dev/null; echo done-reading"' \
        _ "$HUTCH" "$ROOTFS"
    assert_status 0
    assert_output_has "done-reading"
}

@test "-i -t: the last line of input without a newline still ends the input" {
    run timeout 20 bash -c 'printf "abc" | "$1" run -i -t --rootfs "$2" sh -c "wc -c"' _ "$HUTCH" "$ROOTFS"
    assert_status 0
    assert_output_has "3"
}

@test "--init: a command that does not exist gives 127 even when stderr is full" {
    run bash -c '"$1" run --init --rootfs "$2" nosuchcommand 2>/dev/full' _ "$HUTCH" "$ROOTFS"
    assert_status 127
}

@test "keep-id keeps the user's supplementary groups" {
    id -nG | grep -qw hutchshare || skip "the test user is not in group hutchshare (run setup.sh)"
    [ -r /var/lib/hutch-test-shared/f ] || skip "/var/lib/hutch-test-shared/f is missing (run setup.sh)"
    cd "$BATS_TEST_TMPDIR"
    run "$HUTCH" run -v /var/lib/hutch-test-shared:/shared -- cat /shared/f
    assert_status 0
    assert_output_has group-only
}

@test "/proc/1/exe with --init leads to a sealed copy of hutch-init, not the host's file (CVE-2019-5736 class)" {
    local init=$HUTCH_INIT_DIR/hutch-init before after
    before=$(sha256sum < "$init")
    run "$HUTCH" run --init --cap-add SYS_PTRACE --rootfs "$ROOTFS" sh -c '
        readlink /proc/1/exe
        { echo pwned > /proc/1/exe; } 2>/dev/null && echo wrote
        { exec 3< /proc/1/exe; } 2>/dev/null && { echo pwned >> /proc/self/fd/3; } 2>/dev/null && echo wrote-through-fd
        true'
    assert_status 0
    assert_equal "${lines[0]}" "/memfd:hutch-init (deleted)"
    [[ $output != *wrote* ]]
    after=$(sha256sum < "$init")
    [ "$before" = "$after" ]
}
