"""Image sources: ``oci-dir:``, ``oci-archive:``, ``docker-archive:``, ``dir:``, ``registry:``,
``docker:``, ``sbom:`` (a CycloneDX JSON / XML, SPDX JSON / tag-value or syft JSON file), or a bare
path (sniffed) or image reference (when no such path exists)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from hullscan.errors import SourceError
from hullscan.sources.blobs import (
    BlobStore,
    DirStore,
    TarStore,
    layout_prefix,
)
from hullscan.sources.image import ResolvedImage, resolve_docker_archive, resolve_oci
from hullscan.sources.registry_ref import Reference, looks_like_path, parse_reference

SCHEMES = ("oci-dir", "oci-archive", "docker-archive", "dir", "sbom")
#: Sources named by an image reference rather than a path.
REF_SCHEMES = ("registry", "docker")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """A parsed source string."""

    kind: str
    path: Path
    #: For OCI layouts: the ``org.opencontainers.image.ref.name`` to pick (``oci-dir:PATH:TAG``).
    tag: str | None = None
    #: ``registry:``: the parsed reference; ``docker:``: the name or ID as given (in ``tag``).
    reference: Reference | None = None

    def __str__(self) -> str:
        if self.kind == "registry":
            return f"registry:{self.reference}"
        if self.kind == "docker":
            return f"docker:{self.tag}"
        return f"{self.kind}:{self.path}" + (f":{self.tag}" if self.tag else "")


def parse(text: str) -> SourceSpec:
    """Parse ``SCHEME:PATH``, ``registry:REF``, ``docker:REF``, or a bare path (sniffing what it
    holds) or image reference."""
    if text.startswith("registry:"):
        return SourceSpec("registry", Path(), reference=parse_reference(text[len("registry:") :]))
    if text.startswith("docker:"):
        name = text[len("docker:") :]
        if not name or name != name.strip() or len(name) > 4096:
            raise SourceError(f"{text!r}: docker: takes an image name, reference or ID")
        return SourceSpec("docker", Path(), tag=name)
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
        if Path(base).is_dir() and _sniff_dir(Path(base)) == "oci-dir":
            return SourceSpec("oci-dir", Path(base), tag)
    if not path.exists():
        if not looks_like_path(text):
            try:
                return SourceSpec("registry", Path(), reference=parse_reference(text))
            except SourceError:
                pass
        raise SourceError(
            f"{text!r} is not an existing path or an image reference, and names no known source type "
            f"({', '.join(s + ':' for s in (*SCHEMES, *REF_SCHEMES))})"
        )
    # A file is an archive of some kind: which one is read from its members when it is opened
    # (see `settle`), so that a compressed archive is decompressed once, not once more to sniff it.
    if path.is_dir():
        return SourceSpec(_sniff_dir(path), path)
    return SourceSpec("sbom" if _looks_like_sbom(path) else "archive", path)


def _looks_like_sbom(path: Path) -> bool:
    """A bare file that starts with ``{`` (after whitespace), ``<?xml`` or ``<bom``, or has an
    ``SPDXVersion:`` line, is an SBOM, not an archive."""
    from hullscan.sbom.reader import sniff

    try:
        with path.open("rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    return sniff(head) in ("json", "xml", "tag-value")


def _sniff_dir(path: Path) -> str:
    """A bare directory: an OCI layout, or else a root filesystem."""
    return "oci-dir" if (path / "oci-layout").is_file() and (path / "index.json").is_file() else "dir"


def settle(spec: SourceSpec, store: BlobStore) -> SourceSpec:
    """The concrete kind of a bare archive path, from the members of the opened archive."""
    if spec.kind != "archive":
        return spec
    assert isinstance(store, TarStore), "open_store opens an archive as a TarStore"
    names = set(store.members)
    if "manifest.json" in names or _legacy_docker(names):
        return SourceSpec("docker-archive", spec.path, spec.tag)
    prefix = layout_prefix(names)
    if f"{prefix}/index.json".lstrip("/") in names and f"{prefix}/oci-layout".lstrip("/") in names:
        return SourceSpec("oci-archive", spec.path, spec.tag)
    raise SourceError(
        f"{spec.path}: a tar archive without manifest.json or index.json + oci-layout; "
        "for a root filesystem, extract it and use dir:PATH"
    )


def _legacy_docker(names: set[str]) -> bool:
    """``docker save`` output of old, or with its manifest.json lost: ``repositories`` and
    ``<64 hex>/layer.tar`` members. Sniffed as a docker-archive so that the missing manifest is
    reported as such."""
    return "repositories" in names or any(
        len(n) == 74 and n.endswith("/layer.tar") and _HEX64.match(n[:64]) is not None for n in names
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
    if spec.kind == "registry":
        from hullscan.sources.registry import RegistrySource

        assert isinstance(store, RegistrySource)
        return store.resolve(platform)
    if spec.kind in ("oci-dir", "oci-archive"):
        return resolve_oci(store, platform, spec.tag)
    if spec.kind in ("docker-archive", "docker"):
        return resolve_docker_archive(store, platform)
    raise SourceError(f"source type {spec.kind} has no image to resolve")


__all__ = [
    "REF_SCHEMES",
    "SCHEMES",
    "ResolvedImage",
    "SourceSpec",
    "open_store",
    "parse",
    "resolve",
    "settle",
]
