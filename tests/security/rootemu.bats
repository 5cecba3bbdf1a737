#!/usr/bin/env bats
# Root emulation (src/runtime/rootemu.c): with one mapped id, a handler
# outside the container's pid namespace, inside its user and mount
# namespaces, answers chown, stat, set*id and mknod of devices for the
# container, recording owners in the user.containers.override_stat
# attribute.  A handler that acts on paths the container names is a
# confused deputy in waiting: these tests try to make it act on host files
# (symlinks, a path swapped under it by a racing thread), to crash or hang
# it (processes killed mid-call, bad arguments), to reach it from the
# container (signals, ptrace, /proc), to get past the container's own
# seccomp profile through it, and check that the ids it hands out are not
# real.  The test user has a subordinate range, so --userns=single asks
# for the one-id namespace that root emulation is for.
#
# /bin/emuprobe (emuprobe.c, built static by sec_setup_file) makes the
# calls; each test then checks the host: the attribute on host files, their
# owner and mode, and the processes left.

load helpers
load common

XATTR=user.containers.override_stat

setup_file() {
    sec_setup_file emuprobe
}

setup() {
    need_helpers
    # shellcheck disable=SC2034 # kill_bgpids reads it
    BGPIDS=()
    T=$BATS_TEST_TMPDIR
    STORE=$T/store
    # the host file the container must not reach: the test user's own,
    # which the handler (running as the test user) could write, were it
    # ever to resolve a path on the host
    HOSTFILE=$T/hostfile
    echo host > "$HOSTFILE"
    chmod 0640 "$HOSTFILE"
    if ! python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.hutch-test", b"1")' "$HOSTFILE" 2> /dev/null; then
        skip "the file system of $T has no user extended attributes, where root emulation records owners"
    fi
    python3 -c 'import os, sys; os.removexattr(sys.argv[1], "user.hutch-test")' "$HOSTFILE"
}

teardown() {
    kill_bgpids
}

# xattr_of PATH: the owner record of PATH on the host, or "none"
xattr_of() {
    python3 - "$1" "$XATTR" <<'EOF'
import os, sys
try:
    print(os.getxattr(sys.argv[1], sys.argv[2], follow_symlinks=False).decode())
except OSError:
    print("none")
EOF
}

# host_state PATH: owner, mode and owner record of PATH on the host
host_state() {
    echo "$(stat -c '%u:%g:%a' "$1") $(xattr_of "$1")"
}

# erun ARGS...: hrun with root emulation
erun() {
    hrun --userns=single "$@"
}

# the handler of the container run by the hutch process $1 (P): a child of
# the watchdog (P's child A) that is hutch too; B is P's child as well,
# but has exec'd the container's command by then
handler_of() {
    local p=$1 a e
    for a in $(pgrep -P "$p"); do
        [[ $(tr '\0' ' ' < "/proc/$a/cmdline" 2> /dev/null) == "$HUTCH "* ]] || continue
        for e in $(pgrep -P "$a"); do
            if [[ $(tr '\0' ' ' < "/proc/$e/cmdline" 2> /dev/null) == "$HUTCH "* ]]; then
                echo "$e"
                return 0
            fi
        done
    done
    return 1
}

# leftovers: processes of ours whose command line names this test's store
leftovers() {
    pgrep -u "$MY_UID" -a -f -- "--root $STORE " || true
}

