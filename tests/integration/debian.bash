# A real distribution for the tests: Debian 12 made with debootstrap, and a
# local apt repository for it.  `load debian` from a .bats, after
# `load helpers`; tests/integration/run sees the `load debian` line and only
# then makes the fixture (mkdebian.sh: once per machine, as root, under
# /var/cache/hutch-test/, about 25 s), and passes its directory in
# HUTCH_DEBIAN_DIR (or why there is none in HUTCH_DEBIAN_SKIP, or why making
# it failed in HUTCH_DEBIAN_ERR).
#
# Nothing here reaches a mirror: the image's /etc/apt/sources.list names no
# repository, the repository is served on 127.0.0.1 by the test user, and
# the container reaches it at the slirp gateway 10.0.2.2 with
# --network slirp:allow_host_loopback=true.
#
#   debian_available
#       true when the fixture is there; else false, with the reason in
#       DEBIAN_SKIP (it cannot be made on this host: not root, no
#       debootstrap) or DEBIAN_FAIL (making it failed).  For setup_file,
#       where bats 1.8 cannot skip: `debian_available || return 0`
#   debian_need
#       skip (DEBIAN_SKIP) or fail (DEBIAN_FAIL) unless the fixture is
#       there; for setup
#   debian_import STORE [NAME]
#       import the image (a tarball with its real owners: root:shadow
#       /etc/shadow, ...) as NAME (default debian:12) into the store STORE,
#       or into the user's own store when STORE is "".  It is hutch import
#       as the test user, so the layer is unpacked under that user's
#       mapping: with a range the owners are real (gid 42 is a subordinate
#       gid on disk); without one (before root emulation, issue 19) every
#       file becomes the user's, root:root inside, /etc/shadow included.
#   debian_repo_start
#       serve the repository (hello's .deb, Packages, Release) over HTTP on
#       127.0.0.1 and a free port; exports DEBIAN_REPO_PORT, DEBIAN_REPO_PID,
#       DEBIAN_REPO_LOG (the access log: one "GET /./FILE" line per request)
#       and DEBIAN_REPO_URL (as the container sees it).  In setup_file, with
#       debian_repo_stop in teardown_file.
#   debian_repo_stop
#       stop it, by its pid
#   debian_run STORE [RUN-OPTIONS...] IMAGE SCRIPT
#       hutch run --rm IMAGE bash -c SCRIPT (as `run` would call it: use
#       `run debian_run ...`) on the slirp network that reaches the
#       repository, with DEBIAN_FRONTEND=noninteractive and sources.list
#       naming only the local repository (written before SCRIPT runs); STORE
#       as for debian_import
#   debian_sources_sh
#       the shell lines that make the local repository the container's only
#       one (for a `hutch run` of your own, such as one without --rm)
#   debian_apt_hello
#       the script that the acceptance runs:
#       apt-get update, apt-get install -y hello, hello
#
# A *.nosub.bats file (a user without a subordinate range) uses them the
# same way:
#     setup_file() { export S=$BATS_FILE_TMPDIR/s; debian_available || return 0;
#                    debian_import "$S" deb12; debian_repo_start; }
#     teardown_file() { debian_repo_stop; empty_store "$S"; rm -rf "$S"; }
#     setup() { debian_need; }
#     @test ... { run debian_run "$S" deb12 "$(debian_apt_hello)"; ... }

# the network option that lets the container reach the host's 127.0.0.1
DEBIAN_NET=slirp:allow_host_loopback=true

