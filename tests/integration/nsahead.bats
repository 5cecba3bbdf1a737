#!/usr/bin/env bats
# Namespaces made ahead of time (src/runtime/nsahead.h): the keeper of
# HUTCH_USERNS_KEEPER and its makers.  Every container still gets
# namespaces of its own, mapped as --userns asks, and nothing is left
# behind but the keeper, which ends by itself.

load helpers

setup() {
    # A runtime directory of the test's own: its keeper is the test's.
    export XDG_RUNTIME_DIR="$BATS_TEST_TMPDIR/run"
    mkdir -p "$XDG_RUNTIME_DIR"
    chmod 700 "$XDG_RUNTIME_DIR"
}

teardown() {
    kill_bgpids
    kill_keepers
}

# no_keeper: no keeper serves this test's runtime directory
no_keeper() { [ -z "$(keeper_pids)" ]; }

# spare_ready: the keeper has no maker at work (its spare is made, or it
# failed)
spare_ready() {
    local k
    k=$(keeper_pids)
    [ -n "$k" ] && [ -z "$(pgrep -u "$MY_UID" -P "$k")" ]
}

# spare_other_than NS: the keeper holds a namespace ready, and not NS
spare_other_than() {
    local sp
    sp=$(spare_userns)
    [ -n "$sp" ] && [ "$sp" != "$1" ]
}

NS_IDS='for n in user net uts ipc; do readlink /proc/self/ns/$n; done | tr "\n" " "'

# ns_ids: the container's user, net, uts and ipc namespaces, one line
ns_ids() { "$HUTCH" run --rootfs "$ROOTFS" sh -c "$NS_IDS"; }

# two_at_once: the namespaces of a container that runs on (in the
# background) and of one run meanwhile, both lines in $A and $B: the
# kernel reuses the numbers of namespaces that are gone, so only those of
# containers alive together can be compared.  $1: wait for the keeper's
# spare before each.
two_at_once() {
    [ "${1:-}" = keeper ] && { wait_for spare_ready || return 1; }
    bg "$BATS_TEST_TMPDIR/first" "$HUTCH" run --rootfs "$ROOTFS" sh -c "$NS_IDS; echo; sleep 3"
    wait_for file_has "$BATS_TEST_TMPDIR/first" user || return 1
    [ "${1:-}" = keeper ] && { wait_for spare_ready || return 1; }
    A=$(head -n 1 "$BATS_TEST_TMPDIR/first")
    B=$(ns_ids)
}

# all_apart LINE...: no namespace appears in two of the lines
all_apart() {
    local dup
    dup=$(printf '%s\n' "$@" | tr ' ' '\n' | grep . | sort | uniq -d)
    [ -z "$dup" ] || fail_now "shared namespaces: $dup"
}

@test "nsahead: a run leaves no process behind (no maker, no holder, no keeper)" {
    need_subids
    run "$HUTCH" run --rootfs "$ROOTFS" true
    assert_status 0
    assert_equal "$(pgrep -u "$MY_UID" -x hutch-nsmaker)" ""
    no_keeper
}

@test "nsahead: each container has its own user, network, UTS and IPC namespaces, mapped as asked" {
    need_subids
    local host
    host=$(readlink /proc/self/ns/user /proc/self/ns/net /proc/self/ns/uts /proc/self/ns/ipc | tr '\n' ' ')
    two_at_once
    [ -n "$A" ] && [ -n "$B" ]
    all_apart "$A" "$B" "$host"
    run "$HUTCH" run --hostname ahead --rootfs "$ROOTFS" sh -c \
        'cat /proc/self/uid_map; hostname; ip link show lo | head -n 1; stat -c %u /sys/class/net/lo/mtu'
    assert_status 0
    assert_equal "$(norm_map "$output")" "$(expected_map "$MY_UID" /etc/subuid)"
    assert_output_has ahead
    assert_output_has 'LOOPBACK,UP'
    # the loopback's sysfs files belong to the container's root: its network
    # namespace was made once the maps were written
    assert_equal "${lines[-1]}" 0
}

