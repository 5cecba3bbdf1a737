#!/usr/bin/env bats
# Slurm runs hutch containers natively (issue 20): hutch's SPANK plugin,
# spank_hutch.so, loaded by Debian's srun -Q and slurmstepd (22.05) from the
# cluster's plugstack.conf, with a node-local store (store=) that the test
# fills with an image beforehand, as a warm node has it.  srun -Q runs as an
# unprivileged user (SUSER, hutchtest: a subordinate range), and one test
# as a user without one (hutchnosub).
#
# Run as root by tests/integration/run: Slurm's daemons need root.

load helpers
load slurm

PLUGIN=${HUTCH_SPANK:-$(dirname "$HUTCH")/spank_hutch.so}
NOSUB=hutchnosub

# the stand-in GPU and its CDI spec, and the stores' directory, before
# slurmd reads gres.conf
slurm_before_daemons() {
    mkdir -m 0755 "$W/store" "$W/dev" "$W/cdi"
    mknod -m 0666 "$W/dev/nvidia0" c 1 5
    echo "Name=gpu File=$W/dev/nvidia0" > "$W/etc/gres.conf"
    cat > "$W/cdi/gpu.json" <<EOF
{ "cdiVersion": "0.6.0", "kind": "nvidia.com/gpu",
  "devices": [ { "name": "0", "containerEdits": {
      "deviceNodes": [ { "path": "/dev/nvidia0", "hostPath": "$W/dev/nvidia0" } ],
      "env": [ "STANDIN_GPU=0" ] } } ] }
EOF
    chmod 0644 "$W/cdi/gpu.json"
}

setup_file() {
    slurm_need
    [ -f "$PLUGIN" ] || skip "no $PLUGIN: configure found no slurm/spank.h (apt install libslurm-dev)"
    # W is not known yet: the plugin's arguments name it through a link
    # made below, /tmp being everyone's.  One GPU, a stand-in (there is
    # none here): a node of /dev/zero's numbers that Slurm hands out as
    # gres gpu 0, and a CDI spec that names it nvidia.com/gpu=0.
    local link
    link=$(mktemp -u /tmp/hutch-spank.XXXXXX)
    SLURM_PLUGSTACK="required $PLUGIN hutch=$HUTCH store=$link/store/%u cdi_spec_dir=$link/cdi"
    SLURM_EXTRA_CONF="GresTypes=gpu"
    SLURM_NODE_EXTRA="Gres=gpu:1 "
    slurm_up slurm-spank
    ln -s "$W" "$link"
    echo "$link" > "$W/link"
    local u
    for u in "$SUSER" "$NOSUB"; do
        getent passwd "$u" > /dev/null || continue
        mkdir -m 0700 "$W/store/$u"
        chown "$u:" "$W/store/$u"
    done
    mkdir -m 0777 "$W/u/out"
    chown -R "$SUSER:" "$W/u"

    # The image, in the user's node-local store: the busybox rootfs with
    # a command and a working directory of its own.
    rootfs_tar "$W/rootfs.tar"
    chmod 0644 "$W/rootfs.tar"
    S "$HUTCH" --root "$W/store/$SUSER" import --change 'ENV FROM_IMAGE=image PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'WORKDIR /root' "$W/rootfs.tar" box:1 > /dev/null ||
        fail_now "cannot import the image into $W/store/$SUSER"
}

teardown_file() {
    [ -n "${W:-}" ] && rm -f "$(cat "$W/link" 2> /dev/null)"
    slurm_down
}

