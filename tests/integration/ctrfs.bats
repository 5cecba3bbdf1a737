#!/usr/bin/env bats
# A container's files from the outside: hutch diff, export, commit and cp,
# on containers of an image (stopped and running) and of a --rootfs
# directory, as the user checks them: what the tar holds, what the new
# image runs, where a copy lands and who owns it.  Every test has a store
# of its own (S) with the busybox rootfs imported as bb.

load helpers

setup() {
    BGPIDS=()
    S=$BATS_TEST_TMPDIR/store
    H=("$HUTCH" --root "$S")
    W=$BATS_TEST_TMPDIR/w
    mkdir -p "$W"
    cd "$W"
    tar -C "$ROOTFS" -c . | "${H[@]}" import - bb >/dev/null
}

teardown() {
    cd /
    kill_bgpids
    empty_store "$S"
}

# ctr NAME SCRIPT: a stopped container of bb that ran SCRIPT
ctr() {
    "${H[@]}" run --name "$1" --pull never bb sh -c "$2" >/dev/null
}

# bg_ctr NAME SCRIPT: a running one (a foreground run, in the background)
# that ran SCRIPT and sleeps
bg_ctr() {
    bg "$BATS_TEST_TMPDIR/$1.out" "$HUTCH" --root "$S" run --name "$1" --pull never bb \
        sh -c "$2; touch /ready; exec sleep 600"
    wait_for ctr_has "$1" /ready
}

ctr_has() { "${H[@]}" cp "$1:$2" - >/dev/null 2>&1; }

# the owner (uid:gid) and name of each entry of the tar on stdin, verbose
tar_owners() { tar -tv --numeric-owner | awk '{ print $2, $6 }'; }

# ---- diff -----------------------------------------------------------------

@test "diff: added, changed, deleted, sorted by path; json as podman prints it" {
    need_subids
    ctr d1 'echo hi > /etc/new; rm /etc/group; mkdir -p /tmp/x/y; echo z > /tmp/x/y/z;
            echo more >> /etc/passwd; rm -r /home/bob; mkdir /home/bob'
    run "${H[@]}" diff d1
    assert_status 0
    assert_equal "$output" "C /etc
D /etc/group
A /etc/new
C /etc/passwd
C /home
C /home/bob
C /tmp
A /tmp/x
A /tmp/x/y
A /tmp/x/y/z"
    run "${H[@]}" diff --format json d1
    assert_status 0
    python3 - "$output" <<'EOF'
import json, sys
d = json.loads(sys.argv[1])
assert d["added"] == ["/etc/new", "/tmp/x", "/tmp/x/y", "/tmp/x/y/z"], d
assert d["deleted"] == ["/etc/group"], d
assert "/etc/passwd" in d["changed"] and "/home/bob" in d["changed"], d
EOF
}

@test "diff: an unchanged container has no changes (the mount points a run makes are none)" {
    ctr d2 true
    run "${H[@]}" diff d2
    assert_status 0
    assert_equal "$output" ""
    # an image without /proc, /sys, /dev, /etc/hostname, /etc/hosts and
    # /etc/resolv.conf: the run makes them, and they are still no change
    tar -C "$ROOTFS" --exclude=./proc --exclude=./sys --exclude=./dev --exclude=./etc/hostname \
        --exclude=./etc/hosts --exclude=./etc/resolv.conf -c . | "${H[@]}" import - bare >/dev/null
    "${H[@]}" run --name d2b --pull never bare sh -c 'echo x > /etc/mine'
    run "${H[@]}" diff d2b
    assert_equal "$output" "C /etc
A /etc/mine"
    "${H[@]}" commit d2b bare2 >/dev/null
    run "${H[@]}" run --rm --pull never bare2 sh -c 'cat /etc/mine; ls /proc/1/status'
    assert_status 0
}

@test "diff of a running container; of a --rootfs one: refused, with the reason" {
    bg_ctr d3 'echo r > /etc/running'
    run "${H[@]}" diff d3
    assert_status 0
    assert_output_has "A /etc/running"
    "${H[@]}" run --name dr --rootfs "$(fresh_rootfs)" true
    run "${H[@]}" diff dr
    assert_status 125
    assert_output_has "container dr" "--rootfs" "no image layer"
}

