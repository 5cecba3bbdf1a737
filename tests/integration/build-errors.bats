#!/usr/bin/env bats
# hutch build's errors, those build.bats does not try: each exits 125 (1
# for a RUN that fails), says the file and the line where one applies and
# the cause, and leaves the store as it was: no new image, no new name, no
# container's directory, nothing in its tmp/.  Then an interrupted build,
# and --help against the man page.
# Every test has a store of its own (S) with the busybox rootfs imported
# as bb, and a context directory (C) it writes its files into.

load helpers

setup() {
    BGPIDS=()
    S=$BATS_TEST_TMPDIR/store
    H=("$HUTCH" --root "$S")
    C=$BATS_TEST_TMPDIR/ctx
    mkdir -p "$C"
    cd "$C"
    tar -C "$ROOTFS" -c . | "${H[@]}" import - bb >/dev/null
    BEFORE=$(store_state)
}

teardown() {
    cd /
    kill_bgpids
    empty_store "$S"
}

# cf LINE...: the context's Containerfile
cf() { printf '%s\n' "$@" > "$C/Containerfile"; }

# store_state: each image of the store, its id and its names, one a line
store_state() {
    "${H[@]}" images --format json | python3 -c '
import json, sys
for i in json.load(sys.stdin):
    print(i["Id"], *sorted(i["Names"]))' | sort
}

# fails STATUS TEXT... [-- ARG...]: `hutch build -t bad ARG... .` exits
# STATUS, with a message of hutch's that has every TEXT
fails() {
    local st=$1 texts=()
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        texts+=("$1")
        shift
    done
    if [ $# -gt 0 ]; then shift; fi
    run "${H[@]}" build -t bad "$@" .
    said "$st" "${texts[@]}"
}

# said STATUS TEXT...: the last `run` exited STATUS and hutch said every TEXT
said() {
    assert_status "$1"
    shift
    printf '%s\n' "$output" | grep -q '^hutch\( build\)\?: ' ||
        fail_now "no message of hutch's in: $output"
    assert_output_has "$@"
}

# unchanged [NAME]: the store has the images and names it had in setup
# (BEFORE), NAME (default bad) names nothing, no container's directory is
# left and the store's tmp/ is empty
unchanged() {
    local left
    assert_equal "$(store_state)" "$BEFORE"
    run "${H[@]}" image inspect "${1:-bad}"
    [ "$status" -ne 0 ] || fail_now "image ${1:-bad} exists"
    left=$(ls -A "$S/containers" 2>/dev/null || true)
    [ -z "$left" ] || fail_now "left in $S/containers: $left"
    left=$(ls -A "$S/tmp" 2>/dev/null || true)
    [ -z "$left" ] || fail_now "left in $S/tmp: $left"
}

# another platform than this machine's
other_platform() {
    case $(uname -m) in
        aarch64 | arm64) echo linux/amd64 ;;
        *) echo linux/arm64 ;;
    esac
}

# ------------------------------------------------------------ FROM and stages

@test "FROM: what comes before it, an empty image name, stage names, flags" {
    cf 'RUN true' 'FROM bb'
    fails 125 "Containerfile:1" "RUN before the first FROM"
    cf 'ARG BASE=bb'
    fails 125 "Containerfile" "no FROM"
    : > Containerfile
    fails 125 "Containerfile:1" "no instruction"
    cf 'ARG BASE' 'FROM $BASE' 'RUN true'
    fails 125 "Containerfile:2" "image name is empty"
    cf 'ARG BASE=' 'FROM ${BASE}'
    fails 125 "Containerfile:2" "image name is empty"
    cf 'FROM' 'RUN true'
    fails 125 "Containerfile:1" "FROM needs an image"
    cf 'FROM bb other'
    fails 125 "Containerfile:1" "bb other"
    cf 'FROM bb AS 1st' 'RUN true'
    fails 125 "Containerfile:1" "1st" "stage name"
    cf 'FROM bb AS b:c'
    fails 125 "Containerfile:1" "b:c" "stage name"
    cf 'FROM bb AS one' 'RUN true' 'FROM bb AS ONE' 'RUN true'
    fails 125 "Containerfile:3" "one" "taken by line 1"
    cf 'FROM --bogus=1 bb'
    fails 125 "Containerfile:1" "FROM" "--bogus"
    cf 'FROM --platform=bogus bb'
    fails 125 "Containerfile:1" "bogus" "OS/ARCH"
    cf "FROM --platform=$(other_platform) bb" 'RUN true'
    fails 125 "Containerfile:1" "$(other_platform)" "no emulation"
    unchanged
}

