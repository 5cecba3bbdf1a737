#!/bin/bash
# mkdebian.sh [--lookup] CACHE: the Debian fixture of the tests that
# `load debian` (debian.bash), made once per machine and kept under CACHE
# (tests/integration/run uses /var/cache/hutch-test) in a directory named
# by a hash of everything that goes into it; prints that directory's path.
#
#   rootfs.tar   Debian 12 (bookworm) made by debootstrap --variant=minbase:
#                numeric owners as debootstrap left them (root:shadow
#                /etc/shadow, ...), no device nodes (a user namespace cannot
#                make them), no package lists or cached .debs, and an
#                /etc/apt/sources.list that names no repository: a test
#                writes the local one, so a test that forgets cannot reach
#                the mirror from a container.
#   repo/        a flat apt repository holding hello's .deb, with Packages,
#                Packages.gz and Release written here (no apt-utils or
#                dpkg-dev needed), for `deb [trusted=yes] URL ./`.
#   build.log    debootstrap's output and the time each step took.
#
# Run as root (debootstrap needs it) from tests/integration/run, before the
# suite's lock.  Exit 0: built or already there; 77: cannot be made on this
# host (not root, no debootstrap), the reason on stderr; 1: it failed.
# --lookup only prints the directory if it is already there (exit 1 if not),
# for runs as an unprivileged user.
#
# The inputs (their hash names the directory): this script, the suite,
# variant and extra packages, the architecture, the mirror and
# debootstrap's version.  The mirror is the one the host's apt uses for
# the suite (/etc/apt/sources.list.d/*.sources, then sources.list), or
# HUTCH_TEST_DEBIAN_MIRROR: the host reaches it anyway to install packages.
set -euo pipefail

suite=bookworm
variant=minbase
# apt is in minbase, and apt is all the tests need
include=
pkg=hello

lookup=0
if [ "${1:-}" = --lookup ]; then
    lookup=1
    shift
fi
if [ $# -ne 1 ]; then
    echo "usage: $0 [--lookup] CACHE" >&2
    exit 2
fi
cache=$1

say() { echo "mkdebian.sh: $*" >&2; }

# host_mirror SUITE: the first URI the host's apt has for SUITE
host_mirror() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        # deb822: stanzas split by blank lines; one with Types deb and
        # SUITE among its Suites
        awk -v s="$1" '
            function flush() {
                if (deb && has && uri != "") { print uri; found = 1; exit }
                deb = 0; has = 0; uri = ""
            }
            /^[ \t]*$/ { flush(); next }
            /^#/ { next }
            tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
            tolower($1) == "uris:" { uri = $2 }
            tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == s) has = 1 }
            END { if (!found) flush() }' "$f"
    done | head -n 1 | grep . && return 0
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        # deb [OPTIONS] URI SUITE COMPONENTS...
        sed -e 's/\[[^]]*\]//' "$f" | awk -v s="$1" '$1 == "deb" && $3 == s { print $2; exit }'
    done | head -n 1 | grep .
}

mirror=${HUTCH_TEST_DEBIAN_MIRROR:-$(host_mirror "$suite" || true)}
mirror=${mirror:-http://deb.debian.org/debian}
mirror=${mirror%/}
arch=$(dpkg --print-architecture)
dbver=$(dpkg-query -W -f='${Version}' debootstrap 2>/dev/null || true)

key=$( {
    cat "$0"
    printf '%s\n' "$suite" "$variant" "$include" "$pkg" "$arch" "$mirror" "$dbver"
} | sha256sum | cut -c1-16)
out=$cache/debian-$suite-$key

if [ -s "$out/rootfs.tar" ] && [ -s "$out/repo/Release" ]; then
    # in use: pruning (below) keeps it
    [ "$lookup" = 1 ] || touch "$out"
    echo "$out"
    exit 0
fi
[ "$lookup" = 0 ] || exit 1

if [ "$(id -u)" != 0 ]; then
    say "debootstrap needs root; run the suite as root once to make $out"
    exit 77
fi
if [ -z "$dbver" ] || ! command -v debootstrap >/dev/null 2>&1; then
    say "debootstrap is not installed (apt install debootstrap, or scripts/deps --test)"
    exit 77
fi

mkdir -p "$cache"
chmod 0755 "$cache"
exec 8> "$cache/.lock"
flock 8
# another run made it while this one waited
if [ -s "$out/rootfs.tar" ] && [ -s "$out/repo/Release" ]; then
    echo "$out"
    exit 0
fi

work=$(mktemp -d "$cache/.build.XXXXXX")
root=$work/root
log=$work/build.log

# unmount_below DIR: what debootstrap left mounted under DIR (proc, sys, a
# bind of /dev when it fails half way), deepest first, so that removing
# DIR can never reach into the host's
unmount_below() {
    awk -v d="$1/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
        while read -r m; do umount -l "$m" 2>/dev/null || true; done
}
cleanup() {
    unmount_below "$work"
    rm -rf --one-file-system "$work"
}
trap cleanup EXIT

# step NAME CMD...: run CMD with its output in the log, timed
step() {
    local name=$1 t0 t1 rc=0
    shift
    t0=$EPOCHREALTIME
    "$@" >> "$log" 2>&1 || rc=$?
    t1=$EPOCHREALTIME
    printf '# %s: %s s (exit %d)\n' "$name" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')" \
        "$rc" >> "$log"
    if [ "$rc" != 0 ]; then
        cp "$log" "$out.failed.log" 2>/dev/null || true
        # the last line before the timing: debootstrap's E: line, say
        say "$name failed (exit $rc): $(tail -n 2 "$log" | head -n 1) (the whole log: $out.failed.log)"
        return 1
    fi
}

say "making Debian $suite ($variant) from $mirror with debootstrap (once per machine, under $cache)"
{
    echo "# suite=$suite variant=$variant include=$include arch=$arch"
    echo "# mirror=$mirror debootstrap=$dbver"
} > "$log"
args=(--variant="$variant" --arch="$arch")
[ -z "$include" ] || args+=(--include="$include")
step debootstrap timeout 1200 debootstrap "${args[@]}" "$suite" "$root" "$mirror"
unmount_below "$work"

# hello's .deb, from the same mirror and suite: its Packages index is what
# debootstrap left in the root's lists (the host's own lists may be stale
# or absent), its SHA256 checked against that index.
fetch_pkg() {
    local idx entry file sum
    idx=$(find "$root/var/lib/apt/lists" -maxdepth 1 -name "*_dists_${suite}_main_binary-${arch}_Packages" | head -n 1)
    [ -n "$idx" ] || { echo "no Packages index of $suite in the debootstrap root" >&2; return 1; }
    entry=$(awk -v p="$pkg" '/^Package: / { on = ($2 == p) } on' "$idx")
    file=$(printf '%s\n' "$entry" | awk '/^Filename: / { print $2; exit }')
    sum=$(printf '%s\n' "$entry" | awk '/^SHA256: / { print $2; exit }')
    if [ -z "$file" ] || [ -z "$sum" ]; then
        echo "$pkg is not in $idx" >&2
        return 1
    fi
    mkdir -p "$work/repo"
    echo "fetching $mirror/$file"
    python3 - "$mirror/$file" "$work/repo/${file##*/}" <<'PY'
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=120) as r, open(sys.argv[2], "wb") as f:
    while True:
        b = r.read(1 << 16)
        if not b:
            break
        f.write(b)
PY
    echo "$sum  $work/repo/${file##*/}" | sha256sum -c -
}
step "fetch $pkg" fetch_pkg