# ---- export ---------------------------------------------------------------

@test "export: the whole file system as a tar, owners as the container sees them" {
    need_subids
    ctr e1 'echo data > /etc/new; chown 123:456 /etc/new; rm /etc/group'
    "${H[@]}" export e1 > e1.tar
    tar -tf e1.tar > list
    grep -qx 'bin/busybox' list
    grep -qx 'etc/new' list
    ! grep -qx 'etc/group' list
    run sh -c 'tar_owners() { tar -tv --numeric-owner | awk "{ print \$2, \$6 }"; }; tar_owners < e1.tar'
    assert_output_has "123/456 etc/new"
    tar -xOf e1.tar etc/new > content
    assert_equal "$(cat content)" "data"
}

@test "export -o FILE of a running container: what it wrote after it started" {
    bg_ctr e2 'echo later > /late'
    run "${H[@]}" export -o "$W/e2.tar" e2
    assert_status 0
    assert_equal "$(tar -xOf e2.tar late)" "later"
    # mounts are not entered: /proc is there, empty
    tar -tf e2.tar > list
    grep -qx 'proc/' list
    ! grep -q '^proc/.' list
}

@test "export: refused to a terminal, as docker refuses it" {
    ctr e3 true
    run script -qec "$HUTCH --root $S export e3" /dev/null
    assert_status 125
    assert_output_has "terminal" "-o FILE"
}

@test "export of a --rootfs container: its directory" {
    r=$(fresh_rootfs)
    "${H[@]}" run --name er --rootfs "$r" sh -c 'echo x > /made-here'
    "${H[@]}" export er | tar -t > list
    grep -qx 'made-here' list
    grep -qx 'bin/busybox' list
}

# ---- commit ---------------------------------------------------------------

@test "commit: the new image runs at once with the file written and without the one deleted" {
    need_subids
    ctr c1 'echo committed > /etc/new; rm /etc/group; rm -r /home/alice; mkdir /home/alice; touch /home/alice/only'
    run "${H[@]}" commit c1 bb2:v1
    assert_status 0
    [[ $output =~ ^sha256:[0-9a-f]{64}$ ]] || fail_now "id: $output"
    id=$output
    run "${H[@]}" run --rm --pull never bb2:v1 sh -c 'cat /etc/new; ls /etc/group 2>&1; ls -A /home/alice'
    assert_status 0
    assert_output_has "committed" "No such file" "only"
    run "${H[@]}" images --format json
    assert_output_has "bb2"
    [ -n "$(ls "$S/layers" | wc -l)" ]
    run "${H[@]}" image inspect "$id"
    assert_status 0
}

@test "commit -c -m -a: the config changed, the history says who and why; no name: the id only" {
    ctr c2 'touch /x'
    run "${H[@]}" commit -c 'ENV FOO=bar' -c 'CMD ["/bin/sh", "-c", "echo cmd-$FOO"]' \
        -c 'VOLUME /data' -c 'STOPSIGNAL SIGQUIT' -c 'WORKDIR /tmp' -c 'LABEL a=b' \
        -m 'the message' -a 'Alice <a@example.org>' c2
    assert_status 0
    id=$output
    run "${H[@]}" run --rm --pull never "$id"
    assert_status 0
    assert_equal "$output" "cmd-bar"
    run "${H[@]}" image inspect "$id"
    python3 - "$output" <<'EOF'
import json, sys
img = json.loads(sys.argv[1])[0]
cfg = img["Config"]
c = cfg["config"]
assert "FOO=bar" in c["Env"], c
assert c["Volumes"] == {"/data": {}}, c
assert c["StopSignal"] == "SIGQUIT", c
assert c["WorkingDir"] == "/tmp", c
assert c["Labels"] == {"a": "b"}, c
assert cfg["author"] == "Alice <a@example.org>", cfg
h = cfg["history"][-1]
assert h["comment"] == "the message" and h["author"] == "Alice <a@example.org>", h
assert len(cfg["rootfs"]["diff_ids"]) == 2, cfg
assert img["Names"] == [], img
EOF
}

