"""Triage: ignore rules, VEX documents, the risk order and the CI gate.

::

    result = hullscan.scan("oci-archive:image.tar")
    result = hullscan.policy.apply(result, ignore=".hullscan.yaml", vex=["app.openvex.json"])
    result.findings       # what is left, in risk order
    result.suppressed     # what a rule or statement suppressed, each with its ``suppression``
    reason = hullscan.policy.gate.evaluate(result.findings, Gate(fail_on="high", fail_on_kev=True))

Modules: :mod:`~hullscan.policy.ignore` (the ``.hullscan.yaml`` ignore file),
:mod:`~hullscan.policy.vex` (OpenVEX / CycloneDX VEX in, OpenVEX out),
:mod:`~hullscan.policy.risk` (EPSS / KEV enrichment and the risk score),
:mod:`~hullscan.policy.gate` (``--fail-on`` and friends).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Sequence

from hullscan.policy import gate, ignore, risk, vex
from hullscan.policy.gate import Gate, evaluate
from hullscan.policy.ignore import IgnoreFile, IgnoreRule
from hullscan.policy.subject import Subject
from hullscan.scan import Finding, ScanResult, Suppression


def today_utc() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def image_of(result: ScanResult) -> vex.Image:
    return vex.Image(digest=result.inventory.manifest_digest)


def apply(
    result: ScanResult,
    *,
    ignore: str | os.PathLike[str] | IgnoreFile | None = None,
    vex: Sequence[str | os.PathLike[str]] = (),
    ignore_unfixed: bool = False,
    today: dt.date | None = None,
) -> ScanResult:
    """``result`` with ignore rules and VEX statements applied: the findings they suppress move
    to ``suppressed`` (each with a :class:`~hullscan.scan.Suppression`); expired ignore rules are
    reported in ``warnings``. VEX statements are applied first (a ``not_affected`` statement is
    the stronger claim), then ignore rules. ``ignore_unfixed`` leaves out findings without a fix
    (they are dropped, not suppressed). ``today`` (default: today in UTC) decides which rules
    have expired."""
    from hullscan.policy import ignore as ignore_mod
    from hullscan.policy import vex as vex_mod

    rules = ignore_mod.load(ignore) if isinstance(ignore, (str, os.PathLike)) else ignore
    statements = [st for path in vex for st in vex_mod.load(path)]
    findings = [f for f in result.findings if not (ignore_unfixed and f.status == "not_fixed")]
    warnings = list(result.warnings)
    suppressed = list(result.suppressed)

    if statements:
        decided = vex_mod.decide([Subject.of(f) for f in findings], statements, image_of(result))
        kept = []
        for i, f in enumerate(findings):
            st = decided.get(i)
            if st is None:
                kept.append(f)
                continue
            sup = Suppression(
                kind="vex",
                status=st.status,
                reason=st.justification,
                statement=st.statement,
                source=st.source,
            )
            suppressed.append(dataclasses.replace(f, suppression=sup))
        findings = kept
    if rules is not None:
        hits, notes = ignore_mod.apply([Subject.of(f) for f in findings], rules, today or today_utc())
        warnings.extend(notes)
        kept = []
        for i, f in enumerate(findings):
            rule = hits.get(i)
            if rule is None:
                kept.append(f)
                continue
            sup = Suppression(
                kind="ignore",
                status="ignored",
                reason=rule.reason,
                source=rule.source,
                expires=rule.expires.isoformat() if rule.expires else None,
            )
            suppressed.append(dataclasses.replace(f, suppression=sup))
        findings = kept
    return dataclasses.replace(
        result, findings=tuple(findings), suppressed=tuple(suppressed), warnings=tuple(warnings)
    )


__all__ = [
    "Finding",
    "Gate",
    "IgnoreFile",
    "IgnoreRule",
    "apply",
    "evaluate",
    "gate",
    "ignore",
    "risk",
    "today_utc",
    "vex",
]
