"""Scanning from an attached SBOM (issue 6): ``hullscan scan REF --sbom-from-registry`` against
``hullscan scan REF`` (a cold pull of every layer) of the same image in the same registry.

The image (built once into ``benches/.work/oci-sbom-bench/`` by umoci) has four layers of real
files: the Alpine 3.20.3 minirootfs at ``/``, then the 3.19.4, 3.18.9 and 3.17.10 minirootfs releases
from ../shared/data each under ``/opt/alpine-<version>``. It is pushed with skopeo (OCI format) to
Debian's ``docker-registry`` started here on 127.0.0.1, and its CycloneDX SBOM attached once with
``hullscan sbom REF --attach`` (the tag-schema fallback: this registry has no referrers API). The
advisory database is Alpine's secdb sample, imported once and named with ``--db``. Each figure is a
separate process with a new, empty ``HULLSCAN_CACHE_DIR``, round-robin:

- (a) ``python -m hullscan.cli scan REF --offline --db DB --format json``: pulls the layers;
- (b) the same with ``--sbom-from-registry``: fetches manifests, the tag index and the SBOM blob;
- ``python -c "import hullscan.cli"``: the floor under both.

Bytes and blob GETs per run come from the registry's access log; the findings of (a) and (b) are
compared once.

    PYTHONPATH=python python benches/bench_sbom_registry.py [--rounds 7] [--out DIR] [--wait-idle S]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from images import REPO, WORK, imagebuild, log  # noqa: E402
from measure import Sample, Series, loadavg, machine, run_process, wait_idle  # noqa: E402

sys.path.insert(0, str(REPO / "tests"))
from registry_servers import Registry, push  # noqa: E402

DATA = Path(os.environ.get("HULLSCAN_TEST_DATA", REPO.parent / "shared" / "data")).resolve()
ALPINES = ("3.19.4", "3.18.9", "3.17.10")
_ACCESS = re.compile(r'"GET (?P<path>\S+) HTTP/[0-9.]+" (?P<status>\d{3}) (?P<bytes>\d+)')


def bench_layout() -> Path:
    layout = WORK / "oci-sbom-bench"
    done = WORK / "oci-sbom-bench.done"
    if done.exists():
        return layout
    if layout.exists():
        shutil.rmtree(layout)
    log("umoci: building the 4-layer SBOM benchmark image (once) ...")
    ref = imagebuild.oci_init(layout, "bench")
    for i, v in enumerate(("3.20.3", *ALPINES)):
        tree = WORK / f"rootfs-alpine-{v}"
        if tree.exists():
            shutil.rmtree(tree)
        imagebuild.extract_rootfs(
            DATA / "images/alpine-minirootfs" / f"alpine-minirootfs-{v}-x86_64.tar.gz", tree
        )
        imagebuild.oci_add_dir(ref, tree, "/" if i == 0 else f"/opt/alpine-{v}")
        shutil.rmtree(tree)
    done.touch()
    return layout


def advisory_db(tmp: Path) -> Path:
    secdb = tmp / "secdb"
    secdb.mkdir()
    archive = DATA / "advisories/alpine-secdb/vuln-list-alpine-3.20-main-5pkgs.tar.zst"
    data = subprocess.run(["zstd", "-dc", str(archive)], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(secdb)], input=data, check=True)
    env = {**os.environ, "PYTHONPATH": str(REPO / "python"), "HULLSCAN_CACHE_DIR": str(tmp / "db-cache")}
    code = "import sys; from hullscan import db; d = db.import_paths([sys.argv[1]]); print(d.path); d.close()"
    out = subprocess.run(
        [sys.executable, "-c", code, str(secdb / "vuln-list-alpine-3.20-main")],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(out.stdout.strip())


class Bench:
    def __init__(self, registry: Registry, tmp: Path, db: Path) -> None:
        self.registry = registry
        self.tmp = tmp
        base = dict(os.environ)
        base.pop("HULLSCAN_CACHE_DIR", None)
        self.env = {**base, "PYTHONPATH": str(REPO / "python")}
        self.ref = f"{registry.host}/bench:1"
        self.db = db
        self.traffic: dict[str, list[tuple[int, int]]] = {"pull": [], "sbom": []}

    def cmd(self, *extra: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "hullscan.cli",
            "scan",
            self.ref,
            "--offline",
            "--db",
            str(self.db),
            "--format",
            "json",
            *extra,
        ]

    def run(self, kind: str, *extra: str, keep: Path | None = None) -> Sample:
        cache = Path(tempfile.mkdtemp(prefix="cache-", dir=self.tmp))
        mark = self.registry.log_mark()
        try:
            cmd = self.cmd(*extra) + (["-o", str(keep)] if keep else [])
            return run_process(cmd, env={**self.env, "HULLSCAN_CACHE_DIR": str(cache)})
        finally:
            shutil.rmtree(cache, ignore_errors=True)
            self.traffic[kind].append(self.blob_traffic(mark))

    def blob_traffic(self, mark: int) -> tuple[int, int]:
        """(blob GETs, bytes of every GET) in the access log since ``mark``."""
        self.registry.requests(mark)  # waits for the access lines
        with open(self.registry.log_path, "rb") as f:
            f.seek(mark)
            text = f.read().decode(errors="replace")
        hits = list(_ACCESS.finditer(text))
        blobs = sum(1 for m in hits if "/blobs/" in m.group("path"))
        return blobs, sum(int(m.group("bytes")) for m in hits)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--out", default=str(WORK / "results-sbom-registry"))
    ap.add_argument("--wait-idle", type=float, default=0.0, help="wait up to S seconds for an idle machine")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    layout = bench_layout()
    tmp = Path(tempfile.mkdtemp(prefix="bench-sbom-registry-"))
    registry = Registry(tmp / "registry")
    try:
        push(f"oci:{layout}:bench", registry, "bench:1", fmt="oci")
        db = advisory_db(tmp)
        b = Bench(registry, tmp, db)
        env = {**b.env, "HULLSCAN_CACHE_DIR": str(tmp / "attach-cache")}
        subprocess.run(
            [sys.executable, "-m", "hullscan.cli", "sbom", b.ref, "--attach", "-o", os.devnull],
            env=env,
            check=True,
        )
        # The same findings both ways (checked once, outside the timed runs).
        b.run("pull", keep=tmp / "pull.json")
        b.run("sbom", "--sbom-from-registry", keep=tmp / "sbom.json")
        b.traffic = {"pull": [], "sbom": []}

        def ids(p: Path) -> list[tuple[str, str]]:
            return sorted((f["id"], f["package"]["name"]) for f in json.loads(p.read_text())["findings"])

        same = ids(tmp / "pull.json") == ids(tmp / "sbom.json")
        if not same:
            raise RuntimeError("the SBOM-based scan found something else than the full scan")
        series = {
            n: Series(n)
            for n in (
                "scan REF (pull layers, cold)",
                "scan REF --sbom-from-registry (cold)",
                'python -c "import hullscan.cli"',
            )
        }
        idle = []
        load_before = loadavg()
        for i in range(args.rounds):
            if args.wait_idle:
                idle.append(wait_idle(args.wait_idle, log=log))
            log(f"round {i + 1}/{args.rounds}")
            series["scan REF (pull layers, cold)"].add(b.run("pull"))
            series["scan REF --sbom-from-registry (cold)"].add(b.run("sbom", "--sbom-from-registry"))
            series['python -c "import hullscan.cli"'].add(
                run_process([sys.executable, "-c", "import hullscan.cli"], env=b.env)
            )
        res: dict[str, Any] = {
            "machine": machine(),
            "rounds": args.rounds,
            "idle_before_rounds": idle,
            "loadavg_before": load_before,
            "loadavg_after": loadavg(),
            "findings_equal": same,
            "traffic": {k: [{"blob_gets": g, "bytes": n} for g, n in v] for k, v in b.traffic.items()},
            "commands": [s.summary() for s in series.values()],
        }
    finally:
        registry.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    (out / "results.json").write_text(json.dumps(res, indent=2))
    pull = series["scan REF (pull layers, cold)"].median
    md = [
        f"{args.rounds} rounds; findings equal: {same}.",
        "",
        "| command | median s | min s | max s | vs pull | blob GETs | bytes fetched |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    traffic = {
        "scan REF (pull layers, cold)": b.traffic["pull"][0],
        "scan REF --sbom-from-registry (cold)": b.traffic["sbom"][0],
    }
    for s in series.values():
        gets, nbytes = traffic.get(s.name, (0, 0))
        extra = f"{gets} | {nbytes:,}" if s.name in traffic else "- | -"
        md.append(
            f"| {s.name} | {s.median:.2f} | {s.best:.2f} | {max(s.walls):.2f} | {s.median / pull:.2f}x | {extra} |"
        )
    (out / "results.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
