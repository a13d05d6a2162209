"""What ignore rules and VEX statements are matched against: a finding's ids, package and paths,
taken from a :class:`~hullscan.scan.Finding` or from a finding of a scan's JSON output."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from packageurl import PackageURL

from hullscan.scan import Finding


@dataclass(frozen=True, slots=True)
class Subject:
    id: str
    aliases: tuple[str, ...]
    package: str
    purl: str
    locations: tuple[str, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return (self.id, *self.aliases)

    @classmethod
    def of(cls, f: Finding) -> Subject:
        return cls(f.id, f.aliases, f.package.name, f.package.purl, f.explanation.locations)

    @classmethod
    def of_json(cls, d: dict[str, Any]) -> Subject:
        """From a finding of ``hullscan scan --format json``."""
        pkg: dict[str, Any] = d["package"] if isinstance(d.get("package"), dict) else {}
        expl: dict[str, Any] = d["explanation"] if isinstance(d.get("explanation"), dict) else {}
        aliases: list[Any] = d["aliases"] if isinstance(d.get("aliases"), list) else []
        locations: list[Any] = expl["locations"] if isinstance(expl.get("locations"), list) else []
        return cls(
            str(d.get("id", "")),
            tuple(str(a) for a in aliases),
            str(pkg.get("name", "")),
            str(pkg.get("purl", "")),
            tuple(str(x) for x in locations),
        )


@functools.lru_cache(maxsize=65536)
def parse_purl(text: str) -> PackageURL | None:
    """The parsed purl (cached: VEX documents repeat the same products), or None if invalid."""
    try:
        return PackageURL.from_string(text)
    except ValueError:
        return None


def _quals(p: PackageURL) -> dict[str, str]:
    q = p.qualifiers
    return {str(k): str(v) for k, v in q.items()} if isinstance(q, dict) else {}


def purl_matches(pattern: str | PackageURL, actual: str | PackageURL) -> bool:
    """Package URL semantics: same type, namespace and name; the pattern's version, if it has one,
    equal; every qualifier of the pattern present with the same value (extra qualifiers in
    ``actual`` are fine); the pattern's subpath, if any, equal."""
    p = parse_purl(pattern) if isinstance(pattern, str) else pattern
    a = parse_purl(actual) if isinstance(actual, str) else actual
    if p is None or a is None:
        return False
    if (p.type.lower(), (p.namespace or "").lower(), p.name) != (
        a.type.lower(),
        (a.namespace or "").lower(),
        a.name,
    ):
        return False
    if p.version and p.version != a.version:
        return False
    aq = _quals(a)
    if any(aq.get(k) != v for k, v in _quals(p).items()):
        return False
    return not (p.subpath and p.subpath != a.subpath)


IMAGE_PURL_TYPES = ("oci", "docker")


def is_image_purl(p: PackageURL) -> bool:
    return p.type.lower() in IMAGE_PURL_TYPES
