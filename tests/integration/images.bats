#!/usr/bin/env bats
# Images: load, import, run, save, rmi, prune; the store; hostile layers.
# Every test uses a private store in $BATS_TEST_TMPDIR (never the user's).

load helpers

MKTAR="python3 $BATS_TEST_DIRNAME/mktar.py"
BB_REPO=docker.io/library/busybox

# Build the images once: an OCI layout made with umoci from the busybox
# rootfs, and the archives skopeo writes from it.
#   busybox  one layer; Entrypoint [/bin/echo prefix], Cmd [hello],
#            Env FOO=bar, WorkingDir /home/alice, User 1000:1000
#   plain    the same layer, no config at all
#   wh       two layers: the lower has /etc/gone and /gonedir/f, the upper
#            deletes both (whiteouts written by umoci repack)
#   big      busybox plus 48 MiB of random data and 2000 small files
setup_file() {
    local D=$BATS_FILE_TMPDIR L=$BATS_FILE_TMPDIR/L
    command -v umoci >/dev/null || skip "umoci is not installed"
    command -v skopeo >/dev/null || skip "skopeo is not installed"
    cd "$D"
    umoci init --layout "$L"
    umoci new --image "$L:empty"
    umoci unpack --rootless --image "$L:empty" "$D/B"
    cp -a "$ROOTFS/." "$D/B/rootfs/"
    umoci repack --image "$L:plain" "$D/B"
    umoci config --image "$L:plain" --tag busybox \
        --config.entrypoint /bin/echo --config.entrypoint prefix \
        --config.cmd hello --config.env FOO=bar \
        --config.workingdir /home/alice --config.user 1000:1000
    # whiteouts: a lower layer with files, an upper one deleting them
    # (umoci repack diffs against the image the bundle was unpacked from:
    # unpack again for each new layer)
    umoci unpack --rootless --image "$L:plain" "$D/B1"
    echo gone > "$D/B1/rootfs/etc/gone"
    mkdir "$D/B1/rootfs/gonedir"
    echo f > "$D/B1/rootfs/gonedir/f"
    echo kept > "$D/B1/rootfs/etc/kept"
    umoci repack --image "$L:wh-lower" "$D/B1"
    umoci unpack --rootless --image "$L:wh-lower" "$D/B2"
    rm "$D/B2/rootfs/etc/gone"
    rm -r "$D/B2/rootfs/gonedir"
    umoci repack --image "$L:wh" "$D/B2"
    # wh must have three layers, the last holding the whiteouts
    [ "$(skopeo inspect "oci:$L:wh" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["Layers"]))')" = 3 ]
    # a top layer that changes only /etc/group (users come from a lower one)
    umoci unpack --rootless --image "$L:plain" "$D/B3"
    echo 'extra:x:77:alice' >> "$D/B3/rootfs/etc/group"
    umoci repack --image "$L:grp" "$D/B3"
    # a big one, for killing a load midway
    umoci unpack --rootless --image "$L:busybox" "$D/Bbig"
    head -c 48M /dev/urandom > "$D/Bbig/rootfs/big"
    mkdir "$D/Bbig/rootfs/many"
    for i in $(seq 1 2000); do echo "$i" > "$D/Bbig/rootfs/many/f$i"; done
    umoci repack --image "$L:big" "$D/Bbig"

    skopeo copy -q "oci:$L:busybox" "oci-archive:$D/bb-oci.tar:busybox:latest"
    skopeo copy -q "oci:$L:busybox" "docker-archive:$D/bb-docker.tar:busybox:latest"
    gzip -c "$D/bb-docker.tar" > "$D/bb-docker.tar.gz"
    gzip -c "$D/bb-oci.tar" > "$D/bb-oci.tar.gz"
    skopeo copy -q "oci:$L:plain" "docker-archive:$D/plain.tar:plain:latest"
    skopeo copy -q "oci:$L:wh" "oci-archive:$D/wh.tar:wh:latest"
    skopeo copy -q "oci:$L:wh-lower" "oci-archive:$D/wh-lower.tar:wh-lower:latest"
    skopeo copy -q "oci:$L:big" "docker-archive:$D/big.tar:big:latest"
    skopeo copy -q "oci:$L:grp" "oci-archive:$D/grp.tar:grp:latest"
    tar -czf "$D/rootfs.tar.gz" -C "$ROOTFS" .
    rm -rf "$D/Bbig" "$D/B" "$D/B1" "$D/B2" "$D/B3"
}

setup() {
    D=$BATS_FILE_TMPDIR
    STORE=$BATS_TEST_TMPDIR/store
    BGPIDS=()
}

# Every test ends with a store that rmi and prune empty and that the user can
# delete entirely: no file of a subordinate id is left behind.
teardown() {
    local p id
    kill_bgpids
    for p in $(pids_of_cmdline 'sleep 1234\.5'); do
        kill -KILL "$p" 2>/dev/null || true
    done
    [ ${#BGPIDS[@]} -eq 0 ] || sleep 0.1
    local st rc=0
    for st in "$BATS_TEST_TMPDIR"/store*; do
        [ -d "$st" ] || continue
        empty_store "$st"
        if ! rm -rf "$st" 2> "$BATS_TEST_TMPDIR/rm.err"; then
            echo "TEARDOWN: rm -rf $st failed after rmi and prune: the store holds files the user cannot delete" >&2
            head -20 "$BATS_TEST_TMPDIR/rm.err" >&2
            find "$st" -printf '%u:%g %m %p\n' 2>/dev/null | head -30 >&2
            rc=1
        fi
    done
    return "$rc"
}

H() { "$HUTCH" --root "$STORE" "$@"; }

# store_entries SUBDIR: what is in STORE/SUBDIR
store_entries() { ls -A "$STORE/$1" 2>/dev/null; }

assert_empty_dir() {
    local c
    [ -e "$1" ] || return 0
    c=$(ls -A "$1" 2>&1)
    if [ -n "$c" ]; then
        echo "expected $1 to be empty; it holds:" >&2
        printf '%s\n' "$c" | head -20 >&2
        return 1
    fi
}

# image_id NAME: the full id from image inspect
image_id() {
    H image inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])'
}

# tree_manifest DIR: names, types, modes, owners, sizes, mtimes and contents
tree_manifest() {
    (cd "$1" && find . -printf '%p %y %m %u:%g %s %T@ %l\n' | LC_ALL=C sort &&
        find . -type f -exec md5sum {} + | LC_ALL=C sort)
}

kernel_at_least() {
    local maj min
    IFS=. read -r maj min _ <<< "$(uname -r)"
    [ "$maj" -gt "$1" ] || { [ "$maj" -eq "$1" ] && [ "${min%%[!0-9]*}" -ge "$2" ]; }
}

