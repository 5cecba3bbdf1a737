# Registries for the pull/push tests: `load registry` from a .bats (after
# `load helpers`).
#
# Everything listens on 127.0.0.1 only, lives under $REG_WORK (default
# $BATS_FILE_TMPDIR) and is stopped by pid (reg_stop_all, proxy_stop_all).
#
#   reg_start NAME [--tls] [--htpasswd USER:PASS]
#       starts Debian's docker-registry (distribution) with its own config on
#       a free port, waits until /v2/ answers, and exports
#         REG_<NAME>        127.0.0.1:PORT
#         REG_<NAME>_DIR    its directory: config.yml, data/, registry.log
#                           (the access log: one line per request)
#       with --tls also REG_<NAME>_CERTS, a directory holding only ca.crt
#       (the registry's self-signed certificate, SAN IP:127.0.0.1), as
#       --cert-dir wants it.
#   reg_push SRC DEST [SKOPEO-COPY-OPTIONS...]
#       skopeo copy SRC docker://DEST, without TLS verification
#   proxy_start NAME UPSTREAM [regproxy.py OPTIONS...]
#       starts regproxy.py in front of http://UPSTREAM and exports
#         PROXY_<NAME>      127.0.0.1:PORT
#         PROXY_<NAME>_LOG  its request log
#         PROXY_<NAME>_PID
#   reg_manifest_digest REF [SKOPEO-OPTIONS] / reg_config_digest / reg_layer_digests
#       what the registry holds, read with skopeo (digests "sha256:...")
#   reg_mkindex LAYOUT TAG REF=OS/ARCH[/VARIANT]...
#       adds to the OCI layout LAYOUT an image index tagged TAG whose entries
#       are the manifests tagged REF, with those platforms
#   reg_set_diff_id LAYOUT TAG N DIGEST
#       in the OCI layout LAYOUT, makes the config of the image tagged TAG
#       claim DIGEST as the diff_id of layer N (0: the bottom one), a lie;
#       the config, manifest and index.json are rewritten to match
#
# Registries are started in setup_file (their variables are exported, so the
# tests see them) and stopped in teardown_file; proxies are per test.

: "${REG_WORK:=${BATS_FILE_TMPDIR:-${TMPDIR:-/tmp}}}"
REGPROXY=${REGPROXY:-$BATS_TEST_DIRNAME/regproxy.py}
# A safety net: whatever happens to the suite, nothing started here outlives
# this many seconds.
REG_MAX_LIFE=${REG_MAX_LIFE:-3600}

# reg_need_tools: skip unless everything the registry tests use is here
reg_need_tools() {
    local t
    for t in docker-registry skopeo openssl htpasswd python3 timeout; do
        command -v "$t" >/dev/null 2>&1 || skip "$t is not installed (tests/integration/setup.sh installs it)"
    done
}

