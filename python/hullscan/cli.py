"""The ``hullscan`` command line: a thin layer over the Python API.

Exit codes: 0 success; 1 reserved for a failed gate (scan); 2 error (bad input, unreadable source);
130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from hullscan import __version__
from hullscan.errors import HullscanError
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
        help="oci-dir:PATH, oci-archive:PATH, docker-archive:PATH, dir:PATH or a bare path",
    )
    inv.add_argument("--platform", help="os/arch[/variant] of a multi-platform image")
    inv.add_argument("--format", choices=("table", "json"), default="table")
    inv.add_argument("--output", "-o", help="write to this file instead of standard output")
    inv.add_argument("--cache-dir", help="cache directory (default $HULLSCAN_CACHE_DIR or user cache)")
    inv.add_argument("--no-cache", action="store_true", help="do not read or write the layer cache")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "inventory":
            result = inventory(
                args.source,
                platform=args.platform,
                cache_dir=args.cache_dir,
                use_cache=not args.no_cache,
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
