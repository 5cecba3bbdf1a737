#!/usr/bin/env bats
# Escapes into the host's kernel state: mounting, loading modules, the
# kernel's keyrings, device nodes, the hostname and the clock.  The errno
# of each system call comes from sysprobe (tests/security/sysprobe.c);
# what decides is the host's state afterwards: its mount table, module
# list, keys, hostname and time.

load helpers
load common

setup_file() {
    sec_setup_file sysprobe keyring
}

setup() {
    need_helpers
    T=$BATS_TEST_TMPDIR
}

# host_mounts: the host's mount table, without the ids that change
host_mounts() {
    awk '{ $1 = ""; $2 = ""; print }' /proc/self/mountinfo | sort
}

@test "mount: no file system is mounted, no mask or read-only path undone, nothing appears in the host's mount table" {
    local before
    before=$(host_mounts)
    run hrun --read-only --tmpfs /tmp --rootfs "$SROOTFS" sh -c '
        sysprobe mount
        for t in tmpfs proc sysfs cgroup2 mqueue devpts; do
            mount -t $t none /mnt 2>/dev/null && echo "mounted $t"
        done
        mount --bind / /mnt 2>/dev/null && echo "mounted bind"
        mount --move /proc /mnt 2>/dev/null && echo "moved /proc"
        umount /proc/keys 2>/dev/null && echo "unmasked /proc/keys"
        umount -l /proc/sys 2>/dev/null && echo "unmounted /proc/sys"
        mount -o remount,rw / 2>/dev/null && echo "remounted /"
        mount -o remount,rw /proc/sys 2>/dev/null && echo "remounted /proc/sys"
        wc -c < /proc/keys
        touch /escaped 2>/dev/null && echo "wrote /"
        awk "\$5 == \"/mnt\"" /proc/self/mountinfo
        echo done'
    assert_status 0
    assert_line_is "mount EPERM"
    assert_no_line '^(mounted|moved|unmasked|unmounted|remounted|wrote)'
    assert_equal "${lines[1]}" 0
    assert_equal "${lines[2]}" done
    assert_equal "$(host_mounts)" "$before"
    [ ! -e "$SROOTFS/escaped" ]
}

@test "kernel modules: init_module, finit_module and delete_module fail, even with every capability; the host's modules are as they were" {
    local before o
    before=$(ls /sys/module; cat /proc/modules 2>/dev/null || true)
    run hrun --rootfs "$SROOTFS" sysprobe init_module finit_module delete_module kexec_load
    assert_status 0
    assert_equal "$output" "init_module EPERM
finit_module EPERM
delete_module EPERM
kexec_load EPERM"
    for o in "--cap-add SYS_MODULE" "--privileged"; do
        # shellcheck disable=SC2086
        run hrun $o --rootfs "$SROOTFS" sh -c '
            sysprobe init_module finit_module delete_module kexec_load
            insmod /bin/busybox 2>/dev/null && echo inserted
            rmmod loop 2>/dev/null && echo removed
            echo done'
        assert_line_is done
        assert_no_line ' ok$|^inserted|^removed'
    done
    assert_equal "$(ls /sys/module; cat /proc/modules 2>/dev/null || true)" "$before"
}

@test "keyctl: the keys in the caller's session keyring are out of reach; keyctl, add_key and request_key are refused, in every ABI" {
    local desc="hutch-test-key-$RANDOM"
    run "$SBIN/keyring" host "$desc" topsecret-key \
        "$HUTCH" --root "$T/store" run -e KEYRING_SERIAL --rootfs "$SROOTFS" sh -c '
            keyring find "$1" "$KEYRING_SERIAL"
            sysprobe keyctl add_key request_key keyctl-i386 keyctl-x32' _ "$desc"
    [ "$status" -ne 77 ] || skip "cannot make a session keyring here: $output"
    assert_status 0
    [[ $output != *topsecret-key* ]] || { echo "the container read the key: $output" >&2; return 1; }
    assert_no_line ' found '
    assert_output_has "keyctl EPERM" "add_key EPERM" "request_key EPERM" "keyctl-i386 EPERM"
    printf '%s\n' "$output" | grep -E -x -q 'keyctl-x32 (EPERM|ENOSYS)'
}