# reg_free_port: a TCP port of 127.0.0.1 free right now
reg_free_port() {
    python3 -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# reg_wait_v2 URL [SECONDS]: wait until URL/v2/ answers with any HTTP status
reg_wait_v2() {
    python3 - "$1" "${2:-20}" <<'PY'
import ssl, sys, time, urllib.error, urllib.request
url, limit = sys.argv[1] + "/v2/", float(sys.argv[2])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
end = time.time() + limit
while time.time() < end:
    try:
        urllib.request.urlopen(url, timeout=2, context=ctx)
        sys.exit(0)
    except urllib.error.HTTPError:
        sys.exit(0)          # 401 and the like: it answers
    except Exception:
        time.sleep(0.1)
sys.exit(1)
PY
}

# reg_var NAME SUFFIX VALUE: export REG_<NAME><SUFFIX>=VALUE
reg_var() {
    local n
    n=$(printf '%s' "$1" | tr '[:lower:]-' '[:upper:]_')
    export "REG_$n$2=$3"
}

reg_start() {
    local name=$1 tls=0 creds='' dir port scheme=http try pid
    shift
    while [ $# -gt 0 ]; do
        case $1 in
            --tls) tls=1 ;;
            --htpasswd) creds=$2; shift ;;
            *) echo "reg_start: unknown option $1" >&2; return 1 ;;
        esac
        shift
    done
    dir=$REG_WORK/registries/$name
    rm -rf "$dir"
    mkdir -p "$dir/data"
    if [ "$tls" = 1 ]; then
        scheme=https
        mkdir "$dir/certs"
        # A self-signed certificate for 127.0.0.1 that is its own CA.
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout "$dir/server.key" -out "$dir/server.crt" -days 2 \
            -subj "/CN=hutch-test-registry" \
            -addext "subjectAltName=IP:127.0.0.1" \
            -addext "basicConstraints=critical,CA:TRUE" >/dev/null 2>&1 || {
            echo "reg_start: openssl req failed" >&2
            return 1
        }
        cp "$dir/server.crt" "$dir/certs/ca.crt"
        reg_var "$name" _CERTS "$dir/certs"
    fi
    if [ -n "$creds" ]; then
        htpasswd -Bbn "${creds%%:*}" "${creds#*:}" > "$dir/htpasswd" || return 1
    fi
    for try in 1 2 3 4 5; do
        port=$(reg_free_port) || return 1
        {
            echo "version: 0.1"
            echo "log:"
            echo "  level: info"
            echo "  formatter: text"
            echo "  accesslog:"
            echo "    disabled: false"
            echo "storage:"
            echo "  filesystem:"
            echo "    rootdirectory: $dir/data"
            echo "  delete:"
            echo "    enabled: true"
            echo "  redirect:"
            echo "    disable: true"
            echo "  maintenance:"
            echo "    uploadpurging:"
            echo "      enabled: false"
            echo "http:"
            echo "  addr: 127.0.0.1:$port"
            echo "  secret: hutch-test-$name-$$"
            echo "  headers:"
            echo "    X-Content-Type-Options: [nosniff]"
            if [ "$tls" = 1 ]; then
                echo "  tls:"
                echo "    certificate: $dir/server.crt"
                echo "    key: $dir/server.key"
            fi
            if [ -n "$creds" ]; then
                echo "auth:"
                echo "  htpasswd:"
                echo "    realm: hutch-test"
                echo "    path: $dir/htpasswd"
            fi
        } > "$dir/config.yml"
        # fd 3 is bats' own output: a daemon must not hold it
        timeout "$REG_MAX_LIFE" docker-registry serve "$dir/config.yml" \
            > "$dir/registry.log" 2>&1 3>&- < /dev/null &
        pid=$!
        echo "$pid" > "$dir/pid"
        if reg_wait_v2 "$scheme://127.0.0.1:$port" 20 && kill -0 "$pid" 2>/dev/null; then
            reg_var "$name" "" "127.0.0.1:$port"
            reg_var "$name" _DIR "$dir"
            return 0
        fi
        # lost the port to someone else, or did not start: try again
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        rm -f "$dir/pid"
        if ! grep -q 'address already in use' "$dir/registry.log"; then
            echo "reg_start: docker-registry did not start (try $try):" >&2
            tail -20 "$dir/registry.log" >&2
        fi
    done
    return 1
}

