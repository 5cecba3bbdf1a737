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

@test "a killed container whose store is gone leaves no live mark: the next command of any store drops it" {
    S2=$BATS_TEST_TMPDIR/store2
    # both run before either is killed: any command of store S reconciles
    # (and unmarks) a killed one
    for name in gone kept; do
        bg "$BATS_TEST_TMPDIR/out-$name" "$HUTCH" --root "$S" run --name "$name" --rootfs "$ROOTFS" sleep 1000
        eval "bg_$name=\$BG"
        wait_for has_state "$name" running
        id=$(id_of "$name")
        rundir=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rundir"])' \
            "$S/containers/$id/container.json")
        live=$(dirname "$(dirname "$rundir")")/live/$id
        [ -f "$live" ] || fail_now "no mark $live"
        eval "id_$name=\$id rundir_$name=\$rundir live_$name=\$live pid_$name=$(state_of "$name" Pid)"
    done
    # shellcheck disable=SC2154 # set by eval above
    kill -KILL "$bg_gone" "$bg_kept"
    # shellcheck disable=SC2154
    wait_for sh -c "! kill -0 $pid_gone 2>/dev/null && ! kill -0 $pid_kept 2>/dev/null"
    [ -f "$live_gone" ] && [ -f "$live_kept" ]
    # "gone" loses its record, as when a store is deleted by hand; "kept"
    # keeps it, and another store's command must leave it to its own
    rm -rf -- "${S:?}/containers/$id_gone"
    # (a command of a store without containers has nothing to sweep for)
    run "$HUTCH" --root "$S2" run --rm --rootfs "$ROOTFS" true
    assert_status 0
    [ ! -e "$live_gone" ] || fail_now "the mark of a container no store has is left"
    [ ! -e "$rundir_gone" ] || fail_now "its state is left: $(ls -la "$rundir_gone")"
    [ -f "$live_kept" ] || fail_now "another store's command dropped a mark whose record exists"
    [ -d "$rundir_kept" ]
    # its own store's next command that sweeps reconciles it and drops
    # the mark
    "${H[@]}" images >/dev/null
    run "${H[@]}" ps -a --format '{{.Names}} {{.Status}}'
    [[ $output == "kept Exited (137) "* ]] || fail_now "$output"
    [ ! -e "$live_kept" ] || fail_now "the mark of a reconciled container is left"
    empty_store "$S2"
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

restart_count() {
    "${H[@]}" inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["RestartCount"])'
}
restarts_are() { [ "$(restart_count "$1" 2>/dev/null)" = "$2" ]; }
restarts_at_least() { [ "$(restart_count "$1" 2>/dev/null || echo 0)" -ge "$2" ]; }

# the container's log (k8s-file), as the monitor writes it
log_of() { cat "$S/containers/$(id_of "$1")/ctr.log"; }

@test "run -d: the id at once, the container runs under a monitor in a session of its own, its output in the log" {
    run "${H[@]}" run -d --name d --rootfs "$ROOTFS" sh -c 'echo out; echo err >&2; sleep 1000'
    assert_status 0
    [[ $output =~ ^[0-9a-f]{64}$ ]] || fail_now "not an id: $output"
    run "${H[@]}" ps --format '{{.Names}} {{.State}}'
    assert_equal "$output" "d running"
    mon=$(state_of d ConmonPid)
    [ "$mon" -gt 1 ] && is_alive "$mon"
    [[ $(cat "/proc/$mon/cmdline" | tr '\0' ' ') == *hutch-monitor* ]] || fail_now "monitor: $(tr '\0' ' ' < "/proc/$mon/cmdline")"
    # a session of its own: the terminal's hangup and the shell's job control do not reach it
    [ "$(awk '{print $6}' "/proc/$mon/stat")" = "$mon" ]
    pid=$(state_of d Pid)
    [ "$(awk '{print $4}' "/proc/$pid/stat")" = "$mon" ]
    wait_for sh -c "grep -q ' stderr F err' '$S/containers/$(id_of d)/ctr.log'"
    run log_of d
    printf '%s\n' "$output" | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}[+-][0-9]{2}:[0-9]{2} stdout F out$' ||
        fail_now "log: $output"
    run "${H[@]}" stop -t 1 d
    assert_status 0
    assert_equal "$output" d
    run "${H[@]}" ps -a --format '{{.Status}}'
    [[ $output == "Exited (137) "* ]] || fail_now "$output"
    wait_for sh -c "! kill -0 $mon 2>/dev/null"
}