@test "a stage cannot need itself: COPY --from itself, or two stages each other" {
    need_subids
    cf 'FROM bb' 'COPY --from=0 /etc/passwd /p'
    fails 125 "Containerfile:2" "--from=0" "itself"
    cf 'FROM bb AS me' 'COPY --from=ME /etc/passwd /p'
    fails 125 "Containerfile:2" "--from=ME" "itself"
    cf 'FROM bb AS a' 'COPY --from=b /etc/passwd /p' 'FROM bb AS b' 'COPY --from=a /etc/passwd /q'
    fails 125 "Containerfile:4" "Containerfile:3" "depends on itself"
    unchanged
}

@test "an error in the second stage leaves nothing of the first; nor does one after a cached step" {
    need_subids
    cf 'FROM bb AS one' 'RUN echo 1 > /one' 'FROM one' 'RUN exit 4'
    fails 1 "Containerfile:4" "exited with code 4"
    unchanged
    cf 'FROM bb' 'RUN echo 1 > /one' 'EXPOSE 0'
    fails 125 "Containerfile:3" "EXPOSE" "port \`0\`" "Using cache"
    unchanged
}

@test "a failing build leaves an existing name on its image and writes no --iidfile" {
    need_subids
    cf 'FROM bb' 'RUN echo good > /g'
    run "${H[@]}" build -t keep .
    assert_status 0
    BEFORE=$(store_state)
    cf 'FROM bb' 'RUN echo bad > /g && exit 3'
    run "${H[@]}" build -t keep --iidfile "$BATS_TEST_TMPDIR/iid" .
    said 1 "Containerfile:2" "exited with code 3"
    [ ! -e "$BATS_TEST_TMPDIR/iid" ]
    unchanged
    run "${H[@]}" run --rm --pull never keep cat /g
    assert_equal "$output" good
}

@test "the base image's ONBUILD triggers: an error names the FROM line and the trigger" {
    need_subids
    cf 'FROM bb' 'ONBUILD COPY missing /x'
    run "${H[@]}" build -t trig1 .
    assert_status 0
    cf 'FROM bb' 'ONBUILD RUN exit 5'
    run "${H[@]}" build -t trig2 .
    assert_status 0
    cf 'FROM bb' 'ONBUILD EXPOSE 0'
    run "${H[@]}" build -t trig3 .
    assert_status 0
    BEFORE=$(store_state)
    cf 'FROM bb' 'RUN true' 'FROM trig1' 'RUN true'
    fails 125 "Containerfile:3" "ONBUILD COPY missing /x" "missing" "not in the build context"
    cf 'FROM trig2'
    fails 1 "Containerfile:1" "ONBUILD RUN exit 5" "exited with code 5"
    cf 'ARG X' 'FROM trig3'
    fails 125 "Containerfile:2" "ONBUILD EXPOSE 0" "port \`0\`"
    unchanged
}

# ------------------------------------------------------------ options

@test "bad options: --build-arg, --label, -t, --pull, --timestamp, --tls-verify, -o, operands" {
    cf 'FROM bb' 'LABEL a=b'
    fails 125 "--build-arg" "=x" "NAME=VALUE" -- --build-arg =x
    fails 125 "--label" "=x" "KEY=VALUE" -- --label =x
    fails 125 "-t" "Bad Name" "white space" -- -t 'Bad Name'
    fails 125 "-t" "UPPER" "lower case" -- -t UPPER
    fails 125 "--pull" "sometimes" "missing, always or never" -- --pull=sometimes
    fails 125 "--timestamp" "-1" "seconds" -- --timestamp=-1
    fails 125 "--timestamp" "abc" "seconds" -- --timestamp abc
    fails 125 "--tls-verify" "maybe" "true or false" -- --tls-verify=maybe
    fails 125 "--output" "no dest=PATH" -- -o type=tar
    fails 125 "--output" "foo=1" "unknown field" -- -o "type=tar,dest=x,foo=1"
    fails 125 "--bogus" "--help" -- --bogus
    SOURCE_DATE_EPOCH=soon run "${H[@]}" build -t bad .
    said 125 "--source-date-epoch" "soon"
    run "${H[@]}" build -t bad . .
    said 125 "one CONTEXT"
    [ ! -e x ]
    unchanged
}

@test "the Containerfile and the context: a directory, a missing file, a file as the context" {
    mkdir Containerfile
    fails 125 "Containerfile" "is a directory"
    fails 125 "Containerfile" "is a directory" -- -f Containerfile
    rmdir Containerfile
    fails 125 "no Containerfile or Dockerfile" "-f FILE"
    fails 125 "$BATS_TEST_TMPDIR/nothere" "No such file" -- -f "$BATS_TEST_TMPDIR/nothere"
    cf 'FROM bb'
    run "${H[@]}" build -t bad -f Containerfile "$C/Containerfile"
    said 125 "$C/Containerfile" "not a directory"
    run "${H[@]}" build -t bad "$BATS_TEST_TMPDIR/nothere"
    said 125 "$BATS_TEST_TMPDIR/nothere"
    printf 'FROM bb\n\0\n' > Containerfile
    fails 125 "Containerfile:2" "NUL"
    unchanged
}

