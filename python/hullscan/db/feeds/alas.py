"""Amazon Linux security advisories (ALAS): the repositories' ``updateinfo.xml`` (``.gz``) and
per-advisory JSON as vuln-list keeps it (``{"id", "title", "issued": {"date"}, "updated",
"severity", "description", "packages": [{"name", "epoch", "version", "release", "arch"}],
"references", "cveids"}``).

One record per advisory: id = the ALAS id, aliases = its CVE ids, ecosystem ``Amazon Linux:<release>``
(from the updateinfo collection ``amazon-linux-2023``, else the id: ``ALAS2023-`` 2023, ``ALAS2022-``
2022, ``ALAS2-`` and AL2 extras such as ``ALASKERNEL-5.10-`` 2, ``ALAS-`` 1; or ``--ecosystem``), one
``affected`` entry per binary rpm name with ECOSYSTEM range ``introduced "0"`` / ``fixed "E:V-R"``
(the epoch always written, so the rpm scheme compares it; a name whose architectures carry
different EVRs gets one range per EVR). ALAS severities are not CVSS: kept as
``database_specific.vendor_severity`` and normalised (critical, important -> high, medium, low) in
``database_specific.severity``.

The XML is read with expat as a stream; a document type declaration (and so any entity) is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from xml.parsers import expat

from hullscan.db.feeds import Context, Item
from hullscan.db.schema import RecordError, check_record
from hullscan.db.store import rfc3339
from hullscan.errors import FeedFormatError

KIND = "alas"
SCHEMA_VERSION = "1.6.0"

_SEVERITY = {
    "critical": "critical",
    "important": "high",
    "high": "high",
    "medium": "medium",
    "moderate": "medium",
    "low": "low",
}
_ID = re.compile(r"^ALAS([0-9]*)([A-Z][A-Z0-9.]*)?-")
_COLLECTION = re.compile(r"^amazon-linux-(\d+)$")
_CVE = re.compile(r"^CVE-\d{4}-\d{4,}$")


def release_of(advisory_id: str, collection: str | None) -> str | None:
    if collection:
        m = _COLLECTION.match(collection)
        if m:
            return m.group(1)
    m = _ID.match(advisory_id)
    if not m:
        return None
    digits, extra = m.group(1), m.group(2)
    if digits:
        return digits
    return "2" if extra else "1"


def _time(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    v = value.strip().replace("T", " ").removesuffix("Z")
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return rfc3339(datetime.strptime(v, fmt).replace(tzinfo=UTC))
        except ValueError:
            continue
    return None


def _evr(p: dict[str, Any]) -> str | None:
    version, release = p.get("version"), p.get("release")
    if not isinstance(version, str) or not isinstance(release, str) or not version or not release:
        return None
    epoch = p.get("epoch")
    epoch = str(epoch).strip() if epoch not in (None, "") else "0"
    if not epoch.isdigit():
        return None
    return f"{epoch}:{version}-{release}"


def advisory_record(adv: dict[str, Any], ctx: Context) -> Item | None:
    """The record of one advisory (a dict in vuln-list's JSON shape), or None with a warning."""
    aid = adv.get("id")
    if not isinstance(aid, str) or not aid.startswith("ALAS"):
        ctx.warn(None, f"{ctx.origin}: advisory without an ALAS id ({aid!r}); skipped")
        return None
    if ctx.ecosystem:
        ecosystem = ctx.ecosystem
    else:
        release = release_of(aid, adv.get("collection"))
        if release is None:
            ctx.warn(None, f"{ctx.origin}: {aid}: cannot tell the Amazon Linux release; skipped")
            return None
        ecosystem = f"Amazon Linux:{release}"
    source = "amazon/" + ecosystem.split(":", 1)[-1].replace(" ", "-")
    packages = adv.get("packages")
    if not isinstance(packages, list):
        ctx.warn(source, f"{ctx.origin}: {aid}: 'packages' is not a list; skipped")
        return None
    fixed: dict[str, list[str]] = {}
    arches: dict[str, set[str]] = {}
    for p in packages:
        name = p.get("name") if isinstance(p, dict) else None
        evr = _evr(p) if isinstance(p, dict) else None
        if not isinstance(name, str) or not name or evr is None:
            ctx.warn(source, f"{ctx.origin}: {aid}: a package without name/epoch/version/release; skipped")
            continue
        if evr not in fixed.setdefault(name, []):
            fixed[name].append(evr)
        arch = p.get("arch")
        if isinstance(arch, str):
            arches.setdefault(name, set()).add(arch)
    aliases: list[str] = []
    for cve in adv.get("cveids") or ():
        if isinstance(cve, str) and _CVE.match(cve) and cve not in aliases:
            aliases.append(cve)
    references = []
    for r in adv.get("references") or ():
        if not isinstance(r, dict):
            continue
        rid, href = r.get("id"), r.get("href")
        if r.get("type") == "cve" and isinstance(rid, str) and _CVE.match(rid) and rid not in aliases:
            aliases.append(rid)
        if isinstance(href, str) and href:
            references.append({"type": "WEB", "url": href})
    vendor = adv.get("severity")
    published = _time((adv.get("issued") or {}).get("date"))
    modified = _time((adv.get("updated") or {}).get("date")) or published or rfc3339(ctx.mtime)
    dbs: dict[str, Any] = {"source": "alas"}
    if isinstance(vendor, str) and vendor:
        dbs["vendor_severity"] = vendor
        sev = _SEVERITY.get(vendor.strip().lower())
        if sev:
            dbs["severity"] = sev
    record: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "id": aid,
        "aliases": sorted(aliases),
        "modified": modified,
        "affected": [
            {
                "package": {"ecosystem": ecosystem, "name": name, "purl": f"pkg:rpm/amazon/{name}"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": e}]} for e in evrs
                ],
                "ecosystem_specific": {"arches": sorted(arches.get(name, ()))},
            }
            for name, evrs in sorted(fixed.items())
        ],
        "references": references,
        "database_specific": dbs,
    }
    if published:
        record["published"] = published
    if isinstance(adv.get("title"), str):
        record["summary"] = adv["title"]
    if isinstance(adv.get("description"), str):
        record["details"] = adv["description"]
    try:
        return Item(source, KIND, check_record(record), key=aid)
    except RecordError as e:
        ctx.warn(source, f"{ctx.origin}: {aid}: {e}; skipped")
        return None


