# Shared helpers for the hutch integration tests.  `load helpers` from a .bats.
#
# Environment (set by ./run):
#   HUTCH        path of the hutch binary
#   HUTCH_OCI    path of the hutch-oci binary
#   HUTCH_INIT_DIR  directory holding hutch-init
#   ROOTFS       a busybox root filesystem owned by the test user (shared:
#                tests that write into it use fresh_rootfs)
#   MKROOTFS     path of mkrootfs.sh

bats_require_minimum_version 1.5.0

: "${HUTCH:?HUTCH is not set (run the suite through tests/integration/run)}"
: "${ROOTFS:?ROOTFS is not set (run the suite through tests/integration/run)}"
: "${HUTCH_OCI:=$(dirname "$HUTCH")/hutch-oci}"
: "${MKROOTFS:=$BATS_TEST_DIRNAME/mkrootfs.sh}"

MY_UID=$(id -u)
MY_GID=$(id -g)
MY_USER=$(id -un)

# sub_ranges FILE: "start count" lines of the current user's ranges, in order
sub_ranges() {
    awk -F: -v u="$MY_USER" -v uid="$MY_UID" \
        '($1 == u || $1 == uid) && NF >= 3 { print $2, $3 }' "$1"
}

# first range of the user (empty when none)
SUBUID_START=$(sub_ranges /etc/subuid | awk 'NR == 1 { print $1 }')
SUBUID_COUNT=$(sub_ranges /etc/subuid | awk 'NR == 1 { print $2 }')
SUBGID_START=$(sub_ranges /etc/subgid | awk 'NR == 1 { print $1 }')
SUBGID_COUNT=$(sub_ranges /etc/subgid | awk 'NR == 1 { print $2 }')

# expected_map ID FILE: the uid_map/gid_map that --userns=default must give,
# normalised as "inside outside count" lines
expected_map() {
    echo "0 $1 1"
    sub_ranges "$2" | awk 'BEGIN { next_id = 1 } { print next_id, $1, $2; next_id += $2 }'
}

# normalise a uid_map/gid_map text read from $1 (a string)
norm_map() {
    printf '%s\n' "$1" | awk 'NF == 3 { print $1, $2, $3 }'
}

# host id that container id $1 maps to in default mode (first range only)
host_uid_of() { echo $((SUBUID_START + $1 - 1)); }

need_subids() {
    if [ -z "$SUBUID_START" ] || [ -z "$SUBGID_START" ]; then
        skip "user $MY_USER has no subordinate id range"
    fi
}

# fresh_rootfs: a private copy of the rootfs for tests that write to it;
# prints its path
fresh_rootfs() {
    local d="$BATS_TEST_TMPDIR/rootfs"
    if [ ! -d "$d" ]; then
        cp -a "$ROOTFS" "$d"
    fi
    echo "$d"
}

# empty_store DIR: remove every container and image of the store DIR through hutch, and
# prune it: its layers hold files of subordinate ids that the user cannot
# delete directly.  The caller removes DIR itself.
empty_store() {
    local id
    [ -d "$1" ] || return 0
    # containers first: their records keep their images' layers
    for id in $("$HUTCH" --root "$1" ps -aq --no-trunc 2>/dev/null); do
        "$HUTCH" --root "$1" rm -f -v "$id" >/dev/null 2>&1 || true
    done
    for id in $("$HUTCH" --root "$1" images -q 2>/dev/null); do
        "$HUTCH" --root "$1" rmi -f "$id" >/dev/null 2>&1 || true
    done
    "$HUTCH" --root "$1" image prune >/dev/null 2>&1 || true
}

# fail_now MESSAGE...: print MESSAGE on stderr and fail
fail_now() {
    echo "$*" >&2
    return 1
}

# bg OUT PROGRAM ARGS...: start PROGRAM in the background, stdout to OUT,
# stderr to OUT.err; its pid is BG (and goes into BGPIDS, killed in
# teardown).  PROGRAM is not a shell function (whose pid would be a subshell's).
bg() {
    local out=$1
    shift
    "$@" > "$out" 2> "$out.err" < /dev/null 3>&- &
    BG=$!
    BGPIDS+=("$BG")
}

# kill_bgpids: kill and reap the background processes a test put in its
# BGPIDS array (for teardown)
kill_bgpids() {
    local p
    for p in "${BGPIDS[@]}"; do
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
}