@test "a Containerfile on stdin has no context: COPY, ADD and a bind mount say so" {
    need_subids
    printf 'FROM bb\nCOPY a /a\n' > "$BATS_TEST_TMPDIR/cf"
    run "${H[@]}" build -t bad - < "$BATS_TEST_TMPDIR/cf"
    said 125 "<stdin>:2" "no build context" "context directory"
    printf 'FROM bb\nRUN true\nADD a.tar /a\n' > "$BATS_TEST_TMPDIR/cf"
    run "${H[@]}" build -t bad - < "$BATS_TEST_TMPDIR/cf"
    said 125 "<stdin>:3" "no build context"
    printf 'FROM bb\nRUN --mount=type=bind,target=/m true\n' > "$BATS_TEST_TMPDIR/cf"
    run "${H[@]}" build -t bad - < "$BATS_TEST_TMPDIR/cf"
    said 125 "<stdin>:2" "bind mount needs a build context"
    run "${H[@]}" build -t bad - < /dev/null
    said 125 "<stdin>:1" "no instruction"
    unchanged
}

@test ".dockerignore: a directory, a lone !, a bad pattern, a symlink out of the context" {
    cf 'FROM bb' 'RUN true'
    mkdir .dockerignore
    fails 125 ".dockerignore" "not a regular file"
    rmdir .dockerignore
    printf 'a\n!\n' > .dockerignore
    fails 125 ".dockerignore, line 2" "\`!\` alone"
    printf '# c\n[abc\n' > .dockerignore
    fails 125 ".dockerignore, line 2" "[abc" "not a valid pattern"
    rm .dockerignore
    ln -s /etc/passwd .dockerignore
    fails 125 ".dockerignore" "out of the build context"
    unchanged
}

# ------------------------------------------------------------ COPY and ADD

@test "COPY and ADD: --chmod, --chown, the destination of several sources, unknown flags" {
    need_subids
    echo a > a && echo b > b
    for m in 999 abc 10000 -1 ''; do
        cf 'FROM bb' "COPY --chmod=$m a /a"
        fails 125 "Containerfile:2" "--chmod=$m" "octal"
    done
    cf 'FROM bb' 'COPY --chmod a /a'
    fails 125 "Containerfile:2" "--chmod" "octal"
    cf 'FROM bb' 'COPY --chown=nosuchuser a /a'
    fails 125 "Containerfile:2" "nosuchuser" "/etc/passwd"
    cf 'FROM bb' 'ADD --chown=alice:nosuchgroup a /a'
    fails 125 "Containerfile:2" "nosuchgroup" "/etc/group"
    cf 'FROM scratch' 'COPY --chown=alice a /a'
    fails 125 "Containerfile:2" "alice" "/etc/passwd"
    cf 'FROM bb' 'COPY a b /dir'
    fails 125 "Containerfile:2" "more than one source" "/dir/"
    cf 'FROM bb' 'COPY ["a", "b", "/dir"]'
    fails 125 "Containerfile:2" "more than one source" "/dir/"
    cf 'FROM bb' 'COPY a'
    fails 125 "Containerfile:2" "source and a destination"
    cf 'FROM bb' 'COPY a <<EOF' 'x' 'EOF'
    fails 125 "Containerfile:2" "heredoc cannot be the destination"
    cf 'FROM bb' 'COPY --bogus a /a'
    fails 125 "Containerfile:2" "COPY" "unknown flag --bogus"
    cf 'FROM bb' 'ADD --from=bb /etc/passwd /p'
    fails 125 "Containerfile:2" "ADD" "unknown flag --from"
    cf 'FROM bb' 'COPY --checksum=sha256:0 a /a'
    fails 125 "Containerfile:2" "COPY" "unknown flag --checksum"
    cf 'FROM bb' 'COPY --=x a /a'
    fails 125 "Containerfile:2" "--=x" "no name"
    unchanged
}

