#!/usr/bin/env bats
# Volumes: -v NAME:/path, -v /path (anonymous), --mount (bind, volume,
# tmpfs), the suffixes :U, :z, :Z, nocopy and the propagations, the copy-up
# of an image's directory into a new volume, and `hutch volume`.  Every test
# uses a private store in $BATS_TEST_TMPDIR.

load helpers

MKTAR="python3 $BATS_TEST_DIRNAME/mktar.py"

# The image: the busybox rootfs, and /data owned by 1000:1000 (mode 0750)
# with a file, a symlink and a hard link.
setup_file() {
    local D=$BATS_FILE_TMPDIR
    $MKTAR tar "$D/img.tar" "tree:$ROOTFS" owner:1000:1000 mode:0750 dir:./data mode:- \
        dir:./data/sub file:./data/sub/f:content sym:./data/link:/etc/passwd \
        hard:./data/hard:./data/sub/f
}

setup() {
    STORE=$BATS_TEST_TMPDIR/store
    BGPIDS=()
}

# The store must end empty of volumes (files of subordinate ids included),
# so that the user can delete it.
teardown() {
    kill_bgpids
    if [ -d "$STORE" ]; then
        "$HUTCH" --root "$STORE" volume prune -f >/dev/null 2>&1 || true
        empty_store "$STORE"
        rm -rf "$STORE" || true
    fi
}

H() { "$HUTCH" --root "$STORE" "$@"; }

import_img() {
    H import "$BATS_FILE_TMPDIR/img.tar" vimg:1 >/dev/null
}

# host_owner PATH: "UID:GID" of PATH, as the host sees it
host_owner() { stat -c %u:%g "$1"; }

@test "a named volume is made on first use, outlives the container, and is the user's" {
    run H run -v data1:/data --rootfs "$ROOTFS" sh -c 'echo kept > /data/f; id -u'
    assert_status 0
    assert_equal "$output" 0
    run H run -v data1:/data --rootfs "$ROOTFS" cat /data/f
    assert_status 0
    assert_equal "$output" kept
    # the container's root is the user: so are the volume and its files
    assert_equal "$(host_owner "$STORE/volumes/data1/_data")" "$MY_UID:$MY_GID"
    assert_equal "$(host_owner "$STORE/volumes/data1/_data/f")" "$MY_UID:$MY_GID"
    run H volume ls -q
    assert_equal "$output" data1
}

@test "a new volume gets the image's directory (copy-up): owner, mode, content, links" {
    need_subids
    import_img
    run H run -v cu:/data vimg:1 sh -c 'stat -c "%u:%g %a" /data; echo "$(cat /data/sub/f)"; readlink /data/link; [ "$(stat -c %i /data/hard)" = "$(stat -c %i /data/sub/f)" ] && echo linked'
    assert_status 0
    assert_equal "${lines[0]}" "1000:1000 750"
    assert_equal "${lines[1]}" content
    assert_equal "${lines[2]}" /etc/passwd
    assert_equal "${lines[3]}" linked
    assert_equal "$(host_owner "$STORE/volumes/cu/_data")" "$(host_uid_of 1000):$((SUBGID_START + 999))"
    # so the image's user 1000 can write it
    run H run -u 1000 -v cu:/data vimg:1 sh -c 'echo by1000 > /data/new && cat /data/new'
    assert_status 0
    assert_equal "$output" by1000
    # not empty any more: not copied again
    run H run -v cu:/data vimg:1 sh -c 'rm /data/sub/f; ls /data/sub'
    assert_status 0
    run H run -v cu:/data vimg:1 ls /data/sub
    assert_status 0
    assert_equal "$output" ""
}

