"""Re-matching stored inventories: compact queries, findings state and per-image deltas.

An inventory is stored with its *compact queries* (:mod:`hullscan.store.compact`): for each
package, the (ecosystem, name, version) :func:`hullscan.scan.match` asks the advisory index, and
the package's (name, version, ecosystem, purl). A rescan reads only those, never the whole
inventory, and asks the index once per distinct query of a batch (images of one fleet share most
packages), then groups hits into findings exactly as :func:`hullscan.scan.match` does (one
finding per vulnerability, aliases merged), keyed by (id, purl). The findings of the last match are
stored per image; the next match compares with them and yields a :class:`Delta`: new, resolved and
changed (severity or fixed versions) findings. Deltas are plain typed values with ``to_dict()``,
ready to publish as events.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hullscan import _core
from hullscan.scan import _primary
from hullscan.severity import RANK, of_advisory
from hullscan.store.compact import CompactQueries, compact_queries, split_fields
from hullscan.store.db import pack, unpack

if TYPE_CHECKING:
    from hullscan.store.db import InventoryStore, MatchRow


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
        #: By query key (``ecosystem<TAB>name<TAB>version``, see hullscan.store.compact).
        self._by_key: dict[str, tuple[_Vuln, ...]] = {}
        self._warnings: dict[str, str] = {}
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

    def prepare(self, keys: Iterable[str]) -> None:
        """Match every query key not matched yet, in one index call."""
        known = self._by_key
        todo = [k for k in dict.fromkeys(keys) if k not in known]
        if not todo:
            return
        queries: list[tuple[str, str, str]] = []
        for k in todo:
            f = split_fields(k)
            queries.append((f[0], f[1], f[2]) if len(f) == 3 else ("", k, ""))
        hits, qwarnings = self.index.match_packages(queries)
        for qi, msg in qwarnings:
            self._warnings[todo[qi]] = msg
        by_query: dict[int, list[_core.MatchHit]] = {}
        for h in hits:
            by_query.setdefault(h.query, []).append(h)
        for qi, k in enumerate(todo):
            known[k] = self._group(by_query.get(qi, []))

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

    def findings(
        self, compact: CompactQueries, *, prepared: bool = False
    ) -> tuple[list[StoredFinding], list[str]]:
        """The findings of one image's compact queries. For many images, :meth:`prepare` all their
        keys first (one index call) and pass ``prepared=True``."""
        if not prepared:
            self.prepare(compact.keys)
        by_key = self._by_key
        seen: set[tuple[str, str]] = set()
        out: list[StoredFinding] = []
        warnings: list[str] = []
        for i, k in enumerate(compact.keys):
            vulns = by_key[k]
            if vulns:
                ref = split_fields(compact.refs[i])
                if len(ref) != 4:
                    continue
                name, version, eco, purl = ref
                for v in vulns:
                    if (v.id, purl) in seen:
                        continue
                    seen.add((v.id, purl))
                    out.append(
                        StoredFinding(v.id, purl, name, version, eco, v.severity, v.score, v.fixed, v.aliases)
                    )
            if self._warnings:
                msg = self._warnings.get(k)
                if msg is not None:
                    ref = split_fields(compact.refs[i])
                    warnings.append(f"{ref[0]} {ref[1] if len(ref) > 1 else ''}: not compared: {msg}")
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
        compacts = [CompactQueries.decode(r.queries) for r in rows]
        matcher.prepare(k for c in compacts for k in c.keys)
        out: list[tuple[str, str, int, bytes]] = []
        deltas: list[Delta] = []
        for r, c in zip(rows, compacts, strict=True):
            found, warnings = matcher.findings(c, prepared=True)
            packed = pack_findings(found)
            if packed == r.findings:
                # The same findings as last time (packing is deterministic): no need to read them.
                d = Delta(
                    r.digest,
                    r.repository,
                    r.tags,
                    r.db_generation,
                    matcher.generation,
                    total=len(found),
                    warnings=tuple(warnings),
                )
            else:
                before = unpack_findings(r.findings) if r.findings is not None else None
                d = delta(
                    r.digest,
                    r.repository,
                    r.tags,
                    before,
                    r.db_generation,
                    found,
                    matcher.generation,
                    warnings,
                )
            deltas.append(d)
            if packed != r.findings or r.db_generation != matcher.generation:
                out.append((r.digest, matcher.generation, len(found), packed))
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
