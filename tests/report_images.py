"""Real scans the report tests render: built once per session.

- ``app``: the Alpine 3.20.3 image (the umoci OCI layout in the test data) with a second layer that
  pip-installed requests 2.19.0 (its dist-info, fixed mtimes, a BuildKit-style history entry), saved
  as a docker-archive tagged ``hullscan/report-app:1``; scanned against the Alpine 3.20 secfixes and
  the PyPI advisory database. Deterministic: the golden reports are made from it.
- ``alpine``: the same test-data image as published, one layer (oci-archive).
- ``alpine310``: real ``docker save`` of alpine:3.10 against the 3.10 secdb: no findings.
- ``coverage``: syft's package-coverage tree (``dir:``, no layers) against the language databases.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

import hullscan
from conftest import DATA, require_tool
from hullscan.scan import Epss, Kev, ScanResult, Suppression

TAG = "127.0.0.1:5000/hullscan/report-app:1"
COVERAGE = "syft/cmd/syft/internal/test/integration/testdata/image-pkg-coverage"
FIXED_TIME = 1704067200  # 2024-01-01T00:00:00Z


def _unzstd_tar(archive: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    data = subprocess.run([require_tool("zstd"), "-dc", str(archive)], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=data, check=True)
    return dest


def build_app_image(work: Path) -> Path:
    """The two-layer image as a docker-archive (see the module docstring)."""
    require_tool("umoci")
    require_tool("skopeo")
    layout_parent = work / "layout"
    layout_parent.mkdir()
    subprocess.run(
        ["tar", "-xf", str(DATA / "images/oci-layout/umoci-alpine-3.20.3-x86_64.oci-layout.tar")],
        cwd=layout_parent,
        check=True,
    )
    layout = layout_parent / "oci-alpine"
    add = work / "add" / "usr"
    meta = add / "lib/python3.12/site-packages/requests-2.19.0.dist-info/METADATA"
    meta.parent.mkdir(parents=True)
    meta.write_text("Metadata-Version: 2.1\nName: requests\nVersion: 2.19.0\nLicense: Apache 2.0\n")
    for p in [meta, *meta.parents]:
        os.utime(p, (FIXED_TIME, FIXED_TIME))
        if p == add:
            break
    subprocess.run(
        [
            "umoci",
            "insert",
            "--image",
            f"{layout}:3.20.3",
            "--tag",
            "app",
            "--history.created_by",
            "RUN pip install requests==2.19.0 # buildkit",
            "--history.created",
            "2024-01-01T00:00:00Z",
            str(add),
            "/usr",
        ],
        check=True,
        capture_output=True,
    )
    out = work / "app.docker.tar"
    subprocess.run(
        ["skopeo", "copy", "--quiet", f"oci:{layout}:app", f"docker-archive:{out}:{TAG}"],
        check=True,
        capture_output=True,
    )
    return out


def import_advisories(cache: Path, work: Path) -> None:
    from hullscan import db

    secdb = _unzstd_tar(DATA / "advisories/alpine-secdb/vuln-list-alpine-3.20-main-5pkgs.tar.zst", work)
    osv = DATA / "advisories/osv"
    paths = [secdb / "vuln-list-alpine-3.20-main"]
    paths += [osv / e / "all.zip" for e in ("PyPI", "npm", "Maven", "Go", "crates.io")]
    db.import_paths(paths, cache_dir=cache).close()


_SCANS: dict[str, ScanResult] = {}


def report_scans(tmp_path_factory: pytest.TempPathFactory, edge_fixtures: Path) -> dict[str, ScanResult]:
    """The scans, made once per session (the test modules' ``report_scans`` fixtures call this)."""
    if not _SCANS:
        _SCANS.update(_build(tmp_path_factory, edge_fixtures))
    return _SCANS


def _build(tmp_path_factory: pytest.TempPathFactory, edge_fixtures: Path) -> dict[str, ScanResult]:
    work = tmp_path_factory.mktemp("report")
    cache = work / "cache"
    import_advisories(cache, work / "advisories")
    archive = build_app_image(work)
    old = _unzstd_tar(DATA / "advisories/alpine-secdb/alpine-secdb-v3.3-v3.11.tar.zst", work / "old")
    from hullscan import db

    cache310 = work / "cache310"
    db.import_paths(sorted((old / "alpine-secdb/json/v3.10").glob("*.json")), cache_dir=cache310).close()

    def scan(source: str, cache_dir: Path = cache) -> ScanResult:
        result = hullscan.scan(source, offline=True, cache_dir=cache_dir)
        # The database path and age change with every run; what the reports show of it is fixed.
        return replace(result, db={"sources": result.db["sources"]})

    return {
        "app": scan(f"docker-archive:{archive}"),
        "alpine": scan(f"oci-archive:{DATA / 'images/oci-layout/umoci-alpine-3.20.3-x86_64.oci-layout.tar'}"),
        "alpine310": scan(
            f"docker-archive:{DATA / 'images/docker-archive/trivy-alpine-310.docker-archive.tar.gz'}",
            cache310,
        ),
        "coverage": scan(f"dir:{edge_fixtures / COVERAGE}"),
    }


def enriched(result: ScanResult) -> ScanResult:
    """``result`` with triage data set as the triage step would: EPSS on every CVE finding, a KEV
    entry on the first, and the first non-PyPI finding suppressed by a VEX statement, another by an
    ignore rule."""
    findings = list(result.findings)
    out = []
    for i, f in enumerate(findings):
        if f.id.startswith("CVE-"):
            f = replace(
                f, epss=Epss(score=round(0.9 - i * 0.01, 4), percentile=0.99 - i * 0.001, date="2025-08-25")
            )
        if i == 0:
            f = replace(
                f,
                kev=Kev(
                    date_added="2025-01-15",
                    due_date="2025-02-05",
                    known_ransomware="Unknown",
                    required_action="Apply mitigations per vendor instructions.",
                    name="Requests Proxy-Authorization leak",
                ),
            )
        out.append(f)
    others = [f for f in out if f.package.ecosystem != "PyPI"]
    vex = replace(
        others[0],
        suppression=Suppression(
            kind="vex",
            status="not_affected",
            reason="vulnerable_code_not_in_execute_path",
            statement="busybox applets with the bug are not used by the service",
            source="service.openvex.json",
        ),
    )
    ignored = replace(
        others[1],
        suppression=Suppression(
            kind="ignore",
            status="ignored",
            reason="accepted risk, ticket SEC-42",
            source=".hullscanignore",
            expires="2099-01-01",
        ),
    )
    kept = tuple(f for f in out if f is not others[0] and f is not others[1])
    return replace(result, findings=kept, suppressed=(vex, ignored))
