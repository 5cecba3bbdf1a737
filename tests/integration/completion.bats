#!/usr/bin/env bats
# Shell completion: `hutch completion bash|zsh|fish`, run in the real shells,
# and made from the same tables as --help (every option --help lists is
# completed, in every command).

load helpers

setup() {
    BIN=$BATS_TEST_TMPDIR/bin
    mkdir -p "$BIN"
    # the scripts call `hutch` by name, as an installed one is
    ln -s "$HUTCH" "$BIN/hutch"
    export PATH=$BIN:$PATH
    # the default store, for the image names the scripts offer
    export XDG_DATA_HOME=$BATS_TEST_TMPDIR/data
    hutch completion bash > "$BATS_TEST_TMPDIR/hutch.bash"
}

# bash_complete WORD...: what bash's completion offers for the words (the
# last one is completed), one per line
bash_complete() {
    bash -c 'source "$1"; shift
             COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
             _hutch; printf "%s\n" "${COMPREPLY[@]}"' _ "$BATS_TEST_TMPDIR/hutch.bash" "$@"
}

# commands: hutch's commands and the subcommands of image and volume, as
# --help lists them
commands() {
    local c
    hutch --help | awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }'
    for c in image volume; do
        hutch $c --help | awk -v c=$c '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print c " " $1 }'
    done
}

# help_options CMD...: the long options CMD's --help lists
help_options() {
    hutch "$@" --help | awk '/^Options:/ { on = 1; next } on && /^$/ { exit } on' |
        grep -o -- '--[a-z][a-z-]*' | sort -u
}

@test "bash: commands, options, values and files are completed" {
    run bash_complete hutch im
    [ "$output" = "$(printf 'images\nimage\nimport')" ]
    run bash_complete hutch run --priv
    [ "$output" = --privileged ]
    run bash_complete hutch run --network ''
    [ "$output" = "$(printf 'slirp\nnone\nhost')" ]
    # --opt=VALUE: bash splits the word at '='
    run bash_complete hutch run --pull = ne
    [ "$output" = never ]
    run bash_complete hutch --storage-driver fu
    [ "$output" = fuse-overlayfs ]
    run bash_complete hutch image ''
    [[ $output == *inspect*prune* ]]
    run bash_complete hutch image ls --q
    [ "$output" = --quiet ]
    run bash_complete hutch help ima
    [ "$output" = "$(printf 'images\nimage')" ]
    mkdir "$BATS_TEST_TMPDIR/somedir"
    touch "$BATS_TEST_TMPDIR/somefile"
    run bash_complete hutch run --rootfs "$BATS_TEST_TMPDIR/some"
    [ "$output" = "$BATS_TEST_TMPDIR/somedir" ]
    # the value of an option that takes one is not taken for the image
    run bash_complete hutch run -v /x:/y --net
    [ "$output" = --network ]
    run bash_complete hutch run --network = host --tls-verify = false --pri
    [ "$output" = --privileged ]
    # after run's IMAGE comes the container's command: no hutch options
    run bash_complete hutch run IMAGE --priv
    [ -z "$output" ]
}

@test "bash: image names come from the store" {
    tar -C "$ROOTFS" -cf "$BATS_TEST_TMPDIR/r.tar" .
    hutch import "$BATS_TEST_TMPDIR/r.tar" complete-me:v1 >/dev/null
    # by the short name that finds it, and by its whole name
    run bash_complete hutch run compl
    [ "$output" = complete-me:v1 ]
    run bash_complete hutch run docker.io/library/compl
    [ "$output" = docker.io/library/complete-me:v1 ]
    run bash_complete hutch rmi -f compl
    [ "$output" = complete-me:v1 ]
    # its layer's files belong to subordinate ids, which bats cannot remove
    hutch rmi complete-me:v1 >/dev/null
}

@test "bash: volume names come from the store" {
    hutch volume create complete-vol >/dev/null
    run bash_complete hutch volume rm -f compl
    [ "$output" = complete-vol ]
    run bash_complete hutch volume inspect ''
    [ "$output" = complete-vol ]
    hutch volume rm complete-vol >/dev/null
}

