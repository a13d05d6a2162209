"""Report formats (issue 7): every format rendered for real scans and checked by real consumers:
the JSON against the project's schema, SARIF against the official SARIF 2.1.0 schema, JUnit read
by junitparser, markdown parsed by markdown-it-py; golden files of the two-layer Alpine image
(``HULLSCAN_UPDATE_GOLDEN=1`` rewrites them); triage data (EPSS, KEV, suppressions) rendered;
hostile names escaped in every format; the CLI's ``--output FMT=FILE`` and ``--color``."""

from __future__ import annotations

import json
import os
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from junitparser import JUnitXml
from markdown_it import MarkdownIt

import report_images
from conftest import DATA, REPO
from hullscan.errors import ReportError
from hullscan.model import Inventory, Layer
from hullscan.report import FORMATS, RenderOptions, render
from hullscan.report._common import layer_infos
from hullscan.scan import SCAN_SCHEMA_VERSION, ScanResult
from hullscan.severity import RANK
from report_images import TAG, enriched

GOLDEN = REPO / "tests" / "golden" / "report"
SARIF_SCHEMA = DATA / "schemas/sarif/sarif-schema-2.1.0.json"
SCANS = ["app", "alpine", "alpine310", "coverage"]
# cyclonedx-json and asff are other modules' (tests/test_sbom*.py, tests/test_publish.py).
TEXT_FORMATS = [f for f in FORMATS if f not in ("cyclonedx-json", "asff")]


@pytest.fixture(scope="session")
def report_scans(tmp_path_factory: pytest.TempPathFactory, edge_fixtures: Path) -> dict[str, ScanResult]:
    return report_images.report_scans(tmp_path_factory, edge_fixtures)


def scan_schema() -> dict[str, Any]:
    text = resources.files("hullscan").joinpath("schemas/scan-result.schema.json").read_text()
    return dict(json.loads(text))


def assert_valid(schema: dict[str, Any], doc: Any) -> None:
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    errors = sorted(cls(schema).iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message[:300]}" for e in errors[:5])


def md_parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable("table").enable("strikethrough")


# --- every format, every real scan ---------------------------------------------------------------


def test_scans_have_findings(report_scans: dict[str, ScanResult]) -> None:
    app = report_scans["app"]
    assert {f.package.ecosystem for f in app.findings} == {"Alpine:v3.20", "PyPI"}
    assert len(app.inventory.layers) == 2
    assert report_scans["coverage"].findings
    assert not layer_infos(report_scans["coverage"].inventory)
    assert not report_scans["alpine310"].findings


@pytest.mark.parametrize("name", SCANS)
@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_every_format_renders(report_scans: dict[str, ScanResult], name: str, fmt: str) -> None:
    result = report_scans[name]
    text = render(result, fmt, options=RenderOptions(fail_on="medium"))
    assert text
    assert render(result, fmt, options=RenderOptions(fail_on="medium")) == text  # deterministic
    for f in result.findings[:20]:
        assert f.id in text


@pytest.mark.parametrize("name", SCANS)
def test_json_validates_against_schema(report_scans: dict[str, ScanResult], name: str) -> None:
    text = render(report_scans[name], "json")
    doc = json.loads(text)
    assert_valid(scan_schema(), doc)
    # The report's fast serialiser gives exactly ScanResult.to_dict(), keys in the same order.
    assert json.dumps(doc) == json.dumps(report_scans[name].to_dict())
    rich = enriched(report_scans["app"])
    assert_valid(scan_schema(), json.loads(render(rich, "json")))
    assert json.dumps(json.loads(render(rich, "json"))) == json.dumps(rich.to_dict())


