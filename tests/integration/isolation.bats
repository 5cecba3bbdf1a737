#!/usr/bin/env bats
# What the container can see of the host: processes, hostname, IPC, mounts,
# files.

load helpers

teardown() {
    if [ -n "${MSQID:-}" ]; then
        ipcrm -q "$MSQID" 2>/dev/null || true
    fi
    if [ -n "${BGPID:-}" ]; then
        kill -KILL "$BGPID" 2>/dev/null || true
        wait "$BGPID" 2>/dev/null || true
    fi
}

@test "pid namespace: the command is PID 1" {
    run "$HUTCH" run --rootfs "$ROOTFS" sh -c 'echo $$'
    assert_status 0
    assert_equal "$output" 1
    run bash -o pipefail -c '"$0" run --rootfs "$1" cat /proc/1/cmdline | tr "\0" " "' "$HUTCH" "$ROOTFS"
    assert_status 0
    assert_equal "$output" "cat /proc/1/cmdline "
}

@test "pid namespace: only the container's own processes are visible" {
    run "$HUTCH" run --rootfs "$ROOTFS" sh -c 'ls /proc | grep -c "^[0-9][0-9]*$"'
    assert_status 0
    # sh, ls and grep at most
    [ "$output" -ge 1 ]
    [ "$output" -le 4 ]

    run "$HUTCH" run --rootfs "$ROOTFS" ps -o pid,args
    assert_status 0
    # header + ps itself
    assert_equal "${#lines[@]}" 2
    assert_output_has "ps -o pid,args"
}

@test "pid namespace: a host process cannot be seen or signalled" {
    sleep 300 3>&- &
    BGPID=$!
    run "$HUTCH" run --rootfs "$ROOTFS" sh -c "test -e /proc/$BGPID/cmdline && grep -q 'sleep' /proc/$BGPID/cmdline && echo visible; kill -0 $BGPID 2>/dev/null && echo signalled; echo done"
    assert_status 0
    assert_equal "$output" done
}

@test "--init: PID 1 is hutch-init and the command is its child" {
    run "$HUTCH" run --init --rootfs "$ROOTFS" sh -c 'tr "\0" " " < /proc/1/cmdline; echo; echo $$'
    echo "$output"
    assert_status 0
    assert_output_has hutch-init
    [ "${lines[1]}" -gt 1 ]
}

@test "--init: zombies are reaped" {
    # the orphan (sleep) is re-parented to PID 1 and must be reaped there
    run "$HUTCH" run --init --rootfs "$ROOTFS" sh -c '
        sh -c "sleep 0.2 & exit 0"
        sleep 1
        for p in /proc/[0-9]*; do
            s=$(awk "/^State:/ {print \$2}" $p/status 2>/dev/null)
            [ "$s" = Z ] && echo "zombie ${p#/proc/}"
        done
        echo checked'
    assert_status 0
    assert_equal "$output" checked
}

@test "uts namespace: --hostname sets the name inside, the host's is unchanged" {
    local before after
    before=$(hostname)
    run "$HUTCH" run --hostname foo --rootfs "$ROOTFS" sh -c 'hostname; echo "$HOSTNAME"'
    assert_status 0
    assert_equal "${lines[0]}" foo
    assert_equal "${lines[1]}" foo
    after=$(hostname)
    assert_equal "$after" "$before"
}

@test "uts namespace: the default hostname is 12 hex characters, different each run" {
    run "$HUTCH" run --rootfs "$ROOTFS" hostname
    assert_status 0
    [[ "$output" =~ ^[0-9a-f]{12}$ ]]
    local first=$output
    run "$HUTCH" run --rootfs "$ROOTFS" hostname
    assert_status 0
    [[ "$output" =~ ^[0-9a-f]{12}$ ]]
    [ "$output" != "$first" ]
}

