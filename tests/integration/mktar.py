#!/usr/bin/env python3
"""Build tarballs and OCI archives for the image tests, including hostile ones.

  mktar.py tar OUT [--gzip] ENTRY...
      ENTRY is TYPE:NAME[:ARG...], names taken literally (no cleaning):
        dir:NAME              a directory (0755)
        file:NAME:TEXT        a regular file (0644) holding TEXT
        sym:NAME:TARGET       a symbolic link
        hard:NAME:TARGET      a hard link
        chr:NAME:MAJ:MIN      a character device
        blk:NAME:MAJ:MIN      a block device
        fifo:NAME             a FIFO
        tree:DIR              DIR's contents as ./..., owned by 0:0
        owner:UID:GID         the owner of the entries that follow (default 0:0)
        mode:OCTAL            the mode of the entries that follow (reset by mode:-)
  mktar.py oci OUT NAME:TAG LAYER.tar... [--config KEY=JSON]...
      an oci-archive of one image whose layers (bottom first) are the given
      uncompressed tarballs; --config sets a key of the image config's
      "config" object (e.g. --config 'Cmd=["/bin/true"]'); --claim-diff-id
      DIGEST makes the config claim DIGEST for the first layer (a lie);
      --platform OS/ARCH[/VARIANT] sets the config's platform (default
      linux/amd64) and --created TIME its creation time (RFC 3339, default
      2024-01-01T00:00:00Z; "none" leaves it out).
"""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile
import time


def make_tar(out, args):
    gz = False
    if args and args[0] == "--gzip":
        gz = True
        args = args[1:]
    raw = io.BytesIO()
    owner = (0, 0)
    mode = None
    now = int(time.time())
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as t:
        for spec in args:
            kind, _, rest = spec.partition(":")
            if kind == "owner":
                u, g = rest.split(":")
                owner = (int(u), int(g))
                continue
            if kind == "mode":
                mode = None if rest == "-" else int(rest, 8)
                continue
            if kind == "tree":
                def reset(ti):
                    ti.uid, ti.gid, ti.uname, ti.gname = 0, 0, "", ""
                    return ti
                t.add(rest, arcname=".", filter=reset)
                continue
            parts = rest.split(":")
            name = parts[0]
            ti = tarfile.TarInfo(name)
            ti.uid, ti.gid = owner
            ti.mtime = now
            data = None
            if kind == "dir":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
            elif kind == "file":
                data = ":".join(parts[1:]).encode()
                ti.type, ti.mode, ti.size = tarfile.REGTYPE, 0o644, len(data)
            elif kind == "sym":
                ti.type, ti.mode, ti.linkname = tarfile.SYMTYPE, 0o777, parts[1]
            elif kind == "hard":
                ti.type, ti.mode, ti.linkname = tarfile.LNKTYPE, 0o644, parts[1]
            elif kind in ("chr", "blk"):
                ti.type = tarfile.CHRTYPE if kind == "chr" else tarfile.BLKTYPE
                ti.mode, ti.devmajor, ti.devminor = 0o666, int(parts[1]), int(parts[2])
            elif kind == "fifo":
                ti.type, ti.mode = tarfile.FIFOTYPE, 0o644
            else:
                sys.exit("mktar.py: unknown entry type " + kind)
            if mode is not None:
                ti.mode = mode
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    body = raw.getvalue()
    if gz:
        body = gzip.compress(body)
    with open(out, "wb") as f:
        f.write(body)


def blob(t, data):
    d = hashlib.sha256(data).hexdigest()
    ti = tarfile.TarInfo("blobs/sha256/" + d)
    ti.size = len(data)
    ti.mode = 0o644
    t.addfile(ti, io.BytesIO(data))
    return "sha256:" + d, len(data)


def make_oci(out, args):
    ref = args[0]
    layers, conf, claim = [], {}, None
    platform, created = "linux/amd64", "2024-01-01T00:00:00Z"
    i = 1
    while i < len(args):
        if args[i] == "--claim-diff-id":
            claim = args[i + 1]
            i += 2
        elif args[i] == "--platform":
            platform = args[i + 1]
            i += 2
        elif args[i] == "--created":
            created = args[i + 1]
            i += 2
        elif args[i] == "--config":
            k, _, v = args[i + 1].partition("=")
            conf[k] = json.loads(v)
            i += 2
        else:
            layers.append(args[i])
            i += 1
    with tarfile.open(out, "w") as t:
        def meta(name, data):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode = len(data), 0o644
            t.addfile(ti, io.BytesIO(data))
        meta("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        descs, diffs = [], []
        for path in layers:
            with open(path, "rb") as f:
                data = f.read()
            dg, size = blob(t, data)
            descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar",
                          "digest": dg, "size": size})
            diffs.append(dg)
        if claim:
            diffs[0] = claim
        parts = platform.split("/")
        config = {"architecture": parts[1], "os": parts[0], "config": conf,
                  "rootfs": {"type": "layers", "diff_ids": diffs}}
        if len(parts) > 2:
            config["variant"] = parts[2]
        if created != "none":
            config["created"] = created
        cdg, csize = blob(t, json.dumps(config).encode())
        manifest = {"schemaVersion": 2,
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                               "digest": cdg, "size": csize},
                    "layers": descs}
        mdg, msize = blob(t, json.dumps(manifest).encode())
        index = {"schemaVersion": 2,
                 "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                "digest": mdg, "size": msize,
                                "annotations": {"org.opencontainers.image.ref.name": ref}}]}
        meta("index.json", json.dumps(index).encode())


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd, out, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if cmd == "tar":
        make_tar(out, args)
    elif cmd == "oci":
        make_oci(out, args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
