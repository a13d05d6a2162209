"""SPDX 2.3 tag-value: the document model of :func:`~hullscan.sbom.spdx.to_spdx_dict` rendered as
tag-value, and tag-value parsed back into that model (the form the SBOM reader takes).

One table maps the model's keys to tags both ways. Single-line values cannot hold a line break
(a name with one would forge the next tag), so line breaks in them become spaces; free text goes
in ``<text>...</text>``, where a literal ``</text>`` (which would end it early) is broken up."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from hullscan.errors import SbomFormatError
from hullscan.model import Inventory
from hullscan.sbom.spdx import to_spdx_dict

#: Document keys -> tags, in the order written.
_DOC = (
    ("spdxVersion", "SPDXVersion"),
    ("dataLicense", "DataLicense"),
    ("SPDXID", "SPDXID"),
    ("name", "DocumentName"),
    ("documentNamespace", "DocumentNamespace"),
)
#: Package keys -> tags (``checksums``, ``externalRefs`` and ``filesAnalyzed`` are special).
_PACKAGE = (
    ("name", "PackageName"),
    ("SPDXID", "SPDXID"),
    ("versionInfo", "PackageVersion"),
    ("supplier", "PackageSupplier"),
    ("downloadLocation", "PackageDownloadLocation"),
    ("filesAnalyzed", "FilesAnalyzed"),
    ("checksums", "PackageChecksum"),
    ("sourceInfo", "PackageSourceInfo"),
    ("licenseConcluded", "PackageLicenseConcluded"),
    ("licenseDeclared", "PackageLicenseDeclared"),
    ("copyrightText", "PackageCopyrightText"),
    ("description", "PackageDescription"),
    ("comment", "PackageComment"),
    ("externalRefs", "ExternalRef"),
    ("primaryPackagePurpose", "PrimaryPackagePurpose"),
)
_TEXT_TAGS = {"PackageSourceInfo", "PackageDescription", "PackageComment"}
_PACKAGE_TAGS = {tag: key for key, tag in _PACKAGE}
_DOC_TAGS = {tag: key for key, tag in _DOC}
MAX_LINE_TAGS = 10_000_000
#: Control characters other than tab and line breaks (a NUL, a terminal escape) become U+FFFD.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _line(value: object) -> str:
    return _CONTROL.sub("\ufffd", " ".join(str(value).splitlines())).strip() or "NOASSERTION"


def _text(value: object) -> str:
    return "<text>" + _CONTROL.sub("\ufffd", str(value)).replace("</text>", "</ text>") + "</text>"


def render_tag_value(doc: dict[str, Any]) -> str:
    """An SPDX document model (as :func:`to_spdx_dict` returns it) as tag-value text."""
    out: list[str] = ["## Document Information"]
    for key, tag in _DOC:
        out.append(f"{tag}: {_line(doc[key])}")
    out += ["", "## Creation Information"]
    for creator in doc["creationInfo"]["creators"]:
        out.append(f"Creator: {_line(creator)}")
    out.append(f"Created: {doc['creationInfo']['created']}")
    known = {k for k, _ in _PACKAGE}
    for p in doc["packages"]:
        unknown = set(p) - known
        assert not unknown, f"package keys the tag-value writer does not render: {unknown}"
        out += ["", "## Package Information"]
        for key, tag in _PACKAGE:
            if key not in p:
                continue
            v = p[key]
            if key == "filesAnalyzed":
                out.append(f"{tag}: {str(v).lower()}")
            elif key == "checksums":
                out += [f"{tag}: {c['algorithm']}: {c['checksumValue']}" for c in v]
            elif key == "externalRefs":
                out += [
                    f"{tag}: {r['referenceCategory'].replace('_', '-')} {r['referenceType']} "
                    f"{_line(r['referenceLocator']).replace(' ', '%20')}"
                    for r in v
                ]
            elif key == "primaryPackagePurpose":
                out.append(f"{tag}: {v.replace('_', '-')}")
            elif tag in _TEXT_TAGS:
                out.append(f"{tag}: {_text(v)}")
            else:
                out.append(f"{tag}: {_line(v)}")
    infos = doc.get("hasExtractedLicensingInfos") or []
    if infos:
        out += ["", "## License Information"]
    for info in infos:
        out.append(f"LicenseID: {info['licenseId']}")
        out.append(f"ExtractedText: {_text(info['extractedText'])}")
        out.append(f"LicenseName: {_line(info['name'])}")
    out += ["", "## Relationships"]
    for r in doc["relationships"]:
        out.append(f"Relationship: {r['spdxElementId']} {r['relationshipType']} {r['relatedSpdxElement']}")
    return "\n".join(out) + "\n"


def to_spdx_tag_value(inv: Inventory, *, timestamp: datetime | None = None) -> str:
    """SPDX 2.3 tag-value text: the same content as :func:`~hullscan.sbom.spdx.to_spdx`."""
    return render_tag_value(to_spdx_dict(inv, timestamp=timestamp))


_PAIR = re.compile(
    r"^[ \t]*([A-Za-z0-9]+)[ \t]*:[ \t]*(?:<text>(.*?)</text>[^\n]*|([^\n]*))", re.MULTILINE | re.DOTALL
)


def _pairs(text: str) -> list[tuple[str, str, int]]:
    """``(tag, value, offset)`` of every tag; ``<text>`` values may span lines. Between two tags only
    blank lines and ``#`` comments may stand."""
    out: list[tuple[str, str, int]] = []
    prev = 0
    for m in _PAIR.finditer(text):
        gap = text[prev : m.start()]
        if gap and not gap.isspace():
            _check_gap(text, prev, gap)
        prev = m.end()
        tag, block, line = m.groups()
        if block is not None:
            value = block.strip()
        else:
            value = line.strip()
            if value.startswith("<text>"):
                raise SbomFormatError(f"line {_lineno(text, m.start())}: <text> is never closed")
        out.append((tag, value, m.start()))
        if len(out) > MAX_LINE_TAGS:
            raise SbomFormatError(f"more than {MAX_LINE_TAGS} tags")
    rest = text[prev:]
    if rest and not rest.isspace():
        _check_gap(text, prev, rest)
    return out


