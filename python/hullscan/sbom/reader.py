"""SBOMs in: CycloneDX JSON / XML, SPDX 2.x JSON / tag-value and syft JSON to an :class:`Inventory`.

CycloneDX XML and SPDX tag-value are first parsed into the JSON object model of their format
(:func:`~hullscan.sbom.cyclonedx_xml.parse_xml`, :func:`~hullscan.sbom.spdx_tv.parse_tag_value`), so
everything after parsing is shared.

Packages come from purls: ``pkg:deb`` / ``pkg:apk`` / ``pkg:rpm`` are the image's OS packages, in
the ecosystem of the document's operating system (or of their ``distro=`` qualifier); language
purls map to hullscan's kinds and their OSV ecosystems. The file is untrusted: its size, the
number of packages and the nesting of components are bounded; wrong types and unknown purl types
are warnings."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hullscan import _core
from hullscan.errors import LimitExceededError, SbomFormatError, SourceError
from hullscan.model import Distro, Inventory, Layer, Package
from hullscan.sbom import cyclonedx_xml, spdx_tv
from hullscan.sbom.purl import KINDS, LANGUAGE_ECOSYSTEMS, OS_KINDS, PurlError, parse

#: A 2,000-package SBOM is about 2.5 MB; JSON parsed into Python objects takes several times its size.
MAX_BYTES = 256 * 1024 * 1024
MAX_PACKAGES = 1_000_000
MAX_DEPTH = cyclonedx_xml.MAX_DEPTH
MAX_WARNINGS = 100
#: Distinct distros (``distro=`` qualifiers) resolved to an ecosystem; the rest match nowhere.
MAX_DISTROS = 64

#: The typed error, defined in hullscan.errors; importable from here as before.
__all__ = ["SbomFormatError", "read_sbom", "sniff"]


@dataclass
class _Entry:
    purl: str
    license: str | None = None
    locations: tuple[str, ...] = ()
    layer_index: int = 0
    owned_by: str | None = None
    #: The name the document gives (PyPI purls carry the normalised name only).
    name: str | None = None
    #: The source package when the document states it (a purl's ``upstream`` omits a source
    #: version when the source name is the binary's, as for Debian binNMUs).
    source_name: str | None = None
    source_version: str | None = None


@dataclass
class _Doc:
    kind: str
    entries: list[_Entry] = field(default_factory=list)
    distro_id: str | None = None
    distro_version: str | None = None
    distro_codename: str | None = None
    layers: list[Layer] = field(default_factory=list)
    manifest_digest: str | None = None
    warnings: list[str] = field(default_factory=list)


def _s(v: object) -> str | None:
    return v if isinstance(v, str) and v else None


def _list(v: object) -> list[Any]:
    return v if isinstance(v, list) else []


def _dict(v: object) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _props(obj: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in _list(obj.get("properties")):
        p = _dict(p)
        name, value = _s(p.get("name")), p.get("value")
        if name and isinstance(value, str):
            out.setdefault(name, value)
    return out


def _walk(components: list[Any], warnings: list[str]) -> Iterator[dict[str, Any]]:
    """Every component, nested ones included, without recursion."""
    stack: list[tuple[list[Any], int]] = [(components, 0)]
    while stack:
        items, depth = stack.pop()
        for c in items:
            if not isinstance(c, dict):
                warnings.append("a component that is not an object skipped")
                continue
            yield c
            nested = c.get("components")
            if isinstance(nested, list) and nested:
                if depth + 1 >= MAX_DEPTH:
                    warnings.append(f"components nested deeper than {MAX_DEPTH} skipped")
                else:
                    stack.append((nested, depth + 1))


def _cyclonedx(doc: dict[str, Any]) -> _Doc:
    out = _Doc("cyclonedx")
    meta = _dict(doc.get("metadata"))
    image = _dict(meta.get("component"))
    iprops = _props(image)
    out.manifest_digest = iprops.get("hullscan:image:manifest_digest")
    i = 0
    while f"hullscan:layer:{i}:diff_id" in iprops and i < 10_000:
        out.layers.append(
            Layer(
                index=i,
                digest=iprops.get(f"hullscan:layer:{i}:digest", ""),
                diff_id=iprops[f"hullscan:layer:{i}:diff_id"],
                media_type=iprops.get(f"hullscan:layer:{i}:media_type", ""),
            )
        )
        i += 1
    comps = doc.get("components")
    if comps is not None and not isinstance(comps, list):
        raise SbomFormatError("CycloneDX components is not a list")
    for c in _walk(_list(comps), out.warnings):
        props = _props(c)
        if c.get("type") == "operating-system":
            out.distro_id = (
                props.get("hullscan:distro:id") or props.get("syft:distro:id") or _s(c.get("name"))
            )
            out.distro_version = (
                props.get("hullscan:distro:version_id")
                or props.get("syft:distro:versionID")
                or _s(c.get("version"))
            )
            out.distro_codename = props.get("hullscan:distro:codename") or props.get(
                "syft:distro:versionCodename"
            )
            continue
        purl = _s(c.get("purl"))
        if purl is None:
            if c.get("type") in ("library", "framework", "application"):
                out.warnings.append(f"component {str(c.get('name'))[:80]!r} has no purl: skipped")
            continue
        locs = [_s(_dict(o).get("location")) for o in _list(_dict(c.get("evidence")).get("occurrences"))] or [
            v for k, v in sorted(props.items()) if k.endswith(":path") and ":location:" in k
        ]
        lic = None
        for entry in _list(c.get("licenses")):
            entry = _dict(entry)
            lic = _s(entry.get("expression")) or _s(_dict(entry.get("license")).get("id"))
            lic = lic or _s(_dict(entry.get("license")).get("name"))
            if lic:
                break
        try:
            layer = int(props.get("hullscan:layer:index", "0"))
        except ValueError:
            layer = 0
        out.entries.append(
            _Entry(
                purl,
                lic,
                tuple(x for x in locs if x),
                layer,
                props.get("hullscan:package:owned_by"),
                _s(c.get("name")),
                props.get("hullscan:package:source_name"),
                props.get("hullscan:package:source_version"),
            )
        )
    return out


def _spdx(doc: dict[str, Any]) -> _Doc:
    out = _Doc("spdx")
    pkgs = doc.get("packages")
    if pkgs is not None and not isinstance(pkgs, list):
        raise SbomFormatError("SPDX packages is not a list")
    by_id: dict[str, str] = {}
    extracted: dict[str, str] = {}
    for info in map(_dict, _list(doc.get("hasExtractedLicensingInfos"))):
        ref, text = _s(info.get("licenseId")), _s(info.get("extractedText"))
        if ref and text:
            extracted[ref] = text
    for p in _list(pkgs):
        if not isinstance(p, dict):
            out.warnings.append("an SPDX package that is not an object skipped")
            continue
        if p.get("primaryPackagePurpose") in ("OPERATING_SYSTEM", "OPERATING-SYSTEM"):
            out.distro_id, out.distro_version = _s(p.get("name")), _s(p.get("versionInfo"))
            continue
        if p.get("primaryPackagePurpose") == "CONTAINER":  # the image itself (syft: a pkg:oci purl)
            continue
        purls = [
            _s(r.get("referenceLocator"))
            for r in map(_dict, _list(p.get("externalRefs")))
            if r.get("referenceType") == "purl"
        ]
        purl = next((x for x in purls if x), None)
        if purl is None:
            continue
        src = _s(p.get("sourceInfo")) or ""
        locs: tuple[str, ...] = ()
        if "found in: " in src:
            locs = tuple(x for x in src.split("found in: ", 1)[1].split(", ") if x)
        lic = _s(p.get("licenseDeclared"))
        if lic in ("NOASSERTION", "NONE"):
            lic = None
        elif lic is not None and lic in extracted:
            lic = extracted[lic]
        sid = _s(p.get("SPDXID"))
        if sid:
            by_id[sid] = purl
        entry = _Entry(purl, lic, locs, name=_s(p.get("name")))
        if src.startswith("source package: "):
            words = src.split(";", 1)[0].split()[2:]
            entry.source_name = words[0] if words else None
            entry.source_version = words[1] if len(words) > 1 else None
        out.entries.append(entry)
    # Ownership: an OS package that CONTAINS a language package (syft writes OTHER with an
    # ownership-by-file-overlap comment for the same thing).
    owner: dict[str, str] = {}
    for r in map(_dict, _list(doc.get("relationships"))):
        a, b = _s(r.get("spdxElementId")), _s(r.get("relatedSpdxElement"))
        if a not in by_id or b not in by_id:
            continue
        rel, comment = r.get("relationshipType"), str(r.get("comment", ""))
        owns = rel == "CONTAINS" or (rel == "OTHER" and "ownership-by-file-overlap" in comment)
        if owns and _os_purl(by_id[a]) and not _os_purl(by_id[b]):
            owner.setdefault(by_id[b], by_id[a])
    for e in out.entries:
        e.owned_by = owner.get(e.purl)
    return out


def _os_purl(purl: str) -> bool:
    return purl.startswith(("pkg:apk/", "pkg:deb/", "pkg:rpm/"))


def _syft(doc: dict[str, Any]) -> _Doc:
    out = _Doc("syft")
    d = _dict(doc.get("distro"))
    out.distro_id, out.distro_version = _s(d.get("id")), _s(d.get("versionID"))
    out.distro_codename = _s(d.get("versionCodename"))
    arts = doc.get("artifacts")
    if not isinstance(arts, list):
        raise SbomFormatError("syft JSON artifacts is not a list")
    for a in arts:
        if not isinstance(a, dict):
            out.warnings.append("a syft artifact that is not an object skipped")
            continue
        purl = _s(a.get("purl"))
        if purl is None:
            continue
        locs = tuple(x for x in (_s(_dict(loc).get("path")) for loc in _list(a.get("locations"))) if x)
        lic = None
        for entry in _list(a.get("licenses")):
            lic = _s(_dict(entry).get("spdxExpression")) or _s(_dict(entry).get("value"))
            if lic:
                break
        out.entries.append(_Entry(purl, lic, locs, name=_s(a.get("name"))))
    return out


class _Ecosystems:
    """OSV ecosystems of distros, as the Rust core maps a release file (one tiny root filesystem
    per distinct distro, not per package)."""

    def __init__(self) -> None:
        self.known: dict[tuple[str, str, str | None], Distro | None] = {}

    def distro(self, id_: str, version: str, codename: str | None = None) -> Distro | None:
        key = (id_, version, codename)
        if key not in self.known:
            if len(self.known) >= MAX_DISTROS:
                return None
            self.known[key] = self._resolve(id_, version, codename)
        return self.known[key]

    @staticmethod
    def _resolve(id_: str, version: str, codename: str | None) -> Distro | None:
        safe = all(c.isalnum() or c in "._-~+:" for c in id_ + version + (codename or ""))
        if not safe or len(id_) + len(version) > 200:
            return None
        with tempfile.TemporaryDirectory(prefix="hullscan-sbom-") as tmp:
            etc = Path(tmp) / "etc"
            etc.mkdir()
            text = f"ID={id_}\nVERSION_ID={version}\n"
            if codename:
                text += f"VERSION_CODENAME={codename}\n"
            (etc / "os-release").write_text(text)
            merged = json.loads(_core.merge_layers([_core.scan_dir(tmp)]))
        d = merged.get("distro")
        if not d:
            return None
        return Distro(
            id=d["id"],
            version_id=d["version_id"],
            codename=d.get("codename"),
            ecosystem=d.get("ecosystem"),
            source_file="sbom",
        )


def _pep503(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _sniff(doc: object) -> _Doc:
    if not isinstance(doc, dict):
        raise SbomFormatError("not a JSON object")
    if doc.get("bomFormat") == "CycloneDX":
        return _cyclonedx(doc)
    if isinstance(doc.get("spdxVersion"), str):
        return _spdx(doc)
    if "artifacts" in doc and isinstance(doc.get("schema"), dict):
        return _syft(doc)
    raise SbomFormatError("neither CycloneDX JSON (bomFormat), SPDX JSON (spdxVersion) nor syft JSON")


def read_sbom(path: str | Path) -> Inventory:
    """The inventory an SBOM file describes (``hullscan.inventory("sbom:FILE")``)."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as e:
        raise SourceError(f"{p}: {e.strerror}") from e
    if size > MAX_BYTES:
        raise LimitExceededError(f"{p}: SBOM of {size} bytes, more than {MAX_BYTES}")
    data = p.read_bytes()
    try:
        parsed = _sniff(_parse(data))
    except SbomFormatError as e:
        raise SbomFormatError(f"{p}: {e}") from e
    return _assemble(f"sbom:{p}", parsed)


