#!/usr/bin/env bats
# hutch-oci's lifecycle: create, start, state, kill, delete, run, exec, list,
# ps, as runc's command line, rootless.

load helpers
load ocibundle

setup() {
    R=$BATS_TEST_TMPDIR/state
    B=$BATS_TEST_TMPDIR/bundle
}

teardown() {
    local id
    for id in $("$HUTCH_OCI" --root "$R" list -q 2>/dev/null); do
        "$HUTCH_OCI" --root "$R" delete --force "$id" >/dev/null 2>&1 || true
    done
}

O() { "$HUTCH_OCI" --root "$R" "$@"; }

status_is() { [ "$(O state "$1" | oci_json 'j["status"]')" = "$2" ]; }
file_says() { [ -s "$1" ] && grep -q -- "$2" "$1"; }

@test "hutch-oci create waits before the exec; start runs the command; state follows" {
    oci_bundle "$B" '["/bin/sh", "-c", "echo started-$$ > /tmp/out; echo to-stdout; sleep 30"]'
    O create --bundle "$B" --pid-file "$BATS_TEST_TMPDIR/pid" c1 > "$BATS_TEST_TMPDIR/stdout" 2>&1 < /dev/null
    run O state c1
    assert_status 0
    [ "$(printf '%s' "$output" | oci_json 'j["status"]')" = created ]
    [ "$(printf '%s' "$output" | oci_json 'j["pid"]')" = "$(cat "$BATS_TEST_TMPDIR/pid")" ]
    [ "$(printf '%s' "$output" | oci_json 'j["bundle"]')" = "$B" ]
    [ "$(printf '%s' "$output" | oci_json 'j["rootfs"]')" = "$B/rootfs" ]
    [ "$(printf '%s' "$output" | oci_json 'j["annotations"]["org.example.key"]')" = value ]
    [ "$(printf '%s' "$output" | oci_json 'j["owner"]')" = "$MY_USER" ]
    [ "$(printf '%s' "$output" | oci_json 'j["ociVersion"]')" = "$("$HUTCH_OCI" --version | awk '/^spec:/ { print $2 }')" ]
    # nothing ran yet
    [ ! -e "$B/rootfs/tmp/out" ]
    run O start c1
    assert_status 0
    wait_for file_says "$B/rootfs/tmp/out" started-1
    wait_for file_says "$BATS_TEST_TMPDIR/stdout" to-stdout
    status_is c1 running
    run O start c1
    assert_status 1
    assert_output_has "not created"
}

@test "hutch-oci create leaves no process of its own: the container is all that holds its stdout" {
    oci_bundle "$B" '["/bin/sleep", "30"]'
    local fifo=$BATS_TEST_TMPDIR/fifo
    mkfifo "$fifo"
    cat "$fifo" > /dev/null &
    local reader=$!
    O create --bundle "$B" --pid-file "$BATS_TEST_TMPDIR/pid" c1 > "$fifo" 2>&1 < /dev/null
    O start c1
    O kill c1 KILL
    # the reader sees its end: no other process holds the pipe
    local i
    for i in $(seq 1 100); do
        kill -0 "$reader" 2>/dev/null || break
        sleep 0.1
    done
    ! kill -0 "$reader" 2>/dev/null
}

@test "hutch-oci kill takes names and numbers; state says stopped; delete removes it" {
    oci_bundle "$B" '["/bin/sh", "-c", "trap \"echo got-usr1 > /tmp/sig\" USR1; while :; do sleep 0.1; done"]'
    O run --detach --bundle "$B" c1 < /dev/null > /dev/null 2>&1
    status_is c1 running
    O kill c1 USR1
    wait_for file_says "$B/rootfs/tmp/sig" got-usr1
    rm -f "$B/rootfs/tmp/sig"
    O kill c1 SIGUSR1
    wait_for file_says "$B/rootfs/tmp/sig" got-usr1
    rm -f "$B/rootfs/tmp/sig"
    O kill c1 10
    wait_for file_says "$B/rootfs/tmp/sig" got-usr1
    run O kill c1 NOSUCHSIG
    assert_status 1
    assert_output_has "not a signal"
    run O delete c1
    assert_status 1
    assert_output_has "not stopped"
    O kill c1 KILL
    wait_for status_is c1 stopped
    [ "$(O state c1 | oci_json 'j["pid"]')" = 0 ]
    run O kill c1 TERM
    assert_status 1
    assert_output_has "container not running"
    run O delete c1
    assert_status 0
    run O state c1
    assert_status 1
    assert_output_has "container does not exist"
}

