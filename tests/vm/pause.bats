#!/usr/bin/env bats
# hutch pause and unpause with cgroup v2 delegated, in a VM (tests/vm/run):
# a detached container's counter stops while it is frozen and goes on
# after, ps and inspect say so, the cgroup says frozen; a paused container
# can be stopped; pausing twice and unpausing a running one are errors.
# Freezing needs no controller, so the containers here have no limits and
# run from the tests' own cgroup (D/tests.scope).

bats_require_minimum_version 1.5.0

: "${HUTCH:?HUTCH is not set (run the suite through tests/vm/run)}"
: "${ROOTFS:?ROOTFS is not set (run the suite through tests/vm/run)}"
: "${HUTCH_CGROUP_DELEGATED:?HUTCH_CGROUP_DELEGATED is not set (run the suite through tests/vm/run)}"

D=$HUTCH_CGROUP_DELEGATED

# tests/integration's helpers (run copies them in): empty_store, wait_for
load helpers

setup() {
    S=$BATS_TEST_TMPDIR/store
    H=("$HUTCH" --root "$S")
}

teardown() {
    # a frozen container cannot end: thaw it first
    "${H[@]}" unpause c >/dev/null 2>&1 || true
    empty_store "$S"
    rm -rf "$S"
}

id_of() { "${H[@]}" inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])'; }
state_of() {
    "${H[@]}" inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["State"][sys.argv[1]])' "$2"
}
has_state() { [ "$(state_of "$1" Status 2>/dev/null)" = "$2" ]; }
cgroup_of() {
    "${H[@]}" inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["CgroupPath"] or "")'
}
# how many lines the counter has written to the log
count_of() { grep -c ' stdout F ' "$S/containers/$(id_of "$1")/ctr.log"; }
count_above() { [ "$(count_of "$1")" -gt "$2" ]; }
frozen_is() { grep -qx "frozen $2" "$1/cgroup.events"; }

start_counter() {
    "${H[@]}" run -d --name c --rootfs "$ROOTFS" \
        sh -c 'i=0; while :; do echo "$i"; i=$((i + 1)); sleep 0.1; done' >/dev/null
    wait_for count_above c 5 || fail_now "the counter does not count"
}

@test "pause freezes the counter: ps says Paused, inspect State.Paused, cgroup.events frozen 1; unpause thaws it" {
    start_counter
    cg=$(cgroup_of c)
    [[ $cg == "$D/"* ]] || fail_now "cgroup: $cg"
    run "${H[@]}" pause c
    assert_status 0
    assert_equal "$output" c
    # frozen once pause returns, not some time later
    run cat "$cg/cgroup.events"
    [[ $output == *"frozen 1"* ]] || fail_now "cgroup.events: $output"
    run "${H[@]}" ps --format '{{.Names}} {{.Status}} {{.State}}'
    [[ $output =~ ^c\ Up\ .*\ \(Paused\)\ paused$ ]] || fail_now "ps: $output"
    assert_equal "$(state_of c Paused)" True
    assert_equal "$(state_of c Running)" False
    assert_equal "$(state_of c Status)" paused
    # what was written before the freeze reaches the log; then nothing
    sleep 0.5
    n=$(count_of c)
    sleep 1.5
    assert_equal "$(count_of c)" "$n"
    run "${H[@]}" unpause c
    assert_status 0
    assert_equal "$output" c
    frozen_is "$cg" 0 || fail_now "cgroup.events: $(cat "$cg/cgroup.events")"
    wait_for count_above c $((n + 5)) || fail_now "the counter did not go on: $(count_of c) after $n"
    run "${H[@]}" ps --format '{{.Names}} {{.State}}'
    assert_equal "$output" "c running"
    assert_equal "$(state_of c Paused)" False
}

@test "pause of a paused container and unpause of a running one are errors that say its state" {
    start_counter
    run "${H[@]}" unpause c
    assert_status 125
    assert_output_has "container c is running, not paused"
    "${H[@]}" pause c >/dev/null
    run "${H[@]}" pause c
    assert_status 125
    assert_output_has "container c is paused, not running"
    # and it is still paused
    assert_equal "$(state_of c Status)" paused
    frozen_is "$(cgroup_of c)" 1
    "${H[@]}" unpause c >/dev/null
    "${H[@]}" stop -t 0 c >/dev/null
    run "${H[@]}" pause c
    assert_status 125
    assert_output_has "container c is exited, not running"
}

@test "stop of a paused container kills it at once (it could not act on its stop signal)" {
    start_counter
    cg=$(cgroup_of c)
    "${H[@]}" pause c >/dev/null
    start=$(date +%s)
    run "${H[@]}" stop c
    assert_status 0
    assert_equal "$output" c
    # SIGKILL at once, not after the 10 s of the stop timeout
    [ $(($(date +%s) - start)) -lt 8 ] || fail_now "stop took $(($(date +%s) - start)) s"
    run "${H[@]}" ps -a --format '{{.Names}} {{.Status}}'
    [[ $output == "c Exited (137) "* ]] || fail_now "ps: $output"
    assert_equal "$(state_of c Paused)" False
    # its cgroup went with it
    wait_for test ! -d "$cg" || fail_now "left: $cg"
    # and it starts again, not frozen
    run "${H[@]}" start c
    assert_status 0
    n=$(count_of c)
    wait_for count_above c $((n + 5)) || fail_now "the counter does not count after start"
    frozen_is "$(cgroup_of c)" 0
}
