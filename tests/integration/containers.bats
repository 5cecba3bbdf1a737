#!/usr/bin/env bats
# Containers that outlive their command (issue 15): records, names, ps,
# inspect, rm, rename, wait, stop and kill, in the foreground and under a
# monitor (run -d, create, start, restart), and what is left when the
# process holding a container is killed.  Every test has a store of its
# own (S), so that the containers it lists are its own.

load helpers

setup() {
    BGPIDS=()
    S=$BATS_TEST_TMPDIR/store
    H=("$HUTCH" --root "$S")
}

teardown() {
    kill_bgpids
    empty_store "$S"
}

# the full id of the container NAME
id_of() { "${H[@]}" inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])'; }

# has_state NAME STATUS: container NAME's status is STATUS now
has_state() { [ "$(state_of "$1" Status 2>/dev/null)" = "$2" ]; }

# the state field KEY of container NAME, from inspect
state_of() {
    "${H[@]}" inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["State"][sys.argv[1]])' "$2"
}

@test "a foreground container is recorded: ps -a shows it exited with its code, rm removes it" {
    run "${H[@]}" run --name fg1 --rootfs "$ROOTFS" sh -c 'echo hi; exit 3'
    assert_status 3
    assert_output_has "hi"
    run "${H[@]}" ps -a --format '{{.Names}} {{.State}} {{.Status}}'
    assert_status 0
    [[ $output == "fg1 exited Exited (3) "* ]] || fail_now "ps: $output"
    # not running: plain ps does not list it
    run "${H[@]}" ps -q
    assert_equal "$output" ""
    id=$(id_of fg1)
    [[ $id =~ ^[0-9a-f]{64}$ ]] || fail_now "id: $id"
    [ -f "$S/containers/$id/container.json" ]
    run "${H[@]}" rm fg1
    assert_status 0
    assert_equal "$output" "fg1"
    [ ! -e "$S/containers/$id" ]
    run "${H[@]}" ps -aq
    assert_equal "$output" ""
}

@test "--rm removes the container when it ends; a generated name is adjective_noun" {
    run "${H[@]}" run --rm --rootfs "$ROOTFS" true
    assert_status 0
    run "${H[@]}" ps -aq
    assert_equal "$output" ""
    "${H[@]}" run --rootfs "$ROOTFS" true
    run "${H[@]}" ps -a --format '{{.Names}}'
    [[ $output =~ ^[a-z]+_[a-z]+$ ]] || fail_now "name: $output"
}

@test "an image's container keeps its changes until rm; --rm leaves nothing in the store" {
    tar -C "$ROOTFS" -c . | "${H[@]}" import - bb:1 >/dev/null
    "${H[@]}" run --name keep --pull never bb:1 sh -c 'echo data > /new'
    id=$(id_of keep)
    [ -d "$S/containers/$id/upper" ]
    run "${H[@]}" run --rm --pull never bb:1 true
    assert_status 0
    run ls "$S/containers"
    assert_equal "$output" "$id"
    run "${H[@]}" rmi bb:1
    assert_status 125
    assert_output_has "is used by a container" "hutch rm"
    "${H[@]}" rm keep
    run ls "$S/containers"
    assert_equal "$output" ""
}

@test "names: --name in use, a bad name, rename, and lookups by id, prefix and name" {
    "${H[@]}" run --name one --rootfs "$ROOTFS" true
    run "${H[@]}" run --name one --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "the name \`one\` is already in use by container" "hutch rm one"
    run "${H[@]}" run --name 'bad/name' --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "is not valid"
    run "${H[@]}" ps -aq
    [ "$(printf '%s\n' "$output" | grep -c .)" -eq 1 ] || fail_now "a refused run left a record: $output"
    id=$(id_of one)
    run "${H[@]}" rename one two
    assert_status 0
    run "${H[@]}" inspect one
    assert_status 125
    assert_output_has "no container \`one\`"
    [ "$(id_of two)" = "$id" ]
    [ "$(id_of "${id:0:5}")" = "$id" ]
    [ "$(id_of "$id")" = "$id" ]
    # the old name is free again
    "${H[@]}" run --name one --rootfs "$ROOTFS" true
    run "${H[@]}" rename one two
    assert_status 125
    assert_output_has "already in use"
}

