"""``registry:REF``: pull an image from a registry, without a daemon, into the blob cache.

Resolution: the manifest named by the reference's tag or digest (from the first endpoint that
has it: mirrors, then the possibly rewritten location; see ``registry_config``); an image index or
Docker manifest list is followed to the requested platform (default linux/amd64, or the only
one); Docker schema 2 and OCI manifests are accepted. Documents are verified against their
digests (a manifest fetched by tag against the registry's ``Docker-Content-Digest``).

Blobs live in a content-addressed cache, ``<cache>/blobs/sha256/<hex>``: a download is streamed to
a temporary file in ``<cache>/blobs/tmp``, hashed as it is written, and renamed into place only
when it matches its digest; a blob already in the cache is re-hashed before use. Layers whose
result is in the layer cache are not downloaded at all (the caller asks only for the others);
the rest are downloaded by a small thread pool and handed to the caller as each one completes.
"""

from __future__ import annotations

import hashlib
import re
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from hullscan.auth import CredentialStore
from hullscan.errors import (
    DigestMismatchError,
    ImageFormatError,
    LimitExceededError,
    PlatformNotFoundError,
    RegistryError,
    SourceError,
)
from hullscan.sources.blobs import MAX_DOCUMENT, BlobLocation, BlobStore
from hullscan.sources.image import (
    DEFAULT_PLATFORM,
    INDEX_TYPES,
    MANIFEST_TYPES,
    MAX_DESCRIPTORS,
    MAX_INDEX_DEPTH,
    MAX_LAYERS,
    LayerSpec,
    Platform,
    ResolvedImage,
    _config_platform,
    _descriptors,
    _is_attestation,
    _platform_of,
    diff_ids,
    history,
    parse_json,
    pick_platform,
)
from hullscan.sources.registry_client import TOKENS, Repository, Transport
from hullscan.sources.registry_config import RegistryConfig
from hullscan.sources.registry_ref import Reference

ACCEPT = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
]
_SCHEMA1 = (
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
)
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
#: Temporary download files older than this (a crashed run's) are removed.
STALE_PART = 24 * 3600


def check_digest(digest: object) -> str:
    """A ``sha256:<64 hex>`` digest, exactly (it names a file in the blob cache and a URL path)."""
    if not isinstance(digest, str) or _DIGEST.fullmatch(digest) is None:
        if isinstance(digest, str) and ":" in digest and not digest.startswith("sha256:"):
            raise ImageFormatError(f"unsupported digest algorithm in {digest[:80]!r}")
        raise ImageFormatError(f"invalid digest {str(digest)[:80]!r}")
    return digest


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


class Progress:
    """One status line on standard error: layers and megabytes pulled."""

    def __init__(self, label: str, enabled: bool) -> None:
        self.label = label
        self.enabled = enabled
        self.total_bytes = 0
        self.total_layers = 0
        self.done_bytes = 0
        self.done_layers = 0
        self._lock = threading.Lock()
        self._last = 0.0
        self._shown = False

    def start(self, layers: int, total: int) -> None:
        self.total_layers, self.total_bytes = layers, total
        self._show(force=True)

    def add(self, n: int) -> None:
        with self._lock:
            self.done_bytes += n
        self._show()

    def layer_done(self) -> None:
        with self._lock:
            self.done_layers += 1
        self._show(force=True)

    def _show(self, force: bool = False) -> None:
        if not self.enabled:
            return
        with self._lock:
            now = time.monotonic()
            if not force and now - self._last < 0.1:
                return
            self._last = now
            mb = f"{self.done_bytes / 1e6:.1f}/{self.total_bytes / 1e6:.1f} MB"
            share = min(1.0, self.done_bytes / self.total_bytes) if self.total_bytes else 1.0
            bar = "#" * round(24 * share)
            layers = f"{self.done_layers}/{self.total_layers} layers"
            line = f"{self.label} [{bar:<24}] {share:4.0%} {layers}, {mb}"
            sys.stderr.write(f"\r{line}\x1b[K")
            sys.stderr.flush()
            self._shown = True

    def finish(self) -> None:
        if self.enabled and self._shown:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self._shown = False


