# Shared set-up of the escape suite (tests/security): `load helpers` (from
# tests/integration, copied beside this file by the runner), then `load
# common`.
#
# Each .bats file builds, in setup_file, the helper programs it needs
# (NAME.c in this directory, compiled static so that they run in a busybox
# image) into a private copy of the busybox rootfs:
#
#   sec_setup_file NAME...  build NAME... into $SROOTFS/bin (the file's
#                           rootfs) and $SBIN (the same programs for the
#                           host's side); SEC_MISSING says what failed
#   need_helpers            fail the test, saying why, when a helper is
#                           missing (tests/integration/setup.sh installs
#                           the compiler: its absence is a broken set-up,
#                           not a reason to skip)
#   sec_rootfs              a copy of $SROOTFS for a test that changes it;
#                           prints its path
#   hrun ARGS...            "$HUTCH" --root "$BATS_TEST_TMPDIR/store" run ARGS
#                           (the seccomp cache and anything else hutch
#                           keeps go to the test's own store)
#
# A test that tries a way out states what it attempts, runs it, and then
# checks the host: the attempt's own report is never the only evidence.

# sec_setup_file NAME...
sec_setup_file() {
    local D=$BATS_FILE_TMPDIR name
    export SROOTFS=$D/rootfs SBIN=$D/bin SEC_MISSING=
    cp -a "$ROOTFS" "$SROOTFS"
    mkdir -p "$SBIN"
    for name in "$@"; do
        if [ ! -f "$BATS_TEST_DIRNAME/$name.c" ]; then
            SEC_MISSING+="$name.c is missing (tests/integration/run copies tests/security/*.c beside the .bats files); "
        elif ! command -v cc >/dev/null; then
            SEC_MISSING+="no C compiler (cc) to build $name.c (apt install gcc libc6-dev); "
            break
        elif ! cc -static -O2 -o "$SBIN/$name" "$BATS_TEST_DIRNAME/$name.c" 2> "$D/cc.err"; then
            SEC_MISSING+="cc -static $name.c failed: $(head -c 300 "$D/cc.err"); "
        else
            cp "$SBIN/$name" "$SROOTFS/bin/$name"
        fi
    done
}

need_helpers() {
    if [ -n "${SEC_MISSING:-}" ]; then
        echo "helper programs missing: $SEC_MISSING" >&2
        return 1
    fi
}

sec_rootfs() {
    local d=$BATS_TEST_TMPDIR/rootfs
    [ -d "$d" ] || cp -a "$SROOTFS" "$d"
    echo "$d"
}

hrun() {
    "$HUTCH" --root "$BATS_TEST_TMPDIR/store" run "$@"
}

# assert_no_line REGEX: no line of $output matches REGEX (extended)
assert_no_line() {
    if printf '%s\n' "$output" | grep -E -q -- "$1"; then
        echo "output has a line matching /$1/:" >&2
        printf '%s\n' "$output" >&2
        return 1
    fi
}

# assert_line_is LINE: $output has exactly this line
assert_line_is() {
    if ! printf '%s\n' "$output" | grep -F -x -q -- "$1"; then
        echo "output lacks the line \"$1\":" >&2
        printf '%s\n' "$output" >&2
        return 1
    fi
}

# tree_state DIR: a listing of DIR (names, types, sizes, modes, targets of
# links) to compare before and after an attempt
tree_state() {
    (cd "$1" && find . -printf '%p %y %s %m %l\n' | sort)
}
