"""SPDX 2.3 from an inventory: the document model (:func:`to_spdx_dict`, the JSON object model) and
its JSON rendering; spdx_tv renders the same model as tag-value.

SPDX 2.3 has no free-form properties: the layer a package came from is in its ``comment``, the
files it was found in are in ``sourceInfo``; the image's layers are in the image package's
``comment``."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from hullscan._jsonfmt import dumps
from hullscan.model import Inventory
from hullscan.sbom.common import (
    TOOL,
    TOOL_VERSION,
    identity,
    image_name,
    iso,
    serial,
    sorted_packages,
    spdx_expression,
)

IMAGE_ID = "SPDXRef-Image"
OS_ID = "SPDXRef-OperatingSystem"
#: SPDX 2.3 requires a creation time: when none is given, the Unix epoch (deterministic output).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ID_CHARS = re.compile(r"[^A-Za-z0-9.-]+")


def _id(prefix: str, n: int, name: str) -> str:
    return f"SPDXRef-{prefix}-{n}-{_ID_CHARS.sub('-', name)[:64]}"


def _license_ref(text: str, n: int) -> str:
    return f"LicenseRef-{n}-{_ID_CHARS.sub('-', text)[:48].strip('-') or 'text'}"


def _ref(purl: str) -> dict[str, str]:
    return {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl}


def to_spdx_dict(inv: Inventory, *, timestamp: datetime | None = None) -> dict[str, Any]:
    """The SPDX document as its JSON object model."""
    packages = sorted_packages(inv)
    name = image_name(inv)
    uid = serial(inv, timestamp)
    layers = "; ".join(f"layer {la.index}: digest {la.digest} diff_id {la.diff_id}" for la in inv.layers)
    image: dict[str, Any] = {
        "SPDXID": IMAGE_ID,
        "name": name,
        "versionInfo": identity(inv),
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": False,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "primaryPackagePurpose": "CONTAINER" if inv.source_type != "dir" else "FILE",
        "comment": f"source: {inv.source}; type: {inv.source_type}"
        + (f"; platform: {inv.platform}" if inv.platform else "")
        + (f"; {layers}" if layers else ""),
    }
    if inv.manifest_digest and inv.manifest_digest.startswith("sha256:"):
        image["checksums"] = [{"algorithm": "SHA256", "checksumValue": inv.manifest_digest[7:]}]
    out: list[dict[str, Any]] = [image]
    rels: list[dict[str, str]] = [
        {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": IMAGE_ID}
    ]
    d = inv.distro
    if d is not None:
        out.append(
            {
                "SPDXID": OS_ID,
                "name": d.id,
                "versionInfo": d.version_id,
                "downloadLocation": "NOASSERTION",
                "filesAnalyzed": False,
                "licenseConcluded": "NOASSERTION",
                "licenseDeclared": "NOASSERTION",
                "copyrightText": "NOASSERTION",
                "primaryPackagePurpose": "OPERATING_SYSTEM",
                "description": d.pretty_name or f"{d.id} {d.version_id}",
                "comment": f"ecosystem: {d.ecosystem or ''}; codename: {d.codename or ''}; "
                f"from: {d.source_file}",
            }
        )
        rels.append({"spdxElementId": IMAGE_ID, "relationshipType": "CONTAINS", "relatedSpdxElement": OS_ID})
    first_id: dict[str, str] = {}
    ids = []
    for n, p in enumerate(packages, 1):
        sid = _id("Package", n, f"{p.kind}-{p.name}")
        ids.append(sid)
        first_id.setdefault(p.purl, sid)
    extracted: dict[str, str] = {}  # free licence text -> its LicenseRef
    for p, sid in zip(packages, ids, strict=True):
        expr = spdx_expression(p.license)
        if p.license and expr is None:
            expr = extracted.get(p.license)
            if expr is None:
                expr = _license_ref(p.license, len(extracted) + 1)
                extracted[p.license] = expr
        pkg: dict[str, Any] = {
            "SPDXID": sid,
            "name": p.name,
            "versionInfo": p.version,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": False,
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": expr or "NOASSERTION",
            "copyrightText": "NOASSERTION",
            "primaryPackagePurpose": "LIBRARY",
            "externalRefs": [_ref(p.purl)],
            "comment": f"kind: {p.kind}; ecosystem: {p.ecosystem}; layer {p.layer_index}: "
            f"digest {p.layer_digest} diff_id {p.layer_diff_id}",
        }
        if p.namespace:
            pkg["supplier"] = "NOASSERTION"
        if p.source_name:
            pkg["sourceInfo"] = f"source package: {p.source_name} {p.source_version or ''}".rstrip()
        if p.locations:
            found = "found in: " + ", ".join(p.locations)
            pkg["sourceInfo"] = (pkg["sourceInfo"] + "; " + found) if "sourceInfo" in pkg else found
        out.append(pkg)
        owner = first_id.get(p.owned_by) if p.owned_by else None
        rels.append(
            {"spdxElementId": owner or IMAGE_ID, "relationshipType": "CONTAINS", "relatedSpdxElement": sid}
        )
    doc: dict[str, Any] = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": name,
        "documentNamespace": f"urn:uuid:{uid}",
        "creationInfo": {
            "created": iso(timestamp or EPOCH),
            "creators": [f"Tool: {TOOL}-{TOOL_VERSION}"],
        },
        "documentDescribes": [IMAGE_ID],
        "packages": out,
        "relationships": rels,
    }
    if extracted:
        # Licences stated as free text ("BSD", "GPL v2"): a LicenseRef each, with the text.
        doc["hasExtractedLicensingInfos"] = [
            {"licenseId": ref, "extractedText": text, "name": text[:200]}
            for text, ref in sorted(extracted.items(), key=lambda kv: kv[1])
        ]
    return doc


def to_spdx(inv: Inventory, *, timestamp: datetime | None = None) -> str:
    """SPDX 2.3 JSON text."""
    doc = to_spdx_dict(inv, timestamp=timestamp)
    return dumps(doc, 2, lines=frozenset({"packages", "relationships", "hasExtractedLicensingInfos"})) + "\n"
