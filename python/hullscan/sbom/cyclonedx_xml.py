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


def _text(value: object) -> str:
    s = str(value)
    if _NOT_XML.search(s):
        s = _NOT_XML.sub("\ufffd", s)
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(value: object) -> str:
    s = _text(value).replace('"', "&quot;")
    return s.replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")


class _Writer:
    """Indented XML written line by line (ElementTree's serialiser, in Python, is several times
    slower on a 2,000-component document); every text and attribute value is escaped here."""

    def __init__(self) -> None:
        self.out: list[str] = []

    def open(self, depth: int, tag: str, **attrs: object) -> None:
        a = "".join(f' {k.replace("_", "-")}="{_attr(v)}"' for k, v in attrs.items())
        self.out.append(f"{'  ' * depth}<{tag}{a}>")

    def close(self, depth: int, tag: str) -> None:
        self.out.append(f"{'  ' * depth}</{tag}>")

    def leaf(self, depth: int, tag: str, text: object, **attrs: object) -> None:
        a = "".join(f' {k}="{_attr(v)}"' for k, v in attrs.items())
        self.out.append(f"{'  ' * depth}<{tag}{a}>{_text(text)}</{tag}>")

    def properties(self, d: int, props: list[dict[str, str]]) -> None:
        if props:
            self.open(d, "properties")
            for p in props:
                self.leaf(d + 1, "property", p["value"], name=p["name"])
            self.close(d, "properties")

    def licenses(self, d: int, licenses: list[dict[str, Any]]) -> None:
        self.open(d, "licenses")
        for entry in licenses:
            if "expression" in entry:
                self.leaf(d + 1, "expression", entry["expression"])
            else:
                self.open(d + 1, "license")
                for key in ("id", "name"):
                    if key in entry["license"]:
                        self.leaf(d + 2, key, entry["license"][key])
                self.close(d + 1, "license")
        self.close(d, "licenses")

    def component(self, d: int, c: dict[str, Any]) -> None:
        unknown = set(c) - _COMPONENT_KEYS
        assert not unknown, f"component keys the XML writer does not render: {unknown}"
        if "bom-ref" in c:
            self.open(d, "component", type=c["type"], bom_ref=c["bom-ref"])
        else:
            self.open(d, "component", type=c["type"])
        for key in _COMPONENT_ORDER:
            if key not in c:
                continue
            if key == "licenses":
                self.licenses(d + 1, c[key])
            elif key == "properties":
                self.properties(d + 1, c[key])
            else:
                self.leaf(d + 1, key, c[key])
        if c.get("components"):
            self.open(d + 1, "components")
            for child in c["components"]:
                self.component(d + 2, child)
            self.close(d + 1, "components")
        if "evidence" in c:
            self.open(d + 1, "evidence")
            self.open(d + 2, "occurrences")
            for o in c["evidence"]["occurrences"]:
                self.open(d + 3, "occurrence")
                self.leaf(d + 4, "location", o["location"])
                self.close(d + 3, "occurrence")
            self.close(d + 2, "occurrences")
            self.close(d + 1, "evidence")
        self.close(d, "component")


def render_xml(doc: dict[str, Any]) -> str:
    """A CycloneDX document model (as :func:`to_cyclonedx_dict` returns it) as XML text."""
    w = _Writer()
    w.out.append('<?xml version="1.0" encoding="UTF-8"?>')
    ns = NAMESPACE.format(doc["specVersion"])
    w.open(0, "bom", xmlns=ns, serialNumber=doc["serialNumber"], version=doc["version"])
    meta = doc["metadata"]
    w.open(1, "metadata")
    if "timestamp" in meta:
        w.leaf(2, "timestamp", meta["timestamp"])
    w.open(2, "tools")
    w.open(3, "components")
    for t in meta["tools"]["components"]:
        w.component(4, t)
    w.close(3, "components")
    w.close(2, "tools")
    w.component(2, meta["component"])
    w.close(1, "metadata")
    w.open(1, "components")
    for c in doc["components"]:
        w.component(2, c)
    w.close(1, "components")
    w.open(1, "dependencies")
    for dep in doc["dependencies"]:
        if dep["dependsOn"]:
            w.open(2, "dependency", ref=dep["ref"])
            w.out.extend(f'      <dependency ref="{_attr(ref)}"/>' for ref in dep["dependsOn"])
            w.close(2, "dependency")
        else:
            w.out.append(f'    <dependency ref="{_attr(dep["ref"])}"/>')
    w.close(1, "dependencies")
    w.close(0, "bom")
    return "\n".join(w.out) + "\n"


def to_cyclonedx_xml(inv: Inventory, *, spec_version: str = "1.6", timestamp: datetime | None = None) -> str:
    """CycloneDX XML text: the same content as :func:`~hullscan.sbom.cyclonedx.to_cyclonedx`."""
    return render_xml(to_cyclonedx_dict(inv, spec_version=spec_version, timestamp=timestamp))


