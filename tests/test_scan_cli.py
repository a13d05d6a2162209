"""`hullscan scan`: the gate's exit codes, --ignore-unfixed, --offline without a database, the
stale-database warning, and the JSON field names other tools read."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import DATA

IMAGE = DATA / "images/oci-layout/umoci-alpine-3.20.3-x86_64.oci-layout.tar"
CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"


def hullscan(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["hullscan", *args], capture_output=True, text=True, check=False, env={**os.environ, **(env or {})}
    )


@pytest.fixture
def advisories(tmp_path: Path) -> Path:
    """Two OSV records of our own: a critical, fixed busybox one and an unfixed musl one."""
    d = tmp_path / "osv"
    d.mkdir()
    (d / "TEST-1.json").write_text(
        json.dumps(
            {
                "id": "TEST-1",
                "modified": "2024-01-01T00:00:00Z",
                "aliases": ["CVE-2099-0001"],
                "summary": "critical busybox bug",
                "severity": [{"type": "CVSS_V3", "score": CRITICAL}],
                "affected": [
                    {
                        "package": {"ecosystem": "Alpine:v3.20", "name": "busybox"},
                        "ranges": [
                            {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.36.1-r30"}]}
                        ],
                    }
                ],
            }
        )
    )
    (d / "TEST-2.json").write_text(
        json.dumps(
            {
                "id": "TEST-2",
                "modified": "2024-01-01T00:00:00Z",
                "summary": "unfixed musl bug",
                "database_specific": {"severity": "LOW"},
                "affected": [
                    {
                        "package": {"ecosystem": "Alpine:v3.20", "name": "musl"},
                        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
                    }
                ],
            }
        )
    )
    p = hullscan("db", "import", str(d))
    assert p.returncode == 0, p.stderr
    return d


def test_gate_exit_codes(advisories: Path) -> None:
    p = hullscan("scan", str(IMAGE), "--offline")
    assert p.returncode == 0, p.stderr
    assert "CRITICAL" in p.stdout
    assert "TEST-2" in p.stdout
    p = hullscan("scan", str(IMAGE), "--offline", "--fail-on", "critical")
    assert p.returncode == 1
    assert "gate failed" in p.stderr
    p = hullscan("scan", str(IMAGE), "--offline", "--fail-on", "low", "--ignore-unfixed")
    assert p.returncode == 1  # the critical busybox finding is fixed, so it stays
    p = hullscan("scan", str(IMAGE), "--offline", "--fail-on", "critical", "--ignore-unfixed")
    assert p.returncode == 1


def test_json_fields(advisories: Path, tmp_path: Path) -> None:
    out = tmp_path / "scan.json"
    p = hullscan("scan", str(IMAGE), "--offline", "--format", "json", "--output", str(out))
    assert p.returncode == 0, p.stderr
    doc = json.loads(out.read_text())
    assert doc["packages"]
    by_id = {f["id"]: f for f in doc["findings"]}
    crit = by_id["CVE-2099-0001"]
    assert crit["aliases"] == ["TEST-1"]
    assert set(crit["package"]) == {"name", "version", "ecosystem", "purl"}
    assert crit["fixed_versions"] == ["1.36.1-r30"]
    assert crit["status"] == "fixed"
    assert crit["severity"] == {"level": "critical", "score": 9.8, "vector": CRITICAL, "source": "cvss_v3"}
    assert crit["explanation"]["comparator"] == "apk"
    assert crit["explanation"]["fixed"] == "1.36.1-r30"
    unfixed = by_id["TEST-2"]
    assert unfixed["status"] == "not_fixed"
    assert unfixed["fixed_versions"] == []
    assert unfixed["severity"]["level"] == "low"
    assert unfixed["severity"]["source"].endswith(":severity")
    p = hullscan("scan", str(IMAGE), "--offline", "--format", "json", "--ignore-unfixed")
    assert "TEST-2" not in {f["id"] for f in json.loads(p.stdout)["findings"]}


def test_offline_without_database_says_how_to_get_one() -> None:
    p = hullscan("scan", str(IMAGE), "--offline")
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1
    assert "hullscan db import" in p.stderr


def test_stale_database_warns(advisories: Path) -> None:
    p = hullscan("scan", str(IMAGE), "--offline", env={"HULLSCAN_DB_MAX_AGE": "0s"})
    assert p.returncode == 0
    assert "days old" in p.stderr
    p = hullscan("scan", str(IMAGE), "--offline")
    assert "days old" not in p.stderr


def test_scan_with_explicit_index(advisories: Path, isolated_cache: Path) -> None:
    from hullscan import db, scan

    database = db.open_db()
    result = scan(str(IMAGE), db=database.path)
    assert {f.id for f in result.findings} >= {"CVE-2099-0001", "TEST-2"}
    assert result.db["path"].endswith("index.bin")