@test "nsahead: HUTCH_USERNS_KEEPER: the first run starts a keeper, the next ones take its namespaces, each once" {
    need_subids
    local spare
    export HUTCH_USERNS_KEEPER=30
    run "$HUTCH" run --rootfs "$ROOTFS" true
    assert_status 0
    wait_for spare_ready || fail_now "no keeper, or its namespace is never made"
    [ -S "$XDG_RUNTIME_DIR/hutch/userns-keeper.2.sock" ]
    two_at_once keeper
    [ -n "$A" ] && [ -n "$B" ]
    all_apart "$A" "$B"
    # the run takes the very namespace the keeper held, and the keeper
    # makes another
    wait_for spare_held || fail_now "the keeper holds no user namespace"
    spare=$(spare_userns)
    run "$HUTCH" run --rootfs "$ROOTFS" readlink /proc/self/ns/user
    assert_status 0
    assert_equal "$output" "$spare"
    wait_for spare_held
    [ "$(spare_userns)" != "$spare" ] || fail_now "the keeper kept a namespace it handed out"
    run "$HUTCH" run --rootfs "$ROOTFS" sh -c 'cat /proc/self/uid_map /proc/self/setgroups'
    assert_status 0
    assert_equal "$(norm_map "$output")" "$(expected_map "$MY_UID" /etc/subuid)"
    assert_output_has allow
    run "$HUTCH" run --rootfs "$ROOTFS" cat /proc/self/gid_map
    assert_equal "$(norm_map "$output")" "$(expected_map "$MY_GID" /etc/subgid)"
    # the network namespace the keeper's maker made is the container's
    # root's (made once the maps were written), and the hostname is set
    wait_for spare_ready
    run "$HUTCH" run --hostname ahead --rootfs "$ROOTFS" sh -c 'hostname; stat -c %u /sys/class/net/lo/mtu'
    assert_status 0
    assert_equal "$output" "ahead
0"
    assert_equal "$(keeper_pids | wc -l)" 1
}

@test "nsahead: the keeper's namespace is not taken by a run that asks for other maps" {
    need_subids
    export HUTCH_USERNS_KEEPER=30
    run "$HUTCH" run --rootfs "$ROOTFS" true
    wait_for spare_ready
    # keep-id maps the user as itself: not what the keeper made
    run "$HUTCH" run --userns keep-id --rootfs "$ROOTFS" sh -c 'id -u; cat /proc/self/uid_map'
    assert_status 0
    assert_equal "${lines[0]}" "$MY_UID"
    norm_map "$output" | grep -qx "$MY_UID $MY_UID 1" || fail_now "not keep-id's map: $output"
    run "$HUTCH" run --userns single --rootfs "$ROOTFS" cat /proc/self/uid_map
    assert_status 0
    assert_equal "$(norm_map "$output")" "0 $MY_UID 1"
}

@test "nsahead: the keeper's namespace is not taken by a run with other process limits" {
    need_subids
    local low spare
    # the kernel copies the creator's RLIMIT_NPROC (and three more) into a
    # user namespace's ceilings: a spare made for a shell with a lower
    # `ulimit -u` must not cap a run from another shell
    low=$(( $(ulimit -u) - 1 ))
    HUTCH_USERNS_KEEPER=30 run bash -c "ulimit -S -u $low && exec \"\$@\"" _ "$HUTCH" run --rootfs "$ROOTFS" true
    assert_status 0
    wait_for spare_held
    spare=$(spare_userns)
    HUTCH_USERNS_KEEPER=30 run "$HUTCH" run --rootfs "$ROOTFS" readlink /proc/self/ns/user
    assert_status 0
    [ "$output" != "$spare" ] || fail_now "a run took a namespace made with another ulimit -u"
    # a run with the same limits takes the keeper's next one
    wait_for spare_held
    spare=$(spare_userns)
    HUTCH_USERNS_KEEPER=30 run "$HUTCH" run --rootfs "$ROOTFS" readlink /proc/self/ns/user
    assert_status 0
    assert_equal "$output" "$spare"
}

