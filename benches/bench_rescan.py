"""Rescan benchmark (issue 8: continuous rescans): 10,000 stored inventories re-matched after a
database update.

Inventories: real ones, from the shared data (the ten Alpine minirootfs releases and the Debian
bookworm and bullseye minbase package databases, each read with `hullscan.inventory("dir:...")`),
multiplied into N stored images (default 10,000) with varied versions: in each copy about 30 % of
the packages get their last version number moved by -10..+10 (source version alike), so images
share packages the way a fleet does but not all of them. They are stored with `put_many` (timed)
and matched once against an older advisory set (the old Alpine secdb and two of the five Alpine
3.20 files); then every advisory file of the shared data is imported (the new generation).

Measured round-robin, each round on a fresh copy of the store as it was after the first match (so
every rescan does the same work and reports the same deltas):

- `hullscan.rescan(store, db=new)`: the compact stored queries, one index call per distinct query of
  a batch (the figure the target is about);
- `hullscan rescan --format json -o FILE` as a separate process (interpreter start-up, store open,
  JSON of every delta written);
- the baseline, a rescan that does not keep compact queries: every stored inventory deserialized
  (`InventoryStore.inventory`) and matched with `hullscan.scan.match` (one index call and full
  `Finding` objects per image), its findings compared with the stored keys.

    PYTHONPATH=python python benches/bench_rescan.py [--images 10000] [--rounds 3] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import idle_fraction, wait_idle

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = Path(os.environ.get("HULLSCAN_TEST_DATA", REPO.parent / "shared" / "data"))
TARGET_S = 10.0
_LAST_NUM = re.compile(r"(\d+)(?!.*\d)")


def log(msg: str) -> None:
    print(f"[bench_rescan] {msg}", file=sys.stderr, flush=True)


def unpack(archive: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    data = subprocess.run(["zstd", "-dc", str(archive)], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=data, check=True)
    return dest


def base_inventories(work: Path) -> list[Any]:
    import hullscan

    out = []
    for tb in sorted((DATA / "images" / "alpine-minirootfs").glob("*x86_64.tar.gz")):
        root = work / "rootfs" / tb.name.removesuffix(".tar.gz")
        root.mkdir(parents=True)
        subprocess.run(["tar", "-xzf", str(tb), "-C", str(root)], check=True)
        out.append(hullscan.inventory(f"dir:{root}", use_cache=False))
    for name in ("debootstrap-bookworm-minbase", "debootstrap-bullseye-minbase"):
        out.append(hullscan.inventory(f"dir:{DATA / 'rootfs-pkgdb' / name}", use_cache=False))
    return out


def vary(version: str, delta: int) -> str:
    m = _LAST_NUM.search(version)
    if m is None:
        return version
    n = max(0, int(m.group(1)) + delta)
    return version[: m.start()] + str(n) + version[m.end() :]


def varied(inv: Any, rng: random.Random, serial: int) -> Any:
    pkgs = []
    for p in inv.packages:
        if rng.random() < 0.3:
            d = rng.randint(-10, 10)
            p = replace(
                p,
                version=vary(p.version, d),
                source_version=vary(p.source_version, d) if p.source_version else p.source_version,
            )
        pkgs.append(p)
    return replace(inv, packages=tuple(pkgs), manifest_digest=f"sha256:{serial:064x}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=2000)
    ap.add_argument("--out", default=str(HERE / ".work" / "rescan"))
    ap.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        help="before each round, wait up to this long for an idle machine",
    )
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from hullscan import db
    from hullscan.scan import match
    from hullscan.store import ImageRecord, InventoryStore, compact_queries, rescan
    from hullscan.store.service import open_index

    res: dict[str, Any] = {"images": args.images, "rounds": args.rounds, "batch_size": args.batch_size}
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        work = Path(tmp)
        cache = work / "cache"
        os.environ["HULLSCAN_CACHE_DIR"] = str(cache)
        bases = base_inventories(work)
        res["base_inventories"] = [
            (i.distro.pretty_name if i.distro else i.source, len(i.packages)) for i in bases
        ]

        # Advisories: the old set, then everything.
        unpacked = work / "advisories"
        for tz in sorted((DATA / "advisories").rglob("*.tar.zst")):
            unpack(tz, unpacked / tz.name.removesuffix(".tar.zst"))
        a320 = unpacked / "vuln-list-alpine-3.20-main-5pkgs" / "vuln-list-alpine-3.20-main"
        part = work / "a320-part"
        part.mkdir()
        for name in ("busybox", "musl"):
            shutil.copy2(a320 / f"{name}.json", part)
        old_secdb = sorted(unpacked.glob("alpine-secdb-v3.3-v3.11/alpine-secdb/json/*/*.json"))
        old = db.import_paths([*old_secdb, part], cache_dir=cache)
        old_gen = old.path
        old.close()

        # N stored inventories.
        rng = random.Random(8)
        store_path = work / "inventories.db"
        st = InventoryStore(store_path)
        t = time.perf_counter()
        batch: list[Any] = []
        packages = 0
        distinct: set[str] = set()
        for i in range(args.images):
            inv = varied(bases[i % len(bases)], rng, i)
            q = compact_queries(inv)
            packages += len(inv.packages)
            distinct.update(q.keys)
            batch.append(
                ImageRecord(inv.manifest_digest, inv, q, repository=f"fleet/app{i % 97}", tags=(f"v{i}",))
            )
            if len(batch) == 1000:
                st.put_many(batch)
                batch = []
        st.put_many(batch)
        res["store_seconds"] = time.perf_counter() - t
        res["packages"] = packages
        res["distinct_queries"] = len(distinct)
        log(f"stored {args.images} inventories ({packages} packages) in {res['store_seconds']:.1f} s")
        t = time.perf_counter()
        first = rescan(st, db=old_gen, batch_size=args.batch_size)
        res["first_match_seconds"] = time.perf_counter() - t
        res["first_match_findings"] = sum(d.total for d in first)
        st.close()
        res["store_bytes"] = sum(p.stat().st_size for p in work.glob("inventories.db*"))
        snapshot = work / "snapshot.db"
        src = sqlite3.connect(store_path)
        dst = sqlite3.connect(snapshot)
        src.backup(dst)
        src.close()
        dst.close()

        new = db.import_paths(
            [*sorted((DATA / "advisories" / "osv").glob("*/all.zip")), *old_secdb, a320], cache_dir=cache
        )
        new_gen = new.path
        new.close()

        def fresh() -> Path:
            p = work / "round.db"
            for f in work.glob("round.db*"):
                f.unlink()
            shutil.copyfile(snapshot, p)
            return p

        api: list[float] = []
        cli: list[float] = []
        naive: list[float] = []
        env = {**os.environ, "PYTHONPATH": str(REPO / "python")}
        idle: list[float] = []
        for r in range(args.rounds):
            idle.append(wait_idle(args.wait_idle, log=log) if args.wait_idle else idle_fraction(1.0))
            # API
            p = fresh()
            t = time.perf_counter()
            deltas = rescan(str(p), db=new_gen, batch_size=args.batch_size)
            api.append(time.perf_counter() - t)
            res["new_findings"] = sum(len(d.new) for d in deltas)
            res["images_changed"] = sum(1 for d in deltas if not d.empty)
            # CLI
            p = fresh()
            t = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "hullscan.cli",
                    "rescan",
                    "--store",
                    str(p),
                    "--db",
                    str(new_gen),
                    "--format",
                    "json",
                    "-o",
                    str(work / "deltas.json"),
                ],
                check=True,
                env=env,
            )
            cli.append(time.perf_counter() - t)
            # Baseline: whole inventories, hullscan.scan.match per image.
            p = fresh()
            t = time.perf_counter()
            s2 = InventoryStore(p)
            index, _gen = open_index(new_gen)
            changed = 0
            for img in s2.images():
                inv = s2.inventory(img.digest)
                found, _w = match(inv, index)
                before = {f.key for f in s2.findings(img.digest)}
                if {(f.id, f.package.purl) for f in found} != before:
                    changed += 1
            s2.close()
            naive.append(time.perf_counter() - t)
            res["baseline_images_changed"] = changed
            log(
                f"round {r + 1} (idle before: {idle[-1]:.2f}): api {api[-1]:.2f} s, cli {cli[-1]:.2f} s, baseline {naive[-1]:.2f} s"
            )
        assert res["baseline_images_changed"] == res["images_changed"], (
            "the baseline disagrees on the changed images"
        )
        # The stored findings after a rescan are hullscan.scan.match's for a sample of images.
        s3 = InventoryStore(work / "round.db")
        index, _gen = open_index(new_gen)
        rescan(s3, db=new_gen)
        for img in s3.images()[:: max(1, args.images // 200)]:
            want = {(f.id, f.package.purl) for f in match(s3.inventory(img.digest), index)[0]}
            assert {f.key for f in s3.findings(img.digest)} == want
        s3.close()

    res["idle_before_rounds"] = idle
    res["api_seconds"] = api
    res["cli_seconds"] = cli
    res["baseline_seconds"] = naive
    res["api_median"] = statistics.median(api)
    res["cli_median"] = statistics.median(cli)
    res["baseline_median"] = statistics.median(naive)
    res["speedup"] = res["baseline_median"] / res["api_median"]
    (out / "results.json").write_text(json.dumps(res, indent=2))
    ok = "met" if res["api_median"] < TARGET_S else "missed"
    md = [
        f"{args.images:,} stored inventories ({res['packages']:,} packages, {res['distinct_queries']:,} distinct "
        f"queries), {args.rounds} rounds, batch {args.batch_size}, idle share before the rounds "
        f"{min(idle):.2f}-{max(idle):.2f}:",
        "",
        "| measure | median s | runs s | note |",
        "|---|---:|---|---|",
        f"| store {args.images:,} inventories (`put_many`, 1,000 a transaction) | {res['store_seconds']:.2f} | | "
        f"{res['store_bytes'] / 1e6:.1f} MB SQLite |",
        f"| first match (old advisories) | {res['first_match_seconds']:.2f} | | {res['first_match_findings']:,} findings |",
        f"| `hullscan.rescan` after the update | **{res['api_median']:.2f}** | "
        f"{', '.join(f'{x:.2f}' for x in api)} | {res['new_findings']:,} new findings in {res['images_changed']:,} "
        f"images; target < {TARGET_S:.0f} s: {ok} |",
        f"| `hullscan rescan --format json` (process) | {res['cli_median']:.2f} | {', '.join(f'{x:.2f}' for x in cli)} | |",
        f"| baseline: deserialize + `scan.match` per image | {res['baseline_median']:.2f} | "
        f"{', '.join(f'{x:.2f}' for x in naive)} | rescan is {res['speedup']:.1f}x faster |",
    ]
    (out / "results.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
