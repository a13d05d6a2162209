"""The database and scan the triage and gate tests share.

Real parts: the Alpine 3.20.3 image (umoci OCI layout), the real Alpine 3.20 secfixes for its
packages (vuln-list), the real CISA KEV catalog. Clearly test data, generated here because no real
file has it for these CVEs: CVSS vectors for three of the image's real CVEs and one unfixed zlib
advisory (OSV records named ``HULLSCAN-TEST-*``), EPSS scores for the image's CVEs in the published
EPSS CSV format (gzip, with the ``#model_version`` line), and one KEV entry for CVE-2024-58251
appended to the real catalog (its fields copied from the catalog's first entry, the name marked as
test data).
"""

from __future__ import annotations

import copy
import gzip
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import hullscan
from conftest import DATA, require_tool
from hullscan import db as adb

IMAGE = DATA / "images/oci-layout/umoci-alpine-3.20.3-x86_64.oci-layout.tar"
VULN_LIST = DATA / "advisories/alpine-secdb/vuln-list-alpine-3.20-main-5pkgs.tar.zst"
KEV_JSON = DATA / "advisories/kev/known_exploited_vulnerabilities.json"
KEV_CSV = DATA / "advisories/kev/known_exploited_vulnerabilities.csv"
EPSS_SAMPLES = DATA / "advisories/epss"
OPENVEX_SCHEMA = DATA / "schemas/openvex/openvex_json_schema.json"

#: Test data: (CVE, source package, fixed version from the real secfixes, CVSS vector).
SEVERITIES = (
    ("CVE-2025-26519", "musl", "1.2.5-r1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),  # 9.8
    ("CVE-2024-9143", "openssl", "3.3.2-r1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"),  # 7.5
    ("CVE-2024-58251", "busybox", "1.36.1-r31", "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:L/I:L/A:N"),  # 4.4
)
HIGH_EPSS_CVE = "CVE-2024-9143"
HIGH_EPSS = 0.91
KEV_CVE = "CVE-2024-58251"
UNFIXED_ID = "HULLSCAN-TEST-UNFIXED-1"


@dataclass(frozen=True)
class TriageDb:
    cache: Path
    generation: Path
    work: Path
    #: The scan of IMAGE against it (no ignore rules, no VEX).
    result: hullscan.ScanResult


def _osv(rid: str, aliases: list[str], pkg: str, events: list[dict[str, str]], vector: str) -> dict[str, Any]:
    return {
        "id": rid,
        "modified": "2026-01-01T00:00:00Z",
        "aliases": aliases,
        "summary": "hullscan test data: a CVSS vector for the triage tests",
        "severity": [{"type": "CVSS_V3", "score": vector}],
        "affected": [
            {
                "package": {"ecosystem": "Alpine:v3.20", "name": pkg},
                "ranges": [{"type": "ECOSYSTEM", "events": events}],
            }
        ],
    }


def write_epss(path: Path, scores: dict[str, float], date: str = "2026-12-01") -> Path:
    """An EPSS file in the published format (gzip, comment line, header, rows)."""
    ranked = sorted(scores.values())
    lines = [f"#model_version:v2025.03.14,score_date:{date}T00:00:00+0000", "cve,epss,percentile"]
    for cve, s in sorted(scores.items()):
        pct = sum(1 for x in ranked if x <= s) / len(ranked)
        lines.append(f"{cve},{s:.5f},{pct:.5f}")
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return path


def write_kev(path: Path, extra_cves: list[str]) -> Path:
    """The real KEV catalog with entries for ``extra_cves`` appended (test data)."""
    catalog = json.loads(KEV_JSON.read_text())
    for cve in extra_cves:
        entry = copy.deepcopy(catalog["vulnerabilities"][0])
        entry["cveID"] = cve
        entry["vulnerabilityName"] = f"hullscan test data: {cve} listed for the triage tests"
        entry["dateAdded"] = "2026-11-30"
        entry["dueDate"] = "2026-12-21"
        catalog["vulnerabilities"].append(entry)
    catalog["count"] = len(catalog["vulnerabilities"])
    path.write_text(json.dumps(catalog, indent=4))
    return path


def cves_of(result: hullscan.ScanResult) -> set[str]:
    return {i for f in result.findings for i in (f.id, *f.aliases) if i.startswith("CVE-")}


@pytest.fixture(scope="session")
def triage_db(tmp_path_factory: pytest.TempPathFactory) -> TriageDb:
    work = tmp_path_factory.mktemp("triage")
    cache = work / "cache"
    zstd = subprocess.run([require_tool("zstd"), "-dc", str(VULN_LIST)], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(work)], input=zstd.stdout, check=True)
    osv = work / "test-osv"
    osv.mkdir()
    for cve, pkg, fixed, vector in SEVERITIES:
        rec = _osv(f"HULLSCAN-TEST-{cve}", [cve], pkg, [{"introduced": "0"}, {"fixed": fixed}], vector)
        (osv / f"HULLSCAN-TEST-{cve}.json").write_text(json.dumps(rec))
    unfixed = _osv(
        UNFIXED_ID, [], "zlib", [{"introduced": "0"}], "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"
    )
    (osv / f"{UNFIXED_ID}.json").write_text(json.dumps(unfixed))
    adb.import_paths([work / "vuln-list-alpine-3.20-main", osv], cache_dir=cache).close()
    with adb.open_db(cache) as d:
        first = hullscan.scan(str(IMAGE), db=d.path)
    cves = sorted(cves_of(first))
    scores = {c: round(0.001 * (i + 1), 5) for i, c in enumerate(cves)}
    scores[HIGH_EPSS_CVE] = HIGH_EPSS
    epss = write_epss(work / "epss_scores-2026-12-01.csv.gz", scores)
    kev = write_kev(work / "known_exploited_vulnerabilities.json", [KEV_CVE])
    adb.import_paths([epss, kev], cache_dir=cache).close()
    with adb.open_db(cache) as d:
        gen = d.path
        result = hullscan.scan(str(IMAGE), db=gen)
    return TriageDb(cache, gen, work, result)
