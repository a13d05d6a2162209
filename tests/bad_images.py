"""Builders for broken and hostile images, written into a test's tmp dir.

Everything here is made from Python (tarfile, gzip/zlib, json): layer tars with any entry names,
OCI image layouts and archives, docker archives, and decompression bombs that are streamed to disk
without ever holding their inflated size in memory. The builders produce *consistent* images by
default (every digest and diff_id right) and take hooks to break exactly one thing.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import struct
import tarfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"

MiB = 1 << 20
GiB = 1 << 30


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def hex_of(digest: str) -> str:
    return digest.split(":", 1)[1]


# --------------------------------------------------------------------------------------------------
# Layer tars


@dataclass(frozen=True)
class Entry:
    """One tar entry. ``kind``: file, dir, symlink, hardlink, fifo, chardev."""

    name: str
    data: bytes = b""
    kind: str = "file"
    linkname: str = ""
    mode: int = 0o644


def file(name: str, data: bytes | str = b"", mode: int = 0o644) -> Entry:
    return Entry(name, data.encode() if isinstance(data, str) else data, "file", mode=mode)


def symlink(name: str, target: str) -> Entry:
    return Entry(name, kind="symlink", linkname=target, mode=0o777)


def hardlink(name: str, target: str) -> Entry:
    return Entry(name, kind="hardlink", linkname=target)


def directory(name: str) -> Entry:
    return Entry(name, kind="dir", mode=0o755)


_TYPES = {
    "file": tarfile.REGTYPE,
    "dir": tarfile.DIRTYPE,
    "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE,
    "fifo": tarfile.FIFOTYPE,
    "chardev": tarfile.CHRTYPE,
}


def tar_header(name: str, size: int, kind: str = "file", linkname: str = "") -> bytes:
    """One GNU-format header block (plus any long-name blocks) for an entry of ``size`` bytes.

    Names are written exactly as given: absolute paths and ``..`` stay in the archive.
    """
    ti = tarfile.TarInfo(name)
    ti.size = size if kind == "file" else 0
    ti.type = _TYPES[kind]
    ti.linkname = linkname
    ti.mode = 0o644
    ti.mtime = 0
    return ti.tobuf(tarfile.GNU_FORMAT, "utf-8", "surrogateescape")


def tar_bytes(entries: Iterable[Entry], *, end_marker: bool = True) -> bytes:
    """An uncompressed tar stream of ``entries`` (names kept verbatim)."""
    out = io.BytesIO()
    for e in entries:
        ti = tarfile.TarInfo(e.name)
        ti.type = _TYPES[e.kind]
        ti.size = len(e.data) if e.kind == "file" else 0
        ti.linkname = e.linkname
        ti.mode = e.mode
        ti.mtime = 0
        out.write(ti.tobuf(tarfile.GNU_FORMAT, "utf-8", "surrogateescape"))
        if ti.size:
            out.write(e.data)
            out.write(b"\0" * (-len(e.data) % 512))
    if end_marker:
        out.write(b"\0" * 1024)
    return out.getvalue()


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


@dataclass
class Layer:
    """A layer blob: its stored bytes (or a file holding them), digest and diff_id."""

    digest: str
    diff_id: str
    media_type: str = OCI_LAYER_GZIP
    data: bytes | None = None
    path: Path | None = None

    @property
    def size(self) -> int:
        if self.data is not None:
            return len(self.data)
        assert self.path is not None
        return self.path.stat().st_size

    def write_to(self, dest: Path) -> None:
        if self.data is not None:
            dest.write_bytes(self.data)
        else:
            assert self.path is not None
            os.replace(self.path, dest)
            self.path = dest


def layer(entries: Iterable[Entry], *, compress: bool = True) -> Layer:
    """A consistent layer made of ``entries`` (gzip-compressed unless ``compress`` is False)."""
    raw = tar_bytes(entries)
    if not compress:
        return Layer(sha256(raw), sha256(raw), OCI_LAYER_TAR, data=raw)
    blob = gzip_bytes(raw)
    return Layer(sha256(blob), sha256(raw), OCI_LAYER_GZIP, data=blob)


def raw_layer(blob: bytes, diff_id: str | None = None) -> Layer:
    """A layer whose blob is ``blob`` verbatim (need not be a tar); diff_id defaults to its
    sha256."""
    return Layer(sha256(blob), diff_id or sha256(blob), OCI_LAYER_GZIP, data=blob)


# --------------------------------------------------------------------------------------------------
# Streamed compressible / bomb layers


def _deflate_repeated(
    out: io.BufferedWriter, co: Any, chunk: bytes, count: int, crc: int | None
) -> int | None:
    """Deflate ``count`` copies of ``chunk`` into ``out``.

    After a full flush the compressor starts afresh, so every copy of the chunk deflates to the
    same bytes: they are computed once and written ``count`` times. That makes gigabytes of input
    cost megabytes of output and milliseconds of CPU, without materialising the input.
    """
    out.write(co.flush(zlib.Z_FULL_FLUSH))
    unit = co.compress(chunk) + co.flush(zlib.Z_FULL_FLUSH)
    for _ in range(count):
        out.write(unit)
        if crc is not None:
            crc = zlib.crc32(chunk, crc)
    return crc


@dataclass
class StreamedGzip:
    """Writes a gzip member whose body is streamed in pieces: literal bytes and repeated chunks."""

    path: Path
    with_crc: bool = True
    _f: Any = None
    _co: Any = None
    _crc: int | None = 0
    _size: int = 0
    _sha: Any = None

    def __enter__(self) -> StreamedGzip:
        self._f = open(self.path, "wb")
        # gzip header: magic, deflate, no flags, mtime 0, xfl 2 (max compression), OS unix.
        self._f.write(b"\x1f\x8b\x08\x00" + b"\0\0\0\0" + b"\x02\x03")
        self._co = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
        self._crc = 0 if self.with_crc else None
        self._sha = hashlib.sha256() if self.with_crc else None
        return self

    def literal(self, data: bytes) -> None:
        self._f.write(self._co.compress(data))
        if self._crc is not None:
            self._crc = zlib.crc32(data, self._crc)
        if self._sha is not None:
            self._sha.update(data)
        self._size += len(data)

    def repeat(self, chunk: bytes, count: int) -> None:
        if self._sha is not None:
            for _ in range(count):
                self._sha.update(chunk)
        self._crc = _deflate_repeated(self._f, self._co, chunk, count, self._crc)
        self._size += len(chunk) * count

    @property
    def diff_id(self) -> str | None:
        return "sha256:" + self._sha.hexdigest() if self._sha is not None else None

    def __exit__(self, *exc: object) -> None:
        self._f.write(self._co.flush(zlib.Z_FINISH))
        self._f.write(struct.pack("<II", (self._crc or 0) & 0xFFFFFFFF, self._size & 0xFFFFFFFF))
        self._f.close()


#: A diff_id nothing hashes to: used for bombs, whose uncompressed sha256 would cost seconds to
#: compute here and which a reader that honours its limits never finishes reading anyway.
UNCOMPUTED_DIFF_ID = "sha256:" + "b0" * 32


def gzip_bomb_layer(
    tmp: Path, *, inflated: int = 8 * GiB, member: str = "bomb/zeros.bin", kind: str = "file"
) -> Layer:
    """A gzip layer holding one tar entry of ``inflated`` zero bytes (a few MB on disk).

    ``kind`` may be ``longname`` or ``pax``: the zeros then are the *name* of a GNU long-name entry
    or the records of a PAX extended header, which a tar reader buffers in memory before it can
    even return the entry they describe.
    """
    path = tmp / "bomb.layer"
    chunk = bytes(MiB)
    with StreamedGzip(path, with_crc=False) as g:
        if kind in ("longname", "pax"):
            ti = tarfile.TarInfo("././@LongLink" if kind == "longname" else "PaxHeaders/x")
            ti.type = tarfile.GNUTYPE_LONGNAME if kind == "longname" else tarfile.XHDTYPE
            ti.size = inflated
            g.literal(ti.tobuf(tarfile.USTAR_FORMAT))
        else:
            g.literal(tar_header(member, inflated))
        g.repeat(chunk, inflated // MiB)
        g.literal(bytes(inflated % MiB) + b"\0" * (-inflated % 512) + b"\0" * 1024)
    digest = sha256_file(path)
    return Layer(digest, UNCOMPUTED_DIFF_ID, OCI_LAYER_GZIP, path=path)


def big_file_layer(tmp: Path, name: str, block: bytes, count: int, *, extra: Iterable[Entry] = ()) -> Layer:
    """A consistent gzip layer: ``extra`` entries, then a file ``name`` of ``count`` x ``block``."""
    path = tmp / "big.layer"
    with StreamedGzip(path) as g:
        g.literal(tar_bytes(extra, end_marker=False))
        g.literal(tar_header(name, len(block) * count))
        g.repeat(block, count)
        g.literal(b"\0" * (-(len(block) * count) % 512) + b"\0" * 1024)
    diff_id = g.diff_id
    assert diff_id is not None
    return Layer(sha256_file(path), diff_id, OCI_LAYER_GZIP, path=path)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(MiB), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def sparse_entry(name: str, real_size: int, data: bytes = b"") -> bytes:
    """A GNU sparse ('S') tar entry: ``real_size`` bytes long, holding only ``data`` at offset 0."""
    hdr = bytearray(512)
    enc = name.encode()
    assert len(enc) < 100
    hdr[0 : len(enc)] = enc
    hdr[100:108] = b"0000644\0"
    hdr[108:116] = b"0000000\0"
    hdr[116:124] = b"0000000\0"
    hdr[124:136] = b"%011o\0" % len(data)
    hdr[136:148] = b"%011o\0" % 0
    hdr[156:157] = b"S"
    hdr[257:265] = b"ustar  \0"
    # Sparse map: one chunk (offset 0, len(data)); a zero-length chunk at the end gives the size.
    hdr[386:398] = b"%011o\0" % 0
    hdr[398:410] = b"%011o\0" % len(data)
    hdr[410:422] = b"%011o\0" % real_size
    hdr[422:434] = b"%011o\0" % 0
    hdr[482:483] = b"\0"  # isextended
    hdr[483:495] = b"%011o\0" % real_size
    hdr[148:156] = b" " * 8
    hdr[148:156] = b"%06o\0 " % sum(hdr)
    return bytes(hdr) + data + b"\0" * (-len(data) % 512)


# --------------------------------------------------------------------------------------------------
# OCI image layouts and archives


Json = Any
Mutator = Callable[[Json], Json]


@dataclass
class OciImage:
    root: Path
    layers: list[Layer]
    config: Json
    config_digest: str
    manifest: Json
    manifest_digest: str
    index: Json
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return f"oci-dir:{self.root}"

    def blob(self, digest: str) -> Path:
        return self.root / "blobs" / "sha256" / hex_of(digest)


def _dump(doc: Json) -> bytes:
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def config_for(layers: list[Layer], **extra: Any) -> Json:
    cfg: dict[str, Any] = {
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [lay.diff_id for lay in layers]},
        "history": [{"created_by": f"layer {i}"} for i in range(len(layers))],
    }
    cfg.update(extra)
    return cfg


def oci_layout(
    root: Path,
    layers: list[Layer],
    *,
    config: Mutator | None = None,
    manifest: Mutator | None = None,
    index: Mutator | None = None,
    config_bytes: bytes | None = None,
    manifest_bytes: bytes | None = None,
    index_bytes: bytes | None = None,
    omit_blobs: Iterable[str] = (),
) -> OciImage:
    """Write an OCI image layout at ``root``.

    Each document is built consistent, then passed through its mutator (``config`` before the
    manifest names it, ``manifest`` before the index names it), or replaced by raw bytes. Blobs
    whose digests are in ``omit_blobs`` are not written.
    """
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    omit = set(omit_blobs)

    def put(data: bytes) -> str:
        d = sha256(data)
        if d not in omit:
            (blobs / hex_of(d)).write_bytes(data)
        return d

    for lay in layers:
        if lay.digest not in omit:
            lay.write_to(blobs / hex_of(lay.digest))
    cfg = config_for(layers)
    if config is not None:
        cfg = config(cfg)
    cfg_data = config_bytes if config_bytes is not None else _dump(cfg)
    cfg_digest = put(cfg_data)
    man: Json = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": cfg_digest, "size": len(cfg_data)},
        "layers": [{"mediaType": lay.media_type, "digest": lay.digest, "size": lay.size} for lay in layers],
    }
    if manifest is not None:
        man = manifest(man)
    man_data = manifest_bytes if manifest_bytes is not None else _dump(man)
    man_digest = put(man_data)
    idx: Json = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": man_digest,
                "size": len(man_data),
                "platform": {"os": "linux", "architecture": "amd64"},
            }
        ],
    }
    if index is not None:
        idx = index(idx)
    (root / "index.json").write_bytes(index_bytes if index_bytes is not None else _dump(idx))
    return OciImage(root, layers, cfg, cfg_digest, man, man_digest, idx)


def tar_dir(src: Path, dest: Path, *, gz: bool = False) -> Path:
    """Archive the contents of ``src`` (paths relative to it) into ``dest``."""
    with tarfile.open(dest, "w:gz" if gz else "w", format=tarfile.GNU_FORMAT) as tf:
        for p in sorted(src.rglob("*")):
            tf.add(p, arcname=p.relative_to(src).as_posix(), recursive=False)
    return dest


def tar_members(dest: Path, members: Iterable[tuple[str, bytes]]) -> Path:
    """A tar archive of (name, data) members, names verbatim."""
    with open(dest, "wb") as f:
        f.write(tar_bytes(file(n, d) for n, d in members))
    return dest


def docker_archive(
    dest: Path,
    layers: list[Layer],
    *,
    manifest: Mutator | None = None,
    manifest_bytes: bytes | None = None,
    omit_manifest: bool = False,
    config: Mutator | None = None,
) -> Path:
    """A ``docker save``-style archive: ``<hex>/layer.tar`` members, ``<hex>.json`` config,
    ``manifest.json`` (unless omitted) and ``repositories``."""
    cfg = config_for(layers)
    if config is not None:
        cfg = config(cfg)
    cfg_data = _dump(cfg)
    cfg_name = hex_of(sha256(cfg_data)) + ".json"
    members: list[tuple[str, bytes]] = []
    names = []
    for lay in layers:
        name = f"{hex_of(lay.diff_id)}/layer.tar"
        data = lay.data if lay.data is not None else (lay.path.read_bytes() if lay.path else b"")
        members += [(f"{hex_of(lay.diff_id)}/VERSION", b"1.0"), (name, data)]
        names.append(name)
    members.append((cfg_name, cfg_data))
    man: Json = [{"Config": cfg_name, "RepoTags": ["bad/image:latest"], "Layers": names}]
    if manifest is not None:
        man = manifest(man)
    if not omit_manifest:
        members.append(("manifest.json", manifest_bytes if manifest_bytes is not None else _dump(man)))
    members.append(("repositories", b'{"bad/image":{"latest":"x"}}'))
    return tar_members(dest, members)


# --------------------------------------------------------------------------------------------------
# Watching the file system


def snapshot(root: Path, *, exclude: Iterable[Path] = ()) -> dict[str, tuple[int, int, int, str]]:
    """Every path under ``root`` (not following symlinks) with its mode, size and mtime (0 for
    directories) and symlink target, except paths under ``exclude``."""
    skip = [p.resolve() for p in exclude]
    out: dict[str, tuple[int, int, int, str]] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        keep = []
        for d in dirnames:
            full = (here / d).resolve() if not (here / d).is_symlink() else here / d
            if any(full == s or s in full.parents for s in skip):
                continue
            keep.append(d)
        dirnames[:] = keep
        for name in [*filenames, *keep]:
            p = here / name
            st = p.lstat()
            link = os.readlink(p) if p.is_symlink() else ""
            flat = not p.is_dir() or p.is_symlink()
            out[str(p.relative_to(root))] = (
                st.st_mode,
                st.st_size if flat else 0,
                st.st_mtime_ns if flat else 0,
                link,
            )
    return out


def walk_files(root: Path) -> Iterator[Path]:
    if root.exists():
        yield from (p for p in root.rglob("*") if p.is_file() or p.is_symlink())
