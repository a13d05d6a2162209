"""``table``: findings grouped by severity, for a terminal (colour only when asked for)."""

from __future__ import annotations

from hullscan.report._common import (
    exploit_text,
    fixed_text,
    layer_infos,
    layer_of,
    oneline,
    snippet,
    suppression_text,
)
from hullscan.scan import Finding, ScanResult
from hullscan.severity import LEVELS, RANK

_COLOURS = {"critical": "1;31", "high": "31", "medium": "33", "low": "36", "unknown": "37"}


def _paint(text: str, level: str, colour: bool) -> str:
    return f"\x1b[{_COLOURS[level]}m{text}\x1b[0m" if colour else text


def _rows(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def render(result: ScanResult, *, colour: bool = False) -> str:
    inv = result.inventory
    findings = result.findings
    infos = layer_infos(inv)
    lines = [oneline(inv.source) + (f" ({oneline(inv.platform)})" if inv.platform else "")]
    if inv.distro is not None:
        lines.append(
            f"distro: {oneline(inv.distro.pretty_name or inv.distro.id)} [{oneline(inv.distro.ecosystem)}]"
        )
    by_level = {level: [f for f in findings if f.severity.level == level] for level in LEVELS}
    fixable = sum(1 for f in findings if f.fixed_versions)
    lines.append(
        f"packages: {len(inv.packages)}   findings: {len(findings)} ("
        + ", ".join(_paint(f"{level} {len(by_level[level])}", level, colour) for level in LEVELS)
        + f")   fixable: {fixable}"
        + (f"   suppressed: {len(result.suppressed)}" if result.suppressed else "")
    )
    if infos:
        lines.append("layers:")
        lines += [
            "  " + r
            for r in _rows(
                [
                    (str(i.index), i.origin, i.short_digest, oneline(snippet(i.created_by, 70)))
                    for i in infos.values()
                ]
            )
        ]
    exploit = any(f.epss is not None or f.kev is not None for f in findings)
    for level in LEVELS:
        group = by_level[level]
        if not group:
            continue
        lines.append("")
        lines.append(_paint(f"{level.upper()} ({len(group)})", level, colour))
        head: tuple[str, ...] = ("ID", "PACKAGE", "INSTALLED", "FIXED", "LAYER")
        rows = [(*head, "EXPLOIT", "SUMMARY") if exploit else (*head, "SUMMARY")]
        for f in group:
            row = (
                oneline(f.id),
                oneline(f.package.name),
                oneline(f.installed_version),
                oneline(fixed_text(f)),
                layer_of(infos, f).label(),
            )
            summary = oneline(snippet(f.summary or "", 60))
            rows.append((*row, exploit_text(f), summary) if exploit else (*row, summary))
        lines += _rows(rows)
    checks = inv.config_findings
    if checks:
        lines.append("")
        lines.append(f"IMAGE CHECKS ({len(checks)})")
        rows = [("CHECK", "SEVERITY", "WHAT", "WHERE", "LAYER", "DETAIL")]
        for c in sorted(checks, key=lambda c: (-RANK.get(c.severity, 0), c.id, c.location)):
            rows.append(
                (
                    c.id,
                    _paint(c.severity, c.severity, colour) if c.severity in _COLOURS else c.severity,
                    oneline(c.title),
                    oneline(snippet(c.location, 50)),
                    "" if c.layer_index is None else str(c.layer_index),
                    oneline(snippet(c.detail, 80)),
                )
            )
        lines += _rows(rows)
    if result.suppressed:
        lines.append("")
        lines.append(f"SUPPRESSED ({len(result.suppressed)})")
        rows = [("ID", "PACKAGE", "INSTALLED", "SEVERITY", "WHY")]
        rows += [_suppressed_row(f) for f in result.suppressed]
        lines += _rows(rows)
    return "\n".join(lines)


def _suppressed_row(f: Finding) -> tuple[str, ...]:
    return (
        oneline(f.id),
        oneline(f.package.name),
        oneline(f.installed_version),
        f.severity.level,
        oneline(snippet(suppression_text(f), 100)),
    )
