"""Secret search in layer files: what ``--secrets`` costs on a real layer.

A ~256 MiB (uncompressed) gzip layer of a Debian bookworm root filesystem (``images.big_layer``,
built once) is read by ``hullscan._core.scan_layer`` with and without the secret search, round-robin
in one process, against two baselines measured in the same rounds: raw decompression of the blob
(``zlib`` through ``gzip.GzipFile``, no tar, no hashing) and the plain layer scan. Reported: medians,
the search's cost over the plain scan, and the number of files' secrets found (none expected in a
fresh Debian; the rules skip documentation and test directories).

    PYTHONPATH=python python benches/bench_secrets.py [--mib 256] [--rounds 5]
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from hullscan import _core  # noqa: E402
from images import big_layer, log  # noqa: E402
from measure import loadavg  # noqa: E402


def _decompress(path: Path) -> int:
    n = 0
    with gzip.open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            n += len(chunk)
    return n


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    layer = big_layer(args.mib)
    log(
        f"layer {layer.path.name}: {layer.size / 2**20:.0f} MiB gzip, {layer.uncompressed_size / 2**20:.0f} MiB tar"
    )
    times: dict[str, list[float]] = {"decompress only": [], "scan_layer": [], "scan_layer + secrets": []}
    found = 0
    print(f"load average before: {loadavg()[0]:.2f}")
    for _ in range(args.rounds):
        t = time.perf_counter()
        _decompress(layer.path)
        times["decompress only"].append(time.perf_counter() - t)
        t = time.perf_counter()
        _core.scan_layer(layer.path, expected_digest=layer.digest)
        times["scan_layer"].append(time.perf_counter() - t)
        t = time.perf_counter()
        r = _core.scan_layer(layer.path, expected_digest=layer.digest, secrets=True)
        times["scan_layer + secrets"].append(time.perf_counter() - t)
        found = len(r.secrets)
    med = {k: statistics.median(v) for k, v in times.items()}
    mib = layer.uncompressed_size / 2**20
    print("| run | median s | MiB/s (uncompressed) |")
    print("|---|---:|---:|")
    for k, v in med.items():
        print(f"| {k} | {v:.3f} | {mib / v:.0f} |")
    cost = med["scan_layer + secrets"] / med["scan_layer"]
    print(f"secret search: {cost:.2f}x the plain scan; {found} secrets found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
