#!/usr/bin/env bats
# Slurm drives an OCI runtime (issue 16): Debian's slurmctld and slurmd
# (22.05) with munge, one node on 127.0.0.1, started here with their state
# in a temporary directory; an oci.conf beside slurm.conf; `srun --container
# BUNDLE` as an unprivileged user, which runs the runtime rootless.  The
# runtime is OCI_RUNTIME (default: hutch-oci; OCI_RUNTIME=/usr/sbin/runc
# proves the harness).
#
# Run as root by tests/integration/run: munged, slurmctld and slurmd need
# root (slurmd starts each step as root and becomes the job's user).  srun,
# and so every runtime call of a step, runs as SLURM_TEST_USER (hutchtest),
# with a clean environment.  The daemons get the environment a service
# manager gives them (no HOME, no XDG_RUNTIME_DIR), which is what Slurm
# hands to the runtime: every call says where its state is (--root).
#
# Two oci.conf files, as Slurm's documentation writes them for runc and
# crun: one with RunTimeRun, one with RunTimeCreate and RunTimeStart (both
# with RunTimeQuery, RunTimeKill and RunTimeDelete, which Slurm requires).
# Slurm writes its own config.json for each step (in SlurmdSpoolDir, %b):
# process.args become the step's command, process.terminal false, the
# step's environment appended to process.env, root.path the bundle's
# rootfs.
#
# What Slurm 22.05 itself cannot do here, and so is not tested: in
# create/start mode it passes neither the output nor the exit code back
# (srun's status is RunTimeStart's), and a step cancelled in that mode
# never ends with proctrack/linuxproc (the task that polls RunTimeQuery is
# a slurmstepd, which that plugin never signals; proctrack/cgroup needs a
# cgroup hierarchy that this hybrid host does not give Slurm).

load helpers
load slurm

OCI_RUNTIME=${OCI_RUNTIME:-$HUTCH_OCI}

setup_file() {
    slurm_need
    command -v "$OCI_RUNTIME" > /dev/null || skip "no OCI runtime $OCI_RUNTIME"
    slurm_up oci-slurm

    # The runtime as Slurm calls it: every call logged (who, what), also in
    # OCI_CALL_LOG when it is set, then the runtime itself in its place.
    local also=:
    if [ -n "${OCI_CALL_LOG:-}" ]; then
        { touch "$OCI_CALL_LOG" && chmod 0666 "$OCI_CALL_LOG"; } ||
            fail_now "cannot make OCI_CALL_LOG $OCI_CALL_LOG writable by $SUSER"
        also="printf 'oci-slurm %s %s\\n' \"\$(id -u)\" \"\$*\" >> '$OCI_CALL_LOG'"
    fi
    cat > "$W/bin/oci-runtime" <<EOF
#!/bin/sh
printf '%s %s\n' "\$(id -u)" "\$*" >> "$W/u/calls"
$also
exec "$OCI_RUNTIME" "\$@"
EOF
    chmod 0755 "$W/bin/oci-runtime"

    # The bundle: the user's own copy of the rootfs, in a user namespace
    # that maps the user to root, and a directory of the user's bound at
    # /out, where the container leaves what the test checks.
    local uid gid
    uid=$(id -u "$SUSER")
    gid=$(id -g "$SUSER")
    mkdir "$W/u/bundle" "$W/u/out" "$W/u/state"
    cp -a "$ROOTFS" "$W/u/bundle/rootfs"
    mkdir -p "$W/u/bundle/rootfs/out"
    cat > "$W/u/bundle/config.json" <<EOF
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": { "uid": 0, "gid": 0 },
    "args": [ "/bin/true" ],
    "env": [ "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" ],
    "cwd": "/"
  },
  "root": { "path": "rootfs", "readonly": false },
  "hostname": "slurmbox",
  "mounts": [
    { "destination": "/proc", "type": "proc", "source": "proc" },
    { "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
      "options": ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    { "destination": "/dev/pts", "type": "devpts", "source": "devpts",
      "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"] },
    { "destination": "/out", "type": "bind", "source": "$W/u/out", "options": ["rbind", "rw"] }
  ],
  "linux": {
    "namespaces": [
      { "type": "user" }, { "type": "pid" }, { "type": "ipc" },
      { "type": "uts" }, { "type": "mount" }
    ],
    "uidMappings": [ { "containerID": 0, "hostID": $uid, "size": 1 } ],
    "gidMappings": [ { "containerID": 0, "hostID": $gid, "size": 1 } ]
  }
}
EOF
    chown -R "$SUSER:" "$W/u"
}

