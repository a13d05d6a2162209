"""SBOM of a 2,000-package inventory written and read back in each format (CycloneDX JSON / XML,
SPDX JSON / tag-value; issue 6 target: <= 200 ms each).

The inventory is Debian bookworm minbase's 88 dpkg packages (../shared/data/rootfs-pkgdb) repeated
under new names to 2,000, so every package has a real purl with distro qualifiers, a licence-less
dpkg record and a location. In-process through the API: ``hullscan.sbom.write`` and
``read_sbom`` (what ``hullscan.inventory("sbom:FILE")`` calls). Round-robin: each of 9 rounds writes
and reads every format once, so load from other processes hits all formats alike; the best time of
each is printed, with its ratio to CycloneDX JSON (the baseline, measured side by side): on a shared
machine the ratios hold where the milliseconds do not.

    PYTHONPATH=python python benches/bench_sbom.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import hullscan
from hullscan.sbom import FORMATS, write
from hullscan.sbom.reader import read_sbom

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("HULLSCAN_TEST_DATA", REPO.parent / "shared" / "data"))
N = 2000


def main() -> int:
    inv = hullscan.inventory(f"dir:{DATA / 'rootfs-pkgdb/debootstrap-bookworm-minbase'}")
    base = list(inv.packages)
    packages = []
    for i in range(N):
        p = base[i % len(base)]
        packages.append(replace(p, name=f"{p.name}{i}", purl=p.purl.replace(f"/{p.name}@", f"/{p.name}{i}@")))
    big = replace(inv, packages=tuple(packages))
    writes: dict[str, list[float]] = {fmt: [] for fmt in FORMATS}
    reads: dict[str, list[float]] = {fmt: [] for fmt in FORMATS}
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(9):
            for fmt in FORMATS:
                t = time.perf_counter()
                text = write(big, fmt)
                writes[fmt].append(time.perf_counter() - t)
                path = Path(tmp) / f"sbom-{fmt}"
                path.write_text(text)
                sizes[fmt] = len(text)
                t = time.perf_counter()
                back = read_sbom(path)
                reads[fmt].append(time.perf_counter() - t)
                assert len(back.packages) == N
    base_w, base_r = min(writes["cyclonedx-json"]), min(reads["cyclonedx-json"])
    for fmt in FORMATS:
        w, r = min(writes[fmt]), min(reads[fmt])
        print(
            f"{fmt:15} {N} packages: write {w * 1000:6.1f} ms ({w / base_w:4.2f}x), "
            f"read {r * 1000:6.1f} ms ({r / base_r:4.2f}x) ({sizes[fmt] // 1024} KiB)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
