"""The compact stored form of an inventory's match queries.

For each package: the query :func:`hullscan.scan.match` asks the advisory index, as one key string
``ecosystem<TAB>name<TAB>version``, and the package reference a finding names, ``name<TAB>version
<TAB>ecosystem<TAB>purl``. Stored as zstd-compressed text (a header line, the keys one a line, NUL,
the refs one a line), so a rescan reads an image with two C-level ``split`` calls and looks its
keys up as they are: no JSON, no tuple per package; a reference is split only for a package that
has findings. Tabs, newlines, NULs and backslashes inside names are backslash-escaped.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import zstandard

from hullscan.errors import StoreError
from hullscan.model import Inventory
from hullscan.scan import query_of

MAGIC = "hsq1"
_ESC = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\x00": "\\0"}
_UNESC = {"\\": "\\", "t": "\t", "n": "\n", "0": "\x00"}
_LOCAL = threading.local()


def _esc(s: str) -> str:
    if "\\" in s or "\t" in s or "\n" in s or "\x00" in s:
        return "".join(_ESC.get(c, c) for c in s)
    return s


def unescape(s: str) -> str:
    if "\\" not in s:
        return s
    out = []
    it = iter(s)
    for c in it:
        out.append(_UNESC.get(next(it, "\\"), "") if c == "\\" else c)
    return "".join(out)


def split_fields(line: str) -> list[str]:
    """The fields of a key or ref line, unescaped."""
    return [unescape(f) for f in line.split("\t")]


@dataclass(frozen=True, slots=True)
class CompactQueries:
    keys: list[str]
    refs: list[str]
    os_owned: bool = False

    @classmethod
    def of(cls, inv: Inventory, *, os_owned: bool = False) -> CompactQueries:
        keys = []
        refs = []
        for p in inv.packages:
            eco, name, version = query_of(p) if os_owned or p.owned_by is None else ("", p.name, p.version)
            keys.append(f"{_esc(eco)}\t{_esc(name)}\t{_esc(version)}")
            refs.append(f"{_esc(p.name)}\t{_esc(p.version)}\t{_esc(p.ecosystem)}\t{_esc(p.purl)}")
        return cls(keys, refs, os_owned)

    def encode(self) -> bytes:
        text = (
            f"{MAGIC} {int(self.os_owned)} {len(self.keys)}\n"
            + "\n".join(self.keys)
            + "\x00"
            + "\n".join(self.refs)
        )
        c = getattr(_LOCAL, "c", None)
        if c is None:
            c = _LOCAL.c = zstandard.ZstdCompressor(level=3)
        return c.compress(text.encode())

    @classmethod
    def decode(cls, data: bytes) -> CompactQueries:
        d = getattr(_LOCAL, "d", None)
        if d is None:
            d = _LOCAL.d = zstandard.ZstdDecompressor()
        try:
            text = d.decompress(data).decode()
            head, _, body = text.partition("\n")
            magic, owned, count = head.split(" ")
            n = int(count)
        except (zstandard.ZstdError, UnicodeDecodeError, ValueError) as e:
            raise StoreError(f"stored match queries are corrupt: {e}") from e
        if magic != MAGIC:
            raise StoreError(f"stored match queries have an unknown format {magic!r}")
        if n == 0:
            return cls([], [], owned == "1")
        keys, sep, refs = body.partition("\x00")
        out = cls(keys.split("\n"), refs.split("\n"), owned == "1")
        if not sep or len(out.keys) != n or len(out.refs) != n:
            raise StoreError("stored match queries are corrupt: counts differ")
        return out


def compact_queries(inv: Inventory, *, os_owned: bool = False) -> CompactQueries:
    """The stored match form of an inventory (see the module docstring)."""
    return CompactQueries.of(inv, os_owned=os_owned)


__all__ = ["CompactQueries", "compact_queries", "split_fields", "unescape"]
