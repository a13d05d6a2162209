"""Package URLs back to hullscan packages: the inverse of rust/hullscan-core/src/purl.rs."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

#: purl type -> hullscan kind.
KINDS = {
    "apk": "apk",
    "deb": "deb",
    "rpm": "rpm",
    "pypi": "python",
    "npm": "npm",
    "golang": "go-module",
    "maven": "java-archive",
    "cargo": "rust-crate",
    "gem": "gem",
    "composer": "php-composer",
    "nuget": "dotnet",
}
#: Language kind -> OSV ecosystem (as rust/hullscan-core/src/inventory.rs language_ecosystem).
LANGUAGE_ECOSYSTEMS = {
    "python": "PyPI",
    "npm": "npm",
    "go-module": "Go",
    "java-archive": "Maven",
    "rust-crate": "crates.io",
    "gem": "RubyGems",
    "php-composer": "Packagist",
    "dotnet": "NuGet",
}
OS_KINDS = ("apk", "deb", "rpm")
MAX_PURL = 4096


class PurlError(ValueError):
    """A string that is not a package URL hullscan reads."""


@dataclass(frozen=True, slots=True)
class Purl:
    type: str
    namespace: str | None
    name: str
    version: str
    qualifiers: dict[str, str]


def parse(text: str) -> Purl:
    """Parse ``pkg:type/namespace/name@version?qualifiers#subpath`` (the subpath is dropped)."""
    if not isinstance(text, str) or len(text) > MAX_PURL:
        raise PurlError("not a purl string of at most 4096 characters")
    if not text.startswith("pkg:"):
        raise PurlError(f"{text[:80]!r} does not start with pkg:")
    rest = text[4:].lstrip("/").split("#", 1)[0]
    rest, _, query = rest.partition("?")
    qualifiers: dict[str, str] = {}
    for pair in query.split("&") if query else ():
        k, sep, v = pair.partition("=")
        if sep and k:
            qualifiers[k.lower()] = unquote(v)
    ty, sep, path = rest.partition("/")
    if not sep or not ty:
        raise PurlError(f"{text[:80]!r} has no type and name")
    path, at, version = path.rpartition("@") if "@" in path else (path, "", "")
    if not at or not version:
        raise PurlError(f"{text[:80]!r} has no version")
    segs = [unquote(s) for s in path.strip("/").split("/") if s]
    if not segs:
        raise PurlError(f"{text[:80]!r} has no name")
    ns = "/".join(segs[:-1]) or None
    return Purl(ty.lower(), ns, segs[-1], unquote(version), qualifiers)
