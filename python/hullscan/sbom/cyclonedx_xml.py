"""CycloneDX 1.6 / 1.5 XML: the document model of :func:`~hullscan.sbom.cyclonedx.to_cyclonedx_dict`
rendered with the standard library, in the element order the official XSDs require.

Every key the model holds is rendered (a key the renderer does not know is a programming error, so
that the XML cannot silently drift from the JSON). Characters XML 1.0 cannot carry (control
characters other than tab / newline / carriage return) become U+FFFD: such names come only from
hostile images, and the document must stay well-formed."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any
from xml.parsers import expat

from hullscan.errors import SbomFormatError
from hullscan.model import Inventory
from hullscan.sbom.cyclonedx import to_cyclonedx_dict

#: Component nesting the reader walks (reader.MAX_DEPTH).
MAX_DEPTH = 32

NAMESPACE = "http://cyclonedx.org/schema/bom/{}"
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
#: Component children in the order of the XSD's component sequence (those hullscan writes).
_COMPONENT_ORDER = ("group", "name", "version", "description", "licenses", "purl", "properties")
_COMPONENT_KEYS = {"bom-ref", "type", *_COMPONENT_ORDER, "components", "evidence"}


def _clean(text: object) -> str:
    return _NOT_XML.sub("\ufffd", str(text))


class _Writer:
    def __init__(self, ns: str) -> None:
        self.ns = ns

    def el(self, parent: ET.Element, tag: str, text: object = None, **attrs: str) -> ET.Element:
        e = ET.SubElement(parent, tag, {k: _clean(v) for k, v in attrs.items()})
        if text is not None:
            e.text = _clean(text)
        return e

    def properties(self, parent: ET.Element, props: list[dict[str, str]]) -> None:
        if props:
            ps = self.el(parent, "properties")
            for p in props:
                self.el(ps, "property", p["value"], name=p["name"])

    def licenses(self, parent: ET.Element, licenses: list[dict[str, Any]]) -> None:
        ls = self.el(parent, "licenses")
        for entry in licenses:
            if "expression" in entry:
                self.el(ls, "expression", entry["expression"])
            else:
                lic = self.el(ls, "license")
                for key in ("id", "name"):
                    if key in entry["license"]:
                        self.el(lic, key, entry["license"][key])

    def component(self, parent: ET.Element, c: dict[str, Any], tag: str = "component") -> None:
        unknown = set(c) - _COMPONENT_KEYS
        assert not unknown, f"component keys the XML writer does not render: {unknown}"
        attrs = {"type": c["type"]}
        if "bom-ref" in c:
            attrs["bom-ref"] = c["bom-ref"]
        e = self.el(parent, tag, **attrs)
        for key in _COMPONENT_ORDER:
            if key not in c:
                continue
            if key == "licenses":
                self.licenses(e, c[key])
            elif key == "properties":
                self.properties(e, c[key])
            else:
                self.el(e, key, c[key])
        if c.get("components"):
            cs = self.el(e, "components")
            for child in c["components"]:
                self.component(cs, child)
        if "evidence" in c:
            ev = self.el(e, "evidence")
            occ = self.el(ev, "occurrences")
            for o in c["evidence"]["occurrences"]:
                self.el(self.el(occ, "occurrence"), "location", o["location"])


def render_xml(doc: dict[str, Any]) -> str:
    """A CycloneDX document model (as :func:`to_cyclonedx_dict` returns it) as XML text."""
    version = doc["specVersion"]
    w = _Writer(NAMESPACE.format(version))
    # Unqualified tags under a default namespace declared on the root.
    root = ET.Element(
        "bom", {"xmlns": w.ns, "serialNumber": doc["serialNumber"], "version": str(doc["version"])}
    )
    meta = doc["metadata"]
    m = w.el(root, "metadata")
    if "timestamp" in meta:
        w.el(m, "timestamp", meta["timestamp"])
    tools = w.el(w.el(m, "tools"), "components")
    for t in meta["tools"]["components"]:
        w.component(tools, t)
    w.component(m, meta["component"])
    comps = w.el(root, "components")
    for c in doc["components"]:
        w.component(comps, c)
    deps = w.el(root, "dependencies")
    for d in doc["dependencies"]:
        de = w.el(deps, "dependency", ref=d["ref"])
        for ref in d["dependsOn"]:
            w.el(de, "dependency", ref=ref)
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def to_cyclonedx_xml(inv: Inventory, *, spec_version: str = "1.6", timestamp: datetime | None = None) -> str:
    """CycloneDX XML text: the same content as :func:`~hullscan.sbom.cyclonedx.to_cyclonedx`."""
    return render_xml(to_cyclonedx_dict(inv, spec_version=spec_version, timestamp=timestamp))


#: Element nesting the XML reader accepts (a component nests in ``components`` two levels down; the
#: reader's own component bound, 32, is far below this).
MAX_XML_DEPTH = 512


def _parse(data: bytes) -> ET.Element:
    """The element tree of ``data`` from expat with DTDs refused: a DOCTYPE (internal entities, the
    billion laughs, external entities) is an :class:`SbomFormatError` before anything expands."""
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    builder = ET.TreeBuilder()
    depth = 0

    def doctype(*_: object) -> None:
        raise SbomFormatError("XML with a DOCTYPE (DTDs and entities are not read)")

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal depth
        depth += 1
        if depth > MAX_XML_DEPTH:
            raise SbomFormatError(f"XML nested deeper than {MAX_XML_DEPTH} elements")
        builder.start("{" + tag if "}" in tag else tag, attrs)

    def end(tag: str) -> None:
        nonlocal depth
        depth -= 1
        builder.end("{" + tag if "}" in tag else tag)

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    parser.ExternalEntityRefHandler = doctype  # type: ignore[assignment]
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    try:
        parser.Parse(data, True)
    except expat.ExpatError as e:
        raise SbomFormatError(f"not well-formed XML ({e})") from e
    try:
        return builder.close()
    except AssertionError as e:  # no root element
        raise SbomFormatError("XML without a root element") from e


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class _Reader:
    """CycloneDX XML elements as the JSON object model (the keys the SBOM reader uses)."""

    def __init__(self, ns: str) -> None:
        self.ns = ns

    def q(self, tag: str) -> str:
        return f"{{{self.ns}}}{tag}"

    def text(self, parent: ET.Element, tag: str) -> str | None:
        e = parent.find(self.q(tag))
        return e.text.strip() if e is not None and e.text else None

    def properties(self, parent: ET.Element) -> list[dict[str, str]]:
        return [
            {"name": p.get("name", ""), "value": p.text or ""}
            for p in parent.iterfind(f"{self.q('properties')}/{self.q('property')}")
        ]

    def component(self, e: ET.Element, depth: int) -> dict[str, Any]:
        c: dict[str, Any] = {k: v for k, v in (("type", e.get("type")), ("bom-ref", e.get("bom-ref"))) if v}
        for key in ("group", "name", "version", "description", "purl"):
            v = self.text(e, key)
            if v is not None:
                c[key] = v
        licenses: list[dict[str, Any]] = []
        for lic in e.iterfind(f"{self.q('licenses')}/*"):
            if _local(lic.tag) == "expression" and lic.text:
                licenses.append({"expression": lic.text.strip()})
            elif _local(lic.tag) == "license":
                got = {k: v for k in ("id", "name") if (v := self.text(lic, k))}
                if got:
                    licenses.append({"license": got})
        if licenses:
            c["licenses"] = licenses
        props = self.properties(e)
        if props:
            c["properties"] = props
        locations = [
            {"location": loc.text or ""}
            for loc in e.iterfind(
                f"{self.q('evidence')}/{self.q('occurrences')}/{self.q('occurrence')}/{self.q('location')}"
            )
        ]
        if locations:
            c["evidence"] = {"occurrences": locations}
        nested = e.findall(f"{self.q('components')}/{self.q('component')}")
        if nested:
            # Deeper than the reader walks: one placeholder says there was more (it warns).
            c["components"] = [self.component(n, depth + 1) for n in nested] if depth < MAX_DEPTH else [{}]
        return c


def parse_xml(data: bytes) -> dict[str, Any]:
    """CycloneDX XML (any version's namespace) as the CycloneDX JSON object model."""
    root = _parse(data)
    ns, _, name = root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
    if name != "bom" or not ns.startswith(NAMESPACE.format("")):
        raise SbomFormatError(f"XML root {_local(root.tag)[:40]!r} is not a CycloneDX bom")
    r = _Reader(ns)
    doc: dict[str, Any] = {"bomFormat": "CycloneDX", "specVersion": ns.rsplit("/", 1)[-1]}
    meta = root.find(r.q("metadata"))
    if meta is not None:
        image = meta.find(r.q("component"))
        doc["metadata"] = {"component": r.component(image, 0)} if image is not None else {}
    comps = root.find(r.q("components"))
    if comps is not None:
        doc["components"] = [r.component(c, 0) for c in comps.iterfind(r.q("component"))]
    return doc