# driver_usable NAME: true when the host can do that storage driver; else
# sets SKIP_WHY
driver_usable() {
    case $1 in
        overlay)
            if ! grep -qw overlay /proc/filesystems && ! modinfo overlay >/dev/null 2>&1; then
                SKIP_WHY="the kernel has no overlayfs"
                return 1
            fi
            if ! kernel_at_least 5 11; then
                SKIP_WHY="kernel $(uname -r) < 5.11 cannot mount overlayfs in a user namespace"
                return 1
            fi
            ;;
        fuse-overlayfs)
            if ! command -v fuse-overlayfs >/dev/null; then
                SKIP_WHY="fuse-overlayfs is not installed"
                return 1
            fi
            if ! [ -r /dev/fuse ] || ! [ -w /dev/fuse ]; then
                SKIP_WHY="/dev/fuse is not usable by $MY_USER"
                return 1
            fi
            ;;
    esac
    return 0
}

usable_drivers() {
    local d
    for d in overlay fuse-overlayfs vfs; do
        driver_usable "$d" && echo "$d"
    done
}

load_bb() {
    run H load -i "$D/bb-oci.tar"
    assert_status 0
}

# ---------------------------------------------------------------- load

check_loaded_busybox() {
    assert_status 0
    assert_output_has "Loaded image" "$BB_REPO:latest"
    run H images
    assert_status 0
    printf '%s\n' "$output" | grep -Eq "^$BB_REPO[[:space:]]+latest[[:space:]]" || {
        echo "hutch images lacks $BB_REPO latest:" >&2
        printf '%s\n' "$output" >&2
        return 1
    }
    run H run busybox
    assert_status 0
    assert_equal "$output" "prefix hello"
}

@test "load an oci-archive written by skopeo" {
    run H load -i "$D/bb-oci.tar"
    check_loaded_busybox
}

@test "load a docker-archive written by skopeo" {
    run H load -i "$D/bb-docker.tar"
    check_loaded_busybox
}

@test "load a gzip-compressed docker-archive" {
    run H load -i "$D/bb-docker.tar.gz"
    check_loaded_busybox
}

@test "load a gzip-compressed oci-archive" {
    run H load -i "$D/bb-oci.tar.gz"
    check_loaded_busybox
}

@test "load -q prints nothing; loading the same archive twice keeps one image" {
    run H load -q -i "$D/bb-docker.tar"
    assert_status 0
    assert_equal "$output" ""
    run H load -i "$D/bb-oci.tar"
    assert_status 0
    run H images -q
    assert_status 0
    assert_equal "${#lines[@]}" 1
    assert_equal "$(store_entries layers | wc -l)" 1
}

@test "images --format json is valid JSON naming the image" {
    load_bb
    run H images --format json
    assert_status 0
    printf '%s\n' "$output" | python3 -m json.tool >/dev/null
    printf '%s\n' "$output" | python3 -c '
import json, sys
imgs = json.load(sys.stdin)
assert len(imgs) == 1, imgs
assert "docker.io/library/busybox:latest" in imgs[0]["Names"], imgs
assert imgs[0]["Id"].startswith("sha256:"), imgs'
}

@test "images: a human CREATED (N/A without a time) and the SIZE of the layer blobs" {
    local l=$BATS_TEST_TMPDIR/l.tar
    # one small file: Python's tarfile pads the archive to 10240 bytes
    $MKTAR tar "$l" file:hello:hi
    [ "$(stat -c %s "$l")" = 10240 ]
    $MKTAR oci "$BATS_TEST_TMPDIR/a.tar" days:1 "$l" --created "$(date -u -d '-3 days' +%Y-%m-%dT%H:%M:%SZ)"
    $MKTAR oci "$BATS_TEST_TMPDIR/b.tar" hours:1 "$l" --created "$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M:%S.123456789+00:00)"
    $MKTAR oci "$BATS_TEST_TMPDIR/c.tar" never:1 "$l" --created none
    local f
    for f in a b c; do
        run H load -i "$BATS_TEST_TMPDIR/$f.tar"
        assert_status 0
    done
    run H images
    assert_status 0
    printf '%s\n' "${lines[0]}" | grep -Eq '^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$' || {
        echo "the header: ${lines[0]}" >&2
        return 1
    }
    has_row() {
        printf '%s\n' "$output" | grep -Eq "^docker.io/library/$1 +1 +[0-9a-f]{12} +$2 +10.2 kB\$" || {
            echo "no row for $1 with \"$2\" and 10.2 kB:" >&2
            printf '%s\n' "$output" >&2
            return 1
        }
    }
    has_row days "3 days ago"
    has_row hours "2 hours ago"
    has_row never "N/A"
    # scripts keep the bytes and the time as written
    run H images --format json
    assert_status 0
    printf '%s\n' "$output" | python3 -c '
import json, sys
imgs = {i["Names"][0]: i for i in json.load(sys.stdin)}
assert all(i["Size"] == 10240 for i in imgs.values()), imgs
assert imgs["docker.io/library/never:1"]["Created"] is None, imgs
assert imgs["docker.io/library/days:1"]["Created"].endswith("Z"), imgs'
    run H images -q
    assert_status 0
    assert_equal "${#lines[@]}" 3
    printf '%s\n' "$output" | grep -Evq '^[0-9a-f]{12}$' && { printf '%s\n' "$output" >&2; return 1; }
    # an import is from now
    run H import "$D/rootfs.tar.gz" fresh
    assert_status 0
    run H images
    printf '%s\n' "$output" | grep -Eq '^docker.io/library/fresh +latest +[0-9a-f]{12} +(Less than a second|[0-9]+ seconds?) ago +[0-9.]+ [kM]B$' || {
        printf '%s\n' "$output" >&2
        return 1
    }
}

@test "image inspect shows the config" {
    load_bb
    run H image inspect busybox
    assert_status 0
    printf '%s\n' "$output" | python3 -c '
import json, sys
c = json.load(sys.stdin)[0]["Config"]["config"]
assert c["Entrypoint"] == ["/bin/echo", "prefix"], c
assert c["Cmd"] == ["hello"], c
assert "FOO=bar" in c["Env"], c
assert c["WorkingDir"] == "/home/alice", c
assert c["User"] == "1000:1000", c'
}

# ---------------------------------------------------------------- run

@test "run: the image's entrypoint, cmd, env, user and workdir apply" {
    load_bb
    run H run busybox one two
    assert_status 0
    assert_equal "$output" "prefix one two"
    run H run --entrypoint "" busybox env
    assert_status 0
    assert_output_has "FOO=bar"
    run H run --entrypoint "" busybox id -u
    assert_status 0
    assert_equal "$output" 1000
    run H run --entrypoint "" busybox id -g
    assert_status 0
    assert_equal "$output" 1000
    run H run --entrypoint "" busybox pwd
    assert_status 0
    assert_equal "$output" /home/alice
}

@test "run: --entrypoint overrides the image's and drops its Cmd" {
    load_bb
    run H run --entrypoint /bin/pwd busybox
    assert_status 0
    assert_equal "$output" /home/alice
    # the image's Cmd (hello) must not be passed to a new entrypoint
    run H run --entrypoint /bin/echo busybox
    assert_status 0
    assert_equal "$output" ""
    run H run --entrypoint /bin/echo busybox x
    assert_status 0
    assert_equal "$output" "x"
}

