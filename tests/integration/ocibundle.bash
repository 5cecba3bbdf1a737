# OCI bundles for the hutch-oci tests.  `load ocibundle` after helpers.

# oci_bundle DIR ARGS_JSON [TERMINAL]: a bundle with a copy of the rootfs
# whose config.json runs ARGS_JSON as the container's root, in a user
# namespace that maps the user (and the first subordinate range, when
# there is one), with the usual mounts and namespaces.
oci_bundle() {
    local b=$1 args=$2 term=${3:-false}
    mkdir -p "$b"
    [ -d "$b/rootfs" ] || cp -a "$ROOTFS" "$b/rootfs"
    local uidmaps gidmaps
    if [ -n "$SUBUID_START" ] && [ -n "$SUBGID_START" ]; then
        uidmaps="{\"containerID\": 0, \"hostID\": $MY_UID, \"size\": 1}, {\"containerID\": 1, \"hostID\": $SUBUID_START, \"size\": $SUBUID_COUNT}"
        gidmaps="{\"containerID\": 0, \"hostID\": $MY_GID, \"size\": 1}, {\"containerID\": 1, \"hostID\": $SUBGID_START, \"size\": $SUBGID_COUNT}"
    else
        uidmaps="{\"containerID\": 0, \"hostID\": $MY_UID, \"size\": 1}"
        gidmaps="{\"containerID\": 0, \"hostID\": $MY_GID, \"size\": 1}"
    fi
    cat > "$b/config.json" <<JSON
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": $term,
    "user": { "uid": 0, "gid": 0 },
    "args": $args,
    "env": [
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "OCIVAR=from-config"
    ],
    "cwd": "/tmp",
    "noNewPrivileges": true
  },
  "root": { "path": "rootfs", "readonly": false },
  "hostname": "ocihost",
  "annotations": { "org.example.key": "value" },
  "mounts": [
    { "destination": "/proc", "type": "proc", "source": "proc" },
    { "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
      "options": ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    { "destination": "/dev/pts", "type": "devpts", "source": "devpts",
      "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"] },
    { "destination": "/dev/shm", "type": "tmpfs", "source": "shm",
      "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
    { "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
      "options": ["nosuid", "noexec", "nodev"] },
    { "destination": "/sys", "type": "sysfs", "source": "sysfs",
      "options": ["nosuid", "noexec", "nodev", "ro"] }
  ],
  "linux": {
    "namespaces": [
      { "type": "user" }, { "type": "pid" }, { "type": "ipc" },
      { "type": "uts" }, { "type": "mount" }, { "type": "network" }
    ],
    "uidMappings": [ $uidmaps ],
    "gidMappings": [ $gidmaps ]
  }
}
JSON
}

# oci_json EXPR: evaluate the python expression EXPR on the JSON read from
# stdin (bound to `j`), print the result
oci_json() {
    python3 -c "import json, sys; j = json.load(sys.stdin); print($1)"
}

# console_listener SOCKET OUT: a console socket at SOCKET, as an engine
# listens on one (in the background, its pid in CONSOLE_PID): it takes the
# terminal's master that hutch-oci sends (SCM_RIGHTS) and writes to OUT
# what it reads from it, up to the line "hello-tty"
console_listener() {
    python3 - "$1" "$2" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(1)
open(sys.argv[1] + ".ready", "w").close()
c, _ = s.accept()
_, fds, _, _ = socket.recv_fds(c, 1, 1)
data = b""
while b"hello-tty" not in data:
    try:
        d = os.read(fds[0], 4096)
    except OSError:
        break
    if not d:
        break
    data += d
open(sys.argv[2], "wb").write(data)
PY
    CONSOLE_PID=$!
    wait_for test -e "$1.ready"
}
