#!/usr/bin/env bats
# hutch build, as a user builds: a Containerfile and a context in a
# directory, the image run afterwards and its config and layers read back.
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
}

teardown() {
    cd /
    kill_bgpids
    empty_store "$S"
}

# cf TEXT: the context's Containerfile
cf() { printf '%s\n' "$@" > "$C/Containerfile"; }

# build ARGS...: hutch build, output in $output, the id in $ID
build() {
    run "${H[@]}" build "$@"
    ID=$(printf '%s\n' "$output" | tail -n 1)
}

# cfg ID EXPR: a value of the image's config (python expression on `c`)
cfg() {
    "${H[@]}" image inspect "$1" | python3 -c "
import json, sys
c = json.load(sys.stdin)[0]['Config']['config']
print($2)"
}

# run_in IMAGE CMD...: the image's output for CMD
run_in() {
    local img=$1
    shift
    run "${H[@]}" run --rm --pull never "$img" "$@"
}

# n_layers IMAGE
n_layers() {
    "${H[@]}" image inspect "$1" | python3 -c \
        'import json,sys; print(len(json.load(sys.stdin)[0]["Layers"]))'
}

# ------------------------------------------------------------------ basics

@test "RUN, COPY and CMD make an image that runs" {
    need_subids
    echo hello > greeting
    cf 'FROM bb' 'RUN mkdir /data && echo made > /data/made' 'COPY greeting /data/' \
       'CMD ["cat", "/data/greeting"]'
    build -t built .
    assert_status 0
    run_in built
    assert_status 0
    assert_equal "$output" hello
    run_in built cat /data/made
    assert_equal "$output" made
    [ "$(n_layers built)" -eq 3 ]
}

