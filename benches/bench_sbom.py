"""SBOM of a 2,000-package inventory written and read back in each format (CycloneDX JSON / XML,
SPDX JSON / tag-value; issue 6 target: <= 200 ms each).

The inventory is Debian bookworm minbase's 88 dpkg packages (../shared/data/rootfs-pkgdb) repeated
under new names to 2,000, so every package has a real purl with distro qualifiers, a licence-less
dpkg record and a location. In-process through the API: ``hullscan.sbom.write`` and
``read_sbom`` (what ``hullscan.inventory("sbom:FILE")`` calls); best of 7 runs.

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
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in FORMATS:
            writes, reads = [], []
            for _ in range(7):
                t = time.perf_counter()
                text = write(big, fmt)
                writes.append(time.perf_counter() - t)
                path = Path(tmp) / f"sbom-{fmt}"
                path.write_text(text)
                t = time.perf_counter()
                back = read_sbom(path)
                reads.append(time.perf_counter() - t)
                assert len(back.packages) == N
            print(
                f"{fmt:15} {N} packages: write {min(writes) * 1000:6.1f} ms, "
                f"read {min(reads) * 1000:6.1f} ms ({len(text) // 1024} KiB)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