@test "ipc namespace: a host message queue is not visible inside" {
    command -v ipcmk >/dev/null || skip "ipcmk (util-linux) not installed"
    MSQID=$(ipcmk -Q | grep -o '[0-9][0-9]*$')
    [ -n "$MSQID" ]
    # the host sees it
    awk -v id="$MSQID" 'NR > 1 && $2 == id { found = 1 } END { exit !found }' /proc/sysvipc/msg
    run "$HUTCH" run --rootfs "$ROOTFS" sh -c 'wc -l < /proc/sysvipc/msg'
    assert_status 0
    # header line only
    assert_equal "$(echo $output)" 1
}

@test "mount namespace: the container's mounts do not appear on the host" {
    local r
    r=$(fresh_rootfs)
    local out="$BATS_TEST_TMPDIR/out"
    "$HUTCH" run --tmpfs /data --rootfs "$r" sh -c '
        if mount -t tmpfs none /mnt 2>/dev/null; then echo mounted; else echo not-mounted; fi
        grep " /mnt " /proc/self/mountinfo >/dev/null && echo mnt-in-mountinfo
        echo ready; sleep 30' > "$out" 2>&1 3>&- &
    BGPID=$!
    wait_for file_has "$out" ready
    # while the container runs: nothing under its root is mounted on the host
    run grep -F -- " $r" /proc/self/mountinfo
    assert_status 1
    if grep -q '^mounted' "$out"; then
        grep -q mnt-in-mountinfo "$out"
    fi
    kill -KILL "$BGPID"
    wait_exit "$BGPID" 5
    BGPID=
    # and after it: still nothing
    run grep -F -- " $r" /proc/self/mountinfo
    assert_status 1
}

@test "mount namespace: host mount points are not visible in the container" {
    local hostpoints
    hostpoints=$(awk '{ print $5 }' /proc/self/mountinfo |
                 grep -v -E '^/$|^/(proc|dev|sys|run|tmp)(/|$)' | sort -u)
    run "$HUTCH" run --rootfs "$ROOTFS" cat /proc/self/mountinfo
    assert_status 0
    local p
    for p in $hostpoints; do
        if printf '%s\n' "$output" | awk -v p="$p" '$5 == p { found = 1 } END { exit !found }'; then
            echo "host mount point $p is visible in the container:" >&2
            printf '%s\n' "$output" >&2
            return 1
        fi
    done
    # the container has its own small set of mounts (about a dozen, and
    # the 17 masked and read-only paths)
    [ "${#lines[@]}" -lt 40 ]
}

@test "filesystem: a host file that was not bound in cannot be read (--rootfs)" {
    local secret="$HOME/hutch-secret-$BATS_TEST_NUMBER-$$"
    echo topsecret > "$secret"
    # control: hutch runs cat fine
    run "$HUTCH" run --rootfs "$ROOTFS" cat /etc/group
    assert_status 0
    run "$HUTCH" run --rootfs "$ROOTFS" cat "$secret"
    rm -f "$secret"
    [ "$status" -ne 0 ]
    [[ "$output" != *topsecret* ]]
    # the host root is not visible at all: the container's /etc/passwd is the rootfs's
    run "$HUTCH" run --rootfs "$ROOTFS" sh -c 'cat /etc/passwd; ls /home; test -e "'"$ROOTFS"'" && echo rootfs-path-visible; echo end'
    assert_status 0
    assert_output_has alice:x:1000
    [[ "$output" != *"$MY_USER:x:"* ]]
    [[ "$output" != *rootfs-path-visible* ]]
}

@test "filesystem: a host file that was not bound in cannot be read (host sandbox)" {
    local secret="$HOME/hutch-secret-$BATS_TEST_NUMBER-$$"
    echo topsecret > "$secret"
    local work="$BATS_TEST_TMPDIR/work"
    mkdir "$work"
    cd "$work"
    echo visible > "$work/here"
    # control: a file in the bound working directory is readable
    run "$HUTCH" run -- cat "$work/here"
    assert_status 0
    assert_equal "$output" visible
    run "$HUTCH" run -- cat "$secret"
    rm -f "$secret"
    [ "$status" -ne 0 ]
    [[ "$output" != *topsecret* ]]
}
