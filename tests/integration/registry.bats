#!/usr/bin/env bats
# Registries: pull, push, login, logout and run --pull against Debian's
# docker-registry on 127.0.0.1 (plain HTTP, HTTPS with a self-signed
# certificate, htpasswd auth), with regproxy.py in front of it for bearer
# tokens and for broken networks (dropped connections, flipped bytes, slow
# transfers, broken manifests).
#
# The registries are started once for the file (setup_file) and found through
# exported variables (see registry.bash):
#   REG_PLAIN    http, anonymous; every test image
#   REG_MIRROR   http, anonymous; test/mirrored (another image than REG_PLAIN's)
#   REG_TLS      https with a self-signed certificate (REG_TLS_CERTS: ca.crt)
#   REG_AUTH     http with htpasswd: $AUTH_USER / $AUTH_PASS
# Proxies are started by the tests that need them (proxy_start) and stopped
# in teardown.  Every test has its own store, config directory, home and
# runtime directory: nothing of the user's is read or written.

load helpers
load registry

AUTH_USER=hutch
AUTH_PASS='open:sesame'
MKTAR="python3 $BATS_TEST_DIRNAME/mktar.py"

# The test images, built with umoci from the busybox rootfs in an OCI layout:
#   bb      one layer; Cmd [/bin/echo, hello from the registry]
#   bb2     bb + a layer with /etc/second; Cmd [/bin/echo, second image]
#   big     bb + a layer with 8 MiB of random data (/big) and 300 small files
#   multi   an index: linux/amd64, linux/arm64/v8, linux/arm/v7, each bb + a
#           layer with /arch ("amd64", "arm64", "arm-v7"); Cmd [/bin/cat, /arch]
#           (all of them hold the host's busybox: only the labels differ)
# and two single-layer images made with mktar.py, pushed with uncompressed
# and with zstd layers (Cmd [/bin/cat, /marker]).
setup_file() {
    reg_need_tools
    command -v umoci >/dev/null || skip "umoci is not installed"
    local D=$BATS_FILE_TMPDIR L=$BATS_FILE_TMPDIR/L a
    cd "$D" || return 1

    umoci init --layout "$L"
    umoci new --image "$L:empty"
    umoci unpack --rootless --image "$L:empty" "$D/W"
    cp -a "$ROOTFS/." "$D/W/rootfs/"
    umoci repack --image "$L:bb" "$D/W"
    rm -rf "$D/W"
    umoci config --image "$L:bb" --config.cmd /bin/echo --config.cmd "hello from the registry"

    # derive FROM NAME SNIPPET: NAME is FROM plus a layer made by running
    # SNIPPET in the unpacked root
    derive() {
        rm -rf "$D/W"
        umoci unpack --rootless --image "$L:$1" "$D/W" >/dev/null
        (cd "$D/W/rootfs" && eval "$3")
        umoci repack --image "$L:$2" "$D/W"
        rm -rf "$D/W"
    }
    derive bb bb2 'echo second > etc/second'
    umoci config --image "$L:bb2" --config.cmd /bin/echo --config.cmd "second image"
    derive bb big 'head -c 8M /dev/urandom > big; mkdir many; for i in $(seq 1 300); do echo "$i" > "many/f$i"; done'
    derive bb amd64 'echo amd64 > arch'
    derive bb arm64 'echo arm64 > arch'
    derive bb armv7 'echo arm-v7 > arch'
    umoci config --image "$L:amd64" --architecture amd64 --os linux --config.cmd /bin/cat --config.cmd /arch
    umoci config --image "$L:arm64" --architecture arm64 --os linux --config.cmd /bin/cat --config.cmd /arch
    umoci config --image "$L:armv7" --architecture arm --os linux --config.cmd /bin/cat --config.cmd /arch
    reg_mkindex "$L" multi amd64=linux/amd64 arm64=linux/arm64/v8 armv7=linux/arm/v7
    for a in raw zstd; do
        $MKTAR tar "$D/$a-layer.tar" "tree:$ROOTFS" "file:marker:$a layer"
        $MKTAR oci "$D/$a.tar" "$a" "$D/$a-layer.tar" --config 'Cmd=["/bin/cat","/marker"]'
        # as an OCI layout: skopeo, unprivileged, cannot untar the archive's
        # root-owned entries
        mkdir "$D/$a-oci"
        tar -xf "$D/$a.tar" -C "$D/$a-oci"
    done
    # for hutch load: the push round trip starts from a loaded image
    reg_skopeo copy -q "oci:$L:bb" "oci-archive:$D/bb-oci.tar:test/bb:latest"

    reg_start plain
    reg_start mirror
    reg_start tls --tls
    reg_start auth --htpasswd "$AUTH_USER:$AUTH_PASS"

    local P=$REG_PLAIN
    reg_push "oci:$L:bb" "$P/test/bb:latest"
    reg_push "oci:$L:bb2" "$P/test/bb2:latest"
    reg_push "oci:$L:big" "$P/test/big:latest"
    reg_push "oci:$L:multi" "$P/test/multi:latest" --all
    reg_push "oci:$L:multi" "$P/test/multi:list" --all --format v2s2
    reg_push "oci:$L:bb" "$P/test/docker:latest" --format v2s2
    reg_push "oci:$D/raw-oci:raw" "$P/test/raw:latest" --preserve-digests
    reg_push "oci:$D/zstd-oci:zstd" "$P/test/zstd:latest" --dest-compress-format zstd
    reg_push "oci:$L:bb" "$P/hutchshort:latest"
    reg_push "oci:$L:bb" "$P/test/mirrored:latest"
    reg_push "oci:$L:bb2" "$REG_MIRROR/test/mirrored:latest"
    reg_push "oci:$L:bb" "$REG_TLS/test/bb:latest"
    reg_push "oci:$L:bb" "$REG_AUTH/test/bb:latest" --dest-creds "$AUTH_USER:$AUTH_PASS"

    # what the registry holds, for the tests to compare with
    export BB_ID BB_DIGEST BB_LAYER BB2_ID BIG_ID DOCKER_ID RAW_ID ZSTD_ID MULTI_DIGEST
    BB_ID=$(reg_config_digest "$P/test/bb:latest")
    BB_DIGEST=$(reg_manifest_digest "$P/test/bb:latest")
    BB_LAYER=$(reg_layer_digests "$P/test/bb:latest")
    BB2_ID=$(reg_config_digest "$P/test/bb2:latest")
    BIG_ID=$(reg_config_digest "$P/test/big:latest")
    DOCKER_ID=$(reg_config_digest "$P/test/docker:latest")
    RAW_ID=$(reg_config_digest "$P/test/raw:latest")
    ZSTD_ID=$(reg_config_digest "$P/test/zstd:latest")
    MULTI_DIGEST=$(reg_manifest_digest "$P/test/multi:latest")
    # the pushes did what the tests rely on
    reg_raw "$P/test/raw:latest" | grep -q '"application/vnd.oci.image.layer.v1.tar"'
    reg_raw "$P/test/zstd:latest" | grep -q '"application/vnd.oci.image.layer.v1.tar+zstd"'
    reg_raw "$P/test/docker:latest" | grep -q 'application/vnd.docker.distribution.manifest.v2+json'
    reg_raw "$P/test/multi:list" | grep -q 'application/vnd.docker.distribution.manifest.list.v2+json'
    reg_raw "$P/test/multi:latest" | grep -q 'application/vnd.oci.image.index.v1+json'
}

teardown_file() {
    proxy_stop_all
    reg_stop_all
}

setup() {
    STORE=$BATS_TEST_TMPDIR/store
    BGPIDS=()
    # nothing of the user's: config, credentials, runtime directory
    # (XDG_CONFIG_HOME is ~/.config, so that ~/.config/containers/auth.json
    # is the same file however it is found)
    export HOME=$BATS_TEST_TMPDIR/home
    export XDG_CONFIG_HOME=$HOME/.config
    export XDG_RUNTIME_DIR=$BATS_TEST_TMPDIR/run
    unset REGISTRY_AUTH_FILE DOCKER_CONFIG
    mkdir -p "$XDG_CONFIG_HOME" "$HOME" "$XDG_RUNTIME_DIR"
    chmod 0700 "$XDG_RUNTIME_DIR"
}

teardown() {
    local p id st rc=0
    kill_bgpids
    proxy_stop_all
    for st in "$BATS_TEST_TMPDIR"/store*; do
        [ -d "$st" ] || continue
        empty_store "$st"
        if ! rm -rf "$st" 2> "$BATS_TEST_TMPDIR/rm.err"; then
            echo "TEARDOWN: rm -rf $st failed after rmi and prune:" >&2
            head -20 "$BATS_TEST_TMPDIR/rm.err" >&2
            rc=1
        fi
    done
    return "$rc"
}

