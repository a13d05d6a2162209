"""Must-show 4: each gate option's exit code through the real CLI, on a scan of a real image
with known findings (see triage_data). The expected outcomes are derived from the scan's own JSON
output without a gate, so the test follows the data, not hard-coded counts."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from hullscan.severity import RANK
from triage_data import HIGH_EPSS, IMAGE, KEV_CVE, UNFIXED_ID, TriageDb
from triage_data import triage_db as triage_db


def run(db: TriageDb, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["hullscan", "scan", str(IMAGE), "--db", str(db.generation), "--offline", "--no-ignore-file", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )


def gate_lines(p: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in p.stderr.splitlines() if "gate failed" in line]


@pytest.fixture(scope="module")
def findings(triage_db: TriageDb) -> list[dict[str, Any]]:
    p = run(triage_db, "--format", "json")
    assert p.returncode == 0, p.stderr
    out: list[dict[str, Any]] = json.loads(p.stdout)["findings"]
    return out


def at_or_above(findings: list[dict[str, Any]], level: str) -> list[dict[str, Any]]:
    return [f for f in findings if RANK[f["severity"]["level"]] >= RANK[level]]


def test_no_gate_passes(triage_db: TriageDb, findings: list[dict[str, Any]]) -> None:
    assert findings
    p = run(triage_db)
    assert p.returncode == 0, p.stderr
    assert gate_lines(p) == []


def test_fail_on(triage_db: TriageDb, findings: list[dict[str, Any]]) -> None:
    crit = at_or_above(findings, "critical")
    assert crit
    p = run(triage_db, "--fail-on", "critical")
    assert p.returncode == 1
    (line,) = gate_lines(p)
    assert line.startswith(f"hullscan: gate failed: {len(crit)} findings at or above critical (")
    assert crit[0]["id"] in line
    p = run(triage_db, "--fail-on", "low", "--vex", "/dev/null")
    assert p.returncode == 2  # an unreadable VEX is an error, not a pass
    assert p.stderr.count("\n") == 1


def test_fail_on_suppressed_findings_never_fail(
    triage_db: TriageDb, findings: list[dict[str, Any]], tmp_path: Path
) -> None:
    crit_ids = sorted({f["id"] for f in at_or_above(findings, "critical")})
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "ignore:\n"
        + "".join(f"  - id: {i}\n    reason: accepted risk\n    expires: 2099-01-01\n" for i in crit_ids)
    )
    p = run(triage_db, "--fail-on", "critical", "--ignore-file", str(rules))
    assert p.returncode == 0, p.stderr
    # An expired rule stops applying: the gate fails again, and the expiry is reported.
    rules.write_text(rules.read_text().replace("2099-01-01", "2020-01-01"))
    p = run(triage_db, "--fail-on", "critical", "--ignore-file", str(rules))
    assert p.returncode == 1
    assert "expired on 2020-01-01" in p.stderr
    # An OpenVEX not_affected statement does the same.
    vex = tmp_path / "crit.openvex.json"
    vex.write_text(
        json.dumps(
            {
                "@context": "https://openvex.dev/ns/v0.2.0",
                "@id": "https://openvex.dev/docs/public/vex-gate-test",
                "author": "hullscan tests",
                "timestamp": "2026-12-01T00:00:00Z",
                "version": 1,
                "statements": [
                    {
                        "vulnerability": {"name": i},
                        "products": [{"@id": "pkg:oci/alpine"}],
                        "status": "not_affected",
                        "justification": "vulnerable_code_not_in_execute_path",
                    }
                    for i in crit_ids
                ],
            }
        )
    )
    p = run(triage_db, "--fail-on", "critical", "--vex", str(vex))
    assert p.returncode == 0, p.stderr


def test_fail_on_count(triage_db: TriageDb, findings: list[dict[str, Any]]) -> None:
    n = len(at_or_above(findings, "high"))
    assert n >= 2
    p = run(triage_db, "--fail-on-count", f"high={n - 1}")
    assert p.returncode == 1
    (line,) = gate_lines(p)
    assert f"{n} findings at or above high, more than the {n - 1} allowed" in line
    p = run(triage_db, "--fail-on-count", f"high={n}")
    assert p.returncode == 0, p.stderr
    m = len(at_or_above(findings, "medium"))
    assert m > n
    p = run(triage_db, "--fail-on-count", f"high={n}", "--fail-on-count", f"medium={m - 1}")
    assert p.returncode == 1
    assert f"{m} findings at or above medium" in gate_lines(p)[0]
    p = run(triage_db, "--fail-on-count", "severe=1")
    assert p.returncode == 2


def test_fail_on_epss(triage_db: TriageDb, findings: list[dict[str, Any]]) -> None:
    scores = [f["epss"]["score"] for f in findings if f["epss"]]
    assert max(scores) == HIGH_EPSS
    p = run(triage_db, "--fail-on-epss", str(HIGH_EPSS))
    assert p.returncode == 1
    n = sum(1 for s in scores if s >= HIGH_EPSS)
    assert gate_lines(p)[0].startswith(f"hullscan: gate failed: {n} findings with EPSS >= {HIGH_EPSS:g}")
    p = run(triage_db, "--fail-on-epss", str(round(HIGH_EPSS + 0.01, 2)))
    assert p.returncode == 0, p.stderr
    p = run(triage_db, "--fail-on-epss", "1.5")
    assert p.returncode == 2


def test_fail_on_kev(triage_db: TriageDb, findings: list[dict[str, Any]], tmp_path: Path) -> None:
    in_kev = [f for f in findings if f["kev"]]
    assert {f["id"] for f in in_kev} == {KEV_CVE}
    p = run(triage_db, "--fail-on-kev")
    assert p.returncode == 1
    assert gate_lines(p) == [
        f"hullscan: gate failed: {len(in_kev)} findings in the CISA KEV catalog ({KEV_CVE})"
    ]
    rules = tmp_path / "kev.yaml"
    rules.write_text(f"ignore:\n  - id: {KEV_CVE}\n    reason: busybox applets are not used\n")
    p = run(triage_db, "--fail-on-kev", "--ignore-file", str(rules))
    assert p.returncode == 0, p.stderr


def test_ignore_unfixed(triage_db: TriageDb, findings: list[dict[str, Any]]) -> None:
    unfixed = [f for f in findings if f["status"] == "not_fixed"]
    assert [f["id"] for f in unfixed] == [UNFIXED_ID]
    high = at_or_above(findings, "high")
    fixed_high = [f for f in high if f["status"] == "fixed"]
    assert len(fixed_high) == len(high) - 1
    p = run(triage_db, "--fail-on-count", f"high={len(fixed_high)}")
    assert p.returncode == 1
    p = run(triage_db, "--fail-on-count", f"high={len(fixed_high)}", "--ignore-unfixed")
    assert p.returncode == 0, p.stderr
    p = run(triage_db, "--ignore-unfixed", "--format", "json")
    assert UNFIXED_ID not in {f["id"] for f in json.loads(p.stdout)["findings"]}
