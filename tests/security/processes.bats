#!/usr/bin/env bats
# Escapes to the host's processes: signalling, tracing or reading them by
# pid (host processes of the user's own, and hutch's own processes outside
# the container), seeing them through /proc, and overwriting hutch's
# binaries through /proc/PID/exe.  The container is given the host pids
# (as if it had guessed them); the host checks its processes afterwards.

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

# host_sleeper: start a process of the user's own on the host; its pid is SLEEPER
host_sleeper() {
    sleep 300.25 3>&- &
    SLEEPER=$!
    BGPIDS+=("$SLEEPER")
}

# untouched PID: the host process is alive, not stopped, not traced
untouched() {
    local st
    is_alive "$1" || { echo "host process $1 is gone" >&2; return 1; }
    st=$(awk '/^State:/ { print $2 } /^TracerPid:/ { print $2 }' "/proc/$1/status" | tr '\n' ' ')
    [ "$st" = "S 0 " ] || { echo "host process $1: state and tracer are $st" >&2; return 1; }
}

@test "signals reach no host process, the user's own included: kill by pid, kill -1, with every capability" {
    host_sleeper
    local o
    for o in "" "--init" "--privileged"; do
        # shellcheck disable=SC2086
        run hrun $o --rootfs "$SROOTFS" sh -c '
            kill -STOP "$1"; kill -KILL "$1" "$2"; kill -KILL -1; kill -STOP -1; echo done' _ "$SLEEPER" "$$"
        untouched "$SLEEPER"
    done
}

@test "ptrace, pidfd_open and process_vm_readv reach no host process, nor hutch's own outside the container (CVE-2016-9962 class)" {
    host_sleeper
    local out=$T/out hutch_pid pids p
    mkdir "$T/vol"
    # The container waits for the pids of hutch's processes (hutch, its
    # watchdog, ...), which exist only once it runs.
    "$HUTCH" --root "$T/store" run --cap-add SYS_PTRACE --rootfs "$SROOTFS" -v "$T/vol:/vol" sh -c '
        sleep 30 & child=$!
        i=0; while [ ! -s /vol/pids ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
        tracer $(cat /vol/pids)
        echo control; tracer "$child"
        kill "$child"; echo done' > "$out" 2>&1 &
    hutch_pid=$!
    BGPIDS+=("$hutch_pid")
    # hutch and every process it started, seen from the host
    wait_for sh -c "pgrep -P $hutch_pid >/dev/null"
    pids="$SLEEPER $$ $hutch_pid"
    for p in $(pgrep -P "$hutch_pid"); do
        pids+=" $p $(pgrep -P "$p" | tr '\n' ' ')"
    done
    echo "$pids" > "$T/vol/pids"
    wait_exit "$hutch_pid" 20
    run cat "$out"
    assert_output_has done control
    # every host pid: nothing but ESRCH or EPERM
    local n=0 line
    while read -r line; do
        [ "$line" = control ] && break
        case $line in
            *kill=ok* | *ptrace=ok* | *pidfd=ok* | *vmread=ok* | *vmread=EFAULT*)
                echo "reached a host process: $line" >&2
                return 1 ;;
            [0-9]*) n=$((n + 1)) ;;
        esac
    done < "$out"
    # shellcheck disable=SC2086
    [ "$n" -eq "$(echo $pids | wc -w)" ]
    # the control: the same calls work on the container's own child
    assert_output_has "kill=ok ptrace=ok pidfd=ok"
    untouched "$SLEEPER"
}

@test "/proc shows no host process, with every capability, --init or in the host sandbox; /proc/1/root is the container's root" {
    host_sleeper
    local o
    for o in "--rootfs $SROOTFS" "--privileged --rootfs $SROOTFS" "--init --rootfs $SROOTFS" "--privileged --"; do
        cd "$T"
        # shellcheck disable=SC2086
        run hrun $o sh -c '
            for p in /proc/[0-9]*; do tr "\0" " " < $p/cmdline 2>/dev/null; echo; done
            test -e /proc/$1 && echo "pid $1 visible"
            grep -l "^PPid:" /proc/[0-9]*/status | wc -l
            cat /proc/1/root/etc/passwd
            echo done' _ "$SLEEPER"
        assert_line_is done
        [[ $output != *"sleep 300.25"* ]] || { echo "$o: a host process is visible: $output" >&2; return 1; }
        [[ $output != *"pid $SLEEPER visible"* ]]
        if [[ $o == *rootfs* ]]; then
            # the rootfs's passwd, not the host's
            assert_output_has "alice:x:1000"
        fi
    done
}

@test "hutch's binaries cannot be overwritten through /proc/PID/exe or map_files (CVE-2019-5736)" {
    local bins="$HUTCH $HUTCH_INIT_DIR/hutch-init $(dirname "$HUTCH")/hutch-slirp" before o
    # shellcheck disable=SC2086
    before=$(sha256sum $bins)
    for o in "--rootfs $SROOTFS" "--init --rootfs $SROOTFS" \
             "--network slirp --cap-add SYS_PTRACE --rootfs $SROOTFS" "--init --privileged --rootfs $SROOTFS" \
             "--init --cap-add SYS_PTRACE --"; do
        cd "$T"
        # shellcheck disable=SC2086
        run hrun $o sh -c '
            for p in /proc/[0-9]*; do
                echo "exe $(readlink $p/exe)"
                { echo pwned >> $p/exe; } 2>/dev/null && echo "wrote $p/exe"
                for m in $p/map_files/*; do
                    { echo pwned >> $m; } 2>/dev/null && echo "wrote $m"
                done
            done
            echo done'
        assert_line_is done
        assert_no_line '^wrote '
        # no process inside runs a host file of hutch's (only the sealed
        # copy of hutch-init)
        if printf '%s\n' "$output" | grep '^exe .*hutch' | grep -v -q '^exe /memfd:hutch-init '; then
            echo "$o: a process runs a host binary of hutch's: $output" >&2
            return 1
        fi
        # shellcheck disable=SC2086
        assert_equal "$(sha256sum $bins)" "$before"
    done
}