H() { "$HUTCH" --root "$STORE" "$@"; }

# helpers.bash's, also showing stderr after run --separate-stderr
assert_status() {
    if [ "$status" -ne "$1" ]; then
        echo "expected exit status $1, got $status; output:" >&2
        printf '%s\n' "$output" >&2
        if [ -n "${stderr:-}" ]; then
            echo "stderr:" >&2
            printf '%s\n' "$stderr" >&2
        fi
        return 1
    fi
}

# conf LINE...: write $XDG_CONFIG_HOME/hutch/hutch.conf
conf() {
    mkdir -p "$XDG_CONFIG_HOME/hutch"
    printf '%s\n' "$@" > "$XDG_CONFIG_HOME/hutch/hutch.conf"
}

# last line of stdout (after run --separate-stderr), without a CR
last_line() {
    local n=${#lines[@]}
    [ "$n" -gt 0 ] || return 0
    printf '%s\n' "${lines[$((n - 1))]}" | tr -d '\r'
}

# assert_id ID: the pull printed ID as its last line of stdout
assert_id() {
    local got
    got=$(last_line)
    if [ "$got" != "$1" ]; then
        echo "expected the image id $1 as the last line of stdout; stdout:" >&2
        printf '%s\n' "$output" >&2
        echo "stderr:" >&2
        printf '%s\n' "${stderr:-}" >&2
        return 1
    fi
}

# assert_output_any WORD...: the output has at least one of the words
assert_output_any() {
    local p
    for p in "$@"; do
        printf '%s\n' "$output" | grep -q -i -F -- "$p" && return 0
    done
    echo "output has none of: $*; output:" >&2
    printf '%s\n' "$output" >&2
    return 1
}

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

# store_state: what a failed pull must not change
store_state() {
    H images -q 2>&1 | LC_ALL=C sort
    ls -A "$STORE/layers" 2>/dev/null | LC_ALL=C sort
}

# assert_untouched BEFORE: the store is as store_state said before, and the
# next hutch command leaves STORE/tmp empty
assert_untouched() {
    local now
    now=$(store_state)
    if [ "$now" != "$1" ]; then
        echo "the failed command changed the store:" >&2
        diff <(printf '%s\n' "$1") <(printf '%s\n' "$now") >&2
        return 1
    fi
    H images > /dev/null 2>&1
    assert_empty_dir "$STORE/tmp"
}

# image_field REF EXPR: a Python expression on `image inspect REF`'s first
# object, bound to i
image_field() {
    H image inspect "$1" | python3 -c "import json,sys; i = json.load(sys.stdin)[0]; print($2)"
}

# layer_file NAME: the contents of /NAME in the store's layers
layer_file() {
    cat "$STORE"/layers/*/diff/"$1"
}

native_arch() {
    case $(uname -m) in
        x86_64) echo amd64 ;;
        aarch64) echo arm64 ;;
        *) echo unknown ;;
    esac
}

# access_count REGDIR REGEX: how many requests of the registry's access log
# match REGEX (the log's request field: "METHOD PATH HTTP/1.1")
access_count() {
    grep -cE "\"$2 HTTP/1\.1\"" "$1/registry.log" || true
}

listed() {
    H images | grep -Eq "^$1[[:space:]]+$2[[:space:]]"
}

# ---------------------------------------------------------------- pull

@test "pull by tag: the image id on stdout, plain progress lines on stderr, the image runs" {
    run --separate-stderr H pull --tls-verify=false "$REG_PLAIN/test/bb:latest"
    assert_status 0
    assert_id "$BB_ID"
    # stderr is no terminal: plain lines, one per blob
    printf '%s\n' "$stderr" | grep -Eq "^Copying blob ${BB_LAYER:7:12} " || {
        echo "no 'Copying blob ${BB_LAYER:7:12}' line on stderr:" >&2
        printf '%s\n' "$stderr" >&2
        return 1
    }
    listed "$REG_PLAIN/test/bb" latest || { H images >&2; return 1; }
    assert_equal "$(image_field "$REG_PLAIN/test/bb" 'i["Digest"]')" "$BB_DIGEST"
    run --separate-stderr H run "$REG_PLAIN/test/bb"
    assert_status 0
    assert_equal "$output" "hello from the registry"
    assert_empty_dir "$STORE/tmp"
}

@test "pull -q: only the image id, nothing on stderr" {
    run --separate-stderr H pull -q --tls-verify=false "$REG_PLAIN/test/bb"
    assert_status 0
    assert_equal "$output" "$BB_ID"
    assert_equal "$stderr" ""
}

@test "pull by digest, and with a docker:// prefix" {
    run --separate-stderr H pull --tls-verify=false "$REG_PLAIN/test/bb@$BB_DIGEST"
    assert_status 0
    assert_id "$BB_ID"
    run --separate-stderr H run "$BB_ID"
    assert_status 0
    assert_equal "$output" "hello from the registry"
    STORE=$BATS_TEST_TMPDIR/store2
    run --separate-stderr H pull --tls-verify=false "docker://$REG_PLAIN/test/bb:latest"
    assert_status 0
    assert_id "$BB_ID"
    listed "$REG_PLAIN/test/bb" latest
}

@test "pull: a layer already in the store is skipped" {
    run H pull --tls-verify=false "$REG_PLAIN/test/bb"
    assert_status 0
    run --separate-stderr H pull --tls-verify=false "$REG_PLAIN/test/bb2"
    assert_status 0
    assert_id "$BB2_ID"
    printf '%s\n' "$stderr" | grep -q "^Copying blob ${BB_LAYER:7:12} skipped: already in the store" || {
        echo "the shared layer ${BB_LAYER:7:12} was not reported as skipped:" >&2
        printf '%s\n' "$stderr" >&2
        return 1
    }
    assert_equal "$(ls -A "$STORE/layers" | wc -l)" 2
    run --separate-stderr H run "$REG_PLAIN/test/bb2"
    assert_equal "$output" "second image"
}

@test "pull: Docker schema 2, uncompressed and zstd layers" {
    local repo want
    for repo in docker raw zstd; do
        want=${repo^^}_ID
        run --separate-stderr H pull --tls-verify=false "$REG_PLAIN/test/$repo"
        assert_status 0
        assert_id "${!want}"
    done
    run --separate-stderr H run "$REG_PLAIN/test/docker"
    assert_equal "$output" "hello from the registry"
    for want in raw zstd; do
        run --separate-stderr H run "$REG_PLAIN/test/$want"
        assert_status 0
        assert_equal "$output" "$want layer"
    done
}

@test "pull: 404 is 'not found', for a repository, a tag and a digest" {
    local before
    run H pull --tls-verify=false "$REG_PLAIN/test/bb"
    assert_status 0
    before=$(store_state)
    run H pull --tls-verify=false "$REG_PLAIN/test/nosuch:latest"
    assert_status 125
    assert_output_has "not found" "test/nosuch"
    run H pull --tls-verify=false "$REG_PLAIN/test/bb:nosuchtag"
    assert_status 125
    assert_output_has "not found"
    run H pull --tls-verify=false "$REG_PLAIN/test/bb@sha256:$(printf '0%.0s' $(seq 1 64))"
    assert_status 125
    assert_output_has "not found"
    assert_untouched "$before"
}

@test "pull: errors in the command line" {
    run H pull
    assert_status 125
    run H pull --tls-verify=maybe "$REG_PLAIN/test/bb"
    assert_status 125
    assert_output_has "--tls-verify"
    local p
    for p in linux linux/ /amd64 linux/amd64/v8/extra "linux amd64"; do
        run H pull --tls-verify=false --platform "$p" "$REG_PLAIN/test/multi"
        [ "$status" -eq 125 ] || { echo "--platform '$p': status $status: $output" >&2; return 1; }
        assert_output_has "--platform"
    done
    run H pull --tls-verify=false "$REG_PLAIN/Test/UPPER"
    assert_status 125
    run H images -q
    assert_equal "$output" ""
}

@test "--help of pull, push, login and logout" {
    local c
    for c in pull push login logout; do
        run H "$c" --help
        [ "$status" -eq 0 ] || { echo "hutch $c --help: status $status: $output" >&2; return 1; }
        assert_output_has "Usage"
    done
}

# ---------------------------------------------------------------- platforms

@test "pull from an index: this machine's platform by default" {
    local arch
    arch=$(native_arch)
    [ "$arch" != unknown ] || skip "the test index has no image for $(uname -m)"
    run --separate-stderr H pull --tls-verify=false "$REG_PLAIN/test/multi"
    assert_status 0
    assert_equal "$(layer_file arch)" "$arch"
    assert_equal "$(image_field "$REG_PLAIN/test/multi" 'i["Config"]["architecture"]')" "$arch"
    # pulled by the index's digest: the same
    STORE=$BATS_TEST_TMPDIR/store2
    run --separate-stderr H pull --tls-verify=false "$REG_PLAIN/test/multi@$MULTI_DIGEST"
    assert_status 0
    assert_equal "$(layer_file arch)" "$arch"
}

@test "pull --platform picks the entry: linux/arm64 (variant v8 in the index), linux/arm/v7" {
    local plat want
    for plat in linux/arm64:arm64 linux/arm64/v8:arm64 linux/arm/v7:arm-v7 linux/amd64:amd64; do
        want=${plat#*:}
        STORE=$BATS_TEST_TMPDIR/store-${want}-$RANDOM
        run --separate-stderr H pull --tls-verify=false --platform "${plat%%:*}" "$REG_PLAIN/test/multi:latest"
        assert_status 0
        assert_equal "$(layer_file arch)" "$want"
    done
    assert_equal "$(image_field "$REG_PLAIN/test/multi" 'i["Config"]["architecture"]')" amd64
}

@test "pull --platform from a Docker manifest list" {
    run --separate-stderr H pull --tls-verify=false --platform linux/arm64 "$REG_PLAIN/test/multi:list"
    assert_status 0
    assert_equal "$(layer_file arch)" arm64
    assert_equal "$(image_field "$REG_PLAIN/test/multi:list" 'i["Config"]["architecture"]')" arm64
}

@test "pull by the digest of one platform's manifest gets that image" {
    local d
    d=$(reg_child_digest "$REG_PLAIN/test/multi:latest" linux/arm/v7)
    run --separate-stderr H pull --tls-verify=false "$REG_PLAIN/test/multi@$d"
    assert_status 0
    assert_equal "$(layer_file arch)" arm-v7
}

@test "pull --platform of a platform the index does not offer: 'no image for' and the list" {
    local before
    before=$(store_state)
    run H pull --tls-verify=false --platform linux/s390x "$REG_PLAIN/test/multi"
    assert_status 125
    assert_output_has "no image for" "linux/s390x" "linux/amd64" "linux/arm64" "linux/arm/v7"
    run H pull --tls-verify=false --platform linux/arm/v6 "$REG_PLAIN/test/multi"
    assert_status 125
    assert_output_has "no image for"
    assert_untouched "$before"
}

# ---------------------------------------------------------------- run --pull

@test "run pulls a missing image (--pull=missing is the default)" {
    run --separate-stderr H run --tls-verify=false "$REG_PLAIN/test/bb"
    assert_status 0
    assert_equal "$output" "hello from the registry"
    listed "$REG_PLAIN/test/bb" latest
    # present now: no --tls-verify needed, the registry is not asked
    local n
    n=$(access_count "$REG_PLAIN_DIR" "(GET|HEAD) /v2/test/bb/manifests/[^ ]*")
    run --separate-stderr H run "$REG_PLAIN/test/bb"
    assert_status 0
    assert_equal "$output" "hello from the registry"
    assert_equal "$(access_count "$REG_PLAIN_DIR" "(GET|HEAD) /v2/test/bb/manifests/[^ ]*")" "$n"
}

@test "run --pull=never: a missing image is an error, and the registry is not asked" {
    local n
    n=$(access_count "$REG_PLAIN_DIR" "(GET|HEAD) /v2/test/bb/manifests/[^ ]*")
    run H run --pull=never --tls-verify=false "$REG_PLAIN/test/bb"
    assert_status 125
    assert_equal "$(access_count "$REG_PLAIN_DIR" "(GET|HEAD) /v2/test/bb/manifests/[^ ]*")" "$n"
    run H images -q
    assert_equal "$output" ""
    run H run --pull=sometimes --tls-verify=false "$REG_PLAIN/test/bb"
    assert_status 125
    assert_output_has "--pull"
}

@test "run --pull=always gets the tag's new image; missing and never keep the stored one" {
    local R=$REG_PLAIN/test/moving-$BATS_TEST_NUMBER
    reg_push "oci:$BATS_FILE_TMPDIR/L:bb" "$R:latest"
    run --separate-stderr H run --tls-verify=false "$R"
    assert_status 0
    assert_equal "$output" "hello from the registry"
    reg_push "oci:$BATS_FILE_TMPDIR/L:bb2" "$R:latest"
    run --separate-stderr H run --tls-verify=false "$R"
    assert_equal "$output" "hello from the registry"
    run --separate-stderr H run --pull=missing --tls-verify=false "$R"
    assert_equal "$output" "hello from the registry"
    run --separate-stderr H run --pull=always --tls-verify=false "$R"
    assert_status 0
    assert_equal "$output" "second image"
    run --separate-stderr H run --pull=never "$R"
    assert_equal "$output" "second image"
    assert_equal "$(image_field "$R" 'i["Id"]')" "$BB2_ID"
}

@test "run -q: no pull progress; run --platform" {
    run --separate-stderr H run -q --tls-verify=false "$REG_PLAIN/test/bb"
    assert_status 0
    assert_equal "$output" "hello from the registry"
    if printf '%s\n' "$stderr" | grep -q 'Copying'; then
        echo "run -q showed pull progress:" >&2
        printf '%s\n' "$stderr" >&2
        return 1
    fi
    run H run --tls-verify=false --platform linux/s390x "$REG_PLAIN/test/multi"
    assert_status 125
    assert_output_has "no image for"
    [ "$(native_arch)" = amd64 ] || skip "the rest needs an amd64 host"
    run --separate-stderr H run -q --tls-verify=false --platform linux/amd64 "$REG_PLAIN/test/multi"
    assert_status 0
    assert_equal "$output" amd64
}

# other_arch: an architecture of the test index that is not this machine's
other_arch() {
    [ "$(native_arch)" = amd64 ] && echo arm64 || echo amd64
}

@test "run: a stored image of another platform is not run, nor replaced, without --platform; with it, the right one is pulled" {
    local native other n
    native=$(native_arch)
    [ "$native" != unknown ] || skip "the test index has no image for $(uname -m)"
    other=$(other_arch)
    run --separate-stderr H pull --tls-verify=false --platform "linux/$other" "$REG_PLAIN/test/multi"
    assert_status 0
    assert_equal "$(layer_file arch)" "$other"
    n=$(access_count "$REG_PLAIN_DIR" "(GET|HEAD) /v2/test/multi/manifests/[^ ]*")
    run H run --tls-verify=false "$REG_PLAIN/test/multi"
    assert_status 125
    assert_output_has "in the store is for linux/$other, not for linux/$native (this machine's)" \
        "\`hutch pull $REG_PLAIN/test/multi\`" "--platform linux/$other"
    assert_equal "$(access_count "$REG_PLAIN_DIR" "(GET|HEAD) /v2/test/multi/manifests/[^ ]*")" "$n"
    # named, the stored one runs (its busybox is this machine's)
    run --separate-stderr H run -q --platform "linux/$other" "$REG_PLAIN/test/multi"
    assert_status 0
    assert_equal "$output" "$other"
    # --platform of this machine: the missing platform is pulled (the
    # default, --pull=missing), and the name moves to it
    run --separate-stderr H run -q --tls-verify=false --platform "linux/$native" "$REG_PLAIN/test/multi"
    assert_status 0
    assert_equal "$output" "$native"
    assert_equal "$(image_field "$REG_PLAIN/test/multi" 'i["Config"]["architecture"]')" "$native"
    run H images
    printf '%s\n' "$output" | grep -Eq '^<none> +<none> +[0-9a-f]{12} ' || fail_now "the other image went: $output"
    run --separate-stderr H run -q "$REG_PLAIN/test/multi"
    assert_status 0
    assert_equal "$output" "$native"
}

@test "a registry's single-platform image for another platform: pull warns, pull --platform and run refuse before the layers" {
    local native other R before l
    native=$(native_arch)
    [ "$native" != unknown ] || skip "the test images are for amd64 and arm64 only"
    other=$(other_arch)
    R=$REG_PLAIN/test/only-$other-$BATS_TEST_NUMBER
    reg_push "oci:$BATS_FILE_TMPDIR/L:$other" "$R:latest"
    before=$(store_state)
    run H pull --tls-verify=false --platform "linux/$native" "$R"
    assert_status 125
    assert_output_has "the registry's image is for linux/$other, not for linux/$native (--platform)" \
        "name its platform: --platform linux/$other"
    assert_untouched "$before"
    run H run --tls-verify=false "$R"
    assert_status 125
    assert_output_has "the registry's image is for linux/$other, not for linux/$native (this machine's)"
    assert_untouched "$before"
    run H run --pull=always --tls-verify=false --platform "linux/$native" "$R"
    assert_status 125
    assert_untouched "$before"
    # refused after the config, before any layer
    for l in $(reg_layer_digests "$R"); do
        assert_equal "$(access_count "$REG_PLAIN_DIR" "GET /v2/${R#*/}/blobs/$l")" 0
    done
    # hutch pull takes it as it is, and says what it is
    run --separate-stderr H pull --tls-verify=false "$R"
    assert_status 0
    printf '%s\n' "$stderr" | grep -qF "is an image for linux/$other, not for linux/$native (this machine's); \`hutch run\` takes it only with --platform linux/$other" ||
        fail_now "no warning: $stderr"
    run --separate-stderr H pull -q --tls-verify=false "$R"
    assert_status 0
    assert_equal "$stderr" ""
    run H run "$R"
    assert_status 125
    assert_output_has "in the store is for linux/$other"
    run --separate-stderr H run --platform "linux/$other" "$R"
    assert_status 0
    assert_equal "$output" "$other"
}