debian_available() {
    if [ -n "${HUTCH_DEBIAN_ERR:-}" ]; then
        export DEBIAN_FAIL="the Debian fixture could not be made: $HUTCH_DEBIAN_ERR"
    elif [ -z "${HUTCH_DEBIAN_DIR:-}" ]; then
        export DEBIAN_SKIP="no Debian fixture: ${HUTCH_DEBIAN_SKIP:-HUTCH_DEBIAN_DIR is not set (tests/integration/run sets it; a run as root makes the fixture)}"
    elif [ ! -r "$HUTCH_DEBIAN_DIR/rootfs.tar" ] || [ ! -r "$HUTCH_DEBIAN_DIR/repo/Release" ]; then
        export DEBIAN_FAIL="HUTCH_DEBIAN_DIR=$HUTCH_DEBIAN_DIR lacks a readable rootfs.tar or repo/Release (remove it: tests/integration/run makes it again)"
    else
        return 0
    fi
    return 1
}

debian_need() {
    debian_available && return 0
    if [ -n "${DEBIAN_FAIL:-}" ]; then
        fail_now "$DEBIAN_FAIL"
        return 1
    fi
    skip "$DEBIAN_SKIP"
}

# debian_hutch STORE ARGS...: hutch with --root STORE, or without when STORE
# is empty (the user's own store)
debian_hutch() {
    local store=$1
    shift
    if [ -n "$store" ]; then
        "$HUTCH" --root "$store" "$@"
    else
        "$HUTCH" "$@"
    fi
}

debian_import() {
    local store=$1 name=${2:-debian:12}
    debian_hutch "$store" import \
        -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        -c 'CMD ["/bin/bash"]' "$HUTCH_DEBIAN_DIR/rootfs.tar" "$name" >/dev/null
}

debian_repo_start() {
    local d=${BATS_TEST_TMPDIR:-$BATS_FILE_TMPDIR} tries
    export DEBIAN_REPO_LOG=$d/debian-repo.log
    # http.server binds port 0 and says which port it got: no race for a
    # free one.  Its output goes to files (a background process that kept
    # bats' fd 3 would hold the test up).
    python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$HUTCH_DEBIAN_DIR/repo" \
        > "$d/debian-repo.out" 2> "$DEBIAN_REPO_LOG" < /dev/null 3>&- &
    export DEBIAN_REPO_PID=$!
    for ((tries = 0; tries < 100; tries++)); do
        DEBIAN_REPO_PORT=$(sed -n 's/^Serving HTTP on 127\.0\.0\.1 port \([0-9][0-9]*\) .*/\1/p' \
            "$d/debian-repo.out")
        [ -n "$DEBIAN_REPO_PORT" ] && break
        is_alive "$DEBIAN_REPO_PID" || break
        sleep 0.1
    done
    if [ -z "$DEBIAN_REPO_PORT" ]; then
        echo "the repository's HTTP server did not start:" >&2
        cat "$d/debian-repo.out" "$DEBIAN_REPO_LOG" >&2
        debian_repo_stop
        return 1
    fi
    export DEBIAN_REPO_PORT
    export DEBIAN_REPO_URL=http://10.0.2.2:$DEBIAN_REPO_PORT
}

debian_repo_stop() {
    [ -n "${DEBIAN_REPO_PID:-}" ] || return 0
    kill -TERM "$DEBIAN_REPO_PID" 2>/dev/null || true
    wait "$DEBIAN_REPO_PID" 2>/dev/null || true
    DEBIAN_REPO_PID=
}

debian_run() {
    local store=$1 image=${*: -2:1} script=${*: -1}
    local opts=("${@:2:$# - 3}") sources
    sources=$(debian_sources_sh) || return 1
    debian_hutch "$store" run --rm --network "$DEBIAN_NET" -e DEBIAN_FRONTEND=noninteractive \
        "${opts[@]}" "$image" bash -c "$sources
$script"
}

debian_sources_sh() {
    [ -n "${DEBIAN_REPO_URL:-}" ] || {
        fail_now "no repository (call debian_repo_start first)"
        return 1
    }
    echo "rm -f /etc/apt/sources.list.d/*"
    echo "echo 'deb [trusted=yes] $DEBIAN_REPO_URL ./' > /etc/apt/sources.list || exit 99"
}

debian_apt_hello() {
    echo 'apt-get update && apt-get install -y hello && hello'
}
