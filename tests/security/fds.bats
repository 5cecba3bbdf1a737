#!/usr/bin/env bats
# Escapes through file descriptors (CVE-2024-21626 and its variants): host
# descriptors the caller leaves open (directories, a file, the host's
# /proc/self, an O_PATH of "/", a socket) must not reach the container, and
# neither must hutch's own while it sets the container up: a command or a
# working directory under /proc/self/fd/N, which a hostile image's
# Entrypoint or WorkingDir may name, leads nowhere on the host.

load helpers
load common

setup_file() {
    sec_setup_file fdleak
    # the same root filesystem as an image, in a store of the file's (its
    # set-up holds other descriptors: the layers, the overlay)
    export FSTORE=$BATS_FILE_TMPDIR/store
    tar --owner=0 --group=0 --numeric-owner -C "$SROOTFS" -czf "$BATS_FILE_TMPDIR/img.tar.gz" .
    "$HUTCH" --root "$FSTORE" import "$BATS_FILE_TMPDIR/img.tar.gz" fdimage >/dev/null
}

teardown_file() {
    empty_store "$FSTORE"
    rm -rf "$FSTORE"
}

setup() {
    need_helpers
    export T=$BATS_TEST_TMPDIR
    TOKEN="hutch-secret-$RANDOM$RANDOM"
    mkdir -p "$T/hostdir"
    echo "$TOKEN" > "$T/hostdir/secret"
    # a program that exists only on the host
    printf '#!/bin/sh\necho "%s"\n' "$TOKEN" > "$T/hostdir/marker"
    chmod 0755 "$T/hostdir/marker"
}

# each way of starting a container: --rootfs, --init, an image, a terminal
MODES=("--rootfs ROOTFS" "--init --rootfs ROOTFS" "IMAGE" "-t --rootfs ROOTFS")

# start MODE [OPTION...] -- CMD [ARG...]: hutch run in MODE (run by
# fdleak, through bash -c: its variables are exported)
start() {
    local mode=${1//ROOTFS/$SROOTFS} opts=()
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        opts+=("$1")
        shift
    done
    shift
    if [ "$mode" = IMAGE ]; then
        "$HUTCH" --root "$FSTORE" run --network none "${opts[@]}" fdimage "$@"
    else
        # shellcheck disable=SC2086
        "$HUTCH" --root "$T/store" run $mode "${opts[@]}" "$@"
    fi
}

@test "no descriptor of hutch's caller reaches the container: directories, a file, /proc/self, O_PATH of /, a socket" {
    local mode
    for mode in "${MODES[@]}"; do
        run "$SBIN/fdleak" host "$T/hostdir" "$T/hostdir/secret" / -- \
            bash -c "$(declare -f start); start \"\$@\" < /dev/null" _ "$mode" -- fdleak scan
        assert_status 0
        assert_output_has "leaked 1000 /proc/self"
        # the scan inside found nothing above stderr
        printf '%s\n' "$output" | tr -d '\r' | grep -qx none || {
            echo "$mode: descriptors reached the container: $output" >&2
            return 1
        }
    done
}

@test "a command under /proc/self/fd/N runs nothing of the host's, for every descriptor hutch holds at exec (CVE-2024-21626 attack 3)" {
    local mode n path
    for mode in "${MODES[@]}"; do
        # the control: a command through a magic link of /proc runs
        run bash -c "$(declare -f start); start \"\$@\" < /dev/null" _ "$mode" -- \
            /proc/self/cwd/bin/echo control-ran
        assert_output_has control-ran
        for n in $(seq 3 24) 100 255 511 1000; do
            path=/proc/self/fd/$n/../../../../../../../../../../..$T/hostdir/marker
            run "$SBIN/fdleak" host "$T/hostdir" / -- \
                bash -c "$(declare -f start); start \"\$@\" < /dev/null" _ "$mode" -- "$path"
            [[ $output != *"$TOKEN"* ]] || {
                echo "$mode: $path ran the host's program: $output" >&2
                return 1
            }
        done
    done
}

@test "a working directory under /proc/self/fd/N, /proc/self/cwd or /proc/1/root leads nowhere on the host (CVE-2024-21626 attack 1)" {
    local mode n dir
    for mode in "--rootfs ROOTFS" "IMAGE"; do
        # the control: a working directory of the container's own
        run bash -c "$(declare -f start); start \"\$@\" < /dev/null" _ "$mode" -w /tmp -- pwd
        assert_equal "$output" /tmp
        for dir in $(seq 3 16 | sed 's|^|/proc/self/fd/|') /proc/self/fd/1000 /proc/self/cwd /proc/1/root/.. /proc/self/root; do
            run "$SBIN/fdleak" host "$T/hostdir" / -- \
                bash -c "$(declare -f start); start \"\$@\" < /dev/null" _ "$mode" \
                -w "$dir" -- sh -c 'cat ../../../../../../../../../..$1/secret $1/secret secret; pwd' _ "$T/hostdir"
            [[ $output != *"$TOKEN"* ]] || {
                echo "$mode -w $dir: the host's file was read: $output" >&2
                return 1
            }
        done
    done
}
