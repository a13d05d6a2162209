"""Advisory feed importers: each turns one source format into OSV records.

:func:`read_path` takes a file, a directory or an archive, finds the advisory files in it, sniffs
each one's format (or takes the one given) and yields :class:`Item` s, each an OSV record and the
name of the store source it belongs to:

==========  ===================================================  =================================
format      input                                                source name
==========  ===================================================  =================================
``osv``     osv.dev ``all.zip``, a directory of OSV JSON, one    ``osv/<Ecosystem>`` (see
            OSV JSON file (a record, a list, ``{"vulns": []}``)  :func:`hullscan.db.importer`)
``alpine``  Alpine secdb ``<repo>.json``; vuln-list per-package  ``alpine/<distroversion>/<repo>``
``debian``  Debian security tracker JSON                         ``debian/tracker``
``debian``  the tracker's ``data/{DSA,DLA,DTSA}/list``             ``debian/dsa`` ...
``alas``    Amazon ``updateinfo.xml[.gz]``; per-advisory JSON    ``amazon/<release>``
==========  ===================================================  =================================

Unreadable input (a corrupt zip, invalid JSON or XML) raises :class:`FeedFormatError`; a record
that does not follow the schema is skipped with a warning counted on its source. In a directory or
archive only ``*.json``, ``*.xml`` (optionally ``.gz`` / ``.zst``), ``*.zip`` and ``list`` files
are read,
and JSON files in no known format are skipped with a warning; a file named on its own must be in a
known format.
"""

from __future__ import annotations

import gzip
import json
import os
import tarfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import zstandard

from hullscan.errors import FeedFormatError, LimitExceededError

#: Advisory formats, then the prioritisation data (:mod:`hullscan.db.feeds.threat`).
FORMATS = ("osv", "alpine", "debian", "alas", "epss", "kev")

#: Largest advisory file read into memory (the whole Debian tracker JSON is under 100 MB).
MAX_FILE_BYTES = 1 << 30
#: Largest member of an OSV zip (the biggest osv.dev records are a few MB).
MAX_MEMBER_BYTES = 256 << 20

_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_DIR_SUFFIXES = (".json", ".xml", ".csv")
_WRAPPER_SUFFIXES = (".gz", ".zst")
_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.zst", ".tzst")


@dataclass(frozen=True, slots=True)
class Item:
    """One normalised record. ``source`` is None for OSV input: the importer names the source of
    all OSV records of one path argument together (by their ecosystem)."""

    source: str | None
    kind: str
    record: dict[str, Any]
    #: Records of one source with the same key are written once (None: no de-duplication).
    key: object = None


@dataclass
class Context:
    """What an importer knows about the file it reads, and where it reports skipped records."""

    origin: str
    mtime: datetime
    #: ``--ecosystem`` override for formats that carry their release (Alpine, Amazon).
    ecosystem: str | None = None
    #: Called with (source name or None, message) for each skipped record or entry.
    warn: Callable[[str | None, str], None] = field(default=lambda _s, _m: None)
    #: Called with a message about a file that was not imported (directories and archives).
    note: Callable[[str], None] = field(default=lambda _m: None)
    #: Called with (source name, kind) when a file names its source, so that a file with no
    #: records (an Alpine repository without advisories) still makes its (empty) source.
    declare: Callable[[str, str], None] = field(default=lambda _s, _k: None)

    def at(self, origin: str, mtime: datetime | None = None) -> Context:
        return Context(origin, mtime or self.mtime, self.ecosystem, self.warn, self.note, self.declare)


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(microsecond=0)


def parse_json(data: bytes, origin: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as e:
        raise FeedFormatError(f"{origin}: invalid JSON: {e}") from e


def _bounded_gunzip(data: bytes, origin: str) -> bytes:
    d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(data, MAX_FILE_BYTES + 1)
    except zlib.error as e:
        raise FeedFormatError(f"{origin}: corrupt gzip data: {e}") from e
    if len(out) > MAX_FILE_BYTES:
        raise LimitExceededError(f"{origin}: decompresses to more than {MAX_FILE_BYTES} bytes")
    if not d.eof:
        raise FeedFormatError(f"{origin}: truncated gzip data")
    return out


def _bounded_unzstd(data: bytes, origin: str) -> bytes:
    try:
        reader = zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=True)
        out = reader.read(MAX_FILE_BYTES + 1)
    except zstandard.ZstdError as e:
        raise FeedFormatError(f"{origin}: corrupt zstd data: {e}") from e
    if len(out) > MAX_FILE_BYTES:
        raise LimitExceededError(f"{origin}: decompresses to more than {MAX_FILE_BYTES} bytes")
    return out


