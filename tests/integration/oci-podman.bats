#!/usr/bin/env bats
# podman (Debian's 4.3), rootless, driving OCI_RUNTIME (hutch-oci unless
# told otherwise: helpers.bash) for real: run, run -d, logs, ps, exec,
# exec -it, run -it, stop, kill, rm, init + start, pause where a cgroup
# allows it, a slirp4netns network.
#
# Everything podman keeps is private to this file: its containers.conf
# (runtime "hutch" = the runtime under test, in runtime_supports_json so
# that podman reads its errors as JSON), its storage (overlay, under
# BATS_FILE_TMPDIR), its runtime directory (XDG_RUNTIME_DIR, where the
# runtime keeps its state too: a short directory in /tmp), HOME; cgroupfs,
# events in a file, no systemd.  The image is the test busybox ROOTFS, `podman import`ed: no
# registry.  Each podman call is limited to 60 s.

load helpers

IMG=localhost/hutch-busybox:latest

setup_file() {
    need_engine podman
    # the store in the file's directory; podman's runtime directory (its
    # run root, its pause process's pid, the runtime's state) at a short
    # path: `podman container cleanup`, which conmon runs when a container
    # exits, refuses a run root longer than 50 characters
    export PD=$BATS_FILE_TMPDIR/pd
    export PR
    PR=$(mktemp -d /tmp/hutch-podman.XXXXXX)
    mkdir -p "$PD/home"
    export HOME=$PD/home XDG_RUNTIME_DIR=$PR
    # where rootless podman 4.3 reads both its files (it takes no
    # CONTAINERS_STORAGE_CONF for a rootless store, and conmon passes on
    # HOME but not CONTAINERS_CONF to the cleanup)
    export XDG_CONFIG_HOME=$PD/home/.config XDG_DATA_HOME=$PD/home/.local/share
    local conf=$XDG_CONFIG_HOME/containers
    mkdir -p "$conf"
    # podman's locks are shared memory named after the uid: ours, unless
    # they were there before
    export PD_LOCK=/dev/shm/libpod_rootless_lock_$(id -u) PD_LOCK_OURS=1
    [ -e "$PD_LOCK" ] && PD_LOCK_OURS=0
    local rt
    rt=$(engine_runtime "$PD")
    cat > "$conf/containers.conf" <<EOF
[containers]
netns = "none"

[engine]
runtime = "hutch"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$PR/events.log"
runtime_supports_json = ["hutch"]
runtime_supports_nocgroups = ["hutch"]

[engine.runtimes]
hutch = ["$rt"]
EOF
    cat > "$conf/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$PD/store"
runroot = "$PR/rr"
EOF
    rootfs_tar "$PD/rootfs.tar"
    P import --change 'CMD ["/bin/sh"]' "$PD/rootfs.tar" "$IMG" > /dev/null
}

teardown_file() {
    [ -n "${PR:-}" ] && [ -d "$PR" ] || return 0
    local pauses p
    P rm -a -f -t 0 > /dev/null 2>&1 || true
    # the store holds files of the user's subordinate ids: removed from
    # inside podman's user namespace.  Each podman call may start a pause
    # process that keeps that namespace (system reset stops one, the next
    # call starts another): those that the pid file named are stopped last.
    pauses=$(cat "$PR/libpod/tmp/pause.pid" 2> /dev/null || true)
    P system reset -f > /dev/null 2>&1 || true
    P unshare rm -rf "$PD/store" > /dev/null 2>&1 || true
    pauses="$pauses $(cat "$PR/libpod/tmp/pause.pid" 2> /dev/null || true)"
    for p in $pauses; do
        kill -KILL "$p" 2> /dev/null || true
    done
    [ "$PD_LOCK_OURS" = 1 ] && rm -f "$PD_LOCK"
    rm -rf "$PD" "$PR"
}

setup() {
    BGPIDS=()
    engine_log_test
}

