"""Image sources: ``oci-dir:``, ``oci-archive:``, ``docker-archive:``, ``dir:``, or a bare path (sniffed)."""

from __future__ import annotations

import tarfile
from dataclasses import dataclass
from pathlib import Path

from hullscan.errors import SourceError
from hullscan.sources.blobs import BlobStore, DirStore, TarStore, layout_prefix
from hullscan.sources.image import ResolvedImage, resolve_docker_archive, resolve_oci

SCHEMES = ("oci-dir", "oci-archive", "docker-archive", "dir")


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """A parsed source string."""

    kind: str
    path: Path
    #: For OCI layouts: the ``org.opencontainers.image.ref.name`` to pick (``oci-dir:PATH:TAG``).
    tag: str | None = None

    def __str__(self) -> str:
        return f"{self.kind}:{self.path}" + (f":{self.tag}" if self.tag else "")


def parse(text: str) -> SourceSpec:
    """Parse ``SCHEME:PATH`` or a bare path, sniffing what the path holds."""
    for scheme in SCHEMES:
        prefix = scheme + ":"
        if text.startswith(prefix):
            rest = text[len(prefix) :]
            tag = None
            if scheme in ("oci-dir", "oci-archive") and not Path(rest).exists() and ":" in rest:
                rest, tag = rest.rsplit(":", 1)
            path = Path(rest)
            if not path.exists():
                raise SourceError(f"{text}: {path} does not exist")
            return SourceSpec(scheme, path, tag)
    path = Path(text)
    if not path.exists() and ":" in text:
        # A bare OCI layout path with a tag: PATH:TAG.
        base, tag = text.rsplit(":", 1)
        if Path(base).is_dir() and sniff(Path(base)) == "oci-dir":
            return SourceSpec("oci-dir", Path(base), tag)
    if not path.exists():
        raise SourceError(
            f"{text!r} is not an existing path and names no known source type "
            f"({', '.join(s + ':' for s in SCHEMES)})"
        )
    return SourceSpec(sniff(path), path)


def sniff(path: Path) -> str:
    """What a bare path holds: an OCI layout, a docker-archive, an OCI archive or a root filesystem."""
    if path.is_dir():
        return "oci-dir" if (path / "oci-layout").is_file() and (path / "index.json").is_file() else "dir"
    names: set[str] = set()
    try:
        with open(path, "rb") as f:
            gz = f.read(2) == b"\x1f\x8b"
        with tarfile.open(path, "r:gz" if gz else "r:") as tf:
            for i, m in enumerate(tf):
                names.add(m.name.removeprefix("./").rstrip("/"))
                if i > 100_000:
                    break
    except (tarfile.TarError, OSError, EOFError) as e:
        raise SourceError(f"{path}: not a directory or a readable image archive: {e}") from e
    if "manifest.json" in names:
        return "docker-archive"
    prefix = layout_prefix(names)
    if f"{prefix}/index.json".lstrip("/") in names and f"{prefix}/oci-layout".lstrip("/") in names:
        return "oci-archive"
    raise SourceError(
        f"{path}: a tar archive without manifest.json or index.json + oci-layout; "
        "for a root filesystem, extract it and use dir:PATH"
    )


def open_store(spec: SourceSpec, tmp_root: Path | None) -> BlobStore:
    if spec.kind == "oci-dir":
        if not spec.path.is_dir():
            raise SourceError(f"{spec.path} is not a directory")
        return DirStore(spec.path)
    if spec.path.is_dir():
        raise SourceError(f"{spec.kind}:{spec.path} is a directory, not an archive")
    return TarStore(spec.path, tmp_root)


def resolve(spec: SourceSpec, store: BlobStore, platform: str | None) -> ResolvedImage:
    if spec.kind in ("oci-dir", "oci-archive"):
        return resolve_oci(store, platform, spec.tag)
    if spec.kind == "docker-archive":
        return resolve_docker_archive(store, platform)
    raise SourceError(f"source type {spec.kind} has no image to resolve")


__all__ = ["SCHEMES", "ResolvedImage", "SourceSpec", "open_store", "parse", "resolve", "sniff"]
