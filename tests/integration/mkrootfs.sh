#!/bin/sh
# mkrootfs.sh DIR: build a minimal busybox root filesystem in DIR from the
# host's static busybox. Run it as the user who is to own the files.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
dir=$1
bb=${BUSYBOX:-/bin/busybox}
if [ ! -x "$bb" ]; then
    echo "mkrootfs.sh: $bb not found (apt install busybox-static)" >&2
    exit 1
fi
if ! file -L "$bb" 2>/dev/null | grep -q 'statically linked' && \
   ldd "$bb" >/dev/null 2>&1; then
    echo "mkrootfs.sh: $bb is not statically linked (apt install busybox-static)" >&2
    exit 1
fi

umask 022
mkdir -p "$dir"
cd "$dir"
for d in bin sbin usr/bin usr/sbin etc proc sys dev tmp home/alice home/bob \
         root var/tmp run mnt; do
    mkdir -p "$d"
done
chmod 1777 tmp var/tmp
chmod 0700 root

cp "$bb" bin/busybox
chmod 0755 bin/busybox
for applet in $(bin/busybox --list); do
    [ "$applet" = busybox ] && continue
    [ -e "bin/$applet" ] || [ -L "bin/$applet" ] || ln -s busybox "bin/$applet"
done

cat > etc/passwd <<'PW'
root:x:0:0:root:/root:/bin/sh
alice:x:1000:1000:Alice:/home/alice:/bin/sh
bob:x:1001:1001:Bob:/home/bob:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PW
cat > etc/group <<'GR'
root:x:0:
staff:x:50:alice,bob
alice:x:1000:
bob:x:1001:
nogroup:x:65534:
GR
: > etc/hostname
: > etc/hosts
: > etc/resolv.conf