# every container a test left: removed, and, should the runtime not have
# ended them, its processes and their conmon killed by pid
teardown() {
    local id pids
    kill_bgpids
    for id in $(P ps -a -q 2> /dev/null); do
        pids=$(P inspect --format '{{.State.Pid}} {{.State.ConmonPid}}' "$id" 2> /dev/null || true)
        P rm -f -t 0 "$id" > /dev/null 2>&1 || true
        for p in $pids; do
            [ "$p" -gt 0 ] 2> /dev/null && kill -KILL "$p" 2> /dev/null || true
        done
    done
}

# P ARGS...: podman, at most 60 s (then SIGKILL: podman passes SIGTERM on
# to the container's process and may stay)
P() {
    timeout -k 5 60 podman "$@"
}

# check_status N: like assert_status, with podman's stderr in the message
check_status() {
    if [ "$status" -ne "$1" ]; then
        echo "expected exit status $1, got $status; stdout:" >&2
        printf '%s\n' "$output" >&2
        echo "stderr:" >&2
        printf '%s\n' "${stderr:-}" >&2
        return 1
    fi
}

# logs_have NAME TEXT: the container's log holds TEXT
logs_have() {
    P logs "$1" 2> /dev/null | grep -q -F -- "$2"
}

# status_is NAME REGEX: podman's status of the container matches REGEX
status_is() {
    [[ "$(P inspect --format '{{.State.Status}}' "$1" 2> /dev/null)" =~ $2 ]]
}

not_alive() { ! is_alive "$1"; }

# the container's first process, as the host sees it
pid_of() {
    P inspect --format '{{.State.Pid}}' "$1"
}

# start_ready NAME SCRIPT [PODMAN_RUN_OPTIONS...]: a detached container
# running sh -c SCRIPT, which says "ready" once its traps are set
start_ready() {
    local name=$1 script=$2
    shift 2
    run --separate-stderr P run -d --name "$name" "$@" "$IMG" sh -c "$script"
    check_status 0
    wait_for logs_have "$name" ready || fail_now "$name never said ready: $(P logs "$name" 2>&1)"
}

@test "podman run: the command's output, exit code and hostname come through the runtime" {
    run --separate-stderr P run --rm --hostname phost "$IMG" \
        sh -c 'echo hello-podman; id -u; hostname; echo $$; exit 3'
    check_status 3
    assert_equal "${lines[0]}" hello-podman
    assert_equal "${lines[1]}" 0
    assert_equal "${lines[2]}" phost
    assert_equal "${lines[3]}" 1
    # --rm: the runtime deleted it, podman forgot it
    run --separate-stderr P ps -a -q
    check_status 0
    assert_equal "$output" ""
}

@test "podman run: config.json fields (read-only root, tmpfs, volume, user, env, workdir, no capabilities)" {
    local vol=$BATS_TEST_TMPDIR/vol
    mkdir "$vol"
    echo from-host > "$vol/f"
    chmod 0755 "$vol"
    run --separate-stderr P run --rm --read-only --tmpfs /scratch:mode=1777 -v "$vol:/data" \
        -u 1000:1000 -e CFGVAR=c1 -w /scratch --cap-drop all "$IMG" \
        sh -c 'cat /data/f; echo $CFGVAR; pwd; id -u; id -g
               touch /x 2>/dev/null && echo root-writable || echo root-read-only
               touch /scratch/y && echo tmpfs-writable
               grep ^CapEff /proc/self/status'
    check_status 0
    assert_equal "${lines[0]}" from-host
    assert_equal "${lines[1]}" c1
    assert_equal "${lines[2]}" /scratch
    assert_equal "${lines[3]}" 1000
    assert_equal "${lines[4]}" 1000
    assert_equal "${lines[5]}" root-read-only
    assert_equal "${lines[6]}" tmpfs-writable
    assert_equal "$(printf '%s' "${lines[7]}" | tr -s '\t ' ' ')" "CapEff: 0000000000000000"
}

