"""EPSS / KEV enrichment of findings, and the risk order findings are reported in.

The risk score of a finding is, in 0..2::

    base = max(cvss_score / 10, LEVEL_WEIGHT[severity level])      # 0..1
    risk = (1 if in KEV else 0) + 0.6 * base + 0.4 * epss_score     # epss_score 0 when unknown

so every finding in CISA's KEV catalog (exploited in the wild) comes first, then the rest by
severity blended with EPSS's probability of exploitation in the next 30 days: a high (0.8) with
EPSS 0.9 (0.84) goes before a critical (1.0) with EPSS 0.01 (0.604). Ties keep the severity order
(rank, then package name and id). :func:`risk_key` is the sort key ``ScanResult.findings`` are in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path

from hullscan.scan import Epss, Finding, Kev
from hullscan.severity import RANK

#: A severity level's weight when the finding has no CVSS score (or a lower one).
LEVEL_WEIGHT = {"critical": 1.0, "high": 0.8, "medium": 0.5, "low": 0.2, "unknown": 0.3}
#: Weight of severity and of EPSS in the score below the KEV step.
SEVERITY_SHARE = 0.6
EPSS_SHARE = 0.4


def risk(f: Finding) -> float:
    """The finding's risk score (see the module docs), rounded to 4 places."""
    base = LEVEL_WEIGHT.get(f.severity.level, 0.3)
    if f.severity.score is not None:
        base = max(base, min(f.severity.score / 10.0, 1.0))
    score = SEVERITY_SHARE * base + EPSS_SHARE * (f.epss.score if f.epss else 0.0)
    return round(score + (1.0 if f.kev else 0.0), 4)


def risk_key(f: Finding) -> tuple[float, int, str, str]:
    """Sort key: highest risk first, then severity rank, package name, id."""
    return (-risk(f), -RANK.get(f.severity.level, 0), f.package.name, f.id)


def sort_by_risk(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=risk_key)


def sort_by_severity(findings: Iterable[Finding]) -> list[Finding]:
    """The order without EPSS and KEV: severity rank, CVSS score, package name, id."""
    return sorted(
        findings,
        key=lambda f: (-RANK.get(f.severity.level, 0), -(f.severity.score or 0.0), f.package.name, f.id),
    )


def _cves(f: Finding) -> list[str]:
    return [i for i in (f.id, *f.aliases) if i.upper().startswith("CVE-")]


def enrich(findings: Sequence[Finding], generation: Path | None) -> list[Finding]:
    """``findings`` with ``epss`` and ``kev`` filled from the database generation's EPSS and KEV
    sources, by the finding's id or a CVE alias (the highest EPSS score when several CVEs)."""
    from hullscan.db import threat

    if generation is None or not findings or not threat.has_data(generation):
        return list(findings)
    ids = {c.upper() for f in findings for c in _cves(f)}
    epss = threat.lookup(generation, "epss", ids)
    kev = threat.lookup(generation, "kev", ids)
    out = []
    for f in findings:
        cves = [c.upper() for c in _cves(f)]
        e = max((epss[c] for c in cves if c in epss), key=lambda r: float(r["score"]), default=None)
        k = next((kev[c] for c in cves if c in kev), None)
        out.append(
            dataclasses.replace(
                f,
                epss=Epss(float(e["score"]), float(e["percentile"]), e.get("date")) if e else None,
                kev=Kev(
                    date_added=k.get("date_added"),
                    due_date=k.get("due_date"),
                    known_ransomware=k.get("known_ransomware"),
                    required_action=k.get("required_action"),
                    name=k.get("name"),
                )
                if k
                else None,
            )
        )
    return out


__all__ = ["LEVEL_WEIGHT", "enrich", "risk", "risk_key", "sort_by_risk", "sort_by_severity"]
