#!/usr/bin/env bats
# What a container still cannot do when it shares something with the host
# (issue 14's flags): the host's PID namespace and /proc (--pid host), its
# hostname (--uts host), a device node of the host (--device), the host's
# zone file (--tz).  Each is tried with every capability the container can
# hold; the host is checked afterwards.

load helpers
load common

setup_file() {
    sec_setup_file tracer
}

setup() {
    need_helpers
    BGPIDS=()
    T=$BATS_TEST_TMPDIR
}

teardown() {
    kill_bgpids
}

@test "--pid host: the user's own host processes cannot be traced or read, with every capability" {
    SECRET_OF_THE_HOST=hidden sleep 300.5 3>&- &
    local sleeper=$! o
    BGPIDS+=("$sleeper")
    for o in "" "--cap-add ALL" "--privileged"; do
        # shellcheck disable=SC2086
        run hrun --pid host $o --rootfs "$SROOTFS" sh -c '
            test -d /proc/$1 && echo visible
            tracer "$1"
            cat /proc/$1/environ; head -c 1 /proc/$1/mem; ls /proc/$1/root/; readlink /proc/$1/exe
            echo done' _ "$sleeper"
        assert_output_has visible done
        [[ $output != *ptrace=ok* ]] || fail_now "$o: ptrace reached a host process: $output"
        [[ $output != *vmread=ok* && $output != *vmread=EFAULT* ]] ||
            fail_now "$o: process_vm_readv reached a host process: $output"
        [[ $output != *SECRET_OF_THE_HOST* ]] || fail_now "$o: the environment leaked: $output"
        [[ $output != *"$(command -v sleep)"* ]] || fail_now "$o: /proc/PID/exe was read: $output"
        # the host's process is as it was
        [ "$(awk '/^TracerPid:/ { print $2 }' "/proc/$sleeper/status")" = 0 ]
    done
}

@test "--pid host: the host's /proc keeps the masks and read-only paths" {
    run hrun --pid host --cap-add ALL --rootfs "$SROOTFS" sh -c '
        echo 1 > /proc/sys/kernel/ns_last_pid && echo wrote-sysctl
        echo h > /proc/sysrq-trigger && echo wrote-sysrq
        head -c 1 /proc/kcore && echo read-kcore
        grep -c . /proc/keys
        echo done'
    assert_output_has done
    [[ $output != *wrote-* && $output != *read-kcore* ]] || fail_now "$output"
}

@test "--uts host: the host's hostname cannot be changed, with every capability" {
    local before
    before=$(hostname)
    run hrun --uts host --privileged --rootfs "$SROOTFS" sh -c 'hostname hutch-was-here; echo done'
    assert_output_has done
    [ "$(hostname)" = "$before" ]
}

@test "--device: the bound node cannot be changed, no other node can be made or reached" {
    [ -c /dev/fuse ] && [ -w /dev/fuse ] || skip "no /dev/fuse that the user can open"
    local mode
    mode=$(stat -c %a:%u:%g /dev/fuse)
    run hrun --device /dev/fuse --cap-add ALL --rootfs "$SROOTFS" sh -c '
        chmod 777 /dev/fuse && echo chmod-ok
        chown 0:0 /dev/fuse && echo chown-ok
        mknod /dev/mem2 c 1 1 && echo mknod-ok
        echo done'
    assert_output_has done
    [[ $output != *chmod-ok* && $output != *chown-ok* && $output != *mknod-ok* ]] || fail_now "$output"
    [ "$(stat -c %a:%u:%g /dev/fuse)" = "$mode" ]
    # the one node asked for, beside the usual ones
    run hrun --device /dev/fuse --cap-add ALL --rootfs "$SROOTFS" ls /dev
    assert_status 0
    [[ $output != *kvm* && $output != *mem* ]] || fail_now "more of the host's /dev than asked for: $output"
    assert_output_has fuse
}

@test "--tz: the host's zone file cannot be written, not even after a remount" {
    [ -f /usr/share/zoneinfo/UTC ] || skip "no zoneinfo on the host"
    local z sum
    z=$(realpath /usr/share/zoneinfo/UTC)
    sum=$(sha256sum < "$z")
    run hrun --tz UTC --privileged --rootfs "$SROOTFS" sh -c '
        echo x > /etc/localtime && echo wrote
        mount -o remount,bind,rw /etc/localtime && echo x > /etc/localtime && echo wrote-after-remount
        echo done'
    assert_output_has done
    [[ $output != *wrote* ]] || fail_now "$output"
    [ "$(sha256sum < "$z")" = "$sum" ]
}
