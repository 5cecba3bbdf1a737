#!/usr/bin/env bats
# hutch run options: --read-only, -e, --env-file, -w, -u, --tmpfs, -v.

load helpers

@test "default environment with --rootfs" {
    FOO_FROM_HOST=leak run "$HUTCH" run --hostname envhost --rootfs "$ROOTFS" env
    assert_status 0
    assert_output_has "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        "HOSTNAME=envhost" "HOME=/root" "container=hutch"
    [[ "$output" != *FOO_FROM_HOST* ]]
}

@test "--read-only: writes to the root filesystem fail" {
    local r
    r=$(fresh_rootfs)
    run "$HUTCH" run --read-only --rootfs "$r" touch /x
    [ "$status" -ne 0 ]
    [ "$status" -ne 125 ]
    assert_output_has "Read-only"
    [ ! -e "$r/x" ]
}

@test "without --read-only: a write lands in the rootfs directory on the host" {
    local r
    r=$(fresh_rootfs)
    run "$HUTCH" run --rootfs "$r" sh -c 'echo written > /newfile'
    assert_status 0
    assert_equal "$(cat "$r/newfile")" written
    assert_equal "$(stat -c %u "$r/newfile")" "$MY_UID"
}

@test "--read-only: volumes and --tmpfs stay writable" {
    local r vol="$BATS_TEST_TMPDIR/vol"
    r=$(fresh_rootfs)
    mkdir "$vol"
    run "$HUTCH" run --read-only --tmpfs /scratch -v "$vol:/vol" --rootfs "$r" \
        sh -c 'touch /scratch/a && touch /vol/b && echo ok'
    assert_status 0
    assert_equal "$output" ok
    [ -e "$vol/b" ]
}

@test "-e KEY=VALUE sets a variable" {
    run "$HUTCH" run -e FOO=bar -e 'SPACED=a b  c' --env EMPTY= --rootfs "$ROOTFS" \
        sh -c 'echo "$FOO|$SPACED|${EMPTY-unset}|"'
    assert_status 0
    assert_equal "$output" "bar|a b  c||"
}

@test "-e KEY copies the host's value; skipped when unset on the host" {
    unset HUTCH_TEST_UNSET
    FOO=from-host run "$HUTCH" run -e FOO -e HUTCH_TEST_UNSET --rootfs "$ROOTFS" \
        sh -c 'echo "$FOO"; echo "${HUTCH_TEST_UNSET-unset}"'
    assert_status 0
    assert_equal "${lines[0]}" from-host
    assert_equal "${lines[1]}" unset
}

@test "-e overrides a default variable" {
    run "$HUTCH" run -e PATH=/bin -e HOME=/tmp --rootfs "$ROOTFS" sh -c 'echo "$PATH $HOME"'
    assert_status 0
    assert_equal "$output" "/bin /tmp"
}

@test "--env-file reads KEY=VALUE lines, skipping blanks and comments" {
    local f="$BATS_TEST_TMPDIR/env"
    printf '# a comment\n\nA=1\nB=two words\n  # indented comment\nC=x=y\n' > "$f"
    run "$HUTCH" run --env-file "$f" --rootfs "$ROOTFS" sh -c 'echo "$A|$B|$C"; env | grep -c comment'
    assert_equal "${lines[0]}" "1|two words|x=y"
    assert_equal "${lines[1]}" 0
}

@test "--env-file that does not exist is an error" {
    run "$HUTCH" run --env-file "$BATS_TEST_TMPDIR/nope" --rootfs "$ROOTFS" true
    assert_status 125
}

@test "-w sets the working directory, creating it" {
    local r
    r=$(fresh_rootfs)
    run "$HUTCH" run -w /tmp/x/y --rootfs "$r" pwd
    assert_status 0
    assert_equal "$output" /tmp/x/y
    [ -d "$r/tmp/x/y" ]
    run "$HUTCH" run --rootfs "$r" pwd
    assert_status 0
    assert_equal "$output" /
}

@test "-u NAME takes uid, gid, supplementary groups and HOME from the rootfs" {
    run "$HUTCH" run -u alice --rootfs "$ROOTFS" sh -c 'id -u; id -g; id -G; echo "$HOME"'
    assert_status 0
    assert_equal "${lines[0]}" 1000
    assert_equal "${lines[1]}" 1000
    [[ " ${lines[2]} " == *" 50 "* ]]
    [[ " ${lines[2]} " == *" 1000 "* ]]
    assert_equal "${lines[3]}" /home/alice
}

@test "-u UID:GID sets both numerically" {
    run "$HUTCH" run -u 1001:50 --rootfs "$ROOTFS" sh -c 'id -u; id -g'
    assert_status 0
    assert_equal "${lines[0]}" 1001
    assert_equal "${lines[1]}" 50
}

