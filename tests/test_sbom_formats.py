"""CycloneDX XML, SPDX tag-value and CycloneDX VDRs: every document validates with the field's own
validators (cyclonedx-python-lib's XSD / JSON schema validators, spdx-tools' parser and full
validation, the official JSON schemas); XML and tag-value carry the same content as the JSON; an
SBOM in any of the four formats scanned as ``sbom:FILE`` gives the image's findings (as does a VDR);
hostile XML / tag-value gives typed errors or warnings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import hullscan
import test_sbom
from conftest import DATA, REPO, require_tool
from hullscan.errors import SbomFormatError
from hullscan.sbom import FORMATS, write
from hullscan.sbom.common import spdx_expression
from hullscan.sbom.cyclonedx import to_cyclonedx_dict
from hullscan.sbom.cyclonedx_xml import parse_xml
from hullscan.sbom.spdx import to_spdx_dict
from hullscan.sbom.spdx_tv import parse_tag_value
from hullscan.sbom.vdr import OPENVEX_JUSTIFICATIONS, to_vdr
from hullscan.scan import Epss, Kev, ScanResult, Suppression
from test_sbom import ALPINE, COVERAGE, _findings, rows, validate

# The fixtures of test_sbom.py (session-scoped: the inventories and validators built once).
inventories = test_sbom.inventories
validators = test_sbom.validators
alpine_db = test_sbom.alpine_db

NEW = [("cyclonedx-xml", "1.6"), ("cyclonedx-xml", "1.5"), ("spdx-tag-value", None)]
ALL = [("cyclonedx-json", "1.6"), ("spdx-json", None), *NEW]
SUFFIX = {"cyclonedx-json": ".json", "spdx-json": ".json", "cyclonedx-xml": ".xml", "spdx-tag-value": ".spdx"}
TS = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def xml_validate(text: str, version: str) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.xml import XmlValidator

    schema = {"1.5": SchemaVersion.V1_5, "1.6": SchemaVersion.V1_6}[version]
    error = XmlValidator(schema).validate_str(text)
    assert error is None, str(error)[:500]


def spdx_tools_parse(text: str, tmp_path: Path, name: str = "doc.spdx") -> Any:
    """spdx-tools' own parser and full validation (zero messages) of a document."""
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    path = tmp_path / name
    path.write_text(text)
    doc = parse_file(str(path))
    messages = validate_full_spdx_document(doc)
    assert not messages, [m.validation_message for m in messages[:5]]
    return doc


def _deps(xml: str) -> list[dict[str, Any]]:
    """The dependency graph of a CycloneDX XML document, read with ElementTree independently of
    hullscan's reader."""
    root = ET.fromstring(xml)
    ns = root.tag[1:].split("}")[0]
    out = []
    for d in root.iterfind(f"{{{ns}}}dependencies/{{{ns}}}dependency"):
        out.append({"ref": d.get("ref"), "dependsOn": [c.get("ref") for c in d]})
    return out


@pytest.mark.parametrize("name", ["alpine", "bookworm", "coverage"])
@pytest.mark.parametrize("version", ["1.6", "1.5"])
def test_cyclonedx_xml_valid_and_same_as_json(
    inventories: dict[str, hullscan.Inventory], name: str, version: str
) -> None:
    """Valid against the official XSD; the same components (every property, licence, occurrence),
    image, OS and dependency graph as the JSON."""
    inv = inventories[name]
    for ts in (None, TS):
        text = write(inv, "cyclonedx-xml", spec_version=version, timestamp=ts)
        xml_validate(text, version)
        model = to_cyclonedx_dict(inv, spec_version=version, timestamp=ts)
        back = parse_xml(text.encode())
        assert back["specVersion"] == version
        assert back["components"] == model["components"]
        assert back["metadata"]["component"] == model["metadata"]["component"]
        assert _deps(text) == model["dependencies"]
        root = ET.fromstring(text)
        assert root.tag == f"{{http://cyclonedx.org/schema/bom/{version}}}bom"
        assert root.get("serialNumber") == model["serialNumber"]
        stamp = root.find(f"{{http://cyclonedx.org/schema/bom/{version}}}metadata/*")
        assert stamp is not None
        assert (stamp.text if ts else None) == model["metadata"].get("timestamp")


