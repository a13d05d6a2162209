"""Alpine secdb: Alpine's own ``v3.20/main.json`` (``{"distroversion", "reponame", "packages":
[{"pkg": {"name", "secfixes"}}]}``) and vuln-list's per-package files (``{"name", "secfixes",
"distroversion", "reponame"}``).

``secfixes`` maps an apk version to the vulnerabilities fixed in it. Each (vulnerability, package)
becomes one record in ecosystem ``Alpine:<distroversion>`` (or the ``--ecosystem`` given), package
= the secdb name, which is the apk *origin* (source package) name, with one ECOSYSTEM range
``introduced "0"`` / ``fixed <version>`` for each version that lists it. A vulnerability listed
under several versions (a fix on each branch that was once in the release) gets one range per
version: a version is affected when it is below any of them, the conservative reading.

Version ``"0"``: Alpine's secfixes convention for "this package was never affected" (a CVE
rejected for the package, e.g. for a platform or feature Alpine does not build). Such entries make
no record. They are not "unfixed": an open vulnerability is simply not listed in secfixes.

Entries name vulnerabilities loosely (``CVE-2016-9932 XSA-200``, ``CVE-2017-8073.patch``,
``CVE_2019-2426``, ``CVE-????-????? XSA-295``): the record id is ``ALPINE-<first id>`` where the
first id is the CVE if there is a well-formed one, else the first other id-like token; all ids
found are aliases.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from hullscan.db.feeds import Context, Item
from hullscan.db.schema import RecordError, check_record
from hullscan.db.store import rfc3339
from hullscan.errors import FeedFormatError

KIND = "alpine"
SCHEMA_VERSION = "1.6.0"
NOT_AFFECTED = "0"

_CVE = re.compile(r"CVE[-_ ](\d{4})-(\d{4,})(?!\d)", re.IGNORECASE)
_OTHER_ID = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)+$")
_RELEASE = re.compile(r"^v?(\d+\.\d+)$")


def vulnerability_ids(entry: str) -> list[str]:
    """The ids in one secfixes entry, the CVE first."""
    ids: list[str] = []
    for m in _CVE.finditer(entry):
        cve = f"CVE-{m.group(1)}-{m.group(2)}"
        if cve not in ids:
            ids.append(cve)
    for token in entry.split():
        token = token.strip(",;()")
        if _CVE.match(token) or token.upper().startswith("CVE"):
            continue
        if _OTHER_ID.match(token) and token not in ids:
            ids.append(token)
    return ids


def ecosystem_of(distroversion: object, override: str | None, origin: str) -> str:
    if override:
        return override
    if isinstance(distroversion, str):
        if distroversion == "edge":
            return "Alpine:edge"
        m = _RELEASE.match(distroversion)
        if m:
            return f"Alpine:v{m.group(1)}"
    raise FeedFormatError(
        f"{origin}: no usable distroversion ({distroversion!r}); "
        "give the ecosystem (--ecosystem Alpine:v3.20)"
    )


def source_name(ecosystem: str, reponame: object) -> str:
    release = ecosystem.split(":", 1)[1] if ":" in ecosystem else ecosystem
    repo = reponame if isinstance(reponame, str) and reponame.isidentifier() else None
    return f"alpine/{release}/{repo}" if repo else f"alpine/{release}"


def _package(
    name: object, secfixes: object, ecosystem: str, source: str, meta: dict[str, Any], ctx: Context
) -> Iterator[Item]:
    if not isinstance(name, str) or not name or any(c.isspace() for c in name):
        ctx.warn(source, f"{ctx.origin}: a package has no usable name ({name!r}); skipped")
        return
    if secfixes is None:
        return
    if not isinstance(secfixes, dict):
        ctx.warn(source, f"{ctx.origin}: {name}: secfixes is not an object; skipped")
        return
    fixed: dict[str, list[str]] = {}  # vulnerability id -> versions, in file order
    entries: dict[str, list[str]] = {}  # vulnerability id -> the raw entries naming it
    aliases: dict[str, list[str]] = {}
    not_affected: set[str] = set()
    for version, listed in secfixes.items():
        if listed is None:
            continue
        if not isinstance(listed, list) or not all(isinstance(x, str) for x in listed):
            ctx.warn(source, f"{ctx.origin}: {name} {version}: not a list of vulnerability ids; skipped")
            continue
        if not version or any(c.isspace() for c in version):
            ctx.warn(source, f"{ctx.origin}: {name}: version {version!r} is not a version; skipped")
            continue
        for entry in listed:
            ids = vulnerability_ids(entry)
            if not ids:
                ctx.warn(source, f"{ctx.origin}: {name} {version}: {entry!r} names no vulnerability; skipped")
                continue
            vid = ids[0]
            if version == NOT_AFFECTED:
                not_affected.add(vid)
                continue
            versions = fixed.setdefault(vid, [])
            if version not in versions:
                versions.append(version)
            entries.setdefault(vid, []).append(entry)
            for a in ids:
                if a not in aliases.setdefault(vid, []):
                    aliases[vid].append(a)
    for vid, versions in fixed.items():
        dbs: dict[str, Any] = {"source": "alpine-secdb", **meta}
        if vid in not_affected:
            dbs["also_listed_not_affected"] = True
        record: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "id": f"ALPINE-{vid}",
            "aliases": aliases[vid],
            "modified": rfc3339(ctx.mtime),
            "affected": [
                {
                    "package": {
                        "ecosystem": ecosystem,
                        "name": name,
                        "purl": f"pkg:apk/alpine/{name}?arch=source",
                    },
                    "ranges": [
                        {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": v}]} for v in versions
                    ],
                    "database_specific": {"secfixes": entries[vid]},
                }
            ],
            "database_specific": dbs,
        }
        try:
            checked = check_record(record)
        except RecordError as e:
            ctx.warn(source, f"{ctx.origin}: {name} {vid}: {e}; skipped")
            continue
        yield Item(source, KIND, checked, key=(checked["id"], ecosystem, name))


def from_json(obj: Any, ctx: Context) -> Iterator[Item]:
    if not isinstance(obj, dict):
        raise FeedFormatError(f"{ctx.origin}: not an Alpine secdb document")
    ecosystem = ecosystem_of(obj.get("distroversion"), ctx.ecosystem, ctx.origin)
    reponame = obj.get("reponame")
    source = source_name(ecosystem, reponame)
    ctx.declare(source, KIND)
    meta = {"distroversion": obj.get("distroversion"), "reponame": reponame}
    meta = {k: v for k, v in meta.items() if isinstance(v, str)}
    if "packages" in obj:
        packages = obj["packages"]
        if not isinstance(packages, list):
            raise FeedFormatError(f"{ctx.origin}: Alpine secdb 'packages' is not a list")
        for p in packages:
            pkg = p.get("pkg") if isinstance(p, dict) else None
            if not isinstance(pkg, dict):
                ctx.warn(source, f"{ctx.origin}: a packages entry has no 'pkg' object; skipped")
                continue
            yield from _package(pkg.get("name"), pkg.get("secfixes"), ecosystem, source, meta, ctx)
    elif "secfixes" in obj:
        yield from _package(obj.get("name"), obj.get("secfixes"), ecosystem, source, meta, ctx)
    else:
        raise FeedFormatError(f"{ctx.origin}: neither an Alpine secdb nor a vuln-list Alpine package file")