# ---------------------------------------------------------------- HTTP, TLS

@test "plain HTTP: refused by default, allowed by --tls-verify=false or insecure_registries" {
    local before
    before=$(store_state)
    run H pull "$REG_PLAIN/test/bb"
    assert_status 125
    assert_output_has "--tls-verify=false"
    assert_untouched "$before"
    conf "insecure_registries = 127.0.0.1:1 $REG_PLAIN"
    run --separate-stderr H pull "$REG_PLAIN/test/bb"
    assert_status 0
    assert_id "$BB_ID"
}

@test "HTTPS with a self-signed certificate: a TLS error naming --tls-verify=false" {
    local before
    before=$(store_state)
    run H pull "$REG_TLS/test/bb"
    assert_status 125
    assert_output_has "TLS" "--tls-verify=false"
    assert_untouched "$before"
    # a CA that did not sign it does not help
    mkdir "$BATS_TEST_TMPDIR/other"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$BATS_TEST_TMPDIR/other.key" -out "$BATS_TEST_TMPDIR/other/ca.crt" -days 1 \
        -subj /CN=other -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
    run H pull --cert-dir "$BATS_TEST_TMPDIR/other" "$REG_TLS/test/bb"
    assert_status 125
    assert_output_has "TLS"
    assert_untouched "$before"
}

