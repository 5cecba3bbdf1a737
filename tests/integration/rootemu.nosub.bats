#!/usr/bin/env bats
# Root emulation (src/runtime/rootemu.c), as a user WITHOUT a subordinate
# range (hutchnosub): the container's root may chown, change its ids and
# make device nodes as far as it is told, the owners it gives are recorded
# (user.containers.override_stat) and go into the layers hutch writes.

load helpers
load debian

setup_file() {
    export S=$BATS_FILE_TMPDIR/s
    debian_available || return 0
    debian_import "$S" deb12
    debian_repo_start
}

teardown_file() {
    debian_repo_stop
    [ -d "${S:-}" ] && empty_store "$S"
    rm -rf "${S:-}"
}

setup() {
    if [ -n "$SUBUID_START" ] || [ -n "$SUBGID_START" ]; then
        skip "user $MY_USER has a subordinate range; these tests need one without"
    fi
}

@test "rootemu: hutch info says the user's containers get root emulation" {
    run "$HUTCH" info
    assert_status 0
    assert_output_has "root emulation: yes"
}

@test "rootemu: chown records the owner, stat shows it, and chown back to root removes it" {
    local r
    r=$(fresh_rootfs)
    run --separate-stderr "$HUTCH" run --rootfs "$r" sh -c '
        touch /home/f && mkdir /home/d
        chown 1000:50 /home/f && chown bob:staff /home/d && chgrp 50 /home/alice
        stat -c "%u:%g %U:%G %n" /home/f /home/d /home/alice
        ls -ln /home/f'
    assert_status 0
    assert_equal "${lines[0]}" "1000:50 alice:staff /home/f"
    assert_equal "${lines[1]}" "1001:50 bob:staff /home/d"
    assert_equal "${lines[2]}" "0:50 root:staff /home/alice"
    [[ "${lines[3]}" == *" 1000 "*" 50 "* ]]
    # on the host: the user's own files, the owners recorded beside
    [ "$(stat -c %u "$r/home/f")" = "$MY_UID" ]
    assert_equal "$(override_of "$r/home/f")" "1000:50:0644"
    assert_equal "$(override_of "$r/home/d")" "1001:50:0755"
    run --separate-stderr "$HUTCH" run --rootfs "$r" sh -c 'chown 0:0 /home/f && stat -c %u:%g /home/f'
    assert_status 0
    assert_equal "$output" "0:0"
    assert_equal "$(override_of "$r/home/f")" none
}

@test "rootemu: chown keeps the kernel's rules: no CAP_CHOWN, no chown" {
    local r
    r=$(fresh_rootfs)
    run --separate-stderr "$HUTCH" run --cap-drop CHOWN --rootfs "$r" sh -c 'touch /home/f; chown 1000 /home/f'
    assert_status 1
    [[ "$stderr" == *"Operation not permitted"* ]]
    assert_equal "$(override_of "$r/home/f")" none
    # a missing file is the kernel's ENOENT
    run --separate-stderr "$HUTCH" run --rootfs "$r" chown 1000 /home/nothing
    assert_status 1
    [[ "$stderr" == *"No such file"* ]]
}

@test "rootemu: su changes the ids a process is told, its children inherit them, its real ids stay" {
    run --separate-stderr "$HUTCH" run --rootfs "$ROOTFS" sh -c '
        su -s /bin/sh alice -c "id; sh -c id; grep ^Uid: /proc/self/status"; id -u'
    assert_status 0
    assert_equal "${lines[0]}" "uid=1000(alice) gid=1000(alice) groups=1000(alice),50(staff)"
    assert_equal "${lines[1]}" "${lines[0]}"
    assert_equal "$(echo "${lines[2]}" | tr -s '\t ' ' ')" "Uid: 0 0 0 0"
    assert_equal "${lines[3]}" 0
}

@test "rootemu: -u, --group-add and an image's USER get emulated ids, and lose root's capabilities" {
    run --separate-stderr "$HUTCH" run -u alice --group-add 1001 --rootfs "$ROOTFS" sh -c '
        id; grep -E "^CapEff:" /proc/self/status | tr -s "\t " " "; touch /tmp/x; chown 1001 /tmp/x'
    assert_status 1
    assert_equal "${lines[0]}" "uid=1000(alice) gid=1000(alice) groups=50(staff),1001(bob)"
    assert_equal "${lines[1]}" "CapEff: 0000000000000000"
    [[ "$stderr" == *"Operation not permitted"* ]]
}