@test "stop: the stop signal first, SIGKILL after -t; wait prints the code" {
    "${H[@]}" run -d --name s --stop-signal USR1 --rootfs "$ROOTFS" \
        sh -c 'trap "echo usr1; exit 7" USR1; echo ready; sleep 1000 & wait' >/dev/null
    # the trap is set before the signal comes (PID 1 ignores one it has no handler for)
    wait_for sh -c "grep -q 'stdout F ready' '$S/containers/$(id_of s)/ctr.log'"
    run "${H[@]}" stop s
    assert_status 0
    run "${H[@]}" wait s
    assert_status 7
    assert_equal "$output" 7
    run log_of s
    assert_output_has "stdout F usr1"
    # a container that ignores it is killed after -t
    "${H[@]}" run -d --name i --rootfs "$ROOTFS" sleep 1000 >/dev/null
    start=$(date +%s)
    run "${H[@]}" stop -t 1 i
    assert_status 0
    [ $(($(date +%s) - start)) -le 5 ]
    run "${H[@]}" wait i
    assert_equal "$output" 137
}

@test "--restart on-failure:2 starts it twice more, with back-off; always ends with stop; --rm -d removes it" {
    "${H[@]}" run -d --name f --restart on-failure:2 --rootfs "$ROOTFS" sh -c 'echo run; exit 3' >/dev/null
    wait_for restarts_are f 2
    wait_for has_state f exited
    sleep 0.5
    run restart_count f
    assert_equal "$output" 2
    [ "$(log_of f | grep -c 'stdout F run')" -eq 3 ]
    "${H[@]}" run -d --name a --restart always --rootfs "$ROOTFS" sh -c 'sleep 0.2; exit 0' >/dev/null
    wait_for restarts_at_least a 2
    run "${H[@]}" stop a
    assert_status 0
    n=$(restart_count a)
    sleep 1
    assert_equal "$(restart_count a)" "$n"
    run "${H[@]}" ps -a --filter name=a --format '{{.State}}'
    assert_equal "$output" exited
    id=$("${H[@]}" run -d --rm --rootfs "$ROOTFS" sh -c 'sleep 0.3')
    wait_for test ! -e "$S/containers/$id"
}

@test "start -a: the created container's output and exit code" {
    # (a moment first: start -a attaches once the container runs, and what
    # it wrote before is in its log only)
    run "${H[@]}" create --name sa --rootfs "$ROOTFS" sh -c 'sleep 1; echo out; echo err >&2; exit 3'
    assert_status 0
    run "${H[@]}" start -a sa
    assert_status 3
    assert_output_has out err
    run "${H[@]}" start -a sa nosuch
    assert_status 125
    assert_output_has "-a takes one container"
    "${H[@]}" rm -f sa >/dev/null
}

@test "create and start; start again keeps the container's files; restart" {
    tar -C "$ROOTFS" -c . | "${H[@]}" import - bb:1 >/dev/null
    run "${H[@]}" create --name c --pull never bb:1 sh -c 'date >> /runs; cat /runs | wc -l'
    assert_status 0
    [[ $output =~ ^[0-9a-f]{64}$ ]]
    run "${H[@]}" ps -a --format '{{.Names}} {{.Status}}'
    assert_equal "$output" "c Created"
    run "${H[@]}" start c
    assert_equal "$output" c
    run "${H[@]}" wait c
    assert_equal "$output" 0
    "${H[@]}" start c >/dev/null
    "${H[@]}" wait c >/dev/null
    run log_of c
    printf '%s\n' "$output" | grep -q 'stdout F 2$' || fail_now "the second start did not see the first's file: $output"
    # a foreground container started again runs under a monitor
    "${H[@]}" run --name fg --rootfs "$ROOTFS" sh -c 'echo again'
    "${H[@]}" start fg >/dev/null
    "${H[@]}" wait fg >/dev/null
    run log_of fg
    assert_output_has "stdout F again"
    "${H[@]}" run -d --name r --rootfs "$ROOTFS" sleep 1000 >/dev/null
    pid=$(state_of r Pid)
    run "${H[@]}" restart -t 0 r
    assert_status 0
    wait_for has_state r running
    [ "$(state_of r Pid)" != "$pid" ]
    # starting a running container is no error, as docker's
    run "${H[@]}" start r
    assert_status 0
    run "${H[@]}" rm r
    assert_status 125
    run "${H[@]}" rm -f r
    assert_status 0
}

