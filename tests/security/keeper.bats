#!/usr/bin/env bats
# The user namespace keeper (HUTCH_USERNS_KEEPER, src/runtime/nsahead.h)
# from a container's side: a process in one of the user's containers has
# the user's uid on the host and may reach the runtime directory (the
# host sandbox run from it, or a bind of /tmp), so it may listen where the
# keeper does, or ask the keeper as a run would.  It must not get a later
# container into a namespace of its choosing, nor take a namespace made
# for one, nor make a run hang.  Each test has a runtime directory of its
# own.

load helpers
load common

setup() {
    need_subids
    BGPIDS=()
    T=$BATS_TEST_TMPDIR
    export XDG_RUNTIME_DIR=$T/run
    mkdir -p "$XDG_RUNTIME_DIR/hutch"
    chmod 700 "$XDG_RUNTIME_DIR" "$XDG_RUNTIME_DIR/hutch"
    SOCK=$XDG_RUNTIME_DIR/hutch/userns-keeper.2.sock
}

teardown() {
    kill_bgpids
    kill_keepers
}

# A keeper of the container's making: it listens at the keeper's socket and
# hands any run its own user namespace with the maps text a run compares,
# as a real keeper's message would carry them.
FAKE_KEEPER='
import array, os, socket, struct, sys
path = sys.argv[1]
def norm(f):
    return "".join("%s %s %s\n" % tuple(l.split()) for l in open(f))
text = (norm("/proc/self/uid_map") + "/" + norm("/proc/self/gid_map")).encode()
fd = os.open("/proc/self/ns/user", os.O_RDONLY)
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(path)
s.listen(4)
print("listening in", os.readlink("/proc/self/ns/user"), flush=True)
while True:
    c, _ = s.accept()
    c.recv(4096)
    msg = struct.pack("iiii", 1, 0, 0, 0) + text + b"\0" * (3800 - len(text))
    c.sendmsg([msg], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))])
    print("handed out", flush=True)
    c.close()
'

@test "keeper: a container that listens at the keeper's socket does not get a run into its user namespace" {
    command -v python3 >/dev/null || fail_now "python3 is needed (tests/integration/setup.sh installs it)"
    printf '%s' "$FAKE_KEEPER" > "$XDG_RUNTIME_DIR/hutch/fake.py"
    # the host sandbox, run from the runtime directory: it is writable there
    (cd "$XDG_RUNTIME_DIR/hutch" && exec "$HUTCH" run --userns default -- \
        /usr/bin/python3 "$XDG_RUNTIME_DIR/hutch/fake.py" "$SOCK") > "$T/fake.out" 2>&1 3>&- &
    BGPIDS+=($!)
    wait_for file_has "$T/fake.out" "listening in" || fail_now "the fake keeper: $(cat "$T/fake.out")"
    fake=$(sed -n 's/^listening in //p' "$T/fake.out")
    [ "$fake" != "$(readlink /proc/self/ns/user)" ]
    HUTCH_USERNS_KEEPER=30 run "$HUTCH" run --rootfs "$ROOTFS" readlink /proc/self/ns/user
    assert_status 0
    [ "$output" != "$fake" ] || fail_now "the run joined the container's user namespace $fake"
    [[ $output == user:* ]] || fail_now "$output"
    # it was not even asked (it is not the user in the user's own namespace)
    ! grep -q "handed out" "$T/fake.out" || fail_now "the run took what the fake keeper sent"
}

@test "keeper: a listener that never answers does not make a run hang" {
    command -v python3 >/dev/null || fail_now "python3 is needed"
    # a backlog of 0, filled: a connect to it blocks until a timeout
    python3 -c '
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(sys.argv[1]); s.listen(0)
fill = []
for i in range(4):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); c.setblocking(False)
    try:
        c.connect(sys.argv[1]); fill.append(c)
    except BlockingIOError:
        break
print("stuck", len(fill), flush=True)
time.sleep(120)' "$SOCK" > "$T/stuck.out" 2>&1 3>&- &
    BGPIDS+=($!)
    wait_for file_has "$T/stuck.out" stuck
    HUTCH_USERNS_KEEPER=30 run timeout 60 "$HUTCH" run --rootfs "$ROOTFS" echo ran
    assert_status 0
    assert_output_has ran
}

@test "keeper: a process in a container cannot take the namespace the keeper holds for the next run" {
    command -v python3 >/dev/null || fail_now "python3 is needed"
    HUTCH_USERNS_KEEPER=30 run "$HUTCH" run --rootfs "$ROOTFS" true
    assert_status 0
    wait_for spare_held || fail_now "the keeper holds no namespace"
    spare=$(spare_userns)
    # ask as a run would, from the host sandbox (the user's uid, in a user
    # namespace of its own): no fd comes back
    (cd "$XDG_RUNTIME_DIR/hutch" && "$HUTCH" run --userns default -- /usr/bin/python3 -c '
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(2)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("no connection:", e, flush=True)
    sys.exit(0)
import resource as r
want = "%d %d %d %d %d" % (0, r.getrlimit(r.RLIMIT_NPROC)[0], r.getrlimit(r.RLIMIT_SIGPENDING)[0],
                           r.getrlimit(r.RLIMIT_MSGQUEUE)[0], r.getrlimit(r.RLIMIT_MEMLOCK)[0])
try:
    s.send(struct.pack("iiii", 12, 0, 0, 0) + want.encode().ljust(3800, b"\0"))
    m, anc, fl, a = s.recvmsg(4096, 64)
    print("fds" if anc else "no fds", flush=True)
except Exception as e:
    print("no answer:", e, flush=True)' "$SOCK") > "$T/ask.out" 2>&1 3>&- || true
    grep -q "^no \|^fds" "$T/ask.out" || fail_now "the question was not asked: $(cat "$T/ask.out")"
    ! grep -qx fds "$T/ask.out" || fail_now "a container got the keeper's namespaces: $(cat "$T/ask.out")"
    assert_equal "$(spare_userns)" "$spare"
    # the next real run takes it
    HUTCH_USERNS_KEEPER=30 run "$HUTCH" run --rootfs "$ROOTFS" readlink /proc/self/ns/user
    assert_status 0
    assert_equal "$output" "$spare"
}
