#!/usr/bin/env bats
# Privilege through the image's setuid and file-capability binaries: with
# no_new_privs (the default) they raise nothing; with it turned off they
# raise at most to the user namespace's root, within the bounding set, and
# that root still cannot touch what the user cannot on the host.  No
# capability is left in the inheritable set, so a file's inheritable
# capabilities add nothing either (CVE-2022-27650 in crun, CVE-2022-29162
# in runc, CVE-2022-24769 in Moby).

load helpers
load common

setup_file() {
    sec_setup_file privprobe
    # the hostile image: privprobe setuid to container root, setuid to
    # container uid 1001, and (made inside, by container root, which holds
    # CAP_SETFCAP) with file capabilities
    [ -x "$SROOTFS/bin/privprobe" ] || return 0
    cp "$SROOTFS/bin/privprobe" "$SROOTFS/bin/suid-root"
    cp "$SROOTFS/bin/privprobe" "$SROOTFS/bin/suid-1001"
    chmod 4755 "$SROOTFS/bin/suid-root"
    echo root-only > "$SROOTFS/root/secret"
    chmod 0600 "$SROOTFS/root/secret"
    "$HUTCH" --root "$BATS_FILE_TMPDIR/store" run --rootfs "$SROOTFS" sh -c '
        chown 1001 /bin/suid-1001 && chmod 4755 /bin/suid-1001 &&
        for c in all:ffffffffffffffff:ffffffffffffffff dac:2:0 inh:0:ffffffffffffffff; do
            n=${c%%:*}; m=${c#*:}
            cp /bin/privprobe /bin/fcap-$n && privprobe setfcap /bin/fcap-$n ${m%%:*} ${m#*:} || exit 1
        done' || export SEC_MISSING="could not make the setuid and file-capability binaries"
}

setup() {
    need_helpers
    if [ -r /etc/shadow ]; then
        skip "/etc/shadow is readable by $MY_USER on this host"
    fi
}

# caps_within HEX BOUND: every bit of HEX is in BOUND
caps_within() {
    [ $((0x$1 & ~0x$2)) -eq 0 ]
}

@test "setuid-root in the image, no_new_privs (default): nothing is raised" {
    run hrun -u 1000 -v /etc:/hostetc:ro --rootfs "$SROOTFS" sh -c 'suid-root /root/secret; suid-1001 /root/secret'
    assert_status 0
    assert_equal "${lines[0]}" "uid 1000 1000"
    assert_line_is "caps 0000000000000000 0000000000000000 0000000000000000"
    assert_line_is "read /root/secret EACCES"
    assert_no_line ' ok$'
    assert_no_line '^uid 1000 (0|1001)$'
}

@test "setuid-root in the image, no_new_privs off: the namespace's root, Docker's capabilities, and still no host file the user cannot read" {
    run hrun --security-opt no-new-privileges=false -u 1000 -v /etc:/hostetc:ro --rootfs "$SROOTFS" \
        sh -c 'suid-root /root/secret /hostetc/shadow /proc/sys/kernel/core_pattern; grep ^CapBnd: /proc/self/status'
    assert_status 0
    # setuid worked: euid 0, which is the user on the host
    assert_equal "${lines[0]}" "uid 1000 0"
    assert_line_is "read /root/secret ok"
    # ... but no more than that root
    local prm bnd
    prm=$(printf '%s\n' "$output" | awk '$1 == "caps" { print $2 }')
    bnd=$(printf '%s\n' "$output" | awk '$1 == "CapBnd:" { print $2 }')
    caps_within "$prm" "$bnd"
    caps_within "$prm" 00000000a80425fb
    assert_line_is "read /hostetc/shadow EACCES"
    assert_line_is "write /hostetc/shadow EACCES"
    assert_no_line '^write /proc/sys/kernel/core_pattern ok'
}

@test "setuid to another container id: that id, no capability, nothing of root's" {
    run hrun --security-opt no-new-privileges=false -u 1000 --rootfs "$SROOTFS" suid-1001 /root/secret
    assert_status 0
    assert_equal "${lines[0]}" "uid 1000 1001"
    assert_line_is "caps 0000000000000000 0000000000000000 0000000000000000"
    assert_line_is "read /root/secret EACCES"
}

@test "file capabilities: ignored under no_new_privs; without it, never beyond the bounding set (a file asking for more does not run)" {
    local o
    for o in "" "--security-opt no-new-privileges=false"; do
        # shellcheck disable=SC2086
        run hrun $o -u 1000 -v /etc:/hostetc:ro --rootfs "$SROOTFS" sh -c '
            fcap-all || echo "fcap-all refused"
            fcap-dac /root/secret /hostetc/shadow'
        assert_status 0
        # every capability asked, more than the bounding set: the kernel
        # refuses the exec rather than grant part of it
        assert_line_is "fcap-all refused"
        assert_line_is "read /hostetc/shadow EACCES"
        if [ -z "$o" ]; then
            assert_line_is "caps 0000000000000000 0000000000000000 0000000000000000"
            assert_line_is "read /root/secret EACCES"
        else
            # DAC_OVERRIDE, in the namespace only
            assert_line_is "caps 0000000000000002 0000000000000002 0000000000000000"
            assert_line_is "read /root/secret ok"
        fi
    done
}

@test "no inheritable capabilities: a file's inheritable capabilities add nothing, for root, a user, or a user given one (CVE-2022-27650, CVE-2022-29162, CVE-2022-24769)" {
    local o
    for o in "" "-u 1000" "-u 1000 --cap-add NET_BIND_SERVICE" "--cap-add SYS_ADMIN"; do
        # shellcheck disable=SC2086
        run hrun --security-opt no-new-privileges=false $o --rootfs "$SROOTFS" sh -c '
            grep -E "^Cap(Prm|Inh|Amb):" /proc/self/status; fcap-inh'
        assert_status 0
        local prm inh amb after
        prm=$(printf '%s\n' "$output" | awk '$1 == "CapPrm:" { print $2 }')
        inh=$(printf '%s\n' "$output" | awk '$1 == "CapInh:" { print $2 }')
        amb=$(printf '%s\n' "$output" | awk '$1 == "CapAmb:" { print $2 }')
        after=$(printf '%s\n' "$output" | awk '$1 == "caps" { print $2 }')
        # only what --cap-add gives a non-root user through the ambient set
        # is inheritable (the kernel wants it there)
        assert_equal "$inh" "$amb"
        if [[ $o == *"-u 1000"* ]]; then
            # after the exec: what the user had, nothing from the file
            assert_equal "$after" "$amb"
        else
            caps_within "$after" "$prm"
        fi
    done
}

@test "hutch itself holds no privilege to lend: no setuid or setgid bit, no file capabilities on its binaries (CVE-2020-5291, CVE-2016-8659 class)" {
    local b
    for b in "$HUTCH" "$HUTCH_OCI" "$HUTCH_INIT_DIR/hutch-init" "$(dirname "$HUTCH")/hutch-slirp"; do
        [ -e "$b" ] || continue
        [ ! -u "$b" ] && [ ! -g "$b" ] || { echo "$b is setuid or setgid" >&2; return 1; }
        run python3 -c 'import os, sys
try:
    os.getxattr(sys.argv[1], "security.capability")
    print("has file capabilities")
except OSError:
    print("none")' "$b"
        assert_equal "$output" none
    done
    # and the container's root is the user: what it creates on a volume
    # belongs to the user, not to root
    mkdir "$BATS_TEST_TMPDIR/vol"
    run hrun --rootfs "$SROOTFS" -v "$BATS_TEST_TMPDIR/vol:/vol" touch /vol/f
    assert_status 0
    assert_equal "$(stat -c %u "$BATS_TEST_TMPDIR/vol/f")" "$MY_UID"
}