@test "hutch-oci kill --all reaches every process; delete --force a running one" {
    oci_bundle "$B" '["/bin/sh", "-c", "sleep 100 & sleep 100 & wait"]'
    O run -d -b "$B" c1 < /dev/null > /dev/null 2>&1
    wait_for test "$(O ps --format json c1 | oci_json 'len(j)')" = 3
    O kill --all c1 KILL
    wait_for status_is c1 stopped
    O delete c1
    O run -d -b "$B" c2 < /dev/null > /dev/null 2>&1
    run O delete --force c2
    assert_status 0
    run O state c2
    assert_status 1
}

@test "hutch-oci delete of a created container kills its waiting process" {
    oci_bundle "$B" '["/bin/true"]'
    O create -b "$B" --pid-file "$BATS_TEST_TMPDIR/pid" c1 < /dev/null > /dev/null 2>&1
    local pid
    pid=$(cat "$BATS_TEST_TMPDIR/pid")
    kill -0 "$pid"
    O delete c1
    wait_exit "$pid"
}

@test "hutch-oci run waits and passes the exit code on; its state is gone after" {
    oci_bundle "$B" '["/bin/sh", "-c", "echo out-$OCIVAR; exit 7"]'
    run O run -b "$B" c1
    assert_status 7
    assert_output_has out-from-config
    run O state c1
    assert_status 1
    oci_bundle "$B" '["/bin/sh", "-c", "exit 0"]'
    run O run -b "$B" c2
    assert_status 0
}

@test "hutch-oci create refuses an id twice and bad ids" {
    oci_bundle "$B" '["/bin/true"]'
    O create -b "$B" c1 < /dev/null > /dev/null 2>&1
    run O create -b "$B" c1
    assert_status 1
    assert_output_has "already exists"
    local id
    for id in . .. a/b "" "x y"; do
        run O create -b "$B" "$id"
        assert_status 1
        assert_output_has "not a valid container id"
    done
    [ ! -e "$R/." ] || [ -d "$R" ]
    run O create -b "$B"
    assert_status 1
    assert_output_has "no container id"
}

@test "hutch-oci create: a failure leaves no state and no process" {
    oci_bundle "$B" '["/no/such/program"]'
    run O create -b "$B" c1
    assert_status 1
    assert_output_has /no/such/program
    oci_bundle "$B" '["nosuchprogram"]'
    run O create -b "$B" c1
    assert_status 1
    assert_output_has "not found"
    run O list -q
    assert_status 0
    [ -z "$output" ]
    oci_bundle "$B" '["/bin/true"]'
    run O create -b "$BATS_TEST_TMPDIR/missing" c2
    assert_status 1
    assert_output_has config.json
    run O list -q
    [ -z "$output" ]
}

@test "hutch-oci start, state, kill, delete of a container that does not exist" {
    local cmd
    for cmd in start state delete; do
        run O "$cmd" nosuch
        assert_status 1
        assert_output_has "container does not exist"
    done
    run O kill nosuch KILL
    assert_status 1
    assert_output_has "container does not exist"
}

