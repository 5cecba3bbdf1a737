#!/bin/busybox sh
# /init of the test VM's initramfs (busybox sh, PID 1).
#
# Loads the virtio, 9p and overlay modules that tests/vm/run put in
# /modules (in dependency order, listed in /modules/order), mounts the
# host's root, shared read-only over virtio-9p (mount tag "hostroot"), puts a
# tmpfs-backed overlay on top of it so that the VM can write anywhere without
# touching the host, and hands over to stage2.sh in the harness's temporary
# directory (hutch.dir= on the kernel command line) with switch_root.
#
# switch_root, not chroot: the kernel refuses to create user namespaces
# for a chrooted process (current_chrooted() in kernel/user_namespace.c),
# and user namespaces are what hutch is about.  switch_root moves the new
# root onto / and deletes the initramfs, so nothing is chrooted afterwards.

PATH=/bin
export PATH

# fail MESSAGE: say why on the console and power off, so that the host's
# harness sees the VM end at once (it then reports "no results") instead
# of waiting for its timeout.
fail() {
    echo "init: $*" > /dev/console
    # the kernel panics when PID 1 exits; panic=-1 reboots, and qemu
    # -no-reboot turns that into an exit.  poweroff -f is quicker.
    poweroff -f
    exit 1
}

mount -t proc proc /proc || fail "cannot mount /proc"
mount -t sysfs sysfs /sys || fail "cannot mount /sys"
mount -t devtmpfs devtmpfs /dev || fail "cannot mount /dev"

# hutch.dir=DIR: the harness's directory on the host (and so on the share)
dir=
for arg in $(cat /proc/cmdline); do
    case $arg in
        hutch.dir=*) dir=${arg#hutch.dir=} ;;
    esac
done
[ -n "$dir" ] || fail "no hutch.dir= on the kernel command line"

for m in $(cat /modules/order); do
    insmod "/modules/$m" || fail "insmod $m failed"
done

# The host's root, read-only.
#  msize: the largest 9p message; bigger means fewer round trips for big
#    reads (the kernel's virtio transport takes up to ~512 KiB).
#  cache=loose: the guest caches data, metadata and directory entries and
#    never revalidates them.  Safe because nothing the VM reads on the share
#    changes while it runs (the harness prepares everything before the
#    boot), and several times faster than cache=none under TCG.
# The host's other file systems under / are reached through the share
# too (qemu follows the host's paths); qemu's multidevs=remap keeps
# their inode numbers apart.
mkdir -p /ro /rw /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose \
    hostroot /ro || fail "cannot mount the host's root over 9p"

# The writable layer: a tmpfs, so every write vanishes with the VM.
mount -t tmpfs -o mode=0755 overlay-rw /rw || fail "cannot mount the tmpfs for the overlay"
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/ro,upperdir=/rw/upper,workdir=/rw/work \
    overlay /newroot || fail "cannot mount the overlay over the host's root"

stage2=$dir/tests/stage2.sh
[ -x "/newroot$stage2" ] || fail "no $stage2 on the shared root"

# stage2 mounts its own /proc, /sys and /dev: unmount ours so that
# switch_root leaves nothing behind in the old root.
umount /proc /sys
umount /dev
exec switch_root /newroot "$stage2"
