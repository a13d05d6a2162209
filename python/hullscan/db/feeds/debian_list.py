"""Debian security tracker advisory lists: ``data/DSA/list``, ``data/DLA/list``, ``data/DTSA/list``::

    [29 Mar 2023] DSA-5380-1 xorg-server - security update
        {CVE-2023-1393}
        [bullseye] - xorg-server 2:1.20.11-1+deb11u6
        NOTE: ...

One record per advisory: id = the advisory id, aliases = the ids in braces, summary = the header's
package and title, published = modified = the date, one ``affected`` entry per ``[release] -
package version`` line whose release maps to a number (:data:`debian.RELEASES`; older ones are
skipped) with an ECOSYSTEM range ``introduced "0"`` / ``fixed <version>``; lines whose version is
``<not-affected>``, ``<unfixed>``, ``<end-of-life>`` and the like make no range. A trailing
``(high)`` is kept as the urgency. Sources: ``debian/dsa``, ``debian/dla``, ``debian/dtsa``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from hullscan.db.feeds import Context, Item
from hullscan.db.feeds.debian import RELEASES, normalise_urgency
from hullscan.db.schema import RecordError, check_record
from hullscan.db.store import rfc3339

KIND = "debian"
SCHEMA_VERSION = "1.6.0"

_HEADER = re.compile(r"^\[(?P<date>[^\]]+)\]\s+(?P<id>(?:DSA|DLA|DTSA)-\d+(?:-\d+)?)\b\s*(?P<rest>.*)$")
_IDS = re.compile(r"^\s+\{(?P<ids>[^}]*)\}")
_FIX = re.compile(r"^\s+\[(?P<rel>[a-z-]+)\]\s+-\s+(?P<pkg>\S+)\s+(?P<ver>\S+)(?:\s+\((?P<urg>[^)]*)\))?")
_ORDINAL = re.compile(r"(\d+)(st|nd|rd|th)\b")
#: The first line of a list file: what :func:`sniff` looks for.
SNIFF = re.compile(rb"^\s*\[[^\]\n]+\]\s+(DSA|DLA|DTSA)-\d+")


def sniff(data: bytes) -> bool:
    return bool(SNIFF.match(data[:256]))


def _date(text: str) -> str | None:
    t = _ORDINAL.sub(r"\1", text.strip())
    for fmt in ("%d %b %Y", "%B %d, %Y", "%d %B %Y", "%b %d, %Y"):
        try:
            return rfc3339(datetime.strptime(t, fmt).replace(tzinfo=UTC))
        except ValueError:
            continue
    return None


def _advisory(block: list[str], ctx: Context) -> Item | None:
    head = _HEADER.match(block[0])
    if head is None:  # pragma: no cover - blocks start at a header by construction
        return None
    aid = head.group("id")
    source = "debian/" + aid.split("-", 1)[0].lower()
    aliases: list[str] = []
    affected: list[dict[str, Any]] = []
    severities: list[str] = []
    for line in block[1:]:
        m = _IDS.match(line)
        if m:
            for i in m.group("ids").split():
                if i not in aliases and i != aid:
                    aliases.append(i)
            continue
        m = _FIX.match(line)
        if not m:
            continue
        number = RELEASES.get(m.group("rel"))
        version = m.group("ver")
        if number is None or version.startswith("<"):
            continue
        pkg = m.group("pkg")
        entry: dict[str, Any] = {
            "package": {
                "ecosystem": f"Debian:{number}",
                "name": pkg,
                "purl": f"pkg:deb/debian/{pkg}?arch=source",
            },
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": version}]}],
        }
        if m.group("urg"):
            entry["ecosystem_specific"] = {"urgency": m.group("urg")}
            sev = normalise_urgency(m.group("urg"))
            if sev:
                severities.append(sev)
        affected.append(entry)
    published = _date(head.group("date"))
    if published is None:
        ctx.warn(source, f"{ctx.origin}: {aid}: unreadable date {head.group('date')!r}; skipped")
        return None
    dbs: dict[str, Any] = {"source": "debian-security-tracker-list"}
    order = ["negligible", "low", "medium", "high"]
    if severities:
        dbs["severity"] = max(severities, key=order.index)
    record: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "id": aid,
        "aliases": aliases,
        "published": published,
        "modified": published,
        "affected": affected,
        "database_specific": dbs,
    }
    rest = head.group("rest").strip()
    if rest:
        record["summary"] = rest
    try:
        return Item(source, KIND, check_record(record), key=aid)
    except RecordError as e:
        ctx.warn(source, f"{ctx.origin}: {aid}: {e}; skipped")
        return None


def from_text(data: bytes, ctx: Context) -> Iterator[Item]:
    text = data.decode("utf-8", errors="replace")
    block: list[str] = []
    for line in text.splitlines():
        if _HEADER.match(line):
            if block:
                item = _advisory(block, ctx)
                if item is not None:
                    yield item
            block = [line]
        elif block and line.strip():
            block.append(line)
    if block:
        item = _advisory(block, ctx)
        if item is not None:
            yield item
