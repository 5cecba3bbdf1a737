#!/usr/bin/env bats
# hutch exec: a command in a running container, with the container's own
# namespaces, cgroup, user, capabilities, seccomp filter, rlimits and
# environment; -e, --env-file, -w, -u, -t, -i, -d, --privileged,
# --detach-keys; exit codes as hutch run's.  The containers run under a
# monitor (run -d), in a store of the file's own; tests that stop or
# change one start their own.

load helpers

setup_file() {
    export FS=$BATS_FILE_TMPDIR/store
    local H=("$HUTCH" --root "$FS")
    "${H[@]}" run -d --name box --rootfs "$ROOTFS" -w /tmp -e FROMRUN=yes --ulimit nofile=512:1024 \
        sleep 1000 > /dev/null
    tar -C "$ROOTFS" -c . | "${H[@]}" import - bb:1 > /dev/null
    "${H[@]}" run -d --name imgbox --pull never bb:1 sleep 1000 > /dev/null
}

teardown_file() {
    local n
    for n in $("$HUTCH" --root "$FS" ps -aq 2>/dev/null); do
        "$HUTCH" --root "$FS" rm -f "$n" > /dev/null 2>&1 || true
    done
    empty_store "$FS"
}

setup() {
    BGPIDS=()
    H=("$HUTCH" --root "$FS")
}

teardown() {
    kill_bgpids
}

# the host pid of container NAME's first process
pid1_of() {
    "${H[@]}" inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["State"]["Pid"])'
}

# field KEY of /proc/PID/status ($1 "self" or "1"), as the container sees it
status_field() {
    grep "^$2:" "/proc/$1/status"
}

@test "exec runs the command in the container; exit codes: its own, 126, 127" {
    run "${H[@]}" exec box sh -c 'cat /etc/hostname > /dev/null; echo in; exit 3'
    assert_status 3
    assert_equal "$output" "in"
    run "${H[@]}" exec box true
    assert_status 0
    run -127 "${H[@]}" exec box no-such-command-xyz
    assert_output_has "no-such-command-xyz" "not found"
    run "${H[@]}" exec box /etc/passwd
    assert_status 126
    assert_output_has "cannot execute"
    run "${H[@]}" exec box sh -c 'kill -9 $$'
    assert_status 137
    # the container's own files, not the host's: its /etc/passwd has alice
    run "${H[@]}" exec box grep -c '^alice:' /etc/passwd
    assert_status 0
    assert_equal "$output" "1"
}

@test "exec into an image's container" {
    run "${H[@]}" exec imgbox sh -c 'echo made > /new; cat /new; id -u'
    assert_status 0
    assert_equal "$output" "made
0"
    # the change is the container's own: a second exec sees it
    run "${H[@]}" exec imgbox cat /new
    assert_equal "$output" "made"
}

@test "the container's environment, -e and --env-file over it" {
    printf 'FROMFILE=file\n# a comment\nBOTH=file\n' > "$BATS_TEST_TMPDIR/env"
    run "${H[@]}" exec --env-file "$BATS_TEST_TMPDIR/env" -e BOTH=flag -e NEW=1 box \
        sh -c 'echo "$FROMRUN|$FROMFILE|$BOTH|$NEW|$PATH|$HOSTNAME"'
    assert_status 0
    [[ $output == "yes|file|flag|1|"*"/bin"*"|"?* ]] || fail_now "environment: $output"
    # KEY alone takes hutch's own value, as with run
    MYVAR=from-host run "${H[@]}" exec -e MYVAR box sh -c 'echo "$MYVAR"'
    assert_equal "$output" "from-host"
}

@test "-w: the container's working directory by default, another inside it; bad ones are refused" {
    run "${H[@]}" exec box pwd
    assert_equal "$output" "/tmp"
    run "${H[@]}" exec -w /etc box pwd
    assert_equal "$output" "/etc"
    run "${H[@]}" exec -w /no/such/dir box pwd
    assert_status 125
    assert_output_has "/no/such/dir"
    run "${H[@]}" exec -w etc box pwd
    assert_status 125
    assert_output_has "absolute"
}

