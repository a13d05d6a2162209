"""The command line: formats, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import DATA

IMAGE = DATA / "images/oci-layout/umoci-alpine-3.20.3-x86_64.oci-layout.tar"


def hullscan(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["hullscan", *args], capture_output=True, text=True, check=False)


def test_table() -> None:
    p = hullscan("inventory", str(IMAGE))
    assert p.returncode == 0, p.stderr
    assert "Alpine:v3.20" in p.stdout
    assert "musl" in p.stdout
    assert "\x1b[" not in p.stdout


def test_json_to_file(tmp_path: Path) -> None:
    out = tmp_path / "inv.json"
    p = hullscan("inventory", f"oci-archive:{IMAGE}", "--format", "json", "--output", str(out))
    assert p.returncode == 0, p.stderr
    doc = json.loads(out.read_text())
    assert doc["schema_version"] == 1
    assert doc["source_type"] == "oci-archive"
    assert doc["distro"]["ecosystem"] == "Alpine:v3.20"
    assert len(doc["packages"]) == 14
    assert doc["layers"][0]["diff_id"].startswith("sha256:")


def test_errors_exit_2_with_one_line(tmp_path: Path) -> None:
    p = hullscan("inventory", str(tmp_path / "missing"))
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1
    assert p.stderr.startswith("hullscan: error: SourceError:")
    bad = tmp_path / "bad.tar"
    bad.write_bytes(b"not a tar at all" * 100)
    p = hullscan("inventory", f"docker-archive:{bad}")
    assert p.returncode == 2
    assert "ImageFormatError" in p.stderr
    p = hullscan("inventory", str(IMAGE), "--platform", "linux/riscv64")
    assert p.returncode == 2
    assert "PlatformNotFoundError" in p.stderr
    assert "linux/amd64" in p.stderr


def test_usage_error_is_2() -> None:
    p = hullscan("inventory")
    assert p.returncode == 2
