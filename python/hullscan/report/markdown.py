"""``markdown``: a pull-request comment: the summary, then fixable findings first."""

from __future__ import annotations

import re

from hullscan.report._common import (
    counts,
    exploit_text,
    fixed_text,
    image_name,
    layer_infos,
    layer_of,
    snippet,
    suppression_text,
)
from hullscan.scan import Finding, ScanResult
from hullscan.severity import LEVELS

#: Rows per table: a GitHub comment holds at most 65,536 characters.
MAX_ROWS = 200

_SPECIAL = re.compile(r"([\\`*_\[\]|~@#])")
_ICON = {
    "critical": "\U0001f7e5",
    "high": "\U0001f7e7",
    "medium": "\U0001f7e8",
    "low": "\U0001f7e6",
    "unknown": "⬜",
}


def md(text: object) -> str:
    """Untrusted text as literal inline markdown: HTML characters as entities (GitHub renders
    raw HTML in comments), markdown punctuation backslash-escaped, whitespace on one line."""
    s = " ".join(str(text).split())
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL.sub(r"\\\1", s)


def _table(findings: list[Finding], result: ScanResult, suppressed: bool = False) -> list[str]:
    infos = layer_infos(result.inventory)
    exploit = any(f.epss is not None or f.kev is not None for f in findings)
    head = ["Severity", "ID", "Package", "Installed", "Fixed", "Layer"]
    if exploit:
        head.append("Exploit")
    head.append("Why suppressed" if suppressed else "Summary")
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for f in findings[:MAX_ROWS]:
        layer = layer_of(infos, f)
        row = [
            f"{_ICON[f.severity.level]} {f.severity.level}",
            md(f.id),
            md(f.package.name),
            md(f.installed_version),
            md(fixed_text(f)),
            md(f"{layer.label()} {layer.short_digest}".strip()),
        ]
        if exploit:
            row.append(md(exploit_text(f)))
        row.append(md(snippet(suppression_text(f) if suppressed else f.summary or "", 120)))
        out.append("| " + " | ".join(row) + " |")
    if len(findings) > MAX_ROWS:
        out.append("")
        out.append(f"... and {len(findings) - MAX_ROWS} more (see the full report).")
    return out


def render(result: ScanResult) -> str:
    inv = result.inventory
    findings = list(result.findings)
    c = counts(findings)
    fixable = [f for f in findings if f.fixed_versions]
    unfixable = [f for f in findings if not f.fixed_versions]
    lines = [f"### hullscan: {md(image_name(result))}", ""]
    distro = f" ({md(inv.distro.pretty_name or inv.distro.id)})" if inv.distro else ""
    lines.append(
        f"**{len(findings)} vulnerabilities** in {len(inv.packages)} packages{distro}, "
        f"**{len(fixable)} fixable**"
        + (f", {len(result.suppressed)} suppressed" if result.suppressed else "")
        + "."
    )
    lines.append("")
    lines.append("| " + " | ".join(f"{_ICON[lv]} {lv}" for lv in LEVELS) + " |")
    lines.append("|" + "---:|" * len(LEVELS))
    lines.append("| " + " | ".join(str(c[lv]) for lv in LEVELS) + " |")
    if fixable:
        lines += ["", f"#### Fixable ({len(fixable)})", "", *_table(fixable, result)]
    if unfixable:
        lines += ["", "<details>", f"<summary>Not fixed yet ({len(unfixable)})</summary>", ""]
        lines += [*_table(unfixable, result), "", "</details>"]
    if result.suppressed:
        lines += ["", "<details>", f"<summary>Suppressed ({len(result.suppressed)})</summary>", ""]
        lines += [*_table(list(result.suppressed), result, suppressed=True), "", "</details>"]
    checks = inv.config_findings
    if checks:
        lines += [
            "",
            f"#### Image checks ({len(checks)})",
            "",
            "| Check | Severity | What | Where | Detail |",
        ]
        lines.append("|---|---|---|---|---|")
        for ch in checks[:MAX_ROWS]:
            lines.append(
                f"| {md(ch.id)} | {md(ch.severity)} | {md(ch.title)} | {md(ch.location)} | "
                f"{md(snippet(ch.detail, 120))} |"
            )
    if not findings:
        lines += ["", "No known vulnerabilities."]
    return "\n".join(lines)
