"""Import files, directories and archives into a store transaction."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from hullscan.db.feeds import Context, read_path
from hullscan.db.store import MAX_KEPT_WARNINGS, PendingSource, SourceWriter, Transaction, now_utc
from hullscan.errors import FeedFormatError

#: Most notes (files not imported) one import keeps.
MAX_NOTES = 100


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (
        ".tar.zst",
        ".tar.gz",
        ".tgz",
        ".tzst",
        ".tar",
        ".json.gz",
        ".xml.gz",
        ".zip",
        ".json",
        ".xml",
    ):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)] or name
    return name


def osv_source_name(path: Path, common_bases: set[str] | None) -> str:
    """``osv/<Ecosystem>`` for an export of one ecosystem (a zip, directory or archive every
    record of which names that base ecosystem, as in osv.dev's ``<Ecosystem>/all.zip``), so that
    an import of a downloaded ``all.zip`` and ``db update`` replace each other; otherwise
    ``osv/<file or directory name>``."""
    bases = common_bases or set()
    if len(bases) == 1 and (path.is_dir() or path.suffix.lower() == ".zip" or ".tar" in path.name.lower()):
        return f"osv/{bases.pop()}"
    label = path.parent.name if path.name.lower() == "all.zip" else _stem(path)
    return f"osv/{label or 'records'}"


@dataclass
class _Pending:
    writer: SourceWriter
    kind: str
    skipped: int = 0
    warnings: list[str] = field(default_factory=list)


def import_path(
    txn: Transaction,
    path: Path,
    *,
    fmt: str | None = None,
    name: str | None = None,
    ecosystem: str | None = None,
    notes: list[str],
    sha256: str | None = None,
) -> list[PendingSource]:
    """Read every record of ``path`` into ``txn``; returns the sources written. ``name`` puts all
    of them in one source of that name. Files that were not imported are added to ``notes``."""
    path = path.absolute()
    per_source: dict[str | None, _Pending] = {}
    loose_warnings: list[str] = []

    def pending(source: str | None, kind: str) -> _Pending:
        key = name if name else source
        p = per_source.get(key)
        if p is None:
            # Named sources share one key set across the paths of an import; OSV records are
            # de-duplicated within a path (their source is named once the path is read).
            keys = txn.source(key, kind).keys if key is not None else None
            p = per_source[key] = _Pending(txn.new_writer(key or "osv", keys), kind)
        elif p.kind != kind:
            raise FeedFormatError(
                f"{path}: holds both {p.kind} and {kind} data; import them under different names"
            )
        return p

    def warn(source: str | None, message: str) -> None:
        key = name if name else source
        p = per_source.get(key)
        if p is None:
            loose_warnings.append(message)
        else:
            p.skipped += 1
            if len(p.warnings) < MAX_KEPT_WARNINGS:
                p.warnings.append(message)

    def note(message: str) -> None:
        if len(notes) < MAX_NOTES:
            notes.append(message)

    def declare(source: str, kind: str) -> None:
        pending(source, kind)

    ctx = Context(
        origin=str(path), mtime=now_utc(), ecosystem=ecosystem, warn=warn, note=note, declare=declare
    )
    for item in read_path(path, fmt, ctx):
        p = pending(item.source, item.kind)
        if not p.writer.add(item.record, item.key):
            warn(item.source, f"{path}: duplicate record {item.record.get('id')}; kept the first")
    if not per_source:
        raise FeedFormatError(f"{path}: no advisories found (formats: osv, alpine, debian, alas)")
    if sha256 is None and path.is_file():
        sha256 = file_sha256(path)
    out: list[PendingSource] = []
    for key, p in per_source.items():
        final = key if key is not None else osv_source_name(path, p.writer.common_bases)
        if key is None:
            p.writer.rename(final)
        src = txn.source(final, p.kind)
        src.writers.append(p.writer)
        src.origins.append(str(path))
        src.sha256 = sha256 if len(src.origins) == 1 else None
        src.skipped += p.skipped
        src.warnings.extend(p.warnings)
        out.append(src)
    if loose_warnings:
        # Entries whose source could not be told (e.g. an advisory of an unknown release): counted
        # on the first source of this path, so that nothing skipped goes unreported.
        out[0].skipped += len(loose_warnings)
        out[0].warnings.extend(loose_warnings[:MAX_KEPT_WARNINGS])
    return out