@test "SIGKILL of the monitor: the container dies with it, and the record says so" {
    "${H[@]}" run -d --name m --rootfs "$ROOTFS" sleep 1357.9 >/dev/null
    mon=$(state_of m ConmonPid)
    pid=$(state_of m Pid)
    kill -KILL "$mon"
    wait_for sh -c "! kill -0 $pid 2>/dev/null"
    run "${H[@]}" ps -a --format '{{.Names}} {{.Status}}'
    [[ $output == "m Exited (137) "* ]] || fail_now "$output"
    run state_of m Error
    assert_output_has "was killed"
    [ -z "$(pgrep -u "$MY_UID" -f '^sleep 1357\.9$')" ]
}

@test "attach: output, input with -i, detach keys leave it running; logs none and passthrough" {
    "${H[@]}" run -d -i --name at --rootfs "$ROOTFS" sh -c 'while read l; do echo "got $l"; done; exit 5' >/dev/null
    run bash -c "(echo one; sleep 0.3) | \"$HUTCH\" --root \"$S\" attach at"
    assert_status 5
    assert_output_has "got one"
    "${H[@]}" run -d -i --name k --rootfs "$ROOTFS" sh -c 'while read l; do echo "got $l"; done' >/dev/null
    # ctrl-p ctrl-q
    run bash -c "(printf 'x\n'; sleep 0.3; printf '\020\021') | \"$HUTCH\" --root \"$S\" attach k"
    assert_status 0
    assert_output_has "got x"
    run "${H[@]}" ps --format '{{.Names}}'
    assert_equal "$output" k
    run bash -c "(printf '\001y\n'; sleep 0.3; printf '\001') | \"$HUTCH\" --root \"$S\" attach --detach-keys ctrl-a,ctrl-a k"
    assert_status 0
    run "${H[@]}" attach --detach-keys ctrl-9 k
    assert_status 125
    assert_output_has "--detach-keys \`ctrl-9\`"
    bg "$BATS_TEST_TMPDIR/fgout" "$HUTCH" --root "$S" run --name fga --rootfs "$ROOTFS" sleep 1000.5
    wait_for has_state fga running
    run "${H[@]}" attach fga
    assert_status 125
    assert_output_has "no monitor to attach to"
    kill -KILL "$BG"
    "${H[@]}" rm -f k >/dev/null
    run "${H[@]}" attach at
    assert_status 125
    assert_output_has "container at is exited"
    "${H[@]}" run -d --name n --log-driver none --rootfs "$ROOTFS" echo quiet >/dev/null
    "${H[@]}" wait n >/dev/null
    [ ! -e "$S/containers/$(id_of n)/ctr.log" ]
    run "${H[@]}" run -d --name p --log-driver passthrough --rootfs "$ROOTFS" echo through
    "${H[@]}" wait p >/dev/null
    assert_output_has "through"
}

@test "--log-opt max-size rotates the log; max-file bounds it" {
    "${H[@]}" run -d --name big --log-opt max-size=8k --log-opt max-file=2 --rootfs "$ROOTFS" \
        sh -c 'i=0; while [ $i -lt 2000 ]; do echo "line $i"; i=$((i+1)); done' >/dev/null
    "${H[@]}" wait big >/dev/null
    d=$S/containers/$(id_of big)
    [ -e "$d/ctr.log" ] && [ -e "$d/ctr.log.1" ] && [ ! -e "$d/ctr.log.2" ]
    [ "$(stat -c %s "$d/ctr.log")" -le 8192 ] && [ "$(stat -c %s "$d/ctr.log.1")" -le 8192 ]
    tail -1 "$d/ctr.log" | grep -q 'stdout F line 1999$'
}

@test "bad options of run -d, create and the log are refused with what is allowed" {
    run "${H[@]}" run -d --restart sometimes --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "--restart \`sometimes\`" "unless-stopped"
    run "${H[@]}" run -d --rm --restart always --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "--rm and --restart always conflict"
    run "${H[@]}" run --restart always --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "add -d"
    run "${H[@]}" run -d --log-driver journald --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "k8s-file, none or passthrough"
    run "${H[@]}" run -d --log-opt max-size=lots --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "max-size=SIZE"
    run "${H[@]}" run -d --log-driver none --log-opt max-file=2 --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "only the k8s-file log driver has options"
    run "${H[@]}" run -d --detach-keys ctrl-9 --rootfs "$ROOTFS" true
    assert_status 125
    run "${H[@]}" create -d --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "start it with"
    run -127 "${H[@]}" run -d --rootfs "$ROOTFS" /no/such/program
    run "${H[@]}" ps -a --format '{{.Status}}'
    [[ $output == "Exited (127) "* ]] || fail_now "$output"
    run "${H[@]}" ps -aq
    [ "$(printf '%s\n' "$output" | grep -c .)" -eq 1 ] || fail_now "refused runs left records: $output"
    run "${H[@]}" pause "$("${H[@]}" ps -aq)"
    assert_status 125
    assert_output_has "not running"
}