@test "rootemu: mknod of a device makes a placeholder that stat shows as the device" {
    local r
    r=$(fresh_rootfs)
    run --separate-stderr "$HUTCH" run --rootfs "$r" sh -c 'mknod /home/null c 1 3 && mknod -m 0600 /home/blk b 7 0 && ls -l /home/null /home/blk'
    assert_status 0
    [[ "${lines[0]}" == brw-------*" 7,"*"0 "*/home/blk ]]
    [[ "${lines[1]}" == crw-r--r--*" 1,"*"3 "*/home/null ]]
    [ -f "$r/home/null" ] && [ ! -s "$r/home/null" ]
    assert_equal "$(override_of "$r/home/null")" "0:0:0644:char-1-3"
    # without CAP_MKNOD, the kernel's answer
    run --separate-stderr "$HUTCH" run --cap-drop MKNOD --rootfs "$r" mknod /home/null2 c 1 3
    assert_status 1
    [ ! -e "$r/home/null2" ]
}

@test "rootemu: a container's own seccomp profile still refuses what it refuses" {
    local r p=$BATS_TEST_TMPDIR/profile.json
    r=$(fresh_rootfs)
    cat >"$p" <<'JSON'
{"defaultAction": "SCMP_ACT_ALLOW",
 "syscalls": [{"names": ["chown", "fchownat", "lchown", "fchown"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}
JSON
    run --separate-stderr "$HUTCH" run --security-opt seccomp="$p" --rootfs "$r" sh -c 'touch /home/f; chown 1000 /home/f'
    assert_status 1
    [[ "$stderr" == *"Permission denied"* ]]
    assert_equal "$(override_of "$r/home/f")" none
}

@test "rootemu: the handler ends with the container" {
    run --separate-stderr "$HUTCH" run --rootfs "$ROOTFS" sh -c 'chown 1000 /tmp; stat -c %u /tmp'
    assert_status 0
    assert_equal "$output" 1000
    # nothing of the container's is left running as the user
    local left
    left=$(pgrep -u "$MY_UID" -a -f "^$HUTCH " || true)
    assert_equal "$left" ""
}

@test "rootemu: a detached container is emulated too" {
    local r
    r=$(fresh_rootfs)
    run --separate-stderr "$HUTCH" run -d --name emu-d --rootfs "$r" sh -c 'touch /home/f; chown 1001 /home/f; sleep 30'
    assert_status 0
    wait_for override_is "$r/home/f" 1001:0:0644
    "$HUTCH" rm -f emu-d >/dev/null
}

@test "rootemu: an image unpacked for one id keeps its owners: /etc/shadow is root:shadow" {
    debian_need
    run --separate-stderr "$HUTCH" --root "$S" run --rm --network none deb12 stat -c %U:%G /etc/shadow /etc/gshadow
    assert_status 0
    assert_equal "${lines[0]}" root:shadow
    assert_equal "${lines[1]}" root:shadow
}

@test "rootemu: apt-get update and install hello in Debian 12, through slirp" {
    debian_need
    run debian_run "$S" deb12 "$(debian_apt_hello); stat -c %U /var/lib/apt/lists/partial /var/cache/apt/archives/partial; setpriv --reuid=_apt --regid=nogroup --clear-groups id"
    assert_status 0
    assert_output_has "Hello, world!"
    assert_equal "${lines[-3]}" _apt
    assert_equal "${lines[-2]}" _apt
    assert_equal "${lines[-1]}" "uid=42(_apt) gid=65534(nogroup) groups=65534(nogroup)"
    ! printf '%s\n' "$output" | grep -E '^(E|W): '
}

@test "rootemu: hutch build with useradd and chown gives a layer with the owner asked for" {
    debian_need
    local ctx=$BATS_TEST_TMPDIR/ctx out=$BATS_TEST_TMPDIR/img.tar x=$BATS_TEST_TMPDIR/x l
    mkdir -p "$ctx" "$x"
    printf 'FROM deb12\nRUN useradd -u 1234 app && mkdir -p /home/app && chown app /home/app && touch /home/app/f && chown 1234:1234 /home/app/f\nUSER app\nRUN id -u >/home/app/who\n' >"$ctx/Containerfile"
    run "$HUTCH" --root "$S" build --network none -t emu-built "$ctx"
    assert_status 0
    run --separate-stderr "$HUTCH" --root "$S" run --rm --network none emu-built sh -c 'stat -c "%U %u:%g" /home/app /home/app/f; cat /home/app/who; id -un'
    assert_status 0
    assert_equal "${lines[0]}" "app 1234:0"
    assert_equal "${lines[1]}" "app 1234:1234"
    # USER app: the RUN step after it and the container run as app
    assert_equal "${lines[2]}" 1234
    assert_equal "${lines[3]}" app
    "$HUTCH" --root "$S" save -o "$out" emu-built
    tar -C "$x" -xf "$out"
    run sh -c "for l in $x/blobs/sha256/*; do tar -tvzf \$l 2>/dev/null; done | grep -E ' home/app/?\$| home/app/f\$'"
    [[ "$output" == *"1234/0 "*"home/app/"* ]]
    [[ "$output" == *"1234/1234 "*"home/app/f"* ]]
    # the attribute itself is not in the layer
    run sh -c "for l in $x/blobs/sha256/*; do tar --xattrs -tvzf \$l 2>/dev/null; done | grep -c override_stat"
    assert_equal "$output" 0
}