_TAG_VALUE = re.compile(rb"^\s*SPDXVersion:", re.MULTILINE)


def sniff(head: bytes) -> str | None:
    """The serialisation of an SBOM from its first bytes: ``json``, ``xml`` (CycloneDX XML: an
    ``<?xml`` declaration or a ``<bom`` root), ``tag-value`` (SPDX: a ``SPDXVersion:`` line) or None."""
    start = head.lstrip(b" \t\r\n\xef\xbb\xbf")
    if start.startswith(b"{"):
        return "json"
    if start.startswith((b"<?xml", b"<bom")):
        return "xml"
    if b"\0" not in head[:4096] and _TAG_VALUE.search(head[:4096]):  # text, not an archive's header
        return "tag-value"
    return None


def _parse(data: bytes) -> object:
    """The JSON object model of a document in any serialisation hullscan reads."""
    kind = sniff(data[:4096])
    if kind == "xml":
        return cyclonedx_xml.parse_xml(data)
    if kind == "tag-value":
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise SbomFormatError(f"SPDX tag-value that is not UTF-8 ({e})") from e
        return spdx_tv.parse_tag_value(text)
    try:
        return json.loads(data)
    except RecursionError as e:
        raise SbomFormatError("JSON nested too deeply") from e
    except (UnicodeDecodeError, ValueError) as e:
        raise SbomFormatError(f"not JSON, CycloneDX XML or SPDX tag-value ({str(e)[:120]})") from e


