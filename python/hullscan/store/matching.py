"""Re-matching stored inventories: compact queries, findings state and per-image deltas.

An inventory is stored with its *compact queries*: for each package, the (ecosystem, name,
version) tuple :func:`hullscan.scan.match` asks the advisory index, and the package's (name,
version, ecosystem, purl). A rescan reads only those, never the whole inventory, and asks the index
once per distinct query of a batch (images of one fleet share most packages), then groups hits
into findings exactly as :func:`hullscan.scan.match` does (one finding per vulnerability, aliases
merged), keyed by (id, purl). The findings of the last match are stored per image; the next match
compares with them and yields a :class:`Delta`: new, resolved and changed (severity or fixed
versions) findings. Deltas are plain typed values with ``to_dict()``, ready to publish as events.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hullscan import _core
from hullscan.model import Inventory
from hullscan.scan import _primary, query_of
from hullscan.severity import RANK, of_advisory
from hullscan.store.db import pack, unpack

if TYPE_CHECKING:
    from hullscan.store.db import InventoryStore, MatchRow

QUERIES_VERSION = 1


def compact_queries(inv: Inventory, *, os_owned: bool = False) -> dict[str, Any]:
    """The stored match form of an inventory (see the module docstring)."""
    return {
        "v": QUERIES_VERSION,
        "os_owned": os_owned,
        "q": [
            list(query_of(p) if os_owned or p.owned_by is None else ("", p.name, p.version))
            for p in inv.packages
        ],
        "p": [[p.name, p.version, p.ecosystem, p.purl] for p in inv.packages],
    }


@dataclass(frozen=True, slots=True)
class StoredFinding:
    """A finding as the store keeps it for deltas: its key (``id``, ``purl``) and what can change."""

    id: str
    purl: str
    package: str
    version: str
    ecosystem: str
    severity: str
    score: float | None
    fixed_versions: tuple[str, ...]
    aliases: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return (self.id, self.purl)

    @property
    def status(self) -> str:
        return "fixed" if self.fixed_versions else "not_fixed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "aliases": list(self.aliases),
            "package": self.package,
            "version": self.version,
            "ecosystem": self.ecosystem,
            "purl": self.purl,
            "severity": self.severity,
            "score": self.score,
            "fixed_versions": list(self.fixed_versions),
            "status": self.status,
        }


@dataclass(frozen=True, slots=True)
class Change:
    """A finding still present whose severity or fixed versions changed."""

    before: StoredFinding
    after: StoredFinding

    def to_dict(self) -> dict[str, Any]:
        return {"before": self.before.to_dict(), "after": self.after.to_dict()}


@dataclass(frozen=True, slots=True)
class Delta:
    """What one image's findings did between two matches (one event per image)."""

    digest: str
    repository: str
    tags: tuple[str, ...]
    #: The database generation of the previous match (None: first match of this image).
    db_generation_before: str | None
    db_generation: str
    new: tuple[StoredFinding, ...] = ()
    resolved: tuple[StoredFinding, ...] = ()
    changed: tuple[Change, ...] = ()
    #: How many findings the image has now.
    total: int = 0
    warnings: tuple[str, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not (self.new or self.resolved or self.changed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "repository": self.repository,
            "tags": list(self.tags),
            "db_generation_before": self.db_generation_before,
            "db_generation": self.db_generation,
            "total": self.total,
            "new": [f.to_dict() for f in self.new],
            "resolved": [f.to_dict() for f in self.resolved],
            "changed": [c.to_dict() for c in self.changed],
        }


def _sort_key(f: StoredFinding) -> tuple[int, str, str, str]:
    return (-RANK.get(f.severity, 0), f.package, f.version, f.id)


def pack_findings(findings: Sequence[StoredFinding]) -> bytes:
    return pack(
        [
            [
                f.id,
                f.purl,
                f.package,
                f.version,
                f.ecosystem,
                f.severity,
                f.score,
                f.fixed_versions,
                f.aliases,
            ]
            for f in findings
        ]
    )


def unpack_findings(data: bytes) -> list[StoredFinding]:
    return [
        StoredFinding(r[0], r[1], r[2], r[3], r[4], r[5], r[6], tuple(r[7]), tuple(r[8]))
        for r in unpack(data)
    ]


@dataclass(frozen=True, slots=True)
class _Vuln:
    """One vulnerability an index query matched (the package-independent part of a finding)."""

    id: str
    aliases: tuple[str, ...]
    severity: str
    score: float | None
    fixed: tuple[str, ...]


class Matcher:
    """Matches compact queries against one index, remembering each distinct query's result (so a
    package shared by many images is matched and grouped once)."""

    def __init__(self, index: _core.AdvisoryIndex, generation: str) -> None:
        self.index = index
        self.generation = generation
        self._by_query: dict[tuple[str, str, str], tuple[_Vuln, ...]] = {}
        self._warnings: dict[tuple[str, str, str], str] = {}
        self._details: dict[int, dict[str, Any]] = {}

    def _advisory(self, i: int) -> dict[str, Any]:
        d = self._details.get(i)
        if d is None:
            try:
                d = json.loads(self.index.advisory(i))
            except ValueError:
                d = {"id": f"advisory-{i}"}
            self._details[i] = d
        return d

    def prepare(self, queries: list[tuple[str, str, str]]) -> None:
        """Match every query not matched yet, in one index call."""
        todo = list(dict.fromkeys(q for q in queries if q not in self._by_query))
        if not todo:
            return
        hits, qwarnings = self.index.match_packages(todo)
        for qi, msg in qwarnings:
            self._warnings[todo[qi]] = msg
        by_query: dict[int, list[_core.MatchHit]] = {}
        for h in hits:
            by_query.setdefault(h.query, []).append(h)
        for qi, q in enumerate(todo):
            self._by_query[q] = self._group(by_query.get(qi, []))

    def _group(self, qhits: list[_core.MatchHit]) -> tuple[_Vuln, ...]:
        # As hullscan.scan.match: hits whose ids or aliases overlap are one vulnerability.
        groups: list[tuple[set[str], list[_core.MatchHit]]] = []
        for h in qhits:
            d = self._advisory(h.advisory)
            ids = {str(d.get("id"))} | {str(a) for a in d.get("aliases") or []}
            merged = [g for g in groups if g[0] & ids]
            for g in merged:
                groups.remove(g)
                ids |= g[0]
            groups.append((ids, [h for g in merged for h in g[1]] + [h]))
        out = []
        for ids, ghits in groups:
            primary = _primary(ids)
            sevs = [of_advisory(self._advisory(h.advisory)) for h in ghits]
            sev = max(sevs, key=lambda s: (s.score is not None, s.source != "none", RANK[s.level]))
            fixed = tuple(sorted({v for h in ghits for v in h.fixed}))
            out.append(_Vuln(primary, tuple(sorted(ids - {primary})), sev.level, sev.score, fixed))
        return tuple(out)

    def findings(self, compact: dict[str, Any]) -> tuple[list[StoredFinding], list[str]]:
        """The findings of one image's compact queries (call :meth:`prepare` first for speed)."""
        queries: list[tuple[str, str, str]] = [(q[0], q[1], q[2]) for q in compact["q"]]
        self.prepare(queries)
        seen: set[tuple[str, str]] = set()
        out: list[StoredFinding] = []
        warnings: list[str] = []
        for q, (name, version, eco, purl) in zip(queries, compact["p"], strict=True):
            for v in self._by_query[q]:
                if (v.id, purl) in seen:
                    continue
                seen.add((v.id, purl))
                out.append(
                    StoredFinding(v.id, purl, name, version, eco, v.severity, v.score, v.fixed, v.aliases)
                )
            msg = self._warnings.get(q)
            if msg is not None:
                warnings.append(f"{name} {version}: not compared: {msg}")
        out.sort(key=_sort_key)
        return out, warnings


def delta(
    row_digest: str,
    repository: str,
    tags: tuple[str, ...],
    before: list[StoredFinding] | None,
    before_generation: str | None,
    after: list[StoredFinding],
    generation: str,
    warnings: Sequence[str] = (),
) -> Delta:
    old = {f.key: f for f in before or ()}
    new = {f.key: f for f in after}
    added = [f for k, f in new.items() if k not in old]
    gone = [f for k, f in old.items() if k not in new]
    changed = [
        Change(old[k], f)
        for k, f in new.items()
        if k in old
        and (old[k].severity, old[k].score, old[k].fixed_versions) != (f.severity, f.score, f.fixed_versions)
    ]
    return Delta(
        row_digest,
        repository,
        tags,
        before_generation,
        generation,
        tuple(sorted(added, key=_sort_key)),
        tuple(sorted(gone, key=_sort_key)),
        tuple(sorted(changed, key=lambda c: _sort_key(c.after))),
        len(after),
        tuple(warnings),
    )


def rematch(
    store: InventoryStore,
    matcher: Matcher,
    *,
    batch_size: int = 2000,
    digests: Sequence[str] | None = None,
    skip_current: bool = False,
) -> Iterator[Delta]:
    """Re-match stored inventories (all, or ``digests``) in batches, store their findings and yield
    one :class:`Delta` per image. ``skip_current``: leave images already matched against this
    generation alone (no delta for them). Nothing is pulled: only the compact queries are read."""
    for batch in store.match_batches(batch_size, digests=digests):
        rows: list[MatchRow] = [
            r for r in batch if not (skip_current and r.db_generation == matcher.generation)
        ]
        compacts = [unpack(r.queries) for r in rows]
        matcher.prepare([tuple(q) for c in compacts for q in c["q"]])
        out: list[tuple[str, str, int, bytes]] = []
        deltas: list[Delta] = []
        for r, c in zip(rows, compacts, strict=True):
            found, warnings = matcher.findings(c)
            before = unpack_findings(r.findings) if r.findings is not None else None
            d = delta(
                r.digest, r.repository, r.tags, before, r.db_generation, found, matcher.generation, warnings
            )
            deltas.append(d)
            if r.findings is None or not d.empty or r.db_generation != matcher.generation:
                out.append((r.digest, matcher.generation, len(found), pack_findings(found)))
        store.save_findings(out)
        yield from deltas


__all__ = [
    "Change",
    "Delta",
    "Matcher",
    "StoredFinding",
    "compact_queries",
    "delta",
    "pack_findings",
    "rematch",
    "unpack_findings",
]