@test "hutch-oci exec: exit code, user, cwd, env, --process, --detach with a pid file" {
    oci_bundle "$B" '["/bin/sleep", "60"]'
    O run -d -b "$B" c1 < /dev/null > /dev/null 2>&1
    run O exec c1 sh -c 'echo $OCIVAR $EXTRA; hostname; exit 5'
    assert_status 5
    assert_output_has "from-config" ocihost
    run O exec --env EXTRA=x --cwd /etc --user 1000:1000 c1 sh -c 'echo $EXTRA; pwd; id -u; id -g'
    assert_status 0
    assert_equal "${lines[*]}" "x /etc 1000 1000"
    cat > "$BATS_TEST_TMPDIR/p.json" <<'JSON'
{ "args": ["sh", "-c", "echo from-process $A; id -u"], "cwd": "/", "user": { "uid": 5, "gid": 5 },
  "env": ["A=1", "PATH=/bin:/usr/bin"] }
JSON
    run O exec --process "$BATS_TEST_TMPDIR/p.json" c1
    assert_status 0
    assert_equal "${lines[*]}" "from-process 1 5"
    run O exec --process "$BATS_TEST_TMPDIR/p.json" c1 extra
    assert_status 1
    assert_output_has "no COMMAND"
    O exec --detach --pid-file "$BATS_TEST_TMPDIR/epid" c1 sleep 30 < /dev/null
    local epid
    epid=$(cat "$BATS_TEST_TMPDIR/epid")
    kill -0 "$epid"
    # in the container: its PID namespace is the container's
    [ "$(readlink "/proc/$epid/ns/pid")" = "$(readlink "/proc/$(O state c1 | oci_json 'j["pid"]')/ns/pid")" ]
    run O exec c1 /no/such/cmd
    assert_status 1
    O kill c1 KILL
    wait_for status_is c1 stopped
    run O exec c1 true
    assert_status 1
    assert_output_has "container not running"
}

@test "hutch-oci list and ps, in table and json" {
    oci_bundle "$B" '["/bin/sleep", "60"]'
    O run -d -b "$B" c1 < /dev/null > /dev/null 2>&1
    O create -b "$B" c2 < /dev/null > /dev/null 2>&1
    run O list -q
    assert_equal "${lines[*]}" "c1 c2"
    run O list --format json
    assert_status 0
    [ "$(printf '%s' "$output" | oci_json '",".join(c["id"] + ":" + c["status"] for c in j)')" = "c1:running,c2:created" ]
    run O list
    assert_output_has ID STATUS c1 running c2 created
    local pid
    pid=$(O state c1 | oci_json 'j["pid"]')
    run O ps --format json c1
    assert_equal "$output" "[$pid]"
    run O ps c1
    assert_status 0
    assert_output_has PID "sleep 60"
    run O list --format yaml
    assert_status 1
    assert_output_has "not a format"
}

@test "hutch-oci: a terminal goes to --console-socket" {
    oci_bundle "$B" '["/bin/sh", "-c", "[ -t 0 ] && [ -t 1 ] && echo hello-tty; sleep 1"]' true
    console_listener "$BATS_TEST_TMPDIR/console.sock" "$BATS_TEST_TMPDIR/tty.out"
    O create -b "$B" --console-socket "$BATS_TEST_TMPDIR/console.sock" c1 < /dev/null
    O start c1
    wait_for file_says "$BATS_TEST_TMPDIR/tty.out" hello-tty
    wait "$CONSOLE_PID"
    # without a console socket, a detached terminal cannot be
    run O create -b "$B" c2
    assert_status 1
    assert_output_has console-socket
    oci_bundle "$B" '["/bin/true"]'
    run O create -b "$B" --console-socket "$BATS_TEST_TMPDIR/console.sock" c3
    assert_status 1
    assert_output_has "asks for none"
}

@test "hutch-oci: --preserve-fds and LISTEN_FDS pass fds on" {
    oci_bundle "$B" '["/bin/sh", "-c", "echo via-fd3 >&3; (echo via-fd4 >&4) 2>/dev/null || echo no-fd4; echo env:$LISTEN_FDS:$LISTEN_PID"]'
    run O run -b "$B" --preserve-fds 1 c1 3> "$BATS_TEST_TMPDIR/fd3" 4> "$BATS_TEST_TMPDIR/fd4"
    assert_status 0
    assert_output_has no-fd4 "env::"
    grep -q via-fd3 "$BATS_TEST_TMPDIR/fd3"
    # LISTEN_FDS's first (fd 3), then --preserve-fds's (fd 4)
    run bash -c 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" --root "$1" run -b "$2" --preserve-fds 1 c2 3> "$3" 4> "$4"' \
        "$HUTCH_OCI" "$R" "$B" "$BATS_TEST_TMPDIR/l3" "$BATS_TEST_TMPDIR/l4"
    assert_status 0
    assert_output_has "env:1:1"
    grep -q via-fd3 "$BATS_TEST_TMPDIR/l3"
    grep -q via-fd4 "$BATS_TEST_TMPDIR/l4"
    run O run -b "$B" --preserve-fds x c3
    assert_status 1
    assert_output_has "not a number"
}