@test "run: -e overrides an image variable and adds new ones; -u and -w override" {
    load_bb
    run H run -e FOO=override -e NEW=1 --entrypoint "" busybox env
    assert_status 0
    assert_equal "$(printf '%s\n' "$output" | grep -c '^FOO=')" 1
    assert_output_has "FOO=override" "NEW=1"
    run H run -u 0 -w /tmp --entrypoint "" busybox sh -c 'id -u; pwd'
    assert_status 0
    assert_equal "$output" "0
/tmp"
}

@test "run: an image with no Entrypoint or Cmd and no command gives 125" {
    run H load -i "$D/plain.tar"
    assert_status 0
    run H run plain
    assert_status 125
    assert_output_has "Entrypoint" "Cmd"
    # with a command it runs, as root in /
    run H run plain sh -c 'id -u; pwd'
    assert_status 0
    assert_equal "$output" "0
/"
}

@test "run: name resolution and a digest reference" {
    load_bb
    local ref digest
    digest=$(H image inspect busybox | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Digest"])')
    for ref in busybox busybox:latest library/busybox docker.io/library/busybox \
               docker.io/library/busybox:latest "busybox@$digest"; do
        run H run "$ref" x
        assert_status 0
        assert_equal "$output" "prefix x"
    done
    run H run busybox:other x
    assert_status 125
}

# try_read_only DRIVER IMAGE TMPFS_TARGET: one --read-only run; on failure
# describes it and sets bad=1
try_read_only() {
    run H --storage-driver "$1" run --read-only --tmpfs "$3" -u 0 --entrypoint "" "$2" \
        sh -c "touch /etc/x 2>/dev/null && echo wrote; touch $3/y && echo tmpfs-ok"
    if [ "$status" -ne 0 ] || [ "$output" != tmpfs-ok ]; then
        echo "--storage-driver $1 run --read-only --tmpfs $3 $2: status $status, output:" >&2
        printf '%s\n' "$output" >&2
        bad=1
    fi
}

# native_arch: this machine's architecture as images name it (Go's names)
native_arch() {
    case $(uname -m) in
        x86_64) echo amd64 ;;
        aarch64) echo arm64 ;;
        *) echo unknown ;;
    esac
}

@test "run: an image of another platform in the store is not run unless named, nor pulled without --platform" {
    local native other id
    native=$(native_arch)
    [ "$native" != unknown ] || skip "no test of another platform on $(uname -m)"
    other=$([ "$native" = amd64 ] && echo arm64 || echo amd64)
    # the host's busybox, in an image whose config says the other architecture
    $MKTAR tar "$BATS_TEST_TMPDIR/l.tar" "tree:$ROOTFS"
    $MKTAR oci "$BATS_TEST_TMPDIR/f.tar" foreign:1 "$BATS_TEST_TMPDIR/l.tar" \
        --platform "linux/$other" --config 'Cmd=["/bin/echo","ran"]'
    run H load -i "$BATS_TEST_TMPDIR/f.tar"
    assert_status 0
    # for this machine by default: refused, with both ways out, and not pulled
    run H run foreign:1
    assert_status 125
    assert_output_has "image \`foreign:1\` in the store is for linux/$other, not for linux/$native (this machine's)" \
        "\`hutch pull foreign:1\`" "--pull=always" "--platform linux/$other" "emulator for $other"
    # named as it is, it runs (it is the host's busybox in disguise)
    run H run --platform "linux/$other" foreign:1
    assert_status 0
    assert_equal "$output" ran
    # --platform of this machine and --pull=never: the pull that gets it
    run H run --pull=never --platform "linux/$native" foreign:1
    assert_status 125
    assert_output_has "for linux/$other, not for linux/$native (--platform), and --pull=never" \
        "\`hutch pull --platform linux/$native foreign:1\`"
    # an id is of one image, of one platform: nothing to pull
    id=$(H images -q)
    run H run --platform "linux/$native" "$id"
    assert_status 125
    assert_output_has "image \`$id\` is for linux/$other" "an id or a digest names one image" \
        "--platform linux/$other"
    # with --platform, a name is pulled for it: here from a registry that is
    # not there, and the message says what the store had
    run H tag foreign:1 127.0.0.1:1/test/foreign:1
    assert_status 0
    run H run --platform "linux/$native" 127.0.0.1:1/test/foreign:1
    assert_status 125
    assert_output_has "image \`127.0.0.1:1/test/foreign:1\` in the store is for linux/$other, not for linux/$native (--platform), and pulling the one for linux/$native failed" \
        "127.0.0.1:1"
    run H run --platform "linux/$other" 127.0.0.1:1/test/foreign:1
    assert_status 0
    assert_equal "$output" ran
    assert_equal "$(H images -q)" "$id"
    # a config that says uname's name for this machine (x86_64, aarch64) is
    # this machine's
    $MKTAR oci "$BATS_TEST_TMPDIR/u.tar" uname:1 "$BATS_TEST_TMPDIR/l.tar" \
        --platform "linux/$(uname -m)" --config 'Cmd=["/bin/echo","native"]'
    run H load -i "$BATS_TEST_TMPDIR/u.tar"
    assert_status 0
    run H run uname:1
    assert_status 0
    assert_equal "$output" native
}

@test "run --read-only on an image: the root cannot be written, --tmpfs can, with every driver" {
    load_bb
    run H load -i "$D/wh.tar"
    assert_status 0
    local drv img bad=0
    for drv in $(usable_drivers); do
        for img in busybox wh; do
            # a tmpfs on a directory of the image, and on a new one
            try_read_only "$drv" "$img" /tmp
            try_read_only "$drv" "$img" /scratch
        done
    done
    [ "$bad" = 0 ]
}

# ---------------------------------------------------------------- import

@test "import a plain rootfs tarball and run it" {
    run H import "$D/rootfs.tar.gz" myroot:1.0
    assert_status 0
    run H images
    assert_status 0
    printf '%s\n' "$output" | grep -Eq '^docker.io/library/myroot[[:space:]]+1\.0[[:space:]]' || {
        printf '%s\n' "$output" >&2
        return 1
    }
    run H run myroot:1.0 sh -c 'cat /etc/hostname >/dev/null; echo ran; id -u'
    assert_status 0
    assert_equal "$output" "ran
0"
    # an uncompressed tarball, and the default tag
    tar -cf "$BATS_TEST_TMPDIR/r.tar" -C "$ROOTFS" .
    run H import "$BATS_TEST_TMPDIR/r.tar" other
    assert_status 0
    run H run other echo ok
    assert_status 0
    assert_equal "$output" ok
}