@test "pause without a cgroup of its own is refused with the reason" {
    "${H[@]}" run -d --name p --cgroups disabled --rootfs "$ROOTFS" sleep 1000 >/dev/null
    run "${H[@]}" inspect p
    printf '%s' "$output" | python3 -c 'import json,sys; assert json.load(sys.stdin)[0]["CgroupPath"] is None'
    run "${H[@]}" pause p
    assert_status 125
    assert_output_has "no cgroup of its own" "hutch info"
    run "${H[@]}" ps --format '{{.State}}'
    assert_equal "$output" running
    "${H[@]}" rm -f p >/dev/null
}

@test "a session without XDG_RUNTIME_DIR finds a running container's state where it was made" {
    local rt=$BATS_TEST_TMPDIR/rt
    mkdir -m 700 "$rt"
    XDG_RUNTIME_DIR=$rt "${H[@]}" run -d --name x --rootfs "$ROOTFS" sleep 1000.25 >/dev/null
    run env -u XDG_RUNTIME_DIR "${H[@]}" ps --format '{{.Names}} {{.State}}'
    assert_equal "$output" "x running"
    run env -u XDG_RUNTIME_DIR "${H[@]}" rm x
    assert_status 125
    assert_output_has "is running"
    run env -u XDG_RUNTIME_DIR "${H[@]}" rm -f x
    assert_status 0
    wait_for no_cmdline 'sleep 1000\.25'
}

@test "a runtime directory that is a symlink is refused" {
    local rt=$BATS_TEST_TMPDIR/rt2
    mkdir -m 700 "$rt" "$BATS_TEST_TMPDIR/elsewhere"
    ln -s "$BATS_TEST_TMPDIR/elsewhere" "$rt/hutch"
    run env XDG_RUNTIME_DIR="$rt" "${H[@]}" run -d --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "is not safe" "a symlink"
}

@test "stop during a restart policy's back-off ends it for good" {
    "${H[@]}" run -d --name b --restart always --rootfs "$ROOTFS" sh -c 'exit 1' >/dev/null
    wait_for restarts_at_least b 3
    run "${H[@]}" stop b
    assert_status 0
    n=$(restart_count b)
    sleep 2
    assert_equal "$(restart_count b)" "$n"
    run "${H[@]}" ps -a --format '{{.State}}'
    assert_equal "$output" exited
    [ -z "$(pgrep -u "$MY_UID" -f "hutch-monitor --id $(id_of b)")" ]
}

@test "the same --name given to runs at once: one gets it, the others are refused" {
    local i pids=()
    for i in 1 2 3 4 5 6; do
        "$HUTCH" --root "$S" run --name same --rootfs "$ROOTFS" true >/dev/null 2>&1 &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait_exit "$i" 30; done
    run "${H[@]}" ps -a --format '{{.Names}}'
    assert_equal "$output" same
    run ls "$S/containers"
    [ "$(printf '%s\n' "$output" | grep -c .)" -eq 1 ] || fail_now "records: $output"
}

@test "top: a passwd that is a FIFO does not hang it; the container's words are shown escaped" {
    "${H[@]}" run -d --name t --rootfs "$(fresh_rootfs)" \
        sh -c 'rm /etc/passwd; mkfifo /etc/passwd; exec sh -c "sleep 1000.5; : $(printf "\033[2J")"' >/dev/null
    wait_for sh -c "\"$HUTCH\" --root \"$S\" top t | grep -q 'sleep 1000.5'"
    run timeout 10 "${H[@]}" top t
    assert_status 0
    [[ $output != *$'\033'* ]] || fail_now "an escape sequence reached the terminal"
}

@test "attach: a detach key prefix then a full message reaches the container whole" {
    "${H[@]}" run -d -i --name c --rootfs "$ROOTFS" sh -c 'cat > /tmp/in; wc -c < /tmp/in' >/dev/null
    run bash -c "(printf '\020'; sleep 0.3; head -c 8192 /dev/zero | tr '\0' a; sleep 0.3) | \"$HUTCH\" --root \"$S\" attach c"
    assert_status 0
    assert_equal "$(printf '%s\n' "$output" | tr -d ' ')" 8193
}

@test "a damaged record: ps goes on, inspect and rm say it is damaged" {
    "${H[@]}" run --name ok --rootfs "$ROOTFS" true
    mkdir "$S/containers/$(printf 'a%.0s' $(seq 64))"
    echo '{"id": 5, "name": 7}' > "$S/containers/$(printf 'a%.0s' $(seq 64))/container.json"
    run "${H[@]}" ps -a --format '{{.Names}}'
    assert_status 0
    assert_equal "$output" ok
    run "${H[@]}" inspect aaaa
    assert_status 125
    assert_output_has "is damaged" "hutch rm -f"
}

