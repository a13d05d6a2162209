"""EPSS and KEV lookups for a scan's findings, from a database generation's ``epss`` / ``kev``
sources (imported with ``hullscan db import``, see :mod:`hullscan.db.feeds.threat`).

Every new generation that has such sources gets ``threat.sqlite`` beside its index (built by
:func:`build` from :func:`hullscan.db.index.build_index`): one table per kind keyed by CVE id, so a
scan's lookup is one indexed query per kind, whatever the size of the EPSS day (about 300,000
rows). A generation without the file (written by an older hullscan) is read by streaming the source
files once, parsing only the lines whose id was asked for.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import zstandard

from hullscan.db.feeds.threat import EPSS_SOURCE, KEV_SOURCE, KINDS
from hullscan.db.store import read_meta
from hullscan.errors import DatabaseError

THREAT_FILE = "threat.sqlite"
_PREFIX = b'{"id":"'
#: Ids per query (SQLite's default limit on host parameters is 32766).
_CHUNK = 900


def _files(generation: Path, kind: str) -> list[Path]:
    try:
        _meta, sources = read_meta(generation)
    except FileNotFoundError:
        return []
    return [generation / f for s in sources if s.kind == kind for f in s.files]


def build(generation: Path) -> int:
    """Write ``threat.sqlite`` for a generation from its EPSS and KEV sources (none: no file).
    Returns the rows written."""
    files = {k: _files(generation, k) for k in KINDS}
    target = generation / THREAT_FILE
    if not any(files.values()):
        target.unlink(missing_ok=True)
        return 0
    tmp = generation / (THREAT_FILE + ".tmp")
    tmp.unlink(missing_ok=True)
    n = 0
    con = sqlite3.connect(tmp)
    try:
        con.execute("PRAGMA journal_mode=OFF")
        con.execute("PRAGMA synchronous=OFF")
        for kind in KINDS:
            con.execute(f"CREATE TABLE {kind} (id TEXT PRIMARY KEY, record TEXT NOT NULL) WITHOUT ROWID")
            for f in files[kind]:
                rows = _raw_rows(f)
                cur = con.executemany(f"INSERT OR IGNORE INTO {kind} VALUES (?, ?)", rows)  # noqa: S608 - kind in KINDS
                n += max(cur.rowcount, 0)
        con.commit()
    finally:
        con.close()
    os.replace(tmp, target)
    return n


def _raw_rows(path: Path) -> Iterator[tuple[str, str]]:
    """(id, the record's JSON text) of every line of a source file, without parsing the JSON (the
    store writes each record with ``id`` first)."""
    try:
        with open(path, "rb") as fh:
            reader = zstandard.ZstdDecompressor().stream_reader(fh, read_across_frames=True, closefd=False)
            for line in io.BufferedReader(reader, buffer_size=1 << 20):
                if line.startswith(_PREFIX):
                    end = line.find(b'"', len(_PREFIX))
                    yield (
                        line[len(_PREFIX) : end].decode("ascii", "replace"),
                        line.decode("utf-8").rstrip("\n"),
                    )
                elif line.strip():
                    rec = json.loads(line)
                    yield str(rec["id"]), json.dumps(rec, separators=(",", ":"))
    except (OSError, zstandard.ZstdError, ValueError, KeyError, TypeError) as e:
        raise DatabaseError(f"advisory database file {path} is corrupt: {e}") from e


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
    wanted = sorted({i.upper() for i in ids if i.upper().startswith("CVE-")})
    out: dict[str, dict[str, Any]] = {}
    if not wanted:
        return out
    db = generation / THREAT_FILE
    if db.is_file():
        try:
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            try:
                for i in range(0, len(wanted), _CHUNK):
                    chunk = wanted[i : i + _CHUNK]
                    marks = ",".join("?" * len(chunk))
                    for key, rec in con.execute(
                        f"SELECT id, record FROM {kind} WHERE id IN ({marks})",  # noqa: S608 - kind in KINDS
                        chunk,
                    ):
                        out[key] = json.loads(rec)
            finally:
                con.close()
        except (sqlite3.Error, ValueError) as e:
            raise DatabaseError(f"advisory database file {db} is corrupt: {e}") from e
        return out
    wanted_set = set(wanted)
    for f in _files(generation, kind):
        _scan_file(f, wanted_set, out)
    return out


def has_data(generation: Path) -> bool:
    """Whether the generation has an EPSS or KEV source."""
    return (generation / THREAT_FILE).is_file() or bool(
        _files(generation, EPSS_SOURCE) or _files(generation, KEV_SOURCE)
    )


__all__ = ["THREAT_FILE", "build", "has_data", "lookup"]
