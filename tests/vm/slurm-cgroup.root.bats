#!/usr/bin/env bats
# hutch's SPANK plugin (spank_hutch.so) under Slurm's cgroup plugins, on
# the VM's pure cgroup v2 hierarchy: ProctrackType=proctrack/cgroup,
# TaskPlugin=task/cgroup, and in cgroup.conf CgroupPlugin=cgroup/v2 with
# IgnoreSystemd=yes (no systemd is PID 1 here: slurmd makes the steps'
# scope, system.slice/NODE_slurmstepd.scope, with mkdir instead of asking
# systemd over D-Bus).  The host's integration test (slurm-spank.root.bats)
# cannot do this: its cgroups are hybrid, so it runs proctrack/linuxproc
# and task/none.
#
# What is checked (docs/architecture.md, "Slurm: the SPANK plugin"): the
# job's cgroup, Slurm's own, holds the step's container, which hutch runs
# with --cgroups disabled, adding no cgroup of its own; at the step's end,
# and on scancel, nothing of the container is left (proctrack/cgroup kills
# what is in the step's cgroup, the plugin's slurm_spank_exit removes the
# container); and task/cgroup's memory limit (--mem) holds in the container.
#
# Run as root by tests/vm/run (stage2 runs *.root.bats last, as root);
# srun runs as SUSER, hutchtest.

load helpers
load slurm

PLUGIN=${HUTCH_SPANK:-$(dirname "$HUTCH")/spank_hutch.so}
CG=/sys/fs/cgroup
# Slurm 22.05's cgroup/v2 with IgnoreSystemd=yes puts the steps in
# SCOPE=system.slice/NODE_slurmstepd.scope (src/plugins/cgroup/v2/
# cgroup_v2.c, _set_int_cg_ns: NODE_ with MULTIPLE_SLURMD, as Debian
# builds it, none without), as SCOPE/job_J/step_S/{slurm,user/task_T},
# and slurmd itself in SCOPE/slurmd.  setup_file sets SCOPE.
# The dummy interface this file adds (see setup_file).
DUMMY=hutchslurm0

slurm_before_daemons() {
    mkdir -m 0755 "$W/store"
    # Slurm makes the scope in system.slice but not system.slice itself,
    # which systemd has on every machine it boots; the VM's PID 1 is no
    # systemd.
    if [ ! -d "$CG/system.slice" ]; then
        mkdir "$CG/system.slice" || return 1
        touch "$BATS_FILE_TMPDIR/made-system.slice"
    fi
    # Slurm 22.05 reads cgroup.controllers with its newline and so misses
    # the last controller listed (Slurm bug 16151, fixed in 23.02.1 by
    # commit 316df8dc73 "Fix parsing of cgroup.controllers file").  In
    # the scope slurmd makes, that is memory when system.slice enables
    # only what slurmd enables there itself (cpuset cpu memory), and
    # task/cgroup then fails every step ("memory cgroup controller is
    # not available").  systemd enables more for its slices; so does
    # this: every controller the root has, memory not being the last.
    local c
    for c in $(cat "$CG/cgroup.controllers"); do
        echo "+$c" > "$CG/system.slice/cgroup.subtree_control" || return 1
    done
    # CgroupAutomount: slurmd enables the controllers from the root down
    # (it does that only with IgnoreSystemd); AllowedRAMSpace=100: a
    # job's memory.max is what it asked for with --mem.
    cat > "$W/etc/cgroup.conf" <<EOF
CgroupPlugin=cgroup/v2
IgnoreSystemd=yes
CgroupAutomount=yes
ConstrainRAMSpace=yes
AllowedRAMSpace=100
EOF
}

