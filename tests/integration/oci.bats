#!/usr/bin/env bats
# hutch-oci: run an OCI bundle.

load helpers
load ocibundle

# make_bundle DIR ARGS_JSON: a bundle with a copy of the rootfs
# (ocibundle.bash)
make_bundle() { oci_bundle "$1" "$2"; }

setup() {
    BGPIDS=()
    # hutch-oci's state (--root's default) of this test alone: a run that
    # a test's timeout killed leaves none behind for the next
    export XDG_RUNTIME_DIR=$BATS_TEST_TMPDIR/xdg
    mkdir -m 0700 "$XDG_RUNTIME_DIR"
}

teardown() {
    kill_bgpids
    if [ -n "${OVDIR:-}" ]; then rm -rf "$OVDIR"; fi
}

# patch_config BUNDLE PYTHON: change BUNDLE's config.json with PYTHON, to
# which it is the dict `c`
patch_config() {
    python3 - "$1/config.json" "$2" <<'PY'
import json, sys
p, code = sys.argv[1], sys.argv[2]
c = json.load(open(p))
exec(code)
json.dump(c, open(p, "w"), indent=1)
PY
}

# assert_refused TEXT...: hutch-oci refused (any status but 0) and said each TEXT
assert_refused() {
    if [ "$status" -eq 0 ]; then
        echo "expected a refusal, got status 0; output:" >&2
        printf '%s\n' "$output" >&2
        return 1
    fi
    assert_output_has "$@"
}

@test "hutch-oci run: the process runs as configured and its output comes through" {
    local b="$BATS_TEST_TMPDIR/bundle"
    make_bundle "$b" '["/bin/sh", "-c", "echo hello-oci; id -u; hostname; pwd; echo $OCIVAR; echo $$; grep -c . /proc/self/uid_map"]'
    run "$HUTCH_OCI" run --bundle "$b" c1
    assert_status 0
    assert_equal "${lines[0]}" hello-oci
    assert_equal "${lines[1]}" 0
    assert_equal "${lines[2]}" ocihost
    assert_equal "${lines[3]}" /tmp
    assert_equal "${lines[4]}" from-config
    assert_equal "${lines[5]}" 1
    if [ -n "$SUBUID_START" ]; then
        assert_equal "${lines[6]}" 2
    fi
}

@test "hutch-oci run: the bundle defaults to the current directory and exit codes pass through" {
    local b="$BATS_TEST_TMPDIR/bundle"
    make_bundle "$b" '["/bin/sh", "-c", "exit 7"]'
    cd "$b"
    run "$HUTCH_OCI" run c2
    assert_status 7
}

@test "hutch-oci run: the mounts of config.json are there" {
    local b="$BATS_TEST_TMPDIR/bundle"
    make_bundle "$b" '["/bin/sh", "-c", "grep -E \" /(dev|dev/pts|dev/shm|dev/mqueue|sys|proc) \" /proc/mounts | cut -d\" \" -f2,3 | sort"]'
    run "$HUTCH_OCI" run --bundle "$b" c3
    assert_status 0
    assert_output_has "/dev tmpfs" "/dev/pts devpts" "/dev/shm tmpfs" "/dev/mqueue mqueue" "/proc proc" "/sys sysfs"
}

@test "hutch-oci run: bad JSON is reported with line and column" {
    local b="$BATS_TEST_TMPDIR/bundle"
    mkdir -p "$b/rootfs"
    printf '{\n  "ociVersion": "1.0.2",\n  "process": {,\n}\n' > "$b/config.json"
    run "$HUTCH_OCI" run --bundle "$b" c4
    assert_status 1
    assert_output_has line column config.json
    # the error is on line 3
    printf '%s\n' "$output" | grep -q -i 'line 3'
}

@test "hutch-oci run: missing config.json" {
    mkdir -p "$BATS_TEST_TMPDIR/empty"
    run "$HUTCH_OCI" run --bundle "$BATS_TEST_TMPDIR/empty" c5
    assert_status 1
    assert_output_has config.json
}