# reg_stop PIDFILE: stop what PIDFILE names, and wait for it
reg_stop_pidfile() {
    local pid
    [ -f "$1" ] || return 0
    pid=$(cat "$1")
    rm -f "$1"
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

reg_stop_all() {
    local f
    for f in "$REG_WORK"/registries/*/pid; do
        [ -e "$f" ] && reg_stop_pidfile "$f"
    done
    return 0
}

# reg_skopeo ARGS...: skopeo with a home of its own: its blob-info cache
# (which makes it reuse, or recompress to, blobs it has seen) must not carry
# over from other runs or users
reg_skopeo() {
    mkdir -p "$REG_WORK/skopeo-home"
    HOME=$REG_WORK/skopeo-home skopeo "$@"
}

# reg_push SRC DEST [OPTIONS...]
reg_push() {
    local src=$1 dest=$2
    shift 2
    reg_skopeo copy -q --dest-tls-verify=false "$@" "$src" "docker://$dest"
}

reg_inspect() {
    reg_skopeo inspect --tls-verify=false "$@"
}

# reg_raw REF [OPTIONS...]: the manifest as the registry serves it
reg_raw() {
    local ref=$1
    shift
    reg_skopeo inspect --tls-verify=false --raw "$@" "docker://$ref"
}

# reg_manifest_digest REF: the digest of the manifest (or index) REF names
reg_manifest_digest() {
    reg_raw "$@" | python3 -c 'import hashlib,sys; print("sha256:" + hashlib.sha256(sys.stdin.buffer.read()).hexdigest())'
}

# reg_config_digest REF: the config digest of the image manifest REF names
# (what hutch prints as the image id)
reg_config_digest() {
    reg_raw "$@" | python3 -c 'import json,sys; print(json.load(sys.stdin)["config"]["digest"])'
}

# reg_layer_digests REF: the layer digests, one a line
reg_layer_digests() {
    reg_raw "$@" | python3 -c '
import json, sys
for l in json.load(sys.stdin)["layers"]:
    print(l["digest"])'
}

# reg_child_digest REF OS/ARCH[/VARIANT]: the digest of that platform's
# manifest in the index REF names
reg_child_digest() {
    reg_raw "$1" | python3 -c '
import json, sys
want = sys.argv[1].split("/")
for m in json.load(sys.stdin)["manifests"]:
    p = m.get("platform", {})
    have = [p.get("os"), p.get("architecture")] + ([p["variant"]] if p.get("variant") else [])
    if have == want or have[:2] == want:
        print(m["digest"])
        break
else:
    sys.exit("no " + sys.argv[1])' "$2"
}

reg_mkindex() {
    python3 - "$@" <<'PY'
import hashlib, json, os, sys
layout, tag, entries = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(os.path.join(layout, "index.json")) as f:
    top = json.load(f)
by_ref = {}
for d in top["manifests"]:
    ref = d.get("annotations", {}).get("org.opencontainers.image.ref.name")
    if ref:
        by_ref[ref] = d
manifests = []
for e in entries:
    ref, _, plat = e.partition("=")
    parts = plat.split("/")
    d = dict(by_ref[ref])
    d.pop("annotations", None)
    d["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    d["platform"] = {"os": parts[0], "architecture": parts[1]}
    if len(parts) > 2:
        d["platform"]["variant"] = parts[2]
    manifests.append(d)
index = {"schemaVersion": 2,
         "mediaType": "application/vnd.oci.image.index.v1+json",
         "manifests": manifests}
data = json.dumps(index, indent=2).encode()
dg = hashlib.sha256(data).hexdigest()
with open(os.path.join(layout, "blobs", "sha256", dg), "wb") as f:
    f.write(data)
top["manifests"] = [d for d in top["manifests"]
                    if d.get("annotations", {}).get("org.opencontainers.image.ref.name") != tag]
top["manifests"].append({"mediaType": "application/vnd.oci.image.index.v1+json",
                         "digest": "sha256:" + dg, "size": len(data),
                         "annotations": {"org.opencontainers.image.ref.name": tag}})
with open(os.path.join(layout, "index.json"), "w") as f:
    json.dump(top, f)
PY
}

reg_set_diff_id() {
    python3 - "$@" <<'PY'
import hashlib, json, os, sys
layout, tag, n, digest = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
blobs = os.path.join(layout, "blobs", "sha256")

def read(dg):
    with open(os.path.join(blobs, dg.split(":", 1)[1]), "rb") as f:
        return f.read()

def write(data):
    dg = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, dg), "wb") as f:
        f.write(data)
    return "sha256:" + dg, len(data)

with open(os.path.join(layout, "index.json")) as f:
    top = json.load(f)
for d in top["manifests"]:
    if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
        break
else:
    sys.exit("reg_set_diff_id: no image tagged " + tag)
manifest = json.loads(read(d["digest"]))
config = json.loads(read(manifest["config"]["digest"]))
config["rootfs"]["diff_ids"][n] = digest
manifest["config"]["digest"], manifest["config"]["size"] = write(json.dumps(config).encode())
d["digest"], d["size"] = write(json.dumps(manifest).encode())
with open(os.path.join(layout, "index.json"), "w") as f:
    json.dump(top, f)
PY
}

# proxy_start NAME UPSTREAM [OPTIONS...]
proxy_start() {
    local name=$1 upstream=$2 dir n pid port
    shift 2
    dir=${BATS_TEST_TMPDIR:-$REG_WORK}/proxies/$name
    rm -rf "$dir"
    mkdir -p "$dir"
    python3 "$REGPROXY" --upstream "http://$upstream" --max-life "$REG_MAX_LIFE" \
        --port-file "$dir/port" --log "$dir/requests.log" "$@" \
        > "$dir/stdout" 2> "$dir/stderr" 3>&- < /dev/null &
    pid=$!
    echo "$pid" > "$dir/pid"
    for _ in $(seq 1 100); do
        [ -s "$dir/port" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ ! -s "$dir/port" ]; then
        echo "proxy_start: regproxy.py did not start:" >&2
        cat "$dir/stderr" >&2
        reg_stop_pidfile "$dir/pid"
        return 1
    fi
    port=$(cat "$dir/port")
    n=$(printf '%s' "$name" | tr '[:lower:]-' '[:upper:]_')
    export "PROXY_$n=127.0.0.1:$port" "PROXY_${n}_LOG=$dir/requests.log" "PROXY_${n}_PID=$pid"
    reg_wait_v2 "http://127.0.0.1:$port" 10
}

proxy_stop_all() {
    local f
    for f in "${BATS_TEST_TMPDIR:-$REG_WORK}"/proxies/*/pid "$REG_WORK"/proxies/*/pid; do
        [ -e "$f" ] && reg_stop_pidfile "$f"
    done
    return 0
}
