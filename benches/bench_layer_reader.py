"""(a) Layer reader throughput against raw single-core decompression of the same blob, same run.

Measured, round-robin (every round runs every method once, so drift and other load on the machine
hit all methods alike):

- ``hullscan scan_layer``: ``hullscan._core.scan_layer`` from Python, with both expected digests
  (decompress, hash compressed and uncompressed streams, walk the tar, catalog, verify);
- ``rust flate2/zlib-rs -> sink``: ``examples/bench_layer gunzip``, the same decompressor and
  backend the layer reader uses, on one core, output thrown away (the ceiling; the target is
  >= 80 % of it);
- ``gzip -dc > /dev/null`` (GNU gzip, its own inflate);
- ``python zlib streaming``: ``zlib.decompressobj`` over 256 KiB reads (the system zlib);
- ``hullscan scan_layer (rust, no python)``: ``examples/bench_layer scan``, for reference.
"""

from __future__ import annotations

import json
import subprocess
import zlib
from pathlib import Path
from typing import Any

from images import BigLayer
from measure import Sample, Series, Settle, loadavg, run_inprocess, run_process

READ = 256 * 1024


def python_zlib(path: Path) -> int:
    d = zlib.decompressobj(wbits=31)  # gzip wrapper
    total = 0
    with open(path, "rb") as f:
        while chunk := f.read(READ):
            total += len(d.decompress(chunk))
            while d.unconsumed_tail:
                total += len(d.decompress(d.unconsumed_tail))
        total += len(d.flush())
    return total


def _rust_aid(tool: Path, mode: str, path: Path) -> Sample:
    """One run of examples/bench_layer; the time it measured itself (no process start-up)."""
    out = subprocess.run([str(tool), mode, str(path), "1"], capture_output=True, text=True, check=True).stdout
    rec = json.loads(out.strip().splitlines()[-1])
    # CPU time from the child's rusage would include start-up; the wall time is the figure compared.
    return Sample(wall=rec["seconds"], cpu=float("nan"))


def run(layer: BigLayer, tool: Path, rounds: int, settle: Settle) -> dict[str, Any]:
    from hullscan import _core

    path = layer.path

    def scan() -> None:
        r = _core.scan_layer(path, expected_digest=layer.digest, expected_diff_id=layer.diff_id)
        if r.uncompressed_size != layer.uncompressed_size:
            raise AssertionError("scan_layer read a different stream")

    def pyz() -> None:
        if python_zlib(path) != layer.uncompressed_size:
            raise AssertionError("python zlib produced a different length")

    methods = {
        "hullscan scan_layer": lambda: run_inprocess(scan),
        "rust flate2/zlib-rs -> sink": lambda: _rust_aid(tool, "gunzip", path),
        "gzip -dc > /dev/null": lambda: run_process(["gzip", "-dc", path]),
        "python zlib streaming": lambda: run_inprocess(pyz),
        "hullscan scan_layer (rust, no python)": lambda: _rust_aid(tool, "scan", path),
    }
    series = {name: Series(name) for name in methods}
    load_before = loadavg()
    # Warm-up (page cache, first-call costs), not recorded.
    methods["hullscan scan_layer"]()
    methods["rust flate2/zlib-rs -> sink"]()
    idle = []
    for _ in range(rounds):
        idle.append(settle())
        for name, fn in methods.items():
            series[name].add(fn())
    load_after = loadavg()

    mb = layer.uncompressed_size / 1e6
    hs = series["hullscan scan_layer"]
    rows = []
    for s in series.values():
        rows.append(
            {
                **s.summary(),
                "throughput_uncompressed_mb_s": mb / s.median,
                "throughput_compressed_mb_s": layer.size / 1e6 / s.median,
                # hullscan throughput as a share of this method's (same-run medians / bests).
                "hullscan_pct_median": 100 * s.median / hs.median,
                "hullscan_pct_best": 100 * s.best / hs.best,
            }
        )
    return {
        "layer": {
            "path": str(path),
            "compressed_bytes": layer.size,
            "uncompressed_bytes": layer.uncompressed_size,
            "digest": layer.digest,
            "diff_id": layer.diff_id,
        },
        "rounds": rounds,
        "idle_before_rounds": idle,
        "loadavg_before": load_before,
        "loadavg_after": load_after,
        "methods": rows,
    }