def _assemble(source: str, doc: _Doc) -> Inventory:
    if len(doc.entries) > MAX_PACKAGES:
        raise LimitExceededError(f"the SBOM lists more than {MAX_PACKAGES} packages")
    warnings = doc.warnings[:MAX_WARNINGS]
    eco = _Ecosystems()
    distro = None
    if doc.distro_id and doc.distro_version:
        distro = eco.distro(doc.distro_id, doc.distro_version, doc.distro_codename)
    layers = doc.layers or [Layer(index=0, digest="", diff_id="", compression="sbom")]
    packages: list[Package] = []
    unknown: dict[str, int] = {}
    for e in doc.entries:
        try:
            pu = parse(e.purl)
        except PurlError as err:
            if len(warnings) < MAX_WARNINGS:
                warnings.append(f"purl skipped: {err}")
            continue
        kind = KINDS.get(pu.type)
        if kind is None:
            unknown[pu.type[:40]] = unknown.get(pu.type[:40], 0) + 1
            continue
        q = pu.qualifiers
        name, version = pu.name, pu.version
        namespace = None
        epoch = None
        source_name = source_version = None
        if kind in OS_KINDS:
            d = distro
            if "distro" in q:
                did, _, dver = q["distro"].rpartition("-")
                if did and dver and (distro is None or (did, dver) != (distro.id, distro.version_id)):
                    d = eco.distro(did, dver)
            if (d is None or not d.ecosystem) and len(warnings) < MAX_WARNINGS:
                warnings.append(f"{e.purl[:120]}: no known distro, so no ecosystem to match in")
            ecosystem = (d.ecosystem if d else None) or ""
            if distro is None and d is not None:
                distro = d
            if kind == "rpm" and q.get("epoch", "").isdigit():
                epoch = int(q["epoch"])
                version = f"{epoch}:{version}"
            if "upstream" in q:
                source_name, _, sv = q["upstream"].partition("@")
                source_version = sv or None
            if e.source_name:
                source_name, source_version = e.source_name, e.source_version or source_version
        else:
            ecosystem = LANGUAGE_ECOSYSTEMS[kind]
            if kind == "python" and e.name and _pep503(e.name) == name:
                name = e.name
            if kind == "java-archive":
                namespace = pu.namespace
            elif pu.namespace:
                name = f"{pu.namespace}/{name}"
            if kind == "go-module" and name == "stdlib" and not version.startswith("go"):
                version = "go" + version
        li = e.layer_index if 0 <= e.layer_index < len(layers) else 0
        packages.append(
            Package(
                name=name,
                version=version,
                ecosystem=ecosystem,
                purl=e.purl,
                kind=kind,
                epoch=epoch,
                source_name=source_name,
                source_version=source_version,
                arch=q.get("arch"),
                license=e.license,
                namespace=namespace,
                layer_index=li,
                layer_diff_id=layers[li].diff_id,
                layer_digest=layers[li].digest,
                locations=e.locations,
                owned_by=e.owned_by,
            )
        )
    for ty, n in sorted(unknown.items()):
        warnings.append(f"{n} package(s) of purl type {ty!r} skipped: no ecosystem hullscan matches")
    return Inventory(
        source=source,
        source_type="sbom",
        distro=distro,
        layers=tuple(layers),
        packages=tuple(packages),
        warnings=tuple(warnings),
        manifest_digest=doc.manifest_digest,
    )


def read_sbom_bytes(data: bytes, source: str) -> Inventory:
    """The inventory of an SBOM held in memory (one fetched from a registry), read exactly as
    :func:`read_sbom` reads a file; ``source`` names it in the inventory and in messages."""
    import dataclasses

    from hullscan.errors import HullscanError

    if len(data) > MAX_BYTES:
        raise LimitExceededError(f"{source}: SBOM of {len(data)} bytes, more than {MAX_BYTES}")
    with tempfile.TemporaryDirectory(prefix="hullscan-sbom-") as tmp:
        path = Path(tmp) / "sbom"
        path.write_bytes(data)
        try:
            inv = read_sbom(path)
        except HullscanError as e:
            raise type(e)(str(e).replace(str(path), source)) from None
    return dataclasses.replace(inv, source=source)