@test "copy-up: nocopy, --rootfs, the host sandbox" {
    need_subids
    import_img
    run H run -v nc:/data:nocopy vimg:1 ls -A /data
    assert_status 0
    assert_equal "$output" ""
    run H run --mount type=volume,src=nc2,dst=/data,volume-nocopy vimg:1 ls -A /data
    assert_status 0
    assert_equal "$output" ""
    # a root directory counts as the image
    run H run -v etcvol:/etc --rootfs "$ROOTFS" cat /etc/passwd
    assert_status 0
    assert_output_has root:x:0
    # the host's own directories are no image: nothing copied
    mkdir "$BATS_TEST_TMPDIR/w"
    cd "$BATS_TEST_TMPDIR/w"
    run H run -v sbx:/usr/share -- ls -A /usr/share
    assert_status 0
    assert_equal "$output" ""
}

@test "a destination that an image symlink leads into /proc is refused, and nothing is copied up" {
    # /pdata -> /proc/self would have copied hutch's own environ (the
    # user's environment) into a volume the image reads on its next run
    local R=$BATS_TEST_TMPDIR/r
    cp -a "$ROOTFS" "$R"
    ln -s /proc/self "$R/pdata"
    ln -s /sys/kernel "$R/sysk"
    SECRET_OF_THE_USER=hunter2 run H run --rootfs "$R" -v leak:/pdata true
    assert_status 125
    assert_output_has "mount destination \`/pdata\` leads into /proc through a symbolic link"
    run H run --rootfs "$R" -v leak2:/sysk true
    assert_status 125
    assert_output_has "leads into /sys"
    run H run --rootfs "$ROOTFS" -v leak:/a sh -c 'ls -A /a; cat /a/environ 2>/dev/null; true'
    assert_status 0
    assert_equal "$output" ""
    # a destination written under /proc is the user's own choice (lxcfs)
    echo 42 > "$BATS_TEST_TMPDIR/up"
    run H run --rootfs "$ROOTFS" -v "$BATS_TEST_TMPDIR/up:/proc/uptime:ro" cat /proc/uptime
    assert_status 0
    assert_equal "$output" 42
}

@test "a new volume is writable by the container's root, and by -u 1000 with :U" {
    need_subids
    run H run -u 1000 -v plain:/v --rootfs "$ROOTFS" touch /v/x
    [ "$status" -ne 0 ]
    run H run -v plain:/v --rootfs "$ROOTFS" touch /v/x
    assert_status 0
    run H run -u 1000:1000 -v owned:/v:U --rootfs "$ROOTFS" sh -c 'touch /v/x && stat -c %u:%g /v /v/x'
    assert_status 0
    assert_equal "${lines[0]}" 1000:1000
    assert_equal "${lines[1]}" 1000:1000
    assert_equal "$(host_owner "$STORE/volumes/owned/_data")" "$(host_uid_of 1000):$((SUBGID_START + 999))"
}

@test ":U gives a host directory to the container's user, without following symlinks out" {
    need_subids
    local d=$BATS_TEST_TMPDIR/u out=$BATS_TEST_TMPDIR/outside
    mkdir -p "$d/sub"
    echo x > "$d/sub/f"
    echo o > "$out"
    ln -s "$out" "$d/esc"
    run H run -u 1000:1000 -v "$d:/b:U" --rootfs "$ROOTFS" sh -c 'touch /b/sub/new && echo ok'
    assert_status 0
    assert_equal "$output" ok
    local want="$(host_uid_of 1000):$((SUBGID_START + 999))"
    assert_equal "$(host_owner "$d")" "$want"
    assert_equal "$(host_owner "$d/sub/f")" "$want"
    assert_equal "$(host_owner "$d/sub/new")" "$want"
    # the symlink itself is given; its target outside is not
    assert_equal "$(stat -c %u:%g "$d/esc")" "$want"
    assert_equal "$(host_owner "$out")" "$MY_UID:$MY_GID"
    # --mount's U=true, back to the container's root (the user)
    run H run -u 0:0 --mount "type=bind,src=$d,dst=/b,U=true" --rootfs "$ROOTFS" true
    assert_status 0
    assert_equal "$(host_owner "$d/sub/f")" "$MY_UID:$MY_GID"
}

@test ":U fails, naming the first file, where the files belong to ids outside the namespace" {
    need_subids
    run H run -v uvol:/u --rootfs "$ROOTFS" sh -c 'mkdir /u/d && touch /u/d/f && chown -R 5:5 /u/d'
    assert_status 0
    # one id only: the files of subordinate ids are nobody's in there
    run H run --userns=single -v uvol:/u:U --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "could not be given" "\`d" "drop :U"
}

