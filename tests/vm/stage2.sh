#!/bin/bash
# Stage 2 of the test VM: PID 1 on the host's root (shared read-only over
# 9p, with a tmpfs overlay on top), after the initramfs's switch_root.
#
# Sets the VM up like a systemd machine where user@UID.service has been
# started for the test user (pure cgroup v2, a delegated subtree with
# controllers), runs the bats files as that user, writes the TAP and the
# exit status to the "out" share and powers off.  The *.root.bats files
# run last, as root (Slurm's daemons), in a cgroup of their own.
#
# Reads its settings from vm.conf in the harness's directory (written by
# tests/vm/run): VM_USER, VM_FILES, VM_ROOTFS, VM_TEST_TIMEOUT.
#
# PID 1 must never exit (the kernel would panic): every path ends in
# power_off.
set -u
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
umask 022

# this script is $dir/tests/stage2.sh
dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=/mnt/out
bb=/bin/busybox

# log MESSAGE: progress on the console (the host keeps it in console.log),
# with the time since boot
log() {
    local up
    read -r up _ < /proc/uptime
    echo "stage2 [$up]: $*" > /dev/console
}

power_off() {
    sync
    umount "$out" 2>/dev/null
    # busybox's poweroff -f calls reboot(2) directly (the host's
    # /sbin/poweroff would want systemd); sysrq is the fallback.
    $bb poweroff -f
    echo o > /proc/sysrq-trigger
    sleep 10
}

# fail MESSAGE: tell the host why there are no results, and stop
fail() {
    log "FAILED: $*"
    if mountpoint -q "$out" 2>/dev/null; then
        echo "$*" > "$out/error"
    fi
    power_off
}

# ---- the usual mounts ----------------------------------------------------
mount -t proc -o nosuid,nodev,noexec proc /proc || fail "mount /proc"
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys || fail "mount /sys"
mount -t devtmpfs -o nosuid,mode=0755 devtmpfs /dev || fail "mount /dev"
# the links udev/systemd make (bash's <(...) needs /dev/fd)
ln -sfn /proc/self/fd /dev/fd
ln -sfn /proc/self/fd/0 /dev/stdin
ln -sfn /proc/self/fd/1 /dev/stdout
ln -sfn /proc/self/fd/2 /dev/stderr
mkdir -p /dev/pts /dev/shm
mount -t devpts -o nosuid,noexec,gid=5,mode=0620,ptmxmode=0666 devpts /dev/pts || fail "mount /dev/pts"
mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs /dev/shm || fail "mount /dev/shm"
mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs /run || fail "mount /run"

# /tmp: the VM's own ext4 on the scratch disk (/dev/vda, a sparse file in
# the harness's directory), as /tmp is on ext4 on a default Debian.  The
# tests' stores go under it (TMPDIR), so it must be a file system a store
# can be on: not the overlay we run on (no overlay upper on an overlay), and
# not a tmpfs on this kernel (tmpfs has user.* xattrs, which hutch's
# overlay driver needs, only since Linux 6.6).
# The harness's directory is on the host's /tmp, though: keep it at the
# same path on top of the new /tmp, so that every path the host wrote into
# vm.conf holds.
modprobe virtio_blk || fail "modprobe virtio_blk"
modprobe ext4 || fail "modprobe ext4"
for _ in $(seq 1 50); do
    [ -b /dev/vda ] && break
    sleep 0.1
done
[ -b /dev/vda ] || fail "no scratch disk /dev/vda"
mkdir -p /run/harness
mount --bind "$dir" /run/harness || fail "bind $dir"
mount -t ext4 -o nosuid,nodev /dev/vda /tmp || fail "mount the scratch disk on /tmp"
chmod 1777 /tmp
mkdir -p "$dir"
mount --move /run/harness "$dir" || fail "move $dir back"
rmdir /run/harness

