# A one-node Slurm cluster for the tests that Slurm drives: `load slurm`
# from a *.root.bats file (after `load helpers`).  Debian's slurmctld and
# slurmd (22.05) with munge, on 127.0.0.1, their state in a temporary
# directory W (exported), started by slurm_up in setup_file and stopped by
# slurm_down in teardown_file.  The daemons get the environment a service
# manager gives them (no HOME, no XDG_RUNTIME_DIR).
#
#   slurm_up NAME      the cluster, in W=$TMPDIR/NAME.XXXXXX; before it:
#     SLURM_EXTRA_CONF   lines added to slurm.conf
#     SLURM_NODE_EXTRA   words added to the node's line (e.g. "Gres=gpu:1 ")
#     SLURM_PLUGSTACK    plugstack.conf's text (default: empty)
#     SLURM_PROCTRACK    ProctrackType (default proctrack/linuxproc)
#     SLURM_TASK         TaskPlugin (default task/none); the cgroup ones
#                        (tests/vm/slurm-cgroup.root.bats) need a pure
#                        cgroup v2 machine and a cgroup.conf, which
#                        slurm_before_daemons can write into $W/etc
#     slurm_before_daemons, a function the test may define: run once W
#                        and its etc/ exist, before the daemons start
#   S CMD...           CMD as SUSER in $W/u with a clean environment
#   slurm CMD...       CMD as root against this cluster
#   kill_leftovers     kill what the steps left behind

SUSER=${SLURM_TEST_USER:-hutchtest}
# W, the cluster's directory, is exported by slurm_up; SLURM_CONF is not:
# it marks what the cluster started (kill_leftovers), which bats must not be.
[ -n "${W:-}" ] && SLURM_CONF=$W/etc/slurm.conf
: "${BASE_PATH:=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin}"

need_root() {
    [ "$(id -u)" = 0 ] || skip "Slurm's daemons need root: tests/integration/run runs this file as root"
}