@test "HTTPS with a self-signed certificate: --cert-dir, --tls-verify=false, insecure_registries" {
    run --separate-stderr H pull --cert-dir "$REG_TLS_CERTS" "$REG_TLS/test/bb"
    assert_status 0
    assert_id "$BB_ID"
    STORE=$BATS_TEST_TMPDIR/store2
    run --separate-stderr H pull --tls-verify=false "$REG_TLS/test/bb"
    assert_status 0
    assert_id "$BB_ID"
    STORE=$BATS_TEST_TMPDIR/store3
    conf "insecure_registries = $REG_TLS"
    run --separate-stderr H pull "$REG_TLS/test/bb"
    assert_status 0
    assert_id "$BB_ID"
}

# ---------------------------------------------------------------- htpasswd

# authfile_user FILE REGISTRY: the "user:password" FILE stores for REGISTRY
authfile_user() {
    python3 - "$1" "$2" <<'PY'
import base64, json, sys
with open(sys.argv[1]) as f:
    a = json.load(f)
e = a.get("auths", {}).get(sys.argv[2])
if e:
    print(base64.b64decode(e["auth"]).decode())
PY
}

# write_auth FILE REGISTRY USER:PASS
write_auth() {
    mkdir -p "$(dirname "$1")"
    python3 - "$@" <<'PY'
import base64, json, sys
with open(sys.argv[1], "w") as f:
    json.dump({"auths": {sys.argv[2]: {"auth": base64.b64encode(sys.argv[3].encode()).decode()}}}, f)
PY
}

@test "htpasswd registry: a pull without credentials is unauthorized, with a hint" {
    local before
    before=$(store_state)
    run H pull --tls-verify=false "$REG_AUTH/test/bb"
    assert_status 125
    assert_output_any unauthorized denied
    # plain HTTP, reached by --tls-verify=false: the login needs it too
    assert_output_has "\`hutch login --tls-verify=false $REG_AUTH\`" "plain HTTP" "--creds"
    assert_untouched "$before"
    run H pull --tls-verify=false --creds "$AUTH_USER:wrong" "$REG_AUTH/test/bb"
    assert_status 125
    assert_output_any unauthorized denied
    assert_output_has "check them with \`hutch login --tls-verify=false $REG_AUTH\`"
    assert_untouched "$before"
}

@test "htpasswd registry over plain HTTP: the login the 401 names is the one that works" {
    local A=$BATS_TEST_TMPDIR/auth.json
    # without the option, hutch login tries HTTPS and fails
    run H login -u "$AUTH_USER" -p "$AUTH_PASS" --authfile "$A" "$REG_AUTH"
    assert_status 125
    assert_output_has "--tls-verify=false"
    run H login --tls-verify=false -u "$AUTH_USER" -p "$AUTH_PASS" --authfile "$A" "$REG_AUTH"
    assert_status 0
    run --separate-stderr H pull --tls-verify=false --authfile "$A" "$REG_AUTH/test/bb"
    assert_status 0
    assert_id "$BB_ID"
    # listed in insecure_registries, the registry needs no option anywhere:
    # the hint says a plain hutch login, and that works
    conf "insecure_registries = $REG_AUTH"
    STORE=$BATS_TEST_TMPDIR/store2
    run H pull "$REG_AUTH/test/bb"
    assert_status 125
    assert_output_has "log in with \`hutch login $REG_AUTH\`"
    if printf '%s\n' "$output" | grep -qF -- "--tls-verify=false"; then
        fail_now "the hint names --tls-verify=false, which is not needed here: $output"
    fi
    run H login -u "$AUTH_USER" -p "$AUTH_PASS" --authfile "$BATS_TEST_TMPDIR/auth2.json" "$REG_AUTH"
    assert_status 0
}

@test "htpasswd registry: --creds" {
    run --separate-stderr H pull --tls-verify=false --creds "$AUTH_USER:$AUTH_PASS" "$REG_AUTH/test/bb"
    assert_status 0
    assert_id "$BB_ID"
}

@test "login with a wrong password fails and stores nothing" {
    local A=$BATS_TEST_TMPDIR/auth.json
    run H login --tls-verify=false -u "$AUTH_USER" -p wrong --authfile "$A" "$REG_AUTH"
    assert_status 125
    assert_output_has "hutch login"
    assert_output_any unauthorized denied
    if [ -e "$A" ]; then
        [ -z "$(authfile_user "$A" "$REG_AUTH")" ] || { echo "credentials stored:" >&2; cat "$A" >&2; return 1; }
    fi
}

