"""A fleet of small images sharing base layers, pushed straight through the registry's HTTP API
(blob uploads and manifest PUTs: a few hundred images in seconds, where ``skopeo copy`` takes a
second each).

Layers are real tar streams built here: two Alpine bases (``/etc/os-release``, ``/etc/alpine-
release`` and the apk database of the 3.20.3 and 3.19.4 minirootfs tarballs), two shared Python
layers (one ``.dist-info`` each) and, per image, one unique layer (a ``.dist-info`` of its own).
Image ``i`` is ``base(i % 3 == 2 → 3.19) + python(i % 2) + unique(i)``, in repository
``fleet/svcK`` (K = i % 4), tag ``vI``.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import io
import json
import tarfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry_servers import Registry

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
BASE_FILES = ("etc/os-release", "etc/alpine-release", "lib/apk/db/installed")
SITE = "usr/lib/python3.12/site-packages"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Blob:
    data: bytes  # compressed (what the registry stores)
    diff_id: str  # sha256 of the uncompressed tar

    @property
    def digest(self) -> str:
        return sha256(self.data)


def layer(files: dict[str, bytes]) -> Blob:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs: set[str] = set()
        for name in sorted(files):
            parts = name.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d not in dirs:
                    dirs.add(d)
                    info = tarfile.TarInfo(d)
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    tar.addfile(info)
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(files[name]))
    data = raw.getvalue()
    return Blob(gzip.compress(data, mtime=0), sha256(data))


def alpine_base(minirootfs: Path) -> Blob:
    files = {}
    with tarfile.open(minirootfs) as tar:
        for m in tar.getmembers():
            name = m.name.removeprefix("./")
            if name in BASE_FILES:
                f = tar.extractfile(m)
                assert f is not None
                files[name] = f.read()
    assert set(files) == set(BASE_FILES), minirootfs
    return layer(files)


def dist_info(name: str, version: str) -> Blob:
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    return layer({f"{SITE}/{name}-{version}.dist-info/METADATA": meta})


@dataclass(frozen=True)
class FleetImage:
    index: int
    repository: str
    tag: str
    layers: tuple[Blob, ...]
    config: bytes
    manifest: bytes

    @property
    def digest(self) -> str:
        return sha256(self.manifest)

    def ref(self, registry: Registry) -> str:
        return f"{registry.host}/{self.repository}:{self.tag}"


@dataclass(frozen=True)
class Fleet:
    registry: Registry
    images: tuple[FleetImage, ...]
    shared: tuple[Blob, ...]  # the base and python layers several images share

    @property
    def refs(self) -> list[str]:
        return [i.ref(self.registry) for i in self.images]


def make_images(data_dir: Path, n: int, repositories: int = 4) -> tuple[list[FleetImage], list[Blob]]:
    mini = data_dir / "images" / "alpine-minirootfs"
    bases = [
        alpine_base(mini / "alpine-minirootfs-3.20.3-x86_64.tar.gz"),
        alpine_base(mini / "alpine-minirootfs-3.19.4-x86_64.tar.gz"),
    ]
    pythons = [dist_info("requests", "2.31.0"), dist_info("flask", "3.0.0")]
    images = []
    for i in range(n):
        blobs = (bases[1 if i % 3 == 2 else 0], pythons[i % 2], dist_info(f"app{i}", f"1.0.{i}"))
        config = json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": {"Env": ["PATH=/usr/bin:/bin"], "User": "1000"},
                "rootfs": {"type": "layers", "diff_ids": [b.diff_id for b in blobs]},
                "history": [{"created_by": f"fleet test layer {k}"} for k in range(len(blobs))],
            },
            sort_keys=True,
        ).encode()
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
                "layers": [{"mediaType": OCI_LAYER, "digest": b.digest, "size": len(b.data)} for b in blobs],
            },
            sort_keys=True,
        ).encode()
        images.append(FleetImage(i, f"fleet/svc{i % repositories}", f"v{i}", blobs, config, manifest))
    return images, [*bases, *pythons]


class Pusher:
    """Blob uploads (POST, then PUT with the digest) and manifest PUTs over one connection."""

    def __init__(self, registry: Registry) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", registry.port, timeout=30)
        self.done: set[tuple[str, str]] = set()

    def _req(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Any:
        self.conn.request(
            method, path, body=body, headers={"Content-Length": str(len(body)), **(headers or {})}
        )
        resp = self.conn.getresponse()
        resp.read()
        return resp

    def blob(self, repo: str, data: bytes) -> None:
        digest = sha256(data)
        if (repo, digest) in self.done:
            return
        resp = self._req("POST", f"/v2/{repo}/blobs/uploads/")
        assert resp.status == 202, resp.status
        loc = resp.getheader("Location")
        assert loc
        loc = loc.split("127.0.0.1", 1)[-1].split(":", 1)[-1]
        loc = loc[loc.index("/") :]
        sep = "&" if "?" in loc else "?"
        resp = self._req(
            "PUT", f"{loc}{sep}digest={digest}", data, {"Content-Type": "application/octet-stream"}
        )
        assert resp.status == 201, resp.status
        self.done.add((repo, digest))

    def image(self, img: FleetImage) -> None:
        for b in img.layers:
            self.blob(img.repository, b.data)
        self.blob(img.repository, img.config)
        resp = self._req(
            "PUT", f"/v2/{img.repository}/manifests/{img.tag}", img.manifest, {"Content-Type": OCI_MANIFEST}
        )
        assert resp.status == 201, resp.status

    def close(self) -> None:
        self.conn.close()


def push_fleet(registry: Registry, data_dir: Path, n: int) -> Fleet:
    """Push the fleet, one connection per repository, the repositories in parallel."""
    images, shared = make_images(data_dir, n)
    by_repo: dict[str, list[FleetImage]] = {}
    for img in images:
        by_repo.setdefault(img.repository, []).append(img)

    def push_repo(imgs: list[FleetImage]) -> None:
        pusher = Pusher(registry)
        try:
            for img in imgs:
                pusher.image(img)
        finally:
            pusher.close()

    with ThreadPoolExecutor(len(by_repo)) as pool:
        list(pool.map(push_repo, by_repo.values()))
    return Fleet(registry, tuple(images), tuple(shared))
