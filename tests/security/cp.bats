#!/usr/bin/env bats
# hutch cp against a hostile container: symlinks in it that point at the
# host's files (/etc/passwd, ../../.., an absolute host path) as the source
# or the destination of a copy in and out, a symlink swapped while cp runs
# (CVE-2018-15664), hostile archives copied in, and a container that plants
# an NSS module for the copy to load (CVE-2019-14271).  Every test checks
# the host's side after the attempt.
#
# The container's root is $T/rootfs, so that "../../host" from its /dir
# leads, on the host, to $T/host: a copy that resolved a container's path
# with the host's view of symlinks would reach $T/host/secret.

load helpers
load common

setup_file() {
    sec_setup_file swapper
}

setup() {
    need_helpers
    BGPIDS=()
    T=$BATS_TEST_TMPDIR
    S=$T/store
    H=("$HUTCH" --root "$S")
    TOKEN="hutch-secret-$RANDOM$RANDOM"
    mkdir -p "$T/host" "$T/w"
    echo "$TOKEN" > "$T/host/secret"
    R=$(sec_rootfs)
    mkdir -p "$R/dir/race" "$R/host-lookalike"
    echo container-secret > "$R/dir/race/secret"
    ln -s /etc/passwd "$R/pw"
    ln -s ../../.. "$R/dir/up"
    ln -s ../../host "$R/dir/rel"
    ln -s "$T/host" "$R/dir/abs"
    echo payload > "$T/w/payload"
    HOST_PASSWD=$(sha256sum /etc/passwd)
    HOST_STATE=$(tree_state "$T/host")
    cd "$T/w"
}

teardown() {
    cd /
    kill_bgpids
    empty_store "$S"
}

# the host is as it was: its /etc/passwd, $T/host, nothing beside the root
host_untouched() {
    assert_equal "$(sha256sum /etc/passwd)" "$HOST_PASSWD"
    assert_equal "$(tree_state "$T/host")" "$HOST_STATE"
    [ ! -e "$T/payload" ] || fail_now "a copy landed at $T/payload, outside the container's root"
    [ ! -e "$T/x" ] || fail_now "a copy landed at $T/x, outside the container's root"
}

@test "cp in: a destination symlink to /etc/passwd, to ../../.. and to host paths stays in the container's root" {
    "${H[@]}" run --name c1 --rootfs "$R" true
    # docker's rule: a symlink as the destination is followed, in the root
    run "${H[@]}" cp payload c1:/pw
    assert_status 0
    assert_equal "$(cat "$R/etc/passwd")" "payload"
    run "${H[@]}" cp payload c1:/dir/up/
    assert_status 0
    [ -f "$R/payload" ]
    run "${H[@]}" cp payload c1:/dir/up/x
    [ -f "$R/x" ]
    # a host path the container lacks: no such directory in it
    for d in /dir/rel/ /dir/abs/ /dir/rel/x /dir/abs/x /dir/up/host/x; do
        run "${H[@]}" cp payload "c1:$d"
        assert_status 125
    done
    host_untouched
}

@test "cp in: an image container's symlinks lead into its own files only" {
    tar -C "$R" -c . | "${H[@]}" import - evil >/dev/null
    "${H[@]}" run --name c2 --pull never evil true
    run "${H[@]}" cp payload c2:/pw
    assert_status 0
    run "${H[@]}" cp c2:/etc/passwd -
    assert_output_has "payload"
    for d in /dir/rel/ /dir/abs/ /dir/rel/x /dir/abs/x; do
        run "${H[@]}" cp payload "c2:$d"
        assert_status 125
    done
    host_untouched
}

@test "cp out: symlinks to /etc/passwd, ../../.. and host paths read the container's files, never the host's" {
    "${H[@]}" run --name c3 --rootfs "$R" true
    # not followed: the symlink itself
    "${H[@]}" cp c3:/pw link
    assert_equal "$(readlink link)" /etc/passwd
    # followed: the container's passwd
    "${H[@]}" cp -L c3:/pw pw1
    cmp pw1 "$R/etc/passwd"
    ! cmp -s pw1 /etc/passwd
    for p in /dir/rel/secret /dir/abs/secret /dir/up/host/secret /dir/rel/ /dir/abs/; do
        run "${H[@]}" cp "c3:$p" out
        assert_status 125
        [ ! -e out ]
    done
    run "${H[@]}" cp -L c3:/dir/rel -
    [[ $output != *"$TOKEN"* ]] || fail_now "the host's secret was read: $output"
    # a directory copied out keeps its symlinks as symlinks: nothing of the
    # host is followed on the way out either
    "${H[@]}" cp c3:/dir dir
    assert_equal "$(readlink dir/rel)" ../../host
    ! grep -rqs "$TOKEN" dir
    host_untouched
}

@test "cp in from a hostile tar: absolute names, .., and entries through a symlink they plant are refused" {
    "${H[@]}" run --name c4 --rootfs "$R" true
    python3 - "$T/evil1.tar" "$T/evil2.tar" "$T/evil3.tar" "$T" <<'EOF'
import io, sys, tarfile
def tar(path, entries):
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, arg in entries:
            i = tarfile.TarInfo(name)
            if kind == "l":
                i.type = tarfile.SYMTYPE
                i.linkname = arg
                t.addfile(i)
            else:
                data = b"evil"
                i.size = len(data)
                t.addfile(i, io.BytesIO(data))
tar(sys.argv[1], [(sys.argv[4] + "/x", "f", None)])
tar(sys.argv[2], [("../../x", "f", None)])
tar(sys.argv[3], [("esc", "l", sys.argv[4]), ("esc/x", "f", None), ("up", "l", "../../.."), ("up/x", "f", None)])
EOF
    for t in evil1 evil2 evil3; do
        run "${H[@]}" cp - c4:/tmp < "$T/$t.tar"
        assert_status 125
    done
    host_untouched
}

