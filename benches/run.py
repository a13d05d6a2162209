"""Run hullscan's benchmarks side by side with their baselines; write JSON + a markdown summary.

    export CARGO_TARGET_DIR=$PWD/target
    cargo build --release -p hullscan-py
    cp target/release/lib_core.so python/hullscan/_core.abi3.so
    PYTHONPATH=python python benches/run.py [--quick] [--out DIR]

Inputs are built once into benches/.work/ (see images.py). Results go to DIR (default
benches/.work/results/): results.json (every sample) and results.md (the summary, also printed).
Not a test suite: nothing here is collected by pytest.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_inventory  # noqa: E402
import bench_layer_reader  # noqa: E402
import images  # noqa: E402
from measure import idle_fraction, loadavg, machine, wait_idle  # noqa: E402

REPO = images.REPO
LAYER_TARGET = 0.80  # hullscan >= 80 % of raw single-core decompression, same backend
SYFT_TARGET = 5.0  # hullscan cold >= 5x faster than syft
WARM_TARGET = 5.0  # warm <= 5 % of cold


def log(msg: str) -> None:
    print(f"[run] {msg}", file=sys.stderr, flush=True)


def check_extension() -> str:
    """The extension must come from this tree and be newer than the Rust sources."""
    import hullscan
    from hullscan import _core

    so = Path(_core.__file__ or "")
    if REPO / "python" not in so.parents:
        log(f"warning: hullscan._core is {so}, not this tree's (set PYTHONPATH=python)")
    newest = max(p.stat().st_mtime for p in (REPO / "rust").rglob("*.rs"))
    if so.exists() and so.stat().st_mtime < newest:
        log("warning: the extension is older than rust/**/*.rs; rebuild it first")
    return str(getattr(hullscan, "__version__", "?"))


def build_rust_aid() -> Path:
    """examples/bench_layer (the same-backend decompression baseline), release profile."""
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    log("cargo build --release -p hullscan-core --example bench_layer")
    subprocess.run(
        [
            "cargo",
            "build",
            "--quiet",
            "--release",
            "-p",
            "hullscan-core",
            "--example",
            "bench_layer",
        ],
        cwd=REPO,
        check=True,
    )
    return target / "release" / "examples" / "bench_layer"


def tool_versions() -> dict[str, str]:
    import zlib

    gz = subprocess.run(["gzip", "--version"], capture_output=True, text=True).stdout
    return {
        "gzip": gz.splitlines()[0] if gz else "?",
        "python_zlib": zlib.ZLIB_RUNTIME_VERSION,
    }


def _f(x: float | None, nd: int = 2) -> str:
    return "-" if x is None else f"{x:.{nd}f}"


def _idle(part: dict[str, Any]) -> str:
    return " ".join(f"{100 * x:.0f}%" for x in part["idle_before_rounds"])


def _ok(good: bool) -> str:
    return "met" if good else "MISSED"


def markdown(res: dict[str, Any]) -> str:
    m = res["machine"]
    out = [
        f"# hullscan benchmarks ({res['date']}{', quick' if res['quick'] else ''})",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['mem_gib']} GiB, Linux {m['kernel']}, "
        f"Python {m['python']}. Load average at start {res['loadavg_start'][0]:.2f}, "
        f"at end {res['loadavg_end'][0]:.2f}. Total {res['seconds']:.0f} s "
        f"({res['seconds_waiting_idle']:.0f} s of it waiting for the machine to be idle).",
        "",
    ]
    a = res.get("layer_reader")
    if a:
        lay = a["layer"]
        out += [
            "## (a) Layer reader throughput",
            "",
            f"One gzip -6 layer: {lay['compressed_bytes'] / 1e6:.1f} MB compressed, "
            f"{lay['uncompressed_bytes'] / 1e6:.1f} MB uncompressed; {a['rounds']} rounds, "
            f"round-robin; machine idle before each round: {_idle(a)}; load average "
            f"{a['loadavg_before'][0]:.2f} -> {a['loadavg_after'][0]:.2f}.",
            "",
            "| method | median s | best s | MB/s out (median) | hullscan as % of it, median | best |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for r in a["methods"]:
            out.append(
                f"| {r['name']} | {r['wall_median_s']:.3f} | {r['wall_min_s']:.3f} | "
                f"{r['throughput_uncompressed_mb_s']:.0f} | {r['hullscan_pct_median']:.0f} % | "
                f"{r['hullscan_pct_best']:.0f} % |"
            )
        same = next(r for r in a["methods"] if r["name"].startswith("rust flate2"))
        pct = same["hullscan_pct_median"]
        out += [
            "",
            f"Target: hullscan >= {LAYER_TARGET * 100:.0f} % of raw single-core decompression with "
            f"the same backend: **{pct:.0f} %** (median; {same['hullscan_pct_best']:.0f} % best "
            f"of runs): {_ok(pct >= LAYER_TARGET * 100)}.",
            "",
        ]
    b = res.get("inventory")
    if b:
        out += [
            "## (b) hullscan inventory vs syft scan, (c) warm vs cold",
            "",
            f"syft {b['syft_version']}. Every row is a separate process (peak RSS by GNU time).",
            "",
        ]
        for img in b["images"]:
            out += [
                f"### {img['image']} (layer {img['layer_bytes'] / 1e6:.1f} MB compressed)",
                "",
                f"Machine idle before each round: {_idle(img)}; load average "
                f"{img['loadavg_before'][0]:.2f} -> {img['loadavg_after'][0]:.2f}.",
                "",
                "| command | runs | median s | min s | max s | peak RSS MiB (median) | "
                "hullscan cold faster by |",
                "|---|---:|---:|---:|---:|---:|---:|",
            ]
            for c in img["commands"]:
                sp = c.get("hullscan_speedup_median")
                out.append(
                    f"| {c['name']} | {c['runs']} | {c['wall_median_s']:.3f} | "
                    f"{c['wall_min_s']:.3f} | {c['wall_max_s']:.3f} | "
                    f"{_f(c['peak_rss_median_mib'], 1)} | {'' if sp is None else f'{sp:.1f}x'} |"
                )
            pk = img.get("packages")
            if pk:
                out += [
                    "",
                    f"Packages found: hullscan {pk['hullscan_packages']}, syft "
                    f"{pk['syft_packages']}; same (name, version) set: "
                    f"{'yes' if pk['same_name_version_set'] else 'no'}.",
                ]
            api = img["api"]
            beyond = img["warm_pct_of_cold_cli_beyond_floor"]
            warm_ms = api["warm"]["wall_median_s"] * 1e3
            cold_ms = api["cold"]["wall_median_s"] * 1e3
            out += [
                "",
                f"Warm (layer cache hit) vs cold: CLI {img['warm_pct_of_cold_cli']:.0f} % of cold "
                f"(interpreter start-up and imports included; {beyond:.1f} % of what cold spends "
                "beyond that floor); API `hullscan.inventory()` "
                f"in-process {warm_ms:.1f} ms vs {cold_ms:.0f} ms = "
                f"**{api['warm_pct_of_cold']:.1f} %**.",
                "",
            ]
        main = b["images"][0]
        syft = next(c for c in main["commands"] if c["name"] == "syft (squashed, default)")
        sp = syft["hullscan_speedup_median"]
        cold = {
            img["image"]: next(c for c in img["commands"] if c["name"] == "hullscan cold")
            for img in b["images"]
        }
        rss = ", ".join(
            f"{k} ({img['layer_bytes'] / 1e6:.0f} MB layer): {_f(v['peak_rss_median_mib'], 1)} MiB"
            for (k, v), img in zip(cold.items(), b["images"], strict=True)
        )
        out += [
            "### Targets",
            "",
            f"- hullscan cold vs syft (default scope) on {main['image']}: **{sp:.1f}x** faster "
            f"(target >= {SYFT_TARGET:.0f}x): {_ok(sp >= SYFT_TARGET)}.",
            f"- Warm vs cold on {main['image']}: API "
            f"**{main['api']['warm_pct_of_cold']:.1f} %**, CLI "
            f"{main['warm_pct_of_cold_cli']:.0f} % (target <= {WARM_TARGET:.0f} %): API "
            f"{_ok(main['api']['warm_pct_of_cold'] <= WARM_TARGET)}, CLI "
            f"{_ok(main['warm_pct_of_cold_cli'] <= WARM_TARGET)}.",
            f"- hullscan cold peak RSS: {rss}.",
            "",
        ]
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller layer, fewer runs (~1 minute)")
    ap.add_argument("--out", type=Path, default=images.WORK / "results", help="output directory")
    ap.add_argument("--only", choices=("layer", "inventory"), help="run only one part (default both)")
    ap.add_argument(
        "--wait-idle",
        type=float,
        default=0,
        metavar="SECONDS",
        help="before each round, wait up to this long for the machine to be >= 95%% idle "
        "(for shared machines; the idle share before each round is recorded either way)",
    )
    args = ap.parse_args()

    t0 = time.perf_counter()
    version = check_extension()
    big_mib = 25 if args.quick else 100
    rounds = 3 if args.quick else 7
    inv_rounds = 3 if args.quick else 5
    syft_big = 0 if args.quick else 2

    log("preparing inputs (cached in benches/.work/)")
    bookworm = images.oci_bookworm()
    big_layout, big = images.oci_big(big_mib)
    bookworm_layer = max(p.stat().st_size for p in (bookworm / "blobs" / "sha256").iterdir())

    res: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "quick": args.quick,
        "hullscan": version,
        "machine": machine(),
        "tools": tool_versions(),
        "loadavg_start": loadavg(),
    }

    waited = [0.0]

    def settle() -> float:
        """Idle share of the machine just before a round (others' load skews timings)."""
        if args.wait_idle <= 0:
            return idle_fraction(0.5)
        t = time.perf_counter()
        idle = wait_idle(args.wait_idle, log=log)
        waited[0] += time.perf_counter() - t
        return idle

    if args.only in (None, "layer"):
        tool = build_rust_aid()
        log(f"(a) layer reader: {big.size / 1e6:.0f} MB gzip layer, {rounds} rounds")
        res["layer_reader"] = bench_layer_reader.run(big, tool, rounds, settle)
    if args.only in (None, "inventory"):
        log(f"(b, c) inventory vs syft: {inv_rounds} rounds")
        res["inventory"] = bench_inventory.run(
            REPO,
            images.WORK,
            {
                "debian bookworm minbase (umoci)": (bookworm, bookworm_layer),
                f"one {big.size / 1e6:.0f} MB layer": (big_layout, big.size),
            },
            rounds=inv_rounds,
            syft_rounds_big=syft_big,
            settle=settle,
        )
    res["loadavg_end"] = loadavg()
    res["seconds"] = time.perf_counter() - t0
    res["seconds_waiting_idle"] = waited[0]

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(res, indent=2))
    md = markdown(res)
    (args.out / "results.md").write_text(md + "\n")
    print(md)
    log(f"wrote {args.out / 'results.json'} and {args.out / 'results.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