@test "hutch-oci: only fds the caller passed are preserved; none of hutch-oci's own reaches the process" {
    oci_bundle "$B" '["/bin/sh", "-c", "test -e /proc/self/fd/3 && echo fd3-open || echo no-fd3"]'
    # fd 3 closed by the caller: hutch-oci's own next fd (the state
    # directory's) would take its number, a host directory in the container
    run O run -b "$B" --preserve-fds 1 c1 3<&-
    assert_status 1
    assert_output_has "fd 3 is hutch-oci's own"
    [ ! -d "$R/c1" ] || fail_now "the refused run left its state"
    # a LISTEN_FDS whose LISTEN_PID is not this process (or missing) is
    # another process's: nothing is preserved for it
    run env LISTEN_FDS=1 "$HUTCH_OCI" --root "$R" run -b "$B" c2 3<&-
    assert_status 0
    assert_output_has no-fd3
    run env LISTEN_FDS=1 LISTEN_PID=1 "$HUTCH_OCI" --root "$R" run -b "$B" c3 3<&-
    assert_status 0
    assert_output_has no-fd3
    # exec too
    oci_bundle "$B" '["/bin/sleep", "30"]'
    O run -d -b "$B" c4 < /dev/null > /dev/null 2>&1
    run O exec --preserve-fds 1 c4 true 3<&-
    assert_status 1
    assert_output_has "fd 3 is hutch-oci's own"
    run O exec --preserve-fds 1 c4 sh -c 'test -e /proc/self/fd/3 && echo fd3-open' 3< /dev/null
    assert_status 0
    assert_output_has fd3-open
}

@test "hutch-oci: the pid file's temporary is made anew, never a file found there opened" {
    oci_bundle "$B" '["/bin/true"]'
    local pf=$BATS_TEST_TMPDIR/pid
    # hutch-oci's pid is the shell's (exec): its temporary's name is known
    run bash -c 'echo planted > "$0.hutch-$$"; exec "$1" --root "$2" create -b "$3" --pid-file "$0" c1' \
        "$pf" "$HUTCH_OCI" "$R" "$B"
    assert_status 1
    assert_output_has "write the pid file"
    [ ! -e "$pf" ] || fail_now "a pid file was written: $(cat "$pf")"
    grep -qx planted "$pf".hutch-* || fail_now "the file found there was changed"
    [ ! -d "$R/c1" ] || fail_now "the failed create left its state"
}

@test "hutch-oci delete of a container that joined another's PID namespace leaves the other's processes" {
    # no cgroup of its own (whatever this host delegates): the processes
    # are found by their PID namespace, which here is not the container's
    oci_bundle "$B" '["/bin/sleep", "60"]'
    O --cgroup-manager disabled run -d -b "$B" pa < /dev/null > /dev/null 2>&1
    local apid
    apid=$(O state pa | oci_json 'j["pid"]')
    oci_bundle "$B.2" '["/bin/sleep", "60"]'
    python3 - "$B.2/config.json" "$apid" <<'PY'
import json, sys
p, a = sys.argv[1], sys.argv[2]
c = json.load(open(p))
c["linux"]["namespaces"] = [{"type": "user", "path": "/proc/%s/ns/user" % a},
                            {"type": "pid", "path": "/proc/%s/ns/pid" % a}] + \
    [{"type": t} for t in ["mount", "ipc", "uts", "network"]]
del c["linux"]["uidMappings"], c["linux"]["gidMappings"]
json.dump(c, open(p, "w"))
PY
    O --cgroup-manager disabled run -d -b "$B.2" pb < /dev/null > /dev/null 2>&1
    O delete --force pb
    # PID 1 of pa's namespace, killed, would linger without its command
    # line until the namespace is empty, so its command line says
    sleep 0.5
    [ "$(tr '\0' ' ' < "/proc/$apid/cmdline")" = "/bin/sleep 60 " ] ||
        fail_now "delete of pb killed pa's first process"
    status_is pa running
}

