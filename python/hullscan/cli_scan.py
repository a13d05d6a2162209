"""``hullscan scan``: the vulnerability scan and its gate.

Exit codes: 0 passed; 1 the gate failed (``--fail-on``, ``--fail-on-count``, ``--fail-on-epss``,
``--fail-on-kev``; after ``--ignore-unfixed``, ignore rules and VEX: see :mod:`hullscan.cli_policy`),
with the reason in one line on stderr; 2 error (the message on stderr).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from hullscan import cli_policy, cli_publish, cli_registry
from hullscan.errors import ReportError
from hullscan.report import FORMATS, RenderOptions, render
from hullscan.scan import scan
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
    p.add_argument("--format", choices=FORMATS, default="table", help="report format (default table)")
    p.add_argument(
        "--output",
        "-o",
        action="append",
        default=[],
        metavar="[FMT=]FILE",
        help="write the --format report to FILE instead of standard output; FMT=FILE writes another "
        f"format too ({', '.join(FORMATS)}); repeatable",
    )
    p.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the table on standard output (auto: on a terminal, unless NO_COLOR is set)",
    )
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
    p.add_argument(
        "--secrets",
        action="store_true",
        help="also search the layers' files for secrets (reported masked, as image check HS-IMG-007)",
    )
    p.add_argument(
        "--sbom-from-registry",
        nargs="?",
        const="require",
        choices=("require", "auto"),
        help="match the SBOM attached to the image in its registry (`hullscan sbom --attach`) instead "
        "of pulling its layers; none attached is an error, or with =auto the image is pulled",
    )
    cli_registry.add_arguments(p)
    cli_policy.add_arguments(p)
    cli_publish.add_arguments(p)


_FMT = re.compile(r"^([a-z][a-z0-9-]*)=(.+)$")


def outputs(fmt: str, values: list[str]) -> tuple[list[tuple[str, str]], bool]:
    """The (format, file) pairs of the ``--output`` values, and whether the ``--format`` report
    still goes to standard output (no plain ``--output FILE`` took it)."""
    pairs: list[tuple[str, str]] = []
    to_stdout = True
    for value in values:
        m = _FMT.match(value)
        if m is not None:
            if m.group(1) not in FORMATS:
                raise ReportError(
                    f"--output {value}: unknown format {m.group(1)!r} (known: {', '.join(FORMATS)})"
                )
            pairs.append((m.group(1), m.group(2)))
        else:
            pairs.append((fmt, value))
            to_stdout = False
    files = [f for _, f in pairs]
    dupes = sorted({f for f in files if files.count(f) > 1})
    if dupes:
        raise ReportError(f"--output names {dupes[0]} more than once")
    return pairs, to_stdout


def colour_wanted(mode: str) -> bool:
    if mode == "always":
        return True
    if mode == "never":
        return False
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def write_all(files: list[tuple[str, str]]) -> None:
    """Write every report through a temporary file beside it, then move them all in place: a
    failed write (a missing directory, a full disk) leaves no report, partial or whole, behind.
    A target that exists and is no regular file (``/dev/stdout``, a pipe) is written directly."""
    staged: list[tuple[str, Path]] = []
    direct: list[tuple[Path, str]] = []
    try:
        for path, text in files:
            target = Path(path)
            text = text if text.endswith("\n") else text + "\n"
            if target.exists() and not target.is_file():
                direct.append((target, text))
                continue
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            staged.append((tmp, target))
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
        for tmp, target in staged:
            os.replace(tmp, target)
        for target, text in direct:
            with open(target, "w", encoding="utf-8") as f:
                f.write(text)
    finally:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)


def run(args: argparse.Namespace, clean: Callable[[object], str]) -> int:
    pairs, to_stdout = outputs(args.format, args.output)
    result = scan(
        args.source,
        db=args.db,
        platform=args.platform,
        offline=args.offline,
        cache_dir=args.cache_dir,
        os_owned=args.match_os_owned,
        registries=cli_registry.config(args),
        progress=args.progress,
        sbom_from_registry="auto" if args.sbom_from_registry == "auto" else bool(args.sbom_from_registry),
        secrets=args.secrets,
    )
    if args.sbom_from_registry and result.inventory.source_type == "sbom":
        print(f"hullscan: matched the SBOM attached to {result.inventory.manifest_digest}", file=sys.stderr)
    result = cli_policy.apply(result, args)
    if args.ignore_unfixed:
        result = replace(result, findings=tuple(f for f in result.findings if f.status != "not_fixed"))
    options = RenderOptions(fail_on=args.fail_on, **cli_publish.render_options(args))
    # Every report is rendered before any is written: an error leaves no file behind.
    texts = [(path, render(result, fmt, options=options)) for fmt, path in pairs]
    stdout_text = None
    if to_stdout:
        colour = args.format == "table" and colour_wanted(args.color)
        stdout_text = render(result, args.format, options=replace(options, colour=colour))
    write_all(texts)
    if stdout_text is not None:
        sys.stdout.write(stdout_text if stdout_text.endswith("\n") else stdout_text + "\n")
    for w in [*result.inventory.warnings, *result.warnings]:
        print(f"hullscan: warning: {clean(w)}", file=sys.stderr)
    code, reason = cli_policy.gate(result, args)
    if reason is not None:
        print(clean(reason), file=sys.stderr)
    return max(code, cli_publish.run(result, args, clean))
