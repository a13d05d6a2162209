"""The advisory store in the cache directory: immutable generations and an atomic pointer.

Layout under ``<cache_dir>/db``::

    current                         the id of the generation in use, one line, replaced atomically
    lock                            held (flock) by the one writer at a time
    tmp/                            downloads in progress (cleared by the next writer)
    generations/<id>/
        meta.json                   sources, counts, times, origins, ETag / Last-Modified
        sources/<name>.jsonl.zst    one OSV record per line, zstd (level 3, frame checksums)
        checked_at                  optional: when ``db update`` last found every feed unchanged
        ...                         whatever ``hullscan.db.index.build_index`` writes

A writer builds a new generation beside the current one (source files kept from the current
generation are hard links, files are never modified once written), fsyncs it, calls
``build_index``, then replaces ``current``: readers see the old generation or the new one, never a
partial one. Old generations are removed after the swap, except those a reader still has open:
each open :class:`Database` holds a shared ``flock`` on its generation's ``meta.json``, and the
collector skips a generation it cannot lock exclusively.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import io
import json
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import zstandard

from hullscan.cache import cache_dir as resolve_cache_dir
from hullscan.errors import DatabaseError

STORE_FORMAT = 1
_GEN_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{8}$")
ZSTD_LEVEL = 3
#: How many warnings a source keeps in meta.json (the count of skipped records is always exact).
MAX_KEPT_WARNINGS = 50


def db_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    return resolve_cache_dir(cache_dir) / "db"


def now_utc() -> datetime:
    return datetime.now(UTC)


def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rfc3339(t: datetime) -> str:
    """Second-precision UTC time as OSV records carry it: ``2024-03-27T22:12:00Z``."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(UTC)


