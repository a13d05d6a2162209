"""``hullscan scan``: the vulnerability scan and its gate.

Exit codes: 0 passed; 1 the gate failed (``--fail-on``, ``--fail-on-count``, ``--fail-on-epss``,
``--fail-on-kev``; after ``--ignore-unfixed``, ignore rules and VEX: see :mod:`hullscan.cli_policy`),
with the reason in one line on stderr; 2 error (the message on stderr).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from hullscan import cli_policy, cli_registry
from hullscan.scan import Finding, ScanResult, scan
from hullscan.severity import LEVELS

EXIT_OK = 0
EXIT_GATE = 1


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("scan", help="scan an image for known vulnerabilities")
    p.add_argument(
        "source",
        help="oci-dir:PATH, oci-archive:PATH, docker-archive:PATH, dir:PATH, registry:REF, docker:REF, "
        "or a bare path or image reference",
    )
    p.add_argument("--platform", help="os/arch[/variant] of a multi-platform image")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--output", "-o", help="write to this file instead of standard output")
    p.add_argument(
        "--fail-on",
        choices=LEVELS[:-1],
        help="exit 1 when a finding is at or above this severity",
    )
    p.add_argument("--ignore-unfixed", action="store_true", help="leave out findings with no fix")
    p.add_argument("--offline", action="store_true", help="never touch the network")
    p.add_argument("--db", help="an advisory index file or database generation directory")
    p.add_argument(
        "--match-os-owned",
        action="store_true",
        help="also match language packages an OS package installed against their language ecosystem",
    )
    p.add_argument("--cache-dir", help="cache directory (default $HULLSCAN_CACHE_DIR or user cache)")
    cli_registry.add_arguments(p)
    cli_policy.add_arguments(p)


def _table(result: ScanResult, findings: list[Finding], clean: Callable[[object], str]) -> str:
    inv = result.inventory
    lines = [clean(inv.source) + (f" ({inv.platform})" if inv.platform else "")]
    if inv.distro is not None:
        lines.append(f"distro: {clean(inv.distro.pretty_name or inv.distro.id)} [{inv.distro.ecosystem}]")
    counts = {level: 0 for level in LEVELS}
    for f in findings:
        counts[f.severity.level] += 1
    lines.append(
        f"packages: {len(inv.packages)}   findings: {len(findings)} ("
        + ", ".join(f"{level} {counts[level]}" for level in LEVELS)
        + ")"
    )
    for level in LEVELS:
        group = [f for f in findings if f.severity.level == level]
        if not group:
            continue
        lines.append("")
        lines.append(level.upper())
        rows = [("ID", "PACKAGE", "INSTALLED", "FIXED", "LAYER", "SUMMARY")]
        for f in group:
            rows.append(
                (
                    f.id,
                    clean(f.package.name),
                    clean(f.installed_version),
                    ", ".join(f.fixed_versions) or "not fixed",
                    str(f.explanation.layer_index),
                    clean((f.summary or "")[:60]),
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(6)]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def run(args: argparse.Namespace, clean: Callable[[object], str]) -> int:
    result = scan(
        args.source,
        db=args.db,
        platform=args.platform,
        offline=args.offline,
        cache_dir=args.cache_dir,
        os_owned=args.match_os_owned,
        registries=cli_registry.config(args),
        progress=args.progress,
    )
    result = cli_policy.apply(result, args)
    findings = [f for f in result.findings if not (args.ignore_unfixed and f.status == "not_fixed")]
    if args.format == "json":
        if args.ignore_unfixed:
            result = ScanResult(
                result.inventory, tuple(findings), result.warnings, result.db, result.suppressed
            )
        text = result.to_json()
    else:
        text = _table(result, findings, clean)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    else:
        sys.stdout.write(text + "\n")
    for w in [*result.inventory.warnings, *result.warnings]:
        print(f"hullscan: warning: {clean(w)}", file=sys.stderr)
    code, reason = cli_policy.gate(result, args)
    if reason is not None:
        print(clean(reason), file=sys.stderr)
    return code