@test "COPY and ADD sources: missing, a wildcard that matches nothing or is bad, URLs, --checksum" {
    need_subids
    echo a > a
    cf 'FROM bb' 'RUN true' 'COPY missing /m'
    fails 125 "Containerfile:3" "missing" "not in the build context"
    cf 'FROM bb' 'COPY a missing /d/'
    fails 125 "Containerfile:2" "missing" "not in the build context"
    cf 'FROM bb' 'COPY *.nothing /d/'
    fails 125 "Containerfile:2" "*.nothing" "no file there matches"
    cf 'FROM bb' 'COPY sub/*/x /d/'
    fails 125 "Containerfile:2" "sub/*/x"
    cf 'FROM bb' 'COPY a[ /d/'
    fails 125 "Containerfile:2" "a[" "not a valid pattern"
    cf 'FROM bb' 'ADD --checksum=sha256:0123 a /a'
    fails 125 "Containerfile:2" "--checksum" "64 hex digits"
    cf 'FROM bb' "ADD --checksum=sha256:$(printf 'a%.0s' $(seq 64)) a /a"
    fails 125 "Containerfile:2" "--checksum" "URL"
    cf 'FROM bb' 'ADD git@example.com:x/y.git /x'
    fails 125 "Containerfile:2" "git@example.com:x/y.git" "not supported"
    cf 'FROM bb' 'COPY --from=bb /nonexistent /x'
    fails 125 "Containerfile:2" "/nonexistent" "No such file"
    cf 'FROM bb' 'COPY a /etc/passwd/a'
    fails 125 "Containerfile:2" "/etc/passwd" "Not a directory"
    cf 'FROM bb' 'COPY a ${DEST'
    fails 125 "Containerfile:2" "\${DEST"
    cf 'FROM scratch AS empty' 'FROM bb' 'COPY --from=empty /x /y'
    fails 125 "Containerfile:3" "--from source \`/x\`" "No such file"
    cf 'FROM bb' 'RUN ln -s /loop /loop' 'COPY a /loop/x'
    fails 125 "Containerfile:3" "/loop" "symbolic links"
    unchanged
}

@test "ADD of a broken archive, and of one whose entry climbs out, adds nothing" {
    need_subids
    printf '\x1f\x8bgarbage, no gzip stream' > broken.tar.gz
    python3 -c '
import io, tarfile
with tarfile.open("evil.tar", "w") as t:
    i = tarfile.TarInfo("../evil")
    i.size = 1
    t.addfile(i, io.BytesIO(b"x"))'
    cf 'FROM bb' 'ADD broken.tar.gz /x/'
    fails 125 "Containerfile:2" "broken.tar.gz"
    cf 'FROM bb' 'ADD evil.tar /x/'
    fails 125 "Containerfile:2" "evil.tar" "../evil"
    unchanged
}

# ------------------------------------------------------------ RUN

@test "RUN --mount: an unknown type or option, no target, from=, rw bind, bind sources" {
    need_subids
    echo a > a && echo b > b
    cf 'FROM bb' 'RUN --mount=type=bogus,target=/x true'
    fails 125 "Containerfile:2" "type=bogus" "cache, bind, tmpfs or secret"
    cf 'FROM bb' 'RUN --mount=type=cache true'
    fails 125 "Containerfile:2" "type=cache" "no target"
    cf 'FROM bb' 'RUN --mount=type=bind,source=a true'
    fails 125 "Containerfile:2" "no target"
    cf 'FROM bb' 'RUN --mount=type=bind,from=bb,source=/etc,target=/x true'
    fails 125 "Containerfile:2" "from=" "not supported"
    cf 'FROM bb' 'RUN --mount=type=bind,source=a,target=/x,rw true'
    fails 125 "Containerfile:2" "rw bind" "read-only"
    cf 'FROM bb' 'RUN --mount=type=bind,source=a,target=/x,rw=true true'
    fails 125 "Containerfile:2" "rw bind"
    cf 'FROM bb' 'RUN --mount=type=bind,sauce=a,target=/x true'
    fails 125 "Containerfile:2" "unknown option \`sauce\`"
    cf 'FROM bb' 'RUN --mount=type=bind,source=missing,target=/x true'
    fails 125 "Containerfile:2" "missing" "not in the build context"
    cf 'FROM bb' 'RUN --mount=type=bind,source=?,target=/x true'
    fails 125 "Containerfile:2" "more than one file"
    cf 'FROM bb' 'RUN --mount=type=bind,source=../x,target=/x true'
    fails 125 "Containerfile:2" "../x" "outside the build context"
    cf 'FROM bb' 'RUN --mount=type=tmpfs,target=/t,size=abc true'
    fails 125 "Containerfile:2" "size=abc"
    unchanged
}

@test "RUN secrets: a required one not given, no id, a bad --secret; RUN --network=bogus" {
    need_subids
    echo s > "$BATS_TEST_TMPDIR/s"
    cf 'FROM bb' 'RUN --mount=type=secret,id=tok,required cat /run/secrets/tok'
    fails 125 "Containerfile:2" "secret \`tok\` is required" "--secret id=tok,src=FILE"
    cf 'FROM bb' 'RUN --mount=type=secret,id=tok,required=true cat /run/secrets/tok'
    fails 125 "Containerfile:2" "tok" "required" -- --secret "id=other,src=$BATS_TEST_TMPDIR/s"
    cf 'FROM bb' 'RUN --mount=type=secret true'
    fails 125 "Containerfile:2" "needs id=ID"
    cf 'FROM bb' 'RUN --mount=type=secret,id=tok cat /run/secrets/tok'
    # a bad --secret is refused before anything runs: no line to name
    fails 125 "--secret" "id=tok,bogus=1" "unknown field" -- --secret id=tok,bogus=1
    fails 125 "--secret" "id=tok" "no src=FILE" -- --secret id=tok
    cf 'FROM bb' 'RUN --network=bogus true'
    fails 125 "Containerfile:2" "--network=bogus" "default, none or host"
    cf 'FROM bb' 'RUN --network true'
    fails 125 "Containerfile:2" "--network" "default, none or host"
    cf 'FROM bb' 'RUN'
    fails 125 "Containerfile:2" "RUN needs a command"
    cf 'FROM bb' 'RUN <<EOF' 'true'
    fails 125 "Containerfile:2" "<<EOF" "never ends"
    unchanged
}

