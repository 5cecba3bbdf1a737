#!/usr/bin/env bats
# The seccomp filter (issue 7): hutch's default profile, Docker and OCI
# profiles, seccomp=unconfined, --privileged, the cache of built filters.
#
# /bin/sysprobe (sysprobe.c, built static by sec_setup_file) calls system calls with
# harmless arguments and prints "NAME ERRNO" or "NAME ok": a call the filter
# stops says EPERM (or ENOSYS for clone3), and the same call with
# seccomp=unconfined says what the kernel says, which shows the filter is
# the cause.

load helpers
load common

setup_file() {
    sec_setup_file sysprobe
}

setup() {
    need_helpers
}

# probe [HUTCH OPTIONS...] -- NAME...: sysprobe's lines
probe() {
    local opts=()
    while [ "$1" != "--" ]; do
        opts+=("$1")
        shift
    done
    shift
    hrun "${opts[@]}" --rootfs "$SROOTFS" sysprobe "$@"
}

@test "default: /proc/self/status shows Seccomp 2 (one filter) and NoNewPrivs 1" {
    run hrun --rootfs "$SROOTFS" grep -E '^(Seccomp|Seccomp_filters|NoNewPrivs):' /proc/self/status
    assert_status 0
    assert_equal "$(printf '%s\n' "$output" | tr -d '\t' | sort | tr '\n' ' ')" \
        "NoNewPrivs:1 Seccomp:2 Seccomp_filters:1 "
}

@test "default: blocked calls fail with EPERM through the x86_64, i386 and x32 ABIs" {
    local names="keyctl keyctl-i386 keyctl-x32 add_key request_key bpf perf_event_open userfaultfd io_uring_setup personality unshare-user clone-user setns open_by_handle_at"
    # shellcheck disable=SC2086
    run probe -- $names
    assert_status 0
    local n
    for n in $names; do
        assert_output_has "$n EPERM"
    done
    # unconfined, the kernel answers: the keyring works in a user namespace,
    # and so do new user namespaces; x32 is ENOSYS when the kernel lacks it
    run probe --security-opt seccomp=unconfined -- keyctl keyctl-i386 add_key unshare-user clone-user personality
    assert_status 0
    assert_equal "$output" "keyctl ENOKEY
keyctl-i386 ENOKEY
add_key ok
unshare-user ok
clone-user ok
personality ok"
}

@test "default: calls that need a capability in the initial namespace stay refused" {
    # EPERM whether the filter or the kernel says it; the host is untouched
    run probe -- init_module finit_module delete_module kexec_load reboot swapon acct mount settimeofday sethostname
    assert_status 0
    local n
    for n in init_module finit_module delete_module kexec_load reboot swapon acct mount settimeofday sethostname; do
        assert_output_has "$n EPERM"
    done
}

@test "default: clone3 and calls newer than libseccomp are ENOSYS (the C library falls back); processes, threads, chroot, AF_UNIX work; AF_VSOCK not" {
    run probe -- clone3 nr1000 clone-plain unshare-fs personality-linux32 chroot getpid socket-unix socket-vsock socket-alg
    assert_status 0
    assert_equal "$output" "clone3 ENOSYS
nr1000 ENOSYS
clone-plain ok
unshare-fs ok
personality-linux32 ok
chroot ok
getpid ok
socket-unix ok
socket-vsock EPERM
socket-alg EPERM"
    # a shell pipeline, a subshell and a background job under the filter
    run hrun --rootfs "$SROOTFS" sh -c 'echo a | tr a b; (echo c); sleep 0 & wait; echo done'
    assert_status 0
    assert_equal "$output" "b
c
done"
}

@test "--cap-add SYS_ADMIN or SYS_PTRACE lets the calls of that capability through" {
    run probe --cap-add SYS_ADMIN -- unshare-user clone-user clone3 setns keyctl
    assert_status 0
    assert_equal "$output" "unshare-user ok
clone-user ok
clone3 EINVAL
setns EBADF
keyctl EPERM"
    run probe --cap-add SYS_PTRACE -- kcmp userfaultfd unshare-user
    assert_status 0
    # userfaultfd stays refused with any capability, as in Docker's profile
    assert_equal "$output" "kcmp ok
userfaultfd EPERM
unshare-user EPERM"
    run probe -- kcmp
    assert_equal "$output" "kcmp EPERM"
}

