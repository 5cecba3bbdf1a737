#!/usr/bin/env bats
# hutch pull on a terminal: progress bars redrawn in place.  (The plain
# lines for a pipe are checked in registry.bats.)

load helpers
load registry

setup_file() {
    reg_need_tools
    command -v script >/dev/null || skip "script (util-linux) is not installed"
    reg_start plain
    local D=$BATS_FILE_TMPDIR
    tar -C "$ROOTFS" -czf "$D/rootfs.tar.gz" .
    "$HUTCH" --root "$D/src" import "$D/rootfs.tar.gz" tty/bb:1 >/dev/null
    "$HUTCH" --root "$D/src" push -q --tls-verify=false tty/bb:1 "$REG_PLAIN/tty/bb:1"
}

# The stores' layers hold files of subordinate ids, which bats cannot
# remove with its temporary directories: hutch removes them.
teardown() {
    empty_store "$BATS_TEST_TMPDIR/store"
    empty_store "$BATS_TEST_TMPDIR/store2"
}

teardown_file() {
    reg_stop_all
    empty_store "$BATS_FILE_TMPDIR/src"
}

@test "pull on a terminal draws a bar per layer in place; a pipe gets plain lines" {
    local log=$BATS_TEST_TMPDIR/typescript
    # script(1) gives the pull a pseudo-terminal and records what it wrote
    run script -q -e -c "'$HUTCH' --root '$BATS_TEST_TMPDIR/store' pull --tls-verify=false '$REG_PLAIN/tty/bb:1'" "$log"
    assert_status 0
    grep -q $'\033\\[K' "$log" || { echo "no line redrawing in:" >&2; cat -v "$log" >&2; return 1; }
    grep -q 'Copying blob [0-9a-f]\{12\}' "$log"
    grep -q 'done' "$log"
    # the same pull into a pipe: no escape sequences at all
    run --separate-stderr "$HUTCH" --root "$BATS_TEST_TMPDIR/store2" pull --tls-verify=false "$REG_PLAIN/tty/bb:1"
    assert_status 0
    if printf '%s' "$stderr" | grep -q $'\033'; then
        echo "escape sequences in the piped output:" >&2
        printf '%s\n' "$stderr" | cat -v >&2
        return 1
    fi
    printf '%s\n' "$stderr" | grep -q '^Copying blob [0-9a-f]\{12\} done'
}
