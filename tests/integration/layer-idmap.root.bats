#!/usr/bin/env bats
# Layers unpacked while the user had no subordinate range (every file
# became root's), or with a range that changed since, are unpacked again
# from their blobs when the user's mapping changes, with one line that says
# so (issue 14).
#
# Run as root by tests/integration/run, which holds the suite's lock: root
# changes /etc/subuid and /etc/subgid between two hutch commands, as an
# administrator would, and puts them back byte for byte in teardown, even
# when a test fails.  hutch itself always runs unprivileged, as GRANT_USER
# (hutchgrant, which has no range of its own), with a clean environment.

load helpers
load registry

MKTAR="python3 $BATS_TEST_DIRNAME/mktar.py"

setup_file() {
    [ "$(id -u)" = 0 ] || skip "these tests change /etc/subuid: tests/integration/run runs them as root"
    : "${GRANT_USER:?run through tests/integration/run}" "${GRANT_DIR:?}" "${BASE_PATH:?}"
    export REG_WORK=$BATS_FILE_TMPDIR
}

setup() {
    [ "$(id -u)" = 0 ] || skip "these tests change /etc/subuid: tests/integration/run runs them as root"
    SAVED=$BATS_TEST_TMPDIR/saved
    mkdir "$SAVED"
    cp -p /etc/subuid /etc/subgid "$SAVED/"
    # the user's own directory for this test, where its store goes
    W=$GRANT_DIR/t$BATS_TEST_NUMBER
    rm -rf "$W"
    mkdir -m 0755 "$W"
    chown "$GRANT_USER:" "$W"
    STORE=$W/store
    BGPIDS=()
    # no range to begin with, whatever a killed run left
    drop_range
}

teardown() {
    local f rc=0
    kill_bgpids
    reg_stop_all
    for f in subuid subgid; do
        cp -p "$SAVED/$f" "/etc/$f"
        cmp -s "$SAVED/$f" "/etc/$f" || { echo "TEARDOWN: /etc/$f not restored" >&2; rc=1; }
    done
    # as root: the store may hold files of ids that are no longer the user's
    rm -rf "$W"
    return "$rc"
}

H() { U "$HUTCH" --root "$STORE" "$@"; }

# free_start [FROM]: the first start from FROM (500000) on, in steps of
# 100000, of 65536 ids that no line of /etc/subuid or /etc/subgid meets
free_start() {
    awk -F: -v n=65536 -v from="${1:-500000}" '
        NF >= 3 && $2 ~ /^[0-9]+$/ && $3 ~ /^[0-9]+$/ { s[++k] = $2; c[k] = $3 }
        END {
            for (start = from; ; start += 100000) {
                ok = 1
                for (i = 1; i <= k; i++)
                    if (s[i] < start + n && start < s[i] + c[i]) ok = 0
                if (ok) { print start; exit }
            }
        }' /etc/subuid /etc/subgid
}

# grant [START]: what an administrator does, `usermod --add-subuids ...
# --add-subgids ...`, for 65536 ids (at a free START by default); the start
# goes to GRANTED
grant() {
    GRANTED=${1:-$(free_start)}
    usermod --add-subuids "$GRANTED-$((GRANTED + 65535))" \
        --add-subgids "$GRANTED-$((GRANTED + 65535))" "$GRANT_USER"
}

# drop_range: the user's lines go from /etc/subuid and /etc/subgid
drop_range() {
    local uid
    uid=$(id -u "$GRANT_USER")
    sed -i -e "/^$GRANT_USER:/d" -e "/^$uid:/d" /etc/subuid /etc/subgid
}

# owned_tar OUT: the busybox rootfs, plus /d (a directory of uid 42, gid
# 42) holding /d/f, and /f of uid 42
owned_tar() {
    $MKTAR tar "$1" "tree:$ROOTFS" owner:42:42 dir:d file:d/f:hello file:f:hello
    chmod 0644 "$1"
}

# again_lines: how many lines of $stderr say that layers are unpacked again
again_lines() { printf '%s\n' "$stderr" | grep -c 'again' || true; }

assert_again() {
    if [ "$(again_lines)" != 1 ] || ! printf '%s\n' "$stderr" | grep -q -- "$1"; then
        echo "expected one line with \"$1\" on stderr; stderr:" >&2
        printf '%s\n' "$stderr" >&2
        return 1
    fi
}

assert_no_again() {
    if [ "$(again_lines)" != 0 ]; then
        echo "unexpected on stderr: $stderr" >&2
        return 1
    fi
}

assert_empty_dir() {
    [ ! -e "$1" ] || [ -z "$(ls -A "$1")" ] || {
        echo "expected $1 to be empty; it holds: $(ls -A "$1")" >&2
        return 1
    }
}

