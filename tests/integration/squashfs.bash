# Shared by squashfs.bats, squashfs.nosub.bats and squashfs.root.bats:
# the test image of the single-file (squashfs) image tests (issue 19).

MKTAR="python3 $BATS_TEST_DIRNAME/mktar.py"

# sq_make_image OUT [USER]: an oci-archive of the image `sq:latest`, two
# layers over the busybox root filesystem:
#   lower  /home/app (1234:1234) with owned (0600, 1234:1234); /etc/gone;
#          /gonedir/old; /data/a and its hard link /data/b; a setuid
#          /bin/setuid
#   upper  deletes /etc/gone (a whiteout) and what /gonedir held (opaque),
#          adds /gonedir/new and /etc/grp-owned (0:1234), and an
#          /etc/passwd with app (1234)
# config: Entrypoint [/bin/echo ep], Cmd [cmd], Env FOO=bar, WorkingDir
# /home/app, and User USER when given.
sq_make_image() {
    local out=$1 user=${2:-} d
    d=$(mktemp -d "$BATS_FILE_TMPDIR/sqimg.XXXXXX")
    $MKTAR tar "$d/l1.tar" "tree:$ROOTFS" \
        owner:1234:1234 dir:home/app mode:0600 $'file:home/app/owned:mine\n' mode:- owner:0:0 \
        file:etc/gone:gone dir:gonedir file:gonedir/old:old \
        dir:data file:data/a:linked hard:data/b:data/a \
        mode:4755 file:bin/setuid:x mode:-
    $MKTAR tar "$d/l2.tar" file:etc/.wh.gone: dir:gonedir file:gonedir/.wh..wh..opq: \
        $'file:gonedir/new:new\n' owner:0:1234 file:etc/grp-owned:g owner:0:0 \
        "file:etc/passwd:$(cat "$ROOTFS/etc/passwd")
app:x:1234:1234:App:/home/app:/bin/sh"
    set -- --config 'Entrypoint=["/bin/echo","ep"]' --config 'Cmd=["cmd"]' \
        --config 'Env=["PATH=/bin:/sbin:/usr/bin","FOO=bar"]' --config 'WorkingDir="/home/app"'
    [ -z "$user" ] || set -- "$@" --config "User=\"$user\""
    $MKTAR oci "$out" sq:latest "$d/l1.tar" "$d/l2.tar" "$@"
    rm -rf "$d"
}

# sq_listing FILE: `MODE OWNER PATH` lines of the squashfs FILE, paths
# from its root ("/home/app/owned")
sq_listing() {
    unsquashfs -lln -d '' "$1" | awk '{ print $1, $2, $6 }'
}

# sq_squashfuse_gone STORE: no squashfuse of a container of STORE is left
sq_squashfuse_gone() {
    no_cmdline ".*squashfuse.* $1/containers/.*"
}

# sq_corrupt FILE OFFSET: overwrite 8 bytes of FILE's superblock at OFFSET
# with a table offset far beyond the file
sq_corrupt() {
    printf '\377\377\377\377\000\000\000\000' |
        dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
