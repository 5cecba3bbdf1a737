#!/usr/bin/env bats
# hutch logs: what a detached container wrote, as its monitor logged it
# (k8s-file, rotated): stdout's lines on stdout and stderr's on stderr,
# --tail, -t, --since/--until, -f that ends when the container has ended
# and that follows it through the restarts its policy makes, and the
# errors (exit 125 with the cause).  Each test has a store of its own.

load helpers

setup() {
    STORE=$BATS_TEST_TMPDIR/store
    BGPIDS=()
}

teardown() {
    kill_bgpids
    empty_store "$STORE"
    rm -rf "$STORE" || true
}

H() { "$HUTCH" --root "$STORE" "$@"; }

# the field PATH of container $1's record as inspect prints it (keys
# joined by dots: State.Status, RestartCount)
inspect_of() {
    H inspect "$1" | python3 -c 'import json, sys
v = json.load(sys.stdin)[0]
for k in sys.argv[1].split("."):
    v = v[k]
print(v)' "$2"
}

# exited ID: it has exited
exited() { [ "$(inspect_of "$1" State.Status)" = exited ]; }

# detach ARGS...: hutch run -d ARGS; the container's id in ID
detach() {
    run H run -d "$@"
    assert_status 0
    ID=$(printf '%s\n' "$output" | tail -n 1)
    [ ${#ID} -eq 64 ] || fail_now "hutch run -d printed no id: $output"
}

# finished ARGS...: a detached container that has ended; its id in ID
finished() {
    detach "$@"
    run timeout 30 "$HUTCH" --root "$STORE" wait "$ID"
    assert_status 0
}

@test "logs of a finished container: stdout on stdout, stderr on stderr, in order" {
    # (the monitor reads the two pipes in turn: the pauses make the order)
    finished --rootfs "$ROOTFS" sh -c \
        'echo out1; sleep 0.2; echo err1 >&2; sleep 0.2; echo out2; sleep 0.2; echo err2 >&2'
    run --separate-stderr H logs "$ID"
    assert_status 0
    assert_equal "$output" "$(printf 'out1\nout2')"
    assert_equal "$stderr" "$(printf 'err1\nerr2')"
    # both to one pipe: the order they were written in
    run H logs "$ID"
    assert_equal "$output" "$(printf 'out1\nerr1\nout2\nerr2')"
}

@test "logs finds the container by name and by a prefix of its id" {
    finished --name logged --rootfs "$ROOTFS" echo hello
    run H logs logged
    assert_status 0
    assert_equal "$output" hello
    run H logs "${ID:0:12}"
    assert_status 0
    assert_equal "$output" hello
}

@test "a line written in pieces, and one without its newline" {
    finished --rootfs "$ROOTFS" sh -c 'printf "one "; sleep 0.3; printf "line\n"; printf "no newline"'
    run H logs "$ID"
    assert_status 0
    assert_equal "$output" "$(printf 'one line\nno newline')"
}

@test "--tail N: the last N lines; 0: none; all: every one" {
    finished --rootfs "$ROOTFS" sh -c 'seq 1 10; echo err >&2'
    run --separate-stderr H logs --tail 3 "$ID"
    assert_status 0
    assert_equal "$output" "$(printf '9\n10')"
    assert_equal "$stderr" err
    run H logs --tail 0 "$ID"
    assert_status 0
    assert_equal "$output" ""
    run --separate-stderr H logs --tail all "$ID"
    assert_equal "$(printf '%s\n' "$output" | wc -l)" 10
    run --separate-stderr H logs --tail=-1 "$ID"
    assert_equal "$(printf '%s\n' "$output" | wc -l)" 10
}

@test "-t: each line after its time, RFC 3339 with nanoseconds" {
    local re='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}(Z|[+-][0-9]{2}:[0-9]{2}) '
    finished --rootfs "$ROOTFS" sh -c 'echo first; echo second'
    run H logs -t "$ID"
    assert_status 0
    [ "${#lines[@]}" -eq 2 ] || fail_now "expected two lines: $output"
    [[ ${lines[0]} =~ ${re}first$ ]] || fail_now "not a timestamped line: ${lines[0]}"
    [[ ${lines[1]} =~ ${re}second$ ]] || fail_now "not a timestamped line: ${lines[1]}"
    run H logs --timestamps --tail 1 "$ID"
    [[ $output =~ ${re}second$ ]] || fail_now "not a timestamped line: $output"
}

@test "--since and --until: a time in the future, in the past, a duration" {
    finished --rootfs "$ROOTFS" sh -c 'echo line'
    run H logs --since -1h "$ID"
    assert_status 0
    assert_equal "$output" ""
    run H logs --since "$(($(date +%s) + 3600))" "$ID"
    assert_status 0
    assert_equal "$output" ""
    run H logs --until 2000-01-01T00:00:00Z "$ID"
    assert_status 0
    assert_equal "$output" ""
    run H logs --since 1h --until -1h "$ID"
    assert_status 0
    assert_equal "$output" line
    run H logs --since "$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)" "$ID"
    assert_equal "$output" line
}

@test "-f prints what comes and ends when the container ends" {
    detach --rootfs "$ROOTFS" sh -c 'echo before; sleep 2; echo after; echo late >&2'
    run --separate-stderr timeout 30 "$HUTCH" --root "$STORE" logs -f "$ID"
    assert_status 0
    assert_equal "$output" "$(printf 'before\nafter')"
    assert_equal "$stderr" late
    exited "$ID" || fail_now "logs -f ended before the container"
}

@test "-f on a container that has ended prints its log and ends" {
    finished --rootfs "$ROOTFS" echo done
    run timeout 10 "$HUTCH" --root "$STORE" logs -f "$ID"
    assert_status 0
    assert_equal "$output" done
}

@test "-f follows a container through the restarts of --restart on-failure:2" {
    detach --restart on-failure:2 --rootfs "$ROOTFS" sh -c 'echo run; sleep 1; exit 3'
    run timeout 60 "$HUTCH" --root "$STORE" logs -f "$ID"
    assert_status 0
    # three runs: the first and two restarts
    assert_equal "$output" "$(printf 'run\nrun\nrun')"
    exited "$ID" || fail_now "logs -f ended before the last run"
    assert_equal "$(inspect_of "$ID" RestartCount)" 2
}

@test "-f with --tail 0 prints only what comes" {
    detach --rootfs "$ROOTFS" sh -c 'echo old; sleep 2; echo new'
    sleep 1
    run timeout 30 "$HUTCH" --root "$STORE" logs -f --tail 0 "$ID"
    assert_status 0
    assert_equal "$output" new
}

# a contiguous run of "lineN" lines ending with line$1, one a line: its length
lines_upto() {
    printf '%s\n' "$output" | awk -v last="$1" '
        { n = substr($0, 5) + 0
          if ($0 != "line" n || (NR > 1 && n != prev + 1)) { print "out of order at " NR ": " $0; exit 1 }
          prev = n }
        END { if (prev != last) { print "ends with line" prev; exit 1 }; print NR }'
}

@test "a rotated log: the files read oldest first, the oldest output gone" {
    finished --log-opt max-size=4k --log-opt max-file=3 --rootfs "$ROOTFS" \
        sh -c 'i=0; while [ $i -lt 600 ]; do echo line$i; i=$((i + 1)); done'
    [ -f "$STORE/containers/$ID/ctr.log.2" ] || fail_now "the log was not rotated"
    run H logs "$ID"
    assert_status 0
    n=$(lines_upto 599) || fail_now "$n"
    # three files of 4k keep fewer than 600 lines of ~55 bytes, and more than two files' worth
    [ "$n" -gt 100 ] && [ "$n" -lt 600 ] || fail_now "$n lines"
    run H logs --tail 3 "$ID"
    assert_equal "$output" "$(printf 'line597\nline598\nline599')"
}

@test "-f through rotations: every line once, in order" {
    detach --log-opt max-size=4k --log-opt max-file=3 --rootfs "$ROOTFS" \
        sh -c 'i=0; while [ $i -lt 600 ]; do echo line$i; i=$((i + 1)); [ $((i % 20)) = 0 ] && sleep 0.1; done; true'
    run timeout 60 "$HUTCH" --root "$STORE" logs -f "$ID"
    assert_status 0
    n=$(lines_upto 599) || fail_now "$n"
    assert_equal "$n" 600
}

@test "errors: no such container, a container without a log, bad values (125)" {
    run H logs nosuchcontainer
    assert_status 125
    assert_output_has "nosuchcontainer"

    finished --name quiet --log-driver none --rootfs "$ROOTFS" echo hidden
    run H logs quiet
    assert_status 125
    assert_output_has "container quiet has no log" "--log-driver none"

    run H logs --since yesterday quiet
    assert_status 125
    assert_output_has "--since" "yesterday" "expected a time"
    run H logs --until 2006-13-01 quiet
    assert_status 125
    assert_output_has "--until" "2006-13-01"
    run H logs --tail -5 quiet
    assert_status 125
    assert_output_has "--tail" "number of lines"
    run H logs --tail many quiet
    assert_status 125
    run H logs
    assert_status 125
    assert_output_has "expected one CONTAINER"
    run H logs quiet other
    assert_status 125
}

@test "a container with --log-driver passthrough, or in the foreground, has no log" {
    run H run --name through --rootfs "$ROOTFS" echo shown
    assert_status 0
    assert_equal "$output" shown
    run H logs through
    assert_status 125
    assert_output_has "container through has no log" "went to the terminal"
    detach --name through2 --log-driver passthrough --rootfs "$ROOTFS" true
    run H logs through2
    assert_status 125
    assert_output_has "container through2 has no log" "went to the terminal"
}