@test ":z and :Z: SELinux is off here, said once per run; combined suffixes" {
    [ ! -e /sys/fs/selinux/enforce ] || skip "SELinux is on on this host"
    local d=$BATS_TEST_TMPDIR/z
    mkdir "$d"
    run H run -v "$d:/a:ro,z" -v "$d:/b:Z,rw" --mount "type=bind,src=$d,dst=/c,relabel=shared" \
        --security-opt label=type:container_t --rootfs "$ROOTFS" sh -c 'touch /b/ok; touch /a/no'
    [ "$status" -ne 0 ] # /a is read-only
    [ -e "$d/ok" ]
    [ ! -e "$d/no" ]
    assert_equal "$(printf '%s\n' "$output" | grep -c 'SELinux is off')" 1
    assert_output_has "nothing to label" "$d:/a:ro,z"
    # label=disable is what hutch does anyway: nothing said
    run H run --security-opt label=disable --rootfs "$ROOTFS" true
    assert_status 0
    assert_equal "$output" ""
    run H run -v "$d:/a:z,Z" --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "choose one"
    run H run --security-opt label=bogus --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "label=disable" "type:T"
}

@test "-v suffixes: unknown ones and what cannot work rootless are refused with the allowed ones" {
    local d=$BATS_TEST_TMPDIR/s
    mkdir "$d"
    run H run -v "$d:/a:rw,bogus" --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "unknown option \`bogus\`" "ro, rw, z, Z, U, nocopy"
    run H run -v "$d:/a:rshared" --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has rootless rslave
    run H run -v "$d:/a:nocopy" --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "nocopy applies to volumes"
    run H run -v "x:/a" --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "neither a host path"
    run H run -v "$d:/a" --tmpfs /a --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "two mounts on /a"
}

@test "bind propagation: rprivate, runbindable; shared is refused" {
    local d=$BATS_TEST_TMPDIR/p
    mkdir "$d"
    run H run -v "$d:/m:rprivate" --rootfs "$ROOTFS" grep " /m " /proc/self/mountinfo
    assert_status 0
    [[ $output != *master:* && $output != *shared:* ]]
    run H run --mount "type=bind,src=$d,dst=/m,bind-propagation=runbindable" --rootfs "$ROOTFS" \
        grep " /m " /proc/self/mountinfo
    assert_status 0
    assert_output_has unbindable
    run H run -v "$d:/m:rslave" --rootfs "$ROOTFS" grep " /m " /proc/self/mountinfo
    assert_status 0
    [[ $output != *shared:* ]]
    run H run --mount "type=bind,src=$d,dst=/m,bind-propagation=rshared" --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has rootless
}

@test "anonymous volumes (-v /path, --mount type=volume without source) go with --rm, or with rm -v" {
    need_subids
    run H run --rm -v /anon --rootfs "$ROOTFS" sh -c 'touch /anon/x; chown 5:5 /anon/x; ls /anon'
    assert_status 0
    assert_equal "$output" x
    run H volume ls -q
    assert_equal "$output" ""
    # kept with the container, the same at its next start, gone with rm -v
    run H run --name keep -v /anon --rootfs "$ROOTFS" sh -c 'echo 1 >> /anon/n; cat /anon/n'
    assert_equal "$output" 1
    run H volume ls -q
    [[ $output =~ ^[0-9a-f]{64}-0$ ]] || fail_now "volumes: $output"
    H start keep >/dev/null
    run H wait keep
    assert_equal "$output" 0
    run H run --rm -v "$(H volume ls -q):/v" --rootfs "$ROOTFS" cat /v/n
    assert_equal "$output" "1
1"
    H rm -v keep >/dev/null
    run H volume ls -q
    assert_equal "$output" ""
    import_img
    run H run --rm --mount type=volume,dst=/data vimg:1 cat /data/sub/f
    assert_status 0
    assert_equal "$output" content
    run H volume ls -q
    assert_equal "$output" ""
    # a run that fails, before and after its command started
    run -127 H run --rm -v /anon --rootfs "$ROOTFS" /no/such/program
    run H run --rm -v /anon:ro --workdir relative --rootfs "$ROOTFS" true
    assert_status 125
    run H volume ls -q
    assert_equal "$output" ""
    [ -z "$(ls -A "$STORE/tmp")" ]
}