def test_schema_documents_every_field(report_scans: dict[str, ScanResult]) -> None:
    schema = scan_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["schema_version"]["const"] == SCAN_SCHEMA_VERSION
    doc = enriched(report_scans["app"]).to_dict()
    assert set(schema["properties"]) == set(doc)
    finding = schema["$defs"]["finding"]["properties"]
    assert set(finding) == set(doc["findings"][0])
    assert {"epss", "kev", "suppression"} <= set(finding)

    def described(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, sub in (node.get("properties") or {}).items():
                assert "description" in sub or "$ref" in sub, f"{path}.{key} has no description"
            for key, sub in node.items():
                described(sub, f"{path}.{key}")

    described(schema, "")
    # additionalProperties: false, so a field added to ScanResult without a schema change fails.
    extra = json.loads(render(report_scans["app"], "json"))
    extra["findings"][0]["new_field"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(extra, schema, cls=jsonschema.Draft202012Validator)


def test_schema_is_package_data() -> None:
    """The schema is inside the package (maturin's python-source ships every file of it)."""
    path = REPO / "python/hullscan/schemas/scan-result.schema.json"
    assert path.is_file()
    assert scan_schema() == json.loads(path.read_text())


@pytest.mark.parametrize("name", SCANS)
def test_sarif_validates_against_official_schema(report_scans: dict[str, ScanResult], name: str) -> None:
    result = report_scans[name]
    doc = json.loads(render(result, "sarif"))
    assert_valid(json.loads(SARIF_SCHEMA.read_text()), doc)
    (run,) = doc["runs"]
    rules = run["tool"]["driver"]["rules"]
    # Vulnerabilities first, then the image checks (HS-IMG-*), each rule once.
    checks = result.inventory.config_findings
    assert [r["id"] for r in rules] == list(dict.fromkeys(f.id for f in result.findings)) + list(
        dict.fromkeys(c.id for c in checks)
    )
    vulns = [r for r in run["results"] if not r["ruleId"].startswith("HS-IMG-")]
    assert len(vulns) == len(result.findings)
    assert len(run["results"]) == len(result.findings) + len(checks)
    for res, f in zip(vulns, result.findings, strict=True):
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"] == f.id
        loc = res["locations"][0]
        uri = loc["physicalLocation"]["artifactLocation"]["uri"]
        assert not uri.startswith("/")
        if f.explanation.locations:
            assert "/" + uri == f.explanation.locations[0]
        assert loc["logicalLocations"][0]["fullyQualifiedName"].endswith(f.package.purl)
        want = {"critical": "error", "high": "error", "medium": "warning"}.get(f.severity.level, "note")
        assert res["level"] == want
    fingerprints = [r["partialFingerprints"]["hullscanFinding/v1"] for r in vulns]
    assert len(set(fingerprints)) == len(fingerprints)


def test_sarif_for_code_scanning(report_scans: dict[str, ScanResult]) -> None:
    """What GitHub reads: security-severity a number as a string (the CVSS score), the image and
    package file named, fingerprints stable across scans of the same image."""
    result = report_scans["app"]
    doc = json.loads(render(result, "sarif"))
    rules = {r["id"]: r for r in doc["runs"][0]["tool"]["driver"]["rules"]}
    rule = rules["CVE-2018-18074"]
    assert rule["properties"]["security-severity"] == "7.5"
    assert "requests" in rule["help"]["markdown"]
    assert "2.20.0" in rule["help"]["text"]
    assert "security-severity" not in rules["CVE-2024-58251"]["properties"]  # unknown severity
    res = next(r for r in doc["runs"][0]["results"] if r["ruleId"] == "CVE-2018-18074")
    assert res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "usr/lib/python3.12/site-packages/requests-2.19.0.dist-info/METADATA"
    )
    assert res["properties"]["image"] == TAG
    assert res["properties"]["layer"]["origin"] == "added"
    apk = next(r for r in doc["runs"][0]["results"] if r["ruleId"] == "CVE-2024-58251")
    assert apk["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "lib/apk/db/installed"
    # The same image scanned again (another result object, a warm cache) gives the same fingerprints.
    again = json.loads(render(replace(result, warnings=("x",)), "sarif"))
    assert [r["partialFingerprints"] for r in again["runs"][0]["results"]] == [
        r["partialFingerprints"] for r in doc["runs"][0]["results"]
    ]


@pytest.mark.parametrize("name", SCANS)
@pytest.mark.parametrize("threshold", [None, "medium", "high", "critical"])
def test_junit(report_scans: dict[str, ScanResult], name: str, threshold: str | None) -> None:
    result = report_scans[name]
    text = render(result, "junit", options=RenderOptions(fail_on=threshold))
    ET.fromstring(text)
    xml = JUnitXml.fromstring(text.encode())
    suite, *check_suites = list(xml)
    cases = list(suite)
    assert len(cases) == suite.tests == len(result.inventory.packages)
    want = [f for f in result.findings if threshold is None or RANK[f.severity.level] >= RANK[threshold]]
    failed = [r for c in cases for r in c.result]
    assert suite.failures == len(failed) == len(want)
    assert sorted(r.type for r in failed) == sorted(f.id for f in want)
    # The image checks are a suite of their own, one case per check, failed by the same threshold.
    checks = result.inventory.config_findings
    assert len(check_suites) == (1 if checks else 0)
    if checks:
        (check_suite,) = check_suites
        assert check_suite.tests == len(checks)
        want_checks = [c for c in checks if threshold is None or RANK[c.severity] >= RANK[threshold]]
        assert sorted(r.type for c in check_suite for r in c.result) == sorted(c.id for c in want_checks)


@pytest.mark.parametrize("name", SCANS)
def test_markdown_renders(report_scans: dict[str, ScanResult], name: str) -> None:
    result = report_scans[name]
    text = render(result, "markdown")
    tokens = md_parser().parse(text)
    html = md_parser().render(text)
    assert "<h3>hullscan:" in html
    if result.findings:
        assert any(t.type == "table_open" for t in tokens)
    # Fixable findings come first, in their own table, before any unfixed one.
    fixable = [f for f in result.findings if f.fixed_versions]
    if fixable and len(fixable) < len(result.findings):
        assert text.index("#### Fixable") < text.index("Not fixed yet")


# --- golden files ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_golden(report_scans: dict[str, ScanResult], fmt: str) -> None:
    """Every format for the two-layer Alpine image, byte for byte (its temporary path replaced by
    ``${WORK}``). ``HULLSCAN_UPDATE_GOLDEN=1`` rewrites them; review the diff."""
    result = report_scans["app"]
    work = str(Path(result.inventory.source.split(":", 1)[1]).parent)
    text = render(result, fmt, options=RenderOptions(fail_on="medium")).replace(work, "${WORK}")
    ext = {"table": "txt", "json": "json", "sarif": "sarif", "junit": "xml", "markdown": "md", "html": "html"}
    path = GOLDEN / f"alpine-app.{ext[fmt]}"
    if os.environ.get("HULLSCAN_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.is_file(), f"{path} missing: run with HULLSCAN_UPDATE_GOLDEN=1"
    assert text == path.read_text()


# --- table -----------------------------------------------------------------------------------------


def test_table_groups_by_severity_with_layers(report_scans: dict[str, ScanResult]) -> None:
    text = render(report_scans["app"], "table")
    assert "\x1b[" not in text
    lines = text.splitlines()
    assert lines.index("HIGH (1)") < lines.index("MEDIUM (2)") < lines.index("UNKNOWN (56)")
    req = next(line for line in lines if line.startswith("CVE-2018-18074"))
    assert req.split()[:6] == ["CVE-2018-18074", "requests", "2.19.0", "2.20.0", "1", "added"]
    busybox = next(line for line in lines if line.startswith("CVE-2024-58251") and "busybox " in line)
    assert "0 base" in busybox
    assert any("RUN pip install requests==2.19.0" in line for line in lines)
    coloured = render(report_scans["app"], "table", options=RenderOptions(colour=True))
    assert "\x1b[31mHIGH (1)\x1b[0m" in coloured


def test_layer_origins() -> None:
    """The base/added rule on real history strings: the classic builder's and BuildKit's root
    filesystem imports end the base image; without one, layer 0 alone is the base."""

    def origins(*created: str | None) -> list[str]:
        layers = tuple(
            Layer(index=i, digest=f"sha256:{i:064x}", diff_id=f"sha256:{i:064x}", created_by=c)
            for i, c in enumerate(created)
        )
        inv = Inventory("x", "oci-dir", None, layers, ())
        return [i.origin for i in layer_infos(inv).values()]

    classic = (
        "/bin/sh -c #(nop) ADD file:d48cac34fac385cbc1de6adfdd88300f76f9bbe346cd17e64fd834d042a98326 in / "
    )
    assert origins(classic) == ["base"]
    assert origins(classic, "/bin/sh -c apk add curl", "COPY app /app # buildkit") == [
        "base",
        "added",
        "added",
    ]
    buildkit = "ADD alpine-minirootfs-3.20.3-x86_64.tar.gz / # buildkit"
    assert origins(buildkit, "RUN pip install x # buildkit") == ["base", "added"]
    # python:3.12 on Debian, then an application layer: the last rootfs import is the boundary.
    assert origins(classic, "RUN apt-get install", classic, "RUN make") == ["base", "base", "base", "added"]
    assert origins("umoci insert", "umoci insert") == ["base", "added"]
    assert origins(None, None) == ["base", "added"]
    assert layer_infos(Inventory("dir:x", "dir", None, (), ())) == {}


# --- triage data -----------------------------------------------------------------------------------


def test_epss_kev_and_suppressed_in_every_format(report_scans: dict[str, ScanResult]) -> None:
    result = enriched(report_scans["app"])
    first = result.findings[0]
    vex, ignored = result.suppressed

    table = render(result, "table")
    row = next(line for line in table.splitlines() if line.startswith(first.id))
    assert "KEV" in row
    assert f"EPSS {first.epss.score:.3f}" in row  # type: ignore[union-attr]
    assert "SUPPRESSED (2)" in table
    assert "vex: not_affected (vulnerable_code_not_in_execute_path)" in table
    assert "accepted risk, ticket SEC-42" in table

    doc = json.loads(render(result, "json"))
    assert doc["findings"][0]["kev"]["date_added"] == "2025-01-15"
    assert doc["suppressed"][0]["suppression"]["reason"] == "vulnerable_code_not_in_execute_path"

    sarif = json.loads(render(result, "sarif"))
    assert_valid(json.loads(SARIF_SCHEMA.read_text()), sarif)
    props = sarif["runs"][0]["results"][0]["properties"]
    assert props["kev"] is True
    assert props["epss"]["score"] == first.epss.score  # type: ignore[union-attr]
    vulns = [r for r in sarif["runs"][0]["results"] if not r["ruleId"].startswith("HS-IMG-")]
    assert len(vulns) == len(result.findings)  # suppressed ones are not results

    md = render(result, "markdown")
    assert "<summary>Suppressed (2)</summary>" in md
    assert "KEV" in md
    assert "vulnerable\\_code\\_not\\_in\\_execute\\_path" in md
    md_parser().render(md)

    html = render(result, "html")
    assert '<section id="suppressed"><h2>Suppressed (2)</h2>' in html
    assert "busybox applets with the bug are not used by the service" in html
    assert "CISA KEV: Requests Proxy-Authorization leak" in html
    assert '<span class="badge b-kev">KEV</span>' in html

    # Suppressed findings are no failures: busybox's two findings are both suppressed.
    assert {vex.package.name, ignored.package.name} == {"busybox"}
    cases = {c.get("name"): c for c in ET.fromstring(render(result, "junit")).iter("testcase")}
    assert not list(cases[f"busybox@{vex.installed_version}"].iter("failure"))
    assert list(cases[f"busybox-binsh@{vex.installed_version}"].iter("failure"))


# --- hostile strings -------------------------------------------------------------------------------

HOSTILE_NAME = "evil\x1b[2J\nCVE-0000-0000  fake  row|</td><script>alert(1)</script>"
HOSTILE_SUMMARY = (
    "<img src=x onerror=alert(1)> [link](javascript:alert(2)) @octocat **bold** | cell\n## heading\x00\x07"
)


def hostile(result: ScanResult) -> ScanResult:
    f = result.findings[0]
    pkg = replace(f.package, name=HOSTILE_NAME)
    bad = replace(f, package=pkg, summary=HOSTILE_SUMMARY, installed_version="1.0\r\n\x1b]0;title\x07")
    packages = tuple(
        replace(p, name=HOSTILE_NAME) if p.purl == f.package.purl else p for p in result.packages
    )
    inv = replace(
        result.inventory,
        source="oci-dir:/x\n/../../etc\x1b[31m",
        repo_tags=("a<b>&c\x00:1",),
        packages=packages,
    )
    return replace(result, inventory=inv, findings=(bad, *result.findings[1:]))


def test_hostile_strings_escaped(report_scans: dict[str, ScanResult]) -> None:
    result = hostile(report_scans["app"])

    table = render(result, "table", options=RenderOptions(colour=True))
    assert "\x1b[2J" not in table
    assert "\x1b]0" not in table
    assert "\r" not in table
    assert not any(line.startswith("CVE-0000-0000") for line in table.splitlines())

    root = ET.fromstring(render(result, "junit"))
    assert any(HOSTILE_NAME.split("\x1b")[0] in (c.get("name") or "") for c in root.iter("testcase"))
    assert any(HOSTILE_SUMMARY[:20] in (e.get("message") or "") for e in root.iter("failure"))

    sarif = json.loads(render(result, "sarif"))
    assert_valid(json.loads(SARIF_SCHEMA.read_text()), sarif)

    md = render(result, "markdown")
    tokens = md_parser().parse(md)
    cells = [t for t in tokens if t.type == "inline" and ("onerror" in t.content or "evil" in t.content)]
    assert len(cells) >= 2  # the package name and the summary cells
    inline = [c for t in cells for c in t.children or []]
    assert not [c for c in inline if c.type in ("html_inline", "link_open", "strong_open")]
    assert not [t for t in tokens if t.type == "heading_open" and t.tag == "h2"]
    assert "\\@octocat" in md
    assert "&lt;script&gt;" in md

    html = render(result, "html")
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("<script>") == 1  # the report's own


# --- errors and the registry -----------------------------------------------------------------------


def test_unknown_format_and_threshold(report_scans: dict[str, ScanResult]) -> None:
    with pytest.raises(ReportError, match="unknown report format 'xml'"):
        render(report_scans["app"], "xml")
    with pytest.raises(ReportError, match="unknown severity"):
        render(report_scans["app"], "junit", options=RenderOptions(fail_on="severe"))
    assert "cyclonedx-json" in FORMATS


# --- CLI -------------------------------------------------------------------------------------------


def hullscan_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["hullscan", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO / "python"), **(env or {})},
    )


@pytest.fixture(scope="module")
def cli_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from report_images import import_advisories

    work = tmp_path_factory.mktemp("report-cli")
    import_advisories(work / "cache", work / "advisories")
    return work / "cache"


IMAGE = DATA / "images/oci-layout/umoci-alpine-3.20.3-x86_64.oci-layout.tar"


def test_cli_several_formats_in_one_run(cli_db: Path, tmp_path: Path) -> None:
    out = {fmt: tmp_path / f"report.{fmt}" for fmt in ("sarif", "junit", "html", "markdown")}
    args = [f"{fmt}={path}" for fmt, path in out.items()]
    p = hullscan_cli(
        "scan",
        f"oci-archive:{IMAGE}",
        "--offline",
        "--cache-dir",
        str(cli_db),
        "--format",
        "json",
        "--output",
        str(tmp_path / "scan.json"),
        *[a for arg in args for a in ("--output", arg)],
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout == ""  # the --format report went to its file
    doc = json.loads((tmp_path / "scan.json").read_text())
    assert_valid(scan_schema(), doc)
    assert_valid(json.loads(SARIF_SCHEMA.read_text()), json.loads(out["sarif"].read_text()))
    # Packages, then the image checks (the image runs as root and has no HEALTHCHECK).
    assert len(JUnitXml.fromfile(str(out["junit"]))) == 2
    assert out["html"].read_text().startswith("<!DOCTYPE html>")
    md_parser().render(out["markdown"].read_text())
    ids = {f["id"] for f in doc["findings"]}
    assert ids
    assert all(i in out["html"].read_text() for i in ids)
    written = sorted(x.name for x in tmp_path.iterdir())
    assert written == sorted(["scan.json", *[p.name for p in out.values()]])


def test_cli_table_colour(cli_db: Path, tmp_path: Path) -> None:
    base = ["scan", f"oci-archive:{IMAGE}", "--offline", "--cache-dir", str(cli_db)]
    plain = hullscan_cli(*base)  # stdout is a pipe: no colour
    assert plain.returncode == 0, plain.stderr
    assert "\x1b[" not in plain.stdout
    assert "UNKNOWN (56)" in plain.stdout
    forced = hullscan_cli(*base, "--color", "always")
    assert "\x1b[37mUNKNOWN (56)\x1b[0m" in forced.stdout
    assert "\x1b[" not in hullscan_cli(*base, "--color", "never").stdout
    # With --output sarif=FILE the table still goes to standard output.
    assert "UNKNOWN (56)" in hullscan_cli(*base, "--output", f"sarif={tmp_path / 'x.sarif'}").stdout


def test_cli_colour_on_a_terminal(cli_db: Path) -> None:
    """auto: colour on a terminal (a real pty), none with NO_COLOR set."""
    import pty

    base = ["hullscan", "scan", f"oci-archive:{IMAGE}", "--offline", "--cache-dir", str(cli_db)]

    def on_tty(env: dict[str, str]) -> str:
        leader, follower = pty.openpty()
        try:
            subprocess.run(
                base,
                stdout=follower,
                stderr=subprocess.DEVNULL,
                check=True,
                env={
                    **{k: v for k, v in os.environ.items() if k != "NO_COLOR"},
                    "PYTHONPATH": str(REPO / "python"),
                    "TERM": "xterm",
                    **env,
                },
            )
            os.close(follower)
            chunks = []
            while True:
                try:
                    data = os.read(leader, 65536)
                except OSError:
                    break
                if not data:
                    break
                chunks.append(data)
            return b"".join(chunks).decode()
        finally:
            os.close(leader)

    assert "\x1b[37mUNKNOWN (56)" in on_tty({})
    assert "\x1b[" not in on_tty({"NO_COLOR": "1"})


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--output", "xml=report.xml"], "unknown format 'xml'"),
        (["--output", "sarif=a.sarif", "--output", "junit=a.sarif"], "more than once"),
        (["--output", "sarif={tmp}/missing/dir/a.sarif", "--output", "html={tmp}/ok.html"], "No such file"),
    ],
)
def test_cli_bad_output(cli_db: Path, tmp_path: Path, args: list[str], message: str) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    p = hullscan_cli("scan", f"oci-archive:{IMAGE}", "--offline", "--cache-dir", str(cli_db), *args)
    assert p.returncode == 2
    assert message in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "Traceback" not in p.stderr
    assert not [x for x in tmp_path.iterdir() if x.suffix in (".sarif", ".html", ".tmp")]