def _unwrap(data: bytes, origin: str) -> bytes:
    """Undo one layer of gzip or zstd compression, if any."""
    if data.startswith(_GZIP_MAGIC):
        return _bounded_gunzip(data, origin)
    if data.startswith(_ZSTD_MAGIC):
        return _bounded_unzstd(data, origin)
    return data


def sniff_json(obj: Any) -> str | None:
    """The format of a parsed JSON document, or None."""
    if isinstance(obj, list):
        if any(isinstance(x, dict) and "id" in x and "modified" in x for x in obj[:20]):
            return "osv"
        return None
    if not isinstance(obj, dict):
        return None
    from hullscan.db.feeds import threat

    if threat.sniff_json(obj):
        return "kev"
    if isinstance(obj.get("packages"), list) and "distroversion" in obj:
        return "alpine"
    if "secfixes" in obj and isinstance(obj.get("name"), str):
        return "alpine"
    rid = obj.get("id")
    if isinstance(rid, str) and rid.startswith("ALAS") and "packages" in obj:
        return "alas"
    if isinstance(rid, str) and ("modified" in obj or "affected" in obj):
        return "osv"
    if isinstance(obj.get("vulns"), list):
        return "osv"
    # Debian tracker: {source package: {vulnerability id: {"releases": {...}, ...}}}
    looked = 0
    for cves in obj.values():
        if not isinstance(cves, dict):
            return None
        for info in cves.values():
            if not (isinstance(info, dict) and isinstance(info.get("releases"), (dict, list))):
                return None
            looked += 1
            break
        if looked >= 5:
            break
    return "debian" if looked else None


def _sniff_bytes(data: bytes) -> str:
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"{", b"[")):
        return "json"
    if head.startswith(b"<"):
        return "xml"
    return "unknown"


def _dispatch_json(obj: Any, fmt: str | None, ctx: Context, *, strict: bool) -> Iterator[Item]:
    from hullscan.db.feeds import alas, alpine, debian, osv, threat

    found = sniff_json(obj)
    if fmt is not None and found != fmt:
        # A forced format still needs a document of that shape; the importers check the details.
        found = fmt if found is None else found
        if found != fmt:
            msg = f"{ctx.origin}: looks like {found} data, not {fmt}"
            if strict:
                raise FeedFormatError(msg)
            ctx.note(msg + "; skipped")
            return
    if found is None:
        msg = f"{ctx.origin}: JSON in no known advisory format ({', '.join(FORMATS)})"
        if strict:
            raise FeedFormatError(msg)
        ctx.note(msg + "; skipped")
        return
    if found == "osv":
        yield from osv.from_json(obj, ctx)
    elif found == "alpine":
        yield from alpine.from_json(obj, ctx)
    elif found == "debian":
        yield from debian.from_json(obj, ctx)
    elif found == "kev":
        yield from threat.from_kev_json(obj, ctx)
    else:
        yield from alas.from_json(obj, ctx)


def read_blob(data: bytes, fmt: str | None, ctx: Context, *, strict: bool) -> Iterator[Item]:
    """Records of one file's bytes (gzip / zstd wrappers removed); ``strict``: the file was named
    on its own, so an unknown format is an error instead of a skipped file."""
    from hullscan.db.feeds import alas, debian_list, threat

    data = _unwrap(data, ctx.origin)
    csv_kind = threat.sniff_csv(data)
    kind = "debian-list" if debian_list.sniff(data) else _sniff_bytes(data)
    if csv_kind is not None and fmt in (None, csv_kind):
        if csv_kind == "epss":
            yield from threat.from_epss_csv(data, ctx)
        else:
            yield from threat.from_kev_csv(data, ctx)
    elif kind == "json":
        yield from _dispatch_json(parse_json(data, ctx.origin), fmt, ctx, strict=strict)
    elif kind == "xml" and fmt in (None, "alas"):
        yield from alas.from_updateinfo(data, ctx)
    elif kind == "debian-list" and fmt in (None, "debian"):
        yield from debian_list.from_text(data, ctx)
    else:
        msg = f"{ctx.origin}: not an advisory file in a known format ({', '.join(FORMATS)})"
        if strict:
            raise FeedFormatError(msg)
        ctx.note(msg + "; skipped")