# Pure cgroup v2, mounted as systemd mounts it: nsdelegate makes cgroup
# namespaces delegation boundaries, memory_recursiveprot is systemd's default.
# /sys/fs/cgroup is a directory of the fresh sysfs, so nothing of v1 is there.
mount -t cgroup2 -o nosuid,nodev,noexec,nsdelegate,memory_recursiveprot \
    cgroup2 /sys/fs/cgroup || fail "mount cgroup2 on /sys/fs/cgroup"

# The results share from the host, uncached so that every write reaches
# the host at once (the host follows the TAP as it is written).
mkdir -p "$out"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=none out "$out" ||
    fail "mount the out share"

. "$dir/vm.conf" || fail "cannot read $dir/vm.conf"
log "up; running ${VM_FILES[*]} as $VM_USER"

$bb hostname hutch-vm
# The loopback interface: tests talk to servers on 127.0.0.1.
ip link set lo up 2>/dev/null || $bb ip link set lo up || fail "cannot bring lo up"

# /dev/fuse and /dev/net/tun (fuse-overlayfs, slirp) as a distribution
# ships them: usable by every user.  The host's /lib/modules is on the
# shared root, so the host's modprobe finds the modules.
for m in fuse tun; do
    modprobe "$m" 2>/dev/null || log "modprobe $m failed"
done
for dev in /dev/fuse /dev/net/tun; do
    [ -e "$dev" ] && chmod 0666 "$dev"
done

# the PATH every test gets (BASE_PATH for the root tests' helpers)
base_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# ---- the test user ---------------------------------------------------------
uid=$(id -u "$VM_USER") || fail "no user $VM_USER"
gid=$(id -g "$VM_USER")
home=$(getent passwd "$VM_USER" | cut -d: -f6)

# what pam_systemd/logind would make
runtime=/run/user/$uid
mkdir -p "$runtime"
chown "$uid:$gid" "$runtime"
chmod 0700 "$runtime"

# a TMPDIR of the user's on the VM's tmpfs: bats puts BATS_TEST_TMPDIR (and
# so the tests' stores) under it
utmp=/tmp/$VM_USER
mkdir -p "$utmp"
chown "$uid:$gid" "$utmp"
chmod 0700 "$utmp"

# ---- cgroup delegation, as systemd does it for user@UID.service ----------
# Every controller the kernel offers is enabled from the root down to
# user-UID.slice, so that they are all in user@UID.service's
# cgroup.controllers.  The service's cgroup D (and the files that make it
# delegated, per the kernel's cgroup-v2.rst "Delegation") is given to
# the user, who decides what to enable in D's own subtree_control: nothing
# is enabled there.
cg=/sys/fs/cgroup

# enable_all CGROUP: enable every controller CGROUP has for its children
enable_all() {
    local c
    for c in $(cat "$1/cgroup.controllers"); do
        echo "+$c" > "$1/cgroup.subtree_control" || fail "cannot enable $c in $1"
    done
}

enable_all "$cg"
mkdir -p "$cg/user.slice"
enable_all "$cg/user.slice"
mkdir -p "$cg/user.slice/user-$uid.slice"
enable_all "$cg/user.slice/user-$uid.slice"
D=$cg/user.slice/user-$uid.slice/user@$uid.service
mkdir -p "$D"

# delegate CGROUP: give CGROUP to the user the way systemd's Delegate=yes does:
# the owner of the directory and its three files, and (systemd 252) the
# user.delegate attribute that tells the user it may change the cgroup
delegate() {
    chown "$uid:$gid" "$1" "$1/cgroup.procs" "$1/cgroup.threads" \
        "$1/cgroup.subtree_control" || fail "cannot delegate $1"
    python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.delegate", b"1")' "$1" ||
        fail "cannot mark $1 delegated"
}
delegate "$D"
# the scope the tests run in (as a delegated scope of the user's would be);
# D itself keeps no process, so that the user can enable controllers in it
mkdir -p "$D/tests.scope"
delegate "$D/tests.scope"
log "delegated $D: $(cat "$D/cgroup.controllers")"