@test "--mount type=bind: keys, readonly, and a missing source is an error (docker's)" {
    local d=$BATS_TEST_TMPDIR/mb
    mkdir "$d"
    echo in > "$d/f"
    run H run --mount "type=bind,source=$d,target=/m" --rootfs "$ROOTFS" sh -c 'cat /m/f; echo out > /m/g'
    assert_status 0
    assert_equal "$output" in
    assert_equal "$(cat "$d/g")" out
    run H run --mount "type=bind,src=$d,dst=/m,readonly" --rootfs "$ROOTFS" touch /m/ro
    [ "$status" -ne 0 ]
    [ ! -e "$d/ro" ]
    run H run --mount "type=bind,src=$d,destination=/m,ro=true" --rootfs "$ROOTFS" touch /m/ro
    [ "$status" -ne 0 ]
    run H run --mount "type=bind,src=$d,dst=/m,ro=false" --rootfs "$ROOTFS" touch /m/rw
    assert_status 0
    cd "$BATS_TEST_TMPDIR"
    run H run --mount "type=bind,src=./mb,dst=/m" --rootfs "$ROOTFS" cat /m/f
    assert_status 0
    assert_equal "$output" in
    run H run --mount "type=bind,src=$d/missing,dst=/m" --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "bind source path does not exist" "$d/missing"
}

@test "--mount type=volume and type=tmpfs, and their keys" {
    run H run --mount type=volume,src=mv,dst=/v,volume-label=team=a,volume-driver=local \
        --rootfs "$ROOTFS" sh -c 'echo x > /v/f'
    assert_status 0
    run H volume inspect mv
    assert_status 0
    assert_equal "$(printf '%s\n' "$output" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Labels"]["team"])')" a
    run H run --mount type=volume,src=mv,dst=/v,readonly --rootfs "$ROOTFS" sh -c 'cat /v/f; touch /v/g'
    [ "$status" -ne 0 ]
    assert_output_has x
    run H run --mount type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770 --rootfs "$ROOTFS" \
        sh -c 'grep " /t " /proc/mounts; stat -c %a /t'
    assert_status 0
    [[ "${lines[0]}" == *"size=1024k"* ]]
    assert_equal "${lines[1]}" 1770
    run H run --mount type=tmpfs,dst=/t,ro --rootfs "$ROOTFS" touch /t/x
    [ "$status" -ne 0 ]
}

@test "--mount errors name what is allowed" {
    local d=$BATS_TEST_TMPDIR
    run H run --mount type=npipe,dst=/t --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "bind, volume or tmpfs"
    run H run --mount "type=bind,src=$d,dst=/t,colour=red" --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "unknown key \`colour\`" "bind-propagation"
    run H run --mount "type=bind,src=$d,dst=/t,tmpfs-size=1m" --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "tmpfs-size does not apply to type=bind"
    run H run --mount type=tmpfs,src=x,dst=/t --rootfs "$ROOTFS" true
    assert_status 125
    run H run --mount type=tmpfs,dst=/t,tmpfs-size=lots --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has tmpfs-size
    run H run --mount type=tmpfs,dst=/t,tmpfs-mode=9 --rootfs "$ROOTFS" true
    assert_status 125
    run H run --mount "type=bind,src=$d,dst=/t,ro=perhaps" --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "true or false"
    run H run --mount "type=bind,src=$d" --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has destination
    run H run --mount type=volume,src=/abs,dst=/t --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has type=bind
    run H run --mount type=volume,dst=/t,volume-driver=nfs --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "local driver"
}