@test "import - reads the tarball from standard input; --change and -c set its config" {
    run bash -c 'gzip -dc "$1" | "$HUTCH" --root "$2" import \
        -c "CMD [\"/bin/sh\", \"-c\", \"echo \$GREETING from \$(pwd) as \$(id -u)\"]" \
        --change "ENV GREETING=\"hello there\" OTHER=\$PATH" \
        -c "env LEGACY a b  c" -c "WORKDIR /srv" -c "WORKDIR app" -c "USER 1000:1000" \
        -c "EXPOSE 8080 53/udp" -c "LABEL org.example.k=v \"with space\"=\"v 2\"" \
        - changed:1' _ "$D/rootfs.tar.gz" "$STORE"
    assert_status 0
    [[ "$output" == sha256:* ]] || { echo "not an id: $output" >&2; return 1; }
    run H run changed:1
    assert_status 0
    assert_equal "$output" "hello there from /srv/app as 1000"
    run H run changed:1 sh -c 'echo "$LEGACY|$OTHER"'
    assert_equal "$output" "a b  c|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    run H image inspect changed:1
    printf '%s\n' "$output" | python3 -c '
import json, sys
c = json.load(sys.stdin)[0]["Config"]["config"]
assert c["ExposedPorts"] == {"8080/tcp": {}, "53/udp": {}}, c
assert c["Labels"] == {"org.example.k": "v", "with space": "v 2"}, c
assert c["WorkingDir"] == "/srv/app" and c["User"] == "1000:1000", c
assert c["Env"][0].startswith("PATH="), c'
    # the shell form of ENTRYPOINT, as docker writes it
    run H import -c 'ENTRYPOINT echo shell form' "$D/rootfs.tar.gz" shellform
    assert_status 0
    run H run shellform
    assert_status 0
    assert_equal "$output" "shell form"
    run H image inspect shellform
    printf '%s\n' "$output" | python3 -c '
import json, sys
c = json.load(sys.stdin)[0]["Config"]["config"]
assert c["Entrypoint"] == ["/bin/sh", "-c", "echo shell form"], c'
}

@test "import: an instruction --change does not take is refused before anything is read (125)" {
    local c
    for c in 'VOLUME /data' 'RUN rm -rf /' 'ONBUILD CMD x' 'HEALTHCHECK NONE' ''; do
        # standard input never ends: reading it would hang
        run timeout 20 "$HUTCH" --root "$STORE" import -c "$c" - bad < /dev/zero
        assert_status 125
        assert_output_has "--change" "CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER and WORKDIR"
    done
    run H import --change 'VOLUME /data' "$D/rootfs.tar.gz" bad
    assert_status 125
    assert_output_has "\`VOLUME\` is not an instruction"
    for c in 'CMD [1, 2]' 'ENV' 'ENV =x' 'EXPOSE 70000' 'EXPOSE 80/icmp' 'ENV A="open' 'USER' 'WORKDIR'; do
        run timeout 20 "$HUTCH" --root "$STORE" import -c "$c" - bad < /dev/zero
        assert_status 125
        assert_output_has "--change \`$c\`"
    done
    [ ! -e "$STORE" ] || { echo "a refused --change made the store:" >&2; ls -la "$STORE" >&2; return 1; }
    # an empty standard input, and a terminal, are errors that say so
    run H import - empty < /dev/null
    assert_status 125
    assert_output_has "standard input is empty"
    if command -v script >/dev/null; then
        run script -qec "$HUTCH --root $STORE import - tty" /dev/null
        assert_output_has "terminal" "pipe it in"
    fi
    run H images -q
    assert_equal "$output" ""
    assert_empty_dir "$STORE/tmp"
}

# ---------------------------------------------------------------- copy-on-write

@test "changes in a container are invisible to the next one and to the layers" {
    load_bb
    local before after drv
    before=$(tree_manifest "$STORE/layers")
    for drv in $(usable_drivers); do
        run H --storage-driver "$drv" run --rm --entrypoint "" -u 0 busybox sh -c \
            'echo new > /etc/newfile && echo evil >> /etc/passwd && rm /bin/vi && mkdir /newdir && echo done'
        assert_status 0
        assert_equal "$output" done
        run H --storage-driver "$drv" run --rm --entrypoint "" -u 0 busybox sh -c \
            'ls /etc/newfile /newdir 2>&1; grep -c evil /etc/passwd; test -e /bin/vi && echo vi-here'
        assert_equal "$(printf '%s\n' "$output" | grep -c 'No such file')" 2
        assert_output_has "vi-here"
        printf '%s\n' "$output" | grep -qx 0 || { echo "driver $drv: /etc/passwd changed: $output" >&2; return 1; }
        after=$(tree_manifest "$STORE/layers")
        if [ "$after" != "$before" ]; then
            echo "driver $drv: the layer directories changed:" >&2
            diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") | head -20 >&2
            return 1
        fi
        assert_empty_dir "$STORE/containers"
    done
    [ -z "$(find "$STORE/layers" -name newfile)" ]
}

# ---------------------------------------------------------------- ownership

@test "ownership: uid 1000 in a layer is 1000 inside and subuid+999 on the host" {
    need_subids
    local t=$BATS_TEST_TMPDIR/owned.tar f dir
    tar -cf "$t" -C "$ROOTFS" --owner=0 --group=0 .
    mkdir "$BATS_TEST_TMPDIR/extra"
    echo mine > "$BATS_TEST_TMPDIR/extra/owned"
    mkdir "$BATS_TEST_TMPDIR/extra/owneddir"
    echo x > "$BATS_TEST_TMPDIR/extra/owneddir/inner"
    tar -rf "$t" -C "$BATS_TEST_TMPDIR/extra" --owner=alice:1000 --group=alice:1000 ./owned ./owneddir
    run H import "$t" owned
    assert_status 0
    run H run owned stat -c '%u %g' /owned /owneddir /owneddir/inner /bin/busybox
    assert_status 0
    assert_equal "$output" "1000 1000
1000 1000
1000 1000
0 0"
    f=$(find "$STORE/layers" -path '*/diff/owned')
    dir=$(find "$STORE/layers" -path '*/diff/owneddir')
    [ -n "$f" ]
    [ -n "$dir" ]
    assert_equal "$(stat -c '%u %g' "$f")" "$((SUBUID_START + 999)) $((SUBGID_START + 999))"
    assert_equal "$(stat -c '%u %g' "$dir")" "$((SUBUID_START + 999)) $((SUBGID_START + 999))"
    assert_equal "$(stat -c '%u' "$(dirname "$f")/bin/busybox")" "$MY_UID"
    # a file the container writes as uid 1000 into a directory of its own
    run H run -u 1000 owned sh -c 'echo hi > /owneddir/new && stat -c %u /owneddir/new'
    assert_status 0
    assert_equal "$output" 1000
}

# ---------------------------------------------------------------- drivers

@test "storage driver overlay: / is a kernel overlay" {
    driver_usable overlay || skip "$SKIP_WHY"
    load_bb
    run H --storage-driver overlay run --entrypoint "" busybox awk '$2 == "/" { print $3 }' /proc/mounts
    assert_status 0
    assert_equal "$output" overlay
}