@test "podman run -d: logs, ps, ps --sync, the process on the host, and an exit of its own" {
    start_ready bg1 'echo ready; while :; do sleep 0.1; done'
    run --separate-stderr P ps --format '{{.Names}} {{.Status}}'
    check_status 0
    assert_output_has "bg1 Up"
    # --sync: podman looks again (at conmon's exit file: podman 4.3 asks the
    # runtime for no state here)
    run --separate-stderr P ps --sync --format '{{.Names}} {{.Status}}'
    check_status 0
    assert_output_has "bg1 Up"
    local pid
    pid=$(pid_of bg1)
    [ "$pid" -gt 0 ]
    is_alive "$pid"
    assert_equal "$(tr '\0' ' ' < "/proc/$pid/cmdline")" "sh -c echo ready; while :; do sleep 0.1; done "
    # one that ends by itself: podman sees its exit code
    run --separate-stderr P run -d --name bg2 "$IMG" sh -c 'echo bye; exit 6'
    check_status 0
    wait_for status_is bg2 '^(exited|stopped)$' || fail_now "bg2: $(P inspect --format '{{.State.Status}}' bg2 2>&1)"
    run --separate-stderr P ps --sync -a --format '{{.Names}} {{.Status}}'
    check_status 0
    assert_output_has "bg2 Exited (6)"
    run --separate-stderr P logs bg2
    assert_equal "$output" bye
}

@test "podman exec: output, exit code, stdin, user, workdir, env" {
    start_ready ex1 'echo ready; exec sleep 987'
    run --separate-stderr P exec -e EXECVAR=x1 -w /tmp -u 1000:1000 ex1 \
        sh -c 'echo in-exec; id -u; pwd; echo $EXECVAR; exit 4'
    check_status 4
    assert_equal "${lines[0]}" in-exec
    assert_equal "${lines[1]}" 1000
    assert_equal "${lines[2]}" /tmp
    assert_equal "${lines[3]}" x1
    run --separate-stderr bash -c 'echo piped-stdin | timeout 60 podman exec -i ex1 cat'
    check_status 0
    assert_equal "$output" piped-stdin
    # the exec'd process shares the first one's namespaces: it sees it
    run --separate-stderr P exec ex1 sh -c 'cat /proc/1/cmdline | tr "\0" " "'
    check_status 0
    assert_equal "$output" "sleep 987 "
}

@test "podman run -it: a terminal through the console socket (size, resize, input, exit code)" {
    tty_drive podman run -it --rm "$IMG" sh
}

@test "podman exec -it: a terminal in a running container (size, resize, input, exit code)" {
    start_ready tt1 'echo ready; exec sleep 987'
    tty_drive podman exec -it tt1 sh
}

@test "podman stop: SIGTERM first; SIGKILL after the timeout when it is ignored" {
    start_ready st1 'trap "echo got-term; exit 0" TERM; echo ready; while :; do sleep 0.1; done'
    run --separate-stderr P stop -t 20 st1
    check_status 0
    run --separate-stderr P inspect --format '{{.State.ExitCode}}' st1
    assert_equal "$output" 0
    run --separate-stderr P logs st1
    assert_output_has got-term

    start_ready st2 'trap "" TERM; echo ready; while :; do sleep 0.1; done'
    local pid
    pid=$(pid_of st2)
    run --separate-stderr P stop -t 1 st2
    check_status 0
    run --separate-stderr P inspect --format '{{.State.ExitCode}}' st2
    assert_equal "$output" 137
    not_alive "$pid"
}

