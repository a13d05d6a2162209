"""``hullscan.inventory``: what is installed in an image."""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from hullscan import _core, sources
from hullscan.cache import LayerCache, ensure_dir
from hullscan.cache import cache_dir as resolve_cache_dir
from hullscan.checks import check_config, file_secrets, redact
from hullscan.errors import CacheError, LimitExceededError, SourceError
from hullscan.model import Distro, Inventory, Layer, Package
from hullscan.sources.blobs import BlobStore
from hullscan.sources.image import LayerSpec, ResolvedImage
from hullscan.sources.registry import RegistrySource
from hullscan.sources.registry_config import RegistryConfig

#: Most packages all layers of one image may list in sum (a layer that rewrites the dpkg database
#: lists every package again). Each costs about 1-5 KB on the way to the inventory.
MAX_IMAGE_PACKAGES = 1_000_000

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def _scan(spec: LayerSpec, secrets: bool) -> _core.LayerResult:
    return _core.scan_layer(
        spec.blob.path,
        spec.blob.offset,
        spec.blob.length,
        expected_digest=spec.digest,
        expected_diff_id=spec.diff_id,
        secrets=secrets,
    )


def inventory(
    source: str | os.PathLike[str],
    *,
    platform: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    registries: RegistryConfig | str | os.PathLike[str] | None = None,
    progress: bool | None = None,
    secrets: bool = False,
) -> Inventory:
    """Inventory an image or root filesystem.

    ``source`` is ``oci-dir:PATH``, ``oci-archive:PATH``, ``docker-archive:PATH``, ``dir:PATH``,
    ``registry:REF``, ``docker:REF``, ``sbom:FILE`` (CycloneDX JSON / XML, SPDX JSON / tag-value or
    syft JSON: the packages its purls name), or a bare path (sniffed) or image reference.
    ``platform`` (``os/arch[/variant]``) picks one image of a multi-platform index; the default is
    linux/amd64, or the only image. Layer results are cached by diff_id and cataloger versions in
    the cache directory (``$HULLSCAN_CACHE_DIR`` or the user cache dir); registry blobs are kept
    there too, by digest. ``registries`` is a :class:`RegistryConfig` or the path of a registry
    settings file (default: ``$HULLSCAN_REGISTRIES`` or the user config dir's
    ``registries.toml``). ``progress``: a status line on stderr while pulling (default: when stderr
    is a terminal). ``secrets``: also search the layers' files for secrets (reported, masked, in
    ``config_findings`` as ``HS-IMG-007``; the image config is always checked).

    Raises a :class:`hullscan.errors.HullscanError` subclass on bad input.
    """
    text = os.fspath(source)
    spec = sources.parse(text)
    if spec.kind == "sbom":
        from hullscan.sbom.reader import read_sbom

        if spec.path.is_dir():
            raise SourceError(f"{text}: an SBOM is a file, not a directory")
        return read_sbom(spec.path)
    if spec.kind == "dir":
        result = _core.scan_dir(spec.path, secrets=secrets)
        layer = Layer(index=0, digest="", diff_id="", compression="dir")
        inv = _assemble(str(spec), spec.kind, [result], [layer], [], None, None, None, [])
        return replace(inv, config_findings=file_secrets([result], inv.layers))
    root = resolve_cache_dir(cache_dir)
    store = _open(spec, root, registries, progress)
    try:
        spec = sources.settle(spec, store)
        image = sources.resolve(spec, store, platform)
        return from_resolved(spec, store, image, root if use_cache else None, secrets=secrets)
    finally:
        store.close()


