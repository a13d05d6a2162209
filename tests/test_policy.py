# ruff: noqa: F811 - fixtures imported from triage_data, test_db_update and test_sbom
"""Triage: EPSS / KEV import and lookup, the risk order, ignore rules with expiry, OpenVEX and
CycloneDX VEX in, OpenVEX out (schema-valid, and suppressing the same findings when fed back).

Must-show 3. The image, its advisories and the KEV catalog are real; see triage_data for the
test data generated on top (CVSS vectors, EPSS scores, one KEV entry)."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import gzip
import json
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hullscan
from hullscan import db as adb
from hullscan import policy
from hullscan.errors import FeedFormatError, PolicyError
from hullscan.policy import ignore, risk
from hullscan.policy.subject import purl_matches
from test_db_update import FAST, server  # noqa: F401 - the feed server fixture
from test_db_update import feeds as feeds
from test_sbom import validators as validators
from triage_data import (
    EPSS_SAMPLES,
    HIGH_EPSS,
    HIGH_EPSS_CVE,
    IMAGE,
    KEV_CSV,
    KEV_CVE,
    KEV_JSON,
    OPENVEX_SCHEMA,
    TriageDb,
    triage_db,  # noqa: F401 - fixture
    write_epss,
)

TODAY = dt.date(2026, 7, 1)


def hullscan_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["hullscan", *args], capture_output=True, text=True, check=False, cwd=cwd)


def keys(findings: Any) -> set[tuple[str, str]]:
    return {(f.id, f.package.name) for f in findings}


# --- EPSS / KEV import -----------------------------------------------------------------------------


def test_kev_json_and_csv_import_the_same_catalog(tmp_path: Path) -> None:
    catalog = json.loads(KEV_JSON.read_text())
    with adb.import_paths([KEV_JSON], cache_dir=tmp_path) as d:
        (src,) = [s for s in d.sources() if s.kind == "kev"]
        assert src.count == catalog["count"] == len(catalog["vulnerabilities"])
        from_json = {r["id"]: r for r in d.records("kev")}
        assert list(d.records()) == []  # KEV rows are not advisories
    with adb.import_paths([KEV_CSV], cache_dir=tmp_path) as d:
        from_csv = {r["id"]: r for r in d.records("kev")}
        assert [s.name for s in d.sources()] == ["kev"]  # replaced, not added
    assert from_json == from_csv
    with open(KEV_CSV, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    row = rows[0]
    rec = from_json[row["cveID"]]
    assert (rec["date_added"], rec["due_date"], rec["known_ransomware"], rec["name"]) == (
        row["dateAdded"],
        row["dueDate"],
        row["knownRansomwareCampaignUse"],
        row["vulnerabilityName"],
    )


def test_epss_import_published_formats(tmp_path: Path) -> None:
    sample = EPSS_SAMPLES / "vunnel-fixture-example-1.csv"
    rows = [r for r in sample.read_text().splitlines()[2:] if r]
    with adb.import_paths([sample], cache_dir=tmp_path) as d:
        recs = {r["id"]: r for r in d.records("epss")}
    assert len(recs) == len(rows)
    cve, score, pct = rows[-1].split(",")
    assert recs[cve] == {"id": cve, "score": float(score), "percentile": float(pct), "date": "2025-02-20"}
    with adb.import_paths([EPSS_SAMPLES / "vunnel-fixture-missing-date.csv"], cache_dir=tmp_path) as d:
        assert {r["date"] for r in d.records("epss")} == {None}
    gz = write_epss(tmp_path / "epss_scores-2026-12-01.csv.gz", {"CVE-2024-0001": 0.5, "CVE-2024-0002": 0.25})
    assert gzip.decompress(gz.read_bytes()).startswith(b"#model_version:")
    with adb.import_paths([gz], cache_dir=tmp_path) as d:
        assert {r["id"]: r["score"] for r in d.records("epss")} == {
            "CVE-2024-0001": 0.5,
            "CVE-2024-0002": 0.25,
        }
        gen = d.generation
    # A malformed file changes nothing: typed error, same generation, no partial source.
    for bad in (EPSS_SAMPLES / "vunnel-fixture-invalid-header.csv",):
        with pytest.raises(FeedFormatError, match="header"):
            adb.import_paths([bad], cache_dir=tmp_path)
    broken = tmp_path / "epss_scores-broken.csv"
    broken.write_text("cve,epss,percentile\nCVE-2024-0001,0.5,0.4\nCVE-2024-0002,1.7,0.9\n")
    with pytest.raises(FeedFormatError, match="between 0 and 1"):
        adb.import_paths([broken], cache_dir=tmp_path)
    p = hullscan_cli("db", "import", str(broken), "--cache-dir", str(tmp_path))
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1
    with adb.open_db(tmp_path) as d:
        assert d.generation == gen


def test_threat_sources_survive_db_update(tmp_path: Path, server: Any) -> None:
    gz = write_epss(tmp_path / "epss.csv.gz", {"CVE-2024-0001": 0.5})
    adb.import_paths([gz, KEV_JSON], cache_dir=tmp_path).close()
    with adb.update(base_url=server.url, ecosystems=["npm"], cache_dir=tmp_path, **FAST) as d:
        kinds = {s.name: s.kind for s in d.sources()}
        assert kinds == {"epss": "epss", "kev": "kev", "osv/npm": "osv"}
        assert {r["id"] for r in d.records("epss")} == {"CVE-2024-0001"}
        assert all("affected" in r for r in d.records())  # only advisories
        from hullscan.db import threat

        asked = ["CVE-2021-44228", "CVE-1900-0001", "cve-2024-0001"]
        found = threat.lookup(d.path, "kev", asked)
        assert set(found) == {"CVE-2021-44228"}  # Log4Shell is in the real catalog
        assert found["CVE-2021-44228"]["name"]
        assert (d.path / threat.THREAT_FILE).is_file()
        indexed = {k: threat.lookup(d.path, k, asked) for k in ("epss", "kev")}
        assert indexed["epss"] == {
            "CVE-2024-0001": {"id": "CVE-2024-0001", "score": 0.5, "percentile": 1.0, "date": "2026-12-01"}
        }
        # A generation without the lookup table (an older hullscan's) streams the sources instead.
        (d.path / threat.THREAT_FILE).unlink()
        assert {k: threat.lookup(d.path, k, asked) for k in ("epss", "kev")} == indexed


# --- enrichment and risk order ---------------------------------------------------------------------


def test_findings_carry_epss_and_kev(triage_db: TriageDb) -> None:
    findings = triage_db.result.findings
    epss_rows = {}
    with gzip.open(triage_db.work / "epss_scores-2026-12-01.csv.gz", "rt") as f:
        for row in csv.reader(line for line in f if not line.startswith("#")):
            if row[0] != "cve":
                epss_rows[row[0]] = (float(row[1]), float(row[2]))
    checked = 0
    for f in findings:
        cves = [i for i in (f.id, *f.aliases) if i.startswith("CVE-")]
        if not cves:
            assert f.epss is None
            continue
        assert f.epss is not None
        assert (f.epss.score, f.epss.percentile) == epss_rows[cves[0]]
        assert f.epss.date == "2026-12-01"
        assert (f.kev is not None) == (KEV_CVE in cves)
        checked += 1
    assert checked == len([f for f in findings if f.id.startswith("CVE-")])
    kev = next(f.kev for f in findings if f.kev)
    assert kev.date_added == "2026-11-30"
    assert kev.required_action
    doc = json.loads(triage_db.result.to_json())
    assert any(f["kev"] and f["epss"]["score"] for f in doc["findings"])


def test_risk_order(triage_db: TriageDb) -> None:
    findings = list(triage_db.result.findings)
    assert findings == risk.sort_by_risk(findings)
    in_kev = [f.kev is not None for f in findings]
    assert in_kev == sorted(in_kev, reverse=True)  # every KEV finding first
    assert findings[0].id == KEV_CVE
    # A high with EPSS 0.91 goes before a critical with a tiny EPSS score; by severity, after it.
    by_id = {f.id: f for f in findings}
    high, crit = by_id[HIGH_EPSS_CVE], by_id["CVE-2025-26519"]
    assert (high.severity.level, crit.severity.level) == ("high", "critical")
    assert high.epss is not None
    assert high.epss.score == HIGH_EPSS
    assert findings.index(high) < findings.index(crit)
    sev = risk.sort_by_severity(findings)
    assert sev.index(crit) < sev.index(high)
    # Without EPSS and KEV, the risk order is the severity order.
    bare = [dataclasses.replace(f, epss=None, kev=None) for f in findings]
    assert [risk.risk(f) for f in risk.sort_by_risk(bare)] == sorted(
        (risk.risk(f) for f in bare), reverse=True
    )
    assert [f.severity.level for f in risk.sort_by_risk(bare)] == [
        f.severity.level for f in risk.sort_by_severity(bare)
    ]


# --- ignore rules ------------------------------------------------------------------------------------


def test_ignore_rules_with_expiry(triage_db: TriageDb, tmp_path: Path) -> None:
    result = triage_db.result
    rules = tmp_path / ".hullscan.yaml"
    rules.write_text(
        "ignore:\n"
        "  - id: CVE-2025-26519\n"
        "    package: musl\n"
        "    reason: musl's iconv is not reachable in this image\n"
        "    expires: 2026-06-30\n"
        "  - id: ALPINE-CVE-2024-9143\n"  # an alias
        "    reason: no TLS here\n"
        "    expires: 2027-01-31\n"
        '  - purl: "pkg:apk/alpine/busybox"\n'  # purl semantics: any version, qualifiers
        "    reason: busybox applets unused\n"
        '  - path: "/nonexistent/*"\n'
        "    reason: matches nothing\n"
    )
    out = policy.apply(result, ignore=rules, today=TODAY)
    suppressed = keys(out.suppressed)
    busybox = {k for k in keys(result.findings) if k[1] == "busybox"}
    assert len(busybox) >= 2
    assert suppressed == {(HIGH_EPSS_CVE, "libcrypto3"), (HIGH_EPSS_CVE, "libssl3")} | busybox
    assert keys(out.findings) == keys(result.findings) - suppressed
    assert ("CVE-2025-26519", "musl") in keys(out.findings)  # expired rule: not applied
    (expired,) = [w for w in out.warnings if "expired" in w]
    assert f"{rules}:2" in expired
    assert "2026-06-30" in expired
    sup = next(f.suppression for f in out.suppressed if f.package.name == "libssl3")
    assert sup is not None
    assert (sup.kind, sup.status, sup.reason, sup.source, sup.expires) == (
        "ignore",
        "ignored",
        "no TLS here",
        f"{rules}:6",
        "2027-01-31",
    )
    assert json.loads(out.to_json())["suppressed"][0]["suppression"]["kind"] == "ignore"
    # On its last day the rule still applies.
    on_day = policy.apply(result, ignore=rules, today=dt.date(2026, 6, 30))
    assert ("CVE-2025-26519", "musl") in keys(on_day.suppressed)
    assert ("CVE-2025-26519", "musl-utils") not in keys(on_day.suppressed)
    assert not [w for w in on_day.warnings if "expired" in w]


def test_ignore_selectors() -> None:
    f = ignore.parse(
        'ignore:\n  - purl: "pkg:apk/alpine/openssl*"\n    path: "/lib/apk/*"\n    reason: r\n', "x.yaml"
    )
    from hullscan.policy.subject import Subject

    s = Subject(
        "CVE-1", ("GHSA-x",), "openssl", "pkg:apk/alpine/openssl@3?arch=x86_64", ("/lib/apk/db/installed",)
    )
    assert f.rules[0].matches(s)
    assert not f.rules[0].matches(dataclasses.replace(s, locations=("/usr/lib/x",)))
    assert purl_matches("pkg:apk/alpine/openssl?arch=x86_64", s.purl)
    assert not purl_matches("pkg:apk/alpine/openssl?arch=aarch64", s.purl)
    assert not purl_matches("pkg:apk/alpine/openssl@4", s.purl)
    assert not purl_matches("pkg:deb/alpine/openssl", s.purl)
    assert ignore.parse("ignore:\n  - id: ghsa-*\n    reason: r\n", "y").rules[0].matches(s)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ignore:\n  - id: CVE-1\n", r"x\.yaml:2: the rule has no reason"),
        ("ignore:\n  - id: CVE-1\n    reason: r\n    severity: low\n", r"x\.yaml:4: unknown key 'severity'"),
        ("ignore:\n  - reason: r\n", r"x\.yaml:2: the rule selects nothing"),
        (
            "ignore:\n  - id: CVE-1\n    reason: r\n    expires: soon\n",
            r"x\.yaml:2: expires 'soon' is not a date",
        ),
        ("ignore:\n  - id: CVE-1\n    reason: r\n    justification: meh\n", "justification 'meh'"),
        ("ignores: []\n", r"x\.yaml:1: unknown key 'ignores'"),
        ("ignore: [\n", r"x\.yaml:2: not valid YAML"),
        ("ignore: {id: CVE-1}\n", "must be a list"),
    ],
)
def test_ignore_file_errors(text: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        ignore.parse(text, "x.yaml")


# --- VEX in --------------------------------------------------------------------------------------------


def _image_purl(result: hullscan.ScanResult) -> str:
    return f"pkg:oci/alpine@{result.inventory.manifest_digest.replace(':', '%3A')}"  # type: ignore[union-attr]


def openvex(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://openvex.dev/docs/public/vex-test",
        "author": "hullscan tests",
        "timestamp": "2026-11-30T12:00:00Z",
        "version": 1,
        "statements": statements,
    }


def test_openvex_statements(triage_db: TriageDb, tmp_path: Path) -> None:
    result = triage_db.result
    image = _image_purl(result)
    doc = openvex(
        [
            {  # musl only, not musl-utils: a subcomponent of the image
                "vulnerability": {"name": "CVE-2025-26519"},
                "products": [{"@id": image, "subcomponents": [{"@id": "pkg:apk/alpine/musl"}]}],
                "status": "not_affected",
                "justification": "vulnerable_code_not_in_execute_path",
                "impact_statement": "iconv is never called",
            },
            {  # by alias, a package product, fixed
                "vulnerability": {"name": "X-1", "aliases": ["ALPINE-CVE-2024-9143"]},
                "products": [{"@id": "p", "identifiers": {"purl": "pkg:apk/alpine/libssl3?arch=x86_64"}}],
                "status": "fixed",
            },
            {  # every package of the image ...
                "vulnerability": {"name": KEV_CVE},
                "products": [{"@id": image}],
                "status": "not_affected",
                "justification": "component_not_present",
            },
            {  # ... but a later statement says busybox is affected after all
                "vulnerability": {"name": KEV_CVE},
                "products": [{"@id": "pkg:apk/alpine/busybox"}],
                "status": "affected",
                "action_statement": "upgrade",
            },
            {  # another image's digest: does not apply
                "vulnerability": {"name": "CVE-2025-9230"},
                "products": [{"@id": "pkg:oci/alpine@sha256%3A" + "0" * 64}],
                "status": "not_affected",
                "justification": "component_not_present",
            },
        ]
    )
    schema = json.loads(OPENVEX_SCHEMA.read_text())
    jsonschema.validate(doc, schema)
    path = tmp_path / "app.openvex.json"
    path.write_text(json.dumps(doc))
    out = policy.apply(result, vex=[path])
    assert keys(out.suppressed) == {
        ("CVE-2025-26519", "musl"),
        (HIGH_EPSS_CVE, "libssl3"),
        (KEV_CVE, "busybox-binsh"),
        (KEV_CVE, "ssl_client"),
    }
    sup = {f.package.name: f.suppression for f in out.suppressed}
    musl = sup["musl"]
    assert musl is not None
    assert (musl.kind, musl.status, musl.reason, musl.statement) == (
        "vex",
        "not_affected",
        "vulnerable_code_not_in_execute_path",
        "iconv is never called",
    )
    assert musl.source == f"{path}#0"
    assert sup["libssl3"] is not None
    assert sup["libssl3"].status == "fixed"
    assert keys(out.findings) == keys(result.findings) - keys(out.suppressed)


def test_cyclonedx_vex(triage_db: TriageDb, tmp_path: Path, validators: Any) -> None:
    """A CycloneDX VEX on top of hullscan's own CycloneDX SBOM of the image: ``affects`` refs are
    the SBOM's bom-refs (and one a bom-link); the document validates against the official schema."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    sbom = tmp_path / "sbom.cdx.json"
    p = hullscan_cli("sbom", str(IMAGE), "--format", "cyclonedx-json", "-o", str(sbom))
    assert p.returncode == 0, p.stderr
    bom = json.loads(sbom.read_text())
    ref = {c["name"]: c["bom-ref"] for c in bom["components"] if "purl" in c}
    bom["vulnerabilities"] = [
        {
            "id": "CVE-2025-26519",
            "analysis": {
                "state": "not_affected",
                "justification": "code_not_reachable",
                "detail": "no iconv",
            },
            "affects": [{"ref": ref["musl"]}, {"ref": ref["musl-utils"]}],
        },
        {
            "id": "ALPINE-CVE-2024-9143",
            "analysis": {"state": "resolved"},
            "affects": [{"ref": f"urn:cdx:{bom['serialNumber'][9:]}/1#{ref['libcrypto3']}"}],
        },
        {
            "id": "GHSA-0000-0000-0000",
            "references": [{"id": KEV_CVE, "source": {"name": "NVD"}}],
            "analysis": {"state": "false_positive"},
            "affects": [{"ref": ref["busybox"]}],
        },
        {
            "id": "CVE-2025-9230",
            "analysis": {"state": "exploitable", "response": ["update"]},
            "affects": [{"ref": ref["libssl3"]}],
        },
    ]
    validators[bom["specVersion"]].validate(bom)
    text = json.dumps(bom)
    assert JsonStrictValidator(SchemaVersion.from_version(bom["specVersion"])).validate_str(text) is None
    path = tmp_path / "vex.cdx.json"
    path.write_text(text)
    out = policy.apply(triage_db.result, vex=[path])
    assert keys(out.suppressed) == {
        ("CVE-2025-26519", "musl"),
        ("CVE-2025-26519", "musl-utils"),
        (HIGH_EPSS_CVE, "libcrypto3"),
        (KEV_CVE, "busybox"),
    }
    sup = {f.package.name: f.suppression for f in out.suppressed}
    assert sup["musl"] is not None
    assert (sup["musl"].status, sup["musl"].reason, sup["musl"].statement) == (
        "not_affected",
        "code_not_reachable",
        "no iconv",
    )
    assert sup["libcrypto3"] is not None
    assert sup["libcrypto3"].status == "fixed"
    assert sup["busybox"] is not None
    assert (sup["busybox"].status, sup["busybox"].reason) == ("not_affected", "false_positive")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not valid JSON"),
        ("[]", "JSON object"),
        ('{"hello": 1}', "neither an OpenVEX nor a CycloneDX"),
        (
            '{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"status": "maybe"}]}',
            "no vulnerability",
        ),
        ('{"bomFormat": "CycloneDX", "vulnerabilities": [{"id": "X", "analysis": {"state": "x"}}]}', "state"),
    ],
)
def test_bad_vex_documents(tmp_path: Path, content: str, message: str) -> None:
    from hullscan.policy import vex

    p = tmp_path / "bad.json"
    p.write_text(content)
    with pytest.raises(PolicyError, match=message):
        vex.load(p)


