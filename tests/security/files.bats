#!/usr/bin/env bats
# Escapes to the host's files: reading what was not bound in, writing
# beside a volume through `..` or a symlink, a volume's copy-up and :U
# through symlinks, mount destinations and
# special directories of a hostile image that are symlinks to host paths
# (raced by a second container, too), file handles, and the old root.
# Each test checks the host's side after the attempt.

load helpers
load common

setup_file() {
    sec_setup_file fhandle swapper chrootesc
}

setup() {
    need_helpers
    BGPIDS=()
    T=$BATS_TEST_TMPDIR
    TOKEN="hutch-secret-$RANDOM$RANDOM"
    # The volume's parent, with a secret beside the volume.
    mkdir -p "$T/parent/vol"
    echo "$TOKEN" > "$T/parent/secret"
    chmod 0600 "$T/parent/secret"
    echo in-volume > "$T/parent/vol/file"
}

teardown() {
    kill_bgpids
}

@test "host files not bound in: no route reaches them (.., /proc/*/root, cwd, fd, a search of every file)" {
    local home_secret="$HOME/hutch-sec-$BATS_TEST_NUMBER-$$"
    echo "$TOKEN" > "$home_secret"
    chmod 0600 "$home_secret"
    # The token is in the command line in two halves, so that the search
    # does not find its own arguments in /proc.
    local a=${TOKEN:0:8} b=${TOKEN:8}
    run hrun --rootfs "$SROOTFS" -v "$T/parent/vol:/data" -e A="$a" -e B="$b" sh -c '
        exec 2>/dev/null
        cat /data/file
        for p in /data/../secret /data/../../secret "$1" "$2"; do cat "$p"; done
        for p in /proc/[0-9]* /proc/self /proc/thread-self; do
            cat "$p/root$1" "$p/root$2" "$p/cwd/../secret" "$p/root/../../secret"
            for f in "$p"/fd/*; do cat "$f/../secret" "$f/$1"; done
        done
        find / \( -path /proc -o -path /sys -o -path /dev \) -prune -o -type f -print |
            xargs grep -l "$A$B" | sed "s/^/found: /"
        echo searched' \
        _ "$T/parent/secret" "$home_secret"
    rm -f "$home_secret"
    # the control: the container ran, and reads its volume
    assert_line_is in-volume
    assert_line_is searched
    [[ $output != *"$TOKEN"* ]] || { echo "the secret was read: $output" >&2; return 1; }
    assert_no_line '^found: '
}

@test "/etc/shadow: root in the container, with every capability, cannot read it, bound in or in the host sandbox" {
    [ -e /etc/shadow ] || skip "this host has no /etc/shadow"
    [ ! -r /etc/shadow ] || skip "/etc/shadow is readable by $MY_USER on this host"
    local o
    for o in "" "--privileged" "--cap-add ALL"; do
        # shellcheck disable=SC2086
        run hrun $o --rootfs "$SROOTFS" -v /etc:/hostetc:ro sh -c '
            cat /hostetc/shadow; echo "passwd $(grep -c ^root: /hostetc/passwd)"'
        # the control: the host's /etc is there
        assert_line_is "passwd 1"
        assert_no_line '^root:'
        cd "$T"
        # shellcheck disable=SC2086
        run hrun $o -- sh -c 'cat /etc/shadow; echo "passwd $(grep -c ^root: /etc/passwd)"'
        assert_line_is "passwd 1"
        assert_no_line '^root:'
    done
}

@test "writes through .. from a volume stay in the container: the volume's parent is untouched" {
    local r before
    r=$(sec_rootfs)
    before=$(tree_state "$T/parent")
    run hrun --rootfs "$r" -v "$T/parent/vol:/data" sh -c '
        cd /data
        echo pwn > ../escaped; echo pwn > ../../escaped; echo pwn > /data/../../../../escaped
        mkdir -p ../escaped-dir ../../../escaped-dir
        echo pwn > ../secret; rm -f ../secret /data/../secret
        mv /data/file /data/../moved-file && mv /data/../moved-file /data/file
        echo done'
    assert_line_is done
    # the volume itself is the container's to change, the rest is not
    rm -rf "$T/parent/vol"/*
    echo in-volume > "$T/parent/vol/file"
    assert_equal "$(tree_state "$T/parent")" "$before"
    assert_equal "$(cat "$T/parent/secret")" "$TOKEN"
    # where the writes went: into the container's root
    [ -f "$r/escaped" ]
}

@test "symlinks in a volume lead inside the container: links the container plants, and links left there on the host" {
    local r before
    r=$(sec_rootfs)
    # left by someone on the host: absolute and relative, out of the volume
    ln -s "$T/parent" "$T/parent/vol/abs"
    ln -s .. "$T/parent/vol/rel"
    ln -s "$T/parent/secret" "$T/parent/vol/secret-link"
    before=$(tree_state "$T/parent")
    run hrun --rootfs "$r" -v "$T/parent/vol:/data" sh -c '
        cat /data/file
        cat /data/secret-link /data/abs/secret /data/rel/secret /data/rel/../secret
        echo pwn > /data/abs/escaped; echo pwn > /data/rel/escaped; echo pwn > /data/secret-link
        mkdir /data/abs/escaped-dir /data/rel/escaped-dir
        ln -s / /data/root-link; ln -s ../../.. /data/up-link
        echo pwn > /data/root-link/escaped-root; echo pwn > /data/up-link/escaped-up
        cat /data/up-link/secret /data/root-link/secret
        echo done'
    # the control: the volume is there
    assert_line_is in-volume
    assert_line_is done
    [[ $output != *"$TOKEN"* ]] || { echo "the secret was read: $output" >&2; return 1; }
    # the links the container planted are the only change
    rm -f "$T/parent/vol/root-link" "$T/parent/vol/up-link"
    assert_equal "$(tree_state "$T/parent")" "$before"
    assert_equal "$(cat "$T/parent/secret")" "$TOKEN"
}

@test "a new volume's copy-up and -v ...:U follow no symlink to the host: the image's, the container's, or ones left on the host" {
    local r before
    r=$(sec_rootfs)
    # the image's directory holds links to host paths
    mkdir "$r/seed"
    ln -s "$T/parent/secret" "$r/seed/secret-link"
    ln -s "$T/parent" "$r/seed/parent-link"
    ln -s / "$r/seed/root-link"
    # and so does a host directory given to the container's user
    ln -s "$T/parent/secret" "$T/parent/vol/secret-link"
    ln -s "$T/parent" "$T/parent/vol/parent-link"
    before=$(tree_state "$T/parent")
    run hrun --rootfs "$r" -u 1000:1000 -v vol:/seed:U -v "$T/parent/vol:/bound:U" \
        sh -c 'readlink /seed/secret-link; ln -s '"$T/parent/secret"' /seed/planted; echo done'
    assert_line_is "$T/parent/secret"
    assert_line_is done
    # the links were copied as links, and :U changed them, not their targets
    [ "$(stat -c %u "$T/parent/vol")" != "$(id -u)" ]
    [ "$(stat -c %u "$T/parent/vol/secret-link")" != "$(id -u)" ]
    # a second :U over the link the container planted
    run hrun --rootfs "$r" -u 1001:1001 -v vol:/seed:U true
    assert_status 0
    assert_equal "$(stat -c %u:%a "$T/parent/secret")" "$(id -u):600"
    assert_equal "$(stat -c %u "$T/parent")" "$(id -u)"
    assert_equal "$(cat "$T/parent/secret")" "$TOKEN"
    # give the bound directory back, for the comparison and for bats to remove
    run hrun --rootfs "$r" -v "$T/parent/vol:/bound:U" true
    assert_status 0
    assert_equal "$(tree_state "$T/parent")" "$before"
    "$HUTCH" --root "$BATS_TEST_TMPDIR/store" volume rm vol >/dev/null
}

@test "-v, --tmpfs and -w destinations behind the image's symlinks to host paths resolve inside the root (CVE-2021-30465, CVE-2024-45310 class)" {
    local r v before spec round
    r=$(sec_rootfs)
    v=$T/victim
    mkdir "$v"
    echo host-file > "$v/file"
    before=$(tree_state "$v")
    echo vol-file > "$T/volfile"
    # absolute, relative with more .. than the root has, a chain of two,
    # and a link to a host file as a file mount's destination
    ln -s "$v" "$r/abs"
    ln -s "../../../../../../../../../..$v" "$r/rel"
    ln -s /abs "$r/chain1"
    ln -s /chain1 "$r/chain2"
    ln -s "$v/file" "$r/filelink"
    # twice: while the links' targets do not exist inside the root, and
    # once they do
    for round in 1 2; do
        for spec in "-v $T/parent/vol:/abs/x" "-v $T/parent/vol:/rel/x/y" "-v $T/parent/vol:/chain2/x" \
                    "-v $T/parent/vol:/abs" "-v $T/volfile:/filelink" "-v $T/volfile:/abs/file" \
                    "--tmpfs /abs/t" "--tmpfs /chain2" "-w /abs/w" "-w /rel/w/w"; do
            # shellcheck disable=SC2086
            run hrun --rootfs "$r" $spec sh -c 'cat /abs/x/file /filelink /abs/file 2>/dev/null; echo ran'
            # either refused or mounted inside the root: never on the host
            if [ "$status" -ne 0 ] && [ "$status" -ne 125 ]; then
                echo "$spec: exit status $status: $output" >&2
                return 1
            fi
            assert_equal "$(tree_state "$v")" "$before"
            assert_equal "$(cat "$v/file")" host-file
        done
        mkdir -p "$r$v"
    done
    # where the link points when / is the root: there the volume is
    run hrun --rootfs "$r" -v "$T/parent/vol:/abs/x" cat /abs/x/file "$v/x/file"
    assert_status 0
    assert_equal "${lines[0]}" in-volume
    assert_equal "${lines[1]}" in-volume
    [ -d "$r$v/x" ]
}

@test "/proc, /sys, /dev and /etc/hosts of the image as symlinks to host paths: mounted inside the root, masks still in place (CVE-2019-19921, CVE-2023-27561, CVE-2023-28642)" {
    local r v
    r=$(sec_rootfs)
    v=$T/victim
    mkdir -p "$v/proc" "$v/sys" "$v/dev" "$v/etc"
    echo host-hosts > "$v/etc/hosts"
    rm -rf "$r/proc" "$r/sys" "$r/dev" "$r/etc/hosts" "$r/etc/hostname" "$r/etc/resolv.conf"
    ln -s "$v/proc" "$r/proc"
    ln -s "$v/sys" "$r/sys"
    ln -s "../../../../../../../..$v/dev" "$r/dev"
    ln -s "$v/etc/hosts" "$r/etc/hosts"
    ln -s "$v/etc/hostname" "$r/etc/hostname"
    ln -s "../../../../../../../..$v/etc/resolv.conf" "$r/etc/resolv.conf"
    local before
    before=$(tree_state "$v")
    run hrun -t --rootfs "$r" sh -c '
        test -e /proc/1/status && echo procfs
        wc -c < /proc/keys; wc -c < /proc/timer_list
        { echo 1 > /proc/sys/kernel/core_pattern; } 2>/dev/null && echo wrote-proc-sys
        { echo x > /sys/kernel/profiling; } 2>/dev/null && echo wrote-sys
        tty
        echo pwn > /etc/hosts; echo pwn > /etc/hostname
        echo done' < /dev/null
    assert_status 0
    assert_output_has procfs done
    [[ $output != *wrote* ]]
    assert_equal "$(printf '%s\n' "$output" | tr -d '\r' | grep -cx 0)" 2
    assert_equal "$(tree_state "$v")" "$before"
    assert_equal "$(cat "$v/etc/hosts")" host-hosts
}

@test "a volume destination raced by a second container sharing the volume never lands on the host (CVE-2021-30465, CVE-2019-19921 race)" {
    local s=$T/shared v=$T/victim before i out
    mkdir -p "$s/race" "$v"
    before=$(tree_state "$v")
    ln -s "$v" "$s/race-link"
    # container B exchanges the directory and the link to the host path,
    # atomically, as fast as it can
    out=$T/swapper.out
    "$HUTCH" --root "$T/store" run --rootfs "$SROOTFS" -v "$s:/shared" \
        swapper /shared race race-link 20 > "$out" 2>&1 &
    BGPIDS+=($!)
    wait_for file_has "$out" ready || { cat "$out" >&2; return 1; }
    # container A mounts a volume through the racing path, again and again
    for i in $(seq 1 25); do
        run hrun --rootfs "$(sec_rootfs)" -v "$s:/shared" -v "$T/parent/vol:/shared/race/target" true
        assert_equal "$(tree_state "$v")" "$before"
    done
    is_alive "${BGPIDS[0]}" || { echo "the swapper stopped early:" >&2; cat "$out" >&2; return 1; }
}

@test "open_by_handle_at: a host file or directory cannot be opened by its handle, even with every capability (the 'shocker' escape)" {
    local h_parent h_secret h_in o
    h_parent=$("$SBIN/fhandle" get "$T/parent") || skip "this file system gives no file handles"
    h_secret=$("$SBIN/fhandle" get "$T/parent/secret")
    h_in=$("$SBIN/fhandle" get "$T/parent/vol/file")
    for o in "" "--cap-add DAC_READ_SEARCH" "--privileged"; do
        # shellcheck disable=SC2086
        run hrun $o --rootfs "$SROOTFS" -v "$T/parent/vol:/data" sh -c '
            fhandle open /data "$1"; fhandle open /data "$2"; fhandle open / "$1"; fhandle open /data "$3"
            echo done' _ "$h_parent" "$h_secret" "$h_in"
        assert_line_is done
        # the handles of the volume's parent and of the secret beside it
        # lead nowhere; one inside the volume may open with the volume's
        # owner's capabilities (Linux 6.10+), which is no escape
        [ "${lines[0]%% *}" = open ] && [ "${lines[1]%% *}" = open ] && [ "${lines[2]%% *}" = open ] || {
            echo "$o: a host inode was opened by handle: $output" >&2
            return 1
        }
        [[ $output != *"$TOKEN"* ]]
    done
}

@test "the old root is gone: chroot and fchdir, .. above /, and unmounting / lead to the container's root, not the host's" {
    local marker=$T/host-only-marker o
    echo "$TOKEN" > "$marker"
    for o in "" "--cap-add SYS_ADMIN" "--privileged"; do
        # shellcheck disable=SC2086
        run hrun $o --rootfs "$(sec_rootfs)" sh -c '
            chrootesc "$1"
            umount -l / 2>/dev/null; cd /; cd ../../..; cat "$1" 2>/dev/null
            echo done' _ "$marker"
        assert_line_is done
        assert_line_is "chroot-escape absent"
        [[ $output != *"$TOKEN"* ]] || { echo "$o: the host's root was reached: $output" >&2; return 1; }
    done
}
