"""EPSS / KEV lookup and policy cost, against the same scan without them, side by side.

Two databases with the real Alpine 3.20 advisories for the Alpine 3.20.3 image (../shared/data):
one with nothing else (the baseline), one with a full-size EPSS day (300,000 rows in the published
format: the image's CVEs plus synthetic CVE ids, gzip) and the real CISA KEV catalog. Measured
in-process, round-robin, medians of 9 rounds (layer cache warm, so the scan is index load + match):

- ``scan`` without EPSS/KEV (baseline) vs ``scan`` with them (lookup of every finding's CVEs);
- ``policy.apply`` with a 200-rule ignore file and a 2,000-statement OpenVEX document, on that result.

    PYTHONPATH=python python benches/bench_triage.py
"""

from __future__ import annotations

import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import hullscan
from hullscan import db as adb
from hullscan import policy

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("HULLSCAN_TEST_DATA", REPO.parent / "shared" / "data"))
IMAGE = DATA / "images/oci-layout/umoci-alpine-3.20.3-x86_64.oci-layout.tar"
ROWS = 300_000
ROUNDS = 9


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        src = DATA / "advisories/alpine-secdb/vuln-list-alpine-3.20-main-5pkgs.tar.zst"
        tar = subprocess.run(["zstd", "-dc", str(src)], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(work)], input=tar, check=True)
        advisories = work / "vuln-list-alpine-3.20-main"
        plain, rich = work / "plain", work / "rich"
        adb.import_paths([advisories], cache_dir=plain).close()
        adb.import_paths([advisories], cache_dir=rich).close()
        with adb.open_db(plain) as d:
            base = hullscan.scan(str(IMAGE), db=d.path, cache_dir=work / "layers")
        cves = sorted({i for f in base.findings for i in (f.id, *f.aliases) if i.startswith("CVE-")})
        lines = ["#model_version:v2025.03.14,score_date:2026-12-01T00:00:00+0000", "cve,epss,percentile"]
        lines += [f"CVE-2099-{i:06d},0.00100,0.10000" for i in range(ROWS - len(cves))]
        lines += [f"{c},0.50000,0.90000" for c in cves]
        epss = work / "epss_scores-2026-12-01.csv.gz"
        epss.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
        t = time.perf_counter()
        adb.import_paths(
            [epss, DATA / "advisories/kev/known_exploited_vulnerabilities.json"], cache_dir=rich
        ).close()
        import_s = time.perf_counter() - t

        ignore = work / "ignore.yaml"
        ignore.write_text(
            "ignore:\n" + "".join(f"  - id: CVE-2099-{i:06d}\n    reason: bench\n" for i in range(200))
        )
        statements = [
            {
                "vulnerability": {"name": f"CVE-2099-{i:06d}"},
                "products": [{"@id": "pkg:oci/x", "subcomponents": [{"@id": "pkg:apk/alpine/musl"}]}],
                "status": "not_affected",
                "justification": "component_not_present",
            }
            for i in range(2000)
        ]
        vex = work / "vex.json"
        vex.write_text(
            json.dumps(
                {
                    "@context": "https://openvex.dev/ns/v0.2.0",
                    "@id": "https://openvex.dev/docs/public/vex-bench",
                    "author": "bench",
                    "timestamp": "2026-12-01T00:00:00Z",
                    "version": 1,
                    "statements": statements,
                }
            )
        )
        with adb.open_db(plain) as dp, adb.open_db(rich) as dr:
            result: list[hullscan.ScanResult] = []
            cmds: dict[str, Callable[[], object]] = {
                "scan (baseline: no EPSS/KEV)": lambda: hullscan.scan(
                    str(IMAGE), db=dp.path, cache_dir=work / "layers"
                ),
                "scan with EPSS (300k rows) + KEV": lambda: result.append(
                    hullscan.scan(str(IMAGE), db=dr.path, cache_dir=work / "layers")
                ),
            }
            cmds["scan with EPSS (300k rows) + KEV"]()
            cmds["policy.apply (200 rules, 2,000 VEX statements)"] = lambda: policy.apply(
                result[0], ignore=ignore, vex=[vex]
            )
            samples: dict[str, list[float]] = {k: [] for k in cmds}
            for _ in range(ROUNDS):
                for name, fn in cmds.items():
                    t = time.perf_counter()
                    fn()
                    samples[name].append(time.perf_counter() - t)
            assert all(f.epss is not None for f in result[0].findings if f.id.startswith("CVE-"))
        base_ms = statistics.median(samples["scan (baseline: no EPSS/KEV)"]) * 1000
        print(f"{len(base.findings)} findings; import of the EPSS day + KEV catalog: {import_s:.2f} s")
        for name, xs in samples.items():
            med = statistics.median(xs) * 1000
            print(
                f"{name:50} median {med:7.1f} ms  (min {min(xs) * 1000:.1f}, max {max(xs) * 1000:.1f}); "
                f"{med / base_ms:.2f}x the baseline scan"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