@test "-u NAME:GROUP uses names from the rootfs" {
    run "$HUTCH" run -u bob:staff --rootfs "$ROOTFS" sh -c 'id -un; id -g'
    assert_status 0
    assert_equal "${lines[0]}" bob
    assert_equal "${lines[1]}" 50
}

@test "-u with a uid not in /etc/passwd still works" {
    run "$HUTCH" run -u 4321 --rootfs "$ROOTFS" id -u
    assert_status 0
    assert_equal "$output" 4321
}

@test "--tmpfs mounts a tmpfs" {
    run "$HUTCH" run --tmpfs /data --rootfs "$ROOTFS" sh -c 'grep " /data " /proc/mounts; echo x > /data/f && cat /data/f'
    assert_status 0
    [[ "${lines[0]}" == *" /data tmpfs "* ]]
    assert_equal "${lines[1]}" x
}

@test "--tmpfs with options" {
    run "$HUTCH" run --tmpfs /data:size=1m,mode=1777 --rootfs "$ROOTFS" sh -c 'grep " /data " /proc/mounts; stat -c %a /data'
    assert_status 0
    [[ "${lines[0]}" == *"size=1024k"* ]]
    assert_equal "${lines[1]}" 1777
}

@test "-v binds a host directory, read-write and read-only" {
    local vol="$BATS_TEST_TMPDIR/vol"
    mkdir "$vol"
    echo from-host > "$vol/in"
    run "$HUTCH" run -v "$vol:/vol" --rootfs "$ROOTFS" sh -c 'cat /vol/in; echo from-container > /vol/out'
    assert_status 0
    assert_equal "$output" from-host
    assert_equal "$(cat "$vol/out")" from-container

    run "$HUTCH" run -v "$vol:/vol:ro" --rootfs "$ROOTFS" touch /vol/nope
    [ "$status" -ne 0 ]
    [ ! -e "$vol/nope" ]
}

@test "-v with a relative source starting with ." {
    mkdir "$BATS_TEST_TMPDIR/rel"
    echo rel > "$BATS_TEST_TMPDIR/rel/f"
    cd "$BATS_TEST_TMPDIR"
    run "$HUTCH" run -v ./rel:/rel --rootfs "$ROOTFS" cat /rel/f
    assert_status 0
    assert_equal "$output" rel
}

@test "-v destination symlink cannot escape the rootfs" {
    local r vol="$BATS_TEST_TMPDIR/vol" outside="$BATS_TEST_TMPDIR/outside"
    r=$(fresh_rootfs)
    mkdir "$vol" "$outside"
    echo marker > "$vol/f"
    ln -s "$outside/sub" "$r/escape"
    run "$HUTCH" run -v "$vol:/escape" --rootfs "$r" true
    # whatever hutch does (refuse, or resolve /escape inside the rootfs), it
    # must not create the mount point outside the rootfs
    [ -z "$(ls -A "$outside")" ]
}

@test "long options are taken by their whole name only (no getopt prefixes): run, images, pull" {
    local a
    # --priv would have been --privileged, --pids=5 --pids-limit 5
    for a in --priv --pids=5 --tls-ver; do
        run "$HUTCH" run "$a" --rootfs "$ROOTFS" true
        assert_status 125
        assert_output_has "unknown option \`$a\`"
    done
    run "$HUTCH" run --pids 5 --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "unknown option \`--pids\`"
    run "$HUTCH" images --quie
    assert_status 125
    assert_output_has "\`--quie\`"
    run "$HUTCH" pull --qu busybox
    assert_status 125
    assert_output_has "\`--qu\`"
    # the whole names still work
    run "$HUTCH" run --privileged --read-only --rootfs "$ROOTFS" true
    assert_status 0
}

@test "options after the operands, where docker takes them (pull, rmi, image rm, hutch-oci run), also after global options" {
    local S=$BATS_TEST_TMPDIR/store
    # -f after the image: an option, not an image named -f
    run "$HUTCH" --root "$S" rmi nosuchimage -f
    assert_status 125
    assert_output_has "\`nosuchimage\` is not in the store"
    [[ $output != *"\`-f\`"* ]]
    run "$HUTCH" --root "$S" image rm nosuchimage -f
    assert_status 125
    assert_output_has "\`nosuchimage\` is not in the store"
    [[ $output != *"\`-f\`"* ]]
    # -q after the image (127.0.0.1:9: nothing listens there)
    run "$HUTCH" --root "$S" pull 127.0.0.1:9/x/y -q --tls-verify=false
    assert_status 125
    assert_output_has "127.0.0.1"
    [[ $output != *"expected one IMAGE"* ]]
    run "$HUTCH_OCI" run myid --bundle "$BATS_TEST_TMPDIR/nobundle"
    assert_status 1
    assert_output_has "$BATS_TEST_TMPDIR/nobundle/config.json"
    # run stops at its first operand: the rest is the command's
    run "$HUTCH" run --rootfs "$ROOTFS" ls -d /
    assert_status 0
    assert_equal "$output" /
}
