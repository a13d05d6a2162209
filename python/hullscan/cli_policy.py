"""CLI options for triage and the gate (``hullscan scan``), and the ``hullscan vex`` command.

``hullscan scan`` options added here: ``--ignore-file`` (default ``.hullscan.yaml`` in the current
directory, when there is one; ``--no-ignore-file`` turns it off), ``--vex FILE`` (repeatable),
``--fail-on-count LEVEL=N`` (repeatable; fails when MORE than N findings are at or above LEVEL),
``--fail-on-epss P``, ``--fail-on-kev`` and ``--sort risk|severity``. ``--fail-on`` and
``--ignore-unfixed`` are defined by :mod:`hullscan.cli_scan`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hullscan import policy
from hullscan.errors import PolicyError
from hullscan.policy import ignore as ignore_mod
from hullscan.policy import vex as vex_mod
from hullscan.policy.gate import Gate, evaluate
from hullscan.policy.subject import Subject
from hullscan.scan import ScanResult
from hullscan.severity import LEVELS

EXIT_OK = 0
EXIT_GATE = 1


def _count(text: str) -> tuple[str, int]:
    level, sep, n = text.partition("=")
    level = level.strip().lower()
    if not sep or level not in LEVELS[:-1] or not n.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not LEVEL=N (LEVEL one of {', '.join(LEVELS[:-1])})")
    return level, int(n)


def _probability(text: str) -> float:
    try:
        p = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= p <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a probability between 0 and 1")
    return p


def add_policy_arguments(p: argparse.ArgumentParser) -> None:
    """The ignore-file and VEX options (``scan`` and ``vex``)."""
    p.add_argument(
        "--ignore-file",
        metavar="PATH",
        help=f"ignore rules (default: {ignore_mod.DEFAULT_FILE} in the current directory, if any)",
    )
    p.add_argument("--no-ignore-file", action="store_true", help=f"do not read {ignore_mod.DEFAULT_FILE}")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``hullscan scan``."""
    add_policy_arguments(p)
    p.add_argument(
        "--vex",
        action="append",
        default=[],
        metavar="FILE",
        help="an OpenVEX or CycloneDX VEX document; not_affected / fixed statements suppress findings "
        "(repeatable)",
    )
    p.add_argument(
        "--fail-on-count",
        action="append",
        type=_count,
        default=[],
        metavar="LEVEL=N",
        help="exit 1 when more than N findings are at or above LEVEL (repeatable)",
    )
    p.add_argument(
        "--fail-on-epss", type=_probability, metavar="P", help="exit 1 when a finding's EPSS score is >= P"
    )
    p.add_argument(
        "--fail-on-kev", action="store_true", help="exit 1 when a finding is in the CISA KEV catalog"
    )
    p.add_argument(
        "--sort",
        choices=("risk", "severity"),
        default="risk",
        help="finding order: risk (KEV, then severity blended with EPSS; default) or severity",
    )


def ignore_file(args: argparse.Namespace) -> Path | None:
    if args.ignore_file:
        return Path(args.ignore_file)
    if getattr(args, "no_ignore_file", False):
        return None
    default = Path(ignore_mod.DEFAULT_FILE)
    return default if default.is_file() else None


def apply(result: ScanResult, args: argparse.Namespace) -> ScanResult:
    """The scan's result with ``--ignore-unfixed``, the ignore file and ``--vex`` applied, in
    ``--sort`` order."""
    out = policy.apply(
        result,
        ignore=ignore_file(args),
        vex=args.vex,
        ignore_unfixed=args.ignore_unfixed,
    )
    if args.sort == "severity":
        out = ScanResult(
            out.inventory,
            tuple(policy.risk.sort_by_severity(out.findings)),
            out.warnings,
            out.db,
            out.suppressed,
        )
    return out


def gate(result: ScanResult, args: argparse.Namespace) -> tuple[int, str | None]:
    """The exit code (0 passed, 1 failed) and the one-line reason for stderr, if failed."""
    g = Gate(
        fail_on=args.fail_on,
        fail_on_count=dict(args.fail_on_count),
        fail_on_epss=args.fail_on_epss,
        fail_on_kev=args.fail_on_kev,
    )
    reason = evaluate(result.findings, g)
    if reason is None:
        return EXIT_OK, None
    return EXIT_GATE, f"hullscan: gate failed: {reason}"


# --- hullscan vex -------------------------------------------------------------------------------