@test "-u: a name, a number and a group, looked up in the container's /etc/passwd and /etc/group" {
    run "${H[@]}" exec -u alice box id
    assert_status 0
    # alice is 1000 with the group staff (50) in the rootfs's files
    assert_equal "$output" "uid=1000(alice) gid=1000(alice) groups=50(staff)"
    run "${H[@]}" exec -u 1001:50 box sh -c 'id -u; id -g'
    assert_equal "$output" "1001
50"
    run "${H[@]}" exec -u bob:staff box sh -c 'id -un; id -gn; echo "$HOME"'
    assert_equal "$output" "bob
staff
/home/bob"
    run "${H[@]}" exec -u no-such-user box true
    assert_status 125
    assert_output_has "no-such-user" "/etc/passwd"
    # another user than root has no capabilities left after its execve
    run "${H[@]}" exec -u alice box grep ^CapEff: /proc/self/status
    assert_equal "$output" "CapEff:	0000000000000000"
}

@test "the user's supplementary groups are the container's, not hutch's" {
    run "${H[@]}" exec box sh -c 'grep ^Groups: /proc/self/status; grep ^Groups: /proc/1/status'
    assert_status 0
    [ "${lines[0]}" = "${lines[1]}" ] || fail_now "groups: $output"
}

@test "capabilities, no_new_privs and the seccomp filter are those of the container's process" {
    local f
    for f in CapEff CapPrm CapBnd CapInh CapAmb NoNewPrivs Seccomp; do
        run "${H[@]}" exec box sh -c "grep '^$f:' /proc/self/status; grep '^$f:' /proc/1/status"
        assert_status 0
        [ "${lines[0]}" = "${lines[1]}" ] || fail_now "$f differs: $output"
    done
    run "${H[@]}" exec box grep ^Seccomp: /proc/self/status
    assert_equal "$output" "Seccomp:	2"
    # the filter itself: the container's refuses what it refuses
    run "${H[@]}" exec box sh -c 'mount -t tmpfs none /mnt 2>&1; echo rc=$?'
    assert_output_has "rc=1"
}

@test "--privileged: every capability of the container's bounding set, never one more" {
    "${H[@]}" run -d --name capless --cap-drop ALL --cap-add CHOWN --rootfs "$ROOTFS" sleep 1000 > /dev/null
    run "${H[@]}" exec --privileged capless sh -c 'grep -E "^Cap(Eff|Bnd):" /proc/self/status'
    assert_status 0
    # CAP_CHOWN is bit 0
    assert_equal "$output" "CapEff:	0000000000000001
CapBnd:	0000000000000001"
    run "${H[@]}" exec --privileged box sh -c 'grep ^CapBnd: /proc/1/status; grep ^CapEff: /proc/self/status'
    [ "${lines[0]#CapBnd:}" = "${lines[1]#CapEff:}" ] || fail_now "privileged: $output"
    "${H[@]}" rm -f capless > /dev/null
}

@test "rlimits are the container's" {
    run "${H[@]}" exec box sh -c 'ulimit -n; ulimit -Hn'
    assert_equal "$output" "512
1024"
}

@test "the same namespaces as the container's PID 1" {
    local n
    for n in user mnt pid uts ipc net cgroup; do
        run "${H[@]}" exec box sh -c "readlink /proc/self/ns/$n; readlink /proc/1/ns/$n"
        assert_status 0
        [ "${lines[0]}" = "${lines[1]}" ] || fail_now "$n: $output"
        # and not the host's
        [ "${lines[0]}" != "$(readlink /proc/self/ns/$n)" ] || fail_now "$n is the host's"
    done
    # in its PID namespace: PID 1 is the container's command
    run "${H[@]}" exec box sh -c "tr '\\0' ' ' < /proc/1/cmdline"
    assert_equal "$output" "sleep 1000 "
}

@test "the process is in the container's cgroup" {
    local cg
    cg=$("${H[@]}" inspect box | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["CgroupPath"] or "")')
    [ -n "$cg" ] || skip "the container has no cgroup of its own here (no delegated cgroup)"
    "${H[@]}" exec -d box sleep 4711.5
    wait_for pgrep -u "$MY_UID" -f '^sleep 4711.5$'
    p=$(pgrep -u "$MY_UID" -f '^sleep 4711.5$')
    assert_equal "$(grep '^0::' "/proc/$p/cgroup")" "$(grep '^0::' "/proc/$(pid1_of box)/cgroup")"
    [[ $(grep '^0::' "/proc/$p/cgroup") == *"/hutch-"* ]] || fail_now "cgroup: $(cat "/proc/$p/cgroup")"
    kill "$p"
}