def _lineno(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _check_gap(text: str, offset: int, gap: str) -> None:
    for i, line in enumerate(gap.split("\n")):
        if line.strip() and not line.lstrip().startswith("#"):
            n = _lineno(text, offset) + i
            raise SbomFormatError(f"line {n}: not an SPDX tag-value line: {line.strip()[:80]!r}")


def parse_tag_value(text: str) -> dict[str, Any]:
    """SPDX tag-value text as the SPDX JSON object model (the keys the reader uses); unknown tags
    are ignored, a malformed line is an :class:`SbomFormatError`."""
    doc: dict[str, Any] = {"packages": [], "relationships": [], "hasExtractedLicensingInfos": []}
    pkg: dict[str, Any] | None = None
    info: dict[str, Any] | None = None
    for tag, value, offset in _pairs(text):
        if tag == "PackageName":
            pkg = {"name": value}
            doc["packages"].append(pkg)
            info = None
        elif tag in ("FileName", "SnippetSPDXID"):
            pkg = info = None  # files and snippets: their tags are not a package's
        elif tag == "LicenseID":
            info = {"licenseId": value}
            doc["hasExtractedLicensingInfos"].append(info)
            pkg = None
        elif tag == "ExtractedText" and info is not None:
            info["extractedText"] = value
        elif tag == "LicenseName" and info is not None:
            info["name"] = value
        elif tag == "Relationship":
            words = value.split()
            if len(words) != 3:
                where = _lineno(text, offset)
                raise SbomFormatError(f"line {where}: relationship {value[:80]!r} is not A TYPE B")
            doc["relationships"].append(
                {"spdxElementId": words[0], "relationshipType": words[1], "relatedSpdxElement": words[2]}
            )
        elif tag == "RelationshipComment" and doc["relationships"]:
            doc["relationships"][-1]["comment"] = value
        elif pkg is not None and tag in _PACKAGE_TAGS:
            key = _PACKAGE_TAGS[tag]
            if key == "externalRefs":
                words = value.split()
                if len(words) == 3:
                    ref = {"referenceCategory": words[0], "referenceType": words[1]}
                    pkg.setdefault("externalRefs", []).append({**ref, "referenceLocator": words[2]})
            elif key == "primaryPackagePurpose":
                pkg[key] = value.replace("-", "_")
            elif key not in ("checksums", "filesAnalyzed"):
                pkg[key] = value
        elif tag in _DOC_TAGS and pkg is None and info is None:
            doc[_DOC_TAGS[tag]] = value
    if "spdxVersion" not in doc:
        raise SbomFormatError("SPDX tag-value without SPDXVersion")
    return doc