@test "commit of a running container; a bad --change is refused before anything" {
    bg_ctr c3 'echo live > /live'
    run "${H[@]}" commit c3 live:1
    assert_status 0
    run "${H[@]}" run --rm --pull never live:1 cat /live
    assert_equal "$output" "live"
    run "${H[@]}" commit -c 'RUN rm -rf /' c3 x:1
    assert_status 125
    assert_output_has "RUN" "VOLUME"
}

@test "commit of a --rootfs container: refused, saying why and what to do" {
    "${H[@]}" run --name cr --rootfs "$(fresh_rootfs)" true
    run "${H[@]}" commit cr img:1
    assert_status 125
    assert_output_has "container cr" "--rootfs" "hutch import"
}

# ---- cp: out --------------------------------------------------------------

@test "cp out: a file to a new name, into a directory, onto a file" {
    ctr o1 'echo one > /f; mkdir /d; echo two > /d/g'
    "${H[@]}" cp o1:/f new
    assert_equal "$(cat new)" "one"
    mkdir dir
    "${H[@]}" cp o1:/f dir
    assert_equal "$(cat dir/f)" "one"
    echo old > onto
    "${H[@]}" cp o1:/d/g onto
    assert_equal "$(cat onto)" "two"
    # copied out, files are the user's
    assert_equal "$(stat -c %u:%g new dir/f)" "$MY_UID:$MY_GID
$MY_UID:$MY_GID"
}

@test "cp out: a directory to a new path, into a directory, its contents with /." {
    ctr o2 'mkdir -p /d/sub; echo a > /d/a; echo b > /d/sub/b'
    "${H[@]}" cp o2:/d newdir
    assert_equal "$(cat newdir/a newdir/sub/b)" "a
b"
    mkdir into contents
    "${H[@]}" cp o2:/d into
    assert_equal "$(cat into/d/a)" "a"
    "${H[@]}" cp o2:/d/. contents
    assert_equal "$(cat contents/a contents/sub/b)" "a
b"
    echo file > afile
    run "${H[@]}" cp o2:/d afile
    assert_status 125
    assert_output_has "cannot copy a directory onto a file"
}

@test "cp out: a symlink is copied as a symlink, -L and a trailing / follow it inside the container" {
    ctr o3 'echo target > /t; ln -s /t /link; mkdir /dd; ln -s /dd /dlink; echo in > /dd/x'
    "${H[@]}" cp o3:/link l
    assert_equal "$(readlink l)" "/t"
    "${H[@]}" cp -L o3:/link followed
    assert_equal "$(cat followed)" "target"
    "${H[@]}" cp o3:/dlink/ dcopy
    assert_equal "$(cat dcopy/x)" "in"
}

@test "cp out to -: a tar on standard output; a path that does not exist is an error" {
    ctr o4 'mkdir /d; echo x > /d/x'
    "${H[@]}" cp o4:/d - | tar -t > list
    grep -qx 'd/' list
    grep -qx 'd/x' list
    run "${H[@]}" cp o4:/nope here
    assert_status 125
    assert_output_has "no such file or directory in container o4" "/nope"
    [ ! -e here ]
    run "${H[@]}" cp o4:/d/x nodir/
    assert_status 125
    assert_output_has "no such directory"
}

# ---- cp: in ---------------------------------------------------------------

@test "cp in: a file into a directory, belonging to the container's root; -a keeps the owner mapped" {
    ctr i1 true
    echo hostfile > hf
    "${H[@]}" cp hf i1:/tmp/
    run sh -c "\"\$@\" cp i1:/tmp/hf - | tar -tv --numeric-owner" _ "${H[@]}"
    assert_output_has "0/0"
    # -a: the user's own files are the container's root too; a file of
    # another owner in a tar from standard input keeps its ids
    tar --owner=1234 --group=55 -cf t.tar hf
    "${H[@]}" cp -a - i1:/tmp < t.tar
    run sh -c "\"\$@\" cp i1:/tmp/hf - | tar -tv --numeric-owner" _ "${H[@]}"
    assert_output_has "1234/55"
    "${H[@]}" cp - i1:/tmp < t.tar
    run sh -c "\"\$@\" cp i1:/tmp/hf - | tar -tv --numeric-owner" _ "${H[@]}"
    assert_output_has "0/0"
}

