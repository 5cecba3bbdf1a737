#!/usr/bin/env bats
# hutch stats on this host: the columns, NET I/O from the container's
# network namespace, the -- columns and the one line that says why, zeros
# for containers that do not run, streaming and its end, and the errors.
# What the cgroup columns show with cgroup v2 delegated (memory, pids,
# CPU, block I/O) is tests/vm/stats.bats's.

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

HEADING="CONTAINER ID   NAME   CPU %   MEM USAGE / LIMIT   MEM %   NET I/O   BLOCK I/O   PIDS"

# the heading with its columns as padded: one space between words of a
# column, three or more between columns
heading_ok() {
    [ "$(printf '%s\n' "$1" | tr -s ' ')" = "$(printf '%s\n' "$HEADING" | tr -s ' ')" ] &&
        printf '%s\n' "$1" | grep -q '^CONTAINER ID   NAME  '
}

# the state field KEY of container NAME, from inspect
state_of() {
    "${H[@]}" inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["State"][sys.argv[1]])' "$2"
}
has_state() { [ "$(state_of "$1" Status 2>/dev/null)" = "$2" ]; }
cgroup_of() {
    "${H[@]}" inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["CgroupPath"] or "")'
}
id_of() { "${H[@]}" inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])'; }
log_has() { grep -q -- "$2" "$S/containers/$(id_of "$1")/ctr.log" 2>/dev/null; }

# the row of container NAME in a table ($1), columns separated by tabs
row_of() {
    printf '%s\n' "$1" | awk -v n="$2" '
        NR == 1 { next }
        { line = $0; gsub(/   +/, "\t", line); split(line, f, "\t"); if (f[2] == n) print line }'
}

# field N (1-based) of a tab-separated row
col() { printf '%s\n' "$1" | cut -f "$2"; }

@test "--no-stream: docker's columns; NET I/O counts what an image's container sent and received over slirp" {
    tar -C "$ROOTFS" -c . | "${H[@]}" import - bb:1 >/dev/null
    "${H[@]}" run -d --name net --pull never bb:1 sh -c 'ping -c 3 10.0.2.2; sleep 1000' >/dev/null
    wait_for log_has net "3 packets received" || fail_now "no ping: $(cat "$S/containers/$(id_of net)/ctr.log")"
    run --separate-stderr "${H[@]}" stats --no-stream
    assert_status 0
    heading_ok "${lines[0]}" || fail_now "heading: ${lines[0]}"
    [ "${#lines[@]}" -eq 2 ] || fail_now "rows: $output"
    row=$(row_of "$output" net)
    [ -n "$row" ] || fail_now "no row for net: $output"
    id=$(id_of net)
    assert_equal "$(col "$row" 1)" "${id:0:12}"
    # three pings of 84 bytes each way, and ARP: at least 252 B each way
    net=$(col "$row" 6)
    [[ $net =~ ^([0-9.]+)(B|kB)\ /\ ([0-9.]+)(B|kB)$ ]] || fail_now "NET I/O: $net"
    [ "${BASH_REMATCH[2]}" = kB ] || [ "${BASH_REMATCH[1]}" -ge 252 ] || fail_now "received: $net"
    [ "${BASH_REMATCH[4]}" = kB ] || [ "${BASH_REMATCH[3]}" -ge 252 ] || fail_now "sent: $net"
    if [ -z "$(cgroup_of net)" ]; then
        # no cgroup of its own: every cgroup column shows --
        for c in 3 4 5 7 8; do
            assert_equal "$(col "$row" $c)" "--"
        done
    else
        # a cgroup of its own: CPU time and the task count need no controller
        [[ $(col "$row" 3) =~ ^[0-9]+\.[0-9][0-9]%$ ]] || fail_now "CPU %: $row"
        [[ $(col "$row" 8) =~ ^[1-9][0-9]*$ ]] || fail_now "PIDS: $row"
    fi
}

@test "--format json: the raw numbers, null for what could not be read" {
    tar -C "$ROOTFS" -c . | "${H[@]}" import - bb:1 >/dev/null
    "${H[@]}" run -d --name j --pull never bb:1 sh -c 'ping -c 2 10.0.2.2; sleep 1000' >/dev/null
    wait_for log_has j "2 packets received"
    run --separate-stderr "${H[@]}" stats --no-stream --format json j
    assert_status 0
    printf '%s' "$output" | python3 -c '
import json, os, sys
a = json.load(sys.stdin)
assert len(a) == 1, a
s = a[0]
assert s["ContainerID"] == sys.argv[1] and s["Name"] == "j" and s["State"] == "running", s
assert s["NetInput"] >= 168 and s["NetOutput"] >= 168, s
cg = sys.argv[2]
keys = ["CPU", "CPUUsec", "MemUsage", "MemLimit", "MemPerc", "BlockInput", "BlockOutput", "PIDs"]
if not cg:
    assert all(s[k] is None for k in keys), s
else:
    assert s["CPUUsec"] > 0 and s["CPU"] >= 0 and s["PIDs"] >= 1, s
    mem = os.path.exists(cg + "/memory.current")
    assert (s["MemUsage"] is not None) == mem and (s["MemLimit"] is not None) == mem, s
    assert (s["BlockInput"] is not None) == os.path.exists(cg + "/io.stat"), s
' "$(id_of j)" "$(cgroup_of j)"
}