# wait_for CMD...: retry CMD for up to ~10 s, HUTCH_WAIT_SCALE times that
# where everything is slower (the VM under TCG sets 3: systemd there once
# took more than 10 s to drop a scope)
wait_for() {
    local i
    for i in $(seq 1 $((100 * ${HUTCH_WAIT_SCALE:-1}))); do
        if "$@"; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# the pids whose whole command line is exactly $1 (regex anchored)
pids_of_cmdline() {
    pgrep -u "$MY_UID" -f "^$1\$" || true
}

# has_cmdline REGEX [N]: at least N (default 1) processes have that command line
has_cmdline() {
    [ "$(pids_of_cmdline "$1" | grep -c .)" -ge "${2:-1}" ]
}

# no_cmdline REGEX: no process has that command line
no_cmdline() {
    [ -z "$(pids_of_cmdline "$1")" ]
}

file_has() { [ -s "$1" ] && grep -q -- "$2" "$1"; }

# assertions with useful messages
assert_status() {
    if [ "$status" -ne "$1" ]; then
        echo "expected exit status $1, got $status; output:" >&2
        printf '%s\n' "$output" >&2
        return 1
    fi
}

assert_output_has() {
    local p
    for p in "$@"; do
        if ! printf '%s\n' "$output" | grep -q -i -F -- "$p"; then
            echo "output lacks \"$p\"; output:" >&2
            printf '%s\n' "$output" >&2
            return 1
        fi
    done
}

assert_equal() {
    if [ "$1" != "$2" ]; then
        printf 'expected: %s\n     got: %s\n' "$2" "$1" >&2
        return 1
    fi
}

# first line of $output, without a trailing CR
first_line() { printf '%s\n' "${lines[0]:-}" | tr -d '\r'; }

# is_alive PID: the process exists and is not a zombie
is_alive() {
    [ -e "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# wait_exit PID [SECONDS]: wait (at most SECONDS, default 15) for the
# background job PID; its exit status goes to WAIT_STATUS.  On timeout the
# job is killed and the call fails.
wait_exit() {
    local pid=$1 t=${2:-15} i
    for ((i = 0; i < t * 10; i++)); do
        is_alive "$pid" || break
        sleep 0.1
    done
    if is_alive "$pid"; then
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        echo "process $pid did not exit within ${t}s" >&2
        return 1
    fi
    WAIT_STATUS=0
    wait "$pid" || WAIT_STATUS=$?
}

# ---- engines: oci-podman.bats, oci-containerd.root.bats --------------------
# Real engines (podman, containerd) driving an OCI runtime.  Which runtime:
#   OCI_RUNTIME   the runtime binary the engines run (default: hutch-oci);
#                 OCI_RUNTIME=/usr/sbin/runc proves the tests against runc
#   OCI_CALL_LOG  when set, a file: every call an engine makes to the
#                 runtime is appended to it (arguments, working directory,
#                 the environment that matters, open descriptors), and the
#                 config.json of each create or run and the process.json of
#                 each exec are copied beside it (FILE.d/), for whoever
#                 implements what the engines ask for
: "${OCI_RUNTIME:=$HUTCH_OCI}"

# engine_runtime DIR: print the path an engine is to run as its runtime:
# OCI_RUNTIME itself or, with OCI_CALL_LOG, a logging shim written in DIR
# that execs OCI_RUNTIME with the same arguments and descriptors
engine_runtime() {
    local dir=$1 shim=$1/oci-runtime-shim
    if [ -z "${OCI_CALL_LOG:-}" ]; then
        echo "$OCI_RUNTIME"
        return
    fi
    mkdir -p "$OCI_CALL_LOG.d" && chmod 0777 "$OCI_CALL_LOG.d" 2>/dev/null
    touch "$OCI_CALL_LOG" && chmod 0666 "$OCI_CALL_LOG" 2>/dev/null
    cat > "$shim" <<SHIM
#!/usr/bin/python3
# Written by engine_runtime (tests/integration/helpers.bash): log, then exec.
import os, shlex, shutil, sys, time
LOG = $(printf '%s' "$OCI_CALL_LOG" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')
REAL = $(printf '%s' "$OCI_RUNTIME" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')
fds = []
for name in sorted(os.listdir("/proc/self/fd"), key=int):
    try:
        fds.append("%s=%s" % (name, os.readlink("/proc/self/fd/" + name)))
    except OSError:
        pass  # the descriptor listdir used, closed since
keep = ("XDG_", "NOTIFY_SOCKET", "LISTEN_", "_OCI", "_LIBCONTAINER", "_CONTAINERS",
        "TTRPC", "CONTAINERD", "RUNC", "HOME", "TMPDIR", "PWD")
env = " ".join("%s=%s" % kv for kv in sorted(os.environ.items()) if kv[0].startswith(keep))
args = sys.argv[1:]
# the command: the first word that is no option (and no global option's value)
cmd, i = None, 0
while i < len(args):
    if args[i] in ("--root", "--log", "--log-format", "--criu", "--rootless", "--cgroup-manager"):
        i += 2
        continue
    if not args[i].startswith("-"):
        cmd = args[i]
        break
    i += 1
saved = ""
try:
    rest = args[i + 1:] if cmd else []
    def opt(names):
        for j, a in enumerate(rest):
            for n in names:
                if a == n and j + 1 < len(rest):
                    return rest[j + 1]
                if a.startswith(n + "="):
                    return a[len(n) + 1:]
        return None
    stamp = "%d-%d" % (time.time() * 1000, os.getpid())
    if cmd in ("create", "run"):
        bundle = opt(("--bundle", "-b")) or "."
        saved = os.path.join(LOG + ".d", "%s-%s-config.json" % (stamp, cmd))
        shutil.copyfile(os.path.join(bundle, "config.json"), saved)
    elif cmd == "exec" and opt(("--process", "-p")):
        saved = os.path.join(LOG + ".d", "%s-exec-process.json" % stamp)
        shutil.copyfile(opt(("--process", "-p")), saved)
except OSError as e:
    saved = "(not saved: %s)" % e
t = time.time()
try:
    with open("/proc/self/uid_map") as f:
        umap = " ".join(f.readline().split())
except OSError:
    umap = "?"
msg = "%s.%03d uid=%d (uid_map %s) %s\n  cwd=%s\n  env: %s\n  fds: %s\n%s" % (
    time.strftime("%H:%M:%S", time.localtime(t)), int(t * 1000) % 1000, os.getuid(), umap,
    " ".join(shlex.quote(a) for a in args), os.getcwd(), env, " ".join(fds),
    "  saved: %s\n" % saved if saved else "")
fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o666)
os.write(fd, msg.encode())
os.close(fd)
os.execv(REAL, [REAL] + args)
SHIM
    chmod 0755 "$shim"
    echo "$shim"
}

# engine_log_test: with OCI_CALL_LOG, a line there that says which test's
# calls follow (for setup)
engine_log_test() {
    [ -n "${OCI_CALL_LOG:-}" ] || return 0
    printf '\n### %s: %s\n' "$(basename "$BATS_TEST_FILENAME")" "$BATS_TEST_DESCRIPTION" >> "$OCI_CALL_LOG"
}

# need_engine PROGRAM...: skip the file's tests when an engine's program is
# missing (the only reason these tests skip)
need_engine() {
    local p
    for p in "$@"; do
        command -v "$p" >/dev/null 2>&1 ||
            skip "$p is not installed (scripts/deps --test installs it)"
    done
}

# rootfs_tar OUT: the busybox ROOTFS as an uncompressed tar owned by 0:0
rootfs_tar() {
    tar -C "$ROOTFS" --owner=0 --group=0 --numeric-owner -cf "$1" .
}

# tty_drive COMMAND...: ptydrive.py's checks (size, resize, typed input,
# exit code 7, terminal restored) on an engine's interactive sh
tty_drive() {
    run timeout -k 5 60 python3 "$BATS_TEST_DIRNAME/ptydrive.py" -- "$@"
    assert_status 0
    assert_output_has "exit code 7" "terminal restored"
}
# ---- end of engines ---------------------------------------------------------

# ---- the user namespace keeper (HUTCH_USERNS_KEEPER) of the test's own
# runtime directory ($XDG_RUNTIME_DIR): nsahead.bats, security/keeper.bats

# keeper_pids: the keepers serving this test's runtime directory (holding
# its lock)
keeper_pids() {
    local p
    for p in $(pgrep -u "$MY_UID" -x hutch-keeper); do
        if ls -l "/proc/$p/fd" 2>/dev/null | grep -q -- "$XDG_RUNTIME_DIR/hutch/userns-keeper"; then
            echo "$p"
        fi
    done
}

# kill_keepers: stop them, by pid (a test's teardown)
kill_keepers() {
    local p
    for p in $(keeper_pids); do
        kill -KILL "$p" 2>/dev/null || true
    done
}

# spare_userns: the user namespace the keeper holds ready, as readlink
# shows it (user:[INODE]), or nothing
spare_userns() {
    local k l
    # (a maker the keeper just forked may still bear its name a moment)
    for k in $(keeper_pids); do
        l=$(ls -l "/proc/$k/fd" 2>/dev/null | grep -o 'user:\[[0-9]*\]' | head -n 1 || true)
        if [ -n "$l" ]; then
            echo "$l"
            return 0
        fi
    done
    return 0
}

# spare_held: the keeper holds a user namespace ready
spare_held() { [ -n "$(spare_userns)" ]; }

# override_of FILE: the owner root emulation recorded for the host file FILE
# (user.containers.override_stat), or "none"
override_of() {
    python3 -c 'import os, sys
try:
    print(os.getxattr(sys.argv[1], "user.containers.override_stat", follow_symlinks=False).decode())
except OSError:
    print("none")' "$1"
}

override_is() { [ "$(override_of "$1")" = "$2" ]; }

# U CMD...: CMD as GRANT_USER (the *.root.bats files' user), with the
# environment tests/integration/run gives test users
U() {
    local home
    home=$(getent passwd "$GRANT_USER" | cut -d: -f6)
    runuser -u "$GRANT_USER" -- env -i \
        HOME="$home" USER="$GRANT_USER" LOGNAME="$GRANT_USER" SHELL=/bin/bash \
        PATH="$BASE_PATH" LANG=C.UTF-8 TMPDIR="$GRANT_DIR/tmp" \
        http_proxy="${http_proxy:-}" https_proxy="${https_proxy:-}" \
        HTTPS_PROXY="${HTTPS_PROXY:-}" no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost \
        "$@"
}