_LEAVES = ("group", "name", "version", "description", "purl")
_READ_TAGS = (
    *_LEAVES,
    *("licenses", "license", "expression", "id", "properties", "property", "evidence", "occurrences"),
    *("location", "components", "component", "metadata"),
)
#: Element nesting the XML reader accepts (a component nests in ``components`` two levels down; the
#: reader's own component bound, 32, is far below this).
MAX_XML_DEPTH = 512


def _parse(data: bytes) -> ET.Element:
    """The element tree of ``data``: expat feeding ElementTree's C tree builder directly (faster than
    ``ET.fromstring``), with DTDs refused: a DOCTYPE or entity declaration (the billion laughs,
    external entities) stops the parse with an :class:`SbomFormatError` before anything expands.
    Tags are ``NAMESPACE}local``. The nesting is bounded."""
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    builder = ET.TreeBuilder()

    def refuse(*_: object) -> None:
        raise SbomFormatError("XML with a DOCTYPE (DTDs and entities are not read)")

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    try:
        parser.Parse(data, True)
        root = builder.close()
    except expat.ExpatError as e:
        raise SbomFormatError(f"not well-formed XML ({e})") from e
    except AssertionError as e:  # the builder saw no root element
        raise SbomFormatError("XML without a root element") from e
    level: list[ET.Element] = [root]
    for _ in range(MAX_XML_DEPTH):
        level = [child for e in level for child in e]
        if not level:
            return root
    raise SbomFormatError(f"XML nested deeper than {MAX_XML_DEPTH} elements")


class _Reader:
    """CycloneDX XML elements as the JSON object model (the keys the SBOM reader uses). Children
    are matched by their qualified tag in one pass over each element (no path queries)."""

    def __init__(self, ns: str) -> None:
        self.ns = ns
        self.tags = {self.q(t): t for t in _READ_TAGS}

    def q(self, tag: str) -> str:
        return f"{self.ns}}}{tag}"

    def component(self, e: ET.Element, depth: int) -> dict[str, Any]:
        c: dict[str, Any] = {k: v for k, v in (("type", e.get("type")), ("bom-ref", e.get("bom-ref"))) if v}
        tags = self.tags
        for child in e:
            tag = tags.get(child.tag)
            if tag in _LEAVES:
                if child.text and child.text.strip():
                    c.setdefault(tag, child.text.strip())
            elif tag == "licenses":
                licenses = self.licenses(child)
                if licenses:
                    c.setdefault("licenses", licenses)
            elif tag == "properties":
                props = [
                    {"name": p.get("name", ""), "value": p.text or ""}
                    for p in child
                    if tags.get(p.tag) == "property"
                ]
                if props:
                    c.setdefault("properties", props)
            elif tag == "evidence":
                locations = [
                    {"location": loc.text or ""}
                    for occs in child
                    if tags.get(occs.tag) == "occurrences"
                    for occ in occs
                    for loc in occ
                    if tags.get(loc.tag) == "location"
                ]
                if locations:
                    c.setdefault("evidence", {"occurrences": locations})
            elif tag == "components":
                nested = [n for n in child if tags.get(n.tag) == "component"]
                if nested:
                    # Deeper than the reader walks: one placeholder says there was more (it warns).
                    c["components"] = (
                        [self.component(n, depth + 1) for n in nested] if depth < MAX_DEPTH else [{}]
                    )
        return c

    def licenses(self, e: ET.Element) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for lic in e:
            tag = self.tags.get(lic.tag)
            if tag == "expression" and lic.text:
                out.append({"expression": lic.text.strip()})
            elif tag == "license":
                got = {
                    self.tags[x.tag]: x.text.strip()
                    for x in lic
                    if self.tags.get(x.tag) in ("id", "name") and x.text
                }
                if got:
                    out.append({"license": got})
        return out


def _child(e: ET.Element, tag: str) -> ET.Element | None:
    return next((c for c in e if c.tag == tag), None)


def parse_xml(data: bytes) -> dict[str, Any]:
    """CycloneDX XML (any version's namespace) as the CycloneDX JSON object model."""
    root = _parse(data)
    ns, _, name = root.tag.rpartition("}")
    if name != "bom" or not ns.startswith(NAMESPACE.format("")):
        raise SbomFormatError(f"XML root {name[:40]!r} is not a CycloneDX bom")
    r = _Reader(ns)
    doc: dict[str, Any] = {"bomFormat": "CycloneDX", "specVersion": ns.rsplit("/", 1)[-1]}
    meta = _child(root, r.q("metadata"))
    if meta is not None:
        image = _child(meta, r.q("component"))
        doc["metadata"] = {"component": r.component(image, 0)} if image is not None else {}
    comps = _child(root, r.q("components"))
    if comps is not None:
        doc["components"] = [r.component(c, 0) for c in comps if c.tag == r.q("component")]
    return doc