@test "keyctl with seccomp=unconfined and --privileged: the caller's session keyring is still not the container's" {
    local desc="hutch-test-key-$RANDOM" o
    for o in "--security-opt seccomp=unconfined" "--privileged"; do
        # shellcheck disable=SC2086
        run "$SBIN/keyring" host "$desc" topsecret-key \
            "$HUTCH" --root "$T/store" run $o -e KEYRING_SERIAL --rootfs "$SROOTFS" sh -c '
                keyring find "$1" "$KEYRING_SERIAL"' _ "$desc"
        [ "$status" -ne 77 ] || skip "cannot make a session keyring here: $output"
        assert_status 0
        [[ $output != *topsecret-key* ]] || {
            echo "$o: the container read a key of its caller's session keyring: $output" >&2
            return 1
        }
    done
}

@test "hostname, domain name and clock: the container's attempts leave the host's as they were, even with every capability" {
    local host domain t0 o
    host=$(hostname)
    domain=$(cat /proc/sys/kernel/domainname)
    t0=$(date +%s)
    run hrun --rootfs "$SROOTFS" sh -c '
        sysprobe sethostname settimeofday
        hostname pwned 2>/dev/null; date -s "2001-01-01 00:00:00" >/dev/null 2>&1
        { echo pwned > /proc/sys/kernel/hostname; echo pwned > /proc/sys/kernel/domainname; } 2>/dev/null
        hostname; date +%Y'
    assert_status 0
    assert_equal "${lines[0]}" "sethostname EPERM"
    assert_equal "${lines[1]}" "settimeofday EPERM"
    [ "${lines[2]}" != pwned ]
    [ "${lines[3]}" -ge 2024 ]
    for o in "--cap-add SYS_TIME" "--privileged"; do
        # shellcheck disable=SC2086
        run hrun $o --rootfs "$SROOTFS" sh -c '
            sysprobe settimeofday
            hostname pwned; date -s "2001-01-01 00:00:00" >/dev/null 2>&1; domainname pwned 2>/dev/null
            hostname'
        assert_no_line '^settimeofday ok'
        # its own UTS namespace's name may change: that is the container's
        [ "$o" != --privileged ] || assert_equal "${lines[1]}" pwned
    done
    assert_equal "$(hostname)" "$host"
    assert_equal "$(cat /proc/sys/kernel/domainname)" "$domain"
    [ "$(date +%Y)" -ge 2024 ]
    [ $(($(date +%s) - t0)) -lt 120 ]
}

@test "device nodes: none can be made, even with every capability; /dev holds only harmless ones, and /dev/tty is no terminal of the host's" {
    local o
    for o in "" "--privileged"; do
        # shellcheck disable=SC2086
        run hrun $o --rootfs "$(sec_rootfs)" sh -c '
            for d in "c 1 1" "c 1 2" "b 8 0" "b 7 0" "c 1 3" "c 4 1" "c 10 229" "c 10 200" "c 1 11"; do
                mknod /tmp/node $d 2>/dev/null && { echo "made $d"; rm -f /tmp/node; }
            done
            # a whiteout (0:0) is allowed, and opens nothing
            mknod /tmp/wh c 0 0 2>/dev/null && { cat /tmp/wh 2>/dev/null && echo "opened 0:0"; rm -f /tmp/wh; }
            (exec 3< /dev/tty) 2>/dev/null && echo "opened /dev/tty"
            find /dev -type c -o -type b | while read -r f; do
                echo "node $(stat -L -c "%F %t:%T" "$f")"
            done | sort -u
            echo done'
        assert_line_is done
        assert_no_line '^(made|opened)'
        # null zero full random urandom tty, and the container's own
        # pseudo-terminal multiplexer
        printf '%s\n' "$output" | grep '^node ' | grep -v -E -x \
            'node character special file (1:(3|5|7|8|9)|5:0|5:2)' && {
            echo "$o: an unexpected device node: $output" >&2
            return 1
        }
        true
    done
}