teardown_file() {
    slurm_down
}

setup() {
    need_root
    B=$W/u/bundle
    rm -rf "$W/u/out"/* "$W/u/calls" "$W/u/create.out"
}

teardown() {
    if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
        {
            echo "--- runtime calls (uid, arguments):"
            cat "$W/u/calls" 2> /dev/null
            echo "--- RunTimeCreate's output:"
            cat "$W/u/create.out" 2> /dev/null
            echo "--- slurmd.log, the last lines of the steps:"
            grep -E '^\[[^]]*\] \[[0-9]+\.' "$W/log/slurmd.log" | grep -v -E 'debug[2-5]?:  (_set_limit|Handling|_handle|signaling)' | tail -n 25
        } >&2
    fi
    # A step that is still there would hold the node from the next test.
    slurm scancel --user "$SUSER" 2> /dev/null || true
    wait_for no_jobs || kill_leftovers
}

# the oci.conf of each mode; R is the runtime as the documentation's
# examples call it (--rootless=true --root=DIR), its state in the user's
# directory; create is written as in the example for runc (options after
# the ID), run as in the one for crun
ID=%n.%u.%j.%s.%t
R() { echo "$W/bin/oci-runtime --rootless=true --root=$W/u/state"; }

oci_conf_run() {
    cat > "$W/etc/oci.conf" <<EOF
RunTimeQuery="$(R) state $ID"
RunTimeKill="$(R) kill -a $ID"
RunTimeDelete="$(R) delete --force $ID"
RunTimeRun="$(R) run --bundle %b $ID"
EOF
}

# Slurm reads RunTimeCreate's output until its end, before it calls
# RunTimeQuery and RunTimeStart; the created container keeps the stdout and
# stderr that create gave it (the runtime passes them through, as runc and
# crun do, and containerd needs) until it is started: were they Slurm's
# pipe, the step would wait for ever.  So the runtime's output, and then
# the container's, goes to a file of the user's.
oci_conf_create() {
    cat > "$W/etc/oci.conf" <<EOF
RunTimeQuery="$(R) state $ID"
RunTimeCreate="$(R) create $ID --bundle %b >> $W/u/create.out 2>&1"
RunTimeStart="$(R) start $ID"
RunTimeKill="$(R) kill -a $ID"
RunTimeDelete="$(R) delete --force $ID"
EOF
}

# calls_of JOB: the runtime's subcommands for the job's step 0, in order,
# with the uid that called each ("1001:create")
calls_of() {
    awk -v id="localhost.$SUSER.$1.0.0" '{
        found = 0
        for (i = 2; i <= NF; i++) if ($i == id) found = 1
        if (!found) next
        for (i = 2; i <= NF; i++) if ($i !~ /^-/) { print $1 ":" $i; break }
    }' "$W/u/calls" 2> /dev/null
}

@test "slurm: srun runs a command on the node as the unprivileged user, and its exit code comes back" {
    run S srun id -un
    assert_status 0
    assert_equal "$output" "$SUSER"
    run S srun sh -c 'exit 3'
    assert_status 3
}

@test "slurm RunTimeRun: srun --container runs the command as the container's first process, and its output reaches srun" {
    oci_conf_run
    run S timeout 40 srun --container "$B" sh -c 'echo pid-$$; id -u; hostname; echo job-$SLURM_JOB_ID; cat /proc/self/uid_map'
    assert_status 0
    assert_equal "${lines[0]}" pid-1
    assert_equal "${lines[1]}" 0
    assert_equal "${lines[2]}" slurmbox
    [[ ${lines[3]} =~ ^job-[0-9]+$ ]] || fail_now "no job id from Slurm's environment: ${lines[3]}"
    assert_equal "$(norm_map "${lines[4]}")" "0 $(id -u "$SUSER") 1"
    # the runtime ran it, as the user, on Slurm's bundle in the spool
    grep -qE "^$(id -u "$SUSER") (.* )?run --bundle $W/spool/oci-job0*${lines[3]#job-}-00000/? " "$W/u/calls" ||
        fail_now "no runtime run call for job ${lines[3]#job-}: $(cat "$W/u/calls")"
}

@test "slurm RunTimeRun: the container's exit code is srun's, and srun's stdin reaches it" {
    oci_conf_run
    run S sh -c 'echo typed-in | timeout 40 srun --container "$0" sh -c "cat; exit 5"' "$B"
    assert_status 5
    assert_output_has typed-in
}

@test "slurm RunTimeRun: srun --pty --container gives the container's shell a terminal's input and output" {
    oci_conf_run
    run S timeout 50 python3 "$BATS_TEST_DIRNAME/ptydrive.py" --no-size -- srun --pty --container "$B" sh
    assert_status 0
    assert_output_has "MARK-42 pid-1" "exit code 7" "terminal restored"
}

@test "slurm RunTimeRun: scancel ends the container's step and leaves nothing running" {
    oci_conf_run
    BGPIDS=()
    # the container's first process ends on SIGTERM, as a job should
    bg "$BATS_TEST_TMPDIR/srun" runuser -u "$SUSER" -- env -i PATH="$BASE_PATH" SLURM_CONF="$SLURM_CONF" \
        sh -c 'cd "$0" && exec srun --container "$1" sh -c "trap \"exit 143\" TERM; echo up > /out/up; while :; do sleep 1; done"' "$W/u" "$B"
    local srun_pid=$BG job
    wait_for test -s "$W/u/out/up" || fail_now "the container did not start: $(cat "$BATS_TEST_TMPDIR/srun"*)"
    job=$(slurm squeue -h -o %i)
    [[ $job =~ ^[0-9]+$ ]] || fail_now "no job: $job"
    slurm scancel "$job"
    wait_for no_jobs || fail_now "job $job still there: $(slurm squeue)"
    wait_exit "$srun_pid" 20 || fail_now "srun did not end: $(cat "$BATS_TEST_TMPDIR/srun"*)"
    # nothing that the step started runs on
    run bash -c 'for p in /proc/[0-9]*; do { tr "\0" "\n" < $p/environ; } 2>/dev/null | grep -qx "SLURM_JOB_ID=$0" && echo ${p#/proc/}; done' "$job"
    assert_equal "$output" ""
    kill_bgpids
}

@test "slurm RunTimeCreate/RunTimeStart: srun --container runs the command as the container's first process" {
    oci_conf_create
    run S timeout 40 srun --container "$B" sh -c 'echo $$ > /out/pid; echo out-$$; echo job-$SLURM_JOB_ID'
    # Slurm 22.05 gives RunTimeStart's status, not the container's
    assert_status 0
    assert_equal "$(cat "$W/u/out/pid" 2> /dev/null)" 1
    # the container's output went where RunTimeCreate's went
    grep -qx out-1 "$W/u/create.out" || fail_now "no out-1 in RunTimeCreate's output: $(cat "$W/u/create.out")"
    local job
    job=$(sed -n 's/^job-//p' "$W/u/create.out")
    # create, state until created, start, state until stopped, delete
    # (then Slurm's cleanup, as root, asks for the state once more)
    local uid seq
    uid=$(id -u "$SUSER")
    seq=$(calls_of "$job" | uniq | tr '\n' ' ')
    [[ $seq == "$uid:create $uid:state $uid:start $uid:state $uid:delete "* ]] ||
        fail_now "runtime calls for job $job not create, state, start, state, delete: $seq"
    # and the container is gone
    run runuser -u "$SUSER" -- "$OCI_RUNTIME" --root="$W/u/state" state "localhost.$SUSER.$job.0.0"
    [ "$status" -ne 0 ] || fail_now "the container is still there after its step: $output"
}
