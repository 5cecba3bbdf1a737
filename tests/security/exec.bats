#!/usr/bin/env bats
# Escapes through `hutch exec`, the process that enters a running
# container: while it is still hutch it holds what the container must not
# reach (its binary, its fds, its memory, a working directory), and the
# container's processes are already there, as the same uid.  runc's exec
# had each of these: ptrace and /proc/PID/fd of the entering process
# (CVE-2016-9962), its /proc/PID/exe rewritten (CVE-2019-5736), a leaked
# host directory fd as working directory (CVE-2024-21626).  Also: a
# container that replaced its own /proc, a pid used again by another
# process, the user's terminal (CVE-2017-5226).

load helpers
load common

setup_file() {
    sec_setup_file exechunt fdleak ttyjack
    export FS=$BATS_FILE_TMPDIR/store
    "$HUTCH" --root "$FS" run -d --name box --rootfs "$SROOTFS" sleep 1000 > /dev/null
}

teardown_file() {
    local n
    for n in $("$HUTCH" --root "$FS" ps -aq 2>/dev/null); do
        "$HUTCH" --root "$FS" rm -f "$n" > /dev/null 2>&1 || true
    done
    empty_store "$FS"
}

setup() {
    need_helpers
    BGPIDS=()
    H=("$HUTCH" --root "$FS")
    T=$BATS_TEST_TMPDIR
}

teardown() {
    kill_bgpids
}

# the full id of container NAME
id_of() { "${H[@]}" inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])'; }

@test "the container cannot open /proc/PID/exe, fd or cwd of the entering process, nor ptrace it, while it is hutch (CVE-2016-9962, CVE-2019-5736)" {
    local i di
    di=$(stat -L -c '%d %i' "$HUTCH")
    # a process of the container, root of its user namespace and our uid
    # on the host, hunts every new process while exec enters 60 times
    "${H[@]}" exec -d box sh -c "exechunt $di 8 > /tmp/hunt.out 2>&1"
    for i in $(seq 1 60); do
        "${H[@]}" exec box true
    done
    wait_for "${H[@]}" exec box grep -q '^seen' /tmp/hunt.out || sleep 8
    run "${H[@]}" exec box cat /tmp/hunt.out
    echo "$output" >&2
    # what it found: nothing of hutch's; what it tried: the stages it saw
    # refused it (not a hunt that never met one)
    [[ ${lines[-1]} =~ ^seen\ [0-9]+\ denied\ ([0-9]+)\ late\ [0-9]+\ findings\ 0$ ]] ||
        fail_now "findings: $output"
    [ "${BASH_REMATCH[1]}" -gt 0 ] || fail_now "the hunt never met a process that refused it"
    [ "${#lines[@]}" -eq 1 ] || fail_now "findings: $output"
}

@test "exec runs from a sealed copy of hutch: #!/proc/self/exe runs that copy inside, never the binary on disk (CVE-2019-5736)" {
    local inner outer libs=() mine sum
    # a hutch of the user's own, which the container's root (the user)
    # could write were it ever reached
    mine=$T/hutch
    cp "$HUTCH" "$mine"
    sum=$(sha256sum < "$mine")
    # the host's libraries, so that hutch can run inside at all
    libs=(-v "$(realpath /lib):/lib:ro")
    [ -e /lib64 ] && libs+=(-v "$(realpath /lib64):/lib64:ro")
    "${H[@]}" run -d --name libbox "${libs[@]}" --rootfs "$SROOTFS" sleep 1000 > /dev/null
    "${H[@]}" exec libbox sh -c 'printf "#!/proc/self/exe --root\n" > /tmp/s; chmod 755 /tmp/s'
    # /tmp/s as the command: the kernel runs its interpreter, /proc/self/exe
    # of the process that execs it; `--root /tmp/s login ...` keeps that
    # hutch waiting on its stdin
    bg "$T/out" bash -c "sleep 4 | '$mine' --root '$FS' exec -i libbox /tmp/s login --password-stdin -u x 127.0.0.1:1"
    wait_for pgrep -u "$MY_UID" -f '^/proc/self/exe --root /tmp/s login'
    inner=$(pgrep -u "$MY_UID" -f '^/proc/self/exe --root /tmp/s login')
    outer=$(pgrep -u "$MY_UID" -f "^$mine --root .* exec -i libbox")
    echo "inner $inner: $(readlink "/proc/$inner/exe"); outer $outer: $(readlink "/proc/$outer/exe")" >&2
    [[ $(readlink "/proc/$inner/exe") == "/memfd:hutch"* ]] || fail_now "inside: $(readlink "/proc/$inner/exe")"
    [[ $(readlink "/proc/$outer/exe") == "/memfd:hutch"* ]] || fail_now "hutch exec: $(readlink "/proc/$outer/exe")"
    [ "$(stat -L -c %d:%i "/proc/$inner/exe")" != "$(stat -c %d:%i "$mine")" ]
    # the copy cannot be changed, by the container (the same uid) or anyone
    ! (printf 'x' >> "/proc/$inner/exe") 2> /dev/null || fail_now "the sealed copy took a write"
    wait_exit "$BG" 20
    [ "$(sha256sum < "$mine")" = "$sum" ] || fail_now "the hutch binary changed"
    "${H[@]}" rm -f libbox > /dev/null
}