@test "login stores the credentials, pull uses them, --get-login, logout removes them" {
    local A=$BATS_TEST_TMPDIR/auth.json
    run H login --tls-verify=false -u "$AUTH_USER" -p "$AUTH_PASS" --authfile "$A" "$REG_AUTH"
    assert_status 0
    assert_output_has "Login Succeeded!"
    assert_equal "$(authfile_user "$A" "$REG_AUTH")" "$AUTH_USER:$AUTH_PASS"
    # credentials are for the user's eyes only
    [ $((8#$(stat -c %a "$A") & 077)) -eq 0 ] || { echo "$A is mode $(stat -c %a "$A")" >&2; return 1; }
    run H login --get-login --authfile "$A" "$REG_AUTH"
    assert_status 0
    assert_equal "$output" "$AUTH_USER"
    run --separate-stderr H pull --tls-verify=false --authfile "$A" "$REG_AUTH/test/bb"
    assert_status 0
    assert_id "$BB_ID"
    run H logout --authfile "$A" "$REG_AUTH"
    assert_status 0
    assert_output_has "Removed login credentials for $REG_AUTH"
    assert_equal "$(authfile_user "$A" "$REG_AUTH")" ""
    STORE=$BATS_TEST_TMPDIR/store2
    run H pull --tls-verify=false --authfile "$A" "$REG_AUTH/test/bb"
    assert_status 125
    assert_output_any unauthorized denied
}

@test "login --password-stdin; logout --all" {
    local A=$BATS_TEST_TMPDIR/auth.json
    run H login --tls-verify=false -u "$AUTH_USER" --password-stdin --authfile "$A" "$REG_AUTH" <<< "$AUTH_PASS"
    assert_status 0
    assert_output_has "Login Succeeded!"
    assert_equal "$(authfile_user "$A" "$REG_AUTH")" "$AUTH_USER:$AUTH_PASS"
    run H logout --all --authfile "$A"
    assert_status 0
    assert_equal "$(authfile_user "$A" "$REG_AUTH")" ""
}

@test "login with no password and stdin not a terminal fails" {
    local A=$BATS_TEST_TMPDIR/auth.json
    run H login --tls-verify=false -u "$AUTH_USER" --authfile "$A" "$REG_AUTH" < /dev/null
    assert_status 125
    assert_output_has "password"
    run H login --tls-verify=false --authfile "$A" "$REG_AUTH" < /dev/null
    assert_status 125
    [ ! -s "$A" ] || [ -z "$(authfile_user "$A" "$REG_AUTH")" ]
    run H login --tls-verify=maybe -u "$AUTH_USER" -p "$AUTH_PASS" --authfile "$A" "$REG_AUTH"
    assert_status 125
    assert_output_has "--tls-verify"
}

@test "the default authfile: \$REGISTRY_AUTH_FILE, else \$XDG_RUNTIME_DIR/containers/auth.json" {
    run env REGISTRY_AUTH_FILE="$BATS_TEST_TMPDIR/env-auth.json" \
        "$HUTCH" --root "$STORE" login --tls-verify=false -u "$AUTH_USER" -p "$AUTH_PASS" "$REG_AUTH"
    assert_status 0
    assert_equal "$(authfile_user "$BATS_TEST_TMPDIR/env-auth.json" "$REG_AUTH")" "$AUTH_USER:$AUTH_PASS"
    [ ! -e "$XDG_RUNTIME_DIR/containers/auth.json" ]
    run --separate-stderr env REGISTRY_AUTH_FILE="$BATS_TEST_TMPDIR/env-auth.json" \
        "$HUTCH" --root "$STORE" pull --tls-verify=false "$REG_AUTH/test/bb"
    assert_status 0
    assert_id "$BB_ID"

    STORE=$BATS_TEST_TMPDIR/store2
    run H login --tls-verify=false -u "$AUTH_USER" -p "$AUTH_PASS" "$REG_AUTH"
    assert_status 0
    assert_equal "$(authfile_user "$XDG_RUNTIME_DIR/containers/auth.json" "$REG_AUTH")" "$AUTH_USER:$AUTH_PASS"
    run --separate-stderr H pull --tls-verify=false "$REG_AUTH/test/bb"
    assert_status 0
    assert_id "$BB_ID"
    run H logout "$REG_AUTH"
    assert_status 0
    assert_equal "$(authfile_user "$XDG_RUNTIME_DIR/containers/auth.json" "$REG_AUTH")" ""
}

@test "credentials are also read from ~/.config/containers/auth.json and ~/.docker/config.json" {
    write_auth "$HOME/.config/containers/auth.json" "$REG_AUTH" "$AUTH_USER:$AUTH_PASS"
    run --separate-stderr H pull --tls-verify=false "$REG_AUTH/test/bb"
    assert_status 0
    assert_id "$BB_ID"
    rm "$HOME/.config/containers/auth.json"
    STORE=$BATS_TEST_TMPDIR/store2
    write_auth "$HOME/.docker/config.json" "$REG_AUTH" "$AUTH_USER:$AUTH_PASS"
    run --separate-stderr H pull --tls-verify=false "$REG_AUTH/test/bb"
    assert_status 0
    assert_id "$BB_ID"
}

@test "push to an htpasswd registry: unauthorized without credentials, works after login" {
    local A=$BATS_TEST_TMPDIR/auth.json R=$REG_AUTH/test/pushed-$BATS_TEST_NUMBER:v1
    run H pull --tls-verify=false --creds "$AUTH_USER:$AUTH_PASS" "$REG_AUTH/test/bb"
    assert_status 0
    run H push --tls-verify=false "$REG_AUTH/test/bb" "$R"
    assert_status 125
    assert_output_any unauthorized denied
    assert_output_has "hutch login"
    run H login --tls-verify=false -u "$AUTH_USER" -p "$AUTH_PASS" --authfile "$A" "$REG_AUTH"
    assert_status 0
    run H push --tls-verify=false --authfile "$A" "$REG_AUTH/test/bb" "$R"
    assert_status 0
    assert_equal "$(reg_config_digest "$R" --creds "$AUTH_USER:$AUTH_PASS")" "$BB_ID"
}

# ---------------------------------------------------------------- bearer tokens

@test "bearer tokens: an anonymous token for a public image (as on Docker Hub)" {
    proxy_start tok "$REG_PLAIN" --bearer anonymous
    run --separate-stderr H pull --tls-verify=false "$PROXY_TOK/test/bb"
    assert_status 0
    assert_id "$BB_ID"
    grep -q '^GET /token?.* -> 200 token issued' "$PROXY_TOK_LOG"
    grep -q "^GET /v2/test/bb/blobs/${BB_LAYER} .*auth=bearer -> 200" "$PROXY_TOK_LOG" || {
        cat "$PROXY_TOK_LOG" >&2
        return 1
    }
}

@test "bearer tokens: the token server wants credentials" {
    local A=$BATS_TEST_TMPDIR/auth.json before
    proxy_start tok "$REG_PLAIN" --bearer "$AUTH_USER:$AUTH_PASS"
    before=$(store_state)
    run H pull --tls-verify=false "$PROXY_TOK/test/bb"
    assert_status 125
    assert_output_any unauthorized denied
    assert_output_has "hutch login"
    assert_untouched "$before"
    run --separate-stderr H pull --tls-verify=false --creds "$AUTH_USER:$AUTH_PASS" "$PROXY_TOK/test/bb"
    assert_status 0
    assert_id "$BB_ID"
    grep -q '^GET /token?.* auth=basic -> 200 token issued scope=.*repository:test/bb:pull' "$PROXY_TOK_LOG" || {
        cat "$PROXY_TOK_LOG" >&2
        return 1
    }
    # login goes through the same dance
    run H login --tls-verify=false -u "$AUTH_USER" -p wrong --authfile "$A" "$PROXY_TOK"
    assert_status 125
    run H login --tls-verify=false -u "$AUTH_USER" -p "$AUTH_PASS" --authfile "$A" "$PROXY_TOK"
    assert_status 0
    assert_output_has "Login Succeeded!"
    STORE=$BATS_TEST_TMPDIR/store2
    run --separate-stderr H pull --tls-verify=false --authfile "$A" "$PROXY_TOK/test/bb"
    assert_status 0
    assert_id "$BB_ID"
}

@test "bearer tokens: push asks for a pull,push token" {
    local R=test/tokpush-$BATS_TEST_NUMBER:v1
    proxy_start tok "$REG_PLAIN" --bearer "$AUTH_USER:$AUTH_PASS"
    run H pull --tls-verify=false "$REG_PLAIN/test/bb"
    assert_status 0
    run H push --tls-verify=false "$REG_PLAIN/test/bb" "$PROXY_TOK/$R"
    assert_status 125
    assert_output_any unauthorized denied
    run H push --tls-verify=false --creds "$AUTH_USER:$AUTH_PASS" "$REG_PLAIN/test/bb" "$PROXY_TOK/$R"
    assert_status 0
    assert_equal "$(reg_config_digest "$REG_PLAIN/$R")" "$BB_ID"
    grep -q "token issued scope=.*repository:test/tokpush-$BATS_TEST_NUMBER:[a-z,]*push" "$PROXY_TOK_LOG" || {
        cat "$PROXY_TOK_LOG" >&2
        return 1
    }
}

# ---------------------------------------------------------------- broken networks

@test "a dropped connection is resumed with a Range request" {
    proxy_start drop "$REG_PLAIN" --drop-after 100000
    run --separate-stderr H pull --tls-verify=false "$PROXY_DROP/test/big"
    assert_status 0
    assert_id "$BIG_ID"
    grep -q 'dropped after 100000 bytes' "$PROXY_DROP_LOG"
    grep -Eq '^GET /v2/test/big/blobs/sha256:[0-9a-f]+ range=bytes=[1-9][0-9]*- .*-> 206' "$PROXY_DROP_LOG" || {
        echo "no resumed (Range) blob request:" >&2
        cat "$PROXY_DROP_LOG" >&2
        return 1
    }
    run --separate-stderr H run --entrypoint "" "$PROXY_DROP/test/big" sh -c 'wc -c < /big; ls /many | wc -l'
    assert_status 0
    assert_equal "$(printf '%s\n' "$output" | tr -d ' ')" "8388608
300"
    assert_empty_dir "$STORE/tmp"
}

@test "a download that keeps breaking fails as truncated and leaves nothing" {
    local before
    run H pull --tls-verify=false "$REG_PLAIN/test/bb"
    assert_status 0
    before=$(store_state)
    proxy_start drop "$REG_PLAIN" --drop-after 4096 --drop-always
    run H pull --tls-verify=false "$PROXY_DROP/test/big"
    assert_status 125
    assert_output_has "truncated"
    assert_untouched "$before"
}

@test "a corrupt blob (one byte flipped) fails with 'does not match' and leaves nothing" {
    local before
    proxy_start flip "$REG_PLAIN" --flip-byte
    before=$(store_state)
    run H pull --tls-verify=false "$PROXY_FLIP/test/bb"
    assert_status 125
    assert_output_has "digest" "does not match"
    assert_untouched "$before"
    # with a layer of the image already in the store
    run H pull --tls-verify=false "$REG_PLAIN/test/bb"
    assert_status 0
    before=$(store_state)
    run H pull --tls-verify=false "$PROXY_FLIP/test/big"
    assert_status 125
    assert_output_has "digest" "does not match"
    assert_untouched "$before"
    grep -q 'flipped byte' "$PROXY_FLIP_LOG"
}

@test "a manifest that is not JSON, or of an unknown media type, is an error" {
    local before
    before=$(store_state)
    proxy_start badjson "$REG_PLAIN" --bad-manifest json
    run H pull --tls-verify=false "$PROXY_BADJSON/test/bb"
    assert_status 125
    assert_output_has "manifest"
    proxy_start badtype "$REG_PLAIN" --bad-manifest mediatype
    run H pull --tls-verify=false "$PROXY_BADTYPE/test/bb"
    assert_status 125
    assert_output_has "manifest"
    assert_untouched "$before"
}

@test "a pull killed with SIGKILL midway, then repeated" {
    local p st
    proxy_start slow "$REG_PLAIN" --slow 1000000
    "$HUTCH" --root "$STORE" pull --tls-verify=false "$PROXY_SLOW/test/big" > "$BATS_TEST_TMPDIR/o1" 2>&1 &
    p=$!
    BGPIDS=("$p")
    # the big layer takes 8 s at this speed: kill it when it is under way
    wait_for grep -q '^GET /v2/test/big/manifests/' "$PROXY_SLOW_LOG"
    sleep 1.5
    is_alive "$p" || { echo "the pull ended before the kill:" >&2; cat "$BATS_TEST_TMPDIR/o1" >&2; return 1; }
    kill -KILL "$p"
    st=0
    wait "$p" 2>/dev/null || st=$?
    BGPIDS=()
    assert_equal "$st" 137
    wait_for no_cmdline ".*--root $STORE .*" || {
        echo "processes of the killed pull remain:" >&2
        pgrep -a -u "$MY_UID" -f -- "--root $STORE" >&2
        return 1
    }
    run H images -q
    assert_equal "$output" ""
    kill -USR1 "$PROXY_SLOW_PID"
    run --separate-stderr H pull --tls-verify=false "$PROXY_SLOW/test/big"
    assert_status 0
    assert_id "$BIG_ID"
    run H images -q
    assert_equal "${#lines[@]}" 1
    assert_equal "$(ls -A "$STORE/layers" | wc -l)" 2
    assert_empty_dir "$STORE/tmp"
    run --separate-stderr H run --entrypoint "" "$PROXY_SLOW/test/big" sh -c 'wc -c < /big'
    assert_equal "$(printf '%s' "$output" | tr -d ' ')" 8388608
}

@test "a disk that fills up midway (ENOSPC): exit 125, the store as before" {
    local small=/var/lib/hutch-test-small before id
    mountpoint -q "$small" && [ -w "$small" ] ||
        skip "no small file system at $small (tests/integration/setup.sh makes one)"
    STORE=$small/store-$BATS_TEST_NUMBER
    # bb (about 3 MiB in the store) fits in the 8 MiB; big's 8 MiB layer not
    run H pull -q --tls-verify=false "$REG_PLAIN/test/bb"
    assert_status 0
    before=$(store_state)
    run H pull --tls-verify=false "$REG_PLAIN/test/big"
    assert_status 125
    assert_output_has "No space left on device"
    assert_untouched "$before"
    for id in $(H images -q); do H rmi -f "$id" > /dev/null; done
    H image prune > /dev/null
    rm -rf "$STORE"
}

@test "push of a blob above 64 MiB goes up in chunks (PATCH), and pulls back the same" {
    local R=$REG_PLAIN/test/chunked-$BATS_TEST_NUMBER:v1 D=$BATS_TEST_TMPDIR/c id n
    mkdir -p "$D/tree"
    head -c 70M /dev/urandom > "$D/tree/blob"
    $MKTAR tar "$D/layer.tar" "tree:$D/tree"
    $MKTAR oci "$D/img.tar" chunky "$D/layer.tar" --config 'Cmd=["/blob"]'
    run H load -i "$D/img.tar"
    assert_status 0
    rm -rf "$D"
    id=${output#Loaded image ID: }
    # an image without a name: pushed by id
    run H push --tls-verify=false "$id" "$R"
    assert_status 0
    n=$(access_count "$REG_PLAIN_DIR" "PATCH /v2/test/chunked-$BATS_TEST_NUMBER/blobs/uploads/[^ ]*")
    [ "$n" -ge 2 ] || { echo "expected 2 or more PATCH requests, saw $n" >&2; return 1; }
    STORE=$BATS_TEST_TMPDIR/store2
    run --separate-stderr H pull --tls-verify=false "$R"
    assert_status 0
    assert_id "$id"
}

@test "two pulls of the same image at once: both succeed, one image" {
    local p1 p2 s1 s2
    proxy_start slow "$REG_PLAIN" --slow 4000000
    "$HUTCH" --root "$STORE" pull --tls-verify=false "$PROXY_SLOW/test/big" > "$BATS_TEST_TMPDIR/o1" 2> "$BATS_TEST_TMPDIR/e1" &
    p1=$!
    "$HUTCH" --root "$STORE" pull --tls-verify=false "$PROXY_SLOW/test/big" > "$BATS_TEST_TMPDIR/o2" 2> "$BATS_TEST_TMPDIR/e2" &
    p2=$!
    BGPIDS=("$p1" "$p2")
    wait_exit "$p1" 50
    s1=$WAIT_STATUS
    wait_exit "$p2" 50
    s2=$WAIT_STATUS
    BGPIDS=()
    [ "$s1" = 0 ] && [ "$s2" = 0 ] || {
        echo "pull statuses: $s1 $s2" >&2
        cat "$BATS_TEST_TMPDIR"/e1 "$BATS_TEST_TMPDIR"/e2 >&2
        return 1
    }
    assert_equal "$(tail -n 1 "$BATS_TEST_TMPDIR/o1")" "$BIG_ID"
    assert_equal "$(tail -n 1 "$BATS_TEST_TMPDIR/o2")" "$BIG_ID"
    run H images -q
    assert_equal "${#lines[@]}" 1
    assert_equal "$(ls -A "$STORE/layers" | wc -l)" 2
    assert_empty_dir "$STORE/tmp"
    run --separate-stderr H run --entrypoint "" "$PROXY_SLOW/test/big" sh -c 'wc -c < /big'
    assert_equal "$(printf '%s' "$output" | tr -d ' ')" 8388608
}

# ---------------------------------------------------------------- push

@test "push then pull: the digests do not change" {
    local R=$REG_PLAIN/test/roundtrip-$BATS_TEST_NUMBER:v1 F=$BATS_TEST_TMPDIR/digest id d
    run H load -i "$BATS_FILE_TMPDIR/bb-oci.tar"
    assert_status 0
    id=$(image_field docker.io/test/bb:latest 'i["Id"]')
    run H push --tls-verify=false --digestfile "$F" docker.io/test/bb:latest "$R"
    assert_status 0
    d=$(cat "$F")
    [[ $d =~ ^sha256:[0-9a-f]{64}$ ]] || { echo "digest file holds '$d'" >&2; return 1; }
    assert_equal "$(reg_manifest_digest "$R")" "$d"
    assert_equal "$(reg_config_digest "$R")" "$id"
    # skopeo checks every blob against its digest
    run reg_skopeo copy -q --src-tls-verify=false "docker://$R" "oci:$BATS_TEST_TMPDIR/copy:x"
    assert_status 0
    STORE=$BATS_TEST_TMPDIR/store2
    run --separate-stderr H pull --tls-verify=false "$R"
    assert_status 0
    assert_id "$id"
    assert_equal "$(image_field "$R" 'i["Digest"]')" "$d"
    run --separate-stderr H run "$R"
    assert_equal "$output" "hello from the registry"
}

@test "push of a pulled image keeps its manifest digest; cross-repository mount" {
    local R=$REG_PLAIN/test/copied-$BATS_TEST_NUMBER F=$BATS_TEST_TMPDIR/digest
    run H pull --tls-verify=false "$REG_PLAIN/test/bb"
    assert_status 0
    run H push --tls-verify=false --digestfile "$F" "$REG_PLAIN/test/bb" "$R:latest"
    assert_status 0
    assert_equal "$(cat "$F")" "$BB_DIGEST"
    assert_equal "$(reg_manifest_digest "$R:latest")" "$BB_DIGEST"
    assert_equal "$(reg_layer_digests "$R:latest")" "$BB_LAYER"
    # the layer came from test/bb of the same registry: mounted, not uploaded
    grep -F "\"POST /v2/test/copied-$BATS_TEST_NUMBER/blobs/uploads/?" "$REG_PLAIN_DIR/registry.log" |
        grep -F "mount=$BB_LAYER" | grep -Eq "from=test(/|%2F)bb[ &]" || {
        echo "no cross-repository mount of $BB_LAYER in the registry's log:" >&2
        grep "copied-$BATS_TEST_NUMBER" "$REG_PLAIN_DIR/registry.log" | grep -o '"[A-Z]* [^"]*"' >&2
        return 1
    }
}

@test "push twice: the second push skips the blobs the registry has" {
    local R=$REG_PLAIN/test/twice-$BATS_TEST_NUMBER:v1 n1 n2
    run H load -i "$BATS_FILE_TMPDIR/bb-oci.tar"
    assert_status 0
    run H push --tls-verify=false docker.io/test/bb:latest "$R"
    assert_status 0
    n1=$(access_count "$REG_PLAIN_DIR" "(POST|PATCH|PUT) /v2/test/twice-$BATS_TEST_NUMBER/blobs/uploads/[^ ]*")
    [ "$n1" -gt 0 ]
    run H push --tls-verify=false docker.io/test/bb:latest "$R"
    assert_status 0
    assert_output_has "skipped"
    n2=$(access_count "$REG_PLAIN_DIR" "(POST|PATCH|PUT) /v2/test/twice-$BATS_TEST_NUMBER/blobs/uploads/[^ ]*")
    assert_equal "$n2" "$n1"
    assert_equal "$(reg_config_digest "$R")" "$BB_ID"
}

@test "push: -q, DEST defaults to the image's name, errors" {
    local R=$REG_PLAIN/test/own-$BATS_TEST_NUMBER:v2
    run H load -i "$BATS_FILE_TMPDIR/bb-oci.tar"
    assert_status 0
    run H tag docker.io/test/bb:latest "$R"
    assert_status 0
    run --separate-stderr H push -q --tls-verify=false "$R"
    assert_status 0
    assert_equal "$stderr" ""
    assert_equal "$(reg_config_digest "$R")" "$BB_ID"
    run H push --tls-verify=false "$REG_PLAIN/test/notinstore:latest"
    assert_status 125
    run H push --tls-verify=maybe "$R"
    assert_status 125
    assert_output_has "--tls-verify"
    # plain HTTP needs --tls-verify=false, HTTPS its CA
    run H push "$R"
    assert_status 125
    assert_output_has "--tls-verify=false"
    run H push docker.io/test/bb:latest "$REG_TLS/test/own-$BATS_TEST_NUMBER:v2"
    assert_status 125
    assert_output_has "TLS" "--tls-verify=false"
    run H push --cert-dir "$REG_TLS_CERTS" docker.io/test/bb:latest "$REG_TLS/test/own-$BATS_TEST_NUMBER:v2"
    assert_status 0
    assert_equal "$(reg_config_digest "$REG_TLS/test/own-$BATS_TEST_NUMBER:v2")" "$BB_ID"
}

# ---------------------------------------------------------------- hutch.conf

@test "short names go through unqualified_search_registries, in order" {
    conf "unqualified_search_registries = $REG_MIRROR, $REG_PLAIN" \
         "insecure_registries = $REG_MIRROR $REG_PLAIN"
    run --separate-stderr H pull test/bb
    assert_status 0
    assert_id "$BB_ID"
    listed "$REG_PLAIN/test/bb" latest || { H images >&2; return 1; }
    run --separate-stderr H pull hutchshort
    assert_status 0
    assert_id "$BB_ID"
    listed "$REG_PLAIN/hutchshort" latest || { H images >&2; return 1; }
    # the first registry that has it wins
    run --separate-stderr H pull test/mirrored
    assert_status 0
    assert_id "$BB2_ID"
    listed "$REG_MIRROR/test/mirrored" latest
    run H pull nosuchshortname
    assert_status 125
    assert_output_has "not found"
    # run resolves the short name in the store first
    run --separate-stderr H run --pull=never hutchshort
    assert_status 0
    assert_equal "$output" "hello from the registry"
}

@test "mirrors are tried first, in order; the registry itself when they lack the image" {
    local dead
    dead=127.0.0.1:$(reg_free_port)
    conf "mirror.$REG_PLAIN = $dead $REG_MIRROR" \
         "insecure_registries = $dead $REG_MIRROR $REG_PLAIN"
    # the mirror has another image under that name: it wins
    run --separate-stderr H pull "$REG_PLAIN/test/mirrored"
    assert_status 0
    assert_id "$BB2_ID"
    listed "$REG_PLAIN/test/mirrored" latest || { H images >&2; return 1; }
    [ "$(access_count "$REG_MIRROR_DIR" "(GET|HEAD) /v2/test/mirrored/manifests/[^ ]*")" -gt 0 ]
    # the mirror lacks test/bb
    run --separate-stderr H pull "$REG_PLAIN/test/bb"
    assert_status 0
    assert_id "$BB_ID"
}

# ---- regressions from the security review

# no_auth_in LOG: every request of a regproxy log came without an
# Authorization header
no_auth_in() {
    if grep -v ' auth=none ' "$1" | grep -q .; then
        echo "requests with credentials in $1:" >&2
        grep -v ' auth=none ' "$1" >&2
        return 1
    fi
}

# mkimage DIR NAME SIZE-KiB...: an OCI layout DIR/oci holding NAME, one
# uncompressed layer per SIZE (a file of that many random KiB each)
mkimage() {
    local d=$1 name=$2 i=0 size layers=()
    shift 2
    mkdir -p "$d"
    for size in "$@"; do
        i=$((i + 1))
        mkdir "$d/t$i"
        head -c "${size}K" /dev/urandom > "$d/t$i/f$i"
        $MKTAR tar "$d/l$i.tar" "tree:$d/t$i"
        layers+=("$d/l$i.tar")
    done
    $MKTAR oci "$d/img.tar" "$name" "${layers[@]}" --config 'Cmd=["/bin/true"]'
    mkdir "$d/oci"
    tar -xf "$d/img.tar" -C "$d/oci"
}

@test "a blob redirected to a host that answers 401: its challenge is ignored, it gets no credentials" {
    local before
    # the storage host: 401 to everything, with a Bearer challenge whose
    # realm is its own /evil
    proxy_start evil "$REG_PLAIN" --evil
    # htpasswd (Basic) registry, and a token service that wants credentials
    proxy_start basic "$REG_AUTH" --redirect-blobs "$PROXY_EVIL"
    proxy_start tok "$REG_PLAIN" --bearer "$AUTH_USER:$AUTH_PASS" --redirect-blobs "$PROXY_EVIL"
    before=$(store_state)
    run H pull --tls-verify=false --creds "$AUTH_USER:$AUTH_PASS" "$PROXY_BASIC/test/bb"
    assert_status 125
    run H pull --tls-verify=false --creds "$AUTH_USER:$AUTH_PASS" "$PROXY_TOK/test/bb"
    assert_status 125
    assert_untouched "$before"
    # the redirects were followed, with the registry's credentials left behind
    grep -q "307 redirected to http://$PROXY_EVIL/v2/test/bb/blobs/" "$PROXY_BASIC_LOG"
    grep -q "307 redirected to http://$PROXY_EVIL/v2/test/bb/blobs/" "$PROXY_TOK_LOG"
    grep -q '^GET /v2/test/bb/blobs/sha256:' "$PROXY_EVIL_LOG" || {
        cat "$PROXY_EVIL_LOG" >&2
        return 1
    }
    no_auth_in "$PROXY_EVIL_LOG"
    # and its token service was not asked at all
    if grep -q '^[A-Z]* /evil' "$PROXY_EVIL_LOG"; then
        echo "hutch went to the redirect target's token service:" >&2
        cat "$PROXY_EVIL_LOG" >&2
        return 1
    fi
}

@test "an upload location on another host gets no credentials" {
    local R=test/via-$BATS_TEST_NUMBER:v1
    run H load -i "$BATS_FILE_TMPDIR/bb-oci.tar"
    assert_status 0
    # a token service: the other host takes the upload without credentials
    proxy_start other "$REG_PLAIN"
    proxy_start tok "$REG_PLAIN" --bearer "$AUTH_USER:$AUTH_PASS" --upload-via "$PROXY_OTHER"
    run H push --tls-verify=false --creds "$AUTH_USER:$AUTH_PASS" docker.io/test/bb:latest "$PROXY_TOK/$R"
    assert_status 0
    assert_equal "$(reg_config_digest "$REG_PLAIN/$R")" "$BB_ID"
    grep -q "upload sent to $PROXY_OTHER" "$PROXY_TOK_LOG"
    grep -Eq "^(PATCH|PUT) /v2/test/via-$BATS_TEST_NUMBER/blobs/uploads/" "$PROXY_OTHER_LOG" || {
        cat "$PROXY_TOK_LOG" "$PROXY_OTHER_LOG" >&2
        return 1
    }
    no_auth_in "$PROXY_OTHER_LOG"
    # htpasswd: the other host (the same registry behind another port) asks
    # for Basic credentials and does not get them; the push fails
    proxy_start other2 "$REG_AUTH"
    proxy_start basic "$REG_AUTH" --upload-via "$PROXY_OTHER2"
    run H push --tls-verify=false --creds "$AUTH_USER:$AUTH_PASS" docker.io/test/bb:latest "$PROXY_BASIC/$R"
    assert_status 125
    grep -q "upload sent to $PROXY_OTHER2" "$PROXY_BASIC_LOG"
    grep -Eq "^(PATCH|PUT) /v2/test/via-$BATS_TEST_NUMBER/blobs/uploads/" "$PROXY_OTHER2_LOG" || {
        cat "$PROXY_BASIC_LOG" "$PROXY_OTHER2_LOG" >&2
        return 1
    }
    no_auth_in "$PROXY_OTHER2_LOG"
}

@test "--creds are for the registry named, not for its mirrors" {
    # the mirror is an htpasswd registry (that has test/bb): it would take
    # the credentials, and serve the image with them
    proxy_start mirror "$REG_AUTH"
    conf "mirror.$REG_PLAIN = $PROXY_MIRROR" "insecure_registries = $PROXY_MIRROR $REG_PLAIN"
    run --separate-stderr H pull --creds "$AUTH_USER:$AUTH_PASS" "$REG_PLAIN/test/bb"
    assert_status 0
    assert_id "$BB_ID"
    grep -Eq '^(GET|HEAD) /v2/test/bb/manifests/' "$PROXY_MIRROR_LOG" || {
        echo "the mirror was not tried:" >&2
        cat "$PROXY_MIRROR_LOG" >&2
        return 1
    }
    no_auth_in "$PROXY_MIRROR_LOG"
    # what is stored for the mirror itself is the mirror's to use
    write_auth "$XDG_RUNTIME_DIR/containers/auth.json" "$PROXY_MIRROR" "$AUTH_USER:$AUTH_PASS"
    : > "$PROXY_MIRROR_LOG"
    STORE=$BATS_TEST_TMPDIR/store2
    run --separate-stderr H pull --creds nobody:nothing "$REG_PLAIN/test/bb"
    assert_status 0
    assert_id "$BB_ID"
    grep -Eq '^GET /v2/test/bb/manifests/[^ ]* .*auth=basic -> 200' "$PROXY_MIRROR_LOG" || {
        echo "the mirror did not serve the image with its own credentials:" >&2
        cat "$PROXY_MIRROR_LOG" >&2
        return 1
    }
}

@test "tokens that expire during a pull of several layers in parallel are fetched again" {
    local D=$BATS_TEST_TMPDIR/img R=test/ttl-$BATS_TEST_NUMBER:v1 id
    # 5 layers, 3 at a time at 200 kB/s: the 4th and 5th start after the
    # token (1 s) has expired, while others are still coming
    mkimage "$D" ttl 300 500 500 300 300
    reg_push "oci:$D/oci:ttl" "$REG_PLAIN/$R" --preserve-digests
    id=$(reg_config_digest "$REG_PLAIN/$R")
    rm -rf "$D"
    proxy_start tok "$REG_PLAIN" --bearer anonymous --token-ttl 1 --slow 200000
    run --separate-stderr timeout 40 "$HUTCH" --root "$STORE" pull --tls-verify=false "$PROXY_TOK/$R"
    assert_status 0
    assert_id "$id"
    grep -q '^GET /v2/test/ttl-[0-9]*/blobs/.* -> 401 bearer challenge (token expired)' "$PROXY_TOK_LOG" || {
        echo "no blob request with an expired token: the test did not test" >&2
        cat "$PROXY_TOK_LOG" >&2
        return 1
    }
    [ "$(grep -c 'token issued' "$PROXY_TOK_LOG")" -ge 2 ]
    assert_equal "$(ls -A "$STORE/layers" | wc -l)" 5
    assert_empty_dir "$STORE/tmp"
}

@test "login to a token service whose /v2/ challenge names a scope" {
    local A=$BATS_TEST_TMPDIR/auth.json
    proxy_start tok "$REG_PLAIN" --bearer "$AUTH_USER:$AUTH_PASS" --v2-scope 'registry:catalog:*'
    run H login --tls-verify=false -u "$AUTH_USER" -p "$AUTH_PASS" --authfile "$A" "$PROXY_TOK"
    assert_status 0
    assert_output_has "Login Succeeded!"
    assert_equal "$(authfile_user "$A" "$PROXY_TOK")" "$AUTH_USER:$AUTH_PASS"
    grep -q 'token issued scope=registry:catalog:\*' "$PROXY_TOK_LOG"
    run H login --tls-verify=false -u "$AUTH_USER" -p wrong --authfile "$BATS_TEST_TMPDIR/a2.json" "$PROXY_TOK"
    assert_status 125
    assert_output_any unauthorized denied
}

@test "a resumed download from a server that ignores Range (200, the whole blob) succeeds" {
    proxy_start norange "$REG_PLAIN" --drop-after 100000 --ignore-range
    run --separate-stderr H pull --tls-verify=false "$PROXY_NORANGE/test/big"
    assert_status 0
    assert_id "$BIG_ID"
    grep -q 'dropped after 100000 bytes' "$PROXY_NORANGE_LOG"
    grep -Eq '^GET /v2/test/big/blobs/sha256:[0-9a-f]+ range=bytes=[1-9][0-9]*- .*-> 200 range ignored' "$PROXY_NORANGE_LOG" || {
        echo "no resumed request answered 200:" >&2
        cat "$PROXY_NORANGE_LOG" >&2
        return 1
    }
    assert_equal "$(ls -A "$STORE/layers" | wc -l)" 2
    assert_empty_dir "$STORE/tmp"
    run --separate-stderr H run --entrypoint "" "$PROXY_NORANGE/test/big" sh -c 'wc -c < /big; ls /many | wc -l'
    assert_status 0
    assert_equal "$(printf '%s\n' "$output" | tr -d ' ')" "8388608
300"
}

@test "a wrong diff_id for the second layer: 'does not match', and no layer is kept" {
    local D=$BATS_TEST_TMPDIR/img R=$REG_PLAIN/test/lie-$BATS_TEST_NUMBER:v1 before
    mkimage "$D" lie 16 16 16
    # layer 2 claims to be layer 3
    reg_set_diff_id "$D/oci" lie 1 "sha256:$(sha256sum < "$D/l3.tar" | cut -d' ' -f1)"
    reg_push "oci:$D/oci:lie" "$R" --preserve-digests
    rm -rf "$D"
    before=$(store_state)
    run H pull --tls-verify=false "$R"
    assert_status 125
    assert_output_has "does not match"
    assert_untouched "$before"
    assert_empty_dir "$STORE/layers"
}

@test "pull and push --creds USER without a password, stdin not a terminal: exit 125, 'no password'" {
    local n
    n=$(access_count "$REG_PLAIN_DIR" "(GET|HEAD) /v2/test/bb/manifests/[^ ]*")
    run H pull --tls-verify=false --creds "$AUTH_USER" "$REG_PLAIN/test/bb" < /dev/null
    assert_status 125
    assert_output_has "no password"
    # nothing was asked of the registry
    assert_equal "$(access_count "$REG_PLAIN_DIR" "(GET|HEAD) /v2/test/bb/manifests/[^ ]*")" "$n"
    run H images -q
    assert_equal "$output" ""
    run H load -i "$BATS_FILE_TMPDIR/bb-oci.tar"
    assert_status 0
    run H push --tls-verify=false --creds "$AUTH_USER" docker.io/test/bb:latest \
        "$REG_PLAIN/test/nopass-$BATS_TEST_NUMBER:v1" < /dev/null
    assert_status 125
    assert_output_has "no password"
}

@test "a registry's error message with terminal escape sequences is shown without them" {
    proxy_start ansi "$REG_PLAIN" --bad-manifest ansi
    run --separate-stderr H pull --tls-verify=false "$PROXY_ANSI/test/bb"
    assert_status 125
    # the message is there, its control characters are not
    printf '%s\n' "$stderr" | grep -q 'not found' || { printf '%s\n' "$stderr" >&2; return 1; }
    printf '%s\n' "$stderr" | grep -q 'red' || { printf '%s\n' "$stderr" >&2; return 1; }
    if printf '%s%s' "$stderr" "$output" | grep -q $'[\e\a\r]'; then
        echo "control characters reached the terminal:" >&2
        printf '%s%s' "$stderr" "$output" | od -c | head -20 >&2
        return 1
    fi
}
