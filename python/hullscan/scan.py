"""``hullscan.scan``: inventory an image and match it against the advisory index."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hullscan import _core
from hullscan.inventory import inventory
from hullscan.model import INVENTORY_SCHEMA_VERSION, Inventory, Package
from hullscan.severity import RANK, Severity, of_advisory
from hullscan.sources.registry_config import RegistryConfig

SCAN_SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class PackageRef:
    name: str
    version: str
    ecosystem: str
    purl: str


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a finding was reported."""

    advisory: str
    #: ``ECOSYSTEM``, ``SEMVER`` or ``versions`` (an explicitly listed version).
    range_type: str
    #: The version scheme that compared (``deb``, ``apk``, ``pep440``, ...).
    comparator: str
    #: The package name and version that were compared (a Debian source package, an Alpine origin).
    matched_name: str
    matched_version: str
    introduced: str | None = None
    fixed: str | None = None
    last_affected: str | None = None
    limit: str | None = None
    listed_version: str | None = None
    layer_index: int = 0
    layer_diff_id: str = ""
    layer_digest: str = ""
    locations: tuple[str, ...] = ()

    def text(self) -> str:
        if self.listed_version is not None:
            rule = f"{self.matched_version} is listed as affected"
        else:
            lo = "any version" if self.introduced in (None, "0") else f">= {self.introduced}"
            if self.fixed is not None:
                hi = f", < {self.fixed}"
            elif self.last_affected is not None:
                hi = f", <= {self.last_affected}"
            elif self.limit is not None:
                hi = f", < {self.limit} (limit)"
            else:
                hi = ", no fix"
            rule = f"{self.matched_version} in [{lo}{hi}]"
        return (
            f"{self.advisory}: {self.matched_name} {rule} ({self.range_type}, {self.comparator} order); "
            f"found in {', '.join(self.locations) or '?'} of layer {self.layer_index}"
        )


@dataclass(frozen=True, slots=True)
class Epss:
    """FIRST's Exploit Prediction Scoring System figure for the finding's CVE."""

    #: Probability of exploitation activity in the next 30 days, 0..1.
    score: float
    #: Share of all scored CVEs with a lower or equal score, 0..1.
    percentile: float
    #: The day of the EPSS model run the score comes from (``YYYY-MM-DD``), when known.
    date: str | None = None


@dataclass(frozen=True, slots=True)
class Kev:
    """The CISA Known Exploited Vulnerabilities catalog entry for the finding's CVE."""

    date_added: str | None = None
    due_date: str | None = None
    #: ``Known`` or ``Unknown``, as the catalog says.
    known_ransomware: str | None = None
    required_action: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Suppression:
    """Why a finding was suppressed (it is then in ``ScanResult.suppressed``, not ``findings``)."""

    #: ``ignore`` (an ignore-file rule) or ``vex`` (a VEX statement).
    kind: str
    #: VEX: ``not_affected`` or ``fixed``; an ignore rule: ``ignored``.
    status: str
    #: The rule's reason, or the VEX justification (``vulnerable_code_not_in_execute_path`` ...).
    reason: str | None = None
    #: The VEX impact statement or action statement, when given.
    statement: str | None = None
    #: The ignore file or VEX document it came from.
    source: str = ""
    #: The ignore rule's expiry date (``YYYY-MM-DD``), when it has one.
    expires: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """One vulnerability in one package (aliases grouped)."""

    id: str
    aliases: tuple[str, ...]
    package: PackageRef
    installed_version: str
    fixed_versions: tuple[str, ...]
    #: ``fixed`` (a fixed version exists) or ``not_fixed``.
    status: str
    severity: Severity
    summary: str | None
    explanation: Explanation
    #: Every advisory that reported it (one per alias group member that matched).
    advisories: tuple[str, ...] = ()
    #: EPSS and KEV data for the CVE (or a CVE alias), when imported into the database.
    epss: Epss | None = None
    kev: Kev | None = None
    #: Set on the findings in ``ScanResult.suppressed``: the rule or statement that suppressed it.
    suppression: Suppression | None = None


@dataclass(frozen=True, slots=True)
class ScanResult:
    inventory: Inventory
    findings: tuple[Finding, ...]
    warnings: tuple[str, ...] = ()
    db: dict[str, Any] = field(default_factory=dict)
    #: Findings an ignore rule or a VEX statement suppressed, each with its ``suppression``.
    suppressed: tuple[Finding, ...] = ()

    @property
    def packages(self) -> tuple[Package, ...]:
        return self.inventory.packages

    def to_dict(self) -> dict[str, Any]:
        inv = self.inventory.to_dict()
        inv.pop("schema_version", None)
        findings = [_finding_dict(f) for f in self.findings]
        return {
            "schema_version": SCAN_SCHEMA_VERSION,
            "inventory_schema_version": INVENTORY_SCHEMA_VERSION,
            **inv,
            "findings": findings,
            "suppressed": [_finding_dict(f) for f in self.suppressed],
            "warnings": list(self.inventory.warnings) + list(self.warnings),
            "db": self.db,
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)


