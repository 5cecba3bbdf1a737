#!/usr/bin/env bats
# Escapes through /proc and /sys: the masks over kernel files and the
# read-only /proc/sys are what stand between a container and the kernel's
# knobs; runc's masks could be turned into read-write mounts of /proc files
# by an image whose /dev/null or /dev/console was a symlink
# (CVE-2025-31133, CVE-2025-52565).  The knobs that make the host's kernel
# run a program as root (core_pattern, modprobe, hotplug, uevent_helper)
# and sysrq must stay as they are, even with every capability.

load helpers
load common

setup_file() {
    sec_setup_file
}

setup() {
    T=$BATS_TEST_TMPDIR
}

# the host's knobs a container might try, and their values
knobs() {
    local f
    for f in /proc/sys/kernel/core_pattern /proc/sys/kernel/core_uses_pid /proc/sys/kernel/modprobe \
             /proc/sys/kernel/hotplug /sys/kernel/uevent_helper /proc/sys/kernel/sysrq \
             /proc/sys/kernel/hostname /proc/sys/net/ipv4/ip_forward /proc/sys/vm/overcommit_memory; do
        [ -r "$f" ] && printf '%s: %s\n' "$f" "$(cat "$f")"
    done
    return 0
}

# the script a container runs: every mask is the null device, every
# read-only path refuses writes; prints "bad ..." lines otherwise
check_masks='
    for f in /proc/asound /proc/acpi /proc/interrupts /proc/kcore /proc/keys /proc/latency_stats \
             /proc/timer_list /proc/timer_stats /proc/sched_debug /proc/scsi /sys/firmware; do
        [ -e "$f" ] || continue
        if [ -d "$f" ]; then
            [ -z "$(ls -A "$f")" ] || echo "bad: $f is not empty"
        else
            t=$(stat -c "%F %t:%T" "$f")
            [ "$t" = "character special file 1:3" ] || echo "bad: $f is $t"
            { echo x > "$f"; } 2>/dev/null
            [ -s "$f" ] && echo "bad: $f has content"
        fi
    done
    for f in /proc/sys/kernel/core_pattern /proc/sys/kernel/hostname /proc/sysrq-trigger; do
        [ -e "$f" ] || continue
        { echo x > "$f"; } 2>/dev/null && echo "bad: wrote $f"
    done
    echo checked'

@test "masks are the host's null device and read-only paths refuse writes, even when the image's /dev/null, /dev/console and /dev/pts/ptmx are symlinks into /proc (CVE-2025-31133, CVE-2025-52565)" {
    local r before
    before=$(knobs)
    r=$(sec_rootfs)
    rm -rf "$r/dev"
    mkdir -p "$r/dev/pts"
    ln -s ../proc/sys/kernel/core_pattern "$r/dev/null"
    ln -s ../proc/sysrq-trigger "$r/dev/console"
    ln -s ../../proc/sys/kernel/hostname "$r/dev/pts/ptmx"
    # hutch run: a fresh /dev hides the image's
    run hrun --rootfs "$r" sh -c "$check_masks"
    assert_status 0
    assert_line_is checked
    assert_no_line '^bad'
    run hrun -t --rootfs "$r" sh -c "$check_masks" < /dev/null
    assert_line_is "checked"$'\r'
    assert_no_line '^bad'
    # an OCI bundle with no mount on /dev: the image's links stay there,
    # and the masks must not use them
    local b=$T/bundle term
    mkdir "$b"
    mv "$r" "$b/rootfs"
    for term in false true; do
        cat > "$b/config.json" <<JSON
{
  "ociVersion": "1.0.2",
  "process": { "terminal": $term, "user": { "uid": 0, "gid": 0 },
    "args": ["sh", "-c", $(printf '%s' "$check_masks" | python3 -c 'import json, sys; print(json.dumps(sys.stdin.read()))')],
    "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "cwd": "/" },
  "root": { "path": "rootfs" },
  "mounts": [ { "destination": "/proc", "type": "proc", "source": "proc" } ],
  "linux": {
    "namespaces": [ { "type": "user" }, { "type": "pid" }, { "type": "ipc" }, { "type": "uts" },
                    { "type": "mount" }, { "type": "network" } ],
    "uidMappings": [ { "containerID": 0, "hostID": $MY_UID, "size": 1 } ],
    "gidMappings": [ { "containerID": 0, "hostID": $MY_GID, "size": 1 } ],
    "maskedPaths": [ "/proc/keys", "/proc/timer_list", "/proc/interrupts", "/proc/kcore", "/proc/acpi" ],
    "readonlyPaths": [ "/proc/sys", "/proc/sysrq-trigger" ]
  }
}
JSON
        run "$HUTCH_OCI" run --bundle "$b" "sec-masks-$term" < /dev/null
        if [ "$term" = false ]; then
            assert_status 0
            assert_line_is checked
        fi
        # with a terminal, hutch-oci opens the image's /dev/pts/ptmx (the
        # link): it may refuse, but never opens the host's file for it
        assert_no_line '^bad'
    done
    assert_equal "$(knobs)" "$before"
}

@test "core_pattern, modprobe, hotplug, uevent_helper, sysrq: unchanged, whatever the container writes, even --privileged (masks lifted, /sys writable)" {
    local before o
    before=$(knobs)
    for o in "" "--cap-add SYS_ADMIN" "--privileged"; do
        # shellcheck disable=SC2086
        run hrun $o --rootfs "$SROOTFS" sh -c '
            for f in /proc/sys/kernel/core_pattern /proc/sys/kernel/modprobe /proc/sys/kernel/hotplug \
                     /sys/kernel/uevent_helper; do
                { echo "|/tmp/pwned %p" > $f; } 2>/dev/null && echo "wrote $f"
            done
            for f in /proc/sys/kernel/core_uses_pid /proc/sys/kernel/sysrq /proc/sys/vm/overcommit_memory \
                     /proc/sys/net/ipv4/ip_forward; do
                { echo 1 > $f; } 2>/dev/null && echo "wrote $f"
            done
            { echo h > /proc/sysrq-trigger; } 2>/dev/null && echo "wrote sysrq-trigger"
            mount -o remount,rw /proc/sys 2>/dev/null && echo "remounted /proc/sys"
            echo done'
        assert_status 0
        assert_line_is done
        # only the network namespace's own knobs may change, with
        # --privileged: they are the container's
        printf '%s\n' "$output" | grep '^wrote' | grep -v -x 'wrote /proc/sys/net/ipv4/ip_forward' && {
            echo "$o: $output" >&2
            return 1
        }
        assert_equal "$(knobs)" "$before"
    done
}
