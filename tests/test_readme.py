"""The README's first command (install, import advisories, scan) works as written.

The ``pip install .`` step is what the test session itself was set up with; the rest of the command
runs here as the README gives it, with ``../shared/data`` resolved to the test data."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from conftest import DATA, REPO


def _first_command() -> list[list[str]]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```sh\n(.*?)\n```", text, re.S)
    assert block is not None, "the README opens with a sh block"
    steps = [shlex.split(step) for step in block.group(1).split("&&")]
    assert steps[0][:2] == ["pip", "install"], steps[0]
    return steps[1:]


def test_readme_first_command_scans_a_real_image(tmp_path: Path) -> None:
    steps = _first_command()
    assert [s[:2] for s in steps] == [["hullscan", "db"], ["hullscan", "scan"]]
    env = {**os.environ, "HULLSCAN_CACHE_DIR": str(tmp_path / "cache")}
    out = ""
    for step in steps:
        argv = [sys.executable, "-m", "hullscan.cli"] + [
            str(DATA) + a[len("../shared/data") :] if a.startswith("../shared/data") else a for a in step[1:]
        ]
        proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        out = proc.stdout
    # The scan found the Alpine 3.20.3 packages and the advisories that affect them.
    assert "distro: Alpine Linux v3.20 [Alpine:v3.20]" in out
    m = re.search(r"packages: (\d+)\s+findings: (\d+)", out)
    assert m is not None, out
    assert int(m.group(1)) == 14
    assert int(m.group(2)) > 0
    assert "libcrypto3" in out