@test "storage driver fuse-overlayfs: / is fuse.fuse-overlayfs, and the daemon ends with the container" {
    driver_usable fuse-overlayfs || skip "$SKIP_WHY"
    load_bb
    run H --storage-driver fuse-overlayfs run --entrypoint "" busybox awk '$2 == "/" { print $3 }' /proc/mounts
    assert_status 0
    assert_equal "$output" fuse.fuse-overlayfs
    wait_for no_cmdline "fuse-overlayfs .*$STORE/containers/.*" || {
        echo "a fuse-overlayfs process outlived the container" >&2
        return 1
    }
}

@test "SIGTERM while the container is still being set up (fuse-overlayfs starting): hutch ends with 143 and leaves nothing" {
    driver_usable fuse-overlayfs || skip "$SKIP_WHY"
    load_bb
    # a fuse-overlayfs that takes 3 s to start: the signal comes while A
    # waits for it, before hutch knows the container's process (the start
    # used to wait forever there: for A, which waited for B, which waited
    # for hutch's GO)
    mkdir "$BATS_TEST_TMPDIR/bin"
    printf '#!/bin/sh\nsleep 3\nexec %s "$@"\n' "$(command -v fuse-overlayfs)" > "$BATS_TEST_TMPDIR/bin/fuse-overlayfs"
    chmod +x "$BATS_TEST_TMPDIR/bin/fuse-overlayfs"
    # hutch itself in the background ($! is hutch, not a subshell)
    PATH="$BATS_TEST_TMPDIR/bin:$PATH" "$HUTCH" --root "$STORE" --storage-driver fuse-overlayfs \
        run --network none --entrypoint "" busybox echo ran > "$BATS_TEST_TMPDIR/out" 2>&1 &
    local p=$!
    BGPIDS=("$p")
    wait_for has_cmdline "sleep 3"
    kill -TERM "$p"
    wait_exit "$p" 20
    BGPIDS=()
    cat "$BATS_TEST_TMPDIR/out"
    assert_equal "$WAIT_STATUS" 143
    [ "$(cat "$BATS_TEST_TMPDIR/out")" = "" ]
    wait_for no_cmdline "fuse-overlayfs .*$STORE/containers/.*"
    wait_for no_cmdline "sleep 3"
}

@test "load: an archive that needs an external decompressor is refused, and nothing is executed (the CVE-2014-9357 class)" {
    # lrzip has no library: libarchive runs the program for it.  A fake
    # one in PATH says whether it ran.
    mkdir "$BATS_TEST_TMPDIR/bin"
    printf '#!/bin/sh\ntouch %s/ran\nexit 1\n' "$BATS_TEST_TMPDIR" > "$BATS_TEST_TMPDIR/bin/lrzip"
    chmod +x "$BATS_TEST_TMPDIR/bin/lrzip"
    { printf 'LRZI\000\006'; head -c 200 /dev/zero; } > "$BATS_TEST_TMPDIR/evil.tar"
    PATH="$BATS_TEST_TMPDIR/bin:$PATH" run H load -i "$BATS_TEST_TMPDIR/evil.tar"
    assert_status 125
    assert_output_has "cannot be read"
    [ ! -e "$BATS_TEST_TMPDIR/ran" ]
    # xz and bzip2 (in libarchive itself) still load
    command -v xz >/dev/null || skip "xz is not installed"
    xz -c "$D/bb-docker.tar" > "$BATS_TEST_TMPDIR/bb.tar.xz"
    run H load -i "$BATS_TEST_TMPDIR/bb.tar.xz"
    assert_status 0
}

@test "storage driver vfs: / is no overlay" {
    load_bb
    run H --storage-driver vfs run --entrypoint "" busybox awk '$2 == "/" { print $3 }' /proc/mounts
    assert_status 0
    [ -n "$output" ]
    case $output in
        *overlay*) echo "vfs gave an overlay root: $output" >&2; return 1 ;;
    esac
    run H --storage-driver vfs run busybox x
    assert_status 0
    assert_equal "$output" "prefix x"
}

# ---------------------------------------------------------------- whiteouts

@test "a whiteout in an upper layer hides the lower file, with every driver" {
    run H load -i "$D/wh.tar"
    assert_status 0
    run H load -i "$D/wh-lower.tar"
    assert_status 0
    local drv
    assert_equal "$(store_entries layers | wc -l)" 3
    for drv in $(usable_drivers); do
        # the lower layers alone have the files
        run H --storage-driver "$drv" run wh-lower sh -c 'cat /etc/gone /gonedir/f'
        assert_status 0
        assert_equal "$output" "gone
f"
        run H --storage-driver "$drv" run wh sh -c 'ls /etc; ls / ; cat /etc/kept'
        assert_status 0
        if printf '%s\n' "$output" | grep -qx -e gone -e gonedir; then
            echo "driver $drv: a deleted file shows:" >&2
            printf '%s\n' "$output" >&2
            return 1
        fi
        printf '%s\n' "$output" | grep -qx kept || { echo "driver $drv: $output" >&2; return 1; }
        run H --storage-driver "$drv" run wh sh -c 'test -e /etc/gone || test -e /gonedir/f || echo hidden'
        assert_equal "$output" hidden
    done
}

@test "an opaque whiteout hides the lower directory's contents" {
    local l1=$BATS_TEST_TMPDIR/l1.tar l2=$BATS_TEST_TMPDIR/l2.tar drv
    tar -cf "$l1" -C "$ROOTFS" --owner=0 --group=0 .
    $MKTAR tar "$BATS_TEST_TMPDIR/extra.tar" dir:opq file:opq/old:old file:opq/keep:k
    tar -Af "$l1" "$BATS_TEST_TMPDIR/extra.tar"
    $MKTAR tar "$l2" dir:opq file:opq/.wh..wh..opq: file:opq/new:new file:.wh.nothere:
    $MKTAR oci "$BATS_TEST_TMPDIR/opq.tar" opq:latest "$l1" "$l2" --config 'Cmd=["/bin/ls","/opq"]'
    run H load -i "$BATS_TEST_TMPDIR/opq.tar"
    assert_status 0
    for drv in $(usable_drivers); do
        run H --storage-driver "$drv" run opq
        assert_status 0
        assert_equal "$output" new
    done
}

# ---------------------------------------------------------------- hostile layers

# refused_import TAR: import fails with 125 and a clear message, leaving
# nothing in the store
refused_import() {
    run H import "$1" hostile
    assert_status 125
    assert_output_has "refusing the layer"
    run H images
    assert_status 0
    if printf '%s\n' "$output" | grep -q hostile; then
        echo "the refused image is listed:" >&2
        printf '%s\n' "$output" >&2
        return 1
    fi
    assert_empty_dir "$STORE/layers"
    assert_empty_dir "$STORE/tmp"
}

