"""What the CycloneDX and SPDX writers share: ordering, identities, licences."""

from __future__ import annotations

import functools
import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

from hullscan import __version__
from hullscan.model import Inventory, Package

TOOL = "hullscan"
TOOL_VERSION = __version__
#: A namespace of hullscan's own for the name-based (v5) UUIDs of serial numbers.
NAMESPACE = uuid.UUID("6d0c3f1e-5b1a-4c52-9a55-3f3f0e0b5e11")


def sorted_packages(inv: Inventory) -> list[Package]:
    return sorted(inv.packages, key=lambda p: (p.purl, p.name, p.version, p.kind, p.locations))


def identity(inv: Inventory) -> str:
    """What names the image: its manifest digest, else config digest, else a digest of its
    package list (a root filesystem has no digest of its own)."""
    if inv.manifest_digest:
        return inv.manifest_digest
    if inv.config_digest:
        return inv.config_digest
    h = hashlib.sha256()
    for p in sorted_packages(inv):
        h.update(f"{p.purl}\0{'|'.join(p.locations)}\n".encode())
    return "sha256:" + h.hexdigest()


def serial(inv: Inventory, timestamp: datetime | None) -> uuid.UUID:
    seed = identity(inv) + ("@" + iso(timestamp) if timestamp is not None else "")
    return uuid.uuid5(NAMESPACE, seed)


def iso(ts: datetime) -> str:
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@functools.cache
def _licensing() -> Any:
    from license_expression import get_spdx_licensing

    return get_spdx_licensing()


@functools.lru_cache(maxsize=4096)
def spdx_expression(text: str | None) -> str | None:
    """``text`` as a valid SPDX licence expression of the SPDX licence list (normalised:
    ``LGPL-2.1+`` is ``LGPL-2.1-or-later``), else None (``BSD``, ``GPL v2``: free text)."""
    if not text or len(text) > 1000:
        return None
    try:
        info = _licensing().validate(text)
    except Exception:
        return None
    if info.errors or not info.normalized_expression:
        return None
    return str(info.normalized_expression)


def image_name(inv: Inventory) -> str:
    return inv.repo_tags[0] if inv.repo_tags else inv.source


def owners(inv: Inventory) -> dict[str, list[Package]]:
    """OS package purl -> the language packages it installed."""
    out: dict[str, list[Package]] = {}
    for p in sorted_packages(inv):
        if p.owned_by:
            out.setdefault(p.owned_by, []).append(p)
    return out