@test "cp in: a directory to a new path, its contents with /., onto a file; the image runs with it" {
    ctr i2 'echo old > /etc/motd'
    mkdir -p src/sub
    echo a > src/a
    echo b > src/sub/b
    "${H[@]}" cp src i2:/new
    "${H[@]}" cp src/. i2:/etc
    echo new > motd
    "${H[@]}" cp motd i2:/etc/motd
    "${H[@]}" commit i2 withcopy:1 >/dev/null
    run "${H[@]}" run --rm --pull never withcopy:1 sh -c 'cat /new/a /new/sub/b /etc/a /etc/motd'
    assert_equal "$output" "a
b
a
new"
    run "${H[@]}" cp src i2:/etc/motd
    assert_status 125
    assert_output_has "cannot copy a directory onto a file"
    run "${H[@]}" cp motd i2:/nowhere/x
    assert_status 125
    assert_output_has "no such directory in container i2" "/nowhere"
    run "${H[@]}" cp - i2:/etc/motd < /dev/null
    assert_status 125
    assert_output_has "must be an existing directory"
}

@test "cp in and out of a running container" {
    bg_ctr i3 'echo r > /r'
    echo live > lf
    "${H[@]}" cp lf i3:/tmp/lf
    "${H[@]}" cp i3:/tmp/lf back
    assert_equal "$(cat back)" "live"
    "${H[@]}" cp i3:/r r
    assert_equal "$(cat r)" "r"
}

@test "cp with a --rootfs container, stopped and running: its directory" {
    r=$(fresh_rootfs)
    "${H[@]}" run --name rs --rootfs "$r" true
    echo x > f
    "${H[@]}" cp f rs:/root/f
    [ -f "$r/root/f" ]
    bg "$BATS_TEST_TMPDIR/rr.out" "$HUTCH" --root "$S" run --name rr --rootfs "$r" \
        sh -c 'touch /ready; exec sleep 600'
    wait_for ctr_has rr /ready
    "${H[@]}" cp rr:/root/f g
    assert_equal "$(cat g)" "x"
    "${H[@]}" cp f rr:/tmp/
    [ -f "$r/tmp/f" ]
}

# ---- errors ---------------------------------------------------------------

@test "no such container: each command says so (exit 125)" {
    for c in "diff nope" "export -o x.tar nope" "commit nope" "cp nope:/x ." "cp x nope:/x"; do
        run "${H[@]}" $c
        assert_status 125
        assert_output_has "no container \`nope\`"
    done
    run "${H[@]}" cp a b
    assert_status 125
    assert_output_has "CONTAINER:PATH"
    run "${H[@]}" cp a:/x b:/y
    assert_status 125
    assert_output_has "between containers"
}

@test "a file where a directory is needed: each side says which" {
    ctr fd1 true
    echo x > f
    run "${H[@]}" cp f fd1:/etc/passwd/
    assert_status 125
    assert_output_has "\`/etc/passwd/\` in container fd1 is not a directory"
    run "${H[@]}" cp fd1:/etc/passwd f/
    assert_status 125
    assert_output_has "\`f/\` is not a directory"
    run "${H[@]}" cp - fd1:/etc/passwd < /dev/null
    assert_status 125
    assert_output_has "must be an existing directory"
}

@test "a paused container is committed, exported and copied from while frozen" {
    bg_ctr p1 'echo frozen > /frozen'
    run "${H[@]}" pause p1
    [ "$status" -eq 0 ] || skip "hutch pause needs a delegated cgroup: $output"
    run "${H[@]}" commit p1 frozen:1
    assert_status 0
    run "${H[@]}" cp p1:/frozen -
    assert_status 0
    "${H[@]}" export p1 | tar -t | grep -qx frozen
    "${H[@]}" unpause p1
    run "${H[@]}" run --rm --pull never frozen:1 cat /frozen
    assert_equal "$output" "frozen"
}
