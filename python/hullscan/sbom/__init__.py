"""SBOMs out (CycloneDX 1.6 / 1.5 JSON and XML, SPDX 2.3 JSON and tag-value) and in (the same, and
syft JSON); CycloneDX VDRs (:mod:`hullscan.sbom.vdr`).

Each writer builds one document model (the JSON object model: ``to_cyclonedx_dict``,
``to_spdx_dict``) and each serialisation renders it. The documents are written directly rather
than through cyclonedx-python-lib / spdx-tools: they are small and flat, the output must be
byte-for-byte deterministic (sorted components, serial number and document namespace derived from
the image, no clock unless a time is given), and the writers then add no dependency to the package
(XML through the standard library). Every document is validated against the official
schemas in the tests.
"""

from __future__ import annotations

import os
from datetime import datetime

from hullscan.model import Inventory
from hullscan.sbom.cyclonedx import render_json, to_cyclonedx_dict
from hullscan.sbom.cyclonedx_xml import render_xml
from hullscan.sbom.reader import read_sbom
from hullscan.sbom.spdx import to_spdx
from hullscan.sbom.spdx_tv import to_spdx_tag_value

FORMATS = ("cyclonedx-json", "cyclonedx-xml", "spdx-json", "spdx-tag-value")


def write(
    inv: Inventory,
    format: str = "cyclonedx-json",
    *,
    spec_version: str | None = None,
    timestamp: datetime | None = None,
) -> str:
    """The SBOM of an inventory as text in one of :data:`FORMATS`. ``spec_version``: ``1.6``
    (default) or ``1.5`` for CycloneDX; SPDX is always 2.3. ``timestamp``: recorded (and folded
    into the serial number) only when given."""
    if format in ("cyclonedx-json", "cyclonedx-xml"):
        doc = to_cyclonedx_dict(inv, spec_version=spec_version or "1.6", timestamp=timestamp)
        return render_json(doc) if format == "cyclonedx-json" else render_xml(doc)
    if format in ("spdx-json", "spdx-tag-value"):
        if spec_version not in (None, "2.3"):
            raise ValueError(f"SPDX version {spec_version} is not written (2.3 is)")
        if format == "spdx-json":
            return to_spdx(inv, timestamp=timestamp)
        return to_spdx_tag_value(inv, timestamp=timestamp)
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