@test "-d: returns once the command runs, which the container's PID 1 then holds" {
    run "${H[@]}" exec -d box sh -c 'echo $$ > /tmp/d.pid; exec sleep 4712.5'
    assert_status 0
    assert_equal "$output" ""
    wait_for "${H[@]}" exec box test -s /tmp/d.pid
    run "${H[@]}" exec box sh -c 'p=$(cat /tmp/d.pid); grep ^PPid: /proc/$p/status; cat /proc/$p/cmdline | tr "\0" " "; kill $p'
    assert_equal "$output" "PPid:	1
sleep 4712.5 "
    # a command that cannot run is still an error with -d
    run -127 "${H[@]}" exec -d box no-such-command-xyz
}

@test "-t: a terminal of the container's own; -it passes input; the exit code comes through" {
    command -v script > /dev/null || skip "script (util-linux) not installed"
    run script -qec "$HUTCH --root $FS exec -t box sh -c 'tty; test -t 0 && echo stdin-is-tty; echo TERM=\$TERM; exit 4'" /dev/null < /dev/null
    assert_status 4
    assert_output_has "/dev/pts/" "stdin-is-tty" "TERM=xterm"
    run script -qec "printf 'echo typed-\$((6*7))\nexit 5\n' | $HUTCH --root $FS exec -i box sh" /dev/null < /dev/null
    assert_status 5
    assert_output_has "typed-42"
}

@test "--detach-keys: -it detaches on them and the command goes on; other keys pass through" {
    command -v script > /dev/null || skip "script (util-linux) not installed"
    # ctrl-x then y (0x18 0x79); a lone ctrl-x before them is passed on
    run script -qec "(sleep 1; printf 'echo before\n'; sleep 0.5; printf '\030\030y'; sleep 2) | $HUTCH --root $FS exec -it --detach-keys ctrl-x,y box sh -c 'echo \$\$ > /tmp/detached.pid; exec sh'" /dev/null < /dev/null
    assert_status 0
    assert_output_has "before"
    run "${H[@]}" exec box sh -c 'kill -0 $(cat /tmp/detached.pid) && echo alive'
    assert_equal "$output" "alive"
    "${H[@]}" exec box sh -c 'kill -9 $(cat /tmp/detached.pid)'
    run "${H[@]}" exec -it --detach-keys ctrl-1 box true
    assert_status 125
    assert_output_has "--detach-keys"
}

@test "signals to hutch exec go to the command" {
    bg "$BATS_TEST_TMPDIR/out" "$HUTCH" --root "$FS" exec box sh -c 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.1; done'
    wait_for file_has "$BATS_TEST_TMPDIR/out" ready
    kill -TERM "$BG"
    wait_exit "$BG"
    assert_equal "$WAIT_STATUS" 7
    file_has "$BATS_TEST_TMPDIR/out" got-term
}

@test "errors: no such container, not running, paused, no command (exit 125, what to do)" {
    run "${H[@]}" exec no-such-container true
    assert_status 125
    assert_output_has "no-such-container"
    "${H[@]}" run --name ended --rootfs "$ROOTFS" true
    run "${H[@]}" exec ended true
    assert_status 125
    assert_output_has "not running" "hutch start ended"
    "${H[@]}" run -d --name frozen --rootfs "$ROOTFS" sleep 1000 > /dev/null
    if "${H[@]}" pause frozen > /dev/null 2>&1; then
        run "${H[@]}" exec frozen true
        assert_status 125
        assert_output_has "paused" "hutch unpause frozen"
        "${H[@]}" unpause frozen > /dev/null
    fi
    "${H[@]}" stop -t 1 frozen > /dev/null
    run "${H[@]}" exec frozen true
    assert_status 125
    assert_output_has "not running"
    run "${H[@]}" exec box
    assert_status 125
    assert_output_has "give the container and the command"
    "${H[@]}" rm -f ended frozen > /dev/null
}

@test "a container with the host's network: exec joins the namespaces it has of its own only" {
    "${H[@]}" run -d --name hostnet --network host --rootfs "$ROOTFS" sleep 1000 > /dev/null
    run "${H[@]}" exec hostnet sh -c 'readlink /proc/self/ns/net; readlink /proc/self/ns/mnt'
    assert_status 0
    assert_equal "${lines[0]}" "$(readlink /proc/self/ns/net)"
    [ "${lines[1]}" != "$(readlink /proc/self/ns/mnt)" ] || fail_now "mount namespace is the host's"
    "${H[@]}" rm -f hostnet > /dev/null
}