class RegistrySource(BlobStore):
    """An image in a registry, with its blobs in the cache directory."""

    def __init__(
        self,
        ref: Reference,
        cache_root: Path,
        config: RegistryConfig | None = None,
        *,
        progress: bool | None = None,
        credentials: CredentialStore | None = None,
    ) -> None:
        self.ref = ref
        self.description = f"registry:{ref}"
        self.config = config if config is not None else RegistryConfig.load()
        self.blob_dir = cache_root / "blobs" / "sha256"
        self.tmp_dir = cache_root / "blobs" / "tmp"
        self.credentials = credentials or CredentialStore()
        self.transport = Transport(self.config.options)
        self.tokens = TOKENS
        self.cancelled = threading.Event()
        self.repo: Repository | None = None
        self.progress = Progress(f"pulling {ref}", progress if progress is not None else sys.stderr.isatty())
        #: Bytes downloaded and blobs fetched over the network, for tests and benchmarks.
        self.downloaded_bytes = 0
        self.downloaded_blobs = 0
        self._stats_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        try:
            self.blob_dir.mkdir(parents=True, exist_ok=True)
            self.tmp_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise SourceError(f"cannot create the blob cache in {cache_root}: {e.strerror}") from e
        self._clean_stale_parts()

    def _clean_stale_parts(self) -> None:
        cutoff = time.time() - STALE_PART
        try:
            for p in self.tmp_dir.glob("*.part"):
                try:
                    if p.stat().st_mtime < cutoff:
                        p.unlink()
                except OSError:
                    pass
        except OSError:
            pass

    # -- BlobStore ------------------------------------------------------------------------------

    def blob_path(self, digest: str) -> Path:
        return self.blob_dir / check_digest(digest).split(":", 1)[1]

    def location(self, name: str) -> BlobLocation:
        raise ImageFormatError(f"{self.description}: blobs are addressed by digest")

    def exists(self, name: str) -> bool:
        return False

    def close(self) -> None:
        self.cancelled.set()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self.progress.finish()
        self.transport.close_all()

    # -- documents ------------------------------------------------------------------------------

    def _cached(self, digest: str, limit: int) -> bytes | None:
        path = self.blob_path(digest)
        try:
            if path.stat().st_size > limit:
                return None
            data = path.read_bytes()
        except OSError:
            return None
        if _sha256(data) != digest:
            path.unlink(missing_ok=True)
            return None
        return data

    def _store(self, digest: str, data: bytes) -> None:
        """Keep a verified document in the blob cache (best effort: a cache is an optimisation)."""
        path = self.blob_path(digest)
        tmp = self.tmp_dir / f"{digest[7:23]}-{threading.get_ident()}.doc"
        try:
            tmp.write_bytes(data)
            tmp.replace(path)
        except OSError:
            tmp.unlink(missing_ok=True)

    def _manifest_by_digest(self, repo: Repository, digest: str) -> tuple[bytes, str]:
        data = self._cached(digest, MAX_DOCUMENT)
        if data is not None:
            return data, ""
        data, ctype, _ = repo.manifest(digest, ACCEPT, MAX_DOCUMENT)
        actual = _sha256(data)
        if actual != digest:
            raise DigestMismatchError(f"manifest {digest} from {repo.description} hashes to {actual}")
        self._store(digest, data)
        return data, ctype

    def _config(self, repo: Repository, manifest: dict[str, Any]) -> tuple[dict[str, Any], str]:
        cfg = manifest.get("config")
        if not isinstance(cfg, dict) or not isinstance(cfg.get("digest"), str):
            raise ImageFormatError("manifest has no config descriptor")
        digest = check_digest(cfg["digest"])
        data = self._cached(digest, MAX_DOCUMENT)
        if data is None:
            data = repo.blob_bytes(digest, MAX_DOCUMENT)
            self._store(digest, data)
        config = parse_json(data, "image config")
        if not isinstance(config, dict):
            raise ImageFormatError("image config is not a JSON object")
        return config, digest

    # -- resolution -----------------------------------------------------------------------------

    def _open_repository(self) -> tuple[Repository, bytes, str, str | None]:
        """The first endpoint that serves the reference's manifest."""
        endpoints = self.config.endpoints(self.ref)
        errors: list[str] = []
        for i, ep in enumerate(endpoints):
            repo = Repository(ep, self.credentials, self.transport, self.tokens, self.cancelled)
            try:
                data, ctype, header_digest = repo.manifest(self.ref.reference, ACCEPT, MAX_DOCUMENT)
            except (RegistryError, DigestMismatchError, LimitExceededError) as e:
                if i == len(endpoints) - 1:
                    if errors:
                        raise type(e)(f"{e} (mirrors tried first: {'; '.join(errors)})") from None
                    raise
                errors.append(f"{ep.host}: {e}")
                continue
            return repo, data, ctype, header_digest
        raise SourceError(f"{self.description}: no endpoint to pull from")  # pragma: no cover

    def resolve(self, platform: str | None) -> ResolvedImage:
        want = Platform.parse(platform) if platform else None
        repo, data, ctype, header_digest = self._open_repository()
        self.repo = repo
        digest = _sha256(data)
        if self.ref.digest is not None and digest != self.ref.digest:
            raise DigestMismatchError(
                f"manifest {self.ref.digest} from {repo.description} hashes to {digest}"
            )
        if header_digest and header_digest.startswith("sha256:") and header_digest != digest:
            raise DigestMismatchError(
                f"manifest {self.ref.reference} from {repo.description} hashes to {digest}, but the "
                f"registry names it {header_digest}"
            )
        self._store(digest, data)
        doc = parse_json(data, "manifest")
        if not isinstance(doc, dict):
            raise ImageFormatError(f"manifest of {self.ref} is not a JSON object")
        mt = doc.get("mediaType") if isinstance(doc.get("mediaType"), str) else ctype
        warnings: list[str] = []
        plat: Platform | None = None
        if mt in INDEX_TYPES or (mt not in MANIFEST_TYPES and "manifests" in doc):
            digest, data, plat = self._choose(repo, doc, want, 0, [0])
            doc = parse_json(data, "manifest")
            if not isinstance(doc, dict):
                raise ImageFormatError("manifest is not a JSON object")
            mt = doc.get("mediaType") if isinstance(doc.get("mediaType"), str) else None
        if mt in _SCHEMA1 or doc.get("schemaVersion") == 1:
            raise ImageFormatError(f"{self.ref} has a Docker schema 1 manifest, which is not supported")
        if mt is not None and mt not in MANIFEST_TYPES:
            raise ImageFormatError(f"{self.ref}: unsupported manifest media type {mt!r}")
        if doc.get("schemaVersion") != 2:
            raise ImageFormatError(f"unsupported manifest schemaVersion {doc.get('schemaVersion')!r}")
        config, config_digest = self._config(repo, doc)
        cfg_plat = _config_platform(config)
        plat = plat or cfg_plat
        if want is not None and cfg_plat is not None and not want.matches(cfg_plat):
            raise PlatformNotFoundError(f"no image for platform {want} in {self.ref}; available: {cfg_plat}")
        layers = self._layers(doc, config)
        return ResolvedImage(
            layers=layers,
            manifest_digest=digest,
            config_digest=config_digest,
            platform=str(plat) if plat else None,
            repo_tags=[str(self.ref)] if self.ref.tag else [],
            warnings=warnings,
            config=config,
        )

    def _choose(
        self, repo: Repository, index: dict[str, Any], want: Platform | None, depth: int, seen: list[int]
    ) -> tuple[str, bytes, Platform | None]:
        """The manifest of an index for the wanted platform: (digest, bytes, platform)."""
        if depth >= MAX_INDEX_DEPTH:
            raise ImageFormatError(f"image indexes nested deeper than {MAX_INDEX_DEPTH}")
        descs = _descriptors(index, "image index")
        found: list[tuple[dict[str, Any], Platform | None]] = []
        for d in descs:
            seen[0] += 1
            if seen[0] > MAX_DESCRIPTORS:
                raise LimitExceededError(f"image indexes list more than {MAX_DESCRIPTORS} manifests in all")
            if _is_attestation(d):
                continue
            found.append((d, _platform_of(d)))
        if not found:
            raise ImageFormatError(f"the image index of {self.ref} lists no image")
        available = sorted({str(p) for _, p in found if p is not None})
        pick = pick_platform(found, want)
        if pick is None and any(p is None for _, p in found):
            # Descriptors without a platform: read their configs (bounded by MAX_DESCRIPTORS above).
            for d, p in found:
                if p is not None:
                    continue
                digest, data, plat = self._descend(repo, d, want, depth, seen)
                if plat is not None and (want or DEFAULT_PLATFORM).matches(plat):
                    return digest, data, plat
        if pick is None:
            if want is not None:
                raise PlatformNotFoundError(
                    f"no image for platform {want} in {self.ref}; "
                    f"available: {', '.join(available) or '(none)'}"
                )
            raise PlatformNotFoundError(
                f"{self.ref} has several platforms and none is {DEFAULT_PLATFORM}; choose one with "
                f"--platform: {', '.join(available)}"
            )
        return self._descend(repo, pick, want, depth, seen)

    def _descend(
        self, repo: Repository, desc: dict[str, Any], want: Platform | None, depth: int, seen: list[int]
    ) -> tuple[str, bytes, Platform | None]:
        digest = check_digest(desc["digest"])
        data, _ = self._manifest_by_digest(repo, digest)
        doc = parse_json(data, "manifest")
        if not isinstance(doc, dict):
            raise ImageFormatError("manifest is not a JSON object")
        if doc.get("mediaType") in INDEX_TYPES or desc.get("mediaType") in INDEX_TYPES:
            return self._choose(repo, doc, want, depth + 1, seen)
        plat = _platform_of(desc)
        if plat is None:
            config, _ = self._config(repo, doc)
            plat = _config_platform(config)
        return digest, data, plat

    def _layers(self, manifest: dict[str, Any], config: dict[str, Any]) -> list[LayerSpec]:
        descs = manifest.get("layers")
        if not isinstance(descs, list):
            raise ImageFormatError("manifest has no layers list")
        if len(descs) > MAX_LAYERS:
            raise LimitExceededError(f"image has {len(descs)} layers; at most {MAX_LAYERS} are scanned")
        ids = diff_ids(config)
        if len(ids) != len(descs):
            raise ImageFormatError(
                f"manifest lists {len(descs)} layers but the config has {len(ids)} diff_ids"
            )
        hist = history(config)
        out = []
        for i, (d, diff_id) in enumerate(zip(descs, ids, strict=True)):
            if not isinstance(d, dict) or not isinstance(d.get("digest"), str):
                raise ImageFormatError(f"layer {i} has a malformed descriptor")
            digest = check_digest(d["digest"])
            size = d.get("size")
            if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                raise ImageFormatError(f"layer {i} has no valid size")
            out.append(
                LayerSpec(
                    index=i,
                    blob=BlobLocation(self.blob_path(digest)),
                    digest=digest,
                    diff_id=diff_id,
                    media_type=str(d.get("mediaType", "")),
                    size=size,
                    created_by=hist[i] if i < len(hist) else None,
                )
            )
        return out

    # -- layer blobs ----------------------------------------------------------------------------

    def _ensure(self, layer: LayerSpec) -> LayerSpec:
        assert self.repo is not None
        assert layer.digest is not None
        path = self.blob_path(layer.digest)
        if path.is_file():
            if path.stat().st_size == layer.size and file_digest(path) == layer.digest:
                self.progress.add(layer.size)
                self.progress.layer_done()
                return layer
            path.unlink(missing_ok=True)
        fetched = self.repo.download(layer.digest, layer.size, path, self.tmp_dir, self.progress.add)
        with self._stats_lock:
            self.downloaded_bytes += fetched
            self.downloaded_blobs += 1
        self.progress.layer_done()
        return layer

    def fetch(self, layers: list[LayerSpec]) -> Iterator[LayerSpec]:
        """Make each layer's blob available in the cache, concurrently; yield each layer as soon
        as its blob is complete and verified (in the order they complete)."""
        if not layers:
            return
        self.progress.start(len(layers), sum(ls.size for ls in layers))
        pool = self._pool = ThreadPoolExecutor(
            max_workers=min(self.config.options.concurrency, len(layers)), thread_name_prefix="hullscan-pull"
        )
        pending: set[Future[LayerSpec]] = {pool.submit(self._ensure, ls) for ls in layers}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield fut.result()
        finally:
            if pending:
                # The caller stopped (an error, or it closed the store): stop the other downloads.
                self.cancelled.set()
                for fut in pending:
                    fut.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            self.progress.finish()


__all__ = ["ACCEPT", "Progress", "RegistrySource", "file_digest"]