@test "nsahead: a container that runs on does not keep the keeper from making the next namespace" {
    need_subids
    local first
    export HUTCH_USERNS_KEEPER=30
    run "$HUTCH" run --rootfs "$ROOTFS" true
    wait_for spare_held
    first=$(spare_userns)
    bg "$BATS_TEST_TMPDIR/long" "$HUTCH" run --rootfs "$ROOTFS" sh -c 'readlink /proc/self/ns/user; sleep 20'
    wait_for file_has "$BATS_TEST_TMPDIR/long" user
    assert_equal "$(cat "$BATS_TEST_TMPDIR/long")" "$first"
    # the long one took the spare and runs on; the next is made meanwhile
    wait_for spare_other_than "$first" || fail_now "no new namespace while a container runs"
    kill -0 "$BG" || fail_now "the long container ended"
}

@test "nsahead: the keeper ends after HUTCH_USERNS_KEEPER seconds without a run, and takes its socket with it" {
    need_subids
    HUTCH_USERNS_KEEPER=1 run "$HUTCH" run --rootfs "$ROOTFS" true
    assert_status 0
    [ -n "$(keeper_pids)" ] || wait_for spare_ready
    wait_for no_keeper || fail_now "the keeper is still there: $(keeper_pids)"
    [ ! -e "$XDG_RUNTIME_DIR/hutch/userns-keeper.2.sock" ]
}

@test "nsahead: runs at once each get namespaces of their own, from one keeper" {
    need_subids
    local i
    export HUTCH_USERNS_KEEPER=30
    for i in 1 2 3 4 5 6; do
        bg "$BATS_TEST_TMPDIR/out$i" "$HUTCH" run --rootfs "$ROOTFS" sh -c "$NS_IDS; sleep 2"
    done
    for i in 1 2 3 4 5 6; do
        wait "${BGPIDS[$((i - 1))]}" || fail_now "run $i: $(cat "$BATS_TEST_TMPDIR/out$i.err")"
    done
    all_apart "$(cat "$BATS_TEST_TMPDIR/out1")" "$(cat "$BATS_TEST_TMPDIR/out2")" \
        "$(cat "$BATS_TEST_TMPDIR/out3")" "$(cat "$BATS_TEST_TMPDIR/out4")" \
        "$(cat "$BATS_TEST_TMPDIR/out5")" "$(cat "$BATS_TEST_TMPDIR/out6")"
    wait_for spare_ready
    assert_equal "$(keeper_pids | wc -l)" 1
}

@test "nsahead: a keeper killed leaves a socket the next run replaces" {
    need_subids
    local k
    export HUTCH_USERNS_KEEPER=30
    run "$HUTCH" run --rootfs "$ROOTFS" true
    wait_for spare_ready
    k=$(keeper_pids)
    kill -KILL "$k"
    wait_for no_keeper
    [ -S "$XDG_RUNTIME_DIR/hutch/userns-keeper.2.sock" ]
    run "$HUTCH" run --rootfs "$ROOTFS" id -u
    assert_status 0
    assert_equal "$output" 0
    wait_for spare_ready
    [ "$(keeper_pids)" != "$k" ]
}

@test "nsahead: HUTCH_USERNS_KEEPER=0: no keeper; not a number of seconds: no keeper, and a warning" {
    need_subids
    local v
    HUTCH_USERNS_KEEPER=0 run "$HUTCH" run --rootfs "$ROOTFS" true
    assert_status 0
    assert_equal "$output" ""
    no_keeper || fail_now "HUTCH_USERNS_KEEPER=0 started a keeper"
    for v in x -1 1s 86401; do
        HUTCH_USERNS_KEEPER=$v run "$HUTCH" run --rootfs "$ROOTFS" true
        assert_status 0
        assert_output_has "warning: HUTCH_USERNS_KEEPER=$v is not a number of seconds" "no keeper"
        no_keeper || fail_now "HUTCH_USERNS_KEEPER=$v started a keeper"
    done
}