@test "a symlink to a host file: chown and chown -h record the owner on the container's own file, never on the host's" {
    local R before passwd_before
    R=$(sec_rootfs)
    # the container's own file at the host file's path, a symlink to that
    # path, one climbing with .., and one to /etc/passwd
    mkdir -p "$R$T"
    echo container > "$R$HOSTFILE"
    chmod 0644 "$R$HOSTFILE"
    ln -s "$HOSTFILE" "$R/abs"
    ln -s "../../../../../../../../../../..$HOSTFILE" "$R/rel"
    ln -s /etc/passwd "$R/pw"
    before=$(host_state "$HOSTFILE")
    passwd_before=$(host_state /etc/passwd)
    run erun --rootfs "$R" sh -c "
        chown 42:43 /abs; chown 44:45 /rel; chown 46 /pw
        chown -h 47:48 /abs; chown -h 49 /rel; chown -h 50 /pw
        emuprobe chown $HOSTFILE 42 43 | grep -v ' ok\$'
        stat -L -c 'target %u:%g' /abs; stat -c 'link %u:%g' /abs; stat -L -c 'pw %u' /pw"
    # the host's files first: no record, owner and mode as they were
    assert_equal "$(host_state "$HOSTFILE")" "$before"
    assert_equal "$(xattr_of "$HOSTFILE")" none
    assert_equal "$(host_state /etc/passwd)" "$passwd_before"
    assert_equal "$(xattr_of /etc/passwd)" none
    assert_equal "$(cat "$HOSTFILE")" host
    # the container sees the owners it gave to its own files, every call
    # succeeded (chown -h of a symlink records nothing: no user attribute
    # on one)
    assert_status 0
    assert_equal "$output" "target 42:43
link 0:0
pw 46"
    # ... and the record is on the container's copy
    assert_equal "$(xattr_of "$R$HOSTFILE")" "42:43:0644"
    assert_equal "$(xattr_of "$R/etc/passwd")" "46:0:0644"
}

@test "a racing thread swaps the path between the container's file and host paths: no host file gets a record or a device node" {
    local R before
    R=$(sec_rootfs)
    echo container > "$R/cfile"
    before=$(host_state "$HOSTFILE")
    run erun --rootfs "$R" emuprobe race /cfile "$HOSTFILE" 8
    assert_status 0
    assert_line_is "done"
    # the race ran both ways: calls that found the container's file, and
    # calls that did not (the host paths do not exist in the container)
    local ok other
    ok=$(printf '%s\n' "$output" | awk '$1 == "chown-ok" { print $2 }')
    other=$(printf '%s\n' "$output" | awk '$1 == "chown-other" { print $2 }')
    [ "${ok:-0}" -gt 0 ] || fail_now "no chown found the container's file: $output"
    [ "${other:-0}" -gt 0 ] || fail_now "every chown found the container's file: $output"
    assert_equal "$(host_state "$HOSTFILE")" "$before"
    assert_equal "$(xattr_of "$HOSTFILE")" none
    assert_equal "$(cat "$HOSTFILE")" host
    [ ! -e "$HOSTFILE.dev" ] || fail_now "the handler made $HOSTFILE.dev on the host"
    # nothing in the test's directory but what the test made
    assert_equal "$(find "$T" -mindepth 1 -maxdepth 1 ! -name hostfile ! -name rootfs ! -name store)" ""
    # the container's file has a record of one of the three chowns
    [[ $(xattr_of "$R/cfile") =~ ^(42:43|44:45|46:47):0644$ ]] ||
        fail_now "the container's file has no owner record: $(xattr_of "$R/cfile")"
}

@test "processes killed in the middle of calls: the handler keeps answering, and nothing of it outlives the container" {
    local R
    R=$(sec_rootfs)
    touch "$R/storm" "$R/after"
    run erun --rootfs "$R" sh -c 'emuprobe storm /storm 8 && chown 77:78 /after && stat -c "after %u:%g" /after && id -u'
    assert_status 0
    assert_line_is "done"
    [[ $(printf '%s\n' "$output" | awk '$1 == "storm" { print $2 }') -gt 100 ]] ||
        fail_now "too few children were killed to mean anything: $output"
    assert_line_is "after 77:78"
    assert_equal "${lines[-1]}" 0
    assert_equal "$(xattr_of "$R/after")" "77:78:0644"
    # no handler (nor any other process of the run) is left
    if ! wait_for test -z "$(leftovers)"; then
        fail_now "processes of the run are left: $(leftovers)"
    fi
}

