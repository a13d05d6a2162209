"""The advisory database: OSV records from every feed, in immutable generations in the cache dir.

::

    db = open_db()                      # the current generation (DatabaseNotFoundError if none)
    for rec in db.records(): ...        # OSV records (dicts), every source
    db.record_files()                   # the .jsonl.zst files holding them, for a fast reader
    db.sources(), db.age(), db.is_stale()

    import_paths([Path("PyPI/all.zip"), Path("alpine/v3.20/main.json")])   # `hullscan db import`
    update(base_url=..., ecosystems=["PyPI", "Go"])                          # `hullscan db update`
    status()                                                                 # `hullscan db status`

Every record follows the OSV schema (required fields and types checked on import, see
:mod:`hullscan.db.schema`). Distro feeds are normalised to OSV as osv.dev does (see the modules
of :mod:`hullscan.db.feeds`); their records carry ``database_specific.source`` and, where the
vendor gives one, a normalised ``database_specific.severity`` (negligible / low / medium / high /
critical). Record ids are unique per source for OSV and ALAS feeds; distro feeds have one record
per (vulnerability, package, release), so ``ALPINE-CVE-...`` / ``DEBIAN-CVE-...`` repeat across
releases and packages, and the same vulnerability appears under different ids in different
sources (related by ``aliases``).

Settings: ``HULLSCAN_DB_URL`` (update base URL), ``HULLSCAN_DB_MAX_AGE`` (``7d``, ``12h``,
``90m``, ``3600s`` or seconds; default 7 days: :meth:`Database.is_stale`), ``HULLSCAN_CACHE_DIR``.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hullscan.db import store
from hullscan.db.feeds.threat import KINDS as THREAT_KINDS
from hullscan.db.store import SourceInfo, db_root, iso, now_utc, parse_iso
from hullscan.errors import DatabaseError, DatabaseNotFoundError

DEFAULT_MAX_AGE = timedelta(days=7)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def configured_max_age(value: str | None = None) -> timedelta:
    """``value`` or ``$HULLSCAN_DB_MAX_AGE`` as a duration (``7d``, ``12h``, ``90m``, ``3600``)."""
    text = value if value is not None else os.environ.get("HULLSCAN_DB_MAX_AGE")
    if not text:
        return DEFAULT_MAX_AGE
    m = _DURATION.match(text.lower())
    if not m:
        raise DatabaseError(f"HULLSCAN_DB_MAX_AGE={text!r} is not a duration such as 7d, 12h, 90m or 3600")
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])


def _not_found(root: Path) -> DatabaseNotFoundError:
    return DatabaseNotFoundError(
        f"no advisory database in {root}: run `hullscan db update` to download one, or "
        f"`hullscan db import PATH...` to import advisory files (offline)"
    )


class Database:
    """An opened generation of the store: read-only, and kept on disk while open (a writer that
    replaces it removes it only once every reader has closed it)."""

    def __init__(
        self,
        root: Path,
        generation: str,
        meta: dict[str, Any],
        sources: list[SourceInfo],
        lock_fd: int | None,
        *,
        warnings: Sequence[str] = (),
        changed: Sequence[str] = (),
    ) -> None:
        self.root = root
        self.generation = generation
        #: The generation directory.
        self.path = root / "generations" / generation
        self.created_at = parse_iso(str(meta["created_at"]))
        self._sources = sources
        self._lock_fd = lock_fd
        #: Notes from the import or update that produced this object (files not imported).
        self.warnings: tuple[str, ...] = tuple(warnings)
        #: Names of the sources the import or update that produced this object wrote.
        self.changed: tuple[str, ...] = tuple(changed)

    # -- reading --

    def sources(self) -> list[SourceInfo]:
        return list(self._sources)

    def record_files(self) -> list[Path]:
        """The files holding every advisory record (``.jsonl.zst``: zstd frames of one JSON
        record a line); EPSS and KEV sources are not advisories (see :meth:`threat_files`)."""
        return [self.path / f for s in self._sources if s.kind not in THREAT_KINDS for f in s.files]

    def threat_files(self, kind: str) -> list[Path]:
        """The files of the ``epss`` or ``kev`` sources (one JSON record per CVE a line)."""
        return [self.path / f for s in self._sources if s.kind == kind for f in s.files]

    def records(self, source: str | None = None) -> Iterator[dict[str, Any]]:
        """Every OSV record, source by source (only ``source``'s if given; EPSS and KEV rows
        only when their source is named)."""
        for s in self._sources:
            if source is not None and s.name != source:
                continue
            if source is None and s.kind in THREAT_KINDS:
                continue
            for f in s.files:
                yield from store.iter_record_file(self.path / f)

    def count(self) -> int:
        return sum(s.count for s in self._sources)

    # -- freshness --

    def checked_at(self) -> datetime | None:
        """When ``db update`` last found every feed of this generation unchanged, if it has."""
        try:
            return parse_iso((self.path / "checked_at").read_text(encoding="utf-8").strip())
        except (OSError, ValueError):
            return None

    def updated_at(self) -> datetime:
        """The newest import, update or unchanged-update check."""
        times = [s.imported_at for s in self._sources] or [self.created_at]
        checked = self.checked_at()
        if checked is not None:
            times.append(checked)
        return max(times)

    def age(self) -> timedelta:
        return max(now_utc() - self.updated_at(), timedelta(0))

    def is_stale(self, max_age: timedelta | None = None) -> bool:
        """Older than ``max_age`` (default ``$HULLSCAN_DB_MAX_AGE`` or 7 days)."""
        return self.age() > (max_age if max_age is not None else configured_max_age())

    # -- lifetime --

    def close(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Database {self.path} sources={len(self._sources)} records={self.count()}>"


def open_db(
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    warnings: Sequence[str] = (),
    changed: Sequence[str] = (),
) -> Database:
    """The current generation; :class:`DatabaseNotFoundError` if there is none yet."""
    root = db_root(cache_dir)
    missing: str | None = None
    for _ in range(10):
        gen = store.current_generation(root)
        if gen is None:
            raise _not_found(root)
        gen_dir = root / "generations" / gen
        try:
            fd = store.lock_generation_shared(gen_dir)
        except FileNotFoundError as e:
            if gen == missing:
                raise DatabaseError(
                    f"the advisory database in {root} is damaged ({gen_dir} is missing): "
                    f"remove {root} and run `hullscan db update` or `hullscan db import` again"
                ) from e
            missing = gen  # replaced and collected between reading `current` and locking: again
            continue
        except OSError as e:
            raise DatabaseError(f"cannot open the advisory database {gen_dir}: {e}") from e
        try:
            meta, sources = store.read_meta(gen_dir)
        except FileNotFoundError:
            os.close(fd)
            continue
        except BaseException:
            os.close(fd)
            raise
        return Database(root, gen, meta, sources, fd, warnings=warnings, changed=changed)
    raise DatabaseError(f"the advisory database in {root} keeps changing while being opened")


def import_paths(
    paths: Sequence[str | os.PathLike[str]],
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    format: str | None = None,
    name: str | None = None,
    ecosystem: str | None = None,
) -> Database:
    """Import advisory files, directories, zips or tar archives (format sniffed, or ``format``:
    ``osv``, ``alpine``, ``debian``, ``alas``; and the prioritisation data ``epss``, ``kev``: see
    :mod:`hullscan.db.feeds.threat`) as a new generation: the current generation's
    sources plus the imported ones, a source of the same name replaced. ``name`` imports
    everything under that one source name; ``ecosystem`` overrides the release of Alpine and
    Amazon input. Nothing changes if any path fails."""
    from hullscan.db.importer import import_path

    if not paths:
        raise DatabaseError("nothing to import: give advisory files or directories")
    root = db_root(cache_dir)
    notes: list[str] = []
    written: list[str] = []
    with store.transaction(root) as txn:
        for p in paths:
            for src in import_path(txn, Path(p), fmt=format, name=name, ecosystem=ecosystem, notes=notes):
                if src.name not in written:
                    written.append(src.name)
        txn.commit()
    return open_db(cache_dir, warnings=notes, changed=written)


def update(
    *,
    base_url: str | None = None,
    ecosystems: Sequence[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
    timeout: float = 60.0,
    retries: int = 3,
    backoff: float = 1.0,
) -> Database:
    """Download ``{base}/{Ecosystem}/all.zip`` for each ecosystem (default: the OSV ecosystems
    already in the database, else :data:`hullscan.db.updater.DEFAULT_ECOSYSTEMS`), conditionally
    (ETag / Last-Modified). No new generation when every feed answers 304; on any failure the
    previous database keeps serving and :class:`NetworkError` (or :class:`FeedFormatError` for a
    corrupt download) is raised."""
    from hullscan.db import updater

    return updater.run(
        base_url=base_url,
        ecosystems=ecosystems,
        cache_dir=cache_dir,
        progress=progress,
        timeout=timeout,
        retries=retries,
        backoff=backoff,
    )


def status(cache_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """What ``hullscan db status`` shows, as a JSON-ready dict (``exists`` False if no database)."""
    root = db_root(cache_dir)
    try:
        db = open_db(cache_dir)
    except DatabaseNotFoundError as e:
        return {"exists": False, "root": str(root), "message": str(e)}
    with db:
        limit = configured_max_age()
        checked = db.checked_at()
        return {
            "exists": True,
            "root": str(root),
            "path": str(db.path),
            "generation": db.generation,
            "created_at": iso(db.created_at),
            "updated_at": iso(db.updated_at()),
            "checked_at": iso(checked) if checked else None,
            "age_seconds": round(db.age().total_seconds(), 3),
            "max_age_seconds": limit.total_seconds(),
            "stale": db.is_stale(limit),
            "record_count": db.count(),
            "sources": [{**s.to_json(), "files": [str(db.path / f) for f in s.files]} for s in db.sources()],
        }


__all__ = [
    "DEFAULT_MAX_AGE",
    "Database",
    "SourceInfo",
    "configured_max_age",
    "import_paths",
    "open_db",
    "status",
    "update",
]
