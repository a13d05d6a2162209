"""Version comparison for library users, backed by the Rust core.

Scheme names: ``deb``, ``apk``, ``rpm``, ``pep440``, ``semver``, ``go``, ``maven``, ``gem``,
``nuget``, ``composer``; OSV ecosystem names (``Debian``, ``Alpine:v3.20``, ``PyPI``, ``npm``,
``crates.io``, ``Go``, ``Maven``, ``RubyGems``, ``NuGet``, ``Packagist``, ...) are aliases.
Invalid versions raise :class:`hullscan.errors.InvalidVersionError`.
"""

from __future__ import annotations

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


__all__ = ["SCHEMES", "compare", "key", "satisfies_native"]