@test "hutch-oci run: unsupported fields are refused" {
    local b="$BATS_TEST_TMPDIR/bundle"
    make_bundle "$b" '["/bin/true"]'
    python3 - "$b/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["linux"]["intelRdt"] = {"closID": "guaranteed_group"}
json.dump(c, open(p, "w"))
PY
    run "$HUTCH_OCI" run --bundle "$b" c6
    assert_status 1
    assert_output_has linux.intelRdt
}

@test "hutch-oci run: the bundle that \`runc spec --rootless\` writes runs" {
    command -v runc >/dev/null || skip "runc is not installed (scripts/deps --test installs it)"
    local b="$BATS_TEST_TMPDIR/runcbundle"
    mkdir -p "$b"
    cp -a "$ROOTFS" "$b/rootfs"
    (cd "$b" && runc spec --rootless)
    # Only what runc spec leaves to the user: no terminal, our command.
    sed -i -e 's/"terminal": true/"terminal": false/' \
        -e 's/"sh"$/"sh", "-c", "grep -E \\"^(CapEff|NoNewPrivs)\\" \/proc\/self\/status; cat \/proc\/self\/uid_map; touch \/x || echo ro-root"/' \
        "$b/config.json"
    grep -q '"-c"' "$b/config.json" || { echo "could not set the command in config.json" >&2; return 1; }
    run "$HUTCH_OCI" run --bundle "$b" "runc-$$"
    assert_status 0
    # runc's defaults: AUDIT_WRITE, KILL, NET_BIND_SERVICE; no_new_privs;
    # the user's own id alone; a read-only root.
    assert_output_has "CapEff:	0000000020000420" "NoNewPrivs:	1" "ro-root"
    assert_equal "$(printf '%s\n' "$output" | awk 'NF == 3 && $1 == 0 { print $2 }')" "$MY_UID"
}

@test "hutch-oci takes long options by their whole name only" {
    run "$HUTCH_OCI" run --bund "$BATS_TEST_TMPDIR" c1
    [ "$status" -eq 1 ]
    [[ $output == *"unknown option \`--bund\`"* ]]
}

@test "hutch-oci run: every linux.rootfsPropagation is applied to the container's root" {
    local b="$BATS_TEST_TMPDIR/bundle" p
    make_bundle "$b" '["sh", "-c", "awk '"'"'$5 == \"/\" { print }'"'"' /proc/self/mountinfo"]'
    for p in private rprivate slave rslave shared rshared unbindable runbindable; do
        patch_config "$b" "c['linux']['rootfsPropagation'] = '$p'"
        run "$HUTCH_OCI" run --bundle "$b" "prop-$p"
        assert_status 0
        case $p in
            *shared) [[ $output == *" shared:"* ]] || fail_now "$p: the root is not shared: $output" ;;
            *unbindable) [[ $output == *" unbindable "* ]] || fail_now "$p: the root is bindable: $output" ;;
            *) [[ $output != *" shared:"* && $output != *unbindable* ]] || fail_now "$p: $output" ;;
        esac
    done
    patch_config "$b" "c['linux']['rootfsPropagation'] = 'sideways'"
    run "$HUTCH_OCI" run --bundle "$b" prop-bad
    assert_refused linux.rootfsPropagation sideways
}

@test "hutch-oci run: process.user.umask, domainname and a missing process.cwd" {
    local b="$BATS_TEST_TMPDIR/bundle"
    make_bundle "$b" '["sh", "-c", "umask; cat /proc/sys/kernel/domainname; pwd; touch f; stat -c %a f"]'
    patch_config "$b" "c['process']['user']['umask'] = 0o27; c['domainname'] = 'example.org'; c['process']['cwd'] = '/no/such/dir'"
    run "$HUTCH_OCI" run --bundle "$b" umask1
    assert_status 0
    assert_equal "${lines[0]}" 0027
    assert_equal "${lines[1]}" example.org
    assert_equal "${lines[2]}" /no/such/dir
    assert_equal "${lines[3]}" 640
    patch_config "$b" "c['linux']['namespaces'] = [n for n in c['linux']['namespaces'] if n['type'] != 'uts']; del c['hostname']"
    run "$HUTCH_OCI" run --bundle "$b" umask2
    assert_refused domainname "UTS namespace"
}

