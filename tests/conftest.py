"""Shared test fixtures: the real data under ../shared/data and tools built once per session."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("HULLSCAN_TEST_DATA", REPO.parent / "shared" / "data")).resolve()


def require_tool(name: str) -> str:
    """The path of a tool the tests need; .ci/run installs every one of them, so a missing tool
    fails."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (.ci/run installs it)")
    return path


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA.is_dir():
        pytest.fail(f"test data not found at {DATA}; set HULLSCAN_TEST_DATA")
    return DATA


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty cache dir, so no test sees another's layer cache."""
    cache = tmp_path / "hullscan-cache"
    monkeypatch.setenv("HULLSCAN_CACHE_DIR", str(cache))
    return cache


@pytest.fixture(scope="session")
def edge_fixtures(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """../shared/data/fixtures/pkgdb-and-image-edge-fixtures.tar.zst, unpacked once."""
    out = tmp_path_factory.mktemp("edge-fixtures")
    archive = data_dir / "fixtures" / "pkgdb-and-image-edge-fixtures.tar.zst"
    zstd = subprocess.run(
        [require_tool("zstd"), "-dc", str(archive)], check=True, capture_output=True
    )
    subprocess.run(["tar", "-x", "-C", str(out)], input=zstd.stdout, check=True)
    return out