setup_file() {
    slurm_need
    [ -f "$PLUGIN" ] || skip "no $PLUGIN: configure found no slurm/spank.h (apt install libslurm-dev)"
    [ "$(stat -f -c %T "$CG")" = cgroup2fs ] && [ "$(grep -c . /proc/self/cgroup)" = 1 ] ||
        skip "$CG is not a pure cgroup v2 hierarchy, which Slurm's cgroup/v2 needs (tests/vm/run boots one)"
    compgen -G '/usr/lib/*/slurm-wlm/cgroup_v2.so' > /dev/null ||
        compgen -G '/usr/lib/slurm*/cgroup_v2.so' > /dev/null ||
        skip "Slurm's cgroup/v2 plugin (cgroup_v2.so) is not installed (apt install slurm-wlm-basic-plugins)"
    command -v cc > /dev/null || skip "no cc to build vmtool (apt install gcc libc6-dev)"

    # Slurm resolves every address, 127.0.0.1 too, with getaddrinfo and
    # AI_ADDRCONFIG (src/common/util-net.c, get_addr_info), which glibc
    # answers with nothing for IPv4 where no interface but loopback has
    # an IPv4 address: slurmctld then dies ("Unable to resolve").  The VM
    # has no network device, so it gets a dummy interface with a
    # documentation address (TEST-NET-1): nothing is routed through it.
    if [ -z "$(ip -4 -o addr show scope global 2> /dev/null)" ]; then
        { modprobe dummy && ip link add "$DUMMY" type dummy &&
            ip addr add 192.0.2.1/32 dev "$DUMMY" && ip link set "$DUMMY" up; } 2> "$BATS_FILE_TMPDIR/dummy.err" ||
            skip "no IPv4 address but loopback's, which Slurm's getaddrinfo(AI_ADDRCONFIG) needs, and no dummy interface to give one: $(cat "$BATS_FILE_TMPDIR/dummy.err")"
        touch "$BATS_FILE_TMPDIR/made-dummy"
    fi

    # W is not known yet: the plugin's arguments name it through a link
    # made below (as slurm-spank.root.bats does).  The link is on /tmp,
    # the VM's scratch disk, where W is too: the store must be on a file
    # system that can hold an overlay's upper layer, which the VM's root
    # (itself an overlay) cannot.
    local link
    link=$(mktemp -u /tmp/hutch-spank.XXXXXX)
    SLURM_PLUGSTACK="required $PLUGIN hutch=$HUTCH store=$link/store/%u"
    SLURM_PROCTRACK=proctrack/cgroup
    SLURM_TASK=task/cgroup
    # the memory --mem may ask for (the VM has 2 GiB), and memory as a
    # resource of the jobs: with slurm.bash's CR_CPU a job's allocation is
    # 0 MB and task/cgroup limits it to the machine's RAM whatever --mem
    # says (the later SelectTypeParameters wins; slurmctld logs an error
    # that it is set twice)
    SLURM_NODE_EXTRA="RealMemory=1024 "
    SLURM_EXTRA_CONF="SelectTypeParameters=CR_CPU_Memory"
    slurm_up slurm-cgroup
    local d
    SCOPE=
    for d in "$CG"/system.slice/localhost_slurmstepd.scope "$CG"/system.slice/slurmstepd.scope; do
        [ -d "$d" ] && SCOPE=$d
    done
    [ -n "$SCOPE" ] || fail_now "slurmd made no scope in $CG/system.slice: $(ls "$CG/system.slice")"
    export SCOPE
    case $(awk '{ print $NF }' "$SCOPE/cgroup.controllers") in
        cpuset | cpu | memory) fail_now "the last controller of $SCOPE is one Slurm 22.05 needs and does not see (bug 16151): $(cat "$SCOPE/cgroup.controllers")" ;;
    esac
    echo "# controllers (enabled for children): /: $(cg_ctl "$CG"); system.slice: $(cg_ctl "$CG/system.slice"); ${SCOPE##*/}: $(cg_ctl "$SCOPE")" >&3
    grep -E '\] error: ' "$W/log/slurmd.log" | sed 's/^/# slurmd: /' >&3
    ln -s "$W" "$link"
    echo "$link" > "$W/link"
    mkdir -m 0700 "$W/store/$SUSER"
    chown "$SUSER:" "$W/store/$SUSER"
    mkdir -m 0777 "$W/u/out"
    chown -R "$SUSER:" "$W/u"
    # static, for the busybox image (mounted at its own path)
    cc -static -O1 -o "$W/bin/vmtool" "$BATS_TEST_DIRNAME/vmtool.c" ||
        fail_now "cannot build vmtool"

    rootfs_tar "$W/rootfs.tar"
    chmod 0644 "$W/rootfs.tar"
    S "$HUTCH" --root "$W/store/$SUSER" import "$W/rootfs.tar" box:1 > /dev/null ||
        fail_now "cannot import the image into $W/store/$SUSER"
}

