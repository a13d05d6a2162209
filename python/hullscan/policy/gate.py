"""The CI gate: whether a scan's (unsuppressed) findings fail the build, and why, in one line.

- ``fail_on``: any finding at or above the level.
- ``fail_on_count``: ``{level: n}``: more than ``n`` findings at or above the level (``high=0``
  is the same as ``fail_on="high"``; ``high=5`` tolerates five).
- ``fail_on_epss``: any finding whose EPSS score is at least ``p``.
- ``fail_on_kev``: any finding in CISA's KEV catalog.

Suppressed findings (``ScanResult.suppressed``) never fail the gate: only ``findings`` is looked
at. The first condition that fails, in the order above, gives the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from hullscan.scan import Finding
from hullscan.severity import LEVELS, RANK

#: How many ids a reason lists before ``...``.
MAX_IDS = 5


@dataclass(frozen=True, slots=True)
class Gate:
    fail_on: str | None = None
    fail_on_count: Mapping[str, int] = field(default_factory=dict)
    fail_on_epss: float | None = None
    fail_on_kev: bool = False

    def __post_init__(self) -> None:
        for level in (self.fail_on, *self.fail_on_count):
            if level is not None and level not in LEVELS:
                raise ValueError(f"unknown severity level {level!r}")
        if any(n < 0 for n in self.fail_on_count.values()):
            raise ValueError("a finding count limit cannot be negative")
        if self.fail_on_epss is not None and not 0.0 <= self.fail_on_epss <= 1.0:
            raise ValueError("an EPSS threshold is a probability between 0 and 1")

    @property
    def active(self) -> bool:
        return bool(self.fail_on or self.fail_on_count or self.fail_on_epss is not None or self.fail_on_kev)


def _ids(fs: Sequence[Finding]) -> str:
    ids = list(dict.fromkeys(f.id for f in fs))
    more = f", ... {len(ids) - MAX_IDS} more" if len(ids) > MAX_IDS else ""
    return ", ".join(ids[:MAX_IDS]) + more


def _n(k: int) -> str:
    return f"{k} finding{'s' if k != 1 else ''}"


def evaluate(findings: Sequence[Finding], gate: Gate) -> str | None:
    """None if the findings pass, else the one-line reason."""

    def at_or_above(level: str) -> list[Finding]:
        return [f for f in findings if RANK[f.severity.level] >= RANK[level]]

    if gate.fail_on:
        over = at_or_above(gate.fail_on)
        if over:
            return f"{_n(len(over))} at or above {gate.fail_on} ({_ids(over)})"
    for level, limit in sorted(gate.fail_on_count.items(), key=lambda kv: -RANK[kv[0]]):
        over = at_or_above(level)
        if len(over) > limit:
            return f"{_n(len(over))} at or above {level}, more than the {limit} allowed ({_ids(over)})"
    if gate.fail_on_epss is not None:
        threshold = gate.fail_on_epss
        over = [f for f in findings if f.epss is not None and f.epss.score >= threshold]
        if over:
            return f"{_n(len(over))} with EPSS >= {threshold:g} ({_ids(over)})"
    if gate.fail_on_kev:
        over = [f for f in findings if f.kev is not None]
        if over:
            return f"{_n(len(over))} in the CISA KEV catalog ({_ids(over)})"
    return None


__all__ = ["Gate", "evaluate"]