@pytest.mark.parametrize("name", ["alpine", "bookworm", "coverage"])
def test_spdx_tag_value_valid_and_same_as_json(
    inventories: dict[str, hullscan.Inventory], name: str, tmp_path: Path
) -> None:
    """spdx-tools parses the tag-value with zero validation messages, into the same document as it
    parses the JSON into (packages, purls, relationships, licences and their extracted texts,
    creation info)."""
    inv = inventories[name]
    for ts in (None, TS):
        tv = spdx_tools_parse(write(inv, "spdx-tag-value", timestamp=ts), tmp_path)
        js = spdx_tools_parse(write(inv, "spdx-json", timestamp=ts), tmp_path, "doc.spdx.json")
        assert tv.creation_info == js.creation_info
        assert tv.packages == js.packages
        assert tv.extracted_licensing_info == js.extracted_licensing_info
        assert sorted(map(repr, tv.relationships)) == sorted(map(repr, js.relationships))
        assert len(tv.packages) == len(inv.packages) + 1 + (inv.distro is not None)
    doc = to_spdx_dict(inv)
    parsed = parse_tag_value(write(inv, "spdx-tag-value"))
    keys = ("SPDXID", "name", "versionInfo", "externalRefs", "sourceInfo", "licenseDeclared", "comment")

    def fields(p: dict[str, Any]) -> dict[str, Any]:  # text blocks are read stripped, as spdx-tools does
        return {k: p[k].strip() if isinstance(p.get(k), str) else p.get(k) for k in keys}

    assert [fields(p) for p in parsed["packages"]] == [fields(p) for p in doc["packages"]]
    assert parsed["relationships"] == doc["relationships"]
    assert parsed["hasExtractedLicensingInfos"] == doc.get("hasExtractedLicensingInfos", [])


@pytest.mark.parametrize(("fmt", "version"), NEW)
def test_deterministic(inventories: dict[str, hullscan.Inventory], fmt: str, version: str | None) -> None:
    inv = inventories["alpine"]
    a = write(inv, fmt, spec_version=version)
    assert a == write(inv, fmt, spec_version=version)
    b = write(inv, fmt, spec_version=version, timestamp=TS)
    assert a != b
    assert "2024-05-01T12:00:00Z" in b
    if fmt == "spdx-tag-value":
        assert "Created: 1970-01-01T00:00:00Z" in a


@pytest.mark.parametrize("name", ["alpine", "bookworm", "coverage"])
@pytest.mark.parametrize(("fmt", "version"), NEW)
def test_read_back_same_packages(
    inventories: dict[str, hullscan.Inventory], tmp_path: Path, name: str, fmt: str, version: str | None
) -> None:
    inv = inventories[name]
    path = tmp_path / f"sbom{SUFFIX[fmt]}"
    path.write_text(write(inv, fmt, spec_version=version))
    for source in (f"sbom:{path}", str(path)):  # a bare path is sniffed as an SBOM too
        back = hullscan.inventory(source)
        assert back.source_type == "sbom"
        assert back.warnings == ()
        assert rows(back) == rows(inv)
    if inv.distro is not None:
        assert back.distro is not None
        assert back.distro.ecosystem == inv.distro.ecosystem
    lic = {(p.purl, spdx_expression(p.license) or p.license) for p in inv.packages}
    assert {(p.purl, p.license) for p in back.packages} == lic
    owned = {(p.purl, p.owned_by) for p in inv.packages if p.owned_by}
    assert {(p.purl, p.owned_by) for p in back.packages if p.owned_by} == owned
    if fmt == "cyclonedx-xml":
        assert back.manifest_digest == inv.manifest_digest
        assert {(p.purl, p.layer_diff_id) for p in back.packages} == {
            (p.purl, p.layer_diff_id) for p in inv.packages
        }


