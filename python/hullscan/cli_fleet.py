"""``hullscan fleet index | rematch | shard``: fleets from the command line.

- ``fleet index REF... | --from-file FILE``: pull and inventory each image into the store (thread
  pool of ``--workers``, or a Dask cluster with ``--dask ADDRESS``), skipping stored digests;
- ``fleet rematch``: re-match every stored inventory in batches on the workers; no pull;
- ``fleet shard --shard I --of N``: the refs of shard I of N (sha256 of the digest, or of the ref,
  modulo N): the same split in every AWS Batch array job or Step Functions map iteration.
  ``ecr://ACCOUNT/REGION[/prefix]`` arguments are expanded by discovery into digest refs.

Exit codes: 0 done; 1 (``--fail-on``) a new finding at or above the level; 2 bad input, or an
image that could not be indexed (the others still are).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from typing import Any

from hullscan import cli_registry

COMMAND = "fleet"
EXIT_OK = 0
EXIT_ERROR = 2

Clean = Callable[[object], str]


def _inputs(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "refs",
        nargs="*",
        metavar="REF",
        help="image references (HOST/REPO:TAG or @sha256:...); ecr:// targets",
    )
    p.add_argument("--from-file", metavar="FILE", help="read references from FILE, one a line ('-': stdin)")


def _store_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store",
        help="inventory store: a SQLAlchemy URL (postgresql+psycopg://...) or a SQLite file "
        "(default $HULLSCAN_STORE, else inventories.db in the cache dir)",
    )
    p.add_argument("--cache-dir", help="cache directory, shared by the workers (default $HULLSCAN_CACHE_DIR)")
    p.add_argument("--workers", type=int, help="threads (default: twice the CPUs, at most 8)")
    p.add_argument("--dask", metavar="ADDRESS", help="run the units on this Dask scheduler instead")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--output", "-o", help="write to this file instead of standard output")


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    fl = sub.add_parser("fleet", help="index and re-match many images (thread pool or Dask)")
    fsub = fl.add_subparsers(dest="fleet_command", required=True)
    ix = fsub.add_parser(
        "index",
        help="pull and inventory many images into the store, each digest once",
        description="Each image is a unit keyed by its manifest digest (safe to re-run: stored digests "
        "are skipped unless --force); layers shared between images are fetched and analysed once.",
    )
    _inputs(ix)
    ix.add_argument("--force", action="store_true", help="inventory stored digests again")
    ix.add_argument("--platform", help="os/arch[/variant] of multi-platform images (default linux/amd64)")
    ix.add_argument("--max-in-flight", type=int, metavar="N", help="units submitted at once")
    ix.add_argument("--retries", type=int, default=3, help="retries of a transient error per image (3)")
    ix.add_argument(
        "--placement",
        action="store_true",
        help="with --dask: run the images of one repository on one worker (workers with their own caches)",
    )
    _store_args(ix)
    cli_registry.add_arguments(ix)
    rm = fsub.add_parser(
        "rematch",
        help="re-match every stored inventory against the advisory database, in batches; no pull",
    )
    rm.add_argument("--db", help="an advisory index file or database generation directory")
    rm.add_argument("--batch-size", type=int, default=2000, help="images per unit (default 2000)")
    from hullscan.severity import LEVELS

    rm.add_argument("--fail-on", choices=LEVELS[:-1], help="exit 1 when a new finding is at or above this")
    _store_args(rm)
    sh = fsub.add_parser("shard", help="the references of shard I of N (deterministic)")
    _inputs(sh)
    sh.add_argument("--shard", type=int, required=True, metavar="I", help="this shard, 0 .. N-1")
    sh.add_argument("--of", type=int, required=True, metavar="N", help="how many shards")
    sh.add_argument("--profile", help="AWS profile for ecr:// discovery")


def _refs(args: argparse.Namespace) -> Iterator[str]:
    from hullscan.errors import SourceError
    from hullscan.store.discovery import ecr_images, parse_target

    items: list[str] = list(args.refs)
    if args.from_file:
        try:
            if args.from_file == "-":
                text = sys.stdin.read()
            else:
                with open(args.from_file, encoding="utf-8") as f:
                    text = f.read()
        except (OSError, UnicodeDecodeError) as e:
            raise SourceError(f"cannot read {args.from_file}: {e}") from e
        items += [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if not items:
        raise SourceError("no image references: give REF arguments or --from-file")
    for item in items:
        if item.startswith("ecr://"):
            for img in ecr_images(parse_target(item), profile=getattr(args, "profile", None)):
                yield img.reference.removeprefix("registry:")
        else:
            yield item


def _executor(args: argparse.Namespace) -> tuple[Executor | None, Any]:
    if not args.dask:
        return None, None
    from hullscan.errors import HullscanError

    try:
        from distributed import Client
    except ImportError as e:
        raise HullscanError("--dask needs Dask: pip install 'hullscan[dask]'") from e
    client = Client(args.dask)  # type: ignore[no-untyped-call]
    return client.get_executor(), client  # type: ignore[no-untyped-call]


def _write(args: argparse.Namespace, text: str) -> None:
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    else:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def _index(args: argparse.Namespace, clean: Clean) -> int:
    from hullscan import fleet
    from hullscan.errors import StoreError

    for name in ("workers", "max_in_flight"):
        v = getattr(args, name)
        if v is not None and v < 1:
            raise StoreError(f"--{name.replace('_', '-')} must be at least 1")
    if args.retries < 0:
        raise StoreError("--retries must be at least 0")
    refs = list(_refs(args))
    ex, client = _executor(args)
    try:
        results = fleet.index(
            refs,
            store=args.store,
            executor=ex,
            cache_dir=args.cache_dir,
            registries=cli_registry.config(args),
            platform=args.platform,
            force=args.force,
            workers=args.workers,
            max_in_flight=args.max_in_flight,
            retries=args.retries,
            placement=args.placement,
        )
    finally:
        if client is not None:
            client.close()
    counts = {s: sum(1 for r in results if r.status == s) for s in ("indexed", "stored", "failed")}
    if args.format == "json":
        _write(args, json.dumps({"counts": counts, "results": [r.to_dict() for r in results]}))
    else:
        lines = [
            f"{r.status:8} {clean(r.ref)} {r.digest or '-'} {r.packages} packages"
            if r.status == "indexed"
            else f"{r.status:8} {clean(r.ref)} {r.digest or '-'}"
            for r in results
        ]
        lines.append(
            f"{counts['indexed']} indexed, {counts['stored']} already stored, {counts['failed']} failed"
        )
        _write(args, "\n".join(lines))
    for r in results:
        if r.status == "failed":
            print(f"hullscan: error: {clean(r.ref)}: {clean(r.error)}", file=sys.stderr)
    return EXIT_ERROR if counts["failed"] else EXIT_OK


def _rematch(args: argparse.Namespace, clean: Clean) -> int:
    from hullscan import fleet
    from hullscan.cli_store import _deltas_text, _gate
    from hullscan.errors import StoreError

    if args.batch_size < 1:
        raise StoreError("--batch-size must be at least 1")
    if args.workers is not None and args.workers < 1:
        raise StoreError("--workers must be at least 1")
    ex, client = _executor(args)
    try:
        deltas = fleet.rematch(
            args.store,
            executor=ex,
            db=args.db,
            cache_dir=args.cache_dir,
            batch_size=args.batch_size,
            workers=args.workers,
        )
    finally:
        if client is not None:
            client.close()
    if args.format == "json":
        _write(args, json.dumps({"deltas": [d.to_dict() for d in deltas]}))
    else:
        _write(args, _deltas_text(deltas, clean, False))
    return _gate(deltas, args.fail_on)


def _shard(args: argparse.Namespace, clean: Clean) -> int:
    from hullscan import fleet

    refs = list(_refs(args))
    for r in fleet.shard(refs, shard=args.shard, of=args.of):
        sys.stdout.write(clean(r) + "\n")
    return EXIT_OK


def run(args: argparse.Namespace, clean: Clean) -> int:
    if args.fleet_command == "index":
        return _index(args, clean)
    if args.fleet_command == "rematch":
        return _rematch(args, clean)
    return _shard(args, clean)


__all__ = ["COMMAND", "add_parsers", "run"]