@test "hutch-oci run: HOME comes from the container's passwd when the environment has none" {
    local b="$BATS_TEST_TMPDIR/bundle"
    make_bundle "$b" '["sh", "-c", "echo \"$HOME\""]'
    patch_config "$b" "c['process']['user'] = {'uid': 1000, 'gid': 1000}"
    run "$HUTCH_OCI" run --bundle "$b" home1
    assert_status 0
    assert_equal "$output" /home/alice
    patch_config "$b" "c['process']['user'] = {'uid': 4242, 'gid': 4242}"
    run "$HUTCH_OCI" run --bundle "$b" home2
    assert_status 0
    assert_equal "$output" /
    patch_config "$b" "c['process']['env'].append('HOME=/custom')"
    run "$HUTCH_OCI" run --bundle "$b" home3
    assert_status 0
    assert_equal "$output" /custom
}

@test "hutch-oci run: process.oomScoreAdj can be raised, and lowering it is refused with the reason" {
    local b="$BATS_TEST_TMPDIR/bundle"
    make_bundle "$b" '["cat", "/proc/self/oom_score_adj"]'
    patch_config "$b" "c['process']['oomScoreAdj'] = 500"
    run "$HUTCH_OCI" run --bundle "$b" oom1
    assert_status 0
    assert_equal "$output" 500
    patch_config "$b" "c['process']['oomScoreAdj'] = -500"
    run "$HUTCH_OCI" run --bundle "$b" oom2
    assert_refused process.oomScoreAdj CAP_SYS_RESOURCE
}

@test "hutch-oci run: process.scheduler and process.ioPriority, and what the kernel refuses without privileges" {
    local b="$BATS_TEST_TMPDIR/bundle"
    make_bundle "$b" '["sh", "-c", "awk '"'"'{ print $19, $41 }'"'"' /proc/self/stat; ionice -p $$"]'
    patch_config "$b" "c['process']['scheduler'] = {'policy': 'SCHED_BATCH', 'nice': 7}; c['process']['ioPriority'] = {'class': 'IOPRIO_CLASS_BE', 'priority': 6}"
    run "$HUTCH_OCI" run --bundle "$b" sched1
    assert_status 0
    # nice 7, policy 3 (SCHED_BATCH)
    assert_equal "${lines[0]}" "7 3"
    assert_equal "${lines[1]}" "best-effort: prio 6"
    patch_config "$b" "c['process']['scheduler'] = {'policy': 'SCHED_IDLE'}; c['process']['ioPriority'] = {'class': 'IOPRIO_CLASS_IDLE'}"
    run "$HUTCH_OCI" run --bundle "$b" sched2
    assert_status 0
    assert_equal "${lines[0]#* }" 5
    assert_equal "${lines[1]}" idle
    patch_config "$b" "c['process']['scheduler'] = {'policy': 'SCHED_FIFO', 'priority': 10}; del c['process']['ioPriority']"
    run "$HUTCH_OCI" run --bundle "$b" sched3
    assert_refused process.scheduler RLIMIT_RTPRIO
    patch_config "$b" "c['process']['scheduler'] = {'policy': 'SCHED_OTHER', 'nice': -5}"
    run "$HUTCH_OCI" run --bundle "$b" sched4
    assert_refused process.scheduler RLIMIT_NICE
    patch_config "$b" "del c['process']['scheduler']; c['process']['ioPriority'] = {'class': 'IOPRIO_CLASS_RT', 'priority': 1}"
    run "$HUTCH_OCI" run --bundle "$b" sched5
    assert_refused process.ioPriority IOPRIO_CLASS_RT CAP_SYS_NICE
}

