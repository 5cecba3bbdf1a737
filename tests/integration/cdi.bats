#!/usr/bin/env bats
# CDI devices (issue 20): hutch --cdi-spec-dir DIR run --device
# VENDOR/CLASS=NAME.  There is no GPU here: the stand-in device is the
# host's /dev/zero, given to the container at /dev/nvidia0 (path and
# hostPath), as a vendor's spec would give a GPU's node.  Each spec is
# written in JSON and in YAML; each bad input is refused with 125 and a
# message that names the cause.

load helpers

setup() {
    S=$BATS_TEST_TMPDIR/store
    H=("$HUTCH" --root "$S")
    D=$BATS_TEST_TMPDIR/cdi
    OUT=$BATS_TEST_TMPDIR/out
    mkdir -p "$D" "$OUT" "$BATS_TEST_TMPDIR/share"
    echo shared >"$BATS_TEST_TMPDIR/share/file"
    read -r ZMAJ ZMIN < <(stat -c '%t %T' /dev/zero)
    ZMAJ=$((16#$ZMAJ)) ZMIN=$((16#$ZMIN))
}

teardown() {
    empty_store "$S"
}

# the JSON spec of kind example.com/gpu: device 0 (/dev/zero at
# /dev/nvidia0, an env, a read-only mount, a createRuntime hook that
# writes its state to $OUT/hook), device 1 (env only), spec-wide env
json_spec() {
    cat <<EOJ
{
  "cdiVersion": "0.6.0",
  "kind": "example.com/gpu",
  "containerEdits": {"env": ["CDI_SPEC=json"]},
  "devices": [
    {"name": "0", "containerEdits": {
      "deviceNodes": [{"path": "/dev/nvidia0", "hostPath": "/dev/zero", "type": "c",
                       "major": $ZMAJ, "minor": $ZMIN}],
      "env": ["GPU=0"],
      "mounts": [{"hostPath": "$BATS_TEST_TMPDIR/share", "containerPath": "/opt/share",
                  "options": ["ro", "rbind", "nosuid"]}],
      "hooks": [{"hookName": "createRuntime", "path": "/bin/sh",
                 "args": ["sh", "-c", "cat > $OUT/hook"]}]}},
    {"name": "1", "containerEdits": {"env": ["GPU1=yes"]}}
  ]
}
EOJ
}

yaml_spec() {
    cat <<EOY
cdiVersion: 0.6.0
kind: example.com/gpu
containerEdits:
  env: [CDI_SPEC=yaml]
devices:
  - name: 0
    containerEdits:
      deviceNodes:
        - path: /dev/nvidia0
          hostPath: /dev/zero
          type: c
          major: $ZMAJ
          minor: $ZMIN
      env: [GPU=0]
      mounts:
        - hostPath: $BATS_TEST_TMPDIR/share
          containerPath: /opt/share
          options: [ro, rbind, nosuid]
      hooks:
        - hookName: createRuntime
          path: /bin/sh
          args: [sh, -c, "cat > $OUT/hook"]
EOY
}

# what the container checks: the node (type and numbers), a read of it,
# the env, the mount and that it is read-only
CHECK='stat -c "%F %t:%T" /dev/nvidia0; head -c 3 /dev/nvidia0 | od -An -c | tr -d " "; echo "GPU=$GPU SPEC=$CDI_SPEC"; cat /opt/share/file; touch /opt/share/x 2>/dev/null && echo writable || echo read-only'

check_output() {
    assert_output_has "character special file $(printf %x $ZMAJ):$(printf %x $ZMIN)" '\0\0\0' \
        "GPU=0 SPEC=$1" shared read-only
    [ -s "$OUT/hook" ] || fail_now "the hook wrote nothing"
    grep -q '"status":"creating"' "$OUT/hook" || fail_now "hook state: $(cat "$OUT/hook")"
}

@test "a JSON spec: the node, its read, env, a read-only mount and a hook" {
    json_spec >"$D/vendor.json"
    run "${H[@]}" --cdi-spec-dir "$D" run --rm --device example.com/gpu=0 --rootfs "$ROOTFS" sh -c "$CHECK"
    assert_status 0
    check_output json
}

@test "a YAML spec (name: 0 unquoted) does the same" {
    yaml_spec >"$D/vendor.yaml"
    run "${H[@]}" --cdi-spec-dir "$D" run --rm --device example.com/gpu=0 --rootfs "$ROOTFS" sh -c "$CHECK"
    assert_status 0
    check_output yaml
}

@test "CDI and host --device together; the global option before run only" {
    json_spec >"$D/vendor.json"
    run "${H[@]}" --cdi-spec-dir "$D" run --rm --device example.com/gpu=1 \
        --device /dev/null:/dev/mynull --rootfs "$ROOTFS" sh -c 'echo "GPU1=$GPU1"; stat -c %F /dev/mynull; test -e /dev/nvidia0 || echo no-nvidia0'
    assert_status 0
    assert_output_has GPU1=yes "character special file" no-nvidia0
}

@test "a later --cdi-spec-dir's device wins" {
    mkdir "$D/later"
    json_spec >"$D/vendor.json"
    printf '{"cdiVersion": "0.6.0", "kind": "example.com/gpu", "devices": [{"name": "1", "containerEdits": {"env": ["GPU1=later"]}}]}' >"$D/later/b.json"
    run "${H[@]}" --cdi-spec-dir "$D" --cdi-spec-dir "$D/later" run --rm --device example.com/gpu=1 --rootfs "$ROOTFS" sh -c 'echo "GPU1=$GPU1"'
    assert_status 0
    assert_output_has GPU1=later
}

@test "create, then start: the record keeps the spec directories" {
    json_spec >"$D/vendor.json"
    # (a moment first: start -a attaches once the container runs)
    run "${H[@]}" --cdi-spec-dir "$D" create --name cd --device example.com/gpu=0 --rootfs "$ROOTFS" sh -c "sleep 1; $CHECK"
    assert_status 0
    run "${H[@]}" start -a cd
    assert_status 0
    check_output json
    "${H[@]}" rm -f cd >/dev/null
}

@test "poststart and poststop hooks run for hutch run; -d with poststop is refused" {
    cat >"$D/hooks.json" <<EOJ
{"cdiVersion": "0.6.0", "kind": "example.com/hooks", "devices": [{"name": "h", "containerEdits": {"hooks": [
  {"hookName": "poststart", "path": "/bin/sh", "args": ["sh", "-c", "cat > $OUT/poststart"]},
  {"hookName": "poststop", "path": "/bin/sh", "args": ["sh", "-c", "cat > $OUT/poststop"]}]}}]}
EOJ
    run "${H[@]}" --cdi-spec-dir "$D" run --rm --device example.com/hooks=h --rootfs "$ROOTFS" true
    assert_status 0
    grep -q '"status":"running"' "$OUT/poststart" || fail_now "poststart: $(cat "$OUT/poststart" 2>&1)"
    grep -q '"status":"stopped"' "$OUT/poststop" || fail_now "poststop: $(cat "$OUT/poststop" 2>&1)"
    run "${H[@]}" --cdi-spec-dir "$D" run -d --device example.com/hooks=h --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "poststop hook" "without -d"
}

@test "unknown device, unknown kind: 125, naming what exists and where" {
    json_spec >"$D/vendor.json"
    run "${H[@]}" --cdi-spec-dir "$D" run --rm --device example.com/gpu=7 --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "device \`7\` of kind example.com/gpu" "devices are: 0, 1" "searched $D"
    run "${H[@]}" --cdi-spec-dir "$D" --cdi-spec-dir "$D/none" run --rm --device nvidia.com/gpu=0 --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "no CDI spec defines kind nvidia.com/gpu" "$D/none (missing)" "kinds found: example.com/gpu"
}

@test "a bad qualified name: 125 with what is wrong" {
    run "$HUTCH" run --rm --device 'example.com/gpu=' --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "not a CDI device name" "is empty"
    run "$HUTCH" run --rm --device 'example.com=0' --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "needs a \`/\`"
    run "$HUTCH" run --rm --device 'exa_mple.com/gpu!=0' --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "its class \`gpu!\`"
}

@test "a malformed spec: 125 with the file, the line (YAML) and the field" {
    printf 'cdiVersion: 0.6.0\nkind: example.com/gpu\ndevices:\n  - name: 0\n    containerEdits:\n      deviceNodes:\n        - path: dev/nvidia0\n' >"$D/bad.yaml"
    run "${H[@]}" --cdi-spec-dir "$D" run --rm --device example.com/gpu=0 --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "$D/bad.yaml, line 7" "devices[0].containerEdits.deviceNodes[0].path must be an absolute path"
    printf 'cdiVersion: 0.6.0\nkind: example.com/gpu\ndevices: [\n' >"$D/bad.yaml"
    run "${H[@]}" --cdi-spec-dir "$D" run --rm --device example.com/gpu=0 --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "$D/bad.yaml, line" "not YAML"
    rm "$D/bad.yaml"
    printf '{"cdiVersion": "0.6.0", "kind": "example.com/gpu", "devices": [{"name": "0", "containerEdits": {"env": ["NOEQUALS"]}}]}' >"$D/bad.json"
    run "${H[@]}" --cdi-spec-dir "$D" run --rm --device example.com/gpu=0 --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "$D/bad.json" "devices[0].containerEdits.env[0] (\`NOEQUALS\`) must be NAME=VALUE"
    printf '{"cdiVersion": "1.9.0", "kind": "example.com/gpu", "devices": []}' >"$D/bad.json"
    run "${H[@]}" --cdi-spec-dir "$D" run --rm --device example.com/gpu=0 --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "cdiVersion 1.9.0 is newer than hutch reads"
}

@test "a hostPath that does not exist, a conflict, what cannot be given rootless: 125" {
    printf '{"cdiVersion": "0.6.0", "kind": "example.com/gpu", "devices": [{"name": "0", "containerEdits": {"deviceNodes": [{"path": "/dev/nvidia0", "hostPath": "/dev/no-such-gpu"}]}}]}' >"$D/a.json"
    run "${H[@]}" --cdi-spec-dir "$D" run --rm --device example.com/gpu=0 --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "/dev/no-such-gpu does not exist on this host" "$D/a.json"
    printf '{"cdiVersion": "0.6.0", "kind": "example.com/gpu", "devices": [{"name": "0", "containerEdits": {"deviceNodes": [{"path": "/dev/zero", "fileMode": 384}]}}]}' >"$D/a.json"
    run "${H[@]}" --cdi-spec-dir "$D" run --rm --device example.com/gpu=0 --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "fileMode 0600" "cannot change"
    printf '{"cdiVersion": "0.6.0", "kind": "example.com/gpu", "devices": [{"name": "0", "containerEdits": {"mounts": [{"hostPath": "/no/such/dir", "containerPath": "/x"}]}}]}' >"$D/a.json"
    run "${H[@]}" --cdi-spec-dir "$D" run --rm --device example.com/gpu=0 --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "/no/such/dir does not exist"
    json_spec >"$D/a.json"
    json_spec >"$D/b.json"
    run "${H[@]}" --cdi-spec-dir "$D" run --rm --device example.com/gpu=1 --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "conflict" "$D/a.json" "$D/b.json"
}

@test "hutch --help and the completion name --cdi-spec-dir; an empty one is refused" {
    run "$HUTCH" --help
    assert_output_has --cdi-spec-dir
    run "$HUTCH" completion bash
    assert_output_has --cdi-spec-dir
    run "$HUTCH" --cdi-spec-dir '' run --rootfs "$ROOTFS" true
    assert_status 125
    assert_output_has "needs a directory"
}
