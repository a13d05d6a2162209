"""Fast JSON for the reports: ``ScanResult.to_dict()``'s document without ``dataclasses.asdict``
(which deep-copies every leaf), and output pretty-printed only down to a given depth, one record per
line below it (so the C encoder does the bulk: ``json.dumps`` with ``indent`` is pure Python)."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any

from hullscan._jsonfmt import dumps
from hullscan.model import INVENTORY_SCHEMA_VERSION
from hullscan.scan import SCAN_SCHEMA_VERSION, Finding, ScanResult

_FIELDS: dict[type, tuple[str, ...]] = {}
_LEAVES = frozenset({str, int, float, bool, type(None)})


def _names(cls: type) -> tuple[str, ...] | None:
    names = _FIELDS.get(cls)
    if names is None and is_dataclass(cls):
        names = _FIELDS[cls] = tuple(f.name for f in fields(cls))
    return names


def plain(obj: Any) -> Any:
    """A dataclass tree as JSON-ready dicts and lists (what ``asdict`` gives, tuples as lists)."""
    cls = type(obj)
    if cls in _LEAVES:
        return obj
    names = _names(cls)
    if names is not None:
        d = {}
        for n in names:
            v = getattr(obj, n)
            d[n] = v if type(v) in _LEAVES else plain(v)
        return d
    if cls is tuple or cls is list:
        return [v if type(v) in _LEAVES else plain(v) for v in obj]
    if cls is dict:
        return {k: v if type(v) in _LEAVES else plain(v) for k, v in obj.items()}
    return obj


def finding_dict(f: Finding) -> dict[str, Any]:
    d: dict[str, Any] = plain(f)
    d["explanation"]["text"] = f.explanation.text()
    return d


def scan_dict(result: ScanResult) -> dict[str, Any]:
    """Equal to ``result.to_dict()`` (a test holds them equal), several times faster."""
    inv = result.inventory
    d: dict[str, Any] = {
        "schema_version": SCAN_SCHEMA_VERSION,
        "inventory_schema_version": INVENTORY_SCHEMA_VERSION,
    }
    for name in _names(type(inv)) or ():
        d[name] = plain(getattr(inv, name))
    d["findings"] = [finding_dict(f) for f in result.findings]
    d["suppressed"] = [finding_dict(f) for f in result.suppressed]
    d["warnings"] = list(inv.warnings) + list(result.warnings)
    d["db"] = plain(result.db)
    return d


__all__ = ["dumps", "finding_dict", "plain", "scan_dict"]