def _finding_dict(f: Finding) -> dict[str, Any]:
    d = asdict(f)
    d["aliases"] = list(f.aliases)
    d["fixed_versions"] = list(f.fixed_versions)
    d["advisories"] = list(f.advisories)
    d["explanation"]["locations"] = list(f.explanation.locations)
    d["explanation"]["text"] = f.explanation.text()
    return d


def query_of(p: Package) -> tuple[str, str, str]:
    """What the advisory index is asked for a package: distro advisories name source packages
    (Debian, Ubuntu) and origins (Alpine); rpm advisories name binary packages by epoch:version."""
    if p.kind in ("deb", "apk"):
        return (p.ecosystem, p.source_name or p.name, p.source_version or p.version)
    if p.kind == "rpm" and p.epoch is None:
        return (p.ecosystem, p.name, f"0:{p.version}")
    if p.kind == "java-archive" and p.namespace:
        return (p.ecosystem, f"{p.namespace}:{p.name}", p.version)
    if p.kind == "go-module" and p.name == "stdlib":
        # Go's own releases: `go1.22.0` in build info, `1.22.0` in the Go vulnerability database.
        return (p.ecosystem, p.name, p.version.removeprefix("go"))
    return (p.ecosystem, p.name, p.version)


def _primary(ids: set[str]) -> str:
    for prefix in ("CVE-", "GHSA-"):
        cands = sorted(i for i in ids if i.startswith(prefix))
        if cands:
            return cands[0]
    return sorted(ids)[0]


def match(
    inv: Inventory, index: _core.AdvisoryIndex, *, os_owned: bool = False
) -> tuple[list[Finding], list[str]]:
    """Findings of an inventory against a loaded index.

    Language packages an OS package installed (``owned_by`` set: Debian's python3-requests, an
    Alpine py3-* package) are matched through their OS package only, as Trivy does: the distro
    patches them and publishes their fixes, so the language ecosystem's ranges would report fixed
    versions as vulnerable. ``os_owned=True`` matches them against their own ecosystem too."""
    queries = [
        query_of(p) if os_owned or p.owned_by is None else ("", p.name, p.version) for p in inv.packages
    ]
    hits, qwarnings = index.match_packages(queries)
    warnings = [
        f"{inv.packages[qi].name} {inv.packages[qi].version}: not compared: {msg}" for qi, msg in qwarnings
    ]
    details_cache: dict[int, dict[str, Any]] = {}

    def details(i: int) -> dict[str, Any]:
        if i not in details_cache:
            try:
                details_cache[i] = json.loads(index.advisory(i))
            except ValueError:
                details_cache[i] = {"id": f"advisory-{i}"}
        return details_cache[i]

    by_query: dict[int, list[_core.MatchHit]] = {}
    for h in hits:
        by_query.setdefault(h.query, []).append(h)
    findings: list[Finding] = []
    for qi, qhits in by_query.items():
        pkg = inv.packages[qi]
        # Group hits whose ids or aliases overlap: one finding per vulnerability.
        groups: list[tuple[set[str], list[_core.MatchHit]]] = []
        for h in qhits:
            d = details(h.advisory)
            ids = {str(d.get("id"))} | {str(a) for a in d.get("aliases") or []}
            merged = [g for g in groups if g[0] & ids]
            for g in merged:
                groups.remove(g)
                ids |= g[0]
            groups.append((ids, [h for g in merged for h in g[1]] + [h]))
        for ids, ghits in groups:
            findings.append(_finding(pkg, queries[qi], ids, ghits, details))
    findings.sort(key=lambda f: (-RANK[f.severity.level], f.package.name, f.id))
    return findings, warnings


def _finding(
    pkg: Package,
    query: tuple[str, str, str],
    ids: set[str],
    hits: list[_core.MatchHit],
    details: Any,
) -> Finding:
    primary = _primary(ids)
    advs = [details(h.advisory) for h in hits]
    severities = [of_advisory(d) for d in advs]
    # The most informative severity: scored beats rated beats unknown; then the highest.
    severity = max(severities, key=lambda s: (s.score is not None, s.source != "none", RANK[s.level]))
    fixed = sorted({v for h in hits for v in h.fixed})
    h = hits[0]
    expl = Explanation(
        advisory=str(advs[0].get("id")),
        range_type=h.range_type,
        comparator=h.scheme,
        matched_name=query[1],
        matched_version=query[2],
        introduced=h.introduced,
        fixed=h.closer if h.closer_kind == "fixed" else None,
        last_affected=h.closer if h.closer_kind == "last_affected" else None,
        limit=h.closer if h.closer_kind == "limit" else None,
        listed_version=h.listed,
        layer_index=pkg.layer_index,
        layer_diff_id=pkg.layer_diff_id,
        layer_digest=pkg.layer_digest,
        locations=pkg.locations,
    )
    summary = next((str(d["summary"]) for d in advs if d.get("summary")), None)
    return Finding(
        id=primary,
        aliases=tuple(sorted(ids - {primary})),
        package=PackageRef(pkg.name, pkg.version, pkg.ecosystem, pkg.purl),
        installed_version=pkg.version,
        fixed_versions=tuple(fixed),
        status="fixed" if fixed else "not_fixed",
        severity=severity,
        summary=summary,
        explanation=expl,
        advisories=tuple(sorted({str(d.get("id")) for d in advs})),
    )