# ---- run the tests ------------------------------------------------------
# Two runs of bats, one TAP stream.  The files in manager_files need a
# systemd user manager for the user (scope.bats: hutch asking it for a
# delegated scope; oci-cgroup-systemd.bats: hutch-oci's systemd cgroup
# manager); the others must run without one (limits.bats checks
# what hutch does where no manager is reachable, and a manager would
# change D's subtree_control under them).  So the other files run first,
# then `systemd --user` is started in D/init.scope as the user, the
# manager's files run, and the manager is stopped.  The plan, printed
# first, counts both runs; the second run's results are renumbered after
# the first's.
#
# apparmor.bats runs on its own between the two (run_apparmor), with
# hutch's AppArmor profiles loaded and, where the kernel has it,
# kernel.apparmor_restrict_unprivileged_userns turned on: only while it
# runs, so that no other test sees the restriction.
#
# The *.root.bats files run last, as root (run_root): Slurm's daemons need
# root, and slurm-cgroup.root.bats checks its cgroup plugins on this pure
# cgroup v2 hierarchy, where the host's integration tests cannot.
manager_files=(scope.bats oci-cgroup-systemd.bats)
aa_files=(apparmor.bats)
files1=() files2=() files_aa=() files_root=()
for f in "${VM_FILES[@]}"; do
    if [[ $f == *.root.bats ]]; then
        files_root+=("$f")
    elif [[ " ${manager_files[*]} " == *" $f "* ]]; then
        files2+=("$f")
    elif [[ " ${aa_files[*]} " == *" $f "* ]]; then
        files_aa+=("$f")
    else
        files1+=("$f")
    fi
