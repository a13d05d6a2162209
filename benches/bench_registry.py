"""Pulling from a registry (issue 5, must-show 5): ``hullscan inventory registry:REF`` against
``skopeo copy`` of the same image to an OCI layout followed by ``hullscan inventory oci-dir:``.

The image (built once into ``benches/.work/oci-registry-bench/`` by umoci) has five layers of real
files: Debian bookworm minbase from debootstrap (see images.py), then the Alpine 3.20.3, 3.19.4,
3.18.9 and 3.17.10 minirootfs releases from ../shared/data each under ``/opt/alpine-<version>``.
It is pushed with skopeo (OCI format) to Debian's ``docker-registry`` started here on 127.0.0.1
(filesystem storage, access log on). Every figure is a separate process, round-robin:

- (a) hullscan cold: ``python -m hullscan.cli inventory registry:127.0.0.1:PORT/bench:1 --format
  json`` with a new, empty ``HULLSCAN_CACHE_DIR`` (no layer results, no blobs);
- (b) hullscan warm: the same with the cache of an earlier run; the registry's access log must show
  no blob GET during any warm run;
- (c) skopeo + hullscan: ``skopeo copy docker://... oci:DIR:bench`` (a new DIR each run) then the
  cold ``hullscan inventory oci-dir:DIR`` (the sum of both processes' wall times; skopeo alone is
  reported too).

    PYTHONPATH=python python benches/bench_registry.py [--rounds 7] [--out DIR] [--wait-idle S]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import images  # noqa: E402
from images import REPO, WORK, imagebuild, log  # noqa: E402
from measure import Sample, Series, loadavg, machine, run_process, wait_idle  # noqa: E402

sys.path.insert(0, str(REPO / "tests"))
from registry_servers import Registry, push  # noqa: E402

DATA = Path(os.environ.get("HULLSCAN_TEST_DATA", REPO.parent / "shared" / "data")).resolve()
ALPINES = ("3.20.3", "3.19.4", "3.18.9", "3.17.10")


def bench_layout() -> Path:
    layout = WORK / "oci-registry-bench"
    done = WORK / "oci-registry-bench.done"
    if done.exists():
        return layout
    if layout.exists():
        shutil.rmtree(layout)
    base = images.rootfs()
    log("umoci: building the 5-layer registry benchmark image (once) ...")
    ref = imagebuild.oci_init(layout, "bench")
    imagebuild.oci_add_dir(ref, base, "/")
    for v in ALPINES:
        tree = WORK / f"rootfs-alpine-{v}"
        if tree.exists():
            shutil.rmtree(tree)
        imagebuild.extract_rootfs(
            DATA / "images/alpine-minirootfs" / f"alpine-minirootfs-{v}-x86_64.tar.gz", tree
        )
        imagebuild.oci_add_dir(ref, tree, f"/opt/alpine-{v}")
        shutil.rmtree(tree)
    done.touch()
    return layout


class Bench:
    def __init__(self, registry: Registry, tmp: Path) -> None:
        self.registry = registry
        self.tmp = tmp
        base = dict(os.environ)
        base.pop("HULLSCAN_CACHE_DIR", None)
        self.env = {**base, "PYTHONPATH": str(REPO / "python")}
        self.ref = f"{registry.host}/bench:1"
        self.warm_blob_gets: list[int] = []

    def hs(self, source: str, cache: Path) -> Sample:
        cmd = [sys.executable, "-m", "hullscan.cli", "inventory", source, "--format", "json"]
        return run_process(cmd, env={**self.env, "HULLSCAN_CACHE_DIR": str(cache)})

    def cold(self) -> Sample:
        cache = Path(tempfile.mkdtemp(prefix="cache-", dir=self.tmp))
        try:
            return self.hs(f"registry:{self.ref}", cache)
        finally:
            shutil.rmtree(cache, ignore_errors=True)

    def warm(self, cache: Path) -> Sample:
        mark = self.registry.log_mark()
        s = self.hs(f"registry:{self.ref}", cache)
        gets = self.registry.blob_gets(mark)
        self.warm_blob_gets.append(len(gets))
        if gets:
            raise RuntimeError(f"warm run fetched blobs: {gets}")
        return s

    def skopeo(self, dest: Path) -> Sample:
        return run_process(
            [
                "skopeo",
                "copy",
                "--quiet",
                "--src-tls-verify=false",
                f"docker://{self.ref}",
                f"oci:{dest}:bench",
            ],
            env=self.env,
        )

    def skopeo_then_hs(self, skopeo_series: Series) -> Sample:
        work = Path(tempfile.mkdtemp(prefix="skopeo-", dir=self.tmp))
        try:
            s1 = self.skopeo(work / "layout")
            skopeo_series.add(s1)
            s2 = self.hs(f"oci-dir:{work / 'layout'}", work / "cache")
            return Sample(
                wall=s1.wall + s2.wall,
                cpu=s1.cpu + s2.cpu,
                maxrss_kib=max(s1.maxrss_kib or 0, s2.maxrss_kib or 0) or None,
            )
        finally:
            shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--out", default=str(WORK / "results-registry"))
    ap.add_argument("--wait-idle", type=float, default=0.0, help="wait up to S seconds for an idle machine")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    layout = bench_layout()
    tmp = Path(tempfile.mkdtemp(prefix="bench-registry-"))
    registry = Registry(tmp / "registry")
    try:
        push(f"oci:{layout}:bench", registry, "bench:1", fmt="oci")
        b = Bench(registry, tmp)
        manifest = json.loads(
            subprocess.run(
                ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{b.ref}"],
                capture_output=True,
                check=True,
                text=True,
            ).stdout
        )
        sizes = [d["size"] for d in manifest["layers"]]
        warm_cache = tmp / "warm-cache"
        b.hs(f"registry:{b.ref}", warm_cache)  # fill the warm cache (and the page cache)
        series = {
            n: Series(n)
            for n in (
                "hullscan registry: cold",
                "hullscan registry: warm",
                "skopeo copy + hullscan oci-dir",
                "skopeo copy alone",
            )
        }
        idle = []
        load_before = loadavg()
        for i in range(args.rounds):
            if args.wait_idle:
                idle.append(wait_idle(args.wait_idle, log=log))
            log(f"round {i + 1}/{args.rounds}")
            series["hullscan registry: cold"].add(b.cold())
            series["hullscan registry: warm"].add(b.warm(warm_cache))
            series["skopeo copy + hullscan oci-dir"].add(b.skopeo_then_hs(series["skopeo copy alone"]))
        res: dict[str, Any] = {
            "machine": machine(),
            "image": {"layers": len(sizes), "compressed_bytes": sum(sizes), "layer_sizes": sizes},
            "rounds": args.rounds,
            "idle_before_rounds": idle,
            "loadavg_before": load_before,
            "loadavg_after": loadavg(),
            "warm_blob_gets": b.warm_blob_gets,
            "commands": [s.summary() for s in series.values()],
        }
    finally:
        registry.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    (out / "results.json").write_text(json.dumps(res, indent=2))
    cold = series["hullscan registry: cold"].median
    md = [
        f"Image: {len(sizes)} layers, {sum(sizes) / 1e6:.1f} MB compressed; {args.rounds} rounds.",
        "",
        "| command | median s | min s | max s | peak RSS MiB | vs hullscan cold |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for s in series.values():
        rss = s.rss_median_mib
        md.append(
            f"| {s.name} | {s.median:.2f} | {s.best:.2f} | {max(s.walls):.2f} | "
            f"{rss:.0f} | {s.median / cold:.2f}x |"
            if rss is not None
            else f"| {s.name} | {s.median:.2f} | {s.best:.2f} | {max(s.walls):.2f} | - | {s.median / cold:.2f}x |"
        )
    md.append("")
    md.append(f"Blob GETs during warm runs: {b.warm_blob_gets}")
    (out / "results.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