@test "hutch-oci --log --log-format json: errors as JSON lines" {
    run "$HUTCH_OCI" --root "$R" --log "$BATS_TEST_TMPDIR/log.json" --log-format json state nosuch
    assert_status 1
    tail -n 1 "$BATS_TEST_TMPDIR/log.json" | oci_json 'j["level"] + " " + j["msg"] + " " + j["time"][:2]' > "$BATS_TEST_TMPDIR/line"
    grep -q "^error .*container does not exist.* 20" "$BATS_TEST_TMPDIR/line"
    run "$HUTCH_OCI" --root "$R" --log "$BATS_TEST_TMPDIR/log.txt" state nosuch
    grep -q "^error: .*container does not exist" "$BATS_TEST_TMPDIR/log.txt"
    run "$HUTCH_OCI" --log-format xml state nosuch
    assert_status 1
    assert_output_has "not a log format"
    run "$HUTCH_OCI" --rootless maybe state nosuch
    assert_status 1
    run "$HUTCH_OCI" --cgroup-manager foo state nosuch
    assert_status 1
    assert_output_has "not a cgroup manager"
}

@test "hutch-oci --root must be absolute and the user's" {
    run "$HUTCH_OCI" --root relative list
    assert_status 1
    assert_output_has absolute
    mkdir -m 0777 "$BATS_TEST_TMPDIR/open"
    run "$HUTCH_OCI" --root "$BATS_TEST_TMPDIR/open/state" list
    assert_status 1
}

@test "hutch-oci --version says runc's two lines" {
    run "$HUTCH_OCI" --version
    assert_status 0
    [[ ${lines[0]} == "hutch-oci version "* ]]
    [[ ${lines[1]} == "spec: "* ]]
}

# add_hooks CONFIG LOGDIR: each of the six hooks writes its state (stdin)
# to LOGDIR/KIND.json; startContainer's runs in the container, its
# LOGDIR is the container's /tmp
add_hooks() {
    python3 - "$1" "$2" <<'PY'
import json, sys
p, log = sys.argv[1], sys.argv[2]
c = json.load(open(p))
h = {}
for kind in ["prestart", "createRuntime", "createContainer", "poststart", "poststop"]:
    h[kind] = [{"path": "/bin/sh", "args": ["sh", "-c", "/bin/cat > %s/%s.json" % (log, kind)],
                "env": ["HOOKVAR=%s" % kind], "timeout": 10}]
h["startContainer"] = [{"path": "/bin/sh", "args": ["sh", "-c", "cat > /tmp/startContainer.json"]}]
c["hooks"] = h
json.dump(c, open(p, "w"))
PY
}

hook_status() { oci_json 'j["status"] + " " + j["id"] + " " + str(j.get("pid", 0) > 0)' < "$1"; }

@test "hutch-oci: the six hooks run, each with the state on its stdin" {
    oci_bundle "$B" '["/bin/sleep", "30"]'
    local log=$BATS_TEST_TMPDIR/hooks
    mkdir -p "$log"
    add_hooks "$B/config.json" "$log"
    O create -b "$B" h1 < /dev/null > /dev/null 2>&1
    assert_equal "$(hook_status "$log/prestart.json")" "creating h1 True"
    assert_equal "$(hook_status "$log/createRuntime.json")" "creating h1 True"
    assert_equal "$(hook_status "$log/createContainer.json")" "creating h1 True"
    [ "$(oci_json 'j["bundle"]' < "$log/prestart.json")" = "$B" ]
    [ "$(oci_json 'j["annotations"]["org.example.key"]' < "$log/prestart.json")" = value ]
    [ ! -e "$B/rootfs/tmp/startContainer.json" ]
    [ ! -e "$log/poststart.json" ]
    O start h1
    assert_equal "$(hook_status "$B/rootfs/tmp/startContainer.json")" "created h1 True"
    assert_equal "$(hook_status "$log/poststart.json")" "running h1 True"
    [ ! -e "$log/poststop.json" ]
    O delete --force h1
    assert_equal "$(hook_status "$log/poststop.json")" "stopped h1 False"
}