def from_resolved(
    spec: sources.SourceSpec,
    store: BlobStore,
    image: ResolvedImage,
    cache_root: Path | None,
    *,
    secrets: bool = False,
    lock_layers: bool = False,
) -> Inventory:
    """The inventory of an image already resolved from ``store`` (the caller closes the store).
    ``cache_root``: the cache directory whose layer cache is read and written (None: none).
    ``lock_layers``: several processes or threads share the cache (``hullscan.fleet``): each layer
    missing from it is fetched and analysed under a file lock named by its diff_id in
    ``<cache>/locks/``, and looked up again once the lock is held, so a layer shared by images
    that workers inventory at the same time is fetched and analysed once."""
    cache = LayerCache(cache_root, secrets=secrets) if cache_root is not None else None
    with contextlib.ExitStack() as held:
        # A blob listed again (the empty layer often is) is read once and its result held once.
        found: dict[tuple[object, ...], tuple[_core.LayerResult, bool]] = {}
        todo: dict[tuple[object, ...], LayerSpec] = {}
        for ls in image.layers:
            key = _key(ls)
            if key in found or key in todo:
                continue
            cached = cache.get(ls.diff_id) if cache is not None else None
            if cached is not None:
                found[key] = (cached, True)
            else:
                todo[key] = ls
        if lock_layers and cache is not None and cache_root is not None and todo:
            # Locks are taken in diff_id order, so two workers never wait on each other in a cycle.
            locks = ensure_dir(cache_root / "locks")
            for diff_id in sorted({ls.diff_id for ls in todo.values() if _DIGEST.fullmatch(ls.diff_id)}):
                held.enter_context(_layer_lock(locks / diff_id.split(":", 1)[1]))
            for key, ls in list(todo.items()):
                cached = cache.get(ls.diff_id)
                if cached is not None:
                    found[key] = (cached, True)
                    del todo[key]
        # Layers not in the cache: a registry downloads them concurrently and hands each over as it
        # arrives; local stores have them already.
        fetch = store.fetch if isinstance(store, RegistrySource) else iter
        for ls in fetch(list(todo.values())):
            result = _scan(ls, secrets)
            if cache is not None:
                problem = cache.put(result)
                if problem is not None:
                    image.warnings.append(problem)
            found[_key(ls)] = (result, False)
    results: list[_core.LayerResult] = []
    layers: list[Layer] = []
    total_packages = 0
    for ls in image.layers:
        result, from_cache = found[_key(ls)]
        total_packages += result.package_count
        if total_packages > MAX_IMAGE_PACKAGES:
            raise LimitExceededError(
                f"the image's layers list more than {MAX_IMAGE_PACKAGES} packages in all"
            )
        results.append(result)
        layers.append(
            Layer(
                index=ls.index,
                digest=ls.digest or result.digest,
                diff_id=ls.diff_id,
                media_type=ls.media_type,
                size=ls.size or result.compressed_size,
                compression=result.compression,
                uncompressed_size=result.uncompressed_size,
                cached=from_cache,
                created_by=redact(ls.created_by) if ls.created_by is not None else None,
            )
        )
    image_config, config_findings = check_config(image.config) if image.config is not None else (None, ())
    inv = _assemble(
        str(spec),
        spec.kind,
        results,
        layers,
        image.warnings,
        image.manifest_digest,
        image.config_digest,
        image.platform,
        image.repo_tags,
    )
    return replace(
        inv, config=image_config, config_findings=config_findings + file_secrets(results, inv.layers)
    )


@contextlib.contextmanager
def _layer_lock(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (released when the process dies, so a killed worker
    never leaves a layer locked)."""
    import fcntl

    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as e:
        raise CacheError(f"cannot create the layer lock {path}: {e.strerror}") from e
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _key(ls: LayerSpec) -> tuple[object, ...]:
    return (ls.diff_id, ls.digest, ls.blob.path, ls.blob.offset, ls.blob.length)


def _open(
    spec: sources.SourceSpec,
    root: Path,
    registries: RegistryConfig | str | os.PathLike[str] | None,
    progress: bool | None,
) -> BlobStore:
    if spec.kind == "registry":
        assert spec.reference is not None
        config = registries if isinstance(registries, RegistryConfig) else RegistryConfig.load(registries)
        return RegistrySource(spec.reference, ensure_dir(root), config, progress=progress)
    if spec.kind == "docker":
        from hullscan.sources.daemon import DaemonStore

        assert spec.tag is not None
        return DaemonStore(spec.tag, ensure_dir(root / "tmp"))
    return sources.open_store(spec, ensure_dir(root / "tmp"))


def _assemble(
    source: str,
    kind: str,
    results: list[_core.LayerResult],
    layers: list[Layer],
    warnings: list[str],
    manifest_digest: str | None,
    config_digest: str | None,
    platform: str | None,
    repo_tags: list[str],
) -> Inventory:
    merged: dict[str, Any] = json.loads(_core.merge_layers(results))
    d = merged.get("distro")
    distro = (
        Distro(
            id=d["id"],
            version_id=d["version_id"],
            codename=d.get("codename"),
            pretty_name=d.get("pretty_name"),
            ecosystem=d.get("ecosystem"),
            source_file=d.get("source_file", ""),
        )
        if d
        else None
    )
    packages = tuple(
        Package(
            name=p["name"],
            version=p["version"],
            ecosystem=p["ecosystem"],
            purl=p["purl"],
            kind=p["kind"],
            epoch=p.get("epoch"),
            source_name=p.get("source_name"),
            source_version=p.get("source_version"),
            arch=p.get("arch"),
            license=p.get("license"),
            namespace=p.get("namespace"),
            layer_index=p["layer_index"],
            # Layer identity comes from the image (the blob digest the manifest names).
            layer_diff_id=layers[p["layer_index"]].diff_id,
            layer_digest=layers[p["layer_index"]].digest,
            locations=tuple(p["locations"]),
            owned_by=p.get("owned_by"),
        )
        for p in merged["packages"]
    )
    return Inventory(
        source=source,
        source_type=kind,
        distro=distro,
        layers=tuple(layers),
        packages=packages,
        warnings=tuple(warnings) + tuple(merged.get("warnings", [])),
        manifest_digest=manifest_digest,
        config_digest=config_digest,
        platform=platform,
        repo_tags=tuple(repo_tags),
    )


__all__ = ["from_resolved", "inventory"]