# The flat repository's indexes, as dpkg-scanpackages and apt-ftparchive
# would write them: each .deb's control fields, then where it is and its
# hashes; the Release lists the indexes' hashes (apt checks them even with
# trusted=yes).
make_repo() {
    local d=$work/repo deb f
    : > "$d/Packages"
    for deb in "$d"/*.deb; do
        f=${deb##*/}
        {
            dpkg-deb -f "$deb"
            echo "Filename: ./$f"
            echo "Size: $(stat -c %s "$deb")"
            echo "MD5sum: $(md5sum < "$deb" | cut -d' ' -f1)"
            echo "SHA256: $(sha256sum < "$deb" | cut -d' ' -f1)"
            echo
        } >> "$d/Packages"
    done
    gzip -9n < "$d/Packages" > "$d/Packages.gz"
    {
        echo "Origin: hutch-test"
        echo "Label: hutch-test"
        echo "Suite: hutch-test"
        echo "Codename: hutch-test"
        echo "Date: $(LC_ALL=C date -u -R)"
        echo "Architectures: $arch all"
        echo "Description: the hutch tests' local repository (tests/integration/mkdebian.sh)"
        echo "MD5Sum:"
        for f in Packages Packages.gz; do
            echo " $(md5sum < "$d/$f" | cut -d' ' -f1) $(stat -c %s "$d/$f") $f"
        done
        echo "SHA256:"
        for f in Packages Packages.gz; do
            echo " $(sha256sum < "$d/$f" | cut -d' ' -f1) $(stat -c %s "$d/$f") $f"
        done
    } > "$d/Release"
}
step "make the repository" make_repo

# The image: no lists or .debs (the tests bring their own repository), and
# sources.list names none.
trim_root() {
    find "$root/var/lib/apt/lists" "$root/var/cache/apt/archives" -maxdepth 1 -type f \
        ! -name lock -delete
    rm -f "$root"/var/cache/apt/*.bin
    cat > "$root/etc/apt/sources.list" <<'EOF'
# Empty on purpose: the hutch tests write their local repository here
# (tests/integration/debian.bash), so that no container reaches a mirror.
EOF
}
step "trim the root" trim_root
step "tar the root" tar --numeric-owner -C "$root" --exclude='./dev/*' --exclude='./proc/*' \
    --exclude='./sys/*' -cf "$work/rootfs.tar" .

rm -rf --one-file-system "$root"
chmod -R a+rX "$work"
mv -T "$work" "$out"
trap - EXIT
# Fixtures of other inputs (an older mkdebian.sh, another mirror) that no
# run has used for two weeks: 120 MB each.  Another checkout may still use
# a younger one.
find "$cache" -mindepth 1 -maxdepth 1 -name 'debian-*' -mtime +14 \
    -exec rm -rf --one-file-system {} + 2>/dev/null || true
say "made $out: $(grep '^# .*: .* s (exit 0)' "$out/build.log" | sed 's/^# //' | paste -sd ';' | sed 's/;/; /g')"
echo "$out"
