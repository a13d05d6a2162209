"""Resolving an image in an OCI layout or a docker-archive to its config and layer blobs."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from hullscan.errors import (
    DigestMismatchError,
    ImageFormatError,
    LimitExceededError,
    PlatformNotFoundError,
)
from hullscan.sources.blobs import BlobLocation, BlobStore, check_digest, digest_path

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = {OCI_INDEX, DOCKER_LIST}
MANIFEST_TYPES = {OCI_MANIFEST, DOCKER_MANIFEST}
MAX_INDEX_DEPTH = 4
#: Most manifest descriptors followed through an index and the indexes it nests (real indexes list
#: a few dozen; an OCI layout used as a store, some thousands).
MAX_DESCRIPTORS = 10_000
#: Most layers in one image (Docker stops at 125; OCI sets no limit, real images stay far below).
MAX_LAYERS = 4_096


@dataclass(frozen=True, slots=True)
class LayerSpec:
    index: int
    blob: BlobLocation
    #: Expected sha256 of the blob as stored (None when the format names none).
    digest: str | None
    #: Expected sha256 of the uncompressed tar, from the config.
    diff_id: str
    media_type: str = ""
    size: int = 0
    created_by: str | None = None


@dataclass
class ResolvedImage:
    layers: list[LayerSpec]
    manifest_digest: str | None = None
    config_digest: str | None = None
    platform: str | None = None
    repo_tags: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: The image config blob, parsed (hostile: checked by :mod:`hullscan.checks.config`).
    config: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Platform:
    os: str
    architecture: str
    variant: str | None = None

    @classmethod
    def parse(cls, text: str) -> Platform:
        parts = text.strip().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise PlatformNotFoundError(f"invalid platform {text!r}: expected os/arch or os/arch/variant")
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else None)

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)

    def matches(self, other: Platform) -> bool:
        """Whether ``other`` (an image's platform) satisfies this request."""
        if (self.os, self.architecture) != (other.os, other.architecture):
            return False
        if self.variant is None:
            return True
        return self.variant == other.variant or (
            # arm64 images often omit the implied v8.
            self.architecture == "arm64" and self.variant == "v8" and other.variant is None
        )


DEFAULT_PLATFORM = Platform("linux", "amd64")


def parse_json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise ImageFormatError(f"{what} is not valid JSON: {e}") from e
    except RecursionError:
        # json raises this, not ValueError, for deeply nested arrays/objects.
        raise ImageFormatError(f"{what} is nested too deeply to be an image document") from None


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def read_verified(store: BlobStore, digest: str, what: str) -> bytes:
    data = store.read(digest_path(digest))
    actual = sha256(data)
    if actual != digest:
        raise DigestMismatchError(f"{what} {digest}: content hashes to {actual}")
    return data


def _platform_of(desc: dict[str, Any]) -> Platform | None:
    p = desc.get("platform")
    if not isinstance(p, dict):
        return None
    os_, arch = p.get("os"), p.get("architecture")
    if not isinstance(os_, str) or not isinstance(arch, str):
        return None
    variant = p.get("variant")
    return Platform(os_, arch, variant if isinstance(variant, str) and variant else None)


def _is_attestation(desc: dict[str, Any]) -> bool:
    ann = desc.get("annotations")
    if isinstance(ann, dict) and ann.get("vnd.docker.reference.type") == "attestation-manifest":
        return True
    p = _platform_of(desc)
    return p is not None and p.os == "unknown" and p.architecture == "unknown"


def pick_platform(
    found: list[tuple[dict[str, Any], Platform | None]], want: Platform | None
) -> dict[str, Any] | None:
    """The descriptor of an index for the wanted platform; without one asked for, the only image,
    else linux/amd64. None when no descriptor with a platform fits."""
    if want is not None:
        return next((d for d, p in found if p is not None and want.matches(p)), None)
    if len(found) == 1:
        return found[0][0]
    return next((d for d, p in found if p is not None and DEFAULT_PLATFORM.matches(p)), None)


def _ref_name(desc: dict[str, Any]) -> str | None:
    ann = desc.get("annotations")
    name = ann.get("org.opencontainers.image.ref.name") if isinstance(ann, dict) else None
    return name if isinstance(name, str) else None


def _media_type(doc: dict[str, Any], what: str) -> str | None:
    mt = doc.get("mediaType")
    if mt is not None and not isinstance(mt, str):
        raise ImageFormatError(f"{what} has a mediaType that is not a string")
    return mt


def _descriptors(doc: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(doc, dict) or not isinstance(doc.get("manifests"), list):
        raise ImageFormatError(f"{what} has no manifests list")
    if len(doc["manifests"]) > MAX_DESCRIPTORS:
        raise LimitExceededError(
            f"{what} lists {len(doc['manifests'])} manifests; at most {MAX_DESCRIPTORS} are read"
        )
    out = []
    for d in doc["manifests"]:
        if not isinstance(d, dict) or not isinstance(d.get("digest"), str):
            raise ImageFormatError(f"{what} has a malformed descriptor")
        _media_type(d, f"a descriptor in {what}")
        out.append(d)
    return out


def _candidates(
    store: BlobStore, descs: list[dict[str, Any]], depth: int, seen: list[int] | None = None
) -> list[tuple[dict[str, Any], Platform | None]]:
    """Image manifests reachable from ``descs``, following nested indexes. ``seen`` counts the
    descriptors visited at every depth: nesting must not multiply them past the limit."""
    if depth > MAX_INDEX_DEPTH:
        raise ImageFormatError(f"image indexes nested deeper than {MAX_INDEX_DEPTH}")
    seen = seen if seen is not None else [0]
    out: list[tuple[dict[str, Any], Platform | None]] = []
    for d in descs:
        seen[0] += 1
        if seen[0] > MAX_DESCRIPTORS:
            raise LimitExceededError(f"image indexes list more than {MAX_DESCRIPTORS} manifests in all")
        if _is_attestation(d):
            continue
        mt = _media_type(d, "a descriptor")
        if mt in INDEX_TYPES:
            sub = parse_json(read_verified(store, d["digest"], "image index"), "image index")
            out.extend(_candidates(store, _descriptors(sub, "image index"), depth + 1, seen))
        elif mt in MANIFEST_TYPES or mt is None:
            out.append((d, _platform_of(d)))
    return out


def _choose(
    store: BlobStore,
    found: list[tuple[dict[str, Any], Platform | None]],
    want: Platform | None,
) -> tuple[dict[str, Any], bytes, dict[str, Any], Platform | None]:
    """Pick the manifest for the wanted platform (reading configs when descriptors lack one)."""
    if not found:
        raise ImageFormatError(f"{store.description} contains no image manifest")
    resolved: list[tuple[dict[str, Any], bytes, dict[str, Any], Platform | None]] = []
    for desc, plat in found:
        manifest_bytes = read_verified(store, desc["digest"], "manifest")
        manifest = parse_json(manifest_bytes, "manifest")
        config = _config(store, manifest)
        if plat is None:
            plat = _config_platform(config)
        resolved.append((desc, manifest_bytes, config, plat))
    if want is not None:
        for r in resolved:
            if r[3] is not None and want.matches(r[3]):
                return r
        raise PlatformNotFoundError(
            f"no image for platform {want} in {store.description}; available: "
            + ", ".join(sorted({str(r[3]) for r in resolved if r[3] is not None}) or ["(none)"])
        )
    if len(resolved) == 1:
        return resolved[0]
    for r in resolved:
        if r[3] is not None and DEFAULT_PLATFORM.matches(r[3]):
            return r
    raise PlatformNotFoundError(
        f"{store.description} has several platforms and none is {DEFAULT_PLATFORM}; "
        "choose one with --platform: " + ", ".join(sorted({str(r[3]) for r in resolved if r[3] is not None}))
    )


def _config_platform(config: dict[str, Any]) -> Platform | None:
    os_, arch = config.get("os"), config.get("architecture")
    if isinstance(os_, str) and isinstance(arch, str):
        v = config.get("variant")
        return Platform(os_, arch, v if isinstance(v, str) and v else None)
    return None


def _config(store: BlobStore, manifest: Any) -> dict[str, Any]:
    if not isinstance(manifest, dict):
        raise ImageFormatError("manifest is not a JSON object")
    mt = _media_type(manifest, "manifest")
    if mt in INDEX_TYPES:
        raise ImageFormatError("expected an image manifest, found an index")
    if manifest.get("schemaVersion") != 2:
        raise ImageFormatError(f"unsupported manifest schemaVersion {manifest.get('schemaVersion')!r}")
    cfg = manifest.get("config")
    if not isinstance(cfg, dict) or not isinstance(cfg.get("digest"), str):
        raise ImageFormatError("manifest has no config descriptor")
    config = parse_json(read_verified(store, cfg["digest"], "config"), "image config")
    if not isinstance(config, dict):
        raise ImageFormatError("image config is not a JSON object")
    config["__digest__"] = cfg["digest"]
    return config


def _check_layer_count(n: int) -> None:
    if n > MAX_LAYERS:
        raise LimitExceededError(f"image has {n} layers; at most {MAX_LAYERS} are scanned")


def diff_ids(config: dict[str, Any]) -> list[str]:
    rootfs = config.get("rootfs")
    ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ImageFormatError("image config has no rootfs.diff_ids list")
    return [check_digest(i) for i in ids]


def history(config: dict[str, Any]) -> list[str | None]:
    """created_by of each non-empty layer, in layer order."""
    out: list[str | None] = []
    hist = config.get("history")
    if not isinstance(hist, list):
        return out
    for h in hist:
        if isinstance(h, dict) and not h.get("empty_layer"):
            cb = h.get("created_by")
            out.append(cb if isinstance(cb, str) else None)
    return out


def layers_from_manifest(
    store: BlobStore, manifest: dict[str, Any], config: dict[str, Any]
) -> list[LayerSpec]:
    descs = manifest.get("layers")
    if not isinstance(descs, list):
        raise ImageFormatError("manifest has no layers list")
    _check_layer_count(len(descs))
    ids = diff_ids(config)
    if len(ids) != len(descs):
        raise ImageFormatError(f"manifest lists {len(descs)} layers but the config has {len(ids)} diff_ids")
    hist = history(config)
    out = []
    for i, (d, diff_id) in enumerate(zip(descs, ids, strict=True)):
        if not isinstance(d, dict) or not isinstance(d.get("digest"), str):
            raise ImageFormatError(f"layer {i} has a malformed descriptor")
        digest = check_digest(d["digest"])
        name = digest_path(digest)
        if not store.exists(name):
            raise ImageFormatError(f"manifest names layer blob {digest}, which is not in {store.description}")
        size = d.get("size")
        out.append(
            LayerSpec(
                index=i,
                blob=store.location(name),
                digest=digest,
                diff_id=diff_id,
                media_type=str(d.get("mediaType", "")),
                size=size if isinstance(size, int) else 0,
                created_by=hist[i] if i < len(hist) else None,
            )
        )
    return out


def resolve_oci(store: BlobStore, platform: str | None, tag: str | None) -> ResolvedImage:
    """Resolve an OCI image layout (directory or archive) to one image."""
    if not store.exists("index.json"):
        raise ImageFormatError(f"{store.description} is not an OCI image layout (no index.json)")
    index = parse_json(store.read("index.json"), "index.json")
    descs = _descriptors(index, "index.json")
    if tag is not None:
        descs = [d for d in descs if _ref_name(d) == tag]
        if not descs:
            raise ImageFormatError(f"{store.description} has no image tagged {tag!r}")
    else:
        tags = sorted({t for d in descs if (t := _ref_name(d)) is not None})
        if len(tags) > 1:
            raise ImageFormatError(
                f"{store.description} holds several images (tags: {', '.join(tags)}); "
                "name one as oci-dir:PATH:TAG or oci-archive:PATH:TAG"
            )
    want = Platform.parse(platform) if platform else None
    found = _candidates(store, descs, 0)
    desc, manifest_bytes, config, plat = _choose(store, found, want)
    manifest = parse_json(manifest_bytes, "manifest")
    return ResolvedImage(
        layers=layers_from_manifest(store, manifest, config),
        manifest_digest=desc["digest"],
        config_digest=config["__digest__"],
        platform=str(plat) if plat else None,
        config=config,
    )


def resolve_docker_archive(store: BlobStore, platform: str | None) -> ResolvedImage:
    """Resolve `docker save` output (manifest.json, config, layer tars)."""
    if not store.exists("manifest.json"):
        raise ImageFormatError(
            f"{store.description} is not a docker archive: it has no manifest.json (archives in "
            "the legacy format without one are not supported)"
        )
    doc = parse_json(store.read("manifest.json"), "manifest.json")
    if not isinstance(doc, list) or not doc or not isinstance(doc[0], dict):
        raise ImageFormatError("manifest.json is not a non-empty list of images")
    warnings = []
    if len(doc) > 1:
        warnings.append(f"archive holds {len(doc)} images; scanning the first")
    entry = doc[0]
    cfg_name, layer_names = entry.get("Config"), entry.get("Layers")
    if not isinstance(cfg_name, str) or not isinstance(layer_names, list):
        raise ImageFormatError("manifest.json entry lacks Config or Layers")
    if not store.exists(cfg_name):
        raise ImageFormatError(f"manifest.json names config {cfg_name}, which is not in the archive")
    cfg_bytes = store.read(cfg_name)
    config_digest = sha256(cfg_bytes)
    # The config file is named by its digest (`<hex>.json` or `blobs/sha256/<hex>`): check it.
    stem = cfg_name.rsplit("/", 1)[-1].removesuffix(".json")
    named = len(stem) == 64 and all(c in "0123456789abcdef" for c in stem)
    if named and config_digest != "sha256:" + stem:
        raise DigestMismatchError(f"config {cfg_name}: content hashes to {config_digest}")
    config = parse_json(cfg_bytes, "image config")
    if not isinstance(config, dict):
        raise ImageFormatError("image config is not a JSON object")
    plat = _config_platform(config)
    if platform and plat is not None and not Platform.parse(platform).matches(plat):
        raise PlatformNotFoundError(
            f"no image for platform {platform} in {store.description}; available: {plat}"
        )
    _check_layer_count(len(layer_names))
    ids = diff_ids(config)
    if len(ids) != len(layer_names):
        raise ImageFormatError(
            f"manifest.json lists {len(layer_names)} layers but the config has {len(ids)} diff_ids"
        )
    hist = history(config)
    layers = []
    for i, (name, diff_id) in enumerate(zip(layer_names, ids, strict=True)):
        if not isinstance(name, str):
            raise ImageFormatError(f"layer {i} name is not a string")
        if not store.exists(name):
            raise ImageFormatError(f"manifest.json names layer {name}, which is not in {store.description}")
        digest = None
        parts = name.split("/")
        if len(parts) == 3 and parts[0] == "blobs" and parts[1] == "sha256":
            digest = check_digest("sha256:" + parts[2])
        loc = store.location(name)
        layers.append(
            LayerSpec(
                index=i,
                blob=loc,
                digest=digest,
                diff_id=diff_id,
                media_type="application/vnd.docker.image.rootfs.diff.tar",
                size=loc.length or 0,
                created_by=hist[i] if i < len(hist) else None,
            )
        )
    tags = entry.get("RepoTags")
    return ResolvedImage(
        layers=layers,
        config_digest=config_digest,
        platform=str(plat) if plat else None,
        repo_tags=[t for t in tags if isinstance(t, str)] if isinstance(tags, list) else [],
        warnings=warnings,
        config=config,
    )