# the store keeps no blob of a refused image ("leave the store untouched")
assert_no_blobs() {
    assert_empty_dir "$STORE/blobs/sha256"
}

# refused_load TAR: the same layer inside an oci-archive is refused by load
refused_load() {
    $MKTAR oci "$BATS_TEST_TMPDIR/hostile-oci.tar" hostile:latest "$1"
    run H load -i "$BATS_TEST_TMPDIR/hostile-oci.tar"
    assert_status 125
    assert_output_has "refusing the layer"
    run H images -q
    assert_equal "$output" ""
    assert_empty_dir "$STORE/layers"
    assert_empty_dir "$STORE/tmp"
}

@test "hostile layer: an absolute name is refused" {
    local target=$BATS_TEST_TMPDIR/abs-escape t=$BATS_TEST_TMPDIR/h.tar
    $MKTAR tar "$t" dir:etc file:etc/ok:ok "file:$target:pwned"
    refused_import "$t"
    [ ! -e "$target" ]
    refused_load "$t"
    [ ! -e "$target" ]
    assert_no_blobs
}

@test "hostile layer: a .. component is refused" {
    local target=$BATS_TEST_TMPDIR/dotdot-escape t=$BATS_TEST_TMPDIR/h.tar
    $MKTAR tar "$t" dir:etc "file:../../../../../../../../../../../..$target:pwned" \
        file:../x:pwned file:a/../../y:pwned
    refused_import "$t"
    [ ! -e "$target" ]
    [ ! -e "$STORE/x" ]
    [ ! -e "$BATS_TEST_TMPDIR/x" ]
    [ ! -e "$STORE/y" ]
    refused_load "$t"
    [ ! -e "$target" ]
    assert_no_blobs
}

@test "hostile layer: writing through a symlink that points outside is refused" {
    local outside=$BATS_TEST_TMPDIR/outside t=$BATS_TEST_TMPDIR/h.tar
    mkdir "$outside"
    $MKTAR tar "$t" dir:etc "sym:evil:$outside" file:evil/x:pwned
    refused_import "$t"
    assert_empty_dir "$outside"
    # and a relative symlink climbing out
    $MKTAR tar "$t" dir:etc sym:evil2:../../../../../../../../../../../../tmp dir:evil2/hutch-evil-dir
    refused_import "$t"
    [ ! -e /tmp/hutch-evil-dir ]
    $MKTAR tar "$t" dir:etc "sym:evil:$outside" file:evil/x:pwned
    refused_load "$t"
    assert_empty_dir "$outside"
    assert_no_blobs
}

@test "hostile layer: a hard link to a file outside the layer is refused" {
    local secret=$BATS_TEST_TMPDIR/secret outside=$BATS_TEST_TMPDIR/outside t=$BATS_TEST_TMPDIR/h.tar
    echo secret > "$secret"
    mkdir "$outside"
    ln "$secret" "$outside/secret"
    $MKTAR tar "$t" dir:etc hard:etc/pw:/etc/passwd
    refused_import "$t"
    refused_load "$t"
    $MKTAR tar "$t" dir:etc hard:etc/pw:../../../../../../../../../../../etc/passwd
    refused_import "$t"
    # through a symlink of the layer that points outside it
    $MKTAR tar "$t" dir:etc "sym:link:$outside" hard:etc/s:link/secret
    refused_import "$t"
    refused_load "$t"
    # no new link to the host's files anywhere
    assert_equal "$(stat -c %h "$secret")" 2
    assert_equal "$(stat -c %h /etc/passwd)" 1
    assert_no_blobs
}

@test "hostile layer: absurd name lengths are refused" {
    local t=$BATS_TEST_TMPDIR/h.tar long deep
    long=$(printf 'a%.0s' $(seq 1 300))
    $MKTAR tar "$t" dir:etc "file:etc/$long:x"
    refused_import "$t"
    refused_load "$t"
    # a path longer than PATH_MAX made of legal components
    deep=$(for i in $(seq 1 40); do printf '%s/' "$(printf 'd%.0s' $(seq 1 120))"; done)
    $MKTAR tar "$t" dir:etc "file:${deep}f:x"
    refused_import "$t"
    assert_no_blobs
}

@test "device nodes in a layer are skipped with a warning; the import succeeds" {
    local t=$BATS_TEST_TMPDIR/dev.tar
    tar -cf "$t" -C "$ROOTFS" --owner=0 --group=0 .
    $MKTAR tar "$BATS_TEST_TMPDIR/extra.tar" chr:mynull:1:3 blk:mydisk:8:0 chr:etc/mytty:5:0 file:etc/after:after
    tar -Af "$t" "$BATS_TEST_TMPDIR/extra.tar"
    run H import "$t" withdev
    assert_status 0
    assert_output_has "mynull"
    printf '%s\n' "$output" | grep -qi 'warn\|skip' || { printf '%s\n' "$output" >&2; return 1; }
    run H run withdev sh -c 'ls /mynull /mydisk /etc/mytty 2>&1; cat /etc/after'
    assert_status 0
    assert_equal "$(printf '%s\n' "$output" | grep -c 'No such file')" 3
    assert_output_has after
    [ -z "$(find "$STORE/layers" \( -name mynull -o -name mydisk -o -name mytty \))" ]
}

# ---------------------------------------------------------------- concurrency, crashes

@test "two loads of the same archive in parallel leave one good image" {
    local p1 p2 s1 s2
    "$HUTCH" --root "$STORE" load -i "$D/bb-docker.tar" > "$BATS_TEST_TMPDIR/o1" 2>&1 &
    p1=$!
    "$HUTCH" --root "$STORE" load -i "$D/bb-docker.tar" > "$BATS_TEST_TMPDIR/o2" 2>&1 &
    p2=$!
    BGPIDS=("$p1" "$p2")
    wait_exit "$p1" 30
    s1=$WAIT_STATUS
    wait_exit "$p2" 30
    s2=$WAIT_STATUS
    BGPIDS=()
    [ "$s1" = 0 ] && [ "$s2" = 0 ] || {
        echo "load statuses: $s1 $s2" >&2
        cat "$BATS_TEST_TMPDIR/o1" "$BATS_TEST_TMPDIR/o2" >&2
        return 1
    }
    run H images -q
    assert_status 0
    assert_equal "${#lines[@]}" 1
    assert_equal "$(store_entries layers | wc -l)" 1
    assert_empty_dir "$STORE/tmp"
    run H run busybox ok
    assert_status 0
    assert_equal "$output" "prefix ok"
}