@pytest.mark.usefixtures("alpine_db")
def test_round_trip_findings_every_format(tmp_path: Path) -> None:
    """Image -> SBOM (each of the four formats, both CycloneDX versions) -> ``scan sbom:FILE``: the
    image's findings."""
    image = hullscan.scan(f"oci-archive:{ALPINE}", offline=True)
    assert any(f.package.name == "busybox" for f in image.findings)
    inv = image.inventory
    for fmt, version in [*ALL, ("cyclonedx-json", "1.5")]:
        path = tmp_path / f"alpine-{fmt}-{version}{SUFFIX[fmt]}"
        path.write_text(write(inv, fmt, spec_version=version))
        assert _findings(hullscan.scan(f"sbom:{path}", offline=True)) == _findings(image), fmt


@pytest.mark.parametrize(("fmt", "version"), [("cyclonedx-xml", "1.6"), ("spdx-tag-value", None)])
def test_round_trip_language_findings(
    edge_fixtures: Path, tmp_path: Path, fmt: str, version: str | None
) -> None:
    """syft's coverage tree (PyPI, npm, Maven, Go, Cargo ... packages, some owned by OS packages)
    against the language advisories, through XML and tag-value."""
    from hullscan import db

    osv = DATA / "advisories/osv"
    db.import_paths([osv / e / "all.zip" for e in ("PyPI", "npm", "Maven", "Go", "crates.io")]).close()
    source = f"dir:{edge_fixtures / COVERAGE}"
    direct = hullscan.scan(source, offline=True)
    assert {f.package.ecosystem for f in direct.findings} >= {"PyPI", "Maven"}
    path = tmp_path / f"coverage{SUFFIX[fmt]}"
    path.write_text(write(direct.inventory, fmt, spec_version=version))
    assert _findings(hullscan.scan(f"sbom:{path}", offline=True)) == _findings(direct)


@pytest.mark.usefixtures("alpine_db")
@pytest.mark.parametrize("fmt", ["cyclonedx-xml", "spdx-tag-value"])
def test_syft_xml_and_tag_value_give_the_same_os_findings(tmp_path: Path, fmt: str) -> None:
    """syft's own CycloneDX XML and SPDX tag-value of the same image read as SBOMs: the same
    packages and OS findings."""
    subprocess.run(["tar", "-x", "-C", str(tmp_path), "-f", str(ALPINE)], check=True)
    out = tmp_path / f"syft{SUFFIX[fmt]}"
    r = subprocess.run(
        [require_tool("syft"), "scan", f"oci-dir:{tmp_path / 'oci-alpine'}", "-o", f"{fmt}={out}"],
        check=False,
        capture_output=True,
        text=True,
        env=dict(os.environ, SYFT_CHECK_FOR_APP_UPDATE="false"),
    )
    assert r.returncode == 0, r.stderr
    image = hullscan.scan(f"oci-archive:{ALPINE}", offline=True)
    via = hullscan.scan(f"sbom:{out}", offline=True)
    assert via.inventory.distro is not None
    assert via.inventory.distro.ecosystem == "Alpine:v3.20"
    assert {(p.name, p.version) for p in via.inventory.packages} == {
        (p.name, p.version) for p in image.inventory.packages
    }

    def key(res: hullscan.ScanResult) -> set[tuple[object, ...]]:
        return {
            (f.id, f.package.name, f.package.version, tuple(sorted(f.fixed_versions))) for f in res.findings
        }

    assert key(image)
    assert key(via) == key(image)


GOLDEN = REPO / "tests" / "golden" / "sbom"