def from_json(obj: Any, ctx: Context) -> Iterator[Item]:
    docs = obj if isinstance(obj, list) else [obj]
    for doc in docs:
        if not isinstance(doc, dict):
            raise FeedFormatError(f"{ctx.origin}: not an ALAS advisory")
        item = advisory_record(doc, ctx)
        if item is not None:
            yield item


class _UpdateinfoParser:
    """updateinfo.xml as a stream of advisory dicts (vuln-list's JSON shape)."""

    _TEXT = ("id", "title", "severity", "description")

    def __init__(self) -> None:
        self.done: list[dict[str, Any]] = []
        self._cur: dict[str, Any] | None = None
        self._text: list[str] = []
        self._collecting = False
        p = expat.ParserCreate()
        p.StartElementHandler = self._start
        p.EndElementHandler = self._end
        p.CharacterDataHandler = self._chars
        p.StartDoctypeDeclHandler = self._doctype
        p.EntityDeclHandler = self._entity
        self.parser = p

    @staticmethod
    def _doctype(*_args: object) -> None:
        raise FeedFormatError("updateinfo.xml with a document type declaration is refused")

    @staticmethod
    def _entity(*_args: object) -> None:
        raise FeedFormatError("updateinfo.xml with entity declarations is refused")

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == "update":
            self._cur = {"type": attrs.get("type"), "packages": [], "references": [], "cveids": []}
            return
        cur = self._cur
        if cur is None:
            return
        if tag in self._TEXT:
            self._text = []
            self._collecting = True
        elif tag in ("issued", "updated"):
            cur[tag] = {"date": attrs.get("date")}
        elif tag == "reference":
            cur["references"].append(dict(attrs))
        elif tag == "collection":
            cur.setdefault("collection", attrs.get("short"))
        elif tag == "package":
            cur["packages"].append(dict(attrs))

    def _end(self, tag: str) -> None:
        cur = self._cur
        if cur is None:
            return
        if tag in self._TEXT and self._collecting:
            cur[tag] = "".join(self._text).strip() if tag != "description" else "".join(self._text)
            self._collecting = False
        elif tag == "update":
            self.done.append(cur)
            self._cur = None

    def _chars(self, data: str) -> None:
        if self._collecting:
            self._text.append(data)


def from_updateinfo(data: bytes, ctx: Context) -> Iterator[Item]:
    """Records of an ``updateinfo.xml`` (security updates only)."""
    p = _UpdateinfoParser()
    chunk = 1 << 20
    for i in range(0, len(data) + 1, chunk):
        piece = data[i : i + chunk]
        final = i + chunk >= len(data)
        try:
            p.parser.Parse(piece, final)
        except expat.ExpatError as e:
            raise FeedFormatError(f"{ctx.origin}: invalid updateinfo XML: {e}") from e
        except FeedFormatError as e:
            raise FeedFormatError(f"{ctx.origin}: {e}") from e
        for adv in p.done:
            if adv.get("type") not in (None, "security"):
                continue
            item = advisory_record(adv, ctx)
            if item is not None:
                yield item
        p.done.clear()
        if final:
            break
