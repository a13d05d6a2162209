"""EPSS and KEV lookups for a scan's findings, from a database generation's ``epss`` / ``kev``
sources (imported with ``hullscan db import``, see :mod:`hullscan.db.feeds.threat`).

A scan asks once for the CVE ids of all its findings: each source file is streamed once, and a
line is parsed only when its id (the first key of every stored record) is one of those asked for,
so a full EPSS day (about 270,000 rows) costs one decompression pass, not 270,000 JSON parses.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import zstandard

from hullscan.db.feeds.threat import EPSS_SOURCE, KEV_SOURCE, KINDS
from hullscan.db.store import read_meta
from hullscan.errors import DatabaseError

_PREFIX = b'{"id":"'


def _files(generation: Path, kind: str) -> list[Path]:
    try:
        _meta, sources = read_meta(generation)
    except FileNotFoundError:
        return []
    return [generation / f for s in sources if s.kind == kind for f in s.files]


def _scan_file(path: Path, wanted: set[str], out: dict[str, dict[str, Any]]) -> None:
    try:
        with open(path, "rb") as fh:
            reader = zstandard.ZstdDecompressor().stream_reader(fh, read_across_frames=True, closefd=False)
            stream: IO[bytes] = io.BufferedReader(reader, buffer_size=1 << 20)
            for line in stream:
                if not line.startswith(_PREFIX):
                    continue
                end = line.find(b'"', len(_PREFIX))
                key = line[len(_PREFIX) : end].decode("ascii", "replace")
                if key in wanted and key not in out:
                    out[key] = json.loads(line)
    except (OSError, zstandard.ZstdError, ValueError) as e:
        raise DatabaseError(f"advisory database file {path} is corrupt: {e}") from e


def lookup(generation: Path, kind: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The stored ``epss`` or ``kev`` record of each id in ``ids`` that has one."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    wanted = {i.upper() for i in ids if i.upper().startswith("CVE-")}
    out: dict[str, dict[str, Any]] = {}
    if not wanted:
        return out
    for f in _files(generation, kind):
        _scan_file(f, wanted, out)
    return out


def has_data(generation: Path) -> bool:
    """Whether the generation has an EPSS or KEV source."""
    return bool(_files(generation, EPSS_SOURCE) or _files(generation, KEV_SOURCE))


__all__ = ["has_data", "lookup"]