setup() {
    need_root
    rm -rf "$W/u/out"/*
}

teardown() {
    if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
        {
            echo "--- slurmd.log, the last lines of the steps:"
            grep -E '^\[[^]]*\] \[[0-9]+\.' "$W/log/slurmd.log" | grep -v -E 'debug[2-5]?:  (_set_limit|Handling|_handle|signaling)' | tail -n 25
        } >&2
    fi
    slurm scancel --user "$SUSER" 2> /dev/null || true
    wait_for no_jobs || kill_leftovers
}

# H CMD...: hutch as SUSER on the node's store
H() { S "$HUTCH" --root "$W/store/$SUSER" "$@"; }

@test "spank: srun -Q --container-image runs the task in a container of the image, as the user, with the image's environment" {
    run S timeout 60 srun -Q --container-image=box:1 sh -c 'id -u; pwd; echo $FROM_IMAGE; echo job-$SLURM_JOB_ID; cat /proc/self/uid_map; readlink /proc/self/ns/mnt'
    assert_status 0
    assert_equal "${lines[0]}" "$(id -u "$SUSER")"
    assert_equal "${lines[1]}" /root
    assert_equal "${lines[2]}" image
    [[ ${lines[3]} =~ ^job-[0-9]+$ ]] || fail_now "no Slurm environment: ${lines[3]}"
    [ "${lines[5]}" != "$(readlink /proc/self/ns/mnt)" ] || fail_now "the task ran in the host's mount namespace"
    # the step's container is gone with the step
    run H ps -a --quiet --filter label=slurm.job="${lines[3]#job-}"
    assert_equal "$output" ""
}

@test "spank: the tasks of a step share one container: one PID namespace where each sees the others, one /dev/shm" {
    # each task leaves its pid (as the container sees it) in /out, waits
    # for all four, then looks for the others in its /proc
    run S timeout 60 srun -Q -n 4 --container-image=box:1 --container-mounts="$W/u/out:/out" sh -c '
        echo $$ > /out/pid.$SLURM_PROCID
        echo shm-$SLURM_PROCID > /dev/shm/from.$SLURM_PROCID
        n=0; while [ "$(ls /out | grep -c ^pid)" -lt 4 ] && [ $n -lt 200 ]; do sleep 0.1; n=$((n+1)); done
        seen=0; for f in /out/pid.*; do [ -d /proc/$(cat $f) ] && seen=$((seen+1)); done
        shm=$(cat /dev/shm/from.* | wc -l)
        echo "task $SLURM_PROCID sees $seen shm $shm mnt $(readlink /proc/self/ns/mnt) pid $(readlink /proc/1/ns/pid)"
        sleep 1'
    assert_status 0
    [ "${#lines[@]}" -eq 4 ] || fail_now "not 4 tasks: $output"
    local l
    for l in "${lines[@]}"; do
        [[ $l == *" sees 4 shm 4 "* ]] || fail_now "a task did not see all four: $output"
    done
    # one mount and one PID namespace for all of them
    assert_equal "$(printf '%s\n' "${lines[@]}" | sed 's/.* mnt //' | sort -u | wc -l)" 1
}

@test "spank: a task's exit code is srun's, and srun's stdin reaches task 0" {
    run S sh -c 'echo typed-in | timeout 60 srun -Q --container-image=box:1 sh -c "cat; exit 5"'
    assert_status 5
    assert_output_has typed-in
    run S timeout 60 srun -Q -n 2 --container-image=box:1 sh -c '[ $SLURM_PROCID = 1 ] && exit 3; exit 0'
    assert_status 3
}

@test "spank: a task killed by a signal is reported as killed" {
    run S timeout 60 srun -Q --container-image=box:1 sh -c 'kill -KILL $$'
    [ "$status" -ne 0 ] || fail_now "srun -Q said 0 for a killed task"
    assert_output_has "Killed"
}

@test "spank: srun -Q --pty gives the container's shell a terminal's input and output" {
    run S timeout 60 python3 "$BATS_TEST_DIRNAME/ptydrive.py" --no-size -- srun -Q --pty --container-image=box:1 sh
    assert_status 0
    assert_output_has "MARK-42 pid-" "exit code 7" "terminal restored"
}

@test "spank: a missing image fails the step with hutch's own error on srun's terminal" {
    run S timeout 60 srun -Q --container-image=127.0.0.1:9/nosuch:1 true
    [ "$status" -ne 0 ] || fail_now "srun -Q succeeded without an image"
    assert_output_has "hutch: " "nosuch"
}

@test "spank: sbatch: two steps share a named container's files; the job's end removes it" {
    cat > "$W/u/job.sh" <<'EOS'
#!/bin/sh
srun -Q --container-image=box:1 --container-name=keep sh -c 'echo one > /root/left; echo $$'
srun -Q --container-name=keep sh -c 'cat /root/left'
srun -Q --container-image=box:1 sh -c 'test -e /root/left && echo seen || echo none'
EOS
    chmod 0755 "$W/u/job.sh"
    chown "$SUSER:" "$W/u/job.sh"
    run S sbatch --parsable --wait -o "$W/u/out/job.out" "$W/u/job.sh"
    assert_status 0
    local job=${output%%;*}
    run cat "$W/u/out/job.out"
    assert_equal "${lines[1]}" one
    [[ ${lines[2]} == *none* ]] || fail_now "a step without the name saw the named container's file: $output"
    # the job's epilog removed it
    wait_for test -z "$(H ps -a --quiet --filter label=slurm.job="$job")" ||
        fail_now "the job's named container is still there: $(H ps -a)"
}

@test "spank: --container-name without an image names no container yet: a clear error" {
    run S timeout 60 srun -Q --container-name=never true
    [ "$status" -ne 0 ] || fail_now "srun -Q succeeded"
    assert_output_has "no container of that name" "--container-image"
}

@test "spank: --container-mounts (ro), --container-workdir, --container-env and --container-readonly" {
    mkdir -p "$W/u/src"
    echo data > "$W/u/src/f"
    chown -R "$SUSER:" "$W/u/src"
    run S env FROM_IMAGE=job timeout 60 srun -Q --container-image=box:1 --container-mounts="$W/u/src:/src:ro,$W/u/out" \
        --container-workdir=/src --container-env=FROM_IMAGE sh -c 'pwd; cat f; touch f 2>&1 || echo ro-ok; echo $FROM_IMAGE; touch '"$W"'/u/out/w && echo same-path'
    assert_status 0
    assert_equal "${lines[0]}" /src
    assert_equal "${lines[1]}" data
    assert_output_has ro-ok "same-path"
    assert_equal "$(printf '%s\n' "${lines[@]}" | grep -x job)" job
    run S timeout 60 srun -Q --container-image=box:1 --container-readonly sh -c 'touch /etc/x 2>&1 || echo rofs'
    assert_status 0
    assert_output_has rofs
}

@test "spank: bad options are refused by srun, before any step, with the fix" {
    run S srun -Q --container-workdir=/x true
    [ "$status" -ne 0 ] || fail_now "srun -Q accepted --container-workdir alone"
    assert_output_has "need --container-image"
    run S srun -Q --container-image=box:1 --container-workdir=rel true
    [ "$status" -ne 0 ] || fail_now "srun -Q accepted a relative workdir"
    assert_output_has "must be an absolute path"
    run S srun -Q --container-image=box:1 --container-name='bad/name' true
    [ "$status" -ne 0 ] || fail_now "srun -Q accepted a bad name"
    assert_output_has "a name is 1 to 64"
    run S srun -Q --container-image=box:1 --container-readonly --container-writable true
    [ "$status" -ne 0 ] || fail_now "srun -Q accepted both"
    assert_output_has "contradict"
}

@test "spank: a task has the container's capabilities, no_new_privs and seccomp filter, as hutch exec gives them" {
    run S timeout 60 srun -Q --container-image=box:1 sh -c 'grep -E "^(CapBnd|CapEff|NoNewPrivs|Seccomp):" /proc/self/status'
    assert_status 0
    local want
    want=$(H run --rm --userns keep-id box:1 grep -E "^(CapBnd|CapEff|NoNewPrivs|Seccomp):" /proc/self/status)
    assert_equal "$output" "$want"
    assert_output_has "NoNewPrivs:	1" "Seccomp:	2"
    # as root of the container: Docker's default set, not every capability
    run S timeout 60 srun -Q --container-image=box:1 --container-remap-root sh -c 'id -u; grep -E "^CapEff:" /proc/self/status'
    assert_status 0
    assert_equal "${lines[0]}" 0
    want=$(H run --rm box:1 grep -E "^CapEff:" /proc/self/status)
    assert_equal "${lines[1]}" "$want"
}

@test "spank: MPI's PMI2 descriptor and variables reach the tasks" {
    run S timeout 60 srun -Q -n 2 --mpi=pmi2 --container-image=box:1 sh -c 'echo "$PMI_RANK $PMI_SIZE fd=$PMI_FD"; [ -S /proc/self/fd/$PMI_FD ] && echo socket'
    assert_status 0
    assert_output_has "0 2 fd=" "1 2 fd=" socket
}

@test "spank: scancel ends the step, its container and everything in it" {
    BGPIDS=()
    bg "$BATS_TEST_TMPDIR/srun" runuser -u "$SUSER" -- env -i PATH="$BASE_PATH" SLURM_CONF="$SLURM_CONF" \
        sh -c 'cd "$0" && exec srun -Q -n 2 --container-image=box:1 --container-mounts="$1/u/out:/out" sh -c "echo up > /out/up.\$SLURM_PROCID; sleep 300 & wait"' "$W/u" "$W"
    local srun_pid=$BG job
    wait_for test -s "$W/u/out/up.1" || fail_now "the step did not start: $(cat "$BATS_TEST_TMPDIR/srun"*)"
    job=$(slurm squeue -h -o %i)
    slurm scancel "$job"
    wait_for no_jobs || fail_now "job $job still there"
    wait_exit "$srun_pid" 30 || fail_now "srun -Q did not end"
    run H ps -a --quiet --filter label=slurm.job="$job"
    assert_equal "$output" ""
    run pgrep -u "$SUSER" -f "sleep 300"
    assert_equal "$output" ""
    kill_bgpids
}

@test "spank: a user without a subordinate range runs a step in a container" {
    getent passwd "$NOSUB" > /dev/null || skip "no user $NOSUB"
    run timeout 30 runuser -u "$NOSUB" -- env -i HOME=/ PATH="$BASE_PATH" "$HUTCH" --root "$W/store/$NOSUB" import "$W/rootfs.tar" box:1
    assert_status 0
    SUSER=$NOSUB run S timeout 60 srun -Q -n 2 --container-image=box:1 sh -c 'id -u; cat /proc/self/uid_map'
    assert_status 0
    assert_output_has "$(id -u "$NOSUB")"
    [ "$(printf '%s\n' "${lines[@]}" | grep -c -x "$(id -u "$NOSUB")")" -eq 2 ] || fail_now "not two tasks as the user: $output"
}

@test "spank: Slurm's GPUs reach the container as CDI devices (a stand-in device)" {
    run S timeout 60 srun -Q --gres=gpu:1 --container-image=box:1 sh -c 'stat -c "%F %t:%T" /dev/nvidia0; echo gpu=$STANDIN_GPU; head -c 4 /dev/nvidia0 | od -An -tx1'
    assert_status 0
    assert_equal "${lines[0]}" "character special file 1:5"
    assert_equal "${lines[1]}" gpu=0
    assert_equal "$(echo ${lines[2]})" "00 00 00 00"
    # without a GPU of Slurm's, none in the container
    run S timeout 60 srun -Q --container-image=box:1 sh -c 'test -e /dev/nvidia0 && echo there || echo none; echo gpu=$STANDIN_GPU'
    assert_status 0
    assert_equal "${lines[0]}" none
    assert_equal "${lines[1]}" gpu=
}

@test "spank: MPI's PMIx: a PMIx client in the container meets the other rank through Slurm's server" {
    command -v cc > /dev/null && pkg-config --exists pmix 2> /dev/null ||
        skip "no cc or libpmix-dev to build a PMIx client (scripts/deps --test installs them)"
    srun --mpi=list 2>&1 | grep -q pmix || SLURM_CONF=$SLURM_CONF srun --mpi=list 2>&1 | grep -q pmix ||
        skip "this Slurm has no mpi/pmix (libpmix2)"
    mkdir -p "$W/u/probe"
    # shellcheck disable=SC2046
    cc -o "$W/u/probe/pmixprobe" "$BATS_TEST_DIRNAME/pmixprobe.c" $(pkg-config --cflags --libs pmix)
    chmod -R a+rX "$W/u/probe"
    # the client is the host's build: the host's libraries bound in
    local L=/usr/lib/x86_64-linux-gnu
    run S timeout 60 srun -Q --mpi=pmix -n 2 --container-image=box:1 \
        --container-mounts="$L:/lib/x86_64-linux-gnu:ro,$L:$L:ro,/lib64:/lib64:ro,$W/u/probe:/probe" /probe/pmixprobe
    assert_status 0
    assert_output_has "pmix rank 0 of 2" "pmix rank 1 of 2"
}

@test "spank: cross-memory attach (CMA) between two ranks of a step" {
    command -v cc > /dev/null || skip "no cc to build the probe"
    mkdir -p "$W/u/probe"
    cc -static -O2 -o "$W/u/probe/cmaprobe" "$BATS_TEST_DIRNAME/cmaprobe.c" || skip "cannot link a static probe here"
    chmod -R a+rX "$W/u/probe"
    run S timeout 60 srun -Q -n 2 --container-image=box:1 --container-mounts="$W/u/probe:/probe,$W/u/out:/out" \
        sh -c 'if [ $SLURM_PROCID = 0 ]; then /probe/cmaprobe serve /out/cma; else /probe/cmaprobe read /out/cma; fi'
    assert_status 0
    [[ $output =~ read\ cma-secret-of-[0-9]+ ]] || fail_now "rank 1 could not read rank 0's memory: $output"
}

@test "spank: a single-file squashfs image on a shared file system" {
    command -v squashfuse_ll > /dev/null || skip "no squashfuse_ll (scripts/deps installs squashfuse)"
    [ -w /dev/fuse ] || [ "$(stat -c %a /dev/fuse)" = 666 ] || skip "/dev/fuse is not usable by users here"
    run H save --format squashfs -o "$W/u/box.sqfs" box:1
    assert_status 0
    # the image's WorkingDir, /root, is root's, which the user is not here
    run S timeout 60 srun -Q -n 2 --container-image="$W/u/box.sqfs" --container-workdir=/ sh -c 'echo $FROM_IMAGE; grep -c " / fuse" /proc/self/mountinfo || true; cat /proc/1/cmdline | tr "\0" " "'
    assert_status 0
    assert_equal "${lines[0]}" image
    assert_output_has "hutch-init --pause"
}

@test "spank: an image that the node's store lacks is pulled once, and later steps find it there" {
    load registry
    reg_need_tools
    # for reg_start and reg_stop_all alike: an assignment before a
    # command lasts for that command only
    REG_WORK=$BATS_TEST_TMPDIR
    reg_start hub --tls
    # the user's hutch trusts the registry's certificate as every user's
    # does: /etc/containers/certs.d
    local certs=/etc/containers/certs.d/$REG_HUB
    mkdir -p "$certs"
    cp "$REG_HUB_CERTS/ca.crt" "$certs/ca.crt"
    H push box:1 "$REG_HUB/slurm/box:1" > /dev/null 2>&1 || { rm -rf "$certs"; reg_stop_all; fail_now "cannot push to $REG_HUB"; }
    local before
    before=$(grep -c 'GET /v2/slurm/box/manifests/' "$REG_HUB_DIR/registry.log" || true)
    run S timeout 90 srun -Q -n 2 --container-image="$REG_HUB/slurm/box:1" sh -c 'echo $FROM_IMAGE'
    local first=$status out1=$output
    run S timeout 60 srun -Q --container-image="$REG_HUB/slurm/box:1" sh -c 'echo again'
    local after
    after=$(grep -c 'GET /v2/slurm/box/manifests/' "$REG_HUB_DIR/registry.log" || true)
    rm -rf "$certs"
    reg_stop_all
    [ "$first" = 0 ] || fail_now "the first step failed: $out1"
    assert_status 0
    assert_equal "$((after - before))" 1
}

@test "spank: the image's entrypoint runs with each task's command as its arguments; --no-container-entrypoint skips it" {
    rootfs_tar "$W/ep.tar"
    chmod 0644 "$W/ep.tar"
    H import --change 'ENTRYPOINT ["/bin/sh", "-c", "echo ep-$0-$SLURM_PROCID; exec \"$@\"", "ran"]' "$W/ep.tar" epbox:1 > /dev/null
    run S timeout 60 srun -Q -n 2 --container-image=epbox:1 sh -c 'echo cmd-$SLURM_PROCID; test -z "$HUTCH_ENTRYPOINT" && echo clean'
    assert_status 0
    assert_output_has ep-ran-0 ep-ran-1 cmd-0 cmd-1 clean
    run S timeout 60 srun -Q --no-container-entrypoint --container-image=epbox:1 echo alone
    assert_status 0
    assert_equal "$output" alone
    # a command the entrypoint cannot find: its exit code
    run S timeout 60 srun -Q --container-image=epbox:1 nosuchcommand
    assert_status 127
    assert_output_has ep-ran-0
    # an empty word of the entrypoint stays a word
    H import --change 'ENTRYPOINT ["/bin/sh", "-c", "echo \"[$0]\"; exec \"$@\"", ""]' "$W/ep.tar" epbox:2 > /dev/null
    run S timeout 60 srun -Q --container-image=epbox:2 echo after
    assert_status 0
    assert_equal "$output" "[]
after"
}

@test "spank: sbatch --container-image runs the batch script in a container" {
    run S sbatch --parsable --wait -o "$W/u/out/batch.out" --container-image=box:1 \
        --wrap 'cat /proc/1/cmdline | tr "\0" " "; echo; echo $FROM_IMAGE; id -u'
    assert_status 0
    run cat "$W/u/out/batch.out"
    assert_equal "${lines[0]}" "hutch-init --pause "
    assert_equal "${lines[1]}" image
    assert_equal "${lines[2]}" "$(id -u "$SUSER")"
}

@test "spank: a bad setting in plugstack.conf, or a hutch that is not there, fails the step and says which" {
    local saved
    saved=$(cat "$W/etc/plugstack.conf")
    sed 's|$| colour=blue|' <<< "$saved" > "$W/etc/plugstack.conf"
    run S timeout 60 srun -Q --container-image=box:1 true
    [ "$status" -ne 0 ] || { echo "$saved" > "$W/etc/plugstack.conf"; fail_now "srun ran with a bad setting"; }
    assert_output_has "colour=blue" "hutch-slurm(8)"
    sed "s|hutch=[^ ]*|hutch=$W/nonexistent/hutch|" <<< "$saved" > "$W/etc/plugstack.conf"
    run S timeout 60 srun -Q --container-image=box:1 true
    echo "$saved" > "$W/etc/plugstack.conf"
    [ "$status" -ne 0 ] || fail_now "srun ran without hutch"
    assert_output_has "cannot run $W/nonexistent/hutch" "hutch= setting"
    # and a step without container options is untouched by the plugin
    run S timeout 60 srun -Q sh -c 'cat /proc/1/cmdline | tr "\0" " "'
    assert_status 0
    [[ $output != *hutch-init* ]] || fail_now "a plain step ran in a container"
}

@test "spank: slurmstepd's OOM protection reaches neither the container nor its tasks" {
    # slurmstepd's -1000 takes CAP_SYS_RESOURCE, which root of some
    # sandboxes lacks: then there is nothing to leak (tests/vm, whose
    # root has it, checks it)
    (echo -1 > /proc/self/oom_score_adj) 2> /dev/null ||
        skip "root cannot lower oom_score_adj here (no CAP_SYS_RESOURCE), so slurmstepd cannot protect itself either"
    # the container's first process, and a task
    run S timeout 60 srun -Q --container-image=box:1 sh -c 'cat /proc/1/oom_score_adj /proc/self/oom_score_adj'
    assert_status 0
    assert_equal "${lines[0]}" 0
    assert_equal "${lines[1]}" 0
}

@test "spank: signals: the step's reach the command, and so does one sent to the task's own pid" {
    BGPIDS=()
    bg "$BATS_TEST_TMPDIR/srun" runuser -u "$SUSER" -- env -i PATH="$BASE_PATH" SLURM_CONF="$SLURM_CONF" \
        sh -c 'cd "$0" && exec srun -Q --container-image=box:1 --container-mounts="$1/u/out:/out" sh -c "trap \"echo usr1\" USR1; trap \"echo usr2; exit 0\" USR2; echo \$\$ > /out/up; while :; do sleep 0.1; done"' "$W/u" "$W"
    local srun_pid=$BG job p shim=
    wait_for test -s "$W/u/out/up" || fail_now "the step did not start: $(cat "$BATS_TEST_TMPDIR/srun"*)"
    job=$(slurm squeue -h -o %i)
    slurm scancel --signal=USR1 "$job"
    wait_for grep -q usr1 "$BATS_TEST_TMPDIR/srun"* || fail_now "the step's USR1 did not reach the command"
    # the task that slurmstepd knows: the shim, parent of the command (a
    # process of the user's whose parent is a slurmstepd)
    for p in $(pgrep -u "$SUSER" -f 'trap "echo usr1"'); do
        local pp
        pp=$(awk '{ print $4 }' "/proc/$p/stat")
        if [[ $(cat "/proc/$pp/cmdline" 2> /dev/null | tr '\0' ' ') == slurmstepd* ]]; then
            shim=$pp
        fi
    done
    [ -n "$shim" ] || fail_now "no shim found"
    # a copy of slurmstepd in the container's user namespace: not the
    # user's to read (nor to trace)
    run runuser -u "$SUSER" -- cat "/proc/$shim/environ"
    [ "$status" -ne 0 ] || fail_now "the user can read the shim's memory: $output"
    kill -USR2 "$shim"
    wait_exit "$srun_pid" 30 || fail_now "srun did not end: $(cat "$BATS_TEST_TMPDIR/srun"*)"
    run cat "$BATS_TEST_TMPDIR/srun"*
    assert_output_has usr2
    kill_bgpids
}

@test "spank: two steps of a job at once share a named container; it outlives each of them" {
    cat > "$W/u/two.sh" <<'EOS'
#!/bin/sh
srun -Q -n 1 --exact --container-image=box:1 --container-name=both sh -c 'echo $$ > /root/first; sleep 3; echo first-$(cat /root/second)' &
srun -Q -n 1 --exact --container-image=box:1 --container-name=both sh -c 'sleep 1; echo $$ > /root/second; echo second-$(cat /root/first)' &
wait
srun -Q --container-name=both sh -c 'echo later-$(cat /root/first)-$(cat /root/second)'
EOS
    chmod 0755 "$W/u/two.sh"
    chown "$SUSER:" "$W/u/two.sh"
    run S sbatch --parsable --wait -n 2 -o "$W/u/out/two.out" "$W/u/two.sh"
    assert_status 0
    run cat "$W/u/out/two.out"
    local first second
    first=$(sed -n 's/^second-//p' <<< "$output")
    second=$(sed -n 's/^first-//p' <<< "$output")
    [[ $first =~ ^[0-9]+$ && $second =~ ^[0-9]+$ ]] || fail_now "the steps did not share the container: $output"
    assert_output_has "later-$first-$second"
}
