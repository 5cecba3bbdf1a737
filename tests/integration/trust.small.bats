#!/usr/bin/env bats
# As hutchsmall, whose fallback runtime directory /tmp/hutch-UID another
# user made first (setup.sh: hutchnosub's, mode 0777): hutch must not use it.

load helpers

@test "a squatted /tmp/hutch-UID runtime directory: hutch info says it is not safe, and whose it is" {
    local d=/tmp/hutch-$(id -u)
    [ "$(stat -c %U "$d" 2>/dev/null)" = hutchnosub ] || skip "setup.sh did not squat $d"
    run env -u XDG_RUNTIME_DIR "$HUTCH" info
    assert_output_has "runtime dir: $d" "problem: the runtime directory \`$d\` is not safe: \`$d\` belongs to hutchnosub"
}