@test "a failing RUN exits 1: exit codes, a heredoc script, a signal" {
    need_subids
    cf 'FROM bb' 'RUN <<EOF' '#!/bin/sh' 'exit 4' 'EOF'
    fails 1 "Containerfile:2" "exited with code 4"
    cf 'FROM bb' 'ENV X=1' 'RUN ["/bin/sh", "-c", "exit 9"]'
    fails 1 "Containerfile:3" "exited with code 9"
    cf 'FROM bb' 'RUN sh -c '"'"'kill -KILL $$'"'"'; exit $?'
    fails 1 "Containerfile:2" "exited with code 137" "signal"
    cf 'FROM bb' 'RUN echo ${NEED:?give NEED}'
    fails 1 "Containerfile:2" "exited with code 2"
    assert_output_has "give NEED"
    unchanged
}

@test "RUN with the vfs storage driver says it needs an overlay" {
    need_subids
    cf 'FROM bb' 'RUN true'
    run "$HUTCH" --root "$S" --storage-driver vfs build --no-cache -t bad .
    said 125 "Containerfile:2" "needs an overlay" "vfs"
    unchanged
}

# ------------------------------------------------------------ config instructions

@test "WORKDIR, USER, STOPSIGNAL and VOLUME without what they need" {
    need_subids
    cf 'FROM bb' 'WORKDIR ""'
    fails 125 "Containerfile:2" "WORKDIR needs a path"
    cf 'FROM bb' 'ARG E' 'WORKDIR $E'
    fails 125 "Containerfile:3" "WORKDIR needs a path"
    cf 'FROM bb' 'ARG E' 'WORKDIR ${E:?E is a must}'
    fails 125 "Containerfile:3" "E is a must"
    cf 'FROM bb' 'WORKDIR'
    fails 125 "Containerfile:2" "WORKDIR needs an argument"
    cf 'FROM bb' 'USER a b'
    fails 125 "Containerfile:2" "USER" "one word"
    cf 'FROM bb' 'STOPSIGNAL SIGBOGUS'
    fails 125 "Containerfile:2" "SIGBOGUS" "not a signal"
    cf 'FROM bb' 'STOPSIGNAL 0'
    fails 125 "Containerfile:2" "not a signal"
    cf 'FROM bb' 'STOPSIGNAL 1 2'
    fails 125 "Containerfile:2" "STOPSIGNAL" "one word"
    cf 'FROM bb' 'VOLUME [""]'
    fails 125 "Containerfile:2" "VOLUME" "empty"
    cf 'FROM bb' 'ARG E' 'VOLUME $E'
    fails 125 "Containerfile:3" "VOLUME" "empty path"
    cf 'FROM bb' 'ARG E' 'VOLUME ["/v", "$E"]'
    fails 125 "Containerfile:3" "VOLUME" "empty path"
    cf 'FROM bb' 'VOLUME'
    fails 125 "Containerfile:2" "VOLUME needs a path"
    unchanged
}

@test "EXPOSE: port 0, 70000, a range backwards, an unknown protocol, no port" {
    for p in 0 70000 abc 80a; do
        cf 'FROM bb' 'EXPOSE 80' "EXPOSE 81 $p"
        fails 125 "Containerfile:3" "port \`$p\`" "1 to 65535"
    done
    cf 'FROM bb' 'EXPOSE 5-3'
    fails 125 "Containerfile:2" "5-3" "LOW <= HIGH"
    cf 'FROM bb' 'EXPOSE 5-70000'
    fails 125 "Containerfile:2" "5-70000"
    cf 'FROM bb' 'EXPOSE 80/xyz'
    fails 125 "Containerfile:2" "80/xyz" "tcp, udp or sctp"
    cf 'FROM bb' 'EXPOSE /xyz'
    fails 125 "Containerfile:2" "/xyz"
    cf 'FROM bb' 'EXPOSE /tcp'
    fails 125 "Containerfile:2" "/tcp" "1 to 65535"
    cf 'FROM bb' 'EXPOSE'
    fails 125 "Containerfile:2" "EXPOSE needs an argument"
    unchanged
}

