"""Debian security tracker JSON: ``{source package: {vulnerability id: {"description", "scope",
"debianbug", "releases": {codename: {"status", "fixed_version", "urgency", "nodsa", ...}}}}}``.

One record per (vulnerability, source package, release), in ecosystem ``Debian:<number>``
(codenames mapped in :data:`RELEASES`; ``sid`` and unknown codenames are skipped: no image reports
them as a numbered release), package = the *source* package name:

- ``resolved`` with ``fixed_version`` ``"0"``: the tracker's "not affected": no record.
- ``resolved`` with a version: ECOSYSTEM range ``introduced "0"`` / ``fixed <version>``.
- ``open`` or ``undetermined``: ``introduced "0"`` and no fix (every version affected).
- anything else (a status this code does not know): skipped with a warning.

The urgency is kept as ``affected[].ecosystem_specific.urgency`` (as osv.dev does) and, normalised
(``low``/``medium``/``high``/``negligible``; ``**`` "guessed" marks dropped), as
``database_specific.severity``: a severity fallback for a matcher, since it is not a CVSS vector.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hullscan.db.feeds import Context, Item
from hullscan.db.schema import RecordError, check_record
from hullscan.db.store import rfc3339
from hullscan.errors import FeedFormatError

KIND = "debian"
SOURCE = "debian/tracker"
SCHEMA_VERSION = "1.6.0"

RELEASES = {
    "etch": "4",
    "lenny": "5",
    "squeeze": "6",
    "wheezy": "7",
    "jessie": "8",
    "stretch": "9",
    "buster": "10",
    "bullseye": "11",
    "bookworm": "12",
    "trixie": "13",
    "forky": "14",
    "duke": "15",
}

_SEVERITY = {
    "unimportant": "negligible",
    "low": "low",
    "medium": "medium",
    "high": "high",
}
_KEEP_RELEASE_FIELDS = ("status", "nodsa", "nodsa_reason", "fixed_version")
_KEEP_CVE_FIELDS = ("scope", "debianbug")


def normalise_urgency(urgency: object) -> str | None:
    if not isinstance(urgency, str):
        return None
    return _SEVERITY.get(urgency.rstrip("*").strip().lower())


def _events(status: object, fixed: object) -> list[dict[str, str]] | str | None:
    """The range events; None for "not affected"; a string explaining why the entry is skipped."""
    if status == "resolved":
        if not isinstance(fixed, str) or not fixed.strip():
            return "resolved without a fixed_version"
        if fixed == "0":
            return None
        return [{"introduced": "0"}, {"fixed": fixed}]
    if status in ("open", "undetermined"):
        return [{"introduced": "0"}]
    return f"unknown status {status!r}"


def from_json(obj: Any, ctx: Context) -> Iterator[Item]:
    if not isinstance(obj, dict):
        raise FeedFormatError(f"{ctx.origin}: not a Debian security tracker document")
    modified = rfc3339(ctx.mtime)
    ctx.declare(SOURCE, KIND)
    for package, vulns in obj.items():
        if not isinstance(vulns, dict) or not package or any(c.isspace() for c in package):
            ctx.warn(SOURCE, f"{ctx.origin}: package {package!r}: not an object of vulnerabilities; skipped")
            continue
        for vid, info in vulns.items():
            if isinstance(info, dict) and info.get("releases") in ([], {}):
                continue  # the tracker lists no release for it
            if not isinstance(info, dict) or not isinstance(info.get("releases"), dict):
                ctx.warn(SOURCE, f"{ctx.origin}: {package} {vid}: no 'releases' object; skipped")
                continue
            if not vid or any(c.isspace() for c in vid):
                ctx.warn(SOURCE, f"{ctx.origin}: {package}: {vid!r} is not a vulnerability id; skipped")
                continue
            for codename, rel in info["releases"].items():
                number = RELEASES.get(codename)
                if number is None:
                    continue
                if not isinstance(rel, dict):
                    ctx.warn(SOURCE, f"{ctx.origin}: {package} {vid} {codename}: not an object; skipped")
                    continue
                events = _events(rel.get("status"), rel.get("fixed_version"))
                if events is None:
                    continue
                if isinstance(events, str):
                    ctx.warn(SOURCE, f"{ctx.origin}: {package} {vid} {codename}: {events}; skipped")
                    continue
                try:
                    record = _record(package, vid, info, codename, number, rel, events, modified)
                except RecordError as e:
                    ctx.warn(SOURCE, f"{ctx.origin}: {package} {vid} {codename}: {e}; skipped")
                    continue
                yield Item(SOURCE, KIND, record, key=(record["id"], number, package))


def _record(
    package: str,
    vid: str,
    info: dict[str, Any],
    codename: str,
    number: str,
    rel: dict[str, Any],
    events: list[dict[str, str]],
    modified: str,
) -> dict[str, Any]:
    ecosystem = f"Debian:{number}"
    urgency = rel.get("urgency")
    affected: dict[str, Any] = {
        "package": {"ecosystem": ecosystem, "name": package, "purl": f"pkg:deb/debian/{package}?arch=source"},
        "ranges": [{"type": "ECOSYSTEM", "events": events}],
        "database_specific": {k: rel[k] for k in _KEEP_RELEASE_FIELDS if k in rel},
    }
    if isinstance(urgency, str):
        affected["ecosystem_specific"] = {"urgency": urgency}
    dbs: dict[str, Any] = {"source": "debian-security-tracker", "release": codename}
    dbs.update({k: info[k] for k in _KEEP_CVE_FIELDS if k in info})
    if isinstance(urgency, str):
        dbs["urgency"] = urgency
    severity = normalise_urgency(urgency)
    if severity:
        dbs["severity"] = severity
    record: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "id": f"DEBIAN-{vid}",
        "aliases": [vid] if vid.startswith("CVE-") else [],
        "modified": modified,
        "affected": [affected],
        "database_specific": dbs,
    }
    if isinstance(info.get("description"), str):
        record["details"] = info["description"]
    return check_record(record)