# --- VEX out ---------------------------------------------------------------------------------------


def test_vex_out_validates_and_round_trips(triage_db: TriageDb, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "ignore:\n"
        "  - id: CVE-2025-26519\n"
        "    reason: musl's iconv is not reachable in this image\n"
        "    justification: vulnerable_code_not_in_execute_path\n"
        "    expires: 2099-12-31\n"
        "  - package: libssl3\n"
        "    reason: TLS is terminated by the proxy\n"
        "  - id: CVE-2025-9230\n"
        "    reason: expired long ago\n"
        "    expires: 2020-01-01\n"
    )
    gen = str(triage_db.generation)
    common = ["--db", gen, "--offline", "--ignore-file", str(rules), "--timestamp", "2026-12-01T00:00:00Z"]
    out1, out2 = tmp_path / "a.openvex.json", tmp_path / "b.openvex.json"
    p = hullscan_cli("vex", str(IMAGE), *common, "-o", str(out1))
    assert p.returncode == 0, p.stderr
    assert "expired on 2020-01-01" in p.stderr
    doc = json.loads(out1.read_text())
    schema = json.loads(OPENVEX_SCHEMA.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls(schema, format_checker=cls.FORMAT_CHECKER).validate(doc)
    # Deterministic: the same rules on the same scan, from the scan's JSON too.
    scan_json = tmp_path / "scan.json"
    p = hullscan_cli("scan", str(IMAGE), "--db", gen, "--offline", "--format", "json", "-o", str(scan_json))
    assert p.returncode == 0, p.stderr
    p = hullscan_cli("vex", "--from-scan", str(scan_json), *common[3:], "-o", str(out2))
    assert p.returncode == 0, p.stderr
    assert out2.read_bytes() == out1.read_bytes()
    # One statement per (rule, vulnerability); the image is the product, packages subcomponents.
    names = [st["vulnerability"]["name"] for st in doc["statements"]]
    assert sorted(names) == sorted({n for n in names})
    musl = next(st for st in doc["statements"] if st["vulnerability"]["name"] == "CVE-2025-26519")
    assert musl["justification"] == "vulnerable_code_not_in_execute_path"
    assert musl["impact_statement"] == "musl's iconv is not reachable in this image"
    (product,) = musl["products"]
    assert product["@id"].startswith("pkg:oci/")
    assert str(triage_db.result.inventory.manifest_digest) in unquote(product["@id"])
    assert {s["@id"].split("@")[0] for s in product["subcomponents"]} == {
        "pkg:apk/alpine/musl",
        "pkg:apk/alpine/musl-utils",
    }
    # Fed back with --vex: the same findings suppressed as by the rules.
    by_rules = policy.apply(triage_db.result, ignore=rules)
    by_vex = policy.apply(triage_db.result, vex=[out1])
    assert keys(by_vex.suppressed) == keys(by_rules.suppressed)
    assert keys(by_vex.findings) == keys(by_rules.findings)
    assert len(by_rules.suppressed) > 2
    j1 = tmp_path / "vex.json"
    p = hullscan_cli(
        "scan", str(IMAGE), "--db", gen, "--offline", "--vex", str(out1), "--format", "json", "-o", str(j1)
    )
    assert p.returncode == 0, p.stderr
    doc_scan = json.loads(j1.read_text())
    assert {(f["id"], f["package"]["name"]) for f in doc_scan["suppressed"]} == keys(by_rules.suppressed)
    assert {f["suppression"]["kind"] for f in doc_scan["suppressed"]} == {"vex"}


def test_default_ignore_file_and_cli_errors(triage_db: TriageDb, tmp_path: Path) -> None:
    gen = str(triage_db.generation)
    (tmp_path / ".hullscan.yaml").write_text("ignore:\n  - package: musl*\n    reason: test\n")
    p = hullscan_cli("scan", str(IMAGE), "--db", gen, "--offline", "--format", "json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert {f["package"]["name"] for f in doc["suppressed"]} == {"musl", "musl-utils"}
    p = hullscan_cli(
        "scan", str(IMAGE), "--db", gen, "--offline", "--format", "json", "--no-ignore-file", cwd=tmp_path
    )
    assert json.loads(p.stdout)["suppressed"] == []
    (tmp_path / ".hullscan.yaml").write_text("ignore:\n  - package: musl\n    reasn: typo\n")
    p = hullscan_cli("scan", str(IMAGE), "--db", gen, "--offline", cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1
    assert "PolicyError" in p.stderr
    assert ".hullscan.yaml:3: unknown key 'reasn'" in p.stderr
    # `hullscan vex` without rules, or with rules that suppress nothing: an error, no file.
    p = hullscan_cli("vex", str(IMAGE), "--db", gen, "--offline", "--no-ignore-file", cwd=tmp_path)
    assert p.returncode == 2
    assert "no ignore rules" in p.stderr
    (tmp_path / "none.yaml").write_text("ignore:\n  - id: CVE-1900-0001\n    reason: r\n")
    out = tmp_path / "none.openvex.json"
    p = hullscan_cli(
        "vex",
        str(IMAGE),
        "--db",
        gen,
        "--offline",
        "--ignore-file",
        "none.yaml",
        "-o",
        str(out),
        cwd=tmp_path,
    )
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1
    assert not out.exists()
    # Attacker-controlled text in a VEX document cannot forge terminal lines.
    (tmp_path / ".hullscan.yaml").unlink()
    evil = tmp_path / "evil.json"
    evil.write_text(
        json.dumps({"bomFormat": "CycloneDX", "vulnerabilities": [{"id": "X\n\x1b[31mfake"}] * 1})
    )
    p = hullscan_cli("scan", str(IMAGE), "--db", gen, "--offline", "--vex", str(evil), cwd=tmp_path)
    assert p.returncode == 0, p.stderr  # a vulnerability without analysis is no statement
    evil.write_text(
        json.dumps({"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"status": "x\n\x1b"}]})
    )
    p = hullscan_cli("scan", str(IMAGE), "--db", gen, "--offline", "--vex", str(evil), cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1
    assert "\x1b" not in p.stderr


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=8)
    | st.sampled_from(["pkg:apk/alpine/musl", "CVE-2025-26519", "not_affected", "fixed"]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "vulnerability",
                    "name",
                    "aliases",
                    "products",
                    "@id",
                    "identifiers",
                    "purl",
                    "subcomponents",
                    "status",
                    "justification",
                    "id",
                    "analysis",
                    "state",
                    "affects",
                    "ref",
                    "references",
                    "components",
                    "bom-ref",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_json, kind=st.sampled_from(["openvex", "cyclonedx"]))
def test_malformed_vex_is_a_policy_error_or_nothing(triage_db: TriageDb, body: Any, kind: str) -> None:
    """Any JSON in a VEX skeleton gives statements or a PolicyError, never another exception."""
    from hullscan.policy import vex
    from hullscan.policy.subject import Subject

    if kind == "openvex":
        doc: dict[str, Any] = {
            "@context": "https://openvex.dev/ns/v0.2.0",
            "statements": [body, {"status": "fixed", "vulnerability": body, "products": body}],
        }
    else:
        doc = {
            "bomFormat": "CycloneDX",
            "components": body,
            "vulnerabilities": [
                body,
                {"id": "CVE-2025-26519", "analysis": {"state": "not_affected"}, "affects": body},
            ],
        }
    try:
        statements = vex.parse_document(json.dumps(doc).encode(), "fuzz.json")
    except PolicyError:
        return
    subjects = [Subject.of(f) for f in triage_db.result.findings]
    vex.decide(subjects, statements, policy.image_of(triage_db.result))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "ignore:",
                "\n",
                "  - ",
                "    ",
                "id: ",
                "reason: ",
                "expires: ",
                "path: ",
                "purl: ",
                "[",
                "]",
                "{",
                "}",
                "&a ",
                "*a",
                "<<: ",
                "2027-01-31",
                "CVE-1",
                "'x'",
                ": ",
                ", ",
                "- ",
                "ignore: ",
                "null",
                "1",
            ]
        ),
        max_size=30,
    ).map("".join)
)
def test_ignore_file_fuzz(text: str) -> None:
    """Any text gives rules or a PolicyError, never another exception."""
    try:
        rules = ignore.parse(text, "fuzz.yaml")
    except PolicyError:
        return
    for r in rules.rules:
        assert r.reason