@test "HEALTHCHECK durations and retries, SHELL not in JSON, ONBUILD and CMD" {
    cf 'FROM bb' 'HEALTHCHECK --interval=5 CMD true'
    fails 125 "Containerfile:2" "--interval" "\`5\`" "without a unit"
    cf 'FROM bb' 'HEALTHCHECK --timeout=abc CMD true'
    fails 125 "Containerfile:2" "--timeout" "abc"
    cf 'FROM bb' 'HEALTHCHECK --start-period=-1s CMD true'
    fails 125 "Containerfile:2" "--start-period" "-1s"
    cf 'FROM bb' 'HEALTHCHECK --interval= CMD true'
    fails 125 "Containerfile:2" "--interval" "empty duration"
    cf 'FROM bb' 'HEALTHCHECK --retries=x CMD true'
    fails 125 "Containerfile:2" "--retries" "\`x\`" "number"
    cf 'FROM bb' 'HEALTHCHECK --retries=-1 CMD true'
    fails 125 "Containerfile:2" "--retries" "-1"
    cf 'FROM bb' 'HEALTHCHECK --bogus=1 CMD true'
    fails 125 "Containerfile:2" "unknown flag --bogus"
    cf 'FROM bb' 'HEALTHCHECK --retries=1 NONE'
    fails 125 "Containerfile:2" "NONE takes no flags"
    cf 'FROM bb' 'HEALTHCHECK true'
    fails 125 "Containerfile:2" "HEALTHCHECK takes NONE"
    cf 'FROM bb' 'HEALTHCHECK CMD'
    fails 125 "Containerfile:2" "HEALTHCHECK CMD needs a command"
    cf 'FROM bb' 'SHELL /bin/sh -c'
    fails 125 "Containerfile:2" "SHELL takes a JSON array" "/bin/sh -c"
    cf 'FROM bb' 'SHELL []'
    fails 125 "Containerfile:2" "SHELL takes a JSON array"
    cf 'FROM bb' 'CMD [1]'
    fails 125 "Containerfile:2" "array of strings"
    cf 'FROM bb' 'ONBUILD FROM bb'
    fails 125 "Containerfile:2" "ONBUILD FROM is not allowed"
    cf 'FROM bb' 'ONBUILD ONBUILD RUN true'
    fails 125 "Containerfile:2" "ONBUILD ONBUILD is not allowed"
    unchanged
}

@test "unknown flags of ENV, LABEL, USER, WORKDIR and CMD; bad ENV and LABEL pairs" {
    for i in 'ENV A=b' 'LABEL a=b' 'USER alice' 'WORKDIR /w' 'CMD true' 'ARG A'; do
        cf 'FROM bb' "${i%% *} --bogus=1 ${i#* }"
        fails 125 "Containerfile:2" "${i%% *}" "unknown flag --bogus"
    done
    cf 'FROM bb' 'ENV =x'
    fails 125 "Containerfile:2" "ENV" "name must not be empty"
    cf 'FROM bb' 'ENV A="x'
    fails 125 "Containerfile:2" "ENV" "not closed"
    cf 'FROM bb' 'LABEL'
    fails 125 "Containerfile:2" "LABEL needs an argument"
    printf '# escape=x\nFROM bb\n' > Containerfile
    fails 125 "Containerfile:1" "escape"
    printf '# escape=`\n# escape=`\nFROM bb\n' > Containerfile
    fails 125 "Containerfile:2" "second"
    unchanged
}

# ------------------------------------------------------------ where the result goes

@test "--iidfile and --output that cannot be written are errors that name the file" {
    need_subids
    mkdir "$BATS_TEST_TMPDIR/ro" && chmod 0555 "$BATS_TEST_TMPDIR/ro"
    cf 'FROM bb' 'RUN echo x > /x'
    run "${H[@]}" build --iidfile "$BATS_TEST_TMPDIR/nodir/iid" .
    said 125 "--iidfile" "$BATS_TEST_TMPDIR/nodir/iid" "No such file"
    run "${H[@]}" build -o "type=local,dest=$BATS_TEST_TMPDIR/ro/out" .
    said 125 "--output" "$BATS_TEST_TMPDIR/ro/out" "Permission denied"
    run "${H[@]}" build -o "type=tar,dest=$BATS_TEST_TMPDIR/nodir/o.tar" .
    said 125 "--output" "$BATS_TEST_TMPDIR/nodir/o.tar" "No such file"
    run "${H[@]}" build -o "type=oci-archive,dest=$BATS_TEST_TMPDIR/ro/o.oci" .
    said 125 "--output" "$BATS_TEST_TMPDIR/ro/o.oci" "Permission denied"
    [ -z "$(ls -A "$BATS_TEST_TMPDIR/ro")" ]
    [ -z "$(ls -A "$S/tmp")" ]
}

# ------------------------------------------------------------ interrupted