done
# count FILE...: the number of tests in those files
count() {
    [ $# -gt 0 ] || { echo 0; return; }
    bats --count "${@/#/$dir/tests/}"
}
n1=$(count "${files1[@]}") || fail "bats --count ${files1[*]}"
n2=$(count "${files2[@]}") || fail "bats --count ${files2[*]}"
naa=$(count "${files_aa[@]}") || fail "bats --count ${files_aa[*]}"
nroot=$(count "${files_root[@]}") || fail "bats --count ${files_root[*]}"

cd "$dir" || fail "cd $dir"
log "starting bats"
read -r up _ < /proc/uptime
echo "$up" > "$out/started"
echo "1..$((n1 + naa + n2 + nroot))" > "$out/tap"
: > "$out/stderr"

# renumber OFFSET: bats's TAP on stdin without its plan, each result's
# number raised by OFFSET
renumber() {
    local line plan=
    while IFS= read -r line; do
        if [ -z "$plan" ] && [[ $line =~ ^1\.\.[0-9]+ ]]; then
            plan=1
            continue
        fi
        if [[ $line =~ ^(not )?ok\ ([0-9]+)(.*)$ ]]; then
            line="${BASH_REMATCH[1]}ok $((BASH_REMATCH[2] + $1))${BASH_REMATCH[3]}"
        fi
        printf '%s\n' "$line"
    done
}

# all_reported N: out/tap has N results
all_reported() {
    [ "$(grep -c -E '^(not )?ok ' "$out/tap")" -ge "$1" ]
}

# run_bats OFFSET FILE...: bats on FILE... as the user in D/tests.scope
# (as root in R, the root tests' cgroup, when bats_as is root), its TAP
# appended to out/tap after OFFSET results, with the variables of
# extra_env (NAME=VALUE) added to its environment; returns bats's status
extra_env=()
bats_as=user
R=$cg/root-tests.scope
run_bats() {
    local offset=$1 bats_pid reported_at= linger=60 pids end watched=$D
    shift
    end=$((offset + $(count "$@")))
    [ "$bats_as" = root ] && watched=$R
    {
        (
            if [ "$bats_as" = root ]; then
                # the environment tests/integration/run gives its root
                # tests, as far as it applies here: no GRANT_USER (no
                # hutchgrant's rootfs is made for the VM), and the
                # user Slurm runs steps as is the delegated hutchtest
                echo "$BASHPID" > "$R/cgroup.procs" || exit 125
                exec env -i \
                    HOME=/root USER=root LOGNAME=root SHELL=/bin/bash \
                    PATH="$base_path" BASE_PATH="$base_path" \
                    LANG=C.UTF-8 TMPDIR="$rtmp" \
                    HUTCH="$dir/bin/hutch" HUTCH_OCI="$dir/bin/hutch-oci" \
                    HUTCH_INIT_DIR="$dir/bin" ROOTFS="$VM_ROOTFS" \
                    MKROOTFS="$dir/tests/mkrootfs.sh" \
                    BATS_TEST_TIMEOUT="$VM_TEST_TIMEOUT" HUTCH_WAIT_SCALE=3 \
                    HUTCH_CGROUP_DELEGATED="$D" SLURM_TEST_USER="$VM_USER" \
                    "${extra_env[@]}" \
                    bats --tap "${@/#/$dir/tests/}"
            fi
            # Into the scope before anything of the user's runs, and then
            # become the user with setpriv, which execs: runuser would stay
            # behind as a root process in the scope, and a root process in
            # a user's cgroup makes the user's writes there fail (enabling
            # cpuset in D moves every process of D's subtree, which needs
            # the right to change the scheduling of each: EPERM for another
            # user's).
            echo "$BASHPID" > "$D/tests.scope/cgroup.procs" || exit 125
            exec setpriv --reuid="$uid" --regid="$gid" --init-groups -- env -i \
                HOME="$home" USER="$VM_USER" LOGNAME="$VM_USER" SHELL=/bin/bash \
                PATH="$base_path" \
                LANG=C.UTF-8 TMPDIR="$utmp" XDG_RUNTIME_DIR="$runtime" \
                HUTCH="$dir/bin/hutch" HUTCH_OCI="$dir/bin/hutch-oci" \
                HUTCH_INIT_DIR="$dir/bin" ROOTFS="$VM_ROOTFS" \
                MKROOTFS="$dir/tests/mkrootfs.sh" \
                BATS_TEST_TIMEOUT="$VM_TEST_TIMEOUT" HUTCH_WAIT_SCALE=3 \
                HUTCH_CGROUP_DELEGATED="$D" "${extra_env[@]}" \
                bats --tap "${@/#/$dir/tests/}"
        ) < /dev/null 2>> "$out/stderr" | renumber "$offset" >> "$out/tap"
        exit "${PIPESTATUS[0]}"
    } &
    bats_pid=$!
    # Each test's time limit (BATS_TEST_TIMEOUT): the watchdog kills what a
    # hung test left running, with its kernel stacks on out/stderr (we are
    # root here), and the run goes on (tests/watchdog says why bats's own
    # limit is not enough).
    python3 "$dir/tests/watchdog" "$bats_pid" > /dev/null 2>> "$out/stderr" &

    # bats waits for whatever holds its output; a process that a test left
    # behind (a container whose hutch was killed, say) would hold the VM
    # until the host's timeout.  So once every result is in, bats gets
    # $linger seconds (teardown_file and the like) to exit; after that,
    # what is left in the delegated cgroup (R, for the root tests, and
    # what Slurm's cgroup plugins made in system.slice) is listed in
    # out/leftovers and killed.
    while kill -0 "$bats_pid" 2>/dev/null; do
        if [ -z "$reported_at" ] && all_reported "$end"; then
            reported_at=$SECONDS
        fi
        if [ -n "$reported_at" ] && [ $((SECONDS - reported_at)) -ge "$linger" ]; then
            local w kill=("$watched")
            [ "$bats_as" = root ] && [ -d "$cg/system.slice" ] && kill+=("$cg/system.slice")
            log "bats still runs ${linger} s after its last result: killing what is left in ${kill[*]}"
            for w in "${kill[@]}"; do
                pids=$(find "$w" -name cgroup.procs -exec cat {} + | tr '\n' ',')
                [ -n "$pids" ] || continue
                ps -o pid,user,cgroup:100,args -p "${pids%,}" >> "$out/leftovers" 2>&1
                echo 1 > "$w/cgroup.kill" ||
                    for p in ${pids//,/ }; do kill -KILL "$p"; done
            done
            break
        fi
        sleep 1
    done
    wait "$bats_pid"
}

# ---- AppArmor, for aa_files -----------------------------------------------
# Debian's kernels enable AppArmor by default (CONFIG_DEFAULT_SECURITY_APPARMOR),
# so every test already runs with it, with no policy loaded.  run_apparmor
# loads hutch's profiles (made by tests/vm/run for the copy of hutch in
# $dir/aa, so they attach to nothing else), turns on the restriction of
# user namespaces where the kernel has it (an Ubuntu patch), runs the
# files, and undoes both.  The tests learn what was done from
# HUTCH_AA_STATE ("loaded", or why not), HUTCH_AA_PROFILES (the kernel's
# list of loaded profiles, which only root may read), HUTCH_AA_USERNS
# ("yes", or why the profiles lack the rule) and HUTCH_AA_RESTRICT ("1",
# or why not).
aa_knob=/proc/sys/kernel/apparmor_restrict_unprivileged_userns
run_apparmor() {
    local offset=$1 state restrict knob_was= s=0 parser profiles=
    shift
    parser=$(command -v apparmor_parser)
    if [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" != Y ]; then
        state="AppArmor is not enabled in the VM's kernel $(uname -r)"
    elif [ -n "$VM_AA_WHY" ]; then
        state=$VM_AA_WHY
    elif ! mountpoint -q /sys/kernel/security &&
        ! mount -t securityfs -o nosuid,nodev,noexec securityfs /sys/kernel/security; then
        state="cannot mount securityfs on /sys/kernel/security"
    elif "$parser" -r -K "$VM_AA_PROFILE" > "$out/apparmor.log" 2>&1; then
        state=loaded
        profiles=$(cat /sys/kernel/security/apparmor/profiles)
    else
        state="apparmor_parser -r could not load the profiles into kernel $(uname -r): $(tail -n 1 "$out/apparmor.log")"
    fi
    if [ ! -e "$aa_knob" ]; then
        restrict="kernel $(uname -r) has no kernel.apparmor_restrict_unprivileged_userns (Ubuntu's kernels add it, with a patch that is in neither Debian's nor upstream Linux)"
    elif [ "$state" != loaded ]; then
        restrict="not turned on: hutch's profiles are not loaded ($state)"
    elif [ "$VM_AA_USERNS" != yes ]; then
        restrict="not turned on: the loaded profiles lack the userns rule ($VM_AA_USERNS)"
    elif knob_was=$(cat "$aa_knob") && echo 1 > "$aa_knob"; then
        restrict=1
    else
        restrict="could not turn on kernel.apparmor_restrict_unprivileged_userns"
    fi
    log "AppArmor for ${*}: profiles: $state; restriction: $restrict"
    extra_env=(HUTCH_AA="$dir/aa" HUTCH_AA_STATE="$state" HUTCH_AA_PROFILES="$profiles"
        HUTCH_AA_USERNS="${VM_AA_USERNS:-no profiles}" HUTCH_AA_RESTRICT="$restrict")
    run_bats "$offset" "$@" || s=$?
    extra_env=()
    [ -z "$knob_was" ] || echo "$knob_was" > "$aa_knob"
    if [ "$state" = loaded ]; then
        "$parser" -R "$VM_AA_PROFILE" >> "$out/apparmor.log" 2>&1 ||
            log "apparmor_parser -R failed (out/apparmor.log)"
    fi
    return "$s"
}

# ---- the user's systemd manager, for manager_files ------------------------
# systemd --user as user@UID.service runs it: as the user, in D/init.scope,
# with XDG_RUNTIME_DIR.  It refuses to run on a machine not booted with
# systemd: /run/systemd/system is how it tells.  It is started only now, so
# the first run never sees it (nor this directory).
manager_pid=
start_manager() {
    local i
    mkdir -p /run/systemd/system
    mkdir -p "$D/init.scope"
    chown "$uid:$gid" "$D/init.scope" "$D/init.scope/cgroup.procs" \
        "$D/init.scope/cgroup.threads" "$D/init.scope/cgroup.subtree_control"
    (
        echo "$BASHPID" > "$D/init.scope/cgroup.procs" || exit 125
        cd "$home" || exit 125
        exec setpriv --reuid="$uid" --regid="$gid" --init-groups -- env -i \
            HOME="$home" USER="$VM_USER" LOGNAME="$VM_USER" SHELL=/bin/bash \
            PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
            LANG=C.UTF-8 XDG_RUNTIME_DIR="$runtime" \
            SYSTEMD_LOG_TARGET=console SYSTEMD_LOG_LEVEL=info \
            /lib/systemd/systemd --user
    ) < /dev/null > "$out/systemd-user.log" 2>&1 &
    manager_pid=$!
    for i in $(seq 1 300); do
        [ -S "$runtime/systemd/private" ] && break
        kill -0 "$manager_pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ -S "$runtime/systemd/private" ]; then
        log "systemd --user is up (pid $manager_pid)"
    else
        log "systemd --user did not come up (out/systemd-user.log)"
    fi
}

stop_manager() {
    local i
    [ -n "$manager_pid" ] || return 0
    kill -TERM "$manager_pid" 2>/dev/null
    for i in $(seq 1 300); do
        kill -0 "$manager_pid" 2>/dev/null || break
        # a zombie is gone as far as we care
        [ "$(awk '{ print $3 }' "/proc/$manager_pid/stat" 2>/dev/null)" = Z ] && break
        sleep 0.1
    done
    if kill -0 "$manager_pid" 2>/dev/null &&
        [ "$(awk '{ print $3 }' "/proc/$manager_pid/stat" 2>/dev/null)" != Z ]; then
        log "systemd --user did not stop within 30 s of SIGTERM: killing it"
        kill -KILL "$manager_pid" 2>/dev/null
    fi
    wait "$manager_pid"
    log "systemd --user exited with $?"
    manager_pid=
}

status=0
if [ ${#files1[@]} -gt 0 ]; then
    run_bats 0 "${files1[@]}" || status=$?
fi
if [ ${#files_aa[@]} -gt 0 ] && [ ! -s "$out/leftovers" ]; then
    saa=0
    run_apparmor "$n1" "${files_aa[@]}" || saa=$?
    [ "$status" != 0 ] || status=$saa
fi
if [ ${#files2[@]} -gt 0 ] && [ ! -s "$out/leftovers" ]; then
    start_manager
    log "running ${files2[*]} with the user's systemd manager"
    s2=0
    run_bats "$((n1 + naa))" "${files2[@]}" || s2=$?
    [ "$status" != 0 ] || status=$s2
    stop_manager
fi
if [ ${#files_root[@]} -gt 0 ] && [ ! -s "$out/leftovers" ]; then
    # root's own TMPDIR on the scratch disk, which the users may enter
    # (the Slurm cluster's directory is made there and must be reachable
    # by the job's user, as the integration suite's work directory is)
    rtmp=/tmp/root-tests
    mkdir -p "$rtmp" "$R"
    chmod 0755 "$rtmp"
    log "running ${files_root[*]} as root in $R"
    bats_as=root
    sroot=0
    run_bats "$((n1 + naa + n2))" "${files_root[@]}" || sroot=$?
    bats_as=user
    [ "$status" != 0 ] || status=$sroot
fi
log "bats exited with $status"
# the kernel's log, for debugging (OOM kills, 9p or overlay warnings...)
dmesg > "$out/dmesg" 2>&1
echo "$status" > "$out/status"
power_off
