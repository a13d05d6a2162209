"""Prioritisation data: FIRST's EPSS scores and CISA's Known Exploited Vulnerabilities catalog.

Neither is an advisory feed: their rows are stored as sources of their own kind (``epss``, ``kev``)
that the advisory index leaves out, and looked up by CVE id at scan time
(:mod:`hullscan.db.threat`). Inputs, as published:

- EPSS: ``epss_scores-YYYY-MM-DD.csv`` (or ``.csv.gz``): an optional first line
  ``#model_version:v2023.03.01,score_date:2025-02-20T00:00:00+0000``, then the header
  ``cve,epss,percentile`` and one row per CVE. Stored as source ``epss``, one record per CVE:
  ``{"id", "score", "percentile", "date"}``.
- KEV: ``known_exploited_vulnerabilities.json`` (``{"catalogVersion", "vulnerabilities": [...]}``)
  or the same catalog as CSV (header starting ``cveID,vendorProject``). Stored as source ``kev``,
  one record per CVE: ``{"id", "date_added", "due_date", "known_ransomware", "required_action",
  "name"}``.

A later import of the same kind replaces the earlier one (one EPSS day, one catalog version).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator
from typing import Any

from hullscan.db.feeds import Context, Item
from hullscan.errors import FeedFormatError

EPSS_SOURCE = "epss"
KEV_SOURCE = "kev"
#: Source kinds that hold prioritisation data, not advisories.
KINDS = (EPSS_SOURCE, KEV_SOURCE)

_CVE = re.compile(r"^CVE-\d{4}-\d{4,}$")
_EPSS_HEADER = ("cve", "epss", "percentile")
_KEV_CSV_HEADER = "cveid,vendorproject"
_DATE = re.compile(r"score_date:(\d{4}-\d{2}-\d{2})")


def _text(data: bytes, origin: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise FeedFormatError(f"{origin}: not UTF-8 text: {e}") from e


def sniff_csv(data: bytes) -> str | None:
    """``epss`` or ``kev`` for a CSV file of that shape (looked at by its first lines), else None."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf").lower()
    if head.startswith(b"#model_version") or head.startswith(b"cve,epss"):
        return EPSS_SOURCE
    if head.startswith(_KEV_CSV_HEADER.encode()) or head.startswith(b'"cveid","vendorproject"'):
        return KEV_SOURCE
    return None


def sniff_json(obj: Any) -> bool:
    """Whether a parsed JSON document is the KEV catalog."""
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("vulnerabilities"), list)
        and ("catalogVersion" in obj or "dateReleased" in obj)
    )


def _probability(value: str, what: str, origin: str, line: int) -> float:
    try:
        x = float(value)
    except ValueError:
        raise FeedFormatError(f"{origin}:{line}: {what} {value[:40]!r} is not a number") from None
    if not (math.isfinite(x) and 0.0 <= x <= 1.0):
        raise FeedFormatError(f"{origin}:{line}: {what} {value[:40]!r} is not between 0 and 1")
    return x


def from_epss_csv(data: bytes, ctx: Context) -> Iterator[Item]:
    """Rows of an EPSS CSV. A malformed header or value is an error for the whole file (a
    half-read score file would silently lower priorities)."""
    text = _text(data, ctx.origin)
    lines = text.splitlines()
    date: str | None = None
    start = 0
    if lines and lines[0].startswith("#"):
        m = _DATE.search(lines[0])
        date = m.group(1) if m else None
        start = 1
    if start >= len(lines):
        raise FeedFormatError(f"{ctx.origin}: EPSS file with no header")
    header = tuple(c.strip().lower() for c in lines[start].split(","))
    if header[:3] != _EPSS_HEADER:
        raise FeedFormatError(
            f"{ctx.origin}:{start + 1}: EPSS header is {lines[start][:80]!r}, expected 'cve,epss,percentile'"
        )
    ctx.declare(EPSS_SOURCE, EPSS_SOURCE)
    for n, row in enumerate(csv.reader(lines[start + 1 :]), start=start + 2):
        if not row or not "".join(row).strip():
            continue
        if len(row) < 3:
            raise FeedFormatError(f"{ctx.origin}:{n}: expected cve,epss,percentile")
        cve = row[0].strip().upper()
        if not _CVE.match(cve):
            raise FeedFormatError(f"{ctx.origin}:{n}: {row[0][:40]!r} is not a CVE id")
        rec = {
            "id": cve,
            "score": _probability(row[1].strip(), "epss", ctx.origin, n),
            "percentile": _probability(row[2].strip(), "percentile", ctx.origin, n),
            "date": date,
        }
        yield Item(EPSS_SOURCE, EPSS_SOURCE, rec, key=cve)


def _kev_record(entry: dict[str, Any], where: str) -> dict[str, Any]:
    cve = str(entry.get("cveID", "")).strip().upper()
    if not _CVE.match(cve):
        raise FeedFormatError(f"{where}: cveID {str(entry.get('cveID'))[:40]!r} is not a CVE id")

    def opt(key: str) -> str | None:
        v = entry.get(key)
        return str(v) if v not in (None, "") else None

    return {
        "id": cve,
        "date_added": opt("dateAdded"),
        "due_date": opt("dueDate"),
        "known_ransomware": opt("knownRansomwareCampaignUse"),
        "required_action": opt("requiredAction"),
        "name": opt("vulnerabilityName"),
    }


def from_kev_json(obj: dict[str, Any], ctx: Context) -> Iterator[Item]:
    ctx.declare(KEV_SOURCE, KEV_SOURCE)
    for i, entry in enumerate(obj["vulnerabilities"]):
        if not isinstance(entry, dict):
            raise FeedFormatError(f"{ctx.origin}: vulnerabilities[{i}] is not an object")
        rec = _kev_record(entry, f"{ctx.origin}: vulnerabilities[{i}]")
        yield Item(KEV_SOURCE, KEV_SOURCE, rec, key=rec["id"])


def from_kev_csv(data: bytes, ctx: Context) -> Iterator[Item]:
    reader = csv.DictReader(io.StringIO(_text(data, ctx.origin)))
    if reader.fieldnames is None or "cveID" not in reader.fieldnames:
        raise FeedFormatError(f"{ctx.origin}: KEV CSV without a cveID column")
    ctx.declare(KEV_SOURCE, KEV_SOURCE)
    try:
        for entry in reader:
            rec = _kev_record(entry, f"{ctx.origin}:{reader.line_num}")
            yield Item(KEV_SOURCE, KEV_SOURCE, rec, key=rec["id"])
    except csv.Error as e:
        raise FeedFormatError(f"{ctx.origin}:{reader.line_num}: malformed CSV: {e}") from e
