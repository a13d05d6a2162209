"""Language ecosystems: ``hullscan inventory`` against ``syft scan`` on images full of language
packages (issue: language ecosystems; target >= 5x faster than syft).

Two images, built once into ``benches/.work/`` and packed by umoci into one-layer OCI layouts:

- ``oci-node``: a ``node_modules`` tree of thousands of packages the way npm lays them out:
  top-level packages, scoped ones (``@scope/name``), nested ``node_modules`` two levels deep, each
  package directory with its ``package.json`` (the fields npm writes), a README, an ``index.js`` and
  a ``lib/`` of sources, so the tree has the shape and the bulk of a real one.
- ``oci-jars``: every real jar Debian installed in ``/usr/share/java`` (maven, guava, guice,
  commons-*, ...; symlinks resolved) copied into several application directories, plus web
  archives that bundle them under ``WEB-INF/lib`` (nested archives, as application servers hold
  them).

Every figure is a separate process, round-robin (see bench_inventory.Runner): hullscan cold (new
empty cache each run, the whole CLI) and ``syft scan oci-dir:... -o json`` (default scope). The
package counts of both and the agreement of their (name, version) sets per ecosystem are reported.

    PYTHONPATH=python python benches/bench_lang.py [--packages 3000] [--rounds 5] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_inventory import Runner, syft_version  # noqa: E402
from images import REPO, WORK, imagebuild, log  # noqa: E402
from measure import Series, loadavg, wait_idle  # noqa: E402

TARGET = 5.0
WORDS = [
    "parse",
    "build",
    "stream",
    "buffer",
    "token",
    "graph",
    "cache",
    "route",
    "query",
    "schema",
    "event",
    "merge",
]


def _package_json(name: str, version: str, deps: dict[str, str], rng: random.Random) -> str:
    return json.dumps(
        {
            "name": name,
            "version": version,
            "description": " ".join(rng.choices(WORDS, k=8)),
            "main": "index.js",
            "license": rng.choice(["MIT", "ISC", "Apache-2.0", "BSD-3-Clause"]),
            "repository": {"type": "git", "url": f"git+https://example.invalid/{name}.git"},
            "keywords": rng.choices(WORDS, k=4),
            "dependencies": deps,
            "engines": {"node": ">=14"},
            "_resolved": f"https://example.invalid/{name}/-/{name.split('/')[-1]}-{version}.tgz",
            "_integrity": "sha512-" + "A" * 86 + "==",
        },
        indent=2,
    )


def _node_package(d: Path, name: str, version: str, rng: random.Random) -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / "package.json").write_text(_package_json(name, version, {}, rng))
    (d / "README.md").write_text(f"# {name}\n\n" + " ".join(rng.choices(WORDS, k=400)) + "\n")
    body = "\n".join(
        f"exports.{w}{i} = function () {{ return {i}; }};" for i, w in enumerate(rng.choices(WORDS, k=80))
    )
    (d / "index.js").write_text(body + "\n")
    lib = d / "lib"
    lib.mkdir(exist_ok=True)
    for i in range(3):
        (lib / f"{rng.choice(WORDS)}{i}.js").write_text(body + "\n")


def node_rootfs(n_packages: int) -> Path:
    dest = WORK / f"rootfs-node-{n_packages}"
    done = WORK / f"rootfs-node-{n_packages}.done"
    if done.exists():
        return dest
    shutil.rmtree(dest, ignore_errors=True)
    rng = random.Random(7)
    app = dest / "app"
    nm = app / "node_modules"
    made = 0
    i = 0
    while made < n_packages:
        version = f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 30)}"
        name = f"@scope{i % 20}/pkg-{i}" if i % 7 == 0 else f"pkg-{i}"
        top = nm / name
        _node_package(top, name, version, rng)
        made += 1
        # Every fourth package carries nested copies of others (version conflicts), two deep.
        if i % 4 == 0:
            for j in range(3):
                inner = top / "node_modules" / f"dep-{i}-{j}"
                _node_package(inner, f"dep-{i}-{j}", f"1.{j}.0", rng)
                made += 1
                if j == 0:
                    _node_package(inner / "node_modules" / f"deep-{i}", f"deep-{i}", "0.1.0", rng)
                    made += 1
        i += 1
    (app / "package.json").write_text(_package_json("bench-app", "1.0.0", {}, rng))
    done.touch()
    return dest


def jar_rootfs(copies: int) -> Path:
    dest = WORK / f"rootfs-jars-{copies}"
    done = WORK / f"rootfs-jars-{copies}.done"
    if done.exists():
        return dest
    shutil.rmtree(dest, ignore_errors=True)
    jars = sorted({p.resolve() for p in Path("/usr/share/java").glob("*.jar") if p.resolve().is_file()})
    if not jars:
        raise RuntimeError("no jars in /usr/share/java (scripts/install-deps installs libmaven3-core-java)")
    for c in range(copies):
        d = dest / "opt" / f"app{c}" / "lib"
        d.mkdir(parents=True)
        for j in jars:
            shutil.copyfile(j, d / j.name)
        # A web archive bundling the same jars, stored (jars are already compressed).
        with zipfile.ZipFile(dest / "opt" / f"app{c}" / f"app{c}.war", "w", zipfile.ZIP_STORED) as war:
            war.writestr("WEB-INF/web.xml", "<web-app/>")
            for j in jars:
                war.write(j, f"WEB-INF/lib/{j.name}")
    done.touch()
    return dest


def layout_of(rootfs: Path, name: str) -> Path:
    layout = WORK / name
    done = WORK / f"{name}.done"
    if not done.exists():
        shutil.rmtree(layout, ignore_errors=True)
        log(f"umoci: packing {rootfs.name} into {name}")
        imagebuild.oci_from_rootfs(rootfs, layout)
        done.touch()
    return layout


def _ecosystem_sets(hs: dict[str, Any], sy: dict[str, Any]) -> dict[str, Any]:
    h: dict[str, set[tuple[str, str]]] = {}
    for p in hs["packages"]:
        h.setdefault(p["purl"].split("/")[0], set()).add((p["name"], p["version"]))
    s: dict[str, set[tuple[str, str]]] = {}
    for a in sy["artifacts"]:
        purl = a.get("purl") or "pkg:none/"
        # syft writes UNKNOWN where a jar states no version; hullscan leaves it empty (UNKNOWN
        # would compare as a version below every other and match every range from 0).
        version = "" if a["version"] == "UNKNOWN" else a["version"]
        s.setdefault(purl.split("/")[0], set()).add((a["name"], version))
    out = {}
    for eco in sorted(set(h) | set(s)):
        hh, ss = h.get(eco, set()), s.get(eco, set())
        out[eco] = {
            "hullscan": len(hh),
            "syft": len(ss),
            "both": len(hh & ss),
            "agreement": len(hh & ss) / max(1, len(hh | ss)),
        }
    return out


def run_one(r: Runner, layout: Path, rounds: int) -> dict[str, Any]:
    cache = r.new_cache()
    try:
        hs = json.loads(
            subprocess.run(
                r.hs_cmd(layout),
                env={**r.hs_env, "HULLSCAN_CACHE_DIR": str(cache)},
                capture_output=True,
                check=True,
            ).stdout
        )
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    sy = json.loads(
        subprocess.run(
            [str(r.syft), "scan", f"oci-dir:{layout}", "-o", "json"],
            env=r.syft_env,
            capture_output=True,
            check=True,
        ).stdout
    )
    cold, syft = Series("hullscan cold"), Series("syft")
    idle = []
    load_before = loadavg()
    for _ in range(rounds):
        idle.append(wait_idle(60.0))
        cold.add(r.hs_cold(layout))
        syft.add(r.syft_run(layout))
    return {
        "layout": str(layout),
        "hullscan_cold": cold.summary(),
        "syft": syft.summary(),
        "speedup_median": syft.median / cold.median,
        "speedup_best": syft.best / cold.best,
        "idle_before_rounds": idle,
        "loadavg_before": load_before,
        "loadavg_after": loadavg(),
        "packages": {"hullscan": len(hs["packages"]), "syft": len(sy["artifacts"])},
        "ecosystems": _ecosystem_sets(hs, sy),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--packages", type=int, default=3000, help="node_modules packages")
    ap.add_argument("--jar-copies", type=int, default=4, help="copies of /usr/share/java (each + a war)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", default=str(WORK / "results-lang"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    r = Runner(REPO, WORK)
    images = {
        "node_modules": layout_of(node_rootfs(args.packages), f"oci-node-{args.packages}"),
        "jars": layout_of(jar_rootfs(args.jar_copies), f"oci-jars-{args.jar_copies}"),
    }
    res: dict[str, Any] = {"syft_version": syft_version(r.syft), "images": {}}
    for label, layout in images.items():
        log(f"{label}: {args.rounds} rounds")
        res["images"][label] = run_one(r, layout, args.rounds)
    (out / "results.json").write_text(json.dumps(res, indent=2))
    md = [
        "| image | packages (hullscan / syft) | hullscan cold | syft | speedup (median) | target |",
        "|---|---|---:|---:|---:|---|",
    ]
    for label, x in res["images"].items():
        md.append(
            f"| {label} | {x['packages']['hullscan']} / {x['packages']['syft']} | "
            f"{x['hullscan_cold']['wall_median_s']:.2f} s | {x['syft']['wall_median_s']:.2f} s | "
            f"{x['speedup_median']:.1f}x | >= {TARGET:.0f}x |"
        )
    md.append("")
    md.append("| image | purl type | hullscan | syft | both | agreement |")
    md.append("|---|---|---:|---:|---:|---:|")
    for label, x in res["images"].items():
        for eco, e in x["ecosystems"].items():
            md.append(
                f"| {label} | {eco} | {e['hullscan']} | {e['syft']} | {e['both']} | {e['agreement']:.1%} |"
            )
    (out / "results.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