@test "an ambiguous prefix and a missing container are errors that say so" {
    for i in $(seq 1 20); do "${H[@]}" run --rootfs "$ROOTFS" true; done
    # 20 ids of 16 possible first digits: two share one
    p=$("${H[@]}" ps -aq --no-trunc | cut -c1 | sort | uniq -d | head -1)
    run "${H[@]}" inspect "$p"
    assert_status 125
    assert_output_has "\`$p\` is ambiguous" "give more of the id"
    for cmd in inspect rm stop kill start wait port top rename pause; do
        args=(nosuch)
        [ "$cmd" = rename ] && args=(nosuch other)
        run "${H[@]}" "$cmd" "${args[@]}"
        assert_status 125
        assert_output_has "no container \`nosuch\`"
    done
}

@test "ps: -n, --no-trunc, filters, json, a bad filter and a bad format" {
    run "${H[@]}" run --name a --label tier=web --rootfs "$ROOTFS" sh -c 'exit 1'
    assert_status 1
    "${H[@]}" run --name b --label tier=db --rootfs "$ROOTFS" true
    "${H[@]}" create --name c --rootfs "$ROOTFS" true >/dev/null
    run "${H[@]}" ps -n 1 --format '{{.Names}}'
    assert_equal "$output" "c"
    run "${H[@]}" ps -a --filter status=created --format '{{.Names}} {{.Status}}'
    assert_equal "$output" "c Created"
    run "${H[@]}" ps -a --filter exited=1 --format '{{.Names}}'
    assert_equal "$output" "a"
    run "${H[@]}" ps -a --filter label=tier --format '{{.Names}}'
    assert_equal "$(printf '%s\n' "$output" | sort | tr '\n' ' ')" "a b "
    run "${H[@]}" ps -a --filter label=tier=db --filter name=b --format '{{.Names}}'
    assert_equal "$output" "b"
    run "${H[@]}" ps -a --filter name=a --filter name=b --format '{{.Names}}'
    assert_equal "$(printf '%s\n' "$output" | sort | tr '\n' ' ')" "a b "
    run "${H[@]}" ps -a --no-trunc -q
    [[ ${lines[0]} =~ ^[0-9a-f]{64}$ ]] || fail_now "no-trunc: $output"
    run "${H[@]}" ps -a --format json
    assert_status 0
    printf '%s' "$output" | python3 -c '
import json, sys
a = json.load(sys.stdin)
assert sorted(x["Names"][0] for x in a) == ["a", "b", "c"], a
assert [x["ExitCode"] for x in a if x["Names"][0] == "a"] == [1], a'
    run "${H[@]}" ps --filter color=red
    assert_status 125
    assert_output_has "--filter \`color=red\`" "id, name, status"
    run "${H[@]}" ps --filter status=sleeping
    assert_status 125
    assert_output_has "created, running, paused or exited"
    run "${H[@]}" ps --format '{{.Nope}}'
    assert_status 125
    assert_output_has "--format \`{{.Nope}}\`"
}

@test "a foreground container can be stopped, killed and waited for from another shell" {
    # PID 1 ignores signals it has no handler for: the shell has one
    bg "$BATS_TEST_TMPDIR/out" "$HUTCH" --root "$S" run --name fg --rootfs "$ROOTFS" \
        sh -c 'trap "exit 143" TERM; sleep 1000 & wait'
    wait_for has_state fg running
    run "${H[@]}" ps --format '{{.Names}} {{.State}}'
    assert_equal "$output" "fg running"
    pid=$(state_of fg Pid)
    [ "$pid" -gt 1 ] && is_alive "$pid"
    bg "$BATS_TEST_TMPDIR/wait" "$HUTCH" --root "$S" wait fg
    waiter=$BG
    run "${H[@]}" rm fg
    assert_status 125
    assert_output_has "container fg is running" "rm -f"
    run "${H[@]}" kill -s TERM fg
    assert_status 0
    wait_exit "$waiter"
    assert_equal "$(cat "$BATS_TEST_TMPDIR/wait")" "143"
    assert_equal "$WAIT_STATUS" "143"
    run "${H[@]}" ps -a --format '{{.Status}}'
    [[ $output == "Exited (143) "* ]] || fail_now "$output"
    run "${H[@]}" kill fg
    assert_status 125
    assert_output_has "container fg is not running"
    # stop of a container that does not run is no error, as docker's
    run "${H[@]}" stop fg
    assert_status 0
}

