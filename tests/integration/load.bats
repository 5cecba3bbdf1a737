#!/usr/bin/env bats
# Load: 100 detached containers started in parallel while ps, logs and
# exec run against them, then removed with rm -f in parallel batches while
# those still run; every listing parses and names each container once, and
# at the end nothing is left: no record, name, state, process or mount.
#
# The test has a store (S) and a runtime directory of its own
# (XDG_RUNTIME_DIR, so hutch's is $XDG_RUNTIME_DIR/hutch), so that what it
# counts is its own: the user's /tmp/hutch-UID is shared with every other
# test.  Every wait is bounded; the whole file takes 15-30 s on two CPUs.

load helpers

NCTR=100         # containers
START_AT_ONCE=10 # run -d in flight
RM_BATCH=10      # containers per rm -f
RM_AT_ONCE=4     # rm -f in flight
PHASE_SECS=20    # each parallel phase ends within this, or fails

setup() {
    BGPIDS=()
    S=$BATS_TEST_TMPDIR/store
    T=$BATS_TEST_TMPDIR/t
    mkdir -p "$T"
    : > "$T/ids"
    export XDG_RUNTIME_DIR=$BATS_TEST_TMPDIR/run
    mkdir -m 700 "$XDG_RUNTIME_DIR"
    H=("$HUTCH" --root "$S")
    HAVE_EXEC=0
    "$HUTCH" exec --help > /dev/null 2>&1 && HAVE_EXEC=1
    HAVE_LOGS=0
    "$HUTCH" logs --help > /dev/null 2>&1 && HAVE_LOGS=1
    return 0
}

teardown() {
    touch "$T/stop"
    kill_bgpids
    empty_store "$S"
    # nothing of this test may outlive it, even when it failed
    local p
    for p in $(pgrep -u "$MY_UID" -f 'sleep 1000\.123'); do
        kill -KILL "$p" 2> /dev/null || true
    done
}

# runtime_dir: the runtime directory `hutch info` names
runtime_dir() {
    "$HUTCH" info 2> /dev/null | awk -F': ' '/^runtime dir: \// { split($2, a, " "); print a[1] }'
}