SQUASHED_LINE="unpacking a layer again, now with your subordinate ids: it was unpacked while you had none, which made all its files root's"

@test "a range granted: layers imported without one are unpacked again, once, and files get their owners" {
    owned_tar "$W/o.tar"
    run --separate-stderr H import "$W/o.tar" owned
    assert_status 0
    run --separate-stderr H run --network none owned stat -c '%u %g' /f /d/f
    assert_status 0
    # squashed on disk (what this is about): the files are the user's, and
    # root emulation shows the owners recorded beside them
    assert_equal "$output" "42 42
42 42"
    [ "$(stat -c %u "$(ls -d "$STORE"/layers/*/diff/f)")" = "$(id -u "$GRANT_USER")" ]
    assert_no_again
    grep -qx 'owners squashed' "$STORE"/layers/*/idmap

    grant
    run --separate-stderr H run --network none owned stat -c '%u %g' /f /d/f
    assert_status 0
    assert_equal "$output" "42 42
42 42"
    assert_again "^hutch: image docker.io/library/owned:latest: $SQUASHED_LINE\$"
    assert_equal "$(stat -c '%u %g' "$STORE"/layers/*/diff/d/f)" "$((GRANTED + 41)) $((GRANTED + 41))"
    grep -qx 'owners kept' "$STORE"/layers/*/idmap
    grep -qx "uid 1 $GRANTED 65536" "$STORE"/layers/*/idmap
    assert_empty_dir "$STORE/superseded"
    assert_empty_dir "$STORE/tmp"

    # the record holds: nothing more to do
    run --separate-stderr H run --network none owned stat -c '%u %g' /f
    assert_status 0
    assert_equal "$output" "42 42"
    assert_equal "$stderr" ""
}

@test "a range granted: a fresh import of the same tarball unpacks the layer again instead of reusing it" {
    owned_tar "$W/o.tar"
    run H import "$W/o.tar" owned
    assert_status 0
    grant
    run --separate-stderr H import "$W/o.tar" owned2
    assert_status 0
    assert_again "^hutch: image docker.io/library/owned2:latest: $SQUASHED_LINE\$"
    run --separate-stderr H run --network none owned stat -c %u /d/f
    assert_status 0
    assert_equal "$output" 42
    assert_no_again
}

@test "a range granted: a pull unpacks the layers pulled without one again" {
    reg_need_tools
    local L=$BATS_TEST_TMPDIR/img.tar
    $MKTAR tar "$BATS_TEST_TMPDIR/l1.tar" "tree:$ROOTFS"
    $MKTAR tar "$BATS_TEST_TMPDIR/l2.tar" owner:42:42 dir:d file:d/f:hello
    $MKTAR oci "$L" pulled:1 "$BATS_TEST_TMPDIR/l1.tar" "$BATS_TEST_TMPDIR/l2.tar"
    reg_start grant
    reg_push "oci-archive:$L" "$REG_GRANT/test/pulled:1"
    run --separate-stderr H pull -q --tls-verify=false "$REG_GRANT/test/pulled:1"
    assert_status 0
    # unpacked as it downloaded, and recorded so
    assert_equal "$(grep -lx 'owners squashed' "$STORE"/layers/*/idmap | wc -l)" 2

    grant
    run --separate-stderr H pull -q --tls-verify=false "$REG_GRANT/test/pulled:1"
    assert_status 0
    # the line names the image and how many of its layers
    assert_again "^hutch: image $REG_GRANT/test/pulled:1: unpacking 2 layers again, now with your subordinate ids: they were unpacked while you had none, which made all their files root's\$"
    run --separate-stderr H run --network none "$REG_GRANT/test/pulled:1" stat -c '%u %g' /d/f
    assert_status 0
    assert_equal "$output" "42 42"
    assert_no_again
}

@test "a range granted: two hutch commands at once both see the layer unpacked again, and agree" {
    owned_tar "$W/o.tar"
    run H import "$W/o.tar" owned
    assert_status 0
    grant
    H run --network none owned stat -c %u /d/f > "$W/a.out" 2> "$W/a.err" &
    BGPIDS+=($!)
    H run --network none owned stat -c %u /d/f > "$W/b.out" 2> "$W/b.err" &
    BGPIDS+=($!)
    wait_exit "${BGPIDS[0]}" 30
    assert_equal "$WAIT_STATUS" 0
    wait_exit "${BGPIDS[1]}" 30
    assert_equal "$WAIT_STATUS" 0
    BGPIDS=()
    assert_equal "$(cat "$W/a.out")" 42
    assert_equal "$(cat "$W/b.out")" 42
    # one layer, with the new record; what the second one unpacked is gone
    assert_equal "$(ls -A "$STORE/layers" | wc -l)" 1
    grep -qx 'owners kept' "$STORE"/layers/*/idmap
    assert_empty_dir "$STORE/tmp"
    run --separate-stderr H image prune
    assert_status 0
    assert_empty_dir "$STORE/superseded"
    run --separate-stderr H run --network none owned stat -c %u /d/f
    assert_equal "$output" 42
    assert_equal "$stderr" ""
}

@test "a range that moved: layers are unpacked again; an old copy the user can no longer remove is named, with the fix" {
    local first
    grant
    first=$GRANTED
    owned_tar "$W/o.tar"
    run H import "$W/o.tar" owned
    assert_status 0
    assert_equal "$(stat -c %u "$STORE"/layers/*/diff/d/f)" "$((first + 41))"

    # the administrator gives the user another block instead
    drop_range
    grant "$(free_start $((first + 100000)))"
    run --separate-stderr H run --network none owned stat -c '%u %g' /d/f
    assert_status 0
    assert_equal "$output" "42 42"
    printf '%s\n' "$stderr" | grep -q "^hutch: image docker.io/library/owned:latest: unpacking a layer again: it was unpacked with subordinate ids that no longer stand for the same ids (/etc/subuid or /etc/subgid changed)\$" || {
        echo "stderr: $stderr" >&2
        return 1
    }
    assert_equal "$(stat -c %u "$STORE"/layers/*/diff/d/f)" "$((GRANTED + 41))"
    # /d of the old copy belongs to an id the user no longer has
    printf '%s\n' "$stderr" | grep -q "^hutch: warning: cannot remove the old copy of a layer that was unpacked again: .*ask an administrator to run \`rm -rf $STORE/superseded/" || {
        echo "stderr: $stderr" >&2
        return 1
    }
    assert_equal "$(printf '%s\n' "$stderr" | grep -c .)" 2
    assert_empty_dir "$STORE/tmp"
}

@test "a container started before the grant keeps its layer; the old copy goes once it has ended" {
    owned_tar "$W/o.tar"
    run H import "$W/o.tar" owned
    assert_status 0
    H run --network none owned sh -c 'sleep 4; stat -c %u /d/f; cat /d/f' > "$W/bg.out" 2> "$W/bg.err" &
    BGPIDS+=($!)
    wait_for compgen -G "$STORE/containers/*/lock" > /dev/null
    sleep 0.5

    grant
    run --separate-stderr H run --network none owned stat -c %u /d/f
    assert_status 0
    assert_equal "$output" 42
    assert_again "$SQUASHED_LINE"
    # kept for the container that may be reading it
    assert_equal "$(ls -A "$STORE/superseded" | wc -l)" 1

    wait_exit "${BGPIDS[0]}" 20
    assert_equal "$WAIT_STATUS" 0
    # squashed for it, owners recorded: root emulation shows 42
    assert_equal "$(cat "$W/bg.out")" "42
hello"
    BGPIDS=()
    run --separate-stderr H image prune
    assert_status 0
    assert_empty_dir "$STORE/superseded"
}

@test "a range granted, but the layer's blob is gone: an error that names the fix" {
    owned_tar "$W/o.tar"
    run H import "$W/o.tar" owned
    assert_status 0
    # the layer's blob is the largest one (the others: config, manifest)
    U rm "$STORE/blobs/sha256/$(ls -S "$STORE/blobs/sha256" | head -n 1)"
    grant
    run --separate-stderr H run --network none owned true
    assert_status 125
    [[ "$stderr" == *"must be unpacked again, but its blob"*"is not in the store; remove the image with \`hutch rmi docker.io/library/owned:latest\` and pull, load or import it again"* ]] || {
        echo "stderr: $stderr" >&2
        return 1
    }
    assert_empty_dir "$STORE/tmp"
}

@test "a range granted, but the layer's blob was changed: an error that names the fix" {
    owned_tar "$W/o.tar"
    run H import "$W/o.tar" owned
    assert_status 0
    $MKTAR tar "$W/other.tar" "tree:$ROOTFS" file:f:other
    U cp "$W/other.tar" "$STORE/blobs/sha256/$(ls -S "$STORE/blobs/sha256" | head -n 1)"
    grant
    run --separate-stderr H run --network none owned true
    assert_status 125
    [[ "$stderr" == *"the blob in the store is damaged; remove the image with \`hutch rmi docker.io/library/owned:latest\` and pull, load or import it again"* ]] || {
        echo "stderr: $stderr" >&2
        return 1
    }
    # the layer stays as it was, and nothing is left over
    grep -qx 'owners squashed' "$STORE"/layers/*/idmap
    assert_empty_dir "$STORE/tmp"
    assert_empty_dir "$STORE/superseded"
}