@test "an interrupted build (SIGTERM during a RUN) adds nothing and leaves nothing; the next one works" {
    need_subids
    # a time of its own, to tell its sleep from others of the same user
    local t=$((3600 + RANDOM))
    cf 'FROM bb' 'ARG T=60' 'RUN sleep $T'
    bg "$BATS_TEST_TMPDIR/out" "$HUTCH" --root "$S" build --build-arg "T=$t" -t intr .
    wait_for file_has "$BATS_TEST_TMPDIR/out.err" "STEP 2/2: RUN sleep"
    wait_for has_cmdline "sleep $t"
    kill -TERM "$BG"
    # the step is stopped as hutch run stops a container: the stop
    # signal, then after 10 s (sh is pid 1, and ignores it) SIGKILL
    wait_exit "$BG" 40
    [ "$WAIT_STATUS" -ne 0 ] || fail_now "the interrupted build exited 0"
    wait_for no_cmdline "sleep $t"
    [ ! -s "$BATS_TEST_TMPDIR/out" ] || fail_now "an id on stdout: $(cat "$BATS_TEST_TMPDIR/out")"
    unchanged intr
    run "${H[@]}" build --build-arg T=0 -t intr .
    assert_status 0
    run "${H[@]}" image inspect intr
    assert_status 0
}

# ------------------------------------------------------------ --help

# The options of man/hutch-build.1's OPTIONS section, read from the page
# when it is at hand (a run from the source tree), else this list of them.
MAN_OPTIONS=(-t --tag -f --file --build-arg --target --no-cache --pull --platform --label
    --iidfile --format -o --output --secret --network --add-host --timestamp
    --source-date-epoch -q --quiet -h --help --tls-verify --authfile)

# man_options PAGE: the options on the line after each .TP of PAGE's OPTIONS
man_options() {
    awk '/^\.SH / { s = ($2 == "OPTIONS") } s && tp { print; tp = 0 } s && /^\.TP/ { tp = 1 }' "$1" |
        sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' |
        grep -oE '(^|[^A-Za-z0-9-])--?[a-z][a-z0-9-]*' | sed 's/^[^-]*//'
}

@test "hutch build --help lists every option of the man page's OPTIONS section" {
    local page="" o opts
    for p in "$BATS_TEST_DIRNAME/../../man/hutch-build.1" "$(man -w hutch-build 2>/dev/null || true)"; do
        if [ -n "$p" ] && [ -r "$p" ]; then
            page=$p
            break
        fi
    done
    opts=$(printf '%s\n' "${MAN_OPTIONS[@]}" | sort)
    if [ -n "$page" ]; then
        # the list above must follow the page
        assert_equal "$(man_options "$page" | sort -u)" "$opts"
    fi
    run "$HUTCH" build --help
    assert_status 0
    # the option column of each option line: "  -t, --tag NAME   text..."
    help=$(printf '%s\n' "$output" | grep -E '^ +-' | sed -E 's/^ +//; s/  .*//' |
        grep -oE '(^|[ ,])--?[a-z][a-z0-9-]*' | sed 's/^[ ,]*//' | sort -u)
    for o in $opts; do
        grep -qxF -- "$o" <<< "$help" || fail_now "--help lacks $o; it has: $help"
    done
}

# ------------------------------------------------------------ bugs found

@test "--iidfile or --output that fails adds no image and no name" {
    need_subids
    cf 'FROM bb' 'RUN echo x > /x'
    fails 125 "--iidfile" -- --iidfile "$BATS_TEST_TMPDIR/nodir/iid"
    unchanged
    fails 125 "--output" -- -o "type=tar,dest=$BATS_TEST_TMPDIR/nodir/o.tar"
    unchanged
}

@test "--platform of another architecture is refused, whatever FROM says" {
    cf 'FROM scratch' 'LABEL a=b'
    fails 125 "--platform" "$(other_platform)" -- --platform "$(other_platform)"
    unchanged
}

@test "a RUN whose command cannot be run exits 1, as hutch-build(1) says" {
    need_subids
    cf 'FROM bb' 'RUN ["/nonexistent"]'
    fails 1 "Containerfile:2" "/nonexistent"
    cf 'FROM bb' 'RUN ["/etc/passwd"]'
    fails 1 "Containerfile:2" "/etc/passwd"
    unchanged
}

@test "RUN on FROM scratch says there is nothing to run" {
    need_subids
    cf 'FROM scratch' 'RUN true'
    run "${H[@]}" build -t bad .
    [ "$status" -ne 0 ]
    assert_output_has "Containerfile:2"
    [[ "$output" != *"Invalid argument"* ]]
    [[ "$output" == *"/bin/sh"* || "$output" == *scratch* || "$output" == *empty* ]]
    unchanged
}

@test "WORKDIR onto a file of the image is an error" {
    need_subids
    cf 'FROM bb' 'WORKDIR /etc/passwd'
    fails 125 "Containerfile:2" "/etc/passwd"
    unchanged
}

