"""Where image files live: a directory, or members of a tar archive read in place.

Nothing is extracted: a member of an uncompressed archive is addressed by its byte range, and the Rust
layer reader streams that range. A compressed archive (``docker save | gzip``) is decompressed once into
a temporary file in the cache directory, removed when the scan ends.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from hullscan.errors import ImageFormatError, LimitExceededError, SourceError

_DIGEST = re.compile(r"^(sha256):([0-9a-f]{64})$")
#: Largest manifest / index / config document read into memory.
MAX_DOCUMENT = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class BlobLocation:
    """A blob as a byte range of a file (``length`` None: to the end)."""

    path: Path
    offset: int = 0
    length: int | None = None


def digest_path(digest: str) -> str:
    """``sha256:HEX`` -> ``blobs/sha256/HEX``; anything else is refused (a digest names a path)."""
    m = _DIGEST.match(digest)
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
            with tarfile.open(tar_path, "r:") as tf:
                for m in tf:
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
            with gzip.open(path, "rb") as src, os.fdopen(fd, "wb") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
        except (OSError, EOFError, gzip.BadGzipFile) as e:
            self.close()
            raise SourceError(f"{path}: cannot decompress archive: {e}") from e
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