@test "--privileged installs no filter; seccomp=unconfined neither" {
    run hrun --privileged --rootfs "$SROOTFS" grep '^Seccomp:' /proc/self/status
    assert_status 0
    assert_equal "$output" "Seccomp:	0"
    run hrun --security-opt seccomp=unconfined --rootfs "$SROOTFS" grep '^Seccomp:' /proc/self/status
    assert_status 0
    assert_equal "$output" "Seccomp:	0"
}

@test "no-new-privileges=false: the filter still comes (before the user change), also for -u 1000" {
    run hrun --security-opt no-new-privileges=false --rootfs "$SROOTFS" grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status
    assert_status 0
    assert_equal "$(printf '%s\n' "$output" | tr -d '\t' | tr '\n' ' ')" "NoNewPrivs:0 Seccomp:2 "
    need_subids
    run hrun --security-opt no-new-privileges=false -u 1000:1000 --rootfs "$SROOTFS" sh -c 'id -u; sysprobe keyctl'
    assert_status 0
    assert_equal "$output" "1000
keyctl EPERM"
}

@test "--security-opt seccomp=FILE: a Docker profile, with errnoRet, args and includes" {
    local p=$BATS_TEST_TMPDIR/profile.json
    cat > "$p" <<'JSON'
{
  "defaultAction": "SCMP_ACT_ALLOW",
  "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
  "syscalls": [
    {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13, "comment": "EACCES"},
    {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
     "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
    {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 33,
     "includes": {"caps": ["CAP_SYS_ADMIN"]}}
  ]
}
JSON
    run hrun --security-opt "seccomp=$p" --rootfs "$SROOTFS" sh -c 'mkdir /tmp/x; sysprobe keyctl personality-linux32 getpid'
    assert_status 0
    assert_output_has "Permission denied"
    assert_output_has "keyctl ENOKEY"
    assert_output_has "personality-linux32 EPERM"
    assert_output_has "getpid ok"
    # includes.caps follows the container's capabilities
    run hrun --cap-add SYS_ADMIN --security-opt "seccomp:$p" --rootfs "$SROOTFS" sysprobe getpid
    assert_status 0
    assert_equal "$output" "getpid EDOM"
    # a relative path is the caller's
    cd "$BATS_TEST_TMPDIR"
    run hrun --privileged --security-opt seccomp=profile.json --rootfs "$SROOTFS" sysprobe personality-linux32
    assert_status 0
    assert_equal "$output" "personality-linux32 EPERM"
}

@test "a profile with a syntax error is refused with its line and column; nothing runs" {
    local p=$BATS_TEST_TMPDIR/bad.json
    printf '{\n  "defaultAction": "SCMP_ACT_ALLOW",\n  "syscalls": [\n    {"names": ["read"] "action": "SCMP_ACT_ALLOW"}\n  ]\n}\n' > "$p"
    run hrun --security-opt "seccomp=$p" --rootfs "$SROOTFS" echo RAN
    assert_status 125
    assert_output_has "seccomp profile $p is not valid JSON: line 4, column"
    [[ $output != *RAN* ]] || fail_now "the command ran: $output"
}

@test "bad profiles: exit 125 naming the cause, nothing runs" {
    local d=$BATS_TEST_TMPDIR
    printf '{"syscalls": []}' > "$d/noaction.json"
    printf '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_MAYBE"}]}' > "$d/action.json"
    printf '{"defaultAction": "SCMP_ACT_ALLOW", "syscals": []}' > "$d/key.json"
    printf '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_NOTIFY"}]}' > "$d/notify.json"
    printf '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_LIKE"}]}]}' > "$d/op.json"
    local f want
    for f in noaction:"defaultAction is missing" action:"unknown action \`SCMP_ACT_MAYBE\`" \
        key:"unknown key \`syscals\`" notify:"SCMP_ACT_NOTIFY needs a seccomp agent" \
        op:"syscalls[0].args[0].op: \`SCMP_CMP_LIKE\`" missing:"No such file"; do
        want=${f#*:}
        f=${f%%:*}
        run hrun --security-opt "seccomp=$d/$f.json" --rootfs "$SROOTFS" echo RAN
        assert_status 125
        assert_output_has "$want"
        [[ $output != *RAN* ]] || fail_now "the command ran with $f.json: $output"
    done
}

@test "built filters are cached in the store; a damaged cache file is rebuilt, never trusted" {
    local store=$BATS_TEST_TMPDIR/store f
    mkdir "$store"
    run "$HUTCH" --root "$store" run --rootfs "$SROOTFS" sysprobe keyctl
    assert_equal "$output" "keyctl EPERM"
    f=$(ls "$store"/cache/seccomp-*.bpf)
    [ -f "$f" ] || fail_now "no cache file in $store/cache"
    [ "$(stat -c %a "$store/cache")" = 700 ] || fail_now "the cache directory is not 0700"
    # a cached filter that allows everything must not be used: damage it
    head -c 40 "$f" > "$f.new" && mv "$f.new" "$f"
    run "$HUTCH" --root "$store" run --rootfs "$SROOTFS" sysprobe keyctl
    assert_equal "$output" "keyctl EPERM"
    [ "$(stat -c %s "$f")" -gt 40 ] || fail_now "the damaged cache file was not rewritten"
    # another bounding set, another filter
    run "$HUTCH" --root "$store" run --cap-add SYS_ADMIN --rootfs "$SROOTFS" sysprobe unshare-user
    assert_equal "$output" "unshare-user ok"
    [ "$(ls "$store"/cache/seccomp-*.bpf | wc -l)" = 2 ] || fail_now "expected two cache files"
}

@test "hutch-oci: linux.seccomp is installed" {
    local b=$BATS_TEST_TMPDIR/bundle
    mkdir -p "$b"
    cp -a "$SROOTFS" "$b/rootfs"
    cat > "$b/config.json" <<JSON
{
  "ociVersion": "1.0.2",
  "process": { "user": { "uid": 0, "gid": 0 }, "args": ["sysprobe", "keyctl", "getpid"],
               "env": ["PATH=/bin"], "cwd": "/", "noNewPrivileges": true },
  "root": { "path": "rootfs" },
  "mounts": [ { "destination": "/proc", "type": "proc", "source": "proc" } ],
  "linux": {
    "namespaces": [ { "type": "user" }, { "type": "mount" }, { "type": "pid" } ],
    "uidMappings": [ { "containerID": 0, "hostID": $(id -u), "size": 1 } ],
    "gidMappings": [ { "containerID": 0, "hostID": $(id -g), "size": 1 } ],
    "seccomp": {
      "defaultAction": "SCMP_ACT_ALLOW",
      "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      "syscalls": [ { "names": ["keyctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1 } ]
    }
  }
}
JSON
    run "$HUTCH_OCI" run --bundle "$b" ocisc
    assert_status 0
    assert_equal "$output" "keyctl EPERM
getpid ok"
    sed -i 's/"SCMP_ACT_ERRNO", "errnoRet": 1/"SCMP_ACT_ERRNO", "errnoRet": "one"/' "$b/config.json"
    run "$HUTCH_OCI" run --bundle "$b" ocisc2
    assert_status 1
    assert_output_has "linux.seccomp: syscalls[0].errnoRet must be a number"
}

@test "the profile podman installs (/usr/share/containers/seccomp.json) is accepted and applied" {
    local p=/usr/share/containers/seccomp.json
    [ -r "$p" ] || skip "$p is not installed (apt install golang-github-containers-common or podman)"
    run hrun --security-opt "seccomp=$p" --rootfs "$SROOTFS" sh -c 'grep "^Seccomp:" /proc/self/status; sysprobe nr1000 open_by_handle_at getpid'
    assert_status 0
    # open_by_handle_at needs CAP_DAC_READ_SEARCH in podman's profile (the
    # kernel would say EFAULT); unknown calls are ENOSYS
    assert_equal "$output" "Seccomp:	2
nr1000 ENOSYS
open_by_handle_at EPERM
getpid ok"
}