# race_cp CTR: 50 copies out of CTR:/dir/race/secret and 100 in, while
# /dir/race is being swapped with a symlink that leads to $T/host on the
# host's view; then what came out is the container's, or nothing
race_cp() {
    local i
    for i in $(seq 1 50); do
        "${H[@]}" cp "$1:/dir/race/secret" "out.$1.$i" 2>/dev/null || true
        "${H[@]}" cp payload "$1:/dir/race/" 2>/dev/null || true
        "${H[@]}" cp payload "$1:/dir/race/p$i" 2>/dev/null || true
    done
    ! grep -qs "$TOKEN" out.* || fail_now "the host's secret was copied out of $1"
    for f in out.*; do
        [ -e "$f" ] || continue
        assert_equal "$(cat "$f")" container-secret
    done
    ls out."$1".* >/dev/null 2>&1 || fail_now "no copy out of $1 ever got through: the race was not run"
}

@test "a symlink swapped while cp runs, 50 times each way, never leads outside the root (CVE-2018-15664)" {
    local out=$T/swapper.out
    # /dir/race: a directory, exchanged atomically with /dir/race-link, a
    # symlink that leads to $T/host on the host's view
    ln -s ../../host "$R/dir/race-link"
    # the container swaps its own directory while it runs
    bg "$out" "$HUTCH" --root "$S" run --name racer --rootfs "$R" swapper /dir race race-link 300
    wait_for file_has "$out" ready || { cat "$out" "$out.err" >&2; return 1; }
    race_cp racer
    is_alive "${BGPIDS[0]}" || { echo "the swapper stopped early:" >&2; cat "$out" "$out.err" >&2; return 1; }
    host_untouched
}

@test "a symlink swapped in a stopped container's directory while cp runs (by a second container) never leads outside it" {
    local out=$T/swapper2.out
    ln -s ../../host "$R/dir/race-link"
    "${H[@]}" run --name still --rootfs "$R" true
    # another container shares the stopped one's /dir and swaps in it
    bg "$out" "$HUTCH" --root "$S" run --rootfs "$SROOTFS" -v "$R/dir:/dir" swapper /dir race race-link 300
    wait_for file_has "$out" ready || { cat "$out" "$out.err" >&2; return 1; }
    race_cp still
    is_alive "${BGPIDS[0]}" || { echo "the swapper stopped early:" >&2; cat "$out" "$out.err" >&2; return 1; }
    host_untouched
}

@test "copying out loads nothing of the container: a planted NSS module and nsswitch.conf stay unused (CVE-2019-14271)" {
    command -v cc >/dev/null || fail_now "no C compiler"
    cat > "$T/nss.c" <<EOF
#include <fcntl.h>
#include <unistd.h>
__attribute__ ((constructor)) static void pwn (void)
{
  int fd = open ("$T/pwned", O_WRONLY | O_CREAT, 0644);
  if (fd >= 0) close (fd);
  fd = open ("/pwned", O_WRONLY | O_CREAT, 0644);
  if (fd >= 0) close (fd);
}
EOF
    cc -shared -fPIC -o "$T/libnss_evil.so.2" "$T/nss.c"
    local d
    for d in lib lib64 lib/x86_64-linux-gnu usr/lib usr/lib/x86_64-linux-gnu; do
        mkdir -p "$R/$d"
        cp "$T/libnss_evil.so.2" "$R/$d/"
        cp "$T/libnss_evil.so.2" "$R/$d/libnss_files.so.2"
    done
    printf 'passwd: evil\ngroup: evil\nshadow: evil\n' > "$R/etc/nsswitch.conf"
    # names a tar writer might look up or convert: owners with and without
    # a name in the container's passwd, a name that is not ASCII
    mkdir -p "$R/data"
    echo x > "$R/data/$(printf 'caf\xc3\xa9')"
    tar -C "$R" -c . | "${H[@]}" import - nss >/dev/null
    "${H[@]}" run --name c6 --pull never nss sh -c 'chown 1000:1000 /data; chown 4242:4242 /data/*'
    "${H[@]}" cp c6:/data out
    "${H[@]}" cp -a c6:/data - > data.tar
    "${H[@]}" export -o all.tar c6
    bg "$T/c7.out" "$HUTCH" --root "$S" run --name c7 --pull never nss sleep 600
    wait_for ctr_running c7
    "${H[@]}" cp c7:/data out7
    [ ! -e "$T/pwned" ] || fail_now "the container's NSS module was loaded on the host's side"
    run "${H[@]}" cp c6:/pwned -
    assert_status 125
    run "${H[@]}" cp c7:/pwned -
    assert_status 125
    tar -tvf data.tar --numeric-owner | grep -q '4242/4242'
}

ctr_running() { "${H[@]}" ps --format '{{.Names}}' | grep -qx "$1"; }
