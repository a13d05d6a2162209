"""``hullscan scan-registry``, ``hullscan rescan`` and ``hullscan monitor``: the inventory store.

Exit codes: 0 done; 1 (``--fail-on LEVEL``) a *new* finding at or above LEVEL; 2 error (bad
input, store or database unusable, an image of ``scan-registry`` that could not be scanned: the
others are still scanned and reported). ``monitor`` exits 0 when stopped by SIGTERM / SIGINT.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

from hullscan import cli_publish, cli_registry
from hullscan.errors import HullscanError
from hullscan.severity import LEVELS, RANK

COMMANDS = ("scan-registry", "rescan", "monitor")
EXIT_OK = 0
EXIT_GATE = 1
EXIT_ERROR = 2

Clean = Callable[[object], str]


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store",
        help="inventory store: a SQLAlchemy URL (postgresql+psycopg://...) or a SQLite file "
        "(default $HULLSCAN_STORE, else inventories.db in the cache dir)",
    )
    p.add_argument("--db", help="an advisory index file or database generation directory")
    p.add_argument("--cache-dir", help="cache directory (default $HULLSCAN_CACHE_DIR or user cache)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument(
        "--output", "-o", help="write to this file instead of standard output (monitor: rewritten each cycle)"
    )
    p.add_argument(
        "--fail-on", choices=LEVELS[:-1], help="exit 1 when a new finding is at or above this severity"
    )


def _discovery(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tag", action="append", default=[], metavar="PATTERN", help="tag glob (repeatable)")
    p.add_argument("--pushed-since", metavar="DATE|DURATION", help="pushed since (2024-06-01, 7d, 12h)")
    p.add_argument(
        "--pulled-since",
        metavar="DATE|DURATION",
        help="last pulled since (an image never pulled counts its push time)",
    )
    p.add_argument("--max-images", type=int, metavar="N", help="at most N images, most recently pushed first")
    p.add_argument("--profile", help="AWS profile (default: the usual AWS configuration)")


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sr = sub.add_parser(
        "scan-registry",
        help="discover a registry's images and scan each digest once into the inventory store",
        description="List the repositories and images of TARGET (ecr://ACCOUNT/REGION[/repo-prefix]: "
        "DescribeRepositories and DescribeImages through boto3), and bring the stored findings of each "
        "selected digest up to date: a digest not stored yet is pulled and inventoried, a stored one is "
        "re-matched when the advisory database changed, without pulling.",
    )
    sr.add_argument("target", help="ecr://ACCOUNT/REGION[/repo-prefix]")
    _discovery(sr)
    sr.add_argument("--force", action="store_true", help="pull and inventory stored digests again")
    sr.add_argument(
        "--platform",
        help="os/arch[/variant] to inventory of multi-platform images (default linux/amd64); they are "
        "stored under their index digest",
    )
    _common(sr)
    cli_registry.add_arguments(sr)
    cli_publish.add_arguments(sr, targets=("eventbridge",))

    rs = sub.add_parser(
        "rescan",
        help="re-match every stored inventory against the advisory database; report new, resolved "
        "and changed findings per image",
        description="Nothing is pulled: the stored match queries of each image are matched against the "
        "current database and compared with its last findings.",
    )
    rs.add_argument("digests", nargs="*", metavar="DIGEST", help="only these images (default: all)")
    rs.add_argument("--batch-size", type=int, default=2000, help="images per batch (default 2000)")
    rs.add_argument("--all", action="store_true", help="table: list unchanged images too")
    cli_publish.add_arguments(rs, targets=("eventbridge",))
    _common(rs)

    mo = sub.add_parser(
        "monitor",
        help="scan-registry + rescan on a schedule (continuous scanning)",
        description="Each cycle: optionally `db update`, scan every TARGET into the store, re-match every "
        "other stored image; then wait --every. SIGTERM / SIGINT stop it cleanly between steps.",
    )
    mo.add_argument("targets", nargs="*", metavar="TARGET", help="ecr://ACCOUNT/REGION[/repo-prefix]")
    mo.add_argument("--every", default="24h", help="interval between cycles (default 24h)")
    mo.add_argument("--once", action="store_true", help="run one cycle and exit")
    mo.add_argument("--update-db", action="store_true", help="run `hullscan db update` before each cycle")
    _discovery(mo)
    _common(mo)
    cli_registry.add_arguments(mo)
    cli_publish.add_arguments(mo, targets=("eventbridge",))


def _filters(args: argparse.Namespace) -> Any:
    from hullscan.errors import StoreError
    from hullscan.store.discovery import Filters, parse_since

    if args.max_images is not None and args.max_images < 1:
        raise StoreError("--max-images must be at least 1")
    return Filters(
        tags=tuple(args.tag),
        pushed_since=parse_since(args.pushed_since) if args.pushed_since else None,
        pulled_since=parse_since(args.pulled_since) if args.pulled_since else None,
        max_images=args.max_images,
    )


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def _short(digest: str) -> str:
    return digest.split(":", 1)[-1][:12]


def _count_text(c: dict[str, int]) -> str:
    return " ".join(f"{level[0].upper()}:{c.get(level, 0)}" for level in LEVELS)


def _delta_lines(d: Any, clean: Clean) -> list[str]:
    tags = ",".join(clean(t) for t in d.tags) or "-"
    head = f"{clean(d.repository) or '-'} {_short(d.digest)} [{tags}]: "
    lines = [
        head + f"{len(d.new)} new, {len(d.resolved)} resolved, {len(d.changed)} changed ({d.total} findings)"
    ]
    for kind, items in (("+", d.new), ("-", d.resolved)):
        for f in items:
            fix = ", ".join(clean(v) for v in f.fixed_versions) or "not fixed"
            lines.append(
                f"  {kind} {f.severity:<8} {clean(f.id)}  {clean(f.package)} {clean(f.version)}  ({fix})"
            )
    for c in d.changed:
        a, b = c.before, c.after
        what = []
        if (a.severity, a.score) != (b.severity, b.score):
            what.append(f"severity {a.severity} -> {b.severity}")
        if a.fixed_versions != b.fixed_versions:
            what.append(
                f"fixed {', '.join(a.fixed_versions) or 'none'} -> {', '.join(b.fixed_versions) or 'none'}"
            )
        lines.append(f"  ~ {clean(b.id)}  {clean(b.package)} {clean(b.version)}: {clean('; '.join(what))}")
    return lines


def _gate(deltas: Sequence[Any], fail_on: str | None) -> int:
    if not fail_on:
        return EXIT_OK
    over = [f for d in deltas for f in d.new if RANK.get(f.severity, 0) >= RANK[fail_on]]
    if over:
        print(f"hullscan: gate failed: {len(over)} new finding(s) at or above {fail_on}", file=sys.stderr)
        return EXIT_GATE
    return EXIT_OK


def _write(args: argparse.Namespace, text: str) -> None:
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    else:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def _scans_text(scans: Sequence[Any], clean: Clean) -> str:
    rows: list[tuple[str, ...]] = [("REPOSITORY", "TAGS", "DIGEST", "STATUS", "FINDINGS", "NEW")]
    for s in scans:
        rows.append(
            (
                clean(s.image.repository),
                clean(",".join(s.image.tags)) or "-",
                _short(s.image.digest),
                s.status,
                _count_text(s.counts) if s.status != "failed" else clean(s.error or ""),
                str(len(s.delta.new)) if s.delta is not None else "-",
            )
        )
    n = {k: sum(1 for s in scans if s.status == k) for k in ("scanned", "rematched", "current", "failed")}
    tail = f"{len(scans)} image(s): " + ", ".join(f"{v} {k}" for k, v in n.items())
    return "\n".join([*_table(rows), "", tail]) if scans else tail


def _scan_registry(args: argparse.Namespace, clean: Clean) -> int:
    from hullscan.store.service import scan_registry

    scans = scan_registry(
        args.target,
        store=args.store,
        db=args.db,
        cache_dir=args.cache_dir,
        filters=_filters(args),
        force=args.force,
        registries=cli_registry.config(args),
        platform=args.platform,
        profile=args.profile,
        progress=args.progress,
    )
    if args.format == "json":
        _write(args, json.dumps({"target": args.target, "images": [s.to_dict() for s in scans]}, indent=2))
    else:
        _write(args, _scans_text(scans, clean))
    failed = [s for s in scans if s.status == "failed"]
    for s in failed:
        print(f"hullscan: error: {clean(s.image.reference)}: {clean(s.error)}", file=sys.stderr)
    deltas = [s.delta for s in scans if s.delta is not None]
    gate = max(_gate(deltas, args.fail_on), cli_publish.run_deltas(deltas, args, clean))
    return EXIT_ERROR if failed else gate


def _deltas_text(deltas: Sequence[Any], clean: Clean, show_all: bool) -> str:
    lines: list[str] = []
    for d in deltas:
        if show_all or not d.empty:
            lines += _delta_lines(d, clean)
    changed = sum(1 for d in deltas if not d.empty)
    new = sum(len(d.new) for d in deltas)
    resolved = sum(len(d.resolved) for d in deltas)
    gen = deltas[0].db_generation if deltas else "-"
    lines.append(
        f"rescanned {len(deltas)} image(s) against {gen}: {changed} changed; "
        f"{new} new, {resolved} resolved, {sum(len(d.changed) for d in deltas)} changed finding(s)"
    )
    return "\n".join(lines)


def _rescan(args: argparse.Namespace, clean: Clean) -> int:
    from hullscan.errors import StoreError
    from hullscan.store.service import rescan

    if args.batch_size < 1:
        raise StoreError("--batch-size must be at least 1")
    deltas = rescan(
        args.store,
        db=args.db,
        cache_dir=args.cache_dir,
        batch_size=args.batch_size,
        digests=args.digests or None,
    )
    if args.format == "json":
        # Compact: a fleet's deltas are large, and json's indenting encoder is pure Python (5x slower).
        _write(args, json.dumps({"images": [d.to_dict() for d in deltas]}))
    else:
        _write(args, _deltas_text(deltas, clean, args.all))
    return max(_gate(deltas, args.fail_on), cli_publish.run_deltas(deltas, args, clean))


def _monitor(args: argparse.Namespace, clean: Clean) -> int:
    from hullscan.store.discovery import parse_duration
    from hullscan.store.service import Cycle, monitor

    every = parse_duration(args.every)
    stop = threading.Event()
    gate = [EXIT_OK]

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        print(f"hullscan: monitor: {signal.Signals(signum).name}, stopping", file=sys.stderr)
        stop.set()

    def on_cycle(c: Cycle) -> None:
        deltas = [s.delta for s in c.scans if s.delta is not None] + list(c.deltas)
        if args.format == "json":
            doc = {
                "cycle": c.number,
                "db_generation": c.db_generation,
                "images": [s.to_dict() for s in c.scans],
                "rescanned": [d.to_dict() for d in c.deltas],
            }
            _write(args, json.dumps(doc))
        else:
            rescanned = _deltas_text(list(c.deltas), clean, False)
            _write(args, f"cycle {c.number}\n{_scans_text(c.scans, clean)}\n{rescanned}")
        gate[0] = max(gate[0], _gate(deltas, args.fail_on))
        try:
            gate[0] = max(gate[0], cli_publish.run_deltas(deltas, args, clean))
        except HullscanError as e:  # reported (these deltas are not sent); the monitor goes on
            what = f"deltas of cycle {c.number} not published"
            print(f"hullscan: error: {type(e).__name__}: {clean(e)} ({what})", file=sys.stderr)
            gate[0] = max(gate[0], EXIT_ERROR)

    def on_error(e: Exception) -> None:
        print(f"hullscan: error: {type(e).__name__}: {clean(e)} (retrying next cycle)", file=sys.stderr)

    update = None
    if args.update_db:
        from hullscan import db as advisory_db

        def update() -> None:
            advisory_db.update(cache_dir=args.cache_dir).close()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        monitor(
            args.targets,
            every=every,
            once=args.once,
            store=args.store,
            db=args.db,
            cache_dir=args.cache_dir,
            filters=_filters(args),
            registries=cli_registry.config(args),
            update_db=update,
            on_cycle=on_cycle,
            on_error=on_error,
            stop=stop,
        )
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    return gate[0] if args.once else EXIT_OK


def run(args: argparse.Namespace, clean: Clean) -> int:
    if args.command == "scan-registry":
        return _scan_registry(args, clean)
    if args.command == "rescan":
        return _rescan(args, clean)
    return _monitor(args, clean)


__all__ = ["COMMANDS", "add_parsers", "run"]