@test "SIGKILL of a foreground hutch: the record says so, nothing is left, --rm ones go at the next command" {
    bg "$BATS_TEST_TMPDIR/out" "$HUTCH" --root "$S" run --name k --rootfs "$ROOTFS" sleep 1000
    wait_for has_state k running
    pid=$(state_of k Pid)
    kill -KILL "$BG"
    wait_for sh -c "! kill -0 $pid 2>/dev/null"
    run "${H[@]}" ps -a --format '{{.Names}} {{.Status}}'
    [[ $output == "k Exited (137) "* ]] || fail_now "$output"
    run state_of k Error
    assert_output_has "was killed"
    tar -C "$ROOTFS" -c . | "${H[@]}" import - bb:1 >/dev/null
    bg "$BATS_TEST_TMPDIR/out2" "$HUTCH" --root "$S" run --rm --name r --pull never bb:1 sleep 1000
    wait_for has_state r running
    id=$(id_of r)
    kill -KILL "$BG"
    wait_for test ! -d "$S/containers/$id/merged/bin"
    # ps already hides it; the next command removes it
    run "${H[@]}" ps -a --format '{{.Names}}'
    assert_equal "$output" "k"
    "${H[@]}" images >/dev/null
    "${H[@]}" rm k >/dev/null
    [ ! -e "$S/containers/$id" ] || fail_now "left: $(ls -la "$S/containers/$id")"
    run "${H[@]}" ps -aq
    assert_equal "$output" ""
}

@test "inspect: state, config, host config, namespaces of a running container" {
    bg "$BATS_TEST_TMPDIR/out" "$HUTCH" --root "$S" run --name i --label a=b --rootfs "$ROOTFS" sleep 1000
    wait_for has_state i running
    run "${H[@]}" inspect i
    assert_status 0
    printf '%s' "$output" | python3 -c '
import json, os, sys
c = json.load(sys.stdin)[0]
assert c["Name"] == "i" and len(c["Id"]) == 64, c
assert c["State"]["Running"] is True and c["State"]["Pid"] > 1, c["State"]
assert c["Config"]["Labels"] == {"a": "b"}, c["Config"]
assert c["Config"]["Cmd"] == ["sleep", "1000"], c["Config"]
assert c["HostConfig"]["RestartPolicy"]["Name"] == "no", c["HostConfig"]
pid = c["State"]["Pid"]
for ns, ino in c["Namespaces"].items():
    assert os.stat("/proc/%d/ns/%s" % (pid, ns)).st_ino == ino, ns
assert c["Namespaces"]["pid"] != os.stat("/proc/self/ns/pid").st_ino
'
    run "${H[@]}" inspect i nosuch
    assert_status 125
    assert_output_has "no container \`nosuch\`"
}

@test "top lists the container's processes with its user names" {
    bg "$BATS_TEST_TMPDIR/out" "$HUTCH" --root "$S" run --name t --rootfs "$ROOTFS" sh -c 'sleep 1000 & sleep 999'
    wait_for has_state t running
    wait_for sh -c "\"$HUTCH\" --root \"$S\" top t | grep -q 'sleep 1000'"
    run "${H[@]}" top t
    assert_status 0
    assert_output_has "USER" "PID" "COMMAND" "sleep 999" "sleep 1000"
    [[ ${lines[1]} == root* ]] || fail_now "user: $output"
    kill -KILL "$BG"
    wait_for sh -c "! \"$HUTCH\" --root \"$S\" top t >/dev/null 2>&1"
    run "${H[@]}" top t
    assert_status 125
    assert_output_has "is not running"
}