teardown_file() {
    [ -n "${W:-}" ] && rm -f "$(cat "$W/link" 2> /dev/null)"
    slurm_down
    # what slurmd made (Slurm leaves its scope) and this file did, once
    # empty
    [ -n "${SCOPE:-}" ] && find "$SCOPE" -depth -type d -exec rmdir {} + 2> /dev/null
    [ -e "$BATS_FILE_TMPDIR/made-system.slice" ] && rmdir "$CG/system.slice" 2> /dev/null
    [ -e "$BATS_FILE_TMPDIR/made-dummy" ] && ip link del "$DUMMY"
    true
}

setup() {
    need_root
    rm -rf "$W/u/out"/*
    BGPIDS=()
}

teardown() {
    if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
        {
            echo "--- slurmd.log, the last lines of the steps:"
            grep -E '^\[[^]]*\] \[[0-9]+\.' "$W/log/slurmd.log" | grep -v -E 'debug[2-5]?:  (_set_limit|Handling|_handle|signaling)' | tail -n 25
            echo "--- the cgroups below $SCOPE:"
            find "$SCOPE" -mindepth 1 -type d 2> /dev/null
        } >&2
    fi
    slurm scancel --user "$SUSER" 2> /dev/null || true
    wait_for no_jobs || kill_leftovers
    kill_bgpids
}

# cg_ctl DIR: DIR's cgroup.controllers (subtree_control)
cg_ctl() { echo "$(cat "$1/cgroup.controllers") ($(cat "$1/cgroup.subtree_control"))"; }

# H CMD...: hutch as SUSER on the node's store
H() { S "$HUTCH" --root "$W/store/$SUSER" "$@"; }

# cg_of PID: the cgroup of PID (from the root of the hierarchy)
cg_of() { sed -n 's/^0:://p' "/proc/$1/cgroup" 2> /dev/null; }

# user_pids: the processes of SUSER (its steps; nothing else of the user's
# runs while the root tests do)
user_pids() { pgrep -u "$SUSER" || true; }

# no_user_pids: SUSER has no process left
no_user_pids() { [ -z "$(user_pids)" ]; }

# container_pid JOB: the host pid of the step's container's first process
# (hutch-init), from hutch inspect of slurm-JOB.0
container_pid() {
    H inspect "slurm-$1.0" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["State"]["Pid"])'
}

# start_step OUT SRUN_ARGS... -- SH_SCRIPT: srun -Q as SUSER in the
# background (its pid in BG), the task being sh -c SH_SCRIPT in the
# container of box:1, with $W/u/out at /out
start_step() {
    local out=$1
    shift
    bg "$out" runuser -u "$SUSER" -- env -i PATH="$BASE_PATH" SLURM_CONF="$SLURM_CONF" \
        sh -c 'cd "$0" && exec srun -Q "$@"' "$W/u" "$@"
}

# job_gone JOB: Slurm removed the job's cgroup
job_gone() { [ ! -e "$SCOPE/job_$1" ]; }

@test "slurm cgroup: slurmd runs Slurm's cgroup/v2 in the pure v2 hierarchy" {
    # the plugins it loaded, and the scope it made for the steps
    grep -qi 'cgroup[ /]v2' "$W/log/slurmd.log" || fail_now "slurmd did not load cgroup/v2: $(grep -i cgroup "$W/log/slurmd.log" | tail -n 5)"
    [ -d "$SCOPE" ] || fail_now "no $SCOPE"
    run cg_of "$(cat "$W/pids/slurmd")"
    assert_equal "$output" "${SCOPE#"$CG"}/slurmd"
    echo "# slurmd is in $output" >&3
}

@test "slurm cgroup: the step's container and every task are in the job's cgroup, and hutch makes no cgroup of its own" {
    start_step "$BATS_TEST_TMPDIR/srun" -n 2 --container-image=box:1 --container-mounts="$W/u/out:/out" sh -c \
        'cat /proc/self/cgroup > /out/cg.$SLURM_PROCID; echo up > /out/up.$SLURM_PROCID; exec sleep 3001'
    local srun_pid=$BG job pid p c step ns n=0 others=
    wait_for test -s "$W/u/out/up.0" && wait_for test -s "$W/u/out/up.1" ||
        fail_now "the step did not start: $(cat "$BATS_TEST_TMPDIR/srun"*)"
    two_sleeps() { [ "$(pgrep -u "$SUSER" -f '^sleep 3001$' | wc -l)" = 2 ]; }
    wait_for two_sleeps || fail_now "not two tasks: $(pgrep -a -u "$SUSER")"
    job=$(slurm squeue -h -o %i)
    step=${SCOPE#"$CG"}/job_$job/step_0
    pid=$(container_pid "$job")
    [ "$pid" -gt 0 ] || fail_now "no pid for slurm-$job.0"
    echo "# container's first process $pid ($(tr '\0' ' ' < "/proc/$pid/cmdline")): $(cg_of "$pid")" >&3
    echo "# the tasks see /proc/self/cgroup as: $(cat "$W/u/out/cg.0") and $(cat "$W/u/out/cg.1")" >&3

    # slurmstepd protects itself from the OOM killer (-1000, which this
    # root can write); what it started for hutch does not keep that: the
    # container's first process is at 0
    run cat "/proc/$(pgrep -o -f 'slurmstepd: \[')/oom_score_adj"
    assert_equal "$output" -1000
    run cat "/proc/$pid/oom_score_adj"
    assert_equal "$output" 0

    # the container's first process, and everything in its PID namespace
    # (the two tasks' sleep among them), in the step's cgroup
    run cg_of "$pid"
    [[ $output == "$step/"* ]] || fail_now "the container's first process $pid is in $output, not below $step"
    ns=$(readlink "/proc/$pid/ns/pid")
    for p in $(user_pids); do
        c=$(cg_of "$p")
        if [ "$(readlink "/proc/$p/ns/pid" 2> /dev/null)" = "$ns" ]; then
            n=$((n + 1))
            [[ $c == "$step/"* ]] || fail_now "process $p of the container ($(tr '\0' ' ' < "/proc/$p/cmdline")) is in $c, not below $step"
        elif [[ $c != "$step/"* ]]; then
            # outside the container and the step: srun only, in the
            # cgroup the test runs in
            [ "$(cat "/proc/$p/comm")" = srun ] || others+=" $p:$(cat "/proc/$p/comm"):$c"
        fi
    done
    [ -z "$others" ] || fail_now "processes of $SUSER outside the step's cgroup:$others"
    # hutch-init, the two tasks' sleep (each task execs it)
    [ "$n" -ge 3 ] || fail_now "only $n processes in the container's PID namespace"
    # each task in its own task_T cgroup of task/cgroup
    for p in $(pgrep -u "$SUSER" -f '^sleep 3001$'); do
        [[ $(cg_of "$p") =~ ^$step/user/task_[01]$ ]] || fail_now "task $p is in $(cg_of "$p")"
    done

    # below the job, only Slurm's cgroups: no hutch-ID, hutch-NAME,
    # hutch-launcher-PID nor hutch-PID.scope (src/runtime/cgroup.c)
    run find "$SCOPE/job_$job" -mindepth 1 -type d
    echo "# cgroups below job_$job: $(echo "$output" | sed "s|$SCOPE/job_$job/||" | sort | tr '\n' ' ')" >&3
    local d
    for d in "${lines[@]}"; do
        [[ ${d##*/} =~ ^(step_[0-9a-z_]+|slurm|user|task_[0-9]+|task_special)$ ]] ||
            fail_now "a cgroup that is not Slurm's below the job: $d"
    done
    run find "$CG" -name 'hutch-*' -type d
    assert_equal "$output" ""

    slurm scancel "$job"
    wait_for no_jobs || fail_now "job $job still there"
    wait_exit "$srun_pid" 30 || fail_now "srun -Q did not end"
}

