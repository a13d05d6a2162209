"""Benchmark inputs, built once with real tools and kept in ``benches/.work/`` (gitignored).

- ``rootfs-bookworm/``: a Debian bookworm minbase root filesystem from debootstrap (the machine's
  apt source), with apt's download caches removed the way the official ``debian:bookworm`` image
  does.
- ``oci-bookworm/``: that rootfs packed by umoci into a one-layer OCI layout (tag ``latest``).
- ``big-layer-<MiB>.tar.gz``: a realistic large layer: the same rootfs followed by copies of its
  ``/usr`` under ``/opt/copyN/`` (binaries, libraries, docs, locale data: real, varied content),
  gzip level 6, grown until the compressed blob reaches the requested size.
- ``oci-big-<MiB>/``: that blob as the only layer of an OCI layout (written directly: blob, config
  with its diff_id, manifest, index).

Each artefact is rebuilt only when missing; delete ``benches/.work/`` to start over.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "benches" / ".work"

sys.path.insert(0, str(REPO / "tests"))
import imagebuild  # noqa: E402

MiB = 1 << 20


def log(msg: str) -> None:
    print(f"[images] {msg}", file=sys.stderr, flush=True)


def rootfs() -> Path:
    dest = WORK / "rootfs-bookworm"
    done = WORK / "rootfs-bookworm.done"
    if done.exists():
        return dest
    if dest.exists():
        shutil.rmtree(dest)
    WORK.mkdir(parents=True, exist_ok=True)
    log("debootstrap bookworm minbase (once) ...")
    imagebuild.debootstrap(dest)
    # As the official image does: no downloaded .debs, no apt lists / binary caches.
    for pattern in ("var/cache/apt/archives/*.deb", "var/cache/apt/*.bin", "var/lib/apt/lists/*"):
        for p in dest.glob(pattern):
            if p.is_file() and not p.is_symlink():
                p.unlink()
    done.touch()
    return dest


def oci_bookworm() -> Path:
    layout = WORK / "oci-bookworm"
    done = WORK / "oci-bookworm.done"
    if done.exists():
        return layout
    src = rootfs()
    if layout.exists():
        shutil.rmtree(layout)
    log("umoci: packing the rootfs into an OCI layout (once) ...")
    imagebuild.oci_from_rootfs(src, layout, "latest")
    done.touch()
    return layout


class _HashingWriter:
    """A write-only file object that hashes what passes through (the layer's diff_id)."""

    def __init__(self, inner: IO[bytes]) -> None:
        self.inner = inner
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, b: bytes) -> int:
        self.sha.update(b)
        self.size += len(b)
        return self.inner.write(b)

    def flush(self) -> None:
        self.inner.flush()


def _add_tree(tf: tarfile.TarFile, src: Path, prefix: str, out: IO[bytes], limit: int) -> bool:
    """Add ``src``'s tree under ``prefix`` (sorted, no symlink following); False once ``out`` grew
    past ``limit`` bytes."""
    tf.inodes = {}  # hard links only within one copy; a copy is new content, not a link
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        rel = os.path.relpath(dirpath, src)
        base = prefix if rel == "." else f"{prefix}/{rel}" if prefix else rel
        for name in [*sorted(dirnames), *sorted(filenames)]:
            path = os.path.join(dirpath, name)
            arc = f"{base}/{name}" if base else name
            ti = tf.gettarinfo(path, arcname=arc)
            if ti.isreg():
                with open(path, "rb") as f:
                    tf.addfile(ti, f)
            elif ti.isdir() or ti.issym() or ti.islnk():
                tf.addfile(ti)
            if out.tell() >= limit:
                return False
    return True


@dataclass(frozen=True)
class BigLayer:
    path: Path
    digest: str
    diff_id: str
    size: int
    uncompressed_size: int


def big_layer(target_mib: int) -> BigLayer:
    """A gzip (-6) layer blob of about ``target_mib`` MiB of realistic content."""
    path = WORK / f"big-layer-{target_mib}.tar.gz"
    meta = WORK / f"big-layer-{target_mib}.json"
    if path.exists() and meta.exists():
        m = json.loads(meta.read_text())
        return BigLayer(path, m["digest"], m["diff_id"], m["size"], m["uncompressed_size"])
    src = rootfs()
    log(f"building a ~{target_mib} MiB gzip layer (once) ...")
    limit = target_mib * MiB
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as raw:
        gz = gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0)
        hw = _HashingWriter(gz)
        with tarfile.open(fileobj=hw, mode="w|", format=tarfile.PAX_FORMAT) as tf:  # type: ignore[call-overload]
            more = _add_tree(tf, src, "", raw, limit)
            n = 0
            while more:
                n += 1
                more = _add_tree(tf, src / "usr", f"opt/copy{n}/usr", raw, limit)
        gz.close()
    data_sha = hashlib.sha256()
    with open(tmp, "rb") as f:
        while chunk := f.read(4 * MiB):
            data_sha.update(chunk)
    os.replace(tmp, path)
    m = {
        "digest": "sha256:" + data_sha.hexdigest(),
        "diff_id": "sha256:" + hw.sha.hexdigest(),
        "size": path.stat().st_size,
        "uncompressed_size": hw.size,
    }
    meta.write_text(json.dumps(m))
    return BigLayer(path, m["digest"], m["diff_id"], m["size"], m["uncompressed_size"])


def _put_blob(layout: Path, data: bytes) -> tuple[str, int]:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return "sha256:" + digest, len(data)


def oci_big(target_mib: int) -> tuple[Path, BigLayer]:
    """The big layer as the only layer of an OCI layout (tag ``latest``)."""
    layer = big_layer(target_mib)
    layout = WORK / f"oci-big-{target_mib}"
    done = WORK / f"oci-big-{target_mib}.done"
    if done.exists():
        return layout, layer
    if layout.exists():
        shutil.rmtree(layout)
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    blob = blobs / layer.digest.split(":", 1)[1]
    try:
        os.link(layer.path, blob)
    except OSError:
        shutil.copyfile(layer.path, blob)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]},
        "history": [{"created_by": "hullscan benches/images.py big layer"}],
    }
    cdig, csize = _put_blob(layout, json.dumps(config).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": cdig,
            "size": csize,
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": layer.digest,
                "size": layer.size,
            }
        ],
    }
    mdig, msize = _put_blob(layout, json.dumps(manifest).encode())
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": mdig,
                "size": msize,
                "annotations": {"org.opencontainers.image.ref.name": "latest"},
                "platform": {"architecture": "amd64", "os": "linux"},
            }
        ],
    }
    (layout / "index.json").write_text(json.dumps(index))
    done.touch()
    return layout, layer


if __name__ == "__main__":
    print(oci_bookworm())
    print(oci_big(int(sys.argv[1]) if len(sys.argv) > 1 else 100))
