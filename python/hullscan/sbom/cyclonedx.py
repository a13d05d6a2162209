"""CycloneDX 1.6 / 1.5 from an inventory: the document model (:func:`to_cyclonedx_dict`, the JSON
object model) and its JSON rendering; cyclonedx_xml renders the same model as XML."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hullscan._jsonfmt import dumps
from hullscan.model import Inventory, Package
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

SPEC_VERSIONS = ("1.5", "1.6")
IMAGE_REF = "image"
OS_REF = "os"


def _prop(name: str, value: object) -> dict[str, str]:
    return {"name": name, "value": str(value)}


def _licenses(text: str | None) -> list[dict[str, Any]]:
    if not text:
        return []
    expr = spdx_expression(text)
    if expr is not None:
        return [{"expression": expr}]
    return [{"license": {"name": text}}]


def _component(p: Package, ref: str) -> dict[str, Any]:
    c: dict[str, Any] = {
        "bom-ref": ref,
        "type": "library",
        "name": p.name,
        "version": p.version,
    }
    if p.namespace:
        c["group"] = p.namespace
    lic = _licenses(p.license)
    if lic:
        c["licenses"] = lic
    c["purl"] = p.purl
    props = [
        _prop("hullscan:package:kind", p.kind),
        _prop("hullscan:package:ecosystem", p.ecosystem),
        _prop("hullscan:layer:index", p.layer_index),
    ]
    if p.layer_diff_id:
        props.append(_prop("hullscan:layer:diff_id", p.layer_diff_id))
    if p.layer_digest:
        props.append(_prop("hullscan:layer:digest", p.layer_digest))
    if p.source_name:
        props.append(_prop("hullscan:package:source_name", p.source_name))
    if p.source_version:
        props.append(_prop("hullscan:package:source_version", p.source_version))
    for i, loc in enumerate(p.locations):
        props.append(_prop(f"hullscan:location:{i}:path", loc))
    if p.owned_by:
        props.append(_prop("hullscan:package:owned_by", p.owned_by))
    c["properties"] = props
    if p.locations:
        c["evidence"] = {"occurrences": [{"location": loc} for loc in p.locations]}
    return c


def refs(packages: list[Package]) -> list[str]:
    """One unique bom-ref per package: its purl, with ``#2``, ``#3`` ... for repeats."""
    seen: dict[str, int] = {}
    out = []
    for p in packages:
        n = seen.get(p.purl, 0) + 1
        seen[p.purl] = n
        out.append(p.purl if n == 1 else f"{p.purl}#{n}")
    return out


def to_cyclonedx_dict(
    inv: Inventory, *, spec_version: str = "1.6", timestamp: datetime | None = None
) -> dict[str, Any]:
    """The CycloneDX document as its JSON object model."""
    if spec_version not in SPEC_VERSIONS:
        raise ValueError(f"CycloneDX {spec_version} is not written (one of {', '.join(SPEC_VERSIONS)})")
    packages = sorted_packages(inv)
    bom_refs = refs(packages)
    image: dict[str, Any] = {
        "bom-ref": IMAGE_REF,
        "type": "container" if inv.source_type != "dir" else "file",
        "name": image_name(inv),
        "version": identity(inv),
    }
    mprops = [_prop("hullscan:source", inv.source), _prop("hullscan:source_type", inv.source_type)]
    if inv.manifest_digest:
        mprops.append(_prop("hullscan:image:manifest_digest", inv.manifest_digest))
    if inv.config_digest:
        mprops.append(_prop("hullscan:image:config_digest", inv.config_digest))
    if inv.platform:
        mprops.append(_prop("hullscan:image:platform", inv.platform))
    for tag in inv.repo_tags:
        mprops.append(_prop("hullscan:image:tag", tag))
    for layer in inv.layers:
        mprops.append(_prop(f"hullscan:layer:{layer.index}:digest", layer.digest))
        mprops.append(_prop(f"hullscan:layer:{layer.index}:diff_id", layer.diff_id))
        if layer.media_type:
            mprops.append(_prop(f"hullscan:layer:{layer.index}:media_type", layer.media_type))
        if layer.size:
            mprops.append(_prop(f"hullscan:layer:{layer.index}:size", layer.size))
    image["properties"] = mprops
    metadata: dict[str, Any] = {}
    if timestamp is not None:
        metadata["timestamp"] = iso(timestamp)
    metadata["tools"] = {"components": [{"type": "application", "name": TOOL, "version": TOOL_VERSION}]}
    metadata["component"] = image
    components: list[dict[str, Any]] = []
    top: list[str] = []
    d = inv.distro
    if d is not None:
        osc: dict[str, Any] = {
            "bom-ref": OS_REF,
            "type": "operating-system",
            "name": d.id,
            "version": d.version_id,
        }
        if d.pretty_name:
            osc["description"] = d.pretty_name
        oprops = [_prop("hullscan:distro:id", d.id), _prop("hullscan:distro:version_id", d.version_id)]
        if d.codename:
            oprops.append(_prop("hullscan:distro:codename", d.codename))
        if d.ecosystem:
            oprops.append(_prop("hullscan:distro:ecosystem", d.ecosystem))
        if d.source_file:
            oprops.append(_prop("hullscan:distro:source_file", d.source_file))
        osc["properties"] = oprops
        components.append(osc)
        top.append(OS_REF)
    by_purl: dict[str, str] = {}
    for p, ref in zip(packages, bom_refs, strict=True):
        by_purl.setdefault(p.purl, ref)
    children: dict[str, list[str]] = {}
    for p, ref in zip(packages, bom_refs, strict=True):
        components.append(_component(p, ref))
        owner = by_purl.get(p.owned_by) if p.owned_by else None
        if owner is not None:
            children.setdefault(owner, []).append(ref)
        else:
            top.append(ref)
    # The image contains its OS and the packages no other package installed; an OS package
    # contains the language packages it installed (syft's ownership-by-file-overlap).
    deps = [{"ref": IMAGE_REF, "dependsOn": top}]
    if d is not None:
        deps.append({"ref": OS_REF, "dependsOn": []})
    for ref in bom_refs:
        deps.append({"ref": ref, "dependsOn": children.get(ref, [])})
    doc: dict[str, Any] = {
        "$schema": f"http://cyclonedx.org/schema/bom-{spec_version}.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": spec_version,
        "serialNumber": serial(inv, timestamp).urn,
        "version": 1,
        "metadata": metadata,
        "components": components,
        "dependencies": deps,
    }
    return doc


def render_json(doc: dict[str, Any]) -> str:
    # Pretty down to the document's sections, one component / dependency / vulnerability a line.
    return dumps(doc, 2, lines=frozenset({"components", "dependencies", "vulnerabilities"})) + "\n"


def to_cyclonedx(inv: Inventory, *, spec_version: str = "1.6", timestamp: datetime | None = None) -> str:
    """CycloneDX JSON text."""
    return render_json(to_cyclonedx_dict(inv, spec_version=spec_version, timestamp=timestamp))
