"""Registry scans into the store, rescans of the store, and the monitor loop."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TypeAlias

from hullscan import _core
from hullscan.errors import HullscanError
from hullscan.inventory import inventory
from hullscan.scan import load_index
from hullscan.severity import LEVELS
from hullscan.sources.registry_config import RegistryConfig
from hullscan.store.db import InventoryStore, open_store
from hullscan.store.discovery import DiscoveredImage, EcrTarget, Filters, ecr_images, parse_target, select
from hullscan.store.matching import Delta, Matcher, StoredFinding, rematch

StoreLike: TypeAlias = InventoryStore | str | os.PathLike[str] | None


def open_index(
    db: str | os.PathLike[str] | None, *, cache_dir: str | os.PathLike[str] | None = None
) -> tuple[_core.AdvisoryIndex, str]:
    """The advisory index (``db``: an index file or generation directory; default the cache's
    current database, never downloaded here) and its generation id: the generation directory's
    name, or ``index-<sha256 prefix>`` of an index file."""
    index, info = load_index(db, offline=True, cache_dir=Path(cache_dir) if cache_dir else None)
    path = Path(str(info["path"]))
    if db is None or Path(db).is_dir():
        return index, (path.parent.name if path.name == "index.bin" else path.name)
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return index, "index-" + h.hexdigest()[:16]


def rescan(
    store: StoreLike = None,
    *,
    db: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    batch_size: int = 2000,
    digests: Sequence[str] | None = None,
) -> list[Delta]:
    """Re-match every stored inventory (or those of ``digests``) against the advisory database
    without pulling anything; returns one :class:`Delta` per image (``Delta.empty`` when nothing
    changed) and stores the new findings, so the next rescan compares with these."""
    st = open_store(store, cache_dir=cache_dir)
    try:
        index, generation = open_index(db, cache_dir=cache_dir)
        return list(rematch(st, Matcher(index, generation), batch_size=batch_size, digests=digests))
    finally:
        if st is not store:
            st.close()


def counts(findings: Sequence[StoredFinding]) -> dict[str, int]:
    out = dict.fromkeys(LEVELS, 0)
    for f in findings:
        out[f.severity] = out.get(f.severity, 0) + 1
    return out


@dataclass(frozen=True, slots=True)
class ImageScan:
    """What ``scan-registry`` did with one discovered image."""

    image: DiscoveredImage
    #: ``scanned`` (pulled and inventoried), ``rematched`` (stored inventory matched against a newer
    #: database, nothing pulled), ``current`` (already matched against this database), ``failed``.
    status: str
    delta: Delta | None = None
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "repository": self.image.name,
            "digest": self.image.digest,
            "tags": list(self.image.tags),
            "pushed_at": self.image.pushed_at.isoformat() if self.image.pushed_at else None,
            "last_pulled_at": self.image.last_pulled_at.isoformat() if self.image.last_pulled_at else None,
            "status": self.status,
            "counts": self.counts,
            "error": self.error,
            "delta": self.delta.to_dict() if self.delta is not None else None,
        }


def scan_registry(
    target: str | EcrTarget,
    *,
    store: StoreLike = None,
    db: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    filters: Filters | None = None,
    force: bool = False,
    registries: RegistryConfig | str | os.PathLike[str] | None = None,
    platform: str | None = None,
    profile: str | None = None,
    page_size: int = 1000,
    progress: bool | None = None,
    os_owned: bool = False,
) -> list[ImageScan]:
    """Discover the target's images (``ecr://ACCOUNT/REGION[/prefix]``), keep those ``filters``
    select, and bring each digest's findings up to date in the store: a digest not stored yet (or
    every one with ``force``) is pulled and inventoried once; a stored one is only re-matched, and
    only when the database changed since its last match. An image that cannot be scanned is
    reported ``failed`` and the others still are."""
    tgt = parse_target(target) if isinstance(target, str) else target
    st = open_store(store, cache_dir=cache_dir)
    try:
        index, generation = open_index(db, cache_dir=cache_dir)
        found = select(ecr_images(tgt, profile=profile, page_size=page_size), filters or Filters())
        status: dict[str, str] = {}
        errors: dict[str, str] = {}
        todo: list[str] = []
        for img in found:
            if img.digest in status:
                continue
            stored = None if force else st.get(img.digest)
            if stored is not None:
                st.update_image(
                    img.digest,
                    repository=img.name,
                    tags=img.tags,
                    pushed_at=img.pushed_at,
                    last_pulled_at=img.last_pulled_at,
                )
                if stored.db_generation == generation:
                    status[img.digest] = "current"
                    continue
                status[img.digest] = "rematched"
                todo.append(img.digest)
                continue
            try:
                inv = inventory(
                    img.reference,
                    platform=platform,
                    cache_dir=cache_dir,
                    registries=registries,
                    progress=progress,
                )
            except HullscanError as e:
                status[img.digest] = "failed"
                errors[img.digest] = f"{type(e).__name__}: {e}"
                continue
            st.put(
                inv,
                digest=img.digest,
                repository=img.name,
                tags=img.tags,
                source=img.reference,
                pushed_at=img.pushed_at,
                last_pulled_at=img.last_pulled_at,
                os_owned=os_owned,
            )
            status[img.digest] = "scanned"
            todo.append(img.digest)
        deltas = {d.digest: d for d in rematch(st, Matcher(index, generation), digests=todo)} if todo else {}
        out = []
        for img in found:
            s = status[img.digest]
            c = counts(st.findings(img.digest)) if s != "failed" else {}
            out.append(ImageScan(img, s, deltas.get(img.digest), c, errors.get(img.digest)))
        return out
    finally:
        if st is not store:
            st.close()


@dataclass(frozen=True, slots=True)
class Cycle:
    """One monitor cycle: the registry scans, then the rescan of every other stored image."""

    number: int
    scans: tuple[ImageScan, ...]
    deltas: tuple[Delta, ...]
    db_generation: str


def monitor(
    targets: Sequence[str],
    *,
    every: timedelta,
    once: bool = False,
    store: StoreLike = None,
    db: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    filters: Filters | None = None,
    registries: RegistryConfig | str | os.PathLike[str] | None = None,
    update_db: Callable[[], None] | None = None,
    on_cycle: Callable[[Cycle], None] | None = None,
    on_error: Callable[[HullscanError], None] | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Discovery and rescans on a schedule, as Inspector's continuous scanning: each cycle
    (optionally updates the database, then) scans every target into the store and re-matches every
    other stored inventory against the current database, then waits ``every`` (or returns after one
    cycle with ``once``, or when ``stop`` is set). A cycle that fails (registry or database
    unreachable) is passed to ``on_error`` and the loop goes on; without ``on_error``, or with
    ``once``, the error is raised. Returns the number of cycles run."""
    parsed = [parse_target(t) for t in targets]
    stop = stop or threading.Event()
    st = open_store(store, cache_dir=cache_dir)
    n = 0
    try:
        while not stop.is_set():
            n += 1
            try:
                if update_db is not None:
                    update_db()
                scans: list[ImageScan] = []
                for t in parsed:
                    scans += scan_registry(
                        t, store=st, db=db, cache_dir=cache_dir, filters=filters, registries=registries
                    )
                index, generation = open_index(db, cache_dir=cache_dir)
                # The images just scanned were matched against this generation: skipped here.
                deltas = list(rematch(st, Matcher(index, generation), skip_current=True))
            except HullscanError as e:
                if on_error is None or once:
                    raise
                on_error(e)
            else:
                if on_cycle is not None:
                    on_cycle(Cycle(n, tuple(scans), tuple(deltas), generation))
            if once or stop.wait(every.total_seconds()):
                break
        return n
    finally:
        if st is not store:
            st.close()


__all__ = ["Cycle", "ImageScan", "counts", "monitor", "open_index", "rescan", "scan_registry"]
