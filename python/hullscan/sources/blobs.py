"""Where image files live: a directory, or members of a tar archive read in place.

Nothing is extracted: a member of an uncompressed archive is addressed by its byte range, and the
Rust layer reader streams that range. A compressed archive (``docker save | gzip``) is decompressed
once into a temporary file in the cache directory (within the same limits as layers), removed when
the scan ends.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from hullscan.errors import ImageFormatError, LimitExceededError, SourceError

_DIGEST = re.compile(r"^(sha256):([0-9a-f]{64})$")
#: Largest manifest / index / config document read into memory.
MAX_DOCUMENT = 16 * 1024 * 1024
#: Most members indexed in one image archive (a docker-archive holds ~3 per layer).
MAX_ARCHIVE_MEMBERS = 100_000
#: Largest GNU long name / PAX header in an archive (the tarfile module reads them whole).
MAX_TAR_METADATA = 4 * 1024 * 1024
#: Limits on decompressing a gzip-compressed archive, as the Rust layer reader's defaults: the
#: largest inflated size, and the largest ratio once ``ARCHIVE_RATIO_FLOOR`` bytes are out.
MAX_ARCHIVE_INFLATED = 64 << 30
MAX_ARCHIVE_RATIO = 200
ARCHIVE_RATIO_FLOOR = 256 << 20

_TAR_METADATA_TYPES = {
    tarfile.GNUTYPE_LONGNAME,
    tarfile.GNUTYPE_LONGLINK,
    tarfile.XHDTYPE,
    tarfile.XGLTYPE,
    tarfile.SOLARIS_XHDTYPE,
}


class _BoundedTarInfo(tarfile.TarInfo):
    """Refuses long-name / PAX header members over ``MAX_TAR_METADATA`` before tarfile reads them
    into memory."""

    @classmethod
    def frombuf(cls, buf: bytes | bytearray, encoding: str, errors: str) -> _BoundedTarInfo:
        obj = super().frombuf(buf, encoding, errors)
        if obj.type in _TAR_METADATA_TYPES and obj.size > MAX_TAR_METADATA:
            raise LimitExceededError(
                f"archive member header of {obj.size} bytes (long name or PAX record); "
                f"at most {MAX_TAR_METADATA} are accepted"
            )
        return obj


def iter_archive(tf: tarfile.TarFile, description: str) -> Iterator[tarfile.TarInfo]:
    """The members of ``tf``, at most ``MAX_ARCHIVE_MEMBERS``, without tarfile keeping every one
    in memory."""
    count = 0
    while True:
        m = tf.next()
        # TarFile caches every member it has read (in an attribute typeshed does not declare).
        tf.members.clear()  # type: ignore[attr-defined]
        if m is None:
            return
        count += 1
        if count > MAX_ARCHIVE_MEMBERS:
            raise LimitExceededError(
                f"{description} has more than {MAX_ARCHIVE_MEMBERS} members; not an image archive"
            )
        yield m


class InflatedGzip(io.RawIOBase):
    """A gzip file's decompressed bytes, refusing decompression bombs (see the limits above)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._raw = open(path, "rb")  # noqa: SIM115 (closed in close())
        self._gz = gzip.GzipFile(fileobj=self._raw, mode="rb")
        self.total = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        n = self._gz.readinto(b)
        self.total += n
        if self.total > MAX_ARCHIVE_INFLATED:
            raise LimitExceededError(f"{self.path}: decompresses to more than {MAX_ARCHIVE_INFLATED} bytes")
        if self.total > ARCHIVE_RATIO_FLOOR:
            ratio = self.total // max(self._raw.tell(), 1)
            if ratio > MAX_ARCHIVE_RATIO:
                raise LimitExceededError(
                    f"{self.path}: compression ratio above {MAX_ARCHIVE_RATIO}:1 (decompression bomb?)"
                )
        return n

    def close(self) -> None:
        try:
            self._gz.close()
            self._raw.close()
        finally:
            super().close()


def open_archive(path: Path, description: str) -> tarfile.TarFile:
    """Open a (possibly gzip-compressed) tar archive for one streaming pass, with bounds."""
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    if gz:
        stream = io.BufferedReader(InflatedGzip(path), 1024 * 1024)
        try:
            return tarfile.open(fileobj=stream, mode="r|", tarinfo=_BoundedTarInfo)
        except BaseException:
            stream.close()
            raise
    return tarfile.open(path, "r:", tarinfo=_BoundedTarInfo)


@dataclass(frozen=True, slots=True)
class BlobLocation:
    """A blob as a byte range of a file (``length`` None: to the end)."""

    path: Path
    offset: int = 0
    length: int | None = None


def digest_path(digest: str) -> str:
    """``sha256:HEX`` -> ``blobs/sha256/HEX``; anything else is refused (a digest names a path)."""
    m = _DIGEST.fullmatch(digest)
    if m is None:
        if isinstance(digest, str) and ":" in digest and not digest.startswith("sha256:"):
            raise ImageFormatError(f"unsupported digest algorithm in {digest!r}")
        raise ImageFormatError(f"invalid digest {digest!r}")
    return f"blobs/{m.group(1)}/{m.group(2)}"