@test "hutch-oci run: the time namespace with linux.timeOffsets" {
    [ -e /proc/self/ns/time ] || skip "this kernel has no time namespaces (CONFIG_TIME_NS)"
    local b="$BATS_TEST_TMPDIR/bundle"
    make_bundle "$b" '["sh", "-c", "cut -d. -f1 /proc/uptime; readlink /proc/self/ns/time"]'
    patch_config "$b" "c['linux']['namespaces'].append({'type': 'time'}); c['linux']['timeOffsets'] = {'boottime': {'secs': 864000, 'nanosecs': 0}, 'monotonic': {'secs': 3600}}"
    run "$HUTCH_OCI" run --bundle "$b" time1
    assert_status 0
    local up
    up=$(cut -d. -f1 /proc/uptime)
    [ "${lines[0]}" -ge $((up + 864000 - 5)) ] || fail_now "uptime ${lines[0]} is not 10 days ahead of the host's $up"
    [ "${lines[1]}" != "$(readlink /proc/self/ns/time)" ] || fail_now "the container is in our time namespace"
    patch_config "$b" "c['linux']['namespaces'] = [n for n in c['linux']['namespaces'] if n['type'] != 'time']"
    run "$HUTCH_OCI" run --bundle "$b" time2
    assert_refused linux.timeOffsets "time namespace"
}

@test "hutch-oci run: linux.sysctl writes the namespaced ones and refuses the others by their path" {
    local b="$BATS_TEST_TMPDIR/bundle"
    make_bundle "$b" '["sh", "-c", "cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_forward /proc/sys/fs/mqueue/msg_max; echo 1 > /proc/sys/kernel/shmmni || echo ro"]'
    # /proc/sys read-only, as most engines say: the sysctls go in before
    patch_config "$b" "c['linux']['sysctl'] = {'kernel.shmmax': '123456789', 'net.ipv4.ip_forward': '1', 'fs.mqueue.msg_max': '42'}; c['linux']['readonlyPaths'] = ['/proc/sys']"
    run "$HUTCH_OCI" run --bundle "$b" sysctl1
    assert_status 0
    assert_equal "${lines[0]}" 123456789
    assert_equal "${lines[1]}" 1
    assert_equal "${lines[2]}" 42
    assert_output_has ro
    patch_config "$b" "c['linux']['sysctl'] = {'kernel.pid_max': '4242'}"
    run "$HUTCH_OCI" run --bundle "$b" sysctl2
    assert_refused linux.sysctl.kernel.pid_max namespaced
    patch_config "$b" "c['linux']['sysctl'] = {'net.ipv4.ip_forward': '1'}; c['linux']['namespaces'] = [n for n in c['linux']['namespaces'] if n['type'] != 'network']"
    run "$HUTCH_OCI" run --bundle "$b" sysctl3
    assert_refused linux.sysctl.net.ipv4.ip_forward "network namespace"
    # without a proc mount there is no /proc/sys to write to
    patch_config "$b" "c['linux']['sysctl'] = {'kernel.shmmax': '1'}; c['mounts'] = [m for m in c['mounts'] if m['type'] != 'proc']"
    run "$HUTCH_OCI" run --bundle "$b" sysctl4
    assert_refused linux.sysctl.kernel.shmmax "not procfs"
}

@test "hutch-oci run: rro, rbind in any order after bind, and propagation options of mounts" {
    local b="$BATS_TEST_TMPDIR/bundle"
    [ -d /dev/shm ] && grep -q ' /dev/shm ' /proc/self/mountinfo || skip "the host has no /dev/shm mount below /dev"
    make_bundle "$b" '["sh", "-c", "grep -E \" /(a|b)/shm \" /proc/self/mountinfo | cut -d\" \" -f5,6; touch /a/shm/x || echo ro-below; awk '"'"'$5 == \"/s\" || $5 == \"/u\" { print $5, $7 }'"'"' /proc/self/mountinfo"]'
    patch_config "$b" "c['mounts'] += [
      {'destination': '/a', 'type': 'bind', 'source': '/dev', 'options': ['bind', 'rbind', 'rro', 'nosuid']},
      {'destination': '/b', 'type': 'none', 'source': '/dev', 'options': ['rbind', 'bind', 'rnoexec']},
      {'destination': '/s', 'type': 'tmpfs', 'source': 'tmpfs', 'options': ['rshared']},
      {'destination': '/u', 'type': 'tmpfs', 'source': 'tmpfs', 'options': ['unbindable']}]"
    run "$HUTCH_OCI" run --bundle "$b" rro1
    assert_status 0
    # /dev/shm came along with both binds (rbind wins over bind in either
    # order), read-only below /a (rro) and noexec below /b (rnoexec)
    assert_output_has "/a/shm ro," "/b/shm rw," ro-below "/s shared:" "/u unbindable"
    printf '%s\n' "$output" | grep '^/b/shm ' | grep -q noexec || fail_now "rnoexec did not reach /b/shm: $output"
    patch_config "$b" "c['mounts'][-4]['options'] = ['rbind', 'rsideways']"
    run "$HUTCH_OCI" run --bundle "$b" rro2
    assert_refused rsideways
}