@test "hutch volume create, ls, inspect" {
    run H volume create --label a=b --label c= myvol
    assert_status 0
    assert_equal "$output" myvol
    run H volume create myvol
    assert_status 125
    assert_output_has "exists already"
    run H volume create bad/name
    assert_status 125
    assert_output_has "no volume name"
    run H volume create --driver nfs x2
    assert_status 125
    run H volume create
    assert_status 0
    [[ $output =~ ^[0-9a-f]{64}$ ]]
    local anon=$output
    run H volume ls
    assert_status 0
    assert_equal "${lines[0]}" "DRIVER      VOLUME NAME"
    assert_output_has "local       myvol" "$anon"
    run H volume ls -q
    assert_equal "$output" "$(printf '%s\n' "$anon" myvol | sort)"
    run H volume ls --format json
    assert_status 0
    assert_equal "$(printf '%s\n' "$output" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 2
    run H volume inspect myvol
    assert_status 0
    printf '%s\n' "$output" | python3 -c '
import json, sys
v = json.load(sys.stdin)[0]
assert v["Name"] == "myvol", v
assert v["Driver"] == "local" and v["Scope"] == "local", v
assert v["Mountpoint"] == sys.argv[1] + "/volumes/myvol/_data", v
assert v["Labels"] == {"a": "b", "c": ""}, v
assert v["CreatedAt"].endswith("Z") and v["Anonymous"] is False, v
' "$STORE"
    [ -d "$STORE/volumes/myvol/_data" ]
    run H volume inspect myvol nope
    assert_status 125
    assert_output_has "no volume \`nope\`"
    run H volume ls -q --format json
    assert_status 125
}

@test "hutch volume rm and prune: a volume in use stays, unless -f" {
    local sync=$BATS_TEST_TMPDIR/sync
    mkdir "$sync"
    H volume create idle >/dev/null
    H volume create gone >/dev/null
    H run -v busy:/b -v "$sync:/sync" --rootfs "$ROOTFS" sh -c 'touch /sync/up; sleep 20' &
    BGPIDS+=($!)
    wait_for test -e "$sync/up"
    run H volume rm busy
    assert_status 125
    assert_output_has "in use by a running container" "-f"
    run H volume prune </dev/null
    assert_status 125
    assert_output_has "-f"
    run H volume rm gone nope
    assert_status 125
    assert_output_has "no volume \`nope\`"
    assert_equal "${lines[0]}" gone
    run H volume rm -f nope
    assert_status 0
    run H volume prune -f
    assert_status 0
    assert_equal "$output" idle
    run H volume ls -q
    assert_equal "$output" busy
    run H volume rm -f busy
    assert_status 0
    assert_equal "$output" busy
    run H volume ls -q
    assert_equal "$output" ""
}

# prune_at_tty ANSWER: `hutch volume prune` on a pseudo-terminal, answering
# ANSWER to its question; its output, and its exit status
prune_at_tty() {
    python3 - "$HUTCH" "$STORE" "$1" <<'EOF'
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "--root", sys.argv[2], "volume", "prune"])
out = b""
while b"[y/N]" not in out:
    out += os.read(fd, 1024)
os.write(fd, sys.argv[3].encode() + b"\n")
try:
    while True:
        chunk = os.read(fd, 1024)
        if not chunk:
            break
        out += chunk
except OSError:
    pass
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode())
sys.exit(os.waitstatus_to_exitcode(st))
EOF
}

@test "hutch volume prune asks at a terminal" {
    H volume create asked >/dev/null
    run prune_at_tty n
    assert_status 125
    run H volume ls -q
    assert_equal "$output" asked
    run prune_at_tty y
    assert_status 0
    assert_output_has asked
    run H volume ls -q
    assert_equal "$output" ""
}

@test "hutch volume: usage errors" {
    run H volume
    assert_status 125
    assert_output_has create prune
    run H volume bogus
    assert_status 125
    assert_output_has "unknown command"
    run H volume ls --bogus
    assert_status 125
    assert_output_has "hutch volume ls: unknown option"
    run H volume rm
    assert_status 125
    run H volume inspect
    assert_status 125
    run H volume create a1 a2
    assert_status 125
}