@test "bad arguments get the kernel's errors, and the handler keeps answering" {
    local R
    R=$(sec_rootfs)
    touch "$R/bad"
    run erun --rootfs "$R" sh -c 'emuprobe malformed /bad; touch /later; chown 5:6 /later; stat -c "later %u:%g" /later'
    assert_status 0
    assert_line_is "chown-unmapped EFAULT"
    assert_line_is "chown-unterminated ENAMETOOLONG"
    assert_line_is "fchown-badfd EBADF"
    assert_line_is "fchownat-negfd EBADF"
    assert_line_is "setgroups-toomany EINVAL"
    assert_line_is "setgroups-unmapped EFAULT"
    assert_line_is "setgroups-3 ok"
    assert_line_is "getgroups-small EINVAL"
    assert_line_is "getresuid-unmapped EFAULT"
    assert_line_is "stat-unmapped EFAULT"
    assert_line_is "owner 42:42"
    assert_line_is "later 5:6"
    assert_equal "$(xattr_of "$R/bad")" "42:42:0644"
}

@test "the handler is not in the container's pid namespace: no /proc entry, no signal, no ptrace reaches it" {
    local R x=$T/x e
    R=$(sec_rootfs)
    mkdir "$x"
    touch "$R/f"
    # The handler's command line is hutch's, with this test's store in it:
    # given in two halves, so that no process of the container has it
    # whole in its own command line.
    bg "$T/out" "$HUTCH" --root "$STORE" run --userns=single --rootfs "$R" -v "$x:/x" \
        -e A="${STORE:0:8}" -e B="${STORE:8}" sh -c '
        echo ready > /x/ready
        while [ ! -s /x/epid ]; do sleep 0.1; done
        e=$(cat /x/epid)
        sleep 1000 &
        victim=$!
        # kill(-1) only where the container has a pid namespace of its own
        # (its init is this script): in the host'"'"'s, it would reach every
        # process of the test user
        if [ "$(cat /proc/1/comm)" = sh ] && grep -q -F /x/epid /proc/1/cmdline; then
            emuprobe pidops "$e" signal
        else
            echo "shared pid namespace"
            emuprobe pidops "$e"
            kill $victim
        fi
        wait $victim
        echo "victim $?"
        # what the container can list: its own processes only
        for p in /proc/[0-9]*; do
            tr "\0" " " < $p/cmdline 2>/dev/null; echo
        done | awk "index(\$0, ENVIRON[\"A\"] ENVIRON[\"B\"]) { n++ } END { print \"listed \" n + 0 }"
        [ -e /proc/$e ] && echo "proc-entry $e" || echo "no-proc-entry"
        chown 9:9 /f && stat -c "f %u:%g" /f'
    wait_for test -s "$x/ready" || fail_now "the container did not start: $(cat "$T/out" "$T/out.err")"
    e=$(handler_of "$BG") || fail_now "no handler process under $BG"
    # the handler: outside the container's pid namespace, not dumpable
    # (its /proc/PID/fd and mem belong to the host's root)
    [ "$(awk '$1 == "NSpid:" { print NF - 1 }' "/proc/$e/status")" = 1 ]
    [ "$(stat -c %u "/proc/$e/fd")" = 0 ]
    echo "$e" > "$x/epid"
    wait_exit "$BG" 30
    run cat "$T/out"
    echo "$output"
    assert_line_is "kill0 ESRCH"
    assert_line_is "ptrace ESRCH"
    assert_line_is "pidfd ESRCH"
    assert_line_is "mem ENOENT"
    assert_line_is "fds ENOENT"
    assert_line_is "root ENOENT"
    assert_line_is "kill9 ESRCH"
    # kill(-1) reached what it may reach: the container's own processes
    assert_line_is "killall ok"
    assert_line_is "victim 137"
    assert_line_is "listed 0"
    assert_line_is "no-proc-entry"
    # kill(-1) in the container did not reach it: it still answered
    assert_line_is "f 9:9"
    assert_equal "$(xattr_of "$R/f")" "9:9:0644"
}