def add_vex_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from hullscan import cli_registry

    p = sub.add_parser(
        "vex",
        help="write an OpenVEX document from the ignore rules applied to a scan",
        description="Scan SOURCE (or read a `hullscan scan --format json` result with --from-scan), "
        "apply the ignore rules, and write one not_affected OpenVEX 0.2.0 statement per rule and "
        "vulnerability, with the image as product and the packages as subcomponents.",
    )
    p.add_argument("source", nargs="?", help="an image source, as for `hullscan scan`")
    p.add_argument(
        "--from-scan", metavar="FILE", help="a `hullscan scan --format json` result instead of a scan"
    )
    add_policy_arguments(p)
    p.add_argument("--author", default="hullscan", help="the document's author (default: hullscan)")
    p.add_argument("--timestamp", help="the document's timestamp (ISO 8601; default: now)")
    p.add_argument("--output", "-o", help="write to this file instead of standard output")
    p.add_argument("--platform", help="os/arch[/variant] of a multi-platform image")
    p.add_argument("--offline", action="store_true", help="never touch the network")
    p.add_argument("--db", help="an advisory index file or database generation directory")
    p.add_argument("--cache-dir", help="cache directory (default $HULLSCAN_CACHE_DIR or user cache)")
    cli_registry.add_arguments(p)


def _timestamp(text: str | None) -> str:
    if text is None:
        t = dt.datetime.now(dt.UTC)
    else:
        try:
            t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise PolicyError(f"--timestamp {text[:40]!r} is not an ISO 8601 time") from None
        if t.tzinfo is None:
            t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _image_from_json(doc: dict[str, Any]) -> tuple[str | None, str | None, str | None, str | None]:
    tags = [str(t) for t in doc.get("repo_tags") or ()]
    digest = doc.get("manifest_digest")
    return (*_image_name(str(doc.get("source", "")), tags), str(digest) if digest else None)


def _image_name(source: str, tags: list[str]) -> tuple[str | None, str | None, str | None]:
    """(name, repository, tag) of an image, from its repo tags or its source reference."""
    ref = tags[0] if tags else source
    for prefix in ("registry:", "docker:"):
        ref = ref.removeprefix(prefix)
    if ":" in ref.split("/")[-1] and (tags or source.startswith(("registry:", "docker:"))):
        repo, tag = ref.rsplit(":", 1)
    elif tags or source.startswith(("registry:", "docker:")):
        repo, tag = ref, None
    else:  # an archive or directory: its file name
        stem = Path(ref.split(":", 1)[-1]).name
        for suffix in (".gz", ".zst", ".tgz", ".tar", ".oci-layout", ".docker-archive", ".oci", ".docker"):
            stem = stem.removesuffix(suffix)
        return stem or "image", None, None
    repo = repo.split("@", 1)[0]
    name = repo.rsplit("/", 1)[-1]
    return name, repo if "/" in repo else None, tag


def run_vex(args: argparse.Namespace, clean: Callable[[object], str]) -> int:
    rules_path = ignore_file(args)
    if rules_path is None:
        raise PolicyError(f"no ignore rules: give --ignore-file or create {ignore_mod.DEFAULT_FILE}")
    rules = ignore_mod.load(rules_path)
    if args.from_scan:
        try:
            doc = json.loads(Path(args.from_scan).read_bytes())
        except (OSError, ValueError) as e:
            raise PolicyError(f"cannot read scan result {args.from_scan}: {e}") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("findings"), list):
            raise PolicyError(f"{args.from_scan}: not a `hullscan scan --format json` result")
        items = [f for f in doc["findings"] if isinstance(f, dict)] + [
            f
            for f in doc.get("suppressed") or ()
            if isinstance(f, dict) and (f.get("suppression") or {}).get("kind") == "ignore"
        ]
        subjects = [Subject.of_json(f) for f in items]
        name, repo, tag, digest = _image_from_json(doc)
    else:
        if not args.source:
            raise PolicyError("give an image SOURCE or --from-scan FILE")
        from hullscan import cli_registry
        from hullscan.scan import scan

        result = scan(
            args.source,
            db=args.db,
            platform=args.platform,
            offline=args.offline,
            cache_dir=args.cache_dir,
            registries=cli_registry.config(args),
            progress=args.progress,
        )
        subjects = [Subject.of(f) for f in result.findings]
        inv = result.inventory
        name, repo, tag = _image_name(inv.source, list(getattr(inv, "repo_tags", ()) or ()))
        digest = inv.manifest_digest
    hits, notes = ignore_mod.apply(subjects, rules, policy.today_utc())
    for n in notes:
        print(f"hullscan: warning: {clean(n)}", file=sys.stderr)
    groups = [(r, [subjects[i] for i, hr in sorted(hits.items()) if hr is r]) for r in rules.rules]
    document = vex_mod.openvex_document(
        [(r, ss) for r, ss in groups if ss],
        product=vex_mod.image_purl(name, digest, repo, tag),
        timestamp=_timestamp(args.timestamp),
        author=args.author,
    )
    text = json.dumps(document, indent=2) + "\n"
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return EXIT_OK