def check_digest(digest: str) -> str:
    digest_path(digest)
    return digest


def _clean(name: str) -> str | None:
    """Normalise an archive member or manifest path; None if it escapes the root."""
    parts: list[str] = []
    for p in PurePosixPath(name).parts:
        if p in ("/", ".", ""):
            continue
        if p == "..":
            if not parts:
                return None
            parts.pop()
            continue
        parts.append(p)
    return "/".join(parts) if parts else None


def layout_prefix(names: set[str] | dict[str, tuple[int, int]]) -> str:
    """The folder an archive keeps its layout in: "" at the top, or the one top-level folder that
    holds ``oci-layout`` + ``index.json`` (as ``tar -cf x.tar layout-dir`` makes)."""
    if "manifest.json" in names or "index.json" in names:
        return ""
    dirs = {n.rsplit("/", 1)[0] for n in names if n.count("/") == 1 and n.endswith("/oci-layout")}
    dirs = {d for d in dirs if f"{d}/index.json" in names}
    return dirs.pop() if len(dirs) == 1 else ""


class BlobStore:
    """Files of an image by their path inside the layout or archive."""

    description: str

    def location(self, name: str) -> BlobLocation:
        raise NotImplementedError

    def exists(self, name: str) -> bool:
        raise NotImplementedError

    def read(self, name: str, limit: int = MAX_DOCUMENT) -> bytes:
        loc = self.location(name)
        size = loc.length if loc.length is not None else loc.path.stat().st_size - loc.offset
        if size > limit:
            raise LimitExceededError(
                f"{name} in {self.description} is {size} bytes; documents are limited to {limit}"
            )
        try:
            with open(loc.path, "rb") as f:
                f.seek(loc.offset)
                data = f.read(size)
        except OSError as e:
            raise SourceError(f"cannot read {name} from {self.description}: {e}") from e
        if len(data) != size:
            raise ImageFormatError(f"{name} in {self.description} is truncated")
        return data

    def close(self) -> None:
        """Release temporary files."""


class DirStore(BlobStore):
    def __init__(self, root: Path) -> None:
        self.root = root
        self.description = str(root)

    def _resolve(self, name: str) -> Path:
        clean = _clean(name)
        if clean is None:
            raise ImageFormatError(f"path {name!r} escapes {self.description}")
        return self.root / clean

    def exists(self, name: str) -> bool:
        try:
            return self._resolve(name).is_file()
        except ImageFormatError:
            return False

    def location(self, name: str) -> BlobLocation:
        path = self._resolve(name)
        if not path.is_file():
            raise ImageFormatError(f"{self.description} has no file {name}")
        return BlobLocation(path)


class TarStore(BlobStore):
    """Members of a tar archive, indexed once by their headers (data is never copied out)."""

    def __init__(self, path: Path, tmp_root: Path | None) -> None:
        self.description = str(path)
        self._tmp: Path | None = None
        self.members: dict[str, tuple[int, int]] = {}
        with open(path, "rb") as f:
            magic = f.read(4)
        tar_path = path
        if magic[:2] == b"\x1f\x8b":
            tar_path = self._decompress(path, tmp_root)
        elif magic == b"\x28\xb5\x2f\xfd":
            raise SourceError(f"{path}: zstd-compressed archives are not supported; decompress first")
        self.path = tar_path
        try:
            with tarfile.open(tar_path, "r:", tarinfo=_BoundedTarInfo) as tf:
                for m in iter_archive(tf, str(path)):
                    if not m.isfile():
                        continue
                    clean = _clean(m.name)
                    if clean is not None:
                        self.members[clean] = (m.offset_data, m.size)
        except (tarfile.TarError, EOFError) as e:
            self.close()
            raise ImageFormatError(f"{path} is not a readable tar archive: {e}") from e
        except OSError as e:
            self.close()
            raise SourceError(f"cannot read {path}: {e}") from e
        except BaseException:
            self.close()
            raise
        self.prefix = layout_prefix(self.members)

    def _key(self, name: str) -> str | None:
        clean = _clean(name)
        if clean is None:
            return None
        return f"{self.prefix}/{clean}" if self.prefix else clean

    def _decompress(self, path: Path, tmp_root: Path | None) -> Path:
        if tmp_root is not None:
            tmp_root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix="archive-", suffix=".tar", dir=tmp_root)
        self._tmp = Path(tmp)
        try:
            with InflatedGzip(path) as src, os.fdopen(fd, "wb") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
        except (OSError, EOFError, zlib.error) as e:
            self.close()
            raise SourceError(f"{path}: cannot decompress archive: {e}") from e
        except BaseException:
            self.close()
            raise
        return self._tmp

    def exists(self, name: str) -> bool:
        key = self._key(name)
        return key is not None and key in self.members

    def location(self, name: str) -> BlobLocation:
        clean = self._key(name)
        if clean is None or clean not in self.members:
            raise ImageFormatError(f"{self.description} has no member {name}")
        offset, size = self.members[clean]
        return BlobLocation(self.path, offset, size)

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None