@test "run -d: the monitor holds no fd of the caller's" {
    exec 7> "$BATS_TEST_TMPDIR/held"
    "${H[@]}" run -d --name f --rootfs "$ROOTFS" sleep 1000.75 >/dev/null
    exec 7>&-
    mon=$(state_of f ConmonPid)
    run ls -l "/proc/$mon/fd"
    [[ $output != *held* ]] || fail_now "the monitor holds the caller's fd: $output"
}

@test "port lists what a container publishes; inspect shows its ports and its configuration" {
    tar -C "$ROOTFS" -c . | "${H[@]}" import - bb:1 >/dev/null
    "${H[@]}" run -d --name w -p 127.0.0.1::8080 -p 127.0.0.1::53/udp -e GREETING=hi -w /tmp \
        --pull never bb:1 sleep 1000 >/dev/null
    run "${H[@]}" port w
    assert_status 0
    printf '%s\n' "$output" | grep -Eq '^8080/tcp -> 127\.0\.0\.1:[0-9]+$' || fail_now "port: $output"
    printf '%s\n' "$output" | grep -Eq '^53/udp -> 127\.0\.0\.1:[0-9]+$' || fail_now "port: $output"
    run "${H[@]}" port w 8080
    [[ $output =~ ^127\.0\.0\.1:[0-9]+$ ]] || fail_now "port 8080: $output"
    run "${H[@]}" port w 9999
    assert_status 125
    assert_output_has "publishes no port 9999/tcp"
    run "${H[@]}" inspect w
    printf '%s' "$output" | python3 -c '
import json, sys
c = json.load(sys.stdin)[0]
p = c["NetworkSettings"]["Ports"]
assert p["8080/tcp"][0]["HostIp"] == "127.0.0.1" and int(p["8080/tcp"][0]["HostPort"]) > 0, p
assert "GREETING=hi" in c["Config"]["Env"], c["Config"]
assert c["Config"]["WorkingDir"] == "/tmp", c["Config"]
assert c["Image"].startswith("sha256:") and c["ImageName"] == "bb:1", c
'
    "${H[@]}" rm -f w >/dev/null
}

@test "container prune removes what does not run, and only that; it asks on a terminal" {
    "${H[@]}" run --name done --rootfs "$ROOTFS" true
    "${H[@]}" create --name new --rootfs "$ROOTFS" true >/dev/null
    "${H[@]}" run -d --name up --rootfs "$ROOTFS" sleep 1000 >/dev/null
    run "${H[@]}" container prune </dev/null
    assert_status 125
    assert_output_has "add -f"
    run "${H[@]}" container prune -f
    assert_status 0
    [ "$(printf '%s\n' "$output" | grep -c .)" -eq 2 ] || fail_now "pruned: $output"
    run "${H[@]}" ps -a --format '{{.Names}}'
    assert_equal "$output" up
    run "${H[@]}" container ls --format '{{.Names}}'
    assert_equal "$output" up
    "${H[@]}" rm -f up >/dev/null
}

@test "run -d --pause: hutch-init alone is PID 1 and holds the namespaces for exec; stop ends it with 0" {
    run "${H[@]}" run -d --pause --name pz --rootfs "$ROOTFS"
    assert_status 0
    run "${H[@]}" exec pz sh -c 'cat /proc/1/cmdline | tr "\0" " "; echo; echo $$'
    assert_status 0
    assert_equal "${lines[0]}" "hutch-init --pause "
    # an exec'd process whose parent dies is reaped by PID 1, not left a zombie
    run "${H[@]}" exec pz sh -c 'sh -c "sleep 0.2" & exit 0'
    sleep 0.5
    run "${H[@]}" exec pz sh -c 'grep -l "^State:.*Z" /proc/[0-9]*/status 2>/dev/null | wc -l'
    assert_equal "$output" 0
    run "${H[@]}" stop pz
    assert_status 0
    run "${H[@]}" inspect pz
    assert_output_has '"ExitCode": 0'
    "${H[@]}" rm pz > /dev/null
}

@test "error: run --pause with a command or --entrypoint: 125, says exec is the way" {
    run "${H[@]}" run --pause --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "--pause runs no command" "hutch exec"
    tar -C "$ROOTFS" -c . | "${H[@]}" import - bb:1 >/dev/null
    run "${H[@]}" run --pause --entrypoint /bin/sh --pull never bb:1
    assert_status 125
    assert_output_has "leave out --entrypoint"
}
