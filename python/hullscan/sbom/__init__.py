"""SBOMs out (CycloneDX 1.6 / 1.5 JSON, SPDX 2.3 JSON) and in (CycloneDX, SPDX and syft JSON).

The JSON is written directly rather than through cyclonedx-python-lib / spdx-tools: the documents
are small and flat, the output must be byte-for-byte deterministic (sorted components, serial
number and document namespace derived from the image, no clock unless a time is given), and the
writer then adds no dependency to the package. Every document is validated against the official
schemas in the tests.
"""

from __future__ import annotations

import os
from datetime import datetime

from hullscan.model import Inventory
from hullscan.sbom.cyclonedx import to_cyclonedx
from hullscan.sbom.reader import read_sbom
from hullscan.sbom.spdx import to_spdx

FORMATS = ("cyclonedx-json", "spdx-json")


def write(
    inv: Inventory,
    format: str = "cyclonedx-json",
    *,
    spec_version: str | None = None,
    timestamp: datetime | None = None,
) -> str:
    """The SBOM of an inventory as JSON text. ``spec_version``: ``1.6`` (default) or ``1.5`` for
    CycloneDX; SPDX is always 2.3. ``timestamp``: recorded (and folded into the serial number)
    only when given."""
    if format == "cyclonedx-json":
        return to_cyclonedx(inv, spec_version=spec_version or "1.6", timestamp=timestamp)
    if format == "spdx-json":
        if spec_version not in (None, "2.3"):
            raise ValueError(f"SPDX version {spec_version} is not written (2.3 is)")
        return to_spdx(inv, timestamp=timestamp)
    raise ValueError(f"unknown SBOM format {format!r} (one of {', '.join(FORMATS)})")


def sbom(
    source: str | os.PathLike[str],
    format: str = "cyclonedx-json",
    *,
    spec_version: str | None = None,
    timestamp: datetime | None = None,
    platform: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> str:
    """Inventory ``source`` (any source :func:`hullscan.inventory` takes) and write its SBOM."""
    from hullscan.inventory import inventory

    inv = inventory(source, platform=platform, cache_dir=cache_dir)
    return write(inv, format, spec_version=spec_version, timestamp=timestamp)


__all__ = ["FORMATS", "read_sbom", "sbom", "write"]