@test "no fd of the caller's or of hutch's reaches the process: only 0, 1 and 2 (CVE-2024-21626)" {
    mkdir -p "$T/hostdir"
    for o in "" "-i" "--privileged" "-u 1000"; do
        # shellcheck disable=SC2086
        run "$SBIN/fdleak" host "$T/hostdir" /etc/passwd / -- "${H[@]}" exec $o box fdleak scan
        assert_status 0
        assert_output_has "leaked"
        printf '%s\n' "$output" | grep -q '^none$' || fail_now "exec $o: $output"
        ! printf '%s\n' "$output" | grep -q '^open ' || fail_now "exec $o: $output"
    done
    # and with -d, which leaves the process behind
    "$SBIN/fdleak" host "$T/hostdir" -- "${H[@]}" exec -d box sh -c 'fdleak scan > /tmp/fd.out' > /dev/null
    wait_for "${H[@]}" exec box test -s /tmp/fd.out
    run "${H[@]}" exec box cat /tmp/fd.out
    assert_equal "$output" "none"
}

@test "a container that replaced its /proc: exec closes every fd, keeps the working directory in the root, drops the groups" {
    local before mode
    "${H[@]}" run -d --name procbox --cap-add SYS_ADMIN --rootfs "$SROOTFS" sleep 1000 > /dev/null
    before=$("${H[@]}" exec procbox id -G)
    for mode in bind tmpfs; do
        # a /proc of the container's making: setgroups says deny (a runtime
        # that believed it would keep the caller's groups), self/cwd leads
        # up and out, self/fd is empty (one that listed it would close
        # nothing)
        run "${H[@]}" exec procbox sh -c "
            umount -l /proc 2> /dev/null
            if [ $mode = bind ]; then
                mkdir -p /tmp/fake/self/fd; echo deny > /tmp/fake/self/setgroups
                ln -sf ../../../../../.. /tmp/fake/self/cwd; mount --bind /tmp/fake /proc
            else
                mount -t tmpfs none /proc; mkdir -p /proc/self/fd; echo deny > /proc/self/setgroups
                ln -s ../../../../../.. /proc/self/cwd
            fi && echo replaced"
        assert_output_has "replaced"
        run "$SBIN/fdleak" host "$T" -- "${H[@]}" exec procbox fdleak scan
        assert_status 0
        printf '%s\n' "$output" | grep -q '^none$' || fail_now "$mode: $output"
        run "${H[@]}" exec procbox sh -c 'pwd; id -G'
        assert_status 0
        assert_equal "$output" "/
$before"
        # a working directory through the fake /proc: inside the root
        run "${H[@]}" exec -w /proc/self/cwd procbox pwd
        assert_status 0
        assert_equal "$output" "/"
    done
    "${H[@]}" rm -f procbox > /dev/null
}

@test "a working directory through /proc/self's magic links leads nowhere" {
    local w
    for w in /proc/self/cwd /proc/self/fd/0 /proc/1/root/.. /proc/self/root/tmp; do
        run "${H[@]}" exec -w "$w" box pwd
        assert_status 125
        assert_output_has "working directory"
    done
}

@test "a pid that another process got is not entered" {
    local id state d saved
    id=$(id_of box)
    for d in "${XDG_RUNTIME_DIR:-/nonexistent}/hutch" "/tmp/hutch-$MY_UID"; do
        [ -f "$d/containers/$id/state" ] && state=$d/containers/$id/state && break
    done
    [ -n "${state:-}" ] || fail_now "no state file for $id"
    saved=$(cat "$state")
    # a process of the user's on the host, where the state says the
    # container's is: first with the container's start time (what a
    # reused pid looks like), then with its own
    bg "$T/sleep" sleep 4714.5
    sed "s/^pid=.*/pid=$BG/" <<< "$saved" > "$state.new" && mv "$state.new" "$state"
    run "${H[@]}" exec box touch "$T/ran"
    assert_status 125
    assert_output_has "not running"
    start=$(awk '{ print $22 }' "/proc/$BG/stat")
    sed -e "s/^pid=.*/pid=$BG/" -e "s/^pid_start=.*/pid_start=$start/" <<< "$saved" > "$state.new" && mv "$state.new" "$state"
    run "${H[@]}" exec box touch "$T/ran"
    assert_status 125
    assert_output_has "no container's process"
    printf '%s\n' "$saved" > "$state.new" && mv "$state.new" "$state"
    [ ! -e "$T/ran" ] || fail_now "the command ran on the host"
    run "${H[@]}" exec box true
    assert_status 0
}

@test "TIOCSTI: a process exec'd without -t pushes nothing into the user's terminal (CVE-2017-5226)" {
    run "$SBIN/ttyjack" host "$SBIN/ttyjack" inject
    [ "$(sed -n 's/^queued //p' <<< "$output")" -gt 0 ] ||
        skip "TIOCSTI is disabled on this kernel (dev.tty.legacy_tiocsti=0): nothing can inject"
    for o in "" "-i" "-i --privileged"; do
        # shellcheck disable=SC2086
        run "$SBIN/ttyjack" host "${H[@]}" exec $o box ttyjack inject
        assert_status 0
        assert_output_has "status 0" "devtty ENXIO"
        assert_equal "$(sed -n 's/^queued //p' <<< "$output")" 0
    done
    run "$SBIN/ttyjack" host "${H[@]}" exec -i -t box sh -c 'ttyjack inject; sleep 0.2'
    assert_status 0
    assert_output_has "fd0 ok"
    assert_equal "$(sed -n 's/^queued //p' <<< "$output")" 0
}