@test "parallel loads of different archives sharing a layer" {
    local p1 p2
    "$HUTCH" --root "$STORE" load -i "$D/bb-docker.tar" > "$BATS_TEST_TMPDIR/o1" 2>&1 &
    p1=$!
    "$HUTCH" --root "$STORE" load -i "$D/plain.tar" > "$BATS_TEST_TMPDIR/o2" 2>&1 &
    p2=$!
    BGPIDS=("$p1" "$p2")
    wait_exit "$p1" 30
    [ "$WAIT_STATUS" = 0 ] || { cat "$BATS_TEST_TMPDIR/o1" >&2; return 1; }
    wait_exit "$p2" 30
    [ "$WAIT_STATUS" = 0 ] || { cat "$BATS_TEST_TMPDIR/o2" >&2; return 1; }
    BGPIDS=()
    run H images -q
    assert_equal "${#lines[@]}" 2
    assert_equal "$(store_entries layers | wc -l)" 1
    run H run plain echo ok
    assert_equal "$output" ok
}

@test "a load killed with SIGKILL midway: the next load repairs the store" {
    local delay p st killed=0
    for delay in 0.05 0.15 0.3; do
        "$HUTCH" --root "$STORE" load -i "$D/big.tar" > /dev/null 2>&1 &
        p=$!
        BGPIDS=("$p")
        sleep "$delay"
        kill -KILL "$p" 2>/dev/null || true
        st=0
        wait "$p" 2>/dev/null || st=$?
        BGPIDS=()
        [ "$st" -ne 137 ] || killed=$((killed + 1))
        # nothing of the killed load keeps running
        wait_for no_cmdline "$HUTCH --root $STORE load -i $D/big\\.tar" || {
            echo "processes of the killed load remain" >&2
            return 1
        }
        run H load -i "$D/big.tar"
        assert_status 0
        assert_output_has "Loaded image"
        run H images
        assert_status 0
        assert_equal "$(printf '%s\n' "$output" | grep -c '^docker.io/library/big ')" 1
        assert_empty_dir "$STORE/tmp"
        assert_equal "$(store_entries layers | wc -l)" 2
        run H run --rm --entrypoint "" big sh -c 'wc -c < /big; ls /many | wc -l'
        assert_status 0
        assert_equal "$(printf '%s\n' "$output" | tr -d ' ')" "50331648
2000"
        run H rmi big
        assert_status 0
        assert_empty_dir "$STORE/layers"
    done
    # at least one load was really killed before it finished
    [ "$killed" -ge 1 ] || { echo "every load finished before its SIGKILL" >&2; return 1; }
}

# ---------------------------------------------------------------- rmi, prune, tag

@test "rmi removes the image, its layers and blobs; the user can delete the store" {
    load_bb
    run H rmi busybox
    assert_status 0
    run H images -q
    assert_equal "$output" ""
    assert_empty_dir "$STORE/layers"
    assert_empty_dir "$STORE/blobs/sha256"
    assert_empty_dir "$STORE/tmp"
    assert_empty_dir "$STORE/containers"
    run H run busybox
    assert_status 125
}

@test "rmi of an image with subordinate-owned files leaves nothing the user cannot delete" {
    need_subids
    local t=$BATS_TEST_TMPDIR/owned.tar
    mkdir -p "$BATS_TEST_TMPDIR/extra/d/e"
    echo x > "$BATS_TEST_TMPDIR/extra/d/e/f"
    chmod 0700 "$BATS_TEST_TMPDIR/extra/d" "$BATS_TEST_TMPDIR/extra/d/e"
    tar -cf "$t" -C "$ROOTFS" --owner=0 --group=0 .
    tar -rf "$t" -C "$BATS_TEST_TMPDIR/extra" --owner=u4242:4242 --group=g4242:4242 ./d
    run H import "$t" subowned
    assert_status 0
    # a container leaves files of a subordinate id in its upper directory
    run H run --rm -u 4242 subowned sh -c 'mkdir /d/e/g && echo y > /d/e/g/h && chmod 700 /d/e/g'
    assert_status 0
    run H rmi subowned
    assert_status 0
    assert_empty_dir "$STORE/layers"
    assert_empty_dir "$STORE/blobs/sha256"
    rm -rf "$STORE"
}

@test "rmi of one name of an image with two names only untags" {
    load_bb
    local id
    id=$(image_id busybox)
    run H tag busybox myname:v1
    assert_status 0
    run H images
    assert_output_has "docker.io/library/myname" "v1" "$BB_REPO"
    run H rmi myname:v1
    assert_status 0
    assert_output_has "Untagged"
    run H images
    printf '%s\n' "$output" | grep -q myname && { echo "still tagged: $output" >&2; return 1; }
    assert_equal "$(image_id busybox)" "$id"
    assert_equal "$(store_entries layers | wc -l)" 1
    run H run busybox x
    assert_equal "$output" "prefix x"
    # image tag does the same as tag
    run H image tag busybox third
    assert_status 0
    assert_equal "$(image_id third)" "$id"
}

@test "rmi refuses an image a running container uses, unless -f" {
    load_bb
    "$HUTCH" --root "$STORE" run --rm -u 0 --entrypoint "" busybox sleep 1234.5 > /dev/null 2>&1 &
    BGPIDS=($!)
    wait_for has_cmdline 'sleep 1234\.5'
    run H rmi busybox
    assert_status 125
    run H images -q
    assert_equal "${#lines[@]}" 1
    for p in $(pids_of_cmdline 'sleep 1234\.5'); do kill -KILL "$p"; done
    wait_exit "${BGPIDS[0]}" 10
    BGPIDS=()
    run H rmi busybox
    assert_status 0
    assert_empty_dir "$STORE/layers"
    assert_empty_dir "$STORE/containers"
}

@test "image prune removes what a killed container left behind" {
    need_subids
    load_bb
    local p
    "$HUTCH" --root "$STORE" run --rm --entrypoint "" -u 0 busybox sh -c 'mkdir -p /x/y; echo z > /x/y/z; chown -R 1234:1234 /x; chmod -R go-rwx /x; exec sleep 1234.5' > /dev/null 2>&1 &
    p=$!
    BGPIDS=("$p")
    wait_for has_cmdline 'sleep 1234\.5'
    kill -KILL "$p"
    wait "$p" 2>/dev/null || true
    BGPIDS=()
    wait_for no_cmdline 'sleep 1234\.5'
    run H image prune
    assert_status 0
    assert_empty_dir "$STORE/containers"
    # the image is still there and runs
    run H run --rm busybox x
    assert_equal "$output" "prefix x"
    run H rmi busybox
    assert_status 0
    rm -rf "$STORE"
}

# ---------------------------------------------------------------- save

@test "save an oci-archive: skopeo reads it and load round-trips" {
    load_bb
    local id out=$BATS_TEST_TMPDIR/saved-oci.tar
    id=$(image_id busybox)
    run H save -o "$out" busybox
    assert_status 0
    run skopeo inspect "oci-archive:$out"
    assert_status 0
    assert_output_has '"FOO=bar"'
    # skopeo verifies every blob's digest when copying
    run skopeo copy -q "oci-archive:$out" "oci:$BATS_TEST_TMPDIR/copy:x"
    assert_status 0
    STORE=$BATS_TEST_TMPDIR/store2
    run H load -i "$out"
    assert_status 0
    assert_equal "$(image_id busybox)" "$id"
    run H run busybox rt
    assert_equal "$output" "prefix rt"
}