@test "the id goes to stdout and the steps to stderr; -q says only the id" {
    need_subids
    cf 'FROM bb' 'RUN true'
    run --separate-stderr "${H[@]}" build -t q .
    assert_status 0
    [[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
    [[ "$stderr" == *"STEP 1/1: RUN true"* ]]
    run --separate-stderr "${H[@]}" build -q -t q .
    assert_status 0
    [[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
    [ -z "$stderr" ]
    # what RUN prints is no part of standard output; -q hides it
    cf 'FROM bb' 'RUN echo printed-by-run; echo to-stderr >&2'
    run --separate-stderr "${H[@]}" build --no-cache -t q .
    assert_status 0
    [[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
    [[ "$stderr" == *printed-by-run*to-stderr* ]]
    run --separate-stderr "${H[@]}" build --no-cache -q -t q .
    assert_status 0
    [[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
    [ -z "$stderr" ]
}

@test "a RUN that deletes a file of the base leaves a whiteout: the file is gone" {
    need_subids
    cf 'FROM bb' 'RUN rm /etc/group && rm -r /home/bob'
    build -t gone .
    assert_status 0
    run_in gone sh -c 'ls /etc/group /home/bob 2>&1; ls /home'
    [[ "$output" == *"No such file"*"No such file"* ]]
    [[ "$output" == *alice* ]]
}

@test "files keep the ids the container gave them" {
    need_subids
    cf 'FROM bb' 'RUN touch /f && chown 1000:50 /f && chmod 4710 /f'
    build -t ids .
    assert_status 0
    run_in ids stat -c '%u %g %a' /f
    assert_equal "$output" "1000 50 4710"
}

@test "RUN gets a resolv.conf, hosts and hostname that never enter the layer" {
    need_subids
    cf 'FROM bb' 'RUN cat /etc/hosts /etc/resolv.conf > /seen && hostname > /host'
    build -t net --add-host example.test:10.9.8.7 .
    assert_status 0
    run_in net cat /seen
    [[ "$output" == *"10.9.8.7"*"example.test"* ]]
    # the image's own (empty) files are what the next run sees under its mounts
    "${H[@]}" save -o "$BATS_TEST_TMPDIR/net.tar" net
    mkdir "$BATS_TEST_TMPDIR/x" && tar -C "$BATS_TEST_TMPDIR/x" -xf "$BATS_TEST_TMPDIR/net.tar"
    for l in "$BATS_TEST_TMPDIR"/x/blobs/sha256/*; do
        if tar -tzf "$l" >/dev/null 2>&1 && tar -tzf "$l" | grep -q '^seen$'; then
            run tar -tzf "$l"
            [[ "$output" != *"etc/hosts"* ]]
            [[ "$output" != *"etc/resolv.conf"* ]]
            [[ "$output" != *"etc/hostname"* ]]
        fi
    done
}

@test "RUN --network=none has no network, and --network none for the build too" {
    need_subids
    cf 'FROM bb' 'RUN --network=none ip -o link | grep -v " lo:" | wc -l > /n'
    build -t nonet .
    assert_status 0
    run_in nonet cat /n
    assert_equal "$output" 0
    cf 'FROM bb' 'RUN ip -o link | grep -v " lo:" | wc -l > /n'
    build --network none -t nonet2 .
    assert_status 0
    run_in nonet2 cat /n
    assert_equal "$output" 0
}

# ------------------------------------------------------------------ cache

@test "an unchanged rebuild takes every step from the cache and gives the same image" {
    need_subids
    echo a > a
    cf 'FROM bb' 'RUN echo $RANDOM > /r' 'COPY a /a'
    build -t c1 .
    assert_status 0
    first=$ID
    build -t c1 .
    assert_status 0
    [[ "$output" == *"Using cache"* ]]
    assert_equal "$ID" "$first"
    run_in c1 cat /r
    r1=$output
    build --no-cache -t c2 .
    assert_status 0
    [[ "$output" != *"Using cache"* ]]
    run_in c2 cat /r
    [ "$output" != "$r1" ] || [ "$output" = "" ]
}

@test "a changed source file reruns its COPY and what follows, not what comes before" {
    need_subids
    echo one > src
    cf 'FROM bb' 'RUN echo $RANDOM > /before' 'COPY src /src' 'RUN cat /src > /after'
    build -t k .
    assert_status 0
    run_in k cat /before
    before=$output
    echo two > src
    build -t k .
    assert_status 0
    run_in k cat /before /after
    assert_equal "${lines[0]}" "$before"
    assert_equal "${lines[1]}" two
    [ "$(grep -c 'Using cache' <<< "$output" || true)" -le 1 ]
}

@test "a file's time alone does not miss the cache; its mode does" {
    need_subids
    echo x > f
    cf 'FROM bb' 'COPY f /f' 'RUN echo $RANDOM > /r'
    build -t t .
    run_in t cat /r
    r=$output
    touch -d '2001-01-01' f
    build -t t .
    run_in t cat /r
    assert_equal "$output" "$r"
    chmod 0600 f
    build -t t .
    run_in t cat /r
    [ "$output" != "$r" ]
}

@test "the same Containerfile, context and --source-date-epoch give the same digest twice" {
    need_subids
    mkdir -p d/e && echo 1 > d/e/f && echo 2 > g && ln -s g link
    cf 'FROM bb' 'COPY . /ctx/' 'RUN echo fixed > /ctx/r && touch /ctx/t' 'ENV A=b' 'LABEL x=y'
    build --source-date-epoch 1700000000 -t r1 .
    assert_status 0
    one=$ID
    "${H[@]}" rmi r1 >/dev/null
    sleep 1
    touch d/e/f
    build --no-cache --source-date-epoch 1700000000 -t r2 .
    assert_status 0
    assert_equal "$ID" "$one"
}

# --------------------------------------------------------------- instructions

@test "ENV, ARG, --build-arg and variable expansion" {
    need_subids
    cf 'ARG BASE=bb' 'FROM ${BASE}' 'ARG WHO=world' 'ARG EMPTY' \
       'ENV GREETING="hello ${WHO}" PART=${WHO%re}' 'ENV OLD form with spaces' \
       'RUN echo "$GREETING|$PART|${EMPTY:-dflt}|$OLD|$WHO" > /out'
    build --build-arg WHO=there -t vars .
    assert_status 0
    run_in vars cat /out
    assert_equal "$output" "hello there|the|dflt|form with spaces|there"
    run_in vars sh -c 'echo "${WHO-unset}"'
    assert_equal "$output" unset
}

@test "a --build-arg that no ARG declares is warned about" {
    need_subids
    cf 'FROM bb' 'RUN true'
    build --build-arg NOBODY=1 .
    assert_status 0
    assert_output_has "--build-arg NOBODY"
}

@test "WORKDIR makes its directory, owned by USER; relative paths follow it" {
    need_subids
    cf 'FROM bb' 'USER alice' 'WORKDIR /app' 'WORKDIR sub' 'RUN pwd > out && id -u >> out'
    build -t wd .
    assert_status 0
    run_in wd sh -c 'cat /app/sub/out; stat -c %U /app/sub'
    assert_equal "${lines[0]}" /app/sub
    assert_equal "${lines[1]}" 1000
    assert_equal "${lines[2]}" alice
}

@test "COPY --chown by name and by id, --chmod, into a new directory" {
    need_subids
    echo a > a && mkdir d && echo b > d/b
    cf 'FROM bb' 'COPY --chown=alice:staff --chmod=0640 a /n/a' 'COPY --chown=1001 d /dd/'
    build -t own .
    assert_status 0
    run_in own stat -c '%U %G %a' /n/a /dd/b
    assert_equal "${lines[0]}" "alice staff 640"
    assert_equal "${lines[1]}" "bob bob 644"
}

@test "COPY through a symlinked directory of the image writes where the link leads" {
    need_subids
    cf 'FROM bb' 'RUN mkdir -p /usr/lib && rm -rf /lib && ln -s usr/lib /lib'
    build -t linked .
    assert_status 0
    echo x > f
    cf 'FROM linked' 'COPY f /lib/f'
    build -t linked2 .
    assert_status 0
    run_in linked2 sh -c 'readlink /lib; cat /usr/lib/f'
    assert_equal "${lines[0]}" usr/lib
    assert_equal "${lines[1]}" x
    # a file of a copied directory replaces a symlink of the image; it is
    # not written through it
    mkdir -p etc && echo mine > etc/alt
    cf 'FROM bb' 'RUN ln -s /etc/group /etc/alt' 'COPY etc/ /etc/'
    build -t notthrough .
    assert_status 0
    run_in notthrough sh -c 'cat /etc/alt; grep -c staff /etc/group; test -L /etc/alt || echo file'
    assert_equal "${lines[*]}" "mine 1 file"
}

@test "COPY with wildcards, several sources and a directory's contents" {
    need_subids
    mkdir -p dir/sub && echo 1 > dir/sub/one && echo a > x1.txt && echo b > x2.txt
    ln -s x1.txt link && ln -s one dir/sub/inner
    cf 'FROM bb' 'COPY x*.txt /w/' 'COPY dir /copied' 'COPY dir/ /copied2/' 'COPY link /followed'
    build -t wild .
    assert_status 0
    run_in wild sh -c 'ls /w; cat /copied/sub/one /copied2/sub/one /followed; readlink /copied/sub/inner'
    assert_equal "${lines[*]}" "x1.txt x2.txt 1 1 a one"
}

@test "heredocs: RUN with and without a shebang, COPY into a file" {
    need_subids
    cat > Containerfile <<'EOF'
FROM bb
ARG NAME=you
RUN <<EOT
echo "one $NAME" > /h1
EOT
RUN <<EOT
#!/bin/sh
echo "shebang" > /h2
EOT
COPY <<EOT /h3
hello $NAME
EOT
COPY <<"EOT" /h4
literal $NAME
EOT
RUN cat <<A > /h5 && cat <<B >> /h5
first
A
second
B
EOF
    build -t here .
    assert_status 0
    run_in here cat /h1 /h2 /h3 /h4 /h5
    assert_equal "${lines[*]}" 'one you shebang hello you literal $NAME first second'
}

@test "ADD unpacks a local tar archive by its content" {
    need_subids
    mkdir t && echo in > t/inside && tar -czf arch.bin -C t . && cp arch.bin plain.txt.gz
    echo notar > plain.txt
    cf 'FROM bb' 'ADD arch.bin /unpacked/' 'ADD plain.txt /copied.txt'
    build -t add .
    assert_status 0
    run_in add cat /unpacked/inside /copied.txt
    assert_equal "${lines[*]}" "in notar"
}

@test "ADD of a URL, with and without --checksum" {
    need_subids
    mkdir -p "$BATS_TEST_TMPDIR/www" && echo served > "$BATS_TEST_TMPDIR/www/file.txt"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    bg "$BATS_TEST_TMPDIR/http.log" python3 -m http.server --bind 127.0.0.1 --directory "$BATS_TEST_TMPDIR/www" "$port"
    wait_for bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null || true
    sum=$(sha256sum "$BATS_TEST_TMPDIR/www/file.txt" | cut -d' ' -f1)
    cf 'FROM bb' "ADD http://127.0.0.1:$port/file.txt /dl/" \
       "ADD --checksum=sha256:$sum http://127.0.0.1:$port/file.txt /checked"
    build -t url .
    assert_status 0
    run_in url sh -c 'cat /dl/file.txt /checked; stat -c %a /dl/file.txt'
    assert_equal "${lines[*]}" "served served 600"
    cf 'FROM bb' "ADD --checksum=sha256:$(printf '0%.0s' $(seq 64)) http://127.0.0.1:$port/file.txt /bad"
    build -t url2 .
    assert_status 125
    assert_output_has "Containerfile:2" "sha256:$sum"
    cf 'FROM bb' "ADD http://127.0.0.1:$port/missing /x"
    build -t url3 .
    assert_status 125
    assert_output_has "Containerfile:2" "404"
}

@test "the config instructions end up in the image's config" {
    need_subids
    cf 'FROM bb' 'LABEL a=1 "b c"="d e"' 'EXPOSE 80 53/udp 90-91' 'VOLUME /v' 'VOLUME ["/w"]' \
       'STOPSIGNAL SIGINT' 'USER alice:staff' 'SHELL ["/bin/sh", "-ec"]' \
       'HEALTHCHECK --interval=5s --retries=2 CMD true' 'ENTRYPOINT ["/bin/echo"]' 'CMD hi' \
       'ONBUILD RUN echo triggered > /tmp/trig' 'MAINTAINER someone'
    build --label extra=yes -t conf .
    assert_status 0
    run cfg conf 'c["Labels"]["a"], c["Labels"]["b c"], c["Labels"]["extra"]'
    assert_equal "$output" "1 d e yes"
    run cfg conf '" ".join(sorted(c["ExposedPorts"]))'
    assert_equal "$output" "53/udp 80/tcp 90/tcp 91/tcp"
    run cfg conf '" ".join(sorted(c["Volumes"])), c["StopSignal"], c["User"]'
    assert_equal "$output" "/v /w SIGINT alice:staff"
    run cfg conf 'c["Entrypoint"], c["Cmd"], c["Healthcheck"]["Interval"], c["Healthcheck"]["Retries"]'
    assert_equal "$output" "['/bin/echo'] ['/bin/sh', '-ec', 'hi'] 5000000000 2"
    run cfg conf 'c["OnBuild"]'
    assert_equal "$output" "['RUN echo triggered > /tmp/trig']"
    # the trigger runs in the image built FROM it
    cf 'FROM conf' 'USER root' 'RUN test -f /tmp/trig'
    build -t child .
    assert_status 0
    run cfg child 'c.get("OnBuild")'
    assert_equal "$output" None
    # a trigger that fails is named, with the FROM that brought it
    cf 'FROM bb' 'ONBUILD RUN exit 4'
    build -t failing-trigger .
    assert_status 0
    cf 'FROM failing-trigger'
    build -t child2 .
    assert_status 1
    assert_output_has "Containerfile:1: the base image's trigger \`ONBUILD RUN exit 4\`" "code 4"
}

# ------------------------------------------------------------------ stages

@test "multi-stage: COPY --from a stage by name and by index, --target" {
    need_subids
    cf 'FROM bb AS builder' 'RUN echo built > /artifact' \
       'FROM bb AS other' 'RUN echo other > /o' \
       'FROM bb' 'COPY --from=builder /artifact /a' 'COPY --from=1 /o /o'
    build -t multi .
    assert_status 0
    run_in multi cat /a /o
    assert_equal "${lines[*]}" "built other"
    build --target builder -t tgt .
    assert_status 0
    run_in tgt cat /artifact
    assert_equal "$output" built
}

@test "COPY --from an image of the store" {
    need_subids
    cf 'FROM scratch' 'COPY --from=bb /bin/busybox /bin/busybox' 'COPY --from=bb /etc/passwd /etc/'
    build --pull=never -t fromimg .
    assert_status 0
    run_in fromimg /bin/busybox sh -c 'grep -c alice /etc/passwd'
    assert_equal "$output" 1
}

@test "a stage the target does not need is not built" {
    need_subids
    cf 'FROM bb AS unused' 'RUN exit 3' 'FROM bb' 'RUN true'
    build -t skip .
    assert_status 0
}

@test "FROM a stage continues from its result" {
    need_subids
    cf 'FROM bb AS base' 'ENV X=1' 'RUN echo base > /b' 'FROM base' 'RUN cat /b > /c && echo $X >> /c'
    build -t chain .
    assert_status 0
    run_in chain cat /c
    assert_equal "${lines[*]}" "base 1"
}

# ------------------------------------------------------------------ ignore

@test ".dockerignore hides files from COPY, with exceptions" {
    need_subids
    mkdir -p logs keep && echo 1 > logs/a.log && echo 2 > keep/b.log && echo s > secret.txt
    printf '%s\n' '**/*.log' '!keep/b.log' 'secret.txt' > .dockerignore
    cf 'FROM bb' 'COPY . /ctx/'
    build -t ign .
    assert_status 0
    run_in ign sh -c 'cd /ctx && find . -type f | sort'
    [[ "$output" == *"./keep/b.log"* ]]
    [[ "$output" != *"a.log"* ]]
    [[ "$output" != *"secret.txt"* ]]
}

@test "COPY of a file .dockerignore excludes is an error that says so" {
    need_subids
    echo s > secret.txt
    echo secret.txt > .dockerignore
    cf 'FROM bb' 'COPY secret.txt /s'
    build .
    assert_status 125
    assert_output_has "Containerfile:2" "secret.txt" ".dockerignore"
}

# ------------------------------------------------------------------ mounts

@test "RUN --mount=type=cache keeps its files between builds, outside the image" {
    need_subids
    cf 'FROM bb' 'RUN --mount=type=cache,target=/cache echo $RANDOM >> /cache/log && cat /cache/log | wc -l > /n'
    build -t m1 .
    assert_status 0
    build --no-cache -t m2 .
    assert_status 0
    run_in m2 sh -c 'cat /n; ls -A /cache 2>/dev/null | wc -l'
    assert_equal "${lines[0]}" 2
}

@test "RUN --mount=type=secret reads the secret; it is in no layer" {
    need_subids
    echo topsecret > "$BATS_TEST_TMPDIR/s.txt"
    cf 'FROM bb' 'RUN --mount=type=secret,id=tok cat /run/secrets/tok > /dev/null && wc -c < /run/secrets/tok > /len'
    build --secret id=tok,src="$BATS_TEST_TMPDIR/s.txt" -t sec .
    assert_status 0
    run_in sec sh -c 'cat /len; ls /run/secrets 2>&1'
    assert_equal "${lines[0]}" 10
    "${H[@]}" save -o "$BATS_TEST_TMPDIR/sec.tar" sec
    run sh -c "tar -xOf '$BATS_TEST_TMPDIR/sec.tar' | zcat -f 2>/dev/null | grep -ac topsecret"
    assert_equal "$output" 0
}

@test "RUN --mount=type=bind of the context and type=tmpfs" {
    need_subids
    echo from-ctx > f
    cf 'FROM bb' 'RUN --mount=type=bind,source=f,target=/m/f --mount=type=tmpfs,target=/t cat /m/f > /seen && touch /t/x'
    build -t bind .
    assert_status 0
    run_in bind sh -c 'cat /seen; ls /t 2>&1 | wc -l'
    assert_equal "${lines[0]}" from-ctx
}

# ------------------------------------------------------------------ CLI

@test "a Containerfile on stdin (build -), -f FILE, --iidfile and --format docker" {
    need_subids
    printf 'FROM bb\nRUN echo stdin > /s\n' | "${H[@]}" build -t fromstdin - > "$BATS_TEST_TMPDIR/id"
    run_in fromstdin cat /s
    assert_equal "$output" stdin
    printf 'FROM bb\nRUN echo other > /o\n' > Other.file
    build -f Other.file --iidfile "$BATS_TEST_TMPDIR/iid" --format docker -t other .
    assert_status 0
    assert_equal "$(cat "$BATS_TEST_TMPDIR/iid")" "$ID"
    "${H[@]}" image inspect other | grep -q 'vnd.docker' || "${H[@]}" image inspect other
}

@test "--output writes the files to a directory, a tar and an oci-archive" {
    need_subids
    cf 'FROM bb' 'RUN echo out > /o'
    build -o type=local,dest="$BATS_TEST_TMPDIR/local" -o type=tar,dest="$BATS_TEST_TMPDIR/o.tar" \
        -o type=oci-archive,dest="$BATS_TEST_TMPDIR/o.oci" -t out .
    assert_status 0
    assert_equal "$(cat "$BATS_TEST_TMPDIR/local/o")" out
    tar -tf "$BATS_TEST_TMPDIR/o.tar" | grep -qx './o\|o'
    tar -tf "$BATS_TEST_TMPDIR/o.oci" | grep -q index.json
}

# ------------------------------------------------------------------ errors

@test "errors name the file and the line, exit 125, and leave the store as it was" {
    need_subids
    before=$("${H[@]}" images -q | sort)
    cf 'FROM bb' 'FORM bb'
    build -t bad .
    assert_status 125
    assert_output_has "Containerfile:2"
    cf 'FROM bb' 'COPY ../outside /x'
    build -t bad .
    assert_status 125
    assert_output_has "Containerfile:2" "outside"
    ln -s /etc/passwd leak
    cf 'FROM bb' 'COPY leak /x'
    build -t bad .
    assert_status 125
    assert_output_has "leak"
    cf 'FROM bb' 'COPY --bogus=1 a /x'
    build -t bad .
    assert_status 125
    assert_output_has "Containerfile:2" "--bogus"
    cf 'FROM bb' 'RUN --security=insecure true'
    build -t bad .
    assert_status 125
    assert_output_has "Containerfile:2" "insecure"
    cf 'FROM bb' 'RUN --device=/dev/null true'
    build -t bad .
    assert_status 125
    assert_output_has "--device"
    cf 'FROM bb AS a' 'RUN true'
    build --target nope -t bad .
    assert_status 125
    assert_output_has "nope" "a"
    cf 'FROM bb' 'COPY --from=nostage /x /y'
    build --pull=never -t bad .
    assert_status 125
    assert_output_has "nostage"
    cf 'FROM nosuchimage' 'RUN true'
    build --pull=never -t bad .
    assert_status 125
    assert_output_has "nosuchimage"
    [ "$("${H[@]}" images -q | sort)" = "$before" ]
}

@test "a failing RUN names its step and line, and adds no image" {
    need_subids
    before=$("${H[@]}" images -q | sort)
    cf 'FROM bb' 'RUN true' 'RUN exit 7'
    build -t failed .
    assert_status 1
    assert_output_has "Containerfile:3" "exited with code 7"
    [ "$("${H[@]}" images -q | sort)" = "$before" ]
    run "${H[@]}" image inspect failed
    [ "$status" -ne 0 ]
}

@test "bad options of hutch build exit 125 and say the fix" {
    cf 'FROM bb' 'RUN true'
    run "${H[@]}" build --format nope .
    assert_status 125
    assert_output_has "oci or docker"
    run "${H[@]}" build --network bogus .
    assert_status 125
    run "${H[@]}" build --source-date-epoch soon .
    assert_status 125
    run "${H[@]}" build -o type=zip,dest=x .
    assert_status 125
    assert_output_has "local, tar or oci-archive"
    run "${H[@]}" build
    assert_status 125
    run "${H[@]}" build "$BATS_TEST_TMPDIR/nothere"
    assert_status 125
    run "${H[@]}" build --platform linux/s390x .
    [ "$status" -eq 125 ] || [ "$(uname -m)" = s390x ]
}