@test "every option --help lists is completed, in every command (bash and fish)" {
    local cmd opt missing=
    hutch completion fish > "$BATS_TEST_TMPDIR/hutch.fish"
    while read -r cmd; do
        # shellcheck disable=SC2086
        for opt in $(help_options $cmd); do
            # shellcheck disable=SC2086
            bash_complete hutch $cmd "$opt" | grep -qx -- "$opt" || missing+=" bash:$cmd:$opt"
        done
    done < <(commands)
    [ -z "$missing" ] || { echo "not completed:$missing"; false; }
    [ -n "$(help_options run)" ]
    [ "$(help_options run | wc -l)" -gt 30 ]
}

@test "fish: commands, options and values are completed" {
    command -v fish >/dev/null || skip "fish is not installed (apt install fish)"
    mkdir -p "$BATS_TEST_TMPDIR/fish"
    hutch completion fish > "$BATS_TEST_TMPDIR/fish/hutch.fish"
    fish -n "$BATS_TEST_TMPDIR/fish/hutch.fish"
    fc() {
        HOME=$BATS_TEST_TMPDIR fish -c "set -p fish_complete_path $BATS_TEST_TMPDIR/fish; complete -C'$1'" |
            cut -f1
    }
    run fc 'hutch im'
    [ "$output" = "$(printf 'image\nimages\nimport')" ]
    run fc 'hutch run --priv'
    [ "$output" = --privileged ]
    run fc 'hutch run --network '
    [ "$output" = "$(printf 'host\nnone\nslirp')" ]
    run fc 'hutch image ls --f'
    [ "$output" = --format ]
    run fc 'hutch --root /tmp ru'
    [ "$output" = "run" ]
}

@test "zsh: commands, options and values are completed" {
    command -v zsh >/dev/null || skip "zsh is not installed (apt install zsh)"
    mkdir -p "$BATS_TEST_TMPDIR/zsh"
    hutch completion zsh > "$BATS_TEST_TMPDIR/zsh/_hutch"
    zsh -n "$BATS_TEST_TMPDIR/zsh/_hutch"
    # typed lines, each completed with TAB in an interactive zsh on a pty
    run env HOME="$BATS_TEST_TMPDIR" timeout 30 zsh -f "$BATS_TEST_DIRNAME/zshcomp.zsh" \
        "$BATS_TEST_TMPDIR/zsh" "$BIN" "$BATS_TEST_TMPDIR/zsh.out" \
        'hutch run --priv' 'hutch ru' 'hutch run --network sl' 'hutch image insp' \
        'hutch --storage-driver fu' 'hutch run --rootfs /pro'
    [ "$status" -eq 0 ]
    cat "$BATS_TEST_TMPDIR/zsh.out"
    [ "$(sed 's/ *$//' "$BATS_TEST_TMPDIR/zsh.out")" = "$(printf '%s\n' 'hutch run --privileged' \
        'hutch run' 'hutch run --network slirp' 'hutch image inspect' \
        'hutch --storage-driver fuse-overlayfs' 'hutch run --rootfs /proc/')" ]
}

@test "completion: a missing or unknown shell is an error that names the choices" {
    run hutch completion
    [ "$status" -eq 125 ]
    [[ $output == *"expected one SHELL: bash, zsh or fish"* ]]
    run hutch completion tcsh
    [ "$status" -eq 125 ]
    [[ $output == *"bash, zsh or fish"* ]]
    run hutch completion bash extra
    [ "$status" -eq 125 ]
    run hutch completion --shell bash
    [ "$status" -eq 125 ]
    [[ $output == *"unknown option \`--shell\`"* ]]
}

@test "help COMMAND [SUBCOMMAND] prints that command's --help; an unknown one is an error" {
    [ "$(hutch help run)" = "$(hutch run --help)" ]
    [ "$(hutch help image prune)" = "$(hutch help image prune --help)" ]
    hutch help image prune | grep -q '^Usage: hutch image prune'
    [ "$(hutch help)" = "$(hutch --help)" ]
    run hutch help frobnicate
    [ "$status" -eq 125 ]
    [[ $output == *"unknown command \`frobnicate\`"* ]]
}