def _read_limited(path: Path) -> bytes:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise LimitExceededError(
            f"{path}: {size} bytes, more than the {MAX_FILE_BYTES} an advisory file may have"
        )
    return path.read_bytes()


def _is_tar_name(name: str) -> bool:
    return name.lower().endswith(_TAR_SUFFIXES)


def _wanted_in_dir(name: str) -> bool:
    if name.rsplit("/", 1)[-1] == "list":  # the Debian security tracker's data/{DSA,DLA,DTSA}/list
        return True
    n = name.lower()
    for w in _WRAPPER_SUFFIXES:
        if n.endswith(w):
            n = n[: -len(w)]
            break
    return n.endswith(_DIR_SUFFIXES) or n.endswith(".zip") or _is_tar_name(name)


def _read_tar(path: Path, fmt: str | None, ctx: Context) -> Iterator[Item]:
    """An archive is read like a directory, member by member, without extracting it."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as e:
        raise FeedFormatError(f"{path}: cannot open: {e.strerror or e}") from e
    with fh:
        head = fh.read(4)
        fh.seek(0)
        stream: Any = fh
        if head.startswith(_ZSTD_MAGIC):
            stream = zstandard.ZstdDecompressor().stream_reader(fh, read_across_frames=True, closefd=False)
        elif head.startswith(_GZIP_MAGIC):
            stream = gzip.GzipFile(fileobj=fh, mode="rb")
        try:
            with tarfile.open(fileobj=stream, mode="r|") as tar:
                for member in tar:
                    if not member.isfile() or not _wanted_in_dir(member.name):
                        continue
                    if _is_tar_name(member.name) or member.name.lower().endswith(".zip"):
                        ctx.note(f"{path}:{member.name}: archives inside archives are not read; skipped")
                        continue
                    if member.size > MAX_FILE_BYTES:
                        raise LimitExceededError(f"{path}:{member.name}: more than {MAX_FILE_BYTES} bytes")
                    f = tar.extractfile(member)
                    if f is None:
                        continue
                    data = f.read()
                    mctx = ctx.at(f"{path}:{member.name}", datetime.fromtimestamp(member.mtime, UTC))
                    yield from read_blob(data, fmt, mctx, strict=False)
        except (tarfile.TarError, zstandard.ZstdError, OSError, EOFError) as e:
            raise FeedFormatError(f"{path}: not a readable tar archive: {e}") from e


def read_path(path: Path, fmt: str | None, ctx: Context, *, strict: bool = True) -> Iterator[Item]:
    """Every record in a file, directory (walked in name order) or archive."""
    from hullscan.db.feeds import osv

    if fmt is not None and fmt not in FORMATS:
        raise FeedFormatError(f"unknown advisory format {fmt!r}; choose one of {', '.join(FORMATS)}")
    try:
        is_dir = path.is_dir()
        exists = is_dir or path.is_file()
    except OSError as e:
        raise FeedFormatError(f"{path}: cannot read: {e.strerror or e}") from e
    if not exists:
        raise FeedFormatError(f"{path}: no such file or directory")
    if is_dir:
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames.sort()
            for name in sorted(filenames):
                if _wanted_in_dir(name):
                    yield from read_path(Path(dirpath) / name, fmt, ctx, strict=False)
        return
    fctx = ctx.at(str(path), _mtime(path))
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as e:
        raise FeedFormatError(f"{path}: cannot read: {e.strerror or e}") from e
    if head.startswith((_ZIP_MAGIC, _EMPTY_ZIP_MAGIC)):
        if fmt not in (None, "osv"):
            raise FeedFormatError(f"{path}: a zip archive is read as OSV (osv.dev all.zip), not {fmt}")
        yield from osv.from_zip(path, fctx)
        return
    if _is_tar_name(path.name):
        yield from _read_tar(path, fmt, fctx)
        return
    try:
        data = _read_limited(path)
    except OSError as e:
        raise FeedFormatError(f"{path}: cannot read: {e.strerror or e}") from e
    yield from read_blob(data, fmt, fctx, strict=strict)
