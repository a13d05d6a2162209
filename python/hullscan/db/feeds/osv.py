"""OSV input: osv.dev's per-ecosystem ``all.zip`` (flat ``<ID>.json`` members), a directory of OSV
JSON files, or one file holding a record, a list of records or an API answer ``{"vulns": [...]}``.

Records are kept as they are (they are OSV already) once :func:`check_record` accepts them.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hullscan.db.feeds import MAX_MEMBER_BYTES, Context, Item, parse_json
from hullscan.db.schema import RecordError, check_record
from hullscan.errors import FeedFormatError, LimitExceededError

KIND = "osv"
#: Most members an OSV zip may have (osv.dev's largest ecosystems have a few hundred thousand).
MAX_MEMBERS = 2_000_000


def _record(obj: Any, ctx: Context) -> Iterator[Item]:
    try:
        rec = check_record(obj)
    except RecordError as e:
        rid = obj.get("id") if isinstance(obj, dict) else None
        ctx.warn(None, f"{ctx.origin}: {rid if isinstance(rid, str) else 'record'}: {e}")
        return
    yield Item(None, KIND, rec, key=rec["id"])


def from_json(obj: Any, ctx: Context) -> Iterator[Item]:
    """Records of one parsed OSV JSON document."""
    if isinstance(obj, dict) and isinstance(obj.get("vulns"), list) and "id" not in obj:
        obj = obj["vulns"]
    if isinstance(obj, list):
        for x in obj:
            yield from _record(x, ctx)
    elif isinstance(obj, dict):
        yield from _record(obj, ctx)
    else:
        raise FeedFormatError(f"{ctx.origin}: not an OSV record or list of records")


def open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as e:
        raise FeedFormatError(f"{path}: not a readable zip archive: {e}") from e


def _members(zf: zipfile.ZipFile, path: Path) -> list[zipfile.ZipInfo]:
    infos = [i for i in zf.infolist() if not i.is_dir()]
    if len(infos) > MAX_MEMBERS:
        raise LimitExceededError(f"{path}: {len(infos)} members, more than {MAX_MEMBERS}")
    for i in infos:
        if i.file_size > MAX_MEMBER_BYTES:
            raise LimitExceededError(
                f"{path}: member {i.filename} has {i.file_size} bytes (limit {MAX_MEMBER_BYTES})"
            )
    return infos


def validate_zip(path: Path) -> int:
    """Check a downloaded ``all.zip`` before it is used: the archive reads, every member's CRC
    matches (``testzip``) and every ``.json`` member parses as JSON. Returns the member count."""
    with open_zip(path) as zf:
        infos = _members(zf, path)
        try:
            bad = zf.testzip()
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as e:
            raise FeedFormatError(f"{path}: corrupt zip archive: {e}") from e
        if bad is not None:
            raise FeedFormatError(f"{path}: corrupt zip archive: member {bad} fails its CRC check")
        for info in infos:
            if info.filename.endswith(".json"):
                parse_json(zf.read(info), f"{path}:{info.filename}")
    return len(infos)


def from_zip(path: Path, ctx: Context) -> Iterator[Item]:
    """Records of an osv.dev ``all.zip``. Each member is read (its CRC checked) and parsed; an
    unreadable member fails the whole import."""
    with open_zip(path) as zf:
        for info in _members(zf, path):
            name = info.filename
            if not name.endswith(".json"):
                ctx.note(f"{path}:{name}: not a .json member; skipped")
                continue
            origin = f"{path}:{name}"
            try:
                data = zf.read(info)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as e:
                raise FeedFormatError(f"{origin}: corrupt zip member: {e}") from e
            yield from from_json(parse_json(data, origin), ctx.at(origin))