# free_ports N: N TCP ports of 127.0.0.1 that nothing listens on now
free_ports() {
    python3 - "$1" <<'PY'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# daemon NAME CMD...: start CMD in the foreground of a background process,
# as a service manager would (clean environment), its output in
# $W/log/NAME.out, its pid in $W/pids/NAME
daemon() {
    local name=$1
    shift
    env -i PATH="$BASE_PATH" LANG=C.UTF-8 SLURM_CONF="$SLURM_CONF" "$@" \
        > "$W/log/$name.out" 2>&1 < /dev/null 3>&- &
    echo "$!" > "$W/pids/$name"
}

# stop NAME: SIGTERM, up to 20 s (slurmd takes ~10 s once slurmctld is
# gone), then SIGKILL
stop() {
    local f=$W/pids/$1 pid
    [ -f "$f" ] || return 0
    pid=$(cat "$f")
    kill -TERM "$pid" 2>/dev/null || { rm -f "$f"; return 0; }
    for _ in $(seq 1 200); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -f "$f"
}

# S CMD...: CMD as SUSER in $W/u, with the environment run gives test users
# and this cluster's slurm.conf
S() {
    local home
    home=$(getent passwd "$SUSER" | cut -d: -f6)
    (cd "$W/u" && runuser -u "$SUSER" -- env -i \
        HOME="$home" USER="$SUSER" LOGNAME="$SUSER" SHELL=/bin/bash \
        PATH="$BASE_PATH" LANG=C.UTF-8 SLURM_CONF="$SLURM_CONF" "$@")
}

# as root, against this cluster
slurm() { env SLURM_CONF="$SLURM_CONF" "$@"; }

node_idle() { [ "$(slurm sinfo -h -n localhost -o %t 2> /dev/null)" = idle ]; }
no_jobs() { [ -z "$(slurm squeue -h -o %i 2> /dev/null)" ]; }
# daemons_alive: slurmctld and slurmd still run (not zombies: they are
# this shell's children, reaped only by stop)
daemons_alive() {
    local n
    for n in slurmctld slurmd; do
        is_alive "$(cat "$W/pids/$n" 2> /dev/null)" || return 1
    done
}
# node_idle_or_dead: the node is up, or waiting for it is pointless (where
# sinfo is slow, as in the VM under TCG, wait_for takes many minutes)
node_idle_or_dead() { node_idle || ! daemons_alive; }

# slurm_need: skip unless Slurm's programs and the test user are here
slurm_need() {
    need_root
    local b
    for b in munged slurmctld slurmd srun sbatch sinfo squeue scancel; do
        command -v "$b" > /dev/null ||
            skip "$b is not installed (scripts/deps --test installs munge, slurmctld, slurmd and slurm-client)"
    done
    getent passwd "$SUSER" > /dev/null || skip "no user $SUSER (tests/integration/setup.sh makes it)"
    : "${ROOTFS:?run through tests/integration/run}"
}

slurm_up() {
    # Everything in one directory that the user can reach (TMPDIR is run's
    # world-readable work directory).
    W=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
    chmod 0755 "$W"
    export W
    SLURM_CONF=$W/etc/slurm.conf
    mkdir -m 0755 "$W/etc" "$W/log" "$W/run" "$W/spool" "$W/bin" "$W/u"
    mkdir -m 0700 "$W/pids" "$W/state" "$W/munge"

    # munged refuses a socket directory that not everyone can enter, and
    # a key, log or seed that anyone else can read.
    head -c 128 /dev/urandom > "$W/munge/key"
    chmod 0400 "$W/munge/key"
    daemon munged munged --foreground --socket="$W/run/munge.sock" \
        --key-file="$W/munge/key" --pid-file="$W/munge/pid" \
        --log-file="$W/munge/log" --seed-file="$W/munge/seed"

    local ports
    read -r -a ports < <(free_ports 2)
    # One node with 4 CPUs whatever this machine has (config_overrides:
    # slurmd takes the configuration's word); by default linuxproc and
    # task/none, as no cgroup plugin has a hierarchy on a host with hybrid
    # cgroups; KillWait 5 s, so that a cancelled step ends quickly.
    cat > "$SLURM_CONF" <<EOF
ClusterName=hutchtest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=${ports[0]}
SlurmdPort=${ports[1]}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$W/run/munge.sock
CredType=cred/munge
StateSaveLocation=$W/state
SlurmdSpoolDir=$W/spool
SlurmctldPidFile=$W/run/slurmctld.pid
SlurmdPidFile=$W/run/slurmd.pid
SlurmctldLogFile=$W/log/slurmctld.log
SlurmdLogFile=$W/log/slurmd.log
SlurmdDebug=debug
PlugStackConfig=$W/etc/plugstack.conf
ProctrackType=${SLURM_PROCTRACK:-proctrack/linuxproc}
TaskPlugin=${SLURM_TASK:-task/none}
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
KillWait=5
SlurmdParameters=config_overrides
NodeName=localhost NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=4 ${SLURM_NODE_EXTRA:-}State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
${SLURM_EXTRA_CONF:-}
EOF
    printf '%s\n' "${SLURM_PLUGSTACK:-}" > "$W/etc/plugstack.conf"

    wait_for test -S "$W/run/munge.sock" || fail_now "munged did not start: $(cat "$W/log/munged.out" "$W/munge/log" 2> /dev/null)"
    # the test's own files that the daemons read at their start
    if declare -F slurm_before_daemons > /dev/null; then
        slurm_before_daemons || fail_now "slurm_before_daemons failed"
    fi
    daemon slurmctld slurmctld -D -i
    daemon slurmd slurmd -D -N localhost
    { wait_for node_idle_or_dead || wait_for node_idle_or_dead; } && node_idle ||
        fail_now "the node did not come up: $(slurm sinfo 2>&1; tail -n 20 "$W/log/slurmctld.log" "$W/log/slurmd.log" "$W/log/"*.out)"
}

slurm_down() {
    [ -n "${W:-}" ] && [ -d "$W" ] || return 0
    stop slurmd
    stop slurmctld
    stop munged
    kill_leftovers
    rm -rf "$W"
}

# kill_leftovers: what the steps left behind: every process that carries
# this cluster's SLURM_CONF in its environment (slurmd hands it to each
# slurmstepd and the runtime; Slurm puts it in the container's
# environment too), but not the daemons.  W is this file's own temporary
# directory: nothing else carries it.
kill_leftovers() {
    local p pid keep
    keep=" $(cat "$W/pids/"* 2> /dev/null | tr '\n' ' ') "
    for p in /proc/[0-9]*; do
        pid=${p#/proc/}
        [[ $keep == *" $pid "* ]] && continue
        [ "$pid" = "$$" ] || [ "$pid" = "$BASHPID" ] && continue
        if { tr '\0' '\n' < "$p/environ"; } 2> /dev/null | grep -qxF "SLURM_CONF=$SLURM_CONF"; then
            kill -KILL "$pid" 2> /dev/null || true
        fi
    done
}

