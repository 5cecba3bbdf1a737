#!/bin/bash
# Prepare this host for the integration tests, the way a normal distribution
# is prepared. Run as root; idempotent.
#   hutchtest   subordinate uids and gids: one range of 65536
#   hutchnosub  no subordinate range at all
#   hutchsmall  one range of exactly 10 ids
#   hutchgrant  no range: the *.root.bats files grant it one between two
#               hutch commands, as an administrator would (and put
#               /etc/subuid and /etc/subgid back as they were)
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
    echo "setup.sh: must be run as root" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive

need=()
command -v bats >/dev/null 2>&1 || need+=(bats)
{ command -v newuidmap && command -v newgidmap; } >/dev/null 2>&1 || need+=(uidmap)
[ -x /bin/busybox ] || need+=(busybox-static)
{ command -v script && command -v runuser && command -v unshare; } >/dev/null 2>&1 || need+=(util-linux)
command -v python3 >/dev/null 2>&1 || need+=(python3)
# network.bats builds netutil.c static (cc -static) into its image, and
# looks at the host's listening sockets with ss
command -v cc >/dev/null 2>&1 || need+=(gcc)
dpkg -s libc6-dev >/dev/null 2>&1 || need+=(libc6-dev)
command -v ss >/dev/null 2>&1 || need+=(iproute2)
# images.bats makes its images with umoci and skopeo, and runs fuse-overlayfs
command -v umoci >/dev/null 2>&1 || need+=(umoci)
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
command -v fuse-overlayfs >/dev/null 2>&1 || need+=(fuse-overlayfs)
# completion.bats runs the completion scripts in zsh and fish
command -v zsh >/dev/null 2>&1 || need+=(zsh)
command -v fish >/dev/null 2>&1 || need+=(fish)
# registry.bats runs its own registries (docker-registry, with htpasswd
# files from apache2-utils and a certificate made by openssl)
command -v htpasswd >/dev/null 2>&1 || need+=(apache2-utils)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
need_registry=0
command -v docker-registry >/dev/null 2>&1 || need_registry=1
if [ ${#need[@]} -gt 0 ] || [ "$need_registry" = 1 ]; then
    apt-get update -qq >&2
fi
if [ ${#need[@]} -gt 0 ]; then
    echo "setup.sh: installing ${need[*]}" >&2
    apt-get install -y -qq "${need[@]}" >&2
fi
# The docker-registry package's own service would listen on port 5000 of
# every interface: the tests want only the program, so the service is
# neither started (policy-rc.d) nor left enabled.
if [ "$need_registry" = 1 ]; then
    echo "setup.sh: installing docker-registry (its service stays off)" >&2
    policy_rc=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d
        policy_rc=1
    fi
    rc=0
    apt-get install -y -qq docker-registry >&2 || rc=$?
    [ "$policy_rc" = 1 ] && rm -f /usr/sbin/policy-rc.d
    [ "$rc" = 0 ] || exit "$rc"
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        systemctl disable --now docker-registry.service >&2 2>/dev/null || true
    fi
fi

# Device nodes as a desktop/server distribution ships them.
for dev in /dev/fuse /dev/net/tun; do
    [ -e "$dev" ] && chmod 0666 "$dev"
done

# The users.
for u in hutchtest hutchnosub hutchsmall hutchgrant; do
    if ! getent passwd "$u" >/dev/null; then
        useradd -m -d "/home/$u" -s /bin/bash "$u"
    fi
    mkdir -p "/home/$u"
    chown "$u:" "/home/$u"
done

# A supplementary group of hutchtest, to check that keep-id keeps it.
getent group hutchshare >/dev/null || groupadd hutchshare
id -nG hutchtest | grep -qw hutchshare || usermod -a -G hutchshare hutchtest
# ...and a directory only that group can read.
mkdir -p /var/lib/hutch-test-shared
echo group-only > /var/lib/hutch-test-shared/f
chown -R root:hutchshare /var/lib/hutch-test-shared
chmod 0750 /var/lib/hutch-test-shared
chmod 0640 /var/lib/hutch-test-shared/f

# The trust rule for hutch's directories (paths.bats, trust.small.bats):
# a scratch directory of another user's that everyone can write to, as on
# a shared server, and hutchsmall's fallback runtime directory
# /tmp/hutch-UID made first by another user (squatted).
others=/var/lib/hutch-test-others
mkdir -p "$others"
chown hutchnosub: "$others"
chmod 0777 "$others"
squat=/tmp/hutch-$(id -u hutchsmall)
if [ ! -d "$squat" ] || [ -L "$squat" ] || [ "$(stat -c %U "$squat")" != hutchnosub ]; then
    rm -rf "$squat"
    mkdir "$squat"
fi
chown hutchnosub: "$squat"
chmod 0777 "$squat"

# A small file system of hutchtest's, for a store that fills up midway
# (ENOSPC): 8 MiB of tmpfs.
small=/var/lib/hutch-test-small
mkdir -p "$small"
if ! mountpoint -q "$small"; then
    mount -t tmpfs -o size=8m,mode=0755 hutch-test-small "$small" ||
        echo "setup.sh: cannot mount a tmpfs at $small; the ENOSPC test will skip" >&2
fi
chown hutchtest: "$small"

touch /etc/subuid /etc/subgid
chmod 0644 /etc/subuid /etc/subgid

# drop_ranges USER: remove every subuid/subgid line of USER (by name or uid)
drop_ranges() {
    local u=$1 uid
    uid=$(id -u "$u")
    sed -i -e "/^$u:/d" -e "/^$uid:/d" /etc/subuid /etc/subgid
}

# overlaps START COUNT: true when [START, START+COUNT) meets a line of
# /etc/subuid or /etc/subgid
overlaps() {
    local s=$1 n=$2
    awk -F: -v s="$s" -v n="$n" '
        NF >= 3 && $2 ~ /^[0-9]+$/ && $3 ~ /^[0-9]+$/ {
            if ($2 < s + n && s < $2 + $3) found = 1
        }
        END { exit !found }' /etc/subuid /etc/subgid
}

# give_range USER PREFERRED_START COUNT
give_range() {
    local u=$1 start=$2 n=$3
    drop_ranges "$u"
    while overlaps "$start" "$n"; do
        start=$((start + 100000))
    done
    usermod --add-subuids "$start-$((start + n - 1))" \
            --add-subgids "$start-$((start + n - 1))" "$u"
}

# Only rewrite when the current state is not already exactly right, so
# repeated runs keep the same ranges.
has_exactly() {
    local u=$1 n=$2 f lines
    for f in /etc/subuid /etc/subgid; do
        lines=$(awk -F: -v u="$u" -v uid="$(id -u "$u")" '$1 == u || $1 == uid' "$f")
        [ "$(printf '%s\n' "$lines" | grep -c .)" = 1 ] || return 1
        [ "$(printf '%s\n' "$lines" | cut -d: -f3)" = "$n" ] || return 1
    done
    # same start for uids and gids (the tests rely on it only loosely)
    [ "$(grep -E "^($u|$(id -u "$u")):" /etc/subuid | cut -d: -f2)" = \
      "$(grep -E "^($u|$(id -u "$u")):" /etc/subgid | cut -d: -f2)" ]
}

drop_ranges hutchnosub
# what a *.root.bats run killed before its teardown may have left
drop_ranges hutchgrant
has_exactly hutchtest 65536 || drop_ranges hutchtest
has_exactly hutchsmall 10 || drop_ranges hutchsmall
has_exactly hutchtest 65536 || give_range hutchtest 200000 65536
has_exactly hutchsmall 10 || give_range hutchsmall 300000 10

# A cgroup v2 subtree delegated to hutchtest the way systemd delegates one
# (Delegate=yes) and the kernel defines it: the user owns the directory and
# its cgroup.procs, cgroup.threads and cgroup.subtree_control.  run starts
# hutchtest's tests in it (cgroup.bats); its path goes to
# /run/hutch-test/cgroup.  Other test users stay where they are: not
# delegated.
mkdir -p /run/hutch-test
rm -f /run/hutch-test/cgroup
cg2=$(awk '{ for (i = 7; i < NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") print $5; break } }' \
    /proc/self/mountinfo | head -n 1)
if [ -n "$cg2" ] && [ -w "$cg2" ]; then
    deleg=$cg2/hutch-test.slice/hutchtest.service
    mkdir -p "$deleg"
    # what killed tests left behind (an empty cgroup is removed, a busy one stays)
    find "$deleg" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null || true
    chown hutchtest: "$deleg" "$deleg/cgroup.procs" "$deleg/cgroup.subtree_control"
    [ -e "$deleg/cgroup.threads" ] && chown hutchtest: "$deleg/cgroup.threads"
    echo "$deleg" > /run/hutch-test/cgroup
else
    echo "setup.sh: no writable cgroup2 mount: the cgroup tests will skip" >&2
fi

echo "setup.sh: host ready:" >&2
grep -E '^(hutchtest|hutchsmall|hutchnosub):' /etc/subuid | sed 's/^/  subuid /' >&2
grep -E '^(hutchtest|hutchsmall|hutchnosub):' /etc/subgid | sed 's/^/  subgid /' >&2