@test "slurm cgroup: at the step's end nothing of it is left, not even a process the task left in the background" {
    # the task starts a daemon of its own (a new session, its output
    # closed) that would outlive it, and ends
    run S timeout 90 srun -Q -n 2 --container-image=box:1 sh -c \
        'setsid sleep 3002 < /dev/null > /dev/null 2>&1 & echo job-$SLURM_JOB_ID'
    assert_status 0
    local job=${lines[0]#job-}
    [[ $job =~ ^[0-9]+$ ]] || fail_now "no job id: $output"
    wait_for no_user_pids || fail_now "processes of $SUSER are left: $(ps -o pid,comm,cgroup:80,args -u "$SUSER")"
    run H ps -a --quiet --filter label=slurm.job="$job"
    assert_equal "$output" ""
    wait_for job_gone "$job" || fail_now "$SCOPE/job_$job is still there: $(find "$SCOPE/job_$job")"
}

@test "slurm cgroup: scancel of a running step in a container ends the step, its container and everything in it" {
    start_step "$BATS_TEST_TMPDIR/srun" -n 2 --container-image=box:1 --container-mounts="$W/u/out:/out" sh -c \
        'setsid sleep 3003 < /dev/null > /dev/null 2>&1 & echo up > /out/up.$SLURM_PROCID; sleep 3004 & wait'
    local srun_pid=$BG job pid
    wait_for test -s "$W/u/out/up.1" && wait_for test -s "$W/u/out/up.0" ||
        fail_now "the step did not start: $(cat "$BATS_TEST_TMPDIR/srun"*)"
    job=$(slurm squeue -h -o %i)
    pid=$(container_pid "$job")
    is_alive "$pid" || fail_now "no container process"
    slurm scancel "$job"
    wait_for no_jobs || fail_now "job $job still there"
    wait_exit "$srun_pid" 30 || fail_now "srun -Q did not end"
    wait_for no_user_pids || fail_now "processes of $SUSER are left: $(ps -o pid,comm,cgroup:80,args -u "$SUSER")"
    ! is_alive "$pid" || fail_now "the container's first process $pid lives on"
    run H ps -a --quiet --filter label=slurm.job="$job"
    assert_equal "$output" ""
    wait_for job_gone "$job" || fail_now "$SCOPE/job_$job is still there: $(find "$SCOPE/job_$job")"
}

@test "slurm cgroup: --mem (task/cgroup's ConstrainRAMSpace) limits the container's tasks: more is OOM-killed" {
    # the job's memory.max, from the host while a step runs
    start_step "$BATS_TEST_TMPDIR/srun" --mem=64M --container-image=box:1 --container-mounts="$W/u/out:/out" sh -c \
        'echo up > /out/up.0; exec sleep 3005'
    local srun_pid=$BG job
    wait_for test -s "$W/u/out/up.0" || fail_now "the step did not start: $(cat "$BATS_TEST_TMPDIR/srun"*)"
    job=$(slurm squeue -h -o %i)
    run cat "$SCOPE/job_$job/memory.max"
    assert_equal "$output" $((64 << 20))
    slurm scancel "$job"
    wait_for no_jobs || fail_now "job $job still there"
    wait_exit "$srun_pid" 30 || fail_now "srun -Q did not end"

    # vmtool, static, at its own path in the container
    run S timeout 90 srun -Q --mem=64M --container-image=box:1 --container-mounts="$W/bin:$W/bin:ro" \
        "$W/bin/vmtool" alloc 16
    assert_status 0
    assert_output_has allocated
    run S timeout 90 srun -Q --mem=64M --container-image=box:1 --container-mounts="$W/bin:$W/bin:ro" \
        sh -c "$W/bin/vmtool alloc 256; echo after \$?"
    printf '%s\n' "srun --mem=64M, vmtool alloc 256: status $status:" "${lines[@]}" | sed 's/^/# /' >&3
    [[ $output != *allocated* ]] || fail_now "256 MiB were allocated under --mem=64M"
    assert_output_has "after 137"
}