@test "-- columns: one line on stderr says why, once per invocation, for every container it concerns" {
    "${H[@]}" run -d --name a --rootfs "$ROOTFS" sleep 1000 >/dev/null
    "${H[@]}" run -d --name b --rootfs "$ROOTFS" sleep 1000 >/dev/null
    run --separate-stderr "${H[@]}" stats --no-stream
    assert_status 0
    if ! printf '%s\n' "$output" | grep -q -- ' -- '; then
        skip "every column could be read here: nothing to explain"
    fi
    printf '%s\n' "$stderr" >&2
    [ "$(printf '%s\n' "$stderr" | grep -c '^hutch stats: ')" -eq 1 ] || fail_now "stderr: $stderr"
    [[ $stderr == *" show -- for "*a*b* ]] || [[ $stderr == *" show -- for "*b*a* ]] ||
        [[ $stderr == *" shows -- for "*a*b* ]] || [[ $stderr == *" shows -- for "*b*a* ]] ||
        fail_now "stderr: $stderr"
    [[ $stderr == *"\`hutch info\` says what this host has"* ]]
    if [ -z "$(cgroup_of a)" ]; then
        [[ $stderr == *"no cgroup of its own"* ]] || fail_now "stderr: $stderr"
    else
        # this host: a cgroup of its own on the unified hierarchy, whose
        # memory and io controllers cgroup v1 holds
        [[ $stderr == *"controller"*"in its cgroup"* ]] || fail_now "stderr: $stderr"
    fi
    # streaming in a pipe: successive plain tables, the reason said once
    timeout 3.5 "$HUTCH" --root "$S" stats > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" || true
    n=$(grep -c '^CONTAINER ID' "$BATS_TEST_TMPDIR/out")
    [ "$n" -ge 2 ] || fail_now "tables: $(cat "$BATS_TEST_TMPDIR/out")"
    ! grep -q $'\033' "$BATS_TEST_TMPDIR/out" || fail_now "escape codes in a pipe"
    [ "$(grep -c '^hutch stats: ' "$BATS_TEST_TMPDIR/err")" -eq 1 ] || fail_now "err: $(cat "$BATS_TEST_TMPDIR/err")"
}

@test "containers that do not run: -a shows them with zeros; a named one too, and stderr says so" {
    "${H[@]}" run -d --name up --rootfs "$ROOTFS" sleep 1000 >/dev/null
    "${H[@]}" run --name done --rootfs "$ROOTFS" true
    "${H[@]}" create --name new --rootfs "$ROOTFS" true >/dev/null
    run --separate-stderr "${H[@]}" stats --no-stream
    assert_status 0
    [ "${#lines[@]}" -eq 2 ] && [ -n "$(row_of "$output" up)" ] || fail_now "$output"
    run --separate-stderr "${H[@]}" stats --no-stream -a
    assert_status 0
    [ "${#lines[@]}" -eq 4 ] || fail_now "$output"
    for n in done new; do
        row=$(row_of "$output" "$n")
        assert_equal "$(cut -f 3- <<< "$row")" "$(printf '0.00%%\t0B / 0B\t0.00%%\t0B / 0B\t0B / 0B\t0')"
    done
    [[ $stderr != *"not running"* ]] || fail_now "-a: $stderr"
    run --separate-stderr "${H[@]}" stats --no-stream done
    assert_status 0
    [ -n "$(row_of "$output" done)" ] || fail_now "$output"
    [[ $stderr == *"container done is exited, not running: its numbers are 0 until it runs"* ]] ||
        fail_now "stderr: $stderr"
    run --separate-stderr "${H[@]}" stats --no-stream --format json new
    assert_status 0
    printf '%s' "$output" | python3 -c '
import json, sys
s = json.load(sys.stdin)[0]
assert s["State"] == "created" and s["CPU"] == 0 and s["MemUsage"] == 0 and s["PIDs"] == 0, s'
}

@test "streaming ends when no container is left; with none at all, after the heading" {
    "${H[@]}" run -d --name s --rootfs "$ROOTFS" sleep 1000 >/dev/null
    bg "$BATS_TEST_TMPDIR/out" "$HUTCH" --root "$S" stats
    wait_for grep -q '^[0-9a-f]\{12\}   s ' "$BATS_TEST_TMPDIR/out"
    is_alive "$BG"
    "${H[@]}" rm -f s >/dev/null
    wait_exit "$BG" 10
    assert_equal "$WAIT_STATUS" 0
    # the last table is empty
    assert_equal "$(tail -n 1 "$BATS_TEST_TMPDIR/out" | tr -s ' ')" "$(printf '%s\n' "$HEADING" | tr -s ' ')"
    run --separate-stderr "${H[@]}" stats
    assert_status 0
    heading_ok "$output" || fail_now "$output"
}

@test "errors: no such container (nothing shown), a bad --format, exit 125" {
    "${H[@]}" run -d --name e --rootfs "$ROOTFS" sleep 1000 >/dev/null
    run --separate-stderr "${H[@]}" stats --no-stream e nosuch
    assert_status 125
    assert_equal "$output" ""
    [[ $stderr == *"no container \`nosuch\`"* ]] || fail_now "stderr: $stderr"
    run --separate-stderr "${H[@]}" stats --no-stream --format '{{.Name}}'
    assert_status 125
    [[ $stderr == *"--format \`{{.Name}}\`: expected table or json"* ]] || fail_now "stderr: $stderr"
    run --separate-stderr "${H[@]}" stats --bogus
    assert_status 125
}