def load_index(
    db: str | os.PathLike[str] | None, *, offline: bool, cache_dir: Path | None
) -> tuple[_core.AdvisoryIndex, dict[str, Any]]:
    """The index to match against: ``db`` (an index file or a database generation directory), or
    the current database in the cache (updated first when there is none, unless offline)."""
    if db is not None:
        path = Path(db)
        if path.is_dir():
            return _load_generation(path), {"path": str(path / "index.bin")}
        return _core.AdvisoryIndex.load(path), {"path": str(path)}
    from hullscan import db as dbmod
    from hullscan.errors import DatabaseNotFoundError

    try:
        database = dbmod.open_db(cache_dir)
    except DatabaseNotFoundError:
        if offline:
            raise
        database = dbmod.update(cache_dir=cache_dir)
    info: dict[str, Any] = {
        "path": str(database.path),
        "age_seconds": round(database.age().total_seconds()),
        "sources": [s.name for s in database.sources()],
        "stale": database.is_stale(),
    }
    return _load_generation(database.path), info


def _load_generation(generation: Path) -> _core.AdvisoryIndex:
    """Load a database generation's index; one compiled by another hullscan version (another
    index format) is rebuilt from the generation's records first, as the records are the
    database and the index only their compiled form."""
    from hullscan.db.index import INDEX_FILE, build_index

    index_path = generation / INDEX_FILE
    try:
        with open(index_path, "rb") as f:
            head = f.read(8)
    except OSError:
        head = b""
    if (
        len(head) == 8
        and head.startswith(b"HSIDX\0\0")
        and head[7] != _core.AdvisoryIndex.format_version
        and (generation / "meta.json").is_file()
    ):
        build_index(generation)
    return _core.AdvisoryIndex.load(index_path)


def _generation_of(db_info: dict[str, Any]) -> Path | None:
    """The database generation directory an index came from (it holds the EPSS / KEV sources)."""
    if not db_info.get("path"):
        return None
    path = Path(str(db_info["path"]))
    for cand in (path, path.parent):
        if (cand / "meta.json").is_file():
            return cand
    return None


def scan(
    source: str | os.PathLike[str],
    *,
    db: str | os.PathLike[str] | None = None,
    platform: str | None = None,
    offline: bool = False,
    cache_dir: str | os.PathLike[str] | None = None,
    os_owned: bool = False,
    registries: RegistryConfig | str | os.PathLike[str] | None = None,
    progress: bool | None = None,
    secrets: bool = False,
    sbom_from_registry: bool | str = False,
) -> ScanResult:
    """Inventory ``source`` and match it against the advisory database.

    ``db`` is an index file or a database generation directory; by default the current database in
    the cache dir (updated first if there is none, unless ``offline``). ``os_owned``: also match
    language packages an OS package installed against their language ecosystem (see
    :func:`match`). ``registries``, ``progress`` and ``secrets`` are as for
    :func:`hullscan.inventory`.

    ``sbom_from_registry``: for an image in a registry, match the SBOM attached to it (see
    :mod:`hullscan.sbom.oci`) instead of pulling its layers; ``True`` raises
    :class:`SbomNotAttachedError` when none is attached, ``"auto"`` then scans the image.

    Findings carry the EPSS score and KEV entry of their CVE when the database has them (``hullscan
    db import`` of an EPSS CSV or the KEV catalog) and are in risk order
    (:func:`hullscan.policy.risk.risk_key`). Ignore rules and VEX documents are applied
    afterwards by :func:`hullscan.policy.apply`.
    """
    inv = None
    if sbom_from_registry:
        from hullscan.sbom.oci import attached_inventory

        config = registries if isinstance(registries, RegistryConfig) else RegistryConfig.load(registries)
        found = attached_inventory(
            str(source), platform=platform, registries=config, required=sbom_from_registry != "auto"
        )
        inv = found[0] if found else None
    if inv is None:
        inv = inventory(
            source,
            platform=platform,
            cache_dir=cache_dir,
            registries=registries,
            progress=progress,
            secrets=secrets,
        )
    index, db_info = load_index(db, offline=offline, cache_dir=Path(cache_dir) if cache_dir else None)
    findings, warnings = match(inv, index, os_owned=os_owned)
    from hullscan.policy.risk import enrich, sort_by_risk

    findings = sort_by_risk(enrich(findings, _generation_of(db_info)))
    if db_info.get("stale"):
        days = db_info["age_seconds"] / 86400
        warnings.insert(
            0,
            f"the advisory database is {days:.1f} days old (HULLSCAN_DB_MAX_AGE); "
            "run `hullscan db update` for current findings",
        )
    return ScanResult(inv, tuple(findings), tuple(warnings), db_info)


__all__ = [
    "Epss",
    "Explanation",
    "Finding",
    "Kev",
    "PackageRef",
    "ScanResult",
    "Suppression",
    "match",
    "scan",
]