@test "hutch-oci: a failing hook fails the create, with its output; poststart's only warns" {
    oci_bundle "$B" '["/bin/true"]'
    python3 - "$B/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["hooks"] = {"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", "echo hook-says-no >&2; exit 3"]}]}
json.dump(c, open(sys.argv[1], "w"))
PY
    run O create -b "$B" h2
    assert_status 1
    assert_output_has createRuntime hook-says-no
    run O list -q
    [ -z "$output" ]
    python3 - "$B/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["hooks"] = {"poststart": [{"path": "/bin/false"}]}
json.dump(c, open(sys.argv[1], "w"))
PY
    run O run -b "$B" h3
    assert_status 0
    assert_output_has warning poststart
    python3 - "$B/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["hooks"] = {"prestart": [{"path": "relative"}]}
json.dump(c, open(sys.argv[1], "w"))
PY
    run O run -b "$B" h4
    assert_status 1
    assert_output_has "hooks.prestart[0].path"
}

@test "hutch-oci --debug says more, on stderr and in the log" {
    oci_bundle "$B" '["/bin/true"]'
    python3 - "$B/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["hooks"] = {"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", "echo hook-output"]}]}
json.dump(c, open(sys.argv[1], "w"))
PY
    # (the container's process keeps create's stdout: a file, not a pipe)
    O --log "$BATS_TEST_TMPDIR/log" --debug create -b "$B" d1 < /dev/null > "$BATS_TEST_TMPDIR/out" 2>&1
    grep -q "debug: .*hook-output" "$BATS_TEST_TMPDIR/out"
    grep -q "debug: .*created" "$BATS_TEST_TMPDIR/out"
    grep -q "^debug: .*hook-output" "$BATS_TEST_TMPDIR/log"
    O delete d1
    O create -b "$B" d2 < /dev/null > "$BATS_TEST_TMPDIR/out2" 2>&1
    ! grep -q hook-output "$BATS_TEST_TMPDIR/out2"
}

@test "hutch-oci run in the foreground: a terminal goes to --console-socket, and the exit code comes back" {
    oci_bundle "$B" '["/bin/sh", "-c", "[ -t 1 ] && echo hello-tty; exit 4"]' true
    console_listener "$BATS_TEST_TMPDIR/console.sock" "$BATS_TEST_TMPDIR/tty.out"
    run O run -b "$B" --console-socket "$BATS_TEST_TMPDIR/console.sock" c1 < /dev/null
    assert_status 4
    wait "$CONSOLE_PID"
    grep -q hello-tty "$BATS_TEST_TMPDIR/tty.out"
}

@test "hutch-oci: runc's options it cannot honour are refused, those it honours by nature taken" {
    oci_bundle "$B" '["/bin/true"]'
    run O run --keep -b "$B" k1
    assert_status 1
    assert_output_has "--keep is not supported"
    run O create --no-pivot -b "$B" k2
    assert_status 1
    assert_output_has "--no-pivot is not supported"
    run O run --no-subreaper -b "$B" k3
    assert_status 0
    run O list -q
    [ -z "$output" ]
}

@test "hutch-oci pause, resume and update: what they need, and what they refuse" {
    oci_bundle "$B" '["/bin/sleep", "60"]'
    O run -d -b "$B" p1 < /dev/null > /dev/null 2>&1
    # with a delegated cgroup v2 subtree (the suite gives the test user
    # one), pause freezes; without, it says why
    if O pause p1 2> "$BATS_TEST_TMPDIR/err"; then
        status_is p1 paused
        O resume p1
        status_is p1 running
    else
        grep -q "no cgroup of its own" "$BATS_TEST_TMPDIR/err"
    fi
    run O resume p1
    assert_status 1
    assert_output_has "not paused"
    run O update p1
    assert_status 1
    assert_output_has "nothing to update"
    echo '{}' > "$BATS_TEST_TMPDIR/r.json"
    run O update --resources "$BATS_TEST_TMPDIR/r.json" --memory 64m p1
    assert_status 1
    assert_output_has "no other option"
    echo '[' > "$BATS_TEST_TMPDIR/bad.json"
    run O update --resources "$BATS_TEST_TMPDIR/bad.json" p1
    assert_status 1
    assert_output_has "line"
    O kill p1 KILL
    wait_for status_is p1 stopped
    run O pause p1
    assert_status 1
    assert_output_has "container not running"
    run O update --pids-limit 10 p1
    assert_status 1
    assert_output_has "container not running"
}