@test "a RUN refused before its command starts leaves no container's directory" {
    need_subids
    cf 'FROM bb' 'USER nobodyhere' 'RUN true'
    fails 125 "Containerfile:3" "nobodyhere" "/etc/passwd"
    unchanged
    cf 'FROM bb' 'RUN --mount=type=cache,target=/c,uid=0,sharing=shared true' 'RUN --mount=type=bind,source=nothere,target=/m true'
    fails 125 "Containerfile:3" "nothere"
    unchanged
    cf 'FROM bb' 'RUN --mount=type=cache,target=/c,uid=1 true'
    fails 125 "Containerfile:2" "uid=1" "not supported"
    cf 'FROM bb' 'RUN --mount=type=cache,target=/c,sharing=locked true'
    fails 125 "Containerfile:2" "sharing=locked" "not supported"
    unchanged
}

@test "an ONBUILD trigger's error names no line of the Containerfile but FROM's" {
    need_subids
    cf 'FROM bb' 'ONBUILD COPY missing /x'
    run "${H[@]}" build -t trig .
    assert_status 0
    BEFORE=$(store_state)
    cf 'FROM bb' 'RUN true' 'FROM trig'
    fails 125 "Containerfile:3" "missing"
    [[ "$output" != *"Containerfile:1"* ]]
    unchanged
}

@test "a context that is a file, or does not exist, is said to be so" {
    cf 'FROM bb'
    run "${H[@]}" build -t bad "$C/Containerfile"
    said 125 "$C/Containerfile" "not a directory"
    run "${H[@]}" build -t bad "$BATS_TEST_TMPDIR/nothere"
    said 125 "$BATS_TEST_TMPDIR/nothere" "No such file"
    unchanged
}

@test "a bad --secret is refused even when no RUN mounts it" {
    cf 'FROM bb' 'LABEL a=b'
    fails 125 "--secret" "bogus=1" -- --secret id=x,bogus=1
    fails 125 "--secret" "no src=FILE" -- --secret id=x
    unchanged
}

# ------------------------------------------------- hostile Containerfiles

@test "a RUN's symlink where a mount target's parent was touches nothing on the host" {
    need_subids
    v=$BATS_TEST_TMPDIR/victim
    mkdir -p "$v/d/y" && : > "$v/y"
    cf 'FROM bb' "RUN --mount=type=secret,id=nope,target=/x/y ln -s $v /x" \
       "RUN --mount=type=cache,target=/c/y sh -c 'mv /c /c2 && ln -s $v/d /c'"
    run "${H[@]}" build -t hostile .
    assert_status 0
    [ -e "$v/y" ] || fail_now "the host's $v/y was removed"
    [ -d "$v/d/y" ] || fail_now "the host's $v/d/y was removed"
}

@test "RUN --network=host needs hutch build --network host" {
    need_subids
    cf 'FROM bb' 'RUN --network=host true'
    fails 125 "Containerfile:2" "--network=host" "hutch build --network host"
    unchanged
    run "${H[@]}" build --network host -t hostnet .
    assert_status 0
}

@test "a bind mount of a directory that holds ignored files is refused" {
    need_subids
    echo s > secret.txt && echo secret.txt > .dockerignore
    cf 'FROM bb' 'RUN --mount=type=bind,target=/ctx cat /ctx/secret.txt'
    fails 125 "Containerfile:2" "secret.txt" ".dockerignore"
    unchanged
}

@test "--output type=local: only a new or empty directory; no setuid file comes out" {
    need_subids
    mkdir -p "$BATS_TEST_TMPDIR/full" && : > "$BATS_TEST_TMPDIR/full/mine"
    cf 'FROM bb' 'RUN cp /bin/busybox /suid && chmod 4755 /suid'
    fails 125 "not empty" -- -o "type=local,dest=$BATS_TEST_TMPDIR/full"
    [ -e "$BATS_TEST_TMPDIR/full/mine" ]
    unchanged
    run "${H[@]}" build -o "type=local,dest=$BATS_TEST_TMPDIR/new" -t out .
    assert_status 0
    [ -f "$BATS_TEST_TMPDIR/new/suid" ]
    [ ! -u "$BATS_TEST_TMPDIR/new/suid" ] || fail_now "the setuid bit came out"
}

@test "odd sources: a symlink from a stage, a FIFO in the context, a secret target without /" {
    need_subids
    mkfifo fifo
    cf 'FROM bb AS s' 'RUN ln -s busybox /bin/lnk' 'FROM bb' 'COPY --from=s /bin/lnk /copied' \
       'ADD fifo /fifo' 'RUN --mount=type=secret,id=x,target=foo test ! -e foo'
    run timeout 120 "${H[@]}" build -t odd .
    assert_status 0
    run "${H[@]}" run --rm odd sh -c 'cmp /copied /bin/busybox && echo ran; test -p /fifo && echo fifo'
    assert_equal "${lines[*]}" "ran fifo"
}
