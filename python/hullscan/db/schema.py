"""Checks that a record has the OSV schema's required fields and that every field it has is of the
schema's type (OSV schema 1.6; fields of later versions, such as ``upstream``, are kept).

There is no JSON Schema validator here on purpose: the checks are the ones a matcher relies on,
written out, and they run at about a microsecond per record.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

#: The ``ranges[].type`` values of the OSV schema.
RANGE_TYPES = frozenset({"SEMVER", "ECOSYSTEM", "GIT"})
#: The event keys of the OSV schema; each event has exactly one.
EVENT_KEYS = frozenset({"introduced", "fixed", "last_affected", "limit"})
#: RFC 3339 date-time, as OSV requires for ``modified``, ``published`` and ``withdrawn``.
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
MAX_ID_LENGTH = 256

_STR_FIELDS = ("schema_version", "summary", "details")
_TIME_FIELDS = ("published", "withdrawn")
_STR_LIST_FIELDS = ("aliases", "related", "upstream")


class RecordError(ValueError):
    """A record that does not follow the OSV schema; the importer skips it with a warning."""


def _expect(cond: bool, what: str) -> None:
    if not cond:
        raise RecordError(what)


def _str_list(value: object, what: str) -> None:
    _expect(
        isinstance(value, list) and all(isinstance(x, str) for x in value), f"{what}: not a list of strings"
    )


def _severity(value: object, what: str) -> None:
    _expect(isinstance(value, list), f"{what}: not a list")
    assert isinstance(value, list)
    for s in value:
        _expect(isinstance(s, dict), f"{what}: an entry is not an object")
        _expect(isinstance(s.get("type"), str), f"{what}: type is not a string")
        _expect(isinstance(s.get("score"), str), f"{what}: score is not a string")


def _dict_field(obj: Mapping[str, Any], key: str, what: str) -> None:
    if key in obj:
        _expect(isinstance(obj[key], dict), f"{what}.{key}: not an object")


def _affected(a: object, i: int) -> None:
    what = f"affected[{i}]"
    _expect(isinstance(a, dict), f"{what}: not an object")
    assert isinstance(a, dict)
    if "package" in a:
        p = a["package"]
        _expect(isinstance(p, dict), f"{what}.package: not an object")
        _expect(isinstance(p.get("ecosystem"), str), f"{what}.package.ecosystem: not a string")
        _expect(isinstance(p.get("name"), str), f"{what}.package.name: not a string")
        if "purl" in p:
            _expect(isinstance(p["purl"], str), f"{what}.package.purl: not a string")
    ranges = a.get("ranges", [])
    _expect(isinstance(ranges, list), f"{what}.ranges: not a list")
    for j, r in enumerate(ranges):
        rw = f"{what}.ranges[{j}]"
        _expect(isinstance(r, dict), f"{rw}: not an object")
        _expect(r.get("type") in RANGE_TYPES, f"{rw}.type: not one of {sorted(RANGE_TYPES)}")
        events = r.get("events")
        _expect(isinstance(events, list) and len(events) > 0, f"{rw}.events: not a non-empty list")
        for e in events:
            _expect(
                isinstance(e, dict)
                and len(e) == 1
                and next(iter(e)) in EVENT_KEYS
                and isinstance(next(iter(e.values())), str),
                f"{rw}.events: an event is not one of {sorted(EVENT_KEYS)} with a string version",
            )
        if "repo" in r:
            _expect(isinstance(r["repo"], str), f"{rw}.repo: not a string")
        _dict_field(r, "database_specific", rw)
    if "versions" in a:
        _str_list(a["versions"], f"{what}.versions")
    if "severity" in a:
        _severity(a["severity"], f"{what}.severity")
    _dict_field(a, "ecosystem_specific", what)
    _dict_field(a, "database_specific", what)


def check_record(rec: object) -> dict[str, Any]:
    """``rec`` itself if it is an OSV record; raises :class:`RecordError` naming the first problem."""
    _expect(isinstance(rec, dict), "not a JSON object")
    assert isinstance(rec, dict)
    rid = rec.get("id")
    _expect(isinstance(rid, str) and 0 < len(rid) <= MAX_ID_LENGTH, "id: missing or not a string")
    assert isinstance(rid, str)
    _expect(rid.isprintable() and not any(c.isspace() for c in rid), "id: contains spaces or controls")
    modified = rec.get("modified")
    _expect(isinstance(modified, str) and bool(_TIMESTAMP.match(modified)), "modified: not an RFC 3339 time")
    for key in _STR_FIELDS:
        if key in rec:
            _expect(isinstance(rec[key], str), f"{key}: not a string")
    for key in _TIME_FIELDS:
        if key in rec:
            v = rec[key]
            _expect(isinstance(v, str) and bool(_TIMESTAMP.match(v)), f"{key}: not an RFC 3339 time")
    for key in _STR_LIST_FIELDS:
        if key in rec:
            _str_list(rec[key], key)
    if "severity" in rec:
        _severity(rec["severity"], "severity")
    affected = rec.get("affected", [])
    _expect(isinstance(affected, list), "affected: not a list")
    for i, a in enumerate(affected):
        _affected(a, i)
    refs = rec.get("references", [])
    _expect(isinstance(refs, list), "references: not a list")
    for r in refs:
        _expect(
            isinstance(r, dict) and isinstance(r.get("type"), str) and isinstance(r.get("url"), str),
            "references: an entry is not {type, url} strings",
        )
    if "credits" in rec:
        _expect(isinstance(rec["credits"], list), "credits: not a list")
    _dict_field(rec, "database_specific", "record")
    return rec


def base_ecosystem(ecosystem: str) -> str:
    """``Debian:12`` -> ``Debian``, ``Alpine:v3.20`` -> ``Alpine``, ``PyPI`` -> ``PyPI``."""
    return ecosystem.split(":", 1)[0]