@pytest.mark.parametrize(("fmt", "version"), NEW)
def test_golden_alpine(inventories: dict[str, hullscan.Inventory], fmt: str, version: str | None) -> None:
    """The Alpine 3.20.3 image's XML and tag-value SBOMs byte for byte (the test data path replaced
    by a placeholder). ``HULLSCAN_UPDATE_GOLDEN=1`` rewrites them; review the diff."""
    name = f"alpine-3.20.3.{fmt}" + (f"-{version}" if version else "") + (SUFFIX[fmt])
    text = write(inventories["alpine"], fmt, spec_version=version).replace(str(DATA), "${HULLSCAN_TEST_DATA}")
    path = GOLDEN / name
    if os.environ.get("HULLSCAN_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert path.is_file(), f"{path} missing: run with HULLSCAN_UPDATE_GOLDEN=1"
    assert text == path.read_text()


def test_hostile_names_cannot_break_the_documents(
    inventories: dict[str, hullscan.Inventory], tmp_path: Path
) -> None:
    """Names, versions, licences and paths from an image are attacker-controlled: control
    characters, markup, a forged tag-value line, a ``</text>`` that would end a text block early.
    The XML stays valid, the tag-value has no forged package, and both read back to as many
    packages with the same purls."""
    inv = inventories["alpine"]
    evil = [
        replace(
            p,
            name=p.name + "\x01</name><!DOCTYPE x>&amp;\nPackageName: forged",
            version=p.version + "\x1b[31m",
            license="Evil </text>\nPackageName: forged2",
            locations=(*p.locations, "/x</location>\x00\nSPDXID: SPDXRef-forged"),
        )
        for p in inv.packages
    ]
    bad = replace(inv, packages=tuple(evil))
    for version in ("1.6", "1.5"):
        text = write(bad, "cyclonedx-xml", spec_version=version)
        xml_validate(text, version)
    tv = write(bad, "spdx-tag-value")
    doc = spdx_tools_parse(tv, tmp_path)
    assert "forged" not in {p.name for p in doc.packages}
    assert len(doc.packages) == len(inv.packages) + 2
    assert not any(p.spdx_id == "SPDXRef-forged" for p in doc.packages)
    for fmt in ("cyclonedx-xml", "spdx-tag-value"):
        path = tmp_path / f"evil{SUFFIX[fmt]}"
        path.write_text(write(bad, fmt))
        back = hullscan.inventory(f"sbom:{path}")
        assert sorted(p.purl for p in back.packages) == sorted(p.purl for p in inv.packages)


def test_sbom_format_error_is_typed_and_importable_from_both_places() -> None:
    from hullscan.sbom.reader import SbomFormatError as Old

    assert Old is SbomFormatError is hullscan.errors.SbomFormatError
    assert issubclass(SbomFormatError, hullscan.SourceError)
    assert issubclass(SbomFormatError, hullscan.HullscanError)


LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE bom [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
 <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
]>
<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components><component type="library">
<name>&f;</name><purl>pkg:npm/x@1</purl></component></components></bom>
"""
XXE = """<?xml version="1.0"?>
<!DOCTYPE bom [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components><component type="library">
<name>&x;</name><purl>pkg:npm/x@1</purl></component></components></bom>
"""
BAD: list[tuple[str, str]] = [
    ("billion-laughs.xml", LAUGHS),
    ("xxe.xml", XXE),
    ("doctype-only.xml", '<?xml version="1.0"?><!DOCTYPE bom SYSTEM "http://127.0.0.1/x.dtd"><bom/>'),
    (
        "doctype-after-comments.xml",
        '<?xml version="1.0"?>\n<!-- c -->\n<?pi x?>\n<!DOCTYPE bom [<!ENTITY a "b">]>\n'
        '<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><a>&a;</a></bom>',
    ),
    ("undefined-entity.xml", '<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><a>&x;</a></bom>'),
    ("not-well-formed.xml", '<?xml version="1.0"?><bom xmlns="http://cyclonedx.org/schema/bom/1.6"><a>'),
    (
        "deep.xml",
        '<?xml version="1.0"?><bom xmlns="http://cyclonedx.org/schema/bom/1.6">'
        + "<a>" * 100_000
        + "</a>" * 100_000
        + "</bom>",
    ),
    ("not-cyclonedx.xml", '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"/>'),
    ("no-namespace.xml", "<bom><components/></bom>"),
    ("tv-bad-line.spdx", "SPDXVersion: SPDX-2.3\nthis is not a tag line\n"),
    ("tv-unclosed-text.spdx", "SPDXVersion: SPDX-2.3\nPackageName: x\nPackageComment: <text>never\nclosed\n"),
    ("tv-bad-relationship.spdx", "SPDXVersion: SPDX-2.3\nRelationship: SPDXRef-A CONTAINS\n"),
    ("tv-not-utf8.spdx", "SPDXVersion: SPDX-2.3\nPackageName: \udcff\n"),
]


@pytest.mark.parametrize(("name", "content"), BAD, ids=[b[0] for b in BAD])
def test_bad_xml_and_tag_value_typed_errors(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    with pytest.raises(SbomFormatError):
        hullscan.inventory(f"sbom:{path}")


def test_huge_xml_is_refused_before_reading(tmp_path: Path) -> None:
    from hullscan.sbom.reader import MAX_BYTES

    path = tmp_path / "huge.xml"
    with path.open("wb") as f:
        f.write(b'<?xml version="1.0"?><bom xmlns="http://cyclonedx.org/schema/bom/1.6">')
        f.truncate(MAX_BYTES + 1)  # sparse
    with pytest.raises(hullscan.LimitExceededError):
        hullscan.inventory(f"sbom:{path}")


def _xml_component(name: str, purl: str | None = None, inner: str = "") -> str:
    p = f"<purl>{purl}</purl>" if purl is not None else ""
    return f'<component type="library"><name>{name}</name>{p}{inner}</component>'


def test_hostile_xml_contents_are_warnings(tmp_path: Path) -> None:
    nested = _xml_component("deep", "pkg:npm/deep@1.0.0")
    for _ in range(200):
        nested = _xml_component("x", inner=f"<components>{nested}</components>")
    comps = [
        _xml_component("nopurl"),
        _xml_component("badpurl", "http://127.0.0.1/x"),
        _xml_component("noversion", "pkg:npm/left-pad"),
        _xml_component("unknown", "pkg:swift/github.com/apple/swift-nio@2.0.0"),
        "<component><name>notype</name><purl>pkg:npm/notype@1.0.0</purl><unknown><x/></unknown></component>",
        _xml_component(
            "lodash",
            "pkg:npm/lodash@4.17.15",
            "<licenses><license><name>MIT</name></license></licenses><properties><property>no name"
            "</property></properties><evidence><occurrences><occurrence/></occurrences></evidence>",
        ),
        _xml_component("zlib", "pkg:apk/alpine/zlib@1.3.1-r1?distro=alpine-3.20.3"),
        _xml_component("weird", "pkg:deb/debian/x@1?distro=../../etc-$(id)"),
        nested,
    ]
    path = tmp_path / "hostile.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<bom xmlns="http://cyclonedx.org/schema/bom/1.5" version="1"><components>'
        + "".join(comps)
        + "</components></bom>"
    )
    inv = hullscan.inventory(f"sbom:{path}")
    names = {(p.name, p.ecosystem) for p in inv.packages}
    assert ("lodash", "npm") in names
    assert ("notype", "npm") in names
    assert ("zlib", "Alpine:v3.20") in names
    assert ("deep", "npm") not in names  # deeper than the nesting bound
    assert ("x", "") in names  # a deb without a known distro: kept, matched nowhere, and said so
    assert {p.license for p in inv.packages if p.name == "lodash"} == {"MIT"}
    text = "\n".join(inv.warnings)
    for said in ("swift", "nested deeper", "no known distro", "does not start with pkg:", "no version"):
        assert said in text


def test_hostile_tag_value_contents_are_warnings(tmp_path: Path) -> None:
    pkgs = [
        ("ok", "pkg:npm/lodash@4.17.15"),
        ("unknown", "pkg:swift/github.com/apple/swift-nio@2.0.0"),
        ("bad", "http://127.0.0.1/x"),
        ("short", "only-two"),
    ]
    lines = ["SPDXVersion: SPDX-2.3", "UnknownTag: whatever", "FileName: ./x", "PackageVersion: 9"]
    for i, (name, purl) in enumerate(pkgs):
        lines += [f"PackageName: {name}", f"SPDXID: SPDXRef-{i}", f"ExternalRef: PACKAGE-MANAGER purl {purl}"]
    lines += [
        "PackageLicenseDeclared: LicenseRef-1",
        "LicenseID: LicenseRef-1",
        "ExtractedText: <text>a",
        "b</text>",
    ]
    lines += [
        "Relationship: SPDXRef-DOCUMENT DESCRIBES SPDXRef-nothing",
        "RelationshipComment: <text>x</text>",
    ]
    path = tmp_path / "hostile.spdx"
    path.write_text("\n".join(lines) + "\n")
    inv = hullscan.inventory(f"sbom:{path}")
    assert [(p.name, p.ecosystem, p.license) for p in inv.packages] == [("lodash", "npm", None)]
    text = "\n".join(inv.warnings)
    assert "swift" in text
    assert "does not start with pkg:" in text


@pytest.fixture(scope="session")
def coverage_scan(edge_fixtures: Path, tmp_path_factory: pytest.TempPathFactory) -> ScanResult:
    """The coverage tree scanned against PyPI / npm / Maven advisories (GHSA and PYSEC ids, CVSS 3.1
    vectors)."""
    from hullscan import db

    cache = tmp_path_factory.mktemp("vdr-cache")
    osv = DATA / "advisories/osv"
    db.import_paths([osv / e / "all.zip" for e in ("PyPI", "npm", "Maven")], cache_dir=cache).close()
    return hullscan.scan(f"dir:{edge_fixtures / COVERAGE}", offline=True, cache_dir=cache)


def _with_triage(result: ScanResult) -> ScanResult:
    """The scan with EPSS / KEV data on its first finding and three findings suppressed (a VEX
    not_affected with an OpenVEX justification, a VEX fixed, an ignore rule), as the triage code
    will fill them in."""
    first = replace(
        result.findings[0],
        epss=Epss(score=0.00383, percentile=0.73075, date="2025-02-20"),
        kev=Kev(date_added="2024-01-02", due_date="2024-01-23", known_ransomware="Unknown", name="x"),
    )
    sup = [
        Suppression("vex", "not_affected", "vulnerable_code_not_in_execute_path", "not called", "vex.json"),
        Suppression("vex", "fixed", None, "patched downstream", "vex.json"),
        Suppression("ignore", "ignored", "false positive: test-only dependency", None, ".hullscanignore"),
    ]
    rest = list(result.findings[1:])
    suppressed = tuple(replace(f, suppression=s) for f, s in zip(rest[:3], sup, strict=True))
    return replace(result, findings=(first, *rest[3:]), suppressed=suppressed)


@pytest.mark.parametrize("version", ["1.6", "1.5"])
def test_vdr_valid_and_complete(
    coverage_scan: ScanResult,
    validators: dict[str, jsonschema.protocols.Validator],
    version: str,
) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    result = _with_triage(coverage_scan)
    assert len(result.findings) >= 3
    for ts in (None, TS):
        text = to_vdr(result, spec_version=version, timestamp=ts)
        doc = json.loads(text)
        validate(validators[version], doc)
        schema = {"1.5": SchemaVersion.V1_5, "1.6": SchemaVersion.V1_6}[version]
        assert JsonStrictValidator(schema).validate_str(text) is None
    assert text == to_vdr(result, spec_version=version, timestamp=TS)
    sbom = to_cyclonedx_dict(result.inventory, spec_version=version)
    assert doc["components"] == sbom["components"]
    assert doc["serialNumber"] != sbom["serialNumber"]
    refs = {c["bom-ref"]: c for c in doc["components"]}
    vulns = doc["vulnerabilities"]
    every = [*result.findings, *result.suppressed]
    assert {(v["id"], "analysis" in v) for v in vulns} == {(f.id, f.suppression is not None) for f in every}
    pairs = {
        (v["id"], refs[a["ref"]]["purl"], a["versions"][0]["version"]) for v in vulns for a in v["affects"]
    }
    assert pairs == {(f.id, f.package.purl, f.installed_version) for f in every}
    for f in every:
        (v,) = (v for v in vulns if v["id"] == f.id and ("analysis" in v) == (f.suppression is not None))
        src = {"CVE": "NVD", "GHSA": "GitHub"}.get(f.id.split("-")[0], "OSV")
        assert v["source"]["name"] == src
        assert sorted(r["id"] for r in v.get("references", [])) == sorted(f.aliases)
        assert v.get("description") == f.summary
        (rating,) = v["ratings"]
        assert rating["severity"] == f.severity.level
        assert rating.get("score") == f.severity.score
        assert rating.get("vector") == f.severity.vector
        if f.severity.vector and f.severity.vector.startswith("CVSS:3.1/"):
            assert rating["method"] == "CVSSv31"
        if f.fixed_versions:
            assert f"Upgrade {f.package.name} to {f.fixed_versions[0]}" in v["recommendation"]
        props = {p["name"]: p["value"] for p in v["properties"]}
        assert props["hullscan:affects:0:fix_status"] == f.status
        status = v["affects"][0]["versions"][0]["status"]
        assert status == ("unaffected" if f.suppression else "affected")
    assert any(r.get("method") == "CVSSv31" for v in vulns for r in v["ratings"])
    by_state = {v["analysis"]["state"]: v["analysis"] for v in vulns if "analysis" in v}
    assert set(by_state) == {"not_affected", "resolved", "false_positive"}
    assert (
        by_state["not_affected"]["justification"]
        == OPENVEX_JUSTIFICATIONS["vulnerable_code_not_in_execute_path"]
    )
    assert "not called" in by_state["not_affected"]["detail"]
    assert "patched downstream" in by_state["resolved"]["detail"]
    first = next(v for v in vulns if v["id"] == result.findings[0].id and "analysis" not in v)
    props = {p["name"]: p["value"] for p in first["properties"]}
    assert props["hullscan:epss:score"] == "0.00383"
    assert props["hullscan:epss:percentile"] == "0.73075"
    assert props["hullscan:kev"] == "true"
    assert props["hullscan:kev:date_added"] == "2024-01-02"


def test_vdr_justifications_and_ignore_rules(coverage_scan: ScanResult) -> None:
    """Every OpenVEX justification maps to a CycloneDX one; an ignore rule without a false-positive
    reason is not_affected with the response will_not_fix."""
    f = coverage_scan.findings[0]
    for openvex, cdx in OPENVEX_JUSTIFICATIONS.items():
        s = Suppression("vex", "not_affected", openvex, None, "v.json")
        doc = json.loads(to_vdr(replace(coverage_scan, findings=(), suppressed=(replace(f, suppression=s),))))
        assert doc["vulnerabilities"][0]["analysis"]["justification"] == cdx
    s = Suppression("ignore", "ignored", "accepted risk", None, "ignore.yaml", "2030-01-01")
    doc = json.loads(to_vdr(replace(coverage_scan, findings=(), suppressed=(replace(f, suppression=s),))))
    a = doc["vulnerabilities"][0]["analysis"]
    assert a == {
        "state": "not_affected",
        "response": ["will_not_fix"],
        "detail": "ignore rule (ignored) from ignore.yaml: accepted risk (expires 2030-01-01)",
    }


@pytest.mark.usefixtures("alpine_db")
def test_vdr_of_an_image_is_an_sbom_with_the_same_findings(
    tmp_path: Path, validators: dict[str, jsonschema.protocols.Validator]
) -> None:
    """scan() of the Alpine image, its VDR, then ``scan sbom:VDR``: the same findings."""
    image = hullscan.scan(f"oci-archive:{ALPINE}", offline=True)
    assert image.findings
    text = to_vdr(image)
    doc = json.loads(text)
    validate(validators["1.6"], doc)
    assert {v["id"] for v in doc["vulnerabilities"]} == {f.id for f in image.findings}
    assert sum(len(v["affects"]) for v in doc["vulnerabilities"]) == len(image.findings)
    path = tmp_path / "alpine.vdr.json"
    path.write_text(text)
    assert _findings(hullscan.scan(f"sbom:{path}", offline=True)) == _findings(image)


@pytest.mark.usefixtures("alpine_db")
def test_cli_new_formats_then_scan(tmp_path: Path) -> None:
    """``hullscan sbom --format cyclonedx-xml|spdx-tag-value -o FILE`` then ``hullscan scan
    sbom:FILE``: the image's findings."""
    cmd = [sys.executable, "-m", "hullscan.cli"]
    env = dict(os.environ, PYTHONPATH=str(REPO / "python"))
    image = test_sbom.cli_findings(str(ALPINE))
    assert image
    assert set(FORMATS) == {"cyclonedx-json", "cyclonedx-xml", "spdx-json", "spdx-tag-value"}
    for fmt, extra in (("cyclonedx-xml", ["--spec-version", "1.5"]), ("spdx-tag-value", [])):
        out = tmp_path / f"a{SUFFIX[fmt]}"
        r = subprocess.run(
            [*cmd, "sbom", str(ALPINE), "--format", fmt, *extra, "-o", str(out)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert r.returncode == 0, r.stderr
        assert test_sbom.cli_findings(f"sbom:{out}") == image
    bad = tmp_path / "laughs.xml"
    bad.write_text(LAUGHS)
    r = subprocess.run(
        [*cmd, "inventory", f"sbom:{bad}"], env=env, capture_output=True, text=True, check=False
    )
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1
    assert "DOCTYPE" in r.stderr


@pytest.mark.usefixtures("alpine_db")
def test_cli_scan_cyclonedx_vdr(
    tmp_path: Path, validators: dict[str, jsonschema.protocols.Validator]
) -> None:
    """``hullscan scan --format cyclonedx-json``: a CycloneDX VDR of the scan, valid against the 1.6
    schema, whose vulnerabilities are the scan's findings; scanning it gives them back."""
    cmd = [sys.executable, "-m", "hullscan.cli"]
    out = tmp_path / "scan.cdx.json"
    r = subprocess.run(
        [*cmd, "scan", f"oci-archive:{ALPINE}", "--offline", "--format", "cyclonedx-json", "-o", str(out),
         "--output", f"json={tmp_path / 'scan.json'}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    validate(validators["1.6"], doc)
    scan_doc = json.loads((tmp_path / "scan.json").read_text())
    want = {(f["id"], f["package"]["purl"]) for f in scan_doc["findings"]}
    purls = {c["bom-ref"]: c["purl"] for c in doc["components"] if "purl" in c}
    got = {(v["id"], purls[a["ref"]]) for v in doc["vulnerabilities"] for a in v["affects"]}
    assert got == want
    again = hullscan.scan(f"sbom:{out}", offline=True)
    assert {(f.id, f.package.purl) for f in again.findings} == want