@test "save a docker-archive: skopeo reads it and load round-trips" {
    load_bb
    local id out=$BATS_TEST_TMPDIR/saved-docker.tar
    id=$(image_id busybox)
    run H save --format docker-archive -o "$out" busybox
    assert_status 0
    run skopeo inspect "docker-archive:$out"
    assert_status 0
    assert_output_has '"FOO=bar"'
    run skopeo copy -q "docker-archive:$out" "oci:$BATS_TEST_TMPDIR/copy:x"
    assert_status 0
    STORE=$BATS_TEST_TMPDIR/store2
    run H load -i "$out"
    assert_status 0
    assert_equal "$(image_id busybox)" "$id"
    run H run busybox rt
    assert_equal "$output" "prefix rt"
}

@test "save of a two-layer image with whiteouts round-trips" {
    run H load -i "$D/wh.tar"
    assert_status 0
    local id out=$BATS_TEST_TMPDIR/wh-saved.tar
    id=$(image_id wh)
    run H save -o "$out" wh
    assert_status 0
    run skopeo copy -q "oci-archive:$out" "oci:$BATS_TEST_TMPDIR/copy:x"
    assert_status 0
    STORE=$BATS_TEST_TMPDIR/store2
    run H load -i "$out"
    assert_status 0
    assert_equal "$(image_id wh)" "$id"
    run H run wh sh -c 'test -e /etc/gone || echo hidden'
    assert_equal "$output" hidden
}

# ---------------------------------------------------------------- errors

@test "errors: unknown image, not an archive, missing files" {
    run H run --pull=never nosuchimage
    assert_status 125
    assert_output_has "nosuchimage" "hutch load"
    echo "just text" > "$BATS_TEST_TMPDIR/notar"
    run H load -i "$BATS_TEST_TMPDIR/notar"
    assert_status 125
    assert_output_has "notar"
    run H load -i "$BATS_TEST_TMPDIR/missing.tar"
    assert_status 125
    assert_output_has "missing.tar"
    run H import "$BATS_TEST_TMPDIR/missing.tar" x
    assert_status 125
    assert_output_has "missing.tar"
    run H import "$BATS_TEST_TMPDIR/notar" x
    assert_status 125
    run H images -q
    assert_equal "$output" ""
    assert_empty_dir "$STORE/tmp"
    run H rmi nosuchimage
    assert_status 125
    run H save -o "$BATS_TEST_TMPDIR/o.tar" nosuchimage
    assert_status 125
    [ ! -e "$BATS_TEST_TMPDIR/o.tar" ]
}

@test "a truncated archive is refused and leaves nothing" {
    head -c 1500000 "$D/bb-docker.tar" > "$BATS_TEST_TMPDIR/trunc.tar"
    run H load -i "$BATS_TEST_TMPDIR/trunc.tar"
    assert_status 125
    run H images -q
    assert_equal "$output" ""
    assert_empty_dir "$STORE/tmp"
    assert_empty_dir "$STORE/layers"
}

@test "--help of every image command" {
    local c
    for c in images image rmi tag import load save "image inspect" "image ls" "image rm" \
             "image prune" "image tag"; do
        # shellcheck disable=SC2086
        run H $c --help
        [ "$status" -eq 0 ] || { echo "hutch $c --help: status $status: $output" >&2; return 1; }
        assert_output_has "Usage"
    done
    [ ! -e "$STORE/images.json" ]
}

# ---------------------------------------------------------------- interoperability

@test "a layer made by umoci insert at / (with a \"/\" root entry) loads" {
    local L=$BATS_TEST_TMPDIR/L
    umoci init --layout "$L"
    umoci new --image "$L:x"
    umoci insert --rootless --image "$L:x" "$ROOTFS" /
    umoci config --image "$L:x" --config.cmd /bin/true
    skopeo copy -q "oci:$L:x" "oci-archive:$BATS_TEST_TMPDIR/ins.tar:ins:latest"
    run H load -i "$BATS_TEST_TMPDIR/ins.tar"
    assert_status 0
    run H run ins echo ok
    assert_status 0
    assert_equal "$output" ok
}

@test "run -u NAME: /etc/group comes from the topmost layer that has it, /etc/passwd from its own" {
    run "$HUTCH" --root "$STORE" load -i "$BATS_FILE_TMPDIR/grp.tar"
    assert_status 0
    run "$HUTCH" --root "$STORE" run -u alice --entrypoint "" grp:latest id -G
    assert_status 0
    # 1000 (alice's own), 50 (staff, lower layer), 77 (extra, top layer)
    for g in 1000 50 77; do
        printf '%s\n' "$output" | tr ' ' '\n' | grep -qx "$g" || { echo "group $g missing: $output" >&2; return 1; }
    done
}

@test "load: a name made absolute by ././/, or a path through an earlier symlink, writes nothing outside" {
    local T=$BATS_TEST_TMPDIR
    mkdir "$T/victim"
    $MKTAR tar "$T/evil1.tar" "dir:././/$T/pwned_dir" "sym:././/$T/pwned_link:/etc/shadow"
    run "$HUTCH" --root "$STORE" load -i "$T/evil1.tar"
    assert_status 125
    [ ! -e "$T/pwned_dir" ] && [ ! -L "$T/pwned_link" ]
    $MKTAR tar "$T/evil2.tar" "sym:out:$T/victim" "dir:out/newdir" "file:out/deep/x/file:data"
    run "$HUTCH" --root "$STORE" load -i "$T/evil2.tar"
    assert_status 125
    assert_output_has "not a directory of the archive"
    [ -z "$(ls -A "$T/victim")" ]
}

@test "load: a config that claims a known layer's diff_id for another blob is refused" {
    local T=$BATS_TEST_TMPDIR d
    run "$HUTCH" --root "$STORE" import "$BATS_FILE_TMPDIR/rootfs.tar.gz" good:latest
    assert_status 0
    d=$("$HUTCH" --root "$STORE" image inspect good:latest | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Layers"][0]["DiffID"])')
    $MKTAR tar "$T/evil-layer.tar" "file:evil:EVIL"
    python3 "$BATS_TEST_DIRNAME/mktar.py" oci "$T/evil.tar" evil:latest "$T/evil-layer.tar" --claim-diff-id "$d"
    run "$HUTCH" --root "$STORE" load -i "$T/evil.tar"
    assert_status 125
    assert_output_has "does not match"
    run "$HUTCH" --root "$STORE" images
    [[ "$output" != *evil* ]]
}

@test "load: an archive with no image is an error" {
    printf '[]' > "$BATS_TEST_TMPDIR/manifest.json"
    tar -C "$BATS_TEST_TMPDIR" -cf "$BATS_TEST_TMPDIR/empty.tar" manifest.json
    run "$HUTCH" --root "$STORE" load -i "$BATS_TEST_TMPDIR/empty.tar"
    assert_status 125
    assert_output_has "holds no image"
}
