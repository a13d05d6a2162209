"""Severity of an advisory: CVSS vectors scored with the `cvss` package, then the advisory's own
rating (GHSA `database_specific.severity`, distro urgency or ALAS severity) as a fallback."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LEVELS = ("critical", "high", "medium", "low", "unknown")
RANK = {level: i for i, level in enumerate(reversed(LEVELS))}  # unknown 0 ... critical 4

_WORDS = {
    "critical": "critical",
    "important": "high",
    "high": "high",
    "moderate": "medium",
    "medium": "medium",
    "low": "low",
    "negligible": "low",
    "unimportant": "low",
}


@dataclass(frozen=True, slots=True)
class Severity:
    """A finding's severity and where it came from."""

    level: str
    score: float | None = None
    vector: str | None = None
    #: ``cvss_v3``, ``cvss_v4``, ``cvss_v2``, ``ghsa``, ``debian-urgency``, ``alas``, ... or ``none``.
    source: str = "none"


def level_of_score(score: float) -> str:
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    if score > 0.0:
        return "low"
    return "unknown"


def _score(kind: str, vector: str) -> float | None:
    try:
        if kind == "CVSS_V3":
            from cvss import CVSS3

            return float(CVSS3(vector).base_score)
        if kind == "CVSS_V4":
            from cvss import CVSS4

            return float(CVSS4(vector).base_score)
        if kind == "CVSS_V2":
            from cvss import CVSS2

            return float(CVSS2(vector).base_score)
    except Exception:
        return None
    return None


def _word(value: Any) -> str | None:
    if isinstance(value, str):
        return _WORDS.get(value.strip().lower())
    return None


def of_advisory(details: dict[str, Any]) -> Severity:
    """The severity of an advisory from its details (OSV severity list and specifics)."""
    best: Severity | None = None
    for s in details.get("severity") or []:
        if not isinstance(s, dict):
            continue
        kind, vector = s.get("type"), s.get("score")
        if not isinstance(kind, str) or not isinstance(vector, str):
            continue
        score = _score(kind, vector)
        if score is None:
            continue
        cand = Severity(level_of_score(score), score, vector, kind.lower())
        # Prefer the newest CVSS version present: v4 over v3 over v2.
        if best is None or cand.source > best.source:
            best = cand
    if best is not None:
        return best
    for key, source in (("database_specific", "advisory"), ("affected_specific", "distro")):
        spec = details.get(key)
        if not isinstance(spec, dict):
            continue
        for field in ("severity", "urgency", "priority"):
            level = _word(spec.get(field))
            if level is not None:
                name = "ghsa" if str(details.get("id", "")).startswith("GHSA-") else source
                return Severity(level, None, None, f"{name}:{field}")
    return Severity("unknown")