@test "--pid host: the handler is visible, but neither ptrace nor its /proc files reach it" {
    local R x=$T/x e
    R=$(sec_rootfs)
    mkdir "$x"
    touch "$R/f"
    # CAP_SYS_PTRACE too: the handler is not dumpable, and its memory
    # belongs to the host's user namespace, where the container has none
    bg "$T/out" "$HUTCH" --root "$STORE" run --userns=single --pid host --cap-add SYS_PTRACE \
        --rootfs "$R" -v "$x:/x" sh -c '
        echo ready > /x/ready
        while [ ! -s /x/epid ]; do sleep 0.1; done
        emuprobe pidops "$(cat /x/epid)"
        chown 9:9 /f && stat -c "f %u:%g" /f'
    wait_for test -s "$x/ready" || fail_now "the container did not start: $(cat "$T/out" "$T/out.err")"
    e=$(handler_of "$BG") || fail_now "no handler process under $BG"
    echo "$e" > "$x/epid"
    wait_exit "$BG" 30
    run cat "$T/out"
    echo "$output"
    assert_line_is "kill0 ok"
    assert_line_is "ptrace EPERM"
    assert_line_is "mem EACCES"
    assert_line_is "fds EACCES"
    assert_line_is "root EACCES"
    assert_line_is "f 9:9"
}

@test "the container's own seccomp profile refuses chown and setuid: its errors win over root emulation" {
    local R p=$T/profile.json
    R=$(sec_rootfs)
    touch "$R/f"
    # errnos of their own, ETXTBSY and EDOM, that neither the kernel nor
    # the handler would give
    cat > "$p" <<'JSON'
{
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [
    {"names": ["chown", "lchown", "fchown", "fchownat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 26},
    {"names": ["setuid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 33}
  ]
}
JSON
    run erun --security-opt "seccomp=$p" --rootfs "$R" sh -c 'emuprobe chown /f 42 43; emuprobe setuid 7 id -u'
    assert_status 0
    assert_equal "$output" "chown ETXTBSY
lchown ETXTBSY
fchownat ETXTBSY
fchown ETXTBSY
setuid EDOM
ids 0 0
0"
    assert_equal "$(xattr_of "$R/f")" none
    # without the profile the same calls are emulated: the profile was the
    # cause
    run erun --rootfs "$R" sh -c 'emuprobe chown /f 42 43; emuprobe setuid 7 id -u'
    assert_status 0
    assert_equal "$output" "chown ok
lchown ok
fchownat ok
fchown ok
setuid ok
ids 7 7
7"
    assert_equal "$(xattr_of "$R/f")" "42:43:0644"
}

@test "setuid is only told: the process stays the namespace's root, with the same capabilities and no more reach" {
    local R
    R=$(sec_rootfs)
    if [ -r /etc/shadow ]; then
        skip "/etc/shadow is readable by $MY_USER on this host"
    fi
    # Expected, by design: the kernel has one id in this namespace, so an
    # emulated setuid(1234) changes what getuid and id say, not the
    # process's credentials: /proc/self/status keeps uid 0 and the
    # capabilities it had.  A program that drops root this way keeps
    # root's powers inside the container (see rootemu.h); what must hold
    # is that it gains nothing beyond them.
    run erun -v /etc:/hostetc:ro --rootfs "$R" sh -c '
        grep ^CapEff: /proc/self/status | sed "s/^/before /"
        emuprobe setuid 1234 sh -c "
            id -u
            grep -E \"^(Uid|CapEff):\" /proc/self/status
            cat /hostetc/shadow > /dev/null 2>&1 && echo shadow-read || echo shadow-refused
            (echo x > /proc/sys/kernel/core_pattern) 2>/dev/null && echo core-written || echo core-refused
            touch /made-as-1234
            emuprobe setuid 0"'
    assert_status 0
    local before after
    before=$(printf '%s\n' "$output" | awk '$1 == "before" { print $3 }')
    after=$(printf '%s\n' "$output" | awk '$1 == "CapEff:" { print $2 }')
    assert_line_is "setuid ok"
    assert_line_is "ids 1234 1234"
    assert_line_is 1234
    assert_equal "$(printf '%s\n' "$output" | awk '$1 == "Uid:" { print $2, $3, $4, $5 }')" "0 0 0 0"
    [ -n "$before" ] && assert_equal "$after" "$before"
    assert_line_is shadow-refused
    assert_line_is core-refused
    # the emulated kernel rule: having given up root, no way back
    assert_line_is "setuid EPERM"
    # the file belongs to the user on the host, as all of the container's
    assert_equal "$(stat -c %u "$R/made-as-1234")" "$MY_UID"
}
