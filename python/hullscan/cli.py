"""The ``hullscan`` command line: a thin layer over the Python API.

Exit codes: 0 success; 1 reserved for a failed gate (scan); 2 error (bad input, unreadable source);
130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from hullscan import __version__, cli_fleet, cli_policy, cli_registry, cli_scan, cli_store
from hullscan.errors import DatabaseNotFoundError, HullscanError, SourceError
from hullscan.inventory import inventory
from hullscan.model import Inventory

EXIT_OK = 0
EXIT_GATE = 1
EXIT_ERROR = 2


def _oneline(text: object) -> str:
    """``text`` safe for one terminal line: names in images are attacker-controlled, and a newline
    or an escape sequence in one must not forge output lines or drive the terminal."""
    s = str(text)
    if s.isprintable():
        return s
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in s)


def _table(inv: Inventory) -> str:
    lines = []
    d = inv.distro
    head = _oneline(inv.source)
    if inv.platform:
        head += f" ({inv.platform})"
    lines.append(head)
    if d is not None:
        pretty = d.pretty_name or d.id + " " + d.version_id
        lines.append(_oneline(f"distro: {pretty} [{d.ecosystem}]"))
    lines.append(f"layers: {len(inv.layers)}   packages: {len(inv.packages)}")
    lines.append("")
    rows = [("NAME", "VERSION", "TYPE", "LAYER")]
    for p in inv.packages:
        rows.append((_oneline(p.name), _oneline(p.version), p.kind, str(p.layer_index)))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    if inv.config_findings:
        lines.append("")
        lines.append(f"image checks: {len(inv.config_findings)}")
        for c in inv.config_findings:
            lines.append(_oneline(f"  {c.id} {c.severity}: {c.title} ({c.location}): {c.detail}"))
    for w in inv.warnings:
        lines.append(f"warning: {_oneline(w)}")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hullscan", description="Container image scanner.")
    p.add_argument("--version", action="version", version=f"hullscan {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    inv = sub.add_parser("inventory", help="list the packages installed in an image")
    inv.add_argument(
        "source",
        help="oci-dir:PATH, oci-archive:PATH, docker-archive:PATH, dir:PATH, registry:REF, docker:REF, "
        "or a bare path or image reference",
    )
    inv.add_argument("--platform", help="os/arch[/variant] of a multi-platform image")
    inv.add_argument("--format", choices=("table", "json"), default="table")
    inv.add_argument("--output", "-o", help="write to this file instead of standard output")
    inv.add_argument("--cache-dir", help="cache directory (default $HULLSCAN_CACHE_DIR or user cache)")
    inv.add_argument("--no-cache", action="store_true", help="do not read or write the layer cache")
    inv.add_argument(
        "--secrets",
        action="store_true",
        help="also search the layers' files for secrets (reported masked, as image check HS-IMG-007)",
    )
    cli_registry.add_arguments(inv)
    _sbom_parser(sub)
    _db_parser(sub)
    cli_scan.add_parser(sub)
    cli_policy.add_vex_parser(sub)
    cli_store.add_parsers(sub)
    cli_fleet.add_parsers(sub)
    return p


def _sbom_parser(sub: Any) -> None:
    sb = sub.add_parser(
        "sbom",
        help="write the SBOM of an image (CycloneDX 1.6 / 1.5 JSON or XML, SPDX 2.3 JSON or tag-value)",
        description="Inventory SOURCE and write its SBOM. The output is deterministic: the time is "
        "recorded only with --timestamp (or $SOURCE_DATE_EPOCH); SPDX, which requires one, then "
        "records the Unix epoch.",
    )
    sb.add_argument("source", help="any source `hullscan inventory` takes")
    from hullscan.sbom import FORMATS

    sb.add_argument("--format", choices=FORMATS, default="cyclonedx-json")
    sb.add_argument("--spec-version", help="CycloneDX 1.6 (default) or 1.5; SPDX 2.3")
    sb.add_argument("--timestamp", help="ISO 8601 time to record, or `now`")
    sb.add_argument("--platform", help="os/arch[/variant] of a multi-platform image")
    sb.add_argument("--output", "-o", help="write to this file instead of standard output")
    sb.add_argument("--cache-dir", help="cache directory (default $HULLSCAN_CACHE_DIR or user cache)")
    sb.add_argument("--no-cache", action="store_true", help="do not read or write the layer cache")
    sb.add_argument(
        "--attach",
        action="store_true",
        help="also push the SBOM to the image's registry as an OCI artifact referring to the image "
        "(the manifest scanned; referrers API, or the sha256-<digest> tag where there is none)",
    )
    sb.add_argument(
        "--attach-to-index",
        action="store_true",
        help="with --attach: refer to the reference's own manifest (a multi-platform index) instead "
        "of the platform manifest scanned",
    )
    cli_registry.add_arguments(sb)


def _timestamp(text: str | None) -> datetime | None:
    if text is None:
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        return datetime.fromtimestamp(int(epoch), UTC) if epoch and epoch.isdigit() else None
    if text == "now":
        return datetime.now(UTC)
    try:
        return datetime.fromisoformat(text)
    except ValueError as e:
        raise SourceError(f"--timestamp {text!r} is not an ISO 8601 time") from e


def _sbom_command(args: argparse.Namespace) -> int:
    from hullscan.sbom import oci, write

    registries = cli_registry.config(args)
    media_type = None
    if args.attach or args.attach_to_index:
        oci.reference_of(args.source)  # a registry image, or a typed error before any work
        media_type = oci.media_type_for(args.format)
    inv = inventory(
        args.source,
        platform=args.platform,
        cache_dir=args.cache_dir,
        use_cache=not args.no_cache,
        registries=registries,
        progress=args.progress,
    )
    timestamp = _timestamp(args.timestamp)
    try:
        text = write(inv, args.format, spec_version=args.spec_version, timestamp=timestamp)
    except ValueError as e:
        raise SourceError(str(e)) from e
    if media_type is not None:
        attached = oci.attach(
            args.source,
            text,
            media_type,
            subject=None if args.attach_to_index else inv.manifest_digest,
            platform=args.platform,
            to_index=args.attach_to_index,
            timestamp=timestamp,
            registries=registries,
        )
        how = "referrers API" if attached.via == "referrers" else f"tag {attached.tag}"
        print(
            f"hullscan: attached {media_type} to {attached.subject.digest} as {attached.digest} ({how})",
            file=sys.stderr,
        )
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    for w in inv.warnings:
        print(f"hullscan: warning: {_oneline(w)}", file=sys.stderr)
    return EXIT_OK


def _db_parser(sub: Any) -> None:
    db = sub.add_parser("db", help="the advisory database: import, update, status")
    dbsub = db.add_subparsers(dest="db_command", required=True)
    cache_help = "cache directory (default $HULLSCAN_CACHE_DIR or user cache)"
    imp = dbsub.add_parser(
        "import",
        help="import advisory files, directories, zips or tar archives",
        description="Import advisories: osv.dev all.zip, OSV JSON files or directories, Alpine secdb "
        "JSON, Debian security tracker JSON, Amazon updateinfo.xml(.gz) or ALAS JSON; and EPSS CSV(.gz) "
        "and the CISA KEV catalog (JSON or CSV) for prioritisation; the format is sniffed. A source "
        "of the same name already in the database is replaced.",
    )
    imp.add_argument("paths", nargs="+", metavar="PATH")
    imp.add_argument(
        "--format", choices=("osv", "alpine", "debian", "alas", "epss", "kev"), help="skip format sniffing"
    )
    imp.add_argument("--name", help="store everything imported as one source of this name")
    imp.add_argument(
        "--ecosystem", help="release of Alpine or Amazon input (Alpine:v3.20, Amazon Linux:2023)"
    )
    imp.add_argument("--cache-dir", help=cache_help)
    upd = dbsub.add_parser(
        "update",
        help="download osv.dev ecosystem exports (conditional: unchanged feeds are not fetched)",
    )
    upd.add_argument(
        "--base-url", help="base URL of <Ecosystem>/all.zip (default $HULLSCAN_DB_URL or osv.dev)"
    )
    upd.add_argument(
        "--ecosystem",
        action="append",
        dest="ecosystems",
        metavar="ECOSYSTEM",
        help="an OSV ecosystem to fetch (repeatable; default: those in the database, else a standard list)",
    )
    upd.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None, help="progress on stderr"
    )
    upd.add_argument("--timeout", type=float, default=60.0, help="seconds without data before a retry")
    upd.add_argument("--retries", type=int, default=3, help="retries per download")
    upd.add_argument("--cache-dir", help=cache_help)
    st = dbsub.add_parser("status", help="sources, record counts and age of the advisory database")
    st.add_argument("--format", choices=("table", "json"), default="table")
    st.add_argument("--cache-dir", help=cache_help)


def _age(d: timedelta) -> str:
    s = int(d.total_seconds())
    if s < 60:
        return f"{s}s"
    parts = [(s // 86400, "d"), (s % 86400 // 3600, "h"), (s % 3600 // 60, "m")]
    shown = [f"{n}{u}" for n, u in parts if n][:2]
    return " ".join(shown) or "0m"


def _status_table(st: dict[str, Any]) -> str:
    lines = [
        f"advisory database: {_oneline(st['path'])}",
        f"updated: {st['updated_at']} ({_age(timedelta(seconds=st['age_seconds']))} ago"
        + (", stale" if st["stale"] else "")
        + ")",
        f"records: {st['record_count']}   sources: {len(st['sources'])}",
        "",
    ]
    rows = [("SOURCE", "KIND", "RECORDS", "SKIPPED", "IMPORTED", "ORIGIN")]
    for s in st["sources"]:
        rows.append(
            (
                _oneline(s["name"]),
                s["kind"],
                str(s["count"]),
                str(s["skipped"]),
                s["imported_at"][:19] + "Z",
                _oneline(s["origin"]),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return "\n".join(lines)


def _report_import(db: Any, verb: str) -> None:
    by_name = {s.name: s for s in db.sources()}
    if not db.changed:
        sys.stdout.write(f"advisory database unchanged ({db.count()} records): every feed is current\n")
    for name in db.changed:
        s = by_name[name]
        line = f"{verb} {_oneline(name)}: {s.count} records"
        if s.skipped:
            line += f", {s.skipped} skipped"
        sys.stdout.write(line + "\n")
        for w in s.warnings[:3]:
            print(f"hullscan: warning: {_oneline(w)}", file=sys.stderr)
        if s.skipped > 3:
            print(f"hullscan: warning: ... {s.skipped - 3} more skipped in {_oneline(name)}", file=sys.stderr)
    for note in db.warnings[:5]:
        print(f"hullscan: note: {_oneline(note)}", file=sys.stderr)
    if len(db.warnings) > 5:
        print(f"hullscan: note: ... {len(db.warnings) - 5} more files not imported", file=sys.stderr)
    sys.stdout.write(f"database: {db.path} ({db.count()} records)\n")


def _db_command(args: argparse.Namespace) -> int:
    from hullscan import db as advisory_db

    if args.db_command == "import":
        with advisory_db.import_paths(
            args.paths, cache_dir=args.cache_dir, format=args.format, name=args.name, ecosystem=args.ecosystem
        ) as d:
            _report_import(d, "imported")
        return EXIT_OK
    if args.db_command == "update":
        with advisory_db.update(
            base_url=args.base_url,
            ecosystems=args.ecosystems,
            cache_dir=args.cache_dir,
            progress=args.progress,
            timeout=args.timeout,
            retries=args.retries,
        ) as d:
            _report_import(d, "updated")
        return EXIT_OK
    st = advisory_db.status(args.cache_dir)
    if args.format == "json":
        sys.stdout.write(json.dumps(st, indent=2) + "\n")
        return EXIT_OK if st["exists"] else EXIT_ERROR
    if not st["exists"]:
        raise DatabaseNotFoundError(st["message"])
    sys.stdout.write(_status_table(st) + "\n")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "db":
            return _db_command(args)
        if args.command == "sbom":
            return _sbom_command(args)
        if args.command == "scan":
            return cli_scan.run(args, _oneline)
        if args.command == "vex":
            return cli_policy.run_vex(args, _oneline)
        if args.command in cli_store.COMMANDS:
            return cli_store.run(args, _oneline)
        if args.command == cli_fleet.COMMAND:
            return cli_fleet.run(args, _oneline)
        if args.command == "inventory":
            result = inventory(
                args.source,
                platform=args.platform,
                cache_dir=args.cache_dir,
                use_cache=not args.no_cache,
                registries=cli_registry.config(args),
                progress=args.progress,
                secrets=args.secrets,
            )
            text = result.to_json() if args.format == "json" else _table(result)
            if args.output:
                with open(args.output, "w", encoding="utf-8") as f:
                    f.write(text + "\n")
            else:
                sys.stdout.write(text + "\n")
            for w in result.warnings if args.format == "json" else ():
                print(f"hullscan: warning: {_oneline(w)}", file=sys.stderr)
        return EXIT_OK
    except HullscanError as e:
        print(f"hullscan: error: {type(e).__name__}: {_oneline(e)}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as e:
        print(f"hullscan: error: {_oneline(e)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