@test "podman kill: a named signal reaches the process; the default kills it" {
    start_ready k1 'trap "echo got-usr1; exit 9" USR1; echo ready; while :; do sleep 0.1; done'
    run --separate-stderr P kill -s USR1 k1
    check_status 0
    run --separate-stderr P wait k1
    check_status 0
    assert_equal "$output" 9
    run --separate-stderr P logs k1
    assert_output_has got-usr1

    start_ready k2 'echo ready; exec sleep 987'
    run --separate-stderr P kill k2
    check_status 0
    run --separate-stderr P wait k2
    assert_equal "$output" 137
    # a container that is not running cannot be killed
    run --separate-stderr P kill k2
    [ "$status" -ne 0 ]
}

@test "podman rm -f: a running container is killed and deleted" {
    start_ready rm1 'echo ready; exec sleep 987'
    local pid
    pid=$(pid_of rm1)
    is_alive "$pid"
    run --separate-stderr P rm -f -t 0 rm1
    check_status 0
    wait_for not_alive "$pid"
    run --separate-stderr P ps -a --format '{{.Names}}'
    check_status 0
    [[ "$output" != *rm1* ]]
    # a stopped one too, without -f
    run --separate-stderr P run --name rm2 "$IMG" true
    check_status 0
    run --separate-stderr P rm rm2
    check_status 0
    run --separate-stderr P ps -a -q
    assert_equal "$output" ""
}

@test "podman init, then start: the runtime creates the container, its command waits for start" {
    run --separate-stderr P create --name cs1 "$IMG" sh -c 'echo ran-cs1; exec sleep 987'
    check_status 0
    run --separate-stderr P init cs1
    check_status 0
    run --separate-stderr P inspect --format '{{.State.Status}}' cs1
    assert_equal "$output" initialized
    local pid
    pid=$(pid_of cs1)
    [ "$pid" -gt 0 ]
    is_alive "$pid"
    # created, not started: the command has not run
    sleep 0.5
    run --separate-stderr P logs cs1
    assert_equal "$output" ""
    run --separate-stderr P start cs1
    check_status 0
    wait_for logs_have cs1 ran-cs1
    run --separate-stderr P inspect --format '{{.State.Status}} {{.State.Pid}}' cs1
    assert_equal "$output" "running $pid"
}

@test "podman pause, unpause: frozen and thawed where podman gives the container a cgroup" {
    start_ready pa1 'echo ready; while :; do echo tick; sleep 0.1; done'
    local v
    v=$(P info --format '{{.Host.CgroupsVersion}}')
    if [ "$v" = v1 ]; then
        # rootless on cgroup v1 podman makes no cgroup, so there is nothing
        # to freeze: it must say so, and leave the container running
        run --separate-stderr P pause pa1
        [ "$status" -ne 0 ]
        [[ "$stderr" == *"can not pause containers on rootless containers with cgroup V1"* ]] ||
            fail_now "unexpected refusal: $stderr"
        run --separate-stderr P inspect --format '{{.State.Status}}' pa1
        assert_equal "$output" running
        skip "rootless podman on cgroup v1 gives a container no cgroup to freeze (podman refused, as it should); pause itself needs a cgroup v2 host"
    fi
    run --separate-stderr P pause pa1
    check_status 0
    run --separate-stderr P inspect --format '{{.State.Status}}' pa1
    assert_equal "$output" paused
    # frozen: no more ticks
    local a b
    a=$(P logs pa1 | grep -c tick)
    sleep 0.5
    b=$(P logs pa1 | grep -c tick)
    assert_equal "$b" "$a"
    run --separate-stderr P unpause pa1
    check_status 0
    run --separate-stderr P inspect --format '{{.State.Status}}' pa1
    assert_equal "$output" running
    sleep 0.5
    [ "$(P logs pa1 | grep -c tick)" -gt "$a" ]
}

@test "podman run --network slirp4netns: podman attaches a network to the namespace the runtime made" {
    need_engine slirp4netns
    run --separate-stderr P run --rm --network slirp4netns "$IMG" \
        sh -c 'ip -4 -o addr show tap0; ip route show default'
    check_status 0
    assert_output_has "inet 10.0.2.100/24" "default via 10.0.2.2"
}