def _fsync_path(path: Path) -> None:
    flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """fsync every file and directory under ``root`` (deepest first), then ``root``."""
    for dirpath, _dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames:
            _fsync_path(Path(dirpath) / name)
        _fsync_path(Path(dirpath))


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a fsynced temporary file and ``os.replace``."""
    tmp = path.with_name(f".{path.name}.tmp-{secrets.token_hex(4)}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_path(path.parent)


def _safe_file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "source"


# --- metadata ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """One source of a generation: what was imported, from where, when, and how many records."""

    #: Stable name; a later import or update of a source with the same name replaces it.
    #: ``osv/<Ecosystem>``, ``alpine/<distroversion>/<repo>``, ``debian/tracker``, ``amazon/<release>``.
    name: str
    #: The importer: ``osv``, ``alpine``, ``debian`` or ``alas``.
    kind: str
    #: The URL or absolute path(s) the records came from.
    origin: str
    #: Records stored (after skipping invalid and not-affected entries).
    count: int
    imported_at: datetime
    etag: str | None = None
    last_modified: str | None = None
    #: sha256 of the origin file or download (None for a directory or several paths).
    sha256: str | None = None
    #: Files of the generation holding the records, relative to the generation directory.
    files: tuple[str, ...] = ()
    #: OSV ecosystems of the records' ``affected[].package.ecosystem``.
    ecosystems: tuple[str, ...] = ()
    #: Records or entries skipped as invalid (each with a warning, the first few kept below).
    skipped: int = 0
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "origin": self.origin,
            "count": self.count,
            "imported_at": iso(self.imported_at),
            "etag": self.etag,
            "last_modified": self.last_modified,
            "sha256": self.sha256,
            "files": list(self.files),
            "ecosystems": list(self.ecosystems),
            "skipped": self.skipped,
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SourceInfo:
        return cls(
            name=str(d["name"]),
            kind=str(d["kind"]),
            origin=str(d.get("origin", "")),
            count=int(d["count"]),
            imported_at=parse_iso(str(d["imported_at"])),
            etag=d.get("etag"),
            last_modified=d.get("last_modified"),
            sha256=d.get("sha256"),
            files=tuple(str(f) for f in d.get("files", ())),
            ecosystems=tuple(str(e) for e in d.get("ecosystems", ())),
            skipped=int(d.get("skipped", 0)),
            warnings=tuple(str(w) for w in d.get("warnings", ())),
        )


def read_meta(gen_dir: Path) -> tuple[dict[str, Any], list[SourceInfo]]:
    try:
        raw = json.loads((gen_dir / "meta.json").read_bytes())
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as e:
        raise DatabaseError(f"advisory database {gen_dir} is unreadable: {e}") from e
    try:
        if raw.get("format") != STORE_FORMAT:
            raise DatabaseError(
                f"advisory database {gen_dir} has store format {raw.get('format')!r}, this hullscan "
                f"reads {STORE_FORMAT}: run `hullscan db update` or `hullscan db import` again"
            )
        return raw, [SourceInfo.from_json(s) for s in raw["sources"]]
    except (KeyError, TypeError, ValueError) as e:
        raise DatabaseError(f"advisory database {gen_dir}/meta.json is malformed: {e}") from e


def current_generation(root: Path) -> str | None:
    try:
        text = (root / "current").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise DatabaseError(f"cannot read {root / 'current'}: {e}") from e
    if not _GEN_ID.match(text):
        raise DatabaseError(f"{root / 'current'} does not name a generation: {text[:80]!r}")
    return text


# --- reader locks ----------------------------------------------------------------------------------


def lock_generation_shared(gen_dir: Path) -> int:
    """Open ``meta.json`` and hold a shared lock on it; raises FileNotFoundError if it is gone."""
    fd = os.open(gen_dir / "meta.json", os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        if os.fstat(fd).st_nlink == 0:
            # the collector held it and removed it while this waited for the lock
            raise FileNotFoundError(f"{gen_dir} was removed")
    except OSError:
        os.close(fd)
        raise
    return fd


def collect_garbage(root: Path, keep: set[str]) -> list[str]:
    """Remove generations not in ``keep`` that no reader holds, and leftovers in ``tmp/``.
    Call with the writer lock held. Returns the removed generation ids."""
    removed: list[str] = []
    gens = root / "generations"
    if gens.is_dir():
        for d in sorted(gens.iterdir()):
            if d.name in keep:
                continue
            try:
                fd = os.open(d / "meta.json", os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                shutil.rmtree(d, ignore_errors=True)  # a generation a crashed writer left unfinished
                removed.append(d.name)
                continue
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)  # a reader still has it open: the next writer will try again
                continue
            try:
                shutil.rmtree(d, ignore_errors=True)
                removed.append(d.name)
            finally:
                os.close(fd)
    tmp = root / "tmp"
    if tmp.is_dir():
        for d in tmp.iterdir():
            if d.is_dir() and not d.is_symlink():
                shutil.rmtree(d, ignore_errors=True)
            else:
                d.unlink(missing_ok=True)
    return removed


# --- writing ---------------------------------------------------------------------------------------


class SourceWriter:
    """Appends records to one ``.jsonl.zst`` file of a generation being built."""

    def __init__(self, path: Path, keys: set[object] | None = None) -> None:
        self.path = path
        self.count = 0
        self.ecosystems: set[str] = set()
        #: Base ecosystems (``Debian`` of ``Debian:12``) every record with packages names.
        self.common_bases: set[str] | None = None
        #: Keys written (shared by the writers of one source, so de-duplication spans files).
        self._keys: set[object] = keys if keys is not None else set()
        self._fh: IO[bytes] = open(path, "xb")  # noqa: SIM115 - closed by close()
        self._zw = zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_checksum=True).stream_writer(
            self._fh, closefd=False
        )
        self._closed = False

    def add(self, record: dict[str, Any], key: object = None) -> bool:
        """Write ``record``; False (and nothing written) if ``key`` was already written."""
        if key is not None:
            if key in self._keys:
                return False
            self._keys.add(key)
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        self._zw.write(line.encode("utf-8") + b"\n")
        self.count += 1
        bases = set()
        for a in record.get("affected", ()):
            p = a.get("package")
            if p:
                self.ecosystems.add(p["ecosystem"])
                bases.add(p["ecosystem"].split(":", 1)[0])
        if bases:
            self.common_bases = bases if self.common_bases is None else self.common_bases & bases
        return True

    def rename(self, label: str) -> None:
        """Give the file a name after its source (known only once an OSV path is read)."""
        new = self.path.with_name(self.path.name.split("-", 1)[0] + f"-{_safe_file_name(label)}.jsonl.zst")
        os.replace(self.path, new)
        self.path = new

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._zw.flush(zstandard.FLUSH_FRAME)  # ends the frame; the file is ours to close
            self._fh.flush()
            os.fsync(self._fh.fileno())
        finally:
            self._fh.close()


def iter_record_file(path: Path) -> Iterator[dict[str, Any]]:
    """The records of a ``.jsonl.zst`` or plain ``.jsonl`` file."""
    with open(path, "rb") as fh:
        if path.suffix == ".zst":
            reader = zstandard.ZstdDecompressor().stream_reader(fh, read_across_frames=True, closefd=False)
            stream: IO[bytes] = io.BufferedReader(reader, buffer_size=1 << 20)
        else:
            stream = fh
        try:
            for line in stream:
                if line.strip():
                    rec: dict[str, Any] = json.loads(line)
                    yield rec
        except (zstandard.ZstdError, ValueError) as e:
            raise DatabaseError(f"advisory database file {path} is corrupt: {e}") from e


@dataclass
class PendingSource:
    """A source being written in a transaction."""

    name: str
    kind: str
    origins: list[str] = field(default_factory=list)
    writers: list[SourceWriter] = field(default_factory=list)
    etag: str | None = None
    last_modified: str | None = None
    sha256: str | None = None
    skipped: int = 0
    warnings: list[str] = field(default_factory=list)
    keys: set[object] = field(default_factory=set)


class Transaction:
    """Builds the next generation; :meth:`commit` makes it current. Use through :func:`transaction`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.previous_id = current_generation(root)
        self.previous: list[SourceInfo] = []
        if self.previous_id is not None:
            try:
                _, self.previous = read_meta(root / "generations" / self.previous_id)
            except FileNotFoundError as e:
                raise DatabaseError(
                    f"the advisory database in {root} is damaged (generation {self.previous_id} is "
                    f"missing): remove {root} and import or update again"
                ) from e
        self.id = f"{now_utc():%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"
        self.dir = root / "generations" / self.id
        (self.dir / "sources").mkdir(parents=True)
        self.pending: dict[str, PendingSource] = {}
        self.started = now_utc()
        self._n = 0
        self.committed = False

    def source(self, name: str, kind: str) -> PendingSource:
        p = self.pending.get(name)
        if p is None:
            p = self.pending[name] = PendingSource(name=name, kind=kind)
        elif p.kind != kind:
            raise DatabaseError(f"source {name} was given records of two kinds ({p.kind}, {kind})")
        return p

    def new_writer(self, label: str, keys: set[object] | None = None) -> SourceWriter:
        """A writer for a new file (add it to a source's ``writers``); records whose key is in
        ``keys`` are not written again."""
        self._n += 1
        return SourceWriter(self.dir / "sources" / f"{self._n:04d}-{_safe_file_name(label)}.jsonl.zst", keys)

    def commit(self, *, build_index: bool = True) -> str:
        """Finish the generation (previous sources not replaced are kept) and make it current."""
        from hullscan.db import index  # looked up now, so a replaced build_index is the one called

        infos: list[SourceInfo] = []
        replaced = set(self.pending)
        for old in self.previous:
            if old.name in replaced:
                continue
            files = []
            for rel in old.files:
                src = self.root / "generations" / str(self.previous_id) / rel
                self._n += 1
                dst_rel = f"sources/{self._n:04d}-{_safe_file_name(old.name)}.jsonl.zst"
                _link_or_copy(src, self.dir / dst_rel)
                files.append(dst_rel)
            infos.append(dataclasses.replace(old, files=tuple(files)))
        now = now_utc()
        for p in self.pending.values():
            for w in p.writers:
                w.close()
            ecos: set[str] = set()
            for w in p.writers:
                ecos |= w.ecosystems
            infos.append(
                SourceInfo(
                    name=p.name,
                    kind=p.kind,
                    origin=" + ".join(p.origins),
                    count=sum(w.count for w in p.writers),
                    imported_at=now,
                    etag=p.etag,
                    last_modified=p.last_modified,
                    sha256=p.sha256,
                    files=tuple(str(w.path.relative_to(self.dir)) for w in p.writers),
                    ecosystems=tuple(sorted(ecos)),
                    skipped=p.skipped,
                    warnings=tuple(p.warnings[:MAX_KEPT_WARNINGS]),
                )
            )
        infos.sort(key=lambda s: s.name)
        meta = {
            "format": STORE_FORMAT,
            "generation": self.id,
            "created_at": iso(now),
            "previous": self.previous_id,
            "sources": [s.to_json() for s in infos],
        }
        (self.dir / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        if build_index:
            try:
                index.build_index(self.dir)
            except Exception as e:
                raise DatabaseError(
                    f"building the advisory index failed, database unchanged: {type(e).__name__}: {e}"
                ) from e
        fsync_tree(self.dir)
        _fsync_path(self.dir.parent)
        write_atomic(self.root / "current", (self.id + "\n").encode())
        self.committed = True
        return self.id

    def abort(self) -> None:
        for p in self.pending.values():
            for w in p.writers:
                with contextlib.suppress(Exception):
                    w.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError as e:
        if e.errno == errno.ENOENT:
            raise DatabaseError(f"advisory database file {src} is missing") from e
        shutil.copyfile(src, dst)


@contextlib.contextmanager
def writer_lock(root: Path) -> Iterator[None]:
    """The one-writer-at-a-time lock; raises DatabaseError at once if another writer holds it."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as e:
        raise DatabaseError(f"cannot use the advisory database directory {root}: {e}") from e
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            raise DatabaseError(
                f"another `hullscan db import` or `db update` is writing {root}; try again when it ends"
            ) from e
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def transaction(root: Path) -> Iterator[Transaction]:
    """A new generation under the writer lock: committed by ``txn.commit()``, removed on any
    exception or if not committed; old generations collected after a commit."""
    with writer_lock(root):
        collect_garbage(root, keep=_keep_ids(root))
        try:
            txn = Transaction(root)
        except OSError as e:
            raise DatabaseError(f"cannot write the advisory database in {root}: {e}") from e
        try:
            yield txn
        except BaseException:
            txn.abort()
            raise
        if not txn.committed:
            txn.abort()
            return
        collect_garbage(root, keep={txn.id})


def _keep_ids(root: Path) -> set[str]:
    cur = current_generation(root)
    return {cur} if cur else set()