@test "hutch-oci run: a tmpfs keeps the mode of the directory it covers unless mode= says otherwise" {
    local b="$BATS_TEST_TMPDIR/bundle"
    make_bundle "$b" '["stat", "-c", "%n %a", "/kept", "/given", "/new"]'
    mkdir -m 0710 "$b/rootfs/kept" "$b/rootfs/given"
    patch_config "$b" "c['mounts'] += [
      {'destination': '/kept', 'type': 'tmpfs', 'source': 'tmpfs'},
      {'destination': '/given', 'type': 'tmpfs', 'source': 'tmpfs', 'options': ['mode=755']},
      {'destination': '/new', 'type': 'tmpfs', 'source': 'tmpfs'}]"
    run "$HUTCH_OCI" run --bundle "$b" tmpfs1
    assert_status 0
    assert_output_has "/kept 710" "/given 755" "/new 1777"
}

@test "hutch-oci run: an overlay mount of existing directories, below /tmp too" {
    local b="$BATS_TEST_TMPDIR/bundle"
    # /tmp: the container's root is attached there while the mounts are made
    OVDIR=$(mktemp -d /tmp/hutch-ov.XXXXXX)
    mkdir "$OVDIR/l1" "$OVDIR/l2" "$OVDIR/u" "$OVDIR/w"
    echo one > "$OVDIR/l1/a"
    echo two > "$OVDIR/l2/b"
    make_bundle "$b" '["sh", "-c", "cat /ov/a /ov/b; echo three > /ov/c"]'
    patch_config "$b" "c['mounts'].append({'destination': '/ov', 'type': 'overlay', 'source': 'overlay', 'options': ['lowerdir=$OVDIR/l1:$OVDIR/l2', 'upperdir=$OVDIR/u', 'workdir=$OVDIR/w']})"
    run "$HUTCH_OCI" run --bundle "$b" ov1
    assert_status 0
    assert_equal "${lines[0]}" one
    assert_equal "${lines[1]}" two
    assert_equal "$(cat "$OVDIR/u/c")" three
    patch_config "$b" "c['mounts'][-1]['options'] = ['lowerdir=$OVDIR/l1:$OVDIR/missing']"
    run "$HUTCH_OCI" run --bundle "$b" ov2
    assert_refused "$OVDIR/missing" lowerdir
}

@test "hutch-oci run: without a user namespace in config.json, the container gets one that maps the user" {
    local b="$BATS_TEST_TMPDIR/bundle"
    make_bundle "$b" '["sh", "-c", "id -u; cat /proc/self/uid_map"]'
    patch_config "$b" "c['linux']['namespaces'] = [n for n in c['linux']['namespaces'] if n['type'] != 'user']; del c['linux']['uidMappings']; del c['linux']['gidMappings']"
    run "$HUTCH_OCI" run --bundle "$b" nouserns
    assert_status 0
    assert_equal "${lines[0]}" 0
    assert_equal "$(norm_map "$(printf '%s\n' "${lines[@]:1}")")" "$(expected_map "$MY_UID" /etc/subuid)"
}