# alive PID: the process exists and is not a zombie (builtins only: this is
# polled)
alive() {
    local s
    { read -r s < "/proc/$1/stat"; } 2> /dev/null || return 1
    s=${s##*) }
    [ "${s%% *}" != Z ]
}

# in_parallel MAX SECONDS FUNC ARG...: FUNC ARG for each ARG in the
# background, at most MAX at once, all ended within SECONDS; else those
# still running are killed and it fails.
in_parallel() {
    local max=$1 secs=$2 end=$((SECONDS + $2)) fn=$3 p
    shift 3
    local -a running=() still
    while [ $# -gt 0 ] || [ ${#running[@]} -gt 0 ]; do
        still=()
        for p in "${running[@]}"; do
            if alive "$p"; then
                still+=("$p")
            else
                wait "$p" || true
            fi
        done
        running=("${still[@]}")
        while [ $# -gt 0 ] && [ ${#running[@]} -lt "$max" ]; do
            "$fn" "$1" &
            running+=("$!")
            BGPIDS+=("$!")
            shift
        done
        if [ "$SECONDS" -ge "$end" ]; then
            echo "in_parallel $fn: not done after $secs s: $# not started, ${#running[@]} running, killed" >&2
            for p in "${running[@]}"; do
                kill -KILL "$p" 2> /dev/null || true
                wait "$p" 2> /dev/null || true
            done
            return 1
        fi
        sleep 0.02
    done
}

# quiet: background functions do not take bats's errexit and ERR trap
quiet() { set +eE; trap - ERR; }

# failed NAME MESSAGE...: note a failure of a background part
failed() {
    local name=$1
    shift
    printf '%s\n' "$*" >> "$T/fail.$name"
}

# start_one I: the I-th container; its id goes to $T/ids
start_one() {
    quiet
    local out rc
    out=$("${H[@]}" run -d --rootfs "$ROOTFS" sh -c 'echo start; sleep 1000.123' \
        < /dev/null 2> "$T/start.$1.err" 3>&-)
    rc=$?
    if [ $rc -ne 0 ]; then
        failed start "run -d #$1: exit $rc: $(cat "$T/start.$1.err")"
    elif [[ ! $out =~ ^[0-9a-f]{64}$ ]]; then
        failed start "run -d #$1: not an id: $out (stderr: $(cat "$T/start.$1.err"))"
    elif [ -s "$T/start.$1.err" ]; then
        failed start "run -d #$1: said: $(cat "$T/start.$1.err")"
    else
        echo "$out" >> "$T/ids"
    fi
}

# rm_batch K: hutch rm -f of the K-th batch of ids; it prints each
rm_batch() {
    quiet
    local ids out rc
    mapfile -t ids < "$T/batch.$1"
    out=$("${H[@]}" rm -f "${ids[@]}" < /dev/null 2> "$T/rm.$1.err" 3>&-)
    rc=$?
    if [ $rc -ne 0 ]; then
        failed rm "rm -f (batch $1): exit $rc: $(cat "$T/rm.$1.err")"
    elif [ "$out" != "$(printf '%s\n' "${ids[@]}")" ]; then
        failed rm "rm -f (batch $1): printed '$out' for ${ids[*]}"
    elif [ -s "$T/rm.$1.err" ]; then
        failed rm "rm -f (batch $1): said: $(cat "$T/rm.$1.err")"
    fi
}

# check_listing FILE: the ps -a lines "ID NAME STATE" in FILE parse, and no
# id or name is there twice; prints what is wrong
check_listing() {
    awk '
        NF == 0 { next }
        NF != 3 || length($1) != 64 || $1 ~ /[^0-9a-f]/ || $2 !~ /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/ || $3 !~ /^[a-z]+$/ {
            print "does not parse: " $0; next
        }
        ids[$1]++ == 1 { print "listed twice: " $1 }
        names[$2]++ == 1 { print "name listed twice: " $2 }'
}

# ps_loop: hutch ps -a until $T/stop; every 4th time as JSON, parsed
ps_loop() {
    quiet
    local n=0 rc bad
    while [ ! -e "$T/stop" ]; do
        n=$((n + 1))
        if ((n % 4 == 0)); then
            "${H[@]}" ps -a --format json > "$T/ps.json" 2> "$T/ps.err" < /dev/null 3>&-
            rc=$?
            if [ $rc -ne 0 ] || [ -s "$T/ps.err" ]; then
                failed ps "ps -a --format json: exit $rc: $(cat "$T/ps.err")"
            elif ! bad=$(python3 -c '
import json, sys, collections
a = json.load(open(sys.argv[1]))
c = collections.Counter(x["Id"] for x in a)
d = collections.Counter(x["Names"][0] for x in a)
print(" ".join([k for k, v in c.items() if v > 1] + [k for k, v in d.items() if v > 1]))
' "$T/ps.json" 2>&1) || [ -n "$bad" ]; then
                failed ps "ps -a --format json: $bad: $(head -c 2000 "$T/ps.json")"
            fi
            continue
        fi
        "${H[@]}" ps -a --no-trunc --format '{{.ID}} {{.Names}} {{.State}}' \
            > "$T/ps.out" 2> "$T/ps.err" < /dev/null 3>&-
        rc=$?
        if [ $rc -ne 0 ] || [ -s "$T/ps.err" ]; then
            failed ps "ps -a: exit $rc: $(cat "$T/ps.err")"
        else
            bad=$(check_listing < "$T/ps.out")
            [ -z "$bad" ] || failed ps "ps -a: $bad"
        fi
    done
    echo "$n" > "$T/n.ps"
}

# a random id of those started so far (empty when none)
random_id() {
    local id
    id=$(shuf -n 1 "$T/ids" 2> /dev/null)
    [[ $id =~ ^[0-9a-f]{64}$ ]] && echo "$id"
    return 0
}

# gone_msg FILE: the error says the container is gone or not running, as it
# may be when rm -f came first
gone_msg() { grep -qiE 'no container|not running|is being removed|removal' "$1"; }

# gone ID: the container ID does not run (any more), or is removed; within
# 5 s, the time an rm -f under way may take to end.  An exec or logs that
# failed for another reason is fine when rm -f killed its container
# meanwhile (exec: "the process in the container ended during setup").
gone() {
    local i st
    for ((i = 0; i < 50; i++)); do
        st=$("${H[@]}" ps -a --no-trunc --filter "id=$1" --format '{{.State}}' < /dev/null 2> /dev/null 3>&-)
        [ "$st" = running ] || return 0
        sleep 0.1
    done
    return 1
}

# logs_loop: the log of random containers until $T/stop: hutch logs when
# there is such a command, else the log file itself; either holds only
# "start" (or nothing yet)
logs_loop() {
    quiet
    local n=0 id rc
    while [ ! -e "$T/stop" ]; do
        id=$(random_id)
        if [ -z "$id" ]; then
            sleep 0.05
            continue
        fi
        n=$((n + 1))
        if [ "$HAVE_LOGS" = 1 ]; then
            "${H[@]}" logs "$id" > "$T/logs.out" 2> "$T/logs.err" < /dev/null 3>&-
            rc=$?
            if [ $rc -ne 0 ]; then
                if ! gone_msg "$T/logs.err"; then
                    if gone "$id"; then
                        echo "logs $id: exit $rc: $(cat "$T/logs.err")" >> "$T/raced.logs"
                    else
                        failed logs "logs $id (running): exit $rc: $(cat "$T/logs.err")"
                    fi
                fi
            elif grep -qv '^start$' "$T/logs.out"; then
                failed logs "logs $id: $(cat "$T/logs.out")"
            fi
        elif cat "$S/containers/$id/ctr.log" > "$T/logs.out" 2> /dev/null; then
            # the k8s-file format: TIME STREAM F|P TEXT
            if grep -qvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+[+-][0-9:]+ stdout F start$' "$T/logs.out"; then
                failed logs "ctr.log of $id: $(cat "$T/logs.out")"
            fi
        fi
    done
    echo "$n" > "$T/n.logs"
}

# exec_loop: hutch exec of random containers until $T/stop
exec_loop() {
    quiet
    local n=0 id rc
    while [ ! -e "$T/stop" ]; do
        id=$(random_id)
        if [ -z "$id" ]; then
            sleep 0.05
            continue
        fi
        n=$((n + 1))
        "${H[@]}" exec "$id" echo "exec-$n" > "$T/exec.out" 2> "$T/exec.err" < /dev/null 3>&-
        rc=$?
        if [ $rc -ne 0 ]; then
            if ! gone_msg "$T/exec.err"; then
                if gone "$id"; then
                    echo "exec $id: exit $rc: $(cat "$T/exec.err")" >> "$T/raced.exec"
                else
                    failed exec "exec $id (running): exit $rc: $(cat "$T/exec.err")"
                fi
            fi
        elif [ "$(cat "$T/exec.out")" != "exec-$n" ]; then
            failed exec "exec $id: printed '$(cat "$T/exec.out")'"
        fi
    done
    echo "$n" > "$T/n.exec"
}

# no failure of the background parts so far
no_failures() {
    local f
    for f in "$T"/fail.*; do
        [ -e "$f" ] || continue
        echo "${f##*/fail.}:" >&2
        head -n 20 "$f" >&2
        return 1
    done
}

# our_monitors: the pids of hutch-monitor processes of this test's store
our_monitors() {
    local p
    for p in $(pgrep -u "$MY_UID" -x hutch-monitor); do
        tr '\0' ' ' < "/proc/$p/cmdline" 2> /dev/null | grep -qF -- " --root $S container monitor-end " && echo "$p"
    done
    return 0
}
no_monitors() { [ -z "$(our_monitors)" ]; }
count() { grep -c . || true; }

# every log has its container's "start"
all_logs_started() {
    local id
    while read -r id; do
        grep -q ' stdout F start$' "$S/containers/$id/ctr.log" 2> /dev/null || return 1
    done < "$T/ids"
}

# start_readers: ps, logs and exec loops in the background
start_readers() {
    [ "$HAVE_EXEC" = 1 ] || echo "# hutch has no exec command: the exec part is skipped" >&3
    [ "$HAVE_LOGS" = 1 ] || echo "# hutch has no logs command: the logs part reads ctr.log" >&3
    READERS=()
    ps_loop 3>&- &
    BGPIDS+=("$!")
    READERS+=("$!")
    logs_loop 3>&- &
    BGPIDS+=("$!")
    READERS+=("$!")
    if [ "$HAVE_EXEC" = 1 ]; then
        exec_loop 3>&- &
        BGPIDS+=("$!")
        READERS+=("$!")
    fi
}

# stop_readers: once more after the last change, then they stop
stop_readers() {
    local p
    sleep 0.5
    touch "$T/stop"
    for p in "${READERS[@]}"; do
        wait_exit "$p" 15
    done
    echo "# alongside: $(cat "$T/n.ps") ps -a, $(cat "$T/n.logs") logs$([ "$HAVE_EXEC" = 1 ] && echo ", $(cat "$T/n.exec") exec")" >&3
    for p in "$T"/raced.*; do
        [ -e "$p" ] || continue
        echo "# failed as rm -f killed the container: $(grep -c . "$p") ${p##*/raced.}, e.g. $(head -n 1 "$p")" >&3
    done
}

# ids_ok: NCTR ids, each once
ids_ok() {
    [ "$(count < "$T/ids")" -eq "$NCTR" ] || fail_now "$(count < "$T/ids") ids, not $NCTR"
    [ "$(sort -u "$T/ids" | count)" -eq "$NCTR" ] || fail_now "ids twice: $(sort "$T/ids" | uniq -d)"
    sort "$T/ids" > "$T/ids.sorted"
}

# nothing_left RT: no container, record, name, state, process, monitor or
# mount of this test's is left (RT: hutch's runtime directory)
nothing_left() {
    local rt=$1 n
    run "${H[@]}" ps -aq
    assert_status 0
    assert_equal "$output" ""
    assert_equal "$(ls -A "$S/containers")" ""
    assert_equal "$(ls -A "$S/container-names")" ""
    assert_equal "$(ls -A "$rt/containers")" ""
    if [ -d "$rt/live" ]; then
        assert_equal "$(ls -A "$rt/live")" ""
    fi
    # rm -f has returned: its containers' processes are gone already
    n=$(pgrep -u "$MY_UID" -f 'sleep 1000\.123' | count)
    [ "$n" -eq 0 ] || fail_now "$n processes with 'sleep 1000.123' after rm -f: $(ps -o pid,ppid,stat,args -p "$(pgrep -u "$MY_UID" -f 'sleep 1000\.123' | paste -sd,)")"
    # their monitors end right after
    wait_for no_monitors || fail_now "monitors left: $(our_monitors | paste -sd' ')"
    run grep -F -e " $S" -e " $ROOTFS" /proc/self/mountinfo
    assert_status 1
}

@test "100 detached containers started in parallel under ps, logs and exec, then rm -f in parallel: consistent, and nothing left" {
    local rt n t0
    rt=$(runtime_dir)
    assert_equal "$rt" "$XDG_RUNTIME_DIR/hutch"
    start_readers

    # 1. start them, START_AT_ONCE at a time
    t0=$SECONDS
    in_parallel "$START_AT_ONCE" "$PHASE_SECS" start_one $(seq 1 "$NCTR") 3>&-
    echo "# $NCTR run -d in $((SECONDS - t0)) s" >&3
    no_failures
    ids_ok

    # every record, name, state and process is there, once
    run "${H[@]}" ps -aq --no-trunc
    assert_status 0
    assert_equal "$(printf '%s\n' "$output" | sort)" "$(cat "$T/ids.sorted")"
    run "${H[@]}" ps -a --no-trunc --format '{{.ID}} {{.Names}} {{.State}}'
    assert_status 0
    bad=$(printf '%s\n' "$output" | check_listing)
    [ -z "$bad" ] || fail_now "ps -a: $bad"
    [ "$(printf '%s\n' "$output" | awk '$3 != "running"' | count)" -eq 0 ] ||
        fail_now "not all running: $(printf '%s\n' "$output" | awk '$3 != "running"')"
    assert_equal "$(ls "$S/containers" | sort)" "$(cat "$T/ids.sorted")"
    assert_equal "$(ls "$rt/containers" | sort)" "$(cat "$T/ids.sorted")"
    # one name each, pointing at its container
    assert_equal "$(for l in "$S"/container-names/*; do readlink "$l"; done | sort)" "$(cat "$T/ids.sorted")"
    wait_for all_logs_started || fail_now "not every log has 'start'"
    wait_for has_cmdline 'sleep 1000\.123' "$NCTR"
    n=$(pids_of_cmdline 'sleep 1000\.123' | count)
    [ "$n" -eq "$NCTR" ] || fail_now "$n processes 'sleep 1000.123', not $NCTR"
    n=$(our_monitors | count)
    [ "$n" -eq "$NCTR" ] || fail_now "$n monitors, not $NCTR"

    # 2. remove them, RM_BATCH at a time, RM_AT_ONCE batches at once
    split -l "$RM_BATCH" -d -a 3 "$T/ids" "$T/batch."
    t0=$SECONDS
    in_parallel "$RM_AT_ONCE" "$PHASE_SECS" rm_batch $(cd "$T" && ls batch.* | sed 's/^batch\.//') 3>&-
    echo "# rm -f of $NCTR in $((SECONDS - t0)) s" >&3

    stop_readers
    no_failures
    nothing_left "$rt"
}

# start_all: start_one for every container, then $T/started (in the
# background: what failed is in $T/fail.start)
start_all() {
    quiet
    in_parallel "$START_AT_ONCE" "$PHASE_SECS" start_one $(seq 1 "$NCTR") ||
        failed start "the starts did not end within $PHASE_SECS s"
    touch "$T/started"
}

@test "100 detached containers removed with rm -f while the others start, under ps, logs and exec: nothing left" {
    local rt t0 total taken=0 k=0 m end p
    local -a rms=() still
    rt=$(runtime_dir)
    assert_equal "$rt" "$XDG_RUNTIME_DIR/hutch"
    start_readers
    t0=$SECONDS
    start_all 3>&- &
    BGPIDS+=("$!")
    STARTER=$!
    # rm -f of each RM_BATCH ids as soon as they are out (the last ones
    # once every start has ended), at most RM_AT_ONCE at once
    end=$((SECONDS + PHASE_SECS))
    while :; do
        still=()
        for p in "${rms[@]}"; do
            if alive "$p"; then still+=("$p"); else wait "$p" || true; fi
        done
        rms=("${still[@]}")
        [ "$SECONDS" -lt "$end" ] || fail_now "start and rm -f not done after $PHASE_SECS s: $taken of $(wc -l < "$T/ids") removed"
        total=$(wc -l < "$T/ids")
        m=$((total - taken))
        [ "$m" -le "$RM_BATCH" ] || m=$RM_BATCH
        if [ ${#rms[@]} -lt "$RM_AT_ONCE" ] && { [ "$m" -eq "$RM_BATCH" ] || { [ -e "$T/started" ] && [ "$m" -gt 0 ]; }; }; then
            sed -n "$((taken + 1)),$((taken + m))p" "$T/ids" > "$T/batch.$k"
            rm_batch "$k" 3>&- &
            rms+=("$!")
            BGPIDS+=("$!")
            taken=$((taken + m))
            k=$((k + 1))
            continue
        fi
        if [ -e "$T/started" ] && [ "$m" -eq 0 ] && [ ${#rms[@]} -eq 0 ]; then
            break
        fi
        sleep 0.02
    done
    wait_exit "$STARTER" 5
    echo "# $NCTR run -d and rm -f, $k batches, in $((SECONDS - t0)) s" >&3
    stop_readers
    no_failures
    ids_ok
    nothing_left "$rt"
}

@test "one --name asked for by two run -d at once, 30 times: one gets it, the other is refused" {
    local rt k a b ok
    rt=$(runtime_dir)
    for k in $(seq 1 30); do
        bg "$T/a.$k" "${H[@]}" run -d --name "load-$k" --rootfs "$ROOTFS" sh -c 'echo start; sleep 1000.123'
        a=$BG
        bg "$T/b.$k" "${H[@]}" run -d --name "load-$k" --rootfs "$ROOTFS" sh -c 'echo start; sleep 1000.123'
        b=$BG
        ok=0
        wait_exit "$a" 15
        if [ "$WAIT_STATUS" = 0 ]; then ok=$((ok + 1)); else grep -q 'already in use' "$T/a.$k.err" || fail_now "run -d #$k: $(cat "$T/a.$k.err")"; fi
        wait_exit "$b" 15
        if [ "$WAIT_STATUS" = 0 ]; then ok=$((ok + 1)); else grep -q 'already in use' "$T/b.$k.err" || fail_now "run -d #$k: $(cat "$T/b.$k.err")"; fi
        [ "$ok" -eq 1 ] || fail_now "load-$k: $ok of the two run -d --name load-$k succeeded: $(cat "$T/a.$k" "$T/b.$k" "$T/a.$k.err" "$T/b.$k.err")"
    done
    run "${H[@]}" ps -a --no-trunc --format '{{.ID}} {{.Names}} {{.State}}'
    assert_status 0
    bad=$(printf '%s\n' "$output" | check_listing)
    [ -z "$bad" ] || fail_now "ps -a: $bad"
    [ "$(printf '%s\n' "$output" | count)" -eq 30 ] || fail_now "ps -a: $output"
    [ "$(ls "$S/containers" | count)" -eq 30 ]
    [ "$(ls "$S/container-names" | count)" -eq 30 ]
    "${H[@]}" ps -aq --no-trunc | xargs "${H[@]}" rm -f > /dev/null
    nothing_left "$rt"
}
