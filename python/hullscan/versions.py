"""Version comparison for library users, backed by the Rust core.

Scheme names: ``deb``, ``apk``, ``rpm``, ``pep440``, ``semver``, ``go``, ``maven``, ``gem``,
``nuget``, ``composer``; OSV ecosystem names (``Debian``, ``Alpine:v3.20``, ``PyPI``, ``npm``,
``crates.io``, ``Go``, ``Maven``, ``RubyGems``, ``NuGet``, ``Packagist``, ...) are aliases.
Invalid versions raise :class:`hullscan.errors.InvalidVersionError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from hullscan import _core

SCHEMES = ("deb", "apk", "rpm", "pep440", "semver", "go", "maven", "gem", "nuget", "composer")


def compare(scheme: str, a: str, b: str) -> int:
    """-1, 0 or 1 as ``a`` is lower than, equal to or higher than ``b`` in ``scheme``."""
    return _core.version_compare(scheme, a, b)


def key(scheme: str, version: str) -> bytes:
    """An order-preserving key: ``key(s, a) < key(s, b)`` exactly when ``a < b`` in ``s``."""
    return _core.version_key(scheme, version)


def satisfies_native(scheme: str, version: str, spec: str) -> bool:
    """Whether ``version`` satisfies ``spec`` in the scheme's own range syntax (npm ranges,
    PEP 440 specifiers, Maven ``[1.0,2.0)``, RubyGems ``~> 1.2``, ...)."""
    return _core.version_satisfies_native(scheme, version, spec)


def _key(scheme: str, version: str) -> bytes:
    # Go's OSV records write module versions without the "v" the modules carry.
    if scheme in ("go", "Go") and not version.startswith("v"):
        version = "v" + version
    return key(scheme, version)


def satisfies(
    scheme: str,
    version: str,
    osv_ranges: Iterable[Mapping[str, Any]],
    versions: Iterable[str] = (),
) -> bool:
    """Whether ``version`` is affected by OSV ``ranges`` (and an OSV ``versions`` list).

    OSV semantics: ECOSYSTEM and SEMVER ranges, their ``introduced`` / ``fixed`` /
    ``last_affected`` / ``limit`` events evaluated in the scheme's order (``introduced: "0"`` is
    below everything), explicit ``versions`` matched by equality in the scheme; GIT ranges are
    ignored. The same rules the compiled index applies, for one version at a time.
    """
    k = _key(scheme, version)
    for v in versions:
        try:
            if _key(scheme, v) == k:
                return True
        except _core.InvalidVersionError:
            continue
    for r in osv_ranges:
        rtype = r.get("type")
        if rtype not in ("ECOSYSTEM", "SEMVER"):
            continue
        rscheme = scheme if rtype == "ECOSYSTEM" or scheme in ("go", "Go") else "semver"
        kv = k if rscheme == scheme else _key(rscheme, version)
        events: list[tuple[bytes, int, str]] = []
        for e in r.get("events", []):
            for kind, rank in (("introduced", 0), ("fixed", 1), ("last_affected", 2), ("limit", 3)):
                if kind in e:
                    text = str(e[kind])
                    ek = b"" if kind == "introduced" and text == "0" else _key(rscheme, text)
                    events.append((ek, rank, kind))
        inside = False
        for ek, _rank, kind in sorted(events):
            if kind == "introduced" and (ek == b"" or ek <= kv):
                inside = True
            elif (kind in ("fixed", "limit") and ek <= kv) or (kind == "last_affected" and ek < kv):
                inside = False
        if inside:
            return True
    return False


__all__ = ["SCHEMES", "compare", "key", "satisfies", "satisfies_native"]