# start_holder NAME: a container (bundle $BATS_TEST_TMPDIR/NAME, hostname
# first, a cgroup namespace, a listener on 127.0.0.1:5555 of its own
# network) in the background; its process's pid in HOLDER
start_holder() {
    local b="$BATS_TEST_TMPDIR/$1"
    make_bundle "$b" '["sh", "-c", "httpd -f -p 127.0.0.1:5555 & exec sleep 4242"]'
    patch_config "$b" "c['hostname'] = 'first'; c['linux']['namespaces'].append({'type': 'cgroup'})"
    # and a time namespace 10 days ahead, where the kernel has them
    if [ -e /proc/self/ns/time ]; then
        patch_config "$b" "c['linux']['namespaces'].append({'type': 'time'}); c['linux']['timeOffsets'] = {'boottime': {'secs': 864000}}"
    fi
    bg "$BATS_TEST_TMPDIR/$1.out" "$HUTCH_OCI" run --bundle "$b" "$1"
    wait_for has_cmdline "sleep 4242" || fail_now "the first container did not start: $(cat "$BATS_TEST_TMPDIR/$1.out.err")"
    HOLDER=$(pids_of_cmdline "sleep 4242")
    wait_for listening || fail_now "nothing listens in the first container"
}
listening() { grep -q ':15B3 00000000:0000 0A' "/proc/$HOLDER/net/tcp"; }

@test "hutch-oci run: namespaces by path are joined: the network of another container, with its user namespace" {
    start_holder first
    local b="$BATS_TEST_TMPDIR/bundle" ns
    local kinds="user net pid uts ipc cgroup" time=
    if [ -e /proc/self/ns/time ]; then
        kinds="$kinds time"
        time="('time', 'time'),"
    fi
    make_bundle "$b" '["sh", "-c", "grep -c \":15B3 00000000:0000 0A\" /proc/net/tcp; hostname; echo $$; for n in '"$kinds"'; do readlink /proc/self/ns/$n; done"]'
    patch_config "$b" "del c['hostname']; del c['linux']['uidMappings']; del c['linux']['gidMappings']
c['linux']['namespaces'] = [{'type': 'mount'}] + [{'type': t, 'path': '/proc/$HOLDER/ns/' + f} for t, f in
    [('user', 'user'), ('network', 'net'), ('pid', 'pid'), ('uts', 'uts'), ('ipc', 'ipc'), $time ('cgroup', 'cgroup')]]"
    run "$HUTCH_OCI" run --bundle "$b" second
    assert_status 0
    assert_equal "${lines[0]}" 1
    assert_equal "${lines[1]}" first
    [ "${lines[2]}" != 1 ] || fail_now "the second container is PID 1 of a namespace of its own"
    local i=3
    for ns in $kinds; do
        assert_equal "${lines[$i]}" "$(readlink "/proc/$HOLDER/ns/$ns")"
        i=$((i + 1))
    done
}

@test "hutch-oci run: a namespace by path that cannot be joined is refused with the reason" {
    start_holder first
    local b="$BATS_TEST_TMPDIR/bundle"
    make_bundle "$b" '["true"]'
    # another container's network, from a user namespace of our own
    patch_config "$b" "c['linux']['namespaces'] = [n for n in c['linux']['namespaces'] if n['type'] != 'network'] + [{'type': 'network', 'path': '/proc/$HOLDER/ns/net'}]"
    run "$HUTCH_OCI" run --bundle "$b" join1
    assert_refused "/proc/$HOLDER/ns/net" "user namespace too"
    # a path of another kind of namespace
    patch_config "$b" "del c['hostname']; del c['linux']['uidMappings']; del c['linux']['gidMappings']
c['linux']['namespaces'] = [{'type': 'mount'}, {'type': 'user', 'path': '/proc/$HOLDER/ns/user'}, {'type': 'network', 'path': '/proc/$HOLDER/ns/uts'}]"
    run "$HUTCH_OCI" run --bundle "$b" join2
    assert_refused "is not a network namespace"
    # a mount namespace is not joined
    patch_config "$b" "c['linux']['namespaces'][0]['path'] = '/proc/$HOLDER/ns/mnt'"
    run "$HUTCH_OCI" run --bundle "$b" join3
    assert_refused "mount namespace" "not supported"
}
